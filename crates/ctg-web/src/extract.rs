//! Typed extractors for what every handler opens with: the ids of its path, its form or JSON body,
//! and the `version` field of an edit. Their rejections are already our French errors, rendered as
//! a page or as JSON depending on the request's path.

use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, RawPathParams, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::error::Rejection;
use crate::WebError;

/// Parses a convention id from a path; anything but a positive integer is an unknown convention.
pub fn convention_id(raw: &str) -> Result<i64, WebError> {
    parse_id(raw, "la convention")
}

/// A positive id from a path (a fiche, a facility, a party…), or « … n'existe pas » (404).
pub fn parse_id(raw: &str, what: &str) -> Result<i64, WebError> {
    raw.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| WebError::NotFound(format!("{what} « {raw} » n'existe pas")))
}

/// What an id parameter of a path names, for the message of an unknown one; `None` for the
/// parameters that are not ids (a strategy level, a text key, a SIREN).
fn id_noun(param: &str) -> Option<&'static str> {
    Some(match param {
        "id" => "la convention",
        "fiche" => "la fiche",
        "sub" => "la sous-action",
        "indicator" | "indicateur" => "l'indicateur",
        "facility" | "equipement" => "l'équipement",
        "party" | "partie" => "la partie",
        "avenant" => "l'avenant",
        "notice" | "mise_en_demeure" => "la mise en demeure",
        "agreement" | "accord" => "l'accord",
        "document" => "le document",
        "body" | "instance" => "l'instance",
        "member" => "le membre",
        "meeting" | "seance" => "la séance",
        "decision" => "la décision",
        "event" | "evenement" => "l'événement",
        "contribution" => "la contribution",
        "post" => "le poste",
        "commitment" | "engagement" => "l'engagement",
        "objective" | "objectif" => "l'objectif",
        "item" => "l'élément",
        "activity" => "le traitement",
        "user" => "le compte",
        "token" => "le jeton",
        _ => return None,
    })
}

fn is_api(parts: &Parts) -> bool {
    parts.uri.path().starts_with("/api/")
}

/// The parameters of the path, each id parsed as a positive integer; an id that is not one is an
/// unknown object (404, « la fiche « x » n'existe pas »). `T` is the tuple of the parameters in
/// their order (`i64` for ids, `String` for the others), or a single `i64`.
#[derive(Debug, Clone, Copy)]
pub struct Ids<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Ids<T> {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let api = is_api(parts);
        let fail = |error: WebError| Rejection { error, api };
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| fail(WebError::NotFound("cette adresse n'existe pas".into())))?;
        for (name, value) in raw.iter() {
            if let Some(noun) = id_noun(name) {
                parse_id(value, noun).map_err(fail)?;
            }
        }
        let Path(values) = Path::<T>::from_request_parts(parts, state)
            .await
            .map_err(|e| fail(WebError::NotFound(format!("cette adresse n'existe pas ({})", e.body_text()))))?;
        Ok(Self(values))
    }
}

/// A form body. A body that cannot be read is a 400 in French naming the field.
#[derive(Debug, Clone)]
pub struct PageForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for PageForm<T> {
    type Rejection = Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let api = req.uri().path().starts_with("/api/");
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(Self(value)),
            Err(e) => Err(Rejection { error: form_rejection(&e), api }),
        }
    }
}

/// The error of a body over the route's limit (413), whatever extractor read it.
pub fn too_large() -> WebError {
    WebError::PayloadTooLarge("l'envoi dépasse la taille acceptée pour cette adresse".into())
}

fn form_rejection(e: &FormRejection) -> WebError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    match e {
        FormRejection::InvalidFormContentType(_) => WebError::BadRequest(
            "formulaire attendu (type application/x-www-form-urlencoded) : l'envoi n'en est pas un".into(),
        ),
        FormRejection::FailedToDeserializeForm(_) | FormRejection::FailedToDeserializeFormBody(_) => {
            WebError::BadRequest(format!("formulaire invalide : {}", serde_detail(&e.body_text())))
        }
        other => WebError::BadRequest(format!("formulaire illisible : {}", other.body_text())),
    }
}

/// A JSON body of the API. A body that cannot be read is a 400 (JSON error) in French.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = crate::ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(e) => Err(crate::ApiError(json_rejection(&e))),
        }
    }
}

/// The French message of an unreadable JSON body.
pub fn json_rejection(e: &JsonRejection) -> WebError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    if let JsonRejection::MissingJsonContentType(_) = e {
        return WebError::BadRequest("corps JSON attendu : l'en-tête Content-Type doit être application/json".into());
    }
    WebError::BadRequest(format!("corps JSON invalide : {}", serde_detail(&e.body_text())))
}

/// The part of an axum rejection text that serde wrote (« Failed to deserialize …: <serde message>
/// at line… »), in French.
fn serde_detail(text: &str) -> String {
    let detail = text.rsplit(": ").next().unwrap_or(text);
    let detail = detail.split(" at line ").next().unwrap_or(detail);
    ctg_domain::format::french_serde_message(detail)
}

/// The version of an object as read by the person who edits it, sent back with the edit (form
/// field or JSON member `version`). A value that is not a positive integer is a bad request naming
/// the field, not a concurrent edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version(pub i64);

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(i64),
            Text(String),
        }
        let bad = |shown: String| {
            serde::de::Error::custom(format!(
                "le champ « version » doit être le numéro de version entier et positif lu avec l'objet (reçu « {shown} »)"
            ))
        };
        match Raw::deserialize(d).map_err(|_| bad("?".into()))? {
            Raw::Number(n) if n > 0 => Ok(Self(n)),
            Raw::Number(n) => Err(bad(n.to_string())),
            Raw::Text(t) => match t.trim().parse::<i64>() {
                Ok(n) if n > 0 => Ok(Self(n)),
                _ => Err(bad(t)),
            },
        }
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

impl Version {
    /// The `version` field of a form, as typed: a positive integer, or a 400 naming the field.
    pub fn parse(raw: &str) -> Result<i64, WebError> {
        match raw.trim().parse::<i64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(WebError::BadRequest(format!(
                "le champ « version » doit être le numéro de version entier et positif lu avec l'objet (reçu « {} ») : rechargez la page et recommencez",
                raw.trim()
            ))),
        }
    }
}

impl utoipa::PartialSchema for Version {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <i64 as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for Version {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Edit {
        version: Version,
    }

    #[test]
    fn a_bad_version_names_the_field() {
        let form: Result<Edit, _> = serde_urlencoded::from_str("version=abc");
        let message = form.unwrap_err().to_string();
        assert!(message.contains("« version »") && message.contains("« abc »"), "{message}");
        let json: Result<Edit, _> = serde_json::from_str(r#"{"version": -3}"#);
        assert!(json.unwrap_err().to_string().contains("« -3 »"));
        let ok: Edit = serde_urlencoded::from_str("version=12").unwrap();
        assert_eq!(ok.version, Version(12));
        let ok: Edit = serde_json::from_str(r#"{"version": 4}"#).unwrap();
        assert_eq!(ok.version, Version(4));
    }

    #[test]
    fn ids_have_french_nouns() {
        assert_eq!(parse_id("0", "la fiche").unwrap_err().to_string(), "la fiche « 0 » n'existe pas");
        assert!(id_noun("level").is_none());
        assert_eq!(convention_id("7").unwrap(), 7);
    }
}
