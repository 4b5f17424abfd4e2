-- Figures of the published open data files (CNAF accueil du jeune enfant and allocataires, INSEE base
-- communale) for every commune, EPCI, département and France: area × indicator × year → value, each with
-- the file it came from (its name, vintage and the date of its import, held once per import in
-- open_data_file). The diagnostic of a convention is prefilled from here (observation keeps what a
-- convention shows). The primary key starts with the area: a national file is written in its order
-- (appended, millions of rows), and the figures of one area or of all EPCIs are read by its prefix.
CREATE TABLE open_data_file (
    id           INTEGER PRIMARY KEY,
    source       TEXT NOT NULL,
    source_file  TEXT NOT NULL,
    vintage      INTEGER NOT NULL,
    imported_on  TEXT NOT NULL CHECK (date(imported_on) = imported_on)
);
CREATE TABLE open_observation (
    area_kind       TEXT NOT NULL CHECK (area_kind IN ('commune', 'epci', 'departement', 'france')),
    area_code       TEXT NOT NULL,
    indicator_code  TEXT NOT NULL,
    year            INTEGER NOT NULL,
    value           REAL NOT NULL,
    note            TEXT,
    file_id         INTEGER NOT NULL REFERENCES open_data_file (id),
    PRIMARY KEY (area_kind, area_code, indicator_code, year)
) WITHOUT ROWID;
