-- Revisions of data that servers may keep computed results of: a server's cache entry is valid as
-- long as the revision it was computed at is the current one, so that many servers stay consistent.
CREATE TABLE data_revision (
    name      TEXT PRIMARY KEY,
    revision  INTEGER NOT NULL
);
INSERT INTO data_revision (name, revision) VALUES ('territoire', 1);

-- No query looks memberships up by commune any more (an import compares them in memory): the index
-- only slowed the writing of the 35,000 memberships of France.
DROP INDEX IF EXISTS epci_member_commune;
