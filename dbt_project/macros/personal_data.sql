{# Post-hook of every mart (dbt_project.yml, models: marts): the mart just built may have
   no column that holds personal data by its name. The rule is the one pipelines/privacy.py
   applies (is_personal_data_column), read from the same two seed files: a column of
   personal_data_columns, or a name that a 'personal' pattern of personal_data_name_rules
   finds and no 'allowed' pattern does. The files are read as they are on disk, so the
   check does not wait for `dbt seed`. Every mart is checked as it is built: there is no
   list of marts to keep. Column names are not personal data; values are never shown. #}
{% macro refuse_personal_data_columns() -%}
    {%- if not execute -%}{{ return('select 1') }}{%- endif -%}
    {%- set found = run_query(personal_data_columns_of(this.schema, this.identifier)) -%}
    {%- if found.rows | length > 0 -%}
        {{ exceptions.raise_compiler_error(
            "personal data: the mart " ~ this.identifier ~ " has the column(s) "
            ~ (found.columns[0].values() | join(', '))
            ~ ", which dbt_project/seeds/personal_data_columns.csv or personal_data_name_rules.csv"
            ~ " name as personal data; a mart may hold a purchaser only as purchaser_key"
        ) }}
    {%- endif -%}
    select 1
{%- endmacro %}


{# The query: the columns of one table that are personal data by their name. #}
{% macro personal_data_columns_of(schema, table) -%}
    {%- set columns_csv = seed_file('personal_data_columns') -%}
    {%- set rules_csv = seed_file('personal_data_name_rules') -%}
    with

    named as (

        select column_name, lower(column_name) as name
        from information_schema.columns
        where table_schema = '{{ schema }}' and table_name = '{{ table }}'

    ),

    rules as (

        select rule, pattern from read_csv('{{ rules_csv }}', header = true, all_varchar = true)

    )

    select column_name
    from named
    where name in (
            select column_name from read_csv('{{ columns_csv }}', header = true, all_varchar = true)
        )
        or (
            exists (select 1 from rules where rule = 'personal' and regexp_matches(name, pattern))
            and not exists (select 1 from rules where rule = 'allowed' and regexp_matches(name, pattern))
        )
    order by column_name
{%- endmacro %}

