-- One row per changed field per create or update of a contact (from Mautic's audit log), values as text.
select cast(audit_id as {{ dbt.type_bigint() }}) as audit_id, cast(object_id as {{ dbt.type_bigint() }}) as contact_id, lower(alias) as alias, field_type,
       old_value, new_value, action, changed_at, cast(user_id as {{ dbt.type_bigint() }}) as user_id, user_name, manipulator
from {{ mautic_source('contact_field_changes') }} src
