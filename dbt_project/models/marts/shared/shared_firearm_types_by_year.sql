-- For other agencies: firearms recovered in Mexico and traced, by year of recovery and
-- firearm type (long, short, other), aggregate only, counts under 5 suppressed with
-- complementary suppression.
with

cells as (

    select recovery_year as row_key, gun_class as col_key, n
    from {{ ref('firearm_types_by_year') }}
    unpivot (n for gun_class in (n_long as 'long', n_short as 'short', n_other as 'other'))

)

select * from ({{ suppress_small_counts('cells', 'recovery_year', 'gun_class') }})
order by recovery_year, gun_class
