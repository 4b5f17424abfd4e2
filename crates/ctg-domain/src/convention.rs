//! The convention: its parties, period, status, strategy (enjeux → ambitions, cross-cutting
//! approaches) and governance bodies (art. 7-a).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::territory::Siren;

/// Why a convention was refused. Messages are in French: they reach users.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConventionError {
    #[error("le titre de la convention est vide")]
    EmptyTitle,
    #[error("la période est invalide : la fin ({end}) précède le début ({start})")]
    Period { start: NaiveDate, end: NaiveDate },
    #[error("{0} : valeur inconnue « {1} » (valeurs admises : {2})")]
    UnknownValue(&'static str, String, String),
    #[error("{0}")]
    Invalid(String),
}

macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal { $($variant:ident => $code:literal, $label:literal;)+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $code)] $variant,)+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stable code stored in the database and used in files and the API.
            pub fn code(self) -> &'static str {
                match self { $(Self::$variant => $code,)+ }
            }

            /// The French label shown to users.
            pub fn label(self) -> &'static str {
                match self { $(Self::$variant => $label,)+ }
            }

            pub fn parse(raw: &str) -> Result<Self, ConventionError> {
                let wanted = raw.trim();
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.code() == wanted)
                    .ok_or_else(|| ConventionError::UnknownValue(
                        $what,
                        raw.to_owned(),
                        [$($code),+].join(", "),
                    ))
            }
        }
    };
}

pub(crate) use coded_enum;

coded_enum! {
    /// The lifecycle of a convention as recorded; what is shown is computed from its signatures, its
    /// avenants and its termination by the one rule of status, [`crate::life::Life::status_on`].
    ConventionStatus, "statut de la convention" {
        Draft => "brouillon", "Brouillon";
        Signed => "signee", "Signée";
        Terminated => "resiliee", "Résiliée";
    }
}

coded_enum! {
    /// The kind of an organisation taking part in a CTG.
    OrganisationKind, "type d'organisation" {
        Caf => "caf", "Caisse d'allocations familiales";
        Epci => "epci", "Intercommunalité (EPCI)";
        Msa => "msa", "Mutualité sociale agricole";
        Departement => "departement", "Département";
        Commune => "commune", "Commune";
        Association => "association", "Association";
        Etat => "etat", "Service de l'État";
        Autre => "autre", "Autre";
    }
}

coded_enum! {
    /// The role of a party in the convention.
    PartyRole, "rôle de la partie" {
        Signatory => "signataire", "Signataire";
        Partner => "partenaire", "Partenaire associé";
    }
}

coded_enum! {
    /// The governance bodies of art. 7-a, and the thematic commissions a convention may add.
    BodyKind, "type d'instance" {
        SteeringRestricted => "copil_restreint", "Comité de pilotage intercommunal restreint";
        SteeringExtended => "copil_elargi", "Comité de pilotage intercommunal élargi";
        Technical => "comite_technique", "Comité technique opérationnel";
        SteeringLocal => "copil_communal", "Comités de pilotage communaux ou supra-communaux";
        ThematicCommission => "commission_thematique", "Commission thématique";
    }
}

/// An organisation: CAF, EPCI, MSA, Département, commune, association…
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    #[serde(rename = "nom")]
    pub name: String,
    #[serde(rename = "sigle", default)]
    pub short_name: Option<String>,
    #[serde(rename = "nature")]
    pub kind: OrganisationKind,
    #[serde(default)]
    pub siren: Option<Siren>,
    #[serde(rename = "adresse", default)]
    pub address: Option<String>,
}

/// A party to the convention and who signs for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Party {
    pub organisation: Organisation,
    pub role: PartyRole,
    /// The person who signs, e.g. « Olivier Gacquerre ».
    #[serde(rename = "signataire", default)]
    pub signatory: Option<String>,
    /// Their function, e.g. « Président ».
    #[serde(rename = "qualite", default)]
    pub signatory_title: Option<String>,
    /// The authorising deliberation, e.g. « Conseil communautaire ».
    #[serde(default)]
    pub deliberation: Option<String>,
    #[serde(default)]
    pub deliberation_date: Option<NaiveDate>,
    /// The day of the signature, or the first day of its month when only the month is known.
    #[serde(default)]
    pub signature_date: Option<NaiveDate>,
    /// Whether only the month of the signature is known (« Janvier 2026 »).
    #[serde(rename = "signature_au_mois", default)]
    pub signature_month_only: bool,
}

impl Party {
    /// When the party signed, if it has.
    pub fn signed_on(&self) -> Option<crate::life::SignedOn> {
        self.signature_date.map(|date| crate::life::SignedOn { date, month_only: self.signature_month_only })
    }
}

/// An enjeu and its ambitions. Numbers are unique within a convention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stake {
    #[serde(rename = "numero")]
    pub number: i64,
    #[serde(rename = "titre")]
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub ambitions: Vec<Ambition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ambition {
    #[serde(rename = "numero")]
    pub number: i64,
    #[serde(rename = "intitule")]
    pub title: String,
    /// A note, e.g. « dans la continuité de la CTG 1 ».
    #[serde(default)]
    pub note: Option<String>,
}

/// A cross-cutting approach (approche transversale, the convention's word, art. 5), later used as a tag on fiches action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approach {
    #[serde(rename = "intitule")]
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Body {
    #[serde(rename = "nature")]
    pub kind: BodyKind,
    #[serde(rename = "nom")]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// Everything needed to create a convention; validated by [`NewConvention::validate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewConvention {
    #[serde(rename = "titre")]
    pub title: String,
    pub epci: Siren,
    #[serde(rename = "debut")]
    pub start: NaiveDate,
    #[serde(rename = "fin")]
    pub end: NaiveDate,
    #[serde(rename = "statut")]
    pub status: ConventionStatus,
    #[serde(rename = "lieu_signature", default)]
    pub signing_place: Option<String>,
    #[serde(default)]
    pub parties: Vec<Party>,
    #[serde(rename = "enjeux", default)]
    pub stakes: Vec<Stake>,
    #[serde(rename = "approches", default)]
    pub approaches: Vec<Approach>,
    #[serde(rename = "instances", default)]
    pub bodies: Vec<Body>,
    /// The title of the convention this one follows, on the same EPCI (« CTG 1 » for a CTG 2).
    #[serde(rename = "precedente", default)]
    pub predecessor: Option<String>,
    /// Published conventions are visible to the public, without login.
    #[serde(rename = "publiee", default)]
    pub published: bool,
}

impl NewConvention {
    pub fn validate(&self) -> Result<(), ConventionError> {
        use crate::text::{clean, invalid as refused, TextKind::*};
        clean("titre", &self.title, Title).map_err(refused)?;
        for s in &self.stakes {
            clean(&format!("enjeu n° {}", s.number), &s.title, Title).map_err(refused)?;
            for a in &s.ambitions {
                clean(&format!("ambition n° {}", a.number), &a.title, Title).map_err(refused)?;
            }
        }
        for p in &self.parties {
            clean("nom de l'organisation", &p.organisation.name, Name).map_err(refused)?;
        }
        if self.title.trim().is_empty() {
            return Err(ConventionError::EmptyTitle);
        }
        check_period(self.start, self.end)?;
        let mut stakes: Vec<i64> = self.stakes.iter().map(|s| s.number).collect();
        stakes.sort_unstable();
        if let Some(w) = stakes.windows(2).find(|w| w[0] == w[1]) {
            return Err(ConventionError::Invalid(format!("l'enjeu n° {} figure deux fois", w[0])));
        }
        let mut ambitions: Vec<i64> = self.stakes.iter().flat_map(|s| s.ambitions.iter().map(|a| a.number)).collect();
        ambitions.sort_unstable();
        if let Some(w) = ambitions.windows(2).find(|w| w[0] == w[1]) {
            return Err(ConventionError::Invalid(format!("l'ambition n° {} figure deux fois", w[0])));
        }
        for s in &self.stakes {
            if s.title.trim().is_empty() {
                return Err(ConventionError::Invalid(format!("l'enjeu n° {} n'a pas de titre", s.number)));
            }
            if let Some(a) = s.ambitions.iter().find(|a| a.title.trim().is_empty()) {
                return Err(ConventionError::Invalid(format!("l'ambition n° {} n'a pas d'intitulé", a.number)));
            }
        }
        if let Some(p) = self.parties.iter().find(|p| p.organisation.name.trim().is_empty()) {
            return Err(ConventionError::Invalid(format!(
                "une partie ({}) n'a pas de nom d'organisation",
                p.role.label()
            )));
        }
        Ok(())
    }
}

pub fn check_period(start: NaiveDate, end: NaiveDate) -> Result<(), ConventionError> {
    if end < start {
        return Err(ConventionError::Period { start, end });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn codes_round_trip_and_unknown_values_are_named() {
        for k in BodyKind::ALL {
            assert_eq!(BodyKind::parse(k.code()).unwrap(), *k);
        }
        let err = BodyKind::parse("copil").unwrap_err().to_string();
        assert!(err.contains("copil_restreint") && err.contains("« copil »"), "{err}");
    }

    #[test]
    fn validation_names_the_problem() {
        let mut c = NewConvention {
            title: "CTG".into(),
            epci: Siren::parse("200072460").unwrap(),
            start: d("2026-01-01"),
            end: d("2030-12-31"),
            status: ConventionStatus::Draft,
            signing_place: None,
            parties: vec![],
            stakes: vec![
                Stake {
                    number: 1,
                    title: "A".into(),
                    description: None,
                    ambitions: vec![Ambition { number: 1, title: "x".into(), note: None }],
                },
                Stake {
                    number: 2,
                    title: "B".into(),
                    description: None,
                    ambitions: vec![Ambition { number: 1, title: "y".into(), note: None }],
                },
            ],
            approaches: vec![],
            bodies: vec![],
            predecessor: None,
            published: false,
        };
        assert_eq!(c.validate().unwrap_err().to_string(), "l'ambition n° 1 figure deux fois");
        c.stakes[1].ambitions[0].number = 2;
        assert!(c.validate().is_ok());
        c.end = d("2025-12-31");
        assert!(c.validate().unwrap_err().to_string().contains("précède"));
        c.end = d("2030-12-31");
        c.title = "  ".into();
        assert_eq!(c.validate().unwrap_err(), ConventionError::EmptyTitle);
    }
}
