{# A federal firearms license number, R-DD-CCC-TT-YM-SSSSS (region, district, county,
   license type, expiry code, sequence), parsed into a struct of its parts. The expiry code
   is the last digit of the expiry year and a month letter A-M without I (A = January,
   H = August, J = September, M = December). A value that does not have this form gives a
   struct of empty strings: use license_part() to read one part as text or null. #}
{% macro parse_license_number(expr) -%}
    regexp_extract(
        upper(trim(coalesce({{ expr }}, ''))),
        '^(\d)-(\d{2})-(\d{3})-(\d{2})-(\d)([A-HJ-M])-(\d{5})$',
        ['region', 'district', 'county', 'license_type', 'expiry_year_digit', 'expiry_month_letter', 'sequence']
    )
{%- endmacro %}

{% macro license_part(parsed, part) -%}
    nullif({{ parsed }}.{{ part }}, '')
{%- endmacro %}

{# The stable licensee key across renewals: region + district + sequence (R-DD-SSSSS). #}
{% macro licensee_key(region, district, sequence) -%}
    case
        when {{ region }} is not null and {{ district }} is not null and {{ sequence }} is not null
            then {{ region }} || '-' || {{ district }} || '-' || {{ sequence }}
    end
{%- endmacro %}

{# Month number (1-12) of an expiry-code month letter: A-H = January-August, J-M =
   September-December; I is never used. Null for anything else. #}
{% macro expiry_month_number(letter) -%}
    case
        when length({{ letter }}) = 1 then nullif(strpos('ABCDEFGHJKLM', upper({{ letter }})), 0)
    end
{%- endmacro %}

{# The first day of the expiry month of a license seen in a listing of ``as_of`` (a date).
   The code holds only the last digit of the year: the year is the one ending in that digit
   from the year before ``as_of`` to eight years after (a license runs three years, and a
   listing can still show a license that expired in the last months). #}
{% macro expiry_month_date(year_digit, letter, as_of) -%}
    case
        when {{ expiry_month_number(letter) }} is not null and {{ year_digit }} is not null
            then make_date(
                (year({{ as_of }}) - 1 + ((cast({{ year_digit }} as integer) - (year({{ as_of }}) - 1)) % 10 + 10) % 10)::bigint,
                {{ expiry_month_number(letter) }}::bigint,
                1
            )
    end
{%- endmacro %}
