-- One row per licensee (stable key region + district + sequence) per monthly snapshot of
-- the licensee listing: where its premises were that month. A licensee holding several
-- licenses under one key (e.g. dealer 01 and manufacturer 07) counts once, its dealer or
-- pawnbroker license first.
--
-- Incremental: a run takes the snapshot months of the loads not yet in the table and
-- rebuilds those months whole (delete+insert by licensee and month), so a listing sent
-- again with corrections replaces its month instead of piling up.
{{
    config(
        materialized='incremental',
        unique_key=['licensee_key', 'snapshot_month'],
        incremental_strategy='delete+insert',
        on_schema_change='sync_all_columns'
    )
}}

with

licenses as (

    select * from {{ ref('stg_licensees__licenses') }}
    where licensee_key is not null
    {% if is_incremental() %}
        and snapshot_month in (
            select distinct snapshot_month
            from {{ ref('stg_licensees__licenses') }}
            where load_id not in (select distinct load_id from {{ this }})
        )
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
    loaded_at
from ranked
where n_in_month = 1
