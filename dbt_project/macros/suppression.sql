{#
  Small-count suppression for tables shared with other agencies (aggregates only, in the
  spirit of ATF's rule that trace results are shared only in aggregate).

  ``cells`` names a relation or CTE with columns row_key, col_key (text) and n (a count),
  one row per interior cell of a two-way table; zero cells may be listed or not. The
  result has the interior cells plus their margins: a total per row (col_key = 'ALL'),
  per column (row_key = 'ALL') and the grand total, so a reader gets the totals from us
  and never has to add up suppressed cells. Output columns are named row_column,
  col_column, n_firearms (null when suppressed), is_suppressed and suppression
  ('primary', 'complementary' or null).

  1. Primary suppression: every count from 1 to threshold - 1 (totals included).
  2. Complementary suppression: a row or column (its total included) that hides exactly
     one entry would give it away by subtraction. In each such line the smallest visible
     entry is suppressed too (an interior cell before a total, a non-zero count before a
     zero). This runs over rows, then columns, ``passes`` times; a line changed in one
     pass is checked again in the next. The ``suppression`` rules of the shared marts'
     ``column_values`` test prove no line ends with a single hidden entry and no small
     count shows.
#}
{% macro suppress_small_counts(cells, row_column, col_column, value_column='n_firearms', threshold=5, passes=6) %}
    with

    interior as (

        select row_key::varchar as row_key, col_key::varchar as col_key, coalesce(n, 0)::bigint as n
        from {{ cells }}

    ),

    entries as (

        select row_key, col_key, n from interior
        union all
        select row_key, 'ALL', sum(n)::bigint from interior group by row_key
        union all
        select 'ALL', col_key, sum(n)::bigint from interior group by col_key
        union all
        select 'ALL', 'ALL', coalesce(sum(n), 0)::bigint from interior

    ),

    pass_0 as (

        select
            row_key,
            col_key,
            n,
            n between 1 and {{ threshold - 1 }} as is_primary,
            n between 1 and {{ threshold - 1 }} as is_suppressed
        from entries

    ),

    {% for i in range(passes) %}
    pass_{{ i }}_rows as (

        select
            row_key, col_key, n, is_primary,
            is_suppressed or (
                count(*) filter (where is_suppressed) over (partition by row_key) = 1
                and row_number() over (
                    partition by row_key
                    order by is_suppressed, col_key = 'ALL', n = 0, n, col_key
                ) = 1
            ) as is_suppressed
        from pass_{{ i }}

    ),

    pass_{{ i + 1 }} as (

        select
            row_key, col_key, n, is_primary,
            is_suppressed or (
                count(*) filter (where is_suppressed) over (partition by col_key) = 1
                and row_number() over (
                    partition by col_key
                    order by is_suppressed, row_key = 'ALL', n = 0, n, row_key
                ) = 1
            ) as is_suppressed
        from pass_{{ i }}_rows

    ),
    {% endfor %}

    final as (

        select
            row_key as {{ row_column }},
            col_key as {{ col_column }},
            case when is_suppressed then null else n end as {{ value_column }},
            is_suppressed,
            case
                when is_primary then 'primary'
                when is_suppressed then 'complementary'
            end as suppression
        from pass_{{ passes }}

    )

    select * from final
{% endmacro %}
