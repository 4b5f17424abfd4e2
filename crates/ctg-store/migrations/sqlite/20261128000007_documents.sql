-- Documents attached to fiches, meetings and avenants, kept in the database with their content hash
-- (SHA-256), so that a backup of the database holds them and a copy can be checked.
CREATE TABLE document (
    id             INTEGER PRIMARY KEY,
    convention_id  INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    owner_kind     TEXT NOT NULL CHECK (owner_kind IN ('fiche', 'seance', 'avenant')),
    owner_id       INTEGER NOT NULL,
    name           TEXT NOT NULL CHECK (name <> ''),
    media_type     TEXT NOT NULL,
    size_bytes     INTEGER NOT NULL CHECK (size_bytes > 0),
    sha256         TEXT NOT NULL CHECK (length(sha256) = 64),
    content        BLOB NOT NULL,
    uploaded_by    TEXT NOT NULL,
    uploaded_at    TEXT NOT NULL,
    UNIQUE (owner_kind, owner_id, sha256)
);
CREATE INDEX document_owner ON document (convention_id, owner_kind, owner_id);
