//! Helpers shared by the integration tests of the `ctg` crate.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use chrono::NaiveDate;
#[allow(unused_imports)]
use ctg_store as _;
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
/// The attribute `name` of the first element matching `selector`, or an empty string.
pub fn attr(doc: &scraper::Html, selector: &str, name: &str) -> String {
    let sel = scraper::Selector::parse(selector).expect("selector");
    doc.select(&sel).next().and_then(|e| e.value().attr(name)).unwrap_or_default().to_owned()
}

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

/// Someone making requests: anonymous, or with a session (cookie and CSRF token), or an API token.
#[derive(Debug, Clone, Default)]
pub struct Who {
    pub label: &'static str,
    pub cookie: Option<String>,
    pub csrf: String,
    pub token: Option<String>,
}

pub async fn send(app: &Router, method: &str, path: &str, who: &Who, body: Body, content_type: Option<&str>) -> Reply {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(c) = &who.cookie {
        req = req.header("cookie", c);
    }
    if let Some(t) = &who.token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let response = app.clone().oneshot(req.body(body).expect("request")).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024).await.expect("body");
    Reply { status, content_type, body: String::from_utf8_lossy(&bytes).into_owned(), headers }
}

pub async fn get_as(app: &Router, path: &str, who: &Who) -> Reply {
    send(app, "GET", path, who, Body::empty(), None).await
}

/// Posts a form; `_csrf` is added from the session unless `fields` sets it.
pub async fn post_form(app: &Router, path: &str, who: &Who, fields: &[(&str, &str)]) -> Reply {
    let mut pairs: Vec<(String, String)> = fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    if !fields.iter().any(|(k, _)| *k == "_csrf") {
        pairs.push(("_csrf".into(), who.csrf.clone()));
    }
    let body = pairs.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&");
    send(app, "POST", path, who, Body::from(body), Some("application/x-www-form-urlencoded")).await
}

pub async fn put_json(app: &Router, path: &str, who: &Who, json: &serde_json::Value, csrf_header: bool) -> Reply {
    send_json(app, "PUT", path, who, json, csrf_header).await
}

pub async fn send_json(
    app: &Router,
    method: &str,
    path: &str,
    who: &Who,
    json: &serde_json::Value,
    csrf_header: bool,
) -> Reply {
    let mut req = Request::builder().method(method).uri(path).header("content-type", "application/json");
    if let Some(c) = &who.cookie {
        req = req.header("cookie", c);
    }
    if let Some(t) = &who.token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if csrf_header {
        req = req.header("x-csrf-token", &who.csrf);
    }
    let response =
        app.clone().oneshot(req.body(Body::from(json.to_string())).expect("request")).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024).await.expect("body");
    Reply { status, content_type, body: String::from_utf8_lossy(&bytes).into_owned(), headers }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of `name` among the cookies a response sets.
pub fn set_cookie(reply: &Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next().and_then(|kv| kv.strip_prefix(&format!("{name}="))).map(str::to_owned))
}

/// The first hidden `_csrf` value of a page.
pub fn csrf_of(html: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("input[name=_csrf]").unwrap();
    doc.select(&sel).next().and_then(|e| e.value().attr("value")).unwrap_or_default().to_owned()
}

/// Logs in through the login form, as a browser would; panics when refused.
pub async fn login(app: &Router, label: &'static str, email: &str, password: &str) -> Who {
    let form = get(app, "/connexion").await;
    let login_csrf = set_cookie(&form, "ctg_csrf").expect("login CSRF cookie");
    let anon = Who { label, cookie: Some(format!("ctg_csrf={login_csrf}")), csrf: csrf_of(&form.body), token: None };
    let r = post_form(app, "/connexion", &anon, &[("email", email), ("password", password), ("suite", "/")]).await;
    assert_eq!(r.status, 303, "login of {email}: {}", r.body);
    let session = set_cookie(&r, "ctg_session").expect("session cookie");
    let cookie = format!("ctg_session={session}");
    let home = get_as(app, "/compte", &Who { cookie: Some(cookie.clone()), ..Who::default() }).await;
    Who { label, cookie: Some(cookie), csrf: csrf_of(&home.body), token: None }
}

pub const PASSWORD: &str = "Correct-Cheval-Batterie-9";

/// The people of the rights matrix, with accounts, roles on `convention` and API tokens.
pub struct People {
    pub admin_id: i64,
    pub reader_id: i64,
    pub contributor_id: i64,
    pub coordinator_id: i64,
    pub caf_party: i64,
    pub epci_party: i64,
}

/// Makes convention `id` unpublished (the CTG 2021-2025 of the demo is published): nobody without a
/// role in it may then see it.
pub async fn unpublish(store: &Store, id: i64) {
    let s = store.convention_summary(id).await.unwrap();
    let edit = ctg_store::ConventionEdit {
        title: s.title.clone(),
        start: s.start,
        end: s.end,
        status: s.status,
        signing_place: None,
        published: false,
    };
    store.update_convention(&ctg_domain::Actor::cli("test"), id, s.version, &edit).await.unwrap();
}

pub async fn people(store: &Store, convention: i64) -> People {
    use ctg_domain::access::Role;
    let actor = ctg_domain::Actor::cli("test");
    let c = store.convention(convention).await.unwrap();
    let caf = c.parties.iter().find(|p| p.party.organisation.short_name.as_deref() == Some("CAF")).unwrap();
    let epci = c.parties.iter().find(|p| p.party.organisation.short_name.as_deref() == Some("CABBALR")).unwrap();
    let mut ids = Vec::new();
    for (name, email, admin, org) in [
        ("Alice Admin", "alice@ctg.fr", true, None),
        ("Louis Lecteur", "louis@ctg.fr", false, None),
        ("Camille Contributrice", "camille@caf.fr", false, Some(caf.organisation_id)),
        ("Claire Coordination", "claire@cabbalr.fr", false, Some(epci.organisation_id)),
    ] {
        let new = ctg_store::NewUser {
            name,
            email,
            organisation_id: org,
            is_admin: admin,
            password: Some(PASSWORD),
            must_change_password: false,
        };
        ids.push(store.create_user(&actor, &new).await.unwrap());
    }
    store.set_role(&actor, convention, ids[1], Some(Role::Reader)).await.unwrap();
    store.set_role(&actor, convention, ids[2], Some(Role::Contributor)).await.unwrap();
    store.set_role(&actor, convention, ids[3], Some(Role::Coordination)).await.unwrap();
    People {
        admin_id: ids[0],
        reader_id: ids[1],
        contributor_id: ids[2],
        coordinator_id: ids[3],
        caf_party: caf.id,
        epci_party: epci.id,
    }
}

/// The raw bytes of a response (a downloaded spreadsheet).
pub async fn get_bytes(app: &Router, path: &str, who: &Who) -> (StatusCode, Vec<u8>) {
    let mut req = Request::builder().method("GET").uri(path);
    if let Some(c) = &who.cookie {
        req = req.header("cookie", c);
    }
    let response = app.clone().oneshot(req.body(Body::empty()).expect("request")).await.expect("response");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024).await.expect("body");
    (status, bytes.to_vec())
}

/// Posts a file as `multipart/form-data` (field `fichier`), with the session's CSRF token.
pub async fn post_file(app: &Router, path: &str, who: &Who, name: &str, bytes: &[u8]) -> Reply {
    let boundary = "----ctg-test-boundary-7d1f";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{}\r\n", who.csrf).as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"fichier\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    send(app, "POST", path, who, Body::from(body), Some(&format!("multipart/form-data; boundary={boundary}"))).await
}

/// Follows a redirection as a browser would, with the confirmation cookie it sets (`ctg_flash`).
pub async fn follow(app: &Router, reply: &Reply, who: &Who) -> Reply {
    let to = reply.headers["location"].to_str().unwrap().to_owned();
    let mut with_flash = who.clone();
    if let Some(flash) = reply.headers.get("set-cookie").and_then(|c| c.to_str().ok()) {
        let flash = flash.split(';').next().unwrap_or_default();
        with_flash.cookie = Some(format!("{}; {flash}", who.cookie.clone().unwrap_or_default()));
    }
    get_as(app, &to, &with_flash).await
}
