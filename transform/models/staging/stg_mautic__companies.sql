select cast(id as {{ dbt.type_bigint() }}) as company_id, companyname as company_name, companyemail as company_email,
       companycity as company_city, companycountry as company_country, companyindustry as company_industry,
       cast(score as {{ dbt.type_bigint() }}) as score, dateadded as created_at, datemodified as modified_at
from {{ mautic_source('companies') }} src
where _sdc_deleted_at is null
