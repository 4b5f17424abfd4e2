-- A fiche carried over from the previous convention (« Préparer la convention suivante ») keeps the
-- link to the fiche it continues, and through it that fiche's history.
ALTER TABLE fiche ADD COLUMN origin_fiche_id BIGINT REFERENCES fiche (id) ON DELETE SET NULL;
