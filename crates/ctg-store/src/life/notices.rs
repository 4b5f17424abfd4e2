//! Mises en demeure (art. 13): recorded when sent, settled later. One left without effect terminates
//! the convention at its deadline, in the same transaction as its outcome.

use chrono::NaiveDate;
use ctg_domain::life::{check_notice_outcome, notice_deadline, NoticeOutcome, TerminationGround};
use ctg_domain::{Actor, OrganisationKind, PartyRole};
use serde_json::json;

use super::rule;
use super::termination::{insert_termination, Termination};
use crate::audit::{record, Change};
use crate::{with_db, Result, Store, StoreError};

/// A mise en demeure to record: from a signatory to another, about an obligation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFormalNotice {
    pub sender_party_id: i64,
    pub recipient_party_id: i64,
    /// The obligation not met, as the letter states it.
    pub obligation: String,
    /// A legal or regulatory obligation (the CAF sends it), rather than one of the convention.
    pub legal: bool,
    pub sent_on: NaiveDate,
}

/// A mise en demeure as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormalNotice {
    pub id: i64,
    pub sender_party_id: i64,
    pub sender: String,
    pub recipient_party_id: i64,
    pub recipient: String,
    pub obligation: String,
    pub legal: bool,
    pub sent_on: NaiveDate,
    /// One month after it was sent (art. 13).
    pub deadline: NaiveDate,
    pub outcome: NoticeOutcome,
    pub outcome_on: Option<NaiveDate>,
    pub version: i64,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    sender_party_id: i64,
    sender: String,
    recipient_party_id: i64,
    recipient: String,
    obligation: String,
    legal: bool,
    sent_on: NaiveDate,
    deadline: NaiveDate,
    outcome: String,
    outcome_on: Option<NaiveDate>,
    version: i64,
}

impl Store {
    /// The mises en demeure of a convention, the latest sent first.
    pub async fn formal_notices(&self, convention_id: i64) -> Result<Vec<FormalNotice>> {
        let rows: Vec<Row> = with_db!(self, pool => {
            sqlx::query_as(
                "SELECT n.id, n.sender_party_id, os.name AS sender, n.recipient_party_id, orc.name AS recipient, \
                 n.obligation, n.legal, n.sent_on, n.deadline, n.outcome, n.outcome_on, n.version \
                 FROM formal_notice n \
                 JOIN party ps ON ps.id = n.sender_party_id JOIN organisation os ON os.id = ps.organisation_id \
                 JOIN party pr ON pr.id = n.recipient_party_id JOIN organisation orc ON orc.id = pr.organisation_id \
                 WHERE n.convention_id = $1 ORDER BY n.sent_on DESC, n.id DESC",
            )
            .bind(convention_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(FormalNotice {
                    outcome: NoticeOutcome::parse(&r.outcome).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    id: r.id,
                    sender_party_id: r.sender_party_id,
                    sender: r.sender,
                    recipient_party_id: r.recipient_party_id,
                    recipient: r.recipient,
                    obligation: r.obligation,
                    legal: r.legal,
                    sent_on: r.sent_on,
                    deadline: r.deadline,
                    outcome_on: r.outcome_on,
                    version: r.version,
                })
            })
            .collect()
    }

    /// Records a mise en demeure sent by a signatory to another (art. 13), on a convention signed by
    /// all on that day, not terminated, before its end and early enough for its month to run before the
    /// end. A legal or regulatory obligation is the CAF's to enforce. Gives its id.
    pub async fn send_formal_notice(&self, actor: &Actor, convention_id: i64, new: &NewFormalNotice) -> Result<i64> {
        let obligation = ctg_domain::text::clean("obligation", &new.obligation, ctg_domain::text::TextKind::Long)
            .map_err(StoreError::Invalid)?;
        if obligation.is_empty() {
            return Err(StoreError::Invalid(
                "dites quelle obligation n'est pas respectée : la mise en demeure la nomme (art. 13)".into(),
            ));
        }
        let parts = self.life_parts(convention_id).await?;
        let sender = parts.party(new.sender_party_id)?;
        let recipient = parts.party(new.recipient_party_id)?;
        for p in [sender, recipient] {
            if p.party.role != PartyRole::Signatory {
                return Err(StoreError::Invalid(format!(
                    "« {} » est partenaire associé : une mise en demeure va d'une partie signataire à une autre",
                    p.party.organisation.name
                )));
            }
        }
        if sender.id == recipient.id {
            return Err(StoreError::Invalid("une partie ne se met pas en demeure elle-même".into()));
        }
        if new.legal && sender.party.organisation.kind != OrganisationKind::Caf {
            return Err(StoreError::Invalid(format!(
                "le manquement aux obligations légales ou réglementaires est sanctionné par la Caf (art. 13) : « {} » \
                 n'est pas une Caf",
                sender.party.organisation.name
            )));
        }
        // The termination it may lead to must be possible: signed, not terminated, within the period.
        let ground = if new.legal { TerminationGround::LegalBreach } else { TerminationGround::Breach };
        parts.life.check_termination(ground, new.sent_on).map_err(rule)?;
        let deadline = notice_deadline(new.sent_on);
        let (sender_name, recipient_name) =
            (sender.party.organisation.name.clone(), recipient.party.organisation.name.clone());
        let title = parts.detail.summary.title.clone();
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO formal_notice (convention_id, sender_party_id, recipient_party_id, obligation, legal, sent_on, \
                 deadline) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(convention_id)
            .bind(new.sender_party_id)
            .bind(new.recipient_party_id)
            .bind(&obligation)
            .bind(new.legal)
            .bind(new.sent_on)
            .bind(deadline)
            .fetch_one(&mut *tx)
            .await?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "mise_en_demeure",
                object_id: id.to_string(),
                object_label: format!("mise en demeure de « {recipient_name} » ({title})"),
                action: "creation",
                before: None,
                after: Some(json!({
                    "de": sender_name,
                    "a": recipient_name,
                    "obligation": obligation,
                    "legale": new.legal,
                    "envoyee_le": new.sent_on.to_string(),
                    "echeance": deadline.to_string(),
                })),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Settles a pending mise en demeure, from the version read: complied with, withdrawn, or left
    /// without effect from its deadline on, which terminates the convention at that deadline (ground
    /// « mise en demeure », legal or not; the sender terminates), in the same transaction. Gives the
    /// day the termination takes effect, for an unfruitful one.
    pub async fn settle_formal_notice(
        &self,
        actor: &Actor,
        convention_id: i64,
        (notice_id, version): (i64, i64),
        outcome: NoticeOutcome,
        on: NaiveDate,
    ) -> Result<Option<NaiveDate>> {
        let notice =
            self.formal_notices(convention_id).await?.into_iter().find(|n| n.id == notice_id).ok_or_else(|| {
                StoreError::NotFound(format!("la mise en demeure n° {notice_id} de cette convention"))
            })?;
        let effective = check_notice_outcome(notice.outcome, notice.sent_on, outcome, on).map_err(rule)?;
        let ground = if notice.legal { TerminationGround::LegalBreach } else { TerminationGround::Breach };
        let parts = self.life_parts(convention_id).await?;
        if effective.is_some() {
            parts.life.check_termination(ground, notice.sent_on).map_err(rule)?;
        }
        let title = parts.detail.summary.title;
        let label = format!("mise en demeure de « {} » ({title})", notice.recipient);
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let updated = sqlx::query(
                "UPDATE formal_notice SET outcome = $1, outcome_on = $2, version = version + 1 \
                 WHERE id = $3 AND convention_id = $4 AND version = $5 AND outcome = 'en_cours'",
            )
            .bind(outcome.code())
            .bind(on)
            .bind(notice_id)
            .bind(convention_id)
            .bind(version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated != 1 {
                return Err(StoreError::Stale { what: format!("la {label}"), last_change: None });
            }
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "mise_en_demeure",
                object_id: notice_id.to_string(),
                object_label: label.clone(),
                action: "modification",
                before: Some(json!({"suite": NoticeOutcome::Pending.code()})),
                after: Some(json!({"suite": outcome.code(), "le": on.to_string()})),
                actor,
            });
            if let Some(effective) = effective {
                let t = Termination {
                    ground,
                    notice_date: notice.sent_on,
                    party_id: notice.sender_party_id,
                    note: Some(format!(
                        "mise en demeure du {} restée infructueuse : {}",
                        notice.sent_on.format("%d/%m/%Y"),
                        notice.obligation
                    )),
                };
                insert_termination!(tx, convention_id, &t, effective, (title, notice.sender), actor);
            }
            tx.commit().await?;
            Ok(effective)
        })
    }
}
