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

  One row for each rule broken: the column (or the combination's columns, joined by
  commas), the rule, how many rows break it (for unique: the rows that repeat one before
  them), and for accepted_values one value that breaks it (in the stored failures only:
  the pipeline's message names the rules and counts, never a value).
#}
{% test column_values(model, not_null=[], accepted_values={}, unique=[]) %}
{%- set rules = [] -%}
{%- for column in not_null -%}
    {%- do rules.append({
        "column": column,
        "rule": "not_null",
        "n_rows": "count(*) filter (where " ~ column ~ " is null)",
        "example": "null",
    }) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set literals = [] -%}
    {%- for value in values -%}
        {%- do literals.append(value if value is number else "'" ~ (value | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {%- set where = column ~ " not in (" ~ literals | join(", ") ~ ")" -%}
    {%- do rules.append({
        "column": column,
        "rule": "accepted_values",
        "n_rows": "count(*) filter (where " ~ where ~ ")",
        "example": "any_value(" ~ column ~ "::varchar) filter (where " ~ where ~ ")",
    }) -%}
{%- endfor -%}
{%- for columns in unique -%}
    {%- if columns is string -%}
        {%- do rules.append({
            "column": columns,
            "rule": "unique",
            "n_rows": "count(" ~ columns ~ ") - count(distinct " ~ columns ~ ")",
            "example": "null",
        }) -%}
    {%- else -%}
        {%- set fields = [] -%}
        {%- for column in columns -%}
            {%- do fields.append("'" ~ column ~ "': " ~ column) -%}
        {%- endfor -%}
        {%- do rules.append({
            "column": columns | join(","),
            "rule": "unique",
            "n_rows": "count(*) - count(distinct {" ~ fields | join(", ") ~ "})",
            "example": "null",
        }) -%}
    {%- endif -%}
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
