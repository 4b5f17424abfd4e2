//! « Mon tableau de bord »: where a person lands after logging in. For each convention in which
//! they have a role (every convention for an administrator): their fiches and next due dates,
//! what is late with the pilot to call, indicators waiting for a value, the next meetings, open
//! decisions due soon, signatures and avenants still pending. Every item is a link.

use askama::Template;
use axum::extract::State;
use axum::response::Html;
use chrono::NaiveDate;
use ctg_domain::access::{Action, Role};
use ctg_domain::format::date_short;
use ctg_domain::plan::{late_badge, Lateness};

use crate::auth::Auth;
use crate::portfolio::{is_due_soon, Facts};
use crate::views::Nav;
use crate::{AppState, PageError};

/// One line of the dashboard: what, where to go, a detail (a date, a pilot), an optional badge.
pub struct Item {
    pub href: String,
    pub text: String,
    pub detail: String,
    pub badge: String,
}

/// What the dashboard says about one convention.
pub struct ConventionBlock {
    pub id: i64,
    pub title: String,
    pub role: &'static str,
    pub my_fiches: Vec<Item>,
    pub late: Vec<Item>,
    pub waiting_values: Vec<Item>,
    pub meetings: Vec<Item>,
    pub decisions: Vec<Item>,
    pub signatures: Vec<Item>,
}

impl ConventionBlock {
    pub fn is_quiet(&self) -> bool {
        self.my_fiches.is_empty()
            && self.late.is_empty()
            && self.waiting_values.is_empty()
            && self.meetings.is_empty()
            && self.decisions.is_empty()
            && self.signatures.is_empty()
    }
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    nav: Nav,
    name: String,
    today: String,
    blocks: Vec<ConventionBlock>,
}

pub async fn dashboard(State(state): State<AppState>, auth: Auth) -> Result<Html<String>, PageError> {
    state.authorize(&auth, Action::OwnAccount, None).await?;
    let Some(user) = auth.user.clone() else {
        return Err(crate::WebError::LoginRequired.into());
    };
    let today = state.today();
    let mut blocks = Vec::new();
    for c in state.store.conventions().await? {
        let role = state.store.role(user.id, c.id).await?;
        if role.is_none() && !user.is_admin {
            continue;
        }
        blocks.push(block(&state, &user, c.id, role, today).await?);
    }
    let page = DashboardPage { nav: Nav::of(&auth), name: user.name.clone(), today: date_short(today), blocks };
    Ok(Html(page.render()?))
}

async fn block(
    state: &AppState,
    user: &ctg_store::User,
    id: i64,
    role: Option<Role>,
    today: NaiveDate,
) -> Result<ConventionBlock, crate::WebError> {
    let facts = Facts::load(state, id, today).await?;
    let v = &facts.v;
    let base = format!("/conventions/{id}");
    // My fiches: piloted by my organisation, or by me by name.
    let mine_org = my_pilot_organisations(state, user, &v.plan.fiches).await;
    let is_mine = |f: &ctg_store::FicheRecord| pilots(f, user, &mine_org);
    let mut mine: Vec<&ctg_store::FicheRecord> = v
        .plan
        .fiches
        .iter()
        .filter(|f| is_mine(f) && !matches!(f.fiche.status.code(), "realisee" | "abandonnee"))
        .collect();
    mine.sort_by_key(|f| f.fiche.end.unwrap_or(NaiveDate::MAX));
    let my_fiches = mine
        .iter()
        .map(|f| Item {
            href: format!("{base}/plan/fiches/{}", f.id),
            text: format!("{} — {}", f.fiche.code, f.fiche.title),
            detail: f.fiche.end.map_or_else(
                || "échéance non renseignée".to_owned(),
                |e| format!("échéance le {} · {}", date_short(e), f.fiche.status.label()),
            ),
            badge: v.fiche_late_badge(f),
        })
        .collect();
    // Late and waiting for a value: for the coordination, everything; for others, their fiches.
    let everything = matches!(role, Some(Role::Coordination)) || user.is_admin;
    let pilot = |f: Option<&ctg_store::FicheRecord>| {
        f.map(|f| {
            let person =
                if f.fiche.pilot_person.is_empty() { String::new() } else { format!(" ({})", f.fiche.pilot_person) };
            format!("pilote : {}{person}", f.fiche.pilot_organisation)
        })
        .unwrap_or_else(|| "pilote non renseigné".to_owned())
    };
    let mut late = Vec::new();
    let mut waiting_values = Vec::new();
    for item in v.late_items() {
        if !(everything || item.fiche.is_some_and(is_mine)) {
            continue;
        }
        let (what, why) = crate::plan::lateness_text(&item.lateness);
        let line = Item {
            href: item.link.clone(),
            text: what,
            detail: format!("{why} · {}", pilot(item.fiche)),
            badge: item.days.map(late_badge).unwrap_or_default(),
        };
        match item.lateness {
            Lateness::MissingValue { .. } => waiting_values.push(line),
            _ => late.push(line),
        }
    }
    // The next meetings.
    let meetings = facts
        .upcoming
        .iter()
        .take(5)
        .map(|m| Item {
            href: format!("{base}/seances/{}", m.id),
            text: m.data.title.clone().unwrap_or_else(|| facts.body_name(m.body_id)),
            detail: format!(
                "{} à {}{}",
                date_short(m.data.date),
                m.data.start.format("%H h %M"),
                m.data.place.as_deref().map(|p| format!(" · {p}")).unwrap_or_default()
            ),
            badge: String::new(),
        })
        .collect();
    // Open decisions due within SOON_DAYS days, or overdue.
    let decisions = facts
        .decisions_due(today)
        .map(|d| Item {
            href: format!("{base}/seances/{}#decisions", d.meeting_id),
            text: d.decision.data.text.chars().take(140).collect(),
            detail: decision_detail(d),
            badge: if d.overdue { late_badge(d.days_overdue) } else { String::new() },
        })
        .collect();
    // Signatures and avenants still pending.
    let signatures = pending_signatures(id, &facts.life).into_iter().map(|(_, item)| item).collect();
    Ok(ConventionBlock {
        id,
        title: v.convention.title.clone(),
        role: role.map_or("Administration", |r| r.label()),
        my_fiches,
        late,
        waiting_values,
        meetings,
        decisions,
        signatures,
    })
}

/// The names of the pilot organisations of `fiches` that are `user`'s organisation: what « my
/// fiches » means on the dashboard and for the reminders to pilots.
pub(crate) async fn my_pilot_organisations(
    state: &AppState,
    user: &ctg_store::User,
    fiches: &[ctg_store::FicheRecord],
) -> Vec<String> {
    let Some(org) = user.organisation_id else { return Vec::new() };
    let mut names = Vec::new();
    for f in fiches {
        if !names.contains(&f.fiche.pilot_organisation)
            && state.store.organisation_named(&f.fiche.pilot_organisation).await.ok() == Some(org)
        {
            names.push(f.fiche.pilot_organisation.clone());
        }
    }
    names
}

/// Whether `user` pilots `f`: through their organisation (`organisations`, from
/// [`my_pilot_organisations`]), or by name.
pub(crate) fn pilots(f: &ctg_store::FicheRecord, user: &ctg_store::User, organisations: &[String]) -> bool {
    let loose = ctg_domain::plan::loose;
    organisations.contains(&f.fiche.pilot_organisation)
        || (!f.fiche.pilot_person.trim().is_empty() && loose(&f.fiche.pilot_person) == loose(&user.name))
}

/// The open decisions of convention `id` due within [`crate::portfolio::SOON_DAYS`] days of `today`, or overdue.
pub(crate) async fn decisions_due(
    state: &AppState,
    id: i64,
    today: NaiveDate,
) -> Result<Vec<ctg_store::OpenDecision>, crate::WebError> {
    Ok(state.store.open_decisions(id, today).await?.into_iter().filter(|d| is_due_soon(d, today)).collect())
}

/// How an open decision is described under its text: due date, who follows it up, the body.
pub(crate) fn decision_detail(d: &ctg_store::OpenDecision) -> String {
    format!(
        "{}{} · {}",
        d.decision.data.due.map(|e| format!("échéance le {}", date_short(e))).unwrap_or_default(),
        if d.decision.data.follow_up.is_empty() {
            String::new()
        } else {
            format!(" · suivie par {}", d.decision.data.follow_up)
        },
        d.body_name
    )
}

/// The signatures of convention `id` still pending: its signatories', then its avenants'. Each with
/// a key naming what is awaited (the party, or the avenant and who has not signed it).
pub(crate) fn pending_signatures(id: i64, life: &ctg_store::ConventionLife) -> Vec<(String, Item)> {
    let base = format!("/conventions/{id}");
    let mut out: Vec<(String, Item)> = life
        .unsigned_parties()
        .map(|p| {
            (
                format!("partie:{}", p.party.organisation.name),
                Item {
                    href: format!("{base}/vie"),
                    text: format!("Signature de la convention : {}", p.party.organisation.name),
                    detail: "en attente".to_owned(),
                    badge: String::new(),
                },
            )
        })
        .collect();
    for a in life.pending_avenants() {
        let missing: Vec<&str> =
            a.signatures.iter().filter(|s| s.date.is_none()).map(|s| s.organisation.as_str()).collect();
        out.push((
            format!("avenant:{}:{}", a.id, missing.join(",")),
            Item {
                href: format!("{base}/vie#avenant-{}", a.id),
                text: ctg_domain::life::avenant_heading(a.number, &a.title),
                detail: format!("en attente de : {}", missing.join(", ")),
                badge: String::new(),
            },
        ));
    }
    out
}
