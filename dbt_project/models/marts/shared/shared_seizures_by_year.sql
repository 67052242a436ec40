-- For other agencies: firearms seized on their way to Mexico, by year of seizure and
-- firearm type, aggregate only, counts under 5 suppressed with complementary suppression.
{{ shared_two_way(ref('seizures_by_year'), 'seizure_year', 'gun_class', [
    ('n_long', 'long'), ('n_short', 'short'), ('n_other', 'other'),
]) }}
