//! The governance of a convention in storage: its bodies (the `body` rows the convention import
//! fills, and those added later) and their members; the meetings of a body with their agenda,
//! attendance, decisions and minutes; the concertation that prepared the convention, with its
//! contributions; the coordination posts of art. 7-b. Every write is one transaction with its audit
//! entry; edits are made from the version read, and a stale version is refused.
//!
//! Every function takes the convention the object must belong to, so that an id taken from another
//! convention is not found.

mod bodies;
mod concertation;
mod cooperation;
mod decisions;
mod meetings;

pub use bodies::BodyRecord;
pub use concertation::{parse_concertation, ConcertationEntry, ConcertationFile, ConcertationImport};
pub use decisions::OpenDecision;

use std::collections::BTreeSet;

use ctg_domain::format::date_short;
use ctg_domain::governance::NewMeeting;

use crate::conn::{with_conn, Conn};
use crate::{Result, StoreError};

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(e.to_string())
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} « {value} »"))
}

impl Conn<'_> {
    /// The ids of the fiches, indicators and documents of the convention, to check links against.
    async fn plan_ids(&mut self, convention_id: i64) -> Result<(BTreeSet<i64>, BTreeSet<i64>, BTreeSet<i64>)> {
        with_conn!(self, c => {
            let fiches: Vec<(i64,)> = sqlx::query_as("SELECT id FROM fiche WHERE convention_id = $1")
                .bind(convention_id)
                .fetch_all(&mut *c)
                .await?;
            let indicators: Vec<(i64,)> = sqlx::query_as("SELECT id FROM plan_indicator WHERE convention_id = $1")
                .bind(convention_id)
                .fetch_all(&mut *c)
                .await?;
            let documents: Vec<(i64,)> = sqlx::query_as("SELECT id FROM document WHERE convention_id = $1")
                .bind(convention_id)
                .fetch_all(&mut *c)
                .await?;
            let set = |v: Vec<(i64,)>| v.into_iter().map(|r| r.0).collect::<BTreeSet<i64>>();
            Ok((set(fiches), set(indicators), set(documents)))
        })
    }

    async fn check_fiches(&mut self, convention_id: i64, fiches: &[i64]) -> Result<()> {
        if fiches.is_empty() {
            return Ok(());
        }
        let (known, _, _) = self.plan_ids(convention_id).await?;
        let unknown: Vec<String> = fiches.iter().filter(|f| !known.contains(f)).map(|f| format!("n° {f}")).collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(invalid(format!("fiche(s) inconnue(s) dans cette convention : {}", unknown.join(", "))))
        }
    }
}

/// « Comité technique opérationnel du 12/03/2026 ».
fn meeting_label(body_name: &str, m: &NewMeeting) -> String {
    format!("{body_name} du {}", date_short(m.date))
}
