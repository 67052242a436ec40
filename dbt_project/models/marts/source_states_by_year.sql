-- US-sourced firearms recovered in Mexico, by year of recovery and the state of the first
-- retail dealer (from the licensee listing valid at the purchase date). Every state and
-- DC has a row each year, zero or not; territories appear when they have firearms; two
-- more rows per year count firearms whose dealer is not in any listing and firearms with
-- no dealer identified (source_state null, dealer_status says which).
with

sourced as (

    select * from {{ ref('int_mexico_traces') }}
    where is_us_sourced

),

us_states as (

    select * from {{ ref('us_states') }}

),

years as (

    select distinct recovery_year from sourced

),

counted as (

    select
        recovery_year,
        dealer_status,
        {{ located_source_state() }} as source_state,
        count(*) as n_us_sourced,
        count(*) filter (where purchaser_status = 'determined') as n_purchaser_determined
    from sourced
    group by all

),

grid as (

    -- every state and DC each year, plus whatever else was counted
    select years.recovery_year, 'located' as dealer_status, us_states.state_code as source_state
    from years
    cross join us_states
    where us_states.is_state_or_dc
    union
    select recovery_year, dealer_status, source_state from counted

),

filled as (

    select
        grid.recovery_year,
        grid.dealer_status,
        grid.source_state,
        coalesce(counted.n_us_sourced, 0) as n_us_sourced,
        coalesce(counted.n_purchaser_determined, 0) as n_purchaser_determined
    from grid
    left join counted
        on grid.recovery_year = counted.recovery_year
        and grid.dealer_status = counted.dealer_status
        and grid.source_state is not distinct from counted.source_state

)

select
    filled.recovery_year,
    {{ gao_period('filled.recovery_year') }} as is_gao_period,
    filled.dealer_status,
    filled.source_state,
    us_states.state_name as source_state_name,
    coalesce(us_states.is_state_or_dc, false) as is_state_or_dc,
    coalesce(us_states.is_southwest_border, false) as is_southwest_border,
    filled.n_us_sourced,
    filled.n_purchaser_determined,
    sum(filled.n_us_sourced) over (partition by filled.recovery_year) as n_us_sourced_in_year,
    sum(filled.n_us_sourced) filter (where filled.dealer_status = 'located')
        over (partition by filled.recovery_year) as n_located_in_year,
    case
        when filled.dealer_status = 'located'
            then round(100.0 * filled.n_us_sourced / nullif(sum(filled.n_us_sourced) filter (
                where filled.dealer_status = 'located') over (partition by filled.recovery_year), 0), 2)
    end as pct_of_located
from filled
left join us_states
    on filled.source_state = us_states.state_code
order by filled.recovery_year, filled.dealer_status, filled.source_state
