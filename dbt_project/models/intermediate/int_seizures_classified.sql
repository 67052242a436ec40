-- Southbound seizures, one row per firearm (seizure_id; a seizure sent twice keeps its
-- first load), with the firearm type mapped to the trace vocabulary (long, short, other).
with

seizures as (

    select * from {{ ref('stg_seizures__seizures') }}

),

firearm_types as (

    select * from {{ ref('firearm_types') }}

),

first_sent as (

    select *
    from seizures
    qualify row_number() over (
        partition by seizure_id order by loaded_at, file_name, file_row_number
    ) = 1

)

select
    first_sent.*,
    year(seizure_date) as seizure_year,
    coalesce(firearm_types.firearm_type, 'UNKNOWN') as firearm_type,
    coalesce(firearm_types.gun_class, 'other') as gun_class
from first_sent
left join firearm_types
    on first_sent.firearm_type_key = firearm_types.raw_key
