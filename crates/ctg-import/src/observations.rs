//! Observations of the diagnostic from a CSV, XLSX or ODS file (see [`crate::tabular`]), with the
//! columns `indicateur,type_territoire,code_territoire,periode,valeur,source,date_donnees`.
//!
//! `indicateur` is a code of the catalogue (`ctg_domain::diagnostic::INDICATORS`); `type_territoire` is
//! `commune`, `epci`, `departement` or `france`; `periode` is `AAAA`, `AAAA-MM` or `AAAA-AAAA`;
//! `valeur` accepts a decimal comma and spaces between thousands; `date_donnees` (optional) is the
//! date of the data (`AAAA-MM-JJ` or `JJ/MM/AAAA`, or a date cell of a spreadsheet). In a CSV, the
//! separator is the comma, or the semicolon when the header uses it; a UTF-8 byte-order mark is
//! accepted. Every problem is listed by line (and, in a spreadsheet, sheet and column) and field, and
//! nothing is written while there is one.

use std::collections::HashMap;

use ctg_domain::diagnostic::{indicator, Area, Observation};
use ctg_domain::parse;

use crate::tabular::Table;
use crate::{ImportErrors, Location};

pub const COLUMNS: [&str; 7] =
    ["indicateur", "type_territoire", "code_territoire", "periode", "valeur", "source", "date_donnees"];

pub fn parse(file: &str, bytes: &[u8]) -> Result<Vec<Observation>, ImportErrors> {
    let table = Table::read(file, bytes)?;
    let required: Vec<&[&str]> = COLUMNS[..6].iter().map(std::slice::from_ref).collect();
    table.require(&required, &COLUMNS)?;
    table.require_data()?;
    let [indicateur, type_territoire, code_territoire, periode, valeur, source, date_donnees] =
        COLUMNS.map(|c| table.column(&[c]));
    let mut rows = Vec::new();
    let mut errors = table.unreadable.clone();
    let mut seen: HashMap<(String, Area, String), Location> = HashMap::new();
    for row in &table.rows {
        let mut err = |column: &Option<crate::tabular::Column>, message: String| {
            if let Some(column) = column {
                errors.push(table.cell_error(row, column, message));
            }
        };
        let code = row.get(indicateur.as_ref());
        let def = indicator(code);
        if def.is_none() {
            err(&indicateur, format!("indicateur inconnu « {code} » (voir docs/FORMATS.md pour la liste)"));
        }
        let area = match Area::parse(row.get(type_territoire.as_ref()), row.get(code_territoire.as_ref())) {
            Ok(a) => Some(a),
            Err(e) => {
                let column = if e.field == "type_territoire" { &type_territoire } else { &code_territoire };
                err(column, e.message);
                None
            }
        };
        let period = parse::period("periode", row.get(periode.as_ref()))
            .map(|p| p.to_string())
            .map_err(|e| err(&periode, e.message))
            .ok();
        let raw = row.get(valeur.as_ref());
        let cleaned: String = raw.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
        let value = match cleaned.replace(',', ".").parse::<f64>() {
            Ok(v) if v.is_finite() => match ctg_domain::text::number("valeur", v) {
                Ok(v) => Some(v),
                Err(message) => {
                    err(&valeur, message);
                    None
                }
            },
            _ => {
                err(&valeur, format!("« {raw} » n'est pas un nombre"));
                None
            }
        };
        let source_text =
            ctg_domain::text::clean("source", row.get(source.as_ref()), ctg_domain::text::TextKind::Title)
                .unwrap_or_else(|message| {
                    err(&source, message);
                    String::new()
                });
        if source_text.is_empty() && row.get(source.as_ref()).is_empty() {
            err(&source, "la source est obligatoire (par exemple : Insee, recensement 2021)".into());
        }
        let data_date = parse::spreadsheet_date("date_donnees", row.get(date_donnees.as_ref()))
            .map_err(|e| err(&date_donnees, e.message))
            .ok();
        let (Some(def), Some(area), Some(period), Some(value), Some(data_date), false) =
            (def, area, period, value, data_date, source_text.is_empty())
        else {
            continue;
        };
        if let Some(first) = seen.insert((def.code.to_owned(), area.clone(), period.clone()), row.place.clone()) {
            err(&periode, format!("cette observation figure déjà à la {}", crate::tabular::line_of(&first)));
            continue;
        }
        rows.push(Observation { indicator: def.code.to_owned(), area, period, value, source: source_text, data_date });
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(ImportErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    const HEADER: &str = "indicateur,type_territoire,code_territoire,periode,valeur,source,date_donnees\n";

    #[test]
    fn good_rows_with_french_decimals() {
        let csv = format!("{HEADER}taux_pauvrete,epci,200072460,2021,\"18,6\",Insee Filosofi,\nassistants_maternels,epci,200072460,2025,1 075,CAF,2025-06-30\n");
        let rows = parse("d.csv", csv.as_bytes()).unwrap();
        assert_eq!(rows[0].value, 18.6);
        assert_eq!(rows[1].value, 1075.0);
        assert_eq!(rows[1].data_date, NaiveDate::from_ymd_opt(2025, 6, 30));
    }

    #[test]
    fn every_problem_by_line_and_column() {
        let csv = format!("{HEADER}inconnu,epci,200072460,2021,1,Insee,\ntaux_pauvrete,region,32,2021,1,Insee,\ntaux_pauvrete,departement,62,21,abc,,31/02/2021\ntaux_pauvrete,departement,62,2021,17.8,Insee,\ntaux_pauvrete,departement,62,2021,17.9,Insee,\n");
        let e: Vec<String> = parse("d.csv", csv.as_bytes()).unwrap_err().0.iter().map(ToString::to_string).collect();
        assert!(e[0].starts_with("d.csv, ligne 2, champ « indicateur » : indicateur inconnu « inconnu »"), "{e:?}");
        assert!(e[1].starts_with("d.csv, ligne 3, champ « type_territoire »"), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("d.csv, ligne 4, champ « periode »")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("d.csv, ligne 4, champ « valeur »")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("d.csv, ligne 4, champ « source »")), "{e:?}");
        assert!(e.iter().any(|m| m.starts_with("d.csv, ligne 4, champ « date_donnees »")), "{e:?}");
        assert!(e.last().unwrap().contains("ligne 6") && e.last().unwrap().contains("ligne 5"), "{e:?}");
    }

    #[test]
    fn values_are_finite_numbers_within_bounds_and_sources_clean_titles() {
        // Issue 11, point 3: `1e308` was accepted and drawn as `y="inf"` in a chart.
        let csv = format!(
            "{HEADER}taux_pauvrete,epci,200072460,2021,1e308,Insee,\ntaux_pauvrete,epci,200072460,2022,-2e12,Insee,\ntaux_pauvrete,epci,200072460,2023,1,\"Insee\u{1b}[31m\",\n"
        );
        let e: Vec<String> = parse("d.csv", csv.as_bytes()).unwrap_err().0.iter().map(ToString::to_string).collect();
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(
            e[0].starts_with("d.csv, ligne 2, champ « valeur » : le champ « valeur » doit être un nombre fini"),
            "{e:?}"
        );
        assert!(e[1].starts_with("d.csv, ligne 3, champ « valeur »"), "{e:?}");
        assert!(
            e[2].starts_with(
                "d.csv, ligne 4, champ « source » : le champ « source » contient un caractère de contrôle"
            ),
            "{e:?}"
        );
        // The store refuses what another way in would bring.
        let o = Observation {
            indicator: "taux_pauvrete".into(),
            area: Area::parse("epci", "200072460").unwrap(),
            period: "2021".into(),
            value: f64::MAX,
            source: "Insee".into(),
            data_date: None,
        };
        assert!(o.check().unwrap_err().contains("nombre fini"));
        assert!(Observation { value: 18.6, ..o }.check().is_ok());
    }

    const SHEET: &[&[&str]] = &[
        &["Indicateur", "type_territoire", "code_territoire", "periode", "valeur", "source", "date_donnees"],
        &["taux_pauvrete", "epci", "200072460", "2021", "18.6", "Insee Filosofi", ""],
        &["assistants_maternels", "epci", "200072460", "2025", "1075", "CAF", "d:2025-06-30"],
    ];

    #[test]
    fn the_same_rows_from_xlsx_and_ods() {
        let xlsx = crate::tabular::tests::xlsx("Feuille1", (0, 0), SHEET);
        let ods = crate::tabular::tests::ods("Feuille1", (0, 0), SHEET);
        for (name, bytes) in [("d.xlsx", xlsx), ("d.ods", ods)] {
            let rows = parse(name, &bytes).unwrap();
            assert_eq!(rows.len(), 2, "{name}");
            assert_eq!((rows[0].value, rows[0].data_date), (18.6, None), "{name}");
            assert_eq!(rows[1].indicator, "assistants_maternels", "{name}");
            assert_eq!((rows[1].value, rows[1].data_date), (1075.0, NaiveDate::from_ymd_opt(2025, 6, 30)), "{name}");
        }
    }

    #[test]
    fn a_bad_spreadsheet_names_sheet_row_and_column() {
        let mut sheet = SHEET.to_vec();
        sheet.push(&["taux_pauvrete", "departement", "62", "2021", "beaucoup", "Insee", ""]);
        sheet.push(&["taux_pauvrete", "epci", "200072460", "2021", "18,7", "Insee", ""]);
        let xlsx = crate::tabular::tests::xlsx("Données 2025", (0, 0), &sheet);
        let ods = crate::tabular::tests::ods("Données 2025", (0, 0), &sheet);
        for (name, bytes) in [("d.xlsx", xlsx), ("d.ods", ods)] {
            let e: Vec<String> = parse(name, &bytes).unwrap_err().0.iter().map(ToString::to_string).collect();
            assert_eq!(
                e,
                [
                    format!("{name}, feuille « Données 2025 », ligne 4, colonne E, champ « valeur » : « beaucoup » n'est pas un nombre"),
                    format!("{name}, feuille « Données 2025 », ligne 5, colonne D, champ « periode » : cette observation figure déjà à la ligne 2"),
                ]
            );
        }
        let no_source = crate::tabular::tests::xlsx("F", (0, 0), &[&SHEET[0][..5], &SHEET[1][..5]]);
        let e = parse("d.xlsx", &no_source).unwrap_err().to_string();
        assert!(e.contains("d.xlsx, feuille « F », ligne 1 : colonne(s) manquante(s) : source"), "{e}");
    }
}
