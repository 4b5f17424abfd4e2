//! The bodies of a convention (those the convention import fills, and those added later) and their
//! members.

use std::collections::HashMap;

use chrono::NaiveDate;
use ctg_domain::format::collation_key;
use ctg_domain::governance::{Member, MemberRole, NewMember};
use ctg_domain::{Actor, Body, BodyKind};
use serde_json::{json, Value};

use super::{corrupt, invalid};
use crate::audit::{record, Change};
use crate::conn::{with_conn, Conn};
use crate::versioned::{Loaded, Versioned};
use crate::{with_db, Result, Store, StoreError};

/// A body of a convention, with its members (chairs first, then by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyRecord {
    pub id: i64,
    pub convention_id: i64,
    pub position: i64,
    pub version: i64,
    pub body: Body,
    pub members: Vec<Member>,
}

impl BodyRecord {
    /// The members current on `day`.
    pub fn current_members(&self, day: NaiveDate) -> Vec<&Member> {
        ctg_domain::governance::current_members(&self.members, day)
    }
}

#[derive(sqlx::FromRow)]
struct BodyRow {
    id: i64,
    convention_id: i64,
    position: i64,
    kind: String,
    name: String,
    description: Option<String>,
    version: i64,
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: i64,
    body_id: i64,
    name: String,
    organisation: String,
    job_title: String,
    role: String,
    joined_on: NaiveDate,
    left_on: Option<NaiveDate>,
    version: i64,
}

impl MemberRow {
    fn into_member(self) -> Result<Member> {
        Ok(Member {
            id: self.id,
            body_id: self.body_id,
            version: self.version,
            data: NewMember {
                role: MemberRole::parse(&self.role).map_err(|_| corrupt("rôle", &self.role))?,
                name: self.name,
                organisation: self.organisation,
                function: self.job_title,
                joined: self.joined_on,
                left: self.left_on,
            },
        })
    }
}

fn body_audit(b: &Body) -> Value {
    json!({"nature": b.kind.code(), "nom": b.name, "description": b.description})
}

fn member_audit(m: &NewMember) -> Value {
    json!({
        "nom": m.name, "organisation": m.organisation, "fonction": m.function, "role": m.role.code(),
        "arrivee": m.joined, "depart": m.left,
    })
}

fn role_rank(role: MemberRole) -> usize {
    MemberRole::ALL.iter().position(|r| *r == role).unwrap_or(usize::MAX)
}

impl Store {
    /// The bodies of a convention in their order, each with its members (chairs first, then by name).
    pub async fn bodies(&self, convention_id: i64) -> Result<Vec<BodyRecord>> {
        self.acquire().await?.conn().bodies(convention_id).await
    }

    /// A body of the convention with its members.
    pub async fn body(&self, convention_id: i64, body_id: i64) -> Result<BodyRecord> {
        self.acquire().await?.conn().body(convention_id, body_id).await
    }

    /// Adds a body (a thematic commission, say) after the convention's others.
    pub async fn add_body(&self, actor: &Actor, convention_id: i64, body: &Body) -> Result<i64> {
        let body = check_body(body)?;
        self.convention_summary(convention_id).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (position,): (i64,) =
                sqlx::query_as("SELECT COALESCE(MAX(position) + 1, 0) FROM body WHERE convention_id = $1")
                    .bind(convention_id)
                    .fetch_one(&mut *tx)
                    .await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO body (convention_id, position, kind, name, description) VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(convention_id)
            .bind(position)
            .bind(body.kind.code())
            .bind(&body.name)
            .bind(&body.description)
            .fetch_one(&mut *tx)
            .await?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "instance",
                object_id: id.to_string(),
                object_label: body.name.clone(),
                action: "creation",
                before: None,
                after: Some(body_audit(&body)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Renames a body, changes its kind or description, from the version read.
    pub async fn update_body(
        &self,
        actor: &Actor,
        convention_id: i64,
        body_id: i64,
        version: i64,
        body: &Body,
    ) -> Result<i64> {
        let body = check_body(body)?;
        self.versioned_write(
            Versioned { table: "body", id: body_id, version: Some(version) },
            async |c| {
                let current = c.body(convention_id, body_id).await?;
                Ok(Loaded::new(
                    format!("l'instance « {} »", current.body.name),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "instance",
                        object_id: body_id.to_string(),
                        object_label: body.name.clone(),
                        action: "modification",
                        before: Some(body_audit(&current.body)),
                        after: Some(body_audit(&body)),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query("UPDATE body SET kind = $1, name = $2, description = $3 WHERE id = $4")
                        .bind(body.kind.code())
                        .bind(&body.name)
                        .bind(&body.description)
                        .bind(body_id)
                        .execute(&mut *c)
                        .await?;
                });
                Ok(())
            },
        )
        .await
    }

    /// Adds a member to a body of the convention.
    pub async fn add_member(&self, actor: &Actor, convention_id: i64, body_id: i64, member: NewMember) -> Result<i64> {
        let member = member.check().map_err(invalid)?;
        let body = self.body(convention_id, body_id).await?;
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO body_member (body_id, name, organisation, job_title, role, joined_on, left_on) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(body_id)
            .bind(&member.name)
            .bind(&member.organisation)
            .bind(&member.function)
            .bind(member.role.code())
            .bind(member.joined)
            .bind(member.left)
            .fetch_one(&mut *tx)
            .await?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "membre_instance",
                object_id: id.to_string(),
                object_label: format!("{} ({})", member.name, body.body.name),
                action: "creation",
                before: None,
                after: Some(member_audit(&member)),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Changes a member (their leaving date, say) from the version read.
    pub async fn update_member(
        &self,
        actor: &Actor,
        convention_id: i64,
        member_id: i64,
        version: i64,
        member: NewMember,
    ) -> Result<i64> {
        let member = member.check().map_err(invalid)?;
        self.versioned_write(
            Versioned { table: "body_member", id: member_id, version: Some(version) },
            async |c| {
                let (body, current) = c
                    .bodies(convention_id)
                    .await?
                    .into_iter()
                    .find_map(|b| {
                        let m = b.members.iter().find(|m| m.id == member_id).cloned();
                        m.map(|m| (b, m))
                    })
                    .ok_or_else(|| StoreError::NotFound(format!("le membre n° {member_id} de cette convention")))?;
                Ok(Loaded::new(
                    format!("le membre « {} »", current.data.name),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: "membre_instance",
                        object_id: member_id.to_string(),
                        object_label: format!("{} ({})", member.name, body.body.name),
                        action: "modification",
                        before: Some(member_audit(&current.data)),
                        after: Some(member_audit(&member)),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                with_conn!(c, c => {
                    sqlx::query(
                        "UPDATE body_member SET name = $1, organisation = $2, job_title = $3, role = $4, joined_on = $5, \
                         left_on = $6 WHERE id = $7",
                    )
                    .bind(&member.name)
                    .bind(&member.organisation)
                    .bind(&member.function)
                    .bind(member.role.code())
                    .bind(member.joined)
                    .bind(member.left)
                    .bind(member_id)
                    .execute(&mut *c)
                    .await?;
                });
                Ok(())
            },
        )
        .await
    }
}

impl Conn<'_> {
    /// The bodies of a convention in their order, each with its members (chairs first, then by name).
    pub(crate) async fn bodies(&mut self, convention_id: i64) -> Result<Vec<BodyRecord>> {
        let (bodies, members): (Vec<BodyRow>, Vec<MemberRow>) = with_conn!(self, c => {
            let bodies: Vec<BodyRow> = sqlx::query_as(
                "SELECT id, convention_id, position, kind, name, description, version FROM body \
                 WHERE convention_id = $1 ORDER BY position, id",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?;
            let members: Vec<MemberRow> = sqlx::query_as(
                "SELECT m.id, m.body_id, m.name, m.organisation, m.job_title, m.role, m.joined_on, m.left_on, m.version \
                 FROM body_member m JOIN body b ON b.id = m.body_id WHERE b.convention_id = $1 ORDER BY m.id",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?;
            (bodies, members)
        });
        let mut by_body: HashMap<i64, Vec<Member>> = HashMap::new();
        for m in members {
            let m = m.into_member()?;
            by_body.entry(m.body_id).or_default().push(m);
        }
        bodies
            .into_iter()
            .map(|b| {
                let mut members = by_body.remove(&b.id).unwrap_or_default();
                members.sort_by_cached_key(|m| (role_rank(m.data.role), collation_key(&m.data.name), m.id));
                Ok(BodyRecord {
                    id: b.id,
                    convention_id: b.convention_id,
                    position: b.position,
                    version: b.version,
                    body: Body {
                        kind: BodyKind::parse(&b.kind).map_err(|_| corrupt("type d'instance", &b.kind))?,
                        name: b.name,
                        description: b.description,
                    },
                    members,
                })
            })
            .collect()
    }

    /// A body of the convention with its members.
    pub(crate) async fn body(&mut self, convention_id: i64, body_id: i64) -> Result<BodyRecord> {
        self.bodies(convention_id)
            .await?
            .into_iter()
            .find(|b| b.id == body_id)
            .ok_or_else(|| StoreError::NotFound(format!("l'instance n° {body_id} de cette convention")))
    }
}

fn check_body(b: &Body) -> Result<Body> {
    let name = b.name.trim();
    if name.is_empty() {
        return Err(invalid("le nom de l'instance est vide"));
    }
    Ok(Body {
        kind: b.kind,
        name: name.to_owned(),
        description: b.description.as_deref().map(str::trim).filter(|d| !d.is_empty()).map(str::to_owned),
    })
}
