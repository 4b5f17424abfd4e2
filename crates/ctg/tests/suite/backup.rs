//! Backups (issue 16): `ctg sauvegarde` writes a consistent copy while the platform runs, `ctg
//! restauration` restores it into an empty database and checks it. A backup taken while 8 connections
//! write holds every change committed before it began, and exactly the changes its own audit trail
//! records, on SQLite and on PostgreSQL (a database of its own for each, created and dropped here).

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ctg_store::testing::POSTGRES_ENV;
use ctg_store::{Backend, HistoryFilter, Store};

/// Two fresh databases (source, destination) on `backend`, and how to drop them.
struct Databases {
    source: String,
    destination: String,
    _dir: tempfile::TempDir,
    postgres: Option<(String, Vec<String>)>,
}

impl Databases {
    async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => Self {
                source: format!("sqlite://{}", dir.path().join("source.db").display()),
                destination: format!("sqlite://{}", dir.path().join("restauree.db").display()),
                _dir: dir,
                postgres: None,
            },
            Backend::Postgres => {
                let admin = std::env::var(POSTGRES_ENV)
                    .unwrap_or_else(|_| panic!("{POSTGRES_ENV} is not set: this test needs a PostgreSQL server"));
                let base = admin.split('?').next().unwrap();
                let (server, _) = base.rsplit_once('/').unwrap();
                let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
                let names: Vec<String> = ["src", "dst"]
                    .iter()
                    .map(|k| format!("ctg_sauvegarde_{k}_{}_{stamp}", std::process::id()))
                    .collect();
                let store = Store::connect(&admin).await.unwrap();
                for n in &names {
                    store.execute_raw(&format!("CREATE DATABASE {n}")).await.unwrap();
                }
                store.close().await;
                Self {
                    source: format!("{server}/{}", names[0]),
                    destination: format!("{server}/{}", names[1]),
                    _dir: dir,
                    postgres: Some((admin, names)),
                }
            }
        }
    }

    async fn drop_all(self) {
        if let Some((admin, names)) = &self.postgres {
            let store = Store::connect(admin).await.unwrap();
            for n in names {
                let _ = store.execute_raw(&format!("DROP DATABASE IF EXISTS {n} WITH (FORCE)")).await;
            }
            store.close().await;
        }
    }
}

async fn backup_while_eight_connections_write(backend: Backend) {
    let dbs = Databases::new(backend).await;
    let store = Store::open(&dbs.source).await.unwrap();
    let id = ctg::demo::load(&store).await.unwrap().convention_id();
    let stop = Arc::new(AtomicBool::new(false));
    let committed: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..8 {
        let (store, stop, committed) = (store.clone(), stop.clone(), committed.clone());
        writers.push(tokio::spawn(async move {
            let actor = ctg_domain::Actor::cli("écrivain");
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let code = format!("S-{w}.{n}");
                if store.create_fiche(&actor, id, crate::pdf_documents::fiche(&code, "")).await.is_ok() {
                    committed.lock().unwrap().push((code, Instant::now()));
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let began = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sauvegarde.bin");
    let manifest = store.backup(&dbs.source, &file).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let committed = committed.lock().unwrap().clone();
    let live = store.plan(id).await.unwrap().fiches.len();
    store.close().await;
    assert!(!committed.is_empty());

    // The same file again is never overwritten.
    let again = Store::open(&dbs.source).await.unwrap();
    let e = again.backup(&dbs.source, &file).await.unwrap_err().to_string();
    assert!(e.contains("existe déjà"), "{e}");
    again.close().await;

    let (restored, report) = Store::restore(&dbs.destination, &file, &manifest).await.unwrap();
    assert_eq!(report.changes, manifest.journal.changements);
    let fiches = restored.plan(id).await.unwrap().fiches;
    let codes: BTreeSet<&str> = fiches.iter().map(|f| f.fiche.code.as_str()).collect();
    // Every fiche committed before the backup began is there.
    let before: Vec<&String> = committed.iter().filter(|(_, at)| *at < began).map(|(c, _)| c).collect();
    for code in &before {
        assert!(codes.contains(code.as_str()), "the fiche {code}, committed before the backup, is missing");
    }
    // Compared against the audit trail: the restored database holds exactly the fiches whose creation
    // its own journal records, no more, no less.
    let journal = restored
        .history(&HistoryFilter { convention_id: Some(id), object_type: Some("fiche".into()), ..Default::default() })
        .await
        .unwrap();
    let created: BTreeSet<i64> =
        journal.iter().filter(|e| e.action == "creation").map(|e| e.object_id.parse().unwrap()).collect();
    let present: BTreeSet<i64> = fiches.iter().map(|f| f.id).collect();
    assert_eq!(created, present, "the fiches of the restored database and the creations of its journal");
    println!(
        "{backend:?} : {} fiches écrites par 8 connexions ({} avant la sauvegarde), {} dans la sauvegarde, {live} à la fin ; {} tables et {} lignes vérifiées",
        committed.len(),
        before.len(),
        fiches.len(),
        report.tables,
        report.rows
    );
    restored.close().await;

    // A restoration never overwrites: the destination is no longer empty.
    let e = Store::restore(&dbs.destination, &file, &manifest).await.unwrap_err().to_string();
    assert!(e.contains("n'est pas vide"), "{e}");
    // A modified file is refused before anything is written.
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    let e = Store::restore(&dbs.destination, &file, &manifest).await.unwrap_err().to_string();
    assert!(e.contains("ne correspond pas à son manifeste"), "{e}");
    dbs.drop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_eight_connections_write_holds_every_committed_change_sqlite() {
    backup_while_eight_connections_write(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_eight_connections_write_holds_every_committed_change_postgres() {
    backup_while_eight_connections_write(Backend::Postgres).await;
}

/// The commands, as the README gives them.
#[test]
fn ctg_sauvegarde_then_ctg_restauration_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let ctg = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_ctg")).args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let source = format!("sqlite://{}", dir.path().join("ctg.db").display());
    let file = dir.path().join("sauvegarde-2026-12-07.db");
    assert!(ctg(&["--database-url", &source, "demo"]).0);
    let (ok, out) = ctg(&["--database-url", &source, "sauvegarde", file.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("Sauvegarde écrite") && out.contains("Manifeste"), "{out}");
    assert!(dir.path().join("sauvegarde-2026-12-07.db.manifeste.json").exists());
    let target = format!("sqlite://{}", dir.path().join("restauree.db").display());
    let (ok, out) = ctg(&["--database-url", &target, "restauration", file.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("Restauration vérifiée") && out.contains("identiques à la sauvegarde"), "{out}");
    // Into a database that is not empty: refused, in French.
    let (ok, out) = ctg(&["--database-url", &source, "restauration", file.to_str().unwrap()]);
    assert!(!ok && out.contains("n'est pas vide"), "{out}");
}
