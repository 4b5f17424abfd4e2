//! The public side of a published convention (art. 10: the parties communicate together, every partner
//! named): a page for citizens and partners, and its open data under the Licence Ouverte 2.0.
//!
//! Both show only what a citizen may see: no personal name (pilots are organisations, meetings are
//! shown without their members), only the indicators the coordination has published, and the small
//! counts masked by the rule of the diagnostic (the dated threshold `seuil_secret_statistique`).

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use ctg_domain::access::Action;
use ctg_domain::format::{date_long, date_short, integer};
use ctg_domain::plan::IndicatorKind;
use ctg_report::table::{csv_text, Column, Source, Table, Value as Cell, AS_OF_KEY, SOURCE_KEY};
use serde_json::{json, Value};

use crate::auth::Auth;
use crate::extract::Ids;
use crate::plan::PlanView;
use crate::views::{french_number, Nav, MASKING_PARAMETER};
use crate::{AppState, PageError, WebError};

/// The licence of the open data.
pub const LICENCE: &str = "Licence Ouverte / Open Licence version 2.0 (Etalab)";
pub const LICENCE_URL: &str = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/";

/// A value of an indicator as the public sees it: a whole count between 1 and the threshold is masked
/// (« secret statistique »), as the diagnostic's protected counts are.
fn public_value(number: Option<f64>, level: Option<&str>, threshold: i64) -> (String, bool) {
    match (number, level) {
        (Some(n), _) if n.fract() == 0.0 && n >= 1.0 && (n as i64) < threshold => ("secret statistique".into(), true),
        (Some(n), _) => (french_number(n), false),
        (None, Some(l)) => (l.to_owned(), false),
        _ => ("—".into(), false),
    }
}

/// What the public page and the open data hold, computed once.
struct Public {
    v: std::sync::Arc<PlanView>,
    parties: Vec<(i64, String)>,
    logos: Vec<(i64, String)>,
    threshold: i64,
    communes: usize,
    population: Option<(i64, String)>,
    meetings: Vec<(chrono::NaiveDate, String, String, String)>,
}

impl Public {
    async fn load(state: &AppState, auth: &Auth, id: i64) -> Result<Self, WebError> {
        state.authorize(auth, Action::ViewConvention, Some(id)).await?;
        let detail = state.store.convention(id).await?;
        let v = PlanView::load(state, id).await?;
        let territory = crate::views::Territory::load(state, id).await?;
        let population = territory.totals.last().and_then(|t| t.total.value.map(|p| (p, t.vintage.to_string())));
        let with_logo = state.store.parties_with_logo(id).await?;
        let parties: Vec<(i64, String)> =
            detail.parties.iter().map(|p| (p.id, p.party.organisation.name.clone())).collect();
        let logos = with_logo.iter().filter_map(|l| parties.iter().find(|(p, _)| p == l).cloned()).collect();
        let threshold = state.store.parameter(MASKING_PARAMETER, 5).await?.on(state.today());
        let bodies = state.store.bodies(id).await?;
        let mut meetings: Vec<_> = state
            .store
            .meetings(id)
            .await?
            .into_iter()
            .map(|m| {
                let body = bodies.iter().find(|b| b.id == m.body_id).map(|b| b.body.name.clone()).unwrap_or_default();
                let subject = m.data.title.clone().unwrap_or_default();
                (m.data.date, body, subject, m.data.place.unwrap_or_default())
            })
            .collect();
        meetings.sort_by_key(|m| m.0);
        Ok(Self { v, parties, logos, threshold, communes: territory.epci.communes.len(), population, meetings })
    }

    fn ambition_title(&self, n: i64) -> String {
        self.v
            .plan
            .stakes
            .iter()
            .flat_map(|s| s.2.iter())
            .find(|(a, _)| *a == n)
            .map_or_else(|| format!("Ambition {n}"), |(_, t)| format!("Ambition {n} : {t}"))
    }

    fn percent(p: Option<f64>) -> String {
        p.map_or_else(|| "non mesuré".to_owned(), |v| format!("{} %", french_number(v)))
    }

    /// The fiches: code, title, ambitions, pilot organisation, status, progress.
    fn fiches(&self) -> Vec<[String; 6]> {
        self.v
            .plan
            .fiches
            .iter()
            .map(|f| {
                let d = &f.fiche;
                [
                    d.code.clone(),
                    d.title.clone(),
                    d.ambitions.iter().map(|n| self.ambition_title(*n)).collect::<Vec<_>>().join(" ; "),
                    if d.pilot_organisation.trim().is_empty() { "—".into() } else { d.pilot_organisation.clone() },
                    d.status.label().to_owned(),
                    Self::percent(self.v.fiche_progress.get(&f.id).copied().flatten()),
                ]
            })
            .collect()
    }

    /// The published indicators, one line per value (or one line without value): indicator, unit,
    /// period, value, target of the year; and whether a value was masked.
    fn indicators(&self) -> (Vec<[String; 6]>, bool) {
        let mut masked_any = false;
        let mut out = Vec::new();
        for i in self.v.plan.indicators.iter().filter(|i| i.published) {
            let fiche = self.v.followed_by(i);
            let unit = match &i.indicator.kind {
                IndicatorKind::Quantitative { unit, .. } => unit.clone(),
                IndicatorKind::Qualitative { .. } => "niveau".into(),
            };
            let target = |y: Option<i32>| {
                y.and_then(|y| i.indicator.target_for(y)).map_or_else(|| "—".into(), crate::plan::target_text)
            };
            if i.values.is_empty() {
                out.push([
                    i.indicator.name.clone(),
                    fiche.clone(),
                    unit.clone(),
                    "—".into(),
                    "aucune valeur".into(),
                    "—".into(),
                ]);
            }
            for x in &i.values {
                let (value, masked) = public_value(x.number, x.level.as_deref(), self.threshold);
                masked_any |= masked;
                out.push([
                    i.indicator.name.clone(),
                    fiche.clone(),
                    unit.clone(),
                    x.period.clone(),
                    value,
                    target(x.year()),
                ]);
            }
        }
        (out, masked_any)
    }
}

/// An enjeu with its ambitions: (number, title, [(number, title, progress)]).
type StakeLine = (i64, String, Vec<(i64, String, String)>);

/// A dataset of the open data: (title, description, rows, [(label, href)]).
type FileLine = (String, String, usize, Vec<(String, String)>);

#[derive(Template)]
#[template(path = "public.html")]
struct PublicPage {
    nav: Nav,
    id: i64,
    title: String,
    published: bool,
    period: String,
    epci_name: String,
    territory: String,
    partnership: String,
    logos: Vec<(i64, String)>,
    stakes: Vec<StakeLine>,
    overall: String,
    fiches: Vec<[String; 6]>,
    indicators: Vec<[String; 6]>,
    masked: bool,
    threshold: i64,
    upcoming: Vec<(String, String, String, String)>,
    past: Vec<(String, String, String, String)>,
}

/// The public page of a convention. Before publication, the people with a role in it see a preview.
pub async fn page(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Html<String>, PageError> {
    let p = Public::load(&state, &auth, id).await?;
    let c = &p.v.convention;
    let names: Vec<&str> = p.parties.iter().map(|(_, n)| n.as_str()).collect();
    let partnership = match names.as_slice() {
        [] => "Les parties de la convention ne sont pas encore enregistrées.".to_owned(),
        [one] => format!("Convention territoriale globale portée par {one}."),
        [first @ .., last] => format!("Convention territoriale globale signée entre {} et {last}.", first.join(", ")),
    };
    let territory = match &p.population {
        Some((pop, vintage)) => format!(
            "{} communes, {} habitants (population municipale totale, millésime {vintage})",
            p.communes,
            integer(*pop)
        ),
        None => format!("{} communes ; population non connue pour toutes les communes", p.communes),
    };
    let (indicators, masked) = p.indicators();
    let today = state.today();
    let meeting = |(d, body, subject, place): &(chrono::NaiveDate, String, String, String)| {
        (date_long(*d), body.clone(), subject.clone(), if place.is_empty() { "—".into() } else { place.clone() })
    };
    let page = PublicPage {
        nav: Nav::of(&auth),
        id,
        title: c.title.trim().to_owned(),
        published: c.published,
        period: format!("du {} au {}", date_long(c.start), date_long(c.end)),
        epci_name: c.epci_name.clone(),
        territory,
        partnership,
        logos: p.logos.clone(),
        stakes: p
            .v
            .plan
            .stakes
            .iter()
            .map(|(n, t, ambitions)| {
                let ambitions = ambitions
                    .iter()
                    .map(|(a, at)| (*a, at.clone(), Public::percent(p.v.ambition_progress.get(a).copied().flatten())))
                    .collect();
                (*n, t.clone(), ambitions)
            })
            .collect(),
        overall: Public::percent(p.v.overall),
        fiches: p.fiches(),
        indicators,
        masked,
        threshold: p.threshold,
        upcoming: p.meetings.iter().filter(|m| m.0 >= today).map(meeting).collect(),
        past: p.meetings.iter().filter(|m| m.0 < today).rev().map(meeting).collect(),
    };
    Ok(Html(page.render()?))
}

// ---------------------------------------------------------------------------------------------
// Open data

/// The open data files of a convention: (file stem, title, description).
const DATASETS: &[(&str, &str, &str)] = &[
    ("plan", "Plan d'action", "Les fiches action : code, titre, ambitions, organisation pilote, statut, avancement."),
    (
        "indicateurs",
        "Indicateurs publiés",
        "Les indicateurs que la coordination a publiés, une ligne par valeur ; les petits effectifs sont masqués.",
    ),
    (
        "offre",
        "Offre de services",
        "Les équipements et services aux familles du territoire enregistrés dans la plateforme.",
    ),
];

/// The tables of the open data, each with the description of its columns (Table Schema).
async fn datasets(
    state: &AppState,
    auth: &Auth,
    id: i64,
) -> Result<(Public, Vec<(&'static str, Table, Vec<Value>)>), WebError> {
    let p = Public::load(state, auth, id).await?;
    let plan_columns = [
        ("code", "Code de la fiche", "string"),
        ("titre", "Titre de la fiche", "string"),
        ("ambitions", "Ambitions auxquelles la fiche répond", "string"),
        ("organisation_pilote", "Organisation pilote (aucune personne n'est nommée)", "string"),
        ("statut", "Statut de la fiche", "string"),
        ("avancement", "Avancement calculé par la plateforme (pourcentage, ou « non mesuré »)", "string"),
    ];
    let indicator_columns = [
        ("indicateur", "Nom de l'indicateur", "string"),
        ("fiche", "Code de la fiche suivie, ou « ensemble du plan »", "string"),
        ("unite", "Unité de la valeur", "string"),
        ("periode", "Période de la valeur (AAAA ou AAAA-MM)", "string"),
        ("valeur", "Valeur écrite à la française, ou « secret statistique » pour un petit effectif", "string"),
        ("cible", "Cible de l'année de la valeur", "string"),
    ];
    let offer_columns = [
        ("nom", "Nom de l'équipement ou du service (le gestionnaire n'est pas publié)", "string"),
        ("type", "Type d'équipement", "string"),
        ("commune", "Commune d'implantation", "string"),
        ("places", "Nombre de places ou de sièges, ou « inconnu »", "string"),
        ("statut", "Statut : ouvert, en projet ou fermé", "string"),
    ];
    let table = |title: &str, columns: &[(&str, &str, &str)], rows: Vec<Vec<String>>| Table {
        title: title.to_owned(),
        columns: columns.iter().map(|(name, label, _)| Column::new(*name, *label)).collect(),
        rows: rows.into_iter().map(|r| r.into_iter().map(Cell::Text).collect()).collect(),
    };
    let schema = |columns: &[(&str, &str, &str)]| -> Vec<Value> {
        columns
            .iter()
            .map(|(name, desc, kind)| json!({"name": name, "description": desc, "type": kind}))
            .chain([
                json!({"name": SOURCE_KEY, "description": "Source des données (art. 9 de la convention)", "type": "string"}),
                json!({"name": AS_OF_KEY, "description": "Date des données (AAAA-MM-JJ)", "type": "date"}),
            ])
            .collect()
    };
    let plan_rows = p.fiches().into_iter().map(Vec::from).collect();
    let indicator_rows = p.indicators().0.into_iter().map(Vec::from).collect();
    let offer_rows = crate::offer::open_data_rows(state, id).await?;
    let out = vec![
        ("plan", table("Plan d'action", &plan_columns, plan_rows), schema(&plan_columns)),
        ("indicateurs", table("Indicateurs publiés", &indicator_columns, indicator_rows), schema(&indicator_columns)),
        ("offre", table("Offre de services", &offer_columns, offer_rows), schema(&offer_columns)),
    ];
    Ok((p, out))
}

#[derive(Template)]
#[template(path = "open_data.html")]
struct OpenDataPage {
    nav: Nav,
    id: i64,
    title: String,
    published: bool,
    as_of: String,
    licence: &'static str,
    licence_url: &'static str,
    files: Vec<FileLine>,
}

/// The open data of a convention: each table as CSV (`;` with BOM, or `,`), JSON, and the data
/// package that describes them.
pub async fn open_data_page(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
) -> Result<Html<String>, PageError> {
    let (p, sets) = datasets(&state, &auth, id).await?;
    let base = format!("/conventions/{id}/donnees-ouvertes");
    let files = sets
        .iter()
        .map(|(stem, table, _)| {
            let (_, title, description) = DATASETS.iter().find(|d| d.0 == *stem).copied().unwrap_or((stem, stem, ""));
            (
                title.to_owned(),
                description.to_owned(),
                table.rows.len(),
                vec![
                    ("CSV pour tableur (point-virgule)".to_owned(), format!("{base}/{stem}.csv")),
                    ("CSV standard (virgule)".to_owned(), format!("{base}/{stem}-virgule.csv")),
                    ("JSON".to_owned(), format!("{base}/{stem}.json")),
                ],
            )
        })
        .collect();
    let page = OpenDataPage {
        nav: Nav::of(&auth),
        id,
        title: p.v.convention.title.trim().to_owned(),
        published: p.v.convention.published,
        as_of: date_short(state.today()),
        licence: LICENCE,
        licence_url: LICENCE_URL,
        files,
    };
    Ok(Html(page.render()?))
}

/// One file of the open data: `plan.csv`, `plan-virgule.csv`, `plan.json`, … or `datapackage.json`.
pub async fn open_data_file(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, file)): Ids<(i64, String)>,
) -> Result<Response, PageError> {
    let (p, sets) = datasets(&state, &auth, id).await?;
    let source = crate::export::source(&state, id, &[]).await?;
    let attachment = |name: &str, content_type: &str, bytes: Vec<u8>| {
        (
            [
                (header::CONTENT_TYPE, content_type.to_owned()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            ],
            bytes,
        )
            .into_response()
    };
    let stem_of = |file: &str| -> Option<(&'static str, &'static str)> {
        for (stem, _, _) in DATASETS {
            for (suffix, kind) in [(".csv", "csv"), ("-virgule.csv", "virgule"), (".json", "json")] {
                if file.strip_suffix(suffix) == Some(stem) {
                    return Some((stem, kind));
                }
            }
        }
        None
    };
    let title = p.v.convention.title.trim().to_owned();
    if file == "datapackage.json" {
        let resources: Vec<Value> = sets
            .iter()
            .map(|(stem, _, fields)| {
                let (_, t, d) = DATASETS.iter().find(|x| x.0 == *stem).copied().unwrap_or((stem, stem, ""));
                json!({
                    "name": stem,
                    "title": t,
                    "description": d,
                    "path": format!("{stem}-virgule.csv"),
                    "format": "csv",
                    "mediatype": "text/csv",
                    "encoding": "utf-8",
                    "dialect": {"delimiter": ",", "header": true},
                    "schema": {"fields": fields},
                })
            })
            .collect();
        let package = json!({
            "profile": "tabular-data-package",
            "name": format!("ctg-{id}"),
            "title": format!("Données ouvertes — {title}"),
            "description": "Le plan d'action, les indicateurs publiés et l'offre de services d'une convention territoriale globale. Aucune donnée personnelle ; les petits effectifs sont masqués (secret statistique).",
            "licenses": [{"name": "etalab-2.0", "title": LICENCE, "path": LICENCE_URL}],
            "sources": [{"title": source.origin}],
            "created": state.today().to_string(),
            "resources": resources,
        });
        let bytes = serde_json::to_vec_pretty(&package).map_err(|e| WebError::Internal(Box::new(e)))?;
        return Ok(attachment("datapackage.json", "application/json", bytes));
    }
    let (stem, kind) = stem_of(&file).ok_or_else(|| {
        WebError::NotFound(format!(
            "le fichier « {file} » n'existe pas dans les données ouvertes (fichiers : plan, indicateurs, offre en .csv, -virgule.csv ou .json ; datapackage.json)"
        ))
    })?;
    let (_, table, _) = sets.iter().find(|s| s.0 == stem).expect("a dataset of the list");
    match kind {
        "json" => {
            let rows: Vec<Value> = table
                .rows
                .iter()
                .map(|r| {
                    Value::Object(table.columns.iter().zip(r).map(|(c, v)| (c.key.clone(), json!(text(v)))).collect())
                })
                .collect();
            let doc = json!({
                "titre": DATASETS.iter().find(|d| d.0 == stem).map(|d| d.1),
                "convention": title,
                "licence": LICENCE,
                "source": source.origin,
                "donnees_au": state.today().to_string(),
                "lignes": rows,
            });
            let bytes = serde_json::to_vec_pretty(&doc).map_err(|e| WebError::Internal(Box::new(e)))?;
            Ok(attachment(&format!("{stem}.json"), "application/json", bytes))
        }
        _ => {
            let bytes = open_csv(table, &source, kind != "virgule").map_err(|e| WebError::Internal(Box::new(e)))?;
            Ok(attachment(&file, "text/csv; charset=utf-8", bytes))
        }
    }
}

fn text(v: &Cell) -> String {
    match v {
        Cell::Text(t) => t.clone(),
        other => format!("{other:?}"),
    }
}

/// A table of the open data as CSV: for French spreadsheets (`;`, UTF-8 with a byte order mark), or
/// the standard variant (`,`, UTF-8 without mark) that the data package describes. Text cells pass
/// through the platform's export-cleaning rule; the source and date of the data close every row.
fn open_csv(table: &Table, source: &Source, spreadsheet: bool) -> Result<Vec<u8>, csv::Error> {
    let mut out: Vec<u8> = if spreadsheet { "\u{feff}".as_bytes().to_vec() } else { Vec::new() };
    {
        let mut w = csv::WriterBuilder::new().delimiter(if spreadsheet { b';' } else { b',' }).from_writer(&mut out);
        let header: Vec<&str> = table.columns.iter().map(|c| c.key.as_str()).chain([SOURCE_KEY, AS_OF_KEY]).collect();
        w.write_record(&header)?;
        let as_of = source.as_of.to_string();
        for row in &table.rows {
            let cells: Vec<String> = row
                .iter()
                .map(|v| csv_text(&text(v)).into_owned())
                .chain([csv_text(&source.origin).into_owned(), as_of.clone()])
                .collect();
            w.write_record(&cells)?;
        }
        w.flush()?;
    }
    Ok(out)
}
