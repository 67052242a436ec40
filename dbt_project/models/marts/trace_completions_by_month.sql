-- How pending traces moved: for each month, the traces of firearms recovered in Mexico
-- (repeat requests left out) that a later export completed, by the result they reached
-- and the purchaser determination that result gives now, with how long they had been
-- pending. A trace completes in the month of the export date of the version that
-- followed its last pending version (int_trace_versions: valid_from); traces whose
-- current version is pending count in the row with completed_month null.
with

versions as (

    select * from {{ ref('int_trace_versions') }}

),

requests as (

    select trace_number, recovery_year, purchaser_status
    from {{ ref('int_mexico_traces') }}

),

pending as (

    select trace_number, max(version) as last_pending_version, min(valid_from) as pending_since
    from versions
    where is_pending
    group by 1

),

completed as (

    -- The version after the last pending one.
    select
        versions.trace_number,
        versions.valid_from as completed_on,
        versions.trace_result
    from versions
    inner join pending
        on versions.trace_number = pending.trace_number
        and versions.version = pending.last_pending_version + 1

),

moved as (

    select
        date_trunc('month', completed.completed_on)::date as completed_month,
        coalesce(completed.trace_result, 'PENDING') as trace_result,
        requests.purchaser_status,
        requests.recovery_year,
        completed.completed_on - pending.pending_since as days_pending
    from pending
    inner join requests on requests.trace_number = pending.trace_number
    left join completed on completed.trace_number = pending.trace_number

)

select
    completed_month,
    trace_result,
    purchaser_status,
    count(*) as n_traces,
    count(distinct recovery_year) as n_recovery_years,
    min(recovery_year) as first_recovery_year,
    max(recovery_year) as last_recovery_year,
    round(avg(days_pending), 1) as avg_days_pending,
    max(days_pending) as max_days_pending
from moved
group by all
order by completed_month nulls last, trace_result, purchaser_status
