//! The GeoJSON contours of communes (WGS 84 or Lambert-93), simplified.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match ctg_import::contours::parse("contours.geojson", data) {
        Ok(contours) => {
            let _ = format!("{contours:?}");
        }
        Err(errors) => {
            let _ = errors.to_string();
        }
    }
});
