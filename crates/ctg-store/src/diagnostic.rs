//! Observations of the diagnostic.

use chrono::NaiveDate;
use ctg_domain::diagnostic::{Area, AreaKind, Observation};
use ctg_domain::Actor;
use serde_json::json;

use crate::audit::{record, Change};
use crate::{with_db, Result, Store, StoreError};

#[derive(sqlx::FromRow)]
struct Row {
    indicator_code: String,
    area_kind: String,
    area_code: String,
    period: String,
    value: f64,
    source: String,
    data_date: Option<NaiveDate>,
}

impl Store {
    /// Writes observations in one transaction: all or nothing; an existing observation (same
    /// indicator, area and period) is replaced.
    pub async fn import_observations(&self, actor: &Actor, rows: &[Observation], source: &str) -> Result<u64> {
        for o in rows {
            o.check().map_err(|e| {
                StoreError::Invalid(format!(
                    "observation « {} » de {} pour {} : {e}",
                    o.indicator, o.area.code, o.period
                ))
            })?;
        }
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            for o in rows {
                sqlx::query(
                    "INSERT INTO observation (indicator_code, area_kind, area_code, period, value, source, data_date) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (indicator_code, area_kind, area_code, period) \
                     DO UPDATE SET value = excluded.value, source = excluded.source, data_date = excluded.data_date",
                )
                .bind(&o.indicator)
                .bind(o.area.kind.code())
                .bind(&o.area.code)
                .bind(&o.period)
                .bind(o.value)
                .bind(&o.source)
                .bind(o.data_date)
                .execute(&mut *tx)
                .await?;
            }
            let indicators: std::collections::BTreeSet<&str> = rows.iter().map(|o| o.indicator.as_str()).collect();
            record!(&mut *tx, &Change {
                convention_id: None,
                object_type: "observations",
                object_id: source.to_owned(),
                object_label: format!("import d'observations ({source})"),
                action: "import",
                before: None,
                after: Some(json!({"lignes": rows.len(), "indicateurs": indicators})),
                actor,
            });
            tx.commit().await?;
        });
        Ok(rows.len() as u64)
    }

    /// Every observation of one indicator for the member communes of an EPCI, by commune and period:
    /// one query, whatever the number of communes.
    pub async fn commune_observations_in(&self, indicator: &str, epci: &ctg_domain::Siren) -> Result<Vec<Observation>> {
        let rows: Vec<Row> = with_db!(self, pool => {
            sqlx::query_as(
                "SELECT o.indicator_code, o.area_kind, o.area_code, o.period, o.value, o.source, o.data_date \
                 FROM observation o JOIN epci_member m ON m.commune_code = o.area_code \
                 WHERE o.indicator_code = $1 AND o.area_kind = 'commune' AND m.epci_siren = $2 \
                 ORDER BY o.area_code, o.period",
            )
            .bind(indicator)
            .bind(epci.as_str())
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(observation).collect()
    }

    /// The observations of these areas, by indicator, area and period.
    pub async fn observations(&self, areas: &[Area]) -> Result<Vec<Observation>> {
        let mut out = Vec::new();
        for area in areas {
            let rows: Vec<Row> = with_db!(self, pool => {
                sqlx::query_as(
                    "SELECT indicator_code, area_kind, area_code, period, value, source, data_date FROM observation \
                     WHERE area_kind = $1 AND area_code = $2 ORDER BY indicator_code, period",
                )
                .bind(area.kind.code())
                .bind(&area.code)
                .fetch_all(pool)
                .await?
            });
            for r in rows {
                out.push(observation(r)?);
            }
        }
        Ok(out)
    }
}

fn observation(r: Row) -> Result<Observation> {
    Ok(Observation {
        area: Area {
            kind: AreaKind::parse(&r.area_kind)
                .ok_or_else(|| StoreError::Corrupt(format!("type de territoire « {} »", r.area_kind)))?,
            code: r.area_code,
        },
        indicator: r.indicator_code,
        period: r.period,
        value: r.value,
        source: r.source,
        data_date: r.data_date,
    })
}
