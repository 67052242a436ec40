-- The current version of each Demand Letter 3 rifle report (int_multiple_sale_versions),
-- as staged.
--
-- Built again only when a load or retraction of multiple-sales exports came since its last build
-- (or its rules changed): macros/versions.sql, rebuilt_when_changed.
{% call rebuilt_when_changed(['multiple_sales']) %}
{{ current_rows(ref('stg_multiple_sales__rifles'), ref('int_multiple_sale_versions')) }}
{% endcall %}
