//! The action plan (annex 4 of a CTG): objectives under the ambitions, fiches action with their
//! sub-actions and the means each signatory commits per year, follow-up indicators with their targets
//! and values, and the rules that say how far along the plan is: progress roll-ups, indicators on
//! track or late, lateness. Pure functions, tested against cases worked out by hand.
//!
//! # The roll-up rules
//!
//! - **A status's weight**: à venir 0 %, en cours 50 %, en pause 50 %, en retard 50 %, réalisée 100 %;
//!   an abandoned fiche or sub-action counts in no average.
//! - **A sub-action**: with sub-actions of its own (second level), the mean of theirs, unless it is
//!   réalisée (100 %); else its status's weight.
//! - **A fiche**: réalisée is 100 %; with sub-actions, the mean of its first-level sub-actions; else its
//!   status's weight.
//! - **An ambition**: the mean of its fiches (a fiche serving two ambitions counts in each).
//! - **An enjeu**: the mean of the fiches of its ambitions, each fiche once (a large ambition weighs more
//!   than a small one, as the work it carries).
//! - **The plan**: the mean of all its fiches, each once.
//!
//! Means are unweighted: a fiche is a unit of work; the money it carries is shown beside, not mixed in.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::convention::{coded_enum, ConventionError};
use crate::territory::InseeCode;

coded_enum! {
    /// Where a fiche action or a sub-action stands.
    FicheStatus, "statut" {
        Upcoming => "a_venir", "À venir";
        InProgress => "en_cours", "En cours";
        Done => "realisee", "Réalisée";
        Paused => "en_pause", "En pause";
        Abandoned => "abandonnee", "Abandonnée";
        Late => "en_retard", "En retard";
    }
}

/// How people's ways of writing a word are compared ([`crate::parse::loose`]).
pub use crate::parse::loose;

impl FicheStatus {
    /// Reads a status as coordinators write it: « En cours », « en-cours », « EN COURS », « réalisé »,
    /// « terminée », « à venir », « prévue »…
    pub fn parse_loose(raw: &str) -> Option<Self> {
        let l = loose(raw);
        let found = Self::ALL.iter().copied().find(|s| loose(s.code()) == l || loose(s.label()) == l);
        found.or(match l.as_str() {
            "realise" | "realises" | "realisees" | "termine" | "terminee" | "fait" | "faite" | "acheve" | "achevee" => {
                Some(Self::Done)
            }
            "a venir" | "prevu" | "prevue" | "pas commence" | "non commence" | "non commencee" | "a faire" => {
                Some(Self::Upcoming)
            }
            "en pause" | "suspendu" | "suspendue" => Some(Self::Paused),
            "abandonne" | "annule" | "annulee" => Some(Self::Abandoned),
            "en retard" | "retard" | "retarde" | "retardee" => Some(Self::Late),
            "en cours" | "commence" | "commencee" | "demarre" | "demarree" | "engage" | "engagee" => {
                Some(Self::InProgress)
            }
            _ => None,
        })
    }

    /// Its weight in progress, in percent; `None` for an abandoned one (it counts in no average).
    pub fn weight(self) -> Option<f64> {
        match self {
            Self::Upcoming => Some(0.0),
            Self::InProgress | Self::Paused | Self::Late => Some(50.0),
            Self::Done => Some(100.0),
            Self::Abandoned => None,
        }
    }

    /// Started: everything but « à venir » (and abandoned before starting is still not started).
    pub fn started(self) -> bool {
        matches!(self, Self::InProgress | Self::Paused | Self::Late | Self::Done)
    }
}

coded_enum! {
    /// The priority of a fiche.
    Priority, "priorité" {
        High => "haute", "Haute";
        Medium => "moyenne", "Moyenne";
        Low => "basse", "Basse";
    }
}

impl Priority {
    pub fn parse_loose(raw: &str) -> Option<Self> {
        let l = loose(raw);
        Self::ALL.iter().copied().find(|p| loose(p.code()) == l).or(match l.as_str() {
            "1" | "forte" | "elevee" | "prioritaire" => Some(Self::High),
            "2" | "normale" => Some(Self::Medium),
            "3" | "faible" => Some(Self::Low),
            _ => None,
        })
    }
}

coded_enum! {
    /// Whether money is spent on running costs or on investment.
    MeansKind, "nature de la dépense" {
        Operating => "fonctionnement", "Fonctionnement";
        Investment => "investissement", "Investissement";
    }
}

/// An objective of an ambition: `code` such as « 1.2 », unique in the convention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objective {
    pub code: String,
    pub title: String,
    pub ambition: i64,
}

/// What one party of the convention commits to a fiche for one year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Means {
    /// The party of the convention that brings them (`party.id`).
    pub party_id: i64,
    /// The party's label as shown ([`crate::funds::PartyRef::label`]): filled when read and by the
    /// readers of forms and files from the party they matched; only `party_id` is stored.
    pub organisation: String,
    pub year: i32,
    /// Staff, in hundredths of a full-time equivalent (50 = 0.5 ETP).
    pub fte_hundredths: i64,
    /// `None` when unknown (a blank cell): never counted as 0.
    pub planned_cents: Option<i64>,
    /// `None` while nothing has been reported: unknown, never counted as 0.
    pub spent_cents: Option<i64>,
    pub kind: MeansKind,
    /// Premises, vehicles, equipment lent…
    pub material: String,
}

impl Means {
    pub fn check(&self) -> Result<(), String> {
        crate::text::clean("moyens matériels", &self.material, crate::text::TextKind::Long)?;
        if !crate::parse::PLAN_YEARS.contains(&self.year) {
            return Err(format!("année hors limites : {}", self.year));
        }
        if !(0..=100_000).contains(&self.fte_hundredths) {
            return Err("ETP hors limites (de 0 à 1 000)".into());
        }
        for (what, v) in [("prévu", self.planned_cents), ("dépensé", self.spent_cents)] {
            if let Some(v) = v {
                if !(0..=100_000_000_000).contains(&v) {
                    return Err(format!("montant {what} hors limites (de 0 à 1 milliard d'euros)"));
                }
            }
        }
        Ok(())
    }
}

/// A sub-action of a fiche; `parent` is another sub-action of the same fiche (second level) or none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubAction {
    pub id: i64,
    pub parent: Option<i64>,
    pub title: String,
    pub status: FicheStatus,
    pub pilot: String,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
}

impl SubAction {
    /// The input-cleaning rule ([`crate::text`]) applied to its texts; evaluates to it tidied.
    pub fn check(&self) -> Result<SubAction, String> {
        use crate::text::{clean, TextKind::*};
        Ok(SubAction {
            title: clean("intitulé de la sous-action", &self.title, Title)?,
            pilot: clean("pilote de la sous-action", &self.pilot, Name)?,
            ..self.clone()
        })
    }
}

/// A fiche action as it is entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewFiche {
    /// Such as « PE-1.2 »; unique in the convention.
    pub code: String,
    pub title: String,
    pub description: String,
    /// Numbers of the ambitions it serves.
    pub ambitions: Vec<i64>,
    /// Codes of the objectives it serves.
    pub objectives: Vec<String>,
    pub pilot_organisation: String,
    pub pilot_person: String,
    pub partners: Vec<String>,
    pub public: String,
    /// The communes concerned; empty means the whole territory.
    pub communes: Vec<InseeCode>,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub priority: Option<Priority>,
    pub status: FicheStatus,
    /// Cross-cutting approaches (communication, accessibility, « aller vers »…) as tags.
    pub approaches: Vec<String>,
    /// The needs of the diagnostic it answers.
    pub needs: String,
}

/// What a contributor may change of a fiche its organisation pilots: its status (with the reason,
/// kept in its history), nothing else; the rest of the fiche is the coordination's to write
/// (`docs/DROITS.md`). Returns `proposed` when only the status differs from `current`, otherwise
/// the French names of the fields that differ, so that the change is refused whole rather than
/// stored in part. The one home of this rule: pages and API both call it.
pub fn contributor_change(current: &NewFiche, proposed: &NewFiche) -> Result<NewFiche, Vec<&'static str>> {
    let mut changed = Vec::new();
    let mut differs = |same: bool, name: &'static str| {
        if !same {
            changed.push(name);
        }
    };
    differs(current.code.trim() == proposed.code.trim(), "code");
    differs(current.title.trim() == proposed.title.trim(), "intitulé");
    differs(current.description.trim() == proposed.description.trim(), "description");
    differs(current.ambitions == proposed.ambitions, "ambitions");
    differs(current.objectives == proposed.objectives, "objectifs");
    differs(current.pilot_organisation.trim() == proposed.pilot_organisation.trim(), "organisation pilote");
    differs(current.pilot_person.trim() == proposed.pilot_person.trim(), "personne pilote");
    differs(current.partners == proposed.partners, "partenaires");
    differs(current.public.trim() == proposed.public.trim(), "public visé");
    differs(current.communes == proposed.communes, "communes");
    differs(current.start == proposed.start, "date de début");
    differs(current.end == proposed.end, "date de fin");
    differs(current.priority == proposed.priority, "priorité");
    differs(current.approaches == proposed.approaches, "approches transversales");
    differs(current.needs.trim() == proposed.needs.trim(), "besoins du diagnostic");
    if changed.is_empty() {
        Ok(NewFiche { status: proposed.status, ..current.clone() })
    } else {
        Err(changed)
    }
}

/// The French refusal of [`contributor_change`].
pub fn contributor_change_refusal(changed: &[&str]) -> String {
    format!(
        "un contributeur ne change que le statut d'une fiche (avec la raison du changement) ; rien n'a été enregistré, car ces champs diffèrent de la fiche enregistrée : {}. Demandez ces changements à la coordination",
        changed.join(", ")
    )
}

impl NewFiche {
    /// Checks what does not depend on the database and tidies lists.
    pub fn check(mut self) -> Result<Self, ConventionError> {
        use crate::text::{clean_all, clean_in, invalid as refused, TextKind::*};
        clean_in("code", &mut self.code, Code).map_err(refused)?;
        clean_in("intitulé", &mut self.title, Title).map_err(refused)?;
        clean_in("description", &mut self.description, Long).map_err(refused)?;
        clean_all("objectifs", &mut self.objectives, Code).map_err(refused)?;
        clean_in("organisation pilote", &mut self.pilot_organisation, Name).map_err(refused)?;
        clean_in("personne pilote", &mut self.pilot_person, Name).map_err(refused)?;
        clean_all("partenaires", &mut self.partners, Name).map_err(refused)?;
        clean_in("public visé", &mut self.public, Title).map_err(refused)?;
        clean_all("approches transversales", &mut self.approaches, Name).map_err(refused)?;
        clean_in("besoins du diagnostic", &mut self.needs, Long).map_err(refused)?;
        let invalid = |s: String| Err(ConventionError::Invalid(s));
        if self.code.is_empty() {
            return invalid("le code de la fiche est vide".into());
        }
        if self.code.chars().count() > 20 {
            return invalid(format!("le code « {} » dépasse 20 caractères", self.code));
        }
        if self.title.is_empty() {
            return invalid("l'intitulé de la fiche est vide".into());
        }
        if let (Some(s), Some(e)) = (self.start, self.end) {
            if e < s {
                return invalid(format!("la fin ({e}) précède le début ({s})"));
            }
        }
        let tidy = |v: Vec<String>| -> Vec<String> {
            let mut seen = BTreeSet::new();
            v.into_iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty() && seen.insert(s.to_lowercase()))
                .collect()
        };
        self.partners = tidy(std::mem::take(&mut self.partners));
        self.approaches = tidy(std::mem::take(&mut self.approaches));
        self.objectives = tidy(std::mem::take(&mut self.objectives));
        self.ambitions.sort_unstable();
        self.ambitions.dedup();
        self.communes.sort();
        self.communes.dedup();
        Ok(self)
    }

    /// The fields a complete fiche has and this one lacks, in French, for the completeness shown.
    pub fn missing(&self, has_indicator: bool, has_means: bool) -> Vec<&'static str> {
        let mut m = Vec::new();
        if self.description.trim().is_empty() {
            m.push("description");
        }
        if self.ambitions.is_empty() {
            m.push("ambition");
        }
        if self.objectives.is_empty() {
            m.push("objectif");
        }
        if self.pilot_organisation.trim().is_empty() {
            m.push("pilote (organisation)");
        }
        if self.pilot_person.trim().is_empty() {
            m.push("pilote (personne)");
        }
        if self.public.trim().is_empty() {
            m.push("public visé");
        }
        if self.start.is_none() || self.end.is_none() {
            m.push("dates");
        }
        if !has_indicator {
            m.push("indicateur");
        }
        if !has_means {
            m.push("moyens");
        }
        m
    }
}

/// The number of fields [`NewFiche::missing`] checks, for a completeness in percent.
pub const COMPLETENESS_FIELDS: usize = 9;

/// The progress of a sub-action among its siblings (see the module's rules).
fn sub_progress(s: &SubAction, all: &[SubAction]) -> Option<f64> {
    if s.status == FicheStatus::Abandoned {
        return None;
    }
    if s.status == FicheStatus::Done {
        return Some(100.0);
    }
    let children: Vec<f64> =
        all.iter().filter(|c| c.parent == Some(s.id)).filter_map(|c| sub_progress(c, all)).collect();
    if children.is_empty() {
        s.status.weight()
    } else {
        Some(mean(&children))
    }
}

fn mean(v: &[f64]) -> f64 {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    (m * 10.0).round() / 10.0
}

/// The progress of a fiche, in percent (one decimal); `None` when abandoned.
pub fn fiche_progress(status: FicheStatus, subs: &[SubAction]) -> Option<f64> {
    match status {
        FicheStatus::Abandoned => None,
        FicheStatus::Done => Some(100.0),
        _ => {
            let first: Vec<f64> =
                subs.iter().filter(|s| s.parent.is_none()).filter_map(|s| sub_progress(s, subs)).collect();
            if first.is_empty() {
                status.weight()
            } else {
                Some(mean(&first))
            }
        }
    }
}

/// The mean of the progress of these fiches (abandoned ones left out); `None` when none counts.
pub fn rollup(progress: impl IntoIterator<Item = Option<f64>>) -> Option<f64> {
    let v: Vec<f64> = progress.into_iter().flatten().collect();
    (!v.is_empty()).then(|| mean(&v))
}

/// Which way an indicator should go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The higher the better (places, people reached…): on track when the value reaches the target.
    Increase,
    /// The lower the better (waiting times, non-take-up…): on track when the value is at or below it.
    Decrease,
}

/// A follow-up indicator of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanIndicator {
    pub name: String,
    pub kind: IndicatorKind,
    /// Target per year: a number, or for a qualitative indicator a level of its scale.
    pub targets: BTreeMap<i32, Target>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "nature", rename_all = "snake_case")]
pub enum IndicatorKind {
    Quantitative {
        unit: String,
        baseline: Option<f64>,
        baseline_year: Option<i32>,
        direction: Direction,
    },
    /// Levels from the worst to the best (« non engagé », « engagé », « atteint »).
    Qualitative {
        scale: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Target {
    Number(f64),
    Level(String),
}

/// A value of an indicator for a period (`AAAA`, or `AAAA-MM` for a part of the year).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorValue {
    pub period: String,
    pub number: Option<f64>,
    pub level: Option<String>,
    pub author: String,
    pub date: NaiveDate,
    pub source: String,
    pub comment: String,
}

impl IndicatorValue {
    /// The input-cleaning rule ([`crate::text`]) applied to a value as entered: its texts without
    /// control characters and within their lengths, its number finite and in range. Evaluates to it
    /// tidied (texts trimmed).
    pub fn check(&self) -> Result<IndicatorValue, String> {
        use crate::text::{clean, clean_opt, number, TextKind::*};
        if let Some(n) = self.number {
            number("valeur", n)?;
        }
        let mut level = self.level.clone();
        clean_opt("niveau", &mut level, Name)?;
        Ok(IndicatorValue {
            period: clean("période", &self.period, Code)?,
            number: self.number,
            level,
            author: clean("auteur", &self.author, Name)?,
            date: self.date,
            source: clean("source", &self.source, Title)?,
            comment: clean("commentaire", &self.comment, Long)?,
        })
    }

    /// The year of its period.
    pub fn year(&self) -> Option<i32> {
        self.period.get(..4).and_then(|y| y.parse().ok())
    }
}

/// Where an indicator stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "etat", rename_all = "snake_case")]
pub enum Tracking {
    /// Its latest value reaches the target of its year.
    OnTrack { year: i32 },
    /// Its latest value falls short of the target of its year.
    Late { year: i32 },
    /// A year with a target has ended and no value was recorded for it.
    MissingValue { year: i32 },
    /// No target is due yet, or no target at all: nothing to say.
    NotDue,
}

impl Tracking {
    pub fn label(&self) -> String {
        match self {
            Self::OnTrack { year } => format!("en bonne voie ({year})"),
            Self::Late { year } => format!("en retard sur la cible {year}"),
            Self::MissingValue { year } => format!("valeur manquante pour {year}"),
            Self::NotDue => "pas encore d'échéance".into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::OnTrack { .. } => "en_bonne_voie",
            Self::Late { .. } => "en_retard",
            Self::MissingValue { .. } => "valeur_manquante",
            Self::NotDue => "pas_d_echeance",
        }
    }
}

impl PlanIndicator {
    /// The target in force for a year: that year's, else the latest one before it.
    pub fn target_for(&self, year: i32) -> Option<&Target> {
        self.targets.range(..=year).next_back().map(|(_, t)| t)
    }

    /// Checks the indicator itself: a qualitative one needs a scale of two levels or more, and its
    /// targets must be levels of it; a quantitative one has number targets.
    pub fn check(&self) -> Result<(), String> {
        crate::text::clean("nom de l'indicateur", &self.name, crate::text::TextKind::Title)?;
        if self.name.trim().is_empty() {
            return Err("le nom de l'indicateur est vide".into());
        }
        for (y, t) in &self.targets {
            match t {
                Target::Number(n) => {
                    crate::text::number(&format!("cible {y}"), *n)?;
                }
                Target::Level(l) => {
                    crate::text::clean(&format!("cible {y}"), l, crate::text::TextKind::Name)?;
                }
            }
        }
        match &self.kind {
            IndicatorKind::Qualitative { scale } => {
                if scale.len() < 2 {
                    return Err("une échelle qualitative compte au moins deux niveaux".into());
                }
                for (y, t) in &self.targets {
                    match t {
                        Target::Level(l) if scale.contains(l) => {}
                        _ => {
                            return Err(format!("la cible {y} n'est pas un niveau de l'échelle ({})", scale.join(", ")))
                        }
                    }
                }
            }
            IndicatorKind::Quantitative { .. } => {
                if let Some((y, _)) = self.targets.iter().find(|(_, t)| !matches!(t, Target::Number(_))) {
                    return Err(format!("la cible {y} doit être un nombre"));
                }
            }
        }
        Ok(())
    }

    /// Where it stands on `today` (rules, in order):
    /// 1. a year that has ended (before today's year), for which a target is set, and that has no
    ///    value → value missing (the latest such year);
    /// 2. else, the latest value with a target in force for its year: reached → on track, else late;
    /// 3. else → nothing due.
    pub fn tracking(&self, values: &[IndicatorValue], today: NaiveDate) -> Tracking {
        let years_with_values: BTreeSet<i32> = values
            .iter()
            .filter(|v| v.number.is_some() || v.level.is_some())
            .filter_map(IndicatorValue::year)
            .collect();
        if let Some(year) =
            self.targets.keys().rev().copied().find(|y| *y < today.year() && !years_with_values.contains(y))
        {
            return Tracking::MissingValue { year };
        }
        let latest = values
            .iter()
            .filter(|v| v.number.is_some() || v.level.is_some())
            .max_by(|a, b| a.period.cmp(&b.period).then(a.date.cmp(&b.date)));
        let Some(v) = latest else { return Tracking::NotDue };
        let Some(year) = v.year() else { return Tracking::NotDue };
        let Some(target) = self.target_for(year) else { return Tracking::NotDue };
        let reached = match (&self.kind, target, v.number, &v.level) {
            (IndicatorKind::Quantitative { direction, .. }, Target::Number(t), Some(x), _) => match direction {
                Direction::Increase => x >= *t,
                Direction::Decrease => x <= *t,
            },
            (IndicatorKind::Qualitative { scale }, Target::Level(t), _, Some(l)) => {
                let rank = |s: &str| scale.iter().position(|x| x == s);
                matches!((rank(l), rank(t)), (Some(a), Some(b)) if a >= b)
            }
            _ => return Tracking::NotDue,
        };
        if reached {
            Tracking::OnTrack { year }
        } else {
            Tracking::Late { year }
        }
    }
}

/// Why something of the plan is late, for the lateness page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Lateness {
    /// A fiche or sub-action whose end date has passed and that is neither done nor abandoned.
    PastEnd { what: String, end: NaiveDate },
    /// An indicator without a value for a year that has ended.
    MissingValue { what: String, year: i32 },
    /// An indicator below its target.
    BelowTarget { what: String, year: i32 },
}

/// The days between a missed end date and `today` (at least one).
pub fn days_overdue(end: NaiveDate, today: NaiveDate) -> i64 {
    (today - end).num_days().max(1)
}

/// The badge of something late: « En retard de 12 jours », « En retard d'un jour ».
pub fn late_badge(days: i64) -> String {
    if days <= 1 {
        "En retard d'un jour".to_owned()
    } else {
        format!("En retard de {days} jours")
    }
}

/// Whether a fiche or sub-action is late on `today`: its end has passed and it is not finished.
pub fn past_end(status: FicheStatus, end: Option<NaiveDate>, today: NaiveDate) -> Option<NaiveDate> {
    end.filter(|e| *e < today && !matches!(status, FicheStatus::Done | FicheStatus::Abandoned))
}

/// The figures of an evaluation, computed from the data of a set of fiches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EvaluationFigures {
    pub objectives: usize,
    pub fiches: usize,
    pub started: usize,
    pub done: usize,
    pub abandoned: usize,
    pub indicators: usize,
    pub indicators_on_track: usize,
    /// Per party (its label): planned and spent, unknown amounts counted apart, never as 0.
    pub means: BTreeMap<String, (crate::funds::Sum, crate::funds::Sum)>,
    /// Fiches stopped by the termination of the convention (art. 13), counted in none of the figures
    /// above.
    pub stopped: usize,
    /// Per party: the means of the years stopped by the termination, never in `means`.
    pub means_stopped: BTreeMap<String, (crate::funds::Sum, crate::funds::Sum)>,
}

/// The figures of an evaluation over some fiches (an ambition's, a theme's, the whole plan's): how many
/// fiches were planned, started, done, abandoned; how many of their indicators are on track; means
/// planned and spent per party (a blank amount is unknown, counted apart: never 0). After a
/// termination (`stop`, art. 13), the fiches it stopped and the means of the years it stopped are
/// counted apart, in none of the other figures.
pub fn evaluation_figures<'a>(
    objectives: usize,
    fiches: impl IntoIterator<Item = (&'a NewFiche, &'a [Means])>,
    indicators: impl IntoIterator<Item = &'a Tracking>,
    stop: Option<crate::life::Stop>,
) -> EvaluationFigures {
    let mut f = EvaluationFigures { objectives, ..EvaluationFigures::default() };
    for (fiche, means) in fiches {
        if stop.is_some_and(|s| s.stops_fiche(fiche.status, fiche.end)) {
            f.stopped += 1;
        } else {
            f.fiches += 1;
            f.started += usize::from(fiche.status.started());
            f.done += usize::from(fiche.status == FicheStatus::Done);
            f.abandoned += usize::from(fiche.status == FicheStatus::Abandoned);
        }
        for m in means {
            let sums = if crate::life::year_stopped(stop, m.year) { &mut f.means_stopped } else { &mut f.means };
            let e = sums.entry(m.organisation.clone()).or_default();
            e.0.add(m.planned_cents);
            e.1.add(m.spent_cents);
        }
    }
    for t in indicators {
        f.indicators += 1;
        f.indicators_on_track += usize::from(matches!(t, Tracking::OnTrack { .. }));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn sub(id: i64, parent: Option<i64>, status: FicheStatus) -> SubAction {
        SubAction { id, parent, title: format!("s{id}"), status, pilot: String::new(), start: None, end: None }
    }

    #[test]
    fn lateness_is_counted_in_days() {
        assert_eq!(days_overdue(d("2026-11-30"), d("2026-12-07")), 7);
        assert_eq!(late_badge(7), "En retard de 7 jours");
        assert_eq!(late_badge(days_overdue(d("2026-12-06"), d("2026-12-07"))), "En retard d'un jour");
    }

    #[test]
    fn statuses_written_loosely() {
        for (raw, s) in [
            ("En cours", FicheStatus::InProgress),
            ("en-cours", FicheStatus::InProgress),
            ("EN_COURS", FicheStatus::InProgress),
            ("  en   cours ", FicheStatus::InProgress),
            ("Réalisée", FicheStatus::Done),
            ("realise", FicheStatus::Done),
            ("Terminée", FicheStatus::Done),
            ("à venir", FicheStatus::Upcoming),
            ("A VENIR", FicheStatus::Upcoming),
            ("abandonnée", FicheStatus::Abandoned),
            ("En retard", FicheStatus::Late),
            ("en pause", FicheStatus::Paused),
        ] {
            assert_eq!(FicheStatus::parse_loose(raw), Some(s), "{raw}");
        }
        assert_eq!(FicheStatus::parse_loose("peut-être"), None);
        assert_eq!(Priority::parse_loose("Haute"), Some(Priority::High));
    }

    #[test]
    fn progress_rolls_up_by_hand() {
        use FicheStatus::*;
        // No sub-action: the status's weight.
        assert_eq!(fiche_progress(InProgress, &[]), Some(50.0));
        assert_eq!(fiche_progress(Abandoned, &[]), None);
        // Three first-level sub-actions: done (100), upcoming (0), and one with two children, done and
        // in progress (75); the abandoned one counts in no average: (100 + 0 + 75) / 3 = 58.3.
        let subs = vec![
            sub(1, None, Done),
            sub(2, None, Upcoming),
            sub(3, None, InProgress),
            sub(4, Some(3), Done),
            sub(5, Some(3), InProgress),
            sub(6, None, Abandoned),
        ];
        assert_eq!(fiche_progress(InProgress, &subs), Some(58.3));
        // A fiche marked done is done, whatever its sub-actions say.
        assert_eq!(fiche_progress(Done, &subs), Some(100.0));
        // An ambition with fiches at 58.3, 100 and an abandoned one: (58.3 + 100) / 2 = 79.2 (rounded).
        assert_eq!(rollup([Some(58.3), Some(100.0), None]), Some(79.2));
        assert_eq!(rollup([None]), None);
    }

    fn places(targets: &[(i32, f64)]) -> PlanIndicator {
        PlanIndicator {
            name: "Places créées".into(),
            kind: IndicatorKind::Quantitative {
                unit: "places".into(),
                baseline: Some(0.0),
                baseline_year: Some(2025),
                direction: Direction::Increase,
            },
            targets: targets.iter().map(|(y, v)| (*y, Target::Number(*v))).collect(),
        }
    }

    fn value(period: &str, n: f64) -> IndicatorValue {
        IndicatorValue {
            period: period.into(),
            number: Some(n),
            level: None,
            author: "Claire".into(),
            date: d("2026-06-01"),
            source: "CAF".into(),
            comment: String::new(),
        }
    }

    #[test]
    fn indicators_on_track_late_or_missing() {
        let i = places(&[(2026, 10.0), (2027, 20.0), (2028, 30.0)]);
        let june_2026 = d("2026-06-15");
        // Nothing recorded, no year ended: nothing due.
        assert_eq!(i.tracking(&[], june_2026), Tracking::NotDue);
        // 12 places in 2026 for a target of 10: on track.
        assert_eq!(i.tracking(&[value("2026", 12.0)], june_2026), Tracking::OnTrack { year: 2026 });
        // 8: late.
        assert_eq!(i.tracking(&[value("2026", 8.0)], june_2026), Tracking::Late { year: 2026 });
        // In March 2028, 2027 has ended without a value: missing, whatever 2026 said.
        assert_eq!(i.tracking(&[value("2026", 12.0)], d("2028-03-01")), Tracking::MissingValue { year: 2027 });
        // A value for 2029 is measured against the latest target in force (30 for 2028).
        let all = [value("2026", 12.0), value("2027", 21.0), value("2028", 30.0), value("2029", 29.0)];
        assert_eq!(i.tracking(&all, d("2029-06-01")), Tracking::Late { year: 2029 });
        // The lower the better.
        let mut wait = places(&[(2026, 30.0)]);
        wait.kind = IndicatorKind::Quantitative {
            unit: "jours".into(),
            baseline: None,
            baseline_year: None,
            direction: Direction::Decrease,
        };
        assert_eq!(wait.tracking(&[value("2026", 25.0)], june_2026), Tracking::OnTrack { year: 2026 });
        // The last day of a year is still within it; the first day of the next, not.
        let i = places(&[(2026, 10.0)]);
        assert_eq!(i.tracking(&[], d("2026-12-31")), Tracking::NotDue);
        assert_eq!(i.tracking(&[], d("2027-01-01")), Tracking::MissingValue { year: 2026 });
    }

    #[test]
    fn qualitative_indicators_compare_levels() {
        let scale = vec!["non engagé".to_owned(), "engagé".to_owned(), "atteint".to_owned()];
        let i = PlanIndicator {
            name: "Charte signée".into(),
            kind: IndicatorKind::Qualitative { scale },
            targets: [(2027, Target::Level("engagé".into()))].into(),
        };
        assert!(i.check().is_ok());
        let v = |l: &str| IndicatorValue { number: None, level: Some(l.into()), ..value("2027", 0.0) };
        assert_eq!(i.tracking(&[v("atteint")], d("2027-05-01")), Tracking::OnTrack { year: 2027 });
        assert_eq!(i.tracking(&[v("non engagé")], d("2027-05-01")), Tracking::Late { year: 2027 });
        let bad = PlanIndicator { targets: [(2027, Target::Level("fini".into()))].into(), ..i };
        assert!(bad.check().unwrap_err().contains("niveau de l'échelle"));
    }

    #[test]
    fn evaluation_figures_by_hand() {
        let base = NewFiche {
            code: "X".into(),
            title: "X".into(),
            description: String::new(),
            ambitions: vec![1],
            objectives: vec![],
            pilot_organisation: String::new(),
            pilot_person: String::new(),
            partners: vec![],
            public: String::new(),
            communes: vec![],
            start: None,
            end: None,
            priority: None,
            status: FicheStatus::Upcoming,
            approaches: vec![],
            needs: String::new(),
        };
        let with = |s: FicheStatus| NewFiche { status: s, ..base.clone() };
        let fiches = [
            with(FicheStatus::Upcoming),
            with(FicheStatus::InProgress),
            with(FicheStatus::Done),
            with(FicheStatus::Abandoned),
        ];
        let m = |org: &str, planned: Option<i64>, spent: Option<i64>| Means {
            party_id: 1,
            organisation: org.into(),
            year: 2026,
            fte_hundredths: 0,
            planned_cents: planned,
            spent_cents: spent,
            kind: MeansKind::Operating,
            material: String::new(),
        };
        let means = [
            vec![m("CAF", Some(100_000), Some(80_000))],
            vec![m("CAF", None, None), m("CABBALR", Some(20_000), Some(25_000))],
            vec![],
            vec![],
        ];
        let tracking = [Tracking::OnTrack { year: 2026 }, Tracking::Late { year: 2026 }, Tracking::NotDue];
        let f = evaluation_figures(
            4,
            fiches.iter().zip(means.iter()).map(|(f, m)| (f, m.as_slice())),
            tracking.iter(),
            None,
        );
        assert_eq!((f.objectives, f.fiches, f.started, f.done, f.abandoned), (4, 4, 2, 1, 1));
        assert_eq!((f.indicators, f.indicators_on_track), (3, 1));
        // A blank planned or spent amount is unknown, never 0: the CAF's sums are partial.
        let (planned, spent) = f.means["CAF"];
        assert_eq!((planned.known_cents, planned.unknown, planned.total()), (100_000, 1, None));
        assert_eq!((spent.known_cents, spent.unknown), (80_000, 1));
        assert_eq!((f.means["CABBALR"].0.total(), f.means["CABBALR"].1.total()), (Some(20_000), Some(25_000)));
        assert_eq!((f.stopped, f.means_stopped.len()), (0, 0));
        // Art. 13: terminated on 1 January 2026, the unfinished fiches and the means of 2026 stop; the
        // done and the abandoned fiches stay counted.
        let stop = crate::life::Stop::of(Some(d("2026-01-01")));
        let f = evaluation_figures(4, fiches.iter().zip(means.iter()).map(|(f, m)| (f, m.as_slice())), [], stop);
        assert_eq!((f.fiches, f.stopped, f.started, f.done, f.abandoned), (2, 2, 1, 1, 1));
        assert!(f.means.is_empty());
        assert_eq!(f.means_stopped["CAF"].0.known_cents, 100_000);
    }

    #[test]
    fn completeness_and_lateness() {
        let f = NewFiche {
            code: " PE-1 ".into(),
            title: "Développer l'accueil".into(),
            description: String::new(),
            ambitions: vec![1, 1],
            objectives: vec![],
            pilot_organisation: "CABBALR".into(),
            pilot_person: String::new(),
            partners: vec!["CAF".into(), "caf".into()],
            public: "Familles".into(),
            communes: vec![],
            start: Some(d("2026-01-01")),
            end: Some(d("2027-12-31")),
            priority: None,
            status: FicheStatus::InProgress,
            approaches: vec![],
            needs: String::new(),
        }
        .check()
        .unwrap();
        assert_eq!((f.code.as_str(), f.ambitions.len(), f.partners.len()), ("PE-1", 1, 1));
        assert_eq!(f.missing(false, true), vec!["description", "objectif", "pilote (personne)", "indicateur"]);
        assert_eq!(past_end(f.status, f.end, d("2027-12-31")), None);
        assert_eq!(past_end(f.status, f.end, d("2028-01-01")), Some(d("2027-12-31")));
        assert_eq!(past_end(FicheStatus::Done, f.end, d("2028-01-01")), None);
        let mut bad = f;
        bad.end = Some(d("2025-01-01"));
        assert!(bad.check().is_err());
    }

    #[test]
    fn a_contributor_changes_the_status_only() {
        let current = NewFiche {
            code: "PE-1".into(),
            title: "Relais".into(),
            description: String::new(),
            ambitions: vec![1],
            objectives: vec![],
            pilot_organisation: "CAF".into(),
            pilot_person: String::new(),
            partners: vec![],
            public: String::new(),
            communes: vec![],
            start: None,
            end: None,
            priority: None,
            status: FicheStatus::Upcoming,
            approaches: vec![],
            needs: String::new(),
        };
        let status = NewFiche { status: FicheStatus::InProgress, ..current.clone() };
        assert_eq!(contributor_change(&current, &status).unwrap().status, FicheStatus::InProgress);
        let title = NewFiche { title: "Réécrit".into(), end: NaiveDate::from_ymd_opt(2027, 1, 1), ..current.clone() };
        assert_eq!(contributor_change(&current, &title).unwrap_err(), vec!["intitulé", "date de fin"]);
    }
}
