//! Figures of the published open data files (CNAF, INSEE), kept for all of France, and what is
//! computed from them without I/O: medians and ranks of a group of territories.

use serde::Serialize;

use crate::diagnostic::AreaKind;

/// One figure of an open data file, as read: an indicator of the catalogue, for an area and a year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenObservation {
    pub indicator: &'static str,
    pub area_kind: AreaKind,
    pub area_code: String,
    pub year: i32,
    pub value: f64,
    /// What the reader should know about this figure (rounded, summed from arrondissements…).
    pub note: Option<&'static str>,
}

/// The median of some values; `None` when there are none. The mean of the two middle values for an
/// even count.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

/// The rank of `value` among `values` (1 = the highest), ties sharing the best rank (« ex aequo »).
pub fn rank_descending(value: f64, values: &[f64]) -> usize {
    1 + values.iter().filter(|v| **v > value).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_ranks_worked_by_hand() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(rank_descending(3.0, &[1.0, 3.0, 5.0, 3.0]), 2);
        assert_eq!(rank_descending(5.0, &[1.0, 3.0, 5.0]), 1);
        assert_eq!(rank_descending(1.0, &[1.0, 3.0, 5.0]), 3);
    }
}
