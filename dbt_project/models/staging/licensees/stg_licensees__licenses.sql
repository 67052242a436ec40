-- One row per license per monthly snapshot of ATF's Listing of Federal Firearms Licensees.
-- Names and addresses of licensees (often individuals) stay in the raw layer: only the
-- license number, its parts, the premise state and the snapshot month go on.
with

source as (

    select * from {{ source('raw', 'licensees') }}

),

renamed as (

    select
        -- ids
        trim(lic_regn) || '-' || trim(lic_dist) || '-' || trim(lic_cnty) || '-'
            || trim(lic_type) || '-' || upper(trim(lic_xprdte)) || '-' || trim(lic_seqn) as license_number,
        {{ licensee_key('trim(lic_regn)', 'trim(lic_dist)', 'trim(lic_seqn)') }} as licensee_key,
        {{ lineage_columns() }},

        -- license
        trim(lic_regn) as region,
        trim(lic_dist) as district,
        trim(lic_cnty) as county,
        trim(lic_type) as license_type,
        upper(trim(lic_xprdte)) as expiry_code,
        {{ expiry_month_number('substr(trim(lic_xprdte), 2, 1)') }} as expiry_month,
        {{ expiry_month_date('substr(trim(lic_xprdte), 1, 1)', 'substr(trim(lic_xprdte), 2, 1)', '_snapshot_month') }} as expiry_month_date,
        trim(lic_seqn) as sequence,
        trim(lic_type) in ('01', '02') as is_dealer_or_pawnbroker,

        -- premises
        upper(trim(premise_state)) as premise_state,
        nullif(left(trim(premise_zip_code), 5), '') as premise_zip5,

        -- dates
        _snapshot_month as snapshot_month,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
