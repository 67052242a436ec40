-- For other agencies: firearms recovered in Mexico in the GAO period and traced to a
-- purchase, by the state of the first retail dealer and ATF's time-to-crime bucket,
-- aggregate only, counts under 5 suppressed with complementary suppression.
with

cells as (

    select
        {{ dealer_label() }} as row_key,
        bucket as col_key,
        sum(n) as n
    from {{ ref('time_to_crime_by_source_state') }}
    unpivot (n for bucket in (
        {%- for label, suffix in time_to_crime_buckets() %}
        n_{{ suffix }} as '{{ label }}'{% if not loop.last %},{% endif %}
        {%- endfor %}
    ))
    where is_gao_period
    group by all

)

select * from ({{ suppress_small_counts('cells', 'source_state', 'time_to_crime') }})
order by source_state, time_to_crime
