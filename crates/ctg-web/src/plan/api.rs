//! The action plan in the JSON API: the tree with its progress, the fiches, sub-actions, means,
//! indicators and their values, the lateness list and the evaluation.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use ctg_domain::access::Action;
use ctg_domain::funds::{match_party, party_by_id, PartyRef};
use ctg_domain::plan::{FicheStatus, IndicatorValue, Means, MeansKind, NewFiche, PlanIndicator, Priority, SubAction};
use ctg_domain::{Channel, InseeCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::convention::api::{authorize_write, VersionDto};
use crate::extract::{ApiJson, Ids, Version};
use crate::plan::PlanView;

use crate::{ApiError, AppState, WebError};

#[derive(Debug, Serialize, ToSchema)]
pub struct SousActionDto {
    pub id: i64,
    pub version: i64,
    pub parent: Option<i64>,
    pub intitule: String,
    /// a_venir, en_cours, realisee, en_pause, abandonnee ou en_retard.
    pub statut: String,
    pub pilote: String,
    pub debut: Option<NaiveDate>,
    pub fin: Option<NaiveDate>,
}

/// Une ligne de moyens : ce qu'une partie de la convention engage pour une fiche et une année. La
/// partie se donne par `partie_id`, ou par `organisation` (son nom ou son sigle) ; les deux donnés
/// doivent désigner la même. Un montant nul (`null`) ou absent est inconnu, jamais 0.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MoyenDto {
    #[serde(default)]
    pub partie_id: Option<i64>,
    #[serde(default)]
    pub organisation: Option<String>,
    pub annee: i32,
    /// En centièmes d'équivalent temps plein (50 = 0,5 ETP).
    pub etp_centiemes: i64,
    #[serde(default)]
    pub prevu_centimes: Option<i64>,
    #[serde(default)]
    pub depense_centimes: Option<i64>,
    /// fonctionnement ou investissement.
    pub nature: String,
    #[serde(default)]
    pub materiel: String,
}

impl MoyenDto {
    fn of(m: &Means) -> Self {
        Self {
            partie_id: Some(m.party_id),
            organisation: Some(m.organisation.clone()),
            annee: m.year,
            etp_centiemes: m.fte_hundredths,
            prevu_centimes: m.planned_cents,
            depense_centimes: m.spent_cents,
            nature: m.kind.code().into(),
            materiel: m.material.clone(),
        }
    }

    fn to_means(&self, parties: &[PartyRef]) -> Result<Means, WebError> {
        let bad = |e: String| WebError::BadRequest(format!("moyens de {} : {e}", self.annee));
        let party = match (self.partie_id, self.organisation.as_deref()) {
            (Some(id), named) => {
                let p = party_by_id(parties, id).map_err(bad)?;
                if let Some(n) = named.filter(|n| !n.trim().is_empty() && !p.is_named(n)) {
                    return Err(bad(format!("« {n} » ne désigne pas la partie n° {id} ({})", p.label())));
                }
                p
            }
            (None, named) => match_party(parties, named.unwrap_or("")).map_err(bad)?,
        };
        Ok(Means {
            party_id: party.id,
            organisation: party.label().to_owned(),
            year: self.annee,
            fte_hundredths: self.etp_centiemes,
            planned_cents: self.prevu_centimes,
            spent_cents: self.depense_centimes,
            kind: MeansKind::parse(&self.nature).map_err(|e| WebError::BadRequest(e.to_string()))?,
            material: self.materiel.clone(),
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FicheDto {
    pub id: i64,
    pub version: i64,
    pub code: String,
    pub intitule: String,
    pub description: String,
    pub ambitions: Vec<i64>,
    pub objectifs: Vec<String>,
    pub pilote_organisation: String,
    pub pilote_personne: String,
    pub partenaires: Vec<String>,
    pub public: String,
    /// Codes INSEE ; vide pour tout le territoire.
    pub communes: Vec<String>,
    pub debut: Option<NaiveDate>,
    pub fin: Option<NaiveDate>,
    pub priorite: Option<String>,
    pub statut: String,
    pub demarches: Vec<String>,
    pub besoins: String,
    /// En pourcentage ; nul pour une fiche abandonnée.
    pub avancement: Option<f64>,
    pub completude: u32,
    pub champs_manquants: Vec<String>,
    pub sous_actions: Vec<SousActionDto>,
    pub moyens: Vec<MoyenDto>,
    pub indicateurs: Vec<i64>,
}

fn fiche_dto(v: &PlanView, f: &ctg_store::FicheRecord) -> FicheDto {
    let d = &f.fiche;
    let (missing, completeness) = v.completeness(f);
    FicheDto {
        id: f.id,
        version: f.version,
        code: d.code.clone(),
        intitule: d.title.clone(),
        description: d.description.clone(),
        ambitions: d.ambitions.clone(),
        objectifs: d.objectives.clone(),
        pilote_organisation: d.pilot_organisation.clone(),
        pilote_personne: d.pilot_person.clone(),
        partenaires: d.partners.clone(),
        public: d.public.clone(),
        communes: d.communes.iter().map(InseeCode::to_string).collect(),
        debut: d.start,
        fin: d.end,
        priorite: d.priority.map(|p| p.code().to_owned()),
        statut: d.status.code().into(),
        demarches: d.approaches.clone(),
        besoins: d.needs.clone(),
        avancement: v.fiche_progress[&f.id],
        completude: completeness,
        champs_manquants: missing.iter().map(|m| (*m).to_owned()).collect(),
        sous_actions: f
            .subs
            .iter()
            .map(|s| SousActionDto {
                id: s.sub.id,
                version: s.version,
                parent: s.sub.parent,
                intitule: s.sub.title.clone(),
                statut: s.sub.status.code().into(),
                pilote: s.sub.pilot.clone(),
                debut: s.sub.start,
                fin: s.sub.end,
            })
            .collect(),
        moyens: f.means.iter().map(MoyenDto::of).collect(),
        indicateurs: v.indicators_of(f.id).map(|i| i.id).collect(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AmbitionPlanDto {
    pub numero: i64,
    pub intitule: String,
    pub avancement: Option<f64>,
    pub objectifs: Vec<ObjectifDto>,
    pub fiches: Vec<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectifDto {
    pub code: String,
    pub intitule: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnjeuPlanDto {
    pub numero: i64,
    pub titre: String,
    pub avancement: Option<f64>,
    pub ambitions: Vec<AmbitionPlanDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IndicateurPlanDto {
    pub id: i64,
    pub version: i64,
    pub fiche: Option<i64>,
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    /// en_bonne_voie, en_retard, valeur_manquante ou pas_d_echeance.
    pub etat: String,
    pub etat_libelle: String,
    #[schema(value_type = Vec<Object>)]
    pub valeurs: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanDto {
    pub convention_id: i64,
    /// Moyenne des fiches (règles dans docs/ARCHITECTURE.md).
    pub avancement: Option<f64>,
    pub enjeux: Vec<EnjeuPlanDto>,
    pub fiches: Vec<FicheDto>,
    pub indicateurs: Vec<IndicateurPlanDto>,
    /// Ce qui est en retard : (objet, raison).
    pub retards: Vec<RetardDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RetardDto {
    pub objet: String,
    pub raison: String,
    pub lien: String,
}

fn indicator_dto(v: &PlanView, i: &ctg_store::IndicatorRecord) -> IndicateurPlanDto {
    let t = &v.tracking[&i.id];
    IndicateurPlanDto {
        id: i.id,
        version: i.version,
        fiche: i.fiche_id,
        definition: serde_json::to_value(&i.indicator).unwrap_or_default(),
        etat: t.code().into(),
        etat_libelle: t.label(),
        valeurs: serde_json::to_value(&i.values).unwrap_or_default(),
    }
}

/// Le plan d'action : enjeux, ambitions et objectifs avec leur avancement, fiches, indicateurs et retards.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/plan",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses(
        (status = 200, description = "Le plan d'action et son avancement", body = PlanDto),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn plan(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Json<PlanDto>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    Ok(Json(PlanDto {
        convention_id: id,
        avancement: v.overall,
        enjeux: v
            .plan
            .stakes
            .iter()
            .map(|(n, t, ambitions)| EnjeuPlanDto {
                numero: *n,
                titre: t.clone(),
                avancement: v.stake_progress.get(n).copied().flatten(),
                ambitions: ambitions
                    .iter()
                    .map(|(a, at)| AmbitionPlanDto {
                        numero: *a,
                        intitule: at.clone(),
                        avancement: v.ambition_progress.get(a).copied().flatten(),
                        objectifs: v
                            .plan
                            .objectives
                            .iter()
                            .filter(|o| o.objective.ambition == *a)
                            .map(|o| ObjectifDto {
                                code: o.objective.code.clone(),
                                intitule: o.objective.title.clone(),
                            })
                            .collect(),
                        fiches: v.plan.fiches.iter().filter(|f| f.fiche.ambitions.contains(a)).map(|f| f.id).collect(),
                    })
                    .collect(),
            })
            .collect(),
        fiches: v.plan.fiches.iter().map(|f| fiche_dto(&v, f)).collect(),
        indicateurs: v.plan.indicators.iter().map(|i| indicator_dto(&v, i)).collect(),
        retards: v
            .lateness()
            .iter()
            .map(|(link, l)| {
                let (objet, raison) = crate::plan::lateness_text(l);
                RetardDto { objet, raison, lien: link.clone() }
            })
            .collect(),
    }))
}

/// Une fiche action.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/plan/fiches/{fiche}",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("fiche" = i64, Path, description = "Numéro de la fiche")),
    responses(
        (status = 200, description = "La fiche action", body = FicheDto),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn fiche(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
) -> Result<Json<FicheDto>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let f = v
        .plan
        .fiches
        .iter()
        .find(|f| f.id == fid)
        .ok_or_else(|| WebError::NotFound(format!("la fiche n° {fid} n'existe pas dans cette convention")))?;
    Ok(Json(fiche_dto(&v, f)))
}

/// Une fiche à créer (`POST`) ou à remplacer (`PUT`, avec la `version` lue et une `raison` si le statut change).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FicheSaisieDto {
    #[serde(default)]
    pub version: Option<Version>,
    pub code: String,
    pub intitule: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub ambitions: Vec<i64>,
    #[serde(default)]
    pub objectifs: Vec<String>,
    #[serde(default)]
    pub pilote_organisation: String,
    #[serde(default)]
    pub pilote_personne: String,
    #[serde(default)]
    pub partenaires: Vec<String>,
    #[serde(default)]
    pub public: String,
    #[serde(default)]
    pub communes: Vec<String>,
    #[serde(default)]
    pub debut: Option<NaiveDate>,
    #[serde(default)]
    pub fin: Option<NaiveDate>,
    #[serde(default)]
    pub priorite: Option<String>,
    /// Par défaut a_venir ; écrit librement (« En cours »…) il est reconnu.
    #[serde(default)]
    pub statut: Option<String>,
    #[serde(default)]
    pub demarches: Vec<String>,
    #[serde(default)]
    pub besoins: String,
    /// La raison d'un changement de statut, gardée dans l'historique.
    #[serde(default)]
    pub raison: String,
}

impl FicheSaisieDto {
    fn to_new(&self) -> Result<NewFiche, WebError> {
        let bad = |m: String| WebError::BadRequest(m);
        let status = match self.statut.as_deref() {
            None | Some("") => FicheStatus::Upcoming,
            Some(s) => FicheStatus::parse_loose(s).ok_or_else(|| bad(format!("statut inconnu « {s} »")))?,
        };
        let priority = match self.priorite.as_deref() {
            None | Some("") => None,
            Some(p) => Some(Priority::parse_loose(p).ok_or_else(|| bad(format!("priorité inconnue « {p} »")))?),
        };
        Ok(NewFiche {
            code: self.code.clone(),
            title: self.intitule.clone(),
            description: self.description.clone(),
            ambitions: self.ambitions.clone(),
            objectives: self.objectifs.clone(),
            pilot_organisation: self.pilote_organisation.clone(),
            pilot_person: self.pilote_personne.clone(),
            partners: self.partenaires.clone(),
            public: self.public.clone(),
            communes: self
                .communes
                .iter()
                .map(|c| InseeCode::parse(c).map_err(|e| bad(format!("communes : {e}"))))
                .collect::<Result<_, _>>()?,
            start: self.debut,
            end: self.fin,
            priority,
            status,
            approaches: self.demarches.clone(),
            needs: self.besoins.clone(),
        })
    }
}

/// Crée une fiche action.
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/plan/fiches",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body = FicheSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 201, description = "Créée : la fiche action enregistrée", body = FicheDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn create_fiche(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    ApiJson(body): ApiJson<FicheSaisieDto>,
) -> Result<(StatusCode, Json<FicheDto>), ApiError> {
    authorize_write(&state, &auth, Action::EditPlan, id).await?;
    let fid = state.store.create_fiche(&auth.actor(Channel::Api), id, body.to_new()?).await?;
    let v = PlanView::load(&state, id).await?;
    let f = v.plan.fiches.iter().find(|f| f.id == fid).ok_or_else(|| WebError::NotFound("la fiche créée".into()))?;
    Ok((StatusCode::CREATED, Json(fiche_dto(&v, f))))
}

async fn authorize_report(state: &AppState, auth: &Auth, id: i64, fid: i64) -> Result<(), WebError> {
    // The pilot matters only to a contributor: the coordination (and an administrator) reports on every
    // fiche, without reading which organisation pilots this one.
    if authorize_write(state, auth, Action::ReportFiche { pilot_organisation_id: None }, id).await.is_ok() {
        return Ok(());
    }
    let pilot_organisation = state.store.fiche_pilot(id, fid).await?;
    let pilot = state.store.organisation_named(&pilot_organisation).await.ok();
    authorize_write(state, auth, Action::ReportFiche { pilot_organisation_id: pilot }, id).await
}

/// Remplace une fiche action, à partir de la version lue.
#[utoipa::path(
    put,
    path = "/api/v1/conventions/{id}/plan/fiches/{fiche}",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("fiche" = i64, Path, description = "Numéro de la fiche")),
    request_body = FicheSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 200, description = "Enregistré : la nouvelle version de la fiche", body = VersionDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound)),
        (status = 409, response = inline(crate::error::Conflict))
    )
)]
pub async fn update_fiche(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
    ApiJson(body): ApiJson<FicheSaisieDto>,
) -> Result<Json<VersionDto>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    authorize_report(&state, &auth, id, fid).await?;
    let version =
        body.version.ok_or_else(|| WebError::BadRequest("« version » est obligatoire pour modifier".into()))?;
    // The pilot's contributors report the status; the rest of the fiche is the coordination's.
    let new = if state.may(&auth, Action::EditPlan, Some(id)).await {
        body.to_new()?
    } else {
        let current = state.store.fiche(id, fid).await?;
        ctg_domain::plan::contributor_change(&current.fiche, &body.to_new()?)
            .map_err(|changed| WebError::Forbidden(ctg_domain::plan::contributor_change_refusal(&changed)))?
    };
    let version =
        state.store.update_fiche(&auth.actor(Channel::Api), id, fid, version.0, new, body.raison.trim()).await?;
    Ok(Json(VersionDto { version }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SousActionSaisieDto {
    #[serde(default)]
    pub parent: Option<i64>,
    pub intitule: String,
    #[serde(default)]
    pub statut: Option<String>,
    #[serde(default)]
    pub pilote: String,
    #[serde(default)]
    pub debut: Option<NaiveDate>,
    #[serde(default)]
    pub fin: Option<NaiveDate>,
}

/// Ajoute une sous-action à une fiche (deux niveaux : `parent` est une sous-action de premier niveau).
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/plan/fiches/{fiche}/sous-actions",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("fiche" = i64, Path, description = "Numéro de la fiche")),
    request_body = SousActionSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 201, description = "Créée : le numéro de la sous-action", body = crate::governance::api::CreeDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn create_sub_action(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
    ApiJson(b): ApiJson<SousActionSaisieDto>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    authorize_report(&state, &auth, id, fid).await?;
    let status = match b.statut.as_deref() {
        None | Some("") => FicheStatus::Upcoming,
        Some(s) => {
            FicheStatus::parse_loose(s).ok_or_else(|| WebError::BadRequest(format!("statut inconnu « {s} »")))?
        }
    };
    let sub =
        SubAction { id: 0, parent: b.parent, title: b.intitule, status, pilot: b.pilote, start: b.debut, end: b.fin };
    let sid = state.store.add_sub_action(&auth.actor(Channel::Api), id, fid, &sub).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": sid }))))
}

/// Remplace les moyens d'une fiche (par signataire et par année).
#[utoipa::path(
    put,
    path = "/api/v1/conventions/{id}/plan/fiches/{fiche}/moyens",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("fiche" = i64, Path, description = "Numéro de la fiche")),
    request_body = [MoyenDto],
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 204, description = "Moyens remplacés"),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn set_means(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
    ApiJson(b): ApiJson<Vec<MoyenDto>>,
) -> Result<StatusCode, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    authorize_report(&state, &auth, id, fid).await?;
    let parties = state.store.party_refs(id).await?;
    let means = b.iter().map(|m| m.to_means(&parties)).collect::<Result<Vec<_>, _>>()?;
    state.store.set_means(&auth.actor(Channel::Api), id, fid, &means).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Crée un indicateur de suivi, rattaché à une fiche ou au plan (`fiche` nul).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicateurSaisieDto {
    #[serde(default)]
    pub fiche: Option<i64>,
    /// Nom, nature (quantitative ou qualitative) et cibles par année, comme `definition` en lecture.
    #[schema(value_type = Object)]
    pub definition: PlanIndicator,
}

#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/plan/indicateurs",
    summary = "Crée un indicateur de suivi, rattaché à une fiche ou au plan (`fiche` nul).",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body = IndicateurSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 201, description = "Créé : le numéro de l'indicateur", body = crate::governance::api::CreeDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn create_indicator(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    ApiJson(b): ApiJson<IndicateurSaisieDto>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    authorize_write(&state, &auth, Action::EditPlan, id).await?;
    let iid = state.store.create_indicator(&auth.actor(Channel::Api), id, b.fiche, &b.definition).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": iid }))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValeurSaisieDto {
    /// AAAA, ou AAAA-MM.
    pub periode: String,
    #[serde(default)]
    pub valeur: Option<f64>,
    /// Pour un indicateur qualitatif : un niveau de son échelle.
    #[serde(default)]
    pub niveau: Option<String>,
    #[serde(default)]
    pub date: Option<NaiveDate>,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub commentaire: String,
}

/// Enregistre une valeur d'indicateur (l'auteur est la personne connectée).
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/plan/indicateurs/{indicateur}/valeurs",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("indicateur" = i64, Path, description = "Numéro de l'indicateur")),
    request_body = ValeurSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 201, description = "Enregistrée : le numéro de la valeur", body = crate::governance::api::CreeDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn add_value(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, iid)): Ids<(i64, i64)>,
    ApiJson(b): ApiJson<ValeurSaisieDto>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let i = match state.store.indicator_definition(id, iid).await {
        Err(ctg_store::StoreError::NotFound(_)) => {
            return Err(WebError::NotFound(format!("l'indicateur n° {iid} n'existe pas dans cette convention")).into())
        }
        other => other?,
    };
    match i.fiche_id {
        Some(fid) => authorize_report(&state, &auth, id, fid).await?,
        None => authorize_write(&state, &auth, Action::EditPlan, id).await?,
    }
    let value = IndicatorValue {
        period: b.periode,
        number: b.valeur,
        level: b.niveau,
        author: auth.user.as_ref().map(|u| u.name.clone()).unwrap_or_default(),
        date: b.date.unwrap_or_else(|| state.today()),
        source: b.source,
        comment: b.commentaire,
    };
    let vid = state.store.add_indicator_value_to(&auth.actor(Channel::Api), id, &i, &value).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": vid }))))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BilanDto {
    /// ambition, theme, ou vide pour l'ensemble du plan.
    pub perimetre: String,
    pub cle: String,
    pub titre: String,
    /// Les chiffres calculés à partir du plan ; `null` pour un bilan sans données dans la plateforme.
    #[schema(value_type = Option<Object>)]
    pub chiffres: Option<ctg_domain::plan::EvaluationFigures>,
    /// Les chiffres déclarés ; `null` sans bilan enregistré.
    #[schema(value_type = Option<Object>)]
    pub declare: serde_json::Value,
    pub realise: String,
    pub reussites: String,
    pub points_d_attention: String,
    pub preoccupations_des_habitants: String,
}

/// L'évaluation : le bilan final (sans `annee`) ou celui d'une année, par enjeu et par ambition.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/evaluation",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("annee" = Option<String>, Query, description = "Année du bilan (AAAA, de 1990 à 2100) ; absente, vide ou « final » : le bilan final")),
    responses(
        (status = 200, description = "Les bilans de l'année demandée, ou le bilan final", body = [BilanDto]),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn evaluation(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    crate::api_query::ApiQuery(q): crate::api_query::ApiQuery<crate::plan::io::EvaluationQuery>,
) -> Result<Json<Vec<BilanDto>>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let year = crate::plan::io::parse_year(q.annee.as_deref())?;
    let v = PlanView::load(&state, id).await?;
    let reviews = state.store.reviews(id).await?;
    Ok(Json(
        crate::plan::io::sections(&v, &reviews, year)
            .into_iter()
            .map(|s| BilanDto {
                realise: s.text("done"),
                reussites: s.text("successes"),
                points_d_attention: s.text("attention"),
                preoccupations_des_habitants: s.text("concerns"),
                declare: s.review.as_ref().map_or(serde_json::Value::Null, |r| r.review.declared.clone()),
                perimetre: s.kind.to_owned(),
                cle: s.key,
                titre: s.heading,
                chiffres: s.figures,
            })
            .collect(),
    ))
}
