//! Bodies and their members, and one body with its meetings.

#[allow(unused_imports)]
use super::*;

// Bodies and members

#[derive(Debug, Default, Clone, Deserialize)]
pub struct BodyFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

impl BodyFields {
    fn of(b: &BodyRecord) -> Self {
        Self {
            version: b.version.to_string(),
            kind: b.body.kind.code().to_owned(),
            name: b.body.name.clone(),
            description: b.body.description.clone().unwrap_or_default(),
        }
    }

    fn to_body(&self, errors: &mut FormErrors) -> Option<Body> {
        let kind = BodyKind::parse(self.kind.trim())
            .map_err(|_| errors.add("kind", "choisissez la nature de l'instance"))
            .ok();
        if self.name.trim().is_empty() {
            errors.add("name", "le nom de l'instance est obligatoire");
        }
        (errors.is_empty()).then(|| Body {
            kind: kind.unwrap_or(BodyKind::ThematicCommission),
            name: self.name.trim().to_owned(),
            description: opt_text(&self.description),
        })
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct MemberFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub organisation: String,
    #[serde(default)]
    pub function: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub joined: String,
    #[serde(default)]
    pub left: String,
}

impl MemberFields {
    fn of(m: &Member) -> Self {
        Self {
            version: m.version.to_string(),
            name: m.data.name.clone(),
            organisation: m.data.organisation.clone(),
            function: m.data.function.clone(),
            role: m.data.role.code().to_owned(),
            joined: m.data.joined.to_string(),
            left: date_iso(m.data.left),
        }
    }

    /// The member typed; errors are keyed by `prefix` + the field (the element ids of its form).
    fn to_member(&self, prefix: &str, errors: &mut FormErrors) -> Option<NewMember> {
        let key = |f: &str| format!("{prefix}{f}");
        if self.name.trim().is_empty() {
            errors.add(&key("nom"), "le nom du membre est obligatoire");
        }
        let role = MemberRole::parse(if self.role.trim().is_empty() { "membre" } else { self.role.trim() })
            .map_err(|e| errors.add(&key("role"), e.to_string()))
            .ok();
        let joined = form_date(errors, &key("arrivee"), &self.joined);
        if joined.is_none() && self.joined.trim().is_empty() {
            errors.add(&key("arrivee"), "la date d'arrivée est obligatoire");
        }
        let left = form_date(errors, &key("depart"), &self.left);
        if let (Some(j), Some(l)) = (joined, left) {
            if l < j {
                errors.add(&key("depart"), "la date de départ précède la date d'arrivée");
            }
        }
        if !errors.is_empty() {
            return None;
        }
        Some(NewMember {
            name: self.name.trim().to_owned(),
            organisation: self.organisation.trim().to_owned(),
            function: self.function.trim().to_owned(),
            role: role?,
            joined: joined?,
            left,
        })
    }
}

pub(crate) struct MemberLine {
    pub id: i64,
    pub name: String,
    pub organisation: String,
    pub function: String,
    pub role: &'static str,
    pub period: String,
    pub form: MemberFields,
    pub open: bool,
}

pub(crate) struct BodyLine {
    pub id: i64,
    pub name: String,
    pub kind: &'static str,
    pub description: String,
    pub current_count: usize,
    pub current: Vec<MemberLine>,
    pub others: Vec<MemberLine>,
    pub meetings: usize,
    pub next_meeting: String,
    pub new_member: MemberFields,
    pub new_open: bool,
}

#[derive(Template)]
#[template(path = "governance_bodies.html")]
pub(super) struct BodiesPage {
    nav: Nav,
    id: i64,
    title: String,
    can_manage: bool,
    sees_names: bool,
    today: String,
    bodies: Vec<BodyLine>,
    kinds: Vec<(String, String)>,
    roles: Vec<(String, String)>,
    form: BodyFields,
    errors: FormErrors,
}

/// What a failed member form brings back to the page: the body (new member) or the member (edit),
/// with what was typed.
#[derive(Default)]
pub(super) struct MemberDraft {
    new_for_body: Option<(i64, MemberFields)>,
    edit: Option<(i64, MemberFields)>,
}

pub(super) fn member_line(m: &Member, draft: &MemberDraft) -> MemberLine {
    let d = &m.data;
    let period = match d.left {
        Some(left) => format!("du {} au {} (départ)", date_short(d.joined), date_short(left)),
        None => format!("depuis le {}", date_short(d.joined)),
    };
    let (form, open) = match &draft.edit {
        Some((mid, f)) if *mid == m.id => (f.clone(), true),
        _ => (MemberFields::of(m), false),
    };
    MemberLine {
        id: m.id,
        name: d.name.clone(),
        organisation: d.organisation.clone(),
        function: d.function.clone(),
        role: d.role.label(),
        period,
        form,
        open,
    }
}

pub(super) async fn bodies_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    form: BodyFields,
    draft: MemberDraft,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let summary = state.store.convention_summary(id).await?;
    let today = state.today();
    let sees_names = state.sees_personal_data(auth, id).await;
    let meetings = state.store.meetings(id).await?;
    let bodies = state
        .store
        .bodies(id)
        .await?
        .iter()
        .map(|b| {
            let of_body: Vec<&Meeting> = meetings.iter().filter(|m| m.body_id == b.id).collect();
            let next = of_body.iter().filter(|m| m.data.date >= today).min_by_key(|m| (m.data.starts_at(), m.id));
            let current: Vec<MemberLine> =
                b.members.iter().filter(|m| m.is_current(today)).map(|m| member_line(m, &draft)).collect();
            let (new_member, new_open) = match &draft.new_for_body {
                Some((bid, f)) if *bid == b.id => (f.clone(), true),
                _ => (
                    MemberFields { role: "membre".into(), joined: today.to_string(), ..MemberFields::default() },
                    false,
                ),
            };
            BodyLine {
                id: b.id,
                name: b.body.name.clone(),
                kind: b.body.kind.label(),
                description: b.body.description.clone().unwrap_or_default(),
                current_count: current.len(),
                current: if sees_names { current } else { Vec::new() },
                others: if sees_names {
                    b.members.iter().filter(|m| !m.is_current(today)).map(|m| member_line(m, &draft)).collect()
                } else {
                    Vec::new()
                },
                meetings: of_body.len(),
                next_meeting: next
                    .map(|m| format!("{} à {}", date_long(m.data.date), time_text(m.data.start)))
                    .unwrap_or_default(),
                new_member,
                new_open,
            }
        })
        .collect();
    let page = BodiesPage {
        nav: Nav::of(auth),
        id,
        title: summary.title,
        can_manage: state.may(auth, Action::ManageGovernance, Some(id)).await,
        sees_names,
        today: date_short(today),
        bodies,
        kinds: BodyKind::ALL.iter().map(|k| (k.code().to_owned(), k.label().to_owned())).collect(),
        roles: MemberRole::ALL.iter().map(|r| (r.code().to_owned(), r.label().to_owned())).collect(),
        form,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// The bodies of the convention and their current members.
pub async fn bodies(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let form = BodyFields { kind: BodyKind::ThematicCommission.code().into(), ..BodyFields::default() };
    bodies_page(&state, &auth, id, form, MemberDraft::default(), FormErrors::new(), StatusCode::OK).await
}

/// Adds a body (a thematic commission, say).
pub async fn body_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<BodyFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    let mut errors = FormErrors::new();
    let Some(body) = form.to_body(&mut errors) else {
        return bodies_page(&state, &auth, id, form, MemberDraft::default(), errors, StatusCode::BAD_REQUEST).await;
    };
    match state.store.add_body(&auth.actor(Channel::Page), id, &body).await {
        Ok(bid) => Ok(crate::flash::redirect(&format!("/conventions/{id}/instances/{bid}"), "Instance créée")),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            bodies_page(&state, &auth, id, form, MemberDraft::default(), errors, status).await
        }
    }
}

/// Adds a member to a body.
pub async fn member_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, bid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<MemberFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    state.store.body(id, bid).await?;
    let mut errors = FormErrors::new();
    let prefix = format!("nouveau-membre-{bid}-");
    let draft = |f: &MemberFields| MemberDraft { new_for_body: Some((bid, f.clone())), edit: None };
    let Some(member) = form.to_member(&prefix, &mut errors) else {
        return bodies_page(&state, &auth, id, BodyFields::default(), draft(&form), errors, StatusCode::BAD_REQUEST)
            .await;
    };
    match state.store.add_member(&auth.actor(Channel::Page), id, bid, member).await {
        Ok(_) => Ok(crate::flash::redirect(&format!("/conventions/{id}/instances#instance-{bid}"), "Membre ajouté")),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            bodies_page(&state, &auth, id, BodyFields::default(), draft(&form), errors, status).await
        }
    }
}

/// Changes a member (their leaving date, say), from the version read.
pub async fn member_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, bid, mid)): Ids<(i64, i64, i64)>,
    PageForm(form): PageForm<MemberFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    let body = state.store.body(id, bid).await?;
    if !body.members.iter().any(|m| m.id == mid) {
        return Err(WebError::NotFound(format!(
            "le membre n° {mid} n'appartient pas à l'instance « {} »",
            body.body.name
        ))
        .into());
    }
    let mut errors = FormErrors::new();
    let prefix = format!("membre-{mid}-");
    let version: i64 = Version::parse(&form.version)?;
    let Some(member) = form.to_member(&prefix, &mut errors) else {
        let draft = MemberDraft { new_for_body: None, edit: Some((mid, form)) };
        return bodies_page(&state, &auth, id, BodyFields::default(), draft, errors, StatusCode::BAD_REQUEST).await;
    };
    match state.store.update_member(&auth.actor(Channel::Page), id, mid, version, member).await {
        Ok(_) => {
            Ok(crate::flash::redirect(&format!("/conventions/{id}/instances#instance-{bid}"), "Membre mis à jour"))
        }
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            // After a conflict the form is shown again with the new version, what was typed kept.
            let fresh = state.store.body(id, bid).await?.members.into_iter().find(|m| m.id == mid).map(|m| m.version);
            let form = MemberFields { version: fresh.map_or(form.version.clone(), |v| v.to_string()), ..form };
            let draft = MemberDraft { new_for_body: None, edit: Some((mid, form)) };
            bodies_page(&state, &auth, id, BodyFields::default(), draft, errors, status).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// One body: its meetings

#[derive(Debug, Default, Clone, Deserialize)]
pub struct MeetingFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub end: String,
    #[serde(default)]
    pub place: String,
    #[serde(default)]
    pub video_link: String,
}

impl MeetingFields {
    pub(super) fn of(m: &Meeting) -> Self {
        Self {
            version: m.version.to_string(),
            title: m.data.title.clone().unwrap_or_default(),
            date: m.data.date.to_string(),
            start: m.data.start.format("%H:%M").to_string(),
            end: m.data.end.format("%H:%M").to_string(),
            place: m.data.place.clone().unwrap_or_default(),
            video_link: m.data.video_link.clone().unwrap_or_default(),
        }
    }

    pub(super) fn to_meeting(&self, errors: &mut FormErrors) -> Option<NewMeeting> {
        let date = form_date(errors, "date", &self.date);
        if date.is_none() && self.date.trim().is_empty() {
            errors.add("date", "la date de la séance est obligatoire");
        }
        let start = form_time(errors, "start", &self.start);
        let end = form_time(errors, "end", &self.end);
        if let (Some(s), Some(e)) = (start, end) {
            if e <= s {
                errors.add("end", "l'heure de fin doit suivre l'heure de début");
            }
        }
        let link = self.video_link.trim().to_lowercase();
        let is_address = link.starts_with("https://") || link.starts_with("http://");
        if !link.is_empty() && !is_address {
            errors.add("video_link", "le lien de visioconférence doit être une adresse https://");
        }
        if !errors.is_empty() {
            return None;
        }
        Some(NewMeeting {
            title: opt_text(&self.title),
            date: date?,
            start: start?,
            end: end?,
            place: opt_text(&self.place),
            video_link: opt_text(&self.video_link),
        })
    }
}

pub(crate) struct MeetingLine {
    pub id: i64,
    pub date: String,
    pub time: String,
    pub title: String,
    pub place: String,
    pub agenda: usize,
    pub decisions: String,
    pub attendance: String,
}

#[derive(Template)]
#[template(path = "governance_body.html")]
pub(super) struct BodyPage {
    nav: Nav,
    id: i64,
    title: String,
    body_id: i64,
    name: String,
    kind: &'static str,
    description: String,
    members: String,
    can_manage: bool,
    sees_names: bool,
    upcoming: Vec<MeetingLine>,
    past: Vec<MeetingLine>,
    calendar: String,
    kinds: Vec<(String, String)>,
    body_form: BodyFields,
    form: MeetingFields,
    errors: FormErrors,
}

pub(super) fn meeting_line(m: &Meeting, sees_names: bool) -> MeetingLine {
    let open = m.decisions.iter().filter(|d| d.closed_on.is_none()).count();
    MeetingLine {
        id: m.id,
        date: date_long(m.data.date),
        time: format!("de {} à {}", time_text(m.data.start), time_text(m.data.end)),
        title: m.data.title.clone().unwrap_or_default(),
        place: match (&m.data.place, &m.data.video_link) {
            (Some(p), Some(_)) => format!("{p} et en visioconférence"),
            (Some(p), None) => p.clone(),
            (None, Some(_)) => "en visioconférence".into(),
            (None, None) => "lieu à préciser".into(),
        },
        agenda: m.agenda.len(),
        decisions: if m.decisions.is_empty() {
            "aucune".into()
        } else {
            format!("{} dont {} ouverte{}", m.decisions.len(), open, if open > 1 { "s" } else { "" })
        },
        attendance: if sees_names && !m.attendance.is_empty() { m.attendance_summary().label() } else { String::new() },
    }
}

pub(super) async fn body_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    bid: i64,
    (body_form, form): (Option<BodyFields>, MeetingFields),
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let summary = state.store.convention_summary(id).await?;
    let body = state.store.body(id, bid).await?;
    let today = state.today();
    let sees_names = state.sees_personal_data(auth, id).await;
    let meetings = state.store.meetings_of_body(id, bid).await?;
    let current = body.current_members(today).len();
    let page = BodyPage {
        nav: Nav::of(auth),
        id,
        title: summary.title,
        body_id: bid,
        name: body.body.name.clone(),
        kind: body.body.kind.label(),
        description: body.body.description.clone().unwrap_or_default(),
        members: match current {
            0 => "aucun membre à ce jour".into(),
            1 => "1 membre à ce jour".into(),
            n => format!("{n} membres à ce jour"),
        },
        can_manage: state.may(auth, Action::ManageGovernance, Some(id)).await,
        sees_names,
        upcoming: meetings.iter().filter(|m| m.data.date >= today).map(|m| meeting_line(m, sees_names)).collect(),
        past: meetings.iter().rev().filter(|m| m.data.date < today).map(|m| meeting_line(m, sees_names)).collect(),
        calendar: format!("/conventions/{id}/instances/{bid}/calendrier.ics"),
        kinds: BodyKind::ALL.iter().map(|k| (k.code().to_owned(), k.label().to_owned())).collect(),
        body_form: body_form.unwrap_or_else(|| BodyFields::of(&body)),
        form,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

pub(super) fn new_meeting_fields() -> MeetingFields {
    MeetingFields { start: "14:00".into(), end: "16:00".into(), ..MeetingFields::default() }
}

/// A body, its meetings (to come, then past) and the link to their calendar.
pub async fn body(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, bid)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    body_page(&state, &auth, id, bid, (None, new_meeting_fields()), FormErrors::new(), StatusCode::OK).await
}

/// Renames a body, changes its kind or description, from the version read.
pub async fn body_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, bid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<BodyFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    state.store.body(id, bid).await?;
    let mut errors = FormErrors::new();
    let version: i64 = Version::parse(&form.version)?;
    let Some(body) = form.to_body(&mut errors) else {
        return body_page(&state, &auth, id, bid, (Some(form), new_meeting_fields()), errors, StatusCode::BAD_REQUEST)
            .await;
    };
    match state.store.update_body(&auth.actor(Channel::Page), id, bid, version, &body).await {
        Ok(_) => Ok(crate::flash::redirect(&format!("/conventions/{id}/instances/{bid}"), "Instance mise à jour")),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            let fresh = state.store.body(id, bid).await?.version.to_string();
            let form = BodyFields { version: fresh, ..form };
            body_page(&state, &auth, id, bid, (Some(form), new_meeting_fields()), errors, status).await
        }
    }
}

/// Schedules a meeting of the body.
pub async fn meeting_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, bid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<MeetingFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    state.store.body(id, bid).await?;
    let mut errors = FormErrors::new();
    let Some(meeting) = form.to_meeting(&mut errors) else {
        return body_page(&state, &auth, id, bid, (None, form), errors, StatusCode::BAD_REQUEST).await;
    };
    match state.store.create_meeting(&auth.actor(Channel::Page), id, bid, meeting).await {
        Ok(mid) => Ok(crate::flash::redirect(&format!("/conventions/{id}/seances/{mid}"), "Séance programmée")),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            body_page(&state, &auth, id, bid, (None, form), errors, status).await
        }
    }
}

/// The meetings of a body as an iCalendar file, to subscribe to or import in a diary.
pub async fn calendar(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, bid)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let body = state.store.body(id, bid).await?;
    let ics = state.store.body_icalendar(id, bid, Utc::now()).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", calendar_file(&body.body.name))),
            (header::CACHE_CONTROL, "no-cache".to_owned()),
        ],
        ics,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
