//! Reminders by e-mail, sent to a real SMTP server that the test starts (aiosmtpd, the Python named by
//! `CTG_AIOSMTPD`, running `scripts/smtp-test-server.py`, which writes each message received as JSON):
//! recipients, subjects, bodies in plain text and HTML, the `.ics` of a meeting read back by the
//! iCalendar parser of the iCal tests, the unsubscribe link, one mail per reminder with two workers
//! and the SMTP server stopped then restarted in the middle; and two real `ctg serve` on one
//! PostgreSQL database, used in turn (point 4 of issue 16). Every test here has `smtp` in its name,
//! so that `./test.sh` skips them, and says so, when aiosmtpd is missing.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveTime};
use ctg_domain::governance::{MemberRole, NewMeeting, NewMember};
use ctg_domain::reminders::{Frequency, ReminderKind};
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, AgreementEdit, AgreementStep, NewAgreementStep, Store};
use ctg_web::mail::{MailConfig, Worker};
use ctg_web::AppState;
use icalendar::{CalendarDateTime, Component, DatePerhapsTime, EventLike};
use serde_json::Value;

use crate::common::*;

/// An aiosmtpd server on a port of its own, writing what it receives into a temporary directory.
pub(crate) struct Smtp {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Smtp {
    pub(crate) async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut s = Self { child: None, port, dir: tempfile::tempdir().unwrap() };
        s.restart().await;
        s
    }

    pub(crate) async fn restart(&mut self) {
        let python = std::env::var("CTG_AIOSMTPD").unwrap_or_else(|_| {
            panic!("CTG_AIOSMTPD n'est pas défini : ce test demande aiosmtpd (CTG_AIOSMTPD=$(./scripts/smtp-venv.sh) ; ./test.sh le trouve seul ou saute la suite)")
        });
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/smtp-test-server.py");
        let child = Command::new(&python)
            .arg(script)
            .arg(self.port.to_string())
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("impossible de lancer {python} : {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd ne répond pas sur le port {}", self.port);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops the server (SIGKILL) and waits until its port refuses connections.
    pub(crate) async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
            assert!(Instant::now() < deadline, "aiosmtpd ne s'arrête pas");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every message received so far.
    pub(crate) fn received(&self) -> Vec<Value> {
        let mut out: Vec<Value> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .map(|e| serde_json::from_str(&std::fs::read_to_string(e.path()).unwrap()).unwrap())
            .collect();
        out.sort_by(|a, b| a["message_id"].as_str().cmp(&b["message_id"].as_str()));
        out
    }

    fn config(&self) -> MailConfig {
        MailConfig {
            smtp_url: Some(format!("smtp://127.0.0.1:{}", self.port)),
            credentials: None,
            sender: Some("Plateforme CTG <ctg@caf62.test>".into()),
            public_url: Some("http://ctg.test/".into()),
            interval: Duration::from_secs(1),
            retry_base: Duration::from_millis(200),
        }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

/// Claire Coordination, member of the first body of convention `id`; returns the body's id and name.
async fn claire_in_a_body(store: &Store, id: i64) -> (i64, String) {
    let actor = ctg_domain::Actor::cli("test");
    let body = store.bodies(id).await.unwrap().remove(0);
    let member = NewMember {
        name: "Claire Coordination".into(),
        organisation: "Communauté d'agglomération".into(),
        function: "Chargée de coopération CTG".into(),
        role: MemberRole::Member,
        joined: date(2020, 1, 1),
        left: None,
    };
    store.add_member(&actor, id, body.id, member).await.unwrap();
    (body.id, body.body.name)
}

async fn meeting(store: &Store, id: i64, body: i64, title: &str, day: NaiveDate) -> i64 {
    let actor = ctg_domain::Actor::cli("test");
    let m = NewMeeting {
        title: Some(title.into()),
        date: day,
        start: hm(14, 0),
        end: hm(16, 30),
        place: Some("Béthune, salle 2".into()),
        video_link: None,
    };
    store.create_meeting(&actor, id, body, m).await.unwrap()
}

/// A data-exchange agreement between the CAF and the intercommunality, signed, ending on `end`.
async fn signed_agreement(store: &Store, id: i64, p: &People, start: NaiveDate, end: NaiveDate) -> i64 {
    let actor = ctg_domain::Actor::cli("test");
    let edit = AgreementEdit {
        title: "Listes d'attente des crèches".into(),
        party_ids: vec![p.caf_party, p.epci_party],
        proposer_party_id: p.caf_party,
        data_categories: "demandes de place en crèche".into(),
        purpose: "attribuer les places".into(),
        legal_basis: "mission d'intérêt public".into(),
        start_date: Some(start),
        end_date: Some(end),
    };
    let aid = store.create_agreement(&actor, id, &edit, start, "Camille Contributrice").await.unwrap();
    for (step, party) in [(AgreementStep::Reviewed, Some(p.epci_party)), (AgreementStep::Signed, None)] {
        let version = store.agreements(id).await.unwrap().into_iter().find(|a| a.id == aid).unwrap().version;
        let s = NewAgreementStep {
            step,
            done_on: start,
            done_by: "Délégué à la protection des données".into(),
            party_id: party,
            note: None,
        };
        store.record_agreement_step(&actor, id, aid, version, &s).await.unwrap();
    }
    aid
}

fn to<'a>(mails: &'a [Value], email: &str) -> Vec<&'a Value> {
    mails.iter().filter(|m| m["rcpt_tos"] == serde_json::json!([email])).collect()
}

fn subject(m: &Value) -> &str {
    m["subject"].as_str().unwrap()
}

fn unsubscribe_path(m: &Value) -> String {
    let text = m["text"].as_str().unwrap();
    let start = text.find("http://ctg.test/desabonnement/").expect("an unsubscribe link") + "http://ctg.test".len();
    text[start..].split_whitespace().next().unwrap().to_owned()
}

/// Message-IDs are made from the outbox row: a mail sent twice would show its id twice.
fn assert_each_once(mails: &[Value]) {
    let ids: BTreeSet<&str> = mails.iter().map(|m| m["message_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), mails.len(), "a mail arrived twice: {:#?}", mails.iter().map(subject).collect::<Vec<_>>());
}

backend_tests!(smtp_reminders_reach_the_people_concerned, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let p = people(&store, id).await;

        // Without the settings, the account page says plainly that no mail is sent.
        let camille = login(&app, "contributrice", "camille@caf.fr", PASSWORD).await;
        let page = get_as(&app, "/compte", &camille).await;
        let notice = texts(&page.html(), "#rappels [role=status]").join(" ");
        assert!(notice.starts_with("L'envoi de courriels n'est pas configuré sur ce serveur"), "{}", page.body);
        // Camille chooses: late fiches at once, missing values in a weekly digest.
        let mut choices: Vec<(&str, &str)> = ReminderKind::ALL.iter().map(|k| (k.code(), "immediat")).collect();
        choices.retain(|(k, _)| *k != "valeur_manquante");
        let bad: Vec<(&str, &str)> = choices.iter().copied().chain([("valeur_manquante", "parfois")]).collect();
        let r = post_form(&app, "/compte/rappels", &camille, &bad).await;
        assert_eq!(r.status, 400);
        assert!(r.body.contains("fréquence inconnue"), "{}", r.body);
        choices.push(("valeur_manquante", "hebdomadaire"));
        let r = post_form(&app, "/compte/rappels", &camille, &choices).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let chosen = store.mail_preferences(p.contributor_id).await.unwrap();
        assert!(chosen.contains(&(ReminderKind::MissingValue, Frequency::Weekly)));
        assert!(chosen.contains(&(ReminderKind::LateFiche, Frequency::Immediate)));

        // A fiche of the CAF past its end, with an indicator waiting for its 2025 value.
        let coordination = login(&app, "coordination", "claire@cabbalr.fr", PASSWORD).await;
        let r = post_form(
            &app,
            &format!("/conventions/{id}/plan/fiches"),
            &coordination,
            &[
                ("code", "PE-9"),
                ("title", "Ouvrir un relais petite enfance"),
                ("ambitions", "1"),
                ("pilot_organisation", "CAF"),
                ("start", "2026-01-01"),
                ("end", "2026-06-30"),
                ("status", "en_cours"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let fiche_path = r.headers["location"].to_str().unwrap().to_owned();
        let r = post_form(
            &app,
            &format!("{fiche_path}/indicateurs"),
            &coordination,
            &[
                ("name", "Familles accueillies au relais"),
                ("nature", "quantitatif"),
                ("unit", "familles"),
                ("baseline", "40"),
                ("baseline_year", "2024"),
                ("targets", "2025 : 60 ; 2026 : 80"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);

        // Claire sits on a body that meets in a week; an exchange agreement ends in 30 days.
        let (body, body_name) = claire_in_a_body(&store, id).await;
        let in_a_week = meeting(&store, id, body, "Revue du plan", date(2026, 12, 4)).await;
        signed_agreement(&store, id, &p, date(2026, 1, 1), date(2026, 12, 27)).await;

        let mut smtp = Smtp::start().await;
        let state = AppState::with_today(store.clone(), today()).with_mail(smtp.config());
        let worker = Worker::new(&state).unwrap().expect("mail is configured");
        let (found, sent) = worker.run_once(&state).await;
        let outbox = store.outbox().await.unwrap();
        assert!(found > 0 && sent > 0, "{found} found, {sent} sent");
        assert!(outbox.iter().all(|m| m.sent_at.is_some()), "{outbox:#?}");
        let mails = smtp.received();
        assert_eq!(mails.len(), outbox.len());
        assert_each_once(&mails);
        for m in &mails {
            assert_eq!(m["from"], "Plateforme CTG <ctg@caf62.test>");
            assert!(m["text"].as_str().unwrap().contains("/desabonnement/"), "{m}");
            assert!(m["html"].as_str().unwrap().contains("<a href=\"http://ctg.test/desabonnement/"), "{m}");
        }
        // Nobody without a part in what is reminded: neither the reader nor the administrator.
        assert!(to(&mails, "louis@ctg.fr").is_empty() && to(&mails, "alice@ctg.fr").is_empty());

        // The meeting, to its member, with its .ics.
        let claire = to(&mails, "claire@cabbalr.fr");
        let seance: Vec<_> = claire.iter().filter(|m| subject(m).starts_with("Séance")).collect();
        assert_eq!(seance.len(), 1, "{claire:#?}");
        let m = seance[0];
        assert_eq!(subject(m), format!("Séance dans 7 jours : {body_name} : Revue du plan, le 04/12/2026 à 14 h 00"));
        let text = m["text"].as_str().unwrap();
        assert!(text.starts_with("Bonjour Claire Coordination,"), "{text}");
        assert!(text.contains("lieu : Béthune, salle 2"), "{text}");
        assert!(text.contains(&format!("http://ctg.test/conventions/{id}/seances/{in_a_week}")), "{text}");
        assert!(m["html"].as_str().unwrap().contains("<p>Bonjour Claire Coordination,</p>"));
        let ics = &m["attachments"][0];
        assert_eq!(ics["filename"], format!("seance-{in_a_week}.ics"));
        assert_eq!(ics["content_type"], "text/calendar");
        let calendar: icalendar::Calendar = ics["content"].as_str().unwrap().parse().unwrap();
        let events: Vec<&icalendar::Event> = calendar.events().collect();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].get_uid(), Some(format!("ctg-reunion-{in_a_week}@plateforme-ctg").as_str()));
        assert_eq!(events[0].get_summary(), Some(format!("{body_name} : Revue du plan").as_str()));
        assert_eq!(events[0].get_location(), Some("Béthune, salle 2"));
        assert_eq!(
            events[0].get_start(),
            Some(DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone {
                date_time: date(2026, 12, 4).and_time(hm(14, 0)),
                tzid: "Europe/Paris".into(),
            }))
        );
        // The agreement, to the coordination.
        let accord: Vec<_> = claire.iter().filter(|m| subject(m).starts_with("Accord d'échange")).collect();
        assert_eq!(accord.len(), 1);
        assert!(accord[0]["text"].as_str().unwrap().contains("prend fin le 27/12/2026 (dans 30 jours)"));
        // The pilot: the late fiche at once, the missing value in the weekly digest.
        let camille_mails = to(&mails, "camille@caf.fr");
        assert_eq!(camille_mails.len(), 2, "{camille_mails:#?}");
        let late = camille_mails.iter().find(|m| subject(m).starts_with("Fiche en retard")).expect("a late fiche");
        assert_eq!(subject(late), "Fiche en retard : Fiche PE-9 : Ouvrir un relais petite enfance");
        let text = late["text"].as_str().unwrap();
        assert!(text.contains("Une fiche action que vous pilotez a dépassé sa date de fin"), "{text}");
        assert!(text.contains("échéance dépassée le 30/06/2026"), "{text}");
        assert!(text.contains(&format!("http://ctg.test{fiche_path}")), "{text}");
        let digest = camille_mails.iter().find(|m| subject(m).starts_with("Récapitulatif")).expect("a digest");
        assert_eq!(subject(digest), "Récapitulatif CTG de la semaine 2026-S48 : 1 rappel");
        let text = digest["text"].as_str().unwrap();
        assert!(text.contains("Valeur d'indicateur attendue : "), "{text}");
        assert!(text.contains("Indicateur : Familles accueillies au relais"), "{text}");
        assert!(text.contains("aucune valeur pour 2025"), "{text}");
        assert!(store.digest_items(p.contributor_id).await.unwrap().is_empty(), "carried by the digest");

        // A second run finds nothing new.
        assert_eq!(worker.run_once(&state).await, (0, 0));
        assert_eq!(smtp.received().len(), mails.len());

        // The SMTP server goes away; two workers find a new meeting at once: it is enqueued once,
        // its sending fails and is put off, then done once the server is back.
        smtp.stop().await;
        let tomorrow = meeting(&store, id, body, "Séance extraordinaire", date(2026, 11, 28)).await;
        let state2 = AppState::with_today(store.clone(), today()).with_mail(smtp.config());
        let worker2 = Worker::new(&state2).unwrap().unwrap();
        let ((f1, s1), (f2, s2)) = tokio::join!(worker.run_once(&state), worker2.run_once(&state2));
        assert_eq!((f1 + f2, s1 + s2), (1, 0), "enqueued once, not sent");
        let waiting: Vec<_> = store.outbox().await.unwrap().into_iter().filter(|m| m.sent_at.is_none()).collect();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].attempts, 1);
        assert!(waiting[0].last_error.is_some(), "{:?}", waiting[0]);
        assert!(waiting[0].next_attempt_at > chrono::Utc::now() - chrono::Duration::seconds(1));
        smtp.restart().await;
        let deadline = Instant::now() + Duration::from_secs(20);
        while store.outbox().await.unwrap().iter().any(|m| m.sent_at.is_none()) {
            assert!(Instant::now() < deadline, "the mail put off is never sent");
            tokio::time::sleep(Duration::from_millis(250)).await;
            tokio::join!(worker.run_once(&state), worker2.run_once(&state2));
        }
        let all = smtp.received();
        assert_eq!(all.len(), mails.len() + 1);
        assert_each_once(&all);
        let new: Vec<_> =
            to(&all, "claire@cabbalr.fr").into_iter().filter(|m| subject(m).starts_with("Séance demain")).collect();
        assert_eq!(new.len(), 1);
        assert_eq!(new[0]["attachments"][0]["filename"], format!("seance-{tomorrow}.ics"));
        let row = store.outbox().await.unwrap().into_iter().find(|m| m.dedup_key == waiting[0].dedup_key).unwrap();
        assert!(row.attempts >= 2, "{row:?}");

        // The unsubscribe link works without login, once for its kind, then for all.
        let link = unsubscribe_path(m);
        let r = get(&app, &link).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let said = texts(&r.html(), "[role=status] p").join(" ");
        assert_eq!(
            said,
            "C'est fait : l'adresse claire@cabbalr.fr ne recevra plus les rappels « séances des instances dont vous êtes membre (une semaine et un jour avant) »."
        );
        let chosen = store.mail_preferences(p.coordinator_id).await.unwrap();
        assert!(chosen.contains(&(ReminderKind::Meeting, Frequency::Never)));
        assert!(chosen.contains(&(ReminderKind::AgreementEnding, Frequency::Immediate)));
        meeting(&store, id, body, "Séance de rattrapage", date(2026, 12, 1)).await;
        assert_eq!(worker.run_once(&state).await, (0, 0), "no more meeting reminders for Claire");
        let r = get(&app, &format!("{link}?tout=1")).await;
        assert_eq!(r.status, 200);
        assert!(texts(&r.html(), "[role=status] p").join(" ").contains("ne recevra plus aucun rappel"));
        let chosen = store.mail_preferences(p.coordinator_id).await.unwrap();
        assert!(chosen.iter().all(|(_, f)| *f == Frequency::Never));
        let r = get(&app, "/desabonnement/inconnu").await;
        assert_eq!(r.status, 404);
        assert!(r.body.contains("Ce lien de désabonnement est inconnu"));
    }
});

/// A plain HTTP/1.1 client for the two servers.
struct Http(hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, axum::body::Body>);

struct Answer {
    status: u16,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Http {
    fn new() -> Self {
        Self(hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http())
    }

    async fn send(&self, method: &str, url: &str, cookie: &str, form: &[(&str, &str)]) -> Answer {
        let mut req = axum::http::Request::builder().method(method).uri(url);
        if !cookie.is_empty() {
            req = req.header("cookie", cookie);
        }
        let body = if form.is_empty() {
            axum::body::Body::empty()
        } else {
            req = req.header("content-type", "application/x-www-form-urlencoded");
            axum::body::Body::from(
                form.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&"),
            )
        };
        let r = self.0.request(req.body(body).unwrap()).await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let bytes = axum::body::to_bytes(axum::body::Body::new(r.into_body()), 16 << 20).await.unwrap();
        Answer { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }
}

fn cookie_of(a: &Answer, name: &str) -> String {
    a.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next().filter(|kv| kv.starts_with(&format!("{name}="))).map(str::to_owned))
        .unwrap_or_else(|| panic!("no cookie {name}"))
}

/// A real `ctg serve` on `url`, its mail going to `smtp_port`.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(url: &str, smtp_port: u16) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ctg"))
            .args(["--database-url", url, "serve", "--addr", "127.0.0.1:0", "--sans-demo"])
            .args(["--smtp", &format!("smtp://127.0.0.1:{smtp_port}")])
            .args(["--smtp-expediteur", "Plateforme CTG <ctg@caf62.test>", "--url-publique", "http://ctg.test"])
            .args(["--rappels-intervalle", "1", "--rappels-reessai", "1"])
            .env("CTG_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start ctg serve");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("ctg serve says where it listens").unwrap();
            if let Some(rest) = line.strip_prefix("Plateforme CTG disponible sur ") {
                break rest.split('/').take(3).collect::<Vec<_>>().join("/");
            }
        };
        // The rest of its output is drained, so that it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Point 4 of issue 16: two `ctg serve` on one PostgreSQL database keep nothing of their own. A login
/// form served by one is posted to the other, the session then works on both; an edit on one makes
/// the same old version refused on the other; a logout on one ends the session on both; the outbox
/// workers of both, started while the SMTP server is away, send each reminder once when it is back.
#[tokio::test]
async fn smtp_two_servers_on_one_postgres_database() {
    let db = TestDb::new(ctg_store::Backend::Postgres).await;
    let store = db.store.clone();
    let id = ctg::demo::load(&store).await.unwrap().convention_id();
    let p = people(&store, id).await;
    ctg_store::testing::as_draft(&store, id).await;
    // What the workers will find, on the day the servers live.
    let today = chrono::Local::now().date_naive();
    let (body, _) = claire_in_a_body(&store, id).await;
    let soon = meeting(&store, id, body, "Revue du plan", today + chrono::Duration::days(3)).await;
    signed_agreement(&store, id, &p, today - chrono::Duration::days(300), today + chrono::Duration::days(20)).await;

    let mut smtp = Smtp::start().await;
    smtp.stop().await;
    let a = Server::start(&db.url, smtp.port);
    let b = Server::start(&db.url, smtp.port);
    assert_ne!(a.base, b.base);
    let http = Http::new();

    // The login form of A, posted to B; the session works on A.
    let form = http.send("GET", &format!("{}/connexion", a.base), "", &[]).await;
    let pre = cookie_of(&form, "ctg_csrf");
    let login_csrf = csrf_of(&form.body);
    let login = http
        .send(
            "POST",
            &format!("{}/connexion", b.base),
            &pre,
            &[("_csrf", login_csrf.as_str()), ("email", "claire@cabbalr.fr"), ("password", PASSWORD), ("suite", "/")],
        )
        .await;
    assert_eq!(login.status, 303, "{}", login.body);
    let session = cookie_of(&login, "ctg_session");
    let account = http.send("GET", &format!("{}/compte", a.base), &session, &[]).await;
    assert_eq!(account.status, 200);
    assert!(account.body.contains("Claire Coordination"));
    let doc = scraper::Html::parse_document(&account.body);
    assert_eq!(count(&doc, "#rappels fieldset"), 6, "the choices of reminders");
    assert!(texts(&doc, "#rappels [role=status]").is_empty(), "mail is configured on A");

    // The edit form read on A, saved on B; the same old version saved on A is refused.
    let edit = format!("/conventions/{id}/modifier");
    let page = http.send("GET", &format!("{}{edit}", a.base), &session, &[]).await;
    assert_eq!(page.status, 200);
    let csrf = csrf_of(&page.body);
    let doc = scraper::Html::parse_document(&page.body);
    let version = attr(&doc, "input[name=version]", "value");
    let fields = |title: &'static str| {
        [
            ("_csrf", csrf.clone()),
            ("version", version.clone()),
            ("title", title.to_owned()),
            ("start", "2026-01-01".to_owned()),
            ("end", "2030-12-31".to_owned()),
            ("status", "brouillon".to_owned()),
            ("published", "1".to_owned()),
        ]
    };
    let refs = |f: &[(&'static str, String)]| f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let on_b = refs(&fields("Titre enregistré par B"));
    let on_b: Vec<(&str, &str)> = on_b.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = http.send("POST", &format!("{}{edit}", b.base), &session, &on_b).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let on_a = refs(&fields("Titre enregistré par A"));
    let on_a: Vec<(&str, &str)> = on_a.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = http.send("POST", &format!("{}{edit}", a.base), &session, &on_a).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("Modification concurrente"), "{}", r.body);
    assert_eq!(store.convention_summary(id).await.unwrap().title, "Titre enregistré par B");
    // The confirmation of a write made on A shows on the page B serves next (a cookie, nothing kept in A).
    let page = http.send("GET", &format!("{}{edit}", b.base), &session, &[]).await;
    let doc = scraper::Html::parse_document(&page.body);
    let again = refs(&[
        ("_csrf", csrf.clone()),
        ("version", attr(&doc, "input[name=version]", "value")),
        ("title", "Titre enregistré par A".to_owned()),
        ("start", "2026-01-01".to_owned()),
        ("end", "2030-12-31".to_owned()),
        ("status", "brouillon".to_owned()),
        ("published", "1".to_owned()),
    ]);
    let again: Vec<(&str, &str)> = again.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = http.send("POST", &format!("{}{edit}", a.base), &session, &again).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let flash = cookie_of(&r, "ctg_flash");
    let next = http.send("GET", &format!("{}/conventions/{id}", b.base), &format!("{session}; {flash}"), &[]).await;
    assert_eq!(next.status, 200);
    let said = texts(&scraper::Html::parse_document(&next.body), "[role=status]").join(" ");
    assert!(!said.trim().is_empty(), "the confirmation of A's write, shown by B: {}", next.body);

    // The workers of both servers have been failing: nothing sent, attempts and errors kept.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let outbox = store.outbox().await.unwrap();
        if !outbox.is_empty() && outbox.iter().all(|m| m.attempts >= 1 && m.last_error.is_some()) {
            assert!(outbox.iter().all(|m| m.sent_at.is_none()));
            break;
        }
        assert!(Instant::now() < deadline, "the workers never tried: {outbox:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The SMTP server is back: each mail arrives once.
    smtp.restart().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let outbox = store.outbox().await.unwrap();
        if outbox.iter().all(|m| m.sent_at.is_some()) && smtp.received().len() == outbox.len() {
            break;
        }
        assert!(Instant::now() < deadline, "not every mail arrived: {outbox:#?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Both workers keep running a few more rounds: nothing more.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let outbox = store.outbox().await.unwrap();
    let mails = smtp.received();
    assert_eq!(mails.len(), outbox.len());
    assert_each_once(&mails);
    let claire = to(&mails, "claire@cabbalr.fr");
    assert_eq!(claire.iter().filter(|m| subject(m).starts_with("Séance dans 3 jours")).count(), 1, "{claire:#?}");
    assert!(claire.iter().any(|m| m["attachments"][0]["filename"] == format!("seance-{soon}.ics")));
    assert_eq!(claire.iter().filter(|m| subject(m).starts_with("Accord d'échange")).count(), 1);

    // A logout on B ends the session on A.
    let r = http.send("POST", &format!("{}/deconnexion", b.base), &session, &[("_csrf", csrf.as_str())]).await;
    assert_eq!(r.status, 303);
    let r = http.send("GET", &format!("{}/compte", a.base), &session, &[]).await;
    assert_eq!(r.status, 303, "the session ended on both servers");
    drop((a, b));
    db.finish().await;
}

// A mailbox that does not exist is refused for good (550): the mail is abandoned at once, with the
// server's answer kept, and the mails after it still go. (A mail that fails for a passing reason is
// retried, up to MAX_MAIL_ATTEMPTS: the unit tests of ctg_domain::reminders.)
backend_tests!(smtp_a_mail_refused_for_good_is_abandoned_and_the_others_still_go, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let smtp = Smtp::start().await;
        let state = AppState::with_today(store.clone(), today()).with_mail(smtp.config());
        let worker = Worker::new(&state).unwrap().expect("mail is configured");
        let now = chrono::Utc::now();
        for (n, to) in ["inexistant@cabbalr.fr", "claire@cabbalr.fr"].into_iter().enumerate() {
            let mail = ctg_store::NewMail {
                dedup_key: format!("essai:{n}"),
                user_id: None,
                recipient: to.into(),
                kind: "seance".into(),
                subject: format!("Essai n° {n}"),
                body_text: "texte".into(),
                body_html: "<p>texte</p>".into(),
                attachment: None,
            };
            assert!(store.enqueue_mail(&mail, None, now).await.unwrap());
        }
        assert_eq!(ctg_web::mail::deliver(&state, &worker).await.unwrap(), 1);
        let received = smtp.received();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0]["rcpt_tos"][0], "claire@cabbalr.fr");
        let outbox = store.outbox().await.unwrap();
        let refused = outbox.iter().find(|m| m.recipient.starts_with("inexistant")).unwrap();
        assert!(refused.abandoned_at.is_some() && refused.sent_at.is_none(), "{refused:?}");
        assert_eq!(refused.attempts, 1);
        assert!(refused.last_error.as_deref().unwrap_or_default().contains("550"), "{refused:?}");
        // Never claimed again, however long one waits.
        let later = now + chrono::Duration::days(30);
        assert!(store.claim_mails("autre", later, chrono::Duration::minutes(5), 100).await.unwrap().is_empty());
        assert_eq!(ctg_web::mail::deliver(&state, &worker).await.unwrap(), 0);
        assert_eq!(smtp.received().len(), 1);
    }
});
