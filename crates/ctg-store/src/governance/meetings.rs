//! The meetings of a body: when and where, agenda, attendance and minutes, read with their decisions;
//! and the iCalendar export of a body's meetings.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use ctg_domain::format::date_short;
use ctg_domain::governance::{
    icalendar, AgendaItem, AgendaLink, Attendance, AttendanceStatus, Decision, Meeting, NewDecision, NewMeeting,
};
use ctg_domain::Actor;
use serde_json::{json, Value};

use super::{corrupt, invalid, meeting_label};
use crate::audit::{record, Change};
use crate::conn::{with_conn, Conn};
use crate::versioned::{Loaded, Versioned};
use crate::{with_db, Result, Store, StoreError};

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

/// The clause selecting the meetings of convention `$1`, of body `$2` when not NULL, and meeting `$3`
/// when not NULL (`m` is the meeting, `b` its body).
const MEETINGS_OF: &str = "b.convention_id = $1 AND ($2 IS NULL OR m.body_id = $2) AND ($3 IS NULL OR m.id = $3)";

impl Store {
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

    /// The meetings of a body as an iCalendar file (see [`ctg_domain::governance::icalendar`]).
    pub async fn body_icalendar(&self, convention_id: i64, body_id: i64, now: DateTime<Utc>) -> Result<String> {
        let body = self.body(convention_id, body_id).await?;
        let meetings = self.meetings_of_body(convention_id, body_id).await?;
        Ok(icalendar(&body.body.name, &meetings, now))
    }
}

impl Conn<'_> {
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

    /// A meeting of the convention and the name of its body.
    async fn meeting_and_body(&mut self, convention_id: i64, meeting_id: i64) -> Result<(Meeting, String)> {
        let meeting = self.meeting(convention_id, meeting_id).await?;
        let body = self.body(convention_id, meeting.body_id).await?;
        Ok((meeting, body.body.name))
    }
}

/// A meeting as a stale-version error names it.
fn meeting_what(body_name: &str, m: &Meeting) -> String {
    format!("la séance « {} »", meeting_label(body_name, &m.data))
}
