//! Editing the strategy of a convention: its enjeux and their ambitions (objectives are in
//! [`crate::plan`]). Every write is versioned and goes to the audit trail.

use ctg_domain::Actor;
use serde_json::json;

use crate::audit::{record, Change};
use crate::conn::{with_conn, Conn};
use crate::versioned::{Loaded, Versioned};
use crate::{with_db, Result, Store, StoreError};

/// An enjeu or an ambition as stored, with its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyItem {
    pub id: i64,
    pub number: i64,
    pub title: String,
    /// The stake's description, or the ambition's note.
    pub text: Option<String>,
    pub version: i64,
    /// For an ambition: the number of its stake.
    pub stake: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    number: i64,
    title: String,
    text: Option<String>,
    version: i64,
    stake: Option<i64>,
}

/// Which level of the strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrategyLevel {
    Stake,
    Ambition,
}

impl StrategyLevel {
    fn table(self) -> &'static str {
        match self {
            Self::Stake => "stake",
            Self::Ambition => "ambition",
        }
    }

    fn text_column(self) -> &'static str {
        match self {
            Self::Stake => "description",
            Self::Ambition => "note",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Stake => "enjeu",
            Self::Ambition => "ambition",
        }
    }
}

/// An enjeu or an ambition to add (`stake`: the number of the ambition's enjeu).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStrategyItem {
    pub level: StrategyLevel,
    pub stake: Option<i64>,
    pub number: i64,
    pub title: String,
    pub text: Option<String>,
}

fn check(number: i64, title: &str, what: &str) -> Result<()> {
    if !(1..=99).contains(&number) {
        return Err(StoreError::Invalid(format!("numéro d'{what} hors limites : {number} (de 1 à 99)")));
    }
    if title.trim().is_empty() {
        return Err(StoreError::Invalid(format!("l'intitulé de l'{what} est vide")));
    }
    Ok(())
}

impl Store {
    /// The stakes, then the ambitions, of a convention, by number.
    pub async fn strategy_items(&self, convention_id: i64) -> Result<(Vec<StrategyItem>, Vec<StrategyItem>)> {
        self.acquire().await?.conn().strategy_items(convention_id).await
    }

    /// Adds an enjeu, or an ambition under the enjeu numbered `stake`. Numbers are unique in the
    /// convention.
    pub async fn add_strategy_item(&self, actor: &Actor, convention_id: i64, new: &NewStrategyItem) -> Result<i64> {
        let (level, stake, number, title) = (new.level, new.stake, new.number, new.title.as_str());
        let text = new.text.as_deref();
        check(number, title, level.label())?;
        if self.convention(convention_id).await?.is_locked() {
            return Err(StoreError::Invalid(ctg_domain::life::locked_message("la stratégie (enjeux et ambitions)")));
        }
        let (stakes, _) = self.strategy_items(convention_id).await?;
        let stake_id =
            match (level, stake) {
                (StrategyLevel::Stake, _) => None,
                (StrategyLevel::Ambition, Some(n)) => {
                    Some(stakes.iter().find(|s| s.number == n).map(|s| s.id).ok_or_else(|| {
                        StoreError::Invalid(format!("l'enjeu n° {n} n'existe pas dans cette convention"))
                    })?)
                }
                (StrategyLevel::Ambition, None) => {
                    return Err(StoreError::Invalid("choisissez l'enjeu de l'ambition".into()))
                }
            };
        let text = text.map(str::trim).filter(|t| !t.is_empty());
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            let inserted: std::result::Result<(i64,), sqlx::Error> = match level {
                StrategyLevel::Stake => sqlx::query_as(
                    "INSERT INTO stake (convention_id, number, title, description) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(convention_id)
                .bind(number)
                .bind(title.trim())
                .bind(text)
                .fetch_one(&mut *tx)
                .await,
                StrategyLevel::Ambition => sqlx::query_as(
                    "INSERT INTO ambition (convention_id, stake_id, number, title, note) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(convention_id)
                .bind(stake_id)
                .bind(number)
                .bind(title.trim())
                .bind(text)
                .fetch_one(&mut *tx)
                .await,
            };
            let (id,) = inserted.map_err(|e| match e.as_database_error().map(|d| d.kind()) {
                Some(sqlx::error::ErrorKind::UniqueViolation) => {
                    StoreError::Invalid(format!("l'{} n° {number} existe déjà dans cette convention", level.label()))
                }
                _ => StoreError::Database(e),
            })?;
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: level.label(),
                object_id: id.to_string(),
                object_label: format!("{} {number} : {}", level.label(), title.trim()),
                action: "creation",
                before: None,
                after: Some(json!({"numero": number, "intitule": title.trim(), "texte": text})),
                actor,
            });
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Renames an enjeu or an ambition (and its description or note), from the version read.
    pub async fn update_strategy_item(
        &self,
        actor: &Actor,
        convention_id: i64,
        level: StrategyLevel,
        (id, version): (i64, i64),
        (title, text): (&str, Option<&str>),
    ) -> Result<i64> {
        let text = text.map(str::trim).filter(|t| !t.is_empty());
        self.versioned_write(
            Versioned { table: level.table(), id, version: Some(version) },
            async |c| {
                if c.convention(convention_id).await?.is_locked() {
                    return Err(StoreError::Invalid(ctg_domain::life::locked_message(
                        "la stratégie (enjeux et ambitions)",
                    )));
                }
                let (stakes, ambitions) = c.strategy_items(convention_id).await?;
                let list = if level == StrategyLevel::Stake { &stakes } else { &ambitions };
                let current = list
                    .iter()
                    .find(|i| i.id == id)
                    .ok_or_else(|| StoreError::NotFound(format!("l'{} n° {id} de cette convention", level.label())))?;
                check(current.number, title, level.label())?;
                Ok(Loaded::new(
                    format!("l'{} n° {}", level.label(), current.number),
                    Change {
                        convention_id: Some(convention_id),
                        object_type: level.label(),
                        object_id: id.to_string(),
                        object_label: format!("{} {} : {}", level.label(), current.number, title.trim()),
                        action: "modification",
                        before: Some(json!({"intitule": current.title, "texte": current.text})),
                        after: Some(json!({"intitule": title.trim(), "texte": text})),
                        actor,
                    },
                ))
            },
            async |c, ()| {
                let sql =
                    format!("UPDATE {} SET title = $1, {} = $2 WHERE id = $3", level.table(), level.text_column());
                with_conn!(c, c => {
                    sqlx::query(&sql).bind(title.trim()).bind(text).bind(id).execute(&mut *c).await?;
                });
                Ok(())
            },
        )
        .await
    }
}

impl Conn<'_> {
    /// The stakes, then the ambitions, of a convention, by number.
    pub(crate) async fn strategy_items(
        &mut self,
        convention_id: i64,
    ) -> Result<(Vec<StrategyItem>, Vec<StrategyItem>)> {
        let (stakes, ambitions): (Vec<Row>, Vec<Row>) = with_conn!(self, c => {
            let stakes: Vec<Row> = sqlx::query_as(
                "SELECT id, number, title, description AS text, version, NULL AS stake FROM stake WHERE convention_id = $1 ORDER BY number",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?;
            let ambitions: Vec<Row> = sqlx::query_as(
                "SELECT a.id, a.number, a.title, a.note AS text, a.version, s.number AS stake FROM ambition a \
                 JOIN stake s ON s.id = a.stake_id WHERE a.convention_id = $1 ORDER BY a.number",
            )
            .bind(convention_id)
            .fetch_all(&mut *c)
            .await?;
            (stakes, ambitions)
        });
        let item = |r: Row| StrategyItem {
            id: r.id,
            number: r.number,
            title: r.title,
            text: r.text,
            version: r.version,
            stake: r.stake,
        };
        Ok((stakes.into_iter().map(item).collect(), ambitions.into_iter().map(item).collect()))
    }
}
