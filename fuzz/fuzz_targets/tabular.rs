//! The one reader of tables: CSV, XLSX, ODS.
//!
//! Input: one byte choosing the file's name (its extension), then the file.
#![no_main]

use ctg_import::tabular::{self, Format, Table};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 5] = ["table.csv", "table.xlsx", "table.ods", "table", "table.txt"];

fn exercise(table: &Table) {
    let _ = table.sheet_name();
    let code = table.column(&["code", "code_insee"]);
    let loose = table.column_loose(&["Libellé", "nom"]);
    let _ = table.require(&[&["code"]], &["code", "nom"]);
    let _ = table.require_loose(&[&["code"], &["nom", "libelle"]], &["code", "nom"]);
    for row in &table.rows {
        let _ = row.get(code.as_ref());
        let _ = row.get(loose.as_ref());
        if let Some(c) = &code {
            let place = table.cell_place(row, c);
            let _ = tabular::line_of(&place);
            let _ = table.cell_error(row, c, "erreur").to_string();
        }
        let _ = table.row_error(row, Some("code"), "erreur").to_string();
    }
    for h in &table.header {
        let _ = tabular::header_key(h);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else { return };
    let name = NAMES[usize::from(first) % NAMES.len()];
    if let Ok(format) = Format::detect(name, bytes) {
        let _ = format.label();
    }
    if let Ok(table) = Table::read(name, bytes) {
        exercise(&table);
    }
    if let Ok(tables) = Table::read_all(name, bytes) {
        for t in &tables {
            exercise(t);
        }
    }
    if let Ok(Some(table)) = Table::read_sheet(name, bytes, "Moyens") {
        exercise(&table);
    }
    let _ = tabular::column_letters(usize::from(first) * 1000 + bytes.len());
});
