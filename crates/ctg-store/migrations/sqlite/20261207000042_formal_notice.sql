-- Mises en demeure (art. 13): sent by a signatory to another, about an obligation of the convention
-- (or, by the CAF, a legal or regulatory one); one month later, left without effect, they terminate
-- the convention. Complied with or withdrawn, they close without effect.
CREATE TABLE formal_notice (
    id                   INTEGER PRIMARY KEY,
    convention_id        INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    sender_party_id      INTEGER NOT NULL REFERENCES party (id),
    recipient_party_id   INTEGER NOT NULL REFERENCES party (id),
    obligation           TEXT NOT NULL CHECK (obligation <> ''),
    legal                INTEGER NOT NULL DEFAULT 0,
    sent_on              TEXT NOT NULL CHECK (date(sent_on) = sent_on),
    deadline             TEXT NOT NULL CHECK (date(deadline) = deadline),
    outcome              TEXT NOT NULL DEFAULT 'en_cours'
                         CHECK (outcome IN ('en_cours', 'mise_en_conformite', 'infructueuse', 'retiree')),
    outcome_on           TEXT CHECK (outcome_on IS NULL OR date(outcome_on) = outcome_on),
    version              INTEGER NOT NULL DEFAULT 1,
    CHECK (sender_party_id <> recipient_party_id),
    CHECK (deadline > sent_on),
    CHECK ((outcome = 'en_cours') = (outcome_on IS NULL))
);
CREATE INDEX formal_notice_convention ON formal_notice (convention_id);
