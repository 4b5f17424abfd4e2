//! The decoupage JSON (`@etalab/decoupage-administratif`): communes and EPCI.
//!
//! Input: the communes file, then a NUL byte, then the EPCI file (no NUL: the EPCI file is `[]`).
#![no_main]

use ctg_domain::territory::Vintage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (communes, epci) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"[]"[..]),
    };
    let vintage = Vintage::new(2024).expect("valid vintage");
    if let Err(errors) = ctg_import::decoupage::parse("communes.json", communes, "epci.json", epci, vintage, "fuzz") {
        // Every error must render.
        let _ = errors.to_string();
    }
});
