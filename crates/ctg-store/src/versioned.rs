//! The skeleton of a versioned write, written once.
//!
//! An object a user edits carries a `version`, sent back with the edit: saving from a version that is
//! no longer the stored one is refused ([`StoreError::Stale`], naming who changed the object and
//! when), and nothing is written. Every such write goes through [`Store::versioned_write`], which, in
//! one transaction:
//!
//! 1. reads what the write needs of the stored object, its "before" image among it (`load`);
//! 2. compares the version sent with the stored one and raises it by one, in one statement
//!    (`UPDATE … SET version = version + 1 WHERE id = … AND version = …`), which also locks the row
//!    until the end of the transaction;
//! 3. records the audit entry that `load` prepared;
//! 4. writes the change (`write`), which leaves `version` alone;
//! 5. commits, and gives the new version.
//!
//! Anything that fails rolls everything back. The order of the errors is that of the steps: an object
//! that does not exist, or an edit the stored object refuses, is reported before a stale version.

use crate::audit::{record, Change};
use crate::conn::{with_conn, Conn};
use crate::{Result, Store};

/// The row a versioned write changes and the version its author read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Versioned {
    /// The table holding the row and its `version` column (a name written in the code, never input).
    pub table: &'static str,
    pub id: i64,
    /// The version the author read; `None` for the version stored when the transaction reads the row
    /// (a write whose author sends none, such as a signature).
    pub version: Option<i64>,
}

/// What the first step of a versioned write read in its transaction.
#[derive(Debug)]
pub(crate) struct Loaded<'a, T> {
    /// The object as a stale-version error names it: « la convention « CTG 2026-2030 » ».
    pub what: String,
    /// The audit entry of the write, its before image read in the transaction. Its `object_type` and
    /// the row's id also find the last change of the object for a stale-version error.
    pub change: Change<'a>,
    /// Whatever else the write needs of what was read.
    pub data: T,
}

impl<'a> Loaded<'a, ()> {
    pub(crate) fn new(what: String, change: Change<'a>) -> Self {
        Self { what, change, data: () }
    }
}

impl<'a, T> Loaded<'a, T> {
    pub(crate) fn with<U>(self, data: U) -> Loaded<'a, U> {
        Loaded { what: self.what, change: self.change, data }
    }
}

impl Store {
    /// Runs a versioned write (see the [module](self)) and gives the row's new version.
    pub(crate) async fn versioned_write<'a, T>(
        &self,
        row: Versioned,
        load: impl AsyncFnOnce(&mut Conn<'_>) -> Result<Loaded<'a, T>>,
        write: impl AsyncFnOnce(&mut Conn<'_>, T) -> Result<()>,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let loaded = load(&mut tx.conn()).await?;
        let version = match row.version {
            Some(v) => v,
            None => stored_version(&mut tx.conn(), row).await?,
        };
        if !claim(&mut tx.conn(), row, version).await? {
            tx.rollback().await?;
            return Err(self.stale(loaded.what, loaded.change.object_type, row.id).await);
        }
        record_change(&mut tx.conn(), &loaded.change).await?;
        write(&mut tx.conn(), loaded.data).await?;
        tx.commit().await?;
        Ok(version + 1)
    }
}

/// Raises the row's version from `version`; false when it is no longer at that version.
async fn claim(conn: &mut Conn<'_>, row: Versioned, version: i64) -> Result<bool> {
    let sql = format!("UPDATE {} SET version = version + 1 WHERE id = $1 AND version = $2", row.table);
    let done = with_conn!(conn, c => {
        sqlx::query(&sql).bind(row.id).bind(version).execute(&mut *c).await?.rows_affected()
    });
    Ok(done == 1)
}

async fn stored_version(conn: &mut Conn<'_>, row: Versioned) -> Result<i64> {
    let sql = format!("SELECT version FROM {} WHERE id = $1", row.table);
    let (version,): (i64,) = with_conn!(conn, c => sqlx::query_as(&sql).bind(row.id).fetch_one(&mut *c).await?);
    Ok(version)
}

async fn record_change(conn: &mut Conn<'_>, change: &Change<'_>) -> Result<()> {
    with_conn!(conn, c => record!(&mut *c, change));
    Ok(())
}
