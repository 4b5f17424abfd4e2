//! Backups taken while the platform runs, and their restoration into an empty database, checked.
//!
//! - SQLite: `VACUUM INTO` writes a consistent copy of the database (one read transaction) while the
//!   server keeps writing.
//! - PostgreSQL: `pg_dump` (custom format) reads a snapshot exported by a repeatable-read transaction
//!   of ours, so that the figures of the manifest and the dump are the same state; `pg_restore`
//!   restores it.
//!
//! Every backup comes with a [`Manifest`]: the SHA-256 of the file, the rows of each table, and the
//! digest of the audit trail (every change, in order: id, time, object, action). A restoration checks
//! the file against its hash, then the restored database against the manifest, table by table and
//! change by change, and refuses a database that is not empty: nothing is ever overwritten.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Connection;

use crate::documents::sha256_hex;
use crate::{Backend, Result, Store, StoreError};

/// What a backup holds, written beside it (`<file>.manifeste.json`) and checked at restoration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// `sqlite` or `postgresql`.
    pub moteur: String,
    /// When the backup was taken (UTC, RFC 3339).
    pub prise_le: String,
    /// The SHA-256 of the backup file.
    pub sha256: String,
    /// Rows of each table of the platform.
    pub tables: BTreeMap<String, i64>,
    /// The audit trail: how many changes, the last one's number, and the digest of them all in order.
    pub journal: AuditDigest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDigest {
    pub changements: i64,
    pub dernier: Option<i64>,
    pub empreinte: String,
}

/// What a restoration checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    pub tables: usize,
    pub rows: i64,
    pub changes: i64,
}

/// The file of the manifest of a backup.
pub fn manifest_path(backup: &Path) -> std::path::PathBuf {
    let mut name = backup.as_os_str().to_owned();
    name.push(".manifeste.json");
    name.into()
}

/// The tables of the platform (the migrations' own bookkeeping left out).
const TABLES_SQLITE: &str = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
     AND name <> '_sqlx_migrations' ORDER BY name";
const TABLES_POSTGRES: &str =
    "SELECT table_name::TEXT FROM information_schema.tables WHERE table_schema = current_schema() \
     AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations' ORDER BY table_name";
const AUDIT: &str = "SELECT id, at, object_type, object_id, action FROM audit_event ORDER BY id";

/// Counts and digest, read on one connection (a snapshot when it runs in a transaction).
macro_rules! read_state {
    ($conn:expr, $tables_sql:expr, $at:ty) => {{
        let names: Vec<(String,)> = sqlx::query_as($tables_sql).fetch_all(&mut *$conn).await?;
        let mut tables = BTreeMap::new();
        for (name,) in names {
            let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM \"{}\"", name.replace('"', "")))
                .fetch_one(&mut *$conn)
                .await?;
            tables.insert(name, n);
        }
        let rows: Vec<(i64, $at, String, String, String)> = sqlx::query_as(AUDIT).fetch_all(&mut *$conn).await?;
        let mut hash = Sha256::new();
        for (id, at, object_type, object_id, action) in &rows {
            hash.update(format!("{id}\t{at}\t{object_type}\t{object_id}\t{action}\n").as_bytes());
        }
        let journal = AuditDigest {
            changements: rows.len() as i64,
            dernier: rows.last().map(|r| r.0),
            empreinte: hash.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        };
        (tables, journal)
    }};
}

fn sqlite_path(url: &str) -> Result<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::UnsupportedUrl(url.to_owned()))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Err(StoreError::Invalid("une base SQLite en mémoire ne se sauvegarde ni ne se restaure".into()));
    }
    Ok(path.into())
}

fn run(program: &str, args: &[&str]) -> Result<()> {
    let out = std::process::Command::new(program).args(args).output().map_err(|e| {
        StoreError::Invalid(format!(
            "{program} est introuvable ({e}) : installez le client PostgreSQL de la même version que le serveur (paquet Debian postgresql-client)"
        ))
    })?;
    if !out.status.success() {
        return Err(StoreError::Invalid(format!(
            "{program} a échoué : {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

fn file_hash(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path)
        .map_err(|e| StoreError::Invalid(format!("le fichier « {} » est illisible : {e}", path.display())))?;
    Ok(sha256_hex(&bytes))
}

impl Store {
    /// Writes a consistent copy of the database to `file` (which must not exist) while the platform
    /// runs, and returns its manifest. `url` is the database's address (PostgreSQL: for `pg_dump`).
    pub async fn backup(&self, url: &str, file: &Path) -> Result<Manifest> {
        if file.exists() {
            return Err(StoreError::Invalid(format!(
                "le fichier « {} » existe déjà : une sauvegarde n'en écrase jamais une autre, choisissez un autre nom",
                file.display()
            )));
        }
        let target = file.to_str().ok_or_else(|| StoreError::Invalid("le nom du fichier doit être en UTF-8".into()))?;
        let prise_le = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let (moteur, tables, journal) = match self.backend() {
            Backend::Sqlite => {
                crate::with_db!(self, pool => {
                    sqlx::query("VACUUM INTO $1").bind(target).execute(pool).await?;
                });
                // The figures of the copy itself.
                let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{target}?mode=ro")).await?;
                let (tables, journal) = read_state!(&mut conn, TABLES_SQLITE, String);
                conn.close().await?;
                ("sqlite", tables, journal)
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(url).await?;
                let mut tx = conn.begin().await?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
                let (snapshot,): (String,) = sqlx::query_as("SELECT pg_export_snapshot()").fetch_one(&mut *tx).await?;
                let (tables, journal) = read_state!(&mut *tx, TABLES_POSTGRES, chrono::DateTime<chrono::Utc>);
                let (schema,): (String,) = sqlx::query_as("SELECT current_schema()::TEXT").fetch_one(&mut *tx).await?;
                // pg_dump runs while our transaction holds the snapshot open (it blocks this thread:
                // a backup is a command of its own, never a request of the server).
                let mut args = vec![
                    "--format=custom".to_owned(),
                    "--no-owner".to_owned(),
                    "--no-privileges".to_owned(),
                    format!("--snapshot={snapshot}"),
                    format!("--file={target}"),
                    format!("--dbname={url}"),
                ];
                if schema != "public" {
                    args.push(format!("--schema={schema}"));
                }
                let dump = run("pg_dump", &args.iter().map(String::as_str).collect::<Vec<_>>());
                tx.commit().await?;
                dump?;
                ("postgresql", tables, journal)
            }
        };
        Ok(Manifest { moteur: moteur.into(), prise_le, sha256: file_hash(file)?, tables, journal })
    }

    /// Restores the backup `file`, described by `manifest`, into the empty database `url`, then checks
    /// the restored database against the manifest.
    pub async fn restore(url: &str, file: &Path, manifest: &Manifest) -> Result<(Store, RestoreReport)> {
        let hash = file_hash(file)?;
        if hash != manifest.sha256 {
            return Err(StoreError::Invalid(format!(
                "le fichier « {} » ne correspond pas à son manifeste (empreinte SHA-256 différente) : il a été modifié ou tronqué",
                file.display()
            )));
        }
        let source = file.to_str().ok_or_else(|| StoreError::Invalid("le nom du fichier doit être en UTF-8".into()))?;
        let postgres = url.starts_with("postgres:") || url.starts_with("postgresql:");
        match (manifest.moteur.as_str(), postgres) {
            ("sqlite", false) => {
                let path = sqlite_path(url)?;
                let empty = match std::fs::metadata(&path) {
                    Err(_) => true,
                    Ok(m) if m.len() == 0 => true,
                    Ok(_) => {
                        let store = Store::connect(url).await?;
                        let n = store.table_count().await?;
                        store.close().await;
                        n == 0
                    }
                };
                if !empty {
                    return Err(not_empty(url));
                }
                std::fs::copy(file, &path)
                    .map_err(|e| StoreError::Invalid(format!("la copie vers « {} » a échoué : {e}", path.display())))?;
            }
            ("postgresql", true) => {
                let store = Store::connect(url).await?;
                let n = store.table_count().await?;
                store.close().await;
                if n != 0 {
                    return Err(not_empty(url));
                }
                run(
                    "pg_restore",
                    &[
                        "--no-owner",
                        "--no-privileges",
                        "--exit-on-error",
                        "--single-transaction",
                        &format!("--dbname={url}"),
                        source,
                    ],
                )?;
            }
            (moteur, _) => {
                return Err(StoreError::Invalid(format!(
                    "cette sauvegarde vient d'une base {moteur} : elle se restaure dans une base du même moteur"
                )))
            }
        }
        let store = Store::connect(url).await?;
        let report = store.check_against(manifest).await?;
        store.migrate().await?;
        Ok((store, report))
    }

    /// How many tables of the platform the database holds.
    async fn table_count(&self) -> Result<usize> {
        let sql = match self.backend() {
            Backend::Sqlite => TABLES_SQLITE,
            Backend::Postgres => TABLES_POSTGRES,
        };
        crate::with_db!(self, pool => {
            let names: Vec<(String,)> = sqlx::query_as(sql).fetch_all(pool).await?;
            Ok(names.len())
        })
    }

    /// Compares the database with a manifest: every table and its rows, the audit trail's digest.
    pub async fn check_against(&self, manifest: &Manifest) -> Result<RestoreReport> {
        let (tables, journal) = match &self.db {
            crate::Db::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                read_state!(&mut *conn, TABLES_SQLITE, String)
            }
            crate::Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                read_state!(&mut *conn, TABLES_POSTGRES, chrono::DateTime<chrono::Utc>)
            }
        };
        let mut differences = Vec::new();
        for (name, expected) in &manifest.tables {
            match tables.get(name) {
                None => differences.push(format!("la table {name} manque")),
                Some(n) if n != expected => differences.push(format!("{name} : {n} lignes au lieu de {expected}")),
                Some(_) => {}
            }
        }
        if journal != manifest.journal {
            differences.push(format!(
                "le journal des modifications diffère ({} changements, dernier n° {:?} ; attendu {} changements, dernier n° {:?})",
                journal.changements, journal.dernier, manifest.journal.changements, manifest.journal.dernier
            ));
        }
        if !differences.is_empty() {
            return Err(StoreError::Corrupt(format!(
                "la base restaurée ne correspond pas à la sauvegarde : {}",
                differences.join(" ; ")
            )));
        }
        Ok(RestoreReport {
            tables: manifest.tables.len(),
            rows: manifest.tables.values().sum(),
            changes: journal.changements,
        })
    }
}

fn not_empty(url: &str) -> StoreError {
    StoreError::Invalid(format!(
        "la base « {} » n'est pas vide : une restauration ne se fait que dans une base neuve, pour ne rien écraser",
        crate::redact_url(url)
    ))
}
