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
    #[serde(default)]
    pub agenda: String,
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
    agenda: Option<String>,
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
    agenda_text: String,
    indicators: Vec<(i64, String)>,
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

/// The agenda as typed in its form: one line per item, `title ; PE-1 ; indicateur 3 ; document 5`.
pub(super) fn agenda_text(plan: &Plan, agenda: &[AgendaItem]) -> String {
    agenda
        .iter()
        .map(|item| {
            let mut parts = vec![item.title.clone()];
            for l in &item.links {
                parts.push(match l {
                    AgendaLink::Fiche(f) => codes_of(plan, &[*f]),
                    AgendaLink::Indicator(i) => format!("indicateur {i}"),
                    AgendaLink::Document(d) => format!("document {d}"),
                });
            }
            parts.join(" ; ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads the agenda typed one item per line; the problems name their line.
pub(super) fn parse_agenda(plan: &Plan, raw: &str, errors: &mut FormErrors) -> Vec<AgendaItem> {
    let mut items = Vec::new();
    for (n, line) in raw.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let n = n + 1;
        let mut parts = line.split(';').map(str::trim);
        let title = parts.next().unwrap_or_default().to_owned();
        if title.is_empty() {
            errors.add("agenda", format!("ligne {n} : l'intitulé du point manque"));
            continue;
        }
        let mut links = Vec::new();
        for token in parts.filter(|t| !t.is_empty()) {
            let lower = token.to_lowercase();
            let number = || token.chars().filter(char::is_ascii_digit).collect::<String>().parse::<i64>().ok();
            if lower.starts_with("indicateur") {
                match number().filter(|i| plan.indicators.iter().any(|x| x.id == *i)) {
                    Some(i) => links.push(AgendaLink::Indicator(i)),
                    None => errors.add("agenda", format!("ligne {n} : indicateur inconnu « {token} »")),
                }
            } else if lower.starts_with("document") {
                match number() {
                    Some(d) => links.push(AgendaLink::Document(d)),
                    None => errors.add("agenda", format!("ligne {n} : document inconnu « {token} »")),
                }
            } else {
                match fiches_by_code(plan, token) {
                    Ok(ids) => links.extend(ids.into_iter().map(AgendaLink::Fiche)),
                    Err(m) => errors.add("agenda", format!("ligne {n} : {m}")),
                }
            }
        }
        items.push(AgendaItem { title, links });
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
        agenda_text: draft.agenda.unwrap_or_else(|| agenda_text(&v.plan, &meeting.agenda)),
        indicators: v.plan.indicators.iter().map(|i| (i.id, i.indicator.name.clone())).collect(),
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
    Ok((status, Html(page.render()?)).into_response())
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
    let items = parse_agenda(&plan, &form.agenda, &mut errors);
    let draft = || MeetingDraft { agenda: Some(form.agenda.clone()), ..MeetingDraft::default() };
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
