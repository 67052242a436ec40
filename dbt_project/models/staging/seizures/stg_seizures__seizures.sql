-- One row per firearm seized in the United States on its way south, typed and cleaned.
with

source as (

    select * from {{ source('raw', 'seizures') }}

),

renamed as (

    select
        -- ids
        trim(seizure_id) as seizure_id,
        nullif(trim(case_number), '') as case_number,
        {{ lineage_columns() }},

        -- dates
        {{ parse_date('seizure_date') }} as seizure_date,

        -- seizure
        {{ normalise_text('seizing_agency') }} as seizing_agency,
        {{ normalise_text('location') }} as location,
        nullif(upper(trim(us_state)), '') as us_state,
        nullif(upper(trim(destination_country)), '') as destination_country,

        -- firearm
        {{ normalise_text('firearm_type') }} as firearm_type_key,
        {{ normalise_text('manufacturer') }} as manufacturer,
        {{ normalise_text('model') }} as model,
        {{ normalise_text('caliber') }} as caliber,
        {{ normalise_serial('serial_number') }} as serial_match_key,

        -- lineage
        _loaded_at as loaded_at

    from source

)

select * from renamed
