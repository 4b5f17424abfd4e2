//! One error type for the web surface, rendered as JSON for the API and as a French page for
//! browsers, from the same variants.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use ctg_store::StoreError;
use serde::Serialize;
use utoipa::{ToResponse, ToSchema};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    /// No valid credentials: pages send the browser to the login page, the API answers 401.
    #[error("connexion requise")]
    LoginRequired,
    /// Credentials given but not valid (an unknown API token).
    #[error("{0}")]
    Unauthorized(String),
    /// The user must first replace a password given by someone else.
    #[error("changez d'abord votre mot de passe (page « Mon compte »)")]
    MustChangePassword,
    #[error("{0}")]
    Forbidden(String),
    /// Saving from a stale version.
    #[error("{0}")]
    Conflict(String),
    /// A body over the size accepted by the route.
    #[error("{0}")]
    PayloadTooLarge(String),

    /// Something went wrong on our side: logged with its cause, shown as a plain message.
    #[error("erreur interne")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::LoginRequired | Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::MustChangePassword | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not_found",
            Self::BadRequest(_) => "bad_request",
            Self::LoginRequired | Self::Unauthorized(_) => "unauthorized",
            Self::MustChangePassword => "password_change_required",
            Self::Forbidden(_) => "forbidden",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::Internal(_) => "internal",
        }
    }

    /// What the user reads. For internal errors, never the cause: it is logged instead.
    fn public_message(&self) -> String {
        match self {
            Self::NotFound(m)
            | Self::BadRequest(m)
            | Self::Unauthorized(m)
            | Self::Forbidden(m)
            | Self::Conflict(m)
            | Self::PayloadTooLarge(m) => capitalise(m),
            Self::LoginRequired => {
                "Connexion requise : connectez-vous, ou envoyez un jeton d'API (Authorization: Bearer …).".into()
            }
            Self::MustChangePassword => capitalise(&self.to_string()),
            Self::Internal(cause) => {
                let mut chain = cause.to_string();
                let mut source = cause.source();
                while let Some(s) = source {
                    chain.push_str(" : ");
                    chain.push_str(&s.to_string());
                    source = s.source();
                }
                tracing::error!(error = %chain, "internal error");
                "Une erreur interne est survenue. Elle a été enregistrée ; réessayez dans quelques instants.".to_owned()
            }
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            e @ StoreError::NotFound(_) => Self::NotFound(e.to_string()),
            StoreError::Invalid(m) => Self::BadRequest(m),
            e @ StoreError::UnknownCommunes(_) => Self::BadRequest(e.to_string()),
            StoreError::Stale { what, last_change } => Self::Conflict(stale_message(&what, last_change.as_deref())),
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(Box::new(e))
    }
}

/// « Modification concurrente de la convention « X » par Jeanne Martin le 27/11/2026 à 23 h 40, après
/// l'ouverture de votre formulaire ; rien n'a été enregistré »
pub fn stale_message(what: &str, last: Option<&ctg_store::AuditEntry>) -> String {
    // Neutral wording: `what` may be masculine (l'équipement) or feminine (la convention); « de le »
    // and « de les » contract.
    let of_what = if let Some(rest) = what.strip_prefix("le ") {
        format!("du {rest}")
    } else if let Some(rest) = what.strip_prefix("les ") {
        format!("des {rest}")
    } else {
        format!("de {what}")
    };
    match last {
        Some(e) => format!(
            "Modification concurrente {of_what} par {} le {}, après l'ouverture de votre formulaire ; rien n'a été enregistré",
            e.actor_label,
            ctg_domain::format::datetime_short(e.at)
        ),
        None => format!("Modification concurrente {of_what} après l'ouverture de votre formulaire ; rien n'a été enregistré"),
    }
}

// The body of every API error. The doc comments of schemas are the descriptions of the OpenAPI
// document, for its readers: in French.
/// Le corps de toute erreur de l'API : `{"error": {"code": "not_found", "message": "…"}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Un code stable : `not_found`, `bad_request`, `unauthorized`, `password_change_required`,
    /// `forbidden`, `conflict`, `payload_too_large` ou `internal`.
    pub code: String,
    /// Le message, en français, pour les personnes.
    pub message: String,
}

/// The error responses of the API as the OpenAPI document describes them, each once, for the
/// `#[utoipa::path]` attributes to use as `response = inline(crate::error::NotFound)`. They are
/// never built: `ApiError` renders every error.
#[derive(Debug, ToResponse)]
#[response(
    description = "Demande invalide : corps JSON mal formé ou contraire au schéma, paramètre ou valeur refusés (le message dit lequel)"
)]
pub struct BadRequest(#[allow(dead_code)] ErrorBody);

#[derive(Debug, ToResponse)]
#[response(
    description = "Authentification requise : aucun compte pour une donnée qui en demande un, jeton d'API inconnu ou révoqué, ou en-tête Authorization qui n'est pas « Bearer … »"
)]
pub struct Unauthorized(#[allow(dead_code)] ErrorBody);

#[derive(Debug, ToResponse)]
#[response(
    description = "Refusé : le compte n'a pas ce droit dans cette convention, le jeton est en lecture seule, l'en-tête X-CSRF-Token manque ou est faux (écriture avec le cookie de session), ou le mot de passe doit d'abord être changé"
)]
pub struct Forbidden(#[allow(dead_code)] ErrorBody);

#[derive(Debug, ToResponse)]
#[response(description = "Introuvable : la convention, ou un objet nommé dans l'adresse, n'existe pas")]
pub struct NotFound(#[allow(dead_code)] ErrorBody);

#[derive(Debug, ToResponse)]
#[response(
    description = "Version dépassée : quelqu'un d'autre a modifié l'objet depuis sa lecture ; rien n'a été enregistré"
)]
pub struct Conflict(#[allow(dead_code)] ErrorBody);

/// An error rendered as JSON.
#[derive(Debug)]
pub struct ApiError(pub WebError);

impl<E: Into<WebError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            ErrorBody { error: ErrorDetail { code: self.0.code().to_owned(), message: self.0.public_message() } };
        (self.0.status(), Json(body)).into_response()
    }
}

/// An error found before a handler runs (by the guard of the route table or by an extractor),
/// rendered as JSON for the API and as a page otherwise.
#[derive(Debug)]
pub struct Rejection {
    pub error: WebError,
    pub api: bool,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        if self.api {
            ApiError(self.error).into_response()
        } else {
            PageError(self.error).into_response()
        }
    }
}

/// An error rendered as a French HTML page.
#[derive(Debug)]
pub struct PageError(pub WebError);

impl<E: Into<WebError>> From<E> for PageError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    nav: crate::views::Nav,
    title: &'static str,
    message: String,
}

/// Marks a page response that must become a redirection to the login page, once the request's
/// address is known (see `login_redirect` in lib.rs).
#[derive(Debug, Clone, Copy)]
pub struct RedirectToLogin;

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match &self.0 {
            WebError::LoginRequired => {
                let mut r = StatusCode::UNAUTHORIZED.into_response();
                r.extensions_mut().insert(RedirectToLogin);
                return r;
            }
            WebError::MustChangePassword => {
                return axum::response::Redirect::to("/compte?changer=1").into_response();
            }
            _ => {}
        }
        let status = self.0.status();
        let page = ErrorPage {
            nav: crate::views::Nav::default(),
            title: match status {
                StatusCode::NOT_FOUND => "Page introuvable",
                StatusCode::BAD_REQUEST => "Demande invalide",
                StatusCode::FORBIDDEN => "Accès refusé",
                StatusCode::CONFLICT => "Modification concurrente",
                StatusCode::PAYLOAD_TOO_LARGE => "Envoi trop volumineux",
                StatusCode::TOO_MANY_REQUESTS => "Trop de tentatives",
                StatusCode::UNAUTHORIZED => "Connexion requise",
                _ => "Erreur interne",
            },
            message: self.0.public_message(),
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "the error page could not be rendered");
                (status, "Erreur").into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn conflict_messages_contract_de_le() {
        let m = |w: &str| super::stale_message(w, None);
        assert!(m("le membre « Paul »").starts_with("Modification concurrente du membre « Paul »"));
        assert!(m("la convention « X »").starts_with("Modification concurrente de la convention « X »"));
        assert!(m("l'équipement « Y »").starts_with("Modification concurrente de l'équipement « Y »"));
    }
}
