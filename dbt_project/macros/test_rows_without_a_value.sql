{# Rows that should have a value in ``column`` (those matching ``condition``) but do not. #}
{% test rows_without_a_value(model, column, condition) %}
    select *
    from {{ model }}
    where ({{ condition }}) and {{ column }} is null
{% endtest %}
