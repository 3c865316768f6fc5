-- Segment memberships of surviving contacts, one row per (contact, segment): a loser's stale row and the
-- victor's collapse into one (the key holds lead_id, so the loser's row is never replaced in the warehouse).
select contact_id, segment_id, min(date_added) as date_added,
       bool_or(manually_added) as manually_added, bool_and(manually_removed) as manually_removed
from (
    select {{ surviving_contact('l.lead_id') }} as contact_id, cast(l.leadlist_id as {{ dbt.type_bigint() }}) as segment_id,
           l.date_added, coalesce(l.manually_added, false) as manually_added,
           coalesce(l.manually_removed, false) as manually_removed
    from {{ mautic_source('lead_lists_leads') }} l
    left join {{ ref('stg_mautic__merge_map') }} merged on merged.loser_id = cast(l.lead_id as {{ dbt.type_bigint() }})
    where l._sdc_deleted_at is null  -- a merge's tombstone (tap_mautic/retract.py): the loser's key, retracted
) resolved
group by contact_id, segment_id
