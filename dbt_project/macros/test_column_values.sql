{#
  The rules of a model's columns, checked in one scan of the model. dbt's own
  ``not_null``, ``accepted_values`` and ``unique`` scan it once per column, and each is a
  node of every build; a staging view is parsed again by every scan.

    not_null:        the columns that must have a value in every row;
    accepted_values: column -> the values it may hold. Nulls pass, as in dbt's test.
                     A string is compared as text, a number as a number.
    unique:          what no two rows may share: a column (nulls aside, as in dbt's
                     ``unique``), or a list of columns, a combination (nulls count as
                     values: two rows alike but for a null in the same place repeat).
    required_when:   column -> a condition: the rows that match it must have a value.
    in_table:        column -> {to: a ref, field: its column}: each value must be one of
                     the field's (nulls pass, as in dbt's ``relationships``).
    suppression:     {row: column, column: column} (and the value and threshold of
                     ``suppress_small_counts``, n_firearms and 5 by default), for a table made by
                     ``suppress_small_counts`` (macros/suppression.sql), a two-way table
                     in long form: no count from 1 to 4 is visible
                     (``suppression_small``), no hidden cell shows its value
                     (``suppression_shown``), and no row or column, its total included,
                     hides exactly one entry (``suppression_alone``: the hidden cells that
                     are alone in their row or column, which subtraction from the
                     published totals would give away).

  One row for each rule broken: the column (or the combination's columns, joined by
  commas), the rule, how many rows break it (for unique: the rows that repeat one before
  them), and for accepted_values and in_table one value that breaks it (in the stored
  failures only: the pipeline's message names the rules and counts, never a value).
#}
{% test column_values(model, not_null=[], accepted_values={}, unique=[], required_when={}, in_table={}, suppression=none) %}
{%- set rules = [] -%}
{#- rules broken by a value: (column, rule, the condition a breaking row meets) -#}
{%- set valued = [] -%}
{#- rules counted without a value: (column, rule, the count of rows that break it) -#}
{%- set counted = [] -%}
{%- for column in not_null -%}
    {%- do counted.append((column, "not_null", "count(*) filter (where " ~ column ~ " is null)")) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set literals = [] -%}
    {%- for value in values -%}
        {%- do literals.append(value if value is number else "'" ~ (value | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {%- do valued.append((column, "accepted_values", column ~ " not in (" ~ literals | join(", ") ~ ")")) -%}
{%- endfor -%}
{%- for column, parent in in_table.items() -%}
    {%- do valued.append((column, "in_table", column ~ " not in (select " ~ parent.field ~ " from "
        ~ parent.to ~ " where " ~ parent.field ~ " is not null)")) -%}
{%- endfor -%}
{%- for columns in unique -%}
    {%- if columns is string -%}
        {%- do counted.append((columns, "unique",
            "count(" ~ columns ~ ") - count(distinct " ~ columns ~ ")")) -%}
    {%- else -%}
        {%- set fields = [] -%}
        {%- for column in columns -%}
            {%- do fields.append("'" ~ column ~ "': " ~ column) -%}
        {%- endfor -%}
        {%- do counted.append((columns | join(","), "unique",
            "count(*) - count(distinct {" ~ fields | join(", ") ~ "})")) -%}
    {%- endif -%}
{%- endfor -%}
{%- for column, condition in required_when.items() -%}
    {%- do counted.append((column, "required_when",
        "count(*) filter (where (" ~ condition ~ ") and " ~ column ~ " is null)")) -%}
{%- endfor -%}
{%- if suppression -%}
    {%- set line = suppression.row ~ "," ~ suppression.column -%}
    {%- set value = suppression.get("value", "n_firearms") -%}
    {%- set small = "not is_suppressed and " ~ value ~ " between 1 and "
        ~ (suppression.get("threshold", 5) - 1) -%}
    {%- set alone = "(select count(*) from (select is_suppressed, "
        ~ "count(*) filter (where is_suppressed) over (partition by " ~ suppression.row ~ ") as in_row, "
        ~ "count(*) filter (where is_suppressed) over (partition by " ~ suppression.column ~ ") as in_column "
        ~ "from " ~ model ~ ") as cells where is_suppressed and (in_row = 1 or in_column = 1))" -%}
    {%- do counted.append((line, "suppression_small", "count(*) filter (where " ~ small ~ ")")) -%}
    {%- do counted.append((line, "suppression_shown",
        "count(*) filter (where is_suppressed and " ~ value ~ " is not null)")) -%}
    {%- do counted.append((line, "suppression_alone", alone)) -%}
{%- endif -%}
{%- for column, rule, where in valued -%}
    {%- do rules.append({
        "column": column,
        "rule": rule,
        "n_rows": "count(*) filter (where " ~ where ~ ")",
        "example": "any_value(" ~ column ~ "::varchar) filter (where " ~ where ~ ")",
    }) -%}
{%- endfor -%}
{%- for column, rule, n_rows in counted -%}
    {%- do rules.append({"column": column, "rule": rule, "n_rows": n_rows, "example": "null"}) -%}
{%- endfor -%}
select rule.column_name, rule.rule, rule.n_rows, rule.example
from (
    select unnest([
        {%- for r in rules %}
        {
            'column_name': '{{ r.column }}',
            'rule': '{{ r.rule }}',
            'n_rows': {{ r.n_rows }},
            'example': {{ r.example }}::varchar
        }{{ "," if not loop.last }}
        {%- endfor %}
    ]) as rule
    from {{ model }}
)
where rule.n_rows > 0
{% endtest %}
