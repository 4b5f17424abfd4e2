//! Concertation: events, participants and contributions.

#[allow(unused_imports)]
use super::*;

// Concertation

pub(crate) struct ContributionLine {
    pub id: i64,
    pub version: i64,
    pub text: String,
    pub author: String,
    pub theme: String,
    pub ambitions: Vec<(i64, String)>,
    pub fiches: Vec<(String, String)>,
    pub ambitions_text: String,
    pub fiches_text: String,
    pub open: bool,
}

pub(crate) struct EventLine {
    pub id: i64,
    pub kind: &'static str,
    pub title: String,
    pub dates: String,
    pub occurrences: i64,
    pub communes: String,
    pub participants: Vec<(&'static str, String)>,
    pub total: String,
    pub themes: String,
    pub note: String,
    pub contributions: Vec<ContributionLine>,
}

pub(crate) struct TotalsLine {
    pub label: String,
    pub events: String,
    pub inhabitants: String,
    pub elected: String,
    pub partners: String,
    pub unattributed: String,
    pub all: String,
}

pub(super) fn approx(n: i64, approximate: bool) -> String {
    if approximate && n > 0 {
        format!("environ {}", integer(n))
    } else {
        integer(n)
    }
}

/// A row of totals; a category that no event of the row gives is unknown (« — »), not zero.
pub(super) fn totals_line(label: String, events: &[&NewConcertationEvent], t: &CategoryTotals) -> TotalsLine {
    let known = |c: ParticipantCategory| events.iter().any(|e| e.participants.get(c).is_some());
    let cell = |c: ParticipantCategory, n: i64| if known(c) { integer(n) } else { "—".to_owned() };
    let any_total = events.iter().any(|e| e.participants.total.is_some());
    let any_count = events.iter().any(|e| e.participants.total().is_some());
    TotalsLine {
        label,
        events: integer(events.iter().map(|e| e.occurrences).sum()),
        inhabitants: cell(ParticipantCategory::Inhabitants, t.inhabitants),
        elected: cell(ParticipantCategory::Elected, t.elected),
        partners: cell(ParticipantCategory::Partners, t.partners),
        unattributed: if any_total { approx(t.unattributed, t.approximate) } else { "—".to_owned() },
        all: if any_count { approx(t.all(), t.approximate) } else { "—".to_owned() },
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct EventFields {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub end: String,
    #[serde(default)]
    pub occurrences: String,
    #[serde(default)]
    pub communes: String,
    #[serde(default)]
    pub commune_count: String,
    #[serde(default)]
    pub inhabitants: String,
    #[serde(default)]
    pub elected: String,
    #[serde(default)]
    pub partners: String,
    #[serde(default)]
    pub total: String,
    #[serde(default)]
    pub approximate: String,
    #[serde(default)]
    pub themes: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct ContributionFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub event: String,
    #[serde(default)]
    pub contribution_text: String,
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub theme: String,
    #[serde(default)]
    pub ambitions: String,
    #[serde(default)]
    pub fiches: String,
}

#[derive(Default)]
pub(super) struct ConcertationDraft {
    event: EventFields,
    contribution: ContributionFields,
    link: Option<(i64, ContributionFields)>,
}

#[derive(Template)]
#[template(path = "governance_concertation.html")]
pub(super) struct ConcertationPage {
    nav: Nav,
    id: i64,
    title: String,
    can_manage: bool,
    by_category: TotalsLine,
    by_kind: Vec<TotalsLine>,
    approximate: bool,
    events: Vec<EventLine>,
    contributions: usize,
    answered: usize,
    kinds: Vec<(String, String)>,
    categories: Vec<(String, String)>,
    event_options: Vec<(String, String)>,
    ambition_hint: String,
    fiche_hint: String,
    event_form: EventFields,
    contribution_form: ContributionFields,
    errors: FormErrors,
}

pub(super) fn numbers(raw: &str, errors: &mut FormErrors, field: &str) -> Vec<i64> {
    let mut out = Vec::new();
    for token in split_list(raw).flat_map(|t| t.split_whitespace()) {
        match token.trim_start_matches("n°").parse::<i64>() {
            Ok(n) if n > 0 => out.push(n),
            _ => errors.add(field, format!("numéro d'ambition invalide « {token} »")),
        }
    }
    out
}

pub(super) async fn concertation_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    draft: ConcertationDraft,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let offer = crate::offer::Offer::load(state, id).await?;
    let plan = state.store.plan(id).await?;
    let events = state.store.concertation(id).await?;
    let all = totals_by_category(&events);
    let ambition_title = |n: i64| {
        plan.stakes
            .iter()
            .flat_map(|(_, _, a)| a.iter())
            .find(|(x, _)| *x == n)
            .map_or_else(|| format!("Ambition {n}"), |(_, t)| format!("Ambition {n} : {t}"))
    };
    let lines: Vec<EventLine> = events
        .iter()
        .map(|e| {
            let d = &e.data;
            let p = &d.participants;
            let mut participants = Vec::new();
            for c in ParticipantCategory::ALL {
                if let Some(n) = p.get(*c) {
                    participants.push((c.label(), approx(n, p.approximate)));
                }
            }
            EventLine {
                id: e.id,
                kind: d.kind.label(),
                title: d.title.clone(),
                dates: match d.end {
                    Some(end) if end != d.start => format!("du {} au {}", date_short(d.start), date_short(end)),
                    _ => format!("le {}", date_short(d.start)),
                },
                occurrences: d.occurrences,
                communes: if d.communes.is_empty() {
                    d.commune_count
                        .map(|n| format!("{} commune{}", integer(n), if n > 1 { "s" } else { "" }))
                        .unwrap_or_default()
                } else {
                    d.communes.iter().map(|c| offer.commune_name(c)).collect::<Vec<_>>().join(", ")
                },
                participants,
                total: p.total().map(|t| approx(t, p.approximate)).unwrap_or_else(|| "non connu".into()),
                themes: d.themes.join(", "),
                note: d.note.clone().unwrap_or_default(),
                contributions: e
                    .contributions
                    .iter()
                    .map(|c| {
                        let (form, open) = match &draft.link {
                            Some((cid, f)) if *cid == c.id => (f.clone(), true),
                            _ => (
                                ContributionFields {
                                    version: c.version.to_string(),
                                    ambitions: c
                                        .data
                                        .ambitions
                                        .iter()
                                        .map(ToString::to_string)
                                        .collect::<Vec<_>>()
                                        .join(", "),
                                    fiches: codes_of(&plan, &c.data.fiches),
                                    ..ContributionFields::default()
                                },
                                false,
                            ),
                        };
                        ContributionLine {
                            id: c.id,
                            version: form.version.parse().unwrap_or(c.version),
                            text: c.data.text.clone(),
                            author: c.data.author.map(|a| a.label().to_owned()).unwrap_or_default(),
                            theme: c.data.theme.clone().unwrap_or_default(),
                            ambitions: c.data.ambitions.iter().map(|n| (*n, ambition_title(*n))).collect(),
                            fiches: fiche_links(&plan, id, &c.data.fiches),
                            ambitions_text: form.ambitions,
                            fiches_text: form.fiches,
                            open,
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    let contributions = events.iter().map(|e| e.contributions.len()).sum();
    let answered = events.iter().flat_map(|e| e.contributions.iter()).filter(|c| c.data.is_answered()).count();
    let page = ConcertationPage {
        nav: Nav::of(auth),
        id,
        title: offer.convention.title.clone(),
        can_manage: state.may(auth, Action::ManageGovernance, Some(id)).await,
        by_category: totals_line(
            "Ensemble de la concertation".into(),
            &events.iter().map(|e| &e.data).collect::<Vec<_>>(),
            &all,
        ),
        by_kind: totals_by_kind(&events)
            .iter()
            .map(|k| {
                let of_kind: Vec<&NewConcertationEvent> =
                    events.iter().map(|e| &e.data).filter(|e| e.kind == k.kind).collect();
                totals_line(k.kind.label().to_owned(), &of_kind, &k.participants)
            })
            .collect(),
        approximate: all.approximate,
        events: lines,
        contributions,
        answered,
        kinds: ConcertationKind::ALL.iter().map(|k| (k.code().to_owned(), k.label().to_owned())).collect(),
        categories: ParticipantCategory::ALL.iter().map(|c| (c.code().to_owned(), c.label().to_owned())).collect(),
        event_options: events
            .iter()
            .map(|e| (e.id.to_string(), format!("{} ({})", e.data.title, date_short(e.data.start))))
            .collect(),
        ambition_hint: plan
            .stakes
            .iter()
            .flat_map(|(_, _, a)| a.iter())
            .map(|(n, t)| format!("{n} : {t}"))
            .collect::<Vec<_>>()
            .join(" ; "),
        fiche_hint: fiche_hint(&plan),
        event_form: draft.event,
        contribution_form: draft.contribution,
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// The concertation: its events, participants by category and kind, contributions and what answers them.
pub async fn concertation(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let draft = ConcertationDraft {
        event: EventFields { occurrences: "1".into(), ..EventFields::default() },
        ..ConcertationDraft::default()
    };
    concertation_page(&state, &auth, id, draft, FormErrors::new(), StatusCode::OK).await
}

impl EventFields {
    fn to_event(&self, offer: &crate::offer::Offer, errors: &mut FormErrors) -> Option<NewConcertationEvent> {
        let kind = ConcertationKind::parse(self.kind.trim())
            .map_err(|_| errors.add("kind", "choisissez la nature de l'événement"))
            .ok();
        if self.title.trim().is_empty() {
            errors.add("title", "l'intitulé de l'événement est obligatoire");
        }
        let start = form_date(errors, "start", &self.start);
        if start.is_none() && self.start.trim().is_empty() {
            errors.add("start", "la date (ou le début de la période) est obligatoire");
        }
        let end = form_date(errors, "end", &self.end);
        let occurrences = if self.occurrences.trim().is_empty() {
            Some(1)
        } else {
            opt_count(errors, "occurrences", &self.occurrences)
        };
        let communes = offer.parse_communes(&self.communes).map_err(|m| errors.add("communes", m)).ok();
        let commune_count = opt_count(errors, "commune_count", &self.commune_count);
        let participants = Participants {
            inhabitants: opt_count(errors, "inhabitants", &self.inhabitants),
            elected: opt_count(errors, "elected", &self.elected),
            partners: opt_count(errors, "partners", &self.partners),
            total: opt_count(errors, "total", &self.total),
            approximate: !self.approximate.is_empty(),
        };
        if !errors.is_empty() {
            return None;
        }
        Some(NewConcertationEvent {
            kind: kind?,
            title: self.title.trim().to_owned(),
            start: start?,
            end,
            occurrences: occurrences.unwrap_or(1),
            communes: communes?,
            commune_count,
            participants,
            themes: split_list(&self.themes).map(str::to_owned).collect(),
            note: opt_text(&self.note),
        })
    }
}

/// Records a concertation event.
pub async fn event_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<EventFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    let offer = crate::offer::Offer::load(&state, id).await?;
    let mut errors = FormErrors::new();
    let draft = |f: EventFields| ConcertationDraft { event: f, ..ConcertationDraft::default() };
    let Some(event) = form.to_event(&offer, &mut errors) else {
        return concertation_page(&state, &auth, id, draft(form), errors, StatusCode::BAD_REQUEST).await;
    };
    match state.store.create_concertation_event(&auth.actor(Channel::Page), id, event).await {
        Ok(eid) => Ok(crate::flash::redirect(
            &format!("/conventions/{id}/concertation#evenement-{eid}"),
            "Temps de concertation enregistré",
        )),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            concertation_page(&state, &auth, id, draft(form), errors, status).await
        }
    }
}

/// Adds a contribution to an event (`event` field), with the ambitions and fiches that answer it.
pub async fn contribution_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<ContributionFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    let plan = state.store.plan(id).await?;
    let mut errors = FormErrors::new();
    let event = form.event.trim().parse::<i64>().map_err(|_| errors.add("event", "choisissez l'événement")).ok();
    if form.contribution_text.trim().is_empty() {
        errors.add("contribution_text", "le texte de la contribution est obligatoire");
    }
    let author = match form.author.trim() {
        "" => None,
        a => ParticipantCategory::parse(a).map_err(|e| errors.add("author", e.to_string())).ok(),
    };
    let ambitions = numbers(&form.ambitions, &mut errors, "ambitions");
    let fiches = fiches_by_code(&plan, &form.fiches).map_err(|m| errors.add("fiches", m)).unwrap_or_default();
    let draft = |f: ContributionFields| ConcertationDraft {
        event: EventFields { occurrences: "1".into(), ..EventFields::default() },
        contribution: f,
        link: None,
    };
    let (true, Some(event)) = (errors.is_empty(), event) else {
        return concertation_page(&state, &auth, id, draft(form), errors, StatusCode::BAD_REQUEST).await;
    };
    let contribution = NewContribution {
        text: form.contribution_text.trim().to_owned(),
        author,
        theme: opt_text(&form.theme),
        ambitions,
        fiches,
    };
    match state.store.add_contribution(&auth.actor(Channel::Page), id, event, contribution).await {
        Ok(_) => Ok(crate::flash::redirect(
            &format!("/conventions/{id}/concertation#evenement-{event}"),
            "Contribution enregistrée",
        )),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            concertation_page(&state, &auth, id, draft(form), errors, status).await
        }
    }
}

/// Links a contribution to the ambitions (numbers) and fiches (codes) that answer it, from the version read.
pub async fn contribution_link(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, cid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<ContributionFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    let plan = state.store.plan(id).await?;
    let prefix = format!("contribution-{cid}-");
    let mut errors = FormErrors::new();
    let ambitions = numbers(&form.ambitions, &mut errors, &format!("{prefix}ambitions"));
    let fiches =
        fiches_by_code(&plan, &form.fiches).map_err(|m| errors.add(&format!("{prefix}fiches"), m)).unwrap_or_default();
    let draft = |f: ContributionFields| ConcertationDraft {
        event: EventFields { occurrences: "1".into(), ..EventFields::default() },
        contribution: ContributionFields::default(),
        link: Some((cid, f)),
    };
    if !errors.is_empty() {
        return concertation_page(&state, &auth, id, draft(form), errors, StatusCode::BAD_REQUEST).await;
    }
    let version: i64 = Version::parse(&form.version)?;
    match state.store.link_contribution(&auth.actor(Channel::Page), id, cid, version, (&ambitions, &fiches)).await {
        Ok(_) => Ok(crate::flash::redirect(
            &format!("/conventions/{id}/concertation#contribution-{cid}"),
            "Contribution mise à jour",
        )),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            let fresh = state
                .store
                .concertation(id)
                .await?
                .into_iter()
                .flat_map(|e| e.contributions)
                .find(|c| c.id == cid)
                .map(|c| c.version.to_string());
            let form = ContributionFields { version: fresh.unwrap_or(form.version.clone()), ..form };
            concertation_page(&state, &auth, id, draft(form), errors, status).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
