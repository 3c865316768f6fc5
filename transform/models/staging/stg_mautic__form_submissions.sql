select cast(f.id as {{ dbt.type_bigint() }}) as form_submission_id, {{ surviving_contact('f.lead_id') }} as contact_id,
       cast(f.form_id as {{ dbt.type_bigint() }}) as form_id, cast(f.page_id as {{ dbt.type_bigint() }}) as page_id, f.date_submitted, f.referer
from {{ mautic_source('form_submissions') }} f
left join {{ ref('stg_mautic__merge_map') }} merged on merged.loser_id = cast(f.lead_id as {{ dbt.type_bigint() }})
where f.lead_id is not null
