//! Legal populations by vintage from CSV, with the columns of the convention's annex:
//! `code_insee,nom,millesime,population_municipale,population_comptee_a_part,population_totale`.
//!
//! An empty cell is an unknown figure, never zero. The separator is the comma, or the semicolon when
//! the header line uses it (as spreadsheets set to French do). A UTF-8 byte-order mark is accepted.
//! `nom` is informative; the other columns are required.

use std::collections::HashMap;

use ctg_domain::{Population, PopulationRecord, Vintage};

use crate::{ImportError, ImportErrors, Location};

pub const COLUMNS: [&str; 6] =
    ["code_insee", "nom", "millesime", "population_municipale", "population_comptee_a_part", "population_totale"];

/// A parsed row and the line it came from, so that later checks (an unknown commune) can name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopulationRow {
    pub line: u64,
    pub record: PopulationRecord,
}

pub fn parse(file: &str, bytes: &[u8]) -> Result<Vec<PopulationRow>, ImportErrors> {
    let (mut reader, index) = crate::open_csv(file, bytes, &COLUMNS, &["nom"])?;
    let col = |name: &str| index[name];

    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<(String, i32), u64> = HashMap::new();
    for result in reader.records() {
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(ImportError::new(file, Location::Line(line), None, format!("ligne CSV illisible ({e})")));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let mut err = |field: &str, message: String| {
            errors.push(ImportError::new(file, Location::Line(line), Some(field), message));
        };
        let cell = |name: &str| record.get(col(name)).unwrap_or("");
        if record.iter().all(str::is_empty) {
            continue;
        }
        // A CSV saved by a spreadsheet has lost the leading zero of codes (`1053` for `01053`).
        let code = match ctg_domain::parse::insee_code("code_insee", cell("code_insee")) {
            Ok(c) => Some(c),
            Err(e) => {
                err(&e.field, e.message);
                None
            }
        };
        let vintage = match Vintage::parse(cell("millesime")) {
            Ok(v) => Some(v),
            Err(e) => {
                err("millesime", e.to_string());
                None
            }
        };
        let mut figure = |name: &'static str| -> Result<Option<i64>, ()> {
            let raw = cell(name);
            if raw.is_empty() {
                return Ok(None);
            }
            let cleaned: String = raw.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
            match cleaned.parse::<i64>() {
                Ok(v) if v >= 0 => Ok(Some(v)),
                _ => {
                    err(name, format!("« {raw} » n'est pas un entier positif ou nul"));
                    Err(())
                }
            }
        };
        let (m, c, t) =
            (figure("population_municipale"), figure("population_comptee_a_part"), figure("population_totale"));
        let (Some(code), Some(vintage), Ok(m), Ok(c), Ok(t)) = (code, vintage, m, c, t) else {
            continue;
        };
        let population = match Population::new(m, c, t) {
            Ok(p) => p,
            Err(e) => {
                err("population_totale", e.to_string());
                continue;
            }
        };
        if population.is_empty() {
            err("population_totale", "aucune population n'est donnée".into());
            continue;
        }
        if let Some(first) = seen.insert((code.to_string(), vintage.year()), line) {
            err(
                "code_insee",
                format!("la commune {code} a déjà une ligne pour le millésime {vintage} (ligne {first})"),
            );
            continue;
        }
        rows.push(PopulationRow { line, record: PopulationRecord { commune: code, vintage, population } });
    }
    if errors.is_empty() && rows.is_empty() {
        let message = "aucune ligne de données : le fichier n'a que sa ligne d'en-tête, rien n'a été importé";
        return Err(ImportError::new(file, Location::Line(1), None, message).into());
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(ImportErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "code_insee,nom,millesime,population_municipale,population_comptee_a_part,population_totale\n";

    #[test]
    fn empty_cells_are_unknown_not_zero() {
        let csv = format!("{HEADER}62023,Allouagne,2021,2852,36,2888\n62023,Allouagne,2020,,,2902\n");
        let rows = parse("p.csv", csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].line, 3);
        let p = rows[1].record.population;
        assert_eq!((p.municipal, p.counted_apart, p.total), (None, None, Some(2902)));
    }

    #[test]
    fn a_code_that_lost_its_leading_zero_gets_it_back() {
        let csv = format!("{HEADER}1053,Bourg-en-Bresse,2021,41365,1037,42402\n");
        let rows = parse("p.csv", csv.as_bytes()).unwrap();
        assert_eq!(rows[0].record.commune.as_str(), "01053");
    }

    #[test]
    fn semicolons_and_byte_order_mark() {
        let csv = format!("\u{feff}{}62023;Allouagne;2021;2 852;36;2 888\n", HEADER.replace(',', ";"));
        let rows = parse("p.csv", csv.as_bytes()).unwrap();
        assert_eq!(rows[0].record.population.total, Some(2888));
    }

    #[test]
    fn errors_name_line_and_column() {
        let csv = format!("{HEADER}62023,Allouagne,2021,2852,36,2888\n620,X,2021,1,0,1\n62028,Ames,2021,abc,8,651\n62029,Amettes,2021,464,2,467\n62023,Allouagne,2021,2852,36,2888\n");
        let e: Vec<String> = parse("p.csv", csv.as_bytes()).unwrap_err().0.iter().map(ToString::to_string).collect();
        assert_eq!(e.len(), 4, "{e:?}");
        assert!(e[0].starts_with("p.csv, ligne 3, champ « code_insee » : code INSEE « 620 » invalide"), "{e:?}");
        assert_eq!(
            e[1],
            "p.csv, ligne 4, champ « population_municipale » : « abc » n'est pas un entier positif ou nul"
        );
        assert!(e[2].starts_with("p.csv, ligne 5, champ « population_totale »"), "{e:?}");
        assert!(e[3].contains("ligne 6") && e[3].contains("(ligne 2)"), "{e:?}");
    }

    #[test]
    fn missing_columns_are_listed() {
        let e = parse("p.csv", b"code_insee,nom,annee\n62023,A,2021\n").unwrap_err().to_string();
        assert!(e.contains("p.csv, ligne 1 : colonne(s) manquante(s) : millesime, population_municipale"), "{e}");
    }
}
