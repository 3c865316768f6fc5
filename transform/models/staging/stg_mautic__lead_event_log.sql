-- The contact timeline (segment adds/removes, identification, imports ...).
select cast(e.id as {{ dbt.type_bigint() }}) as lead_event_id, {{ surviving_contact('e.lead_id') }} as contact_id,
       e.bundle, e.object, e.action, cast(e.object_id as {{ dbt.type_bigint() }}) as object_id, e.properties, e.date_added,
       cast(e.user_id as {{ dbt.type_bigint() }}) as user_id, e.user_name
from {{ mautic_source('lead_event_log') }} e
left join {{ ref('stg_mautic__merge_map') }} merged on merged.loser_id = cast(e.lead_id as {{ dbt.type_bigint() }})
where e.lead_id is not null
