-- An avenant may change an ambition of the strategy (art. 12), applied once it is in force:
-- `annex_number` then holds the ambition's number and `target_name` the number of its enjeu. SQLite
-- cannot change a CHECK constraint: the table is rebuilt, its rows kept.
CREATE TABLE avenant_change_new (
    id            INTEGER PRIMARY KEY,
    avenant_id    INTEGER NOT NULL REFERENCES avenant (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    target        TEXT NOT NULL CHECK (target IN ('texte', 'annexe', 'date_fin', 'partie', 'ambition', 'autre')),
    annex_number  INTEGER CHECK (annex_number IS NULL OR annex_number BETWEEN 1 AND 99),
    target_name   TEXT NOT NULL DEFAULT '',
    before_text   TEXT NOT NULL,
    after_text    TEXT NOT NULL,
    UNIQUE (avenant_id, position),
    CHECK ((target IN ('annexe', 'ambition')) = (annex_number IS NOT NULL))
);
INSERT INTO avenant_change_new (id, avenant_id, position, target, annex_number, target_name, before_text, after_text)
    SELECT id, avenant_id, position, target, annex_number, target_name, before_text, after_text FROM avenant_change;
DROP TABLE avenant_change;
ALTER TABLE avenant_change_new RENAME TO avenant_change;
