{#
  The instance's contact fields (Mautic's core ones and its custom ones), read at run time from the
  `contact_fields` stream: a shipped package cannot name the custom ones. Returns [{alias, type}] for the fields
  that exist as columns of `relation` (a field created after the last load has no column yet), less `exclude`
  (the ones a model selects itself). Empty while parsing.
#}
{% macro mautic_fields(relation, object='lead', exclude=[]) %}
  {% if not execute %}{{ return([]) }}{% endif %}
  {% set found = adapter.get_relation(database=relation.database, schema=relation.schema,
                                     identifier=relation.identifier) %}
  {% set present = (adapter.get_columns_in_relation(found) if found is not none else [])
                   | map(attribute='name') | map('lower') | list %}
  {% set query %}
    select alias, type from {{ mautic_source('contact_fields' if object == 'lead' else 'company_fields') }} src
    where object = '{{ object }}'
    order by {{ adapter.quote('order') }}, alias
  {% endset %}
  {% set fields = [] %}
  {% for row in run_query(query).rows %}
    {% if row[0] | lower in present and row[0] | lower not in exclude %}
      {% do fields.append({'alias': row[0] | lower, 'type': row[1]}) %}
    {% endif %}
  {% endfor %}
  {{ return(fields) }}
{% endmacro %}

{# Every field alias of an object (fixed and custom), for the history's columns. #}
{% macro mautic_all_field_aliases(object='lead') %}
  {% if not execute %}{{ return([]) }}{% endif %}
  {% set query %}
    select distinct lower(alias) as alias from {{ mautic_source('contact_fields' if object == 'lead' else 'company_fields') }} src
    where object = '{{ object }}' order by 1
  {% endset %}
  {{ return(run_query(query).columns[0].values() | list) }}
{% endmacro %}

{# A custom field's column, cast by its Mautic type (the loader typed most already; dates land as text). #}
{% macro mautic_field_column(alias, type, prefix='c') -%}
  {%- set col = prefix ~ '.' ~ adapter.quote(alias) -%}
  {%- if type == 'date' -%} cast({{ col }} as date)
  {%- else -%} {{ col }}
  {%- endif %} as {{ adapter.quote(alias) }}
{%- endmacro %}

{# A surviving contact's id for a lead_id: the end of its merge chain (stg_mautic__merge_map), else itself. #}
{% macro surviving_contact(lead_column, map_alias='merged') -%}
  coalesce({{ map_alias }}.contact_id, cast({{ lead_column }} as {{ dbt.type_bigint() }}))
{%- endmacro %}
