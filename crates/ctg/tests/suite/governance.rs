//! Governance through the pages and the API, on the demo: a coordinator prepares a steering committee
//! (members, a meeting, its agenda on a fiche, attendance, minutes, a decision on the fiche followed
//! on the open decisions page then closed), the iCalendar export read back by a parser, stale edits
//! refused, what each person may see and do, the demo's concertation and the coordination posts; on
//! SQLite and PostgreSQL.

use crate::common;

use std::str::FromStr;

use common::{
    attr, count, demo_app, digits, get, get_as, get_bytes, login, people, post_file, post_form, put_json, send_json,
    texts, Who, PASSWORD,
};
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, Store};
use icalendar::{CalendarDateTime, Component, DatePerhapsTime, EventLike};

const COPIL: &str = "Comité de pilotage intercommunal restreint";

async fn coordinator(app: &axum::Router, store: &Store, id: i64) -> Who {
    people(store, id).await;
    login(app, "coordination", "claire@cabbalr.fr", PASSWORD).await
}

async fn copil(store: &Store, id: i64) -> i64 {
    store.bodies(id).await.unwrap().into_iter().find(|b| b.body.name == COPIL).expect("the demo's COPIL").id
}

fn location(r: &common::Reply) -> String {
    r.headers.get("location").and_then(|l| l.to_str().ok()).unwrap_or_default().to_owned()
}

fn last_id(path: &str) -> i64 {
    path.split('#').next().unwrap().rsplit('/').next().unwrap().parse().unwrap_or_else(|_| panic!("no id in {path}"))
}

/// The `value` of the hidden `version` field of the form posting to `action`.
fn form_version(body: &str, action: &str) -> String {
    let doc = scraper::Html::parse_document(body);
    // A form may name the part of the page to come back to (`…/ordre-du-jour#ordre-du-jour`).
    let sel = scraper::Selector::parse(&format!(
        "form[action='{action}'] input[name='version'], form[action^='{action}#'] input[name='version']"
    ))
    .unwrap();
    doc.select(&sel).next().and_then(|e| e.value().attr("value")).unwrap_or_else(|| panic!("no form {action}")).into()
}

async fn member(app: &axum::Router, store: &Store, who: &Who, id: i64, body: i64, fields: &[(&str, &str)]) -> i64 {
    let r = post_form(app, &format!("/conventions/{id}/instances/{body}/membres"), who, fields).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let name = fields.iter().find(|(k, _)| *k == "name").unwrap().1;
    let b = store.body(id, body).await.unwrap();
    b.members.iter().find(|m| m.data.name == name).unwrap().id
}

async fn fiche(app: &axum::Router, who: &Who, id: i64, code: &str, title: &str) -> i64 {
    let r = post_form(
        app,
        &format!("/conventions/{id}/plan/fiches"),
        who,
        &[("code", code), ("title", title), ("ambitions", "1"), ("pilot_organisation", "CAF"), ("status", "en_cours")],
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    last_id(&location(&r))
}

async fn schedule(app: &axum::Router, who: &Who, id: i64, body: i64, fields: &[(&str, &str)]) -> i64 {
    let r = post_form(app, &format!("/conventions/{id}/instances/{body}/seances"), who, fields).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let path = location(&r);
    assert!(path.starts_with(&format!("/conventions/{id}/seances/")), "{path}");
    last_id(&path)
}

backend_tests!(a_coordinator_prepares_a_steering_committee, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let who = coordinator(&app, &store, id).await;
        let body = copil(&store, id).await;

        // The bodies of the demo, with their kind of art. 7-a.
        let page = get_as(&app, &format!("/conventions/{id}/instances"), &who).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let names = texts(&page.html(), "section.body-section h2");
        assert_eq!(names.len(), 4, "{names:?}");
        assert!(names.contains(&COPIL.to_owned()));
        assert!(page.body.contains("Comité technique opérationnel"));

        // Three members: a chair, a member, and one who left before the meeting.
        let chair = member(
            &app,
            &store,
            &who,
            id,
            body,
            &[
                ("name", "Claire Martin"),
                ("organisation", "CABBALR"),
                ("function", "Vice-présidente"),
                ("role", "president"),
                ("joined", "2026-01-01"),
            ],
        )
        .await;
        let caf = member(
            &app,
            &store,
            &who,
            id,
            body,
            &[
                ("name", "Paul Durand"),
                ("organisation", "CAF du Pas-de-Calais"),
                ("role", "membre"),
                ("joined", "2026-01-01"),
            ],
        )
        .await;
        let gone = member(
            &app,
            &store,
            &who,
            id,
            body,
            &[("name", "Ancien Membre"), ("organisation", "MSA"), ("joined", "2025-01-01"), ("left", "2026-06-30")],
        )
        .await;
        // A leaving date before the joining one is refused, with the field named.
        let r = post_form(
            &app,
            &format!("/conventions/{id}/instances/{body}/membres"),
            &who,
            &[("name", "Erreur"), ("joined", "2026-05-01"), ("left", "2026-04-01")],
        )
        .await;
        assert_eq!(r.status, 400);
        assert_eq!(count(&r.html(), &format!("#nouveau-membre-{body}-depart[aria-invalid=true]")), 1, "{}", r.body);
        let page = get_as(&app, &format!("/conventions/{id}/instances"), &who).await;
        let current = texts(&page.html(), &format!("#membres-{body} tbody th"));
        assert_eq!(current, ["Claire Martin", "Paul Durand"], "chairs first; the one who left is not current");
        assert_eq!(texts(&page.html(), &format!("#autres-membres-{body} tbody th")), ["Ancien Membre"]);

        // A fiche of the plan, and a meeting held two weeks ago, another to come.
        let pe1 = fiche(&app, &who, id, "PE-1", "Ouvrir un relais petite enfance").await;
        let past = schedule(
            &app,
            &who,
            id,
            body,
            &[
                ("title", "Lancement de la CTG"),
                ("date", "2026-11-12"),
                ("start", "14:00"),
                ("end", "16:30"),
                ("place", "Hôtel communautaire, Béthune"),
            ],
        )
        .await;
        let next = schedule(
            &app,
            &who,
            id,
            body,
            &[
                ("date", "2026-12-10"),
                ("start", "9 h 30"),
                ("end", "12:00"),
                ("video_link", "https://visio.example.org/copil"),
            ],
        )
        .await;
        // An end before the start is refused on the body's page.
        let r = post_form(
            &app,
            &format!("/conventions/{id}/instances/{body}/seances"),
            &who,
            &[("date", "2026-12-11"), ("start", "14:00"), ("end", "13:00")],
        )
        .await;
        assert_eq!(r.status, 400);
        assert_eq!(count(&r.html(), "#end[aria-invalid=true]"), 1);
        let body_page = get_as(&app, &format!("/conventions/{id}/instances/{body}"), &who).await;
        assert_eq!(texts(&body_page.html(), "#seances-a-venir tbody th"), ["10 décembre 2026"]);
        assert_eq!(texts(&body_page.html(), "#seances-passees tbody th"), ["12 novembre 2026"]);
        assert_eq!(
            count(
                &body_page.html(),
                &format!("a#calendrier[href='/conventions/{id}/instances/{body}/calendrier.ics']")
            ),
            1
        );

        // The meeting's page: when and where.
        let path = format!("/conventions/{id}/seances/{past}");
        let page = get_as(&app, &path, &who).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert_eq!(texts(&page.html(), "h1"), [format!("{COPIL} : Lancement de la CTG")]);
        let facts = texts(&page.html(), "#fiche-seance dd");
        assert!(facts.contains(&"12 novembre 2026".to_owned()), "{facts:?}");
        assert!(facts.contains(&"de 14 h 00 à 16 h 30".to_owned()), "{facts:?}");
        assert!(facts.contains(&"Hôtel communautaire, Béthune".to_owned()), "{facts:?}");

        // Its agenda, one item on the fiche.
        let version = form_version(&page.body, &format!("{path}/ordre-du-jour"));
        let r = post_form(
            &app,
            &format!("{path}/ordre-du-jour"),
            &who,
            &[("version", &version), ("rows", "1"), ("titre_0", "Bilan de la concertation"), ("action", "ajouter")],
        )
        .await;
        // « Ajouter un point »: a second row, the first kept, nothing saved.
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(attr(&r.html(), "#titre_0", "value"), "Bilan de la concertation");
        assert_eq!(count(&r.html(), "#titre_1"), 1);
        assert!(store.meeting(id, past).await.unwrap().agenda.is_empty());
        let r = post_form(
            &app,
            &format!("{path}/ordre-du-jour"),
            &who,
            &[
                ("version", &version),
                ("rows", "3"),
                ("titre_0", "Bilan de la concertation"),
                ("titre_1", "Ouverture du relais petite enfance"),
                ("fiches_1", "pe-1"),
                ("action", "enregistrer"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let page = get_as(&app, &path, &who).await;
        assert_eq!(
            texts(&page.html(), "#points-ordre-du-jour > li > strong"),
            ["Bilan de la concertation", "Ouverture du relais petite enfance"]
        );
        assert_eq!(
            count(&page.html(), &format!("#points-ordre-du-jour a[href='/conventions/{id}/plan/fiches/{pe1}']")),
            1
        );
        // An unknown fiche is refused with its line.
        let version = form_version(&page.body, &format!("{path}/ordre-du-jour"));
        let r = post_form(
            &app,
            &format!("{path}/ordre-du-jour"),
            &who,
            &[("version", &version), ("rows", "2"), ("titre_0", "Bilan"), ("titre_1", "Point"), ("fiches_1", "XX-9")],
        )
        .await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("point 2") && r.body.contains("XX-9"), "{}", r.body);
        // Everything typed comes back, the error beside its cell.
        let doc = r.html();
        assert_eq!(attr(&doc, "#titre_0", "value"), "Bilan");
        assert_eq!(attr(&doc, "#fiches_1", "value"), "XX-9");
        assert_eq!(attr(&doc, "#fiches_1", "aria-invalid"), "true");
        assert_eq!(count(&doc, "#fiches_1-erreur"), 1);

        // Attendance: the members of the day are proposed as invited; one present, one represented.
        let invited = texts(&page.html(), "#table-presences tbody th");
        assert_eq!(invited, ["Claire Martin", "Paul Durand"], "the member who left is not invited");
        let version = form_version(&page.body, &format!("{path}/presences"));
        let (p_chair, p_caf, r_caf) =
            (format!("presence-{chair}"), format!("presence-{caf}"), format!("represente-{caf}"));
        let r = post_form(
            &app,
            &format!("{path}/presences"),
            &who,
            &[(&p_chair, "present"), (&p_caf, "represente"), (&r_caf, ""), ("version", &version)],
        )
        .await;
        assert_eq!(r.status, 400, "a representative must be named");
        assert!(r.body.contains("Paul Durand : précisez qui le ou la représente"), "{}", r.body);
        let r = post_form(
            &app,
            &format!("{path}/presences"),
            &who,
            &[(&p_chair, "present"), (&p_caf, "represente"), (&r_caf, "Jeanne Adjointe"), ("version", &version)],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let stored = store.meeting(id, past).await.unwrap();
        assert_eq!(stored.attendance.len(), 2);
        assert!(stored.attendance.iter().all(|a| a.member_id != gone));
        let page = get_as(&app, &path, &who).await;
        assert_eq!(texts(&page.html(), "#synthese-presences"), ["2 présents ou représentés sur 2 invités (100 %)"]);

        // The minutes.
        let version = form_version(&page.body, &format!("{path}/compte-rendu"));
        let r = post_form(
            &app,
            &format!("{path}/compte-rendu"),
            &who,
            &[("version", &version), ("minutes", "Le comité valide le calendrier de la CTG.")],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let page = get_as(&app, &path, &who).await;
        assert_eq!(texts(&page.html(), "#texte-compte-rendu"), ["Le comité valide le calendrier de la CTG."]);
        // A save from the version read before is refused, and says so.
        let r = post_form(
            &app,
            &format!("{path}/compte-rendu"),
            &who,
            &[("version", &version), ("minutes", "Autre texte")],
        )
        .await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert!(r.body.contains("Modification concurrente de la séance"), "{}", r.body);
        assert!(r.body.contains("Claire Coordination"), "names who came before: {}", r.body);
        assert!(r.body.contains("Autre texte"), "what was typed is kept");

        // Two decisions: one on the fiche, due a week ago; one with no due date.
        let r = post_form(
            &app,
            &format!("{path}/decisions"),
            &who,
            &[
                ("decision_text", "Lancer l'étude d'implantation du relais"),
                ("decision_fiches", "PE-1"),
                ("decision_follow_up", "CAF"),
                ("decision_due", "2026-11-20"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r =
            post_form(&app, &format!("{path}/decisions"), &who, &[("decision_text", "Réunir les élus au printemps")])
                .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r =
            post_form(&app, &format!("{path}/decisions"), &who, &[("decision_text", "X"), ("decision_fiches", "ZZ-1")])
                .await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("ZZ-1"));
        let page = get_as(&app, &path, &who).await;
        assert_eq!(texts(&page.html(), "#decisions-seance tbody th").len(), 2);

        // The open decisions page: by due date, the overdue one flagged, linked to the fiche.
        let list = get(&app, &format!("/conventions/{id}/decisions")).await;
        assert_eq!(list.status, 200, "{}", list.body);
        assert_eq!(
            texts(&list.html(), "#decisions-ouvertes tbody th"),
            ["Lancer l'étude d'implantation du relais", "Réunir les élus au printemps"]
        );
        assert_eq!(count(&list.html(), "#decisions-ouvertes tbody tr.overdue"), 1);
        assert_eq!(texts(&list.html(), "#decisions-ouvertes tr.overdue .late"), ["en retard de 7 jours"]);
        assert_eq!(
            count(&list.html(), &format!("#decisions-ouvertes a[href='/conventions/{id}/plan/fiches/{pe1}']")),
            1
        );
        let csv = get(&app, &format!("/conventions/{id}/decisions?format=csv-virgule")).await;
        assert_eq!(csv.status, 200);
        assert!(csv.content_type.starts_with("text/csv"), "{}", csv.content_type);
        let mut lines = csv.body.lines();
        assert_eq!(lines.next(), Some("echeance,decision,fiches,suivi_par,instance,seance,en_retard,jours_de_retard,source_des_donnees,donnees_au"));
        assert_eq!(
            lines.next(),
            Some(
                format!(
                    "2026-11-20,Lancer l'étude d'implantation du relais,PE-1,CAF,{COPIL},2026-11-12,oui,7,\
                     \"Plateforme CTG, convention « Convention Territoriale Globale de Service aux Familles 2026-2030 »\",2026-11-27"
                )
                .as_str()
            )
        );
        for format in ["xlsx", "ods"] {
            let (status, bytes) = get_bytes(&app, &format!("/conventions/{id}/decisions?format={format}"), &who).await;
            assert_eq!(status, 200, "{format}");
            assert!(bytes.starts_with(b"PK"), "{format}: a zip archive");
        }

        // The next meeting's preparation pack: progress, lateness, open decisions.
        let page = get_as(&app, &format!("/conventions/{id}/seances/{next}"), &who).await;
        assert_eq!(texts(&page.html(), "#fiche-seance dd a"), ["https://visio.example.org/copil"]);
        let pack_path = format!("/conventions/{id}/seances/{next}/dossier");
        assert_eq!(count(&page.html(), &format!("a[href='{pack_path}']")), 2);
        assert_eq!(count(&page.html(), &format!("a[href='{pack_path}.pdf']")), 2);
        assert_eq!(count(&page.html(), &format!("a[href='/conventions/{id}/seances/{next}/seance.ics']")), 1);
        // The pack, a page of its own to print: no navigation.
        let pack = get_as(&app, &pack_path, &who).await;
        assert_eq!(pack.status, 200, "{}", pack.body);
        assert_eq!(count(&pack.html(), "nav"), 0);
        assert_eq!(count(&pack.html(), "body.print-document"), 1);
        assert_eq!(texts(&pack.html(), "#pack-avancement"), ["50 %"]);
        assert!(texts(&pack.html(), "#pack-ambitions tbody th").iter().any(|a| a.starts_with("1. ")));
        assert_eq!(texts(&pack.html(), "#pack-decisions tbody th").len(), 2);
        assert_eq!(count(&pack.html(), "#pack-decisions tr.overdue"), 1);
        // One meeting in a diary: an iCalendar file with one event.
        let ics = get_as(&app, &format!("/conventions/{id}/seances/{next}/seance.ics"), &who).await;
        assert_eq!(ics.status, 200);
        assert!(ics.headers["content-type"].to_str().unwrap().starts_with("text/calendar"));
        assert_eq!(ics.body.matches("BEGIN:VEVENT").count(), 1, "{}", ics.body);
        assert!(ics.body.contains("visio.example.org/copil"), "{}", ics.body);

        // Closed from the open decisions page: it leaves the list.
        let decision =
            store.meeting(id, past).await.unwrap().decisions.into_iter().find(|d| d.data.due.is_some()).unwrap();
        let close = format!("/conventions/{id}/decisions/{}/cloture", decision.id);
        let v = decision.version.to_string();
        let r = post_form(&app, &close, &who, &[("version", &v), ("closed_on", "2026-11-27"), ("suite", "decisions")])
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(location(&r), format!("/conventions/{id}/decisions"));
        let list = get(&app, &format!("/conventions/{id}/decisions")).await;
        assert_eq!(texts(&list.html(), "#decisions-ouvertes tbody th"), ["Réunir les élus au printemps"]);
        assert_eq!(count(&list.html(), "#decisions-en-retard"), 0);
        // Closing it again from the version read before: refused as a concurrent change.
        let r = post_form(&app, &close, &who, &[("version", &v), ("closed_on", "2026-11-27")]).await;
        assert_eq!(r.status, 409, "{}", r.body);
        let page = get_as(&app, &path, &who).await;
        assert!(texts(&page.html(), "#decisions-seance td").contains(&"close le 27/11/2026".to_owned()));

        // A stale member edit.
        let m = store.body(id, body).await.unwrap().members.into_iter().find(|m| m.id == caf).unwrap();
        let edit = format!("/conventions/{id}/instances/{body}/membres/{caf}");
        let fields = |v: String| {
            vec![
                ("version", v),
                ("name", "Paul Durand".to_owned()),
                ("organisation", "CAF du Pas-de-Calais".to_owned()),
                ("role", "membre".to_owned()),
                ("joined", "2026-01-01".to_owned()),
                ("left", "2027-01-01".to_owned()),
            ]
        };
        let ok = fields(m.version.to_string());
        let r = post_form(&app, &edit, &who, &ok.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r = post_form(&app, &edit, &who, &ok.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>()).await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert!(r.body.contains("Modification concurrente") && r.body.contains("membre « Paul Durand »"), "{}", r.body);

        // A document attached to the meeting.
        let r = post_file(&app, &format!("{path}/documents"), &who, "convocation.txt", b"Convocation du COPIL\n").await;
        assert_eq!(r.status, 303, "{}", r.body);
        let page = get_as(&app, &path, &who).await;
        assert_eq!(texts(&page.html(), "#liste-documents tbody th a"), ["convocation.txt"]);

        // Every change is in the convention's history.
        let history =
            store.history(&ctg_store::HistoryFilter { convention_id: Some(id), ..Default::default() }).await.unwrap();
        for kind in ["seance", "decision", "membre_instance", "document"] {
            assert!(history.iter().any(|e| e.object_type == kind), "no {kind} in the history");
        }
    }
});

backend_tests!(the_icalendar_export_read_back, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let who = coordinator(&app, &store, id).await;
        let body = copil(&store, id).await;
        let first = schedule(
            &app,
            &who,
            id,
            body,
            &[
                ("title", "Lancement, calendrier"),
                ("date", "2026-03-12"),
                ("start", "14:00"),
                ("end", "16:30"),
                ("place", "Béthune; salle 2"),
            ],
        )
        .await;
        let second = schedule(
            &app,
            &who,
            id,
            body,
            &[
                ("date", "2026-10-08"),
                ("start", "09:30"),
                ("end", "12:00"),
                ("video_link", "https://visio.example.org/copil"),
            ],
        )
        .await;
        let r = get(&app, &format!("/conventions/{id}/instances/{body}/calendrier.ics")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.content_type, "text/calendar; charset=utf-8");
        let disposition = r.headers["content-disposition"].to_str().unwrap();
        assert_eq!(disposition, "attachment; filename=\"calendrier-comite-de-pilotage-intercommunal-restreint.ics\"");
        assert!(r.body.split_inclusive('\n').all(|l| l.ends_with("\r\n")), "CRLF line ends");
        let calendar = icalendar::Calendar::from_str(&r.body).unwrap();
        let events: Vec<&icalendar::Event> = calendar.events().collect();
        assert_eq!(events.len(), 2);
        let paris = |s: &str| {
            Some(DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone {
                date_time: chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap(),
                tzid: "Europe/Paris".into(),
            }))
        };
        let e = events[0];
        assert_eq!(e.get_uid(), Some(format!("ctg-reunion-{first}@plateforme-ctg").as_str()));
        assert_eq!(e.get_summary(), Some(format!("{COPIL} : Lancement, calendrier").as_str()));
        assert_eq!(e.get_location(), Some("Béthune; salle 2"));
        assert_eq!(e.get_start(), paris("2026-03-12 14:00"));
        assert_eq!(e.get_end(), paris("2026-03-12 16:30"));
        assert_eq!(e.get_description(), Some("Ordre du jour à venir."));
        let e = events[1];
        assert_eq!(e.get_uid(), Some(format!("ctg-reunion-{second}@plateforme-ctg").as_str()));
        assert_eq!(e.get_summary(), Some(COPIL));
        assert_eq!(e.get_url(), Some("https://visio.example.org/copil"));
        assert_eq!(e.get_start(), paris("2026-10-08 09:30"));
        // Another body's calendar is empty; an unknown body is not found.
        let other = store.bodies(id).await.unwrap().into_iter().find(|b| b.id != body).unwrap().id;
        let r = get(&app, &format!("/conventions/{id}/instances/{other}/calendrier.ics")).await;
        assert_eq!(icalendar::Calendar::from_str(&r.body).unwrap().events().count(), 0);
        assert_eq!(get(&app, &format!("/conventions/{id}/instances/999999/calendrier.ics")).await.status, 404);
    }
});

backend_tests!(what_each_person_may_see_and_do, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let who = coordinator(&app, &store, id).await;
        let body = copil(&store, id).await;
        let chair = member(
            &app,
            &store,
            &who,
            id,
            body,
            &[("name", "Claire Martin"), ("role", "president"), ("joined", "2026-01-01")],
        )
        .await;
        let mid = schedule(&app, &who, id, body, &[("date", "2026-11-12"), ("start", "14:00"), ("end", "16:00")]).await;
        let path = format!("/conventions/{id}/seances/{mid}");
        let m = store.meeting(id, mid).await.unwrap();
        let attendance = [ctg_domain::governance::Attendance {
            member_id: chair,
            status: ctg_domain::governance::AttendanceStatus::Present,
            represented_by: None,
        }];
        let actor = ctg_domain::Actor::cli("test");
        let v = store.set_attendance(&actor, id, mid, m.version, &attendance).await.unwrap();
        store.set_minutes(&actor, id, mid, v, Some("Synthèse confidentielle des échanges")).await.unwrap();
        store
            .add_decision(
                &actor,
                id,
                mid,
                ctg_domain::governance::NewDecision {
                    text: "Décision publique".into(),
                    fiches: vec![],
                    follow_up: "CAF".into(),
                    due: None,
                },
            )
            .await
            .unwrap();

        // The public reads the meeting and its decisions, not the attendance, minutes or names.
        let anon = Who::default();
        let page = get(&app, &path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Décision publique"));
        assert!(!page.body.contains("Claire Martin"), "a member's name shown to the public");
        assert!(!page.body.contains("Synthèse confidentielle"), "the minutes shown to the public");
        assert_eq!(count(&page.html(), "#table-presences"), 0);
        assert_eq!(count(&page.html(), "form"), 0, "no form for the public");
        let bodies = get(&app, &format!("/conventions/{id}/instances")).await;
        assert_eq!(bodies.status, 200);
        assert!(!bodies.body.contains("Claire Martin"));
        let api = get(&app, &format!("/api/v1/conventions/{id}/seances/{mid}")).await.json();
        assert_eq!(api["presences"], serde_json::Value::Null);
        assert_eq!(api["compte_rendu"], serde_json::Value::Null);
        assert_eq!(api["decisions"][0]["texte"], "Décision publique");
        let api = get(&app, &format!("/api/v1/conventions/{id}/instances")).await.json();
        let copil = api.as_array().unwrap().iter().find(|b| b["id"] == body).unwrap();
        assert_eq!(copil["membres"][0]["nom"], serde_json::Value::Null);
        assert_eq!(copil["membres"][0]["role"], "president");
        // … and may not write: sent to the login page.
        let r =
            post_form(&app, &format!("/conventions/{id}/instances/{body}/seances"), &anon, &[("date", "2026-12-01")])
                .await;
        assert_eq!(r.status, 303);
        assert!(location(&r).starts_with("/connexion"));

        // A reader sees attendance and minutes, and may not schedule a meeting.
        let reader = login(&app, "lecteur", "louis@ctg.fr", PASSWORD).await;
        let page = get_as(&app, &path, &reader).await;
        assert_eq!(texts(&page.html(), "#table-presences tbody th"), ["Claire Martin"]);
        assert_eq!(texts(&page.html(), "#texte-compte-rendu"), ["Synthèse confidentielle des échanges"]);
        assert_eq!(count(&page.html(), &format!("form[action='{path}/presences']")), 0, "no form for a reader");
        let api = get_as(&app, &format!("/api/v1/conventions/{id}/seances/{mid}"), &reader).await.json();
        assert_eq!(api["presences"][0]["presence"], "present");
        let r = post_form(
            &app,
            &format!("/conventions/{id}/instances/{body}/seances"),
            &reader,
            &[("date", "2026-12-01"), ("start", "10:00"), ("end", "11:00")],
        )
        .await;
        assert_eq!(r.status, 403, "{}", r.body);
        let r = send_json(
            &app,
            "POST",
            &format!("/api/v1/conventions/{id}/instances/{body}/seances"),
            &reader,
            &serde_json::json!({"date": "2026-12-01", "debut": "10:00", "fin": "11:00"}),
            true,
        )
        .await;
        assert_eq!(r.status, 403, "{}", r.body);
        assert_eq!(store.meetings(id).await.unwrap().len(), 1);
        // A contributor may not close a decision either.
        let contributor = login(&app, "contributeur", "camille@caf.fr", PASSWORD).await;
        let d = store.meeting(id, mid).await.unwrap().decisions.remove(0);
        let r = post_form(
            &app,
            &format!("/conventions/{id}/decisions/{}/cloture", d.id),
            &contributor,
            &[("version", &d.version.to_string())],
        )
        .await;
        assert_eq!(r.status, 403);
    }
});

backend_tests!(the_demo_concertation_on_the_page, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let page = get(&app, &format!("/conventions/{id}/concertation")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let doc = page.html();
        let row = |kind: &str| {
            let rows = texts(&doc, "#totaux-par-type tr");
            rows.into_iter().find(|r| r.starts_with(kind)).unwrap_or_else(|| panic!("no row {kind}"))
        };
        let cell = |kind: &str, column: &str| {
            let sel = scraper::Selector::parse("#totaux-par-type tr").unwrap();
            let cell_sel = scraper::Selector::parse(&format!("td[data-colonne='{column}']")).unwrap();
            doc.select(&sel)
                .find(|r| r.text().collect::<String>().starts_with(kind))
                .and_then(|r| r.select(&cell_sel).next())
                .map(|c| c.text().collect::<String>())
                .unwrap_or_else(|| panic!("no cell {kind} / {column}"))
        };
        // Annex 2: 174 inhabitants in 18 focus groups, 104 partners in 4 working groups, 50 elected
        // representatives at the seminar, 4 interviews, about a hundred people in 4 half-days.
        assert_eq!(
            (digits(&cell("Focus group", "evenements")), digits(&cell("Focus group", "habitants"))),
            ("18".into(), "174".into())
        );
        assert_eq!(digits(&cell("Groupe de travail thématique", "evenements")), "4");
        assert_eq!(digits(&cell("Groupe de travail thématique", "partenaires")), "104");
        assert_eq!(digits(&cell("Séminaire", "elus")), "50");
        assert_eq!(digits(&cell("Entretien", "evenements")), "4");
        // The interviews do not say how many elected representatives were met: unknown, not zero.
        assert_eq!((cell("Entretien", "elus"), cell("Entretien", "total")), ("—".into(), "—".into()));
        assert_eq!(cell("Séance participative", "non_repartis"), "environ 100");
        assert!(row("Entretien").contains("Entretien"));
        let total = |column: &str| texts(&doc, &format!("#totaux-par-categorie td[data-colonne='{column}']")).remove(0);
        assert_eq!(digits(&total("evenements")), "31");
        assert_eq!(digits(&total("habitants")), "174");
        assert_eq!(digits(&total("elus")), "50");
        assert_eq!(digits(&total("partenaires")), "104");
        assert_eq!(total("total").replace(['\u{202f}', '\u{a0}'], " "), "environ 428");
        assert!(page.body.contains("28 communes"), "the seminar's 28 communes");
        // The same figures through the API.
        let api = get(&app, &format!("/api/v1/conventions/{id}/concertation")).await.json();
        assert_eq!(api["totaux"]["habitants"], 174);
        assert_eq!(api["totaux"]["partenaires"], 104);
        assert_eq!(api["totaux"]["total"], 428);
        assert_eq!(api["totaux"]["environ"], true);
        assert_eq!(api["evenements"].as_array().unwrap().len(), 5);

        // A contribution, then linked to the ambition and the fiche that answer it.
        let who = coordinator(&app, &store, id).await;
        let pe1 = fiche(&app, &who, id, "PE-1", "Ouvrir un relais petite enfance").await;
        let events = store.concertation(id).await.unwrap();
        let focus = events.iter().find(|e| e.data.title.starts_with("Focus groups")).unwrap();
        let r = post_form(
            &app,
            &format!("/conventions/{id}/concertation/contributions"),
            &who,
            &[
                ("event", &focus.id.to_string()),
                ("contribution_text", "Plus de places en crèche"),
                ("author", "habitants"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let c = store.concertation_event(id, focus.id).await.unwrap().contributions.remove(0);
        let page = get(&app, &format!("/conventions/{id}/concertation")).await;
        assert!(page.body.contains("Aucune ambition ni fiche action n'y répond encore"));
        let r = post_form(
            &app,
            &format!("/conventions/{id}/concertation/contributions/{}", c.id),
            &who,
            &[("version", &c.version.to_string()), ("ambitions", "1"), ("fiches", "PE-1")],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let page = get(&app, &format!("/conventions/{id}/concertation")).await;
        let doc = page.html();
        assert_eq!(count(&doc, &format!("#contribution-{} a[href='/conventions/{id}/plan/fiches/{pe1}']", c.id)), 1);
        assert_eq!(count(&doc, &format!("#contribution-{} a[href='/conventions/{id}/plan#ambition-1']", c.id)), 1);
        // From the version read before: 409.
        let r = post_form(
            &app,
            &format!("/conventions/{id}/concertation/contributions/{}", c.id),
            &who,
            &[("version", &c.version.to_string()), ("ambitions", "2")],
        )
        .await;
        assert_eq!(r.status, 409, "{}", r.body);

        // An event added on the page, with its communes by name.
        let r = post_form(
            &app,
            &format!("/conventions/{id}/concertation"),
            &who,
            &[
                ("kind", "reunion_publique"),
                ("title", "Réunion publique de restitution"),
                ("start", "2026-09-15"),
                ("communes", "Béthune, Lillers"),
                ("inhabitants", "35"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let page = get(&app, &format!("/conventions/{id}/concertation")).await;
        assert!(page.body.contains("Béthune, Lillers"), "{}", page.body);
        let total = texts(&page.html(), "#totaux-par-categorie td[data-colonne='habitants']").remove(0);
        assert_eq!(digits(&total), "209");
    }
});

backend_tests!(the_api_of_governance, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let p = people(&store, id).await;
        let actor = ctg_domain::Actor::cli("test");
        let (_, token) = store.create_token(&actor, p.coordinator_id, "écriture", true).await.unwrap();
        let api = Who { label: "jeton", token: Some(token), ..Who::default() };
        let base = format!("/api/v1/conventions/{id}");

        let r = send_json(
            &app,
            "POST",
            &format!("{base}/instances"),
            &api,
            &serde_json::json!({"nature": "commission_thematique", "nom": "Commission petite enfance"}),
            false,
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let body = r.json()["id"].as_i64().unwrap();
        let r = send_json(
            &app,
            "POST",
            &format!("{base}/instances/{body}/membres"),
            &api,
            &serde_json::json!({"nom": "Claire Martin", "role": "president", "arrivee": "2026-01-01"}),
            false,
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let member = r.json()["id"].as_i64().unwrap();
        let r = send_json(&app, "POST", &format!("{base}/instances/{body}/seances"), &api, &serde_json::json!({"intitule": "Première", "date": "2026-11-12", "debut": "14:00", "fin": "16:00", "lieu": "Béthune"}), false).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let mid = r.json()["id"].as_i64().unwrap();
        let r = send_json(
            &app,
            "POST",
            &format!("{base}/instances/{body}/seances"),
            &api,
            &serde_json::json!({"date": "2026-11-12", "debut": "16:00", "fin": "15:00"}),
            false,
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);

        let seance = get_as(&app, &format!("{base}/seances/{mid}"), &api).await.json();
        assert_eq!((seance["debut"].as_str(), seance["fin"].as_str()), (Some("14:00"), Some("16:00")));
        let version = seance["version"].as_i64().unwrap();
        let presences =
            serde_json::json!({"version": version, "presences": [{"membre": member, "presence": "excuse"}]});
        let r = put_json(&app, &format!("{base}/seances/{mid}/presences"), &api, &presences, false).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["version"], version + 1);
        let r = put_json(&app, &format!("{base}/seances/{mid}/presences"), &api, &presences, false).await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert_eq!(r.json()["error"]["code"], "conflict");
        let seance = get_as(&app, &format!("{base}/seances/{mid}"), &api).await.json();
        assert_eq!(seance["synthese_presences"]["excuses"], 1);
        // The agenda and the minutes, from the version read.
        let version = seance["version"].as_i64().unwrap();
        let agenda =
            serde_json::json!({"version": version, "points": [{"intitule": "Bilan de l'année", "fiches": []}]});
        let r = put_json(&app, &format!("{base}/seances/{mid}/ordre-du-jour"), &api, &agenda, false).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let minutes = serde_json::json!({"version": version + 1, "compte_rendu": "Le comité valide le bilan."});
        let r = put_json(&app, &format!("{base}/seances/{mid}/compte-rendu"), &api, &minutes, false).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let r = put_json(&app, &format!("{base}/seances/{mid}/compte-rendu"), &api, &minutes, false).await;
        assert_eq!(r.status, 409, "{}", r.body);
        let seance = get_as(&app, &format!("{base}/seances/{mid}"), &api).await.json();
        assert!(
            seance.to_string().contains("Le comité valide le bilan.")
                && seance.to_string().contains("Bilan de l'année"),
            "{seance}"
        );

        let r = send_json(
            &app,
            "POST",
            &format!("{base}/seances/{mid}/decisions"),
            &api,
            &serde_json::json!({"texte": "Étudier un second relais", "suivi_par": "CABBALR", "echeance": "2026-11-01"}),
            false,
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let did = r.json()["id"].as_i64().unwrap();
        let open = get(&app, &format!("{base}/decisions")).await.json();
        assert_eq!(open[0]["id"], did);
        assert_eq!(open[0]["en_retard"], true);
        assert_eq!(open[0]["jours_de_retard"], 26);
        assert_eq!(open[0]["instance_nom"], "Commission petite enfance");
        let v = open[0]["version"].as_i64().unwrap();
        let r = send_json(
            &app,
            "POST",
            &format!("{base}/decisions/{did}/cloture"),
            &api,
            &serde_json::json!({"version": v}),
            false,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(get(&app, &format!("{base}/decisions")).await.json().as_array().unwrap().is_empty());
        let seance = get(&app, &format!("{base}/seances/{mid}")).await.json();
        assert_eq!(seance["decisions"][0]["close_le"], "2026-11-27");

        let r = send_json(&app, "POST", &format!("{base}/concertation"), &api, &serde_json::json!({"nature": "reunion_publique", "intitule": "Restitution", "debut": "2026-09-15", "communes": ["62119"], "participants": {"habitants": 30}}), false).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let eid = r.json()["id"].as_i64().unwrap();
        let r = send_json(
            &app,
            "POST",
            &format!("{base}/concertation/{eid}/contributions"),
            &api,
            &serde_json::json!({"texte": "Un accueil le samedi", "auteur": "habitants", "ambitions": [1]}),
            false,
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let c = get(&app, &format!("{base}/concertation")).await.json();
        assert_eq!(c["totaux"]["habitants"], 204);
        let restitution = c["evenements"].as_array().unwrap().iter().find(|e| e["id"] == eid).unwrap().clone();
        assert_eq!(restitution["contributions"][0]["ambitions"], serde_json::json!([1]));

        let r = send_json(&app, "POST", &format!("{base}/cooperation"), &api, &serde_json::json!({"personne": "Léa Petit", "employeur": "CABBALR", "etp_centiemes": 80, "debut": "2026-01-01", "financement": "Au titre du pilotage de la CTG"}), false).await;
        assert_eq!(r.status, 201, "{}", r.body);
        let posts = get(&app, &format!("{base}/cooperation")).await.json();
        assert_eq!(posts[0]["personne"], serde_json::Value::Null, "a name is not for the public");
        assert_eq!(posts[0]["pourvu"], true);
        assert_eq!(posts[0]["etp_centiemes"], 80);
        let posts = get_as(&app, &format!("{base}/cooperation"), &api).await.json();
        assert_eq!(posts[0]["personne"], "Léa Petit");

        // The OpenAPI document describes them.
        let doc = get(&app, "/api/v1/openapi.json").await.json();
        for p in [
            "/api/v1/conventions/{id}/instances",
            "/api/v1/conventions/{id}/seances/{seance}/presences",
            "/api/v1/conventions/{id}/concertation",
            "/api/v1/conventions/{id}/cooperation",
            "/api/v1/conventions/{id}/decisions/{decision}/cloture",
        ] {
            assert!(doc["paths"][p].is_object(), "{p} missing from the OpenAPI document");
        }
    }
});

backend_tests!(the_chargés_de_coopération, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let who = coordinator(&app, &store, id).await;
        let page = get(&app, &format!("/conventions/{id}/cooperation")).await;
        assert_eq!(page.status, 200);
        assert_eq!(count(&page.html(), "#aucun-poste"), 1, "the demo has no post: art. 7-b gives no figure");
        let r = post_form(
            &app,
            &format!("/conventions/{id}/cooperation"),
            &who,
            &[
                ("person", "Léa Petit"),
                ("employer", "CABBALR"),
                ("fte", "0,8"),
                ("start", "2026-01-01"),
                ("end", "2030-12-31"),
                ("funding", "Pilotage de la CTG"),
                ("amount", "25 000"),
                ("funder", "CAF"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r = post_form(
            &app,
            &format!("/conventions/{id}/cooperation"),
            &who,
            &[("employer", "CAF"), ("fte", "1,5"), ("start", "2026-01-01")],
        )
        .await;
        assert_eq!(r.status, 400);
        assert_eq!(count(&r.html(), "#fte[aria-invalid=true]"), 1);
        let page = get_as(&app, &format!("/conventions/{id}/cooperation"), &who).await;
        assert_eq!(texts(&page.html(), "#postes tbody th"), ["Léa Petit"]);
        assert_eq!(texts(&page.html(), "#etp-du-jour"), ["0,8 ETP"]);
        let amount = texts(&page.html(), "#postes tbody td").into_iter().find(|t| t.contains('€')).unwrap();
        assert_eq!(digits(&amount), "25000,00", "{amount}");
        assert!(amount.ends_with("par an (CAF)"), "{amount}");
        let public = get(&app, &format!("/conventions/{id}/cooperation")).await;
        assert_eq!(texts(&public.html(), "#postes tbody th"), ["poste pourvu"]);
        // Edited from the version read, then refused from the same version.
        let post = store.coordination_posts(id).await.unwrap().remove(0);
        let edit = format!("/conventions/{id}/cooperation/{}", post.id);
        let v = post.version.to_string();
        let fields =
            [("version", v.as_str()), ("person", ""), ("employer", "CABBALR"), ("fte", "1"), ("start", "2026-01-01")];
        let r = post_form(&app, &edit, &who, &fields).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r = post_form(&app, &edit, &who, &fields).await;
        assert_eq!(r.status, 409, "{}", r.body);
        let page = get_as(&app, &format!("/conventions/{id}/cooperation"), &who).await;
        assert_eq!(texts(&page.html(), "#postes tbody th"), ["poste vacant"]);
    }
});
