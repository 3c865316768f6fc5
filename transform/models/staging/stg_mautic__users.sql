select cast(id as {{ dbt.type_bigint() }}) as user_id, username, firstname, lastname, email,
       trim(coalesce(firstname, '') || ' ' || coalesce(lastname, '')) as user_name
from {{ mautic_source('users') }} src
