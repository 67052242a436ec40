-- Trace requests to follow up, record level: incomplete requests (an identifier a trace
-- needs is missing) and altered serials, repeat requests left out. For the requesting
-- agencies' follow-up; it holds no personal data (no purchaser, not even the keyed hash).
--
-- Incremental: a run upserts the flagged requests among the rows int_trace_requests_flagged
-- wrote since this table's last run (written_at); the pre-hook first removes the rows
-- written since that are no longer to follow up (a request that became a repeat request,
-- or is no longer flagged after a later version) and the rows whose load was since
-- retracted (a request back to an earlier version comes again if still flagged). When
-- the rules change (rules_version), every row is written again.
{%- set since = none %}
{%- if is_incremental() and execute and not rules_changed(['load_id']) %}
    {%- set since = run_query("select max(source_written_at)::varchar from " ~ this).rows[0][0] %}
{%- endif %}
{{
    config(
        materialized='incremental',
        unique_key='trace_number',
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        pre_hook=[
            "{{ empty_when_rules_changed() }}",
            "{% if is_incremental() %}
            delete from {{ this }} where trace_number in (
                select trace_number from {{ ref('int_trace_requests_flagged') }}
                where written_at > (select max(source_written_at) from {{ this }})
                    and (is_duplicate_request or not (is_incomplete_request or has_altered_serial))
            ) or load_id in ({{ retracted_loads() }})
            {% endif %}",
        ]
    )
}}

with

flagged as (

    select * from {{ ref('int_trace_requests_flagged') }}
    where (is_incomplete_request or has_altered_serial)
        and not is_duplicate_request
        {% if is_incremental() and since %}
        and written_at > timestamp '{{ since }}'
        {% endif %}

)

select
    -- ids
    trace_number,
    file_name,
    file_row_number,

    -- dates
    request_date,
    recovery_date,
    recovery_year,

    -- request and recovery
    requesting_agency,
    recovery_country,
    recovery_state_code,
    recovery_state,
    recovery_city,

    -- firearm as reported
    firearm_type,
    gun_class,
    manufacturer,
    model,
    caliber,
    serial_number_key as serial_number,
    is_serial_marked_obliterated,
    country_of_manufacture,
    importer,

    -- result
    trace_status,
    trace_result,
    origin,
    purchaser_status,
    undetermined_reason,

    -- flags
    is_incomplete_request,
    has_altered_serial,
    is_serial_missing,
    missing_identifiers,

    -- lineage
    load_id,
    written_at as source_written_at,
    '{{ rules_version() }}' as rules_version
from flagged
