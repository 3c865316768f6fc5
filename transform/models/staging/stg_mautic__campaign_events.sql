select cast(id as {{ dbt.type_bigint() }}) as event_id, cast({{ json_text('campaign', 'id') }} as {{ dbt.type_bigint() }}) as campaign_id,
       name as event_name, eventtype as event_type, type as event_action
from {{ mautic_source('campaign_events') }} src
