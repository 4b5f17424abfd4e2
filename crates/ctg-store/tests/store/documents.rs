//! Documents in storage: hashed, checked against a size limit that is a dated parameter, read back
//! with their hash verified; on SQLite and PostgreSQL.

use chrono::Utc;
use ctg_domain::documents::Owner;
use ctg_domain::Actor;
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, sha256_hex, StoreError, MAX_DOCUMENT_PARAMETER};

use crate::fixtures::read;

backend_tests!(documents_are_hashed_limited_and_verified, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let actor = Actor::cli("test");
        let batch = ctg_import::decoupage::parse(
            "communes.json",
            &read("decoupage-administratif-6.0.0-extrait/communes.json"),
            "epci.json",
            &read("decoupage-administratif-6.0.0-extrait/epci.json"),
            ctg_domain::Vintage::new(2022).unwrap(),
            "test",
        )
        .unwrap()
        .batch;
        store.import_territory(&actor, &batch, &|_| {}).await.unwrap();
        let conventions = ctg_import::convention::parse("c.json", &read("demo/conventions.json")).unwrap();
        let id = *store.create_conventions(&actor, &conventions, None).await.unwrap().last().unwrap();
        let text = "Relevé de décisions du comité de pilotage\n".repeat(40);
        let doc = store.add_document(&actor, id, Owner::Meeting(7), "cr.txt", text.as_bytes()).await.unwrap();
        let (info, content) = store.document(id, doc).await.unwrap();
        assert_eq!(content, text.as_bytes());
        assert_eq!(info.sha256, sha256_hex(text.as_bytes()));
        assert_eq!(info.media_type, "text/plain; charset=utf-8");
        assert_eq!(info.size_bytes, text.len() as i64);
        // Not found from another convention.
        assert!(matches!(store.document(id - 1, doc).await, Err(StoreError::NotFound(_))));
        // The limit is a dated parameter: 1 Kio from today on refuses this file.
        store.set_parameter(&actor, MAX_DOCUMENT_PARAMETER, Utc::now().date_naive(), 1024).await.unwrap();
        let err = store
            .add_document(&actor, id, Owner::Meeting(7), "cr2.txt", format!("{text}!").as_bytes())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("au-delà de 1 Kio"), "{err}");
        assert_eq!(store.documents(id, Owner::Meeting(7)).await.unwrap().len(), 1);
    }
});
