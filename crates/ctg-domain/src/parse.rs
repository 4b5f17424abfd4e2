//! Reading what people write: dates, communes, periods, and codes in the order people read them.
//!
//! Each rule is here once, for every way into the platform (forms, API, imports, command line), so
//! that the same text means the same thing wherever it is typed. A text that cannot be read gives a
//! [`FieldError`]: the field it concerns, as the caller named it, and why, in French. Callers place the
//! message by its field, never by its words.
//!
//! - Dates ([`date`], [`optional_date`], [`spreadsheet_date`]): `AAAA-MM-JJ` or `JJ/MM/AAAA`, of a year
//!   from 1900 to 2200 ([`YEARS`]); a day that does not exist (30 February) is refused.
//! - Communes ([`insee_code`], [`CommuneIndex`]): INSEE codes (four digits are a code whose leading zero
//!   a spreadsheet dropped), names written loosely (case, accents, hyphens aside: [`loose`]), a name that
//!   two communes share refused with their codes, and « tout le territoire » ([`WHOLE_TERRITORY`]).
//! - Periods ([`period`], [`plan_period`], [`plan_year`]): `AAAA`, `AAAA-MM`, and `AAAA-AAAA` for a
//!   span of years where a span makes sense.
//! - Codes ([`natural_cmp`]): « PE-2 » before « PE-10 », « 1.2 » before « 1.10 », case aside.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::RangeInclusive;

use chrono::{Datelike, Duration, NaiveDate};

use crate::InseeCode;

// ---------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------

/// A text that could not be read: the field it concerns and why, in French, for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as the caller named it (a form field, a column, a JSON key, an option).
    pub field: Cow<'static, str>,
    /// Why, in French, without the field's name: callers show it beside the field or after it.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// The message alone: the place (field, column, line) is the caller's to give.
impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FieldError {}

// ---------------------------------------------------------------------------------------------------
// Loose comparison
// ---------------------------------------------------------------------------------------------------

/// A text as people write it, for comparing: trimmed, lower case, without accents (`Œ` as `oe`), the
/// hyphens, underscores, apostrophes and points as spaces, runs of spaces as one. « Nœux-les-Mines »,
/// « NOEUX LES MINES » and « noeux-les-mines » are the same.
pub fn loose(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut push = |c: char| {
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            return;
        }
        out.push(c);
    };
    for c in raw.trim().chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'â' | 'ä' | 'á' => push('a'),
            'é' | 'è' | 'ê' | 'ë' => push('e'),
            'î' | 'ï' | 'í' => push('i'),
            'ô' | 'ö' | 'ó' => push('o'),
            'ù' | 'û' | 'ü' | 'ú' => push('u'),
            'ÿ' => push('y'),
            'ç' => push('c'),
            'œ' => "oe".chars().for_each(&mut push),
            'æ' => "ae".chars().for_each(&mut push),
            '-' | '_' | '\'' | '’' | '.' => push(' '),
            c if c.is_whitespace() => push(' '),
            c => push(c),
        }
    }
    out.trim_end().to_owned()
}

// ---------------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------------

/// The years a date or a period of the diagnostic may have.
pub const YEARS: RangeInclusive<i32> = 1900..=2200;

/// The forms of a date, for messages.
const DATE_FORMS: &str = "AAAA-MM-JJ ou JJ/MM/AAAA attendu";

/// A date written `AAAA-MM-JJ` (as `<input type="date">` and the API send it) or `JJ/MM/AAAA`, spaces
/// around aside; the month and the day may have one digit (`2026-3-1`, `1/3/2026`). The year is
/// from 1900 to 2200 ([`YEARS`]) and the day exists (no 30 February, 29 February in leap years only).
/// Empty is an error: the date is required.
pub fn date(field: impl Into<Cow<'static, str>>, raw: &str) -> Result<NaiveDate, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldError::new(field, format!("la date est obligatoire ({DATE_FORMS})")));
    }
    read_date(raw).map_err(|why| FieldError::new(field, format!("date invalide « {raw} » : {why}")))
}

/// Like [`date`], where empty is no date.
pub fn optional_date(field: impl Into<Cow<'static, str>>, raw: &str) -> Result<Option<NaiveDate>, FieldError> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        date(field, raw).map(Some)
    }
}

/// A date in a cell of a table, CSV, XLSX or ODS: as [`optional_date`] (empty is no date), and also a
/// date with a time of day (`2026-01-01 00:00:00`, `2026-01-01T10:00`: the day), or the day number a
/// spreadsheet stores when the cell is not formatted as a date (five digits, days since 1899-12-30:
/// `46023` is 2026-01-01).
pub fn spreadsheet_date(field: impl Into<Cow<'static, str>>, raw: &str) -> Result<Option<NaiveDate>, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let bad = |why: String| FieldError::new(field, format!("date invalide « {raw} » : {why}"));
    if raw.len() == 5 && raw.bytes().all(|b| b.is_ascii_digit()) {
        let days: i64 = raw.parse().unwrap_or_default();
        let day = NaiveDate::from_ymd_opt(1899, 12, 30).and_then(|d| d.checked_add_signed(Duration::days(days)));
        return match day {
            Some(day) if YEARS.contains(&day.year()) => Ok(Some(day)),
            _ => Err(bad(year_out_of_range())),
        };
    }
    // A date and a time of day: the date.
    let day = match raw.get(10..11) {
        Some(" " | "T") => &raw[..10],
        _ => raw,
    };
    read_date(day).map(Some).map_err(bad)
}

fn year_out_of_range() -> String {
    format!("l'année doit s'écrire sur quatre chiffres, de {} à {}", YEARS.start(), YEARS.end())
}

/// The date of a non-empty trimmed text, or why not (for « date invalide « … » : why »).
fn read_date(raw: &str) -> Result<NaiveDate, String> {
    let parts = |sep: char| -> Option<[&str; 3]> {
        let mut it = raw.split(sep);
        let parts = [it.next()?, it.next()?, it.next()?];
        it.next().is_none().then_some(parts)
    };
    let (year, month, day) = match (parts('-'), parts('/')) {
        (Some([y, m, d]), None) => (y, m, d),
        (None, Some([d, m, y])) => (y, m, d),
        _ => return Err(DATE_FORMS.into()),
    };
    let number = |s: &str, max_len: usize| -> Option<u32> {
        if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (Some(y), Some(m), Some(d)) = (number(year, 6), number(month, 2), number(day, 2)) else {
        return Err(DATE_FORMS.into());
    };
    let y = i32::try_from(y).unwrap_or(i32::MAX);
    if year.len() != 4 || !YEARS.contains(&y) {
        return Err(year_out_of_range());
    }
    if !(1..=12).contains(&m) {
        return Err(format!("il n'y a pas de mois {m} (de 1 à 12)"));
    }
    let last = crate::life::days_in_month(y, m);
    if !(1..=last).contains(&d) {
        return Err(if d == 0 {
            "il n'y a pas de jour 0".to_owned()
        } else {
            format!("{} {y} n'a que {last} jours", crate::format::month_name(m))
        });
    }
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| DATE_FORMS.to_owned())
}

// ---------------------------------------------------------------------------------------------------
// Communes
// ---------------------------------------------------------------------------------------------------

/// How a list of communes says « the whole territory », compared loosely ([`loose`]).
pub const WHOLE_TERRITORY: &[&str] = &[
    "tout le territoire",
    "l ensemble du territoire",
    "ensemble du territoire",
    "toutes les communes",
    "toutes",
    "territoire",
];

/// Whether a text says « the whole territory » ([`WHOLE_TERRITORY`]).
pub fn is_whole_territory(raw: &str) -> bool {
    WHOLE_TERRITORY.contains(&loose(raw).as_str())
}

/// An INSEE code as people and files write it ([`InseeCode::parse`]). Four digits are a code whose
/// leading zero a spreadsheet dropped, as it does to any number (`1053` is `01053`, Bourg-en-Bresse).
pub fn insee_code(field: impl Into<Cow<'static, str>>, raw: &str) -> Result<InseeCode, FieldError> {
    padded_code(raw).map_err(|e| FieldError::new(field, e.to_string()))
}

fn padded_code(raw: &str) -> Result<InseeCode, crate::TerritoryError> {
    let raw = raw.trim();
    if raw.len() == 4 && raw.bytes().all(|b| b.is_ascii_digit()) {
        InseeCode::parse(&format!("0{raw}"))
    } else {
        InseeCode::parse(raw)
    }
}

/// The communes a list names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommuneList {
    /// « Tout le territoire » (or, where [`CommuneIndex::empty_is_no_commune`] is not set, nothing).
    WholeTerritory,
    /// These communes, in the order written, each once.
    Listed(Vec<InseeCode>),
}

impl CommuneList {
    /// The communes listed; none for the whole territory (as a fiche or an event records it).
    pub fn into_codes(self) -> Vec<InseeCode> {
        match self {
            Self::WholeTerritory => Vec::new(),
            Self::Listed(codes) => codes,
        }
    }
}

/// The communes of a territory, to read the lists people write: names or INSEE codes separated by
/// `;`, `,` or new lines.
///
/// - A code (letters and digits, one digit at least) is read by [`insee_code`]; it must be of the
///   territory, unless [`with_outside_codes`](Self::with_outside_codes) (a relais petite enfance may
///   serve a commune across the border).
/// - A name is compared loosely ([`loose`]): « BETHUNE », « béthune » and « Béthune » are Béthune. A
///   name that several communes of the territory share is refused with their codes, to write instead.
/// - « Tout le territoire » ([`WHOLE_TERRITORY`]), alone, is the whole territory; so is an empty list,
///   unless [`empty_is_no_commune`](Self::empty_is_no_commune).
///
/// Every problem of a list is reported, in one message.
#[derive(Debug, Clone)]
pub struct CommuneIndex<'a> {
    codes: HashSet<&'a InseeCode>,
    by_name: HashMap<String, Vec<&'a InseeCode>>,
    outside_codes: bool,
    empty_is_whole: bool,
}

impl<'a> CommuneIndex<'a> {
    /// The territory's communes: their codes and names.
    pub fn new(communes: impl IntoIterator<Item = (&'a InseeCode, &'a str)>) -> Self {
        let mut codes = HashSet::new();
        let mut by_name: HashMap<String, Vec<&InseeCode>> = HashMap::new();
        for (code, name) in communes {
            if codes.insert(code) {
                by_name.entry(loose(name)).or_default().push(code);
            }
        }
        Self { codes, by_name, outside_codes: false, empty_is_whole: true }
    }

    /// Valid INSEE codes of communes outside the territory are accepted too.
    pub fn with_outside_codes(mut self) -> Self {
        self.outside_codes = true;
        self
    }

    /// An empty list names no commune (rather than the whole territory).
    pub fn empty_is_no_commune(mut self) -> Self {
        self.empty_is_whole = false;
        self
    }

    /// The code of one commune of the territory written by its name or its code.
    pub fn commune(&self, field: impl Into<Cow<'static, str>>, raw: &str) -> Result<InseeCode, FieldError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(FieldError::new(field, "la commune est obligatoire (son nom ou son code INSEE)"));
        }
        self.token(raw).map_err(|why| FieldError::new(field, format!("{why} : {}", self.expected())))
    }

    /// The communes a list names, or every problem of it in one message.
    pub fn read(&self, field: impl Into<Cow<'static, str>>, raw: &str) -> Result<CommuneList, FieldError> {
        if is_whole_territory(raw) || (self.empty_is_whole && raw.trim().is_empty()) {
            return Ok(CommuneList::WholeTerritory);
        }
        let mut out: Vec<InseeCode> = Vec::new();
        let mut bad = Vec::new();
        for token in raw.split([';', ',', '\n']).map(str::trim).filter(|t| !t.is_empty()) {
            if is_whole_territory(token) {
                bad.push(format!("« {token} » ne se mêle pas à des communes : écrivez-le seul"));
                continue;
            }
            match self.token(token) {
                Ok(code) if !out.contains(&code) => out.push(code),
                Ok(_) => {}
                Err(why) => bad.push(why),
            }
        }
        if bad.is_empty() {
            Ok(CommuneList::Listed(out))
        } else {
            Err(FieldError::new(field, format!("{} : {}", bad.join(", "), self.expected())))
        }
    }

    /// One name or code, or why not.
    fn token(&self, token: &str) -> Result<InseeCode, String> {
        let code_like = token.chars().all(|c| c.is_ascii_alphanumeric()) && token.chars().any(|c| c.is_ascii_digit());
        if code_like {
            return match padded_code(token) {
                Ok(code) if self.outside_codes || self.codes.contains(&code) => Ok(code),
                Ok(code) => Err(format!("la commune {code} n'est pas du territoire")),
                Err(e) => Err(e.to_string()),
            };
        }
        match self.by_name.get(&loose(token)).map(Vec::as_slice) {
            Some([code]) => Ok((*code).clone()),
            Some(several) => {
                let codes: Vec<&str> = several.iter().map(|c| c.as_str()).collect();
                Err(format!(
                    "plusieurs communes du territoire s'appellent « {token} » : donnez son code INSEE ({})",
                    codes.join(" ou ")
                ))
            }
            None => Err(format!("commune inconnue « {token} »")),
        }
    }

    /// What a list holds, for messages.
    fn expected(&self) -> String {
        let what = if self.outside_codes {
            "le nom d'une commune du territoire ou un code INSEE est attendu"
        } else {
            "le nom ou le code INSEE d'une commune du territoire est attendu"
        };
        let whole = if self.empty_is_whole { "vide ou « tout le territoire »" } else { "« tout le territoire »" };
        format!("{what}, séparés par « ; » ({whole} : tout le territoire)")
    }
}

// ---------------------------------------------------------------------------------------------------
// Periods
// ---------------------------------------------------------------------------------------------------

/// The years of an action plan: its means, funding, targets, reviews and the values of its indicators.
pub const PLAN_YEARS: RangeInclusive<i32> = 1990..=2100;

/// A period: a year, a month, or a span of years (a figure computed over several years).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    /// `2026`.
    Year(i32),
    /// `2026-06`.
    Month { year: i32, month: u32 },
    /// `2011-2022`, the first year before the second.
    Years { from: i32, to: i32 },
}

/// As it is written and stored: `2026`, `2026-06`, `2011-2022`.
impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Year(y) => write!(f, "{y:04}"),
            Self::Month { year, month } => write!(f, "{year:04}-{month:02}"),
            Self::Years { from, to } => write!(f, "{from:04}-{to:04}"),
        }
    }
}

/// The period of an observation of the diagnostic: `AAAA`, `AAAA-MM` or `AAAA-AAAA` (the first year
/// before the second), years from 1900 to 2200 ([`YEARS`]).
pub fn period(field: impl Into<Cow<'static, str>>, raw: &str) -> Result<Period, FieldError> {
    read_period(field, raw, true, YEARS)
}

/// The period of a value of an indicator of the plan: `AAAA`, or `AAAA-MM` for a part of the year, of a
/// year of the plan, from 1990 to 2100 ([`PLAN_YEARS`]).
pub fn plan_period(field: impl Into<Cow<'static, str>>, raw: &str) -> Result<Period, FieldError> {
    read_period(field, raw, false, PLAN_YEARS)
}

/// A year of the plan, `AAAA`, from 1990 to 2100 ([`PLAN_YEARS`]).
pub fn plan_year(field: impl Into<Cow<'static, str>>, raw: &str) -> Result<i32, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldError::new(field, "l'année est obligatoire (AAAA)"));
    }
    let bad = |why: String| format!("année invalide « {raw} » : {why}");
    if raw.len() != 4 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(field, bad("AAAA attendu".into())));
    }
    let year: i32 = raw.parse().unwrap_or_default();
    if !PLAN_YEARS.contains(&year) {
        return Err(FieldError::new(field, bad(years_expected(&PLAN_YEARS))));
    }
    Ok(year)
}

fn years_expected(years: &RangeInclusive<i32>) -> String {
    format!("de {} à {}", years.start(), years.end())
}

fn read_period(
    field: impl Into<Cow<'static, str>>,
    raw: &str,
    spans: bool,
    years: RangeInclusive<i32>,
) -> Result<Period, FieldError> {
    let p = raw.trim();
    if p.is_empty() {
        let forms = if spans { "AAAA, AAAA-MM ou AAAA-AAAA" } else { "AAAA ou AAAA-MM" };
        return Err(FieldError::new(field, format!("la période est obligatoire ({forms})")));
    }
    let bad = |why: String| format!("période invalide « {p} » : {why}");
    let forms = || {
        bad(if spans {
            "AAAA, AAAA-MM ou AAAA-AAAA attendu (par exemple 2022, 2023-12 ou 2011-2022)".to_owned()
        } else {
            "AAAA ou AAAA-MM attendu : l'année (2026) ou l'année et le mois (2026-06)".to_owned()
        })
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let year = |s: &str| -> Result<i32, String> {
        let y: i32 = s.parse().unwrap_or_default();
        if years.contains(&y) {
            Ok(y)
        } else {
            Err(bad(format!("année hors limites ({})", years_expected(&years))))
        }
    };
    let period = match p.split_once('-') {
        None if digits(p, 4) => year(p).map(Period::Year),
        Some((a, b)) if digits(a, 4) && digits(b, 2) => year(a).and_then(|y| {
            let month: u32 = b.parse().unwrap_or_default();
            if (1..=12).contains(&month) {
                Ok(Period::Month { year: y, month })
            } else {
                Err(bad("mois invalide (de 01 à 12)".into()))
            }
        }),
        Some((a, b)) if spans && digits(a, 4) && digits(b, 4) => year(a).and_then(|from| {
            let to = year(b)?;
            if from < to {
                Ok(Period::Years { from, to })
            } else {
                Err(bad("la première année doit précéder la seconde".into()))
            }
        }),
        _ => Err(forms()),
    };
    period.map_err(|m| FieldError::new(field, m))
}

// ---------------------------------------------------------------------------------------------------
// Codes
// ---------------------------------------------------------------------------------------------------

/// Compares codes as people read them: runs of digits by their value (« PE-2 » before « PE-10 »,
/// « 1.2 » before « 1.10 »), a number before a letter, letters case aside (« pe-3 » between « PE-2 » and
/// « PE-10 »); codes equal so (« PE-01 » and « PE-1 ») by their text, so that the order is total.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    fn chunks(s: &str) -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = Vec::new();
        for c in s.chars() {
            let digit = c.is_ascii_digit();
            match out.last_mut() {
                Some((d, run)) if *d == digit => run.push(c),
                _ => out.push((digit, c.to_string())),
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(&cb) {
        let o = match (x.0, y.0) {
            (true, true) => {
                let (tx, ty) = (x.1.trim_start_matches('0'), y.1.trim_start_matches('0'));
                tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty))
            }
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.1.to_lowercase().cmp(&y.1.to_lowercase()),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    ca.len().cmp(&cb.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn insee(code: &str) -> InseeCode {
        InseeCode::parse(code).unwrap()
    }

    #[test]
    fn dates_in_both_forms() {
        assert_eq!(date("debut", "2026-01-01"), Ok(d(2026, 1, 1)));
        assert_eq!(date("debut", " 01/01/2026 "), Ok(d(2026, 1, 1)));
        assert_eq!(date("debut", "31/12/2030"), Ok(d(2030, 12, 31)));
        assert_eq!(date("debut", "2026-3-1"), Ok(d(2026, 3, 1)));
        assert_eq!(date("debut", "1/3/2026"), Ok(d(2026, 3, 1)));
        assert_eq!(date("debut", "1900-01-01"), Ok(d(1900, 1, 1)));
        assert_eq!(date("debut", "2200-12-31"), Ok(d(2200, 12, 31)));
    }

    #[test]
    fn the_29th_of_february_in_leap_years_only() {
        assert_eq!(date("fin", "2028-02-29"), Ok(d(2028, 2, 29)));
        assert_eq!(date("fin", "29/02/2000"), Ok(d(2000, 2, 29)));
        let e = date("fin", "2027-02-29").unwrap_err();
        assert_eq!(e, FieldError::new("fin", "date invalide « 2027-02-29 » : février 2027 n'a que 28 jours"));
        // 1900 and 2100 are not leap years; 2000 is.
        assert!(date("fin", "29/02/1900").is_err());
        assert!(date("fin", "2100-02-29").is_err());
    }

    #[test]
    fn impossible_dates_are_refused_with_the_reason() {
        let message = |raw: &str| date("debut", raw).unwrap_err().message;
        assert_eq!(message("2026-02-30"), "date invalide « 2026-02-30 » : février 2026 n'a que 28 jours");
        assert_eq!(message("31/04/2026"), "date invalide « 31/04/2026 » : avril 2026 n'a que 30 jours");
        assert_eq!(message("2025-13-01"), "date invalide « 2025-13-01 » : il n'y a pas de mois 13 (de 1 à 12)");
        assert_eq!(message("2026-00-10"), "date invalide « 2026-00-10 » : il n'y a pas de mois 0 (de 1 à 12)");
        assert_eq!(message("00/01/2026"), "date invalide « 00/01/2026 » : il n'y a pas de jour 0");
        for (raw, why) in [
            ("1899-12-31", "l'année doit s'écrire sur quatre chiffres, de 1900 à 2200"),
            ("2201-01-01", "l'année doit s'écrire sur quatre chiffres, de 1900 à 2200"),
            ("01/01/26", "l'année doit s'écrire sur quatre chiffres, de 1900 à 2200"),
            ("31/12", "AAAA-MM-JJ ou JJ/MM/AAAA attendu"),
            ("hier", "AAAA-MM-JJ ou JJ/MM/AAAA attendu"),
            ("2026/01/01", "AAAA-MM-JJ ou JJ/MM/AAAA attendu"),
            ("01-01-2026", "AAAA-MM-JJ ou JJ/MM/AAAA attendu"),
            ("2026-01-01-01", "AAAA-MM-JJ ou JJ/MM/AAAA attendu"),
            ("2026-01/01", "AAAA-MM-JJ ou JJ/MM/AAAA attendu"),
            ("+2026-01-01", "AAAA-MM-JJ ou JJ/MM/AAAA attendu"),
            ("2026-001-01", "AAAA-MM-JJ ou JJ/MM/AAAA attendu"),
            ("２０２６-01-01", "AAAA-MM-JJ ou JJ/MM/AAAA attendu"),
        ] {
            assert_eq!(message(raw), format!("date invalide « {raw} » : {why}"), "{raw}");
        }
    }

    #[test]
    fn an_empty_date_is_required_or_none() {
        assert_eq!(
            date("debut", "  ").unwrap_err().message,
            "la date est obligatoire (AAAA-MM-JJ ou JJ/MM/AAAA attendu)"
        );
        assert_eq!(optional_date("debut", ""), Ok(None));
        assert_eq!(optional_date("debut", "2026-06-01"), Ok(Some(d(2026, 6, 1))));
        assert_eq!(optional_date("fin", "2026-06-31").unwrap_err().field, "fin");
        // A field named at run time (an import's column) is kept as it is.
        assert_eq!(optional_date(String::from("Date de fin"), "x").unwrap_err().field, "Date de fin");
    }

    #[test]
    fn spreadsheet_cells_have_times_and_day_numbers() {
        let cell = |raw: &str| spreadsheet_date("debut", raw);
        assert_eq!(cell(""), Ok(None));
        assert_eq!(cell("2026-01-01 00:00:00"), Ok(Some(d(2026, 1, 1))));
        assert_eq!(cell("2026-01-01T10:30"), Ok(Some(d(2026, 1, 1))));
        assert_eq!(cell("01/02/2026 08:00"), Ok(Some(d(2026, 2, 1))));
        assert_eq!(cell("46023"), Ok(Some(d(2026, 1, 1))));
        assert_eq!(cell("46387"), Ok(Some(d(2026, 12, 31))));
        assert_eq!(
            cell("2026-02-30").unwrap_err().message,
            "date invalide « 2026-02-30 » : février 2026 n'a que 28 jours"
        );
        // Neither four nor six digits are a day number.
        assert!(cell("4602").is_err());
        assert!(cell("460230").is_err());
        // Forms and ranges are those of every date.
        assert!(date("debut", "46023").is_err());
        assert!(cell("1850-01-01 00:00:00").is_err());
        assert_eq!(
            cell("00001").unwrap_err().message,
            "date invalide « 00001 » : l'année doit s'écrire sur quatre chiffres, de 1900 à 2200"
        );
    }

    #[test]
    fn loose_text() {
        assert_eq!(loose("  Nœux-les-Mines "), "noeux les mines");
        assert_eq!(loose("NOEUX  LES MINES"), "noeux les mines");
        assert_eq!(loose("L’Haÿ-les-Roses"), "l hay les roses");
        assert_eq!(loose("En_cours"), "en cours");
        assert_eq!(loose(""), "");
    }

    fn territory() -> Vec<(InseeCode, String)> {
        [
            ("62119", "Béthune"),
            ("62178", "Bruay-la-Buissière"),
            ("62617", "Nœux-les-Mines"),
            ("62457", "Houdain"),
            ("59360", "Houdain"),
            ("01053", "Bourg-en-Bresse"),
        ]
        .map(|(c, n)| (insee(c), n.to_owned()))
        .to_vec()
    }

    fn index(t: &[(InseeCode, String)]) -> CommuneIndex<'_> {
        CommuneIndex::new(t.iter().map(|(c, n)| (c, n.as_str())))
    }

    #[test]
    fn communes_by_name_or_code() {
        let t = territory();
        let communes = index(&t);
        let read = |raw: &str| communes.read("communes", raw);
        assert_eq!(
            read("BETHUNE, bruay la buissière ;noeux-les-mines\n62457"),
            Ok(CommuneList::Listed(vec![insee("62119"), insee("62178"), insee("62617"), insee("62457")]))
        );
        // A spreadsheet's number without its leading zero; the same commune twice is once.
        assert_eq!(read("1053; Bourg en Bresse"), Ok(CommuneList::Listed(vec![insee("01053")])));
        assert_eq!(communes.commune("commune", " béthune "), Ok(insee("62119")));
        assert_eq!(communes.commune("commune", "").unwrap_err().field, "commune");
    }

    #[test]
    fn the_whole_territory() {
        let t = territory();
        let communes = index(&t);
        for whole in ["", "  ", "Tout le territoire", "TOUTES LES COMMUNES", "l'ensemble du territoire", "toutes"] {
            assert_eq!(communes.read("communes", whole), Ok(CommuneList::WholeTerritory), "{whole}");
        }
        assert_eq!(CommuneList::WholeTerritory.into_codes(), Vec::<InseeCode>::new());
        let e = communes.read("communes", "Béthune ; tout le territoire").unwrap_err();
        assert!(e.message.starts_with("« tout le territoire » ne se mêle pas à des communes"), "{e}");
        // Where an empty list is no commune, « tout le territoire » is still the whole territory.
        let served = index(&t).empty_is_no_commune();
        assert_eq!(served.read("served", ""), Ok(CommuneList::Listed(vec![])));
        assert_eq!(served.read("served", "tout le territoire"), Ok(CommuneList::WholeTerritory));
    }

    #[test]
    fn homonyms_unknown_names_and_codes_outside_are_all_reported() {
        let t = territory();
        let communes = index(&t);
        let e = communes.read("communes", "Houdain; Paris; 75056; 2A004; abc1").unwrap_err();
        assert_eq!(e.field, "communes");
        assert_eq!(
            e.message,
            "plusieurs communes du territoire s'appellent « Houdain » : donnez son code INSEE (62457 ou 59360), \
             commune inconnue « Paris », la commune 75056 n'est pas du territoire, la commune 2A004 n'est pas du \
             territoire, code INSEE « abc1 » invalide : 5 caractères attendus : le nom ou le code INSEE d'une \
             commune du territoire est attendu, séparés par « ; » (vide ou « tout le territoire » : tout le territoire)"
        );
        // By its code, either Houdain is fine.
        assert_eq!(communes.read("communes", "59360"), Ok(CommuneList::Listed(vec![insee("59360")])));
        // Where codes outside the territory are accepted, a valid one is.
        let served = index(&t).with_outside_codes().empty_is_no_commune();
        assert_eq!(
            served.read("served", "75056, Béthune"),
            Ok(CommuneList::Listed(vec![insee("75056"), insee("62119")]))
        );
        let e = served.read("served", "Atlantide").unwrap_err();
        assert_eq!(
            e.message,
            "commune inconnue « Atlantide » : le nom d'une commune du territoire ou un code INSEE est attendu, \
             séparés par « ; » (« tout le territoire » : tout le territoire)"
        );
    }

    #[test]
    fn insee_codes_as_files_write_them() {
        assert_eq!(insee_code("commune", "1053"), Ok(insee("01053")));
        assert_eq!(insee_code("commune", " 62119 "), Ok(insee("62119")));
        assert_eq!(insee_code("commune", "2a004"), Ok(insee("2A004")));
        let e = insee_code("code_insee", "623").unwrap_err();
        assert_eq!(
            (e.field.as_ref(), e.message.as_str()),
            ("code_insee", "code INSEE « 623 » invalide : 5 caractères attendus")
        );
    }

    #[test]
    fn periods_of_the_diagnostic() {
        assert_eq!(period("periode", "2022"), Ok(Period::Year(2022)));
        assert_eq!(period("periode", " 2023-12 "), Ok(Period::Month { year: 2023, month: 12 }));
        assert_eq!(period("periode", "2011-2022"), Ok(Period::Years { from: 2011, to: 2022 }));
        assert_eq!(period("periode", "1982").unwrap().to_string(), "1982");
        assert_eq!(
            period("periode", " ").unwrap_err().message,
            "la période est obligatoire (AAAA, AAAA-MM ou AAAA-AAAA)"
        );
        assert_eq!(plan_period("periode", "").unwrap_err().message, "la période est obligatoire (AAAA ou AAAA-MM)");
        for p in ["2022", "2023-01", "2011-2022"] {
            assert_eq!(period("periode", p).unwrap().to_string(), p);
        }
        for (bad, why) in [
            ("22", "AAAA, AAAA-MM ou AAAA-AAAA attendu (par exemple 2022, 2023-12 ou 2011-2022)"),
            ("deux mille", "AAAA, AAAA-MM ou AAAA-AAAA attendu (par exemple 2022, 2023-12 ou 2011-2022)"),
            ("2022-1", "AAAA, AAAA-MM ou AAAA-AAAA attendu (par exemple 2022, 2023-12 ou 2011-2022)"),
            ("2023/12", "AAAA, AAAA-MM ou AAAA-AAAA attendu (par exemple 2022, 2023-12 ou 2011-2022)"),
            ("2023-13", "mois invalide (de 01 à 12)"),
            ("2023-00", "mois invalide (de 01 à 12)"),
            ("2022-2011", "la première année doit précéder la seconde"),
            ("2022-2022", "la première année doit précéder la seconde"),
            ("1850", "année hors limites (de 1900 à 2200)"),
            ("2011-2301", "année hors limites (de 1900 à 2200)"),
        ] {
            let e = period("periode", bad).unwrap_err();
            assert_eq!((e.field.as_ref(), e.message), ("periode", format!("période invalide « {bad} » : {why}")));
        }
    }

    #[test]
    fn periods_of_the_plan_are_years_or_months_of_the_plan() {
        assert_eq!(plan_period("periode", " 2026 ").unwrap().to_string(), "2026");
        assert_eq!(plan_period("periode", "2026-06").unwrap().to_string(), "2026-06");
        for (bad, why) in [
            ("26", "AAAA ou AAAA-MM attendu : l'année (2026) ou l'année et le mois (2026-06)"),
            ("2026/06", "AAAA ou AAAA-MM attendu : l'année (2026) ou l'année et le mois (2026-06)"),
            ("20266", "AAAA ou AAAA-MM attendu : l'année (2026) ou l'année et le mois (2026-06)"),
            ("2026-2028", "AAAA ou AAAA-MM attendu : l'année (2026) ou l'année et le mois (2026-06)"),
            ("deux", "AAAA ou AAAA-MM attendu : l'année (2026) ou l'année et le mois (2026-06)"),
            ("2026-13", "mois invalide (de 01 à 12)"),
            ("2026-00", "mois invalide (de 01 à 12)"),
            ("1900", "année hors limites (de 1990 à 2100)"),
            ("2101-01", "année hors limites (de 1990 à 2100)"),
        ] {
            assert_eq!(plan_period("periode", bad).unwrap_err().message, format!("période invalide « {bad} » : {why}"));
        }
    }

    #[test]
    fn years_of_the_plan() {
        assert_eq!(plan_year("annee", " 2026 "), Ok(2026));
        assert_eq!(plan_year("annee", "1990"), Ok(1990));
        assert_eq!(plan_year("annee", "2100"), Ok(2100));
        assert_eq!(plan_year("annee", "vingt").unwrap_err().message, "année invalide « vingt » : AAAA attendu");
        assert_eq!(plan_year("annee", " ").unwrap_err().message, "l'année est obligatoire (AAAA)");
        assert_eq!(plan_year("annee", "1850").unwrap_err().message, "année invalide « 1850 » : de 1990 à 2100");
        assert_eq!(plan_year("annee", "26").unwrap_err().message, "année invalide « 26 » : AAAA attendu");
    }

    #[test]
    fn codes_sort_as_people_read_them() {
        let mut codes = vec!["PE-10", "PE-2", "1.10", "1.2", "JE-1", "pe-3", "PE-1.10", "PE-1.2", "PE-1", "PE"];
        codes.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(codes, ["1.2", "1.10", "JE-1", "PE", "PE-1", "PE-1.2", "PE-1.10", "PE-2", "pe-3", "PE-10"]);
        assert_eq!(natural_cmp("PE-1.2", "PE-1.10"), Ordering::Less);
        assert_eq!(natural_cmp("PE-01", "PE-1"), Ordering::Less, "equal numbers: by text, for a total order");
        assert_eq!(natural_cmp("pe-1", "PE-1"), Ordering::Greater);
        assert_eq!(natural_cmp("", ""), Ordering::Equal);
        assert_eq!(natural_cmp("", "1"), Ordering::Less);
        // Numbers longer than any integer type still compare by value.
        assert_eq!(natural_cmp("A-99999999999999999999999", "A-100000000000000000000000"), Ordering::Less);
    }
}
