//! Communes, EPCIs and populations.

use std::collections::{BTreeMap, HashSet};

use ctg_domain::{
    CommunePopulations, EpciKind, InseeCode, Population, PopulationRecord, Siren, TerritoryBatch, Vintage,
};
use sqlx::QueryBuilder;

use ctg_domain::Actor;
use serde_json::json;

use crate::audit::{record, Change};
use crate::{with_db, Backend, Result, Store, StoreError};

/// The revision of communes, EPCIs and populations, bumped by every import that changes them.
const TERRITORY: &str = "territoire";

/// Rows per JSON array bound to one statement: large enough to leave per-statement costs behind,
/// small enough for the progress bar to move.
pub(crate) const JSON_CHUNK: usize = 10_000;

/// `SELECT <columns> FROM <the rows of the JSON array bound to $1>`, in the dialect of `backend`. Each
/// row is a JSON array; `types` gives the SQL type of each column, to which PostgreSQL casts. Binding
/// one array instead of thousands of parameters lets the engine do the work of unpacking rows.
pub(crate) fn json_rows(backend: Backend, types: &[&str]) -> String {
    match backend {
        Backend::Sqlite => format!(
            "SELECT {} FROM json_each($1) WHERE true",
            (0..types.len()).map(|i| format!("value ->> {i}")).collect::<Vec<_>>().join(", ")
        ),
        Backend::Postgres => format!(
            "SELECT {} FROM json_array_elements($1::json) AS r",
            types.iter().enumerate().map(|(i, t)| format!("(r ->> {i})::{t}")).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The condition under which an upsert rewrites a row: one of `columns` differs (NULLs compared as
/// values), so that a re-import leaves unchanged rows, and their pages, alone.
fn changed(backend: Backend, table: &str, columns: &[&str]) -> String {
    let old = columns.iter().map(|c| format!("{table}.{c}")).collect::<Vec<_>>().join(", ");
    let new = columns.iter().map(|c| format!("excluded.{c}")).collect::<Vec<_>>().join(", ");
    match backend {
        Backend::Sqlite => format!("({old}) IS NOT ({new})"),
        Backend::Postgres => format!("({old}) IS DISTINCT FROM ({new})"),
    }
}

/// Rows per multi-row `INSERT … VALUES` of rows of `columns` bound parameters: within SQLite's limit
/// of 32,766 parameters per statement (PostgreSQL's is 65,535). Each row is bound as it is, with no
/// text to unfold on the engine's side; the statement of full chunks is prepared once.
pub(crate) fn rows_per_insert(columns: usize) -> usize {
    32_000 / columns
}

/// `head VALUES ($1, …, $columns<extra>), (…) tail` for `rows` rows of `columns` bound parameters each,
/// numbered in order; `extra` is appended to every row (a constant of the whole import). SQLite's
/// parameters are anonymous (`?`): it looks each named one up among those before, which costs the
/// square of their number (thousands per statement).
pub(crate) fn values_sql(backend: Backend, head: &str, columns: usize, rows: usize, extra: &str, tail: &str) -> String {
    use std::fmt::Write;
    let mut sql = String::with_capacity(head.len() + tail.len() + rows * (columns * 8 + extra.len() + 4));
    sql.push_str(head);
    sql.push_str(" VALUES ");
    let mut n = 0;
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            n += 1;
            let separator = if column == 0 { "" } else { ", " };
            let _ = match backend {
                Backend::Sqlite => write!(sql, "{separator}?"),
                Backend::Postgres => write!(sql, "{separator}${n}"),
            };
        }
        sql.push_str(extra);
        sql.push(')');
    }
    sql.push_str(tail);
    sql
}

/// Writes `$rows` (a slice) in multi-row `INSERT`s on `$conn`: `$head`, the rows, then `$tail`, each
/// row of `$columns` parameters bound by `$bind` (a closure from a query and a row to the query) and
/// followed by `$extra` (a constant of the whole import). Each statement
/// is bound while the engine writes the one before (SQLite on its own thread, PostgreSQL on the
/// server); `$done` is called with the number of rows of each statement written.
macro_rules! insert_rows {
    ($conn:expr, $backend:expr, $head:expr, $columns:expr, $extra:expr, $tail:expr, $rows:expr, $bind:expr, $done:expr) => {{
        let per = $crate::territory::rows_per_insert($columns);
        let rows = $rows;
        // The statement of a full chunk, only when there is one (a small import has a single chunk).
        let full = if rows.len() >= per {
            $crate::territory::values_sql($backend, $head, $columns, per, $extra, $tail)
        } else {
            String::new()
        };
        let last = $crate::territory::values_sql($backend, $head, $columns, rows.len() % per, $extra, $tail);
        let mut statements = rows.chunks(per).map(|chunk| {
            let sql = if chunk.len() == per { &full } else { &last };
            let statement = chunk.iter().fold(sqlx::query(sql).persistent(chunk.len() == per), $bind);
            (chunk.len(), statement)
        });
        let mut current = statements.next();
        while let Some((n, statement)) = current {
            let (written, next) = tokio::join!(statement.execute(&mut *$conn), async { statements.next() });
            written?;
            ($done)(n);
            current = next;
        }
    }};
}
pub(crate) use insert_rows;

/// Writes populations (`$rows`, a slice of [`PopulationRecord`] or of references to them) with their
/// `$source`, by [`insert_rows!`].
macro_rules! insert_populations {
    ($conn:expr, $backend:expr, $tail:expr, $rows:expr, $source:expr, $done:expr) => {
        insert_rows!(
            $conn,
            $backend,
            "INSERT INTO population (commune_code, vintage, municipal, counted_apart, total, source)",
            6,
            "",
            $tail,
            $rows,
            |q, p| q
                .bind(p.commune.as_str())
                .bind(p.vintage.year())
                .bind(p.population.municipal)
                .bind(p.population.counted_apart)
                .bind(p.population.total)
                .bind($source),
            $done
        )
    };
}

/// The upsert of a population: the figures and their source replaced, only where one of them changes.
fn population_upsert(backend: Backend) -> String {
    format!(
        " ON CONFLICT (commune_code, vintage) DO UPDATE SET municipal = excluded.municipal, \
         counted_apart = excluded.counted_apart, total = excluded.total, source = excluded.source WHERE {}",
        changed(backend, "population", &["municipal", "counted_apart", "total", "source"])
    )
}

pub(crate) fn to_json<T: serde::Serialize + ?Sized>(rows: &T) -> Result<String> {
    serde_json::to_string(rows).map_err(|e| StoreError::Invalid(format!("lignes impossibles à transmettre ({e})")))
}

/// Rows per multi-row `INSERT`: far below SQLite's and PostgreSQL's limits on bound parameters.
const CHUNK: usize = 1000;

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportSummary {
    pub communes_new: u64,
    pub communes_updated: u64,
    pub epcis_new: u64,
    pub epcis_updated: u64,
    pub memberships: u64,
    pub populations: u64,
}

/// An EPCI with its member communes and their populations for every vintage held.
#[derive(Debug, Clone)]
pub struct EpciDetail {
    pub siren: Siren,
    pub name: String,
    pub kind: EpciKind,
    pub communes: Vec<CommunePopulations>,
}

impl EpciDetail {
    /// The vintages for which at least one commune has a figure, in order.
    pub fn vintages(&self) -> Vec<Vintage> {
        let mut v: Vec<Vintage> = self.communes.iter().flat_map(|c| c.by_vintage.keys().copied()).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    code: String,
    name: String,
    vintage: Option<i32>,
    municipal: Option<i64>,
    counted_apart: Option<i64>,
    total: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct EpciRow {
    siren: String,
    name: String,
    kind: String,
}

/// Turns a stored value back into a domain value; a failure means the database holds something the
/// application never wrote.
fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Invalid(format!("valeur inattendue en base pour {what} : « {value} »"))
}

impl Store {
    /// Writes communes, EPCIs, memberships and populations in one transaction: all of it or nothing.
    /// Existing rows are updated, never duplicated; the membership of each EPCI of the batch is
    /// replaced by the batch's. `progress` is called with the number of rows written so far.
    pub async fn import_territory(
        &self,
        actor: &Actor,
        batch: &TerritoryBatch,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<ImportSummary> {
        // Memberships and populations may only name communes of the batch or already stored.
        let in_batch: HashSet<&str> = batch.communes.iter().map(|c| c.code.as_str()).collect();
        let mut others: Vec<&str> = batch
            .epcis
            .iter()
            .flat_map(|e| e.members.iter())
            .chain(batch.populations.iter().map(|p| &p.commune))
            .map(InseeCode::as_str)
            .filter(|c| !in_batch.contains(c))
            .collect();
        others.sort_unstable();
        others.dedup();
        self.check_known(&others).await?;

        let mut done = 0u64;
        let mut summary = ImportSummary::default();
        let backend = self.backend();
        let mut members: Vec<(&str, &str)> =
            batch.epcis.iter().flat_map(|e| e.members.iter().map(move |m| (e.siren.as_str(), m.as_str()))).collect();
        // Every table is written in the order of its primary key: the engine then appends to its B-tree
        // rather than splitting pages all over it.
        members.sort_unstable();
        let mut communes: Vec<&ctg_domain::Commune> = batch.communes.iter().collect();
        communes.sort_unstable_by(|a, b| a.code.cmp(&b.code));
        let mut populations: Vec<&PopulationRecord> = batch.populations.iter().collect();
        populations.sort_unstable_by(|a, b| (a.commune.as_str(), a.vintage).cmp(&(b.commune.as_str(), b.vintage)));
        with_db!(self, pool => {
            let mut conn = pool.acquire().await?;
            // The references were checked above; the database need not check them row by row.
            if backend == Backend::Sqlite {
                sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *conn).await?;
            }
            let result = async {
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                let (communes_before,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM commune").fetch_one(&mut *tx).await?;
                let (epcis_before,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM epci").fetch_one(&mut *tx).await?;

                // Into an empty table (a first load), a plain INSERT; otherwise an upsert that rewrites
                // only the rows that change.
                let upsert = |on_conflict: String| if communes_before == 0 { String::new() } else { on_conflict };
                let tail = upsert(format!(
                    " ON CONFLICT (code) DO UPDATE SET name = excluded.name, department = excluded.department, \
                     region = excluded.region, siren = excluded.siren WHERE {}",
                    changed(backend, "commune", &["name", "department", "region", "siren"])
                ));
                insert_rows!(
                    tx,
                    backend,
                    "INSERT INTO commune (code, name, department, region, siren)",
                    5,
                    "",
                    &tail,
                    &communes,
                    |q, c| q
                        .bind(c.code.as_str())
                        .bind(c.name.as_str())
                        .bind(c.department.as_str())
                        .bind(c.region.as_deref())
                        .bind(c.siren.as_ref().map(Siren::as_str)),
                    |n| {
                        done += n as u64;
                        progress(done);
                    }
                );

                let epcis: Vec<(&str, &str, &str)> = batch.epcis.iter().map(|e| (e.siren.as_str(), e.name.as_str(), e.kind.code())).collect();
                let sirens: Vec<(&str,)> = epcis.iter().map(|e| (e.0,)).collect();
                sqlx::query(&format!(
                    "INSERT INTO epci (siren, name, kind) {} ON CONFLICT (siren) DO UPDATE SET name = excluded.name, kind = excluded.kind WHERE {}",
                    json_rows(backend, &["text", "text", "text"]),
                    changed(backend, "epci", &["name", "kind"])
                ))
                .bind(to_json(&epcis)?)
                .execute(&mut *tx)
                .await?;
                // The membership of each EPCI of the batch is replaced; and a commune belongs to one
                // EPCI: those named as members leave any other one (an EPCI merged away keeps no
                // member the file gives to its successor). Nothing to do on a first load.
                let (memberships_before,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM epci_member").fetch_one(&mut *tx).await?;
                // Only the memberships that the batch no longer has are deleted, and only the new ones
                // are inserted: a re-import of the same file leaves them all alone.
                let mut new_members: Vec<(&str, &str)> = members.clone();
                if memberships_before > 0 {
                    // One JSON text rather than 35,000 rows: the engine builds it far faster than rows
                    // are decoded one by one.
                    let sql = match backend {
                        Backend::Sqlite => "SELECT json_group_array(json_array(epci_siren, commune_code)) FROM epci_member",
                        Backend::Postgres => {
                            "SELECT COALESCE(json_agg(json_build_array(epci_siren, commune_code)), '[]')::text FROM epci_member"
                        }
                    };
                    let (text,): (String,) = sqlx::query_as(sql).fetch_one(&mut *tx).await?;
                    let current: Vec<(String, String)> = serde_json::from_str(&text)
                        .map_err(|e| StoreError::Corrupt(format!("appartenances illisibles ({e})")))?;
                    let wanted: HashSet<(&str, &str)> = members.iter().copied().collect();
                    let batch_epcis: HashSet<&str> = sirens.iter().map(|s| s.0).collect();
                    let batch_communes: HashSet<&str> = members.iter().map(|m| m.1).collect();
                    let have: HashSet<(&str, &str)> = current.iter().map(|(e, c)| (e.as_str(), c.as_str())).collect();
                    let gone: Vec<(&str, &str)> = current
                        .iter()
                        .map(|(e, c)| (e.as_str(), c.as_str()))
                        .filter(|(e, c)| (batch_epcis.contains(e) || batch_communes.contains(c)) && !wanted.contains(&(*e, *c)))
                        .collect();
                    for chunk in gone.chunks(JSON_CHUNK) {
                        let sql = format!(
                            "DELETE FROM epci_member WHERE (epci_siren, commune_code) IN ({})",
                            json_rows(backend, &["text", "text"])
                        );
                        sqlx::query(&sql).bind(to_json(&chunk)?).execute(&mut *tx).await?;
                    }
                    new_members.retain(|m| !have.contains(m));
                }
                done += epcis.len() as u64;
                progress(done);

                insert_rows!(
                    tx,
                    backend,
                    "INSERT INTO epci_member (epci_siren, commune_code)",
                    2,
                    "",
                    " ON CONFLICT (epci_siren, commune_code) DO NOTHING",
                    &new_members,
                    |q, m| q.bind(m.0).bind(m.1),
                    |n| {
                        done += n as u64;
                        progress(done);
                    }
                );

                let (populations_before,): (i64,) =
                    sqlx::query_as("SELECT COUNT(*) FROM population").fetch_one(&mut *tx).await?;
                let tail = if populations_before == 0 { String::new() } else { population_upsert(backend) };
                insert_populations!(tx, backend, &tail, &populations, batch.source.as_str(), |n| {
                    done += n as u64;
                    progress(done);
                });

            let (communes_after,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM commune").fetch_one(&mut *tx).await?;
            let (epcis_after,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM epci").fetch_one(&mut *tx).await?;
            sqlx::query("UPDATE data_revision SET revision = revision + 1 WHERE name = $1").bind(TERRITORY).execute(&mut *tx).await?;
            let vintages: std::collections::BTreeSet<i32> = batch.populations.iter().map(|p| p.vintage.year()).collect();
            record!(&mut *tx, &Change {
                convention_id: None,
                object_type: "territoire",
                object_id: batch.source.clone(),
                object_label: format!("import du territoire ({})", batch.source),
                action: "import",
                before: Some(json!({"communes": communes_before, "epci": epcis_before})),
                after: Some(json!({
                    "communes": communes_after, "epci": epcis_after,
                    "communes_du_fichier": batch.communes.len(), "epci_du_fichier": batch.epcis.len(),
                    "populations": batch.populations.len(), "millesimes": vintages,
                })),
                actor,
            });
                tx.commit().await?;
                summary.communes_new = (communes_after - communes_before) as u64;
                summary.communes_updated = batch.communes.len() as u64 - summary.communes_new;
                summary.epcis_new = (epcis_after - epcis_before) as u64;
                summary.epcis_updated = batch.epcis.len() as u64 - summary.epcis_new;
                summary.memberships = members.len() as u64;
                summary.populations = batch.populations.len() as u64;
                Ok::<(), StoreError>(())
            }
            .await;
            if backend == Backend::Sqlite {
                sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
            }
            result?;
        });
        Ok(summary)
    }

    /// Writes populations of communes already known, in one transaction. If any commune is unknown,
    /// nothing is written and the unknown codes are returned in the error.
    pub async fn upsert_populations(&self, actor: &Actor, rows: &[PopulationRecord], source: &str) -> Result<u64> {
        let mut codes: Vec<&str> = rows.iter().map(|r| r.commune.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        self.check_known(&codes).await?;
        let backend = self.backend();
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            insert_populations!(tx, backend, &population_upsert(backend), rows, source, |_| {});
            sqlx::query("UPDATE data_revision SET revision = revision + 1 WHERE name = $1").bind(TERRITORY).execute(&mut *tx).await?;
            let vintages: std::collections::BTreeSet<i32> = rows.iter().map(|p| p.vintage.year()).collect();
            record!(&mut *tx, &Change {
                convention_id: None,
                object_type: "populations",
                object_id: source.to_owned(),
                object_label: format!("import de populations ({source})"),
                action: "import",
                before: None,
                after: Some(json!({"lignes": rows.len(), "communes": codes.len(), "millesimes": vintages})),
                actor,
            });
            tx.commit().await?;
        });
        Ok(rows.len() as u64)
    }

    /// Fails with [`StoreError::UnknownCommunes`] naming those of `codes` (sorted, distinct) that are
    /// not stored.
    async fn check_known(&self, codes: &[&str]) -> Result<()> {
        if codes.is_empty() {
            return Ok(());
        }
        let known = self.known_communes(codes).await?;
        let unknown: Vec<String> = codes
            .iter()
            .filter(|c| known.binary_search_by(|k| k.as_str().cmp(c)).is_err())
            .map(|c| (*c).to_owned())
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(StoreError::UnknownCommunes(unknown))
        }
    }

    /// Which of `codes` are known communes, sorted.
    pub(crate) async fn known_communes(&self, codes: &[&str]) -> Result<Vec<String>> {
        let mut known = Vec::with_capacity(codes.len());
        for chunk in codes.chunks(CHUNK) {
            with_db!(self, pool => {
                let mut q = QueryBuilder::new("SELECT code FROM commune WHERE code IN ");
                q.push_tuples(chunk, |mut b, c| {
                    b.push_bind(*c);
                });
                let rows: Vec<(String,)> = q.build_query_as().fetch_all(pool).await?;
                known.extend(rows.into_iter().map(|r| r.0));
            });
        }
        known.sort_unstable();
        Ok(known)
    }

    /// The current revision of the territory (communes, EPCIs, populations): results computed from it
    /// at this revision are still true.
    pub async fn territory_revision(&self) -> Result<i64> {
        with_db!(self, pool => {
            let (r,): (i64,) = sqlx::query_as("SELECT revision FROM data_revision WHERE name = $1").bind(TERRITORY).fetch_one(pool).await?;
            Ok(r)
        })
    }

    /// How many communes, EPCIs and population figures are stored.
    pub async fn territory_counts(&self) -> Result<(i64, i64, i64)> {
        with_db!(self, pool => {
            let row: (i64, i64, i64) = sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM commune), (SELECT COUNT(*) FROM epci), (SELECT COUNT(*) FROM population)",
            )
            .fetch_one(pool)
            .await?;
            Ok(row)
        })
    }

    /// The EPCI, its member communes (by name) and their populations for every vintage held. Read
    /// once per territory revision (one small query otherwise): the territory, diagnostic and SPPE
    /// pages of every convention of the EPCI share it.
    pub async fn epci(&self, siren: &Siren) -> Result<EpciDetail> {
        // The revision is read first: data read after it are at least as new, and an entry stored
        // under an older revision than the database's is never served.
        let revision = self.territory_revision().await?;
        let key = siren.as_str().to_owned();
        if let Some(detail) = self.epcis.get(&key, &revision) {
            return Ok(detail);
        }
        let detail = self.read_epci(siren).await?;
        self.epcis.put(key, revision, detail.clone());
        Ok(detail)
    }

    async fn read_epci(&self, siren: &Siren) -> Result<EpciDetail> {
        let (head, rows) = with_db!(self, pool => {
            let head: Option<EpciRow> = sqlx::query_as("SELECT siren, name, kind FROM epci WHERE siren = $1")
                .bind(siren.as_str())
                .fetch_optional(pool)
                .await?;
            let rows: Vec<MemberRow> = sqlx::query_as(
                "SELECT c.code, c.name, p.vintage, p.municipal, p.counted_apart, p.total \
                 FROM epci_member m JOIN commune c ON c.code = m.commune_code \
                 LEFT JOIN population p ON p.commune_code = c.code \
                 WHERE m.epci_siren = $1 ORDER BY c.name, c.code, p.vintage",
            )
            .bind(siren.as_str())
            .fetch_all(pool)
            .await?;
            (head, rows)
        });
        let head = head.ok_or_else(|| StoreError::NotFound(format!("EPCI {siren}")))?;
        let mut communes: Vec<CommunePopulations> = Vec::new();
        for r in rows {
            if communes.last().is_none_or(|c| c.code.as_str() != r.code) {
                communes.push(CommunePopulations {
                    code: InseeCode::parse(&r.code).map_err(|_| corrupt("code INSEE", &r.code))?,
                    name: r.name,
                    by_vintage: BTreeMap::new(),
                });
            }
            if let (Some(v), Some(c)) = (r.vintage, communes.last_mut()) {
                let vintage = Vintage::new(i64::from(v)).map_err(|_| corrupt("millésime", &v.to_string()))?;
                c.by_vintage.insert(
                    vintage,
                    Population { municipal: r.municipal, counted_apart: r.counted_apart, total: r.total },
                );
            }
        }
        communes.sort_by_cached_key(|c| ctg_domain::format::collation_key(&c.name));
        Ok(EpciDetail {
            siren: Siren::parse(&head.siren).map_err(|_| corrupt("SIREN", &head.siren))?,
            kind: EpciKind::parse(&head.kind).ok_or_else(|| corrupt("nature d'EPCI", &head.kind))?,
            name: head.name,
            communes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_row_inserts_number_postgres_parameters_and_leave_sqlite_ones_anonymous() {
        // SQLite looks each named parameter up among those before it: with thousands per statement, an
        // import of a national file took minutes instead of seconds.
        assert_eq!(
            values_sql(Backend::Sqlite, "INSERT INTO t (a, b, c)", 2, 3, ", 7", " ON CONFLICT DO NOTHING"),
            "INSERT INTO t (a, b, c) VALUES (?, ?, 7), (?, ?, 7), (?, ?, 7) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            values_sql(Backend::Postgres, "INSERT INTO t (a, b)", 2, 2, "", ""),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
        // Within SQLite's limit of 32,766 parameters per statement, whatever the width of a row.
        for columns in 1..=12 {
            assert!(rows_per_insert(columns) * columns <= 32_766);
            assert!(rows_per_insert(columns) >= 1_000);
        }
    }
}
