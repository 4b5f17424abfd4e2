//! Benchmark data: a large action plan for the CTG 2026-2030 of the demo, so that bench/run.sh can
//! measure the plan tree page (`/conventions/2/plan`) beside a static page of the same server (see
//! docs/PERFORMANCE.md).
//!
//! ```text
//! cargo run --release -p ctg-store --example bench_plan -- sqlite://PATH [--convention N]
//! ```
//!
//! `PATH` is a SQLite database that already holds the demo (`ctg --database-url sqlite://PATH demo`);
//! the convention (2 by default, the CTG 2026-2030 with its 8 ambitions) must have no objective and no
//! fiche yet. Everything is generated deterministically (xorshift64* with a fixed seed: the same plan at
//! every run) and written through the store, as users would write it:
//!   1. 16 objectives, 2 per ambition (`create_objective`), before the fiches that name them;
//!   2. 200 fiches spread over the ambitions and objectives, with varied statuses, dates over 2026-2030,
//!      the means of 2 or 3 signatories for each of the 5 years, and 5 indicators each (1,000 in all,
//!      quantitative with a target per year 2026-2030, a few qualitative), in one `import_plan` call;
//!   3. 3 sub-actions per fiche: 2 on the first level, the first with a child (`add_sub_action`);
//!   4. values of the indicators for 2026-2029, about one in ten missing so that lateness exists
//!      (`add_indicator_value`).
//!
//! Then the plan is read back (`Store::plan`) and checked against what was written. The summary is
//! printed in French.

use std::collections::{BTreeMap, HashMap};
use std::error::Error;
use std::time::{Duration, Instant};

use ctg_domain::format::integer;
use ctg_domain::plan::IndicatorKind;
use ctg_domain::{Actor, InseeCode};
use ctg_store::Store;

#[path = "common/plangen.rs"]
mod plangen;
use plangen::*;

fn seconds(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64()).replace('.', ",")
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0).replace('.', ",")
}

fn euros(cents: i64) -> String {
    format!("{} €", integer(cents / 100))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let mut url: Option<String> = None;
    let mut convention_id: i64 = 2;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--convention" => convention_id = args.next().ok_or("--convention attend un numéro")?.parse()?,
            _ if url.is_none() => url = Some(arg),
            _ => return Err(format!("argument inattendu : {arg}").into()),
        }
    }
    let url = url.ok_or(
        "usage : bench_plan sqlite://CHEMIN [--convention N] \
         (une base où la démonstration est déjà chargée : ctg --database-url sqlite://CHEMIN demo)",
    )?;
    let everything = Instant::now();
    let store = Store::open(&url).await?;
    let actor = Actor::cli("banc-essai");
    let summary = store.convention_summary(convention_id).await?;
    let before = store.plan(convention_id).await?;
    let ambitions: usize = before.stakes.iter().map(|s| s.2.len()).sum();
    if ambitions < AMBITIONS.len() {
        return Err(format!(
            "la convention n° {convention_id} a {ambitions} ambition(s) ; il en faut {} (la CTG 2026-2030 de la démonstration)",
            AMBITIONS.len()
        )
        .into());
    }
    if !before.fiches.is_empty() || !before.objectives.is_empty() {
        return Err(format!(
            "le plan de la convention n° {convention_id} n'est pas vide ({} objectif(s), {} fiche(s)) : partez d'une base neuve",
            before.objectives.len(),
            before.fiches.len()
        )
        .into());
    }
    let communes: Vec<InseeCode> =
        store.epci(&summary.epci_siren).await?.communes.into_iter().map(|c| c.code).collect();
    let mut rng = Rng(SEED);

    // 1. The objectives, before the fiches that name them.
    let started = Instant::now();
    let objectives = objectives();
    for o in &objectives {
        store.create_objective(&actor, convention_id, o).await?;
    }
    let objectives_time = started.elapsed();

    // 2. The fiches, their means and their indicators, in one import.
    let parties = store.party_refs(convention_id).await?;
    if parties.len() < 3 {
        return Err(
            format!("la convention n° {convention_id} a {} partie(s) ; il en faut au moins 3", parties.len()).into()
        );
    }
    let rows = fiches(&mut rng, &communes, &parties);
    let started = Instant::now();
    let (created, updated) = store.import_plan(&actor, convention_id, &rows, SOURCE).await?;
    let import_time = started.elapsed();
    if created != FICHES as u64 || updated != 0 {
        return Err(
            format!("{created} fiche(s) créée(s) et {updated} mise(s) à jour au lieu de {FICHES} créées").into()
        );
    }
    let plan = store.plan(convention_id).await?;
    let fiche_ids: HashMap<&str, i64> = plan.fiches.iter().map(|f| (f.fiche.code.as_str(), f.id)).collect();

    // 3. Sub-actions: two on the first level, the first with a child.
    let started = Instant::now();
    let mut subs = 0usize;
    for (_, fiche, _, _) in &rows {
        let fiche_id = *fiche_ids.get(fiche.code.as_str()).ok_or("fiche importée introuvable")?;
        let first = store.add_sub_action(&actor, convention_id, fiche_id, &sub_action(&mut rng, None, fiche)).await?;
        store.add_sub_action(&actor, convention_id, fiche_id, &sub_action(&mut rng, Some(first), fiche)).await?;
        store.add_sub_action(&actor, convention_id, fiche_id, &sub_action(&mut rng, None, fiche)).await?;
        subs += 3;
    }
    let subs_time = started.elapsed();

    // 4. Values for 2026-2029, about one in ten left out.
    let started = Instant::now();
    let (mut values, mut missing) = (0usize, 0usize);
    for i in &plan.indicators {
        for year in VALUE_YEARS {
            if rng.chance(MISSING_PER_THOUSAND) {
                missing += 1;
                continue;
            }
            store.add_indicator_value(&actor, convention_id, i.id, &value(&mut rng, &i.indicator, year)).await?;
            values += 1;
        }
    }
    let values_time = started.elapsed();

    // Read back and checked.
    let mut reads = Vec::new();
    let mut plan = store.plan(convention_id).await?;
    for _ in 0..5 {
        let started = Instant::now();
        plan = store.plan(convention_id).await?;
        reads.push(started.elapsed());
    }
    reads.sort_unstable();
    let written_values: usize = plan.indicators.iter().map(|i| i.values.len()).sum();
    let written_subs: usize = plan.fiches.iter().map(|f| f.subs.len()).sum();
    if plan.objectives.len() != objectives.len()
        || plan.fiches.len() != FICHES
        || plan.indicators.len() != FICHES * INDICATORS_PER_FICHE
        || written_subs != subs
        || written_values != values
    {
        return Err("le plan relu n'est pas celui qui a été écrit".into());
    }
    store.close().await;

    // The summary.
    let n = |x: usize| integer(x as i64);
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &plan.fiches {
        *by_status.entry(f.fiche.status.label()).or_default() += 1;
    }
    let mut by_ambition = [0usize; 8];
    for f in &plan.fiches {
        for a in &f.fiche.ambitions {
            by_ambition[(*a - 1) as usize] += 1;
        }
    }
    let loose = plan.fiches.iter().filter(|f| f.fiche.objectives.is_empty()).count();
    let qualitative =
        plan.indicators.iter().filter(|i| matches!(i.indicator.kind, IndicatorKind::Qualitative { .. })).count();
    let means: usize = plan.fiches.iter().map(|f| f.means.len()).sum();
    let planned: i64 = plan.fiches.iter().flat_map(|f| &f.means).filter_map(|m| m.planned_cents).sum();
    let today = chrono::Utc::now().date_naive();
    let mut tracking: BTreeMap<String, usize> = BTreeMap::new();
    for i in &plan.indicators {
        let t = i.indicator.tracking(&i.values, today);
        *tracking.entry(t.code().replace('_', " ")).or_default() += 1;
    }
    let past_end =
        plan.fiches.iter().filter(|f| ctg_domain::plan::past_end(f.fiche.status, f.fiche.end, today).is_some()).count();
    let (first_start, last_end) = (
        plan.fiches.iter().filter_map(|f| f.fiche.start).min().unwrap_or_default(),
        plan.fiches.iter().filter_map(|f| f.fiche.end).max().unwrap_or_default(),
    );

    println!("Plan d'action de banc d'essai écrit dans la convention n° {convention_id} « {} »", summary.title);
    println!("Base : {url}");
    println!(
        "Objectifs : {} (2 par ambition, create_objective) en {} s",
        n(plan.objectives.len()),
        seconds(objectives_time)
    );
    println!(
        "Fiches action : {} (un appel à import_plan, avec moyens et indicateurs) en {} s",
        n(plan.fiches.len()),
        seconds(import_time)
    );
    println!(
        "  par ambition : {}",
        by_ambition.iter().enumerate().map(|(a, k)| format!("{} : {k}", a + 1)).collect::<Vec<_>>().join(", ")
    );
    println!("  sans objectif (rattachées à leur seule ambition) : {}", n(loose));
    println!(
        "  par statut : {}",
        by_status.iter().map(|(s, k)| format!("{} : {k}", s.to_lowercase())).collect::<Vec<_>>().join(", ")
    );
    println!(
        "  dates du {} au {} ; {} fiche(s) dont la fin est passée au {} sans être réalisée ni abandonnée",
        first_start.format("%d/%m/%Y"),
        last_end.format("%d/%m/%Y"),
        n(past_end),
        today.format("%d/%m/%Y")
    );
    println!(
        "Moyens : {} lignes (2 ou 3 signataires, {FIRST_YEAR}-{LAST_YEAR}), {} prévus au total",
        n(means),
        euros(planned)
    );
    println!(
        "Indicateurs : {} ({} par fiche), dont {} qualitatifs ; cibles {FIRST_YEAR}-{LAST_YEAR}",
        n(plan.indicators.len()),
        INDICATORS_PER_FICHE,
        n(qualitative)
    );
    println!(
        "Sous-actions : {} (2 par fiche au premier niveau, la première avec une sous-action) en {} s",
        n(written_subs),
        seconds(subs_time)
    );
    println!(
        "Valeurs des indicateurs : {} pour {}-{} ({} laissées manquantes) en {} s",
        n(written_values),
        VALUE_YEARS.start(),
        VALUE_YEARS.end(),
        n(missing),
        seconds(values_time)
    );
    println!(
        "Suivi des indicateurs au {} : {}",
        today.format("%d/%m/%Y"),
        tracking.iter().map(|(t, k)| format!("{t} : {k}")).collect::<Vec<_>>().join(", ")
    );
    println!(
        "Lecture du plan entier (Store::plan, 5 fois) : médiane {} ms, min {} ms",
        ms(reads[reads.len() / 2]),
        ms(reads[0])
    );
    println!("Durée totale : {} s", seconds(everything.elapsed()));
    Ok(())
}
