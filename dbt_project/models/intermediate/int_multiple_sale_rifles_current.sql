-- The current version of each Demand Letter 3 rifle report (int_multiple_sale_versions),
-- as staged, but for the purchaser's hash: it is made once per report row
-- (int_multiple_sale_purchaser_keys, where int_multiple_sale_rifles takes it
-- from), not again for every report at each build.
--
-- Built again only when a load or retraction of multiple-sales exports came since its last build
-- (or its rules changed): macros/versions.sql, rebuilt_when_changed.
{% call rebuilt_when_changed(['multiple_sales']) %}
select * exclude (purchaser_key) from (
{{ current_rows(ref('stg_multiple_sales__rifles'), ref('int_multiple_sale_versions')) }}
)
{% endcall %}
