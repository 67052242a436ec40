-- Purchasers linked to several recovered firearms (a trafficking indicator), known only by
-- a keyed hash of their normalised name and birth date (the key never leaves the
-- pipeline's environment). One row per purchaser with two or more traced firearms
-- (repeat requests left out, any recovery country), with Demand Letter 3 rifles reported
-- as sold to them.
with

-- The purchasers with two or more: found first, from the key alone, so that the distinct
-- counts and lists below are made for their firearms only and not for every purchaser of
-- the history (most have one traced firearm).
repeated as (

    select purchaser_key
    from {{ ref('int_trace_requests_flagged') }}
    where not is_duplicate_request
        and purchaser_key is not null
    group by purchaser_key
    having count(*) >= 2

),

traced as (

    select * from {{ ref('int_trace_requests_flagged') }}
    where not is_duplicate_request
        and purchaser_key in (select purchaser_key from repeated)

),

by_purchaser as (

    select
        purchaser_key,
        count(*) as n_firearms_recovered,
        count(*) filter (where recovery_country = 'MX') as n_recovered_in_mexico,
        count(*) filter (where recovery_country = 'US') as n_recovered_in_us,
        count(*) filter (where gun_class = 'long') as n_long_guns,
        count(distinct dealer_key) as n_dealers,
        count(distinct source_state) as n_source_states,
        string_agg(distinct source_state, ',' order by source_state) as source_states,
        min(purchase_date) as first_purchase_date,
        max(purchase_date) as last_purchase_date,
        min(recovery_date) as first_recovery_date,
        max(recovery_date) as last_recovery_date,
        min(time_to_crime_days) as min_time_to_crime_days
    from traced
    group by purchaser_key

),

dl3 as (

    select
        purchaser_key,
        count(*) as n_dl3_rifles_reported,
        count(*) filter (where is_recovered) as n_dl3_rifles_recovered
    from {{ ref('int_multiple_sale_rifles_matched') }}
    where purchaser_key is not null
    group by purchaser_key

)

select
    by_purchaser.*,
    coalesce(dl3.n_dl3_rifles_reported, 0) as n_dl3_rifles_reported,
    coalesce(dl3.n_dl3_rifles_recovered, 0) as n_dl3_rifles_recovered
from by_purchaser
left join dl3
    on by_purchaser.purchaser_key = dl3.purchaser_key
order by n_firearms_recovered desc, purchaser_key
