-- Do-not-contact entries; reason 1 unsubscribed, 2 bounced, 3 manual (Mautic's DoNotContact constants).
select cast(d.id as {{ dbt.type_bigint() }}) as do_not_contact_id, {{ surviving_contact('d.lead_id') }} as contact_id,
       d.channel, cast(d.channel_id as {{ dbt.type_bigint() }}) as channel_id, cast(d.reason as {{ dbt.type_bigint() }}) as reason,
       case cast(d.reason as {{ dbt.type_bigint() }}) when 0 then 'contactable' when 1 then 'unsubscribed' when 2 then 'bounced'
            when 3 then 'manual' end as reason_name,
       d.comments, d.date_added
from {{ mautic_source('lead_donotcontact') }} d
left join {{ ref('stg_mautic__merge_map') }} merged on merged.loser_id = cast(d.lead_id as {{ dbt.type_bigint() }})
where d.lead_id is not null
