//! Coordination posts (art. 7-b).

#[allow(unused_imports)]
use super::*;

// Coordination posts (art. 7-b)

#[derive(Debug, Default, Clone, Deserialize)]
pub struct PostFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub person: String,
    #[serde(default)]
    pub employer: String,
    #[serde(default)]
    pub fte: String,
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub end: String,
    #[serde(default)]
    pub funding: String,
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub funder: String,
}

pub(super) fn euros_field(cents: i64) -> String {
    format!("{},{:02}", cents / 100, cents % 100)
}

impl PostFields {
    fn of(p: &Post) -> Self {
        let d = &p.data;
        Self {
            version: p.version.to_string(),
            person: d.person.clone().unwrap_or_default(),
            employer: d.employer.clone(),
            fte: french_number(d.fte_hundredths as f64 / 100.0),
            start: d.start.to_string(),
            end: date_iso(d.end),
            funding: d.funding.clone(),
            amount: d.amount_cents.map(euros_field).unwrap_or_default(),
            funder: d.funder.clone().unwrap_or_default(),
        }
    }

    fn to_post(&self, prefix: &str, errors: &mut FormErrors) -> Option<NewPost> {
        let key = |f: &str| format!("{prefix}{f}");
        if self.employer.trim().is_empty() {
            errors.add(&key("employer"), "l'employeur est obligatoire");
        }
        let fte = match self.fte.trim().replace(',', ".").parse::<f64>() {
            Ok(f) if f > 0.0 && f <= 1.0 => Some((f * 100.0).round() as i64),
            _ => {
                errors.add(
                    &key("fte"),
                    format!("quotité invalide « {} » : un nombre d'ETP de 0,01 à 1, par exemple 0,8", self.fte.trim()),
                );
                None
            }
        };
        let start = form_date(errors, &key("start"), &self.start);
        if start.is_none() && self.start.trim().is_empty() {
            errors.add(&key("start"), "la date de début est obligatoire");
        }
        let end = form_date(errors, &key("end"), &self.end);
        let amount = match self.amount.trim() {
            "" => None,
            raw => ctg_domain::offer::parse_euros(raw).map_err(|m| errors.add(&key("amount"), m)).ok(),
        };
        if amount.is_some() && self.funder.trim().is_empty() {
            errors.add(&key("funder"), "précisez le financeur du montant");
        }
        if !errors.is_empty() {
            return None;
        }
        Some(NewPost {
            person: opt_text(&self.person),
            employer: self.employer.trim().to_owned(),
            fte_hundredths: fte?,
            start: start?,
            end,
            funding: self.funding.trim().to_owned(),
            amount_cents: amount,
            funder: opt_text(&self.funder),
        })
    }
}

pub(crate) struct PostLine {
    pub id: i64,
    pub person: String,
    pub employer: String,
    pub fte: String,
    pub period: String,
    pub funding: String,
    pub amount: String,
    pub active: bool,
    /// Stopped by the termination of the convention (art. 13).
    pub stopped: bool,
    pub form: PostFields,
    pub open: bool,
}

#[derive(Template)]
#[template(path = "governance_cooperation.html")]
pub(super) struct CooperationPage {
    nav: Nav,
    id: i64,
    title: String,
    can_manage: bool,
    sees_names: bool,
    today: String,
    fte_today: String,
    /// The effective date of the termination, when the convention is terminated (art. 13).
    stop: Option<String>,
    posts: Vec<PostLine>,
    form: PostFields,
    errors: FormErrors,
}

#[derive(Default)]
pub(super) struct PostDraft {
    new: Option<PostFields>,
    edit: Option<(i64, PostFields)>,
}

pub(super) async fn cooperation_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    draft: PostDraft,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let summary = state.store.convention_summary(id).await?;
    let today = state.today();
    let sees_names = state.sees_personal_data(auth, id).await;
    let posts = state.store.coordination_posts(id).await?;
    let stop = state.store.commitments_stop(id).await?;
    let page = CooperationPage {
        nav: Nav::of(auth),
        id,
        title: summary.title,
        can_manage: state.may(auth, Action::ManageGovernance, Some(id)).await,
        sees_names,
        today: date_short(today),
        fte_today: format!("{} ETP", french_number(fte_on(&posts, today, stop) as f64 / 100.0)),
        stop: stop.map(|s| date_short(s.effective)),
        posts: posts
            .iter()
            .map(|p| {
                let d = &p.data;
                let (form, open) = match &draft.edit {
                    Some((pid, f)) if *pid == p.id => (f.clone(), true),
                    _ => (PostFields::of(p), false),
                };
                PostLine {
                    id: p.id,
                    person: match (&d.person, sees_names) {
                        (None, _) => "poste vacant".into(),
                        (Some(name), true) => name.clone(),
                        (Some(_), false) => "poste pourvu".into(),
                    },
                    employer: d.employer.clone(),
                    fte: format!("{} ETP", french_number(d.fte_hundredths as f64 / 100.0)),
                    period: match (d.end, stop.filter(|_| d.stopped_by(stop))) {
                        (_, Some(s)) if s.stops_from(d.start) => {
                            format!("devait commencer le {} : arrêté avant de commencer", date_short(d.start))
                        }
                        (_, Some(s)) => format!("du {} au {}", date_short(d.start), date_short(s.cut(d.end))),
                        (Some(end), None) => format!("du {} au {}", date_short(d.start), date_short(end)),
                        (None, None) => format!("depuis le {}", date_short(d.start)),
                    },
                    stopped: d.stopped_by(stop),
                    funding: d.funding.clone(),
                    amount: match (d.amount_cents, &d.funder) {
                        (Some(c), Some(f)) => format!("{} par an ({f})", crate::offer::euros(c)),
                        (Some(c), None) => format!("{} par an", crate::offer::euros(c)),
                        _ => String::new(),
                    },
                    active: d.runs_on(today, stop),
                    form,
                    open,
                }
            })
            .collect(),
        form: draft.new.unwrap_or_else(|| PostFields { fte: "1".into(), ..PostFields::default() }),
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// The chargés de coopération of art. 7-b.
pub async fn cooperation(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    cooperation_page(&state, &auth, id, PostDraft::default(), FormErrors::new(), StatusCode::OK).await
}

/// Records a chargé de coopération post.
pub async fn post_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<PostFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    let mut errors = FormErrors::new();
    let Some(post) = form.to_post("", &mut errors) else {
        let draft = PostDraft { new: Some(form), edit: None };
        return cooperation_page(&state, &auth, id, draft, errors, StatusCode::BAD_REQUEST).await;
    };
    match state.store.create_post(&auth.actor(Channel::Page), id, post).await {
        Ok(_) => Ok(crate::flash::redirect(&format!("/conventions/{id}/cooperation"), "Poste enregistré")),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            cooperation_page(&state, &auth, id, PostDraft { new: Some(form), edit: None }, errors, status).await
        }
    }
}

/// Changes a post, from the version read.
pub async fn post_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, pid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<PostFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::ManageGovernance, Some(id)).await?;
    if !state.store.coordination_posts(id).await?.iter().any(|p| p.id == pid) {
        return Err(WebError::NotFound(format!("le poste n° {pid} de cette convention n'existe pas")).into());
    }
    let mut errors = FormErrors::new();
    let version: i64 = Version::parse(&form.version)?;
    let Some(post) = form.to_post(&format!("poste-{pid}-"), &mut errors) else {
        return cooperation_page(
            &state,
            &auth,
            id,
            PostDraft { new: None, edit: Some((pid, form)) },
            errors,
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    match state.store.update_post(&auth.actor(Channel::Page), id, pid, version, post).await {
        Ok(_) => Ok(crate::flash::redirect(&format!("/conventions/{id}/cooperation"), "Poste mis à jour")),
        Err(e) => {
            let (status, errors) = form_failure(e)?;
            let fresh = state
                .store
                .coordination_posts(id)
                .await?
                .into_iter()
                .find(|p| p.id == pid)
                .map(|p| p.version.to_string());
            let form = PostFields { version: fresh.unwrap_or(form.version.clone()), ..form };
            cooperation_page(&state, &auth, id, PostDraft { new: None, edit: Some((pid, form)) }, errors, status).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_browsers_and_people_write_them() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0);
        assert_eq!(parse_time("14:30"), t(14, 30));
        assert_eq!(parse_time("09:05:00"), t(9, 5));
        assert_eq!(parse_time("14 h 30"), t(14, 30));
        assert_eq!(parse_time("9h"), t(9, 0));
        assert_eq!(parse_time("midi"), None);
        assert_eq!(time_text(NaiveTime::from_hms_opt(9, 5, 0).unwrap()), "09 h 05");
    }

    #[test]
    fn calendar_files_have_plain_names() {
        assert_eq!(calendar_file("Comité technique opérationnel"), "calendrier-comite-technique-operationnel.ics");
        assert_eq!(calendar_file("« »"), "calendrier-instance.ics");
    }
}
