//! The life of the convention through its pages: signatures with their deliberations, an avenant in
//! force only when every party has signed it, the versions of the text and their difference, a
//! termination under art. 13 and the next date that matters; on SQLite and PostgreSQL.

use crate::common;

use common::{get, login, people, post_form, texts, Who, PASSWORD};
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, Store};

async fn admin(app: &axum::Router, store: &Store, id: i64) -> Who {
    people(store, id).await;
    login(app, "administrateur", "alice@ctg.fr", PASSWORD).await
}

/// A draft copy of the demo's convention (same four signatories, nobody signed yet).
async fn draft(store: &Store) -> i64 {
    let mut c =
        ctg_import::convention::parse("c.json", include_bytes!("../../../../data/demo/conventions.json")).unwrap();
    let mut new = c.pop().unwrap();
    new.title = "CTG à signer".into();
    new.status = ctg_domain::ConventionStatus::Draft;
    new.predecessor = None;
    new.published = true;
    store.create_convention(&ctg_domain::Actor::cli("test"), &new, None).await.unwrap()
}

backend_tests!(signatures_put_the_convention_in_force_from_the_last_one, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = common::demo_app(&store).await;
        let who = admin(&app, &store, id).await;
        let c = draft(&store).await;
        let page = get(&app, &format!("/conventions/{c}/vie")).await;
        assert_eq!(texts(&page.html(), "#statut-vie"), ["Brouillon"]);
        let parties = store.convention(c).await.unwrap().parties;
        assert_eq!(parties.len(), 4);
        // A deliberation dated after the signature is refused.
        let r = post_form(
            &app,
            &format!("/conventions/{c}/vie/parties/{}/signature", parties[0].id),
            &who,
            &[("date", "2026-02-01"), ("deliberation", "Délibération 2026-01"), ("deliberation_date", "2026-02-15")],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        for (k, p) in parties.iter().enumerate() {
            let day = format!("2026-0{}-01", k + 1);
            let r = post_form(
                &app,
                &format!("/conventions/{c}/vie/parties/{}/signature", p.id),
                &who,
                &[("date", &day), ("deliberation", "Délibération du conseil"), ("deliberation_date", "2025-12-15")],
            )
            .await;
            assert_eq!(r.status, 303, "{}", r.body);
            let status = texts(&get(&app, &format!("/conventions/{c}/vie")).await.html(), "#statut-vie");
            if k < 3 {
                assert_eq!(status, [format!("En attente de signatures ({} sur 4)", k + 1)]);
            }
        }
        // Signed by all on 1 April 2026, after its start (1 January): in force from that day.
        let page = get(&app, &format!("/conventions/{c}/vie")).await;
        assert_eq!(texts(&page.html(), "#statut-vie"), ["En vigueur"]);
        assert_eq!(texts(&page.html(), "#en-vigueur-depuis"), ["01/04/2026"]);
        assert!(texts(&page.html(), "#prochaine-echeance")[0].starts_with("31/12/2030"), "{}", page.body);
    }
});

backend_tests!(an_avenant_is_in_force_once_all_have_signed_and_the_text_keeps_its_versions, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = common::demo_app(&store).await;
        let who = admin(&app, &store, id).await;
        let r = post_form(
            &app,
            &format!("/conventions/{id}/vie/textes"),
            &who,
            &[
                ("key", "convention"),
                ("content", "Article 1 : objet\nArticle 2 : la convention dure cinq ans\nArticle 3 : évaluation\n"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r = post_form(
            &app,
            &format!("/conventions/{id}/vie/avenants"),
            &who,
            &[
                ("date", "2026-09-01"),
                ("title", "Durée de la convention"),
                ("target1", "texte"),
                ("before1", "la convention dure cinq ans"),
                ("after1", "la convention dure six ans"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let avenant = store.avenants(id).await.unwrap().remove(0);
        assert_eq!(avenant.number, 1);
        let parties = store.convention(id).await.unwrap().parties;
        // A signature cannot precede the avenant's own date.
        let r = post_form(
            &app,
            &format!("/conventions/{id}/vie/avenants/{}/signatures/{}", avenant.id, parties[0].id),
            &who,
            &[("date", "2026-08-01")],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(
            r.body.contains("précède la date de l&#39;avenant") || r.body.contains("précède la date de l'avenant"),
            "{}",
            r.body
        );
        // Three of four parties sign: not in force, the text in force is still version 1.
        for p in &parties[..3] {
            let r = post_form(
                &app,
                &format!("/conventions/{id}/vie/avenants/{}/signatures/{}", avenant.id, p.id),
                &who,
                &[("date", "2026-09-10")],
            )
            .await;
            assert_eq!(r.status, 303, "{}", r.body);
        }
        let page = get(&app, &format!("/conventions/{id}/vie")).await;
        assert!(page.body.contains("en attente de signatures"), "{}", page.body);
        assert!(
            texts(&page.html(), "#prochaine-echeance")[0].contains("Avenant n° 1 en attente de signatures (3 sur 4)"),
            "{}",
            page.body
        );
        let r = post_form(
            &app,
            &format!("/conventions/{id}/vie/avenants/{}/signatures/{}", avenant.id, parties[3].id),
            &who,
            &[("date", "2026-09-20")],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let page = get(&app, &format!("/conventions/{id}/vie")).await;
        assert!(page.body.contains("en vigueur depuis le 20/09/2026"), "{}", page.body);
        // The text keeps both versions; the difference shows the changed line.
        let text = get(&app, &format!("/conventions/{id}/textes/convention?de=1&a=2")).await;
        assert_eq!(text.status, 200, "{}", text.body);
        let removed = texts(&text.html(), "#differences .diff-retrait");
        let added = texts(&text.html(), "#differences .diff-ajout");
        assert_eq!(removed, ["− Article 2 : la convention dure cinq ans"]);
        assert_eq!(added, ["+ Article 2 : la convention dure six ans"]);
        // A second avenant whose « before » is not in the text is refused, and nothing is written.
        let r = post_form(
            &app,
            &format!("/conventions/{id}/vie/avenants"),
            &who,
            &[
                ("date", "2026-10-01"),
                ("title", "X"),
                ("target1", "texte"),
                ("before1", "introuvable"),
                ("after1", "y"),
            ],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(store.avenants(id).await.unwrap().len(), 1);
    }
});

backend_tests!(a_notice_on_31_august_terminates_on_the_last_day_of_february, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = common::demo_app(&store).await;
        let who = admin(&app, &store, id).await;
        let caf = store
            .convention(id)
            .await
            .unwrap()
            .parties
            .into_iter()
            .find(|p| p.party.organisation.short_name.as_deref() == Some("CAF"))
            .unwrap();
        let r = post_form(
            &app,
            &format!("/conventions/{id}/vie/resiliation"),
            &who,
            &[
                ("ground", "denonciation"),
                ("notice_date", "2026-08-31"),
                ("party", &caf.id.to_string()),
                ("note", "Lettre recommandée"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let page = get(&app, &format!("/conventions/{id}/vie")).await;
        // Six months after 31 August 2026: 28 February 2027 (2027 is not a leap year).
        assert!(texts(&page.html(), "#resiliation-enregistree dd").contains(&"28/02/2027".to_owned()), "{}", page.body);
        assert_eq!(texts(&page.html(), "#statut-vie"), ["En vigueur"], "not yet in effect on 27 November 2026");
        assert!(texts(&page.html(), "#prochaine-echeance")[0].starts_with("28/02/2027"), "{}", page.body);
        // The convention's home page says where it stands and the next date that matters.
        let home = get(&app, &format!("/conventions/{id}")).await;
        assert_eq!(texts(&home.html(), "#statut-convention"), ["En vigueur"]);
        assert!(texts(&home.html(), "#prochaine-echeance-accueil")[0].starts_with("28/02/2027"), "{}", home.body);
        // Once only.
        let r = post_form(
            &app,
            &format!("/conventions/{id}/vie/resiliation"),
            &who,
            &[("ground", "denonciation"), ("notice_date", "2026-09-01"), ("party", &caf.id.to_string())],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        // The public sees the page; only the coordination records.
        assert_eq!(get(&app, &format!("/conventions/{id}/vie")).await.status, 200);
        let reader = login(&app, "lecteur", "louis@ctg.fr", PASSWORD).await;
        let r = post_form(
            &app,
            &format!("/conventions/{id}/vie/avenants"),
            &reader,
            &[("date", "2026-10-01"), ("title", "X")],
        )
        .await;
        assert_eq!(r.status, 403);
    }
});

backend_tests!(a_termination_in_effect_shows_everywhere, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = common::demo_app(&store).await;
        let who = admin(&app, &store, id).await;
        let cabbalr = store
            .convention(id)
            .await
            .unwrap()
            .parties
            .into_iter()
            .find(|p| p.party.organisation.short_name.as_deref() == Some("CABBALR"))
            .unwrap();
        // A formal notice of 30 September left without effect: terminated from 30 October 2026.
        let r = post_form(
            &app,
            &format!("/conventions/{id}/vie/resiliation"),
            &who,
            &[("ground", "mise_en_demeure"), ("notice_date", "2026-09-30"), ("party", &cabbalr.id.to_string())],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let page = get(&app, &format!("/conventions/{id}/vie")).await;
        assert_eq!(texts(&page.html(), "#statut-vie"), ["Résiliée à compter du 30/10/2026"]);
        assert_eq!(texts(&page.html(), "#fin-engagements"), ["29/10/2026"]);
        let home = get(&app, &format!("/conventions/{id}")).await;
        assert_eq!(texts(&home.html(), "#statut-convention"), ["Résiliée à compter du 30/10/2026"]);
        let list = get(&app, "/").await;
        assert!(list.body.contains("Résiliée"), "{}", list.body);
        // And the API says so too.
        let api = get(&app, &format!("/api/v1/conventions/{id}")).await.json();
        assert_eq!(api["statut"], "resiliee", "{api}");
        let all = get(&app, "/api/v1/conventions").await.json();
        assert!(all.as_array().unwrap().iter().any(|c| c["id"] == id && c["statut"] == "resiliee"), "{all}");
    }
});

// Art. 9 of the convention, through the pages and the API: « en cas de projet d'échanges de données
// [personnelles] par l'une des parties, [ils] feront obligatoirement l'objet d'un examen préalable de
// conformité au RGPD par l'autre partie ». An agreement is created « proposé » (a create asking for
// « signé » is refused, never lowered), cannot be signed before the other party's DPO has reviewed it,
// and every step says who and when.
backend_tests!(
    art_9_agreements_are_proposed_then_reviewed_by_the_other_party_then_signed_on_page_and_api,
    |db: &TestDb| {
        let store = db.store.clone();
        async move {
            let (app, id) = common::demo_app(&store).await;
            let p = people(&store, id).await;
            let who = login(&app, "coordination", "claire@cabbalr.fr", PASSWORD).await;
            let (caf, epci) = (p.caf_party.to_string(), p.epci_party.to_string());
            let (caf_box, epci_box) = (format!("partie_{caf}"), format!("partie_{epci}"));
            let fields = |status: &'static str| {
                vec![
                    ("title", "Effectifs d'allocataires"),
                    (caf_box.as_str(), "on"),
                    (epci_box.as_str(), "on"),
                    ("proposer", caf.as_str()),
                    ("proposed_on", "2026-01-05"),
                    ("proposed_by", "Jean Dupont"),
                    ("data_categories", "Effectifs par commune"),
                    ("purpose", "Diagnostic"),
                    ("legal_basis", "Mission d'intérêt public"),
                    ("status", status),
                ]
            };
            // The page refuses a creation « signé », naming what may be set; nothing is written.
            let r = post_form(&app, &format!("/conventions/{id}/accords"), &who, &fields("signe")).await;
            assert_eq!(r.status, 400, "{}", r.body);
            assert!(
                r.body.contains("un accord se crée au statut « Proposé » (statut demandé : « signe »)"),
                "{}",
                r.body
            );
            assert!(store.agreements(id).await.unwrap().is_empty());
            let r = post_form(&app, &format!("/conventions/{id}/accords"), &who, &fields("propose")).await;
            assert_eq!(r.status, 303, "{}", r.body);
            let a = store.agreements(id).await.unwrap().remove(0);
            assert_eq!((a.status.as_str(), a.party_ids.len()), ("propose", 2));

            // Signing first is refused with the missing step named.
            let step = format!("/conventions/{id}/accords/{}/etapes", a.id);
            let v = a.version.to_string();
            let r = post_form(
                &app,
                &step,
                &who,
                &[("version", &v), ("step", "signe"), ("done_on", "2026-01-20"), ("done_by", "Les directeurs")],
            )
            .await;
            assert_eq!(r.status, 400, "{}", r.body);
            assert!(
                r.body.contains("étape manquante « Revu par le DPD de l&#39;autre partie »")
                    || r.body.contains("étape manquante « Revu par le DPD de l'autre partie »"),
                "{}",
                r.body
            );
            // The review by the other party's DPO, then the signature.
            let r = post_form(
                &app,
                &step,
                &who,
                &[
                    ("version", &v),
                    ("step", "revu_dpd"),
                    ("done_on", "2026-01-12"),
                    ("done_by", "Marie Durand"),
                    ("party", &epci),
                ],
            )
            .await;
            assert_eq!(r.status, 303, "{}", r.body);
            let page = common::get_as(&app, &format!("/conventions/{id}/accords"), &who).await;
            assert!(
                page.body.contains("Revu par le DPD de l&#39;autre partie le 12/01/2026 par Marie Durand (CABBALR)")
                    || page.body.contains("Revu par le DPD de l'autre partie le 12/01/2026 par Marie Durand (CABBALR)"),
                "{}",
                page.body
            );

            // The API: a create « signe » is refused naming what may be set; a create starts « propose ».
            let body = |statut: &str| {
                serde_json::json!({
                    "intitule": "Listes d'attente", "parties": [p.caf_party, p.epci_party], "partie_proposante": p.epci_party,
                    "donnees": "Demandes d'accueil", "finalite": "Places", "base_legale": "Mission d'intérêt public",
                    "propose_le": "2026-02-01", "propose_par": "Claire", "statut": statut,
                })
            };
            let api = format!("/api/v1/conventions/{id}/accords");
            let r = common::send_json(&app, "POST", &api, &who, &body("signe"), true).await;
            assert_eq!(r.status, 400, "{}", r.body);
            assert!(
                r.json()["error"]["message"].as_str().unwrap().contains("accord se crée au statut « Proposé »"),
                "{}",
                r.body
            );
            let r = common::send_json(&app, "POST", &api, &who, &body("propose"), true).await;
            assert_eq!(r.status, 201, "{}", r.body);
            let aid = r.json()["id"].as_i64().unwrap();
            let list = common::get_as(&app, &api, &who).await.json();
            let created = list.as_array().unwrap().iter().find(|a| a["id"] == aid).unwrap().clone();
            assert_eq!(
                (created["statut"].as_str(), created["etape_suivante"].as_str()),
                (Some("propose"), Some("revu_dpd"))
            );
            let steps = format!("/api/v1/conventions/{id}/accords/{aid}/etapes");
            let v = created["version"].as_i64().unwrap();
            let r = common::send_json(
                &app,
                "POST",
                &steps,
                &who,
                &serde_json::json!({"version": v, "etape": "signe", "date": "2026-02-10", "par": "X"}),
                true,
            )
            .await;
            assert_eq!(r.status, 400, "{}", r.body);
            assert!(
                r.json()["error"]["message"].as_str().unwrap().contains("ne peut pas être signé avant l'examen"),
                "{}",
                r.body
            );
            // The review by the proposing party itself is refused: it is the other party's.
            let r = common::send_json(&app, "POST", &steps, &who, &serde_json::json!({"version": v, "etape": "revu_dpd", "date": "2026-02-05", "par": "DPD", "partie": p.epci_party}), true).await;
            assert_eq!(r.status, 400, "{}", r.body);
            let r = common::send_json(&app, "POST", &steps, &who, &serde_json::json!({"version": v, "etape": "revu_dpd", "date": "2026-02-05", "par": "DPD de la CAF", "partie": p.caf_party}), true).await;
            assert_eq!(r.status, 204, "{}", r.body);
            let r = common::send_json(
                &app,
                "POST",
                &steps,
                &who,
                &serde_json::json!({"version": v + 1, "etape": "signe", "date": "2026-02-10", "par": "Les directeurs"}),
                true,
            )
            .await;
            assert_eq!(r.status, 204, "{}", r.body);
            let list = common::get_as(&app, &api, &who).await.json();
            let signed = list.as_array().unwrap().iter().find(|a| a["id"] == aid).unwrap().clone();
            assert_eq!(signed["statut"], "signe");
            let etapes: Vec<(&str, &str, &str)> = signed["etapes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| (e["etape"].as_str().unwrap(), e["date"].as_str().unwrap(), e["par"].as_str().unwrap()))
                .collect();
            assert_eq!(
                etapes,
                [
                    ("propose", "2026-02-01", "Claire"),
                    ("revu_dpd", "2026-02-05", "DPD de la CAF"),
                    ("signe", "2026-02-10", "Les directeurs")
                ]
            );
            assert!(
                signed["etapes"][1]["enregistre_par"].as_str().unwrap().contains("Claire Coordination"),
                "{signed}"
            );
        }
    }
);
