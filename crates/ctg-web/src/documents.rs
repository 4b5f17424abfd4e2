//! Documents on pages: attaching a file to a fiche (a meeting, an avenant), and serving it back only
//! to the people entitled to it.

use axum::extract::{Multipart, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use ctg_domain::access::Action;
use ctg_domain::documents::Owner;
use ctg_domain::Channel;
use ctg_store::{DocumentInfo, StoreError};

use crate::auth::Auth;
use crate::extract::Ids;
use crate::{AppState, PageError, WebError};

/// Largest upload accepted on the documents route (the document's own limit is a dated parameter,
/// checked by the store).
pub const DOCUMENT_BODY_LIMIT: usize = 24 * 1024 * 1024;

/// A document as listed on a page.
#[derive(Debug, Clone)]
pub(crate) struct DocumentLine {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub size: String,
    pub hash: String,
    pub by: String,
    pub at: String,
}

impl DocumentLine {
    pub fn of(d: &DocumentInfo) -> Self {
        Self {
            id: d.id,
            name: d.name.clone(),
            kind: d.media_type.split(';').next().unwrap_or_default().to_owned(),
            size: if d.size_bytes < 1024 {
                format!("{} o", d.size_bytes)
            } else {
                format!("{} Kio", ctg_domain::format::integer(d.size_bytes / 1024))
            },
            hash: d.sha256[..12].to_owned(),
            by: d.uploaded_by.clone(),
            at: ctg_domain::format::datetime_short(d.uploaded_at),
        }
    }
}

/// Reads the `fichier` field of a multipart form: its name (`default_name` when the browser gives
/// none) and its bytes; `missing` is the message when no file was chosen. (The form's CSRF token
/// was checked by the guard of the route table.)
pub(crate) async fn read_upload(
    mut multipart: Multipart,
    default_name: &str,
    missing: &str,
) -> Result<(String, Vec<u8>), WebError> {
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| WebError::BadRequest(format!("envoi illisible : {}", e.body_text())))?
    {
        if field.name() == Some("fichier") {
            let name = field.file_name().unwrap_or(default_name).to_owned();
            let bytes = field
                .bytes()
                .await
                .map_err(|e| WebError::BadRequest(format!("fichier illisible ou trop gros : {}", e.body_text())))?;
            file = Some((name, bytes.to_vec()));
        }
    }
    file.filter(|(_, b)| !b.is_empty()).ok_or_else(|| WebError::BadRequest(missing.into()))
}

/// Attaches a document to a fiche: its pilot's contributors and the coordination may.
pub async fn fiche_upload(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
    multipart: Multipart,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewDocuments, Some(id)).await?;
    let fiche = state.store.fiche(id, fid).await?;
    let pilot = state.store.organisation_named(&fiche.fiche.pilot_organisation).await.ok();
    state.authorize_write(&auth, Action::ReportFiche { pilot_organisation_id: pilot }, Some(id)).await?;
    let (name, bytes) = read_upload(multipart, "document", "choisissez un fichier").await?;
    match state.store.add_document(&auth.actor(Channel::Page), id, Owner::Fiche(fid), &name, &bytes).await {
        Ok(_) => Ok(crate::flash::redirect(
            &format!("/conventions/{id}/plan/fiches/{fid}#documents"),
            "Document joint à la fiche",
        )),
        Err(StoreError::Invalid(m)) => Err(WebError::BadRequest(m).into()),
        Err(e) => Err(WebError::from(e).into()),
    }
}

/// Serves a document to the people with a role in the convention (and the administrators).
pub async fn download(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, doc)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewDocuments, Some(id)).await?;
    let (info, content) = state.store.document(id, doc).await?;
    let ascii: String =
        info.name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_ ".contains(c) { c } else { '_' }).collect();
    let encoded = crate::export::urlencode(&info.name);
    Ok((
        [
            (header::CONTENT_TYPE, info.media_type.clone()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
            (header::HeaderName::from_static("x-content-sha256"), info.sha256),
        ],
        content,
    )
        .into_response())
}
