//! One fiche: its page.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// One fiche

pub(super) fn fiche_in(v: &PlanView, fid: i64) -> Result<&FicheRecord, WebError> {
    v.plan
        .fiches
        .iter()
        .find(|f| f.id == fid)
        .ok_or_else(|| WebError::NotFound(format!("la fiche n° {fid} n'existe pas dans cette convention")))
}

/// Whether the person may report on a fiche (status, sub-actions, indicator values): the coordination,
/// or a contributor of the fiche's pilot organisation.
pub(super) async fn may_report(state: &AppState, auth: &Auth, id: i64, f: &NewFiche) -> bool {
    let pilot = state.store.organisation_named(&f.pilot_organisation).await.ok();
    state.may(auth, Action::ReportFiche { pilot_organisation_id: pilot }, Some(id)).await
}

pub(super) async fn authorize_report(state: &AppState, auth: &Auth, id: i64, f: &NewFiche) -> Result<(), WebError> {
    // The pilot matters only to a contributor (see `plan::api::authorize_report`).
    if state.authorize_write(auth, Action::ReportFiche { pilot_organisation_id: None }, Some(id)).await.is_ok() {
        return Ok(());
    }
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

/// A means line as the fiche shows it: organisation, year, FTE, planned, spent, nature, material, and
/// whether its year is stopped by the termination (art. 13).
type MeansLine = (String, String, String, String, String, String, String, bool);

#[derive(Template)]
#[template(path = "fiche.html")]
pub(super) struct FichePage {
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
    means: Vec<MeansLine>,
    /// The day the termination of the convention stops this fiche (art. 13), if it does.
    stopped: Option<String>,
    /// The fiche it continues, when carried over from the previous convention: (href, text).
    origin: Option<(String, String)>,
    indicators: Vec<IndicatorLine>,
    history: Vec<(String, String, String, String)>,
    statuses: Vec<(String, String)>,
    errors: FormErrors,
    /// What was typed in the form that came back with errors.
    typed: crate::views::Typed,
    /// « En retard de N jours », or empty.
    late: String,
    /// The years of the convention, the columns of the grids.
    years: Vec<i32>,
    /// The parties a row of the means grid may name: (party id, label).
    grid_parties: Vec<(String, String)>,
    grid_rows: Vec<GridRow>,
    /// `None` when the person may not see the documents.
    documents: Option<Vec<crate::documents::DocumentLine>>,
}

/// A row of the means grid, as typed or as stored: its index and its cells in the order of
/// [`MEANS_COLUMNS`] (party id, year, FTE, planned, spent, nature, material).
pub(crate) struct GridRow {
    index: usize,
    cells: [String; 7],
}

impl GridRow {
    fn cell(&self, k: usize) -> &str {
        &self.cells[k]
    }

    /// The cell of column `column` (a name of [`MEANS_COLUMNS`]).
    fn at(&self, column: &str) -> &str {
        MEANS_COLUMNS.iter().position(|c| *c == column).map_or("", |k| self.cell(k))
    }
}

/// The rows of the means grid: what was typed when the grid comes back (with more rows after
/// « Ajouter une ligne » or « Ajouter une partie »), else one row per stored line and an empty row.
fn grid_rows(f: &FicheRecord, years: &[i32], typed: &crate::views::Typed) -> Vec<GridRow> {
    let columns = MEANS_COLUMNS;
    let mut rows: Vec<[String; 7]> = if typed.is("moyens") {
        let n: usize = typed.get("rows").parse().unwrap_or(0).min(MAX_GRID_ROWS);
        (0..n).map(|i| columns.map(|c| typed.get(&format!("{c}_{i}")).to_owned())).collect()
    } else {
        f.means
            .iter()
            .map(|m| {
                [
                    m.party_id.to_string(),
                    m.year.to_string(),
                    if m.fte_hundredths == 0 { String::new() } else { french_number(m.fte_hundredths as f64 / 100.0) },
                    m.planned_cents.map(amount_input).unwrap_or_default(),
                    m.spent_cents.map(amount_input).unwrap_or_default(),
                    m.kind.code().to_owned(),
                    m.material.clone(),
                ]
            })
            .collect()
    };
    let blank = |party: String, year: String| {
        [party, year, String::new(), String::new(), String::new(), String::new(), String::new()]
    };
    match typed.get("action") {
        "ajouter" if typed.is("moyens") => rows.push(blank(String::new(), String::new())),
        "ajouter_partie" if typed.is("moyens") && !typed.get("ajout_partie").is_empty() => {
            let party = typed.get("ajout_partie").to_owned();
            // Rows left entirely empty make way for the party's rows.
            rows.retain(|r| r.iter().enumerate().any(|(k, c)| !c.is_empty() && k != 5));
            for y in years {
                let year = y.to_string();
                if !rows.iter().any(|r| r[0] == party && r[1] == year) {
                    rows.push(blank(party.clone(), year));
                }
            }
        }
        _ if typed.is("moyens") => {}
        _ => rows.push(blank(String::new(), String::new())),
    }
    rows.into_iter().enumerate().map(|(index, cells)| GridRow { index, cells }).collect()
}

/// An amount in an input, the French way: « 12 000 », « 1 234,56 ».
pub(super) fn amount_input(c: i64) -> String {
    let units = ctg_domain::format::integer(c / 100).replace('\u{202f}', " ");
    if c % 100 == 0 {
        units
    } else {
        format!("{units},{:02}", c % 100)
    }
}

pub(super) async fn fiche_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    fid: i64,
    errors: FormErrors,
    typed: crate::views::Typed,
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
    let origin = state.store.fiche_origin(id, fid).await?.map(|o| {
        (
            format!("/conventions/{}/plan/fiches/{}", o.convention_id, o.fiche_id),
            format!("{} : {} ({})", o.code, o.title, o.convention_title.trim()),
        )
    });
    let years: Vec<i32> = (v.convention.start.year()..=v.convention.end.year()).collect();
    let grid = grid_rows(f, &years, &typed);
    let page = FichePage {
        origin,
        nav: Nav::of(auth),
        typed,
        late: v.fiche_late_badge(f),
        grid_rows: grid,
        grid_parties: v.parties.iter().map(|p| (p.id.to_string(), p.label().to_owned())).collect(),
        years,
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
            ("Approches transversales", if d.approaches.is_empty() { "—".into() } else { d.approaches.join(", ") }),
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
                    m.planned_cents.map(crate::offer::euros).unwrap_or_else(|| "inconnu".into()),
                    m.spent_cents.map(crate::offer::euros).unwrap_or_else(|| "inconnu".into()),
                    m.kind.label().to_owned(),
                    m.material.clone(),
                    ctg_domain::life::year_stopped(v.plan.stop, m.year),
                )
            })
            .collect(),
        stopped: v
            .plan
            .stop
            .filter(|s| s.stops_fiche(f.fiche.status, f.fiche.end))
            .map(|s| ctg_domain::format::date_short(s.effective)),
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

pub(crate) fn value_text(v: &IndicatorValue) -> String {
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
    fiche_page(&state, &auth, id, fid, FormErrors::new(), Default::default(), StatusCode::OK).await
}
