//! The tree: enjeu → ambition → objective → fiche, with progress.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// The tree

pub(crate) struct TreeFiche {
    id: i64,
    code: String,
    title: String,
    status: &'static str,
    status_code: &'static str,
    bar: Bar,
    subs: Vec<(String, &'static str, u8)>,
    /// « En retard de N jours », or empty.
    late: String,
}

pub(crate) struct TreeObjective {
    code: String,
    title: String,
    fiches: Vec<TreeFiche>,
}

pub(crate) struct TreeAmbition {
    number: i64,
    title: String,
    bar: Bar,
    objectives: Vec<TreeObjective>,
    /// Fiches of the ambition attached to no objective of it.
    loose: Vec<TreeFiche>,
}

pub(crate) struct TreeStake {
    number: i64,
    title: String,
    bar: Bar,
    ambitions: Vec<TreeAmbition>,
}

#[derive(Template)]
#[template(path = "plan.html")]
pub(super) struct PlanPage {
    nav: Nav,
    id: i64,
    title: String,
    can_edit: bool,
    overall: Bar,
    fiche_count: usize,
    stakes: Vec<TreeStake>,
    orphans: Vec<TreeFiche>,
}

pub(super) fn tree_fiche(v: &PlanView, f: &FicheRecord) -> TreeFiche {
    // Sub-actions in order, second level indented.
    let mut subs = Vec::new();
    for s in f.subs.iter().filter(|s| s.sub.parent.is_none()) {
        subs.push((s.sub.title.clone(), s.sub.status.label(), 1));
        for c in f.subs.iter().filter(|c| c.sub.parent == Some(s.sub.id)) {
            subs.push((c.sub.title.clone(), c.sub.status.label(), 2));
        }
    }
    TreeFiche {
        id: f.id,
        code: f.fiche.code.clone(),
        title: f.fiche.title.clone(),
        status: f.fiche.status.label(),
        status_code: f.fiche.status.code(),
        bar: bar(v.fiche_progress[&f.id]),
        subs,
        late: v.fiche_late_badge(f),
    }
}

pub async fn tree(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load_outline(&state, id).await?;
    let stakes = v
        .plan
        .stakes
        .iter()
        .map(|(number, title, ambitions)| TreeStake {
            number: *number,
            title: title.clone(),
            bar: bar(v.stake_progress.get(number).copied().flatten()),
            ambitions: ambitions
                .iter()
                .map(|(a, atitle)| {
                    let fiches: Vec<&FicheRecord> =
                        v.plan.fiches.iter().filter(|f| f.fiche.ambitions.contains(a)).collect();
                    let objectives: Vec<TreeObjective> = v
                        .plan
                        .objectives
                        .iter()
                        .filter(|o| o.objective.ambition == *a)
                        .map(|o| TreeObjective {
                            code: o.objective.code.clone(),
                            title: o.objective.title.clone(),
                            fiches: fiches
                                .iter()
                                .filter(|f| f.fiche.objectives.contains(&o.objective.code))
                                .map(|f| tree_fiche(&v, f))
                                .collect(),
                        })
                        .collect();
                    let own: Vec<&str> = objectives.iter().map(|o| o.code.as_str()).collect();
                    TreeAmbition {
                        number: *a,
                        title: atitle.clone(),
                        bar: bar(v.ambition_progress.get(a).copied().flatten()),
                        loose: fiches
                            .iter()
                            .filter(|f| !f.fiche.objectives.iter().any(|o| own.contains(&o.as_str())))
                            .map(|f| tree_fiche(&v, f))
                            .collect(),
                        objectives,
                    }
                })
                .collect(),
        })
        .collect();
    let page = PlanPage {
        nav: Nav::of(&auth),
        id,
        title: v.convention.title.clone(),
        can_edit: state.may(&auth, Action::EditPlan, Some(id)).await,
        overall: bar(v.overall),
        fiche_count: v.plan.fiches.len(),
        orphans: v.plan.fiches.iter().filter(|f| f.fiche.ambitions.is_empty()).map(|f| tree_fiche(&v, f)).collect(),
        stakes,
    };
    Ok(Html(page.render()?).into_response())
}
