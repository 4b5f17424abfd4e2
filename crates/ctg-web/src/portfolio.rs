//! « Portefeuille » (issue 16, point 1): every convention a person may see, one line each, as a CAF
//! adviser follows the CTGs of a département: status, period, next deadline, plan progress, late
//! fiches, indicators waiting for a value, next meeting, open decisions due, pending signatures and
//! avenants. Filtered by organisation (a party), département, status and deadline; sorted; exported;
//! the same lines in the API.
//!
//! The figures come from [`Facts`], the one reading of a convention that the dashboard also uses, so
//! that the two never disagree on what is late.

use std::cmp::Ordering;

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use chrono::{Duration, NaiveDate};
use ctg_domain::format::date_short;
use ctg_domain::plan::{FicheStatus, Lateness};
use ctg_report::table::{Column, Source, Table, Value};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api_query::{ApiQuery, PageQuery};
use crate::auth::Auth;
use crate::export::{download, links, ExportQuery};
use crate::plan::PlanView;
use crate::views::Nav;
use crate::{ApiError, AppState, PageError, WebError};

/// Decisions due within this many days count as « due soon » (the dashboard's rule too).
pub const SOON_DAYS: i64 = 30;

/// The one rule of « due soon » for the dashboard, the portfolio and the reminders: an open decision
/// overdue, or due within [`SOON_DAYS`] days of `today`.
pub(crate) fn is_due_soon(d: &ctg_store::OpenDecision, today: NaiveDate) -> bool {
    d.overdue || d.decision.data.due.is_some_and(|due| due <= today + Duration::days(SOON_DAYS))
}

/// What the dashboard and the portfolio read of one convention on one day.
pub(crate) struct Facts {
    pub v: std::sync::Arc<PlanView>,
    pub bodies: Vec<ctg_store::BodyRecord>,
    /// The meetings from today on, the soonest first.
    pub upcoming: Vec<ctg_domain::governance::Meeting>,
    pub decisions: Vec<ctg_store::OpenDecision>,
    pub life: ctg_store::ConventionLife,
}

impl Facts {
    pub async fn load(state: &AppState, id: i64, today: NaiveDate) -> Result<Self, WebError> {
        let v = PlanView::load(state, id).await?;
        let bodies = state.store.bodies(id).await?;
        let mut upcoming: Vec<_> =
            state.store.meetings(id).await?.into_iter().filter(|m| m.data.date >= today).collect();
        upcoming.sort_by_key(|m| (m.data.date, m.data.start));
        let decisions = state.store.open_decisions(id, today).await?;
        let life = state.store.life(id, today).await?;
        Ok(Self { v, bodies, upcoming, decisions, life })
    }

    pub fn body_name(&self, id: i64) -> String {
        self.bodies.iter().find(|b| b.id == id).map(|b| b.body.name.clone()).unwrap_or_default()
    }

    /// Open decisions overdue or due within [`SOON_DAYS`] days.
    pub fn decisions_due(&self, today: NaiveDate) -> impl Iterator<Item = &ctg_store::OpenDecision> {
        self.decisions.iter().filter(move |d| is_due_soon(d, today))
    }

    /// The next date that matters from today on, and what it is: the end of a fiche or sub-action
    /// not finished, the due date of an open decision, or the next milestone of the convention's life
    /// (an agreement's end, the convention's end…).
    pub fn next_deadline(&self, today: NaiveDate) -> Option<(NaiveDate, String)> {
        let open = |s: FicheStatus| !matches!(s, FicheStatus::Done | FicheStatus::Abandoned);
        let stop = self.v.plan.stop;
        let counts = |s: FicheStatus, end: Option<NaiveDate>| {
            open(s) && end.is_some_and(|e| e >= today) && !stop.is_some_and(|st| st.stops_fiche(s, end))
        };
        let mut candidates: Vec<(NaiveDate, String)> = Vec::new();
        for f in &self.v.plan.fiches {
            if counts(f.fiche.status, f.fiche.end) {
                candidates.push((f.fiche.end.unwrap_or(today), format!("fin de la fiche {}", f.fiche.code)));
            }
            for s in &f.subs {
                if counts(s.sub.status, s.sub.end) {
                    candidates.push((
                        s.sub.end.unwrap_or(today),
                        format!("fin d'une sous-action de la fiche {}", f.fiche.code),
                    ));
                }
            }
        }
        for d in &self.decisions {
            if let Some(due) = d.decision.data.due.filter(|due| *due >= today) {
                candidates.push((due, format!("échéance d'une décision ({})", d.body_name)));
            }
        }
        if let Some((date, what)) = &self.life.next_milestone {
            if *date >= today {
                candidates.push((*date, what.clone()));
            }
        }
        candidates.into_iter().min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)))
    }
}

/// One line of the portfolio.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PortfolioLine {
    pub id: i64,
    pub titre: String,
    pub epci: String,
    /// Les départements des communes de l'EPCI (un EPCI peut en couvrir plusieurs).
    pub departements: Vec<String>,
    /// Le statut au jour de la requête (la règle unique : signatures, avenants, résiliation).
    pub statut: String,
    pub statut_libelle: String,
    pub debut: NaiveDate,
    pub fin: NaiveDate,
    /// La prochaine échéance à partir d'aujourd'hui ; absente quand rien n'est daté.
    pub prochaine_echeance: Option<NaiveDate>,
    pub prochaine_echeance_objet: Option<String>,
    /// Avancement du plan en pour cent ; absent quand aucune fiche ne permet de le calculer (inconnu, pas 0).
    pub avancement_pourcent: Option<f64>,
    pub fiches: usize,
    /// Fiches dont la fin ou celle d'une sous-action est passée sans être réalisée.
    pub fiches_en_retard: usize,
    /// Indicateurs sans valeur pour une année écoulée.
    pub indicateurs_sans_valeur: usize,
    pub prochaine_seance: Option<NaiveDate>,
    pub prochaine_seance_instance: Option<String>,
    /// Décisions ouvertes en retard ou à échéance dans les 30 jours.
    pub decisions_a_echeance: usize,
    pub signatures_en_attente: usize,
    pub avenants_en_attente: usize,
    /// Le rôle de la personne dans la convention ; absent quand elle la voit parce qu'elle est publiée.
    pub role: Option<String>,
}

/// The line of a convention: from the cache when nothing was written to the convention since it was
/// computed (every audited write raises a revision in its transaction: [`ctg_store::WriteStamp`]) on
/// the same day, else computed. Its role and départements are set per request.
async fn line_of(
    state: &AppState,
    c: &ctg_store::ConventionSummary,
    stamp: ctg_store::WriteStamp,
    today: NaiveDate,
) -> Result<PortfolioLine, WebError> {
    // One request at a time computes a missing line; the others then find it in the cache.
    state
        .portfolio_cache
        .get_or_load(c.id, (today, stamp), || async { Ok(line(c, &Facts::load(state, c.id, today).await?, today)) })
        .await
}

fn line(c: &ctg_store::ConventionSummary, f: &Facts, today: NaiveDate) -> PortfolioLine {
    let late_items = f.v.late_items();
    let mut late_fiches: Vec<i64> = late_items
        .iter()
        .filter(|i| matches!(i.lateness, Lateness::PastEnd { .. }))
        .filter_map(|i| i.fiche.map(|f| f.id))
        .collect();
    late_fiches.sort_unstable();
    late_fiches.dedup();
    let waiting = late_items.iter().filter(|i| matches!(i.lateness, Lateness::MissingValue { .. })).count();
    let next = f.next_deadline(today);
    let meeting = f.upcoming.first();
    PortfolioLine {
        id: c.id,
        titre: c.title.clone(),
        epci: c.epci_name.clone(),
        departements: Vec::new(),
        statut: f.life.status.code().to_owned(),
        statut_libelle: f.life.status.label(),
        debut: c.start,
        fin: f.life.end,
        prochaine_echeance: next.as_ref().map(|n| n.0),
        prochaine_echeance_objet: next.map(|n| n.1),
        avancement_pourcent: f.v.overall.map(|p| (p * 1000.0).round() / 10.0),
        fiches: f.v.plan.fiches.len(),
        fiches_en_retard: late_fiches.len(),
        indicateurs_sans_valeur: waiting,
        prochaine_seance: meeting.map(|m| m.data.date),
        prochaine_seance_instance: meeting.map(|m| m.data.title.clone().unwrap_or_else(|| f.body_name(m.body_id))),
        decisions_a_echeance: f.decisions_due(today).count(),
        signatures_en_attente: f.life.unsigned_parties().count(),
        avenants_en_attente: f.life.pending_avenants().count(),
        role: None,
    }
}

/// The filters and order of the portfolio, in the page's address and the API's.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct PortfolioQuery {
    /// Identifiant d'une organisation : les conventions dont elle est partie. Absent : celle du compte
    /// quand elle est partie d'au moins une convention visible ; vide : toutes.
    #[serde(default)]
    pub organisation: Option<String>,
    /// Code d'un département (62, 2A, 971…).
    #[serde(default)]
    pub departement: Option<String>,
    /// Code d'un statut : brouillon, en_attente_signatures, signee, en_vigueur, expiree, resiliee.
    #[serde(default)]
    pub statut: Option<String>,
    /// Seulement les conventions dont la prochaine échéance tombe dans ce nombre de jours (0 à 3650).
    #[serde(default)]
    pub echeance: Option<String>,
    /// echeance (par défaut), titre, departement, statut, retards, valeurs, avancement, seance.
    #[serde(default)]
    pub tri: Option<String>,
    /// croissant (par défaut) ou decroissant.
    #[serde(default)]
    pub ordre: Option<String>,
    #[serde(default)]
    pub format: Option<String>,
}

const SORTS: &[(&str, &str)] = &[
    ("echeance", "Prochaine échéance"),
    ("titre", "Titre"),
    ("departement", "Département"),
    ("statut", "Statut"),
    ("retards", "Fiches en retard"),
    ("valeurs", "Indicateurs sans valeur"),
    ("avancement", "Avancement"),
    ("seance", "Prochaine séance"),
];

const STATUSES: &[(&str, &str)] = &[
    ("brouillon", "Brouillon"),
    ("en_attente_signatures", "En attente de signatures"),
    ("signee", "Signée, pas encore en vigueur"),
    ("en_vigueur", "En vigueur"),
    ("expiree", "Expirée"),
    ("resiliee", "Résiliée"),
];

/// The query, checked: every bad value named, in French.
struct Filters {
    /// `None`: every organisation.
    organisation: Option<i64>,
    department: Option<String>,
    status: Option<String>,
    within_days: Option<i64>,
    sort: &'static str,
    descending: bool,
}

fn check(q: &PortfolioQuery) -> Result<Filters, WebError> {
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let organisation = match text(&q.organisation) {
        None => None,
        Some(o) => Some(o.parse::<i64>().map_err(|_| {
            WebError::BadRequest(format!("organisation : identifiant numérique attendu, reçu « {o} »"))
        })?),
    };
    let department = text(&q.departement).map(|d| d.to_uppercase());
    if let Some(d) = &department {
        let ok = (2..=3).contains(&d.len()) && d.chars().all(|c| c.is_ascii_alphanumeric());
        if !ok {
            return Err(WebError::BadRequest(format!(
                "departement : code de département attendu (62, 2A, 971…), reçu « {d} »"
            )));
        }
    }
    let status = text(&q.statut);
    if let Some(s) = &status {
        if !STATUSES.iter().any(|(code, _)| code == s) {
            let admitted: Vec<&str> = STATUSES.iter().map(|(c, _)| *c).collect();
            return Err(WebError::BadRequest(format!(
                "statut : valeur inconnue « {s} » (valeurs admises : {})",
                admitted.join(", ")
            )));
        }
    }
    let within_days = match text(&q.echeance) {
        None => None,
        Some(e) => match e.parse::<i64>() {
            Ok(n) if (0..=3650).contains(&n) => Some(n),
            _ => {
                return Err(WebError::BadRequest(format!(
                    "echeance : nombre de jours entre 0 et 3650 attendu, reçu « {e} »"
                )))
            }
        },
    };
    let sort = match text(&q.tri) {
        None => "echeance",
        Some(t) => SORTS.iter().map(|(c, _)| *c).find(|c| *c == t).ok_or_else(|| {
            let admitted: Vec<&str> = SORTS.iter().map(|(c, _)| *c).collect();
            WebError::BadRequest(format!("tri : valeur inconnue « {t} » (valeurs admises : {})", admitted.join(", ")))
        })?,
    };
    let descending = match text(&q.ordre).as_deref() {
        None | Some("croissant") => false,
        Some("decroissant") => true,
        Some(o) => {
            return Err(WebError::BadRequest(format!(
                "ordre : valeur inconnue « {o} » (valeurs admises : croissant, decroissant)"
            )))
        }
    };
    Ok(Filters { organisation, department, status, within_days, sort, descending })
}

/// An organisation that may be chosen: a party of at least one visible convention.
pub struct Choice {
    pub id: i64,
    pub label: String,
    pub selected: bool,
}

struct Portfolio {
    lines: Vec<PortfolioLine>,
    /// Visible conventions before the filters.
    visible: usize,
    organisations: Vec<Choice>,
    departments: Vec<String>,
    /// The organisation the lines are filtered on, as chosen or by default.
    organisation: Option<i64>,
}

/// Compares two optional values with the unknown last, whatever the order.
fn unknown_last<T: PartialOrd>(a: &Option<T>, b: &Option<T>, descending: bool) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => {
            let o = x.partial_cmp(y).unwrap_or(Ordering::Equal);
            if descending {
                o.reverse()
            } else {
                o
            }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

async fn portfolio(state: &AppState, auth: &Auth, q: &PortfolioQuery) -> Result<Portfolio, WebError> {
    let filters = check(q)?;
    let today = state.today();
    let admin = auth.user.as_ref().is_some_and(|u| u.is_admin);
    let (visible, roles) = state.visible_conventions_and_roles(auth).await?;
    let visible_ids: Vec<i64> = visible.iter().map(|c| c.id).collect();
    let stamps = state.store.write_stamps(&visible_ids).await?;
    let reach = state.store.convention_reach_at(&visible_ids, &stamps).await?;
    let empty = ctg_store::ConventionReach::default();
    let reach_of = |id: i64| reach.get(&id).unwrap_or(&empty);
    let mut organisations: Vec<Choice> = Vec::new();
    let mut departments: Vec<String> = Vec::new();
    for c in &visible {
        for o in &reach_of(c.id).organisations {
            if !organisations.iter().any(|x| x.id == o.id) {
                let label = match o.short_name.as_deref().filter(|s| !s.trim().is_empty()) {
                    Some(short) if short != o.name => format!("{} ({short})", o.name),
                    _ => o.name.clone(),
                };
                organisations.push(Choice { id: o.id, label, selected: false });
            }
        }
        departments.extend(reach_of(c.id).departments.iter().cloned());
    }
    organisations.sort_by(|a, b| a.label.cmp(&b.label));
    departments.sort();
    departments.dedup();
    // Absent: the person's own organisation when it is a party of a visible convention.
    let organisation = match (&q.organisation, &filters.organisation) {
        (None, _) => {
            auth.user.as_ref().and_then(|u| u.organisation_id).filter(|o| organisations.iter().any(|x| x.id == *o))
        }
        (Some(_), chosen) => *chosen,
    };
    if let Some(o) = organisation {
        if !organisations.iter().any(|x| x.id == o) {
            return Err(WebError::BadRequest(format!(
                "organisation : aucune convention visible n'a pour partie l'organisation n° {o}"
            )));
        }
    }
    for o in &mut organisations {
        o.selected = organisation == Some(o.id);
    }
    let chosen: Vec<&ctg_store::ConventionSummary> = visible
        .iter()
        .filter(|c| organisation.is_none_or(|o| reach_of(c.id).organisations.iter().any(|x| x.id == o)))
        .filter(|c| filters.department.as_ref().is_none_or(|d| reach_of(c.id).departments.contains(d)))
        .collect();
    let mut lines = Vec::new();
    for c in chosen {
        let r = reach_of(c.id);
        let mut l = line_of(state, c, stamps.get(&c.id).copied().unwrap_or_default(), today).await?;
        l.departements = r.departments.clone();
        l.role = roles
            .get(&c.id)
            .map(|r| r.label())
            .or(if admin { Some("Administration") } else { None })
            .map(str::to_owned);
        if filters.status.as_ref().is_some_and(|s| *s != l.statut) {
            continue;
        }
        if let Some(days) = filters.within_days {
            let limit = today + Duration::days(days);
            if l.prochaine_echeance.is_none_or(|d| d > limit) {
                continue;
            }
        }
        lines.push(l);
    }
    let desc = filters.descending;
    let plain = |o: Ordering| if desc { o.reverse() } else { o };
    lines.sort_by(|a, b| {
        let primary = match filters.sort {
            "titre" => plain(a.titre.cmp(&b.titre)),
            "departement" => unknown_last(&a.departements.first(), &b.departements.first(), desc),
            "statut" => plain(a.statut_libelle.cmp(&b.statut_libelle)),
            "retards" => plain(a.fiches_en_retard.cmp(&b.fiches_en_retard)),
            "valeurs" => plain(a.indicateurs_sans_valeur.cmp(&b.indicateurs_sans_valeur)),
            "avancement" => unknown_last(&a.avancement_pourcent, &b.avancement_pourcent, desc),
            "seance" => unknown_last(&a.prochaine_seance, &b.prochaine_seance, desc),
            _ => unknown_last(&a.prochaine_echeance, &b.prochaine_echeance, desc),
        };
        primary.then_with(|| a.titre.cmp(&b.titre)).then_with(|| a.id.cmp(&b.id))
    });
    Ok(Portfolio { lines, visible: visible.len(), organisations, departments, organisation })
}

fn table(lines: &[PortfolioLine]) -> Table {
    let opt_date = |d: Option<NaiveDate>| d.map_or(Value::Empty, Value::Date);
    let count = |n: usize| Value::Integer(i64::try_from(n).unwrap_or(i64::MAX));
    Table {
        title: "Portefeuille".into(),
        columns: vec![
            Column::new("convention_id", "Identifiant"),
            Column::new("titre", "Convention"),
            Column::new("epci", "EPCI"),
            Column::new("departements", "Départements"),
            Column::new("statut", "Statut"),
            Column::new("debut", "Début"),
            Column::new("fin", "Fin"),
            Column::new("prochaine_echeance", "Prochaine échéance"),
            Column::new("prochaine_echeance_objet", "Objet de l'échéance"),
            Column::new("avancement_pourcent", "Avancement (%)"),
            Column::new("fiches", "Fiches"),
            Column::new("fiches_en_retard", "Fiches en retard"),
            Column::new("indicateurs_sans_valeur", "Indicateurs sans valeur"),
            Column::new("prochaine_seance", "Prochaine séance"),
            Column::new("decisions_a_echeance", "Décisions à échéance (30 j)"),
            Column::new("signatures_en_attente", "Signatures en attente"),
            Column::new("avenants_en_attente", "Avenants en attente"),
        ],
        rows: lines
            .iter()
            .map(|l| {
                vec![
                    Value::Integer(l.id),
                    Value::Text(l.titre.clone()),
                    Value::Text(l.epci.clone()),
                    Value::Text(l.departements.join(", ")),
                    Value::Text(l.statut_libelle.clone()),
                    Value::Date(l.debut),
                    Value::Date(l.fin),
                    opt_date(l.prochaine_echeance),
                    l.prochaine_echeance_objet.clone().map_or(Value::Empty, Value::Text),
                    l.avancement_pourcent.map_or(Value::Empty, |v| Value::Decimal { value: v, decimals: 1 }),
                    count(l.fiches),
                    count(l.fiches_en_retard),
                    count(l.indicateurs_sans_valeur),
                    opt_date(l.prochaine_seance),
                    count(l.decisions_a_echeance),
                    count(l.signatures_en_attente),
                    count(l.avenants_en_attente),
                ]
            })
            .collect(),
    }
}

/// A line as the page shows it.
pub struct ShownLine {
    pub l: PortfolioLine,
    pub next: String,
    pub progress: String,
    pub meeting: String,
    pub period: String,
    pub fiches: String,
    /// What to follow up, each a link: `(href, text, late)`.
    pub follow: Vec<(String, String, bool)>,
}

/// What a line asks to follow up, each with its link: late fiches, missing values, decisions due,
/// signatures and avenants pending. Nothing when all is quiet.
fn follow(l: &PortfolioLine) -> Vec<(String, String, bool)> {
    let base = format!("/conventions/{}", l.id);
    let plural = |n: usize, one: &str, many: &str| if n > 1 { format!("{n} {many}") } else { format!("{n} {one}") };
    let mut out = Vec::new();
    if l.fiches_en_retard > 0 {
        let text = plural(l.fiches_en_retard, "fiche en retard", "fiches en retard");
        out.push((format!("{base}/plan/retards"), text, true));
    }
    if l.indicateurs_sans_valeur > 0 {
        let text = plural(l.indicateurs_sans_valeur, "indicateur sans valeur", "indicateurs sans valeur");
        out.push((format!("{base}/plan/retards"), text, false));
    }
    if l.decisions_a_echeance > 0 {
        let text = plural(l.decisions_a_echeance, "décision à échéance", "décisions à échéance");
        out.push((format!("{base}/decisions"), text, false));
    }
    if l.signatures_en_attente > 0 {
        let text = plural(l.signatures_en_attente, "signature en attente", "signatures en attente");
        out.push((format!("{base}/vie"), text, false));
    }
    if l.avenants_en_attente > 0 {
        let text = plural(l.avenants_en_attente, "avenant en attente", "avenants en attente");
        out.push((format!("{base}/vie"), text, false));
    }
    out
}

#[derive(Template)]
#[template(path = "portfolio.html")]
struct PortfolioPage {
    nav: Nav,
    lines: Vec<ShownLine>,
    visible: usize,
    organisations: Vec<Choice>,
    departments: Vec<String>,
    department: String,
    statuses: &'static [(&'static str, &'static str)],
    status: String,
    within: String,
    sorts: &'static [(&'static str, &'static str)],
    sort: String,
    descending: bool,
    exports: Vec<(String, String)>,
    today: String,
}

/// The portfolio page, or its download (`?format=csv|csv-virgule|xlsx|ods`).
pub async fn page(
    State(state): State<AppState>,
    auth: Auth,
    PageQuery(q): PageQuery<PortfolioQuery>,
) -> Result<Response, PageError> {
    let p = portfolio(&state, &auth, &q).await?;
    let export = ExportQuery { format: q.format.clone(), tableau: None };
    let today = state.today();
    if let Some(format) = export.format()? {
        let source = Source { origin: "Plateforme CTG, portefeuille des conventions".to_owned(), as_of: today };
        return Ok(download(&table(&p.lines), format, &format!("portefeuille-{}", today.format("%Y-%m-%d")), &source)?);
    }
    let filters = check(&q)?;
    let organisation_param = match p.organisation {
        Some(o) => o.to_string(),
        None => String::new(),
    };
    let query = [
        ("organisation", organisation_param),
        ("departement", filters.department.clone().unwrap_or_default()),
        ("statut", filters.status.clone().unwrap_or_default()),
        ("echeance", filters.within_days.map(|d| d.to_string()).unwrap_or_default()),
        ("tri", filters.sort.to_owned()),
        ("ordre", if filters.descending { "decroissant".to_owned() } else { String::new() }),
    ];
    // Without an organisation chosen, the download must say « every one », not fall back on the default.
    let mut exports = links("/portefeuille", &query, None);
    if p.organisation.is_none() {
        for (_, href) in &mut exports {
            href.push_str("&organisation=");
        }
    }
    let lines = p
        .lines
        .into_iter()
        .map(|l| ShownLine {
            next: match (&l.prochaine_echeance, &l.prochaine_echeance_objet) {
                (Some(d), Some(what)) => format!("{} · {what}", date_short(*d)),
                _ => "aucune échéance datée".to_owned(),
            },
            progress: l.avancement_pourcent.map_or_else(|| "non renseigné".to_owned(), |p| format!("{p:.0} %")),
            meeting: match (&l.prochaine_seance, &l.prochaine_seance_instance) {
                (Some(d), Some(body)) => format!("{} · {body}", date_short(*d)),
                _ => "aucune séance programmée".to_owned(),
            },
            period: format!("{} – {}", l.debut.format("%Y"), l.fin.format("%Y")),
            fiches: match l.fiches {
                0 => "aucune fiche".to_owned(),
                1 => "1 fiche".to_owned(),
                n => format!("{n} fiches"),
            },
            follow: follow(&l),
            l,
        })
        .collect();
    let page = PortfolioPage {
        nav: Nav::of(&auth),
        lines,
        visible: p.visible,
        organisations: p.organisations,
        departments: p.departments,
        department: filters.department.unwrap_or_default(),
        statuses: STATUSES,
        status: filters.status.unwrap_or_default(),
        within: filters.within_days.map(|d| d.to_string()).unwrap_or_default(),
        sorts: SORTS,
        sort: filters.sort.to_owned(),
        descending: filters.descending,
        exports,
        today: date_short(today),
    };
    Ok(Html(page.render()?).into_response())
}

/// Le portefeuille : une ligne par convention visible (celles où le compte a un rôle, et les
/// conventions publiées), filtrées et triées comme la page `/portefeuille`.
#[utoipa::path(
    get,
    path = "/api/v1/portefeuille",
    params(
        ("organisation" = Option<String>, Query, description = "Identifiant d'une organisation : les conventions dont elle est partie. Absent : celle du compte quand elle est partie d'au moins une convention visible ; vide : toutes"),
        ("departement" = Option<String>, Query, description = "Code d'un département (62, 2A, 971…)"),
        ("statut" = Option<String>, Query, description = "brouillon, en_attente_signatures, signee, en_vigueur, expiree ou resiliee"),
        ("echeance" = Option<String>, Query, description = "Seulement les conventions dont la prochaine échéance tombe dans ce nombre de jours (0 à 3650)"),
        ("tri" = Option<String>, Query, description = "echeance (par défaut), titre, departement, statut, retards, valeurs, avancement, seance"),
        ("ordre" = Option<String>, Query, description = "croissant (par défaut) ou decroissant")
    ),
    responses(
        (status = 200, description = "Les conventions du portefeuille, dans l'ordre demandé", body = Vec<PortfolioLine>),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized))
    )
)]
pub(crate) async fn portfolio_api(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<PortfolioQuery>,
) -> Result<Json<Vec<PortfolioLine>>, ApiError> {
    Ok(Json(portfolio(&state, &auth, &q).await?.lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> PortfolioQuery {
        let mut q = PortfolioQuery::default();
        for (k, v) in pairs {
            let v = Some((*v).to_owned());
            match *k {
                "organisation" => q.organisation = v,
                "departement" => q.departement = v,
                "statut" => q.statut = v,
                "echeance" => q.echeance = v,
                "tri" => q.tri = v,
                "ordre" => q.ordre = v,
                _ => unreachable!(),
            }
        }
        q
    }

    fn message(pairs: &[(&str, &str)]) -> String {
        match check(&q(pairs)) {
            Err(WebError::BadRequest(m)) => m,
            other => panic!("refus attendu pour {pairs:?}, obtenu {:?}", other.map(|f| f.sort)),
        }
    }

    #[test]
    fn every_bad_filter_is_named_in_french() {
        assert!(message(&[("echeance", "-1")]).starts_with("echeance : nombre de jours entre 0 et 3650"));
        assert!(message(&[("echeance", "3651")]).contains("« 3651 »"));
        assert!(message(&[("echeance", "trente")]).contains("« trente »"));
        assert!(message(&[("statut", "signé")]).contains("valeurs admises : brouillon, en_attente_signatures"));
        assert!(message(&[("tri", "prix")]).starts_with("tri : valeur inconnue « prix »"));
        assert!(message(&[("ordre", "haut")]).contains("croissant, decroissant"));
        assert!(message(&[("organisation", "CAF")]).starts_with("organisation : identifiant numérique"));
        assert!(message(&[("departement", "6-2")]).starts_with("departement : code de département"));
    }

    #[test]
    fn good_filters_pass_and_default_to_the_next_deadline_first() {
        let f = check(&q(&[("departement", "2a"), ("echeance", "0"), ("ordre", "decroissant")])).unwrap();
        assert_eq!(f.department.as_deref(), Some("2A"));
        assert_eq!(f.within_days, Some(0));
        assert!(f.descending);
        assert_eq!(f.sort, "echeance");
        let f = check(&q(&[("organisation", " "), ("tri", "avancement")])).unwrap();
        assert_eq!(f.organisation, None);
        assert_eq!(f.sort, "avancement");
    }

    #[test]
    fn the_unknown_goes_last_in_both_orders() {
        let (one, two, none) = (Some(1), Some(2), None::<i32>);
        assert_eq!(unknown_last(&one, &two, false), Ordering::Less);
        assert_eq!(unknown_last(&one, &two, true), Ordering::Greater);
        assert_eq!(unknown_last(&none, &one, false), Ordering::Greater);
        assert_eq!(unknown_last(&none, &one, true), Ordering::Greater);
    }
}
