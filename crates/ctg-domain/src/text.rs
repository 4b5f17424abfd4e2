//! One input-cleaning rule for every text and number that enters the platform (pages, API, command
//! line, imports). The domain's `check` functions call it, so that no way in can bypass it.
//!
//! - Control characters are refused, with a French message naming the field: C0 (but tab, and newline
//!   in a multi-line text), DEL and C1, the bidirectional embeddings, overrides and isolates
//!   (U+202A–U+202E, U+2066–U+2069). A carriage return is a line end: `\r\n` and `\r` become `\n` in a
//!   multi-line text; in a one-line text a tab or a line end becomes a space.
//! - Lengths are bounded per kind of field ([`TextKind`]), in characters, by the constants below,
//!   documented in `docs/FORMATS.md`.
//! - Numbers must be finite and within ±[`MAX_NUMBER`] ([`number`]).

/// Longest code (fiche code, objective code, facility type, external identifier), in characters.
pub const MAX_CODE_CHARS: usize = 50;
/// Longest name (person, organisation, facility, funder, label), in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest title (fiche, sub-action, objective, decision, meeting), in characters.
pub const MAX_TITLE_CHARS: usize = 500;
/// Longest multi-line text (description, note, comment, minutes), in characters.
pub const MAX_LONG_TEXT_CHARS: usize = 20_000;
/// Longest text of the convention or of an annex, and longest passage an avenant changes, in
/// characters: the signed convention of the demonstration holds about 90 000.
pub const MAX_DOCUMENT_CHARS: usize = 1_000_000;
/// Largest magnitude of a number entered (indicator values and targets, coordinates…).
pub const MAX_NUMBER: f64 = 1e12;

/// The kind of a text field, which sets its length bound and whether it may hold line ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// A code: one line, [`MAX_CODE_CHARS`].
    Code,
    /// A name or a label: one line, [`MAX_NAME_CHARS`].
    Name,
    /// A title: one line, [`MAX_TITLE_CHARS`].
    Title,
    /// A long text: several lines, [`MAX_LONG_TEXT_CHARS`].
    Long,
    /// The text of the convention, of an annex, or a passage of it: several lines, [`MAX_DOCUMENT_CHARS`].
    Document,
}

impl TextKind {
    /// The longest text of this kind, in characters.
    pub fn max_chars(self) -> usize {
        match self {
            TextKind::Code => MAX_CODE_CHARS,
            TextKind::Name => MAX_NAME_CHARS,
            TextKind::Title => MAX_TITLE_CHARS,
            TextKind::Long => MAX_LONG_TEXT_CHARS,
            TextKind::Document => MAX_DOCUMENT_CHARS,
        }
    }

    /// Whether a text of this kind keeps its line ends.
    pub fn multi_line(self) -> bool {
        matches!(self, TextKind::Long | TextKind::Document)
    }
}

/// Whether a character is refused in any text entered: C0 controls but tab, line feed and carriage
/// return (handled as line ends), DEL and C1 controls, bidirectional embeddings, overrides and isolates.
pub fn is_forbidden(ch: char) -> bool {
    matches!(ch, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
        || matches!(ch, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A text entered, cleaned by the rule of this module: trimmed, line ends normalised (see the module),
/// refused with a French message naming `field` if it holds a control character or is longer than its
/// kind allows.
pub fn clean(field: &str, value: &str, kind: TextKind) -> Result<String, String> {
    if let Some(bad) = value.chars().find(|&c| is_forbidden(c)) {
        return Err(format!(
            "le champ « {field} » contient un caractère de contrôle interdit (U+{:04X}) : retirez-le",
            u32::from(bad)
        ));
    }
    let unified = value.replace("\r\n", "\n").replace('\r', "\n");
    let text = if kind.multi_line() { unified } else { unified.replace(['\n', '\t'], " ") };
    let text = text.trim().to_owned();
    let count = text.chars().count();
    if count > kind.max_chars() {
        return Err(format!(
            "le champ « {field} » dépasse {} caractères ({} caractères)",
            crate::format::integer(kind.max_chars() as i64),
            crate::format::integer(i64::try_from(count).unwrap_or(i64::MAX))
        ));
    }
    Ok(text)
}

/// [`clean`] in place.
pub fn clean_in(field: &str, value: &mut String, kind: TextKind) -> Result<(), String> {
    *value = clean(field, value, kind)?;
    Ok(())
}

/// [`clean`] of each text of a list, in place.
pub fn clean_all(field: &str, values: &mut [String], kind: TextKind) -> Result<(), String> {
    values.iter_mut().try_for_each(|v| clean_in(field, v, kind))
}

/// [`clean`] of an optional text, in place; an empty text becomes `None`.
pub fn clean_opt(field: &str, value: &mut Option<String>, kind: TextKind) -> Result<(), String> {
    if let Some(v) = value.take() {
        let v = clean(field, &v, kind)?;
        *value = (!v.is_empty()).then_some(v);
    }
    Ok(())
}

/// The refusal of this module as a domain error, for the `check` functions that return one.
pub fn invalid(message: String) -> crate::ConventionError {
    crate::ConventionError::Invalid(message)
}

/// A number entered: finite and within ±[`MAX_NUMBER`], else refused with a French message naming
/// `field`.
pub fn number(field: &str, value: f64) -> Result<f64, String> {
    if value.is_finite() && value.abs() <= MAX_NUMBER {
        Ok(value)
    } else {
        Err(format!(
            "le champ « {field} » doit être un nombre fini d'au plus {} en valeur absolue",
            crate::format::integer(MAX_NUMBER as i64)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_naming_the_field() {
        for bad in ["a\u{0}b", "\u{1b}[31m", "x\u{85}", "abc\u{202e}gpj.exe", "\u{2066}y", "\u{7f}"] {
            let e = clean("intitulé", bad, TextKind::Title).unwrap_err();
            assert!(e.contains("« intitulé »") && e.contains("caractère de contrôle"), "{e}");
        }
    }

    #[test]
    fn line_ends_are_kept_in_long_texts_only() {
        assert_eq!(clean("description", " a\r\nb\rc\td ", TextKind::Long).unwrap(), "a\nb\nc\td");
        assert_eq!(clean("intitulé", "a\r\nb\tc", TextKind::Title).unwrap(), "a b c");
    }

    #[test]
    fn lengths_are_bounded_per_kind() {
        assert!(clean("code", &"x".repeat(MAX_CODE_CHARS), TextKind::Code).is_ok());
        let e = clean("code", &"x".repeat(MAX_CODE_CHARS + 1), TextKind::Code).unwrap_err();
        assert!(e.starts_with("le champ « code » dépasse 50 caractères"), "{e}");
        assert!(clean("nom", &"é".repeat(40_000), TextKind::Name).is_err());
        assert!(clean("intitulé", &"x".repeat(250 * 1024), TextKind::Title).is_err());
        assert!(clean("texte", &"x".repeat(MAX_LONG_TEXT_CHARS + 1), TextKind::Long).is_err());
    }

    #[test]
    fn numbers_are_finite_and_in_range() {
        assert_eq!(number("valeur", -12.5), Ok(-12.5));
        for bad in [1e308, f64::INFINITY, f64::NAN, -1e13] {
            let e = number("valeur", bad).unwrap_err();
            assert!(e.contains("« valeur »"), "{e}");
        }
    }
}
