//! The platform's PDF documents, made by Typst used as a library from templates kept in the
//! repository (`crates/ctg-pdf/templates/*.typ`), so that a CAF can adapt them without touching Rust:
//! the directory named by `CTG_MODELES_PDF`, when set, replaces any template it holds (same file
//! name), the others staying those shipped.
//!
//! A document is made from its data as JSON ([`render`]): the template reads it with
//! `json(bytes(sys.inputs.donnees))`. Every document is A4, in French (`lang: "fr"`), titled, with its
//! page number and the date of its data on every page (`commun.typ`), and is written as **PDF/UA-1**:
//! tagged (headings, tables with header rows, alternative text for every image), fonts embedded
//! (Typst's own, under the OFL: Libertinus Serif, New Computer Modern, DejaVu Sans Mono). Typst refuses
//! a document that breaks PDF/UA-1 (an image without alternative text, a missing title…): such a
//! template error is reported, never a non-conforming file.

use std::sync::OnceLock;

use typst::foundations::{Dict, IntoValue};
use typst::text::FontInfo;
use typst_as_lib::TypstEngine;
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards};

/// The documents the platform makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// « Dossier de préparation » of a meeting (the COPIL pack).
    MeetingPack,
    /// « Bilan annuel » or « bilan final » (art. 8).
    Review,
    /// One « fiche action », for a partner.
    Fiche,
    /// The shared diagnostic of the territory.
    Diagnostic,
}

impl Document {
    pub const ALL: &'static [Document] = &[Self::MeetingPack, Self::Review, Self::Fiche, Self::Diagnostic];

    /// The template's file name.
    pub fn template(self) -> &'static str {
        match self {
            Self::MeetingPack => "dossier-seance.typ",
            Self::Review => "bilan.typ",
            Self::Fiche => "fiche.typ",
            Self::Diagnostic => "diagnostic.typ",
        }
    }
}

/// The templates shipped, by file name: the shared layout, then one per document.
const SHIPPED: &[(&str, &str)] = &[
    ("commun.typ", include_str!("../templates/commun.typ")),
    ("dossier-seance.typ", include_str!("../templates/dossier-seance.typ")),
    ("bilan.typ", include_str!("../templates/bilan.typ")),
    ("fiche.typ", include_str!("../templates/fiche.typ")),
    ("diagnostic.typ", include_str!("../templates/diagnostic.typ")),
];

/// The environment variable that names a directory of templates replacing the shipped ones.
pub const TEMPLATES_ENV: &str = "CTG_MODELES_PDF";

/// Why a document could not be made. Messages are in French: they reach users and administrators.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("le modèle de document « {template} » est invalide : {message}")]
    Template { template: &'static str, message: String },
    #[error("le document PDF « {template} » n'a pas pu être écrit : {message}")]
    Export { template: &'static str, message: String },
    #[error("les données du document ne sont pas du JSON valide : {0}")]
    Data(#[from] serde_json::Error),
}

/// The templates in force: those of [`TEMPLATES_ENV`] where it has them, the shipped ones otherwise.
fn templates() -> Vec<(&'static str, String)> {
    let dir = std::env::var_os(TEMPLATES_ENV).map(std::path::PathBuf::from);
    SHIPPED
        .iter()
        .map(|(name, shipped)| {
            let replaced = dir.as_ref().and_then(|d| std::fs::read_to_string(d.join(name)).ok());
            (*name, replaced.unwrap_or_else(|| (*shipped).to_owned()))
        })
        .collect()
}

/// One engine for the life of the process: its fonts are parsed once.
fn engine() -> &'static TypstEngine {
    static ENGINE: OnceLock<TypstEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        TypstEngine::builder().with_static_source_file_resolver(templates()).fonts(typst_assets::fonts()).build()
    })
}

/// The diagnostics of a failed compilation, as one line each.
fn diagnostics(e: &typst_as_lib::TypstAsLibError) -> String {
    match e {
        typst_as_lib::TypstAsLibError::TypstSource(list) => list
            .iter()
            .map(|d| {
                let hints: String = d.hints.iter().map(|h| format!(" ({})", h.v)).collect();
                format!("{}{hints}", d.message)
            })
            .collect::<Vec<_>>()
            .join(" ; "),
        other => other.to_string(),
    }
}

/// Whether some font of the engine can draw `c` (whitespace always can).
fn drawable(c: char) -> bool {
    static FONTS: OnceLock<Vec<FontInfo>> = OnceLock::new();
    c.is_whitespace()
        || FONTS
            .get_or_init(|| typst_assets::fonts().flat_map(FontInfo::iter).collect())
            .iter()
            .any(|f| f.coverage.contains(c as u32))
}

/// Every text of the data made drawable: a character that no font of the document has (a private-use
/// or unassigned code point, a control character, a script the fonts lack) is written « ? ». PDF/UA
/// forbids a text that cannot be displayed: without this, such a character anywhere in a convention
/// (typed, imported) would leave its documents impossible to make.
fn drawable_texts(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) if !s.chars().all(drawable) => {
            *s = s.chars().map(|c| if drawable(c) { c } else { '?' }).collect();
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drawable_texts),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(drawable_texts),
        _ => {}
    }
}

/// Makes `document` from its data, as a PDF/UA-1 file.
pub fn render(document: Document, data: &serde_json::Value) -> Result<Vec<u8>, PdfError> {
    let template = document.template();
    let mut data = data.clone();
    drawable_texts(&mut data);
    let mut inputs = Dict::new();
    inputs.insert("donnees".into(), serde_json::to_string(&data)?.into_value());
    let compiled: PagedDocument = engine()
        .compile_with_input(template, inputs)
        .output
        .map_err(|e| PdfError::Template { template, message: diagnostics(&e) })?;
    let options = PdfOptions {
        standards: PdfStandards::new(&[PdfStandard::Ua_1])
            .map_err(|e| PdfError::Export { template, message: e.message().to_string() })?,
        ..PdfOptions::default()
    };
    typst_pdf::pdf(&compiled, &options).map_err(|errors| PdfError::Export {
        template,
        message: errors.iter().map(|d| d.message.to_string()).collect::<Vec<_>>().join(" ; "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_document_has_its_template() {
        for d in Document::ALL {
            assert!(SHIPPED.iter().any(|(name, _)| *name == d.template()), "{d:?}");
        }
    }

    #[test]
    fn a_character_no_font_has_is_written_as_a_question_mark_never_a_failed_document() {
        // A private-use code point (as a fuzzer or a bad import may write), a control character.
        let title = "Fiche \u{a3011}PE-1\u{1}";
        let data = serde_json::json!({
            "titre": title, "convention": "CTG", "avancement": "Avancement : 10 %.", "donnees_au": "07/12/2026",
            "source": "Plateforme CTG", "champs": [["Statut", "En cours \u{ddf76}"]], "sous_actions": [],
            "moyens": [], "indicateurs": [],
        });
        let pdf = render(Document::Fiche, &data).expect("the document is made");
        assert!(pdf.starts_with(b"%PDF-"));
        let mut v = data;
        drawable_texts(&mut v);
        assert_eq!(v["titre"], "Fiche ?PE-1?");
        assert_eq!(v["champs"][0][1], "En cours ?");
        assert!(drawable('é') && drawable('€') && drawable('«') && drawable(' '));
    }

    #[test]
    fn a_template_error_is_reported_in_french_never_a_file() {
        // The data a template needs are missing: Typst's own message, named with the template.
        let e = render(Document::Fiche, &serde_json::json!({})).unwrap_err().to_string();
        assert!(e.starts_with("le modèle de document « fiche.typ » est invalide : "), "{e}");
    }
}
