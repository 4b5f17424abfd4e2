//! Each party's commitments (art. 6, annex 3) and « Qui finance quoi »: pages and API.
//!
//! « Qui finance quoi » adds up the means lines of the fiches and the funding lines of the offer by
//! party × year × ambitions × nature ([`ctg_domain::funds::who_funds_what`]); an unknown amount stays
//! unknown (« inconnu », « au moins … (n montants inconnus) »), and its export writes the known part
//! with the count of unknown amounts beside it, never 0 for an unknown.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use ctg_domain::access::Action;
use ctg_domain::funds::{
    ambitions_text, funds_totals, party_by_id, totals_by_funder_year, who_funds_what, Commitment, FundsRow, OfferLine,
    PartyRef, Sum,
};
use ctg_domain::life::Stop;
use ctg_domain::Channel;
use ctg_report::table::{Column, Table, Value};
use ctg_store::{CommitmentRecord, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::export::{download, links, ExportQuery};
use crate::extract::{ApiJson, Ids, PageForm, Version};
use crate::views::{FormErrors, Nav};
use crate::{AppState, PageError, WebError};

// ---------------------------------------------------------------------------------------------
// Shared

/// The organisation id of each party, to decide `EditParty` on a commitment's party.
async fn organisation_of(state: &AppState, id: i64, party_id: i64) -> Result<i64, WebError> {
    let c = state.store.convention(id).await?;
    c.parties.iter().find(|p| p.id == party_id).map(|p| p.organisation_id).ok_or_else(|| {
        let parties: Vec<PartyRef> = c
            .parties
            .iter()
            .map(|p| PartyRef {
                id: p.id,
                name: p.party.organisation.name.clone(),
                short_name: p.party.organisation.short_name.clone(),
            })
            .collect();
        WebError::BadRequest(party_by_id(&parties, party_id).err().unwrap_or_default())
    })
}

/// May the person change the commitments of this party?
async fn authorize_party(state: &AppState, auth: &Auth, id: i64, party_id: i64) -> Result<(), WebError> {
    let organisation_id = organisation_of(state, id, party_id).await?;
    state.authorize_write(auth, Action::EditParty { organisation_id }, Some(id)).await
}

/// « Qui finance quoi » of a convention: its parties, its rows, and the stop of its commitments when it
/// is terminated (art. 13).
async fn funds_rows(state: &AppState, id: i64) -> Result<(Vec<PartyRef>, Vec<FundsRow>, Option<Stop>), WebError> {
    let parties = state.store.party_refs(id).await?;
    let plan = state.store.plan(id).await?;
    let funding = state.store.funding(id).await?;
    let means = plan.fiches.iter().flat_map(|f| f.means.iter().map(move |m| (f.fiche.ambitions.as_slice(), m)));
    let offer = funding.iter().map(|l| OfferLine {
        funder: l.data.funder.as_str(),
        year: l.data.year,
        amount_cents: l.data.amount_cents,
    });
    let rows = who_funds_what(&parties, means, offer, plan.stop);
    Ok((parties, rows, plan.stop))
}

/// « Qui finance quoi » by party and year as a document writes it: party, year (« 2028 (arrêtée) »
/// when a termination stops it), planned, spent; then the stop, if any.
pub(crate) async fn funds_table(state: &AppState, id: i64) -> Result<(Vec<Vec<String>>, Option<Stop>), WebError> {
    let (_, rows, stop) = funds_rows(state, id).await?;
    let table = totals_by_funder_year(&rows)
        .iter()
        .map(|((f, y), (p, s))| {
            let year =
                if ctg_domain::life::year_stopped(stop, *y) { format!("{y} (arrêtée)") } else { y.to_string() };
            vec![f.label(), year, p.text(), s.text()]
        })
        .collect();
    Ok((table, stop))
}

/// A sum as an exported cell: the known part, or empty when nothing is known.
fn sum_cell(s: &Sum) -> Value {
    if s.known == 0 {
        Value::Empty
    } else {
        Value::Cents(s.known_cents)
    }
}

fn funds_tables(rows: &[FundsRow]) -> (Table, Table) {
    let money = |key: &str, label: &str| {
        [
            Column::new(key, label),
            Column::new(format!("{key}_montants_inconnus"), format!("{label} : montants inconnus")),
        ]
    };
    let mut columns = vec![
        Column::new("partie", "Partie"),
        Column::new("annee", "Année"),
        Column::new("ambitions", "Ambitions"),
        Column::new("nature", "Nature"),
        Column::new("source", "Source"),
    ];
    columns.extend(money("prevu", "Prévu"));
    columns.extend(money("depense", "Dépensé ou versé"));
    columns.push(Column::new("lignes", "Lignes"));
    columns.push(Column::new("arrete", "Arrêté par la résiliation (art. 13)"));
    let detail = Table {
        title: "Qui finance quoi".into(),
        columns,
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    Value::Text(r.key.funder.label()),
                    Value::Text(r.key.year.to_string()),
                    Value::Text(if r.key.ambitions.is_empty() {
                        String::new()
                    } else {
                        ambitions_text(&r.key.ambitions)
                    }),
                    Value::Text(r.key.kind.label().into()),
                    Value::Text(r.key.source.label().into()),
                    sum_cell(&r.planned),
                    Value::Integer(r.planned.unknown as i64),
                    sum_cell(&r.spent),
                    Value::Integer(r.spent.unknown as i64),
                    Value::Integer(r.lines as i64),
                    Value::Text(if r.stopped { "oui" } else { "non" }.into()),
                ]
            })
            .collect(),
    };
    let mut columns = vec![Column::new("partie", "Partie"), Column::new("annee", "Année")];
    columns.extend(money("prevu", "Prévu"));
    columns.extend(money("depense", "Dépensé ou versé"));
    columns.push(Column::new("arrete", "Arrêté par la résiliation (art. 13)"));
    let stopped_years: std::collections::BTreeSet<i32> =
        rows.iter().filter(|r| r.stopped).map(|r| r.key.year).collect();
    let totals = Table {
        title: "Qui finance quoi, par partie et année".into(),
        columns,
        rows: totals_by_funder_year(rows)
            .iter()
            .map(|((funder, year), (p, s))| {
                vec![
                    Value::Text(funder.label()),
                    Value::Text(year.to_string()),
                    sum_cell(p),
                    Value::Integer(p.unknown as i64),
                    sum_cell(s),
                    Value::Integer(s.unknown as i64),
                    Value::Text(if stopped_years.contains(year) { "oui" } else { "non" }.into()),
                ]
            })
            .collect(),
    };
    (detail, totals)
}

// ---------------------------------------------------------------------------------------------
// Pages

/// One commitment as the page shows it.
pub struct CommitmentLine {
    pub id: i64,
    pub version: i64,
    pub text: String,
    pub source: String,
    pub ambition: String,
    pub ambition_code: String,
    /// Its edit failed: its form is open with the errors.
    pub open: bool,
}

/// A party and its commitments.
pub struct PartyBlock {
    pub id: i64,
    pub label: String,
    pub name: String,
    pub can_edit: bool,
    pub commitments: Vec<CommitmentLine>,
}

#[derive(Template)]
#[template(path = "commitments.html")]
struct CommitmentsPage {
    nav: Nav,
    id: i64,
    title: String,
    parties: Vec<PartyBlock>,
    /// The parties the person may add a commitment to: (id, label).
    editable: Vec<(String, String)>,
    ambitions: Vec<(String, String)>,
    form: CommitmentFields,
    errors: FormErrors,
    /// The commitment whose edit failed, with its errors open.
    failed: Option<i64>,
    /// Signed by all: the commitments are its text and change only by avenant (art. 12).
    locked: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct CommitmentFields {
    #[serde(default)]
    pub party: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub ambition: String,
    #[serde(default)]
    pub version: String,
}

impl CommitmentFields {
    fn to_commitment(&self, party_id: Option<i64>, errors: &mut FormErrors) -> Option<Commitment> {
        let party_id = party_id.or_else(|| {
            let p = self.party.trim().parse::<i64>().ok();
            if p.is_none() {
                errors.add("party", "choisissez la partie qui s'engage");
            }
            p
        });
        let ambition = match self.ambition.trim() {
            "" => None,
            a => match a.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.add("ambition", format!("ambition inconnue « {a} »"));
                    None
                }
            },
        };
        if self.text.trim().is_empty() {
            errors.add("text", "le texte de l'engagement est vide");
        }
        if !errors.is_empty() {
            return None;
        }
        Some(Commitment { party_id: party_id?, text: self.text.clone(), source: self.source.clone(), ambition })
    }
}

async fn commitments_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    form: CommitmentFields,
    errors: FormErrors,
    failed: Option<i64>,
    status: StatusCode,
) -> Result<Response, PageError> {
    let detail = state.store.convention(id).await?;
    let records = state.store.commitments(id).await?;
    let mut parties = Vec::new();
    let mut editable = Vec::new();
    let locked = detail.is_locked();
    for p in &detail.parties {
        let can_edit =
            !locked && state.may(auth, Action::EditParty { organisation_id: p.organisation_id }, Some(id)).await;
        let o = &p.party.organisation;
        let label = o.short_name.clone().filter(|s| !s.trim().is_empty()).unwrap_or_else(|| o.name.clone());
        if can_edit {
            editable.push((p.id.to_string(), label.clone()));
        }
        parties.push(PartyBlock {
            id: p.id,
            name: o.name.clone(),
            label,
            can_edit,
            commitments: records
                .iter()
                .filter(|r| r.commitment.party_id == p.id)
                .map(|r| CommitmentLine {
                    id: r.id,
                    version: r.version,
                    text: r.commitment.text.clone(),
                    source: r.commitment.source.clone(),
                    ambition: r.commitment.ambition.map(|a| format!("ambition {a}")).unwrap_or_default(),
                    ambition_code: r.commitment.ambition.map(|a| a.to_string()).unwrap_or_default(),
                    open: failed == Some(r.id),
                })
                .collect(),
        });
    }
    let ambitions = detail
        .stakes
        .iter()
        .flat_map(|s| s.ambitions.iter())
        .map(|a| (a.number.to_string(), format!("{} — {}", a.number, a.title)))
        .collect();
    let page = CommitmentsPage {
        nav: Nav::of(auth),
        id,
        title: detail.summary.title.clone(),
        parties,
        editable,
        ambitions,
        form,
        errors,
        failed,
        locked,
    };
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn commitments(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let form = CommitmentFields { source: "art. 6".into(), ..CommitmentFields::default() };
    commitments_page(&state, &auth, id, form, FormErrors::new(), None, StatusCode::OK).await
}

pub async fn commitment_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<CommitmentFields>,
) -> Result<Response, PageError> {
    let mut errors = FormErrors::new();
    let Some(c) = form.to_commitment(None, &mut errors) else {
        return commitments_page(&state, &auth, id, form, errors, None, StatusCode::BAD_REQUEST).await;
    };
    authorize_party(&state, &auth, id, c.party_id).await?;
    match state.store.create_commitment(&auth.actor(Channel::Page), id, &c).await {
        Ok(_) => Ok(crate::flash::redirect(&format!("/conventions/{id}/engagements"), "Engagement enregistré")),
        Err(StoreError::Invalid(m)) => {
            errors.add("text", m);
            commitments_page(&state, &auth, id, form, errors, None, StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}

pub async fn commitment_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, cid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<CommitmentFields>,
) -> Result<Response, PageError> {
    let current = find_commitment(&state, id, cid).await?;
    authorize_party(&state, &auth, id, current.commitment.party_id).await?;
    let version: i64 = Version::parse(&form.version)?;
    let mut errors = FormErrors::new();
    let blank = CommitmentFields { source: "art. 6".into(), ..CommitmentFields::default() };
    let Some(c) = form.to_commitment(Some(current.commitment.party_id), &mut errors) else {
        return commitments_page(&state, &auth, id, blank, errors, Some(cid), StatusCode::BAD_REQUEST).await;
    };
    match state.store.update_commitment(&auth.actor(Channel::Page), id, cid, version, &c).await {
        Ok(_) => Ok(crate::flash::redirect(&format!("/conventions/{id}/engagements"), "Engagement mis à jour")),
        Err(StoreError::Stale { what, last_change }) => {
            errors.add("text", crate::error::stale_message(&what, last_change.as_deref()));
            commitments_page(&state, &auth, id, blank, errors, Some(cid), StatusCode::CONFLICT).await
        }
        Err(StoreError::Invalid(m)) => {
            errors.add("text", m);
            commitments_page(&state, &auth, id, blank, errors, Some(cid), StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}

async fn find_commitment(state: &AppState, id: i64, cid: i64) -> Result<CommitmentRecord, WebError> {
    state
        .store
        .commitments(id)
        .await?
        .into_iter()
        .find(|r| r.id == cid)
        .ok_or_else(|| WebError::NotFound(format!("l'engagement « {cid} » n'existe pas dans cette convention")))
}

/// A row as the page shows it: party, year, ambitions, nature, source, planned, spent, lines, stopped.
type FundsLine = (String, String, String, String, String, String, String, String, bool);

#[derive(Template)]
#[template(path = "who_funds_what.html")]
struct WhoFundsWhatPage {
    nav: Nav,
    id: i64,
    title: String,
    rows: Vec<FundsLine>,
    /// (party, year, planned, spent, stopped)
    totals: Vec<(String, String, String, String, bool)>,
    /// Everything that runs: (planned, spent).
    running: (String, String),
    /// After a termination (art. 13): when it took effect, and what it stopped (planned, spent).
    stop: Option<(String, String, String)>,
    exports_lines: Vec<(String, String)>,
    exports_totals: Vec<(String, String)>,
}

pub async fn who_funds_what_page(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    crate::api_query::PageQuery(q): crate::api_query::PageQuery<ExportQuery>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let (_, rows, stop) = funds_rows(&state, id).await?;
    if let Some(format) = q.format()? {
        let (detail, totals) = funds_tables(&rows);
        let table = if q.wants("lignes", true) {
            detail
        } else if q.wants("totaux", false) {
            totals
        } else {
            return Err(WebError::BadRequest("tableau inconnu (tableaux : lignes, totaux)".into()).into());
        };
        let source = crate::export::source(&state, id, &[]).await?;
        return Ok(download(&table, format, &format!("qui-finance-quoi-{id}"), &source)?);
    }
    let summary = state.store.convention_summary(id).await?;
    let path = format!("/conventions/{id}/qui-finance-quoi");
    let grand = funds_totals(&rows);
    let page = WhoFundsWhatPage {
        nav: Nav::of(&auth),
        id,
        title: summary.title,
        rows: rows
            .iter()
            .map(|r| {
                (
                    r.key.funder.label(),
                    r.key.year.to_string(),
                    ambitions_text(&r.key.ambitions),
                    r.key.kind.label().to_owned(),
                    r.key.source.label().to_owned(),
                    r.planned.text(),
                    r.spent.text(),
                    r.lines.to_string(),
                    r.stopped,
                )
            })
            .collect(),
        totals: totals_by_funder_year(&rows)
            .iter()
            .map(|((f, y), (p, s))| {
                (f.label(), y.to_string(), p.text(), s.text(), ctg_domain::life::year_stopped(stop, *y))
            })
            .collect(),
        running: (grand.running.0.text(), grand.running.1.text()),
        stop: stop
            .map(|s| (ctg_domain::format::date_short(s.effective), grand.stopped.0.text(), grand.stopped.1.text())),
        exports_lines: links(&path, &[], Some("lignes")),
        exports_totals: links(&path, &[], Some("totaux")),
    };
    Ok(Html(page.render()?).into_response())
}

// ---------------------------------------------------------------------------------------------
// API

/// Un engagement d'une partie (art. 6, annexe 3), cité du texte de la convention.
#[derive(Debug, Serialize, ToSchema)]
pub struct EngagementDto {
    pub id: i64,
    pub version: i64,
    pub partie_id: i64,
    /// Le sigle de la partie, sinon son nom.
    pub partie: String,
    pub texte: String,
    /// Où le texte le dit : « art. 6 », « annexe 3 ».
    pub source: String,
    /// Le numéro de l'ambition qu'il sert, s'il y en a une.
    pub ambition: Option<i64>,
}

/// Un engagement saisi : la partie (son numéro), le texte, la source, l'ambition (facultative) ;
/// `version` pour une modification.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EngagementSaisieDto {
    pub partie_id: i64,
    pub texte: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub ambition: Option<i64>,
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub version: Option<Version>,
}

impl EngagementSaisieDto {
    fn commitment(&self) -> Commitment {
        Commitment {
            party_id: self.partie_id,
            text: self.texte.clone(),
            source: self.source.clone(),
            ambition: self.ambition,
        }
    }
}

/// Les engagements des parties de la convention (art. 6, annexe 3), par partie.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/engagements",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses(
        (status = 200, description = "Les engagements, par partie", body = [EngagementDto]),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn api_commitments(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
) -> Result<Json<Vec<EngagementDto>>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let parties = state.store.party_refs(id).await?;
    let records = state.store.commitments(id).await?;
    Ok(Json(
        records
            .into_iter()
            .map(|r| EngagementDto {
                id: r.id,
                version: r.version,
                partie_id: r.commitment.party_id,
                partie: party_by_id(&parties, r.commitment.party_id).map(|p| p.label().to_owned()).unwrap_or_default(),
                texte: r.commitment.text,
                source: r.commitment.source,
                ambition: r.commitment.ambition,
            })
            .collect(),
    ))
}

/// Ajoute un engagement à une partie : la coordination, ou un contributeur de cette partie.
#[utoipa::path(
    post,
    path = "/api/v1/conventions/{id}/engagements",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    request_body = EngagementSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 201, description = "Créé : le numéro de l'engagement", body = crate::governance::api::CreeDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn api_create_commitment(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    ApiJson(b): ApiJson<EngagementSaisieDto>,
) -> Result<(StatusCode, Json<crate::governance::api::CreeDto>), ApiError> {
    if b.version.is_some() {
        return Err(WebError::BadRequest("« version » ne se donne qu'en modification (PUT)".into()).into());
    }
    authorize_party(&state, &auth, id, b.partie_id).await?;
    let cid = state.store.create_commitment(&auth.actor(Channel::Api), id, &b.commitment()).await?;
    Ok((StatusCode::CREATED, Json(crate::governance::api::CreeDto { id: cid })))
}

/// Modifie un engagement, depuis sa version : ses texte, source, ambition, et sa partie.
#[utoipa::path(
    put,
    path = "/api/v1/conventions/{id}/engagements/{engagement}",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("engagement" = i64, Path, description = "Numéro de l'engagement")),
    request_body = EngagementSaisieDto,
    security(("jeton" = []), ("session" = [])),
    responses(
        (status = 200, description = "Enregistré : la nouvelle version de l'engagement", body = crate::convention::api::VersionDto),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound)),
        (status = 409, response = inline(crate::error::Conflict))
    )
)]
pub async fn api_update_commitment(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, cid)): Ids<(i64, i64)>,
    ApiJson(b): ApiJson<EngagementSaisieDto>,
) -> Result<Json<crate::convention::api::VersionDto>, ApiError> {
    let current = find_commitment(&state, id, cid).await?;
    authorize_party(&state, &auth, id, current.commitment.party_id).await?;
    if b.partie_id != current.commitment.party_id {
        authorize_party(&state, &auth, id, b.partie_id).await?;
    }
    let Some(version) = b.version else {
        return Err(
            WebError::BadRequest("le champ « version » manque : la version lue avec l'engagement".into()).into()
        );
    };
    let version = state.store.update_commitment(&auth.actor(Channel::Api), id, cid, version.0, &b.commitment()).await?;
    Ok(Json(crate::convention::api::VersionDto { version }))
}

/// Un montant fait de parties dont certaines peuvent être inconnues : la somme des montants connus
/// (nulle quand aucun ne l'est), le nombre de montants connus et inconnus. Un total est complet quand
/// `inconnus` vaut 0 ; sinon c'est un minimum (« au moins »).
#[derive(Debug, Serialize, ToSchema)]
pub struct MontantPartielDto {
    pub connus_centimes: Option<i64>,
    pub connus: usize,
    pub inconnus: usize,
    /// Le total quand tous les montants sont connus ; nul sinon.
    pub total_centimes: Option<i64>,
    /// Comme la page l'écrit : « 1 200,00 € », « inconnu », « au moins 1 200,00 € (2 montants inconnus) ».
    pub texte: String,
}

impl MontantPartielDto {
    fn of(s: &Sum) -> Self {
        Self {
            connus_centimes: (s.known > 0).then_some(s.known_cents),
            connus: s.known,
            inconnus: s.unknown,
            total_centimes: s.total(),
            texte: s.text(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuiFinanceLigneDto {
    /// Le numéro de la partie ; nul pour un financeur hors parties.
    pub partie_id: Option<i64>,
    pub partie: String,
    pub annee: i32,
    /// Les ambitions de la fiche (vide : aucune, ou un financement de l'offre).
    pub ambitions: Vec<i64>,
    /// fonctionnement ou investissement.
    pub nature: String,
    /// plan (moyens des fiches) ou offre (lignes de financement, comptées versées).
    pub source: String,
    pub prevu: MontantPartielDto,
    pub depense: MontantPartielDto,
    pub lignes: usize,
    /// L'année est arrêtée par la résiliation de la convention (art. 13) : la ligne est comptée à
    /// part, dans `arrete`, jamais dans `total`.
    pub arrete: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuiFinanceTotalDto {
    pub partie_id: Option<i64>,
    pub partie: String,
    pub annee: i32,
    pub prevu: MontantPartielDto,
    pub depense: MontantPartielDto,
    /// L'année est arrêtée par la résiliation (art. 13).
    pub arrete: bool,
}

/// Un total prévu et dépensé.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuiFinancePrevuDepenseDto {
    pub prevu: MontantPartielDto,
    pub depense: MontantPartielDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuiFinanceQuoiDto {
    pub lignes: Vec<QuiFinanceLigneDto>,
    pub totaux: Vec<QuiFinanceTotalDto>,
    /// Tout ce qui court : les années non arrêtées.
    pub total: QuiFinancePrevuDepenseDto,
    /// Le jour où la résiliation prend effet (art. 13 : « arrêt immédiat des engagements des
    /// parties »), si la convention est résiliée.
    pub resiliation_effet: Option<chrono::NaiveDate>,
    /// Ce que la résiliation arrête : les années qui commencent à partir de son effet.
    pub arrete: QuiFinancePrevuDepenseDto,
}

/// « Qui finance quoi » : les moyens des fiches et les financements de l'offre, par partie × année ×
/// ambitions × nature, prévu et dépensé ; un montant inconnu n'est jamais compté 0.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/qui-finance-quoi",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses(
        (status = 200, description = "Les lignes et les totaux par partie et année", body = QuiFinanceQuoiDto),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn api_who_funds_what(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
) -> Result<Json<QuiFinanceQuoiDto>, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let (parties, rows, stop) = funds_rows(&state, id).await?;
    let grand = funds_totals(&rows);
    let party_id = |f: &ctg_domain::funds::Funder| match f {
        ctg_domain::funds::Funder::Party { position, .. } => parties.get(*position).map(|p| p.id),
        ctg_domain::funds::Funder::Other(_) => None,
    };
    Ok(Json(QuiFinanceQuoiDto {
        lignes: rows
            .iter()
            .map(|r| QuiFinanceLigneDto {
                partie_id: party_id(&r.key.funder),
                partie: r.key.funder.label(),
                annee: r.key.year,
                ambitions: r.key.ambitions.clone(),
                nature: r.key.kind.code().into(),
                source: r.key.source.code().into(),
                prevu: MontantPartielDto::of(&r.planned),
                depense: MontantPartielDto::of(&r.spent),
                lignes: r.lines,
                arrete: r.stopped,
            })
            .collect(),
        totaux: totals_by_funder_year(&rows)
            .iter()
            .map(|((f, y), (p, s))| QuiFinanceTotalDto {
                partie_id: party_id(f),
                partie: f.label(),
                annee: *y,
                prevu: MontantPartielDto::of(p),
                depense: MontantPartielDto::of(s),
                arrete: ctg_domain::life::year_stopped(stop, *y),
            })
            .collect(),
        total: QuiFinancePrevuDepenseDto {
            prevu: MontantPartielDto::of(&grand.running.0),
            depense: MontantPartielDto::of(&grand.running.1),
        },
        resiliation_effet: stop.map(|s| s.effective),
        arrete: QuiFinancePrevuDepenseDto {
            prevu: MontantPartielDto::of(&grand.stopped.0),
            depense: MontantPartielDto::of(&grand.stopped.1),
        },
    }))
}
