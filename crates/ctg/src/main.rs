//! `ctg`: serve the platform, migrate the database, import data, manage conventions, load the demo.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::{ArgAction, Args, Parser, Subcommand};
use ctg::{create_convention, demo, parse_date, read_file};
use ctg_domain::format::integer;
use ctg_domain::{ConventionStatus, NewConvention, Siren, Vintage};
use ctg_store::{redact_url, Store, StoreError, DEFAULT_DATABASE_URL};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Parser, Debug)]
#[command(
    name = "ctg",
    version,
    about = "Plateforme de pilotage des Conventions Territoriales Globales (CTG)",
    disable_help_flag = true,
    disable_help_subcommand = true,
    disable_version_flag = true
)]
struct Cli {
    /// Base de données : sqlite://CHEMIN (par défaut sqlite://ctg.db, créée si absente) ou postgres://…
    #[arg(long, global = true, env = "CTG_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true)]
    database_url: String,

    /// Affiche l'aide
    #[arg(short = 'h', long = "help", global = true, action = ArgAction::Help)]
    help: Option<bool>,

    /// Affiche la version
    #[arg(short = 'V', long = "version", action = ArgAction::Version)]
    version: Option<bool>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Démarre le serveur web (pages et API) ; charge la démonstration si la base est vide
    Serve(ServeArgs),
    /// Applique les migrations de la base de données
    Migrate,
    /// Importe des données
    #[command(subcommand)]
    Import(ImportCommand),
    /// Crée ou liste les conventions
    #[command(subcommand)]
    Convention(ConventionCommand),
    /// Charge la démonstration : la CTG 2026-2030 de Béthune-Bruay, Artois Lys Romane
    Demo,
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Adresse d'écoute
    #[arg(long, env = "CTG_ADDR", default_value = "127.0.0.1:8080")]
    addr: String,
    /// Ne charge pas la démonstration, même sur une base vide
    #[arg(long)]
    sans_demo: bool,
}

#[derive(Subcommand, Debug)]
enum ImportCommand {
    /// Communes, EPCI et populations depuis les fichiers JSON de @etalab/decoupage-administratif
    Territoire {
        /// Le fichier communes.json
        #[arg(long)]
        communes: PathBuf,
        /// Le fichier epci.json
        #[arg(long)]
        epci: PathBuf,
        /// Le millésime des populations des membres des EPCI (2022 pour la version 6.0.0)
        #[arg(long)]
        millesime: i64,
    },
    /// Populations légales par millésime depuis un CSV
    /// (code_insee,nom,millesime,population_municipale,population_comptee_a_part,population_totale)
    Populations {
        /// Le fichier CSV
        #[arg(long)]
        csv: PathBuf,
        /// La source à enregistrer avec les chiffres
        #[arg(long)]
        source: Option<String>,
    },
    /// Conventions complètes (parties, stratégie, instances) depuis un fichier JSON (voir docs/FORMATS.md)
    Convention {
        /// Le fichier JSON
        #[arg(long)]
        json: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum ConventionCommand {
    /// Crée une convention pour un EPCI
    Create {
        /// SIREN de l'EPCI
        #[arg(long)]
        epci: String,
        /// Date de début (AAAA-MM-JJ ou JJ/MM/AAAA)
        #[arg(long, value_parser = parse_date)]
        debut: NaiveDate,
        /// Date de fin (AAAA-MM-JJ ou JJ/MM/AAAA)
        #[arg(long, value_parser = parse_date)]
        fin: NaiveDate,
        /// Titre de la convention
        #[arg(long)]
        titre: String,
        /// Statut : brouillon, signee ou resiliee
        #[arg(long, default_value = "brouillon")]
        statut: String,
        /// Numéro de la convention précédente
        #[arg(long)]
        precedente: Option<i64>,
    },
    /// Liste les conventions
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CTG_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("erreur : impossible de démarrer le moteur d'exécution ({e})");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("erreur : {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes, in the words meant for users; database internals go to the log.
fn describe(e: &anyhow::Error) -> String {
    if let Some(StoreError::Database(db)) = e.downcast_ref::<StoreError>() {
        tracing::error!(error = %db, "database error");
        return "la base de données a refusé l'opération (le détail figure dans le journal)"
            .to_owned();
    }
    let mut parts: Vec<String> = e.chain().map(ToString::to_string).collect();
    parts.dedup();
    parts.join(" : ")
}

async fn open(url: &str) -> Result<Store> {
    Store::open(url)
        .await
        .with_context(|| format!("impossible d'ouvrir la base de données {}", redact_url(url)))
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Migrate => {
            open(&cli.database_url).await?;
            println!("Base de données à jour : {}", redact_url(&cli.database_url));
        }
        Command::Demo => {
            let store = open(&cli.database_url).await?;
            match demo::load(&store).await? {
                demo::DemoOutcome::Loaded { convention_id } => {
                    println!("Démonstration chargée : convention n° {convention_id}");
                }
                demo::DemoOutcome::AlreadyThere { convention_id } => {
                    println!("La démonstration est déjà chargée (convention n° {convention_id}) ; rien n'a été modifié.");
                }
            }
        }
        Command::Serve(args) => serve(&cli.database_url, args).await?,
        Command::Import(cmd) => import(&cli.database_url, cmd).await?,
        Command::Convention(cmd) => convention(&cli.database_url, cmd).await?,
    }
    Ok(())
}

async fn serve(url: &str, args: ServeArgs) -> Result<()> {
    let store = open(url).await?;
    if !args.sans_demo && store.conventions().await?.is_empty() {
        let outcome = demo::load(&store)
            .await
            .context("chargement de la démonstration")?;
        tracing::info!(
            convention = outcome.convention_id(),
            "demo loaded into an empty database"
        );
    }
    let listener = tokio::net::TcpListener::bind(&args.addr)
        .await
        .with_context(|| format!("impossible d'écouter sur {}", args.addr))?;
    let local = listener.local_addr()?;
    println!(
        "Plateforme CTG disponible sur http://{local}/ (base : {})",
        redact_url(url)
    );
    ctg_web::run(listener, ctg_web::AppState::new(store)).await?;
    Ok(())
}

async fn import(url: &str, cmd: ImportCommand) -> Result<()> {
    match cmd {
        ImportCommand::Territoire {
            communes,
            epci,
            millesime,
        } => {
            let vintage = Vintage::new(millesime)?;
            let started = Instant::now();
            let communes_json = read_file(&communes)?;
            let epci_json = read_file(&epci)?;
            let territory = ctg_import::decoupage::parse(
                &ctg_import::display_name(&communes),
                &communes_json,
                &ctg_import::display_name(&epci),
                &epci_json,
                vintage,
                &format!(
                    "@etalab/decoupage-administratif ({})",
                    ctg_import::display_name(&epci)
                ),
            )?;
            drop((communes_json, epci_json));
            let store = open(url).await?;
            let bar = ProgressBar::new(territory.batch.row_count()).with_style(
                ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} lignes ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_message("Écriture");
            let s = store
                .import_territory(&territory.batch, &|n| bar.set_position(n))
                .await?;
            bar.finish_and_clear();
            let k = &territory.skipped;
            println!(
                "Territoire importé (millésime {vintage}) en {:.2} s : {} communes ({} nouvelles, {} mises à jour), \
                 {} EPCI ({} nouveaux), {} appartenances, {} populations.",
                started.elapsed().as_secs_f64(),
                integer(territory.batch.communes.len() as i64),
                integer(s.communes_new as i64),
                integer(s.communes_updated as i64),
                integer(territory.batch.epcis.len() as i64),
                integer(s.epcis_new as i64),
                integer(s.memberships as i64),
                integer(s.populations as i64),
            );
            println!(
                "Laissés de côté (ce ne sont pas des communes au sens du code officiel géographique) : \
                 {}, {}, {}. {} à aucun EPCI (sans population pour ce millésime).",
                count(k.communes_deleguees, "commune déléguée", "communes déléguées"),
                count(k.communes_associees, "commune associée", "communes associées"),
                count(k.arrondissements_municipaux, "arrondissement municipal", "arrondissements municipaux"),
                count(territory.outside_epci, "commune n'appartient", "communes n'appartiennent"),
            );
        }
        ImportCommand::Populations { csv, source } => {
            let name = ctg_import::display_name(&csv);
            let rows = ctg_import::populations::parse(&name, &read_file(&csv)?)?;
            let store = open(url).await?;
            let records: Vec<_> = rows.iter().map(|r| r.record.clone()).collect();
            let source = source.unwrap_or_else(|| name.clone());
            match store.upsert_populations(&records, &source).await {
                Ok(n) => println!("{} populations importées depuis {name}.", integer(n as i64)),
                Err(StoreError::UnknownCommunes(codes)) => {
                    let errors: Vec<ctg_import::ImportError> = rows
                        .iter()
                        .filter(|r| codes.iter().any(|c| c == r.record.commune.as_str()))
                        .map(|r| {
                            ctg_import::ImportError::new(
                                &name,
                                ctg_import::Location::Line(r.line),
                                Some("code_insee"),
                                format!(
                                    "la commune {} est inconnue : importez d'abord le territoire (ctg import territoire)",
                                    r.record.commune
                                ),
                            )
                        })
                        .collect();
                    return Err(ctg_import::ImportErrors(errors).into());
                }
                Err(e) => return Err(e.into()),
            }
        }
        ImportCommand::Convention { json } => {
            let name = ctg_import::display_name(&json);
            let conventions = ctg_import::convention::parse(&name, &read_file(&json)?)?;
            let store = open(url).await?;
            for c in &conventions {
                let id = create_convention(&store, c, None)
                    .await
                    .with_context(|| format!("{name} : convention « {} »", c.title))?;
                println!("Convention n° {id} créée : {}", c.title);
            }
        }
    }
    Ok(())
}

/// `3 communes`, `1 commune`, `0 commune`: French puts 0 and 1 in the singular.
fn count(n: usize, singular: &str, plural: &str) -> String {
    format!(
        "{} {}",
        integer(n as i64),
        if n < 2 { singular } else { plural }
    )
}

async fn convention(url: &str, cmd: ConventionCommand) -> Result<()> {
    let store = open(url).await?;
    match cmd {
        ConventionCommand::Create {
            epci,
            debut,
            fin,
            titre,
            statut,
            precedente,
        } => {
            let new = NewConvention {
                title: titre,
                epci: Siren::parse(&epci)?,
                start: debut,
                end: fin,
                status: ConventionStatus::parse(&statut)?,
                signing_place: None,
                parties: vec![],
                stakes: vec![],
                approaches: vec![],
                bodies: vec![],
                predecessor: None,
            };
            let id = create_convention(&store, &new, precedente).await?;
            println!("Convention n° {id} créée : {}", new.title);
        }
        ConventionCommand::List => {
            let today = chrono::Local::now().date_naive();
            let list = store.conventions().await?;
            if list.is_empty() {
                println!("Aucune convention.");
            }
            for c in list {
                println!(
                    "{:>4}  {}  {} → {}  {}  ({} {})",
                    c.id,
                    c.title,
                    ctg_domain::format::date_short(c.start),
                    ctg_domain::format::date_short(c.end),
                    c.convention().status_on(today).label(),
                    c.epci_name,
                    c.epci_siren
                );
            }
        }
    }
    Ok(())
}
