//! One meeting: agenda, attendance, decisions, minutes, documents and preparation pack.

#[allow(unused_imports)]
use super::*;

// One meeting

pub(crate) struct AgendaLine {
    pub title: String,
    /// (address, label); an empty address for a target the reader may not open.
    pub links: Vec<(String, String)>,
}

pub(crate) struct AttendanceLine {
    pub member_id: i64,
    pub name: String,
    pub organisation: String,
    pub role: &'static str,
    pub status: String,
    pub status_label: String,
    pub represented_by: String,
}

pub(crate) struct DecisionLine {
    pub id: i64,
    pub version: i64,
    pub text: String,
    pub fiches: Vec<(String, String)>,
    pub follow_up: String,
    pub due: String,
    pub open: bool,
    pub status: String,
    pub overdue: bool,
}

pub(crate) struct OpenLine {
    pub id: i64,
    pub version: i64,
    pub text: String,
    pub fiches: Vec<(String, String)>,
    pub follow_up: String,
    pub due: String,
    pub overdue: bool,
    pub late: String,
    pub body_id: i64,
    pub body_name: String,
    pub meeting_id: i64,
    pub meeting_date: String,
}

pub(super) fn open_line(o: &OpenDecision, plan: &Plan, id: i64) -> OpenLine {
    let d = &o.decision;
    OpenLine {
        id: d.id,
        version: d.version,
        text: d.data.text.clone(),
        fiches: fiche_links(plan, id, &d.data.fiches),
        follow_up: d.data.follow_up.clone(),
        due: date_or_dash(d.data.due),
        overdue: o.overdue,
        late: match o.days_overdue {
            0 => String::new(),
            1 => "en retard d'un jour".into(),
            n => format!("en retard de {n} jours"),
        },
        body_id: o.body_id,
        body_name: o.body_name.clone(),
        meeting_id: o.meeting_id,
        meeting_date: date_short(o.meeting_date),
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct AgendaFields {
    #[serde(default)]
    pub version: String,
    /// How many rows the grid had.
    #[serde(default)]
    pub rows: String,
    /// `ajouter` adds an empty row and shows the grid again, saving nothing.
    #[serde(default)]
    pub action: String,
    /// Row `N`: `titre_N`, `fiches_N` (codes), `indicateur_N` and `document_N` (ids, or empty).
    #[serde(flatten)]
    pub cells: BTreeMap<String, String>,
}

/// A row of the agenda grid, as typed or as stored.
#[derive(Debug, Clone, Default)]
pub(crate) struct AgendaRow {
    pub index: usize,
    pub title: String,
    pub fiches: String,
    pub indicator: String,
    pub document: String,
}

/// The most rows the agenda grid is read with.
const MAX_AGENDA_ROWS: usize = 200;

impl AgendaFields {
    /// The rows as typed (and one more, empty, after « Ajouter un point »).
    fn rows(&self) -> Vec<AgendaRow> {
        let n: usize = self.rows.trim().parse().unwrap_or(0).min(MAX_AGENDA_ROWS);
        let cell = |k: String| self.cells.get(&k).cloned().unwrap_or_default();
        let mut rows: Vec<AgendaRow> = (0..n)
            .map(|i| AgendaRow {
                index: i,
                title: cell(format!("titre_{i}")),
                fiches: cell(format!("fiches_{i}")),
                indicator: cell(format!("indicateur_{i}")),
                document: cell(format!("document_{i}")),
            })
            .collect();
        if self.action == "ajouter" {
            rows.push(AgendaRow { index: n, ..AgendaRow::default() });
        }
        rows
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct MinutesFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub minutes: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct DecisionFields {
    #[serde(default)]
    pub decision_text: String,
    #[serde(default)]
    pub decision_fiches: String,
    #[serde(default)]
    pub decision_follow_up: String,
    #[serde(default)]
    pub decision_due: String,
}

/// What a failed form of the meeting page brings back: what was typed.
#[derive(Default)]
pub(super) struct MeetingDraft {
    meeting: Option<MeetingFields>,
    agenda: Option<Vec<AgendaRow>>,
    minutes: Option<String>,
    decision: DecisionFields,
}

#[derive(Template)]
#[template(path = "governance_meeting.html")]
pub(super) struct MeetingPage {
    nav: Nav,
    id: i64,
    title: String,
    meeting_id: i64,
    version: i64,
    body_id: i64,
    body_name: String,
    heading: String,
    facts: Vec<(&'static str, String)>,
    video_link: String,
    can_manage: bool,
    sees_names: bool,
    agenda: Vec<AgendaLine>,
    agenda_rows: Vec<AgendaRow>,
    /// The agenda's grid is open: no agenda yet, or it comes back from its form.
    agenda_open: bool,
    indicators: Vec<(String, String)>,
    /// The documents an agenda item may name: (id, name).
    agenda_documents: Vec<(String, String)>,
    invited: Vec<AttendanceLine>,
    attendance_summary: String,
    statuses: Vec<(String, String)>,
    decisions: Vec<DecisionLine>,
    decision_form: DecisionFields,
    fiche_hint: String,
    minutes: String,
    minutes_text: String,
    documents: Option<Vec<DocumentLine>>,
    today: String,
    today_iso: String,
    overall: Gauge,
    ambitions: Vec<(i64, String, Gauge)>,
    late: Vec<(String, String, String)>,
    open_decisions: Vec<OpenLine>,
    meeting_form: MeetingFields,
    errors: FormErrors,
}

/// The agenda as the grid shows it: one row per item (its first indicator and document; an item
/// names at most one of each through the page), and an empty row to add one.
fn agenda_rows(plan: &Plan, agenda: &[AgendaItem]) -> Vec<AgendaRow> {
    let mut rows: Vec<AgendaRow> = agenda
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let fiches: Vec<i64> =
                item.links.iter().filter_map(|l| if let AgendaLink::Fiche(f) = l { Some(*f) } else { None }).collect();
            let first = |pick: fn(&AgendaLink) -> Option<i64>| {
                item.links.iter().find_map(pick).map(|i| i.to_string()).unwrap_or_default()
            };
            AgendaRow {
                index,
                title: item.title.clone(),
                fiches: codes_of(plan, &fiches),
                indicator: first(|l| if let AgendaLink::Indicator(i) = l { Some(*i) } else { None }),
                document: first(|l| if let AgendaLink::Document(d) = l { Some(*d) } else { None }),
            }
        })
        .collect();
    rows.push(AgendaRow { index: rows.len(), ..AgendaRow::default() });
    rows
}

/// Reads the agenda grid; a row left blank is ignored, a problem names its cell and its row.
fn read_agenda(plan: &Plan, rows: &[AgendaRow], errors: &mut FormErrors) -> Vec<AgendaItem> {
    let mut items = Vec::new();
    for r in rows {
        let (i, n) = (r.index, r.index + 1);
        let (title, fiches, indicator, document) =
            (r.title.trim(), r.fiches.trim(), r.indicator.trim(), r.document.trim());
        if [title, fiches, indicator, document].iter().all(|c| c.is_empty()) {
            continue;
        }
        if title.is_empty() {
            errors.add(&format!("titre_{i}"), format!("point {n} : l'intitulé du point manque"));
        }
        let mut links = Vec::new();
        if !fiches.is_empty() {
            match fiches_by_code(plan, fiches) {
                Ok(ids) => links.extend(ids.into_iter().map(AgendaLink::Fiche)),
                Err(m) => errors.add(&format!("fiches_{i}"), format!("point {n} : {m}")),
            }
        }
        if !indicator.is_empty() {
            match indicator.parse::<i64>().ok().filter(|x| plan.indicators.iter().any(|p| p.id == *x)) {
                Some(x) => links.push(AgendaLink::Indicator(x)),
                None => errors.add(&format!("indicateur_{i}"), format!("point {n} : indicateur inconnu")),
            }
        }
        if !document.is_empty() {
            match document.parse::<i64>().ok().filter(|d| *d > 0) {
                Some(d) => links.push(AgendaLink::Document(d)),
                None => errors.add(&format!("document_{i}"), format!("point {n} : document inconnu")),
            }
        }
        if !title.is_empty() {
            items.push(AgendaItem { title: title.to_owned(), links });
        }
    }
    items
}

pub(super) async fn meeting_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    mid: i64,
    draft: MeetingDraft,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let page = build_meeting_page(state, auth, id, mid, draft, errors).await?;
    Ok((status, Html(page.render()?)).into_response())
}

/// The preparation pack of a meeting, a page of its own made to print (or to save as PDF from the
/// browser): no navigation, the meeting, its agenda, the state of the plan and the open decisions.
#[derive(Template)]
#[template(path = "meeting_pack.html")]
pub(super) struct MeetingPackPage {
    id: i64,
    title: String,
    meeting_id: i64,
    heading: String,
    facts: Vec<(&'static str, String)>,
    video_link: String,
    agenda: Vec<AgendaLine>,
    today: String,
    overall: Gauge,
    ambitions: Vec<(i64, String, Gauge)>,
    late: Vec<(String, String, String)>,
    open_decisions: Vec<OpenLine>,
}

/// The preparation pack of a meeting as a page to print (`/conventions/{id}/seances/{s}/dossier`).
pub async fn meeting_pack_page(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let p = build_meeting_page(&state, &auth, id, mid, MeetingDraft::default(), FormErrors::new()).await?;
    let page = MeetingPackPage {
        id: p.id,
        title: p.title,
        meeting_id: p.meeting_id,
        heading: p.heading,
        facts: p.facts,
        video_link: p.video_link,
        agenda: p.agenda,
        today: p.today,
        overall: p.overall,
        ambitions: p.ambitions,
        late: p.late,
        open_decisions: p.open_decisions,
    };
    Ok(Html(page.render()?).into_response())
}

/// One meeting as an iCalendar file (`.ics`), to add it to a diary.
pub async fn meeting_calendar(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let meeting = state.store.meeting(id, mid).await?;
    let body = state.store.body(id, meeting.body_id).await?;
    let ics = ctg_domain::governance::icalendar(&body.body.name, std::slice::from_ref(&meeting), Utc::now());
    let file = format!(
        "seance-{}-{}.ics",
        meeting.data.date,
        calendar_file(&body.body.name).trim_start_matches("calendrier-").trim_end_matches(".ics")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file}\"")),
            (header::CACHE_CONTROL, "no-cache".to_owned()),
        ],
        ics,
    )
        .into_response())
}

async fn build_meeting_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    mid: i64,
    draft: MeetingDraft,
    errors: FormErrors,
) -> Result<MeetingPage, PageError> {
    let meeting = state.store.meeting(id, mid).await?;
    let body = state.store.body(id, meeting.body_id).await?;
    let v = PlanView::load(state, id).await?;
    let today = state.today();
    let sees_names = state.sees_personal_data(auth, id).await;
    let can_manage = state.may(auth, Action::ManageGovernance, Some(id)).await;
    let d = &meeting.data;

    let mut document_names: HashMap<i64, String> = HashMap::new();
    let documents = if sees_names {
        let list = state.store.documents(id, Owner::Meeting(mid)).await?;
        for doc in &list {
            document_names.insert(doc.id, doc.name.clone());
        }
        Some(list.iter().map(DocumentLine::of).collect::<Vec<_>>())
    } else {
        None
    };
    let mut agenda_documents: Vec<(String, String)> =
        document_names.iter().map(|(d, name)| (d.to_string(), name.clone())).collect();
    agenda_documents.sort();
    let mut agenda = Vec::new();
    for item in &meeting.agenda {
        let mut links = Vec::new();
        for l in &item.links {
            links.push(match *l {
                AgendaLink::Fiche(f) => fiche_links(&v.plan, id, &[f]).remove(0),
                AgendaLink::Indicator(i) => (
                    format!("/conventions/{id}/plan/indicateurs/{i}"),
                    v.plan
                        .indicators
                        .iter()
                        .find(|x| x.id == i)
                        .map_or_else(|| format!("Indicateur n° {i}"), |x| format!("Indicateur : {}", x.indicator.name)),
                ),
                AgendaLink::Document(doc) if sees_names => {
                    let name = match document_names.get(&doc) {
                        Some(n) => n.clone(),
                        None => match state.store.document(id, doc).await {
                            Ok((info, _)) => info.name,
                            Err(_) => format!("n° {doc}"),
                        },
                    };
                    (format!("/conventions/{id}/documents/{doc}"), format!("Document : {name}"))
                }
                AgendaLink::Document(doc) => {
                    (String::new(), format!("Document n° {doc} (réservé aux membres de la convention)"))
                }
            });
        }
        agenda.push(AgendaLine { title: item.title.clone(), links });
    }

    // The members current on the day of the meeting may be invited; with no invitation recorded yet,
    // all of them are proposed as invited.
    let fresh = meeting.attendance.is_empty();
    let invited = if sees_names {
        body.members
            .iter()
            .filter(|m| m.is_current(d.date) || meeting.attendance.iter().any(|a| a.member_id == m.id))
            .map(|m| {
                let a = meeting.attendance.iter().find(|a| a.member_id == m.id);
                let status = match a {
                    Some(a) => a.status.code().to_owned(),
                    None if fresh => AttendanceStatus::Invited.code().to_owned(),
                    None => String::new(),
                };
                AttendanceLine {
                    member_id: m.id,
                    name: m.data.name.clone(),
                    organisation: m.data.organisation.clone(),
                    role: m.data.role.label(),
                    status_label: a.map_or_else(|| "non invité(e)".to_owned(), |a| a.status.label().to_owned()),
                    status,
                    represented_by: a.and_then(|a| a.represented_by.clone()).unwrap_or_default(),
                }
            })
            .collect()
    } else {
        Vec::new()
    };

    let decisions = meeting
        .decisions
        .iter()
        .map(|x| DecisionLine {
            id: x.id,
            version: x.version,
            text: x.data.text.clone(),
            fiches: fiche_links(&v.plan, id, &x.data.fiches),
            follow_up: x.data.follow_up.clone(),
            due: date_or_dash(x.data.due),
            open: x.closed_on.is_none(),
            status: match x.closed_on {
                Some(c) => format!("close le {}", date_short(c)),
                None if x.is_overdue_on(today) => "ouverte, échéance dépassée".into(),
                None => "ouverte".into(),
            },
            overdue: x.is_overdue_on(today),
        })
        .collect();

    let open = state.store.open_decisions(id, today).await?;
    let heading = match &d.title {
        Some(t) => format!("{} : {t}", body.body.name),
        None => format!("{} du {}", body.body.name, date_long(d.date)),
    };
    let mut facts = vec![
        ("Instance", body.body.name.clone()),
        ("Date", date_long(d.date)),
        ("Horaire", format!("de {} à {}", time_text(d.start), time_text(d.end))),
        (
            "Lieu",
            d.place.clone().unwrap_or_else(|| {
                if d.video_link.is_some() {
                    "en visioconférence".into()
                } else {
                    "à préciser".into()
                }
            }),
        ),
    ];
    if let Some(t) = &d.title {
        facts.insert(0, ("Objet", t.clone()));
    }
    let agenda_open = meeting.agenda.is_empty() || draft.agenda.is_some();
    let agenda_rows = draft.agenda.unwrap_or_else(|| agenda_rows(&v.plan, &meeting.agenda));
    // A document an item names that is not one of the meeting's stays offered, by its number.
    for r in &agenda_rows {
        if !r.document.is_empty() && !agenda_documents.iter().any(|(d, _)| *d == r.document) {
            agenda_documents.push((r.document.clone(), format!("Document n° {}", r.document)));
        }
    }
    let page = MeetingPage {
        nav: Nav::of(auth),
        id,
        title: v.convention.title.clone(),
        meeting_id: mid,
        version: meeting.version,
        body_id: body.id,
        body_name: body.body.name.clone(),
        heading,
        facts,
        video_link: d.video_link.clone().unwrap_or_default(),
        can_manage,
        sees_names,
        agenda,
        agenda_open,
        agenda_rows,
        indicators: v
            .plan
            .indicators
            .iter()
            .map(|i| {
                let fiche =
                    i.fiche_id.and_then(|f| v.plan.fiches.iter().find(|x| x.id == f)).map(|f| f.fiche.code.clone());
                let label = match fiche {
                    Some(code) => format!("{} ({code})", i.indicator.name),
                    None => i.indicator.name.clone(),
                };
                (i.id.to_string(), label)
            })
            .collect(),
        agenda_documents,
        invited,
        attendance_summary: if sees_names && !meeting.attendance.is_empty() {
            meeting.attendance_summary().label()
        } else {
            String::new()
        },
        statuses: std::iter::once((String::new(), "Non invité(e)".to_owned()))
            .chain(AttendanceStatus::ALL.iter().map(|s| (s.code().to_owned(), s.label().to_owned())))
            .collect(),
        decisions,
        decision_form: draft.decision,
        fiche_hint: fiche_hint(&v.plan),
        minutes: if sees_names { meeting.minutes.clone().unwrap_or_default() } else { String::new() },
        minutes_text: draft.minutes.unwrap_or_else(|| meeting.minutes.clone().unwrap_or_default()),
        documents,
        today: date_short(today),
        today_iso: today.max(d.date).to_string(),
        overall: gauge(v.overall),
        ambitions: v
            .plan
            .stakes
            .iter()
            .flat_map(|(_, _, a)| a.iter())
            .map(|(n, t)| (*n, t.clone(), gauge(v.ambition_progress.get(n).copied().flatten())))
            .collect(),
        late: v
            .lateness()
            .iter()
            .map(|(link, l)| {
                let (what, why) = crate::plan::lateness_text(l);
                (link.clone(), what, why)
            })
            .collect(),
        open_decisions: open.iter().map(|o| open_line(o, &v.plan, id)).collect(),
        meeting_form: draft.meeting.unwrap_or_else(|| MeetingFields::of(&meeting)),
        errors,
    };
    Ok(page)
}

/// A meeting: when and where, agenda, attendance, decisions, minutes, documents and the preparation
/// pack.
pub async fn meeting(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    meeting_page(&state, &auth, id, mid, MeetingDraft::default(), FormErrors::new(), StatusCode::OK).await
}

/// The checks every write of the meeting page starts with: the right, the CSRF token, the meeting
/// of this convention.
pub(super) async fn meeting_write(state: &AppState, auth: &Auth, id: i64, mid: i64) -> Result<(i64, i64), WebError> {
    state.authorize_write(auth, Action::ManageGovernance, Some(id)).await?;
    state.store.meeting(id, mid).await?;
    Ok((id, mid))
}

pub(super) fn back_to_meeting(id: i64, mid: i64, anchor: &str) -> Response {
    let message = match anchor {
        "seance" => "Séance enregistrée",
        "ordre-du-jour" => "Ordre du jour enregistré",
        "presences" => "Présences enregistrées",
        "compte-rendu" => "Compte rendu enregistré",
        "decisions" => "Décision enregistrée",
        "documents" => "Document joint à la séance",
        _ => "Modification enregistrée",
    };
    crate::flash::redirect(&format!("/conventions/{id}/seances/{mid}#{anchor}"), message)
}

/// Changes when and where a meeting is held, from the version read.
pub async fn meeting_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<MeetingFields>,
) -> Result<Response, PageError> {
    let (id, mid) = meeting_write(&state, &auth, id, mid).await?;
    let mut errors = FormErrors::new();
    let version: i64 = Version::parse(&form.version)?;
    let Some(meeting) = form.to_meeting(&mut errors) else {
        let draft = MeetingDraft { meeting: Some(form), ..MeetingDraft::default() };
        return meeting_page(&state, &auth, id, mid, draft, errors, StatusCode::BAD_REQUEST).await;
    };
    match state.store.update_meeting(&auth.actor(Channel::Page), id, mid, version, meeting).await {
        Ok(_) => Ok(back_to_meeting(id, mid, "seance")),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            let fresh = state.store.meeting(id, mid).await?.version.to_string();
            let draft =
                MeetingDraft { meeting: Some(MeetingFields { version: fresh, ..form }), ..MeetingDraft::default() };
            meeting_page(&state, &auth, id, mid, draft, errors, status).await
        }
    }
}

/// Replaces the agenda of a meeting, from the meeting's version read.
pub async fn agenda_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<AgendaFields>,
) -> Result<Response, PageError> {
    let (id, mid) = meeting_write(&state, &auth, id, mid).await?;
    let plan = state.store.plan(id).await?;
    let mut errors = FormErrors::new();
    let rows = form.rows();
    let draft = || MeetingDraft { agenda: Some(rows.clone()), ..MeetingDraft::default() };
    if form.action == "ajouter" {
        // A row more, everything typed kept (checked when saved), nothing saved yet.
        return meeting_page(&state, &auth, id, mid, draft(), errors, StatusCode::OK).await;
    }
    let items = read_agenda(&plan, &rows, &mut errors);
    if !errors.is_empty() {
        return meeting_page(&state, &auth, id, mid, draft(), errors, StatusCode::BAD_REQUEST).await;
    }
    let version: i64 = Version::parse(&form.version)?;
    match state.store.set_agenda(&auth.actor(Channel::Page), id, mid, version, &items).await {
        Ok(_) => Ok(back_to_meeting(id, mid, "ordre-du-jour")),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            meeting_page(&state, &auth, id, mid, draft(), errors, status).await
        }
    }
}

/// Replaces the invitations and answers of a meeting: `presence-<member>` (empty: not invited) and
/// `represente-<member>` for each member, with the meeting's version read.
pub async fn attendance_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let (id, mid) = meeting_write(&state, &auth, id, mid).await?;
    let meeting = state.store.meeting(id, mid).await?;
    let body = state.store.body(id, meeting.body_id).await?;
    let mut errors = FormErrors::new();
    let mut list = Vec::new();
    let mut keys: Vec<(&String, &String)> = form.iter().filter(|(k, _)| k.starts_with("presence-")).collect();
    keys.sort();
    for (key, value) in keys {
        let Some(member_id) = key.strip_prefix("presence-").and_then(|m| m.parse::<i64>().ok()) else { continue };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let name = body
            .members
            .iter()
            .find(|m| m.id == member_id)
            .map_or_else(|| format!("n° {member_id}"), |m| m.data.name.clone());
        let Ok(status) = AttendanceStatus::parse(value) else {
            errors.add(key, format!("{name} : présence inconnue « {value} »"));
            continue;
        };
        let by = form.get(&format!("represente-{member_id}")).map(|s| s.trim()).unwrap_or_default();
        let represented_by = match status {
            AttendanceStatus::Represented if by.is_empty() => {
                errors.add(&format!("represente-{member_id}"), format!("{name} : précisez qui le ou la représente"));
                continue;
            }
            AttendanceStatus::Represented => Some(by.to_owned()),
            _ => None,
        };
        list.push(Attendance { member_id, status, represented_by });
    }
    if !errors.is_empty() {
        return meeting_page(&state, &auth, id, mid, MeetingDraft::default(), errors, StatusCode::BAD_REQUEST).await;
    }
    let version: i64 = Version::parse(form.get("version").map(String::as_str).unwrap_or_default())?;
    match state.store.set_attendance(&auth.actor(Channel::Page), id, mid, version, &list).await {
        Ok(_) => Ok(back_to_meeting(id, mid, "presences")),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            meeting_page(&state, &auth, id, mid, MeetingDraft::default(), errors, status).await
        }
    }
}

/// Writes (or clears) the minutes of a meeting, from the meeting's version read.
pub async fn minutes_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<MinutesFields>,
) -> Result<Response, PageError> {
    let (id, mid) = meeting_write(&state, &auth, id, mid).await?;
    let version: i64 = Version::parse(&form.version)?;
    match state.store.set_minutes(&auth.actor(Channel::Page), id, mid, version, Some(&form.minutes)).await {
        Ok(_) => Ok(back_to_meeting(id, mid, "compte-rendu")),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            let draft = MeetingDraft { minutes: Some(form.minutes), ..MeetingDraft::default() };
            meeting_page(&state, &auth, id, mid, draft, errors, status).await
        }
    }
}

/// Records a decision of the meeting, on the fiches it concerns.
pub async fn decision_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<DecisionFields>,
) -> Result<Response, PageError> {
    let (id, mid) = meeting_write(&state, &auth, id, mid).await?;
    let plan = state.store.plan(id).await?;
    let mut errors = FormErrors::new();
    if form.decision_text.trim().is_empty() {
        errors.add("decision_text", "le texte de la décision est obligatoire");
    }
    let fiches = fiches_by_code(&plan, &form.decision_fiches).map_err(|m| errors.add("decision_fiches", m)).ok();
    let due = form_date(&mut errors, "decision_due", &form.decision_due);
    let draft = |f: DecisionFields| MeetingDraft { decision: f, ..MeetingDraft::default() };
    let (true, Some(fiches)) = (errors.is_empty(), fiches) else {
        return meeting_page(&state, &auth, id, mid, draft(form), errors, StatusCode::BAD_REQUEST).await;
    };
    let decision = NewDecision {
        text: form.decision_text.trim().to_owned(),
        fiches,
        follow_up: form.decision_follow_up.trim().to_owned(),
        due,
    };
    match state.store.add_decision(&auth.actor(Channel::Page), id, mid, decision).await {
        Ok(_) => Ok(back_to_meeting(id, mid, "decisions")),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            meeting_page(&state, &auth, id, mid, draft(form), errors, status).await
        }
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct CloseFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub closed_on: String,
    /// `decisions` to come back to the open decisions; the meeting page otherwise.
    #[serde(default)]
    pub suite: String,
}

/// Closes a decision, from the version read, on the day given (today by default).
pub async fn decision_close(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, did)): Ids<(i64, i64)>,
    PageForm(form): PageForm<CloseFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    let mid = state
        .store
        .meetings(id)
        .await?
        .into_iter()
        .find(|m| m.decisions.iter().any(|d| d.id == did))
        .map(|m| m.id)
        .ok_or_else(|| WebError::NotFound(format!("la décision n° {did} de cette convention n'existe pas")))?;
    let mut errors = FormErrors::new();
    let closed_on = form_date(&mut errors, "closed_on", &form.closed_on).unwrap_or_else(|| state.today());
    let to_list = form.suite == "decisions";
    let result = if errors.is_empty() {
        let version: i64 = Version::parse(&form.version)?;
        state.store.close_decision(&auth.actor(Channel::Page), id, did, version, closed_on).await.map(|_| ())
    } else {
        Err(StoreError::Invalid(errors.get("closed_on").to_owned()))
    };
    match result {
        Ok(()) if to_list => Ok(crate::flash::redirect(&format!("/conventions/{id}/decisions"), "Décision close")),
        Ok(()) => Ok(back_to_meeting(id, mid, "decisions")),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            if to_list {
                decisions_page(&state, &auth, id, ExportQuery::default(), errors, status).await
            } else {
                meeting_page(&state, &auth, id, mid, MeetingDraft::default(), errors, status).await
            }
        }
    }
}

/// Attaches a document to a meeting (the coordination).
pub async fn meeting_upload(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, mid)): Ids<(i64, i64)>,
    multipart: Multipart,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewDocuments, Some(id)).await?;
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    state.store.meeting(id, mid).await?;
    let (name, bytes) = read_upload(multipart, "document", "choisissez un fichier").await?;
    match state.store.add_document(&auth.actor(Channel::Page), id, Owner::Meeting(mid), &name, &bytes).await {
        Ok(_) => Ok(back_to_meeting(id, mid, "documents")),
        Err(StoreError::Invalid(m)) => Err(WebError::BadRequest(m).into()),
        Err(e) => Err(WebError::from(e).into()),
    }
}

// ---------------------------------------------------------------------------------------------
