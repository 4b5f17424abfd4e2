//! The action plan in storage: objectives under the ambitions, fiches action with their history of
//! status changes, sub-actions on two levels and means, follow-up indicators with their values, the
//! import of a whole plan (all or nothing), and the reviews (bilans).
//!
//! Every write runs in one transaction with its entry in the audit trail; what a user edits carries a
//! `version`, and an edit made from a stale one is refused ([`StoreError::Stale`]). The whole plan of a
//! convention is read in a fixed number of queries, whatever the number of fiches and indicators.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use ctg_domain::parse::natural_cmp;
use ctg_domain::plan::{FicheStatus, IndicatorKind, Means, NewFiche, PlanIndicator, Priority};
use ctg_domain::InseeCode;
use serde::Serialize;
use serde_json::{json, Value};

use crate::conn::{with_conn, Conn};
use crate::{with_db, Result, Store, StoreError};

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
                "INSERT INTO means (fiche_id, party_id, year, fte_hundredths, planned_cents, spent_cents, kind, material) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind($fiche)
            .bind(m.party_id)
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

// The sub-resources are declared after the macros above, which they use: a `macro_rules!` macro is in
// scope only below its definition, and the names in its body are those of the module that uses it.
mod fiches;
mod import;
mod indicators;
mod means;
mod objectives;
mod read;
mod renewal;
mod reviews;
mod sub_actions;

pub use fiches::{FicheRecord, StatusChange};
pub use import::PlanImportRow;
pub use indicators::IndicatorRecord;
pub use objectives::ObjectiveRecord;
pub use read::{Plan, PlanStake};
pub use renewal::{FicheOrigin, Successor};
pub use reviews::{Review, ReviewRecord, ReviewScope};
pub use sub_actions::SubActionRecord;

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
    party_id: i64,
    /// The party's label (short name, else name).
    organisation: String,
    year: i32,
    fte_hundredths: i64,
    planned_cents: Option<i64>,
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
    published: bool,
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
    /// The parties of the convention, that means lines name.
    parties: Vec<ctg_domain::funds::PartyRef>,
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

/// Tidies and checks the means of a fiche: each one ([`Means::check`]), and no two for the same
/// organisation, year and kind. Problems are returned in French.
fn check_means(
    means: &[Means],
    parties: &[ctg_domain::funds::PartyRef],
) -> std::result::Result<Vec<Means>, Vec<String>> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(means.len());
    for m in means {
        let party = match ctg_domain::funds::party_by_id(parties, m.party_id) {
            Ok(p) => p,
            Err(e) => {
                problems.push(format!("moyens : {e}"));
                continue;
            }
        };
        let m = Means { organisation: party.label().to_owned(), material: m.material.trim().to_owned(), ..m.clone() };
        if let Err(e) = m.check() {
            problems.push(format!("moyens : {e}"));
            continue;
        }
        if !seen.insert((m.party_id, m.year, m.kind.code())) {
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
}

impl Conn<'_> {
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
        let parties = self.party_refs(convention_id).await?;
        Ok(Context {
            parties,
            ambitions: ambitions.into_iter().collect(),
            objectives: objectives.into_iter().map(|(code, id)| (code.to_lowercase(), (code, id))).collect(),
            communes: communes.into_iter().map(|c| c.0).collect(),
        })
    }

    /// The id of an ambition of the convention, by number; a French error when it has none.
    pub(crate) async fn ambition_id(&mut self, convention_id: i64, number: i64) -> Result<i64> {
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
}
