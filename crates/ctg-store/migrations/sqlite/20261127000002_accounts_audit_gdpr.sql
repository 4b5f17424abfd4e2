-- Accounts, sessions, API tokens, rights per convention, audit trail, GDPR register and agreements.

ALTER TABLE convention ADD COLUMN published INTEGER NOT NULL DEFAULT 0;

CREATE TABLE app_user (
    id                    INTEGER PRIMARY KEY,
    name                  TEXT NOT NULL,
    email                 TEXT NOT NULL UNIQUE,
    organisation_id       INTEGER REFERENCES organisation (id),
    password_hash         TEXT,
    is_admin              INTEGER NOT NULL DEFAULT 0,
    must_change_password  INTEGER NOT NULL DEFAULT 0,
    disabled_at           TEXT,
    erased_at             TEXT,
    created_at            TEXT NOT NULL,
    version               INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE user_session (
    token_hash    TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX user_session_user ON user_session (user_id);

CREATE TABLE api_token (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    prefix        TEXT NOT NULL,
    can_write     INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);

CREATE TABLE login_throttle (
    key           TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL,
    window_start  TEXT NOT NULL,
    locked_until  TEXT
);

CREATE TABLE convention_role (
    user_id        INTEGER NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    convention_id  INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    role           TEXT NOT NULL,
    PRIMARY KEY (user_id, convention_id)
);

CREATE TABLE audit_event (
    id              INTEGER PRIMARY KEY,
    at              TEXT NOT NULL,
    actor_id        INTEGER,
    actor_label     TEXT NOT NULL,
    channel         TEXT NOT NULL,
    convention_id   INTEGER,
    object_type     TEXT NOT NULL,
    object_id       TEXT NOT NULL,
    object_label    TEXT NOT NULL,
    action          TEXT NOT NULL,
    before_json     TEXT,
    after_json      TEXT,
    pseudonymised   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX audit_event_convention ON audit_event (convention_id, at);
CREATE INDEX audit_event_object ON audit_event (object_type, object_id, at);
CREATE INDEX audit_event_actor ON audit_event (actor_id);

-- The audit trail is append-only for the application. The one change allowed is the GDPR
-- pseudonymisation of an entry (possibly again, when a second person it names is erased): it may
-- rewrite the labels and values, marks the entry as pseudonymised, and can never touch who acted,
-- when, through which channel, on what, or how. Deletion is always refused.
CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
BEGIN
    SELECT RAISE(ABORT, 'audit trail is append-only');
END;
CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
WHEN NEW.pseudonymised = 0
  OR NEW.id <> OLD.id OR NEW.at <> OLD.at OR NEW.channel <> OLD.channel OR NEW.action <> OLD.action
  OR NEW.object_type <> OLD.object_type OR NEW.object_id <> OLD.object_id
  OR COALESCE(NEW.convention_id, -1) <> COALESCE(OLD.convention_id, -1)
  OR COALESCE(NEW.actor_id, -1) <> COALESCE(OLD.actor_id, -1)
BEGIN
    SELECT RAISE(ABORT, 'audit trail is append-only');
END;

CREATE TABLE processing_activity (
    id                 INTEGER PRIMARY KEY,
    name               TEXT NOT NULL,
    controller         TEXT NOT NULL,
    dpo_contact        TEXT NOT NULL,
    purposes           TEXT NOT NULL,
    legal_basis        TEXT NOT NULL,
    data_subjects      TEXT NOT NULL,
    data_categories    TEXT NOT NULL,
    recipients         TEXT NOT NULL,
    transfers          TEXT NOT NULL,
    retention          TEXT NOT NULL,
    security_measures  TEXT NOT NULL,
    version            INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE data_agreement (
    id               INTEGER PRIMARY KEY,
    convention_id    INTEGER NOT NULL REFERENCES convention (id) ON DELETE CASCADE,
    title            TEXT NOT NULL,
    parties          TEXT NOT NULL,
    data_categories  TEXT NOT NULL,
    purpose          TEXT NOT NULL,
    legal_basis      TEXT NOT NULL,
    start_date       TEXT CHECK (start_date IS NULL OR date(start_date) = start_date),
    end_date         TEXT CHECK (end_date IS NULL OR date(end_date) = end_date),
    status           TEXT NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1
);

-- The platform's own processing activities, to be completed by each controller (art. 30 GDPR).
INSERT INTO processing_activity (name, controller, dpo_contact, purposes, legal_basis, data_subjects,
    data_categories, recipients, transfers, retention, security_measures) VALUES
('Comptes des utilisateurs de la plateforme CTG',
 'L''organisme qui héberge la plateforme (à préciser : nom, adresse, représentant)',
 'Délégué à la protection des données de l''organisme hébergeur (à préciser : adresse électronique)',
 'Permettre aux agents des signataires et des partenaires de la convention de se connecter, d''exercer les droits attachés à leur rôle et de tracer leurs modifications.',
 'Mission d''intérêt public (article 6.1.e du RGPD) confiée aux signataires de la convention.',
 'Agents des signataires et des partenaires ; élus membres des instances ; administrateurs de la plateforme.',
 'Identité (nom, adresse électronique), organisme de rattachement, rôle par convention, empreinte du mot de passe (argon2id), journaux de connexion et de modification.',
 'Administrateurs de la plateforme ; coordination de la convention pour les comptes qui y ont un rôle.',
 'Aucun transfert hors de l''Union européenne.',
 'Durée d''activité du compte, puis effacement ou pseudonymisation ; le journal des modifications est conservé pour la durée de la convention et cinq ans après.',
 'Mots de passe conformes à la recommandation de la CNIL de 2022 et stockés en argon2id ; sessions côté serveur avec expiration ; limitation des tentatives de connexion ; protection contre la falsification de requêtes ; journal des modifications en ajout seul ; chiffrement des échanges (HTTPS) à la charge de l''hébergeur.'),
('Coordonnées des membres des instances de gouvernance',
 'Les signataires de la convention, responsables conjoints (à préciser)',
 'Délégués à la protection des données des signataires (à préciser)',
 'Convoquer les membres des comités de pilotage et techniques, tenir les feuilles de présence et les relevés de décisions.',
 'Mission d''intérêt public (article 6.1.e du RGPD).',
 'Élus, agents et représentants des partenaires membres des instances.',
 'Identité, fonction, organisme, coordonnées professionnelles, présence aux séances.',
 'Coordination de la convention ; membres des instances pour les relevés de décisions.',
 'Aucun transfert hors de l''Union européenne.',
 'Durée de la convention, puis archivage selon les règles des archives publiques.',
 'Accès limité par rôle ; journal des modifications ; effacement sur demande lorsqu''il n''y a plus d''obligation de conservation.');
