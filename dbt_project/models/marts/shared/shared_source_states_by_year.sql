-- For other agencies: US-sourced firearms recovered in Mexico, by the state of the first
-- retail dealer and year of recovery, aggregate only, counts under 5 suppressed with
-- complementary suppression. Firearms whose dealer is in no licensee listing, or with no
-- dealer, have rows of their own.
with

cells as (

    select
        {{ dealer_label() }} as row_key,
        recovery_year as col_key,
        n_us_sourced as n
    from {{ ref('source_states_by_year') }}

)

select * from ({{ suppress_small_counts('cells', 'source_state', 'recovery_year') }})
order by source_state, recovery_year
