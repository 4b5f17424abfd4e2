//! Pages built on the open data of the CNAF and the INSEE (issue 15): « Préremplir le diagnostic » of a
//! convention.

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use ctg_domain::access::{Action, Channel};
use serde::Deserialize;

use crate::auth::Auth;
use crate::extract::{Ids, PageForm};
use crate::views::Nav;
use crate::{AppState, PageError};

/// The form of the action: only its CSRF token, checked by the guard.
#[derive(Debug, Default, Deserialize)]
pub struct EmptyForm {}

#[derive(Template)]
#[template(path = "diagnostic_prefill.html")]
struct PrefillPage {
    nav: Nav,
    convention_id: i64,
    convention_title: String,
    report: ctg_store::PrefillReport,
    written: String,
}

/// Builds the diagnostic of the convention's EPCI from the open data held, then shows what was filled,
/// what was kept and what is missing, and why.
pub async fn prefill(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(_form): PageForm<EmptyForm>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditConvention, Some(id)).await?;
    let convention = state.store.convention_summary(id).await?;
    let report = state.store.prefill_diagnostic(&auth.actor(Channel::Page), id).await?;
    let page = PrefillPage {
        nav: Nav::of(&auth),
        convention_id: id,
        convention_title: convention.title,
        written: ctg_domain::format::integer(report.written as i64),
        report,
    };
    Ok(Html(page.render()?).into_response())
}
