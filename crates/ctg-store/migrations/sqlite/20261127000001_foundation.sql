-- Territory: communes, EPCIs, membership, legal populations by vintage.
CREATE TABLE commune (
    code        TEXT PRIMARY KEY CHECK (length(code) = 5),
    name        TEXT NOT NULL,
    department  TEXT NOT NULL,
    region      TEXT,
    siren       TEXT
) WITHOUT ROWID;

CREATE TABLE epci (
    siren   TEXT PRIMARY KEY CHECK (length(siren) = 9),
    name    TEXT NOT NULL,
    kind    TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE epci_member (
    epci_siren    TEXT NOT NULL REFERENCES epci (siren) ON DELETE CASCADE,
    commune_code  TEXT NOT NULL REFERENCES commune (code),
    PRIMARY KEY (epci_siren, commune_code)
) WITHOUT ROWID;
CREATE INDEX epci_member_commune ON epci_member (commune_code);

CREATE TABLE population (
    commune_code   TEXT NOT NULL REFERENCES commune (code),
    vintage        INTEGER NOT NULL CHECK (vintage BETWEEN 1800 AND 2200),
    municipal      INTEGER CHECK (municipal >= 0),
    counted_apart  INTEGER CHECK (counted_apart >= 0),
    total          INTEGER CHECK (total >= 0),
    source         TEXT NOT NULL,
    PRIMARY KEY (commune_code, vintage)
) WITHOUT ROWID;

-- Organisations and conventions.
CREATE TABLE organisation (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    short_name  TEXT,
    kind        TEXT NOT NULL,
    siren       TEXT,
    address     TEXT
);

CREATE TABLE convention (
    id              INTEGER PRIMARY KEY,
    title           TEXT NOT NULL,
    epci_siren      TEXT NOT NULL REFERENCES epci (siren),
    start_date      TEXT NOT NULL CHECK (date(start_date) = start_date),
    end_date        TEXT NOT NULL CHECK (date(end_date) = end_date),
    status          TEXT NOT NULL,
    signing_place   TEXT,
    predecessor_id  INTEGER REFERENCES convention (id),
    version         INTEGER NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    CHECK (end_date >= start_date)
);
CREATE INDEX convention_epci ON convention (epci_siren);

CREATE TABLE party (
    id                 INTEGER PRIMARY KEY,
    convention_id      INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    organisation_id    INTEGER NOT NULL REFERENCES organisation (id),
    position           INTEGER NOT NULL,
    role               TEXT NOT NULL,
    signatory          TEXT,
    signatory_title    TEXT,
    deliberation       TEXT,
    deliberation_date  TEXT CHECK (deliberation_date IS NULL OR date(deliberation_date) = deliberation_date),
    signature_date     TEXT CHECK (signature_date IS NULL OR date(signature_date) = signature_date),
    version            INTEGER NOT NULL DEFAULT 1,
    UNIQUE (convention_id, organisation_id)
);

CREATE TABLE stake (
    id             INTEGER PRIMARY KEY,
    convention_id  INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    number         INTEGER NOT NULL,
    title          TEXT NOT NULL,
    description    TEXT,
    version        INTEGER NOT NULL DEFAULT 1,
    UNIQUE (convention_id, number)
);

CREATE TABLE ambition (
    id             INTEGER PRIMARY KEY,
    convention_id  INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    stake_id       INTEGER NOT NULL REFERENCES stake (id) ON DELETE CASCADE,
    number         INTEGER NOT NULL,
    title          TEXT NOT NULL,
    note           TEXT,
    version        INTEGER NOT NULL DEFAULT 1,
    UNIQUE (convention_id, number)
);

CREATE TABLE approach (
    id             INTEGER PRIMARY KEY,
    convention_id  INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    title          TEXT NOT NULL,
    description    TEXT,
    version        INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE body (
    id             INTEGER PRIMARY KEY,
    convention_id  INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    position       INTEGER NOT NULL,
    kind           TEXT NOT NULL,
    name           TEXT NOT NULL,
    description    TEXT,
    version        INTEGER NOT NULL DEFAULT 1
);
