//! The governance of a convention in the JSON API: bodies and their members, meetings (agenda,
//! attendance, decisions, minutes), open decisions, the concertation and the coordination posts.
//!
//! Member names, attendance, minutes and post holders are personal data: they are given only to the
//! people with a role in the convention (`null` otherwise). Every write is the coordination's.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use ctg_domain::access::Action;
use ctg_domain::governance::{
    totals_by_category, totals_by_kind, Attendance, AttendanceStatus, CategoryTotals, ConcertationEvent,
    ConcertationKind, Meeting, MemberRole, NewConcertationEvent, NewContribution, NewDecision, NewMeeting, NewMember,
    NewPost, ParticipantCategory, Participants,
};
use ctg_domain::{Body, BodyKind, Channel, InseeCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::convention::api::{authorize_write, VersionDto};
use crate::extract::{ApiJson, Ids, Version};
use crate::governance::parse_time;
use crate::{ApiError, AppState, WebError};

/// Le numéro de ce qui a été créé.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreeDto {
    pub id: i64,
}

fn created(id: i64) -> (StatusCode, Json<CreeDto>) {
    (StatusCode::CREATED, Json(CreeDto { id }))
}

fn bad(e: impl std::fmt::Display) -> WebError {
    WebError::BadRequest(e.to_string())
}

// ---------------------------------------------------------------------------------------------
// Bodies and members

#[derive(Debug, Serialize, ToSchema)]
pub struct MembreDto {
    pub id: i64,
    pub version: i64,
    /// Le nom de la personne ; `null` pour qui n'a pas de rôle dans la convention (donnée personnelle).
    pub nom: Option<String>,
    pub organisation: String,
    pub fonction: String,
    /// president, copresident, vice_president, membre, invite ou secretariat.
    pub role: String,
    pub role_libelle: String,
    pub arrivee: NaiveDate,
    /// Le jour du départ : à partir de ce jour, la personne n'est plus membre.
    pub depart: Option<NaiveDate>,
    /// Membre au jour de la requête.
    pub actuel: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InstanceGouvernanceDto {
    pub id: i64,
    pub version: i64,
    /// copil_restreint, copil_elargi, comite_technique, copil_communal ou commission_thematique.
    pub nature: String,
    pub nature_libelle: String,
    pub nom: String,
    pub description: Option<String>,
    pub membres: Vec<MembreDto>,
}

/// Les instances de gouvernance de la convention (article 7-a) et leurs membres. Le nom des membres
/// n'est donné qu'aux personnes qui ont un rôle dans la convention.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/instances",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses(
        (status = 200, description = "Les instances de gouvernance de la convention", body = [InstanceGouvernanceDto]),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn bodies(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
) -> Result<Json<Vec<InstanceGouvernanceDto>>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let names = state.sees_personal_data(&auth, id).await;
    let today = state.today();
    Ok(Json(
        state
            .store
            .bodies(id)
            .await?
            .into_iter()
            .map(|b| InstanceGouvernanceDto {
                id: b.id,
                version: b.version,
                nature: b.body.kind.code().into(),
                nature_libelle: b.body.kind.label().into(),
                nom: b.body.name.clone(),
                description: b.body.description.clone(),
                membres: b
                    .members
                    .iter()
                    .map(|m| MembreDto {
                        id: m.id,
                        version: m.version,
                        nom: names.then(|| m.data.name.clone()),
                        organisation: m.data.organisation.clone(),
                        fonction: m.data.function.clone(),
                        role: m.data.role.code().into(),
                        role_libelle: m.data.role.label().into(),
                        arrivee: m.data.joined,
                        depart: m.data.left,
                        actuel: m.is_current(today),
                    })
                    .collect(),
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstanceSaisieDto {
    /// copil_restreint, copil_elargi, comite_technique, copil_communal ou commission_thematique.
    pub nature: String,
    pub nom: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// Ajoute une instance (une commission thématique, par exemple).
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/instances",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body = InstanceSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 201, description = "Créée : le numéro de l'instance", body = CreeDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn create_body(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    ApiJson(b): ApiJson<InstanceSaisieDto>,
) -> Result<(StatusCode, Json<CreeDto>), ApiError> {
    authorize_write(&state, &auth, Action::ManageGovernance, id).await?;
    let new = Body { kind: BodyKind::parse(&b.nature).map_err(bad)?, name: b.nom, description: b.description };
    Ok(created(state.store.add_body(&auth.actor(Channel::Api), id, &new).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembreSaisieDto {
    pub nom: String,
    #[serde(default)]
    pub organisation: String,
    #[serde(default)]
    pub fonction: String,
    /// president, copresident, vice_president, membre (par défaut), invite ou secretariat.
    #[serde(default)]
    pub role: Option<String>,
    pub arrivee: NaiveDate,
    #[serde(default)]
    pub depart: Option<NaiveDate>,
}

/// Ajoute un membre à une instance.
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/instances/{instance}/membres",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("instance" = i64, Path, description = "Numéro de l'instance")),
    request_body = MembreSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 201, description = "Créé : le numéro du membre", body = CreeDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn create_member(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, bid)): Ids<(i64, i64)>,
    ApiJson(m): ApiJson<MembreSaisieDto>,
) -> Result<(StatusCode, Json<CreeDto>), ApiError> {
    authorize_write(&state, &auth, Action::ManageGovernance, id).await?;
    let member = NewMember {
        name: m.nom,
        organisation: m.organisation,
        function: m.fonction,
        role: MemberRole::parse(m.role.as_deref().unwrap_or("membre")).map_err(bad)?,
        joined: m.arrivee,
        left: m.depart,
    };
    Ok(created(state.store.add_member(&auth.actor(Channel::Api), id, bid, member).await?))
}

// ---------------------------------------------------------------------------------------------
// Meetings

#[derive(Debug, Serialize, ToSchema)]
pub struct LienOrdreDuJourDto {
    /// fiche, indicateur ou document.
    #[serde(rename = "type")]
    pub type_code: String,
    pub id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PointOrdreDuJourDto {
    pub intitule: String,
    pub liens: Vec<LienOrdreDuJourDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PresenceDto {
    pub membre: i64,
    /// invite, present, excuse ou represente.
    pub presence: String,
    pub represente_par: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SynthesePresencesDto {
    pub invites: usize,
    pub presents: usize,
    pub representes: usize,
    pub excuses: usize,
    pub sans_reponse: usize,
    /// Présents ou représentés sur invités, en pourcentage.
    pub taux: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionDto {
    pub id: i64,
    pub version: i64,
    pub texte: String,
    /// Numéros des fiches action concernées.
    pub fiches: Vec<i64>,
    pub suivi_par: String,
    pub echeance: Option<NaiveDate>,
    /// ouverte ou close.
    pub statut: String,
    pub close_le: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeanceDto {
    pub id: i64,
    /// À renvoyer avec une modification (ordre du jour, présences, compte rendu) : une version
    /// dépassée est refusée (409).
    pub version: i64,
    pub instance: i64,
    pub intitule: Option<String>,
    pub date: NaiveDate,
    /// Heure de Paris, HH:MM.
    pub debut: String,
    pub fin: String,
    pub lieu: Option<String>,
    pub visioconference: Option<String>,
    pub ordre_du_jour: Vec<PointOrdreDuJourDto>,
    /// `null` pour qui n'a pas de rôle dans la convention (données personnelles).
    pub presences: Option<Vec<PresenceDto>>,
    pub synthese_presences: Option<SynthesePresencesDto>,
    pub decisions: Vec<DecisionDto>,
    /// `null` pour qui n'a pas de rôle dans la convention, ou sans compte rendu.
    pub compte_rendu: Option<String>,
}

impl SeanceDto {
    fn of(m: &Meeting, personal: bool) -> Self {
        let s = m.attendance_summary();
        Self {
            id: m.id,
            version: m.version,
            instance: m.body_id,
            intitule: m.data.title.clone(),
            date: m.data.date,
            debut: m.data.start.format("%H:%M").to_string(),
            fin: m.data.end.format("%H:%M").to_string(),
            lieu: m.data.place.clone(),
            visioconference: m.data.video_link.clone(),
            ordre_du_jour: m
                .agenda
                .iter()
                .map(|i| PointOrdreDuJourDto {
                    intitule: i.title.clone(),
                    liens: i
                        .links
                        .iter()
                        .map(|l| LienOrdreDuJourDto { type_code: l.code().into(), id: l.id() })
                        .collect(),
                })
                .collect(),
            presences: personal.then(|| {
                m.attendance
                    .iter()
                    .map(|a| PresenceDto {
                        membre: a.member_id,
                        presence: a.status.code().into(),
                        represente_par: a.represented_by.clone(),
                    })
                    .collect()
            }),
            synthese_presences: personal.then(|| SynthesePresencesDto {
                invites: s.invited,
                presents: s.present,
                representes: s.represented,
                excuses: s.excused,
                sans_reponse: s.no_answer,
                taux: s.share(),
            }),
            decisions: m
                .decisions
                .iter()
                .map(|d| DecisionDto {
                    id: d.id,
                    version: d.version,
                    texte: d.data.text.clone(),
                    fiches: d.data.fiches.clone(),
                    suivi_par: d.data.follow_up.clone(),
                    echeance: d.data.due,
                    statut: d.status().code().into(),
                    close_le: d.closed_on,
                })
                .collect(),
            compte_rendu: if personal { m.minutes.clone() } else { None },
        }
    }
}

/// Les séances d'une instance, par date.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/instances/{instance}/seances",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("instance" = i64, Path, description = "Numéro de l'instance")),
    responses(
        (status = 200, description = "Les séances de l'instance", body = [SeanceDto]),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn meetings(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, bid)): Ids<(i64, i64)>,
) -> Result<Json<Vec<SeanceDto>>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    state.store.body(id, bid).await?;
    let personal = state.sees_personal_data(&auth, id).await;
    Ok(Json(state.store.meetings_of_body(id, bid).await?.iter().map(|m| SeanceDto::of(m, personal)).collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeanceSaisieDto {
    #[serde(default)]
    pub intitule: Option<String>,
    pub date: NaiveDate,
    /// Heure de Paris, HH:MM.
    pub debut: String,
    pub fin: String,
    #[serde(default)]
    pub lieu: Option<String>,
    /// Une adresse https://.
    #[serde(default)]
    pub visioconference: Option<String>,
}

/// Programme une séance d'une instance.
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/instances/{instance}/seances",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("instance" = i64, Path, description = "Numéro de l'instance")),
    request_body = SeanceSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 201, description = "Créée : le numéro de la séance", body = CreeDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn create_meeting(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, bid)): Ids<(i64, i64)>,
    ApiJson(s): ApiJson<SeanceSaisieDto>,
) -> Result<(StatusCode, Json<CreeDto>), ApiError> {
    authorize_write(&state, &auth, Action::ManageGovernance, id).await?;
    let time = |raw: &str, field: &str| {
        parse_time(raw).ok_or_else(|| bad(format!("{field} : heure invalide « {raw} » (HH:MM attendu)")))
    };
    let meeting = NewMeeting {
        title: s.intitule,
        date: s.date,
        start: time(&s.debut, "debut")?,
        end: time(&s.fin, "fin")?,
        place: s.lieu,
        video_link: s.visioconference,
    };
    Ok(created(state.store.create_meeting(&auth.actor(Channel::Api), id, bid, meeting).await?))
}

/// Une séance : date, horaire, lieu, ordre du jour, décisions ; présences et compte rendu pour les
/// personnes qui ont un rôle dans la convention.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/seances/{seance}",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("seance" = i64, Path, description = "Numéro de la séance")),
    responses(
        (status = 200, description = "La séance", body = SeanceDto),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn meeting(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
) -> Result<Json<SeanceDto>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let personal = state.sees_personal_data(&auth, id).await;
    Ok(Json(SeanceDto::of(&state.store.meeting(id, mid).await?, personal)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresenceSaisieDto {
    pub membre: i64,
    /// invite, present, excuse ou represente.
    pub presence: String,
    /// Obligatoire pour « represente », interdit sinon.
    #[serde(default)]
    pub represente_par: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PresencesSaisieDto {
    /// La version de la séance lue.
    pub version: Version,
    /// Les membres invités et leur réponse ; un membre absent de la liste n'est pas invité.
    pub presences: Vec<PresenceSaisieDto>,
}

/// Remplace les invitations et les présences d'une séance, à partir de la version lue.
#[utoipa::path(
    put,
    path = "/api/v1/conventions/{id}/seances/{seance}/presences",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("seance" = i64, Path, description = "Numéro de la séance")),
    request_body = PresencesSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 200, description = "Enregistré : la nouvelle version de la séance", body = VersionDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound)),
        (status = 409, response = inline(crate::error::Conflict))
    )
)]
pub async fn set_attendance(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
    ApiJson(p): ApiJson<PresencesSaisieDto>,
) -> Result<Json<VersionDto>, ApiError> {
    authorize_write(&state, &auth, Action::ManageGovernance, id).await?;
    let list = p
        .presences
        .into_iter()
        .map(|a| {
            Ok(Attendance {
                member_id: a.membre,
                status: AttendanceStatus::parse(&a.presence).map_err(bad)?,
                represented_by: a.represente_par,
            })
        })
        .collect::<Result<Vec<_>, WebError>>()?;
    let version = state.store.set_attendance(&auth.actor(Channel::Api), id, mid, p.version.0, &list).await?;
    Ok(Json(VersionDto { version }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointSaisieDto {
    pub intitule: String,
    /// Numéros des fiches action, indicateurs et documents que le point concerne.
    #[serde(default)]
    pub fiches: Vec<i64>,
    #[serde(default)]
    pub indicateurs: Vec<i64>,
    #[serde(default)]
    pub documents: Vec<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrdreDuJourSaisieDto {
    /// La version de la séance lue.
    pub version: Version,
    pub points: Vec<PointSaisieDto>,
}

/// Remplace l'ordre du jour d'une séance, à partir de la version lue.
#[utoipa::path(
    put,
    path = "/api/v1/conventions/{id}/seances/{seance}/ordre-du-jour",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("seance" = i64, Path, description = "Numéro de la séance")),
    request_body = OrdreDuJourSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 200, description = "Enregistré : la nouvelle version de la séance", body = VersionDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound)),
        (status = 409, response = inline(crate::error::Conflict))
    )
)]
pub async fn set_agenda(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
    ApiJson(b): ApiJson<OrdreDuJourSaisieDto>,
) -> Result<Json<VersionDto>, ApiError> {
    use ctg_domain::governance::{AgendaItem, AgendaLink};
    authorize_write(&state, &auth, Action::ManageGovernance, id).await?;
    let items: Vec<AgendaItem> = b
        .points
        .into_iter()
        .map(|p| AgendaItem {
            title: p.intitule,
            links: p
                .fiches
                .into_iter()
                .map(AgendaLink::Fiche)
                .chain(p.indicateurs.into_iter().map(AgendaLink::Indicator))
                .chain(p.documents.into_iter().map(AgendaLink::Document))
                .collect(),
        })
        .collect();
    let version = state.store.set_agenda(&auth.actor(Channel::Api), id, mid, b.version.0, &items).await?;
    Ok(Json(VersionDto { version }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompteRenduSaisieDto {
    /// La version de la séance lue.
    pub version: Version,
    /// Le texte du compte rendu ; nul pour l'effacer.
    pub compte_rendu: Option<String>,
}

/// Enregistre le compte rendu d'une séance, à partir de la version lue.
#[utoipa::path(
    put,
    path = "/api/v1/conventions/{id}/seances/{seance}/compte-rendu",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("seance" = i64, Path, description = "Numéro de la séance")),
    request_body = CompteRenduSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 200, description = "Enregistré : la nouvelle version de la séance", body = VersionDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound)),
        (status = 409, response = inline(crate::error::Conflict))
    )
)]
pub async fn set_minutes(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
    ApiJson(b): ApiJson<CompteRenduSaisieDto>,
) -> Result<Json<VersionDto>, ApiError> {
    authorize_write(&state, &auth, Action::ManageGovernance, id).await?;
    let version =
        state.store.set_minutes(&auth.actor(Channel::Api), id, mid, b.version.0, b.compte_rendu.as_deref()).await?;
    Ok(Json(VersionDto { version }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionSaisieDto {
    pub texte: String,
    /// Numéros des fiches action concernées.
    #[serde(default)]
    pub fiches: Vec<i64>,
    /// Qui suit la décision (une personne ou une organisation).
    #[serde(default)]
    pub suivi_par: String,
    #[serde(default)]
    pub echeance: Option<NaiveDate>,
}

/// Enregistre une décision d'une séance ; elle reste ouverte jusqu'à sa clôture.
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/seances/{seance}/decisions",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("seance" = i64, Path, description = "Numéro de la séance")),
    request_body = DecisionSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 201, description = "Créée : le numéro de la décision", body = CreeDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn create_decision(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
    ApiJson(d): ApiJson<DecisionSaisieDto>,
) -> Result<(StatusCode, Json<CreeDto>), ApiError> {
    authorize_write(&state, &auth, Action::ManageGovernance, id).await?;
    let decision = NewDecision { text: d.texte, fiches: d.fiches, follow_up: d.suivi_par, due: d.echeance };
    Ok(created(state.store.add_decision(&auth.actor(Channel::Api), id, mid, decision).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClotureSaisieDto {
    /// La version de la décision lue.
    pub version: Version,
    /// Le jour de la clôture ; aujourd'hui par défaut.
    #[serde(default)]
    pub date: Option<NaiveDate>,
}

/// Clôt une décision, à partir de la version lue.
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/decisions/{decision}/cloture",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("decision" = i64, Path, description = "Numéro de la décision")),
    request_body = ClotureSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 200, description = "Enregistré : la nouvelle version de la décision", body = VersionDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound)),
        (status = 409, response = inline(crate::error::Conflict))
    )
)]
pub async fn close_decision(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, did)): Ids<(i64, i64)>,
    ApiJson(c): ApiJson<ClotureSaisieDto>,
) -> Result<Json<VersionDto>, ApiError> {
    authorize_write(&state, &auth, Action::ManageGovernance, id).await?;
    let day = c.date.unwrap_or_else(|| state.today());
    let version = state.store.close_decision(&auth.actor(Channel::Api), id, did, c.version.0, day).await?;
    Ok(Json(VersionDto { version }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionOuverteDto {
    #[serde(flatten)]
    pub decision: DecisionDto,
    pub instance: i64,
    pub instance_nom: String,
    pub seance: i64,
    pub seance_date: NaiveDate,
    /// Échéance dépassée au jour de la requête.
    pub en_retard: bool,
    pub jours_de_retard: i64,
}

/// Les décisions encore ouvertes de toutes les instances, par échéance (sans échéance en dernier).
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/decisions",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses(
        (status = 200, description = "Les décisions ouvertes de toutes les instances", body = [DecisionOuverteDto]),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn open_decisions(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
) -> Result<Json<Vec<DecisionOuverteDto>>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    Ok(Json(
        state
            .store
            .open_decisions(id, state.today())
            .await?
            .into_iter()
            .map(|o| {
                let d = &o.decision;
                DecisionOuverteDto {
                    decision: DecisionDto {
                        id: d.id,
                        version: d.version,
                        texte: d.data.text.clone(),
                        fiches: d.data.fiches.clone(),
                        suivi_par: d.data.follow_up.clone(),
                        echeance: d.data.due,
                        statut: d.status().code().into(),
                        close_le: d.closed_on,
                    },
                    instance: o.body_id,
                    instance_nom: o.body_name.clone(),
                    seance: o.meeting_id,
                    seance_date: o.meeting_date,
                    en_retard: o.overdue,
                    jours_de_retard: o.days_overdue,
                }
            })
            .collect(),
    ))
}

// ---------------------------------------------------------------------------------------------
// Concertation

#[derive(Debug, Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ParticipantsDto {
    /// Un effectif inconnu est absent (ou `null`), pas nul.
    #[serde(default)]
    pub habitants: Option<i64>,
    #[serde(default)]
    pub elus: Option<i64>,
    #[serde(default)]
    pub partenaires: Option<i64>,
    /// L'effectif total, quand il n'est pas (ou pas entièrement) réparti par catégorie.
    #[serde(default)]
    pub total: Option<i64>,
    /// Effectifs approximatifs (« une centaine »).
    #[serde(default)]
    pub environ: bool,
}

impl From<&Participants> for ParticipantsDto {
    fn from(p: &Participants) -> Self {
        Self {
            habitants: p.inhabitants,
            elus: p.elected,
            partenaires: p.partners,
            total: p.total,
            environ: p.approximate,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContributionDto {
    pub id: i64,
    pub version: i64,
    pub texte: String,
    /// habitants, elus ou partenaires.
    pub auteur: Option<String>,
    pub theme: Option<String>,
    /// Numéros des ambitions qui y répondent.
    pub ambitions: Vec<i64>,
    /// Numéros des fiches action qui y répondent.
    pub fiches: Vec<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EvenementConcertationDto {
    pub id: i64,
    pub version: i64,
    /// entretien, focus_group, groupe_de_travail, seminaire, reunion_publique ou seance_participative.
    pub nature: String,
    pub nature_libelle: String,
    pub intitule: String,
    pub debut: NaiveDate,
    pub fin: Option<NaiveDate>,
    /// Combien d'événements cette entrée représente.
    pub nombre: i64,
    /// Codes INSEE des communes concernées.
    pub communes: Vec<String>,
    pub nombre_communes: Option<i64>,
    pub participants: ParticipantsDto,
    pub themes: Vec<String>,
    pub note: Option<String>,
    pub contributions: Vec<ContributionDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotauxCategoriesDto {
    pub habitants: i64,
    pub elus: i64,
    pub partenaires: i64,
    /// Comptés sans catégorie (un total donné sans répartition).
    pub sans_repartition: i64,
    pub total: i64,
    /// Un effectif approximatif entre dans ces totaux.
    pub environ: bool,
}

impl From<&CategoryTotals> for TotauxCategoriesDto {
    fn from(t: &CategoryTotals) -> Self {
        Self {
            habitants: t.inhabitants,
            elus: t.elected,
            partenaires: t.partners,
            sans_repartition: t.unattributed,
            total: t.all(),
            environ: t.approximate,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TotauxNatureDto {
    pub nature: String,
    pub nature_libelle: String,
    pub evenements: i64,
    pub participants: TotauxCategoriesDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConcertationDto {
    pub evenements: Vec<EvenementConcertationDto>,
    pub totaux: TotauxCategoriesDto,
    pub par_nature: Vec<TotauxNatureDto>,
}

fn event_dto(e: &ConcertationEvent) -> EvenementConcertationDto {
    let d = &e.data;
    EvenementConcertationDto {
        id: e.id,
        version: e.version,
        nature: d.kind.code().into(),
        nature_libelle: d.kind.label().into(),
        intitule: d.title.clone(),
        debut: d.start,
        fin: d.end,
        nombre: d.occurrences,
        communes: d.communes.iter().map(InseeCode::to_string).collect(),
        nombre_communes: d.commune_count,
        participants: (&d.participants).into(),
        themes: d.themes.clone(),
        note: d.note.clone(),
        contributions: e
            .contributions
            .iter()
            .map(|c| ContributionDto {
                id: c.id,
                version: c.version,
                texte: c.data.text.clone(),
                auteur: c.data.author.map(|a| a.code().to_owned()),
                theme: c.data.theme.clone(),
                ambitions: c.data.ambitions.clone(),
                fiches: c.data.fiches.clone(),
            })
            .collect(),
    }
}

/// La concertation : ses événements et leurs contributions, les participants par catégorie et par type.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/concertation",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses(
        (status = 200, description = "La concertation : événements, participants et contributions", body = ConcertationDto),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn concertation(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
) -> Result<Json<ConcertationDto>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let events = state.store.concertation(id).await?;
    Ok(Json(ConcertationDto {
        totaux: (&totals_by_category(&events)).into(),
        par_nature: totals_by_kind(&events)
            .iter()
            .map(|k| TotauxNatureDto {
                nature: k.kind.code().into(),
                nature_libelle: k.kind.label().into(),
                evenements: k.events,
                participants: (&k.participants).into(),
            })
            .collect(),
        evenements: events.iter().map(event_dto).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvenementSaisieDto {
    /// entretien, focus_group, groupe_de_travail, seminaire, reunion_publique ou seance_participative.
    pub nature: String,
    pub intitule: String,
    pub debut: NaiveDate,
    #[serde(default)]
    pub fin: Option<NaiveDate>,
    /// Combien d'événements cette entrée représente (1 par défaut).
    #[serde(default)]
    pub nombre: Option<i64>,
    #[serde(default)]
    pub communes: Vec<String>,
    #[serde(default)]
    pub nombre_communes: Option<i64>,
    #[serde(default)]
    pub participants: ParticipantsDto,
    #[serde(default)]
    pub themes: Vec<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// Enregistre un temps de concertation.
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/concertation",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body = EvenementSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 201, description = "Créé : le numéro de l'événement", body = CreeDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn create_event(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    ApiJson(e): ApiJson<EvenementSaisieDto>,
) -> Result<(StatusCode, Json<CreeDto>), ApiError> {
    authorize_write(&state, &auth, Action::ManageGovernance, id).await?;
    let p = e.participants;
    let event = NewConcertationEvent {
        kind: ConcertationKind::parse(&e.nature).map_err(bad)?,
        title: e.intitule,
        start: e.debut,
        end: e.fin,
        occurrences: e.nombre.unwrap_or(1),
        communes: e
            .communes
            .iter()
            .map(|c| InseeCode::parse(c).map_err(|err| bad(format!("communes : {err}"))))
            .collect::<Result<_, _>>()?,
        commune_count: e.nombre_communes,
        participants: Participants {
            inhabitants: p.habitants,
            elected: p.elus,
            partners: p.partenaires,
            total: p.total,
            approximate: p.environ,
        },
        themes: e.themes,
        note: e.note,
    };
    Ok(created(state.store.create_concertation_event(&auth.actor(Channel::Api), id, event).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContributionSaisieDto {
    pub texte: String,
    /// habitants, elus ou partenaires.
    #[serde(default)]
    pub auteur: Option<String>,
    #[serde(default)]
    pub theme: Option<String>,
    /// Numéros des ambitions qui y répondent.
    #[serde(default)]
    pub ambitions: Vec<i64>,
    /// Numéros des fiches action qui y répondent.
    #[serde(default)]
    pub fiches: Vec<i64>,
}

/// Ajoute une contribution à un temps de concertation, avec les ambitions et les fiches qui y répondent.
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/concertation/{evenement}/contributions",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("evenement" = i64, Path, description = "Numéro de l'événement")),
    request_body = ContributionSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 201, description = "Créée : le numéro de la contribution", body = CreeDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn create_contribution(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, eid)): Ids<(i64, i64)>,
    ApiJson(c): ApiJson<ContributionSaisieDto>,
) -> Result<(StatusCode, Json<CreeDto>), ApiError> {
    authorize_write(&state, &auth, Action::ManageGovernance, id).await?;
    let contribution = NewContribution {
        text: c.texte,
        author: c.auteur.as_deref().map(ParticipantCategory::parse).transpose().map_err(bad)?,
        theme: c.theme,
        ambitions: c.ambitions,
        fiches: c.fiches,
    };
    Ok(created(state.store.add_contribution(&auth.actor(Channel::Api), id, eid, contribution).await?))
}

// ---------------------------------------------------------------------------------------------
// Coordination posts (art. 7-b)

#[derive(Debug, Serialize, ToSchema)]
pub struct PosteDto {
    pub id: i64,
    pub version: i64,
    /// Qui occupe le poste ; `null` s'il est vacant, ou pour qui n'a pas de rôle dans la convention.
    pub personne: Option<String>,
    /// Le poste est pourvu.
    pub pourvu: bool,
    pub employeur: String,
    /// En centièmes d'équivalent temps plein (80 = 0,8 ETP).
    pub etp_centiemes: i64,
    pub debut: NaiveDate,
    pub fin: Option<NaiveDate>,
    pub financement: String,
    /// Montant annuel, en centimes.
    pub montant_centimes: Option<i64>,
    pub financeur: Option<String>,
    /// Le poste court au jour de la requête.
    pub actif: bool,
    /// Le jour où la résiliation de la convention arrête ce poste (art. 13 : « arrêt immédiat des
    /// engagements des parties ») ; `null` s'il n'est pas arrêté.
    pub arrete: Option<NaiveDate>,
}

/// Les postes de chargés de coopération de la convention (article 7-b).
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/cooperation",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses(
        (status = 200, description = "Les postes de chargés de coopération", body = [PosteDto]),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn posts(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
) -> Result<Json<Vec<PosteDto>>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let names = state.sees_personal_data(&auth, id).await;
    let today = state.today();
    let stop = state.store.commitments_stop(id).await?;
    Ok(Json(
        state
            .store
            .coordination_posts(id)
            .await?
            .into_iter()
            .map(|p| {
                let d = p.data;
                PosteDto {
                    id: p.id,
                    version: p.version,
                    pourvu: d.person.is_some(),
                    actif: d.runs_on(today, stop),
                    arrete: d.stopped_by(stop).then(|| stop.map(|s| s.effective)).flatten(),
                    personne: if names { d.person } else { None },
                    employeur: d.employer,
                    etp_centiemes: d.fte_hundredths,
                    debut: d.start,
                    fin: d.end,
                    financement: d.funding,
                    montant_centimes: d.amount_cents,
                    financeur: d.funder,
                }
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PosteSaisieDto {
    #[serde(default)]
    pub personne: Option<String>,
    pub employeur: String,
    /// En centièmes d'ETP, de 1 à 100.
    pub etp_centiemes: i64,
    pub debut: NaiveDate,
    #[serde(default)]
    pub fin: Option<NaiveDate>,
    #[serde(default)]
    pub financement: String,
    #[serde(default)]
    pub montant_centimes: Option<i64>,
    #[serde(default)]
    pub financeur: Option<String>,
}

/// Enregistre un poste de chargé(e) de coopération.
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/cooperation",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body = PosteSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 201, description = "Créé : le numéro du poste", body = CreeDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn create_post(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    ApiJson(p): ApiJson<PosteSaisieDto>,
) -> Result<(StatusCode, Json<CreeDto>), ApiError> {
    authorize_write(&state, &auth, Action::ManageGovernance, id).await?;
    let post = NewPost {
        person: p.personne,
        employer: p.employeur,
        fte_hundredths: p.etp_centiemes,
        start: p.debut,
        end: p.fin,
        funding: p.financement,
        amount_cents: p.montant_centimes,
        funder: p.financeur,
    };
    Ok(created(state.store.create_post(&auth.actor(Channel::Api), id, post).await?))
}

#[cfg(test)]
mod tests {
    use ctg_domain::governance::AgendaLink;

    use super::*;

    #[test]
    fn agenda_links_keep_their_kind() {
        let l = AgendaLink::Indicator(3);
        let dto = LienOrdreDuJourDto { type_code: l.code().into(), id: l.id() };
        assert_eq!(serde_json::to_value(dto).unwrap(), serde_json::json!({"type": "indicateur", "id": 3}));
    }
}
