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
        {{ lineage_columns() }},

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
