-- Live contacts: rows the tap marked deleted (_sdc_deleted_at) and merged-away contacts left out.
select
    cast(c.id as {{ dbt.type_bigint() }}) as contact_id,
    c.email, c.firstname, c.lastname, c.company as company_name_field,
    cast(c.points as {{ dbt.type_bigint() }}) as points,
    cast({{ json_text('c.owner', 'id') }} as {{ dbt.type_bigint() }}) as owner_id,
    cast({{ json_text('c.stage', 'id') }} as {{ dbt.type_bigint() }}) as stage_id,
    c.dateadded as created_at, c.datemodified as modified_at, c.dateidentified as identified_at,
    c.lastactive as last_active_at
from {{ mautic_source('contacts') }} c
left join {{ ref('stg_mautic__merge_map') }} merged on merged.loser_id = cast(c.id as {{ dbt.type_bigint() }})
where c._sdc_deleted_at is null and merged.loser_id is null
