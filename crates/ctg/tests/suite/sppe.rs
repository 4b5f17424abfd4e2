//! Issue 15, point 3: the service public de la petite enfance of the demo's communes, from their legal
//! populations (page, export, API), and the EPCI rule. The thresholds themselves (3,500 / 3,501,
//! 10,000 / 10,001) are tested in `ctg_domain::sppe`.

use crate::common;

use common::{demo_app, get, texts};
use ctg_store::backend_tests;
use ctg_store::testing::TestDb;

backend_tests!(the_sppe_page_of_the_demo_lists_its_communes_by_threshold, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let r = get(&app, &format!("/conventions/{id}/sppe")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let doc = scraper::Html::parse_document(&r.body);
        // From the latest legal populations totales held: vintage 2022 (in force on 1 January 2025).
        assert_eq!(
            texts(&doc, "ul.sppe-plus-10000 li"),
            [
                "Auchel (10 172 habitants)",
                "Béthune (25 679 habitants)",
                "Bruay-la-Buissière (22 351 habitants)",
                "Lillers (10 296 habitants)",
                "Nœux-les-Mines (11 418 habitants)",
            ]
        );
        let between = texts(&doc, "ul.sppe-plus-3500 li");
        assert_eq!(between.len(), 17, "{between:?}");
        assert!(between.contains(&"Lapugnoy (3 537 habitants)".to_owned()), "{between:?}");
        assert!(!between.iter().any(|l| l.starts_with("Verquin")), "3 488 is not more than 3 500: {between:?}");
        let bethune = texts(&doc, "tr#commune-62119 td");
        assert_eq!(bethune[0], "25 679 (2022)");
        assert!(
            bethune[2].contains("schéma pluriannuel") && bethune[2].contains("relais petite enfance"),
            "{bethune:?}"
        );

        // The API says the same, with codes.
        let r = get(&app, &format!("/api/v1/conventions/{id}/sppe")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let j = r.json();
        assert_eq!(j["seuil_planification"], 3500);
        assert_eq!(j["relais_obligatoire"], true);
        let communes = j["communes"].as_array().unwrap();
        assert_eq!(communes.len(), 100);
        let b = communes.iter().find(|c| c["code_insee"] == "62119").unwrap();
        assert_eq!(b["population_totale"], 25679);
        assert_eq!(b["millesime"], 2022);
        assert_eq!(b["autorite_organisatrice"], "commune");
        let obligations: Vec<&str> = b["obligations"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
        assert_eq!(
            obligations,
            ["recenser", "informer", "planifier", "soutenir_qualite", "schema_pluriannuel", "relais_petite_enfance"]
        );

        // The export carries the same lines.
        let r = get(&app, &format!("/conventions/{id}/sppe?format=csv-virgule")).await;
        assert_eq!(r.status, 200);
        assert!(
            r.body.starts_with("code_insee,commune,population_totale,millesime,autorite"),
            "{}",
            &r.body[..200.min(r.body.len())]
        );
        assert!(r.body.contains("62119"));

        // The EPCI exercises the competence for three communes: their total is counted.
        // Ames 668, Amettes 468, Allouagne 2 873: 4 009 > 3 500, so they must plan.
        let epci = ctg_domain::Siren::parse("200072460").unwrap();
        let codes: Vec<ctg_domain::InseeCode> =
            ["62023", "62028", "62029"].iter().map(|c| ctg_domain::InseeCode::parse(c).unwrap()).collect();
        store.set_sppe_transfers(&ctg_domain::Actor::cli("test"), &epci, &codes).await.unwrap();
        let j = get(&app, &format!("/api/v1/conventions/{id}/sppe")).await.json();
        let ames = j["communes"].as_array().unwrap().iter().find(|c| c["code_insee"] == "62028").unwrap().clone();
        assert_eq!(ames["autorite_organisatrice"], "EPCI");
        assert_eq!(ames["population_totale"], 668);
        assert_eq!(ames["population_comptee"], 4009);
        assert!(ames["obligations"].as_array().unwrap().iter().any(|o| o == "planifier"));
        assert!(!ames["obligations"].as_array().unwrap().iter().any(|o| o == "schema_pluriannuel"));
    }
});
