-- Dealers and pawnbrokers (license types 01, 02) nationwide and in the southwest border
-- states (AZ, CA, NM, TX), per monthly snapshot of the licensee listing, with the border
-- share (GAO-16-223, fiscal year 2014: 63,311 nationwide, 10,134 in the border states).
with

by_state as (

    select * from {{ ref('licensees_by_state_month') }}

)

select
    snapshot_month,
    any_value(fiscal_year) as fiscal_year,
    month(snapshot_month) = 9 as is_fiscal_year_end,
    sum(n_dealers)::bigint as n_dealers,
    sum(n_pawnbrokers)::bigint as n_pawnbrokers,
    sum(n_dealers_and_pawnbrokers)::bigint as n_dealers_and_pawnbrokers,
    sum(n_dealers_and_pawnbrokers) filter (where is_southwest_border)::bigint as n_southwest_border,
    round(100.0 * sum(n_dealers_and_pawnbrokers) filter (where is_southwest_border)
        / nullif(sum(n_dealers_and_pawnbrokers), 0), 1) as pct_southwest_border,
    sum(n_licenses_all_types)::bigint as n_licenses_all_types
from by_state
group by snapshot_month
order by snapshot_month
