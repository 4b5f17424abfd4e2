-- What a server may keep computed for a convention (portfolio lines, the facts of its life) is valid
-- while the convention's revision and the revision of the shared data ('journal') are those it was
-- computed at. Every audited write raises one of them in its own transaction (the record! macro): the
-- row lock orders concurrent writers, so a revision read after a commit covers every earlier write,
-- which the identifiers of audit events, allocated before commit, do not guarantee on PostgreSQL.
ALTER TABLE convention ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
INSERT INTO data_revision (name, revision) VALUES ('journal', 1);

-- A fiche names its pilot organisation: found by name (Store::organisation_named) without reading
-- every organisation of a national host.
CREATE INDEX organisation_name ON organisation (name);
CREATE INDEX organisation_short_name ON organisation (short_name);
