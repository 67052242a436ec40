-- The current version of each Demand Letter 3 rifle report (int_multiple_sale_versions),
-- as staged.
{{ config(materialized='view') }}

select rifles.*
from {{ ref('stg_multiple_sales__rifles') }} as rifles
semi join (
    select load_id, file_row_number from {{ ref('int_multiple_sale_versions') }} where is_current
) as current_versions
    on rifles.load_id = current_versions.load_id
    and rifles.file_row_number = current_versions.file_row_number
