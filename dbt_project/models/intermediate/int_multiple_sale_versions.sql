-- Every version of every Demand Letter 3 rifle report (report id + rifle: manufacturer and
-- serial number as sent), in version order, with valid_from / valid_to and is_current
-- (docs/METHOD.md, "Versions").
{{ staged_versions(
    ref('stg_multiple_sales__rifles'),
    ['report_id', 'manufacturer_as_sent', 'serial_number_as_sent']
) }}
