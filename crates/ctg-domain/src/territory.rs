//! The territory: communes, EPCIs (intercommunalités), and legal populations by vintage (millésime).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a code or a figure of the territory was refused. Messages are in French: they reach users.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TerritoryError {
    #[error("code INSEE « {0} » invalide : {1}")]
    InseeCode(String, &'static str),
    #[error("SIREN « {0} » invalide : {1}")]
    Siren(String, &'static str),
    #[error("millésime « {0} » invalide : une année entre 1800 et 2200 est attendue")]
    Vintage(String),
    #[error("population invalide : {0}")]
    Population(String),
}

/// The INSEE code of a commune (code officiel géographique): five characters, the first two or three
/// naming the département (`01`–`95` without `20`, `2A`/`2B` for Corsica, `971`–`989` overseas).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InseeCode(String);

impl InseeCode {
    pub fn parse(raw: &str) -> Result<Self, TerritoryError> {
        let code = raw.trim();
        let err = |why| TerritoryError::InseeCode(raw.to_owned(), why);
        if code.len() != 5 || !code.is_ascii() {
            return Err(err("5 caractères attendus"));
        }
        let b = code.as_bytes();
        let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
        match &b[..2] {
            b"2A" | b"2B" | b"2a" | b"2b" if !digits(&b[2..]) => {
                return Err(err("après 2A ou 2B, trois chiffres sont attendus"));
            }
            b"2A" | b"2B" | b"2a" | b"2b" => {}
            _ if !digits(b) => return Err(err("seuls des chiffres, ou 2A / 2B pour la Corse, sont admis")),
            b"00" => return Err(err("le département 00 n'existe pas")),
            b"20" => return Err(err("la Corse s'écrit 2A ou 2B, pas 20")),
            b"96" => return Err(err("le département 96 n'existe pas")),
            b"99" => return Err(err("les codes 99 désignent des pays étrangers, pas des communes")),
            b"97" if !(b'1'..=b'8').contains(&b[2]) => {
                return Err(err("outre-mer : 971 à 978 attendus"));
            }
            b"98" if !matches!(b[2], b'4' | b'6' | b'7' | b'8' | b'9') => {
                return Err(err("outre-mer : 984, 986, 987, 988 ou 989 attendus"));
            }
            _ => {}
        }
        if &b[2..] == b"000" {
            return Err(err("le numéro de commune 000 n'existe pas"));
        }
        Ok(Self(code.to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code of the département (or overseas collectivity) the commune belongs to.
    pub fn departement(&self) -> &str {
        if self.0.starts_with("97") || self.0.starts_with("98") {
            &self.0[..3]
        } else {
            &self.0[..2]
        }
    }
}

impl fmt::Display for InseeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for InseeCode {
    type Error = TerritoryError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<InseeCode> for String {
    fn from(value: InseeCode) -> Self {
        value.0
    }
}

/// A SIREN number: nine digits whose Luhn checksum holds. La Poste (356 000 000) is the one
/// documented exception, whose digits add up to a multiple of 5 instead.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Siren(String);

impl Siren {
    pub fn parse(raw: &str) -> Result<Self, TerritoryError> {
        let err = |why| TerritoryError::Siren(raw.to_owned(), why);
        let mut digits = [0u32; 9];
        let mut n = 0;
        for ch in raw.chars().filter(|c| !c.is_whitespace()) {
            match ch.to_digit(10) {
                Some(d) if n < 9 => digits[n] = d,
                _ => return Err(err("9 chiffres attendus")),
            }
            n += 1;
        }
        if n != 9 {
            return Err(err("9 chiffres attendus"));
        }
        // Luhn: from the right, every second digit is doubled (and 9 taken off when over 9).
        let luhn: u32 = digits
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &d)| {
                if i % 2 == 1 {
                    if d * 2 > 9 {
                        d * 2 - 9
                    } else {
                        d * 2
                    }
                } else {
                    d
                }
            })
            .sum();
        let code: String = digits.iter().filter_map(|d| char::from_digit(*d, 10)).collect();
        let la_poste = code == "356000000";
        if !luhn.is_multiple_of(10) && !la_poste {
            return Err(err("la clé de contrôle (algorithme de Luhn) ne correspond pas"));
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Siren {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Siren {
    type Error = TerritoryError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Siren> for String {
    fn from(value: Siren) -> Self {
        value.0
    }
}

/// The vintage (millésime) of a legal population: the year of the census reference.
/// The populations of vintage N come into force on 1 January of N+3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Vintage(i32);

impl Vintage {
    pub fn new(year: i64) -> Result<Self, TerritoryError> {
        if (1800..=2200).contains(&year) {
            Ok(Self(year as i32))
        } else {
            Err(TerritoryError::Vintage(year.to_string()))
        }
    }

    pub fn parse(raw: &str) -> Result<Self, TerritoryError> {
        raw.trim().parse::<i64>().map_err(|_| TerritoryError::Vintage(raw.to_owned())).and_then(Self::new)
    }

    pub fn year(self) -> i32 {
        self.0
    }

    /// The year in which the populations of this vintage become the legal figures (N+3).
    pub fn in_force_from(self) -> i32 {
        self.0 + 3
    }
}

impl TryFrom<i64> for Vintage {
    type Error = TerritoryError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Vintage> for i64 {
    fn from(value: Vintage) -> Self {
        i64::from(value.0)
    }
}

impl fmt::Display for Vintage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The legal populations of one commune for one vintage. A figure that is not known is `None`,
/// never zero: the convention's annex gives only the total population for 2020.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Population {
    #[serde(rename = "municipale")]
    pub municipal: Option<i64>,
    #[serde(rename = "comptee_a_part")]
    pub counted_apart: Option<i64>,
    #[serde(rename = "totale")]
    pub total: Option<i64>,
}

impl Population {
    /// Checks the figures: none negative, and `totale = municipale + comptée à part` when all three
    /// are known. A missing `comptée à part` is derived when the two others are known.
    pub fn new(municipal: Option<i64>, counted_apart: Option<i64>, total: Option<i64>) -> Result<Self, TerritoryError> {
        for (name, v) in [("municipale", municipal), ("comptée à part", counted_apart), ("totale", total)] {
            if let Some(v) = v {
                if v < 0 {
                    return Err(TerritoryError::Population(format!(
                        "la population {name} ne peut pas être négative ({v})"
                    )));
                }
            }
        }
        let counted_apart = match (municipal, counted_apart, total) {
            (Some(m), Some(c), Some(t)) if m + c != t => {
                return Err(TerritoryError::Population(format!(
                    "la population totale ({t}) devrait égaler la municipale ({m}) plus la comptée à part ({c})"
                )))
            }
            (Some(m), None, Some(t)) if t < m => {
                return Err(TerritoryError::Population(format!(
                    "la population totale ({t}) est inférieure à la municipale ({m})"
                )))
            }
            (Some(m), None, Some(t)) => Some(t - m),
            (_, c, _) => c,
        };
        Ok(Self { municipal, counted_apart, total })
    }

    pub fn is_empty(&self) -> bool {
        self.municipal.is_none() && self.counted_apart.is_none() && self.total.is_none()
    }
}

/// A commune (of type « commune actuelle » in the official geographic code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commune {
    pub code: InseeCode,
    #[serde(rename = "nom")]
    pub name: String,
    #[serde(rename = "departement")]
    pub department: String,
    pub region: Option<String>,
    pub siren: Option<Siren>,
}

/// The legal form of an EPCI à fiscalité propre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EpciKind {
    /// Communauté de communes.
    CC,
    /// Communauté d'agglomération.
    CA,
    /// Communauté urbaine.
    CU,
    /// Métropole.
    METRO,
    /// Métropole de Lyon.
    MET69,
}

impl EpciKind {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw.trim() {
            "CC" => Self::CC,
            "CA" => Self::CA,
            "CU" => Self::CU,
            "METRO" => Self::METRO,
            "MET69" => Self::MET69,
            _ => return None,
        })
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::CC => "CC",
            Self::CA => "CA",
            Self::CU => "CU",
            Self::METRO => "METRO",
            Self::MET69 => "MET69",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::CC => "Communauté de communes",
            Self::CA => "Communauté d'agglomération",
            Self::CU => "Communauté urbaine",
            Self::METRO => "Métropole",
            Self::MET69 => "Métropole de Lyon",
        }
    }
}

/// An EPCI à fiscalité propre and its member communes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Epci {
    pub siren: Siren,
    #[serde(rename = "nom")]
    pub name: String,
    #[serde(rename = "nature")]
    pub kind: EpciKind,
    #[serde(rename = "membres")]
    pub members: Vec<InseeCode>,
}

/// The figures of one commune over several vintages, as the territory table shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommunePopulations {
    pub code: InseeCode,
    pub name: String,
    pub by_vintage: BTreeMap<Vintage, Population>,
}

/// A sum over communes that says how many communes had no value: an unknown figure is never counted
/// as zero, so a total is only given when every commune's figure is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Total {
    /// The sum, when every commune's figure is known.
    pub value: Option<i64>,
    /// The sum of the figures that are known.
    pub known_sum: i64,
    /// How many communes have no figure.
    pub missing: usize,
}

impl Total {
    fn of(values: impl Iterator<Item = Option<i64>>) -> Self {
        let (mut known_sum, mut missing) = (0i64, 0usize);
        for v in values {
            match v {
                Some(v) => known_sum += v,
                None => missing += 1,
            }
        }
        Self { value: (missing == 0).then_some(known_sum), known_sum, missing }
    }
}

/// The totals of a territory for one vintage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VintageTotals {
    pub vintage: Vintage,
    pub municipal: Total,
    pub counted_apart: Total,
    pub total: Total,
}

/// The change of a figure between two vintages.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Change {
    pub from: Vintage,
    pub to: Vintage,
    pub absolute: i64,
    /// In percent of the earlier value, rounded to two decimals; `None` when the earlier value is 0.
    pub percent: Option<f64>,
}

impl Change {
    pub fn between(from: Vintage, before: i64, to: Vintage, after: i64) -> Self {
        let absolute = after - before;
        let percent = (before != 0).then(|| round2(absolute as f64 * 100.0 / before as f64));
        Self { from, to, absolute, percent }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Totals per vintage over all the communes given, and the change of the total population between
/// each pair of consecutive vintages where both totals are known.
pub fn territory_totals(communes: &[CommunePopulations], vintages: &[Vintage]) -> (Vec<VintageTotals>, Vec<Change>) {
    let totals: Vec<VintageTotals> = vintages
        .iter()
        .map(|&v| {
            let fig = |f: fn(&Population) -> Option<i64>| {
                Total::of(communes.iter().map(|c| c.by_vintage.get(&v).and_then(f)))
            };
            VintageTotals {
                vintage: v,
                municipal: fig(|p| p.municipal),
                counted_apart: fig(|p| p.counted_apart),
                total: fig(|p| p.total),
            }
        })
        .collect();
    let changes = totals
        .windows(2)
        .filter_map(|w| {
            let (a, b) = (&w[0], &w[1]);
            Some(Change::between(a.vintage, a.total.value?, b.vintage, b.total.value?))
        })
        .collect();
    (totals, changes)
}

/// The change of one commune's total population between two vintages, when both are known.
pub fn commune_change(c: &CommunePopulations, from: Vintage, to: Vintage) -> Option<Change> {
    let a = c.by_vintage.get(&from)?.total?;
    let b = c.by_vintage.get(&to)?.total?;
    Some(Change::between(from, a, to, b))
}

/// The populations of one commune for one vintage, as imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopulationRecord {
    pub commune: InseeCode,
    pub vintage: Vintage,
    pub population: Population,
}

/// What a territory import writes, validated by `ctg-import`, written by `ctg-store`.
#[derive(Debug, Clone, Default)]
pub struct TerritoryBatch {
    pub communes: Vec<Commune>,
    pub epcis: Vec<Epci>,
    pub populations: Vec<PopulationRecord>,
    /// Where the figures come from, e.g. « @etalab/decoupage-administratif 6.0.0 ».
    pub source: String,
}

impl TerritoryBatch {
    pub fn row_count(&self) -> u64 {
        (self.communes.len()
            + self.epcis.len()
            + self.epcis.iter().map(|e| e.members.len()).sum::<usize>()
            + self.populations.len()) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insee_codes_of_metropole_corsica_and_overseas() {
        for ok in ["62119", "01001", "2A004", "2B033", "2a004", "97101", "97611", "97501", "98735", "98901"] {
            assert!(InseeCode::parse(ok).is_ok(), "{ok} should parse");
        }
        assert_eq!(InseeCode::parse("2a004").unwrap().as_str(), "2A004");
        assert_eq!(InseeCode::parse("62119").unwrap().departement(), "62");
        assert_eq!(InseeCode::parse("2B033").unwrap().departement(), "2B");
        assert_eq!(InseeCode::parse("97411").unwrap().departement(), "974");
        for bad in [
            "6211", "621190", "20004", "2C004", "2AB04", "00001", "96001", "99100", "97901", "98501", "62000", "6211A",
            "é2119",
        ] {
            assert!(InseeCode::parse(bad).is_err(), "{bad} should be refused");
        }
        let msg = InseeCode::parse("20004").unwrap_err().to_string();
        assert!(msg.contains("2A ou 2B"), "{msg}");
    }

    #[test]
    fn siren_check_digit() {
        assert!(Siren::parse("200072460").is_ok()); // CABBALR
        assert!(Siren::parse("200 072 460").is_ok());
        assert!(Siren::parse("356000000").is_ok()); // La Poste
        let err = Siren::parse("200072461").unwrap_err().to_string();
        assert!(err.contains("Luhn"), "{err}");
        assert!(Siren::parse("20007246").is_err());
        assert!(Siren::parse("20007246X").is_err());
    }

    #[test]
    fn vintage_bounds() {
        assert_eq!(Vintage::parse("2021").unwrap().year(), 2021);
        assert_eq!(Vintage::parse("2021").unwrap().in_force_from(), 2024);
        assert!(Vintage::parse("21").is_err());
        assert!(Vintage::parse("deux mille").is_err());
    }

    #[test]
    fn population_consistency() {
        let p = Population::new(Some(2852), None, Some(2888)).unwrap();
        assert_eq!(p.counted_apart, Some(36));
        assert!(Population::new(Some(10), Some(1), Some(12)).is_err());
        assert!(Population::new(Some(-1), None, None).is_err());
        assert!(Population::new(Some(10), None, Some(9)).is_err());
        let unknown = Population::new(None, None, Some(2902)).unwrap();
        assert_eq!(unknown.municipal, None);
    }

    fn commune(code: &str, figures: &[(i64, Option<i64>, Option<i64>)]) -> CommunePopulations {
        CommunePopulations {
            code: InseeCode::parse(code).unwrap(),
            name: code.to_owned(),
            by_vintage: figures
                .iter()
                .map(|&(v, m, t)| (Vintage::new(v).unwrap(), Population::new(m, None, t).unwrap()))
                .collect(),
        }
    }

    #[test]
    fn totals_never_count_unknown_as_zero() {
        let communes = vec![
            commune("62023", &[(2020, None, Some(2902)), (2021, Some(2852), Some(2888))]),
            commune("62028", &[(2020, None, Some(635)), (2021, Some(643), Some(651))]),
        ];
        let vs = [Vintage::new(2020).unwrap(), Vintage::new(2021).unwrap()];
        let (totals, changes) = territory_totals(&communes, &vs);
        assert_eq!(totals[0].total.value, Some(3537));
        assert_eq!(totals[0].municipal.value, None);
        assert_eq!(totals[0].municipal.missing, 2);
        assert_eq!(totals[1].municipal.value, Some(3495));
        assert_eq!(totals[1].counted_apart.value, Some(44));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].absolute, 3539 - 3537);
        assert_eq!(changes[0].percent, Some(0.06));
    }

    #[test]
    fn change_of_the_convention_total() {
        // FACTS.md: totale 2020 = 279,142; totale 2021 = 278,431; change −711 (−0.25 %).
        let c = Change::between(Vintage::new(2020).unwrap(), 279_142, Vintage::new(2021).unwrap(), 278_431);
        assert_eq!(c.absolute, -711);
        assert_eq!(c.percent, Some(-0.25));
        assert_eq!(Change::between(Vintage::new(2020).unwrap(), 0, Vintage::new(2021).unwrap(), 5).percent, None);
    }
}
