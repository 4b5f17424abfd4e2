//! Conventions, their parties, strategy and governance bodies.

use chrono::NaiveDate;
use ctg_domain::{
    Ambition, Approach, Body, BodyKind, Convention, ConventionStatus, NewConvention, Organisation,
    OrganisationKind, Party, PartyRole, Siren, Stake,
};

use crate::{with_db, Result, Store, StoreError};

/// A convention as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConventionSummary {
    pub id: i64,
    pub title: String,
    pub epci_siren: Siren,
    pub epci_name: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub status: ConventionStatus,
    pub version: i64,
}

impl ConventionSummary {
    pub fn convention(&self) -> Convention {
        Convention {
            start: self.start,
            end: self.end,
            status: self.status,
        }
    }
}

/// A link to another convention (predecessor or successor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConventionRef {
    pub id: i64,
    pub title: String,
}

/// A convention with everything issue-level pages show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConventionDetail {
    pub summary: ConventionSummary,
    pub signing_place: Option<String>,
    pub parties: Vec<Party>,
    pub stakes: Vec<Stake>,
    pub approaches: Vec<Approach>,
    pub bodies: Vec<Body>,
    pub predecessor: Option<ConventionRef>,
    pub successors: Vec<ConventionRef>,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: i64,
    title: String,
    epci_siren: String,
    epci_name: String,
    start_date: NaiveDate,
    end_date: NaiveDate,
    status: String,
    version: i64,
}

impl SummaryRow {
    fn into_summary(self) -> Result<ConventionSummary> {
        Ok(ConventionSummary {
            id: self.id,
            epci_siren: Siren::parse(&self.epci_siren)
                .map_err(|e| StoreError::Invalid(e.to_string()))?,
            status: ConventionStatus::parse(&self.status)
                .map_err(|e| StoreError::Invalid(e.to_string()))?,
            title: self.title,
            epci_name: self.epci_name,
            start: self.start_date,
            end: self.end_date,
            version: self.version,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PartyRow {
    name: String,
    short_name: Option<String>,
    kind: String,
    siren: Option<String>,
    address: Option<String>,
    role: String,
    signatory: Option<String>,
    signatory_title: Option<String>,
    deliberation: Option<String>,
    deliberation_date: Option<NaiveDate>,
    signature_date: Option<NaiveDate>,
}

#[derive(sqlx::FromRow)]
struct StrategyRow {
    stake_number: i64,
    stake_title: String,
    stake_description: Option<String>,
    ambition_number: Option<i64>,
    ambition_title: Option<String>,
    ambition_note: Option<String>,
}

const SUMMARY_SELECT: &str =
    "SELECT c.id, c.title, c.epci_siren, e.name AS epci_name, c.start_date, c.end_date, \
     c.status, c.version FROM convention c JOIN epci e ON e.siren = c.epci_siren";

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(e.to_string())
}

impl Store {
    /// Creates a convention with its parties, strategy and bodies in one transaction. Organisations
    /// are matched by name and created when new. Returns the new convention's id.
    pub async fn create_convention(
        &self,
        new: &NewConvention,
        predecessor: Option<i64>,
    ) -> Result<i64> {
        new.validate().map_err(invalid)?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let epci: Option<(String,)> = sqlx::query_as("SELECT siren FROM epci WHERE siren = $1")
                .bind(new.epci.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            if epci.is_none() {
                return Err(StoreError::Invalid(format!(
                    "l'EPCI {} est inconnu : chargez d'abord le territoire (ctg import territoire)",
                    new.epci
                )));
            }
            if let Some(p) = predecessor {
                let found: Option<(i64,)> = sqlx::query_as("SELECT id FROM convention WHERE id = $1")
                    .bind(p)
                    .fetch_optional(&mut *tx)
                    .await?;
                if found.is_none() {
                    return Err(StoreError::Invalid(format!("la convention précédente n° {p} n'existe pas")));
                }
            }
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO convention (title, epci_siren, start_date, end_date, status, signing_place, predecessor_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(new.title.trim())
            .bind(new.epci.as_str())
            .bind(new.start)
            .bind(new.end)
            .bind(new.status.code())
            .bind(new.signing_place.as_deref())
            .bind(predecessor)
            .fetch_one(&mut *tx)
            .await?;

            for (position, party) in new.parties.iter().enumerate() {
                let o = &party.organisation;
                let (org_id,): (i64,) = sqlx::query_as(
                    "INSERT INTO organisation (name, short_name, kind, siren, address) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (name) DO UPDATE SET \
                       short_name = COALESCE(excluded.short_name, organisation.short_name), \
                       kind = excluded.kind, \
                       siren = COALESCE(excluded.siren, organisation.siren), \
                       address = COALESCE(excluded.address, organisation.address) \
                     RETURNING id",
                )
                .bind(o.name.trim())
                .bind(o.short_name.as_deref())
                .bind(o.kind.code())
                .bind(o.siren.as_ref().map(Siren::as_str))
                .bind(o.address.as_deref())
                .fetch_one(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO party (convention_id, organisation_id, position, role, signatory, signatory_title, \
                     deliberation, deliberation_date, signature_date) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(id)
                .bind(org_id)
                .bind(position as i64)
                .bind(party.role.code())
                .bind(party.signatory.as_deref())
                .bind(party.signatory_title.as_deref())
                .bind(party.deliberation.as_deref())
                .bind(party.deliberation_date)
                .bind(party.signature_date)
                .execute(&mut *tx)
                .await
                .map_err(|e| match e.as_database_error().map(|d| d.kind()) {
                    Some(sqlx::error::ErrorKind::UniqueViolation) => StoreError::Invalid(format!(
                        "l'organisation « {} » figure deux fois parmi les parties",
                        o.name
                    )),
                    _ => StoreError::Database(e),
                })?;
            }

            for stake in &new.stakes {
                let (stake_id,): (i64,) = sqlx::query_as(
                    "INSERT INTO stake (convention_id, number, title, description) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(id)
                .bind(stake.number)
                .bind(stake.title.trim())
                .bind(stake.description.as_deref())
                .fetch_one(&mut *tx)
                .await?;
                for a in &stake.ambitions {
                    sqlx::query(
                        "INSERT INTO ambition (convention_id, stake_id, number, title, note) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(id)
                    .bind(stake_id)
                    .bind(a.number)
                    .bind(a.title.trim())
                    .bind(a.note.as_deref())
                    .execute(&mut *tx)
                    .await?;
                }
            }
            for (position, a) in new.approaches.iter().enumerate() {
                sqlx::query("INSERT INTO approach (convention_id, position, title, description) VALUES ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(position as i64)
                    .bind(a.title.trim())
                    .bind(a.description.as_deref())
                    .execute(&mut *tx)
                    .await?;
            }
            for (position, b) in new.bodies.iter().enumerate() {
                sqlx::query("INSERT INTO body (convention_id, position, kind, name, description) VALUES ($1, $2, $3, $4, $5)")
                    .bind(id)
                    .bind(position as i64)
                    .bind(b.kind.code())
                    .bind(b.name.trim())
                    .bind(b.description.as_deref())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(id)
        })
    }

    /// All conventions, the most recent first.
    pub async fn conventions(&self) -> Result<Vec<ConventionSummary>> {
        let rows: Vec<SummaryRow> = with_db!(self, pool => {
            sqlx::query_as(&format!("{SUMMARY_SELECT} ORDER BY c.start_date DESC, c.id DESC"))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(SummaryRow::into_summary).collect()
    }

    /// The id of a convention of this title on this EPCI, if there is one.
    pub async fn find_convention(&self, epci: &Siren, title: &str) -> Result<Option<i64>> {
        with_db!(self, pool => {
            let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM convention WHERE epci_siren = $1 AND title = $2")
                .bind(epci.as_str())
                .bind(title)
                .fetch_optional(pool)
                .await?;
            Ok(row.map(|r| r.0))
        })
    }

    pub async fn convention_summary(&self, id: i64) -> Result<ConventionSummary> {
        let row: Option<SummaryRow> = with_db!(self, pool => {
            sqlx::query_as(&format!("{SUMMARY_SELECT} WHERE c.id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| StoreError::NotFound(format!("la convention n° {id}")))?
            .into_summary()
    }

    /// A convention with its parties, strategy, bodies and links to the conventions before and after it.
    pub async fn convention(&self, id: i64) -> Result<ConventionDetail> {
        let summary = self.convention_summary(id).await?;
        let (signing, parties, strategy, approaches, bodies, predecessor, successors) = with_db!(self, pool => {
            let signing: (Option<String>, Option<i64>) =
                sqlx::query_as("SELECT signing_place, predecessor_id FROM convention WHERE id = $1")
                    .bind(id)
                    .fetch_one(pool)
                    .await?;
            let parties: Vec<PartyRow> = sqlx::query_as(
                "SELECT o.name, o.short_name, o.kind, o.siren, o.address, p.role, p.signatory, p.signatory_title, \
                 p.deliberation, p.deliberation_date, p.signature_date \
                 FROM party p JOIN organisation o ON o.id = p.organisation_id \
                 WHERE p.convention_id = $1 ORDER BY p.position",
            )
            .bind(id)
            .fetch_all(pool)
            .await?;
            let strategy: Vec<StrategyRow> = sqlx::query_as(
                "SELECT s.number AS stake_number, s.title AS stake_title, s.description AS stake_description, \
                 a.number AS ambition_number, a.title AS ambition_title, a.note AS ambition_note \
                 FROM stake s LEFT JOIN ambition a ON a.stake_id = s.id \
                 WHERE s.convention_id = $1 ORDER BY s.number, a.number",
            )
            .bind(id)
            .fetch_all(pool)
            .await?;
            let approaches: Vec<(String, Option<String>)> = sqlx::query_as(
                "SELECT title, description FROM approach WHERE convention_id = $1 ORDER BY position",
            )
            .bind(id)
            .fetch_all(pool)
            .await?;
            let bodies: Vec<(String, String, Option<String>)> = sqlx::query_as(
                "SELECT kind, name, description FROM body WHERE convention_id = $1 ORDER BY position",
            )
            .bind(id)
            .fetch_all(pool)
            .await?;
            let predecessor: Option<(i64, String)> = match signing.1 {
                Some(p) => sqlx::query_as("SELECT id, title FROM convention WHERE id = $1")
                    .bind(p)
                    .fetch_optional(pool)
                    .await?,
                None => None,
            };
            let successors: Vec<(i64, String)> =
                sqlx::query_as("SELECT id, title FROM convention WHERE predecessor_id = $1 ORDER BY start_date")
                    .bind(id)
                    .fetch_all(pool)
                    .await?;
            (signing.0, parties, strategy, approaches, bodies, predecessor, successors)
        });

        let parties = parties
            .into_iter()
            .map(|r| {
                Ok(Party {
                    organisation: Organisation {
                        name: r.name,
                        short_name: r.short_name,
                        kind: OrganisationKind::parse(&r.kind).map_err(invalid)?,
                        siren: r
                            .siren
                            .as_deref()
                            .map(Siren::parse)
                            .transpose()
                            .map_err(invalid)?,
                        address: r.address,
                    },
                    role: PartyRole::parse(&r.role).map_err(invalid)?,
                    signatory: r.signatory,
                    signatory_title: r.signatory_title,
                    deliberation: r.deliberation,
                    deliberation_date: r.deliberation_date,
                    signature_date: r.signature_date,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut stakes: Vec<Stake> = Vec::new();
        for r in strategy {
            if stakes.last().is_none_or(|s| s.number != r.stake_number) {
                stakes.push(Stake {
                    number: r.stake_number,
                    title: r.stake_title,
                    description: r.stake_description,
                    ambitions: Vec::new(),
                });
            }
            if let (Some(number), Some(title), Some(s)) =
                (r.ambition_number, r.ambition_title, stakes.last_mut())
            {
                s.ambitions.push(Ambition {
                    number,
                    title,
                    note: r.ambition_note,
                });
            }
        }
        let bodies = bodies
            .into_iter()
            .map(|(kind, name, description)| {
                Ok(Body {
                    kind: BodyKind::parse(&kind).map_err(invalid)?,
                    name,
                    description,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ConventionDetail {
            summary,
            signing_place: signing,
            parties,
            stakes,
            approaches: approaches
                .into_iter()
                .map(|(title, description)| Approach { title, description })
                .collect(),
            bodies,
            predecessor: predecessor.map(|(id, title)| ConventionRef { id, title }),
            successors: successors
                .into_iter()
                .map(|(id, title)| ConventionRef { id, title })
                .collect(),
        })
    }
}
