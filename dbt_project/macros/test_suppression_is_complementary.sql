{# A shared table made by suppress_small_counts is safe to share: no count from 1 to
   threshold - 1 is visible, and no row or column (its total included) hides exactly one
   entry, which could be recovered by subtraction from the published totals. #}
{% test suppression_is_complementary(model, row_column, col_column, value_column='n_firearms', threshold=5) %}
    with

    lines as (

        select 'row' as line, {{ row_column }}::varchar as line_key,
            count(*) filter (where is_suppressed) as n_hidden
        from {{ model }}
        group by {{ row_column }}
        union all
        select 'column', {{ col_column }}::varchar,
            count(*) filter (where is_suppressed)
        from {{ model }}
        group by {{ col_column }}

    )

    select line, line_key, n_hidden, 'a single hidden entry in the line' as problem
    from lines
    where n_hidden = 1
    union all
    select 'cell', {{ row_column }}::varchar || ' x ' || {{ col_column }}::varchar, null,
        'a small count is visible'
    from {{ model }}
    where not is_suppressed and {{ value_column }} between 1 and {{ threshold - 1 }}
    union all
    select 'cell', {{ row_column }}::varchar || ' x ' || {{ col_column }}::varchar, null,
        'a suppressed cell shows its value'
    from {{ model }}
    where is_suppressed and {{ value_column }} is not null
{% endtest %}
