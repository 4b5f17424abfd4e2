//! In a real Chromium, through WebDriver (chromedriver): home → the demo convention → its territory
//! page shows 100 communes and the totale 2021 of 278,431.
//!
//! Needs `chromedriver` and `chromium` (Debian packages `chromium-driver` and `chromium`), found on the
//! PATH or named by `CTG_CHROMEDRIVER` / `CTG_CHROMIUM`. Without them the test fails and says so;
//! `./test.sh` leaves it out, and says so, when they are missing.

use crate::common;

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ctg_store::testing::TestDb;
use ctg_store::Backend;
use fantoccini::{ClientBuilder, Locator};

pub(crate) struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_program(env: &str, names: &[&str]) -> String {
    if let Ok(p) = std::env::var(env) {
        return p;
    }
    for name in names {
        for dir in std::env::var("PATH").unwrap_or_default().split(':') {
            let candidate = std::path::Path::new(dir).join(name);
            if candidate.is_file() {
                return candidate.display().to_string();
            }
        }
    }
    panic!("{} introuvable : installez les paquets Debian chromium et chromium-driver, ou définissez {env}", names[0]);
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub(crate) async fn start_chromedriver() -> (Driver, String) {
    let program = find_program("CTG_CHROMEDRIVER", &["chromedriver"]);
    let port = free_port();
    let child = Command::new(&program)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("impossible de lancer {program} : {e}"));
    let driver = Driver(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "chromedriver ne répond pas sur le port {port}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (driver, format!("http://127.0.0.1:{port}"))
}

/// The app on a port of its own, as `ctg serve` runs it (with the client's address known).
pub(crate) async fn serve(store: &ctg_store::Store) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = ctg_web::router(ctg_web::AppState::new(store.clone()));
    let server = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
    });
    (base, server)
}

/// A headless Chromium driven through chromedriver, with a fresh profile.
pub(crate) async fn browser(webdriver_url: &str, profile: &std::path::Path) -> fantoccini::Client {
    let chromium = find_program("CTG_CHROMIUM", &["chromium", "chromium-browser", "google-chrome"]);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(webdriver_url)
        .await
        .expect("une session Chromium")
}

#[tokio::test]
async fn browser_home_to_territory_of_the_demo() {
    let (_driver, webdriver_url) = start_chromedriver().await;
    let db = TestDb::new(Backend::Sqlite).await;
    ctg::demo::load(&db.store).await.unwrap();
    let (base, server) = serve(&db.store).await;
    let profile = tempfile::tempdir().unwrap();
    let client = browser(&webdriver_url, profile.path()).await;

    let result = async {
        client.goto(&base).await?;
        assert_eq!(client.find(Locator::Css("h1")).await?.text().await?, "Conventions Territoriales Globales");
        client
            .find(Locator::LinkText("Convention Territoriale Globale de Service aux Familles 2026-2030"))
            .await?
            .click()
            .await?;
        // Wait for an element that only the next page has: the previous page's h1 would do otherwise.
        client.wait().for_element(Locator::LinkText("Territoire et populations")).await?;
        assert_eq!(
            client.find(Locator::Css("h1")).await?.text().await?,
            "Convention Territoriale Globale de Service aux Familles 2026-2030"
        );
        client.find(Locator::LinkText("Territoire et populations")).await?.click().await?;
        client.wait().for_element(Locator::Css("#table-communes")).await?;
        assert!(client.current_url().await?.path().ends_with("/territoire"));
        let rows = client.find_all(Locator::Css("#table-communes tbody tr")).await?;
        assert_eq!(rows.len(), 100);
        let total_2021 = client.find(Locator::Css("td[data-total='2021']")).await?.text().await?;
        let digits: String = total_2021.chars().filter(char::is_ascii_digit).collect();
        assert_eq!(digits, "278431", "totale 2021 affichée : {total_2021}");
        // Sorting by a header is a plain link: keyboard and screen readers use it as any link.
        client.find(Locator::LinkText("Totale 2021")).await?.click().await?;
        client.wait().for_element(Locator::Css("th[aria-sort='ascending'] a[href*='tri=totale-2021']")).await?;
        let first = client.find(Locator::Css("#table-communes tbody th")).await?.text().await?;
        assert_eq!(first, "Rombly", "la plus petite commune en 2021 (48 habitants)");
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    client.close().await.ok();
    server.abort();
    db.finish().await;
    result.expect("le parcours dans le navigateur");
}

#[tokio::test]
async fn browser_log_in_change_see_history_log_out() {
    let (_driver, webdriver_url) = start_chromedriver().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let id = ctg::demo::load(&db.store).await.unwrap().convention_id();
    // Art. 12 locks the signed demonstration: its title is edited here as a draft's.
    ctg_store::testing::as_draft(&db.store, id).await;
    common::people(&db.store, id).await;
    let (base, server) = serve(&db.store).await;
    let profile = tempfile::tempdir().unwrap();
    let client = browser(&webdriver_url, profile.path()).await;

    let result = async {
        client.goto(&format!("{base}/conventions/{id}/historique")).await?;
        // Not logged in: the login page, which comes back here afterwards.
        client.wait().for_element(Locator::Css("form[action='/connexion']")).await?;
        client.find(Locator::Id("email")).await?.send_keys("claire@cabbalr.fr").await?;
        client.find(Locator::Id("password")).await?.send_keys(common::PASSWORD).await?;
        client.find(Locator::Css("form[action='/connexion'] button[type=submit]")).await?.click().await?;
        client.wait().for_element(Locator::Css("#historique")).await?;
        assert!(client.current_url().await?.path().ends_with("/historique"));

        client.goto(&format!("{base}/conventions/{id}")).await?;
        client.find(Locator::LinkText("Modifier la convention")).await?.click().await?;
        let title = client.wait().for_element(Locator::Id("title")).await?;
        title.clear().await?;
        title.send_keys("CTG 2026-2030 de Béthune-Bruay").await?;
        client.find(Locator::Css("form .primary")).await?.click().await?;
        // Back on the convention page: the only one with its status.
        client.wait().for_element(Locator::Id("statut-convention")).await?;
        assert_eq!(client.find(Locator::Css("h1")).await?.text().await?, "CTG 2026-2030 de Béthune-Bruay");

        client.find(Locator::LinkText("Historique")).await?.click().await?;
        client.wait().for_element(Locator::Css("#historique")).await?;
        let first = client.find(Locator::Css("#historique tbody tr")).await?.text().await?;
        assert!(first.contains("Claire Coordination"), "{first}");
        assert!(
            first.contains("Titre :")
                && first.contains("Convention Territoriale Globale de Service aux Familles 2026-2030 →")
                && first.contains("CTG 2026-2030 de Béthune-Bruay"),
            "{first}"
        );

        client.find(Locator::Css("form[action='/deconnexion'] button")).await?.click().await?;
        client.wait().for_element(Locator::LinkText("Se connecter")).await?;
        client.goto(&format!("{base}/conventions/{id}/historique")).await?;
        client.wait().for_element(Locator::Css("form[action='/connexion']")).await?;
        assert_eq!(client.current_url().await?.path(), "/connexion");
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    client.close().await.ok();
    server.abort();
    db.finish().await;
    result.expect("le parcours connexion, modification, historique, déconnexion");
}

#[tokio::test]
async fn browser_adding_a_relais_changes_the_communes_without_one() {
    let (_driver, webdriver_url) = start_chromedriver().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let id = ctg::demo::load(&db.store).await.unwrap().convention_id();
    common::people(&db.store, id).await;
    let (base, server) = serve(&db.store).await;
    let profile = tempfile::tempdir().unwrap();
    let client = browser(&webdriver_url, profile.path()).await;

    let result = async {
        // No RPE is recorded: the coverage page says it is not known, rather than « none anywhere ».
        client.goto(&format!("{base}/conventions/{id}/couverture?type=rpe")).await?;
        let unknown = client.wait().for_element(Locator::Id("nombre-sans-service")).await?.text().await?;
        assert!(unknown.starts_with("Non renseigné"), "{unknown}");
        assert!(client.find_all(Locator::Css("#communes-sans-service")).await?.is_empty());

        client.goto(&format!("{base}/conventions/{id}/equipements/nouveau")).await?;
        client.wait().for_element(Locator::Css("form[action='/connexion']")).await?;
        client.find(Locator::Id("email")).await?.send_keys("claire@cabbalr.fr").await?;
        client.find(Locator::Id("password")).await?.send_keys(common::PASSWORD).await?;
        client.find(Locator::Css("form[action='/connexion'] button[type=submit]")).await?.click().await?;
        client.wait().for_element(Locator::Id("type_code")).await?;
        client.find(Locator::Css("#type_code option[value='rpe']")).await?.click().await?;
        client.find(Locator::Id("name")).await?.send_keys("Relais petite enfance de Lillers").await?;
        client.find(Locator::Css("#commune option[value='62516']")).await?.click().await?;
        client.find(Locator::Id("served")).await?.send_keys("Annezin, 62119").await?;
        client.find(Locator::Css("form .primary")).await?.click().await?;
        // The facility's own page: the only one with this list.
        client.wait().for_element(Locator::Css("#fiche-equipement")).await?;
        assert_eq!(client.find(Locator::Css("h1")).await?.text().await?, "Relais petite enfance de Lillers");

        client.goto(&format!("{base}/conventions/{id}/couverture?type=rpe")).await?;
        client.wait().for_element(Locator::Css("#communes-sans-service")).await?;
        let rows = client.find_all(Locator::Css("#communes-sans-service tbody th")).await?;
        let mut names = Vec::new();
        for r in rows {
            names.push(r.text().await?);
        }
        assert_eq!(names.len(), 97, "Lillers, Annezin and Béthune now have one");
        for served in ["Lillers", "Annezin", "Béthune"] {
            assert!(!names.iter().any(|n| n == served), "{served} still listed");
        }
        assert!(names.iter().any(|n| n == "Auchel"));
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    client.close().await.ok();
    server.abort();
    db.finish().await;
    result.expect("ajouter un RPE et voir la couverture changer");
}

#[tokio::test]
async fn browser_a_fiche_with_a_sub_action_and_an_indicator_value_moves_progress() {
    let (_driver, webdriver_url) = start_chromedriver().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let id = ctg::demo::load(&db.store).await.unwrap().convention_id();
    common::people(&db.store, id).await;
    let (base, server) = serve(&db.store).await;
    let profile = tempfile::tempdir().unwrap();
    let client = browser(&webdriver_url, profile.path()).await;

    let result = async {
        client.goto(&format!("{base}/conventions/{id}/plan/fiches/nouvelle")).await?;
        client.wait().for_element(Locator::Css("form[action='/connexion']")).await?;
        client.find(Locator::Id("email")).await?.send_keys("claire@cabbalr.fr").await?;
        client.find(Locator::Id("password")).await?.send_keys(common::PASSWORD).await?;
        client.find(Locator::Css("form[action='/connexion'] button[type=submit]")).await?.click().await?;
        client.wait().for_element(Locator::Id("code")).await?;
        client.find(Locator::Id("code")).await?.send_keys("PE-1").await?;
        client.find(Locator::Id("title")).await?.send_keys("Ouvrir un relais petite enfance").await?;
        client.find(Locator::Id("ambition_1")).await?.click().await?;
        client.find(Locator::Css("#status option[value='en_cours']")).await?.click().await?;
        client.find(Locator::Css("form .primary")).await?.click().await?;
        client.wait().for_element(Locator::Id("avancement-fiche")).await?;
        assert_eq!(client.find(Locator::Id("avancement-fiche")).await?.text().await?, "50 %");

        // A sub-action still to come: the fiche's progress is now its sub-actions' (0 %).
        client.find(Locator::Css("main details summary")).await?.click().await?;
        client.find(Locator::Id("sub_title")).await?.send_keys("Trouver un local").await?;
        client.find(Locator::Css("form[action$='/sous-actions'] .primary")).await?.click().await?;
        client.wait().for_element(Locator::Css("#sous-actions")).await?;
        assert_eq!(client.find(Locator::Id("avancement-fiche")).await?.text().await?, "0 %");
        // Marked done from the fiche page: 100 %.
        client.find(Locator::Css("#sous-actions select option[value='realisee']")).await?.click().await?;
        client.find(Locator::Css("#sous-actions form button")).await?.click().await?;
        client.wait().for_element(Locator::XPath("//strong[@id='avancement-fiche' and text()='100 %']")).await?;

        // An indicator and its first value.
        let summaries = client.find_all(Locator::Css("main details summary")).await?;
        for s in summaries {
            if s.text().await? == "Ajouter un indicateur" {
                s.click().await?;
            }
        }
        client.find(Locator::Id("name")).await?.send_keys("Assistants maternels accompagnés").await?;
        client.find(Locator::Id("cible_2026")).await?.send_keys("40").await?;
        client.find(Locator::Css("form[action$='/indicateurs'] .primary")).await?.click().await?;
        client.wait().for_element(Locator::Id("etat-indicateur")).await?;
        client.find(Locator::Id("period")).await?.send_keys("2026").await?;
        client.find(Locator::Id("value")).await?.send_keys("42").await?;
        client.find(Locator::Css("form[action$='/valeurs'] .primary")).await?.click().await?;
        client.wait().for_element(Locator::Css("#valeurs")).await?;
        assert_eq!(client.find(Locator::Id("etat-indicateur")).await?.text().await?, "en bonne voie (2026)");

        // The plan's tree shows the progress moved.
        client.goto(&format!("{base}/conventions/{id}/plan")).await?;
        client.wait().for_element(Locator::Id("avancement-plan")).await?;
        assert_eq!(client.find(Locator::Id("avancement-plan")).await?.text().await?, "100 %");
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    client.close().await.ok();
    server.abort();
    db.finish().await;
    result.expect("une fiche, une sous-action, une valeur d'indicateur : l'avancement bouge");
}

#[tokio::test]
async fn browser_a_coordinator_schedules_a_meeting_and_follows_a_decision_on_a_fiche() {
    let (_driver, webdriver_url) = start_chromedriver().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let id = ctg::demo::load(&db.store).await.unwrap().convention_id();
    common::people(&db.store, id).await;
    let (base, server) = serve(&db.store).await;
    let profile = tempfile::tempdir().unwrap();
    let client = browser(&webdriver_url, profile.path()).await;

    let result = async {
        // A fiche of the plan, created by the coordinator after logging in.
        client.goto(&format!("{base}/conventions/{id}/plan/fiches/nouvelle")).await?;
        client.wait().for_element(Locator::Css("form[action='/connexion']")).await?;
        client.find(Locator::Id("email")).await?.send_keys("claire@cabbalr.fr").await?;
        client.find(Locator::Id("password")).await?.send_keys(common::PASSWORD).await?;
        client.find(Locator::Css("form[action='/connexion'] button[type=submit]")).await?.click().await?;
        client.wait().for_element(Locator::Id("code")).await?;
        client.find(Locator::Id("code")).await?.send_keys("PE-1").await?;
        client.find(Locator::Id("title")).await?.send_keys("Ouvrir un relais petite enfance").await?;
        client.find(Locator::Id("ambition_1")).await?.click().await?;
        client.find(Locator::Css("form .primary")).await?.click().await?;
        client.wait().for_element(Locator::Id("avancement-fiche")).await?;

        // From the convention page to the steering committee.
        client.goto(&format!("{base}/conventions/{id}")).await?;
        client.find(Locator::LinkText("Instances")).await?.click().await?;
        client.wait().for_element(Locator::Css("section.body-section")).await?;
        client.find(Locator::LinkText("Comité de pilotage intercommunal restreint")).await?.click().await?;
        client.wait().for_element(Locator::Id("calendrier")).await?;

        // Schedule a meeting. Date and time fields take their value in the ISO form whatever the
        // browser's locale.
        client.find(Locator::Id("title")).await?.send_keys("Lancement de la CTG").await?;
        client
            .execute(
                "document.getElementById('date').value = '2026-12-10';\
                 document.getElementById('start').value = '14:00';\
                 document.getElementById('end').value = '16:30';",
                vec![],
            )
            .await?;
        client.find(Locator::Id("place")).await?.send_keys("Hôtel communautaire, Béthune").await?;
        client.find(Locator::Css("form[action$='/seances'] .primary")).await?.click().await?;
        client.wait().for_element(Locator::Id("fiche-seance")).await?;
        assert_eq!(
            client.find(Locator::Css("h1")).await?.text().await?,
            "Comité de pilotage intercommunal restreint : Lancement de la CTG"
        );

        // Record a decision on the fiche.
        for s in client.find_all(Locator::Css("main details summary")).await? {
            if s.text().await? == "Ajouter une décision" {
                s.click().await?;
            }
        }
        client.find(Locator::Id("decision_text")).await?.send_keys("Lancer l'étude d'implantation du relais").await?;
        client.find(Locator::Id("decision_fiches")).await?.send_keys("PE-1").await?;
        client.find(Locator::Id("decision_follow_up")).await?.send_keys("CAF").await?;
        client.find(Locator::Css("form[action$='/decisions'] .primary")).await?.click().await?;
        client.wait().for_element(Locator::Css("#decisions-seance")).await?;

        // Among the open decisions, linked to the fiche.
        client.find(Locator::LinkText("Décisions ouvertes")).await?.click().await?;
        client.wait().for_element(Locator::Css("#decisions-ouvertes")).await?;
        let rows = client.find_all(Locator::Css("#decisions-ouvertes tbody tr")).await?;
        assert_eq!(rows.len(), 1);
        let row = rows[0].text().await?;
        assert!(row.contains("Lancer l'étude d'implantation du relais"), "{row}");
        assert!(row.contains("Comité de pilotage intercommunal restreint"), "{row}");
        let fiche = client.find(Locator::Css("#decisions-ouvertes tbody a[href*='/plan/fiches/']")).await?;
        assert_eq!(fiche.text().await?, "PE-1 — Ouvrir un relais petite enfance");
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    client.close().await.ok();
    server.abort();
    db.finish().await;
    result.expect("programmer une séance et suivre une décision sur une fiche");
}

/// axe-core, when installed (`.ci/run` puts it in `~/.cache/ctg-axe`, or `CTG_AXE` names the file):
/// the source to inject into a page.
fn axe_source() -> Option<String> {
    let path = std::env::var("CTG_AXE").ok().map(std::path::PathBuf::from).or_else(|| {
        std::env::var("HOME")
            .ok()
            .map(|h| std::path::Path::new(&h).join(".cache/ctg-axe/node_modules/axe-core/axe.min.js"))
    })?;
    match std::fs::read_to_string(&path) {
        Ok(source) => Some(source),
        // CI requires every suite: the accessibility checks may not be skipped there.
        Err(e) if std::env::var("CTG_REQUIRE_ALL").as_deref() == Ok("1") => {
            panic!("axe-core introuvable ({}) : {e} ; npm install --prefix ~/.cache/ctg-axe axe-core", path.display())
        }
        Err(_) => None,
    }
}

/// A coordinator's day at 1280 px and 390 px: a fiche typed with an error keeps what was typed, then
/// is created past its end date and shows « En retard de N jours » in the table, the tree, the
/// calendar, the fiche and the dashboard; every page type of the demo fits the window (no
/// horizontal scroll of the document), marks the current section, and has no axe-core violation
/// at WCAG 2.2 A/AA (when axe-core is installed).
#[tokio::test]
async fn browser_a_coordinators_day_fits_a_laptop_and_a_phone() {
    let (_driver, webdriver_url) = start_chromedriver().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let id = ctg::demo::load(&db.store).await.unwrap().convention_id();
    let people = common::people(&db.store, id).await;
    let parties = db.store.party_refs(id).await.unwrap();
    let epci_party = parties.iter().find(|p| p.label() == "CABBALR").unwrap().id.to_string();
    let caf_party = people.caf_party.to_string();
    let (base, server) = serve(&db.store).await;
    let profile = tempfile::tempdir().unwrap();
    let client = browser(&webdriver_url, profile.path()).await;
    let axe = axe_source();

    let result = async {
        client.set_window_size(1280, 1000).await?;
        client.goto(&format!("{base}/connexion")).await?;
        client.find(Locator::Id("email")).await?.send_keys("claire@cabbalr.fr").await?;
        client.find(Locator::Id("password")).await?.send_keys(common::PASSWORD).await?;
        client.find(Locator::Css("form[action='/connexion'] button[type=submit]")).await?.click().await?;
        // A login leads to the dashboard.
        client.wait().for_element(Locator::Css("h1")).await?;
        assert!(client.current_url().await?.path().ends_with("/tableau-de-bord"));

        // A new fiche, its title forgotten: everything typed comes back, the error beside the field.
        client.goto(&format!("{base}/conventions/{id}/plan/fiches/nouvelle")).await?;
        client.wait().for_element(Locator::Id("code")).await?;
        client.find(Locator::Id("code")).await?.send_keys("PE-9").await?;
        client.find(Locator::Id("ambition_1")).await?.click().await?;
        client.find(Locator::Css("#pilot_organisation option[value='CABBALR']")).await?.click().await?;
        client.find(Locator::Id("pilot_person")).await?.send_keys("Claire Coordination").await?;
        client
            .execute(
                "document.getElementById('start').value = '2026-01-05';\
                 document.getElementById('end').value = '2026-06-30';",
                vec![],
            )
            .await?;
        client.find(Locator::Css("#status option[value='en_cours']")).await?.click().await?;
        client.find(Locator::Css("main form .primary")).await?.click().await?;
        client.wait().for_element(Locator::Id("title-erreur")).await?;
        assert_eq!(client.find(Locator::Id("code")).await?.prop("value").await?.as_deref(), Some("PE-9"));
        assert_eq!(client.find(Locator::Id("pilot_person")).await?.prop("value").await?.as_deref(), Some("Claire Coordination"));
        assert_eq!(client.find(Locator::Id("end")).await?.prop("value").await?.as_deref(), Some("2026-06-30"));
        client.find(Locator::Id("title")).await?.send_keys("Relais petite enfance itinérant").await?;
        client.find(Locator::Css("main form .primary")).await?.click().await?;
        client.wait().for_element(Locator::Id("avancement-fiche")).await?;
        // The confirmation, in a live region.
        assert_eq!(client.find(Locator::Css("[role=status]")).await?.text().await?, "Fiche PE-9 créée");
        let fiche_path = client.current_url().await?.path().to_owned();
        let badge = client.find(Locator::Id("retard-fiche")).await?.text().await?;
        assert!(badge.starts_with("En retard de ") && badge.ends_with(" jours"), "{badge}");

        // Its means through the grid: a row per year for the CAF, then for the EPCI; three years
        // typed for each, an amount and an FTE mistyped; everything comes back, each error beside
        // its cell; corrected, the confirmation says how many lines were saved.
        let mut grid_problems = Vec::new();
        let value = |id: String| {
            let client = client.clone();
            async move { client.find(Locator::Id(&id)).await?.prop("value").await.map(Option::unwrap_or_default) }
        };
        for party in [&caf_party, &epci_party] {
            client.find(Locator::Css(&format!("#ajout_partie option[value='{party}']"))).await?.click().await?;
            client.find(Locator::Css("button[value=ajouter_partie]")).await?.click().await?;
            client.wait().for_element(Locator::Id("grille-moyens")).await?;
        }
        // Rows 0–4: the CAF, 2026…2030; rows 5–9: the EPCI.
        for (row, fte, planned, spent, material) in [
            (0, "0,5", "12 000", "11 800,50", "salle du relais"),
            (1, "0,5", "12 500", "", ""),
            (2, "", "13 000", "", ""),
            (5, "beaucoup", "8 000", "", "véhicule"),
            (6, "1", "huit mille", "", ""),
            (7, "1", "8 000", "", ""),
        ] {
            for (field, text) in [("etp", fte), ("prevu", planned), ("depense", spent), ("materiel", material)] {
                if !text.is_empty() {
                    client.find(Locator::Id(&format!("{field}_{row}"))).await?.send_keys(text).await?;
                }
            }
        }
        client.find(Locator::Css("#nature_2 option[value=investissement]")).await?.click().await?;
        client.find(Locator::Css("#saisie-moyens button[value=enregistrer]")).await?.click().await?;
        client.wait().for_element(Locator::Id("prevu_6-erreur")).await?;
        client.find(Locator::Id("etp_5-erreur")).await?;
        for (id, expected) in [
            ("prevu_0", "12 000"),
            ("depense_0", "11 800,50"),
            ("materiel_0", "salle du relais"),
            ("prevu_6", "huit mille"),
            ("etp_5", "beaucoup"),
            ("materiel_5", "véhicule"),
            ("prevu_7", "8 000"),
        ] {
            let got = value(id.to_owned()).await?;
            if got != expected {
                grid_problems.push(format!("after the error, {id} is « {got} », not « {expected} »"));
            }
        }
        assert_eq!(
            client.find(Locator::Css("#nature_2 option:checked")).await?.prop("value").await?.as_deref(),
            Some("investissement")
        );
        assert_eq!(client.find(Locator::Css("#partie_9 option:checked")).await?.prop("value").await?, Some(epci_party.clone()));
        assert!(grid_problems.is_empty(), "{}", grid_problems.join("\n"));
        for (id, text) in [("etp_5", "1"), ("prevu_6", "8 250")] {
            let field = client.find(Locator::Id(id)).await?;
            field.clear().await?;
            field.send_keys(text).await?;
        }
        client.find(Locator::Css("#saisie-moyens button[value=enregistrer]")).await?.click().await?;
        client.wait().for_element(Locator::Css("[role=status]")).await?;
        assert_eq!(client.find(Locator::Css("[role=status]")).await?.text().await?, "Moyens enregistrés : 6 lignes");
        let means_rows = client.find_all(Locator::Css("#moyens tbody tr")).await?.len();
        assert_eq!(means_rows, 6);

        // Its indicator's targets through the grid of years: five years, one mistyped, kept, corrected.
        client.find(Locator::Css("details#ajout-indicateur > summary")).await?.click().await?;
        client.find(Locator::Id("name")).await?.send_keys("Familles accueillies").await?;
        for (year, target) in [(2026, "10"), (2027, "15"), (2028, "vingt"), (2029, "25"), (2030, "30,5")] {
            client.find(Locator::Id(&format!("cible_{year}"))).await?.send_keys(target).await?;
        }
        client.find(Locator::Css("details#ajout-indicateur button.primary")).await?.click().await?;
        client.wait().for_element(Locator::Id("targets-erreur")).await?;
        for (year, target) in [(2026, "10"), (2027, "15"), (2028, "vingt"), (2029, "25"), (2030, "30,5")] {
            assert_eq!(value(format!("cible_{year}")).await?, target, "{year}");
        }
        assert_eq!(value("name".to_owned()).await?, "Familles accueillies");
        let field = client.find(Locator::Id("cible_2028")).await?;
        field.clear().await?;
        field.send_keys("20").await?;
        client.find(Locator::Css("details#ajout-indicateur button.primary")).await?.click().await?;
        client.wait().for_element(Locator::Css("[role=status]")).await?;
        assert_eq!(
            client.find(Locator::Css("[role=status]")).await?.text().await?,
            "Indicateur « Familles accueillies » créé"
        );
        let indicator_path = client.current_url().await?.path().to_owned();
        client.goto(&format!("{base}{fiche_path}")).await?;
        client.wait().for_element(Locator::Id("avancement-fiche")).await?;

        // A meeting, for the meeting page.
        client.goto(&format!("{base}/conventions/{id}/instances/1")).await?;
        client.wait().for_element(Locator::Css("form[action$='/seances']")).await?;
        client
            .execute(
                "document.getElementById('date').value = '2027-01-14';\
                 document.getElementById('start').value = '14:00';\
                 document.getElementById('end').value = '16:30';",
                vec![],
            )
            .await?;
        client.find(Locator::Css("form[action$='/seances'] .primary")).await?.click().await?;
        client.wait().for_element(Locator::Id("fiche-seance")).await?;
        let meeting_path = client.current_url().await?.path().to_owned();
        // Its agenda through the grid: a point added by the server, the first one kept.
        client.find(Locator::Id("titre_0")).await?.send_keys("Bilan du relais itinérant").await?;
        client.find(Locator::Id("fiches_0")).await?.send_keys("PE-9").await?;
        client.find(Locator::Css("#saisie-ordre-du-jour button[value=ajouter]")).await?.click().await?;
        client.wait().for_element(Locator::Id("titre_1")).await?;
        assert_eq!(value("titre_0".to_owned()).await?, "Bilan du relais itinérant");
        client.find(Locator::Id("titre_1")).await?.send_keys("Calendrier 2027").await?;
        client.find(Locator::Css("#saisie-ordre-du-jour button[value=enregistrer]")).await?.click().await?;
        client.wait().for_element(Locator::Css("[role=status]")).await?;
        assert_eq!(client.find(Locator::Css("[role=status]")).await?.text().await?, "Ordre du jour enregistré");
        assert_eq!(client.find_all(Locator::Css("#points-ordre-du-jour > li")).await?.len(), 2);
        // A decision, so that the meeting and the open decisions pages carry their « Clore » button
        // (checked below by axe-core, target size of WCAG 2.2 included).
        client
            .execute(
                "document.getElementById('decision_text').value = 'Étendre le relais itinérant à Lillers';\
                 document.getElementById('decision_fiches').value = 'PE-9';\
                 document.getElementById('decision_follow_up').value = 'CABBALR';\
                 document.getElementById('decision_due').value = '2027-03-31';\
                 document.querySelector(\"form[action$='/decisions'] .primary\").click();",
                vec![],
            )
            .await?;
        client.wait().for_element(Locator::Css("[role=status]")).await?;
        assert_eq!(client.find_all(Locator::Css("form.close-decision button")).await?.len(), 1);

        // The badge where people look, and the dashboard.
        for path in [
            format!("/conventions/{id}/plan/fiches"),
            format!("/conventions/{id}/plan"),
            format!("/conventions/{id}/plan/calendrier"),
            format!("/conventions/{id}/plan/retards"),
            "/tableau-de-bord".to_owned(),
        ] {
            client.goto(&format!("{base}{path}")).await?;
            let badges = client.find_all(Locator::Css("main .badge-late")).await?;
            let mut found = false;
            for b in badges {
                found |= b.text().await? == badge;
            }
            assert!(found, "{path}: no « {badge} »");
        }
        client.goto(&format!("{base}/tableau-de-bord")).await?;
        client.find(Locator::Css(&format!("main a[href='{fiche_path}']"))).await?;
        client.find(Locator::Css(&format!("main a[href='{meeting_path}']"))).await?;

        // Every page type, at both widths: every GET page of the route table under a convention is
        // walked, or left out here with its reason (files, not pages).
        let c = format!("/conventions/{id}");
        client.goto(&format!("{base}{c}/equipements")).await?;
        let mut facility = String::new();
        for a in client.find_all(Locator::Css("main table a[href]")).await? {
            let href = a.attr("href").await?.unwrap_or_default();
            if let Some(n) = href.strip_prefix(&format!("{c}/equipements/")).filter(|n| n.parse::<i64>().is_ok()) {
                facility = n.to_owned();
                break;
            }
        }
        assert!(!facility.is_empty(), "a facility of the demo");
        let agreement = db.store.agreements(id).await.unwrap().first().map(|a| a.id);
        // A text of the convention, for the page of its versions.
        db.store
            .set_initial_text(&ctg_domain::Actor::cli("test"), id, "convention", "Article 1 : objet de la convention.")
            .await
            .unwrap();
        // The renewal button of the convention page prepares the next convention: a fiche carried
        // from this one shows its origin, and its evaluation page the bilan of this one.
        client.goto(&format!("{base}{c}")).await?;
        client.find(Locator::Css("#preparer-suivante button")).await?.click().await?;
        client.wait().for_element(Locator::Css("[role=status]")).await?;
        let next = client.current_url().await?.path().to_owned();
        let next_id: i64 = next.trim_start_matches("/conventions/").parse().expect("the next convention's page");
        let carried = db.store.plan(next_id).await.unwrap().fiches.first().map(|f| f.id).expect("a fiche carried over");
        let carried_path = format!("{next}/plan/fiches/{carried}");
        client.goto(&format!("{base}{carried_path}")).await?;
        client.find(Locator::Id("fiche-reprise")).await?;
        client.goto(&format!("{base}{next}/evaluation")).await?;
        client.find(Locator::Id("bilan-precedent")).await?;
        client.goto(&format!("{base}{next}")).await?;
        client.find(Locator::Id("preparer-suivante")).await?;
        let fid = fiche_path.rsplit('/').next().unwrap().to_owned();
        // (route of the table, path walked, what marks the current place: 'w' the workspace, 's' the
        // site's menu, 'p' none, by design: a page made to print).
        let mut walk: Vec<(&str, String, char)> = vec![
            ("/", "/".to_owned(), 's'),
            ("/tableau-de-bord", "/tableau-de-bord".to_owned(), 's'),
            ("/portefeuille", "/portefeuille?organisation=".to_owned(), 's'),
            ("/compte", "/compte".to_owned(), 's'),
            ("/conventions/{id}", c.clone(), 'w'),
            ("/conventions/{id}/territoire", format!("{c}/territoire"), 'w'),
            ("/conventions/{id}/diagnostic", format!("{c}/diagnostic"), 'w'),
            ("/conventions/{id}/publique", format!("{c}/publique"), 'w'),
            ("/conventions/{id}/donnees-ouvertes", format!("{c}/donnees-ouvertes"), 'w'),
            ("/conventions/{id}/sppe", format!("{c}/sppe"), 'w'),
            ("/conventions/{id}/comparaison", format!("{c}/comparaison"), 'w'),
            ("/conventions/{id}/modifier", format!("{c}/modifier"), 'w'),
            ("/conventions/{id}/parties/{party}/modifier", format!("{c}/parties/{caf_party}/modifier"), 'w'),
            ("/conventions/{id}/utilisateurs", format!("{c}/utilisateurs"), 'w'),
            ("/conventions/{id}/historique", format!("{c}/historique"), 'w'),
            ("/conventions/{id}/accords", format!("{c}/accords"), 'w'),
            ("/conventions/{id}/equipements", format!("{c}/equipements"), 'w'),
            ("/conventions/{id}/equipements/nouveau", format!("{c}/equipements/nouveau"), 'w'),
            ("/conventions/{id}/equipements/{facility}", format!("{c}/equipements/{facility}"), 'w'),
            ("/conventions/{id}/equipements/{facility}/modifier", format!("{c}/equipements/{facility}/modifier"), 'w'),
            ("/conventions/{id}/couverture", format!("{c}/couverture"), 'w'),
            ("/conventions/{id}/financements", format!("{c}/financements"), 'w'),
            ("/conventions/{id}/qui-finance-quoi", format!("{c}/qui-finance-quoi"), 'w'),
            ("/conventions/{id}/engagements", format!("{c}/engagements"), 'w'),
            ("/conventions/{id}/strategie", format!("{c}/strategie"), 'w'),
            ("/conventions/{id}/plan", format!("{c}/plan"), 'w'),
            ("/conventions/{id}/plan/fiches", format!("{c}/plan/fiches"), 'w'),
            ("/conventions/{id}/plan/fiches/nouvelle", format!("{c}/plan/fiches/nouvelle"), 'w'),
            ("/conventions/{id}/plan/fiches/{fiche}", fiche_path.clone(), 'w'),
            ("/conventions/{id}/plan/fiches/{fiche}/modifier", format!("{c}/plan/fiches/{fid}/modifier"), 'w'),
            ("/conventions/{id}/plan/indicateurs/{indicator}", indicator_path.clone(), 'w'),
            ("/conventions/{id}/plan/calendrier", format!("{c}/plan/calendrier"), 'w'),
            ("/conventions/{id}/plan/retards", format!("{c}/plan/retards"), 'w'),
            ("/conventions/{id}/plan/import", format!("{c}/plan/import"), 'w'),
            ("/conventions/{id}/evaluation", format!("{c}/evaluation"), 'w'),
            ("/conventions/{id}/vie", format!("{c}/vie"), 'w'),
            ("/conventions/{id}/textes/{key}", format!("{c}/textes/convention"), 'w'),
            ("/conventions/{id}/instances", format!("{c}/instances"), 'w'),
            ("/conventions/{id}/instances/{body}", format!("{c}/instances/1"), 'w'),
            ("/conventions/{id}/seances/{meeting}", meeting_path.clone(), 'w'),
            ("/conventions/{id}/seances/{meeting}/dossier", format!("{meeting_path}/dossier"), 'p'),
            ("/conventions/{id}/decisions", format!("{c}/decisions"), 'w'),
            ("/conventions/{id}/concertation", format!("{c}/concertation"), 'w'),
            ("/conventions/{id}/cooperation", format!("{c}/cooperation"), 'w'),
            // The next convention (its page with its own renewal button), a fiche carried over, the
            // evaluation with the predecessor's bilan.
            ("/conventions/{id}", next.clone(), 'w'),
            ("/conventions/{id}/plan/fiches/{fiche}", carried_path.clone(), 'w'),
            ("/conventions/{id}/evaluation", format!("{next}/evaluation"), 'w'),
        ];
        if let Some(a) = agreement {
            walk.push(("/conventions/{id}/accords/{agreement}/modifier", format!("{c}/accords/{a}/modifier"), 'w'));
        }
        // Files, not pages: downloads, documents and calendars.
        let mut left_out: Vec<(&str, &str)> = vec![
            ("/conventions/{id}/territoire.csv", "un fichier CSV"),
            ("/conventions/{id}/diagnostic.pdf", "un PDF"),
            ("/conventions/{id}/donnees-ouvertes/{file}", "des fichiers de données"),
            ("/conventions/{id}/plan/fiches/{fiche}/fiche.pdf", "un PDF"),
            ("/conventions/{id}/plan/export", "un tableur"),
            ("/conventions/{id}/evaluation.pdf", "un PDF"),
            ("/conventions/{id}/documents/{document}", "un document joint"),
            ("/conventions/{id}/instances/{body}/calendrier.ics", "un fichier iCalendar"),
            ("/conventions/{id}/seances/{meeting}/dossier.pdf", "un PDF"),
            ("/conventions/{id}/seances/{meeting}/seance.ics", "un fichier iCalendar"),
            ("/conventions/{id}/parties/{party}/logo", "l'image du logo (son formulaire est sur la page de la partie)"),
        ];
        if agreement.is_none() {
            left_out.push(("/conventions/{id}/accords/{agreement}/modifier", "la démo n'a pas d'accord d'échange"));
        }
        let table: Vec<String> = ctg_web::routes::route_table()
            .into_iter()
            .filter(|r| {
                r.method == axum::http::Method::GET
                    && r.surface == ctg_web::routes::Surface::Page
                    && r.path.starts_with("/conventions/{id}")
            })
            .map(|r| r.path)
            .collect();
        let missing: Vec<&String> = table
            .iter()
            .filter(|p| !walk.iter().any(|(r, _, _)| r == p) && !left_out.iter().any(|(r, _)| r == p))
            .collect();
        assert!(missing.is_empty(), "pages of the route table that the walk neither visits nor leaves out: {missing:?}");
        for (route, _, _) in &walk {
            assert!(!route.starts_with("/conventions") || table.contains(&route.to_string()), "{route} is not a route of the table");
        }
        println!(
            "parcours : {} pages à 1 280 et à 390 px ({} routes GET de pages sous une convention dans la table), {} laissées de côté : {}",
            walk.len(),
            table.len(),
            left_out.len(),
            left_out.iter().map(|(r, why)| format!("{r} ({why})")).collect::<Vec<_>>().join(", ")
        );
        let mut problems = Vec::new();
        for (width, height) in [(1280, 1000), (390, 844)] {
            client.set_window_size(width, height).await?;
            for (_, path, mark) in &walk {
                client.goto(&format!("{base}{path}")).await?;
                client.wait().for_element(Locator::Css("h1")).await?;
                let sizes = client
                    .execute(
                        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
                        vec![],
                    )
                    .await?;
                let (scroll, client_width) = (sizes[0].as_i64().unwrap_or(0), sizes[1].as_i64().unwrap_or(0));
                if scroll > client_width {
                    problems.push(format!("{width} px, {path}: the page is {scroll} px wide"));
                }
                let marked = match mark {
                    'w' => {
                        let selector =
                            if width >= 1024 { ".workspace-wide [aria-current]" } else { ".workspace-narrow [aria-current]" };
                        client.find_all(Locator::Css(selector)).await?.len()
                    }
                    's' => client.find_all(Locator::Css(".site-header [aria-current='page']")).await?.len(),
                    // A page made to print has no navigation at all.
                    _ => usize::from(client.find_all(Locator::Css("nav")).await?.is_empty()),
                };
                if marked == 0 {
                    problems.push(format!("{width} px, {path}: the current section is not marked"));
                }
                if let Some(axe) = &axe {
                    client.execute(axe, vec![]).await?;
                    let found = client
                        .execute_async(
                            "var done = arguments[arguments.length - 1];\
                             axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})\
                               .then(function (r) { done(r.violations.map(function (v) { return v.id + ' (' + v.nodes.length + ') ' + v.nodes[0].target.join(' '); })); })\
                               .catch(function (e) { done(['axe: ' + e]); });",
                            vec![],
                        )
                        .await?;
                    for v in found.as_array().into_iter().flatten() {
                        problems.push(format!("{width} px, {path}: axe-core {}", v.as_str().unwrap_or_default()));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        // At 390 px, the sections fold into a menu that says where one is.
        client.goto(&format!("{base}{fiche_path}")).await?;
        let where_ = client.find(Locator::Css(".workspace-narrow summary")).await?.text().await?;
        assert!(where_.contains("Stratégie & plan › Plan d'action"), "{where_}");
        // The breadcrumb agrees: the fiche lives in the plan.
        let crumbs = client.find(Locator::Css(".breadcrumb")).await?.text().await?;
        assert!(crumbs.contains("Plan d'action"), "{crumbs}");
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    client.close().await.ok();
    server.abort();
    db.finish().await;
    result.expect("la journée d'une coordinatrice, sur un portable et un téléphone");
}
