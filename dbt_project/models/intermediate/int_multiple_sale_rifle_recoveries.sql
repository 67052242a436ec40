-- The Demand Letter 3 rifles that were traced (int_multiple_sale_rifles: one per
-- normalised manufacturer + serial), one row each: the earliest trace (not a repeat
-- request) of the same manufacturer and serial, how many such traces there are, and where
-- that trace's firearm was recovered (US, Mexico, undetermined: recovery country ZZ).
-- Only the rifles found in a trace, a small share of the 1.6 M at 10 M traces: built every
-- run, as the traces change daily, without writing the rifles again
-- (int_multiple_sale_rifles_matched puts them together, as a view).
with

rifles as (

    select manufacturer, serial_match_key
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
    manufacturer,
    serial_match_key,
    trace_number as first_trace_number,
    recovery_date,
    recovery_year,
    recovery_country,
    recovery_state,
    n_traces,
    case
        when recovery_country = 'US' then 'united_states'
        when recovery_country = 'MX' then 'mexico'
        when recovery_country = 'ZZ' then 'undetermined'
        else 'other_country'
    end as recovered_in
from first_trace
