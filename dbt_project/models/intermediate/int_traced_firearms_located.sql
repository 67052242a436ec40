-- One row per traced firearm (repeat requests left out), any recovery country, with where
-- its first retail dealer was licensed. A view: the two incremental tables it joins are
-- the stored history; the marts read it.
{{ config(materialized='view') }}

with

requests as (

    select * from {{ ref('int_trace_requests_flagged') }}
    where not is_duplicate_request

),

dealers as (

    select * from {{ ref('int_trace_dealers_located') }}

),

us_states as (

    select * from {{ ref('us_states') }}

)

select
    requests.* exclude (is_duplicate_request),
    dealers.dealer_status,
    dealers.source_state,
    dealers.listing_snapshot_month,
    coalesce(us_states.is_southwest_border, false) as is_southwest_border_source,
    case
        when requests.purchase_date is not null
            then requests.recovery_date - requests.purchase_date
    end as time_to_crime_days,
    {{ time_to_crime_bucket('requests.purchase_date', 'requests.recovery_date') }} as time_to_crime_bucket
from requests
inner join dealers
    on requests.trace_number = dealers.trace_number
left join us_states
    on dealers.source_state = us_states.state_code
