//! The governance of a CTG: the bodies of art. 7-a and their members, their meetings (agenda,
//! invitations and attendance, decisions and their follow-up, minutes) with their iCalendar export,
//! the concertation that prepared the convention (annex 2), and the coordination posts of art. 7-b
//! (the « chargés de coopération territoriale »). Pure: the store keeps these values, the web layer
//! shows them.
//!
//! # The rules
//!
//! - **A member is current** on a day when they joined on or before it and have not left by it:
//!   `joined ≤ day` and (no leaving date, or `day < left`).
//! - **Attendance** of a meeting counts the invited members by answer; the quorum-like figure is the
//!   members present or represented over the members invited.
//! - **A decision is open until it is closed**; it is overdue on a day when it is open then and its due
//!   date is before that day. Open decisions are listed by due date (those without one last).
//! - **Concertation totals** add the participants of each category over the events; a count given
//!   without a breakdown (« une centaine de personnes ») stays unattributed, and an approximate count
//!   makes every total it enters approximate.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::convention::{coded_enum, ConventionError};
use crate::territory::InseeCode;

fn invalid<T>(message: String) -> Result<T, ConventionError> {
    Err(ConventionError::Invalid(message))
}

/// Trimmed, `None` when empty.
fn tidy_option(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Trimmed, empty ones and repeats (case aside) dropped, order kept.
fn tidy_list(v: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    v.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty() && seen.insert(s.to_lowercase())).collect()
}

fn sorted_ids(mut v: Vec<i64>, what: &str) -> Result<Vec<i64>, ConventionError> {
    if let Some(bad) = v.iter().find(|id| **id <= 0) {
        return invalid(format!("{what} n° {bad} invalide"));
    }
    v.sort_unstable();
    v.dedup();
    Ok(v)
}

// ------------------------------------------------------------------------------------------------
// Members of a body

coded_enum! {
    /// The role of a member in a body.
    MemberRole, "rôle dans l'instance" {
        Chair => "president", "Président(e)";
        CoChair => "copresident", "Coprésident(e)";
        ViceChair => "vice_president", "Vice-président(e)";
        Member => "membre", "Membre";
        Guest => "invite", "Invité(e)";
        Secretariat => "secretariat", "Secrétariat";
    }
}

/// A member of a body, as entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMember {
    /// The person, e.g. « Claire Martin ».
    pub name: String,
    /// Who they represent, e.g. « CAF du Pas-de-Calais ».
    pub organisation: String,
    /// Their function there, e.g. « Directrice de l'action sociale ».
    pub function: String,
    pub role: MemberRole,
    pub joined: NaiveDate,
    /// The day they left: from that day on they are no longer a member.
    pub left: Option<NaiveDate>,
}

impl NewMember {
    /// Checks a member and trims its texts.
    pub fn check(mut self) -> Result<Self, ConventionError> {
        use crate::text::{clean_in, invalid as refused, TextKind::*};
        clean_in("nom", &mut self.name, Name).map_err(refused)?;
        clean_in("organisation", &mut self.organisation, Name).map_err(refused)?;
        clean_in("fonction", &mut self.function, Name).map_err(refused)?;
        if self.name.is_empty() {
            return invalid("le nom du membre est vide".into());
        }
        if let Some(left) = self.left {
            if left < self.joined {
                return invalid(format!("la date de départ ({left}) précède la date d'arrivée ({})", self.joined));
            }
        }
        Ok(self)
    }

    /// Whether they are a member on `day`: joined on or before it, and not left by it.
    pub fn is_current(&self, day: NaiveDate) -> bool {
        self.joined <= day && self.left.is_none_or(|left| day < left)
    }
}

/// A member as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: i64,
    pub body_id: i64,
    pub version: i64,
    pub data: NewMember,
}

impl Member {
    pub fn is_current(&self, day: NaiveDate) -> bool {
        self.data.is_current(day)
    }
}

/// The members current on `day`, in the order given.
pub fn current_members(members: &[Member], day: NaiveDate) -> Vec<&Member> {
    members.iter().filter(|m| m.is_current(day)).collect()
}

// ------------------------------------------------------------------------------------------------
// Meetings

/// When and where a body meets, as entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMeeting {
    /// A subject, e.g. « Lancement de la CTG » (the body's name stands for it when absent).
    pub title: Option<String>,
    pub date: NaiveDate,
    /// Local time in Paris.
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub place: Option<String>,
    /// A video-conference link (http or https).
    pub video_link: Option<String>,
}

impl NewMeeting {
    /// Checks a meeting: it ends after it starts, on the same day; times are kept to the minute; a
    /// video link is an http(s) address without spaces.
    pub fn check(mut self) -> Result<Self, ConventionError> {
        let minute = |t: NaiveTime| t.with_second(0).and_then(|t| t.with_nanosecond(0)).unwrap_or(t);
        self.start = minute(self.start);
        self.end = minute(self.end);
        use crate::text::{clean_opt, invalid as refused, TextKind::*};
        clean_opt("intitulé", &mut self.title, Title).map_err(refused)?;
        clean_opt("lieu", &mut self.place, Title).map_err(refused)?;
        clean_opt("lien de visioconférence", &mut self.video_link, Title).map_err(refused)?;
        self.title = tidy_option(self.title);
        self.place = tidy_option(self.place);
        self.video_link = tidy_option(self.video_link);
        if self.end <= self.start {
            return invalid(format!(
                "l'heure de fin ({}) doit suivre l'heure de début ({})",
                self.end.format("%H:%M"),
                self.start.format("%H:%M")
            ));
        }
        if let Some(link) = &self.video_link {
            let lower = link.to_lowercase();
            if !(lower.starts_with("https://") || lower.starts_with("http://"))
                || link.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return invalid(format!(
                    "lien de visioconférence invalide « {link} » : une adresse https:// est attendue"
                ));
            }
        }
        Ok(self)
    }

    pub fn starts_at(&self) -> NaiveDateTime {
        self.date.and_time(self.start)
    }

    pub fn ends_at(&self) -> NaiveDateTime {
        self.date.and_time(self.end)
    }
}

/// What an agenda item concerns: a fiche action, an indicator of the plan, or a document, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "id")]
pub enum AgendaLink {
    #[serde(rename = "fiche")]
    Fiche(i64),
    #[serde(rename = "indicateur")]
    Indicator(i64),
    #[serde(rename = "document")]
    Document(i64),
}

impl AgendaLink {
    /// The stable code of the kind of target.
    pub fn code(self) -> &'static str {
        match self {
            Self::Fiche(_) => "fiche",
            Self::Indicator(_) => "indicateur",
            Self::Document(_) => "document",
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Self::Fiche(id) | Self::Indicator(id) | Self::Document(id) => id,
        }
    }
}

/// An item of a meeting's agenda.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgendaItem {
    pub title: String,
    pub links: Vec<AgendaLink>,
}

impl AgendaItem {
    pub fn check(mut self) -> Result<Self, ConventionError> {
        crate::text::clean_in("intitulé", &mut self.title, crate::text::TextKind::Title)
            .map_err(crate::text::invalid)?;
        if self.title.is_empty() {
            return invalid("un point de l'ordre du jour n'a pas d'intitulé".into());
        }
        if let Some(bad) = self.links.iter().find(|l| l.id() <= 0) {
            return invalid(format!("lien invalide : {} n° {}", bad.code(), bad.id()));
        }
        self.links.sort_unstable();
        self.links.dedup();
        Ok(self)
    }
}

coded_enum! {
    /// The answer of an invited member.
    AttendanceStatus, "présence" {
        Invited => "invite", "Invité(e)";
        Present => "present", "Présent(e)";
        Excused => "excuse", "Excusé(e)";
        Represented => "represente", "Représenté(e)";
    }
}

/// The invitation of a member to a meeting and their answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attendance {
    pub member_id: i64,
    pub status: AttendanceStatus,
    /// Who stood for them, when represented (« Paul Durand, adjoint »).
    pub represented_by: Option<String>,
}

impl Attendance {
    /// A representative is named exactly when the member is represented.
    pub fn check(mut self) -> Result<Self, ConventionError> {
        crate::text::clean_opt("représenté par", &mut self.represented_by, crate::text::TextKind::Name)
            .map_err(crate::text::invalid)?;
        self.represented_by = tidy_option(self.represented_by);
        match (self.status, &self.represented_by) {
            (AttendanceStatus::Represented, None) => invalid("précisez qui représente le membre".into()),
            (AttendanceStatus::Represented, Some(_)) | (_, None) => Ok(self),
            (_, Some(who)) => invalid(format!(
                "« représenté par {who} » ne va qu'avec la présence « {} »",
                AttendanceStatus::Represented.label()
            )),
        }
    }
}

/// The attendance of a meeting in figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttendanceSummary {
    pub invited: usize,
    pub present: usize,
    pub represented: usize,
    pub excused: usize,
    /// Invited members who have not answered (still « invité »).
    pub no_answer: usize,
}

impl AttendanceSummary {
    pub fn of(list: &[Attendance]) -> Self {
        let mut s = Self { invited: list.len(), ..Self::default() };
        for a in list {
            match a.status {
                AttendanceStatus::Invited => s.no_answer += 1,
                AttendanceStatus::Present => s.present += 1,
                AttendanceStatus::Represented => s.represented += 1,
                AttendanceStatus::Excused => s.excused += 1,
            }
        }
        s
    }

    /// Present or represented.
    pub fn attending(&self) -> usize {
        self.present + self.represented
    }

    /// Present or represented over invited, in percent with one decimal; `None` when nobody is invited.
    pub fn share(&self) -> Option<f64> {
        (self.invited > 0).then(|| (self.attending() as f64 * 1000.0 / self.invited as f64).round() / 10.0)
    }

    /// Whether at least `numerator / denominator` of the invited are present or represented (a quorum
    /// of half is `reaches(1, 2)`, of two thirds `reaches(2, 3)`). Never reached with nobody invited.
    pub fn reaches(&self, numerator: usize, denominator: usize) -> bool {
        self.invited > 0 && denominator > 0 && self.attending() * denominator >= self.invited * numerator
    }

    /// More than half of the invited are present or represented.
    pub fn has_majority(&self) -> bool {
        self.attending() * 2 > self.invited
    }

    /// « 6 présents ou représentés sur 8 invités (75 %) » (a no-break space before %).
    pub fn label(&self) -> String {
        let share = self.share().map(|p| format!(" ({}\u{a0}%)", format!("{p}").replace('.', ","))).unwrap_or_default();
        format!(
            "{} présent{s1} ou représenté{s1} sur {} invité{s2}{share}",
            self.attending(),
            self.invited,
            s1 = if self.attending() > 1 { "s" } else { "" },
            s2 = if self.invited > 1 { "s" } else { "" },
        )
    }
}

/// The attendance of a meeting in figures.
pub fn attendance_summary(list: &[Attendance]) -> AttendanceSummary {
    AttendanceSummary::of(list)
}

coded_enum! {
    /// Where a decision stands.
    DecisionStatus, "statut de la décision" {
        Open => "ouverte", "Ouverte";
        Closed => "close", "Close";
    }
}

/// A decision of a meeting, as entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDecision {
    pub text: String,
    /// The fiches action it changes, by id.
    pub fiches: Vec<i64>,
    /// Who follows it up (a person or an organisation).
    pub follow_up: String,
    pub due: Option<NaiveDate>,
}

impl NewDecision {
    pub fn check(mut self) -> Result<Self, ConventionError> {
        use crate::text::{clean_in, invalid as refused, TextKind::*};
        clean_in("texte", &mut self.text, Long).map_err(refused)?;
        clean_in("suite à donner", &mut self.follow_up, Long).map_err(refused)?;
        if self.text.is_empty() {
            return invalid("le texte de la décision est vide".into());
        }
        self.fiches = sorted_ids(self.fiches, "fiche")?;
        Ok(self)
    }
}

/// A decision as stored. It is open until it is closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub id: i64,
    pub meeting_id: i64,
    pub version: i64,
    pub data: NewDecision,
    pub closed_on: Option<NaiveDate>,
}

impl AsRef<Decision> for Decision {
    fn as_ref(&self) -> &Decision {
        self
    }
}

impl Decision {
    pub fn status(&self) -> DecisionStatus {
        if self.closed_on.is_some() {
            DecisionStatus::Closed
        } else {
            DecisionStatus::Open
        }
    }

    /// Open on `day`: not closed, or closed after that day.
    pub fn is_open_on(&self, day: NaiveDate) -> bool {
        self.closed_on.is_none_or(|closed| day < closed)
    }

    /// Open on `day` with its due date before that day.
    pub fn is_overdue_on(&self, day: NaiveDate) -> bool {
        self.is_open_on(day) && self.data.due.is_some_and(|due| due < day)
    }

    /// Days past its due date on `day` (0 when not overdue).
    pub fn days_overdue(&self, day: NaiveDate) -> i64 {
        match self.data.due {
            Some(due) if self.is_overdue_on(day) => (day - due).num_days(),
            _ => 0,
        }
    }
}

/// An open decision in a list of those to follow up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingDecision<'a, T> {
    pub item: &'a T,
    pub overdue: bool,
    pub days_overdue: i64,
}

/// The decisions open on `day`, by due date (those without one last, then by id), each flagged
/// overdue when its due date is before `day`.
pub fn open_decisions<T: AsRef<Decision>>(items: &[T], day: NaiveDate) -> Vec<PendingDecision<'_, T>> {
    let mut open: Vec<PendingDecision<'_, T>> = items
        .iter()
        .filter(|i| i.as_ref().is_open_on(day))
        .map(|item| PendingDecision {
            item,
            overdue: item.as_ref().is_overdue_on(day),
            days_overdue: item.as_ref().days_overdue(day),
        })
        .collect();
    open.sort_by_key(|p| {
        let d = p.item.as_ref();
        (d.data.due.is_none(), d.data.due, d.id)
    });
    open
}

/// A meeting as stored, with its agenda, invitations, decisions and minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meeting {
    pub id: i64,
    pub body_id: i64,
    pub version: i64,
    pub data: NewMeeting,
    pub agenda: Vec<AgendaItem>,
    pub attendance: Vec<Attendance>,
    pub decisions: Vec<Decision>,
    pub minutes: Option<String>,
}

impl Meeting {
    pub fn attendance_summary(&self) -> AttendanceSummary {
        AttendanceSummary::of(&self.attendance)
    }
}

// ------------------------------------------------------------------------------------------------
// iCalendar (RFC 5545)

/// The product identifier of the calendars the platform writes.
pub const ICALENDAR_PRODID: &str = "-//Plateforme CTG//Instances de gouvernance//FR";

/// The time zone of every meeting.
pub const MEETING_TZID: &str = "Europe/Paris";

/// The stable identifier of a meeting in calendars.
pub fn meeting_uid(meeting_id: i64) -> String {
    format!("ctg-reunion-{meeting_id}@plateforme-ctg")
}

/// Escapes a TEXT value (RFC 5545 § 3.3.11): backslash, semicolon, comma, and line breaks as `\n`.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends a content line folded at 75 octets (RFC 5545 § 3.1: a continuation line starts with one
/// space; a character is never split), ended by CRLF.
fn content_line(out: &mut String, line: &str) {
    let mut used = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if used + n > 75 {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
}

const PARIS_VTIMEZONE: [&str; 16] = [
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Paris",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "TZNAME:CEST",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "TZNAME:CET",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
];

/// The meetings of a body as an iCalendar file (RFC 5545): one VEVENT per meeting, in Paris time
/// with its VTIMEZONE, its UID stable across exports, SEQUENCE following its version, the agenda in
/// the description; lines folded at 75 octets and ended by CRLF.
pub fn icalendar(body_name: &str, meetings: &[Meeting], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    let local = |t: NaiveDateTime| t.format("%Y%m%dT%H%M%S").to_string();
    content_line(&mut out, "BEGIN:VCALENDAR");
    content_line(&mut out, "VERSION:2.0");
    content_line(&mut out, &format!("PRODID:{ICALENDAR_PRODID}"));
    content_line(&mut out, "CALSCALE:GREGORIAN");
    content_line(&mut out, "METHOD:PUBLISH");
    content_line(&mut out, &format!("NAME:{}", escape_text(body_name)));
    content_line(&mut out, &format!("X-WR-CALNAME:{}", escape_text(body_name)));
    content_line(&mut out, &format!("X-WR-TIMEZONE:{MEETING_TZID}"));
    for l in PARIS_VTIMEZONE {
        content_line(&mut out, l);
    }
    content_line(&mut out, "END:VTIMEZONE");
    let mut sorted: Vec<&Meeting> = meetings.iter().collect();
    sorted.sort_by_key(|m| (m.data.starts_at(), m.id));
    for m in sorted {
        content_line(&mut out, "BEGIN:VEVENT");
        content_line(&mut out, &format!("UID:{}", meeting_uid(m.id)));
        content_line(&mut out, &format!("DTSTAMP:{stamp}"));
        content_line(&mut out, &format!("DTSTART;TZID={MEETING_TZID}:{}", local(m.data.starts_at())));
        content_line(&mut out, &format!("DTEND;TZID={MEETING_TZID}:{}", local(m.data.ends_at())));
        content_line(&mut out, &format!("SEQUENCE:{}", (m.version - 1).max(0)));
        let summary = match &m.data.title {
            Some(t) => format!("{body_name} : {t}"),
            None => body_name.to_owned(),
        };
        content_line(&mut out, &format!("SUMMARY:{}", escape_text(&summary)));
        if let Some(place) = &m.data.place {
            content_line(&mut out, &format!("LOCATION:{}", escape_text(place)));
        }
        if let Some(link) = &m.data.video_link {
            // A URI value: not escaped as text (it holds no line break, checked on entry).
            content_line(&mut out, &format!("URL:{link}"));
        }
        let mut description = String::new();
        if m.agenda.is_empty() {
            description.push_str("Ordre du jour à venir.");
        } else {
            description.push_str("Ordre du jour :");
            for (i, item) in m.agenda.iter().enumerate() {
                description.push_str(&format!("\n{}. {}", i + 1, item.title));
            }
        }
        if let Some(link) = &m.data.video_link {
            description.push_str(&format!("\nVisioconférence : {link}"));
        }
        content_line(&mut out, &format!("DESCRIPTION:{}", escape_text(&description)));
        content_line(&mut out, "END:VEVENT");
    }
    content_line(&mut out, "END:VCALENDAR");
    out
}

// ------------------------------------------------------------------------------------------------
// Concertation (annex 2)

coded_enum! {
    /// The kind of a concertation event.
    ConcertationKind, "type de concertation" {
        Interview => "entretien", "Entretien";
        FocusGroup => "focus_group", "Focus group";
        WorkingGroup => "groupe_de_travail", "Groupe de travail thématique";
        Seminar => "seminaire", "Séminaire";
        PublicMeeting => "reunion_publique", "Réunion publique";
        ParticipatorySession => "seance_participative", "Séance participative";
    }
}

coded_enum! {
    /// Who takes part in a concertation or writes a contribution.
    ParticipantCategory, "catégorie de participants" {
        Inhabitants => "habitants", "Habitants";
        Elected => "elus", "Élus";
        Partners => "partenaires", "Partenaires";
    }
}

/// The participants of an event, by category, as counts; a count not given stays `None` (unknown
/// is not zero).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Participants {
    #[serde(rename = "habitants", default, skip_serializing_if = "Option::is_none")]
    pub inhabitants: Option<i64>,
    #[serde(rename = "elus", default, skip_serializing_if = "Option::is_none")]
    pub elected: Option<i64>,
    #[serde(rename = "partenaires", default, skip_serializing_if = "Option::is_none")]
    pub partners: Option<i64>,
    /// Everyone, when a count is given without (or beyond) a breakdown by category.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// The counts are approximate (« une centaine de personnes »).
    #[serde(rename = "environ", default, skip_serializing_if = "std::ops::Not::not")]
    pub approximate: bool,
}

impl Participants {
    pub fn get(&self, category: ParticipantCategory) -> Option<i64> {
        match category {
            ParticipantCategory::Inhabitants => self.inhabitants,
            ParticipantCategory::Elected => self.elected,
            ParticipantCategory::Partners => self.partners,
        }
    }

    /// The sum of the categories given.
    pub fn by_categories(&self) -> i64 {
        ParticipantCategory::ALL.iter().filter_map(|c| self.get(*c)).sum()
    }

    /// Everyone: the total when given, else the sum of the categories; `None` when nothing is known.
    pub fn total(&self) -> Option<i64> {
        self.total
            .or_else(|| ParticipantCategory::ALL.iter().any(|c| self.get(*c).is_some()).then(|| self.by_categories()))
    }

    /// Participants counted in the total but in no category.
    pub fn unattributed(&self) -> i64 {
        self.total.map_or(0, |t| (t - self.by_categories()).max(0))
    }

    pub fn check(&self) -> Result<(), ConventionError> {
        let counts = [self.inhabitants, self.elected, self.partners, self.total];
        if counts.iter().flatten().any(|n| !(0..=10_000_000).contains(n)) {
            return invalid("un nombre de participants est hors limites".into());
        }
        if let Some(t) = self.total {
            if t < self.by_categories() {
                return invalid(format!(
                    "le total des participants ({t}) est inférieur à la somme des catégories ({})",
                    self.by_categories()
                ));
            }
        }
        Ok(())
    }
}

fn one() -> i64 {
    1
}

fn is_one(n: &i64) -> bool {
    *n == 1
}

/// A concertation event, or a group of like events entered once (`occurrences` says how many: the
/// « 18 focus groups » of a source that gives their participants only together).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewConcertationEvent {
    #[serde(rename = "nature")]
    pub kind: ConcertationKind,
    #[serde(rename = "intitule")]
    pub title: String,
    /// The day, or the first day of the period.
    #[serde(rename = "debut")]
    pub start: NaiveDate,
    /// The last day of the period, if it is one.
    #[serde(rename = "fin", default, skip_serializing_if = "Option::is_none")]
    pub end: Option<NaiveDate>,
    /// How many events this entry stands for.
    #[serde(rename = "nombre", default = "one", skip_serializing_if = "is_one")]
    pub occurrences: i64,
    /// The communes concerned, by INSEE code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communes: Vec<InseeCode>,
    /// How many communes took part, when the source gives the number without the list.
    #[serde(rename = "nombre_communes", default, skip_serializing_if = "Option::is_none")]
    pub commune_count: Option<i64>,
    #[serde(default)]
    pub participants: Participants,
    /// Free tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub themes: Vec<String>,
    /// Where the figures come from, what they leave out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl NewConcertationEvent {
    pub fn check(mut self) -> Result<Self, ConventionError> {
        crate::text::clean_in("intitulé", &mut self.title, crate::text::TextKind::Title)
            .map_err(crate::text::invalid)?;
        if self.title.is_empty() {
            return invalid("l'intitulé de l'événement de concertation est vide".into());
        }
        if let Some(end) = self.end {
            if end < self.start {
                return invalid(format!("la fin ({end}) précède le début ({})", self.start));
            }
        }
        if !(1..=10_000).contains(&self.occurrences) {
            return invalid(format!("nombre d'événements hors limites : {} (de 1 à 10 000)", self.occurrences));
        }
        if self.commune_count.is_some_and(|n| !(0..=100_000).contains(&n)) {
            return invalid("nombre de communes hors limites".into());
        }
        self.participants.check()?;
        self.communes.sort();
        self.communes.dedup();
        self.themes = tidy_list(std::mem::take(&mut self.themes));
        self.note = tidy_option(self.note);
        Ok(self)
    }

    /// How many communes took part: those listed, else the number given.
    pub fn communes_taking_part(&self) -> Option<i64> {
        if self.communes.is_empty() {
            self.commune_count
        } else {
            Some(self.communes.len() as i64)
        }
    }
}

/// A contribution gathered in a concertation event, and what answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewContribution {
    #[serde(rename = "texte")]
    pub text: String,
    #[serde(rename = "auteur", default, skip_serializing_if = "Option::is_none")]
    pub author: Option<ParticipantCategory>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    /// Numbers of the ambitions that answer it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ambitions: Vec<i64>,
    /// Ids of the fiches action that answer it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fiches: Vec<i64>,
}

impl NewContribution {
    pub fn check(mut self) -> Result<Self, ConventionError> {
        use crate::text::{clean_in, clean_opt, invalid as refused, TextKind::*};
        clean_in("texte", &mut self.text, Long).map_err(refused)?;
        clean_opt("thème", &mut self.theme, Name).map_err(refused)?;
        if self.text.is_empty() {
            return invalid("le texte de la contribution est vide".into());
        }
        self.theme = tidy_option(self.theme);
        self.ambitions = sorted_ids(self.ambitions, "ambition")?;
        self.fiches = sorted_ids(self.fiches, "fiche")?;
        Ok(self)
    }

    /// Some ambition or fiche answers it.
    pub fn is_answered(&self) -> bool {
        !self.ambitions.is_empty() || !self.fiches.is_empty()
    }
}

/// A contribution as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    pub id: i64,
    pub event_id: i64,
    pub version: i64,
    pub data: NewContribution,
}

/// A concertation event as stored, with its contributions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConcertationEvent {
    pub id: i64,
    pub version: i64,
    pub data: NewConcertationEvent,
    pub contributions: Vec<Contribution>,
}

impl AsRef<NewConcertationEvent> for NewConcertationEvent {
    fn as_ref(&self) -> &NewConcertationEvent {
        self
    }
}

impl AsRef<NewConcertationEvent> for ConcertationEvent {
    fn as_ref(&self) -> &NewConcertationEvent {
        &self.data
    }
}

/// Participants added up by category.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryTotals {
    pub inhabitants: i64,
    pub elected: i64,
    pub partners: i64,
    /// Counted without a category (a total given without a breakdown).
    pub unattributed: i64,
    /// Some count that entered is approximate.
    pub approximate: bool,
}

impl CategoryTotals {
    pub fn get(&self, category: ParticipantCategory) -> i64 {
        match category {
            ParticipantCategory::Inhabitants => self.inhabitants,
            ParticipantCategory::Elected => self.elected,
            ParticipantCategory::Partners => self.partners,
        }
    }

    /// Everyone, categories and unattributed.
    pub fn all(&self) -> i64 {
        self.inhabitants + self.elected + self.partners + self.unattributed
    }

    fn add(&mut self, p: &Participants) {
        self.inhabitants += p.inhabitants.unwrap_or(0);
        self.elected += p.elected.unwrap_or(0);
        self.partners += p.partners.unwrap_or(0);
        self.unattributed += p.unattributed();
        self.approximate |= p.approximate && p.total().is_some();
    }
}

/// The participants of these events added up by category.
pub fn totals_by_category<T: AsRef<NewConcertationEvent>>(events: &[T]) -> CategoryTotals {
    let mut t = CategoryTotals::default();
    for e in events {
        t.add(&e.as_ref().participants);
    }
    t
}

/// The events of one kind added up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindTotals {
    pub kind: ConcertationKind,
    /// Events held (an entry standing for several counts for them all).
    pub events: i64,
    pub participants: CategoryTotals,
}

/// The events added up by kind, in the order of [`ConcertationKind::ALL`], kinds without events left
/// out.
pub fn totals_by_kind<T: AsRef<NewConcertationEvent>>(events: &[T]) -> Vec<KindTotals> {
    ConcertationKind::ALL
        .iter()
        .filter_map(|kind| {
            let of_kind: Vec<&NewConcertationEvent> =
                events.iter().map(AsRef::as_ref).filter(|e| e.kind == *kind).collect();
            (!of_kind.is_empty()).then(|| KindTotals {
                kind: *kind,
                events: of_kind.iter().map(|e| e.occurrences).sum(),
                participants: totals_by_category(&of_kind),
            })
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// Coordination posts (art. 7-b)

/// A « chargé(e) de coopération territoriale » post, as entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPost {
    /// Who holds it; `None` while vacant.
    pub person: Option<String>,
    /// The organisation that employs them.
    pub employer: String,
    /// In hundredths of a full-time equivalent (80 = 0,8 ETP).
    pub fte_hundredths: i64,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    /// How it is funded, in words (« financement au titre du pilotage de la CTG »).
    pub funding: String,
    /// A yearly amount, in cents, when known; with its funder.
    pub amount_cents: Option<i64>,
    pub funder: Option<String>,
}

impl NewPost {
    pub fn check(mut self) -> Result<Self, ConventionError> {
        use crate::text::{clean_in, clean_opt, invalid as refused, TextKind::*};
        clean_opt("personne", &mut self.person, Name).map_err(refused)?;
        clean_in("employeur", &mut self.employer, Name).map_err(refused)?;
        clean_in("financement", &mut self.funding, Title).map_err(refused)?;
        clean_opt("financeur", &mut self.funder, Name).map_err(refused)?;
        self.person = tidy_option(self.person);
        self.funder = tidy_option(self.funder);
        if self.employer.is_empty() {
            return invalid("l'employeur du poste est vide".into());
        }
        if !(1..=100).contains(&self.fte_hundredths) {
            return invalid(format!("quotité hors limites : {} centièmes d'ETP (de 1 à 100)", self.fte_hundredths));
        }
        if let Some(end) = self.end {
            if end < self.start {
                return invalid(format!("la fin ({end}) précède le début ({})", self.start));
            }
        }
        if let Some(cents) = self.amount_cents {
            if !(0..=100_000_000_000).contains(&cents) {
                return invalid("montant hors limites (de 0 à 1 milliard d'euros)".into());
            }
            if self.funder.is_none() {
                return invalid("précisez le financeur du montant".into());
            }
        }
        Ok(self)
    }

    /// Whether the post runs on `day` (its end day included).
    pub fn is_active_on(&self, day: NaiveDate) -> bool {
        self.start <= day && self.end.is_none_or(|end| day <= end)
    }

    /// Whether the post runs on `day`, the termination of the convention (art. 13: « arrêt immédiat
    /// des engagements ») stopping every post on its effective date.
    pub fn runs_on(&self, day: NaiveDate, stop: Option<crate::life::Stop>) -> bool {
        self.is_active_on(day) && stop.is_none_or(|s| day < s.effective)
    }

    /// Whether the termination stops this post: it was meant to run on or after the effective date.
    pub fn stopped_by(&self, stop: Option<crate::life::Stop>) -> bool {
        stop.is_some_and(|s| self.end.is_none_or(|e| e >= s.effective))
    }
}

/// A post as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub id: i64,
    pub version: i64,
    pub data: NewPost,
}

/// The full-time equivalents, in hundredths, of the posts running on `day` (none from the effective
/// date of a termination, art. 13).
pub fn fte_on(posts: &[Post], day: NaiveDate, stop: Option<crate::life::Stop>) -> i64 {
    posts.iter().filter(|p| p.data.runs_on(day, stop)).map(|p| p.data.fte_hundredths).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn t(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    fn member(joined: &str, left: Option<&str>) -> NewMember {
        NewMember {
            name: " Claire Martin ".into(),
            organisation: "CAF du Pas-de-Calais".into(),
            function: "Conseillère territoriale".into(),
            role: MemberRole::Member,
            joined: d(joined),
            left: left.map(d),
        }
    }

    #[test]
    fn a_member_is_current_from_joining_until_the_day_before_leaving() {
        let m = member("2026-01-15", Some("2027-06-30")).check().unwrap();
        assert_eq!(m.name, "Claire Martin");
        assert!(!m.is_current(d("2026-01-14")));
        assert!(m.is_current(d("2026-01-15")));
        assert!(m.is_current(d("2027-06-29")));
        assert!(!m.is_current(d("2027-06-30")));
        let still = member("2026-01-15", None);
        assert!(still.is_current(d("2030-12-31")));
        let err = member("2026-01-15", Some("2026-01-01")).check().unwrap_err().to_string();
        assert!(err.contains("précède"), "{err}");
        let members =
            [Member { id: 1, body_id: 1, version: 1, data: m }, Member { id: 2, body_id: 1, version: 1, data: still }];
        assert_eq!(current_members(&members, d("2028-01-01")).iter().map(|m| m.id).collect::<Vec<_>>(), [2]);
        for r in MemberRole::ALL {
            assert_eq!(MemberRole::parse(r.code()).unwrap(), *r);
        }
    }

    #[test]
    fn meetings_end_after_they_start_and_links_are_addresses() {
        let m = NewMeeting {
            title: Some("  ".into()),
            date: d("2026-03-12"),
            start: NaiveTime::from_hms_opt(14, 0, 31).unwrap(),
            end: t("16:30"),
            place: Some(" Hôtel communautaire ".into()),
            video_link: None,
        }
        .check()
        .unwrap();
        assert_eq!((m.title.as_deref(), m.place.as_deref(), m.start), (None, Some("Hôtel communautaire"), t("14:00")));
        let backwards = NewMeeting { end: t("13:00"), ..m.clone() };
        let err = backwards.check().unwrap_err().to_string();
        assert!(err.contains("(13:00)") && err.contains("(14:00)"), "{err}");
        let bad = NewMeeting { video_link: Some("visio de la CAF".into()), ..m.clone() };
        assert!(bad.check().unwrap_err().to_string().contains("https://"));
        let ok = NewMeeting { video_link: Some("https://visio.example.org/copil".into()), ..m };
        assert!(ok.check().is_ok());
        let item = AgendaItem {
            title: " Bilan ".into(),
            links: vec![AgendaLink::Fiche(3), AgendaLink::Document(2), AgendaLink::Fiche(3)],
        }
        .check()
        .unwrap();
        assert_eq!(item.links, [AgendaLink::Fiche(3), AgendaLink::Document(2)]);
        assert!(AgendaItem { title: "x".into(), links: vec![AgendaLink::Indicator(0)] }.check().is_err());
    }

    #[test]
    fn attendance_counts_present_and_represented_over_invited() {
        let a = |id, status, by: Option<&str>| Attendance { member_id: id, status, represented_by: by.map(Into::into) };
        let list = [
            a(1, AttendanceStatus::Present, None),
            a(2, AttendanceStatus::Present, None),
            a(3, AttendanceStatus::Represented, Some("Paul Durand")),
            a(4, AttendanceStatus::Excused, None),
            a(5, AttendanceStatus::Invited, None),
            a(6, AttendanceStatus::Excused, None),
        ];
        for x in &list {
            assert!(x.clone().check().is_ok());
        }
        let s = attendance_summary(&list);
        assert_eq!((s.invited, s.present, s.represented, s.excused, s.no_answer), (6, 2, 1, 2, 1));
        assert_eq!(s.attending(), 3);
        assert_eq!(s.share(), Some(50.0));
        assert!(s.reaches(1, 2));
        assert!(!s.reaches(2, 3));
        assert!(!s.has_majority());
        assert_eq!(s.label(), "3 présents ou représentés sur 6 invités (50\u{a0}%)");
        let nobody = attendance_summary(&[]);
        assert_eq!((nobody.share(), nobody.reaches(1, 2)), (None, false));
        assert!(a(7, AttendanceStatus::Represented, Some(" ")).check().is_err());
        assert!(a(7, AttendanceStatus::Present, Some("Paul")).check().is_err());
        let first_three = attendance_summary(&list[..3]);
        assert_eq!(first_three.share(), Some(100.0));
        let s = attendance_summary(&list[..5]);
        assert_eq!(s.share(), Some(60.0));
        assert!(s.has_majority());
    }

    fn decision(id: i64, due: Option<&str>, closed: Option<&str>) -> Decision {
        Decision {
            id,
            meeting_id: 1,
            version: 1,
            data: NewDecision {
                text: format!("Décision {id}"),
                fiches: vec![],
                follow_up: "CAF".into(),
                due: due.map(d),
            },
            closed_on: closed.map(d),
        }
    }

    #[test]
    fn decisions_are_open_until_closed_and_sorted_by_due_date() {
        let list = [
            decision(1, None, None),
            decision(2, Some("2026-06-30"), None),
            decision(3, Some("2026-03-31"), None),
            decision(4, Some("2026-01-31"), Some("2026-02-15")),
            decision(5, Some("2026-04-30"), None),
        ];
        assert_eq!(list[3].status(), DecisionStatus::Closed);
        assert_eq!(list[0].status(), DecisionStatus::Open);
        // On 1 April 2026: decision 3 is a day late; 4 was closed; 1 has no due date and comes last.
        let open = open_decisions(&list, d("2026-04-01"));
        assert_eq!(open.iter().map(|p| p.item.id).collect::<Vec<_>>(), [3, 5, 2, 1]);
        assert_eq!(open.iter().map(|p| p.overdue).collect::<Vec<_>>(), [true, false, false, false]);
        assert_eq!(open[0].days_overdue, 1);
        // On its due date a decision is not late yet; before its closing it was open.
        assert!(!list[1].is_overdue_on(d("2026-06-30")));
        let back = open_decisions(&list, d("2026-02-10"));
        assert_eq!(
            back.iter().map(|p| (p.item.id, p.overdue)).collect::<Vec<_>>(),
            [(4, true), (3, false), (5, false), (2, false), (1, false)]
        );
        assert!(NewDecision { text: " ".into(), fiches: vec![], follow_up: String::new(), due: None }.check().is_err());
        let checked = NewDecision { text: "x".into(), fiches: vec![5, 2, 5], follow_up: " RPE ".into(), due: None }
            .check()
            .unwrap();
        assert_eq!((checked.fiches, checked.follow_up.as_str()), (vec![2, 5], "RPE"));
    }

    fn meeting(id: i64, title: Option<&str>) -> Meeting {
        Meeting {
            id,
            body_id: 1,
            version: 3,
            data: NewMeeting {
                title: title.map(Into::into),
                date: d("2026-03-12"),
                start: t("14:00"),
                end: t("16:30"),
                place: Some("Béthune, 100 avenue de Londres; salle 2".into()),
                video_link: Some("https://visio.example.org/copil?id=1,2".into()),
            },
            agenda: vec![
                AgendaItem { title: "Bilan de l'année, et perspectives".into(), links: vec![AgendaLink::Fiche(1)] },
                AgendaItem {
                    title: "Présentation très détaillée du plan d'action de la Convention Territoriale Globale 2026-2030 par les chargés de coopération".into(),
                    links: vec![],
                },
            ],
            attendance: vec![],
            decisions: vec![],
            minutes: None,
        }
    }

    #[test]
    fn icalendar_is_folded_escaped_and_in_paris_time() {
        let now = DateTime::parse_from_rfc3339("2026-02-01T08:30:00Z").unwrap().with_timezone(&Utc);
        let ics = icalendar("Comité de pilotage intercommunal restreint", &[meeting(7, Some("Lancement"))], now);
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(!ics.replace("\r\n", "").contains('\n'), "every line ends with CRLF");
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "line longer than 75 octets: {line}");
        }
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains("\r\nUID:ctg-reunion-7@plateforme-ctg\r\n"));
        assert!(unfolded.contains("\r\nDTSTAMP:20260201T083000Z\r\n"));
        assert!(unfolded.contains("\r\nDTSTART;TZID=Europe/Paris:20260312T140000\r\n"));
        assert!(unfolded.contains("\r\nDTEND;TZID=Europe/Paris:20260312T163000\r\n"));
        assert!(unfolded.contains("\r\nSEQUENCE:2\r\n"));
        assert!(unfolded.contains("\r\nSUMMARY:Comité de pilotage intercommunal restreint : Lancement\r\n"));
        assert!(unfolded.contains("\r\nLOCATION:Béthune\\, 100 avenue de Londres\\; salle 2\r\n"));
        assert!(unfolded.contains("\r\nURL:https://visio.example.org/copil?id=1,2\r\n"));
        assert!(
            unfolded.contains("DESCRIPTION:Ordre du jour :\\n1. Bilan de l'année\\, et perspectives\\n2. Présentation")
        );
        assert!(unfolded.contains("\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\n"));
        // Folding never splits a character: every piece is valid UTF-8 by construction of &str.
        assert_eq!(escape_text("a\\b;c,d\r\ne\nf"), "a\\\\b\\;c\\,d\\ne\\nf");
        let mut out = String::new();
        content_line(&mut out, &"é".repeat(80));
        assert!(out.split("\r\n").all(|l| l.len() <= 75));
        assert_eq!(out.replace("\r\n ", ""), format!("{}\r\n", "é".repeat(80)));
    }

    fn event(kind: ConcertationKind, occurrences: i64, p: Participants) -> NewConcertationEvent {
        NewConcertationEvent {
            kind,
            title: kind.label().into(),
            start: d("2025-01-06"),
            end: Some(d("2025-03-31")),
            occurrences,
            communes: vec![],
            commune_count: None,
            participants: p,
            themes: vec![],
            note: None,
        }
    }

    #[test]
    fn concertation_totals_by_category_and_kind() {
        let events = vec![
            event(ConcertationKind::Interview, 4, Participants::default()),
            event(ConcertationKind::FocusGroup, 18, Participants { inhabitants: Some(174), ..Participants::default() }),
            event(ConcertationKind::WorkingGroup, 4, Participants { partners: Some(104), ..Participants::default() }),
            event(ConcertationKind::Seminar, 1, Participants { elected: Some(50), ..Participants::default() }),
            event(
                ConcertationKind::ParticipatorySession,
                4,
                Participants { total: Some(100), approximate: true, ..Participants::default() },
            ),
        ];
        for e in &events {
            assert!(e.clone().check().is_ok());
        }
        let all = totals_by_category(&events);
        assert_eq!((all.inhabitants, all.elected, all.partners, all.unattributed), (174, 50, 104, 100));
        assert_eq!(all.all(), 428);
        assert!(all.approximate);
        let by_kind = totals_by_kind(&events);
        assert_eq!(by_kind.len(), 5);
        assert_eq!(by_kind[1].kind, ConcertationKind::FocusGroup);
        assert_eq!((by_kind[1].events, by_kind[1].participants.inhabitants), (18, 174));
        assert!(!by_kind[1].participants.approximate);
        assert_eq!((by_kind[0].events, by_kind[0].participants.all()), (4, 0));
        assert!(by_kind[4].participants.approximate);
        assert_eq!(by_kind.iter().map(|k| k.events).sum::<i64>(), 31);
        // A total below its categories, or a period that ends before it starts, is refused.
        let wrong = event(
            ConcertationKind::Seminar,
            1,
            Participants { elected: Some(50), total: Some(20), ..Participants::default() },
        );
        assert!(wrong.check().unwrap_err().to_string().contains("inférieur"));
        let mut backwards = event(ConcertationKind::Seminar, 1, Participants::default());
        backwards.end = Some(d("2024-12-31"));
        assert!(backwards.check().is_err());
        let c = NewContribution {
            text: " Plus de places en crèche ".into(),
            author: Some(ParticipantCategory::Inhabitants),
            theme: Some("petite enfance".into()),
            ambitions: vec![1, 1],
            fiches: vec![],
        }
        .check()
        .unwrap();
        assert_eq!(
            (c.text.as_str(), c.ambitions.as_slice(), c.is_answered()),
            ("Plus de places en crèche", &[1][..], true)
        );
    }

    #[test]
    fn posts_have_a_share_of_a_full_time_and_a_funder_for_an_amount() {
        let p = NewPost {
            person: Some("Claire Martin".into()),
            employer: "CABBALR".into(),
            fte_hundredths: 80,
            start: d("2026-01-01"),
            end: Some(d("2030-12-31")),
            funding: "Au titre du pilotage de la CTG".into(),
            amount_cents: None,
            funder: None,
        }
        .check()
        .unwrap();
        assert!(p.is_active_on(d("2030-12-31")) && !p.is_active_on(d("2031-01-01")));
        assert!(NewPost { fte_hundredths: 120, ..p.clone() }.check().is_err());
        assert!(NewPost { amount_cents: Some(100), ..p.clone() }
            .check()
            .unwrap_err()
            .to_string()
            .contains("financeur"));
        let posts = [
            Post { id: 1, version: 1, data: p.clone() },
            Post { id: 2, version: 1, data: NewPost { start: d("2027-01-01"), fte_hundredths: 50, ..p } },
        ];
        assert_eq!((fte_on(&posts, d("2026-06-01"), None), fte_on(&posts, d("2027-06-01"), None)), (80, 130));
        // Art. 13: terminated on 1 June 2027, no post runs from that day; each was meant to, so each stops.
        let stop = crate::life::Stop::of(Some(d("2027-06-01")));
        assert_eq!((fte_on(&posts, d("2027-05-31"), stop), fte_on(&posts, d("2027-06-01"), stop)), (130, 0));
        assert!(posts.iter().all(|p| p.data.stopped_by(stop)));
        assert!(posts.iter().all(|p| !p.data.stopped_by(crate::life::Stop::of(Some(d("2040-01-01"))))));
    }
}
