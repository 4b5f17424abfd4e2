-- The revision of a convention (see 20261207003000_write_revisions) becomes the sum of a few counters
-- (slots): each audited write raises one slot, chosen in turn by the server (the record! macro). With
-- one row, every writer of a convention waited on that row's lock until the previous one had committed
-- (its fsync included): about 1,000 writes per second on one convention at most, and a p99 over 50 ms
-- with 32 writers. The sum still counts the committed writes exactly, so two equal sums read at two
-- moments mean that nothing was committed in between, which is all the caches need.
-- No foreign key and no deletion with the convention: the counters of an identifier only grow, even
-- if SQLite reuses the identifier of a deleted draft.
CREATE TABLE convention_revision (
    convention_id BIGINT NOT NULL,
    slot          INTEGER NOT NULL,
    revision      BIGINT NOT NULL,
    PRIMARY KEY (convention_id, slot)
);
INSERT INTO convention_revision (convention_id, slot, revision) SELECT id, 0, revision FROM convention WHERE revision > 0;
ALTER TABLE convention DROP COLUMN revision;
