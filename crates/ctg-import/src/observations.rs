//! Observations of the diagnostic from CSV, with the columns
//! `indicateur,type_territoire,code_territoire,periode,valeur,source,date_donnees`.
//!
//! `indicateur` is a code of the catalogue (`ctg_domain::diagnostic::INDICATORS`); `type_territoire` is
//! `commune`, `epci`, `departement` or `france`; `periode` is `AAAA`, `AAAA-MM` or `AAAA-AAAA`;
//! `valeur` accepts a decimal comma and spaces between thousands; `date_donnees` (optional) is the
//! date of the data (`AAAA-MM-JJ` or `JJ/MM/AAAA`). The separator is the comma, or the semicolon
//! when the header uses it; a UTF-8 byte-order mark is accepted. Every problem is listed by line and
//! column, and nothing is written while there is one.

use std::collections::HashMap;

use chrono::NaiveDate;
use ctg_domain::diagnostic::{check_period_label, indicator, Area, Observation};

use crate::{ImportError, ImportErrors, Location};

pub const COLUMNS: [&str; 7] =
    ["indicateur", "type_territoire", "code_territoire", "periode", "valeur", "source", "date_donnees"];

pub fn parse(file: &str, bytes: &[u8]) -> Result<Vec<Observation>, ImportErrors> {
    let (mut reader, index) = crate::open_csv(file, bytes, &COLUMNS, &["date_donnees"])?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<(String, Area, String), u64> = HashMap::new();
    for result in reader.records() {
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(ImportError::new(file, Location::Line(line), None, format!("ligne CSV illisible ({e})")));
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line());
        let cell = |name: &str| index.get(name).and_then(|&i| record.get(i)).unwrap_or("");
        let mut err = |field: &str, message: String| {
            errors.push(ImportError::new(file, Location::Line(line), Some(field), message));
        };
        let code = cell("indicateur");
        let def = indicator(code);
        if def.is_none() {
            err("indicateur", format!("indicateur inconnu « {code} » (voir docs/FORMATS.md pour la liste)"));
        }
        let area = match Area::parse(cell("type_territoire"), cell("code_territoire")) {
            Ok(a) => Some(a),
            Err(m) => {
                let field = if m.contains("type de territoire") { "type_territoire" } else { "code_territoire" };
                err(field, m);
                None
            }
        };
        let period = check_period_label(cell("periode")).map_err(|m| err("periode", m)).ok();
        let raw = cell("valeur");
        let cleaned: String = raw.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
        let value = match cleaned.replace(',', ".").parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                err("valeur", format!("« {raw} » n'est pas un nombre"));
                None
            }
        };
        let source = cell("source");
        if source.is_empty() {
            err("source", "la source est obligatoire (par exemple : Insee, recensement 2021)".into());
        }
        let date_raw = cell("date_donnees");
        let data_date = if date_raw.is_empty() {
            Some(None)
        } else {
            match NaiveDate::parse_from_str(date_raw, "%Y-%m-%d")
                .or_else(|_| NaiveDate::parse_from_str(date_raw, "%d/%m/%Y"))
            {
                Ok(d) => Some(Some(d)),
                Err(_) => {
                    err("date_donnees", format!("date invalide « {date_raw} » : AAAA-MM-JJ ou JJ/MM/AAAA attendu"));
                    None
                }
            }
        };
        let (Some(def), Some(area), Some(period), Some(value), Some(data_date), false) =
            (def, area, period, value, data_date, source.is_empty())
        else {
            continue;
        };
        if let Some(first) = seen.insert((def.code.to_owned(), area.clone(), period.clone()), line) {
            err("periode", format!("cette observation figure déjà à la ligne {first}"));
            continue;
        }
        rows.push(Observation {
            indicator: def.code.to_owned(),
            area,
            period,
            value,
            source: source.to_owned(),
            data_date,
        });
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
}
