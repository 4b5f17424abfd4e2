//! The diagnostic's computations: coverage of formal childcare, places per child, and the statistical
//! confidentiality of small counts (with secondary suppression). Pure functions, tested against
//! values worked out by hand.

use chrono::NaiveDate;
use serde::Serialize;

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

/// `part` per 100 of `whole`, two decimals; `None` when `whole` is not positive.
pub fn per_hundred(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 10_000.0 / whole as f64).round() / 100.0)
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

/// Masks a table of protected counts for the public. Rows and columns are each summed in a total that
/// is shown, so a single masked cell in a row or a column could be worked back by subtraction: the
/// smallest other shown, non-zero cell of that row or column is masked too, until no row or column has
/// exactly one masked cell. Counts from 1 to `threshold - 1` are masked; 0 is shown (it reveals no one).
pub fn mask_table(table: &[Vec<Option<i64>>], threshold: i64) -> Vec<Vec<Cell>> {
    let mut out: Vec<Vec<Cell>> = table
        .iter()
        .map(|row| {
            row.iter()
                .map(|v| match v {
                    None => Cell::Unknown,
                    Some(n) if *n > 0 && *n < threshold => Cell::Masked,
                    Some(n) => Cell::Shown(*n),
                })
                .collect()
        })
        .collect();
    let masked = |c: &Cell| matches!(c, Cell::Masked | Cell::MaskedSecondary);
    loop {
        let mut changed = false;
        // Rows.
        for row in &mut out {
            if row.iter().filter(|c| masked(c)).count() == 1 {
                if let Some(j) = smallest_shown(row.iter().copied().enumerate()) {
                    row[j] = Cell::MaskedSecondary;
                    changed = true;
                }
            }
        }
        // Columns.
        let width = out.iter().map(Vec::len).max().unwrap_or(0);
        for j in 0..width {
            let column = || out.iter().enumerate().filter_map(move |(i, r)| r.get(j).map(|c| (i, *c)));
            if column().filter(|(_, c)| masked(c)).count() == 1 {
                if let Some(i) = smallest_shown(column()) {
                    out[i][j] = Cell::MaskedSecondary;
                    changed = true;
                }
            }
        }
        if !changed {
            return out;
        }
    }
}

/// The position of the smallest shown, non-zero count.
fn smallest_shown(cells: impl Iterator<Item = (usize, Cell)>) -> Option<usize> {
    cells
        .filter_map(|(i, c)| match c {
            Cell::Shown(n) if n > 0 => Some((n, i)),
            _ => None,
        })
        .min()
        .map(|(_, i)| i)
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

    #[test]
    fn small_counts_are_masked_with_secondary_suppression() {
        // A row with one small count: its total would give it away, so the next smallest goes too.
        let t = vec![vec![Some(3), Some(12), Some(40)], vec![Some(20), Some(25), Some(30)]];
        let m = mask_table(&t, 5);
        assert_eq!(m[0], vec![Cell::Masked, Cell::MaskedSecondary, Cell::Shown(40)]);
        // Column 0 and column 1 each had one masked cell: the smallest of the other row goes too, and
        // then that row has two masked cells, which is enough.
        assert_eq!(m[1], vec![Cell::MaskedSecondary, Cell::MaskedSecondary, Cell::Shown(30)]);
        // Every row and column now has 0 or at least 2 masked cells.
        for row in &m {
            assert_ne!(row.iter().filter(|c| !matches!(c, Cell::Shown(_))).count(), 1);
        }
        for j in 0..3 {
            assert_ne!(m.iter().filter(|r| !matches!(r[j], Cell::Shown(_))).count(), 1);
        }
    }

    #[test]
    fn zero_and_unknown_are_not_masked_and_large_counts_stay() {
        let t = vec![vec![Some(0), None, Some(5), Some(100)]];
        assert_eq!(mask_table(&t, 5), vec![vec![Cell::Shown(0), Cell::Unknown, Cell::Shown(5), Cell::Shown(100)]]);
    }
}
