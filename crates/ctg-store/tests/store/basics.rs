//! The territory (imports, populations, a commune that changes EPCI), conventions with their parties,
//! and the database URLs the store accepts.

use ctg_domain::{territory_totals, Actor, Siren, Vintage};
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, Store, StoreError};

use crate::fixtures::{actor, cabbalr, load_territory, read, territory};

backend_tests!(territory_import_then_reimport_updates_without_duplicating, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let batch = territory();
        let first = store.import_territory(&Actor::cli("test"), &batch, &|_| {}).await.unwrap();
        assert_eq!((first.communes_new, first.communes_updated), (172, 0));
        assert_eq!((first.epcis_new, first.memberships), (4, 171));
        let counts = store.territory_counts().await.unwrap();
        assert_eq!(counts, (172, 4, 171));

        let mut renamed = batch.clone();
        renamed.communes.iter_mut().find(|c| c.code.as_str() == "62119").unwrap().name = "Béthune (renommée)".into();
        let again = store.import_territory(&Actor::cli("test"), &renamed, &|_| {}).await.unwrap();
        assert_eq!((again.communes_new, again.communes_updated, again.epcis_new), (0, 172, 0));
        assert_eq!(store.territory_counts().await.unwrap(), counts);

        let epci = store.epci(&cabbalr()).await.unwrap();
        assert_eq!(epci.communes.len(), 100);
        assert!(epci.communes.iter().any(|c| c.name == "Béthune (renommée)"));
        let (totals, _) = territory_totals(&epci.communes, &epci.vintages());
        assert_eq!(totals[0].municipal.value, Some(275_736));
        assert_eq!(totals[0].total.value, Some(278_892));
        assert_eq!(totals[0].counted_apart.value, Some(278_892 - 275_736));
    }
});

backend_tests!(a_failing_import_leaves_the_database_as_it_was, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        load_territory(&store).await;
        let before = store.territory_counts().await.unwrap();
        let mut bad = territory();
        bad.communes.iter_mut().find(|c| c.code.as_str() == "62119").unwrap().name =
            "Nom qui ne doit pas rester".into();
        // A member that is neither in the batch nor stored: refused before anything is written.
        let ghost = ctg_domain::InseeCode::parse("59350").unwrap();
        bad.epcis[0].members.push(ghost);
        let err = store.import_territory(&Actor::cli("test"), &bad, &|_| {}).await.unwrap_err();
        assert_eq!(err.to_string(), "les communes suivantes sont inconnues : 59350");
        assert_eq!(store.territory_counts().await.unwrap(), before);
        // A failure inside the transaction (a population that breaks a constraint of the schema,
        // written after the communes were updated) rolls everything back too.
        let mut bad = territory();
        bad.communes.iter_mut().find(|c| c.code.as_str() == "62119").unwrap().name =
            "Nom qui ne doit pas rester".into();
        bad.populations.last_mut().unwrap().population.total = Some(-5);
        assert!(matches!(
            store.import_territory(&Actor::cli("test"), &bad, &|_| {}).await,
            Err(StoreError::Database(_))
        ));
        assert_eq!(store.territory_counts().await.unwrap(), before);
        let epci = store.epci(&cabbalr()).await.unwrap();
        assert!(epci.communes.iter().all(|c| c.name != "Nom qui ne doit pas rester"));
    }
});

backend_tests!(populations_of_the_annex_by_vintage, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        load_territory(&store).await;
        let rows =
            ctg_import::populations::parse("annexe.csv", &read("demo/populations-annexe-convention.csv")).unwrap();
        let records: Vec<_> = rows.into_iter().map(|r| r.record).collect();
        assert_eq!(store.upsert_populations(&Actor::cli("test"), &records, "annexe").await.unwrap(), 200);
        let epci = store.epci(&cabbalr()).await.unwrap();
        let vintages = epci.vintages();
        assert_eq!(vintages.iter().map(|v| v.year()).collect::<Vec<_>>(), vec![2020, 2021, 2022]);
        let (totals, changes) = territory_totals(&epci.communes, &vintages);
        assert_eq!(totals[0].total.value, Some(279_142));
        assert_eq!(totals[0].municipal.value, None, "2020 municipal populations are unknown, not zero");
        assert_eq!(totals[1].municipal.value, Some(275_327));
        assert_eq!(totals[1].counted_apart.value, Some(3_104));
        assert_eq!(totals[1].total.value, Some(278_431));
        assert_eq!((changes[0].absolute, changes[0].percent), (-711, Some(-0.25)));

        // An unknown commune: nothing is written.
        let mut more = records.clone();
        more[0].population.total = Some(1);
        more.push(ctg_domain::PopulationRecord {
            commune: ctg_domain::InseeCode::parse("59350").unwrap(),
            vintage: Vintage::new(2021).unwrap(),
            population: ctg_domain::Population::new(None, None, Some(10)).unwrap(),
        });
        match store.upsert_populations(&Actor::cli("test"), &more, "x").await {
            Err(StoreError::UnknownCommunes(codes)) => assert_eq!(codes, vec!["59350".to_string()]),
            other => panic!("expected unknown communes, got {other:?}"),
        }
        let epci = store.epci(&cabbalr()).await.unwrap();
        let (totals, _) = territory_totals(&epci.communes, &vintages);
        assert_eq!(totals[1].total.value, Some(278_431));
    }
});

backend_tests!(conventions_with_parties_strategy_bodies_and_predecessor, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let conventions = ctg_import::convention::parse("conventions.json", &read("demo/conventions.json")).unwrap();
        // Before the territory is loaded, the EPCI is unknown and said so.
        let err = store.create_convention(&actor(), &conventions[0], None).await.unwrap_err();
        assert!(err.to_string().contains("l'EPCI 200072460 est inconnu"), "{err}");

        load_territory(&store).await;
        let first = store.create_convention(&actor(), &conventions[0], None).await.unwrap();
        let second = store.create_convention(&actor(), &conventions[1], Some(first)).await.unwrap();
        let err = store.create_convention(&actor(), &conventions[1], Some(9999)).await.unwrap_err();
        assert!(err.to_string().contains("existe déjà"), "{err}");
        let mut other = conventions[1].clone();
        other.title = "Autre".into();
        let err = store.create_convention(&actor(), &other, Some(9999)).await.unwrap_err();
        assert!(err.to_string().contains("n° 9999"), "{err}");

        let c = store.convention(second).await.unwrap();
        assert_eq!(c.summary.title, "Convention Territoriale Globale de Service aux Familles 2026-2030");
        assert_eq!(c.summary.epci_name, "CA de Béthune-Bruay, Artois-Lys Romane");
        assert_eq!(c.summary.start.to_string(), "2026-01-01");
        assert_eq!(c.summary.end.to_string(), "2030-12-31");
        assert_eq!(c.parties.len(), 4);
        assert_eq!(c.parties[0].party.signatory.as_deref(), Some("Olivier Gacquerre"));
        assert_eq!(c.parties[0].party.deliberation_date.map(|d| d.to_string()).as_deref(), Some("2025-09-30"));
        assert_eq!(c.stakes.len(), 3);
        assert_eq!(c.stakes.iter().map(|s| s.ambitions.len()).sum::<usize>(), 8);
        assert_eq!(c.stakes[2].ambitions[1].number, 8);
        assert_eq!(c.approaches.len(), 3);
        assert_eq!(c.bodies.len(), 4);
        assert_eq!(c.predecessor.as_ref().map(|p| p.id), Some(first));
        let before = store.convention(first).await.unwrap();
        assert_eq!(before.successors.len(), 1);
        assert_eq!(before.successors[0].id, second);

        let list = store.conventions().await.unwrap();
        assert_eq!(list.iter().map(|c| c.id).collect::<Vec<_>>(), vec![second, first]);
        assert_eq!(
            store
                .find_convention(&cabbalr(), "Convention Territoriale Globale de Service aux Familles 2026-2030")
                .await
                .unwrap(),
            Some(second)
        );
        assert!(matches!(store.convention(424242).await, Err(StoreError::NotFound(_))));

        // A party twice: refused, and nothing of that convention is left behind.
        let mut twice = conventions[1].clone();
        twice.title = "Doublon".into();
        twice.parties.push(twice.parties[0].clone());
        let err = store.create_convention(&actor(), &twice, None).await.unwrap_err();
        assert!(err.to_string().contains("figure deux fois"), "{err}");
        assert_eq!(store.find_convention(&cabbalr(), "Doublon").await.unwrap(), None);
    }
});

#[tokio::test]
async fn unsupported_url_is_named() {
    let err = Store::connect("mysql://u:secret@h/db").await.unwrap_err().to_string();
    assert!(err.contains("mysql://u:***@h/db") && !err.contains("secret"), "{err}");
}

backend_tests!(a_commune_that_changes_epci_leaves_the_old_one, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        load_territory(&store).await;
        // A newer file: the CA du Pays Ajaccien is gone, its communes joined the CABBALR (fictitious).
        let mut newer = territory();
        let capa = newer.epcis.iter().position(|e| e.siren.as_str() == "242010056").unwrap();
        let moved = newer.epcis.remove(capa).members;
        newer.epcis.iter_mut().find(|e| e.siren == cabbalr()).unwrap().members.extend(moved.iter().cloned());
        store.import_territory(&Actor::cli("test"), &newer, &|_| {}).await.unwrap();
        let cabbalr = store.epci(&cabbalr()).await.unwrap();
        assert_eq!(cabbalr.communes.len(), 110);
        let capa = store.epci(&Siren::parse("242010056").unwrap()).await.unwrap();
        assert!(capa.communes.is_empty(), "no commune is in two EPCIs");
    }
});
