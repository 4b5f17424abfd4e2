//! The diagnostic's computations: coverage of formal childcare, places per child, and the statistical
//! confidentiality of small counts (with secondary suppression). Pure functions, tested against
//! values worked out by hand.

use chrono::NaiveDate;
use serde::Serialize;

use crate::parse::FieldError;

/// A value that a CAF sets and may change over time: the one in force on a date is the last one whose
/// start is on or before that date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatedParameter<T> {
    /// `(start date, value)`, in any order.
    pub values: Vec<(NaiveDate, T)>,
    /// The value before the first start date.
    pub default: T,
}

impl<T: Clone> DatedParameter<T> {
    pub fn on(&self, day: NaiveDate) -> T {
        self.values
            .iter()
            .filter(|(start, _)| *start <= day)
            .max_by_key(|(start, _)| *start)
            .map_or_else(|| self.default.clone(), |(_, v)| v.clone())
    }
}

/// The masking threshold of statistical confidentiality: counts below it are not shown to the public.
/// Default 5, as a dated parameter.
pub fn default_masking_threshold() -> DatedParameter<i64> {
    DatedParameter { values: Vec::new(), default: 5 }
}

/// The « taux de couverture » of formal childcare (ONAPE definition): the places that can take a
/// child under 3, over the children under 3. Each component is kept, so that pages can show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CoverageInputs {
    /// Places in EAJE (crèches, micro-crèches, crèches familiales…).
    pub eaje_places: i64,
    /// Places with assistants maternels in activity (for children under 3).
    pub childminder_places: i64,
    /// Children schooled at 2.
    pub schooled_at_two: i64,
    /// Children minded at home (garde à domicile).
    pub home_childcare: i64,
    /// Children under 3.
    pub children_under_three: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Coverage {
    pub inputs: CoverageInputs,
    /// Places of every kind.
    pub places: i64,
    /// Places per 100 children under 3, two decimals; `None` when there are no children.
    pub rate: Option<f64>,
}

pub fn coverage(inputs: CoverageInputs) -> Coverage {
    let places = inputs.eaje_places + inputs.childminder_places + inputs.schooled_at_two + inputs.home_childcare;
    Coverage { inputs, places, rate: per_hundred(places, inputs.children_under_three) }
}

/// A known value of one component of the coverage rate: the period it describes (`AAAA` or `AAAA-MM`)
/// and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComponentValue {
    pub period: String,
    pub value: i64,
    pub source: String,
}

impl ComponentValue {
    /// The year the value describes; `None` for a span of years (`2011-2022`) or an unreadable period,
    /// which describe no single year.
    pub fn year(&self) -> Option<i32> {
        match crate::parse::period("periode", &self.period).ok()? {
            crate::parse::Period::Year(y) | crate::parse::Period::Month { year: y, .. } => Some(y),
            crate::parse::Period::Years { .. } => None,
        }
    }
}

/// The components of the coverage rate as they enter it: all of one and the same year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageOfYear {
    pub year: i32,
    /// In the order of the components given: EAJE places, places with childminders, children schooled
    /// at 2, children minded at home, children under 3.
    pub components: [ComponentValue; 5],
    pub coverage: Coverage,
}

/// The ONAPE rate from its five components (EAJE places, places with childminders, children schooled
/// at 2, children minded at home, children under 3), each given with all its known values. A rate
/// mixes no years: its components are taken for one and the same year, the latest year for which every
/// component is known (within that year, a component's latest period: `2023-12` after `2023`). `None`
/// when no year has them all.
pub fn coverage_of_one_year(components: [&[ComponentValue]; 5]) -> Option<CoverageOfYear> {
    let years = |values: &[ComponentValue]| -> Vec<i32> { values.iter().filter_map(ComponentValue::year).collect() };
    let mut common = years(components[0]);
    for values in &components[1..] {
        let these = years(values);
        common.retain(|y| these.contains(y));
    }
    let year = common.into_iter().max()?;
    let of_year = |values: &[ComponentValue]| -> Option<ComponentValue> {
        values.iter().filter(|v| v.year() == Some(year)).max_by(|a, b| a.period.cmp(&b.period)).cloned()
    };
    let [eaje, childminders, schooled, home, children] = components.map(of_year);
    let components = [eaje?, childminders?, schooled?, home?, children?];
    let coverage = coverage(CoverageInputs {
        eaje_places: components[0].value,
        childminder_places: components[1].value,
        schooled_at_two: components[2].value,
        home_childcare: components[3].value,
        children_under_three: components[4].value,
    });
    Some(CoverageOfYear { year, components, coverage })
}

/// `part` per 100 of `whole`, two decimals; `None` when `whole` is not positive.
pub fn per_hundred(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 10_000.0 / whole as f64).round() / 100.0)
}

/// The change of an indicator between two periods: absolute, and in percent of the earlier value
/// (two decimals; `None` when the earlier value is 0). For a rate (`%`), the absolute change is in
/// points and the percent is not given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodChange {
    pub from: String,
    pub to: String,
    pub before: f64,
    pub after: f64,
    pub absolute: f64,
    pub percent: Option<f64>,
}

pub fn period_change(from: &str, before: f64, to: &str, after: f64, is_rate: bool) -> PeriodChange {
    let absolute = ((after - before) * 100.0).round() / 100.0;
    let percent = (!is_rate && before != 0.0).then(|| ((after - before) * 10_000.0 / before).round() / 100.0);
    PeriodChange { from: from.to_owned(), to: to.to_owned(), before, after, absolute, percent }
}

/// A cell of a table as the public sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Cell {
    Shown(i64),
    /// A protected count below the threshold.
    Masked,
    /// A count masked so that a masked one cannot be worked back from a total (secondary suppression).
    MaskedSecondary,
    Unknown,
}

/// How a total of a masked table is published beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    /// Not published: the reader does not see it.
    Absent,
    /// Published, and withheld when it would let a masked cell be worked back.
    Shown,
    /// Published whatever happens (for instance because the same figure is public elsewhere, such as an
    /// EPCI's children under 3 from the Insee): never withheld, so other cells are masked instead.
    Fixed,
}

/// Which totals are published beside a masked table: each row's, each column's, and the grand total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub rows: Total,
    pub columns: Total,
    pub grand: Total,
}

impl Totals {
    /// Every total shown, each withheld when needed.
    pub const ALL: Totals = Totals { rows: Total::Shown, columns: Total::Shown, grand: Total::Shown };
}

/// A table as the public sees it, with the totals that may be shown beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MaskedTable {
    pub cells: Vec<Vec<Cell>>,
    /// Each row's total: `Shown(sum)`, `MaskedSecondary` when withheld (or not published at all), `Unknown`
    /// when a cell of the row is unknown.
    pub row_totals: Vec<Cell>,
    /// Each column's total, the same way.
    pub column_totals: Vec<Cell>,
    pub grand_total: Cell,
}

/// Masks a table of protected counts for the public (« secret statistique »).
///
/// Where the rule comes from: the statistical confidentiality of small counts is the rule of official
/// statistics (loi n° 51-711 du 7 juin 1951, art. 6 ; the Insee and the CAF do not publish a count of
/// fewer than `threshold` households or people, and withhold a second cell — « secret secondaire » — so
/// that the first cannot be worked back from a total). The convention itself does not state it: its
/// art. 9 (« Échanges de données ») binds the parties to the GDPR, the loi « Informatique et libertés » and
/// the CNIL's recommendations for any exchange of personal data, and its art. 15 (« Confidentialité ») to
/// professional secrecy and discretion; neither speaks of small counts (`docs/RGPD.md`).
///
/// Counts from 1 to `threshold - 1` are masked (primary). Then, to a fixed point:
/// 1. the classic rule: every row and column that has one masked cell gets a second one (the smallest
///    other count, zeros included: a 0 is a cell that can be withheld), or, when it has no other cell,
///    its total is withheld; the line of the column totals and the grand total follows the same rule;
/// 2. an audit: a masked cell must not be deducible by any combination of the shown cells and totals,
///    even knowing that counts are never negative. The table with its totals is a graph (rows and columns
///    are nodes, cells and totals edges); a masked cell is safe when it lies on a cycle of hidden entries
///    along which it can move by one (every entry that would decrease is at least 1): then another table,
///    with another value in that cell, gives exactly what is shown. A cell that is not safe makes one more
///    entry withheld (the one that makes it safe, the smallest first), and the rule starts again.
///
/// `Fixed` totals are never withheld; with them a table can be impossible to protect (a single masked
/// cell whose fixed total is its own value): everything that can be withheld is then withheld.
/// Unknown counts are never masked, and a total over an unknown count is unknown (not shown). A count the
/// platform does not know may be public elsewhere, so it is never counted on to hide a masked one.
pub fn mask_table(table: &[Vec<Option<i64>>], threshold: i64, totals: Totals) -> MaskedTable {
    let mut g = MaskGraph::new(table, threshold, totals);
    if g.entries.iter().any(|e| e.primary) {
        g.protect();
    }
    g.into_table(table)
}

/// What an entry of the masking graph is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    Cell(usize, usize),
    RowTotal(usize),
    ColumnTotal(usize),
    Grand,
}

#[derive(Debug, Clone)]
struct Entry {
    kind: EntryKind,
    /// Its node on the side of the rows (a row, or the line of the column totals).
    left: usize,
    /// Its node on the side of the columns (a column, or the column of the row totals).
    right: usize,
    /// The count (0 for a total over an unknown count: it is only ever moved up).
    value: i64,
    hidden: bool,
    /// Whether it may still be withheld.
    suppressible: bool,
    /// A masked cell (primary or secondary), which must not be worked back.
    protected: bool,
    primary: bool,
    /// Hidden for another reason than masking (a total unknown or not published): no rule applies to it.
    not_published: bool,
}

/// The table and its totals as a bipartite graph: left nodes are the rows `0..m` and the line of the
/// column totals `m`; right nodes are the columns `0..n` and the column of the row totals `n`.
/// With `Y` the table bordered by the negated row and column totals and the grand total, every row and
/// every column of `Y` sums to 0; moving along a cycle of the graph adds +1 and −1 alternately to `Y`,
/// which keeps every sum. A cell or the grand total moves like `Y`, a row or column total the other way.
struct MaskGraph {
    m: usize,
    n: usize,
    entries: Vec<Entry>,
}

impl MaskGraph {
    fn new(table: &[Vec<Option<i64>>], threshold: i64, totals: Totals) -> Self {
        let m = table.len();
        let n = table.iter().map(Vec::len).max().unwrap_or(0);
        let value = |i: usize, j: usize| table[i].get(j).copied().flatten();
        let mut entries = Vec::new();
        for (i, row) in table.iter().enumerate() {
            for j in 0..n {
                let v = row.get(j).copied().flatten();
                let primary = v.is_some_and(|v| v > 0 && v < threshold);
                entries.push(Entry {
                    kind: EntryKind::Cell(i, j),
                    left: i,
                    right: j,
                    value: v.unwrap_or(0).max(0),
                    // A count the platform does not know may be public elsewhere: it never hides another.
                    hidden: primary,
                    suppressible: v.is_some() && !primary,
                    protected: primary,
                    primary,
                    not_published: false,
                });
            }
        }
        let total = |kind: EntryKind, left: usize, right: usize, sum: Option<i64>, how: Total| {
            let unknown = sum.is_none() && how != Total::Fixed;
            Entry {
                kind,
                left,
                right,
                value: sum.unwrap_or(0).max(0),
                hidden: unknown || how == Total::Absent,
                suppressible: !unknown && how == Total::Shown,
                protected: false,
                primary: false,
                not_published: unknown || how == Total::Absent,
            }
        };
        for i in 0..m {
            let sum = (0..n).map(|j| value(i, j)).sum();
            entries.push(total(EntryKind::RowTotal(i), i, n, sum, totals.rows));
        }
        for j in 0..n {
            let sum = (0..m).map(|i| value(i, j)).sum();
            entries.push(total(EntryKind::ColumnTotal(j), m, j, sum, totals.columns));
        }
        let grand = (0..m).flat_map(|i| (0..n).map(move |j| (i, j))).map(|(i, j)| value(i, j)).sum();
        entries.push(total(EntryKind::Grand, m, n, grand, totals.grand));
        Self { m, n, entries }
    }

    /// The classic rule and the audit, to a fixed point.
    fn protect(&mut self) {
        let mut exposed: Vec<usize> = Vec::new();
        loop {
            self.classic_rule();
            let failing =
                (0..self.entries.len()).find(|&e| self.entries[e].protected && !exposed.contains(&e) && !self.safe(e));
            let Some(e) = failing else { return };
            if !self.repair(e) {
                // Nothing left to withhold: a fixed total gives this cell away.
                exposed.push(e);
            }
        }
    }

    /// Every line (a row, a column, the line of the column totals, the column of the row totals) whose only
    /// hidden entry is a masked cell or a withheld total gets a second hidden entry: its smallest other
    /// cell, zeros included, else its total.
    fn classic_rule(&mut self) {
        loop {
            let mut changed = false;
            for node in 0..(self.m + 1 + self.n + 1) {
                let on = |e: &Entry| if node <= self.m { e.left == node } else { e.right == node - self.m - 1 };
                let hidden: Vec<usize> =
                    (0..self.entries.len()).filter(|&k| on(&self.entries[k]) && self.entries[k].hidden).collect();
                if hidden.len() != 1 || self.entries[hidden[0]].not_published {
                    continue;
                }
                let pick = (0..self.entries.len())
                    .filter(|&k| on(&self.entries[k]) && self.entries[k].suppressible && !self.entries[k].hidden)
                    .min_by_key(|&k| (self.is_total(k), self.entries[k].value, k));
                if let Some(k) = pick {
                    self.withhold(k);
                    changed = true;
                }
            }
            if !changed {
                return;
            }
        }
    }

    fn is_total(&self, k: usize) -> bool {
        !matches!(self.entries[k].kind, EntryKind::Cell(..))
    }

    fn withhold(&mut self, k: usize) {
        let e = &mut self.entries[k];
        e.hidden = true;
        if matches!(e.kind, EntryKind::Cell(..)) {
            e.protected = true;
        }
    }

    /// Withholds one more entry so that `e` becomes safe: the smallest that does it alone, else the
    /// smallest of its row or column, else the smallest of all. `false` when nothing can be withheld.
    fn repair(&mut self, e: usize) -> bool {
        let mut candidates: Vec<usize> =
            (0..self.entries.len()).filter(|&k| self.entries[k].suppressible && !self.entries[k].hidden).collect();
        candidates.sort_by_key(|&k| (self.is_total(k), self.entries[k].value, k));
        for &k in &candidates {
            self.entries[k].hidden = true;
            let works = self.safe(e);
            self.entries[k].hidden = false;
            if works {
                self.withhold(k);
                return true;
            }
        }
        let (left, right) = (self.entries[e].left, self.entries[e].right);
        let near = candidates.iter().copied().find(|&k| self.entries[k].left == left || self.entries[k].right == right);
        match near.or(candidates.first().copied()) {
            Some(k) => {
                self.withhold(k);
                true
            }
            None => false,
        }
    }

    /// Whether hidden entry `e` lies on a cycle of hidden entries along which it can move by one.
    fn safe(&self, e: usize) -> bool {
        let nodes = self.m + 1 + self.n + 1;
        let right_node = |r: usize| self.m + 1 + r;
        // Arcs of the hidden entries other than `e`: left → right adds 1 to Y, right → left takes 1 off.
        let mut arcs: Vec<Vec<usize>> = vec![Vec::new(); nodes];
        for (k, x) in self.entries.iter().enumerate() {
            if k == e || !x.hidden {
                continue;
            }
            let (up, down) = self.moves(x);
            if up {
                arcs[x.left].push(right_node(x.right));
            }
            if down {
                arcs[right_node(x.right)].push(x.left);
            }
        }
        let reaches = |from: usize, to: usize| {
            let mut seen = vec![false; nodes];
            let mut stack = vec![from];
            seen[from] = true;
            while let Some(u) = stack.pop() {
                if u == to {
                    return true;
                }
                for &v in &arcs[u] {
                    if !seen[v] {
                        seen[v] = true;
                        stack.push(v);
                    }
                }
            }
            false
        };
        let x = &self.entries[e];
        let (up, down) = self.moves(x);
        let (l, r) = (x.left, right_node(x.right));
        (up && reaches(r, l)) || (down && reaches(l, r))
    }

    /// Whether an entry can take +1 in `Y` (left → right) and −1 in `Y` (right → left) without a count
    /// going below zero.
    fn moves(&self, x: &Entry) -> (bool, bool) {
        let like_y = matches!(x.kind, EntryKind::Cell(..) | EntryKind::Grand);
        let positive = x.value >= 1;
        if like_y {
            (true, positive)
        } else {
            (positive, true)
        }
    }

    fn into_table(self, table: &[Vec<Option<i64>>]) -> MaskedTable {
        let mut cells: Vec<Vec<Cell>> = table.iter().map(|r| Vec::with_capacity(r.len())).collect();
        let mut row_totals = Vec::with_capacity(self.m);
        let mut column_totals = Vec::with_capacity(self.n);
        let mut grand_total = Cell::Unknown;
        for x in &self.entries {
            let known_total = |sum_known: bool| match (x.hidden, sum_known) {
                (_, false) => Cell::Unknown,
                (true, true) => Cell::MaskedSecondary,
                (false, true) => Cell::Shown(x.value),
            };
            match x.kind {
                EntryKind::Cell(i, j) => {
                    if let Some(v) = table[i].get(j) {
                        cells[i].push(match v {
                            None => Cell::Unknown,
                            Some(_) if x.primary => Cell::Masked,
                            Some(_) if x.hidden => Cell::MaskedSecondary,
                            Some(n) => Cell::Shown(*n),
                        });
                    }
                }
                EntryKind::RowTotal(i) => row_totals.push(known_total(table[i].iter().all(Option::is_some))),
                EntryKind::ColumnTotal(j) => {
                    column_totals.push(known_total(table.iter().all(|r| r.get(j).is_none_or(Option::is_some))));
                }
                EntryKind::Grand => grand_total = known_total(table.iter().flatten().all(Option::is_some)),
            }
        }
        MaskedTable { cells, row_totals, column_totals, grand_total }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Change;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn dated_parameters_take_the_value_in_force() {
        let p = DatedParameter { values: vec![(d("2027-01-01"), 10), (d("2025-01-01"), 7)], default: 5 };
        assert_eq!(p.on(d("2024-12-31")), 5);
        assert_eq!(p.on(d("2025-01-01")), 7);
        assert_eq!(p.on(d("2026-06-30")), 7);
        assert_eq!(p.on(d("2027-01-01")), 10);
        assert_eq!(default_masking_threshold().on(d("2026-11-27")), 5);
    }

    #[test]
    fn childminders_of_the_demo_from_2017_to_2025() {
        // FACTS.md: 1,857 assistants maternels in 2017, 1,075 in 2025: −782, −42.1 %.
        let c = Change::between(crate::Vintage::new(2017).unwrap(), 1_857, crate::Vintage::new(2025).unwrap(), 1_075);
        assert_eq!(c.absolute, -782);
        assert_eq!(c.percent, Some(-42.11));
    }

    #[test]
    fn change_between_two_periods() {
        // FACTS.md: assistants maternels 1,857 in 2017, 1,075 in 2025: −782, −42.1 %.
        let c = period_change("2017", 1_857.0, "2025", 1_075.0, false);
        assert_eq!((c.absolute, c.percent), (-782.0, Some(-42.11)));
        // A rate changes in points: 18.6 % → 17.8 % is −0.8 point, no percent.
        let r = period_change("2016", 18.6, "2021", 17.8, true);
        assert_eq!((r.absolute, r.percent), (-0.8, None));
        assert_eq!(period_change("2020", 0.0, "2021", 5.0, false).percent, None);
    }

    #[test]
    fn coverage_rate_by_hand() {
        // 120 EAJE places + 300 with childminders + 15 schooled at 2 + 5 at home = 440 places,
        // for 800 children under 3: 55 places per 100 children.
        let c = coverage(CoverageInputs {
            eaje_places: 120,
            childminder_places: 300,
            schooled_at_two: 15,
            home_childcare: 5,
            children_under_three: 800,
        });
        assert_eq!(c.places, 440);
        assert_eq!(c.rate, Some(55.0));
        assert_eq!(per_hundred(1, 3), Some(33.33));
        assert_eq!(per_hundred(5, 0), None);
    }

    fn value(period: &str, value: i64) -> ComponentValue {
        ComponentValue { period: period.into(), value, source: format!("source {period}") }
    }

    #[test]
    fn the_coverage_rate_takes_its_components_for_one_and_the_same_year() {
        // Each component's latest period differs: EAJE 2024, childminders 2023, schooled 2024, home
        // 2023, children 2022. Each at its own latest would mix four years; the only year all five know
        // is 2022: (100 + 280 + 10 + 4) / 800 = 49.25 places per 100 children.
        let eaje = [value("2022", 100), value("2024", 130)];
        let childminders = [value("2021", 300), value("2022", 280), value("2023", 250)];
        let schooled = [value("2022", 10), value("2024", 12)];
        let home = [value("2022", 4), value("2023", 3)];
        let children = [value("2021", 820), value("2022", 800)];
        let c = coverage_of_one_year([&eaje, &childminders, &schooled, &home, &children]).unwrap();
        assert_eq!(c.year, 2022);
        assert_eq!(c.components.iter().map(|v| v.value).collect::<Vec<_>>(), vec![100, 280, 10, 4, 800]);
        assert_eq!(c.coverage.places, 394);
        assert_eq!(c.coverage.rate, Some(49.25));
        // Within a year, the latest period counts (a December figure after the yearly one), and a
        // span describes no single year.
        let children = [value("2022", 800), value("2022-12", 790), value("2021-2024", 900)];
        let c = coverage_of_one_year([&eaje, &childminders, &schooled, &home, &children]).unwrap();
        assert_eq!((c.year, c.components[4].value, c.components[4].period.as_str()), (2022, 790, "2022-12"));
        // No year in common: no rate, rather than one that mixes years.
        let late = [value("2024", 800)];
        assert_eq!(coverage_of_one_year([&eaje, &childminders, &schooled, &home, &late]), None);
        assert_eq!(coverage_of_one_year([&eaje, &[], &schooled, &home, &children]), None);
    }

    #[test]
    fn small_counts_are_masked_with_secondary_suppression() {
        // A row with one small count: its total would give it away, so the next smallest goes too.
        let t = vec![vec![Some(3), Some(12), Some(40)], vec![Some(20), Some(25), Some(30)]];
        let m = mask_table(&t, 5, Totals::ALL);
        assert_eq!(m.cells[0], vec![Cell::Masked, Cell::MaskedSecondary, Cell::Shown(40)]);
        // Column 0 and column 1 each had one masked cell: the smallest of the other row goes too, and
        // then that row has two masked cells, which is enough.
        assert_eq!(m.cells[1], vec![Cell::MaskedSecondary, Cell::MaskedSecondary, Cell::Shown(30)]);
        // The totals stay: two masked cells per line and a cycle through them.
        assert_eq!(m.row_totals, vec![Cell::Shown(55), Cell::Shown(75)]);
        assert_eq!(m.column_totals, vec![Cell::Shown(23), Cell::Shown(37), Cell::Shown(70)]);
        assert_eq!(m.grand_total, Cell::Shown(130));
    }

    #[test]
    fn a_column_of_one_small_count_and_zeros_masks_a_zero_too() {
        // Issue 12: [3, 0, 0] with its total shown hid only the 3, and the total 3 gave it back.
        let t = vec![vec![Some(3)], vec![Some(0)], vec![Some(0)]];
        let coverage = Totals { rows: Total::Absent, columns: Total::Fixed, grand: Total::Fixed };
        let m = mask_table(&t, 5, coverage);
        assert_eq!(m.cells, vec![vec![Cell::Masked], vec![Cell::MaskedSecondary], vec![Cell::Shown(0)]]);
        assert_eq!(m.column_totals, vec![Cell::Shown(3)]);
        // With totals that may be withheld, the same.
        let m = mask_table(&t, 5, Totals::ALL);
        assert_eq!(m.cells.iter().filter(|r| r[0] != Cell::Shown(0)).count(), 2);
    }

    #[test]
    fn a_single_row_withholds_its_total_when_nothing_else_can_hide_the_count() {
        // One row, one cell: the row and column totals are the cell itself.
        let m = mask_table(&[vec![Some(2)]], 5, Totals::ALL);
        assert_eq!(m.cells, vec![vec![Cell::Masked]]);
        assert_eq!(
            (m.row_totals[0], m.column_totals[0], m.grand_total),
            (Cell::MaskedSecondary, Cell::MaskedSecondary, Cell::MaskedSecondary)
        );
    }

    #[test]
    fn a_bridge_between_two_masked_blocks_is_closed() {
        // Two 2×2 blocks of masked cells joined by one masked cell: every line has two masked cells,
        // yet rows 0-1 minus columns 0-1 give the cell (0, 2) back. The audit withholds one more.
        let s = Some(50);
        let t = vec![
            vec![Some(1), Some(1), Some(1), s],
            vec![Some(1), Some(1), s, s],
            vec![s, s, Some(1), Some(1)],
            vec![s, s, Some(1), Some(1)],
        ];
        let m = mask_table(&t, 5, Totals::ALL);
        let hidden = m.cells.iter().flatten().filter(|c| !matches!(c, Cell::Shown(_))).count();
        assert!(hidden > 9, "the bridge cell is joined to a cycle: {m:?}");
    }

    #[test]
    fn zero_and_unknown_are_not_masked_and_large_counts_stay() {
        let t = vec![vec![Some(0), None, Some(5), Some(100)]];
        let m = mask_table(&t, 5, Totals::ALL);
        assert_eq!(m.cells, vec![vec![Cell::Shown(0), Cell::Unknown, Cell::Shown(5), Cell::Shown(100)]]);
        assert_eq!(m.row_totals, vec![Cell::Unknown]);
        assert_eq!(m.column_totals, vec![Cell::Shown(0), Cell::Unknown, Cell::Shown(5), Cell::Shown(100)]);
    }
}

/// The kind of area an observation describes: a figure is always compared with its neighbours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum AreaKind {
    Commune,
    Epci,
    Departement,
    France,
}

impl AreaKind {
    pub const ALL: [AreaKind; 4] = [AreaKind::Commune, AreaKind::Epci, AreaKind::Departement, AreaKind::France];

    pub fn code(self) -> &'static str {
        match self {
            Self::Commune => "commune",
            Self::Epci => "epci",
            Self::Departement => "departement",
            Self::France => "france",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Commune => "Commune",
            Self::Epci => "Intercommunalité",
            Self::Departement => "Département",
            Self::France => "France",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == raw.trim().to_lowercase())
    }
}

/// An area: a commune (INSEE code), an EPCI (SIREN), a département (01…95, 2A, 2B, 971…) or France.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Area {
    pub kind: AreaKind,
    pub code: String,
}

impl Area {
    /// Checks the code against the kind; France has the code `FR`. A commune's code is read as files
    /// write it ([`crate::parse::insee_code`]: `1053` is `01053`). The error names the field at fault,
    /// `type_territoire` or `code_territoire`.
    pub fn parse(kind: &str, code: &str) -> Result<Self, FieldError> {
        let kind = AreaKind::parse(kind).ok_or_else(|| {
            FieldError::new(
                "type_territoire",
                format!("type de territoire inconnu « {kind} » (attendus : commune, epci, departement, france)"),
            )
        })?;
        let code = code.trim();
        let bad = |message: String| FieldError::new("code_territoire", message);
        let code = match kind {
            AreaKind::Commune => crate::parse::insee_code("code_territoire", code)?.to_string(),
            AreaKind::Epci => crate::Siren::parse(code).map_err(|e| bad(e.to_string()))?.to_string(),
            AreaKind::Departement => {
                let up = code.to_ascii_uppercase();
                let ok = match up.len() {
                    2 => {
                        up == "2A"
                            || up == "2B"
                            || (up.bytes().all(|b| b.is_ascii_digit())
                                && up != "00"
                                && up != "20"
                                && up.as_str() < "96")
                    }
                    3 => up.starts_with("97") || up.starts_with("98"),
                    _ => false,
                } && !up.is_empty();
                if !ok {
                    return Err(bad(format!("code de département invalide « {code} »")));
                }
                up
            }
            AreaKind::France => {
                if !code.eq_ignore_ascii_case("FR") && !code.is_empty() {
                    return Err(bad(format!("pour la France, le code est FR (trouvé « {code} »)")));
                }
                "FR".to_owned()
            }
        };
        Ok(Self { kind, code })
    }
}

/// The definition of an indicator of the diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IndicatorDef {
    pub code: &'static str,
    pub label: &'static str,
    /// The theme under which pages group it.
    pub theme: &'static str,
    /// `habitants`, `%`, `personnes`, `ménages`, `logements`, `places`, `structures`…
    pub unit: &'static str,
    pub source: &'static str,
    pub definition: &'static str,
    /// A count of people that statistical confidentiality protects when small.
    pub protected: bool,
}

macro_rules! indicators {
    ($(($code:literal, $label:literal, $theme:literal, $unit:literal, $source:literal, $protected:literal, $def:literal)),+ $(,)?) => {
        /// The indicators a CTG diagnostic uses, shipped with the platform.
        pub const INDICATORS: &[IndicatorDef] = &[$(IndicatorDef {
            code: $code, label: $label, theme: $theme, unit: $unit, source: $source, protected: $protected, definition: $def,
        }),+];
    };
}

indicators! {
    ("population_municipale", "Population municipale", "Population", "habitants", "Insee, recensement", false, "Population municipale légale du millésime."),
    ("densite", "Densité de population", "Population", "habitants/km²", "Insee", false, "Population rapportée à la superficie."),
    ("naissances", "Naissances domiciliées", "Population", "naissances", "Insee, état civil", true, "Naissances de l'année de mères domiciliées sur le territoire."),
    ("deces", "Décès domiciliés", "Population", "décès", "Insee, état civil", true, "Décès de l'année de personnes domiciliées sur le territoire."),
    ("variation_annuelle_population", "Variation annuelle moyenne de la population", "Population", "%", "Insee, recensement et état civil", false, "Taux de variation annuel moyen de la population sur la période."),
    ("variation_annuelle_solde_naturel", "Variation annuelle moyenne due au solde naturel", "Population", "%", "Insee, recensement et état civil", false, "Part du taux de variation annuel moyen due à l'excédent des naissances sur les décès."),
    ("variation_annuelle_solde_migratoire", "Variation annuelle moyenne due au solde apparent des entrées et sorties", "Population", "%", "Insee, recensement et état civil", false, "Part du taux de variation annuel moyen due à la différence entre arrivées et départs."),
    ("communes_moins_5000_habitants", "Communes de moins de 5 000 habitants", "Population", "communes", "Insee, populations légales", false, "Communes membres de moins de 5 000 habitants."),
    ("communes_moins_2000_habitants", "Communes de moins de 2 000 habitants", "Population", "communes", "Insee, populations légales", false, "Communes membres de moins de 2 000 habitants."),
    ("part_0_14", "Part des 0-14 ans", "Âges", "%", "Insee, recensement", false, "Part des 0 à 14 ans dans la population."),
    ("part_15_29", "Part des 15-29 ans", "Âges", "%", "Insee, recensement", false, "Part des 15 à 29 ans dans la population."),
    ("part_30_44", "Part des 30-44 ans", "Âges", "%", "Insee, recensement", false, "Part des 30 à 44 ans dans la population."),
    ("part_45_59", "Part des 45-59 ans", "Âges", "%", "Insee, recensement", false, "Part des 45 à 59 ans dans la population."),
    ("part_60_74", "Part des 60-74 ans", "Âges", "%", "Insee, recensement", false, "Part des 60 à 74 ans dans la population."),
    ("part_75_plus", "Part des 75 ans et plus", "Âges", "%", "Insee, recensement", false, "Part des 75 ans et plus dans la population."),
    ("enfants_moins_3_ans", "Enfants de moins de 3 ans", "Âges", "enfants", "Insee, recensement", true, "Enfants de moins de 3 ans domiciliés sur le territoire."),
    ("enfants_3_5_ans", "Enfants de 3 à 5 ans", "Âges", "enfants", "Insee, recensement", true, "Enfants de 3 à 5 ans domiciliés sur le territoire."),
    ("enfants_6_10_ans", "Enfants de 6 à 10 ans", "Âges", "enfants", "Insee, recensement", false, "Enfants de 6 à 10 ans domiciliés sur le territoire."),
    ("jeunes_11_17_ans", "Jeunes de 11 à 17 ans", "Âges", "personnes", "Insee, recensement", false, "Jeunes de 11 à 17 ans domiciliés sur le territoire."),
    ("jeunes_18_24_ans", "Jeunes de 18 à 24 ans", "Âges", "personnes", "Insee, recensement", false, "Jeunes de 18 à 24 ans domiciliés sur le territoire."),
    ("taille_menages", "Taille moyenne des ménages", "Ménages", "personnes", "Insee, recensement", false, "Population des ménages rapportée au nombre de ménages."),
    ("menages", "Ménages", "Ménages", "ménages", "Insee, recensement", false, "Nombre de ménages."),
    ("menages_une_personne", "Ménages d'une personne", "Ménages", "ménages", "Insee, recensement", false, "Ménages composés d'une seule personne."),
    ("hommes_seuls", "Hommes seuls", "Ménages", "ménages", "Insee, recensement", false, "Ménages d'une personne : un homme seul."),
    ("femmes_seules", "Femmes seules", "Ménages", "ménages", "Insee, recensement", false, "Ménages d'une personne : une femme seule."),
    ("menages_sans_famille", "Autres ménages sans famille", "Ménages", "ménages", "Insee, recensement", false, "Ménages de plusieurs personnes sans famille."),
    ("menages_avec_famille", "Ménages avec famille", "Ménages", "ménages", "Insee, recensement", false, "Ménages dont au moins une famille (couple ou parent seul avec enfant)."),
    ("couples_sans_enfant", "Couples sans enfant", "Ménages", "ménages", "Insee, recensement", false, "Ménages dont la famille principale est un couple sans enfant."),
    ("couples_avec_enfants", "Couples avec enfants", "Ménages", "ménages", "Insee, recensement", false, "Ménages formés d'un couple avec enfant(s)."),
    ("familles_monoparentales", "Familles monoparentales", "Ménages", "ménages", "Insee, recensement", true, "Ménages formés d'un parent seul avec enfant(s)."),
    ("taux_pauvrete", "Taux de pauvreté", "Revenus", "%", "Insee, Filosofi", false, "Part de la population vivant sous le seuil de pauvreté (60 % du niveau de vie médian)."),
    ("taux_pauvrete_jeunes", "Taux de pauvreté des jeunes", "Revenus", "%", "Insee, Filosofi", false, "Part des jeunes vivant sous le seuil de pauvreté (la tranche d'âge est celle que donne la source)."),
    ("jeunes_sans_emploi_formation_diplome", "Jeunes de moins de 25 ans sans emploi, sans formation et sans diplôme", "Revenus", "%", "Insee, recensement", false, "Part des moins de 25 ans ni en emploi, ni en formation, et sans diplôme."),
    ("allocataires_caf", "Foyers allocataires de la CAF", "Prestations", "foyers", "CAF", true, "Foyers allocataires au 31 décembre."),
    ("personnes_couvertes_caf", "Personnes couvertes par la CAF", "Prestations", "personnes", "CAF", true, "Allocataires, conjoints, enfants et autres personnes à charge."),
    ("beneficiaires_rsa", "Bénéficiaires du RSA", "Prestations", "foyers", "CAF", true, "Foyers bénéficiaires du revenu de solidarité active."),
    ("foyers_af", "Foyers bénéficiaires des allocations familiales", "Prestations", "foyers", "CNAF, allocataires par commune", true, "Foyers allocataires percevant les allocations familiales."),
    ("foyers_cf", "Foyers bénéficiaires du complément familial", "Prestations", "foyers", "CNAF, allocataires par commune", true, "Foyers allocataires percevant le complément familial."),
    ("foyers_asf", "Foyers bénéficiaires de l'allocation de soutien familial", "Prestations", "foyers", "CNAF, allocataires par commune", true, "Foyers allocataires percevant l'allocation de soutien familial."),
    ("foyers_paje_ab", "Foyers bénéficiaires de l'allocation de base de la PAJE", "Prestations", "foyers", "CNAF, allocataires par commune", true, "Foyers allocataires percevant l'allocation de base de la prestation d'accueil du jeune enfant."),
    ("foyers_cmg", "Foyers bénéficiaires du complément de libre choix du mode de garde", "Prestations", "foyers", "CNAF, allocataires par commune", true, "Foyers allocataires percevant le CMG (assistant maternel, garde à domicile, micro-crèche)."),
    ("foyers_apl", "Foyers bénéficiaires de l'APL", "Prestations", "foyers", "CNAF, allocataires par commune", true, "Foyers allocataires percevant l'aide personnalisée au logement."),
    ("foyers_als", "Foyers bénéficiaires de l'ALS", "Prestations", "foyers", "CNAF, allocataires par commune", true, "Foyers allocataires percevant l'allocation de logement sociale."),
    ("foyers_alf", "Foyers bénéficiaires de l'ALF", "Prestations", "foyers", "CNAF, allocataires par commune", true, "Foyers allocataires percevant l'allocation de logement familiale."),
    ("foyers_ppa", "Foyers bénéficiaires de la prime d'activité", "Prestations", "foyers", "CNAF, allocataires par commune", true, "Foyers allocataires percevant la prime d'activité."),
    ("quartiers_prioritaires", "Quartiers de la géographie prioritaire", "Politique de la ville", "quartiers", "État et intercommunalité", false, "Quartiers prioritaires de la politique de la ville (QPV) et quartiers d'intérêt communautaire (QIC)."),
    ("qpv", "Quartiers prioritaires de la politique de la ville (QPV)", "Politique de la ville", "quartiers", "État", false, "Quartiers prioritaires définis par l'État."),
    ("qic", "Quartiers d'intérêt communautaire (QIC)", "Politique de la ville", "quartiers", "Intercommunalité", false, "Quartiers que l'intercommunalité retient pour des caractéristiques socio-économiques proches de celles des QPV."),
    ("population_quartiers_prioritaires", "Habitants des quartiers de la géographie prioritaire", "Politique de la ville", "habitants", "État et intercommunalité", false, "Population des QPV et des QIC."),
    ("part_population_quartiers_prioritaires", "Part de la population dans la géographie prioritaire", "Politique de la ville", "%", "État et intercommunalité", false, "Habitants des QPV et des QIC rapportés à la population."),
    ("residences_principales", "Résidences principales", "Logement", "logements", "Insee, recensement", false, "Logements occupés à titre de résidence principale."),
    ("logements_vacants", "Logements vacants", "Logement", "logements", "Insee, recensement", false, "Logements inoccupés."),
    ("residences_secondaires", "Résidences secondaires et logements occasionnels", "Logement", "logements", "Insee, recensement", false, "Logements utilisés pour les week-ends, les loisirs ou les vacances, ou occasionnellement."),
    ("logements", "Logements", "Logement", "logements", "Insee, recensement", false, "Ensemble des logements."),
    ("maisons", "Maisons", "Logement", "logements", "Insee, recensement", false, "Logements qui sont des maisons."),
    ("appartements", "Appartements", "Logement", "logements", "Insee, recensement", false, "Logements qui sont des appartements."),
    ("residences_principales_proprietaires", "Résidences principales occupées par leur propriétaire", "Logement", "logements", "Insee, recensement", false, "Résidences principales dont l'occupant est propriétaire."),
    ("residences_principales_locataires", "Résidences principales louées", "Logement", "logements", "Insee, recensement", false, "Résidences principales dont l'occupant est locataire."),
    ("residences_principales_hlm", "Résidences principales louées vides en HLM", "Logement", "logements", "Insee, recensement", false, "Résidences principales dont l'occupant est locataire d'un logement HLM loué vide."),
    ("residences_principales_loges_gratuitement", "Résidences principales occupées à titre gratuit", "Logement", "logements", "Insee, recensement", false, "Résidences principales dont l'occupant est logé gratuitement."),
    ("assistants_maternels", "Assistants maternels", "Petite enfance", "personnes", "CAF, Pajemploi", true, "Assistants maternels agréés."),
    ("assistants_maternels_actifs", "Assistants maternels en activité", "Petite enfance", "personnes", "CAF, Pajemploi", true, "Assistants maternels agréés qui ont exercé dans l'année."),
    ("places_eaje", "Places en EAJE", "Petite enfance", "places", "CAF", false, "Places agréées en établissements d'accueil du jeune enfant (crèches, micro-crèches, crèches familiales), quand elles sont déclarées globalement plutôt que par équipement."),
    ("places_assistants_maternels", "Places chez les assistants maternels en activité", "Petite enfance", "places", "CAF, Pajemploi", false, "Places offertes aux enfants de moins de 3 ans par les assistants maternels en activité (composante du taux de couverture ONAPE)."),
    ("enfants_scolarises_2_ans", "Enfants scolarisés à 2 ans", "Petite enfance", "enfants", "Éducation nationale", true, "Enfants de 2 ans scolarisés en école maternelle (composante du taux de couverture ONAPE)."),
    ("garde_domicile", "Enfants gardés à domicile", "Petite enfance", "enfants", "CAF, Pajemploi", true, "Enfants de moins de 3 ans gardés par une salariée à domicile (composante du taux de couverture ONAPE)."),
    ("taux_couverture_global", "Taux de couverture global de l'accueil du jeune enfant", "Petite enfance", "%", "CNAF, open data de l'accueil du jeune enfant", false, "Places d'accueil formel (EAJE, assistants maternels, garde à domicile, école à 2 ans) pour 100 enfants de moins de 3 ans, tel que la CNAF le publie."),
    ("taux_couverture_eaje", "Taux de couverture en EAJE", "Petite enfance", "%", "CNAF, open data de l'accueil du jeune enfant", false, "Places en établissements d'accueil du jeune enfant pour 100 enfants de moins de 3 ans."),
    ("taux_couverture_eaje_psu", "Taux de couverture en EAJE financés par la PSU", "Petite enfance", "%", "CNAF, open data de l'accueil du jeune enfant", false, "Places en accueil collectif financées par la prestation de service unique pour 100 enfants de moins de 3 ans."),
    ("taux_couverture_eaje_hors_psu", "Taux de couverture en EAJE hors PSU", "Petite enfance", "%", "CNAF, open data de l'accueil du jeune enfant", false, "Places en accueil collectif hors prestation de service unique (micro-crèches PAJE…) pour 100 enfants de moins de 3 ans."),
    ("taux_couverture_accueil_individuel", "Taux de couverture en accueil individuel", "Petite enfance", "%", "CNAF, open data de l'accueil du jeune enfant", false, "Places chez les assistants maternels et en garde à domicile pour 100 enfants de moins de 3 ans."),
    ("taux_couverture_assistants_maternels", "Taux de couverture par les assistants maternels", "Petite enfance", "%", "CNAF, open data de l'accueil du jeune enfant", false, "Places chez les assistants maternels pour 100 enfants de moins de 3 ans."),
    ("taux_couverture_garde_domicile", "Taux de couverture par la garde à domicile", "Petite enfance", "%", "CNAF, open data de l'accueil du jeune enfant", false, "Enfants gardés à domicile pour 100 enfants de moins de 3 ans."),
    ("taux_couverture_prescolarisation", "Taux de couverture par l'école à 2 ans", "Petite enfance", "%", "CNAF, open data de l'accueil du jeune enfant", false, "Enfants scolarisés à 2 ans pour 100 enfants de moins de 3 ans."),
    ("places_accueil_total", "Places d'accueil du jeune enfant (toutes formes)", "Petite enfance", "places", "CNAF, open data de l'accueil du jeune enfant", false, "Offre totale d'accueil formel des moins de 3 ans (tot_offre)."),
    ("places_eaje_psu", "Places en EAJE financés par la PSU", "Petite enfance", "places", "CNAF, open data de l'accueil du jeune enfant", false, "Places en accueil collectif financées par la prestation de service unique."),
    ("places_eaje_hors_psu", "Places en EAJE hors PSU", "Petite enfance", "places", "CNAF, open data de l'accueil du jeune enfant", false, "Places en accueil collectif hors prestation de service unique."),
    ("places_accueil_individuel", "Places en accueil individuel", "Petite enfance", "places", "CNAF, open data de l'accueil du jeune enfant", false, "Places chez les assistants maternels et en garde à domicile."),
    ("eaje", "Établissements d'accueil du jeune enfant (grandes crèches)", "Petite enfance", "structures", "CAF", false, "EAJE déclarés (hors micro-crèches)."),
    ("eaje_avip", "EAJE labellisés AVIP", "Petite enfance", "structures", "CAF", false, "Établissements d'accueil du jeune enfant « à vocation d'insertion professionnelle »."),
    ("creches_familiales", "Crèches familiales", "Petite enfance", "structures", "CAF", false, "Crèches familiales déclarées (accueil chez des assistants maternels salariés d'une crèche)."),
    ("micro_creches", "Micro-crèches", "Petite enfance", "structures", "CAF", false, "Micro-crèches déclarées."),
    ("mam", "Maisons d'assistants maternels", "Petite enfance", "structures", "CAF", false, "MAM déclarées."),
    ("laep", "Lieux d'accueil enfants-parents", "Parentalité", "structures", "CAF", false, "LAEP ouverts."),
    ("rpe", "Relais petite enfance", "Petite enfance", "structures", "CAF", false, "RPE ouverts."),
    ("communes_couvertes_rpe", "Communes couvertes par un relais petite enfance", "Petite enfance", "communes", "CAF", false, "Communes membres où un RPE est compétent."),
    ("communes_rpe_intercommunal", "Communes couvertes par le relais petite enfance de l'intercommunalité", "Petite enfance", "communes", "Intercommunalité", false, "Communes où le RPE géré par l'intercommunalité est compétent."),
    ("enfants_handicap_eaje", "Enfants en situation de handicap accueillis en EAJE", "Petite enfance", "enfants", "CAF", true, "Enfants porteurs de handicap accueillis dans l'année en EAJE."),
    ("enfants_eaje_parents_pauvres", "Enfants inscrits en EAJE dont les parents vivent sous le seuil de pauvreté", "Petite enfance", "enfants", "CAF", true, "Enfants inscrits dans l'année en EAJE dont les parents vivent sous le seuil de pauvreté."),
    ("enfants_eaje_parent_insertion", "Enfants accueillis en EAJE dont un parent est en parcours d'insertion", "Petite enfance", "enfants", "CAF", true, "Enfants accueillis dans l'année en EAJE dont au moins un parent est en parcours d'insertion."),
    ("alsh_extrascolaires", "Accueils de loisirs extrascolaires", "Enfance et jeunesse", "structures", "CAF", false, "ALSH extrascolaires déclarés."),
    ("alsh_periscolaires", "Accueils de loisirs périscolaires", "Enfance et jeunesse", "structures", "CAF", false, "ALSH périscolaires déclarés."),
    ("alsh_ados", "Accueils de loisirs pour adolescents", "Enfance et jeunesse", "structures", "CAF", false, "Accueils ados déclarés."),
    ("pedt", "Projets éducatifs de territoire (PEDT)", "Enfance et jeunesse", "projets", "Services de l'État", false, "PEDT en vigueur sur le territoire."),
    ("promeneurs_du_net", "Structures « Promeneurs du Net »", "Enfance et jeunesse", "structures", "CAF", false, "Structures relais présentes sur internet pour répondre aux jeunes (présence éducative en ligne)."),
    ("centres_sociaux", "Centres sociaux", "Animation de la vie sociale", "structures", "CAF", false, "Centres sociaux agréés."),
    ("espaces_vie_sociale", "Espaces de vie sociale", "Animation de la vie sociale", "structures", "CAF", false, "EVS agréés."),
}

/// The indicator of this code, if the platform knows it.
pub fn indicator(code: &str) -> Option<&'static IndicatorDef> {
    INDICATORS.iter().find(|i| i.code == code.trim())
}

#[cfg(test)]
mod area_tests {
    use super::*;

    #[test]
    fn areas_are_checked_against_their_kind() {
        assert_eq!(Area::parse("epci", "200072460").unwrap().code, "200072460");
        assert_eq!(Area::parse("departement", "62").unwrap().code, "62");
        assert_eq!(Area::parse("Departement", "2a").unwrap().code, "2A");
        assert_eq!(Area::parse("france", "").unwrap().code, "FR");
        assert!(Area::parse("departement", "20").is_err());
        assert!(Area::parse("departement", "99").is_err());
        assert_eq!(Area::parse("commune", "1053").unwrap().code, "01053");
        let e = Area::parse("commune", "621").unwrap_err();
        assert!(e.field == "code_territoire" && e.message.contains("INSEE"), "{e:?}");
        let e = Area::parse("region", "32").unwrap_err();
        assert!(e.field == "type_territoire" && e.message.contains("type de territoire inconnu"), "{e:?}");
        assert_eq!(Area::parse("departement", "99").unwrap_err().field, "code_territoire");
    }

    #[test]
    fn the_catalogue_has_unique_codes() {
        let mut codes: Vec<&str> = INDICATORS.iter().map(|i| i.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), INDICATORS.len());
        assert!(indicator("assistants_maternels").unwrap().protected);
        assert!(indicator("inconnu").is_none());
    }
}

/// A value of an indicator for an area and a period (`AAAA`, `AAAA-MM`, or `AAAA-AAAA` for a span).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observation {
    pub indicator: String,
    pub area: Area,
    pub period: String,
    pub value: f64,
    pub source: String,
    pub data_date: Option<NaiveDate>,
}

impl Observation {
    /// The value is a finite number within the bound of every number entered, and the source a
    /// title ([`crate::text`]); a French message naming the field otherwise.
    pub fn check(&self) -> Result<(), String> {
        crate::text::number("valeur", self.value)?;
        crate::text::clean("source", &self.source, crate::text::TextKind::Title)?;
        Ok(())
    }
}
