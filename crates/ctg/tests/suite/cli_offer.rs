//! The offer of services from the command line, as users run it: facilities from CSV (with the SCDL
//! « Équipements » field names) and XLSX, funding lines, commune outlines and the maps drawn from
//! them, dated parameters, the catalogue of types. Bad files stop with their place named and nothing
//! written.

use crate::common;

use std::path::PathBuf;
use std::process::{Command, Output};

use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, Store};

fn ctg(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ctg"))
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env("CTG_LOG", "warn")
        .output()
        .expect("run ctg")
}

fn out(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn file(dir: &tempfile::TempDir, name: &str, content: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, content).unwrap();
    p
}

async fn demo(url: &str, store: &Store) -> i64 {
    let o = ctg(url, &["demo"]);
    assert!(o.status.success(), "{}", out(&o));
    store
        .find_convention(
            &ctg_domain::Siren::parse("200072460").unwrap(),
            "Convention Territoriale Globale de Service aux Familles 2026-2030",
        )
        .await
        .unwrap()
        .unwrap()
}

backend_tests!(facilities_from_scdl_csv_and_xlsx, |db: &TestDb| {
    let (store, url) = (db.store.clone(), db.url.clone());
    async move {
        demo(&url, &store).await;
        let before = store.all_facilities().await.unwrap().len();
        let dir = tempfile::tempdir().unwrap();
        // An open-data file in the SCDL « Équipements » schema: the commune comes from EQUIP_UID.
        let scdl = "COLL_NOM,COLL_SIRET,EQUIP_UID,EQUIP_THEME,EQUIP_TYPE,EQUIP_NOM,ADR_COMMUNE,EQUIP_LAT,EQUIP_LONG\n\
                    Ville de Béthune,21620119000012,62119-07010101-001,Equipement social et d'animation,Relais petite enfance,RPE de Béthune,Béthune,50.5303,2.6408\n\
                    Ville d'Auchel,21620048000010,62048-07010201-001,Equipement social et d'animation,Micro-crèche,Les Petits Loups,Auchel,50.5080,2.4736\n";
        let path = file(&dir, "equipements.csv", scdl.as_bytes());
        let o = ctg(&url, &["import", "equipements", "--fichier", path.to_str().unwrap()]);
        assert!(o.status.success(), "{}", out(&o));
        assert!(out(&o).contains("2 créé(s), 0 mis à jour"), "{}", out(&o));
        let all = store.all_facilities().await.unwrap();
        assert_eq!(all.len(), before + 2);
        let rpe = all.iter().find(|f| f.data.name == "RPE de Béthune").unwrap();
        assert_eq!((rpe.data.type_code.as_str(), rpe.data.commune.as_str()), ("rpe", "62119"));
        assert_eq!(rpe.data.manager, "Ville de Béthune");
        // Read again: updated by identifier, never duplicated.
        let o = ctg(&url, &["import", "equipements", "--fichier", path.to_str().unwrap()]);
        assert!(out(&o).contains("0 créé(s), 2 mis à jour"), "{}", out(&o));

        // The same from a spreadsheet, in the platform's own columns.
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet().set_name("Équipements").unwrap();
        for (j, h) in
            ["identifiant", "type", "nom", "commune", "communes_desservies", "capacite", "statut"].iter().enumerate()
        {
            sheet.write_string(0, j as u16, *h).unwrap();
        }
        let row =
            ["crèche-lillers", "eaje", "Multi-accueil de Lillers", "62516", "Burbure; Ham-en-Artois", "", "ouvert"];
        for (j, v) in row.iter().enumerate() {
            sheet.write_string(1, j as u16, *v).unwrap();
        }
        sheet.write_number(1, 5, 30).unwrap();
        let path = file(&dir, "equipements.xlsx", &book.save_to_buffer().unwrap());
        let o = ctg(&url, &["import", "equipements", "--fichier", path.to_str().unwrap()]);
        // Served communes are INSEE codes in files: names are refused with their cell.
        assert!(!o.status.success());
        assert!(out(&o).contains("feuille « Équipements », ligne 2"), "{}", out(&o));
        assert!(out(&o).contains("rien n'a été écrit") || out(&o).contains("communes_desservies"), "{}", out(&o));
        assert_eq!(store.all_facilities().await.unwrap().len(), before + 2, "nothing written");

        // A bad CSV: every problem named by line and field, nothing written.
        let bad = "identifiant,type,nom,commune,capacite\nx1,piscine,Piscine,62119,\nx2,eaje,Crèche,62999,-4\n";
        let path = file(&dir, "mauvais.csv", bad.as_bytes());
        let o = ctg(&url, &["import", "equipements", "--fichier", path.to_str().unwrap()]);
        assert!(!o.status.success());
        let text = out(&o);
        assert!(text.contains("mauvais.csv, ligne 2") && text.contains("piscine"), "{text}");
        assert!(text.contains("ligne 3"), "{text}");
        assert_eq!(store.all_facilities().await.unwrap().len(), before + 2);
    }
});

backend_tests!(funding_lines_from_a_file, |db: &TestDb| {
    let (store, url) = (db.store.clone(), db.url.clone());
    async move {
        let id = demo(&url, &store).await;
        let before = store.funding(id).await.unwrap().len();
        let dir = tempfile::tempdir().unwrap();
        let good = "equipement,dispositif,financeur,annee,montant,objet\n\
                    demo-cs-lillers,PS animation globale,CAF du Pas-de-Calais,2025,\"75 000,00\",Agrément centre social\n";
        let path = file(&dir, "fin.csv", good.as_bytes());
        let idarg = id.to_string();
        let o = ctg(&url, &["import", "financements", "--convention", &idarg, "--fichier", path.to_str().unwrap()]);
        // A scheme must be named by its code or its full label: the message lists the codes.
        assert!(!o.status.success());
        assert!(out(&o).contains("fin.csv, ligne 2") && out(&o).contains("ps_animation_globale"), "{}", out(&o));
        std::fs::write(&path, good.replace("PS animation globale", "ps_animation_globale")).unwrap();
        let o = ctg(&url, &["import", "financements", "--convention", &idarg, "--fichier", path.to_str().unwrap()]);
        assert!(o.status.success(), "{}", out(&o));
        let lines = store.funding(id).await.unwrap();
        assert_eq!(lines.len(), before + 1);
        let line = lines.iter().find(|l| l.data.year == 2025).unwrap();
        assert_eq!(line.data.amount_cents, 7_500_000);
        assert!(line.data.facility_id.is_some());

        let bad = "equipement,dispositif,financeur,annee,montant,objet\ninconnu,psu,CAF,2025,10,\n,psu,CAF,2025,dix,\n";
        let path = file(&dir, "fin2.csv", bad.as_bytes());
        let o = ctg(&url, &["import", "financements", "--convention", &idarg, "--fichier", path.to_str().unwrap()]);
        assert!(!o.status.success());
        assert!(out(&o).contains("ligne 3") && out(&o).contains("dix"), "{}", out(&o));
        assert_eq!(store.funding(id).await.unwrap().len(), before + 1);
    }
});

/// A square of about 2 km around a point, as a GeoJSON polygon.
fn square(lon: f64, lat: f64) -> serde_json::Value {
    let d = 0.012;
    serde_json::json!([[
        [lon - d, lat - d],
        [lon + d, lat - d],
        [lon + d, lat + d],
        [lon - d, lat + d],
        [lon - d, lat - d]
    ]])
}

backend_tests!(outlines_draw_maps, |db: &TestDb| {
    let (store, url) = (db.store.clone(), db.url.clone());
    async move {
        let id = demo(&url, &store).await;
        let app = ctg_web::router(ctg_web::AppState::with_today(store.clone(), common::today()));
        // Without outlines, the pages show their tables alone.
        let page = common::get(&app, &format!("/conventions/{id}/couverture")).await;
        assert!(!page.body.contains("data-code="));
        let features: Vec<serde_json::Value> = [("62119", "Béthune", 2.64, 50.53), ("62048", "Auchel", 2.47, 50.51), ("75056", "Paris", 2.35, 48.85)]
            .iter()
            .map(|(code, name, lon, lat)| {
                serde_json::json!({"type": "Feature", "properties": {"INSEE_COM": code, "NOM": name}, "geometry": {"type": "Polygon", "coordinates": square(*lon, *lat)}})
            })
            .collect();
        let geojson = serde_json::json!({"type": "FeatureCollection", "features": features});
        let dir = tempfile::tempdir().unwrap();
        let path = file(&dir, "communes.geojson", geojson.to_string().as_bytes());
        let o = ctg(&url, &["import", "contours", "--geojson", path.to_str().unwrap()]);
        assert!(o.status.success(), "{}", out(&o));
        assert!(
            out(&o).contains("2 contours de communes enregistré(s)") && out(&o).contains("1 ignoré(s)"),
            "{}",
            out(&o)
        );
        for page in ["couverture", "diagnostic"] {
            let body = common::get(&app, &format!("/conventions/{id}/{page}")).await.body;
            assert!(body.contains("data-code=\"62119\"") && body.contains("data-code=\"62048\""), "{page}");
        }
        // Béthune lies east of Auchel on the map.
        let body = common::get(&app, &format!("/conventions/{id}/diagnostic")).await.body;
        let x = |code: &str| {
            let at = body.find(&format!("data-code=\"{code}\"")).unwrap();
            let path = &body[at..];
            let d = path.find(" d=\"M").map(|i| &path[i + 5..]).unwrap();
            d.split([',', ' ']).next().unwrap().parse::<f64>().unwrap()
        };
        assert!(x("62119") > x("62048"));

        let bad = file(&dir, "bad.geojson", b"{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\", \"properties\": {}, \"geometry\": null}]}");
        let o = ctg(&url, &["import", "contours", "--geojson", bad.to_str().unwrap()]);
        assert!(!o.status.success());
        assert!(out(&o).contains("bad.geojson"), "{}", out(&o));
    }
});

backend_tests!(the_masking_threshold_is_a_dated_parameter, |db: &TestDb| {
    let (store, url) = (db.store.clone(), db.url.clone());
    async move {
        let id = demo(&url, &store).await;
        let app = ctg_web::router(ctg_web::AppState::with_today(store.clone(), common::today()));
        let seven = ctg_import::observations::parse(
            "o.csv",
            b"indicateur,type_territoire,code_territoire,periode,valeur,source,date_donnees\nnaissances,epci,200072460,2025,7,test,\n",
        )
        .unwrap();
        store.import_observations(&ctg_domain::Actor::cli("test"), &seven, "t").await.unwrap();
        let masked =
            |csv: &str| csv.lines().any(|l| l.contains(",2025,") && l.contains("naissances") && l.contains("secret"));
        let csv = common::get(&app, &format!("/conventions/{id}/diagnostic?format=csv-virgule")).await.body;
        assert!(!masked(&csv), "7 is shown under the default threshold of 5");
        let o = ctg(
            &url,
            &["parametre", "fixer", "seuil_secret_statistique", "--a-partir-du", "01/01/2026", "--valeur", "10"],
        );
        assert!(o.status.success(), "{}", out(&o));
        // The open-data download masks it now, as the page does.
        let csv = common::get(&app, &format!("/conventions/{id}/diagnostic?format=csv-virgule")).await.body;
        assert!(masked(&csv), "{csv}");
        let o = ctg(&url, &["parametre", "voir", "seuil_secret_statistique"]);
        assert!(out(&o).contains("à partir du 01/01/2026 : 10"), "{}", out(&o));
        let o = ctg(
            &url,
            &["parametre", "fixer", "seuil_secret_statistique", "--a-partir-du", "2026-01-01", "--valeur", "0"],
        );
        assert!(!o.status.success() && out(&o).contains("hors limites"), "{}", out(&o));
        let o = ctg(
            &url,
            &["parametre", "fixer", "taille_max_document", "--a-partir-du", "2026-01-01", "--valeur", "2097152"],
        );
        assert!(o.status.success(), "{}", out(&o));
        let o = ctg(&url, &["parametre", "voir", "seuil"]);
        assert!(!o.status.success() && out(&o).contains("paramètre inconnu « seuil »"), "{}", out(&o));

        let o = ctg(
            &url,
            &[
                "type-equipement",
                "ajouter",
                "--code",
                "ludotheque",
                "--libelle",
                "Ludothèque",
                "--theme",
                "Parentalité",
            ],
        );
        assert!(o.status.success(), "{}", out(&o));
        assert!(out(&ctg(&url, &["type-equipement", "liste"])).contains("ludotheque"));
        let o = ctg(&url, &["type-equipement", "ajouter", "--code", "Ludo thèque", "--libelle", "X", "--theme", "Y"]);
        assert!(!o.status.success() && out(&o).contains("code de type invalide"), "{}", out(&o));
    }
});
