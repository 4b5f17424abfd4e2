//! Funding lines from a CSV, XLSX or ODS file (see [`crate::tabular`]), with the columns
//! `equipement,dispositif,financeur,annee,montant,objet`.
//!
//! `equipement` (optional column and cell) is the identifier of a facility, resolved later by the
//! store; without it the line funds the territory as a whole. `dispositif` is a code or the French
//! label of [`Dispositif`], in any case. `montant` is in euros as people write them (`110 021,39`,
//! `112500 €`). `objet` (optional) says what the line pays for. Each row is checked, then
//! [`NewFunding::check`]; every problem is listed and nothing is returned while there is one.

use ctg_domain::offer::{parse_euros, Dispositif, NewFunding};
use ctg_domain::parse;

use crate::tabular::Table;
use crate::{ImportErrors, Located};

pub const COLUMNS: [&str; 6] = ["equipement", "dispositif", "financeur", "annee", "montant", "objet"];

/// A funding line and the facility it is for, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundingRow {
    /// The external identifier of a facility (`identifiant` / `EQUIP_UID` of the facilities' file).
    pub facility: Option<String>,
    /// The line, its `facility_id` left `None`.
    pub funding: NewFunding,
}

pub fn parse(file: &str, bytes: &[u8]) -> Result<Vec<Located<FundingRow>>, ImportErrors> {
    let table = Table::read(file, bytes)?;
    table.require(&[&["dispositif"], &["financeur"], &["annee"], &["montant"]], &COLUMNS)?;
    table.require_data()?;
    let [equipement, dispositif, financeur, annee, montant, objet] = COLUMNS.map(|c| table.column(&[c]));
    let mut lines = Vec::new();
    let mut errors = table.unreadable.clone();
    for row in &table.rows {
        let before = errors.len();
        let mut err = |column: &Option<crate::tabular::Column>, message: String| {
            if let Some(column) = column {
                errors.push(table.cell_error(row, column, message));
            }
        };
        let raw = row.get(dispositif.as_ref());
        let scheme = parse_dispositif(raw);
        if scheme.is_none() {
            let codes: Vec<&str> = Dispositif::ALL.iter().map(|d| d.code()).collect();
            err(
                &dispositif,
                format!(
                    "dispositif inconnu « {raw} » : un code ou un libellé est attendu (codes : {})",
                    codes.join(", ")
                ),
            );
        }
        let funder = row.get(financeur.as_ref());
        if funder.is_empty() {
            err(&financeur, "le financeur est obligatoire".into());
        }
        let year = parse::plan_year("annee", row.get(annee.as_ref())).map_err(|e| err(&annee, e.message)).ok();
        let amount = parse_euros(row.get(montant.as_ref())).map_err(|m| err(&montant, m)).ok();
        let (Some(scheme), Some(year), Some(amount), false) = (scheme, year, amount, funder.is_empty()) else {
            continue;
        };
        if errors.len() != before {
            continue;
        }
        let funding = NewFunding {
            facility_id: None,
            dispositif: scheme,
            funder: funder.to_owned(),
            year,
            amount_cents: amount,
            note: row.get(objet.as_ref()).to_owned(),
        };
        match funding.check() {
            Ok(funding) => {
                let facility = Some(row.get(equipement.as_ref()).to_owned()).filter(|s| !s.is_empty());
                lines.push(Located { place: row.place.clone(), value: FundingRow { facility, funding } });
            }
            Err(e) => errors.push(table.row_error(row, None, e.to_string())),
        }
    }
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(ImportErrors(errors))
    }
}

/// A scheme by its code or its French label, in any case.
fn parse_dispositif(raw: &str) -> Option<Dispositif> {
    let wanted = raw.trim().to_lowercase();
    Dispositif::ALL.iter().copied().find(|d| d.code() == wanted || d.label().to_lowercase() == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Location;

    #[test]
    fn lines_with_amounts_as_people_write_them() {
        let csv = "equipement;dispositif;financeur;annee;montant;objet\n\
            ;Bonus inclusion handicap;CAF du Pas-de-Calais;2024;110 021,39 €;EAJE du territoire\n\
            C-2;PSU;CAF du Pas-de-Calais;2024;112500;\n";
        let rows = parse("f.csv", csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].place, Location::Line(2));
        let first = &rows[0].value;
        assert_eq!(first.facility, None);
        assert_eq!(first.funding.dispositif, Dispositif::BonusInclusionHandicap);
        assert_eq!((first.funding.amount_cents, first.funding.year), (11_002_139, 2024));
        assert_eq!(first.funding.note, "EAJE du territoire");
        let second = &rows[1].value;
        assert_eq!(second.facility.as_deref(), Some("C-2"));
        assert_eq!((second.funding.dispositif, second.funding.amount_cents), (Dispositif::Psu, 11_250_000));
        assert_eq!(second.funding.facility_id, None);
    }

    #[test]
    fn every_problem_is_named_and_the_column_of_the_equipment_is_optional() {
        let csv = "dispositif,financeur,annee,montant\n\
            prime,,24,\"12,345\"\n\
            psu,CAF,1850,10\n";
        let e: Vec<String> = parse("f.csv", csv.as_bytes()).unwrap_err().0.iter().map(ToString::to_string).collect();
        let expected_starts = [
            "f.csv, ligne 2, champ « dispositif » : dispositif inconnu « prime » : un code ou un libellé est attendu (codes : psu, ps_alsh,",
            "f.csv, ligne 2, champ « financeur » : le financeur est obligatoire",
            "f.csv, ligne 2, champ « annee » : année invalide « 24 » : AAAA attendu",
            "f.csv, ligne 2, champ « montant » : montant invalide « 12,345 »",
            "f.csv, ligne 3, champ « annee » : année invalide « 1850 » : de 1990 à 2100",
        ];
        assert_eq!(e.len(), expected_starts.len(), "{e:#?}");
        for (e, start) in e.iter().zip(expected_starts) {
            assert!(e.starts_with(start), "{e}\n  should start with\n{start}");
        }
        let missing = parse("f.csv", b"dispositif,financeur,montant\npsu,CAF,1\n").unwrap_err().to_string();
        assert!(missing.contains("f.csv, ligne 1 : colonne(s) manquante(s) : annee"), "{missing}");
    }

    #[test]
    fn a_spreadsheet_names_sheet_row_and_column() {
        let rows: &[&[&str]] = &[
            &["Equipement", "Dispositif", "Financeur", "Annee", "Montant"],
            &["", "bonus_territoire", "CAF", "2025", "131114.25"],
            &["", "bonus_territoire", "CAF", "2025", "beaucoup"],
        ];
        let xlsx = crate::tabular::tests::xlsx("Financements", (0, 0), rows);
        let ods = crate::tabular::tests::ods("Financements", (0, 0), rows);
        for (name, bytes) in [("f.xlsx", xlsx), ("f.ods", ods)] {
            let e = parse(name, &bytes).unwrap_err().to_string();
            assert!(e.contains(&format!("{name}, feuille « Financements », ligne 3, colonne E, champ « Montant » : montant invalide « beaucoup »")), "{e}");
            assert!(!e.contains("ligne 2"), "{e}");
        }
        let good = crate::tabular::tests::xlsx("Financements", (0, 0), &rows[..2]);
        let lines = parse("f.xlsx", &good).unwrap();
        // 131114.25 was a number cell: read without loss, to the cent.
        assert_eq!(lines[0].value.funding.amount_cents, 13_111_425);
        assert_eq!(lines[0].place, Location::Row { sheet: "Financements".into(), row: 2 });
    }
}
