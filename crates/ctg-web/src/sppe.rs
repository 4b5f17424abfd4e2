//! The service public de la petite enfance of a convention's communes (CASF art. L. 214-1-3): each
//! commune's legal population with its vintage, its obligations by the thresholds in force today
//! (dated parameters), the RPE of the offer registry that serve it, and what is missing. A page, its
//! exports (`?format=csv|xlsx|ods`) and the API share [`Sppe::load`].

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use ctg_domain::access::Action;
use ctg_domain::convention::ConventionStatus;
use ctg_domain::format::integer;
use ctg_domain::sppe::{self, Obligation, SppeCommune, SppeLine, SppeParameters, SppeRules};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::Ids;
use crate::views::Nav;
use crate::{AppState, PageError, WebError};

/// What the page, the exports and the API show.
pub struct Sppe {
    pub convention: ctg_store::ConventionSummary,
    pub rules: SppeRules,
    pub ctg_covers_schema: bool,
    pub lines: Vec<SppeLine>,
}

impl Sppe {
    pub async fn load(state: &AppState, id: i64) -> Result<Self, WebError> {
        let convention = state.store.convention_summary(id).await?;
        let epci = state.store.epci(&convention.epci_siren).await?;
        let today = state.today();
        let mut params = SppeParameters::default();
        for code in [sppe::PLANNING_THRESHOLD, sppe::SCHEMA_THRESHOLD, sppe::RPE_REQUIRED, sppe::IN_FORCE] {
            let stored = state.store.parameter(code, 0).await?;
            params = params.with_stored(code, &stored.values);
        }
        let rules = params.rules_on(today);
        let transfers = state.store.sppe_transfers(&epci.siren).await?;
        let facilities = state.store.facilities_of(&epci.siren).await?;
        let communes: Vec<SppeCommune> = epci
            .communes
            .iter()
            .map(|c| {
                let population = c.by_vintage.iter().rev().find_map(|(v, p)| p.total.map(|t| (t, v.year())));
                let rpe = facilities
                    .iter()
                    .filter(|f| f.data.type_code == "rpe" && f.data.active_on(today))
                    .filter(|f| f.data.communes_served().any(|s| *s == c.code))
                    .map(|f| f.data.name.clone())
                    .collect();
                SppeCommune {
                    code: c.code.to_string(),
                    name: c.name.clone(),
                    population,
                    transferred: transfers.iter().any(|t| *t == c.code.as_str()),
                    rpe,
                }
            })
            .collect();
        let ctg_covers_schema =
            convention.status == ConventionStatus::Signed && convention.start <= today && today <= convention.end;
        let lines = sppe::assess(&communes, &rules, ctg_covers_schema);
        Ok(Self { convention, rules, ctg_covers_schema, lines })
    }

    fn table(&self) -> ctg_report::table::Table {
        use ctg_report::table::{Column, Table, Value};
        let num = |v: Option<i64>| v.map_or(Value::Empty, Value::Integer);
        Table {
            title: "Service public de la petite enfance".into(),
            columns: vec![
                Column::new("code_insee", "Code INSEE"),
                Column::new("commune", "Commune"),
                Column::new("population_totale", "Population légale totale"),
                Column::new("millesime", "Millésime"),
                Column::new("autorite", "Autorité organisatrice"),
                Column::new("population_comptee", "Population comptée"),
                Column::new("obligations", "Obligations"),
                Column::new("relais_petite_enfance", "Relais petite enfance"),
                Column::new("manques", "Ce qui manque"),
            ],
            rows: self
                .lines
                .iter()
                .map(|l| {
                    vec![
                        Value::Text(l.code.clone()),
                        Value::Text(l.name.clone()),
                        num(l.population),
                        num(l.vintage.map(i64::from)),
                        Value::Text(l.authority.into()),
                        num(l.counted_population),
                        Value::Text(l.obligations.iter().map(|o| o.label()).collect::<Vec<_>>().join(" ; ")),
                        Value::Text(l.rpe.join(" ; ")),
                        Value::Text(l.missing.join(" ; ")),
                    ]
                })
                .collect(),
        }
    }
}

struct Line {
    code: String,
    name: String,
    population: String,
    authority: String,
    obligations: Vec<&'static str>,
    rpe: String,
    missing: Vec<String>,
}

#[derive(Template)]
#[template(path = "sppe.html")]
struct SppePage {
    nav: Nav,
    convention_id: i64,
    convention_title: String,
    epci_name: String,
    on: String,
    planning_threshold: String,
    schema_threshold: String,
    rpe_required: bool,
    in_force: bool,
    ctg_covers_schema: bool,
    over_schema: Vec<(String, String)>,
    over_planning: Vec<(String, String)>,
    lines: Vec<Line>,
    exports: Vec<(String, String)>,
}

pub async fn page(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    crate::api_query::PageQuery(q): crate::api_query::PageQuery<crate::export::ExportQuery>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let s = Sppe::load(&state, id).await?;
    if let Some(format) = q.format()? {
        let source = crate::export::source(&state, id, &["Insee, populations légales", "registre de l'offre"]).await?;
        return Ok(crate::export::download(&s.table(), format, &format!("sppe-{}", s.convention.epci_siren), &source)?);
    }
    let threshold = |l: &SppeLine, t: i64| l.counted_population.is_some_and(|p| p > t);
    let listed = |t: i64| -> Vec<(String, String)> {
        s.lines
            .iter()
            .filter(|l| l.authority == "commune" && threshold(l, t))
            .map(|l| (l.name.clone(), l.population.map(integer).unwrap_or_default()))
            .collect()
    };
    let page = SppePage {
        nav: Nav::of(&auth),
        convention_id: id,
        convention_title: s.convention.title.clone(),
        epci_name: s.convention.epci_name.clone(),
        on: ctg_domain::format::date_long(s.rules.on),
        planning_threshold: integer(s.rules.planning_threshold),
        schema_threshold: integer(s.rules.schema_threshold),
        rpe_required: s.rules.rpe_required,
        in_force: s.rules.in_force,
        ctg_covers_schema: s.ctg_covers_schema,
        over_schema: listed(s.rules.schema_threshold),
        over_planning: s
            .lines
            .iter()
            .filter(|l| {
                l.authority == "commune"
                    && threshold(l, s.rules.planning_threshold)
                    && !threshold(l, s.rules.schema_threshold)
            })
            .map(|l| (l.name.clone(), l.population.map(integer).unwrap_or_default()))
            .collect(),
        lines: s
            .lines
            .iter()
            .map(|l| Line {
                code: l.code.clone(),
                name: l.name.clone(),
                population: match (l.population, l.vintage) {
                    (Some(p), Some(v)) => format!("{} ({v})", integer(p)),
                    _ => "inconnue".into(),
                },
                authority: if l.authority == "EPCI" {
                    format!(
                        "l'intercommunalité ({} habitants comptés)",
                        l.counted_population.map(integer).unwrap_or_else(|| "population inconnue".into())
                    )
                } else {
                    "la commune".into()
                },
                obligations: l.obligations.iter().map(|o| o.label()).collect(),
                rpe: l.rpe.join(", "),
                missing: l.missing.clone(),
            })
            .collect(),
        exports: crate::export::links(&format!("/conventions/{id}/sppe"), &[], None),
    };
    Ok(Html(page.render()?).into_response())
}

/// Une commune au regard du service public de la petite enfance.
#[derive(Debug, Serialize, ToSchema)]
pub struct SppeCommuneDto {
    pub code_insee: String,
    pub nom: String,
    /// Population légale totale du dernier millésime connu ; absente si inconnue.
    pub population_totale: Option<i64>,
    pub millesime: Option<i32>,
    /// `commune`, ou `EPCI` quand la commune a transféré la compétence.
    pub autorite_organisatrice: String,
    /// La population à laquelle s'appliquent les seuils (celle de la commune, ou le total des communes
    /// qui ont transféré la compétence).
    pub population_comptee: Option<i64>,
    /// `recenser`, `informer`, `planifier`, `soutenir_qualite`, `schema_pluriannuel`, `relais_petite_enfance`.
    pub obligations: Vec<String>,
    pub relais_petite_enfance: Vec<String>,
    pub manques: Vec<String>,
}

/// Le service public de la petite enfance des communes d'une convention.
#[derive(Debug, Serialize, ToSchema)]
pub struct SppeDto {
    pub convention_id: i64,
    /// La date à laquelle les règles sont appliquées.
    pub date: chrono::NaiveDate,
    pub seuil_planification: i64,
    pub seuil_schema: i64,
    pub relais_obligatoire: bool,
    /// Une CTG signée et en cours tient lieu de schéma pluriannuel.
    pub ctg_tient_lieu_de_schema: bool,
    pub communes: Vec<SppeCommuneDto>,
}

/// Le service public de la petite enfance (CASF art. L. 214-1-3) des communes d'une convention :
/// population légale, obligations selon les seuils en vigueur, relais petite enfance, manques.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/sppe",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses(
        (status = 200, description = "Les communes et leurs obligations", body = SppeDto),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub(crate) async fn api(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, ApiError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let s = Sppe::load(&state, id).await?;
    let dto = SppeDto {
        convention_id: id,
        date: s.rules.on,
        seuil_planification: s.rules.planning_threshold,
        seuil_schema: s.rules.schema_threshold,
        relais_obligatoire: s.rules.rpe_required,
        ctg_tient_lieu_de_schema: s.ctg_covers_schema,
        communes: s
            .lines
            .into_iter()
            .map(|l| SppeCommuneDto {
                code_insee: l.code,
                nom: l.name,
                population_totale: l.population,
                millesime: l.vintage,
                autorite_organisatrice: l.authority.to_owned(),
                population_comptee: l.counted_population,
                obligations: l.obligations.iter().map(|o: &Obligation| o.code().to_owned()).collect(),
                relais_petite_enfance: l.rpe,
                manques: l.missing,
            })
            .collect(),
    };
    Ok(axum::Json(dto).into_response())
}
