select cast(l.id as {{ dbt.type_bigint() }}) as campaign_log_id, {{ surviving_contact('l.lead_id') }} as contact_id,
       cast(l.campaign_id as {{ dbt.type_bigint() }}) as campaign_id, cast(l.event_id as {{ dbt.type_bigint() }}) as event_id,
       l.date_triggered, coalesce(l.is_scheduled, false) as is_scheduled, l.trigger_date,
       coalesce(l.non_action_path_taken, false) as non_action_path_taken, cast(l.rotation as {{ dbt.type_bigint() }}) as rotation
from {{ mautic_source('campaign_lead_event_log') }} l
left join {{ ref('stg_mautic__merge_map') }} merged on merged.loser_id = cast(l.lead_id as {{ dbt.type_bigint() }})
where l.lead_id is not null
