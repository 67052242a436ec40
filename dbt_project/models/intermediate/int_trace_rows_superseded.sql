-- The rows of raw.trace that are not the current version of their request: a later
-- version replaced them, or, as an identical re-send, they started no version
-- (int_trace_versions). int_trace_requests_current is every staged row but these.
--
-- They are few (under 3 % of the rows at 10 M traces), so the current rows are found by
-- an anti join on them: the semi join on the current versions that it replaces built a
-- hash table of every request, once in each pass of int_trace_requests_flagged, and
-- made that model spill under the memory limit (benchmarks/RESULTS.md).
--
-- Incremental as int_trace_versions is: a run redoes the keys that loads and
-- retractions touched since its last run (through_seq); when the rules change
-- (rules_version), every key is redone.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='sync_all_columns',
        pre_hook=["{{ empty_when_rules_changed() }}", "{{ delete_trace_keys_touched() }}"]
    )
}}

{%- set since_seq = last_through_seq() %}

with

{% if since_seq >= 0 %}
touched as (

    {{ trace_keys_touched_since(since_seq) }}

),
{% endif %}

received as (

    select trim(trace_number) as trace_number, _load_id as load_id, _row_number as file_row_number
    from {{ source('raw', 'trace') }}
    {% if since_seq >= 0 %}
    where {{ raw_rows_of_touched_keys('select * from touched') }}
    {% endif %}

),

current_versions as (

    select load_id, file_row_number
    from {{ ref('int_trace_versions') }}
    where is_current
    {% if since_seq >= 0 %}
        and trace_number in (select * from touched)
    {% endif %}

)

select
    received.trace_number,
    received.load_id,
    received.file_row_number,
    {{ current_change_seq() }}::bigint as through_seq,
    '{{ rules_version() }}' as rules_version
from received
anti join current_versions
    on received.load_id = current_versions.load_id
    and received.file_row_number = current_versions.file_row_number
