-- One row per trace request that passed its contract, typed and cleaned.
-- Personal data stops here: the purchaser leaves only as a keyed hash.
with

source as (

    select
        *,
        {{ parse_license_number('ffl_license_number') }} as license
    from {{ source('raw', 'trace') }}

),

renamed as (

    select
        -- ids
        trim(trace_number) as trace_number,
        {{ lineage_columns() }},

        -- dates
        {{ parse_date('request_date') }} as request_date,
        {{ parse_date('recovery_date') }} as recovery_date,
        {{ parse_date('purchase_date') }} as purchase_date,

        -- request
        {{ normalise_text('requesting_agency') }} as requesting_agency,

        -- recovery
        upper(trim(recovery_country)) as recovery_country,
        nullif(trim(recovery_state), '') as recovery_state_as_sent,
        {{ normalise_text('recovery_state') }} as recovery_state_key,
        {{ normalise_text('recovery_city') }} as recovery_city,

        -- firearm
        {{ normalise_text('firearm_type') }} as firearm_type_key,
        {{ normalise_text('manufacturer') }} as manufacturer,
        {{ normalise_text('model') }} as model,
        {{ normalise_text('caliber') }} as caliber,
        nullif(trim(serial_number), '') as serial_number,
        {{ normalise_text('serial_number') }} as serial_number_key,
        {{ normalise_serial('serial_number') }} as serial_match_key,
        coalesce(upper(trim(serial_obliterated)) = 'Y', false) as is_serial_marked_obliterated,
        nullif(upper(trim(country_of_manufacture)), '') as country_of_manufacture,
        {{ normalise_text('importer') }} as importer,

        -- result
        upper(trim(trace_status)) as trace_status,
        upper(trim(trace_result)) as trace_result,
        nullif(upper(trim(ffl_license_number)), '') as ffl_license_number,

        -- first retail dealer: the license number's parts
        {{ license_part('license', 'region') }} as dealer_region,
        {{ license_part('license', 'district') }} as dealer_district,
        {{ license_part('license', 'county') }} as dealer_county,
        {{ license_part('license', 'license_type') }} as dealer_license_type,
        {{ license_part('license', 'expiry_year_digit') }}
            || {{ license_part('license', 'expiry_month_letter') }} as dealer_expiry_code,
        {{ expiry_month_number(license_part('license', 'expiry_month_letter')) }} as dealer_expiry_month,
        {{ license_part('license', 'sequence') }} as dealer_sequence,
        {{ licensee_key(
            license_part('license', 'region'),
            license_part('license', 'district'),
            license_part('license', 'sequence')
        ) }} as dealer_key,

        -- purchaser: a keyed hash, never the name
        {{ purchaser_key('purchaser_name', 'purchaser_dob') }} as purchaser_key,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
