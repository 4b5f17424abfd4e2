//! The offer of services: facility types, facilities and the communes they serve, funding lines,
//! commune outlines, and dated parameters.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use ctg_domain::diagnostic::DatedParameter;
use ctg_domain::offer::{
    builtin_facility_types, Dispositif, Facility, FacilityStatus, FacilityType, Funding, NewFacility, NewFunding,
    PlacesKind,
};
use ctg_domain::{Actor, InseeCode, Siren};
use serde_json::{json, Value};

use crate::audit::{record, Change};
use crate::conn::{with_conn, Conn};
use crate::versioned::{Loaded, Versioned};
use crate::{with_db, Result, Store, StoreError};

#[derive(sqlx::FromRow)]
struct TypeRow {
    code: String,
    label: String,
    theme: String,
    places: String,
    aliases: String,
}

#[derive(sqlx::FromRow)]
struct FacilityRow {
    id: i64,
    type_code: String,
    name: String,
    manager: String,
    commune_code: String,
    capacity: Option<i64>,
    labels: String,
    status: String,
    opened_on: Option<NaiveDate>,
    closed_on: Option<NaiveDate>,
    external_id: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    version: i64,
}

#[derive(sqlx::FromRow)]
struct FundingRow {
    id: i64,
    facility_id: Option<i64>,
    dispositif: String,
    funder: String,
    year: i32,
    amount_cents: i64,
    note: String,
    version: i64,
}

const FACILITY_COLUMNS: &str = "f.id, f.type_code, f.name, f.manager, f.commune_code, f.capacity, f.labels, f.status, \
     f.opened_on, f.closed_on, f.external_id, f.latitude, f.longitude, f.version";

/// The facilities of a territory: standing in one of its communes, or serving one.
const IN_TERRITORY: &str = "(f.commune_code IN (SELECT commune_code FROM epci_member WHERE epci_siren = $1) \
     OR f.id IN (SELECT s.facility_id FROM facility_served s JOIN epci_member m ON m.commune_code = s.commune_code \
     WHERE m.epci_siren = $1))";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} « {value} »"))
}

/// The outline of a commune, for maps: polygons → rings → (longitude, latitude).
#[derive(Debug, Clone, PartialEq)]
pub struct CommuneOutline {
    pub code: InseeCode,
    pub polygons: Vec<Vec<Vec<(f64, f64)>>>,
}

/// What an import of facilities did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FacilityImport {
    pub created: u64,
    pub updated: u64,
}

fn audit_value(f: &NewFacility) -> Value {
    json!({
        "type": f.type_code,
        "nom": f.name,
        "gestionnaire": f.manager,
        "commune": f.commune.as_str(),
        "communes_desservies": f.served.iter().map(InseeCode::as_str).collect::<Vec<_>>(),
        "capacite": f.capacity,
        "labels": f.labels,
        "statut": f.status.code(),
        "date_ouverture": f.opened_on,
        "date_fermeture": f.closed_on,
        "identifiant": f.external_id,
    })
}

fn funding_audit_value(f: &NewFunding) -> Value {
    json!({
        "equipement": f.facility_id,
        "dispositif": f.dispositif.code(),
        "financeur": f.funder,
        "annee": f.year,
        "montant_centimes": f.amount_cents,
        "objet": f.note,
    })
}

/// Inserts a facility and its served communes in a transaction; evaluates to its id.
macro_rules! insert_facility {
    ($tx:expr, $f:expr) => {{
        let f: &NewFacility = $f;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO facility (type_code, name, manager, commune_code, capacity, labels, status, opened_on, closed_on, \
             external_id, latitude, longitude) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
        )
        .bind(&f.type_code)
        .bind(&f.name)
        .bind(&f.manager)
        .bind(f.commune.as_str())
        .bind(f.capacity)
        .bind(serde_json::to_string(&f.labels).unwrap_or_else(|_| "[]".into()))
        .bind(f.status.code())
        .bind(f.opened_on)
        .bind(f.closed_on)
        .bind(&f.external_id)
        .bind(f.latitude)
        .bind(f.longitude)
        .fetch_one(&mut *$tx)
        .await
        .map_err(facility_error)?;
        for c in &f.served {
            sqlx::query("INSERT INTO facility_served (facility_id, commune_code) VALUES ($1, $2)")
                .bind(id)
                .bind(c.as_str())
                .execute(&mut *$tx)
                .await
                .map_err(facility_error)?;
        }
        id
    }};
}

/// Rewrites a facility and its served communes, in a transaction (its `version` is the caller's).
macro_rules! update_facility_row {
    ($tx:expr, $id:expr, $f:expr) => {{
        let f: &NewFacility = $f;
        sqlx::query(
            "UPDATE facility SET type_code = $1, name = $2, manager = $3, commune_code = $4, capacity = $5, labels = $6, \
             status = $7, opened_on = $8, closed_on = $9, external_id = $10, latitude = $11, longitude = $12 \
             WHERE id = $13",
        )
        .bind(&f.type_code)
        .bind(&f.name)
        .bind(&f.manager)
        .bind(f.commune.as_str())
        .bind(f.capacity)
        .bind(serde_json::to_string(&f.labels).unwrap_or_else(|_| "[]".into()))
        .bind(f.status.code())
        .bind(f.opened_on)
        .bind(f.closed_on)
        .bind(&f.external_id)
        .bind(f.latitude)
        .bind(f.longitude)
        .bind($id)
        .execute(&mut *$tx)
        .await
        .map_err(facility_error)?;
        sqlx::query("DELETE FROM facility_served WHERE facility_id = $1").bind($id).execute(&mut *$tx).await?;
        for c in &f.served {
            sqlx::query("INSERT INTO facility_served (facility_id, commune_code) VALUES ($1, $2)")
                .bind($id)
                .bind(c.as_str())
                .execute(&mut *$tx)
                .await
                .map_err(facility_error)?;
        }
    }};
}

macro_rules! insert_funding {
    ($tx:expr, $convention:expr, $l:expr) => {{
        let l: &NewFunding = $l;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO funding (convention_id, facility_id, dispositif, funder, year, amount_cents, note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind($convention)
        .bind(l.facility_id)
        .bind(l.dispositif.code())
        .bind(&l.funder)
        .bind(l.year)
        .bind(l.amount_cents)
        .bind(&l.note)
        .fetch_one(&mut *$tx)
        .await?;
        id
    }};
}

impl Store {
    /// Brings the platform's own facility types into the database (added, or updated when the
    /// platform changed their label, theme or aliases). Types a CAF added are left alone.
    pub async fn sync_facility_types(&self) -> Result<()> {
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            for t in builtin_facility_types() {
                sqlx::query(
                    "INSERT INTO facility_type (code, label, theme, places, aliases, builtin) VALUES ($1, $2, $3, $4, $5, TRUE) \
                     ON CONFLICT (code) DO UPDATE SET label = excluded.label, theme = excluded.theme, places = excluded.places, \
                     aliases = excluded.aliases, builtin = TRUE",
                )
                .bind(&t.code)
                .bind(&t.label)
                .bind(&t.theme)
                .bind(t.places.code())
                .bind(serde_json::to_string(&t.aliases).unwrap_or_else(|_| "[]".into()))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The catalogue of facility types, by theme then label.
    pub async fn facility_types(&self) -> Result<Vec<FacilityType>> {
        let rows: Vec<TypeRow> = with_db!(self, pool => {
            sqlx::query_as("SELECT code, label, theme, places, aliases FROM facility_type ORDER BY theme, label")
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(FacilityType {
                    places: PlacesKind::parse(&r.places).ok_or_else(|| corrupt("nature de places", &r.places))?,
                    aliases: serde_json::from_str(&r.aliases).map_err(|_| corrupt("alias", &r.aliases))?,
                    code: r.code,
                    label: r.label,
                    theme: r.theme,
                })
            })
            .collect()
    }

    /// Adds a type to the catalogue (a CAF's own).
    pub async fn add_facility_type(&self, actor: &Actor, t: &FacilityType) -> Result<()> {
        let code = ctg_domain::offer::check_type_code(&t.code).map_err(|e| StoreError::Invalid(e.to_string()))?;
        if t.label.trim().is_empty() || t.theme.trim().is_empty() {
            return Err(StoreError::Invalid("le libellé et le thème du type sont obligatoires".into()));
        }
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "INSERT INTO facility_type (code, label, theme, places, aliases, builtin) VALUES ($1, $2, $3, $4, $5, FALSE) \
                 ON CONFLICT (code) DO NOTHING",
            )
            .bind(&code)
            .bind(t.label.trim())
            .bind(t.theme.trim())
            .bind(t.places.code())
            .bind(serde_json::to_string(&t.aliases).unwrap_or_else(|_| "[]".into()))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 0 {
                return Err(StoreError::Invalid(format!("le type « {code} » existe déjà")));
            }
            record!(&mut *tx, &Change {
                convention_id: None,
                object_type: "type_equipement",
                object_id: code.clone(),
                object_label: t.label.trim().to_owned(),
                action: "creation",
                before: None,
                after: Some(json!({"libelle": t.label.trim(), "theme": t.theme.trim(), "places": t.places.code()})),
                actor,
            });
            tx.commit().await?;
        });
        Ok(())
    }

    async fn check_facility(&self, f: NewFacility) -> Result<NewFacility> {
        let types = self.facility_types().await?;
        let f = f.check(&types).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let codes: Vec<&str> = f.communes_served().map(InseeCode::as_str).collect();
        let known = self.known_communes(&codes).await?.into_iter().collect::<BTreeSet<String>>();
        let unknown: Vec<String> = codes.iter().filter(|c| !known.contains(**c)).map(|c| (*c).to_owned()).collect();
        if unknown.is_empty() {
            Ok(f)
        } else {
            Err(StoreError::UnknownCommunes(unknown))
        }
    }

    /// Creates a facility; its communes must be known.
    pub async fn create_facility(&self, actor: &Actor, convention_id: Option<i64>, f: NewFacility) -> Result<i64> {
        let f = self.check_facility(f).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let id = insert_facility!(&mut *tx, &f);
            record!(&mut *tx, &Change {
                convention_id,
                object_type: "equipement",
                object_id: id.to_string(),
                object_label: f.name.clone(),
                action: "creation",
                before: None,
                after: Some(audit_value(&f)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Saves a facility from the version read; a stale version is refused.
    pub async fn update_facility(
        &self,
        actor: &Actor,
        convention_id: Option<i64>,
        id: i64,
        version: i64,
        f: NewFacility,
    ) -> Result<i64> {
        let f = self.check_facility(f).await?;
        self.versioned_write(
            Versioned { table: "facility", id, version: Some(version) },
            async |c| {
                let current = c.facility(id).await?;
                Ok(Loaded::new(
                    format!("l'équipement « {} »", current.data.name),
                    Change {
                        convention_id,
                        object_type: "equipement",
                        object_id: id.to_string(),
                        object_label: f.name.clone(),
                        action: "modification",
                        before: Some(audit_value(&current.data)),
                        after: Some(audit_value(&f)),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => update_facility_row!(c, id, &f));
                Ok(())
            },
        )
        .await
    }

    /// Imports facilities in one transaction: a row whose identifier is already known updates that
    /// facility (without an identifier: the facility of the same type, name and commune), the others
    /// are created. `rows` pairs each facility with its place in the file, so
    /// that an unknown commune is named with its row; nothing is written while one is unknown.
    pub async fn import_facilities(
        &self,
        actor: &Actor,
        rows: &[(String, NewFacility)],
        source: &str,
    ) -> Result<FacilityImport> {
        let types = self.facility_types().await?;
        let mut checked = Vec::with_capacity(rows.len());
        let mut problems = Vec::new();
        for (place, f) in rows {
            match f.clone().check(&types) {
                Ok(f) => checked.push((place, f)),
                Err(e) => problems.push(format!("{place} : {e}")),
            }
        }
        let wanted: BTreeSet<&str> =
            checked.iter().flat_map(|(_, f)| f.communes_served().map(InseeCode::as_str)).collect();
        let known: BTreeSet<String> =
            self.known_communes(&wanted.iter().copied().collect::<Vec<_>>()).await?.into_iter().collect();
        for (place, f) in &checked {
            let unknown: Vec<&str> =
                f.communes_served().map(InseeCode::as_str).filter(|c| !known.contains(*c)).collect();
            if !unknown.is_empty() {
                problems.push(format!(
                    "{place} : commune(s) inconnue(s) du territoire chargé : {} (importez d'abord le territoire)",
                    unknown.join(", ")
                ));
            }
        }
        if !problems.is_empty() {
            return Err(StoreError::Invalid(problems.join("\n")));
        }
        let mut summary = FacilityImport::default();
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            for (_, f) in &checked {
                // Known by its identifier; without one, by its type, name and commune (a file read twice
                // must not duplicate its facilities).
                let existing: Option<(i64,)> = match &f.external_id {
                    Some(ext) => sqlx::query_as("SELECT id FROM facility WHERE external_id = $1").bind(ext).fetch_optional(&mut *tx).await?,
                    None => sqlx::query_as(
                        "SELECT id FROM facility WHERE external_id IS NULL AND type_code = $1 AND name = $2 AND commune_code = $3 ORDER BY id LIMIT 1",
                    )
                    .bind(&f.type_code)
                    .bind(&f.name)
                    .bind(f.commune.as_str())
                    .fetch_optional(&mut *tx)
                    .await?,
                };
                match existing {
                    Some((id,)) => {
                        update_facility_row!(&mut *tx, id, f);
                        sqlx::query("UPDATE facility SET version = version + 1 WHERE id = $1")
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        summary.updated += 1;
                    }
                    None => {
                        insert_facility!(&mut *tx, f);
                        summary.created += 1;
                    }
                }
            }
            record!(&mut *tx, &Change {
                convention_id: None,
                object_type: "equipements",
                object_id: source.to_owned(),
                object_label: format!("import d'équipements ({source})"),
                action: "import",
                before: None,
                after: Some(json!({"crees": summary.created, "mis_a_jour": summary.updated})),
                actor,
            });
            tx.commit().await?;
        });
        Ok(summary)
    }

    pub async fn facility(&self, id: i64) -> Result<Facility> {
        self.acquire().await?.conn().facility(id).await
    }

    /// The facilities standing in or serving a commune of the EPCI, by name.
    pub async fn facilities_of(&self, epci: &Siren) -> Result<Vec<Facility>> {
        let mut conn = self.acquire().await?;
        let mut c = conn.conn();
        let rows: Vec<FacilityRow> = with_conn!(&mut c, c => {
            sqlx::query_as(&format!("SELECT {FACILITY_COLUMNS} FROM facility f WHERE {IN_TERRITORY} ORDER BY f.name, f.id"))
                .bind(epci.as_str())
                .fetch_all(&mut *c)
                .await?
        });
        c.assemble_facilities(rows).await
    }

    /// Every facility held, by id (for France-wide analyses).
    pub async fn all_facilities(&self) -> Result<Vec<Facility>> {
        let mut conn = self.acquire().await?;
        let mut c = conn.conn();
        let rows: Vec<FacilityRow> = with_conn!(&mut c, c => {
            sqlx::query_as(&format!("SELECT {FACILITY_COLUMNS} FROM facility f ORDER BY f.id")).fetch_all(&mut *c).await?
        });
        c.assemble_facilities(rows).await
    }

    /// The funding lines of a convention, by year, scheme and funder.
    pub async fn funding(&self, convention_id: i64) -> Result<Vec<Funding>> {
        let rows: Vec<FundingRow> = with_db!(self, pool => {
            sqlx::query_as(
                "SELECT id, facility_id, dispositif, funder, year, amount_cents, note, version FROM funding \
                 WHERE convention_id = $1 ORDER BY year DESC, dispositif, funder, id",
            )
            .bind(convention_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(Funding {
                    id: r.id,
                    version: r.version,
                    data: NewFunding {
                        facility_id: r.facility_id,
                        dispositif: Dispositif::parse(&r.dispositif)
                            .map_err(|_| corrupt("dispositif", &r.dispositif))?,
                        funder: r.funder,
                        year: r.year,
                        amount_cents: r.amount_cents,
                        note: r.note,
                    },
                })
            })
            .collect()
    }

    /// Adds funding lines to a convention in one transaction. A line with the same facility, scheme,
    /// funder, year and purpose as one already held replaces its amount (an import read twice counts
    /// once). `facility_refs` are external identifiers of facilities, resolved here; `place` names the
    /// row of the file in errors.
    pub async fn import_funding(
        &self,
        actor: &Actor,
        convention_id: i64,
        rows: &[(String, Option<String>, NewFunding)],
        source: &str,
    ) -> Result<(u64, u64)> {
        self.convention_summary(convention_id).await?;
        let mut problems = Vec::new();
        let mut resolved = Vec::with_capacity(rows.len());
        for (place, reference, line) in rows {
            let mut line = match line.clone().check() {
                Ok(l) => l,
                Err(e) => {
                    problems.push(format!("{place} : {e}"));
                    continue;
                }
            };
            if let Some(reference) = reference.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
                let found: Option<(i64,)> = with_db!(self, pool => {
                    sqlx::query_as("SELECT id FROM facility WHERE external_id = $1").bind(reference).fetch_optional(pool).await?
                });
                match found {
                    Some((id,)) => line.facility_id = Some(id),
                    None => problems.push(format!(
                        "{place} : équipement « {reference} » inconnu (importez d'abord les équipements)"
                    )),
                }
            }
            resolved.push(line);
        }
        if !problems.is_empty() {
            return Err(StoreError::Invalid(problems.join("\n")));
        }
        let (mut created, mut updated) = (0, 0);
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            for l in &resolved {
                let existing: Option<(i64,)> = sqlx::query_as(
                    "SELECT id FROM funding WHERE convention_id = $1 AND COALESCE(facility_id, 0) = $2 AND dispositif = $3 \
                     AND funder = $4 AND year = $5 AND note = $6",
                )
                .bind(convention_id)
                .bind(l.facility_id.unwrap_or(0))
                .bind(l.dispositif.code())
                .bind(&l.funder)
                .bind(l.year)
                .bind(&l.note)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((id,)) = existing {
                    sqlx::query("UPDATE funding SET amount_cents = $1, version = version + 1 WHERE id = $2")
                        .bind(l.amount_cents)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    updated += 1;
                } else {
                    insert_funding!(&mut *tx, convention_id, l);
                    created += 1;
                }
            }
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "financements",
                object_id: source.to_owned(),
                object_label: format!("import de financements ({source})"),
                action: "import",
                before: None,
                after: Some(json!({"crees": created, "mis_a_jour": updated})),
                actor,
            });
            tx.commit().await?;
        });
        Ok((created, updated))
    }

    pub async fn create_funding(&self, actor: &Actor, convention_id: i64, line: NewFunding) -> Result<i64> {
        let line = line.check().map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.convention_summary(convention_id).await?;
        if let Some(fid) = line.facility_id {
            self.facility(fid).await?;
        }
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let id = insert_funding!(&mut *tx, convention_id, &line);
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "financement",
                object_id: id.to_string(),
                object_label: format!("{} {} ({})", line.dispositif.label(), line.year, line.funder),
                action: "creation",
                before: None,
                after: Some(funding_audit_value(&line)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Stores commune outlines (replacing those held for the same communes), in one transaction.
    /// Outlines of communes the territory does not hold are skipped and counted.
    pub async fn import_outlines(
        &self,
        actor: &Actor,
        outlines: &[CommuneOutline],
        source: &str,
    ) -> Result<(u64, u64)> {
        let codes: Vec<&str> = outlines.iter().map(|o| o.code.as_str()).collect();
        let known = self.known_communes(&codes).await?.into_iter().collect::<BTreeSet<String>>();
        let (mut stored, mut skipped) = (0u64, 0u64);
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            for o in outlines {
                if !known.contains(o.code.as_str()) {
                    skipped += 1;
                    continue;
                }
                let polygons = serde_json::to_string(&o.polygons).map_err(|e| StoreError::Invalid(e.to_string()))?;
                sqlx::query(
                    "INSERT INTO commune_contour (commune_code, polygons, source) VALUES ($1, $2, $3) \
                     ON CONFLICT (commune_code) DO UPDATE SET polygons = excluded.polygons, source = excluded.source",
                )
                .bind(o.code.as_str())
                .bind(&polygons)
                .bind(source)
                .execute(&mut *tx)
                .await?;
                stored += 1;
            }
            record!(&mut *tx, &Change {
                convention_id: None,
                object_type: "contours",
                object_id: source.to_owned(),
                object_label: format!("import de contours ({source})"),
                action: "import",
                before: None,
                after: Some(json!({"communes": stored, "ignorees": skipped})),
                actor,
            });
            tx.commit().await?;
        });
        Ok((stored, skipped))
    }

    /// The outlines held for the member communes of an EPCI.
    pub async fn outlines_of(&self, epci: &Siren) -> Result<Vec<CommuneOutline>> {
        let rows: Vec<(String, String)> = with_db!(self, pool => {
            sqlx::query_as(
                "SELECT c.commune_code, c.polygons FROM commune_contour c JOIN epci_member m ON m.commune_code = c.commune_code \
                 WHERE m.epci_siren = $1 ORDER BY c.commune_code",
            )
            .bind(epci.as_str())
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(code, polygons)| {
                Ok(CommuneOutline {
                    code: InseeCode::parse(&code).map_err(|_| corrupt("code INSEE", &code))?,
                    polygons: serde_json::from_str(&polygons).map_err(|_| corrupt("contour de la commune", &code))?,
                })
            })
            .collect()
    }

    /// A dated parameter as the CAF set it, with `default` before its first value.
    pub async fn parameter(&self, code: &str, default: i64) -> Result<DatedParameter<i64>> {
        let values: Vec<(NaiveDate, i64)> = with_db!(self, pool => {
            sqlx::query_as("SELECT valid_from, value FROM dated_parameter WHERE code = $1 ORDER BY valid_from")
                .bind(code)
                .fetch_all(pool)
                .await?
        });
        Ok(DatedParameter { values, default })
    }

    /// Sets a dated parameter from a date on (replacing the value set for the same date).
    pub async fn set_parameter(&self, actor: &Actor, code: &str, valid_from: NaiveDate, value: i64) -> Result<()> {
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO dated_parameter (code, valid_from, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (code, valid_from) DO UPDATE SET value = excluded.value",
            )
            .bind(code)
            .bind(valid_from)
            .bind(value)
            .execute(&mut *tx)
            .await?;
            record!(&mut *tx, &Change {
                convention_id: None,
                object_type: "parametre",
                object_id: code.to_owned(),
                object_label: format!("paramètre {code}"),
                action: "modification",
                before: None,
                after: Some(json!({"a_partir_du": valid_from, "valeur": value})),
                actor,
            });
            tx.commit().await?;
        });
        Ok(())
    }
}

/// Turns the database's refusals of a facility into messages a user can act on.
fn facility_error(e: sqlx::Error) -> StoreError {
    match e.as_database_error().map(|d| d.kind()) {
        Some(sqlx::error::ErrorKind::UniqueViolation) => {
            StoreError::Invalid("un autre équipement porte déjà cet identifiant".into())
        }
        Some(sqlx::error::ErrorKind::ForeignKeyViolation) => {
            StoreError::Invalid("commune ou type d'équipement inconnu du territoire chargé".into())
        }
        _ => StoreError::Database(e),
    }
}

impl Conn<'_> {
    pub(crate) async fn facility(&mut self, id: i64) -> Result<Facility> {
        let rows: Vec<FacilityRow> = with_conn!(self, c => {
            sqlx::query_as(&format!("SELECT {FACILITY_COLUMNS} FROM facility f WHERE f.id = $1"))
                .bind(id)
                .fetch_all(&mut *c)
                .await?
        });
        self.assemble_facilities(rows).await?.pop().ok_or_else(|| StoreError::NotFound(format!("l'équipement n° {id}")))
    }

    async fn assemble_facilities(&mut self, rows: Vec<FacilityRow>) -> Result<Vec<Facility>> {
        let mut served: HashMap<i64, Vec<InseeCode>> = HashMap::new();
        if !rows.is_empty() {
            let all: Vec<(i64, String)> = if rows.len() == 1 {
                with_conn!(self, c => {
                    sqlx::query_as("SELECT facility_id, commune_code FROM facility_served WHERE facility_id = $1 ORDER BY commune_code")
                        .bind(rows[0].id)
                        .fetch_all(&mut *c)
                        .await?
                })
            } else {
                // Reading every link once is cheaper than one query per facility, even for a territory.
                with_conn!(self, c => {
                    sqlx::query_as("SELECT facility_id, commune_code FROM facility_served ORDER BY facility_id, commune_code")
                        .fetch_all(&mut *c)
                        .await?
                })
            };
            for (id, code) in all {
                served.entry(id).or_default().push(InseeCode::parse(&code).map_err(|_| corrupt("code INSEE", &code))?);
            }
        }
        rows.into_iter()
            .map(|r| {
                Ok(Facility {
                    id: r.id,
                    version: r.version,
                    data: NewFacility {
                        commune: InseeCode::parse(&r.commune_code)
                            .map_err(|_| corrupt("code INSEE", &r.commune_code))?,
                        served: served.remove(&r.id).unwrap_or_default(),
                        labels: serde_json::from_str(&r.labels).map_err(|_| corrupt("labels", &r.labels))?,
                        status: FacilityStatus::parse(&r.status).map_err(|_| corrupt("statut", &r.status))?,
                        type_code: r.type_code,
                        name: r.name,
                        manager: r.manager,
                        capacity: r.capacity,
                        opened_on: r.opened_on,
                        closed_on: r.closed_on,
                        external_id: r.external_id,
                        latitude: r.latitude,
                        longitude: r.longitude,
                    },
                })
            })
            .collect()
    }
}
