//! The strategy of a convention, editable: enjeux → ambitions (from the convention) → objectives, on a
//! page and through the API.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use ctg_domain::access::Action;
use ctg_domain::plan::Objective;
use ctg_domain::Channel;
use ctg_store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::convention::api::{authorize_write, VersionDto};
use crate::extract::{ApiJson, Ids, PageForm, Version};
use crate::views::{FormErrors, Nav};
use crate::{ApiError, AppState, PageError, WebError};

pub(crate) struct StrategyAmbition {
    id: i64,
    version: i64,
    number: i64,
    title: String,
    note: String,
    /// (id, version, code, title)
    objectives: Vec<(i64, i64, String, String)>,
}

pub(crate) struct StrategyStake {
    id: i64,
    version: i64,
    number: i64,
    title: String,
    description: String,
    ambitions: Vec<StrategyAmbition>,
}

#[derive(Template)]
#[template(path = "strategy.html")]
struct StrategyPage {
    nav: Nav,
    id: i64,
    title: String,
    can_edit: bool,
    stakes: Vec<StrategyStake>,
    ambitions: Vec<(String, String)>,
    stake_options: Vec<(String, String)>,
    approaches: Vec<String>,
    form: ObjectiveFields,
    errors: FormErrors,
}

#[derive(Debug, Default, Deserialize)]
pub struct ObjectiveFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub ambition: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub title: String,
}

impl ObjectiveFields {
    fn to_objective(&self, errors: &mut FormErrors) -> Option<Objective> {
        let ambition =
            self.ambition.trim().parse::<i64>().map_err(|_| errors.add("ambition", "choisissez une ambition")).ok();
        if self.code.trim().is_empty() {
            errors.add("code", "le code de l'objectif est obligatoire (par exemple 1.2)");
        }
        if self.title.trim().is_empty() {
            errors.add("title", "l'intitulé de l'objectif est obligatoire");
        }
        (errors.is_empty()).then(|| Objective {
            code: self.code.trim().to_owned(),
            title: self.title.trim().to_owned(),
            ambition: ambition.unwrap_or_default(),
        })
    }
}

async fn page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    form: ObjectiveFields,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let plan = state.store.plan(id).await?;
    let detail = state.store.convention(id).await?;
    let (stake_items, ambition_items) = state.store.strategy_items(id).await?;
    let stakes = stake_items
        .iter()
        .map(|st| StrategyStake {
            id: st.id,
            version: st.version,
            number: st.number,
            title: st.title.clone(),
            description: st.text.clone().unwrap_or_default(),
            ambitions: ambition_items
                .iter()
                .filter(|a| a.stake == Some(st.number))
                .map(|a| StrategyAmbition {
                    id: a.id,
                    version: a.version,
                    number: a.number,
                    title: a.title.clone(),
                    note: a.text.clone().unwrap_or_default(),
                    objectives: plan
                        .objectives
                        .iter()
                        .filter(|o| o.objective.ambition == a.number)
                        .map(|o| (o.id, o.version, o.objective.code.clone(), o.objective.title.clone()))
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let page = StrategyPage {
        nav: Nav::of(auth),
        id,
        title: detail.summary.title.clone(),
        can_edit: state.may(auth, Action::EditPlan, Some(id)).await,
        ambitions: plan
            .stakes
            .iter()
            .flat_map(|(_, _, a)| a.iter())
            .map(|(n, t)| (n.to_string(), format!("{n}. {t}")))
            .collect(),
        approaches: detail.approaches.iter().map(|a| a.title.clone()).collect(),
        stake_options: stake_items
            .iter()
            .map(|st| (st.number.to_string(), format!("{}. {}", st.number, st.title)))
            .collect(),
        stakes,
        form,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn strategy(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    page(&state, &auth, id, ObjectiveFields::default(), FormErrors::new(), StatusCode::OK).await
}

/// The path of an objective: `objective` is absent when one is added.
#[derive(Debug, Deserialize)]
pub struct ObjectivePath {
    id: i64,
    objective: Option<i64>,
}

/// The path of an enjeu or an ambition: `item` is absent when one is added.
#[derive(Debug, Deserialize)]
pub struct ItemPath {
    id: i64,
    level: String,
    item: Option<i64>,
}

/// Adds an objective, or saves one (`objective` in the path).
pub async fn objective_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids(ObjectivePath { id, objective }): Ids<ObjectivePath>,
    PageForm(form): PageForm<ObjectiveFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditPlan, Some(id)).await?;
    let mut errors = FormErrors::new();
    let Some(objective_fields) = form.to_objective(&mut errors) else {
        return page(&state, &auth, id, form, errors, StatusCode::BAD_REQUEST).await;
    };
    let actor = auth.actor(Channel::Page);
    let result = match objective {
        None => state.store.create_objective(&actor, id, &objective_fields).await.map(|_| ()),
        Some(oid) => {
            let version = Version::parse(&form.version)?;
            state.store.update_objective(&actor, id, oid, version, &objective_fields).await.map(|_| ())
        }
    };
    match result {
        Ok(()) => Ok(crate::flash::redirect(&format!("/conventions/{id}/strategie"), "Objectif enregistré")),
        Err(StoreError::Stale { what, last_change }) => {
            let mut errors = FormErrors::new();
            errors.add("", crate::error::stale_message(&what, last_change.as_deref()));
            page(&state, &auth, id, form, errors, StatusCode::CONFLICT).await
        }
        Err(StoreError::Invalid(m)) => {
            let mut errors = FormErrors::new();
            errors.add("", m);
            page(&state, &auth, id, form, errors, StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ItemFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub stake: String,
    #[serde(default)]
    pub number: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub text: String,
}

/// Adds an enjeu or an ambition (`/strategie/enjeux`, `/strategie/ambitions`), or saves one (with its
/// id in the path).
pub async fn item_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids(ItemPath { id, level, item }): Ids<ItemPath>,
    PageForm(form): PageForm<ItemFields>,
) -> Result<Response, PageError> {
    use ctg_store::{NewStrategyItem, StrategyLevel};
    state.authorize_write(&auth, Action::EditPlan, Some(id)).await?;
    let level = match Some(level.as_str()) {
        Some("enjeux") => StrategyLevel::Stake,
        Some("ambitions") => StrategyLevel::Ambition,
        other => {
            return Err(WebError::NotFound(format!("la page /strategie/{} n'existe pas", other.unwrap_or(""))).into())
        }
    };
    let actor = auth.actor(Channel::Page);
    let text = Some(form.text.as_str());
    let result = match item {
        None => {
            let number = form.number.trim().parse::<i64>();
            let Ok(number) = number else {
                let mut errors = FormErrors::new();
                errors.add("", format!("numéro invalide « {} »", form.number.trim()));
                return page(&state, &auth, id, ObjectiveFields::default(), errors, StatusCode::BAD_REQUEST).await;
            };
            let new = NewStrategyItem {
                level,
                stake: form.stake.trim().parse().ok(),
                number,
                title: form.title.clone(),
                text: Some(form.text.clone()),
            };
            state.store.add_strategy_item(&actor, id, &new).await.map(|_| ())
        }
        Some(item) => {
            let version = Version::parse(&form.version)?;
            state.store.update_strategy_item(&actor, id, level, (item, version), (&form.title, text)).await.map(|_| ())
        }
    };
    match result {
        Ok(()) => Ok(crate::flash::redirect(&format!("/conventions/{id}/strategie"), "Stratégie mise à jour")),
        Err(StoreError::Stale { what, last_change }) => {
            let mut errors = FormErrors::new();
            errors.add("", crate::error::stale_message(&what, last_change.as_deref()));
            page(&state, &auth, id, ObjectiveFields::default(), errors, StatusCode::CONFLICT).await
        }
        Err(StoreError::Invalid(m)) => {
            let mut errors = FormErrors::new();
            errors.add("", m);
            page(&state, &auth, id, ObjectiveFields::default(), errors, StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectifSaisieDto {
    /// Obligatoire pour un `PUT` : la version lue.
    #[serde(default)]
    pub version: Option<Version>,
    /// Le numéro de l'ambition.
    pub ambition: i64,
    /// Par exemple « 1.2 » ; unique dans la convention.
    pub code: String,
    pub intitule: String,
}

/// Ajoute un objectif à une ambition.
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/plan/objectifs",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body = ObjectifSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 201, description = "Créé : le numéro de l'objectif", body = crate::governance::api::CreeDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn api_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    ApiJson(b): ApiJson<ObjectifSaisieDto>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    authorize_write(&state, &auth, Action::EditPlan, id).await?;
    let o = Objective { code: b.code, title: b.intitule, ambition: b.ambition };
    let oid = state.store.create_objective(&auth.actor(Channel::Api), id, &o).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": oid }))))
}

/// Modifie un objectif, à partir de la version lue.
#[utoipa::path(
    put,
    path = "/api/v1/conventions/{id}/plan/objectifs/{objectif}",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("objectif" = i64, Path, description = "Numéro de l'objectif")),
    request_body = ObjectifSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 200, description = "Enregistré : la nouvelle version de l'objectif", body = VersionDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound)),
        (status = 409, response = inline(crate::error::Conflict))
    )
)]
pub async fn api_update(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, oid)): Ids<(i64, i64)>,
    ApiJson(b): ApiJson<ObjectifSaisieDto>,
) -> Result<Json<VersionDto>, ApiError> {
    authorize_write(&state, &auth, Action::EditPlan, id).await?;
    let version = b.version.ok_or_else(|| WebError::BadRequest("« version » est obligatoire pour modifier".into()))?;
    let o = Objective { code: b.code, title: b.intitule, ambition: b.ambition };
    let version = state.store.update_objective(&auth.actor(Channel::Api), id, oid, version.0, &o).await?;
    Ok(Json(VersionDto { version }))
}
