-- For other agencies: firearms recovered in Mexico and traced, by year of recovery and
-- origin, aggregate only, counts under 5 suppressed with complementary suppression.
{{ shared_two_way(ref('origin_by_year'), 'recovery_year', 'origin', [
    ('n_us_manufactured', 'us_manufactured'),
    ('n_us_imported', 'us_imported'),
    ('n_third_country', 'third_country'),
    ('n_undetermined', 'undetermined'),
]) }}
