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
    rows: Vec<(i64, String, String, String, String, &'static str)>,
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
pub(super) struct LatePage {
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
    crate::api_query::PageQuery(q): crate::api_query::PageQuery<ExportQuery>,
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
        let source = crate::export::source(&state, id, &[]).await?;
        return Ok(download(&table, format, &format!("retards-{id}"), &source)?);
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
