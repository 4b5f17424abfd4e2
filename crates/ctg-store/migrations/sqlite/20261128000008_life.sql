-- The life of a convention (arts. 11 to 13 of the CTG): its avenants, with the changes each makes and
-- each signatory's signature; the versions of its text and annexes, the initial one and those made by
-- avenants (pending until every signatory has signed the avenant); and its termination, at most one.
CREATE TABLE avenant (
    id             INTEGER PRIMARY KEY,
    convention_id  INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    number         INTEGER NOT NULL CHECK (number >= 1),
    dated          TEXT NOT NULL CHECK (date(dated) = dated),
    title          TEXT NOT NULL CHECK (title <> ''),
    version        INTEGER NOT NULL DEFAULT 1,
    UNIQUE (convention_id, number)
);

CREATE TABLE avenant_change (
    id            INTEGER PRIMARY KEY,
    avenant_id    INTEGER NOT NULL REFERENCES avenant (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    target        TEXT NOT NULL CHECK (target IN ('texte', 'annexe', 'date_fin', 'partie', 'autre')),
    annex_number  INTEGER CHECK (annex_number IS NULL OR annex_number BETWEEN 1 AND 99),
    target_name   TEXT NOT NULL DEFAULT '',
    before_text   TEXT NOT NULL,
    after_text    TEXT NOT NULL,
    UNIQUE (avenant_id, position),
    CHECK ((target = 'annexe') = (annex_number IS NOT NULL))
);

CREATE TABLE avenant_signature (
    avenant_id      INTEGER NOT NULL REFERENCES avenant (id) ON DELETE CASCADE,
    party_id        INTEGER NOT NULL REFERENCES party (id) ON DELETE CASCADE,
    signature_date  TEXT NOT NULL CHECK (date(signature_date) = signature_date),
    PRIMARY KEY (avenant_id, party_id)
) WITHOUT ROWID;
CREATE INDEX avenant_signature_party ON avenant_signature (party_id);

-- `avenant_id` NULL: the text as initially signed, always version 1.
CREATE TABLE convention_text_version (
    id             INTEGER PRIMARY KEY,
    convention_id  INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    doc_key        TEXT NOT NULL CHECK (doc_key = 'convention' OR doc_key LIKE 'annexe-%'),
    label          TEXT NOT NULL CHECK (label <> ''),
    version        INTEGER NOT NULL CHECK (version >= 1),
    content        TEXT NOT NULL,
    avenant_id     INTEGER REFERENCES avenant (id) ON DELETE CASCADE,
    dated          TEXT NOT NULL CHECK (date(dated) = dated),
    UNIQUE (convention_id, doc_key, version),
    CHECK (avenant_id IS NOT NULL OR version = 1)
);
CREATE INDEX convention_text_version_avenant ON convention_text_version (avenant_id);

CREATE TABLE termination (
    id              INTEGER PRIMARY KEY,
    convention_id   INTEGER NOT NULL UNIQUE REFERENCES convention (id) ON DELETE CASCADE,
    ground          TEXT NOT NULL
                    CHECK (ground IN ('mise_en_demeure', 'mise_en_demeure_legale', 'modification_sans_avenant', 'denonciation')),
    notice_date     TEXT NOT NULL CHECK (date(notice_date) = notice_date),
    effective_date  TEXT NOT NULL CHECK (date(effective_date) = effective_date),
    party_id        INTEGER NOT NULL REFERENCES party (id),
    note            TEXT,
    version         INTEGER NOT NULL DEFAULT 1,
    CHECK (effective_date >= notice_date)
);
