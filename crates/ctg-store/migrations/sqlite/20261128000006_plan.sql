-- The action plan (annex 4 of a CTG): objectives under the ambitions, fiches action with the
-- ambitions and objectives they serve, their history of status changes (append-only), their
-- sub-actions on two levels and the means each signatory commits per year; follow-up indicators with
-- their values; and the yearly and final reviews (bilans) per ambition or theme.
CREATE TABLE objective (
    id             INTEGER PRIMARY KEY,
    convention_id  INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    ambition_id    INTEGER NOT NULL REFERENCES ambition (id),
    code           TEXT NOT NULL CHECK (code <> ''),
    title          TEXT NOT NULL CHECK (title <> ''),
    version        INTEGER NOT NULL DEFAULT 1,
    UNIQUE (convention_id, code)
);
CREATE INDEX objective_ambition ON objective (ambition_id);

CREATE TABLE fiche (
    id                  INTEGER PRIMARY KEY,
    convention_id       INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    code                TEXT NOT NULL CHECK (code <> ''),
    title               TEXT NOT NULL CHECK (title <> ''),
    description         TEXT NOT NULL DEFAULT '',
    pilot_organisation  TEXT NOT NULL DEFAULT '',
    pilot_person        TEXT NOT NULL DEFAULT '',
    partners            TEXT NOT NULL DEFAULT '[]',
    public              TEXT NOT NULL DEFAULT '',
    communes            TEXT NOT NULL DEFAULT '[]',
    start_date          TEXT CHECK (start_date IS NULL OR date(start_date) = start_date),
    end_date            TEXT CHECK (end_date IS NULL OR date(end_date) = end_date),
    priority            TEXT CHECK (priority IS NULL OR priority IN ('haute', 'moyenne', 'basse')),
    status              TEXT NOT NULL
                        CHECK (status IN ('a_venir', 'en_cours', 'realisee', 'en_pause', 'abandonnee', 'en_retard')),
    approaches          TEXT NOT NULL DEFAULT '[]',
    needs               TEXT NOT NULL DEFAULT '',
    version             INTEGER NOT NULL DEFAULT 1,
    UNIQUE (convention_id, code),
    CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date)
);
-- Codes differ by more than their case: « pe-1 » is « PE-1 ».
CREATE UNIQUE INDEX fiche_code_nocase ON fiche (convention_id, lower(code));

CREATE TABLE fiche_ambition (
    fiche_id     INTEGER NOT NULL REFERENCES fiche (id) ON DELETE CASCADE,
    ambition_id  INTEGER NOT NULL REFERENCES ambition (id),
    PRIMARY KEY (fiche_id, ambition_id)
) WITHOUT ROWID;
CREATE INDEX fiche_ambition_ambition ON fiche_ambition (ambition_id);

CREATE TABLE fiche_objective (
    fiche_id      INTEGER NOT NULL REFERENCES fiche (id) ON DELETE CASCADE,
    objective_id  INTEGER NOT NULL REFERENCES objective (id),
    PRIMARY KEY (fiche_id, objective_id)
) WITHOUT ROWID;
CREATE INDEX fiche_objective_objective ON fiche_objective (objective_id);

-- Who changed the status of a fiche, when, from what to what and why. `from_status` is NULL for the
-- creation of the fiche.
CREATE TABLE fiche_status_change (
    id           INTEGER PRIMARY KEY,
    fiche_id     INTEGER NOT NULL REFERENCES fiche (id),
    changed_at   TEXT NOT NULL,
    from_status  TEXT CHECK (from_status IS NULL
                 OR from_status IN ('a_venir', 'en_cours', 'realisee', 'en_pause', 'abandonnee', 'en_retard')),
    to_status    TEXT NOT NULL
                 CHECK (to_status IN ('a_venir', 'en_cours', 'realisee', 'en_pause', 'abandonnee', 'en_retard')),
    reason       TEXT NOT NULL CHECK (reason <> ''),
    author       TEXT NOT NULL
);
CREATE INDEX fiche_status_change_fiche ON fiche_status_change (fiche_id, id);

-- The history of statuses is append-only: deletion is always refused, and an update may only rewrite
-- the author (the pseudonymisation of an erased person), never when, what or why.
CREATE TRIGGER fiche_status_change_no_delete BEFORE DELETE ON fiche_status_change
BEGIN
    SELECT RAISE(ABORT, 'fiche status history is append-only');
END;
CREATE TRIGGER fiche_status_change_no_update BEFORE UPDATE ON fiche_status_change
WHEN NEW.id <> OLD.id OR NEW.fiche_id <> OLD.fiche_id OR NEW.changed_at <> OLD.changed_at
  OR COALESCE(NEW.from_status, '') <> COALESCE(OLD.from_status, '') OR NEW.to_status <> OLD.to_status
  OR NEW.reason <> OLD.reason
BEGIN
    SELECT RAISE(ABORT, 'fiche status history is append-only');
END;

-- A sub-action of a fiche; `parent_id` is a first-level sub-action of the same fiche (checked by the
-- application: two levels at most).
CREATE TABLE sub_action (
    id          INTEGER PRIMARY KEY,
    fiche_id    INTEGER NOT NULL REFERENCES fiche (id) ON DELETE CASCADE,
    parent_id   INTEGER REFERENCES sub_action (id),
    position    INTEGER NOT NULL,
    title       TEXT NOT NULL CHECK (title <> ''),
    status      TEXT NOT NULL
                CHECK (status IN ('a_venir', 'en_cours', 'realisee', 'en_pause', 'abandonnee', 'en_retard')),
    pilot       TEXT NOT NULL DEFAULT '',
    start_date  TEXT CHECK (start_date IS NULL OR date(start_date) = start_date),
    end_date    TEXT CHECK (end_date IS NULL OR date(end_date) = end_date),
    version     INTEGER NOT NULL DEFAULT 1,
    CHECK (parent_id IS NULL OR parent_id <> id),
    CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date)
);
CREATE INDEX sub_action_fiche ON sub_action (fiche_id, position);
CREATE INDEX sub_action_parent ON sub_action (parent_id);

-- What one signatory commits to a fiche for one year: staff in hundredths of a full-time equivalent,
-- money in cents.
CREATE TABLE means (
    id              INTEGER PRIMARY KEY,
    fiche_id        INTEGER NOT NULL REFERENCES fiche (id) ON DELETE CASCADE,
    organisation    TEXT NOT NULL CHECK (organisation <> ''),
    year            INTEGER NOT NULL CHECK (year BETWEEN 1990 AND 2100),
    fte_hundredths  INTEGER NOT NULL CHECK (fte_hundredths BETWEEN 0 AND 100000),
    planned_cents   INTEGER NOT NULL CHECK (planned_cents BETWEEN 0 AND 100000000000),
    spent_cents     INTEGER CHECK (spent_cents BETWEEN 0 AND 100000000000),
    kind            TEXT NOT NULL CHECK (kind IN ('fonctionnement', 'investissement')),
    material        TEXT NOT NULL DEFAULT '',
    UNIQUE (fiche_id, organisation, year, kind)
);

-- A follow-up indicator of the plan, of a fiche or of the whole plan: `definition` is the JSON of its
-- kind (quantitative with unit, baseline and direction, or qualitative with its scale), `targets` the
-- JSON object year → number or level.
CREATE TABLE plan_indicator (
    id             INTEGER PRIMARY KEY,
    convention_id  INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    fiche_id       INTEGER REFERENCES fiche (id) ON DELETE CASCADE,
    name           TEXT NOT NULL CHECK (name <> ''),
    definition     TEXT NOT NULL,
    targets        TEXT NOT NULL DEFAULT '{}',
    version        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX plan_indicator_convention ON plan_indicator (convention_id, fiche_id);
CREATE INDEX plan_indicator_fiche ON plan_indicator (fiche_id);

CREATE TABLE indicator_value (
    id            INTEGER PRIMARY KEY,
    indicator_id  INTEGER NOT NULL REFERENCES plan_indicator (id) ON DELETE CASCADE,
    period        TEXT NOT NULL CHECK (period GLOB '[12][0-9][0-9][0-9]' OR period GLOB '[12][0-9][0-9][0-9]-[01][0-9]'),
    number        REAL,
    level         TEXT,
    author        TEXT NOT NULL,
    value_date    TEXT NOT NULL CHECK (date(value_date) = value_date),
    source        TEXT NOT NULL DEFAULT '',
    comment       TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    CHECK (number IS NOT NULL OR level IS NOT NULL)
);
CREATE INDEX indicator_value_indicator ON indicator_value (indicator_id, period);

-- The review (bilan) of a year, or the final one when `year` is NULL, for an ambition (its number in
-- `scope`) or a theme (its name). `declared` holds, as JSON, the figures declared when the platform
-- has no data to compute them from.
CREATE TABLE review (
    id             INTEGER PRIMARY KEY,
    convention_id  INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    year           INTEGER CHECK (year IS NULL OR year BETWEEN 1990 AND 2100),
    scope_kind     TEXT NOT NULL CHECK (scope_kind IN ('ambition', 'theme')),
    scope          TEXT NOT NULL CHECK (scope <> ''),
    done           TEXT NOT NULL DEFAULT '',
    successes      TEXT NOT NULL DEFAULT '',
    attention      TEXT NOT NULL DEFAULT '',
    concerns       TEXT NOT NULL DEFAULT '',
    declared       TEXT NOT NULL DEFAULT '{}',
    version        INTEGER NOT NULL DEFAULT 1
);
-- One review per convention, year (the final one counting as year 0) and scope.
CREATE UNIQUE INDEX review_scope ON review (convention_id, COALESCE(year, 0), scope_kind, scope);
