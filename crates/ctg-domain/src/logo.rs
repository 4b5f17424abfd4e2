//! The logos of the parties (art. 10 of the convention: the parties communicate together, every
//! partner named). A logo is a PNG or an SVG. An SVG is read as XML and refused when it could run or
//! fetch anything: a script, an event attribute (`onload`…), an embedded page (`foreignObject`), a
//! link or a reference outside the file (only `#…` and embedded `data:image/png|jpeg` are allowed), a
//! style sheet that imports or points outside. Refusing, with the reason, is clearer to the person
//! who sends it than a logo silently changed.

use serde::Serialize;

/// The largest logo accepted by default, in bytes (a dated parameter may change it).
pub const DEFAULT_MAX_LOGO_BYTES: i64 = 512 * 1024;

/// The dated parameter that holds the largest logo accepted, in bytes.
pub const MAX_LOGO_PARAMETER: &str = "taille_max_logo";

/// What a logo is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LogoKind {
    Png,
    Svg,
}

impl LogoKind {
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Svg => "image/svg+xml",
        }
    }

    pub fn from_media_type(media_type: &str) -> Option<Self> {
        match media_type {
            "image/png" => Some(Self::Png),
            "image/svg+xml" => Some(Self::Svg),
            _ => None,
        }
    }
}

/// The width and height of a PNG, read from its header.
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || !bytes.starts_with(b"\x89PNG\r\n\x1a\n") || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let width = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
    let height = u32::from_be_bytes(bytes[20..24].try_into().ok()?);
    (width > 0 && height > 0).then_some((width, height))
}

/// Checks a logo sent as `name`: its kind, or why it is refused (in French, naming the file).
pub fn check(name: &str, bytes: &[u8], max_bytes: i64) -> Result<LogoKind, String> {
    if bytes.is_empty() {
        return Err(format!("« {name} » est vide"));
    }
    if bytes.len() as i64 > max_bytes {
        return Err(format!(
            "« {name} » pèse {} Kio : un logo ne doit pas dépasser {} Kio",
            bytes.len().div_ceil(1024),
            max_bytes / 1024
        ));
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        let (w, h) =
            png_size(bytes).ok_or_else(|| format!("« {name} » : l'en-tête de cette image PNG est illisible"))?;
        if w > 4000 || h > 4000 {
            return Err(format!(
                "« {name} » mesure {w} × {h} pixels : un logo ne doit pas dépasser 4000 pixels de côté"
            ));
        }
        return Ok(LogoKind::Png);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| {
        format!("« {name} » n'est ni une image PNG ni une image SVG : envoyez le logo en PNG ou en SVG")
    })?;
    check_svg(name, text.trim_start_matches('\u{feff}'))?;
    Ok(LogoKind::Svg)
}

/// Whether an SVG may be shown as it is; the reason otherwise.
fn check_svg(name: &str, text: &str) -> Result<(), String> {
    let options = roxmltree::ParsingOptions { allow_dtd: false, ..roxmltree::ParsingOptions::default() };
    let doc = roxmltree::Document::parse_with_options(text, options).map_err(|e| {
        format!("« {name} » n'est ni une image PNG ni une image SVG lisible (XML invalide : {e}) : envoyez le logo en PNG ou en SVG")
    })?;
    let root = doc.root_element();
    if root.tag_name().name() != "svg" {
        return Err(format!(
            "« {name} » n'est pas une image SVG (son élément racine est « {} ») : envoyez le logo en PNG ou en SVG",
            root.tag_name().name()
        ));
    }
    let refuse =
        |what: String| Err(format!("« {name} » est refusé : {what}. Enregistrez le logo sans ce contenu, ou en PNG."));
    for node in doc.descendants().filter(|n| n.is_element()) {
        let tag = node.tag_name().name().to_ascii_lowercase();
        match tag.as_str() {
            "script" => return refuse("il contient un script (élément « script »)".into()),
            "foreignobject" => return refuse("il contient une page web incorporée (élément « foreignObject »)".into()),
            "iframe" | "embed" | "object" | "audio" | "video" => {
                return refuse(format!("il contient un élément « {tag} »"))
            }
            "style" => {
                let css = node.text().unwrap_or_default().to_ascii_lowercase();
                if css.contains("@import") || external_url(&css) {
                    return refuse("sa feuille de style importe ou désigne un contenu extérieur".into());
                }
            }
            _ => {}
        }
        for a in node.attributes() {
            let attr = a.name().to_ascii_lowercase();
            let value = a.value().trim();
            if attr.starts_with("on") {
                return refuse(format!(
                    "l'élément « {tag} » porte un attribut d'événement (« {attr} ») qui lance un script"
                ));
            }
            if attr == "href" && !value.is_empty() && !allowed_reference(value) {
                return refuse(format!("l'élément « {tag} » désigne un contenu extérieur (« {} »)", shorten(value)));
            }
            if (attr == "style" || value.contains("url(")) && external_url(&value.to_ascii_lowercase()) {
                return refuse(format!("l'élément « {tag} » désigne un contenu extérieur par url()"));
            }
        }
    }
    Ok(())
}

/// A reference inside the file, or an image embedded in it.
fn allowed_reference(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    value.starts_with('#') || lower.starts_with("data:image/png;") || lower.starts_with("data:image/jpeg;")
}

/// Whether some CSS or attribute text has a `url(…)` that is not a reference inside the file.
fn external_url(text: &str) -> bool {
    text.match_indices("url(").any(|(i, _)| {
        let rest = text[i + 4..].trim_start().trim_start_matches(['\'', '"']);
        !allowed_reference(rest)
    })
}

fn shorten(value: &str) -> String {
    if value.chars().count() > 60 {
        format!("{}…", value.chars().take(60).collect::<String>())
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: i64 = DEFAULT_MAX_LOGO_BYTES;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        b.extend(w.to_be_bytes());
        b.extend(h.to_be_bytes());
        b.extend([8, 6, 0, 0, 0]);
        b
    }

    #[test]
    fn a_png_and_a_plain_svg_are_accepted() {
        assert_eq!(check("caf.png", &png(300, 120), MAX), Ok(LogoKind::Png));
        assert_eq!(png_size(&png(300, 120)), Some((300, 120)));
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 10 10"><defs><linearGradient id="g"/></defs><rect fill="url(#g)" width="10" height="10"/><use xlink:href="#g"/><image href="data:image/png;base64,AAAA"/></svg>"##;
        assert_eq!(check("caf.svg", svg.as_bytes(), MAX), Ok(LogoKind::Svg));
    }

    #[test]
    fn an_svg_that_could_run_or_fetch_is_refused_saying_why() {
        let cases = [
            (r#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#, "script"),
            (r#"<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>"#, "onload"),
            (
                r#"<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"><rect/></a></svg>"#,
                "javascript:",
            ),
            (
                r#"<svg xmlns="http://www.w3.org/2000/svg"><image href="https://pisteur.example/x.png"/></svg>"#,
                "extérieur",
            ),
            (
                r#"<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>x</p></foreignObject></svg>"#,
                "foreignObject",
            ),
            (
                r#"<svg xmlns="http://www.w3.org/2000/svg"><style>@import url(https://x.example/a.css);</style></svg>"#,
                "feuille de style",
            ),
            (
                r#"<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill: url(https://x.example/a)"/></svg>"#,
                "url()",
            ),
        ];
        for (svg, expected) in cases {
            let e = check("logo.svg", svg.as_bytes(), MAX).unwrap_err();
            assert!(e.contains("« logo.svg » est refusé") && e.contains(expected), "{svg} → {e}");
        }
    }

    #[test]
    fn other_files_too_big_or_empty_are_refused_in_french() {
        assert!(check("x.gif", b"GIF89a....", MAX).unwrap_err().contains("ni une image PNG ni une image SVG"));
        assert!(check("x.svg", b"<html/>", MAX).unwrap_err().contains("élément racine est « html »"));
        assert!(check("x.png", &[], MAX).unwrap_err().contains("est vide"));
        assert!(check("x.png", &png(10, 10), 10).unwrap_err().contains("ne doit pas dépasser"));
        assert!(check("x.png", &png(5000, 10), MAX).unwrap_err().contains("4000 pixels"));
        // An entity bomb is not expanded: DTDs are refused.
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>"#;
        assert!(check("x.svg", bomb.as_bytes(), MAX).is_err());
    }
}
