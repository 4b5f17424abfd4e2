//! The bodies of the web crate's writing routes, through `ctg_web::router`: every form (urlencoded)
//! and every JSON body of the API, as an administrator with a live session, on a SQLite database
//! loaded with the demo. A panic or a 500 answer is a finding.
//!
//! Input: one byte choosing the route, one byte choosing the ids of the path (other than the
//! convention's), then the body.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use ctg_web::routes::{route_table, RouteInfo, Surface};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

struct World {
    runtime: tokio::runtime::Runtime,
    app: Router,
    routes: Vec<RouteInfo>,
    convention: i64,
    cookie: String,
    csrf: String,
    _dir: tempfile::TempDir,
}

/// Routes left out: they end the session or the account, hash passwords (slow by design), or end
/// the demo convention (every later request would then only be refused).
const LEFT_OUT: [&str; 7] =
    ["/connexion", "/deconnexion", "/compte/", "/admin/", "/rgpd/", "/vie/resiliation", "/documents"];

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("fuzz.db").display());
        let (app, convention, cookie, csrf) = runtime.block_on(async {
            let store = ctg_store::Store::open(&url).await.expect("open the database");
            let convention = ctg::demo::load(&store).await.expect("demo loads").convention_id();
            let actor = ctg_domain::Actor::cli("fuzz");
            let admin = ctg_store::NewUser {
                name: "Fuzz Admin",
                email: "fuzz@ctg.fr",
                organisation_id: None,
                is_admin: true,
                password: None,
                must_change_password: false,
            };
            let user = store.create_user(&actor, &admin).await.expect("admin");
            let (secret, csrf) =
                store.create_session(user, chrono::Utc::now(), chrono::Duration::days(30)).await.expect("session");
            let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).expect("date");
            let app = ctg_web::router(ctg_web::AppState::with_today(store, today));
            (app, convention, format!("{}={secret}", ctg_web::auth::SESSION_COOKIE), csrf)
        });
        let routes = route_table()
            .into_iter()
            .filter(|r| r.writes() && !LEFT_OUT.iter().any(|p| r.path.contains(p)) && !r.path.ends_with("/import"))
            .collect();
        World { runtime, app, routes, convention, cookie, csrf, _dir: dir }
    })
}

/// The path with `{id}` the demo convention and every other parameter `n`.
fn concrete(path: &str, convention: i64, n: u8) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map_or(rest.len(), |e| start + e + 1);
        let name = &rest[start + 1..end - 1];
        if name == "id" {
            out.push_str(&convention.to_string());
        } else if name == "level" {
            out.push_str(["ambitions", "orientations", "sous-actions", "objectifs"][usize::from(n) % 4]);
        } else {
            out.push_str(&(i64::from(n % 8) + 1).to_string());
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fuzz_target!(|data: &[u8]| {
    let [which, n, body @ ..] = data else { return };
    let w = world();
    let route = &w.routes[usize::from(*which) % w.routes.len()];
    let path = concrete(&route.path, w.convention, *n);
    let mut req = Request::builder()
        .method(route.method.clone())
        .uri(&path)
        .header("cookie", &w.cookie)
        .header(ctg_web::auth::CSRF_HEADER, &w.csrf);
    let body = match route.surface {
        Surface::Api => {
            req = req.header("content-type", "application/json");
            body.to_vec()
        }
        Surface::Page => {
            req = req.header("content-type", "application/x-www-form-urlencoded");
            let mut form = format!("_csrf={}&", w.csrf).into_bytes();
            form.extend_from_slice(body);
            form
        }
    };
    let request = req.body(Body::from(body)).expect("request");
    let (status, bytes) = w.runtime.block_on(async {
        let response = w.app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024).await.expect("body");
        (status, bytes)
    });
    assert!(
        status != StatusCode::INTERNAL_SERVER_ERROR,
        "{} {path} answered 500: {}",
        route.method,
        String::from_utf8_lossy(&bytes)
    );
});
