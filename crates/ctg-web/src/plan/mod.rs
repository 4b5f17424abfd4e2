//! The action plan on pages: the tree (enjeu → ambition → objective → fiche → sub-action) with progress
//! bars, the table of fiches with filters and sorting, the timeline over the convention's years, the
//! lateness list, the fiche page and its forms, the indicator page with its chart, the import
//! (previewed before anything is written) and the export of the plan.

pub mod api;
pub mod io;
pub mod strategy;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
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
    /// The convention's parties, that means lines name (empty in the outline).
    pub parties: Vec<ctg_domain::funds::PartyRef>,
}

impl PlanView {
    /// The view of the plan of convention `id` today: from memory while nothing was written to the
    /// convention (its write stamp, read first, is unchanged), else read and computed once, the other
    /// requests for it waiting for that one.
    pub async fn load(state: &AppState, id: i64) -> Result<Arc<Self>, WebError> {
        let today = state.today();
        let compute = || async {
            let convention = state.store.convention_summary(id).await?;
            let epci = state.store.epci(&convention.epci_siren).await?;
            let communes = epci.communes.iter().map(|c| (c.code.clone(), c.name.clone())).collect();
            let plan = state.store.plan(id).await?;
            let parties = state.store.party_refs(id).await?;
            Ok::<_, WebError>(Arc::new(Self { parties, ..Self::compute(convention, communes, plan, today) }))
        };
        match state.store.write_stamps(&[id]).await?.get(&id).copied() {
            Some(stamp) => state.plan_views.get_or_load(id, (today, stamp), compute).await,
            None => compute().await,
        }
    }

    /// The plan as its tree needs it: no means, status history or indicators, no communes (the whole
    /// view when it is in memory).
    pub async fn load_outline(state: &AppState, id: i64) -> Result<Arc<Self>, WebError> {
        let today = state.today();
        let compute = || async {
            let convention = state.store.convention_summary(id).await?;
            let plan = state.store.plan_outline(id).await?;
            Ok::<_, WebError>(Arc::new(Self::compute(convention, Vec::new(), plan, today)))
        };
        match state.store.write_stamps(&[id]).await?.get(&id).copied() {
            Some(stamp) => match state.plan_views.get(&id, &(today, stamp)) {
                Some(whole) => Ok(whole),
                None => state.plan_outlines.get_or_load(id, (today, stamp), compute).await,
            },
            None => compute().await,
        }
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
        Self {
            convention,
            communes,
            plan,
            today,
            fiche_progress,
            ambition_progress,
            stake_progress,
            overall,
            tracking,
            parties: Vec::new(),
        }
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

    /// What an indicator follows, as the documents name it: its fiche's code, or « ensemble du plan ».
    pub fn followed_by(&self, i: &ctg_store::IndicatorRecord) -> String {
        i.fiche_id
            .and_then(|f| self.plan.fiches.iter().find(|x| x.id == f))
            .map_or_else(|| "ensemble du plan".to_owned(), |f| f.fiche.code.clone())
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

    /// The days a fiche is overdue on the day (its end passed, not finished, not stopped by a
    /// termination), if it is.
    pub fn fiche_days_late(&self, f: &FicheRecord) -> Option<i64> {
        let (status, end) = (f.fiche.status, f.fiche.end);
        past_end(status, end, self.today)
            .filter(|_| !self.plan.stop.is_some_and(|s| s.stops_fiche(status, end)))
            .map(|end| ctg_domain::plan::days_overdue(end, self.today))
    }

    /// The badge « En retard de N jours » of a fiche, or an empty string.
    pub fn fiche_late_badge(&self, f: &FicheRecord) -> String {
        self.fiche_days_late(f).map(ctg_domain::plan::late_badge).unwrap_or_default()
    }

    /// Everything late on the day: fiches and sub-actions past their end, indicators missing a value
    /// or below their target. A fiche or sub-action stopped by a termination (art. 13) is stopped, not
    /// late.
    pub fn lateness(&self) -> Vec<(String, Lateness)> {
        self.late_items().into_iter().map(|l| (l.link, l.lateness)).collect()
    }

    /// [`PlanView::lateness`], each with the fiche it concerns (its pilot to call) and the days it
    /// is overdue.
    pub fn late_items(&self) -> Vec<LateItem<'_>> {
        let mut out = Vec::new();
        let late = |status: FicheStatus, end: Option<NaiveDate>| {
            past_end(status, end, self.today).filter(|_| !self.plan.stop.is_some_and(|s| s.stops_fiche(status, end)))
        };
        let days = |end: NaiveDate| Some(ctg_domain::plan::days_overdue(end, self.today));
        for f in &self.plan.fiches {
            let link = format!("/conventions/{}/plan/fiches/{}", self.convention.id, f.id);
            if let Some(end) = late(f.fiche.status, f.fiche.end) {
                out.push(LateItem {
                    link: link.clone(),
                    lateness: Lateness::PastEnd { what: format!("Fiche {} : {}", f.fiche.code, f.fiche.title), end },
                    fiche: Some(f),
                    days: days(end),
                });
            }
            for s in &f.subs {
                if let Some(end) = late(s.sub.status, s.sub.end) {
                    out.push(LateItem {
                        link: link.clone(),
                        lateness: Lateness::PastEnd {
                            what: format!("Sous-action de la fiche {} : {}", f.fiche.code, s.sub.title),
                            end,
                        },
                        fiche: Some(f),
                        days: days(end),
                    });
                }
            }
        }
        for i in &self.plan.indicators {
            let link = format!("/conventions/{}/plan/indicateurs/{}", self.convention.id, i.id);
            let what = format!("Indicateur : {}", i.indicator.name);
            let fiche = i.fiche_id.and_then(|fid| self.plan.fiches.iter().find(|f| f.id == fid));
            // A value for a year is due once the year has ended.
            let year_end = |year: i32| NaiveDate::from_ymd_opt(year, 12, 31).and_then(days);
            match self.tracking[&i.id] {
                Tracking::MissingValue { year } => out.push(LateItem {
                    link,
                    lateness: Lateness::MissingValue { what, year },
                    fiche,
                    days: year_end(year),
                }),
                Tracking::Late { year } => {
                    out.push(LateItem { link, lateness: Lateness::BelowTarget { what, year }, fiche, days: None });
                }
                _ => {}
            }
        }
        out
    }
}

/// Something late, with the fiche it concerns (for its pilot) and how many days overdue.
pub(crate) struct LateItem<'a> {
    pub link: String,
    pub lateness: Lateness,
    pub fiche: Option<&'a FicheRecord>,
    /// Days past the end date, or since the end of the year of a missing value; `None` for an
    /// indicator below its target.
    pub days: Option<i64>,
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

pub(crate) mod fiche;
mod fiche_form;
mod fiches;
mod indicator;
mod reporting;
mod timeline;
mod tree;

pub(crate) use fiche::*;
pub(crate) use fiche_form::*;
pub(crate) use fiches::*;
pub(crate) use indicator::*;
pub(crate) use reporting::*;
pub(crate) use timeline::*;
pub(crate) use tree::*;
