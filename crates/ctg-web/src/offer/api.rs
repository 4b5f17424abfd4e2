//! The offer of services in the JSON API: facilities, coverage, funding lines, the catalogue of types.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use ctg_domain::access::Action;
use ctg_domain::offer::{funding_totals, Dispositif, Facility, FacilityStatus, NewFacility, NewFunding};
use ctg_domain::{Channel, InseeCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api_query::ApiQuery;
use crate::auth::Auth;
use crate::convention::api::{authorize_write, VersionDto};
use crate::extract::{ApiJson, Ids, Version};
use crate::offer::{CoverageView, FacilityFilter, Offer, Shown};

use crate::{ApiError, AppState, WebError};

#[derive(Debug, Serialize, ToSchema)]
pub struct TypeEquipementDto {
    pub code: String,
    pub libelle: String,
    pub theme: String,
    /// eaje, assistants_maternels ou autre : ce que compte la capacité pour le taux de couverture.
    pub places: String,
}

/// Le catalogue des types d'équipement.
#[utoipa::path(
    get,
    path = "/api/v1/types-equipement",
    responses(
        (status = 200, description = "Le catalogue des types d'équipement", body = [TypeEquipementDto])
    )
)]
pub async fn types(State(state): State<AppState>) -> Result<Json<Vec<TypeEquipementDto>>, ApiError> {
    Ok(Json(
        state
            .store
            .facility_types()
            .await?
            .into_iter()
            .map(|t| TypeEquipementDto {
                places: t.places.code().into(),
                code: t.code,
                libelle: t.label,
                theme: t.theme,
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EquipementDto {
    pub id: i64,
    pub version: i64,
    #[serde(rename = "type")]
    pub type_code: String,
    pub type_libelle: String,
    pub nom: String,
    pub gestionnaire: String,
    /// Code INSEE de la commune d'implantation.
    pub commune: String,
    /// Codes INSEE des autres communes desservies.
    pub communes_desservies: Vec<String>,
    pub capacite: Option<i64>,
    pub labels: Vec<String>,
    /// ouvert, en_projet ou ferme.
    pub statut: String,
    pub date_ouverture: Option<NaiveDate>,
    pub date_fermeture: Option<NaiveDate>,
    pub identifiant: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl EquipementDto {
    fn of(offer: &Offer, f: &Facility) -> Self {
        let d = &f.data;
        Self {
            id: f.id,
            version: f.version,
            type_code: d.type_code.clone(),
            type_libelle: offer.type_label(&d.type_code),
            nom: d.name.clone(),
            gestionnaire: d.manager.clone(),
            commune: d.commune.to_string(),
            communes_desservies: d.served.iter().map(InseeCode::to_string).collect(),
            capacite: d.capacity,
            labels: d.labels.clone(),
            statut: d.status.code().into(),
            date_ouverture: d.opened_on,
            date_fermeture: d.closed_on,
            identifiant: d.external_id.clone(),
            latitude: d.latitude,
            longitude: d.longitude,
        }
    }
}

/// Un équipement à créer (`POST`) ou à remplacer (`PUT`, avec la `version` lue).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EquipementSaisieDto {
    /// Obligatoire pour un `PUT` : la version lue.
    #[serde(default)]
    pub version: Option<Version>,
    #[serde(rename = "type")]
    pub type_code: String,
    pub nom: String,
    #[serde(default)]
    pub gestionnaire: String,
    pub commune: String,
    #[serde(default)]
    pub communes_desservies: Vec<String>,
    #[serde(default)]
    pub capacite: Option<i64>,
    #[serde(default)]
    pub labels: Vec<String>,
    /// ouvert (par défaut), en_projet ou ferme.
    #[serde(default)]
    pub statut: Option<String>,
    #[serde(default)]
    pub date_ouverture: Option<NaiveDate>,
    #[serde(default)]
    pub date_fermeture: Option<NaiveDate>,
    #[serde(default)]
    pub identifiant: Option<String>,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
}

impl EquipementSaisieDto {
    fn to_new(&self) -> Result<NewFacility, WebError> {
        let bad = |m: String| WebError::BadRequest(m);
        let code = |c: &str, field: &str| InseeCode::parse(c).map_err(|e| bad(format!("{field} : {e}")));
        Ok(NewFacility {
            type_code: self.type_code.clone(),
            name: self.nom.clone(),
            manager: self.gestionnaire.clone(),
            commune: code(&self.commune, "commune")?,
            served: self
                .communes_desservies
                .iter()
                .map(|c| code(c, "communes_desservies"))
                .collect::<Result<_, _>>()?,
            capacity: self.capacite,
            labels: self.labels.clone(),
            status: FacilityStatus::parse(self.statut.as_deref().unwrap_or("ouvert"))
                .map_err(|e| bad(e.to_string()))?,
            opened_on: self.date_ouverture,
            closed_on: self.date_fermeture,
            external_id: self.identifiant.clone(),
            latitude: self.latitude,
            longitude: self.longitude,
        })
    }
}

/// Les équipements du territoire de la convention (implantés ou desservant une de ses communes).
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/equipements",
    params(
        ("id" = i64, Path, description = "Numéro de la convention"),
        ("type" = Option<String>, Query, description = "Code du type d'équipement"),
        ("commune" = Option<String>, Query, description = "Code INSEE d'une commune desservie"),
        ("statut" = Option<String>, Query, description = "ouvert, en_projet ou ferme"),
        ("q" = Option<String>, Query, description = "Texte cherché dans le nom et le gestionnaire")
    ),
    responses(
        (status = 200, description = "Les équipements du territoire qui répondent aux filtres", body = [EquipementDto]),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn facilities(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    ApiQuery(filter): ApiQuery<FacilityFilter>,
) -> Result<Json<Vec<EquipementDto>>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let offer = Offer::load(&state, id).await?;
    Ok(Json(offer.facilities.iter().filter(|f| filter.keeps(f)).map(|f| EquipementDto::of(&offer, f)).collect()))
}

/// Un équipement du territoire de la convention.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/equipements/{equipement}",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("equipement" = i64, Path, description = "Numéro de l'équipement")),
    responses(
        (status = 200, description = "L'équipement", body = EquipementDto),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn facility(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
) -> Result<Json<EquipementDto>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let offer = Offer::load(&state, id).await?;
    let f = offer.facilities.iter().find(|f| f.id == fid).ok_or_else(|| {
        WebError::NotFound(format!("l'équipement n° {fid} n'est pas sur le territoire de cette convention"))
    })?;
    Ok(Json(EquipementDto::of(&offer, f)))
}

/// Crée un équipement ; sa commune doit appartenir au territoire de la convention.
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/equipements",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body = EquipementSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 201, description = "Créé : l'équipement enregistré", body = EquipementDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn create_facility(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    ApiJson(body): ApiJson<EquipementSaisieDto>,
) -> Result<(StatusCode, Json<EquipementDto>), ApiError> {
    authorize_write(&state, &auth, Action::EditOffer, id).await?;
    let new = body.to_new()?;
    let offer = Offer::load(&state, id).await?;
    if !offer.epci.communes.iter().any(|c| c.code == new.commune) {
        return Err(WebError::BadRequest(format!(
            "la commune {} n'est pas sur le territoire de cette convention",
            new.commune
        ))
        .into());
    }
    let fid = state.store.create_facility(&auth.actor(Channel::Api), Some(id), new).await?;
    let offer = Offer::load(&state, id).await?;
    let f =
        offer.facilities.iter().find(|f| f.id == fid).ok_or_else(|| WebError::NotFound("l'équipement créé".into()))?;
    Ok((StatusCode::CREATED, Json(EquipementDto::of(&offer, f))))
}

/// Remplace un équipement, à partir de la version lue (409 si quelqu'un l'a modifié entre-temps).
#[utoipa::path(
    put,
    path = "/api/v1/conventions/{id}/equipements/{equipement}",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("equipement" = i64, Path, description = "Numéro de l'équipement")),
    request_body = EquipementSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 200, description = "Enregistré : la nouvelle version de l'équipement", body = VersionDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound)),
        (status = 409, response = inline(crate::error::Conflict))
    )
)]
pub async fn update_facility(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
    ApiJson(body): ApiJson<EquipementSaisieDto>,
) -> Result<Json<VersionDto>, ApiError> {
    authorize_write(&state, &auth, Action::EditOffer, id).await?;
    let version =
        body.version.ok_or_else(|| WebError::BadRequest("« version » est obligatoire pour modifier".into()))?;
    let new = body.to_new()?;
    let offer = Offer::load(&state, id).await?;
    if !offer.facilities.iter().any(|f| f.id == fid) {
        return Err(WebError::NotFound(format!(
            "l'équipement n° {fid} n'est pas sur le territoire de cette convention"
        ))
        .into());
    }
    let version = state.store.update_facility(&auth.actor(Channel::Api), Some(id), fid, version.0, new).await?;
    Ok(Json(VersionDto { version }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommuneRefDto {
    pub code_insee: String,
    pub nom: String,
}

/// Un effectif tel que le lecteur peut le voir : `valeur` nulle et `secret` vrai quand il est masqué.
#[derive(Debug, Serialize, ToSchema)]
pub struct EffectifDto {
    pub valeur: Option<f64>,
    pub secret: bool,
}

impl From<Shown> for EffectifDto {
    fn from(s: Shown) -> Self {
        Self { valeur: s.value(), secret: matches!(s, Shown::Secret) }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlacesCommuneDto {
    pub code_insee: String,
    pub nom: String,
    /// Nul quand aucun EAJE ni aucune MAM n'a été saisi pour le territoire : non renseigné, pas 0.
    pub places_eaje: Option<i64>,
    /// Nul dans le même cas.
    pub places_mam: Option<i64>,
    pub equipements_capacite_inconnue: usize,
    pub enfants_moins_3_ans: EffectifDto,
    pub places_pour_100_enfants: EffectifDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComposanteDto {
    pub libelle: String,
    pub valeur: Option<i64>,
    pub source: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CouvertureDto {
    #[serde(rename = "type")]
    pub type_code: String,
    /// Combien d'équipements de ce type ont été saisis pour le territoire (tous statuts) ; 0 : la
    /// présence de ce service n'est pas renseignée.
    pub equipements_saisis: usize,
    /// Les communes sans ce type de service ; **nul quand aucun équipement de ce type n'a été
    /// saisi** (non renseigné : on ne sait pas quelles communes en manquent), jamais la liste de
    /// toutes les communes.
    pub communes_sans_service: Option<Vec<CommuneRefDto>>,
    pub places_par_commune: Vec<PlacesCommuneDto>,
    /// Nul quand aucun EAJE ni aucune MAM n'a été saisi pour le territoire : non renseigné, pas 0.
    pub places_eaje: Option<i64>,
    /// Nul dans le même cas.
    pub places_mam: Option<i64>,
    pub enfants_moins_3_ans: Option<i64>,
    pub places_pour_100_enfants: Option<f64>,
    /// Composantes du taux de couverture ONAPE de l'intercommunalité.
    pub composantes: Vec<ComposanteDto>,
    /// Places pour 100 enfants de moins de 3 ans ; nul si une composante manque.
    pub taux_couverture: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct CoverageParams {
    #[serde(default, rename = "type")]
    pub type_code: Option<String>,
}

/// La couverture du territoire : communes sans un type de service, places pour 100 enfants de moins de
/// 3 ans par commune, taux de couverture ONAPE. Les petits effectifs sont masqués sans connexion.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/couverture",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("type" = Option<String>, Query, description = "Type de service cherché (rpe par défaut)")),
    responses(
        (status = 200, description = "La couverture du territoire pour ce type de service", body = CouvertureDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn coverage(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    ApiQuery(q): ApiQuery<CoverageParams>,
) -> Result<Json<CouvertureDto>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let offer = Offer::load(&state, id).await?;
    let type_code = q.type_code.filter(|t| !t.is_empty()).unwrap_or_else(|| "rpe".into());
    if !offer.types.iter().any(|t| t.code == type_code) {
        return Err(WebError::BadRequest(format!("type d'équipement inconnu « {type_code} »")).into());
    }
    let v = CoverageView::load(&state, &offer, &type_code, auth.user.is_none()).await?;
    Ok(Json(CouvertureDto {
        equipements_saisis: v.entered,
        communes_sans_service: (v.entered > 0)
            .then(|| v.without.iter().map(|(c, n)| CommuneRefDto { code_insee: c.clone(), nom: n.clone() }).collect()),
        places_par_commune: v
            .places
            .iter()
            .map(|p| PlacesCommuneDto {
                code_insee: p.code.clone(),
                nom: p.name.clone(),
                places_eaje: v.places_known.then_some(p.eaje_places),
                places_mam: v.places_known.then_some(p.mam_places),
                equipements_capacite_inconnue: p.unknown_capacity,
                enfants_moins_3_ans: p.children.into(),
                places_pour_100_enfants: p.per_hundred.into(),
            })
            .collect(),
        places_eaje: v.places_known.then_some(v.total.eaje_places),
        places_mam: v.places_known.then_some(v.total.mam_places),
        enfants_moins_3_ans: v.total.children_under_three,
        places_pour_100_enfants: v.total.per_hundred,
        composantes: v
            .components
            .iter()
            .map(|c| ComposanteDto { libelle: c.label.into(), valeur: c.value, source: c.source.clone() })
            .collect(),
        taux_couverture: v.rate.and_then(|r| r.rate),
        type_code,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FinancementDto {
    pub id: i64,
    pub equipement: Option<i64>,
    pub dispositif: String,
    pub dispositif_libelle: String,
    pub financeur: String,
    pub annee: i32,
    /// En centimes d'euro.
    pub montant_centimes: i64,
    pub objet: String,
    /// L'année de la ligne est arrêtée par la résiliation de la convention (art. 13) : la ligne est
    /// comptée dans `arretees_centimes`, dans aucun autre total.
    pub arretee: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotauxDto {
    /// Par code de dispositif, en centimes.
    #[schema(value_type = Object)]
    pub par_dispositif: std::collections::BTreeMap<String, i64>,
    #[schema(value_type = Object)]
    pub par_financeur: std::collections::BTreeMap<String, i64>,
    #[schema(value_type = Object)]
    pub par_annee: std::collections::BTreeMap<String, i64>,
    /// Les lignes qui courent (hors lignes arrêtées).
    pub total_centimes: i64,
    /// Le jour où la résiliation prend effet, si la convention est résiliée (art. 13).
    pub resiliation_effet: Option<NaiveDate>,
    /// Les lignes des années arrêtées par la résiliation : leur total et leur nombre.
    pub arretees_centimes: i64,
    pub arretees_lignes: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FinancementsDto {
    pub lignes: Vec<FinancementDto>,
    pub totaux: TotauxDto,
}

/// Les lignes de financement de la convention et leurs totaux (montants en centimes).
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/financements",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses(
        (status = 200, description = "Les lignes de financement et leurs totaux", body = FinancementsDto),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn funding(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
) -> Result<Json<FinancementsDto>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let lines = state.store.funding(id).await?;
    let stop = state.store.commitments_stop(id).await?;
    let t = funding_totals(lines.iter().map(|l| &l.data), stop);
    Ok(Json(FinancementsDto {
        lignes: lines
            .iter()
            .map(|l| FinancementDto {
                id: l.id,
                equipement: l.data.facility_id,
                dispositif: l.data.dispositif.code().into(),
                dispositif_libelle: l.data.dispositif.label().into(),
                financeur: l.data.funder.clone(),
                annee: l.data.year,
                montant_centimes: l.data.amount_cents,
                objet: l.data.note.clone(),
                arretee: ctg_domain::life::year_stopped(stop, l.data.year),
            })
            .collect(),
        totaux: TotauxDto {
            par_dispositif: t.by_dispositif,
            par_financeur: t.by_funder,
            par_annee: t.by_year.into_iter().map(|(y, v)| (y.to_string(), v)).collect(),
            total_centimes: t.total,
            resiliation_effet: stop.map(|s| s.effective),
            arretees_centimes: t.stopped,
            arretees_lignes: t.stopped_lines,
        },
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FinancementSaisieDto {
    #[serde(default)]
    pub equipement: Option<i64>,
    /// Code du dispositif (psu, ps_alsh, bonus_territoire, bonus_inclusion_handicap…).
    pub dispositif: String,
    pub financeur: String,
    pub annee: i32,
    pub montant_centimes: i64,
    #[serde(default)]
    pub objet: String,
}

/// Ajoute une ligne de financement à la convention.
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/financements",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body = FinancementSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 201, description = "Créée : le numéro de la ligne de financement", body = crate::governance::api::CreeDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn create_funding(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    ApiJson(b): ApiJson<FinancementSaisieDto>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    authorize_write(&state, &auth, Action::EditFunding, id).await?;
    if let Some(fid) = b.equipement {
        let offer = Offer::load(&state, id).await?;
        if !offer.facilities.iter().any(|f| f.id == fid) {
            return Err(WebError::BadRequest(format!(
                "l'équipement n° {fid} n'est pas sur le territoire de cette convention"
            ))
            .into());
        }
    }
    let line = NewFunding {
        facility_id: b.equipement,
        dispositif: Dispositif::parse(&b.dispositif).map_err(|e| WebError::BadRequest(e.to_string()))?,
        funder: b.financeur,
        year: b.annee,
        amount_cents: b.montant_centimes,
        note: b.objet,
    };
    let lid = state.store.create_funding(&auth.actor(Channel::Api), id, line).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": lid }))))
}
