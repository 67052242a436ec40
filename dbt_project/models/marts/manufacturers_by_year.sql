-- The manufacturers of firearms recovered in Mexico and traced, by year of recovery, ranked
-- (rank 1 = the most frequent that year; "top manufacturers" = rank <= 10). A blank manufacturer
-- shows as null.
{{ ranked_by_year('manufacturer') }}
