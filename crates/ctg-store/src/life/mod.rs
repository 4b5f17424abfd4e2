//! The life of a convention in storage (arts. 11 to 13): the parties' signatures, the avenants with
//! their changes and signatures, the versions of the convention's text and annexes, and the
//! termination. The rules are those of [`ctg_domain::life`]; every write is one transaction with its
//! audit entry.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use ctg_domain::format::date_short;
use ctg_domain::life::{
    apply_change, document_label, next_milestone, version_states, AvenantChange, AvenantFacts, ChangeTarget, Life,
    LifeError, LifeStatus, Signature, TerminationFacts, TerminationGround, VersionState,
};
use ctg_domain::{Actor, ConventionStatus, OrganisationKind, PartyRole};
use serde_json::{json, Value};

use crate::audit::{record, Change};
use crate::conn::{with_conn, Conn};
use crate::versioned::{Loaded, Versioned};
use crate::{with_db, ConventionDetail, ConventionRef, PartyEntry, Result, Store, StoreError};

/// An avenant to create. Its number is the next one of the convention (1, 2, … without gap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAvenant {
    pub date: NaiveDate,
    pub title: String,
    /// Every change it makes (art. 12: « toutes les modifications apportées à la convention d'origine
    /// ainsi qu'à ses annexes »).
    pub changes: Vec<AvenantChange>,
}

/// A signatory and the day it signed an avenant (`None`: not yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvenantSignature {
    pub party_id: i64,
    pub organisation: String,
    pub date: Option<NaiveDate>,
}

/// An avenant as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvenantRecord {
    pub id: i64,
    pub number: i64,
    pub date: NaiveDate,
    pub title: String,
    pub version: i64,
    pub changes: Vec<AvenantChange>,
    /// One per signatory of the convention, in the order of the parties.
    pub signatures: Vec<AvenantSignature>,
    /// The last signature, once every signatory has signed; `None` while it is pending.
    pub in_force_from: Option<NaiveDate>,
}

impl AvenantRecord {
    /// How many signatories have signed it.
    pub fn signed(&self) -> usize {
        self.signatures.iter().filter(|s| s.date.is_some()).count()
    }

    pub fn facts(&self) -> AvenantFacts {
        AvenantFacts {
            number: self.number,
            date: self.date,
            signatures: self.signatures.iter().map(|s| s.date).collect(),
            new_end: self.changes.iter().find_map(AvenantChange::new_end),
        }
    }
}

/// One version of the convention's text or of an annex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextVersion {
    pub id: i64,
    /// `convention`, `annexe-1`…
    pub key: String,
    pub label: String,
    pub version: i64,
    pub content: String,
    /// The avenant that made it; `None` for the text as initially signed.
    pub avenant_id: Option<i64>,
    pub avenant_number: Option<i64>,
    /// The convention's start date for the initial text, the avenant's date for the others.
    pub dated: NaiveDate,
    /// When it came into force: with the convention for the initial text, with its avenant otherwise.
    pub in_force_from: Option<NaiveDate>,
    pub state: VersionState,
}

/// A text of the convention (its own, or an annex) and where its versions stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextDocument {
    pub key: String,
    pub label: String,
    pub versions: i64,
    /// The number of the version in force.
    pub current: Option<i64>,
    /// The number of a version awaiting the signatures of its avenant.
    pub pending: Option<i64>,
}

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

/// Everything a convention's page shows of its life, on a given day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConventionLife {
    pub convention_id: i64,
    pub title: String,
    pub today: NaiveDate,
    /// The facts every date below is computed from.
    pub facts: Life,
    pub status: LifeStatus,
    /// The day it came (or comes) into force, once signed by all.
    pub in_force_from: Option<NaiveDate>,
    /// The end date in force today.
    pub end: NaiveDate,
    /// The last day the commitments run (means, fiches action).
    pub commitments_end: NaiveDate,
    pub next_milestone: Option<(NaiveDate, String)>,
    /// All parties with their signatures (partenaires associés included: they do not sign).
    pub parties: Vec<PartyEntry>,
    pub avenants: Vec<AvenantRecord>,
    pub termination: Option<TerminationRecord>,
    pub documents: Vec<TextDocument>,
    /// Renewal is a new convention linked to this one (art. 11).
    pub predecessor: Option<ConventionRef>,
    pub successors: Vec<ConventionRef>,
}

#[derive(sqlx::FromRow)]
struct AvenantRow {
    id: i64,
    number: i64,
    dated: NaiveDate,
    title: String,
    version: i64,
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    avenant_id: i64,
    target: String,
    annex_number: Option<i64>,
    target_name: String,
    before_text: String,
    after_text: String,
}

#[derive(sqlx::FromRow)]
struct TerminationRow {
    id: i64,
    ground: String,
    notice_date: NaiveDate,
    effective_date: NaiveDate,
    party_id: i64,
    party_name: String,
    note: Option<String>,
    version: i64,
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    id: i64,
    doc_key: String,
    label: String,
    version: i64,
    content: String,
    avenant_id: Option<i64>,
    dated: NaiveDate,
}

/// What the writes need to know of a convention.
struct Parts {
    detail: ConventionDetail,
    avenants: Vec<AvenantRecord>,
    termination: Option<TerminationRecord>,
    life: Life,
}

impl Parts {
    fn signatories(&self) -> impl Iterator<Item = &PartyEntry> {
        self.detail.parties.iter().filter(|p| p.party.role == PartyRole::Signatory)
    }

    fn party(&self, party_id: i64) -> Result<&PartyEntry> {
        self.detail
            .parties
            .iter()
            .find(|p| p.id == party_id)
            .ok_or_else(|| StoreError::NotFound(format!("la partie n° {party_id} de cette convention")))
    }

    fn avenant(&self, avenant_id: i64) -> Result<&AvenantRecord> {
        self.avenants
            .iter()
            .find(|a| a.id == avenant_id)
            .ok_or_else(|| StoreError::NotFound(format!("l'avenant n° {avenant_id} de cette convention")))
    }
}

fn rule(e: LifeError) -> StoreError {
    match e {
        LifeError::Invalid(message) => StoreError::Invalid(message),
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().map(|d| d.kind()) == Some(sqlx::error::ErrorKind::UniqueViolation)
}

fn change_value(c: &AvenantChange) -> Value {
    json!({
        "objet": c.target.code(),
        "libelle": c.target.label(),
        "avant": c.before,
        "apres": c.after,
    })
}

impl Conn<'_> {
    async fn life_parts(&mut self, convention_id: i64) -> Result<Parts> {
        let detail = self.convention(convention_id).await?;
        let (avenants, changes, signatures, termination) = with_conn!(self, c => {
            let avenants: Vec<AvenantRow> = sqlx::query_as(
                "SELECT id, number, dated, title, version FROM avenant WHERE convention_id = $1 ORDER BY number",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?;
            let changes: Vec<ChangeRow> = sqlx::query_as(
                "SELECT c.avenant_id, c.target, c.annex_number, c.target_name, c.before_text, c.after_text \
                 FROM avenant_change c JOIN avenant a ON a.id = c.avenant_id \
                 WHERE a.convention_id = $1 ORDER BY a.number, c.position",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?;
            let signatures: Vec<(i64, i64, NaiveDate)> = sqlx::query_as(
                "SELECT s.avenant_id, s.party_id, s.signature_date FROM avenant_signature s \
                 JOIN avenant a ON a.id = s.avenant_id WHERE a.convention_id = $1",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?;
            let termination: Option<TerminationRow> = sqlx::query_as(
                "SELECT t.id, t.ground, t.notice_date, t.effective_date, t.party_id, o.name AS party_name, t.note, t.version \
                 FROM termination t JOIN party p ON p.id = t.party_id JOIN organisation o ON o.id = p.organisation_id \
                 WHERE t.convention_id = $1",
            )
            .bind(convention_id)
            .fetch_optional(&mut *c)
            .await?;
            (avenants, changes, signatures, termination)
        });

        let signed: HashMap<(i64, i64), NaiveDate> = signatures.into_iter().map(|(a, p, d)| ((a, p), d)).collect();
        let mut changes_of: BTreeMap<i64, Vec<AvenantChange>> = BTreeMap::new();
        for c in changes {
            let target = ChangeTarget::from_parts(&c.target, c.annex_number, &c.target_name).map_err(corrupt)?;
            changes_of.entry(c.avenant_id).or_default().push(AvenantChange {
                target,
                before: c.before_text,
                after: c.after_text,
            });
        }
        let signatories: Vec<&PartyEntry> =
            detail.parties.iter().filter(|p| p.party.role == PartyRole::Signatory).collect();
        let avenants: Vec<AvenantRecord> = avenants
            .into_iter()
            .map(|a| {
                let signatures: Vec<AvenantSignature> = signatories
                    .iter()
                    .map(|p| AvenantSignature {
                        party_id: p.id,
                        organisation: p.party.organisation.name.clone(),
                        date: signed.get(&(a.id, p.id)).copied(),
                    })
                    .collect();
                let dates: Vec<Option<NaiveDate>> = signatures.iter().map(|s| s.date).collect();
                AvenantRecord {
                    in_force_from: ctg_domain::life::avenant_in_force_from(&dates),
                    changes: changes_of.remove(&a.id).unwrap_or_default(),
                    signatures,
                    id: a.id,
                    number: a.number,
                    date: a.dated,
                    title: a.title,
                    version: a.version,
                }
            })
            .collect();
        let termination = termination
            .map(|t| {
                Ok::<_, StoreError>(TerminationRecord {
                    ground: TerminationGround::parse(&t.ground).map_err(corrupt)?,
                    id: t.id,
                    notice_date: t.notice_date,
                    effective_date: t.effective_date,
                    party_id: t.party_id,
                    party_name: t.party_name,
                    note: t.note,
                    version: t.version,
                })
            })
            .transpose()?;

        // The convention's row holds the end date in force (avenants that change it rewrite it when they
        // come into force); the end date as first signed is the one the first of them replaced.
        let first_change = avenants
            .iter()
            .filter(|a| a.in_force_from.is_some())
            .flat_map(|a| a.changes.iter())
            .find(|c| c.target == ChangeTarget::EndDate);
        let end =
            first_change.and_then(|c| ctg_domain::parse::date("avant", &c.before).ok()).unwrap_or(detail.summary.end);
        let life = Life {
            start: detail.summary.start,
            end,
            recorded: detail.summary.status,
            signatures: signatories.iter().map(|p| p.party.signature_date).collect(),
            avenants: avenants.iter().map(AvenantRecord::facts).collect(),
            termination: termination.as_ref().map(|t| TerminationFacts {
                ground: t.ground,
                notice_date: t.notice_date,
                effective_date: t.effective_date,
            }),
        };
        Ok(Parts { detail, avenants, termination, life })
    }
}

impl Store {
    async fn life_parts(&self, convention_id: i64) -> Result<Parts> {
        self.acquire().await?.conn().life_parts(convention_id).await
    }

    /// The facts of a convention's life, from which its status on any day is computed
    /// ([`Life::status_on`]).
    pub async fn life_facts(&self, convention_id: i64) -> Result<Life> {
        Ok(self.life_parts(convention_id).await?.life)
    }

    /// A signatory signs the convention on `signature_date`, authorised by `deliberation` taken on
    /// `deliberation_date` (on or before the signature). A party that has signed cannot sign again
    /// (its date is corrected with [`Store::update_party`]); a partenaire associé does not sign. When the
    /// last signatory signs a convention recorded as a draft, it is recorded as signed, in the same
    /// transaction. Gives the party's new version.
    pub async fn sign_party(
        &self,
        actor: &Actor,
        convention_id: i64,
        party_id: i64,
        signature_date: NaiveDate,
        deliberation: &str,
        deliberation_date: NaiveDate,
    ) -> Result<i64> {
        let signature =
            Signature { date: signature_date, deliberation: deliberation.trim().to_owned(), deliberation_date };
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
                if let Some(signed) = entry.party.signature_date {
                    return Err(StoreError::Invalid(format!(
                        "« {name} » a déjà signé la convention, le {} ; pour corriger la date, modifiez la partie",
                        date_short(signed)
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
                        "deliberation_date": deliberation_date.to_string(),
                        "signature_date": signature_date.to_string(),
                    })),
                    actor,
                };
                Ok(Loaded::new(format!("la partie « {name} »"), change).with(title))
            },
            async |c, title| {
                with_conn!(c, c => {
                    sqlx::query(
                        "UPDATE party SET deliberation = $1, deliberation_date = $2, signature_date = $3 WHERE id = $4",
                    )
                    .bind(&signature.deliberation)
                    .bind(deliberation_date)
                    .bind(signature_date)
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

    /// The avenants of a convention, by number, with their changes and signatures.
    pub async fn avenants(&self, convention_id: i64) -> Result<Vec<AvenantRecord>> {
        Ok(self.life_parts(convention_id).await?.avenants)
    }

    /// Records an avenant with the next number of the convention, and the new versions of the texts it
    /// changes, pending until every signatory has signed it. The convention must be signed by all and
    /// not terminated; the avenant is dated between the last signature and the end. A text (or the end
    /// date) that a pending avenant already changes cannot be changed by another before it is signed.
    /// Gives the avenant's id.
    pub async fn create_avenant(&self, actor: &Actor, convention_id: i64, new: &NewAvenant) -> Result<i64> {
        let title = new.title.trim();
        if title.is_empty() {
            return Err(StoreError::Invalid("l'intitulé de l'avenant est vide".into()));
        }
        if new.changes.is_empty() {
            return Err(StoreError::Invalid(
                "un avenant précise toutes les modifications qu'il apporte (art. 12) : aucune n'est indiquée".into(),
            ));
        }
        for (i, c) in new.changes.iter().enumerate() {
            c.check().map_err(|e| StoreError::Invalid(format!("modification n° {} : {e}", i + 1)))?;
        }
        let parts = self.life_parts(convention_id).await?;
        if parts.signatories().next().is_none() {
            return Err(StoreError::Invalid(
                "la convention n'a pas de partie signataire : personne ne pourrait signer l'avenant".into(),
            ));
        }
        parts.life.check_avenant(new.date).map_err(rule)?;

        // What pending avenants already change.
        let mut pending: HashMap<String, i64> = HashMap::new();
        for a in parts.avenants.iter().filter(|a| a.in_force_from.is_none()) {
            for c in &a.changes {
                if let Some(key) = c.target.conflict_key() {
                    pending.insert(key, a.number);
                }
            }
        }
        let current_end = parts.detail.summary.end;
        let mut changes = Vec::with_capacity(new.changes.len());
        for (i, c) in new.changes.iter().enumerate() {
            let n = i + 1;
            if let Some(number) = c.target.conflict_key().and_then(|k| pending.get(&k)) {
                return Err(StoreError::Invalid(format!(
                    "modification n° {n} : l'avenant n° {number}, pas encore signé par toutes les parties, modifie déjà « {} » ; \
                     attendez qu'il soit signé",
                    c.target.label()
                )));
            }
            let mut c = c.clone();
            if c.target == ChangeTarget::EndDate {
                if changes.iter().any(|x: &AvenantChange| x.target == ChangeTarget::EndDate) {
                    return Err(StoreError::Invalid("l'avenant modifie deux fois la date de fin".into()));
                }
                match ctg_domain::parse::date("avant", &c.before).ok() {
                    Some(before) if before != current_end => {
                        return Err(StoreError::Invalid(format!(
                            "modification n° {n} : la date de fin en vigueur est le {}, pas le {}",
                            date_short(current_end),
                            date_short(before)
                        )))
                    }
                    _ => c.before = current_end.to_string(),
                }
                let after = c.new_end().unwrap_or(current_end);
                c.after = after.to_string();
                if after == current_end {
                    return Err(StoreError::Invalid(format!(
                        "modification n° {n} : la date de fin en vigueur est déjà le {}",
                        date_short(current_end)
                    )));
                }
                if after < new.date || after < parts.detail.summary.start {
                    return Err(StoreError::Invalid(format!(
                        "modification n° {n} : la nouvelle date de fin ({}) précède la date de l'avenant ou le début de la \
                         convention",
                        date_short(after)
                    )));
                }
            }
            changes.push(c);
        }

        // The new versions of the texts, from the version in force.
        let mut documents: Vec<(String, String, Option<String>, i64)> = Vec::new(); // key, label, content, version
        for (i, c) in changes.iter().enumerate() {
            let Some(key) = c.target.document_key() else { continue };
            if !documents.iter().any(|d| d.0 == key) {
                let versions = self.version_rows(convention_id, Some(&key), true).await?;
                let label = match (&c.target, versions.last()) {
                    (ChangeTarget::Annex { name, .. }, _) if !name.trim().is_empty() => c.target.label(),
                    (_, Some(last)) => last.label.clone(),
                    _ => document_label(&key).map_err(rule)?,
                };
                let last = versions.last();
                documents.push((
                    key.clone(),
                    label,
                    last.map(|v| v.content.clone()),
                    last.map_or(1, |v| v.version + 1),
                ));
            }
            let Some(doc) = documents.iter_mut().find(|d| d.0 == key) else { continue };
            let content = apply_change(&doc.1, doc.2.as_deref(), &c.before, &c.after)
                .map_err(|e| StoreError::Invalid(format!("modification n° {} : {e}", i + 1)))?;
            doc.2 = Some(content);
        }

        let after = json!({
            "date": new.date.to_string(),
            "intitule": title,
            "modifications": changes.iter().map(change_value).collect::<Vec<_>>(),
        });
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (number,): (i64,) =
                sqlx::query_as("SELECT COALESCE(MAX(number), 0) + 1 FROM avenant WHERE convention_id = $1")
                    .bind(convention_id)
                    .fetch_one(&mut *tx)
                    .await?;
            let inserted: std::result::Result<(i64,), sqlx::Error> = sqlx::query_as(
                "INSERT INTO avenant (convention_id, number, dated, title) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(convention_id)
            .bind(number)
            .bind(new.date)
            .bind(title)
            .fetch_one(&mut *tx)
            .await;
            let (id,) = inserted.map_err(|e| if unique_violation(&e) {
                StoreError::Invalid("un autre avenant vient d'être enregistré pour cette convention : recommencez".into())
            } else {
                StoreError::Database(e)
            })?;
            for (position, c) in changes.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO avenant_change (avenant_id, position, target, annex_number, target_name, before_text, after_text) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(id)
                .bind(position as i64)
                .bind(c.target.code())
                .bind(c.target.annex_number())
                .bind(c.target.name().trim())
                .bind(&c.before)
                .bind(&c.after)
                .execute(&mut *tx)
                .await?;
            }
            for (key, label, content, version) in &documents {
                sqlx::query(
                    "INSERT INTO convention_text_version (convention_id, doc_key, label, version, content, avenant_id, dated) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(convention_id)
                .bind(key)
                .bind(label)
                .bind(version)
                .bind(content.as_deref().unwrap_or_default())
                .bind(id)
                .bind(new.date)
                .execute(&mut *tx)
                .await
                .map_err(|e| if unique_violation(&e) {
                    StoreError::Invalid(format!("une autre version de « {label} » vient d'être enregistrée : recommencez"))
                } else {
                    StoreError::Database(e)
                })?;
            }
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "avenant",
                object_id: id.to_string(),
                object_label: format!("avenant n° {number} : {title}"),
                action: "creation",
                before: None,
                after: Some(after),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// A signatory signs an avenant on `date`. When it is the last one, the avenant is in force from
    /// the last signature: its text versions become the ones in force and, if it changes the end
    /// date, the convention's end date is rewritten, in the same transaction. Gives the day the
    /// avenant came into force, once it has.
    pub async fn sign_avenant(
        &self,
        actor: &Actor,
        convention_id: i64,
        avenant_id: i64,
        party_id: i64,
        date: NaiveDate,
    ) -> Result<Option<NaiveDate>> {
        let parts = self.life_parts(convention_id).await?;
        let avenant = parts.avenant(avenant_id)?;
        let entry = parts.party(party_id)?;
        let name = entry.party.organisation.name.clone();
        if entry.party.role != PartyRole::Signatory {
            return Err(StoreError::Invalid(format!(
                "« {name} » est partenaire associé : il ne signe pas les avenants"
            )));
        }
        if let Some(signed) = avenant.signatures.iter().find(|s| s.party_id == party_id).and_then(|s| s.date) {
            return Err(StoreError::Invalid(format!(
                "« {name} » a déjà signé l'avenant n° {}, le {}",
                avenant.number,
                date_short(signed)
            )));
        }
        parts.life.check_avenant_signature(date).map_err(rule)?;
        if date < avenant.date {
            return Err(StoreError::Invalid(format!(
                "la signature du {} précède la date de l'avenant n° {} ({})",
                date_short(date),
                avenant.number,
                date_short(avenant.date)
            )));
        }
        let signatories: Vec<i64> = parts.signatories().map(|p| p.id).collect();
        let number = avenant.number;
        let new_end = avenant.changes.iter().find_map(AvenantChange::new_end);
        let old_end = parts.detail.summary.end;
        let label = format!("avenant n° {number} : {}", avenant.title);
        let title = parts.detail.summary.title.clone();
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            // Locks the avenant first, so that two last signatures at once see each other.
            let found = sqlx::query("UPDATE avenant SET version = version + 1 WHERE id = $1 AND convention_id = $2")
                .bind(avenant_id)
                .bind(convention_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if found != 1 {
                return Err(StoreError::NotFound(format!("l'avenant n° {number}")));
            }
            sqlx::query("INSERT INTO avenant_signature (avenant_id, party_id, signature_date) VALUES ($1, $2, $3)")
                .bind(avenant_id)
                .bind(party_id)
                .bind(date)
                .execute(&mut *tx)
                .await
                .map_err(|e| if unique_violation(&e) {
                    StoreError::Invalid(format!("« {name} » a déjà signé l'avenant n° {number}"))
                } else {
                    StoreError::Database(e)
                })?;
            let rows: Vec<(i64, NaiveDate)> =
                sqlx::query_as("SELECT party_id, signature_date FROM avenant_signature WHERE avenant_id = $1")
                    .bind(avenant_id)
                    .fetch_all(&mut *tx)
                    .await?;
            let dates: Vec<Option<NaiveDate>> = signatories
                .iter()
                .map(|p| rows.iter().find(|(q, _)| q == p).map(|(_, d)| *d))
                .collect();
            let in_force = ctg_domain::life::avenant_in_force_from(&dates);
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "avenant",
                object_id: avenant_id.to_string(),
                object_label: label.clone(),
                action: "signature",
                before: None,
                after: Some(json!({
                    "partie": name,
                    "signature_date": date.to_string(),
                    "en_vigueur_le": in_force.map(|d| d.to_string()),
                })),
                actor,
            });
            if let (Some(_), Some(end)) = (in_force, new_end) {
                sqlx::query("UPDATE convention SET end_date = $1, version = version + 1 WHERE id = $2")
                    .bind(end)
                    .bind(convention_id)
                    .execute(&mut *tx)
                    .await?;
                record!(&mut *tx, &Change {
                    convention_id: Some(convention_id),
                    object_type: "convention",
                    object_id: convention_id.to_string(),
                    object_label: title.clone(),
                    action: "modification",
                    before: Some(json!({"fin": old_end.to_string()})),
                    after: Some(json!({"fin": end.to_string(), "avenant": number})),
                    actor,
                });
            }
            tx.commit().await?;
            Ok(in_force)
        })
    }

    async fn version_rows(&self, convention_id: i64, key: Option<&str>, content: bool) -> Result<Vec<VersionRow>> {
        let content = if content { "content" } else { "'' AS content" };
        with_db!(self, pool => {
            Ok(sqlx::query_as(&format!(
                "SELECT id, doc_key, label, version, {content}, avenant_id, dated FROM convention_text_version \
                 WHERE convention_id = $1 AND ($2 IS NULL OR doc_key = $2) ORDER BY doc_key, version"
            ))
            .bind(convention_id)
            .bind(key)
            .fetch_all(pool)
            .await?)
        })
    }

    /// Records the text of the convention (`convention`) or of an annex (`annexe-N`) as initially
    /// signed: version 1. Refused once the text has a version: it then changes only by avenant
    /// (art. 12). Gives the version's id.
    pub async fn set_initial_text(&self, actor: &Actor, convention_id: i64, key: &str, content: &str) -> Result<i64> {
        let label = document_label(key).map_err(rule)?;
        let content = content.replace("\r\n", "\n");
        let content = content.trim();
        if content.is_empty() {
            return Err(StoreError::Invalid(format!("le texte de « {label} » est vide")));
        }
        let summary = self.convention_summary(convention_id).await?;
        let already = || {
            StoreError::Invalid(format!("« {label} » a déjà un texte : il ne change plus que par avenant (art. 12)"))
        };
        if !self.version_rows(convention_id, Some(key), false).await?.is_empty() {
            return Err(already());
        }
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let inserted: std::result::Result<(i64,), sqlx::Error> = sqlx::query_as(
                "INSERT INTO convention_text_version (convention_id, doc_key, label, version, content, avenant_id, dated) \
                 VALUES ($1, $2, $3, 1, $4, NULL, $5) RETURNING id",
            )
            .bind(convention_id)
            .bind(key)
            .bind(&label)
            .bind(content)
            .bind(summary.start)
            .fetch_one(&mut *tx)
            .await;
            let (id,) = inserted.map_err(|e| if unique_violation(&e) { already() } else { StoreError::Database(e) })?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "texte_convention",
                object_id: id.to_string(),
                object_label: format!("{label}, version 1"),
                action: "creation",
                before: None,
                after: Some(json!({"document": key, "version": 1, "texte": content})),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// The versions of a text of the convention (`convention`, `annexe-N`), in order, with the one in
    /// force, those it replaced and the one awaiting the signatures of its avenant.
    pub async fn text_versions(&self, convention_id: i64, key: &str) -> Result<Vec<TextVersion>> {
        document_label(key).map_err(rule)?;
        let parts = self.life_parts(convention_id).await?;
        let rows = self.version_rows(convention_id, Some(key), true).await?;
        Ok(versions_of(&parts, rows))
    }

    /// The texts of a convention, with their number of versions, the one in force and a pending one.
    pub async fn text_documents(&self, convention_id: i64) -> Result<Vec<TextDocument>> {
        let parts = self.life_parts(convention_id).await?;
        self.documents_of(&parts).await
    }

    async fn documents_of(&self, parts: &Parts) -> Result<Vec<TextDocument>> {
        let rows = self.version_rows(parts.detail.summary.id, None, false).await?;
        let mut by_key: BTreeMap<String, Vec<VersionRow>> = BTreeMap::new();
        for r in rows {
            by_key.entry(r.doc_key.clone()).or_default().push(r);
        }
        let mut documents: Vec<TextDocument> = by_key
            .into_values()
            .map(|rows| {
                let versions = versions_of(parts, rows);
                let last = versions.last();
                TextDocument {
                    key: last.map(|v| v.key.clone()).unwrap_or_default(),
                    label: versions
                        .iter()
                        .rev()
                        .find(|v| v.state == VersionState::Current)
                        .or(last)
                        .map(|v| v.label.clone())
                        .unwrap_or_default(),
                    versions: versions.len() as i64,
                    current: versions.iter().find(|v| v.state == VersionState::Current).map(|v| v.version),
                    pending: versions.iter().find(|v| v.state == VersionState::Pending).map(|v| v.version),
                }
            })
            .collect();
        // The convention's text first, then the annexes by number.
        documents.sort_by_key(|d| d.key.strip_prefix("annexe-").and_then(|n| n.parse::<u32>().ok()).unwrap_or(0));
        Ok(documents)
    }

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
        let note = t.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
        let after = json!({
            "motif": t.ground.code(),
            "date_avis": t.notice_date.to_string(),
            "date_effet": effective.to_string(),
            "partie": name,
            "note": note,
        });
        let title = parts.detail.summary.title.clone();
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let inserted: std::result::Result<(i64,), sqlx::Error> = sqlx::query_as(
                "INSERT INTO termination (convention_id, ground, notice_date, effective_date, party_id, note) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(convention_id)
            .bind(t.ground.code())
            .bind(t.notice_date)
            .bind(effective)
            .bind(t.party_id)
            .bind(note)
            .fetch_one(&mut *tx)
            .await;
            let (id,) = inserted.map_err(|e| if unique_violation(&e) {
                StoreError::Invalid("la convention est déjà résiliée : une résiliation ne s'enregistre qu'une fois".into())
            } else {
                StoreError::Database(e)
            })?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "resiliation",
                object_id: id.to_string(),
                object_label: format!("résiliation de « {title} »"),
                action: "creation",
                before: None,
                after: Some(after),
                actor,
            });
            tx.commit().await?;
            Ok(effective)
        })
    }

    /// The termination of a convention, if one is recorded.
    /// The effective date of every recorded termination, by convention: one query, for lists.
    pub async fn termination_dates(&self) -> Result<HashMap<i64, NaiveDate>> {
        let rows: Vec<(i64, NaiveDate)> = with_db!(self, pool => {
            sqlx::query_as("SELECT convention_id, effective_date FROM termination").fetch_all(pool).await?
        });
        Ok(rows.into_iter().collect())
    }

    pub async fn termination(&self, convention_id: i64) -> Result<Option<TerminationRecord>> {
        Ok(self.life_parts(convention_id).await?.termination)
    }

    /// What a convention's page shows of its life on `today`: its status, the next date that matters
    /// (the data-exchange agreements not marked expired count with their end date), its parties'
    /// signatures, avenants, termination and texts.
    pub async fn life(&self, convention_id: i64, today: NaiveDate) -> Result<ConventionLife> {
        let parts = self.life_parts(convention_id).await?;
        let agreements: Vec<(String, NaiveDate)> = self
            .agreements(convention_id)
            .await?
            .into_iter()
            .filter(|a| a.status != "expire")
            .filter_map(|a| a.end_date.map(|end| (a.title, end)))
            .collect();
        let documents = self.documents_of(&parts).await?;
        let life = &parts.life;
        Ok(ConventionLife {
            convention_id,
            title: parts.detail.summary.title.clone(),
            today,
            status: life.status_on(today),
            in_force_from: life.in_force_from(),
            end: life.end_on(today),
            commitments_end: life.commitments_end(),
            next_milestone: next_milestone(life, today, &agreements),
            facts: parts.life.clone(),
            parties: parts.detail.parties,
            avenants: parts.avenants,
            termination: parts.termination,
            documents,
            predecessor: parts.detail.predecessor,
            successors: parts.detail.successors,
        })
    }
}

/// The versions of one text with their state, from its rows in version order.
fn versions_of(parts: &Parts, rows: Vec<VersionRow>) -> Vec<TextVersion> {
    let avenant = |id: Option<i64>| id.and_then(|id| parts.avenants.iter().find(|a| a.id == id));
    let adopted: Vec<bool> = rows
        .iter()
        .map(|r| r.avenant_id.is_none() || avenant(r.avenant_id).is_some_and(|a| a.in_force_from.is_some()))
        .collect();
    let states = version_states(&adopted);
    rows.into_iter()
        .zip(states)
        .map(|(r, state)| {
            let made_by = avenant(r.avenant_id);
            TextVersion {
                in_force_from: match made_by {
                    Some(a) => a.in_force_from,
                    None => parts.life.in_force_from(),
                },
                avenant_number: made_by.map(|a| a.number),
                id: r.id,
                key: r.doc_key,
                label: r.label,
                version: r.version,
                content: r.content,
                avenant_id: r.avenant_id,
                dated: r.dated,
                state,
            }
        })
        .collect()
}
