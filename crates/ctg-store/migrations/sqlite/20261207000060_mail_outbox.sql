-- Reminders by e-mail (issue 16, point 3): the outbox the worker of every server sends from, each
-- person's choice of reminders, the items of a weekly digest, and the unsubscribe links.

-- One mail to send. Written in the same transaction as what causes it; `dedup_key` (kind, object,
-- recipient, due date) makes two servers scanning at once enqueue it once. A worker claims a row by
-- setting `claimed_by` and `claimed_until` (a lease) in one statement; a failed attempt is retried at
-- `next_attempt_at` (exponential backoff), with `attempts` and `last_error` kept.
CREATE TABLE mail_outbox (
    id               INTEGER PRIMARY KEY,
    dedup_key        TEXT NOT NULL UNIQUE,
    user_id          INTEGER REFERENCES app_user (id) ON DELETE CASCADE,
    recipient        TEXT NOT NULL,
    kind             TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body_text        TEXT NOT NULL,
    body_html        TEXT NOT NULL,
    attachment_name  TEXT,
    attachment       TEXT,
    created_at       TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    claimed_by       TEXT,
    claimed_until    TEXT,
    last_error       TEXT,
    sent_at          TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX mail_outbox_user ON mail_outbox (user_id);

-- How often a person receives one kind of reminder; no row: immediately.
CREATE TABLE mail_preference (
    user_id    INTEGER NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    frequency  TEXT NOT NULL CHECK (frequency IN ('immediat', 'hebdomadaire', 'jamais')),
    PRIMARY KEY (user_id, kind)
);

-- A reminder waiting for the weekly digest of its recipient; `outbox_id` once a digest carries it.
CREATE TABLE mail_digest_item (
    id          INTEGER PRIMARY KEY,
    dedup_key   TEXT NOT NULL UNIQUE,
    user_id     INTEGER NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL,
    detail      TEXT NOT NULL,
    link        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    outbox_id   INTEGER REFERENCES mail_outbox (id) ON DELETE SET NULL
);
CREATE INDEX mail_digest_item_user ON mail_digest_item (user_id) WHERE outbox_id IS NULL;

-- The unsubscribe link of a mail: only the SHA-256 digest of its random secret is kept. `kind` is the
-- kind of reminder it stops.
CREATE TABLE mail_unsubscribe (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX mail_unsubscribe_user ON mail_unsubscribe (user_id);
