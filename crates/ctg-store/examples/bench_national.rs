//! Benchmark data at national scale (issue 16, point 5): every EPCI of France and one CTG for each of
//! the first `--conventions` of them (1,200 by default), each with a plan of 30 to 200 fiches and their
//! indicators over 2026-2030, two bodies with meetings and decisions, a coordinator, and the CAF of
//! the département as a party; then one adviser of a CAF who follows `--portefeuille` conventions (30
//! by default) with an API token, for `bench/national.sh`.
//!
//! ```text
//! cargo run --release -p ctg-store --example bench_national -- URL --decoupage DIR \
//!     [--conventions 1200] [--portefeuille 30] [--jeton FICHIER]
//! ```
//!
//! `URL` is an empty database (PostgreSQL for the benchmark; SQLite works for a small trial), `DIR`
//! holds `communes.json` and `epci.json` of @etalab/decoupage-administratif (fetched by bench/run.sh).
//! Everything is generated deterministically and written through the store, as users would write it.
//! The token of the adviser is written to `--jeton` (default `national.jeton`), the token of the
//! coordinator of the first convention (for the write path) beside it (`national.ecriture`).

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use chrono::{Datelike, NaiveDate, NaiveTime};
use ctg_domain::access::Role;
use ctg_domain::governance::{NewDecision, NewMeeting};
use ctg_domain::{Actor, InseeCode, Vintage};
use ctg_store::Store;

#[path = "common/plangen.rs"]
mod plangen;
use plangen::*;

const SOURCE: &str = "banc d'essai bench_national";
const DEMO_CONVENTIONS: &[u8] = include_bytes!("../../../data/demo/conventions.json");

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let (mut url, mut decoupage, mut conventions, mut portfolio, mut token_file) =
        (None, None, 1200usize, 30usize, PathBuf::from("national.jeton"));
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} attend une valeur"));
        match arg.as_str() {
            "--decoupage" => decoupage = Some(PathBuf::from(value()?)),
            "--conventions" => conventions = value()?.parse()?,
            "--portefeuille" => portfolio = value()?.parse()?,
            "--jeton" => token_file = PathBuf::from(value()?),
            _ if url.is_none() => url = Some(arg),
            _ => return Err(format!("argument inattendu : {arg}").into()),
        }
    }
    let usage = "usage : bench_national URL --decoupage DOSSIER [--conventions N] [--portefeuille N] [--jeton FICHIER]";
    let url = url.ok_or(usage)?;
    let decoupage = decoupage.ok_or(usage)?;
    let everything = Instant::now();
    let store = Store::open(&url).await?;
    let actor = Actor::cli("banc-essai-national");
    if !store.conventions().await?.is_empty() {
        return Err("la base contient déjà des conventions : partez d'une base neuve".into());
    }

    // 1. The territory of France.
    let started = Instant::now();
    let read = |name: &str| std::fs::read(decoupage.join(name)).map_err(|e| format!("{name} : {e}"));
    let territory = ctg_import::decoupage::parse(
        "communes.json",
        &read("communes.json")?,
        "epci.json",
        &read("epci.json")?,
        Vintage::new(2022)?,
        "@etalab/decoupage-administratif 6.0.0",
    )?;
    store.import_territory(&actor, &territory.batch, &|_| {}).await?;
    let mut epcis = territory.batch.epcis.clone();
    epcis.sort_by(|a, b| a.siren.as_str().cmp(b.siren.as_str()));
    println!(
        "territoire : {} EPCI, {} communes ({:.1} s)",
        epcis.len(),
        territory.batch.communes.len(),
        started.elapsed().as_secs_f64()
    );
    if epcis.len() < conventions {
        return Err(format!("{} EPCI seulement pour {conventions} conventions", epcis.len()).into());
    }

    // 2. One convention per EPCI: the strategy and bodies of the demo's CTG, the EPCI and the CAF of its
    //    département as parties.
    let template = ctg_import::convention::parse("conventions.json", DEMO_CONVENTIONS)?
        .pop()
        .ok_or("la convention de la démonstration manque")?;
    let department = |members: &[InseeCode]| members.first().map(|c| c.departement().to_owned()).unwrap_or_default();
    let mut list = Vec::with_capacity(conventions);
    for e in epcis.iter().take(conventions) {
        let dep = department(&e.members);
        let mut c = template.clone();
        c.title = format!("Convention Territoriale Globale 2026-2030 — {}", e.name);
        c.epci = e.siren.clone();
        c.predecessor = None;
        // Not published: the adviser's portfolio holds the conventions where she has a role.
        c.published = false;
        let mut epci_party = template.parties[0].clone();
        epci_party.organisation.name = format!("{} ({})", e.name, e.siren.as_str());
        epci_party.organisation.short_name = None;
        epci_party.organisation.siren = Some(e.siren.clone());
        let mut caf = template.parties[1].clone();
        caf.organisation.name = format!("Caisse d'allocations familiales du département {dep}");
        caf.organisation.short_name = Some(format!("CAF {dep}"));
        caf.organisation.siren = None;
        c.parties = vec![epci_party, caf];
        list.push(c);
    }
    let started = Instant::now();
    let ids = store.create_conventions(&actor, &list, None).await?;
    println!("{} conventions créées ({:.1} s)", ids.len(), started.elapsed().as_secs_f64());

    // 3. Each plan: 30 to 200 fiches, 2 indicators each with a target per year, objectives, a
    //    meeting of each body in the past and one to come, three decisions, a coordinator.
    let mut rng = Rng(SEED);
    let started = Instant::now();
    let (mut fiches_total, mut indicators_total) = (0usize, 0usize);
    for (n, (&id, e)) in ids.iter().zip(&epcis).enumerate() {
        for o in objectives() {
            store.create_objective(&actor, id, &o).await?;
        }
        let parties = store.party_refs(id).await?;
        let names: Vec<String> = parties.iter().map(|p| p.label().to_owned()).collect();
        let pilots: Vec<&str> = names.iter().map(String::as_str).collect();
        let count = rng.range(30, 200) as usize;
        let rows = fiches_of(&mut rng, count, 2, &pilots, &e.members, &parties);
        store.import_plan(&actor, id, &rows, SOURCE).await?;
        fiches_total += count;
        indicators_total += count * 2;
        let detail = store.convention(id).await?;
        let bodies = store.bodies(id).await?;
        for (k, b) in bodies.iter().take(2).enumerate() {
            let k = k as u32;
            for date in [ymd(2026, 3 + k, 10 + k), ymd(2027, 3 + k, 10 + k)] {
                let meeting = NewMeeting {
                    title: None,
                    date,
                    start: NaiveTime::from_hms_opt(14, 0, 0).unwrap_or_default(),
                    end: NaiveTime::from_hms_opt(16, 0, 0).unwrap_or_default(),
                    place: Some(format!("Siège de {}", e.name)),
                    video_link: None,
                };
                let m = store.create_meeting(&actor, id, b.id, meeting).await?;
                if date.year_ce().1 == 2026 {
                    for d in 0..2u32 {
                        let decision = NewDecision {
                            text: format!("Décision n° {} de la séance : lancer le groupe de travail.", d + 1),
                            fiches: Vec::new(),
                            follow_up: "Coordination CTG".to_owned(),
                            due: Some(ymd(2026, 11 + d, 15)),
                        };
                        store.add_decision(&actor, id, m, decision).await?;
                    }
                }
            }
        }
        let email = format!("coordination-{}@ctg.test", e.siren.as_str());
        let user = ctg_store::NewUser {
            name: &format!("Coordination {}", e.name),
            email: &email,
            organisation_id: detail.parties.first().map(|p| p.organisation_id),
            is_admin: false,
            password: None,
            must_change_password: false,
        };
        let uid = store.create_user(&actor, &user).await?;
        store.set_role(&actor, id, uid, Some(Role::Coordination)).await?;
        if n == 0 {
            // The write path of the benchmark: the coordinator of the first convention.
            let (_, secret) = store.create_token(&actor, uid, "banc d'essai national (écriture)", true).await?;
            std::fs::write(token_file.with_extension("ecriture"), &secret)?;
        }
        if (n + 1) % 100 == 0 {
            println!("  {} conventions remplies ({:.0} s)", n + 1, started.elapsed().as_secs_f64());
        }
    }
    println!(
        "plans : {fiches_total} fiches, {indicators_total} indicateurs, séances et décisions ({:.1} s)",
        started.elapsed().as_secs_f64()
    );

    // 4. The adviser of a CAF who follows the first `portfolio` conventions, and her token.
    let adviser = ctg_store::NewUser {
        name: "Conseillère CAF du banc d'essai",
        email: "conseillere@caf.test",
        organisation_id: None,
        is_admin: false,
        password: None,
        must_change_password: false,
    };
    let uid = store.create_user(&actor, &adviser).await?;
    for &id in ids.iter().take(portfolio) {
        store.set_role(&actor, id, uid, Some(Role::Reader)).await?;
    }
    let (_, secret) = store.create_token(&actor, uid, "banc d'essai national", true).await?;
    std::fs::write(&token_file, &secret)?;
    println!(
        "conseillère CAF : {portfolio} conventions, jeton écrit dans {} ; terminé en {:.1} s",
        token_file.display(),
        everything.elapsed().as_secs_f64()
    );
    Ok(())
}
