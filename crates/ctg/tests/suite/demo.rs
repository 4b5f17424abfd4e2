//! The demo against the text of the signed convention: every figure that the demo takes from annexes 1
//! and 2 is checked against the line of the text that gives it, quoted as the OCR reads it (accents and
//! words mangled included). When the OCR text is at hand (`../shared/reference`, or the folder named by
//! `CTG_REFERENCE_DIR`), each quoted line must be found in it; what the text leaves uncertain is in
//! `data/demo/NOTES.md`, never here.

use ctg_domain::diagnostic::{AreaKind, Observation};

/// A figure of the demo's diagnostic and the line of the text that gives it.
struct Figure {
    indicator: &'static str,
    area: AreaKind,
    period: &'static str,
    value: f64,
    /// The figure as the text writes it.
    written: &'static str,
    /// The line of the OCR text where it is written.
    line: &'static str,
}

const fn epci(
    indicator: &'static str,
    period: &'static str,
    value: f64,
    written: &'static str,
    line: &'static str,
) -> Figure {
    Figure { indicator, area: AreaKind::Epci, period, value, written, line }
}

const fn dep(
    indicator: &'static str,
    period: &'static str,
    value: f64,
    written: &'static str,
    line: &'static str,
) -> Figure {
    Figure { indicator, area: AreaKind::Departement, period, value, written, line }
}

const POPULATION_CHANGE: [&str; 3] = ["2006 -2011 0,1 0,3 -0,2", "2011 -2016 0 0,3 -0,2", "2016 -2022 -0,1 0 -0,1"];

const FIGURES: &[Figure] = &[
    // Annex 1, « La démographie du territoire ».
    epci("densite", "2021", 426.5, "426.5", "Avec une densité moyenne de 426.5 habitants au km2 en 2021, la Communauté"),
    epci("communes_moins_5000_habitants", "2025", 85.0, "85", "et la premiere de la région Hauts de France. Avec 85 communes de moins de 5000"),
    epci("communes_moins_2000_habitants", "2025", 61.0, "61", "habitants et 61 communes de moins de 2000 habitants,"),
    epci("variation_annuelle_population", "2006-2011", 0.1, "0,1", POPULATION_CHANGE[0]),
    epci("variation_annuelle_solde_naturel", "2006-2011", 0.3, "0,3", POPULATION_CHANGE[0]),
    epci("variation_annuelle_solde_migratoire", "2006-2011", -0.2, "-0,2", POPULATION_CHANGE[0]),
    epci("variation_annuelle_population", "2011-2016", 0.0, "0", POPULATION_CHANGE[1]),
    epci("variation_annuelle_solde_naturel", "2011-2016", 0.3, "0,3", POPULATION_CHANGE[1]),
    epci("variation_annuelle_solde_migratoire", "2011-2016", -0.2, "-0,2", POPULATION_CHANGE[1]),
    epci("variation_annuelle_population", "2016-2022", -0.1, "-0,1", POPULATION_CHANGE[2]),
    epci("variation_annuelle_solde_naturel", "2016-2022", 0.0, "0", POPULATION_CHANGE[2]),
    epci("variation_annuelle_solde_migratoire", "2016-2022", -0.1, "-0,1", POPULATION_CHANGE[2]),
    // « Répartition des ménages selon leur composition » (2022).
    epci("hommes_seuls", "2022", 16050.0, "16050", "- hommes seuls 16050 34.6%"),
    epci("femmes_seules", "2022", 22673.0, "22673", "- femmes seules 22673 10.0%"),
    epci("menages_sans_famille", "2022", 1311.0, "1311", "Autres ménages sans 1311 -43.3%"),
    epci("menages_avec_famille", "2022", 78652.0, "78652", "Ménages avec famille(s) 78652 0.6%Je vais"),
    epci("couples_sans_enfant", "2022", 31973.0, "31973", "- un couple sans enfant 31973 2.0%"),
    // « Une situation économique et sociale fragile ».
    epci("taux_pauvrete_jeunes", "2021", 29.4, "29,4%", "préoccupante chez les jeunes . 29,4% des jeunes vivent sous le seuil de pauvreté et"),
    epci("jeunes_sans_emploi_formation_diplome", "2021", 21.2, "21,2%", "21,2% des jeunes de moins de 25 ans sont sans emploi, sans formation et sans dipléme."),
    // « Les prestations légales »: the RSA is counted at 31/12/2022, not 2023.
    epci("beneficiaires_rsa", "2022-12", 9404.0, "9404", "9404 bénéficiaires du RSA sur le territoire."),
    // « Une géographie prioritaire conséquente ».
    epci("quartiers_prioritaires", "2024", 25.0, "25", "Sur la CABBALR, la géographie prioritaire de la politique de la ville concerne 25 quartiers"),
    epci("qpv", "2024", 16.0, "16", "identifi®s : 16 Quartiers Politique de |l a Ville Etat e"),
    epci("qic", "2024", 9.0, "9", "PréfectureetlaCABBALR. Les 9 quartiers doéint®r°t communaut ai"),
    epci("population_quartiers_prioritaires", "2024", 45000.0, "45 000", "Ces quartiers représentent environ 45 000 habitants, soit 16 % de la population. En 2024,"),
    epci("part_population_quartiers_prioritaires", "2024", 16.0, "16 %", "Ces quartiers représentent environ 45 000 habitants, soit 16 % de la population. En 2024,"),
    // « Les caractéristiques du logement » (2022, then 2011 / 2016 / 2022).
    epci("residences_secondaires", "2022", 952.0, "952", "Résid. 952 48540 0,7 6,6"),
    dep("residences_secondaires", "2022", 48540.0, "48540", "Résid. 952 48540 0,7 6,6"),
    epci("logements", "2022", 129617.0, "129617", "Total 129617 732092 100 100"),
    dep("logements", "2022", 732092.0, "732092", "Total 129617 732092 100 100"),
    epci("maisons", "2022", 111262.0, "111262", "Maisons 111262 562107 85,8 76,8"),
    dep("maisons", "2022", 562107.0, "562107", "Maisons 111262 562107 85,8 76,8"),
    epci("appartements", "2022", 17308.0, "17308", "Appartements 17308 162474 13,4 22,2"),
    dep("appartements", "2022", 162474.0, "162474", "Appartements 17308 162474 13,4 22,2"),
    epci("residences_principales_proprietaires", "2011", 65745.0, "65 745", "Propriétaire 65 745 58,1 67 049 58,1 69 562 58,6 165 180"),
    epci("residences_principales_proprietaires", "2022", 69562.0, "69 562", "Propriétaire 65 745 58,1 67 049 58,1 69 562 58,6 165 180"),
    epci("residences_principales_locataires", "2016", 45977.0, "45 977", "Locataire 43 750 38,7 45 977 39,9 47 188 39,8 103 378"),
    epci("residences_principales_hlm", "2016", 22841.0, "22 841", "logement HLM loué 18 307 16,2 22 841 19,8 22 426 18,9 50 402"),
    epci("residences_principales_loges_gratuitement", "2022", 1860.0, "1860", "Logé gratuitement 3587 3,2 2314 2 1860 1,6 3354"),
    // Annex 1 §3, the offer of services « en 2025 ».
    epci("eaje_avip", "2025", 2.0, "2", "1 22 Grandes creches EAJE dont 2 labelisées AVIP"),
    epci("creches_familiales", "2025", 1.0, "1 créche familiale", "9 1 créche familiale"),
    epci("communes_couvertes_rpe", "2025", 81.0, "81", "1 6 Relais petite enfance (soit 81 communes couvertes)"),
    // Article 3: the CABBALR's own RPE.
    epci("communes_rpe_intercommunal", "2025", 39.0, "39", "39 communes a compter du ler Janvier 2025."),
    epci("enfants_handicap_eaje", "2024", 64.0, "64", "64"),
    epci("enfants_eaje_parents_pauvres", "2024", 604.0, "604", "de pauvreté : 604"),
    epci("enfants_eaje_parent_insertion", "2024", 146.0, "146", "en parcours d'insertion : 146"),
    epci("pedt", "2025", 17.0, "17", "Nous dénombrons 17 PEDT sur le territoire de la CABBALR et des projets en cours,"),
    epci("promeneurs_du_net", "2025", 15.0, "15", "éducatif des jeunes.  Sur le territoire de la CABBALR, nous recensons 15 structures relais"),
    // Annex 2, the evaluation of the CTG 2021-2025: assistants maternels with the active ones, and
    // the 2021 baselines.
    epci("assistants_maternels", "2023", 1195.0, "1195", "1195 Assistants Maternels sur le territoire dont 1006"),
    epci("assistants_maternels_actifs", "2023", 1006.0, "1006", "1195 Assistants Maternels sur le territoire dont 1006"),
    epci("assistants_maternels", "2021", 1331.0, "1331", "actives sur I\"année 2023 fen 2021 : 1331 Assistants Maternels Les nombreuses coopérations inter-RPE (ex : avec Labanque)"),
    epci("assistants_maternels_actifs", "2021", 1142.0, "1142", "dont 1142 actives)"),
    epci("communes_couvertes_rpe", "2021", 84.0, "84", "(en2021. & RPE soit 84 communes couvertes) commission  technique  {accompagnement  partenarial"),
    epci("micro_creches", "2021", 21.0, "21 micro", "projet) fen 2021 21 créches et 21 micro-créches)"),
    epci("laep", "2021", 6.0, "6 LAEP", "4 Lieux d'Accueil Enfant Parents (LAEP) fen 2021 : 6 LAEP) petite enfance (vidéo, malle, interventions dans les colléges,"),
];

/// The OCR text of the convention, when it is at hand.
fn ocr_text() -> Option<String> {
    let dir = std::env::var("CTG_REFERENCE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference"));
    std::fs::read_to_string(dir.join("convention-ctg-2026-2030-ocr.txt")).ok()
}

fn demo_observations() -> Vec<Observation> {
    ctg_import::observations::parse("diagnostic.csv", ctg::demo::DIAGNOSTIC_CSV).expect("the demo's diagnostic reads")
}

#[test]
fn demo_figures_are_those_of_the_text() {
    let observations = demo_observations();
    let text = ocr_text();
    let lines: Vec<&str> = text.as_deref().map(|t| t.lines().map(str::trim).collect()).unwrap_or_default();
    if text.is_none() {
        eprintln!("texte de la convention absent : les lignes citées ne sont pas cherchées dans le texte");
    }
    for f in FIGURES {
        let o = observations
            .iter()
            .find(|o| o.indicator == f.indicator && o.area.kind == f.area && o.period == f.period)
            .unwrap_or_else(|| panic!("the demo has no {} {:?} {}", f.indicator, f.area, f.period));
        assert_eq!(o.value, f.value, "{} {}: the text says « {} »", f.indicator, f.period, f.line);
        assert!(f.line.contains(f.written), "« {} » is not in its quoted line « {} »", f.written, f.line);
        assert!(
            o.source.starts_with("Convention CTG 2026-2030"),
            "{} {}: source « {} »",
            f.indicator,
            f.period,
            o.source
        );
        if text.is_some() {
            assert!(lines.contains(&f.line.trim()), "{}: the line « {} » is not in the text", f.indicator, f.line);
        }
    }
    // The RSA figure is the one « au 31/12/2022 », and nothing of it is left in 2023.
    assert!(!observations.iter().any(|o| o.indicator == "beneficiaires_rsa" && o.period.starts_with("2023")));
    if let Some(t) = &text {
        assert!(t.contains("On dénombrait (source CAF 62 au 31/12/2022),"));
    }
}

#[test]
fn demo_title_approaches_and_predecessor_bilan_are_those_of_the_text() {
    let conventions =
        ctg_import::convention::parse("conventions.json", ctg::demo::CONVENTIONS_JSON).expect("conventions read");
    let ctg2 = conventions.last().unwrap();
    // « Convention Territoriale Globale de Service aux Familles » then « 2026 1 2030 » (a dash, read « 1 »).
    assert_eq!(ctg2.title, "Convention Territoriale Globale de Service aux Familles 2026-2030");
    // The text has no « facile à lire ».
    let raw = String::from_utf8_lossy(ctg::demo::CONVENTIONS_JSON);
    assert!(!raw.to_lowercase().contains("facile à lire"));
    if let Some(t) = ocr_text() {
        assert!(t.lines().any(|l| l.trim() == "Convention Territoriale Globale de Service aux Familles"));
        assert!(!t.to_lowercase().contains("facile"));
    }

    // Annex 2: the bilan of the CTG 2021-2025 per theme, with its réussites, points d'attention,
    // habitants' concerns and fiches.
    let bilan = ctg::demo::predecessor_bilan().expect("the bilan reads");
    let theme = |name: &str| {
        bilan
            .iter()
            .find(|r| r.scope == ctg_store::ReviewScope::Theme(name.into()))
            .unwrap_or_else(|| panic!("no bilan for {name}"))
    };
    let early = theme("Petite enfance");
    // « La 1¥* semaine intercommunale de la Petite Enfance (2023) »
    assert!(
        early.successes.contains("la 1re semaine intercommunale de la petite enfance (2023)"),
        "{}",
        early.successes
    );
    // « Des communes. sans RPE »
    assert!(early.attention.contains("des communes sans RPE"), "{}", early.attention);
    // « Le nombre de place en structures d'accueil »
    assert!(early.concerns.contains("le nombre de places en structures d'accueil"), "{}", early.concerns);
    // « Commission petite enfance », « Halte répit »: fiches of the bilan.
    assert!(early.done.contains("Commission petite enfance") && early.done.contains("Halte répit"), "{}", early.done);
    // « 1195 Assistants Maternels sur le territoire dont 1006 actives sur I"année 2023 (en 2021 : 1331
    // Assistants Maternels dont 1142 actives) »
    assert_eq!(early.declared["Assistants maternels actifs en 2023"], 1006);
    assert_eq!(early.declared["Assistants maternels actifs en 2021"], 1142);
    assert_eq!(early.declared["fiches_action"], 14);
    let youth = theme("Enfance-jeunesse");
    // « Une 1*¢ rencontre inter-CMJ en 2024 »
    assert!(youth.successes.contains("une 1re rencontre inter-CMJ en 2024"), "{}", youth.successes);
    // « Perspective de fermeture de classes »
    assert!(youth.attention.contains("perspective de fermeture de classes"), "{}", youth.attention);
    // « La transition vers le collége »
    assert!(youth.concerns.contains("la transition vers le collège"), "{}", youth.concerns);
    // The text stops before the housing bilan's réussites: they stay empty, not invented.
    let housing = theme("Logement");
    assert!(housing.successes.is_empty() && housing.attention.is_empty() && housing.concerns.is_empty());
    assert_eq!(housing.declared, serde_json::json!({"objectifs": 4, "fiches_action": 11}));
}
