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

    incremental_by:  a column that grows with each write of a row (``written_at`` of a
                     model that stamps the rows it writes, ``load_seq`` of a staging view):
                     the rules that look at one row at a time (not_null, accepted_values,
                     required_when, in_table) and the unique combinations that hold this
                     column look only at the rows past the watermark of this test's last
                     pass under the same code, which ``tracepipe transform`` keeps
                     (pipelines/transform.py, ``meta.dbt_test_passes``) and hands over in
                     TRACEPIPE_TEST_WATERMARKS. A row at or below it passed these rules
                     then and holds the same values. A unique column looks at the rows
                     whose value a row past the watermark holds: two rows at or below it
                     did not repeat a value at that pass, and a row changed since is past
                     it. Unique combinations without the column, and suppression, span
                     rows and look at every row. Without a watermark (the first build, a
                     full refresh, changed code), every rule looks at every row.

  One row for each rule broken: the column (or the combination's columns, joined by
  commas), the rule, how many rows break it (for unique: the rows that repeat one before
  them), and for accepted_values and in_table one value that breaks it (in the stored
  failures only: the pipeline's message names the rules and counts, never a value).
#}
{% test column_values(model, not_null=[], accepted_values={}, unique=[], required_when={}, in_table={}, suppression=none, incremental_by=none) %}
{%- set rules = [] -%}
{#- rules broken by a value: (column, rule, the condition a breaking row meets) -#}
{%- set valued = [] -%}
{#- rules counted without a value: (column, rule, the count of rows that break it) -#}
{%- set counted = [] -%}
{#- the rules counted over every row, even with a watermark -#}
{%- set spanning = [] -%}
{#- unique columns: with a watermark, counted over the rows that share a value with a new row -#}
{%- set keyed = [] -%}
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
    {#- two rows that share a combination holding incremental_by were written together:
        both past the watermark or both at or below it -#}
    {%- set within = incremental_by is not none and incremental_by in ([columns] if columns is string else columns) -%}
    {%- if columns is string -%}
        {%- set rule = (columns, "unique",
            "count(" ~ columns ~ ") - count(distinct " ~ columns ~ ")") -%}
    {%- else -%}
        {%- set fields = [] -%}
        {%- for column in columns -%}
            {%- do fields.append("'" ~ column ~ "': " ~ column) -%}
        {%- endfor -%}
        {%- set rule = (columns | join(","), "unique",
            "count(*) - count(distinct {" ~ fields | join(", ") ~ "})") -%}
    {%- endif -%}
    {%- if within -%}
        {%- do counted.append(rule) -%}
    {%- elif incremental_by is not none and columns is string -%}
        {%- do keyed.append({"column": rule[0], "rule": rule[1], "n_rows": rule[2], "example": "null"}) -%}
    {%- else -%}
        {%- do spanning.append(rule) -%}
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
    {%- do spanning.append((line, "suppression_small", "count(*) filter (where " ~ small ~ ")")) -%}
    {%- do spanning.append((line, "suppression_shown",
        "count(*) filter (where is_suppressed and " ~ value ~ " is not null)")) -%}
    {%- do spanning.append((line, "suppression_alone", alone)) -%}
{%- endif -%}
{%- set since = column_values_watermark(model, incremental_by) -%}
{%- set rows_rules = [] -%}
{%- for column, rule, where in valued -%}
    {%- do rows_rules.append({
        "column": column,
        "rule": rule,
        "n_rows": "count(*) filter (where " ~ where ~ ")",
        "example": "any_value(" ~ column ~ "::varchar) filter (where " ~ where ~ ")",
    }) -%}
{%- endfor -%}
{%- for column, rule, n_rows in counted -%}
    {%- do rows_rules.append({"column": column, "rule": rule, "n_rows": n_rows, "example": "null"}) -%}
{%- endfor -%}
{%- set all_rules = [] -%}
{%- for column, rule, n_rows in spanning -%}
    {%- do all_rules.append({"column": column, "rule": rule, "n_rows": n_rows, "example": "null"}) -%}
{%- endfor -%}
{%- if since is none -%}
    {%- set scans = [(rows_rules + all_rules + keyed, model)] -%}
{%- else -%}
    {%- set new_rows = "(select * from " ~ model ~ " where " ~ incremental_by ~ " > " ~ since ~ ")" -%}
    {%- set scans = [(rows_rules, new_rows), (all_rules, model)] -%}
    {%- for r in keyed -%}
        {%- do scans.append(([r], "(select " ~ r.column ~ " from " ~ model ~ " where " ~ r.column
            ~ " in (select " ~ r.column ~ " from " ~ new_rows ~ "))")) -%}
    {%- endfor -%}
{%- endif -%}
select rule.column_name, rule.rule, rule.n_rows, rule.example
from (
    {%- set first = namespace(done=false) -%}
    {%- for rules, relation in scans if rules %}
    {{ "union all" if first.done }}
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
    from {{ relation }} as checked
    {%- set first.done = true -%}
    {%- endfor %}
)
where rule.n_rows > 0
{% endtest %}


{# The watermark of a column_values test on ``model`` by ``column``, as a SQL literal:
   from TRACEPIPE_TEST_WATERMARKS, which ``tracepipe transform`` sets to the watermarks of
   the tests' last passes under this code (a JSON object: "relation.column" ->
   [value, type]). None without one: every rule then looks at every row. Read only while
   building (an environment variable, so a new watermark parses nothing again). #}
{% macro column_values_watermark(model, column) -%}
    {%- if column is none or not execute -%}{{ return(none) }}{%- endif -%}
    {%- set marks = fromjson(env_var('TRACEPIPE_TEST_WATERMARKS', '{}')) -%}
    {%- set mark = marks.get(model.identifier ~ '.' ~ column) -%}
    {%- if mark is none -%}{{ return(none) }}{%- endif -%}
    {{- return("cast('" ~ (mark[0] | replace("'", "''")) ~ "' as " ~ mark[1] ~ ")") -}}
{%- endmacro %}
