//! The service public de la petite enfance (CASF art. L. 214-1-3, since 1 January 2025): every commune
//! is autorité organisatrice, with obligations that grow with its population. Pure rules, tested at
//! their thresholds; the thresholds and dates are dated parameters, which a later law can move.
//!
//! - every commune: recenser les besoins des enfants de moins de 3 ans et de leurs familles, informer
//!   et accompagner les familles;
//! - more than 3,500 inhabitants: also planifier le développement de l'offre, soutenir la qualité;
//! - more than 10,000 inhabitants: also a schéma pluriannuel de maintien et de développement de l'offre
//!   (unless a convention with the CAF covers it: a CTG can), and a relais petite enfance from
//!   1 January 2026;
//! - when the EPCI exercises the competence, the population counted is the total of the communes that
//!   transferred it to the EPCI, and the EPCI holds their obligations.
//!
//! The population is the legal population totale of the latest vintage held (CGCT art. R. 2151-2: the
//! figure to use for applying laws and regulations).

use chrono::NaiveDate;
use serde::Serialize;

use crate::diagnostic::DatedParameter;

/// The codes of the dated parameters, as `ctg parametre` names them.
pub const PLANNING_THRESHOLD: &str = "sppe_seuil_planification";
pub const SCHEMA_THRESHOLD: &str = "sppe_seuil_schema";
pub const RPE_REQUIRED: &str = "sppe_rpe_obligatoire";
pub const IN_FORCE: &str = "sppe_en_vigueur";

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// The parameters of the SPPE as the law sets them, each dated; what is stored under the same code
/// is added to them (a stored value wins on its date).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SppeParameters {
    /// Population above which a commune must plan the offer and support its quality.
    pub planning_threshold: DatedParameter<i64>,
    /// Population above which a commune must have a schéma pluriannuel and an RPE.
    pub schema_threshold: DatedParameter<i64>,
    /// 1 when the RPE is required above the schema threshold (from 1 January 2026).
    pub rpe_required: DatedParameter<i64>,
    /// 1 when the SPPE is in force (from 1 January 2025).
    pub in_force: DatedParameter<i64>,
}

impl Default for SppeParameters {
    fn default() -> Self {
        Self {
            planning_threshold: DatedParameter { values: vec![(day(2025, 1, 1), 3_500)], default: 3_500 },
            schema_threshold: DatedParameter { values: vec![(day(2025, 1, 1), 10_000)], default: 10_000 },
            rpe_required: DatedParameter { values: vec![(day(2026, 1, 1), 1)], default: 0 },
            in_force: DatedParameter { values: vec![(day(2025, 1, 1), 1)], default: 0 },
        }
    }
}

impl SppeParameters {
    /// The parameters with values stored under `code` added (each replaces the built-in value of the
    /// same date).
    pub fn with_stored(mut self, code: &str, stored: &[(NaiveDate, i64)]) -> Self {
        let target = match code {
            PLANNING_THRESHOLD => &mut self.planning_threshold,
            SCHEMA_THRESHOLD => &mut self.schema_threshold,
            RPE_REQUIRED => &mut self.rpe_required,
            IN_FORCE => &mut self.in_force,
            _ => return self,
        };
        for (date, value) in stored {
            target.values.retain(|(d, _)| d != date);
            target.values.push((*date, *value));
        }
        self
    }

    pub fn rules_on(&self, on: NaiveDate) -> SppeRules {
        SppeRules {
            on,
            planning_threshold: self.planning_threshold.on(on),
            schema_threshold: self.schema_threshold.on(on),
            rpe_required: self.rpe_required.on(on) != 0,
            in_force: self.in_force.on(on) != 0,
        }
    }
}

/// The rules in force on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SppeRules {
    pub on: NaiveDate,
    pub planning_threshold: i64,
    pub schema_threshold: i64,
    pub rpe_required: bool,
    pub in_force: bool,
}

/// One obligation of an autorité organisatrice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Obligation {
    Recenser,
    Informer,
    Planifier,
    SoutenirQualite,
    Schema,
    Rpe,
}

impl Obligation {
    pub fn label(self) -> &'static str {
        match self {
            Self::Recenser => "recenser les besoins des familles et des enfants de moins de 3 ans",
            Self::Informer => "informer et accompagner les familles",
            Self::Planifier => "planifier le développement de l'offre d'accueil",
            Self::SoutenirQualite => "soutenir la qualité des modes d'accueil",
            Self::Schema => "schéma pluriannuel de maintien et de développement de l'offre",
            Self::Rpe => "relais petite enfance",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::Recenser => "recenser",
            Self::Informer => "informer",
            Self::Planifier => "planifier",
            Self::SoutenirQualite => "soutenir_qualite",
            Self::Schema => "schema_pluriannuel",
            Self::Rpe => "relais_petite_enfance",
        }
    }
}

/// The obligations of an autorité organisatrice of `population` inhabitants under `rules`: strictly
/// more than each threshold (3,500 has no planning duty; 3,501 has).
pub fn obligations(population: i64, rules: &SppeRules) -> Vec<Obligation> {
    if !rules.in_force {
        return Vec::new();
    }
    let mut o = vec![Obligation::Recenser, Obligation::Informer];
    if population > rules.planning_threshold {
        o.extend([Obligation::Planifier, Obligation::SoutenirQualite]);
    }
    if population > rules.schema_threshold {
        o.push(Obligation::Schema);
        if rules.rpe_required {
            o.push(Obligation::Rpe);
        }
    }
    o
}

/// A commune of the convention, as the assessment needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SppeCommune {
    pub code: String,
    pub name: String,
    /// Legal population totale and its vintage, if known.
    pub population: Option<(i64, i32)>,
    /// Whether it transferred the competence to the EPCI.
    pub transferred: bool,
    /// The RPE of the offer registry that serve it on the day (names).
    pub rpe: Vec<String>,
}

/// What the assessment says of one commune.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SppeLine {
    pub code: String,
    pub name: String,
    pub population: Option<i64>,
    pub vintage: Option<i32>,
    /// « commune » or « EPCI ».
    pub authority: &'static str,
    /// The population the thresholds are applied to: the commune's, or the total of the communes that
    /// transferred the competence to the EPCI (unknown when one of them is).
    pub counted_population: Option<i64>,
    pub obligations: Vec<Obligation>,
    pub rpe: Vec<String>,
    /// What is missing, in French.
    pub missing: Vec<String>,
}

/// Assesses every commune. `ctg_covers_schema`: a signed convention with the CAF (the CTG) that stands
/// for the schéma pluriannuel.
pub fn assess(communes: &[SppeCommune], rules: &SppeRules, ctg_covers_schema: bool) -> Vec<SppeLine> {
    let transferred: Vec<&SppeCommune> = communes.iter().filter(|c| c.transferred).collect();
    let epci_population: Option<i64> = transferred
        .iter()
        .map(|c| c.population.map(|(p, _)| p))
        .sum::<Option<i64>>()
        .filter(|_| !transferred.is_empty());
    // The EPCI's RPE duty is met when every transferring commune is served.
    communes
        .iter()
        .map(|c| {
            let counted = if c.transferred { epci_population } else { c.population.map(|(p, _)| p) };
            let mut missing = Vec::new();
            let obligations = match counted {
                Some(p) => obligations(p, rules),
                None => {
                    missing.push(if c.transferred {
                        "population d'une commune qui a transféré la compétence inconnue : importez les populations légales".to_owned()
                    } else {
                        "population légale inconnue : importez les populations légales (ctg import populations)".to_owned()
                    });
                    Vec::new()
                }
            };
            if obligations.contains(&Obligation::Schema) && !ctg_covers_schema {
                missing.push(
                    "schéma pluriannuel à adopter, ou une convention avec la CAF qui en tienne lieu (la CTG signée le peut)"
                        .to_owned(),
                );
            }
            if obligations.contains(&Obligation::Rpe) && c.rpe.is_empty() {
                missing.push("aucun relais petite enfance du registre de l'offre ne dessert cette commune".to_owned());
            }
            SppeLine {
                code: c.code.clone(),
                name: c.name.clone(),
                population: c.population.map(|(p, _)| p),
                vintage: c.population.map(|(_, v)| v),
                authority: if c.transferred { "EPCI" } else { "commune" },
                counted_population: counted,
                obligations,
                rpe: c.rpe.clone(),
                missing,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(on: NaiveDate) -> SppeRules {
        SppeParameters::default().rules_on(on)
    }

    #[test]
    fn thresholds_are_strictly_more_than() {
        let r = rules(day(2026, 3, 1));
        use Obligation::*;
        assert_eq!(obligations(1, &r), [Recenser, Informer]);
        assert_eq!(obligations(3_500, &r), [Recenser, Informer]);
        assert_eq!(obligations(3_501, &r), [Recenser, Informer, Planifier, SoutenirQualite]);
        assert_eq!(obligations(10_000, &r), [Recenser, Informer, Planifier, SoutenirQualite]);
        assert_eq!(obligations(10_001, &r), [Recenser, Informer, Planifier, SoutenirQualite, Schema, Rpe]);
    }

    #[test]
    fn the_dates_of_the_law_are_dated_parameters() {
        // Before 2025: nothing; in 2025: no RPE duty yet; from 2026: the RPE.
        assert!(obligations(20_000, &rules(day(2024, 12, 31))).is_empty());
        assert!(!obligations(20_000, &rules(day(2025, 12, 31))).contains(&Obligation::Rpe));
        assert!(obligations(20_000, &rules(day(2026, 1, 1))).contains(&Obligation::Rpe));
        // A stored value moves a threshold from its date on.
        let p = SppeParameters::default().with_stored(PLANNING_THRESHOLD, &[(day(2027, 1, 1), 5_000)]);
        assert_eq!(p.rules_on(day(2026, 6, 1)).planning_threshold, 3_500);
        assert_eq!(p.rules_on(day(2027, 6, 1)).planning_threshold, 5_000);
        assert!(!obligations(4_000, &p.rules_on(day(2027, 6, 1))).contains(&Obligation::Planifier));
    }

    fn commune(code: &str, population: Option<i64>, transferred: bool, rpe: &[&str]) -> SppeCommune {
        SppeCommune {
            code: code.into(),
            name: format!("Commune {code}"),
            population: population.map(|p| (p, 2021)),
            transferred,
            rpe: rpe.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_epci_counts_the_total_of_the_communes_that_transferred_the_competence() {
        let r = rules(day(2026, 3, 1));
        // Three small communes transferred: 3,000 + 4,000 + 3,001 = 10,001 > 10,000.
        let communes = [
            commune("62001", Some(3_000), true, &["RPE de l'agglo"]),
            commune("62002", Some(4_000), true, &[]),
            commune("62003", Some(3_001), true, &["RPE de l'agglo"]),
            commune("62004", Some(3_501), false, &[]),
            commune("62005", Some(10_000), false, &[]),
            commune("62006", None, false, &[]),
        ];
        let lines = assess(&communes, &r, false);
        assert_eq!(lines[0].authority, "EPCI");
        assert_eq!(lines[0].counted_population, Some(10_001));
        assert!(lines[0].obligations.contains(&Obligation::Schema));
        assert!(lines[0].missing.iter().any(|m| m.starts_with("schéma pluriannuel")));
        assert!(!lines[0].missing.iter().any(|m| m.contains("relais")));
        assert!(lines[1].missing.iter().any(|m| m.contains("aucun relais petite enfance")));
        assert_eq!(lines[3].counted_population, Some(3_501));
        assert!(lines[3].obligations.contains(&Obligation::Planifier));
        assert!(!lines[4].obligations.contains(&Obligation::Schema));
        assert!(lines[5].obligations.is_empty() && lines[5].missing[0].contains("population légale inconnue"));
        // Transferring communes totalling exactly 10,000: no schema.
        let lines =
            assess(&[commune("62001", Some(6_000), true, &[]), commune("62002", Some(4_000), true, &[])], &r, false);
        assert!(!lines[0].obligations.contains(&Obligation::Schema));
        // A signed CTG stands for the schema.
        let lines = assess(&[commune("62009", Some(25_000), false, &["RPE"])], &r, true);
        assert!(lines[0].missing.is_empty(), "{:?}", lines[0].missing);
    }
}
