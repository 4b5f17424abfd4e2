//! Issue 15: the CNAF and INSEE open data files as published, imported with the command line on both
//! databases, each trap of the files checked on the small fixtures of `tests/fixtures/donnees-ouvertes`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ctg_domain::diagnostic::AreaKind;
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, Store};

pub(crate) const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/donnees-ouvertes");

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(FIXTURES).join(name)
}

pub(crate) fn ctg(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ctg"))
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env("CTG_LOG", "warn")
        .output()
        .expect("run ctg")
}

pub(crate) fn out(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Every file of the fixtures, as a coordinator would load them.
pub(crate) const FILES: [&str; 7] = [
    "txcouv_pe_com.csv",
    "txcouv_pe_epci.csv",
    "txcouv_pe_dep.csv",
    "txcouv_pe_nat.csv",
    "nbpla_pe_epci.csv",
    "s_ben_com_f.csv",
    "base-cc-insee.csv",
];

pub(crate) fn import_all(url: &str) {
    for name in FILES {
        let o = ctg(url, &["import", "donnees-ouvertes", fixture(name).to_str().unwrap()]);
        assert!(o.status.success(), "{name}: {}", out(&o));
    }
}

async fn value(store: &Store, kind: AreaKind, code: &str, indicator: &str, year: i64) -> Option<(f64, Option<String>)> {
    store
        .open_observations(&[(kind, code.to_owned())])
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.indicator_code == indicator && r.year == year)
        .map(|r| (r.value, r.note))
}

backend_tests!(open_data_files_import_with_their_traps, |db: &TestDb| {
    let (store, url) = (db.store.clone(), db.url.clone());
    async move {
        // The coverage by commune: kind told by the header, BOM, `;`, decimal commas, a date for `annee`.
        let o = ctg(&url, &["import", "donnees-ouvertes", fixture("txcouv_pe_com.csv").to_str().unwrap()]);
        let text = out(&o);
        assert!(o.status.success(), "{text}");
        assert!(text.contains("CNAF, taux de couverture de l'accueil du jeune enfant par commune"), "{text}");
        assert!(text.contains("(5 lignes, millésime 2022)"), "{text}");
        assert!(text.contains("1 taux supérieur(s) à 100, gardés tels que publiés"), "{text}");
        assert!(text.contains("arrondissements municipaux additionnés dans leur commune : 69123"), "{text}");
        assert!(text.contains("colonne(s) absente(s)") && text.contains("txcouv_psu_col_com"), "{text}");
        import_all(&url);

        use AreaKind::*;
        assert_eq!(value(&store, Commune, "62119", "taux_couverture_global", 2022).await, Some((61.3, None)));
        assert_eq!(value(&store, Commune, "62178", "taux_couverture_global", 2022).await.unwrap().0, 47.5);
        // Rows only for larger communes: a small commune has nothing, never an invented figure.
        assert_eq!(value(&store, Commune, "62023", "taux_couverture_global", 2022).await, None);
        // A rate above 100 is kept as published, and marked.
        let ajaccio = value(&store, Commune, "2A004", "taux_couverture_global", 2022).await.unwrap();
        assert_eq!(ajaccio.0, 104.2);
        assert!(ajaccio.1.unwrap().contains("supérieur à 100"));
        // Lyon by arrondissement: no rate (rates do not add up), counts summed; an unknown part makes
        // the sum unknown.
        assert_eq!(value(&store, Commune, "69123", "taux_couverture_global", 2022).await, None);
        assert_eq!(value(&store, Commune, "69381", "taux_couverture_global", 2022).await, None);
        let lyon = value(&store, Commune, "69123", "allocataires_caf", 2023).await.unwrap();
        assert_eq!(lyon.0, 7000.0);
        assert!(lyon.1.unwrap().contains("arrondissements"));
        assert_eq!(value(&store, Commune, "69123", "beneficiaires_rsa", 2023).await, None);
        // Counts rounded to 5, marked as such.
        let bethune = value(&store, Commune, "62119", "allocataires_caf", 2023).await.unwrap();
        assert_eq!(bethune, (6425.0, Some("effectif arrondi à 5 par la CNAF".to_owned())));
        // The EPCI « XX » and the blank code are not located.
        assert_eq!(value(&store, Epci, "200072460", "taux_couverture_global", 2022).await.unwrap().0, 52.4);
        let all = store.open_observations(&[(Epci, "XX".to_owned())]).await.unwrap();
        assert!(all.is_empty());
        assert_eq!(value(&store, Departement, "2A", "taux_couverture_global", 2022).await.unwrap().0, 70.3);
        assert_eq!(value(&store, France, "FR", "taux_couverture_global", 2022).await.unwrap().0, 60.7);
        assert_eq!(value(&store, Epci, "200072460", "places_accueil_total", 2022).await.unwrap().0, 4710.0);
        // INSEE: counts, shares, supra-communal rows.
        assert_eq!(value(&store, Commune, "62119", "part_0_14", 2021).await.unwrap().0, 18.4);
        assert_eq!(value(&store, Epci, "200072460", "enfants_moins_3_ans", 2021).await.unwrap().0, 8600.0);
        assert_eq!(value(&store, France, "FR", "population_municipale", 2021).await.unwrap().0, 67407241.0);
        // Each figure keeps its file, vintage and import date.
        let r = store
            .open_observations(&[(Epci, "200072460".to_owned())])
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.indicator_code == "taux_couverture_global")
            .unwrap();
        assert_eq!((r.source_file.as_str(), r.vintage), ("txcouv_pe_epci.csv", 2022));
        assert_eq!(r.imported_on, chrono::Utc::now().date_naive());
        assert!(r.source_text().starts_with(
            "CNAF, open data de l'accueil du jeune enfant (txcouv_pe_epci.csv, millésime 2022, importé le "
        ));

        // A re-import replaces, it does not double.
        let before = store.open_data_counts().await.unwrap();
        import_all(&url);
        assert_eq!(store.open_data_counts().await.unwrap(), before);
    }
});

backend_tests!(a_malformed_open_data_file_writes_nothing, |db: &TestDb| {
    let (store, url) = (db.store.clone(), db.url.clone());
    async move {
        let o = ctg(&url, &["import", "donnees-ouvertes", fixture("txcouv_pe_epci_errone.csv").to_str().unwrap()]);
        assert!(!o.status.success());
        let text = out(&o);
        assert!(
            text.contains("txcouv_pe_epci_errone.csv, ligne 3, colonne 4, champ « txcouv_epci » : « beaucoup » n'est pas un nombre positif ou nul"),
            "{text}"
        );
        assert!(store.open_data_counts().await.unwrap().is_empty());
        // A file of another kind: the missing columns are named, in French.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, "annee;numepci;txcouv_eaje_epci\n2022;200072460;3\n").unwrap();
        let o = ctg(&url, &["import", "donnees-ouvertes", path.to_str().unwrap()]);
        assert!(out(&o).contains("x.csv, ligne 1 : colonne(s) manquante(s) pour un fichier « CNAF, taux de couverture de l'accueil du jeune enfant par EPCI » : txcouv_epci"), "{}", out(&o));
        std::fs::write(&path, "a;b\n1;2\n").unwrap();
        let o = ctg(&url, &["import", "donnees-ouvertes", "--type", "insee", path.to_str().unwrap()]);
        assert!(
            out(&o)
                .contains("colonne(s) manquante(s) pour un fichier « Insee, base communale du recensement » : CODGEO"),
            "{}",
            out(&o)
        );
        assert!(store.open_data_counts().await.unwrap().is_empty());
    }
});

pub(crate) fn import_territory(url: &str) {
    let extract = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/decoupage-administratif-6.0.0-extrait"));
    let o = ctg(
        url,
        &[
            "import",
            "territoire",
            "--communes",
            extract.join("communes.json").to_str().unwrap(),
            "--epci",
            extract.join("epci.json").to_str().unwrap(),
            "--millesime",
            "2022",
        ],
    );
    assert!(o.status.success(), "{}", out(&o));
}

/// A convention for an EPCI of the extract, by the command line; its number.
pub(crate) fn create_convention(url: &str, epci: &str) -> i64 {
    let o = ctg(
        url,
        &[
            "convention",
            "create",
            "--epci",
            epci,
            "--debut",
            "2026-01-01",
            "--fin",
            "2030-12-31",
            "--titre",
            "CTG test",
        ],
    );
    assert!(o.status.success(), "{}", out(&o));
    let text = out(&o);
    text.split("n° ").nth(1).and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next()).unwrap().parse().unwrap()
}

backend_tests!(the_diagnostic_is_prefilled_from_open_data, |db: &TestDb| {
    let (store, url) = (db.store.clone(), db.url.clone());
    async move {
        use ctg_domain::diagnostic::{Area, AreaKind};
        import_territory(&url);
        import_all(&url);
        let id = create_convention(&url, "200072460");
        // A figure typed by hand stays.
        let hand = ctg_domain::diagnostic::Observation {
            indicator: "allocataires_caf".into(),
            area: Area::parse("commune", "62119").unwrap(),
            period: "2023".into(),
            value: 6400.0,
            source: "CAF du Pas-de-Calais, saisie".into(),
            data_date: None,
        };
        store.import_observations(&ctg_domain::Actor::system("test"), &[hand], "test").await.unwrap();

        let o = ctg(&url, &["convention", "preremplir-diagnostic", "--convention", &id.to_string()]);
        let text = out(&o);
        assert!(o.status.success(), "{text}");
        assert!(text.contains("Diagnostic de CA de Béthune-Bruay, Artois-Lys Romane prérempli"), "{text}");
        assert!(text.contains("département 62, taux de couverture et composantes de 2022"), "{text}");
        // Commune rows only for the larger communes: said, not invented.
        assert!(
            text.contains("Taux de couverture global de l'accueil du jeune enfant (Commune) : 2 commune(s) sur 100 (2021, 2022) ; les autres n'ont pas de ligne publiée"),
            "{text}"
        );
        assert!(
            text.contains(
                "Taux de couverture en EAJE (Intercommunalité) : 2021, 2022 ; composante du taux global de 2022"
            ),
            "{text}"
        );
        assert!(text.contains("Foyers allocataires de la CAF (Commune) : CAF du Pas-de-Calais, saisie"), "{text}");
        // Missing, with its reason.
        assert!(
            text.contains("Taux de couverture en EAJE financés par la PSU (Intercommunalité) : aucun chiffre dans les données ouvertes importées : importez txcouv_pe_com"),
            "{text}"
        );
        assert!(text.contains("Places d'accueil du jeune enfant (toutes formes) (Commune) : aucune commune de l'EPCI n'a de ligne dans nbpla_pe_com"), "{text}");

        let areas = [
            Area { kind: AreaKind::Epci, code: "200072460".into() },
            Area { kind: AreaKind::Commune, code: "62119".into() },
            Area { kind: AreaKind::France, code: "FR".into() },
        ];
        let obs = store.observations(&areas).await.unwrap();
        let find = |ind: &str, code: &str, period: &str| {
            obs.iter().find(|o| o.indicator == ind && o.area.code == code && o.period == period).cloned()
        };
        let rate = find("taux_couverture_global", "200072460", "2022").unwrap();
        assert_eq!(rate.value, 52.4);
        assert!(
            rate.source.starts_with(
                "CNAF, open data de l'accueil du jeune enfant (txcouv_pe_epci.csv, millésime 2022, importé le "
            ),
            "{}",
            rate.source
        );
        assert_eq!(find("allocataires_caf", "62119", "2023").unwrap().value, 6400.0);
        assert!(find("personnes_couvertes_caf", "62119", "2023").unwrap().source.contains("arrondi à 5"));
        assert_eq!(find("population_municipale", "FR", "2021").unwrap().value, 67407241.0);
        assert_eq!(find("enfants_moins_3_ans", "200072460", "2021").unwrap().value, 8600.0);

        // Twice: the same figures, nothing doubled, nothing reported as kept but the hand-typed one.
        let o = ctg(&url, &["convention", "preremplir-diagnostic", "--convention", &id.to_string()]);
        assert!(o.status.success());
        assert_eq!(store.observations(&areas).await.unwrap().len(), obs.len());
    }
});

backend_tests!(the_comparison_page_of_the_demo_ranks_its_peers, |db: &TestDb| {
    let (store, url) = (db.store.clone(), db.url.clone());
    async move {
        let (app, id) = crate::common::demo_app(&store).await;
        import_all(&url);
        let r = crate::common::get(&app, &format!("/conventions/{id}/comparaison")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let doc = scraper::Html::parse_document(&r.body);
        // Worked by hand on the fixtures: the other CA of the extract (Lyon is a métropole, left out).
        // Distances: CINOR |log2(275 327 / 218 278)| + |3,12 − 4,08| = 0,34 + 0,96 = 1,30; Pays
        // Ajaccien |log2(275 327 / 93 835)| + |3,12 − 2,77| = 1,55 + 0,35 = 1,90. Allocataires: unknown
        // (2 communes of 100 only), not counted.
        let names = crate::common::texts(&doc, "table.comparison tbody th");
        assert_eq!(
            names,
            [
                "CA de Béthune-Bruay, Artois-Lys Romane",
                "CA Intercommunale du Nord de la Réunion (CINOR)",
                "CA du Pays Ajaccien"
            ]
        );
        // Coverage rates 52,4 / 38,0 / 71,9: ranks 2, 3, 1; median 52,4. Populations: 1, 2, 3.
        let row = |siren: &str| crate::common::texts(&doc, &format!("tr#epci-{siren} td"));
        let bethune = row("200072460");
        assert_eq!(bethune[1], "275 327 (1ᵉʳ)");
        assert_eq!(bethune[2], "3,12 (2ᵉ)");
        assert_eq!(bethune[3], "—");
        assert_eq!(bethune[4], "52,4 (2ᵉ)");
        assert_eq!(row("249740119")[4], "38 (3ᵉ)");
        assert_eq!(row("242010056")[4], "71,9 (1ᵉʳ)");
        let median = crate::common::texts(&doc, "tr#mediane td");
        assert_eq!(median[1], "218 278");
        assert_eq!(median[4], "52,4");
        assert!(r.body.contains("du même type"), "the criteria are explained");
        // Same département: no other CA of the Pas-de-Calais in the extract.
        let r = crate::common::get(&app, &format!("/conventions/{id}/comparaison?departement=1")).await;
        let doc = scraper::Html::parse_document(&r.body);
        assert_eq!(crate::common::texts(&doc, "table.comparison tbody th").len(), 1);
        // The export.
        let r = crate::common::get(&app, &format!("/conventions/{id}/comparaison?format=csv-virgule")).await;
        assert_eq!(r.status, 200);
        assert!(r.body.starts_with("siren,epci,population,rang_population"), "{}", &r.body[..100]);
        assert!(r.body.contains("Médiane du groupe"));
        let r = crate::common::get(&app, &format!("/conventions/{id}/comparaison?nombre=abc")).await;
        assert_eq!(r.status, 400);
    }
});

backend_tests!(the_prefill_page_says_what_was_filled_and_what_is_missing, |db: &TestDb| {
    let (store, url) = (db.store.clone(), db.url.clone());
    async move {
        use crate::common::{get_as, login, people, post_form, texts, PASSWORD};
        let (app, id) = crate::common::demo_app(&store).await;
        people(&store, id).await;
        import_all(&url);
        let coordinator = login(&app, "coordination", "claire@cabbalr.fr", PASSWORD).await;
        // The button is on the diagnostic page of those who may use it, with its CSRF token.
        let page = get_as(&app, &format!("/conventions/{id}/diagnostic"), &coordinator).await;
        assert!(page.body.contains(&format!("action=\"/conventions/{id}/diagnostic/preremplir\"")), "{}", page.body);
        let reader = login(&app, "lecteur", "louis@ctg.fr", PASSWORD).await;
        let page = get_as(&app, &format!("/conventions/{id}/diagnostic"), &reader).await;
        assert!(!page.body.contains("/diagnostic/preremplir"));
        // Without the token: refused, nothing written.
        let r =
            post_form(&app, &format!("/conventions/{id}/diagnostic/preremplir"), &coordinator, &[("_csrf", "faux")])
                .await;
        assert_eq!(r.status, 403, "{}", r.body);
        let r = post_form(&app, &format!("/conventions/{id}/diagnostic/preremplir"), &coordinator, &[]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let doc = scraper::Html::parse_document(&r.body);
        let status = texts(&doc, "p.confirmation").join(" ");
        assert!(status.contains("chiffres écrits depuis les données ouvertes"), "{status}");
        assert!(status.contains("Le taux de couverture et ses composantes sont ceux de 2022"), "{status}");
        let filled = texts(&doc, "section[aria-labelledby=rempli] tbody tr");
        assert!(
            filled
                .iter()
                .any(|l| l
                    .starts_with("Taux de couverture global de l'accueil du jeune enfantIntercommunalité2021, 2022")),
            "{filled:?}"
        );
        let missing = texts(&doc, "section[aria-labelledby=manquant] tbody tr");
        assert!(missing.iter().any(|l| l.contains("aucun chiffre dans les données ouvertes importées")), "{missing:?}");
        // The diagnostic now shows the figure with its source.
        let page = get_as(&app, &format!("/conventions/{id}/diagnostic"), &reader).await;
        assert!(page.body.contains("txcouv_pe_epci.csv, millésime 2022"), "the source is shown");
    }
});
