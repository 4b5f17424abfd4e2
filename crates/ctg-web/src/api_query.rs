//! The query string of an API request. A bad one (a parameter given twice, a number that is not
//! one) is answered like every other API error: `400` with `{"error": …}` in JSON and in French,
//! where axum's `Query` would answer in plain English text, which the OpenAPI document does not
//! describe.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::{ApiError, WebError};

/// Like [`axum::extract::Query`], rejected with an [`ApiError`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        read(parts, state).await.map(Self).map_err(ApiError)
    }
}

/// « Failed to deserialize query string: annee: invalid digit found in string » →
/// « annee : nombre entier attendu ».
/// The query string of a page; a bad one is a French 400 page (the API has [`ApiQuery`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct PageQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for PageQuery<T> {
    type Rejection = crate::PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        read(parts, state).await.map(Self).map_err(crate::PageError)
    }
}

/// The query string as `T`, or a 400 whose message says in French what is wrong.
async fn read<T: DeserializeOwned, S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<T, WebError> {
    match Query::<T>::from_request_parts(parts, state).await {
        Ok(Query(value)) => Ok(value),
        Err(e) => Err(WebError::BadRequest(format!(
            "paramètres de l'adresse invalides : {}",
            french_query_message(&e.body_text())
        ))),
    }
}

fn french_query_message(text: &str) -> String {
    let detail = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(text);
    let (field, message) = match detail.split_once(": ") {
        Some((field, message)) if !field.contains(' ') => (Some(field), message),
        _ => (None, detail),
    };
    let message = if let Some(name) = message.strip_prefix("duplicate field ") {
        format!("paramètre « {} » donné plusieurs fois", name.trim_matches('`'))
    } else {
        match message {
            "invalid digit found in string" | "cannot parse integer from empty string" => {
                "nombre entier attendu".to_owned()
            }
            "number too large to fit in target type" => "nombre trop grand".to_owned(),
            "number too small to fit in target type" => "nombre trop petit".to_owned(),
            other => ctg_domain::format::french_serde_message(other),
        }
    };
    match field {
        Some(field) => format!("{field} : {message}"),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::french_query_message as m;

    #[test]
    fn query_errors_in_french() {
        assert_eq!(
            m("Failed to deserialize query string: duplicate field `annee`"),
            "paramètre « annee » donné plusieurs fois"
        );
        assert_eq!(
            m("Failed to deserialize query string: a: number too large to fit in target type"),
            "a : nombre trop grand"
        );
        assert_eq!(
            m("Failed to deserialize query string: de: invalid digit found in string"),
            "de : nombre entier attendu"
        );
    }
}
