{# Rows where the parts do not add up to the total, e.g.
   parts_sum_to_total: {total: n_traced, parts: [n_us_sourced, n_third_country, n_undetermined]} #}
{% test parts_sum_to_total(model, total, parts) %}
    select *
    from {{ model }}
    where {{ total }} <> {% for part in parts %}coalesce({{ part }}, 0){% if not loop.last %} + {% endif %}{% endfor %}
{% endtest %}
