{# The parts that several marts share, written once. #}

{# GAO-16-223's period of recovery (seizure, report) years: vars gao_first_year and
   gao_last_year of dbt_project.yml. #}
{% macro gao_period(year_column) -%}
    {{ year_column }} between {{ var('gao_first_year') }} and {{ var('gao_last_year') }}
{%- endmacro %}


{# One count per value of ``column``: ``pairs`` of (value, count column). #}
{% macro counts_where(column, pairs) -%}
    {%- for value, name in pairs %}
    count(*) filter (where {{ column }} = '{{ value }}') as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{# The counts of firearms by gun class (seed firearm_types: long, short, other), as
   n_long, n_short, n_other. #}
{% macro gun_class_counts(classes=('long', 'short', 'other')) -%}
    {%- set pairs = [] -%}
    {%- for gun_class in classes -%}{%- do pairs.append((gun_class, 'n_' ~ gun_class)) -%}{%- endfor -%}
    {{ counts_where('gun_class', pairs) }}
{%- endmacro %}


{# The origin counts of docs/METHOD.md ("Origin"), with their total. #}
{% macro origin_counts() -%}
    count(*) as n_traced,
    count(*) filter (where origin = 'us_manufactured') as n_us_manufactured,
    count(*) filter (where origin = 'us_imported') as n_us_imported,
    count(*) filter (where is_us_sourced) as n_us_sourced,
    count(*) filter (where origin = 'third_country') as n_third_country,
    count(*) filter (where origin = 'undetermined') as n_undetermined
{%- endmacro %}


{# The first retail dealer's state where the listing located the dealer; null for a
   dealer in no listing or no dealer (dealer_status says which). #}
{% macro located_source_state() -%}
    case when dealer_status = 'located' then source_state end
{%- endmacro %}


{# The dealer as a row label of a shared table: its state, or what stands for it. #}
{% macro dealer_label() -%}
    case dealer_status
        when 'located' then source_state
        when 'dealer_not_in_listing' then 'DEALER NOT IN LISTING'
        else 'NO DEALER IDENTIFIED'
    end
{%- endmacro %}


{# Firearms recovered in Mexico by year of recovery and one attribute (caliber,
   manufacturer), ranked within each year (rank 1 = the most frequent; ties share a
   rank), with long and short guns and the share of the year. A blank value shows as
   null. #}
{% macro ranked_by_year(column) -%}
    with

    traced as (

        select * from {{ ref('int_mexico_traces') }}

    ),

    counted as (

        select
            recovery_year,
            {{ column }},
            count(*) as n_traced,
            {{ gun_class_counts(['long', 'short']) }}
        from traced
        group by recovery_year, {{ column }}

    )

    select
        recovery_year,
        {{ gao_period('recovery_year') }} as is_gao_period,
        {{ column }},
        n_traced,
        n_long,
        n_short,
        round(100.0 * n_traced / sum(n_traced) over (partition by recovery_year), 2) as pct_of_year,
        rank() over (partition by recovery_year order by n_traced desc) as rank_in_year
    from counted
    order by recovery_year, rank_in_year, {{ column }}
{%- endmacro %}


{# A mart for other agencies from a mart with one row per ``row_column`` value: the
   ``columns`` (pairs of count column and label) become the columns ``col_column`` of a
   two-way table, with margins and small counts suppressed (suppress_small_counts). #}
{% macro shared_two_way(relation, row_column, col_column, columns) -%}
    with

    cells as (

        select {{ row_column }} as row_key, {{ col_column }} as col_key, n
        from {{ relation }}
        unpivot (n for {{ col_column }} in (
            {%- for column, label in columns %}
            {{ column }} as '{{ label }}'{{ "," if not loop.last }}
            {%- endfor %}
        ))

    )

    select * from ({{ suppress_small_counts('cells', row_column, col_column) }})
    order by {{ row_column }}, {{ col_column }}
{%- endmacro %}


{# For gao_16_223_reproduction: the sums of ``columns`` of a by-year mart over the years
   of each reference period (CTE ``periods``: period, first_year, last_year). #}
{% macro sums_by_period(relation, year_column, columns) -%}
    select
        periods.period,
        {%- for column in columns %}
        sum(by_year.{{ column }}) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from periods
    inner join {{ relation }} as by_year
        on by_year.{{ year_column }} between periods.first_year and periods.last_year
    group by periods.period
{%- endmacro %}
