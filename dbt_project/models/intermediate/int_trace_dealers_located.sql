-- Where the first retail dealer of each trace request was licensed: the premise state in
-- the licensee listing valid at the purchase date (docs/METHOD.md, source state).
-- The dealer's stable key (region + district + sequence) is matched to the latest
-- snapshot holding that key whose month is on or before the purchase month; when the
-- purchase predates every snapshot of the key, its earliest snapshot. Without a purchase
-- date the recovery date is used. A dealer whose key is in no snapshot is reported as
-- ``dealer_not_in_listing``, never dropped; a request with no dealer as ``no_dealer``.
--
-- Incremental: new trace loads are located; when the listing changed since the last run
-- (a new snapshot can be the one valid at an old purchase), every request is located
-- again. Monthly listings make that a monthly, not a daily, cost.
{{
    config(
        materialized='incremental',
        unique_key='trace_number',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns'
    )
}}

with

listings as (

    select * from {{ ref('int_licensee_listings_keyed') }}

),

listing_version as (

    select max(loaded_at) as listing_loaded_at from listings

),

requests as (

    select
        trace_number,
        load_id,
        dealer_key,
        ffl_license_number,
        coalesce(purchase_date, recovery_date) as dealer_match_date,
        date_trunc('month', coalesce(purchase_date, recovery_date))::date as dealer_match_month
    from {{ ref('int_trace_requests_flagged') }}
    {% if is_incremental() %}
    where load_id not in (select distinct load_id from {{ this }})
        or (select listing_loaded_at from listing_version)
            is distinct from (select max(listing_loaded_at) from {{ this }})
    {% endif %}

),

earliest_listing as (

    select licensee_key, min(snapshot_month) as snapshot_month
    from listings
    group by licensee_key

),

matched as (

    select
        requests.*,
        coalesce(valid_then.snapshot_month, earliest_listing.snapshot_month) as listing_snapshot_month
    from requests
    asof left join listings as valid_then
        on requests.dealer_key = valid_then.licensee_key
        and requests.dealer_match_month >= valid_then.snapshot_month
    left join earliest_listing
        on requests.dealer_key = earliest_listing.licensee_key

),

located as (

    select
        matched.trace_number,
        matched.load_id,
        matched.ffl_license_number,
        matched.dealer_key,
        matched.dealer_match_date,
        matched.listing_snapshot_month,
        listings.license_number as listing_license_number,
        listings.premise_state as source_state,
        case
            when matched.dealer_key is null then 'no_dealer'
            when listings.licensee_key is null then 'dealer_not_in_listing'
            else 'located'
        end as dealer_status,
        (select listing_loaded_at from listing_version) as listing_loaded_at,
        '{{ invocation_id }}' as dbt_invocation_id
    from matched
    left join listings
        on matched.dealer_key = listings.licensee_key
        and matched.listing_snapshot_month = listings.snapshot_month

)

select * from located
