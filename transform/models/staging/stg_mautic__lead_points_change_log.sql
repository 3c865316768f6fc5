select cast(p.id as {{ dbt.type_bigint() }}) as points_change_id, {{ surviving_contact('p.lead_id') }} as contact_id,
       p.type, p.event_name, p.action_name, cast(p.delta as {{ dbt.type_bigint() }}) as delta, cast(p.group_id as {{ dbt.type_bigint() }}) as group_id,
       p.date_added
from {{ mautic_source('lead_points_change_log') }} p
left join {{ ref('stg_mautic__merge_map') }} merged on merged.loser_id = cast(p.lead_id as {{ dbt.type_bigint() }})
where p.lead_id is not null
