-- For other agencies: firearms seized on their way to Mexico, by year of seizure and
-- firearm type, aggregate only, counts under 5 suppressed with complementary suppression.
with

cells as (

    select seizure_year as row_key, gun_class as col_key, n
    from {{ ref('seizures_by_year') }}
    unpivot (n for gun_class in (n_long as 'long', n_short as 'short', n_other as 'other'))

)

select * from ({{ suppress_small_counts('cells', 'seizure_year', 'gun_class') }})
order by seizure_year, gun_class
