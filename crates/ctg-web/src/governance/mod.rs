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

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
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

mod bodies;
mod concertation;
mod cooperation;
mod decisions;
mod meetings;

pub(crate) use bodies::*;
pub(crate) use concertation::*;
pub(crate) use cooperation::*;
pub(crate) use decisions::*;
pub(crate) use meetings::*;
