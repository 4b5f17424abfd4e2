//! « Préparer la convention suivante » (issue 16; art. 3 of the convention: « elle n'est pas
//! reconduite tacitement », its renewal is a new convention): the next convention of the same EPCI,
//! a draft linked to its predecessor, with the same parties unsigned, the same strategy and bodies,
//! and the fiches not finished carried over as proposals, each linked to the fiche it continues.

use crate::common;

use common::{demo_app, get_as, login, people, post_form, PASSWORD};
use ctg_domain::plan::FicheStatus;
use ctg_store::backend_tests;
use ctg_store::testing::TestDb;

backend_tests!(the_next_convention_carries_the_parties_the_strategy_and_the_unfinished_fiches, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        people(&store, id).await;
        let coord = login(&app, "coordination", "claire@cabbalr.fr", PASSWORD).await;
        let actor = ctg_domain::Actor::cli("test");
        let mut fiches = Vec::new();
        for (code, status) in [
            ("PE-1.1", FicheStatus::InProgress),
            ("PE-1.2", FicheStatus::Done),
            ("PE-1.3", FicheStatus::Abandoned),
            ("PE-1.4", FicheStatus::Upcoming),
        ] {
            let mut f = crate::pdf_documents::fiche(code, "Mme Claire Martin");
            f.status = status;
            fiches.push(store.create_fiche(&actor, id, f).await.unwrap());
        }
        let before = store.convention(id).await.unwrap();

        let r = post_form(&app, &format!("/conventions/{id}/convention-suivante"), &coord, &[]).await;
        assert_eq!(r.status, 303, "{}", r.body.split("<main").nth(1).unwrap_or(&r.body));
        let to = r.headers["location"].to_str().unwrap().to_owned();
        let page = common::follow(&app, &r, &coord).await;
        let said = common::texts(&page.html(), "[role=status]").concat();
        assert!(said.starts_with("Convention suivante préparée, en brouillon"), "{said}");
        assert!(said.contains("2 fiches non terminées reprises comme propositions"), "{said}");

        let next_id: i64 = to.trim_start_matches("/conventions/").parse().unwrap();
        let next = store.convention(next_id).await.unwrap();
        assert_eq!(next.summary.title, "Convention Territoriale Globale de Service aux Familles 2031-2035");
        assert_eq!(next.summary.start, chrono::NaiveDate::from_ymd_opt(2031, 1, 1).unwrap());
        assert_eq!(next.summary.end, chrono::NaiveDate::from_ymd_opt(2035, 12, 31).unwrap());
        assert_eq!(next.summary.status, ctg_domain::ConventionStatus::Draft);
        assert!(!next.summary.published);
        assert_eq!(next.predecessor.as_ref().map(|p| p.id), Some(id));
        let names = |c: &ctg_store::ConventionDetail| {
            c.parties.iter().map(|p| p.party.organisation.name.clone()).collect::<Vec<_>>()
        };
        assert_eq!(names(&next), names(&before), "the same parties, in the same order");
        assert!(
            next.parties.iter().all(|p| p.party.signature_date.is_none() && p.party.signatory.is_none()),
            "unsigned"
        );
        assert_eq!(next.stakes, before.stakes, "the same strategy");
        assert_eq!(next.bodies, before.bodies, "the same bodies");

        // The fiches not finished (in progress, to come) are proposals; done and abandoned ones stay.
        let plan = store.plan(next_id).await.unwrap();
        let codes: Vec<&str> = plan.fiches.iter().map(|f| f.fiche.code.as_str()).collect();
        assert_eq!(codes, ["PE-1.1", "PE-1.4"]);
        for f in &plan.fiches {
            assert_eq!(f.fiche.status, FicheStatus::Upcoming);
            assert!(f.fiche.start.is_none() && f.fiche.end.is_none());
            assert!(f.history[0].reason.starts_with("reprise de la fiche"), "{:?}", f.history);
        }
        // Each keeps the link to the fiche it continues, whose history stays readable.
        let carried = plan.fiches[0].id;
        let page = get_as(&app, &format!("/conventions/{next_id}/plan/fiches/{carried}"), &coord).await;
        assert!(page.body.contains("Proposition reprise de la convention précédente"), "{}", page.body);
        assert!(page.body.contains(&format!("/conventions/{id}/plan/fiches/{}", fiches[0])), "{}", page.body);

        // The successor's evaluation page shows the final bilan of its predecessor.
        let evaluation = get_as(&app, &format!("/conventions/{next_id}/evaluation"), &coord).await;
        let previous = evaluation.body.split("id=\"bilan-precedent\"").nth(1).expect("the predecessor's bilan");
        assert!(previous.contains("Bilan final de la convention précédente"), "{previous}");
        assert!(previous.contains("Fiches prévues"), "the predecessor's computed figures: {previous}");

        // Only once.
        let again = post_form(&app, &format!("/conventions/{id}/convention-suivante"), &coord, &[]).await;
        assert_eq!(again.status, 400);
        assert!(
            again.body.contains("a convention suivante existe déjà"),
            "{}",
            again.body.split("<main").nth(1).unwrap_or(&again.body)
        );
    }
});
