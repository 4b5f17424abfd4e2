//! The decisions of a meeting (recorded, changed, closed), and those of a convention still open on a
//! given day.

use std::collections::HashMap;

use chrono::NaiveDate;
use ctg_domain::format::date_short;
use ctg_domain::governance::{open_decisions as pending_decisions, Decision, Meeting, NewDecision, NewMeeting};
use ctg_domain::Actor;
use serde_json::{json, Value};

use super::{invalid, meeting_label};
use crate::audit::{record, Change};
use crate::conn::{with_conn, Conn};
use crate::versioned::{Loaded, Versioned};
use crate::{with_db, Result, Store, StoreError};

/// An open decision of a convention, with the body and meeting that took it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenDecision {
    pub body_id: i64,
    pub body_name: String,
    pub meeting_id: i64,
    pub meeting_date: NaiveDate,
    pub decision: Decision,
    /// Its due date is before the day asked about.
    pub overdue: bool,
    pub days_overdue: i64,
}

impl AsRef<Decision> for OpenDecision {
    fn as_ref(&self) -> &Decision {
        &self.decision
    }
}

fn decision_audit(d: &NewDecision, closed_on: Option<NaiveDate>) -> Value {
    json!({
        "texte": d.text, "fiches": d.fiches, "suivi_par": d.follow_up, "echeance": d.due, "close_le": closed_on,
    })
}

impl Store {
    async fn check_fiches(&self, convention_id: i64, fiches: &[i64]) -> Result<()> {
        self.acquire().await?.conn().check_fiches(convention_id, fiches).await
    }

    /// Records a decision of a meeting; it is open until closed.
    pub async fn add_decision(
        &self,
        actor: &Actor,
        convention_id: i64,
        meeting_id: i64,
        decision: NewDecision,
    ) -> Result<i64> {
        let decision = decision.check().map_err(invalid)?;
        let meeting = self.meeting(convention_id, meeting_id).await?;
        let body = self.body(convention_id, meeting.body_id).await?;
        self.check_fiches(convention_id, &decision.fiches).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO decision (meeting_id, content, follow_up, due_on) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(meeting_id)
            .bind(&decision.text)
            .bind(&decision.follow_up)
            .bind(decision.due)
            .fetch_one(&mut *tx)
            .await?;
            for f in &decision.fiches {
                sqlx::query("INSERT INTO decision_fiche (decision_id, fiche_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(*f)
                    .execute(&mut *tx)
                    .await?;
            }
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "decision",
                object_id: id.to_string(),
                object_label: decision_label(&body.body.name, &meeting.data, &decision.text),
                action: "creation",
                before: None,
                after: Some(decision_audit(&decision, None)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Changes the text, fiches, follow-up or due date of a decision, from the version read.
    pub async fn update_decision(
        &self,
        actor: &Actor,
        convention_id: i64,
        decision_id: i64,
        version: i64,
        edit: NewDecision,
    ) -> Result<i64> {
        let edit = edit.check().map_err(invalid)?;
        self.versioned_write(
            Versioned { table: "decision", id: decision_id, version: Some(version) },
            async |c| {
                let (current, meeting, body_name) = c.decision_in(convention_id, decision_id).await?;
                c.check_fiches(convention_id, &edit.fiches).await?;
                Ok(Loaded::new(
                    "la décision".into(),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "decision",
                        object_id: decision_id.to_string(),
                        object_label: decision_label(&body_name, &meeting.data, &edit.text),
                        action: "modification",
                        before: Some(decision_audit(&current.data, current.closed_on)),
                        after: Some(decision_audit(&edit, current.closed_on)),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query("UPDATE decision SET content = $1, follow_up = $2, due_on = $3 WHERE id = $4")
                        .bind(&edit.text)
                        .bind(&edit.follow_up)
                        .bind(edit.due)
                        .bind(decision_id)
                        .execute(&mut *c)
                        .await?;
                    sqlx::query("DELETE FROM decision_fiche WHERE decision_id = $1")
                        .bind(decision_id)
                        .execute(&mut *c)
                        .await?;
                    for f in &edit.fiches {
                        sqlx::query("INSERT INTO decision_fiche (decision_id, fiche_id) VALUES ($1, $2)")
                            .bind(decision_id)
                            .bind(*f)
                            .execute(&mut *c)
                            .await?;
                    }
                });
                Ok(())
            },
        )
        .await
    }

    /// Closes a decision on `closed_on` (not before the meeting that took it), from the version read.
    pub async fn close_decision(
        &self,
        actor: &Actor,
        convention_id: i64,
        decision_id: i64,
        version: i64,
        closed_on: NaiveDate,
    ) -> Result<i64> {
        self.versioned_write(
            Versioned { table: "decision", id: decision_id, version: Some(version) },
            async |c| {
                let (current, meeting, body_name) = c.decision_in(convention_id, decision_id).await?;
                if let Some(closed) = current.closed_on {
                    if current.version == version {
                        return Err(invalid(format!("la décision est déjà close depuis le {}", date_short(closed))));
                    }
                }
                if closed_on < meeting.data.date {
                    return Err(invalid(format!(
                        "la date de clôture ({}) précède la séance qui a pris la décision ({})",
                        date_short(closed_on),
                        date_short(meeting.data.date)
                    )));
                }
                Ok(Loaded::new(
                    "la décision".into(),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "decision",
                        object_id: decision_id.to_string(),
                        object_label: decision_label(&body_name, &meeting.data, &current.data.text),
                        action: "modification",
                        before: Some(decision_audit(&current.data, None)),
                        after: Some(decision_audit(&current.data, Some(closed_on))),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query("UPDATE decision SET closed_on = $1 WHERE id = $2")
                        .bind(closed_on)
                        .bind(decision_id)
                        .execute(&mut *c)
                        .await?;
                });
                Ok(())
            },
        )
        .await
    }

    /// The decisions of the convention open on `day`, by due date (those without one last), each
    /// flagged overdue when its due date is before `day`: what a meeting's preparation pack lists.
    pub async fn open_decisions(&self, convention_id: i64, day: NaiveDate) -> Result<Vec<OpenDecision>> {
        let bodies: HashMap<i64, String> =
            self.bodies(convention_id).await?.into_iter().map(|b| (b.id, b.body.name)).collect();
        let all: Vec<OpenDecision> = self
            .meetings(convention_id)
            .await?
            .into_iter()
            .flat_map(|m| {
                let body_name = bodies.get(&m.body_id).cloned().unwrap_or_default();
                m.decisions.into_iter().map(move |decision| OpenDecision {
                    body_id: m.body_id,
                    body_name: body_name.clone(),
                    meeting_id: m.id,
                    meeting_date: m.data.date,
                    decision,
                    overdue: false,
                    days_overdue: 0,
                })
            })
            .collect();
        Ok(pending_decisions(&all, day)
            .into_iter()
            .map(|p| OpenDecision { overdue: p.overdue, days_overdue: p.days_overdue, ..p.item.clone() })
            .collect())
    }
}

impl Conn<'_> {
    /// The decision `decision_id` of the convention, with the meeting that took it and its body's name.
    async fn decision_in(&mut self, convention_id: i64, decision_id: i64) -> Result<(Decision, Meeting, String)> {
        let found: Option<(i64,)> = with_conn!(self, c => {
            sqlx::query_as(
                "SELECT d.meeting_id FROM decision d JOIN meeting m ON m.id = d.meeting_id JOIN body b ON b.id = m.body_id \
                 WHERE d.id = $1 AND b.convention_id = $2",
            )
            .bind(decision_id)
            .bind(convention_id)
            .fetch_optional(&mut *c)
            .await?
        });
        let not_found = || StoreError::NotFound(format!("la décision n° {decision_id} de cette convention"));
        let (meeting_id,) = found.ok_or_else(not_found)?;
        let meeting = self.meeting(convention_id, meeting_id).await?;
        let decision = meeting.decisions.iter().find(|d| d.id == decision_id).cloned().ok_or_else(not_found)?;
        let body = self.body(convention_id, meeting.body_id).await?;
        Ok((decision, meeting, body.body.name))
    }
}

fn decision_label(body_name: &str, m: &NewMeeting, text: &str) -> String {
    let short: String = text.chars().take(60).collect();
    let more = if short.len() < text.len() { "…" } else { "" };
    format!("décision « {short}{more} » ({})", meeting_label(body_name, m))
}
