//! The offer of services through the pages and the API, on the demo: facilities, coverage, funding,
//! downloads, statistical confidentiality, maps; on SQLite and PostgreSQL.

use crate::common;

use common::{count, demo_app, digits, get, get_as, login, people, post_form, send_json, texts, Who, PASSWORD};
use ctg_domain::diagnostic::{Area, AreaKind, Observation};
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, Store};

async fn coordinator(app: &axum::Router, store: &Store, id: i64) -> Who {
    people(store, id).await;
    login(app, "coordination", "claire@cabbalr.fr", PASSWORD).await
}

backend_tests!(the_demo_offer_is_listed_filtered_and_downloaded, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let page = get(&app, &format!("/conventions/{id}/equipements")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let doc = page.html();
        // 21 facilities named by the convention with their commune; none invented.
        assert_eq!(count(&doc, "#equipements tbody tr"), 21);
        assert!(texts(&doc, "#equipements th a").contains(&"Maison des 1000 premiers jours d'Auchel".to_owned()));

        // Espaces de vie sociale: 7 open and 2 planned.
        let evs = get(&app, &format!("/conventions/{id}/equipements?type=evs")).await.html();
        assert_eq!(count(&evs, "#equipements tbody tr"), 9);
        let planned = get(&app, &format!("/conventions/{id}/equipements?type=evs&statut=en_projet")).await.html();
        assert_eq!(count(&planned, "#equipements tbody tr"), 2);

        // The download is what the page shows, filters included.
        let csv =
            get(&app, &format!("/conventions/{id}/equipements?type=evs&statut=en_projet&format=csv-virgule")).await;
        assert_eq!(csv.status, 200);
        assert!(csv.content_type.starts_with("text/csv"));
        let lines: Vec<&str> = csv.body.lines().collect();
        assert!(lines[0].starts_with("identifiant,nom,type,commune"), "{}", lines[0]);
        assert_eq!(lines.len(), 3);
        assert!(csv.body.contains("demo-evs-richebourg"));
        for format in ["xlsx", "ods"] {
            let r = get_as(&app, &format!("/conventions/{id}/equipements?format={format}"), &Who::default()).await;
            assert_eq!(r.status, 200);
            assert!(r.body.starts_with("PK"), "{format} is a zip");
            assert!(r.headers["content-disposition"].to_str().unwrap().ends_with(&format!(".{format}\"")));
        }
        let bad = get(&app, &format!("/conventions/{id}/equipements?format=pdf")).await;
        assert_eq!(bad.status, 400);
        assert!(bad.body.contains("Format de téléchargement inconnu « pdf »"), "{}", bad.body);

        // The API gives the same list.
        let api = get(&app, &format!("/api/v1/conventions/{id}/equipements?type=maison_1000_jours")).await.json();
        let communes: Vec<&str> = api.as_array().unwrap().iter().map(|f| f["commune"].as_str().unwrap()).collect();
        assert_eq!(communes, ["62048", "62119"]);
    }
});

backend_tests!(coverage_lists_communes_without_a_service_and_a_new_facility_changes_it, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        // Maisons des 1000 premiers jours at Béthune and Auchel: the 98 other communes have none.
        let page = get(&app, &format!("/conventions/{id}/couverture?type=maison_1000_jours")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let doc = page.html();
        assert_eq!(count(&doc, "#communes-sans-service tbody tr"), 98);
        let without = texts(&doc, "#communes-sans-service th");
        assert!(!without.contains(&"Béthune".to_owned()) && without.contains(&"Lillers".to_owned()));
        // No RPE is recorded (the convention gives no list of the communes they cover): the page says
        // it is not known, and offers no command line.
        let page = get(&app, &format!("/conventions/{id}/couverture?type=rpe")).await;
        assert!(texts(&page.html(), "#nombre-sans-service")[0].starts_with("Non renseigné"), "{}", page.body);
        assert!(!page.body.contains("ctg import"));
        // The API says the same: unknown (null), not the 100 communes; and so does the download.
        let api = get(&app, &format!("/api/v1/conventions/{id}/couverture?type=rpe")).await.json();
        assert_eq!(api["communes_sans_service"], serde_json::Value::Null, "{api}");
        assert_eq!(api["equipements_saisis"], 0);
        let csv = get(&app, &format!("/conventions/{id}/couverture?type=rpe&format=csv&tableau=sans_service")).await;
        assert_eq!(csv.status, 200, "{}", csv.body);
        assert!(!csv.body.contains("Lillers"), "{}", csv.body);
        let api = get(&app, &format!("/api/v1/conventions/{id}/couverture?type=maison_1000_jours")).await.json();
        assert_eq!(api["communes_sans_service"].as_array().unwrap().len(), 98);

        // A coordinator records Béthune's RPE, which also serves Annezin.
        let who = coordinator(&app, &store, id).await;
        let r = post_form(
            &app,
            &format!("/conventions/{id}/equipements"),
            &who,
            &[
                ("type_code", "rpe"),
                ("name", "RPE de Béthune"),
                ("commune", "62119"),
                ("served", "Annezin"),
                ("capacity", ""),
                ("status", "ouvert"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let api = get(&app, &format!("/api/v1/conventions/{id}/couverture?type=rpe")).await.json();
        let left: Vec<&str> =
            api["communes_sans_service"].as_array().unwrap().iter().map(|c| c["nom"].as_str().unwrap()).collect();
        assert_eq!(left.len(), 98);
        assert!(!left.contains(&"Béthune") && !left.contains(&"Annezin"));

        // A bad form keeps what was typed and names each problem.
        let r = post_form(
            &app,
            &format!("/conventions/{id}/equipements"),
            &who,
            &[
                ("type_code", "rpe"),
                ("name", ""),
                ("commune", "62119"),
                ("served", "Atlantide"),
                ("capacity", "-3"),
                ("status", "ouvert"),
            ],
        )
        .await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("le nom est obligatoire"));
        assert!(r.body.contains("commune inconnue « Atlantide »"), "{}", r.body);
        assert!(r.body.contains("capacité invalide « -3 »"));

        // « Tout le territoire », as a fiche's communes are written, serves every commune.
        let r = post_form(
            &app,
            &format!("/conventions/{id}/equipements"),
            &who,
            &[
                ("type_code", "rpe"),
                ("name", "RPE itinérant"),
                ("commune", "62516"),
                ("served", "Tout le territoire"),
                ("capacity", ""),
                ("status", "ouvert"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let api = get(&app, &format!("/api/v1/conventions/{id}/couverture?type=rpe")).await.json();
        assert_eq!(api["communes_sans_service"].as_array().unwrap().len(), 0);

        // The downloads of the coverage page.
        let csv = get(
            &app,
            &format!("/conventions/{id}/couverture?type=maison_1000_jours&format=csv-virgule&tableau=sans_service"),
        )
        .await;
        assert_eq!(csv.body.lines().count(), 99, "header + 98 communes");
    }
});

backend_tests!(places_per_hundred_children_with_masking_for_the_public, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let who = coordinator(&app, &store, id).await;
        // The demo has no EAJE nor MAM: places are unknown (null, « non renseigné »), never 0.
        let api = get(&app, &format!("/api/v1/conventions/{id}/couverture")).await.json();
        assert_eq!(api["places_eaje"], serde_json::Value::Null, "{api}");
        assert_eq!(api["places_par_commune"][0]["places_eaje"], serde_json::Value::Null);
        assert_eq!(api["places_par_commune"][0]["places_pour_100_enfants"]["valeur"], serde_json::Value::Null);
        let page = get(&app, &format!("/conventions/{id}/couverture")).await;
        assert_eq!(count(&page.html(), "#places-non-renseignees"), 1, "{}", page.body);
        let eaje = texts(&page.html(), "#places-par-commune tbody td:nth-of-type(1)");
        assert!(eaje.len() == 100 && eaje.iter().all(|t| t == "non renseigné"), "{eaje:?}");
        // Two crèches of 40 and 20 places at Béthune, a micro-crèche of 10 at Auchel.
        for (commune, capacity, t) in
            [("62119", "40", "eaje"), ("62119", "20", "eaje"), ("62048", "10", "micro_creche")]
        {
            let r = post_form(
                &app,
                &format!("/conventions/{id}/equipements"),
                &who,
                &[
                    ("type_code", t),
                    ("name", &format!("Crèche {commune} {capacity}")),
                    ("commune", commune),
                    ("capacity", capacity),
                    ("status", "ouvert"),
                ],
            )
            .await;
            assert_eq!(r.status, 303, "{}", r.body);
        }
        // Children under 3: 600 at Béthune, 200 at Auchel, 3 at Annezin (a small count).
        let obs = |code: &str, v: f64| Observation {
            indicator: "enfants_moins_3_ans".into(),
            area: Area { kind: AreaKind::Commune, code: code.into() },
            period: "2022".into(),
            value: v,
            source: "test".into(),
            data_date: None,
        };
        store
            .import_observations(
                &ctg_domain::Actor::cli("test"),
                &[obs("62119", 600.0), obs("62048", 200.0), obs("62035", 3.0)],
                "t",
            )
            .await
            .unwrap();
        let logged = send_json(
            &app,
            "GET",
            &format!("/api/v1/conventions/{id}/couverture"),
            &who,
            &serde_json::json!({}),
            false,
        )
        .await
        .json();
        let row = |v: &serde_json::Value, code: &str| {
            v["places_par_commune"].as_array().unwrap().iter().find(|r| r["code_insee"] == code).unwrap().clone()
        };
        // By hand: Béthune 60 / 600 = 10 per 100; Auchel 10 / 200 = 5 per 100.
        assert_eq!(row(&logged, "62119")["places_pour_100_enfants"]["valeur"], 10.0);
        assert_eq!(row(&logged, "62119")["places_eaje"], 60);
        assert_eq!(row(&logged, "62048")["places_pour_100_enfants"]["valeur"], 5.0);
        assert_eq!(row(&logged, "62035")["enfants_moins_3_ans"]["valeur"], 3.0);
        // The public sees neither Annezin's 3 nor the smallest other count (Auchel's 200), which would
        // give it away through the total; nor the rates that would give the counts back.
        let public = get(&app, &format!("/api/v1/conventions/{id}/couverture")).await.json();
        assert_eq!(row(&public, "62035")["enfants_moins_3_ans"]["secret"], true);
        assert_eq!(row(&public, "62048")["enfants_moins_3_ans"]["secret"], true);
        assert_eq!(row(&public, "62048")["places_pour_100_enfants"]["secret"], true);
        assert_eq!(row(&public, "62119")["enfants_moins_3_ans"]["valeur"], 600.0);
        let csv = get(&app, &format!("/conventions/{id}/couverture?format=csv-virgule&tableau=places")).await.body;
        assert!(csv.lines().any(|l| l.starts_with("62048,Auchel,10,0,0,secret,secret")), "{csv}");
        let html = get(&app, &format!("/conventions/{id}/couverture")).await.body;
        assert!(html.contains("secret"));
    }
});

backend_tests!(funding_totals_of_the_demo_and_new_lines, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        // FACTS.md, 2024: 110,021.39 + 131,114.25 + 74,759.65 + 21,197.25 € of bonus inclusion handicap,
        // and 112,500 € of bonus mixité sociale: 449,592.54 € in all.
        let api = get(&app, &format!("/api/v1/conventions/{id}/financements")).await.json();
        assert_eq!(api["lignes"].as_array().unwrap().len(), 5);
        assert_eq!(api["totaux"]["total_centimes"], 44_959_254);
        assert_eq!(api["totaux"]["par_dispositif"]["bonus_inclusion_handicap"], 33_709_254);
        let page = get(&app, &format!("/conventions/{id}/financements")).await.html();
        assert_eq!(digits(&texts(&page, "#total-financements strong")[0]), "449592,54");

        let who = coordinator(&app, &store, id).await;
        let r = post_form(
            &app,
            &format!("/conventions/{id}/financements"),
            &who,
            &[("dispositif", "psu"), ("funder", "CAF"), ("year", "2025"), ("amount", "douze")],
        )
        .await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("montant invalide « douze »"));
        let r = post_form(
            &app,
            &format!("/conventions/{id}/financements"),
            &who,
            &[("dispositif", "psu"), ("funder", "CAF"), ("year", "2025"), ("amount", "1 000,05")],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let api = get(&app, &format!("/api/v1/conventions/{id}/financements")).await.json();
        assert_eq!(api["totaux"]["total_centimes"], 44_959_254 + 100_005);
        assert_eq!(api["totaux"]["par_annee"]["2025"], 100_005);
        let totals = get(&app, &format!("/conventions/{id}/financements?format=csv-virgule&tableau=totaux")).await.body;
        assert!(totals.contains("total,Total,450592.59"), "{totals}");
    }
});

backend_tests!(facilities_through_the_api_with_versions, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let who = coordinator(&app, &store, id).await;
        let path = format!("/api/v1/conventions/{id}/equipements");
        let body = serde_json::json!({"type": "rpe", "nom": "RPE intercommunal", "commune": "62119", "communes_desservies": ["62035", "62350"], "labels": ["AVIP"]});
        let r = send_json(&app, "POST", &path, &who, &body, true).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let created = r.json();
        assert_eq!(created["communes_desservies"], serde_json::json!(["62035", "62350"]));
        let fid = created["id"].as_i64().unwrap();
        let put = |version: i64| serde_json::json!({"version": version, "type": "rpe", "nom": "RPE intercommunal", "commune": "62119", "capacite": 2});
        let r = send_json(&app, "PUT", &format!("{path}/{fid}"), &who, &put(1), true).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = send_json(&app, "PUT", &format!("{path}/{fid}"), &who, &put(1), true).await;
        assert_eq!(r.status, 409, "{}", r.body);
        // Outside the territory, unknown fields, unknown types: clear 400s.
        let r = send_json(
            &app,
            "POST",
            &path,
            &who,
            &serde_json::json!({"type": "rpe", "nom": "X", "commune": "75056"}),
            true,
        )
        .await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("n'est pas sur le territoire"), "{}", r.body);
        let r = send_json(
            &app,
            "POST",
            &path,
            &who,
            &serde_json::json!({"type": "piscine", "nom": "X", "commune": "62119"}),
            true,
        )
        .await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("piscine"));
        let r = send_json(
            &app,
            "POST",
            &path,
            &who,
            &serde_json::json!({"type": "rpe", "nom": "X", "commune": "62119", "couleur": "bleu"}),
            true,
        )
        .await;
        assert_eq!(r.status, 400);
        // The facility's page.
        let page = get(&app, &format!("/conventions/{id}/equipements/{fid}")).await;
        let facts = texts(&page.html(), "#fiche-equipement dd");
        assert_eq!(facts[4], "2", "capacity after the PUT: {facts:?}");
        assert_eq!(facts[5], "aucun", "the PUT replaced the labels: {facts:?}");
        let types = get(&app, "/api/v1/types-equipement").await.json();
        assert!(types.as_array().unwrap().iter().any(|t| t["code"] == "maison_1000_jours"));
    }
});

backend_tests!(the_diagnostic_compares_a_commune_and_draws_charts, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let page = get(&app, &format!("/conventions/{id}/diagnostic?commune=62119")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        // The population series of the CABBALR (1982…2022) is drawn, with its table beside it.
        assert!(page.body.contains("<svg"), "a chart");
        assert!(page.body.contains("role=\"img\""));
        // A time series is a line on a time axis that says where its vertical axis starts.
        assert!(page.body.contains("<polyline") && page.body.contains("il ne part pas de zéro"));
        let doc = page.html();
        assert!(texts(&doc, "table.diagnostic thead th").contains(&"Béthune".to_owned()));
        // The comparison commune / EPCI / département / France, as bars side by side.
        let compared = texts(&doc, ".chart-grid svg title");
        assert!(compared.iter().any(|t| t.ends_with(": comparaison")), "{compared:?}");
        assert!(
            page.body.contains("Béthune\u{a0}:") || page.body.contains("Béthune :"),
            "the commune is among the bars"
        );
        // Key figures at the top, each with its period and trend.
        let cards = texts(&doc, ".key-figures li");
        assert!(!cards.is_empty() && cards.len() <= 4, "{cards:?}");
        assert!(cards[0].contains("depuis") || cards[0].contains(" en "), "{cards:?}");
        let api = get(&app, &format!("/api/v1/conventions/{id}/diagnostic?commune=62119")).await.json();
        assert_eq!(api["commune"], "62119");
        // Changes between the first and the last period: the childminders of the demo.
        let childminders = api["themes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["indicateurs"].as_array().unwrap().iter())
            .find(|i| i["code"] == "assistants_maternels")
            .unwrap()
            .clone();
        assert_eq!(
            childminders["evolution"],
            serde_json::json!({"de": "2017", "a": "2025", "absolue": -782.0, "pourcentage": -42.11})
        );
        assert!(
            page.body
                .contains("Assistants maternels : 1\u{202f}857 en 2017 → 1\u{202f}075 en 2025, soit −782 (−42,1 %)"),
            "{}",
            page.body
        );
        let bad = get(&app, &format!("/conventions/{id}/diagnostic?commune=75056")).await;
        assert_eq!(bad.status, 400);
        let csv = get(&app, &format!("/conventions/{id}/diagnostic?format=csv-virgule")).await.body;
        assert!(
            csv.starts_with("theme,indicateur,libelle,periode,commune,epci,departement,france,unite,source"),
            "{csv}"
        );
    }
});
