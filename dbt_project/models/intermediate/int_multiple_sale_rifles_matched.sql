-- Demand Letter 3 rifles (int_multiple_sale_rifles: one per normalised manufacturer +
-- serial, from its earliest report) with the earliest trace (not a repeat request) of the
-- same manufacturer and serial, when there is one (int_multiple_sale_rifle_recoveries).
-- Where that trace's firearm was recovered says where the rifle turned up: US, Mexico, or
-- undetermined (recovery country ZZ).
--
-- A view: the rifles change only with multiple-sale exports and the recoveries are few,
-- so a daily run writes the recoveries alone, not the 1.6 M rifles again (3.6 s of a
-- daily build at 10 M traces when this was a table); its readers are two marts'
-- aggregates and the audit.
{{ config(materialized='view') }}

with

rifles as (

    select * exclude (rules_version, through_seq)
    from {{ ref('int_multiple_sale_rifles') }}

),

recoveries as (

    select * from {{ ref('int_multiple_sale_rifle_recoveries') }}

)

select
    rifles.*,
    recoveries.first_trace_number is not null as is_recovered,
    recoveries.first_trace_number,
    recoveries.recovery_date,
    recoveries.recovery_year,
    recoveries.recovery_country,
    recoveries.recovery_state,
    coalesce(recoveries.n_traces, 0) as n_traces,
    recoveries.recovered_in
from rifles
left join recoveries
    on rifles.manufacturer = recoveries.manufacturer
    and rifles.serial_match_key = recoveries.serial_match_key
