//! Each party's commitments and « Qui finance quoi » through the pages and the API, on the demo, on
//! SQLite and PostgreSQL: the 2024 bonuses add up to 449,592.54 €, an unknown amount stays unknown (on
//! the page, in the evaluation, in the API and the downloads), means name a party of the convention.

use crate::common;

use common::{demo_app, digits, get, get_as, get_bytes, login, people, post_form, send_json, texts, Who, PASSWORD};
use ctg_domain::plan::{FicheStatus, NewFiche};
use ctg_store::backend_tests;
use ctg_store::testing::TestDb;

fn fiche(code: &str) -> NewFiche {
    NewFiche {
        code: code.into(),
        title: format!("Fiche {code}"),
        description: String::new(),
        ambitions: vec![1],
        objectives: vec![],
        pilot_organisation: "CABBALR".into(),
        pilot_person: String::new(),
        partners: vec![],
        public: String::new(),
        communes: vec![],
        start: None,
        end: None,
        priority: None,
        status: FicheStatus::InProgress,
        approaches: vec![],
        needs: String::new(),
    }
}

backend_tests!(who_funds_what_sums_the_2024_bonuses_and_never_counts_unknown_as_zero, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        // The acceptance test of issue 12: the five 2024 bonuses of the CAF, 449,592.54 €.
        let api = get(&app, &format!("/api/v1/conventions/{id}/qui-finance-quoi")).await.json();
        let totals = api["totaux"].as_array().unwrap();
        assert_eq!(totals.len(), 1, "{api}");
        assert_eq!((totals[0]["partie"].as_str(), totals[0]["annee"].as_i64()), (Some("CAF"), Some(2024)));
        assert_eq!(totals[0]["depense"]["total_centimes"], 44_959_254);
        assert_eq!(totals[0]["prevu"]["connus"], 0);
        assert_eq!(api["lignes"][0]["lignes"], 5);
        let page = get(&app, &format!("/conventions/{id}/qui-finance-quoi")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let doc = page.html();
        assert_eq!(digits(&texts(&doc, "#qui-finance-totaux tbody td")[2]), "449592,54");

        // Two fiches of ambition 1: the CAF plans 1,200 € on one, and an amount left blank on the other.
        let actor = ctg_domain::Actor::cli("test");
        let a = store.create_fiche(&actor, id, fiche("PE-1")).await.unwrap();
        let b = store.create_fiche(&actor, id, fiche("PE-2")).await.unwrap();
        people(&store, id).await;
        let who = login(&app, "coordination", "claire@cabbalr.fr", PASSWORD).await;
        let means = |fid: i64| format!("/conventions/{id}/plan/fiches/{fid}/moyens");
        let r = post_form(
            &app,
            &means(a),
            &who,
            &[("means", "Caisse d'allocations familiales du Pas-de-Calais ; 2026 ; ; 1 200 ; ; fonctionnement ;")],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r = post_form(&app, &means(b), &who, &[("means", "caf ; 2026 ; 0,5 ; ; ; ;")]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        // An organisation that is not a party of the convention is refused, the parties named.
        let r = post_form(&app, &means(b), &who, &[("means", "Commune de Lillers ; 2026 ; ; 10 ; ; ;")]).await;
        assert_eq!(r.status, 400);
        assert!(
            r.body.contains(
                "ligne 1 : « Commune de Lillers » n&#39;est pas une partie de la convention (parties : CABBALR"
            ) || r.body.contains(
                "ligne 1 : « Commune de Lillers » n&#x27;est pas une partie de la convention (parties : CABBALR"
            ),
            "{}",
            r.body
        );
        // The fiche shows the blank amount as unknown.
        let fiche_page = get_as(&app, &format!("/conventions/{id}/plan/fiches/{b}"), &who).await.body;
        assert!(fiche_page.contains("<td class=\"num\">inconnu</td>"), "{fiche_page}");

        // « Qui finance quoi »: a total over an unknown part says it is partial.
        let api = get(&app, &format!("/api/v1/conventions/{id}/qui-finance-quoi")).await.json();
        let row = api["lignes"].as_array().unwrap().iter().find(|l| l["annee"] == 2026).unwrap().clone();
        assert_eq!((row["partie"].as_str(), row["ambitions"].clone()), (Some("CAF"), serde_json::json!([1])));
        assert_eq!(row["prevu"]["connus_centimes"], 120_000);
        assert_eq!(row["prevu"]["inconnus"], 1);
        assert_eq!(row["prevu"]["total_centimes"], serde_json::Value::Null);
        assert_eq!(row["depense"]["inconnus"], 2);
        assert_eq!(row["depense"]["texte"], "inconnu (2 montants inconnus)");
        let page = get(&app, &format!("/conventions/{id}/qui-finance-quoi")).await.body;
        assert!(page.contains("(1 montant inconnu)"), "{page}");
        assert!(page.replace('\u{202f}', " ").contains("au moins 1 200,00 € (1 montant inconnu)"), "{page}");
        // The evaluation says the same, not 0,00 € for the blank.
        let eval = get(&app, &format!("/conventions/{id}/evaluation")).await.body;
        assert!(eval.replace('\u{202f}', " ").contains("au moins 1 200,00 € (1 montant inconnu)"), "{eval}");

        // The downloads: the known part, and the count of unknown amounts beside it; never 0 for one.
        let csv = get(&app, &format!("/conventions/{id}/qui-finance-quoi?format=csv")).await.body;
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "partie,annee,ambitions,nature,source,prevu,prevu_montants_inconnus,depense,depense_montants_inconnus,lignes,\
             source_des_donnees,donnees_au"
        );
        let row = |start: &str| lines.iter().any(|l| l.starts_with(&format!("{start},")));
        assert!(row("CAF,2024,,Fonctionnement,Financements de l'offre,,0,449592.54,0,5"), "{csv}");
        assert!(row("CAF,2026,1,Fonctionnement,Moyens des fiches,1200.00,1,,2,2"), "{csv}");
        let totals = get(&app, &format!("/conventions/{id}/qui-finance-quoi?format=csv&tableau=totaux")).await.body;
        assert!(totals.contains("CAF,2024,,0,449592.54,0"), "{totals}");
        for format in ["xlsx", "ods"] {
            let (status, bytes) =
                get_bytes(&app, &format!("/conventions/{id}/qui-finance-quoi?format={format}"), &Who::default()).await;
            assert_eq!(status, 200, "{format}");
            assert!(bytes.starts_with(b"PK"), "{format}: a zipped workbook");
        }
    }
});

backend_tests!(commitments_of_the_parties_are_quoted_and_changed_by_their_party, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        // The demo quotes art. 6 for each of the four parties; the collectivités also for annex 3.
        let api = get(&app, &format!("/api/v1/conventions/{id}/engagements")).await.json();
        let all = api.as_array().unwrap();
        let parties: Vec<&str> = all.iter().map(|e| e["partie"].as_str().unwrap()).collect();
        assert_eq!(parties, ["CABBALR", "CABBALR", "CAF", "MSA", "Département", "Département"]);
        assert!(all.iter().all(|e| e["source"].as_str().unwrap().starts_with("art. 6")));
        assert!(all[2]["texte"].as_str().unwrap().contains("mettre en œuvre les moyens nécessaires"));
        let page = get(&app, &format!("/conventions/{id}/engagements")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(texts(&page.html(), "section.party-commitments h2").len(), 4);

        let p = people(&store, id).await;
        // A contributor of the CAF changes the CAF's commitments, not the CABBALR's.
        let camille = login(&app, "contributeur", "camille@caf.fr", PASSWORD).await;
        let path = format!("/conventions/{id}/engagements");
        let r = post_form(&app, &path, &camille, &[("party", &p.epci_party.to_string()), ("text", "Autre")]).await;
        assert_eq!(r.status, 403, "{}", r.body);
        let r =
            post_form(&app, &path, &camille, &[("party", &p.caf_party.to_string()), ("text", "  "), ("source", "")])
                .await;
        assert_eq!(r.status, 400);
        assert!(
            r.body.contains("le texte de l&#39;engagement est vide")
                || r.body.contains("le texte de l&#x27;engagement est vide"),
            "{}",
            r.body
        );
        let r = post_form(
            &app,
            &path,
            &camille,
            &[
                ("party", &p.caf_party.to_string()),
                ("text", "Fournir les données"),
                ("source", "art. 6"),
                ("ambition", "2"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);

        // Through the API, from the version read; a stale version is refused; unknown fields too.
        let claire = login(&app, "coordination", "claire@cabbalr.fr", PASSWORD).await;
        let api_path = format!("/api/v1/conventions/{id}/engagements");
        let created = get(&app, &api_path).await.json();
        let mine = created.as_array().unwrap().iter().find(|e| e["texte"] == "Fournir les données").unwrap().clone();
        assert_eq!(mine["ambition"], 2);
        let cid = mine["id"].as_i64().unwrap();
        let body = |v: i64| serde_json::json!({"partie_id": p.caf_party, "texte": "Fournir les données statistiques", "source": "art. 6", "version": v});
        let r = send_json(&app, "PUT", &format!("{api_path}/{cid}"), &claire, &body(1), true).await;
        assert_eq!((r.status.as_u16(), r.json()["version"].as_i64()), (200, Some(2)), "{}", r.body);
        let r = send_json(&app, "PUT", &format!("{api_path}/{cid}"), &claire, &body(1), true).await;
        assert_eq!(r.status, 409, "{}", r.body);
        let r = send_json(
            &app,
            "POST",
            &api_path,
            &claire,
            &serde_json::json!({"partie_id": p.caf_party, "texte": "x", "montant": 1}),
            true,
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        let r = send_json(&app, "POST", &api_path, &claire, &serde_json::json!({"partie_id": 999, "texte": "x"}), true)
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("n'est pas une partie de la convention"), "{}", r.body);
    }
});
