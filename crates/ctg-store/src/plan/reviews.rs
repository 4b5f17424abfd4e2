//! The reviews (bilans) of a convention: of a year or final, for an ambition or a theme.

use std::cmp::Ordering;

use ctg_domain::parse::natural_cmp;
use ctg_domain::Actor;
use serde_json::{json, Value};

use super::{corrupt, json_text};
use crate::audit::{record, Change};
use crate::conn::{with_conn, Conn};
use crate::versioned::{Loaded, Versioned};
use crate::{with_db, Result, Store, StoreError};

/// What a review covers: an ambition (by number) or a theme (by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewScope {
    Ambition(i64),
    Theme(String),
}

impl ReviewScope {
    fn kind(&self) -> &'static str {
        match self {
            Self::Ambition(_) => "ambition",
            Self::Theme(_) => "theme",
        }
    }

    fn key(&self) -> String {
        match self {
            Self::Ambition(n) => n.to_string(),
            Self::Theme(t) => t.trim().to_owned(),
        }
    }

    /// In French, for messages and the audit trail.
    pub fn label(&self) -> String {
        match self {
            Self::Ambition(n) => format!("ambition {n}"),
            Self::Theme(t) => format!("thème « {} »", t.trim()),
        }
    }
}

/// The review (bilan) of a year, or the final one (`year` `None`), for an ambition or a theme.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    pub year: Option<i32>,
    pub scope: ReviewScope,
    /// What was done.
    pub done: String,
    pub successes: String,
    /// Points of attention.
    pub attention: String,
    /// Difficulties and concerns.
    pub concerns: String,
    /// Figures declared when the platform has no data to compute them from (`objectifs`, `fiches`,
    /// `fiches_engagees`…).
    pub declared: Value,
}

impl Review {
    fn label(&self) -> String {
        match self.year {
            Some(y) => format!("bilan {y} ({})", self.scope.label()),
            None => format!("bilan final ({})", self.scope.label()),
        }
    }

    fn audit_value(&self) -> Value {
        json!({
            "annee": self.year,
            "perimetre": self.scope.label(),
            "realise": self.done,
            "reussites": self.successes,
            "points_d_attention": self.attention,
            "difficultes": self.concerns,
            "declare": self.declared,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRecord {
    pub id: i64,
    pub version: i64,
    pub review: Review,
}

#[derive(sqlx::FromRow)]
struct ReviewRow {
    id: i64,
    year: Option<i32>,
    scope_kind: String,
    scope: String,
    done: String,
    successes: String,
    attention: String,
    concerns: String,
    declared: String,
    version: i64,
}

impl Store {
    /// The reviews of a convention: by year (the final one last), then ambitions by number, then
    /// themes by name.
    pub async fn reviews(&self, convention_id: i64) -> Result<Vec<ReviewRecord>> {
        self.acquire().await?.conn().reviews(convention_id).await
    }

    /// Creates a review (`version` `None`) or saves it from the version read. There is one review per
    /// year (or final) and scope: creating one that exists, or saving from a stale version, is refused
    /// as a stale edit. Evaluates to (its id, its new version).
    pub async fn save_review(
        &self,
        actor: &Actor,
        convention_id: i64,
        review: &Review,
        version: Option<i64>,
    ) -> Result<(i64, i64)> {
        let scope = match &review.scope {
            ReviewScope::Ambition(n) => ReviewScope::Ambition(*n),
            ReviewScope::Theme(t) if t.trim().is_empty() => {
                return Err(StoreError::Invalid("le thème du bilan est vide".into()))
            }
            ReviewScope::Theme(t) => ReviewScope::Theme(t.trim().to_owned()),
        };
        if let Some(y) = review.year {
            if !ctg_domain::parse::PLAN_YEARS.contains(&y) {
                return Err(StoreError::Invalid(format!("année hors limites : {y}")));
            }
        }
        self.convention_summary(convention_id).await?;
        if let ReviewScope::Ambition(n) = scope {
            self.ambition_id(convention_id, n).await?;
        }
        let r = Review {
            scope,
            done: review.done.trim().to_owned(),
            successes: review.successes.trim().to_owned(),
            attention: review.attention.trim().to_owned(),
            concerns: review.concerns.trim().to_owned(),
            ..review.clone()
        };
        let (kind, key, declared) = (r.scope.kind(), r.scope.key(), json_text(&r.declared)?);
        let what = || format!("le {}", r.label());
        let Some(version) = version else {
            let inserted: Option<i64> = with_db!(self, pool => {
                let mut tx = pool.begin().await?;
                let inserted: Option<(i64,)> = sqlx::query_as(
                    "INSERT INTO review (convention_id, year, scope_kind, scope, done, successes, attention, concerns, declared) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING id",
                )
                .bind(convention_id)
                .bind(r.year)
                .bind(kind)
                .bind(&key)
                .bind(&r.done)
                .bind(&r.successes)
                .bind(&r.attention)
                .bind(&r.concerns)
                .bind(&declared)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((id,)) = inserted {
                    record!(&mut *tx, &Change {
                        convention_id: Some(convention_id),
                        object_type: "bilan",
                        object_id: id.to_string(),
                        object_label: r.label(),
                        action: "creation",
                        before: None,
                        after: Some(r.audit_value()),
                        actor,
                    });
                    tx.commit().await?;
                }
                inserted.map(|i| i.0)
            });
            return match inserted {
                Some(id) => Ok((id, 1)),
                // It exists already, created by someone else (perhaps since this page was read).
                None => match self.review_id(convention_id, &r).await? {
                    Some(id) => Err(self.stale(what(), "bilan", id).await),
                    None => Err(StoreError::Stale { what: what(), last_change: None }),
                },
            };
        };
        // Reviews are never deleted nor moved to another year or scope: the id found by its year and
        // scope is the review the author read.
        let id = self.review_id(convention_id, &r).await?.ok_or_else(|| StoreError::NotFound(what()))?;
        let version = self
            .versioned_write(
                Versioned { table: "review", id, version: Some(version) },
                async |c| {
                    let current = c
                        .reviews(convention_id)
                        .await?
                        .into_iter()
                        .find(|e| e.id == id)
                        .ok_or_else(|| StoreError::NotFound(what()))?;
                    Ok(Loaded::new(
                        what(),
                        Change {
                            convention_id: Some(convention_id),
                            object_type: "bilan",
                            object_id: id.to_string(),
                            object_label: r.label(),
                            action: "modification",
                            before: Some(current.review.audit_value()),
                            after: Some(r.audit_value()),
                            actor,
                        },
                    ))
                },
                async |c, ()| {
                    with_conn!(c, c => {
                        sqlx::query(
                            "UPDATE review SET done = $1, successes = $2, attention = $3, concerns = $4, declared = $5 \
                             WHERE id = $6",
                        )
                        .bind(&r.done)
                        .bind(&r.successes)
                        .bind(&r.attention)
                        .bind(&r.concerns)
                        .bind(&declared)
                        .bind(id)
                        .execute(&mut *c)
                        .await?;
                    });
                    Ok(())
                },
            )
            .await?;
        Ok((id, version))
    }

    /// The id of the review of this year (or final) and scope, if there is one.
    async fn review_id(&self, convention_id: i64, r: &Review) -> Result<Option<i64>> {
        let found: Option<(i64,)> = with_db!(self, pool => {
            sqlx::query_as(
                "SELECT id FROM review WHERE convention_id = $1 AND COALESCE(year, 0) = $2 AND scope_kind = $3 AND scope = $4",
            )
            .bind(convention_id)
            .bind(r.year.unwrap_or(0))
            .bind(r.scope.kind())
            .bind(r.scope.key())
            .fetch_optional(pool)
            .await?
        });
        Ok(found.map(|f| f.0))
    }
}

impl Conn<'_> {
    /// The reviews of a convention: by year (the final one last), then ambitions by number, then
    /// themes by name.
    pub(crate) async fn reviews(&mut self, convention_id: i64) -> Result<Vec<ReviewRecord>> {
        let rows: Vec<ReviewRow> = with_conn!(self, c => {
            sqlx::query_as(
                "SELECT id, year, scope_kind, scope, done, successes, attention, concerns, declared, version FROM review \
                 WHERE convention_id = $1",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?
        });
        let mut out = rows
            .into_iter()
            .map(|r| {
                let scope = match r.scope_kind.as_str() {
                    "ambition" => ReviewScope::Ambition(r.scope.parse().map_err(|_| corrupt("ambition", &r.scope))?),
                    "theme" => ReviewScope::Theme(r.scope),
                    other => return Err(corrupt("périmètre", other)),
                };
                Ok(ReviewRecord {
                    id: r.id,
                    version: r.version,
                    review: Review {
                        year: r.year,
                        scope,
                        done: r.done,
                        successes: r.successes,
                        attention: r.attention,
                        concerns: r.concerns,
                        declared: serde_json::from_str(&r.declared)
                            .map_err(|_| corrupt("chiffres déclarés", &r.declared))?,
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| {
            let (a, b) = (&a.review, &b.review);
            (a.year.is_none(), a.year).cmp(&(b.year.is_none(), b.year)).then_with(|| match (&a.scope, &b.scope) {
                (ReviewScope::Ambition(x), ReviewScope::Ambition(y)) => x.cmp(y),
                (ReviewScope::Ambition(_), ReviewScope::Theme(_)) => Ordering::Less,
                (ReviewScope::Theme(_), ReviewScope::Ambition(_)) => Ordering::Greater,
                (ReviewScope::Theme(x), ReviewScope::Theme(y)) => natural_cmp(x, y),
            })
        });
        Ok(out)
    }
}
