//! Who funds what (art. 6 and annex 3 of a CTG): each party's commitments as the convention words
//! them, the parties that means lines and funding lines name, and the table « Qui finance quoi » by
//! party × year × ambitions × nature, planned against spent.
//!
//! **Unknown is never zero.** A blank planned or spent amount is unknown: a sum over amounts some of
//! which are unknown ([`Sum`]) keeps the known total and counts the unknown ones, and says « au moins
//! 1 200,00 € (2 montants inconnus) »; a sum of unknown amounts only is « inconnu ».

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[cfg(test)]
use chrono::NaiveDate;

use crate::plan::{loose, Means, MeansKind};

/// A party of a convention as means, funding lines and commitments name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyRef {
    /// The party's id (`party.id`), not its organisation's.
    pub id: i64,
    pub name: String,
    pub short_name: Option<String>,
}

impl PartyRef {
    /// Its short name, else its name: « CAF ».
    pub fn label(&self) -> &str {
        self.short_name.as_deref().filter(|s| !s.trim().is_empty()).unwrap_or(&self.name)
    }

    /// Whether `raw` names it: its name or its short name, compared loosely ([`loose`]).
    pub fn is_named(&self, raw: &str) -> bool {
        let l = loose(raw);
        !l.is_empty() && (loose(&self.name) == l || self.short_name.as_deref().is_some_and(|s| loose(s) == l))
    }
}

/// The parties, listed for a message: « CABBALR (Communauté d'Agglomération…), CAF (…) ».
pub fn parties_list(parties: &[PartyRef]) -> String {
    if parties.is_empty() {
        return "la convention n'a aucune partie".into();
    }
    parties
        .iter()
        .map(|p| match &p.short_name {
            Some(s) if !s.trim().is_empty() && s != &p.name => format!("{s} ({})", p.name),
            _ => p.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The party that `raw` names (its name or short name, loosely); else a French message naming what
/// was written and listing the parties.
pub fn match_party<'a>(parties: &'a [PartyRef], raw: &str) -> Result<&'a PartyRef, String> {
    if raw.trim().is_empty() {
        return Err(format!("la partie est obligatoire (parties de la convention : {})", parties_list(parties)));
    }
    parties.iter().find(|p| p.is_named(raw)).ok_or_else(|| {
        format!("« {} » n'est pas une partie de la convention (parties : {})", raw.trim(), parties_list(parties))
    })
}

/// The party of id `id`, or a message listing the parties.
pub fn party_by_id(parties: &[PartyRef], id: i64) -> Result<&PartyRef, String> {
    parties.iter().find(|p| p.id == id).ok_or_else(|| {
        let ids = parties.iter().map(|p| format!("{} : {}", p.id, p.label())).collect::<Vec<_>>().join(", ");
        format!("la partie n° {id} n'est pas une partie de la convention (parties : {ids})")
    })
}

/// What one party commits to (art. 6, annex 3), quoted from the convention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
    pub party_id: i64,
    /// The commitment as the text says it.
    pub text: String,
    /// Where the text says it: « art. 6 », « annexe 3 ».
    pub source: String,
    /// The number of the ambition it serves, if one.
    pub ambition: Option<i64>,
}

impl Commitment {
    /// The input-cleaning rule ([`crate::text`]) applied to its texts; the text may not be empty.
    pub fn check(&self) -> Result<Commitment, String> {
        use crate::text::{clean, TextKind::*};
        let text = clean("texte de l'engagement", &self.text, Long)?;
        if text.is_empty() {
            return Err("le texte de l'engagement est vide".into());
        }
        Ok(Commitment { text, source: clean("source de l'engagement", &self.source, Title)?, ..self.clone() })
    }
}

/// A sum over amounts some of which may be unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Sum {
    /// The sum of the known amounts, in cents.
    pub known_cents: i64,
    /// How many amounts were known.
    pub known: usize,
    /// How many amounts were unknown.
    pub unknown: usize,
}

impl Sum {
    pub fn add(&mut self, amount: Option<i64>) {
        match amount {
            Some(c) => {
                self.known_cents += c;
                self.known += 1;
            }
            None => self.unknown += 1,
        }
    }

    pub fn merge(&mut self, other: Sum) {
        self.known_cents += other.known_cents;
        self.known += other.known;
        self.unknown += other.unknown;
    }

    /// No amount at all.
    pub fn is_empty(&self) -> bool {
        self.known + self.unknown == 0
    }

    /// The total, when every amount is known (and there is at least one).
    pub fn total(&self) -> Option<i64> {
        (self.unknown == 0 && self.known > 0).then_some(self.known_cents)
    }

    /// As a reader reads it: « — » with no amount, « 1 200,00 € », « inconnu » (every amount
    /// unknown), « au moins 1 200,00 € (2 montants inconnus) ».
    pub fn text(&self) -> String {
        let unknown = |n: usize| if n == 1 { "1 montant inconnu".to_owned() } else { format!("{n} montants inconnus") };
        match (self.known, self.unknown) {
            (0, 0) => "—".into(),
            (_, 0) => crate::format::euros(self.known_cents),
            (0, 1) => "inconnu".into(),
            (0, n) => format!("inconnu ({})", unknown(n)),
            (_, n) => format!("au moins {} ({})", crate::format::euros(self.known_cents), unknown(n)),
        }
    }
}

/// Where the money of a row of « Qui finance quoi » is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum FundsSource {
    /// The means lines of the fiches action.
    Plan,
    /// The funding lines of the offer of services (counted as paid: spent, never planned).
    Offer,
}

impl FundsSource {
    pub fn code(self) -> &'static str {
        match self {
            Self::Plan => "plan",
            Self::Offer => "offre",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Plan => "Moyens des fiches",
            Self::Offer => "Financements de l'offre",
        }
    }
}

/// Who funds: a party of the convention, or a funder of a funding line that names no party.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Funder {
    /// A party, by its position among the parties (to keep their order) and its label.
    Party { position: usize, label: String },
    /// A funder named by a funding line that is no party of the convention.
    Other(String),
}

impl Funder {
    pub fn label(&self) -> String {
        match self {
            Self::Party { label, .. } => label.clone(),
            Self::Other(name) => format!("{name} (hors parties)"),
        }
    }
}

/// The key of a row of « Qui finance quoi ».
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FundsKey {
    pub funder: Funder,
    pub year: i32,
    /// The ambitions of the fiche, sorted, each once; empty for a fiche serving none and for the
    /// offer's funding lines. A fiche serving two ambitions is counted once, under both together.
    pub ambitions: Vec<i64>,
    pub kind: MeansKind,
    pub source: FundsSource,
}

impl FundsKey {
    /// The order of the rows: funder, year, ambitions, nature (operating first), source.
    fn order(&self) -> (Funder, i32, Vec<i64>, &'static str, FundsSource) {
        (self.funder.clone(), self.year, self.ambitions.clone(), self.kind.code(), self.source)
    }
}

/// A row of « Qui finance quoi ».
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FundsRow {
    pub key: FundsKey,
    pub planned: Sum,
    pub spent: Sum,
    /// How many lines it adds up.
    pub lines: usize,
    /// Whether its year is stopped by the termination of the convention (art. 13,
    /// [`crate::life::Stop`]): counted apart, never in the totals of what runs.
    pub stopped: bool,
}

/// A funding line of the offer as « Qui finance quoi » reads it: its funder as written, its year, its
/// amount in cents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferLine<'a> {
    pub funder: &'a str,
    pub year: i32,
    pub amount_cents: i64,
}

/// « Qui finance quoi »: the means lines of the fiches (with the ambitions of their fiche) and the
/// funding lines of the offer, added up by funder × year × ambitions × nature × source, in that order
/// (parties in their order, then other funders by name). A means line's blank amount is unknown,
/// never 0; a funding line's amount is spent (paid), in operating, with no ambition, and its funder is
/// the party it names (loosely), else itself « hors parties ». A row of a year stopped by a
/// termination (`stop`) is marked so.
pub fn who_funds_what<'a>(
    parties: &[PartyRef],
    means: impl IntoIterator<Item = (&'a [i64], &'a Means)>,
    offer: impl IntoIterator<Item = OfferLine<'a>>,
    stop: Option<crate::life::Stop>,
) -> Vec<FundsRow> {
    let funder_of_party = |i: usize, p: &PartyRef| Funder::Party { position: i, label: p.label().to_owned() };
    let mut rows: BTreeMap<_, FundsRow> = BTreeMap::new();
    let mut add = |key: FundsKey, planned: Option<Option<i64>>, spent: Option<i64>| {
        let row = rows.entry(key.order()).or_insert_with(|| FundsRow {
            stopped: crate::life::year_stopped(stop, key.year),
            key,
            planned: Sum::default(),
            spent: Sum::default(),
            lines: 0,
        });
        if let Some(p) = planned {
            row.planned.add(p);
        }
        row.spent.add(spent);
        row.lines += 1;
    };
    for (ambitions, m) in means {
        let funder = match parties.iter().enumerate().find(|(_, p)| p.id == m.party_id) {
            Some((i, p)) => funder_of_party(i, p),
            None => Funder::Other(m.organisation.clone()),
        };
        let mut ambitions = ambitions.to_vec();
        ambitions.sort_unstable();
        ambitions.dedup();
        let key = FundsKey { funder, year: m.year, ambitions, kind: m.kind, source: FundsSource::Plan };
        add(key, Some(m.planned_cents), m.spent_cents);
    }
    for l in offer {
        let funder = match parties.iter().enumerate().find(|(_, p)| p.is_named(l.funder)) {
            Some((i, p)) => funder_of_party(i, p),
            None => Funder::Other(l.funder.trim().to_owned()),
        };
        let key = FundsKey {
            funder,
            year: l.year,
            ambitions: vec![],
            kind: MeansKind::Operating,
            source: FundsSource::Offer,
        };
        add(key, None, Some(l.amount_cents));
    }
    rows.into_values().collect()
}

/// The totals of « Qui finance quoi » per funder and year: (planned, spent). A stopped year
/// (art. 13) keeps its own total, marked by [`FundsRow::stopped`]; it is never added to a year that runs.
pub fn totals_by_funder_year(rows: &[FundsRow]) -> BTreeMap<(Funder, i32), (Sum, Sum)> {
    let mut out: BTreeMap<(Funder, i32), (Sum, Sum)> = BTreeMap::new();
    for r in rows {
        let e = out.entry((r.key.funder.clone(), r.key.year)).or_default();
        e.0.merge(r.planned);
        e.1.merge(r.spent);
    }
    out
}

/// The grand totals of « Qui finance quoi », (planned, spent): what runs, and apart what a termination
/// stopped (art. 13).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FundsTotals {
    pub running: (Sum, Sum),
    pub stopped: (Sum, Sum),
}

pub fn funds_totals(rows: &[FundsRow]) -> FundsTotals {
    let mut t = FundsTotals::default();
    for r in rows {
        let e = if r.stopped { &mut t.stopped } else { &mut t.running };
        e.0.merge(r.planned);
        e.1.merge(r.spent);
    }
    t
}

/// The ambitions of a row as a reader reads them: « 1 », « 1 et 4 », « — » for none.
pub fn ambitions_text(ambitions: &[i64]) -> String {
    match ambitions {
        [] => "—".into(),
        [a] => a.to_string(),
        [init @ .., last] => {
            format!("{} et {last}", init.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parties() -> Vec<PartyRef> {
        vec![
            PartyRef {
                id: 10,
                name: "Communauté d'Agglomération de Béthune-Bruay, Artois Lys Romane".into(),
                short_name: Some("CABBALR".into()),
            },
            PartyRef {
                id: 11,
                name: "Caisse d'Allocations Familiales du Pas-de-Calais".into(),
                short_name: Some("CAF".into()),
            },
        ]
    }

    fn means(party: i64, year: i32, planned: Option<i64>, spent: Option<i64>, kind: MeansKind) -> Means {
        Means {
            party_id: party,
            organisation: String::new(),
            year,
            fte_hundredths: 0,
            planned_cents: planned,
            spent_cents: spent,
            kind,
            material: String::new(),
        }
    }

    #[test]
    fn parties_are_matched_loosely_and_refusals_list_them() {
        let p = parties();
        assert_eq!(match_party(&p, " caf ").unwrap().id, 11);
        assert_eq!(match_party(&p, "CAISSE D'ALLOCATIONS FAMILIALES DU PAS-DE-CALAIS").unwrap().id, 11);
        assert_eq!(match_party(&p, "Cabbalr").unwrap().id, 10);
        let e = match_party(&p, "MSA").unwrap_err();
        assert_eq!(
            e,
            "« MSA » n'est pas une partie de la convention (parties : CABBALR (Communauté d'Agglomération de \
             Béthune-Bruay, Artois Lys Romane), CAF (Caisse d'Allocations Familiales du Pas-de-Calais))"
        );
        assert!(match_party(&p, "  ").unwrap_err().starts_with("la partie est obligatoire"));
        assert!(party_by_id(&p, 99).unwrap_err().contains("10 : CABBALR, 11 : CAF"));
    }

    /// The text with ordinary spaces for the thousands.
    fn plain(s: &str) -> String {
        s.replace('\u{202f}', " ")
    }

    #[test]
    fn unknown_amounts_are_never_zero() {
        let mut s = Sum::default();
        assert_eq!(s.text(), "—");
        s.add(None);
        assert_eq!((s.text(), s.total()), ("inconnu".to_owned(), None));
        s.add(Some(120_000));
        s.add(None);
        assert_eq!(plain(&s.text()), "au moins 1 200,00 € (2 montants inconnus)");
        assert_eq!(s.total(), None);
        let mut k = Sum::default();
        k.add(Some(0));
        assert_eq!((k.text(), k.total()), ("0,00 €".to_owned(), Some(0)));
    }

    #[test]
    fn who_funds_what_adds_up_by_party_year_ambitions_and_nature() {
        let p = parties();
        let m = [
            means(11, 2026, Some(100_000), Some(80_000), MeansKind::Operating),
            means(11, 2026, None, None, MeansKind::Operating),
            means(10, 2026, Some(50_000), None, MeansKind::Investment),
        ];
        let a1: &[i64] = &[1];
        let a41: &[i64] = &[4, 1, 4];
        let offer = [
            OfferLine {
                funder: "Caisse d'Allocations Familiales du Pas-de-Calais",
                year: 2024,
                amount_cents: 11_002_139,
            },
            OfferLine { funder: "caf", year: 2024, amount_cents: 11_250_000 },
            OfferLine { funder: "Commune de Lillers", year: 2024, amount_cents: 100 },
        ];
        let rows = who_funds_what(&p, [(a1, &m[0]), (a1, &m[1]), (a41, &m[2])], offer, None);
        let show: Vec<(String, i32, String, &str, &str, String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r.key.funder.label(),
                    r.key.year,
                    ambitions_text(&r.key.ambitions),
                    r.key.kind.code(),
                    r.key.source.code(),
                    plain(&r.planned.text()),
                    plain(&r.spent.text()),
                )
            })
            .collect();
        let row = |f: &str, y, a: &str, k, s, pl: &str, sp: &str| {
            (f.to_owned(), y, a.to_owned(), k, s, pl.to_owned(), sp.to_owned())
        };
        assert_eq!(
            show,
            vec![
                row("CABBALR", 2026, "1 et 4", "investissement", "plan", "500,00 €", "inconnu"),
                row("CAF", 2024, "—", "fonctionnement", "offre", "—", "222 521,39 €"),
                row(
                    "CAF",
                    2026,
                    "1",
                    "fonctionnement",
                    "plan",
                    "au moins 1 000,00 € (1 montant inconnu)",
                    "au moins 800,00 € (1 montant inconnu)"
                ),
                row("Commune de Lillers (hors parties)", 2024, "—", "fonctionnement", "offre", "—", "1,00 €"),
            ]
        );
        let totals = totals_by_funder_year(&rows);
        let caf = Funder::Party { position: 1, label: "CAF".into() };
        assert_eq!(totals[&(caf, 2024)].1.total(), Some(22_252_139));
        assert!(rows.iter().all(|r| !r.stopped));
        assert_eq!(funds_totals(&rows).stopped, (Sum::default(), Sum::default()));
    }

    /// Art. 13: « l'arrêt immédiat des engagements des parties ». A termination taking effect on
    /// 1 January 2027 stops the means of 2027 and after: they are counted apart, never in what runs.
    #[test]
    fn art_13_stopped_years_are_counted_apart() {
        let p = parties();
        let m = [
            means(11, 2026, Some(100_000), Some(90_000), MeansKind::Operating),
            means(11, 2027, Some(200_000), None, MeansKind::Operating),
            means(10, 2028, None, None, MeansKind::Investment),
        ];
        let a: &[i64] = &[1];
        let stop = crate::life::Stop::of(NaiveDate::from_ymd_opt(2027, 1, 1));
        let rows = who_funds_what(
            &p,
            m.iter().map(|x| (a, x)),
            [OfferLine { funder: "CAF", year: 2027, amount_cents: 5 }],
            stop,
        );
        let stopped: Vec<(i32, bool)> = rows.iter().map(|r| (r.key.year, r.stopped)).collect();
        assert_eq!(stopped, [(2028, true), (2026, false), (2027, true), (2027, true)]);
        let t = funds_totals(&rows);
        assert_eq!((t.running.0.total(), t.running.1.total()), (Some(100_000), Some(90_000)));
        assert_eq!(plain(&t.stopped.0.text()), "au moins 2 000,00 € (1 montant inconnu)");
        assert_eq!(plain(&t.stopped.1.text()), "au moins 0,05 € (2 montants inconnus)");
    }
}
