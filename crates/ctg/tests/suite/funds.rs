//! Each party's commitments and « Qui finance quoi » through the pages and the API, on the demo, on
//! SQLite and PostgreSQL: the 2024 bonuses add up to 449,592.54 €, an unknown amount stays unknown (on
//! the page, in the evaluation, in the API and the downloads), means name a party of the convention.

use crate::common;

use common::{demo_app, digits, get, get_as, get_bytes, login, people, post_form, send_json, texts, Who, PASSWORD};
use ctg_domain::plan::{FicheStatus, NewFiche};
use ctg_store::backend_tests;
use ctg_store::testing::TestDb;

fn fiche(code: &str) -> NewFiche {
    NewFiche {
        code: code.into(),
        title: format!("Fiche {code}"),
        description: String::new(),
        ambitions: vec![1],
        objectives: vec![],
        pilot_organisation: "CABBALR".into(),
        pilot_person: String::new(),
        partners: vec![],
        public: String::new(),
        communes: vec![],
        start: None,
        end: None,
        priority: None,
        status: FicheStatus::InProgress,
        approaches: vec![],
        needs: String::new(),
    }
}

backend_tests!(who_funds_what_sums_the_2024_bonuses_and_never_counts_unknown_as_zero, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        // The acceptance test of issue 12: the five 2024 bonuses of the CAF, 449,592.54 €.
        let api = get(&app, &format!("/api/v1/conventions/{id}/qui-finance-quoi")).await.json();
        let totals = api["totaux"].as_array().unwrap();
        assert_eq!(totals.len(), 1, "{api}");
        assert_eq!((totals[0]["partie"].as_str(), totals[0]["annee"].as_i64()), (Some("CAF"), Some(2024)));
        assert_eq!(totals[0]["depense"]["total_centimes"], 44_959_254);
        assert_eq!(totals[0]["prevu"]["connus"], 0);
        assert_eq!(api["lignes"][0]["lignes"], 5);
        let page = get(&app, &format!("/conventions/{id}/qui-finance-quoi")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let doc = page.html();
        assert_eq!(digits(&texts(&doc, "#qui-finance-totaux tbody td")[2]), "449592,54");

        // Two fiches of ambition 1: the CAF plans 1,200 € on one, and an amount left blank on the other.
        let actor = ctg_domain::Actor::cli("test");
        let a = store.create_fiche(&actor, id, fiche("PE-1")).await.unwrap();
        let b = store.create_fiche(&actor, id, fiche("PE-2")).await.unwrap();
        people(&store, id).await;
        let who = login(&app, "coordination", "claire@cabbalr.fr", PASSWORD).await;
        let means = |fid: i64| format!("/conventions/{id}/plan/fiches/{fid}/moyens");
        let caf = store.party_refs(id).await.unwrap().into_iter().find(|p| p.label() == "CAF").unwrap().id.to_string();
        let r = post_form(
            &app,
            &means(a),
            &who,
            &[
                ("rows", "1"),
                ("partie_0", &caf),
                ("annee_0", "2026"),
                ("prevu_0", "1 200"),
                ("nature_0", "fonctionnement"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r = post_form(
            &app,
            &means(b),
            &who,
            &[("rows", "1"), ("partie_0", &caf), ("annee_0", "2026"), ("etp_0", "0,5")],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        // A party that is not one of the convention's is refused, beside its cell.
        let r = post_form(
            &app,
            &means(b),
            &who,
            &[("rows", "1"), ("partie_0", "999999"), ("annee_0", "2026"), ("prevu_0", "10")],
        )
        .await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("ligne 1 : partie inconnue"), "{}", r.body);
        // The fiche shows the blank amount as unknown.
        let fiche_page = get_as(&app, &format!("/conventions/{id}/plan/fiches/{b}"), &who).await.body;
        assert!(fiche_page.contains("<td class=\"num\">inconnu</td>"), "{fiche_page}");

        // « Qui finance quoi »: a total over an unknown part says it is partial.
        let api = get(&app, &format!("/api/v1/conventions/{id}/qui-finance-quoi")).await.json();
        let row = api["lignes"].as_array().unwrap().iter().find(|l| l["annee"] == 2026).unwrap().clone();
        assert_eq!((row["partie"].as_str(), row["ambitions"].clone()), (Some("CAF"), serde_json::json!([1])));
        assert_eq!(row["prevu"]["connus_centimes"], 120_000);
        assert_eq!(row["prevu"]["inconnus"], 1);
        assert_eq!(row["prevu"]["total_centimes"], serde_json::Value::Null);
        assert_eq!(row["depense"]["inconnus"], 2);
        assert_eq!(row["depense"]["texte"], "inconnu (2 montants inconnus)");
        let page = get(&app, &format!("/conventions/{id}/qui-finance-quoi")).await.body;
        assert!(page.contains("(1 montant inconnu)"), "{page}");
        assert!(page.replace('\u{202f}', " ").contains("au moins 1 200,00 € (1 montant inconnu)"), "{page}");
        // The evaluation says the same, not 0,00 € for the blank.
        let eval = get(&app, &format!("/conventions/{id}/evaluation")).await.body;
        assert!(eval.replace('\u{202f}', " ").contains("au moins 1 200,00 € (1 montant inconnu)"), "{eval}");

        // The downloads: the known part, and the count of unknown amounts beside it; never 0 for one.
        let csv = get(&app, &format!("/conventions/{id}/qui-finance-quoi?format=csv-virgule")).await.body;
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "partie,annee,ambitions,nature,source,prevu,prevu_montants_inconnus,depense,depense_montants_inconnus,lignes,\
             arrete,source_des_donnees,donnees_au"
        );
        let row = |start: &str| lines.iter().any(|l| l.starts_with(&format!("{start},")));
        assert!(row("CAF,2024,,Fonctionnement,Financements de l'offre,,0,449592.54,0,5"), "{csv}");
        assert!(row("CAF,2026,1,Fonctionnement,Moyens des fiches,1200.00,1,,2,2"), "{csv}");
        let totals =
            get(&app, &format!("/conventions/{id}/qui-finance-quoi?format=csv-virgule&tableau=totaux")).await.body;
        assert!(totals.contains("CAF,2024,,0,449592.54,0"), "{totals}");
        for format in ["xlsx", "ods"] {
            let (status, bytes) =
                get_bytes(&app, &format!("/conventions/{id}/qui-finance-quoi?format={format}"), &Who::default()).await;
            assert_eq!(status, 200, "{format}");
            assert!(bytes.starts_with(b"PK"), "{format}: a zipped workbook");
        }
    }
});

backend_tests!(commitments_of_the_parties_are_quoted_and_changed_by_their_party, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        // The demo quotes art. 6 for each of the four parties; the collectivités also for annex 3.
        let api = get(&app, &format!("/api/v1/conventions/{id}/engagements")).await.json();
        let all = api.as_array().unwrap();
        let parties: Vec<&str> = all.iter().map(|e| e["partie"].as_str().unwrap()).collect();
        assert_eq!(parties, ["CABBALR", "CABBALR", "CAF", "MSA", "Département", "Département"]);
        assert!(all.iter().all(|e| e["source"].as_str().unwrap().starts_with("art. 6")));
        assert!(all[2]["texte"].as_str().unwrap().contains("mettre en œuvre les moyens nécessaires"));
        let page = get(&app, &format!("/conventions/{id}/engagements")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(texts(&page.html(), "section.party-commitments h2").len(), 4);

        let p = people(&store, id).await;
        let camille = login(&app, "contributeur", "camille@caf.fr", PASSWORD).await;
        let path = format!("/conventions/{id}/engagements");
        // Art. 12: « Toute modification fera l'objet d'un avenant ». The demo is signed by all: its
        // commitments are its text, and a direct change is refused, pointing to the avenant.
        let r = post_form(
            &app,
            &path,
            &camille,
            &[("party", &p.caf_party.to_string()), ("text", "Autre"), ("source", "art. 6")],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("rédigez un avenant"), "{}", r.body);
        let claire = login(&app, "coordination", "claire@cabbalr.fr", PASSWORD).await;
        let first = get(&app, &format!("/api/v1/conventions/{id}/engagements")).await.json()[0].clone();
        let put = serde_json::json!({"partie_id": first["partie_id"], "texte": "Changé", "version": first["version"]});
        let r = send_json(
            &app,
            "PUT",
            &format!("/api/v1/conventions/{id}/engagements/{}", first["id"]),
            &claire,
            &put,
            true,
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("avenant"), "{}", r.body);
        // Before signature, they are written directly: a contributor of the CAF changes the CAF's
        // commitments, not the CABBALR's.
        ctg_store::testing::as_draft(&store, id).await;
        let r = post_form(&app, &path, &camille, &[("party", &p.epci_party.to_string()), ("text", "Autre")]).await;
        assert_eq!(r.status, 403, "{}", r.body);
        let r =
            post_form(&app, &path, &camille, &[("party", &p.caf_party.to_string()), ("text", "  "), ("source", "")])
                .await;
        assert_eq!(r.status, 400);
        assert!(
            r.body.contains("le texte de l&#39;engagement est vide")
                || r.body.contains("le texte de l&#x27;engagement est vide"),
            "{}",
            r.body
        );
        let r = post_form(
            &app,
            &path,
            &camille,
            &[
                ("party", &p.caf_party.to_string()),
                ("text", "Fournir les données"),
                ("source", "art. 6"),
                ("ambition", "2"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);

        // Through the API, from the version read; a stale version is refused; unknown fields too.
        let api_path = format!("/api/v1/conventions/{id}/engagements");
        let created = get(&app, &api_path).await.json();
        let mine = created.as_array().unwrap().iter().find(|e| e["texte"] == "Fournir les données").unwrap().clone();
        assert_eq!(mine["ambition"], 2);
        let cid = mine["id"].as_i64().unwrap();
        let body = |v: i64| serde_json::json!({"partie_id": p.caf_party, "texte": "Fournir les données statistiques", "source": "art. 6", "version": v});
        let r = send_json(&app, "PUT", &format!("{api_path}/{cid}"), &claire, &body(1), true).await;
        assert_eq!((r.status.as_u16(), r.json()["version"].as_i64()), (200, Some(2)), "{}", r.body);
        let r = send_json(&app, "PUT", &format!("{api_path}/{cid}"), &claire, &body(1), true).await;
        assert_eq!(r.status, 409, "{}", r.body);
        let r = send_json(
            &app,
            "POST",
            &api_path,
            &claire,
            &serde_json::json!({"partie_id": p.caf_party, "texte": "x", "montant": 1}),
            true,
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        let r = send_json(&app, "POST", &api_path, &claire, &serde_json::json!({"partie_id": 999, "texte": "x"}), true)
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("n'est pas une partie de la convention"), "{}", r.body);
    }
});

/// How a convention is terminated in the scenarios of art. 13.
#[derive(Clone, Copy)]
enum Ending {
    /// A mise en demeure sent on this day, left without effect at its deadline one month later.
    UnfruitfulNotice(&'static str),
    /// A party's dénonciation with six months' notice given on this day.
    Denunciation(&'static str),
    /// A change made without avenant, found on this day: at once.
    ChangeWithoutAvenant(&'static str),
}

/// Art. 13: « La résiliation … entraînera l'arrêt immédiat des engagements des parties ». On the demo,
/// a fiche in progress with the CAF's means for 2026 to 2029 (1,000, 2,000, 4,000 and 8,000 € planned,
/// nothing reported spent), funding lines of 100 € in 2027 and 200 € in 2028, and two posts; then the
/// convention ends as `ending` says. Checks that what starts on or after the effective date is counted
/// apart, never in the totals of what runs: « Qui finance quoi » (API, page, CSV), the funding lines,
/// the evaluation, the posts and the fiche. `running` and `stopped` are the planned euros of the means
/// years that run and that stop.
async fn stopped_commitments(store: ctg_store::Store, ending: Ending, effective: &str, running: i64, stopped: i64) {
    use ctg_domain::offer::{Dispositif, NewFunding};
    use ctg_domain::plan::{Means, MeansKind};
    let (app, id) = demo_app(&store).await;
    let p = people(&store, id).await;
    let who = login(&app, "administrateur", "alice@ctg.fr", PASSWORD).await;
    let actor = ctg_domain::Actor::cli("test");
    let fid = store.create_fiche(&actor, id, fiche("PE-9")).await.unwrap();
    let means: Vec<Means> = [(2026, 1_000), (2027, 2_000), (2028, 4_000), (2029, 8_000)]
        .iter()
        .map(|&(year, euros)| Means {
            party_id: p.caf_party,
            organisation: String::new(),
            year,
            fte_hundredths: 0,
            planned_cents: Some(euros * 100),
            spent_cents: None,
            kind: MeansKind::Operating,
            material: String::new(),
        })
        .collect();
    store.set_means(&actor, id, fid, &means).await.unwrap();
    for (year, euros) in [(2027, 100), (2028, 200)] {
        let line = NewFunding {
            facility_id: None,
            dispositif: Dispositif::Autre,
            funder: "CAF".into(),
            year,
            amount_cents: euros * 100,
            note: String::new(),
        };
        store.create_funding(&actor, id, line).await.unwrap();
    }
    let post = |start: &str| ctg_domain::governance::NewPost {
        person: None,
        employer: "CABBALR".into(),
        fte_hundredths: 100,
        start: start.parse().unwrap(),
        end: None,
        funding: String::new(),
        amount_cents: None,
        funder: None,
    };
    store.create_post(&actor, id, post("2026-01-01")).await.unwrap();
    store.create_post(&actor, id, post("2029-06-01")).await.unwrap();
    let wff = format!("/api/v1/conventions/{id}/qui-finance-quoi");
    let before = get(&app, &wff).await.json();
    assert_eq!(before["total"]["prevu"]["connus_centimes"], 1_500_000, "{before}");
    assert_eq!(before["resiliation_effet"], serde_json::Value::Null);

    // The convention ends.
    let (caf, msa) = (p.caf_party.to_string(), store.convention(id).await.unwrap().parties[2].id.to_string());
    let terminate = |ground: &'static str, day: &'static str| {
        let (app, who, caf) = (app.clone(), who.clone(), caf.clone());
        async move {
            let r = post_form(
                &app,
                &format!("/conventions/{id}/vie/resiliation"),
                &who,
                &[("ground", ground), ("notice_date", day), ("party", &caf)],
            )
            .await;
            assert_eq!(r.status, 303, "{}", r.body);
        }
    };
    match ending {
        Ending::UnfruitfulNotice(sent_on) => {
            let r = post_form(
                &app,
                &format!("/conventions/{id}/vie/mises-en-demeure"),
                &who,
                &[
                    ("sender", &caf),
                    ("recipient", &msa),
                    ("obligation", "Transmission des données"),
                    ("sent_on", sent_on),
                ],
            )
            .await;
            assert_eq!(r.status, 303, "{}", r.body);
            let notice =
                get_as(&app, &format!("/api/v1/conventions/{id}/mises-en-demeure"), &who).await.json()[0].clone();
            let path = format!("/api/v1/conventions/{id}/mises-en-demeure/{}", notice["id"]);
            let body =
                serde_json::json!({"version": notice["version"], "suite": "infructueuse", "le": notice["echeance"]});
            let r = send_json(&app, "POST", &path, &who, &body, true).await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        Ending::Denunciation(day) => terminate("denonciation", day).await,
        Ending::ChangeWithoutAvenant(day) => terminate("modification_sans_avenant", day).await,
    }
    assert_eq!(store.termination(id).await.unwrap().unwrap().effective_date.to_string(), effective);

    // « Qui finance quoi »: the stopped years are marked and counted apart.
    let api = get(&app, &wff).await.json();
    assert_eq!(api["resiliation_effet"], effective, "{api}");
    assert_eq!(api["total"]["prevu"]["connus_centimes"], running * 100, "{api}");
    assert_eq!(api["arrete"]["prevu"]["connus_centimes"], stopped * 100, "{api}");
    assert_eq!(running + stopped, 15_000);
    let first_stopped: i32 = api["lignes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["arrete"] == true)
        .map(|l| l["annee"].as_i64().unwrap() as i32)
        .min()
        .unwrap();
    let effective_day: chrono::NaiveDate = effective.parse().unwrap();
    for l in api["lignes"].as_array().unwrap().iter().chain(api["totaux"].as_array().unwrap()) {
        let year = l["annee"].as_i64().unwrap() as i32;
        let starts = chrono::NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
        assert_eq!(l["arrete"] == true, starts >= effective_day, "{year}: {l}");
    }
    let page = get(&app, &format!("/conventions/{id}/qui-finance-quoi")).await;
    let doc = page.html();
    assert_eq!(texts(&doc, "#arret-engagements strong").len(), 1, "{}", page.body);
    assert!(texts(&doc, "#qui-finance-totaux tfoot th")[1].starts_with("Arrêté par la résiliation"));
    let csv = get(&app, &format!("/conventions/{id}/qui-finance-quoi?format=csv-virgule&tableau=totaux")).await.body;
    assert!(csv.contains(&format!("CAF,{first_stopped},")) && csv.lines().any(|l| l.contains(",oui,")), "{csv}");

    // The funding lines of the offer: the stopped ones apart.
    let funding = get(&app, &format!("/api/v1/conventions/{id}/financements")).await.json();
    let t = &funding["totaux"];
    let stopped_funding: i64 = [(2027, 10_000), (2028, 20_000)]
        .iter()
        .filter(|(y, _)| chrono::NaiveDate::from_ymd_opt(*y, 1, 1).unwrap() >= effective_day)
        .map(|(_, c)| c)
        .sum();
    assert_eq!(t["arretees_centimes"], stopped_funding, "{funding}");
    assert_eq!(t["total_centimes"], 44_959_254 + 30_000 - stopped_funding, "{funding}");

    // The evaluation: the fiche in progress is stopped, its stopped years' means apart.
    let eval = get(&app, &format!("/api/v1/conventions/{id}/evaluation")).await.json();
    let whole = eval.as_array().unwrap().iter().find(|b| !b["chiffres"].is_null()).unwrap()["chiffres"].clone();
    assert_eq!((whole["fiches"].as_i64(), whole["stopped"].as_i64()), (Some(0), Some(1)), "{whole}");
    let planned = |m: &serde_json::Value| m["CAF"][0]["known_cents"].as_i64().unwrap_or(0);
    assert_eq!((planned(&whole["means"]), planned(&whole["means_stopped"])), (running * 100, stopped * 100), "{whole}");

    // The posts: each was meant to run after the effective date, so each is stopped there.
    let posts = get_as(&app, &format!("/api/v1/conventions/{id}/cooperation"), &who).await.json();
    assert!(posts.as_array().unwrap().iter().all(|p| p["arrete"] == effective), "{posts}");
    // The fiche says so.
    let page = get_as(&app, &format!("/conventions/{id}/plan/fiches/{fid}"), &who).await;
    assert_eq!(texts(&page.html(), "#fiche-arretee strong").len(), 1, "{}", page.body);
}

// A mise en demeure sent on 31 January 2027, left without effect: terminated on 28 February 2027
// (not a leap year). 2027 began before: it runs (1,000 + 2,000 €); 2028 and 2029 stop (12,000 €).
backend_tests!(art_13_an_unfruitful_mise_en_demeure_stops_the_commitments_counted_apart, |db: &TestDb| {
    stopped_commitments(db.store.clone(), Ending::UnfruitfulNotice("2027-01-31"), "2027-02-28", 3_000, 12_000)
});

// A dénonciation on 31 August 2027, six months' notice: 29 February 2028 (leap year). 2028 runs;
// only 2029 stops.
backend_tests!(art_13_a_denunciation_stops_the_commitments_six_months_later, |db: &TestDb| {
    stopped_commitments(db.store.clone(), Ending::Denunciation("2027-08-31"), "2028-02-29", 7_000, 8_000)
});

// A change without avenant found on 1 January 2027: terminated that day; 2027 and after stop.
backend_tests!(art_13_a_change_without_avenant_stops_the_commitments_at_once, |db: &TestDb| {
    stopped_commitments(db.store.clone(), Ending::ChangeWithoutAvenant("2027-01-01"), "2027-01-01", 1_000, 14_000)
});
