//! Figures of the published open data files, for all of France (`open_observation`): written by
//! [`Store::import_open_data`] in one transaction, read by area or by indicator for the prefill of a
//! diagnostic and the comparison of territories.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use ctg_domain::diagnostic::AreaKind;
use ctg_domain::opendata::OpenObservation;
use ctg_domain::Actor;
use serde_json::json;

use crate::audit::{record, Change};
use crate::territory::{insert_rows, json_rows, to_json};
use crate::{with_db, Backend, Result, Store, StoreError};

/// The file an import comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenDataSource<'a> {
    /// The file's name, as given.
    pub file: &'a str,
    /// The kind of file, in French (« CNAF, taux de couverture… »).
    pub label: &'a str,
    /// The source named with each figure (« CNAF, open data de l'accueil du jeune enfant »).
    pub source: &'a str,
    pub vintage: i32,
    pub imported_on: NaiveDate,
}

/// A figure as stored, with where it comes from.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OpenRecord {
    pub indicator_code: String,
    pub area_kind: String,
    pub area_code: String,
    pub year: i64,
    pub value: f64,
    pub note: Option<String>,
    pub source: String,
    pub source_file: String,
    pub vintage: i64,
    pub imported_on: NaiveDate,
}

impl OpenRecord {
    /// « CNAF, open data de l'accueil du jeune enfant (txcouv_pe_epci.csv, millésime 2022, importé le 07/12/2026) »
    pub fn source_text(&self) -> String {
        format!(
            "{} ({}, millésime {}, importé le {})",
            self.source,
            self.source_file,
            self.vintage,
            self.imported_on.format("%d/%m/%Y")
        )
    }
}

/// The columns of an [`OpenRecord`], read with their indicator (`i`), note (`n`) and the file each figure
/// comes from (`f`): indicators and notes are held once, by number.
const SELECT: &str = "SELECT i.code AS indicator_code, o.area_kind, o.area_code, o.year, o.value, n.text AS note, \
     f.source, f.source_file, f.vintage, f.imported_on FROM open_observation o \
     JOIN open_indicator i ON i.id = o.indicator_id LEFT JOIN open_note n ON n.id = o.note_id \
     JOIN open_data_file f ON f.id = o.file_id";

/// The distinct texts of `texts`, which are few and repeated on millions of rows: compared by address
/// first (the parser names them with its constants), by content only when the address is new.
fn distinct(texts: impl Iterator<Item = &'static str>) -> Vec<&'static str> {
    let mut seen: Vec<&'static str> = Vec::new();
    for t in texts {
        if !seen.iter().any(|s| std::ptr::eq(*s, t)) && !seen.contains(&t) {
            seen.push(t);
        }
    }
    seen
}

/// A figure with its key as numbers (area kind, area code packed, indicator, year) and its note's number.
type Keyed<'r> = (u8, u128, i64, i32, &'r OpenObservation, Option<i64>);

/// The number of `text` among the few `(text, number)` pairs of an import: by address first, then by
/// content.
fn number_of(numbers: &[(&str, i64)], text: &str) -> Result<i64> {
    numbers
        .iter()
        .find(|(t, _)| std::ptr::eq(*t, text))
        .or_else(|| numbers.iter().find(|(t, _)| *t == text))
        .map(|p| p.1)
        .ok_or_else(|| StoreError::Corrupt(format!("« {text} » sans numéro après son écriture")))
}

impl Store {
    /// Writes the figures of one file in one transaction, all or nothing; a figure already held (same
    /// area, indicator and year) is replaced, with its new source.
    pub async fn import_open_data(
        &self,
        actor: &Actor,
        from: &OpenDataSource<'_>,
        rows: &[OpenObservation],
    ) -> Result<u64> {
        if let Some(bad) = rows.iter().find(|o| !o.value.is_finite()) {
            return Err(StoreError::Invalid(format!(
                "valeur non finie pour « {} » de {} en {}",
                bad.indicator, bad.area_code, bad.year
            )));
        }
        let backend = self.backend();
        let upsert = " ON CONFLICT (area_kind, area_code, indicator_id, year) DO UPDATE SET value = excluded.value, \
             note_id = excluded.note_id, file_id = excluded.file_id";
        // The indicators and notes of the file: a few dozen texts (the parser's own constants), each
        // written once and then named by its number on every row.
        let indicators: BTreeSet<&str> = distinct(rows.iter().map(|o| o.indicator)).into_iter().collect();
        let notes: BTreeSet<&str> = distinct(rows.iter().filter_map(|o| o.note)).into_iter().collect();
        let indicator_names: Vec<(&str,)> = indicators.iter().map(|t| (*t,)).collect();
        let note_names: Vec<(&str,)> = notes.iter().map(|t| (*t,)).collect();
        let add_indicators = format!(
            "INSERT INTO open_indicator (code) {} ON CONFLICT (code) DO NOTHING",
            json_rows(backend, &["text"])
        );
        let add_notes =
            format!("INSERT INTO open_note (text) {} ON CONFLICT (text) DO NOTHING", json_rows(backend, &["text"]));
        // The kinds of area in the order of their code, the first column of the primary key.
        let mut kinds = AreaKind::ALL;
        kinds.sort_by_key(|k| k.code());
        let rank = |k: AreaKind| kinds.iter().position(|x| *x == k).unwrap_or(0) as u8;
        with_db!(self, pool => {
            let mut conn = pool.acquire().await?;
            // Every reference of a figure (its indicator, note and file) is written just before it in
            // the same transaction: the engine need not look each one up again (millions of rows).
            if backend == Backend::Sqlite {
                sqlx::query("PRAGMA foreign_keys = OFF").execute(&mut *conn).await?;
            }
            let result = async {
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            let (file_id,): (i64,) = sqlx::query_as(
                "INSERT INTO open_data_file (source, source_file, vintage, imported_on) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(from.source)
            .bind(from.file)
            .bind(i64::from(from.vintage))
            .bind(from.imported_on)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(&add_indicators).bind(to_json(&indicator_names)?).execute(&mut *tx).await?;
            sqlx::query(&add_notes).bind(to_json(&note_names)?).execute(&mut *tx).await?;
            let indicator_ids: HashMap<String, i64> =
                sqlx::query_as("SELECT code, id FROM open_indicator").fetch_all(&mut *tx).await?.into_iter().collect();
            let note_ids: HashMap<String, i64> =
                sqlx::query_as("SELECT text, id FROM open_note").fetch_all(&mut *tx).await?.into_iter().collect();
            let id_of = |ids: &HashMap<String, i64>, text: &str| {
                ids.get(text).copied().ok_or_else(|| StoreError::Corrupt(format!("« {text} » absent après son écriture")))
            };
            let indicator_id: Vec<(&str, i64)> =
                indicators.iter().map(|t| Ok((*t, id_of(&indicator_ids, t)?))).collect::<Result<_>>()?;
            let note_id: Vec<(&str, i64)> = notes.iter().map(|t| Ok((*t, id_of(&note_ids, t)?))).collect::<Result<_>>()?;
            // In the order of the primary key: the engine then appends to its B-tree instead of
            // inserting all over it (a national file is millions of rows).
            // The key is compared as numbers: the area's code (at most 9 characters once read) packed in
            // its first 16 bytes keeps the order of the text, and only the speed depends on it.
            let mut order: Vec<Keyed<'_>> = rows
                .iter()
                .map(|o| {
                    let mut code = [0u8; 16];
                    let n = o.area_code.len().min(16);
                    code[..n].copy_from_slice(&o.area_code.as_bytes()[..n]);
                    let note = o.note.map(|n| number_of(&note_id, n)).transpose()?;
                    Ok((rank(o.area_kind), u128::from_be_bytes(code), number_of(&indicator_id, o.indicator)?, o.year, o, note))
                })
                .collect::<Result<_>>()?;
            order.sort_unstable_by_key(|r| (r.0, r.1, r.2, r.3));
            // Into an empty table (a first load), a plain INSERT.
            let (held,): (bool,) =
                sqlx::query_as("SELECT EXISTS (SELECT 1 FROM open_observation)").fetch_one(&mut *tx).await?;
            insert_rows!(
                tx,
                backend,
                "INSERT INTO open_observation (area_kind, area_code, indicator_id, year, value, note_id, file_id)",
                6,
                &format!(", {file_id}"),
                if held { upsert } else { "" },
                &order,
                |q, (_, _, indicator, _, o, note)| q
                    .bind(o.area_kind.code())
                    .bind(o.area_code.as_str())
                    .bind(*indicator)
                    .bind(o.year)
                    .bind(o.value)
                    .bind(*note),
                |_| {}
            );
            record!(&mut *tx, &Change {
                convention_id: None,
                object_type: "donnees_ouvertes",
                object_id: from.file.to_owned(),
                object_label: format!("import de données ouvertes ({}, {})", from.label, from.file),
                action: "import",
                before: None,
                after: Some(json!({"chiffres": rows.len(), "millesime": from.vintage, "indicateurs": indicators})),
                actor,
            });
            tx.commit().await?;
            Ok::<(), StoreError>(())
            }
            .await;
            if backend == Backend::Sqlite {
                sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
            }
            result?;
        });
        Ok(rows.len() as u64)
    }

    /// Every figure held for these areas, by indicator, area and year.
    pub async fn open_observations(&self, areas: &[(AreaKind, String)]) -> Result<Vec<OpenRecord>> {
        let mut out = Vec::new();
        for (kind, code) in areas {
            let rows: Vec<OpenRecord> = with_db!(self, pool => {
                sqlx::query_as(&format!(
                    "{SELECT} WHERE o.area_kind = $1 AND o.area_code = $2 ORDER BY i.code, o.year"
                ))
                .bind(kind.code())
                .bind(code)
                .fetch_all(pool)
                .await?
            });
            out.extend(rows);
        }
        Ok(out)
    }

    /// Every figure of these indicators for one kind of area (all EPCIs, say), for comparisons.
    pub async fn open_observations_of(&self, indicators: &[&str], kind: AreaKind) -> Result<Vec<OpenRecord>> {
        let mut out = Vec::new();
        for indicator in indicators {
            let rows: Vec<OpenRecord> = with_db!(self, pool => {
                sqlx::query_as(&format!(
                    "{SELECT} WHERE o.area_kind = $2 AND i.code = $1 ORDER BY o.area_code, o.year"
                ))
                .bind(indicator)
                .bind(kind.code())
                .fetch_all(pool)
                .await?
            });
            out.extend(rows);
        }
        Ok(out)
    }

    /// How many figures are held, by indicator (for the report of an import and the tests).
    pub async fn open_data_counts(&self) -> Result<Vec<(String, i64)>> {
        Ok(with_db!(self, pool => {
            sqlx::query_as(
                "SELECT i.code, COUNT(*) FROM open_observation o JOIN open_indicator i ON i.id = o.indicator_id \
                 GROUP BY i.code ORDER BY i.code",
            )
            .fetch_all(pool)
            .await?
        }))
    }
}

/// A member of an EPCI: EPCI, commune, département, region.
type MemberRow = (String, String, String, Option<String>);

/// The latest value of each area, with its year.
fn latest(records: &[OpenRecord], indicator: &str) -> HashMap<String, (i64, f64)> {
    let mut out: HashMap<String, (i64, f64)> = HashMap::new();
    for r in records.iter().filter(|r| r.indicator_code == indicator) {
        let e = out.entry(r.area_code.clone()).or_insert((r.year, r.value));
        if r.year > e.0 {
            *e = (r.year, r.value);
        }
    }
    out
}

impl Store {
    /// Every EPCI held, with what the comparison of territories needs: type, département and region
    /// (of most of its communes), population (the INSEE row of the EPCI, else the legal populations of
    /// its members when all are known for one vintage), children under 3 and allocataires per 100
    /// inhabitants, and the key indicators of [`ctg_domain::opendata::KEY_INDICATORS`].
    pub async fn comparison_territories(&self) -> Result<Vec<ctg_domain::opendata::Territory>> {
        let epcis: Vec<(String, String, String)> = with_db!(self, pool => { sqlx::query_as("SELECT siren, name, kind FROM epci ORDER BY siren").fetch_all(pool).await? });
        let members: Vec<MemberRow> = with_db!(self, pool => {
            sqlx::query_as(
                "SELECT m.epci_siren, m.commune_code, c.department, c.region FROM epci_member m \
                 JOIN commune c ON c.code = m.commune_code",
            )
            .fetch_all(pool)
            .await?
        });
        let legal: Vec<(String, i64, Option<i64>)> = with_db!(self, pool => {
            sqlx::query_as("SELECT commune_code, CAST(vintage AS BIGINT), total FROM population").fetch_all(pool).await?
        });
        let mut legal_by: HashMap<(&str, i64), i64> = HashMap::new();
        for (c, v, t) in &legal {
            if let Some(t) = t {
                legal_by.insert((c.as_str(), *v), *t);
            }
        }
        let vintages: BTreeSet<i64> = legal.iter().map(|(_, v, _)| *v).collect();
        let epci_rows = self
            .open_observations_of(
                &[
                    "population_municipale",
                    "enfants_moins_3_ans",
                    "taux_couverture_global",
                    "taux_couverture_eaje",
                    "taux_couverture_assistants_maternels",
                ],
                AreaKind::Epci,
            )
            .await?;
        let allocataires =
            latest(&self.open_observations_of(&["allocataires_caf"], AreaKind::Commune).await?, "allocataires_caf");
        let population = latest(&epci_rows, "population_municipale");
        let children = latest(&epci_rows, "enfants_moins_3_ans");
        let global = latest(&epci_rows, "taux_couverture_global");
        let of_year = |indicator: &str, code: &str, year: i64| {
            epci_rows
                .iter()
                .find(|r| r.indicator_code == indicator && r.area_code == code && r.year == year)
                .map(|r| r.value)
        };
        let mut by_epci: HashMap<&str, Vec<&MemberRow>> = HashMap::new();
        for m in &members {
            by_epci.entry(m.0.as_str()).or_default().push(m);
        }
        let majority = |values: Vec<&str>| -> String {
            let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
            for v in values {
                *counts.entry(v).or_default() += 1;
            }
            counts.into_iter().max_by_key(|(_, n)| *n).map(|(v, _)| v.to_owned()).unwrap_or_default()
        };
        let mut out = Vec::with_capacity(epcis.len());
        for (siren, name, kind) in epcis {
            let ms = by_epci.get(siren.as_str()).cloned().unwrap_or_default();
            let departement = majority(ms.iter().map(|m| m.2.as_str()).collect());
            let region = majority(ms.iter().filter_map(|m| m.3.as_deref()).collect());
            let from_legal = || {
                vintages
                    .iter()
                    .rev()
                    .find_map(|v| ms.iter().map(|m| legal_by.get(&(m.1.as_str(), *v)).copied()).sum::<Option<i64>>())
            };
            let pop = population.get(&siren).map(|(_, p)| *p).or_else(|| {
                if ms.is_empty() {
                    None
                } else {
                    from_legal().map(|p| p as f64)
                }
            });
            let under_three = match (children.get(&siren), population.get(&siren)) {
                (Some((y, c)), Some(_)) => of_year("population_municipale", &siren, *y)
                    .filter(|p| *p > 0.0)
                    .map(|p| (c * 10_000.0 / p).round() / 100.0),
                _ => None,
            };
            // Allocataires: the sum of the communes, only when every member has a figure of one year.
            let alloc_sum: Option<f64> = if ms.is_empty() {
                None
            } else {
                let years: BTreeSet<i64> = ms.iter().filter_map(|m| allocataires.get(&m.1).map(|(y, _)| *y)).collect();
                if years.len() == 1 {
                    ms.iter().map(|m| allocataires.get(&m.1).map(|(_, v)| *v)).sum()
                } else {
                    None
                }
            };
            let alloc_share = match (alloc_sum, pop) {
                (Some(a), Some(p)) if p > 0.0 => Some((a * 10_000.0 / p).round() / 100.0),
                _ => None,
            };
            let (rate, eaje, am) = match global.get(&siren) {
                Some((y, g)) => (
                    Some(*g),
                    of_year("taux_couverture_eaje", &siren, *y),
                    of_year("taux_couverture_assistants_maternels", &siren, *y),
                ),
                None => (None, None, None),
            };
            out.push(ctg_domain::opendata::Territory {
                values: vec![pop, under_three, alloc_share, rate, eaje, am],
                siren,
                name,
                kind,
                departement,
                region,
                population: pop,
                under_three_share: under_three,
                allocataires_share: alloc_share,
            });
        }
        Ok(out)
    }
}
