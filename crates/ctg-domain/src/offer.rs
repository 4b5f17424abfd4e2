//! The offer of services (annex 3 of a CTG): facilities of a catalogue of types, the communes they
//! serve, their places, their funding lines; and the analyses a coordinator asks of them (which
//! communes have no service of a type, places per 100 children under 3, funding totals).
//! Pure functions, tested against values worked out by hand.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::convention::{coded_enum, ConventionError};
use crate::diagnostic::per_hundred;
use crate::territory::InseeCode;

/// What a facility's capacity counts, for the coverage of formal childcare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlacesKind {
    /// Places in an EAJE (crèche collective, micro-crèche, crèche familiale).
    Eaje,
    /// Places with assistants maternels (a MAM gathers some).
    Childminder,
    /// A capacity that is not childcare places (seats, young people welcomed…).
    Other,
}

impl PlacesKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Eaje => "eaje",
            Self::Childminder => "assistants_maternels",
            Self::Other => "autre",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Eaje, Self::Childminder, Self::Other].into_iter().find(|k| k.code() == raw.trim())
    }
}

/// A type of facility of the catalogue. The platform ships the types below; a CAF may add more
/// (they are kept in the database).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacilityType {
    pub code: String,
    pub label: String,
    /// The theme under which pages group it (Petite enfance, Enfance et jeunesse…).
    pub theme: String,
    pub places: PlacesKind,
    /// Other names the type is known by in open-data files (SCDL `EQUIP_TYPE` values…), lower case.
    pub aliases: Vec<String>,
}

macro_rules! facility_types {
    ($(($code:literal, $label:literal, $theme:literal, $places:ident, [$($alias:literal),*])),+ $(,)?) => {
        /// The types of facility shipped with the platform.
        pub fn builtin_facility_types() -> Vec<FacilityType> {
            vec![$(FacilityType {
                code: $code.to_owned(),
                label: $label.to_owned(),
                theme: $theme.to_owned(),
                places: PlacesKind::$places,
                aliases: vec![$($alias.to_owned()),*],
            }),+]
        }
    };
}

facility_types! {
    ("eaje", "EAJE (crèche collective)", "Petite enfance", Eaje, ["crèche", "creche", "crèche collective", "multi-accueil", "établissement d'accueil du jeune enfant", "halte-garderie"]),
    ("micro_creche", "Micro-crèche", "Petite enfance", Eaje, ["micro crèche", "microcrèche"]),
    ("creche_familiale", "Crèche familiale", "Petite enfance", Eaje, ["service d'accueil familial"]),
    ("mam", "Maison d'assistants maternels (MAM)", "Petite enfance", Childminder, ["maison d'assistants maternels", "maison d'assistantes maternelles"]),
    ("rpe", "Relais petite enfance (RPE)", "Petite enfance", Other, ["relais petite enfance", "relais assistants maternels", "ram"]),
    ("laep", "Lieu d'accueil enfants-parents (LAEP)", "Parentalité", Other, ["lieu d'accueil enfants parents", "lieu d'accueil enfants-parents"]),
    ("maison_1000_jours", "Maison des 1000 premiers jours", "Parentalité", Other, ["maison des 1000 jours", "maison des 1000 premiers jours"]),
    ("alsh_periscolaire", "Accueil de loisirs périscolaire", "Enfance et jeunesse", Other, ["accueil périscolaire", "alsh périscolaire", "accueil de loisirs périscolaire"]),
    ("alsh_extrascolaire", "Accueil de loisirs extrascolaire", "Enfance et jeunesse", Other, ["centre de loisirs", "alsh", "alsh extrascolaire", "accueil de loisirs sans hébergement"]),
    ("alsh_ados", "Accueil de loisirs adolescents", "Enfance et jeunesse", Other, ["accueil ados", "accueil jeunes", "espace jeunes"]),
    ("ps_jeunes", "Projet PS Jeunes", "Enfance et jeunesse", Other, ["prestation de service jeunes"]),
    ("centre_social", "Centre social", "Animation de la vie sociale", Other, ["centre socioculturel", "maison pour tous"]),
    ("evs", "Espace de vie sociale (EVS)", "Animation de la vie sociale", Other, ["espace de vie sociale"]),
    ("france_services", "France Services", "Accès aux droits", Other, ["maison france services", "maison de services au public", "msap"]),
    ("pij", "Point information jeunesse (PIJ)", "Accès aux droits", Other, ["point information jeunesse", "bureau information jeunesse"]),
    ("point_justice", "Point justice", "Accès aux droits", Other, ["point d'accès au droit", "maison de justice et du droit"]),
    ("cllaj", "CLLAJ", "Accès aux droits", Other, ["comité local pour le logement autonome des jeunes"]),
    ("promeneur_du_net", "Promeneur du Net", "Enfance et jeunesse", Other, ["promeneurs du net"]),
    ("pedt", "Projet éducatif territorial (PEDT)", "Enfance et jeunesse", Other, ["projet éducatif territorial"]),
}

/// Finds a type by its code, its label or one of its aliases (case and accents of the label as
/// written; codes and aliases compared in lower case).
pub fn find_facility_type<'a>(types: &'a [FacilityType], raw: &str) -> Option<&'a FacilityType> {
    let wanted = raw.trim().to_lowercase();
    types
        .iter()
        .find(|t| t.code == wanted)
        .or_else(|| types.iter().find(|t| t.label.to_lowercase() == wanted || t.aliases.contains(&wanted)))
}

/// Checks a code for a new type: lower-case letters, digits and `_`, 2 to 40 characters.
pub fn check_type_code(raw: &str) -> Result<String, ConventionError> {
    let code = raw.trim();
    let ok = (2..=40).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && code.as_bytes()[0].is_ascii_lowercase();
    if ok {
        Ok(code.to_owned())
    } else {
        Err(ConventionError::Invalid(format!(
            "code de type invalide « {code} » : de 2 à 40 lettres minuscules sans accent, chiffres ou « _ », en commençant par une lettre"
        )))
    }
}

coded_enum! {
    /// Where a facility stands.
    FacilityStatus, "statut de l'équipement" {
        Open => "ouvert", "Ouvert";
        Planned => "en_projet", "En projet";
        Closed => "ferme", "Fermé";
    }
}

/// A facility as it is entered: in a form, a file or the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewFacility {
    pub type_code: String,
    pub name: String,
    /// The organisation that runs it (a commune, an association, the intercommunality…).
    pub manager: String,
    /// Where it stands.
    pub commune: InseeCode,
    /// Other communes it serves (an RPE covers several); its own commune is always served.
    pub served: Vec<InseeCode>,
    /// Places or seats; `None` when unknown.
    pub capacity: Option<i64>,
    pub labels: Vec<String>,
    pub status: FacilityStatus,
    pub opened_on: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    /// An identifier from elsewhere, e.g. the SCDL `EQUIP_UID`; unique when given.
    pub external_id: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl NewFacility {
    /// Checks the rules that do not depend on the database, and tidies lists (served communes without
    /// the facility's own commune and without duplicates; labels trimmed, without duplicates).
    pub fn check(mut self, types: &[FacilityType]) -> Result<Self, ConventionError> {
        use crate::text::{clean_all, clean_in, clean_opt, invalid as refused, TextKind::*};
        let invalid = |s: String| Err(ConventionError::Invalid(s));
        // The facility's name keeps its own message below: one line, then its length.
        self.name = self.name.replace(['\r', '\n', '\t'], " ");
        if let Some(bad) = self.name.chars().find(|&c| crate::text::is_forbidden(c)) {
            return invalid(format!(
                "le champ « nom » contient un caractère de contrôle interdit (U+{:04X}) : retirez-le",
                u32::from(bad)
            ));
        }
        self.name = self.name.trim().to_owned();
        clean_in("gestionnaire", &mut self.manager, Name).map_err(refused)?;
        clean_all("labels", &mut self.labels, Name).map_err(refused)?;
        clean_opt("identifiant externe", &mut self.external_id, Code).map_err(refused)?;
        if self.name.is_empty() {
            return invalid("le nom de l'équipement est vide".into());
        }
        if self.name.chars().count() > 200 {
            return invalid("le nom de l'équipement dépasse 200 caractères".into());
        }
        let Some(t) = types.iter().find(|t| t.code == self.type_code.trim()) else {
            let known: Vec<&str> = types.iter().map(|t| t.code.as_str()).collect();
            return Err(ConventionError::UnknownValue("type d'équipement", self.type_code, known.join(", ")));
        };
        self.type_code = t.code.clone();
        if let Some(c) = self.capacity {
            if !(0..=100_000).contains(&c) {
                return invalid(format!("capacité hors limites : {c} (de 0 à 100 000)"));
            }
        }
        if let (Some(o), Some(c)) = (self.opened_on, self.closed_on) {
            if c < o {
                return invalid(format!("la date de fermeture ({c}) précède la date d'ouverture ({o})"));
            }
        }
        if self.status != FacilityStatus::Closed && self.closed_on.is_some() {
            return invalid("une date de fermeture est donnée mais le statut n'est pas « fermé »".into());
        }
        if let Some(lat) = self.latitude {
            if !(-90.0..=90.0).contains(&lat) {
                return invalid(format!("latitude hors limites : {lat}"));
            }
        }
        if let Some(lon) = self.longitude {
            if !(-180.0..=180.0).contains(&lon) {
                return invalid(format!("longitude hors limites : {lon}"));
            }
        }
        let own = self.commune.clone();
        let mut seen = BTreeSet::new();
        self.served.retain(|c| *c != own && seen.insert(c.clone()));
        let mut labels = BTreeSet::new();
        self.labels = std::mem::take(&mut self.labels)
            .into_iter()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty() && labels.insert(l.to_lowercase()))
            .collect();
        self.external_id = self.external_id.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        Ok(self)
    }
}

/// A facility as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Facility {
    pub id: i64,
    #[serde(flatten)]
    pub data: NewFacility,
    pub version: i64,
}

impl NewFacility {
    /// Whether it offers its service on this day: not planned, opened on or before it (or with no known
    /// opening date), and, when closed, closed after it.
    pub fn active_on(&self, day: NaiveDate) -> bool {
        let opened = self.opened_on.is_none_or(|d| d <= day);
        match self.status {
            FacilityStatus::Planned => false,
            FacilityStatus::Open => opened,
            FacilityStatus::Closed => opened && self.closed_on.is_some_and(|c| day < c),
        }
    }

    /// Every commune it serves, its own first.
    pub fn communes_served(&self) -> impl Iterator<Item = &InseeCode> {
        std::iter::once(&self.commune).chain(self.served.iter())
    }
}

/// How a commune has a type of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    /// Served by a facility that stands elsewhere.
    Served,
    /// A facility of the type stands in the commune.
    Located,
}

/// The services of one commune on a day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommuneServices {
    pub code: InseeCode,
    pub name: String,
    /// Type code → how the commune has it (located wins over served).
    pub types: BTreeMap<String, Presence>,
}

/// For each commune, the types of service it has or is served by on `day` (facilities not active that
/// day do not count). Communes keep the order given.
pub fn services_by_commune(
    communes: &[(InseeCode, String)],
    facilities: &[NewFacility],
    day: NaiveDate,
) -> Vec<CommuneServices> {
    let mut by_code: HashMap<&InseeCode, BTreeMap<String, Presence>> = HashMap::new();
    for f in facilities.iter().filter(|f| f.active_on(day)) {
        for (i, c) in f.communes_served().enumerate() {
            let presence = if i == 0 { Presence::Located } else { Presence::Served };
            let entry = by_code.entry(c).or_default().entry(f.type_code.clone()).or_insert(presence);
            *entry = (*entry).max(presence);
        }
    }
    communes
        .iter()
        .map(|(code, name)| CommuneServices {
            code: code.clone(),
            name: name.clone(),
            types: by_code.get(code).cloned().unwrap_or_default(),
        })
        .collect()
}

/// The communes with no service of this type, neither located nor served.
pub fn communes_without<'a>(services: &'a [CommuneServices], type_code: &str) -> Vec<&'a CommuneServices> {
    services.iter().filter(|c| !c.types.contains_key(type_code)).collect()
}

/// Childcare places of one commune, per 100 children under 3.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlacesRow {
    pub code: InseeCode,
    pub name: String,
    /// EAJE places of the facilities standing in the commune and active on the day.
    pub eaje_places: i64,
    /// Places of MAM standing in the commune.
    pub mam_places: i64,
    /// Facilities whose capacity is unknown: the places are then a lower bound.
    pub unknown_capacity: usize,
    pub children_under_three: Option<i64>,
    /// (EAJE + MAM places) per 100 children under 3.
    pub per_hundred: Option<f64>,
}

/// Places per 100 children under 3, per commune and for all of them (the last row, with the code of
/// the whole given as `total_code` / `total_name`, e.g. the EPCI). The total's children are the sum
/// over communes only when every commune's count is known; otherwise `total_children` (e.g. the EPCI's
/// own observation) is used when given.
pub fn places_per_hundred(
    communes: &[(InseeCode, String)],
    facilities: &[NewFacility],
    types: &[FacilityType],
    children: &HashMap<InseeCode, i64>,
    day: NaiveDate,
    total_children: Option<i64>,
) -> (Vec<PlacesRow>, PlacesTotal) {
    let kind: HashMap<&str, PlacesKind> = types.iter().map(|t| (t.code.as_str(), t.places)).collect();
    let mut rows: Vec<PlacesRow> = communes
        .iter()
        .map(|(code, name)| PlacesRow {
            code: code.clone(),
            name: name.clone(),
            eaje_places: 0,
            mam_places: 0,
            unknown_capacity: 0,
            children_under_three: children.get(code).copied(),
            per_hundred: None,
        })
        .collect();
    let index: HashMap<&InseeCode, usize> = communes.iter().enumerate().map(|(i, (c, _))| (c, i)).collect();
    for f in facilities.iter().filter(|f| f.active_on(day)) {
        let Some(&i) = index.get(&f.commune) else { continue };
        let k = kind.get(f.type_code.as_str()).copied().unwrap_or(PlacesKind::Other);
        if k == PlacesKind::Other {
            continue;
        }
        match (k, f.capacity) {
            (_, None) => rows[i].unknown_capacity += 1,
            (PlacesKind::Eaje, Some(c)) => rows[i].eaje_places += c,
            (_, Some(c)) => rows[i].mam_places += c,
        }
    }
    for r in &mut rows {
        r.per_hundred = r.children_under_three.and_then(|ch| per_hundred(r.eaje_places + r.mam_places, ch));
    }
    let eaje_places = rows.iter().map(|r| r.eaje_places).sum();
    let mam_places = rows.iter().map(|r| r.mam_places).sum();
    let summed: Option<i64> = rows.iter().map(|r| r.children_under_three).sum();
    let children_total = summed.or(total_children);
    let total = PlacesTotal {
        eaje_places,
        mam_places,
        unknown_capacity: rows.iter().map(|r| r.unknown_capacity).sum(),
        children_under_three: children_total,
        per_hundred: children_total.and_then(|ch| per_hundred(eaje_places + mam_places, ch)),
    };
    (rows, total)
}

/// The places of all the communes together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlacesTotal {
    pub eaje_places: i64,
    pub mam_places: i64,
    pub unknown_capacity: usize,
    pub children_under_three: Option<i64>,
    pub per_hundred: Option<f64>,
}

coded_enum! {
    /// The CAF schemes that fund services (dispositifs).
    Dispositif, "dispositif" {
        Psu => "psu", "Prestation de service unique (PSU)";
        PsAlsh => "ps_alsh", "Prestation de service ALSH";
        PsJeunes => "ps_jeunes", "Prestation de service Jeunes";
        PsRpe => "ps_rpe", "Prestation de service RPE";
        PsLaep => "ps_laep", "Prestation de service LAEP";
        PsAnimationGlobale => "ps_animation_globale", "Prestation de service animation globale (centre social)";
        PsAnimationCollectiveFamilles => "ps_acf", "Prestation de service animation collective familles";
        PsEvs => "ps_evs", "Prestation de service EVS";
        BonusTerritoire => "bonus_territoire", "Bonus territoire CTG";
        BonusInclusionHandicap => "bonus_inclusion_handicap", "Bonus inclusion handicap";
        BonusMixiteSociale => "bonus_mixite_sociale", "Bonus mixité sociale";
        FondsPublicsTerritoires => "fonds_publics_territoires", "Fonds publics et territoires";
        Investissement => "investissement", "Aide à l'investissement";
        Autre => "autre", "Autre financement";
    }
}

/// A funding line: a scheme, a funder, a year, an amount in cents; for a facility or for the territory
/// as a whole (an EAJE bonus paid across the territory…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewFunding {
    pub facility_id: Option<i64>,
    pub dispositif: Dispositif,
    pub funder: String,
    pub year: i32,
    pub amount_cents: i64,
    /// What it pays for, in a few words.
    pub note: String,
}

impl NewFunding {
    pub fn check(mut self) -> Result<Self, ConventionError> {
        use crate::text::{clean_in, invalid as refused, TextKind::*};
        clean_in("financeur", &mut self.funder, Name).map_err(refused)?;
        clean_in("objet", &mut self.note, Long).map_err(refused)?;
        if self.funder.is_empty() {
            return Err(ConventionError::Invalid("le financeur est vide".into()));
        }
        if !crate::parse::PLAN_YEARS.contains(&self.year) {
            return Err(ConventionError::Invalid(format!("année hors limites : {} (de 1990 à 2100)", self.year)));
        }
        if !(0..=100_000_000_000).contains(&self.amount_cents) {
            return Err(ConventionError::Invalid("montant hors limites (de 0 à 1 milliard d'euros)".into()));
        }
        Ok(self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Funding {
    pub id: i64,
    #[serde(flatten)]
    pub data: NewFunding,
    pub version: i64,
}

/// Parses an amount in euros as people write it (`110 021,39`, `110021.39`, `112 500 €`) into cents.
pub fn parse_euros(raw: &str) -> Result<i64, String> {
    let cleaned: String =
        raw.trim().trim_end_matches('€').chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
    let bad = || format!("montant invalide « {} » : un nombre d'euros est attendu, par exemple 1 234,56", raw.trim());
    let cleaned = cleaned.replace(',', ".");
    let (units, cents) = match cleaned.split_once('.') {
        None => (cleaned.as_str(), ""),
        Some((u, c)) => (u, c),
    };
    if units.is_empty()
        || !units.bytes().all(|b| b.is_ascii_digit())
        || cents.len() > 2
        || !cents.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let units: i64 = units.parse().map_err(|_| bad())?;
    let cents: i64 = match cents.len() {
        0 => 0,
        1 => cents.parse::<i64>().map_err(|_| bad())? * 10,
        _ => cents.parse().map_err(|_| bad())?,
    };
    units.checked_mul(100).and_then(|u| u.checked_add(cents)).ok_or_else(bad)
}

/// Funding totals, in cents, by scheme, by funder and by year, and the grand total, of the lines that
/// run; the lines of years stopped by a termination (art. 13, [`crate::life::Stop`]) are added apart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FundingTotals {
    pub by_dispositif: BTreeMap<String, i64>,
    pub by_funder: BTreeMap<String, i64>,
    pub by_year: BTreeMap<i32, i64>,
    pub total: i64,
    /// The total of the stopped lines, and how many they are.
    pub stopped: i64,
    pub stopped_lines: usize,
}

pub fn funding_totals<'a>(
    lines: impl IntoIterator<Item = &'a NewFunding>,
    stop: Option<crate::life::Stop>,
) -> FundingTotals {
    let mut t = FundingTotals::default();
    for l in lines {
        if crate::life::year_stopped(stop, l.year) {
            t.stopped += l.amount_cents;
            t.stopped_lines += 1;
            continue;
        }
        *t.by_dispositif.entry(l.dispositif.code().to_owned()).or_default() += l.amount_cents;
        *t.by_funder.entry(l.funder.clone()).or_default() += l.amount_cents;
        *t.by_year.entry(l.year).or_default() += l.amount_cents;
        t.total += l.amount_cents;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }
    fn c(s: &str) -> InseeCode {
        InseeCode::parse(s).unwrap()
    }
    fn fac(t: &str, commune: &str, served: &[&str], capacity: Option<i64>) -> NewFacility {
        NewFacility {
            type_code: t.into(),
            name: format!("{t} de {commune}"),
            manager: "Commune".into(),
            commune: c(commune),
            served: served.iter().map(|s| c(s)).collect(),
            capacity,
            labels: vec![],
            status: FacilityStatus::Open,
            opened_on: None,
            closed_on: None,
            external_id: None,
            latitude: None,
            longitude: None,
        }
    }
    fn communes() -> Vec<(InseeCode, String)> {
        [("62119", "Béthune"), ("62178", "Bruay-la-Buissière"), ("62510", "Lillers"), ("62048", "Auchel")]
            .iter()
            .map(|(k, n)| (c(k), (*n).to_owned()))
            .collect()
    }

    #[test]
    fn a_relais_serves_several_communes_and_the_others_have_none() {
        let f = vec![fac("rpe", "62119", &["62178", "62119"], None), fac("eaje", "62510", &[], Some(30))];
        let s = services_by_commune(&communes(), &f, d("2026-06-01"));
        assert_eq!(s[0].types["rpe"], Presence::Located);
        assert_eq!(s[1].types["rpe"], Presence::Served);
        let without: Vec<&str> = communes_without(&s, "rpe").iter().map(|c| c.name.as_str()).collect();
        assert_eq!(without, ["Lillers", "Auchel"]);
        let without_eaje: Vec<&str> = communes_without(&s, "eaje").iter().map(|c| c.name.as_str()).collect();
        assert_eq!(without_eaje, ["Béthune", "Bruay-la-Buissière", "Auchel"]);
    }

    #[test]
    fn planned_and_closed_facilities_count_only_while_open() {
        let mut planned = fac("laep", "62048", &[], None);
        planned.status = FacilityStatus::Planned;
        planned.opened_on = Some(d("2027-09-01"));
        let mut closed = fac("centre_social", "62178", &[], None);
        closed.status = FacilityStatus::Closed;
        closed.opened_on = Some(d("2001-01-01"));
        closed.closed_on = Some(d("2024-12-31"));
        assert!(!planned.active_on(d("2026-06-01")));
        assert!(closed.active_on(d("2024-12-30")));
        assert!(!closed.active_on(d("2024-12-31")));
        let s = services_by_commune(&communes(), &[planned, closed], d("2026-06-01"));
        assert!(s.iter().all(|c| c.types.is_empty()));
    }

    #[test]
    fn places_per_hundred_children_by_hand() {
        let types = builtin_facility_types();
        // Béthune: 40 + 10 EAJE places and a MAM of 16, for 500 children: 66 / 500 = 13.2 per 100.
        // Lillers: one crèche of unknown capacity, 120 children: 0 known places.
        // Bruay: an RPE (no places), 300 children. Auchel: children unknown.
        let f = vec![
            fac("eaje", "62119", &[], Some(40)),
            fac("micro_creche", "62119", &[], Some(10)),
            fac("mam", "62119", &[], Some(16)),
            fac("eaje", "62510", &[], None),
            fac("rpe", "62178", &["62119"], Some(5)),
        ];
        let children: HashMap<InseeCode, i64> = [(c("62119"), 500), (c("62510"), 120), (c("62178"), 300)].into();
        let (rows, total) = places_per_hundred(&communes(), &f, &types, &children, d("2026-01-01"), None);
        assert_eq!((rows[0].eaje_places, rows[0].mam_places, rows[0].per_hundred), (50, 16, Some(13.2)));
        assert_eq!((rows[2].unknown_capacity, rows[2].per_hundred), (1, Some(0.0)));
        assert_eq!(rows[1].per_hundred, Some(0.0));
        assert_eq!(rows[3].per_hundred, None);
        // Auchel's children are unknown: the total is not a sum, and without the EPCI's own figure it
        // stays unknown; with 1,000 children for the whole: 66 per 1,000 = 6.6 per 100.
        assert_eq!(total.per_hundred, None);
        let (_, total) = places_per_hundred(&communes(), &f, &types, &children, d("2026-01-01"), Some(1_000));
        assert_eq!((total.eaje_places, total.mam_places, total.per_hundred), (50, 16, Some(6.6)));
    }

    #[test]
    fn facilities_are_checked() {
        let types = builtin_facility_types();
        let mut f = fac("rpe", "62119", &["62178", "62119", "62178"], Some(3));
        f.labels = vec![" AVIP ".into(), "avip".into(), String::new()];
        let ok = f.clone().check(&types).unwrap();
        assert_eq!(ok.served, vec![c("62178")]);
        assert_eq!(ok.labels, vec!["AVIP".to_owned()]);
        let mut bad = f.clone();
        bad.type_code = "piscine".into();
        assert!(bad.check(&types).unwrap_err().to_string().contains("type d'équipement : valeur inconnue « piscine »"));
        let mut bad = f.clone();
        bad.capacity = Some(-1);
        assert!(bad.check(&types).unwrap_err().to_string().contains("capacité"));
        let mut bad = f.clone();
        bad.closed_on = Some(d("2025-01-01"));
        assert!(bad.check(&types).unwrap_err().to_string().contains("date de fermeture"));
        // A facility closed on a date nobody recorded is closed all the same.
        let mut closed = f.clone();
        closed.status = FacilityStatus::Closed;
        let closed = closed.check(&types).unwrap();
        assert!(!closed.active_on(d("2026-01-01")));
        let mut bad = f;
        bad.name = "  ".into();
        assert!(bad.check(&types).is_err());
    }

    #[test]
    fn types_are_found_by_code_label_or_alias() {
        let types = builtin_facility_types();
        assert_eq!(find_facility_type(&types, "RPE").unwrap().code, "rpe");
        assert_eq!(find_facility_type(&types, "Relais assistants maternels").unwrap().code, "rpe");
        assert_eq!(find_facility_type(&types, "Micro-crèche").unwrap().code, "micro_creche");
        assert!(find_facility_type(&types, "Piscine").is_none());
        let mut codes: Vec<&str> = types.iter().map(|t| t.code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), types.len());
        assert!(check_type_code("ludotheque").is_ok());
        assert!(check_type_code("Ludothèque").is_err());
    }

    #[test]
    fn euros_to_cents_and_funding_totals_of_the_demo() {
        // FACTS.md: EAJE 2024, bonus inclusion handicap 110,021.39 €, bonus mixité sociale 112,500 €;
        // ACM 2024: 131,114.25 € + 74,759.65 € + 21,197.25 € of bonus inclusion handicap.
        assert_eq!(parse_euros("110 021,39 €"), Ok(11_002_139));
        assert_eq!(parse_euros("112500"), Ok(11_250_000));
        assert_eq!(parse_euros("0,5"), Ok(50));
        assert!(parse_euros("12,345").is_err());
        assert!(parse_euros("-3").is_err());
        assert!(parse_euros("douze").is_err());
        let line = |d: Dispositif, euros: &str| NewFunding {
            facility_id: None,
            dispositif: d,
            funder: "CAF du Pas-de-Calais".into(),
            year: 2024,
            amount_cents: parse_euros(euros).unwrap(),
            note: String::new(),
        };
        let lines = [
            line(Dispositif::BonusInclusionHandicap, "110021,39"),
            line(Dispositif::BonusMixiteSociale, "112500"),
            line(Dispositif::BonusInclusionHandicap, "131114,25"),
            line(Dispositif::BonusInclusionHandicap, "74759,65"),
            line(Dispositif::BonusInclusionHandicap, "21197,25"),
        ];
        let t = funding_totals(&lines, None);
        // 110,021.39 + 131,114.25 + 74,759.65 + 21,197.25 = 337,092.54 €.
        assert_eq!(t.by_dispositif["bonus_inclusion_handicap"], 33_709_254);
        assert_eq!(t.by_dispositif["bonus_mixite_sociale"], 11_250_000);
        assert_eq!(t.total, 44_959_254);
        assert_eq!(t.by_year[&2024], t.total);
        assert_eq!(t.by_funder["CAF du Pas-de-Calais"], t.total);
        assert_eq!((t.stopped, t.stopped_lines), (0, 0));
        // Art. 13: terminated on 1 January 2025, the lines of 2025 stop; 2024 runs.
        let mut later = line(Dispositif::Autre, "1000");
        later.year = 2025;
        let stop = crate::life::Stop::of(NaiveDate::from_ymd_opt(2025, 1, 1));
        let t = funding_totals(lines.iter().chain([&later]), stop);
        assert_eq!((t.total, t.stopped, t.stopped_lines), (44_959_254, 100_000, 1));
        assert!(!t.by_year.contains_key(&2025));
        assert!(line(Dispositif::Autre, "1").check().is_ok());
        let mut bad = line(Dispositif::Autre, "1");
        bad.year = 1850;
        assert!(bad.check().is_err());
    }
}
