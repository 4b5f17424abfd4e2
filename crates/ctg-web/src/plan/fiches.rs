//! The table of fiches, with filters and sorting.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------------------------------------
// The table of fiches

#[derive(Debug, Default, Deserialize)]
pub struct FicheFilter {
    #[serde(default)]
    pub statut: String,
    #[serde(default)]
    pub pilote: String,
    #[serde(default)]
    pub ambition: String,
    #[serde(default)]
    pub commune: String,
    #[serde(default)]
    pub partenaire: String,
    #[serde(default)]
    pub tri: String,
    #[serde(flatten)]
    pub export: ExportQuery,
}

impl FicheFilter {
    pub(crate) fn keeps(&self, f: &NewFiche) -> bool {
        let eq = |a: &str, b: &str| ctg_domain::plan::loose(a) == ctg_domain::plan::loose(b);
        (self.statut.is_empty() || f.status.code() == self.statut)
            && (self.pilote.is_empty() || eq(&f.pilot_organisation, &self.pilote))
            && (self.ambition.is_empty() || f.ambitions.iter().any(|a| a.to_string() == self.ambition))
            && (self.commune.is_empty()
                || f.communes.is_empty()
                || f.communes.iter().any(|c| c.as_str() == self.commune))
            && (self.partenaire.is_empty() || f.partners.iter().any(|p| eq(p, &self.partenaire)))
    }
}

pub(crate) struct FicheLine {
    id: i64,
    code: String,
    title: String,
    pilot: String,
    status: &'static str,
    status_code: &'static str,
    end: String,
    bar: Bar,
    completeness: u32,
    /// « En retard de N jours », or empty.
    late: String,
}

#[derive(Template)]
#[template(path = "fiches.html")]
pub(super) struct FichesPage {
    nav: Nav,
    id: i64,
    title: String,
    can_edit: bool,
    filter: FicheFilter,
    statuses: Vec<(String, String)>,
    pilots: Vec<String>,
    partners: Vec<String>,
    ambitions: Vec<(String, String)>,
    communes: Vec<(String, String)>,
    lines: Vec<FicheLine>,
    sorts: Vec<(String, String)>,
    exports: Vec<(String, String)>,
}

pub(super) fn sorted<'a>(v: &PlanView, mut list: Vec<&'a FicheRecord>, key: &str) -> Vec<&'a FicheRecord> {
    match key {
        "intitule" => list.sort_by_cached_key(|f| ctg_domain::format::collation_key(&f.fiche.title)),
        "statut" => list.sort_by_key(|f| f.fiche.status.label()),
        "fin" => list.sort_by_key(|f| (f.fiche.end.is_none(), f.fiche.end)),
        "avancement" => list.sort_by(|a, b| {
            let p = |f: &FicheRecord| v.fiche_progress[&f.id].unwrap_or(-1.0);
            p(b).total_cmp(&p(a))
        }),
        _ => list.sort_by(|a, b| ctg_domain::parse::natural_cmp(&a.fiche.code, &b.fiche.code)),
    }
    list
}

pub(crate) fn fiches_table(v: &PlanView, list: &[&FicheRecord]) -> Table {
    Table {
        title: "Fiches action".into(),
        columns: vec![
            Column::new("code", "Code"),
            Column::new("intitule", "Intitulé"),
            Column::new("statut", "Statut"),
            Column::new("avancement", "Avancement"),
            Column::new("pilote_organisation", "Pilote (organisation)"),
            Column::new("pilote_personne", "Pilote (personne)"),
            Column::new("ambitions", "Ambitions"),
            Column::new("debut", "Début"),
            Column::new("fin", "Fin"),
            Column::new("completude", "Complétude"),
        ],
        rows: list
            .iter()
            .map(|f| {
                let d = &f.fiche;
                vec![
                    Value::Text(d.code.clone()),
                    Value::Text(d.title.clone()),
                    Value::Text(d.status.label().into()),
                    v.fiche_progress[&f.id].map_or(Value::Empty, Value::Percent),
                    Value::Text(d.pilot_organisation.clone()),
                    Value::Text(d.pilot_person.clone()),
                    Value::Text(d.ambitions.iter().map(i64::to_string).collect::<Vec<_>>().join(";")),
                    d.start.map_or(Value::Empty, Value::Date),
                    d.end.map_or(Value::Empty, Value::Date),
                    Value::Percent(f64::from(v.completeness(f).1)),
                ]
            })
            .collect(),
    }
}

pub async fn fiches(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    crate::api_query::PageQuery(filter): crate::api_query::PageQuery<FicheFilter>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let v = PlanView::load(&state, id).await?;
    let list = sorted(&v, v.plan.fiches.iter().filter(|f| filter.keeps(&f.fiche)).collect(), &filter.tri);
    if let Some(format) = filter.export.format()? {
        let source = crate::export::source(&state, id, &[]).await?;
        return Ok(download(&fiches_table(&v, &list), format, &format!("fiches-{id}"), &source)?);
    }
    let mut pilots: Vec<String> =
        v.plan.fiches.iter().map(|f| f.fiche.pilot_organisation.clone()).filter(|p| !p.is_empty()).collect();
    pilots.sort();
    pilots.dedup();
    let mut partners: Vec<String> = v.plan.fiches.iter().flat_map(|f| f.fiche.partners.iter().cloned()).collect();
    partners.sort();
    partners.dedup();
    let lines = list
        .iter()
        .map(|f| FicheLine {
            id: f.id,
            code: f.fiche.code.clone(),
            title: f.fiche.title.clone(),
            pilot: f.fiche.pilot_organisation.clone(),
            status: f.fiche.status.label(),
            status_code: f.fiche.status.code(),
            end: f.fiche.end.map(|d| d.format("%d/%m/%Y").to_string()).unwrap_or_default(),
            bar: bar(v.fiche_progress[&f.id]),
            completeness: v.completeness(f).1,
            late: v.fiche_late_badge(f),
        })
        .collect();
    let query = [
        ("statut", filter.statut.clone()),
        ("pilote", filter.pilote.clone()),
        ("ambition", filter.ambition.clone()),
        ("commune", filter.commune.clone()),
        ("partenaire", filter.partenaire.clone()),
        ("tri", filter.tri.clone()),
    ];
    let page = FichesPage {
        nav: Nav::of(&auth),
        id,
        title: v.convention.title.clone(),
        can_edit: state.may(&auth, Action::EditPlan, Some(id)).await,
        statuses: FicheStatus::ALL.iter().map(|s| (s.code().to_owned(), s.label().to_owned())).collect(),
        pilots,
        partners,
        ambitions: v
            .plan
            .stakes
            .iter()
            .flat_map(|(_, _, a)| a.iter())
            .map(|(n, t)| (n.to_string(), format!("{n}. {t}")))
            .collect(),
        communes: v.communes.iter().map(|(c, n)| (c.to_string(), n.clone())).collect(),
        lines,
        sorts: [
            ("code", "Code"),
            ("intitule", "Intitulé"),
            ("statut", "Statut"),
            ("fin", "Échéance"),
            ("avancement", "Avancement"),
        ]
        .iter()
        .map(|(k, l)| ((*k).to_owned(), (*l).to_owned()))
        .collect(),
        exports: links(&format!("/conventions/{id}/plan/fiches"), &query, None),
        filter,
    };
    Ok(Html(page.render()?).into_response())
}
