-- Where the firearms recovered in Mexico and traced came from, by year of recovery
-- (GAO-16-223: 70 percent US-sourced, 17 third-country, 13 undetermined, 2009-2014):
-- the Mexico rows of origin_by_recovery_country, where the origin is counted.
select
    recovery_year,
    is_gao_period,
    n_traced,
    n_us_manufactured,
    n_us_imported,
    n_us_sourced,
    n_third_country,
    n_undetermined,
    pct_us_sourced,
    pct_third_country,
    pct_undetermined
from {{ ref('origin_by_recovery_country') }}
where recovery_country = 'MX'
order by recovery_year
