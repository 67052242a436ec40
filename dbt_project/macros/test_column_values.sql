{#
  The rules of a model's columns, checked in one scan of the model. dbt's own
  ``not_null`` and ``accepted_values`` scan it once per column, and each is a node of
  every build; a staging view is parsed again by every scan.

    not_null:        the columns that must have a value in every row;
    accepted_values: column -> the values it may hold. Nulls pass, as in dbt's test.
                     A string is compared as text, a number as a number.

  One row for each rule broken: the column, the rule, how many rows break it, and for
  accepted_values one value that breaks it (in the stored failures only: the pipeline's
  message names the rules and counts, never a value).
#}
{% test column_values(model, not_null=[], accepted_values={}) %}
{%- set rules = [] -%}
{%- for column in not_null -%}
    {%- do rules.append({
        "column": column, "rule": "not_null", "where": column ~ " is null", "example": "null",
    }) -%}
{%- endfor -%}
{%- for column, values in accepted_values.items() -%}
    {%- set literals = [] -%}
    {%- for value in values -%}
        {%- do literals.append(value if value is number else "'" ~ (value | replace("'", "''")) ~ "'") -%}
    {%- endfor -%}
    {%- do rules.append({
        "column": column,
        "rule": "accepted_values",
        "where": column ~ " not in (" ~ literals | join(", ") ~ ")",
        "example": column ~ "::varchar",
    }) -%}
{%- endfor -%}
select rule.column_name, rule.rule, rule.n_rows, rule.example
from (
    select unnest([
        {%- for r in rules %}
        {
            'column_name': '{{ r.column }}',
            'rule': '{{ r.rule }}',
            'n_rows': count(*) filter (where {{ r.where }}),
            'example': any_value({{ r.example }}) filter (where {{ r.where }})
        }{{ "," if not loop.last }}
        {%- endfor %}
    ]) as rule
    from {{ model }}
)
where rule.n_rows > 0
{% endtest %}
