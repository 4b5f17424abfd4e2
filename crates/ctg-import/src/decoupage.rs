//! The JSON files of the npm package `@etalab/decoupage-administratif` (version 6.0.0):
//! `communes.json` and `epci.json`.
//!
//! - Records of `communes.json` of type `commune-actuelle` are the communes. The other types
//!   (`commune-deleguee`, `commune-associee`, `arrondissement-municipal`) are not communes in law:
//!   they are counted in the summary and otherwise left aside; their people are counted in the
//!   population of the commune they belong to. A record of another type is an error.
//! - `epci.json` gives each EPCI and its `membres` with `populationMunicipale` and `populationTotale`:
//!   those are the figures stored for the vintage the user names. The `population` field of
//!   `communes.json` is of another vintage in 6.0.0 (275,028 against 275,736 for the EPCI 200072460),
//!   so it is not used: communes outside any EPCI get no population from this import.

use std::collections::{HashMap, HashSet};

use ctg_domain::{Commune, Epci, EpciKind, InseeCode, Population, PopulationRecord, Siren, TerritoryBatch, Vintage};
use std::borrow::Cow;
use std::fmt::Display;

use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::{ImportError, ImportErrors, Location};

/// What the communes file held besides the communes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Skipped {
    pub communes_deleguees: usize,
    pub communes_associees: usize,
    pub arrondissements_municipaux: usize,
}

/// The parsed and validated content of the two files.
#[derive(Debug, Clone)]
pub struct Territory {
    pub batch: TerritoryBatch,
    pub skipped: Skipped,
    /// Communes of type `commune-actuelle` that belong to no EPCI (islands, overseas collectivities).
    pub outside_epci: usize,
}

/// A JSON value as the checks need it, read without building a tree: strings are borrowed from the
/// file when they hold no escape, arrays and objects are skipped. Far cheaper than `serde_json::Value`
/// on the 37,590 records of the national file.
#[derive(Debug)]
enum Loose<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    /// A number that is not an integer of i64's range, kept as written.
    Number(String),
    Bool(bool),
    Null,
    Array,
    Object,
}

impl<'de: 'a, 'a> Deserialize<'de> for Loose<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Loose<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("une valeur JSON")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Loose::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Loose::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Loose::Str(Cow::Owned(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Loose::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(i64::try_from(v).map_or_else(|_| Loose::Number(v.to_string()), Loose::Int))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Loose::Number(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Loose::Bool(v))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Loose::Null)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Loose::Null)
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                Loose::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Loose::Array)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Loose::Object)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct RawCommune<'a> {
    #[serde(borrow)]
    code: Option<Loose<'a>>,
    #[serde(borrow)]
    nom: Option<Loose<'a>>,
    #[serde(rename = "type", borrow)]
    kind: Option<Loose<'a>>,
    #[serde(borrow)]
    departement: Option<Loose<'a>>,
    #[serde(borrow)]
    region: Option<Loose<'a>>,
    #[serde(borrow)]
    siren: Option<Loose<'a>>,
}

#[derive(Deserialize)]
struct RawEpci<'a> {
    #[serde(borrow)]
    code: Option<Loose<'a>>,
    #[serde(borrow)]
    nom: Option<Loose<'a>>,
    #[serde(rename = "type", borrow)]
    kind: Option<Loose<'a>>,
    #[serde(borrow)]
    membres: Option<Vec<RawMember<'a>>>,
}

#[derive(Deserialize)]
struct RawMember<'a> {
    #[serde(borrow)]
    code: Option<Loose<'a>>,
    #[serde(rename = "populationMunicipale", borrow)]
    municipale: Option<Loose<'a>>,
    #[serde(rename = "populationTotale", borrow)]
    totale: Option<Loose<'a>>,
}

/// The name of a field of the n-th member of an EPCI, written out only when there is an error to report.
#[derive(Clone, Copy)]
struct MemberField(usize, &'static str);

impl Display for MemberField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "membres[{}].{}", self.0, self.1)
    }
}

/// Collects the problems of one record.
struct Record<'a, 'v> {
    file: &'a str,
    number: usize,
    /// The record's code, written out only when there is an error to report.
    code: Option<&'a Loose<'v>>,
    errors: &'a mut Vec<ImportError>,
}

impl Record<'_, '_> {
    fn error(&mut self, field: impl Display, message: impl Into<String>) {
        self.errors.push(ImportError::new(
            self.file,
            Location::Record { number: self.number, code: code_of(self.code) },
            Some(&field.to_string()),
            message,
        ));
    }

    fn string(&mut self, field: impl Display, value: Option<&Loose<'_>>) -> Option<String> {
        self.str_of(field, value).map(str::to_owned)
    }

    /// A text field, trimmed, borrowed from the file.
    fn str_of<'s>(&mut self, field: impl Display, value: Option<&'s Loose<'_>>) -> Option<&'s str> {
        match value {
            Some(Loose::Str(s)) if !s.trim().is_empty() => Some(s.trim()),
            Some(Loose::Str(_)) => {
                self.error(field, "valeur vide");
                None
            }
            None | Some(Loose::Null) => {
                self.error(field, "champ manquant");
                None
            }
            Some(other) => {
                self.error(field, format!("texte attendu, trouvé {}", kind_of(other)));
                None
            }
        }
    }

    fn optional_str<'s>(&mut self, field: impl Display, value: Option<&'s Loose<'_>>) -> Option<&'s str> {
        match value {
            None | Some(Loose::Null) => None,
            Some(_) => self.str_of(field, value),
        }
    }

    fn count(&mut self, field: impl Display, value: Option<&Loose<'_>>) -> Option<i64> {
        match value {
            Some(Loose::Int(v)) if *v >= 0 => Some(*v),
            Some(Loose::Int(v)) => {
                self.error(field, format!("entier positif ou nul attendu, trouvé {v}"));
                None
            }
            Some(Loose::Number(n)) => {
                self.error(field, format!("entier positif ou nul attendu, trouvé {n}"));
                None
            }
            None | Some(Loose::Null) => {
                self.error(field, "champ manquant");
                None
            }
            Some(other) => {
                self.error(field, format!("nombre attendu, trouvé {}", kind_of(other)));
                None
            }
        }
    }
}

fn kind_of(v: &Loose<'_>) -> String {
    match v {
        Loose::Null => "null".into(),
        Loose::Bool(b) => format!("le booléen {b}"),
        Loose::Int(n) => format!("le nombre {n}"),
        Loose::Number(n) => format!("le nombre {n}"),
        Loose::Str(s) => format!("le texte « {s} »"),
        Loose::Array => "un tableau".into(),
        Loose::Object => "un objet".into(),
    }
}

fn code_of(v: Option<&Loose<'_>>) -> Option<String> {
    match v {
        Some(Loose::Str(s)) => Some(s.to_string()),
        Some(Loose::Int(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads a JSON array and calls `f` with the position and value of each element as it is read.
fn each<'de, T: Deserialize<'de>>(file: &str, bytes: &'de [u8], f: impl FnMut(usize, T)) -> Result<usize, ImportError> {
    struct Each<F, T>(F, std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>, F: FnMut(usize, T)> Visitor<'de> for Each<F, T> {
        type Value = usize;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("un tableau JSON d'enregistrements")
        }

        fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<usize, A::Error> {
            let mut i = 0;
            while let Some(item) = seq.next_element::<T>()? {
                (self.0)(i, item);
                i += 1;
            }
            Ok(i)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let n = serde::Deserializer::deserialize_seq(&mut de, Each(f, std::marker::PhantomData))
        .map_err(|e| ImportError::json(file, &e))?;
    de.end().map_err(|e| ImportError::json(file, &e))?;
    Ok(n)
}

/// A commune's code as a fixed-size key: no allocation for the maps of 35,000 communes.
fn key(code: &InseeCode) -> [u8; 5] {
    let mut k = [0u8; 5];
    k.copy_from_slice(&code.as_str().as_bytes()[..5]);
    k
}

/// Parses and checks both files. `source` names where the figures come from. Every problem of both
/// files is returned, not only the first.
pub fn parse(
    communes_file: &str,
    communes_json: &[u8],
    epci_file: &str,
    epci_json: &[u8],
    vintage: Vintage,
    source: &str,
) -> Result<Territory, ImportErrors> {
    // Records are checked as they are read, one at a time: no copy of the whole file is kept.
    let estimate = communes_json.len() / 230;

    let mut errors = Vec::new();
    let mut skipped = Skipped::default();
    let mut communes = Vec::with_capacity(estimate);
    let mut seen: HashMap<[u8; 5], usize> = HashMap::with_capacity(estimate);
    // Codes of every `commune-actuelle` record whose code parses, valid or not in its other fields, so
    // that one bad commune is reported once and not again as an unknown member of its EPCI.
    let mut present: HashSet<[u8; 5]> = HashSet::with_capacity(estimate);
    // The EPCI file is read on another thread meanwhile; its records are checked after the communes,
    // which they name.
    let (read_communes, read_epcis) = std::thread::scope(|scope| {
        let epcis = scope.spawn(|| {
            let mut raws: Vec<RawEpci<'_>> = Vec::with_capacity(epci_json.len() / 3000);
            each(epci_file, epci_json, |_, raw: RawEpci<'_>| raws.push(raw)).map(|_| raws)
        });
        let communes = each(communes_file, communes_json, |i, raw: RawCommune<'_>| {
            let raw = &raw;
            let mut rec = Record { file: communes_file, number: i + 1, code: raw.code.as_ref(), errors: &mut errors };
            let Some(kind) = rec.str_of("type", raw.kind.as_ref()) else {
                return;
            };
            match kind {
                "commune-actuelle" => {}
                "commune-deleguee" => {
                    skipped.communes_deleguees += 1;
                    return;
                }
                "commune-associee" => {
                    skipped.communes_associees += 1;
                    return;
                }
                "arrondissement-municipal" => {
                    skipped.arrondissements_municipaux += 1;
                    return;
                }
                other => {
                    rec.error("type", format!(
                    "type inconnu « {other} » (attendus : commune-actuelle, commune-deleguee, commune-associee, arrondissement-municipal)"
                ));
                    return;
                }
            }
            let code = rec.str_of("code", raw.code.as_ref()).and_then(|c| match InseeCode::parse(c) {
                Ok(code) => Some(code),
                Err(e) => {
                    rec.error("code", e.to_string());
                    None
                }
            });
            if let Some(code) = &code {
                present.insert(key(code));
            }
            let name = rec.string("nom", raw.nom.as_ref());
            let department = rec.string("departement", raw.departement.as_ref());
            let region = rec.optional_str("region", raw.region.as_ref()).map(str::to_owned);
            let siren = rec.optional_str("siren", raw.siren.as_ref()).and_then(|s| match Siren::parse(s) {
                Ok(s) => Some(s),
                Err(e) => {
                    rec.error("siren", e.to_string());
                    None
                }
            });
            let (Some(code), Some(name), Some(department)) = (code, name, department) else {
                return;
            };
            if department != code.departement() {
                rec.error(
                    "departement",
                    format!(
                        "« {department} » ne correspond pas au code INSEE {code}, qui est du département {}",
                        code.departement()
                    ),
                );
                return;
            }
            if let Some(first) = seen.insert(key(&code), i + 1) {
                rec.error("code", format!("la commune {code} figure déjà à l'enregistrement n° {first}"));
                return;
            }
            communes.push(Commune { code, name, department, region, siren });
        });
        (communes, epcis.join())
    });
    read_communes?;
    let raw_epcis = read_epcis.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;

    let mut epcis = Vec::with_capacity(epci_json.len() / 3000);
    let mut populations = Vec::with_capacity(communes.len());
    // The EPCI (its index in the file) of each commune already seen as a member.
    let mut member_of: HashMap<[u8; 5], usize> = HashMap::with_capacity(communes.len());
    let mut sirens: HashSet<String> = HashSet::new();
    // The code of each EPCI read so far, to name the one a commune already belongs to.
    let mut epci_codes: Vec<String> = Vec::new();
    for (i, raw) in raw_epcis.iter().enumerate() {
        epci_codes.push(code_of(raw.code.as_ref()).unwrap_or_default());
        let mut rec = Record { file: epci_file, number: i + 1, code: raw.code.as_ref(), errors: &mut errors };
        let siren = rec.str_of("code", raw.code.as_ref()).and_then(|c| match Siren::parse(c) {
            Ok(s) => Some(s),
            Err(e) => {
                rec.error("code", e.to_string());
                None
            }
        });
        let name = rec.string("nom", raw.nom.as_ref());
        let kind = rec.str_of("type", raw.kind.as_ref()).and_then(|k| match EpciKind::parse(k) {
            Some(kind) => Some(kind),
            None => {
                rec.error("type", format!("nature inconnue « {k} » (attendues : CC, CA, CU, METRO, MET69)"));
                None
            }
        });
        let Some(raw_members) = &raw.membres else {
            rec.error("membres", "champ manquant");
            continue;
        };
        if raw_members.is_empty() {
            rec.error("membres", "un EPCI sans commune membre n'est pas admis");
        }
        let mut members = Vec::with_capacity(raw_members.len());
        for (j, m) in raw_members.iter().enumerate() {
            let field = |name: &'static str| MemberField(j + 1, name);
            let code = rec.str_of(field("code"), m.code.as_ref()).and_then(|c| match InseeCode::parse(c) {
                Ok(code) => Some(code),
                Err(e) => {
                    rec.error(field("code"), e.to_string());
                    None
                }
            });
            let municipal = rec.count(field("populationMunicipale"), m.municipale.as_ref());
            let total = rec.count(field("populationTotale"), m.totale.as_ref());
            let Some(code) = code else { continue };
            if !present.contains(&key(&code)) {
                rec.error(
                    field("code"),
                    format!("la commune {code} n'est pas une commune actuelle du fichier {communes_file}"),
                );
                continue;
            }
            if siren.is_some() {
                if let Some(other) = member_of.insert(key(&code), i) {
                    let other = epci_codes.get(other).cloned().unwrap_or_default();
                    rec.error(field("code"), format!("la commune {code} est déjà membre de l'EPCI {other}"));
                    continue;
                }
            }
            match Population::new(municipal, None, total) {
                Ok(population) if municipal.is_some() && total.is_some() => {
                    populations.push(PopulationRecord { commune: code.clone(), vintage, population });
                }
                Ok(_) => {}
                Err(e) => rec.error(field("populationTotale"), e.to_string()),
            }
            members.push(code);
        }
        let (Some(siren), Some(name), Some(kind)) = (siren, name, kind) else {
            continue;
        };
        if !sirens.insert(siren.to_string()) {
            rec.error("code", format!("l'EPCI {siren} figure deux fois"));
            continue;
        }
        epcis.push(Epci { siren, name, kind, members });
    }

    if !errors.is_empty() {
        return Err(ImportErrors(errors));
    }
    let outside_epci = communes.iter().filter(|c| !member_of.contains_key(&key(&c.code))).count();
    Ok(Territory {
        batch: TerritoryBatch { communes, epcis, populations, source: source.to_owned() },
        skipped,
        outside_epci,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v() -> Vintage {
        Vintage::new(2022).unwrap()
    }

    const COMMUNES: &str = r#"[
        {"code":"62119","nom":"Béthune","type":"commune-actuelle","departement":"62","region":"32","siren":"216209106"},
        {"code":"62119","nom":"Béthune","type":"commune-deleguee","departement":"62"},
        {"code":"2A004","nom":"Ajaccio","type":"commune-actuelle","departement":"2A","region":"94"},
        {"code":"22016","nom":"Île-de-Bréhat","type":"commune-actuelle","departement":"22"}
    ]"#;
    const EPCI: &str = r#"[
        {"code":"200072460","nom":"CABBALR","type":"CA","membres":[{"code":"62119","populationMunicipale":25000,"populationTotale":25500}]},
        {"code":"242010056","nom":"CAPA","type":"CA","membres":[{"code":"2A004","populationMunicipale":70000,"populationTotale":71000}]}
    ]"#;

    #[test]
    fn communes_epcis_and_populations() {
        let t = parse("communes.json", COMMUNES.as_bytes(), "epci.json", EPCI.as_bytes(), v(), "test").unwrap();
        assert_eq!(t.batch.communes.len(), 3);
        assert_eq!(t.skipped.communes_deleguees, 1);
        assert_eq!(t.outside_epci, 1);
        assert_eq!(t.batch.epcis[0].members[0].as_str(), "62119");
        let p = &t.batch.populations[0];
        assert_eq!(
            (p.population.municipal, p.population.counted_apart, p.population.total),
            (Some(25000), Some(500), Some(25500))
        );
    }

    fn errors(communes: &str, epci: &str) -> Vec<String> {
        parse("communes.json", communes.as_bytes(), "epci.json", epci.as_bytes(), v(), "test")
            .unwrap_err()
            .0
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn every_problem_is_named_with_file_record_and_field() {
        let communes = COMMUNES.replace(r#""code":"2A004","nom":"Ajaccio""#, r#""code":"20004","nom":"Ajaccio""#);
        let e = errors(&communes, EPCI);
        assert!(
            e.iter().any(|m| m.starts_with(
                "communes.json, enregistrement n° 3 (code 20004), champ « code » : code INSEE « 20004 » invalide"
            )),
            "{e:?}"
        );
        // The EPCI's member 2A004 is then unknown too, and said so.
        assert!(
            e.iter().any(|m| m.contains("epci.json, enregistrement n° 2 (code 242010056), champ « membres[1].code »")),
            "{e:?}"
        );

        let e = errors(COMMUNES, &EPCI.replace("200072460", "200072461"));
        assert!(e[0].contains("champ « code » : SIREN « 200072461 » invalide"), "{e:?}");

        let e = errors(&COMMUNES.replace(r#","nom":"Ajaccio""#, ""), EPCI);
        assert_eq!(e, vec!["communes.json, enregistrement n° 3 (code 2A004), champ « nom » : champ manquant"]);

        let e = errors(COMMUNES, &EPCI.replace(r#""populationTotale":25500"#, r#""populationTotale":"beaucoup""#));
        assert!(e[0].contains("membres[1].populationTotale » : nombre attendu, trouvé le texte « beaucoup »"), "{e:?}");

        let e = errors(COMMUNES, &EPCI.replace("25500", "24000"));
        assert!(e[0].contains("inférieure à la municipale"), "{e:?}");

        let e = errors(&COMMUNES.replace(r#""type":"commune-deleguee""#, r#""type":"hameau""#), EPCI);
        assert!(e[0].contains("type inconnu « hameau »"), "{e:?}");
    }

    #[test]
    fn malformed_json_is_placed() {
        let e = errors("[{\"code\": }]", EPCI);
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("communes.json, ligne 1, colonne 11 : JSON invalide"), "{e:?}");
        let e = errors("{}", EPCI);
        assert!(e[0].contains("structure JSON inattendue"), "{e:?}");
    }
}
