//! Tests derived from the one table of routes (`ctg_web::routes::route_table`): every route ×
//! every profile against the rights the table names (as `ctg_domain::access::decide` decides
//! them), CSRF refusal on every write, and the OpenAPI document covering every API route. A route
//! added to the table is walked without touching this file; a route cannot be served outside it.

use crate::common;

use axum::body::Body;
use common::{demo_app, login, people, send, unpublish, Reply, Who, PASSWORD};
use ctg_domain::access::{decide, Action, ConventionContext, Principal, Role};
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, Store};
use ctg_web::routes::{route_table, Access, Csrf, RouteInfo, Surface};

/// A person of the walk, with what `decide` must be told about them.
struct Profile {
    who: Who,
    principal: Option<Principal>,
    /// Their role in the published demo convention (2); nobody has one in convention 1.
    role: Option<Role>,
}

fn refused(r: &Reply) -> bool {
    let to_login = r.status == 303
        && r.headers.get("location").and_then(|l| l.to_str().ok()).is_some_and(|l| l.starts_with("/connexion"));
    r.status == 401 || r.status == 403 || to_login
}

/// The path of a route with its parameters filled: the convention `convention`, the other ids
/// from `ids` (an object of the demo where one exists, else 1).
fn fill(path: &str, convention: i64, ids: &std::collections::HashMap<&str, String>) -> String {
    path.split('/')
        .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some("id") => convention.to_string(),
            Some(name) => ids.get(name).cloned().unwrap_or_else(|| "1".into()),
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Sends the request of `route` as `who`: an empty form or JSON object, with the session's CSRF
/// token (the walk checks rights, not validation).
async fn request(app: &axum::Router, route: &RouteInfo, path: &str, who: &Who, csrf: bool) -> Reply {
    let method = route.method.as_str();
    if !route.writes() {
        return send(app, method, path, who, Body::empty(), None).await;
    }
    match route.surface {
        Surface::Api => {
            let mut who = who.clone();
            if !csrf {
                who.csrf = "faux".into();
            }
            common::send_json(app, method, path, &who, &serde_json::json!({}), who.cookie.is_some()).await
        }
        Surface::Page => {
            let token = if csrf { who.csrf.clone() } else { "faux".into() };
            let body = format!("_csrf={}", common::urlencode(&token));
            send(app, method, path, who, Body::from(body), Some("application/x-www-form-urlencoded")).await
        }
    }
}

async fn profiles(app: &axum::Router, store: &Store, people: &common::People) -> Vec<Profile> {
    let user = |id: i64| {
        let store = store.clone();
        async move { store.user(id).await.unwrap() }
    };
    let (_, read_only) =
        store.create_token(&ctg_domain::Actor::cli("test"), people.admin_id, "lecture", false).await.unwrap();
    let admin = user(people.admin_id).await;
    vec![
        Profile { who: Who { label: "anonyme", ..Who::default() }, principal: None, role: None },
        Profile {
            who: login(app, "lecteur", "louis@ctg.fr", PASSWORD).await,
            principal: Some(user(people.reader_id).await.principal(true)),
            role: Some(Role::Reader),
        },
        Profile {
            who: login(app, "contributeur", "camille@caf.fr", PASSWORD).await,
            principal: Some(user(people.contributor_id).await.principal(true)),
            role: Some(Role::Contributor),
        },
        Profile {
            who: login(app, "coordination", "claire@cabbalr.fr", PASSWORD).await,
            principal: Some(user(people.coordinator_id).await.principal(true)),
            role: Some(Role::Coordination),
        },
        Profile {
            who: login(app, "administrateur", "alice@ctg.fr", PASSWORD).await,
            principal: Some(admin.principal(true)),
            role: None,
        },
        Profile {
            who: Who { label: "jeton-lecture", token: Some(read_only), ..Who::default() },
            principal: Some(admin.principal(false)),
            role: None,
        },
    ]
}

/// Ids of demo objects for the parameters of the paths.
async fn object_ids(store: &Store, people: &common::People) -> std::collections::HashMap<&'static str, String> {
    let actor = ctg_domain::Actor::cli("test");
    let throwaway = ctg_store::NewUser {
        name: "Compte Jetable",
        email: "jetable@ctg.fr",
        organisation_id: None,
        is_admin: false,
        password: None,
        must_change_password: false,
    };
    let user = store.create_user(&actor, &throwaway).await.unwrap();
    // A token of the administrator that the walk may revoke (not the read-only one it uses).
    let (token, _) = store.create_token(&actor, people.admin_id, "à révoquer", true).await.unwrap();
    let body = store.bodies(2).await.unwrap()[0].id.to_string();
    let party = people.caf_party.to_string();
    [
        ("party", party.clone()),
        ("partie", party),
        ("user", user.to_string()),
        ("token", token.to_string()),
        ("jeton", "lien-inconnu".into()),
        ("body", body.clone()),
        ("instance", body),
        ("level", "ambitions".into()),
        ("key", "convention".into()),
        ("cle", "convention".into()),
        ("siren", "200072460".into()),
    ]
    .into_iter()
    .collect()
}

/// What the table says `profile` may do on `route` (convention `convention`, published or not).
fn expected(route: &RouteInfo, profile: &Profile, convention: i64) -> bool {
    let principal = profile.principal.as_ref();
    let (action, context): (Action, ConventionContext) = match route.access {
        Access::Public => return true,
        Access::Platform(action) => (action, ConventionContext::default()),
        Access::Convention(action) => (
            action,
            ConventionContext { published: convention == 2, role: if convention == 2 { profile.role } else { None } },
        ),
    };
    decide(principal, action.gate(principal), context, route.writes()).is_allowed()
}

/// Whether the handler may refuse more than the table says, on the object itself: a contributor's
/// rights on a party or a fiche depend on its organisation.
fn refined(route: &RouteInfo, profile: &Profile) -> bool {
    matches!(route.access, Access::Convention(Action::EditParty { .. } | Action::ReportFiche { .. }))
        && profile.role == Some(Role::Contributor)
}

backend_tests!(every_route_of_the_table_is_guarded_as_it_says, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        assert_eq!(id, 2);
        let people = people(&store, 2).await;
        // The CTG 2021-2025 (1) is not published; nobody has a role in it.
        unpublish(&store, 1).await;
        let profiles = profiles(&app, &store, &people).await;
        let ids = object_ids(&store, &people).await;
        let mut routes = route_table();
        // Logging out ends the sessions the walk uses: last.
        routes.sort_by_key(|r| r.path == "/deconnexion");
        let mut failures = Vec::new();
        let mut requests = 0;
        for route in &routes {
            let conventions: &[i64] = if matches!(route.access, Access::Convention(_)) { &[2, 1] } else { &[2] };
            for &convention in conventions {
                let path = fill(&route.path, convention, &ids);
                for profile in &profiles {
                    let r = request(&app, route, &path, &profile.who, true).await;
                    requests += 1;
                    let allowed = expected(route, profile, convention);
                    let what = format!("{} {path} ({}) en {}", route.method, route.path, profile.who.label);
                    if r.status.is_server_error() {
                        failures.push(format!("{what} : erreur {} {}", r.status, &r.body[..r.body.len().min(200)]));
                    } else if !allowed && !refused(&r) {
                        failures.push(format!("{what} : accepté ({}) alors que la table le refuse", r.status));
                    } else if allowed
                        && refused(&r)
                        && !refined(route, profile)
                        && route.csrf != Csrf::LoginForm
                        && route.path != "/deconnexion"
                    {
                        failures.push(format!(
                            "{what} : refusé ({}) alors que la table l'accepte : {}",
                            r.status,
                            &r.body[..r.body.len().min(200)]
                        ));
                    }
                }
            }
        }
        println!(
            "droits : {} routes de la table parcourues, {} profils, {requests} requêtes",
            routes.len(),
            profiles.len()
        );
        assert!(routes.len() > 150, "the table lists every route ({})", routes.len());
        assert!(failures.is_empty(), "{} écarts :\n{}", failures.len(), failures.join("\n"));
    }
});

backend_tests!(every_write_of_the_table_refuses_a_forged_request, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, _) = demo_app(&store).await;
        let people = people(&store, 2).await;
        let ids = object_ids(&store, &people).await;
        let admin = login(&app, "administrateur", "alice@ctg.fr", PASSWORD).await;
        let writes: Vec<RouteInfo> =
            route_table().into_iter().filter(|r| r.writes() && r.csrf == Csrf::Session).collect();
        let mut failures = Vec::new();
        for route in &writes {
            let path = fill(&route.path, 2, &ids);
            // Without the token, and with a wrong one.
            let mut no_token = admin.clone();
            no_token.csrf = String::new();
            for (who, label) in [(&no_token, "sans jeton"), (&admin, "jeton faux")] {
                let r = request(&app, route, &path, who, false).await;
                if r.status != 403 || !r.body.contains("anti-falsification") {
                    failures.push(format!(
                        "{} {path} {label} : {} {}",
                        route.method,
                        r.status,
                        &r.body[..r.body.len().min(200)]
                    ));
                }
            }
        }
        // The session still works: nothing above logged it out.
        let r = common::get_as(&app, "/compte", &admin).await;
        assert_eq!(r.status, 200);
        println!("CSRF : {} routes d'écriture parcourues (2 requêtes falsifiées chacune)", writes.len());
        assert!(writes.len() > 80, "every write of the table ({})", writes.len());
        assert!(failures.is_empty(), "{} écarts :\n{}", failures.len(), failures.join("\n"));
    }
});

#[tokio::test]
async fn the_openapi_document_describes_every_api_route_of_the_table() {
    let db = TestDb::new(ctg_store::Backend::Sqlite).await;
    let app = ctg_web::router(ctg_web::AppState::new(db.store.clone()));
    let r = common::get(&app, "/api/v1/openapi.json").await;
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let table = route_table();
    let api: Vec<&RouteInfo> = table.iter().filter(|r| r.surface == Surface::Api).collect();
    for route in &table {
        assert_eq!(
            route.path.starts_with("/api/"),
            route.surface == Surface::Api,
            "{} is under /api/ exactly when it is an API route",
            route.path
        );
    }
    let mut documented = 0;
    for route in &api {
        let method = route.method.as_str().to_lowercase();
        assert!(
            doc["paths"][&route.path][&method].is_object(),
            "{} {} is served but not in the OpenAPI document",
            route.method,
            route.path
        );
        documented += 1;
    }
    // And the other way: nothing is documented that is not served.
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let served = api.iter().any(|r| &r.path == path && r.method.as_str().eq_ignore_ascii_case(method));
            assert!(served || method == "parameters", "{method} {path} is documented but not served");
            operations += 1;
        }
    }
    assert_eq!(operations, api.len());
    assert!(doc["components"]["schemas"]["TerritoireDto"]["properties"]["totaux"].is_object());
    assert!(doc["components"]["securitySchemes"]["jeton"].is_object());
    println!("OpenAPI : {documented} routes d'API de la table, toutes décrites ; {operations} opérations décrites");
    db.finish().await;
}

backend_tests!(a_bad_version_is_a_bad_request_naming_the_field_not_a_conflict, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, _) = demo_app(&store).await;
        people(&store, 2).await;
        let claire = login(&app, "coordination", "claire@cabbalr.fr", PASSWORD).await;
        // The API: a version that is not a positive integer.
        for bad in [serde_json::json!("abc"), serde_json::json!(-1), serde_json::json!(1.5)] {
            let body = serde_json::json!({"version": bad, "titre": "CTG", "debut": "2026-01-01", "fin": "2030-12-31",
                "statut": "signee", "lieu_signature": null, "publiee": true});
            let r = common::put_json(&app, "/api/v1/conventions/2", &claire, &body, true).await;
            assert_eq!(r.status, 400, "{bad}: {}", r.body);
            assert!(r.json()["error"]["message"].as_str().unwrap().contains("« version »"), "{}", r.body);
        }
        // A page form.
        let r = common::post_form(
            &app,
            "/conventions/2/modifier",
            &claire,
            &[
                ("version", "douze"),
                ("title", "CTG"),
                ("start", "2026-01-01"),
                ("end", "2030-12-31"),
                ("status", "signee"),
            ],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("« version »"), "{}", r.body);
        // A path id that is not one: a French 404 naming the object.
        let r = common::get(&app, "/api/v1/conventions/2/plan/fiches/abc").await;
        assert_eq!(r.status, 404);
        assert_eq!(r.json()["error"]["message"], "La fiche « abc » n'existe pas");
        // A date that does not exist, in a JSON body: French words, not chrono's.
        let body = serde_json::json!({"version": 1, "titre": "CTG", "debut": "2026-02-30", "fin": "2030-12-31",
            "statut": "signee", "lieu_signature": null, "publiee": true});
        let r = common::put_json(&app, "/api/v1/conventions/2", &claire, &body, true).await;
        assert_eq!(r.status, 400);
        let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.contains("date inexistante") && !message.contains("out of range"), "{message}");
        // A query string a page cannot read: a French page, not axum's English text.
        let r = common::get(&app, "/conventions/2/evaluation?annee=1&annee=2").await;
        assert_eq!(r.status, 400);
        assert!(r.content_type.starts_with("text/html") && r.body.contains("aramètres de l"), "{}", r.body);
        // An unknown object is named whole, not « La fiche n° 999 » cut short.
        let r = common::get(&app, "/api/v1/conventions/2/plan/fiches/999").await;
        assert_eq!(r.status, 404);
        assert_eq!(r.json()["error"]["message"], "La fiche n° 999 n'existe pas dans cette convention");
    }
});

/// The OpenAPI document names each schema by its type's name: two types of the same name would make
/// one replace the other, silently (a `SommeDto` of the territory and one of « Qui finance quoi » did).
/// Every type deriving `ToSchema` in the sources of `ctg-web` has its own name.
#[test]
fn every_schema_of_the_api_has_its_own_name() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ctg-web/src");
    let mut stack = vec![root];
    let mut seen: std::collections::BTreeMap<String, Vec<String>> = std::collections::BTreeMap::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                if !(line.contains("#[derive(") && line.contains("ToSchema")) {
                    continue;
                }
                // The item's name: the first `struct` or `enum` line after the derive.
                let name = lines[i + 1..].iter().find_map(|l| {
                    let l = l.trim_start().trim_start_matches("pub ").trim_start_matches("pub(crate) ");
                    l.strip_prefix("struct ").or_else(|| l.strip_prefix("enum ")).map(|rest| {
                        rest.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap_or("").to_owned()
                    })
                });
                let name = name.unwrap_or_else(|| panic!("{}:{}: a derive without an item", path.display(), i + 1));
                seen.entry(name).or_default().push(format!("{}:{}", path.display(), i + 1));
            }
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, places)| places.len() > 1).collect();
    assert!(twice.is_empty(), "schema names given twice: {twice:?}");
    assert!(seen.len() > 100, "{} schemas found: the walk missed the sources", seen.len());
    println!("{} schémas de l'API, chacun sous son propre nom", seen.len());
}
