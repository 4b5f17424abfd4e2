//! Persistence of the CTG platform behind one interface, [`Store`], with two real backends:
//! SQLite (embedded, the default) and PostgreSQL (for many territories and many servers).
//!
//! Every query is written once, in the SQL both engines accept (`$1` placeholders, `ON CONFLICT`,
//! `RETURNING`), and compiled twice by the [`with_db!`] macro, once per backend, so that each engine
//! gets its native types (`DATE` and `BIGINT` on PostgreSQL, ISO text and integers on SQLite).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use thiserror::Error;

mod accounts;
pub mod audit;
mod backup;
mod cache;
mod commitments;
mod conn;
mod convention;
mod diagnostic;
mod documents;
mod gdpr;
mod governance;
mod life;
mod logos;
mod offer;
mod opendata;
mod outbox;
mod plan;
mod prefill;
mod sppe;
mod strategy;
mod territory;
#[cfg(feature = "testing")]
pub mod testing;
mod versioned;

pub use accounts::*;
pub use audit::{AuditEntry, HistoryFilter, WriteStamp};
pub use backup::{manifest_path, AuditDigest, Manifest, RestoreReport};
pub use cache::{SingleFlight, StampedCache};
pub use commitments::*;
pub use convention::*;
pub use documents::*;
pub use gdpr::*;
pub use governance::*;
pub use life::*;
pub use logos::PartyLogo;
pub use offer::*;
pub use opendata::*;
pub use outbox::*;
pub use plan::*;
pub use prefill::*;
pub use strategy::*;
pub use territory::*;

/// The default database: an SQLite file in the current directory, created if missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://ctg.db";

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("adresse de base de données non reconnue « {0} » : elle doit commencer par sqlite:// ou postgres://")]
    UnsupportedUrl(String),
    #[error("{0} introuvable")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("les communes suivantes sont inconnues : {}", .0.join(", "))]
    UnknownCommunes(Vec<String>),
    /// Saving from a stale version: someone else changed the object since it was read.
    #[error("{what} a été modifié(e) entre-temps")]
    Stale { what: String, last_change: Option<Box<AuditEntry>> },
    #[error("donnée inattendue en base : {0}")]
    Corrupt(String),
    #[error("erreur de la base de données")]
    Database(#[from] sqlx::Error),
    #[error("échec des migrations de la base de données")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same body against whichever backend the store holds; `$pool` is bound to the typed pool.
macro_rules! with_db {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            $crate::Db::Sqlite($pool) => $body,
            $crate::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_db;

/// The storage of the platform. Cheap to clone: it holds a connection pool.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    /// EPCIs with their communes and populations, at the territory revision they were read at.
    epcis: Arc<StampedCache<String, i64, EpciDetail>>,
    /// Each convention with the facts of its life, at its write stamp ([`Store::write_stamps`]).
    lives: Arc<StampedCache<i64, WriteStamp, Parts>>,
    /// The plans read last, at their write stamp ([`Store::plan`]).
    plans: Arc<StampedCache<i64, WriteStamp, Arc<Plan>>>,
    /// Where each convention reaches (départements, parties' organisations), at its write stamp.
    reaches: Arc<StampedCache<i64, WriteStamp, ConventionReach>>,
}

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Store {
    /// Connects to `sqlite://PATH` (the file is created if missing, in WAL mode) or `postgres://…`.
    /// Does not run the migrations: call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Self> {
        let db = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // 64 MiB of page cache per connection (allocated only as used): an import of all of
                // France then stays in memory until its commit.
                .pragma("cache_size", "-65536")
                .pragma("temp_store", "memory")
                .page_size(16384);
            // sqlx tests every connection when it is given back (a round trip to the engine); testing
            // it again when it is taken would double that for every query of every page.
            let pool =
                SqlitePoolOptions::new().max_connections(8).test_before_acquire(false).connect_with(options).await?;
            Db::Sqlite(pool)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await?;
            Db::Postgres(pool)
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        Ok(Self {
            db,
            // Every EPCI and every convention of a national host fit; plans are large (up to 200
            // fiches), only those read recently stay.
            epcis: Arc::new(StampedCache::new(2_000)),
            lives: Arc::new(StampedCache::new(5_000)),
            plans: Arc::new(StampedCache::new(128)),
            reaches: Arc::new(StampedCache::new(5_000)),
        })
    }

    /// Connects and brings the schema up to date.
    pub async fn open(url: &str) -> Result<Self> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations that have not run yet.
    pub async fn migrate(&self) -> Result<()> {
        match &self.db {
            Db::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Db::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        self.sync_facility_types().await
    }

    pub fn backend(&self) -> Backend {
        match self.db {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// Answers when the database answers.
    pub async fn ping(&self) -> Result<()> {
        with_db!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Runs one SQL statement as it is. For maintenance and tests: the application itself never
    /// writes SQL that does not go through the functions of this crate.
    pub async fn execute_raw(&self, sql: &str) -> Result<u64> {
        with_db!(self, pool => Ok(sqlx::raw_sql(sql).execute(pool).await?.rows_affected()))
    }

    pub async fn close(&self) {
        with_db!(self, pool => pool.close().await);
    }
}

/// Hides the password of a database URL so that it can be logged or shown.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &userinfo[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_leave_the_url() {
        assert_eq!(redact_url("postgres://ctg:s3cret@db:5432/ctg"), "postgres://ctg:***@db:5432/ctg");
        assert_eq!(redact_url("sqlite://ctg.db"), "sqlite://ctg.db");
        assert_eq!(redact_url("postgres://ctg@db/ctg"), "postgres://ctg@db/ctg");
    }
}
