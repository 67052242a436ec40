-- For other agencies: US-sourced firearms recovered in Mexico in the GAO period, by the
-- state of the first retail dealer and the Mexican state of recovery, aggregate only,
-- counts under 5 suppressed with complementary suppression.
with

cells as (

    select
        {{ dealer_label() }} as row_key,
        coalesce(recovery_state, 'UNKNOWN') as col_key,
        sum(n_us_sourced) as n
    from {{ ref('source_state_by_recovery_state') }}
    where is_gao_period
    group by all

)

select * from ({{ suppress_small_counts('cells', 'source_state', 'recovery_state') }})
order by source_state, recovery_state
