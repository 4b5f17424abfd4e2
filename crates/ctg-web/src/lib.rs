//! The web server: HTML pages in French, the JSON API under `/api/v1` and its OpenAPI document.
//!
//! A request flows: handler → `ctg-store` → domain values → domain computations → template or JSON.
//! Handlers keep no state of their own: everything lives in the database, so that several servers
//! can run behind one load balancer.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::NaiveDate;
use ctg_store::Store;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

pub mod api;
mod error;
mod pages;
mod views;

pub use error::{ApiError, PageError, WebError};

/// What every handler shares: the store, and the clock that says which day it is.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    today: Arc<dyn Fn() -> NaiveDate + Send + Sync>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            today: Arc::new(|| chrono::Local::now().date_naive()),
        }
    }

    /// A state whose clock always says `day`, for tests.
    pub fn with_today(store: Store, day: NaiveDate) -> Self {
        Self {
            store,
            today: Arc::new(move || day),
        }
    }

    pub fn today(&self) -> NaiveDate {
        (self.today)()
    }
}

/// Largest request body accepted (the API is read-only for now; forms come later).
const BODY_LIMIT: usize = 1024 * 1024;

const STYLE_CSS: &str = include_str!("../static/style.css");

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/conventions/{id}", get(pages::convention))
        .route("/conventions/{id}/territoire", get(pages::territory))
        .route("/conventions/{id}/territoire.csv", get(pages::territory_csv))
        .route("/static/style.css", get(style))
        .route("/healthz", get(healthz))
        .nest("/api/v1", api::router())
        .fallback(not_found)
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
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
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
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

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLE_CSS,
    )
}

/// 200 when the database answers within two seconds, 503 otherwise.
async fn healthz(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ok").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: database error");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "base de données indisponible",
            )
                .into_response()
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "base de données trop lente à répondre",
        )
            .into_response(),
    }
}

async fn not_found(uri: Uri) -> Response {
    let err = WebError::NotFound(format!("la page {} n'existe pas", uri.path()));
    if uri.path().starts_with("/api/") {
        ApiError(err).into_response()
    } else {
        PageError(err).into_response()
    }
}
