//! The command line of the CTG platform, as a library so that tests drive the same code as users.

use std::path::Path;

use anyhow::Result;
use ctg_domain::Actor;

pub mod demo;

/// Who acts when the command line writes: the system account that runs it.
pub fn cli_actor() -> Actor {
    let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "inconnu".into());
    Actor::cli(&user)
}

/// Reads a whole input file, with a French message naming it when that fails.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "fichier introuvable".to_owned(),
            std::io::ErrorKind::PermissionDenied => "accès refusé".to_owned(),
            std::io::ErrorKind::IsADirectory => "c'est un dossier, pas un fichier".to_owned(),
            _ => e.to_string(),
        };
        anyhow::anyhow!("impossible de lire {} : {why}", path.display())
    })
}
