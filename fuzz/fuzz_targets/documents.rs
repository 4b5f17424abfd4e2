//! Document uploads: the type detected from the content, and the file name cleaned.
//!
//! Input: the file name, a NUL byte, then the file (no NUL: all of it is both).
#![no_main]

use ctg_domain::documents::{self, DEFAULT_MAX_DOCUMENT_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (name, bytes) = match data.iter().position(|&b| b == 0) {
        Some(i) => (String::from_utf8_lossy(&data[..i]), &data[i + 1..]),
        None => (String::from_utf8_lossy(data), data),
    };
    let cleaned = documents::clean_name(&name);
    assert!(!cleaned.is_empty(), "a cleaned name is never empty");
    assert!(cleaned.chars().count() <= 120, "a cleaned name has at most 120 characters");
    assert!(!cleaned.contains(['/', '\\']), "a cleaned name has no folders");
    assert!(!cleaned.chars().any(char::is_control), "a cleaned name has no control characters");
    // Cleaning twice changes nothing more.
    assert_eq!(documents::clean_name(&cleaned), cleaned, "cleaning is idempotent");
    for max in [DEFAULT_MAX_DOCUMENT_BYTES, 16, 0, -1] {
        if let Ok(kind) = documents::detect(&name, bytes, max) {
            let _ = (kind.media_type(), kind.label());
        }
        if let Ok(kind) = documents::detect(&cleaned, bytes, max) {
            let _ = (kind.media_type(), kind.label());
        }
    }
});
