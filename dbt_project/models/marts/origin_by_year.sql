-- Where the firearms recovered in Mexico and traced came from, by year of recovery
-- (GAO-16-223: 70 percent US-sourced, 17 third-country, 13 undetermined, 2009-2014).
with

traced as (

    select * from {{ ref('int_trace_requests_flagged') }}
    where recovery_country = 'MX'
        and not is_duplicate_request

),

by_year as (

    select
        recovery_year,
        count(*) as n_traced,
        count(*) filter (where origin = 'us_manufactured') as n_us_manufactured,
        count(*) filter (where origin = 'us_imported') as n_us_imported,
        count(*) filter (where is_us_sourced) as n_us_sourced,
        count(*) filter (where origin = 'third_country') as n_third_country,
        count(*) filter (where origin = 'undetermined') as n_undetermined
    from traced
    group by recovery_year

)

select
    recovery_year,
    recovery_year between {{ var('gao_first_year') }} and {{ var('gao_last_year') }} as is_gao_period,
    n_traced,
    n_us_manufactured,
    n_us_imported,
    n_us_sourced,
    n_third_country,
    n_undetermined,
    round(100.0 * n_us_sourced / n_traced, 1) as pct_us_sourced,
    round(100.0 * n_third_country / n_traced, 1) as pct_third_country,
    round(100.0 * n_undetermined / n_traced, 1) as pct_undetermined
from by_year
order by recovery_year
