//! The action plan in storage, on SQLite and PostgreSQL: objectives and fiches resolved in their
//! convention, sub-actions on two levels and the progress they give, the history of statuses with its
//! reasons, versions, means replaced, indicator values and where indicators stand, imports that write
//! all or nothing and update by code, and reviews.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use ctg_domain::plan::{
    fiche_progress, Direction, FicheStatus, IndicatorKind, IndicatorValue, Means, MeansKind, NewFiche, Objective,
    PlanIndicator, Priority, SubAction, Target, Tracking,
};
use ctg_domain::{Actor, InseeCode};
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, HistoryFilter, PlanImportRow, Review, ReviewScope, StoreError};

use crate::fixtures::demo;

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn fiche(code: &str, ambitions: &[i64], objectives: &[&str], status: FicheStatus) -> NewFiche {
    NewFiche {
        code: code.into(),
        title: format!("Fiche {code}"),
        description: "Développer l'accueil du jeune enfant".into(),
        ambitions: ambitions.to_vec(),
        objectives: objectives.iter().map(|o| (*o).to_owned()).collect(),
        pilot_organisation: "CABBALR".into(),
        pilot_person: "Claire Martin".into(),
        partners: vec!["CAF du Pas-de-Calais".into(), "Département".into()],
        public: "Familles".into(),
        communes: vec![InseeCode::parse("62119").unwrap()],
        start: Some(d("2026-01-01")),
        end: Some(d("2027-12-31")),
        priority: Some(Priority::High),
        status,
        approaches: vec!["aller vers".into()],
        needs: "Manque de places d'accueil".into(),
    }
}

fn sub(parent: Option<i64>, title: &str, status: FicheStatus) -> SubAction {
    SubAction { id: 0, parent, title: title.into(), status, pilot: "RPE".into(), start: None, end: None }
}

/// The parties of the demo's convention, in a fresh database: their ids and labels.
const CABBALR: i64 = 1;
const CAF: i64 = 2;

fn means(party_id: i64, year: i32, planned_cents: i64) -> Means {
    Means {
        party_id,
        organisation: if party_id == CABBALR { "CABBALR" } else { "CAF" }.into(),
        year,
        fte_hundredths: 50,
        planned_cents: Some(planned_cents),
        spent_cents: None,
        kind: MeansKind::Operating,
        material: String::new(),
    }
}

fn places(targets: &[(i32, f64)]) -> PlanIndicator {
    PlanIndicator {
        name: "Places créées".into(),
        kind: IndicatorKind::Quantitative {
            unit: "places".into(),
            baseline: Some(0.0),
            baseline_year: Some(2025),
            direction: Direction::Increase,
        },
        targets: targets.iter().map(|(y, v)| (*y, Target::Number(*v))).collect(),
    }
}

fn charter() -> PlanIndicator {
    PlanIndicator {
        name: "Charte signée".into(),
        kind: IndicatorKind::Qualitative { scale: vec!["non engagé".into(), "engagé".into(), "atteint".into()] },
        targets: [(2027, Target::Level("engagé".into()))].into(),
    }
}

fn value(period: &str, number: Option<f64>, level: Option<&str>) -> IndicatorValue {
    IndicatorValue {
        period: period.into(),
        number,
        level: level.map(str::to_owned),
        author: "Claire Martin".into(),
        date: d("2026-06-01"),
        source: "CAF".into(),
        comment: String::new(),
    }
}

fn objective(code: &str, ambition: i64) -> Objective {
    Objective { code: code.into(), title: format!("Objectif {code}"), ambition }
}

backend_tests!(objectives_fiches_and_sub_actions_give_the_progress, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let c = demo(&store).await;
        let actor = Actor::cli("test");
        // Objectives under ambitions of this convention only.
        let o11 = store.create_objective(&actor, c, &objective("1.1", 1)).await.unwrap();
        store.create_objective(&actor, c, &objective("1.10", 1)).await.unwrap();
        store.create_objective(&actor, c, &objective("1.2", 1)).await.unwrap();
        store.create_objective(&actor, c, &objective("4.1", 4)).await.unwrap();
        let err = store.create_objective(&actor, c, &objective("9.1", 9)).await.unwrap_err().to_string();
        assert!(err.contains("ambition 9"), "{err}");
        let err = store.create_objective(&actor, c, &objective("1.1", 2)).await.unwrap_err().to_string();
        assert!(err.contains("« 1.1 » existe déjà"), "{err}");
        let listed = store.objectives(c).await.unwrap();
        let codes: Vec<&str> = listed.iter().map(|o| o.objective.code.as_str()).collect();
        assert_eq!(codes, vec!["1.1", "1.2", "1.10", "4.1"]);
        // Versions: saved from version 1, then refused from version 1 again.
        let edit = Objective { title: "Augmenter l'offre d'accueil".into(), ..objective("1.1", 1) };
        assert_eq!(store.update_objective(&actor, c, o11, 1, &edit).await.unwrap(), 2);
        assert!(matches!(
            store.update_objective(&actor, c, o11, 1, &edit).await,
            Err(StoreError::Stale { last_change: Some(_), .. })
        ));

        // Unknown ambitions and objectives are named together; a commune outside the territory too.
        let mut bad = fiche("PE-9", &[1, 9], &["1.1", "9.9"], FicheStatus::Upcoming);
        bad.communes.push(InseeCode::parse("75056").unwrap());
        let err = store.create_fiche(&actor, c, bad).await.unwrap_err().to_string();
        assert!(err.contains("ambition(s) inconnue(s)") && err.contains(": 9 "), "{err}");
        assert!(err.contains("« 9.9 »") && err.contains("75056"), "{err}");
        assert!(store.create_fiche(&actor, c, fiche("", &[1], &[], FicheStatus::Upcoming)).await.is_err());

        let pe1 =
            store.create_fiche(&actor, c, fiche("PE-1", &[1], &["1.2", "1.1"], FicheStatus::InProgress)).await.unwrap();
        let err = store
            .create_fiche(&actor, c, fiche("PE-1", &[1], &[], FicheStatus::InProgress))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("« PE-1 » existe déjà"), "{err}");
        let je1 = store.create_fiche(&actor, c, fiche("JE-1", &[4, 1], &["4.1"], FicheStatus::Done)).await.unwrap();
        store.create_fiche(&actor, c, fiche("PE-10", &[2], &[], FicheStatus::Abandoned)).await.unwrap();
        store.create_fiche(&actor, c, fiche("PE-2", &[7], &[], FicheStatus::Upcoming)).await.unwrap();

        // Sub-actions on two levels: done (100), upcoming (0), one in progress whose children are done
        // and in progress (75), and an abandoned one that counts in no average: 58.3.
        let s1 =
            store.add_sub_action(&actor, c, pe1, &sub(None, "Recenser les besoins", FicheStatus::Done)).await.unwrap();
        let s2 =
            store.add_sub_action(&actor, c, pe1, &sub(None, "Ouvrir une MAM", FicheStatus::Upcoming)).await.unwrap();
        let s3 = store
            .add_sub_action(&actor, c, pe1, &sub(None, "Former les assistantes", FicheStatus::InProgress))
            .await
            .unwrap();
        let s4 = store.add_sub_action(&actor, c, pe1, &sub(Some(s3), "Session 1", FicheStatus::Done)).await.unwrap();
        store.add_sub_action(&actor, c, pe1, &sub(Some(s3), "Session 2", FicheStatus::InProgress)).await.unwrap();
        store.add_sub_action(&actor, c, pe1, &sub(None, "Crèche d'entreprise", FicheStatus::Abandoned)).await.unwrap();
        // A third level, a parent from another fiche, and an empty title are refused.
        let err = store.add_sub_action(&actor, c, pe1, &sub(Some(s4), "Trop bas", FicheStatus::Upcoming)).await;
        assert!(err.unwrap_err().to_string().contains("deux niveaux"));
        let err = store.add_sub_action(&actor, c, je1, &sub(Some(s3), "Ailleurs", FicheStatus::Upcoming)).await;
        assert!(err.unwrap_err().to_string().contains("n'appartient pas à cette fiche"));
        assert!(store.add_sub_action(&actor, c, pe1, &sub(None, " ", FicheStatus::Upcoming)).await.is_err());
        // A sub-action with children cannot go down a level.
        let mut down = sub(Some(s1), "Former les assistantes", FicheStatus::InProgress);
        down.id = s3;
        let err = store.update_sub_action(&actor, c, 1, &down).await.unwrap_err().to_string();
        assert!(err.contains("ses propres sous-actions"), "{err}");

        let plan = store.plan(c).await.unwrap();
        assert_eq!(plan.stakes.len(), 3);
        assert_eq!(plan.stakes.iter().map(|s| s.2.len()).sum::<usize>(), 8);
        assert_eq!(plan.stakes[1].2[0].0, 4);
        let codes: Vec<&str> = plan.fiches.iter().map(|f| f.fiche.code.as_str()).collect();
        assert_eq!(codes, vec!["JE-1", "PE-1", "PE-2", "PE-10"]);
        let f = plan.fiche("PE-1").unwrap();
        assert_eq!(f.id, pe1);
        assert_eq!(f.version, 1);
        // What was entered is what is read, objectives in code order.
        let expected = fiche("PE-1", &[1], &["1.1", "1.2"], FicheStatus::InProgress);
        assert_eq!(f.fiche, expected);
        assert_eq!(f.subs.len(), 6);
        assert_eq!(f.subs[0].sub.id, s1);
        assert_eq!(f.subs[4].sub.parent, Some(s3));
        assert_eq!(fiche_progress(f.fiche.status, &f.sub_actions()), Some(58.3));
        assert_eq!(f.progress(), Some(58.3));
        assert_eq!(plan.fiche("JE-1").unwrap().fiche.ambitions, vec![1, 4]);
        // Ambition 1: PE-1 (58.3) and JE-1 (100): 79.2; stake 1 (ambitions 1 to 3) the same fiches once;
        // the plan: PE-1, JE-1, PE-2 (0), PE-10 abandoned: (58.3 + 100 + 0) / 3 = 52.8.
        assert_eq!(plan.ambition_progress(1), Some(79.2));
        assert_eq!(plan.ambition_progress(4), Some(100.0));
        assert_eq!(plan.stake_progress(1), Some(79.2));
        assert_eq!(plan.progress(), Some(52.8));

        // A sub-action saved from its version; a stale one is refused.
        let mut edit = plan.fiche("PE-1").unwrap().subs[1].sub.clone();
        assert_eq!(edit.id, s2);
        edit.status = FicheStatus::Done;
        assert_eq!(store.update_sub_action(&actor, c, 1, &edit).await.unwrap(), 2);
        assert!(matches!(store.update_sub_action(&actor, c, 1, &edit).await, Err(StoreError::Stale { .. })));
        let f = store.fiche(c, pe1).await.unwrap();
        // (100 + 100 + 75) / 3 = 91.7.
        assert_eq!(f.progress(), Some(91.7));
        assert_eq!(f.subs[1].version, 2);
        // Each write left its entry in the audit trail.
        let trail = store
            .history(&HistoryFilter {
                convention_id: Some(c),
                object_type: Some("sous_action".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(trail.len(), 7);
    }
});

backend_tests!(status_changes_keep_their_reasons_and_stale_edits_are_refused, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let c = demo(&store).await;
        let claire = Actor::system("Claire Martin <claire@example.fr>");
        let paul = Actor::system("Paul Durand <paul@example.fr>");
        let id = store.create_fiche(&claire, c, fiche("PE-1", &[1], &[], FicheStatus::Upcoming)).await.unwrap();
        let f = store.fiche(c, id).await.unwrap();
        assert_eq!(f.history.len(), 1);
        assert_eq!(
            (f.history[0].from, f.history[0].to, f.history[0].reason.as_str(), f.history[0].author.as_str()),
            (None, FicheStatus::Upcoming, "création", claire.label.as_str())
        );

        // A change of status without a reason is refused, and nothing is written.
        let started = NewFiche { status: FicheStatus::InProgress, ..f.fiche.clone() };
        let err = store.update_fiche(&paul, c, id, 1, started.clone(), "  ").await.unwrap_err().to_string();
        assert!(err.contains("« À venir » à « En cours »") && err.contains("raison"), "{err}");
        assert_eq!(store.fiche(c, id).await.unwrap().version, 1);

        assert_eq!(store.update_fiche(&paul, c, id, 1, started.clone(), "comité du 3 mars").await.unwrap(), 2);
        // Without a change of status, no reason is needed and the history does not grow.
        let retitled = NewFiche { title: "Développer les MAM".into(), ..started.clone() };
        assert_eq!(store.update_fiche(&paul, c, id, 2, retitled, "").await.unwrap(), 3);
        let f = store.fiche(c, id).await.unwrap();
        assert_eq!(f.fiche.title, "Développer les MAM");
        assert_eq!(f.history.len(), 2);
        let last = &f.history[1];
        assert_eq!(
            (last.from, last.to, last.reason.as_str(), last.author.as_str()),
            (Some(FicheStatus::Upcoming), FicheStatus::InProgress, "comité du 3 mars", paul.label.as_str())
        );
        assert!(last.at >= f.history[0].at);

        // Claire saves from version 2, which Paul has since changed: refused, naming Paul.
        let done = NewFiche { status: FicheStatus::Done, ..started };
        match store.update_fiche(&claire, c, id, 2, done.clone(), "terminé").await {
            Err(StoreError::Stale { what, last_change: Some(entry) }) => {
                assert!(what.contains("PE-1"), "{what}");
                assert_eq!((entry.action.as_str(), entry.actor_label.as_str()), ("modification", paul.label.as_str()));
            }
            other => panic!("expected a stale version, got {other:?}"),
        }
        assert_eq!(store.fiche(c, id).await.unwrap().history.len(), 2);
        // An unknown fiche, or one of another convention, is not found.
        assert!(matches!(store.update_fiche(&claire, c, 999, 1, done, "x").await, Err(StoreError::NotFound(_))));

        // The history is append-only: no deletion, no rewriting of when, what or why (the author may be
        // pseudonymised).
        assert!(store.execute_raw("DELETE FROM fiche_status_change").await.is_err());
        assert!(store.execute_raw("UPDATE fiche_status_change SET reason = 'autre'").await.is_err());
        assert!(store.execute_raw("UPDATE fiche_status_change SET to_status = 'realisee'").await.is_err());
        assert_eq!(store.execute_raw("UPDATE fiche_status_change SET author = 'personne effacée'").await.unwrap(), 2);
        assert_eq!(store.fiche(c, id).await.unwrap().history[1].reason, "comité du 3 mars");
    }
});

backend_tests!(means_are_replaced_as_a_whole, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let c = demo(&store).await;
        let actor = Actor::cli("test");
        let id = store.create_fiche(&actor, c, fiche("PE-1", &[1], &[], FicheStatus::InProgress)).await.unwrap();
        let first = vec![
            means(CAF, 2026, 1_500_000),
            Means { kind: MeansKind::Investment, spent_cents: Some(20_000), ..means(CABBALR, 2026, 3_000_000) },
        ];
        store.set_means(&actor, c, id, &first).await.unwrap();
        let held = store.fiche(c, id).await.unwrap().means;
        assert_eq!(held.len(), 2);
        assert_eq!(held[0].organisation, "CAF");
        assert_eq!(held[1], first[1]);

        store.set_means(&actor, c, id, &[means(CABBALR, 2027, 100)]).await.unwrap();
        assert_eq!(store.fiche(c, id).await.unwrap().means, vec![means(CABBALR, 2027, 100)]);
        // Bad lines and twice the same organisation, year and kind are refused; nothing changes.
        let err = store.set_means(&actor, c, id, &[means(CAF, 1800, 1)]).await.unwrap_err().to_string();
        assert!(err.contains("année hors limites"), "{err}");
        let twice = [means(CAF, 2026, 1), means(CAF, 2026, 2)];
        let err = store.set_means(&actor, c, id, &twice).await.unwrap_err().to_string();
        assert!(err.contains("figure deux fois"), "{err}");
        assert_eq!(store.fiche(c, id).await.unwrap().means.len(), 1);
        store.set_means(&actor, c, id, &[]).await.unwrap();
        assert!(store.fiche(c, id).await.unwrap().means.is_empty());
        let trail =
            store.history(&HistoryFilter { object_type: Some("moyens".into()), ..Default::default() }).await.unwrap();
        assert_eq!(trail.len(), 3);
        assert!(matches!(store.set_means(&actor, c, 999, &[]).await, Err(StoreError::NotFound(_))));
    }
});

backend_tests!(means_name_a_party_of_the_convention_and_keep_unknown_amounts, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let c = demo(&store).await;
        let actor = Actor::cli("test");
        let parties = store.party_refs(c).await.unwrap();
        let labels: Vec<(i64, &str)> = parties.iter().map(|p| (p.id, p.label())).collect();
        assert_eq!(labels, [(CABBALR, "CABBALR"), (CAF, "CAF"), (3, "MSA"), (4, "Département")]);
        let id = store.create_fiche(&actor, c, fiche("PE-1", &[1], &[], FicheStatus::InProgress)).await.unwrap();
        // A blank planned amount is unknown: stored NULL and read back unknown, never 0.
        let unknown = Means { planned_cents: None, spent_cents: None, ..means(CAF, 2026, 0) };
        store.set_means(&actor, c, id, &[unknown.clone(), means(CABBALR, 2026, 0)]).await.unwrap();
        let held = store.fiche(c, id).await.unwrap().means;
        assert_eq!(held, vec![unknown, means(CABBALR, 2026, 0)]);
        assert_eq!((held[0].planned_cents, held[1].planned_cents), (None, Some(0)));
        // A party that is not one of the convention's is refused, the parties listed; nothing changes.
        let err = store.set_means(&actor, c, id, &[means(99, 2026, 1)]).await.unwrap_err().to_string();
        assert_eq!(
            err,
            "moyens : la partie n° 99 n'est pas une partie de la convention (parties : 1 : CABBALR, 2 : CAF, 3 : MSA, \
             4 : Département)"
        );
        assert_eq!(store.fiche(c, id).await.unwrap().means.len(), 2);
        // The label given with a line is not stored: the party's is read back.
        let renamed = Means { organisation: "n'importe quoi".into(), ..means(CAF, 2027, 5) };
        store.set_means(&actor, c, id, &[renamed]).await.unwrap();
        assert_eq!(store.fiche(c, id).await.unwrap().means, vec![means(CAF, 2027, 5)]);
    }
});

backend_tests!(indicator_values_and_where_indicators_stand, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let c = demo(&store).await;
        let actor = Actor::cli("test");
        let pe1 = store.create_fiche(&actor, c, fiche("PE-1", &[1], &[], FicheStatus::InProgress)).await.unwrap();
        let quantity =
            store.create_indicator(&actor, c, Some(pe1), &places(&[(2026, 10.0), (2027, 20.0)])).await.unwrap();
        let quality = store.create_indicator(&actor, c, None, &charter()).await.unwrap();
        let one_level = PlanIndicator {
            kind: IndicatorKind::Qualitative { scale: vec!["fait".into()] },
            targets: BTreeMap::new(),
            ..charter()
        };
        assert!(store.create_indicator(&actor, c, None, &one_level).await.is_err());
        assert!(matches!(store.create_indicator(&actor, c, Some(999), &charter()).await, Err(StoreError::NotFound(_))));

        store.add_indicator_value(&actor, c, quantity, &value("2026", Some(12.0), None)).await.unwrap();
        for (bad, expected) in [
            (value("2026", None, None), "valeur chiffrée"),
            (value("2026", Some(3.0), Some("engagé")), "pas un niveau"),
            (value("2026-13", Some(3.0), None), "mois invalide"),
            (value("26", Some(3.0), None), "AAAA"),
            (value("2026", Some(f64::NAN), None), "nombre fini"),
            (value("2026", Some(1e308), None), "« valeur » doit être un nombre fini"),
        ] {
            let err = store.add_indicator_value(&actor, c, quantity, &bad).await.unwrap_err().to_string();
            assert!(err.contains(expected) || (expected == "AAAA" && err.contains("(2026)")), "{err}");
        }
        let err = store
            .add_indicator_value(&actor, c, quality, &value("2027", None, Some("signée")))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("n'est pas un niveau de l'échelle"), "{err}");
        assert!(store.add_indicator_value(&actor, c, quality, &value("2027", Some(1.0), None)).await.is_err());
        let mut anonymous = value("2027-06", None, Some("atteint"));
        anonymous.author = String::new();
        store.add_indicator_value(&actor, c, quality, &anonymous).await.unwrap();

        let plan = store.plan(c).await.unwrap();
        assert_eq!(plan.indicators.len(), 2);
        let q = plan.indicators.iter().find(|i| i.id == quantity).unwrap();
        assert_eq!(q.fiche_id, Some(pe1));
        assert_eq!(q.indicator, places(&[(2026, 10.0), (2027, 20.0)]));
        assert_eq!(q.values, vec![value("2026", Some(12.0), None)]);
        assert_eq!(plan.indicators_of(pe1).count(), 1);
        assert_eq!(q.indicator.tracking(&q.values, d("2026-06-15")), Tracking::OnTrack { year: 2026 });
        assert_eq!(q.indicator.tracking(&q.values, d("2028-03-01")), Tracking::MissingValue { year: 2027 });
        let l = plan.indicators.iter().find(|i| i.id == quality).unwrap();
        assert_eq!((l.fiche_id, l.values[0].author.as_str()), (None, actor.label.as_str()));
        assert_eq!(l.indicator.tracking(&l.values, d("2027-09-01")), Tracking::OnTrack { year: 2027 });

        // The targets change from the version read; a stale version is refused, and so is a
        // definition the values recorded no longer fit.
        let raised = places(&[(2026, 15.0), (2027, 20.0)]);
        assert_eq!(store.update_indicator(&actor, c, quantity, 1, &raised).await.unwrap(), 2);
        assert!(matches!(store.update_indicator(&actor, c, quantity, 1, &raised).await, Err(StoreError::Stale { .. })));
        let err = store.update_indicator(&actor, c, quantity, 2, &charter()).await.unwrap_err().to_string();
        assert!(err.contains("ne correspond plus"), "{err}");
        let plan = store.plan(c).await.unwrap();
        let q = plan.indicators.iter().find(|i| i.id == quantity).unwrap();
        assert_eq!((q.version, q.indicator.tracking(&q.values, d("2026-06-15"))), (2, Tracking::Late { year: 2026 }));
    }
});

fn import_row(place: &str, f: NewFiche, m: Vec<Means>, i: Vec<PlanIndicator>) -> PlanImportRow {
    (place.to_owned(), f, m, i)
}

backend_tests!(plan_imports_write_all_or_nothing_and_update_by_code, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let c = demo(&store).await;
        let actor = Actor::cli("test");
        store.create_objective(&actor, c, &objective("1.1", 1)).await.unwrap();
        let rows = vec![
            import_row(
                "fiches.xlsx, ligne 2",
                fiche("PE-1", &[1], &["1.1"], FicheStatus::InProgress),
                vec![means(CAF, 2026, 100)],
                vec![places(&[(2026, 10.0)])],
            ),
            import_row("fiches.xlsx, ligne 3", fiche("PE-2", &[9], &["9.9"], FicheStatus::Upcoming), vec![], vec![]),
            import_row(
                "fiches.xlsx, ligne 4",
                fiche("PE-3", &[2], &[], FicheStatus::Upcoming),
                vec![means(CAF, 1800, 1)],
                vec![],
            ),
            import_row("fiches.xlsx, ligne 5", fiche("pe-1", &[1], &[], FicheStatus::Upcoming), vec![], vec![]),
        ];
        let err = store.import_plan(&actor, c, &rows, "fiches.xlsx").await.unwrap_err().to_string();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 3, "{err}");
        assert!(
            lines[0].starts_with("fiches.xlsx, ligne 3 : ") && lines[0].contains("9") && lines[0].contains("« 9.9 »")
        );
        assert!(lines[1].starts_with("fiches.xlsx, ligne 4 : ") && lines[1].contains("année hors limites"));
        assert!(lines[2].contains("ligne 5") && lines[2].contains("ligne 2"), "{err}");
        // Nothing written.
        let plan = store.plan(c).await.unwrap();
        assert!(plan.fiches.is_empty() && plan.indicators.is_empty());

        // PE-2 already exists: the import updates it.
        let pe2 = store.create_fiche(&actor, c, fiche("PE-2", &[2], &[], FicheStatus::Upcoming)).await.unwrap();
        let good = vec![
            rows[0].clone(),
            import_row(
                "fiches.xlsx, ligne 3",
                fiche("PE-2", &[2, 3], &[], FicheStatus::Upcoming),
                vec![],
                vec![charter()],
            ),
            import_row(
                "fiches.xlsx, ligne 4",
                fiche("PE-3", &[2], &[], FicheStatus::Upcoming),
                vec![means(CAF, 2026, 1)],
                vec![],
            ),
        ];
        assert_eq!(store.import_plan(&actor, c, &good, "fiches.xlsx").await.unwrap(), (2, 1));
        let plan = store.plan(c).await.unwrap();
        assert_eq!(plan.fiches.len(), 3);
        assert_eq!(plan.fiche("PE-2").unwrap().id, pe2);
        assert_eq!(plan.fiche("PE-2").unwrap().fiche.ambitions, vec![2, 3]);
        assert_eq!(plan.fiche("PE-2").unwrap().version, 2);
        assert_eq!(plan.fiche("PE-1").unwrap().history[0].reason, "création");
        assert_eq!(plan.indicators.len(), 2);

        // Read again with PE-1 done, its means and targets changed: updated by code, the change of
        // status recorded with « import », the indicator matched by name.
        let again = vec![import_row(
            "fiches.xlsx, ligne 2",
            fiche("PE-1", &[1], &["1.1"], FicheStatus::Done),
            vec![means(CAF, 2026, 200), means(CABBALR, 2027, 300)],
            vec![places(&[(2026, 12.0)])],
        )];
        assert_eq!(store.import_plan(&actor, c, &again, "fiches.xlsx").await.unwrap(), (0, 1));
        let plan = store.plan(c).await.unwrap();
        let f = plan.fiche("PE-1").unwrap();
        assert_eq!(f.fiche.status, FicheStatus::Done);
        assert_eq!(f.history.len(), 2);
        assert_eq!((f.history[1].from, f.history[1].reason.as_str()), (Some(FicheStatus::InProgress), "import"));
        assert_eq!(f.means, vec![means(CAF, 2026, 200), means(CABBALR, 2027, 300)]);
        let mine: Vec<_> = plan.indicators_of(f.id).collect();
        assert_eq!(mine.len(), 1);
        assert_eq!((mine[0].version, &mine[0].indicator.targets), (2, &places(&[(2026, 12.0)]).targets));
        // Each fiche written has its entry in the trail, and the import its own.
        let imports = store
            .history(&HistoryFilter { object_type: Some("plan_action".into()), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(imports.len(), 2);
        let fiches =
            store.history(&HistoryFilter { object_type: Some("fiche".into()), ..Default::default() }).await.unwrap();
        assert_eq!(fiches.len(), 5);
    }
});

backend_tests!(reviews_are_created_then_saved_from_their_version, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let c = demo(&store).await;
        let actor = Actor::cli("test");
        let review = Review {
            year: Some(2026),
            scope: ReviewScope::Ambition(1),
            done: "Deux MAM ouvertes".into(),
            successes: "Partenariat avec le Département".into(),
            attention: String::new(),
            concerns: "Recrutement".into(),
            declared: serde_json::json!({"objectifs": 3, "fiches": 5, "fiches_engagees": 4}),
        };
        let (id, v) = store.save_review(&actor, c, &review, None).await.unwrap();
        assert_eq!(v, 1);
        // Created twice: the second is refused as a stale edit.
        assert!(matches!(store.save_review(&actor, c, &review, None).await, Err(StoreError::Stale { .. })));
        let edited = Review { attention: "Suivre les délais".into(), ..review.clone() };
        assert_eq!(store.save_review(&actor, c, &edited, Some(1)).await.unwrap(), (id, 2));
        assert!(matches!(store.save_review(&actor, c, &edited, Some(1)).await, Err(StoreError::Stale { .. })));
        // The final review of a theme: one only, although its year is empty.
        let last = Review { year: None, scope: ReviewScope::Theme(" Petite enfance ".into()), ..review.clone() };
        store.save_review(&actor, c, &last, None).await.unwrap();
        assert!(matches!(store.save_review(&actor, c, &last, None).await, Err(StoreError::Stale { .. })));
        let other_year = Review { year: Some(2027), ..review.clone() };
        store.save_review(&actor, c, &other_year, None).await.unwrap();
        let unknown = Review { scope: ReviewScope::Ambition(9), ..review.clone() };
        assert!(store.save_review(&actor, c, &unknown, None).await.unwrap_err().to_string().contains("ambition 9"));
        let missing = Review { year: Some(2028), ..review };
        assert!(matches!(store.save_review(&actor, c, &missing, Some(1)).await, Err(StoreError::NotFound(_))));

        let all = store.reviews(c).await.unwrap();
        let keys: Vec<(Option<i32>, ReviewScope, i64)> =
            all.iter().map(|r| (r.review.year, r.review.scope.clone(), r.version)).collect();
        assert_eq!(
            keys,
            vec![
                (Some(2026), ReviewScope::Ambition(1), 2),
                (Some(2027), ReviewScope::Ambition(1), 1),
                (None, ReviewScope::Theme("Petite enfance".into()), 1),
            ]
        );
        assert_eq!(all[0].review, edited);
    }
});

backend_tests!(a_large_plan_is_read_in_a_few_queries, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let c = demo(&store).await;
        let actor = Actor::cli("test");
        // 200 fiches, 1,000 indicators, 600 means.
        let rows: Vec<PlanImportRow> = (1..=200)
            .map(|n| {
                let mut indicators = Vec::new();
                for k in 1..=5 {
                    indicators.push(PlanIndicator { name: format!("Indicateur {k}"), ..places(&[(2026, 10.0)]) });
                }
                import_row(
                    &format!("ligne {}", n + 1),
                    fiche(&format!("F-{n}"), &[(n % 8) + 1], &[], FicheStatus::InProgress),
                    vec![means(CAF, 2026, 1), means(CAF, 2027, 1), means(CABBALR, 2026, 1)],
                    indicators,
                )
            })
            .collect();
        // Timings belong to bench/, not to tests: this checks the plan reads back whole.
        assert_eq!(store.import_plan(&actor, c, &rows, "grand.xlsx").await.unwrap(), (200, 0));
        let plan = store.plan(c).await.unwrap();
        assert_eq!((plan.fiches.len(), plan.indicators.len()), (200, 1000));
        assert_eq!(plan.fiches[1].fiche.code, "F-2");
        assert_eq!(plan.fiches.iter().map(|f| f.means.len()).sum::<usize>(), 600);
    }
});
