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
