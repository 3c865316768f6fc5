-- Page and tracked-link hits of identified contacts; a hit with email_id is a click in that email.
select cast(h.id as {{ dbt.type_bigint() }}) as page_hit_id, {{ surviving_contact('h.lead_id') }} as contact_id,
       cast(h.page_id as {{ dbt.type_bigint() }}) as page_id, cast(h.email_id as {{ dbt.type_bigint() }}) as email_id, cast(h.redirect_id as varchar) as redirect_id,
       h.date_hit, h.date_left, h.url, h.url_title, h.referer, h.source, cast(h.source_id as {{ dbt.type_bigint() }}) as source_id
from {{ mautic_source('page_hits') }} h
left join {{ ref('stg_mautic__merge_map') }} merged on merged.loser_id = cast(h.lead_id as {{ dbt.type_bigint() }})
where h.lead_id is not null
