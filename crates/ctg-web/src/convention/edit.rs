//! Editing a convention: its general information, its parties, its users and rights, its
//! data-exchange agreements; and reading its history. Every save checks the right, the CSRF token
//! and the version read; a stale version is refused with the user's input kept in the form.

use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use ctg_domain::access::{Action, Role};
use ctg_domain::format::{date_short, datetime_short};
use ctg_domain::{Channel, ConventionStatus};
use ctg_store::{
    agreement_status_label, AgreementEdit, AgreementStep, AuditEntry, ConventionEdit, HistoryFilter, NewAgreementStep,
    PartyEdit, StoreError,
};
use serde::Deserialize;

use crate::auth::Auth;
use crate::error::stale_message;
use crate::extract::{Ids, PageForm, Version};
use crate::views::{form_date, FormErrors, Nav};
use crate::{AppState, PageError, WebError};

/// The outcome of a save that may conflict: the message and the version to submit next.
fn conflict(err: StoreError) -> Result<(String, Option<i64>), WebError> {
    match err {
        StoreError::Stale { what, last_change } => Ok((stale_message(&what, last_change.as_deref()), None)),
        other => Err(other.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// The convention itself

#[derive(Template)]
#[template(path = "convention_edit.html")]
struct ConventionForm {
    nav: Nav,
    id: i64,
    title_now: String,
    version: i64,
    title: String,
    start: String,
    end: String,
    /// The recorded status, sent back unchanged: it follows from the signatures and the termination.
    status: String,
    /// What the convention is today (`Life::status_on`).
    status_label: String,
    /// Signed by all: title, dates and place change only by avenant (art. 12).
    locked: bool,
    /// The period as people read it, shown when locked.
    period: String,
    signing_place: String,
    published: bool,
    errors: FormErrors,
    conflict: String,
}

#[derive(Debug, Deserialize)]
pub struct ConventionInput {
    #[serde(default)]
    version: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    signing_place: String,
    #[serde(default)]
    published: Option<String>,
}

pub async fn convention_form(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
) -> Result<Html<String>, PageError> {
    state.authorize(&auth, Action::EditConvention, Some(id)).await?;
    let c = state.store.convention(id).await?;
    let status_label = state.store.life_status(id, state.today()).await?.label();
    let s = &c.summary;
    let page = ConventionForm {
        nav: Nav::of(&auth),
        id,
        title_now: s.title.clone(),
        version: s.version,
        title: s.title.clone(),
        start: s.start.to_string(),
        end: s.end.to_string(),
        status: s.status.code().to_owned(),
        status_label,
        locked: c.is_locked(),
        period: super::period(s.start, s.end),
        signing_place: c.signing_place.clone().unwrap_or_default(),
        published: s.published,
        errors: FormErrors::new(),
        conflict: String::new(),
    };
    Ok(Html(page.render()?))
}

pub async fn convention_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(input): PageForm<ConventionInput>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditConvention, Some(id)).await?;
    let detail = state.store.convention(id).await?;
    let locked = detail.is_locked();
    let current = detail.summary;
    let status_label = state.store.life_status(id, state.today()).await?.label();
    let mut errors = FormErrors::new();
    if input.title.trim().is_empty() {
        errors.add("title", "le titre est obligatoire");
    }
    let start = form_date(&mut errors, "start", &input.start);
    let end = form_date(&mut errors, "end", &input.end);
    if input.start.trim().is_empty() {
        errors.add("start", "la date de début est obligatoire");
    }
    if input.end.trim().is_empty() {
        errors.add("end", "la date de fin est obligatoire");
    }
    if let (Some(a), Some(b)) = (start, end) {
        if b < a {
            errors.add("end", "la fin précède le début");
        }
    }
    let status = ConventionStatus::parse(&input.status).map_err(|e| errors.add("status", e.to_string())).ok();
    let version: i64 = Version::parse(&input.version)?;
    let render =
        |errors: FormErrors, conflict: String, version: i64, code: StatusCode| -> Result<Response, PageError> {
            let page = ConventionForm {
                nav: Nav::of(&auth),
                id,
                title_now: current.title.clone(),
                version,
                title: input.title.clone(),
                start: input.start.clone(),
                end: input.end.clone(),
                status: input.status.clone(),
                status_label: status_label.clone(),
                locked,
                period: super::period(current.start, current.end),
                signing_place: input.signing_place.clone(),
                published: input.published.is_some(),
                errors,
                conflict,
            };
            Ok((code, Html(page.render()?)).into_response())
        };
    let (Some(start), Some(end), Some(status), true) = (start, end, status, errors.is_empty()) else {
        return render(errors, String::new(), version, StatusCode::BAD_REQUEST);
    };
    let edit = ConventionEdit {
        title: input.title.clone(),
        start,
        end,
        status,
        signing_place: Some(input.signing_place.clone()),
        published: input.published.is_some(),
    };
    match state.store.update_convention(&auth.actor(Channel::Page), id, version, &edit).await {
        Ok(_) => Ok(crate::flash::redirect(&format!("/conventions/{id}"), "Convention mise à jour")),
        // A rule refuses (art. 12, the status): the form comes back with what was typed.
        Err(StoreError::Invalid(message)) => {
            let mut errors = FormErrors::new();
            errors.add("", message);
            render(errors, String::new(), version, StatusCode::BAD_REQUEST)
        }
        Err(e) => {
            let (message, _) = conflict(e)?;
            let fresh = state.store.convention_summary(id).await?;
            render(FormErrors::new(), message, fresh.version, StatusCode::CONFLICT)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A party

#[derive(Template)]
#[template(path = "party_edit.html")]
struct PartyForm {
    nav: Nav,
    id: i64,
    convention_title: String,
    party_id: i64,
    organisation: String,
    version: i64,
    signatory: String,
    signatory_title: String,
    deliberation: String,
    deliberation_date: String,
    signature_date: String,
    /// Signed by all: the party is shown, not edited (art. 12).
    locked: bool,
    errors: FormErrors,
    conflict: String,
    /// Whether the party has a logo (art. 10), and what the last logo action said.
    has_logo: bool,
    logo_error: String,
}

#[derive(Debug, Deserialize)]
pub struct PartyInput {
    #[serde(default)]
    version: String,
    #[serde(default)]
    signatory: String,
    #[serde(default)]
    signatory_title: String,
    #[serde(default)]
    deliberation: String,
    #[serde(default)]
    deliberation_date: String,
    #[serde(default)]
    signature_date: String,
}

/// The convention's title, the party, and whether the convention is signed by all (art. 12: its
/// parties then change only by avenant).
async fn party_of(state: &AppState, id: i64, party_id: i64) -> Result<(String, ctg_store::PartyEntry, bool), WebError> {
    let c = state.store.convention(id).await?;
    let locked = c.is_locked();
    let entry = c
        .parties
        .into_iter()
        .find(|p| p.id == party_id)
        .ok_or_else(|| WebError::NotFound(format!("la partie n° {party_id} de cette convention n'existe pas")))?;
    Ok((c.summary.title, entry, locked))
}

pub async fn party_form(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, party)): Ids<(i64, i64)>,
) -> Result<Html<String>, PageError> {
    Ok(Html(party_page(&state, &auth, id, party, String::new()).await?.render()?))
}

/// The party page as it is stored, with what the last logo action said.
async fn party_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    party: i64,
    logo_error: String,
) -> Result<PartyForm, WebError> {
    let (title, e, locked) = party_of(state, id, party).await?;
    state.authorize(auth, Action::EditParty { organisation_id: e.organisation_id }, Some(id)).await?;
    let has_logo = state.store.party_logo(id, e.id).await?.is_some();
    let p = &e.party;
    let page = PartyForm {
        nav: Nav::of(auth),
        id,
        convention_title: title,
        party_id: e.id,
        organisation: p.organisation.name.clone(),
        version: e.version,
        signatory: p.signatory.clone().unwrap_or_default(),
        signatory_title: p.signatory_title.clone().unwrap_or_default(),
        deliberation: p.deliberation.clone().unwrap_or_default(),
        // A date input wants AAAA-MM-JJ; shown read-only, the date is written as people read it.
        deliberation_date: p
            .deliberation_date
            .map(|d| if locked { date_short(d) } else { d.to_string() })
            .unwrap_or_default(),
        signature_date: p.signed_on().map(|s| s.label()).unwrap_or_default(),
        locked,
        errors: FormErrors::new(),
        conflict: String::new(),
        has_logo,
        logo_error,
    };
    Ok(page)
}

/// Sets the logo of a party (art. 10), a PNG or an SVG checked for scripts and outside references;
/// a refused file is said on the party page, next to the logo form.
pub async fn logo_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, party)): Ids<(i64, i64)>,
    multipart: axum::extract::Multipart,
) -> Result<Response, PageError> {
    let (_, e, _) = party_of(&state, id, party).await?;
    state.authorize_write(&auth, Action::EditParty { organisation_id: e.organisation_id }, Some(id)).await?;
    let refused = |m: String| async {
        let page = party_page(&state, &auth, id, party, m).await?;
        Ok::<_, PageError>((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
    };
    let (name, bytes) =
        match crate::documents::read_upload(multipart, "logo", "choisissez le fichier du logo (PNG ou SVG)").await {
            Ok(file) => file,
            Err(WebError::BadRequest(m)) => return refused(m).await,
            Err(e) => return Err(e.into()),
        };
    match state.store.set_party_logo(&auth.actor(Channel::Page), id, party, &name, &bytes).await {
        Ok(()) => {
            Ok(crate::flash::redirect(&format!("/conventions/{id}/parties/{party}/modifier#logo"), "Logo enregistré"))
        }
        Err(StoreError::Invalid(m)) => refused(m).await,
        Err(e) => Err(WebError::from(e).into()),
    }
}

/// Removes the logo of a party.
pub async fn logo_remove(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, party)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    let (_, e, _) = party_of(&state, id, party).await?;
    state.authorize_write(&auth, Action::EditParty { organisation_id: e.organisation_id }, Some(id)).await?;
    state.store.remove_party_logo(&auth.actor(Channel::Page), id, party).await?;
    Ok(crate::flash::redirect(&format!("/conventions/{id}/parties/{party}/modifier#logo"), "Logo supprimé"))
}

/// The logo of a party, to anyone who may see the convention. An SVG is served with a policy that
/// forbids any script or outside load, even opened on its own (defence in depth: it was checked).
pub async fn logo(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, party)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let logo = state
        .store
        .party_logo(id, party)
        .await?
        .ok_or_else(|| WebError::NotFound(format!("la partie n° {party} de cette convention n'a pas de logo")))?;
    Ok((
        [
            (header::CONTENT_TYPE, logo.kind.media_type().to_owned()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox".to_owned(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, "private, max-age=300".to_owned()),
            (header::ETAG, format!("\"{}\"", logo.sha256)),
        ],
        logo.content,
    )
        .into_response())
}

pub async fn party_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, party)): Ids<(i64, i64)>,
    PageForm(input): PageForm<PartyInput>,
) -> Result<Response, PageError> {
    let (title, e, locked) = party_of(&state, id, party).await?;
    state.authorize_write(&auth, Action::EditParty { organisation_id: e.organisation_id }, Some(id)).await?;
    let mut errors = FormErrors::new();
    let deliberation_date = form_date(&mut errors, "deliberation_date", &input.deliberation_date);
    let signed_on = if input.signature_date.trim().is_empty() {
        None
    } else {
        ctg_domain::life::SignedOn::parse("signature_date", &input.signature_date)
            .map_err(|e| errors.add("signature_date", e.message))
            .ok()
    };
    let version: i64 = Version::parse(&input.version)?;
    let has_logo = state.store.party_logo(id, party).await?.is_some();
    let render =
        |errors: FormErrors, conflict: String, version: i64, code: StatusCode| -> Result<Response, PageError> {
            let page = PartyForm {
                nav: Nav::of(&auth),
                id,
                convention_title: title.clone(),
                party_id: e.id,
                organisation: e.party.organisation.name.clone(),
                version,
                signatory: input.signatory.clone(),
                signatory_title: input.signatory_title.clone(),
                deliberation: input.deliberation.clone(),
                deliberation_date: input.deliberation_date.clone(),
                signature_date: input.signature_date.clone(),
                locked,
                errors,
                conflict,
                has_logo,
                logo_error: String::new(),
            };
            Ok((code, Html(page.render()?)).into_response())
        };
    if !errors.is_empty() {
        return render(errors, String::new(), version, StatusCode::BAD_REQUEST);
    }
    let edit = PartyEdit {
        signatory: Some(input.signatory.clone()),
        signatory_title: Some(input.signatory_title.clone()),
        deliberation: Some(input.deliberation.clone()),
        deliberation_date,
        signature_date: signed_on.map(|s| s.date),
        signature_month_only: signed_on.is_some_and(|s| s.month_only),
    };
    match state.store.update_party(&auth.actor(Channel::Page), id, e.id, version, &edit).await {
        Ok(_) => Ok(crate::flash::redirect(&format!("/conventions/{id}#parties"), "Partie mise à jour")),
        Err(StoreError::Invalid(message)) => {
            let mut errors = FormErrors::new();
            errors.add("", message);
            render(errors, String::new(), version, StatusCode::BAD_REQUEST)
        }
        Err(err) => {
            let (message, _) = conflict(err)?;
            let (_, fresh, _) = party_of(&state, id, party).await?;
            render(FormErrors::new(), message, fresh.version, StatusCode::CONFLICT)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Users and rights of a convention

struct MemberLine {
    name: String,
    email: String,
    role: &'static str,
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    nav: Nav,
    id: i64,
    title: String,
    members: Vec<MemberLine>,
    roles: Vec<(&'static str, &'static str)>,
    email: String,
    role: String,
    errors: FormErrors,
    notice: String,
}

#[derive(Debug, Deserialize)]
pub struct MemberInput {
    #[serde(default)]
    email: String,
    /// A role code, or `aucun` to revoke.
    #[serde(default)]
    role: String,
}

async fn members_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    input: Option<&MemberInput>,
    errors: FormErrors,
    notice: String,
    code: StatusCode,
) -> Result<Response, PageError> {
    let title = state.store.convention_summary(id).await?.title;
    let members = state
        .store
        .members(id)
        .await?
        .into_iter()
        .map(|m| MemberLine { name: m.user.name, email: m.user.email, role: m.role.label() })
        .collect();
    let page = MembersPage {
        nav: Nav::of(auth),
        id,
        title,
        members,
        roles: Role::ALL.iter().map(|r| (r.code(), r.label())).collect(),
        email: input.map(|i| i.email.clone()).unwrap_or_default(),
        role: input.map(|i| i.role.clone()).unwrap_or_else(|| "lecteur".into()),
        errors,
        notice,
    };
    Ok((code, Html(page.render()?)).into_response())
}

pub async fn members(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ManageMembers, Some(id)).await?;
    members_page(&state, &auth, id, None, FormErrors::new(), String::new(), StatusCode::OK).await
}

pub async fn members_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(input): PageForm<MemberInput>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageMembers, Some(id)).await?;
    let mut errors = FormErrors::new();
    let role = match input.role.as_str() {
        "aucun" => None,
        r => match Role::parse(r) {
            Ok(r) => Some(r),
            Err(e) => {
                errors.add("role", e.to_string());
                None
            }
        },
    };
    let user = state.store.user_by_email(&input.email).await?.filter(|u| u.is_active());
    if user.is_none() {
        errors.add(
            "email",
            format!(
                "aucun compte actif n'a l'adresse « {} » : l'administrateur de la plateforme doit d'abord le créer",
                input.email.trim()
            ),
        );
    }
    let Some(user) = user.filter(|_| errors.is_empty()) else {
        return members_page(&state, &auth, id, Some(&input), errors, String::new(), StatusCode::BAD_REQUEST).await;
    };
    match state.store.set_role(&auth.actor(Channel::Page), id, user.id, role).await {
        Ok(()) => {}
        // The last coordinator keeps their role.
        Err(StoreError::Invalid(why)) => {
            errors.add("role", why);
            return members_page(&state, &auth, id, Some(&input), errors, String::new(), StatusCode::CONFLICT).await;
        }
        Err(e) => return Err(WebError::from(e).into()),
    }
    let notice = match role {
        Some(r) => format!("{} a désormais le rôle « {} ».", user.name, r.label()),
        None => format!("{} n'a plus de rôle dans cette convention.", user.name),
    };
    members_page(&state, &auth, id, None, FormErrors::new(), notice, StatusCode::OK).await
}

// ---------------------------------------------------------------------------------------------
// History

pub struct HistoryLine {
    pub at: String,
    pub actor: String,
    pub channel: &'static str,
    pub object: String,
    pub object_link: String,
    pub action: String,
    pub changes: Vec<(String, String, String)>,
}

impl HistoryLine {
    pub fn new(e: &AuditEntry) -> Self {
        Self {
            at: datetime_short(e.at),
            actor: e.actor_label.clone(),
            channel: e.channel.label(),
            object: format!("{} : {}", object_label(&e.object_type), e.object_label),
            object_link: format!("?objet={}&id={}", e.object_type, e.object_id),
            action: action_label(&e.action),
            changes: readable_changes(e),
        }
    }
}

/// The changes of an entry as people read them: French labels, values the French way.
pub fn readable_changes(e: &AuditEntry) -> Vec<(String, String, String)> {
    e.changed_fields()
        .into_iter()
        .map(|(k, b, a)| (field_label(&k), field_value(&k, &b), field_value(&k, &a)))
        .collect()
}

/// The French label of a field of the trail (its key is French snake case: `lieu_signature`).
pub fn field_label(key: &str) -> String {
    let known = match key {
        "lieu_signature" => "Lieu de signature",
        "debut" => "Début",
        "fin" => "Fin",
        "publiee" => "Publiée",
        "precedente" | "predecessor_id" => "Convention précédente",
        "partie_id" => "Partie",
        "pilote_organisation" => "Pilote (organisation)",
        "pilote_personne" => "Pilote (personne)",
        "priorite" => "Priorité",
        "intitule" => "Intitulé",
        "visioconference" => "Visioconférence",
        "arrivee" => "Arrivée",
        "depart" => "Départ",
        "annee" => "Année",
        "declare" => "Déclaré",
        "difficultes" => "Difficultés",
        "perimetre" => "Périmètre",
        "points_d_attention" => "Points d'attention",
        "realise" => "Réalisé",
        "reussites" => "Réussites",
        "desactive" => "Désactivé",
        "changement_exige" => "Changement de mot de passe exigé",
        "mot_de_passe" => "Mot de passe",
        "role" => "Rôle",
        "crees" => "Créés",
        "mis_a_jour" => "Mis à jour",
        "millesimes" => "Millésimes",
        "epci_du_fichier" => "EPCI du fichier",
        "communes_du_fichier" => "Communes du fichier",
        "deliberation" => "Délibération",
        "deliberation_date" | "date_deliberation" => "Date de la délibération",
        "date_signature" | "signature_date" => "Date de signature",
        "signataire" => "Signataire",
        "organisation_id" => "Organisation",
        "epci" => "EPCI",
        "demarches" | "approches" => "Approches transversales",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    let spaced = key.replace('_', " ");
    let mut chars = spaced.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// A value of the trail the French way: dates as JJ/MM/AAAA, statuses by their label, lists
/// joined, never raw JSON.
pub fn field_value(key: &str, raw: &str) -> String {
    let raw = raw.trim();
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return d.format("%d/%m/%Y").to_string();
    }
    if key == "statut" {
        if let Some(s) = ctg_domain::plan::FicheStatus::parse_loose(raw) {
            return s.label().to_owned();
        }
    }
    if raw.starts_with('[') || raw.starts_with('{') {
        return match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(serde_json::Value::Array(items)) if items.iter().all(|i| !i.is_object() && !i.is_array()) => items
                .iter()
                .map(|i| match i {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", "),
            Ok(serde_json::Value::Array(items)) => {
                format!("{} élément{}", items.len(), if items.len() > 1 { "s" } else { "" })
            }
            Ok(serde_json::Value::Object(map)) => map
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    let text = match v {
                        serde_json::Value::String(s) => field_value(k, s),
                        serde_json::Value::Bool(b) => if *b { "oui" } else { "non" }.to_owned(),
                        serde_json::Value::Array(a) => {
                            format!("{} élément{}", a.len(), if a.len() > 1 { "s" } else { "" })
                        }
                        serde_json::Value::Object(_) => "…".to_owned(),
                        other => other.to_string(),
                    };
                    format!("{} : {text}", field_label(k))
                })
                .collect::<Vec<_>>()
                .join(" ; "),
            _ => raw.to_owned(),
        };
    }
    raw.to_owned()
}

/// « création », « modification »… with their accents and a capital.
pub fn action_label(action: &str) -> String {
    match action {
        "creation" => "Création".to_owned(),
        "modification" => "Modification".to_owned(),
        "suppression" => "Suppression".to_owned(),
        "import" => "Import".to_owned(),
        other => field_label(other),
    }
}

/// The French name of a type of object of the trail.
pub fn object_label(kind: &str) -> String {
    match kind {
        "membre_instance" => "Membre d'une instance".to_owned(),
        "seance" => "Séance".to_owned(),
        "equipements" => "Équipements".to_owned(),
        "financements" => "Financements".to_owned(),
        "role" => "Rôle".to_owned(),
        other => field_label(other),
    }
}

#[derive(Template)]
#[template(path = "history.html")]
pub struct HistoryPage {
    pub nav: Nav,
    pub title: String,
    pub back: String,
    pub base: String,
    pub lines: Vec<HistoryLine>,
    pub object_type: String,
    pub object_id: String,
    pub from: String,
    pub to: String,
    pub csv_link: String,
    pub errors: FormErrors,
}

#[derive(Debug, Deserialize, Default)]
pub struct HistoryQuery {
    #[serde(default)]
    pub objet: String,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub depuis: String,
    #[serde(default)]
    pub jusqu_au: String,
    #[serde(default)]
    pub format: String,
}

impl HistoryQuery {
    /// The filter it describes; a date that does not parse is reported against its field.
    pub fn filter(&self, convention_id: Option<i64>, errors: &mut FormErrors) -> HistoryFilter {
        let day_start = |d: NaiveDate| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN));
        HistoryFilter {
            convention_id,
            object_type: Some(self.objet.trim().to_owned()).filter(|s| !s.is_empty()),
            object_id: Some(self.id.trim().to_owned()).filter(|s| !s.is_empty()),
            actor_id: None,
            from: form_date(errors, "depuis", &self.depuis).map(day_start),
            to: form_date(errors, "jusqu_au", &self.jusqu_au).and_then(|d| d.succ_opt()).map(day_start),
            limit: Some(if self.format == "csv" { 100_000 } else { 500 }),
        }
    }

    pub fn query_string(&self) -> String {
        let enc = |s: &str| {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        };
        format!(
            "objet={}&id={}&depuis={}&jusqu_au={}",
            enc(&self.objet),
            enc(&self.id),
            enc(&self.depuis),
            enc(&self.jusqu_au)
        )
    }
}

/// The history as CSV: one line per changed field, so that a spreadsheet can filter it. Every cell goes
/// through the export-cleaning of CSV text ([`ctg_report::table::csv_text`]).
/// The two last columns say where the data come from and when ([`ctg_report::table::Source`]).
pub fn history_csv(
    entries: &[AuditEntry],
    filename: &str,
    source: &ctg_report::table::Source,
    dialect: ctg_report::table::CsvDialect,
) -> Result<Response, WebError> {
    let mut w = dialect.writer();
    let io = |e: csv::Error| WebError::Internal(Box::new(e));
    let origin = ctg_report::table::csv_text(&source.origin).into_owned();
    let as_of = source.as_of.to_string();
    w.write_record([
        "date",
        "auteur",
        "canal",
        "convention",
        "objet",
        "objet_id",
        "libelle",
        "action",
        "champ",
        "avant",
        "apres",
        ctg_report::table::SOURCE_KEY,
        ctg_report::table::AS_OF_KEY,
    ])
    .map_err(io)?;
    for e in entries {
        // Europe/Paris, to the minute, as the page shows it.
        let at = ctg_domain::format::paris_time(e.at).format("%Y-%m-%d %H:%M").to_string();
        let conv = e.convention_id.map(|c| c.to_string()).unwrap_or_default();
        let mut fields = readable_changes(e);
        let (object_type, action) = (object_label(&e.object_type), action_label(&e.action));
        if fields.is_empty() {
            fields.push((String::new(), String::new(), String::new()));
        }
        for (field, before, after) in fields {
            let record: [&str; 13] = [
                &at,
                &e.actor_label,
                e.channel.code(),
                &conv,
                &object_type,
                &e.object_id,
                &e.object_label,
                &action,
                &field,
                &before,
                &after,
                &origin,
                &as_of,
            ];
            w.write_record(record.map(ctg_report::table::csv_text).iter().map(|c| c.as_ref())).map_err(io)?;
        }
    }
    let bytes = w.into_inner().map_err(|e| WebError::Internal(Box::new(e.into_error())))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        bytes,
    )
        .into_response())
}

pub async fn history(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    crate::api_query::PageQuery(q): crate::api_query::PageQuery<HistoryQuery>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewHistory, Some(id)).await?;
    let title = state.store.convention_summary(id).await?.title;
    let mut errors = FormErrors::new();
    let filter = q.filter(Some(id), &mut errors);
    let entries = if errors.is_empty() { state.store.history(&filter).await? } else { Vec::new() };
    if q.format.starts_with("csv") && errors.is_empty() {
        let source = crate::export::source(&state, id, &[]).await?;
        let dialect = ctg_report::table::CsvDialect::from_query(Some(&q.format));
        return Ok(history_csv(&entries, &format!("historique-convention-{id}.csv"), &source, dialect)?);
    }
    let page = HistoryPage {
        nav: Nav::of(&auth),
        title: format!("Historique — {title}"),
        back: format!("/conventions/{id}"),
        base: format!("/conventions/{id}/historique"),
        lines: entries.iter().map(HistoryLine::new).collect(),
        object_type: q.objet.clone(),
        object_id: q.id.clone(),
        from: q.depuis.clone(),
        to: q.jusqu_au.clone(),
        csv_link: format!("/conventions/{id}/historique?{}&format=csv", q.query_string()),
        errors,
    };
    let code = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok((code, Html(page.render()?)).into_response())
}

// ---------------------------------------------------------------------------------------------
// Data-exchange agreements (art. 9)

struct AgreementLine {
    id: i64,
    title: String,
    parties: String,
    data: String,
    purpose: String,
    legal_basis: String,
    period: String,
    status: String,
    /// Each recorded step: « Revu par le DPD de l'autre partie le 12/01/2026 par … (CAF) ».
    steps: Vec<String>,
}

#[derive(Template)]
#[template(path = "agreements.html")]
struct AgreementsPage {
    nav: Nav,
    id: i64,
    title: String,
    can_edit: bool,
    lines: Vec<AgreementLine>,
    form: AgreementFields,
    parties: Vec<(String, String)>,
    errors: FormErrors,
}

/// The form of an agreement's content. Its parties are checkboxes named `partie_<id>`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AgreementFields {
    #[serde(default)]
    version: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    proposer: String,
    #[serde(default)]
    proposed_on: String,
    #[serde(default)]
    proposed_by: String,
    #[serde(default)]
    data_categories: String,
    #[serde(default)]
    purpose: String,
    #[serde(default)]
    legal_basis: String,
    #[serde(default)]
    start_date: String,
    #[serde(default)]
    end_date: String,
    /// Only « propose » is accepted at creation; any other status is refused, never lowered.
    #[serde(default)]
    status: String,
    #[serde(flatten)]
    checked: std::collections::BTreeMap<String, String>,
}

impl AgreementFields {
    fn checks(&self, party: &str) -> bool {
        self.checked.contains_key(&format!("partie_{party}"))
    }

    fn party_ids(&self) -> Vec<i64> {
        self.checked.keys().filter_map(|k| k.strip_prefix("partie_")).filter_map(|v| v.parse().ok()).collect()
    }

    fn to_edit(&self, errors: &mut FormErrors, creating: bool) -> Option<(AgreementEdit, Option<NaiveDate>)> {
        for (field, value, label) in [
            ("title", &self.title, "l'intitulé est obligatoire"),
            ("data_categories", &self.data_categories, "indiquez les données échangées"),
            ("purpose", &self.purpose, "indiquez la finalité"),
            ("legal_basis", &self.legal_basis, "indiquez la base légale"),
        ] {
            if value.trim().is_empty() {
                errors.add(field, label);
            }
        }
        let party_ids = self.party_ids();
        if party_ids.len() < 2 {
            errors.add("parties", "cochez au moins deux parties de la convention");
        }
        let proposer = self.proposer.trim().parse::<i64>().ok();
        if proposer.is_none_or(|p| !party_ids.contains(&p)) {
            errors.add("proposer", "choisissez la partie qui propose l'échange parmi les parties cochées");
        }
        let start_date = form_date(errors, "start_date", &self.start_date);
        let end_date = form_date(errors, "end_date", &self.end_date);
        if let (Some(a), Some(b)) = (start_date, end_date) {
            if b < a {
                errors.add("end_date", "la fin précède le début");
            }
        }
        let mut proposed_on = None;
        if creating {
            let status = self.status.trim();
            if !status.is_empty() && status != AgreementStep::Proposed.code() {
                errors.add("status", status_refusal(status));
            }
            proposed_on = form_date(errors, "proposed_on", &self.proposed_on);
            if proposed_on.is_none() && !errors.has("proposed_on") {
                errors.add("proposed_on", "indiquez la date de la proposition");
            }
            if self.proposed_by.trim().is_empty() {
                errors.add("proposed_by", "indiquez qui propose l'accord (nom de la personne)");
            }
        }
        errors.is_empty().then(|| {
            (
                AgreementEdit {
                    title: self.title.clone(),
                    party_ids,
                    proposer_party_id: proposer.unwrap_or_default(),
                    data_categories: self.data_categories.clone(),
                    purpose: self.purpose.clone(),
                    legal_basis: self.legal_basis.clone(),
                    start_date,
                    end_date,
                },
                proposed_on,
            )
        })
    }
}

/// The refusal of a creation asking for another status than « proposé » (art. 9): what may be set.
pub(crate) fn status_refusal(asked: &str) -> String {
    format!(
        "un accord se crée au statut « Proposé » (statut demandé : « {asked} ») ; la revue par le DPD de l'autre \
         partie, puis la signature, puis la fin s'enregistrent ensuite comme étapes, chacune à son tour (art. 9 de \
         la convention)"
    )
}

/// One step as a sentence.
fn step_text(s: &ctg_store::AgreementStepRecord, names: &[(i64, String)]) -> String {
    let party = s.party_id.and_then(|p| names.iter().find(|(i, _)| *i == p)).map(|(_, n)| format!(" ({n})"));
    format!(
        "{} le {} par {}{} — enregistré par {}{}",
        agreement_status_label(&s.step),
        date_short(s.done_on),
        s.done_by,
        party.unwrap_or_default(),
        s.recorded_by,
        s.note.as_deref().map(|n| format!(" ; {n}")).unwrap_or_default()
    )
}

async fn party_names(state: &AppState, id: i64) -> Result<Vec<(i64, String)>, WebError> {
    Ok(state
        .store
        .convention(id)
        .await?
        .parties
        .into_iter()
        .map(|p| {
            let o = p.party.organisation;
            (p.id, o.short_name.filter(|s| !s.trim().is_empty()).unwrap_or(o.name))
        })
        .collect())
}

async fn agreements_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    form: AgreementFields,
    errors: FormErrors,
    code: StatusCode,
) -> Result<Response, PageError> {
    let title = state.store.convention_summary(id).await?.title;
    let names = party_names(state, id).await?;
    let fmt = |d: Option<NaiveDate>| d.map(date_short).unwrap_or_else(|| "…".into());
    let lines = state
        .store
        .agreements(id)
        .await?
        .into_iter()
        .map(|a| AgreementLine {
            id: a.id,
            period: format!("{} → {}", fmt(a.start_date), fmt(a.end_date)),
            status: match ctg_domain::agreement::lapsed_on(a.step(), a.end_date, state.today()) {
                Some(end) => format!(
                    "{} — arrivé à échéance le {} : expiration à enregistrer",
                    agreement_status_label(&a.status),
                    date_short(end)
                ),
                None => agreement_status_label(&a.status).to_owned(),
            },
            steps: a.steps.iter().map(|s| step_text(s, &names)).collect(),
            title: a.title,
            parties: a.parties,
            data: a.data_categories,
            purpose: a.purpose,
            legal_basis: a.legal_basis,
        })
        .collect();
    let page = AgreementsPage {
        nav: Nav::of(auth),
        id,
        title,
        can_edit: state.may(auth, Action::EditAgreements, Some(id)).await,
        lines,
        form,
        parties: names.into_iter().map(|(i, n)| (i.to_string(), n)).collect(),
        errors,
    };
    Ok((code, Html(page.render()?)).into_response())
}

pub async fn agreements(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewAgreements, Some(id)).await?;
    let form = AgreementFields { proposed_on: state.today().to_string(), ..AgreementFields::default() };
    agreements_page(&state, &auth, id, form, FormErrors::new(), StatusCode::OK).await
}

pub async fn agreement_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<AgreementFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditAgreements, Some(id)).await?;
    let mut errors = FormErrors::new();
    let Some((edit, Some(on))) = form.to_edit(&mut errors, true) else {
        return agreements_page(&state, &auth, id, form, errors, StatusCode::BAD_REQUEST).await;
    };
    state.store.create_agreement(&auth.actor(Channel::Page), id, &edit, on, &form.proposed_by).await?;
    Ok(crate::flash::redirect(&format!("/conventions/{id}/accords"), "Accord créé"))
}

/// The form of the next step of an agreement.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StepFields {
    #[serde(default)]
    version: String,
    #[serde(default)]
    step: String,
    #[serde(default)]
    done_on: String,
    #[serde(default)]
    done_by: String,
    #[serde(default)]
    party: String,
    #[serde(default)]
    note: String,
}

#[derive(Template)]
#[template(path = "agreement_edit.html")]
struct AgreementForm {
    nav: Nav,
    id: i64,
    agreement_id: i64,
    form: AgreementFields,
    parties: Vec<(String, String)>,
    /// The content may change (the agreement is « proposé »).
    editable: bool,
    status: &'static str,
    steps: Vec<String>,
    /// The next step: its code and label, if any.
    next: Option<(&'static str, &'static str)>,
    step: StepFields,
    errors: FormErrors,
    conflict: String,
}

/// What an agreement's page shows back after a refused save: the input kept, the errors, a conflict.
struct Shown {
    form: Option<AgreementFields>,
    step: Option<StepFields>,
    errors: FormErrors,
    conflict: String,
    code: StatusCode,
}

async fn agreement_form_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    aid: i64,
    shown: Shown,
) -> Result<Response, PageError> {
    let Shown { form, step, errors, conflict, code } = shown;
    let a = state
        .store
        .agreements(id)
        .await?
        .into_iter()
        .find(|a| a.id == aid)
        .ok_or_else(|| WebError::NotFound(format!("l'accord n° {aid} de cette convention n'existe pas")))?;
    let names = party_names(state, id).await?;
    let stored = AgreementFields {
        version: a.version.to_string(),
        title: a.title.clone(),
        proposer: a.proposer_party_id.map(|p| p.to_string()).unwrap_or_default(),
        data_categories: a.data_categories.clone(),
        purpose: a.purpose.clone(),
        legal_basis: a.legal_basis.clone(),
        start_date: a.start_date.map(|d| d.to_string()).unwrap_or_default(),
        end_date: a.end_date.map(|d| d.to_string()).unwrap_or_default(),
        checked: a.party_ids.iter().map(|p| (format!("partie_{p}"), "on".to_owned())).collect(),
        ..AgreementFields::default()
    };
    let mut form = form.unwrap_or(stored);
    form.version = a.version.to_string();
    let next = a.step().next();
    let mut step = step.unwrap_or_else(|| StepFields { done_on: state.today().to_string(), ..StepFields::default() });
    step.version = a.version.to_string();
    let page = AgreementForm {
        nav: Nav::of(auth),
        id,
        agreement_id: aid,
        form,
        parties: names.iter().map(|(i, n)| (i.to_string(), n.clone())).collect(),
        editable: a.step() == AgreementStep::Proposed,
        status: a.step().label(),
        steps: a.steps.iter().map(|s| step_text(s, &names)).collect(),
        next: next.map(|n| (n.code(), n.label())),
        step,
        errors,
        conflict,
    };
    Ok((code, Html(page.render()?)).into_response())
}

pub async fn agreement_form(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, aid)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::EditAgreements, Some(id)).await?;
    agreement_form_page(
        &state,
        &auth,
        id,
        aid,
        Shown { form: None, step: None, errors: FormErrors::new(), conflict: String::new(), code: StatusCode::OK },
    )
    .await
}

pub async fn agreement_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, aid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<AgreementFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditAgreements, Some(id)).await?;
    let mut errors = FormErrors::new();
    let version: i64 = Version::parse(&form.version)?;
    let Some((edit, _)) = form.to_edit(&mut errors, false) else {
        return agreement_form_page(
            &state,
            &auth,
            id,
            aid,
            Shown { form: Some(form), step: None, errors, conflict: String::new(), code: StatusCode::BAD_REQUEST },
        )
        .await;
    };
    match state.store.update_agreement(&auth.actor(Channel::Page), id, aid, version, &edit).await {
        Ok(_) => Ok(crate::flash::redirect(&format!("/conventions/{id}/accords"), "Accord mis à jour")),
        Err(e) => {
            let (message, _) = conflict(e)?;
            agreement_form_page(
                &state,
                &auth,
                id,
                aid,
                Shown {
                    form: Some(form),
                    step: None,
                    errors: FormErrors::new(),
                    conflict: message,
                    code: StatusCode::CONFLICT,
                },
            )
            .await
        }
    }
}

/// Records the next step of an agreement (art. 9): the review by the other party's DPO, the signature,
/// the end.
pub async fn agreement_step(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, aid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<StepFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditAgreements, Some(id)).await?;
    let mut errors = FormErrors::new();
    let version: i64 = Version::parse(&form.version)?;
    let step = AgreementStep::parse(&form.step);
    if step.is_err() {
        errors.add("step", format!("étape inconnue « {} » (étapes : revu_dpd, signe, expire)", form.step.trim()));
    }
    let done_on = form_date(&mut errors, "done_on", &form.done_on);
    if done_on.is_none() && !errors.has("done_on") {
        errors.add("done_on", "indiquez la date de l'étape");
    }
    if form.done_by.trim().is_empty() {
        errors.add("done_by", "indiquez qui a fait l'étape (nom de la personne)");
    }
    let party = match form.party.trim() {
        "" => None,
        raw => match raw.parse::<i64>() {
            Ok(p) => Some(p),
            Err(_) => {
                errors.add("party", format!("partie illisible « {raw} »"));
                None
            }
        },
    };
    let (Ok(step), Some(done_on), true) = (step, done_on, errors.is_empty()) else {
        return agreement_form_page(
            &state,
            &auth,
            id,
            aid,
            Shown { form: None, step: Some(form), errors, conflict: String::new(), code: StatusCode::BAD_REQUEST },
        )
        .await;
    };
    let new = NewAgreementStep {
        step,
        done_on,
        done_by: form.done_by.clone(),
        party_id: party,
        note: Some(form.note.clone()).filter(|n| !n.trim().is_empty()),
    };
    match state.store.record_agreement_step(&auth.actor(Channel::Page), id, aid, version, &new).await {
        Ok(_) => Ok(crate::flash::redirect(
            &format!("/conventions/{id}/accords/{aid}/modifier"),
            "Étape de l'accord enregistrée",
        )),
        Err(StoreError::Invalid(message)) => {
            errors.add("step", message);
            agreement_form_page(
                &state,
                &auth,
                id,
                aid,
                Shown { form: None, step: Some(form), errors, conflict: String::new(), code: StatusCode::BAD_REQUEST },
            )
            .await
        }
        Err(e) => {
            let (message, _) = conflict(e)?;
            agreement_form_page(
                &state,
                &auth,
                id,
                aid,
                Shown {
                    form: None,
                    step: Some(form),
                    errors: FormErrors::new(),
                    conflict: message,
                    code: StatusCode::CONFLICT,
                },
            )
            .await
        }
    }
}

#[cfg(test)]
mod history_tests {
    use super::{action_label, field_label, field_value};

    #[test]
    fn the_trail_reads_in_french() {
        assert_eq!(field_label("lieu_signature"), "Lieu de signature");
        assert_eq!(field_label("deliberation_date"), "Date de la délibération");
        assert_eq!(field_label("public_vise"), "Public vise");
        assert_eq!(action_label("creation"), "Création");
        assert_eq!(field_value("fin", "2026-06-30"), "30/06/2026");
        assert_eq!(field_value("statut", "en_cours"), "En cours");
        assert_eq!(field_value("communes", r#"["Béthune","Lillers"]"#), "Béthune, Lillers");
        assert_eq!(field_value("x", r#"{"debut":"2026-01-01","publiee":true}"#), "Début : 01/01/2026 ; Publiée : oui");
        assert_eq!(field_value("lignes", r#"[{"a":1},{"b":2}]"#), "2 éléments");
    }
}
