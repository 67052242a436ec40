-- One row per rifle reported under Demand Letter 3 (Form 3310.12), typed and cleaned.
-- Personal data stops here: the purchaser leaves only as a keyed hash, computed as for
-- trace requests so the same person has the same key in both.
with

source as (

    select
        *,
        {{ parse_license_number('ffl_license_number') }} as license
    from {{ source('raw', 'multiple_sales') }}

),

renamed as (

    select
        -- ids
        trim(report_id) as report_id,
        -- the rifle as the record key names it (report id + manufacturer + serial, as sent)
        trim(manufacturer) as manufacturer_as_sent,
        trim(serial_number) as serial_number_as_sent,
        _load_id as load_id,
        _file_name as file_name,
        _row_number as file_row_number,
        -- version order (docs/METHOD.md, "Versions"): the export date of the file, the
        -- load's place in the one change sequence, and the hash the record is compared by
        _export_date as export_date,
        _load_seq as load_seq,
        _record_hash as record_hash,
        _change as change_on_load,

        -- dates
        {{ parse_date('report_date') }} as report_date,
        {{ parse_date('disposition_date') }} as disposition_date,

        -- reporting dealer
        nullif(upper(trim(ffl_license_number)), '') as ffl_license_number,
        {{ licensee_key(
            license_part('license', 'region'),
            license_part('license', 'district'),
            license_part('license', 'sequence')
        ) }} as dealer_key,

        -- rifle
        {{ normalise_text('manufacturer') }} as manufacturer,
        {{ normalise_text('importer') }} as importer,
        {{ normalise_text('model') }} as model,
        {{ normalise_text('caliber') }} as caliber,
        {{ normalise_serial('serial_number') }} as serial_match_key,

        -- purchaser: a keyed hash, never the name
        {{ purchaser_key('purchaser_name', 'purchaser_dob') }} as purchaser_key,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
