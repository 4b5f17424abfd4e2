//! Avenants (art. 12): recorded with their changes and the new versions of the texts they change, then
//! signed; one is in force once every signatory has signed it.

use std::collections::HashMap;

use chrono::NaiveDate;
use ctg_domain::format::date_short;
use ctg_domain::life::{apply_change, document_label, AvenantChange, AvenantFacts, ChangeTarget};
use ctg_domain::{Actor, PartyRole};
use serde_json::{json, Value};

use super::{rule, unique_violation};
use crate::audit::{record, Change};
use crate::{with_db, Result, Store, StoreError};

/// Checks a change of a party's signatory or of an ambition against the convention as it stands, and
/// completes it: the party named as the convention names it, `before` the signatory or title in
/// office when left empty, so that the avenant shows both sides.
fn resolve_structured(detail: &crate::ConventionDetail, n: usize, c: &mut AvenantChange) -> Result<()> {
    let refuse = |m: String| Err(StoreError::Invalid(format!("modification n° {n} : {m}")));
    let loose = ctg_domain::parse::loose;
    match c.target.clone() {
        ChangeTarget::Party { name } => {
            let key = loose(&name);
            let Some(party) = detail.parties.iter().find(|p| {
                loose(&p.party.organisation.name) == key
                    || p.party.organisation.short_name.as_deref().is_some_and(|s| loose(s) == key)
            }) else {
                let names: Vec<&str> = detail.parties.iter().map(|p| p.party.organisation.name.as_str()).collect();
                return refuse(format!("« {name} » n'est pas une partie de la convention ({})", names.join(" ; ")));
            };
            if party.party.role != PartyRole::Signatory {
                return refuse(format!(
                    "« {} » est partenaire associé : il n'a pas de signataire",
                    party.party.organisation.name
                ));
            }
            let current = party.party.signatory.clone().unwrap_or_default();
            if c.before.trim().is_empty() {
                c.before = current;
            } else if loose(&c.before) != loose(&current) {
                return refuse(format!(
                    "le signataire en fonction pour « {} » est « {current} », pas « {} »",
                    party.party.organisation.name,
                    c.before.trim()
                ));
            }
            if loose(&c.before) == loose(&c.after) {
                return refuse(format!("« {} » signe déjà pour « {} »", c.after.trim(), party.party.organisation.name));
            }
            c.target = ChangeTarget::Party { name: party.party.organisation.name.clone() };
        }
        ChangeTarget::Ambition { number, stake } => {
            let Some(s) = detail.stakes.iter().find(|s| s.number == i64::from(stake)) else {
                return refuse(format!("l'enjeu n° {stake} n'existe pas dans cette convention"));
            };
            let existing = detail
                .stakes
                .iter()
                .flat_map(|s| s.ambitions.iter().map(move |a| (s.number, a)))
                .find(|(_, a)| a.number == i64::from(number));
            match existing {
                Some((in_stake, _)) if in_stake != s.number => {
                    return refuse(format!(
                        "l'ambition n° {number} relève de l'enjeu n° {in_stake}, pas de l'enjeu n° {stake}"
                    ))
                }
                Some((_, a)) => {
                    if c.before.trim().is_empty() {
                        c.before = a.title.clone();
                    } else if loose(&c.before) != loose(&a.title) {
                        return refuse(format!(
                            "l'intitulé en vigueur de l'ambition n° {number} est « {} », pas « {} »",
                            a.title,
                            c.before.trim()
                        ));
                    }
                }
                None if !c.before.trim().is_empty() => {
                    return refuse(format!(
                        "l'ambition n° {number} n'existe pas : pour l'ajouter, laissez « avant » vide"
                    ))
                }
                None => {}
            }
        }
        _ => {}
    }
    Ok(())
}

/// Applies, in the transaction `$tx` of the last signature, a change of a party's signatory or of an
/// ambition made by avenant n° `$number`, with its audit entry (a macro: the transaction is of either
/// database).
macro_rules! apply_structured {
    ($tx:ident, $convention_id:expr, $number:expr, $change:expr, $actor:expr) => {{
        let c: &AvenantChange = $change;
        let after = c.after.trim();
        let (object_type, object_label, action) = match &c.target {
            ChangeTarget::Party { name } => {
                sqlx::query(
                    "UPDATE party SET signatory = $1, version = version + 1 WHERE convention_id = $2 \
                     AND organisation_id = (SELECT id FROM organisation WHERE name = $3)",
                )
                .bind(after)
                .bind($convention_id)
                .bind(name.as_str())
                .execute(&mut *$tx)
                .await?;
                ("partie", name.clone(), "modification")
            }
            ChangeTarget::Ambition { number, stake } => {
                let updated = sqlx::query(
                    "UPDATE ambition SET title = $1, version = version + 1 WHERE convention_id = $2 AND number = $3",
                )
                .bind(after)
                .bind($convention_id)
                .bind(i64::from(*number))
                .execute(&mut *$tx)
                .await?
                .rows_affected();
                if updated == 0 {
                    sqlx::query(
                        "INSERT INTO ambition (convention_id, stake_id, number, title) \
                         SELECT $1, id, $2, $3 FROM stake WHERE convention_id = $1 AND number = $4",
                    )
                    .bind($convention_id)
                    .bind(i64::from(*number))
                    .bind(after)
                    .bind(i64::from(*stake))
                    .execute(&mut *$tx)
                    .await?;
                }
                ("ambition", format!("ambition {number} : {after}"), if updated == 0 { "creation" } else { "modification" })
            }
            _ => unreachable!("only parties and ambitions are applied here"),
        };
        record!(&mut *$tx, &Change {
            convention_id: Some($convention_id),
            object_type,
            object_id: c.target.conflict_key().unwrap_or_default(),
            object_label,
            action,
            before: (!c.before.trim().is_empty()).then(|| json!({"valeur": c.before.trim()})),
            after: Some(json!({"valeur": after, "avenant": $number})),
            actor: $actor,
        });
    }};
}

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

fn change_value(c: &AvenantChange) -> Value {
    json!({
        "objet": c.target.code(),
        "libelle": c.target.label(),
        "avant": c.before,
        "apres": c.after,
    })
}

impl Store {
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
        let title = ctg_domain::text::clean("intitulé", &new.title, ctg_domain::text::TextKind::Title)
            .map_err(StoreError::Invalid)?;
        let title = title.as_str();
        if title.is_empty() {
            return Err(StoreError::Invalid("l'intitulé de l'avenant est vide".into()));
        }
        if new.changes.is_empty() {
            return Err(StoreError::Invalid(
                "un avenant précise toutes les modifications qu'il apporte (art. 12) : aucune n'est indiquée".into(),
            ));
        }
        let mut cleaned = new.changes.clone();
        for (i, c) in cleaned.iter_mut().enumerate() {
            c.clean()
                .and_then(|()| c.check())
                .map_err(|e| StoreError::Invalid(format!("modification n° {} : {e}", i + 1)))?;
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
        let mut changes = Vec::with_capacity(cleaned.len());
        for (i, c) in cleaned.iter().enumerate() {
            let n = i + 1;
            if let Some(number) = c.target.conflict_key().and_then(|k| pending.get(&k)) {
                return Err(StoreError::Invalid(format!(
                    "modification n° {n} : l'avenant n° {number}, pas encore signé par toutes les parties, modifie déjà « {} » ; \
                     attendez qu'il soit signé",
                    c.target.label()
                )));
            }
            let mut c = c.clone();
            resolve_structured(&parts.detail, n, &mut c)?;
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
                .bind(c.target.name().trim().to_owned())
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
        let structured: Vec<AvenantChange> = avenant
            .changes
            .iter()
            .filter(|c| matches!(c.target, ChangeTarget::Party { .. } | ChangeTarget::Ambition { .. }))
            .cloned()
            .collect();
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
            if in_force.is_some() {
                for c in &structured {
                    apply_structured!(tx, convention_id, number, c, actor);
                }
            }
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
}
