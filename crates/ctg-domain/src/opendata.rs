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

/// An EPCI as the comparison sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Territory {
    pub siren: String,
    pub name: String,
    /// `CA`, `CC`, `CU`, `METRO`, `MET69`…
    pub kind: String,
    pub departement: String,
    pub region: String,
    pub population: Option<f64>,
    /// Children under 3 per 100 inhabitants.
    pub under_three_share: Option<f64>,
    /// Households allocataires of the CAF per 100 inhabitants.
    pub allocataires_share: Option<f64>,
    /// The key indicators, by code (see [`KEY_INDICATORS`]).
    pub values: Vec<Option<f64>>,
}

/// The key indicators shown side by side: code, label, unit.
pub const KEY_INDICATORS: [(&str, &str, &str); 6] = [
    ("population", "Population", "habitants"),
    ("part_moins_3_ans", "Enfants de moins de 3 ans pour 100 habitants", "%"),
    ("allocataires_pour_100_habitants", "Foyers allocataires pour 100 habitants", "%"),
    ("taux_couverture_global", "Taux de couverture global de l'accueil du jeune enfant", "%"),
    ("taux_couverture_eaje", "Taux de couverture en EAJE", "%"),
    ("taux_couverture_assistants_maternels", "Taux de couverture par les assistants maternels", "%"),
];

/// How peers are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PeerCriteria {
    /// How many peers besides the EPCI itself.
    pub count: usize,
    pub same_departement: bool,
    pub same_region: bool,
}

impl Default for PeerCriteria {
    fn default() -> Self {
        Self { count: 10, same_departement: false, same_region: false }
    }
}

/// The weights of the distance: a factor 2 of population, 1 point of children under 3 per 100
/// inhabitants and 5 points of allocataires per 100 inhabitants each count as 1. A criterion unknown
/// for either EPCI does not count.
pub const CRITERIA_TEXT: &str = "Les intercommunalités comparées sont du même type (communauté d'agglomération, de communes, \
    urbaine, métropole) et, si vous le demandez, du même département ou de la même région. Parmi elles, les plus proches \
    sont celles dont la distance est la plus petite, la distance additionnant : l'écart de population (un facteur 2 compte \
    pour 1), l'écart de la part des enfants de moins de 3 ans (1 point pour 100 habitants compte pour 1) et l'écart de la \
    part des foyers allocataires (5 points pour 100 habitants comptent pour 1). Un critère inconnu pour l'une des deux \
    n'est pas compté ; une intercommunalité sans population connue n'est pas comparée.";

/// The distance between two EPCIs by the criteria of [`CRITERIA_TEXT`]; `None` without both populations.
pub fn distance(a: &Territory, b: &Territory) -> Option<f64> {
    let (pa, pb) = (a.population.filter(|p| *p > 0.0)?, b.population.filter(|p| *p > 0.0)?);
    let mut d = (pa / pb).log2().abs();
    if let (Some(x), Some(y)) = (a.under_three_share, b.under_three_share) {
        d += (x - y).abs();
    }
    if let (Some(x), Some(y)) = (a.allocataires_share, b.allocataires_share) {
        d += (x - y).abs() / 5.0;
    }
    Some(d)
}

/// The group: the EPCI first, then its peers, nearest first (ties by SIREN).
pub fn peers<'a>(target: &'a Territory, all: &'a [Territory], criteria: &PeerCriteria) -> Vec<(&'a Territory, f64)> {
    let mut found: Vec<(&Territory, f64)> = all
        .iter()
        .filter(|t| t.siren != target.siren && t.kind == target.kind)
        .filter(|t| !criteria.same_departement || t.departement == target.departement)
        .filter(|t| !criteria.same_region || t.region == target.region)
        .filter_map(|t| distance(target, t).map(|d| (t, d)))
        .collect();
    found.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.siren.cmp(&b.0.siren)));
    found.truncate(criteria.count);
    let mut group = vec![(target, 0.0)];
    group.extend(found);
    group
}

/// For each key indicator, the rank of every member of the group (1 = the highest value; `None` when
/// unknown) and the median of the group's known values.
pub fn ranks(group: &[&Territory]) -> Vec<(Vec<Option<usize>>, Option<f64>)> {
    (0..KEY_INDICATORS.len())
        .map(|i| {
            let known: Vec<f64> = group.iter().filter_map(|t| t.values.get(i).copied().flatten()).collect();
            let ranks =
                group.iter().map(|t| t.values.get(i).copied().flatten().map(|v| rank_descending(v, &known))).collect();
            (ranks, median(&known))
        })
        .collect()
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

    fn epci(siren: &str, kind: &str, dep: &str, pop: f64, u3: Option<f64>, values: [Option<f64>; 6]) -> Territory {
        Territory {
            siren: siren.into(),
            name: siren.into(),
            kind: kind.into(),
            departement: dep.into(),
            region: "32".into(),
            population: Some(pop),
            under_three_share: u3,
            allocataires_share: None,
            values: values.to_vec(),
        }
    }

    #[test]
    fn peers_are_the_nearest_of_the_same_kind() {
        let v = |x: f64| [None, None, None, Some(x), None, None];
        let target = epci("A", "CA", "62", 100_000.0, Some(3.0), v(50.0));
        let all = vec![
            target.clone(),
            epci("B", "CA", "62", 200_000.0, Some(3.0), v(70.0)), // distance 1
            epci("C", "CA", "59", 100_000.0, Some(3.5), v(40.0)), // distance 0.5
            epci("D", "CC", "62", 100_000.0, Some(3.0), v(90.0)), // another kind
            epci("E", "CA", "62", 400_000.0, Some(3.0), v(60.0)), // distance 2
        ];
        let group = peers(&target, &all, &PeerCriteria { count: 2, ..PeerCriteria::default() });
        let names: Vec<&str> = group.iter().map(|(t, _)| t.siren.as_str()).collect();
        assert_eq!(names, ["A", "C", "B"]);
        let only_62 = peers(&target, &all, &PeerCriteria { count: 5, same_departement: true, same_region: false });
        let names: Vec<&str> = only_62.iter().map(|(t, _)| t.siren.as_str()).collect();
        assert_eq!(names, ["A", "B", "E"]);
        // Rates 50, 70, 60: ranks 3, 1, 2; median 60.
        let members: Vec<&Territory> = only_62.iter().map(|(t, _)| *t).collect();
        let r = ranks(&members);
        assert_eq!(r[3], (vec![Some(3), Some(1), Some(2)], Some(60.0)));
        assert_eq!(r[0], (vec![None, None, None], None));
    }
}
