//! Outputs built from domain values: the territory as CSV ([`territory_csv`]); any table of the web
//! application exported as CSV, XLSX or ODS through one mechanism ([`table`]); accessible SVG charts drawn
//! on the server ([`chart`]: horizontal bars, choropleth maps). PDF comes with the diagnostic and the
//! action plan.

pub mod chart;
pub mod table;

use ctg_domain::{CommunePopulations, Vintage};

/// Why an output could not be produced. The messages are in French: they may reach a user.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A row has more or fewer cells than the table has columns.
    #[error("la ligne {row} du tableau « {table} » a {found} cellule(s) pour {expected} colonne(s)")]
    RowLength {
        /// The title of the table.
        table: String,
        /// The row, counted from 1 (the header row not counted).
        row: usize,
        /// The number of columns.
        expected: usize,
        /// The number of cells in the row.
        found: usize,
    },
    /// The table does not fit in a spreadsheet (1 048 575 data rows and 16 384 columns at most).
    #[error(
        "le tableau « {table} » est trop grand pour un classeur ({rows} lignes, {columns} colonnes ; \
         au plus 1 048 575 lignes et 16 384 colonnes)"
    )]
    TooLarge {
        /// The title of the table.
        table: String,
        /// The number of data rows.
        rows: usize,
        /// The number of columns.
        columns: usize,
    },
    /// Writing the CSV failed.
    #[error("écriture du fichier CSV impossible : {0}")]
    Csv(#[from] csv::Error),
    /// Writing the XLSX workbook failed.
    #[error("écriture du classeur XLSX impossible : {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    /// Writing the ODS workbook failed.
    #[error("écriture du classeur ODS impossible : {0}")]
    Ods(#[from] spreadsheet_ods::OdsError),
}

/// The populations of a territory as CSV, one line per commune, in the column names of the import
/// format (`code_insee`, `nom`, then `population_municipale_AAAA`, `population_comptee_a_part_AAAA`,
/// `population_totale_AAAA` for each vintage). An unknown figure is an empty cell, never 0, so that the
/// file reads back the way it was written. Text cells go through [`table::csv_text`], as in every CSV.
pub fn territory_csv(
    communes: &[CommunePopulations],
    vintages: &[Vintage],
    source: &table::Source,
    dialect: table::CsvDialect,
) -> Result<Vec<u8>, csv::Error> {
    let mut w = dialect.writer();
    let mut header = vec!["code_insee".to_owned(), "nom".to_owned()];
    for v in vintages {
        header.push(format!("population_municipale_{v}"));
        header.push(format!("population_comptee_a_part_{v}"));
        header.push(format!("population_totale_{v}"));
    }
    // Where the data come from and when, as in every export (art. 9 of the CTG).
    header.extend([table::SOURCE_KEY.to_owned(), table::AS_OF_KEY.to_owned()]);
    w.write_record(&header)?;
    let origin = table::csv_text(&source.origin).into_owned();
    let as_of = source.as_of.to_string();
    let cell = |x: Option<i64>| x.map(|v| v.to_string()).unwrap_or_default();
    for c in communes {
        let mut row = vec![c.code.to_string(), table::csv_text(&c.name).into_owned()];
        for v in vintages {
            let p = c.by_vintage.get(v).copied().unwrap_or_default();
            row.extend([cell(p.municipal), cell(p.counted_apart), cell(p.total)]);
        }
        row.extend([origin.clone(), as_of.clone()]);
        w.write_record(&row)?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctg_domain::{InseeCode, Population};

    #[test]
    fn unknown_figures_are_empty_cells() {
        let v20 = Vintage::new(2020).unwrap();
        let v21 = Vintage::new(2021).unwrap();
        let c = CommunePopulations {
            code: InseeCode::parse("62023").unwrap(),
            name: "Allouagne, « bourg »".into(),
            by_vintage: [
                (v20, Population::new(None, None, Some(2902)).unwrap()),
                (v21, Population::new(Some(2852), Some(36), Some(2888)).unwrap()),
            ]
            .into_iter()
            .collect(),
        };
        let source = table::Source {
            origin: "Plateforme CTG ; Insee, populations légales".into(),
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
        };
        let french = String::from_utf8(
            territory_csv(std::slice::from_ref(&c), &[v20, v21], &source, table::CsvDialect::French).unwrap(),
        )
        .unwrap();
        assert!(french.starts_with("\u{feff}code_insee;nom;"), "{french}");
        assert!(
            french.contains("\n62023;Allouagne, « bourg »;;;2902;2852;36;2888;\"Plateforme CTG ; Insee"),
            "{french}"
        );
        let out =
            String::from_utf8(territory_csv(&[c], &[v20, v21], &source, table::CsvDialect::Comma).unwrap()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "code_insee,nom,population_municipale_2020,population_comptee_a_part_2020,population_totale_2020,population_municipale_2021,population_comptee_a_part_2021,population_totale_2021,source_des_donnees,donnees_au");
        assert_eq!(lines[1], "62023,\"Allouagne, « bourg »\",,,2902,2852,36,2888,\"Plateforme CTG ; Insee, populations légales\",2026-11-27");
    }
}
