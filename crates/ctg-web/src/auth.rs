//! Who is asking (session cookie or API token), what they may do (through
//! [`ctg_domain::access::decide`], the one place that decides rights), and CSRF protection.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum_extra::extract::cookie::{Cookie, SameSite};
use chrono::{Duration, Utc};
use ctg_domain::access::{decide, Action, ConventionContext, Decision, Principal};
use ctg_domain::{Actor, Channel};
use ctg_store::User;

use crate::{ApiError, AppState, WebError};

/// The session cookie: a random secret whose digest names the session row.
pub const SESSION_COOKIE: &str = "ctg_session";
/// The login form's CSRF cookie (double submit), before any session exists.
pub const LOGIN_CSRF_COOKIE: &str = "ctg_csrf";
/// The header that carries the CSRF token of a session on API writes made with the session cookie.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How sessions behave.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Mark cookies `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    /// A session ends after this long without a request.
    pub idle: Duration,
    /// A session ends this long after login, whatever happens.
    pub absolute: Duration,
    /// Take the client's address from `X-Forwarded-For` (behind a reverse proxy).
    pub trust_proxy: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self { secure_cookies: false, idle: Duration::minutes(30), absolute: Duration::hours(12), trust_proxy: false }
    }
}

impl AuthConfig {
    /// A cookie for the browser session only (no expiry date): HttpOnly, SameSite=Lax, Secure
    /// when configured.
    pub fn cookie<'c>(&self, name: &'c str, value: String) -> Cookie<'c> {
        Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure_cookies)
            .build()
    }

    /// A cookie that tells the browser to forget `name`.
    pub fn removal<'c>(&self, name: &'c str) -> Cookie<'c> {
        let mut c = self.cookie(name, String::new());
        c.make_removal();
        c
    }
}

/// The person behind a request, if any.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    pub user: Option<User>,
    /// False for a read-only API token.
    pub can_write: bool,
    /// Authenticated by an API token (no CSRF needed: the browser never sends it on its own).
    pub via_token: bool,
    /// The CSRF token of the session.
    pub csrf: Option<String>,
    pub session_secret: Option<String>,
    /// The client's address, for login throttling.
    pub address: String,
    /// What the guard of the route read about the convention of the path (its publication, this
    /// person's role in it, its title for the workspace navigation), so that the handler's own
    /// decisions do not read it again.
    convention: Option<(i64, ConventionContext, String)>,
    /// The path of the request, to mark the current page in the navigation.
    pub path: String,
    /// The confirmation left by the write that redirected here (see [`crate::flash`]).
    pub flash: Option<String>,
}

impl Auth {
    /// The convention of the path, as the guard read it: its id, context and title.
    pub fn convention(&self) -> Option<(i64, ConventionContext, &str)> {
        self.convention.as_ref().map(|(id, c, t)| (*id, *c, t.as_str()))
    }

    /// Whether this person may read what `action` covers on the convention of the path (for
    /// links; handlers decide again).
    pub fn may_here(&self, action: Action) -> bool {
        self.convention.as_ref().is_some_and(|(_, context, _)| {
            !self.user.as_ref().is_some_and(|u| u.must_change_password)
                && decide(self.principal().as_ref(), action, *context, false).is_allowed()
        })
    }

    pub fn principal(&self) -> Option<Principal> {
        self.user.as_ref().map(|u| u.principal(self.can_write))
    }

    /// How a change made by this request is recorded in the audit trail.
    pub fn actor(&self, channel: Channel) -> Actor {
        match &self.user {
            Some(u) => u.actor(if self.via_token { Channel::Api } else { channel }),
            None => Actor { user_id: None, label: "anonyme".into(), channel },
        }
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn client_address(parts: &Parts, trust_proxy: bool) -> String {
    if trust_proxy {
        if let Some(forwarded) = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
            // The last address is the one our own proxy appended; earlier ones come from the client.
            if let Some(last) = forwarded.rsplit(',').next().map(str::trim).filter(|s| !s.is_empty()) {
                return last.to_owned();
            }
        }
    }
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_else(|| "inconnue".into())
}

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| Cookie::parse(pair.trim().to_owned()).ok())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // Resolved once by the guard of the route table.
        if let Some(auth) = parts.extensions.get::<Self>() {
            return Ok(auth.clone());
        }
        let address = client_address(parts, state.auth.trust_proxy);
        let path = parts.uri.path().to_owned();
        let flash = crate::flash::read(&parts.headers);
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let secret =
                value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).map(str::trim).ok_or_else(|| {
                    WebError::Unauthorized("en-tête Authorization invalide : « Bearer JETON » attendu".into())
                })?;
            let (user, can_write) = state
                .store
                .token_owner(secret)
                .await?
                .ok_or_else(|| WebError::Unauthorized("jeton d'API inconnu ou révoqué".into()))?;
            return Ok(Self {
                user: Some(user),
                can_write,
                via_token: true,
                csrf: None,
                session_secret: None,
                address,
                convention: None,
                path,
                flash,
            });
        }
        if let Some(secret) = cookie_value(&parts.headers, SESSION_COOKIE) {
            if let Some(session) = state.store.session(&secret, Utc::now(), state.auth.idle).await? {
                return Ok(Self {
                    user: Some(session.user),
                    can_write: true,
                    via_token: false,
                    csrf: Some(session.csrf_token),
                    session_secret: Some(secret),
                    address,
                    convention: None,
                    path,
                    flash,
                });
            }
        }
        Ok(Self { address, path, flash, ..Self::default() })
    }
}

impl AppState {
    /// Decides whether `auth` may read what `action` covers, on the convention `convention` if any.
    pub async fn authorize(&self, auth: &Auth, action: Action, convention: Option<i64>) -> Result<(), WebError> {
        self.decide(auth, action, convention, false).await
    }

    /// Decides whether `auth` may change what `action` covers.
    pub async fn authorize_write(&self, auth: &Auth, action: Action, convention: Option<i64>) -> Result<(), WebError> {
        self.decide(auth, action, convention, true).await
    }

    /// Whether convention `id` is published and the role `auth` has in it: read once per request
    /// (by the guard of the route, see [`AppState::remember_convention`]), then reused.
    async fn convention_context(&self, auth: &Auth, id: i64) -> Result<ConventionContext, WebError> {
        if let Some((cached, context, _)) = &auth.convention {
            if *cached == id {
                return Ok(*context);
            }
        }
        let (published, _, role) = self.store.convention_access(id, auth.user.as_ref().map(|u| u.id)).await?;
        Ok(ConventionContext { published, role })
    }

    /// Reads the context of convention `id` into `auth`, for the decisions of the rest of the
    /// request.
    pub(crate) async fn remember_convention(&self, auth: &mut Auth, id: i64) -> Result<(), WebError> {
        let (published, title, role) = self.store.convention_access(id, auth.user.as_ref().map(|u| u.id)).await?;
        auth.convention = Some((id, ConventionContext { published, role }, title));
        Ok(())
    }

    /// A user who must change their password may do nothing else first.
    pub(crate) async fn decide(
        &self,
        auth: &Auth,
        action: Action,
        convention: Option<i64>,
        write: bool,
    ) -> Result<(), WebError> {
        let context = match convention {
            Some(id) => self.convention_context(auth, id).await?,
            None => ConventionContext::default(),
        };
        if auth.user.as_ref().is_some_and(|u| u.must_change_password) && action != Action::OwnAccount && !auth.via_token
        {
            return Err(WebError::MustChangePassword);
        }
        match decide(auth.principal().as_ref(), action, context, write) {
            Decision::Allow => Ok(()),
            Decision::LoginRequired => Err(WebError::LoginRequired),
            Decision::Deny(why) => Err(WebError::Forbidden(why.into())),
        }
    }

    /// Whether `auth` may read the personal data of convention `id` (names of members and post
    /// holders, attendance, minutes, documents, who changed a status): the people with a role in
    /// it, and the administrators. The one home of this rule: pages and API both ask it.
    pub async fn sees_personal_data(&self, auth: &Auth, id: i64) -> bool {
        self.may(auth, Action::ViewDocuments, Some(id)).await
    }

    /// The conventions `auth` may see, in the store's order: the same decision as
    /// [`AppState::authorize`] with [`Action::ViewConvention`], taken for all of them from two queries
    /// (the summaries and the person's roles) instead of two per convention.
    pub async fn visible_conventions(&self, auth: &Auth) -> Result<Vec<ctg_store::ConventionSummary>, WebError> {
        Ok(self.visible_conventions_and_roles(auth).await?.0)
    }

    /// [`AppState::visible_conventions`], with the roles of the person by convention.
    pub async fn visible_conventions_and_roles(
        &self,
        auth: &Auth,
    ) -> Result<(Vec<ctg_store::ConventionSummary>, std::collections::HashMap<i64, ctg_domain::access::Role>), WebError>
    {
        let must_change = auth.user.as_ref().is_some_and(|u| u.must_change_password) && !auth.via_token;
        let principal = auth.principal();
        // An administrator may see them all; anyone else, at most the published ones and those of
        // their roles (the decision below is still the one rule).
        let (candidates, roles) = match &auth.user {
            Some(u) if u.is_admin => (self.store.conventions().await?, self.store.roles_of(u.id).await?),
            Some(u) => self.store.conventions_of_user_or_published(u.id).await?,
            None => (self.store.conventions_published_or(&[]).await?, std::collections::HashMap::new()),
        };
        let visible = candidates
            .into_iter()
            .filter(|c| {
                let context = ConventionContext { published: c.published, role: roles.get(&c.id).copied() };
                !must_change && decide(principal.as_ref(), Action::ViewConvention, context, false) == Decision::Allow
            })
            .collect();
        Ok((visible, roles))
    }

    /// Whether `auth` may do `action` (for showing or hiding links; the handler decides again).
    pub async fn may(&self, auth: &Auth, action: Action, convention: Option<i64>) -> bool {
        self.authorize(auth, action, convention).await.is_ok()
    }
}
