-- Campaign memberships of surviving contacts, one row per (contact, campaign).
select contact_id, campaign_id, min(date_added) as date_added, max(date_last_exited) as date_last_exited,
       bool_and(manually_removed) as manually_removed, max(rotation) as rotation
from (
    select {{ surviving_contact('l.lead_id') }} as contact_id, cast(l.campaign_id as {{ dbt.type_bigint() }}) as campaign_id,
           l.date_added, l.date_last_exited, coalesce(l.manually_removed, false) as manually_removed,
           cast(l.rotation as {{ dbt.type_bigint() }}) as rotation
    from {{ mautic_source('campaign_leads') }} l
    left join {{ ref('stg_mautic__merge_map') }} merged on merged.loser_id = cast(l.lead_id as {{ dbt.type_bigint() }})
    where l._sdc_deleted_at is null  -- a merge's tombstone (tap_mautic/retract.py): the loser's key, retracted
) resolved
group by contact_id, campaign_id
