//! The life of a convention in storage (arts. 11 to 13): the parties' signatures, the avenants with
//! their changes and signatures, the versions of the convention's text and annexes, and the
//! termination. The rules are those of [`ctg_domain::life`]; every write is one transaction with its
//! audit entry.

mod avenants;
mod notices;
mod signatures;
mod termination;
mod texts;

pub use avenants::{AvenantRecord, AvenantSignature, NewAvenant};
pub use notices::{FormalNotice, NewFormalNotice};
pub use termination::{Termination, TerminationRecord};
pub use texts::{TextDocument, TextVersion};

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use ctg_domain::life::{
    next_milestone, AvenantChange, ChangeTarget, Life, LifeError, LifeStatus, TerminationFacts, TerminationGround,
};
use ctg_domain::PartyRole;

use crate::conn::{with_conn, Conn};
use crate::{ConventionDetail, ConventionRef, PartyEntry, Result, Store, StoreError};

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

impl ConventionLife {
    /// Signatory parties that have not signed yet.
    pub fn unsigned_parties(&self) -> impl Iterator<Item = &PartyEntry> {
        self.parties.iter().filter(|p| p.party.role == PartyRole::Signatory && p.party.signature_date.is_none())
    }

    /// Avenants not yet in force (some signature missing).
    pub fn pending_avenants(&self) -> impl Iterator<Item = &AvenantRecord> {
        self.avenants.iter().filter(|a| a.in_force_from.is_none())
    }
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
#[derive(Debug, Clone)]
pub(crate) struct Parts {
    pub(crate) detail: ConventionDetail,
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
            signatures: signatories.iter().map(|p| p.party.signed_on().map(|s| s.counted())).collect(),
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
    /// The convention and the facts of its life, from memory when read at the current write stamp
    /// ([`Store::write_stamps`]); the writes re-read them in their own transaction.
    pub(crate) async fn life_parts(&self, convention_id: i64) -> Result<Parts> {
        let stamp = self.write_stamps(&[convention_id]).await?.get(&convention_id).copied();
        if let Some(mut parts) = stamp.and_then(|s| self.cached_life(convention_id, s)) {
            let (predecessor, successors) = self.acquire().await?.conn().links(convention_id).await?;
            parts.detail.predecessor = predecessor;
            parts.detail.successors = successors;
            return Ok(parts);
        }
        let parts = self.acquire().await?.conn().life_parts(convention_id).await?;
        if let Some(stamp) = stamp {
            self.keep_life(convention_id, stamp, &parts);
        }
        Ok(parts)
    }

    fn cached_life(&self, convention_id: i64, stamp: crate::WriteStamp) -> Option<Parts> {
        self.lives.get(&convention_id, &stamp)
    }

    fn keep_life(&self, convention_id: i64, stamp: crate::WriteStamp, parts: &Parts) {
        self.lives.put(convention_id, stamp, parts.clone());
    }

    /// What the conventions `ids` are on `today`, in that order: the one rule of status
    /// ([`Life::status_on`]), for the lists of the pages, the API and the command line. One
    /// connection; each convention's life is read whole (a few queries each).
    ///
    /// The facts of each convention are kept in memory with the write stamp they were read at
    /// ([`Store::write_stamps`]): a list of a thousand conventions costs two queries while nothing
    /// changed, and an entry is never served once a later write is committed, whichever server wrote it.
    pub async fn life_statuses(&self, ids: &[i64], today: NaiveDate) -> Result<Vec<LifeStatus>> {
        let stamps = self.write_stamps(ids).await?;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            let stamp = stamps.get(&id).copied().unwrap_or_default();
            let life = match self.cached_life(id, stamp) {
                Some(parts) => parts.life,
                None => {
                    let parts = self.acquire().await?.conn().life_parts(id).await?;
                    self.keep_life(id, stamp, &parts);
                    parts.life
                }
            };
            out.push(life.status_on(today));
        }
        Ok(out)
    }

    /// What a convention is on `today` ([`Life::status_on`]).
    pub async fn life_status(&self, convention_id: i64, today: NaiveDate) -> Result<LifeStatus> {
        Ok(self.life_parts(convention_id).await?.life.status_on(today))
    }

    /// The facts of a convention's life, from which its status on any day is computed
    /// ([`Life::status_on`]).
    pub async fn life_facts(&self, convention_id: i64) -> Result<Life> {
        Ok(self.life_parts(convention_id).await?.life)
    }

    /// What a convention's page shows of its life on `today`: its status, the next date that matters
    /// (the data-exchange agreements not marked expired count with their end date), its parties'
    /// signatures, avenants, termination and texts.
    pub async fn life(&self, convention_id: i64, today: NaiveDate) -> Result<ConventionLife> {
        Ok(self.convention_and_life(convention_id, today).await?.1)
    }

    /// The convention ([`Store::convention`]) and its life ([`Store::life`]), read once for both.
    pub async fn convention_and_life(
        &self,
        convention_id: i64,
        today: NaiveDate,
    ) -> Result<(ConventionDetail, ConventionLife)> {
        let parts = self.life_parts(convention_id).await?;
        let agreements: Vec<(String, NaiveDate)> = self
            .agreements(convention_id)
            .await?
            .into_iter()
            .filter(|a| a.status != "expire")
            .filter_map(|a| a.end_date.map(|end| (a.title, end)))
            .collect();
        let documents = self.documents_of(&parts).await?;
        let facts = &parts.life;
        let life = ConventionLife {
            convention_id,
            title: parts.detail.summary.title.clone(),
            today,
            status: facts.status_on(today),
            in_force_from: facts.in_force_from(),
            end: facts.end_on(today),
            commitments_end: facts.commitments_end(),
            next_milestone: next_milestone(facts, today, &agreements),
            facts: parts.life.clone(),
            parties: parts.detail.parties.clone(),
            avenants: parts.avenants,
            termination: parts.termination,
            documents,
            predecessor: parts.detail.predecessor.clone(),
            successors: parts.detail.successors.clone(),
        };
        Ok((parts.detail, life))
    }
}
