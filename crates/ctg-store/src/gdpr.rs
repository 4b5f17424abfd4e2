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

/// The statuses of a data-exchange agreement.
pub const AGREEMENT_STATUSES: [(&str, &str); 4] =
    [("propose", "Proposé"), ("revu_dpd", "Revu par le DPD"), ("signe", "Signé"), ("expire", "Expiré")];

pub fn agreement_status_label(code: &str) -> &'static str {
    AGREEMENT_STATUSES.iter().find(|(c, _)| *c == code).map_or("inconnu", |(_, l)| l)
}

/// A data-exchange agreement (art. 9 of the convention).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct DataAgreement {
    pub id: i64,
    pub convention_id: i64,
    #[serde(rename = "intitule")]
    pub title: String,
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
}

/// The editable content of an agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementEdit {
    pub title: String,
    pub parties: String,
    pub data_categories: String,
    pub purpose: String,
    pub legal_basis: String,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    pub status: String,
}

impl AgreementEdit {
    fn check(&self) -> Result<()> {
        for (label, v) in [
            ("l'intitulé", &self.title),
            ("les parties", &self.parties),
            ("les données échangées", &self.data_categories),
            ("la finalité", &self.purpose),
            ("la base légale", &self.legal_basis),
        ] {
            if v.trim().is_empty() {
                return Err(StoreError::Invalid(format!("{label} de l'accord est vide")));
            }
        }
        if !AGREEMENT_STATUSES.iter().any(|(c, _)| *c == self.status) {
            return Err(StoreError::Invalid(format!(
                "statut d'accord inconnu « {} » (valeurs admises : propose, revu_dpd, signe, expire)",
                self.status
            )));
        }
        if let (Some(a), Some(b)) = (self.start_date, self.end_date) {
            if b < a {
                return Err(StoreError::Invalid(format!("la fin de l'accord ({b}) précède son début ({a})")));
            }
        }
        Ok(())
    }

    fn audit_value(&self) -> Value {
        json!({
            "intitule": self.title, "parties": self.parties, "donnees": self.data_categories,
            "finalite": self.purpose, "base_legale": self.legal_basis,
            "debut": self.start_date.map(|d| d.to_string()), "fin": self.end_date.map(|d| d.to_string()),
            "statut": self.status,
        })
    }
}

impl From<&DataAgreement> for AgreementEdit {
    fn from(a: &DataAgreement) -> Self {
        Self {
            title: a.title.clone(),
            parties: a.parties.clone(),
            data_categories: a.data_categories.clone(),
            purpose: a.purpose.clone(),
            legal_basis: a.legal_basis.clone(),
            start_date: a.start_date,
            end_date: a.end_date,
            status: a.status.clone(),
        }
    }
}

const AGREEMENT_COLUMNS: &str = "id, convention_id, title, parties, data_categories, purpose, legal_basis, \
     start_date, end_date, status, version";

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

    pub async fn create_agreement(&self, actor: &Actor, convention_id: i64, edit: &AgreementEdit) -> Result<i64> {
        edit.check()?;
        self.convention_summary(convention_id).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO data_agreement (convention_id, title, parties, data_categories, purpose, legal_basis, start_date, end_date, status) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(convention_id)
            .bind(edit.title.trim())
            .bind(edit.parties.trim())
            .bind(edit.data_categories.trim())
            .bind(edit.purpose.trim())
            .bind(edit.legal_basis.trim())
            .bind(edit.start_date)
            .bind(edit.end_date)
            .bind(&edit.status)
            .fetch_one(&mut *tx)
            .await?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "accord",
                object_id: id.to_string(),
                object_label: edit.title.trim().to_owned(),
                action: "creation",
                before: None,
                after: Some(edit.audit_value()),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

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
                let current = c
                    .agreements(convention_id)
                    .await?
                    .into_iter()
                    .find(|a| a.id == id)
                    .ok_or_else(|| StoreError::NotFound(format!("l'accord n° {id} de cette convention")))?;
                Ok(Loaded::new(
                    format!("l'accord « {} »", current.title),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "accord",
                        object_id: id.to_string(),
                        object_label: edit.title.trim().to_owned(),
                        action: "modification",
                        before: Some(AgreementEdit::from(&current).audit_value()),
                        after: Some(edit.audit_value()),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query(
                        "UPDATE data_agreement SET title = $1, parties = $2, data_categories = $3, purpose = $4, \
                         legal_basis = $5, start_date = $6, end_date = $7, status = $8 WHERE id = $9",
                    )
                    .bind(edit.title.trim())
                    .bind(edit.parties.trim())
                    .bind(edit.data_categories.trim())
                    .bind(edit.purpose.trim())
                    .bind(edit.legal_basis.trim())
                    .bind(edit.start_date)
                    .bind(edit.end_date)
                    .bind(&edit.status)
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
        with_conn!(self, c => {
            Ok(sqlx::query_as(&format!("SELECT {AGREEMENT_COLUMNS} FROM data_agreement WHERE convention_id = $1 ORDER BY id"))
                .bind(convention_id)
                .fetch_all(&mut *c)
                .await?)
        })
    }
}
