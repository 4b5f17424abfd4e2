//! Helpers shared by the integration tests of the `ctg` crate.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use chrono::NaiveDate;
use ctg_store::Store;
use tower::ServiceExt;

/// The day the tests pretend it is: the demo convention is then in force.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).expect("valid date")
}

/// Loads the demo into `store` and returns the router and the id of the CTG 2026-2030.
pub async fn demo_app(store: &Store) -> (Router, i64) {
    let outcome = ctg::demo::load(store).await.expect("demo loads");
    let app = ctg_web::router(ctg_web::AppState::with_today(store.clone(), today()));
    (app, outcome.convention_id())
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub body: String,
    pub headers: axum::http::HeaderMap,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn html(&self) -> scraper::Html {
        scraper::Html::parse_document(&self.body)
    }
}

pub async fn get(app: &Router, path: &str) -> Reply {
    let response =
        app.clone().oneshot(Request::get(path).body(Body::empty()).expect("request")).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024).await.expect("body");
    Reply { status, content_type, body: String::from_utf8(bytes.to_vec()).expect("UTF-8"), headers }
}

/// The texts of the elements matching `selector`, whitespace collapsed.
pub fn texts(doc: &scraper::Html, selector: &str) -> Vec<String> {
    let sel = scraper::Selector::parse(selector).unwrap_or_else(|e| panic!("selector {selector}: {e:?}"));
    doc.select(&sel).map(|e| e.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" ")).collect()
}

pub fn count(doc: &scraper::Html, selector: &str) -> usize {
    let sel = scraper::Selector::parse(selector).unwrap_or_else(|e| panic!("selector {selector}: {e:?}"));
    doc.select(&sel).count()
}

/// French number formatting uses narrow no-break spaces; tests compare digits.
pub fn digits(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit() || *c == '−' || *c == '+' || *c == ',').collect()
}
