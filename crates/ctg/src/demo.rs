//! The demo: the CTG 2026-2030 of the CA de Béthune-Bruay, Artois Lys Romane (CABBALR), its predecessor
//! the CTG 2021-2025, and their territory with three population vintages. Its data ships inside the
//! binary; nothing is fetched at run time.
//!
//! - territory and vintage 2022: an extract of `@etalab/decoupage-administratif` 6.0.0
//!   (`data/decoupage-administratif-6.0.0-extrait`, cut by `scripts/extraire-territoire.py`);
//! - vintages 2020 and 2021: the convention's annex (`data/demo/populations-annexe-convention.csv`);
//! - the conventions: `data/demo/conventions.json`, written from `FACTS.md`;
//! - the diagnostic's figures (annex 1, with the Pas-de-Calais beside the CABBALR where the convention
//!   gives both): `data/demo/diagnostic.csv`;
//! - the facilities the convention names with their commune (centres sociaux, EVS, Maisons des 1000
//!   premiers jours, LAEP and PS Jeunes projects): `data/demo/equipements.csv`; where it gives only a
//!   count (22 EAJE…), the count is an observation of the diagnostic and no facility is invented;
//! - the 2024 bonuses it reports: `data/demo/financements.csv`;
//! - the concertation that prepared it (annex 2: interviews, focus groups, working groups, seminar,
//!   participatory half-days, with only the figures the annex gives): `data/demo/concertation.json`;
//! - each party's commitments, quoted from art. 6 (« les collectivités » read as the CABBALR and the
//!   Département): `data/demo/engagements.json`;
//! - the evaluation of the CTG 2021-2025 that annex 2 reports, as that convention's final bilan per
//!   theme: objectives and fiches, réussites, points d'attention, habitants' concerns and declared
//!   figures, as the text gives them (`data/demo/bilan-ctg-2021-2025.json`; the plan of the
//!   CTG 2026-2030 is to be entered by its users: annex 4 is not in the text).
//!
//! What the scanned text leaves uncertain, and the figures it gives that the demo does not enter, are
//! listed in `data/demo/NOTES.md`.

use anyhow::{Context, Result};
use ctg_domain::Vintage;
use ctg_store::Store;

pub const COMMUNES_JSON: &[u8] = include_bytes!("../../../data/decoupage-administratif-6.0.0-extrait/communes.json");
pub const EPCI_JSON: &[u8] = include_bytes!("../../../data/decoupage-administratif-6.0.0-extrait/epci.json");
pub const POPULATIONS_CSV: &[u8] = include_bytes!("../../../data/demo/populations-annexe-convention.csv");
pub const CONVENTIONS_JSON: &[u8] = include_bytes!("../../../data/demo/conventions.json");
pub const DIAGNOSTIC_CSV: &[u8] = include_bytes!("../../../data/demo/diagnostic.csv");
pub const FACILITIES_CSV: &[u8] = include_bytes!("../../../data/demo/equipements.csv");
pub const FUNDING_CSV: &[u8] = include_bytes!("../../../data/demo/financements.csv");
pub const CONCERTATION_JSON: &[u8] = include_bytes!("../../../data/demo/concertation.json");
pub const PREDECESSOR_BILAN_JSON: &[u8] = include_bytes!("../../../data/demo/bilan-ctg-2021-2025.json");
pub const COMMITMENTS_JSON: &[u8] = include_bytes!("../../../data/demo/engagements.json");

pub const DECOUPAGE_SOURCE: &str = "@etalab/decoupage-administratif 6.0.0";
pub const ANNEX_SOURCE: &str = "Annexe « Territoire couvert » de la CTG 2026-2030";

/// What loading the demo did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemoOutcome {
    Loaded { convention_id: i64 },
    AlreadyThere { convention_id: i64 },
}

impl DemoOutcome {
    pub fn convention_id(&self) -> i64 {
        match self {
            Self::Loaded { convention_id } | Self::AlreadyThere { convention_id } => *convention_id,
        }
    }
}

/// Loads the demo. Idempotent: when its convention is already there, nothing is written.
pub async fn load(store: &Store) -> Result<DemoOutcome> {
    let conventions = ctg_import::convention::parse("conventions.json", CONVENTIONS_JSON)?;
    let main = conventions.last().context("la démonstration ne contient aucune convention")?;
    if let Some(id) = store.find_convention(&main.epci, &main.title).await? {
        return Ok(DemoOutcome::AlreadyThere { convention_id: id });
    }
    let territory = ctg_import::decoupage::parse(
        "communes.json",
        COMMUNES_JSON,
        "epci.json",
        EPCI_JSON,
        Vintage::new(2022)?,
        DECOUPAGE_SOURCE,
    )?;
    let actor = ctg_domain::Actor::system("chargement de la démonstration");
    store.import_territory(&actor, &territory.batch, &|_| {}).await?;
    let rows = ctg_import::populations::parse("populations-annexe-convention.csv", POPULATIONS_CSV)?;
    let records: Vec<_> = rows.into_iter().map(|r| r.record).collect();
    store.upsert_populations(&actor, &records, ANNEX_SOURCE).await?;
    let observations = ctg_import::observations::parse("diagnostic.csv", DIAGNOSTIC_CSV)?;
    store.import_observations(&actor, &observations, "diagnostic de la CTG 2026-2030 (FACTS)").await?;
    let ids = store.create_conventions(&actor, &conventions, None).await?;
    let convention_id = *ids.last().context("aucune convention créée")?;
    let types = store.facility_types().await?;
    let facilities = ctg_import::facilities::parse("equipements.csv", FACILITIES_CSV, &types)?;
    let facilities: Vec<_> = facilities.into_iter().map(|r| (r.place.to_string(), r.value)).collect();
    store.import_facilities(&actor, &facilities, "offre de services de la CTG 2026-2030 (FACTS)").await?;
    let funding = ctg_import::funding::parse("financements.csv", FUNDING_CSV)?;
    let funding: Vec<_> =
        funding.into_iter().map(|r| (r.place.to_string(), r.value.facility, r.value.funding)).collect();
    store.import_funding(&actor, convention_id, &funding, "bonus 2024 de la CTG 2026-2030 (FACTS)").await?;
    let concertation = ctg_store::parse_concertation("concertation.json", CONCERTATION_JSON)?;
    store.import_concertation(&actor, convention_id, &concertation.entries).await?;
    let commitments = demo_commitments(&store.party_refs(convention_id).await?)?;
    store.create_commitments(&actor, convention_id, &commitments).await?;
    let predecessor = *ids.first().context("aucune convention créée")?;
    for review in predecessor_bilan()? {
        store.save_review(&actor, predecessor, &review, None).await?;
    }
    Ok(DemoOutcome::Loaded { convention_id })
}

/// The CTG 2021-2025's final bilan per theme, as annex 2 gives it (`bilan-ctg-2021-2025.json`).
pub fn predecessor_bilan() -> Result<Vec<ctg_store::Review>> {
    let bilan: serde_json::Value =
        serde_json::from_slice(PREDECESSOR_BILAN_JSON).context("bilan-ctg-2021-2025.json illisible")?;
    let parts = bilan["volets"].as_array().context("bilan-ctg-2021-2025.json : « volets » manque")?;
    parts
        .iter()
        .map(|part| {
            let text = |key: &str| -> Result<String> {
                part[key]
                    .as_str()
                    .map(str::to_owned)
                    .with_context(|| format!("bilan-ctg-2021-2025.json : « {key} » manque"))
            };
            Ok(ctg_store::Review {
                year: None,
                scope: ctg_store::ReviewScope::Theme(text("theme")?),
                done: text("fait")?,
                successes: text("reussites")?,
                attention: text("points_attention")?,
                concerns: text("preoccupations")?,
                declared: part["chiffres"].clone(),
            })
        })
        .collect()
}

/// The commitments of `data/demo/engagements.json`, each tied to the party it names.
fn demo_commitments(parties: &[ctg_domain::funds::PartyRef]) -> Result<Vec<ctg_domain::funds::Commitment>> {
    let file: serde_json::Value = serde_json::from_slice(COMMITMENTS_JSON).context("engagements.json illisible")?;
    let entries = file["engagements"].as_array().context("engagements.json : la liste « engagements » manque")?;
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let field = |k: &str| {
                e[k].as_str()
                    .map(str::to_owned)
                    .with_context(|| format!("engagements.json, engagement {} : « {k} » manque", i + 1))
            };
            let party = ctg_domain::funds::match_party(parties, &field("partie")?)
                .map_err(|m| anyhow::anyhow!("engagements.json, engagement {} : {m}", i + 1))?;
            Ok(ctg_domain::funds::Commitment {
                party_id: party.id,
                text: field("texte")?,
                source: field("source")?,
                ambition: None,
            })
        })
        .collect()
}
