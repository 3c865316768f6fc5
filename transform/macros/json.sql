{# A key of a JSON object column as text (owner, stage, category land as JSON in DuckDB, jsonb in PostgreSQL). #}
{% macro json_text(column, key) -%}
  {{ return(adapter.dispatch('json_text', 'mautic')(column, key)) }}
{%- endmacro %}

{% macro default__json_text(column, key) -%}
  json_extract_string({{ column }}, '$.{{ key }}')
{%- endmacro %}

{% macro postgres__json_text(column, key) -%}
  (({{ column }})::jsonb ->> '{{ key }}')
{%- endmacro %}
