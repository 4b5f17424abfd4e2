-- Figures of the published open data files (CNAF accueil du jeune enfant and allocataires, INSEE base
-- communale) for every commune, EPCI, département and France: area × indicator × year → value, each with
-- the file it came from (its name, vintage and the date of its import, held once per import in
-- open_data_file). The diagnostic of a convention is prefilled from here (observation keeps what a
-- convention shows). The primary key starts with the area: a national file is written in its order
-- (appended, millions of rows), and the figures of one area or of all EPCIs are read by its prefix.
CREATE TABLE open_data_file (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source       TEXT NOT NULL,
    source_file  TEXT NOT NULL,
    vintage      BIGINT NOT NULL,
    imported_on  DATE NOT NULL
);
CREATE TABLE open_observation (
    area_kind       TEXT NOT NULL CHECK (area_kind IN ('commune', 'epci', 'departement', 'france')),
    area_code       TEXT NOT NULL,
    indicator_code  TEXT NOT NULL,
    year            BIGINT NOT NULL,
    value           DOUBLE PRECISION NOT NULL,
    note            TEXT,
    file_id         BIGINT NOT NULL REFERENCES open_data_file (id),
    PRIMARY KEY (area_kind, area_code, indicator_code, year)
);
