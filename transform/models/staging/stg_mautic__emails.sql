select cast(id as {{ dbt.type_bigint() }}) as email_id, name as email_name, subject, emailtype as email_type,
       ispublished as is_published, dateadded as created_at
from {{ mautic_source('emails') }} src
