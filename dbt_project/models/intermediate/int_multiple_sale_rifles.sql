-- Demand Letter 3 rifles (docs/METHOD.md, multiple-sale recoveries): one row per rifle,
-- identified by normalised manufacturer + serial, from its earliest report, with how
-- many reports name it and the purchaser's hash as made once per report row
-- (int_multiple_sale_purchaser_keys). int_multiple_sale_rifle_recoveries matches them to
-- the traces.
--
-- Built again only when a load or retraction of multiple-sales exports came since its last
-- build (or its rules changed): macros/versions.sql, rebuilt_when_changed. The reports
-- change monthly; the traces they are matched to change daily, and a daily build no
-- longer picks the rifles out of every report again.
{% call rebuilt_when_changed(['multiple_sales']) %}
with

reported as (

    select current_rows.*, keys.purchaser_key
    from {{ ref('int_multiple_sale_rifles_current') }} as current_rows
    left join {{ ref('int_multiple_sale_purchaser_keys') }} as keys
        on current_rows.load_id = keys.load_id
        and current_rows.file_row_number = keys.file_row_number
    where current_rows.manufacturer is not null and current_rows.serial_match_key is not null

)

select
    manufacturer,
    serial_match_key,
    report_id,
    report_date,
    year(report_date) as report_year,
    disposition_date,
    dealer_key,
    ffl_license_number,
    model,
    caliber,
    purchaser_key,
    count(*) over (partition by manufacturer, serial_match_key) as n_reports
from reported
qualify row_number() over (
    partition by manufacturer, serial_match_key
    order by report_date, report_id
) = 1
{% endcall %}
