//! The governance of a convention on pages: its bodies of art. 7-a and their members, the meetings of a
//! body (with their iCalendar export), a meeting's page (when and where, agenda, attendance, decisions,
//! minutes, documents, and the preparation pack: the plan's progress, what is late, the decisions
//! still open), the open decisions of every body (downloadable), the concertation that prepared the
//! convention, and the chargés de coopération of art. 7-b.
//!
//! Rights: every write is the coordination's (`ManageGovernance`); bodies, meetings (date, agenda,
//! decisions), concertation and posts are read with the convention (`ViewConvention`); the names of
//! members and post holders, attendance, minutes and documents are personal data, read only by the
//! people with a role in the convention (`ViewDocuments`).

pub mod api;

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{NaiveDate, NaiveTime, Utc};
use ctg_domain::access::Action;
use ctg_domain::documents::Owner;
use ctg_domain::format::{date_long, date_short, integer};
use ctg_domain::governance::{
    fte_on, totals_by_category, totals_by_kind, AgendaItem, AgendaLink, Attendance, AttendanceStatus, CategoryTotals,
    ConcertationKind, Meeting, Member, MemberRole, NewConcertationEvent, NewContribution, NewDecision, NewMeeting,
    NewMember, NewPost, ParticipantCategory, Participants, Post,
};
use ctg_domain::{Body, BodyKind, Channel};
use ctg_report::table::{Column, Table, Value};
use ctg_store::{BodyRecord, OpenDecision, Plan, StoreError};
use serde::Deserialize;

use crate::auth::Auth;
use crate::documents::{read_upload, DocumentLine};
use crate::export::{download, links, ExportQuery};
use crate::extract::{Ids, PageForm, Version};
use crate::plan::PlanView;
use crate::views::{form_date, french_number, FormErrors, Nav};
use crate::{AppState, PageError, WebError};

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// A store error that a form shows again (400 for a refused entry, 409 for a stale version); any
/// other is an error page.
fn form_failure(e: StoreError) -> Result<(StatusCode, FormErrors), WebError> {
    let mut errors = FormErrors::new();
    match e {
        StoreError::Stale { what, last_change } => {
            errors.add("", crate::error::stale_message(&what, last_change.as_deref()));
            Ok((StatusCode::CONFLICT, errors))
        }
        StoreError::Invalid(m) => {
            errors.add("", m);
            Ok((StatusCode::BAD_REQUEST, errors))
        }
        e @ StoreError::UnknownCommunes(_) => {
            errors.add("", e.to_string());
            Ok((StatusCode::BAD_REQUEST, errors))
        }
        e => Err(e.into()),
    }
}

/// Parses a time as `<input type="time">` sends it (`14:30`), or as people write it (`14 h 30`, `9h`).
pub(crate) fn parse_time(raw: &str) -> Option<NaiveTime> {
    let raw = raw.trim();
    NaiveTime::parse_from_str(raw, "%H:%M").or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M:%S")).ok().or_else(|| {
        let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
        let (h, m) = compact.split_once('h')?;
        let h: u32 = h.parse().ok()?;
        let m: u32 = if m.is_empty() { 0 } else { m.parse().ok()? };
        NaiveTime::from_hms_opt(h, m, 0)
    })
}

fn form_time(errors: &mut FormErrors, field: &str, raw: &str) -> Option<NaiveTime> {
    if raw.trim().is_empty() {
        errors.add(field, "l'heure est obligatoire (HH:MM)");
        return None;
    }
    let t = parse_time(raw);
    if t.is_none() {
        errors.add(field, format!("heure invalide « {} » : HH:MM attendu, par exemple 14:30", raw.trim()));
    }
    t
}

/// `14 h 00`.
pub(crate) fn time_text(t: NaiveTime) -> String {
    t.format("%H h %M").to_string()
}

fn opt_text(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn opt_count(errors: &mut FormErrors, field: &str, raw: &str) -> Option<i64> {
    let cleaned: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '\u{a0}' && *c != '\u{202f}').collect();
    if cleaned.is_empty() {
        return None;
    }
    match cleaned.parse::<i64>() {
        Ok(n) if n >= 0 => Some(n),
        _ => {
            errors.add(field, format!("nombre invalide « {} » : un entier positif est attendu", raw.trim()));
            None
        }
    }
}

fn date_iso(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn date_or_dash(d: Option<NaiveDate>) -> String {
    d.map_or_else(|| "—".to_owned(), date_short)
}

/// Splits a list typed by people: commas, semicolons or line breaks.
fn split_list(raw: &str) -> impl Iterator<Item = &str> {
    raw.split([',', ';', '\n']).map(str::trim).filter(|s| !s.is_empty())
}

/// Fiches named by their codes (case aside), as people type them: `PE-1, PE-2`.
pub(crate) fn fiches_by_code(plan: &Plan, raw: &str) -> Result<Vec<i64>, String> {
    let mut ids = Vec::new();
    let mut unknown = Vec::new();
    for token in raw.split([',', ';', '\n', ' ']).map(str::trim).filter(|s| !s.is_empty()) {
        let code = token.strip_prefix("fiche").map(str::trim).filter(|c| !c.is_empty()).unwrap_or(token);
        match plan.fiches.iter().find(|f| f.fiche.code.to_lowercase() == code.to_lowercase()) {
            Some(f) => ids.push(f.id),
            None => unknown.push(code.to_owned()),
        }
    }
    if unknown.is_empty() {
        Ok(ids)
    } else {
        Err(format!("fiche(s) inconnue(s) dans le plan d'action : {}", unknown.join(", ")))
    }
}

/// The codes of fiches, for a form: `PE-1, PE-2`.
fn codes_of(plan: &Plan, ids: &[i64]) -> String {
    ids.iter()
        .map(|id| plan.fiches.iter().find(|f| f.id == *id).map_or_else(|| format!("n° {id}"), |f| f.fiche.code.clone()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Links to fiches: (address, « PE-1 — title »).
fn fiche_links(plan: &Plan, convention: i64, ids: &[i64]) -> Vec<(String, String)> {
    ids.iter()
        .map(|id| {
            let label = plan
                .fiches
                .iter()
                .find(|f| f.id == *id)
                .map_or_else(|| format!("Fiche n° {id}"), |f| format!("{} — {}", f.fiche.code, f.fiche.title));
            (format!("/conventions/{convention}/plan/fiches/{id}"), label)
        })
        .collect()
}

/// The codes of the plan's fiches, for a form's hint: `Fiches du plan : PE-1, PE-2.`
fn fiche_hint(plan: &Plan) -> String {
    if plan.fiches.is_empty() {
        return "Le plan d'action n'a pas encore de fiche.".into();
    }
    let list: Vec<String> = plan.fiches.iter().map(|f| f.fiche.code.clone()).collect();
    format!("Fiches du plan : {}.", list.join(", "))
}

/// A progress bar: its value (0–100) and its text.
#[derive(Debug, Clone)]
pub(crate) struct Gauge {
    pub value: f64,
    pub text: String,
}

fn gauge(p: Option<f64>) -> Gauge {
    Gauge { value: p.unwrap_or(0.0), text: p.map_or_else(|| "—".to_owned(), |v| format!("{} %", french_number(v))) }
}

/// Where a body's calendar is served and under which name.
fn calendar_file(body_name: &str) -> String {
    let mut slug = String::new();
    for c in ctg_domain::format::collation_key(body_name).chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_matches('-');
    format!("calendrier-{}.ics", if slug.is_empty() { "instance" } else { slug })
}

// ---------------------------------------------------------------------------------------------
// Bodies and members

#[derive(Debug, Default, Clone, Deserialize)]
pub struct BodyFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

impl BodyFields {
    fn of(b: &BodyRecord) -> Self {
        Self {
            version: b.version.to_string(),
            kind: b.body.kind.code().to_owned(),
            name: b.body.name.clone(),
            description: b.body.description.clone().unwrap_or_default(),
        }
    }

    fn to_body(&self, errors: &mut FormErrors) -> Option<Body> {
        let kind = BodyKind::parse(self.kind.trim())
            .map_err(|_| errors.add("kind", "choisissez la nature de l'instance"))
            .ok();
        if self.name.trim().is_empty() {
            errors.add("name", "le nom de l'instance est obligatoire");
        }
        (errors.is_empty()).then(|| Body {
            kind: kind.unwrap_or(BodyKind::ThematicCommission),
            name: self.name.trim().to_owned(),
            description: opt_text(&self.description),
        })
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct MemberFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub organisation: String,
    #[serde(default)]
    pub function: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub joined: String,
    #[serde(default)]
    pub left: String,
}

impl MemberFields {
    fn of(m: &Member) -> Self {
        Self {
            version: m.version.to_string(),
            name: m.data.name.clone(),
            organisation: m.data.organisation.clone(),
            function: m.data.function.clone(),
            role: m.data.role.code().to_owned(),
            joined: m.data.joined.to_string(),
            left: date_iso(m.data.left),
        }
    }

    /// The member typed; errors are keyed by `prefix` + the field (the element ids of its form).
    fn to_member(&self, prefix: &str, errors: &mut FormErrors) -> Option<NewMember> {
        let key = |f: &str| format!("{prefix}{f}");
        if self.name.trim().is_empty() {
            errors.add(&key("nom"), "le nom du membre est obligatoire");
        }
        let role = MemberRole::parse(if self.role.trim().is_empty() { "membre" } else { self.role.trim() })
            .map_err(|e| errors.add(&key("role"), e.to_string()))
            .ok();
        let joined = form_date(errors, &key("arrivee"), &self.joined);
        if joined.is_none() && self.joined.trim().is_empty() {
            errors.add(&key("arrivee"), "la date d'arrivée est obligatoire");
        }
        let left = form_date(errors, &key("depart"), &self.left);
        if let (Some(j), Some(l)) = (joined, left) {
            if l < j {
                errors.add(&key("depart"), "la date de départ précède la date d'arrivée");
            }
        }
        if !errors.is_empty() {
            return None;
        }
        Some(NewMember {
            name: self.name.trim().to_owned(),
            organisation: self.organisation.trim().to_owned(),
            function: self.function.trim().to_owned(),
            role: role?,
            joined: joined?,
            left,
        })
    }
}

pub(crate) struct MemberLine {
    pub id: i64,
    pub name: String,
    pub organisation: String,
    pub function: String,
    pub role: &'static str,
    pub period: String,
    pub form: MemberFields,
    pub open: bool,
}

pub(crate) struct BodyLine {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub description: String,
    pub current_count: usize,
    pub current: Vec<MemberLine>,
    pub others: Vec<MemberLine>,
    pub meetings: usize,
    pub next_meeting: String,
    pub new_member: MemberFields,
    pub new_open: bool,
}

#[derive(Template)]
#[template(path = "governance_bodies.html")]
struct BodiesPage {
    nav: Nav,
    id: i64,
    title: String,
    can_manage: bool,
    sees_names: bool,
    today: String,
    bodies: Vec<BodyLine>,
    kinds: Vec<(String, String)>,
    roles: Vec<(String, String)>,
    form: BodyFields,
    errors: FormErrors,
}

/// What a failed member form brings back to the page: the body (new member) or the member (edit),
/// with what was typed.
#[derive(Default)]
struct MemberDraft {
    new_for_body: Option<(i64, MemberFields)>,
    edit: Option<(i64, MemberFields)>,
}

fn member_line(m: &Member, draft: &MemberDraft) -> MemberLine {
    let d = &m.data;
    let period = match d.left {
        Some(left) => format!("du {} au {} (départ)", date_short(d.joined), date_short(left)),
        None => format!("depuis le {}", date_short(d.joined)),
    };
    let (form, open) = match &draft.edit {
        Some((mid, f)) if *mid == m.id => (f.clone(), true),
        _ => (MemberFields::of(m), false),
    };
    MemberLine {
        id: m.id,
        name: d.name.clone(),
        organisation: d.organisation.clone(),
        function: d.function.clone(),
        role: d.role.label(),
        period,
        form,
        open,
    }
}

async fn bodies_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    form: BodyFields,
    draft: MemberDraft,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let summary = state.store.convention_summary(id).await?;
    let today = state.today();
    let sees_names = state.sees_personal_data(auth, id).await;
    let meetings = state.store.meetings(id).await?;
    let bodies = state
        .store
        .bodies(id)
        .await?
        .iter()
        .map(|b| {
            let of_body: Vec<&Meeting> = meetings.iter().filter(|m| m.body_id == b.id).collect();
            let next = of_body.iter().filter(|m| m.data.date >= today).min_by_key(|m| (m.data.starts_at(), m.id));
            let current: Vec<MemberLine> =
                b.members.iter().filter(|m| m.is_current(today)).map(|m| member_line(m, &draft)).collect();
            let (new_member, new_open) = match &draft.new_for_body {
                Some((bid, f)) if *bid == b.id => (f.clone(), true),
                _ => (
                    MemberFields { role: "membre".into(), joined: today.to_string(), ..MemberFields::default() },
                    false,
                ),
            };
            BodyLine {
                id: b.id,
                name: b.body.name.clone(),
                kind: b.body.kind.label(),
                description: b.body.description.clone().unwrap_or_default(),
                current_count: current.len(),
                current: if sees_names { current } else { Vec::new() },
                others: if sees_names {
                    b.members.iter().filter(|m| !m.is_current(today)).map(|m| member_line(m, &draft)).collect()
                } else {
                    Vec::new()
                },
                meetings: of_body.len(),
                next_meeting: next
                    .map(|m| format!("{} à {}", date_long(m.data.date), time_text(m.data.start)))
                    .unwrap_or_default(),
                new_member,
                new_open,
            }
        })
        .collect();
    let page = BodiesPage {
        nav: Nav::of(auth),
        id,
        title: summary.title,
        can_manage: state.may(auth, Action::ManageGovernance, Some(id)).await,
        sees_names,
        today: date_short(today),
        bodies,
        kinds: BodyKind::ALL.iter().map(|k| (k.code().to_owned(), k.label().to_owned())).collect(),
        roles: MemberRole::ALL.iter().map(|r| (r.code().to_owned(), r.label().to_owned())).collect(),
        form,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// The bodies of the convention and their current members.
pub async fn bodies(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let form = BodyFields { kind: BodyKind::ThematicCommission.code().into(), ..BodyFields::default() };
    bodies_page(&state, &auth, id, form, MemberDraft::default(), FormErrors::new(), StatusCode::OK).await
}

/// Adds a body (a thematic commission, say).
pub async fn body_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<BodyFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    let mut errors = FormErrors::new();
    let Some(body) = form.to_body(&mut errors) else {
        return bodies_page(&state, &auth, id, form, MemberDraft::default(), errors, StatusCode::BAD_REQUEST).await;
    };
    match state.store.add_body(&auth.actor(Channel::Page), id, &body).await {
        Ok(bid) => Ok(Redirect::to(&format!("/conventions/{id}/instances/{bid}")).into_response()),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            bodies_page(&state, &auth, id, form, MemberDraft::default(), errors, status).await
        }
    }
}

/// Adds a member to a body.
pub async fn member_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, bid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<MemberFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    state.store.body(id, bid).await?;
    let mut errors = FormErrors::new();
    let prefix = format!("nouveau-membre-{bid}-");
    let draft = |f: &MemberFields| MemberDraft { new_for_body: Some((bid, f.clone())), edit: None };
    let Some(member) = form.to_member(&prefix, &mut errors) else {
        return bodies_page(&state, &auth, id, BodyFields::default(), draft(&form), errors, StatusCode::BAD_REQUEST)
            .await;
    };
    match state.store.add_member(&auth.actor(Channel::Page), id, bid, member).await {
        Ok(_) => Ok(Redirect::to(&format!("/conventions/{id}/instances#instance-{bid}")).into_response()),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            bodies_page(&state, &auth, id, BodyFields::default(), draft(&form), errors, status).await
        }
    }
}

/// Changes a member (their leaving date, say), from the version read.
pub async fn member_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, bid, mid)): Ids<(i64, i64, i64)>,
    PageForm(form): PageForm<MemberFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    let body = state.store.body(id, bid).await?;
    if !body.members.iter().any(|m| m.id == mid) {
        return Err(WebError::NotFound(format!(
            "le membre n° {mid} n'appartient pas à l'instance « {} »",
            body.body.name
        ))
        .into());
    }
    let mut errors = FormErrors::new();
    let prefix = format!("membre-{mid}-");
    let version: i64 = Version::parse(&form.version)?;
    let Some(member) = form.to_member(&prefix, &mut errors) else {
        let draft = MemberDraft { new_for_body: None, edit: Some((mid, form)) };
        return bodies_page(&state, &auth, id, BodyFields::default(), draft, errors, StatusCode::BAD_REQUEST).await;
    };
    match state.store.update_member(&auth.actor(Channel::Page), id, mid, version, member).await {
        Ok(_) => Ok(Redirect::to(&format!("/conventions/{id}/instances#instance-{bid}")).into_response()),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            // After a conflict the form is shown again with the new version, what was typed kept.
            let fresh = state.store.body(id, bid).await?.members.into_iter().find(|m| m.id == mid).map(|m| m.version);
            let form = MemberFields { version: fresh.map_or(form.version.clone(), |v| v.to_string()), ..form };
            let draft = MemberDraft { new_for_body: None, edit: Some((mid, form)) };
            bodies_page(&state, &auth, id, BodyFields::default(), draft, errors, status).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One body: its meetings

#[derive(Debug, Default, Clone, Deserialize)]
pub struct MeetingFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub end: String,
    #[serde(default)]
    pub place: String,
    #[serde(default)]
    pub video_link: String,
}

impl MeetingFields {
    fn of(m: &Meeting) -> Self {
        Self {
            version: m.version.to_string(),
            title: m.data.title.clone().unwrap_or_default(),
            date: m.data.date.to_string(),
            start: m.data.start.format("%H:%M").to_string(),
            end: m.data.end.format("%H:%M").to_string(),
            place: m.data.place.clone().unwrap_or_default(),
            video_link: m.data.video_link.clone().unwrap_or_default(),
        }
    }

    fn to_meeting(&self, errors: &mut FormErrors) -> Option<NewMeeting> {
        let date = form_date(errors, "date", &self.date);
        if date.is_none() && self.date.trim().is_empty() {
            errors.add("date", "la date de la séance est obligatoire");
        }
        let start = form_time(errors, "start", &self.start);
        let end = form_time(errors, "end", &self.end);
        if let (Some(s), Some(e)) = (start, end) {
            if e <= s {
                errors.add("end", "l'heure de fin doit suivre l'heure de début");
            }
        }
        let link = self.video_link.trim().to_lowercase();
        let is_address = link.starts_with("https://") || link.starts_with("http://");
        if !link.is_empty() && !is_address {
            errors.add("video_link", "le lien de visioconférence doit être une adresse https://");
        }
        if !errors.is_empty() {
            return None;
        }
        Some(NewMeeting {
            title: opt_text(&self.title),
            date: date?,
            start: start?,
            end: end?,
            place: opt_text(&self.place),
            video_link: opt_text(&self.video_link),
        })
    }
}

pub(crate) struct MeetingLine {
    pub id: i64,
    pub date: String,
    pub time: String,
    pub title: String,
    pub place: String,
    pub agenda: usize,
    pub decisions: String,
    pub attendance: String,
}

#[derive(Template)]
#[template(path = "governance_body.html")]
struct BodyPage {
    nav: Nav,
    id: i64,
    title: String,
    body_id: i64,
    name: String,
    kind: &'static str,
    description: String,
    members: String,
    can_manage: bool,
    sees_names: bool,
    upcoming: Vec<MeetingLine>,
    past: Vec<MeetingLine>,
    calendar: String,
    kinds: Vec<(String, String)>,
    body_form: BodyFields,
    form: MeetingFields,
    errors: FormErrors,
}

fn meeting_line(m: &Meeting, sees_names: bool) -> MeetingLine {
    let open = m.decisions.iter().filter(|d| d.closed_on.is_none()).count();
    MeetingLine {
        id: m.id,
        date: date_long(m.data.date),
        time: format!("de {} à {}", time_text(m.data.start), time_text(m.data.end)),
        title: m.data.title.clone().unwrap_or_default(),
        place: match (&m.data.place, &m.data.video_link) {
            (Some(p), Some(_)) => format!("{p} et en visioconférence"),
            (Some(p), None) => p.clone(),
            (None, Some(_)) => "en visioconférence".into(),
            (None, None) => "lieu à préciser".into(),
        },
        agenda: m.agenda.len(),
        decisions: if m.decisions.is_empty() {
            "aucune".into()
        } else {
            format!("{} dont {} ouverte{}", m.decisions.len(), open, if open > 1 { "s" } else { "" })
        },
        attendance: if sees_names && !m.attendance.is_empty() { m.attendance_summary().label() } else { String::new() },
    }
}

async fn body_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    bid: i64,
    (body_form, form): (Option<BodyFields>, MeetingFields),
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let summary = state.store.convention_summary(id).await?;
    let body = state.store.body(id, bid).await?;
    let today = state.today();
    let sees_names = state.sees_personal_data(auth, id).await;
    let meetings = state.store.meetings_of_body(id, bid).await?;
    let current = body.current_members(today).len();
    let page = BodyPage {
        nav: Nav::of(auth),
        id,
        title: summary.title,
        body_id: bid,
        name: body.body.name.clone(),
        kind: body.body.kind.label(),
        description: body.body.description.clone().unwrap_or_default(),
        members: match current {
            0 => "aucun membre à ce jour".into(),
            1 => "1 membre à ce jour".into(),
            n => format!("{n} membres à ce jour"),
        },
        can_manage: state.may(auth, Action::ManageGovernance, Some(id)).await,
        sees_names,
        upcoming: meetings.iter().filter(|m| m.data.date >= today).map(|m| meeting_line(m, sees_names)).collect(),
        past: meetings.iter().rev().filter(|m| m.data.date < today).map(|m| meeting_line(m, sees_names)).collect(),
        calendar: format!("/conventions/{id}/instances/{bid}/calendrier.ics"),
        kinds: BodyKind::ALL.iter().map(|k| (k.code().to_owned(), k.label().to_owned())).collect(),
        body_form: body_form.unwrap_or_else(|| BodyFields::of(&body)),
        form,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

fn new_meeting_fields() -> MeetingFields {
    MeetingFields { start: "14:00".into(), end: "16:00".into(), ..MeetingFields::default() }
}

/// A body, its meetings (to come, then past) and the link to their calendar.
pub async fn body(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, bid)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    body_page(&state, &auth, id, bid, (None, new_meeting_fields()), FormErrors::new(), StatusCode::OK).await
}

/// Renames a body, changes its kind or description, from the version read.
pub async fn body_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, bid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<BodyFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    state.store.body(id, bid).await?;
    let mut errors = FormErrors::new();
    let version: i64 = Version::parse(&form.version)?;
    let Some(body) = form.to_body(&mut errors) else {
        return body_page(&state, &auth, id, bid, (Some(form), new_meeting_fields()), errors, StatusCode::BAD_REQUEST)
            .await;
    };
    match state.store.update_body(&auth.actor(Channel::Page), id, bid, version, &body).await {
        Ok(_) => Ok(Redirect::to(&format!("/conventions/{id}/instances/{bid}")).into_response()),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            let fresh = state.store.body(id, bid).await?.version.to_string();
            let form = BodyFields { version: fresh, ..form };
            body_page(&state, &auth, id, bid, (Some(form), new_meeting_fields()), errors, status).await
        }
    }
}

/// Schedules a meeting of the body.
pub async fn meeting_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, bid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<MeetingFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    state.store.body(id, bid).await?;
    let mut errors = FormErrors::new();
    let Some(meeting) = form.to_meeting(&mut errors) else {
        return body_page(&state, &auth, id, bid, (None, form), errors, StatusCode::BAD_REQUEST).await;
    };
    match state.store.create_meeting(&auth.actor(Channel::Page), id, bid, meeting).await {
        Ok(mid) => Ok(Redirect::to(&format!("/conventions/{id}/seances/{mid}")).into_response()),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            body_page(&state, &auth, id, bid, (None, form), errors, status).await
        }
    }
}

/// The meetings of a body as an iCalendar file, to subscribe to or import in a diary.
pub async fn calendar(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, bid)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let body = state.store.body(id, bid).await?;
    let ics = state.store.body_icalendar(id, bid, Utc::now()).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", calendar_file(&body.body.name))),
            (header::CACHE_CONTROL, "no-cache".to_owned()),
        ],
        ics,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// One meeting

pub(crate) struct AgendaLine {
    pub title: String,
    /// (address, label); an empty address for a target the reader may not open.
    pub links: Vec<(String, String)>,
}

pub(crate) struct AttendanceLine {
    pub member_id: i64,
    pub name: String,
    pub organisation: String,
    pub role: &'static str,
    pub status: String,
    pub status_label: String,
    pub represented_by: String,
}

pub(crate) struct DecisionLine {
    pub id: i64,
    pub version: i64,
    pub text: String,
    pub fiches: Vec<(String, String)>,
    pub follow_up: String,
    pub due: String,
    pub open: bool,
    pub status: String,
    pub overdue: bool,
}

pub(crate) struct OpenLine {
    pub id: i64,
    pub version: i64,
    pub text: String,
    pub fiches: Vec<(String, String)>,
    pub follow_up: String,
    pub due: String,
    pub overdue: bool,
    pub late: String,
    pub body_id: i64,
    pub body_name: String,
    pub meeting_id: i64,
    pub meeting_date: String,
}

fn open_line(o: &OpenDecision, plan: &Plan, id: i64) -> OpenLine {
    let d = &o.decision;
    OpenLine {
        id: d.id,
        version: d.version,
        text: d.data.text.clone(),
        fiches: fiche_links(plan, id, &d.data.fiches),
        follow_up: d.data.follow_up.clone(),
        due: date_or_dash(d.data.due),
        overdue: o.overdue,
        late: match o.days_overdue {
            0 => String::new(),
            1 => "en retard d'un jour".into(),
            n => format!("en retard de {n} jours"),
        },
        body_id: o.body_id,
        body_name: o.body_name.clone(),
        meeting_id: o.meeting_id,
        meeting_date: date_short(o.meeting_date),
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct AgendaFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub agenda: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct MinutesFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub minutes: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct DecisionFields {
    #[serde(default)]
    pub decision_text: String,
    #[serde(default)]
    pub decision_fiches: String,
    #[serde(default)]
    pub decision_follow_up: String,
    #[serde(default)]
    pub decision_due: String,
}

/// What a failed form of the meeting page brings back: what was typed.
#[derive(Default)]
struct MeetingDraft {
    meeting: Option<MeetingFields>,
    agenda: Option<String>,
    minutes: Option<String>,
    decision: DecisionFields,
}

#[derive(Template)]
#[template(path = "governance_meeting.html")]
struct MeetingPage {
    nav: Nav,
    id: i64,
    title: String,
    meeting_id: i64,
    version: i64,
    body_id: i64,
    body_name: String,
    heading: String,
    facts: Vec<(&'static str, String)>,
    video_link: String,
    can_manage: bool,
    sees_names: bool,
    agenda: Vec<AgendaLine>,
    agenda_text: String,
    indicators: Vec<(i64, String)>,
    invited: Vec<AttendanceLine>,
    attendance_summary: String,
    statuses: Vec<(String, String)>,
    decisions: Vec<DecisionLine>,
    decision_form: DecisionFields,
    fiche_hint: String,
    minutes: String,
    minutes_text: String,
    documents: Option<Vec<DocumentLine>>,
    today: String,
    today_iso: String,
    overall: Gauge,
    ambitions: Vec<(i64, String, Gauge)>,
    late: Vec<(String, String, String)>,
    open_decisions: Vec<OpenLine>,
    meeting_form: MeetingFields,
    errors: FormErrors,
}

/// The agenda as typed in its form: one line per item, `title ; PE-1 ; indicateur 3 ; document 5`.
fn agenda_text(plan: &Plan, agenda: &[AgendaItem]) -> String {
    agenda
        .iter()
        .map(|item| {
            let mut parts = vec![item.title.clone()];
            for l in &item.links {
                parts.push(match l {
                    AgendaLink::Fiche(f) => codes_of(plan, &[*f]),
                    AgendaLink::Indicator(i) => format!("indicateur {i}"),
                    AgendaLink::Document(d) => format!("document {d}"),
                });
            }
            parts.join(" ; ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads the agenda typed one item per line; the problems name their line.
fn parse_agenda(plan: &Plan, raw: &str, errors: &mut FormErrors) -> Vec<AgendaItem> {
    let mut items = Vec::new();
    for (n, line) in raw.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let n = n + 1;
        let mut parts = line.split(';').map(str::trim);
        let title = parts.next().unwrap_or_default().to_owned();
        if title.is_empty() {
            errors.add("agenda", format!("ligne {n} : l'intitulé du point manque"));
            continue;
        }
        let mut links = Vec::new();
        for token in parts.filter(|t| !t.is_empty()) {
            let lower = token.to_lowercase();
            let number = || token.chars().filter(char::is_ascii_digit).collect::<String>().parse::<i64>().ok();
            if lower.starts_with("indicateur") {
                match number().filter(|i| plan.indicators.iter().any(|x| x.id == *i)) {
                    Some(i) => links.push(AgendaLink::Indicator(i)),
                    None => errors.add("agenda", format!("ligne {n} : indicateur inconnu « {token} »")),
                }
            } else if lower.starts_with("document") {
                match number() {
                    Some(d) => links.push(AgendaLink::Document(d)),
                    None => errors.add("agenda", format!("ligne {n} : document inconnu « {token} »")),
                }
            } else {
                match fiches_by_code(plan, token) {
                    Ok(ids) => links.extend(ids.into_iter().map(AgendaLink::Fiche)),
                    Err(m) => errors.add("agenda", format!("ligne {n} : {m}")),
                }
            }
        }
        items.push(AgendaItem { title, links });
    }
    items
}

async fn meeting_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    mid: i64,
    draft: MeetingDraft,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let meeting = state.store.meeting(id, mid).await?;
    let body = state.store.body(id, meeting.body_id).await?;
    let v = PlanView::load(state, id).await?;
    let today = state.today();
    let sees_names = state.sees_personal_data(auth, id).await;
    let can_manage = state.may(auth, Action::ManageGovernance, Some(id)).await;
    let d = &meeting.data;

    let mut document_names: HashMap<i64, String> = HashMap::new();
    let documents = if sees_names {
        let list = state.store.documents(id, Owner::Meeting(mid)).await?;
        for doc in &list {
            document_names.insert(doc.id, doc.name.clone());
        }
        Some(list.iter().map(DocumentLine::of).collect::<Vec<_>>())
    } else {
        None
    };
    let mut agenda = Vec::new();
    for item in &meeting.agenda {
        let mut links = Vec::new();
        for l in &item.links {
            links.push(match *l {
                AgendaLink::Fiche(f) => fiche_links(&v.plan, id, &[f]).remove(0),
                AgendaLink::Indicator(i) => (
                    format!("/conventions/{id}/plan/indicateurs/{i}"),
                    v.plan
                        .indicators
                        .iter()
                        .find(|x| x.id == i)
                        .map_or_else(|| format!("Indicateur n° {i}"), |x| format!("Indicateur : {}", x.indicator.name)),
                ),
                AgendaLink::Document(doc) if sees_names => {
                    let name = match document_names.get(&doc) {
                        Some(n) => n.clone(),
                        None => match state.store.document(id, doc).await {
                            Ok((info, _)) => info.name,
                            Err(_) => format!("n° {doc}"),
                        },
                    };
                    (format!("/conventions/{id}/documents/{doc}"), format!("Document : {name}"))
                }
                AgendaLink::Document(doc) => {
                    (String::new(), format!("Document n° {doc} (réservé aux membres de la convention)"))
                }
            });
        }
        agenda.push(AgendaLine { title: item.title.clone(), links });
    }

    // The members current on the day of the meeting may be invited; with no invitation recorded yet,
    // all of them are proposed as invited.
    let fresh = meeting.attendance.is_empty();
    let invited = if sees_names {
        body.members
            .iter()
            .filter(|m| m.is_current(d.date) || meeting.attendance.iter().any(|a| a.member_id == m.id))
            .map(|m| {
                let a = meeting.attendance.iter().find(|a| a.member_id == m.id);
                let status = match a {
                    Some(a) => a.status.code().to_owned(),
                    None if fresh => AttendanceStatus::Invited.code().to_owned(),
                    None => String::new(),
                };
                AttendanceLine {
                    member_id: m.id,
                    name: m.data.name.clone(),
                    organisation: m.data.organisation.clone(),
                    role: m.data.role.label(),
                    status_label: a.map_or_else(|| "non invité(e)".to_owned(), |a| a.status.label().to_owned()),
                    status,
                    represented_by: a.and_then(|a| a.represented_by.clone()).unwrap_or_default(),
                }
            })
            .collect()
    } else {
        Vec::new()
    };

    let decisions = meeting
        .decisions
        .iter()
        .map(|x| DecisionLine {
            id: x.id,
            version: x.version,
            text: x.data.text.clone(),
            fiches: fiche_links(&v.plan, id, &x.data.fiches),
            follow_up: x.data.follow_up.clone(),
            due: date_or_dash(x.data.due),
            open: x.closed_on.is_none(),
            status: match x.closed_on {
                Some(c) => format!("close le {}", date_short(c)),
                None if x.is_overdue_on(today) => "ouverte, échéance dépassée".into(),
                None => "ouverte".into(),
            },
            overdue: x.is_overdue_on(today),
        })
        .collect();

    let open = state.store.open_decisions(id, today).await?;
    let heading = match &d.title {
        Some(t) => format!("{} : {t}", body.body.name),
        None => format!("{} du {}", body.body.name, date_long(d.date)),
    };
    let mut facts = vec![
        ("Instance", body.body.name.clone()),
        ("Date", date_long(d.date)),
        ("Horaire", format!("de {} à {}", time_text(d.start), time_text(d.end))),
        (
            "Lieu",
            d.place.clone().unwrap_or_else(|| {
                if d.video_link.is_some() {
                    "en visioconférence".into()
                } else {
                    "à préciser".into()
                }
            }),
        ),
    ];
    if let Some(t) = &d.title {
        facts.insert(0, ("Objet", t.clone()));
    }
    let page = MeetingPage {
        nav: Nav::of(auth),
        id,
        title: v.convention.title.clone(),
        meeting_id: mid,
        version: meeting.version,
        body_id: body.id,
        body_name: body.body.name.clone(),
        heading,
        facts,
        video_link: d.video_link.clone().unwrap_or_default(),
        can_manage,
        sees_names,
        agenda,
        agenda_text: draft.agenda.unwrap_or_else(|| agenda_text(&v.plan, &meeting.agenda)),
        indicators: v.plan.indicators.iter().map(|i| (i.id, i.indicator.name.clone())).collect(),
        invited,
        attendance_summary: if sees_names && !meeting.attendance.is_empty() {
            meeting.attendance_summary().label()
        } else {
            String::new()
        },
        statuses: std::iter::once((String::new(), "Non invité(e)".to_owned()))
            .chain(AttendanceStatus::ALL.iter().map(|s| (s.code().to_owned(), s.label().to_owned())))
            .collect(),
        decisions,
        decision_form: draft.decision,
        fiche_hint: fiche_hint(&v.plan),
        minutes: if sees_names { meeting.minutes.clone().unwrap_or_default() } else { String::new() },
        minutes_text: draft.minutes.unwrap_or_else(|| meeting.minutes.clone().unwrap_or_default()),
        documents,
        today: date_short(today),
        today_iso: today.max(d.date).to_string(),
        overall: gauge(v.overall),
        ambitions: v
            .plan
            .stakes
            .iter()
            .flat_map(|(_, _, a)| a.iter())
            .map(|(n, t)| (*n, t.clone(), gauge(v.ambition_progress.get(n).copied().flatten())))
            .collect(),
        late: v
            .lateness()
            .iter()
            .map(|(link, l)| {
                let (what, why) = crate::plan::lateness_text(l);
                (link.clone(), what, why)
            })
            .collect(),
        open_decisions: open.iter().map(|o| open_line(o, &v.plan, id)).collect(),
        meeting_form: draft.meeting.unwrap_or_else(|| MeetingFields::of(&meeting)),
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// A meeting: when and where, agenda, attendance, decisions, minutes, documents and the preparation
/// pack.
pub async fn meeting(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    meeting_page(&state, &auth, id, mid, MeetingDraft::default(), FormErrors::new(), StatusCode::OK).await
}

/// The checks every write of the meeting page starts with: the right, the CSRF token, the meeting
/// of this convention.
async fn meeting_write(state: &AppState, auth: &Auth, id: i64, mid: i64) -> Result<(i64, i64), WebError> {
    state.authorize_write(auth, Action::ManageGovernance, Some(id)).await?;
    state.store.meeting(id, mid).await?;
    Ok((id, mid))
}

fn back_to_meeting(id: i64, mid: i64, anchor: &str) -> Response {
    Redirect::to(&format!("/conventions/{id}/seances/{mid}#{anchor}")).into_response()
}

/// Changes when and where a meeting is held, from the version read.
pub async fn meeting_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<MeetingFields>,
) -> Result<Response, PageError> {
    let (id, mid) = meeting_write(&state, &auth, id, mid).await?;
    let mut errors = FormErrors::new();
    let version: i64 = Version::parse(&form.version)?;
    let Some(meeting) = form.to_meeting(&mut errors) else {
        let draft = MeetingDraft { meeting: Some(form), ..MeetingDraft::default() };
        return meeting_page(&state, &auth, id, mid, draft, errors, StatusCode::BAD_REQUEST).await;
    };
    match state.store.update_meeting(&auth.actor(Channel::Page), id, mid, version, meeting).await {
        Ok(_) => Ok(back_to_meeting(id, mid, "seance")),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            let fresh = state.store.meeting(id, mid).await?.version.to_string();
            let draft =
                MeetingDraft { meeting: Some(MeetingFields { version: fresh, ..form }), ..MeetingDraft::default() };
            meeting_page(&state, &auth, id, mid, draft, errors, status).await
        }
    }
}

/// Replaces the agenda of a meeting, from the meeting's version read.
pub async fn agenda_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<AgendaFields>,
) -> Result<Response, PageError> {
    let (id, mid) = meeting_write(&state, &auth, id, mid).await?;
    let plan = state.store.plan(id).await?;
    let mut errors = FormErrors::new();
    let items = parse_agenda(&plan, &form.agenda, &mut errors);
    let draft = || MeetingDraft { agenda: Some(form.agenda.clone()), ..MeetingDraft::default() };
    if !errors.is_empty() {
        return meeting_page(&state, &auth, id, mid, draft(), errors, StatusCode::BAD_REQUEST).await;
    }
    let version: i64 = Version::parse(&form.version)?;
    match state.store.set_agenda(&auth.actor(Channel::Page), id, mid, version, &items).await {
        Ok(_) => Ok(back_to_meeting(id, mid, "ordre-du-jour")),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            meeting_page(&state, &auth, id, mid, draft(), errors, status).await
        }
    }
}

/// Replaces the invitations and answers of a meeting: `presence-<member>` (empty: not invited) and
/// `represente-<member>` for each member, with the meeting's version read.
pub async fn attendance_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let (id, mid) = meeting_write(&state, &auth, id, mid).await?;
    let meeting = state.store.meeting(id, mid).await?;
    let body = state.store.body(id, meeting.body_id).await?;
    let mut errors = FormErrors::new();
    let mut list = Vec::new();
    let mut keys: Vec<(&String, &String)> = form.iter().filter(|(k, _)| k.starts_with("presence-")).collect();
    keys.sort();
    for (key, value) in keys {
        let Some(member_id) = key.strip_prefix("presence-").and_then(|m| m.parse::<i64>().ok()) else { continue };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let name = body
            .members
            .iter()
            .find(|m| m.id == member_id)
            .map_or_else(|| format!("n° {member_id}"), |m| m.data.name.clone());
        let Ok(status) = AttendanceStatus::parse(value) else {
            errors.add(key, format!("{name} : présence inconnue « {value} »"));
            continue;
        };
        let by = form.get(&format!("represente-{member_id}")).map(|s| s.trim()).unwrap_or_default();
        let represented_by = match status {
            AttendanceStatus::Represented if by.is_empty() => {
                errors.add(&format!("represente-{member_id}"), format!("{name} : précisez qui le ou la représente"));
                continue;
            }
            AttendanceStatus::Represented => Some(by.to_owned()),
            _ => None,
        };
        list.push(Attendance { member_id, status, represented_by });
    }
    if !errors.is_empty() {
        return meeting_page(&state, &auth, id, mid, MeetingDraft::default(), errors, StatusCode::BAD_REQUEST).await;
    }
    let version: i64 = Version::parse(form.get("version").map(String::as_str).unwrap_or_default())?;
    match state.store.set_attendance(&auth.actor(Channel::Page), id, mid, version, &list).await {
        Ok(_) => Ok(back_to_meeting(id, mid, "presences")),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            meeting_page(&state, &auth, id, mid, MeetingDraft::default(), errors, status).await
        }
    }
}

/// Writes (or clears) the minutes of a meeting, from the meeting's version read.
pub async fn minutes_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<MinutesFields>,
) -> Result<Response, PageError> {
    let (id, mid) = meeting_write(&state, &auth, id, mid).await?;
    let version: i64 = Version::parse(&form.version)?;
    match state.store.set_minutes(&auth.actor(Channel::Page), id, mid, version, Some(&form.minutes)).await {
        Ok(_) => Ok(back_to_meeting(id, mid, "compte-rendu")),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            let draft = MeetingDraft { minutes: Some(form.minutes), ..MeetingDraft::default() };
            meeting_page(&state, &auth, id, mid, draft, errors, status).await
        }
    }
}

/// Records a decision of the meeting, on the fiches it concerns.
pub async fn decision_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<DecisionFields>,
) -> Result<Response, PageError> {
    let (id, mid) = meeting_write(&state, &auth, id, mid).await?;
    let plan = state.store.plan(id).await?;
    let mut errors = FormErrors::new();
    if form.decision_text.trim().is_empty() {
        errors.add("decision_text", "le texte de la décision est obligatoire");
    }
    let fiches = fiches_by_code(&plan, &form.decision_fiches).map_err(|m| errors.add("decision_fiches", m)).ok();
    let due = form_date(&mut errors, "decision_due", &form.decision_due);
    let draft = |f: DecisionFields| MeetingDraft { decision: f, ..MeetingDraft::default() };
    let (true, Some(fiches)) = (errors.is_empty(), fiches) else {
        return meeting_page(&state, &auth, id, mid, draft(form), errors, StatusCode::BAD_REQUEST).await;
    };
    let decision = NewDecision {
        text: form.decision_text.trim().to_owned(),
        fiches,
        follow_up: form.decision_follow_up.trim().to_owned(),
        due,
    };
    match state.store.add_decision(&auth.actor(Channel::Page), id, mid, decision).await {
        Ok(_) => Ok(back_to_meeting(id, mid, "decisions")),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            meeting_page(&state, &auth, id, mid, draft(form), errors, status).await
        }
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct CloseFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub closed_on: String,
    /// `decisions` to come back to the open decisions; the meeting page otherwise.
    #[serde(default)]
    pub suite: String,
}

/// Closes a decision, from the version read, on the day given (today by default).
pub async fn decision_close(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, did)): Ids<(i64, i64)>,
    PageForm(form): PageForm<CloseFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    let mid = state
        .store
        .meetings(id)
        .await?
        .into_iter()
        .find(|m| m.decisions.iter().any(|d| d.id == did))
        .map(|m| m.id)
        .ok_or_else(|| WebError::NotFound(format!("la décision n° {did} de cette convention n'existe pas")))?;
    let mut errors = FormErrors::new();
    let closed_on = form_date(&mut errors, "closed_on", &form.closed_on).unwrap_or_else(|| state.today());
    let to_list = form.suite == "decisions";
    let result = if errors.is_empty() {
        let version: i64 = Version::parse(&form.version)?;
        state.store.close_decision(&auth.actor(Channel::Page), id, did, version, closed_on).await.map(|_| ())
    } else {
        Err(StoreError::Invalid(errors.get("closed_on").to_owned()))
    };
    match result {
        Ok(()) if to_list => Ok(Redirect::to(&format!("/conventions/{id}/decisions")).into_response()),
        Ok(()) => Ok(back_to_meeting(id, mid, "decisions")),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            if to_list {
                decisions_page(&state, &auth, id, ExportQuery::default(), errors, status).await
            } else {
                meeting_page(&state, &auth, id, mid, MeetingDraft::default(), errors, status).await
            }
        }
    }
}

/// Attaches a document to a meeting (the coordination).
pub async fn meeting_upload(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
    multipart: Multipart,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewDocuments, Some(id)).await?;
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    state.store.meeting(id, mid).await?;
    let (name, bytes) = read_upload(multipart, "document", "choisissez un fichier").await?;
    match state.store.add_document(&auth.actor(Channel::Page), id, Owner::Meeting(mid), &name, &bytes).await {
        Ok(_) => Ok(back_to_meeting(id, mid, "documents")),
        Err(StoreError::Invalid(m)) => Err(WebError::BadRequest(m).into()),
        Err(e) => Err(WebError::from(e).into()),
    }
}

// ---------------------------------------------------------------------------------------------
// The open decisions of every body

#[derive(Template)]
#[template(path = "governance_decisions.html")]
struct DecisionsPage {
    nav: Nav,
    id: i64,
    title: String,
    today: String,
    today_iso: String,
    can_manage: bool,
    lines: Vec<OpenLine>,
    overdue: usize,
    exports: Vec<(String, String)>,
    errors: FormErrors,
}

fn decisions_table(plan: &Plan, open: &[OpenDecision]) -> Table {
    Table {
        title: "Décisions ouvertes".into(),
        columns: vec![
            Column::new("echeance", "Échéance"),
            Column::new("decision", "Décision"),
            Column::new("fiches", "Fiches action"),
            Column::new("suivi_par", "Suivi par"),
            Column::new("instance", "Instance"),
            Column::new("seance", "Séance"),
            Column::new("en_retard", "Échéance dépassée"),
            Column::new("jours_de_retard", "Jours de retard"),
        ],
        rows: open
            .iter()
            .map(|o| {
                let d = &o.decision;
                vec![
                    d.data.due.map_or(Value::Empty, Value::Date),
                    Value::Text(d.data.text.clone()),
                    Value::Text(codes_of(plan, &d.data.fiches).replace(", ", ";")),
                    Value::Text(d.data.follow_up.clone()),
                    Value::Text(o.body_name.clone()),
                    Value::Date(o.meeting_date),
                    Value::Text(if o.overdue { "oui" } else { "non" }.into()),
                    Value::Integer(o.days_overdue),
                ]
            })
            .collect(),
    }
}

async fn decisions_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    q: ExportQuery,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let summary = state.store.convention_summary(id).await?;
    let today = state.today();
    let plan = state.store.plan(id).await?;
    let open = state.store.open_decisions(id, today).await?;
    if let Some(format) = q.format()? {
        return Ok(download(&decisions_table(&plan, &open), format, &format!("decisions-ouvertes-{id}"))?);
    }
    let page = DecisionsPage {
        nav: Nav::of(auth),
        id,
        title: summary.title,
        today: date_short(today),
        today_iso: today.to_string(),
        can_manage: state.may(auth, Action::ManageGovernance, Some(id)).await,
        overdue: open.iter().filter(|o| o.overdue).count(),
        lines: open.iter().map(|o| open_line(o, &plan, id)).collect(),
        exports: links(&format!("/conventions/{id}/decisions"), &[], None),
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// The decisions still open across all the bodies, by due date, those overdue flagged.
pub async fn decisions(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    decisions_page(&state, &auth, id, q, FormErrors::new(), StatusCode::OK).await
}

// ---------------------------------------------------------------------------------------------
// Concertation

pub(crate) struct ContributionLine {
    pub id: i64,
    pub version: i64,
    pub text: String,
    pub author: String,
    pub theme: String,
    pub ambitions: Vec<(i64, String)>,
    pub fiches: Vec<(String, String)>,
    pub ambitions_text: String,
    pub fiches_text: String,
    pub open: bool,
}

pub(crate) struct EventLine {
    pub id: i64,
    pub kind: &'static str,
    pub title: String,
    pub dates: String,
    pub occurrences: i64,
    pub communes: String,
    pub participants: Vec<(&'static str, String)>,
    pub total: String,
    pub themes: String,
    pub note: String,
    pub contributions: Vec<ContributionLine>,
}

pub(crate) struct TotalsLine {
    pub label: String,
    pub events: String,
    pub inhabitants: String,
    pub elected: String,
    pub partners: String,
    pub unattributed: String,
    pub all: String,
}

fn approx(n: i64, approximate: bool) -> String {
    if approximate && n > 0 {
        format!("environ {}", integer(n))
    } else {
        integer(n)
    }
}

/// A row of totals; a category that no event of the row gives is unknown (« — »), not zero.
fn totals_line(label: String, events: &[&NewConcertationEvent], t: &CategoryTotals) -> TotalsLine {
    let known = |c: ParticipantCategory| events.iter().any(|e| e.participants.get(c).is_some());
    let cell = |c: ParticipantCategory, n: i64| if known(c) { integer(n) } else { "—".to_owned() };
    let any_total = events.iter().any(|e| e.participants.total.is_some());
    let any_count = events.iter().any(|e| e.participants.total().is_some());
    TotalsLine {
        label,
        events: integer(events.iter().map(|e| e.occurrences).sum()),
        inhabitants: cell(ParticipantCategory::Inhabitants, t.inhabitants),
        elected: cell(ParticipantCategory::Elected, t.elected),
        partners: cell(ParticipantCategory::Partners, t.partners),
        unattributed: if any_total { approx(t.unattributed, t.approximate) } else { "—".to_owned() },
        all: if any_count { approx(t.all(), t.approximate) } else { "—".to_owned() },
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct EventFields {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub end: String,
    #[serde(default)]
    pub occurrences: String,
    #[serde(default)]
    pub communes: String,
    #[serde(default)]
    pub commune_count: String,
    #[serde(default)]
    pub inhabitants: String,
    #[serde(default)]
    pub elected: String,
    #[serde(default)]
    pub partners: String,
    #[serde(default)]
    pub total: String,
    #[serde(default)]
    pub approximate: String,
    #[serde(default)]
    pub themes: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct ContributionFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub event: String,
    #[serde(default)]
    pub contribution_text: String,
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub theme: String,
    #[serde(default)]
    pub ambitions: String,
    #[serde(default)]
    pub fiches: String,
}

#[derive(Default)]
struct ConcertationDraft {
    event: EventFields,
    contribution: ContributionFields,
    link: Option<(i64, ContributionFields)>,
}

#[derive(Template)]
#[template(path = "governance_concertation.html")]
struct ConcertationPage {
    nav: Nav,
    id: i64,
    title: String,
    can_manage: bool,
    by_category: TotalsLine,
    by_kind: Vec<TotalsLine>,
    approximate: bool,
    events: Vec<EventLine>,
    contributions: usize,
    answered: usize,
    kinds: Vec<(String, String)>,
    categories: Vec<(String, String)>,
    event_options: Vec<(String, String)>,
    ambition_hint: String,
    fiche_hint: String,
    event_form: EventFields,
    contribution_form: ContributionFields,
    errors: FormErrors,
}

fn numbers(raw: &str, errors: &mut FormErrors, field: &str) -> Vec<i64> {
    let mut out = Vec::new();
    for token in split_list(raw).flat_map(|t| t.split_whitespace()) {
        match token.trim_start_matches("n°").parse::<i64>() {
            Ok(n) if n > 0 => out.push(n),
            _ => errors.add(field, format!("numéro d'ambition invalide « {token} »")),
        }
    }
    out
}

async fn concertation_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    draft: ConcertationDraft,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let offer = crate::offer::Offer::load(state, id).await?;
    let plan = state.store.plan(id).await?;
    let events = state.store.concertation(id).await?;
    let all = totals_by_category(&events);
    let ambition_title = |n: i64| {
        plan.stakes
            .iter()
            .flat_map(|(_, _, a)| a.iter())
            .find(|(x, _)| *x == n)
            .map_or_else(|| format!("Ambition {n}"), |(_, t)| format!("Ambition {n} : {t}"))
    };
    let lines: Vec<EventLine> = events
        .iter()
        .map(|e| {
            let d = &e.data;
            let p = &d.participants;
            let mut participants = Vec::new();
            for c in ParticipantCategory::ALL {
                if let Some(n) = p.get(*c) {
                    participants.push((c.label(), approx(n, p.approximate)));
                }
            }
            EventLine {
                id: e.id,
                kind: d.kind.label(),
                title: d.title.clone(),
                dates: match d.end {
                    Some(end) if end != d.start => format!("du {} au {}", date_short(d.start), date_short(end)),
                    _ => format!("le {}", date_short(d.start)),
                },
                occurrences: d.occurrences,
                communes: if d.communes.is_empty() {
                    d.commune_count
                        .map(|n| format!("{} commune{}", integer(n), if n > 1 { "s" } else { "" }))
                        .unwrap_or_default()
                } else {
                    d.communes.iter().map(|c| offer.commune_name(c)).collect::<Vec<_>>().join(", ")
                },
                participants,
                total: p.total().map(|t| approx(t, p.approximate)).unwrap_or_else(|| "non connu".into()),
                themes: d.themes.join(", "),
                note: d.note.clone().unwrap_or_default(),
                contributions: e
                    .contributions
                    .iter()
                    .map(|c| {
                        let (form, open) = match &draft.link {
                            Some((cid, f)) if *cid == c.id => (f.clone(), true),
                            _ => (
                                ContributionFields {
                                    version: c.version.to_string(),
                                    ambitions: c
                                        .data
                                        .ambitions
                                        .iter()
                                        .map(ToString::to_string)
                                        .collect::<Vec<_>>()
                                        .join(", "),
                                    fiches: codes_of(&plan, &c.data.fiches),
                                    ..ContributionFields::default()
                                },
                                false,
                            ),
                        };
                        ContributionLine {
                            id: c.id,
                            version: form.version.parse().unwrap_or(c.version),
                            text: c.data.text.clone(),
                            author: c.data.author.map(|a| a.label().to_owned()).unwrap_or_default(),
                            theme: c.data.theme.clone().unwrap_or_default(),
                            ambitions: c.data.ambitions.iter().map(|n| (*n, ambition_title(*n))).collect(),
                            fiches: fiche_links(&plan, id, &c.data.fiches),
                            ambitions_text: form.ambitions,
                            fiches_text: form.fiches,
                            open,
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let contributions = events.iter().map(|e| e.contributions.len()).sum();
    let answered = events.iter().flat_map(|e| e.contributions.iter()).filter(|c| c.data.is_answered()).count();
    let page = ConcertationPage {
        nav: Nav::of(auth),
        id,
        title: offer.convention.title.clone(),
        can_manage: state.may(auth, Action::ManageGovernance, Some(id)).await,
        by_category: totals_line(
            "Ensemble de la concertation".into(),
            &events.iter().map(|e| &e.data).collect::<Vec<_>>(),
            &all,
        ),
        by_kind: totals_by_kind(&events)
            .iter()
            .map(|k| {
                let of_kind: Vec<&NewConcertationEvent> =
                    events.iter().map(|e| &e.data).filter(|e| e.kind == k.kind).collect();
                totals_line(k.kind.label().to_owned(), &of_kind, &k.participants)
            })
            .collect(),
        approximate: all.approximate,
        events: lines,
        contributions,
        answered,
        kinds: ConcertationKind::ALL.iter().map(|k| (k.code().to_owned(), k.label().to_owned())).collect(),
        categories: ParticipantCategory::ALL.iter().map(|c| (c.code().to_owned(), c.label().to_owned())).collect(),
        event_options: events
            .iter()
            .map(|e| (e.id.to_string(), format!("{} ({})", e.data.title, date_short(e.data.start))))
            .collect(),
        ambition_hint: plan
            .stakes
            .iter()
            .flat_map(|(_, _, a)| a.iter())
            .map(|(n, t)| format!("{n} : {t}"))
            .collect::<Vec<_>>()
            .join(" ; "),
        fiche_hint: fiche_hint(&plan),
        event_form: draft.event,
        contribution_form: draft.contribution,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// The concertation: its events, participants by category and kind, contributions and what answers them.
pub async fn concertation(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let draft = ConcertationDraft {
        event: EventFields { occurrences: "1".into(), ..EventFields::default() },
        ..ConcertationDraft::default()
    };
    concertation_page(&state, &auth, id, draft, FormErrors::new(), StatusCode::OK).await
}

impl EventFields {
    fn to_event(&self, offer: &crate::offer::Offer, errors: &mut FormErrors) -> Option<NewConcertationEvent> {
        let kind = ConcertationKind::parse(self.kind.trim())
            .map_err(|_| errors.add("kind", "choisissez la nature de l'événement"))
            .ok();
        if self.title.trim().is_empty() {
            errors.add("title", "l'intitulé de l'événement est obligatoire");
        }
        let start = form_date(errors, "start", &self.start);
        if start.is_none() && self.start.trim().is_empty() {
            errors.add("start", "la date (ou le début de la période) est obligatoire");
        }
        let end = form_date(errors, "end", &self.end);
        let occurrences = if self.occurrences.trim().is_empty() {
            Some(1)
        } else {
            opt_count(errors, "occurrences", &self.occurrences)
        };
        let communes = offer.parse_communes(&self.communes).map_err(|m| errors.add("communes", m)).ok();
        let commune_count = opt_count(errors, "commune_count", &self.commune_count);
        let participants = Participants {
            inhabitants: opt_count(errors, "inhabitants", &self.inhabitants),
            elected: opt_count(errors, "elected", &self.elected),
            partners: opt_count(errors, "partners", &self.partners),
            total: opt_count(errors, "total", &self.total),
            approximate: !self.approximate.is_empty(),
        };
        if !errors.is_empty() {
            return None;
        }
        Some(NewConcertationEvent {
            kind: kind?,
            title: self.title.trim().to_owned(),
            start: start?,
            end,
            occurrences: occurrences.unwrap_or(1),
            communes: communes?,
            commune_count,
            participants,
            themes: split_list(&self.themes).map(str::to_owned).collect(),
            note: opt_text(&self.note),
        })
    }
}

/// Records a concertation event.
pub async fn event_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<EventFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    let offer = crate::offer::Offer::load(&state, id).await?;
    let mut errors = FormErrors::new();
    let draft = |f: EventFields| ConcertationDraft { event: f, ..ConcertationDraft::default() };
    let Some(event) = form.to_event(&offer, &mut errors) else {
        return concertation_page(&state, &auth, id, draft(form), errors, StatusCode::BAD_REQUEST).await;
    };
    match state.store.create_concertation_event(&auth.actor(Channel::Page), id, event).await {
        Ok(eid) => Ok(Redirect::to(&format!("/conventions/{id}/concertation#evenement-{eid}")).into_response()),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            concertation_page(&state, &auth, id, draft(form), errors, status).await
        }
    }
}

/// Adds a contribution to an event (`event` field), with the ambitions and fiches that answer it.
pub async fn contribution_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<ContributionFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    let plan = state.store.plan(id).await?;
    let mut errors = FormErrors::new();
    let event = form.event.trim().parse::<i64>().map_err(|_| errors.add("event", "choisissez l'événement")).ok();
    if form.contribution_text.trim().is_empty() {
        errors.add("contribution_text", "le texte de la contribution est obligatoire");
    }
    let author = match form.author.trim() {
        "" => None,
        a => ParticipantCategory::parse(a).map_err(|e| errors.add("author", e.to_string())).ok(),
    };
    let ambitions = numbers(&form.ambitions, &mut errors, "ambitions");
    let fiches = fiches_by_code(&plan, &form.fiches).map_err(|m| errors.add("fiches", m)).unwrap_or_default();
    let draft = |f: ContributionFields| ConcertationDraft {
        event: EventFields { occurrences: "1".into(), ..EventFields::default() },
        contribution: f,
        link: None,
    };
    let (true, Some(event)) = (errors.is_empty(), event) else {
        return concertation_page(&state, &auth, id, draft(form), errors, StatusCode::BAD_REQUEST).await;
    };
    let contribution = NewContribution {
        text: form.contribution_text.trim().to_owned(),
        author,
        theme: opt_text(&form.theme),
        ambitions,
        fiches,
    };
    match state.store.add_contribution(&auth.actor(Channel::Page), id, event, contribution).await {
        Ok(_) => Ok(Redirect::to(&format!("/conventions/{id}/concertation#evenement-{event}")).into_response()),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            concertation_page(&state, &auth, id, draft(form), errors, status).await
        }
    }
}

/// Links a contribution to the ambitions (numbers) and fiches (codes) that answer it, from the version read.
pub async fn contribution_link(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, cid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<ContributionFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    let plan = state.store.plan(id).await?;
    let prefix = format!("contribution-{cid}-");
    let mut errors = FormErrors::new();
    let ambitions = numbers(&form.ambitions, &mut errors, &format!("{prefix}ambitions"));
    let fiches =
        fiches_by_code(&plan, &form.fiches).map_err(|m| errors.add(&format!("{prefix}fiches"), m)).unwrap_or_default();
    let draft = |f: ContributionFields| ConcertationDraft {
        event: EventFields { occurrences: "1".into(), ..EventFields::default() },
        contribution: ContributionFields::default(),
        link: Some((cid, f)),
    };
    if !errors.is_empty() {
        return concertation_page(&state, &auth, id, draft(form), errors, StatusCode::BAD_REQUEST).await;
    }
    let version: i64 = Version::parse(&form.version)?;
    match state.store.link_contribution(&auth.actor(Channel::Page), id, cid, version, (&ambitions, &fiches)).await {
        Ok(_) => Ok(Redirect::to(&format!("/conventions/{id}/concertation#contribution-{cid}")).into_response()),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            let fresh = state
                .store
                .concertation(id)
                .await?
                .into_iter()
                .flat_map(|e| e.contributions)
                .find(|c| c.id == cid)
                .map(|c| c.version.to_string());
            let form = ContributionFields { version: fresh.unwrap_or(form.version.clone()), ..form };
            concertation_page(&state, &auth, id, draft(form), errors, status).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Coordination posts (art. 7-b)

#[derive(Debug, Default, Clone, Deserialize)]
pub struct PostFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub person: String,
    #[serde(default)]
    pub employer: String,
    #[serde(default)]
    pub fte: String,
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub end: String,
    #[serde(default)]
    pub funding: String,
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub funder: String,
}

fn euros_field(cents: i64) -> String {
    format!("{},{:02}", cents / 100, cents % 100)
}

impl PostFields {
    fn of(p: &Post) -> Self {
        let d = &p.data;
        Self {
            version: p.version.to_string(),
            person: d.person.clone().unwrap_or_default(),
            employer: d.employer.clone(),
            fte: french_number(d.fte_hundredths as f64 / 100.0),
            start: d.start.to_string(),
            end: date_iso(d.end),
            funding: d.funding.clone(),
            amount: d.amount_cents.map(euros_field).unwrap_or_default(),
            funder: d.funder.clone().unwrap_or_default(),
        }
    }

    fn to_post(&self, prefix: &str, errors: &mut FormErrors) -> Option<NewPost> {
        let key = |f: &str| format!("{prefix}{f}");
        if self.employer.trim().is_empty() {
            errors.add(&key("employer"), "l'employeur est obligatoire");
        }
        let fte = match self.fte.trim().replace(',', ".").parse::<f64>() {
            Ok(f) if f > 0.0 && f <= 1.0 => Some((f * 100.0).round() as i64),
            _ => {
                errors.add(
                    &key("fte"),
                    format!("quotité invalide « {} » : un nombre d'ETP de 0,01 à 1, par exemple 0,8", self.fte.trim()),
                );
                None
            }
        };
        let start = form_date(errors, &key("start"), &self.start);
        if start.is_none() && self.start.trim().is_empty() {
            errors.add(&key("start"), "la date de début est obligatoire");
        }
        let end = form_date(errors, &key("end"), &self.end);
        let amount = match self.amount.trim() {
            "" => None,
            raw => ctg_domain::offer::parse_euros(raw).map_err(|m| errors.add(&key("amount"), m)).ok(),
        };
        if amount.is_some() && self.funder.trim().is_empty() {
            errors.add(&key("funder"), "précisez le financeur du montant");
        }
        if !errors.is_empty() {
            return None;
        }
        Some(NewPost {
            person: opt_text(&self.person),
            employer: self.employer.trim().to_owned(),
            fte_hundredths: fte?,
            start: start?,
            end,
            funding: self.funding.trim().to_owned(),
            amount_cents: amount,
            funder: opt_text(&self.funder),
        })
    }
}

pub(crate) struct PostLine {
    pub id: i64,
    pub person: String,
    pub employer: String,
    pub fte: String,
    pub period: String,
    pub funding: String,
    pub amount: String,
    pub active: bool,
    pub form: PostFields,
    pub open: bool,
}

#[derive(Template)]
#[template(path = "governance_cooperation.html")]
struct CooperationPage {
    nav: Nav,
    id: i64,
    title: String,
    can_manage: bool,
    sees_names: bool,
    today: String,
    fte_today: String,
    posts: Vec<PostLine>,
    form: PostFields,
    errors: FormErrors,
}

#[derive(Default)]
struct PostDraft {
    new: Option<PostFields>,
    edit: Option<(i64, PostFields)>,
}

async fn cooperation_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    draft: PostDraft,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let summary = state.store.convention_summary(id).await?;
    let today = state.today();
    let sees_names = state.sees_personal_data(auth, id).await;
    let posts = state.store.coordination_posts(id).await?;
    let page = CooperationPage {
        nav: Nav::of(auth),
        id,
        title: summary.title,
        can_manage: state.may(auth, Action::ManageGovernance, Some(id)).await,
        sees_names,
        today: date_short(today),
        fte_today: format!("{} ETP", french_number(fte_on(&posts, today) as f64 / 100.0)),
        posts: posts
            .iter()
            .map(|p| {
                let d = &p.data;
                let (form, open) = match &draft.edit {
                    Some((pid, f)) if *pid == p.id => (f.clone(), true),
                    _ => (PostFields::of(p), false),
                };
                PostLine {
                    id: p.id,
                    person: match (&d.person, sees_names) {
                        (None, _) => "poste vacant".into(),
                        (Some(name), true) => name.clone(),
                        (Some(_), false) => "poste pourvu".into(),
                    },
                    employer: d.employer.clone(),
                    fte: format!("{} ETP", french_number(d.fte_hundredths as f64 / 100.0)),
                    period: match d.end {
                        Some(end) => format!("du {} au {}", date_short(d.start), date_short(end)),
                        None => format!("depuis le {}", date_short(d.start)),
                    },
                    funding: d.funding.clone(),
                    amount: match (d.amount_cents, &d.funder) {
                        (Some(c), Some(f)) => format!("{} par an ({f})", crate::offer::euros(c)),
                        (Some(c), None) => format!("{} par an", crate::offer::euros(c)),
                        _ => String::new(),
                    },
                    active: d.is_active_on(today),
                    form,
                    open,
                }
            })
            .collect(),
        form: draft.new.unwrap_or_else(|| PostFields { fte: "1".into(), ..PostFields::default() }),
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// The chargés de coopération of art. 7-b.
pub async fn cooperation(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    cooperation_page(&state, &auth, id, PostDraft::default(), FormErrors::new(), StatusCode::OK).await
}

/// Records a chargé de coopération post.
pub async fn post_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<PostFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    let mut errors = FormErrors::new();
    let Some(post) = form.to_post("", &mut errors) else {
        let draft = PostDraft { new: Some(form), edit: None };
        return cooperation_page(&state, &auth, id, draft, errors, StatusCode::BAD_REQUEST).await;
    };
    match state.store.create_post(&auth.actor(Channel::Page), id, post).await {
        Ok(_) => Ok(Redirect::to(&format!("/conventions/{id}/cooperation")).into_response()),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            cooperation_page(&state, &auth, id, PostDraft { new: Some(form), edit: None }, errors, status).await
        }
    }
}

/// Changes a post, from the version read.
pub async fn post_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, pid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<PostFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    if !state.store.coordination_posts(id).await?.iter().any(|p| p.id == pid) {
        return Err(WebError::NotFound(format!("le poste n° {pid} de cette convention n'existe pas")).into());
    }
    let mut errors = FormErrors::new();
    let version: i64 = Version::parse(&form.version)?;
    let Some(post) = form.to_post(&format!("poste-{pid}-"), &mut errors) else {
        return cooperation_page(
            &state,
            &auth,
            id,
            PostDraft { new: None, edit: Some((pid, form)) },
            errors,
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    match state.store.update_post(&auth.actor(Channel::Page), id, pid, version, post).await {
        Ok(_) => Ok(Redirect::to(&format!("/conventions/{id}/cooperation")).into_response()),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            let fresh = state
                .store
                .coordination_posts(id)
                .await?
                .into_iter()
                .find(|p| p.id == pid)
                .map(|p| p.version.to_string());
            let form = PostFields { version: fresh.unwrap_or(form.version.clone()), ..form };
            cooperation_page(&state, &auth, id, PostDraft { new: None, edit: Some((pid, form)) }, errors, status).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_browsers_and_people_write_them() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0);
        assert_eq!(parse_time("14:30"), t(14, 30));
        assert_eq!(parse_time("09:05:00"), t(9, 5));
        assert_eq!(parse_time("14 h 30"), t(14, 30));
        assert_eq!(parse_time("9h"), t(9, 0));
        assert_eq!(parse_time("midi"), None);
        assert_eq!(time_text(NaiveTime::from_hms_opt(9, 5, 0).unwrap()), "09 h 05");
    }

    #[test]
    fn calendar_files_have_plain_names() {
        assert_eq!(calendar_file("Comité technique opérationnel"), "calendrier-comite-technique-operationnel.ics");
        assert_eq!(calendar_file("« »"), "calendrier-instance.ics");
    }
}
