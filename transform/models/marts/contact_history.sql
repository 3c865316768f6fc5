-- Slowly changing dimension (type 2) of every live contact: one row per version (one create or update in the
-- audit log), every field's value as of that version (text, as contact_field_changes writes it), valid from
-- this change until the next (valid_to null: the current version). A contact as of a date:
--   where valid_from <= d and (valid_to > d or valid_to is null)
{%- set aliases = mautic_all_field_aliases() %}
with changes as (
    select ch.* from {{ ref('stg_mautic__contact_field_changes') }} ch
    join {{ ref('stg_mautic__contacts') }} live on live.contact_id = ch.contact_id
),
versions as (  -- one row per audit row: what it set, and which fields it touched
    select contact_id, audit_id, min(changed_at) as changed_at, max(user_name) as changed_by,
           max(manipulator) as manipulator, min(action) as action
           {%- for a in aliases %},
           max(case when alias = '{{ a }}' then new_value end) as {{ adapter.quote('set_' ~ a) }},
           max(case when alias = '{{ a }}' then 1 else 0 end) as {{ adapter.quote('touched_' ~ a) }}
           {%- endfor %}
    from changes
    group by contact_id, audit_id
),
grouped as (  -- per field, a group per change: the versions that carry that change's value
    select v.*
           {%- for a in aliases %},
           sum({{ adapter.quote('touched_' ~ a) }}) over (partition by contact_id order by audit_id
               rows between unbounded preceding and current row) as {{ adapter.quote('grp_' ~ a) }}
           {%- endfor %}
    from versions v
),
filled as (
    select contact_id, audit_id, changed_at, changed_by, manipulator, action
           {%- for a in aliases %},
           max({{ adapter.quote('set_' ~ a) }}) over (partition by contact_id, {{ adapter.quote('grp_' ~ a) }})
               as {{ adapter.quote(a) }}
           {%- endfor %}
    from grouped
)
select
    {{ dbt.concat(["cast(contact_id as " ~ dbt.type_string() ~ ")", "'-'", "cast(audit_id as " ~ dbt.type_string() ~ ")"]) }} as contact_version_id,
    contact_id, audit_id,
    row_number() over (partition by contact_id order by audit_id) as version,
    changed_at as valid_from,
    lead(changed_at) over (partition by contact_id order by audit_id) as valid_to,
    lead(changed_at) over (partition by contact_id order by audit_id) is null as is_current,
    changed_by, manipulator, action
    {%- for a in aliases %},
    {{ adapter.quote(a) }}
    {%- endfor %}
from filled
