//! HTML pages, in French, rendered on the server by compile-time-checked templates (askama).
//! Figures are formatted here, the French way, so that templates only place them.

pub mod api;
pub mod edit;

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use ctg_domain::format::{collation_key, date_long, date_short, integer, signed_integer, signed_percent};
use ctg_domain::life::LifeStatus;
use ctg_domain::{Change, CommunePopulations, Total};
use ctg_store::ConventionSummary;
use serde::Deserialize;

use ctg_domain::access::Action;

use crate::auth::Auth;
use crate::extract::Ids;
use crate::views::{Nav, Territory};
use crate::{AppState, PageError};

struct ConventionLine {
    id: i64,
    title: String,
    epci: String,
    period: String,
    status: String,
    status_code: &'static str,
}

/// A convention's period as people read it: « du 01/01/2026 au 31/12/2030 ».
pub(crate) fn period(start: chrono::NaiveDate, end: chrono::NaiveDate) -> String {
    format!("du {} au {}", date_short(start), date_short(end))
}

impl ConventionLine {
    fn new(c: &ConventionSummary, status: LifeStatus) -> Self {
        Self {
            id: c.id,
            title: c.title.clone(),
            epci: c.epci_name.clone(),
            period: period(c.start, c.end),
            status: status.label(),
            status_code: status.code(),
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    nav: Nav,
    conventions: Vec<ConventionLine>,
}

pub async fn home(State(state): State<AppState>, auth: Auth) -> Result<Html<String>, PageError> {
    let today = state.today();
    let visible = state.visible_conventions(&auth).await?;
    // The one rule of status (signatures, avenants, termination: `Life::status_on`).
    let ids: Vec<i64> = visible.iter().map(|c| c.id).collect();
    let statuses = state.store.life_statuses(&ids, today).await?;
    let conventions = visible.iter().zip(statuses).map(|(c, status)| ConventionLine::new(c, status)).collect();
    Ok(Html(HomePage { nav: Nav::of(&auth), conventions }.render()?))
}

struct PartyLine {
    id: i64,
    editable: bool,
    name: String,
    short_name: String,
    kind: &'static str,
    address: String,
    signatory: String,
    deliberation: String,
    signed: String,
}

struct StakeLine {
    number: i64,
    title: String,
    description: String,
    ambitions: Vec<(i64, String, String)>,
}

#[derive(Template)]
#[template(path = "convention.html")]
struct ConventionPage {
    nav: Nav,
    /// May prepare the next convention.
    can_edit: bool,
    published: bool,
    line: ConventionLine,
    start_long: String,
    end_long: String,
    signing_place: String,
    parties: Vec<PartyLine>,
    /// The parties that have a logo, in their order: (party, organisation).
    logos: Vec<(i64, String)>,
    stakes: Vec<StakeLine>,
    ambition_count: usize,
    approaches: Vec<(String, String)>,
    bodies: Vec<(&'static str, String, String)>,
    predecessor: Option<(i64, String)>,
    successors: Vec<(i64, String)>,

    life_status: String,
    milestone: String,
}

pub async fn convention(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
) -> Result<Html<String>, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    // The status from the life of the convention: signatures, avenants, termination (arts. 11-13).
    let (c, life) = state.store.convention_and_life(id, state.today()).await?;
    let status = life.status;
    let mut editable_parties = Vec::new();
    for e in &c.parties {
        if state.may(&auth, Action::EditParty { organisation_id: e.organisation_id }, Some(id)).await {
            editable_parties.push(e.id);
        }
    }
    let logos = state
        .store
        .parties_with_logo(id)
        .await?
        .into_iter()
        .filter_map(|l| c.parties.iter().find(|e| e.id == l).map(|e| (e.id, e.party.organisation.name.clone())))
        .collect();
    let page = ConventionPage {
        can_edit: state.may(&auth, Action::EditConvention, Some(id)).await,
        logos,
        life_status: life.status.label(),
        milestone: life
            .next_milestone
            .as_ref()
            .map(|(d, what)| format!("{} : {what}", d.format("%d/%m/%Y")))
            .unwrap_or_default(),
        nav: Nav::of(&auth),
        published: c.summary.published,
        line: ConventionLine::new(&c.summary, status),
        start_long: date_long(c.summary.start),
        end_long: date_long(c.summary.end),
        signing_place: c.signing_place.clone().unwrap_or_default(),
        parties: c
            .parties
            .iter()
            .map(|e| (e, &e.party))
            .map(|(e, p)| PartyLine {
                id: e.id,
                editable: editable_parties.contains(&e.id),
                name: p.organisation.name.clone(),
                short_name: p.organisation.short_name.clone().unwrap_or_default(),
                kind: p.organisation.kind.label(),
                address: p.organisation.address.clone().unwrap_or_default(),
                signatory: match (&p.signatory, &p.signatory_title) {
                    (Some(n), Some(t)) => format!("{n}, {t}"),
                    (Some(n), None) => n.clone(),
                    (None, Some(t)) => t.clone(),
                    (None, None) => String::new(),
                },
                deliberation: match (&p.deliberation, p.deliberation_date) {
                    (Some(d), Some(date)) => format!("{d} du {}", date_long(date)),
                    (Some(d), None) => d.clone(),
                    (None, Some(date)) => format!("délibération du {}", date_long(date)),
                    (None, None) => String::new(),
                },
                signed: p
                    .signed_on()
                    .map(|s| if s.month_only { s.label() } else { date_long(s.date) })
                    .unwrap_or_default(),
            })
            .collect(),
        ambition_count: c.stakes.iter().map(|s| s.ambitions.len()).sum(),
        stakes: c
            .stakes
            .iter()
            .map(|s| StakeLine {
                number: s.number,
                title: s.title.clone(),
                description: s.description.clone().unwrap_or_default(),
                ambitions: s
                    .ambitions
                    .iter()
                    .map(|a| (a.number, a.title.clone(), a.note.clone().unwrap_or_default()))
                    .collect(),
            })
            .collect(),
        approaches: c.approaches.iter().map(|a| (a.title.clone(), a.description.clone().unwrap_or_default())).collect(),
        bodies: c
            .bodies
            .iter()
            .map(|b| (b.kind.label(), b.name.clone(), b.description.clone().unwrap_or_default()))
            .collect(),
        predecessor: c.predecessor.as_ref().map(|p| (p.id, p.title.clone())),
        successors: c.successors.iter().map(|s| (s.id, s.title.clone())).collect(),
    };
    Ok(Html(page.render()?))
}

/// How the territory table is sorted: `?tri=nom|code|evolution|totale-AAAA|municipale-AAAA&ordre=asc|desc`.
#[derive(Debug, Deserialize, Default)]
pub struct SortQuery {
    tri: Option<String>,
    ordre: Option<String>,
    #[serde(flatten)]
    export: crate::export::ExportQuery,
}

struct Column {
    key: String,
    label: String,
    /// `ascending`, `descending` or empty, for `aria-sort`.
    aria_sort: &'static str,
    /// The link that sorts by this column (the other way when it is the current one).
    href: String,
    numeric: bool,
}

struct Row {
    code: String,
    name: String,
    cells: Vec<String>,
    change: String,
    change_percent: String,
}

struct TotalLine {
    vintage: i32,
    municipal: String,
    counted_apart: String,
    total: String,
}

struct ChangeLine {
    from: i32,
    to: i32,
    absolute: String,
    percent: String,
}

#[derive(Template)]
#[template(path = "territory.html")]
struct TerritoryPage {
    nav: Nav,
    convention_id: i64,
    convention_title: String,
    epci_name: String,
    epci_siren: String,
    commune_count: usize,
    columns: Vec<Column>,
    rows: Vec<Row>,
    footer: Vec<String>,
    totals: Vec<TotalLine>,
    changes: Vec<ChangeLine>,
    change_label: String,
    sort_label: String,
    exports: Vec<(String, String)>,
}

/// A theme of the diagnostic page: its table, its charts and the changes of its indicators.
struct DiagnosticTheme {
    name: &'static str,
    lines: Vec<DiagnosticLine>,
    charts: Vec<String>,
    /// Commune / EPCI / département / France side by side, one chart per indicator.
    comparisons: Vec<String>,
    changes: Vec<String>,
}

struct DiagnosticLine {
    label: String,
    unit: &'static str,
    period: String,
    commune: String,
    epci: String,
    departement: String,
    france: String,
    source: String,
}

#[derive(Template)]
#[template(path = "diagnostic.html")]
struct DiagnosticPage {
    nav: Nav,
    convention_id: i64,
    convention_title: String,
    epci_name: String,
    departement: String,
    commune_name: String,
    commune_code: String,
    communes: Vec<(String, String)>,
    masked_any: bool,
    themes: Vec<DiagnosticTheme>,
    /// The key figures at the top: (label, value with its unit, period, trend since the previous
    /// period or empty).
    key_figures: Vec<(String, String, String, String)>,
    map: String,
    exports: Vec<(String, String)>,
    /// Whether the viewer may prefill the diagnostic from the open data.
    can_prefill: bool,
}

/// The key figures of the diagnostic: for the first indicators of the EPCI known, the last value,
/// its period and how it moved since the previous one. A masked value is never a key figure.
fn key_figures(d: &crate::views::Diagnostic) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (_, rows) in &d.themes {
        for r in rows {
            let code = r.indicator.code;
            if seen.contains(&code) || out.len() >= 4 {
                continue;
            }
            let mut series: Vec<(&str, f64)> = rows
                .iter()
                .filter(|x| x.indicator.code == code && !x.masked)
                .filter_map(|x| Some((x.period.as_str(), x.epci?)))
                .collect();
            series.sort_by(|a, b| {
                ctg_report::chart::period_position(a.0)
                    .unwrap_or(0.0)
                    .total_cmp(&ctg_report::chart::period_position(b.0).unwrap_or(0.0))
            });
            let Some(&(period, last)) = series.last() else { continue };
            seen.push(code);
            let unit = r.indicator.unit;
            let value = format!("{} {unit}", crate::views::french_number(last)).trim().to_owned();
            let trend = match series.len().checked_sub(2).map(|i| series[i]) {
                Some((before, prev)) if prev != 0.0 && !unit.contains('%') => {
                    let pct = (last - prev) / prev.abs() * 100.0;
                    let arrow = if pct > 0.05 {
                        "↗"
                    } else if pct < -0.05 {
                        "↘"
                    } else {
                        "→"
                    };
                    format!(
                        "{arrow} {}{} % depuis {before}",
                        if pct > 0.0 { "+" } else { "" },
                        crate::views::french_number((pct * 10.0).round() / 10.0)
                    )
                }
                Some((before, prev)) => format!("{} en {before}", crate::views::french_number(prev)),
                None => String::new(),
            };
            out.push((r.indicator.label.to_owned(), value, period.to_owned(), trend));
        }
    }
    out
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct DiagnosticQuery {
    #[serde(default)]
    pub commune: Option<String>,
    #[serde(flatten)]
    pub export: crate::export::ExportQuery,
}

fn diagnostic_table(d: &crate::views::Diagnostic) -> ctg_report::table::Table {
    use ctg_report::table::{Column, Value};
    let cell = |v: Option<f64>, masked: bool| match (v, masked) {
        (_, true) => Value::Masked,
        (Some(v), _) if v.fract() == 0.0 => Value::Integer(v as i64),
        (Some(v), _) => Value::Decimal { value: v, decimals: 2 },
        (None, _) => Value::Empty,
    };
    let mut rows = Vec::new();
    for (theme, lines) in &d.themes {
        for r in lines {
            rows.push(vec![
                Value::Text((*theme).into()),
                Value::Text(r.indicator.code.into()),
                Value::Text(r.indicator.label.into()),
                Value::Text(r.period.clone()),
                cell(r.commune, r.masked),
                cell(r.epci, r.masked),
                cell(r.departement, r.masked),
                cell(r.france, r.masked),
                Value::Text(r.indicator.unit.into()),
                Value::Text(r.source.clone()),
            ]);
        }
    }
    let commune = d.commune.as_ref().map_or_else(|| "Commune".to_owned(), |(_, n)| n.clone());
    ctg_report::table::Table {
        title: "Diagnostic".into(),
        columns: vec![
            Column::new("theme", "Thème"),
            Column::new("indicateur", "Code de l'indicateur"),
            Column::new("libelle", "Indicateur"),
            Column::new("periode", "Période"),
            Column::new("commune", commune),
            Column::new("epci", "Intercommunalité"),
            Column::new("departement", "Département"),
            Column::new("france", "France"),
            Column::new("unite", "Unité"),
            Column::new("source", "Source"),
        ],
        rows,
    }
}

/// The diagnostic of a convention by theme: a commune (when chosen), the EPCI, its département and
/// France side by side; each series drawn as an SVG chart beside its table; the populations of the
/// communes on a map when outlines are loaded.
pub async fn diagnostic(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    crate::api_query::PageQuery(q): crate::api_query::PageQuery<DiagnosticQuery>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let d = crate::views::Diagnostic::load(&state, id, auth.user.is_none(), q.commune.as_deref()).await?;
    if let Some(format) = q.export.format()? {
        let producers: Vec<&str> =
            d.themes.iter().flat_map(|(_, rows)| rows.iter().map(|r| r.indicator.source)).collect();
        let source = crate::export::source(&state, id, &producers).await?;
        return Ok(crate::export::download(
            &diagnostic_table(&d),
            format,
            &format!("diagnostic-{}", d.convention.epci_siren),
            &source,
        )?);
    }
    let show = |v: Option<f64>, masked: bool| match (v, masked) {
        (_, true) => "secret statistique".to_owned(),
        (Some(v), false) => crate::views::french_number(v),
        (None, false) => "—".to_owned(),
    };
    let mut chart_no = 0;
    let themes = d
        .themes
        .iter()
        .map(|(theme, rows)| {
            let lines = rows
                .iter()
                .map(|r| DiagnosticLine {
                    label: r.indicator.label.to_owned(),
                    unit: r.indicator.unit,
                    period: r.period.clone(),
                    commune: show(r.commune, r.masked),
                    epci: show(r.epci, r.masked),
                    departement: show(r.departement, r.masked),
                    france: show(r.france, r.masked),
                    source: r.source.clone(),
                })
                .collect();
            let (charts, comparisons) = diagnostic_charts(&d, rows, &mut chart_no);
            let charts = charts.into_iter().map(|c| c.svg).collect();
            let comparisons = comparisons.into_iter().map(|c| c.svg).collect();
            let changes = crate::views::changes(rows)
                .into_iter()
                .map(|(def, c)| {
                    let n = |v: f64| crate::views::french_number(v);
                    let sign = |v: f64| if v > 0.0 { format!("+{}", n(v)) } else { n(v) };
                    match c.percent {
                        Some(p) => format!(
                            "{} : {} en {} → {} en {}, soit {} ({} %)",
                            def.label,
                            n(c.before),
                            c.from,
                            n(c.after),
                            c.to,
                            sign(c.absolute),
                            sign((p * 10.0).round() / 10.0)
                        ),
                        None if def.unit == "%" => format!(
                            "{} : {} % en {} → {} % en {}, soit {} point(s)",
                            def.label,
                            n(c.before),
                            c.from,
                            n(c.after),
                            c.to,
                            sign(c.absolute)
                        ),
                        None => format!(
                            "{} : {} en {} → {} en {}, soit {}",
                            def.label,
                            n(c.before),
                            c.from,
                            n(c.after),
                            c.to,
                            sign(c.absolute)
                        ),
                    }
                })
                .collect();
            DiagnosticTheme { name: theme, lines, charts, comparisons, changes }
        })
        .collect();
    // The legal population of each commune, on a map when outlines are loaded.
    let outlines = state.store.outlines_of(&d.convention.epci_siren).await?;
    let map = if outlines.is_empty() {
        String::new()
    } else {
        let latest =
            |c: &CommunePopulations| c.by_vintage.iter().rev().find_map(|(_, p)| p.municipal).map(|v| v as f64);
        ctg_report::chart::choropleth(&ctg_report::chart::ChoroplethMap {
            id: "carte-population".into(),
            title: format!("Population municipale des communes — {}", d.convention.epci_name),
            unit: "habitants".into(),
            decimals: 0,
            shapes: outlines
                .iter()
                .map(|o| {
                    let c = d.epci.communes.iter().find(|c| c.code == o.code);
                    ctg_report::chart::Shape {
                        code: o.code.to_string(),
                        name: c.map_or_else(|| o.code.to_string(), |c| c.name.clone()),
                        polygons: o.polygons.clone(),
                        value: c.and_then(latest),
                    }
                })
                .collect(),
        })
    };
    let commune_code = d.commune.as_ref().map(|(c, _)| c.to_string()).unwrap_or_default();
    let page = DiagnosticPage {
        can_prefill: state.may(&auth, Action::EditConvention, Some(id)).await,
        nav: Nav::of(&auth),
        convention_id: id,
        convention_title: d.convention.title.clone(),
        epci_name: d.convention.epci_name.clone(),
        departement: d.departement.clone().unwrap_or_else(|| "—".into()),
        commune_name: d.commune.as_ref().map(|(_, n)| n.clone()).unwrap_or_default(),
        communes: d.epci.communes.iter().map(|c| (c.code.to_string(), c.name.clone())).collect(),
        masked_any: d.themes.iter().any(|(_, rows)| rows.iter().any(|r| r.masked)),
        key_figures: key_figures(&d),
        themes,
        map,
        exports: crate::export::links(
            &format!("/conventions/{id}/diagnostic"),
            &[("commune", commune_code.clone())],
            None,
        ),
        commune_code,
    };
    Ok(Html(page.render()?).into_response())
}

/// The communes' table as CSV, to open in a spreadsheet.
pub async fn territory_csv(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    crate::api_query::PageQuery(q): crate::api_query::PageQuery<crate::export::CsvQuery>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let t = Territory::load(&state, id).await?;
    let source = crate::export::source(&state, id, &["Insee, populations légales"]).await?;
    let bytes = ctg_report::territory_csv(&t.epci.communes, &t.vintages, &source, q.dialect())
        .map_err(|e| crate::WebError::Internal(Box::new(e)))?;
    let filename = format!("territoire-{}.csv", t.epci.siren);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        bytes,
    )
        .into_response())
}

/// The communes and their populations, in the columns of the population import format.
fn territory_table(t: &Territory) -> ctg_report::table::Table {
    use ctg_report::table::{Column as C, Table, Value};
    let mut columns = vec![C::new("code_insee", "Code INSEE"), C::new("nom", "Commune")];
    for v in &t.vintages {
        columns.push(C::new(format!("population_municipale_{v}"), format!("Population municipale {v}")));
        columns.push(C::new(format!("population_comptee_a_part_{v}"), format!("Population comptée à part {v}")));
        columns.push(C::new(format!("population_totale_{v}"), format!("Population totale {v}")));
    }
    let cell = |x: Option<i64>| x.map_or(Value::Empty, Value::Integer);
    let rows = t
        .epci
        .communes
        .iter()
        .map(|c| {
            let mut row = vec![Value::Text(c.code.to_string()), Value::Text(c.name.clone())];
            for v in &t.vintages {
                let p = c.by_vintage.get(v).copied().unwrap_or_default();
                row.extend([cell(p.municipal), cell(p.counted_apart), cell(p.total)]);
            }
            row
        })
        .collect();
    Table { title: format!("Territoire {}", t.epci.name), columns, rows }
}

/// A column of figures of the territory table: its sort key, its header, and how to read it.
type FigureColumn = (String, String, Box<dyn Fn(&CommunePopulations) -> Option<i64>>);

fn opt(v: Option<i64>) -> String {
    v.map(integer).unwrap_or_else(|| "—".to_owned())
}

fn total_cell(t: &Total) -> String {
    match t.value {
        Some(v) => integer(v),
        None if t.missing > 0 && t.known_sum > 0 => {
            format!("{} (incomplet : {} sans valeur)", integer(t.known_sum), t.missing)
        }
        None => "inconnue".to_owned(),
    }
}

fn change_cells(c: Option<&Change>) -> (String, String) {
    match c {
        Some(c) => (signed_integer(c.absolute), c.percent.map(signed_percent).unwrap_or_else(|| "—".to_owned())),
        None => ("—".to_owned(), "—".to_owned()),
    }
}

pub async fn territory(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    crate::api_query::PageQuery(sort): crate::api_query::PageQuery<SortQuery>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let t = Territory::load(&state, id).await?;
    if let Some(format) = sort.export.format()? {
        let source = crate::export::source(&state, id, &["Insee, populations légales"]).await?;
        return Ok(crate::export::download(
            &territory_table(&t),
            format,
            &format!("territoire-{}", t.epci.siren),
            &source,
        )?);
    }
    // Columns: for each vintage, the municipal population where any is known, then the total.
    let mut figure_columns: Vec<FigureColumn> = Vec::new();
    for (v, totals) in t.vintages.iter().zip(&t.totals) {
        let v = *v;
        if totals.municipal.missing < t.epci.communes.len() {
            figure_columns.push((
                format!("municipale-{v}"),
                format!("Municipale {v}"),
                Box::new(move |c| c.by_vintage.get(&v).and_then(|p| p.municipal)),
            ));
        }
        figure_columns.push((
            format!("totale-{v}"),
            format!("Totale {v}"),
            Box::new(move |c| c.by_vintage.get(&v).and_then(|p| p.total)),
        ));
    }

    let key = sort.tri.as_deref().unwrap_or("nom");
    let descending = sort.ordre.as_deref() == Some("desc");
    let mut communes: Vec<&CommunePopulations> = t.epci.communes.iter().collect();
    let known_key = key == "nom" || key == "code" || key == "evolution" || figure_columns.iter().any(|f| f.0 == key);
    let key = if known_key { key } else { "nom" };
    match key {
        "code" => communes.sort_by(|a, b| a.code.cmp(&b.code)),
        "evolution" => communes.sort_by_key(|c| t.commune_change(c).map(|ch| ch.absolute)),
        "nom" => communes.sort_by_cached_key(|c| collation_key(&c.name)),
        figure => {
            if let Some((_, _, get)) = figure_columns.iter().find(|f| f.0 == figure) {
                communes.sort_by_key(|c| get(c));
            }
        }
    }
    if descending {
        communes.reverse();
    }

    let column = |k: &str, label: String, numeric: bool| {
        let current = k == key;
        let next = if current && !descending { "desc" } else { "asc" };
        Column {
            key: k.to_owned(),
            label,
            aria_sort: match (current, descending) {
                (true, false) => "ascending",
                (true, true) => "descending",
                _ => "",
            },
            href: format!("/conventions/{}/territoire?tri={k}&ordre={next}#communes", t.convention.id),
            numeric,
        }
    };
    let (first, last) = (t.vintages.first().copied(), t.vintages.last().copied());
    let change_label = match (first, last) {
        (Some(a), Some(b)) if a != b => format!("Évolution {a}-{b}"),
        _ => "Évolution".to_owned(),
    };
    let mut columns = vec![column("nom", "Commune".into(), false), column("code", "Code INSEE".into(), false)];
    columns.extend(figure_columns.iter().map(|(k, label, _)| column(k, label.clone(), true)));
    columns.push(column("evolution", change_label.clone(), true));
    let sort_label = columns
        .iter()
        .find(|c| c.key == key)
        .map(|c| format!("{}, {}", c.label, if descending { "ordre décroissant" } else { "ordre croissant" }))
        .unwrap_or_default();

    let rows = communes
        .iter()
        .map(|c| {
            let (change, change_percent) = change_cells(t.commune_change(c).as_ref());
            Row {
                code: c.code.to_string(),
                name: c.name.clone(),
                cells: figure_columns.iter().map(|(_, _, get)| opt(get(c))).collect(),
                change,
                change_percent,
            }
        })
        .collect();
    let footer = figure_columns
        .iter()
        .map(|(k, _, _)| {
            let (kind, year) = k.split_once('-').unwrap_or_default();
            let totals = t.totals.iter().find(|x| x.vintage.year().to_string() == year);
            totals.map(|x| total_cell(if kind == "municipale" { &x.municipal } else { &x.total })).unwrap_or_default()
        })
        .collect();
    let page = TerritoryPage {
        exports: crate::export::links(&format!("/conventions/{id}/territoire"), &[], None),
        nav: Nav::of(&auth),
        convention_id: t.convention.id,
        convention_title: t.convention.title.clone(),
        epci_name: t.epci.name.clone(),
        epci_siren: t.epci.siren.to_string(),
        commune_count: t.epci.communes.len(),
        columns,
        rows,
        footer,
        totals: t
            .totals
            .iter()
            .map(|x| TotalLine {
                vintage: x.vintage.year(),
                municipal: total_cell(&x.municipal),
                counted_apart: total_cell(&x.counted_apart),
                total: total_cell(&x.total),
            })
            .collect(),
        changes: t
            .changes
            .iter()
            .map(|c| {
                let (absolute, percent) = change_cells(Some(c));
                ChangeLine { from: c.from.year(), to: c.to.year(), absolute, percent }
            })
            .collect(),
        change_label,
        sort_label,
    };
    Ok(Html(page.render()?).into_response())
}

/// « Préparer la convention suivante »: the next convention of the same EPCI, as a draft (see
/// [`ctg_store::Store::prepare_successor`]); the coordination then completes and signs it.
pub async fn prepare_successor(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditConvention, Some(id)).await?;
    let next = state.store.prepare_successor(&auth.actor(ctg_domain::Channel::Page), id).await?;
    let n = next.carried;
    let s = if n > 1 { "s" } else { "" };
    Ok(crate::flash::redirect(
        &format!("/conventions/{}", next.id),
        format!(
            "Convention suivante préparée, en brouillon : mêmes parties, stratégie et instances ; {n} fiche{s} non terminée{s} reprise{s} comme proposition{s}"
        ),
    ))
}

/// A chart of the diagnostic: its title, which the PDF gives as its text alternative, and its SVG.
pub(crate) struct DiagnosticChart {
    pub title: String,
    pub svg: String,
}

/// The charts of a theme of the diagnostic, the same for its page and its PDF (one drawing code, two
/// outputs): for each indicator of the EPCI known over three periods or more, its series (a line on a
/// real time axis, or bars when the periods are not years); for each indicator known in at least two
/// of commune, EPCI, département and France, their comparison at its last period. Masked values are
/// already unknown (`Diagnostic::load`).
pub(crate) fn diagnostic_charts(
    d: &crate::views::Diagnostic,
    rows: &[crate::views::DiagnosticRow],
    chart_no: &mut usize,
) -> (Vec<DiagnosticChart>, Vec<DiagnosticChart>) {
    use ctg_report::chart::{bar_chart, Bar, BarChart, BarValue};
    let mut charts = Vec::new();
    let mut comparisons = Vec::new();
    let mut codes: Vec<&str> = rows.iter().map(|r| r.indicator.code).collect();
    codes.dedup();
    for code in codes {
        let series: Vec<&crate::views::DiagnosticRow> =
            rows.iter().filter(|r| r.indicator.code == code && r.epci.is_some()).collect();
        if series.len() < 3 {
            continue;
        }
        *chart_no += 1;
        let def = series[0].indicator;
        let title = format!("{} — {}", def.label, d.convention.epci_name);
        let decimals = if series.iter().filter_map(|r| r.epci).all(|v| v.fract() == 0.0) { 0 } else { 1 };
        // A line on a real time axis when every period starts with its year.
        let positions: Option<Vec<f64>> =
            series.iter().map(|r| ctg_report::chart::period_position(&r.period)).collect();
        if let Some(positions) = positions {
            let mut points: Vec<(f64, String, Option<f64>)> =
                series.iter().zip(positions).map(|(r, x)| (x, r.period.clone(), r.epci)).collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            if let Some(svg) = ctg_report::chart::line_chart(&ctg_report::chart::LineChart {
                id: format!("graphique-{chart_no}"),
                title: title.clone(),
                unit: def.unit.to_owned(),
                decimals,
                points,
            }) {
                charts.push(DiagnosticChart { title, svg });
                continue;
            }
        }
        let svg = bar_chart(&BarChart {
            id: format!("graphique-{chart_no}"),
            title: title.clone(),
            unit: def.unit.to_owned(),
            decimals,
            bars: series
                .iter()
                .map(|r| Bar { label: r.period.clone(), value: r.epci.map_or(BarValue::Unknown, BarValue::Known) })
                .collect(),
        });
        charts.push(DiagnosticChart { title, svg });
    }
    let mut codes: Vec<&str> = rows.iter().map(|r| r.indicator.code).collect();
    codes.dedup();
    for code in codes {
        let Some(last) = rows.iter().filter(|r| r.indicator.code == code).max_by(|a, b| {
            ctg_report::chart::period_position(&a.period)
                .unwrap_or(0.0)
                .total_cmp(&ctg_report::chart::period_position(&b.period).unwrap_or(0.0))
        }) else {
            continue;
        };
        let areas = [
            (d.commune.as_ref().map(|(_, n)| n.clone()), last.commune),
            (Some(d.convention.epci_name.clone()), last.epci),
            (d.departement.clone().map(|n| format!("Département {n}")), last.departement),
            (Some("France".to_owned()), last.france),
        ];
        let known = areas.iter().filter(|(n, v)| n.is_some() && v.is_some()).count();
        if known < 2 || last.masked {
            continue;
        }
        *chart_no += 1;
        let title = format!("{} ({}) : comparaison", last.indicator.label, last.period);
        let svg = bar_chart(&BarChart {
            id: format!("graphique-{chart_no}"),
            title: title.clone(),
            unit: last.indicator.unit.to_owned(),
            decimals: if areas.iter().filter_map(|(_, v)| *v).all(|v| v.fract() == 0.0) { 0 } else { 1 },
            bars: areas
                .iter()
                .filter_map(|(n, v)| Some(Bar { label: n.clone()?, value: BarValue::from(*v) }))
                .collect(),
        });
        comparisons.push(DiagnosticChart { title, svg });
    }
    (charts, comparisons)
}
