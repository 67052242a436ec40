-- The calibers of firearms recovered in Mexico and traced, by year of recovery, ranked
-- (rank 1 = the most frequent that year; "top calibers" = rank <= 10). A blank caliber
-- shows as null.
with

traced as (

    select * from {{ ref('int_trace_requests_flagged') }}
    where recovery_country = 'MX'
        and not is_duplicate_request

),

counted as (

    select
        recovery_year,
        caliber,
        count(*) as n_traced,
        count(*) filter (where gun_class = 'long') as n_long,
        count(*) filter (where gun_class = 'short') as n_short
    from traced
    group by recovery_year, caliber

)

select
    recovery_year,
    recovery_year between {{ var('gao_first_year') }} and {{ var('gao_last_year') }} as is_gao_period,
    caliber,
    n_traced,
    n_long,
    n_short,
    round(100.0 * n_traced / sum(n_traced) over (partition by recovery_year), 2) as pct_of_year,
    rank() over (partition by recovery_year order by n_traced desc) as rank_in_year
from counted
order by recovery_year, rank_in_year, caliber
