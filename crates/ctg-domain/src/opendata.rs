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

/// The indicators of the catalogue that the open data files give, with the file to import for each,
/// in the order a prefilled diagnostic lists them.
pub const PREFILLED: [(&str, &str); 33] = [
    ("population_municipale", "la base communale de l'Insee"),
    ("enfants_moins_3_ans", "la base communale de l'Insee"),
    ("enfants_3_5_ans", "la base communale de l'Insee"),
    ("enfants_6_10_ans", "la base communale de l'Insee"),
    ("jeunes_11_17_ans", "la base communale de l'Insee"),
    ("jeunes_18_24_ans", "la base communale de l'Insee"),
    ("part_0_14", "la base communale de l'Insee"),
    ("part_15_29", "la base communale de l'Insee"),
    ("part_30_44", "la base communale de l'Insee"),
    ("part_45_59", "la base communale de l'Insee"),
    ("part_60_74", "la base communale de l'Insee"),
    ("part_75_plus", "la base communale de l'Insee"),
    ("taux_couverture_global", "txcouv_pe_com, txcouv_pe_epci, txcouv_pe_dep, txcouv_pe_nat"),
    ("taux_couverture_eaje", "txcouv_pe_com, txcouv_pe_epci, txcouv_pe_dep, txcouv_pe_nat"),
    ("taux_couverture_eaje_psu", "txcouv_pe_com, txcouv_pe_epci, txcouv_pe_dep, txcouv_pe_nat"),
    ("taux_couverture_eaje_hors_psu", "txcouv_pe_com, txcouv_pe_epci, txcouv_pe_dep, txcouv_pe_nat"),
    ("taux_couverture_accueil_individuel", "txcouv_pe_com, txcouv_pe_epci, txcouv_pe_dep, txcouv_pe_nat"),
    ("taux_couverture_assistants_maternels", "txcouv_pe_com, txcouv_pe_epci, txcouv_pe_dep, txcouv_pe_nat"),
    ("taux_couverture_garde_domicile", "txcouv_pe_com, txcouv_pe_epci, txcouv_pe_dep, txcouv_pe_nat"),
    ("taux_couverture_prescolarisation", "txcouv_pe_com, txcouv_pe_epci, txcouv_pe_dep, txcouv_pe_nat"),
    ("places_accueil_total", "nbpla_pe_com, nbpla_pe_epci, nbpla_pe_dep, nbpla_pe_nat"),
    ("places_eaje", "nbpla_pe_com, nbpla_pe_epci, nbpla_pe_dep, nbpla_pe_nat"),
    ("places_assistants_maternels", "nbpla_pe_com, nbpla_pe_epci, nbpla_pe_dep, nbpla_pe_nat"),
    ("enfants_scolarises_2_ans", "nbpla_pe_com, nbpla_pe_epci, nbpla_pe_dep, nbpla_pe_nat"),
    ("garde_domicile", "nbpla_pe_com, nbpla_pe_epci, nbpla_pe_dep, nbpla_pe_nat"),
    ("allocataires_caf", "s_ben_com_f"),
    ("personnes_couvertes_caf", "s_ben_com_f"),
    ("beneficiaires_rsa", "s_ben_com_f"),
    ("foyers_af", "s_ben_com_f"),
    ("foyers_paje_ab", "s_ben_com_f"),
    ("foyers_cmg", "s_ben_com_f"),
    ("foyers_asf", "s_ben_com_f"),
    ("foyers_ppa", "s_ben_com_f"),
];

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
