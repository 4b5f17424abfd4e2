//! The communes that transferred the competence of the service public de la petite enfance to their
//! EPCI (`sppe_competence`).

use ctg_domain::{Actor, InseeCode, Siren};
use serde_json::json;

use crate::audit::{record, Change};
use crate::{with_db, Result, Store, StoreError};

impl Store {
    /// The communes of `epci` that transferred the SPPE competence to it, by code.
    pub async fn sppe_transfers(&self, epci: &Siren) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = with_db!(self, pool => {
            sqlx::query_as("SELECT commune_code FROM sppe_competence WHERE epci_siren = $1 ORDER BY commune_code")
                .bind(epci.as_str())
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(c,)| c).collect())
    }

    /// Replaces the communes of `epci` that transferred the SPPE competence (members only).
    pub async fn set_sppe_transfers(&self, actor: &Actor, epci: &Siren, communes: &[InseeCode]) -> Result<()> {
        let members: Vec<String> = self.epci(epci).await?.communes.iter().map(|c| c.code.to_string()).collect();
        let strangers: Vec<String> =
            communes.iter().map(ToString::to_string).filter(|c| !members.contains(c)).collect();
        if !strangers.is_empty() {
            return Err(StoreError::Invalid(format!(
                "ces communes ne sont pas membres de l'intercommunalité : {}",
                strangers.join(", ")
            )));
        }
        let before = self.sppe_transfers(epci).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM sppe_competence WHERE epci_siren = $1").bind(epci.as_str()).execute(&mut *tx).await?;
            for c in communes {
                sqlx::query("INSERT INTO sppe_competence (epci_siren, commune_code) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(epci.as_str())
                    .bind(c.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
            record!(&mut *tx, &Change {
                convention_id: None,
                object_type: "competence_sppe",
                object_id: epci.to_string(),
                object_label: format!("compétence petite enfance transférée à l'EPCI {epci}"),
                action: "modification",
                before: Some(json!({"communes": before})),
                after: Some(json!({"communes": communes.iter().map(ToString::to_string).collect::<Vec<_>>()})),
                actor,
            });
            tx.commit().await?;
        });
        Ok(())
    }
}
