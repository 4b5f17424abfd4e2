//! What the tests share: the files of the repository's `data` directory, the territory of the demo
//! and its conventions.

use ctg_domain::{Actor, Siren, TerritoryBatch, Vintage};
use ctg_store::Store;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data");

/// A file of the repository's `data` directory.
pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}/{rel}")).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The author of the tests' writes: the command line.
pub fn actor() -> Actor {
    Actor::cli("test")
}

/// The extract of the découpage administratif (2022 vintage): 172 communes and 4 EPCI.
pub fn territory() -> TerritoryBatch {
    ctg_import::decoupage::parse(
        "communes.json",
        &read("decoupage-administratif-6.0.0-extrait/communes.json"),
        "epci.json",
        &read("decoupage-administratif-6.0.0-extrait/epci.json"),
        Vintage::new(2022).unwrap(),
        "test",
    )
    .unwrap()
    .batch
}

pub async fn load_territory(store: &Store) {
    store.import_territory(&actor(), &territory(), &|_| {}).await.unwrap();
}

/// Loads the territory and the demo conventions; evaluates to the id of the CTG 2026-2030 (three
/// stakes, ambitions 1 to 8, four bodies of art. 7-a).
pub async fn demo(store: &Store) -> i64 {
    load_territory(store).await;
    let new = ctg_import::convention::parse("c.json", &read("demo/conventions.json")).unwrap();
    *store.create_conventions(&actor(), &new, None).await.unwrap().last().unwrap()
}

/// The demonstration's conventions as drafts that nobody has signed: their title, dates, parties and
/// strategy may still be edited directly (art. 12 locks them once every party has signed).
pub async fn demo_draft(store: &Store) -> i64 {
    load_territory(store).await;
    let mut new = ctg_import::convention::parse("c.json", &read("demo/conventions.json")).unwrap();
    for c in &mut new {
        c.status = ctg_domain::ConventionStatus::Draft;
        for p in &mut c.parties {
            (p.signature_date, p.signature_month_only) = (None, false);
        }
    }
    *store.create_conventions(&actor(), &new, None).await.unwrap().last().unwrap()
}

/// The Communauté d'agglomération de Béthune-Bruay, Artois-Lys Romane.
pub fn cabbalr() -> Siren {
    Siren::parse("200072460").unwrap()
}
