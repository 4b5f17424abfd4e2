//! The timeline over the convention's years and the lateness list.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// The timeline and the lateness list

#[derive(Template)]
#[template(path = "plan_timeline.html")]
pub(super) struct TimelinePage {
    nav: Nav,
    id: i64,
    title: String,
    svg: String,
    rows: Vec<(i64, String, String, String, String, &'static str, String)>,
}

/// The fiches as bars over the years of the convention, drawn as SVG on the server.
pub(super) fn timeline_svg(v: &PlanView) -> String {
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
        let late = v.fiche_late_badge(f);
        let colour = if late.is_empty() { "" } else { "#a8201a" };
        let colour = match f.fiche.status {
            _ if !colour.is_empty() => colour,
            FicheStatus::Done => "#2e7d32",
            FicheStatus::Late => "#c9191e",
            FicheStatus::Abandoned => "#9e9e9e",
            FicheStatus::Paused => "#f9a825",
            FicheStatus::InProgress => "#1565c0",
            FicheStatus::Upcoming => "#90caf9",
        };
        let (x1, x2) = (x(s), x(e));
        svg.push_str(&format!(
            "<rect x=\"{x1:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"14\" fill=\"{colour}\"><title>{} : {}{} ({} → {})</title></rect>",
            (x2 - x1).max(2.0),
            esc(&f.fiche.code),
            f.fiche.status.label(),
            if late.is_empty() { String::new() } else { format!(", {}", late.to_lowercase()) },
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
                    v.fiche_late_badge(f),
                )
            })
            .collect(),
    };
    Ok(Html(page.render()?).into_response())
}

#[derive(Template)]
#[template(path = "plan_late.html")]
pub(super) struct LatePage {
    nav: Nav,
    id: i64,
    title: String,
    lines: Vec<LateLine>,
    /// How many lines before the filters.
    total: usize,
    filter: LateQuery,
    ambitions: Vec<(String, String)>,
    pilots: Vec<(String, String)>,
    organisations: Vec<(String, String)>,
    exports: Vec<(String, String)>,
    /// Whether the pilots' addresses are shown (personal data).
    personal: bool,
}

pub(super) struct LateLine {
    link: String,
    what: String,
    why: String,
    /// « En retard de N jours », or empty.
    badge: String,
    days: Option<i64>,
    organisation: String,
    person: String,
    ambitions: String,
    /// `mailto:` to the pilot organisation's people in the convention, or empty.
    mailto: String,
}

/// The query of the lateness page: its filters and a download.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct LateQuery {
    #[serde(default)]
    pub ambition: String,
    #[serde(default)]
    pub pilote: String,
    #[serde(default)]
    pub organisation: String,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub tableau: Option<String>,
}

pub(crate) fn lateness_text(l: &Lateness) -> (String, String) {
    match l {
        Lateness::PastEnd { what, end } => (what.clone(), format!("échéance dépassée le {}", end.format("%d/%m/%Y"))),
        Lateness::MissingValue { what, year } => (what.clone(), format!("aucune valeur pour {year}")),
        Lateness::BelowTarget { what, year } => (what.clone(), format!("cible {year} non atteinte")),
    }
}

/// The late list: whom to call (pilot organisation and person, a link to write to them), how many
/// days overdue, filtered by ambition, pilot and organisation.
pub async fn late(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    crate::api_query::PageQuery(q): crate::api_query::PageQuery<LateQuery>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let personal = state.sees_personal_data(&auth, id).await;
    // The addresses of the people of each pilot organisation, for the link to write to them.
    let mut emails: HashMap<String, Vec<String>> = HashMap::new();
    if personal {
        let members = state.store.members(id).await?;
        let pilots: std::collections::BTreeSet<&str> = v
            .plan
            .fiches
            .iter()
            .map(|f| f.fiche.pilot_organisation.as_str())
            .filter(|p| !p.trim().is_empty())
            .collect();
        for pilot in pilots {
            if let Ok(org) = state.store.organisation_named(pilot).await {
                let list = members
                    .iter()
                    .filter(|m| {
                        m.user.organisation_id == Some(org)
                            && m.user.disabled_at.is_none()
                            && m.user.erased_at.is_none()
                    })
                    .map(|m| m.user.email.clone())
                    .collect();
                emails.insert(pilot.to_owned(), list);
            }
        }
    }
    let all: Vec<LateLine> = v
        .late_items()
        .into_iter()
        .map(|item| {
            let (what, why) = lateness_text(&item.lateness);
            let (organisation, person, ambitions) = item.fiche.map_or_else(Default::default, |f| {
                (
                    f.fiche.pilot_organisation.clone(),
                    f.fiche.pilot_person.clone(),
                    f.fiche.ambitions.iter().map(i64::to_string).collect::<Vec<_>>().join(","),
                )
            });
            let mailto = emails
                .get(&organisation)
                .filter(|e| !e.is_empty())
                .map(|e| {
                    format!(
                        "mailto:{}?subject={}",
                        e.join(","),
                        crate::export::urlencode(&format!("Retard : {what} ({why})"))
                    )
                })
                .unwrap_or_default();
            LateLine {
                link: item.link,
                badge: item.days.map(ctg_domain::plan::late_badge).unwrap_or_default(),
                days: item.days,
                what,
                why,
                organisation,
                person,
                ambitions,
                mailto,
            }
        })
        .collect();
    let total = all.len();
    let eq = |a: &str, b: &str| ctg_domain::plan::loose(a) == ctg_domain::plan::loose(b);
    let mut lines: Vec<LateLine> = all
        .into_iter()
        .filter(|l| q.ambition.is_empty() || l.ambitions.split(',').any(|a| a == q.ambition))
        .filter(|l| q.pilote.is_empty() || eq(&l.person, &q.pilote))
        .filter(|l| q.organisation.is_empty() || eq(&l.organisation, &q.organisation))
        .collect();
    // The longest overdue first; indicators below target (no date) last.
    lines.sort_by_key(|l| std::cmp::Reverse(l.days.unwrap_or(-1)));
    let export = ExportQuery { format: q.format.clone(), tableau: q.tableau.clone() };
    if let Some(format) = export.format()? {
        let table = Table {
            title: "Retards".into(),
            columns: vec![
                Column::new("objet", "Objet"),
                Column::new("retard", "Retard"),
                Column::new("jours_de_retard", "Jours de retard"),
                Column::new("pilote_organisation", "Organisation pilote"),
                Column::new("pilote", "Pilote"),
            ],
            rows: lines
                .iter()
                .map(|l| {
                    vec![
                        Value::Text(l.what.clone()),
                        Value::Text(l.why.clone()),
                        l.days.map_or(Value::Empty, Value::Integer),
                        Value::Text(l.organisation.clone()),
                        Value::Text(if personal { l.person.clone() } else { String::new() }),
                    ]
                })
                .collect(),
        };
        let source = crate::export::source(&state, id, &[]).await?;
        return Ok(download(&table, format, &format!("retards-{id}"), &source)?);
    }
    let distinct = |f: &dyn Fn(&FicheRecord) -> String| {
        let set: std::collections::BTreeSet<String> =
            v.plan.fiches.iter().map(f).filter(|s| !s.trim().is_empty()).collect();
        set.into_iter().map(|s| (s.clone(), s)).collect::<Vec<_>>()
    };
    let pilots = if personal { distinct(&|f| f.fiche.pilot_person.clone()) } else { Vec::new() };
    let organisations = distinct(&|f| f.fiche.pilot_organisation.clone());
    let ambitions = v
        .plan
        .stakes
        .iter()
        .flat_map(|(_, _, a)| a.iter())
        .map(|(n, t)| (n.to_string(), format!("Ambition {n} : {t}")))
        .collect();
    let query =
        [("ambition", q.ambition.clone()), ("pilote", q.pilote.clone()), ("organisation", q.organisation.clone())];
    let page = LatePage {
        nav: Nav::of(&auth),
        id,
        title: v.convention.title.clone(),
        total,
        lines,
        ambitions,
        pilots,
        organisations,
        exports: links(&format!("/conventions/{id}/plan/retards"), &query, None),
        filter: q,
        personal,
    };
    Ok(Html(page.render()?).into_response())
}
