//! The action plan in storage: objectives under the ambitions, fiches action with their history of
//! status changes, sub-actions on two levels and means, follow-up indicators with their values, the
//! import of a whole plan (all or nothing), and the reviews (bilans).
//!
//! Every write runs in one transaction with its entry in the audit trail; what a user edits carries a
//! `version`, and an edit made from a stale one is refused ([`StoreError::Stale`]). The whole plan of a
//! convention is read in a fixed number of queries, whatever the number of fiches and indicators.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use ctg_domain::parse::{natural_cmp, plan_period};
use ctg_domain::plan::{
    fiche_progress, rollup, FicheStatus, IndicatorKind, IndicatorValue, Means, MeansKind, NewFiche, Objective,
    PlanIndicator, Priority, SubAction,
};
use ctg_domain::{Actor, InseeCode};
use serde::Serialize;
use serde_json::{json, Value};

use crate::audit::{record, Change};
use crate::conn::{with_conn, Conn};
use crate::versioned::{Loaded, Versioned};
use crate::{with_db, Result, Store, StoreError};

/// An objective as stored, with its version for editing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectiveRecord {
    pub id: i64,
    pub version: i64,
    pub objective: Objective,
}

/// A sub-action as stored (its id is `sub.id`), with its version for editing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubActionRecord {
    pub sub: SubAction,
    pub version: i64,
}

/// One change of the status of a fiche; `from` is `None` for its creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub at: DateTime<Utc>,
    pub from: Option<FicheStatus>,
    pub to: FicheStatus,
    pub reason: String,
    pub author: String,
}

/// A fiche action as stored, with its sub-actions (by position), its means and its history of status
/// changes (oldest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FicheRecord {
    pub id: i64,
    pub version: i64,
    pub fiche: NewFiche,
    pub subs: Vec<SubActionRecord>,
    pub means: Vec<Means>,
    pub history: Vec<StatusChange>,
}

impl FicheRecord {
    /// Its sub-actions, as the domain's roll-up rules take them.
    pub fn sub_actions(&self) -> Vec<SubAction> {
        self.subs.iter().map(|s| s.sub.clone()).collect()
    }

    /// Its progress in percent ([`fiche_progress`]); `None` when abandoned.
    pub fn progress(&self) -> Option<f64> {
        fiche_progress(self.fiche.status, &self.sub_actions())
    }
}

/// A follow-up indicator as stored: of a fiche, or of the whole plan (`fiche_id` `None`), with its
/// values by period.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorRecord {
    pub id: i64,
    pub version: i64,
    pub fiche_id: Option<i64>,
    pub indicator: PlanIndicator,
    pub values: Vec<IndicatorValue>,
}

/// A stake of the plan: its number, its title, and its ambitions as (number, title).
pub type PlanStake = (i64, String, Vec<(i64, String)>);

/// The whole action plan of a convention.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Stakes by number: (number, title, its ambitions as (number, title)).
    pub stakes: Vec<PlanStake>,
    /// By ambition, then code.
    pub objectives: Vec<ObjectiveRecord>,
    /// By code (« PE-2 » before « PE-10 »).
    pub fiches: Vec<FicheRecord>,
    /// In the order they were created.
    pub indicators: Vec<IndicatorRecord>,
}

impl Plan {
    pub fn fiche(&self, code: &str) -> Option<&FicheRecord> {
        self.fiches.iter().find(|f| f.fiche.code == code)
    }

    /// The progress of an ambition: the mean of its fiches'.
    pub fn ambition_progress(&self, ambition: i64) -> Option<f64> {
        rollup(self.fiches.iter().filter(|f| f.fiche.ambitions.contains(&ambition)).map(FicheRecord::progress))
    }

    /// The progress of a stake: the mean of the fiches of its ambitions, each fiche once.
    pub fn stake_progress(&self, stake: i64) -> Option<f64> {
        let ambitions: Vec<i64> =
            self.stakes.iter().filter(|s| s.0 == stake).flat_map(|s| s.2.iter().map(|a| a.0)).collect();
        rollup(
            self.fiches
                .iter()
                .filter(|f| f.fiche.ambitions.iter().any(|a| ambitions.contains(a)))
                .map(FicheRecord::progress),
        )
    }

    /// The progress of the whole plan: the mean of all its fiches.
    pub fn progress(&self) -> Option<f64> {
        rollup(self.fiches.iter().map(FicheRecord::progress))
    }

    /// The indicators of a fiche.
    pub fn indicators_of(&self, fiche_id: i64) -> impl Iterator<Item = &IndicatorRecord> {
        self.indicators.iter().filter(move |i| i.fiche_id == Some(fiche_id))
    }
}

/// What a review covers: an ambition (by number) or a theme (by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewScope {
    Ambition(i64),
    Theme(String),
}

impl ReviewScope {
    fn kind(&self) -> &'static str {
        match self {
            Self::Ambition(_) => "ambition",
            Self::Theme(_) => "theme",
        }
    }

    fn key(&self) -> String {
        match self {
            Self::Ambition(n) => n.to_string(),
            Self::Theme(t) => t.trim().to_owned(),
        }
    }

    /// In French, for messages and the audit trail.
    pub fn label(&self) -> String {
        match self {
            Self::Ambition(n) => format!("ambition {n}"),
            Self::Theme(t) => format!("thème « {} »", t.trim()),
        }
    }
}

/// The review (bilan) of a year, or the final one (`year` `None`), for an ambition or a theme.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    pub year: Option<i32>,
    pub scope: ReviewScope,
    /// What was done.
    pub done: String,
    pub successes: String,
    /// Points of attention.
    pub attention: String,
    /// Difficulties and concerns.
    pub concerns: String,
    /// Figures declared when the platform has no data to compute them from (`objectifs`, `fiches`,
    /// `fiches_engagees`…).
    pub declared: Value,
}

impl Review {
    fn label(&self) -> String {
        match self.year {
            Some(y) => format!("bilan {y} ({})", self.scope.label()),
            None => format!("bilan final ({})", self.scope.label()),
        }
    }

    fn audit_value(&self) -> Value {
        json!({
            "annee": self.year,
            "perimetre": self.scope.label(),
            "realise": self.done,
            "reussites": self.successes,
            "points_d_attention": self.attention,
            "difficultes": self.concerns,
            "declare": self.declared,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRecord {
    pub id: i64,
    pub version: i64,
    pub review: Review,
}

/// One fiche of an imported plan: its place in the file (named in errors), the fiche, its means
/// (replacing those held) and its indicators (matched by name within the fiche).
pub type PlanImportRow = (String, NewFiche, Vec<Means>, Vec<PlanIndicator>);

#[derive(sqlx::FromRow)]
struct ObjectiveRow {
    id: i64,
    version: i64,
    code: String,
    title: String,
    ambition: i64,
}

#[derive(Clone, sqlx::FromRow)]
struct FicheRow {
    id: i64,
    code: String,
    title: String,
    description: String,
    pilot_organisation: String,
    pilot_person: String,
    partners: String,
    public: String,
    communes: String,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    priority: Option<String>,
    status: String,
    approaches: String,
    needs: String,
    version: i64,
}

#[derive(sqlx::FromRow)]
struct SubRow {
    id: i64,
    fiche_id: i64,
    parent_id: Option<i64>,
    title: String,
    status: String,
    pilot: String,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    version: i64,
}

#[derive(sqlx::FromRow)]
struct MeansRow {
    fiche_id: i64,
    organisation: String,
    year: i32,
    fte_hundredths: i64,
    planned_cents: i64,
    spent_cents: Option<i64>,
    kind: String,
    material: String,
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    fiche_id: i64,
    changed_at: DateTime<Utc>,
    from_status: Option<String>,
    to_status: String,
    reason: String,
    author: String,
}

#[derive(sqlx::FromRow)]
struct IndicatorRow {
    id: i64,
    fiche_id: Option<i64>,
    name: String,
    definition: String,
    targets: String,
    version: i64,
}

#[derive(sqlx::FromRow)]
struct ValueRow {
    indicator_id: i64,
    period: String,
    number: Option<f64>,
    level: Option<String>,
    author: String,
    value_date: NaiveDate,
    source: String,
    comment: String,
}

#[derive(sqlx::FromRow)]
struct ReviewRow {
    id: i64,
    year: Option<i32>,
    scope_kind: String,
    scope: String,
    done: String,
    successes: String,
    attention: String,
    concerns: String,
    declared: String,
    version: i64,
}

/// An indicator held, for an import: its id and the number and level of each of its values.
type HeldIndicator = (i64, Vec<(Option<f64>, Option<String>)>);

/// The rows of a plan, or of one fiche, read in one snapshot.
#[derive(Default)]
struct Parts {
    stakes: Vec<(i64, String, Option<i64>, Option<String>)>,
    objectives: Vec<ObjectiveRow>,
    fiches: Vec<FicheRow>,
    ambition_links: Vec<(i64, i64)>,
    objective_links: Vec<(i64, String)>,
    subs: Vec<SubRow>,
    means: Vec<MeansRow>,
    history: Vec<HistoryRow>,
    indicators: Vec<IndicatorRow>,
    values: Vec<ValueRow>,
}

const FICHE_COLUMNS: &str = "f.id, f.code, f.title, f.description, f.pilot_organisation, f.pilot_person, f.partners, \
     f.public, f.communes, f.start_date, f.end_date, f.priority, f.status, f.approaches, f.needs, f.version";

const OBJECTIVE_SELECT: &str = "SELECT o.id, o.version, o.code, o.title, a.number AS ambition FROM objective o \
     JOIN ambition a ON a.id = o.ambition_id WHERE o.convention_id = $1";

/// What a fiche of a convention is checked against: the ambitions and objectives of the convention,
/// and the communes of its territory.
struct Context {
    /// Ambition number → id.
    ambitions: BTreeMap<i64, i64>,
    /// Objective code in lower case → (code, id).
    objectives: HashMap<String, (String, i64)>,
    /// The member communes of the convention's EPCI.
    communes: BTreeSet<String>,
}

/// A fiche checked and resolved against its convention.
struct Resolved {
    fiche: NewFiche,
    ambition_ids: Vec<i64>,
    objective_ids: Vec<i64>,
}

impl Context {
    /// Checks a fiche ([`NewFiche::check`]) and resolves its ambitions and objectives; every problem
    /// found is named, in French.
    fn resolve(&self, fiche: NewFiche) -> std::result::Result<Resolved, String> {
        let mut fiche = fiche.check().map_err(|e| e.to_string())?;
        let mut problems = Vec::new();
        let unknown: Vec<String> =
            fiche.ambitions.iter().filter(|n| !self.ambitions.contains_key(n)).map(i64::to_string).collect();
        if !unknown.is_empty() {
            let known: Vec<String> = self.ambitions.keys().map(i64::to_string).collect();
            problems.push(if known.is_empty() {
                format!("ambition(s) inconnue(s) : {} (la convention n'a encore aucune ambition)", unknown.join(", "))
            } else {
                format!(
                    "ambition(s) inconnue(s) dans cette convention : {} (ambitions de la convention : {})",
                    unknown.join(", "),
                    known.join(", ")
                )
            });
        }
        let mut objectives: Vec<(String, i64)> = Vec::new();
        let mut unknown = Vec::new();
        for code in &fiche.objectives {
            match self.objectives.get(&code.to_lowercase()) {
                Some(found) => objectives.push(found.clone()),
                None => unknown.push(format!("« {code} »")),
            }
        }
        if !unknown.is_empty() {
            problems.push(format!(
                "objectif(s) inconnu(s) dans cette convention : {} (créez-les d'abord)",
                unknown.join(", ")
            ));
        }
        let outside: Vec<&str> =
            fiche.communes.iter().map(InseeCode::as_str).filter(|c| !self.communes.contains(*c)).collect();
        if !outside.is_empty() {
            problems.push(format!("commune(s) hors du territoire de la convention : {}", outside.join(", ")));
        }
        if !problems.is_empty() {
            return Err(problems.join(" ; "));
        }
        objectives.sort_by(|a, b| natural_cmp(&a.0, &b.0));
        fiche.objectives = objectives.iter().map(|o| o.0.clone()).collect();
        Ok(Resolved {
            ambition_ids: fiche.ambitions.iter().map(|n| self.ambitions[n]).collect(),
            objective_ids: objectives.iter().map(|o| o.1).collect(),
            fiche,
        })
    }
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} « {value} »"))
}

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(e.to_string())
}

fn json_text<T: Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(invalid)
}

fn status(raw: &str) -> Result<FicheStatus> {
    FicheStatus::parse(raw).map_err(|_| corrupt("statut", raw))
}

/// Turns the database's refusal of a duplicate into a message a user can act on.
fn unique_error(e: sqlx::Error, message: impl FnOnce() -> String) -> StoreError {
    match e.as_database_error().map(|d| d.kind()) {
        Some(sqlx::error::ErrorKind::UniqueViolation) => StoreError::Invalid(message()),
        _ => StoreError::Database(e),
    }
}

fn fiche_audit(f: &NewFiche) -> Value {
    json!({
        "code": f.code,
        "intitule": f.title,
        "description": f.description,
        "ambitions": f.ambitions,
        "objectifs": f.objectives,
        "pilote_organisation": f.pilot_organisation,
        "pilote_personne": f.pilot_person,
        "partenaires": f.partners,
        "public": f.public,
        "communes": f.communes.iter().map(InseeCode::as_str).collect::<Vec<_>>(),
        "debut": f.start,
        "fin": f.end,
        "priorite": f.priority.map(Priority::code),
        "statut": f.status.code(),
        "approches": f.approaches,
        "besoins": f.needs,
    })
}

fn objective_audit(o: &Objective) -> Value {
    json!({"code": o.code, "intitule": o.title, "ambition": o.ambition})
}

fn sub_audit(s: &SubAction) -> Value {
    json!({
        "parente": s.parent,
        "intitule": s.title,
        "statut": s.status.code(),
        "pilote": s.pilot,
        "debut": s.start,
        "fin": s.end,
    })
}

fn means_audit(means: &[Means]) -> Value {
    Value::Array(
        means
            .iter()
            .map(|m| {
                json!({
                    "organisation": m.organisation,
                    "annee": m.year,
                    "etp_centiemes": m.fte_hundredths,
                    "prevu_centimes": m.planned_cents,
                    "depense_centimes": m.spent_cents,
                    "nature": m.kind.code(),
                    "materiel": m.material,
                })
            })
            .collect(),
    )
}

fn indicator_audit(i: &PlanIndicator) -> Value {
    json!({"nom": i.name, "definition": i.kind, "cibles": i.targets})
}

/// Tidies and checks the means of a fiche: each one ([`Means::check`]), and no two for the same
/// organisation, year and kind. Problems are returned in French.
fn check_means(means: &[Means]) -> std::result::Result<Vec<Means>, Vec<String>> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(means.len());
    for m in means {
        let m = Means {
            organisation: m.organisation.trim().to_owned(),
            material: m.material.trim().to_owned(),
            ..m.clone()
        };
        if let Err(e) = m.check() {
            problems.push(format!("moyens : {e}"));
            continue;
        }
        if !seen.insert((m.organisation.to_lowercase(), m.year, m.kind.code())) {
            problems.push(format!(
                "moyens : « {} » figure deux fois pour {} ({})",
                m.organisation,
                m.year,
                m.kind.label().to_lowercase()
            ));
            continue;
        }
        out.push(m);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Checks and tidies an indicator ([`PlanIndicator::check`]).
fn check_indicator(i: &PlanIndicator) -> std::result::Result<PlanIndicator, String> {
    let i = PlanIndicator { name: i.name.trim().to_owned(), ..i.clone() };
    i.check()?;
    Ok(i)
}

/// Checks that a value fits the kind of its indicator: a number for a quantitative one, a level of the
/// scale for a qualitative one.
fn check_value(kind: &IndicatorKind, number: Option<f64>, level: Option<&str>) -> std::result::Result<(), String> {
    match kind {
        IndicatorKind::Quantitative { .. } => {
            if level.is_some() {
                return Err("un indicateur quantitatif prend un nombre, pas un niveau".into());
            }
            match number {
                Some(n) if n.is_finite() => Ok(()),
                Some(_) => Err("la valeur n'est pas un nombre".into()),
                None => Err("un indicateur quantitatif demande une valeur chiffrée".into()),
            }
        }
        IndicatorKind::Qualitative { scale } => {
            if number.is_some() {
                return Err("un indicateur qualitatif prend un niveau de son échelle, pas un nombre".into());
            }
            match level {
                Some(l) if scale.iter().any(|s| s == l) => Ok(()),
                Some(l) => Err(format!("« {l} » n'est pas un niveau de l'échelle ({})", scale.join(", "))),
                None => {
                    Err(format!("un indicateur qualitatif demande un niveau de son échelle ({})", scale.join(", ")))
                }
            }
        }
    }
}

/// Checks a sub-action as entered; evaluates to it tidied.
fn check_sub(s: &SubAction) -> Result<SubAction> {
    let s = SubAction { title: s.title.trim().to_owned(), pilot: s.pilot.trim().to_owned(), ..s.clone() };
    if s.title.is_empty() {
        return Err(StoreError::Invalid("l'intitulé de la sous-action est vide".into()));
    }
    if let (Some(start), Some(end)) = (s.start, s.end) {
        if end < start {
            return Err(StoreError::Invalid(format!("la fin ({end}) précède le début ({start})")));
        }
    }
    Ok(s)
}

/// Inserts a fiche with its links to ambitions and objectives; evaluates to its id.
macro_rules! insert_fiche {
    ($tx:expr, $convention:expr, $r:expr) => {{
        let r: &Resolved = $r;
        let f = &r.fiche;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO fiche (convention_id, code, title, description, pilot_organisation, pilot_person, partners, public, \
             communes, start_date, end_date, priority, status, approaches, needs) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
        )
        .bind($convention)
        .bind(&f.code)
        .bind(&f.title)
        .bind(&f.description)
        .bind(&f.pilot_organisation)
        .bind(&f.pilot_person)
        .bind(json_text(&f.partners)?)
        .bind(&f.public)
        .bind(json_text(&f.communes)?)
        .bind(f.start)
        .bind(f.end)
        .bind(f.priority.map(Priority::code))
        .bind(f.status.code())
        .bind(json_text(&f.approaches)?)
        .bind(&f.needs)
        .fetch_one(&mut *$tx)
        .await
        .map_err(|e| unique_error(e, || format!("une fiche « {} » existe déjà dans cette convention", f.code)))?;
        write_links!($tx, id, r);
        id
    }};
}

/// Rewrites a fiche of the convention and its links, in a transaction (its `version` is the caller's).
macro_rules! update_fiche_row {
    ($tx:expr, $convention:expr, $id:expr, $r:expr) => {{
        let r: &Resolved = $r;
        let f = &r.fiche;
        sqlx::query(
            "UPDATE fiche SET code = $1, title = $2, description = $3, pilot_organisation = $4, pilot_person = $5, \
             partners = $6, public = $7, communes = $8, start_date = $9, end_date = $10, priority = $11, status = $12, \
             approaches = $13, needs = $14 WHERE id = $15 AND convention_id = $16",
        )
        .bind(&f.code)
        .bind(&f.title)
        .bind(&f.description)
        .bind(&f.pilot_organisation)
        .bind(&f.pilot_person)
        .bind(json_text(&f.partners)?)
        .bind(&f.public)
        .bind(json_text(&f.communes)?)
        .bind(f.start)
        .bind(f.end)
        .bind(f.priority.map(Priority::code))
        .bind(f.status.code())
        .bind(json_text(&f.approaches)?)
        .bind(&f.needs)
        .bind($id)
        .bind($convention)
        .execute(&mut *$tx)
        .await
        .map_err(|e| unique_error(e, || format!("une fiche « {} » existe déjà dans cette convention", f.code)))?;
        sqlx::query("DELETE FROM fiche_ambition WHERE fiche_id = $1").bind($id).execute(&mut *$tx).await?;
        sqlx::query("DELETE FROM fiche_objective WHERE fiche_id = $1").bind($id).execute(&mut *$tx).await?;
        write_links!($tx, $id, r);
    }};
}

macro_rules! write_links {
    ($tx:expr, $id:expr, $r:expr) => {{
        for a in &$r.ambition_ids {
            sqlx::query("INSERT INTO fiche_ambition (fiche_id, ambition_id) VALUES ($1, $2)")
                .bind($id)
                .bind(*a)
                .execute(&mut *$tx)
                .await?;
        }
        for o in &$r.objective_ids {
            sqlx::query("INSERT INTO fiche_objective (fiche_id, objective_id) VALUES ($1, $2)")
                .bind($id)
                .bind(*o)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}

/// Appends a change to the history of a fiche's statuses.
macro_rules! insert_status_change {
    ($tx:expr, $fiche:expr, $from:expr, $to:expr, $reason:expr, $author:expr) => {{
        let from: Option<FicheStatus> = $from;
        let to: FicheStatus = $to;
        sqlx::query(
            "INSERT INTO fiche_status_change (fiche_id, changed_at, from_status, to_status, reason, author) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind($fiche)
        .bind(Utc::now())
        .bind(from.map(FicheStatus::code))
        .bind(to.code())
        .bind($reason)
        .bind($author)
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Replaces all the means of a fiche.
macro_rules! replace_means {
    ($tx:expr, $fiche:expr, $means:expr) => {{
        let means: &[Means] = $means;
        sqlx::query("DELETE FROM means WHERE fiche_id = $1").bind($fiche).execute(&mut *$tx).await?;
        for m in means {
            sqlx::query(
                "INSERT INTO means (fiche_id, organisation, year, fte_hundredths, planned_cents, spent_cents, kind, material) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind($fiche)
            .bind(&m.organisation)
            .bind(m.year)
            .bind(m.fte_hundredths)
            .bind(m.planned_cents)
            .bind(m.spent_cents)
            .bind(m.kind.code())
            .bind(&m.material)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}

macro_rules! insert_indicator {
    ($tx:expr, $convention:expr, $fiche:expr, $i:expr) => {{
        let i: &PlanIndicator = $i;
        let fiche: Option<i64> = $fiche;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO plan_indicator (convention_id, fiche_id, name, definition, targets) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind($convention)
        .bind(fiche)
        .bind(&i.name)
        .bind(json_text(&i.kind)?)
        .bind(json_text(&i.targets)?)
        .fetch_one(&mut *$tx)
        .await?;
        id
    }};
}

impl Store {
    /// The ambitions, objectives and communes a fiche of this convention is checked against.
    async fn plan_context(&self, convention_id: i64) -> Result<Context> {
        self.acquire().await?.conn().plan_context(convention_id).await
    }

    /// The id of an ambition of the convention, by number; a French error when it has none.
    async fn ambition_id(&self, convention_id: i64, number: i64) -> Result<i64> {
        self.acquire().await?.conn().ambition_id(convention_id, number).await
    }

    /// The code of a fiche of the convention; not found otherwise.
    async fn fiche_code(&self, convention_id: i64, fiche_id: i64) -> Result<String> {
        let found: Option<(String,)> = with_db!(self, pool => {
            sqlx::query_as("SELECT code FROM fiche WHERE id = $1 AND convention_id = $2")
                .bind(fiche_id)
                .bind(convention_id)
                .fetch_optional(pool)
                .await?
        });
        found.map(|f| f.0).ok_or_else(|| StoreError::NotFound(format!("la fiche n° {fiche_id} de cette convention")))
    }

    // ---------------------------------------------------------------------------------------------
    // Objectives

    /// The objectives of a convention, by ambition then code.
    pub async fn objectives(&self, convention_id: i64) -> Result<Vec<ObjectiveRecord>> {
        self.acquire().await?.conn().objectives(convention_id).await
    }

    fn tidy_objective(o: &Objective) -> Result<Objective> {
        let o = Objective { code: o.code.trim().to_owned(), title: o.title.trim().to_owned(), ambition: o.ambition };
        if o.code.is_empty() {
            return Err(StoreError::Invalid("le code de l'objectif est vide".into()));
        }
        if o.code.chars().count() > 20 {
            return Err(StoreError::Invalid(format!("le code « {} » dépasse 20 caractères", o.code)));
        }
        if o.title.is_empty() {
            return Err(StoreError::Invalid("l'intitulé de l'objectif est vide".into()));
        }
        Ok(o)
    }

    /// Creates an objective under an ambition of the convention; its code is unique in the convention.
    pub async fn create_objective(&self, actor: &Actor, convention_id: i64, objective: &Objective) -> Result<i64> {
        let o = Self::tidy_objective(objective)?;
        self.convention_summary(convention_id).await?;
        let ambition_id = self.ambition_id(convention_id, o.ambition).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO objective (convention_id, ambition_id, code, title) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(convention_id)
            .bind(ambition_id)
            .bind(&o.code)
            .bind(&o.title)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| unique_error(e, || format!("l'objectif « {} » existe déjà dans cette convention", o.code)))?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "objectif",
                object_id: id.to_string(),
                object_label: format!("{} {}", o.code, o.title),
                action: "creation",
                before: None,
                after: Some(objective_audit(&o)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Saves an objective from the version read; a stale version is refused.
    pub async fn update_objective(
        &self,
        actor: &Actor,
        convention_id: i64,
        id: i64,
        version: i64,
        objective: &Objective,
    ) -> Result<i64> {
        let o = Self::tidy_objective(objective)?;
        self.versioned_write(
            Versioned { table: "objective", id, version: Some(version) },
            async |c| {
                let current = c
                    .objectives(convention_id)
                    .await?
                    .into_iter()
                    .find(|r| r.id == id)
                    .ok_or_else(|| StoreError::NotFound(format!("l'objectif n° {id} de cette convention")))?;
                let ambition_id = c.ambition_id(convention_id, o.ambition).await?;
                let loaded = Loaded::new(
                    format!("l'objectif « {} »", current.objective.code),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "objectif",
                        object_id: id.to_string(),
                        object_label: format!("{} {}", o.code, o.title),
                        action: "modification",
                        before: Some(objective_audit(&current.objective)),
                        after: Some(objective_audit(&o)),
                        actor,
                    },
                );
                Ok(loaded.with(ambition_id))
            },
            async |c, ambition_id| {
                with_conn!(c, c => {
                    sqlx::query("UPDATE objective SET ambition_id = $1, code = $2, title = $3 WHERE id = $4")
                        .bind(ambition_id)
                        .bind(&o.code)
                        .bind(&o.title)
                        .bind(id)
                        .execute(&mut *c)
                        .await
                        .map_err(|e| {
                            unique_error(e, || format!("l'objectif « {} » existe déjà dans cette convention", o.code))
                        })?;
                });
                Ok(())
            },
        )
        .await
    }

    // ---------------------------------------------------------------------------------------------
    // Reading the plan

    /// Reads the rows of the whole plan of a convention, or (`only`) those of one of its fiches, in one
    /// snapshot and a fixed number of queries.
    async fn plan_parts(&self, convention_id: i64, only: Option<i64>) -> Result<Parts> {
        self.plan_parts_of(convention_id, only, false).await
    }

    /// The rows of the plan; `outline` leaves out what the tree of the plan does not show (means,
    /// status history, indicators and their values), which is most of them.
    async fn plan_parts_of(&self, convention_id: i64, only: Option<i64>, outline: bool) -> Result<Parts> {
        let mut tx = self.begin_snapshot().await?;
        let p = tx.conn().plan_rows(convention_id, only, outline).await?;
        tx.commit().await?;
        Ok(p)
    }

    /// The whole action plan of a convention: its strategy, objectives, fiches (with sub-actions,
    /// means and history) and indicators (with their values), read in ten queries.
    pub async fn plan(&self, convention_id: i64) -> Result<Plan> {
        self.plan_read(convention_id, false).await
    }

    /// The plan as its tree shows it: the strategy, the fiches and their sub-actions, without their
    /// means, status history or indicators (those lists are empty). Fast for large plans.
    pub async fn plan_outline(&self, convention_id: i64) -> Result<Plan> {
        self.plan_read(convention_id, true).await
    }

    async fn plan_read(&self, convention_id: i64, outline: bool) -> Result<Plan> {
        self.convention_summary(convention_id).await?;
        let mut p = self.plan_parts_of(convention_id, None, outline).await?;
        let mut stakes: Vec<PlanStake> = Vec::new();
        for (number, title, ambition, ambition_title) in std::mem::take(&mut p.stakes) {
            if stakes.last().is_none_or(|s| s.0 != number) {
                stakes.push((number, title, Vec::new()));
            }
            if let (Some(n), Some(t), Some(s)) = (ambition, ambition_title, stakes.last_mut()) {
                s.2.push((n, t));
            }
        }
        let objectives = objective_records(std::mem::take(&mut p.objectives));
        let indicators = indicator_records(std::mem::take(&mut p.indicators), std::mem::take(&mut p.values))?;
        let fiches = fiche_records(p)?;
        Ok(Plan { stakes, objectives, fiches, indicators })
    }

    /// One fiche of a convention, with its sub-actions, means and history.
    pub async fn fiche(&self, convention_id: i64, id: i64) -> Result<FicheRecord> {
        let p = self.plan_parts(convention_id, Some(id)).await?;
        fiche_records(p)?.pop().ok_or_else(|| StoreError::NotFound(format!("la fiche n° {id} de cette convention")))
    }

    // ---------------------------------------------------------------------------------------------
    // Fiches

    /// Creates a fiche action: checked ([`NewFiche::check`]), its ambitions and objectives resolved in
    /// this convention (unknown ones are named), its communes in the convention's territory; the first
    /// entry of its history of statuses says « création ».
    pub async fn create_fiche(&self, actor: &Actor, convention_id: i64, fiche: NewFiche) -> Result<i64> {
        let ctx = self.plan_context(convention_id).await?;
        let r = ctx.resolve(fiche).map_err(StoreError::Invalid)?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let id = insert_fiche!(&mut *tx, convention_id, &r);
            insert_status_change!(&mut *tx, id, None, r.fiche.status, "création", &actor.label);
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "fiche",
                object_id: id.to_string(),
                object_label: format!("{} {}", r.fiche.code, r.fiche.title),
                action: "creation",
                before: None,
                after: Some(fiche_audit(&r.fiche)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Saves a fiche from the version read. A change of status is added to its history with `reason`,
    /// which it then requires. A stale version is refused and nothing is written.
    pub async fn update_fiche(
        &self,
        actor: &Actor,
        convention_id: i64,
        id: i64,
        version: i64,
        fiche: NewFiche,
        reason: &str,
    ) -> Result<i64> {
        let reason = reason.trim();
        self.versioned_write(
            Versioned { table: "fiche", id, version: Some(version) },
            async |c| {
                let ctx = c.plan_context(convention_id).await?;
                let r = ctx.resolve(fiche).map_err(StoreError::Invalid)?;
                let current = c.fiche(convention_id, id).await?;
                let (from, to) = (current.fiche.status, r.fiche.status);
                let mut after = fiche_audit(&r.fiche);
                if from != to {
                    after["raison_changement_statut"] = json!(reason);
                }
                let loaded = Loaded::new(
                    format!("la fiche « {} »", current.fiche.code),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "fiche",
                        object_id: id.to_string(),
                        object_label: format!("{} {}", r.fiche.code, r.fiche.title),
                        action: "modification",
                        before: Some(fiche_audit(&current.fiche)),
                        after: Some(after),
                        actor,
                    },
                );
                Ok(loaded.with((r, from)))
            },
            async |c, (r, from)| {
                // After the version: a stale version is reported before a missing reason.
                let to = r.fiche.status;
                if from != to && reason.is_empty() {
                    return Err(StoreError::Invalid(format!(
                        "le statut passe de « {} » à « {} » : indiquez la raison de ce changement",
                        from.label(),
                        to.label()
                    )));
                }
                with_conn!(c, c => {
                    update_fiche_row!(c, convention_id, id, &r);
                    if from != to {
                        insert_status_change!(c, id, Some(from), to, reason, &actor.label);
                    }
                });
                Ok(())
            },
        )
        .await
    }

    // ---------------------------------------------------------------------------------------------
    // Sub-actions

    async fn check_parent(&self, fiche_id: i64, parent: i64, itself: Option<i64>) -> Result<()> {
        self.acquire().await?.conn().check_parent(fiche_id, parent, itself).await
    }

    /// Adds a sub-action at the end of a fiche; `sub.parent` is a first-level sub-action of the same
    /// fiche or none (`sub.id` is ignored). Evaluates to its id.
    pub async fn add_sub_action(
        &self,
        actor: &Actor,
        convention_id: i64,
        fiche_id: i64,
        sub: &SubAction,
    ) -> Result<i64> {
        let s = check_sub(sub)?;
        let code = self.fiche_code(convention_id, fiche_id).await?;
        if let Some(parent) = s.parent {
            self.check_parent(fiche_id, parent, None).await?;
        }
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO sub_action (fiche_id, parent_id, position, title, status, pilot, start_date, end_date) \
                 VALUES ($1, $2, (SELECT COALESCE(MAX(position), 0) + 1 FROM sub_action WHERE fiche_id = $1), $3, $4, $5, $6, $7) \
                 RETURNING id",
            )
            .bind(fiche_id)
            .bind(s.parent)
            .bind(&s.title)
            .bind(s.status.code())
            .bind(&s.pilot)
            .bind(s.start)
            .bind(s.end)
            .fetch_one(&mut *tx)
            .await?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "sous_action",
                object_id: id.to_string(),
                object_label: format!("{} ({code})", s.title),
                action: "creation",
                before: None,
                after: Some(sub_audit(&s)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Saves the sub-action `sub.id` from the version read; a stale version is refused. It may change
    /// parent within its fiche, as long as it stays on two levels.
    pub async fn update_sub_action(
        &self,
        actor: &Actor,
        convention_id: i64,
        version: i64,
        sub: &SubAction,
    ) -> Result<i64> {
        let s = check_sub(sub)?;
        let id = s.id;
        self.versioned_write(
            Versioned { table: "sub_action", id, version: Some(version) },
            async |c| {
                let found: Option<(SubRow, String, i64)> = with_conn!(c, c => {
                    let row: Option<SubRow> = sqlx::query_as(
                        "SELECT s.id, s.fiche_id, s.parent_id, s.title, s.status, s.pilot, s.start_date, s.end_date, s.version \
                         FROM sub_action s JOIN fiche f ON f.id = s.fiche_id WHERE s.id = $1 AND f.convention_id = $2",
                    )
                    .bind(id)
                    .bind(convention_id)
                    .fetch_optional(&mut *c)
                    .await?;
                    match row {
                        Some(row) => {
                            let (code,): (String,) = sqlx::query_as("SELECT code FROM fiche WHERE id = $1")
                                .bind(row.fiche_id)
                                .fetch_one(&mut *c)
                                .await?;
                            let (children,): (i64,) =
                                sqlx::query_as("SELECT COUNT(*) FROM sub_action WHERE parent_id = $1")
                                    .bind(id)
                                    .fetch_one(&mut *c)
                                    .await?;
                            Some((row, code, children))
                        }
                        None => None,
                    }
                });
                let (row, code, children) =
                    found.ok_or_else(|| StoreError::NotFound(format!("la sous-action n° {id} de cette convention")))?;
                if let Some(parent) = s.parent {
                    if children > 0 {
                        return Err(StoreError::Invalid(format!(
                            "la sous-action « {} » a ses propres sous-actions : elle ne peut pas passer au second niveau",
                            row.title
                        )));
                    }
                    c.check_parent(row.fiche_id, parent, Some(id)).await?;
                }
                let before = SubAction {
                    id,
                    parent: row.parent_id,
                    title: row.title.clone(),
                    status: status(&row.status)?,
                    pilot: row.pilot.clone(),
                    start: row.start_date,
                    end: row.end_date,
                };
                Ok(Loaded::new(
                    format!("la sous-action « {} »", row.title),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "sous_action",
                        object_id: id.to_string(),
                        object_label: format!("{} ({code})", s.title),
                        action: "modification",
                        before: Some(sub_audit(&before)),
                        after: Some(sub_audit(&s)),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query(
                        "UPDATE sub_action SET parent_id = $1, title = $2, status = $3, pilot = $4, start_date = $5, \
                         end_date = $6 WHERE id = $7",
                    )
                    .bind(s.parent)
                    .bind(&s.title)
                    .bind(s.status.code())
                    .bind(&s.pilot)
                    .bind(s.start)
                    .bind(s.end)
                    .bind(id)
                    .execute(&mut *c)
                    .await?;
                });
                Ok(())
            },
        )
        .await
    }

    // ---------------------------------------------------------------------------------------------
    // Means

    /// Replaces all the means of a fiche (each checked with [`Means::check`]; one line at most per
    /// organisation, year and kind).
    pub async fn set_means(&self, actor: &Actor, convention_id: i64, fiche_id: i64, means: &[Means]) -> Result<()> {
        let means = check_means(means).map_err(|p| StoreError::Invalid(p.join(" ; ")))?;
        let current = self.fiche(convention_id, fiche_id).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            replace_means!(&mut *tx, fiche_id, &means);
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "moyens",
                object_id: fiche_id.to_string(),
                object_label: format!("moyens de la fiche {}", current.fiche.code),
                action: "modification",
                before: Some(means_audit(&current.means)),
                after: Some(means_audit(&means)),
                actor,
            });
            tx.commit().await?;
        });
        Ok(())
    }

    // ---------------------------------------------------------------------------------------------
    // Indicators

    async fn indicator_record(&self, convention_id: i64, id: i64) -> Result<IndicatorRecord> {
        self.acquire().await?.conn().indicator_record(convention_id, id).await
    }

    /// Creates a follow-up indicator, of a fiche of the convention or of the whole plan.
    pub async fn create_indicator(
        &self,
        actor: &Actor,
        convention_id: i64,
        fiche_id: Option<i64>,
        indicator: &PlanIndicator,
    ) -> Result<i64> {
        let i = check_indicator(indicator).map_err(StoreError::Invalid)?;
        self.convention_summary(convention_id).await?;
        if let Some(f) = fiche_id {
            self.fiche_code(convention_id, f).await?;
        }
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let id = insert_indicator!(&mut *tx, convention_id, fiche_id, &i);
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "indicateur",
                object_id: id.to_string(),
                object_label: i.name.clone(),
                action: "creation",
                before: None,
                after: Some(indicator_audit(&i)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Saves an indicator's name, definition and targets from the version read; a stale version is
    /// refused, and so is a definition the values already recorded no longer fit.
    pub async fn update_indicator(
        &self,
        actor: &Actor,
        convention_id: i64,
        id: i64,
        version: i64,
        indicator: &PlanIndicator,
    ) -> Result<i64> {
        let i = check_indicator(indicator).map_err(StoreError::Invalid)?;
        self.versioned_write(
            Versioned { table: "plan_indicator", id, version: Some(version) },
            async |c| {
                let current = c.indicator_record(convention_id, id).await?;
                for v in &current.values {
                    if let Err(e) = check_value(&i.kind, v.number, v.level.as_deref()) {
                        return Err(StoreError::Invalid(format!(
                            "la valeur déjà saisie pour {} ne correspond plus à la définition : {e}",
                            v.period
                        )));
                    }
                }
                Ok(Loaded::new(
                    format!("l'indicateur « {} »", current.indicator.name),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "indicateur",
                        object_id: id.to_string(),
                        object_label: i.name.clone(),
                        action: "modification",
                        before: Some(indicator_audit(&current.indicator)),
                        after: Some(indicator_audit(&i)),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query("UPDATE plan_indicator SET name = $1, definition = $2, targets = $3 WHERE id = $4")
                        .bind(&i.name)
                        .bind(json_text(&i.kind)?)
                        .bind(json_text(&i.targets)?)
                        .bind(id)
                        .execute(&mut *c)
                        .await?;
                });
                Ok(())
            },
        )
        .await
    }

    /// Records a value of an indicator for a period (`AAAA` or `AAAA-MM`): a number for a quantitative
    /// indicator, a level of its scale for a qualitative one. Without an author, the actor is named.
    pub async fn add_indicator_value(
        &self,
        actor: &Actor,
        convention_id: i64,
        indicator_id: i64,
        value: &IndicatorValue,
    ) -> Result<i64> {
        let current = self.indicator_record(convention_id, indicator_id).await?;
        let period = plan_period("periode", &value.period).map_err(|e| StoreError::Invalid(e.message))?.to_string();
        let level = value.level.as_deref().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned);
        check_value(&current.indicator.kind, value.number, level.as_deref()).map_err(StoreError::Invalid)?;
        let author = match value.author.trim() {
            "" => actor.label.clone(),
            a => a.to_owned(),
        };
        let v = IndicatorValue {
            period,
            number: value.number,
            level,
            author,
            date: value.date,
            source: value.source.trim().to_owned(),
            comment: value.comment.trim().to_owned(),
        };
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO indicator_value (indicator_id, period, number, level, author, value_date, source, comment, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(indicator_id)
            .bind(&v.period)
            .bind(v.number)
            .bind(v.level.as_deref())
            .bind(&v.author)
            .bind(v.date)
            .bind(&v.source)
            .bind(&v.comment)
            .bind(Utc::now())
            .fetch_one(&mut *tx)
            .await?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "valeur_indicateur",
                object_id: id.to_string(),
                object_label: format!("{} ({})", current.indicator.name, v.period),
                action: "creation",
                before: None,
                after: Some(json!({
                    "indicateur": indicator_id,
                    "periode": v.period,
                    "valeur": v.number,
                    "niveau": v.level,
                    "auteur": v.author,
                    "date": v.date,
                    "source": v.source,
                    "commentaire": v.comment,
                })),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    // ---------------------------------------------------------------------------------------------
    // Import

    /// Imports fiches in one transaction: a fiche whose code the convention already has is updated (a
    /// change of status recorded with the reason « import »), the others are created; the means of
    /// each are replaced by those of the file; its indicators, matched by name within the fiche, are
    /// created or updated (definition and targets). Every problem is collected first and returned
    /// together, each with its place in the file; nothing is written while one remains. Evaluates to
    /// (fiches created, fiches updated).
    pub async fn import_plan(
        &self,
        actor: &Actor,
        convention_id: i64,
        fiches: &[PlanImportRow],
        source: &str,
    ) -> Result<(u64, u64)> {
        let ctx = self.plan_context(convention_id).await?;
        let existing = self.plan_parts(convention_id, None).await?;
        let held: HashMap<String, &FicheRow> = existing.fiches.iter().map(|f| (f.code.to_lowercase(), f)).collect();
        // Indicators held, by fiche and name in lower case → (id, the values' number and level).
        let mut held_indicators: HashMap<(i64, String), HeldIndicator> = existing
            .indicators
            .iter()
            .filter_map(|i| Some(((i.fiche_id?, i.name.trim().to_lowercase()), (i.id, Vec::new()))))
            .collect();
        let by_id: HashMap<i64, (i64, String)> = existing
            .indicators
            .iter()
            .filter_map(|i| Some((i.id, (i.fiche_id?, i.name.trim().to_lowercase()))))
            .collect();
        for v in &existing.values {
            if let Some(held) = by_id.get(&v.indicator_id).and_then(|k| held_indicators.get_mut(k)) {
                held.1.push((v.number, v.level.clone()));
            }
        }

        let mut problems = Vec::new();
        let mut seen_codes: HashMap<String, &str> = HashMap::new();
        let mut checked = Vec::with_capacity(fiches.len());
        for (place, fiche, means, indicators) in fiches {
            let mut mine = Vec::new();
            let resolved = match ctx.resolve(fiche.clone()) {
                Ok(r) => Some(r),
                Err(e) => {
                    mine.push(e);
                    None
                }
            };
            if let Some(r) = &resolved {
                if let Some(first) = seen_codes.insert(r.fiche.code.to_lowercase(), place) {
                    mine.push(format!("la fiche « {} » figure déjà à : {first}", r.fiche.code));
                }
            }
            let means = check_means(means).unwrap_or_else(|p| {
                mine.extend(p);
                Vec::new()
            });
            let held_id = resolved.as_ref().and_then(|r| held.get(&r.fiche.code.to_lowercase())).map(|f| f.id);
            let mut names = BTreeSet::new();
            let mut inds = Vec::with_capacity(indicators.len());
            for i in indicators {
                match check_indicator(i) {
                    Ok(i) => {
                        if !names.insert(i.name.to_lowercase()) {
                            mine.push(format!("l'indicateur « {} » figure deux fois", i.name));
                            continue;
                        }
                        let matched = held_id.and_then(|f| held_indicators.get(&(f, i.name.to_lowercase())));
                        if let Some((id, values)) = matched {
                            if let Some(e) =
                                values.iter().find_map(|(n, l)| check_value(&i.kind, *n, l.as_deref()).err())
                            {
                                mine.push(format!(
                                    "indicateur « {} » : les valeurs déjà saisies ne correspondent plus à sa définition ({e})",
                                    i.name
                                ));
                            }
                            inds.push((Some(*id), i));
                        } else {
                            inds.push((None, i));
                        }
                    }
                    Err(e) => mine.push(format!("indicateur « {} » : {e}", i.name.trim())),
                }
            }
            if !mine.is_empty() {
                problems.push(format!("{place} : {}", mine.join(" ; ")));
            } else if let Some(r) = resolved {
                let current = held.get(&r.fiche.code.to_lowercase()).copied();
                checked.push((r, current, means, inds));
            }
        }
        if !problems.is_empty() {
            return Err(StoreError::Invalid(problems.join("\n")));
        }
        let current_fiches = fiche_records(Parts {
            fiches: existing.fiches.clone(),
            ambition_links: existing.ambition_links.clone(),
            objective_links: existing.objective_links.clone(),
            ..Parts::default()
        })?;
        let before: HashMap<i64, &NewFiche> = current_fiches.iter().map(|f| (f.id, &f.fiche)).collect();

        let (mut created, mut updated) = (0u64, 0u64);
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            for (r, current, means, indicators) in &checked {
                let label = format!("{} {}", r.fiche.code, r.fiche.title);
                let fiche_id = match current {
                    Some(row) => {
                        update_fiche_row!(&mut *tx, convention_id, row.id, r);
                        sqlx::query("UPDATE fiche SET version = version + 1 WHERE id = $1")
                            .bind(row.id)
                            .execute(&mut *tx)
                            .await?;
                        let from = status(&row.status)?;
                        if from != r.fiche.status {
                            insert_status_change!(&mut *tx, row.id, Some(from), r.fiche.status, "import", &actor.label);
                        }
                        record!(&mut *tx, &Change {
                            convention_id: Some(convention_id),
                            object_type: "fiche",
                            object_id: row.id.to_string(),
                            object_label: label,
                            action: "modification",
                            before: before.get(&row.id).map(|f| fiche_audit(f)),
                            after: Some(fiche_audit(&r.fiche)),
                            actor,
                        });
                        updated += 1;
                        row.id
                    }
                    None => {
                        let id = insert_fiche!(&mut *tx, convention_id, r);
                        insert_status_change!(&mut *tx, id, None, r.fiche.status, "création", &actor.label);
                        record!(&mut *tx, &Change {
                            convention_id: Some(convention_id),
                            object_type: "fiche",
                            object_id: id.to_string(),
                            object_label: label,
                            action: "creation",
                            before: None,
                            after: Some(fiche_audit(&r.fiche)),
                            actor,
                        });
                        created += 1;
                        id
                    }
                };
                replace_means!(&mut *tx, fiche_id, means);
                for (known, i) in indicators {
                    match known {
                        Some(id) => {
                            sqlx::query(
                                "UPDATE plan_indicator SET name = $1, definition = $2, targets = $3, version = version + 1 \
                                 WHERE id = $4",
                            )
                            .bind(&i.name)
                            .bind(json_text(&i.kind)?)
                            .bind(json_text(&i.targets)?)
                            .bind(*id)
                            .execute(&mut *tx)
                            .await?;
                        }
                        None => {
                            insert_indicator!(&mut *tx, convention_id, Some(fiche_id), i);
                        }
                    }
                }
            }
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "plan_action",
                object_id: source.to_owned(),
                object_label: format!("import du plan d'action ({source})"),
                action: "import",
                before: None,
                after: Some(json!({"crees": created, "mis_a_jour": updated})),
                actor,
            });
            tx.commit().await?;
        });
        Ok((created, updated))
    }

    // ---------------------------------------------------------------------------------------------
    // Reviews

    /// The reviews of a convention: by year (the final one last), then ambitions by number, then
    /// themes by name.
    pub async fn reviews(&self, convention_id: i64) -> Result<Vec<ReviewRecord>> {
        self.acquire().await?.conn().reviews(convention_id).await
    }

    /// Creates a review (`version` `None`) or saves it from the version read. There is one review per
    /// year (or final) and scope: creating one that exists, or saving from a stale version, is refused
    /// as a stale edit. Evaluates to (its id, its new version).
    pub async fn save_review(
        &self,
        actor: &Actor,
        convention_id: i64,
        review: &Review,
        version: Option<i64>,
    ) -> Result<(i64, i64)> {
        let scope = match &review.scope {
            ReviewScope::Ambition(n) => ReviewScope::Ambition(*n),
            ReviewScope::Theme(t) if t.trim().is_empty() => {
                return Err(StoreError::Invalid("le thème du bilan est vide".into()))
            }
            ReviewScope::Theme(t) => ReviewScope::Theme(t.trim().to_owned()),
        };
        if let Some(y) = review.year {
            if !ctg_domain::parse::PLAN_YEARS.contains(&y) {
                return Err(StoreError::Invalid(format!("année hors limites : {y}")));
            }
        }
        self.convention_summary(convention_id).await?;
        if let ReviewScope::Ambition(n) = scope {
            self.ambition_id(convention_id, n).await?;
        }
        let r = Review {
            scope,
            done: review.done.trim().to_owned(),
            successes: review.successes.trim().to_owned(),
            attention: review.attention.trim().to_owned(),
            concerns: review.concerns.trim().to_owned(),
            ..review.clone()
        };
        let (kind, key, declared) = (r.scope.kind(), r.scope.key(), json_text(&r.declared)?);
        let what = || format!("le {}", r.label());
        let Some(version) = version else {
            let inserted: Option<i64> = with_db!(self, pool => {
                let mut tx = pool.begin().await?;
                let inserted: Option<(i64,)> = sqlx::query_as(
                    "INSERT INTO review (convention_id, year, scope_kind, scope, done, successes, attention, concerns, declared) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING id",
                )
                .bind(convention_id)
                .bind(r.year)
                .bind(kind)
                .bind(&key)
                .bind(&r.done)
                .bind(&r.successes)
                .bind(&r.attention)
                .bind(&r.concerns)
                .bind(&declared)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((id,)) = inserted {
                    record!(&mut *tx, &Change {
                        convention_id: Some(convention_id),
                        object_type: "bilan",
                        object_id: id.to_string(),
                        object_label: r.label(),
                        action: "creation",
                        before: None,
                        after: Some(r.audit_value()),
                        actor,
                    });
                    tx.commit().await?;
                }
                inserted.map(|i| i.0)
            });
            return match inserted {
                Some(id) => Ok((id, 1)),
                // It exists already, created by someone else (perhaps since this page was read).
                None => match self.review_id(convention_id, &r).await? {
                    Some(id) => Err(self.stale(what(), "bilan", id).await),
                    None => Err(StoreError::Stale { what: what(), last_change: None }),
                },
            };
        };
        // Reviews are never deleted nor moved to another year or scope: the id found by its year and
        // scope is the review the author read.
        let id = self.review_id(convention_id, &r).await?.ok_or_else(|| StoreError::NotFound(what()))?;
        let version = self
            .versioned_write(
                Versioned { table: "review", id, version: Some(version) },
                async |c| {
                    let current = c
                        .reviews(convention_id)
                        .await?
                        .into_iter()
                        .find(|e| e.id == id)
                        .ok_or_else(|| StoreError::NotFound(what()))?;
                    Ok(Loaded::new(
                        what(),
                        Change {
                            convention_id: Some(convention_id),
                            object_type: "bilan",
                            object_id: id.to_string(),
                            object_label: r.label(),
                            action: "modification",
                            before: Some(current.review.audit_value()),
                            after: Some(r.audit_value()),
                            actor,
                        },
                    ))
                },
                async |c, ()| {
                    with_conn!(c, c => {
                        sqlx::query(
                            "UPDATE review SET done = $1, successes = $2, attention = $3, concerns = $4, declared = $5 \
                             WHERE id = $6",
                        )
                        .bind(&r.done)
                        .bind(&r.successes)
                        .bind(&r.attention)
                        .bind(&r.concerns)
                        .bind(&declared)
                        .bind(id)
                        .execute(&mut *c)
                        .await?;
                    });
                    Ok(())
                },
            )
            .await?;
        Ok((id, version))
    }

    /// The id of the review of this year (or final) and scope, if there is one.
    async fn review_id(&self, convention_id: i64, r: &Review) -> Result<Option<i64>> {
        let found: Option<(i64,)> = with_db!(self, pool => {
            sqlx::query_as(
                "SELECT id FROM review WHERE convention_id = $1 AND COALESCE(year, 0) = $2 AND scope_kind = $3 AND scope = $4",
            )
            .bind(convention_id)
            .bind(r.year.unwrap_or(0))
            .bind(r.scope.kind())
            .bind(r.scope.key())
            .fetch_optional(pool)
            .await?
        });
        Ok(found.map(|f| f.0))
    }
}

impl Conn<'_> {
    /// See [`Store::fiche`].
    pub(crate) async fn fiche(&mut self, convention_id: i64, id: i64) -> Result<FicheRecord> {
        let p = self.plan_rows(convention_id, Some(id), false).await?;
        fiche_records(p)?.pop().ok_or_else(|| StoreError::NotFound(format!("la fiche n° {id} de cette convention")))
    }

    /// The ambitions, objectives and communes a fiche of this convention is checked against.
    async fn plan_context(&mut self, convention_id: i64) -> Result<Context> {
        let summary = self.convention_summary(convention_id).await?;
        let (ambitions, objectives, communes) = with_conn!(self, c => {
            let ambitions: Vec<(i64, i64)> =
                sqlx::query_as("SELECT number, id FROM ambition WHERE convention_id = $1")
                    .bind(convention_id)
                    .fetch_all(&mut *c)
                    .await?;
            let objectives: Vec<(String, i64)> =
                sqlx::query_as("SELECT code, id FROM objective WHERE convention_id = $1")
                    .bind(convention_id)
                    .fetch_all(&mut *c)
                    .await?;
            let communes: Vec<(String,)> = sqlx::query_as("SELECT commune_code FROM epci_member WHERE epci_siren = $1")
                .bind(summary.epci_siren.as_str())
                .fetch_all(&mut *c)
                .await?;
            (ambitions, objectives, communes)
        });
        Ok(Context {
            ambitions: ambitions.into_iter().collect(),
            objectives: objectives.into_iter().map(|(code, id)| (code.to_lowercase(), (code, id))).collect(),
            communes: communes.into_iter().map(|c| c.0).collect(),
        })
    }

    /// The id of an ambition of the convention, by number; a French error when it has none.
    async fn ambition_id(&mut self, convention_id: i64, number: i64) -> Result<i64> {
        let found: Option<(i64,)> = with_conn!(self, c => {
            sqlx::query_as("SELECT id FROM ambition WHERE convention_id = $1 AND number = $2")
                .bind(convention_id)
                .bind(number)
                .fetch_optional(&mut *c)
                .await?
        });
        match found {
            Some((id,)) => Ok(id),
            None => Err(StoreError::Invalid(format!("l'ambition {number} n'existe pas dans cette convention"))),
        }
    }

    /// The objectives of a convention, by ambition then code.
    pub(crate) async fn objectives(&mut self, convention_id: i64) -> Result<Vec<ObjectiveRecord>> {
        let rows: Vec<ObjectiveRow> = with_conn!(self, c => {
            sqlx::query_as(OBJECTIVE_SELECT).bind(convention_id).fetch_all(&mut *c).await?
        });
        Ok(objective_records(rows))
    }

    /// The rows of the plan (see [`Store::plan_parts_of`]); `outline` leaves out what the tree of the plan does not show (means,
    /// status history, indicators and their values), which is most of them.
    async fn plan_rows(&mut self, convention_id: i64, only: Option<i64>, outline: bool) -> Result<Parts> {
        let whole = only.is_none();
        let filter = if only.is_some() { " AND f.id = $2" } else { "" };
        let mut p = Parts::default();
        with_conn!(self, c => {
            macro_rules! fetch {
                ($sql:expr) => {{
                    let sql: String = $sql;
                    let mut q = sqlx::query_as(&sql).bind(convention_id);
                    if let Some(id) = only {
                        q = q.bind(id);
                    }
                    q.fetch_all(&mut *c).await?
                }};
            }
            if whole {
                p.stakes = fetch!(
                    "SELECT s.number, s.title, a.number, a.title FROM stake s LEFT JOIN ambition a ON a.stake_id = s.id \
                     WHERE s.convention_id = $1 ORDER BY s.number, a.number".to_owned()
                );
                p.objectives = fetch!(OBJECTIVE_SELECT.to_owned());
            }
            p.fiches = fetch!(format!("SELECT {FICHE_COLUMNS} FROM fiche f WHERE f.convention_id = $1{filter}"));
            p.ambition_links = fetch!(format!(
                "SELECT l.fiche_id, a.number FROM fiche_ambition l JOIN fiche f ON f.id = l.fiche_id \
                 JOIN ambition a ON a.id = l.ambition_id WHERE f.convention_id = $1{filter}"
            ));
            p.objective_links = fetch!(format!(
                "SELECT l.fiche_id, o.code FROM fiche_objective l JOIN fiche f ON f.id = l.fiche_id \
                 JOIN objective o ON o.id = l.objective_id WHERE f.convention_id = $1{filter}"
            ));
            p.subs = fetch!(format!(
                "SELECT s.id, s.fiche_id, s.parent_id, s.title, s.status, s.pilot, s.start_date, s.end_date, s.version \
                 FROM sub_action s JOIN fiche f ON f.id = s.fiche_id WHERE f.convention_id = $1{filter} \
                 ORDER BY s.fiche_id, s.position, s.id"
            ));
            if outline {
                return Ok(p);
            }
            p.means = fetch!(format!(
                "SELECT m.fiche_id, m.organisation, m.year, m.fte_hundredths, m.planned_cents, m.spent_cents, m.kind, \
                 m.material FROM means m JOIN fiche f ON f.id = m.fiche_id WHERE f.convention_id = $1{filter} \
                 ORDER BY m.fiche_id, m.id"
            ));
            p.history = fetch!(format!(
                "SELECT c.fiche_id, c.changed_at, c.from_status, c.to_status, c.reason, c.author \
                 FROM fiche_status_change c JOIN fiche f ON f.id = c.fiche_id WHERE f.convention_id = $1{filter} \
                 ORDER BY c.fiche_id, c.id"
            ));
            if whole {
                p.indicators = fetch!(
                    "SELECT id, fiche_id, name, definition, targets, version FROM plan_indicator \
                     WHERE convention_id = $1 ORDER BY id".to_owned()
                );
                p.values = fetch!(
                    "SELECT v.indicator_id, v.period, v.number, v.level, v.author, v.value_date, v.source, v.comment \
                     FROM indicator_value v JOIN plan_indicator i ON i.id = v.indicator_id WHERE i.convention_id = $1 \
                     ORDER BY v.indicator_id, v.period, v.value_date, v.id".to_owned()
                );
            }
        });
        Ok(p)
    }

    /// Checks the parent of a sub-action: a first-level sub-action of the same fiche, other than
    /// `itself`. Two levels at most.
    async fn check_parent(&mut self, fiche_id: i64, parent: i64, itself: Option<i64>) -> Result<()> {
        if itself == Some(parent) {
            return Err(StoreError::Invalid("une sous-action ne peut pas être sa propre parente".into()));
        }
        let found: Option<(i64, Option<i64>, String)> = with_conn!(self, c => {
            sqlx::query_as("SELECT fiche_id, parent_id, title FROM sub_action WHERE id = $1")
                .bind(parent)
                .fetch_optional(&mut *c)
                .await?
        });
        match found {
            Some((f, _, _)) if f != fiche_id => {
                Err(StoreError::Invalid(format!("la sous-action parente n° {parent} n'appartient pas à cette fiche")))
            }
            Some((_, Some(_), title)) => Err(StoreError::Invalid(format!(
                "la sous-action « {title} » est déjà de second niveau : on ne peut pas lui rattacher de sous-action \
                 (deux niveaux au plus)"
            ))),
            Some(_) => Ok(()),
            None => Err(StoreError::Invalid(format!("la sous-action parente n° {parent} n'existe pas"))),
        }
    }

    async fn indicator_record(&mut self, convention_id: i64, id: i64) -> Result<IndicatorRecord> {
        let (rows, values): (Vec<IndicatorRow>, Vec<ValueRow>) = with_conn!(self, c => {
            let rows = sqlx::query_as(
                "SELECT id, fiche_id, name, definition, targets, version FROM plan_indicator \
                 WHERE id = $1 AND convention_id = $2",
            )
            .bind(id)
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?;
            let values = sqlx::query_as(
                "SELECT indicator_id, period, number, level, author, value_date, source, comment FROM indicator_value \
                 WHERE indicator_id = $1 ORDER BY period, value_date, id",
            )
            .bind(id)
            .fetch_all(&mut *c)
            .await?;
            (rows, values)
        });
        indicator_records(rows, values)?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("l'indicateur n° {id} de cette convention")))
    }

    /// The reviews of a convention: by year (the final one last), then ambitions by number, then
    /// themes by name.
    pub(crate) async fn reviews(&mut self, convention_id: i64) -> Result<Vec<ReviewRecord>> {
        let rows: Vec<ReviewRow> = with_conn!(self, c => {
            sqlx::query_as(
                "SELECT id, year, scope_kind, scope, done, successes, attention, concerns, declared, version FROM review \
                 WHERE convention_id = $1",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?
        });
        let mut out = rows
            .into_iter()
            .map(|r| {
                let scope = match r.scope_kind.as_str() {
                    "ambition" => ReviewScope::Ambition(r.scope.parse().map_err(|_| corrupt("ambition", &r.scope))?),
                    "theme" => ReviewScope::Theme(r.scope),
                    other => return Err(corrupt("périmètre", other)),
                };
                Ok(ReviewRecord {
                    id: r.id,
                    version: r.version,
                    review: Review {
                        year: r.year,
                        scope,
                        done: r.done,
                        successes: r.successes,
                        attention: r.attention,
                        concerns: r.concerns,
                        declared: serde_json::from_str(&r.declared)
                            .map_err(|_| corrupt("chiffres déclarés", &r.declared))?,
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| {
            let (a, b) = (&a.review, &b.review);
            (a.year.is_none(), a.year).cmp(&(b.year.is_none(), b.year)).then_with(|| match (&a.scope, &b.scope) {
                (ReviewScope::Ambition(x), ReviewScope::Ambition(y)) => x.cmp(y),
                (ReviewScope::Ambition(_), ReviewScope::Theme(_)) => Ordering::Less,
                (ReviewScope::Theme(_), ReviewScope::Ambition(_)) => Ordering::Greater,
                (ReviewScope::Theme(x), ReviewScope::Theme(y)) => natural_cmp(x, y),
            })
        });
        Ok(out)
    }
}

fn objective_records(rows: Vec<ObjectiveRow>) -> Vec<ObjectiveRecord> {
    let mut out: Vec<ObjectiveRecord> = rows
        .into_iter()
        .map(|r| ObjectiveRecord {
            id: r.id,
            version: r.version,
            objective: Objective { code: r.code, title: r.title, ambition: r.ambition },
        })
        .collect();
    out.sort_by(|a, b| {
        a.objective.ambition.cmp(&b.objective.ambition).then_with(|| natural_cmp(&a.objective.code, &b.objective.code))
    });
    out
}

fn indicator_records(rows: Vec<IndicatorRow>, values: Vec<ValueRow>) -> Result<Vec<IndicatorRecord>> {
    let mut by_indicator: HashMap<i64, Vec<IndicatorValue>> = HashMap::new();
    for v in values {
        by_indicator.entry(v.indicator_id).or_default().push(IndicatorValue {
            period: v.period,
            number: v.number,
            level: v.level,
            author: v.author,
            date: v.value_date,
            source: v.source,
            comment: v.comment,
        });
    }
    rows.into_iter()
        .map(|r| {
            Ok(IndicatorRecord {
                id: r.id,
                version: r.version,
                fiche_id: r.fiche_id,
                indicator: PlanIndicator {
                    kind: serde_json::from_str(&r.definition)
                        .map_err(|_| corrupt("définition d'indicateur", &r.definition))?,
                    targets: serde_json::from_str(&r.targets)
                        .map_err(|_| corrupt("cibles d'indicateur", &r.targets))?,
                    name: r.name,
                },
                values: by_indicator.remove(&r.id).unwrap_or_default(),
            })
        })
        .collect()
}

fn fiche_records(p: Parts) -> Result<Vec<FicheRecord>> {
    let mut ambitions: HashMap<i64, Vec<i64>> = HashMap::new();
    for (fiche, number) in p.ambition_links {
        ambitions.entry(fiche).or_default().push(number);
    }
    let mut objectives: HashMap<i64, Vec<String>> = HashMap::new();
    for (fiche, code) in p.objective_links {
        objectives.entry(fiche).or_default().push(code);
    }
    let mut subs: HashMap<i64, Vec<SubActionRecord>> = HashMap::new();
    for s in p.subs {
        subs.entry(s.fiche_id).or_default().push(SubActionRecord {
            sub: SubAction {
                id: s.id,
                parent: s.parent_id,
                status: status(&s.status)?,
                title: s.title,
                pilot: s.pilot,
                start: s.start_date,
                end: s.end_date,
            },
            version: s.version,
        });
    }
    let mut means: HashMap<i64, Vec<Means>> = HashMap::new();
    for m in p.means {
        means.entry(m.fiche_id).or_default().push(Means {
            kind: MeansKind::parse(&m.kind).map_err(|_| corrupt("nature de la dépense", &m.kind))?,
            organisation: m.organisation,
            year: m.year,
            fte_hundredths: m.fte_hundredths,
            planned_cents: m.planned_cents,
            spent_cents: m.spent_cents,
            material: m.material,
        });
    }
    let mut history: HashMap<i64, Vec<StatusChange>> = HashMap::new();
    for h in p.history {
        history.entry(h.fiche_id).or_default().push(StatusChange {
            at: h.changed_at,
            from: h.from_status.as_deref().map(status).transpose()?,
            to: status(&h.to_status)?,
            reason: h.reason,
            author: h.author,
        });
    }
    let mut out = p
        .fiches
        .into_iter()
        .map(|r| {
            let mut amb = ambitions.remove(&r.id).unwrap_or_default();
            amb.sort_unstable();
            let mut obj = objectives.remove(&r.id).unwrap_or_default();
            obj.sort_by(|a, b| natural_cmp(a, b));
            let list = |raw: &str, what: &str| -> Result<Vec<String>> {
                serde_json::from_str(raw).map_err(|_| corrupt(what, raw))
            };
            Ok(FicheRecord {
                id: r.id,
                version: r.version,
                fiche: NewFiche {
                    partners: list(&r.partners, "partenaires")?,
                    approaches: list(&r.approaches, "approches")?,
                    communes: serde_json::from_str(&r.communes).map_err(|_| corrupt("communes", &r.communes))?,
                    priority: r
                        .priority
                        .as_deref()
                        .map(|p| Priority::parse(p).map_err(|_| corrupt("priorité", p)))
                        .transpose()?,
                    status: status(&r.status)?,
                    ambitions: amb,
                    objectives: obj,
                    code: r.code,
                    title: r.title,
                    description: r.description,
                    pilot_organisation: r.pilot_organisation,
                    pilot_person: r.pilot_person,
                    public: r.public,
                    start: r.start_date,
                    end: r.end_date,
                    needs: r.needs,
                },
                subs: subs.remove(&r.id).unwrap_or_default(),
                means: means.remove(&r.id).unwrap_or_default(),
                history: history.remove(&r.id).unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    out.sort_by(|a, b| natural_cmp(&a.fiche.code, &b.fiche.code));
    Ok(out)
}
