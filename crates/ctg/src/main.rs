//! `ctg`: serve the platform, migrate the database, import data, manage conventions, load the demo.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::{ArgAction, Args, Parser, Subcommand};
use ctg::{cli_actor, demo, read_file};
use ctg_domain::format::integer;
use ctg_domain::parse;
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
    /// Gère les comptes : création, liste, désactivation, mot de passe, rôles
    #[command(subcommand)]
    User(UserCommand),
    /// Liste ou complète le catalogue des types d'équipement
    #[command(subcommand, name = "type-equipement")]
    FacilityType(FacilityTypeCommand),
    /// Consulte ou fixe les paramètres datés (seuil du secret statistique…)
    #[command(subcommand, name = "parametre")]
    Parameter(ParameterCommand),
    /// Écrit une copie cohérente de la base pendant que la plateforme tourne (SQLite : VACUUM INTO ;
    /// PostgreSQL : pg_dump), avec son manifeste (FICHIER.manifeste.json)
    #[command(name = "sauvegarde")]
    Backup {
        /// Le fichier de la sauvegarde (il ne doit pas exister)
        fichier: PathBuf,
    },
    /// Restaure une sauvegarde dans une base vide (--database-url) et la vérifie contre son manifeste :
    /// lignes de chaque table, journal des modifications
    #[command(name = "restauration")]
    Restore {
        /// Le fichier de la sauvegarde (son manifeste FICHIER.manifeste.json à côté)
        fichier: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum FacilityTypeCommand {
    /// Liste les types d'équipement
    #[command(name = "liste")]
    List,
    /// Ajoute un type d'équipement propre à la CAF
    #[command(name = "ajouter")]
    Add {
        /// Code : lettres minuscules sans accent, chiffres et « _ » (par exemple ludotheque)
        #[arg(long)]
        code: String,
        /// Libellé affiché
        #[arg(long)]
        libelle: String,
        /// Thème (Petite enfance, Enfance et jeunesse, Parentalité…)
        #[arg(long)]
        theme: String,
        /// Ce que compte la capacité : eaje, assistants_maternels ou autre
        #[arg(long, default_value = "autre")]
        places: String,
    },
}

#[derive(Subcommand, Debug)]
enum ParameterCommand {
    /// Affiche les valeurs d'un paramètre daté
    #[command(name = "voir")]
    Show {
        /// seuil_secret_statistique
        code: String,
    },
    /// Fixe la valeur d'un paramètre à partir d'une date
    #[command(name = "fixer")]
    Set {
        /// seuil_secret_statistique
        code: String,
        /// Date d'effet (AAAA-MM-JJ ou JJ/MM/AAAA)
        #[arg(long = "a-partir-du", value_parser = |raw: &str| parse::date("a-partir-du", raw))]
        from: NaiveDate,
        /// La valeur
        #[arg(long)]
        valeur: i64,
    },
}

/// The dated parameters the platform knows, with their default and their bounds.
const PARAMETERS: &[(&str, i64, std::ops::RangeInclusive<i64>, &str)] = &[
    (
        ctg_web::MASKING_PARAMETER,
        5,
        1..=100,
        "seuil du secret statistique : les effectifs protégés inférieurs sont masqués au public",
    ),
    (
        ctg_store::MAX_DOCUMENT_PARAMETER,
        ctg_domain::documents::DEFAULT_MAX_DOCUMENT_BYTES,
        1024..=20 * 1024 * 1024,
        "taille maximale d'un document joint, en octets (la limite des envois est de 24 Mio)",
    ),
    (
        ctg_domain::logo::MAX_LOGO_PARAMETER,
        ctg_domain::logo::DEFAULT_MAX_LOGO_BYTES,
        1024..=2 * 1024 * 1024,
        "taille maximale du logo d'une partie, en octets (512 Kio par défaut)",
    ),
    (
        ctg_domain::sppe::PLANNING_THRESHOLD,
        3_500,
        0..=1_000_000,
        "service public de la petite enfance : population au-delà de laquelle une commune planifie l'offre et soutient la qualité (3 500 depuis le 1er janvier 2025)",
    ),
    (
        ctg_domain::sppe::SCHEMA_THRESHOLD,
        10_000,
        0..=1_000_000,
        "service public de la petite enfance : population au-delà de laquelle une commune adopte un schéma pluriannuel et a un relais petite enfance (10 000 depuis le 1er janvier 2025)",
    ),
    (
        ctg_domain::sppe::RPE_REQUIRED,
        0,
        0..=1,
        "service public de la petite enfance : 1 quand le relais petite enfance est obligatoire au-delà du seuil du schéma (1 depuis le 1er janvier 2026)",
    ),
    (
        ctg_domain::sppe::IN_FORCE,
        0,
        0..=1,
        "service public de la petite enfance : 1 quand ses obligations sont en vigueur (1 depuis le 1er janvier 2025)",
    ),
];

#[derive(Subcommand, Debug)]
enum UserCommand {
    /// Crée un compte ; un mot de passe à usage unique est affiché, à changer à la première connexion
    Add {
        /// Nom et prénom
        #[arg(long)]
        nom: String,
        /// Adresse électronique (l'identifiant de connexion)
        #[arg(long)]
        email: String,
        /// Administrateur de la plateforme
        #[arg(long)]
        admin: bool,
        /// Organisation de rattachement (nom ou sigle d'une partie, par exemple CAF) : un contributeur
        /// modifie ce que son organisation pilote ou renseigne
        #[arg(long)]
        organisation: Option<String>,
    },
    /// Liste les comptes
    List,
    /// Désactive un compte : plus de connexion, sessions et jetons arrêtés
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Donne un nouveau mot de passe, lu sur l'entrée standard (une ligne) ; sans --stdin, un mot de
    /// passe à usage unique est créé et affiché, à changer à la première connexion
    SetPassword {
        #[arg(long)]
        email: String,
        /// Lit le mot de passe sur l'entrée standard
        #[arg(long)]
        stdin: bool,
    },
    /// Crée un jeton d'API pour un compte et l'affiche une seule fois, seul sur la dernière ligne
    Token {
        #[arg(long)]
        email: String,
        /// Nom du jeton, pour le reconnaître sur la page « Mon compte »
        #[arg(long)]
        nom: String,
        /// Autorise l'écriture (sinon : lecture seule)
        #[arg(long)]
        ecriture: bool,
    },
    /// Donne un rôle dans une convention (coordination, contributeur, lecteur) ou le retire (aucun)
    Role {
        #[arg(long)]
        email: String,
        /// Numéro de la convention
        #[arg(long)]
        convention: i64,
        #[arg(long)]
        role: String,
    },
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Adresse d'écoute
    #[arg(long, env = "CTG_ADDR", default_value = "127.0.0.1:8080")]
    addr: String,
    /// Ne charge pas la démonstration, même sur une base vide
    #[arg(long)]
    sans_demo: bool,
    /// Cookies « Secure » : à activer derrière HTTPS
    #[arg(long, env = "CTG_COOKIE_SECURE", action = ArgAction::SetTrue, value_parser = clap::builder::BoolishValueParser::new())]
    cookie_secure: bool,
    /// Derrière un proxy inverse : l'adresse du client est lue dans X-Forwarded-For
    #[arg(long, env = "CTG_DERRIERE_PROXY", action = ArgAction::SetTrue, value_parser = clap::builder::BoolishValueParser::new())]
    derriere_proxy: bool,
    /// Minutes d'inactivité au bout desquelles une session se ferme
    #[arg(long, env = "CTG_SESSION_INACTIVITE", default_value_t = 30, value_parser = clap::value_parser!(i64).range(1..=1440))]
    session_inactivite: i64,
    /// Heures au bout desquelles une session se ferme, quoi qu'il arrive
    #[arg(long, env = "CTG_SESSION_DUREE", default_value_t = 12, value_parser = clap::value_parser!(i64).range(1..=168))]
    session_duree: i64,
    /// Serveur SMTP des rappels par courriel : smtp://hôte:25 (en clair, relais local),
    /// smtp://hôte:587?tls=required (STARTTLS), smtps://hôte:465 (TLS d'emblée) ; identifiants
    /// possibles dans l'adresse (smtps://utilisateur:motdepasse@hôte). Sans lui, rien n'est envoyé
    #[arg(long = "smtp", env = "CTG_SMTP_URL", hide_env_values = true)]
    smtp: Option<String>,
    /// Utilisateur du serveur SMTP, s'il n'est pas dans l'adresse
    #[arg(long, env = "CTG_SMTP_UTILISATEUR", requires = "smtp_mot_de_passe")]
    smtp_utilisateur: Option<String>,
    /// Mot de passe du serveur SMTP, s'il n'est pas dans l'adresse (plutôt par la variable
    /// d'environnement que sur la ligne de commande)
    #[arg(long, env = "CTG_SMTP_MOT_DE_PASSE", hide_env_values = true, requires = "smtp_utilisateur")]
    smtp_mot_de_passe: Option<String>,
    /// Expéditeur des courriels : « Nom <adresse> » ou « adresse »
    #[arg(long, env = "CTG_SMTP_EXPEDITEUR")]
    smtp_expediteur: Option<String>,
    /// Adresse publique de la plateforme, pour les liens des courriels (https://ctg.exemple.fr)
    #[arg(long, env = "CTG_URL_PUBLIQUE")]
    url_publique: Option<String>,
    /// Secondes entre deux passages de l'envoi des rappels (recherche des rappels dus, puis envoi)
    #[arg(long, env = "CTG_RAPPELS_INTERVALLE", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86400))]
    rappels_intervalle: u64,
    /// Secondes d'attente après un premier échec d'envoi, doublées à chaque nouvel échec (au plus six heures)
    #[arg(long, env = "CTG_RAPPELS_REESSAI", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    rappels_reessai: u64,
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
    /// Observations du diagnostic depuis un fichier CSV, XLSX ou ODS
    /// (indicateur,type_territoire,code_territoire,periode,valeur,source,date_donnees)
    Observations {
        /// Le fichier CSV, XLSX ou ODS
        #[arg(long, visible_alias = "fichier")]
        csv: PathBuf,
    },
    /// Données ouvertes de la CNAF et de l'Insee, telles que publiées, pour toute la France : taux de
    /// couverture (txcouv_pe_*), places (nbpla_pe_*) de l'accueil du jeune enfant, allocataires par
    /// commune (s_ben_com_f), base communale du recensement (CODGEO, P21_POP…). Le type est reconnu à
    /// l'en-tête.
    #[command(name = "donnees-ouvertes")]
    DonneesOuvertes {
        /// Le fichier CSV (séparateur « ; » ou « , »)
        fichier: PathBuf,
        /// Le type du fichier, quand l'en-tête ne suffit pas : txcouv, nbpla, allocataires ou insee
        #[arg(long = "type")]
        kind: Option<String>,
    },
    /// Équipements depuis un fichier CSV, XLSX ou ODS (colonnes de docs/FORMATS.md ; les noms de champs du
    /// schéma SCDL « Équipements » sont acceptés). Un équipement dont l'identifiant est déjà connu est mis à jour.
    Equipements {
        /// Le fichier CSV, XLSX ou ODS
        #[arg(long)]
        fichier: PathBuf,
    },
    /// Lignes de financement d'une convention depuis un fichier CSV, XLSX ou ODS
    /// (equipement,dispositif,financeur,annee,montant,objet)
    Financements {
        /// Le numéro de la convention
        #[arg(long)]
        convention: i64,
        /// Le fichier CSV, XLSX ou ODS
        #[arg(long)]
        fichier: PathBuf,
    },
    /// Plan d'action d'une convention depuis un tableur XLSX ou ODS (feuilles « Fiches », « Moyens »,
    /// « Indicateurs ») ou un CSV des fiches ; une fiche dont le code existe est mise à jour
    Plan {
        /// Le numéro de la convention
        #[arg(long)]
        convention: i64,
        /// Le fichier XLSX, ODS ou CSV
        #[arg(long)]
        fichier: PathBuf,
        /// Affiche ce qui serait écrit, sans rien écrire
        #[arg(long)]
        apercu: bool,
    },
    /// Contours des communes depuis un GeoJSON (par exemple un export d'Admin Express de l'IGN, en WGS 84
    /// ou en Lambert-93), pour dessiner les cartes
    Contours {
        /// Le fichier GeoJSON
        #[arg(long)]
        geojson: PathBuf,
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
        #[arg(long, value_parser = |raw: &str| parse::date("debut", raw))]
        debut: NaiveDate,
        /// Date de fin (AAAA-MM-JJ ou JJ/MM/AAAA)
        #[arg(long, value_parser = |raw: &str| parse::date("fin", raw))]
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
    /// Prépare la convention suivante, en brouillon : mêmes parties, stratégie et instances, fiches non
    /// terminées reprises comme propositions
    #[command(name = "suivante")]
    Next {
        /// Numéro de la convention qui s'achève
        convention: i64,
    },
    /// Enregistre les communes qui ont transféré la compétence petite enfance (service public de la
    /// petite enfance) à l'EPCI d'une convention ; sans commune, aucune ne l'a transférée
    #[command(name = "competence-sppe")]
    CompetenceSppe {
        /// Le numéro de la convention
        #[arg(long)]
        convention: i64,
        /// Les codes INSEE des communes, séparés par des virgules
        #[arg(long, value_delimiter = ',')]
        communes: Vec<String>,
    },
    /// Préremplit le diagnostic de l'EPCI d'une convention depuis les données ouvertes importées
    /// (ctg import donnees-ouvertes) : communes, EPCI, département et France, chaque chiffre avec sa source
    #[command(name = "preremplir-diagnostic")]
    PreremplirDiagnostic {
        /// Le numéro de la convention
        #[arg(long)]
        convention: i64,
    },
}

/// Clap's own headings in French, on every command.
fn in_french(cmd: clap::Command) -> clap::Command {
    cmd.help_template("{about-with-newline}\nUtilisation : {usage}\n\n{all-args}{after-help}")
        .subcommand_help_heading("Commandes")
        .subcommand_value_name("COMMANDE")
        .mut_subcommands(in_french)
}

/// Stops on a command-line error with a French message and clap's exit code (2); help and version
/// are shown as clap shows them.
fn exit_in_french(e: &clap::Error) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    eprintln!("{}", french_error(e));
    std::process::exit(e.exit_code());
}

/// Clap's error in French: what is wrong, a suggestion when clap has one, and how to get help.
fn french_error(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ErrorKind};
    let ctx = |kind: ContextKind| e.get(kind).map(|v| v.to_string()).unwrap_or_default();
    let arg = ctx(ContextKind::InvalidArg);
    let value = ctx(ContextKind::InvalidValue);
    let mut message = match e.kind() {
        ErrorKind::UnknownArgument => format!("option inconnue « {arg} »"),
        ErrorKind::InvalidSubcommand => format!("commande inconnue « {} »", ctx(ContextKind::InvalidSubcommand)),
        ErrorKind::MissingRequiredArgument => format!("argument obligatoire absent : {arg}"),
        ErrorKind::MissingSubcommand => "il manque une commande".to_owned(),
        ErrorKind::InvalidValue => {
            let valid = ctx(ContextKind::ValidValue);
            if value.is_empty() {
                format!("une valeur est attendue pour {arg}")
            } else if valid.is_empty() {
                format!("valeur « {value} » invalide pour {arg}")
            } else {
                format!("valeur « {value} » invalide pour {arg} (valeurs possibles : {valid})")
            }
        }
        ErrorKind::ValueValidation => {
            // Our own parsers explain in French; the standard ones are translated.
            let why = std::error::Error::source(e)
                .map(|s| {
                    if s.downcast_ref::<std::num::ParseIntError>().is_some() {
                        " : un nombre entier est attendu".to_owned()
                    } else if s.to_string().contains(" is not in ") {
                        " : la valeur sort des bornes permises".to_owned()
                    } else {
                        format!(" : {s}")
                    }
                })
                .unwrap_or_default();
            format!("valeur « {value} » invalide pour {arg}{why}")
        }
        ErrorKind::NoEquals => format!("{arg} attend sa valeur après un signe « = »"),
        ErrorKind::TooManyValues => format!("valeur « {value} » en trop pour {arg}"),
        ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            format!("nombre de valeurs incorrect pour {arg}")
        }
        ErrorKind::ArgumentConflict => {
            let prior = ctx(ContextKind::PriorArg);
            if prior.is_empty() {
                format!("{arg} ne peut pas être donné ici (ou pas deux fois)")
            } else {
                format!("{arg} ne peut pas être donné avec {prior}")
            }
        }
        _ => "la ligne de commande est invalide".to_owned(),
    };
    message = format!("erreur : {message}");
    let suggested = [ContextKind::SuggestedArg, ContextKind::SuggestedSubcommand, ContextKind::SuggestedValue]
        .into_iter()
        .map(ctx)
        .find(|s| !s.is_empty());
    if let Some(s) = suggested {
        message.push_str(&format!("\n\n  conseil : vouliez-vous dire « {s} » ?"));
    }
    let usage = ctx(ContextKind::Usage);
    if !usage.is_empty() {
        let usage = usage.replace("Usage:", "Utilisation :");
        message.push_str(&format!("\n\n{usage}"));
    }
    message.push_str("\n\nPour plus d'informations, essayez « --help ».");
    message
}

fn main() -> ExitCode {
    let matches = match in_french(<Cli as clap::CommandFactory>::command()).try_get_matches() {
        Ok(m) => m,
        Err(e) => exit_in_french(&e),
    };
    let cli = <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| exit_in_french(&e));
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CTG_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
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
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        match cause.downcast_ref::<StoreError>() {
            Some(StoreError::Database(db)) => {
                tracing::error!(error = %db, "database error");
                let what = match db {
                    sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_) => {
                        "la base de données ne répond pas ou refuse la connexion"
                    }
                    _ => "la base de données a refusé l'opération",
                };
                parts.push(format!("{what} (le détail figure dans le journal)"));
                break;
            }
            _ => parts.push(cause.to_string()),
        }
    }
    parts.dedup();
    parts.join(" : ")
}

/// Opens the database on another thread of the runtime, so that reading a file can go on meanwhile.
fn opening(url: &str) -> tokio::task::JoinHandle<Result<Store>> {
    let url = url.to_owned();
    tokio::spawn(async move { open(&url).await })
}

async fn opened(opening: tokio::task::JoinHandle<Result<Store>>) -> Result<Store> {
    opening.await.context("ouverture de la base de données interrompue")?
}

async fn open(url: &str) -> Result<Store> {
    Store::open(url).await.with_context(|| format!("impossible d'ouvrir la base de données {}", redact_url(url)))
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
                    println!(
                        "La démonstration est déjà chargée (convention n° {convention_id}) ; rien n'a été modifié."
                    );
                }
            }
        }
        Command::Backup { fichier } => {
            let store = open(&cli.database_url).await?;
            let manifest = store.backup(&cli.database_url, &fichier).await?;
            let manifest_file = ctg_store::manifest_path(&fichier);
            std::fs::write(&manifest_file, serde_json::to_string_pretty(&manifest)?)
                .with_context(|| format!("impossible d'écrire le manifeste {}", manifest_file.display()))?;
            if manifest.moteur == "postgresql" {
                println!("PostgreSQL : la sauvegarde est faite par pg_dump (format personnalisé), sur l'instantané des chiffres du manifeste.");
            }
            println!(
                "Sauvegarde écrite : {} ({} octets) ; {} tables, {} lignes, {} changements au journal{}.",
                fichier.display(),
                std::fs::metadata(&fichier).map(|m| m.len()).unwrap_or_default(),
                manifest.tables.len(),
                manifest.tables.values().sum::<i64>(),
                manifest.journal.changements,
                manifest.journal.dernier.map(|n| format!(" (dernier n° {n})")).unwrap_or_default()
            );
            println!("Manifeste : {}", manifest_file.display());
        }
        Command::Restore { fichier } => {
            let manifest_file = ctg_store::manifest_path(&fichier);
            let text = std::fs::read_to_string(&manifest_file).with_context(|| {
                format!(
                    "le manifeste {} est introuvable : il est écrit à côté de chaque sauvegarde",
                    manifest_file.display()
                )
            })?;
            let manifest: ctg_store::Manifest = serde_json::from_str(&text)
                .with_context(|| format!("le manifeste {} est illisible", manifest_file.display()))?;
            let (store, report) = Store::restore(&cli.database_url, &fichier, &manifest).await?;
            store.close().await;
            println!(
                "Restauration vérifiée dans {} : {} tables, {} lignes et {} changements au journal, identiques à la sauvegarde du {}.",
                redact_url(&cli.database_url),
                report.tables,
                report.rows,
                report.changes,
                manifest.prise_le
            );
        }
        Command::Serve(args) => serve(&cli.database_url, args).await?,
        Command::Import(cmd) => import(&cli.database_url, cmd).await?,
        Command::FacilityType(cmd) => {
            let store = open(&cli.database_url).await?;
            match cmd {
                FacilityTypeCommand::List => {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    for t in store.facility_types().await? {
                        // A closed pipe (`| head`) ends the listing quietly.
                        if writeln!(out, "{:<22} {:<28} {} ({})", t.code, t.theme, t.label, t.places.code()).is_err() {
                            break;
                        }
                    }
                }
                FacilityTypeCommand::Add { code, libelle, theme, places } => {
                    let places = ctg_domain::offer::PlacesKind::parse(&places).with_context(|| {
                        format!("places : valeur inconnue « {places} » (valeurs admises : eaje, assistants_maternels, autre)")
                    })?;
                    let t =
                        ctg_domain::offer::FacilityType { code, label: libelle, theme, places, aliases: Vec::new() };
                    store.add_facility_type(&cli_actor(), &t).await?;
                    println!("Type d'équipement « {} » ajouté.", t.code);
                }
            }
        }
        Command::Parameter(cmd) => {
            let store = open(&cli.database_url).await?;
            let code = match &cmd {
                ParameterCommand::Show { code } | ParameterCommand::Set { code, .. } => code.clone(),
            };
            let Some((_, default, range, what)) = PARAMETERS.iter().find(|(c, ..)| *c == code) else {
                let known: Vec<&str> = PARAMETERS.iter().map(|(c, ..)| *c).collect();
                anyhow::bail!("paramètre inconnu « {code} » (paramètres : {})", known.join(", "));
            };
            match cmd {
                ParameterCommand::Show { .. } => {
                    let p = store.parameter(&code, *default).await?;
                    println!("{code} : {what}");
                    println!("  par défaut : {default}");
                    for (from, v) in &p.values {
                        println!("  à partir du {} : {v}", from.format("%d/%m/%Y"));
                    }
                }
                ParameterCommand::Set { from, valeur, .. } => {
                    anyhow::ensure!(
                        range.contains(&valeur),
                        "valeur hors limites pour {code} : {valeur} (de {} à {})",
                        range.start(),
                        range.end()
                    );
                    store.set_parameter(&cli_actor(), &code, from, valeur).await?;
                    println!("{code} = {valeur} à partir du {}.", from.format("%d/%m/%Y"));
                }
            }
        }
        Command::Convention(cmd) => convention(&cli.database_url, cmd).await?,
        Command::User(cmd) => user(&cli.database_url, cmd).await?,
    }
    Ok(())
}

async fn serve(url: &str, args: ServeArgs) -> Result<()> {
    let store = open(url).await?;
    if !args.sans_demo && store.conventions().await?.is_empty() {
        let outcome = demo::load(&store).await.context("chargement de la démonstration")?;
        tracing::info!(convention = outcome.convention_id(), "demo loaded into an empty database");
    }
    first_administrator(&store).await?;
    let listener = tokio::net::TcpListener::bind(&args.addr)
        .await
        .with_context(|| format!("impossible d'écouter sur {}", args.addr))?;
    let local = listener.local_addr()?;
    println!("Plateforme CTG disponible sur http://{local}/ (base : {})", redact_url(url));
    let auth = ctg_web::AuthConfig {
        secure_cookies: args.cookie_secure,
        idle: chrono::Duration::minutes(args.session_inactivite),
        absolute: chrono::Duration::hours(args.session_duree),
        trust_proxy: args.derriere_proxy,
    };
    let mail = ctg_web::mail::MailConfig {
        smtp_url: args.smtp.filter(|s| !s.trim().is_empty()),
        credentials: args.smtp_utilisateur.zip(args.smtp_mot_de_passe),
        sender: args.smtp_expediteur.filter(|s| !s.trim().is_empty()),
        public_url: args.url_publique.filter(|s| !s.trim().is_empty()),
        interval: std::time::Duration::from_secs(args.rappels_intervalle),
        retry_base: std::time::Duration::from_secs(args.rappels_reessai),
    };
    mail.check().map_err(anyhow::Error::msg)?;
    if !mail.is_configured() && (mail.smtp_url.is_some() || mail.sender.is_some()) {
        anyhow::bail!(
            "rappels par courriel : --smtp, --smtp-expediteur et --url-publique vont ensemble (CTG_SMTP_URL, CTG_SMTP_EXPEDITEUR, CTG_URL_PUBLIQUE)"
        );
    }
    let state = ctg_web::AppState::new(store).with_auth(auth).with_mail(mail);
    match ctg_web::mail::spawn_worker(state.clone()).map_err(anyhow::Error::msg)? {
        Some(_) => println!("Rappels par courriel : envoi toutes les {} s", args.rappels_intervalle),
        None => println!("Rappels par courriel : non configurés (aucun courriel n'est envoyé)"),
    }
    ctg_web::run(listener, state).await?;
    Ok(())
}

/// The address of the administrator created on a database without any.
const FIRST_ADMIN_EMAIL: &str = "admin@ctg.local";

/// On a database without any administrator, creates one. Its one-time password is printed on the
/// terminal, once, and never logged; when the output is not a terminal (a service, a log file), no
/// password is set and the way to set one is printed instead.
async fn first_administrator(store: &Store) -> Result<()> {
    use std::io::IsTerminal;
    if store.has_admin().await? {
        return Ok(());
    }
    let actor = ctg_domain::Actor::system("démarrage du serveur (premier administrateur)");
    let terminal = std::io::stdout().is_terminal();
    let password = ctg_store::one_time_password();
    let new = ctg_store::NewUser {
        name: "Administrateur",
        email: FIRST_ADMIN_EMAIL,
        organisation_id: None,
        is_admin: true,
        password: terminal.then_some(password.as_str()),
        must_change_password: true,
    };
    store.create_user(&actor, &new).await?;
    if terminal {
        println!("Premier compte administrateur créé : {FIRST_ADMIN_EMAIL}");
        println!(
            "Mot de passe à usage unique (affiché une seule fois, à changer à la première connexion) : {password}"
        );
    } else {
        println!(
            "Premier compte administrateur créé : {FIRST_ADMIN_EMAIL}, sans mot de passe (la sortie n'est pas un terminal : \
             aucun secret n'y est écrit). Donnez-lui un mot de passe avec : ctg user set-password --email {FIRST_ADMIN_EMAIL}"
        );
    }
    Ok(())
}

async fn user(url: &str, cmd: UserCommand) -> Result<()> {
    let store = open(url).await?;
    let actor = cli_actor();
    let find = |email: String| {
        let store = store.clone();
        async move {
            store
                .user_by_email(&email)
                .await?
                .with_context(|| format!("aucun compte n'a l'adresse « {} »", email.trim()))
        }
    };
    match cmd {
        UserCommand::Add { nom, email, admin, organisation } => {
            let organisation_id = match organisation {
                Some(o) => Some(store.organisation_named(&o).await?),
                None => None,
            };
            let password = ctg_store::one_time_password();
            let new = ctg_store::NewUser {
                name: &nom,
                email: &email,
                organisation_id,
                is_admin: admin,
                password: Some(&password),
                must_change_password: true,
            };
            let id = store.create_user(&actor, &new).await?;
            println!("Compte n° {id} créé pour {nom}.");
            println!("Mot de passe à usage unique (à transmettre par un canal sûr, à changer à la première connexion) : {password}");
        }
        UserCommand::List => {
            for u in store.users().await? {
                let state = if u.erased_at.is_some() {
                    "effacé"
                } else if u.disabled_at.is_some() {
                    "désactivé"
                } else {
                    "actif"
                };
                println!(
                    "{:>4}  {}  <{}>  {}{}",
                    u.id,
                    u.name,
                    u.email,
                    state,
                    if u.is_admin { "  administrateur" } else { "" }
                );
            }
        }
        UserCommand::Disable { email } => {
            let u = find(email).await?;
            store.disable_user(&actor, u.id).await?;
            println!("Compte de {} désactivé.", u.name);
        }
        UserCommand::SetPassword { email, stdin } => {
            let u = find(email).await?;
            if stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).context("lecture du mot de passe sur l'entrée standard")?;
                let password = line.trim_end_matches(['\r', '\n']);
                store.set_password(&actor, u.id, password, false).await?;
                println!("Mot de passe de {} changé.", u.name);
            } else {
                let password = ctg_store::one_time_password();
                store.set_password(&actor, u.id, &password, true).await?;
                println!("Mot de passe à usage unique de {} (à changer à la première connexion) : {password}", u.name);
            }
        }
        UserCommand::Token { email, nom, ecriture } => {
            let u = find(email).await?;
            let (_, secret) = store.create_token(&actor, u.id, &nom, ecriture).await?;
            let rights = if ecriture { "lecture et écriture" } else { "lecture seule" };
            println!("Jeton d'API « {} » de {} ({rights}), affiché une seule fois :", nom.trim(), u.name);
            println!("{secret}");
        }
        UserCommand::Role { email, convention, role } => {
            let u = find(email).await?;
            let role = match role.trim() {
                "aucun" => None,
                r => Some(ctg_domain::access::Role::parse(r)?),
            };
            store.convention_summary(convention).await?;
            store.set_role(&actor, convention, u.id, role).await?;
            match role {
                Some(r) => println!("{} a le rôle « {} » dans la convention n° {convention}.", u.name, r.label()),
                None => println!("{} n'a plus de rôle dans la convention n° {convention}.", u.name),
            }
        }
    }
    Ok(())
}

async fn import(url: &str, cmd: ImportCommand) -> Result<()> {
    match cmd {
        ImportCommand::Territoire { communes, epci, millesime } => {
            let vintage = Vintage::new(millesime)?;
            let started = Instant::now();
            // The database opens (and migrates) on another thread while the files are read.
            let opening = opening(url);
            let communes_json = read_file(&communes)?;
            let epci_json = read_file(&epci)?;
            let territory = ctg_import::decoupage::parse(
                &ctg_import::display_name(&communes),
                &communes_json,
                &ctg_import::display_name(&epci),
                &epci_json,
                vintage,
                &format!("@etalab/decoupage-administratif ({})", ctg_import::display_name(&epci)),
            )?;
            drop((communes_json, epci_json));
            let parsed = started.elapsed();
            let store = opened(opening).await?;
            let bar = ProgressBar::new(territory.batch.row_count()).with_style(
                ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} lignes ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_message("Écriture");
            let s = store.import_territory(&cli_actor(), &territory.batch, &|n| bar.set_position(n)).await?;
            bar.finish_and_clear();
            let k = &territory.skipped;
            println!(
                "Territoire importé (millésime {vintage}) en {:.2} s (lecture et contrôle {:.2} s, écriture {:.2} s) : \
                 {} communes ({} nouvelles, {} déjà connues), {} EPCI ({} nouveaux), {} appartenances, {} populations.",
                started.elapsed().as_secs_f64(),
                parsed.as_secs_f64(),
                (started.elapsed() - parsed).as_secs_f64(),
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
            match store.upsert_populations(&cli_actor(), &records, &source).await {
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
        ImportCommand::Observations { csv } => {
            let name = ctg_import::display_name(&csv);
            let rows = ctg_import::observations::parse(&name, &read_file(&csv)?)?;
            let store = open(url).await?;
            let n = store.import_observations(&cli_actor(), &rows, &name).await?;
            println!("{} observations importées depuis {name}.", integer(n as i64));
        }
        ImportCommand::DonneesOuvertes { fichier, kind } => {
            let started = Instant::now();
            let name = ctg_import::display_name(&fichier);
            let opening = opening(url);
            let file = ctg_import::opendata::parse(&name, &read_file(&fichier)?, kind.as_deref())?;
            let parsed = started.elapsed();
            let store = opened(opening).await?;
            let label = file.kind.label();
            let source = ctg_store::OpenDataSource {
                file: &name,
                label: &label,
                source: file.source,
                vintage: file.vintage,
                imported_on: chrono::Utc::now().date_naive(),
            };
            let n = store.import_open_data(&cli_actor(), &source, &file.rows).await?;
            println!(
                "{label} : {} chiffres importés depuis {name} ({} lignes, millésime {}) en {:.2} s (lecture {:.2} s, écriture {:.2} s).",
                integer(n as i64),
                integer(file.lines as i64),
                file.vintage,
                started.elapsed().as_secs_f64(),
                parsed.as_secs_f64(),
                (started.elapsed() - parsed).as_secs_f64(),
            );
            for notice in &file.notices {
                println!("  - {notice}");
            }
        }
        ImportCommand::Equipements { fichier } => {
            let name = ctg_import::display_name(&fichier);
            let store = open(url).await?;
            let types = store.facility_types().await?;
            let rows = ctg_import::facilities::parse(&name, &read_file(&fichier)?, &types)?;
            let rows: Vec<(String, ctg_domain::offer::NewFacility)> =
                rows.into_iter().map(|r| (format!("{name}, {}", r.place), r.value)).collect();
            let done = store
                .import_facilities(&cli_actor(), &rows, &name)
                .await
                .with_context(|| format!("{name} : rien n'a été écrit"))?;
            println!(
                "{} depuis {name} : {} créé(s), {} mis à jour.",
                count(rows.len(), "équipement lu", "équipements lus"),
                integer(done.created as i64),
                integer(done.updated as i64)
            );
        }
        ImportCommand::Financements { convention, fichier } => {
            let name = ctg_import::display_name(&fichier);
            let rows = ctg_import::funding::parse(&name, &read_file(&fichier)?)?;
            let rows: Vec<(String, Option<String>, ctg_domain::offer::NewFunding)> =
                rows.into_iter().map(|r| (format!("{name}, {}", r.place), r.value.facility, r.value.funding)).collect();
            let store = open(url).await?;
            let (created, updated) = store
                .import_funding(&cli_actor(), convention, &rows, &name)
                .await
                .with_context(|| format!("{name} : rien n'a été écrit"))?;
            println!(
                "{} depuis {name} : {} créée(s), {} mise(s) à jour.",
                count(rows.len(), "ligne de financement lue", "lignes de financement lues"),
                integer(created as i64),
                integer(updated as i64)
            );
        }
        ImportCommand::Plan { convention, fichier, apercu } => {
            let name = ctg_import::display_name(&fichier);
            let store = open(url).await?;
            let plan = store.plan(convention).await?;
            let summary = store.convention_summary(convention).await?;
            let epci = store.epci(&summary.epci_siren).await?;
            let ctx = ctg_import::plan::PlanContext {
                ambitions: plan.stakes.iter().flat_map(|(_, _, a)| a.iter().map(|(n, _)| *n)).collect(),
                objectives: plan.objectives.iter().map(|o| o.objective.code.clone()).collect(),
                communes: epci.communes.iter().map(|c| (c.code.clone(), c.name.clone())).collect(),
                parties: store.party_refs(convention).await?,
            };
            let rows = ctg_import::plan::parse(&name, &read_file(&fichier)?, &ctx)?;
            if apercu {
                println!("Aperçu de {name} (rien n'est écrit) :");
                for r in &rows {
                    let f = &r.value;
                    let known = plan.fiches.iter().any(|x| x.fiche.code.eq_ignore_ascii_case(&f.fiche.code));
                    println!(
                        "  {} — {} ({}) : {}, {} ligne(s) de moyens, {} indicateur(s)",
                        f.fiche.code,
                        f.fiche.title,
                        f.fiche.status.label(),
                        if known { "mise à jour" } else { "nouvelle" },
                        f.means.len(),
                        f.indicators.len()
                    );
                }
                return Ok(());
            }
            let rows: Vec<ctg_store::PlanImportRow> = rows
                .into_iter()
                .map(|r| (format!("{name}, {}", r.place), r.value.fiche, r.value.means, r.value.indicators))
                .collect();
            let (created, updated) = store
                .import_plan(&cli_actor(), convention, &rows, &name)
                .await
                .with_context(|| format!("{name} : rien n'a été écrit"))?;
            println!(
                "{} depuis {name} : {} créée(s), {} mise(s) à jour.",
                count(rows.len(), "fiche lue", "fiches lues"),
                integer(created as i64),
                integer(updated as i64)
            );
        }
        ImportCommand::Contours { geojson } => {
            let name = ctg_import::display_name(&geojson);
            let contours = ctg_import::contours::parse(&name, &read_file(&geojson)?)?;
            let outlines: Vec<ctg_store::CommuneOutline> = contours
                .into_iter()
                .map(|c| ctg_store::CommuneOutline { code: c.code, polygons: c.polygons })
                .collect();
            let store = open(url).await?;
            let (stored, skipped) = store.import_outlines(&cli_actor(), &outlines, &name).await?;
            println!(
                "{} enregistré(s) depuis {name}{}.",
                count(stored as usize, "contour de commune", "contours de communes"),
                if skipped > 0 {
                    format!(" ; {} ignoré(s) : communes absentes du territoire chargé", integer(skipped as i64))
                } else {
                    String::new()
                }
            );
        }
        ImportCommand::Convention { json } => {
            let name = ctg_import::display_name(&json);
            let conventions = ctg_import::convention::parse(&name, &read_file(&json)?)?;
            let store = open(url).await?;
            let ids = store
                .create_conventions(&cli_actor(), &conventions, None)
                .await
                .with_context(|| format!("{name} : rien n'a été écrit"))?;
            for (id, c) in ids.iter().zip(&conventions) {
                println!("Convention n° {id} créée : {}", c.title);
            }
        }
    }
    Ok(())
}

/// `3 communes`, `1 commune`, `0 commune`: French puts 0 and 1 in the singular.
fn count(n: usize, singular: &str, plural: &str) -> String {
    format!("{} {}", integer(n as i64), if n < 2 { singular } else { plural })
}

async fn convention(url: &str, cmd: ConventionCommand) -> Result<()> {
    let store = open(url).await?;
    match cmd {
        ConventionCommand::Create { epci, debut, fin, titre, statut, precedente } => {
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
                published: false,
            };
            let id = store.create_convention(&cli_actor(), &new, precedente).await?;
            println!("Convention n° {id} créée : {}", new.title);
        }
        ConventionCommand::Next { convention } => {
            let next = store.prepare_successor(&cli_actor(), convention).await?;
            println!(
                "Convention n° {} préparée en brouillon : {} ; {} fiche(s) non terminée(s) reprise(s) comme proposition(s).",
                next.id, next.title, next.carried
            );
        }
        ConventionCommand::CompetenceSppe { convention, communes } => {
            let c = store.convention_summary(convention).await?;
            let codes = communes
                .iter()
                .filter(|c| !c.trim().is_empty())
                .map(|c| parse::insee_code("communes", c))
                .collect::<Result<Vec<_>, _>>()?;
            store.set_sppe_transfers(&cli_actor(), &c.epci_siren, &codes).await?;
            println!(
                "{} commune(s) de {} exercent la compétence petite enfance par l'intercommunalité.",
                codes.len(),
                c.epci_name
            );
        }
        ConventionCommand::PreremplirDiagnostic { convention } => {
            let r = store.prefill_diagnostic(&cli_actor(), convention).await?;
            println!(
                "Diagnostic de {} prérempli : {} chiffres écrits (département {}{}).",
                r.epci_name,
                integer(r.written as i64),
                if r.departement.is_empty() { "inconnu" } else { &r.departement },
                r.coverage_year.map(|y| format!(", taux de couverture et composantes de {y}")).unwrap_or_default()
            );
            println!("Renseigné :");
            for l in &r.filled {
                println!("  - {} ({}) : {} — {}", l.label, l.level, l.detail, l.source);
            }
            if !r.kept.is_empty() {
                println!("Gardé (déjà renseigné par une autre source) :");
                for l in &r.kept {
                    println!("  - {} ({}) : {}", l.label, l.level, l.source);
                }
            }
            println!("Manquant :");
            for l in &r.missing {
                println!("  - {} ({}) : {}", l.label, l.level, l.detail);
            }
        }
        ConventionCommand::List => {
            let today = chrono::Local::now().date_naive();
            let list = store.conventions().await?;
            let ids: Vec<i64> = list.iter().map(|c| c.id).collect();
            let statuses = store.life_statuses(&ids, today).await?;
            if list.is_empty() {
                println!("Aucune convention.");
            }
            for (c, status) in list.iter().zip(statuses) {
                println!(
                    "{:>4}  {}  {} → {}  {}  ({} {})",
                    c.id,
                    c.title,
                    ctg_domain::format::date_short(c.start),
                    ctg_domain::format::date_short(c.end),
                    status.label(),
                    c.epci_name,
                    c.epci_siren
                );
            }
        }
    }
    Ok(())
}
