//! Accounts, server-side sessions, API tokens, login throttling and roles per convention.
//!
//! Passwords are hashed with argon2id. Session and API token secrets are 256 random bits; only their
//! SHA-256 digest is stored, so that a copy of the database opens no session.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use ctg_domain::access::{check_password, Principal, Role};
use ctg_domain::Actor;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::audit::{record, Change};
use crate::{with_db, Result, Store, StoreError};

/// Failed logins of one (account, client address) pair that cost nothing; each further failure
/// makes the pair wait twice as long as the previous one: 1 s, 2 s, 4 s… up to [`MAX_DELAY`].
pub const FREE_FAILURES: i64 = 3;
/// The longest wait imposed on one (account, address) pair.
pub const MAX_DELAY: Duration = Duration::minutes(15);
/// Failures older than this (counted from the last one) are forgotten.
pub const FAILURE_MEMORY: Duration = Duration::hours(24);

/// The wait imposed after the `failures`-th consecutive failure of a pair, if any.
pub fn throttle_delay(failures: i64) -> Option<Duration> {
    let over = failures - FREE_FAILURES - 1;
    if over < 0 {
        return None;
    }
    let seconds = 1i64.checked_shl(over.min(20) as u32).unwrap_or(i64::MAX);
    Some(Duration::seconds(seconds).min(MAX_DELAY))
}

/// The throttling key of an (account, client address) pair.
fn throttle_key(email: &str, address: &str) -> String {
    format!("{}{address}", throttle_prefix(email))
}

/// The start shared by the throttling keys of every address for one account.
pub(crate) fn throttle_prefix(email: &str) -> String {
    format!("paire:{}|", email.trim().to_lowercase())
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub organisation_id: Option<i64>,
    pub is_admin: bool,
    pub must_change_password: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    pub erased_at: Option<DateTime<Utc>>,
    pub version: i64,
}

impl User {
    pub fn principal(&self, can_write: bool) -> Principal {
        Principal { user_id: self.id, is_admin: self.is_admin, organisation_id: self.organisation_id, can_write }
    }

    /// How the user appears in the audit trail.
    pub fn actor(&self, channel: ctg_domain::Channel) -> Actor {
        Actor { user_id: Some(self.id), label: format!("{} <{}>", self.name, self.email), channel }
    }

    pub fn is_active(&self) -> bool {
        self.disabled_at.is_none() && self.erased_at.is_none()
    }

    fn audit_value(&self) -> serde_json::Value {
        user_audit_value(&self.name, &self.email, self.organisation_id, self.is_admin, self.disabled_at.is_some())
    }
}

/// An account as the audit trail records it: never its password.
fn user_audit_value(
    name: &str,
    email: &str,
    organisation_id: Option<i64>,
    admin: bool,
    disabled: bool,
) -> serde_json::Value {
    json!({"nom": name, "email": email, "organisation_id": organisation_id, "administrateur": admin, "desactive": disabled})
}

const USER_COLUMNS: &str =
    "id, name, email, organisation_id, is_admin, must_change_password, disabled_at, erased_at, version";

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub organisation_id: Option<i64>,
    pub is_admin: bool,
    /// `None`: no usable password until one is set (`ctg user set-password`).
    pub password: Option<&'a str>,
    pub must_change_password: bool,
}

/// Why a login failed. Messages are in French; none says whether the account exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("adresse électronique ou mot de passe incorrect")]
    BadCredentials,
    #[error("trop de tentatives de connexion")]
    Throttled { until: DateTime<Utc> },
}

/// A live session and its user.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub can_write: bool,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A member of a convention and their role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user: User,
    pub role: Role,
}

/// 256 random bits, URL-safe.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A one-time password that satisfies the policy: random letters and digits, and one character of
/// each class, to be changed at first login.
pub fn one_time_password() -> String {
    let base: String = random_secret().chars().filter(|c| c.is_ascii_alphanumeric()).take(20).collect();
    format!("{base}Aa7!")
}

/// The digest under which a secret is stored.
pub fn digest(secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(secret.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

fn hash_password(password: &str) -> Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Invalid(format!("le mot de passe n'a pas pu être chiffré ({e})")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to verify against when the account does not exist, so that both cases take the same time.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("mot de passe factice pour égaliser les temps").unwrap_or_default())
}

pub fn normalise_email(raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(email)
    } else {
        Err(StoreError::Invalid(format!("adresse électronique invalide « {} »", raw.trim())))
    }
}

impl Store {
    pub async fn create_user(&self, actor: &Actor, new: &NewUser<'_>) -> Result<i64> {
        let email = normalise_email(new.email)?;
        let name = new.name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid("le nom est vide".into()));
        }
        let hash = match new.password {
            Some(p) => {
                check_password(p, &email, name).map_err(StoreError::Invalid)?;
                Some(hash_password(p)?)
            }
            None => None,
        };
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let taken: Option<(i64,)> = sqlx::query_as("SELECT id FROM app_user WHERE email = $1")
                .bind(&email)
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_some() {
                return Err(StoreError::Invalid(format!("un compte existe déjà pour l'adresse {email}")));
            }
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO app_user (name, email, organisation_id, password_hash, is_admin, must_change_password, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(name)
            .bind(&email)
            .bind(new.organisation_id)
            .bind(hash)
            .bind(new.is_admin)
            .bind(new.must_change_password)
            .bind(Utc::now())
            .fetch_one(&mut *tx)
            .await?;
            record!(&mut *tx, &Change {
                convention_id: None,
                object_type: "utilisateur",
                object_id: id.to_string(),
                object_label: format!("{name} <{email}>"),
                action: "creation",
                before: None,
                after: Some(user_audit_value(name, &email, new.organisation_id, new.is_admin, false)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        with_db!(self, pool => {
            Ok(sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM app_user ORDER BY name, id")).fetch_all(pool).await?)
        })
    }

    pub async fn user(&self, id: i64) -> Result<User> {
        let user: Option<User> = with_db!(self, pool => {
            sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM app_user WHERE id = $1")).bind(id).fetch_optional(pool).await?
        });
        user.ok_or_else(|| StoreError::NotFound(format!("le compte n° {id}")))
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let email = email.trim().to_lowercase();
        with_db!(self, pool => {
            Ok(sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM app_user WHERE email = $1"))
                .bind(email)
                .fetch_optional(pool)
                .await?)
        })
    }

    pub async fn has_admin(&self) -> Result<bool> {
        with_db!(self, pool => {
            let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM app_user WHERE is_admin = $1 AND erased_at IS NULL AND disabled_at IS NULL LIMIT 1")
                .bind(true)
                .fetch_optional(pool)
                .await?;
            Ok(row.is_some())
        })
    }

    /// Sets a user's password after checking it against the policy. `must_change` asks for a new one
    /// at the next login (for a password given by someone else). Other sessions of the user end.
    pub async fn set_password(&self, actor: &Actor, user_id: i64, password: &str, must_change: bool) -> Result<()> {
        let user = self.user(user_id).await?;
        check_password(password, &user.email, &user.name).map_err(StoreError::Invalid)?;
        let hash = hash_password(password)?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE app_user SET password_hash = $1, must_change_password = $2, version = version + 1 WHERE id = $3")
                .bind(hash)
                .bind(must_change)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM user_session WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
            // A new password lifts the login delays of the account, from every address.
            let prefix = throttle_prefix(&user.email);
            sqlx::query("DELETE FROM login_throttle WHERE substr(key, 1, $1) = $2")
                .bind(prefix.chars().count() as i32)
                .bind(&prefix)
                .execute(&mut *tx)
                .await?;
            record!(&mut *tx, &Change {
                convention_id: None,
                object_type: "utilisateur",
                object_id: user_id.to_string(),
                object_label: format!("{} <{}>", user.name, user.email),
                action: "modification",
                before: Some(json!({"mot_de_passe": "(ancien)"})),
                after: Some(json!({"mot_de_passe": "(nouveau, non conservé dans le journal)", "changement_exige": must_change})),
                actor,
            });
            tx.commit().await?;
        });
        Ok(())
    }

    /// Disables an account: it can no longer log in, its sessions end and its tokens stop working.
    pub async fn disable_user(&self, actor: &Actor, user_id: i64) -> Result<()> {
        let user = self.user(user_id).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE app_user SET disabled_at = $1, version = version + 1 WHERE id = $2")
                .bind(Utc::now())
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM user_session WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
            let mut after = user.audit_value();
            after["desactive"] = json!(true);
            record!(&mut *tx, &Change {
                convention_id: None,
                object_type: "utilisateur",
                object_id: user_id.to_string(),
                object_label: format!("{} <{}>", user.name, user.email),
                action: "modification",
                before: Some(user.audit_value()),
                after: Some(after),
                actor,
            });
            tx.commit().await?;
        });
        Ok(())
    }

    /// Checks an e-mail and password, with throttling per (account, client address) pair: after
    /// [`FREE_FAILURES`] failures, each further one makes the pair wait 1 s, 2 s, 4 s… up to
    /// [`MAX_DELAY`]. Other addresses, and other accounts behind the same address, are not
    /// affected. A success, or a new password ([`Store::set_password`]), lifts the wait.
    pub async fn verify_login(
        &self,
        email: &str,
        password: &str,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<User, LoginError>> {
        let email = email.trim().to_lowercase();
        let key = throttle_key(&email, address);
        if let Some(until) = self.locked_until(&key, now).await? {
            return Ok(Err(LoginError::Throttled { until }));
        }
        let found: Option<(i64, Option<String>)> = with_db!(self, pool => {
            sqlx::query_as("SELECT id, password_hash FROM app_user WHERE email = $1 AND disabled_at IS NULL AND erased_at IS NULL")
                .bind(&email)
                .fetch_optional(pool)
                .await?
        });
        let ok = match &found {
            Some((_, Some(hash))) => verify_password(password, hash),
            _ => {
                verify_password(password, dummy_hash());
                false
            }
        };
        if let (true, Some((id, _))) = (ok, found) {
            with_db!(self, pool => {
                sqlx::query("DELETE FROM login_throttle WHERE key = $1").bind(&key).execute(pool).await?;
            });
            return Ok(Ok(self.user(id).await?));
        }
        Ok(Err(match self.count_failure(&key, now).await? {
            Some(until) => LoginError::Throttled { until },
            None => LoginError::BadCredentials,
        }))
    }

    async fn locked_until(&self, key: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        let row: Option<(Option<DateTime<Utc>>,)> = with_db!(self, pool => {
            sqlx::query_as("SELECT locked_until FROM login_throttle WHERE key = $1").bind(key).fetch_optional(pool).await?
        });
        Ok(row.and_then(|r| r.0).filter(|until| *until > now))
    }

    /// Counts a failure of a pair (`window_start` holds the time of its last failure); returns the
    /// end of the wait it imposes, if any.
    async fn count_failure(&self, key: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let row: Option<(i64, DateTime<Utc>)> = sqlx::query_as("SELECT failures, window_start FROM login_throttle WHERE key = $1")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
            let failures = match row {
                Some((f, last)) if now - last < FAILURE_MEMORY => f + 1,
                _ => 1,
            };
            let locked = throttle_delay(failures).map(|d| now + d);
            sqlx::query(
                "INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, window_start = excluded.window_start, locked_until = excluded.locked_until",
            )
            .bind(key)
            .bind(failures)
            .bind(now)
            .bind(locked)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(locked)
        })
    }

    /// The server's secret named `name`, created (256 random bits) on first use and kept in the
    /// database, so that every instance of the server and every restart share it.
    pub async fn server_secret(&self, name: &str) -> Result<String> {
        with_db!(self, pool => {
            sqlx::query("INSERT INTO server_secret (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name)
                .bind(random_secret())
                .execute(pool)
                .await?;
            let (value,): (String,) = sqlx::query_as("SELECT value FROM server_secret WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await?;
            Ok(value)
        })
    }

    /// Opens a session; returns its secret (for the cookie) and CSRF token.
    pub async fn create_session(
        &self,
        user_id: i64,
        now: DateTime<Utc>,
        absolute: Duration,
    ) -> Result<(String, String)> {
        let secret = random_secret();
        let csrf = random_secret();
        with_db!(self, pool => {
            // Sessions past their absolute expiry are of no use: they go as new ones come.
            sqlx::query("DELETE FROM user_session WHERE expires_at < $1").bind(now).execute(pool).await?;
            sqlx::query(
                "INSERT INTO user_session (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $4, $5)",
            )
            .bind(digest(&secret))
            .bind(user_id)
            .bind(&csrf)
            .bind(now)
            .bind(now + absolute)
            .execute(pool)
            .await?;
        });
        Ok((secret, csrf))
    }

    /// The session of a secret, if it is live: not past its absolute expiry, not idle longer than
    /// `idle`, its user active. A live session's idle clock restarts.
    pub async fn session(&self, secret: &str, now: DateTime<Utc>, idle: Duration) -> Result<Option<Session>> {
        let hash = digest(secret);
        let row: Option<(i64, String, DateTime<Utc>, DateTime<Utc>)> = with_db!(self, pool => {
            sqlx::query_as("SELECT user_id, csrf_token, last_seen_at, expires_at FROM user_session WHERE token_hash = $1")
                .bind(&hash)
                .fetch_optional(pool)
                .await?
        });
        let Some((user_id, csrf_token, last_seen, expires_at)) = row else { return Ok(None) };
        if now >= expires_at || now - last_seen > idle {
            self.end_session(secret).await?;
            return Ok(None);
        }
        let user = self.user(user_id).await?;
        if !user.is_active() {
            return Ok(None);
        }
        // The idle clock restarts, written at most every 30 s (or half the idle time, if shorter).
        if now - last_seen > Duration::seconds(30).min(idle / 2) {
            with_db!(self, pool => {
                sqlx::query("UPDATE user_session SET last_seen_at = $1 WHERE token_hash = $2").bind(now).bind(&hash).execute(pool).await?;
            });
        }
        Ok(Some(Session { user, csrf_token, expires_at }))
    }

    pub async fn end_session(&self, secret: &str) -> Result<()> {
        with_db!(self, pool => {
            sqlx::query("DELETE FROM user_session WHERE token_hash = $1").bind(digest(secret)).execute(pool).await?;
        });
        Ok(())
    }

    /// Creates an API token for `user_id`; returns its id and its secret, to be shown once.
    pub async fn create_token(
        &self,
        actor: &Actor,
        user_id: i64,
        name: &str,
        can_write: bool,
    ) -> Result<(i64, String)> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid("donnez un nom au jeton (par exemple : « tableau de bord »)".into()));
        }
        let secret = format!("ctg_{}", random_secret());
        let prefix: String = secret.chars().take(10).collect();
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO api_token (user_id, name, token_hash, prefix, can_write, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(user_id)
            .bind(name)
            .bind(digest(&secret))
            .bind(&prefix)
            .bind(can_write)
            .bind(Utc::now())
            .fetch_one(&mut *tx)
            .await?;
            record!(&mut *tx, &Change {
                convention_id: None,
                object_type: "jeton",
                object_id: id.to_string(),
                object_label: format!("jeton « {name} » ({prefix}…)"),
                action: "creation",
                before: None,
                after: Some(json!({"nom": name, "ecriture": can_write, "compte": user_id})),
                actor,
            });
            tx.commit().await?;
            Ok((id, secret))
        })
    }

    pub async fn tokens(&self, user_id: i64) -> Result<Vec<ApiToken>> {
        with_db!(self, pool => {
            Ok(sqlx::query_as(
                "SELECT id, name, prefix, can_write, created_at, last_used_at, revoked_at FROM api_token WHERE user_id = $1 ORDER BY id",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Revokes a token of `user_id`.
    pub async fn revoke_token(&self, actor: &Actor, user_id: i64, token_id: i64) -> Result<()> {
        let token = self
            .tokens(user_id)
            .await?
            .into_iter()
            .find(|t| t.id == token_id)
            .ok_or_else(|| StoreError::NotFound(format!("le jeton n° {token_id}")))?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE api_token SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(Utc::now())
                .bind(token_id)
                .execute(&mut *tx)
                .await?;
            record!(&mut *tx, &Change {
                convention_id: None,
                object_type: "jeton",
                object_id: token_id.to_string(),
                object_label: format!("jeton « {} » ({}…)", token.name, token.prefix),
                action: "suppression",
                before: Some(json!({"nom": token.name, "revoque": false})),
                after: Some(json!({"nom": token.name, "revoque": true})),
                actor,
            });
            tx.commit().await?;
        });
        Ok(())
    }

    /// The user and write permission of a live API token.
    pub async fn token_owner(&self, secret: &str) -> Result<Option<(User, bool)>> {
        /// The token and its owner, read together: one query on each request made with a token.
        #[derive(sqlx::FromRow)]
        struct TokenRow {
            token_id: i64,
            can_write: bool,
            last_used_at: Option<DateTime<Utc>>,
            #[sqlx(flatten)]
            user: User,
        }
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT t.id AS token_id, t.can_write, t.last_used_at, {} FROM api_token t \
                 JOIN app_user u ON u.id = t.user_id WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
                USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ")
            )
        });
        let hash = digest(secret);
        let row: Option<TokenRow> = with_db!(self, pool => {
            sqlx::query_as(SQL.as_str())
            .bind(&hash)
            .fetch_optional(pool)
            .await?
        });
        let Some(TokenRow { token_id: id, can_write, last_used_at: last_used, user }) = row else { return Ok(None) };
        if !user.is_active() {
            return Ok(None);
        }
        // The last use is kept to the minute: a token that calls the API many times a second does not
        // write once per request.
        let now = Utc::now();
        if last_used.is_none_or(|at| now - at >= Duration::minutes(1)) {
            with_db!(self, pool => {
                sqlx::query("UPDATE api_token SET last_used_at = $1 WHERE id = $2").bind(now).bind(id).execute(pool).await?;
            });
        }
        Ok(Some((user, can_write)))
    }

    /// Every role of a user, by convention: one query, for the lists that cover many conventions
    /// (the portfolio).
    pub async fn roles_of(&self, user_id: i64) -> Result<std::collections::HashMap<i64, Role>> {
        let rows: Vec<(i64, String)> = with_db!(self, pool => {
            sqlx::query_as("SELECT convention_id, role FROM convention_role WHERE user_id = $1")
                .bind(user_id)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(c, r)| Ok((c, Role::parse(&r).map_err(|_| StoreError::Corrupt(format!("rôle « {r} »")))?)))
            .collect()
    }

    /// The role of a user in a convention.
    pub async fn role(&self, user_id: i64, convention_id: i64) -> Result<Option<Role>> {
        let row: Option<(String,)> = with_db!(self, pool => {
            sqlx::query_as("SELECT role FROM convention_role WHERE user_id = $1 AND convention_id = $2")
                .bind(user_id)
                .bind(convention_id)
                .fetch_optional(pool)
                .await?
        });
        row.map(|(r,)| Role::parse(&r).map_err(|_| StoreError::Corrupt(format!("rôle « {r} »")))).transpose()
    }

    pub async fn members(&self, convention_id: i64) -> Result<Vec<Member>> {
        let rows: Vec<(i64, String)> = with_db!(self, pool => {
            sqlx::query_as("SELECT r.user_id, r.role FROM convention_role r JOIN app_user u ON u.id = r.user_id WHERE r.convention_id = $1 ORDER BY u.name")
                .bind(convention_id)
                .fetch_all(pool)
                .await?
        });
        let mut out = Vec::with_capacity(rows.len());
        for (user_id, role) in rows {
            let role = Role::parse(&role).map_err(|_| StoreError::Corrupt(format!("rôle « {role} »")))?;
            out.push(Member { user: self.user(user_id).await?, role });
        }
        Ok(out)
    }

    /// Grants `role` to a user in a convention, or revokes their role with `None`. The last active
    /// coordinator of a convention keeps their role: it is refused, whoever asks.
    pub async fn set_role(&self, actor: &Actor, convention_id: i64, user_id: i64, role: Option<Role>) -> Result<()> {
        let user = self.user(user_id).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            // Locks the convention's row first, then reads the role: two coordinators stepping down at
            // once are told apart, and the second sees that the first has gone (PostgreSQL reads what
            // was committed before each statement; SQLite holds one writer at a time).
            sqlx::query("UPDATE convention SET version = version WHERE id = $1")
                .bind(convention_id)
                .execute(&mut *tx)
                .await?;
            let before: Option<(String,)> =
                sqlx::query_as("SELECT role FROM convention_role WHERE user_id = $1 AND convention_id = $2")
                    .bind(user_id)
                    .bind(convention_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let before = before
                .map(|(r,)| Role::parse(&r).map_err(|_| StoreError::Corrupt(format!("rôle « {r} »"))))
                .transpose()?;
            if before == Some(Role::Coordination) && role != Some(Role::Coordination) {
                let (others,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM convention_role r JOIN app_user u ON u.id = r.user_id \
                     WHERE r.convention_id = $1 AND r.role = $2 AND r.user_id <> $3 \
                     AND u.disabled_at IS NULL AND u.erased_at IS NULL",
                )
                .bind(convention_id)
                .bind(Role::Coordination.code())
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
                if others == 0 {
                    return Err(StoreError::Invalid(format!(
                        "{} est la dernière personne à avoir le rôle « Coordination » de cette convention : \
                         donnez d'abord ce rôle à quelqu'un d'autre, puis retirez-le-lui",
                        user.name
                    )));
                }
            }
            match role {
                Some(r) => {
                    sqlx::query(
                        "INSERT INTO convention_role (user_id, convention_id, role) VALUES ($1, $2, $3) \
                         ON CONFLICT (user_id, convention_id) DO UPDATE SET role = excluded.role",
                    )
                    .bind(user_id)
                    .bind(convention_id)
                    .bind(r.code())
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query("DELETE FROM convention_role WHERE user_id = $1 AND convention_id = $2")
                        .bind(user_id)
                        .bind(convention_id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "role",
                object_id: format!("{convention_id}:{user_id}"),
                object_label: format!("rôle de {} <{}>", user.name, user.email),
                action: match (before, role) {
                    (None, Some(_)) => "creation",
                    (Some(_), None) => "suppression",
                    _ => "modification",
                },
                before: before.map(|r| json!({"role": r.code()})),
                after: role.map(|r| json!({"role": r.code()})),
                actor,
            });
            tx.commit().await?;
        });
        Ok(())
    }
}
