{# The normalised form every text match uses: accents removed, upper case, runs of
   spaces folded, trimmed. Blank becomes null. #}
{% macro normalise_text(expr) -%}
    nullif(trim(regexp_replace(upper(strip_accents({{ expr }})), '\s+', ' ', 'g')), '')
{%- endmacro %}

{# A serial number as it is compared: normalised, without spaces and dashes. #}
{% macro normalise_serial(expr) -%}
    nullif(regexp_replace(upper(strip_accents(coalesce({{ expr }}, ''))), '[\s\-]+', '', 'g'), '')
{%- endmacro %}

{# A date written in its file's style, which the ingest detected per file and recorded
   per row (never guessed per row). #}
{% macro parse_date(expr, format_column='_date_format') -%}
    case {{ format_column }}
        when '%d/%m/%Y' then try_strptime(nullif(trim({{ expr }}), ''), '%d/%m/%Y')
        else try_strptime(nullif(trim({{ expr }}), ''), '%Y-%m-%d')
    end::date
{%- endmacro %}
