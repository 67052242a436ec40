-- Whether the first retail purchaser of US-sourced firearms recovered in Mexico was found,
-- by year of recovery (GAO-16-223: 45 percent determined, 53 undetermined), and why not:
-- incomplete request, altered serial, no dealer response, out-of-business records
-- missing, too old, other. Shares are of all US-sourced firearms.
with

sourced as (

    select * from {{ ref('int_mexico_traces') }}
    where is_us_sourced

),

by_year as (

    select
        recovery_year,
        count(*) as n_us_sourced,
        count(*) filter (where purchaser_status = 'determined') as n_determined,
        count(*) filter (where purchaser_status = 'undetermined') as n_undetermined,
        count(*) filter (where purchaser_status = 'pending') as n_pending,
        count(*) filter (where undetermined_reason = 'incomplete_request') as n_undetermined_incomplete_request,
        count(*) filter (where undetermined_reason = 'altered_serial') as n_undetermined_altered_serial,
        count(*) filter (where undetermined_reason = 'no_dealer_response') as n_undetermined_no_dealer_response,
        count(*) filter (where undetermined_reason = 'out_of_business_records_missing') as n_undetermined_out_of_business_records_missing,
        count(*) filter (where undetermined_reason = 'too_old') as n_undetermined_too_old,
        count(*) filter (where undetermined_reason = 'other') as n_undetermined_other
    from sourced
    group by recovery_year

)

select
    recovery_year,
    {{ gao_period('recovery_year') }} as is_gao_period,
    by_year.* exclude (recovery_year),
    round(100.0 * n_determined / n_us_sourced, 1) as pct_determined,
    round(100.0 * n_undetermined / n_us_sourced, 1) as pct_undetermined,
    round(100.0 * n_pending / n_us_sourced, 1) as pct_pending
from by_year
order by recovery_year
