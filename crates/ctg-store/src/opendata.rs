//! Figures of the published open data files, for all of France (`open_observation`): written by
//! [`Store::import_open_data`] in one transaction, read by area or by indicator for the prefill of a
//! diagnostic and the comparison of territories.

use chrono::NaiveDate;
use ctg_domain::diagnostic::AreaKind;
use ctg_domain::opendata::OpenObservation;
use ctg_domain::Actor;
use serde_json::json;

use crate::audit::{record, Change};
use crate::territory::{json_rows, to_json, JSON_CHUNK};
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

const COLUMNS: &str =
    "indicator_code, area_kind, area_code, year, value, note, source, source_file, vintage, imported_on";

impl Store {
    /// Writes the figures of one file in one transaction, all or nothing; a figure already held (same
    /// indicator, area and year) is replaced, with its new source.
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
        let params = match backend {
            Backend::Sqlite => "$2, $3, $4, $5",
            Backend::Postgres => "$2::text, $3::text, $4::int, $5::date",
        };
        let select = json_rows(backend, &["text", "text", "text", "int", "float8", "text"]).replacen(
            " FROM ",
            &format!(", {params} FROM "),
            1,
        );
        let sql = format!(
            "INSERT INTO open_observation ({COLUMNS}) {select} \
             ON CONFLICT (indicator_code, area_kind, area_code, year) DO UPDATE SET value = excluded.value, \
             note = excluded.note, source = excluded.source, source_file = excluded.source_file, \
             vintage = excluded.vintage, imported_on = excluded.imported_on"
        );
        type Row<'r> = (&'r str, &'r str, &'r str, i32, f64, Option<&'r str>);
        let imported_on = from.imported_on.format("%Y-%m-%d").to_string();
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            for chunk in rows.chunks(JSON_CHUNK) {
                let json: Vec<Row<'_>> = chunk
                    .iter()
                    .map(|o| (o.indicator, o.area_kind.code(), o.area_code.as_str(), o.year, o.value, o.note))
                    .collect();
                sqlx::query(&sql)
                    .bind(to_json(&json)?)
                    .bind(from.source)
                    .bind(from.file)
                    .bind(from.vintage)
                    .bind(&imported_on)
                    .execute(&mut *tx)
                    .await?;
            }
            let indicators: std::collections::BTreeSet<&str> = rows.iter().map(|o| o.indicator).collect();
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
        });
        Ok(rows.len() as u64)
    }

    /// Every figure held for these areas, by indicator, area and year.
    pub async fn open_observations(&self, areas: &[(AreaKind, String)]) -> Result<Vec<OpenRecord>> {
        let mut out = Vec::new();
        for (kind, code) in areas {
            let rows: Vec<OpenRecord> = with_db!(self, pool => {
                sqlx::query_as(&format!(
                    "SELECT {COLUMNS} FROM open_observation WHERE area_kind = $1 AND area_code = $2 \
                     ORDER BY indicator_code, year"
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
                    "SELECT {COLUMNS} FROM open_observation WHERE indicator_code = $1 AND area_kind = $2 \
                     ORDER BY area_code, year"
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
                "SELECT indicator_code, COUNT(*) FROM open_observation GROUP BY indicator_code ORDER BY indicator_code",
            )
            .fetch_all(pool)
            .await?
        }))
    }
}
