-- One row per email sent to a contact (Mautic's email_stats); lead_id null (contact deleted) left out.
select cast(s.id as {{ dbt.type_bigint() }}) as email_stat_id, {{ surviving_contact('s.lead_id') }} as contact_id,
       cast(s.email_id as {{ dbt.type_bigint() }}) as email_id, s.email_address, s.date_sent,
       coalesce(s.is_read, false) as is_read, s.date_read, s.last_opened,
       cast(coalesce(s.open_count, 0) as {{ dbt.type_bigint() }}) as open_count, coalesce(s.is_failed, false) as is_failed,
       cast(s.list_id as {{ dbt.type_bigint() }}) as segment_id, s.source, cast(s.source_id as {{ dbt.type_bigint() }}) as source_id
from {{ mautic_source('email_stats') }} s
left join {{ ref('stg_mautic__merge_map') }} merged on merged.loser_id = cast(s.lead_id as {{ dbt.type_bigint() }})
where s.lead_id is not null
