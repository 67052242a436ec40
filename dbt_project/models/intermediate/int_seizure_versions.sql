-- Every version of every southbound seizure (seizure_id), in version order, with
-- valid_from / valid_to and is_current (docs/METHOD.md, "Versions"). A seizure sent again
-- unchanged in a later file starts no version; a corrected one does.
with

received as (

    select
        seizure_id,
        load_id,
        file_name,
        file_row_number,
        export_date,
        load_seq,
        record_hash,
        loaded_at
    from {{ ref('stg_seizures__seizures') }}

),

versions as (

    {{ record_versions('received', ['seizure_id']) }}

)

select
    *,
    case when version = 1 then 'new' else 'changed' end as change
from versions
