//! The generator of synthetic action plans shared by the benchmark examples (`bench_plan`,
//! `bench_national`): deterministic (xorshift64* with a fixed seed), written through the store as
//! users would write it.
#![allow(dead_code)]

use chrono::NaiveDate;
use ctg_domain::plan::{
    Direction, FicheStatus, IndicatorKind, IndicatorValue, Means, MeansKind, NewFiche, Objective, PlanIndicator,
    Priority, SubAction, Target,
};
use ctg_domain::InseeCode;
use ctg_store::PlanImportRow;

pub const SEED: u64 = 0x00C7_6B1A_2026_2030;
pub const FICHES: usize = 200;
pub const INDICATORS_PER_FICHE: usize = 5;
pub const FIRST_YEAR: i32 = 2026;
pub const LAST_YEAR: i32 = 2030;
/// Values are recorded for these years (the last year of the convention has none yet).
pub const VALUE_YEARS: std::ops::RangeInclusive<i32> = 2026..=2029;
/// One value in `MISSING_PER_THOUSAND` thousand is left out.
pub const MISSING_PER_THOUSAND: u64 = 100;
pub const SOURCE: &str = "banc d'essai bench_plan";

/// A small xorshift64* generator: deterministic and good enough to spread a synthetic plan.
#[derive(Debug)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    /// True `per_thousand` times in a thousand.
    pub fn chance(&mut self, per_thousand: u64) -> bool {
        self.next() % 1000 < per_thousand
    }

    /// A day between the first of January of `from_year` and the end of `to_year` (up to the 28th).
    pub fn date(&mut self, from_year: i64, to_year: i64) -> NaiveDate {
        let year = self.range(from_year, to_year) as i32;
        let month = self.range(1, 12) as u32;
        let day = self.range(1, 28) as u32;
        NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default()
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }

    /// An item drawn by weight (weights out of their sum).
    pub fn weighted<T: Copy>(&mut self, items: &[(T, u64)]) -> T {
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
    pub fn day_between(&mut self, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let span = (to - from).num_days().max(0);
        from + chrono::Duration::days(self.range(0, span))
    }
}

pub fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

/// Per ambition (1 to 8): the prefix of its fiches' codes and its two objectives.
pub const AMBITIONS: [(&str, [&str; 2]); 8] = [
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

pub const SIGNATORIES: &[&str] =
    &["CABBALR", "CAF du Pas-de-Calais", "MSA Nord-Pas-de-Calais", "Département du Pas-de-Calais"];
pub const PILOTS: &[&str] = &[
    "Claire Martin",
    "Karim Benali",
    "Sophie Lefebvre",
    "Julien Dubois",
    "Nadia Haddad",
    "Thomas Leroy",
    "Émilie Caron",
    "Marc Delattre",
];
pub const PARTNERS: &[&str] = &[
    "Éducation nationale",
    "Mission locale",
    "Centres sociaux",
    "PMI",
    "France Travail",
    "Associations de parents",
    "Bailleurs sociaux",
    "Médiathèques",
];
pub const PUBLICS: &[&str] = &[
    "Familles",
    "Enfants de moins de 6 ans",
    "Jeunes de 11 à 17 ans",
    "Jeunes de 16 à 25 ans",
    "Habitants",
    "Professionnels",
];
pub const APPROACHES: &[&str] =
    &["aller vers", "communication", "accessibilité", "participation des habitants", "numérique"];
pub const VERBS: &[&str] =
    &["Développer", "Renforcer", "Créer", "Coordonner", "Structurer", "Expérimenter", "Étendre", "Évaluer"];
pub const OBJECTS: &[&str] = &[
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
pub const STEPS: &[&str] = &[
    "Diagnostic partagé",
    "Mise en place",
    "Communication auprès des familles",
    "Bilan intermédiaire",
    "Recrutement",
    "Formation des équipes",
];

/// Quantitative indicators: name, unit, direction, baseline range.
pub const QUANTITATIVE: &[(&str, &str, Direction, (i64, i64))] = &[
    ("Places ouvertes", "places", Direction::Increase, (10, 120)),
    ("Familles accompagnées", "familles", Direction::Increase, (20, 400)),
    ("Jeunes touchés", "jeunes", Direction::Increase, (15, 300)),
    ("Actions organisées", "actions", Direction::Increase, (2, 40)),
    ("Délai moyen d'accès", "jours", Direction::Decrease, (20, 90)),
    ("Taux de non-recours", "%", Direction::Decrease, (15, 45)),
    ("Partenaires mobilisés", "partenaires", Direction::Increase, (3, 25)),
];
pub const SCALE: [&str; 3] = ["non engagé", "engagé", "atteint"];

/// The statuses of the fiches, by weight.
pub const FICHE_STATUSES: &[(FicheStatus, u64)] = &[
    (FicheStatus::Upcoming, 20),
    (FicheStatus::InProgress, 45),
    (FicheStatus::Done, 12),
    (FicheStatus::Paused, 6),
    (FicheStatus::Late, 12),
    (FicheStatus::Abandoned, 5),
];
pub const SUB_STATUSES: &[(FicheStatus, u64)] = &[
    (FicheStatus::Upcoming, 30),
    (FicheStatus::InProgress, 35),
    (FicheStatus::Done, 25),
    (FicheStatus::Late, 7),
    (FicheStatus::Abandoned, 3),
];

/// The objectives: `A.1` and `A.2` for each ambition `A`.
pub fn objectives() -> Vec<Objective> {
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
pub fn quantitative(rng: &mut Rng, number: usize) -> PlanIndicator {
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
pub fn qualitative(number: usize) -> PlanIndicator {
    let level = |l: usize| Target::Level(SCALE[l].to_owned());
    PlanIndicator {
        name: format!("Démarche engagée ({number})"),
        kind: IndicatorKind::Qualitative { scale: SCALE.iter().map(|s| (*s).to_owned()).collect() },
        targets: [(2026, level(1)), (2028, level(2))].into(),
    }
}

/// The 200 fiches with their means and indicators, in the shape `import_plan` takes.
pub fn fiches(rng: &mut Rng, communes: &[InseeCode], parties: &[ctg_domain::funds::PartyRef]) -> Vec<PlanImportRow> {
    fiches_of(rng, FICHES, INDICATORS_PER_FICHE, SIGNATORIES, communes, parties)
}

/// `count` fiches with `indicators` indicators each, piloted by one of `pilots`.
pub fn fiches_of(
    rng: &mut Rng,
    count: usize,
    indicators: usize,
    pilots: &[&str],
    communes: &[InseeCode],
    parties: &[ctg_domain::funds::PartyRef],
) -> Vec<PlanImportRow> {
    let mut serial = [0usize; 8];
    let (first, last) = (ymd(FIRST_YEAR, 1, 1), ymd(LAST_YEAR, 12, 31));
    (0..count)
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
            let pilot_organisation = (*rng.pick(pilots)).to_owned();
            let signatories = (rng.range(2, 3) as usize).min(parties.len());
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
            let indicators: Vec<PlanIndicator> =
                (1..=indicators).map(|k| if rng.chance(40) { qualitative(k) } else { quantitative(rng, k) }).collect();
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
pub fn sub_action(rng: &mut Rng, parent: Option<i64>, fiche: &NewFiche) -> SubAction {
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
pub fn value(rng: &mut Rng, indicator: &PlanIndicator, year: i32) -> IndicatorValue {
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
