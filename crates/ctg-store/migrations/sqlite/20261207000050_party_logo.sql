-- The logo of a party (art. 10: the parties communicate together, every partner named): one per
-- party, a PNG or a checked SVG, shown on the convention page, the public page and every document.
CREATE TABLE party_logo (
    party_id       INTEGER PRIMARY KEY REFERENCES party (id) ON DELETE CASCADE,
    convention_id  INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    media_type     TEXT NOT NULL CHECK (media_type IN ('image/png', 'image/svg+xml')),
    size_bytes     INTEGER NOT NULL CHECK (size_bytes > 0),
    sha256         TEXT NOT NULL CHECK (length(sha256) = 64),
    content        BLOB NOT NULL,
    uploaded_by    TEXT NOT NULL,
    uploaded_at    TEXT NOT NULL
);
CREATE INDEX party_logo_convention ON party_logo (convention_id);
