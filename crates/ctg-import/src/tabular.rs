//! One reader for tables, whatever the file: CSV, XLSX or ODS.
//!
//! The format is told by the content, the name's extension serving only as a hint: a zip archive whose
//! `mimetype` says OpenDocument spreadsheet is ODS, a zip holding `xl/workbook.xml` is XLSX, anything
//! else is CSV — unless the name promises a spreadsheet, in which case a clear error says the file is
//! not one (damaged, or renamed). Of a spreadsheet, the first sheet is read ([`Table::read`]), or a sheet
//! named ([`Table::read_sheet`], names compared loosely: case, accents, spaces), or every sheet
//! ([`Table::read_all`]): its first non-empty row is the header, numbers are written without a useless
//! `.0` (`42`, `18.6`), dates as `AAAA-MM-JJ`. Of a
//! CSV, the separator is the comma, or the semicolon when the first line uses it and has no comma; a
//! UTF-8 byte-order mark is accepted; a CSV is one table, whatever sheet is asked. Cells are trimmed
//! and empty rows skipped. Headers match trimmed and case-insensitively ([`Table::column`]), or
//! loosely ([`Table::column_loose`]: accents, punctuation and `_` ignored too).
//!
//! Every row keeps its place: `ligne 3` in a CSV, `feuille « Feuille1 », ligne 3` in a spreadsheet,
//! where a cell adds its column letters (`colonne C`).

use std::io::Cursor;
use std::sync::Arc;

use calamine::{Data, Ods, Range, Reader, SheetType, Xlsx};
use ctg_domain::plan::loose;

use crate::{ImportError, ImportErrors, Location};

/// What a table file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Ods,
}

const ZIP: &[u8] = b"PK\x03\x04";
const EMPTY_ZIP: &[u8] = b"PK\x05\x06";
/// The signature of OLE2 compound files: Excel 97-2003 workbooks, and password-protected XLSX.
const OLE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
const ODS_MIME: &[u8] = b"application/vnd.oasis.opendocument.spreadsheet";
const ODF_MIME: &[u8] = b"application/vnd.oasis.opendocument.";
const XLSX_WORKBOOK: &[u8] = b"xl/workbook.xml";

impl Format {
    /// Tells the format of a file by its content, its name's extension as a hint.
    pub fn detect(file: &str, bytes: &[u8]) -> Result<Self, ImportError> {
        let extension = file.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
        let err = |m: String| Err(ImportError::new(file, Location::File, None, m));
        if bytes.starts_with(ZIP) || bytes.starts_with(EMPTY_ZIP) {
            // Zip entry names are never compressed, and the `mimetype` entry of an OpenDocument file is
            // stored first and uncompressed (ODF 1.2, part 3, § 3.3): both can be seen in the bytes.
            if contains(bytes, ODS_MIME) {
                return Ok(Self::Ods);
            }
            if contains(bytes, XLSX_WORKBOOK) {
                return Ok(Self::Xlsx);
            }
            if contains(bytes, ODF_MIME) {
                return err("ce document OpenDocument n'est pas un classeur (texte, présentation…) : un classeur ODS, XLSX ou un CSV est attendu".into());
            }
            return match extension.as_str() {
                // Let the spreadsheet reader say what is wrong with it.
                "xlsx" | "xlsm" => Ok(Self::Xlsx),
                "ods" => Ok(Self::Ods),
                _ => err("cette archive zip n'est ni un classeur XLSX ni un classeur ODS".into()),
            };
        }
        if bytes.starts_with(OLE) {
            return err("classeur Excel 97-2003 (.xls) ou classeur protégé par un mot de passe : format non pris en charge ; enregistrez-le sans mot de passe au format .xlsx, .ods ou .csv".into());
        }
        if matches!(extension.as_str(), "xlsx" | "xlsm" | "xls" | "ods") {
            return err(format!(
                "le nom du fichier annonce un classeur (.{extension}) mais son contenu n'en est pas un : fichier abîmé ou renommé ? Enregistrez-le de nouveau depuis le tableur"
            ));
        }
        Ok(Self::Csv)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Csv => "CSV",
            Self::Xlsx => "XLSX",
            Self::Ods => "ODS",
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A column found in the header: its position and its name as the file writes it (trimmed), which
/// error messages show as the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub index: usize,
    pub name: String,
}

/// A row of data, not empty, with its place (`Location::Line` in a CSV, `Location::Row` in a
/// spreadsheet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub place: Location,
    pub cells: Vec<String>,
}

impl Row {
    /// The cell of this column, trimmed; empty when the column is absent or the row is short.
    pub fn get(&self, column: Option<&Column>) -> &str {
        column.and_then(|c| self.cells.get(c.index)).map_or("", String::as_str)
    }
}

/// A table read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub file: String,
    pub format: Format,
    /// The header's cells, trimmed, a byte-order mark removed.
    pub header: Vec<String>,
    /// Where the header is: line 1 of a CSV, its row in a sheet.
    pub header_place: Location,
    pub rows: Vec<Row>,
    /// CSV lines that could not be read (not UTF-8…); a parser lists them with its own errors.
    pub unreadable: Vec<ImportError>,
    /// The sheet's column of the first cell of each row (0 = `A`); 0 for a CSV.
    first_column: usize,
    /// The position of the sheet in its workbook (0 = the first); 0 for a CSV.
    sheet_position: usize,
}

/// Which sheets of a workbook to read.
#[derive(Debug, Clone, Copy)]
enum Sheets<'a> {
    First,
    Named(&'a str),
    All,
}

impl Table {
    /// Reads the header and the rows of a CSV, XLSX or ODS file (of a workbook, its first sheet).
    pub fn read(file: &str, bytes: &[u8]) -> Result<Self, ImportErrors> {
        match Format::detect(file, bytes)? {
            Format::Csv => read_csv(file, bytes),
            format => match read_spreadsheet(file, bytes, format, Sheets::First)?.into_iter().next() {
                Some(table) => Ok(table),
                None => Err(no_sheet(file, format).into()),
            },
        }
    }

    /// Reads the sheet of a workbook named `name`, compared loosely (case, accents, spaces, `-` and `_`:
    /// « indicateurs » finds « Indicateurs »); `None` when the workbook has no such sheet. A CSV is one
    /// table, whatever its name: it is returned for any `name`.
    pub fn read_sheet(file: &str, bytes: &[u8], name: &str) -> Result<Option<Self>, ImportErrors> {
        match Format::detect(file, bytes)? {
            Format::Csv => read_csv(file, bytes).map(Some),
            format => Ok(read_spreadsheet(file, bytes, format, Sheets::Named(name))?.into_iter().next()),
        }
    }

    /// Reads every sheet of a workbook, in the workbook's order (a CSV is one table). A workbook
    /// without any sheet is an error, as for [`Table::read`].
    pub fn read_all(file: &str, bytes: &[u8]) -> Result<Vec<Self>, ImportErrors> {
        match Format::detect(file, bytes)? {
            Format::Csv => read_csv(file, bytes).map(|t| vec![t]),
            format => {
                let tables = read_spreadsheet(file, bytes, format, Sheets::All)?;
                if tables.is_empty() {
                    return Err(no_sheet(file, format).into());
                }
                Ok(tables)
            }
        }
    }

    /// The name of the sheet this table was read from; `None` for a CSV.
    pub fn sheet_name(&self) -> Option<&str> {
        match &self.header_place {
            Location::Row { sheet, .. } | Location::Cell { sheet, .. } => Some(sheet),
            _ => None,
        }
    }

    /// The first of `names` present in the header (compared trimmed and case-insensitively).
    pub fn column(&self, names: &[&str]) -> Option<Column> {
        self.find_column(names, |s| s.trim().to_lowercase())
    }

    /// The first of `names` present in the header, compared loosely ([`header_key`]): « Intitulé »,
    /// « INTITULE » and `intitule` are the same column, « Pilote (organisation) » is
    /// `pilote_organisation`.
    pub fn column_loose(&self, names: &[&str]) -> Option<Column> {
        self.find_column(names, header_key)
    }

    fn find_column(&self, names: &[&str], key: impl Fn(&str) -> String) -> Option<Column> {
        let header: Vec<String> = self.header.iter().map(|h| key(h)).collect();
        names.iter().find_map(|name| {
            let wanted = key(name);
            header
                .iter()
                .position(|h| !h.is_empty() && *h == wanted)
                .map(|index| Column { index, name: self.header[index].clone() })
        })
    }

    /// Checks that each of `required` (a column and the other names it may have) is in the header; the
    /// error, placed at the header, names those missing and lists `known`, the columns the format reads.
    pub fn require(&self, required: &[&[&str]], known: &[&str]) -> Result<(), ImportErrors> {
        self.require_with(required, known, Self::column)
    }

    /// [`Table::require`] with the header compared loosely, as [`Table::column_loose`] does.
    pub fn require_loose(&self, required: &[&[&str]], known: &[&str]) -> Result<(), ImportErrors> {
        self.require_with(required, known, Self::column_loose)
    }

    fn require_with(
        &self,
        required: &[&[&str]],
        known: &[&str],
        column: impl Fn(&Self, &[&str]) -> Option<Column>,
    ) -> Result<(), ImportErrors> {
        if self.header.iter().all(String::is_empty) {
            let what = match self.format {
                Format::Csv => "le fichier est vide : une ligne d'en-tête est attendue".to_owned(),
                _ if self.sheet_position == 0 => {
                    "la première feuille du classeur est vide : une ligne d'en-tête est attendue".to_owned()
                }
                _ => "cette feuille du classeur est vide : une ligne d'en-tête est attendue".to_owned(),
            };
            return Err(ImportError::new(&self.file, self.header_place.clone(), None, what).into());
        }
        let missing: Vec<String> = required
            .iter()
            .filter(|names| column(self, names).is_none())
            .map(|names| match names {
                [one] => (*one).to_owned(),
                [first, others @ ..] => format!("{first} (ou {})", others.join(", ")),
                [] => String::new(),
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(ImportError::new(
            &self.file,
            self.header_place.clone(),
            None,
            format!("colonne(s) manquante(s) : {} (colonnes attendues : {})", missing.join(", "), known.join(",")),
        )
        .into())
    }

    /// Checks that the table has at least one row of data (or an unreadable line, which the parser
    /// reports): an import of a header alone would write nothing but an empty entry in the history.
    pub fn require_data(&self) -> Result<(), ImportErrors> {
        if !self.rows.is_empty() || !self.unreadable.is_empty() {
            return Ok(());
        }
        let what = match self.format {
            Format::Csv => "aucune ligne de données : le fichier n'a que sa ligne d'en-tête, rien n'a été importé",
            _ => "aucune ligne de données : la feuille n'a que sa ligne d'en-tête, rien n'a été importé",
        };
        Err(ImportError::new(&self.file, self.header_place.clone(), None, what).into())
    }

    /// The place of a cell: the row's line in a CSV (the field names the column), the cell in a sheet.
    pub fn cell_place(&self, row: &Row, column: &Column) -> Location {
        match &row.place {
            Location::Row { sheet, row } => Location::Cell {
                sheet: sheet.clone(),
                row: *row,
                column: column_letters(self.first_column + column.index),
            },
            other => other.clone(),
        }
    }

    /// An error about one cell, named by its place and its column's name.
    pub fn cell_error(&self, row: &Row, column: &Column, message: impl Into<String>) -> ImportError {
        ImportError::new(&self.file, self.cell_place(row, column), Some(&column.name), message)
    }

    /// An error about a whole row, or about a field that is not one column.
    pub fn row_error(&self, row: &Row, field: Option<&str>, message: impl Into<String>) -> ImportError {
        ImportError::new(&self.file, row.place.clone(), field, message)
    }
}

/// « ligne N » of a row's place, for a message about another row of the same table.
pub fn line_of(place: &Location) -> String {
    match place {
        Location::Line(n) => format!("ligne {n}"),
        Location::Row { row, .. } | Location::Cell { row, .. } => format!("ligne {row}"),
        other => other.to_string(),
    }
}

/// The letters of a column of a sheet: 0 → `A`, 25 → `Z`, 26 → `AA`.
pub fn column_letters(index: usize) -> String {
    let mut letters = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        let rest = (n - 1) % 26;
        letters.push(char::from(b'A' + u8::try_from(rest).unwrap_or(0)));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// A header as it is compared loosely: [`loose`] (lower case, no accents, `_` `-` `'` `.` as spaces),
/// then anything but letters and digits as a space, spaces collapsed: « Pilote (organisation) » and
/// `pilote_organisation` are both `pilote organisation`, « Prévu (€) » is `prevu`.
pub fn header_key(raw: &str) -> String {
    let spaced: String = loose(raw).chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn no_sheet(file: &str, format: Format) -> ImportError {
    ImportError::new(file, Location::File, None, format!("le classeur {} n'a aucune feuille", format.label()))
}

fn clean_header(raw: &str) -> String {
    raw.trim().trim_start_matches('\u{feff}').trim().to_owned()
}

/// The line a record starts on. The reader places a record after the previous one, before the blank
/// lines it skips: they are counted here.
fn start_line(body: &[u8], position: &csv::Position) -> u64 {
    let start = usize::try_from(position.byte()).unwrap_or(usize::MAX);
    let blank = body.get(start..).unwrap_or_default().iter().take_while(|&&b| b == b'\n' || b == b'\r');
    position.line() + blank.filter(|&&b| b == b'\n').count() as u64
}

fn read_csv(file: &str, bytes: &[u8]) -> Result<Table, ImportErrors> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Some(line) = crate::unclosed_quote(bytes) {
        return Err(crate::unclosed_quote_error(file, line).into());
    }
    let mut reader = crate::csv_reader(bytes);
    let header = match reader.headers() {
        Ok(h) => h.iter().map(clean_header).collect(),
        Err(e) => {
            return Err(ImportError::new(file, Location::Line(1), None, format!("en-tête illisible ({e})")).into());
        }
    };
    let mut unreadable = Vec::new();
    let mut rows = Vec::new();
    for result in reader.records() {
        match result {
            Ok(record) => {
                if record.iter().all(str::is_empty) {
                    continue;
                }
                let line = record.position().map_or(0, |p| start_line(body, p));
                if rows.len() + unreadable.len() >= MAX_ROWS {
                    return Err(too_large(file, Location::Line(line), MAX_ROWS + 1, 0).into());
                }
                rows.push(Row { place: Location::Line(line), cells: record.iter().map(str::to_owned).collect() });
            }
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                if rows.len() + unreadable.len() >= MAX_ROWS {
                    return Err(too_large(file, Location::Line(line), MAX_ROWS + 1, 0).into());
                }
                let message = format!("ligne CSV illisible ({e})");
                unreadable.push(ImportError::new(file, Location::Line(line), None, message));
            }
        }
    }
    Ok(Table {
        file: file.to_owned(),
        format: Format::Csv,
        header,
        header_place: Location::Line(1),
        rows,
        unreadable,
        first_column: 0,
        sheet_position: 0,
    })
}

/// The most rows of data a table may have (per sheet of a workbook, or in a CSV file): well above
/// the largest table read (the communes of France, about 35 000 rows). Reading stops as soon as it is
/// passed, so that a small file declaring millions of rows is refused at once, in little memory.
pub const MAX_ROWS: usize = 100_000;

/// The largest area (rows × columns, from the first used column to the last) of a table; reading
/// stops as soon as it is passed.
pub const MAX_CELLS: usize = 4_000_000;

/// The error of a table larger than the bounds, at the place where reading stopped.
fn too_large(file: &str, place: Location, rows: usize, columns: usize) -> ImportError {
    let message = if rows > MAX_ROWS {
        format!(
            "plus de {} lignes de données : une importation en accepte au plus {} ; lecture arrêtée ici (découpez le fichier)",
            ctg_domain::format::integer(MAX_ROWS as i64),
            ctg_domain::format::integer(MAX_ROWS as i64)
        )
    } else {
        format!(
            "tableau trop grand ({} lignes sur {} colonnes) : une importation accepte au plus {} cellules ; lecture arrêtée ici",
            ctg_domain::format::integer(rows as i64),
            ctg_domain::format::integer(columns as i64),
            ctg_domain::format::integer(MAX_CELLS as i64)
        )
    };
    ImportError::new(file, place, None, message)
}

/// The non-empty cells of a sheet as they are read, within the bounds.
struct SheetCells {
    sheet: Arc<str>,
    /// (row, column, text), in reading order.
    cells: Vec<(u32, u32, String)>,
    rows: usize,
    last_row: Option<u32>,
    columns: Option<(u32, u32)>,
}

impl SheetCells {
    fn new(sheet: Arc<str>) -> Self {
        Self { sheet, cells: Vec::new(), rows: 0, last_row: None, columns: None }
    }

    /// Adds a cell (`row` and `column` from 0); an error once the sheet is larger than the bounds.
    fn push(&mut self, file: &str, row: u32, column: u32, cell: &Data) -> Result<(), ImportError> {
        let text = cell_text(cell);
        if text.is_empty() {
            return Ok(());
        }
        if self.last_row != Some(row) {
            self.rows += 1;
            self.last_row = Some(row);
        }
        let (first, last) = self.columns.map_or((column, column), |(f, l)| (f.min(column), l.max(column)));
        self.columns = Some((first, last));
        let width = (last - first) as usize + 1;
        // The header is not a row of data.
        let data_rows = self.rows.saturating_sub(1);
        if data_rows > MAX_ROWS || self.rows.saturating_mul(width) > MAX_CELLS {
            let place = Location::Row { sheet: self.sheet.clone(), row: row as usize + 1 };
            return Err(too_large(file, place, data_rows, width));
        }
        self.cells.push((row, column, text));
        Ok(())
    }

    /// The table: its first non-empty row is the header.
    fn table(mut self, file: &str, format: Format, sheet_position: usize) -> Table {
        let first_column = self.columns.map_or(0, |(f, _)| f);
        self.cells.sort_by_key(|&(row, column, _)| (row, column));
        let mut lines: Vec<(u32, Vec<String>)> = Vec::new();
        for (row, column, text) in self.cells {
            if lines.last().is_none_or(|(r, _)| *r != row) {
                lines.push((row, Vec::new()));
            }
            let cells = &mut lines.last_mut().expect("pushed above").1;
            let index = (column - first_column) as usize;
            if cells.len() <= index {
                cells.resize(index + 1, String::new());
            }
            cells[index] = text;
        }
        let mut lines = lines.into_iter();
        let sheet = self.sheet;
        let (header, header_place) = match lines.next() {
            Some((row, cells)) => (
                cells.iter().map(|h| clean_header(h)).collect(),
                Location::Row { sheet: sheet.clone(), row: row as usize + 1 },
            ),
            None => (Vec::new(), Location::Row { sheet: sheet.clone(), row: 1 }),
        };
        let rows = lines
            .map(|(row, cells)| Row { place: Location::Row { sheet: sheet.clone(), row: row as usize + 1 }, cells })
            .collect();
        Table {
            file: file.to_owned(),
            format,
            header,
            header_place,
            rows,
            unreadable: Vec::new(),
            first_column: first_column as usize,
            sheet_position,
        }
    }
}

/// Why a workbook could not be read: damaged, or larger than the bounds.
enum Unread {
    Broken(String),
    TooLarge(ImportError),
}

/// The sheets asked of a workbook, each as a table; empty when none is there.
fn read_spreadsheet(file: &str, bytes: &[u8], format: Format, which: Sheets<'_>) -> Result<Vec<Table>, ImportErrors> {
    let kind = format.label();
    let broken = |detail: String| {
        ImportErrors::from(ImportError::new(
            file,
            Location::File,
            None,
            format!(
                "classeur {kind} illisible ({detail}) : fichier abîmé ? Enregistrez-le de nouveau depuis le tableur"
            ),
        ))
    };
    // The readers work on bytes from anywhere: a malformed archive must give an error, never stop the
    // program, even if a reader panics on an input its authors did not foresee.
    let opened = std::panic::catch_unwind(|| match format {
        Format::Ods => ods_sheets(file, bytes, which),
        _ => xlsx_sheets(file, bytes, which),
    });
    match opened {
        Ok(Ok(sheets)) => Ok(sheets.into_iter().map(|(position, cells)| cells.table(file, format, position)).collect()),
        Ok(Err(Unread::Broken(detail))) => Err(broken(detail)),
        Ok(Err(Unread::TooLarge(e))) => Err(e.into()),
        Err(_) => Err(broken("contenu inattendu".into())),
    }
}

/// The position (among the worksheets) and the name of the sheets asked, in the workbook's order.
fn wanted_sheets<R, RS>(workbook: &mut R, which: Sheets<'_>) -> Vec<(usize, String)>
where
    R: Reader<RS>,
    RS: std::io::Read + std::io::Seek,
{
    // Chart and macro sheets hold no table.
    let names: Vec<String> =
        workbook.sheets_metadata().iter().filter(|s| s.typ == SheetType::WorkSheet).map(|s| s.name.clone()).collect();
    match which {
        Sheets::First => names.into_iter().take(1).enumerate().collect(),
        Sheets::All => names.into_iter().enumerate().collect(),
        Sheets::Named(name) => {
            let key = loose(name);
            names.into_iter().enumerate().filter(|(_, n)| loose(n) == key).take(1).collect()
        }
    }
}

/// The sheets of an XLSX workbook, read cell by cell as the file is uncompressed: reading stops as
/// soon as a sheet passes the bounds, whatever the number of rows it declares.
fn xlsx_sheets(file: &str, bytes: &[u8], which: Sheets<'_>) -> Result<Vec<(usize, SheetCells)>, Unread> {
    let mut workbook =
        calamine::open_workbook_from_rs::<Xlsx<_>, _>(Cursor::new(bytes)).map_err(|e| Unread::Broken(e.to_string()))?;
    let mut sheets = Vec::new();
    for (position, name) in wanted_sheets(&mut workbook, which) {
        let mut cells = SheetCells::new(name.as_str().into());
        let mut reader = workbook.worksheet_cells_reader(&name).map_err(|e| Unread::Broken(e.to_string()))?;
        while let Some(cell) = reader.next_cell().map_err(|e| Unread::Broken(e.to_string()))? {
            let (row, column) = cell.get_position();
            let value: Data = cell.get_value().clone().into();
            cells.push(file, row, column, &value).map_err(Unread::TooLarge)?;
        }
        sheets.push((position, cells));
    }
    Ok(sheets)
}

/// The sheets of an ODS workbook, within the same bounds. The reader holds every sheet in memory
/// as soon as the workbook is opened, so the bounds are checked first by [`ods_within_bounds`].
fn ods_sheets(file: &str, bytes: &[u8], which: Sheets<'_>) -> Result<Vec<(usize, SheetCells)>, Unread> {
    ods_within_bounds(file, bytes)?;
    let mut workbook =
        calamine::open_workbook_from_rs::<Ods<_>, _>(Cursor::new(bytes)).map_err(|e| Unread::Broken(e.to_string()))?;
    let mut sheets = Vec::new();
    for (position, name) in wanted_sheets(&mut workbook, which) {
        let range: Range<Data> = workbook.worksheet_range(&name).map_err(|e| Unread::Broken(e.to_string()))?;
        let (top, left) = range.start().unwrap_or((0, 0));
        let mut cells = SheetCells::new(name.as_str().into());
        for (row, column, value) in range.used_cells() {
            cells.push(file, top + row as u32, left + column as u32, value).map_err(Unread::TooLarge)?;
        }
        sheets.push((position, cells));
    }
    Ok(sheets)
}

/// The most bytes of `content.xml` (uncompressed) an ODS workbook may hold: about ten times what a
/// sheet of [`MAX_ROWS`] rows of a dozen cells takes, and a bound on the time spent reading it.
pub const MAX_ODS_CONTENT: u64 = 512 * 1024 * 1024;

/// Counts the rows and the area of every sheet of an ODS workbook by streaming its `content.xml`,
/// in little memory, and stops at the first row past the bounds ([`MAX_ROWS`] rows of data in a
/// sheet, [`MAX_CELLS`] cells over the whole workbook, counted from the first non-empty row and
/// column to the last, repeated rows and columns included, as the reader expands them).
fn ods_within_bounds(file: &str, bytes: &[u8]) -> Result<(), Unread> {
    ods_within(file, bytes, MAX_ODS_CONTENT)
}

/// [`ods_within_bounds`], with the bound on `content.xml` given (a test gives a small one).
fn ods_within(file: &str, bytes: &[u8], max_content: u64) -> Result<(), Unread> {
    use quick_xml::events::Event;
    use std::io::Read;

    let broken = |e: &dyn std::fmt::Display| Unread::Broken(e.to_string());
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| broken(&e))?;
    let content = archive.by_name("content.xml").map_err(|e| broken(&e))?;
    let mut reader = quick_xml::Reader::from_reader(std::io::BufReader::new(content.take(max_content + 1)));
    let mut buf = Vec::new();
    let mut skipped = Vec::new();
    let mut sheet: Option<OdsScan> = None;
    let mut area = 0_usize;
    loop {
        let event = reader.read_event_into(&mut buf);
        if reader.buffer_position() > max_content {
            let message = format!(
                "contenu du classeur trop volumineux (plus de {} Mo une fois décompressé) ; lecture arrêtée ici (découpez le fichier)",
                ctg_domain::format::integer((max_content / (1024 * 1024)) as i64)
            );
            let place = sheet.as_ref().map_or(Location::File, |s| s.place());
            return Err(Unread::TooLarge(ImportError::new(file, place, None, message)));
        }
        match event.map_err(|e| broken(&e))? {
            Event::Eof => return Ok(()),
            Event::Start(e) if e.name().as_ref() == "table:table" => {
                let name = e.try_get_attribute("table:name").ok().flatten().map(|a| a.value.into_owned());
                sheet = Some(OdsScan::new(name.unwrap_or_default()));
            }
            Event::End(e) if e.name().as_ref() == "table:table" => {
                if let Some(done) = sheet.take() {
                    area = area.saturating_add(done.area());
                }
            }
            Event::Start(e) if e.name().as_ref() == "table:table-row" => {
                if let Some(s) = sheet.as_mut() {
                    s.start_row(repeats(&e, "table:number-rows-repeated").map_err(|e| broken(&e))?);
                }
            }
            Event::End(e) if e.name().as_ref() == "table:table-row" => {
                if let Some(s) = sheet.as_mut() {
                    s.end_row();
                    let data_rows = s.rows.saturating_sub(1);
                    let total = area.saturating_add(s.area());
                    if data_rows > MAX_ROWS || total > MAX_CELLS {
                        return Err(Unread::TooLarge(too_large(file, s.place(), data_rows, s.width())));
                    }
                }
            }
            event @ (Event::Start(_) | Event::Empty(_)) => {
                let (e, open) = match &event {
                    Event::Start(e) => (e, true),
                    Event::Empty(e) => (e, false),
                    _ => unreachable!("matched above"),
                };
                let name = e.name();
                if !matches!(name.as_ref(), "table:table-cell" | "table:covered-table-cell") {
                    continue;
                }
                let count = repeats(e, "table:number-columns-repeated").map_err(|e| broken(&e))?;
                // A cell with content (text, a value, a formula) counts; an empty one only moves on.
                let filled = open
                    || e.try_get_attribute("office:value-type").ok().flatten().is_some()
                    || e.try_get_attribute("table:formula").ok().flatten().is_some();
                if let Some(s) = sheet.as_mut() {
                    s.cell(count, filled);
                }
                if open {
                    let end = name.as_ref().to_owned();
                    skipped.clear();
                    reader.read_to_end_into(quick_xml::name::QName(&end), &mut skipped).map_err(|e| broken(&e))?;
                }
            }
            _ => {}
        }
        buf.clear();
    }
}

/// The value of a repetition attribute (1 when absent).
fn repeats(element: &quick_xml::events::BytesStart<'_>, attribute: &str) -> Result<usize, String> {
    match element.try_get_attribute(attribute).map_err(|e| e.to_string())? {
        None => Ok(1),
        Some(a) => a.value.trim().parse().map_err(|_| format!("répétition illisible « {} »", a.value)),
    }
}

/// What [`ods_within_bounds`] counts of one sheet.
struct OdsScan {
    sheet: Arc<str>,
    /// The index (from 0) of the next row, repeated rows included.
    next_row: usize,
    /// Rows with content, repeated rows included.
    rows: usize,
    /// The index of the row with content that passed [`MAX_ROWS`] (the header is not data).
    passing_row: Option<usize>,
    rows_span: Option<(usize, usize)>,
    columns: Option<(usize, usize)>,
    /// The row being read: its repetitions, the index of its next cell, the span of its filled cells.
    row_repeats: usize,
    next_column: usize,
    row_columns: Option<(usize, usize)>,
}

impl OdsScan {
    fn new(sheet: String) -> Self {
        Self {
            sheet: sheet.into(),
            next_row: 0,
            rows: 0,
            passing_row: None,
            rows_span: None,
            columns: None,
            row_repeats: 1,
            next_column: 0,
            row_columns: None,
        }
    }

    fn start_row(&mut self, repeats: usize) {
        self.row_repeats = repeats;
        self.next_column = 0;
        self.row_columns = None;
    }

    fn cell(&mut self, repeats: usize, filled: bool) {
        let last = self.next_column.saturating_add(repeats.max(1) - 1);
        if filled && repeats > 0 {
            self.row_columns = Some(self.row_columns.map_or((self.next_column, last), |(f, l)| (f, l.max(last))));
        }
        self.next_column = self.next_column.saturating_add(repeats);
    }

    fn end_row(&mut self) {
        let first = self.next_row;
        self.next_row = self.next_row.saturating_add(self.row_repeats);
        if let (Some((f, l)), true) = (self.row_columns.take(), self.row_repeats > 0) {
            let limit = MAX_ROWS + 2;
            if self.rows < limit && self.rows.saturating_add(self.row_repeats) >= limit {
                self.passing_row = Some(first + (limit - self.rows) - 1);
            }
            self.rows = self.rows.saturating_add(self.row_repeats);
            let last = self.next_row - 1;
            self.rows_span = Some(self.rows_span.map_or((first, last), |(start, _)| (start, last)));
            self.columns = Some(self.columns.map_or((f, l), |(cf, cl)| (cf.min(f), cl.max(l))));
        }
    }

    fn width(&self) -> usize {
        self.columns.map_or(0, |(f, l)| l - f + 1)
    }

    /// The cells the reader will hold: every row from the first filled to the last, on the width
    /// of the filled columns.
    fn area(&self) -> usize {
        self.rows_span.map_or(0, |(f, l)| (l - f + 1).saturating_mul(self.width()))
    }

    /// Where reading stopped: the row that passed the bound on rows, or the row just read.
    fn place(&self) -> Location {
        let row = self.passing_row.map_or(self.next_row.max(1), |r| r + 1);
        Location::Row { sheet: self.sheet.clone(), row }
    }
}

/// The text of a cell, as the parsers expect it.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f),
        Data::Bool(true) => "VRAI".to_owned(),
        Data::Bool(false) => "FAUX".to_owned(),
        Data::DateTime(d) if d.is_datetime() => {
            let (y, m, day, h, min, s, _) = d.to_ymd_hms_milli();
            if d.as_f64() < 1.0 {
                format!("{h:02}:{min:02}:{s:02}")
            } else if (h, min, s) == (0, 0, 0) {
                format!("{y:04}-{m:02}-{day:02}")
            } else {
                format!("{y:04}-{m:02}-{day:02} {h:02}:{min:02}:{s:02}")
            }
        }
        Data::DateTime(d) => number_text(d.as_f64()),
        Data::DateTimeIso(s) => match s.split_once('T') {
            Some((date, "00:00:00" | "00:00:00.000" | "00:00")) => date.to_owned(),
            Some((date, time)) => format!("{date} {time}"),
            None => s.clone(),
        },
        Data::DurationIso(s) => s.clone(),
        Data::Error(e) => e.to_string(),
    }
}

/// A number as people write it: `42` rather than `42.0`, and rounded to the 15 significant digits a
/// spreadsheet keeps, so that a sum shown `0.3` is not read `0.30000000000000004`.
fn number_text(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let value: f64 = format!("{value:.14e}").parse().unwrap_or(value);
    if value.fract() == 0.0 && value.abs() < 1e15 {
        // An integer below 10^15 converts exactly.
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An XLSX workbook of one sheet named `sheet`, with `rows` written from `top_left` (row, column,
    /// from 0); a cell is a number when it parses as one, a date (`d:AAAA-MM-JJ`), or text.
    pub(crate) fn xlsx(sheet: &str, top_left: (u32, u16), rows: &[&[&str]]) -> Vec<u8> {
        xlsx_book(&[(sheet, top_left, rows)])
    }

    /// A sheet for [`xlsx_book`] or [`ods_book`]: its name, its top left cell (row, column, from 0)
    /// and its rows.
    pub(crate) type TestSheet<'a, C> = (&'a str, (u32, C), &'a [&'a [&'a str]]);

    /// An XLSX workbook of several sheets, each as [`xlsx`] writes one.
    pub(crate) fn xlsx_book(sheets: &[TestSheet<'_, u16>]) -> Vec<u8> {
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let date_format = rust_xlsxwriter::Format::new().set_num_format("dd/mm/yyyy");
        for (sheet, top_left, rows) in sheets {
            let worksheet = workbook.add_worksheet();
            worksheet.set_name(*sheet).unwrap();
            for (r, cells) in rows.iter().enumerate() {
                for (c, &cell) in cells.iter().enumerate() {
                    let (row, col) = (top_left.0 + r as u32, top_left.1 + c as u16);
                    if cell.is_empty() {
                        continue;
                    }
                    if let Some(date) = cell.strip_prefix("d:") {
                        let d = rust_xlsxwriter::ExcelDateTime::parse_from_str(date).unwrap();
                        worksheet.write_datetime_with_format(row, col, &d, &date_format).unwrap();
                    } else if let Ok(n) = cell.parse::<f64>() {
                        worksheet.write_number(row, col, n).unwrap();
                    } else {
                        worksheet.write_string(row, col, cell).unwrap();
                    }
                }
            }
        }
        workbook.save_to_buffer().unwrap()
    }

    /// The same as an ODS workbook.
    pub(crate) fn ods(sheet: &str, top_left: (u32, u32), rows: &[&[&str]]) -> Vec<u8> {
        ods_book(&[(sheet, top_left, rows)])
    }

    /// An ODS workbook of several sheets.
    pub(crate) fn ods_book(sheets: &[TestSheet<'_, u32>]) -> Vec<u8> {
        let mut workbook = spreadsheet_ods::WorkBook::new_empty();
        for (sheet, top_left, rows) in sheets {
            let mut s = spreadsheet_ods::Sheet::new(*sheet);
            for (r, cells) in rows.iter().enumerate() {
                for (c, &cell) in cells.iter().enumerate() {
                    let (row, col) = (top_left.0 + r as u32, top_left.1 + c as u32);
                    if cell.is_empty() {
                        continue;
                    }
                    if let Some(date) = cell.strip_prefix("d:") {
                        let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
                        s.set_value(row, col, d);
                    } else if let Ok(n) = cell.parse::<f64>() {
                        s.set_value(row, col, n);
                    } else {
                        s.set_value(row, col, cell);
                    }
                }
            }
            workbook.push_sheet(s);
        }
        spreadsheet_ods::write_ods_buf(&mut workbook, Vec::new()).unwrap()
    }

    #[test]
    fn a_sheet_is_found_by_its_name_written_loosely() {
        let fiches: &[&[&str]] = &[&["code"], &["PE-1"]];
        let moyens: &[&[&str]] = &[&["Code fiche", "Année"], &["PE-1", "2026"], &["PE-1", "2027"]];
        let empty: &[&[&str]] = &[];
        for (name, bytes) in [
            (
                "p.xlsx",
                xlsx_book(&[("Fiches", (0, 0), fiches), ("Moyens matériels", (1, 0), moyens), ("Vide", (0, 0), empty)]),
            ),
            (
                "p.ods",
                ods_book(&[("Fiches", (0, 0), fiches), ("Moyens matériels", (1, 0), moyens), ("Vide", (0, 0), empty)]),
            ),
        ] {
            let t = Table::read_sheet(name, &bytes, " MOYENS_materiels").unwrap().unwrap();
            assert_eq!(t.sheet_name(), Some("Moyens matériels"), "{name}");
            assert_eq!(t.header, ["Code fiche", "Année"], "{name}");
            assert_eq!(t.rows[1].place, Location::Row { sheet: "Moyens matériels".into(), row: 4 }, "{name}");
            let annee = t.column_loose(&["annee"]).unwrap();
            assert_eq!(annee, Column { index: 1, name: "Année".into() }, "{name}");
            assert_eq!(t.column_loose(&["code_fiche"]).map(|c| c.index), Some(0), "{name}");
            assert_eq!(t.column(&["annee"]), None, "the strict lookup keeps its rule ({name})");
            assert_eq!(
                t.cell_error(&t.rows[1], &annee, "x").to_string(),
                format!("{name}, feuille « Moyens matériels », ligne 4, colonne B, champ « Année » : x")
            );
            assert_eq!(Table::read_sheet(name, &bytes, "Indicateurs").unwrap(), None, "{name}");
            let all = Table::read_all(name, &bytes).unwrap();
            let names: Vec<Option<&str>> = all.iter().map(Table::sheet_name).collect();
            assert_eq!(names, [Some("Fiches"), Some("Moyens matériels"), Some("Vide")], "{name}");
            // An empty sheet other than the first is named as such.
            let e = all[2].require(&[&["code"]], &["code"]).unwrap_err().to_string();
            assert!(e.contains("feuille « Vide », ligne 1 : cette feuille du classeur est vide"), "{e}");
        }
        // A CSV is one table, whatever the sheet asked.
        let t = Table::read_sheet("p.csv", b"code\nPE-1\n", "Moyens").unwrap().unwrap();
        assert_eq!((t.sheet_name(), t.rows.len()), (None, 1));
        assert_eq!(Table::read_all("p.csv", b"code\nPE-1\n").unwrap().len(), 1);
    }

    #[test]
    fn headers_compared_loosely() {
        assert_eq!(header_key("Pilote (organisation)"), "pilote organisation");
        assert_eq!(header_key("pilote_organisation"), "pilote organisation");
        assert_eq!(header_key(" Prévu (€) "), "prevu");
        assert_eq!(header_key("ÉCHELLE"), "echelle");
        assert_eq!(header_key("Date de début :"), "date de debut");
    }

    #[test]
    fn formats_are_told_by_content_and_the_extension_is_a_hint() {
        let x = xlsx("Feuille1", (0, 0), &[&["a"]]);
        let o = ods("Feuille1", (0, 0), &[&["a"]]);
        assert_eq!(Format::detect("t.xlsx", &x), Ok(Format::Xlsx));
        assert_eq!(Format::detect("t.csv", &x), Ok(Format::Xlsx), "the content wins over the name");
        assert_eq!(Format::detect("t.xlsx", &o), Ok(Format::Ods));
        assert_eq!(Format::detect("t", b"a,b\n1,2\n"), Ok(Format::Csv));
        let renamed = Format::detect("t.xlsx", b"a;b\n1;2\n").unwrap_err().to_string();
        assert!(renamed.starts_with("t.xlsx : le nom du fichier annonce un classeur (.xlsx)"), "{renamed}");
        let xls = Format::detect("t.xls", b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0").unwrap_err().to_string();
        assert!(xls.contains("Excel 97-2003"), "{xls}");
        let other_zip = Format::detect("t.zip", b"PK\x03\x04\x14\0\0\0word/document.xml").unwrap_err().to_string();
        assert!(other_zip.contains("ni un classeur XLSX ni un classeur ODS"), "{other_zip}");
    }

    #[test]
    fn a_sheet_keeps_its_places_numbers_and_dates() {
        // The table starts at B3: rows and columns are those the spreadsheet shows.
        let rows: &[&[&str]] = &[
            &["\u{feff} Code ", "Valeur", "Date", "Texte"],
            &["62119", "18.6", "d:2025-06-30", "  Béthune "],
            &["", "", "", ""],
            &["62178", "1075", "d:2024-01-01", "0.30000000000000004"],
        ];
        for (name, bytes) in [("t.xlsx", xlsx("Données", (2, 1), rows)), ("t.ods", ods("Données", (2, 1), rows))] {
            let t = Table::read(name, &bytes).unwrap();
            assert_eq!(t.header, ["Code", "Valeur", "Date", "Texte"], "{name}");
            assert_eq!(t.header_place, Location::Row { sheet: "Données".into(), row: 3 }, "{name}");
            assert_eq!(t.rows.len(), 2, "the empty row is skipped ({name})");
            assert_eq!(t.rows[0].cells, ["62119", "18.6", "2025-06-30", "Béthune"], "{name}");
            // 0.30000000000000004 was written as a number: the 15 digits a spreadsheet keeps read 0.3.
            assert_eq!(t.rows[1].cells, ["62178", "1075", "2024-01-01", "0.3"], "{name}");
            assert_eq!(t.rows[1].place, Location::Row { sheet: "Données".into(), row: 6 }, "{name}");
            let valeur = t.column(&["VALEUR"]).unwrap();
            assert_eq!(valeur, Column { index: 1, name: "Valeur".into() });
            let e = t.cell_error(&t.rows[1], &valeur, "faux").to_string();
            assert_eq!(e, format!("{name}, feuille « Données », ligne 6, colonne C, champ « Valeur » : faux"));
        }
    }

    #[test]
    fn csv_keeps_its_lines_separators_and_header_rules() {
        let t = Table::read("t.csv", "\u{feff} Code ;NOM\n\n62119;Béthune\n;\n62178 ; Bruay\n".as_bytes()).unwrap();
        assert_eq!(t.header, ["Code", "NOM"]);
        assert_eq!(t.column(&["nom"]).map(|c| c.index), Some(1));
        assert_eq!(t.rows.iter().map(|r| r.place.clone()).collect::<Vec<_>>(), [Location::Line(3), Location::Line(5)]);
        assert_eq!(t.rows[1].cells, ["62178", "Bruay"]);
        let code = t.column(&["code"]).unwrap();
        assert_eq!(t.cell_error(&t.rows[1], &code, "x").to_string(), "t.csv, ligne 5, champ « Code » : x");
        let missing = t.require(&[&["code"], &["type", "EQUIP_TYPE"]], &["code", "type"]).unwrap_err().to_string();
        assert!(missing.contains("t.csv, ligne 1 : colonne(s) manquante(s) : type (ou EQUIP_TYPE)"), "{missing}");
        let empty = Table::read("vide.csv", b"").unwrap().require(&[&["code"]], &["code"]).unwrap_err().to_string();
        assert!(empty.contains("vide.csv, ligne 1 : le fichier est vide"), "{empty}");
        // A line in Windows-1252 is not UTF-8: it is set aside, with its line, and the others are read.
        let t = Table::read("t.csv", b"code,nom\n62119,B\xe9thune\n62178,Bruay\n").unwrap();
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.unreadable.len(), 1);
        assert!(t.unreadable[0].to_string().starts_with("t.csv, ligne 2 : ligne CSV illisible"), "{:?}", t.unreadable);
    }

    #[test]
    fn columns_are_lettered_as_spreadsheets_do() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(27), "AB");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }

    #[test]
    fn a_damaged_spreadsheet_is_an_error_never_a_panic() {
        for (name, good) in
            [("t.xlsx", xlsx("F", (0, 0), &[&["a", "b"], &["1", "2"]])), ("t.ods", ods("F", (0, 0), &[&["a"], &["1"]]))]
        {
            let cut = Table::read(name, &good[..good.len() / 2]).unwrap_err().to_string();
            assert!(cut.contains(&format!("{name} : classeur")) && cut.contains("illisible"), "{cut}");
            // Flip bytes all along the file: each read gives a table or an error, and never panics.
            for i in (0..good.len()).step_by(37) {
                let mut bad = good.clone();
                bad[i] ^= 0x5A;
                let _ = Table::read(name, &bad);
            }
        }
    }

    #[test]
    fn reading_stops_past_the_bounds() {
        // One column of MAX_ROWS + 2 rows after the header: refused at the row that passes the bound.
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.set_name("Fiches").unwrap();
        sheet.write_string(0, 0, "code").unwrap();
        for r in 1..=(MAX_ROWS as u32 + 2) {
            sheet.write_number(r, 0, f64::from(r)).unwrap();
        }
        let bytes = workbook.save_to_buffer().unwrap();
        let e = Table::read_all("bombe.xlsx", &bytes).unwrap_err();
        assert_eq!(e.0.len(), 1);
        let e = e.0[0].to_string();
        let passed = MAX_ROWS + 2;
        assert!(e.starts_with(&format!("bombe.xlsx, feuille « Fiches », ligne {passed} : plus de 100")), "{e}");
        // Exactly MAX_ROWS rows of data are read.
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        for r in 0..=(MAX_ROWS as u32) {
            sheet.write_number(r, 0, f64::from(r)).unwrap();
        }
        assert_eq!(Table::read("t.xlsx", &workbook.save_to_buffer().unwrap()).unwrap().rows.len(), MAX_ROWS);
        // A wide table is bounded too: two columns far apart make a large area.
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        for r in 0..300 {
            sheet.write_number(r, 0, 1.0).unwrap();
            sheet.write_number(r, 16_000, 1.0).unwrap();
        }
        let e = Table::read("large.xlsx", &workbook.save_to_buffer().unwrap()).unwrap_err().to_string();
        assert!(e.contains("tableau trop grand"), "{e}");
        // A CSV as well.
        let mut csv = String::from("code\n");
        for i in 0..=MAX_ROWS {
            csv.push_str(&format!("{i}\n"));
        }
        let e = Table::read("t.csv", csv.as_bytes()).unwrap_err().to_string();
        assert!(e.contains(&format!("t.csv, ligne {} : plus de 100", MAX_ROWS + 2)), "{e}");
    }

    /// An ODS workbook written by hand: `rows` is the XML of the rows of one sheet « Fiches ».
    fn raw_ods(rows: &str) -> Vec<u8> {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        zip.start_file("mimetype", stored).unwrap();
        zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet").unwrap();
        zip.start_file("META-INF/manifest.xml", zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#).unwrap();
        zip.start_file("content.xml", zip::write::SimpleFileOptions::default()).unwrap();
        write!(
            zip,
            r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet><table:table table:name="Fiches">{rows}</table:table></office:spreadsheet></office:body></office:document-content>"#
        )
        .unwrap();
        zip.finish().unwrap().into_inner()
    }

    fn text_cell(text: &str) -> String {
        format!(r#"<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>"#)
    }

    #[test]
    fn an_ods_workbook_is_measured_before_it_is_loaded() {
        // Issue 11, point 4: the ODS reader holds every sheet in memory when the workbook is opened;
        // a row repeated four million times (a file of a few hundred bytes) is refused at the row
        // that passes the bound, before any is loaded.
        let header = format!("<table:table-row>{}</table:table-row>", text_cell("code"));
        let bomb = raw_ods(&format!(
            r#"{header}<table:table-row table:number-rows-repeated="4000000">{}</table:table-row>"#,
            text_cell("PE")
        ));
        assert!(bomb.len() < 2_000, "{} octets", bomb.len());
        assert!(
            matches!(ods_within_bounds("bombe.ods", &bomb), Err(Unread::TooLarge(_))),
            "refusé avant le chargement"
        );
        let e = Table::read("bombe.ods", &bomb).unwrap_err().0[0].to_string();
        assert!(e.starts_with(&format!("bombe.ods, feuille « Fiches », ligne {} : plus de 100", MAX_ROWS + 2)), "{e}");
        // Rows written one by one are stopped at the same row.
        let row = format!("<table:table-row>{}</table:table-row>", text_cell("PE"));
        let many = raw_ods(&format!("{header}{}", row.repeat(MAX_ROWS + 5)));
        let e = Table::read("bombe.ods", &many).unwrap_err().0[0].to_string();
        assert!(e.starts_with(&format!("bombe.ods, feuille « Fiches », ligne {} : plus de 100", MAX_ROWS + 2)), "{e}");
        // A wide sheet: two filled columns 16 000 apart on 300 rows.
        let wide_row = format!(
            r#"<table:table-row>{}<table:table-cell table:number-columns-repeated="15999"/>{}</table:table-row>"#,
            text_cell("a"),
            text_cell("b")
        );
        let e = Table::read("large.ods", &raw_ods(&wide_row.repeat(300))).unwrap_err().to_string();
        assert!(e.contains("tableau trop grand"), "{e}");
        // What a spreadsheet writes at the end of every sheet (empty rows and columns repeated up to
        // the sheet's edge) is not content: such a sheet is read.
        let edges = format!(
            r#"{header}<table:table-row>{}<table:table-cell table:number-columns-repeated="16383"/></table:table-row><table:table-row table:number-rows-repeated="1048573"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>"#,
            text_cell("PE")
        );
        let table = Table::read("t.ods", &raw_ods(&edges)).unwrap();
        assert_eq!((table.header.len(), table.rows.len()), (1, 1));
        assert_eq!(table.rows[0].cells, vec!["PE".to_owned()]);
        // A content that swells once uncompressed is refused past its bound.
        let padded = raw_ods(&format!("{header}{}", " ".repeat(3 * 1024 * 1024)));
        match ods_within("gonfle.ods", &padded, 2 * 1024 * 1024) {
            Err(Unread::TooLarge(e)) => assert!(e.to_string().contains("trop volumineux (plus de 2 Mo"), "{e}"),
            _ => panic!("un contenu de plus de 2 Mo passe la borne de 2 Mo"),
        }
        assert!(ods_within("t.ods", &padded, 4 * 1024 * 1024).is_ok());
    }
}
