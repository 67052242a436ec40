-- Every version of every trace request (docs/METHOD.md, "Versions"): one row per change
-- of a request's values, in version order, with valid_from / valid_to (the export dates
-- of the file that brought it and of the next version) and is_current. A pending trace
-- completed weeks later has two versions: PENDING, then its result. An identical re-send
-- starts no version. Rows of retracted loads are not here (they are in retracted.trace).
--
-- Incremental: a run rebuilds the history of the keys touched since its last run, the
-- keys of loads and of retractions later in the change sequence than ``through_seq``;
-- the pre-hook first removes those keys, so a key whose only version was retracted is
-- gone. When the rules change (rules_version), every key is rebuilt.
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

received as (

    select
        trim(trace_number) as trace_number,
        {{ lineage_columns(change=false) }},
        _loaded_at as loaded_at,
        nullif(upper(trim(trace_status)), '') as trace_status,
        nullif(upper(trim(trace_result)), '') as trace_result
    from {{ source('raw', 'trace') }}
    {% if since_seq >= 0 %}
    where {{ raw_rows_of_touched_keys(trace_keys_touched_since(since_seq)) }}
    {% endif %}

),

versions as (

    {{ record_versions('received', ['trace_number']) }}

)

select
    trace_number,
    version,
    case when version = 1 then 'new' else 'changed' end as change,
    valid_from,
    valid_to,
    is_current,
    coalesce(trace_status = 'PENDING' or trace_result = 'PENDING', false) as is_pending,
    trace_status,
    trace_result,

    -- lineage
    load_id,
    file_name,
    file_row_number,
    load_seq,
    loaded_at,
    {{ current_change_seq() }}::bigint as through_seq,
    '{{ rules_version() }}' as rules_version,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as written_at
from versions
