-- An avenant may change an ambition of the strategy (art. 12), applied once it is in force:
-- `annex_number` then holds the ambition's number and `target_name` the number of its enjeu.
ALTER TABLE avenant_change DROP CONSTRAINT avenant_change_target_check;
ALTER TABLE avenant_change ADD CONSTRAINT avenant_change_target_check
    CHECK (target IN ('texte', 'annexe', 'date_fin', 'partie', 'ambition', 'autre'));
ALTER TABLE avenant_change DROP CONSTRAINT avenant_change_check;
ALTER TABLE avenant_change ADD CONSTRAINT avenant_change_check
    CHECK ((target IN ('annexe', 'ambition')) = (annex_number IS NOT NULL));
