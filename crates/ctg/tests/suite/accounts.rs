//! Accounts over HTTP: login, CSRF, sessions, throttling, concurrent edits, history, GDPR, headers.

use crate::common;

use common::{count, demo_app, get, get_as, login, people, post_form, put_json, set_cookie, texts, Who, PASSWORD};
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, HistoryFilter};

fn location(r: &common::Reply) -> String {
    r.headers.get("location").and_then(|l| l.to_str().ok()).unwrap_or_default().to_owned()
}

backend_tests!(csrf_is_required_on_every_write, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        // Art. 12 locks the signed demonstration: its text is edited here as a draft's.
        ctg_store::testing::as_draft(&store, id).await;
        people(&store, id).await;
        let claire = login(&app, "coordination", "claire@cabbalr.fr", PASSWORD).await;
        let version = store.convention_summary(id).await.unwrap().version.to_string();
        let form = [
            ("version", version.as_str()),
            ("title", "Forgé"),
            ("start", "2026-01-01"),
            ("end", "2030-12-31"),
            ("status", "brouillon"),
        ];
        let mut forged: Vec<(&str, &str)> = form.to_vec();
        forged.push(("_csrf", "jeton-inventé"));
        let r = post_form(&app, &format!("/conventions/{id}/modifier"), &claire, &forged).await;
        assert_eq!(r.status, 403);
        assert!(r.body.contains("anti-falsification"), "{}", r.body);
        // Without any token either.
        let r = post_form(&app, &format!("/conventions/{id}/modifier"), &claire, &[("_csrf", ""), ("title", "Forgé")])
            .await;
        assert_eq!(r.status, 403);
        // The API with the session cookie needs the X-CSRF-Token header.
        let body = serde_json::json!({"version": 1, "titre": "Forgé", "debut": "2026-01-01", "fin": "2030-12-31", "statut": "brouillon"});
        let r = put_json(&app, &format!("/api/v1/conventions/{id}"), &claire, &body, false).await;
        assert_eq!(r.status, 403);
        assert_eq!(r.json()["error"]["code"], "forbidden");
        // The login form too: a login without the cookie of its form is refused.
        let r = post_form(
            &app,
            "/connexion",
            &Who::default(),
            &[("_csrf", "x"), ("email", "claire@cabbalr.fr"), ("password", PASSWORD)],
        )
        .await;
        assert_eq!(r.status, 403);
        assert!(set_cookie(&r, "ctg_session").is_none());
        assert_ne!(store.convention_summary(id).await.unwrap().title, "Forgé");
        // With the right token, it goes through.
        let r = post_form(&app, &format!("/conventions/{id}/modifier"), &claire, &form).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(store.convention_summary(id).await.unwrap().title, "Forgé");
    }
});

backend_tests!(logged_out_and_expired_sessions_are_refused, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        people(&store, id).await;
        let claire = login(&app, "coordination", "claire@cabbalr.fr", PASSWORD).await;
        assert_eq!(get_as(&app, "/compte", &claire).await.status, 200);
        let r = post_form(&app, "/deconnexion", &claire, &[]).await;
        assert_eq!(r.status, 303);
        assert!(r.headers.get_all("set-cookie").iter().any(|c| c.to_str().unwrap().starts_with("ctg_session=;")));
        // The old cookie opens nothing any more: the session is gone from the database.
        let r = get_as(&app, "/compte", &claire).await;
        assert_eq!((r.status.as_u16(), location(&r)), (303, "/connexion?suite=/compte".to_string()));

        // An app whose sessions last one second of inactivity.
        let auth = ctg_web::AuthConfig { idle: chrono::Duration::seconds(1), ..Default::default() };
        let short = ctg_web::router(ctg_web::AppState::with_today(store.clone(), common::today()).with_auth(auth));
        let claire = login(&short, "coordination", "claire@cabbalr.fr", PASSWORD).await;
        assert_eq!(get_as(&short, "/compte", &claire).await.status, 200);
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert_eq!(get_as(&short, "/compte", &claire).await.status, 303, "idle expiry");
        // And an absolute lifetime of one second.
        let auth = ctg_web::AuthConfig { absolute: chrono::Duration::seconds(1), ..Default::default() };
        let short = ctg_web::router(ctg_web::AppState::with_today(store.clone(), common::today()).with_auth(auth));
        let claire = login(&short, "coordination", "claire@cabbalr.fr", PASSWORD).await;
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        assert_eq!(get_as(&short, "/compte", &claire).await.status, 303, "absolute expiry");
    }
});

backend_tests!(login_is_throttled_with_a_french_message, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        people(&store, id).await;
        let form = get(&app, "/connexion").await;
        let cookie = format!("ctg_csrf={}", set_cookie(&form, "ctg_csrf").unwrap());
        let anon = Who { cookie: Some(cookie), csrf: common::csrf_of(&form.body), ..Who::default() };
        for _ in 0..ctg_store::FREE_FAILURES {
            let r =
                post_form(&app, "/connexion", &anon, &[("email", "claire@cabbalr.fr"), ("password", "mauvais")]).await;
            assert_eq!(r.status, 401);
            assert!(r.body.contains("adresse électronique ou mot de passe incorrect"));
        }
        let r = post_form(&app, "/connexion", &anon, &[("email", "claire@cabbalr.fr"), ("password", "mauvais")]).await;
        assert_eq!(r.status, 429);
        assert!(r.body.contains("trop de tentatives de connexion : réessayez dans 1 seconde"), "{}", r.body);
        assert_eq!(r.headers.get("retry-after").unwrap().to_str().unwrap(), "1");
        // The right password does not get through during the delay.
        let r = post_form(&app, "/connexion", &anon, &[("email", "claire@cabbalr.fr"), ("password", PASSWORD)]).await;
        assert_eq!(r.status, 429);
    }
});

backend_tests!(a_stale_form_is_refused_with_the_input_kept, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        // Art. 12 locks the signed demonstration: its text is edited here as a draft's.
        ctg_store::testing::as_draft(&store, id).await;
        people(&store, id).await;
        let claire = login(&app, "coordination", "claire@cabbalr.fr", PASSWORD).await;
        let alice = login(&app, "administrateur", "alice@ctg.fr", PASSWORD).await;
        // Both open the form at the same version.
        let page = get_as(&app, &format!("/conventions/{id}/modifier"), &claire).await.html();
        let sel = scraper::Selector::parse("input[name=version]").unwrap();
        let version = page.select(&sel).next().unwrap().value().attr("value").unwrap().to_owned();
        let fields = |title: &'static str| {
            vec![
                ("version", version.clone()),
                ("title", title.to_owned()),
                ("start", "2026-01-01".into()),
                ("end", "2030-12-31".into()),
                ("status", "brouillon".into()),
                ("published", "1".into()),
            ]
        };
        let as_refs = |v: &Vec<(&'static str, String)>| v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
        let f1 = as_refs(&fields("Titre d'Alice"));
        let f1: Vec<(&str, &str)> = f1.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(post_form(&app, &format!("/conventions/{id}/modifier"), &alice, &f1).await.status, 303);
        let f2 = as_refs(&fields("Titre de Claire"));
        let f2: Vec<(&str, &str)> = f2.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post_form(&app, &format!("/conventions/{id}/modifier"), &claire, &f2).await;
        assert_eq!(r.status, 409);
        let doc = r.html();
        let alert = texts(&doc, "[role=alert] p").join(" ");
        assert!(
            alert.starts_with(
                "Modification concurrente de la convention « Titre d'Alice » par Alice Admin <alice@ctg.fr> le"
            ),
            "{alert}"
        );
        let sel = scraper::Selector::parse("input[name=title]").unwrap();
        assert_eq!(
            doc.select(&sel).next().unwrap().value().attr("value"),
            Some("Titre de Claire"),
            "the input is kept"
        );
        assert_eq!(store.convention_summary(id).await.unwrap().title, "Titre d'Alice", "nothing overwritten");

        // The API answers 409 the same way.
        let body = serde_json::json!({"version": version.parse::<i64>().unwrap(), "titre": "Par l'API", "debut": "2026-01-01", "fin": "2030-12-31", "statut": "brouillon", "lieu_signature": null, "publiee": true});
        let r = put_json(&app, &format!("/api/v1/conventions/{id}"), &claire, &body, true).await;
        assert_eq!(r.status, 409);
        assert_eq!(r.json()["error"]["code"], "conflict");
        assert!(r.json()["error"]["message"].as_str().unwrap().contains("Alice Admin"));
    }
});

backend_tests!(page_and_api_writes_are_in_the_history, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        // Art. 12 locks the signed demonstration: its text is edited here as a draft's.
        ctg_store::testing::as_draft(&store, id).await;
        let p = people(&store, id).await;
        let camille = login(&app, "contributeur", "camille@caf.fr", PASSWORD).await;
        let v = store
            .convention(id)
            .await
            .unwrap()
            .parties
            .iter()
            .find(|e| e.id == p.caf_party)
            .unwrap()
            .version
            .to_string();
        let r = post_form(
            &app,
            &format!("/conventions/{id}/parties/{}/modifier", p.caf_party),
            &camille,
            &[
                ("version", &v),
                ("signatory", "Jean-Jacques Pion"),
                ("signatory_title", "Directeur"),
                ("signature_date", "2026-01-20"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let (_, token) =
            store.create_token(&ctg_domain::Actor::cli("t"), p.coordinator_id, "script", true).await.unwrap();
        let api = Who { token: Some(token), ..Who::default() };
        let s = store.convention_summary(id).await.unwrap();
        let body = serde_json::json!({"version": s.version, "titre": s.title, "debut": "2026-01-01", "fin": "2030-12-31", "statut": "brouillon", "lieu_signature": "Béthune (Pas-de-Calais)", "publiee": true});
        // A PUT replaces: a missing field is an error, in French, and nothing changes.
        let partial = serde_json::json!({"version": s.version, "titre": s.title, "debut": "2026-01-01", "fin": "2030-12-31", "statut": "brouillon"});
        let r = put_json(&app, &format!("/api/v1/conventions/{id}"), &api, &partial, false).await;
        assert_eq!(r.status, 400);
        assert!(
            r.json()["error"]["message"].as_str().unwrap().contains("champ obligatoire manquant : « lieu_signature »"),
            "{}",
            r.body
        );
        let r = put_json(&app, &format!("/api/v1/conventions/{id}"), &api, &body, false).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["version"], s.version + 1);

        let entries = store.history(&HistoryFilter { convention_id: Some(id), ..Default::default() }).await.unwrap();
        let party = entries.iter().find(|e| e.object_type == "partie").unwrap();
        assert_eq!(party.channel, ctg_domain::Channel::Page);
        assert_eq!(party.actor_id, Some(p.contributor_id));
        assert_eq!(party.after.as_ref().unwrap()["signature_date"], "2026-01-20");
        let conv = entries.iter().find(|e| e.object_type == "convention" && e.action == "modification").unwrap();
        assert_eq!(conv.channel, ctg_domain::Channel::Api);
        assert_eq!(conv.before.as_ref().unwrap()["lieu_signature"], "Béthune");
        assert_eq!(conv.after.as_ref().unwrap()["lieu_signature"], "Béthune (Pas-de-Calais)");

        // The history page, filtered on the object, and its CSV export.
        let claire = login(&app, "coordination", "claire@cabbalr.fr", PASSWORD).await;
        let page =
            get_as(&app, &format!("/conventions/{id}/historique?objet=partie&id={}", p.caf_party), &claire).await;
        assert_eq!(page.status, 200);
        let doc = page.html();
        assert_eq!(count(&doc, "#historique tbody tr"), 1);
        assert!(
            texts(&doc, "#historique tbody td")
                .iter()
                .any(|t| t.contains("Date de signature : vide → après : 20/01/2026")),
            "{:?}",
            texts(&doc, "#historique tbody td")
        );
        let csv =
            get_as(&app, &format!("/conventions/{id}/historique?objet=convention&format=csv-virgule"), &claire).await;
        assert!(csv.content_type.starts_with("text/csv"));
        assert!(
            csv.body.lines().any(|l| l.contains(",Lieu de signature,Béthune,Béthune (Pas-de-Calais)")),
            "{}",
            csv.body
        );
        // Where the data come from and when, on every line (art. 9).
        assert!(csv.body.lines().next().unwrap().ends_with(",source_des_donnees,donnees_au"), "{}", csv.body);
        assert!(csv.body.lines().skip(1).all(|l| l.ends_with(",2026-11-27")), "{}", csv.body);
        let bad = get_as(&app, &format!("/conventions/{id}/historique?depuis=hier"), &claire).await;
        assert_eq!(bad.status, 400);
        assert!(bad.body.contains("date invalide « hier »"));
    }
});

backend_tests!(gdpr_register_export_and_erasure_through_the_pages, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let p = people(&store, id).await;
        let alice = login(&app, "administrateur", "alice@ctg.fr", PASSWORD).await;
        let louis = login(&app, "lecteur", "louis@ctg.fr", PASSWORD).await;
        let register = get_as(&app, "/rgpd/registre", &louis).await;
        assert_eq!(register.status, 200);
        assert!(register.body.contains("Comptes des utilisateurs de la plateforme CTG"));
        assert!(register.body.contains("Coordonnées des membres des instances de gouvernance"));
        let csv = get_as(&app, "/rgpd/registre.csv?format=csv-virgule", &louis).await;
        assert!(csv.body.starts_with("nom,responsable,contact_dpd,finalites,base_legale"), "{}", csv.body);
        assert_eq!(csv.body.lines().count(), 3, "a header and the two processing activities of the platform");
        assert!(csv.body.lines().next().unwrap().ends_with(",source_des_donnees,donnees_au"), "{}", csv.body);
        assert!(csv.body.lines().nth(1).unwrap().ends_with(",2026-11-27"), "{}", csv.body);

        let export = get_as(&app, &format!("/admin/utilisateurs/{}/export", p.reader_id), &alice).await;
        assert_eq!(export.status, 200);
        assert_eq!(export.json()["compte"]["email"], "louis@ctg.fr");
        assert_eq!(export.json()["roles"][0]["role"], "lecteur");

        let r = post_form(
            &app,
            &format!("/admin/utilisateurs/{}/effacer", p.reader_id),
            &alice,
            &[("confirmation", "oui")],
        )
        .await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("saisissez EFFACER"));
        let r = post_form(
            &app,
            &format!("/admin/utilisateurs/{}/effacer", p.reader_id),
            &alice,
            &[("confirmation", "EFFACER")],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("ne garde que le pseudonyme personne-effacee-"));
        // Louis's session is gone and his address opens nothing.
        assert_eq!(get_as(&app, "/compte", &louis).await.status, 303);
        let history = store.history(&HistoryFilter::default()).await.unwrap();
        assert!(!format!("{history:?}").contains("louis@ctg.fr"));
        assert!(history.iter().any(|e| e.action == "effacement"));
    }
});

#[tokio::test]
async fn security_headers_and_size_limit() {
    let db = TestDb::new(ctg_store::Backend::Sqlite).await;
    let (app, _) = demo_app(&db.store).await;
    let r = get(&app, "/connexion").await;
    let h = |n: &str| r.headers.get(n).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    assert!(h("content-security-policy").contains("frame-ancestors 'none'"));
    assert!(!h("content-security-policy").contains("unsafe-inline"));
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert_eq!(h("referrer-policy"), "same-origin");
    let cookie = h("set-cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!r.body.contains("<script"), "no inline script");
    // A body over the limit is refused before any handler runs.
    let big = "x".repeat(300 * 1024);
    let r = common::send(
        &app,
        "POST",
        "/connexion",
        &Who::default(),
        axum::body::Body::from(big),
        Some("application/x-www-form-urlencoded"),
    )
    .await;
    assert_eq!(r.status, 413);
    db.finish().await;
}

/// The login form of `suite`, as a browser sees it: its cookie, its token and its hidden `suite`.
async fn login_form_of(app: &axum::Router, path: &str) -> (Who, String) {
    let form = get(app, path).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let cookie = format!("ctg_csrf={}", set_cookie(&form, "ctg_csrf").unwrap());
    let doc = scraper::Html::parse_document(&form.body);
    let sel = scraper::Selector::parse("input[name=suite]").unwrap();
    let next = doc.select(&sel).next().and_then(|e| e.value().attr("value")).unwrap_or_default().to_owned();
    (Who { cookie: Some(cookie), csrf: common::csrf_of(&form.body), ..Who::default() }, next)
}

backend_tests!(login_never_redirects_to_another_site, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        people(&store, id).await;
        // A tab or a line break after the first slash: browsers drop them, and `/\t/evil.example`
        // becomes `//evil.example`, another site.
        for (query, raw) in [
            ("/%09/evil.example/phish", "/\t/evil.example/phish"),
            ("/%0d/evil.example/phish", "/\r/evil.example/phish"),
            ("/%0a/evil.example/phish", "/\n/evil.example/phish"),
            ("/%20/evil.example/phish", "/ /evil.example/phish"),
            ("/%5c/evil.example/phish", "/\\/evil.example/phish"),
            ("https://evil.example/phish", "https://evil.example/phish"),
        ] {
            let (anon, next) = login_form_of(&app, &format!("/connexion?suite={query}")).await;
            assert_eq!(next, "/", "{query}");
            let fields = [("email", "claire@cabbalr.fr"), ("password", PASSWORD), ("suite", raw)];
            let r = post_form(&app, "/connexion", &anon, &fields).await;
            assert_eq!((r.status.as_u16(), location(&r)), (303, "/".to_string()), "{query}: {}", r.body);
        }
        // A path of this site is kept.
        let (anon, next) = login_form_of(&app, &format!("/connexion?suite=/conventions/{id}")).await;
        assert_eq!(next, format!("/conventions/{id}"));
        let fields = [("email", "claire@cabbalr.fr"), ("password", PASSWORD), ("suite", next.as_str())];
        let r = post_form(&app, "/connexion", &anon, &fields).await;
        assert_eq!((r.status.as_u16(), location(&r)), (303, format!("/conventions/{id}")));
    }
});

backend_tests!(a_new_login_ends_the_previous_session_of_the_browser, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        people(&store, id).await;
        let claire = login(&app, "coordination", "claire@cabbalr.fr", PASSWORD).await;
        assert_eq!(get_as(&app, "/compte", &claire).await.status, 200);
        // Someone else logs in on the same browser: the login request carries Claire's cookie.
        let (mut anon, _) = login_form_of(&app, "/connexion").await;
        anon.cookie = Some(format!("{}; {}", anon.cookie.unwrap(), claire.cookie.clone().unwrap()));
        let r = post_form(&app, "/connexion", &anon, &[("email", "louis@ctg.fr"), ("password", PASSWORD)]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(set_cookie(&r, "ctg_session").is_some());
        // Claire's session is over, not just forgotten by the browser.
        let r = get_as(&app, "/compte", &claire).await;
        assert_eq!((r.status.as_u16(), location(&r)), (303, "/connexion?suite=/compte".to_string()));
    }
});

backend_tests!(a_forged_login_csrf_pair_is_refused, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        people(&store, id).await;
        // A pair the attacker made up (the same value in the cookie and the field) is refused.
        let forged = Who { cookie: Some("ctg_csrf=choisi-par-l-attaquant".into()), ..Who::default() };
        let fields = [("_csrf", "choisi-par-l-attaquant"), ("email", "claire@cabbalr.fr"), ("password", PASSWORD)];
        let r = post_form(&app, "/connexion", &forged, &fields).await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert!(r.body.contains("la page de connexion a expiré"), "{}", r.body);
        assert!(set_cookie(&r, "ctg_session").is_none());
        // The pair of a real form, with its cookie swapped for another, is refused too.
        let (real, _) = login_form_of(&app, "/connexion").await;
        let swapped = Who { cookie: Some("ctg_csrf=autre-valeur".into()), ..real.clone() };
        let r =
            post_form(&app, "/connexion", &swapped, &[("email", "claire@cabbalr.fr"), ("password", PASSWORD)]).await;
        assert_eq!(r.status, 403);
        // The real pair goes through.
        let r = post_form(&app, "/connexion", &real, &[("email", "claire@cabbalr.fr"), ("password", PASSWORD)]).await;
        assert_eq!(r.status, 303, "{}", r.body);
    }
});

backend_tests!(the_last_coordinator_keeps_the_role, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let p = people(&store, id).await;
        let claire = login(&app, "coordination", "claire@cabbalr.fr", PASSWORD).await;
        let path = format!("/conventions/{id}/utilisateurs");
        for role in ["lecteur", "contributeur", "aucun"] {
            let r = post_form(&app, &path, &claire, &[("email", "claire@cabbalr.fr"), ("role", role)]).await;
            assert_eq!(r.status, 409, "{role}: {}", r.body);
            assert!(r.body.contains("dernière personne à avoir le rôle « Coordination »"), "{}", r.body);
            assert_eq!(store.role(p.coordinator_id, id).await.unwrap(), Some(ctg_domain::access::Role::Coordination));
        }
        // With a second coordinator, the first may step down.
        let r = post_form(&app, &path, &claire, &[("email", "louis@ctg.fr"), ("role", "coordination")]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = post_form(&app, &path, &claire, &[("email", "claire@cabbalr.fr"), ("role", "lecteur")]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        // The store refuses whoever asks (the command line goes through it too).
        let actor = ctg_domain::Actor::cli("test");
        let err = store.set_role(&actor, id, p.reader_id, None).await.unwrap_err().to_string();
        assert!(err.contains("dernière personne"), "{err}");
    }
});

// The choice of reminders by e-mail (issue 16, point 3), through the API as on « Mon compte »: read,
// replaced whole, and refused with nothing changed when a kind is unknown or missing or a frequency
// unknown.
backend_tests!(reminder_choices_through_the_api, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        use ctg_domain::reminders::{Frequency, ReminderKind};
        let (app, _) = demo_app(&store).await;
        let p = people(&store, 2).await;
        let camille = login(&app, "contributrice", "camille@caf.fr", PASSWORD).await;
        let r = get_as(&app, "/api/v1/moi/rappels", &camille).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let listed: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(listed.as_array().unwrap().len(), ReminderKind::ALL.len());
        assert!(listed.as_array().unwrap().iter().all(|c| c["frequence"] == "immediat"), "{listed}");

        let mut all: serde_json::Map<String, serde_json::Value> =
            ReminderKind::ALL.iter().map(|k| (k.code().to_owned(), "jamais".into())).collect();
        all.insert(ReminderKind::MissingValue.code().into(), "hebdomadaire".into());
        // Refused, naming what is wrong, and nothing changed.
        let mut unknown = all.clone();
        unknown.insert("meteo".into(), "immediat".into());
        let mut missing = all.clone();
        missing.remove(ReminderKind::LateFiche.code());
        let mut bad = all.clone();
        bad.insert(ReminderKind::Meeting.code().into(), "parfois".into());
        for (body, says) in [(unknown, "« meteo »"), (missing, ReminderKind::LateFiche.code()), (bad, "« parfois »")]
        {
            let r = put_json(&app, "/api/v1/moi/rappels", &camille, &serde_json::Value::Object(body), true).await;
            assert_eq!(r.status, 400, "{}", r.body);
            assert!(r.body.contains(says), "{}", r.body);
        }
        assert!(store
            .mail_preferences(p.contributor_id)
            .await
            .unwrap()
            .iter()
            .all(|(_, f)| *f == Frequency::Immediate));

        let r = put_json(&app, "/api/v1/moi/rappels", &camille, &serde_json::Value::Object(all), true).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let chosen = store.mail_preferences(p.contributor_id).await.unwrap();
        assert!(chosen.contains(&(ReminderKind::MissingValue, Frequency::Weekly)));
        assert!(chosen.contains(&(ReminderKind::LateFiche, Frequency::Never)));
        let again: serde_json::Value =
            serde_json::from_str(&get_as(&app, "/api/v1/moi/rappels", &camille).await.body).unwrap();
        let missing_value =
            again.as_array().unwrap().iter().find(|c| c["rappel"] == ReminderKind::MissingValue.code()).unwrap();
        assert_eq!(missing_value["frequence"], "hebdomadaire");
        // Without an account: 401.
        assert_eq!(get(&app, "/api/v1/moi/rappels").await.status, 401);
    }
});
