-- Firearms seized in the United States on their way to Mexico (destination MX), one per
-- seizure_id, by year of seizure and firearm type (GAO-16-223: 5,951 in 2009-2014,
-- 2,341 long guns and 3,610 short guns).
with

seized as (

    select * from {{ ref('int_seizures_classified') }}
    where destination_country = 'MX'

)

select
    seizure_year,
    {{ gao_period('seizure_year') }} as is_gao_period,
    count(*) as n_seized,
    {{ gun_class_counts() }},
    count(*) filter (where seizing_agency = 'ICE-HSI') as n_ice_hsi,
    count(*) filter (where seizing_agency = 'CBP') as n_cbp,
    count(*) filter (where seizing_agency not in ('ICE-HSI', 'CBP') or seizing_agency is null) as n_other_agency,
    count(distinct case_number) as n_cases
from seized
group by seizure_year
order by seizure_year
