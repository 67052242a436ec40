-- The matrix of source state (state of the first retail dealer) by Mexican state of
-- recovery: US-sourced firearms recovered in Mexico, by year of recovery. Only combinations
-- with firearms have a row. Unmatched Mexican states show as recovery_state null.
with

sourced as (

    select * from {{ ref('int_trace_requests_flagged') }}
    where not is_duplicate_request
        and recovery_country = 'MX'
        and is_us_sourced

)

select
    recovery_year,
    recovery_year between {{ var('gao_first_year') }} and {{ var('gao_last_year') }} as is_gao_period,
    dealer_status,
    case when dealer_status = 'located' then source_state end as source_state,
    recovery_state_code,
    recovery_state,
    count(*) as n_us_sourced
from sourced
group by all
order by recovery_year, dealer_status, source_state, recovery_state_code
