//! One export mechanism for every table of the web application: a page builds a [`Table`] (columns and
//! typed cells) once, and [`export`] writes it as CSV, XLSX or ODS. Several tables make one workbook
//! with [`export_book`]: one sheet per table in XLSX and ODS, the first table alone in CSV.
//!
//! - CSV is for machines: comma separator, UTF-8 without byte order mark, a header row of the column
//!   keys, numbers with a dot as decimal separator and no grouping, amounts in euros with two decimals,
//!   percentages as the number itself (`42.1` for 42,1 %), ISO dates (`2026-01-31`).
//! - XLSX and ODS are for people: one sheet named after the title, a bold and frozen header row of the
//!   French labels, numbers stored as numbers and dates as dates, each shown in a French-friendly format
//!   (the spreadsheet applies the reader's separators), column widths fitted to the content.
//!
//! Every text written goes through one export-cleaning rule ([`cell_text`]): control characters (C0
//! but tab and newline, C1, the bidirectional overrides and isolates, U+FFFE and U+FFFF) are removed,
//! and a text longer than a spreadsheet cell holds ([`MAX_CELL_UNITS`]) is cut with a visible mark
//! (« … [texte coupé : 40 000 caractères] »). A CSV text cell that a spreadsheet would read as a formula
//! (beginning with `=`, `+`, `-`, `@`, a tab or a carriage return) is prefixed with an apostrophe
//! ([`csv_text`]), as the OWASP guidance on CSV injection describes; numbers, amounts and dates are not
//! text cells and are written as they are (`-12.50`).
//!
//! Every export carries the source and the date of its data (art. 9 of the convention: « Les parties
//! s'engagent à mentionner dans tout document […] la source des données »), given as a [`Source`]:
//! in XLSX and ODS, a last sheet « Source » names, for each table, where its data come from and the day
//! they were read; in CSV, two last columns, `source_des_donnees` and `donnees_au`, repeat them on every
//! row (a comment line before the header would be read as the header by spreadsheets and by the
//! platform's own importers, which ignore these two columns). A CSV without rows has no data and so no
//! source beyond its header.
//!
//! In every format an [`Value::Empty`] cell is empty and a [`Value::Masked`] cell (statistical secret)
//! holds the text `secret`. A decimal or percentage that is not a finite number (NaN, infinity) is
//! written as an empty cell, since no format can hold it as a number.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Workbook, Worksheet};
use spreadsheet_ods::format::FormatNumberStyle;
use spreadsheet_ods::style::units::{TextAlign, TextAlignSource};
use spreadsheet_ods::{
    CellStyle, CellStyleRef, Length, Sheet, ValueFormatCurrency, ValueFormatDateTime, ValueFormatNumber,
    ValueFormatPercentage, WorkBook,
};

use crate::ReportError;

/// The text written in place of a value covered by the statistical secret.
pub const MASKED_TEXT: &str = "secret";

/// The CSV column that names where the data come from ([`Source::origin`]).
pub const SOURCE_KEY: &str = "source_des_donnees";
/// The CSV column that gives the day the data were read ([`Source::as_of`]).
pub const AS_OF_KEY: &str = "donnees_au";
/// The title of the last sheet of a workbook, which names the source of each table.
pub const SOURCE_SHEET: &str = "Source";

/// Where the data of an export come from, and the day they were read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Who produced the data, in French: « Plateforme CTG, convention « … » ; Insee, RP 2021 ».
    pub origin: String,
    /// The day the data were read: the export shows them as they were that day.
    pub as_of: NaiveDate,
}

/// Excel's largest row count, the header row included (LibreOffice has the same limit).
const MAX_ROWS: usize = 1_048_576;
/// Excel's and LibreOffice's largest column count.
const MAX_COLUMNS: usize = 16_384;
/// Spreadsheet applications refuse longer sheet names (counted in UTF-16 code units).
const MAX_SHEET_NAME: usize = 31;

/// Excel's and LibreOffice's longest cell text, in UTF-16 code units: a longer text is cut with a mark.
pub const MAX_CELL_UNITS: usize = 32_767;

/// Whether a character never reaches an export: C0 controls but tab and newline, DEL and C1 controls,
/// the bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), and the
/// non-characters U+FFFE and U+FFFF that XML forbids.
fn is_forbidden_in_export(ch: char) -> bool {
    matches!(ch, '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
        || matches!(ch, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{fffe}' | '\u{ffff}')
}

/// The export-cleaning of a text, for every format: forbidden characters removed (a carriage return
/// too: a line ends with a newline), and a text over [`MAX_CELL_UNITS`] cut with a visible mark
/// « … [texte coupé : N caractères] » (N the length of the whole text), the whole within the limit.
pub fn cell_text(s: &str) -> Cow<'_, str> {
    let cleaned: Cow<'_, str> = if s.chars().any(|c| c == '\r' || is_forbidden_in_export(c)) {
        Cow::Owned(s.chars().filter(|&c| c != '\r' && !is_forbidden_in_export(c)).collect())
    } else {
        Cow::Borrowed(s)
    };
    if cleaned.encode_utf16().count() <= MAX_CELL_UNITS {
        return cleaned;
    }
    let total = cleaned.chars().count();
    let mark = format!(
        " … [texte coupé : {} caractères]",
        ctg_domain::format::integer(i64::try_from(total).unwrap_or(i64::MAX))
    );
    let room = MAX_CELL_UNITS - mark.encode_utf16().count();
    let mut out = String::with_capacity(room + mark.len());
    let mut units = 0;
    for ch in cleaned.chars() {
        units += ch.len_utf16();
        if units > room {
            break;
        }
        out.push(ch);
    }
    out.push_str(&mark);
    Cow::Owned(out)
}

/// The export-cleaning of a CSV text cell: [`cell_text`], then an apostrophe before a text that a
/// spreadsheet would read as a formula (beginning with `=`, `+`, `-`, `@`, a tab, a carriage return, or
/// their full-width forms). Every CSV the platform writes passes its text cells through it.
pub fn csv_text(s: &str) -> Cow<'_, str> {
    let risky =
        |t: &str| t.starts_with(['=', '+', '-', '@', '\t', '\r', '\u{ff1d}', '\u{ff0b}', '\u{ff0d}', '\u{ff20}']);
    // The raw text is checked too: a leading carriage return is removed by the cleaning.
    let needs_prefix = risky(s);
    let cleaned = cell_text(s);
    if needs_prefix || risky(&cleaned) {
        Cow::Owned(format!("'{cleaned}"))
    } else {
        cleaned
    }
}

/// One cell of a [`Table`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Free text. Codes and years that must not be grouped by thousands (`62023`, `2026`) are text too.
    Text(String),
    /// A whole number, shown with thousands grouping in spreadsheets.
    Integer(i64),
    /// A number shown with a fixed number of decimals.
    Decimal {
        /// The number.
        value: f64,
        /// How many decimals to show (and to write in CSV).
        decimals: u8,
    },
    /// A percentage: `42.1` means 42,1 %. In spreadsheets it is stored as the fraction (0.421) with a
    /// percent format, as spreadsheets expect.
    Percent(f64),
    /// An amount in euro cents: `11_002_139` is 110 021,39 €.
    Cents(i64),
    /// A calendar date.
    Date(NaiveDate),
    /// No value (unknown, not applicable): an empty cell, never 0.
    Empty,
    /// A value covered by the statistical secret: the text `secret`.
    Masked,
}

/// One column of a [`Table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Machine name, in snake_case: the CSV header.
    pub key: String,
    /// French label: the XLSX and ODS header.
    pub label: String,
}

impl Column {
    /// A column from its key and its label.
    pub fn new(key: impl Into<String>, label: impl Into<String>) -> Self {
        Column { key: key.into(), label: label.into() }
    }
}

/// A table to export: every row has exactly one cell per column.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The title: the name of the spreadsheet's sheet (shortened and cleaned as needed).
    pub title: String,
    /// The columns, in order.
    pub columns: Vec<Column>,
    /// The rows, each with one cell per column.
    pub rows: Vec<Vec<Value>>,
}

/// A format a [`Table`] can be exported to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// Values separated by `;`, UTF-8 with a byte order mark, decimal commas: what a French
    /// spreadsheet (Excel, LibreOffice) opens in columns with its accents. The default CSV.
    Csv,
    /// Values separated by `,`, UTF-8 without a byte order mark, decimal points: for programs.
    CsvComma,
    /// Office Open XML workbook (Excel).
    Xlsx,
    /// OpenDocument spreadsheet (LibreOffice).
    Ods,
}

impl ExportFormat {
    /// Every format, in the order to offer them.
    pub const ALL: [ExportFormat; 4] =
        [ExportFormat::Csv, ExportFormat::CsvComma, ExportFormat::Xlsx, ExportFormat::Ods];

    /// The format named by its key (`csv`, `csv-virgule`, `xlsx`, `ods`, in any case; `virgule` too).
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("virgule") {
            return Some(ExportFormat::CsvComma);
        }
        Self::ALL.into_iter().find(|f| f.key().eq_ignore_ascii_case(s))
    }

    /// The name of the format in a query (`?format=…`).
    pub fn key(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::CsvComma => "csv-virgule",
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::Ods => "ods",
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv | ExportFormat::CsvComma => "csv",
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::Ods => "ods",
        }
    }

    /// The media type to serve the file with.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv | ExportFormat::CsvComma => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ExportFormat::Ods => "application/vnd.oasis.opendocument.spreadsheet",
        }
    }

    /// A short French name, for a download link.
    pub fn label(self) -> &'static str {
        match self {
            ExportFormat::Csv => "CSV",
            ExportFormat::CsvComma => "CSV (virgule)",
            ExportFormat::Xlsx => "Excel (XLSX)",
            ExportFormat::Ods => "LibreOffice (ODS)",
        }
    }

    /// The CSV dialect of a CSV format.
    pub fn csv_dialect(self) -> Option<CsvDialect> {
        match self {
            ExportFormat::Csv => Some(CsvDialect::French),
            ExportFormat::CsvComma => Some(CsvDialect::Comma),
            ExportFormat::Xlsx | ExportFormat::Ods => None,
        }
    }
}

/// How a CSV is written: **the one place** that decides separators, byte order mark and decimal
/// marks, for every CSV of the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CsvDialect {
    /// `;`, a UTF-8 byte order mark, decimal commas: French spreadsheets.
    #[default]
    French,
    /// `,`, no byte order mark, decimal points.
    Comma,
}

impl CsvDialect {
    /// The dialect asked for by a query's `format` (`csv-virgule` or `virgule`: [`CsvDialect::Comma`];
    /// anything else, or nothing: [`CsvDialect::French`]).
    pub fn from_query(format: Option<&str>) -> Self {
        match format.map(str::trim) {
            Some(f) if f.eq_ignore_ascii_case("csv-virgule") || f.eq_ignore_ascii_case("virgule") => Self::Comma,
            _ => Self::French,
        }
    }

    /// A CSV writer in this dialect, the byte order mark already written.
    pub fn writer(self) -> csv::Writer<Vec<u8>> {
        let (delimiter, start) = match self {
            Self::French => (b';', "\u{feff}".as_bytes().to_vec()),
            Self::Comma => (b',', Vec::new()),
        };
        csv::WriterBuilder::new().delimiter(delimiter).from_writer(start)
    }

    /// A number written with a decimal point, in this dialect's decimal mark.
    pub fn decimal(self, s: String) -> String {
        match self {
            Self::French => s.replace('.', ","),
            Self::Comma => s,
        }
    }
}

/// The table written in the given format, with the source of its data. Fails if a row does not have one
/// cell per column, if the table does not fit in a spreadsheet (XLSX, ODS), or if the writer fails. The
/// same as [`export_book`] of this one table.
pub fn export(table: &Table, format: ExportFormat, source: &Source) -> Result<Vec<u8>, ReportError> {
    export_book(std::slice::from_ref(table), format, source)
}

/// The tables written as one workbook: in XLSX and ODS, one sheet per table, in order, each named after
/// its title ([`sheet_name`]), names made unique by a number (`Moyens`, `Moyens (2)`: spreadsheets
/// compare sheet names without case), then the sheet « Source » ([`SOURCE_SHEET`]). A CSV holds one
/// table only: **only the first table is written** (the others are checked all the same), with the
/// source in its last two columns. No table at all is written as one empty table. Fails as [`export`]
/// does, for any of the tables.
pub fn export_book(tables: &[Table], format: ExportFormat, source: &Source) -> Result<Vec<u8>, ReportError> {
    let empty = [Table { title: String::new(), columns: vec![], rows: vec![] }];
    let tables = if tables.is_empty() { &empty[..] } else { tables };
    for table in tables {
        check_row_lengths(table)?;
    }
    match format {
        ExportFormat::Csv | ExportFormat::CsvComma => csv(&tables[0], source, format.csv_dialect().unwrap_or_default()),
        ExportFormat::Xlsx => {
            for table in tables {
                check_size(table)?;
            }
            xlsx(tables, &source_table(tables, source))
        }
        ExportFormat::Ods => {
            for table in tables {
                check_size(table)?;
            }
            ods(tables, &source_table(tables, source))
        }
    }
}

/// The sheet « Source » of a workbook: for each table, where its data come from and the day they were read.
fn source_table(tables: &[Table], source: &Source) -> Table {
    Table {
        title: SOURCE_SHEET.to_owned(),
        columns: vec![
            Column::new("tableau", "Tableau"),
            Column::new(SOURCE_KEY, "Source des données"),
            Column::new(AS_OF_KEY, "Données au"),
        ],
        rows: tables
            .iter()
            .map(|t| vec![Value::Text(t.title.clone()), Value::Text(source.origin.clone()), Value::Date(source.as_of)])
            .collect(),
    }
}

fn check_row_lengths(table: &Table) -> Result<(), ReportError> {
    let expected = table.columns.len();
    match table.rows.iter().position(|r| r.len() != expected) {
        Some(i) => {
            Err(ReportError::RowLength { table: table.title.clone(), row: i + 1, expected, found: table.rows[i].len() })
        }
        None => Ok(()),
    }
}

fn check_size(table: &Table) -> Result<(), ReportError> {
    if table.rows.len() >= MAX_ROWS || table.columns.len() > MAX_COLUMNS {
        return Err(ReportError::TooLarge {
            table: table.title.clone(),
            rows: table.rows.len(),
            columns: table.columns.len(),
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// CSV

fn csv(table: &Table, source: &Source, dialect: CsvDialect) -> Result<Vec<u8>, ReportError> {
    if table.columns.is_empty() {
        // The csv crate writes an empty record as `""`: a table without columns is an empty file.
        return Ok(Vec::new());
    }
    let mut w = dialect.writer();
    w.write_record(table.columns.iter().map(|c| c.key.as_str()).chain([SOURCE_KEY, AS_OF_KEY]))?;
    let origin = csv_text(&source.origin).into_owned();
    let as_of = source.as_of.format("%Y-%m-%d").to_string();
    for row in &table.rows {
        w.write_record(row.iter().map(|v| csv_cell(v, dialect)).chain([origin.clone(), as_of.clone()]))?;
    }
    w.into_inner().map_err(|e| ReportError::Csv(csv::Error::from(e.into_error())))
}

fn csv_cell(v: &Value, dialect: CsvDialect) -> String {
    match v {
        Value::Text(s) => csv_text(s).into_owned(),
        Value::Integer(n) => n.to_string(),
        Value::Decimal { value, decimals } => dialect.decimal(fixed(*value, *decimals).unwrap_or_default()),
        Value::Percent(p) if p.is_finite() => dialect.decimal(shortest(*p)),
        Value::Percent(_) | Value::Empty => String::new(),
        Value::Cents(c) => dialect.decimal(euros(*c)),
        Value::Date(d) => d.format("%Y-%m-%d").to_string(),
        Value::Masked => MASKED_TEXT.to_owned(),
    }
}

/// `value` with `decimals` decimals and a dot, never `-0.0`; `None` if it is not finite.
fn fixed(value: f64, decimals: u8) -> Option<String> {
    if !value.is_finite() {
        return None;
    }
    let s = format!("{:.*}", usize::from(decimals), value);
    Some(match s.strip_prefix('-') {
        Some(abs) if abs.bytes().all(|b| b == b'0' || b == b'.') => abs.to_owned(),
        _ => s,
    })
}

/// The shortest decimal writing of a finite number that reads back to it (`42.1`, `3`), never `-0`.
fn shortest(value: f64) -> String {
    if value == 0.0 {
        "0".to_owned()
    } else {
        value.to_string()
    }
}

/// `11002139` → `110021.39`, `-5` → `-0.05`.
fn euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// A percentage (42.1) as the fraction spreadsheets store (0.421), without the rounding noise of a
/// division (42.1 / 100 is 0.42100000000000004): the decimal exponent is shifted instead.
fn percent_fraction(p: f64) -> f64 {
    let sci = format!("{p:e}");
    match sci.split_once('e') {
        Some((mantissa, exp)) => match exp.parse::<i32>() {
            Ok(exp) => format!("{mantissa}e{}", exp - 2).parse().unwrap_or(p / 100.0),
            Err(_) => p / 100.0,
        },
        None => p / 100.0,
    }
}

// ---------------------------------------------------------------------------------------------------
// Spreadsheets (shared)

/// A sheet name that spreadsheet applications accept, from a table title: the characters `[]:*?/\`
/// replaced (`[` `]` by parentheses, `:` `/` `\` by a hyphen, `*` `?` removed), control characters
/// removed, spaces collapsed, at most 31 UTF-16 code units (cut at a word boundary when one is near
/// the end), no leading or trailing apostrophe, never
/// empty (`Tableau`) and never Excel's reserved `History`.
pub fn sheet_name(title: &str) -> String {
    let mut cleaned = String::with_capacity(title.len());
    for ch in title.chars() {
        let ch = match ch {
            '[' => '(',
            ']' => ')',
            ':' | '/' | '\\' => '-',
            '*' | '?' => continue,
            c if c.is_whitespace() => ' ',
            c if c.is_control() || is_forbidden_in_export(c) => continue,
            c => c,
        };
        if ch == ' ' && (cleaned.is_empty() || cleaned.ends_with(' ')) {
            continue;
        }
        cleaned.push(ch);
    }
    let mut name = String::new();
    let mut units = 0;
    let mut truncated = false;
    for ch in cleaned.chars() {
        units += ch.len_utf16();
        if units > MAX_SHEET_NAME {
            truncated = true;
            break;
        }
        name.push(ch);
    }
    // A cut title ends at a word boundary when one is near the end.
    if truncated {
        if let Some(space) = name.rfind(' ').filter(|&i| name[..i].chars().count() >= 20) {
            name.truncate(space);
        }
    }
    let name = name.trim_matches(|c: char| c == '\'' || c == ' ');
    if name.is_empty() || name.eq_ignore_ascii_case("history") {
        "Tableau".to_owned()
    } else {
        name.to_owned()
    }
}

/// The sheet names of a workbook of `tables`: [`sheet_name`] of each title, a repeated name (compared
/// without case, as spreadsheets do) followed by ` (2)`, ` (3)`… within the 31 units allowed.
pub fn sheet_names(tables: &[Table]) -> Vec<String> {
    unique_sheet_names(tables.iter())
}

fn unique_sheet_names<'a>(tables: impl Iterator<Item = &'a Table>) -> Vec<String> {
    let mut taken: Vec<String> = Vec::new();
    let mut names = Vec::new();
    for table in tables {
        let base = sheet_name(&table.title);
        let mut name = base.clone();
        let mut n = 1;
        while taken.contains(&name.to_lowercase()) {
            n += 1;
            let suffix = format!(" ({n})");
            let room = MAX_SHEET_NAME - suffix.len();
            let mut stem = String::new();
            let mut units = 0;
            for ch in base.chars() {
                units += ch.len_utf16();
                if units > room {
                    break;
                }
                stem.push(ch);
            }
            name = format!("{}{suffix}", stem.trim_end());
        }
        taken.push(name.to_lowercase());
        names.push(name);
    }
    names
}

/// Roughly how many characters a cell takes once displayed in French.
fn display_width(v: &Value) -> usize {
    let chars = |s: String| s.chars().count();
    match v {
        Value::Text(s) => s.lines().map(|l| l.chars().count()).max().unwrap_or(0).min(MAX_CELL_UNITS),
        Value::Integer(n) => chars(ctg_domain::format::integer(*n)),
        Value::Decimal { value, decimals } => chars(crate::chart::format_number_fr(*value, *decimals)),
        Value::Percent(p) => chars(crate::chart::format_number_fr(*p, 1)) + 2,
        Value::Cents(c) => chars(crate::chart::format_number_fr(*c as f64 / 100.0, 2)) + 2,
        Value::Date(_) => 10,
        Value::Empty => 0,
        Value::Masked => MASKED_TEXT.len(),
    }
}

/// The width of each column, in characters: the widest of the label and the cells, within bounds.
fn column_widths(table: &Table) -> Vec<f64> {
    (0..table.columns.len())
        .map(|c| {
            let label = table.columns[c].label.chars().count();
            let cells = table.rows.iter().map(|r| display_width(&r[c])).max().unwrap_or(0);
            (label.max(cells).clamp(6, 60) + 2) as f64
        })
        .collect()
}

/// Whether a date can be stored as a spreadsheet date (Excel counts from 1900 to 9999); others are
/// written as ISO text.
fn spreadsheet_date(d: NaiveDate) -> Option<ExcelDateTime> {
    let year = u16::try_from(d.year()).ok()?;
    // Month and day always fit in a u8.
    ExcelDateTime::from_ymd(year, d.month() as u8, d.day() as u8).ok()
}

// ---------------------------------------------------------------------------------------------------
// XLSX

fn xlsx(tables: &[Table], source: &Table) -> Result<Vec<u8>, ReportError> {
    let mut workbook = Workbook::new();
    let all = || tables.iter().chain(std::iter::once(source));
    for (table, name) in all().zip(unique_sheet_names(all())) {
        let sheet = workbook.add_worksheet();
        sheet.set_name(name)?;
        write_xlsx_sheet(sheet, table)?;
    }
    Ok(workbook.save_to_buffer()?)
}

fn write_xlsx_sheet(sheet: &mut Worksheet, table: &Table) -> Result<(), ReportError> {
    let header = Format::new().set_bold().set_text_wrap().set_align(FormatAlign::Top);
    let integer = Format::new().set_num_format("#,##0");
    let cents = Format::new().set_num_format("#,##0.00\\ \"€\"");
    let percent = Format::new().set_num_format("0.0\\ %");
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let masked = Format::new().set_align(FormatAlign::Right);
    let mut decimal_formats: BTreeMap<u8, Format> = BTreeMap::new();

    // `check_size` bounds both, so the conversions cannot fail.
    let col_num = |c: usize| u16::try_from(c).unwrap_or(u16::MAX);
    let row_num = |r: usize| u32::try_from(r).unwrap_or(u32::MAX);

    for (c, (column, width)) in table.columns.iter().zip(column_widths(table)).enumerate() {
        sheet.write_string_with_format(0, col_num(c), cell_text(&column.label), &header)?;
        sheet.set_column_width(col_num(c), width)?;
    }
    if !table.columns.is_empty() {
        sheet.set_freeze_panes(1, 0)?;
    }
    for (r, row) in table.rows.iter().enumerate() {
        let r = row_num(r + 1);
        for (c, cell) in row.iter().enumerate() {
            let c = col_num(c);
            match cell {
                Value::Text(s) => {
                    sheet.write_string(r, c, cell_text(s))?;
                }
                Value::Integer(n) => {
                    // Beyond 2^53 the spreadsheet loses digits, as it would for any number.
                    sheet.write_number_with_format(r, c, *n as f64, &integer)?;
                }
                Value::Decimal { value, decimals } if value.is_finite() => {
                    let format = decimal_formats
                        .entry(*decimals)
                        .or_insert_with(|| Format::new().set_num_format(decimal_pattern(*decimals)));
                    sheet.write_number_with_format(r, c, *value, format)?;
                }
                Value::Percent(p) if p.is_finite() => {
                    sheet.write_number_with_format(r, c, percent_fraction(*p), &percent)?;
                }
                Value::Cents(v) => {
                    sheet.write_number_with_format(r, c, *v as f64 / 100.0, &cents)?;
                }
                Value::Date(d) => match spreadsheet_date(*d) {
                    Some(xd) => {
                        sheet.write_datetime_with_format(r, c, xd, &date)?;
                    }
                    None => {
                        sheet.write_string(r, c, d.format("%Y-%m-%d").to_string())?;
                    }
                },
                Value::Masked => {
                    sheet.write_string_with_format(r, c, MASKED_TEXT, &masked)?;
                }
                Value::Decimal { .. } | Value::Percent(_) | Value::Empty => {}
            }
        }
    }
    Ok(())
}

/// `#,##0` then as many zeros after the dot as decimals.
fn decimal_pattern(decimals: u8) -> String {
    if decimals == 0 {
        "#,##0".to_owned()
    } else {
        format!("#,##0.{}", "0".repeat(usize::from(decimals)))
    }
}

// ---------------------------------------------------------------------------------------------------
// ODS

fn ods(tables: &[Table], source: &Table) -> Result<Vec<u8>, ReportError> {
    let mut book = WorkBook::new_empty();
    let styles = OdsStyles::new(&mut book, tables);
    let all = || tables.iter().chain(std::iter::once(source));
    for (table, name) in all().zip(unique_sheet_names(all())) {
        book.push_sheet(ods_sheet(table, name, &styles));
    }
    Ok(spreadsheet_ods::write_ods_buf(&mut book, Vec::new())?)
}

fn ods_sheet(table: &Table, name: String, styles: &OdsStyles) -> Sheet {
    let mut sheet = Sheet::new(name);

    let col_num = |c: usize| u32::try_from(c).unwrap_or(u32::MAX);
    let row_num = |r: usize| u32::try_from(r).unwrap_or(u32::MAX);

    for (c, (column, width)) in table.columns.iter().zip(column_widths(table)).enumerate() {
        sheet.set_styled_value(0, col_num(c), cell_text(&column.label).into_owned(), &styles.header);
        // About 1.9 mm per character of the default 10 pt font.
        sheet.set_col_width(col_num(c), Length::Mm(width * 1.9));
    }
    if !table.columns.is_empty() {
        sheet.split_row_header(0);
    }
    for (r, row) in table.rows.iter().enumerate() {
        let r = row_num(r + 1);
        for (c, cell) in row.iter().enumerate() {
            let c = col_num(c);
            match cell {
                Value::Text(s) => sheet.set_value(r, c, cell_text(s).into_owned()),
                Value::Integer(n) => sheet.set_styled_value(r, c, *n as f64, &styles.integer),
                Value::Decimal { value, decimals } if value.is_finite() => {
                    let style = styles.decimals.get(decimals).unwrap_or(&styles.integer);
                    sheet.set_styled_value(r, c, *value, style);
                }
                Value::Percent(p) if p.is_finite() => {
                    let v = spreadsheet_ods::Value::Percentage(percent_fraction(*p));
                    sheet.set_styled_value(r, c, v, &styles.percent);
                }
                Value::Cents(v) => {
                    let v = spreadsheet_ods::Value::Currency(*v as f64 / 100.0, "EUR".into());
                    sheet.set_styled_value(r, c, v, &styles.cents);
                }
                Value::Date(d) => sheet.set_styled_value(r, c, *d, &styles.date),
                Value::Masked => sheet.set_styled_value(r, c, MASKED_TEXT, &styles.masked),
                Value::Decimal { .. } | Value::Percent(_) | Value::Empty => {}
            }
        }
    }
    sheet
}

/// The cell styles of an ODS export, with their value formats.
struct OdsStyles {
    header: CellStyleRef,
    integer: CellStyleRef,
    decimals: BTreeMap<u8, CellStyleRef>,
    percent: CellStyleRef,
    cents: CellStyleRef,
    date: CellStyleRef,
    masked: CellStyleRef,
}

impl OdsStyles {
    fn new(book: &mut WorkBook, tables: &[Table]) -> Self {
        let mut header = CellStyle::new_empty();
        header.set_name("entete");
        header.set_font_bold();
        let header = book.add_cellstyle(header);

        let integer = number_style(book, 0);
        let mut decimals = BTreeMap::new();
        for cell in tables.iter().flat_map(|t| t.rows.iter().flatten()) {
            if let Value::Decimal { decimals: d, .. } = cell {
                if !decimals.contains_key(d) {
                    decimals.insert(*d, number_style(book, *d));
                }
            }
        }

        let mut f = ValueFormatPercentage::new_named("format_pourcentage");
        f.part_number().min_integer_digits(1).fixed_decimal_places(1).build();
        f.part_text("\u{a0}%").build();
        let f = book.add_percentage_format(f);
        let percent = book.add_cellstyle(CellStyle::new("pourcentage", &f));

        let mut f = ValueFormatCurrency::new_named("format_euros");
        f.part_number().min_integer_digits(1).fixed_decimal_places(2).grouping().build();
        f.part_text("\u{a0}").build();
        f.part_currency().symbol("€").build();
        let f = book.add_currency_format(f);
        let cents = book.add_cellstyle(CellStyle::new("euros", &f));

        let mut f = ValueFormatDateTime::new_named("format_date");
        f.part_day().style(FormatNumberStyle::Long).build();
        f.part_text("/").build();
        f.part_month().style(FormatNumberStyle::Long).build();
        f.part_text("/").build();
        f.part_year().style(FormatNumberStyle::Long).build();
        let f = book.add_datetime_format(f);
        let date = book.add_cellstyle(CellStyle::new("date", &f));

        let mut masked = CellStyle::new_empty();
        masked.set_name("secret");
        masked.set_text_align_source(TextAlignSource::Fix);
        masked.set_text_align(TextAlign::End);
        let masked = book.add_cellstyle(masked);

        OdsStyles { header, integer, decimals, percent, cents, date, masked }
    }
}

/// A cell style for numbers with thousands grouping and a fixed number of decimals.
fn number_style(book: &mut WorkBook, decimals: u8) -> CellStyleRef {
    let mut f = ValueFormatNumber::new_named(format!("format_nombre_{decimals}"));
    f.part_number().min_integer_digits(1).fixed_decimal_places(decimals).grouping().build();
    let f = book.add_number_format(f);
    book.add_cellstyle(CellStyle::new(format!("nombre_{decimals}"), &f))
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader};
    use std::io::Cursor;

    /// The source every test export carries.
    fn source() -> Source {
        Source { origin: "Plateforme CTG, convention « Test »".into(), as_of: date(2026, 12, 7) }
    }

    fn export(table: &Table, format: ExportFormat) -> Result<Vec<u8>, ReportError> {
        super::export(table, format, &source())
    }

    fn export_book(tables: &[Table], format: ExportFormat) -> Result<Vec<u8>, ReportError> {
        super::export_book(tables, format, &source())
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// A table with every kind of value, in the second row.
    fn sample() -> Table {
        Table {
            title: "Places d'accueil : 2024/2025 [brouillon]".into(),
            columns: vec![
                Column::new("nom", "Nom"),
                Column::new("enfants", "Enfants de moins de 3 ans"),
                Column::new("taux", "Taux de couverture"),
                Column::new("part", "Part"),
                Column::new("montant", "Montant"),
                Column::new("date_effet", "Date d'effet"),
                Column::new("vide", "Vide"),
                Column::new("masque", "Masqué"),
            ],
            rows: vec![
                vec![
                    Value::Text("Lens".into()),
                    Value::Integer(274_466),
                    Value::Decimal { value: 18.63, decimals: 1 },
                    Value::Percent(42.1),
                    Value::Cents(11_002_139),
                    Value::Date(date(2026, 1, 31)),
                    Value::Empty,
                    Value::Masked,
                ],
                vec![
                    Value::Text("Béthune, « centre » \"nord\"".into()),
                    Value::Integer(-12),
                    Value::Decimal { value: -0.04, decimals: 1 },
                    Value::Percent(0.0),
                    Value::Cents(-5),
                    Value::Date(date(1850, 7, 14)),
                    Value::Empty,
                    Value::Decimal { value: f64::NAN, decimals: 2 },
                ],
            ],
        }
    }

    #[test]
    fn csv_output_is_exact() {
        let out = String::from_utf8(export(&sample(), ExportFormat::Csv).unwrap()).unwrap();
        assert_eq!(
            out,
            "\u{feff}nom;enfants;taux;part;montant;date_effet;vide;masque;source_des_donnees;donnees_au\n\
             Lens;274466;18,6;42,1;110021,39;2026-01-31;;secret;Plateforme CTG, convention « Test »;2026-12-07\n\
             \"Béthune, « centre » \"\"nord\"\"\";-12;0,0;0;-0,05;1850-07-14;;;Plateforme CTG, convention « Test »;2026-12-07\n"
        );
        let out = String::from_utf8(export(&sample(), ExportFormat::CsvComma).unwrap()).unwrap();
        assert_eq!(
            out,
            "nom,enfants,taux,part,montant,date_effet,vide,masque,source_des_donnees,donnees_au\n\
             Lens,274466,18.6,42.1,110021.39,2026-01-31,,secret,\"Plateforme CTG, convention « Test »\",2026-12-07\n\
             \"Béthune, « centre » \"\"nord\"\"\",-12,0.0,0,-0.05,1850-07-14,,,\"Plateforme CTG, convention « Test »\",2026-12-07\n"
        );
    }

    #[test]
    fn rows_of_the_wrong_length_are_refused_in_french() {
        let mut t = sample();
        t.rows[1].pop();
        for format in ExportFormat::ALL {
            let err = export(&t, format).unwrap_err();
            assert!(matches!(err, ReportError::RowLength { row: 2, expected: 8, found: 7, .. }), "{err:?}");
        }
        assert_eq!(
            export(&t, ExportFormat::Csv).unwrap_err().to_string(),
            "la ligne 2 du tableau « Places d'accueil : 2024/2025 [brouillon] » a 7 cellule(s) pour 8 colonne(s)"
        );
    }

    #[test]
    fn formats_parse_from_their_extension() {
        for f in ExportFormat::ALL {
            assert_eq!(ExportFormat::parse(f.key()), Some(f));
        }
        assert_eq!(ExportFormat::parse("virgule"), Some(ExportFormat::CsvComma));
        assert_eq!(ExportFormat::CsvComma.extension(), "csv");
        assert_eq!(ExportFormat::parse("XLSX"), Some(ExportFormat::Xlsx));
        assert_eq!(ExportFormat::parse("pdf"), None);
        assert_eq!(ExportFormat::parse(""), None);
        assert_eq!(ExportFormat::Csv.content_type(), "text/csv; charset=utf-8");
        assert_eq!(ExportFormat::Ods.content_type(), "application/vnd.oasis.opendocument.spreadsheet");
    }

    #[test]
    fn sheet_names_are_cleaned_and_shortened() {
        assert_eq!(sheet_name("Places d'accueil : 2024/2025 [brouillon]"), "Places d'accueil - 2024-2025");
        assert_eq!(sheet_name("Taux ? *"), "Taux");
        assert_eq!(sheet_name("a\\b"), "a-b");
        assert_eq!(sheet_name("  Deux   espaces\tet\nlignes "), "Deux espaces et lignes");
        assert_eq!(sheet_name("'Cité'"), "Cité");
        assert_eq!(sheet_name("*?"), "Tableau");
        assert_eq!(sheet_name("History"), "Tableau");
        let long = "Établissements d'accueil du jeune enfant par commune";
        assert_eq!(sheet_name(long), "Établissements d'accueil du");
        let one_word = "Établissementsd'accueildujeuneenfant";
        assert_eq!(sheet_name(one_word), one_word.chars().take(31).collect::<String>());
        // Characters outside the basic plane count twice.
        assert_eq!(sheet_name(&"😀".repeat(20)).encode_utf16().count(), 30);
        for title in ["[]:*?/\\", "a:b", "x".repeat(100).as_str()] {
            let n = sheet_name(title);
            assert!(!n.contains(['[', ']', ':', '*', '?', '/', '\\']) && !n.is_empty() && n.len() <= 31, "{n}");
        }
    }

    #[test]
    fn percentages_become_exact_fractions() {
        assert_eq!(percent_fraction(42.1), 0.421);
        assert_eq!(percent_fraction(-7.25), -0.0725);
        assert_eq!(percent_fraction(100.0), 1.0);
        assert_eq!(percent_fraction(0.0), 0.0);
    }

    #[test]
    fn xlsx_reads_back_with_numbers_dates_and_the_secret() {
        let bytes = export(&sample(), ExportFormat::Xlsx).unwrap();
        let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
        assert_eq!(book.sheet_names(), vec!["Places d'accueil - 2024-2025".to_owned(), "Source".to_owned()]);
        let range = book.worksheet_range("Places d'accueil - 2024-2025").unwrap();
        assert_eq!(range.get_value((0, 0)), Some(&Data::String("Nom".into())));
        assert_eq!(range.get_value((0, 5)), Some(&Data::String("Date d'effet".into())));
        assert_eq!(range.get_value((1, 1)), Some(&Data::Float(274_466.0)));
        assert_eq!(range.get_value((1, 2)), Some(&Data::Float(18.63)));
        assert_eq!(range.get_value((1, 3)), Some(&Data::Float(0.421)));
        assert_eq!(range.get_value((1, 4)), Some(&Data::Float(110_021.39)));
        match range.get_value((1, 5)) {
            // 2026-01-31 is day 46053 in Excel's count.
            Some(Data::DateTime(d)) => assert_eq!(d.as_f64(), 46_053.0),
            other => panic!("not a date: {other:?}"),
        }
        assert!(matches!(range.get_value((1, 6)), None | Some(Data::Empty)));
        assert_eq!(range.get_value((1, 7)), Some(&Data::String("secret".into())));
        assert_eq!(range.get_value((2, 0)), Some(&Data::String("Béthune, « centre » \"nord\"".into())));
        // Before 1900, Excel has no dates: ISO text.
        assert_eq!(range.get_value((2, 5)), Some(&Data::String("1850-07-14".into())));
        assert!(matches!(range.get_value((2, 7)), None | Some(Data::Empty)));

        let styles = book.worksheet_style("Places d'accueil - 2024-2025").unwrap();
        assert!(styles.get((0, 0)).and_then(|s| s.font.as_ref()).is_some_and(|f| f.is_bold()));
        let code = |pos| styles.get(pos).and_then(|s| s.number_format.as_ref()).map(|f| f.format_code.clone());
        assert_eq!(code((1, 1)).as_deref(), Some("#,##0"));
        assert_eq!(code((1, 2)).as_deref(), Some("#,##0.0"));
        assert_eq!(code((1, 3)).as_deref(), Some("0.0\\ %"));
        assert_eq!(code((1, 4)).as_deref(), Some("#,##0.00\\ \"€\""));
        assert_eq!(code((1, 5)).as_deref(), Some("dd/mm/yyyy"));
    }

    #[test]
    fn ods_reads_back_with_numbers_dates_and_the_secret() {
        let bytes = export(&sample(), ExportFormat::Ods).unwrap();
        let mut book: calamine::Ods<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
        assert_eq!(book.sheet_names(), vec!["Places d'accueil - 2024-2025".to_owned(), "Source".to_owned()]);
        let range = book.worksheet_range("Places d'accueil - 2024-2025").unwrap();
        assert_eq!(range.get_value((0, 0)), Some(&Data::String("Nom".into())));
        assert_eq!(range.get_value((0, 7)), Some(&Data::String("Masqué".into())));
        assert_eq!(range.get_value((1, 1)), Some(&Data::Float(274_466.0)));
        assert_eq!(range.get_value((1, 2)), Some(&Data::Float(18.63)));
        assert_eq!(range.get_value((1, 3)), Some(&Data::Float(0.421)));
        assert_eq!(range.get_value((1, 4)), Some(&Data::Float(110_021.39)));
        match range.get_value((1, 5)) {
            Some(Data::DateTimeIso(d)) => assert!(d.starts_with("2026-01-31"), "{d}"),
            other => panic!("not a date: {other:?}"),
        }
        assert!(matches!(range.get_value((1, 6)), None | Some(Data::Empty)));
        assert_eq!(range.get_value((1, 7)), Some(&Data::String("secret".into())));
        assert_eq!(range.get_value((2, 0)), Some(&Data::String("Béthune, « centre » \"nord\"".into())));
        assert_eq!(range.get_value((2, 4)), Some(&Data::Float(-0.05)));
        match range.get_value((2, 5)) {
            Some(Data::DateTimeIso(d)) => assert!(d.starts_with("1850-07-14"), "{d}"),
            other => panic!("not a date: {other:?}"),
        }
    }

    /// A small table titled `title`, whose one cell is `value`.
    fn one_cell(title: &str, value: Value) -> Table {
        Table { title: title.into(), columns: vec![Column::new("valeur", "Valeur")], rows: vec![vec![value]] }
    }

    #[test]
    fn csv_text_cells_that_start_a_formula_get_an_apostrophe() {
        let table = Table {
            title: "t".into(),
            columns: vec![Column::new("texte", "Texte"), Column::new("montant", "Montant")],
            rows: [
                "=HYPERLINK(\"http://x\";\"clic\")",
                "+33 1 23",
                "-2",
                "@SUM(A1)",
                "\tcmd",
                "\r=1",
                "\u{ff1d}1",
                "Lens - Liévin",
            ]
            .into_iter()
            .map(|t| vec![Value::Text(t.into()), Value::Cents(-1250)])
            .collect(),
        };
        let french = String::from_utf8(export(&table, ExportFormat::Csv).unwrap()).unwrap();
        let lines: Vec<&str> = french.lines().collect();
        assert_eq!(
            lines[1],
            "\"'=HYPERLINK(\"\"http://x\"\";\"\"clic\"\")\";-12,50;Plateforme CTG, convention « Test »;2026-12-07"
        );
        assert_eq!(lines[3], "'-2;-12,50;Plateforme CTG, convention « Test »;2026-12-07");
        let out = String::from_utf8(export(&table, ExportFormat::CsvComma).unwrap()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[1],
            "\"'=HYPERLINK(\"\"http://x\"\";\"\"clic\"\")\",-12.50,\"Plateforme CTG, convention « Test »\",2026-12-07"
        );
        assert_eq!(lines[2], "'+33 1 23,-12.50,\"Plateforme CTG, convention « Test »\",2026-12-07");
        assert_eq!(lines[3], "'-2,-12.50,\"Plateforme CTG, convention « Test »\",2026-12-07");
        assert_eq!(lines[4], "'@SUM(A1),-12.50,\"Plateforme CTG, convention « Test »\",2026-12-07");
        assert_eq!(lines[5], "'\tcmd,-12.50,\"Plateforme CTG, convention « Test »\",2026-12-07");
        assert_eq!(lines[6], "'=1,-12.50,\"Plateforme CTG, convention « Test »\",2026-12-07");
        assert_eq!(lines[7], "'\u{ff1d}1,-12.50,\"Plateforme CTG, convention « Test »\",2026-12-07");
        // Numbers are not text cells: the negative amount stays a number; a dash inside a text is harmless.
        assert_eq!(lines[8], "Lens - Liévin,-12.50,\"Plateforme CTG, convention « Test »\",2026-12-07");
    }

    #[test]
    fn control_characters_never_reach_an_export() {
        let text = "Fiche\u{0}\u{1b}[31m\u{202e}txt.exe\u{85}\r\nsuite\tfin";
        assert_eq!(cell_text(text), "Fiche[31mtxt.exe\nsuite\tfin");
        let csv =
            String::from_utf8(export(&one_cell("t", Value::Text(text.into())), ExportFormat::Csv).unwrap()).unwrap();
        assert!(!csv.contains('\u{0}') && !csv.contains('\u{202e}') && !csv.contains('\r'), "{csv:?}");
        // The NUL that made the ODS download invalid XML.
        let bytes = export(&one_cell("t\u{0}", Value::Text(text.into())), ExportFormat::Ods).unwrap();
        let mut book: calamine::Ods<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range("t").unwrap();
        assert_eq!(range.get_value((1, 0)), Some(&Data::String("Fiche[31mtxt.exe\nsuite\tfin".into())));
        let bytes = export(&one_cell("t", Value::Text(text.into())), ExportFormat::Xlsx).unwrap();
        let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range("t").unwrap();
        assert_eq!(range.get_value((1, 0)), Some(&Data::String("Fiche[31mtxt.exe\nsuite\tfin".into())));
    }

    #[test]
    fn a_cell_too_long_for_a_spreadsheet_is_cut_with_a_mark() {
        let long = "é".repeat(40_000);
        let cut = cell_text(&long);
        assert_eq!(cut.encode_utf16().count(), MAX_CELL_UNITS);
        assert!(cut.ends_with(" … [texte coupé : 40\u{202f}000 caractères]"), "{}", &cut[cut.len() - 60..]);
        // Outside the Basic Multilingual Plane a character takes two UTF-16 units, as Excel counts.
        assert!(cell_text(&"😀".repeat(20_000)).encode_utf16().count() <= MAX_CELL_UNITS);
        assert_eq!(cell_text(&"a".repeat(MAX_CELL_UNITS)).len(), MAX_CELL_UNITS);
        for format in [ExportFormat::Xlsx, ExportFormat::Ods, ExportFormat::Csv] {
            let table = one_cell("Équipements", Value::Text("x".repeat(250 * 1024)));
            let bytes = export(&table, format).unwrap_or_else(|e| panic!("{format:?}: {e}"));
            assert!(!bytes.is_empty());
        }
        let bytes = export(&one_cell("t", Value::Text(long)), ExportFormat::Xlsx).unwrap();
        let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
        match book.worksheet_range("t").unwrap().get_value((1, 0)) {
            Some(Data::String(s)) => assert!(s.ends_with("caractères]")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_book_has_one_sheet_per_table_with_unique_names() {
        let tables = [
            sample(),
            one_cell("Moyens", Value::Decimal { value: 0.25, decimals: 2 }),
            one_cell("MOYENS", Value::Date(date(2027, 12, 31))),
            one_cell(&"Indicateurs de suivi du plan d'action".repeat(2), Value::Text("ok".into())),
            one_cell(&"Indicateurs de suivi du plan d'action".repeat(2), Value::Cents(150)),
        ];
        let names = sheet_names(&tables);
        assert_eq!(
            names,
            [
                "Places d'accueil - 2024-2025",
                "Moyens",
                "MOYENS (2)",
                "Indicateurs de suivi du plan",
                "Indicateurs de suivi du pla (2)"
            ]
        );
        assert!(names.iter().all(|n| n.encode_utf16().count() <= 31));

        let bytes = export_book(&tables, ExportFormat::Xlsx).unwrap();
        let mut book: calamine::Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
        let with_source: Vec<String> = names.iter().cloned().chain(["Source".to_owned()]).collect();
        assert_eq!(book.sheet_names(), with_source);
        let range = book.worksheet_range("Moyens").unwrap();
        assert_eq!(range.get_value((0, 0)), Some(&Data::String("Valeur".into())));
        assert_eq!(range.get_value((1, 0)), Some(&Data::Float(0.25)));
        let range = book.worksheet_range("Indicateurs de suivi du pla (2)").unwrap();
        assert_eq!(range.get_value((1, 0)), Some(&Data::Float(1.5)));
        let styles = book.worksheet_style("Moyens").unwrap();
        let code = styles.get((1, 0)).and_then(|s| s.number_format.as_ref()).map(|f| f.format_code.clone());
        assert_eq!(code.as_deref(), Some("#,##0.00"));

        let bytes = export_book(&tables, ExportFormat::Ods).unwrap();
        let mut book: calamine::Ods<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
        assert_eq!(book.sheet_names(), with_source);
        // The decimal style of the second table only is in the book.
        assert_eq!(book.worksheet_range("Moyens").unwrap().get_value((1, 0)), Some(&Data::Float(0.25)));
        match book.worksheet_range("MOYENS (2)").unwrap().get_value((1, 0)) {
            Some(Data::DateTimeIso(d)) => assert!(d.starts_with("2027-12-31"), "{d}"),
            other => panic!("not a date: {other:?}"),
        }

        // A CSV holds the first table only, exactly as `export` writes it.
        assert_eq!(export_book(&tables, ExportFormat::Csv).unwrap(), export(&tables[0], ExportFormat::Csv).unwrap());
        // Every table is checked, even those a CSV leaves out.
        let mut bad = tables.to_vec();
        bad[2].rows[0].push(Value::Empty);
        for format in ExportFormat::ALL {
            let err = export_book(&bad, format).unwrap_err();
            assert!(matches!(&err, ReportError::RowLength { table, row: 1, .. } if table == "MOYENS"), "{err:?}");
        }
        // No table: one empty table.
        assert_eq!(export_book(&[], ExportFormat::Csv).unwrap(), b"");
        for format in [ExportFormat::Xlsx, ExportFormat::Ods] {
            assert!(!export_book(&[], format).unwrap().is_empty());
        }
    }

    #[test]
    fn an_empty_table_still_exports() {
        let t = Table { title: String::new(), columns: vec![], rows: vec![] };
        assert_eq!(export(&t, ExportFormat::Csv).unwrap(), b"");
        for format in [ExportFormat::Xlsx, ExportFormat::Ods] {
            assert!(!export(&t, format).unwrap().is_empty());
        }
    }

    #[test]
    fn every_format_carries_the_source_and_date_of_its_data() {
        // Art. 9 of the convention: « Les parties s'engagent à mentionner dans tout document […] la source
        // des données ».
        let csv = String::from_utf8(export(&sample(), ExportFormat::CsvComma).unwrap()).unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let header = reader.headers().unwrap().clone();
        assert_eq!(&header[8], SOURCE_KEY);
        assert_eq!(&header[9], AS_OF_KEY);
        for record in reader.records() {
            let record = record.unwrap();
            assert_eq!((&record[8], &record[9]), ("Plateforme CTG, convention « Test »", "2026-12-07"));
        }
        let tables = [sample(), one_cell("Source", Value::Integer(1))];
        for format in [ExportFormat::Xlsx, ExportFormat::Ods] {
            let bytes = export_book(&tables, format).unwrap();
            let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).unwrap();
            // A table titled « Source » keeps its name; the sheet of sources comes last.
            let names = book.sheet_names();
            assert_eq!(names[1..], ["Source", "Source (2)"], "{format:?}");
            let range = book.worksheet_range("Source (2)").unwrap();
            assert_eq!(range.get_value((0, 1)), Some(&Data::String("Source des données".into())));
            assert_eq!(range.get_value((1, 0)), Some(&Data::String("Places d'accueil : 2024/2025 [brouillon]".into())));
            assert_eq!(range.get_value((2, 1)), Some(&Data::String("Plateforme CTG, convention « Test »".into())));
            // 46 363 is 7 December 2026 in Excel's count of days.
            match range.get_value((2, 2)) {
                Some(Data::DateTime(d)) => assert_eq!(d.as_f64(), 46_363.0),
                Some(Data::DateTimeIso(d)) => assert!(d.starts_with("2026-12-07"), "{d}"),
                other => panic!("{format:?}: not a date: {other:?}"),
            }
        }
    }

    #[test]
    fn column_widths_follow_the_widest_cell() {
        let t = sample();
        let w = column_widths(&t);
        // "Béthune, « centre » \"nord\"" is 26 characters, wider than "Nom".
        assert_eq!(w[0], 28.0);
        // The label "Enfants de moins de 3 ans" (25) is wider than "274 466".
        assert_eq!(w[1], 27.0);
        // Narrow columns keep a minimum width.
        assert_eq!(w[6], 8.0);
    }
}
