-- Art. 6 and annex 3: what each party of a convention commits to, as the text says it; and the means
-- of the action plan tied to a party of the convention instead of a free name, with a planned amount
-- that may be unknown (NULL, never 0).

-- A commitment of a party, quoted from the convention (`source`: « art. 6 », « annexe 3 »…), optionally
-- serving one ambition.
CREATE TABLE party_commitment (
    id             INTEGER PRIMARY KEY,
    convention_id  INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    party_id       INTEGER NOT NULL REFERENCES party (id),
    position       INTEGER NOT NULL,
    text           TEXT NOT NULL CHECK (text <> ''),
    source         TEXT NOT NULL DEFAULT '',
    ambition_id    INTEGER REFERENCES ambition (id) ON DELETE SET NULL,
    version        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX party_commitment_convention ON party_commitment (convention_id, party_id, position);

-- Means lines written before parties were required whose organisation names no party of the fiche's
-- convention (or a party already given for the same year and kind): kept as they were, to be tied again
-- by hand; never counted.
CREATE TABLE means_unmatched (
    id              INTEGER PRIMARY KEY,
    fiche_id        INTEGER NOT NULL REFERENCES fiche (id) ON DELETE CASCADE,
    organisation    TEXT NOT NULL,
    year            INTEGER NOT NULL,
    fte_hundredths  INTEGER NOT NULL,
    planned_cents   INTEGER,
    spent_cents     INTEGER,
    kind            TEXT NOT NULL,
    material        TEXT NOT NULL DEFAULT ''
);

-- Each existing line mapped to the party whose name or short name it gives (case and spaces aside).
CREATE TEMP TABLE means_map AS
SELECT m.id AS means_id,
       (SELECT p.id FROM party p JOIN organisation o ON o.id = p.organisation_id JOIN fiche f ON f.convention_id = p.convention_id
         WHERE f.id = m.fiche_id
           AND (lower(trim(m.organisation)) = lower(trim(o.name)) OR lower(trim(m.organisation)) = lower(trim(o.short_name)))
         ORDER BY p.position LIMIT 1) AS party_id
FROM means m;

CREATE TEMP TABLE means_kept AS
SELECT mp.means_id, mp.party_id FROM means_map mp JOIN means m ON m.id = mp.means_id
WHERE mp.party_id IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM means m2 JOIN means_map mp2 ON mp2.means_id = m2.id
    WHERE m2.fiche_id = m.fiche_id AND mp2.party_id = mp.party_id AND m2.year = m.year AND m2.kind = m.kind
      AND m2.id < m.id);

INSERT INTO means_unmatched (fiche_id, organisation, year, fte_hundredths, planned_cents, spent_cents, kind, material)
SELECT fiche_id, organisation, year, fte_hundredths, planned_cents, spent_cents, kind, material FROM means
WHERE id NOT IN (SELECT means_id FROM means_kept) ORDER BY id;

CREATE TABLE means_new (
    id              INTEGER PRIMARY KEY,
    fiche_id        INTEGER NOT NULL REFERENCES fiche (id) ON DELETE CASCADE,
    party_id        INTEGER NOT NULL REFERENCES party (id),
    year            INTEGER NOT NULL CHECK (year BETWEEN 1990 AND 2100),
    fte_hundredths  INTEGER NOT NULL CHECK (fte_hundredths BETWEEN 0 AND 100000),
    planned_cents   INTEGER CHECK (planned_cents BETWEEN 0 AND 100000000000),
    spent_cents     INTEGER CHECK (spent_cents BETWEEN 0 AND 100000000000),
    kind            TEXT NOT NULL CHECK (kind IN ('fonctionnement', 'investissement')),
    material        TEXT NOT NULL DEFAULT '',
    UNIQUE (fiche_id, party_id, year, kind)
);
INSERT INTO means_new (id, fiche_id, party_id, year, fte_hundredths, planned_cents, spent_cents, kind, material)
SELECT m.id, m.fiche_id, k.party_id, m.year, m.fte_hundredths, m.planned_cents, m.spent_cents, m.kind, m.material
FROM means m JOIN means_kept k ON k.means_id = m.id ORDER BY m.id;

DROP TABLE means_kept;
DROP TABLE means_map;
DROP TABLE means;
ALTER TABLE means_new RENAME TO means;
CREATE INDEX means_party ON means (party_id);
