//! Documents attached to fiches, meetings and avenants: their content is checked (type and size),
//! hashed (SHA-256) and kept in the database.

use chrono::{DateTime, Utc};
use ctg_domain::documents::{clean_name, detect, Owner, DEFAULT_MAX_DOCUMENT_BYTES};
use ctg_domain::Actor;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::audit::{record, Change};
use crate::{with_db, Result, Store, StoreError};

/// The dated parameter that holds the largest document accepted, in bytes.
pub const MAX_DOCUMENT_PARAMETER: &str = "taille_max_document";

/// A document without its content.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DocumentInfo {
    pub id: i64,
    pub convention_id: i64,
    pub owner_kind: String,
    pub owner_id: i64,
    pub name: String,
    pub media_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
}

const INFO_COLUMNS: &str =
    "id, convention_id, owner_kind, owner_id, name, media_type, size_bytes, sha256, uploaded_by, uploaded_at";

/// The SHA-256 of some bytes, in lower-case hexadecimal.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    /// Keeps a document for `owner` (which the caller has checked belongs to the convention). The
    /// same content attached twice to the same owner is kept once: its id is returned.
    pub async fn add_document(
        &self,
        actor: &Actor,
        convention_id: i64,
        owner: Owner,
        name: &str,
        bytes: &[u8],
    ) -> Result<i64> {
        let today = Utc::now().date_naive();
        let max = self.parameter(MAX_DOCUMENT_PARAMETER, DEFAULT_MAX_DOCUMENT_BYTES).await?.on(today);
        let name = clean_name(name);
        let kind = detect(&name, bytes, max).map_err(StoreError::Invalid)?;
        let hash = sha256_hex(bytes);
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let existing: Option<(i64,)> = sqlx::query_as(
                "SELECT id FROM document WHERE owner_kind = $1 AND owner_id = $2 AND sha256 = $3",
            )
            .bind(owner.kind())
            .bind(owner.id())
            .bind(&hash)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((id,)) = existing {
                return Ok(id);
            }
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO document (convention_id, owner_kind, owner_id, name, media_type, size_bytes, sha256, content, \
                 uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            )
            .bind(convention_id)
            .bind(owner.kind())
            .bind(owner.id())
            .bind(&name)
            .bind(kind.media_type())
            .bind(bytes.len() as i64)
            .bind(&hash)
            .bind(bytes)
            .bind(&actor.label)
            .bind(Utc::now())
            .fetch_one(&mut *tx)
            .await?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "document",
                object_id: id.to_string(),
                object_label: name.clone(),
                action: "creation",
                before: None,
                after: Some(json!({"rattache_a": owner.kind(), "numero": owner.id(), "type": kind.media_type(), "taille": bytes.len(), "sha256": hash})),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// The documents of an owner, newest first.
    pub async fn documents(&self, convention_id: i64, owner: Owner) -> Result<Vec<DocumentInfo>> {
        with_db!(self, pool => {
            Ok(sqlx::query_as(&format!(
                "SELECT {INFO_COLUMNS} FROM document WHERE convention_id = $1 AND owner_kind = $2 AND owner_id = $3 ORDER BY uploaded_at DESC, id DESC"
            ))
            .bind(convention_id)
            .bind(owner.kind())
            .bind(owner.id())
            .fetch_all(pool)
            .await?)
        })
    }

    /// A document and its content; its hash is checked against the content read.
    pub async fn document(&self, convention_id: i64, id: i64) -> Result<(DocumentInfo, Vec<u8>)> {
        let found: Option<(DocumentInfo, Vec<u8>)> = with_db!(self, pool => {
            let info: Option<DocumentInfo> = sqlx::query_as(&format!(
                "SELECT {INFO_COLUMNS} FROM document WHERE convention_id = $1 AND id = $2"
            ))
            .bind(convention_id)
            .bind(id)
            .fetch_optional(pool)
            .await?;
            match info {
                None => None,
                Some(info) => {
                    let (content,): (Vec<u8>,) = sqlx::query_as("SELECT content FROM document WHERE id = $1")
                        .bind(id)
                        .fetch_one(pool)
                        .await?;
                    Some((info, content))
                }
            }
        });
        let (info, content) =
            found.ok_or_else(|| StoreError::NotFound(format!("le document n° {id} de cette convention")))?;
        if sha256_hex(&content) != info.sha256 {
            return Err(StoreError::Corrupt(format!(
                "le contenu du document n° {id} ne correspond plus à son empreinte"
            )));
        }
        Ok((info, content))
    }
}
