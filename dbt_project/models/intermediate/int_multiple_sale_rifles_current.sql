-- The current version of each Demand Letter 3 rifle report (int_multiple_sale_versions),
-- as staged.
{{ config(materialized='view') }}

{{ current_rows(ref('stg_multiple_sales__rifles'), ref('int_multiple_sale_versions')) }}
