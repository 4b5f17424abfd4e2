//! The open decisions of every body.

#[allow(unused_imports)]
use super::*;

// The open decisions of every body

#[derive(Template)]
#[template(path = "governance_decisions.html")]
pub(super) struct DecisionsPage {
    nav: Nav,
    id: i64,
    title: String,
    today: String,
    today_iso: String,
    can_manage: bool,
    lines: Vec<OpenLine>,
    overdue: usize,
    exports: Vec<(String, String)>,
    errors: FormErrors,
}

pub(super) fn decisions_table(plan: &Plan, open: &[OpenDecision]) -> Table {
    Table {
        title: "Décisions ouvertes".into(),
        columns: vec![
            Column::new("echeance", "Échéance"),
            Column::new("decision", "Décision"),
            Column::new("fiches", "Fiches action"),
            Column::new("suivi_par", "Suivi par"),
            Column::new("instance", "Instance"),
            Column::new("seance", "Séance"),
            Column::new("en_retard", "Échéance dépassée"),
            Column::new("jours_de_retard", "Jours de retard"),
        ],
        rows: open
            .iter()
            .map(|o| {
                let d = &o.decision;
                vec![
                    d.data.due.map_or(Value::Empty, Value::Date),
                    Value::Text(d.data.text.clone()),
                    Value::Text(codes_of(plan, &d.data.fiches).replace(", ", ";")),
                    Value::Text(d.data.follow_up.clone()),
                    Value::Text(o.body_name.clone()),
                    Value::Date(o.meeting_date),
                    Value::Text(if o.overdue { "oui" } else { "non" }.into()),
                    Value::Integer(o.days_overdue),
                ]
            })
            .collect(),
    }
}

pub(super) async fn decisions_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    q: ExportQuery,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let summary = state.store.convention_summary(id).await?;
    let today = state.today();
    let plan = state.store.plan(id).await?;
    let open = state.store.open_decisions(id, today).await?;
    if let Some(format) = q.format()? {
        let source = crate::export::source(state, id, &[]).await?;
        return Ok(download(&decisions_table(&plan, &open), format, &format!("decisions-ouvertes-{id}"), &source)?);
    }
    let page = DecisionsPage {
        nav: Nav::of(auth),
        id,
        title: summary.title,
        today: date_short(today),
        today_iso: today.to_string(),
        can_manage: state.may(auth, Action::ManageGovernance, Some(id)).await,
        overdue: open.iter().filter(|o| o.overdue).count(),
        lines: open.iter().map(|o| open_line(o, &plan, id)).collect(),
        exports: links(&format!("/conventions/{id}/decisions"), &[], None),
        errors,
    };
    Ok((status, Html(page.render()?)).into_response())
}

/// The decisions still open across all the bodies, by due date, those overdue flagged.
pub async fn decisions(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    crate::api_query::PageQuery(q): crate::api_query::PageQuery<ExportQuery>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    decisions_page(&state, &auth, id, q, FormErrors::new(), StatusCode::OK).await
}

// ---------------------------------------------------------------------------------------------
