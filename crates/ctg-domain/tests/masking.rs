//! The statistical confidentiality of small counts (« secret statistique ») against an attacker.
//!
//! The convention does not state a masking rule: its art. 9 (« Échanges de données ») binds the parties
//! to the GDPR, the loi « Informatique et libertés » and the CNIL for any exchange of personal data, and
//! art. 15 (« Confidentialité ») to professional secrecy. The rule is that of official statistics (small
//! counts withheld, and a second cell withheld so that the first cannot be worked back from a total).
//!
//! 10,000 random tables are masked by `mask_table`, then an attacker who reads everything shown (cells,
//! row totals, column totals, grand total) and knows that counts are never negative tries to recover each
//! masked cell exactly: a line with one unknown and a known total, bounds carried from line to line
//! (intervals), and any linear combination of the lines (Gaussian elimination), all to a fixed point.
//! It must not recover a single masked cell. The attacker is written here, apart from `mask_table`'s own
//! audit (cycles of a graph), so that one checks the other.

use ctg_domain::diagnostic::{mask_table, Cell, MaskedTable, Total, Totals};

/// A small deterministic PRNG (SplitMix64): the same 10,000 tables on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A term of an equation: a known value or the attacker's unknown number `k`.
#[derive(Debug, Clone, Copy)]
enum Term {
    Known(i64),
    Var(usize),
}

/// What the attacker sees, as equations `sum(parts) = whole` over its unknowns.
struct Attack {
    /// `(parts, whole)`.
    equations: Vec<(Vec<Term>, Term)>,
    /// The true value of each unknown, to check that what it deduces is right.
    truth: Vec<i64>,
    /// For each masked cell of the table, its unknown.
    masked: Vec<((usize, usize), usize)>,
}

/// What the reader sees of an entry: its value when shown, else an unknown of the attacker.
fn term(cell: Cell, truth: i64, vars: &mut Vec<i64>) -> Term {
    match cell {
        Cell::Shown(v) => {
            assert_eq!(v, truth, "a shown value is the true value");
            Term::Known(v)
        }
        // What the platform does not know may be public elsewhere: the attacker knows it.
        Cell::Unknown => Term::Known(truth),
        _ => {
            vars.push(truth);
            Term::Var(vars.len() - 1)
        }
    }
}

/// The equations a reader can write from a masked table and its published totals. A `Fixed` total is
/// published from elsewhere with its true value, even when the platform does not know every cell.
fn attack(truth: &[Vec<i64>], masked: &MaskedTable, totals: Totals) -> Attack {
    let (m, n) = (truth.len(), truth[0].len());
    let mut vars = Vec::new();
    let mut cells = vec![vec![Term::Known(0); n]; m];
    let mut masked_cells = Vec::new();
    for i in 0..m {
        for j in 0..n {
            cells[i][j] = term(masked.cells[i][j], truth[i][j], &mut vars);
            if let (Cell::Masked | Cell::MaskedSecondary, Term::Var(k)) = (masked.cells[i][j], cells[i][j]) {
                masked_cells.push(((i, j), k));
            }
        }
    }
    let total_term = |how: Total, cell: Cell, sum: i64, vars: &mut Vec<i64>| match how {
        Total::Absent => term(Cell::MaskedSecondary, sum, vars),
        // A total over an unknown count is not shown.
        Total::Shown if cell == Cell::Unknown => term(Cell::MaskedSecondary, sum, vars),
        Total::Shown => term(cell, sum, vars),
        Total::Fixed => Term::Known(sum),
    };
    let row_sums: Vec<i64> = truth.iter().map(|r| r.iter().sum()).collect();
    let column_sums: Vec<i64> = (0..n).map(|j| truth.iter().map(|r| r[j]).sum()).collect();
    let grand: i64 = row_sums.iter().sum();
    let rows: Vec<Term> =
        (0..m).map(|i| total_term(totals.rows, masked.row_totals[i], row_sums[i], &mut vars)).collect();
    let columns: Vec<Term> =
        (0..n).map(|j| total_term(totals.columns, masked.column_totals[j], column_sums[j], &mut vars)).collect();
    let grand = total_term(totals.grand, masked.grand_total, grand, &mut vars);
    let mut equations = Vec::new();
    for i in 0..m {
        equations.push((cells[i].clone(), rows[i]));
    }
    for j in 0..n {
        equations.push(((0..m).map(|i| cells[i][j]).collect(), columns[j]));
    }
    equations.push((rows, grand));
    equations.push((columns, grand));
    Attack { equations, truth: vars, masked: masked_cells }
}

/// Bounds of each unknown: `lo..=hi`, `hi` = `None` for no bound.
type Bounds = Vec<(i64, Option<i64>)>;

fn bounds_of(t: Term, b: &Bounds) -> (i64, Option<i64>) {
    match t {
        Term::Known(v) => (v, Some(v)),
        Term::Var(k) => b[k],
    }
}

/// Tightens `k` to `lo..=hi`; whether it changed.
fn tighten(b: &mut Bounds, k: usize, lo: i64, hi: Option<i64>) -> bool {
    let (old_lo, old_hi) = b[k];
    let new_lo = old_lo.max(lo);
    let new_hi = match (old_hi, hi) {
        (Some(a), Some(c)) => Some(a.min(c)),
        (a, c) => a.or(c),
    };
    b[k] = (new_lo, new_hi);
    new_lo != old_lo || new_hi != old_hi
}

/// Interval reasoning on every equation, to a fixed point (this contains « one unknown in a line with a
/// known total »).
fn intervals(a: &Attack, b: &mut Bounds) -> bool {
    let mut any = false;
    loop {
        let mut changed = false;
        for (parts, whole) in &a.equations {
            let sum_lo: i64 = parts.iter().map(|p| bounds_of(*p, b).0).sum();
            let sum_hi: Option<i64> = parts.iter().map(|p| bounds_of(*p, b).1).sum();
            if let Term::Var(w) = whole {
                changed |= tighten(b, *w, sum_lo, sum_hi);
            }
            let (w_lo, w_hi) = bounds_of(*whole, b);
            for (idx, p) in parts.iter().enumerate() {
                let Term::Var(k) = p else { continue };
                let others = parts.iter().enumerate().filter(|(o, _)| *o != idx).map(|(_, q)| bounds_of(*q, b));
                let (others_lo, others_hi) =
                    others.fold((0i64, Some(0i64)), |(l, h), (ql, qh)| (l + ql, h.zip(qh).map(|(x, y)| x + y)));
                let lo = others_hi.map_or(0, |oh| w_lo - oh);
                let hi = w_hi.map(|wh| wh - others_lo);
                changed |= tighten(b, *k, lo, hi);
            }
        }
        if !changed {
            return any;
        }
        any = true;
    }
}

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 {
        a.abs()
    } else {
        gcd(b, a % b)
    }
}

/// Gaussian elimination over the equations, with the unknowns already pinned as constants: every unknown
/// whose value follows from a linear combination of the lines is pinned. Whether one was.
fn linear(a: &Attack, b: &mut Bounds) -> bool {
    let vars = a.truth.len();
    // Each row: coefficients of the unknowns, then the constant (sum = 0 form).
    let mut rows: Vec<Vec<i128>> = Vec::new();
    for (parts, whole) in &a.equations {
        let mut row = vec![0i128; vars + 1];
        let mut add = |t: Term, sign: i128| match t {
            Term::Var(k) if b[k].1 == Some(b[k].0) => row[vars] += sign * b[k].0 as i128,
            Term::Var(k) => row[k] += sign,
            Term::Known(v) => row[vars] += sign * v as i128,
        };
        for p in parts {
            add(*p, 1);
        }
        add(*whole, -1);
        rows.push(row);
    }
    let mut pivot_row = 0;
    let mut pivots = Vec::new();
    for col in 0..vars {
        let Some(r) = (pivot_row..rows.len()).find(|&r| rows[r][col] != 0) else { continue };
        rows.swap(pivot_row, r);
        for r in 0..rows.len() {
            if r != pivot_row && rows[r][col] != 0 {
                let (p, f) = (rows[pivot_row][col], rows[r][col]);
                let pivot = rows[pivot_row].clone();
                for (x, y) in rows[r].iter_mut().zip(&pivot) {
                    *x = *x * p - y * f;
                }
                let g = rows[r].iter().fold(0, |g, &x| gcd(g, x));
                if g > 1 {
                    rows[r].iter_mut().for_each(|x| *x /= g);
                }
            }
        }
        pivots.push((pivot_row, col));
        pivot_row += 1;
    }
    let mut pinned = false;
    for (r, col) in pivots {
        let alone = (0..vars).all(|c| c == col || rows[r][c] == 0);
        if alone && b[col].1 != Some(b[col].0) {
            let (coef, constant) = (rows[r][col], rows[r][vars]);
            assert_eq!((-constant) % coef, 0, "a pinned unknown is a whole number");
            let value = (-constant / coef) as i64;
            b[col] = (value, Some(value));
            pinned = true;
        }
    }
    pinned
}

/// The masked cells the attacker recovers exactly, with the value it finds.
fn recovered(a: &Attack) -> Vec<((usize, usize), i64)> {
    let mut b: Bounds = vec![(0, None); a.truth.len()];
    loop {
        let by_intervals = intervals(a, &mut b);
        let by_lines = linear(a, &mut b);
        if !by_intervals && !by_lines {
            break;
        }
    }
    for (k, (lo, hi)) in b.iter().enumerate() {
        let t = a.truth[k];
        assert!(*lo <= t && hi.is_none_or(|h| t <= h), "the attacker is sound: unknown {k} = {t} in {lo}..{hi:?}");
    }
    a.masked.iter().filter(|(_, k)| b[*k].1 == Some(b[*k].0)).map(|(at, k)| (*at, b[*k].0)).collect()
}

#[test]
fn the_attacker_recovers_a_count_that_only_primary_masking_hides() {
    // The gap of issue 12: [3, 0, 0] with only the 3 masked and the total shown.
    let truth = vec![vec![3], vec![0], vec![0]];
    let only_primary = MaskedTable {
        cells: vec![vec![Cell::Masked], vec![Cell::Shown(0)], vec![Cell::Shown(0)]],
        row_totals: vec![Cell::MaskedSecondary; 3],
        column_totals: vec![Cell::Shown(3)],
        grand_total: Cell::Shown(3),
    };
    let coverage = Totals { rows: Total::Absent, columns: Total::Fixed, grand: Total::Fixed };
    assert_eq!(recovered(&attack(&truth, &only_primary, coverage)), vec![((0, 0), 3)]);
    // Two cells masked in the column, but the other one is a 0 known to be alone in a row of total 0.
    let truth = vec![vec![3, 9], vec![0, 0]];
    let zero_row = MaskedTable {
        cells: vec![vec![Cell::Masked, Cell::MaskedSecondary], vec![Cell::MaskedSecondary, Cell::Shown(0)]],
        row_totals: vec![Cell::Shown(12), Cell::Shown(0)],
        column_totals: vec![Cell::Shown(3), Cell::Shown(9)],
        grand_total: Cell::Shown(12),
    };
    assert!(recovered(&attack(&truth, &zero_row, Totals::ALL)).contains(&((0, 0), 3)));
}

#[test]
fn the_attacker_recovers_a_cell_that_only_a_combination_of_lines_gives() {
    // Two 2×2 blocks of masked cells joined by one masked cell: every row and column has two masked cells
    // or more, yet rows 0 and 1 minus columns 0 and 1 leave the cell (0, 2) alone.
    let truth = vec![vec![1, 2, 3, 50], vec![4, 1, 50, 50], vec![50, 50, 2, 1], vec![50, 50, 3, 4]];
    let classic_only: Vec<Vec<Cell>> =
        truth.iter().map(|r| r.iter().map(|&v| if v < 5 { Cell::Masked } else { Cell::Shown(v) }).collect()).collect();
    let sums = |v: Vec<i64>| v.into_iter().map(Cell::Shown).collect::<Vec<_>>();
    let table = MaskedTable {
        cells: classic_only,
        row_totals: sums(truth.iter().map(|r| r.iter().sum()).collect()),
        column_totals: sums((0..4).map(|j| truth.iter().map(|r| r[j]).sum()).collect()),
        grand_total: Cell::Shown(truth.iter().flatten().sum()),
    };
    assert_eq!(recovered(&attack(&truth, &table, Totals::ALL)), vec![((0, 2), 3)]);
    // mask_table closes that bridge.
    let platform: Vec<Vec<Option<i64>>> = truth.iter().map(|r| r.iter().map(|&v| Some(v)).collect()).collect();
    let masked = mask_table(&platform, 5, Totals::ALL);
    assert_eq!(recovered(&attack(&truth, &masked, Totals::ALL)), vec![]);
}

#[test]
fn no_masked_cell_of_10_000_random_tables_can_be_worked_back() {
    let mut rng = Rng(0x00C7_6202_6203_0012);
    let coverage = Totals { rows: Total::Absent, columns: Total::Fixed, grand: Total::Fixed };
    let (mut tables, mut masked_cells, mut withheld_totals) = (0, 0, 0);
    while tables < 10_000 {
        // One table in four has the shape of the coverage page: one column of communes, no row totals,
        // the EPCI's total always shown.
        let coverage_shape = rng.chance(25);
        let (m, n) = if coverage_shape {
            (rng.range(2, 12) as usize, 1)
        } else {
            (rng.range(1, 5) as usize, rng.range(1, 5) as usize)
        };
        let totals = if coverage_shape { coverage } else { Totals::ALL };
        let truth: Vec<Vec<i64>> = (0..m)
            .map(|_| {
                (0..n)
                    .map(|_| match rng.range(0, 99) {
                        0..=29 => 0,
                        30..=59 => rng.range(1, 4),
                        _ => rng.range(5, 60),
                    })
                    .collect()
            })
            .collect();
        // The platform does not know every count (5 %).
        let platform: Vec<Vec<Option<i64>>> =
            truth.iter().map(|r| r.iter().map(|&v| (!rng.chance(5)).then_some(v)).collect()).collect();
        // With the EPCI's total always shown, a column needs two counts known to the platform: a single
        // one is the total itself (`mask_table` then withholds all it can, and says so in its doc).
        if coverage_shape && platform.iter().flatten().filter(|v| v.is_some()).count() < 2 {
            continue;
        }
        let masked = mask_table(&platform, 5, totals);
        for (i, row) in masked.cells.iter().enumerate() {
            for (j, c) in row.iter().enumerate() {
                let v = platform[i][j];
                if v.is_some_and(|v| v > 0 && v < 5) {
                    assert_eq!(*c, Cell::Masked, "a small count is masked: table {tables}, cell ({i}, {j})");
                }
                masked_cells += usize::from(matches!(c, Cell::Masked | Cell::MaskedSecondary));
            }
        }
        withheld_totals += masked
            .row_totals
            .iter()
            .chain(&masked.column_totals)
            .chain([&masked.grand_total])
            .filter(|c| **c == Cell::MaskedSecondary)
            .count();
        let found = recovered(&attack(&truth, &masked, totals));
        assert!(found.is_empty(), "table {tables} {truth:?} masked as {masked:?}: the attacker recovers {found:?}");
        tables += 1;
    }
    println!("{tables} tables parcourues, {masked_cells} cellules masquées, {withheld_totals} totaux retenus ou non publiés : aucune cellule masquée retrouvée");
    assert_eq!(tables, 10_000);
}
