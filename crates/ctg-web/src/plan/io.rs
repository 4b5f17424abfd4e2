//! The plan in and out of spreadsheets — an upload is read and shown before anything is written, then
//! written in one transaction on confirmation — and the evaluation pages: the yearly reviews and the
//! final bilan per ambition and per theme (enjeu), with the figures computed from the plan.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use ctg_domain::access::Action;
use ctg_domain::plan::{evaluation_figures, EvaluationFigures, Tracking};
use ctg_domain::Channel;
use ctg_import::plan::{ImportedFiche, PlanContext};
use ctg_report::table::{export_book, ExportFormat};
use ctg_store::{Review, ReviewScope, StoreError};
use serde::Deserialize;

use crate::auth::Auth;
use crate::extract::{Ids, PageForm, Version};
use crate::plan::PlanView;
use crate::views::{FormErrors, Nav};
use crate::{AppState, PageError, WebError};

/// Largest spreadsheet accepted for an import.
pub const UPLOAD_LIMIT: usize = 4 * 1024 * 1024;

/// The plan as the spreadsheet's three sheets.
pub(crate) fn imported(v: &PlanView) -> Vec<ImportedFiche> {
    v.plan
        .fiches
        .iter()
        .map(|f| ImportedFiche {
            fiche: f.fiche.clone(),
            means: f.means.clone(),
            indicators: v.indicators_of(f.id).map(|i| i.indicator.clone()).collect(),
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
pub struct FormatQuery {
    #[serde(default)]
    pub format: Option<String>,
}

/// The plan with its means and indicators: XLSX and ODS with three sheets (« Fiches », « Moyens »,
/// « Indicateurs »), which `import` reads back; CSV with the fiches only.
pub async fn export(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    crate::api_query::PageQuery(q): crate::api_query::PageQuery<FormatQuery>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let raw = q.format.as_deref().unwrap_or("xlsx");
    let format = ExportFormat::parse(raw).ok_or_else(|| {
        WebError::BadRequest(format!(
            "format de téléchargement inconnu « {raw} » (formats admis : csv, csv-virgule, xlsx, ods)"
        ))
    })?;
    let v = PlanView::load(&state, id).await?;
    let tables = ctg_import::plan::tables(&imported(&v), &v.communes);
    let source = crate::export::source(&state, id, &[]).await?;
    let bytes = export_book(&tables, format, &source).map_err(|e| WebError::Internal(Box::new(e)))?;
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"plan-{id}.{}\"", format.extension())),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "plan_import.html")]
struct ImportPage {
    nav: Nav,
    id: i64,
    title: String,
    file_name: String,
    problems: Vec<String>,
    /// (code, title, status, new or updated, means, indicators)
    preview: Vec<(String, String, String, &'static str, usize, usize)>,
    content: String,
    errors: FormErrors,
}

pub(crate) fn context(v: &PlanView) -> PlanContext {
    PlanContext {
        ambitions: v.plan.stakes.iter().flat_map(|(_, _, a)| a.iter().map(|(n, _)| *n)).collect(),
        objectives: v.plan.objectives.iter().map(|o| o.objective.code.clone()).collect(),
        communes: v.communes.clone(),
        parties: v.parties.clone(),
    }
}

pub async fn import_form(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize(&auth, Action::EditPlan, Some(id)).await?;
    let summary = state.store.convention_summary(id).await?;
    let page = ImportPage {
        nav: Nav::of(&auth),
        id,
        title: summary.title,
        file_name: String::new(),
        problems: Vec::new(),
        preview: Vec::new(),
        content: String::new(),
        errors: FormErrors::new(),
    };
    Ok(Html(page.render()?).into_response())
}

/// Reads the uploaded spreadsheet and shows what would be written, or every problem; writes nothing.
pub async fn import_preview(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    multipart: Multipart,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditPlan, Some(id)).await?;
    let (name, bytes) =
        crate::documents::read_upload(multipart, "plan.xlsx", "choisissez un fichier XLSX, ODS ou CSV").await?;
    preview(&state, &auth, id, &name, &bytes).await
}

async fn preview(state: &AppState, auth: &Auth, id: i64, name: &str, bytes: &[u8]) -> Result<Response, PageError> {
    let v = PlanView::load(state, id).await?;
    let ctx = context(&v);
    let mut page = ImportPage {
        nav: Nav::of(auth),
        id,
        title: v.convention.title.clone(),
        file_name: name.to_owned(),
        problems: Vec::new(),
        preview: Vec::new(),
        content: String::new(),
        errors: FormErrors::new(),
    };
    match ctg_import::plan::parse(name, bytes, &ctx) {
        Err(errors) => {
            page.problems = errors.listed();
            Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
        }
        Ok(rows) => {
            page.preview = rows
                .iter()
                .map(|r| {
                    let f = &r.value;
                    let known = v.plan.fiches.iter().any(|x| x.fiche.code.eq_ignore_ascii_case(&f.fiche.code));
                    (
                        f.fiche.code.clone(),
                        f.fiche.title.clone(),
                        f.fiche.status.label().to_owned(),
                        if known { "mise à jour" } else { "nouvelle" },
                        f.means.len(),
                        f.indicators.len(),
                    )
                })
                .collect();
            page.content = base64::engine::general_purpose::STANDARD.encode(bytes);
            Ok(Html(page.render()?).into_response())
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ConfirmFields {
    #[serde(default)]
    pub nom: String,
    #[serde(default)]
    pub contenu: String,
}

/// Writes the previewed spreadsheet, read again, in one transaction.
pub async fn import_confirm(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<ConfirmFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditPlan, Some(id)).await?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(form.contenu.trim())
        .map_err(|_| WebError::BadRequest("contenu du fichier illisible : recommencez l'import".into()))?;
    let v = PlanView::load(&state, id).await?;
    let ctx = context(&v);
    let rows = match ctg_import::plan::parse(&form.nom, &bytes, &ctx) {
        Ok(rows) => rows,
        Err(_) => return preview(&state, &auth, id, &form.nom, &bytes).await,
    };
    let rows: Vec<ctg_store::PlanImportRow> = rows
        .into_iter()
        .map(|r| (format!("{}, {}", form.nom, r.place), r.value.fiche, r.value.means, r.value.indicators))
        .collect();
    match state.store.import_plan(&auth.actor(Channel::Page), id, &rows, &form.nom).await {
        Ok(_) => Ok(crate::flash::redirect(&format!("/conventions/{id}/plan"), "Plan importé")),
        Err(StoreError::Invalid(m)) => {
            let mut page = ImportPage {
                nav: Nav::of(&auth),
                id,
                title: v.convention.title.clone(),
                file_name: form.nom.clone(),
                problems: m.lines().map(str::to_owned).collect(),
                preview: Vec::new(),
                content: String::new(),
                errors: FormErrors::new(),
            };
            page.errors = FormErrors::new();
            Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

pub(crate) struct EvalSection {
    pub kind: &'static str,
    pub key: String,
    pub heading: String,
    pub figures: Option<EvaluationFigures>,
    pub declared: Vec<(String, String)>,
    pub review: Option<ctg_store::ReviewRecord>,
}

impl EvalSection {
    pub fn means(&self) -> Vec<(String, String, String)> {
        self.figures
            .as_ref()
            .map(|f| f.means.iter().map(|(o, (p, s))| (o.clone(), p.text(), s.text())).collect())
            .unwrap_or_default()
    }

    /// The means of the years stopped by a termination (art. 13), counted apart.
    pub fn means_stopped(&self) -> Vec<(String, String, String)> {
        self.figures
            .as_ref()
            .map(|f| f.means_stopped.iter().map(|(o, (p, s))| (o.clone(), p.text(), s.text())).collect())
            .unwrap_or_default()
    }

    pub fn text(&self, field: &str) -> String {
        self.review
            .as_ref()
            .map(|r| match field {
                "done" => r.review.done.clone(),
                "successes" => r.review.successes.clone(),
                "attention" => r.review.attention.clone(),
                _ => r.review.concerns.clone(),
            })
            .unwrap_or_default()
    }

    pub fn version(&self) -> String {
        self.review.as_ref().map(|r| r.version.to_string()).unwrap_or_default()
    }
}

/// The sections of an evaluation: the whole plan, each enjeu (the plan's themes) and each ambition
/// with its computed figures, then the reviews of other themes (a predecessor's bilan, with declared
/// figures).
pub(crate) fn sections(v: &PlanView, reviews: &[ctg_store::ReviewRecord], year: Option<i32>) -> Vec<EvalSection> {
    let of_year: Vec<&ctg_store::ReviewRecord> = reviews.iter().filter(|r| r.review.year == year).collect();
    // `None`: the whole plan, fiches without an ambition included.
    let figures = |ambitions: Option<&[i64]>| {
        let fiches: Vec<&ctg_store::FicheRecord> = v
            .plan
            .fiches
            .iter()
            .filter(|f| ambitions.is_none_or(|list| f.fiche.ambitions.iter().any(|a| list.contains(a))))
            .collect();
        let ids: Vec<i64> = fiches.iter().map(|f| f.id).collect();
        let tracking: Vec<&Tracking> = v
            .plan
            .indicators
            .iter()
            .filter(|i| match i.fiche_id {
                Some(f) => ids.contains(&f),
                None => ambitions.is_none(),
            })
            .map(|i| &v.tracking[&i.id])
            .collect();
        let objectives = v
            .plan
            .objectives
            .iter()
            .filter(|o| ambitions.is_none_or(|list| list.contains(&o.objective.ambition)))
            .count();
        evaluation_figures(objectives, fiches.iter().map(|f| (&f.fiche, f.means.as_slice())), tracking, v.plan.stop)
    };
    let review = |scope: &ReviewScope| of_year.iter().find(|r| r.review.scope == *scope).map(|r| (*r).clone());
    let mut out = Vec::new();
    if !v.plan.fiches.is_empty() {
        out.push(EvalSection {
            kind: "",
            key: String::new(),
            heading: "L'ensemble du plan".into(),
            figures: Some(figures(None)),
            declared: Vec::new(),
            review: None,
        });
    }
    let declared = |r: &Option<ctg_store::ReviewRecord>| -> Vec<(String, String)> {
        r.as_ref()
            .and_then(|r| r.review.declared.as_object().cloned())
            .map(|o| {
                o.into_iter()
                    .map(|(k, v)| (declared_label(&k), v.as_i64().map_or_else(|| v.to_string(), |n| n.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    };
    for (stake, title, ambitions) in &v.plan.stakes {
        let numbers: Vec<i64> = ambitions.iter().map(|(n, _)| *n).collect();
        let scope = ReviewScope::Theme(title.clone());
        let r = review(&scope);
        out.push(EvalSection {
            kind: "theme",
            key: title.clone(),
            heading: format!("Enjeu {stake} : {title}"),
            figures: Some(figures(Some(&numbers))),
            declared: declared(&r),
            review: r,
        });
        for (n, t) in ambitions {
            let r = review(&ReviewScope::Ambition(*n));
            out.push(EvalSection {
                kind: "ambition",
                key: n.to_string(),
                heading: format!("Ambition {n} : {t}"),
                figures: Some(figures(Some(&[*n]))),
                declared: declared(&r),
                review: r,
            });
        }
    }
    // Themes of reviews that are no enjeu of the plan: a bilan written with declared figures.
    for r in &of_year {
        if let ReviewScope::Theme(t) = &r.review.scope {
            if !v.plan.stakes.iter().any(|(_, title, _)| title == t) {
                let rec = Some((*r).clone());
                out.push(EvalSection {
                    kind: "theme",
                    key: t.clone(),
                    heading: format!("Thème : {t}"),
                    figures: None,
                    declared: declared(&rec),
                    review: rec,
                });
            }
        }
    }
    out
}

/// The French label of a declared figure's key.
fn declared_label(key: &str) -> String {
    match key {
        "objectifs" => "Objectifs".into(),
        "fiches_action" | "fiches" => "Fiches action".into(),
        "fiches_engagees" => "Fiches engagées".into(),
        "fiches_realisees" => "Fiches réalisées".into(),
        other => {
            let text = other.replace('_', " ");
            let mut c = text.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct EvaluationQuery {
    /// A year, or absent for the final bilan.
    #[serde(default)]
    pub annee: Option<String>,
}

#[derive(Template)]
#[template(path = "evaluation.html")]
struct EvaluationPage {
    nav: Nav,
    id: i64,
    title: String,
    year: String,
    years: Vec<i32>,
    heading: String,
    sections: Vec<EvalSection>,
    can_edit: bool,
    predecessor: Option<i64>,
    /// The final bilan of the previous convention: its title and its sections, shown below.
    previous: Option<(String, Vec<EvalSection>)>,
    errors: FormErrors,
}

pub(crate) fn parse_year(raw: Option<&str>) -> Result<Option<i32>, WebError> {
    match raw.map(str::trim).filter(|s| !s.is_empty() && *s != "final") {
        None => Ok(None),
        Some(y) => ctg_domain::parse::plan_year("annee", y).map(Some).map_err(|e| WebError::BadRequest(e.message)),
    }
}

async fn evaluation_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    year: Option<i32>,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let v = PlanView::load(state, id).await?;
    let reviews = state.store.reviews(id).await?;
    let detail = state.store.convention(id).await?;
    let years: Vec<i32> = (v.convention.start.format("%Y").to_string().parse().unwrap_or(2026)
        ..=v.convention.end.format("%Y").to_string().parse().unwrap_or(2030))
        .collect();
    let page = EvaluationPage {
        nav: Nav::of(auth),
        id,
        title: v.convention.title.clone(),
        year: year.map(|y| y.to_string()).unwrap_or_default(),
        heading: year.map_or_else(|| "Bilan final".to_owned(), |y| format!("Bilan de l'année {y}")),
        years,
        sections: sections(&v, &reviews, year),
        can_edit: state.may(auth, Action::EditPlan, Some(id)).await,
        predecessor: detail.predecessor.as_ref().map(|p| p.id),
        previous: match &detail.predecessor {
            Some(p) => {
                let pv = PlanView::load(state, p.id).await?;
                let previous = state.store.reviews(p.id).await?;
                Some((p.title.trim().to_owned(), sections(&pv, &previous, None)))
            }
            None => None,
        },
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// The query of the evaluation page: the bilan, and `format` to download it as a workbook.
#[derive(Debug, Default, Deserialize)]
pub struct EvaluationPageQuery {
    #[serde(default)]
    pub annee: Option<String>,
    #[serde(flatten)]
    pub export: crate::export::ExportQuery,
}

pub async fn evaluation(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    crate::api_query::PageQuery(q): crate::api_query::PageQuery<EvaluationPageQuery>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let year = parse_year(q.annee.as_deref())?;
    if let Some(format) = q.export.format()? {
        // The workbook of the bilan, one sheet per table (a CSV holds the first one).
        let tables = crate::pdf::review_tables(&state, id, year).await?;
        let source = crate::export::source(&state, id, &[]).await?;
        let stem = year.map_or_else(|| format!("bilan-final-{id}"), |y| format!("bilan-{y}-{id}"));
        return Ok(crate::export::download_book(&tables, format, &stem, &source)?);
    }
    evaluation_page(&state, &auth, id, year, FormErrors::new(), StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
pub struct ReviewFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub annee: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub done: String,
    #[serde(default)]
    pub successes: String,
    #[serde(default)]
    pub attention: String,
    #[serde(default)]
    pub concerns: String,
}

pub async fn review_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<ReviewFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditPlan, Some(id)).await?;
    let year = parse_year(Some(&form.annee))?;
    let scope = match form.kind.as_str() {
        "ambition" => ReviewScope::Ambition(
            form.key.parse().map_err(|_| WebError::BadRequest(format!("ambition inconnue « {} »", form.key)))?,
        ),
        "theme" => ReviewScope::Theme(form.key.clone()),
        other => return Err(WebError::BadRequest(format!("périmètre de bilan inconnu « {other} »")).into()),
    };
    let existing =
        state.store.reviews(id).await?.into_iter().find(|r| r.review.year == year && r.review.scope == scope);
    let review = Review {
        year,
        scope,
        done: form.done.trim().to_owned(),
        successes: form.successes.trim().to_owned(),
        attention: form.attention.trim().to_owned(),
        concerns: form.concerns.trim().to_owned(),
        declared: existing.as_ref().map_or(serde_json::Value::Null, |r| r.review.declared.clone()),
    };
    let version = match form.version.trim() {
        "" => None,
        v => Some(Version::parse(v)?),
    };
    let back = match year {
        Some(y) => format!("/conventions/{id}/evaluation?annee={y}"),
        None => format!("/conventions/{id}/evaluation"),
    };
    match state.store.save_review(&auth.actor(Channel::Page), id, &review, version).await {
        Ok(_) => Ok(crate::flash::redirect(&back, "Évaluation enregistrée")),
        Err(StoreError::Stale { what, last_change }) => {
            let mut errors = FormErrors::new();
            errors.add("", crate::error::stale_message(&what, last_change.as_deref()));
            evaluation_page(&state, &auth, id, year, errors, StatusCode::CONFLICT).await
        }
        Err(StoreError::Invalid(m)) => {
            let mut errors = FormErrors::new();
            errors.add("", m);
            evaluation_page(&state, &auth, id, year, errors, StatusCode::BAD_REQUEST).await
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}

/// The figures of a section as (label, value) for templates and the API.
pub(crate) fn figure_lines(f: &EvaluationFigures) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("Objectifs", f.objectives.to_string()),
        ("Fiches prévues", f.fiches.to_string()),
        ("Fiches engagées", f.started.to_string()),
        ("Fiches réalisées", f.done.to_string()),
        ("Fiches abandonnées", f.abandoned.to_string()),
    ];
    out.push(("Indicateurs en bonne voie", format!("{} sur {}", f.indicators_on_track, f.indicators)));
    if f.stopped > 0 {
        out.push(("Fiches arrêtées par la résiliation (art. 13), comptées à part", f.stopped.to_string()));
    }
    out
}

impl EvalSection {
    pub fn figure_lines(&self) -> Vec<(&'static str, String)> {
        self.figures.as_ref().map(figure_lines).unwrap_or_default()
    }
}
