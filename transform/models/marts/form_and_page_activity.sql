-- Every form submission and page hit of a live contact as one activity stream (kind, object, when).
with activity as (
    select 'form_submission' as kind, form_submission_id as source_id, contact_id, form_id as object_id,
           date_submitted as occurred_at, cast(null as {{ dbt.type_string() }}) as url, referer
    from {{ ref('stg_mautic__form_submissions') }}
    union all
    select 'page_hit', page_hit_id, contact_id, page_id, date_hit, url, referer
    from {{ ref('stg_mautic__page_hits') }}
)
select
    {{ dbt.concat(["a.kind", "'-'", "cast(a.source_id as " ~ dbt.type_string() ~ ")"]) }} as activity_id,
    a.kind, a.source_id, a.contact_id, a.object_id, a.occurred_at, a.url, a.referer
from activity a
join {{ ref('stg_mautic__contacts') }} live on live.contact_id = a.contact_id
