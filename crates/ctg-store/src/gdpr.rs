//! GDPR: the art. 30 register of processing activities, the data-exchange agreements of art. 9 of
//! the convention, and a person's rights of access (export) and erasure.

use chrono::{NaiveDate, Utc};
use ctg_domain::Actor;
use serde::Serialize;
use serde_json::{json, Value};

use crate::audit::{record, Change};
use crate::conn::{with_conn, Conn};
use crate::versioned::{Loaded, Versioned};
use crate::{with_db, HistoryFilter, Result, Store, StoreError};

/// An entry of the register of processing activities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ProcessingActivity {
    pub id: i64,
    #[serde(rename = "nom")]
    pub name: String,
    #[serde(rename = "responsable")]
    pub controller: String,
    #[serde(rename = "contact_dpd")]
    pub dpo_contact: String,
    #[serde(rename = "finalites")]
    pub purposes: String,
    #[serde(rename = "base_legale")]
    pub legal_basis: String,
    #[serde(rename = "personnes_concernees")]
    pub data_subjects: String,
    #[serde(rename = "categories_de_donnees")]
    pub data_categories: String,
    #[serde(rename = "destinataires")]
    pub recipients: String,
    #[serde(rename = "transferts")]
    pub transfers: String,
    #[serde(rename = "duree_de_conservation")]
    pub retention: String,
    #[serde(rename = "mesures_de_securite")]
    pub security_measures: String,
    pub version: i64,
}

impl ProcessingActivity {
    /// The French labels of the fields, in order, with their values.
    pub fn fields(&self) -> [(&'static str, &'static str, &str); 11] {
        [
            ("nom", "Nom du traitement", &self.name),
            ("responsable", "Responsable du traitement", &self.controller),
            ("contact_dpd", "Contact du délégué à la protection des données", &self.dpo_contact),
            ("finalites", "Finalités", &self.purposes),
            ("base_legale", "Base légale", &self.legal_basis),
            ("personnes_concernees", "Catégories de personnes concernées", &self.data_subjects),
            ("categories_de_donnees", "Catégories de données", &self.data_categories),
            ("destinataires", "Destinataires", &self.recipients),
            ("transferts", "Transferts hors de l'Union européenne", &self.transfers),
            ("duree_de_conservation", "Durées de conservation", &self.retention),
            ("mesures_de_securite", "Mesures de sécurité", &self.security_measures),
        ]
    }
}

const ACTIVITY_COLUMNS: &str = "id, name, controller, dpo_contact, purposes, legal_basis, data_subjects, \
     data_categories, recipients, transfers, retention, security_measures, version";

pub use ctg_domain::agreement::AgreementStep;

/// The statuses of a data-exchange agreement, in order: `(code, label)`.
pub const AGREEMENT_STATUSES: [(&str, &str); 4] = [
    ("propose", "Proposé"),
    ("revu_dpd", "Revu par le DPD de l'autre partie"),
    ("signe", "Signé"),
    ("expire", "Expiré"),
];

pub fn agreement_status_label(code: &str) -> &'static str {
    AgreementStep::parse(code).map_or("inconnu", AgreementStep::label)
}

/// A data-exchange agreement (art. 9 of the convention).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct DataAgreement {
    pub id: i64,
    pub convention_id: i64,
    #[serde(rename = "intitule")]
    pub title: String,
    /// The names of the parties, as written when the agreement was last saved (the text of an agreement
    /// written before parties were parties of the convention).
    pub parties: String,
    #[serde(rename = "donnees")]
    pub data_categories: String,
    #[serde(rename = "finalite")]
    pub purpose: String,
    #[serde(rename = "base_legale")]
    pub legal_basis: String,
    #[serde(rename = "debut")]
    pub start_date: Option<NaiveDate>,
    #[serde(rename = "fin")]
    pub end_date: Option<NaiveDate>,
    #[serde(rename = "statut")]
    pub status: String,
    pub version: i64,
    /// The party of the convention that proposed it.
    #[serde(rename = "partie_proposante")]
    pub proposer_party_id: Option<i64>,
    /// Its parties, parties of the convention (empty for an agreement written before).
    #[sqlx(skip)]
    #[serde(rename = "parties_ids")]
    pub party_ids: Vec<i64>,
    /// Its steps, in order.
    #[sqlx(skip)]
    #[serde(rename = "etapes")]
    pub steps: Vec<AgreementStepRecord>,
}

impl DataAgreement {
    /// The step it is at (an unknown stored status reads as « proposé »).
    pub fn step(&self) -> AgreementStep {
        AgreementStep::parse(&self.status).unwrap_or(AgreementStep::Proposed)
    }
}

/// A step of an agreement as recorded: who did it and when, who recorded it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AgreementStepRecord {
    #[serde(rename = "etape")]
    pub step: String,
    #[serde(rename = "date")]
    pub done_on: NaiveDate,
    #[serde(rename = "par")]
    pub done_by: String,
    #[serde(rename = "partie")]
    pub party_id: Option<i64>,
    pub note: Option<String>,
    #[serde(rename = "enregistre_par")]
    pub recorded_by: String,
    #[serde(rename = "enregistre_le")]
    pub recorded_at: chrono::DateTime<Utc>,
}

/// The editable content of an agreement: what the other party's DPO reviews. It changes only while the
/// agreement is « proposé ».
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementEdit {
    pub title: String,
    /// Its parties: parties of the convention, two at least.
    pub party_ids: Vec<i64>,
    /// The party that proposes the exchange, one of `party_ids`.
    pub proposer_party_id: i64,
    pub data_categories: String,
    pub purpose: String,
    pub legal_basis: String,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
}

/// A step to record on an agreement (art. 9): the review, the signature or the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAgreementStep {
    pub step: AgreementStep,
    /// The day of the step.
    pub done_on: NaiveDate,
    /// Who did it: the DPO who reviewed, the signatories…
    pub done_by: String,
    /// The party that did it: required for the review (the other party).
    pub party_id: Option<i64>,
    pub note: Option<String>,
}

impl AgreementEdit {
    fn check(&self) -> Result<()> {
        for (label, v) in [
            ("l'intitulé", &self.title),
            ("les données échangées", &self.data_categories),
            ("la finalité", &self.purpose),
            ("la base légale", &self.legal_basis),
        ] {
            if v.trim().is_empty() {
                return Err(StoreError::Invalid(format!("{label} de l'accord est vide")));
            }
        }
        if let (Some(a), Some(b)) = (self.start_date, self.end_date) {
            if b < a {
                return Err(StoreError::Invalid(format!("la fin de l'accord ({b}) précède son début ({a})")));
            }
        }
        Ok(())
    }

    /// Checks the parties against those of the convention (`(id, name)`), and gives their names.
    fn party_names(&self, convention: &[(i64, String)]) -> Result<String> {
        let mut ids = self.party_ids.clone();
        ids.sort_unstable();
        ids.dedup();
        let known = convention.iter().map(|(id, n)| format!("{id} ({n})")).collect::<Vec<_>>().join(", ");
        if let Some(bad) = ids.iter().find(|id| !convention.iter().any(|(c, _)| c == *id)) {
            return Err(StoreError::Invalid(format!(
                "la partie n° {bad} n'est pas une partie de cette convention (parties : {known})"
            )));
        }
        if ids.len() < 2 {
            return Err(StoreError::Invalid(format!(
                "un accord d'échange lie au moins deux parties de la convention (parties : {known})"
            )));
        }
        if !ids.contains(&self.proposer_party_id) {
            return Err(StoreError::Invalid(
                "la partie qui propose l'échange doit être une des parties de l'accord".into(),
            ));
        }
        Ok(convention.iter().filter(|(id, _)| ids.contains(id)).map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(", "))
    }

    fn audit_value(&self, names: &str) -> Value {
        json!({
            "intitule": self.title, "parties": names, "parties_ids": self.party_ids,
            "partie_proposante": self.proposer_party_id, "donnees": self.data_categories,
            "finalite": self.purpose, "base_legale": self.legal_basis,
            "debut": self.start_date.map(|d| d.to_string()), "fin": self.end_date.map(|d| d.to_string()),
        })
    }
}

fn agreement_audit(a: &DataAgreement) -> Value {
    json!({
        "intitule": a.title, "parties": a.parties, "parties_ids": a.party_ids,
        "partie_proposante": a.proposer_party_id, "donnees": a.data_categories,
        "finalite": a.purpose, "base_legale": a.legal_basis,
        "debut": a.start_date.map(|d| d.to_string()), "fin": a.end_date.map(|d| d.to_string()),
        "statut": a.status,
    })
}

/// A stored step with its agreement: agreement, step, day, by, party, note, recorded by, recorded at.
type StepRow = (i64, String, NaiveDate, String, Option<i64>, Option<String>, String, chrono::DateTime<Utc>);

const AGREEMENT_COLUMNS: &str = "id, convention_id, title, parties, data_categories, purpose, legal_basis, \
     start_date, end_date, status, version, proposer_party_id";

impl Store {
    pub async fn processing_activities(&self) -> Result<Vec<ProcessingActivity>> {
        self.acquire().await?.conn().processing_activities().await
    }

    /// Changes an entry of the register from the version read.
    pub async fn update_processing_activity(&self, actor: &Actor, edit: &ProcessingActivity) -> Result<i64> {
        self.versioned_write(
            Versioned { table: "processing_activity", id: edit.id, version: Some(edit.version) },
            async |c| {
                let current = c
                    .processing_activities()
                    .await?
                    .into_iter()
                    .find(|a| a.id == edit.id)
                    .ok_or_else(|| StoreError::NotFound(format!("le traitement n° {}", edit.id)))?;
                if let Some((_, label, _)) = edit.fields().iter().find(|(_, _, v)| v.trim().is_empty()) {
                    return Err(StoreError::Invalid(format!("le champ « {label} » est vide")));
                }
                let value = |a: &ProcessingActivity| {
                    let mut v = serde_json::to_value(a).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.remove("id");
                        o.remove("version");
                    }
                    v
                };
                Ok(Loaded::new(
                    format!("le traitement « {} »", current.name),
                    Change {
                        convention_id: None,
                        object_type: "registre",
                        object_id: edit.id.to_string(),
                        object_label: edit.name.trim().to_owned(),
                        action: "modification",
                        before: Some(value(&current)),
                        after: Some(value(edit)),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query(
                        "UPDATE processing_activity SET name = $1, controller = $2, dpo_contact = $3, purposes = $4, \
                         legal_basis = $5, data_subjects = $6, data_categories = $7, recipients = $8, transfers = $9, \
                         retention = $10, security_measures = $11 WHERE id = $12",
                    )
                    .bind(edit.name.trim())
                    .bind(edit.controller.trim())
                    .bind(edit.dpo_contact.trim())
                    .bind(edit.purposes.trim())
                    .bind(edit.legal_basis.trim())
                    .bind(edit.data_subjects.trim())
                    .bind(edit.data_categories.trim())
                    .bind(edit.recipients.trim())
                    .bind(edit.transfers.trim())
                    .bind(edit.retention.trim())
                    .bind(edit.security_measures.trim())
                    .bind(edit.id)
                    .execute(&mut *c)
                    .await?;
                });
                Ok(())
            },
        )
        .await
    }

    pub async fn agreements(&self, convention_id: i64) -> Result<Vec<DataAgreement>> {
        self.acquire().await?.conn().agreements(convention_id).await
    }

    /// Creates an agreement, always « proposé » (art. 9): proposed on `proposed_on` by `proposed_by` (a
    /// person) for its proposing party. The review and the signature are steps recorded afterwards.
    pub async fn create_agreement(
        &self,
        actor: &Actor,
        convention_id: i64,
        edit: &AgreementEdit,
        proposed_on: NaiveDate,
        proposed_by: &str,
    ) -> Result<i64> {
        edit.check()?;
        if proposed_by.trim().is_empty() {
            return Err(StoreError::Invalid("indiquez qui propose l'accord (nom de la personne)".into()));
        }
        self.convention_summary(convention_id).await?;
        let mut tx = self.begin_write().await?;
        let mut c = tx.conn();
        let names = edit.party_names(&c.convention_party_names(convention_id).await?)?;
        let id = with_conn!(&mut c, c => {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO data_agreement (convention_id, title, parties, data_categories, purpose, legal_basis, start_date, end_date, status, proposer_party_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            )
            .bind(convention_id)
            .bind(edit.title.trim())
            .bind(&names)
            .bind(edit.data_categories.trim())
            .bind(edit.purpose.trim())
            .bind(edit.legal_basis.trim())
            .bind(edit.start_date)
            .bind(edit.end_date)
            .bind(AgreementStep::Proposed.code())
            .bind(edit.proposer_party_id)
            .fetch_one(&mut *c)
            .await?;
            id
        });
        c.set_agreement_parties(id, &edit.party_ids).await?;
        let step = NewAgreementStep {
            step: AgreementStep::Proposed,
            done_on: proposed_on,
            done_by: proposed_by.to_owned(),
            party_id: Some(edit.proposer_party_id),
            note: None,
        };
        c.insert_agreement_step(id, &step, actor).await?;
        let mut after = edit.audit_value(&names);
        after["statut"] = json!(AgreementStep::Proposed.code());
        after["propose_le"] = json!(proposed_on.to_string());
        after["propose_par"] = json!(proposed_by.trim());
        let change = Change {
            convention_id: Some(convention_id),
            object_type: "accord",
            object_id: id.to_string(),
            object_label: edit.title.trim().to_owned(),
            action: "creation",
            before: None,
            after: Some(after),
            actor,
        };
        with_conn!(&mut c, c => {
            record!(&mut *c, &change);
        });
        tx.commit().await?;
        Ok(id)
    }

    /// Changes the content of an agreement from the version read: only while it is « proposé », since the
    /// other party's DPO reviews that content.
    pub async fn update_agreement(
        &self,
        actor: &Actor,
        convention_id: i64,
        id: i64,
        version: i64,
        edit: &AgreementEdit,
    ) -> Result<i64> {
        edit.check()?;
        self.versioned_write(
            Versioned { table: "data_agreement", id, version: Some(version) },
            async |c| {
                let current = c.agreement(convention_id, id).await?;
                if current.step() != AgreementStep::Proposed {
                    return Err(StoreError::Invalid(format!(
                        "l'accord est au statut « {} » : son contenu, revu par le DPD de l'autre partie, ne change \
                         plus ; proposez un nouvel accord",
                        current.step().label()
                    )));
                }
                let names = edit.party_names(&c.convention_party_names(convention_id).await?)?;
                let after = edit.audit_value(&names);
                Ok(Loaded::new(
                    format!("l'accord « {} »", current.title),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "accord",
                        object_id: id.to_string(),
                        object_label: edit.title.trim().to_owned(),
                        action: "modification",
                        before: Some(agreement_audit(&current)),
                        after: Some(after),
                        actor,
                    },
                )
                .with(names))
            },
            async |c, names| {
                with_conn!(c, c => {
                    sqlx::query(
                        "UPDATE data_agreement SET title = $1, parties = $2, data_categories = $3, purpose = $4, \
                         legal_basis = $5, start_date = $6, end_date = $7, proposer_party_id = $8 WHERE id = $9",
                    )
                    .bind(edit.title.trim())
                    .bind(&names)
                    .bind(edit.data_categories.trim())
                    .bind(edit.purpose.trim())
                    .bind(edit.legal_basis.trim())
                    .bind(edit.start_date)
                    .bind(edit.end_date)
                    .bind(edit.proposer_party_id)
                    .bind(id)
                    .execute(&mut *c)
                    .await?;
                });
                c.set_agreement_parties(id, &edit.party_ids).await
            },
        )
        .await
    }

    /// Records the next step of an agreement (art. 9), from the version read: the review by the DPO of a
    /// party that did not propose it, then the signature, then the end. A step skipped or taken back is
    /// refused with the step that is missing; a step is never dated before the one it follows.
    pub async fn record_agreement_step(
        &self,
        actor: &Actor,
        convention_id: i64,
        id: i64,
        version: i64,
        step: &NewAgreementStep,
    ) -> Result<i64> {
        if step.done_by.trim().is_empty() {
            return Err(StoreError::Invalid(format!(
                "indiquez qui a fait l'étape « {} » (nom de la personne)",
                step.step.label()
            )));
        }
        self.versioned_write(
            Versioned { table: "data_agreement", id, version: Some(version) },
            async |c| {
                let current = c.agreement(convention_id, id).await?;
                ctg_domain::agreement::check_step(current.step(), step.step).map_err(StoreError::Invalid)?;
                if step.step == AgreementStep::Reviewed {
                    let Some(reviewer) = step.party_id else {
                        return Err(StoreError::Invalid(
                            "indiquez la partie dont le DPD a revu l'accord (l'autre partie, art. 9 de la convention)"
                                .into(),
                        ));
                    };
                    if current.party_ids.is_empty() {
                        return Err(StoreError::Invalid(
                            "les parties de cet accord sont un texte libre : choisissez-les parmi les parties de la \
                             convention (modifier l'accord) avant sa revue"
                                .into(),
                        ));
                    }
                    ctg_domain::agreement::check_reviewer(&current.party_ids, current.proposer_party_id, reviewer)
                        .map_err(StoreError::Invalid)?;
                } else if let Some(p) = step.party_id.filter(|p| !current.party_ids.contains(p)) {
                    return Err(StoreError::Invalid(format!("la partie n° {p} n'est pas une partie de l'accord")));
                }
                if let Some(last) = current.steps.last().filter(|l| l.done_on > step.done_on) {
                    return Err(StoreError::Invalid(format!(
                        "l'étape « {} » ({}) ne peut précéder l'étape « {} » ({})",
                        step.step.label(),
                        ctg_domain::format::date_short(step.done_on),
                        agreement_status_label(&last.step),
                        ctg_domain::format::date_short(last.done_on)
                    )));
                }
                Ok(Loaded::new(
                    format!("l'accord « {} »", current.title),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "accord",
                        object_id: id.to_string(),
                        object_label: current.title.clone(),
                        action: "etape",
                        before: Some(json!({ "statut": current.status })),
                        after: Some(json!({
                            "statut": step.step.code(), "date": step.done_on.to_string(),
                            "par": step.done_by.trim(), "partie": step.party_id, "note": step.note,
                        })),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                c.insert_agreement_step(id, step, actor).await?;
                with_conn!(c, c => {
                    sqlx::query("UPDATE data_agreement SET status = $1 WHERE id = $2")
                        .bind(step.step.code())
                        .bind(id)
                        .execute(&mut *c)
                        .await?;
                });
                Ok(())
            },
        )
        .await
    }

    /// Everything the platform holds about a person (right of access, art. 15 GDPR), as JSON.
    pub async fn export_person(&self, user_id: i64) -> Result<Value> {
        let user = self.user(user_id).await?;
        let tokens = self.tokens(user_id).await?;
        let roles: Vec<(i64, String, String)> = with_db!(self, pool => {
            sqlx::query_as("SELECT r.convention_id, c.title, r.role FROM convention_role r JOIN convention c ON c.id = r.convention_id WHERE r.user_id = $1 ORDER BY r.convention_id")
                .bind(user_id)
                .fetch_all(pool)
                .await?
        });
        let sessions: Vec<(chrono::DateTime<Utc>, chrono::DateTime<Utc>)> = with_db!(self, pool => {
            sqlx::query_as("SELECT created_at, last_seen_at FROM user_session WHERE user_id = $1 ORDER BY created_at")
                .bind(user_id)
                .fetch_all(pool)
                .await?
        });
        // The reminders the person chose, and the mails written to them (sent or waiting).
        let preferences = self.mail_preferences(user_id).await?;
        type MailRow = (chrono::DateTime<Utc>, String, String, String, i64, Option<chrono::DateTime<Utc>>);
        let mails: Vec<MailRow> = with_db!(self, pool => {
            sqlx::query_as(
                "SELECT created_at, kind, recipient, subject, attempts, sent_at FROM mail_outbox \
                 WHERE user_id = $1 ORDER BY created_at, id",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await?
        });
        let waiting: Vec<(chrono::DateTime<Utc>, String, String)> = with_db!(self, pool => {
            sqlx::query_as(
                "SELECT created_at, kind, text FROM mail_digest_item WHERE user_id = $1 AND outbox_id IS NULL \
                 ORDER BY created_at, id",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await?
        });
        let by = self
            .history(&HistoryFilter { actor_id: Some(user_id), limit: Some(100_000), ..HistoryFilter::default() })
            .await?;
        let about = self
            .history(&HistoryFilter {
                object_type: Some("utilisateur".into()),
                object_id: Some(user_id.to_string()),
                limit: Some(100_000),
                ..HistoryFilter::default()
            })
            .await?;
        let entry = |e: &crate::AuditEntry| {
            json!({
                "date": e.at, "objet": e.object_type, "objet_id": e.object_id, "libelle": e.object_label,
                "action": e.action, "canal": e.channel.code(), "avant": e.before, "apres": e.after,
            })
        };
        Ok(json!({
            "genere_le": Utc::now(),
            "compte": {
                "id": user.id, "nom": user.name, "email": user.email, "organisation_id": user.organisation_id,
                "administrateur": user.is_admin, "desactive_le": user.disabled_at, "efface_le": user.erased_at,
            },
            "roles": roles.iter().map(|(id, title, role)| json!({"convention_id": id, "convention": title, "role": role})).collect::<Vec<_>>(),
            "sessions": sessions.iter().map(|(c, l)| json!({"ouverte_le": c, "derniere_activite": l})).collect::<Vec<_>>(),
            "jetons_api": tokens.iter().map(|t| json!({"nom": t.name, "prefixe": t.prefix, "ecriture": t.can_write, "cree_le": t.created_at, "revoque_le": t.revoked_at})).collect::<Vec<_>>(),
            "rappels_choisis": preferences.iter().map(|(k, f)| json!({"rappel": k.label(), "code": k.code(), "frequence": f.code()})).collect::<Vec<_>>(),
            "courriels": mails.iter().map(|(at, kind, to, subject, attempts, sent)| json!({"cree_le": at, "rappel": kind, "destinataire": to, "objet": subject, "essais": attempts, "envoye_le": sent})).collect::<Vec<_>>(),
            "rappels_en_attente_du_recapitulatif": waiting.iter().map(|(at, kind, text)| json!({"cree_le": at, "rappel": kind, "texte": text})).collect::<Vec<_>>(),
            "modifications_faites": by.iter().map(entry).collect::<Vec<_>>(),
            "modifications_du_compte": about.iter().map(entry).collect::<Vec<_>>(),
        }))
    }

    /// Erases a person (art. 17 GDPR): the account keeps only a pseudonym and can no longer be used;
    /// sessions, tokens and roles go; in the audit trail, their name and e-mail are replaced by the
    /// pseudonym, so that the trace of what was done remains without saying who. Returns the pseudonym.
    pub async fn erase_person(&self, actor: &Actor, user_id: i64) -> Result<String> {
        let user = self.user(user_id).await?;
        if user.erased_at.is_some() {
            return Err(StoreError::Invalid(format!("le compte n° {user_id} est déjà effacé")));
        }
        let pseudonym = format!(
            "personne-effacee-{}",
            &crate::accounts::digest(&format!("{}:{}", user.id, crate::accounts::random_secret()))[..10]
        );
        let email = format!("{pseudonym}@efface.invalid");
        let replace = |s: &str| s.replace(&user.email, &email).replace(&user.name, &pseudonym);
        // Every entry that names the person: made by them, about their account, or mentioning them
        // (a role given to them, for instance).
        let mentions = |e: &crate::AuditEntry| {
            let hit = |s: &str| s.contains(&user.email) || s.contains(&user.name);
            e.actor_id == Some(user_id)
                || (e.object_type == "utilisateur" && e.object_id == user_id.to_string())
                || hit(&e.actor_label)
                || hit(&e.object_label)
                || e.before.as_ref().is_some_and(|v| hit(&v.to_string()))
                || e.after.as_ref().is_some_and(|v| hit(&v.to_string()))
        };
        let entries: Vec<crate::AuditEntry> = self
            .history(&HistoryFilter { limit: Some(i64::MAX), ..HistoryFilter::default() })
            .await?
            .into_iter()
            .filter(mentions)
            .collect();
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE app_user SET name = $1, email = $2, password_hash = NULL, organisation_id = NULL, is_admin = $3, \
                 erased_at = $4, disabled_at = COALESCE(disabled_at, $4), version = version + 1 WHERE id = $5",
            )
            .bind(&pseudonym)
            .bind(&email)
            .bind(false)
            .bind(Utc::now())
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM user_session WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM api_token WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
            let prefix = crate::accounts::throttle_prefix(&user.email);
            sqlx::query("DELETE FROM login_throttle WHERE substr(key, 1, $1) = $2")
                .bind(prefix.chars().count() as i32)
                .bind(&prefix)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM convention_role WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
            // Reminders by e-mail: their address and texts, the choices and links of the person.
            for table in ["mail_digest_item", "mail_outbox", "mail_unsubscribe", "mail_preference"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1")).bind(user_id).execute(&mut *tx).await?;
            }
            // The names the action plan keeps: authors of status changes and indicator values, pilots.
            for (table, column) in [
                ("fiche_status_change", "author"),
                ("indicator_value", "author"),
                ("fiche", "pilot_person"),
                ("sub_action", "pilot"),
                // And governance: members of bodies, representatives, follow-ups, coordination posts.
                ("body_member", "name"),
                ("meeting_attendance", "represented_by"),
                ("decision", "follow_up"),
                ("coordination_post", "person"),
                ("document", "uploaded_by"),
            ] {
                sqlx::query(&format!(
                    "UPDATE {table} SET {column} = REPLACE(REPLACE({column}, $1, $2), $3, $4) \
                     WHERE {column} LIKE '%' || $1 || '%' OR {column} LIKE '%' || $3 || '%'"
                ))
                .bind(&user.email)
                .bind(&email)
                .bind(&user.name)
                .bind(&pseudonym)
                .execute(&mut *tx)
                .await?;
            }
            for e in &entries {
                sqlx::query(
                    "UPDATE audit_event SET actor_label = $1, object_label = $2, before_json = $3, after_json = $4, pseudonymised = $5 \
                     WHERE id = $6",
                )
                .bind(replace(&e.actor_label))
                .bind(replace(&e.object_label))
                .bind(e.before.as_ref().map(|v| replace(&v.to_string())))
                .bind(e.after.as_ref().map(|v| replace(&v.to_string())))
                .bind(true)
                .bind(e.id)
                .execute(&mut *tx)
                .await?;
            }
            record!(&mut *tx, &Change {
                convention_id: None,
                object_type: "utilisateur",
                object_id: user_id.to_string(),
                object_label: pseudonym.clone(),
                action: "effacement",
                before: None,
                after: Some(json!({"nom": pseudonym, "efface": true})),
                actor,
            });
            tx.commit().await?;
        });
        Ok(pseudonym)
    }
}

impl Conn<'_> {
    pub(crate) async fn processing_activities(&mut self) -> Result<Vec<ProcessingActivity>> {
        with_conn!(self, c => {
            Ok(sqlx::query_as(&format!("SELECT {ACTIVITY_COLUMNS} FROM processing_activity ORDER BY id"))
                .fetch_all(&mut *c)
                .await?)
        })
    }

    pub(crate) async fn agreements(&mut self, convention_id: i64) -> Result<Vec<DataAgreement>> {
        let mut list: Vec<DataAgreement> = with_conn!(self, c => {
            sqlx::query_as(&format!("SELECT {AGREEMENT_COLUMNS} FROM data_agreement WHERE convention_id = $1 ORDER BY id"))
                .bind(convention_id)
                .fetch_all(&mut *c)
                .await?
        });
        let parties: Vec<(i64, i64)> = with_conn!(self, c => {
            sqlx::query_as(
                "SELECT ap.agreement_id, ap.party_id FROM data_agreement_party ap \
                 JOIN data_agreement a ON a.id = ap.agreement_id WHERE a.convention_id = $1 ORDER BY ap.party_id",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?
        });
        let steps: Vec<(i64, AgreementStepRecord)> = with_conn!(self, c => {
            let rows: Vec<StepRow> =
                sqlx::query_as(
                    "SELECT s.agreement_id, s.step, s.done_on, s.done_by, s.party_id, s.note, s.recorded_by, s.recorded_at \
                     FROM data_agreement_step s JOIN data_agreement a ON a.id = s.agreement_id \
                     WHERE a.convention_id = $1 ORDER BY s.agreement_id, s.done_on, s.id",
                )
                .bind(convention_id)
                .fetch_all(&mut *c)
                .await?;
            rows.into_iter()
                .map(|(a, step, done_on, done_by, party_id, note, recorded_by, recorded_at)| {
                    (a, AgreementStepRecord { step, done_on, done_by, party_id, note, recorded_by, recorded_at })
                })
                .collect()
        });
        for a in &mut list {
            a.party_ids = parties.iter().filter(|(id, _)| *id == a.id).map(|(_, p)| *p).collect();
            a.steps = steps.iter().filter(|(id, _)| *id == a.id).map(|(_, s)| s.clone()).collect();
        }
        Ok(list)
    }

    pub(crate) async fn agreement(&mut self, convention_id: i64, id: i64) -> Result<DataAgreement> {
        self.agreements(convention_id)
            .await?
            .into_iter()
            .find(|a| a.id == id)
            .ok_or_else(|| StoreError::NotFound(format!("l'accord n° {id} de cette convention")))
    }

    /// The parties of a convention: id and name (short name when there is one), in order.
    pub(crate) async fn convention_party_names(&mut self, convention_id: i64) -> Result<Vec<(i64, String)>> {
        with_conn!(self, c => {
            let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(
                "SELECT p.id, o.name, o.short_name FROM party p JOIN organisation o ON o.id = p.organisation_id \
                 WHERE p.convention_id = $1 ORDER BY p.position, p.id",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(id, name, short)| (id, short.filter(|s| !s.trim().is_empty()).unwrap_or(name)))
                .collect())
        })
    }

    async fn set_agreement_parties(&mut self, id: i64, party_ids: &[i64]) -> Result<()> {
        let mut ids = party_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        with_conn!(self, c => {
            sqlx::query("DELETE FROM data_agreement_party WHERE agreement_id = $1").bind(id).execute(&mut *c).await?;
            for p in &ids {
                sqlx::query("INSERT INTO data_agreement_party (agreement_id, party_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(p)
                    .execute(&mut *c)
                    .await?;
            }
        });
        Ok(())
    }

    async fn insert_agreement_step(&mut self, id: i64, step: &NewAgreementStep, actor: &Actor) -> Result<()> {
        let note = step.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
        with_conn!(self, c => {
            sqlx::query(
                "INSERT INTO data_agreement_step (agreement_id, step, done_on, done_by, party_id, note, recorded_by, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(step.step.code())
            .bind(step.done_on)
            .bind(step.done_by.trim())
            .bind(step.party_id)
            .bind(note)
            .bind(&actor.label)
            .bind(Utc::now())
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }
}
