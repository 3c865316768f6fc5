select cast(id as {{ dbt.type_bigint() }}) as segment_id, name as segment_name, alias as segment_alias, ispublished as is_published,
       dateadded as created_at
from {{ mautic_source('segments') }} src
