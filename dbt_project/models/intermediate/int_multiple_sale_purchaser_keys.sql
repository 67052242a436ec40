-- The purchaser's keyed hash of each Demand Letter 3 report row (load + row of the file),
-- made once per row. The hash is a function of the pipeline's process called row by row
-- (pipelines/udfs.py), and the rifles' models are rebuilt whole at every run; read from
-- here, a day's export hashes its own rows only, not every report of the history again.
--
-- Incremental: a run hashes the rows of the loads not hashed yet; a retracted load's rows
-- leave (post-hook); new rules (rules_version: this SQL, its macros, the staging model and
-- the purchaser key's id) hash every row again.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='sync_all_columns',
        pre_hook="{{ empty_when_rules_changed() }}",
        post_hook="{{ delete_rows_of_retracted_loads() }}"
    )
}}

{%- set rules = rules_version() %}
{#- The loads hashed already, as constants at compile time: DuckDB pushes `load_id not in
    (...)` down to the scan of raw.multiple_sales under the staging view, so the function
    runs on the new loads' rows only. #}
{%- set hashed_loads = [] %}
{%- if is_incremental() and execute and not rules_changed([]) %}
    {%- set hashed_loads = run_query(
        "select distinct load_id from " ~ this ~ " order by 1"
    ).columns[0].values() | list %}
{%- endif %}

select
    load_id,
    file_row_number,
    purchaser_key,
    '{{ rules }}' as rules_version
from {{ ref('stg_multiple_sales__rifles') }}
{%- if hashed_loads %}
where load_id not in ({{ sql_strings(hashed_loads) }})
{%- endif %}
