{# ATF's time-to-crime buckets, by calendar months from the purchase date: a firearm
   recovered before purchase + 3 months is "Under 3 Months", and so on. #}
{% macro time_to_crime_bucket(purchase_date, recovery_date) -%}
    case
        when {{ purchase_date }} is null or {{ recovery_date }} is null then null
        when {{ recovery_date }} < {{ purchase_date }} + interval 3 month then 'Under 3 Months'
        when {{ recovery_date }} < {{ purchase_date }} + interval 7 month then '3 Months to Under 7 Months'
        when {{ recovery_date }} < {{ purchase_date }} + interval 1 year then '7 Months to Under 1 Year'
        when {{ recovery_date }} < {{ purchase_date }} + interval 2 year then '1 Year to Under 2 Years'
        when {{ recovery_date }} < {{ purchase_date }} + interval 3 year then '2 Years to Under 3 Years'
        else '3 Years and Over'
    end
{%- endmacro %}

{% macro time_to_crime_buckets() -%}
    {{ return([
        ('Under 3 Months', 'under_3_months'),
        ('3 Months to Under 7 Months', '3_to_7_months'),
        ('7 Months to Under 1 Year', '7_months_to_1_year'),
        ('1 Year to Under 2 Years', '1_to_2_years'),
        ('2 Years to Under 3 Years', '2_to_3_years'),
        ('3 Years and Over', '3_years_and_over'),
    ]) }}
{%- endmacro %}
