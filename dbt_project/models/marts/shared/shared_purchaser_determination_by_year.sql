-- For other agencies: US-sourced firearms recovered in Mexico, by year of recovery and
-- purchaser outcome (determined, pending, or the reason it is undetermined), aggregate
-- only, counts under 5 suppressed with complementary suppression.
{{ shared_two_way(ref('purchaser_determination_by_year'), 'recovery_year', 'purchaser_outcome', [
    ('n_determined', 'determined'),
    ('n_pending', 'pending'),
    ('n_undetermined_incomplete_request', 'undetermined_incomplete_request'),
    ('n_undetermined_altered_serial', 'undetermined_altered_serial'),
    ('n_undetermined_no_dealer_response', 'undetermined_no_dealer_response'),
    ('n_undetermined_out_of_business_records_missing', 'undetermined_out_of_business_records_missing'),
    ('n_undetermined_too_old', 'undetermined_too_old'),
    ('n_undetermined_other', 'undetermined_other'),
]) }}
