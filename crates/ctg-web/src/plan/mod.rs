//! The action plan on pages: the tree (enjeu → ambition → objective → fiche → sub-action) with progress
//! bars, the table of fiches with filters and sorting, the timeline over the convention's years, the
//! lateness list, the fiche page and its forms, the indicator page with its chart, the import
//! (previewed before anything is written) and the export of the plan.

pub mod api;
pub mod io;
pub mod strategy;

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use ctg_domain::access::Action;
use ctg_domain::plan::{
    fiche_progress, past_end, rollup, Direction, FicheStatus, IndicatorKind, IndicatorValue, Lateness, Means,
    MeansKind, NewFiche, PlanIndicator, Priority, SubAction, Target, Tracking, COMPLETENESS_FIELDS,
};
use ctg_domain::{Channel, InseeCode};
use ctg_report::table::{Column, Table, Value};
use ctg_store::{FicheRecord, Plan, StoreError};
use serde::Deserialize;

use crate::auth::Auth;
use crate::export::{download, links, ExportQuery};
use crate::extract::{Ids, PageForm, Version};
use crate::views::{form_date, french_number, FormErrors, Nav};
use crate::{AppState, PageError, WebError};

/// The plan of a convention with everything computed from it on a day.
pub(crate) struct PlanView {
    pub convention: ctg_store::ConventionSummary,
    pub communes: Vec<(InseeCode, String)>,
    pub plan: Plan,
    pub today: NaiveDate,
    pub fiche_progress: HashMap<i64, Option<f64>>,
    pub ambition_progress: BTreeMap<i64, Option<f64>>,
    pub stake_progress: BTreeMap<i64, Option<f64>>,
    pub overall: Option<f64>,
    pub tracking: HashMap<i64, Tracking>,
}

impl PlanView {
    pub async fn load(state: &AppState, id: i64) -> Result<Self, WebError> {
        let convention = state.store.convention_summary(id).await?;
        let epci = state.store.epci(&convention.epci_siren).await?;
        let communes = epci.communes.iter().map(|c| (c.code.clone(), c.name.clone())).collect();
        let plan = state.store.plan(id).await?;
        Ok(Self::compute(convention, communes, plan, state.today()))
    }

    /// The plan as its tree needs it: no means, status history or indicators, no communes.
    pub async fn load_outline(state: &AppState, id: i64) -> Result<Self, WebError> {
        let convention = state.store.convention_summary(id).await?;
        let plan = state.store.plan_outline(id).await?;
        Ok(Self::compute(convention, Vec::new(), plan, state.today()))
    }

    pub fn compute(
        convention: ctg_store::ConventionSummary,
        communes: Vec<(InseeCode, String)>,
        plan: Plan,
        today: NaiveDate,
    ) -> Self {
        let fiche_progress: HashMap<i64, Option<f64>> = plan
            .fiches
            .iter()
            .map(|f| {
                let subs: Vec<SubAction> = f.subs.iter().map(|s| s.sub.clone()).collect();
                (f.id, fiche_progress(f.fiche.status, &subs))
            })
            .collect();
        let mut ambition_progress = BTreeMap::new();
        let mut stake_progress = BTreeMap::new();
        for (stake, _, ambitions) in &plan.stakes {
            let mut stake_fiches = std::collections::BTreeSet::new();
            for (number, _) in ambitions {
                let of: Vec<&FicheRecord> = plan.fiches.iter().filter(|f| f.fiche.ambitions.contains(number)).collect();
                stake_fiches.extend(of.iter().map(|f| f.id));
                ambition_progress.insert(*number, rollup(of.iter().map(|f| fiche_progress[&f.id])));
            }
            stake_progress.insert(*stake, rollup(stake_fiches.iter().map(|id| fiche_progress[id])));
        }
        let overall = rollup(plan.fiches.iter().map(|f| fiche_progress[&f.id]));
        let tracking = plan.indicators.iter().map(|i| (i.id, i.indicator.tracking(&i.values, today))).collect();
        Self { convention, communes, plan, today, fiche_progress, ambition_progress, stake_progress, overall, tracking }
    }

    pub fn commune_name(&self, code: &InseeCode) -> String {
        self.communes.iter().find(|(c, _)| c == code).map_or_else(|| code.to_string(), |(_, n)| n.clone())
    }

    pub fn ambition_title(&self, number: i64) -> String {
        self.plan
            .stakes
            .iter()
            .flat_map(|(_, _, a)| a.iter())
            .find(|(n, _)| *n == number)
            .map_or_else(|| format!("Ambition {number}"), |(n, t)| format!("Ambition {n} : {t}"))
    }

    pub fn indicators_of(&self, fiche: i64) -> impl Iterator<Item = &ctg_store::IndicatorRecord> {
        self.plan.indicators.iter().filter(move |i| i.fiche_id == Some(fiche))
    }

    /// The fields a fiche lacks and its completeness in percent.
    pub fn completeness(&self, f: &FicheRecord) -> (Vec<&'static str>, u32) {
        let missing = f.fiche.missing(self.indicators_of(f.id).next().is_some(), !f.means.is_empty());
        let pct = ((COMPLETENESS_FIELDS - missing.len()) * 100 / COMPLETENESS_FIELDS) as u32;
        (missing, pct)
    }

    /// Everything late on the day: fiches and sub-actions past their end, indicators missing a value
    /// or below their target.
    pub fn lateness(&self) -> Vec<(String, Lateness)> {
        let mut out = Vec::new();
        for f in &self.plan.fiches {
            let link = format!("/conventions/{}/plan/fiches/{}", self.convention.id, f.id);
            if let Some(end) = past_end(f.fiche.status, f.fiche.end, self.today) {
                out.push((
                    link.clone(),
                    Lateness::PastEnd { what: format!("Fiche {} : {}", f.fiche.code, f.fiche.title), end },
                ));
            }
            for s in &f.subs {
                if let Some(end) = past_end(s.sub.status, s.sub.end, self.today) {
                    out.push((
                        link.clone(),
                        Lateness::PastEnd {
                            what: format!("Sous-action de la fiche {} : {}", f.fiche.code, s.sub.title),
                            end,
                        },
                    ));
                }
            }
        }
        for i in &self.plan.indicators {
            let link = format!("/conventions/{}/plan/indicateurs/{}", self.convention.id, i.id);
            let what = format!("Indicateur : {}", i.indicator.name);
            match self.tracking[&i.id] {
                Tracking::MissingValue { year } => out.push((link, Lateness::MissingValue { what, year })),
                Tracking::Late { year } => out.push((link, Lateness::BelowTarget { what, year })),
                _ => {}
            }
        }
        out
    }
}

fn pct(p: Option<f64>) -> String {
    p.map_or_else(|| "—".to_owned(), |v| format!("{} %", french_number(v)))
}

/// A progress bar: its value (0–100) for the `<progress>` element and its text.
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    pub value: f64,
    pub text: String,
}

fn bar(p: Option<f64>) -> Bar {
    Bar { value: p.unwrap_or(0.0), text: pct(p) }
}

// ---------------------------------------------------------------------------------------------
// The tree

pub(crate) struct TreeFiche {
    id: i64,
    code: String,
    title: String,
    status: &'static str,
    status_code: &'static str,
    bar: Bar,
    subs: Vec<(String, &'static str, u8)>,
}

pub(crate) struct TreeObjective {
    code: String,
    title: String,
    fiches: Vec<TreeFiche>,
}

pub(crate) struct TreeAmbition {
    number: i64,
    title: String,
    bar: Bar,
    objectives: Vec<TreeObjective>,
    /// Fiches of the ambition attached to no objective of it.
    loose: Vec<TreeFiche>,
}

pub(crate) struct TreeStake {
    number: i64,
    title: String,
    bar: Bar,
    ambitions: Vec<TreeAmbition>,
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    nav: Nav,
    id: i64,
    title: String,
    can_edit: bool,
    overall: Bar,
    fiche_count: usize,
    stakes: Vec<TreeStake>,
    orphans: Vec<TreeFiche>,
}

fn tree_fiche(v: &PlanView, f: &FicheRecord) -> TreeFiche {
    // Sub-actions in order, second level indented.
    let mut subs = Vec::new();
    for s in f.subs.iter().filter(|s| s.sub.parent.is_none()) {
        subs.push((s.sub.title.clone(), s.sub.status.label(), 1));
        for c in f.subs.iter().filter(|c| c.sub.parent == Some(s.sub.id)) {
            subs.push((c.sub.title.clone(), c.sub.status.label(), 2));
        }
    }
    TreeFiche {
        id: f.id,
        code: f.fiche.code.clone(),
        title: f.fiche.title.clone(),
        status: f.fiche.status.label(),
        status_code: f.fiche.status.code(),
        bar: bar(v.fiche_progress[&f.id]),
        subs,
    }
}

pub async fn tree(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load_outline(&state, id).await?;
    let stakes = v
        .plan
        .stakes
        .iter()
        .map(|(number, title, ambitions)| TreeStake {
            number: *number,
            title: title.clone(),
            bar: bar(v.stake_progress.get(number).copied().flatten()),
            ambitions: ambitions
                .iter()
                .map(|(a, atitle)| {
                    let fiches: Vec<&FicheRecord> =
                        v.plan.fiches.iter().filter(|f| f.fiche.ambitions.contains(a)).collect();
                    let objectives: Vec<TreeObjective> = v
                        .plan
                        .objectives
                        .iter()
                        .filter(|o| o.objective.ambition == *a)
                        .map(|o| TreeObjective {
                            code: o.objective.code.clone(),
                            title: o.objective.title.clone(),
                            fiches: fiches
                                .iter()
                                .filter(|f| f.fiche.objectives.contains(&o.objective.code))
                                .map(|f| tree_fiche(&v, f))
                                .collect(),
                        })
                        .collect();
                    let own: Vec<&str> = objectives.iter().map(|o| o.code.as_str()).collect();
                    TreeAmbition {
                        number: *a,
                        title: atitle.clone(),
                        bar: bar(v.ambition_progress.get(a).copied().flatten()),
                        loose: fiches
                            .iter()
                            .filter(|f| !f.fiche.objectives.iter().any(|o| own.contains(&o.as_str())))
                            .map(|f| tree_fiche(&v, f))
                            .collect(),
                        objectives,
                    }
                })
                .collect(),
        })
        .collect();
    let page = PlanPage {
        nav: Nav::of(&auth),
        id,
        title: v.convention.title.clone(),
        can_edit: state.may(&auth, Action::EditPlan, Some(id)).await,
        overall: bar(v.overall),
        fiche_count: v.plan.fiches.len(),
        orphans: v.plan.fiches.iter().filter(|f| f.fiche.ambitions.is_empty()).map(|f| tree_fiche(&v, f)).collect(),
        stakes,
    };
    Ok(Html(page.render()?).into_response())
}

// ---------------------------------------------------------------------------------------------
// The table of fiches

#[derive(Debug, Default, Deserialize)]
pub struct FicheFilter {
    #[serde(default)]
    pub statut: String,
    #[serde(default)]
    pub pilote: String,
    #[serde(default)]
    pub ambition: String,
    #[serde(default)]
    pub commune: String,
    #[serde(default)]
    pub partenaire: String,
    #[serde(default)]
    pub tri: String,
    #[serde(flatten)]
    pub export: ExportQuery,
}

impl FicheFilter {
    pub(crate) fn keeps(&self, f: &NewFiche) -> bool {
        let eq = |a: &str, b: &str| ctg_domain::plan::loose(a) == ctg_domain::plan::loose(b);
        (self.statut.is_empty() || f.status.code() == self.statut)
            && (self.pilote.is_empty() || eq(&f.pilot_organisation, &self.pilote))
            && (self.ambition.is_empty() || f.ambitions.iter().any(|a| a.to_string() == self.ambition))
            && (self.commune.is_empty()
                || f.communes.is_empty()
                || f.communes.iter().any(|c| c.as_str() == self.commune))
            && (self.partenaire.is_empty() || f.partners.iter().any(|p| eq(p, &self.partenaire)))
    }
}

pub(crate) struct FicheLine {
    id: i64,
    code: String,
    title: String,
    pilot: String,
    status: &'static str,
    status_code: &'static str,
    end: String,
    bar: Bar,
    completeness: u32,
}

#[derive(Template)]
#[template(path = "fiches.html")]
struct FichesPage {
    nav: Nav,
    id: i64,
    title: String,
    can_edit: bool,
    filter: FicheFilter,
    statuses: Vec<(String, String)>,
    pilots: Vec<String>,
    partners: Vec<String>,
    ambitions: Vec<(String, String)>,
    communes: Vec<(String, String)>,
    lines: Vec<FicheLine>,
    sorts: Vec<(String, String)>,
    exports: Vec<(String, String)>,
}

fn sorted<'a>(v: &PlanView, mut list: Vec<&'a FicheRecord>, key: &str) -> Vec<&'a FicheRecord> {
    match key {
        "intitule" => list.sort_by_cached_key(|f| ctg_domain::format::collation_key(&f.fiche.title)),
        "statut" => list.sort_by_key(|f| f.fiche.status.label()),
        "fin" => list.sort_by_key(|f| (f.fiche.end.is_none(), f.fiche.end)),
        "avancement" => list.sort_by(|a, b| {
            let p = |f: &FicheRecord| v.fiche_progress[&f.id].unwrap_or(-1.0);
            p(b).total_cmp(&p(a))
        }),
        _ => list.sort_by(|a, b| ctg_domain::parse::natural_cmp(&a.fiche.code, &b.fiche.code)),
    }
    list
}

pub(crate) fn fiches_table(v: &PlanView, list: &[&FicheRecord]) -> Table {
    Table {
        title: "Fiches action".into(),
        columns: vec![
            Column::new("code", "Code"),
            Column::new("intitule", "Intitulé"),
            Column::new("statut", "Statut"),
            Column::new("avancement", "Avancement"),
            Column::new("pilote_organisation", "Pilote (organisation)"),
            Column::new("pilote_personne", "Pilote (personne)"),
            Column::new("ambitions", "Ambitions"),
            Column::new("debut", "Début"),
            Column::new("fin", "Fin"),
            Column::new("completude", "Complétude"),
        ],
        rows: list
            .iter()
            .map(|f| {
                let d = &f.fiche;
                vec![
                    Value::Text(d.code.clone()),
                    Value::Text(d.title.clone()),
                    Value::Text(d.status.label().into()),
                    v.fiche_progress[&f.id].map_or(Value::Empty, Value::Percent),
                    Value::Text(d.pilot_organisation.clone()),
                    Value::Text(d.pilot_person.clone()),
                    Value::Text(d.ambitions.iter().map(i64::to_string).collect::<Vec<_>>().join(";")),
                    d.start.map_or(Value::Empty, Value::Date),
                    d.end.map_or(Value::Empty, Value::Date),
                    Value::Percent(f64::from(v.completeness(f).1)),
                ]
            })
            .collect(),
    }
}

pub async fn fiches(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    Query(filter): Query<FicheFilter>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let list = sorted(&v, v.plan.fiches.iter().filter(|f| filter.keeps(&f.fiche)).collect(), &filter.tri);
    if let Some(format) = filter.export.format()? {
        return Ok(download(&fiches_table(&v, &list), format, &format!("fiches-{id}"))?);
    }
    let mut pilots: Vec<String> =
        v.plan.fiches.iter().map(|f| f.fiche.pilot_organisation.clone()).filter(|p| !p.is_empty()).collect();
    pilots.sort();
    pilots.dedup();
    let mut partners: Vec<String> = v.plan.fiches.iter().flat_map(|f| f.fiche.partners.iter().cloned()).collect();
    partners.sort();
    partners.dedup();
    let lines = list
        .iter()
        .map(|f| FicheLine {
            id: f.id,
            code: f.fiche.code.clone(),
            title: f.fiche.title.clone(),
            pilot: f.fiche.pilot_organisation.clone(),
            status: f.fiche.status.label(),
            status_code: f.fiche.status.code(),
            end: f.fiche.end.map(|d| d.format("%d/%m/%Y").to_string()).unwrap_or_default(),
            bar: bar(v.fiche_progress[&f.id]),
            completeness: v.completeness(f).1,
        })
        .collect();
    let query = [
        ("statut", filter.statut.clone()),
        ("pilote", filter.pilote.clone()),
        ("ambition", filter.ambition.clone()),
        ("commune", filter.commune.clone()),
        ("partenaire", filter.partenaire.clone()),
        ("tri", filter.tri.clone()),
    ];
    let page = FichesPage {
        nav: Nav::of(&auth),
        id,
        title: v.convention.title.clone(),
        can_edit: state.may(&auth, Action::EditPlan, Some(id)).await,
        statuses: FicheStatus::ALL.iter().map(|s| (s.code().to_owned(), s.label().to_owned())).collect(),
        pilots,
        partners,
        ambitions: v
            .plan
            .stakes
            .iter()
            .flat_map(|(_, _, a)| a.iter())
            .map(|(n, t)| (n.to_string(), format!("{n}. {t}")))
            .collect(),
        communes: v.communes.iter().map(|(c, n)| (c.to_string(), n.clone())).collect(),
        lines,
        sorts: [
            ("code", "Code"),
            ("intitule", "Intitulé"),
            ("statut", "Statut"),
            ("fin", "Échéance"),
            ("avancement", "Avancement"),
        ]
        .iter()
        .map(|(k, l)| ((*k).to_owned(), (*l).to_owned()))
        .collect(),
        exports: links(&format!("/conventions/{id}/plan/fiches"), &query, None),
        filter,
    };
    Ok(Html(page.render()?).into_response())
}

// ---------------------------------------------------------------------------------------------
// The timeline and the lateness list

#[derive(Template)]
#[template(path = "plan_timeline.html")]
struct TimelinePage {
    nav: Nav,
    id: i64,
    title: String,
    svg: String,
    rows: Vec<(i64, String, String, String, String, &'static str)>,
}

/// The fiches as bars over the years of the convention, drawn as SVG on the server.
fn timeline_svg(v: &PlanView) -> String {
    let start = v.convention.start;
    let end = v.convention.end;
    let days = (end - start).num_days().max(1) as f64;
    let (left, width, row_h) = (170.0, 620.0, 22.0);
    let fiches: Vec<&FicheRecord> = v.plan.fiches.iter().collect();
    let height = 40.0 + row_h * fiches.len() as f64;
    let x = |d: NaiveDate| left + width * ((d - start).num_days() as f64 / days).clamp(0.0, 1.0);
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {height}\" role=\"img\" aria-labelledby=\"calendrier-titre\">\
         <title id=\"calendrier-titre\">Calendrier des fiches action, {} à {}</title>",
        start.year(),
        end.year(),
        w = left + width + 10.0
    );
    let mut year = start.year();
    while year <= end.year() {
        if let Some(d) = NaiveDate::from_ymd_opt(year, 1, 1).filter(|d| *d >= start) {
            let xx = x(d);
            svg.push_str(&format!(
                "<line x1=\"{xx:.1}\" y1=\"18\" x2=\"{xx:.1}\" y2=\"{height}\" stroke=\"#bbb\"/><text x=\"{:.1}\" y=\"14\" font-size=\"11\">{year}</text>",
                xx + 2.0
            ));
        }
        year += 1;
    }
    let today = v.today;
    if today >= start && today <= end {
        let xx = x(today);
        svg.push_str(&format!("<line x1=\"{xx:.1}\" y1=\"18\" x2=\"{xx:.1}\" y2=\"{height}\" stroke=\"#c9191e\" stroke-dasharray=\"4 3\"/>"));
    }
    for (i, f) in fiches.iter().enumerate() {
        let y = 24.0 + row_h * i as f64;
        let label: String = format!("{} {}", f.fiche.code, f.fiche.title).chars().take(28).collect();
        svg.push_str(&format!("<text x=\"4\" y=\"{:.1}\" font-size=\"11\">{}</text>", y + 12.0, esc(&label)));
        let (Some(s), Some(e)) = (f.fiche.start, f.fiche.end) else {
            svg.push_str(&format!(
                "<text x=\"{left}\" y=\"{:.1}\" font-size=\"10\" fill=\"#666\">dates non renseignées</text>",
                y + 12.0
            ));
            continue;
        };
        let colour = match f.fiche.status {
            FicheStatus::Done => "#2e7d32",
            FicheStatus::Late => "#c9191e",
            FicheStatus::Abandoned => "#9e9e9e",
            FicheStatus::Paused => "#f9a825",
            FicheStatus::InProgress => "#1565c0",
            FicheStatus::Upcoming => "#90caf9",
        };
        let (x1, x2) = (x(s), x(e));
        svg.push_str(&format!(
            "<rect x=\"{x1:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"14\" fill=\"{colour}\"><title>{} : {} ({} → {})</title></rect>",
            (x2 - x1).max(2.0),
            esc(&f.fiche.code),
            f.fiche.status.label(),
            s.format("%d/%m/%Y"),
            e.format("%d/%m/%Y")
        ));
    }
    svg.push_str("</svg>");
    svg
}

pub async fn timeline(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let date = |d: Option<NaiveDate>| d.map(|d| d.format("%d/%m/%Y").to_string()).unwrap_or_else(|| "—".into());
    let page = TimelinePage {
        nav: Nav::of(&auth),
        id,
        title: v.convention.title.clone(),
        svg: timeline_svg(&v),
        rows: v
            .plan
            .fiches
            .iter()
            .map(|f| {
                (
                    f.id,
                    f.fiche.code.clone(),
                    f.fiche.title.clone(),
                    date(f.fiche.start),
                    date(f.fiche.end),
                    f.fiche.status.label(),
                )
            })
            .collect(),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "plan_late.html")]
struct LatePage {
    nav: Nav,
    id: i64,
    title: String,
    lines: Vec<(String, String, String)>,
    exports: Vec<(String, String)>,
}

pub(crate) fn lateness_text(l: &Lateness) -> (String, String) {
    match l {
        Lateness::PastEnd { what, end } => (what.clone(), format!("échéance dépassée le {}", end.format("%d/%m/%Y"))),
        Lateness::MissingValue { what, year } => (what.clone(), format!("aucune valeur pour {year}")),
        Lateness::BelowTarget { what, year } => (what.clone(), format!("cible {year} non atteinte")),
    }
}

pub async fn late(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let lines: Vec<(String, String, String)> = v
        .lateness()
        .iter()
        .map(|(link, l)| {
            let (what, why) = lateness_text(l);
            (link.clone(), what, why)
        })
        .collect();
    if let Some(format) = q.format()? {
        let table = Table {
            title: "Retards".into(),
            columns: vec![Column::new("objet", "Objet"), Column::new("retard", "Retard")],
            rows: lines.iter().map(|(_, w, r)| vec![Value::Text(w.clone()), Value::Text(r.clone())]).collect(),
        };
        return Ok(download(&table, format, &format!("retards-{id}"))?);
    }
    let page = LatePage {
        nav: Nav::of(&auth),
        id,
        title: v.convention.title,
        lines,
        exports: links(&format!("/conventions/{id}/plan/retards"), &[], None),
    };
    Ok(Html(page.render()?).into_response())
}

// ---------------------------------------------------------------------------------------------
// One fiche

fn fiche_in(v: &PlanView, fid: i64) -> Result<&FicheRecord, WebError> {
    v.plan
        .fiches
        .iter()
        .find(|f| f.id == fid)
        .ok_or_else(|| WebError::NotFound(format!("la fiche n° {fid} n'existe pas dans cette convention")))
}

/// Whether the person may report on a fiche (status, sub-actions, indicator values): the coordination,
/// or a contributor of the fiche's pilot organisation.
async fn may_report(state: &AppState, auth: &Auth, id: i64, f: &NewFiche) -> bool {
    let pilot = state.store.organisation_named(&f.pilot_organisation).await.ok();
    state.may(auth, Action::ReportFiche { pilot_organisation_id: pilot }, Some(id)).await
}

async fn authorize_report(state: &AppState, auth: &Auth, id: i64, f: &NewFiche) -> Result<(), WebError> {
    let pilot = state.store.organisation_named(&f.pilot_organisation).await.ok();
    state.authorize_write(auth, Action::ReportFiche { pilot_organisation_id: pilot }, Some(id)).await
}

pub(crate) struct SubLine {
    id: i64,
    version: i64,
    title: String,
    status: &'static str,
    status_code: &'static str,
    pilot: String,
    dates: String,
    level: u8,
}

pub(crate) struct IndicatorLine {
    id: i64,
    name: String,
    tracking: String,
    tracking_code: &'static str,
    last: String,
}

#[derive(Template)]
#[template(path = "fiche.html")]
struct FichePage {
    nav: Nav,
    id: i64,
    title: String,
    fiche_id: i64,
    code: String,
    name: String,
    can_edit: bool,
    can_report: bool,
    bar: Bar,
    completeness: u32,
    missing: String,
    fields: Vec<(&'static str, String)>,
    subs: Vec<SubLine>,
    first_level: Vec<(String, String)>,
    means: Vec<(String, String, String, String, String, String, String)>,
    means_text: String,
    indicators: Vec<IndicatorLine>,
    history: Vec<(String, String, String, String)>,
    statuses: Vec<(String, String)>,
    errors: FormErrors,
    /// `None` when the person may not see the documents.
    documents: Option<Vec<crate::documents::DocumentLine>>,
}

fn means_text(means: &[Means]) -> String {
    means
        .iter()
        .map(|m| {
            format!(
                "{} ; {} ; {} ; {} ; {} ; {} ; {}",
                m.organisation,
                m.year,
                french_number(m.fte_hundredths as f64 / 100.0),
                cents_text(m.planned_cents),
                m.spent_cents.map(cents_text).unwrap_or_default(),
                m.kind.code(),
                m.material
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn cents_text(c: i64) -> String {
    format!("{},{:02}", c / 100, c % 100)
}

async fn fiche_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    fid: i64,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let v = PlanView::load(state, id).await?;
    let f = fiche_in(&v, fid)?;
    let d = &f.fiche;
    let (missing, completeness) = v.completeness(f);
    let date = |x: Option<NaiveDate>| x.map(|d| d.format("%d/%m/%Y").to_string()).unwrap_or_else(|| "—".into());
    let mut subs = Vec::new();
    for s in f.subs.iter().filter(|s| s.sub.parent.is_none()) {
        for (level, x) in
            std::iter::once((1, s)).chain(f.subs.iter().filter(|c| c.sub.parent == Some(s.sub.id)).map(|c| (2, c)))
        {
            subs.push(SubLine {
                id: x.sub.id,
                version: x.version,
                title: x.sub.title.clone(),
                status: x.sub.status.label(),
                status_code: x.sub.status.code(),
                pilot: x.sub.pilot.clone(),
                dates: format!("{} → {}", date(x.sub.start), date(x.sub.end)),
                level,
            });
        }
    }
    let page = FichePage {
        nav: Nav::of(auth),
        id,
        title: v.convention.title.clone(),
        fiche_id: fid,
        code: d.code.clone(),
        name: d.title.clone(),
        can_edit: state.may(auth, Action::EditPlan, Some(id)).await,
        can_report: may_report(state, auth, id, d).await,
        bar: bar(v.fiche_progress[&fid]),
        completeness,
        missing: missing.join(", "),
        fields: vec![
            ("Statut", d.status.label().to_owned()),
            ("Description", if d.description.is_empty() { "—".into() } else { d.description.clone() }),
            ("Ambitions", d.ambitions.iter().map(|a| v.ambition_title(*a)).collect::<Vec<_>>().join(" ; ")),
            ("Objectifs", if d.objectives.is_empty() { "—".into() } else { d.objectives.join(", ") }),
            (
                "Pilote",
                format!(
                    "{}{}",
                    d.pilot_organisation,
                    if d.pilot_person.is_empty() { String::new() } else { format!(" ({})", d.pilot_person) }
                ),
            ),
            ("Partenaires", if d.partners.is_empty() { "—".into() } else { d.partners.join(", ") }),
            ("Public visé", if d.public.is_empty() { "—".into() } else { d.public.clone() }),
            (
                "Communes",
                if d.communes.is_empty() {
                    "tout le territoire".into()
                } else {
                    d.communes.iter().map(|c| v.commune_name(c)).collect::<Vec<_>>().join(", ")
                },
            ),
            ("Dates", format!("{} → {}", date(d.start), date(d.end))),
            ("Priorité", d.priority.map_or("—", Priority::label).to_owned()),
            ("Démarches transversales", if d.approaches.is_empty() { "—".into() } else { d.approaches.join(", ") }),
            ("Besoins du diagnostic", if d.needs.is_empty() { "—".into() } else { d.needs.clone() }),
        ],
        first_level: f
            .subs
            .iter()
            .filter(|s| s.sub.parent.is_none())
            .map(|s| (s.sub.id.to_string(), s.sub.title.clone()))
            .collect(),
        subs,
        means: f
            .means
            .iter()
            .map(|m| {
                (
                    m.organisation.clone(),
                    m.year.to_string(),
                    french_number(m.fte_hundredths as f64 / 100.0),
                    crate::offer::euros(m.planned_cents),
                    m.spent_cents.map(crate::offer::euros).unwrap_or_else(|| "—".into()),
                    m.kind.label().to_owned(),
                    m.material.clone(),
                )
            })
            .collect(),
        means_text: means_text(&f.means),
        indicators: v
            .indicators_of(fid)
            .map(|i| IndicatorLine {
                id: i.id,
                name: i.indicator.name.clone(),
                tracking: v.tracking[&i.id].label(),
                tracking_code: v.tracking[&i.id].code(),
                last: i.values.last().map(value_text).unwrap_or_else(|| "aucune valeur".into()),
            })
            .collect(),
        history: {
            // Who changed a status is personal data: shown to the people with a role in the convention.
            let names = state.sees_personal_data(auth, id).await;
            f.history
                .iter()
                .rev()
                .map(|h| {
                    (
                        ctg_domain::format::datetime_short(h.at),
                        format!("{} → {}", h.from.map_or("—", FicheStatus::label), h.to.label()),
                        h.reason.clone(),
                        if names { h.author.clone() } else { "—".to_owned() },
                    )
                })
                .collect()
        },
        statuses: FicheStatus::ALL.iter().map(|s| (s.code().to_owned(), s.label().to_owned())).collect(),
        errors,
        documents: if state.may(auth, Action::ViewDocuments, Some(id)).await {
            Some(
                state
                    .store
                    .documents(id, ctg_domain::documents::Owner::Fiche(fid))
                    .await?
                    .iter()
                    .map(crate::documents::DocumentLine::of)
                    .collect(),
            )
        } else {
            None
        },
    };
    Ok((status, Html(page.render()?)).into_response())
}

fn value_text(v: &IndicatorValue) -> String {
    let value = match (&v.number, &v.level) {
        (Some(n), _) => french_number(*n),
        (None, Some(l)) => l.clone(),
        _ => "—".into(),
    };
    format!("{value} ({})", v.period)
}

pub async fn fiche(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    fiche_page(&state, &auth, id, fid, FormErrors::new(), StatusCode::OK).await
}

// ---------------------------------------------------------------------------------------------
// Creating and editing a fiche

#[derive(Debug, Default, Deserialize)]
pub struct FicheFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub ambitions: String,
    #[serde(default)]
    pub objectives: String,
    #[serde(default)]
    pub pilot_organisation: String,
    #[serde(default)]
    pub pilot_person: String,
    #[serde(default)]
    pub partners: String,
    #[serde(default)]
    pub public: String,
    #[serde(default)]
    pub communes: String,
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub end: String,
    #[serde(default)]
    pub priority: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub approaches: String,
    #[serde(default)]
    pub needs: String,
    #[serde(default)]
    pub reason: String,
}

fn split_list(raw: &str) -> Vec<String> {
    raw.split([';', ',', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

impl FicheFields {
    fn of(v: &PlanView, f: &FicheRecord) -> Self {
        let d = &f.fiche;
        Self {
            version: f.version.to_string(),
            code: d.code.clone(),
            title: d.title.clone(),
            description: d.description.clone(),
            ambitions: d.ambitions.iter().map(i64::to_string).collect::<Vec<_>>().join(", "),
            objectives: d.objectives.join(", "),
            pilot_organisation: d.pilot_organisation.clone(),
            pilot_person: d.pilot_person.clone(),
            partners: d.partners.join(", "),
            public: d.public.clone(),
            communes: d.communes.iter().map(|c| v.commune_name(c)).collect::<Vec<_>>().join(", "),
            start: d.start.map(|d| d.to_string()).unwrap_or_default(),
            end: d.end.map(|d| d.to_string()).unwrap_or_default(),
            priority: d.priority.map(|p| p.code().to_owned()).unwrap_or_default(),
            status: d.status.code().to_owned(),
            approaches: d.approaches.join(", "),
            needs: d.needs.clone(),
            reason: String::new(),
        }
    }

    fn to_new(&self, v: &PlanView, errors: &mut FormErrors) -> Option<NewFiche> {
        if self.code.trim().is_empty() {
            errors.add("code", "le code est obligatoire (par exemple PE-1)");
        }
        if self.title.trim().is_empty() {
            errors.add("title", "l'intitulé est obligatoire");
        }
        let mut ambitions = Vec::new();
        for a in split_list(&self.ambitions) {
            match a.parse::<i64>() {
                Ok(n) if v.plan.stakes.iter().any(|(_, _, am)| am.iter().any(|(x, _)| *x == n)) => ambitions.push(n),
                _ => errors.add("ambitions", format!("ambition inconnue « {a} » (numéros de la convention attendus)")),
            }
        }
        let objectives = split_list(&self.objectives);
        for o in &objectives {
            if !v.plan.objectives.iter().any(|x| x.objective.code == *o) {
                errors.add("objectives", format!("objectif inconnu « {o} »"));
            }
        }
        let communes =
            ctg_domain::parse::CommuneIndex::new(v.communes.iter().map(|(code, name)| (code, name.as_str())))
                .read("communes", &self.communes)
                .map(ctg_domain::parse::CommuneList::into_codes)
                .unwrap_or_else(|e| {
                    errors.add(&e.field, e.message);
                    Vec::new()
                });
        let start = form_date(errors, "start", &self.start);
        let end = form_date(errors, "end", &self.end);
        let priority = match self.priority.trim() {
            "" => None,
            p => Priority::parse_loose(p).or_else(|| {
                errors.add("priority", format!("priorité inconnue « {p} »"));
                None
            }),
        };
        let status = FicheStatus::parse_loose(&self.status).or_else(|| {
            errors.add("status", format!("statut inconnu « {} »", self.status));
            None
        });
        if !errors.is_empty() {
            return None;
        }
        let new = NewFiche {
            code: self.code.clone(),
            title: self.title.clone(),
            description: self.description.trim().to_owned(),
            ambitions,
            objectives,
            pilot_organisation: self.pilot_organisation.trim().to_owned(),
            pilot_person: self.pilot_person.trim().to_owned(),
            partners: split_list(&self.partners),
            public: self.public.trim().to_owned(),
            communes,
            start,
            end,
            priority,
            status: status?,
            approaches: split_list(&self.approaches),
            needs: self.needs.trim().to_owned(),
        };
        match new.check() {
            Ok(ok) => Some(ok),
            Err(e) => {
                let m = e.to_string();
                errors.add(if m.contains("fin") { "end" } else { "" }, m);
                None
            }
        }
    }
}

#[derive(Template)]
#[template(path = "fiche_edit.html")]
struct FicheForm {
    nav: Nav,
    id: i64,
    fiche_id: Option<i64>,
    form: FicheFields,
    statuses: Vec<(String, String)>,
    priorities: Vec<(String, String)>,
    ambitions: String,
    objectives: String,
    errors: FormErrors,
    conflict: String,
    /// A pilot's contributor changes the status only.
    status_only: bool,
}

impl FicheForm {
    fn new(auth: &Auth, v: &PlanView, id: i64, fiche_id: Option<i64>, form: FicheFields) -> Self {
        Self {
            nav: Nav::of(auth),
            id,
            fiche_id,
            form,
            statuses: FicheStatus::ALL.iter().map(|s| (s.code().to_owned(), s.label().to_owned())).collect(),
            priorities: Priority::ALL.iter().map(|p| (p.code().to_owned(), p.label().to_owned())).collect(),
            ambitions: v
                .plan
                .stakes
                .iter()
                .flat_map(|(_, _, a)| a.iter())
                .map(|(n, t)| format!("{n} : {t}"))
                .collect::<Vec<_>>()
                .join(" ; "),
            objectives: v
                .plan
                .objectives
                .iter()
                .map(|o| format!("{} : {}", o.objective.code, o.objective.title))
                .collect::<Vec<_>>()
                .join(" ; "),
            errors: FormErrors::new(),
            conflict: String::new(),
            status_only: false,
        }
    }
}

pub async fn fiche_new(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize(&auth, Action::EditPlan, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let form = FicheFields { status: "a_venir".into(), ..FicheFields::default() };
    Ok(Html(FicheForm::new(&auth, &v, id, None, form).render()?).into_response())
}

pub async fn fiche_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<FicheFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditPlan, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let mut errors = FormErrors::new();
    let Some(new) = form.to_new(&v, &mut errors) else {
        let mut page = FicheForm::new(&auth, &v, id, None, form);
        page.errors = errors;
        return Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response());
    };
    match state.store.create_fiche(&auth.actor(Channel::Page), id, new).await {
        Ok(fid) => Ok(Redirect::to(&format!("/conventions/{id}/plan/fiches/{fid}")).into_response()),
        Err(StoreError::Invalid(m)) => {
            let mut page = FicheForm::new(&auth, &v, id, None, form);
            page.errors.add("", m);
            Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}

pub async fn fiche_edit(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let f = fiche_in(&v, fid)?;
    let pilot = state.store.organisation_named(&f.fiche.pilot_organisation).await.ok();
    state.authorize(&auth, Action::ReportFiche { pilot_organisation_id: pilot }, Some(id)).await?;
    let mut page = FicheForm::new(&auth, &v, id, Some(fid), FicheFields::of(&v, f));
    page.status_only = !state.may(&auth, Action::EditPlan, Some(id)).await;
    Ok(Html(page.render()?).into_response())
}

pub async fn fiche_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<FicheFields>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let current = fiche_in(&v, fid)?;
    authorize_report(&state, &auth, id, &current.fiche).await?;
    let version: i64 = Version::parse(&form.version)?;
    let mut errors = FormErrors::new();
    // The pilot's contributors report on the fiche (its status and why); the rest of it is the
    // coordination's to write.
    let status_only = !state.may(&auth, Action::EditPlan, Some(id)).await;
    let new = if status_only {
        match FicheStatus::parse_loose(&form.status) {
            Some(status) => {
                // The contributor's form offers the status only; any other field sent must be
                // what the fiche already says, or nothing is stored.
                let kept =
                    |sent: &str, now: &str| if sent.trim().is_empty() { now.to_owned() } else { sent.to_owned() };
                let f = &current.fiche;
                let proposed = NewFiche {
                    status,
                    code: kept(&form.code, &f.code),
                    title: kept(&form.title, &f.title),
                    description: kept(&form.description, &f.description),
                    pilot_organisation: kept(&form.pilot_organisation, &f.pilot_organisation),
                    pilot_person: kept(&form.pilot_person, &f.pilot_person),
                    ..f.clone()
                };
                let change = ctg_domain::plan::contributor_change(f, proposed)
                    .map_err(|changed| WebError::Forbidden(ctg_domain::plan::contributor_change_refusal(&changed)))?;
                Some(change)
            }
            None => {
                errors.add("status", format!("statut inconnu « {} »", form.status));
                None
            }
        }
    } else {
        form.to_new(&v, &mut errors)
    };
    if let Some(n) = &new {
        if n.status != current.fiche.status && form.reason.trim().is_empty() {
            errors
                .add("reason", "dites pourquoi le statut change : la raison est gardée dans l'historique de la fiche");
        }
    }
    let (Some(new), true) = (new, errors.is_empty()) else {
        let mut page = FicheForm::new(&auth, &v, id, Some(fid), form);
        page.status_only = status_only;
        page.errors = errors;
        return Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response());
    };
    match state.store.update_fiche(&auth.actor(Channel::Page), id, fid, version, new, form.reason.trim()).await {
        Ok(_) => Ok(Redirect::to(&format!("/conventions/{id}/plan/fiches/{fid}")).into_response()),
        Err(StoreError::Stale { what, last_change }) => {
            let fresh =
                state.store.plan(id).await?.fiches.into_iter().find(|f| f.id == fid).map_or(version, |f| f.version);
            let mut page = FicheForm::new(&auth, &v, id, Some(fid), FicheFields { version: fresh.to_string(), ..form });
            page.conflict = crate::error::stale_message(&what, last_change.as_deref());
            Ok((StatusCode::CONFLICT, Html(page.render()?)).into_response())
        }
        Err(StoreError::Invalid(m)) => {
            let mut page = FicheForm::new(&auth, &v, id, Some(fid), form);
            page.errors.add("", m);
            Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Sub-actions, means, indicators of a fiche

#[derive(Debug, Default, Deserialize)]
pub struct SubFields {
    #[serde(default)]
    pub parent: String,
    #[serde(default, rename = "sub_title")]
    pub title: String,
    #[serde(default, rename = "sub_status")]
    pub status: String,
    #[serde(default, rename = "sub_pilot")]
    pub pilot: String,
    #[serde(default, rename = "sub_start")]
    pub start: String,
    #[serde(default, rename = "sub_end")]
    pub end: String,
}

impl SubFields {
    /// The sub-action typed (its id is given by the store).
    fn read(&self, errors: &mut FormErrors) -> Option<SubAction> {
        if self.title.trim().is_empty() {
            errors.add("sub_title", "l'intitulé de la sous-action est obligatoire");
        }
        let parent = match self.parent.trim() {
            "" => None,
            p => match p.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.add("parent", "sous-action parente inconnue");
                    None
                }
            },
        };
        let status = FicheStatus::parse_loose(if self.status.is_empty() { "a_venir" } else { &self.status });
        if status.is_none() {
            errors.add("sub_status", format!("statut inconnu « {} »", self.status));
        }
        let start = form_date(errors, "sub_start", &self.start);
        let end = form_date(errors, "sub_end", &self.end);
        if let (Some(s), Some(e)) = (start, end) {
            if e < s {
                errors.add("sub_end", "la fin précède le début");
            }
        }
        if errors.is_empty() {
            Some(SubAction {
                id: 0,
                parent,
                title: self.title.trim().to_owned(),
                status: status?,
                pilot: self.pilot.trim().to_owned(),
                start,
                end,
            })
        } else {
            None
        }
    }
}

pub async fn sub_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<SubFields>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let f = fiche_in(&v, fid)?;
    authorize_report(&state, &auth, id, &f.fiche).await?;
    let mut errors = FormErrors::new();
    let Some(sub) = form.read(&mut errors) else {
        return fiche_page(&state, &auth, id, fid, errors, StatusCode::BAD_REQUEST).await;
    };

    match state.store.add_sub_action(&auth.actor(Channel::Page), id, fid, &sub).await {
        Ok(_) => Ok(Redirect::to(&format!("/conventions/{id}/plan/fiches/{fid}")).into_response()),
        Err(StoreError::Invalid(m)) => {
            let mut errors = FormErrors::new();
            errors.add("", m);
            fiche_page(&state, &auth, id, fid, errors, StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct SubStatusFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub status: String,
}

/// Changes the status of a sub-action (the fiche page's quick form).
pub async fn sub_status(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid, sid)): Ids<(i64, i64, i64)>,
    PageForm(form): PageForm<SubStatusFields>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let f = fiche_in(&v, fid)?;
    authorize_report(&state, &auth, id, &f.fiche).await?;
    let s = f
        .subs
        .iter()
        .find(|s| s.sub.id == sid)
        .ok_or_else(|| WebError::NotFound(format!("la sous-action n° {sid} n'est pas dans cette fiche")))?;
    let Some(status) = FicheStatus::parse_loose(&form.status) else {
        let mut errors = FormErrors::new();
        errors.add("", format!("statut inconnu « {} »", form.status));
        return fiche_page(&state, &auth, id, fid, errors, StatusCode::BAD_REQUEST).await;
    };
    let version: i64 = Version::parse(&form.version)?;
    let sub = SubAction { status, ..s.sub.clone() };
    match state.store.update_sub_action(&auth.actor(Channel::Page), id, version, &sub).await {
        Ok(_) => Ok(Redirect::to(&format!("/conventions/{id}/plan/fiches/{fid}")).into_response()),
        Err(StoreError::Stale { what, last_change }) => {
            let mut errors = FormErrors::new();
            errors.add("", crate::error::stale_message(&what, last_change.as_deref()));
            fiche_page(&state, &auth, id, fid, errors, StatusCode::CONFLICT).await
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct MeansFields {
    /// One line per signatory and year: organisation ; année ; ETP ; prévu ; dépensé ; nature ; matériel.
    #[serde(default)]
    pub means: String,
}

/// Reads the means typed one per line; errors name the line.
pub(crate) fn parse_means(raw: &str, errors: &mut FormErrors) -> Vec<Means> {
    let mut out = Vec::new();
    for (i, line) in raw.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let n = i + 1;
        let cells: Vec<&str> = line.split(';').map(str::trim).collect();
        let cell = |k: usize| cells.get(k).copied().unwrap_or("");
        let mut bad = |m: String| errors.add("means", format!("ligne {n} : {m}"));
        let year = match ctg_domain::parse::plan_year("means", cell(1)) {
            Ok(year) => year,
            Err(e) => {
                bad(e.message);
                continue;
            }
        };
        let fte = match cell(2).replace(',', ".").parse::<f64>() {
            Ok(f) if f >= 0.0 => (f * 100.0).round() as i64,
            _ if cell(2).is_empty() => 0,
            _ => {
                bad(format!("ETP invalide « {} »", cell(2)));
                continue;
            }
        };
        let money = |raw: &str| if raw.is_empty() { Ok(None) } else { ctg_domain::offer::parse_euros(raw).map(Some) };
        let (Ok(planned), Ok(spent)) = (money(cell(3)), money(cell(4))) else {
            bad("montant invalide : un nombre d'euros est attendu, par exemple 1 234,56".into());
            continue;
        };
        let kind = match ctg_domain::plan::loose(cell(5)).as_str() {
            "" | "fonctionnement" => MeansKind::Operating,
            "investissement" => MeansKind::Investment,
            other => {
                bad(format!("nature inconnue « {other} » (fonctionnement ou investissement)"));
                continue;
            }
        };
        let m = Means {
            organisation: cell(0).to_owned(),
            year,
            fte_hundredths: fte,
            planned_cents: planned.unwrap_or(0),
            spent_cents: spent,
            kind,
            material: cell(6).to_owned(),
        };
        match m.check() {
            Ok(()) => out.push(m),
            Err(e) => bad(e),
        }
    }
    out
}

pub async fn means_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<MeansFields>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let f = fiche_in(&v, fid)?;
    authorize_report(&state, &auth, id, &f.fiche).await?;
    let mut errors = FormErrors::new();
    let means = parse_means(&form.means, &mut errors);
    if !errors.is_empty() {
        return fiche_page(&state, &auth, id, fid, errors, StatusCode::BAD_REQUEST).await;
    }
    state.store.set_means(&auth.actor(Channel::Page), id, fid, &means).await?;
    Ok(Redirect::to(&format!("/conventions/{id}/plan/fiches/{fid}")).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct IndicatorFields {
    #[serde(default)]
    pub name: String,
    /// quantitatif or qualitatif.
    #[serde(default)]
    pub nature: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub baseline: String,
    #[serde(default)]
    pub baseline_year: String,
    #[serde(default)]
    pub direction: String,
    /// Levels separated by `;`, from the worst to the best.
    #[serde(default)]
    pub scale: String,
    /// Targets, `année : valeur` separated by `;`.
    #[serde(default)]
    pub targets: String,
}

pub(crate) fn parse_indicator(f: &IndicatorFields, errors: &mut FormErrors) -> Option<PlanIndicator> {
    let number = |raw: &str| raw.trim().replace(',', ".").replace([' ', '\u{a0}', '\u{202f}'], "").parse::<f64>();
    let qualitative = ctg_domain::plan::loose(&f.nature).starts_with("quali");
    let kind = if qualitative {
        IndicatorKind::Qualitative { scale: split_semicolons(&f.scale) }
    } else {
        let baseline = match f.baseline.trim() {
            "" => None,
            b => number(b).map_err(|_| errors.add("baseline", format!("valeur de référence invalide « {b} »"))).ok(),
        };
        let baseline_year = match f.baseline_year.trim() {
            "" => None,
            y => ctg_domain::parse::plan_year("baseline_year", y).map_err(|e| errors.add(&e.field, e.message)).ok(),
        };
        let direction = if ctg_domain::plan::loose(&f.direction).starts_with("baiss") {
            Direction::Decrease
        } else {
            Direction::Increase
        };
        IndicatorKind::Quantitative { unit: f.unit.trim().to_owned(), baseline, baseline_year, direction }
    };
    let mut targets = BTreeMap::new();
    for t in split_semicolons(&f.targets) {
        let Some((y, val)) = t.split_once(':') else {
            errors.add("targets", format!("cible « {t} » : « année : valeur » attendu"));
            continue;
        };
        let y = match ctg_domain::parse::plan_year("targets", y) {
            Ok(y) => y,
            Err(e) => {
                errors.add(&e.field, format!("cible « {t} » : {}", e.message));
                continue;
            }
        };
        let target = if qualitative {
            Target::Level(val.trim().to_owned())
        } else {
            match number(val) {
                Ok(n) => Target::Number(n),
                Err(_) => {
                    errors.add("targets", format!("valeur invalide dans « {t} »"));
                    continue;
                }
            }
        };
        targets.insert(y, target);
    }
    let indicator = PlanIndicator { name: f.name.trim().to_owned(), kind, targets };
    if let Err(m) = indicator.check() {
        errors.add("name", m);
    }
    errors.is_empty().then_some(indicator)
}

fn split_semicolons(raw: &str) -> Vec<String> {
    raw.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

pub async fn indicator_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<IndicatorFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditPlan, Some(id)).await?;
    let mut errors = FormErrors::new();
    let Some(indicator) = parse_indicator(&form, &mut errors) else {
        return fiche_page(&state, &auth, id, fid, errors, StatusCode::BAD_REQUEST).await;
    };
    let iid = state.store.create_indicator(&auth.actor(Channel::Page), id, Some(fid), &indicator).await?;
    Ok(Redirect::to(&format!("/conventions/{id}/plan/indicateurs/{iid}")).into_response())
}

// ---------------------------------------------------------------------------------------------
// An indicator

#[derive(Template)]
#[template(path = "indicator.html")]
struct IndicatorPage {
    nav: Nav,
    id: i64,
    title: String,
    indicator_id: i64,
    name: String,
    fiche: Option<(i64, String)>,
    tracking: String,
    tracking_code: &'static str,
    definition: Vec<(&'static str, String)>,
    chart: String,
    rows: Vec<(String, String, String, String, String, String, String)>,
    can_report: bool,
    qualitative: bool,
    scale: Vec<String>,
    errors: FormErrors,
    today: String,
}

async fn indicator_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    iid: i64,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let v = PlanView::load(state, id).await?;
    let i = v
        .plan
        .indicators
        .iter()
        .find(|i| i.id == iid)
        .ok_or_else(|| WebError::NotFound(format!("l'indicateur n° {iid} n'existe pas dans cette convention")))?;
    let fiche = i.fiche_id.and_then(|f| v.plan.fiches.iter().find(|x| x.id == f));
    let can_report = match fiche {
        Some(f) => may_report(state, auth, id, &f.fiche).await,
        None => state.may(auth, Action::EditPlan, Some(id)).await,
    };
    let (qualitative, scale, unit) = match &i.indicator.kind {
        IndicatorKind::Qualitative { scale } => (true, scale.clone(), String::new()),
        IndicatorKind::Quantitative { unit, .. } => (false, Vec::new(), unit.clone()),
    };
    let mut definition = vec![("Nature", if qualitative { "qualitatif".to_owned() } else { "quantitatif".to_owned() })];
    match &i.indicator.kind {
        IndicatorKind::Quantitative { unit, baseline, baseline_year, direction } => {
            definition.push(("Unité", if unit.is_empty() { "—".into() } else { unit.clone() }));
            definition.push((
                "Valeur de référence",
                match (baseline, baseline_year) {
                    (Some(b), Some(y)) => format!("{} ({y})", french_number(*b)),
                    (Some(b), None) => french_number(*b),
                    _ => "—".into(),
                },
            ));
            definition.push((
                "Sens",
                if *direction == Direction::Increase { "à la hausse".into() } else { "à la baisse".into() },
            ));
        }
        IndicatorKind::Qualitative { scale } => definition.push(("Échelle", scale.join(" < "))),
    }
    let target_text = |t: &Target| match t {
        Target::Number(n) => french_number(*n),
        Target::Level(l) => l.clone(),
    };
    definition.push((
        "Cibles",
        if i.indicator.targets.is_empty() {
            "aucune".into()
        } else {
            i.indicator.targets.iter().map(|(y, t)| format!("{y} : {}", target_text(t))).collect::<Vec<_>>().join(" ; ")
        },
    ));
    // The chart: values against targets, year by year.
    let chart = if qualitative {
        String::new()
    } else {
        indicator_chart(iid, &i.indicator.name, &unit, &i.indicator.targets, &i.values)
    };
    let page = IndicatorPage {
        nav: Nav::of(auth),
        id,
        title: v.convention.title.clone(),
        indicator_id: iid,
        name: i.indicator.name.clone(),
        fiche: fiche.map(|f| (f.id, format!("{} : {}", f.fiche.code, f.fiche.title))),
        tracking: v.tracking[&iid].label(),
        tracking_code: v.tracking[&iid].code(),
        definition,
        chart,
        rows: i
            .values
            .iter()
            .map(|x| {
                let target =
                    x.year().and_then(|y| i.indicator.target_for(y)).map(target_text).unwrap_or_else(|| "—".into());
                (
                    x.period.clone(),
                    match (&x.number, &x.level) {
                        (Some(n), _) => french_number(*n),
                        (None, Some(l)) => l.clone(),
                        _ => "—".into(),
                    },
                    target,
                    x.author.clone(),
                    x.date.format("%d/%m/%Y").to_string(),
                    x.source.clone(),
                    x.comment.clone(),
                )
            })
            .collect(),
        can_report,
        qualitative,
        scale,
        errors,
        today: v.today.to_string(),
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// Bars for the values of each year and a mark for each target, as SVG.
fn indicator_chart(
    iid: i64,
    name: &str,
    unit: &str,
    targets: &BTreeMap<i32, Target>,
    values: &[IndicatorValue],
) -> String {
    let mut by_year: BTreeMap<i32, f64> = BTreeMap::new();
    for v in values {
        if let (Some(y), Some(n)) = (v.year(), v.number) {
            by_year.insert(y, n);
        }
    }
    let mut years: Vec<i32> = by_year.keys().chain(targets.keys()).copied().collect();
    years.sort_unstable();
    years.dedup();
    if years.is_empty() {
        return String::new();
    }
    let target_of = |y: i32| match targets.range(..=y).next_back() {
        Some((_, Target::Number(n))) => Some(*n),
        _ => None,
    };
    let max =
        years.iter().flat_map(|y| [by_year.get(y).copied(), target_of(*y)]).flatten().fold(0.0_f64, f64::max).max(1.0);
    let (w, h, left, bottom, top) = (560.0, 240.0, 50.0, 200.0, 30.0);
    let slot = (w - left - 10.0) / years.len() as f64;
    let y_of = |v: f64| bottom - (bottom - top) * v / max;
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-labelledby=\"indicateur-{iid}-titre\">\
         <title id=\"indicateur-{iid}-titre\">{} : valeurs (barres) et cibles (traits){}</title>\
         <line x1=\"{left}\" y1=\"{bottom}\" x2=\"{}\" y2=\"{bottom}\" stroke=\"#333\"/>",
        esc(name),
        if unit.is_empty() { String::new() } else { format!(", en {}", esc(unit)) },
        w - 10.0
    );
    svg.push_str(&format!("<text x=\"4\" y=\"{top}\" font-size=\"11\">{}</text>", esc(&french_number(max))));
    for (k, y) in years.iter().enumerate() {
        let x = left + slot * k as f64;
        if let Some(v) = by_year.get(y) {
            svg.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#1565c0\"><title>{y} : {}</title></rect>",
                x + slot * 0.2,
                y_of(*v),
                slot * 0.6,
                bottom - y_of(*v),
                esc(&french_number(*v))
            ));
        }
        if let Some(t) = target_of(*y) {
            svg.push_str(&format!(
                "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#c9191e\" stroke-width=\"3\"><title>cible {y} : {}</title></line>",
                x + slot * 0.1,
                y_of(t),
                x + slot * 0.9,
                y_of(t),
                esc(&french_number(t))
            ));
        }
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{y}</text>",
            x + slot / 2.0,
            bottom + 16.0
        ));
    }
    svg.push_str("</svg>");
    svg
}

pub async fn indicator(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, iid)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    indicator_page(&state, &auth, id, iid, FormErrors::new(), StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
pub struct ValueFields {
    #[serde(default)]
    pub period: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub comment: String,
}

pub async fn value_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, iid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<ValueFields>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let plan = state.store.plan(id).await?;
    let i = plan
        .indicators
        .iter()
        .find(|i| i.id == iid)
        .ok_or_else(|| WebError::NotFound(format!("l'indicateur n° {iid} n'existe pas dans cette convention")))?;
    match i.fiche_id.and_then(|f| plan.fiches.iter().find(|x| x.id == f)) {
        Some(f) => authorize_report(&state, &auth, id, &f.fiche).await?,
        None => state.authorize_write(&auth, Action::EditPlan, Some(id)).await?,
    }
    let mut errors = FormErrors::new();
    let (number, level) = match &i.indicator.kind {
        IndicatorKind::Qualitative { .. } => (None, Some(form.value.trim().to_owned())),
        IndicatorKind::Quantitative { .. } => {
            match form.value.trim().replace(',', ".").replace([' ', '\u{a0}', '\u{202f}'], "").parse::<f64>() {
                Ok(n) if n.is_finite() => (Some(n), None),
                _ => {
                    errors.add("value", format!("valeur invalide « {} » : un nombre est attendu", form.value.trim()));
                    (None, None)
                }
            }
        }
    };
    let date = form_date(&mut errors, "date", &form.date).unwrap_or_else(|| state.today());
    if !errors.is_empty() {
        return indicator_page(&state, &auth, id, iid, errors, StatusCode::BAD_REQUEST).await;
    }
    let author = auth.user.as_ref().map(|u| u.name.clone()).unwrap_or_default();
    let value = IndicatorValue {
        period: form.period.trim().to_owned(),
        number,
        level,
        author,
        date,
        source: form.source.trim().to_owned(),
        comment: form.comment.trim().to_owned(),
    };
    match state.store.add_indicator_value(&auth.actor(Channel::Page), id, iid, &value).await {
        Ok(_) => Ok(Redirect::to(&format!("/conventions/{id}/plan/indicateurs/{iid}")).into_response()),
        Err(StoreError::Invalid(m)) => {
            let mut errors = FormErrors::new();
            errors.add("", m);
            indicator_page(&state, &auth, id, iid, errors, StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}
