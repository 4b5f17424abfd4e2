//! The governance of a convention in storage: its bodies (the `body` rows the convention import
//! fills, and those added later) and their members; the meetings of a body with their agenda,
//! attendance, decisions and minutes; the concertation that prepared the convention, with its
//! contributions; the coordination posts of art. 7-b. Every write is one transaction with its audit
//! entry; edits are made from the version read, and a stale version is refused.
//!
//! Every function takes the convention the object must belong to, so that an id taken from another
//! convention is not found.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use ctg_domain::format::{collation_key, date_short, french_serde_message};
use ctg_domain::governance::{
    icalendar, open_decisions as pending_decisions, AgendaItem, AgendaLink, Attendance, AttendanceStatus,
    ConcertationEvent, ConcertationKind, Contribution, Decision, Meeting, Member, MemberRole, NewConcertationEvent,
    NewContribution, NewDecision, NewMeeting, NewMember, NewPost, ParticipantCategory, Participants, Post,
};
use ctg_domain::{Actor, Body, BodyKind, InseeCode};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::audit::{record, Change};
use crate::conn::{with_conn, Conn};
use crate::versioned::{Loaded, Versioned};
use crate::{with_db, Result, Store, StoreError};

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(e.to_string())
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} « {value} »"))
}

/// A body of a convention, with its members (chairs first, then by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyRecord {
    pub id: i64,
    pub convention_id: i64,
    pub position: i64,
    pub version: i64,
    pub body: Body,
    pub members: Vec<Member>,
}

impl BodyRecord {
    /// The members current on `day`.
    pub fn current_members(&self, day: NaiveDate) -> Vec<&Member> {
        ctg_domain::governance::current_members(&self.members, day)
    }
}

/// An open decision of a convention, with the body and meeting that took it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenDecision {
    pub body_id: i64,
    pub body_name: String,
    pub meeting_id: i64,
    pub meeting_date: NaiveDate,
    pub decision: Decision,
    /// Its due date is before the day asked about.
    pub overdue: bool,
    pub days_overdue: i64,
}

impl AsRef<Decision> for OpenDecision {
    fn as_ref(&self) -> &Decision {
        &self.decision
    }
}

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
struct BodyRow {
    id: i64,
    convention_id: i64,
    position: i64,
    kind: String,
    name: String,
    description: Option<String>,
    version: i64,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: i64,
    body_id: i64,
    name: String,
    organisation: String,
    job_title: String,
    role: String,
    joined_on: NaiveDate,
    left_on: Option<NaiveDate>,
    version: i64,
}

impl MemberRow {
    fn into_member(self) -> Result<Member> {
        Ok(Member {
            id: self.id,
            body_id: self.body_id,
            version: self.version,
            data: NewMember {
                role: MemberRole::parse(&self.role).map_err(|_| corrupt("rôle", &self.role))?,
                name: self.name,
                organisation: self.organisation,
                function: self.job_title,
                joined: self.joined_on,
                left: self.left_on,
            },
        })
    }
}

#[derive(sqlx::FromRow)]
struct MeetingRow {
    id: i64,
    body_id: i64,
    title: Option<String>,
    meeting_date: NaiveDate,
    start_time: NaiveTime,
    end_time: NaiveTime,
    place: Option<String>,
    video_link: Option<String>,
    minutes: Option<String>,
    version: i64,
}

#[derive(sqlx::FromRow)]
struct AgendaRow {
    id: i64,
    meeting_id: i64,
    title: String,
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    agenda_item_id: i64,
    fiche_id: Option<i64>,
    indicator_id: Option<i64>,
    document_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct AttendanceRow {
    meeting_id: i64,
    member_id: i64,
    status: String,
    represented_by: Option<String>,
}

#[derive(sqlx::FromRow)]
struct DecisionRow {
    id: i64,
    meeting_id: i64,
    content: String,
    follow_up: String,
    due_on: Option<NaiveDate>,
    closed_on: Option<NaiveDate>,
    version: i64,
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

#[derive(sqlx::FromRow)]
struct PostRow {
    id: i64,
    person: Option<String>,
    employer: String,
    fte_hundredths: i64,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
    funding: String,
    amount_cents: Option<i64>,
    funder: Option<String>,
    version: i64,
}

fn body_audit(b: &Body) -> Value {
    json!({"nature": b.kind.code(), "nom": b.name, "description": b.description})
}

fn member_audit(m: &NewMember) -> Value {
    json!({
        "nom": m.name, "organisation": m.organisation, "fonction": m.function, "role": m.role.code(),
        "arrivee": m.joined, "depart": m.left,
    })
}

fn meeting_audit(m: &NewMeeting) -> Value {
    json!({
        "intitule": m.title, "date": m.date, "debut": m.start.format("%H:%M").to_string(),
        "fin": m.end.format("%H:%M").to_string(), "lieu": m.place, "visioconference": m.video_link,
    })
}

fn agenda_audit(items: &[AgendaItem]) -> Value {
    json!(items
        .iter()
        .map(|i| json!({
            "intitule": i.title,
            "liens": i.links.iter().map(|l| format!("{} {}", l.code(), l.id())).collect::<Vec<_>>(),
        }))
        .collect::<Vec<_>>())
}

fn attendance_audit(list: &[Attendance]) -> Value {
    json!(list
        .iter()
        .map(|a| json!({"membre": a.member_id, "presence": a.status.code(), "represente_par": a.represented_by}))
        .collect::<Vec<_>>())
}

fn decision_audit(d: &NewDecision, closed_on: Option<NaiveDate>) -> Value {
    json!({
        "texte": d.text, "fiches": d.fiches, "suivi_par": d.follow_up, "echeance": d.due, "close_le": closed_on,
    })
}

fn post_audit(p: &NewPost) -> Value {
    json!({
        "personne": p.person, "employeur": p.employer, "etp_centiemes": p.fte_hundredths, "debut": p.start,
        "fin": p.end, "financement": p.funding, "montant_centimes": p.amount_cents, "financeur": p.funder,
    })
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

fn role_rank(role: MemberRole) -> usize {
    MemberRole::ALL.iter().position(|r| *r == role).unwrap_or(usize::MAX)
}

/// The clause selecting the meetings of convention `$1`, of body `$2` when not NULL, and meeting `$3`
/// when not NULL (`m` is the meeting, `b` its body).
const MEETINGS_OF: &str = "b.convention_id = $1 AND ($2 IS NULL OR m.body_id = $2) AND ($3 IS NULL OR m.id = $3)";

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
    // --------------------------------------------------------------------------------------------
    // Bodies and members

    /// The bodies of a convention in their order, each with its members (chairs first, then by name).
    pub async fn bodies(&self, convention_id: i64) -> Result<Vec<BodyRecord>> {
        self.acquire().await?.conn().bodies(convention_id).await
    }

    /// A body of the convention with its members.
    pub async fn body(&self, convention_id: i64, body_id: i64) -> Result<BodyRecord> {
        self.acquire().await?.conn().body(convention_id, body_id).await
    }

    /// Adds a body (a thematic commission, say) after the convention's others.
    pub async fn add_body(&self, actor: &Actor, convention_id: i64, body: &Body) -> Result<i64> {
        let body = check_body(body)?;
        self.convention_summary(convention_id).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (position,): (i64,) =
                sqlx::query_as("SELECT COALESCE(MAX(position) + 1, 0) FROM body WHERE convention_id = $1")
                    .bind(convention_id)
                    .fetch_one(&mut *tx)
                    .await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO body (convention_id, position, kind, name, description) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(convention_id)
            .bind(position)
            .bind(body.kind.code())
            .bind(&body.name)
            .bind(&body.description)
            .fetch_one(&mut *tx)
            .await?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "instance",
                object_id: id.to_string(),
                object_label: body.name.clone(),
                action: "creation",
                before: None,
                after: Some(body_audit(&body)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Renames a body, changes its kind or description, from the version read.
    pub async fn update_body(
        &self,
        actor: &Actor,
        convention_id: i64,
        body_id: i64,
        version: i64,
        body: &Body,
    ) -> Result<i64> {
        let body = check_body(body)?;
        self.versioned_write(
            Versioned { table: "body", id: body_id, version: Some(version) },
            async |c| {
                let current = c.body(convention_id, body_id).await?;
                Ok(Loaded::new(
                    format!("l'instance « {} »", current.body.name),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "instance",
                        object_id: body_id.to_string(),
                        object_label: body.name.clone(),
                        action: "modification",
                        before: Some(body_audit(&current.body)),
                        after: Some(body_audit(&body)),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query("UPDATE body SET kind = $1, name = $2, description = $3 WHERE id = $4")
                        .bind(body.kind.code())
                        .bind(&body.name)
                        .bind(&body.description)
                        .bind(body_id)
                        .execute(&mut *c)
                        .await?;
                });
                Ok(())
            },
        )
        .await
    }

    /// Adds a member to a body of the convention.
    pub async fn add_member(&self, actor: &Actor, convention_id: i64, body_id: i64, member: NewMember) -> Result<i64> {
        let member = member.check().map_err(invalid)?;
        let body = self.body(convention_id, body_id).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO body_member (body_id, name, organisation, job_title, role, joined_on, left_on) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(body_id)
            .bind(&member.name)
            .bind(&member.organisation)
            .bind(&member.function)
            .bind(member.role.code())
            .bind(member.joined)
            .bind(member.left)
            .fetch_one(&mut *tx)
            .await?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "membre_instance",
                object_id: id.to_string(),
                object_label: format!("{} ({})", member.name, body.body.name),
                action: "creation",
                before: None,
                after: Some(member_audit(&member)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Changes a member (their leaving date, say) from the version read.
    pub async fn update_member(
        &self,
        actor: &Actor,
        convention_id: i64,
        member_id: i64,
        version: i64,
        member: NewMember,
    ) -> Result<i64> {
        let member = member.check().map_err(invalid)?;
        self.versioned_write(
            Versioned { table: "body_member", id: member_id, version: Some(version) },
            async |c| {
                let (body, current) = c
                    .bodies(convention_id)
                    .await?
                    .into_iter()
                    .find_map(|b| {
                        let m = b.members.iter().find(|m| m.id == member_id).cloned();
                        m.map(|m| (b, m))
                    })
                    .ok_or_else(|| StoreError::NotFound(format!("le membre n° {member_id} de cette convention")))?;
                Ok(Loaded::new(
                    format!("le membre « {} »", current.data.name),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "membre_instance",
                        object_id: member_id.to_string(),
                        object_label: format!("{} ({})", member.name, body.body.name),
                        action: "modification",
                        before: Some(member_audit(&current.data)),
                        after: Some(member_audit(&member)),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query(
                        "UPDATE body_member SET name = $1, organisation = $2, job_title = $3, role = $4, joined_on = $5, \
                         left_on = $6 WHERE id = $7",
                    )
                    .bind(&member.name)
                    .bind(&member.organisation)
                    .bind(&member.function)
                    .bind(member.role.code())
                    .bind(member.joined)
                    .bind(member.left)
                    .bind(member_id)
                    .execute(&mut *c)
                    .await?;
                });
                Ok(())
            },
        )
        .await
    }

    // --------------------------------------------------------------------------------------------
    // Meetings

    /// The meetings of a convention, all bodies together, by date and time, with their agenda,
    /// attendance, decisions and minutes.
    pub async fn meetings(&self, convention_id: i64) -> Result<Vec<Meeting>> {
        self.acquire().await?.conn().load_meetings(convention_id, None, None).await
    }

    /// The meetings of one body of the convention, by date and time.
    pub async fn meetings_of_body(&self, convention_id: i64, body_id: i64) -> Result<Vec<Meeting>> {
        self.acquire().await?.conn().load_meetings(convention_id, Some(body_id), None).await
    }

    /// A meeting of the convention.
    pub async fn meeting(&self, convention_id: i64, meeting_id: i64) -> Result<Meeting> {
        self.acquire().await?.conn().meeting(convention_id, meeting_id).await
    }

    /// Schedules a meeting of a body of the convention.
    pub async fn create_meeting(
        &self,
        actor: &Actor,
        convention_id: i64,
        body_id: i64,
        meeting: NewMeeting,
    ) -> Result<i64> {
        let meeting = meeting.check().map_err(invalid)?;
        let body = self.body(convention_id, body_id).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO meeting (body_id, title, meeting_date, start_time, end_time, place, video_link) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(body_id)
            .bind(&meeting.title)
            .bind(meeting.date)
            .bind(meeting.start)
            .bind(meeting.end)
            .bind(&meeting.place)
            .bind(&meeting.video_link)
            .fetch_one(&mut *tx)
            .await?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "seance",
                object_id: id.to_string(),
                object_label: meeting_label(&body.body.name, &meeting),
                action: "creation",
                before: None,
                after: Some(meeting_audit(&meeting)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Changes when and where a meeting is held, from the version read.
    pub async fn update_meeting(
        &self,
        actor: &Actor,
        convention_id: i64,
        meeting_id: i64,
        version: i64,
        meeting: NewMeeting,
    ) -> Result<i64> {
        let meeting = meeting.check().map_err(invalid)?;
        self.versioned_write(
            Versioned { table: "meeting", id: meeting_id, version: Some(version) },
            async |c| {
                let (current, body_name) = c.meeting_and_body(convention_id, meeting_id).await?;
                Ok(Loaded::new(
                    meeting_what(&body_name, &current),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "seance",
                        object_id: meeting_id.to_string(),
                        object_label: meeting_label(&body_name, &meeting),
                        action: "modification",
                        before: Some(meeting_audit(&current.data)),
                        after: Some(meeting_audit(&meeting)),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query(
                        "UPDATE meeting SET title = $1, meeting_date = $2, start_time = $3, end_time = $4, place = $5, \
                         video_link = $6 WHERE id = $7",
                    )
                    .bind(&meeting.title)
                    .bind(meeting.date)
                    .bind(meeting.start)
                    .bind(meeting.end)
                    .bind(&meeting.place)
                    .bind(&meeting.video_link)
                    .bind(meeting_id)
                    .execute(&mut *c)
                    .await?;
                });
                Ok(())
            },
        )
        .await
    }

    /// Replaces the agenda of a meeting, from the meeting's version read. Links must name fiches,
    /// indicators and documents of the same convention.
    pub async fn set_agenda(
        &self,
        actor: &Actor,
        convention_id: i64,
        meeting_id: i64,
        version: i64,
        agenda: &[AgendaItem],
    ) -> Result<i64> {
        let agenda = agenda
            .iter()
            .cloned()
            .map(AgendaItem::check)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(invalid)?;
        self.versioned_write(
            Versioned { table: "meeting", id: meeting_id, version: Some(version) },
            async |c| {
                let (current, body_name) = c.meeting_and_body(convention_id, meeting_id).await?;
                let (fiches, indicators, documents) = c.plan_ids(convention_id).await?;
                let unknown: Vec<String> = agenda
                    .iter()
                    .flat_map(|i| i.links.iter())
                    .filter(|l| match l {
                        AgendaLink::Fiche(id) => !fiches.contains(id),
                        AgendaLink::Indicator(id) => !indicators.contains(id),
                        AgendaLink::Document(id) => !documents.contains(id),
                    })
                    .map(|l| format!("{} n° {}", l.code(), l.id()))
                    .collect();
                if !unknown.is_empty() {
                    return Err(invalid(format!(
                        "l'ordre du jour renvoie à des éléments qui ne sont pas de cette convention : {}",
                        unknown.join(", ")
                    )));
                }
                Ok(Loaded::new(
                    meeting_what(&body_name, &current),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "seance",
                        object_id: meeting_id.to_string(),
                        object_label: meeting_label(&body_name, &current.data),
                        action: "modification",
                        before: Some(json!({"ordre_du_jour": agenda_audit(&current.agenda)})),
                        after: Some(json!({"ordre_du_jour": agenda_audit(&agenda)})),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query("DELETE FROM agenda_item WHERE meeting_id = $1").bind(meeting_id).execute(&mut *c).await?;
                    for (position, item) in agenda.iter().enumerate() {
                        let (item_id,): (i64,) = sqlx::query_as(
                            "INSERT INTO agenda_item (meeting_id, position, title) VALUES ($1, $2, $3) RETURNING id",
                        )
                        .bind(meeting_id)
                        .bind(position as i64)
                        .bind(&item.title)
                        .fetch_one(&mut *c)
                        .await?;
                        for link in &item.links {
                            let id = Some(link.id());
                            let none = None::<i64>;
                            let (f, i, d) = match link {
                                AgendaLink::Fiche(_) => (id, none, none),
                                AgendaLink::Indicator(_) => (none, id, none),
                                AgendaLink::Document(_) => (none, none, id),
                            };
                            sqlx::query(
                                "INSERT INTO agenda_link (agenda_item_id, fiche_id, indicator_id, document_id) VALUES ($1, $2, $3, $4)",
                            )
                            .bind(item_id)
                            .bind(f)
                            .bind(i)
                            .bind(d)
                            .execute(&mut *c)
                            .await?;
                        }
                    }
                });
                Ok(())
            },
        )
        .await
    }

    /// Replaces the invitations and answers of a meeting, from the meeting's version read. Each member
    /// is a member of the meeting's body on the day of the meeting, once.
    pub async fn set_attendance(
        &self,
        actor: &Actor,
        convention_id: i64,
        meeting_id: i64,
        version: i64,
        attendance: &[Attendance],
    ) -> Result<i64> {
        let attendance = attendance
            .iter()
            .cloned()
            .map(Attendance::check)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(invalid)?;
        self.versioned_write(
            Versioned { table: "meeting", id: meeting_id, version: Some(version) },
            async |c| {
                let current = c.meeting(convention_id, meeting_id).await?;
                let body = c.body(convention_id, current.body_id).await?;
                let mut seen = BTreeSet::new();
                for a in &attendance {
                    let member = body.members.iter().find(|m| m.id == a.member_id).ok_or_else(|| {
                        invalid(format!(
                            "le membre n° {} n'appartient pas à l'instance « {} »",
                            a.member_id, body.body.name
                        ))
                    })?;
                    if !seen.insert(a.member_id) {
                        return Err(invalid(format!("{} figure deux fois parmi les invités", member.data.name)));
                    }
                    if !member.is_current(current.data.date) {
                        return Err(invalid(format!(
                            "{} n'est pas membre de l'instance le {}",
                            member.data.name,
                            date_short(current.data.date)
                        )));
                    }
                }
                Ok(Loaded::new(
                    meeting_what(&body.body.name, &current),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "seance",
                        object_id: meeting_id.to_string(),
                        object_label: meeting_label(&body.body.name, &current.data),
                        action: "modification",
                        before: Some(json!({"presences": attendance_audit(&current.attendance)})),
                        after: Some(json!({"presences": attendance_audit(&attendance)})),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query("DELETE FROM meeting_attendance WHERE meeting_id = $1")
                        .bind(meeting_id)
                        .execute(&mut *c)
                        .await?;
                    for a in &attendance {
                        sqlx::query(
                            "INSERT INTO meeting_attendance (meeting_id, member_id, status, represented_by) VALUES ($1, $2, $3, $4)",
                        )
                        .bind(meeting_id)
                        .bind(a.member_id)
                        .bind(a.status.code())
                        .bind(&a.represented_by)
                        .execute(&mut *c)
                        .await?;
                    }
                });
                Ok(())
            },
        )
        .await
    }

    /// Writes (or clears, with `None` or blank) the minutes of a meeting, from the meeting's version read.
    pub async fn set_minutes(
        &self,
        actor: &Actor,
        convention_id: i64,
        meeting_id: i64,
        version: i64,
        minutes: Option<&str>,
    ) -> Result<i64> {
        let minutes = minutes.map(str::trim).filter(|m| !m.is_empty());
        self.versioned_write(
            Versioned { table: "meeting", id: meeting_id, version: Some(version) },
            async |c| {
                let (current, body_name) = c.meeting_and_body(convention_id, meeting_id).await?;
                Ok(Loaded::new(
                    meeting_what(&body_name, &current),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "seance",
                        object_id: meeting_id.to_string(),
                        object_label: meeting_label(&body_name, &current.data),
                        action: "modification",
                        before: Some(json!({"compte_rendu": current.minutes})),
                        after: Some(json!({"compte_rendu": minutes})),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query("UPDATE meeting SET minutes = $1 WHERE id = $2")
                        .bind(minutes)
                        .bind(meeting_id)
                        .execute(&mut *c)
                        .await?;
                });
                Ok(())
            },
        )
        .await
    }

    async fn check_fiches(&self, convention_id: i64, fiches: &[i64]) -> Result<()> {
        self.acquire().await?.conn().check_fiches(convention_id, fiches).await
    }

    /// Records a decision of a meeting; it is open until closed.
    pub async fn add_decision(
        &self,
        actor: &Actor,
        convention_id: i64,
        meeting_id: i64,
        decision: NewDecision,
    ) -> Result<i64> {
        let decision = decision.check().map_err(invalid)?;
        let meeting = self.meeting(convention_id, meeting_id).await?;
        let body = self.body(convention_id, meeting.body_id).await?;
        self.check_fiches(convention_id, &decision.fiches).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO decision (meeting_id, content, follow_up, due_on) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(meeting_id)
            .bind(&decision.text)
            .bind(&decision.follow_up)
            .bind(decision.due)
            .fetch_one(&mut *tx)
            .await?;
            for f in &decision.fiches {
                sqlx::query("INSERT INTO decision_fiche (decision_id, fiche_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(*f)
                    .execute(&mut *tx)
                    .await?;
            }
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "decision",
                object_id: id.to_string(),
                object_label: decision_label(&body.body.name, &meeting.data, &decision.text),
                action: "creation",
                before: None,
                after: Some(decision_audit(&decision, None)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Changes the text, fiches, follow-up or due date of a decision, from the version read.
    pub async fn update_decision(
        &self,
        actor: &Actor,
        convention_id: i64,
        decision_id: i64,
        version: i64,
        edit: NewDecision,
    ) -> Result<i64> {
        let edit = edit.check().map_err(invalid)?;
        self.versioned_write(
            Versioned { table: "decision", id: decision_id, version: Some(version) },
            async |c| {
                let (current, meeting, body_name) = c.decision_in(convention_id, decision_id).await?;
                c.check_fiches(convention_id, &edit.fiches).await?;
                Ok(Loaded::new(
                    "la décision".into(),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "decision",
                        object_id: decision_id.to_string(),
                        object_label: decision_label(&body_name, &meeting.data, &edit.text),
                        action: "modification",
                        before: Some(decision_audit(&current.data, current.closed_on)),
                        after: Some(decision_audit(&edit, current.closed_on)),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query("UPDATE decision SET content = $1, follow_up = $2, due_on = $3 WHERE id = $4")
                        .bind(&edit.text)
                        .bind(&edit.follow_up)
                        .bind(edit.due)
                        .bind(decision_id)
                        .execute(&mut *c)
                        .await?;
                    sqlx::query("DELETE FROM decision_fiche WHERE decision_id = $1")
                        .bind(decision_id)
                        .execute(&mut *c)
                        .await?;
                    for f in &edit.fiches {
                        sqlx::query("INSERT INTO decision_fiche (decision_id, fiche_id) VALUES ($1, $2)")
                            .bind(decision_id)
                            .bind(*f)
                            .execute(&mut *c)
                            .await?;
                    }
                });
                Ok(())
            },
        )
        .await
    }

    /// Closes a decision on `closed_on` (not before the meeting that took it), from the version read.
    pub async fn close_decision(
        &self,
        actor: &Actor,
        convention_id: i64,
        decision_id: i64,
        version: i64,
        closed_on: NaiveDate,
    ) -> Result<i64> {
        self.versioned_write(
            Versioned { table: "decision", id: decision_id, version: Some(version) },
            async |c| {
                let (current, meeting, body_name) = c.decision_in(convention_id, decision_id).await?;
                if let Some(closed) = current.closed_on {
                    if current.version == version {
                        return Err(invalid(format!("la décision est déjà close depuis le {}", date_short(closed))));
                    }
                }
                if closed_on < meeting.data.date {
                    return Err(invalid(format!(
                        "la date de clôture ({}) précède la séance qui a pris la décision ({})",
                        date_short(closed_on),
                        date_short(meeting.data.date)
                    )));
                }
                Ok(Loaded::new(
                    "la décision".into(),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "decision",
                        object_id: decision_id.to_string(),
                        object_label: decision_label(&body_name, &meeting.data, &current.data.text),
                        action: "modification",
                        before: Some(decision_audit(&current.data, None)),
                        after: Some(decision_audit(&current.data, Some(closed_on))),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query("UPDATE decision SET closed_on = $1 WHERE id = $2")
                        .bind(closed_on)
                        .bind(decision_id)
                        .execute(&mut *c)
                        .await?;
                });
                Ok(())
            },
        )
        .await
    }

    /// The decisions of the convention open on `day`, by due date (those without one last), each
    /// flagged overdue when its due date is before `day`: what a meeting's preparation pack lists.
    pub async fn open_decisions(&self, convention_id: i64, day: NaiveDate) -> Result<Vec<OpenDecision>> {
        let bodies: HashMap<i64, String> =
            self.bodies(convention_id).await?.into_iter().map(|b| (b.id, b.body.name)).collect();
        let all: Vec<OpenDecision> = self
            .meetings(convention_id)
            .await?
            .into_iter()
            .flat_map(|m| {
                let body_name = bodies.get(&m.body_id).cloned().unwrap_or_default();
                m.decisions.into_iter().map(move |decision| OpenDecision {
                    body_id: m.body_id,
                    body_name: body_name.clone(),
                    meeting_id: m.id,
                    meeting_date: m.data.date,
                    decision,
                    overdue: false,
                    days_overdue: 0,
                })
            })
            .collect();
        Ok(pending_decisions(&all, day)
            .into_iter()
            .map(|p| OpenDecision { overdue: p.overdue, days_overdue: p.days_overdue, ..p.item.clone() })
            .collect())
    }

    /// The meetings of a body as an iCalendar file (see [`ctg_domain::governance::icalendar`]).
    pub async fn body_icalendar(&self, convention_id: i64, body_id: i64, now: DateTime<Utc>) -> Result<String> {
        let body = self.body(convention_id, body_id).await?;
        let meetings = self.meetings_of_body(convention_id, body_id).await?;
        Ok(icalendar(&body.body.name, &meetings, now))
    }

    // --------------------------------------------------------------------------------------------
    // Concertation

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

    // --------------------------------------------------------------------------------------------
    // Coordination posts (art. 7-b)

    /// The chargés de coopération posts of a convention, by start date.
    pub async fn coordination_posts(&self, convention_id: i64) -> Result<Vec<Post>> {
        self.acquire().await?.conn().coordination_posts(convention_id).await
    }

    /// Records a chargé de coopération post of the convention.
    pub async fn create_post(&self, actor: &Actor, convention_id: i64, post: NewPost) -> Result<i64> {
        let post = post.check().map_err(invalid)?;
        self.convention_summary(convention_id).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO coordination_post (convention_id, person, employer, fte_hundredths, start_date, end_date, \
                 funding, amount_cents, funder) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(convention_id)
            .bind(&post.person)
            .bind(&post.employer)
            .bind(post.fte_hundredths)
            .bind(post.start)
            .bind(post.end)
            .bind(&post.funding)
            .bind(post.amount_cents)
            .bind(&post.funder)
            .fetch_one(&mut *tx)
            .await?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "poste_cooperation",
                object_id: id.to_string(),
                object_label: post_label(&post),
                action: "creation",
                before: None,
                after: Some(post_audit(&post)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Changes a post from the version read.
    pub async fn update_post(
        &self,
        actor: &Actor,
        convention_id: i64,
        post_id: i64,
        version: i64,
        post: NewPost,
    ) -> Result<i64> {
        let post = post.check().map_err(invalid)?;
        self.versioned_write(
            Versioned { table: "coordination_post", id: post_id, version: Some(version) },
            async |c| {
                let current = c
                    .coordination_posts(convention_id)
                    .await?
                    .into_iter()
                    .find(|p| p.id == post_id)
                    .ok_or_else(|| StoreError::NotFound(format!("le poste n° {post_id} de cette convention")))?;
                Ok(Loaded::new(
                    format!("le poste « {} »", post_label(&current.data)),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "poste_cooperation",
                        object_id: post_id.to_string(),
                        object_label: post_label(&post),
                        action: "modification",
                        before: Some(post_audit(&current.data)),
                        after: Some(post_audit(&post)),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query(
                        "UPDATE coordination_post SET person = $1, employer = $2, fte_hundredths = $3, start_date = $4, \
                         end_date = $5, funding = $6, amount_cents = $7, funder = $8 WHERE id = $9",
                    )
                    .bind(&post.person)
                    .bind(&post.employer)
                    .bind(post.fte_hundredths)
                    .bind(post.start)
                    .bind(post.end)
                    .bind(&post.funding)
                    .bind(post.amount_cents)
                    .bind(&post.funder)
                    .bind(post_id)
                    .execute(&mut *c)
                    .await?;
                });
                Ok(())
            },
        )
        .await
    }
}

impl Conn<'_> {
    /// The bodies of a convention in their order, each with its members (chairs first, then by name).
    pub(crate) async fn bodies(&mut self, convention_id: i64) -> Result<Vec<BodyRecord>> {
        let (bodies, members): (Vec<BodyRow>, Vec<MemberRow>) = with_conn!(self, c => {
            let bodies: Vec<BodyRow> = sqlx::query_as(
                "SELECT id, convention_id, position, kind, name, description, version FROM body \
                 WHERE convention_id = $1 ORDER BY position, id",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?;
            let members: Vec<MemberRow> = sqlx::query_as(
                "SELECT m.id, m.body_id, m.name, m.organisation, m.job_title, m.role, m.joined_on, m.left_on, m.version \
                 FROM body_member m JOIN body b ON b.id = m.body_id WHERE b.convention_id = $1 ORDER BY m.id",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?;
            (bodies, members)
        });
        let mut by_body: HashMap<i64, Vec<Member>> = HashMap::new();
        for m in members {
            let m = m.into_member()?;
            by_body.entry(m.body_id).or_default().push(m);
        }
        bodies
            .into_iter()
            .map(|b| {
                let mut members = by_body.remove(&b.id).unwrap_or_default();
                members.sort_by_cached_key(|m| (role_rank(m.data.role), collation_key(&m.data.name), m.id));
                Ok(BodyRecord {
                    id: b.id,
                    convention_id: b.convention_id,
                    position: b.position,
                    version: b.version,
                    body: Body {
                        kind: BodyKind::parse(&b.kind).map_err(|_| corrupt("type d'instance", &b.kind))?,
                        name: b.name,
                        description: b.description,
                    },
                    members,
                })
            })
            .collect()
    }

    /// A body of the convention with its members.
    pub(crate) async fn body(&mut self, convention_id: i64, body_id: i64) -> Result<BodyRecord> {
        self.bodies(convention_id)
            .await?
            .into_iter()
            .find(|b| b.id == body_id)
            .ok_or_else(|| StoreError::NotFound(format!("l'instance n° {body_id} de cette convention")))
    }

    async fn load_meetings(
        &mut self,
        convention_id: i64,
        body: Option<i64>,
        meeting: Option<i64>,
    ) -> Result<Vec<Meeting>> {
        let (meetings, items, links, attendance, decisions, decision_fiches) = with_conn!(self, c => {
            let meetings: Vec<MeetingRow> = sqlx::query_as(&format!(
                "SELECT m.id, m.body_id, m.title, m.meeting_date, m.start_time, m.end_time, m.place, m.video_link, \
                 m.minutes, m.version FROM meeting m JOIN body b ON b.id = m.body_id WHERE {MEETINGS_OF} \
                 ORDER BY m.meeting_date, m.start_time, m.id"
            ))
            .bind(convention_id)
            .bind(body)
            .bind(meeting)
            .fetch_all(&mut *c)
            .await?;
            let items: Vec<AgendaRow> = sqlx::query_as(&format!(
                "SELECT i.id, i.meeting_id, i.title FROM agenda_item i JOIN meeting m ON m.id = i.meeting_id \
                 JOIN body b ON b.id = m.body_id WHERE {MEETINGS_OF} ORDER BY i.meeting_id, i.position"
            ))
            .bind(convention_id)
            .bind(body)
            .bind(meeting)
            .fetch_all(&mut *c)
            .await?;
            let links: Vec<LinkRow> = sqlx::query_as(&format!(
                "SELECT l.agenda_item_id, l.fiche_id, l.indicator_id, l.document_id FROM agenda_link l \
                 JOIN agenda_item i ON i.id = l.agenda_item_id JOIN meeting m ON m.id = i.meeting_id \
                 JOIN body b ON b.id = m.body_id WHERE {MEETINGS_OF} ORDER BY l.id"
            ))
            .bind(convention_id)
            .bind(body)
            .bind(meeting)
            .fetch_all(&mut *c)
            .await?;
            let attendance: Vec<AttendanceRow> = sqlx::query_as(&format!(
                "SELECT a.meeting_id, a.member_id, a.status, a.represented_by FROM meeting_attendance a \
                 JOIN meeting m ON m.id = a.meeting_id JOIN body b ON b.id = m.body_id WHERE {MEETINGS_OF} \
                 ORDER BY a.meeting_id, a.member_id"
            ))
            .bind(convention_id)
            .bind(body)
            .bind(meeting)
            .fetch_all(&mut *c)
            .await?;
            let decisions: Vec<DecisionRow> = sqlx::query_as(&format!(
                "SELECT d.id, d.meeting_id, d.content, d.follow_up, d.due_on, d.closed_on, d.version FROM decision d \
                 JOIN meeting m ON m.id = d.meeting_id JOIN body b ON b.id = m.body_id WHERE {MEETINGS_OF} ORDER BY d.id"
            ))
            .bind(convention_id)
            .bind(body)
            .bind(meeting)
            .fetch_all(&mut *c)
            .await?;
            let decision_fiches: Vec<(i64, i64)> = sqlx::query_as(&format!(
                "SELECT f.decision_id, f.fiche_id FROM decision_fiche f JOIN decision d ON d.id = f.decision_id \
                 JOIN meeting m ON m.id = d.meeting_id JOIN body b ON b.id = m.body_id WHERE {MEETINGS_OF} \
                 ORDER BY f.decision_id, f.fiche_id"
            ))
            .bind(convention_id)
            .bind(body)
            .bind(meeting)
            .fetch_all(&mut *c)
            .await?;
            (meetings, items, links, attendance, decisions, decision_fiches)
        });
        let mut links_of: HashMap<i64, Vec<AgendaLink>> = HashMap::new();
        for l in links {
            let link = match (l.fiche_id, l.indicator_id, l.document_id) {
                (Some(f), None, None) => AgendaLink::Fiche(f),
                (None, Some(i), None) => AgendaLink::Indicator(i),
                (None, None, Some(d)) => AgendaLink::Document(d),
                _ => return Err(corrupt("lien de l'ordre du jour", &l.agenda_item_id.to_string())),
            };
            links_of.entry(l.agenda_item_id).or_default().push(link);
        }
        let mut agenda_of: HashMap<i64, Vec<AgendaItem>> = HashMap::new();
        for i in items {
            let mut links = links_of.remove(&i.id).unwrap_or_default();
            links.sort_unstable();
            agenda_of.entry(i.meeting_id).or_default().push(AgendaItem { title: i.title, links });
        }
        let mut attendance_of: HashMap<i64, Vec<Attendance>> = HashMap::new();
        for a in attendance {
            attendance_of.entry(a.meeting_id).or_default().push(Attendance {
                member_id: a.member_id,
                status: AttendanceStatus::parse(&a.status).map_err(|_| corrupt("présence", &a.status))?,
                represented_by: a.represented_by,
            });
        }
        let mut fiches_of: HashMap<i64, Vec<i64>> = HashMap::new();
        for (decision, fiche) in decision_fiches {
            fiches_of.entry(decision).or_default().push(fiche);
        }
        let mut decisions_of: HashMap<i64, Vec<Decision>> = HashMap::new();
        for d in decisions {
            decisions_of.entry(d.meeting_id).or_default().push(Decision {
                id: d.id,
                meeting_id: d.meeting_id,
                version: d.version,
                data: NewDecision {
                    text: d.content,
                    fiches: fiches_of.remove(&d.id).unwrap_or_default(),
                    follow_up: d.follow_up,
                    due: d.due_on,
                },
                closed_on: d.closed_on,
            });
        }
        Ok(meetings
            .into_iter()
            .map(|m| Meeting {
                id: m.id,
                body_id: m.body_id,
                version: m.version,
                data: NewMeeting {
                    title: m.title,
                    date: m.meeting_date,
                    start: m.start_time,
                    end: m.end_time,
                    place: m.place,
                    video_link: m.video_link,
                },
                agenda: agenda_of.remove(&m.id).unwrap_or_default(),
                attendance: attendance_of.remove(&m.id).unwrap_or_default(),
                decisions: decisions_of.remove(&m.id).unwrap_or_default(),
                minutes: m.minutes,
            })
            .collect())
    }

    /// A meeting of the convention.
    pub(crate) async fn meeting(&mut self, convention_id: i64, meeting_id: i64) -> Result<Meeting> {
        self.load_meetings(convention_id, None, Some(meeting_id))
            .await?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("la séance n° {meeting_id} de cette convention")))
    }

    /// The ids of the fiches, indicators and documents of the convention, to check links against.
    async fn plan_ids(&mut self, convention_id: i64) -> Result<(BTreeSet<i64>, BTreeSet<i64>, BTreeSet<i64>)> {
        with_conn!(self, c => {
            let fiches: Vec<(i64,)> = sqlx::query_as("SELECT id FROM fiche WHERE convention_id = $1")
                .bind(convention_id)
                .fetch_all(&mut *c)
                .await?;
            let indicators: Vec<(i64,)> = sqlx::query_as("SELECT id FROM plan_indicator WHERE convention_id = $1")
                .bind(convention_id)
                .fetch_all(&mut *c)
                .await?;
            let documents: Vec<(i64,)> = sqlx::query_as("SELECT id FROM document WHERE convention_id = $1")
                .bind(convention_id)
                .fetch_all(&mut *c)
                .await?;
            let set = |v: Vec<(i64,)>| v.into_iter().map(|r| r.0).collect::<BTreeSet<i64>>();
            Ok((set(fiches), set(indicators), set(documents)))
        })
    }

    async fn check_fiches(&mut self, convention_id: i64, fiches: &[i64]) -> Result<()> {
        if fiches.is_empty() {
            return Ok(());
        }
        let (known, _, _) = self.plan_ids(convention_id).await?;
        let unknown: Vec<String> = fiches.iter().filter(|f| !known.contains(f)).map(|f| format!("n° {f}")).collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(invalid(format!("fiche(s) inconnue(s) dans cette convention : {}", unknown.join(", "))))
        }
    }

    /// The decision `decision_id` of the convention, with the meeting that took it and its body's name.
    async fn decision_in(&mut self, convention_id: i64, decision_id: i64) -> Result<(Decision, Meeting, String)> {
        let found: Option<(i64,)> = with_conn!(self, c => {
            sqlx::query_as(
                "SELECT d.meeting_id FROM decision d JOIN meeting m ON m.id = d.meeting_id JOIN body b ON b.id = m.body_id \
                 WHERE d.id = $1 AND b.convention_id = $2",
            )
            .bind(decision_id)
            .bind(convention_id)
            .fetch_optional(&mut *c)
            .await?
        });
        let not_found = || StoreError::NotFound(format!("la décision n° {decision_id} de cette convention"));
        let (meeting_id,) = found.ok_or_else(not_found)?;
        let meeting = self.meeting(convention_id, meeting_id).await?;
        let decision = meeting.decisions.iter().find(|d| d.id == decision_id).cloned().ok_or_else(not_found)?;
        let body = self.body(convention_id, meeting.body_id).await?;
        Ok((decision, meeting, body.body.name))
    }

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

    /// The chargés de coopération posts of a convention, by start date.
    pub(crate) async fn coordination_posts(&mut self, convention_id: i64) -> Result<Vec<Post>> {
        let rows: Vec<PostRow> = with_conn!(self, c => {
            sqlx::query_as(
                "SELECT id, person, employer, fte_hundredths, start_date, end_date, funding, amount_cents, funder, version \
                 FROM coordination_post WHERE convention_id = $1 ORDER BY start_date, id",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| Post {
                id: r.id,
                version: r.version,
                data: NewPost {
                    person: r.person,
                    employer: r.employer,
                    fte_hundredths: r.fte_hundredths,
                    start: r.start_date,
                    end: r.end_date,
                    funding: r.funding,
                    amount_cents: r.amount_cents,
                    funder: r.funder,
                },
            })
            .collect())
    }

    /// A meeting of the convention and the name of its body.
    async fn meeting_and_body(&mut self, convention_id: i64, meeting_id: i64) -> Result<(Meeting, String)> {
        let meeting = self.meeting(convention_id, meeting_id).await?;
        let body = self.body(convention_id, meeting.body_id).await?;
        Ok((meeting, body.body.name))
    }
}

fn check_body(b: &Body) -> Result<Body> {
    let name = b.name.trim();
    if name.is_empty() {
        return Err(invalid("le nom de l'instance est vide"));
    }
    Ok(Body {
        kind: b.kind,
        name: name.to_owned(),
        description: b.description.as_deref().map(str::trim).filter(|d| !d.is_empty()).map(str::to_owned),
    })
}

/// A meeting as a stale-version error names it.
fn meeting_what(body_name: &str, m: &Meeting) -> String {
    format!("la séance « {} »", meeting_label(body_name, &m.data))
}

/// « Comité technique opérationnel du 12/03/2026 ».
fn meeting_label(body_name: &str, m: &NewMeeting) -> String {
    format!("{body_name} du {}", date_short(m.date))
}

fn decision_label(body_name: &str, m: &NewMeeting, text: &str) -> String {
    let short: String = text.chars().take(60).collect();
    let more = if short.len() < text.len() { "…" } else { "" };
    format!("décision « {short}{more} » ({})", meeting_label(body_name, m))
}

fn post_label(p: &NewPost) -> String {
    format!("chargé(e) de coopération, {} ({})", p.person.as_deref().unwrap_or("poste vacant"), p.employer)
}
