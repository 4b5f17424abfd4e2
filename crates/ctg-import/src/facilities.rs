//! Facilities (équipements) from a CSV, XLSX or ODS file (see [`crate::tabular`]): our columns, or
//! those of the SCDL « Équipements » schema for the same things, so that a commune's open-data file
//! can be read as it is published.
//!
//! | ours | SCDL | |
//! |---|---|---|
//! | `identifiant` | `EQUIP_UID` | optional, unique in the file |
//! | `type` | `EQUIP_TYPE` | required: code, label or alias of the catalogue |
//! | `nom` | `EQUIP_NOM` | required |
//! | `gestionnaire` | `COLL_NOM` | optional |
//! | `commune`, `code_insee` | `COM_INSEE` | required, or the first 5 characters of `EQUIP_UID` |
//! | `communes_desservies` | | INSEE codes separated by `;`, `,` or spaces |
//! | `capacite` | | whole number |
//! | `labels` | | separated by `;` |
//! | `statut` | | `ouvert` (default), `en_projet`, `ferme`, or their French labels |
//! | `date_ouverture`, `date_fermeture` | | `AAAA-MM-JJ` or `JJ/MM/AAAA` |
//! | `latitude`, `longitude` | `EQUIP_LAT`, `EQUIP_LONG` | decimal point or comma |
//!
//! Other columns (the SCDL address fields…) are ignored. Each row is checked, then
//! [`NewFacility::check`]; every problem is listed and nothing is returned while there is one.

use std::collections::HashMap;

use ctg_domain::offer::{find_facility_type, FacilityStatus, FacilityType, NewFacility};
use ctg_domain::parse;

use crate::tabular::{line_of, Column, Row, Table};
use crate::{ImportError, ImportErrors, Located, Location};

const ID: &[&str] = &["identifiant", "EQUIP_UID"];
const TYPE: &[&str] = &["type", "EQUIP_TYPE"];
const NAME: &[&str] = &["nom", "EQUIP_NOM"];
const MANAGER: &[&str] = &["gestionnaire", "COLL_NOM"];
const COMMUNE: &[&str] = &["commune", "code_insee", "COM_INSEE"];
const SERVED: &[&str] = &["communes_desservies"];
const CAPACITY: &[&str] = &["capacite"];
const LABELS: &[&str] = &["labels"];
const STATUS: &[&str] = &["statut"];
const OPENED: &[&str] = &["date_ouverture"];
const CLOSED: &[&str] = &["date_fermeture"];
const LATITUDE: &[&str] = &["latitude", "EQUIP_LAT"];
const LONGITUDE: &[&str] = &["longitude", "EQUIP_LONG"];

/// Our columns, in the order of the documentation.
pub const COLUMNS: [&str; 13] = [
    "identifiant",
    "type",
    "nom",
    "gestionnaire",
    "commune",
    "communes_desservies",
    "capacite",
    "labels",
    "statut",
    "date_ouverture",
    "date_fermeture",
    "latitude",
    "longitude",
];

/// The SCDL name of the identifier, whose first 5 characters are the commune's INSEE code.
const SCDL_UID: &str = "EQUIP_UID";

/// How many codes an unknown type's message lists.
const LISTED_TYPES: usize = 8;

struct Columns {
    id: Option<Column>,
    kind: Option<Column>,
    name: Option<Column>,
    manager: Option<Column>,
    commune: Option<Column>,
    served: Option<Column>,
    capacity: Option<Column>,
    labels: Option<Column>,
    status: Option<Column>,
    opened: Option<Column>,
    closed: Option<Column>,
    latitude: Option<Column>,
    longitude: Option<Column>,
}

pub fn parse(file: &str, bytes: &[u8], types: &[FacilityType]) -> Result<Vec<Located<NewFacility>>, ImportErrors> {
    let table = Table::read(file, bytes)?;
    table.require(&[TYPE, NAME, &["commune", "code_insee", "COM_INSEE", SCDL_UID]], &COLUMNS)?;
    table.require_data()?;
    let c = Columns {
        id: table.column(ID),
        kind: table.column(TYPE),
        name: table.column(NAME),
        manager: table.column(MANAGER),
        commune: table.column(COMMUNE),
        served: table.column(SERVED),
        capacity: table.column(CAPACITY),
        labels: table.column(LABELS),
        status: table.column(STATUS),
        opened: table.column(OPENED),
        closed: table.column(CLOSED),
        latitude: table.column(LATITUDE),
        longitude: table.column(LONGITUDE),
    };
    let mut facilities = Vec::new();
    let mut errors = table.unreadable.clone();
    let mut seen: HashMap<String, Location> = HashMap::new();
    for row in &table.rows {
        let before = errors.len();
        let facility = read_row(&table, &c, row, types, &mut errors);
        let id = row.get(c.id.as_ref());
        if let (Some(column), false) = (&c.id, id.is_empty()) {
            if let Some(first) = seen.get(id) {
                let message = format!("l'identifiant « {id} » figure déjà à la {}", line_of(first));
                errors.push(table.cell_error(row, column, message));
            } else {
                seen.insert(id.to_owned(), row.place.clone());
            }
        }
        match facility {
            Some(f) if errors.len() == before => facilities.push(Located { place: row.place.clone(), value: f }),
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(facilities)
    } else {
        Err(ImportErrors(errors))
    }
}

/// Reads one row: its errors are pushed; the facility is returned when every cell could be read and
/// [`NewFacility::check`] accepted it.
fn read_row(
    table: &Table,
    c: &Columns,
    row: &Row,
    types: &[FacilityType],
    errors: &mut Vec<ImportError>,
) -> Option<NewFacility> {
    let before = errors.len();
    // The error of a cell, when its column is there (the required ones are).
    let cell = |column: &Option<Column>, message: String| column.as_ref().map(|c| table.cell_error(row, c, message));
    let get = |column: &Option<Column>| row.get(column.as_ref());

    let type_raw = get(&c.kind);
    let type_code = if type_raw.is_empty() {
        errors.extend(cell(&c.kind, "le type d'équipement est obligatoire".into()));
        None
    } else if let Some(t) = find_facility_type(types, type_raw) {
        Some(t.code.clone())
    } else {
        let mut known: Vec<&str> = types.iter().take(LISTED_TYPES).map(|t| t.code.as_str()).collect();
        if types.len() > LISTED_TYPES {
            known.push("…");
        }
        let message = format!(
            "type d'équipement inconnu « {type_raw} » : un code, un libellé ou un autre nom du catalogue est attendu (codes connus : {})",
            known.join(", ")
        );
        errors.extend(cell(&c.kind, message));
        None
    };
    let name = get(&c.name);
    if name.is_empty() {
        errors.extend(cell(&c.name, "le nom de l'équipement est obligatoire".into()));
    }

    let commune_raw = get(&c.commune);
    let uid = c.id.as_ref().filter(|col| col.name.eq_ignore_ascii_case(SCDL_UID)).map(|col| (col, row.get(Some(col))));
    let commune = if !commune_raw.is_empty() {
        parse::insee_code("commune", commune_raw).map_err(|e| errors.extend(cell(&c.commune, e.message))).ok()
    } else if let Some((col, uid)) = uid.filter(|(_, uid)| !uid.is_empty()) {
        let prefix: String = uid.chars().take(5).collect();
        parse::insee_code("commune", &prefix)
            .map_err(|e| {
                let m = e.message;
                let message = format!(
                    "la commune n'étant pas donnée, son code INSEE est tiré des 5 premiers caractères de l'identifiant SCDL : {m}"
                );
                errors.push(table.cell_error(row, col, message));
            })
            .ok()
    } else {
        let message = "la commune (code INSEE) est obligatoire".to_owned();
        match &c.commune {
            Some(col) => errors.push(table.cell_error(row, col, message)),
            None => errors.push(table.row_error(row, Some("commune"), message)),
        }
        None
    };

    let mut served = Vec::new();
    for code in get(&c.served).split(|ch: char| ch == ';' || ch == ',' || ch.is_whitespace()).filter(|s| !s.is_empty())
    {
        match parse::insee_code("communes_desservies", code) {
            Ok(code) => served.push(code),
            Err(e) => errors.extend(cell(&c.served, e.message)),
        }
    }
    let capacity_raw = get(&c.capacity);
    let capacity = if capacity_raw.is_empty() {
        Some(None)
    } else {
        let digits: String = capacity_raw.chars().filter(|ch| !matches!(ch, ' ' | '\u{a0}' | '\u{202f}')).collect();
        match digits.parse::<i64>() {
            Ok(n) => Some(Some(n)),
            Err(_) => {
                errors.extend(cell(
                    &c.capacity,
                    format!("capacité invalide « {capacity_raw} » : un nombre entier est attendu"),
                ));
                None
            }
        }
    };
    let labels: Vec<String> =
        get(&c.labels).split(';').map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
    let status_raw = get(&c.status);
    let status = if status_raw.is_empty() {
        Some(FacilityStatus::Open)
    } else {
        let status = parse_status(status_raw);
        if status.is_none() {
            let codes: Vec<&str> = FacilityStatus::ALL.iter().map(|s| s.code()).collect();
            let labels: Vec<&str> = FacilityStatus::ALL.iter().map(|s| s.label()).collect();
            let message = format!(
                "statut inconnu « {status_raw} » (valeurs admises : {}, ou {})",
                codes.join(", "),
                labels.join(", ")
            );
            errors.extend(cell(&c.status, message));
        }
        status
    };
    let opened = parse::spreadsheet_date("date_ouverture", get(&c.opened))
        .map_err(|e| errors.extend(cell(&c.opened, e.message)))
        .ok();
    let closed = parse::spreadsheet_date("date_fermeture", get(&c.closed))
        .map_err(|e| errors.extend(cell(&c.closed, e.message)))
        .ok();
    let latitude = optional_decimal(get(&c.latitude)).map_err(|m| errors.extend(cell(&c.latitude, m))).ok();
    let longitude = optional_decimal(get(&c.longitude)).map_err(|m| errors.extend(cell(&c.longitude, m))).ok();

    let (
        Some(type_code),
        Some(commune),
        Some(capacity),
        Some(status),
        Some(opened),
        Some(closed),
        Some(lat),
        Some(lon),
    ) = (type_code, commune, capacity, status, opened, closed, latitude, longitude)
    else {
        return None;
    };
    if errors.len() != before {
        return None;
    }
    let facility = NewFacility {
        type_code,
        name: name.to_owned(),
        manager: get(&c.manager).to_owned(),
        commune,
        served,
        capacity,
        labels,
        status,
        opened_on: opened,
        closed_on: closed,
        external_id: Some(get(&c.id).to_owned()).filter(|s| !s.is_empty()),
        latitude: lat,
        longitude: lon,
    };
    match facility.check(types) {
        Ok(f) => Some(f),
        Err(e) => {
            errors.push(table.row_error(row, None, e.to_string()));
            None
        }
    }
}

/// A status by its code or its French label, in any case (`en_projet`, `En projet`, `FERMÉ`).
fn parse_status(raw: &str) -> Option<FacilityStatus> {
    let wanted = raw.trim().to_lowercase();
    FacilityStatus::ALL.iter().copied().find(|s| s.code() == wanted || s.label().to_lowercase() == wanted)
}

/// A decimal number with a point or a comma; an empty cell is no number.
fn optional_decimal(raw: &str) -> Result<Option<f64>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.replace(',', ".").parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(format!("« {raw} » n'est pas un nombre décimal (par exemple 50,5297 ou 50.5297)")),
    }
}

#[cfg(test)]
mod tests {
    use ctg_domain::offer::builtin_facility_types;
    use ctg_domain::InseeCode;

    use super::*;

    fn errors(file: &str, bytes: &[u8]) -> Vec<String> {
        parse(file, bytes, &builtin_facility_types()).unwrap_err().0.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn our_columns_with_every_field() {
        let csv = "identifiant,type,nom,gestionnaire,commune,communes_desservies,capacite,labels,statut,date_ouverture,date_fermeture,latitude,longitude\n\
            RPE-1,Relais assistants maternels,Relais de Béthune,Communauté d'agglomération,62119,\"62178, 62510 62119\",,AVIP ; Label 2,,01/09/2019,,\"50,5297\",2.6408\n\
            C-2,micro_creche,Les Lutins,Association,1053,,10,,Fermé,2015-01-05,31/12/2024,,\n\
            C-3,EAJE,Crèche des Dunes,Commune,62119,,1 040,,en projet,,,,\n";
        let rows = parse("e.csv", csv.as_bytes(), &builtin_facility_types()).unwrap();
        assert_eq!(rows.len(), 3);
        let f = &rows[0].value;
        assert_eq!(rows[0].place, Location::Line(2));
        assert_eq!((f.type_code.as_str(), f.name.as_str(), f.commune.as_str()), ("rpe", "Relais de Béthune", "62119"));
        // Its own commune is not among the communes it serves.
        let served: Vec<&str> = f.served.iter().map(InseeCode::as_str).collect();
        assert_eq!(served, ["62178", "62510"]);
        assert_eq!(f.labels, ["AVIP", "Label 2"]);
        assert_eq!((f.status, f.capacity, f.external_id.as_deref()), (FacilityStatus::Open, None, Some("RPE-1")));
        assert_eq!(f.opened_on, chrono::NaiveDate::from_ymd_opt(2019, 9, 1));
        assert_eq!((f.latitude, f.longitude), (Some(50.5297), Some(2.6408)));
        let f = &rows[1].value;
        // A spreadsheet drops the leading zero of 01053.
        assert_eq!((f.commune.as_str(), f.capacity, f.status), ("01053", Some(10), FacilityStatus::Closed));
        assert_eq!(f.closed_on, chrono::NaiveDate::from_ymd_opt(2024, 12, 31));
        assert_eq!((rows[2].value.type_code.as_str(), rows[2].value.capacity), ("eaje", Some(1040)));
        assert_eq!(rows[2].value.status, FacilityStatus::Planned);
    }

    #[test]
    fn a_scdl_file_finds_the_commune_in_the_identifier() {
        let csv = "COLL_NOM,COLL_SIRET,EQUIP_UID,EQUIP_THEME,EQUIP_TYPE,EQUIP_NOM,ADR_COMMUNE,EQUIP_LAT,EQUIP_LONG\n\
            Béthune,21620119000011,62119_RPE_001,Petite enfance,Relais petite enfance,RPE du centre,Béthune,\"50,53\",\"2,64\"\n\
            Béthune,21620119000011,6211X_EVS_002,Social,Espace de vie sociale,EVS,Béthune,,\n";
        let e = errors("scdl.csv", csv.as_bytes());
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("scdl.csv, ligne 3, champ « EQUIP_UID » : la commune n'étant pas donnée, son code INSEE est tiré des 5 premiers caractères de l'identifiant SCDL : code INSEE « 6211X » invalide"),
            "{e:?}"
        );
        let good = csv.lines().take(2).collect::<Vec<_>>().join("\n");
        let rows = parse("scdl.csv", good.as_bytes(), &builtin_facility_types()).unwrap();
        let f = &rows[0].value;
        assert_eq!((f.type_code.as_str(), f.commune.as_str(), f.manager.as_str()), ("rpe", "62119", "Béthune"));
        assert_eq!(
            (f.external_id.as_deref(), f.latitude, f.longitude),
            (Some("62119_RPE_001"), Some(50.53), Some(2.64))
        );
    }

    #[test]
    fn every_problem_of_every_row_is_named() {
        let csv =
            "identifiant,type,nom,commune,communes_desservies,capacite,statut,date_ouverture,date_fermeture,latitude\n\
            A,piscine,,62119,62178;abc,dix,fini,2020-13-01,,nord\n\
            B,eaje,Crèche,,,,,,,\n\
            A,eaje,Crèche bis,62119,,,ouvert,,2024-01-01,\n\
            A,eaje,Crèche ter,62119,,,,,,\n";
        let e = errors("e.csv", csv.as_bytes());
        let expected_starts = [
            "e.csv, ligne 2, champ « type » : type d'équipement inconnu « piscine » : un code, un libellé ou un autre nom du catalogue est attendu (codes connus : eaje, micro_creche,",
            "e.csv, ligne 2, champ « nom » : le nom de l'équipement est obligatoire",
            "e.csv, ligne 2, champ « communes_desservies » : code INSEE « abc » invalide",
            "e.csv, ligne 2, champ « capacite » : capacité invalide « dix »",
            "e.csv, ligne 2, champ « statut » : statut inconnu « fini » (valeurs admises : ouvert, en_projet, ferme, ou Ouvert, En projet, Fermé)",
            "e.csv, ligne 2, champ « date_ouverture » : date invalide « 2020-13-01 »",
            "e.csv, ligne 2, champ « latitude » : « nord » n'est pas un nombre décimal",
            "e.csv, ligne 3, champ « commune » : la commune (code INSEE) est obligatoire",
            // NewFacility::check, for the row as a whole.
            "e.csv, ligne 4 : une date de fermeture est donnée mais le statut n'est pas « fermé »",
            // The first A has errors of its own, but its identifier is taken all the same.
            "e.csv, ligne 4, champ « identifiant » : l'identifiant « A » figure déjà à la ligne 2",
            "e.csv, ligne 5, champ « identifiant » : l'identifiant « A » figure déjà à la ligne 2",
        ];
        assert_eq!(e.len(), expected_starts.len(), "{e:#?}");
        for (e, start) in e.iter().zip(expected_starts) {
            assert!(e.starts_with(start), "{e}\n  should start with\n{start}");
        }
    }

    #[test]
    fn the_same_identifier_twice_names_both_lines() {
        let csv = "identifiant,type,nom,commune\nX1,rpe,Relais,62119\nX2,rpe,Relais 2,62119\nX1,laep,LAEP,62178\n";
        let e = errors("e.csv", csv.as_bytes());
        assert_eq!(e, ["e.csv, ligne 4, champ « identifiant » : l'identifiant « X1 » figure déjà à la ligne 2"]);
    }

    #[test]
    fn an_unclosed_quote_is_named_with_its_line() {
        // The quote opened on line 3 swallows the rest of the file: the reader would see one row with
        // its commune missing.
        let csv = "type,nom,commune\nrpe,Relais,62119\nrpe,\"Relais du Nord,62178\nlaep,LAEP,62119\n";
        let e = errors("e.csv", csv.as_bytes());
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("e.csv, ligne 3 : guillemet non fermé"), "{e:?}");
        assert!(!e[0].contains("obligatoire"), "{e:?}");
    }

    #[test]
    fn a_header_alone_imports_nothing_and_says_so() {
        let e = errors("e.csv", b"type,nom,commune\n\n");
        assert_eq!(
            e,
            ["e.csv, ligne 1 : aucune ligne de données : le fichier n'a que sa ligne d'en-tête, rien n'a été importé"]
        );
        let only_header: &[&[&str]] = &[&["type", "nom", "commune"]];
        let e = errors("e.xlsx", &crate::tabular::tests::xlsx("Équipements", (0, 0), only_header));
        assert_eq!(e.len(), 1);
        assert!(e[0].contains("la feuille n'a que sa ligne d'en-tête"), "{e:?}");
    }

    #[test]
    fn required_columns_are_named() {
        let e = errors("e.csv", b"identifiant,nom\nA,B\n");
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with(
                "e.csv, ligne 1 : colonne(s) manquante(s) : type (ou EQUIP_TYPE), commune (ou code_insee, COM_INSEE, EQUIP_UID)"
            ),
            "{e:?}"
        );
    }

    #[test]
    fn a_spreadsheet_names_sheet_row_and_column() {
        let rows: &[&[&str]] = &[
            &["EQUIP_UID", "EQUIP_TYPE", "EQUIP_NOM", "capacite", "date_ouverture"],
            &["62119_C_1", "Micro-crèche", "Les Lutins", "10", "d:2019-09-02"],
            &["62178_C_2", "Crèche", "Les Dunes", "douze", ""],
        ];
        let types = builtin_facility_types();
        for (name, bytes) in [
            ("e.xlsx", crate::tabular::tests::xlsx("Équipements", (0, 0), rows)),
            ("e.ods", crate::tabular::tests::ods("Équipements", (0, 0), rows)),
        ] {
            let e: Vec<String> = parse(name, &bytes, &types).unwrap_err().0.iter().map(ToString::to_string).collect();
            assert_eq!(
                e,
                [format!("{name}, feuille « Équipements », ligne 3, colonne D, champ « capacite » : capacité invalide « douze » : un nombre entier est attendu")]
            );
            let good = if name.ends_with("xlsx") {
                crate::tabular::tests::xlsx("Équipements", (0, 0), &rows[..2])
            } else {
                crate::tabular::tests::ods("Équipements", (0, 0), &rows[..2])
            };
            let f = parse(name, &good, &types).unwrap();
            assert_eq!(f[0].place, Location::Row { sheet: "Équipements".into(), row: 2 });
            assert_eq!((f[0].value.type_code.as_str(), f[0].value.capacity), ("micro_creche", Some(10)));
            assert_eq!(f[0].value.opened_on, chrono::NaiveDate::from_ymd_opt(2019, 9, 2));
        }
    }
}
