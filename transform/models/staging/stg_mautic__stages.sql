select cast(id as {{ dbt.type_bigint() }}) as stage_id, name as stage_name, cast(weight as {{ dbt.type_bigint() }}) as weight, ispublished as is_published
from {{ mautic_source('stages') }} src
