-- One row per live contact, with owner, stage and primary company by name, and every field of the instance
-- (core and custom) as a column: read from the contact_fields stream at run time by mautic_fields.
{%- set fields = mautic_fields(source('mautic', 'contacts'),
                               exclude=['id', 'email', 'firstname', 'lastname', 'points', 'company', 'owner',
                                        'stage', 'company_name']) %}
with primary_company as (
    select contact_id, company_id from (
        select contact_id, company_id,
               row_number() over (partition by contact_id order by is_primary desc, date_added desc, company_id) as n
        from {{ ref('stg_mautic__contact_companies') }}
    ) ranked where n = 1
)
select
    s.contact_id, s.email, s.firstname, s.lastname, s.points,
    s.owner_id, owner.user_name as owner_name,
    s.stage_id, stage.stage_name,
    pc.company_id as primary_company_id, coalesce(company.company_name, s.company_name_field) as company_name,
    s.created_at, s.modified_at, s.identified_at, s.last_active_at
    {%- for field in fields %},
    {{ mautic_field_column(field.alias, field.type) }}
    {%- endfor %}
from {{ ref('stg_mautic__contacts') }} s
join {{ mautic_source('contacts') }} c on cast(c.id as {{ dbt.type_bigint() }}) = s.contact_id
left join {{ ref('stg_mautic__users') }} owner on owner.user_id = s.owner_id
left join {{ ref('stg_mautic__stages') }} stage on stage.stage_id = s.stage_id
left join primary_company pc on pc.contact_id = s.contact_id
left join {{ ref('stg_mautic__companies') }} company on company.company_id = pc.company_id
