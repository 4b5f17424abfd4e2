//! The JSON API, `/api/v1`, described by the OpenAPI document at `/api/v1/openapi.json`.
//! Keys are French, like the words users see; dates are ISO 8601 (`AAAA-MM-JJ`).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use ctg_domain::{Change, CommunePopulations, Population, Siren, Total};
use ctg_store::{ConventionDetail, ConventionRef, ConventionSummary};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use ctg_domain::access::Action;
use ctg_domain::{Channel, ConventionStatus};
use serde::Deserialize;

use crate::auth::Auth;
use crate::extract::{ApiJson, Ids, Version};
use crate::views::Territory;
use crate::{ApiError, AppState, WebError};

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "API de la plateforme CTG",
        description = "Conventions Territoriales Globales : territoires, conventions, parties, stratégie et instances. \
                       Les erreurs ont la forme {\"error\": {\"code\": …, \"message\": …}}.",
        license(name = "AGPL-3.0-or-later")
    ),
    servers((url = "/", description = "Ce serveur")),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&BearerSecurity)
)]
pub struct ApiDoc;

/// Declares the two ways to authenticate: an API token, or the session cookie of the pages.
#[derive(Debug)]
struct BearerSecurity;

impl utoipa::Modify for BearerSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "jeton",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("Jeton d'API créé depuis la page « Mon compte »"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "Cookie de session des pages ; les écritures exigent alors l'en-tête X-CSRF-Token",
            ))),
        );
    }
}

/// Ce document : la description OpenAPI 3.1 de l'API.
#[utoipa::path(get, path = "/api/v1/openapi.json", responses((status = 200, description = "Le document OpenAPI", body = Object)))]
pub(crate) async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(document().clone())
}

/// The OpenAPI document of the route table, built once.
pub(crate) fn document() -> &'static utoipa::openapi::OpenApi {
    static DOC: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    DOC.get_or_init(crate::routes::openapi)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PopulationDto {
    pub millesime: i32,
    /// Population municipale ; `null` si inconnue.
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
        (status = 200, description = "L'intercommunalité, ses communes et leurs populations", body = EpciDto),
        (status = 400, description = "SIREN invalide", body = crate::error::ErrorBody),
        (status = 404, description = "EPCI inconnu", body = crate::error::ErrorBody)
    )
)]
pub(crate) async fn epci(State(state): State<AppState>, Path(siren): Path<String>) -> Result<Json<EpciDto>, ApiError> {
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
    /// brouillon, en_attente_signatures, signee (pas encore en vigueur), en_vigueur, expiree ou resiliee :
    /// le statut au jour de la requête, par la règle unique (signatures, avenants, résiliation).
    pub statut: String,
    pub statut_libelle: String,
    /// Le statut enregistré (brouillon, signee ou resiliee), celui qu'une modification renvoie.
    pub statut_enregistre: String,
    /// Publiée : visible sans connexion.
    pub publiee: bool,
    /// À renvoyer avec une modification : une version dépassée est refusée (409).
    pub version: i64,
}

impl ConventionItemDto {
    /// `status`: what the convention is today (`Life::status_on`, the one rule of status).
    fn new(c: &ConventionSummary, status: ctg_domain::life::LifeStatus) -> Self {
        Self {
            id: c.id,
            titre: c.title.clone(),
            epci: EpciRefDto { siren: c.epci_siren.to_string(), nom: c.epci_name.clone() },
            debut: c.start,
            fin: c.end,
            statut: status.code().to_owned(),
            statut_libelle: status.label(),
            statut_enregistre: c.status.code().to_owned(),
            publiee: c.published,
            version: c.version,
        }
    }
}

/// Toutes les conventions, les plus récentes d'abord.
#[utoipa::path(
    get,
    path = "/api/v1/conventions",
    responses(
        (status = 200, description = "Les conventions que la requête peut voir (publiées, ou celles où le compte a un rôle)", body = Vec<ConventionItemDto>),
        (status = 401, response = inline(crate::error::Unauthorized))
    )
)]
pub(crate) async fn conventions(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Vec<ConventionItemDto>>, ApiError> {
    let visible = state.visible_conventions(&auth).await?;
    let ids: Vec<i64> = visible.iter().map(|c| c.id).collect();
    let statuses = state.store.life_statuses(&ids, state.today()).await?;
    Ok(Json(visible.iter().zip(statuses).map(|(c, status)| ConventionItemDto::new(c, status)).collect()))
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
    pub id: i64,
    /// À renvoyer avec une modification : une version dépassée est refusée (409).
    pub version: i64,
    pub organisation_id: i64,
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
        Self { id: r.id, titre: r.title.clone() }
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
    fn new(c: &ConventionDetail, status: ctg_domain::life::LifeStatus) -> Self {
        Self {
            resume: ConventionItemDto::new(&c.summary, status),
            lieu_signature: c.signing_place.clone(),
            parties: c
                .parties
                .iter()
                .map(|e| (e, &e.party))
                .map(|(e, p)| PartieDto {
                    id: e.id,
                    version: e.version,
                    organisation_id: e.organisation_id,
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
                        .map(|a| AmbitionDto { numero: a.number, intitule: a.title.clone(), note: a.note.clone() })
                        .collect(),
                })
                .collect(),
            approches: c
                .approaches
                .iter()
                .map(|a| ApprocheDto { intitule: a.title.clone(), description: a.description.clone() })
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
    responses(
        (status = 200, description = "La convention", body = ConventionDto),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub(crate) async fn convention(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
) -> Result<Json<ConventionDto>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let (c, life) = state.store.convention_and_life(id, state.today()).await?;
    Ok(Json(ConventionDto::new(&c, life.status)))
}

/// A write through the API on the convention `id` (the CSRF token of a session was checked by the
/// guard of the route table).
pub(crate) async fn authorize_write(state: &AppState, auth: &Auth, action: Action, id: i64) -> Result<(), WebError> {
    state.authorize_write(auth, action, Some(id)).await
}

/// Ce qui peut changer d'une convention ; `version` est celle lue (voir `GET`). Un `PUT` remplace ces
/// champs : tous sont obligatoires, `lieu_signature` peut valoir `null`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConventionEditDto {
    pub version: Version,
    pub titre: String,
    pub debut: NaiveDate,
    pub fin: NaiveDate,
    /// brouillon, signee ou resiliee (voir `statut_enregistre`).
    pub statut: String,
    #[serde(deserialize_with = "required_nullable")]
    #[schema(required = true)]
    pub lieu_signature: Option<String>,
    pub publiee: bool,
}

/// A field that must be present, even if `null`.
fn required_nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

/// La nouvelle version, après une modification.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionDto {
    pub version: i64,
}

/// Modifie une convention (titre, période, statut, lieu de signature, publication).
#[utoipa::path(
    put,
    path = "/api/v1/conventions/{id}",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body = ConventionEditDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 200, description = "Enregistré : la nouvelle version de la convention", body = VersionDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound)),
        (status = 409, response = inline(crate::error::Conflict))
    )
)]
pub(crate) async fn update_convention(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    ApiJson(body): ApiJson<ConventionEditDto>,
) -> Result<Json<VersionDto>, ApiError> {
    authorize_write(&state, &auth, Action::EditConvention, id).await?;
    let status = ConventionStatus::parse(&body.statut).map_err(|e| WebError::BadRequest(e.to_string()))?;
    let edit = ctg_store::ConventionEdit {
        title: body.titre,
        start: body.debut,
        end: body.fin,
        status,
        signing_place: body.lieu_signature,
        published: body.publiee,
    };
    let version = state.store.update_convention(&auth.actor(Channel::Api), id, body.version.0, &edit).await?;
    Ok(Json(VersionDto { version }))
}

/// Ce qui peut changer d'une partie. Un `PUT` remplace ces champs : tous sont obligatoires, chacun
/// peut valoir `null`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartieEditDto {
    pub version: Version,
    #[serde(deserialize_with = "required_nullable")]
    #[schema(required = true)]
    pub signataire: Option<String>,
    #[serde(deserialize_with = "required_nullable")]
    #[schema(required = true)]
    pub qualite: Option<String>,
    #[serde(deserialize_with = "required_nullable")]
    #[schema(required = true)]
    pub deliberation: Option<String>,
    #[serde(deserialize_with = "required_nullable_date")]
    #[schema(required = true)]
    pub deliberation_date: Option<NaiveDate>,
    #[serde(deserialize_with = "required_nullable_date")]
    #[schema(required = true)]
    pub signature_date: Option<NaiveDate>,
    /// Vrai quand seul le mois de la signature est connu (« janvier 2026 ») : `signature_date` est
    /// alors le premier jour du mois. Faux par défaut.
    #[serde(default)]
    pub signature_au_mois: bool,
}

fn required_nullable_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    Option::<NaiveDate>::deserialize(d)
}

/// Modifie une partie : signataire, délibération, date de signature.
#[utoipa::path(
    put,
    path = "/api/v1/conventions/{id}/parties/{partie}",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("partie" = i64, Path, description = "Numéro de la partie")),
    request_body = PartieEditDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 200, description = "Enregistré : la nouvelle version de la partie", body = VersionDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound)),
        (status = 409, response = inline(crate::error::Conflict))
    )
)]
pub(crate) async fn update_party(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, party_id)): Ids<(i64, i64)>,
    ApiJson(body): ApiJson<PartieEditDto>,
) -> Result<Json<VersionDto>, ApiError> {
    let c = state.store.convention(id).await?;
    let entry = c
        .parties
        .iter()
        .find(|p| p.id == party_id)
        .ok_or_else(|| WebError::NotFound(format!("la partie n° {party_id} de cette convention n'existe pas")))?;
    authorize_write(&state, &auth, Action::EditParty { organisation_id: entry.organisation_id }, id).await?;
    let edit = ctg_store::PartyEdit {
        signatory: body.signataire,
        signatory_title: body.qualite,
        deliberation: body.deliberation,
        deliberation_date: body.deliberation_date,
        signature_date: body.signature_date,
        signature_month_only: body.signature_au_mois,
    };
    let version = state.store.update_party(&auth.actor(Channel::Api), id, party_id, body.version.0, &edit).await?;
    Ok(Json(VersionDto { version }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoriqueDto {
    pub id: i64,
    pub date: chrono::DateTime<chrono::Utc>,
    pub auteur: String,
    /// page, api ou ligne_de_commande.
    pub canal: String,
    pub objet: String,
    pub objet_id: String,
    pub libelle: String,
    /// creation, modification, suppression ou effacement.
    pub action: String,
    /// Les champs avant la modification (un objet, ou une liste pour des moyens) ; `null` pour une
    /// création.
    #[schema(value_type = Value)]
    pub avant: Option<serde_json::Value>,
    /// Les champs après la modification ; `null` pour une suppression ou un effacement.
    #[schema(value_type = Value)]
    pub apres: Option<serde_json::Value>,
}

/// L'historique d'une convention, le plus récent d'abord (réservé à la coordination).
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/historique",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 200, description = "Les modifications de la convention, la plus récente d'abord", body = Vec<HistoriqueDto>),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub(crate) async fn history(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
) -> Result<Json<Vec<HistoriqueDto>>, ApiError> {
    state.authorize(&auth, Action::ViewHistory, Some(id)).await?;
    let entries =
        state.store.history(&ctg_store::HistoryFilter { convention_id: Some(id), ..Default::default() }).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| HistoriqueDto {
                id: e.id,
                date: e.at,
                auteur: e.actor_label,
                canal: e.channel.code().to_owned(),
                objet: e.object_type,
                objet_id: e.object_id,
                libelle: e.object_label,
                action: e.action,
                avant: e.before,
                apres: e.after,
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MoiDto {
    pub id: i64,
    pub nom: String,
    pub email: String,
    pub administrateur: bool,
    /// Faux pour un jeton en lecture seule.
    pub ecriture: bool,
}

/// Le compte qui fait la requête.
#[utoipa::path(
    get,
    path = "/api/v1/moi",
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 200, description = "Le compte authentifié", body = MoiDto),
        (status = 401, response = inline(crate::error::Unauthorized))
    )
)]
pub(crate) async fn me(auth: Auth) -> Result<Json<MoiDto>, ApiError> {
    let u = auth.user.as_ref().ok_or(WebError::LoginRequired)?;
    Ok(Json(MoiDto {
        id: u.id,
        nom: u.name.clone(),
        email: u.email.clone(),
        administrateur: u.is_admin,
        ecriture: auth.can_write,
    }))
}

/// Un choix de rappels par courriel du compte.
#[derive(Debug, Serialize, ToSchema)]
pub struct RappelDto {
    /// La sorte de rappel : fiche_en_retard, valeur_manquante, seance, decision, signature, accord…
    pub rappel: String,
    pub libelle: String,
    /// immediat, hebdomadaire (récapitulatif de la semaine) ou jamais ; immediat tant que rien n'a été choisi.
    pub frequence: String,
}

async fn reminder_choices(state: &AppState, user_id: i64) -> Result<Vec<RappelDto>, WebError> {
    Ok(state
        .store
        .mail_preferences(user_id)
        .await?
        .into_iter()
        .map(|(k, f)| RappelDto { rappel: k.code().into(), libelle: k.label().into(), frequence: f.code().into() })
        .collect())
}

/// Les rappels par courriel que reçoit le compte qui fait la requête, et à quel rythme (comme sur
/// « Mon compte »).
#[utoipa::path(
    get,
    path = "/api/v1/moi/rappels",
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 200, description = "Un choix par sorte de rappel", body = Vec<RappelDto>),
        (status = 401, response = inline(crate::error::Unauthorized))
    )
)]
pub(crate) async fn my_reminders(State(state): State<AppState>, auth: Auth) -> Result<Json<Vec<RappelDto>>, ApiError> {
    let u = auth.user.as_ref().ok_or(WebError::LoginRequired)?;
    Ok(Json(reminder_choices(&state, u.id).await?))
}

/// Remplace les choix de rappels du compte : un objet qui donne la fréquence de chaque sorte de
/// rappel, toutes nommées (`{"fiche_en_retard": "immediat", "valeur_manquante": "hebdomadaire", …}`).
/// Une sorte inconnue ou absente, une fréquence inconnue : refusé (400), rien n'est changé.
#[utoipa::path(
    put,
    path = "/api/v1/moi/rappels",
    request_body(content = std::collections::BTreeMap<String, String>, description = "La fréquence de chaque sorte de rappel"),
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 200, description = "Enregistré : les choix du compte", body = Vec<RappelDto>),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden))
    )
)]
pub(crate) async fn set_my_reminders(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<std::collections::BTreeMap<String, String>>,
) -> Result<Json<Vec<RappelDto>>, ApiError> {
    use ctg_domain::reminders::{Frequency, ReminderKind};
    state.authorize_write(&auth, Action::OwnAccount, None).await?;
    let u = auth.user.as_ref().ok_or(WebError::LoginRequired)?;
    let known: Vec<&str> = ReminderKind::ALL.iter().map(|k| k.code()).collect();
    let mut problems = Vec::new();
    for key in body.keys().filter(|k| !known.contains(&k.as_str())) {
        problems.push(format!("sorte de rappel inconnue « {key} » (connues : {})", known.join(", ")));
    }
    let mut choices = Vec::new();
    for kind in ReminderKind::ALL {
        match body.get(kind.code()).map(|f| (f, Frequency::parse(f))) {
            Some((_, Some(f))) => choices.push((kind, f)),
            Some((f, None)) => problems
                .push(format!("« {} » : fréquence inconnue « {f} » (immediat, hebdomadaire ou jamais)", kind.code())),
            None => {
                problems.push(format!("« {} » manque : donnez la fréquence de chaque sorte de rappel", kind.code()));
            }
        }
    }
    if !problems.is_empty() {
        return Err(WebError::BadRequest(problems.join(" ; ")).into());
    }
    state.store.set_mail_preferences(u.id, &choices).await?;
    Ok(Json(reminder_choices(&state, u.id).await?))
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
        Self { de: c.from.year(), a: c.to.year(), absolue: c.absolute, pourcentage: c.percent }
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
        Self { valeur: t.value, somme_connue: t.known_sum, communes_sans_valeur: t.missing }
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
    responses(
        (status = 200, description = "Le territoire de la convention", body = TerritoireDto),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub(crate) async fn territory(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
) -> Result<Response, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    // The response depends only on the territory's data: computed once per revision of it.
    let revision = state.store.territory_revision().await?;
    let bytes = match state.cached_territory(id, revision) {
        Some(bytes) => bytes,
        None => {
            let t = Territory::load(&state, id).await?;
            let dto = territoire_dto(&t);
            let bytes = axum::body::Bytes::from(serde_json::to_vec(&dto).map_err(|e| WebError::Internal(Box::new(e)))?);
            state.cache_territory(id, revision, bytes.clone());
            bytes
        }
    };
    Ok(([(axum::http::header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

fn territoire_dto(t: &Territory) -> TerritoireDto {
    TerritoireDto {
        convention_id: t.convention.id,
        epci: EpciRefDto { siren: t.epci.siren.to_string(), nom: t.epci.name.clone() },
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
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ValeurDiagnosticDto {
    pub periode: String,
    /// La valeur pour la commune demandée (`?commune=`) ; `null` si inconnue, masquée ou sans commune.
    pub commune: Option<f64>,
    /// La valeur pour l'intercommunalité ; `null` si inconnue ou masquée.
    pub epci: Option<f64>,
    /// La valeur pour le département ; `null` si inconnue ou masquée.
    pub departement: Option<f64>,
    /// La valeur pour la France ; `null` si inconnue ou masquée.
    pub france: Option<f64>,
    /// Vrai quand le secret statistique masque ces valeurs (petits effectifs, visiteurs non connectés).
    pub masque: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IndicateurDiagnosticDto {
    pub code: String,
    pub libelle: String,
    pub unite: String,
    pub source: String,
    pub valeurs: Vec<ValeurDiagnosticDto>,
    /// L'évolution de l'intercommunalité de la première à la dernière période connue (non masquée).
    pub evolution: Option<EvolutionIndicateurDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EvolutionIndicateurDto {
    pub de: String,
    pub a: String,
    /// En unités de l'indicateur (en points pour un taux).
    pub absolue: f64,
    /// En pourcentage de la valeur de départ ; nul pour un taux.
    pub pourcentage: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThemeDiagnosticDto {
    pub theme: String,
    pub indicateurs: Vec<IndicateurDiagnosticDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DiagnosticDto {
    pub convention_id: i64,
    pub epci: EpciRefDto,
    /// Le département auquel l'intercommunalité est comparée.
    pub departement: Option<String>,
    /// La commune comparée, quand `?commune=` est donné.
    pub commune: Option<String>,
    pub themes: Vec<ThemeDiagnosticDto>,
}

/// Le diagnostic d'une convention : ses indicateurs par thème, pour une commune (facultative),
/// l'intercommunalité, son département et la France, côte à côte.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/diagnostic",
    params(
        ("id" = i64, Path, description = "Numéro de la convention"),
        ("commune" = Option<String>, Query, description = "Code INSEE d'une commune membre à comparer")
    ),
    responses(
        (status = 200, description = "Le diagnostic de la convention", body = DiagnosticDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub(crate) async fn diagnostic(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    crate::api_query::ApiQuery(q): crate::api_query::ApiQuery<crate::convention::DiagnosticQuery>,
) -> Result<Json<DiagnosticDto>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let d = crate::views::Diagnostic::load(&state, id, auth.user.is_none(), q.commune.as_deref()).await?;
    Ok(Json(DiagnosticDto {
        convention_id: id,
        epci: EpciRefDto { siren: d.convention.epci_siren.to_string(), nom: d.convention.epci_name.clone() },
        departement: d.departement.clone(),
        commune: d.commune.as_ref().map(|(c, _)| c.to_string()),
        themes: d
            .themes
            .iter()
            .map(|(theme, rows)| {
                let mut indicateurs: Vec<IndicateurDiagnosticDto> = Vec::new();
                for r in rows {
                    let value = ValeurDiagnosticDto {
                        periode: r.period.clone(),
                        commune: r.commune,
                        epci: r.epci,
                        departement: r.departement,
                        france: r.france,
                        masque: r.masked,
                    };
                    match indicateurs.iter_mut().find(|i| i.code == r.indicator.code) {
                        Some(i) => i.valeurs.push(value),
                        None => indicateurs.push(IndicateurDiagnosticDto {
                            code: r.indicator.code.to_owned(),
                            libelle: r.indicator.label.to_owned(),
                            unite: r.indicator.unit.to_owned(),
                            source: r.indicator.source.to_owned(),
                            valeurs: vec![value],
                            evolution: None,
                        }),
                    }
                }
                for (def, c) in crate::views::changes(rows) {
                    if let Some(i) = indicateurs.iter_mut().find(|i| i.code == def.code) {
                        i.evolution = Some(EvolutionIndicateurDto {
                            de: c.from,
                            a: c.to,
                            absolue: c.absolute,
                            pourcentage: c.percent,
                        });
                    }
                }
                ThemeDiagnosticDto { theme: (*theme).to_owned(), indicateurs }
            })
            .collect(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Data-exchange agreements (art. 9 of the convention)

/// Une étape d'un accord d'échange : qui l'a faite et quand, qui l'a enregistrée et quand.
#[derive(Debug, Serialize, ToSchema)]
pub struct EtapeAccordDto {
    /// propose, revu_dpd, signe ou expire.
    pub etape: String,
    pub libelle: String,
    pub date: NaiveDate,
    /// La personne : qui propose, le DPD qui a revu, les signataires…
    pub par: String,
    /// La partie de la convention qui l'a faite (pour la revue : l'autre partie).
    pub partie: Option<i64>,
    pub note: Option<String>,
    pub enregistre_par: String,
    pub enregistre_le: chrono::DateTime<chrono::Utc>,
}

/// Un accord d'échange de données (art. 9 de la convention).
#[derive(Debug, Serialize, ToSchema)]
pub struct AccordDto {
    pub id: i64,
    pub version: i64,
    pub intitule: String,
    /// Les parties de l'accord, parties de la convention (vide pour un accord antérieur, dont les parties
    /// sont un texte : `parties_texte`).
    pub parties: Vec<i64>,
    pub parties_texte: String,
    pub partie_proposante: Option<i64>,
    pub donnees: String,
    pub finalite: String,
    pub base_legale: String,
    pub debut: Option<NaiveDate>,
    pub fin: Option<NaiveDate>,
    /// propose, revu_dpd, signe ou expire.
    pub statut: String,
    pub statut_libelle: String,
    /// L'étape suivante attendue, s'il y en a une.
    pub etape_suivante: Option<String>,
    pub etapes: Vec<EtapeAccordDto>,
}

/// Les accords d'échange de données de la convention, avec leurs étapes.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/accords",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 200, description = "Les accords, dans l'ordre de leur création", body = Vec<AccordDto>),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn agreements(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
) -> Result<Json<Vec<AccordDto>>, ApiError> {
    state.authorize(&auth, Action::ViewAgreements, Some(id)).await?;
    let list = state.store.agreements(id).await?;
    Ok(Json(
        list.into_iter()
            .map(|a| AccordDto {
                id: a.id,
                version: a.version,
                statut_libelle: a.step().label().to_owned(),
                etape_suivante: a.step().next().map(|s| s.code().to_owned()),
                intitule: a.title,
                parties: a.party_ids,
                parties_texte: a.parties,
                partie_proposante: a.proposer_party_id,
                donnees: a.data_categories,
                finalite: a.purpose,
                base_legale: a.legal_basis,
                debut: a.start_date,
                fin: a.end_date,
                statut: a.status,
                etapes: a
                    .steps
                    .into_iter()
                    .map(|s| EtapeAccordDto {
                        libelle: ctg_store::agreement_status_label(&s.step).to_owned(),
                        etape: s.step,
                        date: s.done_on,
                        par: s.done_by,
                        partie: s.party_id,
                        note: s.note,
                        enregistre_par: s.recorded_by,
                        enregistre_le: s.recorded_at,
                    })
                    .collect(),
            })
            .collect(),
    ))
}

/// Un accord proposé. Il naît toujours au statut `propose` : `statut`, s'il est donné, ne peut valoir que
/// `propose` ; la revue et la signature s'enregistrent ensuite comme étapes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccordSaisieDto {
    pub intitule: String,
    /// Les parties de l'accord : au moins deux parties de la convention (leurs numéros).
    pub parties: Vec<i64>,
    /// La partie qui propose l'échange, une des `parties`.
    pub partie_proposante: i64,
    pub donnees: String,
    pub finalite: String,
    pub base_legale: String,
    #[serde(default)]
    pub debut: Option<NaiveDate>,
    #[serde(default)]
    pub fin: Option<NaiveDate>,
    /// Le jour de la proposition.
    pub propose_le: NaiveDate,
    /// La personne qui propose l'accord.
    pub propose_par: String,
    /// Seule valeur admise : `propose`.
    #[serde(default)]
    pub statut: Option<String>,
}

/// Propose un accord d'échange de données (art. 9 de la convention).
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/accords",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body = AccordSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 201, description = "Créé au statut « proposé » : le numéro de l'accord", body = crate::governance::api::CreeDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn create_agreement(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    ApiJson(b): ApiJson<AccordSaisieDto>,
) -> Result<(axum::http::StatusCode, Json<crate::governance::api::CreeDto>), ApiError> {
    authorize_write(&state, &auth, Action::EditAgreements, id).await?;
    if let Some(asked) = b.statut.as_deref().map(str::trim).filter(|s| *s != ctg_store::AgreementStep::Proposed.code())
    {
        return Err(WebError::BadRequest(crate::convention::edit::status_refusal(asked)).into());
    }
    let edit = ctg_store::AgreementEdit {
        title: b.intitule,
        party_ids: b.parties,
        proposer_party_id: b.partie_proposante,
        data_categories: b.donnees,
        purpose: b.finalite,
        legal_basis: b.base_legale,
        start_date: b.debut,
        end_date: b.fin,
    };
    let aid = state.store.create_agreement(&auth.actor(Channel::Api), id, &edit, b.propose_le, &b.propose_par).await?;
    Ok((axum::http::StatusCode::CREATED, Json(crate::governance::api::CreeDto { id: aid })))
}

/// L'étape suivante d'un accord : `revu_dpd` (par le DPD d'une partie qui ne l'a pas proposé : `partie`
/// obligatoire), puis `signe`, puis `expire`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EtapeSaisieDto {
    pub version: Version,
    pub etape: String,
    pub date: NaiveDate,
    /// La personne qui a fait l'étape.
    pub par: String,
    #[serde(default)]
    pub partie: Option<i64>,
    #[serde(default)]
    pub note: Option<String>,
}

/// Enregistre l'étape suivante d'un accord (art. 9 : pas de signature avant la revue par le DPD de l'autre
/// partie).
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/accords/{accord}/etapes",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("accord" = i64, Path, description = "Numéro de l'accord")),
    request_body = EtapeSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 204, description = "Étape enregistrée"),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn agreement_step(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, aid)): Ids<(i64, i64)>,
    ApiJson(b): ApiJson<EtapeSaisieDto>,
) -> Result<axum::http::StatusCode, ApiError> {
    authorize_write(&state, &auth, Action::EditAgreements, id).await?;
    let step = ctg_store::AgreementStep::parse(&b.etape).map_err(|e| WebError::BadRequest(e.to_string()))?;
    let new = ctg_store::NewAgreementStep { step, done_on: b.date, done_by: b.par, party_id: b.partie, note: b.note };
    state.store.record_agreement_step(&auth.actor(Channel::Api), id, aid, b.version.0, &new).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
