-- The calibers of firearms recovered in Mexico and traced, by year of recovery, ranked
-- (rank 1 = the most frequent that year; "top calibers" = rank <= 10). A blank caliber
-- shows as null.
{{ ranked_by_year('caliber') }}
