//! The open data files of the CNAF and the INSEE, read as they are published, for all of France at once:
//!
//! - CNAF, accueil du jeune enfant, coverage rates (`txcouv_pe_com`, `_epci`, `_dep`, `_nat` and their
//!   `_hist` variants): `annee`, `numcom`/`numepci`/`numdep`, `txcouv_<s>`, `txcouv_eaje_<s>`…;
//! - CNAF, accueil du jeune enfant, places (`nbpla_pe_*`): `pl_eaje_<s>`…, `tot_offre_<s>`;
//! - CNAF, allocataires by commune (`s_ben_com_f`): `dtreffre`, `numcomdo`, `indfoy_ndur`…;
//! - INSEE « base communale » of the census: `CODGEO`, `P21_POP`, `P21_POP0002`, `P21_POP0014`…
//!
//! Headers are read by name, whatever their case, order or quotes; `;` or `,` separate cells; a decimal
//! comma and a byte-order mark are accepted. The kind of file is told by its header ([`detect`]).
//! Unknown columns and missing optional ones are reported (in French) and never stop the import; a
//! missing required column, an unreadable number or date, or a row given twice stop it, naming file,
//! line and column.
//!
//! Known traps, each tested below:
//! - commune rows exist only for larger communes: the others are simply absent (nothing is invented);
//! - an EPCI code « XX » (communes outside any EPCI) or a blank code: the row is not located, counted
//!   and reported, never imported;
//! - `annee` (or `dtreffre`) written as a year or as a date;
//! - rates above 100 are kept as published (and counted in the report);
//! - the CNAF rounds its counts of allocataires to 5: the value is kept and marked as rounded;
//! - Paris, Lyon and Marseille by arrondissement: the counts are summed into the commune (a rate cannot
//!   be summed, so a city given only by arrondissement gets no rate); a city's own row wins.
//! - a cell « s », « nd », « NA » or empty is an unknown value (secret or not published), never zero.

use std::collections::HashMap;

use ctg_domain::diagnostic::AreaKind;
pub use ctg_domain::opendata::OpenObservation;

use crate::{ImportError, ImportErrors, Location};

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// CNAF coverage rates (`txcouv_pe_*`).
    Coverage(Level),
    /// CNAF places (`nbpla_pe_*`).
    Places(Level),
    /// CNAF allocataires by commune (`s_ben_com_f`).
    Allocataires,
    /// INSEE « base communale » of the census.
    InseeBase,
}

/// The level of a CNAF file: the suffix `<s>` of its columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    Commune,
    Epci,
    Departement,
    France,
}

impl Level {
    const ALL: [Level; 4] = [Level::Commune, Level::Epci, Level::Departement, Level::France];

    fn suffix(self) -> &'static str {
        match self {
            Level::Commune => "com",
            Level::Epci => "epci",
            Level::Departement => "dep",
            Level::France => "nat",
        }
    }

    /// The column of the area's code (none for France).
    fn code_column(self) -> Option<&'static str> {
        match self {
            Level::Commune => Some("numcom"),
            Level::Epci => Some("numepci"),
            Level::Departement => Some("numdep"),
            Level::France => None,
        }
    }

    fn name_column(self) -> Option<&'static str> {
        match self {
            Level::Commune => Some("nomcom"),
            Level::Epci => Some("nomepci"),
            Level::Departement => Some("nomdep"),
            Level::France => None,
        }
    }

    fn area_kind(self) -> AreaKind {
        match self {
            Level::Commune => AreaKind::Commune,
            Level::Epci => AreaKind::Epci,
            Level::Departement => AreaKind::Departement,
            Level::France => AreaKind::France,
        }
    }
}

impl Kind {
    /// The kind's name for the `--type` option and messages.
    pub fn code(self) -> &'static str {
        match self {
            Kind::Coverage(_) => "txcouv",
            Kind::Places(_) => "nbpla",
            Kind::Allocataires => "allocataires",
            Kind::InseeBase => "insee",
        }
    }

    /// The kind in French, as the report shows it.
    pub fn label(self) -> String {
        let level = |l: Level| match l {
            Level::Commune => "par commune",
            Level::Epci => "par EPCI",
            Level::Departement => "par département",
            Level::France => "pour la France",
        };
        match self {
            Kind::Coverage(l) => format!("CNAF, taux de couverture de l'accueil du jeune enfant {}", level(l)),
            Kind::Places(l) => format!("CNAF, places d'accueil du jeune enfant {}", level(l)),
            Kind::Allocataires => "CNAF, foyers allocataires par commune".to_owned(),
            Kind::InseeBase => "Insee, base communale du recensement".to_owned(),
        }
    }

    /// The source named with each figure.
    fn source(self) -> &'static str {
        match self {
            Kind::Coverage(_) | Kind::Places(_) => "CNAF, open data de l'accueil du jeune enfant",
            Kind::Allocataires => "CNAF, allocataires par commune",
            Kind::InseeBase => "Insee, recensement, base communale",
        }
    }
}

/// The types accepted by `--type`.
pub const TYPES: &str = "txcouv, nbpla, allocataires, insee";

/// The stems of the CNAF columns of the accueil du jeune enfant, with the indicators they give as a rate
/// (`txcouv_<stem>_<s>`) and as places (`pl_<stem>_<s>`). The empty stem is the global rate
/// (`txcouv_<s>`), whose places are `tot_offre_<s>`.
const STEMS: [(&str, &str, &str); 8] = [
    ("", "taux_couverture_global", "places_accueil_total"),
    ("eaje", "taux_couverture_eaje", "places_eaje"),
    ("ind", "taux_couverture_accueil_individuel", "places_accueil_individuel"),
    ("psu_col", "taux_couverture_eaje_psu", "places_eaje_psu"),
    ("hors_psu_col", "taux_couverture_eaje_hors_psu", "places_eaje_hors_psu"),
    ("prescol", "taux_couverture_prescolarisation", "enfants_scolarises_2_ans"),
    ("am_ind", "taux_couverture_assistants_maternels", "places_assistants_maternels"),
    ("gad_ind", "taux_couverture_garde_domicile", "garde_domicile"),
];

/// The columns of `s_ben_com_f` that the platform reads, with their indicators.
const ALLOCATAIRES: [(&str, &str); 12] = [
    ("indfoy_ndur", "allocataires_caf"),
    ("indnbp_ndur", "personnes_couvertes_caf"),
    ("indfoy_af", "foyers_af"),
    ("indfoy_cf", "foyers_cf"),
    ("indfoy_asf", "foyers_asf"),
    ("indfoy_ab", "foyers_paje_ab"),
    ("indfoy_cmg", "foyers_cmg"),
    ("indfoy_apl", "foyers_apl"),
    ("indfoy_als", "foyers_als"),
    ("indfoy_alf", "foyers_alf"),
    ("indfoy_rsa", "beneficiaires_rsa"),
    ("indfoy_ppa", "foyers_ppa"),
];

/// The age columns of the INSEE base communale (`P<yy>_<stem>`), with their count indicator (or
/// none) and the share indicator computed from them over `P<yy>_POP`.
const INSEE: [(&str, Option<&str>, Option<&str>); 12] = [
    ("pop", Some("population_municipale"), None),
    ("pop0002", Some("enfants_moins_3_ans"), None),
    ("pop0305", Some("enfants_3_5_ans"), None),
    ("pop0610", Some("enfants_6_10_ans"), None),
    ("pop1117", Some("jeunes_11_17_ans"), None),
    ("pop1824", Some("jeunes_18_24_ans"), None),
    ("pop0014", None, Some("part_0_14")),
    ("pop1529", None, Some("part_15_29")),
    ("pop3044", None, Some("part_30_44")),
    ("pop4559", None, Some("part_45_59")),
    ("pop6074", None, Some("part_60_74")),
    ("pop75p", None, Some("part_75_plus")),
];

/// Notes kept with a figure, shown beside it.
pub const NOTE_ROUNDED: &str = "effectif arrondi à 5 par la CNAF";
pub const NOTE_ARRONDISSEMENTS: &str = "somme des arrondissements municipaux";
pub const NOTE_ARRONDISSEMENTS_ROUNDED: &str =
    "somme des arrondissements municipaux, chacun arrondi à 5 par la CNAF (écart possible)";
pub const NOTE_ABOVE_100: &str = "taux supérieur à 100, publié ainsi par la CNAF";

/// A file read: its figures and what the user should know about it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenDataFile {
    pub kind: Kind,
    pub file: String,
    /// The latest year the file describes: its vintage.
    pub vintage: i32,
    pub source: &'static str,
    pub rows: Vec<OpenObservation>,
    /// Reports in French: unknown or missing optional columns, rows not located, rates above 100…
    pub notices: Vec<String>,
    /// Data rows read.
    pub lines: usize,
}

/// Lower-case, trimmed header names, without quotes or a byte-order mark.
fn normalise(header: &str) -> String {
    header.trim().trim_start_matches('\u{feff}').trim_matches('"').trim().to_lowercase()
}

/// The kind of a file from its (normalised) header, if it is one of the published files.
pub fn detect(headers: &[String]) -> Option<Kind> {
    let has = |name: &str| headers.iter().any(|h| h == name);
    for level in Level::ALL {
        if has(&format!("txcouv_{}", level.suffix())) {
            return Some(Kind::Coverage(level));
        }
        if has(&format!("tot_offre_{}", level.suffix())) {
            return Some(Kind::Places(level));
        }
    }
    for level in Level::ALL {
        let s = level.suffix();
        if headers.iter().any(|h| h.starts_with("txcouv_") && h.ends_with(&format!("_{s}"))) {
            return Some(Kind::Coverage(level));
        }
        if headers.iter().any(|h| h.starts_with("pl_") && h.ends_with(&format!("_{s}"))) {
            return Some(Kind::Places(level));
        }
    }
    if has("numcomdo") || has("dtreffre") {
        return Some(Kind::Allocataires);
    }
    if has("codgeo") {
        return Some(Kind::InseeBase);
    }
    None
}

/// Reads the kind given with `--type` (`txcouv`, `nbpla`, `allocataires`, `insee`); a CNAF file's level
/// still comes from its header.
pub fn kind_from_type(raw: &str, headers: &[String]) -> Option<Kind> {
    let level = match detect(headers) {
        Some(Kind::Coverage(l) | Kind::Places(l)) => l,
        _ => Level::ALL
            .into_iter()
            .find(|l| l.code_column().is_some_and(|c| headers.iter().any(|h| h == c)))
            .unwrap_or(Level::France),
    };
    match raw.trim().to_lowercase().as_str() {
        "txcouv" | "taux" | "couverture" => Some(Kind::Coverage(level)),
        "nbpla" | "places" => Some(Kind::Places(level)),
        "allocataires" | "s_ben_com_f" => Some(Kind::Allocataires),
        "insee" | "base-communale" | "base_communale" => Some(Kind::InseeBase),
        _ => None,
    }
}

/// What a column of the file gives.
#[derive(Debug, Clone, Copy)]
struct Measure {
    column: usize,
    /// `None` for a column only used to compute a share (INSEE age bands).
    indicator: Option<&'static str>,
    share: Option<&'static str>,
    year: Option<i32>,
    rate: bool,
}

/// The place of a Paris, Lyon or Marseille arrondissement: its city's code.
fn city_of_arrondissement(code: &str) -> Option<&'static str> {
    let n: u32 = code.parse().ok()?;
    match n {
        75101..=75120 => Some("75056"),
        69381..=69389 => Some("69123"),
        13201..=13216 => Some("13055"),
        _ => None,
    }
}

/// A year read from `annee` or `dtreffre`: `2022`, `2022-12-31`, `31/12/2022`, `2022-12`, `20221231`.
fn read_year(raw: &str) -> Option<i32> {
    let raw = raw.trim().trim_matches('"');
    let digits = |s: &str| s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit());
    let year = if digits(raw) {
        raw.parse().ok()
    } else if raw.len() == 8 && raw.bytes().all(|b| b.is_ascii_digit()) {
        raw[..4].parse().ok()
    } else if let Some((y, _)) = raw.split_once('-').filter(|(y, _)| digits(y)) {
        y.parse().ok()
    } else {
        raw.rsplit('/').next().filter(|y| digits(y) && raw.contains('/')).and_then(|y| y.parse().ok())
    }?;
    (1900..=2100).contains(&year).then_some(year)
}

/// The cells that mean « not published » (secret, not available…), in lower case.
const NOT_PUBLISHED: [&str; 8] = ["s", "nd", "na", "n/a", "nc", ".", "-", "secret"];

/// A number as the files write it; `Ok(None)` for a value not published (empty, « s », « nd »…).
/// Reads without allocating: a national file has millions of cells.
fn read_number(raw: &[u8]) -> Result<Option<f64>, ()> {
    let raw = std::str::from_utf8(raw).map_err(|_| ())?.trim();
    let raw = raw.trim_matches('"').trim();
    if raw.is_empty() || NOT_PUBLISHED.iter().any(|t| raw.eq_ignore_ascii_case(t)) {
        return Ok(None);
    }
    let parsed = if raw.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-') {
        fast_float(raw)
    } else {
        // Decimal comma and digit-group spaces (ordinary, no-break, narrow no-break), rewritten into a
        // buffer on the stack; a longer cell than any number (a text) goes through the heap.
        let mut buffer = [0u8; 64];
        let mut len = 0;
        let mut heap: Option<String> = None;
        for c in raw.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')) {
            let c = if c == ',' { '.' } else { c };
            match &mut heap {
                Some(h) => h.push(c),
                None if c.is_ascii() && len < buffer.len() => {
                    buffer[len] = c as u8;
                    len += 1;
                }
                None => {
                    let mut h = String::from_utf8_lossy(&buffer[..len]).into_owned();
                    h.push(c);
                    heap = Some(h);
                }
            }
        }
        match &heap {
            Some(h) => fast_float(h),
            None => std::str::from_utf8(&buffer[..len]).ok().and_then(fast_float),
        }
    };
    match parsed {
        Some(v) if (0.0..1e12).contains(&v) => Ok(Some(v)),
        _ => Err(()),
    }
}

fn fast_float(s: &str) -> Option<f64> {
    s.parse::<f64>().ok()
}

/// Reads a published file. `kind` is the one forced by `--type`, else it is told by the header.
pub fn parse(file: &str, bytes: &[u8], forced: Option<&str>) -> Result<OpenDataFile, ImportErrors> {
    if let Some(line) = crate::unclosed_quote(bytes) {
        return Err(crate::unclosed_quote_error(file, line).into());
    }
    let header_err = |m: String| ImportErrors::from(ImportError::new(file, Location::Line(1), None, m));
    let mut reader = crate::csv_reader(bytes);
    let headers: Vec<String> = reader
        .byte_headers()
        .map_err(|e| header_err(format!("en-tête illisible ({e})")))?
        .iter()
        .map(|h| normalise(&String::from_utf8_lossy(h)))
        .collect();
    let kind = match forced {
        Some(t) => kind_from_type(t, &headers)
            .ok_or_else(|| header_err(format!("type de fichier inconnu « {t} » (types reconnus : {TYPES})")))?,
        None => detect(&headers).ok_or_else(|| {
            header_err(
                "type de fichier non reconnu : l'en-tête n'a aucune des colonnes des fichiers publiés \
                 (txcouv_com…, tot_offre_com…, numcomdo, CODGEO) ; précisez --type (txcouv, nbpla, allocataires, insee)"
                    .to_owned(),
            )
        })?,
    };
    let index: HashMap<&str, usize> = headers.iter().enumerate().map(|(i, h)| (h.as_str(), i)).collect();
    let mut used: Vec<bool> = vec![false; headers.len()];
    let mut take = |name: &str| -> Option<usize> {
        let i = *index.get(name)?;
        used[i] = true;
        Some(i)
    };

    // The columns: the area's code, the year, the measures.
    let mut measures: Vec<Measure> = Vec::new();
    let mut missing_required: Vec<String> = Vec::new();
    let mut missing_optional: Vec<String> = Vec::new();
    let (code_col, year_col, area_kind): (Option<usize>, Option<usize>, AreaKind) = match kind {
        Kind::Coverage(level) | Kind::Places(level) => {
            let s = level.suffix();
            let code = level.code_column().and_then(|c| {
                let i = take(c);
                if i.is_none() {
                    missing_required.push(c.to_owned());
                }
                i
            });
            if let Some(n) = level.name_column() {
                take(n);
            }
            // The names of the other levels, which the commune files also carry.
            for other in ["nomcom", "numepci", "nomepci", "numdep", "nomdep", "numreg", "nomreg", "libgeo"] {
                take(other);
            }
            let year = take("annee");
            if year.is_none() {
                missing_required.push("annee".to_owned());
            }
            for (stem, rate_indicator, places_indicator) in STEMS {
                let (name, indicator, rate) = match kind {
                    Kind::Coverage(_) if stem.is_empty() => (format!("txcouv_{s}"), rate_indicator, true),
                    Kind::Coverage(_) => (format!("txcouv_{stem}_{s}"), rate_indicator, true),
                    _ if stem.is_empty() => (format!("tot_offre_{s}"), places_indicator, false),
                    _ => (format!("pl_{stem}_{s}"), places_indicator, false),
                };
                match take(&name) {
                    Some(column) => {
                        measures.push(Measure { column, indicator: Some(indicator), share: None, year: None, rate });
                    }
                    None if stem.is_empty() => missing_required.push(name),
                    None => missing_optional.push(name),
                }
            }
            (code, year, level.area_kind())
        }
        Kind::Allocataires => {
            let code = take("numcomdo").or_else(|| take("numcom"));
            if code.is_none() {
                missing_required.push("numcomdo".to_owned());
            }
            take("nomcom");
            let year = take("dtreffre").or_else(|| take("annee"));
            if year.is_none() {
                missing_required.push("dtreffre".to_owned());
            }
            for (name, indicator) in ALLOCATAIRES {
                match take(name) {
                    Some(column) => measures.push(Measure {
                        column,
                        indicator: Some(indicator),
                        share: None,
                        year: None,
                        rate: false,
                    }),
                    None if name == "indfoy_ndur" => missing_required.push(name.to_owned()),
                    None => missing_optional.push(name.to_owned()),
                }
            }
            (code, year, AreaKind::Commune)
        }
        Kind::InseeBase => {
            let code = take("codgeo");
            if code.is_none() {
                missing_required.push("CODGEO".to_owned());
            }
            take("libgeo");
            // Every `p<yy>_<stem>` the platform reads, for every year the file has.
            let mut years: Vec<i32> = headers
                .iter()
                .filter_map(|h| h.strip_prefix('p')?.split_once('_'))
                .filter(|(yy, _)| yy.len() == 2 && yy.bytes().all(|b| b.is_ascii_digit()))
                .filter_map(|(yy, _)| yy.parse::<i32>().ok())
                .map(|yy| 2000 + yy)
                .collect();
            years.sort_unstable();
            years.dedup();
            for year in &years {
                let yy = year - 2000;
                if !index.contains_key(format!("p{yy:02}_pop").as_str()) {
                    missing_required.push(format!("P{yy:02}_POP"));
                }
                for (stem, indicator, share) in INSEE {
                    let name = format!("p{yy:02}_{stem}");
                    match take(&name) {
                        Some(column) => {
                            measures.push(Measure { column, indicator, share, year: Some(*year), rate: false });
                        }
                        None => missing_optional.push(name.to_uppercase()),
                    }
                }
            }
            if years.is_empty() {
                missing_required.push("P21_POP (ou celle d'une autre année)".to_owned());
            }
            (code, None, AreaKind::Commune)
        }
    };
    if !missing_required.is_empty() {
        return Err(header_err(format!(
            "colonne(s) manquante(s) pour un fichier « {} » : {}",
            kind.label(),
            missing_required.join(", ")
        )));
    }
    let mut notices = Vec::new();
    let unknown: Vec<&str> = headers.iter().zip(&used).filter(|(_, u)| !**u).map(|(h, _)| h.as_str()).collect();
    if !unknown.is_empty() {
        notices.push(format!("colonne(s) inconnue(s), ignorée(s) : {}", unknown.join(", ")));
    }
    if !missing_optional.is_empty() {
        notices.push(format!(
            "colonne(s) absente(s), ces chiffres ne sont pas importés : {}",
            missing_optional.join(", ")
        ));
    }

    // The rows. A row is (area code, year, values of the measures); arrondissements kept apart.
    struct Row {
        line: u64,
        kind: AreaKind,
        code: String,
        year: i32,
        values: Vec<Option<f64>>,
    }
    let mut errors: Vec<ImportError> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut arrondissements: Vec<(String, Row)> = Vec::new();
    let mut not_located: Vec<(u64, String)> = Vec::new();
    let mut lines = 0usize;
    let column_name = |i: usize| headers.get(i).cloned().unwrap_or_default();
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(ImportError::new(file, Location::Line(line), None, format!("ligne CSV illisible ({e})")));
                continue;
            }
        }
        if record.iter().all(|c| c.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        lines += 1;
        let line = record.position().map_or(0, |p| p.line());
        let cell = |i: usize| std::str::from_utf8(record.get(i).unwrap_or_default()).unwrap_or("").trim();
        let mut err = |column: usize, message: String| {
            errors.push(ImportError::new(
                file,
                Location::Position { line: line as usize, column: column + 1 },
                Some(&column_name(column)),
                message,
            ));
        };
        // The area.
        let raw_code = code_col.map(cell).unwrap_or("FR").trim_matches('"').to_owned();
        // The INSEE publishes the same columns for communes and for supra-communal areas, told apart by
        // the length of CODGEO: 9 digits for an EPCI, 2 or 3 for a département, « FR »/« FRANCE ».
        let row_kind = match kind {
            Kind::InseeBase => match raw_code.len() {
                9 => AreaKind::Epci,
                2 | 3 if !raw_code.eq_ignore_ascii_case("fr") => AreaKind::Departement,
                _ if raw_code.eq_ignore_ascii_case("fr") || raw_code.eq_ignore_ascii_case("france") => AreaKind::France,
                _ => AreaKind::Commune,
            },
            _ => area_kind,
        };
        let code = match row_kind {
            _ if raw_code.is_empty() => None,
            AreaKind::Commune => ctg_domain::parse::insee_code("code", &raw_code).ok().map(|c| c.to_string()),
            AreaKind::Epci => ctg_domain::Siren::parse(&raw_code).ok().map(|s| s.to_string()),
            AreaKind::Departement => ctg_domain::diagnostic::Area::parse("departement", &raw_code).ok().map(|a| a.code),
            AreaKind::France => Some("FR".to_owned()),
        };
        // The years: one per row (CNAF), or one per column (INSEE).
        let year = match year_col {
            Some(c) => {
                match read_year(cell(c)) {
                    Some(y) => y,
                    None => {
                        let raw = cell(c).to_owned();
                        err(c, format!("année illisible « {raw} » (attendu : une année comme 2022 ou une date comme 2022-12-31)"));
                        continue;
                    }
                }
            }
            None => 0,
        };
        let mut values = Vec::with_capacity(measures.len());
        let mut bad = false;
        for m in &measures {
            match read_number(record.get(m.column).unwrap_or_default()) {
                Ok(v) => values.push(v),
                Err(()) => {
                    let raw = cell(m.column).to_owned();
                    err(m.column, format!("« {raw} » n'est pas un nombre positif ou nul"));
                    bad = true;
                }
            }
        }
        if bad {
            continue;
        }
        let Some(code) = code else {
            not_located.push((line, raw_code));
            continue;
        };
        let row = Row { line, kind: row_kind, code, year, values };
        match city_of_arrondissement(&row.code) {
            Some(city) if row_kind == AreaKind::Commune => arrondissements.push((city.to_owned(), row)),
            _ => rows.push(row),
        }
    }
    if errors.is_empty() && lines == 0 {
        let message = "aucune ligne de données : le fichier n'a que sa ligne d'en-tête, rien n'a été importé";
        return Err(ImportError::new(file, Location::Line(1), None, message).into());
    }

    // Twice the same area and year.
    let mut seen: HashMap<(AreaKind, &str, i32), u64> = HashMap::with_capacity(rows.len());
    for r in &rows {
        if let Some(first) = seen.insert((r.kind, r.code.as_str(), r.year), r.line) {
            errors.push(ImportError::new(
                file,
                Location::Line(r.line),
                code_col.map(column_name).as_deref(),
                format!("le territoire « {} » a déjà une ligne pour {} (ligne {first})", r.code, r.year),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ImportErrors(errors));
    }

    // Arrondissements: summed into their city when the city has no row of its own.
    let mut sums: HashMap<(String, i32), (Row, usize)> = HashMap::new();
    for (city, r) in arrondissements {
        if seen.contains_key(&(AreaKind::Commune, city.as_str(), r.year)) {
            continue;
        }
        let entry = sums.entry((city.clone(), r.year)).or_insert_with(|| {
            let values = vec![Some(0.0); measures.len()];
            (Row { line: r.line, kind: AreaKind::Commune, code: city.clone(), year: r.year, values }, 0)
        });
        entry.1 += 1;
        for ((sum, v), m) in entry.0.values.iter_mut().zip(&r.values).zip(&measures) {
            // A rate is not summed; an unknown part makes the sum unknown.
            *sum = match (*sum, v) {
                (Some(a), Some(b)) if !m.rate => Some(a + b),
                _ => None,
            };
        }
    }
    let summed: std::collections::HashSet<(String, i32)> = sums.keys().cloned().collect();
    if !sums.is_empty() {
        let mut cities: Vec<&str> = sums.keys().map(|(c, _)| c.as_str()).collect();
        cities.sort_unstable();
        cities.dedup();
        notices.push(format!(
            "arrondissements municipaux additionnés dans leur commune : {}{}",
            cities.join(", "),
            if measures.iter().any(|m| m.rate) {
                " (un taux ne s'additionne pas : pas de taux pour ces communes)"
            } else {
                ""
            }
        ));
    }
    rows.extend(sums.into_values().map(|(r, _)| r));
    rows.sort_by(|a, b| (a.kind, a.code.as_str(), a.year).cmp(&(b.kind, b.code.as_str(), b.year)));

    // The figures.
    let mut out = Vec::with_capacity(rows.len() * measures.len());
    let mut vintage = 0;
    for r in &rows {
        let from_arrondissements = r.kind == AreaKind::Commune && summed.contains(&(r.code.clone(), r.year));
        for (m, v) in measures.iter().zip(&r.values) {
            let year = m.year.unwrap_or(r.year);
            vintage = vintage.max(year);
            let Some(v) = *v else { continue };
            if let Some(indicator) = m.indicator {
                let note = match kind {
                    Kind::Allocataires if from_arrondissements => Some(NOTE_ARRONDISSEMENTS_ROUNDED),
                    Kind::Allocataires => Some(NOTE_ROUNDED),
                    _ if from_arrondissements => Some(NOTE_ARRONDISSEMENTS),
                    _ if m.rate && v > 100.0 => Some(NOTE_ABOVE_100),
                    _ => None,
                };
                out.push(OpenObservation {
                    indicator,
                    area_kind: r.kind,
                    area_code: r.code.clone(),
                    year,
                    value: v,
                    note,
                });
            }
            if let Some(share) = m.share {
                // A share of the population of the same year.
                let total = measures
                    .iter()
                    .zip(&r.values)
                    .find(|(p, _)| p.indicator == Some("population_municipale") && p.year == m.year)
                    .and_then(|(_, v)| *v);
                if let Some(total) = total.filter(|t| *t > 0.0) {
                    out.push(OpenObservation {
                        indicator: share,
                        area_kind: r.kind,
                        area_code: r.code.clone(),
                        year,
                        value: (v * 10_000.0 / total).round() / 100.0,
                        note: from_arrondissements.then_some(NOTE_ARRONDISSEMENTS),
                    });
                }
            }
        }
    }
    if !not_located.is_empty() {
        let examples: Vec<String> = not_located
            .iter()
            .take(5)
            .map(|(line, code)| {
                if code.is_empty() {
                    format!("ligne {line} (code vide)")
                } else {
                    format!("ligne {line} (code « {code} »)")
                }
            })
            .collect();
        notices.push(format!(
            "{} ligne(s) sans territoire reconnu (non localisées, par exemple les communes hors EPCI « XX »), \
             non importées : {}{}",
            not_located.len(),
            examples.join(", "),
            if not_located.len() > 5 { ", …" } else { "" }
        ));
    }
    let above_100 = out.iter().filter(|o| o.note == Some(NOTE_ABOVE_100)).count();
    if above_100 > 0 {
        notices.push(format!("{above_100} taux supérieur(s) à 100, gardés tels que publiés"));
    }
    if kind == Kind::Allocataires {
        notices.push("les effectifs d'allocataires sont arrondis à 5 par la CNAF : ils sont gardés tels quels et marqués comme arrondis".to_owned());
    }
    if kind == Kind::Coverage(Level::Commune) || kind == Kind::Places(Level::Commune) {
        notices.push(
            "la CNAF ne publie une ligne que pour les communes assez grandes : les autres n'ont que la valeur de leur EPCI"
                .to_owned(),
        );
    }
    Ok(OpenDataFile { kind, file: file.to_owned(), vintage, source: kind.source(), rows: out, notices, lines })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(f: &OpenDataFile, indicator: &str, code: &str, year: i32) -> Option<f64> {
        f.rows.iter().find(|o| o.indicator == indicator && o.area_code == code && o.year == year).map(|o| o.value)
    }

    #[test]
    fn coverage_by_commune_with_semicolons_decimal_commas_bom_and_any_case() {
        let csv = "\u{feff}ANNEE;NUMCOM;NOMCOM;TXCOUV_COM;\"txcouv_eaje_com\";txcouv_am_ind_com;colonne_x\n\
                   2022;62119;Béthune;\"61,3\";25,1;30;a\n2022-12-31;1053;Bourg;104,2;;s;b\n";
        let f = parse("txcouv_pe_com.csv", csv.as_bytes(), None).unwrap();
        assert_eq!(f.kind, Kind::Coverage(Level::Commune));
        assert_eq!(f.vintage, 2022);
        assert_eq!(value(&f, "taux_couverture_global", "62119", 2022), Some(61.3));
        assert_eq!(value(&f, "taux_couverture_eaje", "62119", 2022), Some(25.1));
        // Leading zero back, rate above 100 kept and marked, unknown not zero.
        assert_eq!(value(&f, "taux_couverture_global", "01053", 2022), Some(104.2));
        assert_eq!(value(&f, "taux_couverture_eaje", "01053", 2022), None);
        assert_eq!(value(&f, "taux_couverture_assistants_maternels", "01053", 2022), None);
        let high = f.rows.iter().find(|o| o.area_code == "01053").unwrap();
        assert_eq!(high.note, Some(NOTE_ABOVE_100));
        let notices = f.notices.join("\n");
        assert!(notices.contains("colonne(s) inconnue(s), ignorée(s) : colonne_x"), "{notices}");
        assert!(notices.contains("txcouv_prescol_com"), "{notices}");
        assert!(notices.contains("1 taux supérieur(s) à 100"), "{notices}");
    }

    #[test]
    fn epci_rows_xx_and_blank_codes_are_not_located() {
        let csv = "annee,numepci,nomepci,txcouv_epci,txcouv_eaje_epci\n2021,200072460,CABBALR,\"52,4\",\"20,0\"\n\
                   2021,XX,Hors EPCI,999,999\n2021,,Sans code,1,1\n";
        let f = parse("txcouv_pe_epci.csv", csv.as_bytes(), None).unwrap();
        assert_eq!(f.kind, Kind::Coverage(Level::Epci));
        assert_eq!(f.rows.len(), 2);
        assert_eq!(value(&f, "taux_couverture_global", "200072460", 2021), Some(52.4));
        let notices = f.notices.join("\n");
        assert!(notices.contains("2 ligne(s) sans territoire reconnu"), "{notices}");
        assert!(notices.contains("ligne 3 (code « XX »)") && notices.contains("ligne 4 (code vide)"), "{notices}");
        assert!(!notices.contains("taux supérieur"), "{notices}");
    }

    #[test]
    fn places_by_departement_and_france() {
        let dep = "annee,numdep,nomdep,tot_offre_dep,pl_eaje_dep,pl_am_ind_dep\n2023,62,Pas-de-Calais,25000,8000,15000\n2023,2A,Corse-du-Sud,3000,1000,1500\n";
        let f = parse("nbpla_pe_dep.csv", dep.as_bytes(), None).unwrap();
        assert_eq!(f.kind, Kind::Places(Level::Departement));
        assert_eq!(value(&f, "places_accueil_total", "2A", 2023), Some(3000.0));
        let nat = "annee,tot_offre_nat,pl_eaje_nat\n2022,1300000,480000\n2023,1310000,490000\n";
        let f = parse("nbpla_pe_nat.csv", nat.as_bytes(), None).unwrap();
        assert_eq!(f.kind, Kind::Places(Level::France));
        assert_eq!(value(&f, "places_eaje", "FR", 2022), Some(480000.0));
        assert_eq!(f.vintage, 2023);
    }

    #[test]
    fn allocataires_rounded_to_five_and_arrondissements_summed() {
        let csv = "dtreffre;numcomdo;nomcom;indfoy_ndur;indnbp_ndur;indfoy_rsa;indfoy_aah\n\
                   31/12/2023;62119;Béthune;6 425;15 010;1 105;5\n\
                   31/12/2023;69381;Lyon 1er;4000;8000;300;5\n\
                   31/12/2023;69382;Lyon 2e;3000;6000;s;5\n";
        let f = parse("s_ben_com_f.csv", csv.as_bytes(), None).unwrap();
        assert_eq!(f.kind, Kind::Allocataires);
        assert_eq!(value(&f, "allocataires_caf", "62119", 2023), Some(6425.0));
        assert_eq!(value(&f, "allocataires_caf", "69123", 2023), Some(7000.0));
        assert_eq!(value(&f, "personnes_couvertes_caf", "69123", 2023), Some(14000.0));
        // One arrondissement unknown: the city's sum is unknown, not a partial sum.
        assert_eq!(value(&f, "beneficiaires_rsa", "69123", 2023), None);
        assert_eq!(value(&f, "allocataires_caf", "69381", 2023), None);
        let lyon = f.rows.iter().find(|o| o.area_code == "69123").unwrap();
        assert_eq!(lyon.note, Some(NOTE_ARRONDISSEMENTS_ROUNDED));
        let bethune = f.rows.iter().find(|o| o.area_code == "62119").unwrap();
        assert_eq!(bethune.note, Some(NOTE_ROUNDED));
        assert!(f.notices.join("\n").contains("indfoy_aah"), "{:?}", f.notices);
    }

    #[test]
    fn insee_base_communale_counts_and_shares() {
        let csv = "CODGEO;LIBGEO;P21_POP;P21_POP0002;P21_POP0014;P21_POP1529;C21_MEN\n\
                   62119;Béthune;25000;900;4600;5000;11000\n75101;Paris 1er;16000;300;2000;3000;1\n75102;Paris 2e;20000;400;2500;4000;1\n";
        let f = parse("base-cc-evol-struct-pop-2021.csv", csv.as_bytes(), None).unwrap();
        assert_eq!(f.kind, Kind::InseeBase);
        assert_eq!(f.vintage, 2021);
        assert_eq!(value(&f, "population_municipale", "62119", 2021), Some(25000.0));
        assert_eq!(value(&f, "enfants_moins_3_ans", "62119", 2021), Some(900.0));
        assert_eq!(value(&f, "part_0_14", "62119", 2021), Some(18.4));
        assert_eq!(value(&f, "population_municipale", "75056", 2021), Some(36000.0));
        assert_eq!(value(&f, "part_15_29", "75056", 2021), Some(19.44));
        assert!(f.notices.join("\n").contains("c21_men"), "{:?}", f.notices);
    }

    #[test]
    fn a_city_row_wins_over_its_arrondissements_and_supra_communal_rows_are_read() {
        let csv = "CODGEO,P21_POP\n13055,870000\n13201,40000\n200072460,275000\n62,1450000\nFR,68000000\n";
        let f = parse("b.csv", csv.as_bytes(), None).unwrap();
        assert_eq!(value(&f, "population_municipale", "13055", 2021), Some(870000.0));
        assert_eq!(f.rows.len(), 4);
        let kinds: Vec<AreaKind> = f.rows.iter().map(|o| o.area_kind).collect();
        assert_eq!(kinds, [AreaKind::Commune, AreaKind::Epci, AreaKind::Departement, AreaKind::France]);
    }

    #[test]
    fn year_as_year_or_date() {
        for raw in ["2022", "2022-12-31", "31/12/2022", "2022-12", "20221231", " \"2022\" "] {
            assert_eq!(read_year(raw), Some(2022), "{raw}");
        }
        for raw in ["22", "abc", "", "12/2022/1"] {
            assert_eq!(read_year(raw), None, "{raw}");
        }
    }

    #[test]
    fn malformed_files_name_file_line_and_column() {
        let csv = "annee,numepci,txcouv_epci\n2021,200072460,abc\n20x1,200072460,3\n2021,200072460,4\n";
        let e: Vec<String> =
            parse("t.csv", csv.as_bytes(), None).unwrap_err().0.iter().map(ToString::to_string).collect();
        assert_eq!(
            e[0],
            "t.csv, ligne 2, colonne 3, champ « txcouv_epci » : « abc » n'est pas un nombre positif ou nul"
        );
        assert!(e[1].starts_with("t.csv, ligne 3, colonne 1, champ « annee » : année illisible « 20x1 »"), "{e:?}");
        let csv = "annee,numepci,txcouv_epci\n2021,200072460,1\n2021,200072460,-4\n2021,200072460,2\n";
        let e = parse("t.csv", csv.as_bytes(), None).unwrap_err().to_string();
        assert!(e.contains("ligne 3, colonne 3"), "{e}");
        assert!(
            e.contains("ligne 4, champ « numepci » : le territoire « 200072460 » a déjà une ligne pour 2021 (ligne 2)"),
            "{e}"
        );
        let e = parse("t.csv", b"annee,txcouv_eaje_com\n2021,3\n", None).unwrap_err().to_string();
        assert!(
            e.contains("t.csv, ligne 1 : colonne(s) manquante(s) pour un fichier « CNAF, taux de couverture"),
            "{e}"
        );
        assert!(e.contains("numcom, txcouv_com"), "{e}");
        let e = parse("t.csv", b"a,b\n1,2\n", None).unwrap_err().to_string();
        assert!(e.contains("type de fichier non reconnu"), "{e}");
        let e = parse("t.csv", b"a,b\n1,2\n", Some("xyz")).unwrap_err().to_string();
        assert!(e.contains("type de fichier inconnu « xyz »"), "{e}");
        let e = parse("t.csv", b"annee,numepci,txcouv_epci\n", None).unwrap_err().to_string();
        assert!(e.contains("aucune ligne de données"), "{e}");
    }

    #[test]
    fn a_forced_type_keeps_the_level_of_the_header() {
        let csv = "annee,numcom,txcouv_com\n2022,62119,61\n";
        let f = parse("x.csv", csv.as_bytes(), Some("txcouv")).unwrap();
        assert_eq!(f.kind, Kind::Coverage(Level::Commune));
    }
}
