-- The offer of services: a catalogue of facility types (the platform's own, kept in step at each
-- start, and those a CAF adds), facilities with the communes they serve, funding lines in cents,
-- commune outlines for maps, and dated parameters (the masking threshold…).
CREATE TABLE facility_type (
    code     TEXT PRIMARY KEY,
    label    TEXT NOT NULL,
    theme    TEXT NOT NULL,
    places   TEXT NOT NULL CHECK (places IN ('eaje', 'assistants_maternels', 'autre')),
    aliases  TEXT NOT NULL DEFAULT '[]',
    builtin  BOOLEAN NOT NULL DEFAULT FALSE
) WITHOUT ROWID;

CREATE TABLE facility (
    id            INTEGER PRIMARY KEY,
    type_code     TEXT NOT NULL REFERENCES facility_type (code),
    name          TEXT NOT NULL CHECK (name <> ''),
    manager       TEXT NOT NULL DEFAULT '',
    commune_code  TEXT NOT NULL REFERENCES commune (code),
    capacity      INTEGER CHECK (capacity >= 0),
    labels        TEXT NOT NULL DEFAULT '[]',
    status        TEXT NOT NULL CHECK (status IN ('ouvert', 'en_projet', 'ferme')),
    opened_on     TEXT CHECK (opened_on IS NULL OR date(opened_on) = opened_on),
    closed_on     TEXT CHECK (closed_on IS NULL OR date(closed_on) = closed_on),
    external_id   TEXT UNIQUE,
    latitude      REAL CHECK (latitude BETWEEN -90 AND 90),
    longitude     REAL CHECK (longitude BETWEEN -180 AND 180),
    version       INTEGER NOT NULL DEFAULT 1,
    CHECK (closed_on IS NULL OR opened_on IS NULL OR closed_on >= opened_on)
);
CREATE INDEX facility_commune ON facility (commune_code);

CREATE TABLE facility_served (
    facility_id   INTEGER NOT NULL REFERENCES facility (id) ON DELETE CASCADE,
    commune_code  TEXT NOT NULL REFERENCES commune (code),
    PRIMARY KEY (facility_id, commune_code)
) WITHOUT ROWID;
CREATE INDEX facility_served_commune ON facility_served (commune_code);

CREATE TABLE funding (
    id             INTEGER PRIMARY KEY,
    convention_id  INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    facility_id    INTEGER REFERENCES facility (id),
    dispositif     TEXT NOT NULL,
    funder         TEXT NOT NULL CHECK (funder <> ''),
    year           INTEGER NOT NULL CHECK (year BETWEEN 1990 AND 2100),
    amount_cents   INTEGER NOT NULL CHECK (amount_cents >= 0),
    note           TEXT NOT NULL DEFAULT '',
    version        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX funding_convention ON funding (convention_id);

CREATE TABLE commune_contour (
    commune_code  TEXT PRIMARY KEY REFERENCES commune (code),
    polygons      TEXT NOT NULL,
    source        TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE dated_parameter (
    code        TEXT NOT NULL,
    valid_from  TEXT NOT NULL CHECK (date(valid_from) = valid_from),
    value       INTEGER NOT NULL,
    PRIMARY KEY (code, valid_from)
) WITHOUT ROWID;
