//! Documents attached to fiches, meetings and avenants (minutes, deliberations, signed copies): what
//! a file really is, read from its first bytes rather than its name, and the limits on what is kept.

use serde::Serialize;

/// The kinds of file the platform keeps. Anything else (programs, web pages, scripts, SVG) is refused:
/// a document is served back to other people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DocumentType {
    Pdf,
    Png,
    Jpeg,
    /// OpenDocument text, spreadsheet or presentation.
    OpenDocument(&'static str),
    /// Office Open XML: Word, Excel or PowerPoint.
    OfficeXml(&'static str),
    /// Plain text or CSV, valid UTF-8.
    Text(&'static str),
}

impl DocumentType {
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::OpenDocument(t) | Self::OfficeXml(t) | Self::Text(t) => t,
        }
    }

    /// In French, for pages.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pdf => "PDF",
            Self::Png => "image PNG",
            Self::Jpeg => "image JPEG",
            Self::OpenDocument(t) if t.ends_with("text") => "texte OpenDocument",
            Self::OpenDocument(t) if t.ends_with("spreadsheet") => "tableur OpenDocument",
            Self::OpenDocument(_) => "document OpenDocument",
            Self::OfficeXml(t) if t.contains("word") => "document Word",
            Self::OfficeXml(t) if t.contains("sheet") => "classeur Excel",
            Self::OfficeXml(_) => "document Office",
            Self::Text("text/csv; charset=utf-8") => "CSV",
            Self::Text(_) => "texte",
        }
    }
}

/// The default largest document, in bytes (10 Mio); a dated parameter may change it.
pub const DEFAULT_MAX_DOCUMENT_BYTES: i64 = 10 * 1024 * 1024;

/// Extensions of programs, scripts and active pages: refused whatever the content, since a browser or
/// the desktop may run them when the document is opened.
const DANGEROUS_EXTENSIONS: &[&str] = &[
    "exe", "com", "dll", "scr", "pif", "cpl", "msi", "msp", "msc", "bat", "cmd", "ps1", "psm1", "psd1", "vbs", "vbe",
    "js", "jse", "mjs", "cjs", "wsf", "wsh", "ws", "hta", "htm", "html", "xhtml", "shtml", "svg", "svgz", "xml", "xsl",
    "jar", "sh", "bash", "zsh", "py", "pl", "rb", "php", "lnk", "url", "reg", "inf", "scf", "appx", "apk", "app",
    "dmg", "iso", "docm", "xlsm", "pptm", "dotm", "xltm", "potm",
];

/// The extensions a document of `kind` may have.
fn allowed_extensions(kind: DocumentType) -> &'static [&'static str] {
    match kind {
        DocumentType::Pdf => &["pdf"],
        DocumentType::Png => &["png"],
        DocumentType::Jpeg => &["jpg", "jpeg"],
        DocumentType::OpenDocument(t) if t.ends_with("text") => &["odt"],
        DocumentType::OpenDocument(t) if t.ends_with("spreadsheet") => &["ods"],
        DocumentType::OpenDocument(_) => &["odp"],
        DocumentType::OfficeXml(t) if t.contains("word") => &["docx"],
        DocumentType::OfficeXml(t) if t.contains("sheet") => &["xlsx"],
        DocumentType::OfficeXml(_) => &["pptx"],
        DocumentType::Text(_) => &["txt", "csv"],
    }
}

/// Markers of a web page, an HTML application (HTA) or a script, looked for anywhere in a text: such a
/// text is refused, since a browser or Windows would run it rather than show it.
const ACTIVE_MARKERS: &[&str] = &[
    "<!doctype",
    "<html",
    "<head",
    "<body",
    "<script",
    "<hta:",
    "<iframe",
    "<object",
    "<embed",
    "<svg",
    "<?xml",
    "<meta",
    "<form",
    "javascript:",
    "vbscript:",
];

/// What the file is, from its content; then its name's extension must be one of those of that type
/// (`.pdf` for a PDF, `.txt` or `.csv` for a text…), and never that of a program or a script. Errors are
/// in French and name the file.
pub fn detect(name: &str, bytes: &[u8], max_bytes: i64) -> Result<DocumentType, String> {
    let extension = name.rsplit_once('.').map(|(_, e)| e.trim().to_lowercase()).unwrap_or_default();
    if DANGEROUS_EXTENSIONS.contains(&extension.as_str()) {
        return Err(format!(
            "« {name} » : les programmes, scripts et pages web (.{extension}) ne sont pas acceptés comme documents"
        ));
    }
    let kind = detect_content(name, bytes, max_bytes)?;
    let allowed = allowed_extensions(kind);
    if !allowed.contains(&extension.as_str()) {
        let expected = allowed.iter().map(|e| format!(".{e}")).collect::<Vec<_>>().join(" ou ");
        let given =
            if extension.is_empty() { "n'a pas d'extension".to_owned() } else { format!("finit par .{extension}") };
        return Err(format!(
            "« {name} » est un fichier {} mais son nom {given} : renommez-le en {expected} pour le joindre",
            kind.label()
        ));
    }
    Ok(kind)
}

fn detect_content(name: &str, bytes: &[u8], max_bytes: i64) -> Result<DocumentType, String> {
    if bytes.is_empty() {
        return Err(format!("« {name} » est vide"));
    }
    if bytes.len() as i64 > max_bytes {
        return Err(format!(
            "« {name} » pèse {} Kio : au-delà de {} Kio, un document n'est pas accepté",
            bytes.len() / 1024,
            max_bytes / 1024
        ));
    }
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"%PDF-") {
        return Ok(DocumentType::Pdf);
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Ok(DocumentType::Png);
    }
    if starts(b"\xff\xd8\xff") {
        return Ok(DocumentType::Jpeg);
    }
    if starts(b"PK\x03\x04") {
        // ODF puts an uncompressed `mimetype` entry first; OOXML has `[Content_Types].xml` and a
        // `word/`, `xl/` or `ppt/` folder.
        let head = &bytes[..bytes.len().min(4096)];
        let contains = |needle: &[u8]| {
            head.windows(needle.len()).any(|w| w == needle) || bytes.windows(needle.len()).any(|w| w == needle)
        };
        if head.windows(8).any(|w| w == b"mimetype") {
            for t in [
                "application/vnd.oasis.opendocument.text",
                "application/vnd.oasis.opendocument.spreadsheet",
                "application/vnd.oasis.opendocument.presentation",
            ] {
                if head.windows(t.len()).any(|w| w == t.as_bytes()) {
                    return Ok(DocumentType::OpenDocument(t));
                }
            }
        }
        if contains(b"[Content_Types].xml") {
            if contains(b"word/") {
                return Ok(DocumentType::OfficeXml(
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                ));
            }
            if contains(b"xl/") {
                return Ok(DocumentType::OfficeXml(
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ));
            }
            if contains(b"ppt/") {
                return Ok(DocumentType::OfficeXml(
                    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                ));
            }
        }
        return Err(format!(
            "« {name} » est une archive ZIP qui n'est ni un document OpenDocument ni un document Office"
        ));
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        let lower = text.to_lowercase();
        if ACTIVE_MARKERS.iter().any(|m| lower.contains(m)) {
            return Err(format!(
                "« {name} » est une page web, une application HTML ou un fichier XML : ce type n'est pas accepté"
            ));
        }
        if lower.trim_start().starts_with("#!") {
            return Err(format!("« {name} » est un script : ce type n'est pas accepté"));
        }
        if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err(format!("« {name} » n'est pas un texte lisible"));
        }
        let csv = name.to_lowercase().ends_with(".csv");
        return Ok(DocumentType::Text(if csv { "text/csv; charset=utf-8" } else { "text/plain; charset=utf-8" }));
    }
    Err(format!(
        "« {name} » n'est pas d'un type accepté (PDF, image PNG ou JPEG, OpenDocument, Word, Excel, PowerPoint, texte ou CSV)"
    ))
}

/// Characters that change how text is shown without being seen: bidirectional controls (the
/// right-to-left override makes `rapport\u{202E}fdp.js` read « rapportsj.pdf »), zero-width spaces and
/// joiners, the byte-order mark, soft hyphens.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}')
}

/// A file name safe to store and to send back: no folders, no control characters, no bidirectional
/// controls nor other invisible characters, at most 120 characters; an empty result becomes « document ».
pub fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = base
        .chars()
        .filter(|&c| !c.is_control() && !is_invisible(c) && !matches!(c, '"' | '<' | '>' | '|' | '*' | '?' | ':'))
        .take(120)
        .collect();
    // Dots and spaces go together from the start: « . x » must not leave « x » behind a space.
    let cleaned = cleaned.trim_start_matches(|c: char| c == '.' || c.is_whitespace()).trim_end().to_owned();
    if cleaned.is_empty() {
        "document".into()
    } else {
        cleaned
    }
}

/// What a document is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Owner {
    Fiche(i64),
    Meeting(i64),
    Avenant(i64),
}

impl Owner {
    pub fn kind(self) -> &'static str {
        match self {
            Self::Fiche(_) => "fiche",
            Self::Meeting(_) => "seance",
            Self::Avenant(_) => "avenant",
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Self::Fiche(i) | Self::Meeting(i) | Self::Avenant(i) => i,
        }
    }

    pub fn parse(kind: &str, id: i64) -> Option<Self> {
        match kind {
            "fiche" => Some(Self::Fiche(id)),
            "seance" => Some(Self::Meeting(id)),
            "avenant" => Some(Self::Avenant(id)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_content_not_the_name() {
        let max = DEFAULT_MAX_DOCUMENT_BYTES;
        assert_eq!(detect("cr.pdf", b"%PDF-1.7\n...", max), Ok(DocumentType::Pdf));
        assert_eq!(detect("photo.PNG", b"\x89PNG\r\n\x1a\n....", max), Ok(DocumentType::Png));
        assert_eq!(
            detect("releve.csv", "code;nom\n62119;Béthune\n".as_bytes(), max).unwrap().media_type(),
            "text/csv; charset=utf-8"
        );
        let odt = b"PK\x03\x04\x14\x00\x00\x00\x00\x00mimetypeapplication/vnd.oasis.opendocument.text";
        assert_eq!(detect("cr.odt", odt, max).unwrap().label(), "texte OpenDocument");
        let docx = b"PK\x03\x04....[Content_Types].xml....word/document.xml";
        assert_eq!(detect("cr.docx", docx, max).unwrap().label(), "document Word");
        // Refused: a web page, a program, a zip of anything, an empty file, a file too large.
        assert!(detect("cr.pdf", b"<!DOCTYPE html><script>", max).unwrap_err().contains("page web"));
        assert!(detect("cr.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", max)
            .unwrap_err()
            .contains("type accepté"));
        assert!(detect("a.zip", b"PK\x03\x04 random", max).unwrap_err().contains("archive ZIP"));
        assert!(detect("vide.pdf", b"", max).unwrap_err().contains("vide"));
        let big = vec![b'a'; 2048];
        assert!(detect("gros.txt", &big, 1024).unwrap_err().contains("au-delà de 1 Kio"));
        assert!(detect("juste.txt", &big, 2048).is_ok(), "exactly the limit is accepted");
    }

    #[test]
    fn names_are_cleaned() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\Users\\x\\Relevé de décisions.pdf"), "Relevé de décisions.pdf");
        assert_eq!(clean_name("a\"b<c>.pdf"), "abc.pdf");
        assert_eq!(clean_name("..."), "document");
        // Bidirectional controls and invisible characters are dropped: the name reads as it is.
        assert_eq!(clean_name("rapport\u{202E}fdp.js"), "rapportfdp.js");
        assert_eq!(clean_name("\u{2067}a\u{200B}b\u{FEFF}.pdf\u{2069}"), "ab.pdf");
        assert_eq!(Owner::parse("fiche", 3), Some(Owner::Fiche(3)));
        assert_eq!(Owner::Meeting(2).kind(), "seance");
    }

    #[test]
    fn programs_scripts_and_mismatched_names_are_refused() {
        let max = DEFAULT_MAX_DOCUMENT_BYTES;
        // Text under the extension of a program or a script: refused by its name, which is given.
        for name in ["facture.hta", "a.js", "lancer.bat", "x.ps1", "p.exe", "page.html", "image.svg", "m.vbs"] {
            let e = detect(name, b"echo bonjour\n", max).unwrap_err();
            assert!(e.starts_with(&format!("« {name} » : les programmes")), "{e}");
        }
        // An HTML application or a page, whatever its name and however it starts.
        let hta = b"  <!-- compte rendu -->\n<HTA:APPLICATION ID=\"x\">\n<script language=\"VBScript\">Run</script>";
        for name in ["cr.txt", "cr.csv", "cr.pdf"] {
            let e = detect(name, hta, max).unwrap_err();
            assert!(e.contains(&format!("« {name} » est une page web, une application HTML")), "{e}");
        }
        assert!(detect("a.txt", b"#!/bin/sh\nrm -rf /\n", max).unwrap_err().contains("script"));
        // The extension must be one of the detected type's.
        let e = detect("photo.txt", b"\x89PNG\r\n\x1a\n....", max).unwrap_err();
        assert_eq!(
            e,
            "« photo.txt » est un fichier image PNG mais son nom finit par .txt : renommez-le en .png pour le joindre"
        );
        assert!(detect("cr.pdf", b"Compte rendu\n", max).unwrap_err().contains("renommez-le en .txt ou .csv"));
        assert!(detect("notes", b"Compte rendu\n", max).unwrap_err().contains("n'a pas d'extension"));
        let docx = b"PK\x03\x04....[Content_Types].xml....word/document.xml";
        assert!(detect("cr.zip", docx, max).is_err());
        assert!(detect("cr.docm", docx, max).unwrap_err().contains("programmes"));
        // The right-to-left override is gone before the check: the name is the one that is stored.
        let name = clean_name("rapport\u{202E}fdp.js");
        assert!(detect(&name, b"alert(1)\n", max).unwrap_err().starts_with("« rapportfdp.js » : les programmes"));
        assert_eq!(detect("Relevé.JPG", b"\xff\xd8\xff\xe0", max), Ok(DocumentType::Jpeg));
    }

    /// Found by `fuzz/` (target `documents`): a dot then a space left a name starting with a space,
    /// which a second cleaning changed again.
    #[test]
    fn names_never_start_with_a_space_or_a_dot() {
        // The input the fuzzer found (control and forbidden characters are dropped first).
        let found = ". #o\u{e9}*u 3\u{fffd}mcrs.\u{2}";
        for raw in [found, ". x", " . .x", ".\u{a0}rapport.pdf", "dossier/ . ."] {
            let cleaned = clean_name(raw);
            assert!(!cleaned.starts_with(|c: char| c == '.' || c.is_whitespace()), "{raw:?} gave {cleaned:?}");
            assert_eq!(clean_name(&cleaned), cleaned, "cleaning {raw:?} twice");
        }
        assert_eq!(clean_name(". x"), "x");
        assert_eq!(clean_name("dossier/ . ."), "document");
    }
}
