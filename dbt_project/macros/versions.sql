{# Record versions (docs/METHOD.md, "Versions").

   The rows received for one record key, in version order (the file's export date, then
   its place in the change sequence, then the row), are its versions wherever the
   record's values changed: a row equal to the one before it (an identical re-send)
   starts no version, so the first row that brought a content keeps its lineage.
   ``relation`` has the key columns and export_date, load_seq, file_row_number and
   record_hash. Each version gets its number, valid_from (its export date), valid_to
   (the next version's) and is_current (the last one). #}
{% macro record_versions(relation, key) -%}
    {%- set by_key = key | join(', ') -%}
    select
        * exclude (previous_hash, record_hash),
        row_number() over version_order as version,
        export_date as valid_from,
        lead(export_date) over version_order as valid_to,
        lead(load_seq) over version_order is null as is_current
    from (
        select
            *,
            lag(record_hash) over (
                partition by {{ by_key }} order by export_date, load_seq, file_row_number
            ) as previous_hash
        from {{ relation }}
    ) as received
    where previous_hash is distinct from record_hash
    window version_order as (
        partition by {{ by_key }} order by export_date, load_seq, file_row_number
    )
{%- endmacro %}


{# The highest number of the change sequence (loads and retractions alike), at compile
   time: an incremental model records it as ``through_seq`` and next time reads only
   what came after. #}
{% macro current_change_seq() -%}
    {%- if execute -%}
        {%- set row = run_query(
            "select coalesce(greatest(max(load_seq), max(retract_seq)), 0) from "
            ~ source('meta', 'load_ledger')
        ).rows[0] -%}
        {{- return(row[0]) -}}
    {%- endif -%}
    {{- return(0) -}}
{%- endmacro %}


{# The version of the rules a model is built by: its own SQL, the project's macros (dbt's
   graph does not hold macro text, so `tracepipe transform` passes a checksum of the
   macro files as TRACEPIPE_MACROS_CHECKSUM), the public id of the purchaser key
   (TRACEPIPE_PURCHASER_KEY_ID: a new key makes every purchaser hash again, never a mix
   of two keys), and the checksum of every model and seed it reads, directly or through
   others (a staging view's new parsing is a new rule of every model built on it).
   Environment variables, not vars: a changed var makes dbt parse the whole project
   again, and these are read only while building (pipelines.transform.rules_inputs).
   When it differs from the version a row was written by, an incremental model
   reprocesses everything, without being told. #}
{% macro rules_version() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set parts = [
        model.raw_code,
        'macros:' ~ env_var('TRACEPIPE_MACROS_CHECKSUM', ''),
        'purchaser key:' ~ env_var('TRACEPIPE_PURCHASER_KEY_ID', ''),
    ] -%}
    {%- set nodes = graph.get('nodes', {}) -%}
    {%- set read = {} -%}
    {%- set frontier = namespace(ids=(model.depends_on or {}).get('nodes', []) | list) -%}
    {#- breadth first, one level a pass: the project is far less than 50 models deep -#}
    {%- for level in range(50) if frontier.ids -%}
        {%- set upstream = [] -%}
        {%- for node_id in frontier.ids if node_id not in read -%}
            {%- set node = nodes.get(node_id) -%}
            {%- if node is not none and node.resource_type in ('model', 'seed') -%}
                {%- do read.update({node_id: node.get('checksum', {}).get('checksum', '')}) -%}
                {%- do upstream.extend((node.get('depends_on') or {}).get('nodes', [])) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set frontier.ids = upstream -%}
    {%- endfor -%}
    {%- for node_id in read | sort -%}
        {%- do parts.append(node_id ~ ':' ~ read[node_id]) -%}
    {%- endfor -%}
    {{- return(local_md5(parts | join('\n'))) -}}
{%- endmacro %}


{# True when the incremental model must be rebuilt from everything: the table lacks a
   column the model now writes, or a row was written under other rules. #}
{% macro rules_changed(columns_needed) -%}
    {%- if not (is_incremental() and execute) -%}{{ return(false) }}{%- endif -%}
    {%- set stored = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- for column in ['rules_version'] + columns_needed -%}
        {%- if column not in stored -%}{{ return(true) }}{%- endif -%}
    {%- endfor -%}
    {%- set row = run_query(
        "select count(*) > 0 from " ~ this ~ " where rules_version is distinct from '"
        ~ rules_version() ~ "'"
    ).rows[0] -%}
    {{- return(row[0]) -}}
{%- endmacro %}


{# Pre-hook of an incremental model: when its rules changed (rules_changed), its rows
   go, and the run rebuilds it from everything (each such model reads everything then).
   Not by a delete: new rules are often new columns or fewer, and dbt's
   ``sync_all_columns`` alters the table after the pre-hooks; DuckDB refuses to commit a
   transaction that deleted rows of a table and then altered it (duckdb/duckdb#20570).
   The table is made again, empty, in the same transaction (as empty_when_changed does
   for the one-kind models), and the alter and the build's own deletes apply to it. #}
{% macro empty_when_rules_changed() -%}
    {%- if is_incremental() and rules_changed([]) -%}
        create or replace table {{ this }} as select * from {{ this }} limit 0
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{# The loads taken back (tracepipe retract): a subquery of their load ids. #}
{% macro retracted_loads() -%}
    select load_id from {{ source('meta', 'load_ledger') }} where status = 'retracted'
{%- endmacro %}


{# Post-hook of an incremental model whose rows carry their load: the rows of loads
   taken back since go. #}
{% macro delete_rows_of_retracted_loads() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where load_id in ({{ retracted_loads() }})
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{# The last change (a load or a retraction) of the exports of ``kinds``, at compile time. #}
{% macro kinds_change_seq(kinds) -%}
    {%- if not execute -%}{{ return(0) }}{%- endif -%}
    {%- set row = run_query(
        "select coalesce(greatest(max(load_seq), max(retract_seq)), 0) from "
        ~ source('meta', 'load_ledger') ~ " where kind in (" ~ sql_strings(kinds) ~ ")"
    ).rows[0] -%}
    {{- return(row[0]) -}}
{%- endmacro %}


{# Whether a model built whole from the exports of ``kinds`` alone (rebuilt_when_changed)
   must be built again: it is not built yet, or was built under other rules, or a load or
   a retraction of those kinds came after the change it was built through. #}
{% macro kinds_changed(kinds) -%}
    {%- if not (is_incremental() and execute) or rules_changed(['through_seq']) -%}
        {{- return(true) -}}
    {%- endif -%}
    {%- set built = run_query("select max(through_seq) from " ~ this).rows[0][0] -%}
    {{- return(built is none or built != kinds_change_seq(kinds)) -}}
{%- endmacro %}


{# Pre-hook of a model rebuilt when its exports change: when they did, the table is made
   again empty, with the model's columns as they are now, and the build appends every
   row. Not a delete: when the model has a new column, dbt's ``sync_all_columns`` would
   alter the table after it, and DuckDB refuses to commit a transaction that deleted a
   table's rows and then altered it. #}
{% macro empty_when_changed(kinds) -%}
    {%- if is_incremental() and kinds_changed(kinds) -%}
        create or replace table {{ this }} as
        select * from (
            {{ model.compiled_code }}
        ) as rebuilt
        limit 0
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{# Around the body of a model that depends on the exports of ``kinds`` alone (its SQL,
   macros, seeds and the models it reads aside, which rules_version covers), as
   ``{% call rebuilt_when_changed([...]) %} select ... {% endcall %}``: built whole when a
   load or retraction of those kinds came since its last build, or the rules changed,
   and otherwise left as it is (the build appends no row), instead of being built again
   from the same rows every run. It configures the model too: incremental, appended,
   emptied first by empty_when_changed. #}
{% macro rebuilt_when_changed(kinds) -%}
    {{- config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='sync_all_columns',
        pre_hook="{{ empty_when_changed(" ~ kinds | tojson ~ ") }}"
    ) -}}
    select
        built.*,
        '{{ rules_version() }}' as rules_version,
        {{ kinds_change_seq(kinds) }} as through_seq
    from (
        {{ caller() }}
    ) as built
    {%- if not kinds_changed(kinds) %}
    where false
    {%- endif %}
{%- endmacro %}


{# The trace keys that loads and retractions after change ``since_seq`` touched: the
   raw rows' ``_key``, the record key the ingest stores with each row
   (pipelines/ingest.py, key_column_sql), which for a trace request is its trimmed trace
   number (never missing: the contract requires it). A model finds the raw rows of these
   keys by that stored column (raw_rows_of_touched_keys), not by trimming every raw
   trace number again (10 M traces: 1.3-1.6 s -> 0.3-0.4 s for int_trace_versions). #}
{% macro trace_keys_touched_since(since_seq) -%}
    select _key from {{ source('raw', 'trace') }} where _load_seq > {{ since_seq }}
    union
    select _key from {{ source('retracted', 'trace') }} where _retract_seq > {{ since_seq }}
{%- endmacro %}


{# The condition on raw.trace for the rows of ``touched`` (trace_keys_touched_since). #}
{% macro raw_rows_of_touched_keys(touched) -%}
    _key in ({{ touched }})
{%- endmacro %}


{# Pre-hook of a model appended by trace key (int_trace_versions,
   int_trace_rows_superseded): the rows of the keys that loads and retractions touched
   since the change the model had read through last time (through_seq) go, and the run
   writes those keys again. #}
{% macro delete_trace_keys_touched() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where trace_number in (
            {{ trace_keys_touched_since('(select coalesce(max(through_seq), -1) from ' ~ this ~ ')') }}
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}


{# The listing months that loads and retractions after change ``since_seq`` touched. #}
{% macro listing_months_touched_since(since_seq) -%}
    select snapshot_month from {{ source('meta', 'load_ledger') }}
    where kind = 'licensees' and snapshot_month is not null
        and (load_seq > {{ since_seq }} or retract_seq > {{ since_seq }})
{%- endmacro %}


{# The rows of a staged relation that are the current versions in ``versions`` (a
   versions model with load_id, file_row_number and is_current): a semi join on them.
   Or, given ``superseded`` (the rows that are not current, by load_id and
   file_row_number, as int_trace_rows_superseded holds them), every row but those: an
   anti join, whose hash table holds the few superseded rows instead of every current one.
   Without the record hash: only the versions compare it, and it was the costliest column
   for the tables built on these rows to write (3.0 of 47.4 s of a copy of the 10 M-row
   flagged table). #}
{% macro current_rows(staged, versions=none, superseded=none) -%}
    {%- if (versions is none) == (superseded is none) -%}
        {{ exceptions.raise_compiler_error("current_rows takes versions or superseded, one of them") }}
    {%- endif -%}
    {%- if superseded is not none %}
    select staged.* exclude (record_hash)
    from {{ staged }} as staged
    anti join {{ superseded }} as superseded
        on staged.load_id = superseded.load_id
        and staged.file_row_number = superseded.file_row_number
    {%- else %}
    select staged.* exclude (record_hash)
    from {{ staged }} as staged
    semi join (
        select load_id, file_row_number from {{ versions }} where is_current
    ) as current_versions
        on staged.load_id = current_versions.load_id
        and staged.file_row_number = current_versions.file_row_number
    {%- endif %}
{%- endmacro %}


{# The change sequence an incremental model had read through at its last run, at compile
   time; -1 when it must read everything (not incremental yet, or its rules changed). #}
{% macro last_through_seq() -%}
    {%- if not (is_incremental() and execute) or rules_changed(['through_seq']) -%}
        {{- return(-1) -}}
    {%- endif -%}
    {{- return(run_query("select coalesce(max(through_seq), -1) from " ~ this).rows[0][0]) -}}
{%- endmacro %}


{# The versions of the records of a staged relation (one with load_id, file_name,
   file_row_number, export_date, load_seq, record_hash and loaded_at), by ``key``:
   record_versions over its lineage columns, with the change each version made. #}
{% macro staged_versions(staged, key) -%}
    with

    received as (

        select
            {{ key | join(', ') }},
            load_id,
            file_name,
            file_row_number,
            export_date,
            load_seq,
            record_hash,
            loaded_at
        from {{ staged }}

    ),

    versions as (

        {{ record_versions('received', key) }}

    )

    select
        *,
        case when version = 1 then 'new' else 'changed' end as change
    from versions
{%- endmacro %}


{# The lineage columns every staged row carries from raw: its load, file and row, and
   what version order needs (docs/METHOD.md, "Versions": the export date of the file,
   the load's place in the one change sequence, the hash the record is compared by) and,
   with ``change``, what the ingest counted it as. #}
{% macro lineage_columns(change=true) -%}
    _load_id as load_id,
    _file_name as file_name,
    _row_number as file_row_number,
    _export_date as export_date,
    _load_seq as load_seq,
    _record_hash as record_hash
    {%- if change %},
    _change as change_on_load
    {%- endif %}
{%- endmacro %}


{# Text values as SQL string literals for `in (...)`: `null` when there are none, which
   no row is `in`. #}
{% macro sql_strings(values) -%}
    {%- for value in values -%}
        '{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}
    {%- else -%}
        null
    {%- endfor -%}
{%- endmacro %}


{# The latest load of the licensee listing, as a scalar subquery: what a row located by
   the listing stores as listing_loaded_at, and what tells that the listing changed. #}
{% macro latest_listing_load() -%}
    (select max(loaded_at) from {{ ref('int_licensee_listings_keyed') }})
{%- endmacro %}


{# What changed since the last run of a model located by the licensee listing
   (int_trace_dealer_listings, int_trace_requests_flagged), at compile time:
   listing_changed (the listing has a load other than the latest its rows were located
   with, listing_loaded_at), since (when it last wrote a row, written_at), loads (the
   loads that hold current trace versions int_trace_versions wrote since then: constants,
   so that DuckDB pushes `load_id in (...)` down to the scan of raw.trace under the
   staging view; a subquery there would normalise every row before filtering) and
   first_load_seq (the smallest load_seq of those loads, none if one lacks it;
   in_changed_loads). Nothing changed when the model is not incremental or must be
   rebuilt (``reprocess_all``). #}
{% macro trace_changes_since_last_run(reprocess_all) -%}
    {%- set changes = {'listing_changed': false, 'since': none, 'loads': [], 'first_load_seq': none} -%}
    {%- if is_incremental() and execute and not reprocess_all -%}
        {%- set row = run_query(
            "select " ~ latest_listing_load() ~ " "
            ~ "is distinct from max(listing_loaded_at), max(written_at)::varchar from " ~ this
        ).rows[0] -%}
        {%- set since = row[1] or '-infinity' -%}
        {%- set found = run_query(
            "select load_id, min(load_seq) from " ~ ref('int_trace_versions')
            ~ " where is_current and written_at > timestamp '" ~ since ~ "' group by 1 order by 1"
        ) -%}
        {%- set seqs = found.columns[1].values() | list -%}
        {%- do changes.update({
            'listing_changed': row[0],
            'since': since,
            'loads': found.columns[0].values() | list,
            'first_load_seq': none if (not seqs or none in seqs) else seqs | min,
        }) -%}
    {%- endif -%}
    {{- return(changes) -}}
{%- endmacro %}


{# The staged rows of the loads trace_changes_since_last_run found: their load ids, and
   load_seq from the first of them on. The same rows (a load's rows all carry its
   load_seq); but raw.trace is appended in load order, so DuckDB's zone maps on
   load_seq skip the row groups of the loads before, which random load ids do not (a
   daily run of the flagged model at 10 M traces read 5.5 M raw rows three times for
   the day's 1,116: its select 2.6 s -> 1.5 s). #}
{% macro in_changed_loads(changes) -%}
    load_id in ({{ sql_strings(changes.loads) }})
    {%- if changes.first_load_seq is not none %} and load_seq >= {{ changes.first_load_seq }}{% endif %}
{%- endmacro %}


{# Pre-hook of int_trace_dealer_listings: the pairs located with another load of the
   listing than the latest go (all of them when the listing changed), and the run
   locates every pair again. #}
{% macro delete_rows_of_other_listing() -%}
    {%- set stored = adapter.get_columns_in_relation(this) | map(attribute='name') | list
        if is_incremental() else [] -%}
    {%- if 'listing_loaded_at' in stored -%}
        delete from {{ this }} where listing_loaded_at is distinct from {{ latest_listing_load() }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
