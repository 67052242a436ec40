{# The purchaser as a keyed hash, never the name: SHA-256 of the key (from the environment,
   TRACEPIPE_PII_KEY), the normalised name and the birth date written YYYY-MM-DD whatever
   the file's date style, so that the same person gets the same key in every export
   (trace requests and multiple-sale reports alike). Null when there is no name. #}
{% macro purchaser_key(name_expr, dob_expr, format_column='_date_format') -%}
    case
        when {{ normalise_text(name_expr) }} is not null
            then sha256(
                '{{ env_var("TRACEPIPE_PII_KEY") }}' || '|'
                || {{ normalise_text(name_expr) }} || '|'
                || coalesce(strftime({{ parse_date(dob_expr, format_column) }}, '%Y-%m-%d'), '')
            )
    end
{%- endmacro %}
