//! What pages and API share: the territory of a convention, loaded and computed once.

use ctg_domain::{commune_change, territory_totals, Change, CommunePopulations, Vintage, VintageTotals};
use ctg_store::{ConventionSummary, EpciDetail};

use crate::{AppState, WebError};

/// The territory of a convention: its EPCI's communes, their populations per vintage, the totals
/// and the changes between vintages.
pub struct Territory {
    pub convention: ConventionSummary,
    pub epci: EpciDetail,
    pub vintages: Vec<Vintage>,
    pub totals: Vec<VintageTotals>,
    pub changes: Vec<Change>,
}

impl Territory {
    pub async fn load(state: &AppState, id: i64) -> Result<Self, WebError> {
        let convention = state.store.convention_summary(id).await?;
        let epci = state.store.epci(&convention.epci_siren).await?;
        let vintages = epci.vintages();
        let (totals, changes) = territory_totals(&epci.communes, &vintages);
        Ok(Self { convention, epci, vintages, totals, changes })
    }

    /// The change of a commune's total population between the first and the last vintage.
    pub fn commune_change(&self, c: &CommunePopulations) -> Option<Change> {
        match (self.vintages.first(), self.vintages.last()) {
            (Some(&a), Some(&b)) if a != b => commune_change(c, a, b),
            _ => None,
        }
    }
}

/// What the header of every page needs: who is logged in, and the CSRF token for the logout button.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    pub user_name: String,
    pub logged_in: bool,
    pub is_admin: bool,
    pub csrf: String,
    /// The path of the page, to mark the current link of the main menu.
    pub path: String,
    /// The confirmation of the write that led here, shown in a live region.
    pub flash: String,
    /// The sections of the convention of the path, if the page is one of a convention.
    pub workspace: Option<crate::workspace::Workspace>,
}

impl Nav {
    pub fn of(auth: &crate::auth::Auth) -> Self {
        let common = Self {
            path: auth.path.clone(),
            flash: auth.flash.clone().unwrap_or_default(),
            workspace: crate::workspace::Workspace::of(auth),
            ..Self::default()
        };
        match &auth.user {
            Some(u) => Self {
                user_name: u.name.clone(),
                logged_in: true,
                is_admin: u.is_admin,
                csrf: auth.csrf.clone().unwrap_or_default(),
                ..common
            },
            None => common,
        }
    }

    /// `aria-current="page"` for a link of the main menu to `href` on that page.
    pub fn current(&self, href: &str) -> &'static str {
        if self.path == href {
            "page"
        } else {
            ""
        }
    }
}

/// The problems of a submitted form: each tied to the field it concerns (`""` for the form as a
/// whole), so that templates put the message beside the field and `aria-describedby` on it.
#[derive(Debug, Clone, Default)]
pub struct FormErrors(pub Vec<(String, String)>);

impl FormErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push((field.to_owned(), message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message for `field`, or an empty string.
    pub fn get(&self, field: &str) -> &str {
        self.0.iter().find(|(f, _)| f == field).map_or("", |(_, m)| m.as_str())
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|(f, _)| f == field)
    }

    pub fn all(&self) -> &[(String, String)] {
        &self.0
    }
}

/// What a person typed in a form that came back with errors, so that every field shows it again:
/// the fields by their `name`, and which form of the page it was (`form`), to reopen it.
#[derive(Debug, Clone, Default)]
pub struct Typed {
    pub form: &'static str,
    values: std::collections::BTreeMap<String, String>,
}

impl Typed {
    /// The fields of `fields` (a form's `Deserialize + Serialize` struct), as typed in form `form`.
    pub fn of<T: serde::Serialize>(form: &'static str, fields: &T) -> Self {
        let values = match serde_json::to_value(fields) {
            Ok(serde_json::Value::Object(map)) => map
                .into_iter()
                .map(|(k, v)| {
                    let text = match v {
                        serde_json::Value::String(s) => s,
                        serde_json::Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    (k, text)
                })
                .collect(),
            _ => Default::default(),
        };
        Self { form, values }
    }

    /// Whether the page comes back from form `form`.
    pub fn is(&self, form: &str) -> bool {
        self.form == form
    }

    /// What was typed in field `name`, or an empty string.
    pub fn get(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    /// What was typed in field `name` when the page comes back from a form, `default` otherwise.
    pub fn or<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        if self.form.is_empty() {
            default
        } else {
            self.get(name)
        }
    }
}

/// Parses an optional date field of a form (`AAAA-MM-JJ`, as `<input type="date">` sends it, or
/// `JJ/MM/AAAA`: [`ctg_domain::parse::optional_date`]).
pub fn form_date(errors: &mut FormErrors, field: &str, raw: &str) -> Option<chrono::NaiveDate> {
    ctg_domain::parse::optional_date(field.to_owned(), raw).map_err(|e| errors.add(&e.field, e.message)).ok()?
}

/// The dated parameter that holds the threshold of statistical confidentiality (default 5).
pub const MASKING_PARAMETER: &str = "seuil_secret_statistique";

/// One row of the diagnostic: an indicator for a period, on a commune (when one is chosen), the EPCI,
/// its département and France.
#[derive(Debug, Clone)]
pub struct DiagnosticRow {
    pub indicator: &'static ctg_domain::diagnostic::IndicatorDef,
    pub period: String,
    pub commune: Option<f64>,
    pub epci: Option<f64>,
    pub departement: Option<f64>,
    pub france: Option<f64>,
    /// Values hidden from the public by statistical confidentiality.
    pub masked: bool,
    /// Where this row's values come from, as each observation gives it (the catalogue's source when
    /// none does).
    pub source: String,
}

/// The diagnostic of a convention, by theme in the order of the catalogue.
pub struct Diagnostic {
    pub convention: ConventionSummary,
    pub epci: EpciDetail,
    pub departement: Option<String>,
    /// The commune compared, when one is chosen: its code and name.
    pub commune: Option<(ctg_domain::InseeCode, String)>,
    pub themes: Vec<(&'static str, Vec<DiagnosticRow>)>,
}

impl Diagnostic {
    /// `mask` hides protected counts below the threshold in force today (for the public); `commune`
    /// adds a member commune beside the EPCI (its legal populations come from the territory).
    pub async fn load(state: &AppState, id: i64, mask: bool, commune: Option<&str>) -> Result<Self, WebError> {
        use ctg_domain::diagnostic::{Area, AreaKind, Observation, INDICATORS};
        let convention = state.store.convention_summary(id).await?;
        let epci = state.store.epci(&convention.epci_siren).await?;
        let commune = match commune.map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(code) => Some(
                epci.communes
                    .iter()
                    .find(|c| c.code.as_str() == code)
                    .map(|c| (c.code.clone(), c.name.clone()))
                    .ok_or_else(|| {
                        WebError::BadRequest(format!("la commune « {code} » n'est pas membre de l'intercommunalité"))
                    })?,
            ),
        };
        // The département of most of the EPCI's communes.
        let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for c in &epci.communes {
            *counts.entry(c.code.departement()).or_default() += 1;
        }
        let departement = counts.iter().max_by_key(|(_, n)| **n).map(|(d, _)| (*d).to_owned());
        let mut areas = vec![
            Area { kind: AreaKind::Epci, code: convention.epci_siren.to_string() },
            Area { kind: AreaKind::France, code: "FR".into() },
        ];
        if let Some(d) = &departement {
            areas.push(Area { kind: AreaKind::Departement, code: d.clone() });
        }
        if let Some((code, _)) = &commune {
            areas.push(Area { kind: AreaKind::Commune, code: code.to_string() });
        }
        let mut observations = state.store.observations(&areas).await?;
        // A commune's legal population is known from the territory even without an observation.
        if let Some((code, _)) = &commune {
            if let Some(c) = epci.communes.iter().find(|c| c.code == *code) {
                for (v, p) in &c.by_vintage {
                    let period = v.to_string();
                    let known = observations.iter().any(|o| {
                        o.indicator == "population_municipale" && o.area.kind == AreaKind::Commune && o.period == period
                    });
                    if let (Some(m), false) = (p.municipal, known) {
                        observations.push(Observation {
                            indicator: "population_municipale".into(),
                            area: Area { kind: AreaKind::Commune, code: code.to_string() },
                            period,
                            value: m as f64,
                            source: "Insee, populations légales".into(),
                            data_date: None,
                        });
                    }
                }
            }
        }
        let threshold = state.store.parameter(MASKING_PARAMETER, 5).await?.on(state.today());
        let mut themes: Vec<(&'static str, Vec<DiagnosticRow>)> = Vec::new();
        for def in INDICATORS {
            let mut periods: Vec<&str> =
                observations.iter().filter(|o| o.indicator == def.code).map(|o| o.period.as_str()).collect();
            periods.sort_unstable();
            periods.dedup();
            for period in periods {
                let value = |kind: AreaKind| {
                    observations
                        .iter()
                        .find(|o| o.indicator == def.code && o.period == period && o.area.kind == kind)
                        .map(|o| o.value)
                };
                let values = [
                    value(AreaKind::Commune),
                    value(AreaKind::Epci),
                    value(AreaKind::Departement),
                    value(AreaKind::France),
                ];
                let small = |v: &Option<f64>| v.is_some_and(|v| v > 0.0 && v < threshold as f64);
                let masked = mask && def.protected && values.iter().any(small);
                let shown = |v: Option<f64>| if masked { None } else { v };
                let mut sources: Vec<&str> = observations
                    .iter()
                    .filter(|o| o.indicator == def.code && o.period == period && !o.source.trim().is_empty())
                    .map(|o| o.source.trim())
                    .collect();
                sources.sort_unstable();
                sources.dedup();
                let source = if sources.is_empty() { def.source.to_owned() } else { sources.join(" ; ") };
                let row = DiagnosticRow {
                    source,
                    indicator: def,
                    period: period.to_owned(),
                    commune: shown(values[0]),
                    epci: shown(values[1]),
                    departement: shown(values[2]),
                    france: shown(values[3]),
                    masked,
                };
                match themes.iter_mut().find(|(t, _)| *t == def.theme) {
                    Some((_, rows)) => rows.push(row),
                    None => themes.push((def.theme, vec![row])),
                }
            }
        }
        Ok(Self { convention, epci, departement, commune, themes })
    }
}

/// For each indicator of these rows known on the EPCI for two periods or more (and not masked), its
/// change from the first period to the last.
pub fn changes(
    rows: &[DiagnosticRow],
) -> Vec<(&'static ctg_domain::diagnostic::IndicatorDef, ctg_domain::diagnostic::PeriodChange)> {
    let mut out = Vec::new();
    let mut codes: Vec<&str> = rows.iter().map(|r| r.indicator.code).collect();
    codes.dedup();
    for code in codes {
        let known: Vec<&DiagnosticRow> =
            rows.iter().filter(|r| r.indicator.code == code && r.epci.is_some() && !r.masked).collect();
        if let (Some(first), Some(last)) = (known.first(), known.last()) {
            if known.len() >= 2 {
                let (Some(before), Some(after)) = (first.epci, last.epci) else { continue };
                let def = first.indicator;
                out.push((
                    def,
                    ctg_domain::diagnostic::period_change(&first.period, before, &last.period, after, def.unit == "%"),
                ));
            }
        }
    }
    out
}

/// A figure the French way: `278 431`, `18,6`, `2,29`.
pub fn french_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        ctg_domain::format::integer(v as i64)
    } else {
        let s = format!("{:.2}", v);
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.replace('.', ",").replace('-', "−")
    }
}
