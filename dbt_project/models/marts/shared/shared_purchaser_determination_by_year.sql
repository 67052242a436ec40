-- For other agencies: US-sourced firearms recovered in Mexico, by year of recovery and
-- purchaser outcome (determined, pending, or the reason it is undetermined), aggregate
-- only, counts under 5 suppressed with complementary suppression.
with

cells as (

    select recovery_year as row_key, outcome as col_key, n
    from {{ ref('purchaser_determination_by_year') }}
    unpivot (n for outcome in (
        n_determined as 'determined',
        n_pending as 'pending',
        n_undetermined_incomplete_request as 'undetermined_incomplete_request',
        n_undetermined_altered_serial as 'undetermined_altered_serial',
        n_undetermined_no_dealer_response as 'undetermined_no_dealer_response',
        n_undetermined_out_of_business_records_missing as 'undetermined_out_of_business_records_missing',
        n_undetermined_too_old as 'undetermined_too_old',
        n_undetermined_other as 'undetermined_other'
    ))

)

select * from ({{ suppress_small_counts('cells', 'recovery_year', 'purchaser_outcome') }})
order by recovery_year, purchaser_outcome
