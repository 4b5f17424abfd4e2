//! Confirmations after a write: the handler redirects with [`redirect`], which leaves the message
//! in a short-lived cookie; the next page shows it in a live region (`role="status"`, see
//! `base.html`) and the [`clear`] layer forgets it once a page has been served.

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite};
use base64::Engine;

/// The cookie that carries the confirmation of the last write to the next page.
pub const FLASH_COOKIE: &str = "ctg_flash";

const ENGINE: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A redirection (303) to `to` that shows `message` on the page it leads to.
pub fn redirect(to: &str, message: impl AsRef<str>) -> Response {
    let value = ENGINE.encode(message.as_ref().as_bytes());
    let cookie = Cookie::build((FLASH_COOKIE, value)).path("/").http_only(true).same_site(SameSite::Lax).build();
    let mut response = Redirect::to(to).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// The confirmation waiting in the request's cookies, if any.
pub fn read(headers: &HeaderMap) -> Option<String> {
    let raw = crate::auth::cookie_value(headers, FLASH_COOKIE)?;
    let bytes = ENGINE.decode(raw.as_bytes()).ok()?;
    String::from_utf8(bytes).ok().filter(|s| !s.is_empty() && s.chars().count() <= 300)
}

/// Forgets the confirmation once a page (anything but a redirection) has been answered.
pub async fn clear(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let had = crate::auth::cookie_value(request.headers(), FLASH_COOKIE).is_some();
    let mut response = next.run(request).await;
    if had && !response.status().is_redirection() {
        let mut removal = Cookie::build((FLASH_COOKIE, "")).path("/").build();
        removal.make_removal();
        if let Ok(v) = HeaderValue::from_str(&removal.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}
