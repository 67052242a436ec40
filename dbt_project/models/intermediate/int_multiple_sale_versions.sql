-- Every version of every Demand Letter 3 rifle report (report id + rifle: manufacturer and
-- serial number as sent), in version order, with valid_from / valid_to and is_current
-- (docs/METHOD.md, "Versions").
with

received as (

    select
        report_id,
        manufacturer_as_sent,
        serial_number_as_sent,
        load_id,
        file_name,
        file_row_number,
        export_date,
        load_seq,
        record_hash,
        loaded_at
    from {{ ref('stg_multiple_sales__rifles') }}

),

versions as (

    {{ record_versions('received', ['report_id', 'manufacturer_as_sent', 'serial_number_as_sent']) }}

)

select
    *,
    case when version = 1 then 'new' else 'changed' end as change
from versions
