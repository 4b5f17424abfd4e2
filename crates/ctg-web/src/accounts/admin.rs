//! Administration: accounts, the GDPR register, a person's export and erasure, the whole history.

use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use ctg_domain::access::Action;
use ctg_domain::format::datetime_short;
use ctg_domain::Channel;
use ctg_store::{one_time_password, NewUser, ProcessingActivity, StoreError};
use serde::Deserialize;

use crate::auth::Auth;
use ctg_report::table::CsvDialect;

use crate::convention::edit::{history_csv, HistoryLine, HistoryPage, HistoryQuery};
use crate::error::stale_message;
use crate::extract::{Ids, PageForm, Version};
use crate::views::{FormErrors, Nav};
use crate::{AppState, PageError, WebError};

// ---------------------------------------------------------------------------------------------
// The register of processing activities (art. 30 GDPR)

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    nav: Nav,
    can_edit: bool,
    activities: Vec<ProcessingActivity>,
}

pub async fn register(State(state): State<AppState>, auth: Auth) -> Result<Html<String>, PageError> {
    state.authorize(&auth, Action::ViewRegister, None).await?;
    let page = RegisterPage {
        nav: Nav::of(&auth),
        can_edit: state.may(&auth, Action::EditRegister, None).await,
        activities: state.store.processing_activities().await?,
    };
    Ok(Html(page.render()?))
}

pub async fn register_csv(
    State(state): State<AppState>,
    auth: Auth,
    crate::api_query::PageQuery(q): crate::api_query::PageQuery<crate::export::CsvQuery>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewRegister, None).await?;
    let activities = state.store.processing_activities().await?;
    let mut w = q.dialect().writer();
    let io = |e: csv::Error| WebError::Internal(Box::new(e));
    // Where the data come from and when, as in every export (the two last columns).
    let (origin, as_of) = ("Plateforme CTG, registre des activités de traitement", state.today().to_string());
    if let Some(first) = activities.first() {
        let keys = first.fields().iter().map(|(key, _, _)| *key).collect::<Vec<_>>();
        w.write_record(keys.into_iter().chain([ctg_report::table::SOURCE_KEY, ctg_report::table::AS_OF_KEY]))
            .map_err(io)?;
    }
    for a in &activities {
        // The export-cleaning of CSV text, as in every CSV the platform writes.
        let cells = a.fields().iter().map(|(_, _, v)| ctg_report::table::csv_text(v).into_owned()).collect::<Vec<_>>();
        w.write_record(cells.into_iter().chain([origin.to_owned(), as_of.clone()])).map_err(io)?;
    }
    let bytes = w.into_inner().map_err(|e| WebError::Internal(Box::new(e.into_error())))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"registre-des-traitements.csv\""),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "activity_edit.html")]
struct ActivityForm {
    nav: Nav,
    activity: ProcessingActivity,
    errors: FormErrors,
    conflict: String,
}

#[derive(Debug, Deserialize)]
pub struct ActivityInput {
    #[serde(default)]
    version: String,
    #[serde(default)]
    nom: String,
    #[serde(default)]
    responsable: String,
    #[serde(default)]
    contact_dpd: String,
    #[serde(default)]
    finalites: String,
    #[serde(default)]
    base_legale: String,
    #[serde(default)]
    personnes_concernees: String,
    #[serde(default)]
    categories_de_donnees: String,
    #[serde(default)]
    destinataires: String,
    #[serde(default)]
    transferts: String,
    #[serde(default)]
    duree_de_conservation: String,
    #[serde(default)]
    mesures_de_securite: String,
}

async fn activity(state: &AppState, id: i64) -> Result<ProcessingActivity, WebError> {
    state
        .store
        .processing_activities()
        .await?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| WebError::NotFound(format!("le traitement n° {id} n'existe pas")))
}

pub async fn activity_form(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
) -> Result<Html<String>, PageError> {
    state.authorize(&auth, Action::EditRegister, None).await?;
    let activity = activity(&state, id).await?;
    Ok(Html(
        ActivityForm { nav: Nav::of(&auth), activity, errors: FormErrors::new(), conflict: String::new() }.render()?,
    ))
}

pub async fn activity_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(i): PageForm<ActivityInput>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditRegister, None).await?;
    let current = activity(&state, id).await?;
    let edit = ProcessingActivity {
        id: current.id,
        version: Version::parse(&i.version)?,
        name: i.nom,
        controller: i.responsable,
        dpo_contact: i.contact_dpd,
        purposes: i.finalites,
        legal_basis: i.base_legale,
        data_subjects: i.personnes_concernees,
        data_categories: i.categories_de_donnees,
        recipients: i.destinataires,
        transfers: i.transferts,
        retention: i.duree_de_conservation,
        security_measures: i.mesures_de_securite,
    };
    let mut errors = FormErrors::new();
    for (key, label, value) in edit.fields() {
        if value.trim().is_empty() {
            errors.add(key, format!("« {label} » est obligatoire"));
        }
    }
    if !errors.is_empty() {
        let page = ActivityForm { nav: Nav::of(&auth), activity: edit, errors, conflict: String::new() };
        return Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response());
    }
    match state.store.update_processing_activity(&auth.actor(Channel::Page), &edit).await {
        Ok(_) => Ok(crate::flash::redirect("/rgpd/registre", "Traitement mis à jour")),
        Err(StoreError::Stale { what, last_change }) => {
            let fresh = activity(&state, id).await?;
            let page = ActivityForm {
                nav: Nav::of(&auth),
                activity: ProcessingActivity { version: fresh.version, ..edit },
                errors: FormErrors::new(),
                conflict: stale_message(&what, last_change.as_deref()),
            };
            Ok((StatusCode::CONFLICT, Html(page.render()?)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Accounts

struct UserLine {
    id: i64,
    name: String,
    email: String,
    admin: bool,
    state: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    nav: Nav,
    users: Vec<UserLine>,
    name: String,
    email: String,
    admin: bool,
    organisation: String,
    organisations: Vec<(String, String)>,
    errors: FormErrors,
    notice: String,
    one_time_password: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct UserInput {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    admin: Option<String>,
    #[serde(default)]
    organisation: String,
}

async fn users_page(
    state: &AppState,
    auth: &Auth,
    input: &UserInput,
    errors: FormErrors,
    notice: String,
    one_time_password: String,
    code: StatusCode,
) -> Result<Response, PageError> {
    let users = state
        .store
        .users()
        .await?
        .into_iter()
        .map(|u| UserLine {
            id: u.id,
            active: u.is_active(),
            state: match (u.erased_at, u.disabled_at) {
                (Some(t), _) => format!("effacé le {}", datetime_short(t)),
                (None, Some(t)) => format!("désactivé le {}", datetime_short(t)),
                (None, None) if u.must_change_password => "actif (mot de passe à changer)".into(),
                (None, None) => "actif".into(),
            },
            name: u.name,
            email: u.email,
            admin: u.is_admin,
        })
        .collect();
    let page = UsersPage {
        nav: Nav::of(auth),
        users,
        name: input.name.clone(),
        email: input.email.clone(),
        admin: input.admin.is_some(),
        organisation: input.organisation.clone(),
        organisations: state
            .store
            .organisations()
            .await?
            .into_iter()
            .map(|(id, name, short)| (id.to_string(), short.map(|s| format!("{name} ({s})")).unwrap_or(name)))
            .collect(),
        errors,
        notice,
        one_time_password,
    };
    Ok((code, Html(page.render()?)).into_response())
}

pub async fn users(State(state): State<AppState>, auth: Auth) -> Result<Response, PageError> {
    state.authorize(&auth, Action::Administer, None).await?;
    users_page(&state, &auth, &UserInput::default(), FormErrors::new(), String::new(), String::new(), StatusCode::OK)
        .await
}

pub async fn user_create(
    State(state): State<AppState>,
    auth: Auth,
    PageForm(input): PageForm<UserInput>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::Administer, None).await?;
    let mut errors = FormErrors::new();
    if input.name.trim().is_empty() {
        errors.add("name", "le nom est obligatoire");
    }
    if ctg_store::normalise_email(&input.email).is_err() {
        errors.add("email", format!("adresse électronique invalide « {} »", input.email.trim()));
    }
    let organisation_id = match input.organisation.trim() {
        "" => None,
        raw => match raw.parse::<i64>().ok().filter(|id| *id > 0) {
            Some(id) => Some(id),
            None => {
                errors.add("organisation", "organisation inconnue");
                None
            }
        },
    };
    if let Some(id) = organisation_id {
        if !state.store.organisations().await?.iter().any(|(o, _, _)| *o == id) {
            errors.add("organisation", "organisation inconnue");
        }
    }
    if !errors.is_empty() {
        return users_page(&state, &auth, &input, errors, String::new(), String::new(), StatusCode::BAD_REQUEST).await;
    }
    let password = one_time_password();
    let new = NewUser {
        name: &input.name,
        email: &input.email,
        organisation_id,
        is_admin: input.admin.is_some(),
        password: Some(&password),
        must_change_password: true,
    };
    match state.store.create_user(&auth.actor(Channel::Page), &new).await {
        Ok(_) => {
            let notice = format!("Le compte de {} est créé. Transmettez-lui ce mot de passe à usage unique par un canal sûr : il devra le changer à sa première connexion.", input.name.trim());
            users_page(&state, &auth, &UserInput::default(), FormErrors::new(), notice, password, StatusCode::OK).await
        }
        Err(StoreError::Invalid(m)) => {
            errors.add("email", m);
            users_page(&state, &auth, &input, errors, String::new(), String::new(), StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    confirmation: String,
}

pub async fn user_disable(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(_form): PageForm<ConfirmForm>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::Administer, None).await?;
    if auth.user.as_ref().is_some_and(|u| u.id == id) {
        return Err(WebError::BadRequest("vous ne pouvez pas désactiver votre propre compte".into()).into());
    }
    state.store.disable_user(&auth.actor(Channel::Page), id).await?;
    let name = state.store.user(id).await?.name;
    users_page(
        &state,
        &auth,
        &UserInput::default(),
        FormErrors::new(),
        format!("Le compte de {name} est désactivé."),
        String::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn user_export(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize(&auth, Action::Administer, None).await?;
    let data = state.store.export_person(id).await?;
    let body = serde_json::to_vec_pretty(&data).map_err(|e| WebError::Internal(Box::new(e)))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"donnees-personnelles-compte-{id}.json\"")),
        ],
        body,
    )
        .into_response())
}

pub async fn user_erase(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<ConfirmForm>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::Administer, None).await?;
    if auth.user.as_ref().is_some_and(|u| u.id == id) {
        return Err(WebError::BadRequest("vous ne pouvez pas effacer votre propre compte".into()).into());
    }
    if form.confirmation.trim() != "EFFACER" {
        return Err(WebError::BadRequest(
            "pour effacer, saisissez EFFACER en capitales dans le champ de confirmation".into(),
        )
        .into());
    }
    let pseudonym = state.store.erase_person(&auth.actor(Channel::Page), id).await?;
    users_page(
        &state,
        &auth,
        &UserInput::default(),
        FormErrors::new(),
        format!("La personne est effacée ; le journal ne garde que le pseudonyme {pseudonym}."),
        String::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn history(
    State(state): State<AppState>,
    auth: Auth,
    crate::api_query::PageQuery(q): crate::api_query::PageQuery<HistoryQuery>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::Administer, None).await?;
    let mut errors = FormErrors::new();
    let filter = q.filter(None, &mut errors);
    let entries = if errors.is_empty() { state.store.history(&filter).await? } else { Vec::new() };
    if q.format.starts_with("csv") && errors.is_empty() {
        let source = ctg_report::table::Source {
            origin: "Plateforme CTG, historique de toutes les conventions".into(),
            as_of: state.today(),
        };
        return Ok(history_csv(
            &entries,
            "historique-plateforme.csv",
            &source,
            CsvDialect::from_query(Some(&q.format)),
        )?);
    }
    let page = HistoryPage {
        nav: Nav::of(&auth),
        title: "Historique de la plateforme".into(),
        back: "/".into(),
        base: "/admin/historique".into(),
        lines: entries.iter().map(HistoryLine::new).collect(),
        object_type: q.objet.clone(),
        object_id: q.id.clone(),
        from: q.depuis.clone(),
        to: q.jusqu_au.clone(),
        csv_link: format!("/admin/historique?{}&format=csv", q.query_string()),
        errors,
    };
    let code = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok((code, Html(page.render()?)).into_response())
}
