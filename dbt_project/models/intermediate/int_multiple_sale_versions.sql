-- Every version of every Demand Letter 3 rifle report (report id + rifle: manufacturer and
-- serial number as sent), in version order, with valid_from / valid_to and is_current
-- (docs/METHOD.md, "Versions").
--
-- Built again only when a load or retraction of multiple-sales exports came since its last build
-- (or its rules changed): macros/versions.sql, rebuilt_when_changed.
{% call rebuilt_when_changed(['multiple_sales']) %}
{{ staged_versions(
    ref('stg_multiple_sales__rifles'),
    ['report_id', 'manufacturer_as_sent', 'serial_number_as_sent']
) }}
{% endcall %}
