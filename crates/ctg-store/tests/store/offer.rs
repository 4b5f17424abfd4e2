//! The offer of services in storage: facilities with the communes they serve, imports that write all
//! or nothing, versions, funding lines, outlines and dated parameters, on SQLite and PostgreSQL.

use chrono::NaiveDate;
use ctg_domain::offer::{Dispositif, FacilityStatus, FacilityType, NewFacility, NewFunding, PlacesKind};
use ctg_domain::{Actor, InseeCode};
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, CommuneOutline, StoreError};

use crate::fixtures::{cabbalr, load_territory, read};

fn c(s: &str) -> InseeCode {
    InseeCode::parse(s).unwrap()
}

fn rpe(commune: &str, served: &[&str]) -> NewFacility {
    NewFacility {
        type_code: "rpe".into(),
        name: format!("RPE de {commune}"),
        manager: "Communauté d'agglomération".into(),
        commune: c(commune),
        served: served.iter().map(|s| c(s)).collect(),
        capacity: None,
        labels: vec![],
        status: FacilityStatus::Open,
        opened_on: Some(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()),
        closed_on: None,
        external_id: None,
        latitude: None,
        longitude: None,
    }
}

backend_tests!(facilities_are_created_read_and_versioned, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        load_territory(&store).await;
        let actor = Actor::cli("test");
        assert!(store.facility_types().await.unwrap().iter().any(|t| t.code == "maison_1000_jours"));
        // Béthune's RPE also serves Annezin and Fouquières-lès-Béthune.
        let id = store.create_facility(&actor, None, rpe("62119", &["62035", "62350"])).await.unwrap();
        let f = store.facility(id).await.unwrap();
        assert_eq!(f.data.served, vec![c("62035"), c("62350")]);
        assert_eq!(f.version, 1);
        let listed = store.facilities_of(&cabbalr()).await.unwrap();
        assert_eq!(listed.len(), 1);

        let mut edit = f.data.clone();
        edit.served = vec![c("62035")];
        edit.capacity = Some(12);
        assert_eq!(store.update_facility(&actor, None, id, 1, edit.clone()).await.unwrap(), 2);
        assert_eq!(store.facility(id).await.unwrap().data.served, vec![c("62035")]);
        // Saving again from version 1 is refused and says who changed it.
        match store.update_facility(&actor, None, id, 1, edit).await {
            Err(StoreError::Stale { last_change: Some(entry), .. }) => assert_eq!(entry.action, "modification"),
            other => panic!("expected a stale version, got {other:?}"),
        }
        // A commune outside France's known communes is named.
        let err = store.create_facility(&actor, None, rpe("62119", &["62999"])).await.unwrap_err();
        assert!(err.to_string().contains("62999"), "{err}");
        // A type the catalogue does not have is refused; a CAF can add it.
        let mut ludo = rpe("62119", &[]);
        ludo.type_code = "ludotheque".into();
        assert!(store
            .create_facility(&actor, None, ludo.clone())
            .await
            .unwrap_err()
            .to_string()
            .contains("ludotheque"));
        let t = FacilityType {
            code: "ludotheque".into(),
            label: "Ludothèque".into(),
            theme: "Parentalité".into(),
            places: PlacesKind::Other,
            aliases: vec![],
        };
        store.add_facility_type(&actor, &t).await.unwrap();
        assert!(store.add_facility_type(&actor, &t).await.unwrap_err().to_string().contains("existe déjà"));
        store.create_facility(&actor, None, ludo).await.unwrap();
        // The types survive a restart of the platform (the built-in ones are brought back in step).
        store.migrate().await.unwrap();
        assert!(store.facility_types().await.unwrap().iter().any(|t| t.code == "ludotheque"));
    }
});

backend_tests!(facility_imports_write_all_or_nothing_and_update_by_identifier, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        load_territory(&store).await;
        let actor = Actor::cli("test");
        let mut a = rpe("62119", &["62035"]);
        a.external_id = Some("62119-RPE-001".into());
        let mut b = rpe("62178", &[]);
        b.external_id = Some("62178-RPE-001".into());
        let mut bad = rpe("62516", &["62998"]);
        bad.name = "RPE de Lillers".into();
        let rows =
            vec![("ligne 2".to_owned(), a.clone()), ("ligne 3".to_owned(), b.clone()), ("ligne 4".to_owned(), bad)];
        let err = store.import_facilities(&actor, &rows, "f.csv").await.unwrap_err().to_string();
        assert!(err.contains("ligne 4") && err.contains("62998"), "{err}");
        assert!(store.all_facilities().await.unwrap().is_empty(), "nothing written");

        let done = store.import_facilities(&actor, &rows[..2], "f.csv").await.unwrap();
        assert_eq!((done.created, done.updated), (2, 0));
        a.capacity = Some(4);
        let again = store.import_facilities(&actor, &[("ligne 2".to_owned(), a)], "f.csv").await.unwrap();
        assert_eq!((again.created, again.updated), (0, 1));
        let all = store.all_facilities().await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].data.capacity, Some(4));
        // Without an identifier, a row is the facility of the same type, name and commune.
        let plain = rpe("62516", &[]);
        let first = store.import_facilities(&actor, &[("ligne 2".to_owned(), plain.clone())], "g.csv").await.unwrap();
        let again = store.import_facilities(&actor, &[("ligne 2".to_owned(), plain)], "g.csv").await.unwrap();
        assert_eq!((first.created, again.created, again.updated), (1, 0, 1));
        assert_eq!(store.all_facilities().await.unwrap().len(), 3);
    }
});

backend_tests!(funding_lines_and_their_import, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        load_territory(&store).await;
        let actor = Actor::cli("test");
        let new = ctg_import::convention::parse("c.json", &read("demo/conventions.json")).unwrap();
        let id = *store.create_conventions(&actor, &new, None).await.unwrap().last().unwrap();
        let line = NewFunding {
            facility_id: None,
            dispositif: Dispositif::BonusInclusionHandicap,
            funder: "CAF du Pas-de-Calais".into(),
            year: 2024,
            amount_cents: 11_002_139,
            note: "EAJE".into(),
        };
        store.create_funding(&actor, id, line.clone()).await.unwrap();
        // The same line imported twice counts once; an unknown facility is named with its row.
        let rows = vec![("ligne 2".to_owned(), None, NewFunding { amount_cents: 11_002_140, ..line.clone() })];
        assert_eq!(store.import_funding(&actor, id, &rows, "fin.csv").await.unwrap(), (0, 1));
        let rows = vec![("ligne 5".to_owned(), Some("X-1".to_owned()), line.clone())];
        let err = store.import_funding(&actor, id, &rows, "fin.csv").await.unwrap_err().to_string();
        assert!(err.contains("ligne 5") && err.contains("X-1"), "{err}");
        let lines = store.funding(id).await.unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].data.amount_cents, 11_002_140);
    }
});

backend_tests!(outlines_and_dated_parameters, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        load_territory(&store).await;
        let actor = Actor::cli("test");
        let square = vec![vec![vec![(2.6, 50.5), (2.7, 50.5), (2.7, 50.6), (2.6, 50.5)]]];
        let outlines = vec![
            CommuneOutline { code: c("62119"), polygons: square.clone() },
            CommuneOutline { code: c("75056"), polygons: square.clone() },
        ];
        // Paris is not in the test territory: skipped and counted.
        assert_eq!(store.import_outlines(&actor, &outlines, "contours.geojson").await.unwrap(), (1, 1));
        let held = store.outlines_of(&cabbalr()).await.unwrap();
        assert_eq!(held, vec![CommuneOutline { code: c("62119"), polygons: square }]);

        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(store.parameter("seuil_secret", 5).await.unwrap().on(day(2026, 1, 1)), 5);
        store.set_parameter(&actor, "seuil_secret", day(2027, 1, 1), 11).await.unwrap();
        let p = store.parameter("seuil_secret", 5).await.unwrap();
        assert_eq!((p.on(day(2026, 12, 31)), p.on(day(2027, 1, 1))), (5, 11));
    }
});
