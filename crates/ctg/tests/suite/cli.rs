//! The command line as users run it: the real binary, on both databases. Every bad input stops with
//! a message naming file, record and field, a non-zero exit code, and the database as it was.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ctg_domain::Siren;
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, Store};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data");

fn extract(name: &str) -> PathBuf {
    Path::new(DATA).join("decoupage-administratif-6.0.0-extrait").join(name)
}

fn ctg(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ctg"))
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env("CTG_LOG", "warn")
        .output()
        .expect("run ctg")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn import_territory(url: &str, communes: &Path, epci: &Path) -> Output {
    ctg(
        url,
        &[
            "import",
            "territoire",
            "--communes",
            communes.to_str().unwrap(),
            "--epci",
            epci.to_str().unwrap(),
            "--millesime",
            "2022",
        ],
    )
}

/// Everything an import could change, to compare before and after a refused one.
async fn fingerprint(store: &Store) -> String {
    let counts = store.territory_counts().await.unwrap();
    let epci = store.epci(&Siren::parse("200072460").unwrap()).await.ok();
    let communes = epci
        .map(|e| {
            e.communes.iter().map(|c| format!("{}:{}:{:?}", c.code, c.name, c.by_vintage)).collect::<Vec<_>>().join("|")
        })
        .unwrap_or_default();
    let conventions = store.conventions().await.unwrap();
    format!("{counts:?}/{communes}/{conventions:?}")
}

/// Writes `content` as `name` in a fresh temporary folder (kept alive by the returned guard).
fn file(name: &str, content: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    (dir, path)
}

backend_tests!(territory_import_and_reimport, |db: &TestDb| {
    let (store, url) = (db.store.clone(), db.url.clone());
    async move {
        let out = import_territory(&url, &extract("communes.json"), &extract("epci.json"));
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("172 communes (172 nouvelles, 0 déjà connues)"), "{text}");
        assert!(text.contains("3 communes déléguées, 2 communes associées, 9 arrondissements municipaux"), "{text}");
        assert!(text.contains("1 commune n'appartient à aucun EPCI"), "{text}");
        let first = fingerprint(&store).await;

        let out = import_territory(&url, &extract("communes.json"), &extract("epci.json"));
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("(0 nouvelles, 172 déjà connues)"), "{}", stdout(&out));
        assert_eq!(fingerprint(&store).await, first, "a re-import changes nothing");
    }
});

backend_tests!(bad_territory_files_leave_the_database_unchanged, |db: &TestDb| {
    let (store, url) = (db.store.clone(), db.url.clone());
    async move {
        // Start from a loaded territory, so that "unchanged" means something.
        assert!(import_territory(&url, &extract("communes.json"), &extract("epci.json")).status.success());
        let before = fingerprint(&store).await;
        let communes = std::fs::read_to_string(extract("communes.json")).unwrap();
        let epci = std::fs::read_to_string(extract("epci.json")).unwrap();

        let cases: Vec<(&str, String, String, &str)> = vec![
            ("invalid JSON", communes.replacen("[", "[{", 1), epci.clone(), "communes.json, ligne 2, colonne"),
            ("truncated", communes[..communes.len() / 2].to_string(), epci.clone(), "JSON tronqué"),
            (
                "missing field",
                communes.replacen("\"nom\": \"Béthune\",", "", 1),
                epci.clone(),
                "champ « nom » : champ manquant",
            ),
            (
                "bad INSEE code",
                communes.replacen("\"code\": \"62119\"", "\"code\": \"6211\"", 1),
                epci.clone(),
                "champ « code » : code INSEE « 6211 » invalide",
            ),
            (
                "bad SIREN",
                communes.clone(),
                epci.replacen("\"code\": \"200072460\"", "\"code\": \"200072461\"", 1),
                "epci.json, enregistrement n° 1 (code 200072461), champ « code » : SIREN « 200072461 » invalide",
            ),
            (
                "bad member",
                communes.clone(),
                epci.replacen("\"code\": \"62119\"", "\"code\": \"99119\"", 1),
                "champ « membres[1].code » : code INSEE « 99119 » invalide",
            ),
            (
                "negative population",
                communes.clone(),
                epci.replacen("\"populationMunicipale\": 25342", "\"populationMunicipale\": -3", 1),
                "populationMunicipale » : entier positif ou nul attendu, trouvé -3",
            ),
        ];
        for (what, c, e, expected) in cases {
            let dir = tempfile::tempdir().unwrap();
            let (cp, ep) = (dir.path().join("communes.json"), dir.path().join("epci.json"));
            std::fs::write(&cp, &c).unwrap();
            std::fs::write(&ep, &e).unwrap();
            let out = import_territory(&url, &cp, &ep);
            assert!(!out.status.success(), "{what}: should fail");
            assert!(stderr(&out).contains(expected), "{what}: {}", stderr(&out));
            assert!(stderr(&out).contains("rien n'a été écrit"), "{what}: {}", stderr(&out));
            assert_eq!(fingerprint(&store).await, before, "{what}: the database changed");
        }
        let out = import_territory(&url, Path::new("/nulle/part/communes.json"), &extract("epci.json"));
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("impossible de lire /nulle/part/communes.json : fichier introuvable"),
            "{}",
            stderr(&out)
        );
    }
});

backend_tests!(populations_csv_good_and_bad, |db: &TestDb| {
    let (store, url) = (db.store.clone(), db.url.clone());
    async move {
        assert!(import_territory(&url, &extract("communes.json"), &extract("epci.json")).status.success());
        let annex = Path::new(DATA).join("demo/populations-annexe-convention.csv");
        let out = ctg(&url, &["import", "populations", "--csv", annex.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("200 populations importées"), "{}", stdout(&out));
        let before = fingerprint(&store).await;

        let header = "code_insee,nom,millesime,population_municipale,population_comptee_a_part,population_totale\n";
        let (_d, unknown) = file("p.csv", &format!("{header}62119,Béthune,2019,1,0,1\n59350,Lille,2021,1,0,1\n"));
        let out = ctg(&url, &["import", "populations", "--csv", unknown.to_str().unwrap()]);
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("p.csv, ligne 3, champ « code_insee » : la commune 59350 est inconnue"),
            "{}",
            stderr(&out)
        );
        let (_d, bad) = file("p.csv", &format!("{header}62119,Béthune,2019,dix,0,1\n"));
        let out = ctg(&url, &["import", "populations", "--csv", bad.to_str().unwrap()]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains("p.csv, ligne 2, champ « population_municipale » : « dix »"), "{}", stderr(&out));
        assert_eq!(fingerprint(&store).await, before);
    }
});

backend_tests!(conventions_from_the_command_line, |db: &TestDb| {
    let (store, url) = (db.store.clone(), db.url.clone());
    async move {
        let create = |args: &[&str]| {
            let mut all = vec!["convention", "create"];
            all.extend_from_slice(args);
            ctg(&url, &all)
        };
        let out =
            create(&["--epci", "200072460", "--debut", "2026-01-01", "--fin", "2030-12-31", "--titre", "CTG test"]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains("l'EPCI 200072460 est inconnu"), "{}", stderr(&out));

        assert!(import_territory(&url, &extract("communes.json"), &extract("epci.json")).status.success());
        // Any EPCI can carry a CTG: here the CA du Pays Ajaccien.
        let out = create(&[
            "--epci",
            "242010056",
            "--debut",
            "01/01/2025",
            "--fin",
            "31/12/2029",
            "--titre",
            "CTG du Pays Ajaccien",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let out = create(&["--epci", "242010057", "--debut", "2025-01-01", "--fin", "2029-12-31", "--titre", "X"]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains("SIREN « 242010057 » invalide"), "{}", stderr(&out));
        let out = create(&["--epci", "242010056", "--debut", "2025-13-01", "--fin", "2029-12-31", "--titre", "X"]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains("date invalide « 2025-13-01 »"), "{}", stderr(&out));
        let out = create(&["--epci", "242010056", "--debut", "2025-01-01", "--fin", "2024-12-31", "--titre", "X"]);
        assert!(stderr(&out).contains("la fin (2024-12-31) précède le début (2025-01-01)"), "{}", stderr(&out));
        let out = create(&[
            "--epci",
            "242010056",
            "--debut",
            "2025-01-01",
            "--fin",
            "2029-12-31",
            "--titre",
            "X",
            "--statut",
            "validee",
        ]);
        assert!(stderr(&out).contains("valeur inconnue « validee »"), "{}", stderr(&out));

        let list = store.conventions().await.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].title, "CTG du Pays Ajaccien");
        let out = create(&[
            "--epci",
            "242010056",
            "--debut",
            "2030-01-01",
            "--fin",
            "2034-12-31",
            "--titre",
            "CTG 2",
            "--precedente",
            &list[0].id.to_string(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let listed = stdout(&ctg(&url, &["convention", "list"]));
        assert!(listed.contains("CTG 2") && listed.contains("CTG du Pays Ajaccien"), "{listed}");
    }
});

backend_tests!(demo_loads_once, |db: &TestDb| {
    let (store, url) = (db.store.clone(), db.url.clone());
    async move {
        let out = ctg(&url, &["demo"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("Démonstration chargée"), "{}", stdout(&out));
        let loaded = fingerprint(&store).await;
        let out = ctg(&url, &["demo"]);
        assert!(out.status.success());
        assert!(stdout(&out).contains("déjà chargée"), "{}", stdout(&out));
        assert_eq!(fingerprint(&store).await, loaded);
    }
});

#[test]
fn migrate_creates_a_missing_sqlite_database_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nouvelle.db");
    let url = format!("sqlite://{}", path.display());
    let out = ctg(&url, &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(path.exists());
    // A WAL database carries 2 in bytes 18 and 19 of its header.
    let header = std::fs::read(&path).unwrap();
    assert_eq!((header[18], header[19]), (2, 2));
    let out = ctg("mysql://localhost/x", &["migrate"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("doit commencer par sqlite:// ou postgres://"), "{}", stderr(&out));
}

fn ctg_stdin(url: &str, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ctg"))
        .arg("--database-url")
        .arg(url)
        .args(args)
        .env("CTG_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run ctg");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

backend_tests!(accounts_from_the_command_line, |db: &TestDb| {
    let (store, url) = (db.store.clone(), db.url.clone());
    async move {
        assert!(ctg(&url, &["demo"]).status.success());
        let out = ctg(&url, &["user", "add", "--nom", "Claire Coordination", "--email", "Claire@CABBALR.fr"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        let password = text.lines().find_map(|l| l.split(" : ").nth(1)).expect("a one-time password").trim().to_owned();
        let claire = store.user_by_email("claire@cabbalr.fr").await.unwrap().unwrap();
        assert!(claire.must_change_password);
        assert!(store.verify_login("claire@cabbalr.fr", &password, "test", chrono::Utc::now()).await.unwrap().is_ok());

        let out = ctg(&url, &["user", "add", "--nom", "Camille", "--email", "camille@caf.fr", "--organisation", "caf"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let camille = store.user_by_email("camille@caf.fr").await.unwrap().unwrap();
        assert_eq!(camille.organisation_id, Some(store.organisation_named("CAF").await.unwrap()));
        let out = ctg(&url, &["user", "add", "--nom", "X", "--email", "x@x.fr", "--organisation", "Mairie"]);
        assert!(
            stderr(&out).contains("aucune organisation ne s'appelle « Mairie » (organisations connues : CAF, CABBALR"),
            "{}",
            stderr(&out)
        );
        let out = ctg(&url, &["user", "add", "--nom", "Autre", "--email", "claire@cabbalr.fr"]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains("un compte existe déjà pour l'adresse claire@cabbalr.fr"), "{}", stderr(&out));

        let out = ctg_stdin(&url, &["user", "set-password", "--email", "claire@cabbalr.fr", "--stdin"], "trop court\n");
        assert!(!out.status.success());
        assert!(stderr(&out).contains("recommandation de la CNIL"), "{}", stderr(&out));
        let out = ctg_stdin(
            &url,
            &["user", "set-password", "--email", "claire@cabbalr.fr", "--stdin"],
            "Une-Phrase-De-Passe-2026\n",
        );
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(!store.user(claire.id).await.unwrap().must_change_password);
        assert!(store
            .verify_login("claire@cabbalr.fr", "Une-Phrase-De-Passe-2026", "t", chrono::Utc::now())
            .await
            .unwrap()
            .is_ok());

        let out =
            ctg(&url, &["user", "role", "--email", "claire@cabbalr.fr", "--convention", "2", "--role", "coordination"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(store.role(claire.id, 2).await.unwrap(), Some(ctg_domain::access::Role::Coordination));
        let out = ctg(&url, &["user", "role", "--email", "claire@cabbalr.fr", "--convention", "2", "--role", "chef"]);
        assert!(stderr(&out).contains("valeur inconnue « chef »"), "{}", stderr(&out));
        let out = ctg(&url, &["user", "role", "--email", "personne@x.fr", "--convention", "2", "--role", "lecteur"]);
        assert!(stderr(&out).contains("aucun compte n'a l'adresse « personne@x.fr »"), "{}", stderr(&out));

        // An API token, shown alone on the last line; read-only unless --ecriture.
        let out = ctg(&url, &["user", "token", "--email", "claire@cabbalr.fr", "--nom", "contrat", "--ecriture"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let secret = stdout(&out).lines().last().unwrap().to_owned();
        let (owner, can_write) = store.token_owner(&secret).await.unwrap().expect("a valid token");
        assert_eq!((owner.id, can_write), (claire.id, true));
        let out = ctg(&url, &["user", "token", "--email", "claire@cabbalr.fr", "--nom", "lecture"]);
        let secret = stdout(&out).lines().last().unwrap().to_owned();
        assert!(!store.token_owner(&secret).await.unwrap().unwrap().1);
        let out = ctg(&url, &["user", "token", "--email", "claire@cabbalr.fr", "--nom", " "]);
        assert!(stderr(&out).contains("donnez un nom au jeton"), "{}", stderr(&out));

        let out = ctg(&url, &["user", "disable", "--email", "claire@cabbalr.fr"]);
        assert!(out.status.success());
        let listed = stdout(&ctg(&url, &["user", "list"]));
        assert!(listed.contains("Claire Coordination  <claire@cabbalr.fr>  désactivé"), "{listed}");
        // Every change above is in the audit trail, made by the command line.
        let history = store.history(&ctg_store::HistoryFilter::default()).await.unwrap();
        assert!(
            history.iter().filter(|e| e.channel == ctg_domain::Channel::Cli && e.object_type == "utilisateur").count()
                >= 3
        );
        assert!(history.iter().any(|e| e.object_type == "role" && e.channel == ctg_domain::Channel::Cli));
    }
});

#[test]
fn serve_creates_the_first_administrator_without_writing_a_secret_to_a_non_terminal() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("serve.db").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_ctg"))
        .args(["--database-url", &url, "serve", "--addr", "127.0.0.1:0", "--sans-demo"])
        .env("CTG_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let done = line.starts_with("Plateforme CTG disponible");
        lines.push(line);
        if done {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let out = lines.join("\n");
    assert!(out.contains("Premier compte administrateur créé : admin@ctg.local, sans mot de passe"), "{out}");
    assert!(out.contains("ctg user set-password --email admin@ctg.local"), "{out}");
    assert!(!out.contains("usage unique"), "{out}");
    // Exactly one account: the administrator.
    let out = Command::new(env!("CARGO_BIN_EXE_ctg")).args(["--database-url", &url, "user", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(listed.contains("admin@ctg.local") && listed.contains("administrateur"), "{listed}");
}

backend_tests!(observations_from_csv_good_and_bad, |db: &TestDb| {
    let (store, url) = (db.store.clone(), db.url.clone());
    async move {
        let area = [ctg_domain::diagnostic::Area::parse("epci", "200072460").unwrap()];
        let header = "indicateur,type_territoire,code_territoire,periode,valeur,source,date_donnees\n";
        let (_d, bad) = file(
            "o.csv",
            &format!(
                "{header}taux_pauvrete,epci,200072460,2021,\"18,6\",Insee,\nnaissances,epci,200072461,2021,12,Insee,\n"
            ),
        );
        let out = ctg(&url, &["import", "observations", "--csv", bad.to_str().unwrap()]);
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("o.csv, ligne 3, champ « code_territoire » : SIREN « 200072461 » invalide"),
            "{}",
            stderr(&out)
        );
        assert!(store.observations(&area).await.unwrap().is_empty(), "nothing written");
        let (_d, good) = file("o.csv", &format!("{header}taux_pauvrete,epci,200072460,2021,\"18,6\",Insee,\nnaissances,epci,200072460,2023,2610,Insee,\n"));
        let out = ctg(&url, &["import", "observations", "--csv", good.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).contains("2 observations importées"), "{}", stdout(&out));
        let obs = store.observations(&area).await.unwrap();
        assert_eq!(obs.len(), 2);
        assert!(obs.iter().any(|o| o.indicator == "taux_pauvrete" && o.value == 18.6));
    }
});

/// Clap's own errors come out in French, with its exit code 2; `--help` is unchanged.
#[test]
fn command_line_errors_are_in_french() {
    let run =
        |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_ctg")).args(args).env("CTG_LOG", "warn").output().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["--option-inconnue"], "erreur : option inconnue « --option-inconnue »"),
        (&["serve", "--adr", "x"], "erreur : option inconnue « --adr »"),
        (&["convention", "create", "--titre", "T"], "erreur : argument obligatoire absent"),
        (
            &["serve", "--session-inactivite", "beaucoup"],
            "invalide pour --session-inactivite <SESSION_INACTIVITE> : un nombre entier est attendu",
        ),
        (&["commande-inconnue"], "erreur : commande inconnue « commande-inconnue »"),
    ];
    for (args, expected) in cases {
        let o = run(args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(err.contains("Pour plus d'informations, essayez « --help »."), "{args:?}: {err}");
        for english in [
            "error:",
            "unexpected argument",
            "required arguments",
            "invalid value",
            "invalid digit",
            "For more information",
            "Usage:",
        ] {
            assert!(!err.contains(english), "{args:?}: English left: {err}");
        }
    }
    let help = run(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("Utilisation :"), "{}", stdout(&help));
}
