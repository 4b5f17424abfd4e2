//! Sub-actions, means and indicators of a fiche.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// Sub-actions, means, indicators of a fiche

#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct SubFields {
    #[serde(default)]
    pub parent: String,
    #[serde(default, rename = "sub_title")]
    pub title: String,
    #[serde(default, rename = "sub_status")]
    pub status: String,
    #[serde(default, rename = "sub_pilot")]
    pub pilot: String,
    #[serde(default, rename = "sub_start")]
    pub start: String,
    #[serde(default, rename = "sub_end")]
    pub end: String,
}

impl SubFields {
    /// The sub-action typed (its id is given by the store).
    fn read(&self, errors: &mut FormErrors) -> Option<SubAction> {
        if self.title.trim().is_empty() {
            errors.add("sub_title", "l'intitulé de la sous-action est obligatoire");
        }
        let parent = match self.parent.trim() {
            "" => None,
            p => match p.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.add("parent", "sous-action parente inconnue");
                    None
                }
            },
        };
        let status = FicheStatus::parse_loose(if self.status.is_empty() { "a_venir" } else { &self.status });
        if status.is_none() {
            errors.add("sub_status", format!("statut inconnu « {} »", self.status));
        }
        let start = form_date(errors, "sub_start", &self.start);
        let end = form_date(errors, "sub_end", &self.end);
        if let (Some(s), Some(e)) = (start, end) {
            if e < s {
                errors.add("sub_end", "la fin précède le début");
            }
        }
        if errors.is_empty() {
            Some(SubAction {
                id: 0,
                parent,
                title: self.title.trim().to_owned(),
                status: status?,
                pilot: self.pilot.trim().to_owned(),
                start,
                end,
            })
        } else {
            None
        }
    }
}

pub async fn sub_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<SubFields>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let f = fiche_in(&v, fid)?;
    authorize_report(&state, &auth, id, &f.fiche).await?;
    let mut errors = FormErrors::new();
    let Some(sub) = form.read(&mut errors) else {
        return fiche_page(
            &state,
            &auth,
            id,
            fid,
            errors,
            crate::views::Typed::of("sous-action", &form),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };

    match state.store.add_sub_action(&auth.actor(Channel::Page), id, fid, &sub).await {
        Ok(_) => Ok(crate::flash::redirect(
            &format!("/conventions/{id}/plan/fiches/{fid}"),
            format!("Sous-action « {} » ajoutée", sub.title),
        )),
        Err(StoreError::Invalid(m)) => {
            let mut errors = FormErrors::new();
            errors.add("", m);
            fiche_page(
                &state,
                &auth,
                id,
                fid,
                errors,
                crate::views::Typed::of("sous-action", &form),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct SubStatusFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub status: String,
}

/// Changes the status of a sub-action (the fiche page's quick form).
pub async fn sub_status(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid, sid)): Ids<(i64, i64, i64)>,
    PageForm(form): PageForm<SubStatusFields>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let f = fiche_in(&v, fid)?;
    authorize_report(&state, &auth, id, &f.fiche).await?;
    let s = f
        .subs
        .iter()
        .find(|s| s.sub.id == sid)
        .ok_or_else(|| WebError::NotFound(format!("la sous-action n° {sid} n'est pas dans cette fiche")))?;
    let Some(status) = FicheStatus::parse_loose(&form.status) else {
        let mut errors = FormErrors::new();
        errors.add("", format!("statut inconnu « {} »", form.status));
        return fiche_page(&state, &auth, id, fid, errors, Default::default(), StatusCode::BAD_REQUEST).await;
    };
    let version: i64 = Version::parse(&form.version)?;
    let sub = SubAction { status, ..s.sub.clone() };
    match state.store.update_sub_action(&auth.actor(Channel::Page), id, version, &sub).await {
        Ok(_) => Ok(crate::flash::redirect(
            &format!("/conventions/{id}/plan/fiches/{fid}"),
            "Statut de la sous-action enregistré",
        )),
        Err(StoreError::Stale { what, last_change }) => {
            let mut errors = FormErrors::new();
            errors.add("", crate::error::stale_message(&what, last_change.as_deref()));
            fiche_page(&state, &auth, id, fid, errors, Default::default(), StatusCode::CONFLICT).await
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}

#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct MeansFields {
    /// How many rows the grid had.
    #[serde(default)]
    pub rows: String,
    /// `ajouter` adds an empty row, `ajouter_partie` a row per year for `ajout_partie`; both show
    /// the grid again with everything typed, saving nothing.
    #[serde(default)]
    pub action: String,
    /// The party to add a row per year for (« Ajouter une partie sur chaque année »).
    #[serde(default)]
    pub ajout_partie: String,
    /// The grid's cells, row `N`: `partie_N` (a party id), `annee_N`, `etp_N` (« 0,5 »),
    /// `prevu_N` and `depense_N` (euros, « 1 234,56 »), `nature_N`, `materiel_N`.
    #[serde(flatten)]
    pub cells: BTreeMap<String, String>,
}

/// The grid's column fields, in order.
pub(crate) const MEANS_COLUMNS: [&str; 7] = ["partie", "annee", "etp", "prevu", "depense", "nature", "materiel"];

/// Reads the means grid, one line per party and year; an error names its cell (`prevu_3`) and
/// says which row it is in. A row left blank is ignored: emptying a row removes its line.
pub(crate) fn read_means_grid(
    form: &MeansFields,
    years: &[i32],
    parties: &[ctg_domain::funds::PartyRef],
    errors: &mut FormErrors,
) -> Vec<Means> {
    let rows: usize = form.rows.trim().parse().unwrap_or(0).min(MAX_GRID_ROWS);
    let cell = |k: String| form.cells.get(&k).map_or("", |v| v.trim());
    let mut out: Vec<Means> = Vec::new();
    for i in 0..rows {
        let n = i + 1;
        let [party, year, fte, planned, spent, kind, material] = MEANS_COLUMNS.map(|c| cell(format!("{c}_{i}")));
        // A row without FTE, amount or material says nothing: it is not a line (emptying a row
        // removes its line; rows added for every year may stay empty).
        if [fte, planned, spent, material].iter().all(|c| c.is_empty()) {
            continue;
        }
        let errors_before = errors.0.len();
        let party = if party.is_empty() {
            errors.add(&format!("partie_{i}"), format!("ligne {n} : choisissez la partie qui engage ces moyens"));
            None
        } else {
            let p = party.parse::<i64>().ok().and_then(|p| parties.iter().find(|x| x.id == p));
            if p.is_none() {
                errors.add(&format!("partie_{i}"), format!("ligne {n} : partie inconnue"));
            }
            p
        };
        let year = match year.parse::<i32>().ok().filter(|y| years.contains(y)) {
            Some(y) => Some(y),
            None => {
                errors.add(
                    &format!("annee_{i}"),
                    format!(
                        "ligne {n} : choisissez une année de la convention ({} à {})",
                        years.first().copied().unwrap_or_default(),
                        years.last().copied().unwrap_or_default()
                    ),
                );
                None
            }
        };
        let fte = match fte.replace([' ', '\u{a0}', '\u{202f}'], "").replace(',', ".").parse::<f64>() {
            _ if fte.is_empty() => 0,
            Ok(f) if (0.0..=1000.0).contains(&f) => (f * 100.0).round() as i64,
            _ => {
                errors.add(
                    &format!("etp_{i}"),
                    format!("ligne {n} : ETP invalide « {fte} » : un nombre de 0 à 1 000 est attendu, par exemple 0,5"),
                );
                0
            }
        };
        let mut money = |key: &str, raw: &str| {
            if raw.is_empty() {
                return None;
            }
            match ctg_domain::offer::parse_euros(raw) {
                Ok(c) => Some(c),
                Err(m) => {
                    errors.add(&format!("{key}_{i}"), format!("ligne {n} : {m}"));
                    None
                }
            }
        };
        let planned = money("prevu", planned);
        let spent = money("depense", spent);
        let kind = match ctg_domain::plan::loose(kind).as_str() {
            "" | "fonctionnement" => MeansKind::Operating,
            "investissement" => MeansKind::Investment,
            other => {
                errors.add(&format!("nature_{i}"), format!("ligne {n} : nature inconnue « {other} »"));
                MeansKind::Operating
            }
        };
        let (Some(party), Some(year)) = (party, year) else { continue };
        if errors.0.len() > errors_before {
            continue;
        }
        if out.iter().any(|m| m.party_id == party.id && m.year == year) {
            errors.add(
                &format!("annee_{i}"),
                format!("ligne {n} : {} a déjà une ligne en {year} ; une ligne par partie et par année", party.label()),
            );
            continue;
        }
        let m = Means {
            party_id: party.id,
            organisation: party.label().to_owned(),
            year,
            fte_hundredths: fte,
            planned_cents: planned,
            spent_cents: spent,
            kind,
            material: material.to_owned(),
        };
        match m.check() {
            Ok(()) => out.push(m),
            Err(e) => errors.add(&format!("materiel_{i}"), format!("ligne {n} : {e}")),
        }
    }
    out.sort_by_key(|m| (parties.iter().position(|p| p.id == m.party_id), m.year));
    out
}

/// The most rows a grid is read with (a guard against a forged `rows`).
pub(crate) const MAX_GRID_ROWS: usize = 400;

pub async fn means_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<MeansFields>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let f = fiche_in(&v, fid)?;
    authorize_report(&state, &auth, id, &f.fiche).await?;
    let mut errors = FormErrors::new();
    let years: Vec<i32> = (v.convention.start.year()..=v.convention.end.year()).collect();
    let typed = crate::views::Typed::of("moyens", &form);
    if form.action.starts_with("ajouter") {
        // More rows, everything typed kept (checked when saved), nothing saved yet.
        if form.action == "ajouter_partie" && !v.parties.iter().any(|p| p.id.to_string() == form.ajout_partie.trim()) {
            errors.add("ajout_partie", "choisissez la partie à ajouter sur chaque année");
            return fiche_page(&state, &auth, id, fid, errors, typed, StatusCode::BAD_REQUEST).await;
        }
        return fiche_page(&state, &auth, id, fid, errors, typed, StatusCode::OK).await;
    }
    let means = read_means_grid(&form, &years, &v.parties, &mut errors);
    if !errors.is_empty() {
        return fiche_page(&state, &auth, id, fid, errors, typed, StatusCode::BAD_REQUEST).await;
    }
    state.store.set_means(&auth.actor(Channel::Page), id, fid, &means).await?;
    let lines = means.len();
    Ok(crate::flash::redirect(
        &format!("/conventions/{id}/plan/fiches/{fid}"),
        match lines {
            0 => "Moyens enregistrés : aucune ligne".to_owned(),
            1 => "Moyens enregistrés : 1 ligne".to_owned(),
            n => format!("Moyens enregistrés : {n} lignes"),
        },
    ))
}

#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct IndicatorFields {
    #[serde(default)]
    pub name: String,
    /// quantitatif or qualitatif.
    #[serde(default)]
    pub nature: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub baseline: String,
    #[serde(default)]
    pub baseline_year: String,
    #[serde(default)]
    pub direction: String,
    /// Levels separated by `;`, from the worst to the best.
    #[serde(default)]
    pub scale: String,
    /// Targets, `année : valeur` separated by `;` (the API's and imports' way).
    #[serde(default)]
    pub targets: String,
    /// The page's grid: one field `cible_AAAA` per year of the convention (and the form's other
    /// fields, ignored).
    #[serde(flatten)]
    pub cells: BTreeMap<String, String>,
}

impl IndicatorFields {
    /// The targets typed in the grid (`cible_AAAA`), then in `targets`, as `année : valeur ; …`.
    fn targets_text(&self) -> String {
        let mut parts: Vec<String> = self
            .cells
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("cible_")?, v.trim())))
            .filter(|(_, v)| !v.is_empty())
            .map(|(y, v)| format!("{y} : {v}"))
            .collect();
        if !self.targets.trim().is_empty() {
            parts.push(self.targets.trim().to_owned());
        }
        parts.join(" ; ")
    }
}

pub(crate) fn parse_indicator(f: &IndicatorFields, errors: &mut FormErrors) -> Option<PlanIndicator> {
    let number = |raw: &str| raw.trim().replace(',', ".").replace([' ', '\u{a0}', '\u{202f}'], "").parse::<f64>();
    let qualitative = ctg_domain::plan::loose(&f.nature).starts_with("quali");
    let kind = if qualitative {
        IndicatorKind::Qualitative { scale: split_semicolons(&f.scale) }
    } else {
        let baseline = match f.baseline.trim() {
            "" => None,
            b => number(b).map_err(|_| errors.add("baseline", format!("valeur de référence invalide « {b} »"))).ok(),
        };
        let baseline_year = match f.baseline_year.trim() {
            "" => None,
            y => ctg_domain::parse::plan_year("baseline_year", y).map_err(|e| errors.add(&e.field, e.message)).ok(),
        };
        let direction = if ctg_domain::plan::loose(&f.direction).starts_with("baiss") {
            Direction::Decrease
        } else {
            Direction::Increase
        };
        IndicatorKind::Quantitative { unit: f.unit.trim().to_owned(), baseline, baseline_year, direction }
    };
    let mut targets = BTreeMap::new();
    for t in split_semicolons(&f.targets_text()) {
        let Some((y, val)) = t.split_once(':') else {
            errors.add("targets", format!("cible « {t} » : « année : valeur » attendu"));
            continue;
        };
        let y = match ctg_domain::parse::plan_year("targets", y) {
            Ok(y) => y,
            Err(e) => {
                errors.add(&e.field, format!("cible « {t} » : {}", e.message));
                continue;
            }
        };
        let target = if qualitative {
            Target::Level(val.trim().to_owned())
        } else {
            match number(val) {
                Ok(n) => Target::Number(n),
                Err(_) => {
                    errors.add("targets", format!("valeur invalide dans « {t} »"));
                    continue;
                }
            }
        };
        targets.insert(y, target);
    }
    let indicator = PlanIndicator { name: f.name.trim().to_owned(), kind, targets };
    if let Err(m) = indicator.check() {
        errors.add("name", m);
    }
    errors.is_empty().then_some(indicator)
}

pub(super) fn split_semicolons(raw: &str) -> Vec<String> {
    raw.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

pub async fn indicator_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<IndicatorFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditPlan, Some(id)).await?;
    let mut errors = FormErrors::new();
    let Some(indicator) = parse_indicator(&form, &mut errors) else {
        return fiche_page(
            &state,
            &auth,
            id,
            fid,
            errors,
            crate::views::Typed::of("indicateur", &form),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let iid = state.store.create_indicator(&auth.actor(Channel::Page), id, Some(fid), &indicator).await?;
    Ok(crate::flash::redirect(
        &format!("/conventions/{id}/plan/indicateurs/{iid}"),
        format!("Indicateur « {} » créé", indicator.name),
    ))
}
