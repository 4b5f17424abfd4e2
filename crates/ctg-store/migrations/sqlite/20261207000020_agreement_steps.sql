-- Art. 9 of the convention: an agreement is proposed by one of its parties, reviewed by the data
-- protection officer of another, then signed, then expired; each step is recorded with who and when.
-- The parties of an agreement are parties of the convention. Agreements written before keep their
-- parties as text (`parties`) and have no recorded steps.
ALTER TABLE data_agreement ADD COLUMN proposer_party_id INTEGER REFERENCES party (id) ON DELETE SET NULL;

CREATE TABLE data_agreement_party (
    agreement_id  INTEGER NOT NULL REFERENCES data_agreement (id) ON DELETE CASCADE,
    party_id      INTEGER NOT NULL REFERENCES party (id) ON DELETE CASCADE,
    PRIMARY KEY (agreement_id, party_id)
) WITHOUT ROWID;

CREATE TABLE data_agreement_step (
    id            INTEGER PRIMARY KEY,
    agreement_id  INTEGER NOT NULL REFERENCES data_agreement (id) ON DELETE CASCADE,
    step          TEXT NOT NULL,
    -- The day of the step (the proposal, the review, the signature, the end), as the parties date it.
    done_on       TEXT NOT NULL CHECK (date(done_on) = done_on),
    -- Who did it: the person who proposed, the DPO who reviewed, the signatories.
    done_by       TEXT NOT NULL,
    -- The party that did it (the reviewing party for the review).
    party_id      INTEGER REFERENCES party (id) ON DELETE SET NULL,
    note          TEXT,
    -- The account that recorded it, and when.
    recorded_by   TEXT NOT NULL,
    recorded_at   TEXT NOT NULL,
    UNIQUE (agreement_id, step)
);
