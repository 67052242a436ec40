-- One row per licensee (stable key region + district + sequence) per monthly snapshot of
-- the licensee listing: where its premises were that month. A licensee holding several
-- licenses under one key (e.g. dealer 01 and manufacturer 07) counts once, its dealer or
-- pawnbroker license first.
--
-- A listing is a snapshot of its month (export-formats.md): a listing of a month sent
-- again replaces that month whole (the latest live load of the month wins, docs/METHOD.md,
-- "Versions"), and a retracted listing gives its month back to the load before it.
--
-- Incremental: a run rebuilds the snapshot months of the loads and retractions later in
-- the change sequence than ``through_seq`` (delete+insert by month, after the pre-hook
-- removed those months, so a month whose only listing was retracted is gone).
{{
    config(
        materialized='incremental',
        unique_key=['licensee_key', 'snapshot_month'],
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns',
        pre_hook=[
            "{{ empty_when_rules_changed() }}",
            "{% if is_incremental() %}
            delete from {{ this }} where snapshot_month in (
                {{ listing_months_touched_since('(select coalesce(max(through_seq), -1) from ' ~ this ~ ')') }}
            )
            {% endif %}",
        ]
    )
}}

{%- set since_seq = last_through_seq() %}

with

current_loads as (

    -- The listing each month is taken from: its latest live load.
    select snapshot_month, arg_max(load_id, load_seq) as load_id
    from {{ source('meta', 'load_ledger') }}
    where kind = 'licensees' and status = 'loaded' and snapshot_month is not null
    group by 1

),

licenses as (

    select licenses.*
    from {{ ref('stg_licensees__licenses') }} as licenses
    semi join current_loads
        on licenses.load_id = current_loads.load_id
        and licenses.snapshot_month = current_loads.snapshot_month
    where licensee_key is not null
    {% if since_seq >= 0 %}
        and licenses.snapshot_month in ({{ listing_months_touched_since(since_seq) }})
    {% endif %}

),

ranked as (

    select
        *,
        row_number() over (
            partition by licensee_key, snapshot_month
            order by is_dealer_or_pawnbroker desc, license_type, license_number
        ) as n_in_month
    from licenses

)

select
    licensee_key,
    snapshot_month,
    license_number,
    license_type,
    expiry_code,
    expiry_month_date,
    is_dealer_or_pawnbroker,
    premise_state,
    load_id,
    loaded_at,
    {{ current_change_seq() }}::bigint as through_seq,
    '{{ rules_version() }}' as rules_version
from ranked
where n_in_month = 1
