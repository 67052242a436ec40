-- Dealers (license type 01) and pawnbrokers (02) by premise state, one row per state and
-- DC for every monthly snapshot of the licensee listing (territories when they have
-- licenses), one per license. The listing of September 2014 is GAO's fiscal year 2014.
with

licenses as (

    select * from {{ ref('stg_licensees__licenses') }}

),

us_states as (

    select * from {{ ref('us_states') }}

),

snapshots as (

    select distinct snapshot_month from licenses

),

counted as (

    select
        snapshot_month,
        premise_state,
        count(distinct license_number) filter (where license_type = '01') as n_dealers,
        count(distinct license_number) filter (where license_type = '02') as n_pawnbrokers,
        count(distinct license_number) as n_licenses_all_types
    from licenses
    group by snapshot_month, premise_state

),

grid as (

    select snapshots.snapshot_month, us_states.state_code as premise_state
    from snapshots
    cross join us_states
    where us_states.is_state_or_dc
    union
    select snapshot_month, premise_state from counted

)

select
    grid.snapshot_month,
    -- the federal fiscal year runs October to September
    year(grid.snapshot_month) + case when month(grid.snapshot_month) >= 10 then 1 else 0 end as fiscal_year,
    grid.premise_state,
    us_states.state_name as premise_state_name,
    coalesce(us_states.is_state_or_dc, false) as is_state_or_dc,
    coalesce(us_states.is_southwest_border, false) as is_southwest_border,
    coalesce(counted.n_dealers, 0) as n_dealers,
    coalesce(counted.n_pawnbrokers, 0) as n_pawnbrokers,
    coalesce(counted.n_dealers, 0) + coalesce(counted.n_pawnbrokers, 0) as n_dealers_and_pawnbrokers,
    coalesce(counted.n_licenses_all_types, 0) as n_licenses_all_types
from grid
left join counted
    on grid.snapshot_month = counted.snapshot_month
    and grid.premise_state = counted.premise_state
left join us_states
    on grid.premise_state = us_states.state_code
order by grid.snapshot_month, grid.premise_state
