//! The web server: HTML pages in French, the JSON API under `/api/v1` and its OpenAPI document.
//!
//! A request flows: handler → `ctg-store` → domain values → domain computations → template or JSON.
//! Handlers keep no state of their own: everything lives in the database, so that several servers
//! can run behind one load balancer.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::NaiveDate;
use ctg_store::{StampedCache, Store};
use tower_http::set_header::SetResponseHeaderLayer;

mod accounts;
mod api_query;
mod api_reference;
pub mod auth;
mod convention;
mod dashboard;
mod documents;
mod error;
mod export;
pub mod extract;
pub mod flash;
mod funds;
mod governance;
mod life;
pub mod mail;
mod offer;
mod opendata;
mod pdf;
mod plan;
mod portfolio;
mod public;
pub mod routes;
mod sppe;
mod views;
mod workspace;

pub use auth::AuthConfig;
pub use error::{ApiError, PageError, WebError};
pub use views::MASKING_PARAMETER;

/// What every handler shares: the store, and the clock that says which day it is.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub auth: AuthConfig,
    /// How this server sends reminders by e-mail (nothing is sent without it).
    pub mail: Arc<mail::MailConfig>,
    today: Arc<dyn Fn() -> NaiveDate + Send + Sync>,
    /// Computed territory responses, each with the territory revision it was computed at: an entry
    /// serves only while that revision is the database's, so servers keep no state of their own.
    territory_cache: Arc<StampedCache<i64, i64, axum::body::Bytes>>,
    /// Portfolio lines, each with the day and the write stamp of its convention it was computed
    /// at (see [`portfolio`]): like the territory, valid only while the database says the same.
    portfolio_cache: Arc<StampedCache<i64, (NaiveDate, ctg_store::WriteStamp), portfolio::PortfolioLine>>,
    /// Plans with what is computed from them on a day (progress, lateness), at the write stamp of
    /// their convention: the fiche, plan and dashboard pages of a convention share one computation
    /// until the next write.
    plan_views: Arc<StampedCache<i64, (NaiveDate, ctg_store::WriteStamp), Arc<plan::PlanView>>>,
    /// The same for the outline of a plan (its tree), when the whole view is not in memory.
    plan_outlines: Arc<StampedCache<i64, (NaiveDate, ctg_store::WriteStamp), Arc<plan::PlanView>>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("store", &self.store).finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(store: Store) -> Self {
        Self::with_clock(store, Arc::new(|| chrono::Local::now().date_naive()))
    }

    /// A state whose clock always says `day`, for tests.
    pub fn with_today(store: Store, day: NaiveDate) -> Self {
        Self::with_clock(store, Arc::new(move || day))
    }

    fn with_clock(store: Store, today: Arc<dyn Fn() -> NaiveDate + Send + Sync>) -> Self {
        Self {
            store,
            auth: AuthConfig::default(),
            mail: Arc::default(),
            today,
            territory_cache: Arc::new(StampedCache::new(2_000)),
            portfolio_cache: Arc::new(StampedCache::new(5_000)),
            plan_views: Arc::new(StampedCache::new(64)),
            plan_outlines: Arc::new(StampedCache::new(64)),
        }
    }

    /// The cached territory response of a convention, if computed at `revision`.
    pub(crate) fn cached_territory(&self, id: i64, revision: i64) -> Option<axum::body::Bytes> {
        self.territory_cache.get(&id, &revision)
    }

    pub(crate) fn cache_territory(&self, id: i64, revision: i64, bytes: axum::body::Bytes) {
        self.territory_cache.put(id, revision, bytes);
    }

    pub fn with_auth(mut self, auth: AuthConfig) -> Self {
        self.auth = auth;
        self
    }

    pub fn with_mail(mut self, mail: mail::MailConfig) -> Self {
        self.mail = Arc::new(mail);
        self
    }

    pub fn today(&self) -> NaiveDate {
        (self.today)()
    }
}

const STYLE_CSS: &str = include_str!("../static/style.css");

/// The platform's router: every route of [`routes::route_table`], behind its guard, then the
/// headers every answer carries.
pub fn router(state: AppState) -> Router {
    routes::router(&state)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(axum::middleware::from_fn(run_to_completion))
        .layer(axum::middleware::from_fn(login_redirect))
        .layer(axum::middleware::from_fn(flash::clear))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
}

/// Serves until Ctrl-C or SIGTERM, then finishes the requests in flight.
pub async fn run(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    axum::serve(listener, router(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// Serves each request to its end in its own task, even when its client goes away: a handler dropped
/// halfway could give its database connection back in the middle of a transaction (sqlx is not safe
/// against cancellation), and the next request on that connection would fail (seen under load by
/// `bench/national.sh`: « SET TRANSACTION ISOLATION LEVEL must be called before any query »).
async fn run_to_completion(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "requête interrompue");
            (StatusCode::INTERNAL_SERVER_ERROR, "erreur interne").into_response()
        }
    }
}

/// Turns the 401 of a page into a redirection to the login page that comes back here afterwards.
async fn login_redirect(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let target = request.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into());
    let response = next.run(request).await;
    if response.extensions().get::<error::RedirectToLogin>().is_some() {
        let back: String = target
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        return axum::response::Redirect::to(&format!("/connexion?suite={back}")).into_response();
    }
    response
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("arrêt demandé : fin des requêtes en cours");
}

pub(crate) async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], STYLE_CSS)
}

/// 200 when the database answers within two seconds, 503 otherwise.
pub(crate) async fn healthz(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ok").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: database error");
            (StatusCode::SERVICE_UNAVAILABLE, "base de données indisponible").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "base de données trop lente à répondre").into_response(),
    }
}

async fn method_not_allowed(uri: Uri) -> Response {
    let err = WebError::BadRequest(format!("méthode non autorisée pour {}", uri.path()));
    let mut r =
        if uri.path().starts_with("/api/") { ApiError(err).into_response() } else { PageError(err).into_response() };
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    r
}

async fn not_found(uri: Uri) -> Response {
    let err = WebError::NotFound(format!("la page {} n'existe pas", uri.path()));
    if uri.path().starts_with("/api/") {
        ApiError(err).into_response()
    } else {
        PageError(err).into_response()
    }
}
