-- Demand Letter 3 rifles (multiple sales of certain rifles in AZ, CA, NM, TX) by year of
-- their first report, and how many were later traced, by where they were recovered
-- (GAO-16-223, 2011-2014: 490 recovered; 259 in the US, 209 in Mexico, 22 undetermined).
-- A rifle counts once however often it was reported or traced.
with

rifles as (

    select * from {{ ref('int_multiple_sale_rifles_matched') }}

)

select
    report_year,
    count(*) as n_rifles_reported,
    count(*) filter (where is_recovered) as n_recovered,
    count(*) filter (where recovered_in = 'united_states') as n_recovered_in_us,
    count(*) filter (where recovered_in = 'mexico') as n_recovered_in_mexico,
    count(*) filter (where recovered_in = 'undetermined') as n_recovery_undetermined,
    count(*) filter (where recovered_in = 'other_country') as n_recovered_in_other_country,
    count(distinct report_id) as n_reports,
    round(100.0 * count(*) filter (where is_recovered) / count(*), 2) as pct_recovered
from rifles
group by report_year
order by report_year
