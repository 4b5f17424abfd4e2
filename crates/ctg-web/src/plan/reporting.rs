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
    /// One line per signatory and year: organisation ; année ; ETP ; prévu ; dépensé ; nature ; matériel.
    #[serde(default)]
    pub means: String,
    /// Set by the page's grid (one row per party, one column per year of planned amounts).
    #[serde(default)]
    pub grid: String,
    /// How many rows the grid had.
    #[serde(default)]
    pub rows: String,
    /// `ajouter` adds a row to the grid and shows it again, saving nothing.
    #[serde(default)]
    pub action: String,
    /// The grid's cells: `partie_N` (a party id) and `prevu_N_AAAA` (euros, « 1 234,56 »).
    #[serde(flatten)]
    pub cells: BTreeMap<String, String>,
}

/// A row of the means grid: a party id and its planned amount per year (`None`: blank).
type GridLine = (i64, Vec<(i32, Option<i64>)>);

/// The grid of means as typed: for each row, its party (if chosen) and its cells by year.
fn read_grid(
    form: &MeansFields,
    years: &[i32],
    parties: &[ctg_domain::funds::PartyRef],
    errors: &mut FormErrors,
) -> Vec<GridLine> {
    let rows: usize = form.rows.trim().parse().unwrap_or(0).min(200);
    let cell = |k: String| form.cells.get(&k).map_or("", |v| v.trim());
    let mut out: Vec<GridLine> = Vec::new();
    for i in 0..rows {
        let party = cell(format!("partie_{i}"));
        let mut cells = Vec::new();
        for y in years {
            let key = format!("prevu_{i}_{y}");
            let raw = cell(key.clone());
            let amount = if raw.is_empty() {
                None
            } else {
                match ctg_domain::offer::parse_euros(raw) {
                    Ok(c) => Some(c),
                    Err(m) => {
                        errors.add(&key, format!("{y}, ligne {} : {m}", i + 1));
                        None
                    }
                }
            };
            cells.push((*y, amount));
        }
        if party.is_empty() {
            if cells.iter().any(|(_, a)| a.is_some()) {
                errors.add(
                    &format!("partie_{i}"),
                    format!("ligne {} : choisissez la partie qui engage ces montants", i + 1),
                );
            }
            continue;
        }
        let Some(p) = party.parse::<i64>().ok().filter(|p| parties.iter().any(|x| x.id == *p)) else {
            errors.add(&format!("partie_{i}"), format!("ligne {} : partie inconnue", i + 1));
            continue;
        };
        if out.iter().any(|(q, _)| *q == p) {
            errors.add(&format!("partie_{i}"), format!("ligne {} : cette partie a déjà une ligne", i + 1));
            continue;
        }
        out.push((p, cells));
    }
    out
}

/// The means with the grid's planned amounts: a cell sets the planned amount of its party and
/// year (keeping its staff, spending and material); an emptied cell makes it unknown, and removes
/// a line that had nothing else.
fn merge_grid(existing: &[Means], grid: &[GridLine], parties: &[ctg_domain::funds::PartyRef]) -> Vec<Means> {
    let mut out: Vec<Means> = existing.to_vec();
    for (party, cells) in grid {
        for (year, amount) in cells {
            match out.iter().position(|m| m.party_id == *party && m.year == *year) {
                Some(i) => {
                    let m = &mut out[i];
                    m.planned_cents = *amount;
                    if amount.is_none() && m.fte_hundredths == 0 && m.spent_cents.is_none() && m.material.is_empty() {
                        out.remove(i);
                    }
                }
                None => {
                    if let Some(c) = amount {
                        out.push(Means {
                            party_id: *party,
                            organisation: parties
                                .iter()
                                .find(|p| p.id == *party)
                                .map(|p| p.label().to_owned())
                                .unwrap_or_default(),
                            year: *year,
                            fte_hundredths: 0,
                            planned_cents: Some(*c),
                            spent_cents: None,
                            kind: MeansKind::Operating,
                            material: String::new(),
                        });
                    }
                }
            }
        }
    }
    out.sort_by_key(|m| (parties.iter().position(|p| p.id == m.party_id), m.year));
    out
}

/// Reads the means typed one per line; errors name the line.
/// The organisation of a line names a party of the convention (`parties`, compared loosely); a blank
/// amount is unknown, never 0.
pub(crate) fn parse_means(raw: &str, parties: &[ctg_domain::funds::PartyRef], errors: &mut FormErrors) -> Vec<Means> {
    let mut out = Vec::new();
    for (i, line) in raw.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let n = i + 1;
        let cells: Vec<&str> = line.split(';').map(str::trim).collect();
        let cell = |k: usize| cells.get(k).copied().unwrap_or("");
        let mut bad = |m: String| errors.add("means", format!("ligne {n} : {m}"));
        let party = match ctg_domain::funds::match_party(parties, cell(0)) {
            Ok(p) => p,
            Err(e) => {
                bad(e);
                continue;
            }
        };
        let year = match ctg_domain::parse::plan_year("means", cell(1)) {
            Ok(year) => year,
            Err(e) => {
                bad(e.message);
                continue;
            }
        };
        let fte = match cell(2).replace(',', ".").parse::<f64>() {
            Ok(f) if f >= 0.0 => (f * 100.0).round() as i64,
            _ if cell(2).is_empty() => 0,
            _ => {
                bad(format!("ETP invalide « {} »", cell(2)));
                continue;
            }
        };
        let money = |raw: &str| if raw.is_empty() { Ok(None) } else { ctg_domain::offer::parse_euros(raw).map(Some) };
        let (Ok(planned), Ok(spent)) = (money(cell(3)), money(cell(4))) else {
            bad("montant invalide : un nombre d'euros est attendu, par exemple 1 234,56".into());
            continue;
        };
        let kind = match ctg_domain::plan::loose(cell(5)).as_str() {
            "" | "fonctionnement" => MeansKind::Operating,
            "investissement" => MeansKind::Investment,
            other => {
                bad(format!("nature inconnue « {other} » (fonctionnement ou investissement)"));
                continue;
            }
        };
        let m = Means {
            party_id: party.id,
            organisation: party.label().to_owned(),
            year,
            fte_hundredths: fte,
            planned_cents: planned,
            spent_cents: spent,
            kind,
            material: cell(6).to_owned(),
        };
        match m.check() {
            Ok(()) => out.push(m),
            Err(e) => bad(e),
        }
    }
    out
}

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
    let means = if form.grid.is_empty() {
        parse_means(&form.means, &v.parties, &mut errors)
    } else {
        let years: Vec<i32> = (v.convention.start.year()..=v.convention.end.year()).collect();
        let grid = read_grid(&form, &years, &v.parties, &mut errors);
        if form.action == "ajouter" && errors.is_empty() {
            // A row more, everything typed kept, nothing saved yet.
            let typed = crate::views::Typed::of("moyens-grille", &form);
            return fiche_page(&state, &auth, id, fid, FormErrors::new(), typed, StatusCode::OK).await;
        }
        let merged = merge_grid(&f.means, &grid, &v.parties);
        for m in &merged {
            if let Err(e) = m.check() {
                errors.add("", format!("{} {} : {e}", m.organisation, m.year));
            }
        }
        merged
    };
    if !errors.is_empty() {
        return fiche_page(
            &state,
            &auth,
            id,
            fid,
            errors,
            crate::views::Typed::of(if form.grid.is_empty() { "moyens" } else { "moyens-grille" }, &form),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    state.store.set_means(&auth.actor(Channel::Page), id, fid, &means).await?;
    Ok(crate::flash::redirect(&format!("/conventions/{id}/plan/fiches/{fid}"), "Moyens enregistrés"))
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
