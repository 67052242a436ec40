-- The trace requests most marts count: firearms recovered in Mexico, one per firearm
-- (repeat requests left out), as int_trace_requests_flagged holds them (docs/METHOD.md,
-- "Universe of traced firearms"). Ephemeral: a CTE in each mart that reads it, so no
-- copy of ten million rows is written.
{{ config(materialized='ephemeral') }}

select *
from {{ ref('int_trace_requests_flagged') }}
where recovery_country = 'MX'
    and not is_duplicate_request
