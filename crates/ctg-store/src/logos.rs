//! The logos of the parties (art. 10): one per party, checked ([`ctg_domain::logo::check`]), kept in the
//! database with its hash, so that a backup holds them.

use chrono::Utc;
use ctg_domain::logo::{check, LogoKind, DEFAULT_MAX_LOGO_BYTES, MAX_LOGO_PARAMETER};
use ctg_domain::Actor;
use serde_json::json;

use crate::audit::{record, Change};
use crate::documents::sha256_hex;
use crate::{with_db, Result, Store, StoreError};

/// The logo of a party, with its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyLogo {
    pub party_id: i64,
    pub kind: LogoKind,
    pub sha256: String,
    pub content: Vec<u8>,
}

type Row = (i64, String, String, Vec<u8>);

fn logo((party_id, media_type, sha256, content): Row) -> Result<PartyLogo> {
    let kind = LogoKind::from_media_type(&media_type)
        .ok_or_else(|| StoreError::Corrupt(format!("le logo de la partie n° {party_id} a un type inconnu")))?;
    if sha256_hex(&content) != sha256 {
        return Err(StoreError::Corrupt(format!(
            "le logo de la partie n° {party_id} ne correspond plus à son empreinte"
        )));
    }
    Ok(PartyLogo { party_id, kind, sha256, content })
}

impl Store {
    /// Sets (or replaces) the logo of a party of the convention, after checking it.
    pub async fn set_party_logo(
        &self,
        actor: &Actor,
        convention_id: i64,
        party_id: i64,
        name: &str,
        bytes: &[u8],
    ) -> Result<()> {
        let today = Utc::now().date_naive();
        let max = self.parameter(MAX_LOGO_PARAMETER, DEFAULT_MAX_LOGO_BYTES).await?.on(today);
        let kind = check(name, bytes, max).map_err(StoreError::Invalid)?;
        let detail = self.convention(convention_id).await?;
        let party = detail
            .parties
            .iter()
            .find(|p| p.id == party_id)
            .ok_or_else(|| StoreError::NotFound(format!("la partie n° {party_id} de cette convention")))?;
        let organisation = party.party.organisation.name.clone();
        let hash = sha256_hex(bytes);
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let before: Option<(String,)> = sqlx::query_as("SELECT sha256 FROM party_logo WHERE party_id = $1")
                .bind(party_id)
                .fetch_optional(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM party_logo WHERE party_id = $1").bind(party_id).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO party_logo (party_id, convention_id, media_type, size_bytes, sha256, content, uploaded_by, \
                 uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(party_id)
            .bind(convention_id)
            .bind(kind.media_type())
            .bind(bytes.len() as i64)
            .bind(&hash)
            .bind(bytes)
            .bind(&actor.label)
            .bind(Utc::now())
            .execute(&mut *tx)
            .await?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "logo",
                object_id: party_id.to_string(),
                object_label: format!("logo de {organisation}"),
                action: if before.is_some() { "modification" } else { "creation" },
                before: before.map(|(h,)| json!({"sha256": h})),
                after: Some(json!({"type": kind.media_type(), "taille": bytes.len(), "sha256": hash})),
                actor,
            });
            tx.commit().await?;
            Ok(())
        })
    }

    /// Removes the logo of a party; removing an absent logo is a clear error.
    pub async fn remove_party_logo(&self, actor: &Actor, convention_id: i64, party_id: i64) -> Result<()> {
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let before: Option<(String,)> =
                sqlx::query_as("SELECT sha256 FROM party_logo WHERE party_id = $1 AND convention_id = $2")
                    .bind(party_id)
                    .bind(convention_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((hash,)) = before else {
                return Err(StoreError::NotFound(format!("le logo de la partie n° {party_id} de cette convention")));
            };
            sqlx::query("DELETE FROM party_logo WHERE party_id = $1").bind(party_id).execute(&mut *tx).await?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "logo",
                object_id: party_id.to_string(),
                object_label: format!("logo de la partie n° {party_id}"),
                action: "suppression",
                before: Some(json!({"sha256": hash})),
                after: None,
                actor,
            });
            tx.commit().await?;
            Ok(())
        })
    }

    /// The logos of a convention's parties, in the order of the parties.
    pub async fn party_logos(&self, convention_id: i64) -> Result<Vec<PartyLogo>> {
        let rows: Vec<Row> = with_db!(self, pool => {
            sqlx::query_as(
                "SELECT l.party_id, l.media_type, l.sha256, l.content FROM party_logo l JOIN party p ON p.id = l.party_id \
                 WHERE l.convention_id = $1 ORDER BY p.position, p.id",
            )
            .bind(convention_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(logo).collect()
    }

    /// The parties of a convention that have a logo, in the order of the parties: what a page needs
    /// to link to them, without reading the images.
    pub async fn parties_with_logo(&self, convention_id: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = with_db!(self, pool => {
            sqlx::query_as(
                "SELECT l.party_id FROM party_logo l JOIN party p ON p.id = l.party_id \
                 WHERE l.convention_id = $1 ORDER BY p.position, p.id",
            )
            .bind(convention_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// The logo of one party, if it has one.
    pub async fn party_logo(&self, convention_id: i64, party_id: i64) -> Result<Option<PartyLogo>> {
        let row: Option<Row> = with_db!(self, pool => {
            sqlx::query_as(
                "SELECT party_id, media_type, sha256, content FROM party_logo WHERE convention_id = $1 AND party_id = $2",
            )
            .bind(convention_id)
            .bind(party_id)
            .fetch_optional(pool)
            .await?
        });
        row.map(logo).transpose()
    }
}
