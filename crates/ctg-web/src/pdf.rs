//! The PDF documents (issue 14): the data of each document gathered from what its page shows, written
//! the French way, then laid out by its Typst template ([`ctg_pdf`]). Personal names follow the rule
//! of the pages: shown only to the people with a role in the convention.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use ctg_domain::access::Action;
use ctg_domain::format::date_short;
use ctg_domain::plan::{past_end, Tracking};
use ctg_pdf::Document;
use serde_json::{json, Value};

use crate::api_query::{ApiQuery, PageQuery};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::Ids;
use crate::plan::io::EvaluationQuery;
use crate::plan::PlanView;
use crate::views::french_number;
use crate::{AppState, PageError, WebError};

/// Makes the document off the async workers (Typst lays out on the CPU) and answers it as a download.
pub(crate) async fn answer(document: Document, data: Value, stem: &str) -> Result<Response, WebError> {
    let bytes = tokio::task::spawn_blocking(move || ctg_pdf::render(document, &data))
        .await
        .map_err(|e| WebError::Internal(Box::new(e)))?
        .map_err(|e| WebError::Internal(Box::new(e)))?;
    let safe: String = stem.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{safe}.pdf\"")),
        ],
        bytes,
    )
        .into_response())
}

/// What every document starts with: its convention, its parties in their order, the date and source
/// of its data.
async fn common(state: &AppState, id: i64) -> Result<(String, Vec<Value>, String, String), WebError> {
    let detail = state.store.convention(id).await?;
    let logos = state.store.party_logos(id).await?;
    let parties = detail
        .parties
        .iter()
        .map(|p| {
            let logo = logos.iter().find(|l| l.party_id == p.id).map(logo_svg);
            json!({"nom": p.party.organisation.name, "logo": logo})
        })
        .collect();
    let source = crate::export::source(state, id, &[]).await?;
    Ok((detail.summary.title.trim().to_owned(), parties, date_short(source.as_of), source.origin))
}

/// A logo as the SVG the templates place: an SVG as it is (it was checked when sent), a PNG embedded
/// in an SVG of its own size.
fn logo_svg(logo: &ctg_store::PartyLogo) -> String {
    use base64::Engine;
    match logo.kind {
        ctg_domain::logo::LogoKind::Svg => String::from_utf8_lossy(&logo.content).into_owned(),
        ctg_domain::logo::LogoKind::Png => {
            let (w, h) = ctg_domain::logo::png_size(&logo.content).unwrap_or((1, 1));
            let data = base64::engine::general_purpose::STANDARD.encode(&logo.content);
            format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}"><image width="{w}" height="{h}" href="data:image/png;base64,{data}"/></svg>"#
            )
        }
    }
}

fn percent(p: Option<f64>) -> String {
    p.map_or_else(|| "—".to_owned(), |v| format!("{} %", french_number(v)))
}

/// The pilot of a fiche as the pages show it: the organisation, and the person to those who may see it.
fn pilot(organisation: &str, person: &str, names: bool) -> String {
    match (organisation.trim(), person.trim(), names) {
        ("", "", _) => "—".into(),
        (o, "", _) | (o, _, false) => o.to_owned(),
        ("", p, true) => p.to_owned(),
        (o, p, true) => format!("{o} ({p})"),
    }
}

/// The late fiches of the plan on its day: code and title, pilot, due date, days late.
fn late_fiches(v: &PlanView, names: bool) -> Vec<Vec<String>> {
    v.plan
        .fiches
        .iter()
        .filter_map(|f| {
            let end = past_end(f.fiche.status, f.fiche.end, v.today)
                .filter(|_| !v.plan.stop.is_some_and(|s| s.stops_fiche(f.fiche.status, f.fiche.end)))?;
            let days = (v.today - end).num_days();
            Some(vec![
                format!("{} : {}", f.fiche.code, f.fiche.title),
                pilot(&f.fiche.pilot_organisation, &f.fiche.pilot_person, names),
                date_short(end),
                format!("{days} jour{}", if days > 1 { "s" } else { "" }),
            ])
        })
        .collect()
}

/// The progress of the plan by enjeu and ambition: (label, fiches, progress).
fn progress_rows(v: &PlanView) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for (number, title, ambitions) in &v.plan.stakes {
        let numbers: Vec<i64> = ambitions.iter().map(|(n, _)| *n).collect();
        let fiches = v.plan.fiches.iter().filter(|f| f.fiche.ambitions.iter().any(|a| numbers.contains(a))).count();
        rows.push(vec![
            format!("Enjeu {number} : {title}"),
            fiches.to_string(),
            percent(v.stake_progress.get(number).copied().flatten()),
        ]);
        for (n, t) in ambitions {
            let fiches = v.plan.fiches.iter().filter(|f| f.fiche.ambitions.contains(n)).count();
            rows.push(vec![
                format!("— Ambition {n} : {t}"),
                fiches.to_string(),
                percent(v.ambition_progress.get(n).copied().flatten()),
            ]);
        }
    }
    rows
}

/// The key figures of the diagnostic: for each indicator, its latest value for the EPCI (masked ones
/// left out), at most twelve.
async fn key_figures(state: &AppState, id: i64, mask: bool) -> Result<Vec<Vec<String>>, WebError> {
    let d = crate::views::Diagnostic::load(state, id, mask, None).await?;
    let mut out: Vec<Vec<String>> = Vec::new();
    for (_, rows) in &d.themes {
        let mut seen: Vec<&str> = Vec::new();
        for r in rows.iter().rev() {
            if seen.contains(&r.indicator.code) || r.masked {
                continue;
            }
            if let Some(v) = r.epci {
                seen.push(r.indicator.code);
                let unit = if r.indicator.unit.is_empty() { String::new() } else { format!(" {}", r.indicator.unit) };
                out.push(vec![r.indicator.label.to_owned(), format!("{}{unit}", french_number(v)), r.period.clone()]);
            }
        }
    }
    out.truncate(12);
    Ok(out)
}

/// « Dossier de préparation » of a meeting: the agenda, the plan's progress, what is late, the open
/// decisions, the key figures of the diagnostic and the means by party and year.
async fn make_meeting_pack(state: AppState, auth: Auth, id: i64, mid: i64) -> Result<Response, WebError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let meeting = state.store.meeting(id, mid).await?;
    let body = state.store.body(id, meeting.body_id).await?;
    let (convention, parties, as_of, source) = common(&state, id).await?;
    let v = PlanView::load(&state, id).await?;
    let names = state.sees_personal_data(&auth, id).await;
    let m = &meeting.data;
    let seance = format!("{} du {}", m.title.clone().unwrap_or_else(|| body.body.name.clone()), date_short(m.date));
    let when = format!(
        "le {} de {} à {}{}",
        date_short(m.date),
        m.start.format("%H h %M"),
        m.end.format("%H h %M"),
        m.place.as_deref().map(|p| format!(", {p}")).unwrap_or_default()
    );
    let indicators: Vec<Vec<String>> = v
        .plan
        .indicators
        .iter()
        .filter(|i| matches!(v.tracking[&i.id], Tracking::Late { .. } | Tracking::MissingValue { .. }))
        .map(|i| vec![i.indicator.name.clone(), v.tracking[&i.id].label()])
        .collect();
    let decisions: Vec<Vec<String>> = state
        .store
        .open_decisions(id, v.today)
        .await?
        .into_iter()
        .map(|o| {
            let d = &o.decision.data;
            vec![
                d.text.clone(),
                if names || d.follow_up.is_empty() { d.follow_up.clone() } else { "—".into() },
                d.due.map_or_else(|| "—".into(), date_short),
            ]
        })
        .collect();
    let (rows, _) = crate::funds::funds_table(&state, id).await?;
    let fiches = v.plan.fiches.len();
    let data = json!({
        "titre": format!("Dossier de préparation — {seance}"),
        "seance": seance,
        "date_seance": when,
        "convention": convention,
        "parties": parties,
        "donnees_au": as_of,
        "source": source,
        "ordre_du_jour": meeting.agenda.iter().map(|a| a.title.clone()).collect::<Vec<_>>(),
        "avancement_global": format!(
            "Avancement de l'ensemble du plan : {} ({fiches} fiche{}).",
            percent(v.overall),
            if fiches > 1 { "s" } else { "" }
        ),
        "avancement": progress_rows(&v),
        "fiches_en_retard": late_fiches(&v, names),
        "indicateurs": indicators,
        "decisions": decisions,
        "chiffres_cles": key_figures(&state, id, auth.user.is_none()).await?,
        "moyens": rows,
    });
    answer(Document::MeetingPack, data, &format!("dossier-seance-{mid}")).await
}

/// The evaluation as a document: the final bilan, or the bilan of the year `annee` (art. 8).
async fn make_review(state: AppState, auth: Auth, id: i64, q: EvaluationQuery) -> Result<Response, WebError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let year = crate::plan::io::parse_year(q.annee.as_deref())?;
    let v = PlanView::load(&state, id).await?;
    let reviews = state.store.reviews(id).await?;
    let (convention, parties, as_of, source) = common(&state, id).await?;
    let sections: Vec<Value> = crate::plan::io::sections(&v, &reviews, year)
        .iter()
        .map(|s| {
            let pairs = |l: Vec<(&str, String)>| l.into_iter().map(|(k, v)| vec![k.to_owned(), v]).collect::<Vec<_>>();
            let texts: Vec<(String, String)> = [
                ("done", "Ce qui a été fait"),
                ("successes", "Réussites"),
                ("attention", "Points d'attention"),
                ("concerns", "Préoccupations exprimées"),
            ]
            .iter()
            .filter(|_| s.review.is_some())
            .map(|(field, label)| ((*label).to_owned(), s.text(field)))
            .filter(|(_, t)| !t.trim().is_empty())
            .collect();
            json!({
                "titre": s.heading,
                "chiffres": pairs(s.figure_lines()),
                "moyens": s.means().into_iter().map(|(o, p, d)| vec![o, p, d]).collect::<Vec<_>>(),
                "declares": s.declared.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect::<Vec<_>>(),
                "textes": texts,
            })
        })
        .collect();
    // The final bilan compares with the previous convention's (art. 8 prepares the next convention).
    let predecessor = match (year, state.store.convention(id).await?.predecessor) {
        (None, Some(p)) => {
            let pv = PlanView::load(&state, p.id).await?;
            let previous = state.store.reviews(p.id).await?;
            let sections: Vec<Value> = crate::plan::io::sections(&pv, &previous, None)
                .iter()
                .map(|s| {
                    let texts: Vec<(String, String)> =
                        [("done", "Ce qui a été fait"), ("successes", "Réussites"), ("attention", "Points d'attention")]
                            .iter()
                            .filter(|_| s.review.is_some())
                            .map(|(field, label)| ((*label).to_owned(), s.text(field)))
                            .filter(|(_, t)| !t.trim().is_empty())
                            .collect();
                    json!({
                        "titre": s.heading,
                        "chiffres": s.figure_lines().into_iter().map(|(k, v)| vec![k.to_owned(), v]).collect::<Vec<_>>(),
                        "declares": s.declared.iter().map(|(k, v)| vec![k.clone(), v.clone()]).collect::<Vec<_>>(),
                        "textes": texts,
                    })
                })
                .collect();
            json!({"titre": pv.convention.title.trim(), "sections": sections})
        }
        _ => Value::Null,
    };
    // The concertation with the inhabitants and partners (of the year, or all of it for the final bilan).
    let concertation: Vec<Vec<String>> = state
        .store
        .concertation(id)
        .await?
        .iter()
        .filter(|e| year.is_none_or(|y| chrono::Datelike::year(&e.data.start) == y))
        .map(|e| {
            let d = &e.data;
            let p = &d.participants;
            let people = match (p.total, p.by_categories()) {
                (Some(t), _) => t,
                (None, n) => n,
            };
            let people = if people == 0 && p.total.is_none() {
                "inconnu".to_owned()
            } else {
                format!("{}{}", if p.approximate { "environ " } else { "" }, ctg_domain::format::integer(people))
            };
            vec![
                d.kind.label().to_owned(),
                d.title.clone(),
                match d.end {
                    Some(end) => format!("du {} au {}", date_short(d.start), date_short(end)),
                    None => date_short(d.start),
                },
                people,
                e.contributions.len().to_string(),
            ]
        })
        .collect();
    // The indicators with their targets and values: the value of the year (or the last one for the
    // final bilan) beside the target of that year.
    let indicators: Vec<Vec<String>> = v
        .plan
        .indicators
        .iter()
        .map(|i| {
            let fiche = v.followed_by(i);
            let value = i.values.iter().rev().find(|x| year.is_none_or(|y| x.year() == Some(y)));
            let target_year = value.and_then(|x| x.year()).or(year);
            let target = target_year
                .and_then(|y| i.indicator.target_for(y))
                .map_or_else(|| "—".to_owned(), crate::plan::target_text);
            vec![
                i.indicator.name.clone(),
                fiche,
                value.map_or_else(|| "aucune valeur".to_owned(), crate::plan::fiche::value_text),
                target,
                v.tracking[&i.id].label(),
            ]
        })
        .collect();
    let title = year.map_or_else(|| "Bilan final".to_owned(), |y| format!("Bilan de l'année {y}"));
    let data = json!({
        "titre": format!("{title} — {convention}"),
        "convention": convention,
        "periode": format!("du {} au {}", date_short(v.convention.start), date_short(v.convention.end)),
        "parties": parties,
        "donnees_au": as_of,
        "source": source,
        "sections": sections,
        "concertation": concertation,
        "indicateurs": indicators,
        "precedente": predecessor,
    });
    let stem = year.map_or_else(|| format!("bilan-final-{id}"), |y| format!("bilan-{y}-{id}"));
    answer(Document::Review, data, &stem).await
}

/// The text alternative of a chart of the diagnostic: its title, then the figures it draws, as the
/// table of the same theme gives them.
fn alt_of(title: &str, rows: &[crate::views::DiagnosticRow], d: &crate::views::Diagnostic) -> String {
    let figures: Vec<String> = rows
        .iter()
        .filter(|r| title.starts_with(r.indicator.label))
        .filter_map(|r| r.epci.map(|v| format!("{} : {} en {}", d.convention.epci_name, french_number(v), r.period)))
        .collect();
    if figures.is_empty() {
        title.to_owned()
    } else {
        format!("{title}. {}", figures.join(", "))
    }
}

/// One fiche action, for a partner.
async fn make_fiche(state: AppState, auth: Auth, id: i64, fid: i64) -> Result<Response, WebError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let f = v
        .plan
        .fiches
        .iter()
        .find(|f| f.id == fid)
        .ok_or_else(|| WebError::NotFound(format!("la fiche n° {fid} n'existe pas dans cette convention")))?;
    let (convention, _, as_of, source) = common(&state, id).await?;
    let names = state.sees_personal_data(&auth, id).await;
    let d = &f.fiche;
    let date = |x: Option<chrono::NaiveDate>| x.map_or_else(|| "—".to_owned(), date_short);
    let or_dash = |s: &str| if s.trim().is_empty() { "—".to_owned() } else { s.to_owned() };
    let ambitions: Vec<String> = d
        .ambitions
        .iter()
        .map(|n| {
            let title = v.plan.stakes.iter().flat_map(|s| s.2.iter()).find(|(a, _)| a == n).map(|(_, t)| t.clone());
            title.map_or_else(|| format!("Ambition {n}"), |t| format!("Ambition {n} : {t}"))
        })
        .collect();
    let fields = vec![
        vec!["Statut".to_owned(), d.status.label().to_owned()],
        vec!["Ambitions".to_owned(), if ambitions.is_empty() { "—".into() } else { ambitions.join(" ; ") }],
        vec!["Objectifs".to_owned(), if d.objectives.is_empty() { "—".into() } else { d.objectives.join(", ") }],
        vec!["Description".to_owned(), or_dash(&d.description)],
        vec!["Pilote".to_owned(), pilot(&d.pilot_organisation, &d.pilot_person, names)],
        vec!["Partenaires".to_owned(), if d.partners.is_empty() { "—".into() } else { d.partners.join(", ") }],
        vec!["Public visé".to_owned(), or_dash(&d.public)],
        vec![
            "Communes".to_owned(),
            if d.communes.is_empty() {
                "tout le territoire".into()
            } else {
                d.communes.iter().map(|c| v.commune_name(c)).collect::<Vec<_>>().join(", ")
            },
        ],
        vec!["Dates".to_owned(), format!("{} → {}", date(d.start), date(d.end))],
        vec!["Besoins du diagnostic".to_owned(), or_dash(&d.needs)],
    ];
    let subs: Vec<Vec<String>> = f
        .subs
        .iter()
        .map(|s| {
            let s = &s.sub;
            vec![
                s.title.clone(),
                s.status.label().to_owned(),
                if names { or_dash(&s.pilot) } else { "—".into() },
                format!("{} → {}", date(s.start), date(s.end)),
            ]
        })
        .collect();
    let amount = |c: Option<i64>| c.map_or_else(|| "inconnu".to_owned(), crate::offer::euros);
    let means: Vec<Vec<String>> = f
        .means
        .iter()
        .map(|m| {
            let stopped = ctg_domain::life::year_stopped(v.plan.stop, m.year);
            vec![
                m.organisation.clone(),
                if stopped { format!("{} (arrêtée)", m.year) } else { m.year.to_string() },
                french_number(m.fte_hundredths as f64 / 100.0),
                amount(m.planned_cents),
                amount(m.spent_cents),
                m.kind.label().to_owned(),
            ]
        })
        .collect();
    let indicators: Vec<Vec<String>> = v
        .indicators_of(fid)
        .map(|i| {
            vec![
                i.indicator.name.clone(),
                v.tracking[&i.id].label(),
                i.values.last().map(crate::plan::fiche::value_text).unwrap_or_else(|| "aucune valeur".into()),
            ]
        })
        .collect();
    let data = json!({
        "titre": format!("Fiche {} — {}", d.code, d.title),
        "convention": convention,
        "avancement": format!("Avancement : {}.", percent(v.fiche_progress.get(&fid).copied().flatten())),
        "donnees_au": as_of,
        "source": source,
        "champs": fields,
        "sous_actions": subs,
        "moyens": means,
        "indicateurs": indicators,
    });
    answer(Document::Fiche, data, &format!("fiche-{}", d.code)).await
}

/// The shared diagnostic, by theme, with its charts; counts below the threshold masked for the public.
async fn make_diagnostic(state: AppState, auth: Auth, id: i64) -> Result<Response, WebError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let mask = auth.user.is_none();
    let d = crate::views::Diagnostic::load(&state, id, mask, None).await?;
    let (convention, parties, as_of, _) = common(&state, id).await?;
    let producers: Vec<&str> = d.themes.iter().flat_map(|(_, rows)| rows.iter().map(|r| r.indicator.source)).collect();
    let source = crate::export::source(&state, id, &producers).await?;
    // Each figure for the EPCI, its département and France side by side (the comparison a diagnostic
    // exists for); unknown is a dash, a masked count says so.
    let value = |r: &crate::views::DiagnosticRow, v: Option<f64>| match (v, r.masked) {
        (_, true) => "secret statistique".to_owned(),
        (Some(v), false) => {
            let unit = if r.indicator.unit.is_empty() { String::new() } else { format!(" {}", r.indicator.unit) };
            format!("{}{unit}", french_number(v))
        }
        (None, false) => "—".to_owned(),
    };
    let mut chart_no = 0;
    let themes: Vec<Value> = d
        .themes
        .iter()
        .map(|(theme, rows)| {
            // The charts of the page, drawn by the same code (one drawing, two outputs).
            let (series, comparisons) = crate::convention::diagnostic_charts(&d, rows, &mut chart_no);
            let charts: Vec<Value> = series
                .into_iter()
                .chain(comparisons)
                .map(|c| {
                    let alt = alt_of(&c.title, rows, &d);
                    json!({"titre": c.title, "svg": c.svg, "alt": alt})
                })
                .collect();
            json!({
                "titre": theme,
                "lignes": rows
                    .iter()
                    .map(|r| {
                        vec![
                            r.indicator.label.to_owned(),
                            value(r, r.epci),
                            value(r, r.departement),
                            value(r, r.france),
                            r.period.clone(),
                            r.source.clone(),
                        ]
                    })
                    .collect::<Vec<_>>(),
                "graphiques": charts,
            })
        })
        .collect();
    let masked = d.themes.iter().any(|(_, rows)| rows.iter().any(|r| r.masked));
    // The coverage of the territory, as the « Couverture » page gives it: the rate of places for 100
    // children under 3 and its components, and the communes without a relais petite enfance — said as
    // unknown when no relais was ever entered, never as a gap.
    let offer = crate::offer::Offer::load(&state, id).await?;
    let view = crate::offer::CoverageView::load(&state, &offer, "rpe", mask).await?;
    let communes = offer.epci.communes.len();
    let rpe_entered = offer.facilities.iter().any(|f| f.data.type_code == "rpe");
    let coverage = json!({
        "taux": view.rate.and_then(|r| r.rate).map_or_else(
            || "non calculable : une composante manque pour une même année".to_owned(),
            |r| format!(
                "{} places pour 100 enfants de moins de 3 ans{}",
                french_number(r),
                view.rate_year.map(|y| format!(" ({y})")).unwrap_or_default()
            ),
        ),
        "composantes": view
            .components
            .iter()
            .map(|c| vec![c.label.to_owned(), c.value.map_or_else(|| "inconnu".to_owned(), ctg_domain::format::integer), c.source.clone()])
            .collect::<Vec<_>>(),
        "relais": if rpe_entered {
            format!(
                "{} commune{} sur {communes} sans relais petite enfance{}",
                view.without.len(),
                if view.without.len() > 1 { "s" } else { "" },
                if view.without.is_empty() {
                    String::new()
                } else {
                    format!(" : {}", view.without.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(", "))
                }
            )
        } else {
            "Non renseigné : aucun relais petite enfance n'est encore enregistré dans l'offre de services.".to_owned()
        },
    });
    let data = json!({
        "titre": format!("Diagnostic — {}", d.convention.epci_name),
        "convention": convention,
        "parties": parties,
        "donnees_au": as_of,
        "source": source.origin,
        "masquage": if masked {
            "Les petits effectifs sont masqués (« secret statistique »), selon le seuil en vigueur."
        } else { "" },
        "themes": themes,
        "epci": d.convention.epci_name,
        "departement": d.departement.as_ref().map_or_else(|| "Département".to_owned(), |n| format!("Département ({n})")),
        "couverture": coverage,
    });
    answer(Document::Diagnostic, data, &format!("diagnostic-{id}")).await
}

// The pages' « Télécharger en PDF » (errors as pages) and the same documents from the API (errors as
// JSON, documented in the OpenAPI).

pub async fn meeting_pack(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    Ok(make_meeting_pack(state, auth, id, mid).await?)
}

pub async fn review(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageQuery(q): PageQuery<EvaluationQuery>,
) -> Result<Response, PageError> {
    Ok(make_review(state, auth, id, q).await?)
}

pub async fn fiche(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    Ok(make_fiche(state, auth, id, fid).await?)
}

pub async fn diagnostic(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    Ok(make_diagnostic(state, auth, id).await?)
}

/// Dossier de préparation d'une séance (PDF/UA-1, A4) : ordre du jour, avancement du plan, fiches en
/// retard, indicateurs en retard ou sans valeur, décisions ouvertes, chiffres clés, moyens par partie.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/seances/{meeting}/dossier.pdf",
    params(
        ("id" = i64, Path, description = "Numéro de la convention"),
        ("meeting" = i64, Path, description = "Numéro de la séance")
    ),
    responses(
        (status = 200, description = "Le dossier de préparation, en PDF", content_type = "application/pdf", body = Vec<u8>),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn api_meeting_pack(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
) -> Result<Response, ApiError> {
    Ok(make_meeting_pack(state, auth, id, mid).await?)
}

/// Bilan annuel ou bilan final (art. 8), en PDF : chiffres du plan, bilans qualitatifs, indicateurs,
/// moyens prévus et dépensés par partie.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/evaluation.pdf",
    params(("id" = i64, Path, description = "Numéro de la convention"), ("annee" = Option<String>, Query, description = "Année du bilan (AAAA, de 1990 à 2100) ; absente, vide ou « final » : le bilan final")),
    responses(
        (status = 200, description = "Le bilan, en PDF", content_type = "application/pdf", body = Vec<u8>),
        (status = 400, response = inline(crate::error::BadRequest)),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn api_review(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    ApiQuery(q): ApiQuery<EvaluationQuery>,
) -> Result<Response, ApiError> {
    Ok(make_review(state, auth, id, q).await?)
}

/// Une fiche action, en PDF, pour un partenaire.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/fiches/{fiche}/fiche.pdf",
    params(
        ("id" = i64, Path, description = "Numéro de la convention"),
        ("fiche" = i64, Path, description = "Numéro de la fiche")
    ),
    responses(
        (status = 200, description = "La fiche action, en PDF", content_type = "application/pdf", body = Vec<u8>),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn api_fiche(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
) -> Result<Response, ApiError> {
    Ok(make_fiche(state, auth, id, fid).await?)
}

/// Le diagnostic partagé, en PDF : indicateurs par thème, graphiques, masquage des petits effectifs.
#[utoipa::path(
    get,
    path = "/api/v1/conventions/{id}/diagnostic.pdf",
    params(("id" = i64, Path, description = "Numéro de la convention")),
    responses(
        (status = 200, description = "Le diagnostic, en PDF", content_type = "application/pdf", body = Vec<u8>),
        (status = 401, response = inline(crate::error::Unauthorized)),
        (status = 403, response = inline(crate::error::Forbidden)),
        (status = 404, response = inline(crate::error::NotFound))
    )
)]
pub async fn api_diagnostic(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
) -> Result<Response, ApiError> {
    Ok(make_diagnostic(state, auth, id).await?)
}

/// The tables of the evaluation, for its workbook (XLSX or ODS, `?format=` on the evaluation page), next
/// to its PDF: one sheet per table — the figures
/// computed from the plan, the means by party (amounts as amounts, unknown ones counted apart), the
/// indicators with their targets and values, the qualitative reviews, the figures declared.
pub(crate) async fn review_tables(
    state: &AppState,
    id: i64,
    year: Option<i32>,
) -> Result<Vec<ctg_report::table::Table>, WebError> {
    use ctg_report::table::{Column, Table, Value as Cell};
    let v = PlanView::load(state, id).await?;
    let reviews = state.store.reviews(id).await?;
    let sections = crate::plan::io::sections(&v, &reviews, year);
    let text = |s: &str| Cell::Text(s.to_owned());
    let columns = |c: &[(&str, &str)]| c.iter().map(|(k, l)| Column::new(*k, *l)).collect::<Vec<_>>();
    let mut figures = Vec::new();
    let mut means = Vec::new();
    let mut declared = Vec::new();
    let mut texts = Vec::new();
    for s in &sections {
        for (k, value) in s.figure_lines() {
            figures.push(vec![text(&s.heading), text(k), Cell::Text(value)]);
        }
        if let Some(f) = &s.figures {
            for (party, (planned, spent)) in &f.means {
                let amount =
                    |x: &ctg_domain::funds::Sum| if x.known > 0 { Cell::Cents(x.known_cents) } else { Cell::Empty };
                means.push(vec![
                    text(&s.heading),
                    text(party),
                    amount(planned),
                    Cell::Integer(planned.unknown as i64),
                    amount(spent),
                    Cell::Integer(spent.unknown as i64),
                ]);
            }
        }
        for (k, value) in &s.declared {
            declared.push(vec![text(&s.heading), text(k), text(value)]);
        }
        for (field, label) in [
            ("done", "Ce qui a été fait"),
            ("successes", "Réussites"),
            ("attention", "Points d'attention"),
            ("concerns", "Préoccupations exprimées"),
        ] {
            let t = s.text(field);
            if s.review.is_some() && !t.trim().is_empty() {
                texts.push(vec![text(&s.heading), text(label), Cell::Text(t)]);
            }
        }
    }
    let mut indicators = Vec::new();
    for i in &v.plan.indicators {
        let fiche = v.followed_by(i);
        let target = |y: Option<i32>| match y.and_then(|y| i.indicator.target_for(y)) {
            Some(ctg_domain::plan::Target::Number(n)) => Cell::Decimal { value: *n, decimals: 2 },
            Some(ctg_domain::plan::Target::Level(l)) => Cell::Text(l.clone()),
            None => Cell::Empty,
        };
        let values: Vec<_> = i.values.iter().filter(|x| year.is_none_or(|y| x.year() == Some(y))).collect();
        if values.is_empty() {
            indicators.push(vec![
                text(&i.indicator.name),
                Cell::Text(fiche.clone()),
                Cell::Text(v.tracking[&i.id].label()),
                Cell::Empty,
                Cell::Empty,
                target(year),
            ]);
        }
        for x in values {
            indicators.push(vec![
                text(&i.indicator.name),
                Cell::Text(fiche.clone()),
                Cell::Text(v.tracking[&i.id].label()),
                Cell::Text(x.period.clone()),
                match (&x.number, &x.level) {
                    (Some(n), _) => Cell::Decimal { value: *n, decimals: 2 },
                    (None, Some(l)) => Cell::Text(l.clone()),
                    _ => Cell::Empty,
                },
                target(x.year()),
            ]);
        }
    }
    let tables = vec![
        Table {
            title: "Chiffres du plan".into(),
            columns: columns(&[("bilan", "Enjeu ou ambition"), ("chiffre", "Chiffre calculé"), ("valeur", "Valeur")]),
            rows: figures,
        },
        Table {
            title: "Moyens par signataire".into(),
            columns: columns(&[
                ("bilan", "Enjeu ou ambition"),
                ("signataire", "Signataire"),
                ("prevu", "Prévu (montants connus)"),
                ("prevu_inconnus", "Montants prévus inconnus"),
                ("depense", "Dépensé (montants connus)"),
                ("depense_inconnus", "Montants dépensés inconnus"),
            ]),
            rows: means,
        },
        Table {
            title: "Indicateurs".into(),
            columns: columns(&[
                ("indicateur", "Indicateur"),
                ("fiche", "Fiche"),
                ("etat", "État"),
                ("periode", "Période"),
                ("valeur", "Valeur"),
                ("cible", "Cible de l'année"),
            ]),
            rows: indicators,
        },
        Table {
            title: "Bilans qualitatifs".into(),
            columns: columns(&[("bilan", "Enjeu ou ambition"), ("rubrique", "Rubrique"), ("texte", "Texte")]),
            rows: texts,
        },
        Table {
            title: "Chiffres déclarés".into(),
            columns: columns(&[("bilan", "Enjeu ou ambition"), ("chiffre", "Chiffre"), ("valeur", "Valeur")]),
            rows: declared,
        },
    ];
    Ok(tables)
}
