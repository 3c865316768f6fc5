{#
  A source table, or, when its stream was not selected (no table in the warehouse), an empty relation of the
  columns the models read: a project that syncs a few streams still builds every model (empty where its
  streams are missing) instead of failing the job. Columns by table, with their types.
#}
{% macro mautic_source_columns() %}
  {% set B, S, T, F = 'bigint', 'text', 'timestamp', 'boolean' %}
  {{ return({
    'contacts': {'id': B, 'email': S, 'firstname': S, 'lastname': S, 'company': S, 'points': B, 'owner': S,
                 'stage': S, 'dateadded': T, 'datemodified': T, 'dateidentified': T, 'lastactive': T,
                 '_sdc_deleted_at': T},
    'companies': {'id': B, 'companyname': S, 'companyemail': S, 'companycity': S, 'companycountry': S,
                  'companyindustry': S, 'score': B, 'dateadded': T, 'datemodified': T, '_sdc_deleted_at': T},
    'companies_leads': {'lead_id': B, 'company_id': B, 'date_added': T, 'is_primary': F, '_sdc_deleted_at': T},
    'contact_fields': {'alias': S, 'type': S, 'object': S, 'isfixed': F, 'order': B},
    'company_fields': {'alias': S, 'type': S, 'object': S, 'isfixed': F, 'order': B},
    'users': {'id': B, 'username': S, 'firstname': S, 'lastname': S, 'email': S},
    'stages': {'id': B, 'name': S, 'weight': B, 'ispublished': F},
    'segments': {'id': B, 'name': S, 'alias': S, 'ispublished': F, 'dateadded': T},
    'emails': {'id': B, 'name': S, 'subject': S, 'emailtype': S, 'ispublished': F, 'dateadded': T},
    'campaigns': {'id': B, 'name': S, 'ispublished': F, 'dateadded': T},
    'campaign_events': {'id': B, 'campaign': S, 'name': S, 'eventtype': S, 'type': S},
    'lead_lists_leads': {'lead_id': B, 'leadlist_id': B, 'date_added': T, 'manually_added': F,
                         'manually_removed': F, '_sdc_deleted_at': T},
    'email_stats': {'id': B, 'lead_id': B, 'email_id': B, 'email_address': S, 'date_sent': T, 'is_read': F,
                    'date_read': T, 'last_opened': T, 'open_count': B, 'is_failed': F, 'list_id': B, 'source': S,
                    'source_id': B},
    'page_hits': {'id': B, 'lead_id': B, 'page_id': B, 'email_id': B, 'redirect_id': S, 'date_hit': T,
                  'date_left': T, 'url': S, 'url_title': S, 'referer': S, 'source': S, 'source_id': B},
    'form_submissions': {'id': B, 'lead_id': B, 'form_id': B, 'page_id': B, 'date_submitted': T, 'referer': S},
    'campaign_leads': {'lead_id': B, 'campaign_id': B, 'date_added': T, 'date_last_exited': T,
                       'manually_removed': F, 'rotation': B, '_sdc_deleted_at': T},
    'campaign_lead_event_log': {'id': B, 'lead_id': B, 'campaign_id': B, 'event_id': B, 'date_triggered': T,
                                'is_scheduled': F, 'trigger_date': T, 'non_action_path_taken': F, 'rotation': B},
    'lead_event_log': {'id': B, 'lead_id': B, 'bundle': S, 'object': S, 'action': S, 'object_id': B,
                       'properties': S, 'date_added': T, 'user_id': B, 'user_name': S},
    'lead_points_change_log': {'id': B, 'lead_id': B, 'type': S, 'event_name': S, 'action_name': S, 'delta': B,
                               'group_id': B, 'date_added': T},
    'lead_donotcontact': {'id': B, 'lead_id': B, 'channel': S, 'channel_id': B, 'reason': B, 'comments': S,
                          'date_added': T},
    'contact_merges': {'loser_id': B, 'victor_id': B, 'merged_at': T},
    'contact_field_changes': {'audit_id': B, 'object_id': B, 'alias': S, 'field_type': S, 'old_value': S,
                              'new_value': S, 'action': S, 'changed_at': T, 'user_id': B, 'user_name': S,
                              'manipulator': S},
  }) }}
{% endmacro %}

{#
  Loaders name columns differently: target-duckdb lower-cases them, target-postgres keeps Mautic's camelCase
  (dateAdded) as quoted identifiers. Every column is therefore selected under its lower-case name, and a
  column the models read that the table lacks is a typed null.
#}
{% macro mautic_source(table) %}
  {%- set relation = source('mautic', table) -%}
  {%- if not execute -%}{{ return(relation) }}{%- endif -%}
  {%- set wanted = mautic_source_columns()[table] -%}
  {%- set found = adapter.get_relation(database=relation.database, schema=relation.schema,
                                       identifier=relation.identifier) -%}
  {%- set present = [] -%}
  {%- if found is not none -%}
    {%- set present = adapter.get_columns_in_relation(found) | map(attribute='name') | list -%}
  {%- else -%}
    {{ log("mautic: table " ~ relation ~ " is missing (stream not selected): model " ~ this ~ " reads it as empty", info=true) }}
  {%- endif -%}
  {%- set lowered = present | map('lower') | list -%}
  {%- set select -%}
    (select
     {%- for name in present %} {{ adapter.quote(name) }} as {{ adapter.quote(name | lower) }},{% endfor %}
     {%- for name, type in wanted.items() if name not in lowered %}
       cast(null as {{ 'varchar' if type == 'text' and target.type == 'duckdb' else type }}) as {{ adapter.quote(name) }},
     {%- endfor %} 1 as _mautic_source_row
     {% if found is not none %}from {{ found }}{% else %}where 1 = 0{% endif %})
  {%- endset -%}
  {{ return(select) }}
{% endmacro %}
