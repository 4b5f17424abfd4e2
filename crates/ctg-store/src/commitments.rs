//! Each party's commitments (art. 6 and annex 3 of a CTG), quoted from the convention, and the
//! parties as means and commitments name them.

use ctg_domain::funds::{party_by_id, Commitment, PartyRef};
use ctg_domain::Actor;
use serde_json::{json, Value};

use crate::audit::{record, Change};
use crate::conn::{with_conn, Conn};
use crate::versioned::{Loaded, Versioned};
use crate::{Result, Store, StoreError};

/// A commitment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitmentRecord {
    pub id: i64,
    pub version: i64,
    pub commitment: Commitment,
}

#[derive(sqlx::FromRow)]
struct CommitmentRow {
    id: i64,
    version: i64,
    party_id: i64,
    text: String,
    source: String,
    ambition: Option<i64>,
}

fn audit_value(c: &Commitment, party: &str) -> Value {
    json!({ "partie_id": c.party_id, "partie": party, "texte": c.text, "source": c.source, "ambition": c.ambition })
}

impl Store {
    /// The parties of a convention, in their order, as means and commitments name them.
    pub async fn party_refs(&self, convention_id: i64) -> Result<Vec<PartyRef>> {
        self.acquire().await?.conn().party_refs(convention_id).await
    }

    /// The commitments of a convention's parties, by party (in the parties' order) then position.
    pub async fn commitments(&self, convention_id: i64) -> Result<Vec<CommitmentRecord>> {
        self.acquire().await?.conn().commitments(convention_id).await
    }

    /// Refuses a direct change of the commitments of a convention signed by all: they are its text
    /// (art. 6, annex 3), which changes only by avenant (art. 12).
    async fn commitments_unlocked(&self, convention_id: i64) -> Result<()> {
        if self.convention(convention_id).await?.is_locked() {
            return Err(StoreError::Invalid(ctg_domain::life::locked_message(
                "les engagements des parties (art. 6 et annexe 3)",
            )));
        }
        Ok(())
    }

    /// Records a commitment of a party of the convention, after the others of that party. Refused when
    /// the party is not one of the convention's, the ambition does not exist or the text is empty, and
    /// on a convention signed by all (art. 12: by avenant).
    pub async fn create_commitment(&self, actor: &Actor, convention_id: i64, c: &Commitment) -> Result<i64> {
        let c = c.check().map_err(StoreError::Invalid)?;
        self.commitments_unlocked(convention_id).await?;
        let mut tx = self.begin_write().await?;
        let id = tx.conn().insert_commitment(actor, convention_id, &c).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Changes a commitment (its party, text, source, ambition) from the version read; refused on a
    /// convention signed by all (art. 12: by avenant).
    pub async fn update_commitment(
        &self,
        actor: &Actor,
        convention_id: i64,
        id: i64,
        version: i64,
        c: &Commitment,
    ) -> Result<i64> {
        let c = c.check().map_err(StoreError::Invalid)?;
        self.commitments_unlocked(convention_id).await?;
        self.versioned_write(
            Versioned { table: "party_commitment", id, version: Some(version) },
            async |x| {
                let current = x
                    .commitments(convention_id)
                    .await?
                    .into_iter()
                    .find(|r| r.id == id)
                    .ok_or_else(|| StoreError::NotFound(format!("l'engagement n° {id} de cette convention")))?;
                let parties = x.party_refs(convention_id).await?;
                let before_label = party_by_id(&parties, current.commitment.party_id).map(|p| p.label().to_owned());
                let (label, ambition_id) = x.commitment_refs(convention_id, &c).await?;
                Ok(Loaded::new(
                    format!("l'engagement n° {id}"),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "engagement",
                        object_id: id.to_string(),
                        object_label: format!("engagement de {label}"),
                        action: "modification",
                        before: Some(audit_value(&current.commitment, &before_label.unwrap_or_default())),
                        after: Some(audit_value(&c, &label)),
                        actor,
                    },
                )
                .with(ambition_id))
            },
            async |x, ambition_id| {
                with_conn!(x, x => {
                    sqlx::query(
                        "UPDATE party_commitment SET party_id = $1, text = $2, source = $3, ambition_id = $4 WHERE id = $5",
                    )
                    .bind(c.party_id)
                    .bind(&c.text)
                    .bind(&c.source)
                    .bind(ambition_id)
                    .bind(id)
                    .execute(&mut *x)
                    .await?;
                });
                Ok(())
            },
        )
        .await
    }

    /// Records commitments in one transaction, all or none: the loading of a convention's text with its
    /// commitments (the demonstration), before or as it is signed.
    pub async fn create_commitments(&self, actor: &Actor, convention_id: i64, all: &[Commitment]) -> Result<()> {
        let all = all.iter().map(Commitment::check).collect::<Result<Vec<_>, _>>().map_err(StoreError::Invalid)?;
        let mut tx = self.begin_write().await?;
        for c in &all {
            tx.conn().insert_commitment(actor, convention_id, c).await?;
        }
        tx.commit().await
    }
}

impl Conn<'_> {
    pub(crate) async fn party_refs(&mut self, convention_id: i64) -> Result<Vec<PartyRef>> {
        let rows: Vec<(i64, String, Option<String>)> = with_conn!(self, c => {
            sqlx::query_as(
                "SELECT p.id, o.name, o.short_name FROM party p JOIN organisation o ON o.id = p.organisation_id \
                 WHERE p.convention_id = $1 ORDER BY p.position, p.id",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?
        });
        Ok(rows.into_iter().map(|(id, name, short_name)| PartyRef { id, name, short_name }).collect())
    }

    async fn commitments(&mut self, convention_id: i64) -> Result<Vec<CommitmentRecord>> {
        let rows: Vec<CommitmentRow> = with_conn!(self, c => {
            sqlx::query_as(
                "SELECT c.id, c.version, c.party_id, c.text, c.source, a.number AS ambition FROM party_commitment c \
                 JOIN party p ON p.id = c.party_id LEFT JOIN ambition a ON a.id = c.ambition_id \
                 WHERE c.convention_id = $1 ORDER BY p.position, c.position, c.id",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| CommitmentRecord {
                id: r.id,
                version: r.version,
                commitment: Commitment { party_id: r.party_id, text: r.text, source: r.source, ambition: r.ambition },
            })
            .collect())
    }

    /// Inserts a checked commitment after the others of its party, with its audit entry.
    async fn insert_commitment(&mut self, actor: &Actor, convention_id: i64, c: &Commitment) -> Result<i64> {
        let (label, ambition_id) = self.commitment_refs(convention_id, c).await?;
        let id = with_conn!(self, x => {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO party_commitment (convention_id, party_id, position, text, source, ambition_id) \
                 VALUES ($1, $2, (SELECT COALESCE(MAX(position), 0) + 1 FROM party_commitment WHERE party_id = $2), \
                 $3, $4, $5) RETURNING id",
            )
            .bind(convention_id)
            .bind(c.party_id)
            .bind(&c.text)
            .bind(&c.source)
            .bind(ambition_id)
            .fetch_one(&mut *x)
            .await?;
            record!(&mut *x, &Change {
                convention_id: Some(convention_id),
                object_type: "engagement",
                object_id: id.to_string(),
                object_label: format!("engagement de {label}"),
                action: "creation",
                before: None,
                after: Some(audit_value(c, &label)),
                actor,
            });
            id
        });
        Ok(id)
    }

    /// The label of the commitment's party and the id of its ambition; refused when the party is not
    /// one of the convention's or the ambition does not exist.
    async fn commitment_refs(&mut self, convention_id: i64, c: &Commitment) -> Result<(String, Option<i64>)> {
        let parties = self.party_refs(convention_id).await?;
        let label = party_by_id(&parties, c.party_id).map_err(StoreError::Invalid)?.label().to_owned();
        let ambition_id = match c.ambition {
            Some(n) => Some(self.ambition_id(convention_id, n).await?),
            None => None,
        };
        Ok((label, ambition_id))
    }
}
