//! The life of the convention through its pages: signatures with their deliberations, an avenant in
//! force only when every party has signed it, the versions of the text and their difference, a
//! termination under art. 13 and the next date that matters; on SQLite and PostgreSQL.

use crate::common;

use common::{get, get_as, login, people, post_form, texts, Who, PASSWORD};
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
    for p in &mut new.parties {
        (p.signature_date, p.signature_month_only) = (None, false);
    }
    store.create_convention(&ctg_domain::Actor::cli("test"), &new, None).await.unwrap()
}

backend_tests!(signatures_put_the_convention_in_force_over_its_whole_period_art_11, |db: &TestDb| {
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
        // Signed by all on 1 April 2026, after its start: art. 11 (« conclue à compter du 01 Janvier
        // 2026 ») puts it in force over its whole period, from its start.
        let page = get(&app, &format!("/conventions/{c}/vie")).await;
        assert_eq!(texts(&page.html(), "#statut-vie"), ["En vigueur"]);
        assert_eq!(texts(&page.html(), "#en-vigueur-depuis"), ["01/01/2026"]);
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

/// The status shown for the convention titled `title` by the list of conventions, its life page, the
/// API (list and convention) and the command line, in that order.
async fn statuses_everywhere(app: &axum::Router, url: &str, id: i64, title: &str) -> [String; 5] {
    let home = get(app, "/").await.html();
    let row = scraper::Selector::parse("tbody tr").unwrap();
    let status = scraper::Selector::parse("span.status").unwrap();
    let listed = home
        .select(&row)
        .find(|r| r.text().collect::<String>().contains(title))
        .and_then(|r| r.select(&status).next())
        .map(|s| s.text().collect::<String>())
        .unwrap_or_else(|| panic!("« {title} » n'est pas dans la liste"));
    let page = texts(&get(app, &format!("/conventions/{id}/vie")).await.html(), "#statut-vie").join("");
    let api_list = get(app, "/api/v1/conventions").await.json();
    let api_listed = api_list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["titre"] == title)
        .map(|c| c["statut_libelle"].as_str().unwrap().to_owned())
        .unwrap();
    let api_one =
        get(app, &format!("/api/v1/conventions/{id}")).await.json()["statut_libelle"].as_str().unwrap().to_owned();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ctg"))
        .args(["--database-url", url, "convention", "list"])
        .env("CTG_LOG", "warn")
        .output()
        .unwrap();
    let cli = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.contains(title))
        .unwrap_or_else(|| panic!("« {title} » n'est pas listée par la ligne de commande"))
        .to_owned();
    [listed, page, api_listed, api_one, cli]
}

backend_tests!(one_rule_of_status_for_the_list_the_page_the_api_and_the_command_line, |db: &TestDb| {
    let store = db.store.clone();
    let url = db.url.clone();
    async move {
        // Issue 12: the status comes from one rule (`Life::status_on`), the same everywhere. The command
        // line reads the clock, so every scenario is dated from today.
        let t = chrono::Local::now().date_naive();
        let days = |n: i64| t + chrono::Duration::days(n);
        let (_, demo_id) = common::demo_app(&store).await;
        let app = ctg_web::router(ctg_web::AppState::with_today(store.clone(), t));
        let actor = ctg_domain::Actor::cli("test");
        type Scenario = (&'static str, i64, i64, [Option<ctg_domain::life::SignedOn>; 4], Option<i64>, String);
        let day = |n: i64| Some(ctg_domain::life::SignedOn::day(days(n)));
        let month = Some(ctg_domain::life::SignedOn::month(t));
        let scenarios: Vec<Scenario> = vec![
            ("Scénario brouillon", -30, 1000, [None; 4], None, "Brouillon".into()),
            (
                "Scénario deux sur quatre",
                -30,
                1000,
                [day(-20), day(-10), None, None],
                None,
                "En attente de signatures (2 sur 4)".into(),
            ),
            // Art. 11: the last signature a few days after the start puts it in force all the same.
            (
                "Scénario signée après le début",
                -30,
                1000,
                [day(-40), day(-35), day(-33), day(-5)],
                None,
                "En vigueur".into(),
            ),
            ("Scénario à venir", 30, 1000, [day(-10); 4], None, "Signée, pas encore en vigueur".into()),
            ("Scénario échue", -2000, -1, [day(-2100); 4], None, "Expirée".into()),
            // Signed « in the month » (annex 2: « Janvier 2026 »), the day not given.
            ("Scénario signée au mois", -60, 1000, [month; 4], None, "En vigueur".into()),
            (
                "Scénario résiliée",
                -400,
                1000,
                [day(-420); 4],
                Some(-10),
                format!("Résiliée à compter du {}", days(-10).format("%d/%m/%Y")),
            ),
        ];
        for (title, start, end, signatures, terminated, expected) in &scenarios {
            let mut c =
                ctg_import::convention::parse("c.json", include_bytes!("../../../../data/demo/conventions.json"))
                    .unwrap();
            let mut new = c.pop().unwrap();
            new.title = (*title).into();
            new.status = ctg_domain::ConventionStatus::Draft;
            new.predecessor = None;
            new.published = true;
            new.start = days(*start);
            new.end = days(*end);
            for p in &mut new.parties {
                (p.signature_date, p.signature_month_only, p.deliberation_date) = (None, false, None);
            }
            let id = store.create_convention(&actor, &new, None).await.unwrap();
            let parties = store.convention(id).await.unwrap().parties;
            for (p, on) in parties.iter().zip(signatures) {
                if let Some(on) = on {
                    store.sign_party(&actor, id, p.id, *on, None, None).await.unwrap();
                }
            }
            if let Some(n) = terminated {
                let t = ctg_store::Termination {
                    ground: ctg_domain::life::TerminationGround::UnsignedChange,
                    notice_date: days(*n),
                    party_id: parties[1].id,
                    note: None,
                };
                store.terminate(&actor, id, &t).await.unwrap();
            }
            let seen = statuses_everywhere(&app, &url, id, title).await;
            assert_eq!(
                &seen[..4],
                &[expected.clone(), expected.clone(), expected.clone(), expected.clone()],
                "{title}"
            );
            assert!(seen[4].contains(expected.as_str()), "{title} : {}", seen[4]);
        }
        // The demonstration: the four signatures « Janvier 2026 » of annex 2, in force.
        let seen = statuses_everywhere(
            &app,
            &url,
            demo_id,
            "Convention Territoriale Globale de Service aux Familles 2026-2030",
        )
        .await;
        assert!(seen[..4].iter().all(|s| s == "En vigueur"), "{seen:?}");
        let page = get(&app, &format!("/conventions/{demo_id}/vie")).await;
        assert_eq!(texts(&page.html(), "#en-vigueur-depuis"), ["01/01/2026"]);
        assert!(page.body.contains("janvier 2026"), "{}", page.body);
        println!("{} scénarios datés comparés sur 5 surfaces", scenarios.len() + 1);
    }
});

backend_tests!(art_12_a_signed_convention_changes_only_by_avenant, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        // Art. 12: « Toute modification fera l'objet d'un avenant ». The demonstration's convention is
        // signed by its four parties: its dates, strategy and parties are refused on page and API,
        // pointing to the avenant; its publication, plan and governance stay editable.
        let (app, id) = common::demo_app(&store).await;
        let who = admin(&app, &store, id).await;
        let c = store.convention(id).await.unwrap();
        let v = c.summary.version;
        let r = post_form(
            &app,
            &format!("/conventions/{id}/modifier"),
            &who,
            &[
                ("version", &v.to_string()),
                ("title", "Autre titre"),
                ("start", "2026-01-01"),
                ("end", "2031-12-31"),
                ("status", "signee"),
                ("signing_place", "Béthune"),
            ],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("rédigez un avenant"), "{}", r.body);
        assert!(r.body.contains("name=\"version\""), "the form comes back: {}", r.body);
        let form = get_as(&app, &format!("/conventions/{id}/modifier"), &who).await;
        assert_eq!(texts(&form.html(), "#verrou a"), ["Rédiger un avenant"]);
        let body = serde_json::json!({"version": v, "titre": c.summary.title, "debut": "2026-01-01", "fin": "2031-12-31", "statut": "signee", "lieu_signature": "Béthune", "publiee": true});
        let r = common::put_json(&app, &format!("/api/v1/conventions/{id}"), &who, &body, true).await;
        assert!(r.status.is_client_error(), "{} {}", r.status, r.body);
        assert!(r.body.contains("avenant"), "{}", r.body);
        // The status is never set directly, even on a draft (« résiliée » without a ground).
        let body = serde_json::json!({"version": v, "titre": c.summary.title, "debut": "2026-01-01", "fin": "2030-12-31", "statut": "resiliee", "lieu_signature": "Béthune", "publiee": true});
        let r = common::put_json(&app, &format!("/api/v1/conventions/{id}"), &who, &body, true).await;
        assert!(r.status.is_client_error() && r.body.contains("art. 13"), "{} {}", r.status, r.body);
        // Publication alone may change.
        let body = serde_json::json!({"version": v, "titre": c.summary.title, "debut": "2026-01-01", "fin": "2030-12-31", "statut": "signee", "lieu_signature": "Béthune", "publiee": false});
        let r = common::put_json(&app, &format!("/api/v1/conventions/{id}"), &who, &body, true).await;
        assert_eq!(r.status, 200, "{}", r.body);
        // A party's signatory or signature date.
        let p = &c.parties[1];
        let body = serde_json::json!({"version": p.version, "signataire": "Quelqu'un d'autre", "qualite": "Directeur", "deliberation": null, "deliberation_date": null, "signature_date": "2026-01-01", "signature_au_mois": true});
        let r = common::put_json(&app, &format!("/api/v1/conventions/{id}/parties/{}", p.id), &who, &body, true).await;
        assert!(r.status.is_client_error() && r.body.contains("avenant"), "{} {}", r.status, r.body);
        // The strategy.
        let r = post_form(
            &app,
            &format!("/conventions/{id}/strategie/ambitions"),
            &who,
            &[("stake", "1"), ("number", "40"), ("title", "Nouvelle ambition")],
        )
        .await;
        assert!(r.status.is_client_error() && r.body.contains("avenant"), "{} {}", r.status, r.body);
        assert_eq!(
            store.convention(id).await.unwrap().stakes.iter().map(|s| s.ambitions.len()).sum::<usize>(),
            c.stakes.iter().map(|s| s.ambitions.len()).sum::<usize>()
        );

        // An avenant changing the end date and adding an ambition: shown side by side, applied at its
        // last signature only.
        let ambitions: Vec<i64> = c.stakes.iter().flat_map(|s| s.ambitions.iter().map(|a| a.number)).collect();
        let new_number = ambitions.iter().max().unwrap() + 1;
        let r = common::send_json(
            &app,
            "POST",
            &format!("/api/v1/conventions/{id}/avenants"),
            &who,
            &serde_json::json!({
                "date": "2026-09-01",
                "intitule": "Prolongation et ambition nouvelle",
                "modifications": [
                    {"objet": "date_fin", "annexe": null, "nom": "", "avant": "", "apres": "30/06/2031"},
                    {"objet": "ambition", "annexe": new_number, "nom": "2", "avant": "", "apres": "Accompagner les familles vers le numérique"}
                ]
            }),
            true,
        )
        .await;
        assert!(r.status.is_success(), "{} {}", r.status, r.body);
        let page = get_as(&app, &format!("/conventions/{id}/vie"), &who).await.html();
        let rows = texts(&page, "article.avenant tbody tr");
        // Object, before (in force), after: the cells side by side.
        assert!(rows.iter().any(|r| r == "Date de fin de la convention31/12/203030/06/2031"), "{rows:?}");
        let ambition = format!("Ambition n° {new_number} (enjeu n° 2)Accompagner les familles vers le numérique");
        assert!(rows.iter().any(|r| r == &ambition), "{rows:?}");
        let avenant = store.avenants(id).await.unwrap().remove(0);
        let parties = store.convention(id).await.unwrap().parties;
        for (k, p) in parties.iter().filter(|p| p.party.role == ctg_domain::PartyRole::Signatory).enumerate() {
            let before = store.convention(id).await.unwrap();
            assert_eq!(
                before.summary.end,
                chrono::NaiveDate::from_ymd_opt(2030, 12, 31).unwrap(),
                "before signature {k}"
            );
            assert!(!before.stakes.iter().flat_map(|s| &s.ambitions).any(|a| a.number == new_number));
            let r = post_form(
                &app,
                &format!("/conventions/{id}/vie/avenants/{}/signatures/{}", avenant.id, p.id),
                &who,
                &[("date", &format!("2026-09-0{}", k + 2))],
            )
            .await;
            assert_eq!(r.status, 303, "{}", r.body);
        }
        let after = store.convention(id).await.unwrap();
        assert_eq!(after.summary.end, chrono::NaiveDate::from_ymd_opt(2031, 6, 30).unwrap());
        let added = after
            .stakes
            .iter()
            .find(|s| s.number == 2)
            .unwrap()
            .ambitions
            .iter()
            .find(|a| a.number == new_number)
            .unwrap();
        assert_eq!(added.title, "Accompagner les familles vers le numérique");
    }
});

backend_tests!(art_13_an_unfruitful_mise_en_demeure_terminates_one_month_later, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        // Art. 13: « résiliée de plein droit à l'expiration d'un délai d'un mois suivant l'envoi d'une
        // lettre recommandée avec avis de réception valant mise en demeure … et restée infructueuse ».
        let (app, id) = common::demo_app(&store).await;
        let who = admin(&app, &store, id).await;
        let parties = store.convention(id).await.unwrap().parties;
        let (cabbalr, caf, msa) = (parties[0].id, parties[1].id, parties[2].id);
        // A legal obligation is the CAF's to enforce.
        let r = post_form(
            &app,
            &format!("/conventions/{id}/vie/mises-en-demeure"),
            &who,
            &[
                ("sender", &cabbalr.to_string()),
                ("recipient", &msa.to_string()),
                ("obligation", "Déclaration"),
                ("legal", "1"),
                ("sent_on", "2027-01-31"),
            ],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("sanctionné par la Caf"), "{}", r.body);
        // The CAF puts the MSA on notice on 31 January 2027 (page); the deadline is 28 February.
        let r = post_form(
            &app,
            &format!("/conventions/{id}/vie/mises-en-demeure"),
            &who,
            &[
                ("sender", &caf.to_string()),
                ("recipient", &msa.to_string()),
                ("obligation", "Transmission des données de fréquentation (art. 6)"),
                ("sent_on", "2027-01-31"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let listed = get_as(&app, &format!("/api/v1/conventions/{id}/mises-en-demeure"), &who).await.json();
        let notice = &listed[0];
        assert_eq!((notice["echeance"].as_str(), notice["suite"].as_str()), (Some("2027-02-28"), Some("en_cours")));
        let path = format!("/api/v1/conventions/{id}/mises-en-demeure/{}", notice["id"]);
        // Not unfruitful before its month has run out.
        let early = serde_json::json!({"version": notice["version"], "suite": "infructueuse", "le": "2027-02-27"});
        let r = common::send_json(&app, "POST", &path, &who, &early, true).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("jusqu'au 28/02/2027"), "{}", r.body);
        assert!(store.termination(id).await.unwrap().is_none());
        // On the deadline, left without effect: the convention is terminated at the deadline.
        let late = serde_json::json!({"version": notice["version"], "suite": "infructueuse", "le": "2027-02-28"});
        let r = common::send_json(&app, "POST", &path, &who, &late, true).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["resiliation_prend_effet_le"], "2027-02-28");
        let t = store.termination(id).await.unwrap().unwrap();
        assert_eq!(
            (t.notice_date.to_string(), t.effective_date.to_string(), t.party_id),
            ("2027-01-31".into(), "2027-02-28".into(), caf)
        );
        let life = store.life(id, chrono::NaiveDate::from_ymd_opt(2027, 2, 27).unwrap()).await.unwrap();
        assert_eq!(life.status.code(), "en_vigueur");
        let life = store.life(id, chrono::NaiveDate::from_ymd_opt(2027, 2, 28).unwrap()).await.unwrap();
        assert_eq!(life.status.label(), "Résiliée à compter du 28/02/2027");
        assert_eq!(life.commitments_end, chrono::NaiveDate::from_ymd_opt(2027, 2, 27).unwrap());
        // Settled once; the page shows it.
        let r = common::send_json(&app, "POST", &path, &who, &late, true).await;
        assert!(r.status.is_client_error(), "{}", r.body);
        let page = get_as(&app, &format!("/conventions/{id}/vie"), &who).await;
        let rows = texts(&page.html(), "#mises-en-demeure-table tbody tr td");
        assert!(rows.iter().any(|c| c.starts_with("Restée infructueuse le 28/02/2027")), "{rows:?}");
    }
});

backend_tests!(art_13_a_mise_en_demeure_complied_with_or_withdrawn_ends_without_termination, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (_, id) = common::demo_app(&store).await;
        let actor = ctg_domain::Actor::cli("test");
        let parties = store.convention(id).await.unwrap().parties;
        let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let new = |sent_on| ctg_store::NewFormalNotice {
            sender_party_id: parties[0].id,
            recipient_party_id: parties[3].id,
            obligation: "Participation aux comités de pilotage".into(),
            legal: false,
            sent_on,
        };
        // Sent on 31 December 2027 (a month end): deadline 31 January 2028.
        let first = store.send_formal_notice(&actor, id, &new(d(2027, 12, 31))).await.unwrap();
        let second = store.send_formal_notice(&actor, id, &new(d(2028, 1, 31))).await.unwrap();
        let notices = store.formal_notices(id).await.unwrap();
        let of = |n: i64| notices.iter().find(|x| x.id == n).unwrap().clone();
        assert_eq!(of(first).deadline, d(2028, 1, 31));
        assert_eq!(of(second).deadline, d(2028, 2, 29), "a leap year");
        let complied = ctg_domain::life::NoticeOutcome::Complied;
        let withdrawn = ctg_domain::life::NoticeOutcome::Withdrawn;
        assert_eq!(
            store.settle_formal_notice(&actor, id, (first, of(first).version), complied, d(2028, 1, 10)).await.unwrap(),
            None
        );
        assert_eq!(
            store
                .settle_formal_notice(&actor, id, (second, of(second).version), withdrawn, d(2028, 2, 1))
                .await
                .unwrap(),
            None
        );
        // A stale version is refused.
        let stale = store.settle_formal_notice(&actor, id, (first, of(first).version), withdrawn, d(2028, 2, 1)).await;
        assert!(stale.is_err());
        assert!(store.termination(id).await.unwrap().is_none());
        let life = store.life(id, d(2028, 6, 1)).await.unwrap();
        assert_eq!(life.status.code(), "en_vigueur");
        // After the end of the convention, no mise en demeure.
        let err = store.send_formal_notice(&actor, id, &new(d(2031, 1, 2))).await.unwrap_err().to_string();
        assert!(err.contains("pris fin"), "{err}");
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
            let page = get_as(&app, &format!("/conventions/{id}/accords"), &who).await;
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
                    "propose_le": "2026-02-01", "propose_par": "Claire", "statut": statut, "fin": "2026-06-30",
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
            let list = get_as(&app, &api, &who).await.json();
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
            let list = get_as(&app, &api, &who).await.json();
            let signed = list.as_array().unwrap().iter().find(|a| a["id"] == aid).unwrap().clone();
            assert_eq!(signed["statut"], "signe");
            // Its end (30 June 2026) has passed on 27 November 2026: the page says it lapsed, its expiry
            // still to be recorded (with who and when).
            let page = get_as(&app, &format!("/conventions/{id}/accords"), &who).await;
            assert!(
                page.body.contains("Signé — arrivé à échéance le 30/06/2026 : expiration à enregistrer"),
                "{}",
                page.body
            );
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
