-- Every version of every southbound seizure (seizure_id), in version order, with
-- valid_from / valid_to and is_current (docs/METHOD.md, "Versions"). A seizure sent again
-- unchanged in a later file starts no version; a corrected one does.
{{ staged_versions(ref('stg_seizures__seizures'), ['seizure_id']) }}
