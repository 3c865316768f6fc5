-- Company memberships of surviving contacts, one row per (contact, company).
select contact_id, company_id, min(date_added) as date_added, bool_or(is_primary) as is_primary
from (
    select {{ surviving_contact('l.lead_id') }} as contact_id, cast(l.company_id as {{ dbt.type_bigint() }}) as company_id,
           l.date_added, coalesce(l.is_primary, false) as is_primary
    from {{ mautic_source('companies_leads') }} l
    left join {{ ref('stg_mautic__merge_map') }} merged on merged.loser_id = cast(l.lead_id as {{ dbt.type_bigint() }})
    where l._sdc_deleted_at is null  -- a merge's tombstone (tap_mautic/retract.py): the loser's key, retracted
) resolved
group by contact_id, company_id
