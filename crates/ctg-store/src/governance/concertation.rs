//! The concertation that prepared the convention: its events, their contributions with the ambitions
//! and fiches that answer them, and the import of a concertation file.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use ctg_domain::format::french_serde_message;
use ctg_domain::governance::{
    ConcertationEvent, ConcertationKind, Contribution, NewConcertationEvent, NewContribution, ParticipantCategory,
    Participants,
};
use ctg_domain::{Actor, InseeCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{corrupt, invalid};
use crate::audit::{record, Change};
use crate::conn::{with_conn, Conn};
use crate::versioned::{Loaded, Versioned};
use crate::{with_db, Result, Store, StoreError};

/// A concertation event to import, with its contributions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcertationEntry {
    pub event: NewConcertationEvent,
    pub contributions: Vec<NewContribution>,
}

/// A concertation file as read: its note (how figures were entered), its source, its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcertationFile {
    pub note: Option<String>,
    pub source: Option<String>,
    pub entries: Vec<ConcertationEntry>,
}

/// What an import of the concertation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConcertationImport {
    pub created: u64,
    pub updated: u64,
    pub contributions: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(rename = "evenements")]
    events: Vec<Value>,
}

/// Reads a concertation file (JSON): `{"note": …, "source": …, "evenements": [{"nature", "intitule",
/// "debut", "fin", "nombre", "communes", "nombre_communes", "participants": {"habitants", "elus",
/// "partenaires", "total", "environ"}, "themes", "note", "contributions": [{"texte", "auteur",
/// "theme", "ambitions", "fiches"}]}]}`. Every event is checked; all the problems are reported
/// together, each with the number of its event.
pub fn parse_concertation(file: &str, bytes: &[u8]) -> Result<ConcertationFile> {
    let message = |e: &serde_json::Error| {
        let detail = e.to_string();
        french_serde_message(detail.split(" at line ").next().unwrap_or(&detail))
    };
    let shape: FileShape = serde_json::from_slice(bytes)
        .map_err(|e| invalid(format!("{file}, ligne {} : JSON inattendu ({})", e.line(), message(&e))))?;
    let mut problems = Vec::new();
    let mut entries = Vec::with_capacity(shape.events.len());
    for (i, mut raw) in shape.events.into_iter().enumerate() {
        let place = format!("{file}, événement n° {}", i + 1);
        let contributions = raw.as_object_mut().and_then(|o| o.remove("contributions")).unwrap_or(json!([]));
        let event = match serde_json::from_value::<NewConcertationEvent>(raw) {
            Ok(e) => e,
            Err(e) => {
                problems.push(format!("{place} : {}", message(&e)));
                continue;
            }
        };
        let title = event.title.clone();
        let event = match event.check() {
            Ok(e) => e,
            Err(e) => {
                problems.push(format!("{place} (« {title} ») : {e}"));
                continue;
            }
        };
        let contributions: Vec<NewContribution> = match serde_json::from_value(contributions) {
            Ok(c) => c,
            Err(e) => {
                problems.push(format!("{place} (« {title} »), contributions : {}", message(&e)));
                continue;
            }
        };
        let mut checked = Vec::with_capacity(contributions.len());
        for (j, c) in contributions.into_iter().enumerate() {
            match c.check() {
                Ok(c) => checked.push(c),
                Err(e) => problems.push(format!("{place}, contribution n° {} : {e}", j + 1)),
            }
        }
        entries.push(ConcertationEntry { event, contributions: checked });
    }
    if !problems.is_empty() {
        return Err(StoreError::Invalid(problems.join("\n")));
    }
    Ok(ConcertationFile { note: shape.note, source: shape.source, entries })
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    kind: String,
    title: String,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
    occurrences: i64,
    communes: String,
    commune_count: Option<i64>,
    inhabitants: Option<i64>,
    elected: Option<i64>,
    partners: Option<i64>,
    participants: Option<i64>,
    approximate: bool,
    themes: String,
    note: Option<String>,
    version: i64,
}

impl EventRow {
    fn into_event(self) -> Result<ConcertationEvent> {
        let codes: Vec<String> =
            serde_json::from_str(&self.communes).map_err(|_| corrupt("communes", &self.communes))?;
        Ok(ConcertationEvent {
            id: self.id,
            version: self.version,
            data: NewConcertationEvent {
                kind: ConcertationKind::parse(&self.kind).map_err(|_| corrupt("type de concertation", &self.kind))?,
                title: self.title,
                start: self.start_date,
                end: self.end_date,
                occurrences: self.occurrences,
                communes: codes
                    .iter()
                    .map(|c| InseeCode::parse(c).map_err(|_| corrupt("code INSEE", c)))
                    .collect::<Result<_>>()?,
                commune_count: self.commune_count,
                participants: Participants {
                    inhabitants: self.inhabitants,
                    elected: self.elected,
                    partners: self.partners,
                    total: self.participants,
                    approximate: self.approximate,
                },
                themes: serde_json::from_str(&self.themes).map_err(|_| corrupt("thèmes", &self.themes))?,
                note: self.note,
            },
            contributions: Vec::new(),
        })
    }
}

#[derive(sqlx::FromRow)]
struct ContributionRow {
    id: i64,
    event_id: i64,
    content: String,
    author: Option<String>,
    theme: Option<String>,
    version: i64,
}

fn event_audit(e: &NewConcertationEvent) -> Value {
    serde_json::to_value(e).unwrap_or(Value::Null)
}

fn contribution_audit(c: &NewContribution) -> Value {
    serde_json::to_value(c).unwrap_or(Value::Null)
}

fn json_list<T: serde::Serialize>(v: &[T]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

const EVENT_COLUMNS: &str =
    "id, kind, title, start_date, end_date, occurrences, communes, commune_count, inhabitants, \
     elected, partners, participants, approximate, themes, note, version";

/// Inserts a concertation event in a transaction; evaluates to its id.
macro_rules! insert_event {
    ($tx:expr, $convention:expr, $e:expr) => {{
        let e: &NewConcertationEvent = $e;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO concertation_event (convention_id, kind, title, start_date, end_date, occurrences, communes, \
             commune_count, inhabitants, elected, partners, participants, approximate, themes, note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
        )
        .bind($convention)
        .bind(e.kind.code())
        .bind(&e.title)
        .bind(e.start)
        .bind(e.end)
        .bind(e.occurrences)
        .bind(json_list(&e.communes))
        .bind(e.commune_count)
        .bind(e.participants.inhabitants)
        .bind(e.participants.elected)
        .bind(e.participants.partners)
        .bind(e.participants.total)
        .bind(e.participants.approximate)
        .bind(json_list(&e.themes))
        .bind(&e.note)
        .fetch_one(&mut *$tx)
        .await?;
        id
    }};
}

/// Rewrites a concertation event of the convention, in a transaction (its `version` is the caller's);
/// evaluates to whether it was found.
macro_rules! update_event_row {
    ($tx:expr, $convention:expr, $id:expr, $e:expr) => {{
        let e: &NewConcertationEvent = $e;
        sqlx::query(
            "UPDATE concertation_event SET kind = $1, title = $2, start_date = $3, end_date = $4, occurrences = $5, \
             communes = $6, commune_count = $7, inhabitants = $8, elected = $9, partners = $10, participants = $11, \
             approximate = $12, themes = $13, note = $14 WHERE id = $15 AND convention_id = $16",
        )
        .bind(e.kind.code())
        .bind(&e.title)
        .bind(e.start)
        .bind(e.end)
        .bind(e.occurrences)
        .bind(json_list(&e.communes))
        .bind(e.commune_count)
        .bind(e.participants.inhabitants)
        .bind(e.participants.elected)
        .bind(e.participants.partners)
        .bind(e.participants.total)
        .bind(e.participants.approximate)
        .bind(json_list(&e.themes))
        .bind(&e.note)
        .bind($id)
        .bind($convention)
        .execute(&mut *$tx)
        .await?
        .rows_affected()
            == 1
    }};
}

/// Replaces the ambitions (by id) and fiches linked to a contribution, in a transaction.
macro_rules! set_contribution_links {
    ($tx:expr, $id:expr, $ambition_ids:expr, $fiches:expr) => {{
        let ambition_ids: &[i64] = $ambition_ids;
        let fiches: &[i64] = $fiches;
        sqlx::query("DELETE FROM contribution_ambition WHERE contribution_id = $1")
            .bind($id)
            .execute(&mut *$tx)
            .await?;
        sqlx::query("DELETE FROM contribution_fiche WHERE contribution_id = $1").bind($id).execute(&mut *$tx).await?;
        for a in ambition_ids {
            sqlx::query("INSERT INTO contribution_ambition (contribution_id, ambition_id) VALUES ($1, $2)")
                .bind($id)
                .bind(*a)
                .execute(&mut *$tx)
                .await?;
        }
        for f in fiches {
            sqlx::query("INSERT INTO contribution_fiche (contribution_id, fiche_id) VALUES ($1, $2)")
                .bind($id)
                .bind(*f)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}

/// Inserts a contribution and its links (ambition ids, fiche ids) in a transaction; evaluates to its id.
macro_rules! insert_contribution {
    ($tx:expr, $event:expr, $c:expr, $ambition_ids:expr) => {{
        let c: &NewContribution = $c;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO concertation_contribution (event_id, content, author, theme) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind($event)
        .bind(&c.text)
        .bind(c.author.map(ParticipantCategory::code))
        .bind(&c.theme)
        .fetch_one(&mut *$tx)
        .await?;
        set_contribution_links!($tx, id, $ambition_ids, &c.fiches);
        id
    }};
}

impl Store {
    /// The concertation events of a convention, by date, each with its contributions.
    pub async fn concertation(&self, convention_id: i64) -> Result<Vec<ConcertationEvent>> {
        self.acquire().await?.conn().concertation(convention_id).await
    }

    async fn check_event(&self, event: NewConcertationEvent) -> Result<NewConcertationEvent> {
        let event = event.check().map_err(invalid)?;
        let codes: Vec<&str> = event.communes.iter().map(InseeCode::as_str).collect();
        let known: BTreeSet<String> = self.known_communes(&codes).await?.into_iter().collect();
        let unknown: Vec<String> = codes.iter().filter(|c| !known.contains(**c)).map(|c| (*c).to_owned()).collect();
        if unknown.is_empty() {
            Ok(event)
        } else {
            Err(StoreError::UnknownCommunes(unknown))
        }
    }

    /// Records a concertation event of the convention.
    pub async fn create_concertation_event(
        &self,
        actor: &Actor,
        convention_id: i64,
        event: NewConcertationEvent,
    ) -> Result<i64> {
        let event = self.check_event(event).await?;
        self.convention_summary(convention_id).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let id = insert_event!(&mut *tx, convention_id, &event);
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "concertation",
                object_id: id.to_string(),
                object_label: event.title.clone(),
                action: "creation",
                before: None,
                after: Some(event_audit(&event)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Changes a concertation event from the version read (its contributions stay).
    pub async fn update_concertation_event(
        &self,
        actor: &Actor,
        convention_id: i64,
        event_id: i64,
        version: i64,
        event: NewConcertationEvent,
    ) -> Result<i64> {
        let event = self.check_event(event).await?;
        self.versioned_write(
            Versioned { table: "concertation_event", id: event_id, version: Some(version) },
            async |c| {
                let current = c.concertation_event(convention_id, event_id).await?;
                Ok(Loaded::new(
                    format!("l'événement « {} »", current.data.title),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "concertation",
                        object_id: event_id.to_string(),
                        object_label: event.title.clone(),
                        action: "modification",
                        before: Some(event_audit(&current.data)),
                        after: Some(event_audit(&event)),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => update_event_row!(c, convention_id, event_id, &event));
                Ok(())
            },
        )
        .await
    }

    /// A concertation event of the convention, with its contributions.
    pub async fn concertation_event(&self, convention_id: i64, event_id: i64) -> Result<ConcertationEvent> {
        self.acquire().await?.conn().concertation_event(convention_id, event_id).await
    }

    /// Ambition numbers → ids in the convention, and the fiches checked, for contribution links.
    async fn resolve_links(&self, convention_id: i64, ambitions: &[i64], fiches: &[i64]) -> Result<Vec<i64>> {
        self.acquire().await?.conn().resolve_links(convention_id, ambitions, fiches).await
    }

    /// Adds a contribution to a concertation event, with the ambitions (numbers) and fiches (ids) that
    /// answer it.
    pub async fn add_contribution(
        &self,
        actor: &Actor,
        convention_id: i64,
        event_id: i64,
        contribution: NewContribution,
    ) -> Result<i64> {
        let contribution = contribution.check().map_err(invalid)?;
        let event = self.concertation_event(convention_id, event_id).await?;
        let ambition_ids = self.resolve_links(convention_id, &contribution.ambitions, &contribution.fiches).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let id = insert_contribution!(&mut *tx, event_id, &contribution, &ambition_ids);
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "contribution",
                object_id: id.to_string(),
                object_label: format!("contribution ({})", event.data.title),
                action: "creation",
                before: None,
                after: Some(contribution_audit(&contribution)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Replaces the ambitions (numbers) and fiches (ids) that answer a contribution, from the version read.
    pub async fn link_contribution(
        &self,
        actor: &Actor,
        convention_id: i64,
        contribution_id: i64,
        version: i64,
        (ambitions, fiches): (&[i64], &[i64]),
    ) -> Result<i64> {
        self.versioned_write(
            Versioned { table: "concertation_contribution", id: contribution_id, version: Some(version) },
            async |c| {
                let (event, current) = c
                    .concertation(convention_id)
                    .await?
                    .into_iter()
                    .find_map(|e| {
                        let found = e.contributions.iter().find(|c| c.id == contribution_id).cloned();
                        found.map(|found| (e, found))
                    })
                    .ok_or_else(|| {
                        StoreError::NotFound(format!("la contribution n° {contribution_id} de cette convention"))
                    })?;
                let edit =
                    NewContribution { ambitions: ambitions.to_vec(), fiches: fiches.to_vec(), ..current.data.clone() }
                        .check()
                        .map_err(invalid)?;
                let ambition_ids = c.resolve_links(convention_id, &edit.ambitions, &edit.fiches).await?;
                let loaded = Loaded::new(
                    "la contribution".into(),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "contribution",
                        object_id: contribution_id.to_string(),
                        object_label: format!("contribution ({})", event.data.title),
                        action: "modification",
                        before: Some(json!({"ambitions": current.data.ambitions, "fiches": current.data.fiches})),
                        after: Some(json!({"ambitions": edit.ambitions, "fiches": edit.fiches})),
                        actor,
                    },
                );
                Ok(loaded.with((ambition_ids, edit.fiches)))
            },
            async |c, (ambition_ids, fiches)| {
                with_conn!(c, c => set_contribution_links!(c, contribution_id, &ambition_ids, &fiches));
                Ok(())
            },
        )
        .await
    }

    /// Imports concertation events with their contributions in one transaction. An event of the same
    /// kind, title and start as one already recorded updates it (a file read twice counts once), and
    /// its contributions already recorded (same text) are not added again.
    pub async fn import_concertation(
        &self,
        actor: &Actor,
        convention_id: i64,
        entries: &[ConcertationEntry],
    ) -> Result<ConcertationImport> {
        self.convention_summary(convention_id).await?;
        let mut problems = Vec::new();
        let mut checked = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let place = format!("événement n° {} (« {} »)", i + 1, entry.event.title.trim());
            let event = match self.check_event(entry.event.clone()).await {
                Ok(e) => e,
                Err(e) => {
                    problems.push(format!("{place} : {e}"));
                    continue;
                }
            };
            let mut contributions = Vec::with_capacity(entry.contributions.len());
            for c in &entry.contributions {
                let linked = match c.clone().check() {
                    Ok(c) => self.resolve_links(convention_id, &c.ambitions, &c.fiches).await.map(|ids| (c, ids)),
                    Err(e) => Err(invalid(e)),
                };
                match linked {
                    Ok(pair) => contributions.push(pair),
                    Err(e) => problems.push(format!("{place}, contribution : {e}")),
                }
            }
            checked.push((event, contributions));
        }
        if !problems.is_empty() {
            return Err(StoreError::Invalid(problems.join("\n")));
        }
        let existing = self.concertation(convention_id).await?;
        let mut summary = ConcertationImport::default();
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            for (event, contributions) in &checked {
                let found = existing
                    .iter()
                    .find(|e| e.data.kind == event.kind && e.data.title == event.title && e.data.start == event.start);
                let (event_id, known): (i64, BTreeSet<&str>) = match found {
                    Some(e) => {
                        if !update_event_row!(&mut *tx, convention_id, e.id, event) {
                            return Err(StoreError::Invalid(format!(
                                "l'événement « {} » a été supprimé pendant l'import : rien n'a été enregistré",
                                e.data.title
                            )));
                        }
                        sqlx::query("UPDATE concertation_event SET version = version + 1 WHERE id = $1")
                            .bind(e.id)
                            .execute(&mut *tx)
                            .await?;
                        summary.updated += 1;
                        (e.id, e.contributions.iter().map(|c| c.data.text.as_str()).collect())
                    }
                    None => {
                        let id = insert_event!(&mut *tx, convention_id, event);
                        summary.created += 1;
                        (id, BTreeSet::new())
                    }
                };
                for (c, ambition_ids) in contributions {
                    if !known.contains(c.text.as_str()) {
                        insert_contribution!(&mut *tx, event_id, c, ambition_ids);
                        summary.contributions += 1;
                    }
                }
            }
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "concertation",
                object_id: format!("import-{convention_id}"),
                object_label: "import de la concertation".into(),
                action: "import",
                before: None,
                after: Some(json!({
                    "crees": summary.created, "mis_a_jour": summary.updated, "contributions": summary.contributions,
                })),
                actor,
            });
            tx.commit().await?;
        });
        Ok(summary)
    }
}

impl Conn<'_> {
    /// The concertation events of a convention, by date, each with its contributions.
    pub(crate) async fn concertation(&mut self, convention_id: i64) -> Result<Vec<ConcertationEvent>> {
        let (events, contributions, ambitions, fiches) = with_conn!(self, c => {
            let events: Vec<EventRow> = sqlx::query_as(&format!(
                "SELECT {EVENT_COLUMNS} FROM concertation_event WHERE convention_id = $1 ORDER BY start_date, id"
            ))
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?;
            let contributions: Vec<ContributionRow> = sqlx::query_as(
                "SELECT c.id, c.event_id, c.content, c.author, c.theme, c.version FROM concertation_contribution c \
                 JOIN concertation_event e ON e.id = c.event_id WHERE e.convention_id = $1 ORDER BY c.id",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?;
            let ambitions: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT l.contribution_id, a.number FROM contribution_ambition l JOIN ambition a ON a.id = l.ambition_id \
                 WHERE a.convention_id = $1 ORDER BY l.contribution_id, a.number",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?;
            let fiches: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT l.contribution_id, l.fiche_id FROM contribution_fiche l JOIN fiche f ON f.id = l.fiche_id \
                 WHERE f.convention_id = $1 ORDER BY l.contribution_id, l.fiche_id",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?;
            (events, contributions, ambitions, fiches)
        });
        let mut ambitions_of: HashMap<i64, Vec<i64>> = HashMap::new();
        for (c, n) in ambitions {
            ambitions_of.entry(c).or_default().push(n);
        }
        let mut fiches_of: HashMap<i64, Vec<i64>> = HashMap::new();
        for (c, f) in fiches {
            fiches_of.entry(c).or_default().push(f);
        }
        let mut contributions_of: HashMap<i64, Vec<Contribution>> = HashMap::new();
        for c in contributions {
            contributions_of.entry(c.event_id).or_default().push(Contribution {
                id: c.id,
                event_id: c.event_id,
                version: c.version,
                data: NewContribution {
                    text: c.content,
                    author: c
                        .author
                        .as_deref()
                        .map(|a| ParticipantCategory::parse(a).map_err(|_| corrupt("auteur", a)))
                        .transpose()?,
                    theme: c.theme,
                    ambitions: ambitions_of.remove(&c.id).unwrap_or_default(),
                    fiches: fiches_of.remove(&c.id).unwrap_or_default(),
                },
            });
        }
        events
            .into_iter()
            .map(|r| {
                let mut e = r.into_event()?;
                e.contributions = contributions_of.remove(&e.id).unwrap_or_default();
                Ok(e)
            })
            .collect()
    }

    /// A concertation event of the convention, with its contributions.
    pub(crate) async fn concertation_event(&mut self, convention_id: i64, event_id: i64) -> Result<ConcertationEvent> {
        self.concertation(convention_id).await?.into_iter().find(|e| e.id == event_id).ok_or_else(|| {
            StoreError::NotFound(format!("l'événement de concertation n° {event_id} de cette convention"))
        })
    }

    /// Ambition numbers → ids in the convention, and the fiches checked, for contribution links.
    async fn resolve_links(&mut self, convention_id: i64, ambitions: &[i64], fiches: &[i64]) -> Result<Vec<i64>> {
        let numbers: BTreeMap<i64, i64> = with_conn!(self, c => {
            let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT number, id FROM ambition WHERE convention_id = $1")
                .bind(convention_id)
                .fetch_all(&mut *c)
                .await?;
            rows.into_iter().collect()
        });
        let mut ids = Vec::with_capacity(ambitions.len());
        let mut unknown = Vec::new();
        for n in ambitions {
            match numbers.get(n) {
                Some(id) => ids.push(*id),
                None => unknown.push(n.to_string()),
            }
        }
        if !unknown.is_empty() {
            return Err(invalid(format!("ambition(s) inconnue(s) dans cette convention : n° {}", unknown.join(", "))));
        }
        self.check_fiches(convention_id, fiches).await?;
        Ok(ids)
    }
}
