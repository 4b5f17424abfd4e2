//! The plan workbook (fiches, means, indicators), XLSX, ODS or CSV, read against a convention.
//!
//! Input: one byte choosing the file's name (its extension), then the file.
#![no_main]

use ctg_domain::territory::InseeCode;
use ctg_import::plan::{self, PlanContext};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 3] = ["plan.xlsx", "plan.ods", "plan.csv"];

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else { return };
    let name = NAMES[usize::from(first) % NAMES.len()];
    let ctx = PlanContext {
        ambitions: vec![1, 2, 3],
        objectives: vec!["1.1".into(), "1.2".into(), "2.1".into(), "3.1".into()],
        communes: vec![
            (InseeCode::parse("62119").expect("code"), "Béthune".into()),
            (InseeCode::parse("62178").expect("code"), "Bruay-la-Buissière".into()),
            (InseeCode::parse("62516").expect("code"), "Lillers".into()),
        ],
    };
    match plan::parse(name, bytes, &ctx) {
        Ok(fiches) => {
            // What was read can be written back.
            let fiches: Vec<_> = fiches.into_iter().map(|f| f.value).collect();
            let _ = plan::tables(&fiches, &ctx.communes);
        }
        Err(errors) => {
            let _ = errors.to_string();
        }
    }
});
