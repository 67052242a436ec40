-- The current version of each trace request (int_trace_versions.is_current), as staged:
-- what every model downstream counts. A view: a filter on load_id reaches the scan of
-- raw.trace under the staging view, so an incremental run normalises only what it needs.
-- Every staged row but the few that are not current (int_trace_rows_superseded), which
-- int_trace_versions decided.
{{ config(materialized='view') }}

{{ current_rows(ref('stg_trace__requests'), superseded=ref('int_trace_rows_superseded')) }}
