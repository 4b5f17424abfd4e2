//! Reads a plan workbook as the import does (`ctg_import::plan::parse`, against an empty context)
//! and says how long it took and what came of it: for bench/import-bomb.sh, which measures the peak
//! memory around it.
//!
//! `cargo run -p ctg-import --example import_plan_file -- plan.xlsx`

use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage : import_plan_file <classeur>");
        std::process::exit(2);
    };
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        eprintln!("{path} : lecture impossible ({e})");
        std::process::exit(2);
    });
    let name = ctg_import::display_name(std::path::Path::new(&path));
    let started = Instant::now();
    let result = ctg_import::plan::parse(&name, &bytes, &ctg_import::plan::PlanContext::default());
    let elapsed = started.elapsed();
    match result {
        Ok(rows) => println!("lu : {} fiche(s)", rows.len()),
        Err(errors) => {
            println!("refusé : {} erreur(s)", errors.0.len());
            for line in errors.listed().iter().take(3) {
                println!("  {line}");
            }
        }
    }
    println!("durée : {:.3} s ({} octets)", elapsed.as_secs_f64(), bytes.len());
}
