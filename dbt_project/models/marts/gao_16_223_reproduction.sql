-- GAO-16-223 reproduced: one row per headline figure of the report (seed
-- gao_16_223_figures), the value computed from this release's marts, and whether the two
-- agree. Counts must be equal; percentages are compared after rounding the computed share
-- to a whole percent, as GAO reports them. A figure the marts cannot compute shows
-- computed_value null and is_match false. Small samples never match GAO: this table says
-- how far off they are, it does not fail the build.
with

reference as (

    select * from {{ ref('gao_16_223_figures') }}

),

periods as (

    -- "2009-2014" is a range of years; "FY2014" is federal fiscal year 2014, whose last
    -- licensee listing is September 2014.
    select distinct
        period,
        coalesce(
            try_cast(regexp_extract(period, '^(\d{4})-\d{4}$', 1) as integer),
            try_cast(regexp_extract(period, '^FY(\d{4})$', 1) as integer)
        ) as first_year,
        coalesce(
            try_cast(regexp_extract(period, '^\d{4}-(\d{4})$', 1) as integer),
            try_cast(regexp_extract(period, '^FY(\d{4})$', 1) as integer)
        ) as last_year
    from reference

),

origin as (

    {{ sums_by_period(ref('origin_by_year'), 'recovery_year',
        ['n_traced', 'n_us_sourced', 'n_third_country', 'n_undetermined']) }}

),

firearm_types as (

    {{ sums_by_period(ref('firearm_types_by_year'), 'recovery_year', ['n_long', 'n_short']) }}

),

source_states as (

    select
        periods.period,
        s.source_state,
        sum(s.n_us_sourced) as n_us_sourced,
        sum(sum(s.n_us_sourced)) over (partition by periods.period) as n_located
    from periods
    inner join {{ ref('source_states_by_year') }} as s
        on s.recovery_year between periods.first_year and periods.last_year
    where s.dealer_status = 'located'
    group by periods.period, s.source_state

),

purchaser as (

    {{ sums_by_period(ref('purchaser_determination_by_year'), 'recovery_year',
        ['n_us_sourced', 'n_determined', 'n_undetermined']) }}

),

seizures as (

    {{ sums_by_period(ref('seizures_by_year'), 'seizure_year', ['n_seized', 'n_long', 'n_short']) }}

),

licensees as (

    -- the listing at the end of the fiscal year: September of its last year
    select
        periods.period,
        l.n_dealers_and_pawnbrokers,
        l.n_southwest_border
    from periods
    inner join {{ ref('licensees_by_month') }} as l
        on l.snapshot_month = make_date(periods.last_year, 9, 1)
    where periods.period like 'FY%'

),

multiple_sales as (

    {{ sums_by_period(ref('multiple_sale_recoveries_by_year'), 'report_year', [
        'n_recovered', 'n_recovered_in_us', 'n_recovered_in_mexico', 'n_recovery_undetermined',
    ]) }}

),

computed as (

    select period, 'origin' as figure, 'firearms_seized_in_mexico_submitted_for_tracing' as measure, n_traced::double as computed_value from origin
    union all select period, 'origin', 'us_sourced', n_us_sourced from origin
    union all select period, 'origin', 'third_country', n_third_country from origin
    union all select period, 'origin', 'undetermined', n_undetermined from origin
    union all select period, 'firearm_type', 'long_guns_traced', n_long from firearm_types
    union all select period, 'firearm_type', 'short_guns_traced', n_short from firearm_types
    union all
    select period, 'source_state', 'share_of_us_sourced_' || source_state, 100.0 * n_us_sourced / nullif(n_located, 0)
    from source_states
    union all select period, 'purchaser', 'purchaser_determined_share_of_us_sourced', 100.0 * n_determined / nullif(n_us_sourced, 0) from purchaser
    union all select period, 'purchaser', 'purchaser_undetermined_share_of_us_sourced', 100.0 * n_undetermined / nullif(n_us_sourced, 0) from purchaser
    union all select period, 'ice_seizures', 'firearms_seized_destined_for_mexico', n_seized from seizures
    union all select period, 'ice_seizures', 'long_guns', n_long from seizures
    union all select period, 'ice_seizures', 'short_guns', n_short from seizures
    union all select period, 'licensees', 'dealers_and_pawnbrokers_southwest_border_states', n_southwest_border from licensees
    union all select period, 'licensees', 'dealers_and_pawnbrokers_nationwide', n_dealers_and_pawnbrokers from licensees
    union all select period, 'multiple_sales', 'dl3_long_guns_recovered', n_recovered from multiple_sales
    union all select period, 'multiple_sales', 'dl3_recovered_in_us', n_recovered_in_us from multiple_sales
    union all select period, 'multiple_sales', 'dl3_recovered_in_mexico', n_recovered_in_mexico from multiple_sales
    union all select period, 'multiple_sales', 'dl3_recovery_undetermined', n_recovery_undetermined from multiple_sales

),

compared as (

    select
        reference.figure,
        reference.measure,
        reference.period,
        reference.unit,
        reference.value as reference_value,
        round(computed.computed_value, 4) as computed_value,
        case
            when reference.unit = 'percent' then round(computed.computed_value)::bigint
            else computed.computed_value::bigint
        end as computed_value_compared,
        reference.note
    from reference
    left join computed
        on reference.figure = computed.figure
        and reference.measure = computed.measure
        and reference.period = computed.period

)

select
    figure,
    measure,
    period,
    unit,
    reference_value,
    computed_value,
    computed_value_compared,
    coalesce(computed_value_compared = reference_value, false) as is_match,
    computed_value_compared - reference_value as difference,
    note
from compared
