//! Art. 9 of the convention: « Les parties s'engagent à mentionner dans tout document […] la source des
//! données ». Every download of the platform carries the source and the date of its data: the list of
//! downloads is derived from the code (each call of the one export mechanism in `ctg-web`), each is
//! fetched in CSV, XLSX and ODS, on SQLite and PostgreSQL.

use std::collections::BTreeMap;

use crate::common;

use common::{demo_app, get_bytes, login, people, PASSWORD};
use ctg_store::backend_tests;
use ctg_store::testing::TestDb;

/// Every download, by the file of `ctg-web` that serves it: its path and query (`{id}` the convention).
const DOWNLOADS: &[(&str, &[&str])] = &[
    ("convention/mod.rs", &["/conventions/{id}/diagnostic?", "/conventions/{id}/territoire?"]),
    ("governance/decisions.rs", &["/conventions/{id}/decisions?"]),
    (
        "funds.rs",
        &["/conventions/{id}/qui-finance-quoi?tableau=lignes&", "/conventions/{id}/qui-finance-quoi?tableau=totaux&"],
    ),
    ("plan/timeline.rs", &["/conventions/{id}/plan/retards?"]),
    ("plan/fiches.rs", &["/conventions/{id}/plan/fiches?"]),
    ("plan/io.rs", &["/conventions/{id}/plan/export?", "/conventions/{id}/evaluation?"]),
    ("opendata.rs", &["/conventions/{id}/comparaison?"]),
    ("sppe.rs", &["/conventions/{id}/sppe?"]),
    // The portfolio covers several conventions: its source names the portfolio, not one convention.
    ("portfolio.rs", &["/portefeuille?organisation=&"]),
    (
        "offer/mod.rs",
        &[
            "/conventions/{id}/equipements?",
            "/conventions/{id}/couverture?tableau=sans_service&",
            "/conventions/{id}/couverture?tableau=places&",
            "/conventions/{id}/couverture?tableau=services&",
            "/conventions/{id}/financements?tableau=lignes&",
            "/conventions/{id}/financements?tableau=totaux&",
        ],
    ),
];

/// The calls of the export mechanism in the sources of `ctg-web`: file → number of calls of
/// `download(` (one page's table each, a page with several choosing one by `tableau`) `download_book(` and
/// `export_book(` (a workbook of several tables, one sheet each).
fn export_calls() -> BTreeMap<String, usize> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ctg-web/src");
    let mut calls = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("export.rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let n = text
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    // Calls, not definitions (`documents::download` serves an attached file, not a table).
                    .filter(|l| {
                        !l.contains("fn download(")
                            && !l.contains("fn export_book(")
                            && !l.contains("fn download_book(")
                    })
                    .map(|l| {
                        l.matches("download(").count()
                            + l.matches("download_book(").count()
                            + l.matches("export_book(").count()
                    })
                    .sum::<usize>();
                if n > 0 {
                    let name = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
                    calls.insert(name, n);
                }
            }
        }
    }
    calls
}

#[test]
fn the_list_of_downloads_follows_the_code() {
    // A new call of the export mechanism must come with its download in `DOWNLOADS`. The coverage page
    // and the funding page each choose one table of several by `tableau` in one call.
    let calls = export_calls();
    let files: Vec<&String> = calls.keys().collect();
    let listed: Vec<&str> = {
        let mut l: Vec<&str> = DOWNLOADS.iter().map(|(f, _)| *f).collect();
        l.sort_unstable();
        l
    };
    assert_eq!(files, listed, "the files that call the export mechanism: {calls:?}");
    assert_eq!(calls["convention/mod.rs"], 2);
    assert_eq!(calls["offer/mod.rs"], 3);
    println!("{} appels du mécanisme d'export dans {} fichiers", calls.values().sum::<usize>(), calls.len());
}

backend_tests!(every_download_carries_the_source_and_date_of_its_data, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        people(&store, id).await;
        let who = login(&app, "administrateur", "alice@ctg.fr", PASSWORD).await;
        let title = store.convention_summary(id).await.unwrap().title;
        let origin = format!("Plateforme CTG, convention « {} »", title.trim());
        let as_of = common::today().to_string();
        let origin_of = |path: &str| {
            if path.starts_with("/portefeuille") {
                "Plateforme CTG, portefeuille"
            } else {
                origin.as_str()
            }
        };
        let mut checked = 0;
        for (_, paths) in DOWNLOADS {
            for path in *paths {
                for format in ["csv", "xlsx", "ods"] {
                    let url = format!("{}format={format}", path.replace("{id}", &id.to_string()));
                    let (status, bytes) = get_bytes(&app, &url, &who).await;
                    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&bytes));
                    // Read back by the platform's own reader of tables.
                    let file = format!("export.{format}");
                    let sheets =
                        ctg_import::tabular::Table::read_all(&file, &bytes).unwrap_or_else(|e| panic!("{url}: {e}"));
                    if format == "csv" {
                        let t = &sheets[0];
                        let n = t.header.len();
                        assert_eq!(t.header[n - 2..], ["source_des_donnees", "donnees_au"], "{url}");
                        for row in &t.rows {
                            assert!(row.cells[n - 2].starts_with(origin_of(path)), "{url}: {:?}", row.cells);
                            assert_eq!(row.cells[n - 1], as_of, "{url}");
                        }
                    } else {
                        let last = sheets.last().unwrap();
                        assert!(last.sheet_name().is_some_and(|n| n.starts_with("Source")), "{url}");
                        assert_eq!(last.header, ["Tableau", "Source des données", "Données au"], "{url}");
                        assert_eq!(last.rows.len(), sheets.len() - 1, "{url}: one line per table");
                        for row in &last.rows {
                            assert!(row.cells[1].starts_with(origin_of(path)), "{url}: {:?}", row.cells);
                            assert_eq!(row.cells[2], as_of, "{url}");
                        }
                    }
                    checked += 1;
                }
            }
        }
        // The diagnostic names who produced its figures.
        let (_, bytes) = get_bytes(&app, &format!("/conventions/{id}/diagnostic?format=csv"), &who).await;
        assert!(String::from_utf8_lossy(&bytes).contains("données produites par : "));
        println!("{checked} téléchargements vérifiés : chacun porte sa source et sa date");
    }
});

// French spreadsheets open a CSV in columns, accents intact, only with `;` and a byte order mark:
// that is the CSV of every download; `format=csv-virgule` gives commas and decimal points.
backend_tests!(csv_downloads_are_written_for_french_spreadsheets_with_a_comma_variant, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        people(&store, id).await;
        let who = login(&app, "administrateur", "alice@ctg.fr", PASSWORD).await;
        for url in [
            format!("/conventions/{id}/territoire.csv"),
            format!("/conventions/{id}/diagnostic?format=csv"),
            format!("/conventions/{id}/financements?format=csv&tableau=totaux"),
        ] {
            let (_, bytes) = get_bytes(&app, &url, &who).await;
            let text = String::from_utf8(bytes).unwrap();
            assert!(text.starts_with('\u{feff}'), "{url}: no byte order mark");
            let header = text.trim_start_matches('\u{feff}').lines().next().unwrap();
            assert!(header.contains(';') && !header.contains(','), "{url}: {header}");
        }
        // Amounts with a decimal comma in the French CSV, a decimal point in the comma variant.
        let (_, french) =
            get_bytes(&app, &format!("/conventions/{id}/financements?format=csv&tableau=totaux"), &who).await;
        let french = String::from_utf8(french).unwrap();
        assert!(french.contains("dispositif;Bonus inclusion handicap;337092,54;"), "{french}");
        let (_, comma) =
            get_bytes(&app, &format!("/conventions/{id}/financements?format=csv-virgule&tableau=totaux"), &who).await;
        let comma = String::from_utf8(comma).unwrap();
        assert!(
            !comma.starts_with('\u{feff}') && comma.contains("dispositif,Bonus inclusion handicap,337092.54,"),
            "{comma}"
        );
        let (_, territory) = get_bytes(&app, &format!("/conventions/{id}/territoire.csv?format=virgule"), &who).await;
        assert!(String::from_utf8(territory).unwrap().starts_with("code_insee,nom,"));
        // The pages offer both.
        let page =
            String::from_utf8(get_bytes(&app, &format!("/conventions/{id}/financements"), &who).await.1).unwrap();
        assert!(page.contains("format=csv-virgule"), "the comma variant is offered");
    }
});
