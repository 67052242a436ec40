-- The source states of GAO-16-223 (TX 41, CA 19, AZ 15 percent): US-sourced firearms
-- recovered in Mexico in the GAO period, by the state of the first retail dealer, with
-- each state's share of those whose dealer's state is known (docs/METHOD.md). Every state
-- and DC has a row; the rows with source_state null count firearms whose dealer is not in
-- any listing, or that have no dealer.
with

by_year as (

    select * from {{ ref('source_states_by_year') }}
    where is_gao_period

),

summed as (

    select
        dealer_status,
        source_state,
        any_value(source_state_name) as source_state_name,
        bool_or(is_state_or_dc) as is_state_or_dc,
        bool_or(is_southwest_border) as is_southwest_border,
        sum(n_us_sourced)::bigint as n_us_sourced,
        sum(n_purchaser_determined)::bigint as n_purchaser_determined
    from by_year
    group by dealer_status, source_state

),

shared as (

    select
        *,
        sum(n_us_sourced) over () as n_us_sourced_total,
        sum(n_us_sourced) filter (where dealer_status = 'located') over () as n_located_total
    from summed

)

select
    '{{ var("gao_first_year") }}-{{ var("gao_last_year") }}' as period,
    dealer_status,
    source_state,
    source_state_name,
    is_state_or_dc,
    is_southwest_border,
    n_us_sourced,
    n_purchaser_determined,
    n_us_sourced_total::bigint as n_us_sourced_total,
    n_located_total::bigint as n_located_total,
    case
        when dealer_status = 'located'
            then round(100.0 * n_us_sourced / nullif(n_located_total, 0), 2)
    end as pct_of_located,
    round(100.0 * n_us_sourced / nullif(n_us_sourced_total, 0), 2) as pct_of_us_sourced,
    case when dealer_status = 'located' then rank() over (
        partition by dealer_status order by n_us_sourced desc
    ) end as rank_by_firearms
from shared
order by dealer_status, n_us_sourced desc, source_state
