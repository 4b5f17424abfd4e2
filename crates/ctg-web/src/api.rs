//! The JSON API, `/api/v1`, described by the OpenAPI document at `/api/v1/openapi.json`.
//! Keys are French, like the words users see; dates are ISO 8601 (`AAAA-MM-JJ`).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use ctg_domain::{Change, CommunePopulations, Population, Siren, Total};
use ctg_store::{ConventionDetail, ConventionRef, ConventionSummary};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::views::{convention_id, Territory};
use crate::{ApiError, AppState, WebError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi))
        .route("/epcis/{siren}", get(epci))
        .route("/conventions", get(conventions))
        .route("/conventions/{id}", get(convention))
        .route("/conventions/{id}/territoire", get(territory))
}

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "API de la plateforme CTG",
        description = "Conventions Territoriales Globales : territoires, conventions, parties, stratégie et instances. \
                       Les erreurs ont la forme {\"error\": {\"code\": …, \"message\": …}}.",
        license(name = "AGPL-3.0-or-later")
    ),
    servers((url = "/", description = "Ce serveur")),
    paths(epci, conventions, convention, territory),
    components(schemas(crate::error::ErrorBody))
)]
pub struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PopulationDto {
    pub millesime: i32,
    /// Population municipale ; absente si inconnue.
    pub municipale: Option<i64>,
    pub comptee_a_part: Option<i64>,
    pub totale: Option<i64>,
}

impl PopulationDto {
    fn list(c: &CommunePopulations) -> Vec<Self> {
        c.by_vintage
            .iter()
            .map(|(v, p): (_, &Population)| Self {
                millesime: v.year(),
                municipale: p.municipal,
                comptee_a_part: p.counted_apart,
                totale: p.total,
            })
            .collect()
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommuneDto {
    pub code_insee: String,
    pub nom: String,
    pub populations: Vec<PopulationDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EpciDto {
    pub siren: String,
    pub nom: String,
    /// CC, CA, CU, METRO ou MET69.
    pub nature: String,
    pub nature_libelle: String,
    pub communes: Vec<CommuneDto>,
}

/// Une intercommunalité, ses communes membres et leurs populations par millésime.
#[utoipa::path(
    get,
    path = "/api/v1/epcis/{siren}",
    params(("siren" = String, Path, description = "SIREN de l'EPCI (9 chiffres)")),
    responses(
        (status = 200, body = EpciDto),
        (status = 400, description = "SIREN invalide", body = crate::error::ErrorBody),
        (status = 404, description = "EPCI inconnu", body = crate::error::ErrorBody)
    )
)]
async fn epci(
    State(state): State<AppState>,
    Path(siren): Path<String>,
) -> Result<Json<EpciDto>, ApiError> {
    let siren = Siren::parse(&siren).map_err(|e| WebError::BadRequest(e.to_string()))?;
    let e = state.store.epci(&siren).await?;
    Ok(Json(EpciDto {
        siren: e.siren.to_string(),
        nom: e.name,
        nature: e.kind.code().to_owned(),
        nature_libelle: e.kind.label().to_owned(),
        communes: e
            .communes
            .iter()
            .map(|c| CommuneDto {
                code_insee: c.code.to_string(),
                nom: c.name.clone(),
                populations: PopulationDto::list(c),
            })
            .collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EpciRefDto {
    pub siren: String,
    pub nom: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConventionItemDto {
    pub id: i64,
    pub titre: String,
    pub epci: EpciRefDto,
    pub debut: NaiveDate,
    pub fin: NaiveDate,
    /// brouillon, signee, en_vigueur, expiree ou resiliee : le statut au jour de la requête.
    pub statut: String,
    pub statut_libelle: String,
}

impl ConventionItemDto {
    fn new(c: &ConventionSummary, today: NaiveDate) -> Self {
        let status = c.convention().status_on(today);
        Self {
            id: c.id,
            titre: c.title.clone(),
            epci: EpciRefDto {
                siren: c.epci_siren.to_string(),
                nom: c.epci_name.clone(),
            },
            debut: c.start,
            fin: c.end,
            statut: status.code().to_owned(),
            statut_libelle: status.label().to_owned(),
        }
    }
}

/// Toutes les conventions, les plus récentes d'abord.
#[utoipa::path(get, path = "/api/v1/conventions", responses((status = 200, body = Vec<ConventionItemDto>)))]
async fn conventions(
    State(state): State<AppState>,
) -> Result<Json<Vec<ConventionItemDto>>, ApiError> {
    let today = state.today();
    let list = state.store.conventions().await?;
    Ok(Json(
        list.iter()
            .map(|c| ConventionItemDto::new(c, today))
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationDto {
    pub nom: String,
    pub sigle: Option<String>,
    pub nature: String,
    pub nature_libelle: String,
    pub siren: Option<String>,
    pub adresse: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartieDto {
    pub organisation: OrganisationDto,
    /// signataire ou partenaire.
    pub role: String,
    pub signataire: Option<String>,
    pub qualite: Option<String>,
    pub deliberation: Option<String>,
    pub deliberation_date: Option<NaiveDate>,
    pub signature_date: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AmbitionDto {
    pub numero: i64,
    pub intitule: String,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnjeuDto {
    pub numero: i64,
    pub titre: String,
    pub description: Option<String>,
    pub ambitions: Vec<AmbitionDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApprocheDto {
    pub intitule: String,
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InstanceDto {
    /// copil_restreint, copil_elargi, comite_technique, copil_communal ou commission_thematique.
    pub nature: String,
    pub nature_libelle: String,
    pub nom: String,
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConventionRefDto {
    pub id: i64,
    pub titre: String,
}

impl From<&ConventionRef> for ConventionRefDto {
    fn from(r: &ConventionRef) -> Self {
        Self {
            id: r.id,
            titre: r.title.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConventionDto {
    #[serde(flatten)]
    pub resume: ConventionItemDto,
    pub lieu_signature: Option<String>,
    pub parties: Vec<PartieDto>,
    pub enjeux: Vec<EnjeuDto>,
    pub approches: Vec<ApprocheDto>,
    pub instances: Vec<InstanceDto>,
    /// La convention que celle-ci prolonge.
    pub precedente: Option<ConventionRefDto>,
    /// Les conventions qui la prolongent.
    pub suivantes: Vec<ConventionRefDto>,
}

impl ConventionDto {
    fn new(c: &ConventionDetail, today: NaiveDate) -> Self {
        Self {
            resume: ConventionItemDto::new(&c.summary, today),
            lieu_signature: c.signing_place.clone(),
            parties: c
                .parties
                .iter()
                .map(|p| PartieDto {
                    organisation: OrganisationDto {
                        nom: p.organisation.name.clone(),
                        sigle: p.organisation.short_name.clone(),
                        nature: p.organisation.kind.code().to_owned(),
                        nature_libelle: p.organisation.kind.label().to_owned(),
                        siren: p.organisation.siren.as_ref().map(ToString::to_string),
                        adresse: p.organisation.address.clone(),
                    },
                    role: p.role.code().to_owned(),
                    signataire: p.signatory.clone(),
                    qualite: p.signatory_title.clone(),
                    deliberation: p.deliberation.clone(),
                    deliberation_date: p.deliberation_date,
                    signature_date: p.signature_date,
                })
                .collect(),
            enjeux: c
                .stakes
                .iter()
                .map(|s| EnjeuDto {
                    numero: s.number,
                    titre: s.title.clone(),
                    description: s.description.clone(),
                    ambitions: s
                        .ambitions
                        .iter()
                        .map(|a| AmbitionDto {
                            numero: a.number,
                            intitule: a.title.clone(),
                            note: a.note.clone(),
                        })
                        .collect(),
                })
                .collect(),
            approches: c
                .approaches
                .iter()
                .map(|a| ApprocheDto {
                    intitule: a.title.clone(),
                    description: a.description.clone(),
                })
                .collect(),
            instances: c
                .bodies
                .iter()
                .map(|b| InstanceDto {
                    nature: b.kind.code().to_owned(),
                    nature_libelle: b.kind.label().to_owned(),
                    nom: b.name.clone(),
                    description: b.description.clone(),
                })
                .collect(),
            precedente: c.predecessor.as_ref().map(Into::into),
            suivantes: c.successors.iter().map(Into::into).collect(),
        }
    }
}

/// Une convention : période, statut, parties, stratégie (enjeux, ambitions, approches) et instances.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses((status = 200, body = ConventionDto), (status = 404, body = crate::error::ErrorBody))
)]
async fn convention(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ConventionDto>, ApiError> {
    let c = state.store.convention(convention_id(&id)?).await?;
    Ok(Json(ConventionDto::new(&c, state.today())))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EvolutionDto {
    pub de: i32,
    pub a: i32,
    pub absolue: i64,
    /// En pourcentage de la valeur de départ, arrondi à deux décimales.
    pub pourcentage: Option<f64>,
}

impl From<&Change> for EvolutionDto {
    fn from(c: &Change) -> Self {
        Self {
            de: c.from.year(),
            a: c.to.year(),
            absolue: c.absolute,
            pourcentage: c.percent,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommuneTerritoireDto {
    pub code_insee: String,
    pub nom: String,
    pub populations: Vec<PopulationDto>,
    /// Évolution de la population totale entre le premier et le dernier millésime.
    pub evolution: Option<EvolutionDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SommeDto {
    /// La somme, quand toutes les communes ont une valeur ; sinon absente.
    pub valeur: Option<i64>,
    /// La somme des valeurs connues.
    pub somme_connue: i64,
    /// Le nombre de communes sans valeur.
    pub communes_sans_valeur: usize,
}

impl From<&Total> for SommeDto {
    fn from(t: &Total) -> Self {
        Self {
            valeur: t.value,
            somme_connue: t.known_sum,
            communes_sans_valeur: t.missing,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotalDto {
    pub millesime: i32,
    pub municipale: SommeDto,
    pub comptee_a_part: SommeDto,
    pub totale: SommeDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TerritoireDto {
    pub convention_id: i64,
    pub epci: EpciRefDto,
    pub millesimes: Vec<i32>,
    pub communes: Vec<CommuneTerritoireDto>,
    pub totaux: Vec<TotalDto>,
    /// Évolution de la population totale d'un millésime au suivant.
    pub evolutions: Vec<EvolutionDto>,
}

/// Le territoire d'une convention : communes, populations par millésime, totaux et évolutions.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/territoire",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses((status = 200, body = TerritoireDto), (status = 404, body = crate::error::ErrorBody))
)]
async fn territory(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TerritoireDto>, ApiError> {
    let t = Territory::load(&state, convention_id(&id)?).await?;
    Ok(Json(TerritoireDto {
        convention_id: t.convention.id,
        epci: EpciRefDto {
            siren: t.epci.siren.to_string(),
            nom: t.epci.name.clone(),
        },
        millesimes: t.vintages.iter().map(|v| v.year()).collect(),
        communes: t
            .epci
            .communes
            .iter()
            .map(|c| CommuneTerritoireDto {
                code_insee: c.code.to_string(),
                nom: c.name.clone(),
                populations: PopulationDto::list(c),
                evolution: t.commune_change(c).as_ref().map(Into::into),
            })
            .collect(),
        totaux: t
            .totals
            .iter()
            .map(|v| TotalDto {
                millesime: v.vintage.year(),
                municipale: (&v.municipal).into(),
                comptee_a_part: (&v.counted_apart).into(),
                totale: (&v.total).into(),
            })
            .collect(),
        evolutions: t.changes.iter().map(Into::into).collect(),
    }))
}
