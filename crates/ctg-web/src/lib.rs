//! The web server: HTML pages in French, the JSON API under `/api/v1` and its OpenAPI document.
//!
//! A request flows: handler → `ctg-store` → domain values → domain computations → template or JSON.
//! Handlers keep no state of their own: everything lives in the database, so that several servers
//! can run behind one load balancer.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::NaiveDate;
use ctg_store::Store;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

mod account;
mod admin;
pub mod api;
mod api_governance;
mod api_life;
mod api_offer;
mod api_plan;
mod api_query;
mod api_reference;
pub mod auth;
mod documents;
mod edit;
mod error;
mod export;
mod governance;
mod life;
mod offer;
mod pages;
mod plan;
mod plan_io;
mod strategy;
mod views;

pub use auth::AuthConfig;
pub use error::{ApiError, PageError, WebError};
pub use views::MASKING_PARAMETER;

/// What every handler shares: the store, and the clock that says which day it is.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub auth: AuthConfig,
    today: Arc<dyn Fn() -> NaiveDate + Send + Sync>,
    /// Computed territory responses, each with the territory revision it was computed at: an entry
    /// serves only while that revision is the database's, so servers keep no state of their own.
    territory_cache: Arc<std::sync::Mutex<std::collections::HashMap<i64, (i64, axum::body::Bytes)>>>,
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
        Self { store, auth: AuthConfig::default(), today, territory_cache: Arc::default() }
    }

    /// The cached territory response of a convention, if computed at `revision`.
    pub(crate) fn cached_territory(&self, id: i64, revision: i64) -> Option<axum::body::Bytes> {
        let cache = self.territory_cache.lock().ok()?;
        cache.get(&id).filter(|(r, _)| *r == revision).map(|(_, b)| b.clone())
    }

    pub(crate) fn cache_territory(&self, id: i64, revision: i64, bytes: axum::body::Bytes) {
        if let Ok(mut cache) = self.territory_cache.lock() {
            cache.insert(id, (revision, bytes));
        }
    }

    pub fn with_auth(mut self, auth: AuthConfig) -> Self {
        self.auth = auth;
        self
    }

    pub fn today(&self) -> NaiveDate {
        (self.today)()
    }
}

/// Largest request body accepted: forms and JSON edits are small.
const BODY_LIMIT: usize = 256 * 1024;

const STYLE_CSS: &str = include_str!("../static/style.css");

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/conventions/{id}", get(pages::convention))
        .route("/conventions/{id}/territoire", get(pages::territory))
        .route("/conventions/{id}/territoire.csv", get(pages::territory_csv))
        .route("/conventions/{id}/diagnostic", get(pages::diagnostic))
        .route("/conventions/{id}/equipements", get(offer::facilities).post(offer::facility_create))
        .route("/conventions/{id}/equipements/nouveau", get(offer::facility_new))
        .route("/conventions/{id}/equipements/{facility}", get(offer::facility))
        .route("/conventions/{id}/equipements/{facility}/modifier", get(offer::facility_edit).post(offer::facility_save))
        .route("/conventions/{id}/couverture", get(offer::coverage_page))
        .route("/conventions/{id}/financements", get(offer::funding).post(offer::funding_create))
        .route("/conventions/{id}/plan", get(plan::tree))
        .route("/conventions/{id}/strategie", get(strategy::strategy))
        .route("/conventions/{id}/strategie/objectifs", post(strategy::objective_save))
        .route("/conventions/{id}/strategie/objectifs/{objective}", post(strategy::objective_save))
        .route("/conventions/{id}/strategie/{level}", post(strategy::item_save))
        .route("/conventions/{id}/strategie/{level}/{item}", post(strategy::item_save))
        .route("/conventions/{id}/plan/fiches", get(plan::fiches).post(plan::fiche_create))
        .route("/conventions/{id}/plan/fiches/nouvelle", get(plan::fiche_new))
        .route("/conventions/{id}/plan/fiches/{fiche}", get(plan::fiche))
        .route("/conventions/{id}/plan/fiches/{fiche}/modifier", get(plan::fiche_edit).post(plan::fiche_save))
        .route("/conventions/{id}/plan/fiches/{fiche}/sous-actions", post(plan::sub_create))
        .route("/conventions/{id}/plan/fiches/{fiche}/sous-actions/{sub}/statut", post(plan::sub_status))
        .route("/conventions/{id}/plan/fiches/{fiche}/moyens", post(plan::means_save))
        .route("/conventions/{id}/plan/fiches/{fiche}/indicateurs", post(plan::indicator_create))
        .route("/conventions/{id}/plan/indicateurs/{indicator}", get(plan::indicator))
        .route("/conventions/{id}/plan/indicateurs/{indicator}/valeurs", post(plan::value_create))
        .route("/conventions/{id}/plan/calendrier", get(plan::timeline))
        .route("/conventions/{id}/plan/retards", get(plan::late))
        .route("/conventions/{id}/documents/{document}", get(documents::download))
        .route("/conventions/{id}/vie", get(life::life))
        .route("/conventions/{id}/vie/parties/{party}/signature", post(life::sign_party))
        .route("/conventions/{id}/vie/avenants", post(life::avenant_create))
        .route("/conventions/{id}/vie/avenants/{avenant}/signatures/{party}", post(life::avenant_sign))
        .route("/conventions/{id}/vie/resiliation", post(life::terminate))
        .route("/conventions/{id}/vie/textes", post(life::initial_text))
        .route("/conventions/{id}/textes/{key}", get(life::text))
        .route("/conventions/{id}/instances", get(governance::bodies).post(governance::body_create))
        .route("/conventions/{id}/instances/{body}", get(governance::body).post(governance::body_save))
        .route("/conventions/{id}/instances/{body}/calendrier.ics", get(governance::calendar))
        .route("/conventions/{id}/instances/{body}/membres", post(governance::member_create))
        .route("/conventions/{id}/instances/{body}/membres/{member}", post(governance::member_save))
        .route("/conventions/{id}/instances/{body}/seances", post(governance::meeting_create))
        .route("/conventions/{id}/seances/{meeting}", get(governance::meeting).post(governance::meeting_save))
        .route("/conventions/{id}/seances/{meeting}/ordre-du-jour", post(governance::agenda_save))
        .route("/conventions/{id}/seances/{meeting}/presences", post(governance::attendance_save))
        .route("/conventions/{id}/seances/{meeting}/compte-rendu", post(governance::minutes_save))
        .route("/conventions/{id}/seances/{meeting}/decisions", post(governance::decision_create))
        .route("/conventions/{id}/decisions", get(governance::decisions))
        .route("/conventions/{id}/decisions/{decision}/cloture", post(governance::decision_close))
        .route("/conventions/{id}/concertation", get(governance::concertation).post(governance::event_create))
        .route("/conventions/{id}/concertation/contributions", post(governance::contribution_create))
        .route("/conventions/{id}/concertation/contributions/{contribution}", post(governance::contribution_link))
        .route("/conventions/{id}/cooperation", get(governance::cooperation).post(governance::post_create))
        .route("/conventions/{id}/cooperation/{post}", post(governance::post_save))
        .route("/conventions/{id}/plan/export", get(plan_io::export))
        .route("/conventions/{id}/evaluation", get(plan_io::evaluation).post(plan_io::review_save))
        .route("/conventions/{id}/modifier", get(edit::convention_form).post(edit::convention_save))
        .route("/conventions/{id}/parties/{party}/modifier", get(edit::party_form).post(edit::party_save))
        .route("/conventions/{id}/utilisateurs", get(edit::members).post(edit::members_save))
        .route("/conventions/{id}/historique", get(edit::history))
        .route("/conventions/{id}/accords", get(edit::agreements).post(edit::agreement_create))
        .route("/conventions/{id}/accords/{agreement}/modifier", get(edit::agreement_form).post(edit::agreement_save))
        .route("/connexion", get(account::login_form).post(account::login))
        .route("/deconnexion", post(account::logout))
        .route("/compte", get(account::page))
        .route("/compte/mot-de-passe", post(account::change_password))
        .route("/compte/jetons", post(account::create_token))
        .route("/compte/jetons/{token}/revoquer", post(account::revoke_token))
        .route("/rgpd/registre", get(admin::register))
        .route("/rgpd/registre.csv", get(admin::register_csv))
        .route("/rgpd/registre/{activity}/modifier", get(admin::activity_form).post(admin::activity_save))
        .route("/admin/utilisateurs", get(admin::users).post(admin::user_create))
        .route("/admin/utilisateurs/{user}/desactiver", post(admin::user_disable))
        .route("/admin/utilisateurs/{user}/export", get(admin::user_export))
        .route("/admin/utilisateurs/{user}/effacer", post(admin::user_erase))
        .route("/admin/historique", get(admin::history))
        .route("/static/style.css", get(style))
        .route("/healthz", get(healthz))
        .route("/api/v1/reference", get(api_reference::page))
        .nest("/api/v1", api::router())
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        // Spreadsheet uploads, and their confirmation that carries the file back: a larger limit.
        .merge(
            Router::new()
                .route("/conventions/{id}/plan/import", get(plan_io::import_form).post(plan_io::import_preview))
                .route("/conventions/{id}/plan/import/confirmer", post(plan_io::import_confirm))
                .layer(axum::extract::DefaultBodyLimit::max(plan_io::UPLOAD_LIMIT * 2))
                .layer(RequestBodyLimitLayer::new(plan_io::UPLOAD_LIMIT * 2)),
        )
        .merge(
            Router::new()
                .route("/conventions/{id}/plan/fiches/{fiche}/documents", post(documents::fiche_upload))
                .route("/conventions/{id}/vie/avenants/{avenant}/documents", post(life::avenant_upload))
                .route("/conventions/{id}/seances/{meeting}/documents", post(governance::meeting_upload))
                .layer(axum::extract::DefaultBodyLimit::max(documents::DOCUMENT_BODY_LIMIT))
                .layer(RequestBodyLimitLayer::new(documents::DOCUMENT_BODY_LIMIT)),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(axum::middleware::from_fn(login_redirect))
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

async fn style() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], STYLE_CSS)
}

/// 200 when the database answers within two seconds, 503 otherwise.
async fn healthz(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
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
