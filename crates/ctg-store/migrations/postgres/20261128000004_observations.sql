-- Observations of the diagnostic: indicator × area × period → value. The indicators themselves are
-- the platform's catalogue (ctg_domain::diagnostic::INDICATORS).
CREATE TABLE observation (
    indicator_code  TEXT NOT NULL,
    area_kind       TEXT NOT NULL CHECK (area_kind IN ('commune', 'epci', 'departement', 'france')),
    area_code       TEXT NOT NULL,
    period          TEXT NOT NULL,
    value           DOUBLE PRECISION NOT NULL,
    source          TEXT NOT NULL,
    data_date       DATE,
    PRIMARY KEY (indicator_code, area_kind, area_code, period)
);
CREATE INDEX observation_area ON observation (area_kind, area_code);
