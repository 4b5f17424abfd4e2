//! What pages and API share: the territory of a convention, loaded and computed once.

use ctg_domain::{
    commune_change, territory_totals, Change, CommunePopulations, Vintage, VintageTotals,
};
use ctg_store::{ConventionSummary, EpciDetail};

use crate::{AppState, WebError};

/// The territory of a convention: its EPCI's communes, their populations per vintage, the totals
/// and the changes between vintages.
pub struct Territory {
    pub convention: ConventionSummary,
    pub epci: EpciDetail,
    pub vintages: Vec<Vintage>,
    pub totals: Vec<VintageTotals>,
    pub changes: Vec<Change>,
}

impl Territory {
    pub async fn load(state: &AppState, id: i64) -> Result<Self, WebError> {
        let convention = state.store.convention_summary(id).await?;
        let epci = state.store.epci(&convention.epci_siren).await?;
        let vintages = epci.vintages();
        let (totals, changes) = territory_totals(&epci.communes, &vintages);
        Ok(Self {
            convention,
            epci,
            vintages,
            totals,
            changes,
        })
    }

    /// The change of a commune's total population between the first and the last vintage.
    pub fn commune_change(&self, c: &CommunePopulations) -> Option<Change> {
        match (self.vintages.first(), self.vintages.last()) {
            (Some(&a), Some(&b)) if a != b => commune_change(c, a, b),
            _ => None,
        }
    }
}

/// Parses a convention id from a path; anything but a positive integer is an unknown convention.
pub fn convention_id(raw: &str) -> Result<i64, WebError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| WebError::NotFound(format!("la convention « {raw} » n'existe pas")))
}
