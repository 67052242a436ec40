-- For other agencies: Demand Letter 3 rifles by year of first report and whether and where
-- they were recovered, aggregate only, counts under 5 suppressed with complementary
-- suppression (the row total is the number of rifles reported).
with

cells as (

    select
        report_year as row_key,
        recovered_in as col_key,
        n
    from (
        select
            report_year,
            n_rifles_reported - n_recovered as n_not_recovered,
            n_recovered_in_us,
            n_recovered_in_mexico,
            n_recovery_undetermined,
            n_recovered_in_other_country
        from {{ ref('multiple_sale_recoveries_by_year') }}
    )
    unpivot (n for recovered_in in (
        n_not_recovered as 'not_recovered',
        n_recovered_in_us as 'united_states',
        n_recovered_in_mexico as 'mexico',
        n_recovery_undetermined as 'undetermined',
        n_recovered_in_other_country as 'other_country'
    ))

)

select * from ({{ suppress_small_counts('cells', 'report_year', 'recovered_in') }})
order by report_year, recovered_in
