//! The API reference as a readable page, in French (`GET /api/v1/reference`): built at each request
//! from the OpenAPI document that `/api/v1/openapi.json` serves, so that the two never disagree. Per
//! path and method: summary, description, authentication, parameters, request body and responses
//! with their codes; then every schema with its fields. No script and no inline style (strict CSP).

use std::collections::BTreeSet;

use askama::Template;
use axum::response::Html;
use serde_json::{Map, Value};

use crate::auth::Auth;
use crate::views::Nav;
use crate::PageError;

/// The methods an OpenAPI path item may hold, in the order they are shown.
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

/// A piece of a type as shown: plain text, or the name of a schema linked to its description.
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    text: String,
    /// `#schema-Name` for a schema, empty for plain text.
    href: String,
}

impl Segment {
    fn text(s: impl Into<String>) -> Self {
        Self { text: s.into(), href: String::new() }
    }
}

#[derive(Debug)]
struct Parameter {
    name: String,
    location: &'static str,
    required: bool,
    ty: Vec<Segment>,
    description: String,
}

#[derive(Debug)]
struct Content {
    media_type: String,
    ty: Vec<Segment>,
}

#[derive(Debug)]
struct RequestBody {
    required: bool,
    description: String,
    contents: Vec<Content>,
}

#[derive(Debug)]
struct Response {
    status: String,
    description: String,
    contents: Vec<Content>,
}

#[derive(Debug)]
struct Operation {
    anchor: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    /// How to authenticate, when the operation says so; empty otherwise.
    security: String,
    parameters: Vec<Parameter>,
    body: Option<RequestBody>,
    responses: Vec<Response>,
}

#[derive(Debug)]
struct Field {
    name: String,
    required: bool,
    ty: Vec<Segment>,
    description: String,
}

#[derive(Debug)]
struct SchemaView {
    name: String,
    anchor: String,
    description: String,
    /// The type, for a schema that is not an object with fields (an array, an enumeration…).
    ty: Vec<Segment>,
    /// The schemas whose fields this one also has (`allOf`).
    includes: Vec<Segment>,
    fields: Vec<Field>,
}

#[derive(Debug)]
struct SecurityScheme {
    name: String,
    description: String,
}

#[derive(Template)]
#[template(path = "api_reference.html")]
struct ReferencePage {
    nav: Nav,
    title: String,
    version: String,
    description: String,
    security_schemes: Vec<SecurityScheme>,
    operations: Vec<Operation>,
    schemas: Vec<SchemaView>,
}

/// La référence de l'API, pour les personnes : le document OpenAPI mis en page, en français.
#[utoipa::path(
    get,
    path = "/api/v1/reference",
    responses((status = 200, description = "La référence de l'API, en HTML", content_type = "text/html", body = String))
)]
pub(crate) async fn page(auth: Auth) -> Result<Html<String>, PageError> {
    let document =
        serde_json::to_value(crate::convention::api::document()).map_err(|e| crate::WebError::Internal(Box::new(e)))?;
    Ok(Html(ReferencePage::new(Nav::of(&auth), &document).render()?))
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// An id usable in a URL fragment: letters and digits kept, runs of anything else turned into `-`.
fn anchor(parts: &[&str]) -> String {
    let mut out = String::new();
    for c in parts.join("-").chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

fn schema_anchor(name: &str) -> String {
    format!("schema-{}", anchor(&[name]))
}

impl ReferencePage {
    fn new(nav: Nav, doc: &Value) -> Self {
        let info = doc.get("info").unwrap_or(&Value::Null);
        let empty = Map::new();
        let paths = doc.get("paths").and_then(Value::as_object).unwrap_or(&empty);
        let mut operations = Vec::new();
        for (path, item) in paths {
            let shared: &[Value] = item.get("parameters").and_then(Value::as_array).map_or(&[], Vec::as_slice);
            for method in METHODS {
                if let Some(op) = item.get(method) {
                    operations.push(Operation::new(doc, path, method, op, shared));
                }
            }
        }
        let components = doc.get("components").unwrap_or(&Value::Null);
        let schemas = components
            .get("schemas")
            .and_then(Value::as_object)
            .map(|s| s.iter().map(|(name, schema)| SchemaView::new(name, schema)).collect())
            .unwrap_or_default();
        let security_schemes = components
            .get("securitySchemes")
            .and_then(Value::as_object)
            .map(|s| {
                s.iter()
                    .map(|(name, scheme)| SecurityScheme {
                        name: name.clone(),
                        description: scheme_description(scheme),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            nav,
            title: str_of(info, "title").to_owned(),
            version: str_of(info, "version").to_owned(),
            description: str_of(info, "description").to_owned(),
            security_schemes,
            operations,
            schemas,
        }
    }
}

/// « Bearer (en-tête Authorization) — Jeton d'API … », from a security scheme.
fn scheme_description(scheme: &Value) -> String {
    let how = match (str_of(scheme, "type"), str_of(scheme, "scheme"), str_of(scheme, "in")) {
        ("http", "bearer", _) => "en-tête Authorization: Bearer …".to_owned(),
        ("http", s, _) => format!("authentification HTTP {s}"),
        ("apiKey", _, "cookie") => format!("cookie {}", str_of(scheme, "name")),
        ("apiKey", _, "header") => format!("en-tête {}", str_of(scheme, "name")),
        ("apiKey", _, "query") => format!("paramètre de requête {}", str_of(scheme, "name")),
        (t, _, _) => t.to_owned(),
    };
    match str_of(scheme, "description") {
        "" => how,
        d => format!("{how} — {d}"),
    }
}

impl Operation {
    fn new(doc: &Value, path: &str, method: &str, op: &Value, shared: &[Value]) -> Self {
        let parameters = shared
            .iter()
            .chain(op.get("parameters").and_then(Value::as_array).into_iter().flatten())
            .map(|p| resolve(doc, p))
            .map(|p| Parameter {
                name: str_of(p, "name").to_owned(),
                location: match str_of(p, "in") {
                    "path" => "chemin",
                    "query" => "requête",
                    "header" => "en-tête",
                    "cookie" => "cookie",
                    _ => "",
                },
                required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
                ty: p.get("schema").map(type_of).unwrap_or_default(),
                description: str_of(p, "description").to_owned(),
            })
            .collect();
        let body = op.get("requestBody").map(|b| resolve(doc, b)).map(|b| RequestBody {
            required: b.get("required").and_then(Value::as_bool).unwrap_or(false),
            description: str_of(b, "description").to_owned(),
            contents: contents(b),
        });
        let responses = op
            .get("responses")
            .and_then(Value::as_object)
            .map(|r| {
                r.iter()
                    .map(|(status, response)| {
                        let response = resolve(doc, response);
                        Response {
                            status: status.clone(),
                            description: str_of(response, "description").to_owned(),
                            contents: contents(response),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let security = op
            .get("security")
            .and_then(Value::as_array)
            .map(|alternatives| {
                let names: BTreeSet<&str> = alternatives
                    .iter()
                    .filter_map(Value::as_object)
                    .flat_map(|requirement| requirement.keys().map(String::as_str))
                    .collect();
                names.into_iter().collect::<Vec<_>>().join(" ou ")
            })
            .unwrap_or_default();
        Self {
            anchor: anchor(&[method, path]),
            method: method.to_uppercase(),
            path: path.to_owned(),
            summary: str_of(op, "summary").to_owned(),
            description: str_of(op, "description").to_owned(),
            security,
            parameters,
            body,
            responses,
        }
    }
}

/// Follows a `$ref` to a component (`#/components/…`), once; anything else is returned as is.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => doc.pointer(pointer).unwrap_or(v),
        None => v,
    }
}

fn contents(v: &Value) -> Vec<Content> {
    v.get("content")
        .and_then(Value::as_object)
        .map(|c| {
            c.iter()
                .map(|(media_type, media)| Content {
                    media_type: media_type.clone(),
                    ty: media.get("schema").map(type_of).unwrap_or_else(|| vec![Segment::text("non décrit")]),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The type of a schema in French words, with the names of schemas linked.
fn type_of(schema: &Value) -> Vec<Segment> {
    let mut out = Vec::new();
    push_type(schema, &mut out);
    if out.is_empty() {
        out.push(Segment::text("valeur JSON quelconque"));
    }
    out
}

fn push_joined(items: &[Value], sep: &str, out: &mut Vec<Segment>) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(Segment::text(sep));
        }
        push_type(item, out);
    }
}

fn push_type(schema: &Value, out: &mut Vec<Segment>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        out.push(Segment { text: name.to_owned(), href: format!("#{}", schema_anchor(name)) });
        return;
    }
    for (key, sep) in [("oneOf", " ou "), ("anyOf", " ou "), ("allOf", " et ")] {
        if let Some(items) = schema.get(key).and_then(Value::as_array) {
            push_joined(items, sep, out);
            return;
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        out.push(Segment::text(format!("une valeur parmi {}", values.join(", "))));
        return;
    }
    if let Some(value) = schema.get("const") {
        out.push(Segment::text(format!("la valeur {value}")));
        return;
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    for (i, t) in types.iter().enumerate() {
        if i > 0 {
            out.push(Segment::text(" ou "));
        }
        match *t {
            "array" => {
                out.push(Segment::text("tableau de "));
                match schema.get("items") {
                    Some(items) => push_type(items, out),
                    None => out.push(Segment::text("valeurs quelconques")),
                }
            }
            "string" => out.push(Segment::text(match str_of(schema, "format") {
                "date" => "date (AAAA-MM-JJ)",
                "date-time" => "date et heure (RFC 3339)",
                "binary" => "fichier",
                _ => "chaîne",
            })),
            "integer" => out.push(Segment::text("entier")),
            "number" => out.push(Segment::text("nombre")),
            "boolean" => out.push(Segment::text("booléen")),
            "null" => out.push(Segment::text("null")),
            "object" => out.push(Segment::text("objet")),
            other => out.push(Segment::text(other)),
        }
    }
    let mut bounds = Vec::new();
    if let Some(min) = schema.get("minimum") {
        bounds.push(format!("≥ {min}"));
    }
    if let Some(max) = schema.get("maximum") {
        bounds.push(format!("≤ {max}"));
    }
    if let Some(min) = schema.get("minLength") {
        bounds.push(format!("au moins {min} caractère(s)"));
    }
    if let Some(max) = schema.get("maxLength") {
        bounds.push(format!("au plus {max} caractères"));
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        bounds.push(format!("motif {pattern}"));
    }
    if !bounds.is_empty() {
        out.push(Segment::text(format!(" ({})", bounds.join(", "))));
    }
}

impl SchemaView {
    fn new(name: &str, schema: &Value) -> Self {
        let mut fields = Vec::new();
        let mut includes = Vec::new();
        // A flattened struct is `allOf` of the schemas it includes and of its own fields.
        let parts: Vec<&Value> = match schema.get("allOf").and_then(Value::as_array) {
            Some(parts) => parts.iter().collect(),
            None => vec![schema],
        };
        for part in &parts {
            if part.get("$ref").is_some() {
                if !includes.is_empty() {
                    includes.push(Segment::text(", "));
                }
                push_type(part, &mut includes);
            } else {
                fields.extend(Field::all(part));
            }
        }
        let is_record = !fields.is_empty() || !includes.is_empty() || str_of(schema, "type") == "object";
        Self {
            name: name.to_owned(),
            anchor: schema_anchor(name),
            description: str_of(schema, "description").to_owned(),
            ty: if is_record { Vec::new() } else { type_of(schema) },
            includes,
            fields,
        }
    }
}

impl Field {
    fn all(object: &Value) -> Vec<Self> {
        let required: BTreeSet<&str> =
            object.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        object
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .map(|(name, schema)| Self {
                        name: name.clone(),
                        required: required.contains(name.as_str()),
                        ty: type_of(schema),
                        description: str_of(schema, "description").to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(segments: &[Segment]) -> String {
        segments.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn types_in_french_words() {
        let t = |v: Value| text(&type_of(&v));
        assert_eq!(t(serde_json::json!({"type": ["string", "null"], "format": "date"})), "date (AAAA-MM-JJ) ou null");
        assert_eq!(
            t(serde_json::json!({"type": "array", "items": {"type": "integer", "minimum": 1}})),
            "tableau de entier (≥ 1)"
        );
        assert_eq!(
            t(serde_json::json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/X"}]})),
            "null ou X"
        );
        assert_eq!(t(serde_json::json!({})), "valeur JSON quelconque");
        let linked = type_of(&serde_json::json!({"$ref": "#/components/schemas/VersionDto"}));
        assert_eq!(linked[0].href, "#schema-versiondto");
    }

    #[test]
    fn anchors_are_fragment_safe() {
        assert_eq!(anchor(&["get", "/api/v1/conventions/{id}/plan"]), "get-api-v1-conventions-id-plan");
    }

    #[test]
    fn every_operation_of_the_document_is_on_the_page() {
        let doc = serde_json::to_value(crate::routes::openapi()).unwrap();
        let page = ReferencePage::new(Nav::default(), &doc);
        let count: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|item| METHODS.iter().filter(|m| item.get(**m).is_some()).count())
            .sum();
        assert_eq!(page.operations.len(), count);
        assert!(page.operations.iter().all(|o| !o.responses.is_empty()), "an operation without responses");
        let html = page.render().unwrap();
        assert!(!html.contains("style=") && !html.contains("<script"), "the CSP allows neither");
    }
}
