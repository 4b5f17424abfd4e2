//! The coordination posts of art. 7-b: the chargés de coopération.

use chrono::NaiveDate;
use ctg_domain::governance::{NewPost, Post};
use ctg_domain::Actor;
use serde_json::{json, Value};

use super::invalid;
use crate::audit::{record, Change};
use crate::conn::{with_conn, Conn};
use crate::versioned::{Loaded, Versioned};
use crate::{with_db, Result, Store, StoreError};

#[derive(sqlx::FromRow)]
struct PostRow {
    id: i64,
    person: Option<String>,
    employer: String,
    fte_hundredths: i64,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
    funding: String,
    amount_cents: Option<i64>,
    funder: Option<String>,
    version: i64,
}

fn post_audit(p: &NewPost) -> Value {
    json!({
        "personne": p.person, "employeur": p.employer, "etp_centiemes": p.fte_hundredths, "debut": p.start,
        "fin": p.end, "financement": p.funding, "montant_centimes": p.amount_cents, "financeur": p.funder,
    })
}

impl Store {
    /// The chargés de coopération posts of a convention, by start date.
    pub async fn coordination_posts(&self, convention_id: i64) -> Result<Vec<Post>> {
        self.acquire().await?.conn().coordination_posts(convention_id).await
    }

    /// Records a chargé de coopération post of the convention.
    pub async fn create_post(&self, actor: &Actor, convention_id: i64, post: NewPost) -> Result<i64> {
        let post = post.check().map_err(invalid)?;
        self.convention_summary(convention_id).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO coordination_post (convention_id, person, employer, fte_hundredths, start_date, end_date, \
                 funding, amount_cents, funder) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(convention_id)
            .bind(&post.person)
            .bind(&post.employer)
            .bind(post.fte_hundredths)
            .bind(post.start)
            .bind(post.end)
            .bind(&post.funding)
            .bind(post.amount_cents)
            .bind(&post.funder)
            .fetch_one(&mut *tx)
            .await?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "poste_cooperation",
                object_id: id.to_string(),
                object_label: post_label(&post),
                action: "creation",
                before: None,
                after: Some(post_audit(&post)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Changes a post from the version read.
    pub async fn update_post(
        &self,
        actor: &Actor,
        convention_id: i64,
        post_id: i64,
        version: i64,
        post: NewPost,
    ) -> Result<i64> {
        let post = post.check().map_err(invalid)?;
        self.versioned_write(
            Versioned { table: "coordination_post", id: post_id, version: Some(version) },
            async |c| {
                let current = c
                    .coordination_posts(convention_id)
                    .await?
                    .into_iter()
                    .find(|p| p.id == post_id)
                    .ok_or_else(|| StoreError::NotFound(format!("le poste n° {post_id} de cette convention")))?;
                Ok(Loaded::new(
                    format!("le poste « {} »", post_label(&current.data)),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "poste_cooperation",
                        object_id: post_id.to_string(),
                        object_label: post_label(&post),
                        action: "modification",
                        before: Some(post_audit(&current.data)),
                        after: Some(post_audit(&post)),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query(
                        "UPDATE coordination_post SET person = $1, employer = $2, fte_hundredths = $3, start_date = $4, \
                         end_date = $5, funding = $6, amount_cents = $7, funder = $8 WHERE id = $9",
                    )
                    .bind(&post.person)
                    .bind(&post.employer)
                    .bind(post.fte_hundredths)
                    .bind(post.start)
                    .bind(post.end)
                    .bind(&post.funding)
                    .bind(post.amount_cents)
                    .bind(&post.funder)
                    .bind(post_id)
                    .execute(&mut *c)
                    .await?;
                });
                Ok(())
            },
        )
        .await
    }
}

impl Conn<'_> {
    /// The chargés de coopération posts of a convention, by start date.
    pub(crate) async fn coordination_posts(&mut self, convention_id: i64) -> Result<Vec<Post>> {
        let rows: Vec<PostRow> = with_conn!(self, c => {
            sqlx::query_as(
                "SELECT id, person, employer, fte_hundredths, start_date, end_date, funding, amount_cents, funder, version \
                 FROM coordination_post WHERE convention_id = $1 ORDER BY start_date, id",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| Post {
                id: r.id,
                version: r.version,
                data: NewPost {
                    person: r.person,
                    employer: r.employer,
                    fte_hundredths: r.fte_hundredths,
                    start: r.start_date,
                    end: r.end_date,
                    funding: r.funding,
                    amount_cents: r.amount_cents,
                    funder: r.funder,
                },
            })
            .collect())
    }
}

fn post_label(p: &NewPost) -> String {
    format!("chargé(e) de coopération, {} ({})", p.person.as_deref().unwrap_or("poste vacant"), p.employer)
}
