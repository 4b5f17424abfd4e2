//! Creating and editing a fiche.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// Creating and editing a fiche

#[derive(Debug, Default, Deserialize)]
pub struct FicheFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub ambitions: String,
    #[serde(default)]
    pub objectives: String,
    #[serde(default)]
    pub pilot_organisation: String,
    #[serde(default)]
    pub pilot_person: String,
    #[serde(default)]
    pub partners: String,
    #[serde(default)]
    pub public: String,
    #[serde(default)]
    pub communes: String,
    #[serde(default)]
    pub start: String,
    #[serde(default)]
    pub end: String,
    #[serde(default)]
    pub priority: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub approaches: String,
    #[serde(default)]
    pub needs: String,
    #[serde(default)]
    pub reason: String,
    /// Set by the page's pickers: ambitions and objectives are then checkboxes (`ambition_N`,
    /// `objectif_CODE`) and communes one field each (`commune_N`), folded into the lists above.
    #[serde(default)]
    pub pickers: String,
    #[serde(flatten)]
    pub picks: BTreeMap<String, String>,
}

impl FicheFields {
    /// Folds the pickers of the page into the lists the rest of the code reads.
    fn fold_pickers(&mut self) {
        if self.pickers.is_empty() {
            return;
        }
        let with = |prefix: &str| -> Vec<String> {
            self.picks
                .iter()
                .filter(|(_, v)| !v.trim().is_empty())
                .filter_map(|(k, v)| k.strip_prefix(prefix).map(|rest| (rest.to_owned(), v.trim().to_owned())))
                .map(|(rest, v)| if prefix == "commune_" { v } else { rest })
                .collect()
        };
        let mut ambitions = with("ambition_");
        ambitions.sort_by_key(|a| a.parse::<i64>().unwrap_or(i64::MAX));
        self.ambitions = ambitions.join(", ");
        self.objectives = with("objectif_").join(", ");
        let mut communes: Vec<(usize, String)> = self
            .picks
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("commune_")?.parse::<usize>().ok()?, v.trim().to_owned())))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        communes.sort();
        self.communes = communes.into_iter().map(|(_, v)| v).collect::<Vec<_>>().join(", ");
        self.picks.clear();
    }
}

pub(super) fn split_list(raw: &str) -> Vec<String> {
    raw.split([';', ',', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

impl FicheFields {
    fn of(v: &PlanView, f: &FicheRecord) -> Self {
        let d = &f.fiche;
        Self {
            version: f.version.to_string(),
            code: d.code.clone(),
            title: d.title.clone(),
            description: d.description.clone(),
            ambitions: d.ambitions.iter().map(i64::to_string).collect::<Vec<_>>().join(", "),
            objectives: d.objectives.join(", "),
            pilot_organisation: d.pilot_organisation.clone(),
            pilot_person: d.pilot_person.clone(),
            partners: d.partners.join(", "),
            public: d.public.clone(),
            communes: d.communes.iter().map(|c| v.commune_name(c)).collect::<Vec<_>>().join(", "),
            start: d.start.map(|d| d.to_string()).unwrap_or_default(),
            end: d.end.map(|d| d.to_string()).unwrap_or_default(),
            priority: d.priority.map(|p| p.code().to_owned()).unwrap_or_default(),
            status: d.status.code().to_owned(),
            approaches: d.approaches.join(", "),
            needs: d.needs.clone(),
            reason: String::new(),
            pickers: String::new(),
            picks: BTreeMap::new(),
        }
    }

    fn to_new(&self, v: &PlanView, errors: &mut FormErrors) -> Option<NewFiche> {
        if self.code.trim().is_empty() {
            errors.add("code", "le code est obligatoire (par exemple PE-1)");
        }
        if self.title.trim().is_empty() {
            errors.add("title", "l'intitulé est obligatoire");
        }
        let mut ambitions = Vec::new();
        for a in split_list(&self.ambitions) {
            match a.parse::<i64>() {
                Ok(n) if v.plan.stakes.iter().any(|(_, _, am)| am.iter().any(|(x, _)| *x == n)) => ambitions.push(n),
                _ => errors.add("ambitions", format!("ambition inconnue « {a} » (numéros de la convention attendus)")),
            }
        }
        let objectives = split_list(&self.objectives);
        for o in &objectives {
            if !v.plan.objectives.iter().any(|x| x.objective.code == *o) {
                errors.add("objectives", format!("objectif inconnu « {o} »"));
            }
        }
        let communes =
            ctg_domain::parse::CommuneIndex::new(v.communes.iter().map(|(code, name)| (code, name.as_str())))
                .read("communes", &self.communes)
                .map(ctg_domain::parse::CommuneList::into_codes)
                .unwrap_or_else(|e| {
                    errors.add(&e.field, e.message);
                    Vec::new()
                });
        let start = form_date(errors, "start", &self.start);
        let end = form_date(errors, "end", &self.end);
        let priority = match self.priority.trim() {
            "" => None,
            p => Priority::parse_loose(p).or_else(|| {
                errors.add("priority", format!("priorité inconnue « {p} »"));
                None
            }),
        };
        let status = FicheStatus::parse_loose(&self.status).or_else(|| {
            errors.add("status", format!("statut inconnu « {} »", self.status));
            None
        });
        if !errors.is_empty() {
            return None;
        }
        let new = NewFiche {
            code: self.code.clone(),
            title: self.title.clone(),
            description: self.description.trim().to_owned(),
            ambitions,
            objectives,
            pilot_organisation: self.pilot_organisation.trim().to_owned(),
            pilot_person: self.pilot_person.trim().to_owned(),
            partners: split_list(&self.partners),
            public: self.public.trim().to_owned(),
            communes,
            start,
            end,
            priority,
            status: status?,
            approaches: split_list(&self.approaches),
            needs: self.needs.trim().to_owned(),
        };
        match new.check() {
            Ok(ok) => Some(ok),
            Err(e) => {
                let m = e.to_string();
                errors.add(if m.contains("fin") { "end" } else { "" }, m);
                None
            }
        }
    }
}

#[derive(Template)]
#[template(path = "fiche_edit.html")]
pub(super) struct FicheForm {
    nav: Nav,
    id: i64,
    fiche_id: Option<i64>,
    form: FicheFields,
    statuses: Vec<(String, String)>,
    priorities: Vec<(String, String)>,
    /// Pickers: (number, « Ambition N : title », checked).
    ambition_choices: Vec<(String, String, bool)>,
    /// Pickers: (code, « code : title », checked).
    objective_choices: Vec<(String, String, bool)>,
    /// The organisations a pilot may be: the parties, and the fiche's own if it is none of them.
    pilot_choices: Vec<(String, String)>,
    /// The communes of the territory, for the `datalist`.
    commune_names: Vec<String>,
    /// One field per commune typed, and two more.
    commune_fields: Vec<String>,
    errors: FormErrors,
    conflict: String,
    /// A pilot's contributor changes the status only.
    status_only: bool,
}

impl FicheForm {
    fn new(auth: &Auth, v: &PlanView, id: i64, fiche_id: Option<i64>, form: FicheFields) -> Self {
        let chosen = split_list(&form.ambitions);
        let ambition_choices = v
            .plan
            .stakes
            .iter()
            .flat_map(|(_, _, a)| a.iter())
            .map(|(n, t)| (n.to_string(), format!("Ambition {n} : {t}"), chosen.contains(&n.to_string())))
            .collect();
        let chosen_objectives: Vec<String> = split_list(&form.objectives).iter().map(|o| o.to_lowercase()).collect();
        let objective_choices = v
            .plan
            .objectives
            .iter()
            .map(|o| {
                let code = o.objective.code.clone();
                let checked = chosen_objectives.contains(&code.to_lowercase());
                (code.clone(), format!("{code} : {}", o.objective.title), checked)
            })
            .collect();
        let mut pilot_choices: Vec<(String, String)> = v
            .parties
            .iter()
            .map(|p| {
                (
                    p.label().to_owned(),
                    if p.label() == p.name { p.name.clone() } else { format!("{} ({})", p.name, p.label()) },
                )
            })
            .collect();
        let current = form.pilot_organisation.trim();
        if !current.is_empty()
            && !pilot_choices
                .iter()
                .any(|(c, l)| ctg_domain::plan::loose(c) == ctg_domain::plan::loose(current) || l == current)
        {
            pilot_choices.push((current.to_owned(), current.to_owned()));
        }
        let mut commune_fields = split_list(&form.communes);
        commune_fields.extend([String::new(), String::new()]);
        Self {
            ambition_choices,
            objective_choices,
            pilot_choices,
            commune_names: v.communes.iter().map(|(_, n)| n.clone()).collect(),
            commune_fields,
            nav: Nav::of(auth),
            id,
            fiche_id,
            form,
            statuses: FicheStatus::ALL.iter().map(|s| (s.code().to_owned(), s.label().to_owned())).collect(),
            priorities: Priority::ALL.iter().map(|p| (p.code().to_owned(), p.label().to_owned())).collect(),
            errors: FormErrors::new(),
            conflict: String::new(),
            status_only: false,
        }
    }
}

pub async fn fiche_new(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize(&auth, Action::EditPlan, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let form = FicheFields { status: "a_venir".into(), ..FicheFields::default() };
    Ok(Html(FicheForm::new(&auth, &v, id, None, form).render()?).into_response())
}

pub async fn fiche_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(mut form): PageForm<FicheFields>,
) -> Result<Response, PageError> {
    form.fold_pickers();
    state.authorize_write(&auth, Action::EditPlan, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let mut errors = FormErrors::new();
    let Some(new) = form.to_new(&v, &mut errors) else {
        let mut page = FicheForm::new(&auth, &v, id, None, form);
        page.errors = errors;
        return Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response());
    };
    let code = new.code.clone();
    match state.store.create_fiche(&auth.actor(Channel::Page), id, new).await {
        Ok(fid) => {
            Ok(crate::flash::redirect(&format!("/conventions/{id}/plan/fiches/{fid}"), format!("Fiche {code} créée")))
        }
        Err(StoreError::Invalid(m)) => {
            let mut page = FicheForm::new(&auth, &v, id, None, form);
            page.errors.add("", m);
            Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}

pub async fn fiche_edit(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let f = fiche_in(&v, fid)?;
    let pilot = state.store.organisation_named(&f.fiche.pilot_organisation).await.ok();
    state.authorize(&auth, Action::ReportFiche { pilot_organisation_id: pilot }, Some(id)).await?;
    let mut page = FicheForm::new(&auth, &v, id, Some(fid), FicheFields::of(&v, f));
    page.status_only = !state.may(&auth, Action::EditPlan, Some(id)).await;
    Ok(Html(page.render()?).into_response())
}

pub async fn fiche_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
    PageForm(mut form): PageForm<FicheFields>,
) -> Result<Response, PageError> {
    form.fold_pickers();
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let current = fiche_in(&v, fid)?;
    authorize_report(&state, &auth, id, &current.fiche).await?;
    let version: i64 = Version::parse(&form.version)?;
    let mut errors = FormErrors::new();
    // The pilot's contributors report on the fiche (its status and why); the rest of it is the
    // coordination's to write.
    let status_only = !state.may(&auth, Action::EditPlan, Some(id)).await;
    let new = if status_only {
        match FicheStatus::parse_loose(&form.status) {
            Some(status) => {
                // The contributor's form offers the status only; any other field sent must be
                // what the fiche already says, or nothing is stored.
                let kept =
                    |sent: &str, now: &str| if sent.trim().is_empty() { now.to_owned() } else { sent.to_owned() };
                let f = &current.fiche;
                let proposed = NewFiche {
                    status,
                    code: kept(&form.code, &f.code),
                    title: kept(&form.title, &f.title),
                    description: kept(&form.description, &f.description),
                    pilot_organisation: kept(&form.pilot_organisation, &f.pilot_organisation),
                    pilot_person: kept(&form.pilot_person, &f.pilot_person),
                    ..f.clone()
                };
                let change = ctg_domain::plan::contributor_change(f, &proposed)
                    .map_err(|changed| WebError::Forbidden(ctg_domain::plan::contributor_change_refusal(&changed)))?;
                Some(change)
            }
            None => {
                errors.add("status", format!("statut inconnu « {} »", form.status));
                None
            }
        }
    } else {
        form.to_new(&v, &mut errors)
    };
    if let Some(n) = &new {
        if n.status != current.fiche.status && form.reason.trim().is_empty() {
            errors
                .add("reason", "dites pourquoi le statut change : la raison est gardée dans l'historique de la fiche");
        }
    }
    let (Some(new), true) = (new, errors.is_empty()) else {
        let mut page = FicheForm::new(&auth, &v, id, Some(fid), form);
        page.status_only = status_only;
        page.errors = errors;
        return Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response());
    };
    match state.store.update_fiche(&auth.actor(Channel::Page), id, fid, version, new, form.reason.trim()).await {
        Ok(_) => Ok(crate::flash::redirect(&format!("/conventions/{id}/plan/fiches/{fid}"), "Fiche enregistrée")),
        Err(StoreError::Stale { what, last_change }) => {
            let fresh =
                state.store.plan(id).await?.fiches.into_iter().find(|f| f.id == fid).map_or(version, |f| f.version);
            let mut page = FicheForm::new(&auth, &v, id, Some(fid), FicheFields { version: fresh.to_string(), ..form });
            page.conflict = crate::error::stale_message(&what, last_change.as_deref());
            Ok((StatusCode::CONFLICT, Html(page.render()?)).into_response())
        }
        Err(StoreError::Invalid(m)) => {
            let mut page = FicheForm::new(&auth, &v, id, Some(fid), form);
            page.errors.add("", m);
            Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}
