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
        {{ counts_where('purchaser_status', [
            ('determined', 'n_determined'), ('undetermined', 'n_undetermined'), ('pending', 'n_pending'),
        ]) }},
        {%- set reasons = [] %}
        {%- for reason in ['incomplete_request', 'altered_serial', 'no_dealer_response',
            'out_of_business_records_missing', 'too_old', 'other'] %}
            {%- do reasons.append((reason, 'n_undetermined_' ~ reason)) %}
        {%- endfor %}
        {{ counts_where('undetermined_reason', reasons) }}
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
