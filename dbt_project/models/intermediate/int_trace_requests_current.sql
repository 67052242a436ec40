-- The current version of each trace request (int_trace_versions.is_current), as staged:
-- what every model downstream counts. A view: a filter on load_id reaches the scan of
-- raw.trace under the staging view, so an incremental run normalises only what it needs.
{{ config(materialized='view') }}

select requests.*
from {{ ref('stg_trace__requests') }} as requests
semi join (
    select load_id, file_row_number from {{ ref('int_trace_versions') }} where is_current
) as current_versions
    on requests.load_id = current_versions.load_id
    and requests.file_row_number = current_versions.file_row_number
