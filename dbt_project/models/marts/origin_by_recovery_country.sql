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
        count(*) as n_traced,
        count(*) filter (where origin = 'us_manufactured') as n_us_manufactured,
        count(*) filter (where origin = 'us_imported') as n_us_imported,
        count(*) filter (where is_us_sourced) as n_us_sourced,
        count(*) filter (where origin = 'third_country') as n_third_country,
        count(*) filter (where origin = 'undetermined') as n_undetermined
    from traced
    group by recovery_year, recovery_country

)

select
    by_year_country.recovery_year,
    by_year_country.recovery_country,
    countries.country_name as recovery_country_name,
    by_year_country.recovery_year between {{ var('gao_first_year') }} and {{ var('gao_last_year') }} as is_gao_period,
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
