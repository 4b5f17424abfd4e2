-- Governance of a CTG (art. 7 and annex 2): the members of the bodies (table `body`, filled by the
-- convention), their meetings with the agenda (items and typed links to fiches, indicators and
-- documents), invitations and attendance, decisions (and the fiches they change) and minutes; the
-- concertation that prepared the convention, with its contributions and the ambitions and fiches that
-- answer them; and the coordination posts of art. 7-b (chargés de coopération territoriale).
CREATE TABLE body_member (
    id            INTEGER PRIMARY KEY,
    body_id       INTEGER NOT NULL REFERENCES body (id) ON DELETE CASCADE,
    name          TEXT NOT NULL CHECK (name <> ''),
    organisation  TEXT NOT NULL DEFAULT '',
    job_title     TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL
                  CHECK (role IN ('president', 'copresident', 'vice_president', 'membre', 'invite', 'secretariat')),
    joined_on     TEXT NOT NULL CHECK (date(joined_on) = joined_on),
    left_on       TEXT CHECK (left_on IS NULL OR date(left_on) = left_on),
    version       INTEGER NOT NULL DEFAULT 1,
    CHECK (left_on IS NULL OR left_on >= joined_on)
);
CREATE INDEX body_member_body ON body_member (body_id);

-- A meeting of a body, on one day, in Paris time.
CREATE TABLE meeting (
    id            INTEGER PRIMARY KEY,
    body_id       INTEGER NOT NULL REFERENCES body (id) ON DELETE CASCADE,
    title         TEXT,
    meeting_date  TEXT NOT NULL CHECK (date(meeting_date) = meeting_date),
    start_time    TEXT NOT NULL CHECK (time(start_time) = start_time),
    end_time      TEXT NOT NULL CHECK (time(end_time) = end_time),
    place         TEXT,
    video_link    TEXT,
    minutes       TEXT,
    version       INTEGER NOT NULL DEFAULT 1,
    CHECK (end_time > start_time)
);
CREATE INDEX meeting_body ON meeting (body_id, meeting_date);

CREATE TABLE agenda_item (
    id          INTEGER PRIMARY KEY,
    meeting_id  INTEGER NOT NULL REFERENCES meeting (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    title       TEXT NOT NULL CHECK (title <> ''),
    UNIQUE (meeting_id, position)
);

-- What an agenda item concerns: exactly one of a fiche, an indicator of the plan or a document.
CREATE TABLE agenda_link (
    id              INTEGER PRIMARY KEY,
    agenda_item_id  INTEGER NOT NULL REFERENCES agenda_item (id) ON DELETE CASCADE,
    fiche_id        INTEGER REFERENCES fiche (id) ON DELETE CASCADE,
    indicator_id    INTEGER REFERENCES plan_indicator (id) ON DELETE CASCADE,
    document_id     INTEGER REFERENCES document (id) ON DELETE CASCADE,
    CHECK ((fiche_id IS NOT NULL) + (indicator_id IS NOT NULL) + (document_id IS NOT NULL) = 1)
);
CREATE INDEX agenda_link_item ON agenda_link (agenda_item_id);
CREATE INDEX agenda_link_fiche ON agenda_link (fiche_id);
CREATE INDEX agenda_link_indicator ON agenda_link (indicator_id);
CREATE INDEX agenda_link_document ON agenda_link (document_id);

-- The invitation of a member to a meeting and their answer; a representative only when represented.
CREATE TABLE meeting_attendance (
    meeting_id      INTEGER NOT NULL REFERENCES meeting (id) ON DELETE CASCADE,
    member_id       INTEGER NOT NULL REFERENCES body_member (id) ON DELETE CASCADE,
    status          TEXT NOT NULL CHECK (status IN ('invite', 'present', 'excuse', 'represente')),
    represented_by  TEXT,
    PRIMARY KEY (meeting_id, member_id),
    CHECK ((status = 'represente') = (represented_by IS NOT NULL AND represented_by <> ''))
) WITHOUT ROWID;
CREATE INDEX meeting_attendance_member ON meeting_attendance (member_id);

-- A decision is open while `closed_on` is NULL.
CREATE TABLE decision (
    id          INTEGER PRIMARY KEY,
    meeting_id  INTEGER NOT NULL REFERENCES meeting (id) ON DELETE CASCADE,
    content     TEXT NOT NULL CHECK (content <> ''),
    follow_up   TEXT NOT NULL DEFAULT '',
    due_on      TEXT CHECK (due_on IS NULL OR date(due_on) = due_on),
    closed_on   TEXT CHECK (closed_on IS NULL OR date(closed_on) = closed_on),
    version     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX decision_meeting ON decision (meeting_id);

CREATE TABLE decision_fiche (
    decision_id  INTEGER NOT NULL REFERENCES decision (id) ON DELETE CASCADE,
    fiche_id     INTEGER NOT NULL REFERENCES fiche (id) ON DELETE CASCADE,
    PRIMARY KEY (decision_id, fiche_id)
) WITHOUT ROWID;
CREATE INDEX decision_fiche_fiche ON decision_fiche (fiche_id);

-- A concertation event, or a group of like events entered once (`occurrences`). Participant counts
-- are NULL when the source does not give them (unknown is not zero); `participants` is a total given
-- without (or beyond) a breakdown. `communes` and `themes` are JSON arrays.
CREATE TABLE concertation_event (
    id             INTEGER PRIMARY KEY,
    convention_id  INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('entretien', 'focus_group', 'groupe_de_travail', 'seminaire',
                   'reunion_publique', 'seance_participative')),
    title          TEXT NOT NULL CHECK (title <> ''),
    start_date     TEXT NOT NULL CHECK (date(start_date) = start_date),
    end_date       TEXT CHECK (end_date IS NULL OR date(end_date) = end_date),
    occurrences    INTEGER NOT NULL DEFAULT 1 CHECK (occurrences >= 1),
    communes       TEXT NOT NULL DEFAULT '[]',
    commune_count  INTEGER CHECK (commune_count >= 0),
    inhabitants    INTEGER CHECK (inhabitants >= 0),
    elected        INTEGER CHECK (elected >= 0),
    partners       INTEGER CHECK (partners >= 0),
    participants   INTEGER CHECK (participants >= 0),
    approximate    BOOLEAN NOT NULL DEFAULT FALSE,
    themes         TEXT NOT NULL DEFAULT '[]',
    note           TEXT,
    version        INTEGER NOT NULL DEFAULT 1,
    CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE INDEX concertation_event_convention ON concertation_event (convention_id, start_date);

CREATE TABLE concertation_contribution (
    id        INTEGER PRIMARY KEY,
    event_id  INTEGER NOT NULL REFERENCES concertation_event (id) ON DELETE CASCADE,
    content   TEXT NOT NULL CHECK (content <> ''),
    author    TEXT CHECK (author IS NULL OR author IN ('habitants', 'elus', 'partenaires')),
    theme     TEXT,
    version   INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX concertation_contribution_event ON concertation_contribution (event_id);

CREATE TABLE contribution_ambition (
    contribution_id  INTEGER NOT NULL REFERENCES concertation_contribution (id) ON DELETE CASCADE,
    ambition_id      INTEGER NOT NULL REFERENCES ambition (id) ON DELETE CASCADE,
    PRIMARY KEY (contribution_id, ambition_id)
) WITHOUT ROWID;
CREATE INDEX contribution_ambition_ambition ON contribution_ambition (ambition_id);

CREATE TABLE contribution_fiche (
    contribution_id  INTEGER NOT NULL REFERENCES concertation_contribution (id) ON DELETE CASCADE,
    fiche_id         INTEGER NOT NULL REFERENCES fiche (id) ON DELETE CASCADE,
    PRIMARY KEY (contribution_id, fiche_id)
) WITHOUT ROWID;
CREATE INDEX contribution_fiche_fiche ON contribution_fiche (fiche_id);

-- A chargé(e) de coopération territoriale post (art. 7-b): a share of a full-time equivalent in
-- hundredths; its funding in words, and a yearly amount in cents with its funder when known.
CREATE TABLE coordination_post (
    id              INTEGER PRIMARY KEY,
    convention_id   INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    person          TEXT,
    employer        TEXT NOT NULL CHECK (employer <> ''),
    fte_hundredths  INTEGER NOT NULL CHECK (fte_hundredths BETWEEN 1 AND 100),
    start_date      TEXT NOT NULL CHECK (date(start_date) = start_date),
    end_date        TEXT CHECK (end_date IS NULL OR date(end_date) = end_date),
    funding         TEXT NOT NULL DEFAULT '',
    amount_cents    INTEGER CHECK (amount_cents BETWEEN 0 AND 100000000000),
    funder          TEXT,
    version         INTEGER NOT NULL DEFAULT 1,
    CHECK (end_date IS NULL OR end_date >= start_date),
    CHECK (amount_cents IS NULL OR funder IS NOT NULL)
);
CREATE INDEX coordination_post_convention ON coordination_post (convention_id);
