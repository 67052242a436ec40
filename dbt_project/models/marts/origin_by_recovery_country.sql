-- Where traced firearms came from, by year and country of recovery (Mexico, the United
-- States, unknown ZZ, others): the origin rules of docs/METHOD.md over every recovery
-- country, one firearm per recovered firearm.
with

traced as (

    select * from {{ ref('int_trace_requests_flagged') }}
    where not is_duplicate_request

),

by_year_country as (

    select
        recovery_year,
        recovery_country,
        {{ origin_counts() }}
    from traced
    group by recovery_year, recovery_country

)

select
    by_year_country.recovery_year,
    by_year_country.recovery_country,
    countries.country_name as recovery_country_name,
    {{ gao_period('by_year_country.recovery_year') }} as is_gao_period,
    n_traced,
    n_us_manufactured,
    n_us_imported,
    n_us_sourced,
    n_third_country,
    n_undetermined,
    round(100.0 * n_us_sourced / n_traced, 1) as pct_us_sourced,
    round(100.0 * n_third_country / n_traced, 1) as pct_third_country,
    round(100.0 * n_undetermined / n_traced, 1) as pct_undetermined
from by_year_country
left join {{ ref('countries') }} as countries
    on by_year_country.recovery_country = countries.country_code
order by recovery_year, recovery_country
