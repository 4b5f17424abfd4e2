-- A signature known only by its month (annex 2 of the reference CTG: « Signature … Janvier 2026 »):
-- `signature_date` then holds the first day of the month, and the rules count it done by the month's
-- last day; no day is invented.
ALTER TABLE party ADD COLUMN signature_month_only INTEGER NOT NULL DEFAULT 0;
