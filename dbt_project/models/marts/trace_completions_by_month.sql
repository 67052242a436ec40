-- How pending traces moved: for each month, the traces of firearms recovered in Mexico
-- (repeat requests left out) that a later export completed, by the result they reached
-- and the purchaser determination that result gives now, with how long they had been
-- pending. A trace completes in the month of the export date of its first version that
-- is no longer pending (int_trace_versions: valid_from). Traces still pending count in
-- the row with completed_month null.
with

versions as (

    select * from {{ ref('int_trace_versions') }}

),

requests as (

    select trace_number, recovery_year, purchaser_status
    from {{ ref('int_trace_requests_flagged') }}
    where recovery_country = 'MX'
        and not is_duplicate_request

),

first_pending as (

    select trace_number, min(version) as version, min(valid_from) as pending_since
    from versions
    where is_pending
    group by 1

),

completed as (

    -- The first version after the first pending one that is no longer pending.
    select
        versions.trace_number,
        first_pending.pending_since,
        versions.valid_from as completed_on,
        versions.trace_result
    from versions
    inner join first_pending
        on versions.trace_number = first_pending.trace_number
        and versions.version > first_pending.version
    where not versions.is_pending
    qualify row_number() over (partition by versions.trace_number order by versions.version) = 1

),

moved as (

    select
        date_trunc('month', completed.completed_on)::date as completed_month,
        coalesce(completed.trace_result, 'PENDING') as trace_result,
        requests.purchaser_status,
        requests.recovery_year,
        completed.completed_on - first_pending.pending_since as days_pending
    from first_pending
    inner join requests on requests.trace_number = first_pending.trace_number
    left join completed on completed.trace_number = first_pending.trace_number

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
