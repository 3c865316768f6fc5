select cast(id as {{ dbt.type_bigint() }}) as campaign_id, name as campaign_name, ispublished as is_published, dateadded as created_at
from {{ mautic_source('campaigns') }} src
