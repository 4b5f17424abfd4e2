//! The one table of routes. The router, the OpenAPI document and every test that walks the routes
//! (rights, CSRF, contract) are derived from [`table`]; a route cannot be served without saying what
//! it needs, and an API route cannot be served without being described (its method and path come
//! from its `#[utoipa::path]` attribute, through `utoipa_axum::routes!`).
//!
//! Each route passes through one guard ([`guard`]) before its handler:
//! 1. the right its entry names is decided ([`Access`]), before anything is read or parsed;
//! 2. a write made with the session cookie must carry the session's CSRF token (form field `_csrf`
//!    or header `X-CSRF-Token`); API tokens need none (browsers never send them on their own).
//!
//! Handlers may refine the decision on the object itself (a party of the contributor's
//! organisation, a fiche it pilots): the guard decides the most permissive case of the action, the
//! handler the exact one.

use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::handler::Handler;
use axum::http::{header, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use axum::Router;
use ctg_domain::access::Action;
use tower_http::limit::RequestBodyLimitLayer;
use utoipa::openapi::path::{HttpMethod, Paths};
use utoipa::openapi::{OpenApi, RefOr, Schema};
use utoipa_axum::routes;

use crate::accounts::{self as account, admin};
use crate::auth::{constant_time_eq, Auth, CSRF_HEADER};
use crate::convention::{self as pages, api, edit};
use crate::error::Rejection;
use crate::governance::{self, api as api_governance};
use crate::life::{self, api as api_life};
use crate::offer::{self, api as api_offer};
use crate::plan::{self, api as api_plan, io as plan_io, strategy};
use crate::{documents, funds, pdf, public, AppState, WebError};

/// Largest request body accepted by default: forms and JSON edits are small.
pub const BODY_LIMIT: usize = 256 * 1024;

/// Largest logo upload: the highest value the dated parameter `taille_max_logo` may take, and the form.
const LOGO_BODY_LIMIT: usize = 2 * 1024 * 1024 + 64 * 1024;

/// Whether a route serves a page (HTML, forms) or the JSON API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Page,
    Api,
}

/// What a route needs before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; the handler shows each person what they may see (the list of conventions, login).
    Public,
    /// `Action` on the convention named by the path parameter `{id}`.
    Convention(Action),
    /// `Action` outside any convention (one's account, the register, administration).
    Platform(Action),
}

/// How a write proves it comes from our own pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Csrf {
    /// The session's token, in the form field `_csrf` or the header `X-CSRF-Token`.
    Session,
    /// The login form, made before any session exists: it checks its own double-submit cookie.
    LoginForm,
}

/// One line of the table, as the tests read it.
#[derive(Debug, Clone)]
pub struct RouteInfo {
    pub method: Method,
    /// The path with its parameters, e.g. `/conventions/{id}/plan/fiches/{fiche}`.
    pub path: String,
    pub access: Access,
    pub surface: Surface,
    pub csrf: Csrf,
    /// The largest body accepted.
    pub body_limit: usize,
}

impl RouteInfo {
    /// Whether the route changes something (every method but GET and HEAD).
    pub fn writes(&self) -> bool {
        !matches!(self.method, Method::GET | Method::HEAD)
    }
}

/// The OpenAPI description of one API route: its path item and the schemas it names.
type ApiDoc = (Paths, Vec<(String, RefOr<Schema>)>);

/// A line of the table with what serves it.
struct Entry {
    info: RouteInfo,
    handler: MethodRouter<AppState>,
    /// The OpenAPI description of an API route.
    doc: Option<ApiDoc>,
}

fn page<H, T>(method: Method, path: &str, access: Access, handler: H) -> Entry
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("a method of the table");
    Entry {
        info: RouteInfo {
            method,
            path: path.to_owned(),
            access,
            surface: Surface::Page,
            csrf: Csrf::Session,
            body_limit: BODY_LIMIT,
        },
        handler: axum::routing::on(filter, handler),
        doc: None,
    }
}

fn get<H: Handler<T, AppState>, T: 'static>(path: &str, access: Access, handler: H) -> Entry {
    page(Method::GET, path, access, handler)
}

fn post<H: Handler<T, AppState>, T: 'static>(path: &str, access: Access, handler: H) -> Entry {
    page(Method::POST, path, access, handler)
}

/// An API route: its method and path are those of its `#[utoipa::path]` attribute.
fn api(documented: utoipa_axum::router::UtoipaMethodRouter<AppState>, access: Access) -> Entry {
    let (schemas, paths, handler) = documented;
    let mut found = paths.paths.iter().flat_map(|(path, item)| {
        let methods = [
            (HttpMethod::Get, item.get.is_some(), Method::GET),
            (HttpMethod::Put, item.put.is_some(), Method::PUT),
            (HttpMethod::Post, item.post.is_some(), Method::POST),
            (HttpMethod::Delete, item.delete.is_some(), Method::DELETE),
            (HttpMethod::Patch, item.patch.is_some(), Method::PATCH),
        ];
        methods.into_iter().filter(|(_, present, _)| *present).map(move |(_, _, m)| (path.clone(), m))
    });
    let (path, method) = found.next().expect("an API handler documents one operation");
    assert!(found.next().is_none(), "an API entry of the table documents exactly one operation ({path})");
    Entry {
        info: RouteInfo { method, path, access, surface: Surface::Api, csrf: Csrf::Session, body_limit: BODY_LIMIT },
        handler,
        doc: Some((paths, schemas)),
    }
}

impl Entry {
    fn limit(mut self, bytes: usize) -> Self {
        self.info.body_limit = bytes;
        self
    }

    fn login_form(mut self) -> Self {
        self.info.csrf = Csrf::LoginForm;
        self
    }
}

use Access::{Convention as C, Platform as P, Public};
use Action::*;

/// `EditParty` and `ReportFiche` are decided on their object by the handler; the guard decides the
/// most permissive case (see [`Action::gate`]).
const EDIT_PARTY: Action = EditParty { organisation_id: 0 };
const REPORT: Action = ReportFiche { pilot_organisation_id: None };

/// Every route of the platform.
fn table() -> Vec<Entry> {
    let upload = plan_io::UPLOAD_LIMIT * 2;
    let document = documents::DOCUMENT_BODY_LIMIT;
    vec![
        // Public pages, accounts, administration.
        get("/", Public, pages::home),
        get("/connexion", Public, account::login_form),
        post("/connexion", Public, account::login).login_form(),
        post("/deconnexion", Public, account::logout),
        get("/compte", P(OwnAccount), account::page),
        get("/tableau-de-bord", P(OwnAccount), crate::dashboard::dashboard),
        get("/portefeuille", Public, crate::portfolio::page),
        post("/compte/mot-de-passe", P(OwnAccount), account::change_password),
        post("/compte/jetons", P(OwnAccount), account::create_token),
        post("/compte/jetons/{token}/revoquer", P(OwnAccount), account::revoke_token),
        post("/compte/rappels", P(OwnAccount), account::save_reminders),
        get("/desabonnement/{jeton}", Public, crate::mail::unsubscribe),
        get("/rgpd/registre", P(ViewRegister), admin::register),
        get("/rgpd/registre.csv", P(ViewRegister), admin::register_csv),
        get("/rgpd/registre/{activity}/modifier", P(EditRegister), admin::activity_form),
        post("/rgpd/registre/{activity}/modifier", P(EditRegister), admin::activity_save),
        get("/admin/utilisateurs", P(Administer), admin::users),
        post("/admin/utilisateurs", P(Administer), admin::user_create),
        post("/admin/utilisateurs/{user}/desactiver", P(Administer), admin::user_disable),
        get("/admin/utilisateurs/{user}/export", P(Administer), admin::user_export),
        post("/admin/utilisateurs/{user}/effacer", P(Administer), admin::user_erase),
        get("/admin/historique", P(Administer), admin::history),
        get("/static/style.css", Public, crate::style),
        get("/healthz", Public, crate::healthz),
        // A convention, its territory and diagnostic.
        get("/conventions/{id}", C(ViewConvention), pages::convention),
        get("/conventions/{id}/territoire", C(ViewConvention), pages::territory),
        get("/conventions/{id}/territoire.csv", C(ViewConvention), pages::territory_csv),
        get("/conventions/{id}/diagnostic", C(ViewConvention), pages::diagnostic),
        get("/conventions/{id}/diagnostic.pdf", C(ViewConvention), pdf::diagnostic),
        // The public side of a convention (art. 10) and its open data.
        post("/conventions/{id}/convention-suivante", C(EditConvention), pages::prepare_successor),
        get("/conventions/{id}/publique", C(ViewConvention), public::page),
        get("/conventions/{id}/donnees-ouvertes", C(ViewConvention), public::open_data_page),
        get("/conventions/{id}/donnees-ouvertes/{file}", C(ViewConvention), public::open_data_file),
        post("/conventions/{id}/diagnostic/preremplir", C(EditConvention), crate::opendata::prefill),
        get("/conventions/{id}/sppe", C(ViewConvention), crate::sppe::page),
        get("/conventions/{id}/comparaison", C(ViewConvention), crate::opendata::comparison),
        get("/conventions/{id}/modifier", C(EditConvention), edit::convention_form),
        post("/conventions/{id}/modifier", C(EditConvention), edit::convention_save),
        get("/conventions/{id}/parties/{party}/modifier", C(EDIT_PARTY), edit::party_form),
        post("/conventions/{id}/parties/{party}/modifier", C(EDIT_PARTY), edit::party_save),
        get("/conventions/{id}/parties/{party}/logo", C(ViewConvention), edit::logo),
        post("/conventions/{id}/parties/{party}/logo", C(EDIT_PARTY), edit::logo_save).limit(LOGO_BODY_LIMIT),
        post("/conventions/{id}/parties/{party}/logo/supprimer", C(EDIT_PARTY), edit::logo_remove),
        get("/conventions/{id}/utilisateurs", C(ManageMembers), edit::members),
        post("/conventions/{id}/utilisateurs", C(ManageMembers), edit::members_save),
        get("/conventions/{id}/historique", C(ViewHistory), edit::history),
        get("/conventions/{id}/accords", C(ViewAgreements), edit::agreements),
        post("/conventions/{id}/accords", C(EditAgreements), edit::agreement_create),
        get("/conventions/{id}/accords/{agreement}/modifier", C(EditAgreements), edit::agreement_form),
        post("/conventions/{id}/accords/{agreement}/modifier", C(EditAgreements), edit::agreement_save),
        post("/conventions/{id}/accords/{agreement}/etapes", C(EditAgreements), edit::agreement_step),
        // Offer of services.
        get("/conventions/{id}/equipements", C(ViewConvention), offer::facilities),
        post("/conventions/{id}/equipements", C(EditOffer), offer::facility_create),
        get("/conventions/{id}/equipements/nouveau", C(EditOffer), offer::facility_new),
        get("/conventions/{id}/equipements/{facility}", C(ViewConvention), offer::facility),
        get("/conventions/{id}/equipements/{facility}/modifier", C(EditOffer), offer::facility_edit),
        post("/conventions/{id}/equipements/{facility}/modifier", C(EditOffer), offer::facility_save),
        get("/conventions/{id}/couverture", C(ViewConvention), offer::coverage_page),
        get("/conventions/{id}/financements", C(ViewConvention), offer::funding),
        post("/conventions/{id}/financements", C(EditFunding), offer::funding_create),
        get("/conventions/{id}/qui-finance-quoi", C(ViewConvention), funds::who_funds_what_page),
        // Each party's commitments (art. 6, annex 3): the handler decides on the party.
        get("/conventions/{id}/engagements", C(ViewConvention), funds::commitments),
        post("/conventions/{id}/engagements", C(EDIT_PARTY), funds::commitment_create),
        post("/conventions/{id}/engagements/{commitment}", C(EDIT_PARTY), funds::commitment_save),
        // Strategy and action plan.
        get("/conventions/{id}/strategie", C(ViewConvention), strategy::strategy),
        post("/conventions/{id}/strategie/objectifs", C(EditPlan), strategy::objective_save),
        post("/conventions/{id}/strategie/objectifs/{objective}", C(EditPlan), strategy::objective_save),
        post("/conventions/{id}/strategie/{level}", C(EditPlan), strategy::item_save),
        post("/conventions/{id}/strategie/{level}/{item}", C(EditPlan), strategy::item_save),
        get("/conventions/{id}/plan", C(ViewConvention), plan::tree),
        get("/conventions/{id}/plan/fiches", C(ViewConvention), plan::fiches),
        post("/conventions/{id}/plan/fiches", C(EditPlan), plan::fiche_create),
        get("/conventions/{id}/plan/fiches/nouvelle", C(EditPlan), plan::fiche_new),
        get("/conventions/{id}/plan/fiches/{fiche}", C(ViewConvention), plan::fiche),
        get("/conventions/{id}/plan/fiches/{fiche}/fiche.pdf", C(ViewConvention), pdf::fiche),
        get("/conventions/{id}/plan/fiches/{fiche}/modifier", C(REPORT), plan::fiche_edit),
        post("/conventions/{id}/plan/fiches/{fiche}/modifier", C(REPORT), plan::fiche_save),
        post("/conventions/{id}/plan/fiches/{fiche}/sous-actions", C(REPORT), plan::sub_create),
        post("/conventions/{id}/plan/fiches/{fiche}/sous-actions/{sub}/statut", C(REPORT), plan::sub_status),
        post("/conventions/{id}/plan/fiches/{fiche}/moyens", C(REPORT), plan::means_save),
        post("/conventions/{id}/plan/fiches/{fiche}/indicateurs", C(EditPlan), plan::indicator_create),
        post("/conventions/{id}/plan/fiches/{fiche}/documents", C(REPORT), documents::fiche_upload).limit(document),
        get("/conventions/{id}/plan/indicateurs/{indicator}", C(ViewConvention), plan::indicator),
        post("/conventions/{id}/plan/indicateurs/{indicator}/valeurs", C(REPORT), plan::value_create),
        post("/conventions/{id}/plan/indicateurs/{indicator}/publication", C(EditPlan), plan::indicator_publication),
        get("/conventions/{id}/plan/calendrier", C(ViewConvention), plan::timeline),
        get("/conventions/{id}/plan/retards", C(ViewConvention), plan::late),
        get("/conventions/{id}/plan/export", C(ViewConvention), plan_io::export),
        get("/conventions/{id}/plan/import", C(EditPlan), plan_io::import_form),
        post("/conventions/{id}/plan/import", C(EditPlan), plan_io::import_preview).limit(upload),
        post("/conventions/{id}/plan/import/confirmer", C(EditPlan), plan_io::import_confirm).limit(upload),
        get("/conventions/{id}/evaluation", C(ViewConvention), plan_io::evaluation),
        get("/conventions/{id}/evaluation.pdf", C(ViewConvention), pdf::review),
        post("/conventions/{id}/evaluation", C(EditPlan), plan_io::review_save),
        get("/conventions/{id}/documents/{document}", C(ViewDocuments), documents::download),
        // Life of the convention.
        get("/conventions/{id}/vie", C(ViewConvention), life::life),
        post("/conventions/{id}/vie/parties/{party}/signature", C(EDIT_PARTY), life::sign_party),
        post("/conventions/{id}/vie/avenants", C(EditConvention), life::avenant_create),
        post("/conventions/{id}/vie/avenants/{avenant}/signatures/{party}", C(EDIT_PARTY), life::avenant_sign),
        post("/conventions/{id}/vie/avenants/{avenant}/documents", C(EditConvention), life::avenant_upload)
            .limit(document),
        post("/conventions/{id}/vie/resiliation", C(EditConvention), life::terminate),
        post("/conventions/{id}/vie/mises-en-demeure", C(EditConvention), life::notice_send),
        post("/conventions/{id}/vie/mises-en-demeure/{notice}", C(EditConvention), life::notice_settle),
        post("/conventions/{id}/vie/textes", C(EditConvention), life::initial_text),
        get("/conventions/{id}/textes/{key}", C(ViewConvention), life::text),
        // Governance.
        get("/conventions/{id}/instances", C(ViewConvention), governance::bodies),
        post("/conventions/{id}/instances", C(ManageGovernance), governance::body_create),
        get("/conventions/{id}/instances/{body}", C(ViewConvention), governance::body),
        post("/conventions/{id}/instances/{body}", C(ManageGovernance), governance::body_save),
        get("/conventions/{id}/instances/{body}/calendrier.ics", C(ViewConvention), governance::calendar),
        post("/conventions/{id}/instances/{body}/membres", C(ManageGovernance), governance::member_create),
        post("/conventions/{id}/instances/{body}/membres/{member}", C(ManageGovernance), governance::member_save),
        post("/conventions/{id}/instances/{body}/seances", C(ManageGovernance), governance::meeting_create),
        get("/conventions/{id}/seances/{meeting}", C(ViewConvention), governance::meeting),
        get("/conventions/{id}/seances/{meeting}/dossier.pdf", C(ViewConvention), pdf::meeting_pack),
        get("/conventions/{id}/seances/{meeting}/dossier", C(ViewConvention), governance::meeting_pack_page),
        get("/conventions/{id}/seances/{meeting}/seance.ics", C(ViewConvention), governance::meeting_calendar),
        post("/conventions/{id}/seances/{meeting}", C(ManageGovernance), governance::meeting_save),
        post("/conventions/{id}/seances/{meeting}/ordre-du-jour", C(ManageGovernance), governance::agenda_save),
        post("/conventions/{id}/seances/{meeting}/presences", C(ManageGovernance), governance::attendance_save),
        post("/conventions/{id}/seances/{meeting}/compte-rendu", C(ManageGovernance), governance::minutes_save),
        post("/conventions/{id}/seances/{meeting}/decisions", C(ManageGovernance), governance::decision_create),
        post("/conventions/{id}/seances/{meeting}/documents", C(ManageGovernance), governance::meeting_upload)
            .limit(document),
        get("/conventions/{id}/decisions", C(ViewConvention), governance::decisions),
        post("/conventions/{id}/decisions/{decision}/cloture", C(ManageGovernance), governance::decision_close),
        get("/conventions/{id}/concertation", C(ViewConvention), governance::concertation),
        post("/conventions/{id}/concertation", C(ManageGovernance), governance::event_create),
        post("/conventions/{id}/concertation/contributions", C(ManageGovernance), governance::contribution_create),
        post(
            "/conventions/{id}/concertation/contributions/{contribution}",
            C(ManageGovernance),
            governance::contribution_link,
        ),
        get("/conventions/{id}/cooperation", C(ViewConvention), governance::cooperation),
        post("/conventions/{id}/cooperation", C(ManageGovernance), governance::post_create),
        post("/conventions/{id}/cooperation/{post}", C(ManageGovernance), governance::post_save),
        // The JSON API.
        api(routes!(api::openapi), Public),
        api(routes!(crate::api_reference::page), Public),
        api(routes!(api::epci), Public),
        api(routes!(api::conventions), Public),
        api(routes!(crate::portfolio::portfolio_api), Public),
        api(routes!(api::me), P(OwnAccount)),
        api(routes!(api::my_reminders), P(OwnAccount)),
        api(routes!(api::set_my_reminders), P(OwnAccount)),
        api(routes!(api::convention), C(ViewConvention)),
        api(routes!(api::update_convention), C(EditConvention)),
        api(routes!(api::update_party), C(EDIT_PARTY)),
        api(routes!(api::history), C(ViewHistory)),
        api(routes!(api::agreements), C(ViewAgreements)),
        api(routes!(api::create_agreement), C(EditAgreements)),
        api(routes!(api::agreement_step), C(EditAgreements)),
        api(routes!(api::territory), C(ViewConvention)),
        api(routes!(api::diagnostic), C(ViewConvention)),
        api(routes!(crate::sppe::api), C(ViewConvention)),
        api(routes!(api_offer::types), Public),
        api(routes!(api_offer::facilities), C(ViewConvention)),
        api(routes!(api_offer::create_facility), C(EditOffer)),
        api(routes!(api_offer::facility), C(ViewConvention)),
        api(routes!(api_offer::update_facility), C(EditOffer)),
        api(routes!(api_offer::coverage), C(ViewConvention)),
        api(routes!(api_offer::funding), C(ViewConvention)),
        api(routes!(api_offer::create_funding), C(EditFunding)),
        api(routes!(funds::api_who_funds_what), C(ViewConvention)),
        api(routes!(funds::api_commitments), C(ViewConvention)),
        api(routes!(funds::api_create_commitment), C(EDIT_PARTY)),
        api(routes!(funds::api_update_commitment), C(EDIT_PARTY)),
        api(routes!(api_plan::plan), C(ViewConvention)),
        api(routes!(api_plan::create_fiche), C(EditPlan)),
        api(routes!(api_plan::fiche), C(ViewConvention)),
        api(routes!(api_plan::update_fiche), C(REPORT)),
        api(routes!(api_plan::create_sub_action), C(REPORT)),
        api(routes!(api_plan::set_means), C(REPORT)),
        api(routes!(api_plan::create_indicator), C(EditPlan)),
        api(routes!(api_plan::add_value), C(REPORT)),
        api(routes!(api_plan::evaluation), C(ViewConvention)),
        api(routes!(pdf::api_review), C(ViewConvention)),
        api(routes!(pdf::api_meeting_pack), C(ViewConvention)),
        api(routes!(pdf::api_fiche), C(ViewConvention)),
        api(routes!(pdf::api_diagnostic), C(ViewConvention)),
        api(routes!(strategy::api_create), C(EditPlan)),
        api(routes!(strategy::api_update), C(EditPlan)),
        api(routes!(api_governance::bodies), C(ViewConvention)),
        api(routes!(api_governance::create_body), C(ManageGovernance)),
        api(routes!(api_governance::create_member), C(ManageGovernance)),
        api(routes!(api_governance::meetings), C(ViewConvention)),
        api(routes!(api_governance::create_meeting), C(ManageGovernance)),
        api(routes!(api_governance::meeting), C(ViewConvention)),
        api(routes!(api_governance::set_agenda), C(ManageGovernance)),
        api(routes!(api_governance::set_minutes), C(ManageGovernance)),
        api(routes!(api_governance::set_attendance), C(ManageGovernance)),
        api(routes!(api_governance::create_decision), C(ManageGovernance)),
        api(routes!(api_governance::open_decisions), C(ViewConvention)),
        api(routes!(api_governance::close_decision), C(ManageGovernance)),
        api(routes!(api_governance::concertation), C(ViewConvention)),
        api(routes!(api_governance::create_event), C(ManageGovernance)),
        api(routes!(api_governance::create_contribution), C(ManageGovernance)),
        api(routes!(api_governance::posts), C(ViewConvention)),
        api(routes!(api_governance::create_post), C(ManageGovernance)),
        api(routes!(api_life::life), C(ViewConvention)),
        api(routes!(api_life::sign_party), C(EDIT_PARTY)),
        api(routes!(api_life::create_avenant), C(EditConvention)),
        api(routes!(api_life::sign_avenant), C(EDIT_PARTY)),
        api(routes!(api_life::terminate), C(EditConvention)),
        api(routes!(api_life::notices), C(ViewConvention)),
        api(routes!(api_life::notice_send), C(EditConvention)),
        api(routes!(api_life::notice_settle), C(EditConvention)),
        api(routes!(api_life::text_versions), C(ViewConvention)),
        api(routes!(api_life::text_diff), C(ViewConvention)),
    ]
}

/// Every route of the platform, as the tests walk them.
pub fn route_table() -> Vec<RouteInfo> {
    table().into_iter().map(|e| e.info).collect()
}

/// The OpenAPI document: its description and security from [`crate::convention::api::ApiDoc`], its paths and
/// schemas from the API lines of the table.
pub fn openapi() -> OpenApi {
    let mut doc = <api::ApiDoc as utoipa::OpenApi>::openapi();
    for entry in table() {
        if let Some((paths, schemas)) = entry.doc {
            doc.paths.merge(paths);
            let components = doc.components.get_or_insert_with(Default::default);
            components.schemas.extend(schemas);
        }
    }
    doc
}

/// The router of every route of the table, each behind the guard.
pub fn router(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for entry in table() {
        let info = entry.info;
        let path = info.path.clone();
        let limit = info.body_limit;
        let handler = entry
            .handler
            .route_layer(axum::middleware::from_fn_with_state((state.clone(), info), guard))
            .layer::<_, std::convert::Infallible>(axum::extract::DefaultBodyLimit::max(limit))
            .layer::<_, std::convert::Infallible>(RequestBodyLimitLayer::new(limit));
        router = router.route(&path, handler);
    }
    router
}

/// Decides the right of the route, then checks the CSRF token of a write made with the session
/// cookie. The person asking is resolved once here and handed to the handler ([`Auth`]).
async fn guard(State((state, route)): State<(AppState, RouteInfo)>, request: Request, next: Next) -> Response {
    let api = route.surface == Surface::Api;
    match check(&state, &route, request).await {
        Ok(request) => next.run(request).await,
        Err(error) => Rejection { error, api }.into_response(),
    }
}

async fn check(state: &AppState, route: &RouteInfo, request: Request) -> Result<Request, WebError> {
    let (mut parts, body) = request.into_parts();
    let mut auth = Auth::from_request_parts(&mut parts, state).await.map_err(|e| e.0)?;
    let write = route.writes();
    match route.access {
        Public => {}
        Access::Platform(action) => state.decide(&auth, action.gate(auth.principal().as_ref()), None, write).await?,
        Access::Convention(action) => {
            let params = RawPathParams::from_request_parts(&mut parts, state)
                .await
                .map_err(|_| WebError::NotFound("la convention demandée n'existe pas".into()))?;
            let raw = params.iter().find(|(name, _)| *name == "id").map(|(_, v)| v.to_owned()).unwrap_or_default();
            let id = crate::extract::convention_id(&raw)?;
            state.remember_convention(&mut auth, id).await?;
            state.decide(&auth, action.gate(auth.principal().as_ref()), Some(id), write).await?;
        }
    }
    let session_write = write && !auth.via_token && auth.session_secret.is_some();
    parts.extensions.insert(auth.clone());
    if !session_write || route.csrf == Csrf::LoginForm {
        return Ok(Request::from_parts(parts, body));
    }
    let expected = auth.csrf.clone().unwrap_or_default();
    let header = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (sent, request) = match header {
        Some(sent) => (Some(sent), Request::from_parts(parts, body)),
        None if route.surface == Surface::Page => {
            let bytes = axum::body::to_bytes(body, route.body_limit).await.map_err(|_| crate::extract::too_large())?;
            let sent = form_token(&parts.headers, &bytes).await;
            (sent, Request::from_parts(parts, axum::body::Body::from(bytes)))
        }
        None => (None, Request::from_parts(parts, body)),
    };
    match sent {
        Some(sent) if !expected.is_empty() && constant_time_eq(expected.as_bytes(), sent.as_bytes()) => Ok(request),
        _ => Err(WebError::Forbidden(
            "la demande n'a pas pu être vérifiée (jeton anti-falsification absent ou périmé) : rechargez la page et recommencez"
                .into(),
        )),
    }
}

/// The `_csrf` field of a form, sent as `application/x-www-form-urlencoded` or `multipart/form-data`.
async fn form_token(headers: &axum::http::HeaderMap, bytes: &axum::body::Bytes) -> Option<String> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if let Ok(boundary) = multer::parse_boundary(content_type) {
        let data = bytes.clone();
        let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(data) });
        let mut multipart = multer::Multipart::new(stream, boundary);
        while let Ok(Some(field)) = multipart.next_field().await {
            if field.name() == Some("_csrf") {
                return field.text().await.ok();
            }
        }
        return None;
    }
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "_csrf")
        .map(|(_, v)| v)
}
