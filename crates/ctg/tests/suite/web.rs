//! The web surface, API and pages, on both databases, with the demo loaded.

use crate::common;

use common::{count, demo_app, digits, get, texts};
use ctg_store::backend_tests;
use ctg_store::testing::TestDb;

backend_tests!(api_epci_conventions_and_territory, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;

        let r = get(&app, "/api/v1/epcis/200072460").await;
        assert_eq!(r.status, 200);
        assert!(r.content_type.starts_with("application/json"));
        let epci = r.json();
        assert_eq!(epci["nature"], "CA");
        assert_eq!(epci["communes"].as_array().unwrap().len(), 100);
        let bethune = epci["communes"].as_array().unwrap().iter().find(|c| c["code_insee"] == "62119").unwrap();
        assert_eq!(bethune["nom"], "Béthune");
        assert_eq!(bethune["populations"].as_array().unwrap().len(), 3);

        let list = get(&app, "/api/v1/conventions").await.json();
        let list = list.as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["id"], id);
        assert_eq!(list[0]["statut"], "en_vigueur");
        assert_eq!(list[1]["statut"], "expiree");

        let c = get(&app, &format!("/api/v1/conventions/{id}")).await.json();
        assert_eq!(c["debut"], "2026-01-01");
        assert_eq!(c["fin"], "2030-12-31");
        assert_eq!(c["parties"].as_array().unwrap().len(), 4);
        assert_eq!(c["parties"][1]["organisation"]["sigle"], "CAF");
        assert_eq!(c["parties"][1]["signataire"], "Jean-Jacques Pion");
        assert_eq!(c["enjeux"].as_array().unwrap().len(), 3);
        let ambitions: usize =
            c["enjeux"].as_array().unwrap().iter().map(|e| e["ambitions"].as_array().unwrap().len()).sum();
        assert_eq!(ambitions, 8);
        assert_eq!(c["approches"].as_array().unwrap().len(), 3);
        let kinds: Vec<&str> =
            c["instances"].as_array().unwrap().iter().map(|b| b["nature"].as_str().unwrap()).collect();
        assert_eq!(kinds, vec!["copil_restreint", "copil_elargi", "comite_technique", "copil_communal"]);
        assert_eq!(c["precedente"]["titre"], "Convention Territoriale Globale 2021-2025 (CTG 1)");

        let t = get(&app, &format!("/api/v1/conventions/{id}/territoire")).await.json();
        assert_eq!(t["millesimes"], serde_json::json!([2020, 2021, 2022]));
        assert_eq!(t["communes"].as_array().unwrap().len(), 100);
        let totals = t["totaux"].as_array().unwrap();
        assert_eq!(totals[0]["totale"]["valeur"], 279_142);
        assert_eq!(totals[0]["municipale"]["valeur"], serde_json::Value::Null);
        assert_eq!(totals[0]["municipale"]["communes_sans_valeur"], 100);
        assert_eq!(totals[1]["municipale"]["valeur"], 275_327);
        assert_eq!(totals[1]["comptee_a_part"]["valeur"], 3_104);
        assert_eq!(totals[1]["totale"]["valeur"], 278_431);
        assert_eq!(totals[2]["municipale"]["valeur"], 275_736);
        assert_eq!(
            t["evolutions"][0],
            serde_json::json!({"de": 2020, "a": 2021, "absolue": -711, "pourcentage": -0.25})
        );
    }
});

backend_tests!(unknown_ids_give_404_in_the_language_of_the_surface, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, _) = demo_app(&store).await;
        for path in [
            "/api/v1/conventions/999",
            "/api/v1/conventions/abc",
            "/api/v1/conventions/999/territoire",
            "/api/v1/epcis/200000172",
            "/api/v1/nulle-part",
        ] {
            let r = get(&app, path).await;
            assert_eq!(r.status, 404, "{path}");
            let body = r.json();
            assert_eq!(body["error"]["code"], "not_found", "{path}");
            assert!(body["error"]["message"].as_str().unwrap().len() > 5, "{path}");
        }
        let r = get(&app, "/api/v1/epcis/12345").await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["error"]["message"], "SIREN « 12345 » invalide : 9 chiffres attendus");
        // A bad query string is an API error too: JSON, in French.
        for (path, message) in [
            ("/api/v1/conventions/2/evaluation?annee=2026&annee=2027", "paramètre « annee » donné plusieurs fois"),
            ("/api/v1/conventions/2/textes/convention/difference?de=1&a=99999999999999999999", "a : nombre trop grand"),
            ("/api/v1/conventions/2/diagnostic?commune=1&commune=2", "paramètre « commune » donné plusieurs fois"),
        ] {
            let r = get(&app, path).await;
            assert_eq!(r.status, 400, "{path}");
            assert!(r.content_type.starts_with("application/json"), "{path}: {}", r.content_type);
            assert_eq!(
                r.json()["error"]["message"],
                format!("Paramètres de l'adresse invalides : {message}"),
                "{path}"
            );
        }

        for path in ["/conventions/999", "/conventions/-1/territoire", "/nulle-part"] {
            let r = get(&app, path).await;
            assert_eq!(r.status, 404, "{path}");
            assert!(r.content_type.starts_with("text/html"), "{path}");
            let doc = r.html();
            assert_eq!(texts(&doc, "h1"), vec!["Page introuvable"]);
            assert_eq!(count(&doc, "html[lang=fr]"), 1);
        }
    }
});

backend_tests!(health_follows_the_database, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let app = ctg_web::router(ctg_web::AppState::new(store.clone()));
        assert_eq!(get(&app, "/healthz").await.status, 200);
        store.close().await;
        let r = get(&app, "/healthz").await;
        assert_eq!(r.status, 503);
        assert!(r.body.contains("indisponible"), "{}", r.body);
        // An internal error: a plain French message, never its cause.
        let page = get(&app, "/").await;
        assert_eq!(page.status, 500);
        assert!(page.body.contains("Une erreur interne est survenue"), "{}", page.body);
        let api = get(&app, "/api/v1/conventions").await;
        assert_eq!(api.status, 500);
        assert_eq!(api.json()["error"]["code"], "internal");
        for body in [&page.body, &api.body] {
            assert!(!body.to_lowercase().contains("pool") && !body.contains("sqlx"), "{body}");
        }
    }
});

backend_tests!(pages_are_french_accessible_and_sortable, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;

        let home = get(&app, "/").await;
        assert_eq!(home.status, 200);
        let doc = home.html();
        assert_eq!(count(&doc, "html[lang=fr]"), 1);
        assert_eq!(count(&doc, "h1"), 1);
        assert_eq!(count(&doc, "a.skip-link[href='#contenu']"), 1);
        assert_eq!(count(&doc, "header[role=banner]"), 1);
        assert_eq!(count(&doc, "main#contenu"), 1);
        assert_eq!(count(&doc, "footer[role=contentinfo]"), 1);
        assert_eq!(count(&doc, "nav[aria-label]"), 1);
        assert!(texts(&doc, "tbody th a")
            .contains(&"Convention Territoriale Globale de Service aux Familles 2026-2030".to_string()));
        assert_eq!(count(&doc, "th[scope=col]"), 4);
        let csp = home.headers.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"), "{csp}");

        let doc = get(&app, &format!("/conventions/{id}")).await.html();
        assert_eq!(texts(&doc, "h1"), vec!["Convention Territoriale Globale de Service aux Familles 2026-2030"]);
        assert_eq!(count(&doc, "section#parties tbody tr, section[aria-labelledby=parties] tbody tr"), 4);
        assert_eq!(count(&doc, "ol.ambitions li"), 8);
        assert_eq!(texts(&doc, "section[aria-labelledby=gouvernance] tbody th").len(), 4);
        assert!(texts(&doc, ".lead .status").contains(&"En vigueur".to_string()));
        assert!(doc.html().contains("Olivier Gacquerre, Président"));
        assert!(doc.html().contains("Conseil communautaire du 30 septembre 2025"));

        let doc = get(&app, &format!("/conventions/{id}/territoire")).await.html();
        assert_eq!(count(&doc, "h1"), 1);
        assert_eq!(count(&doc, "#table-communes tbody tr"), 100);
        assert_eq!(count(&doc, "#table-communes thead th"), count(&doc, "#table-communes thead th[scope=col]"));
        assert_eq!(count(&doc, "#table-communes tbody th[scope=row]"), 100);
        assert_eq!(digits(&texts(&doc, "td[data-total='2021']")[0]), "278431");
        assert_eq!(digits(&texts(&doc, "td[data-total='2020']")[0]), "279142");
        assert_eq!(texts(&doc, "#table-evolutions tbody th")[0], "2020 → 2021");
        assert_eq!(&texts(&doc, "#table-evolutions tbody td")[..2], &["−711".to_string(), "−0,25 %".to_string()]);
        assert_eq!(count(&doc, "#table-communes th[aria-sort=ascending]"), 1);
        let first_by_name = texts(&doc, "#table-communes tbody th")[0].clone();
        assert_eq!(first_by_name, "Allouagne");

        // Sorted by the total population of 2021, largest first: Béthune (25,303), then Bruay-la-Buissière.
        let doc = get(&app, &format!("/conventions/{id}/territoire?tri=totale-2021&ordre=desc")).await.html();
        let names = texts(&doc, "#table-communes tbody th");
        assert_eq!(&names[..2], &["Béthune".to_string(), "Bruay-la-Buissière".to_string()]);
        assert_eq!(count(&doc, "#table-communes th[aria-sort=descending]"), 1);
        // The header of the current column now offers the other order.
        let sel = scraper::Selector::parse("#table-communes th[aria-sort] a").unwrap();
        let href = doc.select(&sel).next().unwrap().value().attr("href").unwrap();
        assert!(href.contains("tri=totale-2021&ordre=asc"), "{href}");
        // The same table as CSV, for spreadsheets: 100 communes, unknown figures left empty.
        let csv = get(&app, &format!("/conventions/{id}/territoire.csv?format=csv-virgule")).await;
        assert_eq!(csv.status, 200);
        assert!(csv.content_type.starts_with("text/csv"));
        assert_eq!(csv.body.lines().count(), 101);
        let bethune = csv.body.lines().find(|l| l.starts_with("62119,")).unwrap();
        assert!(bethune.starts_with("62119,Béthune,,,25314,24992,311,25303,25342,337,25679,"), "{bethune}");
        // Where the data come from and when (art. 9: « mentionner dans tout document » the source).
        assert!(csv.body.lines().next().unwrap().ends_with(",source_des_donnees,donnees_au"));
        assert!(bethune.contains("Insee, populations légales") && bethune.ends_with(",2026-11-27"), "{bethune}");
        // An unknown sort key falls back to the name.
        let doc = get(&app, &format!("/conventions/{id}/territoire?tri=%3Cscript%3E")).await.html();
        assert_eq!(texts(&doc, "#table-communes tbody th")[0], "Allouagne");
    }
});

#[tokio::test]
async fn openapi_responses_are_described_and_errors_documented() {
    let db = TestDb::new(ctg_store::Backend::Sqlite).await;
    let app = ctg_web::router(ctg_web::AppState::new(db.store.clone()));
    let r = get(&app, "/api/v1/openapi.json").await;
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths: Vec<&String> = doc["paths"].as_object().unwrap().keys().collect();
    for p in [
        "/api/v1/epcis/{siren}",
        "/api/v1/conventions",
        "/api/v1/conventions/{id}",
        "/api/v1/conventions/{id}/territoire",
    ] {
        assert!(paths.iter().any(|k| k.as_str() == p), "{p} missing from {paths:?}");
    }
    assert!(doc["components"]["schemas"]["TerritoireDto"]["properties"]["totaux"].is_object());
    assert!(doc["paths"]["/api/v1/conventions/{id}"]["put"].is_object(), "the PUT of a convention");
    assert!(doc["components"]["securitySchemes"]["jeton"].is_object());
    // OpenAPI 3.1 requires a description on every response; each operation lists the errors it may
    // answer (scripts/contract.sh checks the rest against a running server).
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for (code, r) in responses {
                assert!(r["description"].as_str().is_some_and(|d| !d.is_empty()), "{method} {path} {code}");
            }
            if path.contains("{id}") {
                for code in ["401", "403", "404"] {
                    assert!(responses.contains_key(code), "{method} {path} does not document {code}");
                }
            }
            if op.get("requestBody").is_some() {
                assert!(responses.contains_key("400"), "{method} {path} does not document 400");
            }
        }
    }
    db.finish().await;
}

backend_tests!(diagnostic_of_the_demo_beside_the_departement_with_masking, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let d = get(&app, &format!("/api/v1/conventions/{id}/diagnostic")).await.json();
        assert_eq!(d["departement"], "62");
        let find = |code: &str| {
            d["themes"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|t| t["indicateurs"].as_array().unwrap().iter())
                .find(|i| i["code"] == code)
                .cloned()
                .unwrap()
        };
        let poverty = find("taux_pauvrete");
        assert_eq!(
            poverty["valeurs"][0],
            serde_json::json!({"periode": "2021", "commune": null, "epci": 18.6, "departement": 17.8, "france": null, "masque": false})
        );
        let young = find("part_15_29");
        assert_eq!(
            (young["valeurs"][0]["epci"].as_f64(), young["valeurs"][0]["departement"].as_f64()),
            (Some(17.5), Some(17.2))
        );
        let childminders = find("assistants_maternels");
        let periods: Vec<&str> =
            childminders["valeurs"].as_array().unwrap().iter().map(|v| v["periode"].as_str().unwrap()).collect();
        assert_eq!(periods, vec!["2017", "2021", "2023", "2025"]);
        assert_eq!(childminders["valeurs"][0]["epci"], 1857.0);
        assert_eq!(find("eaje")["valeurs"][0]["epci"], 22.0);
        // Annex 1: « On dénombrait (source CAF 62 au 31/12/2022), […] 9404 bénéficiaires du RSA ».
        assert_eq!(find("beneficiaires_rsa")["valeurs"][0]["periode"], "2022-12");
        // Annex 2: « 1195 Assistants Maternels sur le territoire dont 1006 actives sur l'année 2023 (en
        // 2021 : 1331 Assistants Maternels dont 1142 actives) ».
        let active = find("assistants_maternels_actifs");
        let active: Vec<(String, f64)> = active["valeurs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["periode"].as_str().unwrap().to_owned(), v["epci"].as_f64().unwrap()))
            .collect();
        assert_eq!(active, vec![("2021".to_owned(), 1142.0), ("2023".to_owned(), 1006.0)]);

        // A small protected count is masked for the public, shown to the logged-in.
        let small = ctg_import::observations::parse(
            "o.csv",
            b"indicateur,type_territoire,code_territoire,periode,valeur,source,date_donnees\nnaissances,epci,200072460,2024,3,test,\n",
        )
        .unwrap();
        store.import_observations(&ctg_domain::Actor::cli("test"), &small, "test").await.unwrap();
        let d = get(&app, &format!("/api/v1/conventions/{id}/diagnostic")).await.json();
        let births = d["themes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["indicateurs"].as_array().unwrap().iter())
            .find(|i| i["code"] == "naissances")
            .cloned()
            .unwrap();
        let last = births["valeurs"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(
            last,
            serde_json::json!({"periode": "2024", "commune": null, "epci": null, "departement": null, "france": null, "masque": true})
        );
        common::people(&store, id).await;
        let louis = common::login(&app, "lecteur", "louis@ctg.fr", common::PASSWORD).await;
        let d = common::get_as(&app, &format!("/api/v1/conventions/{id}/diagnostic"), &louis).await.json();
        let births = d["themes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["indicateurs"].as_array().unwrap().iter())
            .find(|i| i["code"] == "naissances")
            .cloned()
            .unwrap();
        assert_eq!(births["valeurs"].as_array().unwrap().last().unwrap()["epci"], 3.0);

        // The page: one table per theme, the département beside, French figures.
        let page = get(&app, &format!("/conventions/{id}/diagnostic")).await;
        assert_eq!(page.status, 200);
        let doc = page.html();
        assert_eq!(count(&doc, "h1"), 1);
        assert!(texts(&doc, "h2").contains(&"Revenus".to_string()));
        let tr = scraper::Selector::parse("table.diagnostic tbody tr").unwrap();
        let cell = scraper::Selector::parse("th, td").unwrap();
        let rows: Vec<String> = doc
            .select(&tr)
            .map(|r| {
                r.select(&cell).map(|c| c.text().collect::<String>().trim().to_owned()).collect::<Vec<_>>().join(" ")
            })
            .collect();
        assert!(rows.iter().any(|r| r.starts_with("Taux de pauvreté 2021 18,6 17,8 — %")), "{rows:?}");
        assert!(rows.iter().any(|r| r.contains("Naissances domiciliées 2024 secret statistique")), "{rows:?}");
        assert!(doc.html().contains("secret statistique"));
    }
});
