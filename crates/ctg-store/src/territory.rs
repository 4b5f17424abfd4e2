//! Communes, EPCIs and populations.

use std::collections::{BTreeMap, HashSet};

use ctg_domain::{
    CommunePopulations, EpciKind, InseeCode, Population, PopulationRecord, Siren, TerritoryBatch, Vintage,
};
use sqlx::QueryBuilder;

use ctg_domain::Actor;
use serde_json::json;

use crate::audit::{record, Change};
use crate::{with_db, Result, Store, StoreError};

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
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (communes_before,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM commune").fetch_one(&mut *tx).await?;
            let (epcis_before,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM epci").fetch_one(&mut *tx).await?;

            for chunk in batch.communes.chunks(CHUNK) {
                let mut q = QueryBuilder::new("INSERT INTO commune (code, name, department, region, siren) ");
                q.push_values(chunk, |mut b, c| {
                    b.push_bind(c.code.as_str())
                        .push_bind(c.name.as_str())
                        .push_bind(c.department.as_str())
                        .push_bind(c.region.as_deref())
                        .push_bind(c.siren.as_ref().map(Siren::as_str));
                });
                q.push(" ON CONFLICT (code) DO UPDATE SET name = excluded.name, department = excluded.department, region = excluded.region, siren = excluded.siren");
                q.build().execute(&mut *tx).await?;
                done += chunk.len() as u64;
                progress(done);
            }

            for chunk in batch.epcis.chunks(CHUNK) {
                let mut q = QueryBuilder::new("INSERT INTO epci (siren, name, kind) ");
                q.push_values(chunk, |mut b, e| {
                    b.push_bind(e.siren.as_str()).push_bind(e.name.as_str()).push_bind(e.kind.code());
                });
                q.push(" ON CONFLICT (siren) DO UPDATE SET name = excluded.name, kind = excluded.kind");
                q.build().execute(&mut *tx).await?;
                let mut del = QueryBuilder::new("DELETE FROM epci_member WHERE epci_siren IN ");
                del.push_tuples(chunk, |mut b, e| {
                    b.push_bind(e.siren.as_str());
                });
                del.build().execute(&mut *tx).await?;
                done += chunk.len() as u64;
                progress(done);
            }

            // A commune belongs to one EPCI: those named as members in the batch leave any other one
            // (an EPCI merged away keeps no member the file gives to its successor).
            let member_codes: Vec<&str> = batch.epcis.iter().flat_map(|e| e.members.iter().map(InseeCode::as_str)).collect();
            for chunk in member_codes.chunks(CHUNK) {
                let mut del = QueryBuilder::new("DELETE FROM epci_member WHERE commune_code IN ");
                del.push_tuples(chunk, |mut b, code| {
                    b.push_bind(*code);
                });
                del.build().execute(&mut *tx).await?;
            }

            let members: Vec<(&Siren, &InseeCode)> = batch
                .epcis
                .iter()
                .flat_map(|e| e.members.iter().map(move |m| (&e.siren, m)))
                .collect();
            for chunk in members.chunks(CHUNK) {
                let mut q = QueryBuilder::new("INSERT INTO epci_member (epci_siren, commune_code) ");
                q.push_values(chunk, |mut b, (siren, code)| {
                    b.push_bind(siren.as_str()).push_bind(code.as_str());
                });
                q.build().execute(&mut *tx).await?;
                done += chunk.len() as u64;
                progress(done);
            }

            for chunk in batch.populations.chunks(CHUNK) {
                let mut q = QueryBuilder::new(
                    "INSERT INTO population (commune_code, vintage, municipal, counted_apart, total, source) ",
                );
                q.push_values(chunk, |mut b, p| {
                    b.push_bind(p.commune.as_str())
                        .push_bind(p.vintage.year())
                        .push_bind(p.population.municipal)
                        .push_bind(p.population.counted_apart)
                        .push_bind(p.population.total)
                        .push_bind(batch.source.as_str());
                });
                q.push(" ON CONFLICT (commune_code, vintage) DO UPDATE SET municipal = excluded.municipal, counted_apart = excluded.counted_apart, total = excluded.total, source = excluded.source");
                q.build().execute(&mut *tx).await?;
                done += chunk.len() as u64;
                progress(done);
            }

            let (communes_after,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM commune").fetch_one(&mut *tx).await?;
            let (epcis_after,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM epci").fetch_one(&mut *tx).await?;
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
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            for chunk in rows.chunks(CHUNK) {
                let mut q = QueryBuilder::new(
                    "INSERT INTO population (commune_code, vintage, municipal, counted_apart, total, source) ",
                );
                q.push_values(chunk, |mut b, p| {
                    b.push_bind(p.commune.as_str())
                        .push_bind(p.vintage.year())
                        .push_bind(p.population.municipal)
                        .push_bind(p.population.counted_apart)
                        .push_bind(p.population.total)
                        .push_bind(source);
                });
                q.push(" ON CONFLICT (commune_code, vintage) DO UPDATE SET municipal = excluded.municipal, counted_apart = excluded.counted_apart, total = excluded.total, source = excluded.source");
                q.build().execute(&mut *tx).await?;
            }
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
    async fn known_communes(&self, codes: &[&str]) -> Result<Vec<String>> {
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

    /// The EPCI, its member communes (by name) and their populations for every vintage held.
    pub async fn epci(&self, siren: &Siren) -> Result<EpciDetail> {
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
