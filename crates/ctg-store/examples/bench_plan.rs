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

use chrono::NaiveDate;
use ctg_domain::format::integer;
use ctg_domain::plan::{
    Direction, FicheStatus, IndicatorKind, IndicatorValue, Means, MeansKind, NewFiche, Objective, PlanIndicator,
    Priority, SubAction, Target,
};
use ctg_domain::{Actor, InseeCode};
use ctg_store::{PlanImportRow, Store};

const SEED: u64 = 0x00C7_6B1A_2026_2030;
const FICHES: usize = 200;
const INDICATORS_PER_FICHE: usize = 5;
const FIRST_YEAR: i32 = 2026;
const LAST_YEAR: i32 = 2030;
/// Values are recorded for these years (the last year of the convention has none yet).
const VALUE_YEARS: std::ops::RangeInclusive<i32> = 2026..=2029;
/// One value in `MISSING_PER_THOUSAND` thousand is left out.
const MISSING_PER_THOUSAND: u64 = 100;
const SOURCE: &str = "banc d'essai bench_plan";

/// A small xorshift64* generator: deterministic and good enough to spread a synthetic plan.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    /// True `per_thousand` times in a thousand.
    fn chance(&mut self, per_thousand: u64) -> bool {
        self.next() % 1000 < per_thousand
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }

    /// An item drawn by weight (weights out of their sum).
    fn weighted<T: Copy>(&mut self, items: &[(T, u64)]) -> T {
        let total: u64 = items.iter().map(|i| i.1).sum();
        let mut draw = self.next() % total;
        for &(item, weight) in items {
            if draw < weight {
                return item;
            }
            draw -= weight;
        }
        items[items.len() - 1].0
    }

    /// A day between two dates, both included.
    fn day_between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let span = (to - from).num_days().max(0);
        from + chrono::Duration::days(self.range(0, span))
    }
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// Per ambition (1 to 8): the prefix of its fiches' codes and its two objectives.
const AMBITIONS: [(&str, [&str; 2]); 8] = [
    (
        "PE",
        [
            "Maintenir le nombre de places d'accueil du jeune enfant",
            "Développer l'accueil des enfants en situation de handicap",
        ],
    ),
    ("AD", ["Rapprocher les services des habitants éloignés du numérique", "Réduire le non-recours aux prestations"]),
    ("LS", ["Conforter les centres sociaux et les espaces de vie sociale", "Soutenir les initiatives des habitants"]),
    ("RE", ["Accompagner la scolarité et la parentalité", "Construire des parcours éducatifs cohérents"]),
    ("PJ", ["Associer les jeunes aux décisions qui les concernent", "Soutenir les projets portés par les jeunes"]),
    ("AJ", ["Faciliter l'accès des 16-25 ans au logement", "Accompagner la mobilité et l'insertion des 16-25 ans"]),
    ("CO", ["Faire se connaître les acteurs du territoire", "Partager les diagnostics et les outils"]),
    ("AT", ["Décliner la convention dans chaque commune", "Suivre et évaluer la convention avec les habitants"]),
];

const SIGNATORIES: &[&str] =
    &["CABBALR", "CAF du Pas-de-Calais", "MSA Nord-Pas-de-Calais", "Département du Pas-de-Calais"];
const PILOTS: &[&str] = &[
    "Claire Martin",
    "Karim Benali",
    "Sophie Lefebvre",
    "Julien Dubois",
    "Nadia Haddad",
    "Thomas Leroy",
    "Émilie Caron",
    "Marc Delattre",
];
const PARTNERS: &[&str] = &[
    "Éducation nationale",
    "Mission locale",
    "Centres sociaux",
    "PMI",
    "France Travail",
    "Associations de parents",
    "Bailleurs sociaux",
    "Médiathèques",
];
const PUBLICS: &[&str] = &[
    "Familles",
    "Enfants de moins de 6 ans",
    "Jeunes de 11 à 17 ans",
    "Jeunes de 16 à 25 ans",
    "Habitants",
    "Professionnels",
];
const APPROACHES: &[&str] =
    &["aller vers", "communication", "accessibilité", "participation des habitants", "numérique"];
const VERBS: &[&str] =
    &["Développer", "Renforcer", "Créer", "Coordonner", "Structurer", "Expérimenter", "Étendre", "Évaluer"];
const OBJECTS: &[&str] = &[
    "l'offre d'accueil collectif",
    "les permanences d'accès aux droits",
    "les ateliers parents-enfants",
    "l'accompagnement à la scolarité",
    "les conseils de jeunes",
    "l'aide au premier logement",
    "le réseau des acteurs locaux",
    "les lieux d'accueil enfants-parents",
    "les accueils de loisirs",
    "la médiation numérique",
    "les espaces de vie sociale",
    "les actions de prévention",
];
const STEPS: &[&str] = &[
    "Diagnostic partagé",
    "Mise en place",
    "Communication auprès des familles",
    "Bilan intermédiaire",
    "Recrutement",
    "Formation des équipes",
];

/// Quantitative indicators: name, unit, direction, baseline range.
const QUANTITATIVE: &[(&str, &str, Direction, (i64, i64))] = &[
    ("Places ouvertes", "places", Direction::Increase, (10, 120)),
    ("Familles accompagnées", "familles", Direction::Increase, (20, 400)),
    ("Jeunes touchés", "jeunes", Direction::Increase, (15, 300)),
    ("Actions organisées", "actions", Direction::Increase, (2, 40)),
    ("Délai moyen d'accès", "jours", Direction::Decrease, (20, 90)),
    ("Taux de non-recours", "%", Direction::Decrease, (15, 45)),
    ("Partenaires mobilisés", "partenaires", Direction::Increase, (3, 25)),
];
const SCALE: [&str; 3] = ["non engagé", "engagé", "atteint"];

/// The statuses of the fiches, by weight.
const FICHE_STATUSES: &[(FicheStatus, u64)] = &[
    (FicheStatus::Upcoming, 20),
    (FicheStatus::InProgress, 45),
    (FicheStatus::Done, 12),
    (FicheStatus::Paused, 6),
    (FicheStatus::Late, 12),
    (FicheStatus::Abandoned, 5),
];
const SUB_STATUSES: &[(FicheStatus, u64)] = &[
    (FicheStatus::Upcoming, 30),
    (FicheStatus::InProgress, 35),
    (FicheStatus::Done, 25),
    (FicheStatus::Late, 7),
    (FicheStatus::Abandoned, 3),
];

/// The objectives: `A.1` and `A.2` for each ambition `A`.
fn objectives() -> Vec<Objective> {
    AMBITIONS
        .iter()
        .enumerate()
        .flat_map(|(i, (_, titles))| {
            titles.iter().enumerate().map(move |(k, title)| Objective {
                code: format!("{}.{}", i + 1, k + 1),
                title: (*title).to_owned(),
                ambition: i as i64 + 1,
            })
        })
        .collect()
}

/// A quantitative indicator: a baseline in 2025 and a target per year moving away from it.
fn quantitative(rng: &mut Rng, number: usize) -> PlanIndicator {
    let &(name, unit, direction, (lo, hi)) = rng.pick(QUANTITATIVE);
    let baseline = rng.range(lo, hi) as f64;
    let step = (baseline * rng.range(3, 12) as f64 / 100.0).max(1.0).round();
    let targets = (FIRST_YEAR..=LAST_YEAR)
        .map(|y| {
            let k = f64::from(y - FIRST_YEAR + 1);
            let t = match direction {
                Direction::Increase => baseline + step * k,
                Direction::Decrease => (baseline - step * k).max(0.0),
            };
            (y, Target::Number(t))
        })
        .collect();
    PlanIndicator {
        name: format!("{name} ({number})"),
        kind: IndicatorKind::Quantitative {
            unit: unit.to_owned(),
            baseline: Some(baseline),
            baseline_year: Some(2025),
            direction,
        },
        targets,
    }
}

/// A qualitative indicator on the scale « non engagé », « engagé », « atteint ».
fn qualitative(number: usize) -> PlanIndicator {
    let level = |l: usize| Target::Level(SCALE[l].to_owned());
    PlanIndicator {
        name: format!("Démarche engagée ({number})"),
        kind: IndicatorKind::Qualitative { scale: SCALE.iter().map(|s| (*s).to_owned()).collect() },
        targets: [(2026, level(1)), (2028, level(2))].into(),
    }
}

/// The 200 fiches with their means and indicators, in the shape `import_plan` takes.
fn fiches(rng: &mut Rng, communes: &[InseeCode], parties: &[ctg_domain::funds::PartyRef]) -> Vec<PlanImportRow> {
    let mut serial = [0usize; 8];
    let (first, last) = (ymd(FIRST_YEAR, 1, 1), ymd(LAST_YEAR, 12, 31));
    (0..FICHES)
        .map(|n| {
            // Ambitions weighted unevenly, as real plans are (petite enfance weighs most).
            let a = rng.weighted(&[(0usize, 22), (1, 12), (2, 12), (3, 14), (4, 9), (5, 11), (6, 8), (7, 12)]);
            serial[a] += 1;
            let (prefix, _) = AMBITIONS[a];
            let code = format!("{prefix}-{}", serial[a]);
            // One objective of the ambition, or (one in ten) none: the fiche is then shown loose.
            let objectives = if rng.chance(100) { Vec::new() } else { vec![format!("{}.{}", a + 1, rng.range(1, 2))] };
            let start = rng.day_between(first, ymd(LAST_YEAR - 1, 6, 30));
            let end = (start + chrono::Duration::days(rng.range(90, 1_200))).min(last);
            let status = rng.weighted(FICHE_STATUSES);
            let pilot_organisation = (*rng.pick(SIGNATORIES)).to_owned();
            let signatories = rng.range(2, 3) as usize;
            let offset = rng.next() as usize;
            let means: Vec<Means> = (0..signatories)
                .flat_map(|k| {
                    let party = &parties[(offset + k) % parties.len()];
                    let planned = rng.range(5, 120) * 100_000; // 5,000 to 120,000 € a year
                    let fte = rng.range(0, 8) * 10;
                    (FIRST_YEAR..=LAST_YEAR)
                        .map(|year| Means {
                            party_id: party.id,
                            organisation: party.label().to_owned(),
                            year,
                            fte_hundredths: fte,
                            planned_cents: Some(planned),
                            spent_cents: (year == FIRST_YEAR).then(|| planned * rng.range(40, 110) / 100),
                            kind: MeansKind::Operating,
                            material: String::new(),
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            let indicators: Vec<PlanIndicator> = (1..=INDICATORS_PER_FICHE)
                .map(|k| if rng.chance(40) { qualitative(k) } else { quantitative(rng, k) })
                .collect();
            let fiche_communes = if rng.chance(300) && !communes.is_empty() {
                (0..rng.range(1, 3)).map(|_| rng.pick(communes).clone()).collect()
            } else {
                Vec::new()
            };
            let fiche = NewFiche {
                code,
                title: format!("{} {}", rng.pick(VERBS), rng.pick(OBJECTS)),
                description: format!("Fiche générée n° {} pour le banc d'essai du plan d'action.", n + 1),
                ambitions: vec![a as i64 + 1],
                objectives,
                pilot_organisation,
                pilot_person: (*rng.pick(PILOTS)).to_owned(),
                partners: (0..rng.range(0, 3)).map(|_| (*rng.pick(PARTNERS)).to_owned()).collect(),
                public: (*rng.pick(PUBLICS)).to_owned(),
                communes: fiche_communes,
                start: Some(start),
                end: Some(end),
                priority: Some(*rng.pick(&[Priority::High, Priority::Medium, Priority::Low])),
                status,
                approaches: (0..rng.range(0, 2)).map(|_| (*rng.pick(APPROACHES)).to_owned()).collect(),
                needs: "Besoins relevés par le diagnostic partagé.".to_owned(),
            };
            (format!("ligne {}", n + 2), fiche, means, indicators)
        })
        .collect()
}

/// A sub-action within the dates of its fiche.
fn sub_action(rng: &mut Rng, parent: Option<i64>, fiche: &NewFiche) -> SubAction {
    let (from, to) = (fiche.start.unwrap_or_default(), fiche.end.unwrap_or_default());
    let start = rng.day_between(from, to);
    SubAction {
        id: 0,
        parent,
        title: (*rng.pick(STEPS)).to_owned(),
        status: rng.weighted(SUB_STATUSES),
        pilot: (*rng.pick(PILOTS)).to_owned(),
        start: Some(start),
        end: Some(rng.day_between(start, to)),
    }
}

/// The value of an indicator for a year: around its target (from 20 % short to 15 % beyond), or a level.
fn value(rng: &mut Rng, indicator: &PlanIndicator, year: i32) -> IndicatorValue {
    let (number, level) = match (&indicator.kind, indicator.target_for(year)) {
        (IndicatorKind::Quantitative { direction, .. }, Some(Target::Number(t))) => {
            let factor = rng.range(80, 115) as f64 / 100.0;
            let x = match direction {
                Direction::Increase => t * factor,
                Direction::Decrease => t * (2.0 - factor),
            };
            (Some(x.round()), None)
        }
        (IndicatorKind::Qualitative { scale }, _) => (None, Some(rng.pick(scale).clone())),
        _ => (Some(0.0), None),
    };
    IndicatorValue {
        period: year.to_string(),
        number,
        level,
        author: (*rng.pick(PILOTS)).to_owned(),
        date: ymd(year + 1, 1, rng.range(10, 31) as u32),
        source: "Bilan annuel".to_owned(),
        comment: String::new(),
    }
}

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
