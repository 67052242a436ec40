-- For other agencies: firearms recovered in Mexico and traced, by year of recovery and
-- firearm type (long, short, other), aggregate only, counts under 5 suppressed with
-- complementary suppression.
{{ shared_two_way(ref('firearm_types_by_year'), 'recovery_year', 'gun_class', [
    ('n_long', 'long'), ('n_short', 'short'), ('n_other', 'other'),
]) }}
