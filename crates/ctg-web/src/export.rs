//! The one download mechanism of every table page: the page builds a [`Table`] of what it shows (already
//! masked for the public), and `?format=csv|xlsx|ods` (with `&tableau=…` when a page has several)
//! returns it as a file instead of the page. Every file carries the source and the date of its data
//! ([`source`], art. 9 of the convention).

use axum::http::header;
use axum::response::{IntoResponse, Response};
use ctg_report::table::{ExportFormat, Source, Table};
use serde::Deserialize;

use crate::{AppState, WebError};

/// The query parameters of a download.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub tableau: Option<String>,
}

impl ExportQuery {
    /// The format asked for, if any; an unknown one is a clear 400.
    pub fn format(&self) -> Result<Option<ExportFormat>, WebError> {
        match self.format.as_deref().map(str::trim).filter(|f| !f.is_empty()) {
            None => Ok(None),
            Some(f) => ExportFormat::parse(f).map(Some).ok_or_else(|| {
                WebError::BadRequest(format!(
                    "format de téléchargement inconnu « {f} » (formats admis : csv, csv-virgule, xlsx, ods)"
                ))
            }),
        }
    }

    /// Whether the download asks for this table (`tableau` absent means the page's first table).
    pub fn wants(&self, table: &str, first: bool) -> bool {
        match self.tableau.as_deref() {
            None | Some("") => first,
            Some(t) => t == table,
        }
    }
}

/// The query of a CSV-only download: `?format=csv-virgule` (or `virgule`) for commas, anything
/// else for the French CSV (`;`, byte order mark).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct CsvQuery {
    #[serde(default)]
    pub format: Option<String>,
}

impl CsvQuery {
    pub fn dialect(&self) -> ctg_report::table::CsvDialect {
        ctg_report::table::CsvDialect::from_query(self.format.as_deref())
    }
}

/// The source of an export of convention `id`, as read today: the platform and the convention, then
/// `producers` (who produced the figures shown, e.g. « Insee, populations légales »), each once.
pub async fn source(state: &AppState, id: i64, producers: &[&str]) -> Result<Source, WebError> {
    let title = state.store.convention_summary(id).await?.title;
    let mut origin = format!("Plateforme CTG, convention « {} »", title.trim());
    let mut seen: Vec<&str> = Vec::new();
    for p in producers.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        if !seen.contains(&p) {
            seen.push(p);
        }
    }
    if !seen.is_empty() {
        origin.push_str(&format!(" ; données produites par : {}", seen.join(" ; ")));
    }
    Ok(Source { origin, as_of: state.today() })
}

/// The file of a table, named `stem.ext`, with the source of its data.
pub fn download(table: &Table, format: ExportFormat, stem: &str, source: &Source) -> Result<Response, WebError> {
    download_book(std::slice::from_ref(table), format, stem, source)
}

/// The workbook of several tables, one sheet each (a CSV holds the first), named `stem.ext`.
pub fn download_book(
    tables: &[Table],
    format: ExportFormat,
    stem: &str,
    source: &Source,
) -> Result<Response, WebError> {
    let bytes = ctg_report::table::export_book(tables, format, source).map_err(|e| WebError::Internal(Box::new(e)))?;
    let safe: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{safe}.{}\"", format.extension())),
        ],
        bytes,
    )
        .into_response())
}

/// The download links of a table, for templates: `(label, href)`, keeping the page's own query.
pub fn links(path: &str, query: &[(&str, String)], table: Option<&str>) -> Vec<(String, String)> {
    ExportFormat::ALL
        .iter()
        .map(|f| {
            let mut params: Vec<String> =
                query.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", urlencode(v))).collect();
            params.push(format!("format={}", f.key()));
            if let Some(t) = table {
                params.push(format!("tableau={t}"));
            }
            (f.label().to_owned(), format!("{path}?{}", params.join("&")))
        })
        .collect()
}

/// Percent-encodes everything but the unreserved characters (RFC 3986), for query values and the
/// `filename*` of a download.
pub(crate) fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
