//! The objectives of a convention, each under one of its ambitions.

use ctg_domain::plan::Objective;
use ctg_domain::Actor;
use serde_json::{json, Value};

use super::read::objective_records;
use super::{unique_error, ObjectiveRow, OBJECTIVE_SELECT};
use crate::audit::{record, Change};
use crate::conn::{with_conn, Conn};
use crate::versioned::{Loaded, Versioned};
use crate::{with_db, Result, Store, StoreError};

/// An objective as stored, with its version for editing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectiveRecord {
    pub id: i64,
    pub version: i64,
    pub objective: Objective,
}

fn objective_audit(o: &Objective) -> Value {
    json!({"code": o.code, "intitule": o.title, "ambition": o.ambition})
}

impl Store {
    /// The objectives of a convention, by ambition then code.
    pub async fn objectives(&self, convention_id: i64) -> Result<Vec<ObjectiveRecord>> {
        self.acquire().await?.conn().objectives(convention_id).await
    }

    fn tidy_objective(o: &Objective) -> Result<Objective> {
        let o = Objective { code: o.code.trim().to_owned(), title: o.title.trim().to_owned(), ambition: o.ambition };
        if o.code.is_empty() {
            return Err(StoreError::Invalid("le code de l'objectif est vide".into()));
        }
        if o.code.chars().count() > 20 {
            return Err(StoreError::Invalid(format!("le code « {} » dépasse 20 caractères", o.code)));
        }
        if o.title.is_empty() {
            return Err(StoreError::Invalid("l'intitulé de l'objectif est vide".into()));
        }
        Ok(o)
    }

    /// Creates an objective under an ambition of the convention; its code is unique in the convention.
    pub async fn create_objective(&self, actor: &Actor, convention_id: i64, objective: &Objective) -> Result<i64> {
        let o = Self::tidy_objective(objective)?;
        self.convention_summary(convention_id).await?;
        let ambition_id = self.ambition_id(convention_id, o.ambition).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO objective (convention_id, ambition_id, code, title) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(convention_id)
            .bind(ambition_id)
            .bind(&o.code)
            .bind(&o.title)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| unique_error(e, || format!("l'objectif « {} » existe déjà dans cette convention", o.code)))?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "objectif",
                object_id: id.to_string(),
                object_label: format!("{} {}", o.code, o.title),
                action: "creation",
                before: None,
                after: Some(objective_audit(&o)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Saves an objective from the version read; a stale version is refused.
    pub async fn update_objective(
        &self,
        actor: &Actor,
        convention_id: i64,
        id: i64,
        version: i64,
        objective: &Objective,
    ) -> Result<i64> {
        let o = Self::tidy_objective(objective)?;
        self.versioned_write(
            Versioned { table: "objective", id, version: Some(version) },
            async |c| {
                let current = c
                    .objectives(convention_id)
                    .await?
                    .into_iter()
                    .find(|r| r.id == id)
                    .ok_or_else(|| StoreError::NotFound(format!("l'objectif n° {id} de cette convention")))?;
                let ambition_id = c.ambition_id(convention_id, o.ambition).await?;
                let loaded = Loaded::new(
                    format!("l'objectif « {} »", current.objective.code),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "objectif",
                        object_id: id.to_string(),
                        object_label: format!("{} {}", o.code, o.title),
                        action: "modification",
                        before: Some(objective_audit(&current.objective)),
                        after: Some(objective_audit(&o)),
                        actor,
                    },
                );
                Ok(loaded.with(ambition_id))
            },
            async |c, ambition_id| {
                with_conn!(c, c => {
                    sqlx::query("UPDATE objective SET ambition_id = $1, code = $2, title = $3 WHERE id = $4")
                        .bind(ambition_id)
                        .bind(&o.code)
                        .bind(&o.title)
                        .bind(id)
                        .execute(&mut *c)
                        .await
                        .map_err(|e| {
                            unique_error(e, || format!("l'objectif « {} » existe déjà dans cette convention", o.code))
                        })?;
                });
                Ok(())
            },
        )
        .await
    }
}

impl Conn<'_> {
    /// The objectives of a convention, by ambition then code.
    pub(crate) async fn objectives(&mut self, convention_id: i64) -> Result<Vec<ObjectiveRecord>> {
        let rows: Vec<ObjectiveRow> = with_conn!(self, c => {
            sqlx::query_as(OBJECTIVE_SELECT).bind(convention_id).fetch_all(&mut *c).await?
        });
        Ok(objective_records(rows))
    }
}
