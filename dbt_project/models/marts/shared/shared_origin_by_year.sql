-- For other agencies: firearms recovered in Mexico and traced, by year of recovery and
-- origin, aggregate only, counts under 5 suppressed with complementary suppression.
with

cells as (

    select recovery_year as row_key, origin as col_key, n
    from {{ ref('origin_by_year') }}
    unpivot (n for origin in (
        n_us_manufactured as 'us_manufactured',
        n_us_imported as 'us_imported',
        n_third_country as 'third_country',
        n_undetermined as 'undetermined'
    ))

)

select * from ({{ suppress_small_counts('cells', 'recovery_year', 'origin') }})
order by recovery_year, origin
