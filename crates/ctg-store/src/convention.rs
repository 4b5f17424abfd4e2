//! Conventions, their parties, strategy and governance bodies.

use chrono::NaiveDate;
use ctg_domain::access::Role;
use ctg_domain::{
    check_period, Actor, Ambition, Approach, Body, BodyKind, ConventionStatus, NewConvention, Organisation,
    OrganisationKind, Party, PartyRole, Siren, Stake,
};
use serde_json::json;

use crate::audit::{record, Change};
use crate::conn::{with_conn, Conn};
use crate::versioned::{Loaded, Versioned};
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
    pub published: bool,
    pub version: i64,
}

/// Where a convention reaches: the départements of its EPCI's communes, the organisations of its
/// parties (in the parties' order).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConventionReach {
    pub departments: Vec<String>,
    pub organisations: Vec<OrganisationRef>,
}

/// An organisation as lists name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganisationRef {
    pub id: i64,
    pub name: String,
    pub short_name: Option<String>,
}

/// `(convention, organisation, name, short name)` of a party.
type PartyOrganisationRow = (i64, i64, String, Option<String>);

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
    pub parties: Vec<PartyEntry>,
    pub stakes: Vec<Stake>,
    pub approaches: Vec<Approach>,
    pub bodies: Vec<Body>,
    pub predecessor: Option<ConventionRef>,
    pub successors: Vec<ConventionRef>,
}

impl ConventionDetail {
    /// Whether the convention is signed by all its signatories (or recorded as signed or terminated):
    /// its text, dates, parties and strategy then change only by avenant (art. 12).
    pub fn is_locked(&self) -> bool {
        let signed: Vec<bool> = self
            .parties
            .iter()
            .filter(|p| p.party.role == PartyRole::Signatory)
            .map(|p| p.party.signature_date.is_some())
            .collect();
        ctg_domain::life::text_locked(self.summary.status, &signed)
    }
}

/// A party as stored: its id and version, for editing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyEntry {
    pub id: i64,
    pub organisation_id: i64,
    pub version: i64,
    pub party: Party,
}

/// What a coordinator may change of a convention itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConventionEdit {
    pub title: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub status: ConventionStatus,
    pub signing_place: Option<String>,
    pub published: bool,
}

impl ConventionEdit {
    fn audit_value(&self) -> serde_json::Value {
        json!({
            "titre": self.title,
            "debut": self.start.to_string(),
            "fin": self.end.to_string(),
            "statut": self.status.code(),
            "lieu_signature": self.signing_place,
            "publiee": self.published,
        })
    }
}

/// What may change of a party: who signs, under which deliberation, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyEdit {
    pub signatory: Option<String>,
    pub signatory_title: Option<String>,
    pub deliberation: Option<String>,
    pub deliberation_date: Option<NaiveDate>,
    pub signature_date: Option<NaiveDate>,
    /// Whether only the month of the signature is known.
    pub signature_month_only: bool,
}

impl PartyEdit {
    fn of(p: &Party) -> Self {
        Self {
            signatory: p.signatory.clone(),
            signatory_title: p.signatory_title.clone(),
            deliberation: p.deliberation.clone(),
            deliberation_date: p.deliberation_date,
            signature_date: p.signature_date,
            signature_month_only: p.signature_month_only,
        }
    }

    fn audit_value(&self) -> serde_json::Value {
        json!({
            "signataire": self.signatory,
            "qualite": self.signatory_title,
            "deliberation": self.deliberation,
            "deliberation_date": self.deliberation_date.map(|d| d.to_string()),
            "signature_date": self.signature_date.map(|d| d.to_string()),
            "signature_au_mois": self.signature_month_only,
        })
    }
}

fn clean(s: &Option<String>) -> Option<String> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
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
    published: bool,
    version: i64,
}

impl SummaryRow {
    fn into_summary(self) -> Result<ConventionSummary> {
        Ok(ConventionSummary {
            id: self.id,
            epci_siren: Siren::parse(&self.epci_siren).map_err(|e| StoreError::Invalid(e.to_string()))?,
            status: ConventionStatus::parse(&self.status).map_err(|e| StoreError::Invalid(e.to_string()))?,
            published: self.published,
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
    id: i64,
    organisation_id: i64,
    version: i64,
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
    signature_month_only: bool,
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

/// The columns of a [`SummaryRow`], as a literal for `concat!`.
macro_rules! summary_columns {
    () => {
        "c.id, c.title, c.epci_siren, e.name AS epci_name, c.start_date, c.end_date, c.status, c.published, c.version"
    };
}
const SUMMARY_SELECT: &str =
    concat!("SELECT ", summary_columns!(), " FROM convention c JOIN epci e ON e.siren = c.epci_siren");

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(e.to_string())
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl Store {
    /// Creates a convention; see [`Store::create_conventions`].
    pub async fn create_convention(&self, actor: &Actor, new: &NewConvention, predecessor: Option<i64>) -> Result<i64> {
        let ids = self.create_conventions(actor, std::slice::from_ref(new), predecessor).await?;
        Ok(ids[0])
    }

    /// Creates conventions with their parties, strategy and bodies, all in one transaction: all of
    /// them or none. Organisations are matched by name and created when new. A convention's
    /// predecessor is `predecessor` when given, else the convention named by its `precedente` on the
    /// same EPCI (earlier in the list or already stored). A title already used on the EPCI is refused.
    pub async fn create_conventions(
        &self,
        actor: &Actor,
        list: &[NewConvention],
        predecessor: Option<i64>,
    ) -> Result<Vec<i64>> {
        for new in list {
            new.validate().map_err(|e| StoreError::Invalid(format!("« {} » : {e}", new.title)))?;
        }
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut ids = Vec::with_capacity(list.len());
            for new in list {
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
                let title = new.title.trim();
                let same: Option<(i64,)> = sqlx::query_as("SELECT id FROM convention WHERE epci_siren = $1 AND title = $2")
                    .bind(new.epci.as_str())
                    .bind(title)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some((id,)) = same {
                    return Err(StoreError::Invalid(format!(
                        "une convention « {title} » existe déjà sur l'EPCI {} (n° {id})",
                        new.epci
                    )));
                }
                let predecessor = match (predecessor, &new.predecessor) {
                    (Some(p), _) => {
                        let found: Option<(i64,)> = sqlx::query_as("SELECT id FROM convention WHERE id = $1")
                            .bind(p)
                            .fetch_optional(&mut *tx)
                            .await?;
                        if found.is_none() {
                            return Err(StoreError::Invalid(format!("la convention précédente n° {p} n'existe pas")));
                        }
                        Some(p)
                    }
                    (None, Some(before)) => {
                        let found: Option<(i64,)> =
                            sqlx::query_as("SELECT id FROM convention WHERE epci_siren = $1 AND title = $2")
                                .bind(new.epci.as_str())
                                .bind(before.trim())
                                .fetch_optional(&mut *tx)
                                .await?;
                        match found {
                            Some((id,)) => Some(id),
                            None => {
                                return Err(StoreError::Invalid(format!(
                                    "« {title} » : la convention précédente « {before} » est introuvable sur l'EPCI {}",
                                    new.epci
                                )))
                            }
                        }
                    }
                    (None, None) => None,
                };
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO convention (title, epci_siren, start_date, end_date, status, signing_place, predecessor_id, published) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                )
                .bind(title)
                .bind(new.epci.as_str())
                .bind(new.start)
                .bind(new.end)
                .bind(new.status.code())
                .bind(new.signing_place.as_deref())
                .bind(predecessor)
                .bind(new.published)
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
                         deliberation, deliberation_date, signature_date, signature_month_only) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
                    .bind(party.signature_month_only)
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
                let mut after = serde_json::to_value(new).map_err(|e| StoreError::Invalid(e.to_string()))?;
                after["predecessor_id"] = json!(predecessor);
                record!(&mut *tx, &Change {
                    convention_id: Some(id),
                    object_type: "convention",
                    object_id: id.to_string(),
                    object_label: title.to_owned(),
                    action: "creation",
                    before: None,
                    after: Some(after),
                    actor,
                });
                ids.push(id);
            }
            tx.commit().await?;
            Ok(ids)
        })
    }

    /// Changes a convention's title, period, status, place of signature and publication, from the
    /// version the user read. A stale version is refused and nothing is written.
    pub async fn update_convention(&self, actor: &Actor, id: i64, version: i64, edit: &ConventionEdit) -> Result<i64> {
        let title = edit.title.trim();
        if title.is_empty() {
            return Err(StoreError::Invalid("le titre de la convention est vide".into()));
        }
        check_period(edit.start, edit.end).map_err(invalid)?;
        let edit =
            ConventionEdit { title: title.to_owned(), signing_place: clean(&edit.signing_place), ..edit.clone() };
        self.versioned_write(
            Versioned { table: "convention", id, version: Some(version) },
            async |c| {
                let current = c.convention(id).await?;
                let before = ConventionEdit {
                    title: current.summary.title.clone(),
                    start: current.summary.start,
                    end: current.summary.end,
                    status: current.summary.status,
                    signing_place: current.signing_place.clone(),
                    published: current.summary.published,
                };
                if edit.status != before.status {
                    return Err(StoreError::Invalid(format!(
                        "le statut ne se modifie pas directement (« {} » demandé) : il découle des signatures des parties \
                         (art. 11, page « Vie de la convention ») et de la résiliation (art. 13)",
                        edit.status.label()
                    )));
                }
                let text_changed = (&edit.title, edit.start, edit.end, &edit.signing_place)
                    != (&before.title, before.start, before.end, &before.signing_place);
                if current.is_locked() && text_changed {
                    return Err(StoreError::Invalid(ctg_domain::life::locked_message(
                        "le titre, les dates ou le lieu de signature (seule la publication se modifie ici)",
                    )));
                }
                Ok(Loaded::new(
                    format!("la convention « {} »", current.summary.title),
                    Change {
                        convention_id: Some(id),
                        object_type: "convention",
                        object_id: id.to_string(),
                        object_label: edit.title.clone(),
                        action: "modification",
                        before: Some(before.audit_value()),
                        after: Some(edit.audit_value()),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query(
                        "UPDATE convention SET title = $1, start_date = $2, end_date = $3, status = $4, signing_place = $5, \
                         published = $6 WHERE id = $7",
                    )
                    .bind(&edit.title)
                    .bind(edit.start)
                    .bind(edit.end)
                    .bind(edit.status.code())
                    .bind(edit.signing_place.as_deref())
                    .bind(edit.published)
                    .bind(id)
                    .execute(&mut *c)
                    .await?;
                });
                Ok(())
            },
        )
        .await
    }

    /// Changes who signs for a party, under which deliberation and when, from the version read.
    pub async fn update_party(
        &self,
        actor: &Actor,
        convention_id: i64,
        party_id: i64,
        version: i64,
        edit: &PartyEdit,
    ) -> Result<i64> {
        let mut edit = edit.clone();
        {
            use ctg_domain::text::{clean_opt, TextKind::*};
            clean_opt("signataire", &mut edit.signatory, Name)
                .and_then(|()| clean_opt("qualité du signataire", &mut edit.signatory_title, Name))
                .and_then(|()| clean_opt("délibération", &mut edit.deliberation, Title))
                .map_err(StoreError::Invalid)?;
        }
        self.versioned_write(
            Versioned { table: "party", id: party_id, version: Some(version) },
            async |c| {
                let detail = c.convention(convention_id).await?;
                let entry = detail
                    .parties
                    .iter()
                    .find(|p| p.id == party_id)
                    .ok_or_else(|| StoreError::NotFound(format!("la partie n° {party_id} de cette convention")))?;
                if detail.is_locked() && PartyEdit::of(&entry.party) != edit {
                    return Err(StoreError::Invalid(ctg_domain::life::locked_message(&format!(
                        "le signataire, la délibération ou la date de signature de « {} »",
                        entry.party.organisation.name
                    ))));
                }
                Ok(Loaded::new(
                    format!("la partie « {} »", entry.party.organisation.name),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "partie",
                        object_id: party_id.to_string(),
                        object_label: format!("{} ({})", entry.party.organisation.name, detail.summary.title),
                        action: "modification",
                        before: Some(PartyEdit::of(&entry.party).audit_value()),
                        after: Some(edit.audit_value()),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query(
                        "UPDATE party SET signatory = $1, signatory_title = $2, deliberation = $3, deliberation_date = $4, \
                         signature_date = $5, signature_month_only = $6 WHERE id = $7",
                    )
                    .bind(edit.signatory.as_deref())
                    .bind(edit.signatory_title.as_deref())
                    .bind(edit.deliberation.as_deref())
                    .bind(edit.deliberation_date)
                    .bind(edit.signature_date)
                    .bind(edit.signature_date.is_some() && edit.signature_month_only)
                    .bind(party_id)
                    .execute(&mut *c)
                    .await?;
                });
                Ok(())
            },
        )
        .await
    }

    /// All organisations: id, name and short name, by name.
    pub async fn organisations(&self) -> Result<Vec<(i64, String, Option<String>)>> {
        with_db!(self, pool => {
            Ok(sqlx::query_as("SELECT id, name, short_name FROM organisation ORDER BY name").fetch_all(pool).await?)
        })
    }

    /// The organisation whose name or short name is `name` (case aside).
    pub async fn organisation_named(&self, name: &str) -> Result<i64> {
        // The name as written is the usual case, found by the database without reading every
        // organisation of a national host; the others are compared without case below.
        let exact: Vec<(i64,)> = with_db!(self, pool => {
            sqlx::query_as("SELECT id FROM organisation WHERE name = $1 OR short_name = $1 LIMIT 2")
                .bind(name.trim())
                .fetch_all(pool)
                .await?
        });
        if let [(id,)] = exact.as_slice() {
            return Ok(*id);
        }
        let wanted = name.trim().to_lowercase();
        let all = self.organisations().await?;
        let found: Vec<&(i64, String, Option<String>)> = all
            .iter()
            .filter(|(_, n, s)| n.to_lowercase() == wanted || s.as_deref().is_some_and(|s| s.to_lowercase() == wanted))
            .collect();
        match found.as_slice() {
            [one] => Ok(one.0),
            [] => Err(StoreError::Invalid(format!(
                "aucune organisation ne s'appelle « {} » (organisations connues : {})",
                name.trim(),
                all.iter().map(|(_, n, s)| s.clone().unwrap_or_else(|| n.clone())).collect::<Vec<_>>().join(", ")
            ))),
            _ => Err(StoreError::Invalid(format!(
                "plusieurs organisations répondent à « {} » : donnez le nom complet",
                name.trim()
            ))),
        }
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

    /// The conventions that are published or among `ids` (those where someone has a role), in the
    /// order of [`Store::conventions`]: what a list shows to someone who is not an administrator,
    /// without reading the other conventions of a national host.
    pub async fn conventions_published_or(&self, ids: &[i64]) -> Result<Vec<ConventionSummary>> {
        let rows: Vec<SummaryRow> = with_db!(self, pool => {
            let mut q = sqlx::QueryBuilder::new(format!("{SUMMARY_SELECT} WHERE c.published"));
            for chunk in ids.chunks(500) {
                q.push(" OR c.id IN (");
                let mut list = q.separated(", ");
                for &id in chunk {
                    list.push_bind(id);
                }
                q.push(")");
            }
            q.push(" ORDER BY c.start_date DESC, c.id DESC");
            q.build_query_as().fetch_all(pool).await?
        });
        rows.into_iter().map(SummaryRow::into_summary).collect()
    }

    /// The conventions where `user_id` has a role, with that role, and the published ones (without a
    /// role): what a person other than an administrator may see in a list, read in one query.
    pub async fn conventions_of_user_or_published(
        &self,
        user_id: i64,
    ) -> Result<(Vec<ConventionSummary>, std::collections::HashMap<i64, Role>)> {
        #[derive(sqlx::FromRow)]
        struct RoleRow {
            #[sqlx(flatten)]
            summary: SummaryRow,
            role: Option<String>,
        }
        // The conventions of the person's roles, then the published others; by start, the latest first
        // (columns 5 and 1), as `conventions_published_or`.
        const SQL: &str = concat!(
            "SELECT ",
            summary_columns!(),
            ", r.role FROM convention c JOIN epci e ON e.siren = c.epci_siren \
             JOIN convention_role r ON r.convention_id = c.id WHERE r.user_id = $1 UNION ALL SELECT ",
            summary_columns!(),
            ", NULL FROM convention c JOIN epci e ON e.siren = c.epci_siren WHERE c.published AND NOT EXISTS \
             (SELECT 1 FROM convention_role r WHERE r.convention_id = c.id AND r.user_id = $1) \
             ORDER BY 5 DESC, 1 DESC"
        );
        let rows: Vec<RoleRow> = with_db!(self, pool => {
            sqlx::query_as(SQL)
            .bind(user_id)
            .fetch_all(pool)
            .await?
        });
        let mut roles = std::collections::HashMap::new();
        let mut list = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(r) = &row.role {
                let role = Role::parse(r).map_err(|_| StoreError::Corrupt(format!("rôle « {r} »")))?;
                roles.insert(row.summary.id, role);
            }
            list.push(row.summary.into_summary()?);
        }
        Ok((list, roles))
    }

    /// Where each convention of `ids` reaches, for the lists that cover many conventions (the
    /// portfolio): the départements of its EPCI's communes and the organisations that are its parties,
    /// in two queries.
    pub async fn convention_reach(&self, ids: &[i64]) -> Result<std::collections::HashMap<i64, ConventionReach>> {
        let stamps = self.write_stamps(ids).await?;
        self.convention_reach_at(ids, &stamps).await
    }

    /// [`Store::convention_reach`] with the write stamps of `ids` already read: what was read at the
    /// same stamp is served from memory (its parties are the convention's, its départements come from
    /// the territory, whose imports raise the shared revision), the rest read in two queries.
    pub async fn convention_reach_at(
        &self,
        ids: &[i64],
        stamps: &std::collections::HashMap<i64, crate::WriteStamp>,
    ) -> Result<std::collections::HashMap<i64, ConventionReach>> {
        let mut out: std::collections::HashMap<i64, ConventionReach> = std::collections::HashMap::new();
        let mut missing: Vec<i64> = Vec::new();
        for id in ids {
            match stamps.get(id).and_then(|stamp| self.reaches.get(id, stamp)) {
                Some(reach) => {
                    out.insert(*id, reach);
                }
                None => missing.push(*id),
            }
        }
        let read = self.read_convention_reach(&missing).await?;
        for id in missing {
            let reach = read.get(&id).cloned().unwrap_or_default();
            if let Some(stamp) = stamps.get(&id) {
                self.reaches.put(id, *stamp, reach.clone());
            }
            out.insert(id, reach);
        }
        Ok(out)
    }

    async fn read_convention_reach(&self, ids: &[i64]) -> Result<std::collections::HashMap<i64, ConventionReach>> {
        if ids.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        // Numbers only: written into the statement, the same on both engines.
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let (departments, parties): (Vec<(i64, String)>, Vec<PartyOrganisationRow>) = with_db!(self, pool => {
            let departments = sqlx::query_as(&format!(
                "SELECT DISTINCT c.id, cm.department FROM convention c \
                 JOIN epci_member m ON m.epci_siren = c.epci_siren \
                 JOIN commune cm ON cm.code = m.commune_code WHERE c.id IN ({list}) ORDER BY 1, 2"
            ))
            .fetch_all(pool)
            .await?;
            let parties = sqlx::query_as(&format!(
                "SELECT p.convention_id, o.id, o.name, o.short_name FROM party p \
                 JOIN organisation o ON o.id = p.organisation_id WHERE p.convention_id IN ({list}) \
                 ORDER BY p.convention_id, p.position"
            ))
            .fetch_all(pool)
            .await?;
            (departments, parties)
        });
        let mut out: std::collections::HashMap<i64, ConventionReach> = std::collections::HashMap::new();
        for (id, department) in departments {
            out.entry(id).or_default().departments.push(department);
        }
        for (id, organisation_id, name, short_name) in parties {
            out.entry(id).or_default().organisations.push(OrganisationRef { id: organisation_id, name, short_name });
        }
        Ok(out)
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
        self.acquire().await?.conn().convention_summary(id).await
    }

    /// What every request on convention `id` decides its rights from, in one query: whether the
    /// convention is published, its title, and the role of `user_id` in it (none without a user).
    pub async fn convention_access(&self, id: i64, user_id: Option<i64>) -> Result<(bool, String, Option<Role>)> {
        let row: Option<(bool, String, Option<String>)> = with_db!(self, pool => {
            sqlx::query_as(
                "SELECT c.published, c.title, (SELECT r.role FROM convention_role r \
                 WHERE r.convention_id = c.id AND r.user_id = $2) FROM convention c WHERE c.id = $1",
            )
            .bind(id)
            .bind(user_id)
            .fetch_optional(pool)
            .await?
        });
        let (published, title, role) = row.ok_or_else(|| StoreError::NotFound(format!("la convention n° {id}")))?;
        let role =
            role.map(|r| Role::parse(&r).map_err(|_| StoreError::Corrupt(format!("rôle « {r} »")))).transpose()?;
        Ok((published, title, role))
    }

    /// A convention with its parties, strategy, bodies and links to the conventions before and after it.
    pub async fn convention(&self, id: i64) -> Result<ConventionDetail> {
        // Kept in memory with the facts of its life, at the convention's write stamp.
        Ok(self.life_parts(id).await?.detail)
    }
}

impl Conn<'_> {
    pub(crate) async fn convention_summary(&mut self, id: i64) -> Result<ConventionSummary> {
        let row: Option<SummaryRow> = with_conn!(self, c => {
            sqlx::query_as(&format!("{SUMMARY_SELECT} WHERE c.id = $1"))
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
        });
        row.ok_or_else(|| StoreError::NotFound(format!("la convention n° {id}")))?.into_summary()
    }

    /// The conventions before and after convention `id` (renewal, art. 11), read afresh: they are
    /// other conventions, whose writes do not change this one's revision.
    pub(crate) async fn links(&mut self, id: i64) -> Result<(Option<ConventionRef>, Vec<ConventionRef>)> {
        let rows: Vec<(i64, String, bool, NaiveDate)> = with_conn!(self, c => {
            sqlx::query_as(
                "SELECT id, title, FALSE, start_date FROM convention WHERE predecessor_id = $1 \
                 UNION ALL SELECT p.id, p.title, TRUE, p.start_date FROM convention c \
                 JOIN convention p ON p.id = c.predecessor_id WHERE c.id = $1 ORDER BY 3 DESC, 4, 1",
            )
            .bind(id)
            .fetch_all(&mut *c)
            .await?
        });
        let mut predecessor = None;
        let mut successors = Vec::new();
        for (id, title, before, _) in rows {
            if before {
                predecessor = Some(ConventionRef { id, title });
            } else {
                successors.push(ConventionRef { id, title });
            }
        }
        Ok((predecessor, successors))
    }

    /// See [`Store::convention`].
    pub(crate) async fn convention(&mut self, id: i64) -> Result<ConventionDetail> {
        let summary = self.convention_summary(id).await?;
        let (signing, parties, strategy, approaches, bodies, predecessor, successors) = with_conn!(self, c => {
            let signing: (Option<String>, Option<i64>) =
                sqlx::query_as("SELECT signing_place, predecessor_id FROM convention WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *c)
                    .await?;
            let parties: Vec<PartyRow> = sqlx::query_as(
                "SELECT p.id, p.organisation_id, p.version, o.name, o.short_name, o.kind, o.siren, o.address, p.role, \
                 p.signatory, p.signatory_title, p.deliberation, p.deliberation_date, p.signature_date, \
                 p.signature_month_only FROM party p JOIN organisation o ON o.id = p.organisation_id \
                 WHERE p.convention_id = $1 ORDER BY p.position",
            )
            .bind(id)
            .fetch_all(&mut *c)
            .await?;
            let strategy: Vec<StrategyRow> = sqlx::query_as(
                "SELECT s.number AS stake_number, s.title AS stake_title, s.description AS stake_description, \
                 a.number AS ambition_number, a.title AS ambition_title, a.note AS ambition_note \
                 FROM stake s LEFT JOIN ambition a ON a.stake_id = s.id \
                 WHERE s.convention_id = $1 ORDER BY s.number, a.number",
            )
            .bind(id)
            .fetch_all(&mut *c)
            .await?;
            let approaches: Vec<(String, Option<String>)> = sqlx::query_as(
                "SELECT title, description FROM approach WHERE convention_id = $1 ORDER BY position",
            )
            .bind(id)
            .fetch_all(&mut *c)
            .await?;
            let bodies: Vec<(String, String, Option<String>)> = sqlx::query_as(
                "SELECT kind, name, description FROM body WHERE convention_id = $1 ORDER BY position",
            )
            .bind(id)
            .fetch_all(&mut *c)
            .await?;
            let predecessor: Option<(i64, String)> = match signing.1 {
                Some(p) => sqlx::query_as("SELECT id, title FROM convention WHERE id = $1")
                    .bind(p)
                    .fetch_optional(&mut *c)
                    .await?,
                None => None,
            };
            let successors: Vec<(i64, String)> =
                sqlx::query_as("SELECT id, title FROM convention WHERE predecessor_id = $1 ORDER BY start_date")
                    .bind(id)
                    .fetch_all(&mut *c)
                    .await?;
            (signing.0, parties, strategy, approaches, bodies, predecessor, successors)
        });

        let parties = parties
            .into_iter()
            .map(|r| {
                Ok(PartyEntry {
                    id: r.id,
                    organisation_id: r.organisation_id,
                    version: r.version,
                    party: Party {
                        organisation: Organisation {
                            name: r.name,
                            short_name: r.short_name,
                            kind: OrganisationKind::parse(&r.kind).map_err(corrupt)?,
                            siren: r.siren.as_deref().map(Siren::parse).transpose().map_err(corrupt)?,
                            address: r.address,
                        },
                        role: PartyRole::parse(&r.role).map_err(corrupt)?,
                        signatory: r.signatory,
                        signatory_title: r.signatory_title,
                        deliberation: r.deliberation,
                        deliberation_date: r.deliberation_date,
                        signature_date: r.signature_date,
                        signature_month_only: r.signature_month_only,
                    },
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
            if let (Some(number), Some(title), Some(s)) = (r.ambition_number, r.ambition_title, stakes.last_mut()) {
                s.ambitions.push(Ambition { number, title, note: r.ambition_note });
            }
        }
        let bodies = bodies
            .into_iter()
            .map(|(kind, name, description)| {
                Ok(Body { kind: BodyKind::parse(&kind).map_err(corrupt)?, name, description })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ConventionDetail {
            summary,
            signing_place: signing,
            parties,
            stakes,
            approaches: approaches.into_iter().map(|(title, description)| Approach { title, description }).collect(),
            bodies,
            predecessor: predecessor.map(|(id, title)| ConventionRef { id, title }),
            successors: successors.into_iter().map(|(id, title)| ConventionRef { id, title }).collect(),
        })
    }
}
