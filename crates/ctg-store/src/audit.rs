//! The audit trail: every change, by page, API or command line, records who, when, which object, and
//! the values before and after, in the same transaction as the change. The table is append-only for
//! the application (database triggers refuse updates and deletes), except the GDPR pseudonymisation
//! of an entry, which may happen once.

use chrono::{DateTime, Utc};
use ctg_domain::{Actor, Channel};
use serde_json::Value;

use crate::{with_db, Result, Store, StoreError};

/// One change, as written to the trail.
#[derive(Debug, Clone)]
pub struct Change<'a> {
    pub convention_id: Option<i64>,
    /// `convention`, `partie`, `utilisateur`, `role`, `jeton`, `registre`, `accord`…
    pub object_type: &'static str,
    pub object_id: String,
    /// A readable name of the object at the time of the change.
    pub object_label: String,
    /// `creation`, `modification`, `suppression`, `effacement`.
    pub action: &'static str,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub actor: &'a Actor,
}

/// Writes a [`Change`] with the executor given (a transaction), stamped now.
macro_rules! record {
    ($exec:expr, $change:expr) => {{
        let c: &$crate::audit::Change<'_> = $change;
        sqlx::query(
            "INSERT INTO audit_event (at, actor_id, actor_label, channel, convention_id, object_type, object_id, \
             object_label, action, before_json, after_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(chrono::Utc::now())
        .bind(c.actor.user_id)
        .bind(c.actor.label.as_str())
        .bind(c.actor.channel.code())
        .bind(c.convention_id)
        .bind(c.object_type)
        .bind(c.object_id.as_str())
        .bind(c.object_label.as_str())
        .bind(c.action)
        .bind(c.before.as_ref().map(|v| v.to_string()))
        .bind(c.after.as_ref().map(|v| v.to_string()))
        .execute($exec)
        .await?;
        // The revision that what servers keep computed depends on (see Store::write_stamps).
        match c.convention_id {
            Some(id) => {
                sqlx::query($crate::audit::RAISE_CONVENTION_REVISION)
                    .bind(id)
                    .bind($crate::audit::next_revision_slot())
                    .execute($exec)
                    .await?
            }
            None => {
                sqlx::query("UPDATE data_revision SET revision = revision + 1 WHERE name = 'journal'")
                    .execute($exec)
                    .await?
            }
        };
    }};
}
pub(crate) use record;

/// Raises counter `$2` of the revision of convention `$1` (see [`next_revision_slot`]).
pub(crate) const RAISE_CONVENTION_REVISION: &str = "INSERT INTO convention_revision (convention_id, slot, revision) \
     VALUES ($1, $2, 1) ON CONFLICT (convention_id, slot) DO UPDATE SET revision = convention_revision.revision + 1";

/// How many counters make the revision of a convention (table `convention_revision`): writers of one
/// convention that raise different counters do not wait for each other's commit.
const REVISION_SLOTS: u32 = 16;

/// The counter the next audited write of this server raises, in turn.
pub(crate) fn next_revision_slot() -> i64 {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    i64::from(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % REVISION_SLOTS)
}

/// An entry of the trail, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub channel: Channel,
    pub convention_id: Option<i64>,
    pub object_type: String,
    pub object_id: String,
    pub object_label: String,
    pub action: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl AuditEntry {
    /// The fields whose value changed, with before and after, in the order of the object.
    pub fn changed_fields(&self) -> Vec<(String, String, String)> {
        let empty = serde_json::Map::new();
        let before = self.before.as_ref().and_then(Value::as_object).unwrap_or(&empty);
        let after = self.after.as_ref().and_then(Value::as_object).unwrap_or(&empty);
        let mut keys: Vec<&String> = after.keys().chain(before.keys()).collect();
        keys.dedup();
        let mut seen = std::collections::HashSet::new();
        keys.into_iter()
            .filter(|k| seen.insert(*k))
            .filter(|k| before.get(*k) != after.get(*k))
            .map(|k| (k.clone(), show(before.get(k)), show(after.get(k))))
            .collect()
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(true)) => "oui".into(),
        Some(Value::Bool(false)) => "non".into(),
        Some(other) => other.to_string(),
    }
}

/// What to show of the trail.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub convention_id: Option<i64>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub actor_id: Option<i64>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    at: DateTime<Utc>,
    actor_id: Option<i64>,
    actor_label: String,
    channel: String,
    convention_id: Option<i64>,
    object_type: String,
    object_id: String,
    object_label: String,
    action: String,
    before_json: Option<String>,
    after_json: Option<String>,
}

impl Row {
    fn into_entry(self) -> Result<AuditEntry> {
        let parse = |s: Option<String>| -> Result<Option<Value>> {
            s.map(|s| serde_json::from_str(&s).map_err(|_| StoreError::Corrupt(format!("journal n° {}", self.id))))
                .transpose()
        };
        Ok(AuditEntry {
            id: self.id,
            at: self.at,
            actor_id: self.actor_id,
            channel: Channel::parse(&self.channel)
                .ok_or_else(|| StoreError::Corrupt(format!("canal « {} »", self.channel)))?,
            convention_id: self.convention_id,
            object_type: self.object_type,
            object_id: self.object_id,
            object_label: self.object_label,
            action: self.action,
            before: parse(self.before_json)?,
            after: parse(self.after_json)?,
            actor_label: self.actor_label,
        })
    }
}

/// When what a server computed of a convention was read: the convention's revision and that of the
/// shared data. Every audited write raises one of them in its transaction (see `record!`), so that a
/// result computed at a stamp stays true while the database says the same stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteStamp {
    pub convention: i64,
    pub shared: i64,
}

impl Store {
    /// The write stamp of each convention of `ids` (absent when it does not exist), in one small
    /// query whatever their number (up to 500).
    pub async fn write_stamps(&self, ids: &[i64]) -> Result<std::collections::HashMap<i64, WriteStamp>> {
        let mut out = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows: Vec<(i64, i64, i64)> = with_db!(self, pool => {
                let mut q = sqlx::QueryBuilder::new(
                    "SELECT c.id, CAST(COALESCE((SELECT SUM(r.revision) FROM convention_revision r \
                     WHERE r.convention_id = c.id), 0) AS BIGINT), j.revision FROM convention c \
                     JOIN data_revision j ON j.name = 'journal' WHERE c.id IN (",
                );
                let mut list = q.separated(", ");
                for &id in chunk {
                    list.push_bind(id);
                }
                q.push(")");
                q.build_query_as().fetch_all(pool).await?
            });
            for (id, convention, shared) in rows {
                out.insert(id, WriteStamp { convention, shared });
            }
        }
        Ok(out)
    }
    /// Entries of the trail matching `filter`, the most recent first.
    pub async fn history(&self, filter: &HistoryFilter) -> Result<Vec<AuditEntry>> {
        let rows: Vec<Row> = with_db!(self, pool => {
            let mut q = sqlx::QueryBuilder::new(
                "SELECT id, at, actor_id, actor_label, channel, convention_id, object_type, object_id, object_label, \
                 action, before_json, after_json FROM audit_event WHERE 1 = 1",
            );
            if let Some(c) = filter.convention_id {
                q.push(" AND convention_id = ").push_bind(c);
            }
            if let Some(t) = &filter.object_type {
                q.push(" AND object_type = ").push_bind(t.clone());
            }
            if let Some(o) = &filter.object_id {
                q.push(" AND object_id = ").push_bind(o.clone());
            }
            if let Some(a) = filter.actor_id {
                q.push(" AND actor_id = ").push_bind(a);
            }
            if let Some(f) = filter.from {
                q.push(" AND at >= ").push_bind(f);
            }
            if let Some(t) = filter.to {
                q.push(" AND at < ").push_bind(t);
            }
            q.push(" ORDER BY id DESC LIMIT ").push_bind(filter.limit.unwrap_or(1000).max(1));
            q.build_query_as().fetch_all(pool).await?
        });
        rows.into_iter().map(Row::into_entry).collect()
    }

    /// The error for an edit made from a stale version of an object: it names the object and carries
    /// its last change, to say who changed it and when.
    pub(crate) async fn stale(&self, what: String, object_type: &str, id: i64) -> StoreError {
        match self.last_change(object_type, &id.to_string()).await {
            Ok(last) => StoreError::Stale { what, last_change: last.map(Box::new) },
            Err(e) => e,
        }
    }

    /// The last change of an object, to say who changed it when an edit comes too late.
    pub async fn last_change(&self, object_type: &str, object_id: &str) -> Result<Option<AuditEntry>> {
        let mut entries = self
            .history(&HistoryFilter {
                object_type: Some(object_type.to_owned()),
                object_id: Some(object_id.to_owned()),
                limit: Some(1),
                ..HistoryFilter::default()
            })
            .await?;
        Ok(entries.pop())
    }
}
