-- Where the firearms recovered in Mexico and traced came from, by year of recovery
-- (GAO-16-223: 70 percent US-sourced, 17 third-country, 13 undetermined, 2009-2014):
-- the Mexico rows of origin_by_recovery_country, where the origin is counted.
select * exclude (recovery_country, recovery_country_name)
from {{ ref('origin_by_recovery_country') }}
where recovery_country = 'MX'
order by recovery_year
