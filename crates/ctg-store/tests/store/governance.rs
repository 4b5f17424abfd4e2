//! Governance in storage, on SQLite and PostgreSQL, on the demo convention: bodies and their members
//! current on a day, meetings with agenda, attendance, decisions and minutes, open decisions sorted
//! with those overdue, the iCalendar export read back by a parser, the concertation of the demo file
//! and its totals, contributions and their links, coordination posts, and versions refused when stale.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use ctg_domain::governance::{
    totals_by_category, totals_by_kind, AgendaItem, AgendaLink, Attendance, AttendanceStatus, ConcertationKind,
    MemberRole, NewContribution, NewDecision, NewMeeting, NewMember, NewPost, ParticipantCategory,
};
use ctg_domain::plan::{FicheStatus, NewFiche};
use ctg_domain::{Body, BodyKind};
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, parse_concertation, HistoryFilter, StoreError};
use icalendar::{CalendarDateTime, Component, DatePerhapsTime, EventLike};

use crate::fixtures::{actor, demo, read};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn t(s: &str) -> NaiveTime {
    NaiveTime::parse_from_str(s, "%H:%M").unwrap()
}

fn member(name: &str, role: MemberRole, joined: &str, left: Option<&str>) -> NewMember {
    NewMember {
        name: name.into(),
        organisation: "CAF du Pas-de-Calais".into(),
        function: "Conseiller(ère) territorial(e)".into(),
        role,
        joined: d(joined),
        left: left.map(d),
    }
}

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

fn expect_stale<T: std::fmt::Debug>(result: Result<T, StoreError>, action: &str) {
    match result {
        Err(StoreError::Stale { last_change: Some(entry), .. }) => assert_eq!(entry.action, action),
        other => panic!("expected a stale version, got {other:?}"),
    }
}

backend_tests!(bodies_have_members_current_on_a_day, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let id = demo(&store).await;
        let bodies = store.bodies(id).await.unwrap();
        let kinds: Vec<BodyKind> = bodies.iter().map(|b| b.body.kind).collect();
        assert_eq!(
            kinds,
            [BodyKind::SteeringRestricted, BodyKind::SteeringExtended, BodyKind::Technical, BodyKind::SteeringLocal]
        );
        assert!(bodies.iter().all(|b| b.members.is_empty() && b.version == 1));

        // A thematic commission is added after the bodies of the convention.
        let commission = Body {
            kind: BodyKind::ThematicCommission,
            name: " Commission petite enfance ".into(),
            description: Some("Suivi des fiches de l'ambition 1".into()),
        };
        let commission_id = store.add_body(&actor(), id, &commission).await.unwrap();
        let added = store.body(id, commission_id).await.unwrap();
        assert_eq!((added.position, added.body.name.as_str()), (4, "Commission petite enfance"));
        assert!(store
            .add_body(&actor(), id, &Body { name: " ".into(), ..commission.clone() })
            .await
            .unwrap_err()
            .to_string()
            .contains("vide"));
        let renamed = Body { name: "Commission petite enfance et parentalité".into(), ..commission.clone() };
        assert_eq!(store.update_body(&actor(), id, commission_id, 1, &renamed).await.unwrap(), 2);
        expect_stale(store.update_body(&actor(), id, commission_id, 1, &renamed).await, "modification");

        let copil = bodies[0].id;
        let chair = store
            .add_member(&actor(), id, copil, member("Olivier Gacquerre", MemberRole::CoChair, "2026-01-01", None))
            .await
            .unwrap();
        let leaving = store
            .add_member(
                &actor(),
                id,
                copil,
                member("Bernard Aubry", MemberRole::Member, "2026-01-01", Some("2027-07-01")),
            )
            .await
            .unwrap();
        let newcomer = store
            .add_member(&actor(), id, copil, member("Anne Carpentier", MemberRole::Member, "2027-07-01", None))
            .await
            .unwrap();
        let body = store.body(id, copil).await.unwrap();
        // Chairs first, then by name.
        assert_eq!(body.members.iter().map(|m| m.id).collect::<Vec<_>>(), [chair, newcomer, leaving]);
        let current = |day: &str| body.current_members(d(day)).iter().map(|m| m.id).collect::<Vec<_>>();
        assert_eq!(current("2025-12-31"), Vec::<i64>::new());
        assert_eq!(current("2026-06-01"), [chair, leaving]);
        assert_eq!(current("2027-06-30"), [chair, leaving]);
        assert_eq!(current("2027-07-01"), [chair, newcomer]);

        // A leaving date is set from the version read; the same edit from the old version is refused.
        let edit = member("Anne Carpentier", MemberRole::Member, "2027-07-01", Some("2029-01-01"));
        assert_eq!(store.update_member(&actor(), id, newcomer, 1, edit.clone()).await.unwrap(), 2);
        expect_stale(store.update_member(&actor(), id, newcomer, 1, edit.clone()).await, "modification");
        let err = store
            .update_member(
                &actor(),
                id,
                newcomer,
                2,
                member("Anne Carpentier", MemberRole::Member, "2027-07-01", Some("2027-01-01")),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("précède"), "{err}");
        // Another convention does not see this body or its members.
        let other = store.conventions().await.unwrap().into_iter().find(|c| c.id != id).unwrap().id;
        assert!(matches!(store.add_member(&actor(), other, copil, edit.clone()).await, Err(StoreError::NotFound(_))));
        assert!(matches!(store.update_member(&actor(), other, newcomer, 2, edit).await, Err(StoreError::NotFound(_))));
        // Every write went to the trail.
        let trail = store
            .history(&HistoryFilter { object_type: Some("membre_instance".into()), ..HistoryFilter::default() })
            .await
            .unwrap();
        assert_eq!(trail.len(), 4);
    }
});

backend_tests!(meetings_attendance_decisions_and_calendar, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let id = demo(&store).await;
        let body = store.bodies(id).await.unwrap().into_iter().find(|b| b.body.kind == BodyKind::Technical).unwrap();
        let members: Vec<i64> = {
            let mut ids = Vec::new();
            for (name, left) in [
                ("Claire Martin", None),
                ("Paul Durand", None),
                ("Julie Lefebvre", None),
                ("Marc Petit", Some("2026-02-01")),
            ] {
                let m = member(name, MemberRole::Member, "2026-01-01", left);
                ids.push(store.add_member(&actor(), id, body.id, m).await.unwrap());
            }
            ids
        };
        let fiche_id = store.create_fiche(&actor(), id, fiche("PE-1")).await.unwrap();
        let other_fiche = store.create_fiche(&actor(), id, fiche("PE-2")).await.unwrap();

        let first = NewMeeting {
            title: Some("Lancement, calendrier; méthode".into()),
            date: d("2026-03-12"),
            start: t("14:00"),
            end: t("16:30"),
            place: Some("Béthune, hôtel communautaire".into()),
            video_link: None,
        };
        let m1 = store.create_meeting(&actor(), id, body.id, first.clone()).await.unwrap();
        let second = NewMeeting {
            title: None,
            date: d("2026-10-08"),
            start: t("09:30"),
            end: t("12:00"),
            place: None,
            video_link: Some("https://visio.example.org/cto".into()),
        };
        let m2 = store.create_meeting(&actor(), id, body.id, second).await.unwrap();
        assert!(store
            .create_meeting(&actor(), id, body.id, NewMeeting { end: t("13:00"), ..first.clone() })
            .await
            .unwrap_err()
            .to_string()
            .contains("fin"));

        // The agenda, with typed links to the plan; a link outside the convention is refused.
        let agenda = vec![
            AgendaItem { title: "Bilan de la CTG 1, et suites".into(), links: vec![AgendaLink::Fiche(fiche_id)] },
            AgendaItem { title: "Calendrier des comités".into(), links: vec![] },
        ];
        let v = store.set_agenda(&actor(), id, m1, 1, &agenda).await.unwrap();
        assert_eq!(v, 2);
        let err = store
            .set_agenda(
                &actor(),
                id,
                m1,
                v,
                &[AgendaItem { title: "x".into(), links: vec![AgendaLink::Document(999)] }],
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("document n° 999"), "{err}");
        expect_stale(store.set_agenda(&actor(), id, m1, 1, &agenda).await, "modification");

        // Attendance: present and represented over invited.
        let a =
            |member_id, status, by: Option<&str>| Attendance { member_id, status, represented_by: by.map(Into::into) };
        let attendance = vec![
            a(members[0], AttendanceStatus::Present, None),
            a(members[1], AttendanceStatus::Represented, Some("Sophie Roux, adjointe")),
            a(members[2], AttendanceStatus::Excused, None),
        ];
        let v = store.set_attendance(&actor(), id, m1, v, &attendance).await.unwrap();
        assert_eq!(v, 3);
        // Marc Petit left on 1 February: he is no member on 12 March.
        let err = store
            .set_attendance(&actor(), id, m1, v, &[a(members[3], AttendanceStatus::Invited, None)])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("Marc Petit"), "{err}");
        let v = store.set_minutes(&actor(), id, m1, v, Some("  Le comité valide la méthode.  ")).await.unwrap();
        expect_stale(store.set_minutes(&actor(), id, m1, v - 1, None).await, "modification");
        let v = store
            .update_meeting(
                &actor(),
                id,
                m1,
                v,
                NewMeeting { place: Some("Béthune, salle du conseil".into()), ..first.clone() },
            )
            .await
            .unwrap();
        assert_eq!(v, 5);
        expect_stale(store.update_meeting(&actor(), id, m1, 4, first.clone()).await, "modification");

        let meeting = store.meeting(id, m1).await.unwrap();
        assert_eq!(meeting.version, 5);
        assert_eq!(meeting.agenda, agenda);
        assert_eq!(meeting.minutes.as_deref(), Some("Le comité valide la méthode."));
        let summary = meeting.attendance_summary();
        assert_eq!((summary.invited, summary.present, summary.represented, summary.excused), (3, 1, 1, 1));
        assert_eq!(summary.share(), Some(66.7));
        assert!(summary.reaches(1, 2) && !summary.reaches(3, 4));

        // Decisions: open until closed, listed by due date, overdue flagged on a day.
        let decision = |text: &str, fiches: Vec<i64>, due: Option<&str>| NewDecision {
            text: text.into(),
            fiches,
            follow_up: "Chargée de coopération".into(),
            due: due.map(d),
        };
        let late = store
            .add_decision(&actor(), id, m1, decision("Réunir les RPE", vec![fiche_id], Some("2026-04-30")))
            .await
            .unwrap();
        let later = store
            .add_decision(&actor(), id, m1, decision("Mettre à jour le diagnostic", vec![], Some("2026-09-30")))
            .await
            .unwrap();
        let undated =
            store.add_decision(&actor(), id, m2, decision("Préparer le bilan annuel", vec![], None)).await.unwrap();
        let closed = store
            .add_decision(&actor(), id, m1, decision("Diffuser le compte rendu", vec![other_fiche], Some("2026-03-20")))
            .await
            .unwrap();
        assert!(store
            .add_decision(&actor(), id, m1, decision("x", vec![424_242], None))
            .await
            .unwrap_err()
            .to_string()
            .contains("424242"));
        let err = store.close_decision(&actor(), id, closed, 1, d("2026-03-01")).await.unwrap_err();
        assert!(err.to_string().contains("précède"), "{err}");
        assert_eq!(store.close_decision(&actor(), id, closed, 1, d("2026-03-18")).await.unwrap(), 2);
        expect_stale(store.close_decision(&actor(), id, closed, 1, d("2026-03-19")).await, "modification");
        assert!(store
            .close_decision(&actor(), id, closed, 2, d("2026-03-19"))
            .await
            .unwrap_err()
            .to_string()
            .contains("déjà close"));
        let moved = decision("Mettre à jour le diagnostic", vec![fiche_id], Some("2026-12-31"));
        assert_eq!(store.update_decision(&actor(), id, later, 1, moved.clone()).await.unwrap(), 2);
        expect_stale(store.update_decision(&actor(), id, later, 1, moved).await, "modification");

        let open = store.open_decisions(id, d("2026-05-15")).await.unwrap();
        assert_eq!(open.iter().map(|o| o.decision.id).collect::<Vec<_>>(), [late, later, undated]);
        assert_eq!(open.iter().map(|o| o.overdue).collect::<Vec<_>>(), [true, false, false]);
        assert_eq!(open[0].days_overdue, 15);
        assert_eq!(
            (open[0].body_name.as_str(), open[0].meeting_date),
            ("Comité technique opérationnel", d("2026-03-12"))
        );
        assert_eq!(open[0].decision.data.fiches, [fiche_id]);
        assert_eq!(open[1].decision.data.fiches, [fiche_id]);
        // Before its closing day, the closed decision was open; from that day on it is not.
        let back = store.open_decisions(id, d("2026-03-17")).await.unwrap();
        assert_eq!(
            back.iter().map(|o| (o.decision.id, o.overdue)).collect::<Vec<_>>(),
            [(closed, false), (late, false), (later, false), (undated, false)]
        );
        let on_closing = store.open_decisions(id, d("2026-03-18")).await.unwrap();
        assert_eq!(on_closing.iter().map(|o| o.decision.id).collect::<Vec<_>>(), [late, later, undated]);

        // The meetings, by body and by convention.
        assert_eq!(
            store.meetings_of_body(id, body.id).await.unwrap().iter().map(|m| m.id).collect::<Vec<_>>(),
            [m1, m2]
        );
        assert_eq!(store.meetings(id).await.unwrap().len(), 2);
        let other = store.conventions().await.unwrap().into_iter().find(|c| c.id != id).unwrap().id;
        assert!(store.meetings(other).await.unwrap().is_empty());
        assert!(matches!(store.meeting(other, m1).await, Err(StoreError::NotFound(_))));

        // The iCalendar export, read back by a parser.
        let now = DateTime::parse_from_rfc3339("2026-02-01T08:30:00Z").unwrap().with_timezone(&Utc);
        let ics = store.body_icalendar(id, body.id, now).await.unwrap();
        assert!(ics.split_inclusive('\n').all(|l| l.ends_with("\r\n")), "CRLF line ends");
        assert!(ics.split("\r\n").all(|l| l.len() <= 75), "lines folded at 75 octets");
        let unfolded = icalendar::parser::unfold(&ics);
        let raw = icalendar::parser::read_calendar(&unfolded).unwrap();
        let prop =
            |name: &str| raw.properties.iter().find(|p| p.name.as_str() == name).map(|p| p.val.as_str().to_owned());
        assert_eq!(prop("VERSION").as_deref(), Some("2.0"));
        assert!(prop("PRODID").is_some());
        let tz = raw.components.iter().find(|c| c.name.as_str() == "VTIMEZONE").expect("a VTIMEZONE");
        assert_eq!(tz.find_prop("TZID").map(|p| p.val.as_str()), Some("Europe/Paris"));
        let calendar = icalendar::Calendar::from_str(&ics).unwrap();
        let events: Vec<&icalendar::Event> = calendar.events().collect();
        assert_eq!(events.len(), 2);
        let e = events[0];
        assert_eq!(e.get_uid(), Some(format!("ctg-reunion-{m1}@plateforme-ctg").as_str()));
        assert_eq!(e.get_summary(), Some("Comité technique opérationnel : Lancement, calendrier; méthode"));
        assert_eq!(e.get_location(), Some("Béthune, salle du conseil"));
        assert_eq!(e.get_sequence(), Some(4));
        assert_eq!(e.get_timestamp(), Some(now));
        let paris = |s: &str| {
            Some(DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone {
                date_time: chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap(),
                tzid: "Europe/Paris".into(),
            }))
        };
        assert_eq!(e.get_start(), paris("2026-03-12 14:00"));
        assert_eq!(e.get_end(), paris("2026-03-12 16:30"));
        assert_eq!(
            e.get_description(),
            Some("Ordre du jour :\n1. Bilan de la CTG 1, et suites\n2. Calendrier des comités")
        );
        let e = events[1];
        assert_eq!(e.get_url(), Some("https://visio.example.org/cto"));
        assert_eq!(e.get_location(), None);
        assert_eq!(e.get_summary(), Some("Comité technique opérationnel"));
        assert_eq!(e.get_start(), paris("2026-10-08 09:30"));
        // The UID of a meeting does not change from one export to the next.
        let again = store.body_icalendar(id, body.id, Utc::now()).await.unwrap();
        let again = icalendar::Calendar::from_str(&again).unwrap();
        assert_eq!(
            again.events().map(|e| e.get_uid().unwrap().to_owned()).collect::<Vec<_>>(),
            events.iter().map(|e| e.get_uid().unwrap().to_owned()).collect::<Vec<_>>()
        );
    }
});

backend_tests!(concertation_of_the_demo_file, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let id = demo(&store).await;
        let file = parse_concertation("concertation.json", &read("demo/concertation.json")).unwrap();
        assert!(file.note.as_deref().is_some_and(|n| n.contains("nombre")));
        let done = store.import_concertation(&actor(), id, &file.entries).await.unwrap();
        assert_eq!((done.created, done.updated, done.contributions), (5, 0, 0));
        let events = store.concertation(id).await.unwrap();
        assert_eq!(events.len(), 5);

        // Annex 2: 18 focus groups with 174 inhabitants, 4 working groups with 104 partners, a seminar
        // with 50 representatives of 28 communes, 4 interviews, 4 half-days with about 100 people.
        let all = totals_by_category(&events);
        assert_eq!((all.inhabitants, all.partners, all.elected, all.unattributed), (174, 104, 50, 100));
        assert!(all.approximate);
        let by_kind = totals_by_kind(&events);
        let kind = |k: ConcertationKind| by_kind.iter().find(|t| t.kind == k).unwrap();
        assert_eq!(
            (kind(ConcertationKind::FocusGroup).events, kind(ConcertationKind::FocusGroup).participants.inhabitants),
            (18, 174)
        );
        assert_eq!(
            (kind(ConcertationKind::WorkingGroup).events, kind(ConcertationKind::WorkingGroup).participants.partners),
            (4, 104)
        );
        assert_eq!(
            (kind(ConcertationKind::Interview).events, kind(ConcertationKind::Interview).participants.all()),
            (4, 0)
        );
        assert_eq!(kind(ConcertationKind::Seminar).participants.elected, 50);
        let seminar = events.iter().find(|e| e.data.kind == ConcertationKind::Seminar).unwrap();
        assert_eq!(seminar.data.communes_taking_part(), Some(28));
        let sessions = kind(ConcertationKind::ParticipatorySession);
        assert_eq!(
            (sessions.events, sessions.participants.unattributed, sessions.participants.approximate),
            (4, 100, true)
        );
        assert!(!by_kind.iter().any(|k| k.kind == ConcertationKind::PublicMeeting));
        assert_eq!(events[0].data.start, d("2025-01-01"));

        // Read twice, the file counts once.
        let again = store.import_concertation(&actor(), id, &file.entries).await.unwrap();
        assert_eq!((again.created, again.updated), (0, 5));
        assert_eq!(store.concertation(id).await.unwrap().len(), 5);

        // A contribution, linked to the ambitions and fiches that answer it.
        let focus = events.iter().find(|e| e.data.kind == ConcertationKind::FocusGroup).unwrap();
        let contribution = NewContribution {
            text: "Des horaires d'accueil adaptés aux parents qui travaillent en décalé".into(),
            author: Some(ParticipantCategory::Inhabitants),
            theme: Some("petite enfance".into()),
            ambitions: vec![1],
            fiches: vec![],
        };
        let c = store.add_contribution(&actor(), id, focus.id, contribution.clone()).await.unwrap();
        let fiche_id = store.create_fiche(&actor(), id, fiche("PE-1")).await.unwrap();
        assert_eq!(store.link_contribution(&actor(), id, c, 1, (&[1, 3], &[fiche_id])).await.unwrap(), 2);
        expect_stale(store.link_contribution(&actor(), id, c, 1, (&[1], &[])).await, "modification");
        let err = store.link_contribution(&actor(), id, c, 2, (&[9], &[])).await.unwrap_err();
        assert!(err.to_string().contains("n° 9"), "{err}");
        let stored = store.concertation_event(id, focus.id).await.unwrap();
        assert_eq!(stored.contributions.len(), 1);
        assert_eq!(
            (stored.contributions[0].data.ambitions.as_slice(), stored.contributions[0].data.fiches.as_slice()),
            (&[1, 3][..], &[fiche_id][..])
        );
        assert!(stored.contributions[0].data.is_answered());
        // The event is changed from the version read (its contributions stay).
        let mut edit = stored.data.clone();
        edit.themes = vec!["petite enfance".into(), "parentalité".into()];
        edit.communes = vec![ctg_domain::InseeCode::parse("62119").unwrap()];
        let v = store.update_concertation_event(&actor(), id, focus.id, stored.version, edit.clone()).await.unwrap();
        expect_stale(
            store.update_concertation_event(&actor(), id, focus.id, v - 1, edit.clone()).await,
            "modification",
        );
        edit.communes = vec![ctg_domain::InseeCode::parse("62999").unwrap()];
        assert!(matches!(
            store.update_concertation_event(&actor(), id, focus.id, v, edit).await,
            Err(StoreError::UnknownCommunes(_))
        ));
        let stored = store.concertation_event(id, focus.id).await.unwrap();
        assert_eq!((stored.data.themes.len(), stored.contributions.len()), (2, 1));
        // An import with the same contribution does not add it twice.
        let mut entries = file.entries.clone();
        let entry = entries.iter_mut().find(|e| e.event.kind == ConcertationKind::FocusGroup).unwrap();
        entry.event = stored.data.clone();
        entry.contributions = vec![contribution];
        let third = store.import_concertation(&actor(), id, &entries).await.unwrap();
        assert_eq!((third.created, third.updated, third.contributions), (0, 5, 0));
        // A new event by hand.
        let public = ctg_domain::governance::NewConcertationEvent {
            kind: ConcertationKind::PublicMeeting,
            title: "Réunion publique de restitution".into(),
            start: d("2026-02-10"),
            end: None,
            occurrences: 1,
            communes: vec![],
            commune_count: None,
            participants: Default::default(),
            themes: vec![],
            note: None,
        };
        store.create_concertation_event(&actor(), id, public).await.unwrap();
        assert_eq!(store.concertation(id).await.unwrap().len(), 6);
    }
});

backend_tests!(coordination_posts_are_versioned, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let id = demo(&store).await;
        let post = NewPost {
            person: None,
            employer: "Communauté d'Agglomération de Béthune-Bruay, Artois Lys Romane".into(),
            fte_hundredths: 100,
            start: d("2026-01-01"),
            end: Some(d("2030-12-31")),
            funding: "Financement au titre du pilotage pour la durée de la CTG 2026-2030".into(),
            amount_cents: None,
            funder: None,
        };
        let p = store.create_post(&actor(), id, post.clone()).await.unwrap();
        assert!(store
            .create_post(&actor(), id, NewPost { fte_hundredths: 0, ..post.clone() })
            .await
            .unwrap_err()
            .to_string()
            .contains("quotité"));
        let filled = NewPost {
            person: Some("Claire Martin".into()),
            amount_cents: Some(2_500_000),
            funder: Some("CAF du Pas-de-Calais".into()),
            ..post.clone()
        };
        assert_eq!(store.update_post(&actor(), id, p, 1, filled.clone()).await.unwrap(), 2);
        expect_stale(store.update_post(&actor(), id, p, 1, filled.clone()).await, "modification");
        let posts = store.coordination_posts(id).await.unwrap();
        assert_eq!(posts.len(), 1);
        assert_eq!((posts[0].version, &posts[0].data), (2, &filled));
        assert_eq!(ctg_domain::governance::fte_on(&posts, d("2027-01-01"), None), 100);
        let other = store.conventions().await.unwrap().into_iter().find(|c| c.id != id).unwrap().id;
        assert!(store.coordination_posts(other).await.unwrap().is_empty());
        assert!(matches!(store.update_post(&actor(), other, p, 2, filled).await, Err(StoreError::NotFound(_))));
    }
});

#[test]
fn a_concertation_file_names_each_faulty_event() {
    let bytes = br#"{"evenements": [
        {"nature": "seminaire", "intitule": "Seminaire", "debut": "2025-02-01"},
        {"nature": "colloque", "intitule": "Colloque", "debut": "2025-02-01"},
        {"nature": "focus_group", "intitule": "Focus", "debut": "2025-03-01", "fin": "2025-02-01"},
        {"nature": "entretien", "intitule": "Entretien", "debut": "2025-03-01", "contributions": [{"texte": " "}]}
    ]}"#;
    let err = parse_concertation("c.json", bytes).unwrap_err().to_string();
    assert!(err.contains("événement n° 2") && err.contains("colloque"), "{err}");
    assert!(err.contains("événement n° 3") && err.contains("précède"), "{err}");
    assert!(err.contains("événement n° 4, contribution n° 1"), "{err}");
    assert!(!err.contains("événement n° 1 "), "{err}");
    let ok = parse_concertation(
        "c.json",
        br#"{"evenements": [{"nature": "seminaire", "intitule": "S", "debut": "2025-02-01",
        "contributions": [{"texte": "Plus de places", "auteur": "habitants", "ambitions": [1]}]}]}"#,
    )
    .unwrap();
    assert_eq!(ok.entries[0].contributions[0].author, Some(ParticipantCategory::Inhabitants));
    assert_eq!(ok.entries[0].event.occurrences, 1);
}
