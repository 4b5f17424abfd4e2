//! Benchmark: the coverage analysis of the offer for every commune of France, beside the time it
//! takes to read the same rows from the database, in the same run (see docs/PERFORMANCE.md).
//!
//! ```text
//! cargo run --release -p ctg-store --example bench_couverture -- DIR [--runs N] [--equipements N]
//! ```
//!
//! `DIR` holds `communes.json` and `epci.json` of `@etalab/decoupage-administratif` 6.0.0 (bench/run.sh
//! fetches them into `bench/.cache/decoupage-administratif-6.0.0`). The territory is loaded into a
//! fresh SQLite database in a temporary directory; an offer of 100,000 facilities is generated
//! deterministically (same seed, same offer) and imported in one `import_facilities` call. Then, `N`
//! times (after one warm-up round that is not kept):
//!   (a) the rows are read: `Store::all_facilities`;
//!   (b) the analysis runs for every commune of France on those rows, as the coverage page does it:
//!       copy of the rows' data, `services_by_commune`, `communes_without(…, "rpe")`,
//!       `places_per_hundred`.
//!
//! The report is in French; its last line, `analyse/lecture = X`, is the ratio of the medians, for
//! bench/run.sh (target: below 1).

use std::collections::HashMap;
use std::error::Error;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use ctg_domain::format::integer;
use ctg_domain::offer::{
    builtin_facility_types, communes_without, places_per_hundred, services_by_commune, FacilityStatus, NewFacility,
};
use ctg_domain::{Actor, Commune, InseeCode, TerritoryBatch, Vintage};
use ctg_store::Store;

/// The day of the analysis: facilities planned or closed by then do not count.
const DAY: (i32, u32, u32) = (2026, 6, 1);
const SEED: u64 = 0x00C7_6C0F_FE12_2026;

// The generator of the plan benchmarks: deterministic, good enough to spread a synthetic offer.
#[path = "common/plangen.rs"]
mod plangen;
use plangen::Rng;

/// The range of a generated capacity, bounds included.
type Capacity = (i64, i64);

/// How often each built-in type appears in the generated offer (weights out of their sum), and the
/// range of its capacity when it has one.
const TYPE_MIX: &[(&str, u64, Option<Capacity>)] = &[
    ("alsh_periscolaire", 200, Some((20, 150))),
    ("alsh_extrascolaire", 120, Some((20, 120))),
    ("eaje", 110, Some((15, 70))),
    ("micro_creche", 110, Some((10, 12))),
    ("mam", 90, Some((4, 16))),
    ("creche_familiale", 15, Some((20, 90))),
    ("rpe", 60, None),
    ("laep", 30, None),
    ("maison_1000_jours", 5, None),
    ("alsh_ados", 50, Some((12, 40))),
    ("ps_jeunes", 20, None),
    ("centre_social", 40, None),
    ("evs", 20, None),
    ("france_services", 30, None),
    ("pij", 20, None),
    ("point_justice", 10, None),
    ("cllaj", 5, None),
    ("promeneur_du_net", 25, None),
    ("pedt", 40, None),
];

const MANAGERS: &[&str] = &[
    "Commune",
    "Communauté de communes",
    "Association Familles rurales",
    "Association d'éducation populaire",
    "CCAS",
    "Entreprise de crèches",
    "Mutualité",
];

/// Children under 3 per commune, about 3 % of the population (±30 %), at least 1.
fn children_under_three(batch: &TerritoryBatch, rng: &mut Rng) -> HashMap<InseeCode, i64> {
    let mut latest: HashMap<&InseeCode, (Vintage, i64)> = HashMap::new();
    for p in &batch.populations {
        let Some(n) = p.population.municipal else { continue };
        let e = latest.entry(&p.commune).or_insert((p.vintage, n));
        if p.vintage > e.0 {
            *e = (p.vintage, n);
        }
    }
    batch
        .communes
        .iter()
        .map(|c| {
            let population = latest.get(&c.code).map_or(100, |v| v.1);
            let share = rng.range(21, 39) as f64 / 1000.0;
            (c.code.clone(), ((population as f64 * share).round() as i64).max(1))
        })
        .collect()
}

/// The generated offer: every commune gets a first facility, the rest go to communes in proportion to
/// their population; one in ten serves 1 to 5 other communes (the next codes of its département).
fn generate(batch: &TerritoryBatch, count: usize, rng: &mut Rng) -> Vec<(String, NewFacility)> {
    let mut communes: Vec<&Commune> = batch.communes.iter().collect();
    communes.sort_by(|a, b| a.code.cmp(&b.code));
    // The index range of each commune's département in `communes`, for neighbours by code order.
    let mut department_range: Vec<(usize, usize)> = vec![(0, 0); communes.len()];
    let mut start = 0;
    for i in 1..=communes.len() {
        if i == communes.len() || communes[i].department != communes[start].department {
            for r in &mut department_range[start..i] {
                *r = (start, i);
            }
            start = i;
        }
    }
    let population: HashMap<&InseeCode, i64> =
        batch.populations.iter().filter_map(|p| Some((&p.commune, p.population.municipal?))).collect();
    let mut cumulative = Vec::with_capacity(communes.len());
    let mut total: u64 = 0;
    for c in &communes {
        total += population.get(&c.code).copied().unwrap_or(1).max(1) as u64;
        cumulative.push(total);
    }
    let type_total: u64 = TYPE_MIX.iter().map(|t| t.1).sum();
    let mut serial_by_commune: HashMap<usize, u32> = HashMap::new();
    (0..count)
        .map(|n| {
            let at = if n < communes.len() {
                n
            } else {
                let draw = rng.next() % total;
                cumulative.partition_point(|&c| c <= draw)
            };
            let commune = communes[at];
            let mut pick = rng.next() % type_total;
            let &(type_code, _, capacity_range) = TYPE_MIX
                .iter()
                .find(|t| {
                    let hit = pick < t.1;
                    pick = pick.saturating_sub(t.1);
                    hit
                })
                .unwrap_or(&TYPE_MIX[0]);
            // 3 % of capacities unknown, where there is one: the places are then a lower bound.
            let capacity = capacity_range.filter(|_| !rng.chance(30)).map(|(lo, hi)| rng.range(lo, hi));
            let served = if rng.chance(100) {
                let (lo, hi) = department_range[at];
                // Never more than the other communes of the département, so that no code comes twice.
                let wanted = (rng.range(1, 5) as usize).min(hi - lo - 1);
                (1..=wanted)
                    .map(|k| lo + (at - lo + k) % (hi - lo))
                    .filter(|&i| i != at)
                    .map(|i| communes[i].code.clone())
                    .collect()
            } else {
                Vec::new()
            };
            let (status, opened_on, closed_on) = match rng.next() % 100 {
                0..=2 => (FacilityStatus::Planned, Some(rng.date(2027, 2029)), None),
                3..=6 => {
                    // Closed: some before the day of the analysis, some after (still active then).
                    let opened = rng.date(1985, 2012);
                    (FacilityStatus::Closed, Some(opened), Some(rng.date(2015, 2028)))
                }
                7..=16 => (FacilityStatus::Open, None, None),
                _ => (FacilityStatus::Open, Some(rng.date(1975, 2025)), None),
            };
            let serial = serial_by_commune.entry(at).or_default();
            *serial += 1;
            let labels = if rng.chance(50) { vec!["AVIP".to_owned()] } else { Vec::new() };
            let facility = NewFacility {
                type_code: type_code.to_owned(),
                name: format!("{type_code} n° {serial} de {}", commune.name),
                manager: MANAGERS[(rng.next() % MANAGERS.len() as u64) as usize].to_owned(),
                commune: commune.code.clone(),
                served,
                capacity,
                labels,
                status,
                opened_on,
                closed_on,
                external_id: Some(format!("BANC-{n:06}")),
                latitude: Some(41.3 + rng.range(0, 9_800) as f64 / 1000.0),
                longitude: Some(-5.1 + rng.range(0, 14_700) as f64 / 1000.0),
            };
            (format!("ligne {}", n + 2), facility)
        })
        .collect()
}

/// The peak resident set size of this process, in kibibytes (`VmHWM` of /proc/self/status).
fn peak_rss_kib() -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0).replace('.', ",")
}

fn decimal(x: f64, digits: usize) -> String {
    format!("{x:.digits$}").replace('.', ",")
}

#[derive(Debug, Default)]
struct Timings {
    read: Vec<Duration>,
    analysis: Vec<Duration>,
    copy: Vec<Duration>,
    services: Vec<Duration>,
    without: Vec<Duration>,
    places: Vec<Duration>,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let mut dir: Option<PathBuf> = None;
    let mut runs: usize = 5;
    let mut count: usize = 100_000;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => runs = args.next().ok_or("--runs attend un nombre")?.parse()?,
            "--equipements" => count = args.next().ok_or("--equipements attend un nombre")?.parse()?,
            _ if dir.is_none() => dir = Some(PathBuf::from(arg)),
            _ => return Err(format!("argument inattendu : {arg}").into()),
        }
    }
    let dir = dir.ok_or(
        "usage : bench_couverture DOSSIER [--runs N] [--equipements N] \
         (DOSSIER contient communes.json et epci.json de @etalab/decoupage-administratif 6.0.0)",
    )?;
    if runs == 0 {
        return Err("--runs doit valoir au moins 1".into());
    }
    let day = NaiveDate::from_ymd_opt(DAY.0, DAY.1, DAY.2).ok_or("date invalide")?;

    // The territory, into a fresh SQLite database.
    let communes_json = std::fs::read(dir.join("communes.json"))?;
    let epci_json = std::fs::read(dir.join("epci.json"))?;
    let batch = ctg_import::decoupage::parse(
        "communes.json",
        &communes_json,
        "epci.json",
        &epci_json,
        Vintage::new(2022)?,
        "@etalab/decoupage-administratif 6.0.0",
    )
    .map_err(|e| e.to_string())?
    .batch;
    drop((communes_json, epci_json));
    let tmp = tempfile::tempdir()?;
    let url = format!("sqlite://{}", tmp.path().join("couverture.db").display());
    let store = Store::open(&url).await?;
    let actor = Actor::cli("banc-essai");
    let started = Instant::now();
    store.import_territory(&actor, &batch, &|_| {}).await?;
    let territory_time = started.elapsed();

    // The offer and the children under 3, generated from the same seed at every run.
    let mut rng = Rng(SEED);
    let rows = generate(&batch, count, &mut rng);
    let children = children_under_three(&batch, &mut rng);
    let links: usize = rows.iter().map(|(_, f)| f.served.len()).sum();
    let planned = rows.iter().filter(|(_, f)| f.status == FacilityStatus::Planned).count();
    let closed = rows.iter().filter(|(_, f)| f.status == FacilityStatus::Closed).count();
    let serving = rows.iter().filter(|(_, f)| !f.served.is_empty()).count();
    let started = Instant::now();
    let imported = store.import_facilities(&actor, &rows, "banc d'essai bench_couverture").await?;
    let import_time = started.elapsed();
    if imported.created != count as u64 {
        return Err(format!("{} équipements créés au lieu de {count}", imported.created).into());
    }
    drop(rows);

    let mut communes: Vec<(InseeCode, String)> =
        batch.communes.iter().map(|c| (c.code.clone(), c.name.clone())).collect();
    communes.sort_by(|a, b| a.0.cmp(&b.0));
    let types = store.facility_types().await?;
    if types.len() < builtin_facility_types().len() {
        return Err("catalogue des types incomplet".into());
    }

    // One warm-up round, then `runs` timed rounds, each reading then analysing what it read.
    let mut t = Timings::default();
    let mut outcome = (0usize, 0i64, 0i64, None);
    for round in 0..=runs {
        let started = Instant::now();
        let facilities = store.all_facilities().await?;
        let read = started.elapsed();
        if facilities.len() != count || facilities.iter().map(|f| f.data.served.len()).sum::<usize>() != links {
            return Err("les lignes relues ne sont pas celles qui ont été écrites".into());
        }

        let started = Instant::now();
        let data: Vec<NewFacility> = facilities.iter().map(|f| f.data.clone()).collect();
        let copy = started.elapsed();
        let services = services_by_commune(&communes, &data, day);
        let after_services = started.elapsed();
        let without = communes_without(&services, "rpe");
        let after_without = started.elapsed();
        let (places, total) = places_per_hundred(&communes, &data, &types, &children, day, None);
        let analysis = started.elapsed();

        outcome = (
            without.len(),
            total.eaje_places + total.mam_places,
            total.children_under_three.unwrap_or(0),
            total.per_hundred,
        );
        black_box((&without, &places));
        drop((without, places));
        drop((services, data, facilities));
        if round > 0 {
            t.read.push(read);
            t.analysis.push(analysis);
            t.copy.push(copy);
            t.services.push(after_services - copy);
            t.without.push(after_without - after_services);
            t.places.push(analysis - after_without);
        }
    }
    store.close().await;
    drop(tmp);

    let read = median(&t.read);
    let analysis = median(&t.analysis);
    let ratio = analysis.as_secs_f64() / read.as_secs_f64();
    let min = |v: &[Duration]| v.iter().min().copied().unwrap_or_default();
    let n = |x: usize| integer(x as i64);
    println!(
        "Analyse de couverture de l'offre pour toute la France (SQLite, {runs} mesures après 1 tour d'échauffement)"
    );
    println!(
        "Territoire : {} communes, {} EPCI (importés en {} ms)",
        n(communes.len()),
        n(batch.epcis.len()),
        ms(territory_time)
    );
    println!(
        "Offre générée : {} équipements de {} types, dont {} desservant d'autres communes ({} liens de desserte), {} en projet, {} fermés",
        n(count),
        TYPE_MIX.len(),
        n(serving),
        n(links),
        n(planned),
        n(closed)
    );
    println!(
        "Import des équipements (un appel à import_facilities, hors mesure) : {} s",
        decimal(import_time.as_secs_f64(), 2)
    );
    println!("Lecture des lignes (Store::all_facilities) : médiane {} ms, min {} ms", ms(read), ms(min(&t.read)));
    println!(
        "Analyse de toutes les communes (services_by_commune + communes_without « rpe » + places_per_hundred) : médiane {} ms, min {} ms",
        ms(analysis),
        ms(min(&t.analysis))
    );
    println!(
        "  dont, en médianes : copie des lignes {} ms, services par commune {} ms, communes sans RPE {} ms, places pour 100 enfants {} ms",
        ms(median(&t.copy)),
        ms(median(&t.services)),
        ms(median(&t.without)),
        ms(median(&t.places))
    );
    let (without, places, children_total, per_hundred) = outcome;
    println!(
        "Résultat au {} : {} communes sans RPE ; {} places (EAJE et MAM) pour {} enfants de moins de 3 ans, soit {} pour 100",
        day.format("%d/%m/%Y"),
        n(without),
        integer(places),
        integer(children_total),
        per_hundred.map_or("-".to_owned(), |p| decimal(p, 1))
    );
    match peak_rss_kib() {
        Some(kib) => println!("Mémoire : pic de RSS {} Mio (VmHWM)", decimal(kib as f64 / 1024.0, 0)),
        None => println!("Mémoire : pic de RSS inconnu (/proc/self/status illisible)"),
    }
    println!("analyse/lecture = {}", decimal(ratio, 3));
    Ok(())
}
