//! The life of a convention, from its signature to its end (arts. 11 to 13 of the reference CTG).
//!
//! # The rules
//!
//! - **Signatures** (préambule, art. 11): every signatory party signs, on a day or, when the text gives
//!   no more, in a month (« Janvier 2026 » in annex 2: [`SignedOn`], counted from the month's
//!   first day, a dated deliberation preceding its last day; never an invented day). The deliberation that authorised it is named and dated when the
//!   text gives it, and then precedes or equals the signature; it is optional, the text having parties
//!   that sign without one (the MSA « représentée par son Président »). A « partenaire associé » does
//!   not sign. Art. 11: « La présente convention est conclue à compter du 01 Janvier 2026 jusqu'au 31
//!   Décembre 2030 »: once every signatory has signed, it is in force over that whole period, from its
//!   start date, even when the last signature comes a few weeks after it ([`in_force_from`]); until
//!   then it is « en attente de signatures (n sur N) », never in force. It expires after its end date,
//!   which is the last day in force. It is never
//!   renewed by itself (« ne peut être reconduite que par expresse reconduction », art. 11): a renewal
//!   is a new convention linked to this one as its predecessor.
//! - **Avenants** (art. 12): « toute modification fera l'objet d'un avenant », which states every change
//!   to the convention and its annexes. An avenant is numbered (1, 2, … within its convention, without
//!   gap), dated, titled and lists its changes, each naming what it changes (the text, an annex, the
//!   end date, a party…) with the text before and after. It is in force once every signatory has signed
//!   it, from the last signature ([`avenant_in_force_from`]); until then it changes nothing: the versions
//!   of the texts and the end date in force stay those before it.
//! - **Termination** (art. 13, [`TerminationGround`]): de plein droit one month after a registered letter
//!   (mise en demeure) left without effect, for a breach of the convention by any party, or of legal or
//!   regulatory obligations (by the CAF); at once, by the CAF, when a term of the convention was changed
//!   without a signed avenant; and by a party's notice (dénonciation) with six months' notice — the
//!   OCR reads this clause under the title « Résiliation par consentement mutuel », but its body says
//!   « dénoncée … délai de prévenance de 6 mois », and art. 12 has the body prevail over the title.
//!   Delays are counted in calendar months, a missing day being the last of the month
//!   ([`add_months`]: 31 January + 1 month = 28 or 29 February). « La résiliation … entraînera l'arrêt
//!   immédiat des engagements des parties »: the convention is « résiliée à compter du » effective date,
//!   and every commitment stops that day ([`commitments_end`] gives the last day they run).
//!
//! Everything here is computed on a given day from the facts ([`Life`]): no clock is read.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::convention::{coded_enum, ConventionError, ConventionStatus};
use crate::format::date_short;

/// Why a step of a convention's life was refused. Messages are in French: they reach users.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LifeError {
    #[error("{0}")]
    Invalid(String),
}

fn invalid<T>(message: String) -> Result<T, LifeError> {
    Err(LifeError::Invalid(message))
}

// ---------------------------------------------------------------------------------------------------
// Calendar months
// ---------------------------------------------------------------------------------------------------

/// The number of days of a month (`month` from 1 to 12).
pub fn days_in_month(year: i32, month: u32) -> u32 {
    let (next_year, next_month) = if month >= 12 { (year + 1, 1) } else { (year, month + 1) };
    NaiveDate::from_ymd_opt(next_year, next_month, 1).and_then(|d| d.pred_opt()).map_or(28, |d| d.day())
}

/// `date` plus `months` calendar months; when the target month is shorter, its last day
/// (31 August + 6 months = 28 February, or 29 in a leap year).
pub fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    let total = i64::from(date.year()) * 12 + i64::from(date.month0()) + i64::from(months);
    let Ok(year) = i32::try_from(total.div_euclid(12)) else {
        return NaiveDate::MAX;
    };
    let month = u32::try_from(total.rem_euclid(12)).unwrap_or(0) + 1;
    NaiveDate::from_ymd_opt(year, month, date.day().min(days_in_month(year, month))).unwrap_or(NaiveDate::MAX)
}

// ---------------------------------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------------------------------

/// When a party signed: a day, or only a month when the text gives no more (« Janvier 2026 »).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignedOn {
    /// The day, or the first day of the month.
    pub date: NaiveDate,
    pub month_only: bool,
}

impl SignedOn {
    pub fn day(date: NaiveDate) -> Self {
        Self { date, month_only: false }
    }

    /// The month of `date`.
    pub fn month(date: NaiveDate) -> Self {
        Self { date: date.with_day(1).unwrap_or(date), month_only: true }
    }

    /// The day the rules count it given: the day itself, or the first day of the month (a signature
    /// recorded as « janvier 2026 » was given in January; the status does not wait for the month's
    /// end, and no later day is invented).
    pub fn counted(self) -> NaiveDate {
        self.date
    }

    /// The last day it may have been given: the day itself, or the month's last day. A deliberation
    /// that authorises it is taken on or before that day.
    pub fn latest(self) -> NaiveDate {
        if self.month_only {
            let (y, m) = (self.date.year(), self.date.month());
            NaiveDate::from_ymd_opt(y, m, days_in_month(y, m)).unwrap_or(self.date)
        } else {
            self.date
        }
    }

    /// « 15/01/2026 », or « janvier 2026 ».
    pub fn label(self) -> String {
        if self.month_only {
            format!("{} {}", crate::format::month_name(self.date.month()), self.date.year())
        } else {
            date_short(self.date)
        }
    }

    /// A day (`15/01/2026`, `2026-01-15`) or a month (`01/2026`, `2026-01`, `janvier 2026`), as a
    /// person writes it; `field` names the field in the message.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, crate::parse::FieldError> {
        let raw = raw.trim();
        let month_of = |y: &str, m: &str| {
            let (y, m) = (y.trim().parse::<i32>().ok()?, m.trim().parse::<u32>().ok()?);
            NaiveDate::from_ymd_opt(y, m, 1).filter(|_| crate::parse::YEARS.contains(&y))
        };
        let month = if let Some((m, y)) = raw.split_once('/').filter(|(_, y)| !y.contains('/')) {
            month_of(y, m)
        } else if let Some((y, m)) = raw.split_once('-').filter(|(y, m)| y.len() == 4 && !m.contains('-')) {
            month_of(y, m)
        } else if let Some((name, y)) = raw.rsplit_once(' ') {
            let key = crate::parse::loose(name);
            (1..=12)
                .find(|&m| crate::parse::loose(crate::format::month_name(m)) == key)
                .and_then(|m| month_of(y, &m.to_string()))
        } else {
            None
        };
        match month {
            Some(first) => Ok(Self::month(first)),
            None => crate::parse::date(field, raw).map(Self::day).map_err(|e| {
                crate::parse::FieldError::new(field, format!("{} ; ou un mois : 01/2026, janvier 2026", e.message))
            }),
        }
    }
}

/// A party's signature of the convention, with the deliberation that authorised it when the text
/// names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub on: SignedOn,
    /// The reference of the deliberation, e.g. « Conseil communautaire, délibération n° 2025-140 ».
    pub deliberation: Option<String>,
    pub deliberation_date: Option<NaiveDate>,
}

impl Signature {
    /// The deliberation, when it is dated, is taken on or before the signature (within its month,
    /// for a signature known by its month).
    pub fn check(&self) -> Result<(), LifeError> {
        if let Some(d) = &self.deliberation {
            crate::text::clean("délibération", d, crate::text::TextKind::Title).or_else(invalid)?;
        }
        if let Some(taken) = self.deliberation_date.filter(|taken| *taken > self.on.latest()) {
            return invalid(format!(
                "la délibération du {} est postérieure à la signature ({}) : elle doit la précéder",
                date_short(taken),
                self.on.label()
            ));
        }
        Ok(())
    }
}

/// The day a convention starting on `start` is in force from, once every signatory has signed: its
/// start date, whenever the last signature came (art. 11: « conclue à compter du 01 Janvier 2026 »,
/// for the whole period); `None` while one has not signed (or when there is no signatory at all).
pub fn in_force_from(start: NaiveDate, signatures: &[Option<NaiveDate>]) -> Option<NaiveDate> {
    avenant_in_force_from(signatures).map(|_| start)
}

/// Whether the text of a convention is locked (art. 12, « Toute modification fera l'objet d'un
/// avenant »): it is recorded as signed (or terminated), or every signatory has signed (`signed`:
/// whether each signatory has). Its title, dates, parties and strategy then change only by avenant.
pub fn text_locked(recorded: ConventionStatus, signed: &[bool]) -> bool {
    recorded != ConventionStatus::Draft || (!signed.is_empty() && signed.iter().all(|s| *s))
}

/// The message of a direct change refused on a convention signed by all (art. 12).
pub fn locked_message(what: &str) -> String {
    format!(
        "la convention est signée par toutes les parties : pour en modifier {what}, rédigez un avenant depuis la page \
         « Vie de la convention » (art. 12 : « Toute modification fera l'objet d'un avenant »)"
    )
}

/// The day an avenant comes into force: the last of its signatures, once every signatory has signed.
pub fn avenant_in_force_from(signatures: &[Option<NaiveDate>]) -> Option<NaiveDate> {
    if signatures.is_empty() {
        return None;
    }
    signatures.iter().copied().try_fold(NaiveDate::MIN, |last, s| s.map(|s| s.max(last)))
}

// ---------------------------------------------------------------------------------------------------
// Termination
// ---------------------------------------------------------------------------------------------------

coded_enum! {
    /// The grounds of termination of art. 13.
    TerminationGround, "motif de résiliation" {
        Breach => "mise_en_demeure",
            "Manquement à une obligation de la convention, mise en demeure restée sans effet";
        LegalBreach => "mise_en_demeure_legale",
            "Manquement aux obligations légales ou réglementaires, mise en demeure restée sans effet";
        UnsignedChange => "modification_sans_avenant",
            "Modification de la convention sans avenant signé";
        Notice => "denonciation",
            "Dénonciation par une partie, avec un préavis de six mois";
    }
}

impl TerminationGround {
    /// The delay between the notice (or the finding) and the termination, in calendar months.
    pub fn delay_months(self) -> u32 {
        match self {
            Self::Breach | Self::LegalBreach => 1,
            Self::UnsignedChange => 0,
            Self::Notice => 6,
        }
    }

    /// Only the CAF may terminate on this ground (art. 13: « par la Caf »).
    pub fn caf_only(self) -> bool {
        matches!(self, Self::LegalBreach | Self::UnsignedChange)
    }

    /// What the date given with the ground is.
    pub fn notice_label(self) -> &'static str {
        match self {
            Self::Breach | Self::LegalBreach => "date d'envoi de la mise en demeure",
            Self::UnsignedChange => "date du constat",
            Self::Notice => "date de la dénonciation",
        }
    }

    /// Where the rule is written.
    pub fn article(self) -> &'static str {
        match self {
            Self::Breach | Self::LegalBreach => "art. 13, résiliation de plein droit avec mise en demeure",
            Self::UnsignedChange => "art. 13, résiliation de plein droit sans mise en demeure",
            Self::Notice => "art. 13, dénonciation avec un délai de prévenance de 6 mois",
        }
    }
}

/// The day a termination takes effect: one month after the mise en demeure, six months after the
/// notice, the day of the finding for a change made without avenant.
pub fn effective_date(ground: TerminationGround, notice_date: NaiveDate) -> NaiveDate {
    add_months(notice_date, ground.delay_months())
}

/// The last day the commitments of a convention run (means, fiches action): its end date, or the day
/// before its termination takes effect when that comes first (art. 13: « arrêt immédiat des
/// engagements »). A mean or a fiche dated after this day is cut there.
pub fn commitments_end(end: NaiveDate, termination_effective: Option<NaiveDate>) -> NaiveDate {
    termination_effective.and_then(|e| e.pred_opt()).map_or(end, |last| last.min(end))
}

/// The stop of a terminated convention's commitments (art. 13: « La résiliation … entraînera l'arrêt
/// immédiat des engagements des parties »), from the effective date of its termination. What would
/// run on or after that day is stopped: counted apart in every total (means, funding lines, posts,
/// fiches), never added to what runs.
///
/// - A year of means or funding is stopped when it starts on or after the effective date: a
///   termination taking effect on 1 January 2028 stops 2028, and one taking effect on 28 February
///   2027 leaves 2027 running (its amounts are not prorated: the text says nothing of it, and the
///   pages say so).
/// - A dated commitment (a post, a fiche) starting on or after the effective date is stopped whole;
///   one running on that day is cut: its last day is the day before ([`Stop::last_day`]).
/// - A fiche not finished (neither done nor abandoned) on the effective date is stopped there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Stop {
    /// The day the termination takes effect: the first day without commitments.
    pub effective: NaiveDate,
}

impl Stop {
    /// The stop of a convention whose termination, if any, takes effect on `effective`.
    pub fn of(effective: Option<NaiveDate>) -> Option<Self> {
        effective.map(|effective| Self { effective })
    }

    /// The last day commitments run: the day before the effective date.
    pub fn last_day(self) -> NaiveDate {
        self.effective.pred_opt().unwrap_or(self.effective)
    }

    /// Whether the commitments of `year` (means, funding lines) are stopped: the year starts on or after
    /// the effective date.
    pub fn stops_year(self, year: i32) -> bool {
        NaiveDate::from_ymd_opt(year, 1, 1).is_none_or(|first| first >= self.effective)
    }

    /// Whether something starting on `start` is stopped whole.
    pub fn stops_from(self, start: NaiveDate) -> bool {
        start >= self.effective
    }

    /// The end of something dated that ends on `end` (`None`: open-ended), cut at the last day.
    pub fn cut(self, end: Option<NaiveDate>) -> NaiveDate {
        end.map_or(self.last_day(), |e| e.min(self.last_day()))
    }

    /// Whether a fiche or sub-action with this status and end is stopped: not finished, and meant to run
    /// on or after the effective date (an open end runs to the convention's end, after it).
    pub fn stops_fiche(self, status: crate::plan::FicheStatus, end: Option<NaiveDate>) -> bool {
        use crate::plan::FicheStatus::{Abandoned, Done};
        !matches!(status, Done | Abandoned) && end.is_none_or(|e| e >= self.effective)
    }
}

/// Whether `year` is stopped by the stop of commitments, if there is one.
pub fn year_stopped(stop: Option<Stop>, year: i32) -> bool {
    stop.is_some_and(|s| s.stops_year(year))
}

// ---------------------------------------------------------------------------------------------------
// Mise en demeure (art. 13)
// ---------------------------------------------------------------------------------------------------

coded_enum! {
    /// Where a mise en demeure stands: sent and waiting, complied with, left without effect (the
    /// convention is then terminated at the deadline), or withdrawn by its sender.
    NoticeOutcome, "suite de la mise en demeure" {
        Pending => "en_cours", "En cours";
        Complied => "mise_en_conformite", "Mise en conformité";
        Unfruitful => "infructueuse", "Restée infructueuse";
        Withdrawn => "retiree", "Retirée";
    }
}

/// The deadline of a mise en demeure sent on `sent_on` (art. 13: « à l'expiration d'un délai d'un mois
/// suivant l'envoi d'une lettre recommandée … valant mise en demeure »): one calendar month later,
/// the last day of the month when the day is missing ([`add_months`]).
pub fn notice_deadline(sent_on: NaiveDate) -> NaiveDate {
    add_months(sent_on, 1)
}

/// Whether a mise en demeure sent on `sent_on`, still pending, may be settled with `outcome` on `on`:
/// complied with or withdrawn from its sending on; left without effect (« restée infructueuse ») only
/// once its month has run out, on or after its deadline. Gives the day a termination would take effect
/// for an unfruitful one (its deadline).
pub fn check_notice_outcome(
    current: NoticeOutcome,
    sent_on: NaiveDate,
    outcome: NoticeOutcome,
    on: NaiveDate,
) -> Result<Option<NaiveDate>, LifeError> {
    if current != NoticeOutcome::Pending {
        return invalid(format!(
            "cette mise en demeure est déjà close (« {} ») : sa suite ne change plus",
            current.label()
        ));
    }
    if on < sent_on {
        return invalid(format!(
            "le {} précède l'envoi de la mise en demeure ({})",
            date_short(on),
            date_short(sent_on)
        ));
    }
    let deadline = notice_deadline(sent_on);
    match outcome {
        NoticeOutcome::Pending => invalid("choisissez une suite : mise en conformité, restée infructueuse ou retirée".into()),
        NoticeOutcome::Unfruitful if on < deadline => invalid(format!(
            "le délai d'un mois de la mise en demeure court jusqu'au {} (art. 13) : elle ne peut être dite infructueuse \
             qu'à partir de ce jour",
            date_short(deadline)
        )),
        NoticeOutcome::Unfruitful => Ok(Some(deadline)),
        NoticeOutcome::Complied | NoticeOutcome::Withdrawn => Ok(None),
    }
}

/// A termination as the rules need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminationFacts {
    pub ground: TerminationGround,
    pub notice_date: NaiveDate,
    pub effective_date: NaiveDate,
}

impl TerminationFacts {
    pub fn new(ground: TerminationGround, notice_date: NaiveDate) -> Self {
        Self { ground, notice_date, effective_date: effective_date(ground, notice_date) }
    }
}

// ---------------------------------------------------------------------------------------------------
// Avenants and the versions of the texts
// ---------------------------------------------------------------------------------------------------

/// The document key of the convention's own text.
pub const CONVENTION_TEXT: &str = "convention";

/// The key of annex `number`: `annexe-3`.
pub fn annex_key(number: u32) -> String {
    format!("annexe-{number}")
}

/// Checks a document key (`convention`, or `annexe-N` with N from 1 to 99) and gives its label.
pub fn document_label(key: &str) -> Result<String, LifeError> {
    if key == CONVENTION_TEXT {
        return Ok("Texte de la convention".into());
    }
    match key.strip_prefix("annexe-").and_then(|n| n.parse::<u32>().ok()) {
        Some(n) if (1..=99).contains(&n) && annex_key(n) == key => Ok(format!("Annexe {n}")),
        _ => invalid(format!("document inconnu « {key} » : « {CONVENTION_TEXT} » ou « annexe-N » (N de 1 à 99)")),
    }
}

/// What a change of an avenant changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeTarget {
    /// The convention's own text.
    Text,
    /// An annex, by number (1 to 99) and name.
    Annex { number: u32, name: String },
    /// The end date of the convention.
    EndDate,
    /// A party's signatory, the party named as the convention names it: `before` the signatory in
    /// office (may be left empty), `after` the new one, who signs for it once the avenant is in force.
    Party { name: String },
    /// An ambition of the strategy, by number (unique in the convention) under the enjeu numbered
    /// `stake`: reworded (`before` its title in force, `after` the new one) or added (`before` empty).
    /// Applied to the strategy once the avenant is in force.
    Ambition { number: u32, stake: u32 },
    /// Anything else, named.
    Other { what: String },
}

impl ChangeTarget {
    /// The stable code stored in the database: `texte`, `annexe`, `date_fin`, `partie`, `ambition`,
    /// `autre`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Text => "texte",
            Self::Annex { .. } => "annexe",
            Self::EndDate => "date_fin",
            Self::Party { .. } => "partie",
            Self::Ambition { .. } => "ambition",
            Self::Other { .. } => "autre",
        }
    }

    /// Rebuilds a target from its stored parts.
    pub fn from_parts(code: &str, annex_number: Option<i64>, name: &str) -> Result<Self, LifeError> {
        Ok(match code {
            "texte" => Self::Text,
            "annexe" => Self::Annex {
                number: annex_number.and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
                name: name.to_owned(),
            },
            "date_fin" => Self::EndDate,
            "partie" => Self::Party { name: name.to_owned() },
            "ambition" => {
                let number = |n: Option<i64>| n.and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
                let digits: String = name.chars().filter(char::is_ascii_digit).collect();
                Self::Ambition { number: number(annex_number), stake: number(digits.parse().ok()) }
            }
            "autre" => Self::Other { what: name.to_owned() },
            _ => {
                return invalid(format!(
                "objet de modification inconnu « {code} » (valeurs admises : texte, annexe, date_fin, partie, ambition, autre)"
            ))
            }
        })
    }

    /// The number kept with the target (an annex's, an ambition's), for storage.
    pub fn annex_number(&self) -> Option<i64> {
        match self {
            Self::Annex { number, .. } | Self::Ambition { number, .. } => Some(i64::from(*number)),
            _ => None,
        }
    }

    /// The name kept with the target (annex name, party, other thing, an ambition's enjeu number),
    /// for storage.
    pub fn name(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Self::Annex { name, .. } | Self::Party { name } | Self::Other { what: name } => name.as_str().into(),
            Self::Ambition { stake, .. } => stake.to_string().into(),
            Self::Text | Self::EndDate => "".into(),
        }
    }

    /// The versioned document this target changes, if it is one: `convention` or `annexe-N`.
    pub fn document_key(&self) -> Option<String> {
        match self {
            Self::Text => Some(CONVENTION_TEXT.into()),
            Self::Annex { number, .. } => Some(annex_key(*number)),
            _ => None,
        }
    }

    /// What two pending avenants may not both change: the document key, `date_fin`, an ambition, a
    /// party's signatory, or nothing.
    pub fn conflict_key(&self) -> Option<String> {
        match self {
            Self::EndDate => Some("date_fin".into()),
            Self::Ambition { number, .. } => Some(format!("ambition-{number}")),
            Self::Party { name } => Some(format!("partie-{}", crate::parse::loose(name))),
            other => other.document_key(),
        }
    }

    /// The French label: « Texte de la convention », « Annexe 4 « Plan d'action » », « Date de fin de la
    /// convention », « Partie « CAF du Pas-de-Calais » »…
    pub fn label(&self) -> String {
        match self {
            Self::Text => "Texte de la convention".into(),
            Self::Annex { number, name } if name.trim().is_empty() => format!("Annexe {number}"),
            Self::Annex { number, name } => format!("Annexe {number} « {} »", name.trim()),
            Self::EndDate => "Date de fin de la convention".into(),
            Self::Party { name } => format!("Signataire de « {} »", name.trim()),
            Self::Ambition { number, stake } => format!("Ambition n° {number} (enjeu n° {stake})"),
            Self::Other { what } => what.trim().to_owned(),
        }
    }
}

/// One change made by an avenant: what it changes, with the text before and after. For the text and
/// the annexes, `before` is the passage replaced (empty: `after` is added at the end, or is the whole
/// text of a new annex) and `after` the passage that replaces it (empty: the passage is removed). For
/// the end date, both are dates (`before` may be left empty: it is the end date in force).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvenantChange {
    pub target: ChangeTarget,
    pub before: String,
    pub after: String,
}

impl AvenantChange {
    /// The change's texts by the input-cleaning rule ([`crate::text`]): the names of what it changes,
    /// then the passages before and after.
    pub fn clean(&mut self) -> Result<(), LifeError> {
        use crate::text::{clean_in, TextKind::*};
        match &mut self.target {
            ChangeTarget::Annex { name, .. } => clean_in("nom de l'annexe", name, Title),
            ChangeTarget::Party { name } => clean_in("partie", name, Name),
            ChangeTarget::Other { what } => clean_in("objet de la modification", what, Title),
            ChangeTarget::Text | ChangeTarget::EndDate | ChangeTarget::Ambition { .. } => Ok(()),
        }
        .and_then(|()| clean_in("avant", &mut self.before, Document))
        .and_then(|()| clean_in("après", &mut self.after, Document))
        .or_else(invalid)
    }

    /// The change names what it changes and changes something.
    pub fn check(&self) -> Result<(), LifeError> {
        match &self.target {
            ChangeTarget::Annex { number, .. } if !(1..=99).contains(number) => {
                return invalid(format!("numéro d'annexe hors limites : {number} (de 1 à 99)"))
            }
            ChangeTarget::Party { name } if name.trim().is_empty() => {
                return invalid("une modification d'une partie doit nommer la partie".into())
            }
            ChangeTarget::Party { .. } if self.after.trim().is_empty() => {
                return invalid("une modification d'une partie nomme son nouveau signataire (« après »)".into())
            }
            ChangeTarget::Ambition { number, stake } if !(1..=99).contains(number) || !(1..=99).contains(stake) => {
                return invalid(format!(
                    "une modification d'ambition nomme l'ambition (numéro de 1 à 99, ici {number}) et son enjeu (de 1 à 99, ici {stake})"
                ))
            }
            ChangeTarget::Ambition { .. } if self.after.trim().is_empty() || self.after.contains('\n') => {
                return invalid(
                    "une modification d'ambition donne son intitulé nouveau (« après »), sur une ligne".into(),
                )
            }
            ChangeTarget::Other { what } if what.trim().is_empty() => {
                return invalid("une modification doit dire ce qu'elle modifie".into())
            }
            ChangeTarget::EndDate => {
                if crate::parse::date("apres", &self.after).ok().is_none() {
                    return invalid(format!(
                        "la nouvelle date de fin « {} » n'est pas une date (jj/mm/aaaa)",
                        self.after.trim()
                    ));
                }
                if !self.before.trim().is_empty() && crate::parse::date("avant", &self.before).ok().is_none() {
                    return invalid(format!(
                        "l'ancienne date de fin « {} » n'est pas une date (jj/mm/aaaa)",
                        self.before.trim()
                    ));
                }
                if crate::parse::date("avant", &self.before).ok() == crate::parse::date("apres", &self.after).ok() {
                    return invalid("la date de fin ne change pas : l'ancienne et la nouvelle sont la même".into());
                }
                return Ok(());
            }
            _ => {}
        }
        if normalise(&self.before).trim() == normalise(&self.after).trim() {
            return invalid(format!(
                "la modification « {} » ne change rien : avant et après sont identiques",
                self.target.label()
            ));
        }
        Ok(())
    }

    /// The new end date, for a change of the end date.
    pub fn new_end(&self) -> Option<NaiveDate> {
        match self.target {
            ChangeTarget::EndDate => crate::parse::date("apres", &self.after).ok(),
            _ => None,
        }
    }
}

fn normalise(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// The new content of the document `label` after one change: `before` (trimmed) must appear exactly
/// once in the current version and is replaced by `after` (trimmed); an empty `before` adds `after` at
/// the end, or makes it the whole text of a document that has none yet.
pub fn apply_change(label: &str, current: Option<&str>, before: &str, after: &str) -> Result<String, LifeError> {
    let (before, after) = (normalise(before), normalise(after));
    let (before, after) = (before.trim(), after.trim());
    let Some(current) = current.map(normalise) else {
        if !before.is_empty() {
            return invalid(format!(
                "« {label} » n'a pas encore de texte : laissez « avant » vide, « après » en est le texte"
            ));
        }
        return Ok(after.to_owned());
    };
    if before.is_empty() {
        let mut text = current;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(after);
        return Ok(text);
    }
    match current.matches(before).count() {
        1 => Ok(current.replacen(before, after, 1)),
        0 => invalid(format!("le passage à remplacer ne figure pas dans la version en vigueur de « {label} »")),
        n => invalid(format!(
            "le passage à remplacer figure {n} fois dans « {label} » : citez un passage plus long, qui n'y figure qu'une fois"
        )),
    }
}

/// Where a version of a text stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersionState {
    /// The version in force: the latest adopted (initial signing, or avenant signed by all).
    Current,
    /// An earlier adopted version.
    Superseded,
    /// Made by an avenant that some signatories have not signed yet.
    Pending,
}

impl VersionState {
    pub fn code(self) -> &'static str {
        match self {
            Self::Current => "en_vigueur",
            Self::Superseded => "remplacee",
            Self::Pending => "en_attente",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Current => "En vigueur",
            Self::Superseded => "Remplacée",
            Self::Pending => "En attente des signatures de l'avenant",
        }
    }
}

/// The state of each version of a text, in version order, from whether each is adopted: the last
/// adopted version is in force, the adopted ones before it are superseded, the others are pending.
pub fn version_states(adopted: &[bool]) -> Vec<VersionState> {
    let current = adopted.iter().rposition(|a| *a);
    adopted
        .iter()
        .enumerate()
        .map(|(i, a)| match (a, current) {
            (false, _) => VersionState::Pending,
            (true, Some(c)) if c == i => VersionState::Current,
            (true, _) => VersionState::Superseded,
        })
        .collect()
}

/// One line of a difference between two texts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DiffLine {
    Same(String),
    Added(String),
    Removed(String),
}

/// Above this many line pairs, the changed middle of two texts is shown as removed then added, without
/// looking for common lines in it (the table would take too much memory).
const DIFF_MAX_CELLS: usize = 16_000_000;

/// The lines of `a` and `b`, each kept, removed from `a` or added in `b`: a longest common subsequence
/// of lines, removals before additions within a change.
pub fn diff_lines(a: &str, b: &str) -> Vec<DiffLine> {
    let (a, b) = (normalise(a), normalise(b));
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let (mid_a, mid_b) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut out: Vec<DiffLine> = a[..prefix].iter().map(|l| DiffLine::Same((*l).to_owned())).collect();
    let (n, m) = (mid_a.len(), mid_b.len());
    if (n + 1).saturating_mul(m + 1) > DIFF_MAX_CELLS {
        out.extend(mid_a.iter().map(|l| DiffLine::Removed((*l).to_owned())));
        out.extend(mid_b.iter().map(|l| DiffLine::Added((*l).to_owned())));
    } else {
        // lcs[i * (m + 1) + j]: the length of a longest common subsequence of mid_a[i..] and mid_b[j..].
        let width = m + 1;
        let mut lcs = vec![0u32; (n + 1) * width];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i * width + j] = if mid_a[i] == mid_b[j] {
                    lcs[(i + 1) * width + j + 1] + 1
                } else {
                    lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && mid_a[i] == mid_b[j] {
                out.push(DiffLine::Same(mid_a[i].to_owned()));
                i += 1;
                j += 1;
            } else if i < n && (j == m || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
                out.push(DiffLine::Removed(mid_a[i].to_owned()));
                i += 1;
            } else {
                out.push(DiffLine::Added(mid_b[j].to_owned()));
                j += 1;
            }
        }
    }
    out.extend(a[a.len() - suffix..].iter().map(|l| DiffLine::Same((*l).to_owned())));
    out
}

// ---------------------------------------------------------------------------------------------------
// A convention's life on a day
// ---------------------------------------------------------------------------------------------------

/// An avenant as the rules need it. `signatures` follows the order of [`Life::signatures`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvenantFacts {
    pub number: i64,
    pub date: NaiveDate,
    pub signatures: Vec<Option<NaiveDate>>,
    /// The end date it sets, if it changes it.
    pub new_end: Option<NaiveDate>,
}

impl AvenantFacts {
    pub fn in_force_from(&self) -> Option<NaiveDate> {
        avenant_in_force_from(&self.signatures)
    }

    pub fn in_force_on(&self, day: NaiveDate) -> bool {
        self.in_force_from().is_some_and(|from| from <= day)
    }

    /// How many signatories had signed it on `day`.
    pub fn signed_on(&self, day: NaiveDate) -> usize {
        self.signatures.iter().filter(|s| s.is_some_and(|s| s <= day)).count()
    }
}

/// What a convention's life is made of: its period, recorded status, signatures, avenants and
/// termination. Every status and date of this module is computed from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Life {
    pub start: NaiveDate,
    /// The end date as first signed, before any avenant.
    pub end: NaiveDate,
    /// The status recorded on the convention. A convention recorded as signed (or terminated) whose
    /// signature dates are missing, as imported ones may be, counts as signed on an unknown day
    /// before its start.
    pub recorded: ConventionStatus,
    /// Each signatory's signature date, in the order of the parties.
    pub signatures: Vec<Option<NaiveDate>>,
    pub avenants: Vec<AvenantFacts>,
    pub termination: Option<TerminationFacts>,
}

/// What a convention is on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LifeStatus {
    /// No signatory has signed.
    Draft,
    /// Some signatories have signed, not all.
    AwaitingSignatures { signed: usize, parties: usize },
    /// Signed by all, before the day it comes into force.
    SignedNotYetInForce { from: NaiveDate },
    /// In force, until `until` included.
    InForce { until: NaiveDate },
    /// Past its end date `ended`.
    Expired { ended: NaiveDate },
    /// Terminated from `from` (unknown when only the recorded status says so).
    Terminated { from: Option<NaiveDate> },
}

impl LifeStatus {
    /// A stable code: `brouillon`, `en_attente_signatures`, `signee`, `en_vigueur`, `expiree`, `resiliee`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Draft => "brouillon",
            Self::AwaitingSignatures { .. } => "en_attente_signatures",
            Self::SignedNotYetInForce { .. } => "signee",
            Self::InForce { .. } => "en_vigueur",
            Self::Expired { .. } => "expiree",
            Self::Terminated { .. } => "resiliee",
        }
    }

    /// The French label: « En attente de signatures (3 sur 4) », « Résiliée à compter du 28/02/2027 »…
    pub fn label(self) -> String {
        match self {
            Self::Draft => "Brouillon".into(),
            Self::AwaitingSignatures { signed, parties } => {
                format!("En attente de signatures ({signed} sur {parties})")
            }
            Self::SignedNotYetInForce { .. } => "Signée, pas encore en vigueur".into(),
            Self::InForce { .. } => "En vigueur".into(),
            Self::Expired { .. } => "Expirée".into(),
            Self::Terminated { from: Some(from) } => format!("Résiliée à compter du {}", date_short(from)),
            Self::Terminated { from: None } => "Résiliée".into(),
        }
    }

    /// The date that goes with the status, in words: « en vigueur à compter du 01/01/2026 »,
    /// « jusqu'au 31/12/2030 », « depuis le 01/01/2031 ».
    pub fn detail(self) -> Option<String> {
        match self {
            Self::SignedNotYetInForce { from } => Some(format!("en vigueur à compter du {}", date_short(from))),
            Self::InForce { until } => Some(format!("jusqu'au {}", date_short(until))),
            Self::Expired { ended } => ended.succ_opt().map(|d| format!("depuis le {}", date_short(d))),
            _ => None,
        }
    }
}

impl Life {
    /// The signature dates the rules use: a missing date on a convention recorded as signed is an
    /// unknown day long ago.
    fn signature_dates(&self) -> Vec<Option<NaiveDate>> {
        let assumed = (self.recorded != ConventionStatus::Draft).then_some(NaiveDate::MIN);
        self.signatures.iter().map(|s| s.or(assumed)).collect()
    }

    /// How many signatories had signed on `day`.
    pub fn signed_on(&self, day: NaiveDate) -> usize {
        self.signature_dates().iter().filter(|s| s.is_some_and(|s| s <= day)).count()
    }

    /// The day of the last signature, when all signatories have signed and their dates are known.
    pub fn last_signature(&self) -> Option<NaiveDate> {
        avenant_in_force_from(&self.signatures)
    }

    /// The day the convention comes into force, once all signatories have signed ([`in_force_from`]).
    /// A convention recorded as signed without any signatory is in force from its start.
    pub fn in_force_from(&self) -> Option<NaiveDate> {
        if self.signatures.is_empty() {
            return (self.recorded != ConventionStatus::Draft).then_some(self.start);
        }
        in_force_from(self.start, &self.signature_dates())
    }

    /// Whether every signatory had signed on `day`.
    pub fn signed_by(&self, day: NaiveDate) -> bool {
        self.in_force_from().is_some() && self.signed_on(day) == self.signatures.len()
    }

    /// The end date in force on `day`: the one set by the last avenant in force that day which changes
    /// it, else the end date as signed.
    pub fn end_on(&self, day: NaiveDate) -> NaiveDate {
        self.avenants
            .iter()
            .filter(|a| a.new_end.is_some() && a.in_force_on(day))
            .max_by_key(|a| a.number)
            .and_then(|a| a.new_end)
            .unwrap_or(self.end)
    }

    /// The end date with every avenant signed so far.
    pub fn current_end(&self) -> NaiveDate {
        self.end_on(NaiveDate::MAX)
    }

    /// The day the termination takes effect, if one is recorded and comes before the end.
    fn termination_effective(&self) -> Option<NaiveDate> {
        self.termination.map(|t| t.effective_date).filter(|e| *e <= self.current_end())
    }

    /// What the convention is on `day`.
    pub fn status_on(&self, day: NaiveDate) -> LifeStatus {
        if let Some(t) = self.termination {
            if t.effective_date <= day && t.effective_date <= self.end_on(day) {
                return LifeStatus::Terminated { from: Some(t.effective_date) };
            }
        } else if self.recorded == ConventionStatus::Terminated {
            return LifeStatus::Terminated { from: None };
        }
        let parties = self.signatures.len();
        let signed = self.signed_on(day);
        let Some(from) = self.in_force_from().filter(|_| signed == parties) else {
            return if signed == 0 { LifeStatus::Draft } else { LifeStatus::AwaitingSignatures { signed, parties } };
        };
        let end = self.end_on(day);
        if day < from && from <= end {
            LifeStatus::SignedNotYetInForce { from }
        } else if day <= end && from <= end {
            LifeStatus::InForce { until: end }
        } else {
            LifeStatus::Expired { ended: end }
        }
    }

    /// The last day the commitments run ([`commitments_end`]), with every avenant signed so far.
    pub fn commitments_end(&self) -> NaiveDate {
        commitments_end(self.current_end(), self.termination.map(|t| t.effective_date))
    }

    /// The avenants not in force on `day`.
    pub fn pending_avenants(&self, day: NaiveDate) -> impl Iterator<Item = &AvenantFacts> {
        self.avenants.iter().filter(move |a| !a.in_force_on(day))
    }

    /// A convention can be signed by a party on `date`: the signature and its deliberation are in
    /// order, and it comes before the end of the convention.
    pub fn check_signature(&self, signature: &Signature) -> Result<(), LifeError> {
        signature.check()?;
        let end = self.current_end();
        if signature.on.date > end {
            return invalid(format!(
                "la signature ({}) est postérieure à la fin de la convention ({}) : une convention échue ne se signe plus, \
                 son renouvellement est une nouvelle convention (art. 11)",
                signature.on.label(),
                date_short(end)
            ));
        }
        Ok(())
    }

    /// An avenant dated `date` may amend the convention: it is signed by all, not terminated, and the
    /// date falls between the last signature and the end (art. 12).
    pub fn check_avenant(&self, date: NaiveDate) -> Result<(), LifeError> {
        if let Some(t) = self.termination {
            return invalid(format!(
                "la convention est résiliée (à compter du {}) : elle ne se modifie plus par avenant",
                date_short(t.effective_date)
            ));
        }
        if self.in_force_from().is_none() {
            return invalid(
                "la convention n'est pas encore signée par toutes les parties : un avenant ne modifie qu'une convention \
                 signée (art. 12) ; avant, modifiez-la directement"
                    .into(),
            );
        }
        if let Some(last) = self.last_signature().filter(|last| date < *last) {
            return invalid(format!(
                "l'avenant est daté du {}, avant la dernière signature de la convention ({})",
                date_short(date),
                date_short(last)
            ));
        }
        let end = self.current_end();
        if date > end {
            return invalid(format!(
                "l'avenant est daté du {}, après la fin de la convention ({}) : son renouvellement est une nouvelle \
                 convention (art. 11)",
                date_short(date),
                date_short(end)
            ));
        }
        Ok(())
    }

    /// A party may sign an avenant on `date`: before the end of the convention and before its
    /// termination takes effect.
    pub fn check_avenant_signature(&self, date: NaiveDate) -> Result<(), LifeError> {
        let end = self.current_end();
        if date > end {
            return invalid(format!(
                "la signature du {} est postérieure à la fin de la convention ({})",
                date_short(date),
                date_short(end)
            ));
        }
        if let Some(t) = self.termination.filter(|t| t.effective_date <= date) {
            return invalid(format!(
                "la convention est résiliée à compter du {} : l'avenant ne peut plus être signé le {}",
                date_short(t.effective_date),
                date_short(date)
            ));
        }
        Ok(())
    }

    /// A termination on `ground` notified (or found) on `notice_date` may be recorded: none is recorded
    /// yet, the convention was signed by all on that day, it had not ended, and the termination takes
    /// effect before its end. Gives the effective date.
    pub fn check_termination(&self, ground: TerminationGround, notice_date: NaiveDate) -> Result<NaiveDate, LifeError> {
        if let Some(t) = self.termination {
            return invalid(format!(
                "la convention est déjà résiliée (à compter du {}) : une résiliation ne s'enregistre qu'une fois",
                date_short(t.effective_date)
            ));
        }
        if !self.signed_by(notice_date) {
            return invalid(format!(
                "la convention n'était pas signée par toutes les parties le {} : seule une convention signée peut être \
                 résiliée",
                date_short(notice_date)
            ));
        }
        let end = self.end_on(notice_date);
        if notice_date > end {
            return invalid(format!(
                "la convention a pris fin le {} : elle ne peut plus être résiliée le {}",
                date_short(end),
                date_short(notice_date)
            ));
        }
        let effective = effective_date(ground, notice_date);
        if effective > end {
            return invalid(format!(
                "la résiliation prendrait effet le {}, après la fin de la convention ({}) : la convention aura expiré avant",
                date_short(effective),
                date_short(end)
            ));
        }
        Ok(effective)
    }
}

/// The next date that matters on `day`, with what happens then: the end of the convention, the day a
/// pending termination takes effect, the end of a data-exchange agreement (`agreement_ends`: each
/// agreement's title and end date), or an avenant awaiting signatures (due on `day`, or on its own date
/// if later). Earliest first; on the same day: termination, end, agreement, avenant. Nothing once the
/// convention has expired or been terminated.
pub fn next_milestone(
    life: &Life,
    day: NaiveDate,
    agreement_ends: &[(String, NaiveDate)],
) -> Option<(NaiveDate, String)> {
    if matches!(life.status_on(day), LifeStatus::Expired { .. } | LifeStatus::Terminated { .. }) {
        return None;
    }
    let mut candidates: Vec<(NaiveDate, u8, String)> = Vec::new();
    let end = life.end_on(day);
    match life.termination_effective() {
        Some(effective) if effective > day => candidates.push((
            effective,
            0,
            format!("Prise d'effet de la résiliation ({})", life.termination.map_or("", |t| t.ground.label())),
        )),
        _ => {}
    }
    if end >= day {
        candidates.push((end, 1, "Fin de la convention".into()));
    }
    for (title, agreement_end) in agreement_ends.iter().filter(|(_, e)| *e >= day) {
        candidates.push((*agreement_end, 2, format!("Fin de l'accord d'échange de données « {} »", title.trim())));
    }
    for a in life.pending_avenants(day) {
        candidates.push((
            a.date.max(day),
            3,
            format!(
                "Avenant n° {} en attente de signatures ({} sur {})",
                a.number,
                a.signed_on(day),
                a.signatures.len()
            ),
        ));
    }
    candidates.into_iter().min_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1))).map(|(date, _, label)| (date, label))
}

impl Life {
    /// See [`next_milestone`].
    pub fn next_milestone(
        &self,
        day: NaiveDate,
        agreement_ends: &[(String, NaiveDate)],
    ) -> Option<(NaiveDate, String)> {
        next_milestone(self, day, agreement_ends)
    }
}

impl From<ConventionError> for LifeError {
    fn from(e: ConventionError) -> Self {
        Self::Invalid(e.to_string())
    }
}

/// The subject of avenant n° `number` as shown after « Avenant n° N : »: its title without a
/// leading « Avenant n° N » that would repeat it (« Avenant n° 1 : Avenant n° 1 portant… »), or
/// empty when the title says nothing more.
pub fn avenant_subject(number: i64, title: &str) -> String {
    let title = title.trim();
    let repeated = (|| {
        let head = title.get(..7)?;
        if !head.eq_ignore_ascii_case("avenant") {
            return None;
        }
        let mut rest = title[7..].trim_start();
        for mark in ["n°", "N°", "no ", "No ", "n ° ", "numéro"] {
            if let Some(r) = rest.strip_prefix(mark) {
                rest = r.trim_start();
                break;
            }
        }
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        (digits > 0 && rest[..digits].parse::<i64>().ok() == Some(number)).then(|| &rest[digits..])
    })();
    match repeated {
        Some(rest) => rest.trim_start_matches([':', ',', '-', '–', '—', '.', ' ', '\u{a0}']).trim().to_owned(),
        None => title.to_owned(),
    }
}

/// « Avenant n° N : subject », or « Avenant n° N » when its title only repeats its number.
pub fn avenant_heading(number: i64, title: &str) -> String {
    match avenant_subject(number, title) {
        s if s.is_empty() => format!("Avenant n° {number}"),
        s => format!("Avenant n° {number} : {s}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_avenant_title_does_not_repeat_its_number() {
        assert_eq!(
            avenant_heading(1, "Avenant n° 1 : calendrier des instances"),
            "Avenant n° 1 : calendrier des instances"
        );
        assert_eq!(avenant_heading(1, "Avenant n°1 — calendrier"), "Avenant n° 1 : calendrier");
        assert_eq!(avenant_heading(1, "avenant n° 1"), "Avenant n° 1");
        assert_eq!(avenant_heading(1, "Avenant n° 12 : autre"), "Avenant n° 1 : Avenant n° 12 : autre");
        assert_eq!(avenant_heading(2, "Calendrier des instances"), "Avenant n° 2 : Calendrier des instances");
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// The CTG 2026-2030: four signatories.
    fn ctg(signatures: [Option<NaiveDate>; 4]) -> Life {
        Life {
            start: d(2026, 1, 1),
            end: d(2030, 12, 31),
            recorded: ConventionStatus::Draft,
            signatures: signatures.to_vec(),
            avenants: vec![],
            termination: None,
        }
    }

    fn signed() -> Life {
        ctg([Some(d(2025, 12, 10)), Some(d(2025, 12, 12)), Some(d(2025, 12, 15)), Some(d(2025, 12, 18))])
    }

    #[test]
    fn months_are_calendar_months_clamped_to_the_end_of_the_month() {
        assert_eq!(days_in_month(2027, 2), 28);
        assert_eq!(days_in_month(2028, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2026, 12), 31);
        assert_eq!(add_months(d(2026, 1, 15), 1), d(2026, 2, 15));
        assert_eq!(add_months(d(2026, 12, 31), 1), d(2027, 1, 31));
        assert_eq!(add_months(d(2026, 3, 31), 1), d(2026, 4, 30));
        assert_eq!(add_months(d(2026, 5, 1), 0), d(2026, 5, 1));
        assert_eq!(add_months(d(2026, 10, 31), 6), d(2027, 4, 30));
    }

    #[test]
    fn a_mise_en_demeure_on_31_january_takes_effect_at_the_end_of_february() {
        let ground = TerminationGround::Breach;
        assert_eq!(effective_date(ground, d(2027, 1, 31)), d(2027, 2, 28));
        // 2028 is a leap year.
        assert_eq!(effective_date(ground, d(2028, 1, 31)), d(2028, 2, 29));
        assert_eq!(effective_date(ground, d(2028, 1, 29)), d(2028, 2, 29));
        assert_eq!(effective_date(TerminationGround::LegalBreach, d(2027, 1, 30)), d(2027, 2, 28));
        // One month later, the same day number.
        assert_eq!(effective_date(ground, d(2027, 2, 28)), d(2027, 3, 28));
    }

    #[test]
    fn a_notice_on_31_august_takes_effect_at_the_end_of_the_next_february() {
        let ground = TerminationGround::Notice;
        assert_eq!(effective_date(ground, d(2026, 8, 31)), d(2027, 2, 28));
        assert_eq!(effective_date(ground, d(2027, 8, 31)), d(2028, 2, 29));
        assert_eq!(effective_date(ground, d(2027, 8, 30)), d(2028, 2, 29));
        assert_eq!(effective_date(ground, d(2027, 8, 28)), d(2028, 2, 28));
        assert_eq!(effective_date(ground, d(2026, 9, 1)), d(2027, 3, 1));
    }

    #[test]
    fn a_change_without_avenant_terminates_at_once() {
        assert_eq!(effective_date(TerminationGround::UnsignedChange, d(2027, 6, 14)), d(2027, 6, 14));
        assert!(TerminationGround::UnsignedChange.caf_only());
        assert!(TerminationGround::LegalBreach.caf_only());
        assert!(!TerminationGround::Breach.caf_only() && !TerminationGround::Notice.caf_only());
        assert_eq!(TerminationGround::parse("denonciation").unwrap(), TerminationGround::Notice);
        assert!(TerminationGround::parse("resiliation").unwrap_err().to_string().contains("mise_en_demeure"));
    }

    /// Art. 13: « La résiliation … entraînera l'arrêt immédiat des engagements des parties ». The day
    /// of effect is the first day without commitments, at the bounds: month ends, leap years, 1 January.
    #[test]
    fn art_13_what_runs_on_or_after_the_effective_date_is_stopped() {
        use crate::plan::FicheStatus::*;
        // A mise en demeure sent on 31 January 2028, left without effect: terminated on 29 February
        // 2028 (leap year); commitments run until the 28th.
        let leap = Stop { effective: effective_date(TerminationGround::Breach, d(2028, 1, 31)) };
        assert_eq!((leap.effective, leap.last_day()), (d(2028, 2, 29), d(2028, 2, 28)));
        assert!(!leap.stops_year(2028) && leap.stops_year(2029) && !leap.stops_year(2027));
        assert!(leap.stops_from(d(2028, 2, 29)) && !leap.stops_from(d(2028, 2, 28)));
        assert_eq!(leap.cut(None), d(2028, 2, 28));
        assert_eq!(leap.cut(Some(d(2028, 2, 1))), d(2028, 2, 1));
        assert_eq!(leap.cut(Some(d(2030, 12, 31))), d(2028, 2, 28));
        // A notice given on 30 June 2027 (six months): terminated on 31 December 2027; 2027 runs, 2028 stops.
        let notice = Stop { effective: effective_date(TerminationGround::Notice, d(2027, 6, 30)) };
        assert_eq!(notice.effective, d(2027, 12, 30));
        let notice = Stop { effective: effective_date(TerminationGround::Notice, d(2027, 7, 1)) };
        assert_eq!(notice.effective, d(2028, 1, 1));
        assert!(!notice.stops_year(2027) && notice.stops_year(2028));
        // A change without avenant found on 1 January 2027: terminated that day; all of 2027 stops.
        let now = Stop { effective: effective_date(TerminationGround::UnsignedChange, d(2027, 1, 1)) };
        assert_eq!(now.last_day(), d(2026, 12, 31));
        assert!(!now.stops_year(2026) && now.stops_year(2027));
        // Fiches: an unfinished fiche running on the day stops; one ending the day before, or finished, does not.
        assert!(now.stops_fiche(InProgress, None));
        assert!(now.stops_fiche(Upcoming, Some(d(2027, 1, 1))));
        assert!(!now.stops_fiche(InProgress, Some(d(2026, 12, 31))));
        assert!(!now.stops_fiche(Done, None) && !now.stops_fiche(Abandoned, Some(d(2030, 1, 1))));
        assert!(!year_stopped(None, 2100) && year_stopped(Some(now), 2030));
    }

    #[test]
    fn commitments_stop_the_day_the_termination_takes_effect() {
        let end = d(2030, 12, 31);
        assert_eq!(commitments_end(end, None), end);
        assert_eq!(commitments_end(end, Some(d(2027, 2, 28))), d(2027, 2, 27));
        // Taking effect the day after the end: the end is the last day anyway.
        assert_eq!(commitments_end(end, Some(d(2031, 1, 1))), end);
        assert_eq!(commitments_end(end, Some(d(2031, 6, 1))), end);
        let mut life = signed();
        life.termination = Some(TerminationFacts::new(TerminationGround::Breach, d(2027, 1, 31)));
        assert_eq!(life.commitments_end(), d(2027, 2, 27));
    }

    #[test]
    fn art_11_concluded_from_its_start_for_the_whole_period_once_all_have_signed() {
        // Art. 11: « La présente convention est conclue à compter du 01 Janvier 2026 jusqu'au 31
        // Décembre 2030 »; annex 2 dates the signature « Janvier 2026 ».
        let start = d(2026, 1, 1);
        // Signed before, or on, the start date: in force from the start.
        assert_eq!(in_force_from(start, &[Some(d(2025, 12, 1)), Some(d(2025, 12, 20))]), Some(start));
        assert_eq!(in_force_from(start, &[Some(d(2025, 12, 1)), Some(start)]), Some(start));
        // The last signature a few weeks after the start: in force from the start all the same.
        assert_eq!(in_force_from(start, &[Some(d(2026, 1, 2)), Some(d(2025, 12, 1))]), Some(start));
        // Not all signed, or nobody to sign: not in force.
        assert_eq!(in_force_from(start, &[Some(d(2025, 12, 1)), None]), None);
        assert_eq!(in_force_from(start, &[]), None);
    }

    #[test]
    fn a_signature_on_the_start_date_or_after_it() {
        let before = signed();
        assert_eq!(before.status_on(d(2025, 12, 31)), LifeStatus::SignedNotYetInForce { from: d(2026, 1, 1) });
        assert_eq!(before.status_on(d(2026, 1, 1)), LifeStatus::InForce { until: d(2030, 12, 31) });
        let on_start = ctg([Some(d(2025, 12, 1)), Some(d(2025, 12, 1)), Some(d(2025, 12, 1)), Some(d(2026, 1, 1))]);
        assert_eq!(on_start.in_force_from(), Some(d(2026, 1, 1)));
        assert_eq!(on_start.status_on(d(2025, 12, 31)), LifeStatus::AwaitingSignatures { signed: 3, parties: 4 });
        assert_eq!(on_start.status_on(d(2026, 1, 1)), LifeStatus::InForce { until: d(2030, 12, 31) });
        let after = ctg([Some(d(2025, 12, 1)), Some(d(2025, 12, 1)), Some(d(2025, 12, 1)), Some(d(2026, 1, 20))]);
        assert_eq!(after.in_force_from(), Some(d(2026, 1, 1)), "art. 11: from its start");
        // Before the last signature, three of four had signed: never « en vigueur ».
        assert_eq!(after.status_on(d(2026, 1, 1)), LifeStatus::AwaitingSignatures { signed: 3, parties: 4 });
        assert_eq!(after.status_on(d(2026, 1, 19)).label(), "En attente de signatures (3 sur 4)");
        assert_eq!(after.status_on(d(2026, 1, 20)), LifeStatus::InForce { until: d(2030, 12, 31) });
        assert_eq!(ctg([None; 4]).status_on(d(2026, 6, 1)), LifeStatus::Draft);
        assert_eq!(ctg([None; 4]).status_on(d(2026, 6, 1)).label(), "Brouillon");
    }

    #[test]
    fn the_end_of_a_leap_year_is_the_last_day_in_force() {
        let mut life = signed();
        life.start = d(2024, 1, 1);
        life.end = d(2028, 12, 31);
        life.signatures = vec![Some(d(2023, 12, 1)); 4];
        assert_eq!(life.status_on(d(2028, 2, 29)), LifeStatus::InForce { until: d(2028, 12, 31) });
        assert_eq!(life.status_on(d(2028, 12, 31)), LifeStatus::InForce { until: d(2028, 12, 31) });
        let expired = life.status_on(d(2029, 1, 1));
        assert_eq!(expired, LifeStatus::Expired { ended: d(2028, 12, 31) });
        assert_eq!((expired.label(), expired.detail()), ("Expirée".into(), Some("depuis le 01/01/2029".into())));
        // Never renewed by itself: still expired years later.
        assert_eq!(life.status_on(d(2035, 1, 1)).code(), "expiree");
    }

    #[test]
    fn a_convention_recorded_as_signed_without_dates_is_signed() {
        let mut life = ctg([None; 4]);
        life.recorded = ConventionStatus::Signed;
        assert_eq!(life.status_on(d(2025, 6, 1)), LifeStatus::SignedNotYetInForce { from: d(2026, 1, 1) });
        assert_eq!(life.status_on(d(2026, 1, 1)).code(), "en_vigueur");
        // A signature date recorded after the start does not move the day it is in force from.
        life.signatures[0] = Some(d(2026, 2, 3));
        assert_eq!(life.in_force_from(), Some(d(2026, 1, 1)));
        assert_eq!(life.status_on(d(2026, 2, 2)).code(), "en_attente_signatures");
        life.signatures.clear();
        assert_eq!(life.status_on(d(2026, 1, 1)).code(), "en_vigueur");
        life.recorded = ConventionStatus::Terminated;
        assert_eq!(life.status_on(d(2026, 1, 1)).label(), "Résiliée");
    }

    #[test]
    fn an_avenant_signed_by_three_of_four_parties_is_not_in_force() {
        let mut life = signed();
        let mut avenant = AvenantFacts {
            number: 1,
            date: d(2027, 3, 1),
            signatures: vec![Some(d(2027, 3, 2)), Some(d(2027, 3, 5)), Some(d(2027, 3, 9)), None],
            new_end: Some(d(2031, 6, 30)),
        };
        life.avenants = vec![avenant.clone()];
        assert_eq!(avenant.in_force_from(), None);
        assert_eq!(life.end_on(d(2027, 12, 31)), d(2030, 12, 31), "three of four signatures change nothing");
        assert_eq!(life.current_end(), d(2030, 12, 31));
        assert_eq!(version_states(&[true, false]), vec![VersionState::Current, VersionState::Pending]);
        // The fourth signs: in force from that signature.
        avenant.signatures[3] = Some(d(2027, 4, 12));
        life.avenants = vec![avenant.clone()];
        assert_eq!(avenant.in_force_from(), Some(d(2027, 4, 12)));
        assert!(!avenant.in_force_on(d(2027, 4, 11)) && avenant.in_force_on(d(2027, 4, 12)));
        assert_eq!(life.end_on(d(2027, 4, 11)), d(2030, 12, 31));
        assert_eq!(life.end_on(d(2027, 4, 12)), d(2031, 6, 30));
        assert_eq!(life.status_on(d(2031, 1, 1)), LifeStatus::InForce { until: d(2031, 6, 30) });
        assert_eq!(version_states(&[true, true]), vec![VersionState::Superseded, VersionState::Current]);
        // The fourth signature dated before the others: in force from the last of them.
        avenant.signatures[3] = Some(d(2027, 3, 3));
        assert_eq!(avenant.in_force_from(), Some(d(2027, 3, 9)));
        assert_eq!(avenant_in_force_from(&[]), None);
    }

    #[test]
    fn art_12_a_convention_signed_by_all_is_locked() {
        assert!(!text_locked(ConventionStatus::Draft, &[]), "nobody to sign");
        assert!(!text_locked(ConventionStatus::Draft, &[true, true, false]));
        assert!(text_locked(ConventionStatus::Draft, &[true, true, true]));
        assert!(text_locked(ConventionStatus::Signed, &[false]), "recorded as signed, dates unknown");
        assert!(text_locked(ConventionStatus::Terminated, &[]));
    }

    #[test]
    fn art_13_a_mise_en_demeure_runs_one_month_then_is_settled() {
        // « à l'expiration d'un délai d'un mois suivant l'envoi d'une lettre recommandée … valant mise en
        // demeure … restée infructueuse ».
        assert_eq!(notice_deadline(d(2027, 1, 31)), d(2027, 2, 28));
        assert_eq!(notice_deadline(d(2028, 1, 31)), d(2028, 2, 29), "leap year");
        assert_eq!(notice_deadline(d(2027, 12, 15)), d(2028, 1, 15));
        let pending = NoticeOutcome::Pending;
        let sent = d(2027, 1, 31);
        let early = check_notice_outcome(pending, sent, NoticeOutcome::Unfruitful, d(2027, 2, 27)).unwrap_err();
        assert!(early.to_string().contains("jusqu'au 28/02/2027"), "{early}");
        assert_eq!(
            check_notice_outcome(pending, sent, NoticeOutcome::Unfruitful, d(2027, 2, 28)),
            Ok(Some(d(2027, 2, 28)))
        );
        assert_eq!(check_notice_outcome(pending, sent, NoticeOutcome::Complied, d(2027, 2, 10)), Ok(None));
        assert_eq!(check_notice_outcome(pending, sent, NoticeOutcome::Withdrawn, sent), Ok(None));
        assert!(check_notice_outcome(pending, sent, NoticeOutcome::Withdrawn, d(2027, 1, 30)).is_err());
        assert!(check_notice_outcome(pending, sent, NoticeOutcome::Pending, d(2027, 3, 1)).is_err());
        let closed = check_notice_outcome(NoticeOutcome::Complied, sent, NoticeOutcome::Unfruitful, d(2027, 3, 1));
        assert!(closed.unwrap_err().to_string().contains("déjà close"));
    }

    #[test]
    fn termination_shows_from_its_effective_date() {
        let mut life = signed();
        let effective = life.check_termination(TerminationGround::Breach, d(2027, 1, 31)).unwrap();
        assert_eq!(effective, d(2027, 2, 28));
        life.termination = Some(TerminationFacts::new(TerminationGround::Breach, d(2027, 1, 31)));
        assert_eq!(life.status_on(d(2027, 2, 27)), LifeStatus::InForce { until: d(2030, 12, 31) });
        let status = life.status_on(d(2027, 2, 28));
        assert_eq!(status, LifeStatus::Terminated { from: Some(d(2027, 2, 28)) });
        assert_eq!(status.label(), "Résiliée à compter du 28/02/2027");
        assert_eq!(status.code(), "resiliee");
        // Only once.
        let again = life.check_termination(TerminationGround::Notice, d(2027, 2, 1)).unwrap_err().to_string();
        assert!(again.contains("déjà résiliée"), "{again}");
    }

    #[test]
    fn only_a_signed_convention_still_running_can_be_terminated() {
        let draft = ctg([Some(d(2025, 12, 1)), None, None, None]);
        let err = draft.check_termination(TerminationGround::Notice, d(2026, 3, 1)).unwrap_err().to_string();
        assert!(err.contains("pas signée"), "{err}");
        let life = signed();
        // Before the last signature, it was not signed yet.
        assert!(life.check_termination(TerminationGround::Breach, d(2025, 12, 17)).is_err());
        assert!(life.check_termination(TerminationGround::Breach, d(2025, 12, 18)).is_ok());
        // After its end, or taking effect after its end.
        assert!(life
            .check_termination(TerminationGround::Breach, d(2031, 1, 1))
            .unwrap_err()
            .to_string()
            .contains("pris fin"));
        let late = life.check_termination(TerminationGround::Notice, d(2030, 7, 1)).unwrap_err().to_string();
        assert!(late.contains("après la fin"), "{late}");
        assert_eq!(life.check_termination(TerminationGround::Notice, d(2030, 6, 30)), Ok(d(2030, 12, 30)));
        assert_eq!(life.check_termination(TerminationGround::UnsignedChange, d(2030, 12, 31)), Ok(d(2030, 12, 31)));
    }

    #[test]
    fn a_dated_deliberation_precedes_the_signature_and_may_be_absent() {
        let life = ctg([None; 4]);
        let mut s = Signature {
            on: SignedOn::day(d(2025, 12, 1)),
            deliberation: Some("Conseil communautaire".into()),
            deliberation_date: Some(d(2025, 9, 30)),
        };
        assert!(life.check_signature(&s).is_ok());
        s.deliberation_date = Some(s.on.date);
        assert!(life.check_signature(&s).is_ok(), "the same day is fine");
        s.deliberation_date = Some(d(2025, 12, 2));
        assert!(life.check_signature(&s).unwrap_err().to_string().contains("postérieure à la signature"));
        // The MSA signs « représentée par son Président », with no deliberation named; the CAF's
        // deliberation is named without a date in the text.
        s.deliberation = None;
        s.deliberation_date = None;
        assert!(life.check_signature(&s).is_ok());
        s.deliberation = Some("Conseil d'administration".into());
        assert!(life.check_signature(&s).is_ok());
        // Signed « Janvier 2026 » (annex 2): a deliberation of 15 January precedes it.
        s.on = SignedOn::month(d(2026, 1, 20));
        s.deliberation_date = Some(d(2026, 1, 15));
        assert!(life.check_signature(&s).is_ok());
        s.deliberation_date = Some(d(2026, 2, 1));
        let err = life.check_signature(&s).unwrap_err().to_string();
        assert!(err.contains("(janvier 2026)"), "{err}");
        s.deliberation_date = None;
        s.on = SignedOn::day(d(2031, 1, 1));
        assert!(life.check_signature(&s).unwrap_err().to_string().contains("art. 11"));
    }

    #[test]
    fn a_signature_known_by_its_month_counts_from_the_month_s_end() {
        let january = SignedOn::parse("date", "janvier 2026").unwrap();
        assert_eq!(january, SignedOn::month(d(2026, 1, 1)));
        assert_eq!(
            (january.label(), january.counted(), january.latest()),
            ("janvier 2026".into(), d(2026, 1, 1), d(2026, 1, 31))
        );
        assert_eq!(SignedOn::parse("date", "01/2026").unwrap(), january);
        assert_eq!(SignedOn::parse("date", "2026-01").unwrap(), january);
        assert_eq!(SignedOn::parse("date", " Février 2028 ").unwrap().latest(), d(2028, 2, 29));
        assert_eq!(SignedOn::parse("date", "15/01/2026").unwrap(), SignedOn::day(d(2026, 1, 15)));
        assert_eq!(SignedOn::parse("date", "2026-01-15").unwrap().label(), "15/01/2026");
        for bad in ["13/2026", "brumaire 2026", "2026-13", "", "janvier"] {
            let e = SignedOn::parse("date", bad).unwrap_err();
            assert_eq!(e.field, "date", "{bad}");
        }
        // The demonstration's four signatures, « Janvier 2026 »: in force from 1 January (art. 11),
        // not signed in December.
        let life = ctg([Some(january.counted()); 4]);
        assert_eq!(life.status_on(d(2025, 12, 31)).code(), "brouillon");
        assert_eq!(life.status_on(d(2026, 1, 1)), LifeStatus::InForce { until: d(2030, 12, 31) });
        assert_eq!(life.in_force_from(), Some(d(2026, 1, 1)));
    }

    #[test]
    fn avenants_amend_only_a_signed_running_convention() {
        let draft = ctg([Some(d(2025, 12, 1)), None, None, None]);
        assert!(draft.check_avenant(d(2026, 5, 1)).unwrap_err().to_string().contains("pas encore signée"));
        let life = signed();
        assert!(life.check_avenant(d(2025, 12, 17)).is_err(), "before the last signature");
        assert!(life.check_avenant(d(2025, 12, 18)).is_ok());
        assert!(life.check_avenant(d(2030, 12, 31)).is_ok());
        assert!(life.check_avenant(d(2031, 1, 1)).unwrap_err().to_string().contains("nouvelle convention"));
        assert!(life.check_avenant_signature(d(2031, 1, 1)).is_err());
        let mut terminated = life;
        terminated.termination = Some(TerminationFacts::new(TerminationGround::Notice, d(2027, 1, 10)));
        assert!(terminated.check_avenant(d(2027, 2, 1)).unwrap_err().to_string().contains("résiliée"));
        assert!(terminated.check_avenant_signature(d(2027, 7, 9)).is_ok());
        assert!(terminated.check_avenant_signature(d(2027, 7, 10)).is_err());
    }

    #[test]
    fn changes_name_what_they_change_and_change_something() {
        let text = |before: &str, after: &str| AvenantChange {
            target: ChangeTarget::Text,
            before: before.into(),
            after: after.into(),
        };
        assert!(text("a", "b").check().is_ok());
        assert!(text("a", " a ").check().unwrap_err().to_string().contains("ne change rien"));
        let end = |before: &str, after: &str| AvenantChange {
            target: ChangeTarget::EndDate,
            before: before.into(),
            after: after.into(),
        };
        assert_eq!(end("", "30/06/2031").new_end(), Some(d(2031, 6, 30)));
        assert!(end("31/12/2030", "2031-06-30").check().is_ok());
        assert!(end("", "fin juin").check().unwrap_err().to_string().contains("n'est pas une date"));
        assert!(end("2030-12-31", "31/12/2030").check().is_err());
        let annex = AvenantChange {
            target: ChangeTarget::Annex { number: 100, name: String::new() },
            before: String::new(),
            after: "x".into(),
        };
        assert!(annex.check().is_err());
        let party =
            AvenantChange { target: ChangeTarget::Party { name: " ".into() }, before: "a".into(), after: "b".into() };
        assert!(party.check().is_err());
        let annex = ChangeTarget::Annex { number: 4, name: "Plan d'action".into() };
        assert_eq!(
            (annex.label(), annex.document_key()),
            ("Annexe 4 « Plan d'action »".into(), Some("annexe-4".into()))
        );
        assert_eq!(ChangeTarget::from_parts(annex.code(), annex.annex_number(), &annex.name()), Ok(annex));
        assert_eq!(ChangeTarget::EndDate.conflict_key(), Some("date_fin".into()));
        // Two pending avenants may not both change a party's signatory, or the same ambition.
        assert_eq!(ChangeTarget::Party { name: "CAF".into() }.conflict_key(), Some("partie-caf".into()));
        let ambition = ChangeTarget::Ambition { number: 5, stake: 2 };
        assert_eq!(ambition.label(), "Ambition n° 5 (enjeu n° 2)");
        assert_eq!(ambition.conflict_key(), Some("ambition-5".into()));
        assert_eq!(
            ChangeTarget::from_parts("ambition", ambition.annex_number(), &ambition.name()),
            Ok(ambition.clone())
        );
        let reworded = AvenantChange { target: ambition.clone(), before: "Ancien".into(), after: "Nouveau".into() };
        assert!(reworded.check().is_ok());
        let emptied = AvenantChange { target: ambition, before: "Ancien".into(), after: " ".into() };
        assert!(emptied.check().unwrap_err().to_string().contains("intitulé nouveau"));
        let no_stake = AvenantChange {
            target: ChangeTarget::Ambition { number: 5, stake: 0 },
            before: String::new(),
            after: "x".into(),
        };
        assert!(no_stake.check().is_err());
        assert!(ChangeTarget::from_parts("titre", None, "").is_err());
        assert_eq!(document_label("annexe-3"), Ok("Annexe 3".into()));
        assert_eq!(document_label("convention"), Ok("Texte de la convention".into()));
        for bad in ["annexe-0", "annexe-03", "annexe-100", "annexe", "statuts"] {
            assert!(document_label(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn changes_replace_one_passage_of_the_version_in_force() {
        let text = "Article 11 : Durée\nDu 1er janvier 2026 au 31 décembre 2030.\nArticle 12 : Avenants\n";
        let new = apply_change("convention", Some(text), "31 décembre 2030", "30 juin 2031").unwrap();
        assert_eq!(new, "Article 11 : Durée\nDu 1er janvier 2026 au 30 juin 2031.\nArticle 12 : Avenants\n");
        let added = apply_change("convention", Some(text), "", "Article 16 : Données\r\n").unwrap();
        assert!(added.ends_with("Avenants\nArticle 16 : Données"), "{added:?}");
        assert!(apply_change("convention", Some(text), "2032", "x").unwrap_err().to_string().contains("ne figure pas"));
        assert!(apply_change("convention", Some(text), "Article", "x").unwrap_err().to_string().contains("2 fois"));
        // A new annex: its whole text.
        assert_eq!(apply_change("Annexe 9", None, "", "Liste\n").unwrap(), "Liste");
        assert!(apply_change("Annexe 9", None, "x", "y").is_err());
        // Removing a passage.
        assert_eq!(apply_change("c", Some("a b c"), " b", "").unwrap(), "a  c");
    }

    #[test]
    fn line_differences() {
        use DiffLine::{Added, Removed, Same};
        let s = |x: &str| x.to_owned();
        assert_eq!(diff_lines("a\nb\nc", "a\nb\nc"), vec![Same(s("a")), Same(s("b")), Same(s("c"))]);
        assert_eq!(diff_lines("a\nb\nc", "a\nx\nc"), vec![Same(s("a")), Removed(s("b")), Added(s("x")), Same(s("c"))]);
        assert_eq!(diff_lines("", "a"), vec![Added(s("a"))]);
        assert_eq!(diff_lines("a\r\nb", ""), vec![Removed(s("a")), Removed(s("b"))]);
        assert_eq!(
            diff_lines("a\nb\nc\nd", "b\nc\ne\nd\nf"),
            vec![Removed(s("a")), Same(s("b")), Same(s("c")), Added(s("e")), Same(s("d")), Added(s("f"))]
        );
        // Kept lines in the middle of a change are found.
        assert_eq!(
            diff_lines("x\n1\n2\ny", "z\n1\n2\nw"),
            vec![Removed(s("x")), Added(s("z")), Same(s("1")), Same(s("2")), Removed(s("y")), Added(s("w"))]
        );
    }

    #[test]
    fn the_next_date_that_matters() {
        let mut life = signed();
        let day = d(2027, 1, 15);
        assert_eq!(life.next_milestone(day, &[]), Some((d(2030, 12, 31), "Fin de la convention".into())));
        let agreements = vec![("Échange CAF-EPCI".to_owned(), d(2028, 6, 30)), ("Ancien".to_owned(), d(2026, 12, 31))];
        assert_eq!(
            life.next_milestone(day, &agreements),
            Some((d(2028, 6, 30), "Fin de l'accord d'échange de données « Échange CAF-EPCI »".into()))
        );
        // The last day in force still has its end ahead of it; the day after, nothing.
        assert_eq!(life.next_milestone(d(2030, 12, 31), &[]).map(|m| m.0), Some(d(2030, 12, 31)));
        assert_eq!(life.next_milestone(d(2031, 1, 1), &agreements), None);
        // An avenant awaiting signatures is due now.
        life.avenants.push(AvenantFacts {
            number: 2,
            date: d(2027, 1, 10),
            signatures: vec![Some(d(2027, 1, 11)), None, Some(d(2027, 1, 12)), None],
            new_end: None,
        });
        assert_eq!(
            life.next_milestone(day, &agreements),
            Some((day, "Avenant n° 2 en attente de signatures (2 sur 4)".into()))
        );
        life.avenants.clear();
        // A pending termination comes first, and is over once it took effect.
        life.termination = Some(TerminationFacts::new(TerminationGround::Notice, d(2026, 8, 31)));
        let (date, label) = life.next_milestone(d(2026, 9, 1), &agreements[..1]).unwrap();
        assert_eq!(date, d(2027, 2, 28));
        assert!(label.starts_with("Prise d'effet de la résiliation"), "{label}");
        assert_eq!(life.next_milestone(d(2027, 2, 28), &agreements), None);
    }
}
