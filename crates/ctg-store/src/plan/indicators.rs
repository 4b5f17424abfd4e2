//! Follow-up indicators, of a fiche or of the whole plan, and their values by period.

use chrono::Utc;
use ctg_domain::parse::plan_period;
use ctg_domain::plan::{IndicatorValue, PlanIndicator};
use ctg_domain::Actor;
use serde_json::{json, Value};

use super::read::indicator_records;
use super::{check_indicator, check_value, json_text, IndicatorRow, ValueRow};
use crate::audit::{record, Change};
use crate::conn::{with_conn, Conn};
use crate::versioned::{Loaded, Versioned};
use crate::{with_db, Result, Store, StoreError};

/// A follow-up indicator as stored: of a fiche, or of the whole plan (`fiche_id` `None`), with its
/// values by period.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorRecord {
    pub id: i64,
    pub version: i64,
    pub fiche_id: Option<i64>,
    pub indicator: PlanIndicator,
    pub values: Vec<IndicatorValue>,
    /// Shown on the public page of the convention and in its open data (the coordination decides).
    pub published: bool,
}

fn indicator_audit(i: &PlanIndicator) -> Value {
    json!({"nom": i.name, "definition": i.kind, "cibles": i.targets})
}

impl Store {
    /// One indicator of the convention, its definition only: `values` is empty (a value is added
    /// without reading the values already there, however many they are).
    pub async fn indicator_definition(&self, convention_id: i64, id: i64) -> Result<IndicatorRecord> {
        self.acquire().await?.conn().indicator_read(convention_id, id, false).await
    }

    /// Creates a follow-up indicator, of a fiche of the convention or of the whole plan.
    pub async fn create_indicator(
        &self,
        actor: &Actor,
        convention_id: i64,
        fiche_id: Option<i64>,
        indicator: &PlanIndicator,
    ) -> Result<i64> {
        let i = check_indicator(indicator).map_err(StoreError::Invalid)?;
        self.convention_summary(convention_id).await?;
        if let Some(f) = fiche_id {
            self.fiche_code(convention_id, f).await?;
        }
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let id = insert_indicator!(&mut *tx, convention_id, fiche_id, &i);
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "indicateur",
                object_id: id.to_string(),
                object_label: i.name.clone(),
                action: "creation",
                before: None,
                after: Some(indicator_audit(&i)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Saves an indicator's name, definition and targets from the version read; a stale version is
    /// refused, and so is a definition the values already recorded no longer fit.
    pub async fn update_indicator(
        &self,
        actor: &Actor,
        convention_id: i64,
        id: i64,
        version: i64,
        indicator: &PlanIndicator,
    ) -> Result<i64> {
        let i = check_indicator(indicator).map_err(StoreError::Invalid)?;
        self.versioned_write(
            Versioned { table: "plan_indicator", id, version: Some(version) },
            async |c| {
                let current = c.indicator_record(convention_id, id).await?;
                for v in &current.values {
                    if let Err(e) = check_value(&i.kind, v.number, v.level.as_deref()) {
                        return Err(StoreError::Invalid(format!(
                            "la valeur déjà saisie pour {} ne correspond plus à la définition : {e}",
                            v.period
                        )));
                    }
                }
                Ok(Loaded::new(
                    format!("l'indicateur « {} »", current.indicator.name),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "indicateur",
                        object_id: id.to_string(),
                        object_label: i.name.clone(),
                        action: "modification",
                        before: Some(indicator_audit(&current.indicator)),
                        after: Some(indicator_audit(&i)),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query("UPDATE plan_indicator SET name = $1, definition = $2, targets = $3 WHERE id = $4")
                        .bind(&i.name)
                        .bind(json_text(&i.kind)?)
                        .bind(json_text(&i.targets)?)
                        .bind(id)
                        .execute(&mut *c)
                        .await?;
                });
                Ok(())
            },
        )
        .await
    }

    /// Records a value of an indicator for a period (`AAAA` or `AAAA-MM`): a number for a quantitative
    /// indicator, a level of its scale for a qualitative one. Without an author, the actor is named.
    pub async fn add_indicator_value(
        &self,
        actor: &Actor,
        convention_id: i64,
        indicator_id: i64,
        value: &IndicatorValue,
    ) -> Result<i64> {
        let current = self.indicator_definition(convention_id, indicator_id).await?;
        self.add_indicator_value_to(actor, convention_id, &current, value).await
    }

    /// [`Store::add_indicator_value`] for an indicator that the caller has just read with
    /// [`Store::indicator_definition`] from the same convention (to decide who may report on it): one
    /// query fewer on each value reported.
    pub async fn add_indicator_value_to(
        &self,
        actor: &Actor,
        convention_id: i64,
        current: &IndicatorRecord,
        value: &IndicatorValue,
    ) -> Result<i64> {
        let indicator_id = current.id;
        let value = &value.check().map_err(StoreError::Invalid)?;
        let period = plan_period("periode", &value.period).map_err(|e| StoreError::Invalid(e.message))?.to_string();
        let level = value.level.as_deref().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned);
        check_value(&current.indicator.kind, value.number, level.as_deref()).map_err(StoreError::Invalid)?;
        let author = match value.author.trim() {
            "" => actor.label.clone(),
            a => a.to_owned(),
        };
        let v = IndicatorValue {
            period,
            number: value.number,
            level,
            author,
            date: value.date,
            source: value.source.trim().to_owned(),
            comment: value.comment.trim().to_owned(),
        };
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO indicator_value (indicator_id, period, number, level, author, value_date, source, comment, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(indicator_id)
            .bind(&v.period)
            .bind(v.number)
            .bind(v.level.as_deref())
            .bind(&v.author)
            .bind(v.date)
            .bind(&v.source)
            .bind(&v.comment)
            .bind(Utc::now())
            .fetch_one(&mut *tx)
            .await?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "valeur_indicateur",
                object_id: id.to_string(),
                object_label: format!("{} ({})", current.indicator.name, v.period),
                action: "creation",
                before: None,
                after: Some(json!({
                    "indicateur": indicator_id,
                    "periode": v.period,
                    "valeur": v.number,
                    "niveau": v.level,
                    "auteur": v.author,
                    "date": v.date,
                    "source": v.source,
                    "commentaire": v.comment,
                })),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Shows or hides an indicator on the public page and in the open data of the convention.
    pub async fn set_indicator_published(
        &self,
        actor: &Actor,
        convention_id: i64,
        id: i64,
        published: bool,
    ) -> Result<()> {
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let found: Option<(String, bool)> =
                sqlx::query_as("SELECT name, published FROM plan_indicator WHERE id = $1 AND convention_id = $2")
                    .bind(id)
                    .bind(convention_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((name, before)) = found else {
                return Err(StoreError::NotFound(format!("l'indicateur n° {id} de cette convention")));
            };
            if before == published {
                return Ok(());
            }
            sqlx::query("UPDATE plan_indicator SET published = $1, version = version + 1 WHERE id = $2")
                .bind(published)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "indicateur",
                object_id: id.to_string(),
                object_label: name,
                action: "modification",
                before: Some(serde_json::json!({"public": before})),
                after: Some(serde_json::json!({"public": published})),
                actor,
            });
            tx.commit().await?;
            Ok(())
        })
    }
}

impl Conn<'_> {
    async fn indicator_record(&mut self, convention_id: i64, id: i64) -> Result<IndicatorRecord> {
        self.indicator_read(convention_id, id, true).await
    }

    /// The indicator, with its values when `with_values`.
    async fn indicator_read(&mut self, convention_id: i64, id: i64, with_values: bool) -> Result<IndicatorRecord> {
        let (rows, values): (Vec<IndicatorRow>, Vec<ValueRow>) = with_conn!(self, c => {
            let rows = sqlx::query_as(
                "SELECT id, fiche_id, name, definition, targets, version, published FROM plan_indicator \
                 WHERE id = $1 AND convention_id = $2",
            )
            .bind(id)
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?;
            let values = if with_values {
                sqlx::query_as(
                    "SELECT indicator_id, period, number, level, author, value_date, source, comment FROM indicator_value \
                     WHERE indicator_id = $1 ORDER BY period, value_date, id",
                )
                .bind(id)
                .fetch_all(&mut *c)
                .await?
            } else {
                Vec::new()
            };
            (rows, values)
        });
        indicator_records(rows, values)?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("l'indicateur n° {id} de cette convention")))
    }
}
