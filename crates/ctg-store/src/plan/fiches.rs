//! Fiches action: created and saved from the version read, each change of status kept in their history.

use chrono::{DateTime, Utc};
use ctg_domain::plan::{fiche_progress, FicheStatus, Means, NewFiche, Priority, SubAction};
use ctg_domain::Actor;
use serde_json::json;

use super::{fiche_audit, json_text, unique_error, Resolved, SubActionRecord};
use crate::audit::{record, Change};
use crate::conn::with_conn;
use crate::versioned::{Loaded, Versioned};
use crate::{with_db, Result, Store, StoreError};

/// One change of the status of a fiche; `from` is `None` for its creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub at: DateTime<Utc>,
    pub from: Option<FicheStatus>,
    pub to: FicheStatus,
    pub reason: String,
    pub author: String,
}

/// A fiche action as stored, with its sub-actions (by position), its means and its history of status
/// changes (oldest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FicheRecord {
    pub id: i64,
    pub version: i64,
    pub fiche: NewFiche,
    pub subs: Vec<SubActionRecord>,
    pub means: Vec<Means>,
    pub history: Vec<StatusChange>,
}

impl FicheRecord {
    /// Its sub-actions, as the domain's roll-up rules take them.
    pub fn sub_actions(&self) -> Vec<SubAction> {
        self.subs.iter().map(|s| s.sub.clone()).collect()
    }

    /// Its progress in percent ([`fiche_progress`]); `None` when abandoned.
    pub fn progress(&self) -> Option<f64> {
        fiche_progress(self.fiche.status, &self.sub_actions())
    }
}

impl Store {
    /// Creates a fiche action: checked ([`NewFiche::check`]), its ambitions and objectives resolved in
    /// this convention (unknown ones are named), its communes in the convention's territory; the first
    /// entry of its history of statuses says « création ».
    pub async fn create_fiche(&self, actor: &Actor, convention_id: i64, fiche: NewFiche) -> Result<i64> {
        let ctx = self.plan_context(convention_id).await?;
        let r = ctx.resolve(fiche).map_err(StoreError::Invalid)?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let id = insert_fiche!(&mut *tx, convention_id, &r);
            insert_status_change!(&mut *tx, id, None, r.fiche.status, "création", &actor.label);
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "fiche",
                object_id: id.to_string(),
                object_label: format!("{} {}", r.fiche.code, r.fiche.title),
                action: "creation",
                before: None,
                after: Some(fiche_audit(&r.fiche)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Saves a fiche from the version read. A change of status is added to its history with `reason`,
    /// which it then requires. A stale version is refused and nothing is written.
    pub async fn update_fiche(
        &self,
        actor: &Actor,
        convention_id: i64,
        id: i64,
        version: i64,
        fiche: NewFiche,
        reason: &str,
    ) -> Result<i64> {
        let reason = reason.trim();
        self.versioned_write(
            Versioned { table: "fiche", id, version: Some(version) },
            async |c| {
                let ctx = c.plan_context(convention_id).await?;
                let r = ctx.resolve(fiche).map_err(StoreError::Invalid)?;
                let current = c.fiche(convention_id, id).await?;
                let (from, to) = (current.fiche.status, r.fiche.status);
                let mut after = fiche_audit(&r.fiche);
                if from != to {
                    after["raison_changement_statut"] = json!(reason);
                }
                let loaded = Loaded::new(
                    format!("la fiche « {} »", current.fiche.code),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "fiche",
                        object_id: id.to_string(),
                        object_label: format!("{} {}", r.fiche.code, r.fiche.title),
                        action: "modification",
                        before: Some(fiche_audit(&current.fiche)),
                        after: Some(after),
                        actor,
                    },
                );
                Ok(loaded.with((r, from)))
            },
            async |c, (r, from)| {
                // After the version: a stale version is reported before a missing reason.
                let to = r.fiche.status;
                if from != to && reason.is_empty() {
                    return Err(StoreError::Invalid(format!(
                        "le statut passe de « {} » à « {} » : indiquez la raison de ce changement",
                        from.label(),
                        to.label()
                    )));
                }
                with_conn!(c, c => {
                    update_fiche_row!(c, convention_id, id, &r);
                    if from != to {
                        insert_status_change!(c, id, Some(from), to, reason, &actor.label);
                    }
                });
                Ok(())
            },
        )
        .await
    }
}
