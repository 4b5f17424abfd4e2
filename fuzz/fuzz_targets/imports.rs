//! The other readers of `ctg-import`: populations, conventions, observations, facilities, funding.
//!
//! Input: one byte choosing the reader and the file's name, then the file.
#![no_main]

use ctg_domain::offer::builtin_facility_types;
use ctg_import::{convention, facilities, funding, observations, populations};
use libfuzzer_sys::fuzz_target;

const EXTENSIONS: [&str; 3] = ["csv", "xlsx", "ods"];

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else { return };
    let ext = EXTENSIONS[usize::from(first / 5) % EXTENSIONS.len()];
    let errors = match first % 5 {
        0 => populations::parse("populations.csv", bytes).err(),
        1 => convention::parse("conventions.json", bytes).err(),
        2 => observations::parse(&format!("diagnostic.{ext}"), bytes).err(),
        3 => facilities::parse(&format!("equipements.{ext}"), bytes, &builtin_facility_types()).err(),
        _ => funding::parse(&format!("financements.{ext}"), bytes).err(),
    };
    if let Some(errors) = errors {
        let _ = errors.to_string();
    }
});
