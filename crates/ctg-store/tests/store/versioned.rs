//! Versioned writes at the same time: of edits made from the same version, one is saved and the
//! others are refused as stale, naming it, on SQLite as on PostgreSQL (never a database error); an
//! edit saved then from the new version records what it replaced as its before image.

use ctg_domain::Actor;
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, ConventionEdit, HistoryFilter, StoreError};

use crate::fixtures::demo_draft;

backend_tests!(edits_from_one_version_at_once_one_is_saved_the_others_are_stale, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let id = demo_draft(&store).await;
        let read = store.convention(id).await.unwrap();
        let names = ["alice", "bob", "chloe", "david"];
        let edit = |name: &str| ConventionEdit {
            title: format!("Titre de {name}"),
            start: read.summary.start,
            end: read.summary.end,
            status: read.summary.status,
            signing_place: read.signing_place.clone(),
            published: read.summary.published,
        };
        let tasks: Vec<_> = names
            .iter()
            .map(|name| {
                let (store, actor, edit) = (store.clone(), Actor::cli(name), edit(name));
                let version = read.summary.version;
                tokio::spawn(async move { store.update_convention(&actor, id, version, &edit).await })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.unwrap());
        }
        let saved: Vec<usize> = (0..names.len()).filter(|i| results[*i].is_ok()).collect();
        assert_eq!(saved.len(), 1, "exactly one edit is saved: {results:?}");
        let winner = saved[0];
        assert_eq!(*results[winner].as_ref().unwrap(), read.summary.version + 1);
        for (i, result) in results.iter().enumerate().filter(|(i, _)| *i != winner) {
            match result {
                Err(StoreError::Stale { last_change: Some(e), .. }) => {
                    assert_eq!(e.actor_label, Actor::cli(names[winner]).label, "{} is told who won", names[i]);
                }
                other => panic!("{}: expected a stale version, got {other:?}", names[i]),
            }
        }
        let now = store.convention_summary(id).await.unwrap();
        assert_eq!(now.title, format!("Titre de {}", names[winner]));
        assert_eq!(now.version, read.summary.version + 1);

        // One of the others saves again, from the version it reads now.
        let other = (winner + 1) % names.len();
        let v = store.update_convention(&Actor::cli(names[other]), id, now.version, &edit(names[other])).await.unwrap();
        assert_eq!(v, now.version + 1);
        let filter = HistoryFilter {
            object_type: Some("convention".into()),
            object_id: Some(id.to_string()),
            ..HistoryFilter::default()
        };
        let history = store.history(&filter).await.unwrap();
        let edits: Vec<_> = history.iter().filter(|e| e.action == "modification").collect();
        assert_eq!(edits.len(), 2, "one entry per edit saved, none for those refused");
        assert_eq!(edits[0].before.as_ref().unwrap()["titre"], now.title.as_str());
        assert_eq!(edits[0].after.as_ref().unwrap()["titre"], format!("Titre de {}", names[other]).as_str());
        assert_eq!(edits[1].before.as_ref().unwrap()["titre"], read.summary.title.as_str());
    }
});
