//! The means of a fiche, replaced as a whole.

use ctg_domain::plan::Means;
use ctg_domain::Actor;
use serde_json::{json, Value};

use super::check_means;
use crate::audit::{record, Change};
use crate::{with_db, Result, Store, StoreError};

fn means_audit(means: &[Means]) -> Value {
    Value::Array(
        means
            .iter()
            .map(|m| {
                json!({
                    "partie_id": m.party_id,
                    "organisation": m.organisation,
                    "annee": m.year,
                    "etp_centiemes": m.fte_hundredths,
                    "prevu_centimes": m.planned_cents,
                    "depense_centimes": m.spent_cents,
                    "nature": m.kind.code(),
                    "materiel": m.material,
                })
            })
            .collect(),
    )
}

impl Store {
    /// Replaces all the means of a fiche (each checked with [`Means::check`], its party one of the
    /// convention's; one line at most per party, year and kind). Refused whole otherwise.
    pub async fn set_means(&self, actor: &Actor, convention_id: i64, fiche_id: i64, means: &[Means]) -> Result<()> {
        let parties = self.party_refs(convention_id).await?;
        let means = check_means(means, &parties).map_err(|p| StoreError::Invalid(p.join(" ; ")))?;
        let current = self.fiche(convention_id, fiche_id).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            replace_means!(&mut *tx, fiche_id, &means);
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "moyens",
                object_id: fiche_id.to_string(),
                object_label: format!("moyens de la fiche {}", current.fiche.code),
                action: "modification",
                before: Some(means_audit(&current.means)),
                after: Some(means_audit(&means)),
                actor,
            });
            tx.commit().await?;
        });
        Ok(())
    }
}
