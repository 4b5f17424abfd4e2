//! Each party's commitments (art. 6, annex 3), on SQLite and PostgreSQL: tied to a party of the
//! convention, ordered by party, changed from their version, refused whole when a part is wrong.

use ctg_domain::funds::Commitment;
use ctg_domain::Actor;
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, HistoryFilter, StoreError};

use crate::fixtures::demo;

fn commitment(party_id: i64, text: &str, ambition: Option<i64>) -> Commitment {
    Commitment { party_id, text: text.into(), source: "art. 6".into(), ambition }
}

backend_tests!(commitments_belong_to_a_party_and_change_from_their_version, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let c = demo(&store).await;
        let actor = Actor::cli("test");
        let parties = store.party_refs(c).await.unwrap();
        let (cabbalr, caf) = (parties[0].id, parties[1].id);
        // Art. 12: signed by all, the convention's commitments change only by avenant.
        let locked = store.create_commitment(&actor, c, &commitment(caf, "Autre", None)).await;
        assert!(matches!(&locked, Err(StoreError::Invalid(m)) if m.contains("avenant")), "{locked:?}");
        ctg_store::testing::as_draft(&store, c).await;
        let a = store
            .create_commitment(&actor, c, &commitment(caf, "  Poursuivre l'appui financier  ", Some(1)))
            .await
            .unwrap();
        let b =
            store.create_commitment(&actor, c, &commitment(cabbalr, "Mettre en œuvre les moyens", None)).await.unwrap();
        let third = store.create_commitment(&actor, c, &commitment(caf, "Fournir les données", None)).await.unwrap();
        // By party (in the parties' order), then in the order they were added; texts tidied.
        let held = store.commitments(c).await.unwrap();
        let ids: Vec<i64> = held.iter().map(|r| r.id).collect();
        assert_eq!(ids, [b, a, third]);
        assert_eq!(held[1].commitment, commitment(caf, "Poursuivre l'appui financier", Some(1)));

        // Changed from its version; a stale version is refused and changes nothing.
        let v =
            store.update_commitment(&actor, c, a, 1, &commitment(caf, "Poursuivre l'appui", Some(4))).await.unwrap();
        assert_eq!(v, 2);
        let stale = store.update_commitment(&actor, c, a, 1, &commitment(caf, "Autre", None)).await;
        assert!(matches!(stale, Err(StoreError::Stale { .. })), "{stale:?}");
        let held = store.commitments(c).await.unwrap();
        assert_eq!(held[1].commitment, commitment(caf, "Poursuivre l'appui", Some(4)));
        assert_eq!(held[1].version, 2);

        // A party of no convention, an unknown ambition, an empty text: refused, nothing written.
        let err = store.create_commitment(&actor, c, &commitment(999, "x", None)).await.unwrap_err().to_string();
        assert!(err.starts_with("la partie n° 999 n'est pas une partie de la convention (parties : "), "{err}");
        let err = store.create_commitment(&actor, c, &commitment(caf, "x", Some(42))).await.unwrap_err().to_string();
        assert_eq!(err, "l'ambition 42 n'existe pas dans cette convention");
        let err = store.create_commitment(&actor, c, &commitment(caf, "   ", None)).await.unwrap_err().to_string();
        assert_eq!(err, "le texte de l'engagement est vide");
        let err = store.update_commitment(&actor, c, a, 2, &commitment(999, "x", None)).await.unwrap_err().to_string();
        assert!(err.contains("n'est pas une partie"), "{err}");
        // Many at once: all or nothing.
        let batch = [commitment(caf, "Un", None), commitment(caf, "Deux", Some(42))];
        assert!(store.create_commitments(&actor, c, &batch).await.is_err());
        assert_eq!(store.commitments(c).await.unwrap().len(), 3);

        let trail = store
            .history(&HistoryFilter { object_type: Some("engagement".into()), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(trail.len(), 4, "three creations and one change");
    }
});
