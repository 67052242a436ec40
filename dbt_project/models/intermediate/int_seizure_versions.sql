-- Every version of every southbound seizure (seizure_id), in version order, with
-- valid_from / valid_to and is_current (docs/METHOD.md, "Versions"). A seizure sent again
-- unchanged in a later file starts no version; a corrected one does.
--
-- Built again only when a load or retraction of seizures exports came since its last build
-- (or its rules changed): macros/versions.sql, rebuilt_when_changed.
{% call rebuilt_when_changed(['seizures']) %}
{{ staged_versions(ref('stg_seizures__seizures'), ['seizure_id']) }}
{% endcall %}
