-- An indicator of the plan that the coordination shows on the public page of the convention and in
-- its open data (art. 10: the parties communicate together). Unpublished by default.
ALTER TABLE plan_indicator ADD COLUMN published BOOLEAN NOT NULL DEFAULT FALSE;
