//! The versions of the convention's text and of its annexes: the text as initially signed, then a new
//! version with each avenant that changes it.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use ctg_domain::life::{document_label, version_states, VersionState};
use ctg_domain::Actor;
use serde_json::json;

use super::{rule, unique_violation, Parts, VersionRow};
use crate::audit::{record, Change};
use crate::{with_db, Result, Store, StoreError};

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

impl Store {
    pub(super) async fn version_rows(
        &self,
        convention_id: i64,
        key: Option<&str>,
        content: bool,
    ) -> Result<Vec<VersionRow>> {
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
        let content = ctg_domain::text::clean("texte", content, ctg_domain::text::TextKind::Document)
            .map_err(StoreError::Invalid)?;
        let content = content.as_str();
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

    pub(super) async fn documents_of(&self, parts: &Parts) -> Result<Vec<TextDocument>> {
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
