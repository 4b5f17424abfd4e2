//! The signatures of the convention by its signatories; the last one makes a draft signed.

use chrono::NaiveDate;
use ctg_domain::life::{Signature, SignedOn};
use ctg_domain::{Actor, ConventionStatus, PartyRole};
use serde_json::{json, Value};

use super::rule;
use crate::audit::{record, Change};
use crate::conn::with_conn;
use crate::versioned::{Loaded, Versioned};
use crate::{Result, Store, StoreError};

impl Store {
    /// A signatory signs the convention on a day or in a month ([`SignedOn`]), authorised by a
    /// deliberation when the text names one (its name and its date each optional; a dated one is taken
    /// on or before the signature). A party that has signed cannot sign again
    /// (its date is corrected with [`Store::update_party`]); a partenaire associé does not sign. When the
    /// last signatory signs a convention recorded as a draft, it is recorded as signed, in the same
    /// transaction. Gives the party's new version.
    pub async fn sign_party(
        &self,
        actor: &Actor,
        convention_id: i64,
        party_id: i64,
        on: SignedOn,
        deliberation: Option<&str>,
        deliberation_date: Option<NaiveDate>,
    ) -> Result<i64> {
        let mut deliberation = deliberation.map(str::to_owned);
        ctg_domain::text::clean_opt("délibération", &mut deliberation, ctg_domain::text::TextKind::Title)
            .map_err(StoreError::Invalid)?;
        let signature = Signature { on, deliberation, deliberation_date };
        self.versioned_write(
            Versioned { table: "party", id: party_id, version: None },
            async |c| {
                // Locks the convention's row first, so that two last signatures at once see each other.
                with_conn!(c, c => {
                    sqlx::query("UPDATE convention SET version = version WHERE id = $1")
                        .bind(convention_id)
                        .execute(&mut *c)
                        .await?;
                });
                let parts = c.life_parts(convention_id).await?;
                let entry = parts.party(party_id)?;
                let name = entry.party.organisation.name.clone();
                if entry.party.role != PartyRole::Signatory {
                    return Err(StoreError::Invalid(format!(
                        "« {name} » est partenaire associé : il ne signe pas la convention"
                    )));
                }
                if let Some(signed) = entry.party.signed_on() {
                    return Err(StoreError::Invalid(format!(
                        "« {name} » a déjà signé la convention ({}) ; pour corriger la date, modifiez la partie",
                        signed.label()
                    )));
                }
                parts.life.check_signature(&signature).map_err(rule)?;
                let title = parts.detail.summary.title.clone();
                let change = Change {
                    convention_id: Some(convention_id),
                    object_type: "partie",
                    object_id: party_id.to_string(),
                    object_label: format!("{name} ({title})"),
                    action: "signature",
                    before: Some(json!({
                        "deliberation": entry.party.deliberation,
                        "deliberation_date": entry.party.deliberation_date.map(|d| d.to_string()),
                        "signature_date": Value::Null,
                    })),
                    after: Some(json!({
                        "deliberation": signature.deliberation,
                        "deliberation_date": deliberation_date.map(|d| d.to_string()),
                        "signature_date": on.date.to_string(),
                        "signature_au_mois": on.month_only,
                    })),
                    actor,
                };
                Ok(Loaded::new(format!("la partie « {name} »"), change).with(title))
            },
            async |c, title| {
                with_conn!(c, c => {
                    sqlx::query(
                        "UPDATE party SET deliberation = $1, deliberation_date = $2, signature_date = $3, \
                         signature_month_only = $4 WHERE id = $5",
                    )
                    .bind(signature.deliberation.as_deref())
                    .bind(deliberation_date)
                    .bind(on.date)
                    .bind(on.month_only)
                    .bind(party_id)
                    .execute(&mut *c)
                    .await?;
                    let (unsigned,): (i64,) = sqlx::query_as(
                        "SELECT COUNT(*) FROM party WHERE convention_id = $1 AND role = $2 AND signature_date IS NULL",
                    )
                    .bind(convention_id)
                    .bind(PartyRole::Signatory.code())
                    .fetch_one(&mut *c)
                    .await?;
                    if unsigned == 0 {
                        // The last signature of a draft makes it signed.
                        let now_signed = sqlx::query(
                            "UPDATE convention SET status = $1, version = version + 1 WHERE id = $2 AND status = $3",
                        )
                        .bind(ConventionStatus::Signed.code())
                        .bind(convention_id)
                        .bind(ConventionStatus::Draft.code())
                        .execute(&mut *c)
                        .await?
                        .rows_affected();
                        if now_signed == 1 {
                            record!(&mut *c, &Change {
                                convention_id: Some(convention_id),
                                object_type: "convention",
                                object_id: convention_id.to_string(),
                                object_label: title,
                                action: "modification",
                                before: Some(json!({"statut": ConventionStatus::Draft.code()})),
                                after: Some(json!({"statut": ConventionStatus::Signed.code()})),
                                actor,
                            });
                        }
                    }
                });
                Ok(())
            },
        )
        .await
    }
}
