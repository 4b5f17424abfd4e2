//! Reading the plan: the whole plan of a convention ([`Plan`]) or one fiche, in one snapshot and a fixed
//! number of queries, and the records built from its rows.

use std::collections::HashMap;

use ctg_domain::parse::natural_cmp;
use ctg_domain::plan::{
    rollup, IndicatorValue, Means, MeansKind, NewFiche, Objective, PlanIndicator, Priority, SubAction,
};

use super::{corrupt, status, IndicatorRow, ObjectiveRow, Parts, ValueRow, OBJECTIVE_SELECT};
use super::{FicheRecord, IndicatorRecord, ObjectiveRecord, StatusChange, SubActionRecord};
use crate::conn::{with_conn, Conn};
use crate::{with_db, Result, Store, StoreError};

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
    /// The stop of the commitments when the convention is terminated (art. 13): what runs on or after
    /// its effective date is stopped, counted apart in every total.
    pub stop: Option<ctg_domain::life::Stop>,
}

impl Plan {
    /// What [`Store::plan_outline`] reads: the same plan without means, status history, indicators
    /// and their values.
    fn outline(&self) -> Plan {
        Plan {
            stakes: self.stakes.clone(),
            objectives: self.objectives.clone(),
            fiches: self
                .fiches
                .iter()
                .map(|f| FicheRecord {
                    id: f.id,
                    version: f.version,
                    fiche: f.fiche.clone(),
                    subs: f.subs.clone(),
                    means: Vec::new(),
                    history: Vec::new(),
                })
                .collect(),
            indicators: Vec::new(),
            stop: self.stop,
        }
    }

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

const FICHE_COLUMNS: &str = "f.id, f.code, f.title, f.description, f.pilot_organisation, f.pilot_person, f.partners, \
     f.public, f.communes, f.start_date, f.end_date, f.priority, f.status, f.approaches, f.needs, f.version";

impl Store {
    /// Reads the rows of the whole plan of a convention, or (`only`) those of one of its fiches, in one
    /// snapshot and a fixed number of queries.
    pub(super) async fn plan_parts(&self, convention_id: i64, only: Option<i64>) -> Result<Parts> {
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
    ///
    /// Kept in memory with the write stamp it was read at ([`Store::write_stamps`]): while nothing is
    /// written to the convention (nor to the shared data), a read costs two small queries instead of
    /// ten large ones, and no server serves a plan older than the last committed write.
    pub async fn plan(&self, convention_id: i64) -> Result<Plan> {
        // The stamp is read first: the rows read after it are at least as new, and an entry stored
        // under a stamp older than the database's is never served.
        // One reader at a time reads a plan that is missing; the others then find it in memory.
        let read = || async { Ok::<_, StoreError>(std::sync::Arc::new(self.plan_read(convention_id, false).await?)) };
        let plan = match self.write_stamps(&[convention_id]).await?.get(&convention_id).copied() {
            Some(stamp) => self.plans.get_or_load(convention_id, stamp, read).await?,
            None => read().await?,
        };
        Ok(Plan::clone(&plan))
    }

    /// The plan as its tree shows it: the strategy, the fiches and their sub-actions, without their
    /// means, status history or indicators (those lists are empty). Fast for large plans; from the
    /// whole plan when it is in memory at the current stamp.
    pub async fn plan_outline(&self, convention_id: i64) -> Result<Plan> {
        let stamp = self.write_stamps(&[convention_id]).await?.get(&convention_id).copied();
        if let Some(plan) = stamp.and_then(|stamp| self.plans.get(&convention_id, &stamp)) {
            return Ok(plan.outline());
        }
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
        let stop = self.commitments_stop(convention_id).await?;
        Ok(Plan { stakes, objectives, fiches, indicators, stop })
    }

    /// One fiche of a convention, with its sub-actions, means and history.
    pub async fn fiche(&self, convention_id: i64, id: i64) -> Result<FicheRecord> {
        let p = self.plan_parts(convention_id, Some(id)).await?;
        fiche_records(p)?.pop().ok_or_else(|| StoreError::NotFound(format!("la fiche n° {id} de cette convention")))
    }

    /// The pilot organisation of a fiche, as written on it (the right to report on a fiche depends on
    /// it): one small query, where the whole fiche takes six.
    pub async fn fiche_pilot(&self, convention_id: i64, id: i64) -> Result<String> {
        let row: Option<(String,)> = with_db!(self, pool => {
            sqlx::query_as("SELECT pilot_organisation FROM fiche WHERE convention_id = $1 AND id = $2")
                .bind(convention_id)
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(|r| r.0).ok_or_else(|| StoreError::NotFound(format!("la fiche n° {id} de cette convention")))
    }
}

impl Conn<'_> {
    /// See [`Store::fiche`].
    pub(crate) async fn fiche(&mut self, convention_id: i64, id: i64) -> Result<FicheRecord> {
        let p = self.plan_rows(convention_id, Some(id), false).await?;
        fiche_records(p)?.pop().ok_or_else(|| StoreError::NotFound(format!("la fiche n° {id} de cette convention")))
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
                "SELECT m.fiche_id, m.party_id, COALESCE(NULLIF(o.short_name, ''), o.name) AS organisation, m.year, \
                 m.fte_hundredths, m.planned_cents, m.spent_cents, m.kind, m.material FROM means m \
                 JOIN fiche f ON f.id = m.fiche_id JOIN party p ON p.id = m.party_id \
                 JOIN organisation o ON o.id = p.organisation_id WHERE f.convention_id = $1{filter} \
                 ORDER BY m.fiche_id, m.id"
            ));
            p.history = fetch!(format!(
                "SELECT c.fiche_id, c.changed_at, c.from_status, c.to_status, c.reason, c.author \
                 FROM fiche_status_change c JOIN fiche f ON f.id = c.fiche_id WHERE f.convention_id = $1{filter} \
                 ORDER BY c.fiche_id, c.id"
            ));
            if whole {
                p.indicators = fetch!(
                    "SELECT id, fiche_id, name, definition, targets, version, published FROM plan_indicator \
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
}

pub(super) fn objective_records(rows: Vec<ObjectiveRow>) -> Vec<ObjectiveRecord> {
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

pub(super) fn indicator_records(rows: Vec<IndicatorRow>, values: Vec<ValueRow>) -> Result<Vec<IndicatorRecord>> {
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
                published: r.published,
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

pub(super) fn fiche_records(p: Parts) -> Result<Vec<FicheRecord>> {
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
            party_id: m.party_id,
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
