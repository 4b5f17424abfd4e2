//! An indicator: its page, chart and values.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// An indicator

#[derive(Template)]
#[template(path = "indicator.html")]
pub(super) struct IndicatorPage {
    nav: Nav,
    id: i64,
    title: String,
    indicator_id: i64,
    name: String,
    fiche: Option<(i64, String)>,
    tracking: String,
    tracking_code: &'static str,
    definition: Vec<(&'static str, String)>,
    chart: String,
    rows: Vec<(String, String, String, String, String, String, String)>,
    can_report: bool,
    qualitative: bool,
    scale: Vec<String>,
    errors: FormErrors,
    today: String,
    /// Shown on the public page and in the open data; the coordination decides.
    published: bool,
    can_publish: bool,
    convention_published: bool,
    /// What was typed in the value form that came back with errors.
    typed: crate::views::Typed,
}

pub(super) async fn indicator_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    iid: i64,
    errors: FormErrors,
    typed: crate::views::Typed,
    status: StatusCode,
) -> Result<Response, PageError> {
    let v = PlanView::load(state, id).await?;
    let i = v
        .plan
        .indicators
        .iter()
        .find(|i| i.id == iid)
        .ok_or_else(|| WebError::NotFound(format!("l'indicateur n° {iid} n'existe pas dans cette convention")))?;
    let fiche = i.fiche_id.and_then(|f| v.plan.fiches.iter().find(|x| x.id == f));
    let can_report = match fiche {
        Some(f) => may_report(state, auth, id, &f.fiche).await,
        None => state.may(auth, Action::EditPlan, Some(id)).await,
    };
    let (qualitative, scale, unit) = match &i.indicator.kind {
        IndicatorKind::Qualitative { scale } => (true, scale.clone(), String::new()),
        IndicatorKind::Quantitative { unit, .. } => (false, Vec::new(), unit.clone()),
    };
    let mut definition = vec![("Nature", if qualitative { "qualitatif".to_owned() } else { "quantitatif".to_owned() })];
    match &i.indicator.kind {
        IndicatorKind::Quantitative { unit, baseline, baseline_year, direction } => {
            definition.push(("Unité", if unit.is_empty() { "—".into() } else { unit.clone() }));
            definition.push((
                "Valeur de référence",
                match (baseline, baseline_year) {
                    (Some(b), Some(y)) => format!("{} ({y})", french_number(*b)),
                    (Some(b), None) => french_number(*b),
                    _ => "—".into(),
                },
            ));
            definition.push((
                "Sens",
                if *direction == Direction::Increase { "à la hausse".into() } else { "à la baisse".into() },
            ));
        }
        IndicatorKind::Qualitative { scale } => definition.push(("Échelle", scale.join(" < "))),
    }
    definition.push((
        "Cibles",
        if i.indicator.targets.is_empty() {
            "aucune".into()
        } else {
            i.indicator.targets.iter().map(|(y, t)| format!("{y} : {}", target_text(t))).collect::<Vec<_>>().join(" ; ")
        },
    ));
    // The chart: values against targets, year by year.
    let chart = if qualitative {
        String::new()
    } else {
        indicator_chart(iid, &i.indicator.name, &unit, &i.indicator.targets, &i.values)
    };
    let page = IndicatorPage {
        nav: Nav::of(auth),
        typed,
        id,
        title: v.convention.title.clone(),
        indicator_id: iid,
        name: i.indicator.name.clone(),
        fiche: fiche.map(|f| (f.id, format!("{} : {}", f.fiche.code, f.fiche.title))),
        tracking: v.tracking[&iid].label(),
        tracking_code: v.tracking[&iid].code(),
        definition,
        chart,
        rows: i
            .values
            .iter()
            .map(|x| {
                let target =
                    x.year().and_then(|y| i.indicator.target_for(y)).map(target_text).unwrap_or_else(|| "—".into());
                (
                    x.period.clone(),
                    match (&x.number, &x.level) {
                        (Some(n), _) => french_number(*n),
                        (None, Some(l)) => l.clone(),
                        _ => "—".into(),
                    },
                    target,
                    x.author.clone(),
                    x.date.format("%d/%m/%Y").to_string(),
                    x.source.clone(),
                    x.comment.clone(),
                )
            })
            .collect(),
        can_report,
        qualitative,
        scale,
        errors,
        today: v.today.to_string(),
        published: i.published,
        can_publish: state.may(auth, Action::EditPlan, Some(id)).await,
        convention_published: state.store.convention_summary(id).await?.published,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// Bars for the values of each year and a mark for each target, as SVG.
pub(super) fn indicator_chart(
    iid: i64,
    name: &str,
    unit: &str,
    targets: &BTreeMap<i32, Target>,
    values: &[IndicatorValue],
) -> String {
    let mut by_year: BTreeMap<i32, f64> = BTreeMap::new();
    for v in values {
        // A value stored before numbers were bounded may be huge or not finite: never drawn as such.
        if let (Some(y), Some(n)) = (v.year(), v.number.filter(|n| n.is_finite())) {
            by_year.insert(y, n);
        }
    }
    let mut years: Vec<i32> = by_year.keys().chain(targets.keys()).copied().collect();
    years.sort_unstable();
    years.dedup();
    if years.is_empty() {
        return String::new();
    }
    let target_of = |y: i32| match targets.range(..=y).next_back() {
        Some((_, Target::Number(n))) if n.is_finite() => Some(*n),
        _ => None,
    };
    let max =
        years.iter().flat_map(|y| [by_year.get(y).copied(), target_of(*y)]).flatten().fold(0.0_f64, f64::max).max(1.0);
    let (w, h, left, bottom, top) = (560.0, 240.0, 50.0, 200.0, 30.0);
    let slot = (w - left - 10.0) / years.len() as f64;
    // The ratio first, so that a huge value does not overflow to infinity (`y="inf"`); within the plot.
    let y_of = |v: f64| bottom - (bottom - top) * (v / max).clamp(0.0, 1.0);
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-labelledby=\"indicateur-{iid}-titre\">\
         <title id=\"indicateur-{iid}-titre\">{} : valeurs (barres) et cibles (traits){}</title>\
         <line x1=\"{left}\" y1=\"{bottom}\" x2=\"{}\" y2=\"{bottom}\" stroke=\"#333\"/>",
        esc(name),
        if unit.is_empty() { String::new() } else { format!(", en {}", esc(unit)) },
        w - 10.0
    );
    svg.push_str(&format!("<text x=\"4\" y=\"{top}\" font-size=\"11\">{}</text>", esc(&french_number(max))));
    for (k, y) in years.iter().enumerate() {
        let x = left + slot * k as f64;
        if let Some(v) = by_year.get(y) {
            svg.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#1565c0\"><title>{y} : {}</title></rect>",
                x + slot * 0.2,
                y_of(*v),
                slot * 0.6,
                bottom - y_of(*v),
                esc(&french_number(*v))
            ));
        }
        if let Some(t) = target_of(*y) {
            svg.push_str(&format!(
                "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#c9191e\" stroke-width=\"3\"><title>cible {y} : {}</title></line>",
                x + slot * 0.1,
                y_of(t),
                x + slot * 0.9,
                y_of(t),
                esc(&french_number(t))
            ));
        }
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{y}</text>",
            x + slot / 2.0,
            bottom + 16.0
        ));
    }
    svg.push_str("</svg>");
    svg
}

pub async fn indicator(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, iid)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    indicator_page(&state, &auth, id, iid, FormErrors::new(), Default::default(), StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
pub struct PublicationFields {
    #[serde(default)]
    pub publier: String,
}

/// Shows or hides an indicator on the public page and in the open data (the coordination decides).
pub async fn indicator_publication(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, iid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<PublicationFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditPlan, Some(id)).await?;
    let published = match form.publier.trim() {
        "oui" => true,
        "non" => false,
        other => {
            return Err(WebError::BadRequest(format!(
                "champ « publier » invalide « {other} » : « oui » ou « non » est attendu"
            ))
            .into())
        }
    };
    state.store.set_indicator_published(&auth.actor(Channel::Page), id, iid, published).await?;
    let message = if published {
        "Indicateur publié : il figure sur la page publique et dans les données ouvertes de la convention"
    } else {
        "Indicateur retiré de la page publique et des données ouvertes"
    };
    Ok(crate::flash::redirect(&format!("/conventions/{id}/plan/indicateurs/{iid}#publication"), message))
}

#[derive(Debug, Default, Deserialize, serde::Serialize)]
pub struct ValueFields {
    #[serde(default)]
    pub period: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub comment: String,
}

pub async fn value_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, iid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<ValueFields>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let plan = state.store.plan(id).await?;
    let i = plan
        .indicators
        .iter()
        .find(|i| i.id == iid)
        .ok_or_else(|| WebError::NotFound(format!("l'indicateur n° {iid} n'existe pas dans cette convention")))?;
    match i.fiche_id.and_then(|f| plan.fiches.iter().find(|x| x.id == f)) {
        Some(f) => authorize_report(&state, &auth, id, &f.fiche).await?,
        None => state.authorize_write(&auth, Action::EditPlan, Some(id)).await?,
    }
    let mut errors = FormErrors::new();
    let (number, level) = match &i.indicator.kind {
        IndicatorKind::Qualitative { .. } => (None, Some(form.value.trim().to_owned())),
        IndicatorKind::Quantitative { .. } => {
            match form.value.trim().replace(',', ".").replace([' ', '\u{a0}', '\u{202f}'], "").parse::<f64>() {
                Ok(n) if n.is_finite() => (Some(n), None),
                _ => {
                    errors.add("value", format!("valeur invalide « {} » : un nombre est attendu", form.value.trim()));
                    (None, None)
                }
            }
        }
    };
    let date = form_date(&mut errors, "date", &form.date).unwrap_or_else(|| state.today());
    if !errors.is_empty() {
        return indicator_page(
            &state,
            &auth,
            id,
            iid,
            errors,
            crate::views::Typed::of("valeur", &form),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let author = auth.user.as_ref().map(|u| u.name.clone()).unwrap_or_default();
    let value = IndicatorValue {
        period: form.period.trim().to_owned(),
        number,
        level,
        author,
        date,
        source: form.source.trim().to_owned(),
        comment: form.comment.trim().to_owned(),
    };
    match state.store.add_indicator_value(&auth.actor(Channel::Page), id, iid, &value).await {
        Ok(_) => Ok(crate::flash::redirect(
            &format!("/conventions/{id}/plan/indicateurs/{iid}"),
            format!("Valeur {} enregistrée", value.period),
        )),
        Err(StoreError::Invalid(m)) => {
            let mut errors = FormErrors::new();
            errors.add("", m);
            indicator_page(
                &state,
                &auth,
                id,
                iid,
                errors,
                crate::views::Typed::of("valeur", &form),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}

/// A target as people read it: a number the French way, or a level of the scale.
pub(crate) fn target_text(t: &Target) -> String {
    match t {
        Target::Number(n) => french_number(*n),
        Target::Level(l) => l.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_never_writes_a_non_finite_coordinate() {
        let value = |period: &str, n: f64| IndicatorValue {
            period: period.into(),
            number: Some(n),
            level: None,
            author: String::new(),
            date: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            source: String::new(),
            comment: String::new(),
        };
        let targets = BTreeMap::from([(2026, Target::Number(1e308)), (2028, Target::Number(f64::INFINITY))]);
        let svg = indicator_chart(
            1,
            "n",
            "",
            &targets,
            &[value("2026", 1e308), value("2027", f64::NAN), value("2028", -5.0)],
        );
        assert!(!svg.contains("inf") && !svg.contains("NaN"), "{svg}");
        assert!(!svg.contains("height=\"-"), "{svg}");
    }
}
