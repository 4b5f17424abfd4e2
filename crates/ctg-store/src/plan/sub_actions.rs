//! The sub-actions of a fiche, on two levels.

use ctg_domain::plan::SubAction;
use ctg_domain::Actor;
use serde_json::{json, Value};

use super::{status, SubRow};
use crate::audit::{record, Change};
use crate::conn::{with_conn, Conn};
use crate::versioned::{Loaded, Versioned};
use crate::{with_db, Result, Store, StoreError};

/// A sub-action as stored (its id is `sub.id`), with its version for editing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubActionRecord {
    pub sub: SubAction,
    pub version: i64,
}

fn sub_audit(s: &SubAction) -> Value {
    json!({
        "parente": s.parent,
        "intitule": s.title,
        "statut": s.status.code(),
        "pilote": s.pilot,
        "debut": s.start,
        "fin": s.end,
    })
}

/// Checks a sub-action as entered; evaluates to it tidied.
fn check_sub(s: &SubAction) -> Result<SubAction> {
    let s = s.check().map_err(StoreError::Invalid)?;
    if s.title.is_empty() {
        return Err(StoreError::Invalid("l'intitulé de la sous-action est vide".into()));
    }
    if let (Some(start), Some(end)) = (s.start, s.end) {
        if end < start {
            return Err(StoreError::Invalid(format!("la fin ({end}) précède le début ({start})")));
        }
    }
    Ok(s)
}

impl Store {
    async fn check_parent(&self, fiche_id: i64, parent: i64, itself: Option<i64>) -> Result<()> {
        self.acquire().await?.conn().check_parent(fiche_id, parent, itself).await
    }

    /// Adds a sub-action at the end of a fiche; `sub.parent` is a first-level sub-action of the same
    /// fiche or none (`sub.id` is ignored). Evaluates to its id.
    pub async fn add_sub_action(
        &self,
        actor: &Actor,
        convention_id: i64,
        fiche_id: i64,
        sub: &SubAction,
    ) -> Result<i64> {
        let s = check_sub(sub)?;
        let code = self.fiche_code(convention_id, fiche_id).await?;
        if let Some(parent) = s.parent {
            self.check_parent(fiche_id, parent, None).await?;
        }
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO sub_action (fiche_id, parent_id, position, title, status, pilot, start_date, end_date) \
                 VALUES ($1, $2, (SELECT COALESCE(MAX(position), 0) + 1 FROM sub_action WHERE fiche_id = $1), $3, $4, $5, $6, $7) \
                 RETURNING id",
            )
            .bind(fiche_id)
            .bind(s.parent)
            .bind(&s.title)
            .bind(s.status.code())
            .bind(&s.pilot)
            .bind(s.start)
            .bind(s.end)
            .fetch_one(&mut *tx)
            .await?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "sous_action",
                object_id: id.to_string(),
                object_label: format!("{} ({code})", s.title),
                action: "creation",
                before: None,
                after: Some(sub_audit(&s)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Saves the sub-action `sub.id` from the version read; a stale version is refused. It may change
    /// parent within its fiche, as long as it stays on two levels.
    pub async fn update_sub_action(
        &self,
        actor: &Actor,
        convention_id: i64,
        version: i64,
        sub: &SubAction,
    ) -> Result<i64> {
        let s = check_sub(sub)?;
        let id = s.id;
        self.versioned_write(
            Versioned { table: "sub_action", id, version: Some(version) },
            async |c| {
                let found: Option<(SubRow, String, i64)> = with_conn!(c, c => {
                    let row: Option<SubRow> = sqlx::query_as(
                        "SELECT s.id, s.fiche_id, s.parent_id, s.title, s.status, s.pilot, s.start_date, s.end_date, s.version \
                         FROM sub_action s JOIN fiche f ON f.id = s.fiche_id WHERE s.id = $1 AND f.convention_id = $2",
                    )
                    .bind(id)
                    .bind(convention_id)
                    .fetch_optional(&mut *c)
                    .await?;
                    match row {
                        Some(row) => {
                            let (code,): (String,) = sqlx::query_as("SELECT code FROM fiche WHERE id = $1")
                                .bind(row.fiche_id)
                                .fetch_one(&mut *c)
                                .await?;
                            let (children,): (i64,) =
                                sqlx::query_as("SELECT COUNT(*) FROM sub_action WHERE parent_id = $1")
                                    .bind(id)
                                    .fetch_one(&mut *c)
                                    .await?;
                            Some((row, code, children))
                        }
                        None => None,
                    }
                });
                let (row, code, children) =
                    found.ok_or_else(|| StoreError::NotFound(format!("la sous-action n° {id} de cette convention")))?;
                if let Some(parent) = s.parent {
                    if children > 0 {
                        return Err(StoreError::Invalid(format!(
                            "la sous-action « {} » a ses propres sous-actions : elle ne peut pas passer au second niveau",
                            row.title
                        )));
                    }
                    c.check_parent(row.fiche_id, parent, Some(id)).await?;
                }
                let before = SubAction {
                    id,
                    parent: row.parent_id,
                    title: row.title.clone(),
                    status: status(&row.status)?,
                    pilot: row.pilot.clone(),
                    start: row.start_date,
                    end: row.end_date,
                };
                Ok(Loaded::new(
                    format!("la sous-action « {} »", row.title),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "sous_action",
                        object_id: id.to_string(),
                        object_label: format!("{} ({code})", s.title),
                        action: "modification",
                        before: Some(sub_audit(&before)),
                        after: Some(sub_audit(&s)),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query(
                        "UPDATE sub_action SET parent_id = $1, title = $2, status = $3, pilot = $4, start_date = $5, \
                         end_date = $6 WHERE id = $7",
                    )
                    .bind(s.parent)
                    .bind(&s.title)
                    .bind(s.status.code())
                    .bind(&s.pilot)
                    .bind(s.start)
                    .bind(s.end)
                    .bind(id)
                    .execute(&mut *c)
                    .await?;
                });
                Ok(())
            },
        )
        .await
    }
}

impl Conn<'_> {
    /// Checks the parent of a sub-action: a first-level sub-action of the same fiche, other than
    /// `itself`. Two levels at most.
    async fn check_parent(&mut self, fiche_id: i64, parent: i64, itself: Option<i64>) -> Result<()> {
        if itself == Some(parent) {
            return Err(StoreError::Invalid("une sous-action ne peut pas être sa propre parente".into()));
        }
        let found: Option<(i64, Option<i64>, String)> = with_conn!(self, c => {
            sqlx::query_as("SELECT fiche_id, parent_id, title FROM sub_action WHERE id = $1")
                .bind(parent)
                .fetch_optional(&mut *c)
                .await?
        });
        match found {
            Some((f, _, _)) if f != fiche_id => {
                Err(StoreError::Invalid(format!("la sous-action parente n° {parent} n'appartient pas à cette fiche")))
            }
            Some((_, Some(_), title)) => Err(StoreError::Invalid(format!(
                "la sous-action « {title} » est déjà de second niveau : on ne peut pas lui rattacher de sous-action \
                 (deux niveaux au plus)"
            ))),
            Some(_) => Ok(()),
            None => Err(StoreError::Invalid(format!("la sous-action parente n° {parent} n'existe pas"))),
        }
    }
}
