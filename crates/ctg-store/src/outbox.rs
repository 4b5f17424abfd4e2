//! The outbox of reminders by e-mail, each person's choice of reminders, the items waiting for a
//! weekly digest and the unsubscribe links.
//!
//! A mail is written to `mail_outbox` in the same transaction as what causes it, under a unique
//! `dedup_key`: two servers that find the same reminder at once write it once. The worker of each
//! server claims due rows in one statement (PostgreSQL: `FOR UPDATE SKIP LOCKED` in the sub-select;
//! SQLite: one writer at a time), which sets a lease (`claimed_until`): a row is sent by one worker,
//! and taken again only if that worker died before saying how it went. A failure sets the next
//! attempt further away each time ([`ctg_domain::reminders::retry_at`]).

use chrono::{DateTime, Duration, Utc};
use ctg_domain::reminders::{Frequency, ReminderKind};

use crate::accounts::digest;
use crate::{with_db, Result, Store, StoreError};

/// A mail to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail {
    /// Kind, object, recipient and due date: the same reminder is enqueued once.
    pub dedup_key: String,
    pub user_id: Option<i64>,
    pub recipient: String,
    pub kind: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// A file joined to the mail (name, text content): the `.ics` of a meeting.
    pub attachment: Option<(String, String)>,
}

/// A mail of the outbox, as a worker claimed it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxMail {
    pub id: i64,
    pub dedup_key: String,
    pub user_id: Option<i64>,
    pub recipient: String,
    pub kind: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub attachment_name: Option<String>,
    pub attachment: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    /// Given up: refused for good by the server, or failed too many times (see `abandon_mail`).
    pub abandoned_at: Option<DateTime<Utc>>,
}

const OUTBOX_COLUMNS: &str = "id, dedup_key, user_id, recipient, kind, subject, body_text, body_html, \
     attachment_name, attachment, attempts, next_attempt_at, last_error, sent_at, abandoned_at";

/// What follows a failed attempt to send a mail.
enum Failure {
    RetryAt(DateTime<Utc>),
    AbandonedAt(DateTime<Utc>),
}

/// A reminder waiting for the weekly digest of its recipient.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DigestItem {
    pub id: i64,
    pub kind: String,
    pub text: String,
    pub detail: String,
    pub link: String,
}

/// What an unsubscribe link stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribed {
    pub user_id: i64,
    pub email: String,
    /// The kind stopped; `None`: every kind (the link of a weekly digest, or « tout arrêter »).
    pub kind: Option<ReminderKind>,
}

/// The `kind` of a weekly digest in the outbox and of its unsubscribe link.
pub const DIGEST_KIND: &str = "recapitulatif";

impl Store {
    /// Writes `mail` to the outbox, with the unsubscribe link `secret` of its kind, in one
    /// transaction; `false` when a mail with the same key was already there (nothing written).
    pub async fn enqueue_mail(&self, mail: &NewMail, unsubscribe: Option<&str>, now: DateTime<Utc>) -> Result<bool> {
        let (name, content) = match &mail.attachment {
            Some((n, c)) => (Some(n.as_str()), Some(c.as_str())),
            None => (None, None),
        };
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "INSERT INTO mail_outbox (dedup_key, user_id, recipient, kind, subject, body_text, body_html, \
                 attachment_name, attachment, created_at, next_attempt_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) ON CONFLICT (dedup_key) DO NOTHING",
            )
            .bind(&mail.dedup_key)
            .bind(mail.user_id)
            .bind(&mail.recipient)
            .bind(&mail.kind)
            .bind(&mail.subject)
            .bind(&mail.body_text)
            .bind(&mail.body_html)
            .bind(name)
            .bind(content)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            if let (Some(secret), Some(user_id)) = (unsubscribe, mail.user_id) {
                sqlx::query("INSERT INTO mail_unsubscribe (token_hash, user_id, kind, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(digest(secret))
                    .bind(user_id)
                    .bind(&mail.kind)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Whether a mail or a digest item with this key was already written.
    pub async fn mail_known(&self, dedup_key: &str) -> Result<bool> {
        let n: (i64,) = with_db!(self, pool => {
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM mail_outbox WHERE dedup_key = $1) + \
                 (SELECT COUNT(*) FROM mail_digest_item WHERE dedup_key = $1)",
            )
            .bind(dedup_key)
            .fetch_one(pool)
            .await?
        });
        Ok(n.0 > 0)
    }

    /// Claims up to `limit` mails due at `now` for `worker`, each for `lease`: no other worker takes
    /// them until the lease ends. Each claim counts as an attempt.
    pub async fn claim_mails(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<OutboxMail>> {
        let lock = match self.backend() {
            crate::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            crate::Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE mail_outbox SET claimed_by = $1, claimed_until = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM mail_outbox WHERE sent_at IS NULL AND abandoned_at IS NULL AND next_attempt_at <= $3 \
             AND (claimed_until IS NULL OR claimed_until < $3) ORDER BY id LIMIT $4{lock}) \
             RETURNING {OUTBOX_COLUMNS}"
        );
        let mut rows: Vec<OutboxMail> = with_db!(self, pool => {
            sqlx::query_as(&sql).bind(worker).bind(now + lease).bind(now).bind(limit).fetch_all(pool).await?
        });
        rows.sort_by_key(|m| m.id);
        Ok(rows)
    }

    /// Marks a claimed mail sent. `false` if `worker` no longer held it.
    pub async fn mark_mail_sent(&self, id: i64, worker: &str, now: DateTime<Utc>) -> Result<bool> {
        let done = with_db!(self, pool => {
            sqlx::query(
                "UPDATE mail_outbox SET sent_at = $1, claimed_until = NULL, last_error = NULL \
                 WHERE id = $2 AND claimed_by = $3 AND sent_at IS NULL",
            )
            .bind(now)
            .bind(id)
            .bind(worker)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// Records a failed attempt: the error, and when to try again.
    pub async fn mark_mail_failed(&self, id: i64, worker: &str, error: &str, retry_at: DateTime<Utc>) -> Result<()> {
        self.record_failure(id, worker, error, Failure::RetryAt(retry_at)).await
    }

    /// Gives up a claimed mail: the server refused it for good, or it failed too many times. It keeps
    /// its last error and is never claimed again.
    pub async fn abandon_mail(&self, id: i64, worker: &str, error: &str, now: DateTime<Utc>) -> Result<()> {
        self.record_failure(id, worker, error, Failure::AbandonedAt(now)).await
    }

    /// Releases a mail that `worker` claimed and could not send, with its error (cut to 2,000
    /// characters) and what follows.
    async fn record_failure(&self, id: i64, worker: &str, error: &str, failure: Failure) -> Result<()> {
        let error: String = error.chars().take(2000).collect();
        let (retry_at, abandoned_at) = match failure {
            Failure::RetryAt(at) => (Some(at), None),
            Failure::AbandonedAt(at) => (None, Some(at)),
        };
        with_db!(self, pool => {
            sqlx::query(
                "UPDATE mail_outbox SET claimed_until = NULL, last_error = $1, \
                 next_attempt_at = COALESCE($2, next_attempt_at), abandoned_at = $3 \
                 WHERE id = $4 AND claimed_by = $5 AND sent_at IS NULL",
            )
            .bind(&error)
            .bind(retry_at)
            .bind(abandoned_at)
            .bind(id)
            .bind(worker)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Every mail of the outbox, oldest first (for tests and the command line).
    pub async fn outbox(&self) -> Result<Vec<OutboxMail>> {
        with_db!(self, pool => {
            Ok(sqlx::query_as(&format!("SELECT {OUTBOX_COLUMNS} FROM mail_outbox ORDER BY id")).fetch_all(pool).await?)
        })
    }

    /// The frequency `user_id` chose for each kind of reminder (immediately when never chosen).
    pub async fn mail_preferences(&self, user_id: i64) -> Result<Vec<(ReminderKind, Frequency)>> {
        let rows: Vec<(String, String)> = with_db!(self, pool => {
            sqlx::query_as("SELECT kind, frequency FROM mail_preference WHERE user_id = $1")
                .bind(user_id)
                .fetch_all(pool)
                .await?
        });
        Ok(ReminderKind::ALL
            .into_iter()
            .map(|k| {
                let f = rows
                    .iter()
                    .find(|(kind, _)| kind == k.code())
                    .and_then(|(_, f)| Frequency::parse(f))
                    .unwrap_or_default();
                (k, f)
            })
            .collect())
    }

    /// Saves every choice of `user_id` at once.
    pub async fn set_mail_preferences(&self, user_id: i64, choices: &[(ReminderKind, Frequency)]) -> Result<()> {
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            for (kind, frequency) in choices {
                sqlx::query(
                    "INSERT INTO mail_preference (user_id, kind, frequency) VALUES ($1, $2, $3) \
                     ON CONFLICT (user_id, kind) DO UPDATE SET frequency = excluded.frequency",
                )
                .bind(user_id)
                .bind(kind.code())
                .bind(frequency.code())
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Follows an unsubscribe link: the kind of reminder it names stops for its person (or every
    /// kind with `all`). `None` for an unknown secret.
    pub async fn unsubscribe(&self, secret: &str, all: bool) -> Result<Option<Unsubscribed>> {
        let row: Option<(i64, String, String)> = with_db!(self, pool => {
            sqlx::query_as(
                "SELECT s.user_id, s.kind, u.email FROM mail_unsubscribe s JOIN app_user u ON u.id = s.user_id \
                 WHERE s.token_hash = $1",
            )
            .bind(digest(secret))
            .fetch_optional(pool)
            .await?
        });
        let Some((user_id, kind, email)) = row else { return Ok(None) };
        let kind = if kind == DIGEST_KIND {
            None
        } else {
            Some(ReminderKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("rappel « {kind} »")))?)
        };
        let kinds: Vec<(ReminderKind, Frequency)> = if all || kind.is_none() {
            ReminderKind::ALL.into_iter().map(|k| (k, Frequency::Never)).collect()
        } else {
            kind.map(|k| (k, Frequency::Never)).into_iter().collect()
        };
        self.set_mail_preferences(user_id, &kinds).await?;
        Ok(Some(Unsubscribed { user_id, email, kind: if all { None } else { kind } }))
    }

    /// Keeps a reminder for the weekly digest of `user_id`; `false` if it was already kept.
    pub async fn add_digest_item(
        &self,
        dedup_key: &str,
        user_id: i64,
        kind: ReminderKind,
        (text, detail, link): (&str, &str, &str),
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = with_db!(self, pool => {
            sqlx::query(
                "INSERT INTO mail_digest_item (dedup_key, user_id, kind, text, detail, link, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dedup_key) DO NOTHING",
            )
            .bind(dedup_key)
            .bind(user_id)
            .bind(kind.code())
            .bind(text)
            .bind(detail)
            .bind(link)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// The reminders waiting for the digest of `user_id`, oldest first.
    pub async fn digest_items(&self, user_id: i64) -> Result<Vec<DigestItem>> {
        with_db!(self, pool => {
            Ok(sqlx::query_as(
                "SELECT id, kind, text, detail, link FROM mail_digest_item WHERE user_id = $1 AND outbox_id IS NULL ORDER BY id",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await?)
        })
    }

    /// The people with reminders waiting for their digest.
    pub async fn digest_recipients(&self) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = with_db!(self, pool => {
            sqlx::query_as("SELECT DISTINCT user_id FROM mail_digest_item WHERE outbox_id IS NULL ORDER BY user_id")
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(u,)| u).collect())
    }

    /// Writes the digest `mail` to the outbox and marks `items` as carried by it, in one transaction;
    /// `false` if this digest (same key) was already written, or if another server took the items.
    pub async fn enqueue_digest(
        &self,
        mail: &NewMail,
        unsubscribe: &str,
        items: &[i64],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let user_id = mail.user_id.ok_or_else(|| StoreError::Invalid("récapitulatif sans destinataire".into()))?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: Option<(i64,)> = sqlx::query_as(
                "INSERT INTO mail_outbox (dedup_key, user_id, recipient, kind, subject, body_text, body_html, \
                 created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
                 ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
            )
            .bind(&mail.dedup_key)
            .bind(user_id)
            .bind(&mail.recipient)
            .bind(&mail.kind)
            .bind(&mail.subject)
            .bind(&mail.body_text)
            .bind(&mail.body_html)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((id,)) = id else { return Ok(false) };
            for item in items {
                let taken = sqlx::query("UPDATE mail_digest_item SET outbox_id = $1 WHERE id = $2 AND outbox_id IS NULL")
                    .bind(id)
                    .bind(item)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if taken == 0 {
                    // Another server's digest carries it: this one is dropped (rolled back).
                    return Ok(false);
                }
            }
            sqlx::query("INSERT INTO mail_unsubscribe (token_hash, user_id, kind, created_at) VALUES ($1, $2, $3, $4)")
                .bind(digest(unsubscribe))
                .bind(user_id)
                .bind(&mail.kind)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        })
    }
}
