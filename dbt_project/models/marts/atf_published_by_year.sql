-- ATF's own published per-year counts of firearms recovered in Mexico and traced (seed
-- atf_mexico_by_year: two releases of different dates), next to this release's counts
-- for the same recovery year, for comparison. A recovery year's count keeps growing as
-- late traces arrive, so ATF's releases differ from each other and from any later count.
with

atf as (

    select * from {{ ref('atf_mexico_by_year') }}

),

this_release as (

    select * from {{ ref('origin_by_year') }}

)

select
    atf.recovery_year,
    atf.source as atf_release,
    atf.traced_total as atf_n_traced,
    atf.us_sourced as atf_n_us_sourced,
    atf.us_manufactured as atf_n_us_manufactured,
    atf.us_imported as atf_n_us_imported,
    atf.undetermined as atf_n_undetermined,
    coalesce(this_release.n_traced, 0) as n_traced,
    coalesce(this_release.n_us_sourced, 0) as n_us_sourced,
    round(100.0 * coalesce(this_release.n_traced, 0) / atf.traced_total, 1) as pct_of_atf_n_traced
from atf
left join this_release using (recovery_year)
order by atf.recovery_year, atf.source
