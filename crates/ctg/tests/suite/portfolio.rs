//! « Portefeuille » (issue 16, point 1): every convention a person may see, one line each, with its
//! status, period, next deadline, plan progress, late fiches, indicators waiting for a value, next
//! meeting, decisions due, pending signatures and avenants; filtered, sorted, exported; the same lines
//! in the API. A person sees the conventions where they have a role, and the published ones.

use crate::common;

use chrono::Duration;
use common::{demo_app, get_as, get_bytes, login, people, unpublish, PASSWORD};
use ctg_domain::plan::FicheStatus;
use ctg_store::backend_tests;
use ctg_store::testing::TestDb;

fn ids(lines: &serde_json::Value) -> Vec<i64> {
    lines.as_array().expect("a list").iter().map(|l| l["id"].as_i64().unwrap()).collect()
}

backend_tests!(the_portfolio_lists_what_each_person_may_see_with_what_is_late_and_what_comes, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let p = people(&store, id).await;
        let actor = ctg_domain::Actor::cli("test");
        // The CTG 2021-2025 is not published; nobody has a role in it.
        unpublish(&store, 1).await;

        let anonymous = common::Who::default();
        let reader = login(&app, "lecteur", "louis@ctg.fr", PASSWORD).await;
        let contributor = login(&app, "contributeur", "camille@caf.fr", PASSWORD).await;
        let admin = login(&app, "administrateur", "alice@ctg.fr", PASSWORD).await;

        // Who sees what: the published convention for everyone, the other one for the administrator.
        assert_eq!(ids(&get_as(&app, "/api/v1/portefeuille", &anonymous).await.json()), [id]);
        let read = get_as(&app, "/api/v1/portefeuille", &reader).await.json();
        assert_eq!(ids(&read), [id]);
        assert_eq!(read[0]["role"], "Lecteur", "{read}");
        let all = get_as(&app, "/api/v1/portefeuille", &admin).await.json();
        assert_eq!(ids(&all).len(), 2, "{all}");
        assert!(ids(&all).contains(&1));

        // The contributor of the CAF sees the conventions of the CAF by default, every visible one with
        // `organisation=` empty; a convention without the CAF as a party is not among the first.
        let caf =
            store.convention(id).await.unwrap().parties.iter().find(|e| e.id == p.caf_party).unwrap().organisation_id;
        assert_eq!(ids(&get_as(&app, "/api/v1/portefeuille", &contributor).await.json()), [id]);
        let of_caf = get_as(&app, &format!("/api/v1/portefeuille?organisation={caf}"), &admin).await.json();
        assert_eq!(ids(&of_caf), [id], "the CTG 2021-2025 has no party recorded: {of_caf}");
        assert_eq!(ids(&get_as(&app, "/api/v1/portefeuille?organisation=", &admin).await.json()).len(), 2);

        // The lines: the CTG 2026-2030 in force with its four parties' département, the other expired,
        // and unknown progress shown as unknown (null, « non renseigné »), never 0.
        let line = |lines: &serde_json::Value, id: i64| {
            lines.as_array().unwrap().iter().find(|l| l["id"] == id).cloned().expect("the line")
        };
        let current = line(&all, id);
        assert_eq!(current["statut"], "en_vigueur", "{current}");
        assert_eq!(current["departements"], serde_json::json!(["62"]));
        assert_eq!(current["debut"], "2026-01-01");
        assert_eq!(current["fin"], "2030-12-31");
        let old = line(&all, 1);
        assert_eq!(old["statut"], "expiree", "{old}");
        assert!(old["avancement_pourcent"].is_null() && old["fiches"] == 0, "{old}");
        assert!(old["prochaine_echeance"].is_null(), "nothing dated after its end: {old}");

        // A fiche past its end counts as late; one ending in ten days is the next deadline.
        let today = common::today();
        let late_before = current["fiches_en_retard"].as_i64().unwrap();
        let mut late = crate::pdf_documents::fiche("PF-1", "Mme Claire Martin");
        late.status = FicheStatus::InProgress;
        late.start = Some(today - Duration::days(100));
        late.end = Some(today - Duration::days(3));
        store.create_fiche(&actor, id, late).await.unwrap();
        let mut soon = crate::pdf_documents::fiche("PF-2", "Mme Claire Martin");
        soon.status = FicheStatus::InProgress;
        soon.start = Some(today - Duration::days(10));
        soon.end = Some(today + Duration::days(1));
        store.create_fiche(&actor, id, soon).await.unwrap();
        let all = get_as(&app, "/api/v1/portefeuille?organisation=", &admin).await.json();
        let current = line(&all, id);
        assert_eq!(current["fiches_en_retard"].as_i64().unwrap(), late_before + 1, "{current}");
        assert_eq!(current["prochaine_echeance"], (today + Duration::days(1)).to_string(), "{current}");
        assert_eq!(current["prochaine_echeance_objet"], "fin de la fiche PF-2", "{current}");
        assert!(current["avancement_pourcent"].is_number(), "{current}");

        // Filters: deadline within N days, status, département; sorted by title in both orders.
        let within = |n: i64| format!("/api/v1/portefeuille?organisation=&echeance={n}");
        assert_eq!(ids(&get_as(&app, &within(1), &admin).await.json()), [id]);
        assert!(ids(&get_as(&app, &within(0), &admin).await.json()).is_empty());
        assert_eq!(ids(&get_as(&app, "/api/v1/portefeuille?organisation=&statut=expiree", &admin).await.json()), [1]);
        assert!(ids(&get_as(&app, "/api/v1/portefeuille?organisation=&departement=59", &admin).await.json()).is_empty());
        let by_title = |order: &str| {
            let app = app.clone();
            let admin = admin.clone();
            let url = format!("/api/v1/portefeuille?organisation=&tri=titre&ordre={order}");
            async move {
                let lines = get_as(&app, &url, &admin).await.json();
                lines.as_array().unwrap().iter().map(|l| l["titre"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
            }
        };
        let up = by_title("croissant").await;
        let mut sorted = up.clone();
        sorted.sort();
        assert_eq!(up, sorted);
        let down = by_title("decroissant").await;
        assert_eq!(down, up.iter().rev().cloned().collect::<Vec<_>>());

        // A bad filter is named, in French, on the API and on the page.
        let r = get_as(&app, "/api/v1/portefeuille?echeance=-3", &admin).await;
        assert_eq!(r.status, 400);
        assert!(
            r.json()["error"]["message"].as_str().unwrap().starts_with("Echeance : nombre de jours entre 0 et 3650"),
            "{}",
            r.body
        );
        let r = get_as(&app, "/portefeuille?statut=signe", &admin).await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("Statut : valeur inconnue « signe »"), "{}", r.body);
        let r = get_as(&app, "/api/v1/portefeuille?organisation=999999", &admin).await;
        assert_eq!(r.status, 400, "{}", r.body);

        // The page: one row per line, the late fiches linked to the late list, unknown said so.
        let page = get_as(&app, "/portefeuille?organisation=", &admin).await;
        assert_eq!(page.status, 200);
        let html = page.html();
        let rows = common::texts(&html, "#portefeuille tbody tr");
        assert_eq!(rows.len(), 2, "{rows:?}");
        // Sorted by next deadline, the unknown last: the CTG 2026-2030 first.
        assert!(rows[0].starts_with("Convention Territoriale Globale de Service aux Familles 2026-2030"), "{rows:?}");
        assert!(rows[1].contains("non renseigné") && rows[1].contains("aucune échéance datée"), "{rows:?}");
        assert!(
            page.body.contains(&format!("href=\"/conventions/{id}/plan/retards\"")),
            "the late fiches link to the late list"
        );
        assert!(rows[0].contains("fiche en retard") || rows[0].contains("fiches en retard"), "{rows:?}");
        assert!(
            common::texts(&html, "nav[aria-label='Navigation principale'] a[aria-current=page]").concat()
                == "Portefeuille"
        );

        // The downloads: the same lines, with their source and date.
        let (status, bytes) = get_bytes(&app, "/portefeuille?organisation=&format=csv", &admin).await;
        assert_eq!(status, 200);
        let csv = String::from_utf8(bytes).unwrap();
        assert!(csv.starts_with("\u{feff}convention_id;titre;epci;departements;statut;"), "{csv}");
        assert_eq!(csv.lines().count(), 3, "a header and two lines: {csv}");
        let (_, xlsx) = get_bytes(&app, "/portefeuille?organisation=&format=xlsx&statut=en_vigueur", &admin).await;
        let sheets = ctg_import::tabular::Table::read_all("portefeuille.xlsx", &xlsx).unwrap();
        assert_eq!(sheets[0].rows.len(), 1);
        println!("portefeuille : {} conventions visibles pour l'administration", rows.len());
    }
});
