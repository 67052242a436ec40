-- depends_on: {{ ref('int_trace_versions') }}
-- Trace requests normalised (firearm type, Mexican state), flagged (incomplete request,
-- altered serial, repeat request), classified (origin, purchaser determination) and
-- located (the first retail dealer's state in the licensee listing valid at the purchase
-- date, from the (dealer, month) pairs of int_trace_dealer_listings; time-to-crime),
-- following docs/METHOD.md. One row per request, its current version
-- (int_trace_requests_current); the marts count the rows that are not repeat requests.
--
-- Incremental (docs/MARTS.md): a run normalises only the requests whose versions
-- int_trace_versions rewrote since this table's last run (a new load, a later version,
-- a retraction), so a new day's export never re-normalises the history. Rules that span
-- requests:
-- - repeat requests: the requests already in the table about a firearm that a changed
--   request is (or was) about are taken back into the batch, as they are, and the
--   repeat flag of the whole group is decided again (delete+insert by trace_number);
-- - a request whose only version was retracted leaves the table (post-hook);
-- - the listing valid at the purchase date: when the licensee listing changed since the
--   last run, every request is taken back and located again (monthly, not daily);
--   int_trace_dealer_listings, built before, has then located every pair again.
-- When the rules change (rules_version: this SQL, its macros, the seeds and models it
-- reads), every request is normalised again.
{{
    config(
        materialized='incremental',
        unique_key='trace_number',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        pre_hook="{{ empty_when_rules_changed() }}",
        post_hook="{{ delete_rows_of_retracted_loads() }}"
    )
}}

{%- set rules = rules_version() %}
{%- set reprocess_all = rules_changed(['listing_loaded_at', 'written_at']) %}
{%- set changes = trace_changes_since_last_run(reprocess_all) %}
{%- set listing_changed = changes.listing_changed %}
{%- set since = changes.since %}

with

{% if is_incremental() %}
touched as (

    -- Requests whose current version changed since the last run, and requests whose
    -- row here came from a load that was since retracted (back to an earlier version,
    -- or gone).
    select trace_number from {{ ref('int_trace_versions') }}
    where written_at > timestamp '{{ since or "-infinity" }}'
    union
    select trace_number from {{ this }}
    where load_id in ({{ retracted_loads() }})

),
{% endif %}

requests as not materialized (

    -- Only the current versions written since the last run are normalised. This CTE and
    -- those built on it up to `batch` are `not materialized`: DuckDB would otherwise
    -- hold the wide rows of every request in memory because `batch` is read three times
    -- (the wide rows once; two narrow passes that read only the columns they need).
    select * from {{ ref('int_trace_requests_current') }}
    {% if is_incremental() and not reprocess_all %}
    where {{ in_changed_loads(changes) }}
        and trace_number in (select trace_number from touched)
    {% endif %}

),

firearm_types as (

    select * from {{ ref('firearm_types') }}

),

mexican_states as (

    select
        inegi_code,
        state_name,
        {{ normalise_text('state_name') }} as state_key
    from {{ ref('mexican_states') }}

),

state_aliases as (

    -- A Mexican state matches by name (any case, with or without accents), by a known
    -- alias, or by its INEGI code with or without the leading zero.
    select alias_key as state_key, inegi_code from {{ ref('mexican_state_aliases') }}
    union
    select state_key, inegi_code from mexican_states
    union
    select inegi_code, inegi_code from mexican_states
    union
    select ltrim(inegi_code, '0'), inegi_code from mexican_states

),

results as (

    select * from {{ ref('trace_results') }}

),

serial_words as (

    -- docs/METHOD.md: the words that mean "no serial" (missing) and the words that
    -- record a removal (an altered serial). Eleven rows: DuckDB matches them with a hash
    -- join and a small nested loop, a fraction of a second over ten million requests.
    select word, meaning from {{ ref('serial_words') }}

),

serial_checked as not materialized (

    select
        requests.*,
        coalesce(
            serial_number_key in (select word from serial_words where meaning = 'missing'),
            false
        ) as is_serial_word_missing
    from requests

),

serial_flagged as not materialized (

    select
        serial_checked.* exclude (is_serial_word_missing),
        (serial_number_key is null or is_serial_word_missing)
            and not is_serial_marked_obliterated as is_serial_missing,
        is_serial_marked_obliterated
        -- a removal word anywhere in the serial: the words as one list (an uncorrelated
        -- subquery, computed once), not a correlated `exists`, which made DuckDB buffer
        -- every wide row for a delim join
        or coalesce(len(list_filter(
            (select list(word) from serial_words where meaning = 'removal'),
            removal_word -> contains(coalesce(serial_number_key, ''), removal_word)
        )) > 0, false)
        or (
            length(coalesce(serial_match_key, '')) >= 3
            and replace(serial_match_key, left(serial_match_key, 1), '') = ''
        )
        or (
            serial_number_key is not null
            and not is_serial_word_missing
            and regexp_matches(serial_number_key, '[^A-Z0-9\- ]')
        ) as has_altered_serial
    from serial_checked

),

identified as not materialized (

    -- The identifiers a trace needs that the request lacks (docs/METHOD.md): a request
    -- is incomplete when the list is not empty. flagged_trace_requests shows the list.
    select
        *,
        concat_ws(', ',
            case when manufacturer is null then 'manufacturer' end,
            case when model is null then 'model' end,
            case when caliber is null then 'caliber' end,
            case when is_serial_missing then 'serial_number' end,
            case
                when country_of_manufacture is not null and country_of_manufacture <> 'US'
                    and importer is null and coalesce(trace_result, '') <> 'FOREIGN_NOT_IMPORTED_TO_US'
                    then 'importer'
            end
        ) as missing_identifiers
    from serial_flagged

),

flagged as not materialized (

    select
        identified.*,
        coalesce(firearm_types.firearm_type, 'UNKNOWN') as firearm_type,
        coalesce(firearm_types.gun_class, 'other') as gun_class,
        state_aliases.inegi_code as recovery_state_code,
        mexican_states.state_name as recovery_state,
        year(recovery_date) as recovery_year,
        missing_identifiers <> '' as is_incomplete_request,
        case
            when identified.trace_result = 'FOREIGN_NOT_IMPORTED_TO_US' then 'third_country'
            when identified.trace_result = 'MANUFACTURER_OR_IMPORTER_NOT_FOUND' then 'undetermined'
            when country_of_manufacture = 'US' then 'us_manufactured'
            when country_of_manufacture is not null and importer is not null then 'us_imported'
            else 'undetermined'
        end as origin,
        results.undetermined_reason as result_undetermined_reason
    from identified
    left join firearm_types
        on identified.firearm_type_key = firearm_types.raw_key
    left join state_aliases
        on identified.recovery_state_key = state_aliases.state_key
    left join mexican_states
        on state_aliases.inegi_code = mexican_states.inegi_code
    left join results
        on identified.trace_result = results.trace_result

),

classified as not materialized (

    select
        * exclude (result_undetermined_reason),
        origin in ('us_manufactured', 'us_imported') as is_us_sourced,
        case
            when origin not in ('us_manufactured', 'us_imported') then 'not_applicable'
            when trace_result = 'PURCHASER_IDENTIFIED' then 'determined'
            when trace_result = 'PENDING' or trace_status = 'PENDING' then 'pending'
            else 'undetermined'
        end as purchaser_status,
        case
            when origin in ('us_manufactured', 'us_imported')
                and trace_result <> 'PURCHASER_IDENTIFIED'
                and not (trace_result = 'PENDING' or trace_status = 'PENDING')
                then coalesce(result_undetermined_reason, 'other')
        end as undetermined_reason,
        -- The recovered firearm a request is about. Only a usable serial (not missing,
        -- not altered) lets a repeat request be recognised: otherwise null, never a repeat.
        case
            when serial_match_key is not null and not is_serial_missing and not has_altered_serial
                then md5(concat_ws('|',
                    serial_match_key, coalesce(manufacturer, ''), recovery_date::varchar,
                    recovery_country, coalesce(recovery_state_code, recovery_state_key, ''),
                    coalesce(recovery_city, '')
                ))
        end as repeat_key,
        case
            when purchase_date is not null then recovery_date - purchase_date
        end as time_to_crime_days,
        {{ time_to_crime_bucket('purchase_date', 'recovery_date') }} as time_to_crime_bucket,
        '{{ rules }}' as rules_version,
        '{{ invocation_id }}' as dbt_invocation_id
    from flagged

),

{% if is_incremental() and not reprocess_all %}
carried as (

    -- Requests already in the table that this run must decide again, as they are (not
    -- normalised again): those about a firearm a changed request is about now or was
    -- about before, or all of them when the listing changed. Found on two narrow columns
    -- first, then fetched whole by rowid: a filter on the wide table would read every
    -- column of every row.
    select * exclude (
        is_duplicate_request, dealer_status, source_state, listing_snapshot_month,
        listing_license_number, is_southwest_border_source, listing_loaded_at, written_at
    )
    from {{ this }}
    {% if listing_changed %}
    where trace_number not in (select trace_number from touched)
    {% else %}
    where rowid in (
        select rowid
        from {{ this }}
        where (
                repeat_key in (select repeat_key from classified where repeat_key is not null)
                -- Without `repeat_key is not null` (a null matches nothing here
                -- anyway): with it, DuckDB estimated this side below `touched` and
                -- built its hash table on 8.4 M of this table's rows instead of the
                -- day's few touched requests (10 M traces: 2.4 s against 0.2 s).
                or repeat_key in (
                    select repeat_key from {{ this }}
                    where trace_number in (select trace_number from touched)
                )
            )
            and trace_number not in (select trace_number from touched)
    )
    {% endif %}

),

batch as not materialized (

    -- Not materialized: each use below reads only the columns it needs (the wide rows
    -- once, in the final select; two narrow passes for the rules that span requests).
    select * from classified
    union all by name
    select * from carried

),
{% else %}
batch as not materialized (

    select * from classified

),
{% endif %}

repeat_groups as (

    -- Of the requests about one recovered firearm, the earliest request (then the
    -- smallest trace number) is kept; the others are repeat requests. Decided on three
    -- narrow columns by a hash aggregate, not by a window over the wide rows (which
    -- sorted every column of every request and spilled under the memory limit): for each
    -- firearm requested more than once, the request kept. Request dates are never
    -- 'infinity' (parsed dates), so the order is that of `order by request_date,
    -- trace_number` (nulls last); trace numbers are unique in the batch.
    select
        repeat_key,
        arg_min(
            trace_number,
            {'request_date': coalesce(request_date, 'infinity'::date), 'trace_number': trace_number}
        ) as kept_trace_number
    from batch
    where repeat_key is not null
    group by repeat_key
    having count(*) > 1

),

located as (

    select
        batch.*,
        coalesce(
            repeat_groups.kept_trace_number is not null
                and repeat_groups.kept_trace_number <> batch.trace_number,
            false
        ) as is_duplicate_request,
        dealer_months.listing_snapshot_month,
        case
            when batch.dealer_key is null then 'no_dealer'
            when dealer_months.listed_licensee_key is null then 'dealer_not_in_listing'
            else 'located'
        end as dealer_status,
        dealer_months.source_state,
        dealer_months.listing_license_number,
        coalesce(dealer_months.is_southwest_border_source, false) as is_southwest_border_source,
        {{ latest_listing_load() }} as listing_loaded_at,
        -- when this row was last written (normalised, regrouped or located again):
        -- incremental marts read the rows written since their last run
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as written_at
    from batch
    left join repeat_groups
        on batch.repeat_key = repeat_groups.repeat_key
    left join {{ ref('int_trace_dealer_listings') }} as dealer_months
        on batch.dealer_key = dealer_months.dealer_key
        and date_trunc('month', coalesce(batch.purchase_date, batch.recovery_date))::date
            is not distinct from dealer_months.dealer_match_month

)

select * from located
