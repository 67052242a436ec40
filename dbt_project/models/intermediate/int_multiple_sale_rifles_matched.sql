-- Demand Letter 3 rifles (int_multiple_sale_rifles: one per normalised manufacturer +
-- serial, from its earliest report) matched to the earliest trace (not a repeat request)
-- of the same manufacturer and serial. Where that trace's firearm was recovered says where
-- the rifle turned up: US, Mexico, or undetermined (recovery country ZZ).
with

rifles as (

    select * exclude (rules_version, through_seq)
    from {{ ref('int_multiple_sale_rifles') }}

),

traces as (

    select
        trace_number,
        manufacturer,
        serial_match_key,
        recovery_date,
        recovery_year,
        recovery_country,
        recovery_state,
        request_date
    from {{ ref('int_trace_requests_flagged') }}
    where not is_duplicate_request
        and manufacturer is not null
        and serial_match_key is not null

),

first_trace as (

    select
        rifles.manufacturer,
        rifles.serial_match_key,
        traces.trace_number,
        traces.recovery_date,
        traces.recovery_year,
        traces.recovery_country,
        traces.recovery_state,
        count(*) over (partition by rifles.manufacturer, rifles.serial_match_key) as n_traces
    from rifles
    inner join traces
        on rifles.manufacturer = traces.manufacturer
        and rifles.serial_match_key = traces.serial_match_key
    qualify row_number() over (
        partition by rifles.manufacturer, rifles.serial_match_key
        order by traces.recovery_date, traces.request_date, traces.trace_number
    ) = 1

)

select
    rifles.*,
    first_trace.trace_number is not null as is_recovered,
    first_trace.trace_number as first_trace_number,
    first_trace.recovery_date,
    first_trace.recovery_year,
    first_trace.recovery_country,
    first_trace.recovery_state,
    coalesce(first_trace.n_traces, 0) as n_traces,
    case
        when first_trace.trace_number is null then null
        when first_trace.recovery_country = 'US' then 'united_states'
        when first_trace.recovery_country = 'MX' then 'mexico'
        when first_trace.recovery_country = 'ZZ' then 'undetermined'
        else 'other_country'
    end as recovered_in
from rifles
left join first_trace
    on rifles.manufacturer = first_trace.manufacturer
    and rifles.serial_match_key = first_trace.serial_match_key
