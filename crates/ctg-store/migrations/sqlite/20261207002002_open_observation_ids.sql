-- Issue 15, point 5: the indicator and the note of each figure held once, by number, instead of their
-- text on every row (« taux_couverture_accueil_individuel », « effectif arrondi à 5 par la CNAF »…):
-- a national file is millions of rows, and the text made up half of what was written. The primary key
-- keeps its order (area, indicator, year).
CREATE TABLE open_indicator (
    id    INTEGER PRIMARY KEY,
    code  TEXT NOT NULL UNIQUE
);
CREATE TABLE open_note (
    id    INTEGER PRIMARY KEY,
    text  TEXT NOT NULL UNIQUE
);
INSERT INTO open_indicator (code) SELECT DISTINCT indicator_code FROM open_observation ORDER BY indicator_code;
INSERT INTO open_note (text) SELECT DISTINCT note FROM open_observation WHERE note IS NOT NULL ORDER BY note;
CREATE TABLE open_figure (
    area_kind     TEXT NOT NULL CHECK (area_kind IN ('commune', 'epci', 'departement', 'france')),
    area_code     TEXT NOT NULL,
    indicator_id  INTEGER NOT NULL REFERENCES open_indicator (id),
    year          INTEGER NOT NULL,
    value         REAL NOT NULL,
    note_id       INTEGER REFERENCES open_note (id),
    file_id       INTEGER NOT NULL REFERENCES open_data_file (id),
    PRIMARY KEY (area_kind, area_code, indicator_id, year)
) WITHOUT ROWID;
INSERT INTO open_figure (area_kind, area_code, indicator_id, year, value, note_id, file_id)
SELECT o.area_kind, o.area_code, i.id, o.year, o.value, n.id, o.file_id
FROM open_observation o
JOIN open_indicator i ON i.code = o.indicator_code
LEFT JOIN open_note n ON n.text = o.note
ORDER BY o.area_kind, o.area_code, i.id, o.year;
DROP TABLE open_observation;
ALTER TABLE open_figure RENAME TO open_observation;
