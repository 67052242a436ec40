-- Time-to-crime (purchase to recovery) of firearms recovered in Mexico and traced to a
-- purchase, by year of recovery and the state of the first retail dealer, in ATF's
-- buckets, with the average in years. total_time_to_crime_days lets averages over
-- several years or states be recomputed exactly.
with

purchased as (

    select * from {{ ref('int_mexico_traces') }}
    where purchase_date is not null

)

select
    recovery_year,
    {{ gao_period('recovery_year') }} as is_gao_period,
    dealer_status,
    {{ located_source_state() }} as source_state,
    bool_or(is_southwest_border_source) as is_southwest_border,
    count(*) as n_with_time_to_crime,
    {%- for label, suffix in time_to_crime_buckets() %}
    count(*) filter (where time_to_crime_bucket = '{{ label }}') as n_{{ suffix }},
    {%- endfor %}
    sum(time_to_crime_days)::bigint as total_time_to_crime_days,
    round(avg(time_to_crime_days) / 365.25, 2) as avg_time_to_crime_years,
    median(time_to_crime_days) as median_time_to_crime_days
from purchased
group by recovery_year, dealer_status, {{ located_source_state() }}
order by recovery_year, dealer_status, source_state
