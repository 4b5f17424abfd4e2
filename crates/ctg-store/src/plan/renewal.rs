//! « Préparer la convention suivante »: the next convention of the same EPCI, as a draft linked to its
//! predecessor, with the same parties (unsigned), strategy, approaches and bodies, the same people with their roles, and the fiches not
//! finished carried over as proposals (« À venir », without dates, each linked to the fiche it
//! continues, whose history stays readable from it); the people keep their roles in it.

use chrono::{Datelike, Months, NaiveDate, Utc};
use ctg_domain::convention::{ConventionStatus, NewConvention, Party};
use ctg_domain::plan::{FicheStatus, Priority};
use ctg_domain::Actor;
use serde_json::json;

use super::{fiche_audit, json_text, unique_error, Resolved};
use crate::audit::{record, Change};
use crate::{with_db, Result, Store, StoreError};

/// What was prepared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Successor {
    pub id: i64,
    pub title: String,
    /// The fiches carried over, as proposals.
    pub carried: usize,
}

/// The fiche a carried fiche continues: (convention, its title, fiche, its code and title).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FicheOrigin {
    pub convention_id: i64,
    pub convention_title: String,
    pub fiche_id: i64,
    pub code: String,
    pub title: String,
}

/// The period that follows `start..=end`, of the same number of months.
fn next_period(start: NaiveDate, end: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let first = end.succ_opt()?;
    let months = (first.year() * 12 + first.month() as i32) - (start.year() * 12 + start.month() as i32);
    let last = first.checked_add_months(Months::new(u32::try_from(months.max(1)).ok()?))?.pred_opt()?;
    Some((first, last))
}

/// The title with its years moved to the next period (« … 2026-2030 » → « … 2031-2035 »), or marked.
fn next_title(
    title: &str,
    (start, end): (NaiveDate, NaiveDate),
    (next_start, next_end): (NaiveDate, NaiveDate),
) -> String {
    let years = format!("{}-{}", start.year(), end.year());
    if title.contains(&years) {
        title.replace(&years, &format!("{}-{}", next_start.year(), next_end.year()))
    } else {
        format!("{} ({}-{})", title.trim(), next_start.year(), next_end.year())
    }
}

impl Store {
    /// Prepares the convention that follows `predecessor` (see the module). Refused when it already
    /// has one. The new convention and its carried fiches are written together: when a fiche cannot be
    /// carried, nothing remains of the attempt.
    pub async fn prepare_successor(&self, actor: &Actor, predecessor: i64) -> Result<Successor> {
        let detail = self.convention(predecessor).await?;
        if let Some(next) = detail.successors.first() {
            return Err(StoreError::Invalid(format!(
                "la convention suivante existe déjà : « {} » (n° {})",
                next.title, next.id
            )));
        }
        let s = &detail.summary;
        let period = next_period(s.start, s.end)
            .ok_or_else(|| StoreError::Invalid("la période suivante sort du calendrier".into()))?;
        let title = next_title(&s.title, (s.start, s.end), period);
        let new = NewConvention {
            title: title.clone(),
            epci: s.epci_siren.clone(),
            start: period.0,
            end: period.1,
            status: ConventionStatus::Draft,
            signing_place: None,
            parties: detail
                .parties
                .iter()
                .map(|p| Party {
                    organisation: p.party.organisation.clone(),
                    role: p.party.role,
                    signatory: None,
                    signatory_title: None,
                    deliberation: None,
                    deliberation_date: None,
                    signature_date: None,
                    signature_month_only: false,
                })
                .collect(),
            stakes: detail.stakes.clone(),
            approaches: detail.approaches.clone(),
            bodies: detail.bodies.clone(),
            predecessor: None,
            published: false,
        };
        let id = self.create_convention(actor, &new, Some(predecessor)).await?;
        match self.carry_fiches(actor, predecessor, id).await {
            Ok(carried) => Ok(Successor { id, title, carried }),
            Err(e) => {
                // Nothing half-written: the new convention goes with the fiches that failed.
                let _ = self.delete_draft(id).await;
                Err(e)
            }
        }
    }

    /// The fiches of `from` not finished (neither done nor abandoned), into `to`, in one transaction.
    async fn carry_fiches(&self, actor: &Actor, from: i64, to: i64) -> Result<usize> {
        let plan = self.plan(from).await?;
        let ctx = self.plan_context(to).await?;
        let mut resolved = Vec::new();
        for f in plan.fiches.iter().filter(|f| !matches!(f.fiche.status, FicheStatus::Done | FicheStatus::Abandoned)) {
            let mut fiche = f.fiche.clone();
            let before = fiche.status;
            fiche.status = FicheStatus::Upcoming;
            fiche.start = None;
            fiche.end = None;
            // Objectives belong to the strategy of each convention: they are chosen again.
            fiche.objectives.clear();
            let r = ctx.resolve(fiche).map_err(|e| {
                StoreError::Invalid(format!("la fiche {} ne peut pas être reprise : {e}", f.fiche.code))
            })?;
            resolved.push((f.id, before, r));
        }
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            for (origin, before, r) in &resolved {
                let id = insert_fiche!(&mut *tx, to, r);
                sqlx::query("UPDATE fiche SET origin_fiche_id = $1 WHERE id = $2")
                    .bind(origin)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let reason = format!(
                    "reprise de la fiche {} de la convention précédente (statut à sa reprise : {})",
                    r.fiche.code,
                    before.label()
                );
                insert_status_change!(&mut *tx, id, None, r.fiche.status, &reason, &actor.label);
                let mut after = fiche_audit(&r.fiche);
                after["reprise_de"] = json!(origin);
                record!(&mut *tx, &Change {
                    convention_id: Some(to),
                    object_type: "fiche",
                    object_id: id.to_string(),
                    object_label: format!("{} {}", r.fiche.code, r.fiche.title),
                    action: "creation",
                    before: None,
                    after: Some(after),
                    actor,
                });
            }
            // The same people keep their roles: the team that follows a convention prepares the next.
            let roles = sqlx::query(
                "INSERT INTO convention_role (user_id, convention_id, role) \
                 SELECT user_id, $1, role FROM convention_role WHERE convention_id = $2",
            )
            .bind(to)
            .bind(from)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            record!(&mut *tx, &Change {
                convention_id: Some(to),
                object_type: "role",
                object_id: to.to_string(),
                object_label: "rôles repris de la convention précédente".into(),
                action: "creation",
                before: None,
                after: Some(json!({"convention_precedente": from, "roles": roles})),
                actor,
            });
            tx.commit().await?;
            Ok(resolved.len())
        })
    }

    /// Removes a draft convention made a moment ago (its parts go with it).
    async fn delete_draft(&self, id: i64) -> Result<()> {
        with_db!(self, pool => {
            sqlx::query("DELETE FROM convention WHERE id = $1 AND status = 'brouillon'").bind(id).execute(pool).await?;
        });
        Ok(())
    }

    /// The fiche a fiche of the convention continues, when it was carried over.
    pub async fn fiche_origin(&self, convention_id: i64, fiche_id: i64) -> Result<Option<FicheOrigin>> {
        let row: Option<(i64, String, i64, String, String)> = with_db!(self, pool => {
            sqlx::query_as(
                "SELECT c.id, c.title, o.id, o.code, o.title FROM fiche f JOIN fiche o ON o.id = f.origin_fiche_id \
                 JOIN convention c ON c.id = o.convention_id WHERE f.id = $1 AND f.convention_id = $2",
            )
            .bind(fiche_id)
            .bind(convention_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(convention_id, convention_title, fiche_id, code, title)| FicheOrigin {
            convention_id,
            convention_title,
            fiche_id,
            code,
            title,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_next_period_has_as_many_whole_years_and_the_title_follows() {
        let period = next_period(d(2026, 1, 1), d(2030, 12, 31)).unwrap();
        assert_eq!(period, (d(2031, 1, 1), d(2035, 12, 31)));
        assert_eq!(
            next_title("Convention Territoriale Globale 2026-2030", (d(2026, 1, 1), d(2030, 12, 31)), period),
            "Convention Territoriale Globale 2031-2035"
        );
        assert_eq!(
            next_title("CTG de l'Artois", (d(2026, 1, 1), d(2030, 12, 31)), period),
            "CTG de l'Artois (2031-2035)"
        );
        // A convention of 1 July 2022 to 30 June 2026 (four years) is followed by four years.
        assert_eq!(next_period(d(2022, 7, 1), d(2026, 6, 30)).unwrap(), (d(2026, 7, 1), d(2030, 6, 30)));
    }
}
