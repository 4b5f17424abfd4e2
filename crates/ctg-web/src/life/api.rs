//! The life of the convention in the JSON API: status and next milestone, signatures, avenants, text
//! versions and their differences, termination.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use ctg_domain::access::Action;
use ctg_domain::life::{diff_lines, AvenantChange, ChangeTarget, DiffLine, NoticeOutcome, SignedOn, TerminationGround};
use ctg_domain::Channel;
use ctg_store::{NewAvenant, Termination};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api_query::ApiQuery;
use crate::auth::Auth;
use crate::convention::api::authorize_write;
use crate::extract::{ApiJson, Ids};
use crate::{ApiError, AppState, WebError};

#[derive(Debug, Serialize, ToSchema)]
pub struct SignaturePartieDto {
    pub partie_id: i64,
    pub organisation: String,
    pub role: String,
    /// Le jour de la signature, ou le premier jour de son mois quand `signature_au_mois`.
    pub date_signature: Option<NaiveDate>,
    /// Vrai quand seul le mois de la signature est connu (« janvier 2026 »).
    pub signature_au_mois: bool,
    pub deliberation: Option<String>,
    pub date_deliberation: Option<NaiveDate>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ModificationDto {
    /// texte, annexe, date_fin, partie (son signataire), ambition ou autre.
    pub objet: String,
    /// Le numéro de l'annexe, pour une annexe ; de l'ambition, pour une ambition.
    #[serde(default)]
    pub annexe: Option<i64>,
    /// Le nom de l'annexe, de la partie ou de l'objet ; pour une ambition, le numéro de son enjeu.
    #[serde(default)]
    pub nom: String,
    #[serde(default)]
    pub avant: String,
    #[serde(default)]
    pub apres: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AvenantDto {
    pub id: i64,
    pub numero: i64,
    pub date: NaiveDate,
    pub intitule: String,
    /// Nul tant que toutes les parties n'ont pas signé.
    pub en_vigueur_depuis: Option<NaiveDate>,
    pub modifications: Vec<ModificationDto>,
    pub signatures: Vec<SignatureAvenantDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignatureAvenantDto {
    pub partie_id: i64,
    pub organisation: String,
    pub date: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResiliationDto {
    pub motif: String,
    pub motif_libelle: String,
    pub date_notification: NaiveDate,
    pub prend_effet_le: NaiveDate,
    pub partie: String,
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TexteDto {
    pub cle: String,
    pub libelle: String,
    pub versions: i64,
    pub version_en_vigueur: Option<i64>,
    pub version_en_attente: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EcheanceDto {
    pub date: NaiveDate,
    pub objet: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VieDto {
    /// brouillon, en_attente_signatures, signee, en_vigueur, expiree ou resiliee.
    pub statut: String,
    pub statut_libelle: String,
    pub en_vigueur_depuis: Option<NaiveDate>,
    pub fin: NaiveDate,
    pub fin_des_engagements: NaiveDate,
    pub prochaine_echeance: Option<EcheanceDto>,
    pub signatures: Vec<SignaturePartieDto>,
    pub avenants: Vec<AvenantDto>,
    pub resiliation: Option<ResiliationDto>,
    pub textes: Vec<TexteDto>,
}

/// La vie de la convention : statut et prochaine échéance, signatures, avenants, textes, résiliation.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/vie",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses(
        (status = 200, description = "La vie de la convention : statut, signatures, avenants, textes, résiliation, prochaine échéance", body = VieDto),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn life(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Json<VieDto>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let l = state.store.life(id, state.today()).await?;
    Ok(Json(VieDto {
        statut: l.status.code().into(),
        statut_libelle: l.status.label(),
        en_vigueur_depuis: l.in_force_from,
        fin: l.end,
        fin_des_engagements: l.commitments_end,
        prochaine_echeance: l.next_milestone.as_ref().map(|(d, o)| EcheanceDto { date: *d, objet: o.clone() }),
        signatures: l
            .parties
            .iter()
            .map(|p| SignaturePartieDto {
                partie_id: p.id,
                organisation: p.party.organisation.name.clone(),
                role: p.party.role.code().into(),
                date_signature: p.party.signature_date,
                signature_au_mois: p.party.signature_month_only,
                deliberation: p.party.deliberation.clone(),
                date_deliberation: p.party.deliberation_date,
            })
            .collect(),
        avenants: l
            .avenants
            .iter()
            .map(|a| AvenantDto {
                id: a.id,
                numero: a.number,
                date: a.date,
                intitule: a.title.clone(),
                en_vigueur_depuis: a.in_force_from,
                modifications: a
                    .changes
                    .iter()
                    .map(|c| ModificationDto {
                        objet: c.target.code().into(),
                        annexe: c.target.annex_number(),
                        nom: c.target.name().into_owned(),
                        avant: c.before.clone(),
                        apres: c.after.clone(),
                    })
                    .collect(),
                signatures: a
                    .signatures
                    .iter()
                    .map(|s| SignatureAvenantDto {
                        partie_id: s.party_id,
                        organisation: s.organisation.clone(),
                        date: s.date,
                    })
                    .collect(),
            })
            .collect(),
        resiliation: l.termination.as_ref().map(|t| ResiliationDto {
            motif: t.ground.code().into(),
            motif_libelle: t.ground.label().into(),
            date_notification: t.notice_date,
            prend_effet_le: t.effective_date,
            partie: t.party_name.clone(),
            note: t.note.clone(),
        }),
        textes: l
            .documents
            .iter()
            .map(|d| TexteDto {
                cle: d.key.clone(),
                libelle: d.label.clone(),
                versions: d.versions,
                version_en_vigueur: d.current,
                version_en_attente: d.pending,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureSaisieDto {
    /// Le jour de la signature, ou le premier jour de son mois avec `au_mois`.
    pub date: NaiveDate,
    /// Vrai quand le texte ne donne que le mois de la signature (« janvier 2026 ») ; faux par défaut.
    #[serde(default)]
    pub au_mois: bool,
    /// La délibération qui autorise la signature, quand le texte en nomme une.
    #[serde(default)]
    pub deliberation: Option<String>,
    /// Sa date, quand le texte la donne ; elle précède la signature.
    #[serde(default)]
    pub date_deliberation: Option<NaiveDate>,
}

/// Enregistre la signature d'une partie et la délibération qui l'autorise.
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/parties/{partie}/signature",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("partie" = i64, Path, description = "Numéro de la partie")),
    request_body = SignatureSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 204, description = "Signature enregistrée"),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn sign_party(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, party)): Ids<(i64, i64)>,
    ApiJson(b): ApiJson<SignatureSaisieDto>,
) -> Result<StatusCode, ApiError> {
    let org = crate::life::party_org(&state, id, party).await?;
    authorize_write(&state, &auth, Action::EditParty { organisation_id: org }, id).await?;
    state
        .store
        .sign_party(
            &auth.actor(Channel::Api),
            id,
            party,
            if b.au_mois { SignedOn::month(b.date) } else { SignedOn::day(b.date) },
            b.deliberation.as_deref().map(str::trim).filter(|d| !d.is_empty()),
            b.date_deliberation,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvenantSaisieDto {
    pub date: NaiveDate,
    pub intitule: String,
    pub modifications: Vec<ModificationDto>,
}

/// Enregistre un avenant ; il n'entre en vigueur qu'une fois signé par toutes les parties.
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/avenants",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body = AvenantSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 201, description = "Créé : le numéro de l'avenant", body = crate::governance::api::CreeDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn create_avenant(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    ApiJson(b): ApiJson<AvenantSaisieDto>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    authorize_write(&state, &auth, Action::EditConvention, id).await?;
    let changes = b
        .modifications
        .iter()
        .map(|m| {
            ChangeTarget::from_parts(&m.objet, m.annexe, &m.nom)
                .map(|target| AvenantChange { target, before: m.avant.clone(), after: m.apres.clone() })
                .map_err(|e| WebError::BadRequest(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let aid = state
        .store
        .create_avenant(&auth.actor(Channel::Api), id, &NewAvenant { date: b.date, title: b.intitule, changes })
        .await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": aid }))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DateSaisieDto {
    pub date: NaiveDate,
}

// The answer of `sign_avenant`, as the OpenAPI document describes it (the handler writes the same
// key with `json!`).
/// La réponse à la signature d'un avenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnVigueurDto {
    /// La date d'entrée en vigueur de l'avenant, une fois signé par toutes les parties ; sinon `null`.
    pub en_vigueur_depuis: Option<NaiveDate>,
}

/// Enregistre la signature d'un avenant par une partie ; la dernière le met en vigueur.
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/avenants/{avenant}/signatures/{partie}",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("avenant" = i64, Path, description = "Numéro de l'avenant"), ("partie" = i64, Path, description = "Numéro de la partie")),
    request_body = DateSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 200, description = "Signature enregistrée ; l'avenant est en vigueur une fois signé par toutes les parties", body = EnVigueurDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn sign_avenant(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, avenant, party)): Ids<(i64, i64, i64)>,
    ApiJson(b): ApiJson<DateSaisieDto>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let org = crate::life::party_org(&state, id, party).await?;
    authorize_write(&state, &auth, Action::EditParty { organisation_id: org }, id).await?;
    let in_force = state.store.sign_avenant(&auth.actor(Channel::Api), id, avenant, party, b.date).await?;
    Ok(Json(serde_json::json!({ "en_vigueur_depuis": in_force })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResiliationSaisieDto {
    /// mise_en_demeure, mise_en_demeure_legale, modification_sans_avenant ou denonciation.
    pub motif: String,
    pub date_notification: NaiveDate,
    pub partie: i64,
    #[serde(default)]
    pub note: Option<String>,
}

// The answer of `terminate`, as the OpenAPI document describes it (the handler writes the same key
// with `json!`).
/// La réponse à l'enregistrement d'une résiliation.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriseDEffetDto {
    /// La date à laquelle la résiliation prend effet, selon le motif et les délais de l'article 13.
    pub prend_effet_le: NaiveDate,
}

/// Enregistre la résiliation de la convention (art. 13) ; répond la date à laquelle elle prend effet.
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/resiliation",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body = ResiliationSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 201, description = "Résiliation enregistrée : la date à laquelle elle prend effet", body = PriseDEffetDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn terminate(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    ApiJson(b): ApiJson<ResiliationSaisieDto>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    authorize_write(&state, &auth, Action::EditConvention, id).await?;
    let ground = TerminationGround::parse(&b.motif).map_err(|e| WebError::BadRequest(e.to_string()))?;
    let t = Termination {
        ground,
        notice_date: b.date_notification,
        party_id: b.partie,
        note: b.note.filter(|n| !n.trim().is_empty()),
    };
    let effective = state.store.terminate(&auth.actor(Channel::Api), id, &t).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "prend_effet_le": effective }))))
}

/// Une mise en demeure (art. 13).
#[derive(Debug, Serialize, ToSchema)]
pub struct MiseEnDemeureDto {
    pub id: i64,
    pub version: i64,
    /// La partie qui met en demeure.
    pub de: i64,
    pub de_nom: String,
    /// La partie mise en demeure.
    pub a: i64,
    pub a_nom: String,
    pub obligation: String,
    /// Obligation légale ou réglementaire (la Caf met en demeure), plutôt qu'une de la convention.
    pub legale: bool,
    pub envoyee_le: NaiveDate,
    /// Un mois après l'envoi (art. 13).
    pub echeance: NaiveDate,
    /// en_cours, mise_en_conformite, infructueuse ou retiree.
    pub suite: String,
    pub suite_libelle: String,
    pub suite_le: Option<NaiveDate>,
}

/// Les mises en demeure de la convention (art. 13), de la plus récente à la plus ancienne.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/mises-en-demeure",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses(
        (status = 200, description = "Les mises en demeure", body = Vec<MiseEnDemeureDto>),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn notices(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
) -> Result<Json<Vec<MiseEnDemeureDto>>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let list = state.store.formal_notices(id).await?;
    Ok(Json(
        list.into_iter()
            .map(|n| MiseEnDemeureDto {
                id: n.id,
                version: n.version,
                de: n.sender_party_id,
                de_nom: n.sender,
                a: n.recipient_party_id,
                a_nom: n.recipient,
                obligation: n.obligation,
                legale: n.legal,
                envoyee_le: n.sent_on,
                echeance: n.deadline,
                suite: n.outcome.code().into(),
                suite_libelle: n.outcome.label().into(),
                suite_le: n.outcome_on,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MiseEnDemeureSaisieDto {
    /// La partie signataire qui met en demeure.
    pub de: i64,
    /// La partie signataire mise en demeure.
    pub a: i64,
    pub obligation: String,
    /// Obligation légale ou réglementaire : seule la Caf met en demeure. Faux par défaut.
    #[serde(default)]
    pub legale: bool,
    pub envoyee_le: NaiveDate,
}

/// Enregistre une mise en demeure envoyée (art. 13) ; son échéance est un mois plus tard.
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/mises-en-demeure",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body = MiseEnDemeureSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 201, description = "Enregistrée : son numéro", body = IdentifiantDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn notice_send(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    ApiJson(b): ApiJson<MiseEnDemeureSaisieDto>,
) -> Result<(StatusCode, Json<IdentifiantDto>), ApiError> {
    authorize_write(&state, &auth, Action::EditConvention, id).await?;
    let new = ctg_store::NewFormalNotice {
        sender_party_id: b.de,
        recipient_party_id: b.a,
        obligation: b.obligation,
        legal: b.legale,
        sent_on: b.envoyee_le,
    };
    let notice = state.store.send_formal_notice(&auth.actor(Channel::Api), id, &new).await?;
    Ok((StatusCode::CREATED, Json(IdentifiantDto { id: notice })))
}

/// Le numéro d'un objet créé.
#[derive(Debug, Serialize, ToSchema)]
pub struct IdentifiantDto {
    pub id: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuiteSaisieDto {
    pub version: crate::extract::Version,
    /// mise_en_conformite, infructueuse (à partir de l'échéance : la convention est alors résiliée à
    /// l'échéance) ou retiree.
    pub suite: String,
    pub le: NaiveDate,
}

/// Enregistre la suite d'une mise en demeure en cours ; restée infructueuse, elle résilie la
/// convention à son échéance (art. 13), et la réponse en donne la date.
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/mises-en-demeure/{mise_en_demeure}",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("mise_en_demeure" = i64, Path, description = "Numéro de la mise en demeure")),
    request_body = SuiteSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 200, description = "Enregistrée : la date à laquelle la résiliation prend effet, s'il y en a une", body = PriseDEffetOptionnelleDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound)),
        (status = 409, response = inline(crate::error::Conflict))
    )
)]
pub async fn notice_settle(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, notice)): Ids<(i64, i64)>,
    ApiJson(b): ApiJson<SuiteSaisieDto>,
) -> Result<Json<PriseDEffetOptionnelleDto>, ApiError> {
    authorize_write(&state, &auth, Action::EditConvention, id).await?;
    let outcome = NoticeOutcome::parse(&b.suite).map_err(|e| WebError::BadRequest(e.to_string()))?;
    let effective =
        state.store.settle_formal_notice(&auth.actor(Channel::Api), id, (notice, b.version.0), outcome, b.le).await?;
    Ok(Json(PriseDEffetOptionnelleDto { resiliation_prend_effet_le: effective }))
}

/// La réponse à la suite d'une mise en demeure.
#[derive(Debug, Serialize, ToSchema)]
pub struct PriseDEffetOptionnelleDto {
    /// Pour une mise en demeure restée infructueuse : la date à laquelle la résiliation prend effet.
    pub resiliation_prend_effet_le: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionTexteDto {
    pub version: i64,
    pub date: NaiveDate,
    pub avenant: Option<i64>,
    /// en_vigueur, remplacee ou en_attente.
    pub etat: String,
    pub contenu: String,
}

/// Les versions d'un texte (`convention`, `annexe-1`…).
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/textes/{cle}",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("cle" = String, Path, description = "convention, annexe-1…")),
    responses(
        (status = 200, description = "Les versions du texte, de la plus ancienne à la plus récente", body = [VersionTexteDto]),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn text_versions(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, key)): Ids<(i64, String)>,
) -> Result<Json<Vec<VersionTexteDto>>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let versions = state.store.text_versions(id, &key).await?;
    if versions.is_empty() {
        return Err(WebError::NotFound(format!("le texte « {key} » n'existe pas dans cette convention")).into());
    }
    Ok(Json(
        versions
            .into_iter()
            .map(|v| VersionTexteDto {
                version: v.version,
                date: v.dated,
                avenant: v.avenant_number,
                etat: v.state.code().into(),
                contenu: v.content,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
pub struct DiffParams {
    #[serde(default)]
    pub de: Option<i64>,
    #[serde(default)]
    pub a: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LigneDto {
    /// meme, ajout ou retrait.
    #[serde(rename = "type")]
    pub kind: String,
    pub ligne: String,
}

/// La différence, ligne à ligne, entre deux versions d'un texte.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/textes/{cle}/difference",
    params(
        ("id" = i64, Path, description = "Numéro de la convention"),
        ("cle" = String, Path, description = "convention, annexe-1…"),
        ("de" = i64, Query, description = "Version de départ"),
        ("a" = i64, Query, description = "Version d'arrivée")
    ),
    responses(
        (status = 200, description = "La différence, ligne à ligne", body = [LigneDto]),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn text_diff(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, key)): Ids<(i64, String)>,
    ApiQuery(q): ApiQuery<DiffParams>,
) -> Result<Json<Vec<LigneDto>>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let versions = state.store.text_versions(id, &key).await?;
    let find = |n: i64| {
        versions
            .iter()
            .find(|v| v.version == n)
            .ok_or_else(|| WebError::NotFound(format!("la version {n} du texte « {key} »")))
    };
    let (Some(from), Some(to)) = (q.de, q.a) else {
        return Err(WebError::BadRequest("donnez les deux versions à comparer : ?de=1&a=2".into()).into());
    };
    let (a, b) = (find(from)?, find(to)?);
    Ok(Json(
        diff_lines(&a.content, &b.content)
            .into_iter()
            .map(|d| match d {
                DiffLine::Same(l) => LigneDto { kind: "meme".into(), ligne: l },
                DiffLine::Added(l) => LigneDto { kind: "ajout".into(), ligne: l },
                DiffLine::Removed(l) => LigneDto { kind: "retrait".into(), ligne: l },
            })
            .collect(),
    ))
}
