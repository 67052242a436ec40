-- depends_on: {{ ref('int_trace_versions') }}
-- The licensee listing valid at each (dealer, month) pair of the current trace requests
-- (docs/METHOD.md, "Source state"): for the first retail dealer's stable key and the
-- purchase month (the recovery month without a purchase date), the snapshot holding the
-- key that was valid then, the latest on or before it, else the key's earliest.
-- int_trace_requests_flagged locates its requests by joining these pairs.
--
-- A table of its own, not a CTE of the flagged model: inside that model's one statement
-- the pairs, their as-of join and the join back to the wide rows were planned together
-- and spilled (10 M traces: the model 199 s as one statement, 6 s + 61 s with the pairs
-- built first; benchmarks/NOTES.md).
--
-- Incremental (docs/MARTS.md): a run adds the pairs of the loads int_trace_versions
-- wrote since its last run that it does not hold yet (a pair's listing depends only on
-- the pair and the listing). When the listing has a newer load, or the rules change,
-- every row goes (pre-hooks) and every pair of the current requests is located again.
-- A pair whose requests were since corrected or retracted stays until then: it joins no
-- request.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='sync_all_columns',
        pre_hook=[
            "{{ empty_when_rules_changed() }}",
            "{{ delete_rows_of_other_listing() }}",
        ]
    )
}}

{%- set rules = rules_version() %}
{%- set reprocess_all = rules_changed(['listing_loaded_at', 'written_at']) %}
{%- set changes = trace_changes_since_last_run(reprocess_all) %}
{#- A run adds pairs unless every pair must be located again. #}
{%- set adding = is_incremental() and not reprocess_all and not changes.listing_changed %}

with

requests as (

    select * from {{ ref('int_trace_requests_current') }}
    {% if adding %}
    where {{ in_changed_loads(changes) }}
    {% endif %}

),

pairs as (

    -- The (dealer, month) pairs of the requests that name a dealer. Not a filter on the
    -- dealer key: DuckDB pushes one into the scan of raw.trace, where the key's regular
    -- expression is evaluated once for each of its parts, for every raw row (10 M
    -- traces: 17.4 s; making the CTE materialized does not stop it on DuckDB 1.5.6,
    -- which pushes filters into those too). A condition on an aggregate is not pushed:
    -- 4.4 s.
    select
        dealer_key,
        date_trunc('month', coalesce(purchase_date, recovery_date))::date as dealer_match_month
    from requests
    group by all
    having count(dealer_key) > 0

),

new_pairs as (

    select pairs.* from pairs
    {% if adding %}
    anti join {{ this }} as held
        on pairs.dealer_key = held.dealer_key
        and pairs.dealer_match_month is not distinct from held.dealer_match_month
    {% endif %}

),

listings as (

    select * from {{ ref('int_licensee_listings_keyed') }}
    {% if adding %}
    -- Only the new pairs' dealers: the as-of join sorts what it is given, and a daily
    -- run's few pairs should not sort the whole listing.
    where licensee_key in (select dealer_key from new_pairs)
    {% endif %}

),

listing_bounds as (

    select licensee_key, min(snapshot_month) as snapshot_month
    from listings
    group by licensee_key

),

valid as (

    select
        new_pairs.dealer_key,
        new_pairs.dealer_match_month,
        coalesce(valid_then.snapshot_month, listing_bounds.snapshot_month) as snapshot_month
    from new_pairs
    asof left join listings as valid_then
        on new_pairs.dealer_key = valid_then.licensee_key
        and new_pairs.dealer_match_month >= valid_then.snapshot_month
    left join listing_bounds
        on new_pairs.dealer_key = listing_bounds.licensee_key

)

select
    valid.dealer_key,
    valid.dealer_match_month,
    listings.licensee_key as listed_licensee_key,
    listings.snapshot_month as listing_snapshot_month,
    listings.premise_state as source_state,
    listings.license_number as listing_license_number,
    coalesce(us_states.is_southwest_border, false) as is_southwest_border_source,
    {{ latest_listing_load() }} as listing_loaded_at,
    '{{ rules }}' as rules_version,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as written_at
from valid
left join listings
    on valid.dealer_key = listings.licensee_key
    and valid.snapshot_month = listings.snapshot_month
left join {{ ref('us_states') }} as us_states
    on listings.premise_state = us_states.state_code
