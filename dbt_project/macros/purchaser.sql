{# The purchaser as a keyed hash, never the name: HMAC-SHA256, under the purchaser key,
   of the normalised name and the birth date written YYYY-MM-DD whatever the file's date
   style, so that the same person gets the same key in every export (trace requests and
   multiple-sale reports alike). Null when there is no name, or no key.

   The function is the pipeline's (pipelines/udfs.py, given to every connection by the
   dbt-duckdb plugin pipelines.dbt_plugin): the key is read at run time and never appears
   in SQL, views, logs or dbt's artifacts. #}
{% macro purchaser_key(name_expr, dob_expr, format_column='_date_format') -%}
    case
        when {{ normalise_text(name_expr) }} is not null
            then tracepipe_purchaser_key(
                {{ normalise_text(name_expr) }},
                coalesce(strftime({{ parse_date(dob_expr, format_column) }}, '%Y-%m-%d'), '')
            )
    end
{%- endmacro %}
