-- Observations of the diagnostic: indicator × area × period → value. The indicators themselves are
-- the platform's catalogue (ctg_domain::diagnostic::INDICATORS).
CREATE TABLE observation (
    indicator_code  TEXT NOT NULL,
    area_kind       TEXT NOT NULL CHECK (area_kind IN ('commune', 'epci', 'departement', 'france')),
    area_code       TEXT NOT NULL,
    period          TEXT NOT NULL,
    value           REAL NOT NULL,
    source          TEXT NOT NULL,
    data_date       TEXT CHECK (data_date IS NULL OR date(data_date) = data_date),
    PRIMARY KEY (indicator_code, area_kind, area_code, period)
) WITHOUT ROWID;
CREATE INDEX observation_area ON observation (area_kind, area_code);
