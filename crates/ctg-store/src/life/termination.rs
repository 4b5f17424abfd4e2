//! The termination of a convention (art. 13).

use chrono::NaiveDate;
use ctg_domain::life::TerminationGround;
use ctg_domain::{Actor, OrganisationKind, PartyRole};
use serde_json::json;

use super::rule;
use crate::audit::{record, Change};
use crate::{with_db, Result, Store, StoreError};

/// Inserts a termination of `$convention_id` in the transaction `$tx`, with its audit entry (a macro:
/// the transaction is of either database), for [`Store::terminate`] and the mise en demeure left
/// without effect. A second termination is refused (« déjà résiliée »).
macro_rules! insert_termination {
    ($tx:ident, $convention_id:expr, $t:expr, $effective:expr, ($title:expr, $party:expr), $actor:expr) => {{
        let t: &Termination = $t;
        let effective: NaiveDate = $effective;
        let inserted: std::result::Result<(i64,), sqlx::Error> = sqlx::query_as(
            "INSERT INTO termination (convention_id, ground, notice_date, effective_date, party_id, note) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind($convention_id)
        .bind(t.ground.code())
        .bind(t.notice_date)
        .bind(effective)
        .bind(t.party_id)
        .bind(t.note.as_deref())
        .fetch_one(&mut *$tx)
        .await;
        let (id,) = inserted.map_err(|e| {
            if super::unique_violation(&e) {
                StoreError::Invalid("la convention est déjà résiliée : une résiliation ne s'enregistre qu'une fois".into())
            } else {
                StoreError::Database(e)
            }
        })?;
        record!(&mut *$tx, &Change {
            convention_id: Some($convention_id),
            object_type: "resiliation",
            object_id: id.to_string(),
            object_label: format!("résiliation de « {} »", $title),
            action: "creation",
            before: None,
            after: Some(json!({
                "motif": t.ground.code(),
                "date_avis": t.notice_date.to_string(),
                "date_effet": effective.to_string(),
                "partie": $party,
                "note": t.note,
            })),
            actor: $actor,
        });
    }};
}
pub(crate) use insert_termination;

/// A termination to record (art. 13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Termination {
    pub ground: TerminationGround,
    /// The day the mise en demeure was sent, the notice given, or the change without avenant found.
    pub notice_date: NaiveDate,
    /// The party that terminates (a signatory; the CAF for the grounds reserved to it).
    pub party_id: i64,
    pub note: Option<String>,
}

/// A termination as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminationRecord {
    pub id: i64,
    pub ground: TerminationGround,
    pub notice_date: NaiveDate,
    pub effective_date: NaiveDate,
    pub party_id: i64,
    pub party_name: String,
    pub note: Option<String>,
    pub version: i64,
}

impl Store {
    /// Records the termination of a convention (art. 13) by one of its signatories: at most once, on a
    /// convention signed by all on the notice date and not ended, taking effect before its end. The
    /// grounds reserved to the CAF need a CAF as the acting party. Gives the effective date.
    pub async fn terminate(&self, actor: &Actor, convention_id: i64, t: &Termination) -> Result<NaiveDate> {
        let parts = self.life_parts(convention_id).await?;
        let entry = parts.party(t.party_id)?;
        let name = entry.party.organisation.name.clone();
        if entry.party.role != PartyRole::Signatory {
            return Err(StoreError::Invalid(format!(
                "« {name} » est partenaire associé : seules les parties signataires peuvent résilier la convention"
            )));
        }
        if t.ground.caf_only() && entry.party.organisation.kind != OrganisationKind::Caf {
            return Err(StoreError::Invalid(format!(
                "seule la Caf peut résilier la convention pour ce motif ({}) ; « {name} » n'est pas une Caf",
                t.ground.article()
            )));
        }
        let effective = parts.life.check_termination(t.ground, t.notice_date).map_err(rule)?;
        let mut t = t.clone();
        ctg_domain::text::clean_opt("note", &mut t.note, ctg_domain::text::TextKind::Long)
            .map_err(StoreError::Invalid)?;
        let title = parts.detail.summary.title.clone();
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            insert_termination!(tx, convention_id, &t, effective, (title, name), actor);
            tx.commit().await?;
            Ok(effective)
        })
    }

    /// The stop of a convention's commitments (art. 13), when a termination is recorded: one read of its
    /// effective date, for the totals that count stopped commitments apart.
    pub async fn commitments_stop(&self, convention_id: i64) -> Result<Option<ctg_domain::life::Stop>> {
        let effective: Option<(NaiveDate,)> = with_db!(self, pool => {
            sqlx::query_as("SELECT effective_date FROM termination WHERE convention_id = $1")
                .bind(convention_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(ctg_domain::life::Stop::of(effective.map(|(d,)| d)))
    }

    /// The termination of a convention, if one is recorded.
    pub async fn termination(&self, convention_id: i64) -> Result<Option<TerminationRecord>> {
        Ok(self.life_parts(convention_id).await?.termination)
    }
}
