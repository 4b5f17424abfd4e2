//! The reference of the API as a page (`/api/v1/reference`): built from the OpenAPI document that
//! `/api/v1/openapi.json` serves, it shows every operation and every schema of it.

use crate::common;

use std::collections::BTreeSet;

use common::{get, texts};
use ctg_store::testing::TestDb;

#[tokio::test]
async fn the_reference_page_lists_every_path_of_the_document() {
    let db = TestDb::new(ctg_store::Backend::Sqlite).await;
    let app = ctg_web::router(ctg_web::AppState::new(db.store.clone()));
    let doc = get(&app, "/api/v1/openapi.json").await.json();
    let page = get(&app, "/api/v1/reference").await;
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"), "{}", page.content_type);
    let html = page.html();

    // Every path and method of the document, as « METHOD /path » headings, and nothing else.
    let mut expected = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_some() {
                expected.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(expected.len() >= 50, "{expected:?}");
    // OpenAPI requires each operation id to be unique (utoipa takes the handler's name): two handlers
    // called `api` made the document invalid for openapi-spec-validator.
    let mut ids = std::collections::BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Some(id) = op.get("operationId").and_then(|v| v.as_str()) {
                if let Some(other) = ids.insert(id.to_owned(), format!("{method} {path}")) {
                    panic!("operationId « {id} » used twice: {other} and {method} {path}");
                }
            }
        }
    }
    let listed: BTreeSet<String> = texts(&html, ".api-operation h3").into_iter().collect();
    assert_eq!(listed, expected);
    // The table of contents links to each of them.
    assert_eq!(texts(&html, ".api-toc li").len(), expected.len());

    // Every schema of the document, with its fields.
    let schemas: BTreeSet<String> = doc["components"]["schemas"].as_object().unwrap().keys().cloned().collect();
    let shown: BTreeSet<String> = texts(&html, ".api-schema h3").into_iter().collect();
    assert_eq!(shown, schemas);
    let fields = texts(&html, "section[aria-labelledby=\"schema-conventioneditdto\"] tbody th");
    assert!(fields.contains(&"lieu_signature".to_owned()), "{fields:?}");

    // An operation in full: its summary, its parameter, its body, and every response code.
    let section = |anchor: &str| {
        let selector = format!("section[aria-labelledby=\"{anchor}\"]");
        let sel = scraper::Selector::parse(&selector).unwrap();
        html.select(&sel).next().unwrap_or_else(|| panic!("no section {anchor}")).html()
    };
    let put = section("put-api-v1-conventions-id");
    assert!(put.contains("Modifie une convention"), "{put}");
    assert!(put.contains("Corps de la requête (obligatoire)"), "{put}");
    assert!(put.contains("href=\"#schema-conventioneditdto\""), "{put}");
    for code in ["200", "400", "401", "403", "404", "409"] {
        assert!(put.contains(&format!("<th scope=\"row\">{code}</th>")), "{code} missing: {put}");
    }
    assert!(put.contains("Version dépassée"), "{put}");

    // Every link within the page lands on an element of it.
    let ids: BTreeSet<String> = html
        .select(&scraper::Selector::parse("[id]").unwrap())
        .filter_map(|e| e.value().attr("id").map(str::to_owned))
        .collect();
    for a in html.select(&scraper::Selector::parse("a[href^=\"#\"]").unwrap()) {
        let target = &a.value().attr("href").unwrap()[1..];
        assert!(ids.contains(target), "a link to #{target}, which is not on the page");
    }

    // The strict CSP of the site: no script, no inline style.
    assert!(!page.body.contains("<script") && !page.body.contains("style="));
    db.finish().await;
}
