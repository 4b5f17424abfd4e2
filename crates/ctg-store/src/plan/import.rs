//! The import of a plan, all or nothing: fiches matched by code, their means replaced, their
//! indicators matched by name within the fiche.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;
use ctg_domain::plan::{FicheStatus, Means, NewFiche, PlanIndicator, Priority};
use ctg_domain::Actor;
use serde_json::json;

use super::read::fiche_records;
use super::{
    check_indicator, check_means, check_value, fiche_audit, json_text, status, unique_error, FicheRow, Parts, Resolved,
};
use crate::audit::{record, Change};
use crate::{with_db, Result, Store, StoreError};

/// One fiche of an imported plan: its place in the file (named in errors), the fiche, its means
/// (replacing those held) and its indicators (matched by name within the fiche).
pub type PlanImportRow = (String, NewFiche, Vec<Means>, Vec<PlanIndicator>);

/// An indicator held, for an import: its id and the number and level of each of its values.
type HeldIndicator = (i64, Vec<(Option<f64>, Option<String>)>);

impl Store {
    /// Imports fiches in one transaction: a fiche whose code the convention already has is updated (a
    /// change of status recorded with the reason « import »), the others are created; the means of
    /// each are replaced by those of the file; its indicators, matched by name within the fiche, are
    /// created or updated (definition and targets). Every problem is collected first and returned
    /// together, each with its place in the file; nothing is written while one remains. Evaluates to
    /// (fiches created, fiches updated).
    pub async fn import_plan(
        &self,
        actor: &Actor,
        convention_id: i64,
        fiches: &[PlanImportRow],
        source: &str,
    ) -> Result<(u64, u64)> {
        let ctx = self.plan_context(convention_id).await?;
        let existing = self.plan_parts(convention_id, None).await?;
        let held: HashMap<String, &FicheRow> = existing.fiches.iter().map(|f| (f.code.to_lowercase(), f)).collect();
        // Indicators held, by fiche and name in lower case → (id, the values' number and level).
        let mut held_indicators: HashMap<(i64, String), HeldIndicator> = existing
            .indicators
            .iter()
            .filter_map(|i| Some(((i.fiche_id?, i.name.trim().to_lowercase()), (i.id, Vec::new()))))
            .collect();
        let by_id: HashMap<i64, (i64, String)> = existing
            .indicators
            .iter()
            .filter_map(|i| Some((i.id, (i.fiche_id?, i.name.trim().to_lowercase()))))
            .collect();
        for v in &existing.values {
            if let Some(held) = by_id.get(&v.indicator_id).and_then(|k| held_indicators.get_mut(k)) {
                held.1.push((v.number, v.level.clone()));
            }
        }

        let mut problems = Vec::new();
        let mut seen_codes: HashMap<String, &str> = HashMap::new();
        let mut checked = Vec::with_capacity(fiches.len());
        for (place, fiche, means, indicators) in fiches {
            let mut mine = Vec::new();
            let resolved = match ctx.resolve(fiche.clone()) {
                Ok(r) => Some(r),
                Err(e) => {
                    mine.push(e);
                    None
                }
            };
            if let Some(r) = &resolved {
                if let Some(first) = seen_codes.insert(r.fiche.code.to_lowercase(), place) {
                    mine.push(format!("la fiche « {} » figure déjà à : {first}", r.fiche.code));
                }
            }
            let means = check_means(means, &ctx.parties).unwrap_or_else(|p| {
                mine.extend(p);
                Vec::new()
            });
            let held_id = resolved.as_ref().and_then(|r| held.get(&r.fiche.code.to_lowercase())).map(|f| f.id);
            let mut names = BTreeSet::new();
            let mut inds = Vec::with_capacity(indicators.len());
            for i in indicators {
                match check_indicator(i) {
                    Ok(i) => {
                        if !names.insert(i.name.to_lowercase()) {
                            mine.push(format!("l'indicateur « {} » figure deux fois", i.name));
                            continue;
                        }
                        let matched = held_id.and_then(|f| held_indicators.get(&(f, i.name.to_lowercase())));
                        if let Some((id, values)) = matched {
                            if let Some(e) =
                                values.iter().find_map(|(n, l)| check_value(&i.kind, *n, l.as_deref()).err())
                            {
                                mine.push(format!(
                                    "indicateur « {} » : les valeurs déjà saisies ne correspondent plus à sa définition ({e})",
                                    i.name
                                ));
                            }
                            inds.push((Some(*id), i));
                        } else {
                            inds.push((None, i));
                        }
                    }
                    Err(e) => mine.push(format!("indicateur « {} » : {e}", i.name.trim())),
                }
            }
            if !mine.is_empty() {
                problems.push(format!("{place} : {}", mine.join(" ; ")));
            } else if let Some(r) = resolved {
                let current = held.get(&r.fiche.code.to_lowercase()).copied();
                checked.push((r, current, means, inds));
            }
        }
        if !problems.is_empty() {
            return Err(StoreError::Invalid(problems.join("\n")));
        }
        let current_fiches = fiche_records(Parts {
            fiches: existing.fiches.clone(),
            ambition_links: existing.ambition_links.clone(),
            objective_links: existing.objective_links.clone(),
            ..Parts::default()
        })?;
        let before: HashMap<i64, &NewFiche> = current_fiches.iter().map(|f| (f.id, &f.fiche)).collect();

        let (mut created, mut updated) = (0u64, 0u64);
        with_db!(self, pool => {
            let mut tx = pool.begin().await?;
            for (r, current, means, indicators) in &checked {
                let label = format!("{} {}", r.fiche.code, r.fiche.title);
                let fiche_id = match current {
                    Some(row) => {
                        update_fiche_row!(&mut *tx, convention_id, row.id, r);
                        sqlx::query("UPDATE fiche SET version = version + 1 WHERE id = $1")
                            .bind(row.id)
                            .execute(&mut *tx)
                            .await?;
                        let from = status(&row.status)?;
                        if from != r.fiche.status {
                            insert_status_change!(&mut *tx, row.id, Some(from), r.fiche.status, "import", &actor.label);
                        }
                        record!(&mut *tx, &Change {
                            convention_id: Some(convention_id),
                            object_type: "fiche",
                            object_id: row.id.to_string(),
                            object_label: label,
                            action: "modification",
                            before: before.get(&row.id).map(|f| fiche_audit(f)),
                            after: Some(fiche_audit(&r.fiche)),
                            actor,
                        });
                        updated += 1;
                        row.id
                    }
                    None => {
                        let id = insert_fiche!(&mut *tx, convention_id, r);
                        insert_status_change!(&mut *tx, id, None, r.fiche.status, "création", &actor.label);
                        record!(&mut *tx, &Change {
                            convention_id: Some(convention_id),
                            object_type: "fiche",
                            object_id: id.to_string(),
                            object_label: label,
                            action: "creation",
                            before: None,
                            after: Some(fiche_audit(&r.fiche)),
                            actor,
                        });
                        created += 1;
                        id
                    }
                };
                replace_means!(&mut *tx, fiche_id, means);
                for (known, i) in indicators {
                    match known {
                        Some(id) => {
                            sqlx::query(
                                "UPDATE plan_indicator SET name = $1, definition = $2, targets = $3, version = version + 1 \
                                 WHERE id = $4",
                            )
                            .bind(&i.name)
                            .bind(json_text(&i.kind)?)
                            .bind(json_text(&i.targets)?)
                            .bind(*id)
                            .execute(&mut *tx)
                            .await?;
                        }
                        None => {
                            insert_indicator!(&mut *tx, convention_id, Some(fiche_id), i);
                        }
                    }
                }
            }
            record!(&mut *tx, &Change {
                convention_id: Some(convention_id),
                object_type: "plan_action",
                object_id: source.to_owned(),
                object_label: format!("import du plan d'action ({source})"),
                action: "import",
                before: None,
                after: Some(json!({"crees": created, "mis_a_jour": updated})),
                actor,
            });
            tx.commit().await?;
        });
        Ok((created, updated))
    }
}
