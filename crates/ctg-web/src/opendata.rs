//! Pages built on the open data of the CNAF and the INSEE (issue 15): « Préremplir le diagnostic » of a
//! convention.

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use ctg_domain::access::{Action, Channel};
use serde::Deserialize;

use crate::auth::Auth;
use crate::extract::{Ids, PageForm};
use crate::views::Nav;
use crate::{AppState, PageError};

/// The form of the action: only its CSRF token, checked by the guard.
#[derive(Debug, Default, Deserialize)]
pub struct EmptyForm {}

#[derive(Template)]
#[template(path = "diagnostic_prefill.html")]
struct PrefillPage {
    nav: Nav,
    convention_id: i64,
    convention_title: String,
    report: ctg_store::PrefillReport,
    written: String,
}

/// Builds the diagnostic of the convention's EPCI from the open data held, then shows what was filled,
/// what was kept and what is missing, and why.
pub async fn prefill(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(_form): PageForm<EmptyForm>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditConvention, Some(id)).await?;
    let convention = state.store.convention_summary(id).await?;
    let report = state.store.prefill_diagnostic(&auth.actor(Channel::Page), id).await?;
    let page = PrefillPage {
        nav: Nav::of(&auth),
        convention_id: id,
        convention_title: convention.title,
        written: ctg_domain::format::integer(report.written as i64),
        report,
    };
    Ok(Html(page.render()?).into_response())
}

/// The query of the comparison page: optional criteria and the export format.
#[derive(Debug, Default, Deserialize)]
pub struct CompareQuery {
    #[serde(default)]
    pub departement: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub nombre: Option<String>,
    #[serde(flatten)]
    pub export: crate::export::ExportQuery,
}

struct PeerLine {
    name: String,
    siren: String,
    is_self: bool,
    distance: String,
    cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "comparison.html")]
struct ComparisonPage {
    nav: Nav,
    convention_id: i64,
    convention_title: String,
    epci_name: String,
    kind: String,
    criteria: &'static str,
    same_departement: bool,
    same_region: bool,
    count: usize,
    headers: Vec<String>,
    lines: Vec<PeerLine>,
    medians: Vec<String>,
    chart: String,
    exports: Vec<(String, String)>,
}

/// The EPCIs most like the convention's, with the key indicators side by side, each member's rank and
/// the median of the group.
pub async fn comparison(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    crate::api_query::PageQuery(q): crate::api_query::PageQuery<CompareQuery>,
) -> Result<Response, PageError> {
    use ctg_domain::opendata::{peers, ranks, PeerCriteria, Territory, CRITERIA_TEXT, KEY_INDICATORS};
    use ctg_report::chart::{bar_chart, Bar, BarChart, BarValue};
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let convention = state.store.convention_summary(id).await?;
    let on = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty() && s != "0");
    let count = match q.nombre.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => 10,
        Some(n) => n.parse::<usize>().ok().filter(|n| (1..=50).contains(n)).ok_or_else(|| {
            crate::WebError::BadRequest(format!("nombre de territoires comparés invalide « {n} » (de 1 à 50)"))
        })?,
    };
    let criteria = PeerCriteria { count, same_departement: on(&q.departement), same_region: on(&q.region) };
    let all = state.store.comparison_territories().await?;
    let target = all.iter().find(|t| t.siren == convention.epci_siren.as_str()).cloned().ok_or_else(|| {
        crate::WebError::NotFound(format!("l'intercommunalité {} n'est pas chargée", convention.epci_siren))
    })?;
    let group = peers(&target, &all, &criteria);
    let members: Vec<&Territory> = group.iter().map(|(t, _)| *t).collect();
    let ranked = ranks(&members);
    let show = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), crate::views::french_number);
    if let Some(format) = q.export.format()? {
        use ctg_report::table::{Column, Table, Value};
        let mut columns = vec![Column::new("siren", "SIREN"), Column::new("epci", "Intercommunalité")];
        for (code, label, _) in KEY_INDICATORS {
            columns.push(Column::new(code, label));
            columns.push(Column::new(format!("rang_{code}"), format!("Rang : {label}")));
        }
        let num = |v: Option<f64>| v.map_or(Value::Empty, |v| Value::Decimal { value: v, decimals: 2 });
        let mut rows: Vec<Vec<Value>> = members
            .iter()
            .enumerate()
            .map(|(m, t)| {
                let mut row = vec![Value::Text(t.siren.clone()), Value::Text(t.name.clone())];
                for (i, v) in t.values.iter().enumerate() {
                    row.push(num(*v));
                    row.push(ranked[i].0[m].map_or(Value::Empty, |r| Value::Integer(r as i64)));
                }
                row
            })
            .collect();
        let mut median = vec![Value::Empty, Value::Text("Médiane du groupe".into())];
        for (_, m) in &ranked {
            median.push(num(*m));
            median.push(Value::Empty);
        }
        rows.push(median);
        let table = Table { title: "Comparaison".into(), columns, rows };
        let source = crate::export::source(&state, id, &["CNAF, open data", "Insee, recensement"]).await?;
        return Ok(crate::export::download(&table, format, &format!("comparaison-{}", target.siren), &source)?);
    }
    let lines = group
        .iter()
        .enumerate()
        .map(|(m, (t, d))| PeerLine {
            name: t.name.clone(),
            siren: t.siren.clone(),
            is_self: m == 0,
            distance: if m == 0 { "—".into() } else { crate::views::french_number((d * 100.0).round() / 100.0) },
            cells: t
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| match ranked[i].0[m] {
                    Some(r) => format!("{} ({r}ᵉ)", show(*v)).replace("(1ᵉ)", "(1ᵉʳ)"),
                    None => show(*v),
                })
                .collect(),
        })
        .collect();
    let chart = bar_chart(&BarChart {
        id: "comparaison-couverture".into(),
        title: format!("Taux de couverture global — {} et les intercommunalités proches", target.name),
        unit: "%".into(),
        decimals: 1,
        bars: members.iter().map(|t| Bar { label: t.name.clone(), value: BarValue::from(t.values[3]) }).collect(),
    });
    let export_query = [
        ("departement", if criteria.same_departement { "1".to_owned() } else { String::new() }),
        ("region", if criteria.same_region { "1".to_owned() } else { String::new() }),
        ("nombre", count.to_string()),
    ];
    let page = ComparisonPage {
        nav: Nav::of(&auth),
        convention_id: id,
        convention_title: convention.title,
        epci_name: target.name.clone(),
        kind: target.kind.clone(),
        criteria: CRITERIA_TEXT,
        same_departement: criteria.same_departement,
        same_region: criteria.same_region,
        count,
        headers: KEY_INDICATORS.iter().map(|(_, l, _)| (*l).to_owned()).collect(),
        lines,
        medians: ranked.iter().map(|(_, m)| show(*m)).collect(),
        chart,
        exports: crate::export::links(&format!("/conventions/{id}/comparaison"), &export_query, None),
    };
    Ok(Html(page.render()?).into_response())
}
