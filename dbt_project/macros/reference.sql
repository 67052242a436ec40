{# Reference data lives in the seeds of dbt_project/seeds (schema reference), which the
   ingest (pipelines/reference.py) and the suites read too. Models join them with ref();
   a check that must not wait for `dbt seed` (the marts' post-hook
   refuse_personal_data_columns) reads a seed's file, found through dbt's graph. #}
{% macro seed_node(seed) -%}
    {%- set node = graph.nodes.get('seed.' ~ project_name ~ '.' ~ seed) -%}
    {%- if node is none -%}
        {{ exceptions.raise_compiler_error("there is no seed named " ~ seed) }}
    {%- endif -%}
    {{- return(node) -}}
{%- endmacro %}

{% macro seed_file(seed) -%}
    {%- set node = seed_node(seed) -%}
    {{- return(node.root_path ~ '/' ~ node.original_file_path) -}}
{%- endmacro %}
