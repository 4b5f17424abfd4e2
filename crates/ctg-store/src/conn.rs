//! One connection of either backend, so that a read is written once and runs as well on a connection
//! of the pool as inside a write's transaction (the "before" image of a versioned write is read there).

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, Postgres, Sqlite, SqliteConnection, Transaction};

use crate::{Db, Result, Store};

/// A connection borrowed from the pool or from a transaction.
#[derive(Debug)]
pub(crate) enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

/// Runs the same body on whichever backend `$conn` (a `&mut Conn`) is; `$c` is bound to the typed
/// connection (`&mut SqliteConnection` or `&mut PgConnection`): queries take `&mut *$c`.
macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match &mut *$conn {
            $crate::conn::Conn::Sqlite(conn) => {
                let $c: &mut sqlx::SqliteConnection = conn;
                $body
            }
            $crate::conn::Conn::Postgres(conn) => {
                let $c: &mut sqlx::PgConnection = conn;
                $body
            }
        }
    };
}
pub(crate) use with_conn;

/// A connection taken from the pool for a few reads; it goes back to the pool when dropped.
#[derive(Debug)]
pub(crate) enum PoolConn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl PoolConn {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Self::Sqlite(c) => Conn::Sqlite(c),
            Self::Postgres(c) => Conn::Postgres(c),
        }
    }
}

/// A transaction of either backend; rolled back when dropped without [`Tx::commit`].
#[derive(Debug)]
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Self::Sqlite(t) => Conn::Sqlite(t),
            Self::Postgres(t) => Conn::Postgres(t),
        }
    }

    pub(crate) async fn commit(self) -> Result<()> {
        match self {
            Self::Sqlite(t) => t.commit().await?,
            Self::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    pub(crate) async fn rollback(self) -> Result<()> {
        match self {
            Self::Sqlite(t) => t.rollback().await?,
            Self::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}

impl Store {
    /// A connection of the pool, for reads written on [`Conn`].
    pub(crate) async fn acquire(&self) -> Result<PoolConn> {
        Ok(match &self.db {
            Db::Sqlite(pool) => PoolConn::Sqlite(pool.acquire().await?),
            Db::Postgres(pool) => PoolConn::Postgres(pool.acquire().await?),
        })
    }

    /// A transaction that only reads, all its queries from one snapshot of the database.
    pub(crate) async fn begin_snapshot(&self) -> Result<Tx> {
        Ok(match &self.db {
            // A read transaction of SQLite already is one snapshot.
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
                Tx::Postgres(tx)
            }
        })
    }

    /// A transaction that writes. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so
    /// that what it reads before writing cannot be overtaken by another writer: a second writer waits
    /// for it (up to the busy timeout) instead of failing when it comes to write.
    pub(crate) async fn begin_write(&self) -> Result<Tx> {
        Ok(match &self.db {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }
}
