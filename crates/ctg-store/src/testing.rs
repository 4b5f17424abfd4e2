//! Databases for tests: each test gets its own, on either backend.
//!
//! - SQLite: a file in a fresh temporary directory, removed when the [`TestDb`] is dropped.
//! - PostgreSQL: a fresh schema in the server named by `CTG_TEST_POSTGRES_URL`
//!   (for example `postgres://postgres@127.0.0.1:5432/postgres`), dropped when the test ends well.
//!
//! A PostgreSQL test without `CTG_TEST_POSTGRES_URL` fails with a message that says so: it never
//! passes without having run. `./test.sh` leaves those tests out, and says so, when no server answers.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::{Backend, Store};

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_ENV: &str = "CTG_TEST_POSTGRES_URL";

#[derive(Debug)]
pub struct TestDb {
    pub store: Store,
    pub url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Dir(#[allow(dead_code)] tempfile::TempDir),
    Schema { admin_url: String, schema: String },
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    /// A new, migrated, empty database on `backend`.
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                let store = Store::open(&url).await.expect("open the SQLite test database");
                Self { store, url, cleanup: Cleanup::Dir(dir) }
            }
            Backend::Postgres => {
                let admin_url = std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
                    panic!("{POSTGRES_ENV} is not set: this test needs a PostgreSQL server (./test.sh sets it or skips the suite)")
                });
                let schema = format!(
                    "t_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.subsec_nanos())
                        .unwrap_or_default()
                );
                let admin = Store::connect(&admin_url).await.expect("connect to the PostgreSQL test server");
                if let crate::Db::Postgres(pool) = &admin.db {
                    sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(pool).await.expect("create schema");
                }
                admin.close().await;
                let sep = if admin_url.contains('?') { '&' } else { '?' };
                let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
                let store = Store::open(&url).await.expect("open the PostgreSQL test schema");
                Self { store, url, cleanup: Cleanup::Schema { admin_url, schema } }
            }
        }
    }

    /// Closes the pool and drops the PostgreSQL schema. Call it at the end of a test.
    pub async fn finish(self) {
        self.store.close().await;
        if let Cleanup::Schema { admin_url, schema } = &self.cleanup {
            if let Ok(admin) = Store::connect(admin_url).await {
                if let crate::Db::Postgres(pool) = &admin.db {
                    let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(pool).await;
                }
                admin.close().await;
            }
        }
    }
}

/// Declares one async test per backend from one body: `backend_tests!(name, |db| async move { … })`
/// gives `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! backend_tests {
    ($(#[$meta:meta])* $name:ident, $body:expr) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                let db = $crate::testing::TestDb::new($crate::Backend::Sqlite).await;
                ($body)(&db).await;
                db.finish().await;
            }

            #[tokio::test]
            async fn postgres() {
                let db = $crate::testing::TestDb::new($crate::Backend::Postgres).await;
                ($body)(&db).await;
                db.finish().await;
            }
        }
    };
}

/// Makes a convention a draft that nobody has signed, as if its signatures had not been recorded:
/// for the tests of direct edits (title, dates, parties, strategy), which art. 12 forbids once every
/// party has signed. Never used by the platform itself.
pub async fn as_draft(store: &Store, convention_id: i64) {
    crate::with_db!(store, pool => {
        sqlx::query("UPDATE party SET signature_date = NULL, signature_month_only = FALSE WHERE convention_id = $1")
            .bind(convention_id)
            .execute(pool)
            .await
            .expect("signatures removed");
        sqlx::query("UPDATE convention SET status = 'brouillon' WHERE id = $1")
            .bind(convention_id)
            .execute(pool)
            .await
            .expect("recorded as a draft");
        sqlx::query(crate::audit::RAISE_CONVENTION_REVISION)
        .bind(convention_id)
        .bind(0_i64)
        .execute(pool)
        .await
        .expect("revision raised");
    });
}
