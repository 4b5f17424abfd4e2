//! Accounts, sessions, tokens, throttling, roles, the audit trail, versions and GDPR, on both databases.

use chrono::{Duration, Utc};
use ctg_domain::access::Role;
use ctg_domain::{Actor, Channel};
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, ConventionEdit, HistoryFilter, LoginError, NewUser, PartyEdit, Store, StoreError};

use crate::fixtures::{demo, demo_draft};

const PASSWORD: &str = "Correct-Cheval-Batterie-9";

async fn user(store: &Store, name: &str, email: &str, admin: bool) -> ctg_store::User {
    let new = NewUser {
        name,
        email,
        organisation_id: None,
        is_admin: admin,
        password: Some(PASSWORD),
        must_change_password: false,
    };
    let id = store.create_user(&Actor::cli("test"), &new).await.unwrap();
    store.user(id).await.unwrap()
}

backend_tests!(passwords_follow_the_policy_and_emails_are_unique, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let weak = NewUser {
            name: "Jeanne Martin",
            email: "jeanne@caf.fr",
            organisation_id: None,
            is_admin: false,
            password: Some("court"),
            must_change_password: false,
        };
        let err = store.create_user(&Actor::cli("t"), &weak).await.unwrap_err().to_string();
        assert!(err.contains("CNIL"), "{err}");
        let u = user(&store, "Jeanne Martin", " Jeanne@CAF.fr ", false).await;
        assert_eq!(u.email, "jeanne@caf.fr");
        let again = NewUser { password: Some(PASSWORD), ..weak.clone() };
        let err = store.create_user(&Actor::cli("t"), &again).await.unwrap_err().to_string();
        assert!(err.contains("existe déjà"), "{err}");
        let bad = NewUser { email: "pas-une-adresse", ..again };
        assert!(store
            .create_user(&Actor::cli("t"), &bad)
            .await
            .unwrap_err()
            .to_string()
            .contains("adresse électronique invalide"));
    }
});

backend_tests!(login_throttling_per_account_and_address, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let jeanne = user(&store, "Jeanne Martin", "jeanne@caf.fr", false).await;
        let now = Utc::now();
        assert!(store.verify_login("jeanne@caf.fr", PASSWORD, "10.0.0.1", now).await.unwrap().is_ok());
        for i in 1..=ctg_store::FREE_FAILURES {
            let r = store.verify_login("jeanne@caf.fr", "mauvais", "10.0.0.1", now).await.unwrap();
            assert_eq!(r.unwrap_err(), LoginError::BadCredentials, "failure {i}");
        }
        // Then delays that double: 1 s, 2 s, 4 s…
        let mut t = now;
        for seconds in [1, 2, 4, 8] {
            let locked = store.verify_login("jeanne@caf.fr", "mauvais", "10.0.0.1", t).await.unwrap().unwrap_err();
            let LoginError::Throttled { until } = locked else { panic!("expected a delay, got {locked:?}") };
            assert_eq!(until, t + Duration::seconds(seconds));
            // Even the right password waits for the delay, from this address.
            let r = store.verify_login("jeanne@caf.fr", PASSWORD, "10.0.0.1", t).await.unwrap();
            assert!(matches!(r, Err(LoginError::Throttled { .. })));
            t = until;
        }
        // …capped.
        assert_eq!(ctg_store::throttle_delay(60), Some(ctg_store::MAX_DELAY));
        // Another address is not affected, and the address does not lock other accounts.
        let r = store.verify_login("jeanne@caf.fr", PASSWORD, "10.0.0.2", now).await.unwrap();
        assert!(r.is_ok(), "{r:?}");
        user(&store, "Paul Durand", "paul@caf.fr", false).await;
        let r = store.verify_login("paul@caf.fr", PASSWORD, "10.0.0.1", now).await.unwrap();
        assert!(r.is_ok(), "{r:?}");
        // A new password lifts the delay.
        let locked = store.verify_login("jeanne@caf.fr", "mauvais", "10.0.0.1", t).await.unwrap();
        assert!(matches!(locked, Err(LoginError::Throttled { .. })));
        let new_password = "Une-Autre-Phrase-Longue-7";
        store.set_password(&Actor::cli("t"), jeanne.id, new_password, false).await.unwrap();
        let r = store.verify_login("jeanne@caf.fr", new_password, "10.0.0.1", t).await.unwrap();
        assert!(r.is_ok(), "{r:?}");
        // After the delay, and after a success, it works again from the start.
        for _ in 1..ctg_store::FREE_FAILURES {
            let r = store.verify_login("jeanne@caf.fr", "mauvais", "10.0.0.1", t).await.unwrap();
            assert_eq!(r.unwrap_err(), LoginError::BadCredentials);
        }
        // An unknown account fails like a wrong password.
        let r = store.verify_login("personne@caf.fr", PASSWORD, "10.0.0.3", t).await.unwrap();
        assert_eq!(r.unwrap_err(), LoginError::BadCredentials);
    }
});

backend_tests!(sessions_expire_and_end, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let u = user(&store, "Jeanne Martin", "jeanne@caf.fr", false).await;
        let (idle, absolute) = (Duration::minutes(30), Duration::hours(12));
        let t0 = Utc::now();
        let (secret, csrf) = store.create_session(u.id, t0, absolute).await.unwrap();
        let s = store.session(&secret, t0 + Duration::minutes(29), idle).await.unwrap().unwrap();
        assert_eq!((s.user.id, s.csrf_token.as_str()), (u.id, csrf.as_str()));
        // Activity restarts the idle clock, up to the absolute expiry.
        let mut t = t0;
        while t + Duration::minutes(25) < t0 + absolute {
            t += Duration::minutes(25);
            assert!(store.session(&secret, t, idle).await.unwrap().is_some(), "alive at {t}");
        }
        assert!(store.session(&secret, t0 + absolute, idle).await.unwrap().is_none(), "absolute expiry");
        assert!(store.session(&secret, t0 + Duration::minutes(1), idle).await.unwrap().is_none(), "ended for good");

        let (secret, _) = store.create_session(u.id, t0, absolute).await.unwrap();
        assert!(store.session(&secret, t0 + Duration::minutes(31), idle).await.unwrap().is_none(), "idle expiry");

        // A short idle time is extended by activity too.
        let short = Duration::seconds(2);
        let (secret, _) = store.create_session(u.id, t0, absolute).await.unwrap();
        assert!(store.session(&secret, t0 + Duration::milliseconds(1500), short).await.unwrap().is_some());
        assert!(store.session(&secret, t0 + Duration::seconds(3), short).await.unwrap().is_some(), "activity at 1.5 s");
        assert!(store.session(&secret, t0 + Duration::seconds(6), short).await.unwrap().is_none());

        let (secret, _) = store.create_session(u.id, t0, absolute).await.unwrap();
        store.end_session(&secret).await.unwrap();
        assert!(store.session(&secret, t0, idle).await.unwrap().is_none(), "logout");

        let (secret, _) = store.create_session(u.id, t0, absolute).await.unwrap();
        store.disable_user(&Actor::cli("t"), u.id).await.unwrap();
        assert!(store.session(&secret, t0, idle).await.unwrap().is_none(), "disabled account");
        assert!(store.verify_login("jeanne@caf.fr", PASSWORD, "x", t0).await.unwrap().is_err());
    }
});

backend_tests!(api_tokens_are_hashed_scoped_and_revocable, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let u = user(&store, "Jeanne Martin", "jeanne@caf.fr", false).await;
        let actor = u.actor(Channel::Page);
        let (id, secret) = store.create_token(&actor, u.id, "tableau de bord", false).await.unwrap();
        assert!(secret.starts_with("ctg_") && secret.len() > 40);
        let (owner, can_write) = store.token_owner(&secret).await.unwrap().unwrap();
        assert_eq!((owner.id, can_write), (u.id, false));
        assert!(store.token_owner("ctg_faux").await.unwrap().is_none());
        let listed = store.tokens(u.id).await.unwrap();
        assert!(listed[0].last_used_at.is_some());
        assert!(!format!("{listed:?}").contains(&secret[10..]), "the secret is not kept");
        store.revoke_token(&actor, u.id, id).await.unwrap();
        assert!(store.token_owner(&secret).await.unwrap().is_none());
    }
});

backend_tests!(every_write_is_audited_with_before_and_after, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let id = demo_draft(&store).await;
        let admin = user(&store, "Alice Admin", "alice@ctg.fr", true).await;
        let jeanne = user(&store, "Jeanne Martin", "jeanne@caf.fr", false).await;
        let actor = admin.actor(Channel::Page);
        let c = store.convention(id).await.unwrap();

        let edit = ConventionEdit {
            title: "CTG 2026-2030 (modifiée)".into(),
            start: c.summary.start,
            end: c.summary.end,
            status: c.summary.status,
            signing_place: Some("Béthune".into()),
            published: true,
        };
        store.update_convention(&actor, id, c.summary.version, &edit).await.unwrap();
        let party = &c.parties[1];
        let pedit = PartyEdit {
            signature_date: chrono::NaiveDate::from_ymd_opt(2026, 1, 15),
            ..PartyEdit {
                signatory: party.party.signatory.clone(),
                signatory_title: party.party.signatory_title.clone(),
                deliberation: Some("Conseil d'administration".into()),
                deliberation_date: None,
                signature_date: None,
                signature_month_only: false,
            }
        };
        store.update_party(&actor, id, party.id, party.version, &pedit).await.unwrap();
        store.set_role(&actor, id, jeanne.id, Some(Role::Coordination)).await.unwrap();
        let parties: Vec<i64> = store.convention(id).await.unwrap().parties.iter().map(|p| p.id).collect();
        let agreement = ctg_store::AgreementEdit {
            title: "Échange des listes d'allocataires".into(),
            party_ids: parties[..2].to_vec(),
            proposer_party_id: parties[0],
            data_categories: "Nombre d'enfants par commune".into(),
            purpose: "Diagnostic".into(),
            legal_basis: "Mission d'intérêt public".into(),
            start_date: None,
            end_date: None,
        };
        let proposed = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let aid = store.create_agreement(&actor, id, &agreement, proposed, "Jeanne Martin").await.unwrap();
        store
            .update_agreement(
                &actor,
                id,
                aid,
                1,
                &ctg_store::AgreementEdit { purpose: "Diagnostic partagé".into(), ..agreement },
            )
            .await
            .unwrap();
        let activity = store.processing_activities().await.unwrap().remove(0);
        store
            .update_processing_activity(
                &actor,
                &ctg_store::ProcessingActivity { retention: "Trois ans".into(), ..activity },
            )
            .await
            .unwrap();
        let (tid, _) = store.create_token(&actor, admin.id, "script", true).await.unwrap();
        store.revoke_token(&actor, admin.id, tid).await.unwrap();
        store.set_password(&actor, jeanne.id, "Une-Autre-Phrase-Secrete-42", false).await.unwrap();
        store.disable_user(&actor, jeanne.id).await.unwrap();

        let history = store.history(&HistoryFilter::default()).await.unwrap();
        let find = |t: &str, action: &str| {
            history
                .iter()
                .find(|e| e.object_type == t && e.action == action)
                .unwrap_or_else(|| panic!("no {action} of {t}"))
        };
        let e = find("convention", "modification");
        assert_eq!(e.actor_id, Some(admin.id));
        assert_eq!(e.actor_label, "Alice Admin <alice@ctg.fr>");
        assert_eq!(
            e.before.as_ref().unwrap()["titre"],
            "Convention Territoriale Globale de Service aux Familles 2026-2030"
        );
        assert_eq!(e.after.as_ref().unwrap()["titre"], "CTG 2026-2030 (modifiée)");
        assert!(e
            .changed_fields()
            .iter()
            .any(|(f, b, a)| f == "titre" && b.contains("Globale") && a.contains("modifiée")));
        let e = find("partie", "modification");
        assert_eq!(e.after.as_ref().unwrap()["signature_date"], "2026-01-15");
        assert_eq!(e.before.as_ref().unwrap()["signature_date"], serde_json::Value::Null);
        assert_eq!(find("role", "creation").after.as_ref().unwrap()["role"], "coordination");
        assert_eq!(find("accord", "modification").after.as_ref().unwrap()["finalite"], "Diagnostic partagé");
        assert_eq!(find("registre", "modification").after.as_ref().unwrap()["duree_de_conservation"], "Trois ans");
        assert!(find("jeton", "suppression").after.as_ref().unwrap()["revoque"].as_bool().unwrap());
        let pw = history
            .iter()
            .find(|e| {
                e.object_type == "utilisateur" && e.after.as_ref().is_some_and(|a| a.get("mot_de_passe").is_some())
            })
            .unwrap();
        assert!(!pw.after.as_ref().unwrap().to_string().contains("Une-Autre"), "no password in the trail");
        assert!(history
            .iter()
            .any(|e| e.object_type == "utilisateur" && e.after.as_ref().is_some_and(|a| a["desactive"] == true)));
        assert!(history
            .iter()
            .any(|e| e.object_type == "convention" && e.action == "creation" && e.channel == Channel::Cli));

        let of_convention =
            store.history(&HistoryFilter { convention_id: Some(id), ..Default::default() }).await.unwrap();
        assert!(of_convention.iter().all(|e| e.convention_id == Some(id)));
        assert!(of_convention.len() >= 5);
    }
});

backend_tests!(the_audit_trail_is_append_only, |db: &TestDb| {
    let store = db.store.clone();
    let url = db.url.clone();
    async move {
        demo(&store).await;
        let before = store.history(&HistoryFilter::default()).await.unwrap();
        let raw = Store::connect(&url).await.unwrap();
        for sql in [
            "DELETE FROM audit_event",
            "UPDATE audit_event SET actor_label = 'quelqu''un d''autre'",
            "UPDATE audit_event SET action = 'suppression', pseudonymised = TRUE",
        ] {
            let err = raw.execute_raw(sql).await.unwrap_err().to_string();
            assert!(!err.is_empty(), "{sql} should be refused");
        }
        let entries = store.history(&HistoryFilter::default()).await.unwrap();
        assert_eq!(entries, before);
        assert_eq!(entries.len(), 3, "the territory import and the two conventions");
        raw.close().await;
    }
});

backend_tests!(a_stale_version_is_refused_and_names_who_changed_it, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let id = demo_draft(&store).await;
        let alice = user(&store, "Alice Admin", "alice@ctg.fr", true).await;
        let bob = user(&store, "Bob Coord", "bob@ctg.fr", true).await;
        let read = store.convention_summary(id).await.unwrap();
        let edit = |title: &str| ConventionEdit {
            title: title.into(),
            start: read.start,
            end: read.end,
            status: read.status,
            signing_place: None,
            published: true,
        };
        let v2 = store
            .update_convention(&alice.actor(Channel::Page), id, read.version, &edit("Titre d'Alice"))
            .await
            .unwrap();
        assert_eq!(v2, read.version + 1);
        match store.update_convention(&bob.actor(Channel::Api), id, read.version, &edit("Titre de Bob")).await {
            Err(StoreError::Stale { last_change: Some(e), .. }) => {
                assert_eq!(e.actor_label, "Alice Admin <alice@ctg.fr>");
            }
            other => panic!("expected a stale version, got {other:?}"),
        }
        assert_eq!(store.convention_summary(id).await.unwrap().title, "Titre d'Alice");
        let c = store.convention(id).await.unwrap();
        let p = &c.parties[0];
        let pedit = PartyEdit {
            signatory: Some("X".into()),
            signatory_title: None,
            deliberation: None,
            deliberation_date: None,
            signature_date: None,
            signature_month_only: false,
        };
        store.update_party(&alice.actor(Channel::Page), id, p.id, p.version, &pedit).await.unwrap();
        assert!(matches!(
            store.update_party(&bob.actor(Channel::Page), id, p.id, p.version, &pedit).await,
            Err(StoreError::Stale { .. })
        ));
    }
});

backend_tests!(export_and_erasure_of_a_person, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let id = demo_draft(&store).await;
        let admin = user(&store, "Alice Admin", "alice@ctg.fr", true).await;
        let jeanne = user(&store, "Jeanne Martin", "jeanne@caf.fr", false).await;
        store.set_role(&admin.actor(Channel::Page), id, jeanne.id, Some(Role::Coordination)).await.unwrap();
        let read = store.convention_summary(id).await.unwrap();
        let edit = ConventionEdit {
            title: "Titre modifié".into(),
            start: read.start,
            end: read.end,
            status: read.status,
            signing_place: None,
            published: true,
        };
        store.update_convention(&jeanne.actor(Channel::Page), id, read.version, &edit).await.unwrap();
        store.create_token(&jeanne.actor(Channel::Page), jeanne.id, "mon script", false).await.unwrap();
        store.create_session(jeanne.id, Utc::now(), Duration::hours(1)).await.unwrap();
        // She pilots a fiche, changed its status and recorded a value of its indicator.
        let fiche = ctg_domain::plan::NewFiche {
            code: "PE-1".into(),
            title: "Relais".into(),
            description: String::new(),
            ambitions: vec![1],
            objectives: vec![],
            pilot_organisation: "CAF".into(),
            pilot_person: "Jeanne Martin".into(),
            partners: vec![],
            public: String::new(),
            communes: vec![],
            start: None,
            end: None,
            priority: None,
            status: ctg_domain::plan::FicheStatus::Upcoming,
            approaches: vec![],
            needs: String::new(),
        };
        let fid = store.create_fiche(&jeanne.actor(Channel::Page), id, fiche).await.unwrap();
        let indicator = ctg_domain::plan::PlanIndicator {
            name: "Places".into(),
            kind: ctg_domain::plan::IndicatorKind::Quantitative {
                unit: String::new(),
                baseline: None,
                baseline_year: None,
                direction: ctg_domain::plan::Direction::Increase,
            },
            targets: Default::default(),
        };
        let iid = store.create_indicator(&jeanne.actor(Channel::Page), id, Some(fid), &indicator).await.unwrap();
        let value = ctg_domain::plan::IndicatorValue {
            period: "2026".into(),
            number: Some(3.0),
            level: None,
            author: "Jeanne Martin".into(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
            source: String::new(),
            comment: String::new(),
        };
        store.add_indicator_value(&jeanne.actor(Channel::Page), id, iid, &value).await.unwrap();
        // She sits on the steering committee.
        let body = store.bodies(id).await.unwrap()[0].id;
        let member = ctg_domain::governance::NewMember {
            name: "Jeanne Martin".into(),
            organisation: "CAF".into(),
            function: "Conseillère".into(),
            role: ctg_domain::governance::MemberRole::Member,
            joined: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            left: None,
        };
        store.add_member(&admin.actor(Channel::Page), id, body, member).await.unwrap();

        // Her choice of reminders is hers too (issue 16, point 3): in the export.
        let weekly = [(ctg_domain::reminders::ReminderKind::ALL[0], ctg_domain::reminders::Frequency::Weekly)];
        store.set_mail_preferences(jeanne.id, &weekly).await.unwrap();

        let export = store.export_person(jeanne.id).await.unwrap();
        assert_eq!(export["compte"]["email"], "jeanne@caf.fr");
        let chosen = export["rappels_choisis"].as_array().unwrap();
        assert_eq!(chosen.len(), ctg_domain::reminders::ReminderKind::ALL.len());
        assert_eq!(chosen[0]["code"], weekly[0].0.code());
        assert_eq!(chosen[0]["frequence"], "hebdomadaire");
        assert!(export["courriels"].as_array().unwrap().is_empty());
        assert_eq!(export["roles"][0]["role"], "coordination");
        assert_eq!(export["jetons_api"][0]["nom"], "mon script");
        assert_eq!(export["sessions"].as_array().unwrap().len(), 1);
        assert!(export["modifications_faites"].as_array().unwrap().iter().any(|e| e["objet"] == "convention"));
        assert!(!export.to_string().contains("argon2"), "no password hash in the export");

        let pseudonym = store.erase_person(&admin.actor(Channel::Page), jeanne.id).await.unwrap();
        let erased = store.user(jeanne.id).await.unwrap();
        assert_eq!(erased.name, pseudonym);
        assert!(erased.erased_at.is_some() && !erased.is_active());
        assert!(store.user_by_email("jeanne@caf.fr").await.unwrap().is_none());
        assert_eq!(store.role(jeanne.id, id).await.unwrap(), None);
        assert!(store.tokens(jeanne.id).await.unwrap().is_empty());
        // The trail keeps what was done, by a pseudonym; her name and address are gone from it.
        let all = store.history(&HistoryFilter::default()).await.unwrap();
        let text = format!("{all:?}");
        assert!(!text.contains("Jeanne Martin") && !text.contains("jeanne@caf.fr"), "{text}");
        let hers = all.iter().find(|e| e.object_type == "convention" && e.action == "modification").unwrap();
        assert_eq!(hers.actor_id, Some(jeanne.id));
        assert!(hers.actor_label.contains(&pseudonym));
        assert_eq!(hers.after.as_ref().unwrap()["titre"], "Titre modifié");
        assert!(all.iter().any(|e| e.action == "effacement" && e.object_label == pseudonym));
        // Nor in the action plan: pilot, status history, indicator values.
        let plan = store.plan(id).await.unwrap();
        let text = format!("{:?}", plan);
        assert!(!text.contains("Jeanne Martin") && !text.contains("jeanne@caf.fr"), "{text}");
        assert_eq!(plan.fiches[0].fiche.pilot_person, pseudonym);
        assert!(plan.fiches[0].history[0].author.contains(&pseudonym));
        assert_eq!(plan.indicators[0].values[0].author, pseudonym);
        let members = format!("{:?}", store.bodies(id).await.unwrap());
        assert!(!members.contains("Jeanne Martin") && members.contains(&pseudonym), "{members}");
        assert!(store.erase_person(&admin.actor(Channel::Page), jeanne.id).await.is_err(), "only once");
    }
});

backend_tests!(two_coordinators_stepping_down_at_once_leave_one, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        // Issue 11, point 9: the last coordinator keeps the role, even when the last two step down at
        // the same moment (on PostgreSQL, each would otherwise count the other and both would go).
        let id = demo(&store).await;
        let actor = Actor::cli("test");
        for round in 0..8 {
            let a = user(&store, "Anne Un", &format!("anne{round}@caf.fr"), false).await;
            let b = user(&store, "Bruno Deux", &format!("bruno{round}@caf.fr"), false).await;
            store.set_role(&actor, id, a.id, Some(Role::Coordination)).await.unwrap();
            store.set_role(&actor, id, b.id, Some(Role::Coordination)).await.unwrap();
            // Everyone else steps down, one at a time.
            for m in store.members(id).await.unwrap() {
                if m.role == Role::Coordination && m.user.id != a.id && m.user.id != b.id {
                    store.set_role(&actor, id, m.user.id, Some(Role::Reader)).await.unwrap();
                }
            }
            let (ra, rb) = tokio::join!(
                store.set_role(&actor, id, a.id, Some(Role::Reader)),
                store.set_role(&actor, id, b.id, Some(Role::Reader)),
            );
            let refused = [&ra, &rb].iter().filter(|r| r.is_err()).count();
            assert_eq!(refused, 1, "tour {round} : {ra:?} / {rb:?}");
            let left: Vec<_> =
                store.members(id).await.unwrap().into_iter().filter(|m| m.role == Role::Coordination).collect();
            assert_eq!(left.len(), 1, "tour {round}");
        }
    }
});
