{# Schemas are named for their layer (staging, intermediate, marts, reference), without
   the target's prefix, so the published marts live in a schema called "marts". #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
