//! Conventions from JSON: an array of objects in the shape of [`NewConvention`], with French keys
//! (`titre`, `epci`, `debut`, `fin`, `statut`, `parties`, `enjeux`, `approches`, `instances`,
//! `precedente`). The format is documented in `docs/FORMATS.md`; the demo ships in it.

use ctg_domain::NewConvention;

use crate::{ImportError, ImportErrors, Location};

pub fn parse(file: &str, bytes: &[u8]) -> Result<Vec<NewConvention>, ImportErrors> {
    let conventions: Vec<NewConvention> = serde_json::from_slice(bytes).map_err(|e| ImportError::json(file, &e))?;
    let errors: Vec<ImportError> = conventions
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            c.validate().err().map(|e| {
                ImportError::new(
                    file,
                    Location::Record { number: i + 1, code: None },
                    None,
                    format!("« {} » : {e}", c.title),
                )
            })
        })
        .collect();
    if errors.is_empty() {
        Ok(conventions)
    } else {
        Err(ImportErrors(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_their_place() {
        let e = parse("c.json", br#"[{"titre":"CTG","epci":"200072460","debut":"2026-01-01","fin":"2030-12-31","statut":"signee","date":"x"}]"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("c.json, ligne 1, colonne") && e.contains("champ inconnu « date » (champs admis : « titre »"),
            "{e}"
        );
        let e = parse(
            "c.json",
            br#"[{"titre":"CTG","epci":"200072461","debut":"2026-01-01","fin":"2030-12-31","statut":"signee"}]"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("SIREN « 200072461 » invalide"), "{e}");
        let e = parse(
            "c.json",
            br#"[{"titre":"CTG","epci":"200072460","debut":"2026-01-01","fin":"2025-12-31","statut":"signee"}]"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("c.json, enregistrement n° 1 : « CTG » : la période est invalide"), "{e}");
    }
}
