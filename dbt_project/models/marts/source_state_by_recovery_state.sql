-- The matrix of source state (state of the first retail dealer) by Mexican state of
-- recovery: US-sourced firearms recovered in Mexico, by year of recovery. Only combinations
-- with firearms have a row. Unmatched Mexican states show as recovery_state null.
with

sourced as (

    select * from {{ ref('int_mexico_traces') }}
    where is_us_sourced

)

select
    recovery_year,
    {{ gao_period('recovery_year') }} as is_gao_period,
    dealer_status,
    {{ located_source_state() }} as source_state,
    recovery_state_code,
    recovery_state,
    count(*) as n_us_sourced
from sourced
group by all
order by recovery_year, dealer_status, source_state, recovery_state_code
