//! The action plan through the pages and the API, on the demo: fiches with sub-actions, progress that
//! moves, status history, indicators on track or late, lateness, the spreadsheet import previewed then
//! written (or refused whole), the export read back, the evaluation; on SQLite and PostgreSQL.

use crate::common;

use common::{
    attr, count, demo_app, get, get_as, get_bytes, login, people, post_file, post_form, send_json, texts, Who, PASSWORD,
};
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, Store};

async fn coordinator(app: &axum::Router, store: &Store, id: i64) -> Who {
    people(store, id).await;
    login(app, "coordination", "claire@cabbalr.fr", PASSWORD).await
}

fn field(body: &str, name: &str) -> String {
    let doc = scraper::Html::parse_document(body);
    let sel = scraper::Selector::parse(&format!("input[name='{name}']")).unwrap();
    doc.select(&sel).next().and_then(|e| e.value().attr("value")).unwrap_or_default().to_owned()
}

backend_tests!(a_fiche_with_sub_actions_moves_the_progress, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let who = coordinator(&app, &store, id).await;
        // Communes are read as the plan import reads them: every problem named, « tout le territoire »
        // alone.
        let r = post_form(
            &app,
            &format!("/conventions/{id}/plan/fiches"),
            &who,
            &[("code", "PE-1"), ("title", "Accueil"), ("communes", "BETHUNE; Atlantide; tout le territoire; 75056")],
        )
        .await;
        assert_eq!(r.status, 400);
        for problem in [
            "commune inconnue « Atlantide »",
            "« tout le territoire » ne se mêle pas à des communes",
            "la commune 75056 n",
        ] {
            assert!(r.body.contains(problem), "{problem}: {}", r.body);
        }
        let r = post_form(
            &app,
            &format!("/conventions/{id}/plan/fiches"),
            &who,
            &[
                ("code", "PE-1"),
                ("title", "Développer l'offre d'accueil du jeune enfant"),
                ("ambitions", "1"),
                ("pilot_organisation", "CABBALR"),
                ("start", "2026-01-01"),
                ("end", "2026-06-30"),
                ("status", "En cours"),
                ("communes", "Béthune, Lillers"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let fiche_path = r.headers["location"].to_str().unwrap().to_owned();
        let fid: i64 = fiche_path.rsplit('/').next().unwrap().parse().unwrap();
        // No sub-action: « en cours » weighs 50 %.
        let page = get(&app, &fiche_path).await;
        assert_eq!(texts(&page.html(), "#avancement-fiche"), ["50 %"]);
        // Two first-level sub-actions, one with two children of its own.
        for (title, status, parent) in
            [("Diagnostic des besoins", "realisee", ""), ("Ouverture d'une crèche", "a_venir", "")]
        {
            let r = post_form(
                &app,
                &format!("{fiche_path}/sous-actions"),
                &who,
                &[("sub_title", title), ("sub_status", status), ("parent", parent)],
            )
            .await;
            assert_eq!(r.status, 303, "{}", r.body);
        }
        let plan = store.fiche(id, fid).await.unwrap();
        let second = plan.subs.iter().find(|s| s.sub.title == "Ouverture d'une crèche").unwrap().sub.id.to_string();
        for (title, status) in [("Trouver le local", "realisee"), ("Recruter", "a_venir")] {
            let r = post_form(
                &app,
                &format!("{fiche_path}/sous-actions"),
                &who,
                &[("sub_title", title), ("sub_status", status), ("parent", &second)],
            )
            .await;
            assert_eq!(r.status, 303, "{}", r.body);
        }
        // (100 + (100 + 0) / 2) / 2 = 75 %.
        let page = get(&app, &fiche_path).await;
        assert_eq!(texts(&page.html(), "#avancement-fiche"), ["75 %"]);
        assert_eq!(count(&page.html(), "#sous-actions tbody tr.level-2"), 2);
        // « Recruter » done: 100 %.
        let f = store.fiche(id, fid).await.unwrap();
        let recruit = f.subs.iter().find(|s| s.sub.title == "Recruter").unwrap();
        let r = post_form(
            &app,
            &format!("{fiche_path}/sous-actions/{}/statut", recruit.sub.id),
            &who,
            &[("version", &recruit.version.to_string()), ("status", "realisee")],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(texts(&get(&app, &fiche_path).await.html(), "#avancement-fiche"), ["100 %"]);
        // The tree shows the fiche under its ambition, and the ambition's progress.
        let tree = get(&app, &format!("/conventions/{id}/plan")).await;
        assert_eq!(tree.status, 200);
        assert!(
            texts(&tree.html(), "#ambition-1 + ul li.fiche a")
                .contains(&"PE-1 — Développer l'offre d'accueil du jeune enfant".to_owned()),
            "{}",
            tree.body
        );
        assert_eq!(texts(&tree.html(), "#avancement-plan"), ["100 %"]);

        // A change of status needs a reason, kept in the history.
        let f = store.fiche(id, fid).await.unwrap();
        let edit = |status: &'static str, reason: &'static str, version: String| {
            vec![
                ("version", version),
                ("code", "PE-1".to_owned()),
                ("title", "Développer l'offre d'accueil du jeune enfant".to_owned()),
                ("ambitions", "1".to_owned()),
                ("pilot_organisation", "CABBALR".to_owned()),
                ("start", "2026-01-01".to_owned()),
                ("end", "2026-06-30".to_owned()),
                ("status", status.to_owned()),
                ("reason", reason.to_owned()),
            ]
        };
        let fields = edit("en_pause", "", f.version.to_string());
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post_form(&app, &format!("{fiche_path}/modifier"), &who, &pairs).await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("dites pourquoi le statut change"));
        let fields = edit("en_pause", "Local indisponible jusqu'en septembre", f.version.to_string());
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post_form(&app, &format!("{fiche_path}/modifier"), &who, &pairs).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let history = texts(&get(&app, &fiche_path).await.html(), "#historique-statuts tbody tr");
        assert!(history[0].contains("En cours → En pause") && history[0].contains("Local indisponible"), "{history:?}");
        // Who changed it is shown to the people with a role only.
        assert!(history[0].ends_with('—'), "{history:?}");
        let named = texts(&get_as(&app, &fiche_path, &who).await.html(), "#historique-statuts tbody tr");
        assert!(named[0].contains("Claire"), "{named:?}");
        // The same form again, from the old version: a conflict that keeps what was typed.
        let r = post_form(&app, &format!("{fiche_path}/modifier"), &who, &pairs).await;
        assert_eq!(r.status, 409);
        // Paused past its end (30 June 2026; the tests' today is 27 November 2026): late.
        let late = get(&app, &format!("/conventions/{id}/plan/retards")).await;
        assert!(
            texts(&late.html(), "#retards tbody tr").iter().any(|r| r.contains("PE-1") && r.contains("30/06/2026")),
            "{}",
            late.body
        );
        // Lateness where people look: the days overdue and whom to call, a badge in the table, the
        // tree, the calendar and the fiche.
        let badge = "En retard de 150 jours";
        let rows = texts(&late.html(), "#retards tbody tr");
        let row = rows.iter().find(|r| r.contains("Fiche PE-1")).unwrap();
        assert!(row.contains(badge) && row.contains("150") && row.contains("CABBALR"), "{row}");
        let late_as = get_as(&app, &format!("/conventions/{id}/plan/retards"), &who).await;
        assert!(late_as.body.contains("href=\"mailto:"), "a link to write to the pilot: {}", late_as.body);
        let filtered = get(&app, &format!("/conventions/{id}/plan/retards?organisation=CAF")).await;
        assert!(!texts(&filtered.html(), "#retards tbody tr").iter().any(|r| r.contains("Fiche PE-1")));
        let filtered = get(&app, &format!("/conventions/{id}/plan/retards?ambition=1&organisation=cabbalr")).await;
        assert!(texts(&filtered.html(), "#retards tbody tr").iter().any(|r| r.contains("Fiche PE-1")));
        for page in ["plan/fiches", "plan", "plan/calendrier"] {
            let html = get(&app, &format!("/conventions/{id}/{page}")).await.html();
            assert_eq!(texts(&html, ".badge-late"), [badge], "{page}");
        }
        assert_eq!(texts(&get(&app, &fiche_path).await.html(), "#retard-fiche"), [badge]);
        // The coordinator's dashboard lists it, with its pilot, as a link to the fiche.
        let dash = get_as(&app, "/tableau-de-bord", &who).await;
        assert_eq!(dash.status, 200);
        let late_items = texts(&dash.html(), &format!("#retards-{id} + ul li"));
        assert!(
            late_items.iter().any(|l| l.contains("Fiche PE-1") && l.contains(badge) && l.contains("CABBALR")),
            "{late_items:?}"
        );
        assert!(dash.body.contains(&format!("href=\"{fiche_path}\"")), "{}", dash.body);
        // Anonymous: the login page first.
        assert_eq!(get(&app, "/tableau-de-bord").await.status, 303);
        let timeline = get(&app, &format!("/conventions/{id}/plan/calendrier")).await;
        assert!(timeline.body.contains("<svg") && timeline.body.contains("PE-1"));
    }
});

backend_tests!(indicators_values_and_tracking, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let who = coordinator(&app, &store, id).await;
        let r = post_form(
            &app,
            &format!("/conventions/{id}/plan/fiches"),
            &who,
            &[("code", "JE-1"), ("title", "Promeneurs du Net"), ("ambitions", "4"), ("status", "en_cours")],
        )
        .await;
        let fiche_path = r.headers["location"].to_str().unwrap().to_owned();
        let r = post_form(
            &app,
            &format!("{fiche_path}/indicateurs"),
            &who,
            &[
                ("name", "Structures labellisées"),
                ("nature", "quantitatif"),
                ("unit", "structures"),
                ("baseline", "15"),
                ("baseline_year", "2025"),
                ("targets", "2026 : 18 ; 2027 : 20"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let ind_path = r.headers["location"].to_str().unwrap().to_owned();
        let page = get(&app, &ind_path).await;
        assert_eq!(texts(&page.html(), "#etat-indicateur"), ["pas encore d'échéance"]);
        let r = post_form(
            &app,
            &format!("{ind_path}/valeurs"),
            &who,
            &[("period", "2026"), ("value", "16"), ("date", "2026-10-01"), ("source", "CAF")],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let page = get(&app, &ind_path).await;
        assert_eq!(texts(&page.html(), "#etat-indicateur"), ["en retard sur la cible 2026"]);
        assert!(page.body.contains("<svg"), "a chart of values against targets");
        let r = post_form(
            &app,
            &format!("{ind_path}/valeurs"),
            &who,
            &[("period", "2026-11"), ("value", "18,0"), ("date", "2026-11-20")],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(texts(&get(&app, &ind_path).await.html(), "#etat-indicateur"), ["en bonne voie (2026)"]);
        // Bad values are refused with the field named.
        let r =
            post_form(&app, &format!("{ind_path}/valeurs"), &who, &[("period", "2026"), ("value", "beaucoup")]).await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("valeur invalide « beaucoup »"));
        // What was typed comes back in every field, the error beside its field.
        let doc = r.html();
        assert_eq!(attr(&doc, "#period", "value"), "2026");
        assert_eq!(attr(&doc, "#value", "value"), "beaucoup");
        assert_eq!(attr(&doc, "#value", "aria-invalid"), "true");
        // A write leaves its confirmation for the next page, in a live region, once.
        let r = post_form(&app, &format!("{ind_path}/valeurs"), &who, &[("period", "2026-12"), ("value", "18")]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let flash = r.headers["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        let mut with_flash = who.clone();
        with_flash.cookie = Some(format!("{}; {flash}", who.cookie.clone().unwrap_or_default()));
        let page = get_as(&app, &ind_path, &with_flash).await;
        assert_eq!(texts(&page.html(), "[role=status]"), ["Valeur 2026-12 enregistrée"]);
        assert!(
            page.headers["set-cookie"].to_str().unwrap().starts_with("ctg_flash=;"),
            "the confirmation is shown once"
        );
        let r =
            post_form(&app, &format!("{ind_path}/valeurs"), &who, &[("period", "l'an prochain"), ("value", "3")]).await;
        assert_eq!(r.status, 400, "{}", r.body);
        // A number too large for a chart (it drew `y="inf"`) is refused, the field named.
        let r = post_form(&app, &format!("{ind_path}/valeurs"), &who, &[("period", "2027"), ("value", "1e308")]).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("« valeur » doit être un nombre fini"), "{}", r.body);
        let page = get(&app, &ind_path).await;
        assert!(!page.body.contains("inf\"") && !page.body.contains("NaN"));
        // The API says the same.
        let api = get(&app, &format!("/api/v1/conventions/{id}/plan")).await.json();
        assert_eq!(api["indicateurs"][0]["etat"], "en_bonne_voie");
        assert_eq!(api["fiches"][0]["avancement"], 50.0);
    }
});

backend_tests!(hostile_texts_are_refused_at_every_door_and_exports_stay_safe, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let who = coordinator(&app, &store, id).await;
        let path = format!("/api/v1/conventions/{id}/plan/fiches");
        // A formula is a text like any other on the way in, but no public CSV hands it to a spreadsheet.
        let formula = "=HYPERLINK(\"http://pirate.example\";\"Cliquez\")";
        let body = serde_json::json!({"code": "F-1", "intitule": formula, "ambitions": [1]});
        let r = send_json(&app, "POST", &path, &who, &body, true).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let csv = get(&app, &format!("/conventions/{id}/plan/fiches?format=csv")).await.body;
        assert!(csv.contains("\"'=HYPERLINK("), "{csv}");
        assert!(!csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"), "{csv}");

        // API: a NUL in a title is refused, the field named; so is a 250 KiB title.
        let body = serde_json::json!({"code": "F-2", "intitule": "Relais\u{0}petite enfance", "ambitions": [1]});
        let r = send_json(&app, "POST", &path, &who, &body, true).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("« intitulé » contient un caractère de contrôle interdit (U+0000)"), "{}", r.body);
        let body = serde_json::json!({"code": "F-2", "intitule": "x".repeat(250 * 1024), "ambitions": [1]});
        let r = send_json(&app, "POST", &path, &who, &body, true).await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("« intitulé » dépasse 500 caractères"), "{}", &r.body[..r.body.len().min(500)]);

        // Page: a right-to-left override in a title is refused, the field named.
        let r = post_form(
            &app,
            &format!("/conventions/{id}/plan/fiches"),
            &who,
            &[("code", "F-3"), ("title", "Crèche\u{202e}fdp.exe"), ("ambitions", "1"), ("status", "a_venir")],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("U+202E"), "{}", r.body);

        // Import: a title over the bound is refused at its line, nothing written.
        let long = "y".repeat(600);
        let file = plan_xlsx(&[["F-4", &long, "1", "En cours", ""]]);
        let r = post_file(&app, &format!("/conventions/{id}/plan/import"), &who, "plan.xlsx", &file).await;
        assert_eq!(r.status, 400, "{}", r.body);
        let problems = texts(&r.html(), "#problemes-import li");
        assert!(problems.iter().any(|p| p.contains("ligne 2") && p.contains("dépasse 500 caractères")), "{problems:?}");
        assert_eq!(store.plan(id).await.unwrap().fiches.len(), 1);

        // Every export of the plan still answers.
        for format in ["csv", "xlsx", "ods"] {
            let (status, _) = get_bytes(&app, &format!("/conventions/{id}/plan/export?format={format}"), &who).await;
            assert_eq!(status, 200, "{format}");
        }
    }
});

/// A plan as a coordinator keeps it: the fiches sheet, with loosely written statuses.
fn plan_xlsx(rows: &[[&str; 5]]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet().set_name("Fiches").unwrap();
    for (j, h) in ["Code", "Intitulé", "Ambitions", "Statut", "Fin"].iter().enumerate() {
        sheet.write_string(0, j as u16, *h).unwrap();
    }
    for (i, row) in rows.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            sheet.write_string(i as u32 + 1, j as u16, *v).unwrap();
        }
    }
    book.save_to_buffer().unwrap()
}

backend_tests!(the_plan_spreadsheet_is_previewed_then_written_or_refused_whole, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let who = coordinator(&app, &store, id).await;
        let path = format!("/conventions/{id}/plan/import");
        // Errors: each at its sheet, row and column; nothing written.
        let bad = plan_xlsx(&[
            ["PE-1", "Relais", "1", "En cours", "2027-12-31"],
            ["PE-2", "Crèche", "12", "peut-être", "2028-06-30"],
            ["PE-1", "Doublon", "1", "à venir", ""],
        ]);
        let r = post_file(&app, &path, &who, "plan.xlsx", &bad).await;
        assert_eq!(r.status, 400, "{}", r.body);
        let problems = texts(&r.html(), "#problemes-import li");
        assert!(problems.iter().any(|p| p.contains("ligne 3") && p.contains("12")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("ligne 3") && p.contains("peut-être")), "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("ligne 4") && p.contains("PE-1")), "{problems:?}");
        assert!(store.plan(id).await.unwrap().fiches.is_empty());

        // A good file: previewed, nothing written until confirmed.
        let good = plan_xlsx(&[
            ["PE-1", "Relais", "1", "En cours", "2027-12-31"],
            ["PE-2", "Crèche", "2", "en-cours", "2028-06-30"],
            ["JE-1", "Promeneurs", "4", "Réalisée", ""],
        ]);
        let r = post_file(&app, &path, &who, "plan.xlsx", &good).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(count(&r.html(), "#apercu tbody tr"), 3);
        assert!(store.plan(id).await.unwrap().fiches.is_empty(), "the preview writes nothing");
        let (nom, contenu) = (field(&r.body, "nom"), field(&r.body, "contenu"));
        let r = post_form(&app, &format!("{path}/confirmer"), &who, &[("nom", &nom), ("contenu", &contenu)]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let plan = store.plan(id).await.unwrap();
        assert_eq!(plan.fiches.len(), 3);
        assert!(plan.fiches.iter().all(|f| f.fiche.status != ctg_domain::plan::FicheStatus::Upcoming));

        // Exported, then read back: the same plan.
        for format in ["xlsx", "ods"] {
            let (status, bytes) =
                get_bytes(&app, &format!("/conventions/{id}/plan/export?format={format}"), &who).await;
            assert_eq!(status, 200);
            let r = post_file(&app, &path, &who, &format!("export.{format}"), &bytes).await;
            assert_eq!(r.status, 200, "{format}: {}", r.body);
            let effects = texts(&r.html(), "#apercu tbody tr");
            assert_eq!(effects.len(), 3);
            assert!(effects.iter().all(|e| e.contains("mise à jour")), "{effects:?}");
        }
        let csv = get(&app, &format!("/conventions/{id}/plan/fiches?format=csv")).await.body;
        assert_eq!(csv.lines().count(), 4);
        // The contributors may not import.
        let reader = login(&app, "lecteur", "louis@ctg.fr", PASSWORD).await;
        let r = post_file(&app, &path, &reader, "plan.xlsx", &good).await;
        assert_eq!(r.status, 403);
    }
});

backend_tests!(a_plan_import_is_bounded_and_refuses_empty_or_broken_files, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let who = coordinator(&app, &store, id).await;
        let path = format!("/conventions/{id}/plan/import");
        // Past 100 000 rows of data, reading stops: one error, at the row where it stopped.
        let max = ctg_import::tabular::MAX_ROWS as u32;
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet().set_name("Fiches").unwrap();
        sheet.write_string(0, 0, "Code").unwrap();
        sheet.write_string(0, 1, "Intitulé").unwrap();
        for r in 1..=max + 1 {
            sheet.write_string(r, 0, "PE").unwrap();
        }
        let r = post_file(&app, &path, &who, "bombe.xlsx", &book.save_to_buffer().unwrap()).await;
        assert_eq!(r.status, 400, "{}", r.body);
        let problems = texts(&r.html(), "#problemes-import li");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains(&format!("ligne {} : plus de 100", max + 2)), "{problems:?}");
        // Many errors: the first 100 are listed, the rest counted.
        let rows: Vec<[&str; 5]> = (0..150).map(|_| ["", "Sans code", "1", "En cours", ""]).collect();
        let r = post_file(&app, &path, &who, "plan.xlsx", &plan_xlsx(&rows)).await;
        assert_eq!(r.status, 400, "{}", r.body);
        let problems = texts(&r.html(), "#problemes-import li");
        assert_eq!(problems.len(), 101, "{problems:?}");
        assert_eq!(problems[100], "… et 50 autres erreurs");
        // A header alone: nothing to import, and said so.
        let r = post_file(&app, &path, &who, "plan.csv", b"code,intitule\n").await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("aucune ligne de données"), "{}", r.body);
        // An unclosed quote is named as such, at its line.
        let r = post_file(&app, &path, &who, "plan.csv", b"code,intitule\nPE-1,Relais\nPE-2,\"Cr\xc3\xa8che\nPE-3,x\n")
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
        let problems = texts(&r.html(), "#problemes-import li");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("plan.csv, ligne 3 : guillemet non fermé"), "{problems:?}");
        assert!(store.plan(id).await.unwrap().fiches.is_empty());
    }
});

backend_tests!(the_evaluation_computes_its_figures_and_keeps_the_predecessors_bilan, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        // The CTG 2021-2025's bilan as annex 2 gives it.
        let page = get(&app, "/conventions/1/evaluation").await;
        assert_eq!(page.status, 200);
        let doc = page.html();
        let declared: Vec<(String, String)> =
            texts(&doc, "table.bilan-declare th").into_iter().zip(texts(&doc, "table.bilan-declare td")).collect();
        assert!(declared.contains(&("Fiches action".to_owned(), "14".to_owned())), "{declared:?}");
        assert!(declared.contains(&("Fiches engagées".to_owned(), "13".to_owned())), "{declared:?}");
        assert!(page.body.contains("Thème : Logement"));
        // Annex 2 gives the CTG 2021-2025's réussites, points d'attention and habitants' concerns.
        let facts = texts(&doc, "dl.facts dd");
        assert!(
            facts.iter().any(|t| t.contains("la 1re semaine intercommunale de la petite enfance (2023)")),
            "{facts:?}"
        );
        assert!(facts.iter().any(|t| t.contains("des communes sans RPE")), "{facts:?}");
        assert!(facts.iter().any(|t| t.contains("la transition vers le collège")), "{facts:?}");
        let api = get(&app, "/api/v1/conventions/1/evaluation").await.json();
        let logement = api.as_array().unwrap().iter().find(|b| b["cle"] == "Logement").unwrap().clone();
        assert_eq!(logement["declare"], serde_json::json!({"objectifs": 4, "fiches_action": 11}));

        // The CTG 2026-2030: figures computed from its plan, texts written by the coordination.
        let who = coordinator(&app, &store, id).await;
        for (code, status) in [("PE-1", "en_cours"), ("PE-2", "realisee"), ("PE-3", "a_venir")] {
            post_form(
                &app,
                &format!("/conventions/{id}/plan/fiches"),
                &who,
                &[("code", code), ("title", code), ("ambitions", "1"), ("status", status)],
            )
            .await;
        }
        let r = post_form(
            &app,
            &format!("/conventions/{id}/evaluation"),
            &who,
            &[
                ("kind", "ambition"),
                ("key", "1"),
                ("done", "Trois fiches lancées"),
                ("concerns", "Manque de places le mercredi"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let api = get(&app, &format!("/api/v1/conventions/{id}/evaluation")).await.json();
        let a1 =
            api.as_array().unwrap().iter().find(|b| b["perimetre"] == "ambition" && b["cle"] == "1").unwrap().clone();
        assert_eq!(
            (a1["chiffres"]["fiches"].as_u64(), a1["chiffres"]["started"].as_u64(), a1["chiffres"]["done"].as_u64()),
            (Some(3), Some(2), Some(1))
        );
        assert_eq!(a1["preoccupations_des_habitants"], "Manque de places le mercredi");
        let r = post_form(
            &app,
            &format!("/conventions/{id}/evaluation"),
            &who,
            &[("kind", "ambition"), ("key", "1"), ("done", "x")],
        )
        .await;
        assert_eq!(r.status, 409, "a second bilan for the same scope without its version is a conflict");
    }
});

backend_tests!(fiches_through_the_api, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let who = coordinator(&app, &store, id).await;
        let path = format!("/api/v1/conventions/{id}/plan/fiches");
        let body = serde_json::json!({"code": "AVS-1", "intitule": "Animation de la vie sociale", "ambitions": [2], "statut": "En cours", "communes": ["62516"]});
        let r = send_json(&app, "POST", &path, &who, &body, true).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let f = r.json();
        assert_eq!((f["statut"].as_str(), f["avancement"].as_f64()), (Some("en_cours"), Some(50.0)));
        let fid = f["id"].as_i64().unwrap();
        let put = serde_json::json!({"version": 1, "code": "AVS-1", "intitule": "Animation de la vie sociale", "ambitions": [2], "statut": "realisee", "raison": "Terminée en avance"});
        let r = send_json(&app, "PUT", &format!("{path}/{fid}"), &who, &put, true).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = send_json(&app, "PUT", &format!("{path}/{fid}"), &who, &put, true).await;
        assert_eq!(r.status, 409);
        let r = send_json(
            &app,
            "POST",
            &path,
            &who,
            &serde_json::json!({"code": "X", "intitule": "Y", "ambitions": [99]}),
            true,
        )
        .await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("99"), "{}", r.body);
        let r = send_json(&app, "PUT", &format!("{path}/{fid}/moyens"), &who, &serde_json::json!([{"organisation": "CAF", "annee": 2026, "etp_centiemes": 50, "prevu_centimes": 1_200_000, "depense_centimes": 300_000, "nature": "fonctionnement"}]), true).await;
        assert_eq!(r.status, 204, "{}", r.body);
        let f = get(&app, &format!("{path}/{fid}")).await.json();
        assert_eq!(f["moyens"][0]["prevu_centimes"], 1_200_000);
        assert_eq!(f["statut"], "realisee");
    }
});

backend_tests!(objectives_are_edited_and_fiches_hang_under_them, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        // Art. 12 locks the signed demonstration: its text is edited here as a draft's.
        ctg_store::testing::as_draft(&store, id).await;
        let who = coordinator(&app, &store, id).await;
        let r = post_form(
            &app,
            &format!("/conventions/{id}/strategie/objectifs"),
            &who,
            &[("ambition", "1"), ("code", "1.1"), ("title", "Développer l'accueil collectif")],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r = post_form(
            &app,
            &format!("/conventions/{id}/strategie/objectifs"),
            &who,
            &[("ambition", "1"), ("code", "1.1"), ("title", "Doublon")],
        )
        .await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("existe déjà"), "{}", r.body);
        let r = post_form(
            &app,
            &format!("/conventions/{id}/plan/fiches"),
            &who,
            &[("code", "PE-1"), ("title", "Crèche"), ("ambitions", "1"), ("objectives", "1.1"), ("status", "a_venir")],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r = post_form(
            &app,
            &format!("/conventions/{id}/plan/fiches"),
            &who,
            &[("code", "PE-2"), ("title", "X"), ("objectives", "9.9"), ("status", "a_venir")],
        )
        .await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("objectif inconnu « 9.9 »"));
        let strategy = get(&app, &format!("/conventions/{id}/strategie")).await;
        assert!(texts(&strategy.html(), "table.objectifs th").contains(&"Développer l'accueil collectif".to_owned()));
        // Renamed through the API, from the version read.
        let oid = store.objectives(id).await.unwrap()[0].id;
        let body = serde_json::json!({"version": 1, "ambition": 1, "code": "1.1", "intitule": "Développer l'accueil du jeune enfant"});
        let r =
            send_json(&app, "PUT", &format!("/api/v1/conventions/{id}/plan/objectifs/{oid}"), &who, &body, true).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r =
            send_json(&app, "PUT", &format!("/api/v1/conventions/{id}/plan/objectifs/{oid}"), &who, &body, true).await;
        assert_eq!(r.status, 409);
        // Enjeux and ambitions are edited too: renamed from the version read, and added.
        let (_, ambitions) = store.strategy_items(id).await.unwrap();
        let first = ambitions.iter().find(|a| a.number == 1).unwrap().clone();
        let rename = [
            ("version", first.version.to_string()),
            ("title", "Accueillir tous les jeunes enfants".to_owned()),
            ("text", String::new()),
        ];
        let pairs: Vec<(&str, &str)> = rename.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = post_form(&app, &format!("/conventions/{id}/strategie/ambitions/{}", first.id), &who, &pairs).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r = post_form(&app, &format!("/conventions/{id}/strategie/ambitions/{}", first.id), &who, &pairs).await;
        assert_eq!(r.status, 409, "{}", r.body);
        let r = post_form(
            &app,
            &format!("/conventions/{id}/strategie/ambitions"),
            &who,
            &[("stake", "3"), ("number", "9"), ("title", "Évaluer en continu")],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r = post_form(
            &app,
            &format!("/conventions/{id}/strategie/ambitions"),
            &who,
            &[("stake", "3"), ("number", "9"), ("title", "Doublon")],
        )
        .await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("existe déjà"), "{}", r.body);
        let plan = store.plan(id).await.unwrap();
        assert!(plan.stakes[2].2.contains(&(9, "Évaluer en continu".to_owned())));
        assert_eq!(plan.stakes[0].2[0].1, "Accueillir tous les jeunes enfants");
        let tree = get(&app, &format!("/conventions/{id}/plan")).await;
        let items = texts(&tree.html(), "#ambition-1 + ul > li");
        assert!(
            items
                .iter()
                .any(|i| i.starts_with("Objectif 1.1 : Développer l'accueil du jeune enfant")
                    && i.contains("PE-1 — Crèche")),
            "{items:?}"
        );
    }
});

backend_tests!(documents_are_attached_checked_and_served_only_to_those_entitled, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let who = coordinator(&app, &store, id).await;
        let r = post_form(
            &app,
            &format!("/conventions/{id}/plan/fiches"),
            &who,
            &[("code", "PE-1"), ("title", "Relais"), ("status", "a_venir")],
        )
        .await;
        let fiche_path = r.headers["location"].to_str().unwrap().to_owned();
        let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
        let r = post_file(&app, &format!("{fiche_path}/documents"), &who, "Relevé de décisions.pdf", pdf).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let page = get_as_who(&app, &fiche_path, &who).await;
        let docs = texts(&page.html(), "#liste-documents tbody th");
        assert_eq!(docs, ["Relevé de décisions.pdf"]);
        let link = scraper::Selector::parse("#liste-documents tbody th a").unwrap();
        let href = page.html().select(&link).next().unwrap().value().attr("href").unwrap().to_owned();
        // A reader of the convention gets it, with its hash; the public does not.
        let reader = login(&app, "lecteur", "louis@ctg.fr", PASSWORD).await;
        let (status, bytes) = get_bytes(&app, &href, &reader).await;
        assert_eq!((status.as_u16(), bytes.as_slice()), (200, pdf.as_slice()));
        let public = get(&app, &href).await;
        assert_eq!(public.status, 303, "to the login page");
        assert!(texts(&get(&app, &fiche_path).await.html(), "#documents + p").iter().any(|t| t.contains("réservés")));
        // A web page disguised as a PDF is refused, and so is an empty file.
        let r = post_file(
            &app,
            &format!("{fiche_path}/documents"),
            &who,
            "cr.pdf",
            b"<!DOCTYPE html><script>alert(1)</script>",
        )
        .await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("page web"), "{}", r.body);
        // Programs, scripts and HTML applications are refused by name and by content; the
        // right-to-left override does not disguise a script as a PDF.
        for (name, content) in [
            ("facture.hta", &b"<HTA:APPLICATION>"[..]),
            ("lancer.bat", b"@echo off\n"),
            ("x.ps1", b"Get-Item\n"),
            ("rapport\u{202E}fdp.js", b"alert(1)\n"),
            ("notes.txt", b"<!-- cr -->\n<hta:application id=x><script>Run()</script>"),
            ("photo.txt", b"\x89PNG\r\n\x1a\n...."),
        ] {
            let r = post_file(&app, &format!("{fiche_path}/documents"), &who, name, content).await;
            assert_eq!(r.status, 400, "{name}: {}", r.body);
            let shown = name.replace('\u{202E}', "");
            assert!(r.body.contains(&format!("« {shown} »")), "{name}: {}", r.body);
        }
        // The reader may not attach.
        let r = post_file(&app, &format!("{fiche_path}/documents"), &reader, "x.pdf", pdf).await;
        assert_eq!(r.status, 403);
        // The same file twice is kept once.
        post_file(&app, &format!("{fiche_path}/documents"), &who, "copie.pdf", pdf).await;
        let fid: i64 = fiche_path.rsplit('/').next().unwrap().parse().unwrap();
        let held = store.documents(id, ctg_domain::documents::Owner::Fiche(fid)).await.unwrap();
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].sha256, ctg_store::sha256_hex(pdf));
    }
});

async fn get_as_who(app: &axum::Router, path: &str, who: &Who) -> common::Reply {
    get_as(app, path, who).await
}

backend_tests!(the_pilots_contributors_report_the_status_only, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let who = coordinator(&app, &store, id).await;
        let r = post_form(
            &app,
            &format!("/conventions/{id}/plan/fiches"),
            &who,
            &[("code", "PE-1"), ("title", "Relais"), ("pilot_organisation", "CAF"), ("status", "a_venir")],
        )
        .await;
        let fiche_path = r.headers["location"].to_str().unwrap().to_owned();
        // Codes are unique whatever their case.
        let r = post_form(
            &app,
            &format!("/conventions/{id}/plan/fiches"),
            &who,
            &[("code", "pe-1"), ("title", "Autre"), ("status", "a_venir")],
        )
        .await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("existe déjà"), "{}", r.body);
        let camille = login(&app, "contributeur", "camille@caf.fr", PASSWORD).await;
        let form = get_as_who(&app, &format!("{fiche_path}/modifier"), &camille).await;
        assert_eq!(form.status, 200);
        assert!(form.html().select(&scraper::Selector::parse("#title").unwrap()).next().is_none(), "status only");
        let fid: i64 = fiche_path.rsplit('/').next().unwrap().parse().unwrap();
        let version = store.fiche(id, fid).await.unwrap().version.to_string();
        // Never say yes and do less: a new title from the contributor is refused whole, naming the
        // field, on the page as in the API; nothing is stored.
        let r = post_form(
            &app,
            &format!("{fiche_path}/modifier"),
            &camille,
            &[("version", &version), ("title", "Réécrit"), ("status", "en_cours"), ("reason", "Lancement")],
        )
        .await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert!(r.body.contains("intitulé") && r.body.contains("a été enregistré"), "{}", r.body);
        let api_path = format!("/api/v1/conventions/{id}/plan/fiches/{fid}");
        let body = |title: &str| {
            serde_json::json!({"version": version.parse::<i64>().unwrap(), "code": "PE-1", "intitule": title,
                "pilote_organisation": "CAF", "statut": "en_cours", "raison": "Lancement"})
        };
        let r = common::put_json(&app, &api_path, &camille, &body("Réécrit"), true).await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert!(r.json()["error"]["message"].as_str().unwrap().contains("intitulé"), "{}", r.body);
        let f = store.fiche(id, fid).await.unwrap();
        assert_eq!((f.fiche.title.as_str(), f.fiche.status.code()), ("Relais", "a_venir"));
        // The status alone is stored, from the page as from the API.
        let r = post_form(
            &app,
            &format!("{fiche_path}/modifier"),
            &camille,
            &[("version", &version), ("status", "en_cours"), ("reason", "Lancement")],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let f = store.fiche(id, fid).await.unwrap();
        assert_eq!((f.fiche.title.as_str(), f.fiche.status.code()), ("Relais", "en_cours"));
        assert!(f.history.last().unwrap().author.contains("Camille"), "{:?}", f.history);
        let mut status_only = body("Relais");
        status_only["version"] = f.version.into();
        status_only["statut"] = "termine".into();
        status_only["raison"] = "Fini".into();
        let r = common::put_json(&app, &api_path, &camille, &status_only, true).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(store.fiche(id, fid).await.unwrap().fiche.status.code(), "realisee");
    }
});

// The grids of the fiche page: means typed one row per party and year (FTE, planned, spent, nature,
// material), rows added by the server (one, or one per year for a party) without losing anything
// typed, errors beside their cell; targets one field per year of the convention.
backend_tests!(means_and_targets_are_typed_in_grids, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let who = coordinator(&app, &store, id).await;
        let r = post_form(
            &app,
            &format!("/conventions/{id}/plan/fiches"),
            &who,
            &[
                ("code", "PE-2"),
                ("title", "Relais itinérant"),
                ("ambitions", "1"),
                ("pilot_organisation", "CABBALR"),
                ("status", "a_venir"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let fiche_path = r.headers["location"].to_str().unwrap().to_owned();
        let fid: i64 = fiche_path.rsplit('/').next().unwrap().parse().unwrap();
        let parties = store.party_refs(id).await.unwrap();
        let party = |label: &str| parties.iter().find(|p| p.label() == label).unwrap().id.to_string();
        let (caf, epci) = (party("CAF"), party("CABBALR"));
        // The page offers a row to fill: a select of the parties, one of the years, no private syntax.
        let page = get_as(&app, &fiche_path, &who).await;
        let doc = page.html();
        assert_eq!(count(&doc, "#grille-moyens thead th"), 7);
        assert_eq!(count(&doc, "#partie_0 option"), parties.len() + 1);
        assert_eq!(count(&doc, "#annee_0 option"), 6, "— + 2026…2030");
        assert_eq!(count(&doc, "textarea#means"), 0);
        assert!(!page.body.contains("organisation ; année"));
        assert_eq!(count(&doc, "#cibles input"), 5);
        // « Ajouter une partie sur chaque année »: the CAF gets a row per year, the typed row kept,
        // nothing saved.
        let means = format!("{fiche_path}/moyens");
        let r = post_form(
            &app,
            &means,
            &who,
            &[
                ("rows", "1"),
                ("partie_0", &epci),
                ("annee_0", "2026"),
                ("prevu_0", "8 000"),
                ("ajout_partie", &caf),
                ("action", "ajouter_partie"),
            ],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let doc = r.html();
        assert_eq!(attr(&doc, "#prevu_0", "value"), "8 000");
        assert_eq!(attr(&doc, "#partie_0 option[selected]", "value"), epci);
        assert_eq!(attr(&doc, "input[name=rows]", "value"), "6");
        assert_eq!(attr(&doc, "#partie_5 option[selected]", "value"), caf);
        assert_eq!(attr(&doc, "#annee_5 option[selected]", "value"), "2030");
        // « Ajouter une ligne »: one empty row more.
        let r = post_form(&app, &means, &who, &[("rows", "1"), ("partie_0", &epci), ("action", "ajouter")]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(attr(&r.html(), "input[name=rows]", "value"), "2");
        assert!(store.fiche(id, fid).await.unwrap().means.is_empty());
        // Two parties over three years, one bad amount and one bad FTE: everything comes back, each
        // error beside its cell.
        let fields = |bad_amount: &'static str, bad_fte: &'static str| {
            let mut f: Vec<(String, String)> =
                vec![("rows".into(), "6".into()), ("action".into(), "enregistrer".into())];
            let lines = [
                (&caf, "2026", "0,5", "12 000", "", "fonctionnement", "salle du relais"),
                (&caf, "2027", "0,5", "12 500,50", "", "fonctionnement", ""),
                (&caf, "2028", "", "13 000", "", "investissement", ""),
                (&epci, "2026", bad_fte, "8 000", "7 950", "fonctionnement", ""),
                (&epci, "2027", "1", bad_amount, "", "fonctionnement", ""),
                (&epci, "2028", "1", "8 000", "", "fonctionnement", "véhicule"),
            ];
            for (i, (p, y, fte, planned, spent, kind, material)) in lines.iter().enumerate() {
                for (k, v) in [
                    ("partie", p.as_str()),
                    ("annee", *y),
                    ("etp", *fte),
                    ("prevu", *planned),
                    ("depense", *spent),
                    ("nature", *kind),
                    ("materiel", *material),
                ] {
                    f.push((format!("{k}_{i}"), v.to_owned()));
                }
            }
            f
        };
        let bad = fields("huit mille", "beaucoup");
        let pairs: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = post_form(&app, &means, &who, &pairs).await;
        assert_eq!(r.status, 400, "{}", r.body);
        let doc = r.html();
        assert_eq!(attr(&doc, "#prevu_4", "value"), "huit mille");
        assert_eq!(attr(&doc, "#prevu_4", "aria-invalid"), "true");
        assert_eq!(count(&doc, "#prevu_4-erreur"), 1);
        assert_eq!(attr(&doc, "#etp_3", "value"), "beaucoup");
        assert_eq!(attr(&doc, "#etp_3", "aria-invalid"), "true");
        assert_eq!(attr(&doc, "#prevu_1", "value"), "12 500,50");
        assert_eq!(attr(&doc, "#materiel_0", "value"), "salle du relais");
        assert_eq!(attr(&doc, "#nature_2 option[selected]", "value"), "investissement");
        assert_eq!(attr(&doc, "#depense_3", "value"), "7 950");
        assert!(r.body.contains("ligne 5 : montant invalide « huit mille »"), "{}", r.body);
        assert!(r.body.contains("ligne 4 : ETP invalide « beaucoup »"), "{}", r.body);
        assert!(store.fiche(id, fid).await.unwrap().means.is_empty());
        // The same party twice in a year is refused beside the year.
        let mut twice = fields("8 250", "1");
        for (k, v) in twice.iter_mut() {
            if k == "annee_1" {
                *v = "2026".into();
            }
        }
        let pairs: Vec<(&str, &str)> = twice.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = post_form(&app, &means, &who, &pairs).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(attr(&r.html(), "#annee_1", "aria-invalid"), "true");
        // Corrected: six lines, with their FTE, spending, nature and material.
        let good = fields("8 250", "1");
        let pairs: Vec<(&str, &str)> = good.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = post_form(&app, &means, &who, &pairs).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let saved = store.fiche(id, fid).await.unwrap().means;
        assert_eq!(saved.len(), 6);
        let line = |org: &str, year: i32| saved.iter().find(|m| m.organisation == org && m.year == year).unwrap();
        assert_eq!(line("CAF", 2027).planned_cents, Some(1_250_050));
        assert_eq!(line("CAF", 2026).fte_hundredths, 50);
        assert_eq!(line("CAF", 2026).material, "salle du relais");
        assert_eq!(line("CAF", 2028).kind, ctg_domain::plan::MeansKind::Investment);
        assert_eq!(line("CABBALR", 2027).planned_cents, Some(825_000));
        assert_eq!(line("CABBALR", 2026).spent_cents, Some(795_000));
        assert_eq!(line("CABBALR", 2027).spent_cents, None, "a blank amount is unknown, never 0");
        // The grid shows them back the French way; emptying a row removes its line.
        let doc = get_as(&app, &fiche_path, &who).await.html();
        let row = |party: &str, year: &str| {
            (0..7)
                .find(|i| {
                    attr(&doc, &format!("#partie_{i} option[selected]"), "value") == party
                        && attr(&doc, &format!("#annee_{i} option[selected]"), "value") == year
                })
                .unwrap_or_else(|| panic!("no row for {party} in {year}"))
        };
        assert_eq!(attr(&doc, &format!("#prevu_{}", row(&caf, "2027")), "value"), "12 500,50");
        assert_eq!(attr(&doc, &format!("#prevu_{}", row(&caf, "2026")), "value"), "12 000");
        assert_eq!(attr(&doc, &format!("#etp_{}", row(&caf, "2026")), "value"), "0,5");
        let mut fewer = fields("8 250", "1");
        fewer.retain(|(k, _)| !k.ends_with("_5") || k == "rows");
        let pairs: Vec<(&str, &str)> = fewer.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let r = post_form(&app, &means, &who, &pairs).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(store.fiche(id, fid).await.unwrap().means.len(), 5);
        // Targets, one field per year.
        let r = post_form(
            &app,
            &format!("{fiche_path}/indicateurs"),
            &who,
            &[
                ("name", "Familles accueillies"),
                ("nature", "quantitatif"),
                ("cible_2026", "10"),
                ("cible_2027", "15"),
                ("cible_2028", "20"),
                ("cible_2029", "25"),
                ("cible_2030", "30,5"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let plan = store.plan(id).await.unwrap();
        let i = plan.indicators.iter().find(|i| i.indicator.name == "Familles accueillies").unwrap();
        assert_eq!(i.indicator.targets.len(), 5);
        // A bad target keeps every year typed.
        let r = post_form(
            &app,
            &format!("{fiche_path}/indicateurs"),
            &who,
            &[("name", "Autre"), ("cible_2026", "10"), ("cible_2027", "beaucoup")],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        let doc = r.html();
        assert_eq!(attr(&doc, "#cible_2026", "value"), "10");
        assert_eq!(attr(&doc, "#cible_2027", "value"), "beaucoup");
    }
});

// The new-fiche form offers pickers, not codes: ambitions as checkboxes with their titles, the pilot
// among the parties, communes one per field with a list to complete from; no reason asked at creation.
backend_tests!(the_new_fiche_form_offers_pickers, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let who = coordinator(&app, &store, id).await;
        let page = get_as(&app, &format!("/conventions/{id}/plan/fiches/nouvelle"), &who).await;
        let doc = page.html();
        assert!(texts(&doc, "label[for=ambition_1]")[0].starts_with("Ambition 1 : Maintenir et assurer"));
        assert_eq!(count(&doc, "#liste-communes option"), 100);
        assert!(count(&doc, "#pilot_organisation option[value=CAF]") == 1);
        assert_eq!(count(&doc, "#reason"), 0, "no reason for a status at creation");
        let r = post_form(
            &app,
            &format!("/conventions/{id}/plan/fiches"),
            &who,
            &[
                ("pickers", "1"),
                ("code", "EJ-5"),
                ("title", "Conseil des jeunes"),
                ("ambition_2", "1"),
                ("ambition_5", "1"),
                ("pilot_organisation", "CAF"),
                ("commune_0", "Béthune"),
                ("commune_1", ""),
                ("commune_2", "Lillers"),
                ("status", "a_venir"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let fid: i64 = r.headers["location"].to_str().unwrap().rsplit('/').next().unwrap().parse().unwrap();
        let f = store.fiche(id, fid).await.unwrap().fiche;
        assert_eq!(f.ambitions, [2, 5]);
        assert_eq!(f.communes.len(), 2);
        assert_eq!(f.pilot_organisation, "CAF");
    }
});
