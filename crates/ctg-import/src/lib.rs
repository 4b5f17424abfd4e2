//! Turns input files into validated domain values. One module per format; every error names the
//! file, the place in it (record, line, column, or sheet, row and column of a spreadsheet) and the
//! field, in French.
//!
//! Parsers take the file's bytes and its name, never a path: reading the file is the caller's job,
//! so that every parser can be tested on bytes and nothing here does I/O beyond what it is given.
//!
//! - [`decoupage`]: the JSON of `@etalab/decoupage-administratif` (communes, EPCI);
//! - [`populations`]: legal populations, CSV;
//! - [`convention`]: conventions, JSON;
//! - [`tabular`]: the one reader of tables, CSV, XLSX or ODS, used by the modules below;
//! - [`observations`]: observations of the diagnostic, CSV, XLSX or ODS;
//! - [`opendata`]: the CNAF and INSEE open data files as published (coverage, places, allocataires, base
//!   communale), for all of France;
//! - [`facilities`]: facilities (our columns or the SCDL « Équipements » ones), CSV, XLSX or ODS;
//! - [`funding`]: funding lines, CSV, XLSX or ODS;
//! - [`plan`]: the action plan, a workbook of fiches, means and indicators (XLSX or ODS; a CSV holds the
//!   fiches only), and the same workbook written back ([`plan::tables`]);
//! - [`contours`]: commune outlines, GeoJSON (WGS 84 or Lambert-93), simplified.

use std::fmt;
use std::sync::Arc;

pub mod contours;
pub mod convention;
pub mod decoupage;
pub mod facilities;
pub mod funding;
pub mod observations;
pub mod opendata;
pub mod plan;
pub mod populations;
pub mod tabular;

/// Where in a file a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The whole file.
    File,
    /// A record of a JSON array, numbered from 1, with its code when it has one.
    Record { number: usize, code: Option<String> },
    /// A line of a text file, numbered from 1.
    Line(u64),
    /// A line and column of a text file.
    Position { line: usize, column: usize },
    /// A row of a spreadsheet, numbered from 1 as the spreadsheet shows it. The sheet's name is shared
    /// by all its rows (and keeps `ImportError` small).
    Row { sheet: Arc<str>, row: usize },
    /// A cell of a spreadsheet: its row, numbered from 1, and its column letters (`A`, `B`… `AA`).
    Cell { sheet: Arc<str>, row: usize, column: String },
}

/// The place in French, as error messages show it (`ligne 3`, `feuille « Feuille1 », ligne 3, colonne C`).
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File => write!(f, "tout le fichier"),
            Location::Record { number, code: Some(code) } => write!(f, "enregistrement n° {number} (code {code})"),
            Location::Record { number, code: None } => write!(f, "enregistrement n° {number}"),
            Location::Line(line) => write!(f, "ligne {line}"),
            Location::Position { line, column } => write!(f, "ligne {line}, colonne {column}"),
            Location::Row { sheet, row } => write!(f, "feuille « {sheet} », ligne {row}"),
            Location::Cell { sheet, row, column } => write!(f, "feuille « {sheet} », ligne {row}, colonne {column}"),
        }
    }
}

/// A value and the place it was read from, so that a later check (by the store, against the
/// database) can name the row it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub place: Location,
    pub value: T,
}

/// A problem in an input file, to be shown to the user as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub file: String,
    pub location: Location,
    pub field: Option<String>,
    pub message: String,
}

impl ImportError {
    pub fn new(file: &str, location: Location, field: Option<&str>, message: impl Into<String>) -> Self {
        Self { file: file.to_owned(), location, field: field.map(str::to_owned), message: message.into() }
    }

    /// A JSON syntax or shape error from serde_json, placed at its line and column.
    pub fn json(file: &str, err: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let what = match err.classify() {
            Category::Syntax => "JSON invalide",
            Category::Eof => "JSON tronqué (fin de fichier inattendue)",
            Category::Data => "structure JSON inattendue",
            Category::Io => "lecture impossible",
        };
        // serde_json appends " at line L column C" to its message; the location says it in French.
        let detail = err.to_string();
        let detail = ctg_domain::format::french_serde_message(detail.split(" at line ").next().unwrap_or(&detail));
        let location = if err.line() == 0 {
            Location::File
        } else {
            Location::Position { line: err.line(), column: err.column() }
        };
        Self::new(file, location, None, format!("{what} ({detail})"))
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.location != Location::File {
            write!(f, ", {}", self.location)?;
        }
        if let Some(field) = &self.field {
            write!(f, ", champ « {field} »")?;
        }
        write!(f, " : {}", self.message)
    }
}

impl std::error::Error for ImportError {}

/// All the problems of one file; an import writes nothing while there is any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportErrors(pub Vec<ImportError>);

/// How many problems are listed before the rest are only counted (« et N autres erreurs »).
pub const MAX_LISTED: usize = 100;

impl ImportErrors {
    /// The problems as a page lists them: the first [`MAX_LISTED`], then « … et N autres erreurs ».
    pub fn listed(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.0.iter().take(MAX_LISTED).map(ToString::to_string).collect();
        if let Some(rest) = self.0.len().checked_sub(MAX_LISTED).filter(|n| *n > 0) {
            lines.push(others(rest));
        }
        lines
    }
}

/// « … et N autres erreurs », the count of the problems not listed.
fn others(n: usize) -> String {
    if n == 1 {
        "… et 1 autre erreur".to_owned()
    } else {
        format!("… et {} autres erreurs", ctg_domain::format::integer(n as i64))
    }
}

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        if n == 1 {
            writeln!(f, "1 erreur, rien n'a été écrit :")?;
        } else {
            writeln!(f, "{n} erreurs, rien n'a été écrit :")?;
        }
        for e in self.0.iter().take(MAX_LISTED) {
            writeln!(f, "  - {e}")?;
        }
        if n > MAX_LISTED {
            writeln!(f, "  {}", others(n - MAX_LISTED))?;
        }
        Ok(())
    }
}

impl std::error::Error for ImportErrors {}

impl From<ImportError> for ImportErrors {
    fn from(e: ImportError) -> Self {
        Self(vec![e])
    }
}

/// The position of each column of a CSV file, by name.
pub(crate) type ColumnIndex = std::collections::HashMap<String, usize>;

/// Opens a CSV file of `columns` (`optional` among them may be absent): separator `,`, or `;` when the
/// header uses it (as spreadsheets set to French do); a UTF-8 byte-order mark accepted; cells trimmed.
/// Returns the reader, past the header, and the position of each column present.
pub(crate) fn open_csv<'b>(
    file: &str,
    bytes: &'b [u8],
    columns: &[&str],
    optional: &[&str],
) -> Result<(csv::Reader<&'b [u8]>, ColumnIndex), ImportErrors> {
    if let Some(line) = unclosed_quote(bytes) {
        return Err(unclosed_quote_error(file, line).into());
    }
    let mut reader = csv_reader(bytes);
    let header_err = |m: String| ImportErrors::from(ImportError::new(file, Location::Line(1), None, m));
    let headers = reader.headers().map_err(|e| header_err(format!("en-tête illisible ({e})")))?.clone();
    let index: ColumnIndex = headers.iter().enumerate().map(|(i, h)| (h.to_owned(), i)).collect();
    let missing: Vec<&str> =
        columns.iter().copied().filter(|c| !optional.contains(c) && !index.contains_key(*c)).collect();
    if !missing.is_empty() {
        return Err(header_err(format!(
            "colonne(s) manquante(s) : {} (colonnes attendues : {})",
            missing.join(", "),
            columns.join(",")
        )));
    }
    Ok((reader, index))
}

/// The line where a quoted CSV field opens and is never closed, if one is: the CSV reader would
/// otherwise read the rest of the file as that one field, and the rows it swallows would be reported
/// as missing values. The rules are the reader's: a quote opens a field only as its first character,
/// `""` inside a quoted field is a quote, and the quoted field ends at the next lone quote.
pub(crate) fn unclosed_quote(bytes: &[u8]) -> Option<u64> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let delimiter = delimiter_of(bytes);
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    let mut line: u64 = 1;
    let mut opened_on: u64 = 1;
    for &b in bytes {
        let end_of_field = b == delimiter || b == b'\n' || b == b'\r';
        state = match state {
            State::FieldStart if b == b'"' => {
                opened_on = line;
                State::Quoted
            }
            State::FieldStart | State::Unquoted if end_of_field => State::FieldStart,
            State::FieldStart | State::Unquoted => State::Unquoted,
            State::Quoted if b == b'"' => State::QuoteInQuoted,
            State::Quoted => State::Quoted,
            State::QuoteInQuoted if b == b'"' => State::Quoted,
            State::QuoteInQuoted if end_of_field => State::FieldStart,
            State::QuoteInQuoted => State::Unquoted,
        };
        if b == b'\n' {
            line += 1;
        }
    }
    (state == State::Quoted).then_some(opened_on)
}

/// The error of a CSV file whose quote opened on `line` is never closed.
pub(crate) fn unclosed_quote_error(file: &str, line: u64) -> ImportError {
    ImportError::new(
        file,
        Location::Line(line),
        None,
        "guillemet non fermé : le champ qui commence par un guillemet (\") sur cette ligne n'est jamais refermé, \
         et le reste du fichier serait lu comme une seule valeur ; ajoutez le guillemet manquant",
    )
}

/// The separator of a CSV file: `;` when the first line uses it and has no comma, else `,`.
fn delimiter_of(bytes: &[u8]) -> u8 {
    let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    if first_line.contains(&b';') && !first_line.contains(&b',') {
        b';'
    } else {
        b','
    }
}

/// A CSV reader over `bytes`: separator `,`, or `;` when the first line uses it and has no comma (as
/// spreadsheets set to French write); a UTF-8 byte-order mark skipped; cells trimmed; rows of any length.
pub(crate) fn csv_reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let delimiter = delimiter_of(bytes);
    csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).trim(csv::Trim::All).from_reader(bytes)
}

/// The file name to show for a path: its last component.
pub fn display_name(path: &std::path::Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_french_sentences() {
        let e = ImportError::new(
            "epci.json",
            Location::Record { number: 3, code: Some("200072460".into()) },
            Some("membres[2].code"),
            "code INSEE « 6211 » invalide",
        );
        assert_eq!(
            e.to_string(),
            "epci.json, enregistrement n° 3 (code 200072460), champ « membres[2].code » : code INSEE « 6211 » invalide"
        );
        let json_err = serde_json::from_str::<serde_json::Value>("[1,\n  {").unwrap_err();
        let e = ImportError::json("communes.json", &json_err);
        assert_eq!(e.location, Location::Position { line: 2, column: 3 });
        assert!(e.to_string().starts_with("communes.json, ligne 2, colonne 3 : JSON tronqué"), "{e}");
    }

    #[test]
    fn unclosed_quotes_are_found_with_their_line() {
        assert_eq!(unclosed_quote(b"a,b\n1,\"deux\n3,4\n"), Some(2));
        assert_eq!(unclosed_quote(b"a;b\r\n1;2\r\n3;\"x\"\"y\r\n"), Some(3));
        // Closed, escaped, spanning lines, or a quote inside an unquoted field: all fine.
        assert_eq!(unclosed_quote(b"a,b\n1,\"deux, \"\"trois\"\"\"\n\"x\ny\",4\n"), None);
        assert_eq!(unclosed_quote(b"a,b\n1,pouce 2\"\n"), None);
        assert_eq!(unclosed_quote(b""), None);
    }

    /// Every table import, from a CSV file: its errors, as the user reads them.
    fn every_import(bytes: &[u8]) -> Vec<(&'static str, Vec<String>)> {
        let messages = |e: ImportErrors| e.0.iter().map(ToString::to_string).collect::<Vec<_>>();
        let types = ctg_domain::offer::builtin_facility_types();
        vec![
            (
                "facilities",
                facilities::parse("t.csv", bytes, &types).map(|_| ()).map_err(messages).err().unwrap_or_default(),
            ),
            ("funding", funding::parse("t.csv", bytes).map(|_| ()).map_err(messages).err().unwrap_or_default()),
            (
                "observations",
                observations::parse("t.csv", bytes).map(|_| ()).map_err(messages).err().unwrap_or_default(),
            ),
            ("populations", populations::parse("t.csv", bytes).map(|_| ()).map_err(messages).err().unwrap_or_default()),
            (
                "plan",
                plan::parse("t.csv", bytes, &plan::PlanContext::default())
                    .map(|_| ())
                    .map_err(messages)
                    .err()
                    .unwrap_or_default(),
            ),
        ]
    }

    /// A header with every column any table import reads, so that each finds its own.
    const ALL_COLUMNS: &str = "type,nom,commune,dispositif,financeur,annee,montant,indicateur,type_territoire,\
        code_territoire,periode,valeur,source,date_donnees,code_insee,millesime,population_municipale,\
        population_comptee_a_part,population_totale,code,intitule";

    #[test]
    fn no_import_accepts_a_header_alone() {
        for (import, errors) in every_import(format!("{ALL_COLUMNS}\n\n").as_bytes()) {
            assert_eq!(
                errors,
                ["t.csv, ligne 1 : aucune ligne de données : le fichier n'a que sa ligne d'en-tête, rien n'a été importé"],
                "{import}"
            );
        }
    }

    #[test]
    fn no_import_reads_an_unclosed_quote_as_missing_values() {
        let row = ALL_COLUMNS.split(',').map(|_| "x").collect::<Vec<_>>().join(",");
        let csv = format!("{ALL_COLUMNS}\n{row}\n\"{row}\n{row}\n");
        for (import, errors) in every_import(csv.as_bytes()) {
            assert_eq!(errors.len(), 1, "{import}: {errors:?}");
            assert!(errors[0].starts_with("t.csv, ligne 3 : guillemet non fermé"), "{import}: {errors:?}");
        }
    }

    #[test]
    fn a_page_lists_the_first_hundred_errors_then_counts() {
        let errors = ImportErrors(
            (1..=100_009).map(|i| ImportError::new("p.xlsx", Location::Line(i), None, "code manquant")).collect(),
        );
        let listed = errors.listed();
        assert_eq!(listed.len(), MAX_LISTED + 1);
        assert_eq!(listed[0], "p.xlsx, ligne 1 : code manquant");
        assert_eq!(listed[MAX_LISTED], format!("… et {} autres erreurs", ctg_domain::format::integer(99_909)));
        assert_eq!(errors.to_string().lines().count(), MAX_LISTED + 2);
        let one_more = ImportErrors(errors.0[..101].to_vec()).listed();
        assert_eq!(one_more.last().unwrap(), "… et 1 autre erreur");
        assert_eq!(ImportErrors(errors.0[..100].to_vec()).listed().len(), 100);
    }
}
