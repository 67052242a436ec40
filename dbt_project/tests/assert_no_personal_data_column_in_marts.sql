-- No table in schema marts (published as-is to analysts) has a column that holds personal
-- data: purchaser or possessor names, birth dates, addresses, ID numbers, and licensee names,
-- streets and phones (licensees are often individuals). The purchaser may appear only as
-- purchaser_key, a keyed hash. Values are checked by tests/test_marts.py and the audit.
{%- set marts = [
    'origin_by_year', 'origin_by_recovery_country', 'source_states_by_year',
    'source_states_gao_period', 'source_state_by_recovery_state',
    'purchaser_determination_by_year', 'firearm_types_by_year', 'calibers_by_year',
    'manufacturers_by_year', 'seizures_by_year', 'licensees_by_state_month',
    'licensees_by_month', 'multiple_sale_recoveries_by_year', 'time_to_crime_by_source_state',
    'flagged_trace_requests', 'repeat_purchasers', 'gao_16_223_reproduction',
    'shared_origin_by_year', 'shared_firearm_types_by_year',
    'shared_purchaser_determination_by_year', 'shared_source_states_by_year',
    'shared_source_state_by_recovery_state', 'shared_time_to_crime_by_source_state',
    'shared_seizures_by_year', 'shared_multiple_sale_recoveries_by_year',
] %}
{%- for mart in marts %}
-- depends_on: {{ ref(mart) }}
{%- endfor %}

select table_name, column_name
from information_schema.columns
where table_schema = 'marts'
    and (
        lower(column_name) in (
            'purchaser_name', 'purchaser_dob', 'purchaser_address', 'purchaser_id_number',
            'possessor_name', 'license_name', 'business_name', 'premise_street',
            'mail_street', 'voice_phone'
        )
        or regexp_matches(lower(column_name), '(^|_)(dob|birth|address|street|phone|ssn)(_|$)')
        or (
            contains(lower(column_name), 'purchaser')
            and lower(column_name) not in ('purchaser_key', 'purchaser_status', 'purchaser_outcome')
            and not starts_with(lower(column_name), 'n_')
        )
    )
