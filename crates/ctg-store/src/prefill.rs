//! « Préremplir le diagnostic » : the diagnostic of a convention's EPCI built from the open data held
//! (`open_observation`), at commune, EPCI, département and France level, each figure with its source;
//! what was filled, what is missing and why.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use ctg_domain::diagnostic::{indicator, Area, AreaKind, Observation};
use ctg_domain::opendata::PREFILLED;
use ctg_domain::Actor;
use serde::Serialize;

use crate::{OpenRecord, Result, Store};

/// One line of the report: an indicator at one level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrefillLine {
    pub indicator: &'static str,
    pub label: &'static str,
    /// `Commune`, `Intercommunalité`, `Département`, `France`.
    pub level: &'static str,
    /// What was filled (years, communes) or why it is missing, in French.
    pub detail: String,
    /// The sources of the figures written (file, vintage, import date).
    pub source: String,
}

/// What a prefill did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PrefillReport {
    pub epci_name: String,
    pub departement: String,
    /// The year of the coverage rate of the EPCI, for which its components are taken.
    pub coverage_year: Option<i32>,
    pub filled: Vec<PrefillLine>,
    pub missing: Vec<PrefillLine>,
    /// Figures already in the diagnostic from another source, left as they were.
    pub kept: Vec<PrefillLine>,
    /// Observations written.
    pub written: u64,
}

/// The components of the CNAF coverage rate, taken for the year of the global rate.
const COVERAGE_FAMILY: [&str; 8] = [
    "taux_couverture_global",
    "taux_couverture_eaje",
    "taux_couverture_accueil_individuel",
    "taux_couverture_eaje_psu",
    "taux_couverture_eaje_hors_psu",
    "taux_couverture_prescolarisation",
    "taux_couverture_assistants_maternels",
    "taux_couverture_garde_domicile",
];

impl Store {
    /// Builds the diagnostic of the convention's EPCI from the open data held, and writes it (one
    /// transaction). A figure already in the diagnostic with another source is kept, and reported.
    pub async fn prefill_diagnostic(&self, actor: &Actor, convention_id: i64) -> Result<PrefillReport> {
        let convention = self.convention_summary(convention_id).await?;
        let epci = self.epci(&convention.epci_siren).await?;
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for c in &epci.communes {
            *counts.entry(c.code.departement()).or_default() += 1;
        }
        let departement = counts.iter().max_by_key(|(_, n)| **n).map(|(d, _)| (*d).to_owned()).unwrap_or_default();
        let members: Vec<String> = epci.communes.iter().map(|c| c.code.to_string()).collect();
        let mut areas: Vec<(AreaKind, String)> = vec![
            (AreaKind::Epci, epci.siren.to_string()),
            (AreaKind::Departement, departement.clone()),
            (AreaKind::France, "FR".to_owned()),
        ];
        areas.extend(members.iter().map(|c| (AreaKind::Commune, c.clone())));
        let held = self.open_observations(&areas).await?;
        let existing: Vec<Observation> = self
            .observations(&areas.iter().map(|(k, c)| Area { kind: *k, code: c.clone() }).collect::<Vec<_>>())
            .await?;
        let existing: BTreeMap<(String, AreaKind, String, String), String> =
            existing.into_iter().map(|o| ((o.indicator, o.area.kind, o.area.code, o.period), o.source)).collect();

        let coverage_year = held
            .iter()
            .filter(|r| r.indicator_code == "taux_couverture_global" && r.area_kind == "epci")
            .map(|r| r.year as i32)
            .max();
        let mut report = PrefillReport {
            epci_name: epci.name.clone(),
            departement: departement.clone(),
            coverage_year,
            ..PrefillReport::default()
        };
        let mut rows: Vec<Observation> = Vec::new();
        for (code, hint) in PREFILLED {
            let Some(def) = indicator(code) else { continue };
            for kind in AreaKind::ALL {
                let of_level: Vec<&OpenRecord> =
                    held.iter().filter(|r| r.indicator_code == *code && r.area_kind == kind.code()).collect();
                let line = |detail: String, source: String| PrefillLine {
                    indicator: def.code,
                    label: def.label,
                    level: kind.label(),
                    detail,
                    source,
                };
                if of_level.is_empty() {
                    let why = match kind {
                        AreaKind::Commune if hint.starts_with("txcouv") || hint.starts_with("nbpla") => format!(
                            "aucune commune de l'EPCI n'a de ligne dans {hint} (la CNAF ne publie que les communes assez grandes ; la valeur de l'intercommunalité vaut pour les autres)"
                        ),
                        AreaKind::Departement if departement.is_empty() => {
                            "le département de l'intercommunalité est inconnu (territoire non chargé)".to_owned()
                        }
                        _ => format!("aucun chiffre dans les données ouvertes importées : importez {hint}"),
                    };
                    report.missing.push(line(why, String::new()));
                    continue;
                }
                let mut years: BTreeSet<i64> = BTreeSet::new();
                let mut sources: BTreeSet<String> = BTreeSet::new();
                let mut kept: BTreeSet<String> = BTreeSet::new();
                let mut communes: HashSet<&str> = HashSet::new();
                for r in &of_level {
                    let period = r.year.to_string();
                    let key = (r.indicator_code.clone(), kind, r.area_code.clone(), period.clone());
                    let source = match &r.note {
                        Some(note) => format!("{} ; {note}", r.source_text()),
                        None => r.source_text(),
                    };
                    if let Some(other) = existing.get(&key).filter(|s| **s != source) {
                        kept.insert(other.clone());
                        continue;
                    }
                    years.insert(r.year);
                    sources.insert(r.source_text());
                    communes.insert(r.area_code.as_str());
                    rows.push(Observation {
                        indicator: def.code.to_owned(),
                        area: Area { kind, code: r.area_code.clone() },
                        period,
                        value: r.value,
                        source,
                        data_date: None,
                    });
                }
                if !kept.is_empty() {
                    report.kept.push(line(
                        "déjà renseigné par une autre source, gardé tel quel".to_owned(),
                        kept.into_iter().collect::<Vec<_>>().join(" ; "),
                    ));
                }
                if years.is_empty() {
                    continue;
                }
                let years_text = years.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
                let mut detail = match kind {
                    AreaKind::Commune => format!(
                        "{} commune(s) sur {} ({years_text}){}",
                        communes.len(),
                        members.len(),
                        if communes.len() < members.len() && (hint.starts_with("txcouv") || hint.starts_with("nbpla")) {
                            " ; les autres n'ont pas de ligne publiée : la valeur de l'intercommunalité vaut pour elles"
                        } else {
                            ""
                        }
                    ),
                    _ => years_text,
                };
                // The coverage rate and its components for one and the same year.
                if kind == AreaKind::Epci && COVERAGE_FAMILY.contains(&code) {
                    if let Some(y) = coverage_year {
                        if !years.contains(&i64::from(y)) {
                            report.missing.push(line(
                                format!("pas de chiffre pour {y}, l'année du taux de couverture global : le taux et ses composantes ne se mélangent pas d'une année à l'autre"),
                                String::new(),
                            ));
                        } else if code != "taux_couverture_global" {
                            detail.push_str(&format!(" ; composante du taux global de {y}"));
                        }
                    }
                }
                report.filled.push(line(detail, sources.into_iter().collect::<Vec<_>>().join(" ; ")));
            }
        }
        if !rows.is_empty() {
            report.written = self
                .import_observations(actor, &rows, &format!("préremplissage du diagnostic de {}", epci.name))
                .await?;
        }
        Ok(report)
    }
}
