-- Southbound seizures, one row per firearm (seizure_id), its current version
-- (int_seizure_versions), with the firearm type mapped to the trace vocabulary (long,
-- short, other).
--
-- Built again only when a load or retraction of seizures exports came since its last build
-- (or its rules changed): macros/versions.sql, rebuilt_when_changed.
{% call rebuilt_when_changed(['seizures']) %}
with

seizures as (

    select * from {{ ref('stg_seizures__seizures') }}

),

firearm_types as (

    select * from {{ ref('firearm_types') }}

),

current_version as (

    {{ current_rows('seizures', ref('int_seizure_versions')) }}

)

select
    current_version.*,
    year(seizure_date) as seizure_year,
    coalesce(firearm_types.firearm_type, 'UNKNOWN') as firearm_type,
    coalesce(firearm_types.gun_class, 'other') as gun_class
from current_version
left join firearm_types
    on current_version.firearm_type_key = firearm_types.raw_key
{% endcall %}
