-- Figures of the published open data files (CNAF accueil du jeune enfant and allocataires, INSEE base
-- communale) for every commune, EPCI, département and France: indicator × area × year → value, with the
-- file it came from, its vintage and the date of its import. The diagnostic of a convention is
-- prefilled from here (observation keeps what a convention shows).
CREATE TABLE open_observation (
    indicator_code  TEXT NOT NULL,
    area_kind       TEXT NOT NULL CHECK (area_kind IN ('commune', 'epci', 'departement', 'france')),
    area_code       TEXT NOT NULL,
    year            BIGINT NOT NULL,
    value           DOUBLE PRECISION NOT NULL,
    note            TEXT,
    source          TEXT NOT NULL,
    source_file     TEXT NOT NULL,
    vintage         BIGINT NOT NULL,
    imported_on     DATE NOT NULL,
    PRIMARY KEY (indicator_code, area_kind, area_code, year)
);
CREATE INDEX open_observation_area ON open_observation (area_kind, area_code);
