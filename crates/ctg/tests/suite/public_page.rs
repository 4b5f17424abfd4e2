//! The public side of a published convention (issue 14, art. 10 of the convention: « les parties
//! s'engagent à communiquer ensemble », every partner named): the public page and the open data show
//! the plan without any personal name, only the indicators the coordination published, small counts
//! masked; the open data come as CSV for spreadsheets and standard CSV, JSON, and a data package whose
//! schema is checked against the files themselves.

use std::collections::BTreeMap;

use crate::common;

use common::{demo_app, get, get_bytes, login, people, post_form, Who, PASSWORD};
use ctg_domain::plan::{Direction, IndicatorKind, IndicatorValue, PlanIndicator, Target};
use ctg_store::backend_tests;
use ctg_store::testing::TestDb;

fn quantitative(name: &str, unit: &str) -> PlanIndicator {
    PlanIndicator {
        name: name.into(),
        kind: IndicatorKind::Quantitative {
            unit: unit.into(),
            baseline: None,
            baseline_year: None,
            direction: Direction::Increase,
        },
        targets: BTreeMap::from([(2026, Target::Number(10.0))]),
    }
}

fn value(n: f64) -> IndicatorValue {
    IndicatorValue {
        period: "2026".into(),
        number: Some(n),
        level: None,
        author: "Mme Claire Martin".into(),
        date: chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
        source: String::new(),
        comment: String::new(),
    }
}

backend_tests!(the_public_page_and_open_data_name_no_one_and_mask_small_counts, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        people(&store, id).await;
        let coord = login(&app, "coordination", "claire@cabbalr.fr", PASSWORD).await;
        let actor = ctg_domain::Actor::cli("test");
        let fid =
            store.create_fiche(&actor, id, crate::pdf_documents::fiche("PE-1.1", "Mme Claire Martin")).await.unwrap();
        // Three indicators: 3 places (a small count), 40 families, and one kept internal.
        let places =
            store.create_indicator(&actor, id, Some(fid), &quantitative("Places créées", "places")).await.unwrap();
        store.add_indicator_value(&actor, id, places, &value(3.0)).await.unwrap();
        let families = store
            .create_indicator(&actor, id, Some(fid), &quantitative("Familles accompagnées", "familles"))
            .await
            .unwrap();
        store.add_indicator_value(&actor, id, families, &value(40.0)).await.unwrap();
        let internal = store.create_indicator(&actor, id, None, &quantitative("Indicateur interne", "")).await.unwrap();
        store.add_indicator_value(&actor, id, internal, &value(12.0)).await.unwrap();

        // Nothing is published yet.
        let page = get(&app, &format!("/conventions/{id}/publique")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("La coordination n'a pas encore publié d'indicateur"), "{}", page.body);

        // The coordination publishes two of them, from the indicator's page, and is told so.
        for iid in [places, families] {
            let r = post_form(
                &app,
                &format!("/conventions/{id}/plan/indicateurs/{iid}/publication"),
                &coord,
                &[("publier", "oui")],
            )
            .await;
            assert_eq!(r.status, 303, "{}", r.body);
            let after = common::follow(&app, &r, &coord).await;
            assert!(
                common::texts(&after.html(), "[role=status]").concat().starts_with("Indicateur publié"),
                "{}",
                after.body
            );
        }
        let bad = post_form(
            &app,
            &format!("/conventions/{id}/plan/indicateurs/{places}/publication"),
            &coord,
            &[("publier", "peut-être")],
        )
        .await;
        assert_eq!(bad.status, 400);
        assert!(bad.body.contains("« oui » ou « non »"), "{}", bad.body);

        let page = get(&app, &format!("/conventions/{id}/publique")).await;
        let html = page.html();
        let rows: Vec<Vec<String>> = {
            let row = scraper::Selector::parse("#indicateurs-publics tbody tr").unwrap();
            let cell = scraper::Selector::parse("th, td").unwrap();
            html.select(&row).map(|r| r.select(&cell).map(|c| c.text().collect::<String>()).collect()).collect()
        };
        assert_eq!(rows.len(), 2, "{rows:?}");
        let places_row = rows.iter().find(|r| r[0] == "Places créées").expect("the published indicator");
        assert_eq!(places_row[4], "secret statistique", "3 places is a small count: {places_row:?}");
        let families_row = rows.iter().find(|r| r[0] == "Familles accompagnées").unwrap();
        assert_eq!(families_row[4], "40");
        assert!(!page.body.contains("Indicateur interne"), "an unpublished indicator stays internal");
        // No personal name: neither the fiche's pilot, nor the values' author, nor a body's members.
        assert!(page.body.contains("PE-1.1") && page.body.contains("CABBALR"), "{}", page.body);
        let mut names = vec!["Claire Martin".to_owned()];
        for b in store.bodies(id).await.unwrap() {
            names.extend(b.members.iter().map(|m| m.data.name.clone()));
        }
        for name in &names {
            assert!(!page.body.contains(name.as_str()), "the public page names « {name} »");
        }
        // The partnership, every party named (art. 10).
        for party in ["Béthune-Bruay", "Caisse d'Allocations Familiales du Pas-de-Calais"] {
            assert!(common::texts(&html, "#partenariat").concat().contains(party), "{party}");
        }

        // The open data: for spreadsheets (`;`, BOM), standard CSV, JSON, and the data package.
        let base = format!("/conventions/{id}/donnees-ouvertes");
        let anon = Who::default();
        let (status, semicolon) = get_bytes(&app, &format!("{base}/indicateurs.csv"), &anon).await;
        assert_eq!(status, 200);
        let text = String::from_utf8(semicolon).unwrap();
        assert!(text.starts_with("\u{feff}indicateur;fiche;unite;periode;valeur;cible;"), "{text}");
        assert!(text.contains("Places créées;PE-1.1;places;2026;secret statistique;10"), "{text}");
        assert!(!text.contains("Indicateur interne") && !text.contains("Claire Martin"), "{text}");
        let (_, package) = get_bytes(&app, &format!("{base}/datapackage.json"), &anon).await;
        let package: serde_json::Value = serde_json::from_slice(&package).unwrap();
        assert_eq!(package["licenses"][0]["name"], "etalab-2.0");
        let resources = package["resources"].as_array().unwrap();
        assert_eq!(resources.len(), 3);
        // Each file is described column by column: the schema is the header of the file itself.
        for r in resources {
            let path = r["path"].as_str().unwrap();
            let (status, bytes) = get_bytes(&app, &format!("{base}/{path}"), &anon).await;
            assert_eq!(status, 200, "{path}");
            let csv = String::from_utf8(bytes).unwrap();
            assert!(!csv.starts_with('\u{feff}'), "{path}: the standard variant has no BOM");
            let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
            let fields: Vec<&str> =
                r["schema"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
            assert_eq!(header, fields, "{path}");
            assert!(r["schema"]["fields"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| !f["description"].as_str().unwrap().is_empty()));
            let stem = path.trim_end_matches("-virgule.csv");
            let (_, json) = get_bytes(&app, &format!("{base}/{stem}.json"), &anon).await;
            let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
            assert_eq!(json["lignes"].as_array().unwrap().len(), csv.lines().count() - 1, "{stem}: the same rows");
        }
        println!("{} jeux de données ouverts vérifiés contre leur schéma", resources.len());
        let missing = get(&app, &format!("{base}/secret.csv")).await;
        assert_eq!(missing.status, 404);
        assert!(missing.body.contains("existe pas dans les données ouvertes"), "{}", missing.body);

        // A convention not published has no public page for the public.
        let unpublished = store.conventions().await.unwrap().into_iter().find(|c| !c.published);
        if let Some(c) = unpublished {
            let r = get(&app, &format!("/conventions/{}/publique", c.id)).await;
            assert!(r.status == 401 || r.status == 403 || r.status == 303 || r.status == 404, "{}", r.status);
        }
    }
});
