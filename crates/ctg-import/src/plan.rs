//! The action plan from a workbook, as coordinators keep it: one row per fiche action, then the means
//! each signatory commits and the follow-up indicators (see [`crate::tabular`] for how a file is read).
//!
//! | sheet | required | one row per |
//! |---|---|---|
//! | « Fiches » (or the first sheet) | yes | fiche: `code`, `intitule`, `description`, `ambitions`, `objectifs`, `pilote_organisation`, `pilote_personne`, `partenaires`, `public`, `communes`, `debut`, `fin`, `priorite`, `statut`, `demarches`, `besoins` |
//! | « Moyens » | no | fiche, organisation and year: `code_fiche`, `organisation`, `annee`, `etp`, `prevu`, `depense`, `nature`, `materiel` |
//! | « Indicateurs » | no | indicator: `code_fiche`, `indicateur`, `nature`, `unite`, `valeur_reference`, `annee_reference`, `sens`, `echelle`, `cible_AAAA`… |
//!
//! A CSV holds the fiches only. Sheet names and headers are compared loosely (case, accents,
//! punctuation: « Pilote (organisation) » is `pilote_organisation`), and each column has a few French
//! variants (« Intitulé », « Titre »…). Values are read as people write them: statuses through
//! [`FicheStatus::parse_loose`], priorities through [`Priority::parse_loose`], amounts through
//! [`parse_euros`], staff with a decimal comma or point. Ambitions, objectives and communes must be
//! those of the convention ([`PlanContext`]). Every cell is checked, then [`NewFiche::check`],
//! [`Means::check`] and [`PlanIndicator::check`]; every problem is listed, at its sheet, row and
//! column, and nothing is returned while there is one.
//!
//! [`tables`] writes the plan back in exactly these columns, so that a plan exported then imported is
//! the same plan.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ctg_domain::offer::parse_euros;
use ctg_domain::parse::{self, CommuneIndex, CommuneList};
use ctg_domain::plan::{
    loose, Direction, FicheStatus, IndicatorKind, Means, MeansKind, NewFiche, PlanIndicator, Priority, Target,
};
use ctg_domain::InseeCode;
use ctg_report::table::{Column as OutColumn, Table as OutTable, Value};

use crate::tabular::{header_key, line_of, Column, Row, Table};
use crate::{ImportError, ImportErrors, Located, Location};

/// The name of the sheet of the fiches (else the first sheet is read).
pub const FICHES_SHEET: &str = "Fiches";
/// The name of the sheet of the means (optional).
pub const MEANS_SHEET: &str = "Moyens";
/// The name of the sheet of the indicators (optional).
pub const INDICATORS_SHEET: &str = "Indicateurs";

/// Other names of the sheets, compared loosely.
const FICHES_SHEETS: &[&str] = &[FICHES_SHEET, "Fiches action", "Fiches actions", "Fiche action", "Plan d'action"];
const MEANS_SHEETS: &[&str] = &[MEANS_SHEET, "Moyens engagés", "Moyens des signataires", "Financements"];
const INDICATORS_SHEETS: &[&str] = &[INDICATORS_SHEET, "Indicateurs de suivi", "Suivi", "Évaluation"];

/// How many known values an error lists before « … ».
const LISTED: usize = 12;

/// What a plan is read against: the convention's ambitions (numbers), objectives (codes) and the
/// territory's communes (INSEE code and name), so that a fiche names only what exists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanContext {
    pub ambitions: Vec<i64>,
    pub objectives: Vec<String>,
    /// The territory's communes, to read their names or their codes.
    pub communes: Vec<(InseeCode, String)>,
    /// The convention's parties: the means sheet's organisation names one of them (loosely).
    pub parties: Vec<ctg_domain::funds::PartyRef>,
}

/// A fiche read from the plan, with its means (in the order of the « Moyens » sheet) and its
/// indicators (in the order of the « Indicateurs » sheet).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedFiche {
    pub fiche: NewFiche,
    pub means: Vec<Means>,
    pub indicators: Vec<PlanIndicator>,
}

/// A column of a sheet: its key (CSV header, and the name the documentation gives), its French label
/// (the header written in a workbook), and other names people give it. All are compared loosely.
struct Field {
    key: &'static str,
    label: &'static str,
    aliases: &'static [&'static str],
}

impl Field {
    const fn new(key: &'static str, label: &'static str, aliases: &'static [&'static str]) -> Self {
        Self { key, label, aliases }
    }

    fn names(&self) -> Vec<&'static str> {
        let mut names = vec![self.key, self.label];
        names.extend_from_slice(self.aliases);
        names
    }

    fn out(&self) -> OutColumn {
        OutColumn::new(self.key, self.label)
    }
}

const FICHE_FIELDS: [Field; 16] = [
    Field::new("code", "Code", &["code fiche", "code de la fiche", "reference", "ref", "numero", "numero de fiche"]),
    Field::new(
        "intitule",
        "Intitulé",
        &["intitule de la fiche", "titre", "titre de la fiche", "libelle", "nom", "nom de la fiche", "fiche action"],
    ),
    Field::new("description", "Description", &["descriptif", "contenu", "description de l action"]),
    Field::new("ambitions", "Ambitions", &["ambition", "numeros des ambitions", "ambitions servies"]),
    Field::new("objectifs", "Objectifs", &["objectif", "codes des objectifs", "objectifs operationnels"]),
    Field::new(
        "pilote_organisation",
        "Pilote (organisation)",
        &["organisation pilote", "pilote", "structure pilote", "porteur", "pilote structure"],
    ),
    Field::new(
        "pilote_personne",
        "Pilote (personne)",
        &["personne pilote", "pilote nom", "referent", "referente", "responsable", "contact"],
    ),
    Field::new("partenaires", "Partenaires", &["partenaire", "partenaires associes"]),
    Field::new("public", "Public visé", &["publics", "public cible", "publics vises", "public concerne"]),
    Field::new(
        "communes",
        "Communes",
        &["commune", "communes concernees", "perimetre", "territoire", "territoire concerne"],
    ),
    Field::new("debut", "Début", &["date debut", "date de debut", "debut prevu", "date de demarrage"]),
    Field::new("fin", "Fin", &["date fin", "date de fin", "fin prevue", "echeance"]),
    Field::new("priorite", "Priorité", &["niveau de priorite"]),
    Field::new("statut", "Statut", &["etat", "etat d avancement", "statut de la fiche"]),
    Field::new(
        "demarches",
        "Démarches",
        &["demarche", "demarches transversales", "approches", "approches transversales"],
    ),
    Field::new("besoins", "Besoins", &["besoin", "besoins du diagnostic", "besoins identifies"]),
];

/// The column naming a fiche, in the « Moyens » and « Indicateurs » sheets.
const FICHE_CODE: Field = Field::new(
    "code_fiche",
    "Code de la fiche",
    &["fiche", "code", "fiche action", "code fiche action", "code de la fiche action"],
);

const MEANS_FIELDS: [Field; 8] = [
    FICHE_CODE,
    Field::new("organisation", "Organisation", &["signataire", "structure", "partenaire", "financeur"]),
    Field::new("annee", "Année", &["exercice"]),
    Field::new("etp", "ETP", &["equivalent temps plein", "equivalents temps plein", "personnel"]),
    Field::new("prevu", "Prévu (€)", &["montant prevu", "budget prevu", "budget", "montant"]),
    Field::new("depense", "Dépensé (€)", &["depenses", "montant depense", "realise", "montant realise"]),
    Field::new("nature", "Nature", &["nature de la depense", "type de depense", "type"]),
    Field::new("materiel", "Matériel", &["moyens materiels", "moyens en nature", "materiels"]),
];

const INDICATOR_FIELDS: [Field; 8] = [
    FICHE_CODE,
    Field::new("indicateur", "Indicateur", &["nom", "nom de l indicateur", "intitule", "libelle"]),
    Field::new("nature", "Nature", &["type", "nature de l indicateur"]),
    Field::new("unite", "Unité", &["unites"]),
    Field::new("valeur_reference", "Valeur de référence", &["reference", "valeur initiale", "valeur de depart"]),
    Field::new("annee_reference", "Année de référence", &["annee de la reference", "annee de la valeur de reference"]),
    Field::new("sens", "Sens", &["sens attendu", "evolution attendue", "direction"]),
    Field::new("echelle", "Échelle", &["niveaux", "echelle qualitative"]),
];

/// Reads a plan: the fiches, and the means and indicators of the workbook's other sheets. Each fiche
/// keeps the place of its row. Nothing is returned while any problem remains; all are listed.
pub fn parse(file: &str, bytes: &[u8], ctx: &PlanContext) -> Result<Vec<Located<ImportedFiche>>, ImportErrors> {
    let sheets = Table::read_all(file, bytes)?;
    let find = |names: &[&str]| {
        let keys: Vec<String> = names.iter().map(|n| loose(n)).collect();
        sheets.iter().position(|t| t.sheet_name().is_some_and(|s| keys.contains(&loose(s))))
    };
    let means_sheet = find(MEANS_SHEETS);
    let indicators_sheet = find(INDICATORS_SHEETS);
    // The fiches: their sheet, else the first one that is neither the means nor the indicators.
    let fiches_sheet = find(FICHES_SHEETS)
        .or_else(|| (0..sheets.len()).find(|i| Some(*i) != means_sheet && Some(*i) != indicators_sheet))
        .unwrap_or(0);

    let mut errors = Vec::new();
    let fiches = read_fiches(&sheets[fiches_sheet], ctx, &mut errors);
    let mut means: Vec<Vec<Means>> = vec![Vec::new(); fiches.rows.len()];
    let mut indicators: Vec<Vec<PlanIndicator>> = vec![Vec::new(); fiches.rows.len()];
    let fiches_name = sheets[fiches_sheet].sheet_name().unwrap_or(FICHES_SHEET);
    if let Some(i) = means_sheet.filter(|i| *i != fiches_sheet) {
        read_means(&sheets[i], &fiches, fiches_name, &ctx.parties, &mut means, &mut errors);
    }
    if let Some(i) = indicators_sheet.filter(|i| *i != fiches_sheet) {
        read_indicators(&sheets[i], &fiches, fiches_name, &mut indicators, &mut errors);
    }
    if !errors.is_empty() {
        return Err(ImportErrors(errors));
    }
    Ok(fiches
        .rows
        .into_iter()
        .zip(means)
        .zip(indicators)
        .filter_map(|(((place, fiche), means), indicators)| {
            fiche.map(|fiche| Located { place, value: ImportedFiche { fiche, means, indicators } })
        })
        .collect())
}

/// The fiches read, in the sheet's order: each row's place and its fiche, `None` when it has errors;
/// the rows by code (lower case), to attach means and indicators.
struct Fiches {
    rows: Vec<(Location, Option<NewFiche>)>,
    by_code: HashMap<String, usize>,
    /// False when the sheet could not be read at all (missing columns): codes are then not checked.
    readable: bool,
}

impl Fiches {
    /// The row of the fiche named in `column` of `row`; `Ok(None)` when the fiches could not be read
    /// (their error is already listed); the error when the cell is empty or names no fiche of the sheet.
    fn find(
        &self,
        table: &Table,
        row: &Row,
        column: Option<&Column>,
        fiches_sheet: &str,
    ) -> Result<Option<usize>, ImportError> {
        let raw = row.get(column);
        let error = |m: String| match column {
            Some(c) => table.cell_error(row, c, m),
            None => table.row_error(row, Some(FICHE_CODE.key), m),
        };
        if raw.is_empty() {
            return Err(error("le code de la fiche est obligatoire".into()));
        }
        match self.by_code.get(&raw.to_lowercase()) {
            Some(i) => Ok(Some(*i)),
            None if !self.readable => Ok(None),
            None => Err(error(format!("la fiche « {raw} » n'est pas dans la feuille « {fiches_sheet} »"))),
        }
    }
}

/// One row being read: its cells and the errors of its cells.
struct Cells<'a> {
    table: &'a Table,
    row: &'a Row,
    errors: &'a mut Vec<ImportError>,
}

impl<'a> Cells<'a> {
    fn get(&self, column: &Option<Column>) -> &'a str {
        self.row.get(column.as_ref())
    }

    /// The fiche a row of means or indicators is for; `None` when it is not known.
    fn fiche(&mut self, fiches: &Fiches, column: &Option<Column>, fiches_sheet: &str) -> Option<usize> {
        match fiches.find(self.table, self.row, column.as_ref(), fiches_sheet) {
            Ok(found) => found,
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    /// An error at the cell of `column`; at the row, naming `field`, when the column is absent.
    fn error(&mut self, column: &Option<Column>, field: &str, message: impl Into<String>) {
        let e = match column {
            Some(c) => self.table.cell_error(self.row, c, message),
            None => self.table.row_error(self.row, Some(field).filter(|f| !f.is_empty()), message),
        };
        self.errors.push(e);
    }

    /// The cell read by `parse`; its error, if any, pushed at the cell, and `None`.
    fn read<T>(&mut self, column: &Option<Column>, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        match parse(self.get(column)) {
            Ok(v) => Some(v),
            Err(m) => {
                self.error(column, column.as_ref().map_or("", |c| c.name.as_str()), m);
                None
            }
        }
    }

    /// A text that must not be empty.
    fn required(&mut self, column: &Option<Column>, field: &str, what: &str) -> Option<String> {
        let v = self.get(column).to_owned();
        if v.is_empty() {
            self.error(column, field, format!("{what} est obligatoire"));
            None
        } else {
            Some(v)
        }
    }
}

/// The columns of a sheet, found by their names.
fn columns<const N: usize>(table: &Table, fields: &[Field; N]) -> [Option<Column>; N] {
    std::array::from_fn(|i| table.column_loose(&fields[i].names()))
}

/// Checks the required columns of a sheet: `Ok` to read its rows.
fn require(table: &Table, fields: &[Field], required: &[usize], errors: &mut Vec<ImportError>) -> bool {
    // The lookup accepts every name of a column; the message names its key.
    let missing: Vec<[&str; 1]> = required
        .iter()
        .filter(|&&i| table.column_loose(&fields[i].names()).is_none())
        .map(|&i| [fields[i].key])
        .collect();
    let missing: Vec<&[&str]> = missing.iter().map(|m| &m[..]).collect();
    let known: Vec<&str> = fields.iter().map(|f| f.key).collect();
    match table.require_loose(&missing, &known) {
        Ok(()) => {
            errors.extend(table.unreadable.iter().cloned());
            true
        }
        Err(e) => {
            errors.extend(e.0);
            false
        }
    }
}

fn read_fiches(table: &Table, ctx: &PlanContext, errors: &mut Vec<ImportError>) -> Fiches {
    let mut fiches = Fiches { rows: Vec::new(), by_code: HashMap::new(), readable: false };
    if !require(table, &FICHE_FIELDS, &[0, 1], errors) {
        return fiches;
    }
    // A plan without any fiche would import nothing: say so rather than write an empty import.
    if let Err(e) = table.require_data() {
        errors.extend(e.0);
        return fiches;
    }
    fiches.readable = true;
    let c = columns(table, &FICHE_FIELDS);
    let communes = CommuneIndex::new(ctx.communes.iter().map(|(code, name)| (code, name.as_str())));
    let mut first_row: HashMap<String, Location> = HashMap::new();
    for row in &table.rows {
        let mut cells = Cells { table, row, errors };
        let fiche = read_fiche(&mut cells, &c, ctx, &communes);
        let code = cells.get(&c[0]).to_owned();
        if !code.is_empty() {
            let key = code.to_lowercase();
            if let Some(first) = first_row.get(&key) {
                let message = format!("le code « {code} » figure déjà à la {}", line_of(first));
                cells.error(&c[0], FICHE_FIELDS[0].key, message);
            } else {
                first_row.insert(key.clone(), row.place.clone());
                fiches.by_code.insert(key, fiches.rows.len());
            }
        }
        fiches.rows.push((row.place.clone(), fiche));
    }
    fiches
}

/// Reads one fiche: its errors are pushed; the fiche is returned when every cell could be read and
/// [`NewFiche::check`] accepted it.
fn read_fiche(
    cells: &mut Cells<'_>,
    c: &[Option<Column>; 16],
    ctx: &PlanContext,
    communes: &CommuneIndex<'_>,
) -> Option<NewFiche> {
    let before = cells.errors.len();
    let [code, title, description, ambitions, objectives, pilot_org, pilot_person, partners, public, communes_col, start, end, priority, status, approaches, needs] =
        c;
    let code_v = cells.required(code, "code", "le code de la fiche");
    let title_v = cells.required(title, "intitule", "l'intitulé de la fiche");
    let ambitions_v = cells.read(ambitions, |raw| read_ambitions(raw, &ctx.ambitions));
    let objectives_v = cells.read(objectives, |raw| read_objectives(raw, &ctx.objectives));
    let communes_v = cells
        .read(communes_col, |raw| communes.read("communes", raw).map(CommuneList::into_codes).map_err(|e| e.message));
    let start_v = cells.read(start, |raw| parse::spreadsheet_date("debut", raw).map_err(|e| e.message));
    let end_v = cells.read(end, |raw| parse::spreadsheet_date("fin", raw).map_err(|e| e.message));
    let priority_v = cells.read(priority, |raw| {
        if raw.is_empty() {
            return Ok(None);
        }
        Priority::parse_loose(raw).map(Some).ok_or_else(|| {
            let labels: Vec<&str> = Priority::ALL.iter().map(|p| p.label()).collect();
            format!("priorité inconnue « {raw} » (valeurs admises : {}, ou 1, 2, 3)", labels.join(", "))
        })
    });
    let status_v = cells.read(status, |raw| {
        if raw.is_empty() {
            return Ok(FicheStatus::Upcoming);
        }
        FicheStatus::parse_loose(raw).ok_or_else(|| {
            let labels: Vec<&str> = FicheStatus::ALL.iter().map(|s| s.label()).collect();
            format!("statut inconnu « {raw} » (valeurs admises : {} ; vide : À venir)", labels.join(", "))
        })
    });
    let (
        Some(code_v),
        Some(title_v),
        Some(ambitions_v),
        Some(objectives_v),
        Some(communes_v),
        Some(start_v),
        Some(end_v),
        Some(priority_v),
        Some(status_v),
    ) = (code_v, title_v, ambitions_v, objectives_v, communes_v, start_v, end_v, priority_v, status_v)
    else {
        return None;
    };
    if cells.errors.len() != before {
        return None;
    }
    let fiche = NewFiche {
        code: code_v,
        title: title_v,
        description: cells.get(description).to_owned(),
        ambitions: ambitions_v,
        objectives: objectives_v,
        pilot_organisation: cells.get(pilot_org).to_owned(),
        pilot_person: cells.get(pilot_person).to_owned(),
        partners: list(cells.get(partners), &[';']),
        public: cells.get(public).to_owned(),
        communes: communes_v,
        start: start_v,
        end: end_v,
        priority: priority_v,
        status: status_v,
        approaches: list(cells.get(approaches), &[';']),
        needs: cells.get(needs).to_owned(),
    };
    match fiche.check() {
        Ok(f) => Some(f),
        Err(e) => {
            cells.errors.push(cells.table.row_error(cells.row, None, e.to_string()));
            None
        }
    }
}

fn read_means(
    table: &Table,
    fiches: &Fiches,
    fiches_sheet: &str,
    parties: &[ctg_domain::funds::PartyRef],
    means: &mut [Vec<Means>],
    errors: &mut Vec<ImportError>,
) {
    if !require(table, &MEANS_FIELDS, &[0, 1, 2], errors) {
        return;
    }
    let c = columns(table, &MEANS_FIELDS);
    let [code, organisation, year, fte, planned, spent, kind, material] = &c;
    let mut seen: HashMap<(usize, i64, i32, MeansKind), Location> = HashMap::new();
    for row in &table.rows {
        let mut cells = Cells { table, row, errors };
        let before = cells.errors.len();
        let fiche = cells.fiche(fiches, code, fiches_sheet);
        let party_v = match cells.required(organisation, "organisation", "l'organisation") {
            Some(raw) => match ctg_domain::funds::match_party(parties, &raw) {
                Ok(p) => Some(p),
                Err(e) => {
                    cells.error(organisation, "organisation", e);
                    None
                }
            },
            None => None,
        };
        let year_v = cells.read(year, |raw| parse::plan_year("annee", raw).map_err(|e| e.message));
        let fte_v = cells.read(fte, hundredths);
        // A blank amount is unknown, never 0.
        let planned_v = cells.read(planned, |raw| if raw.is_empty() { Ok(None) } else { parse_euros(raw).map(Some) });
        let spent_v = cells.read(spent, |raw| if raw.is_empty() { Ok(None) } else { parse_euros(raw).map(Some) });
        let kind_v = cells.read(kind, means_kind);
        let (Some(fiche), Some(party_v), Some(year_v), Some(fte_v), Some(planned_v), Some(spent_v), Some(kind_v)) =
            (fiche, party_v, year_v, fte_v, planned_v, spent_v, kind_v)
        else {
            continue;
        };
        if cells.errors.len() != before {
            continue;
        }
        let m = Means {
            party_id: party_v.id,
            organisation: party_v.label().to_owned(),
            year: year_v,
            fte_hundredths: fte_v,
            planned_cents: planned_v,
            spent_cents: spent_v,
            kind: kind_v,
            material: cells.get(material).to_owned(),
        };
        if let Err(e) = m.check() {
            cells.errors.push(table.row_error(row, None, e));
            continue;
        }
        let key = (fiche, m.party_id, m.year, m.kind);
        if let Some(first) = seen.get(&key) {
            let message = format!(
                "les moyens de « {} » pour {} ({}) sont déjà donnés à la {}",
                m.organisation,
                m.year,
                m.kind.label().to_lowercase(),
                line_of(first)
            );
            cells.error(organisation, "organisation", message);
            continue;
        }
        seen.insert(key, row.place.clone());
        means[fiche].push(m);
    }
}

fn read_indicators(
    table: &Table,
    fiches: &Fiches,
    fiches_sheet: &str,
    indicators: &mut [Vec<PlanIndicator>],
    errors: &mut Vec<ImportError>,
) {
    if !require(table, &INDICATOR_FIELDS, &[0, 1], errors) {
        return;
    }
    let c = columns(table, &INDICATOR_FIELDS);
    let targets = target_columns(table, errors);
    let [code, name, nature, unit, baseline, baseline_year, direction, scale] = &c;
    let mut seen: HashMap<(usize, String), Location> = HashMap::new();
    for row in &table.rows {
        let mut cells = Cells { table, row, errors };
        let before = cells.errors.len();
        let fiche = cells.fiche(fiches, code, fiches_sheet);
        let name_v = cells.required(name, "indicateur", "le nom de l'indicateur");
        let scale_raw = cells.get(scale).to_owned();
        let qualitative = cells.read(nature, |raw| match loose(raw).as_str() {
            "" => Ok(!scale_raw.is_empty()),
            "quantitatif" | "quantitative" | "quanti" | "nombre" | "chiffre" => Ok(false),
            "qualitatif" | "qualitative" | "quali" | "niveau" | "niveaux" => Ok(true),
            _ => Err(format!("nature d'indicateur inconnue « {raw} » : quantitatif ou qualitatif attendu")),
        });
        // The indicator's kind, when its cells read, and what its targets must be (numbers, or levels of
        // its scale), known as soon as its nature is: the targets are checked even when another cell is
        // wrong.
        let (kind, levels): (Option<IndicatorKind>, Option<Option<Vec<String>>>) = match qualitative {
            None => (None, None),
            Some(true) => {
                for (column, what) in
                    [(unit, "d'unité"), (baseline, "de valeur de référence"), (baseline_year, "d'année de référence")]
                {
                    if !cells.get(column).is_empty() {
                        let message = format!(
                            "un indicateur qualitatif n'a pas {what} : laissez cette cellule vide, ou indiquez la nature « quantitatif »"
                        );
                        cells.error(column, "", message);
                    }
                }
                let scale_v = cells.read(scale, read_scale);
                (scale_v.clone().map(|scale| IndicatorKind::Qualitative { scale }), scale_v.map(Some))
            }
            Some(false) => {
                let baseline_v = cells.read(baseline, number);
                let year_v = cells.read(baseline_year, |raw| match raw {
                    "" => Ok(None),
                    raw => parse::plan_year("annee_reference", raw).map(Some).map_err(|e| e.message),
                });
                let direction_v = cells.read(direction, read_direction);
                if !scale_raw.is_empty() {
                    let message = "une échelle de niveaux ne vaut que pour un indicateur qualitatif : laissez cette cellule vide, ou indiquez la nature « qualitatif »";
                    cells.error(scale, "echelle", message);
                }
                let kind = match (baseline_v, year_v, direction_v) {
                    (Some(baseline), Some(baseline_year), Some(direction)) => Some(IndicatorKind::Quantitative {
                        unit: cells.get(unit).to_owned(),
                        baseline,
                        baseline_year,
                        direction,
                    }),
                    _ => None,
                };
                (kind, Some(None))
            }
        };
        let mut targets_v = BTreeMap::new();
        if let Some(levels) = &levels {
            for (year, column) in &targets {
                let column = Some(column.clone());
                if cells.get(&column).is_empty() {
                    continue;
                }
                let target = match levels {
                    None => cells.read(&column, |raw| number(raw).map(|n| n.map(Target::Number))),
                    Some(scale) => cells.read(&column, |raw| {
                        scale
                            .iter()
                            .find(|l| loose(l) == loose(raw))
                            .map(|l| Some(Target::Level(l.clone())))
                            .ok_or_else(|| {
                                format!("« {raw} » n'est pas un niveau de l'échelle ({})", scale.join(" ; "))
                            })
                    }),
                };
                if let Some(Some(target)) = target {
                    targets_v.insert(*year, target);
                }
            }
        }
        let (Some(fiche), Some(name_v), Some(kind)) = (fiche, name_v, kind) else {
            continue;
        };
        if cells.errors.len() != before {
            continue;
        }
        let indicator = PlanIndicator { name: name_v, kind, targets: targets_v };
        if let Err(e) = indicator.check() {
            cells.errors.push(table.row_error(row, None, e));
            continue;
        }
        let key = (fiche, loose(&indicator.name));
        if let Some(first) = seen.get(&key) {
            let message =
                format!("l'indicateur « {} » de cette fiche figure déjà à la {}", indicator.name, line_of(first));
            cells.error(name, "indicateur", message);
            continue;
        }
        seen.insert(key, row.place.clone());
        indicators[fiche].push(indicator);
    }
}

/// The target columns, `cible_AAAA` (« Cible 2026 », « cibles 2027 »…), by year.
fn target_columns(table: &Table, errors: &mut Vec<ImportError>) -> BTreeMap<i32, Column> {
    let mut targets = BTreeMap::new();
    for (index, header) in table.header.iter().enumerate() {
        let key = header_key(header);
        let Some(year) = key.strip_prefix("cible ").or_else(|| key.strip_prefix("cibles ")) else {
            continue;
        };
        let error = |m: String| ImportError::new(&table.file, table.header_place.clone(), Some(header), m);
        let year = match parse::plan_year("cible", year) {
            Ok(y) => y,
            Err(_) => {
                errors.push(error(format!(
                    "colonne de cible « {header} » : cible_AAAA attendu, avec une année de 1990 à 2100"
                )));
                continue;
            }
        };
        if targets.contains_key(&year) {
            errors.push(error(format!("la colonne de la cible {year} figure deux fois")));
            continue;
        }
        targets.insert(year, Column { index, name: header.clone() });
    }
    targets
}

/// The items of a list cell, trimmed, the empty ones left out.
fn list(raw: &str, separators: &[char]) -> Vec<String> {
    raw.split(separators).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// `known` for a message: the first ones, then « … ».
fn listed<T: ToString>(known: &[T]) -> String {
    let mut v: Vec<String> = known.iter().take(LISTED).map(ToString::to_string).collect();
    if known.len() > LISTED {
        v.push("…".into());
    }
    if v.is_empty() {
        "aucune".into()
    } else {
        v.join(", ")
    }
}

/// Ambition numbers separated by `;`, `,` or spaces (« Ambition 1 » is read as 1).
fn read_ambitions(raw: &str, known: &[i64]) -> Result<Vec<i64>, String> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for token in raw.split(|c: char| c == ';' || c == ',' || c.is_whitespace()).filter(|t| !t.is_empty()) {
        if matches!(loose(token).as_str(), "ambition" | "ambitions" | "n°" | "n" | "et") {
            continue;
        }
        match token.trim_start_matches("n°").parse::<i64>() {
            Ok(n) if known.contains(&n) => out.push(n),
            Ok(n) => bad.push(format!("ambition n° {n} inconnue")),
            Err(_) => bad.push(format!("« {token} » n'est pas un numéro d'ambition")),
        }
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        Err(format!("{} (ambitions de la convention : {})", bad.join(", "), listed(known)))
    }
}

/// Objective codes separated by `;`, compared without case; « 1,2 » is read as 1.2 when that is a
/// code (a decimal comma).
fn read_objectives(raw: &str, known: &[String]) -> Result<Vec<String>, String> {
    let find = |t: &str| known.iter().find(|k| k.trim().eq_ignore_ascii_case(t)).cloned();
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for token in list(raw, &[';', '\n']) {
        match find(&token).or_else(|| find(&token.replace(',', "."))) {
            Some(code) => out.push(code),
            None => bad.push(format!("« {token} »")),
        }
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        Err(format!(
            "objectif(s) inconnu(s) {} (objectifs de la convention : {} ; séparez-les par « ; »)",
            bad.join(", "),
            listed(known)
        ))
    }
}

/// A decimal number, with a comma or a point, spaces between thousands allowed; empty is none.
fn number(raw: &str) -> Result<Option<f64>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    let cleaned: String = raw.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
    match cleaned.replace(',', ".").parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(format!("« {raw} » n'est pas un nombre (par exemple 12,5 ou 12.5)")),
    }
}

/// Full-time equivalents, with a comma or a point (`0,5`, `1.25 ETP`), in hundredths rounded; empty is 0.
fn hundredths(raw: &str) -> Result<i64, String> {
    let trimmed = raw.trim();
    let trimmed = match trimmed.len().checked_sub(3).and_then(|i| trimmed.get(i..)) {
        Some(end) if end.eq_ignore_ascii_case("etp") => trimmed[..trimmed.len() - 3].trim(),
        _ => trimmed,
    };
    match number(trimmed) {
        Ok(None) => Ok(0),
        Ok(Some(v)) if v >= 0.0 => Ok((v * 100.0).round() as i64),
        _ => Err(format!("ETP invalide « {raw} » : un nombre positif est attendu, par exemple 0,5")),
    }
}

fn means_kind(raw: &str) -> Result<MeansKind, String> {
    match loose(raw).as_str() {
        "" | "fonctionnement" | "fonct" | "fct" | "f" => Ok(MeansKind::Operating),
        "investissement" | "invest" | "inv" | "i" => Ok(MeansKind::Investment),
        _ => Err(format!("nature inconnue « {raw} » : fonctionnement ou investissement attendu")),
    }
}

fn read_direction(raw: &str) -> Result<Direction, String> {
    match raw.trim() {
        "+" | "↑" | "↗" => return Ok(Direction::Increase),
        "-" | "↓" | "↘" => return Ok(Direction::Decrease),
        _ => {}
    }
    match loose(raw).as_str() {
        "" | "hausse" | "a la hausse" | "augmentation" | "croissant" | "plus" => Ok(Direction::Increase),
        "baisse" | "a la baisse" | "diminution" | "decroissant" | "moins" => Ok(Direction::Decrease),
        _ => Err(format!("sens inconnu « {raw} » : hausse (plus c'est haut, mieux c'est) ou baisse attendu")),
    }
}

/// The levels of a qualitative scale, from the worst to the best, separated by `;`.
fn read_scale(raw: &str) -> Result<Vec<String>, String> {
    let levels = list(raw, &[';', '\n']);
    if levels.len() < 2 {
        return Err(
            "un indicateur qualitatif demande une échelle d'au moins deux niveaux, du moins bon au meilleur, séparés par « ; » (par exemple : non engagé ; engagé ; atteint)"
                .into(),
        );
    }
    let mut seen = BTreeSet::new();
    if let Some(l) = levels.iter().find(|l| !seen.insert(loose(l))) {
        return Err(format!("le niveau « {l} » figure deux fois dans l'échelle"));
    }
    Ok(levels)
}

// ---------------------------------------------------------------------------------------------------
// Export

/// The plan as the three sheets [`parse`] reads, « Fiches », « Moyens » and « Indicateurs », in exactly
/// its columns: statuses and priorities as their French labels, dates as dates, amounts as amounts
/// (cents), staff as decimals, lists separated by `; `, communes by name (by code when two communes of
/// `communes` share a name; « Tout le territoire » for none), one `cible_AAAA` column per year that
/// has a target. Written with [`ctg_report::table::export_book`], it reads back as the same plan.
pub fn tables(fiches: &[ImportedFiche], communes: &[(InseeCode, String)]) -> Vec<OutTable> {
    let mut names: HashMap<&InseeCode, &str> = HashMap::new();
    let mut count: HashMap<String, usize> = HashMap::new();
    for (_, name) in communes {
        *count.entry(loose(name)).or_default() += 1;
    }
    for (code, name) in communes {
        if count[&loose(name)] == 1 {
            names.insert(code, name);
        }
    }
    let commune = |code: &InseeCode| names.get(code).map_or_else(|| code.to_string(), |n| (*n).to_owned());

    let mut fiche_rows = Vec::new();
    let mut means_rows = Vec::new();
    let mut indicator_rows = Vec::new();
    let years: BTreeSet<i32> =
        fiches.iter().flat_map(|f| f.indicators.iter().flat_map(|i| i.targets.keys().copied())).collect();
    for f in fiches {
        let n = &f.fiche;
        let communes_cell = if n.communes.is_empty() {
            text("Tout le territoire")
        } else {
            text(&n.communes.iter().map(commune).collect::<Vec<_>>().join("; "))
        };
        fiche_rows.push(vec![
            text(&n.code),
            text(&n.title),
            text(&n.description),
            text(&n.ambitions.iter().map(i64::to_string).collect::<Vec<_>>().join("; ")),
            text(&n.objectives.join("; ")),
            text(&n.pilot_organisation),
            text(&n.pilot_person),
            text(&n.partners.join("; ")),
            text(&n.public),
            communes_cell,
            n.start.map_or(Value::Empty, Value::Date),
            n.end.map_or(Value::Empty, Value::Date),
            n.priority.map_or(Value::Empty, |p| text(p.label())),
            text(n.status.label()),
            text(&n.approaches.join("; ")),
            text(&n.needs),
        ]);
        for m in &f.means {
            means_rows.push(vec![
                text(&n.code),
                text(&m.organisation),
                text(&m.year.to_string()),
                Value::Decimal { value: m.fte_hundredths as f64 / 100.0, decimals: 2 },
                m.planned_cents.map_or(Value::Empty, Value::Cents),
                m.spent_cents.map_or(Value::Empty, Value::Cents),
                text(m.kind.label()),
                text(&m.material),
            ]);
        }
        for i in &f.indicators {
            let mut row = vec![text(&n.code), text(&i.name)];
            match &i.kind {
                IndicatorKind::Quantitative { unit, baseline, baseline_year, direction } => row.extend([
                    text("Quantitatif"),
                    text(unit),
                    baseline.map_or(Value::Empty, decimal),
                    baseline_year.map_or(Value::Empty, |y| text(&y.to_string())),
                    text(match direction {
                        Direction::Increase => "Hausse",
                        Direction::Decrease => "Baisse",
                    }),
                    Value::Empty,
                ]),
                IndicatorKind::Qualitative { scale } => row.extend([
                    text("Qualitatif"),
                    Value::Empty,
                    Value::Empty,
                    Value::Empty,
                    Value::Empty,
                    text(&scale.join("; ")),
                ]),
            }
            row.extend(years.iter().map(|y| match i.targets.get(y) {
                Some(Target::Number(n)) => decimal(*n),
                Some(Target::Level(l)) => text(l),
                None => Value::Empty,
            }));
            indicator_rows.push(row);
        }
    }
    let mut indicator_columns: Vec<OutColumn> = INDICATOR_FIELDS.iter().map(Field::out).collect();
    indicator_columns.extend(years.iter().map(|y| OutColumn::new(format!("cible_{y}"), format!("Cible {y}"))));
    vec![
        OutTable {
            title: FICHES_SHEET.into(),
            columns: FICHE_FIELDS.iter().map(Field::out).collect(),
            rows: fiche_rows,
        },
        OutTable {
            title: MEANS_SHEET.into(),
            columns: MEANS_FIELDS.iter().map(Field::out).collect(),
            rows: means_rows,
        },
        OutTable { title: INDICATORS_SHEET.into(), columns: indicator_columns, rows: indicator_rows },
    ]
}

/// A text cell; empty when the text is.
fn text(s: &str) -> Value {
    if s.is_empty() {
        Value::Empty
    } else {
        Value::Text(s.to_owned())
    }
}

/// A number with as many decimals as it needs to read back the same.
fn decimal(value: f64) -> Value {
    let written = value.to_string();
    let decimals = written.split_once('.').map_or(0, |(_, d)| d.len());
    Value::Decimal { value, decimals: u8::try_from(decimals).unwrap_or(u8::MAX) }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use ctg_report::table::{ExportFormat, Source};

    /// Every export carries its source: the plan still reads back with it (a sheet « Source » in a
    /// workbook, two last columns in a CSV).
    fn export_book(tables: &[OutTable], format: ExportFormat) -> Result<Vec<u8>, ctg_report::ReportError> {
        let source = Source {
            origin: "Plateforme CTG, convention « Test »".into(),
            as_of: NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
        };
        ctg_report::table::export_book(tables, format, &source)
    }

    use super::*;
    use crate::tabular::tests::{ods_book, xlsx_book};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn insee(s: &str) -> InseeCode {
        InseeCode::parse(s).unwrap()
    }

    /// The parties of the test convention: (id, name, short name).
    const PARTIES: [(i64, &str, &str); 3] = [
        (1, "Communauté d'Agglomération de Béthune-Bruay, Artois Lys Romane", "CABBALR"),
        (2, "CAF du Pas-de-Calais", "CAF"),
        (3, "Département du Pas-de-Calais", "Département"),
    ];

    /// The party a test names (its name or short name): its id and label.
    fn party(named: &str) -> (i64, String) {
        let (id, _, short) = PARTIES.iter().find(|(_, n, s)| *n == named || *s == named).unwrap();
        (*id, (*short).to_owned())
    }

    /// The convention of the Béthune-Bruay agglomeration, as far as a plan needs it.
    fn context() -> PlanContext {
        PlanContext {
            parties: PARTIES
                .iter()
                .map(|(id, n, s)| ctg_domain::funds::PartyRef {
                    id: *id,
                    name: (*n).into(),
                    short_name: Some((*s).into()),
                })
                .collect(),
            ambitions: vec![1, 2, 3, 4],
            objectives: ["1.1", "1.2", "2.1", "2.2", "3.1", "4.1"].map(String::from).to_vec(),
            communes: [
                ("62119", "Béthune"),
                ("62178", "Bruay-la-Buissière"),
                ("62048", "Auchel"),
                ("62516", "Lillers"),
                ("62617", "Nœux-les-Mines"),
                ("62457", "Houdain"),
            ]
            .map(|(c, n)| (insee(c), n.to_owned()))
            .to_vec(),
        }
    }

    const FICHES_HEADER: &[&str] = &[
        "Code",
        "Intitulé",
        "Description",
        "Ambitions",
        "Objectifs",
        "Pilote (organisation)",
        "Pilote (personne)",
        "Partenaires",
        "Public visé",
        "Communes",
        "Début",
        "Fin",
        "Priorité",
        "Statut",
        "Démarches",
        "Besoins",
    ];
    const MEANS_HEADER: &[&str] =
        &["Code de la fiche", "Organisation", "Année", "ETP", "Prévu (€)", "Dépensé (€)", "Nature", "Matériel"];
    const INDICATORS_HEADER: &[&str] = &[
        "Code de la fiche",
        "Indicateur",
        "Nature",
        "Unité",
        "Valeur de référence",
        "Année de référence",
        "Sens",
        "Échelle",
        "Cible 2026",
        "Cible 2027",
        "Cible 2028",
    ];

    /// A plan as a coordinator fills it in; `bad` puts in the five mistakes.
    fn plan_sheets(bad: bool) -> [Vec<Vec<&'static str>>; 3] {
        let pick = |good: &'static str, wrong: &'static str| if bad { wrong } else { good };
        let fiches = vec![
            FICHES_HEADER.to_vec(),
            vec![
                "PE-1",
                "Développer l'accueil du jeune enfant",
                "Créer 40 places ; ouvrir une micro-crèche à Bruay",
                "1",
                "1.1; 1.2",
                "CABBALR",
                "Claire Dupont",
                "CAF du Pas-de-Calais; PMI",
                "Familles avec enfants de moins de 3 ans",
                "Béthune; 62178",
                "d:2026-01-01",
                "31/12/2028",
                "Haute",
                "En cours",
                "Aller vers; Communication",
                "Manque de places à Bruay",
            ],
            vec![
                "PE-2",
                "Soutenir les assistantes maternelles",
                "",
                "1",
                "1.2",
                "CABBALR",
                "",
                "RPE",
                "Assistantes maternelles",
                "tout le territoire",
                "2026-03-01",
                "",
                "moyenne",
                pick("à venir", "peut-être"),
                "",
                "",
            ],
            vec![
                "JE-1",
                "Accueillir les adolescents",
                "Un espace jeunes itinérant",
                pick("2; 3", "2; 12"),
                "2.1",
                "Ville de Lillers",
                "Karim Benali",
                "",
                "11-17 ans",
                "Lillers, Auchel",
                "",
                "",
                "",
                "réalisé",
                "",
                "",
            ],
            vec![
                pick("PA-2", "PE-1"),
                "Ateliers parents-enfants",
                "",
                "4",
                "4.1",
                "Centre social",
                "",
                "",
                "Parents",
                "",
                "",
                "",
                "basse",
                "",
                "",
                "",
            ],
        ];
        let means = vec![
            MEANS_HEADER.to_vec(),
            vec!["PE-1", "CAF du Pas-de-Calais", "2026", "0,5", "120 000", "118 500,50", "fonctionnement", ""],
            vec!["PE-1", "CAF du Pas-de-Calais", "2027", "0,5", "125 000", "", "Fonctionnement", ""],
            vec!["PE-1", "CABBALR", "2026", "1", pick("45 000 €", "beaucoup"), "", "investissement", "Locaux"],
            vec![pick("PE-2", "XX-9"), "CABBALR", "2026", "0.2", "", "", "", "Salle du RPE"],
        ];
        let indicators = vec![
            INDICATORS_HEADER.to_vec(),
            vec!["PE-1", "Places créées", "quantitatif", "places", "0", "2025", "hausse", "", "10", "25", "40"],
            vec![
                "PE-1",
                "Charte qualité signée",
                "qualitatif",
                "",
                "",
                "",
                "",
                "non engagé; engagé; atteint",
                "",
                "Engagé",
                "atteint",
            ],
        ];
        [fiches, means, indicators]
    }

    fn workbook(xlsx: bool, names: [&str; 3], sheets: &[Vec<Vec<&str>>; 3]) -> Vec<u8> {
        let rows: Vec<Vec<&[&str]>> = sheets.iter().map(|s| s.iter().map(Vec::as_slice).collect()).collect();
        if xlsx {
            xlsx_book(&[(names[0], (0, 0), &rows[0]), (names[1], (0, 0), &rows[1]), (names[2], (0, 0), &rows[2])])
        } else {
            ods_book(&[(names[0], (0, 0), &rows[0]), (names[1], (0, 0), &rows[1]), (names[2], (0, 0), &rows[2])])
        }
    }

    fn messages(e: &ImportErrors) -> Vec<String> {
        e.0.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_mistake_of_a_plan_is_named_at_its_sheet_row_and_column() {
        for (name, xlsx) in [("plan.xlsx", true), ("plan.ods", false)] {
            let bytes = workbook(xlsx, ["Fiches", "Moyens", "Indicateurs"], &plan_sheets(true));
            let e = messages(&parse(name, &bytes, &context()).unwrap_err());
            let expected = [
                format!("{name}, feuille « Fiches », ligne 3, colonne N, champ « Statut » : statut inconnu « peut-être » (valeurs admises : À venir, En cours, Réalisée, En pause, Abandonnée, En retard ; vide : À venir)"),
                format!("{name}, feuille « Fiches », ligne 4, colonne D, champ « Ambitions » : ambition n° 12 inconnue (ambitions de la convention : 1, 2, 3, 4)"),
                format!("{name}, feuille « Fiches », ligne 5, colonne A, champ « Code » : le code « PE-1 » figure déjà à la ligne 2"),
                format!("{name}, feuille « Moyens », ligne 4, colonne E, champ « Prévu (€) » : montant invalide « beaucoup » : un nombre d'euros est attendu, par exemple 1 234,56"),
                format!("{name}, feuille « Moyens », ligne 5, colonne A, champ « Code de la fiche » : la fiche « XX-9 » n'est pas dans la feuille « Fiches »"),
            ];
            assert_eq!(e, expected);
        }
    }

    #[test]
    fn a_plan_without_mistakes_is_read_whole() {
        for (name, xlsx) in [("plan.xlsx", true), ("plan.ods", false)] {
            // Sheet names are compared loosely, as their headers.
            let bytes = workbook(xlsx, ["FICHES ACTION", "moyens", "Indicateurs de suivi"], &plan_sheets(false));
            let plan = parse(name, &bytes, &context()).unwrap();
            let codes: Vec<&str> = plan.iter().map(|f| f.value.fiche.code.as_str()).collect();
            assert_eq!(codes, ["PE-1", "PE-2", "JE-1", "PA-2"], "{name}");
            assert_eq!(plan[0].place, Location::Row { sheet: "FICHES ACTION".into(), row: 2 }, "{name}");

            let pe1 = &plan[0].value;
            let f = &pe1.fiche;
            assert_eq!(f.title, "Développer l'accueil du jeune enfant");
            assert_eq!(f.description, "Créer 40 places ; ouvrir une micro-crèche à Bruay");
            assert_eq!(
                (f.ambitions.clone(), f.objectives.clone()),
                (vec![1], vec!["1.1".to_owned(), "1.2".to_owned()])
            );
            assert_eq!((f.pilot_organisation.as_str(), f.pilot_person.as_str()), ("CABBALR", "Claire Dupont"));
            assert_eq!(f.partners, ["CAF du Pas-de-Calais", "PMI"]);
            assert_eq!(f.communes, [insee("62119"), insee("62178")]);
            assert_eq!((f.start, f.end), (Some(d("2026-01-01")), Some(d("2028-12-31"))), "{name}");
            assert_eq!((f.priority, f.status), (Some(Priority::High), FicheStatus::InProgress));
            assert_eq!(f.approaches, ["Aller vers", "Communication"]);
            assert_eq!(f.needs, "Manque de places à Bruay");

            // 0,5 ETP, « 118 500,50 » spent, an empty spent is none, an empty nature is running costs.
            assert_eq!(
                pe1.means,
                [
                    Means {
                        party_id: 2,
                        organisation: "CAF".into(),
                        year: 2026,
                        fte_hundredths: 50,
                        planned_cents: Some(12_000_000),
                        spent_cents: Some(11_850_050),
                        kind: MeansKind::Operating,
                        material: String::new(),
                    },
                    Means {
                        party_id: 2,
                        organisation: "CAF".into(),
                        year: 2027,
                        fte_hundredths: 50,
                        planned_cents: Some(12_500_000),
                        spent_cents: None,
                        kind: MeansKind::Operating,
                        material: String::new(),
                    },
                    Means {
                        party_id: 1,
                        organisation: "CABBALR".into(),
                        year: 2026,
                        fte_hundredths: 100,
                        planned_cents: Some(4_500_000),
                        spent_cents: None,
                        kind: MeansKind::Investment,
                        material: "Locaux".into(),
                    },
                ],
                "{name}"
            );
            assert_eq!(pe1.indicators.len(), 2);
            let places = &pe1.indicators[0];
            assert_eq!(
                places.kind,
                IndicatorKind::Quantitative {
                    unit: "places".into(),
                    baseline: Some(0.0),
                    baseline_year: Some(2025),
                    direction: Direction::Increase
                }
            );
            let targets: Vec<(i32, Target)> = places.targets.clone().into_iter().collect();
            assert_eq!(
                targets,
                [(2026, Target::Number(10.0)), (2027, Target::Number(25.0)), (2028, Target::Number(40.0))]
            );
            let charter = &pe1.indicators[1];
            let scale = ["non engagé", "engagé", "atteint"].map(String::from).to_vec();
            assert_eq!(charter.kind, IndicatorKind::Qualitative { scale });
            // « Engagé » is the level « engagé » of the scale, as the scale writes it.
            let targets: Vec<(i32, Target)> = charter.targets.clone().into_iter().collect();
            assert_eq!(targets, [(2027, Target::Level("engagé".into())), (2028, Target::Level("atteint".into()))]);

            let pe2 = &plan[1].value;
            assert_eq!((pe2.fiche.communes.len(), pe2.fiche.status), (0, FicheStatus::Upcoming));
            assert_eq!(pe2.fiche.priority, Some(Priority::Medium));
            // A blank planned amount is unknown, never 0.
            assert_eq!((pe2.means.len(), pe2.means[0].fte_hundredths, pe2.means[0].planned_cents), (1, 20, None));
            let je1 = &plan[2].value.fiche;
            assert_eq!(je1.communes, [insee("62048"), insee("62516")], "sorted by code");
            assert_eq!((je1.ambitions.clone(), je1.status), (vec![2, 3], FicheStatus::Done));
            let pa2 = &plan[3].value;
            assert_eq!((pa2.fiche.status, pa2.fiche.priority), (FicheStatus::Upcoming, Some(Priority::Low)));
            assert!(pa2.means.is_empty() && pa2.indicators.is_empty());
        }
    }

    #[test]
    fn statuses_headers_and_values_written_loosely() {
        // A CSV as a spreadsheet set to French writes it: semicolons, headers of its own.
        let csv = "\u{feff}N° fiche;CODE;Intitulé de la fiche;Pilote (organisation);Statut;Date de début;Échéance;Priorité;Communes concernées;Objectifs;Ambitions\n\
            x;PE-1;Accueil;CABBALR;en-cours;2026-01-01 00:00:00;46387;1;BETHUNE, bruay la buissière;1,2;Ambition 1\n\
            x;PE-2;RPE;CABBALR;Réalisée;01/02/2026;;faible;noeux-les-mines;;\n\
            x;PE-3;LAEP;;TERMINÉE;;;;62457 ;\"1.1 ; 2.2\";1 2\n\
            x;PE-4;Jeunes;;;;;;Tout le territoire;;\n\
            x;PE-5;Centre social;;suspendue;;;;;;\n\
            x;PE-6;Médiation;;EN RETARD;;;;;;\n\
            x;PE-7;Ancienne fiche;;annulée;;;;;;\n";
        let ctx = context();
        // « noeux-les-mines », written with « oe », is Nœux-les-Mines.
        let plan = parse("plan.csv", csv.as_bytes(), &ctx).unwrap();
        let statuses: Vec<FicheStatus> = plan.iter().map(|f| f.value.fiche.status).collect();
        use FicheStatus::*;
        assert_eq!(statuses, [InProgress, Done, Done, Upcoming, Paused, Late, Abandoned]);
        let f = &plan[0].value.fiche;
        assert_eq!(plan[0].place, Location::Line(2));
        // A date and midnight, a spreadsheet's day number (46387 is 2026-12-31).
        assert_eq!((f.start, f.end), (Some(d("2026-01-01")), Some(d("2026-12-31"))));
        assert_eq!((f.priority, f.communes.clone()), (Some(Priority::High), vec![insee("62119"), insee("62178")]));
        // « 1,2 » with a decimal comma is the objective 1.2; « Ambition 1 » is 1.
        assert_eq!((f.objectives.clone(), f.ambitions.clone()), (vec!["1.2".to_owned()], vec![1]));
        assert_eq!(plan[1].value.fiche.start, Some(d("2026-02-01")));
        assert_eq!(plan[1].value.fiche.priority, Some(Priority::Low));
        assert_eq!(plan[1].value.fiche.communes, [insee("62617")]);
        let f = &plan[2].value.fiche;
        assert_eq!(
            (f.communes.clone(), f.objectives.clone()),
            (vec![insee("62457")], vec!["1.1".into(), "2.2".into()])
        );
        assert_eq!(f.ambitions, [1, 2]);
        assert!(plan[3].value.fiche.communes.is_empty());

        // The headers of the other sheets, and their values, loosely too.
        let fiches: &[&[&str]] = &[&["code", "intitule"], &["PE-1", "Accueil"]];
        let means: &[&[&str]] = &[
            &["Fiche", "Signataire", "Exercice", "ETP", "Montant prévu", "Montant dépensé", "Type de dépense"],
            &["pe-1", "CAF", "2026", "1,25 ETP", "1 500,5", "0", "Invest"],
        ];
        let indicators: &[&[&str]] = &[
            &[
                "CODE FICHE",
                "Nom de l'indicateur",
                "Unité",
                "Valeur initiale",
                "Sens attendu",
                "cible_2027",
                "Cibles 2026",
            ],
            &["PE-1", "Délai d'attente", "jours", "45,5", "baisse", "30", "1 000"],
        ];
        let bytes =
            xlsx_book(&[("Plan", (0, 0), fiches), ("Moyens", (2, 1), means), ("Indicateurs", (0, 0), indicators)]);
        let plan = parse("plan.xlsx", &bytes, &context()).unwrap();
        let m = &plan[0].value.means[0];
        assert_eq!(
            (m.fte_hundredths, m.planned_cents, m.spent_cents, m.kind),
            (125, Some(150_050), Some(0), MeansKind::Investment)
        );
        let i = &plan[0].value.indicators[0];
        assert_eq!(
            i.kind,
            IndicatorKind::Quantitative {
                unit: "jours".into(),
                baseline: Some(45.5),
                baseline_year: None,
                direction: Direction::Decrease
            }
        );
        let targets: Vec<(i32, Target)> = i.targets.clone().into_iter().collect();
        assert_eq!(targets, [(2026, Target::Number(1000.0)), (2027, Target::Number(30.0))]);
    }

    #[test]
    fn no_two_columns_of_a_sheet_share_a_name() {
        for fields in [&FICHE_FIELDS[..], &MEANS_FIELDS[..], &INDICATOR_FIELDS[..]] {
            let mut seen = BTreeMap::new();
            for f in fields {
                for name in f.names() {
                    let key = header_key(name);
                    assert!(!key.starts_with("cible"), "{name}");
                    if let Some(other) = seen.insert(key.clone(), f.key) {
                        assert_eq!(other, f.key, "« {key} » names both {other} and {}", f.key);
                    }
                }
            }
        }
    }

    #[test]
    fn the_csv_example_of_the_documentation_reads() {
        let csv = "code;intitule;ambitions;objectifs;pilote_organisation;communes;debut;statut\n\
            PE-1;Développer l'accueil du jeune enfant;1;\"1.1; 1.2\";CABBALR;\"Béthune; 62178\";2026-01-01;en-cours\n";
        let plan = parse("plan.csv", csv.as_bytes(), &context()).unwrap();
        let f = &plan[0].value.fiche;
        assert_eq!((f.objectives.len(), f.communes.len(), f.status), (2, 2, FicheStatus::InProgress));
    }

    #[test]
    fn missing_columns_and_wrong_cells_of_every_kind() {
        let e = messages(&parse("plan.csv", "intitule;statut\nAccueil;en cours\n".as_bytes(), &context()).unwrap_err());
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with(
                "plan.csv, ligne 1 : colonne(s) manquante(s) : code (colonnes attendues : code,intitule,description,"
            ),
            "{e:?}"
        );

        let fiches: &[&[&str]] = &[
            &["code", "intitule", "objectifs", "communes", "debut", "fin", "priorite"],
            &["PE-1", "", "9.9", "Paris; 2A004; 75056; abc1", "2026-02-30", "2025-01-01", "urgente"],
            &["PE-2", "Fin avant début", "", "", "2026-06-01", "2026-01-01", ""],
        ];
        let means: &[&[&str]] = &[
            &["code_fiche", "organisation", "annee", "etp", "prevu", "depense", "nature"],
            &["", "", "vingt", "-1", "12,345", "-3", "don"],
            &["PE-2", "CAF", "1850", "", "", "", ""],
            &["PE-1", "CAF", "2026", "", "", "", ""],
            &["PE-1", "MSA", "2027", "", "", "", ""],
        ];
        let indicators: &[&[&str]] = &[
            &[
                "code_fiche",
                "indicateur",
                "nature",
                "unite",
                "valeur_reference",
                "annee_reference",
                "sens",
                "echelle",
                "cible_2026",
                "cible_26",
            ],
            &["PE-1", "Charte", "qualitatif", "%", "", "", "", "fait", "oui", ""],
            &["PE-1", "Places", "quantitatif", "", "beaucoup", "", "vers le haut", "a; b", "dix", ""],
            &["PE-1", "Satisfaction", "", "", "", "", "", "faible; moyenne; forte", "excellente", ""],
            &["PE-2", "Places", "", "", "", "", "", "", "10", ""],
            &["PE-2", "places", "", "", "", "", "", "", "12", ""],
        ];
        let bytes =
            xlsx_book(&[("Fiches", (0, 0), fiches), ("Moyens", (0, 0), means), ("Indicateurs", (0, 0), indicators)]);
        let e = messages(&parse("p.xlsx", &bytes, &context()).unwrap_err());
        let expected_starts = [
            "p.xlsx, feuille « Fiches », ligne 2, colonne B, champ « intitule » : l'intitulé de la fiche est obligatoire",
            "p.xlsx, feuille « Fiches », ligne 2, colonne C, champ « objectifs » : objectif(s) inconnu(s) « 9.9 » (objectifs de la convention : 1.1, 1.2, 2.1, 2.2, 3.1, 4.1 ; séparez-les par « ; »)",
            "p.xlsx, feuille « Fiches », ligne 2, colonne D, champ « communes » : commune inconnue « Paris », la commune 2A004 n'est pas du territoire, la commune 75056 n'est pas du territoire, code INSEE « abc1 » invalide",
            "p.xlsx, feuille « Fiches », ligne 2, colonne E, champ « debut » : date invalide « 2026-02-30 » : février 2026 n'a que 28 jours",
            "p.xlsx, feuille « Fiches », ligne 2, colonne G, champ « priorite » : priorité inconnue « urgente » (valeurs admises : Haute, Moyenne, Basse, ou 1, 2, 3)",
            // NewFiche::check, for the row as a whole.
            "p.xlsx, feuille « Fiches », ligne 3 : la fin (2026-01-01) précède le début (2026-06-01)",
            "p.xlsx, feuille « Moyens », ligne 2, colonne A, champ « code_fiche » : le code de la fiche est obligatoire",
            "p.xlsx, feuille « Moyens », ligne 2, colonne B, champ « organisation » : l'organisation est obligatoire",
            "p.xlsx, feuille « Moyens », ligne 2, colonne C, champ « annee » : année invalide « vingt » : AAAA attendu",
            "p.xlsx, feuille « Moyens », ligne 2, colonne D, champ « etp » : ETP invalide « -1 »",
            "p.xlsx, feuille « Moyens », ligne 2, colonne E, champ « prevu » : montant invalide « 12,345 »",
            "p.xlsx, feuille « Moyens », ligne 2, colonne F, champ « depense » : montant invalide « -3 »",
            "p.xlsx, feuille « Moyens », ligne 2, colonne G, champ « nature » : nature inconnue « don » : fonctionnement ou investissement attendu",
            "p.xlsx, feuille « Moyens », ligne 3, colonne C, champ « annee » : année invalide « 1850 » : de 1990 à 2100",
            // An organisation that is no party of the convention: the parties are listed.
            "p.xlsx, feuille « Moyens », ligne 5, colonne B, champ « organisation » : « MSA » n'est pas une partie de la convention (parties : CABBALR (Communauté d'Agglomération de Béthune-Bruay, Artois Lys Romane), CAF (CAF du Pas-de-Calais), Département (Département du Pas-de-Calais))",
            // The header of a target whose year cannot be read.
            "p.xlsx, feuille « Indicateurs », ligne 1, champ « cible_26 » : colonne de cible « cible_26 » : cible_AAAA attendu",
            "p.xlsx, feuille « Indicateurs », ligne 2, colonne D, champ « unite » : un indicateur qualitatif n'a pas d'unité",
            "p.xlsx, feuille « Indicateurs », ligne 2, colonne H, champ « echelle » : un indicateur qualitatif demande une échelle d'au moins deux niveaux",
            "p.xlsx, feuille « Indicateurs », ligne 3, colonne E, champ « valeur_reference » : « beaucoup » n'est pas un nombre",
            "p.xlsx, feuille « Indicateurs », ligne 3, colonne G, champ « sens » : sens inconnu « vers le haut »",
            "p.xlsx, feuille « Indicateurs », ligne 3, colonne H, champ « echelle » : une échelle de niveaux ne vaut que pour un indicateur qualitatif",
            "p.xlsx, feuille « Indicateurs », ligne 3, colonne I, champ « cible_2026 » : « dix » n'est pas un nombre",
            "p.xlsx, feuille « Indicateurs », ligne 4, colonne I, champ « cible_2026 » : « excellente » n'est pas un niveau de l'échelle (faible ; moyenne ; forte)",
            "p.xlsx, feuille « Indicateurs », ligne 6, colonne B, champ « indicateur » : l'indicateur « places » de cette fiche figure déjà à la ligne 5",
        ];
        assert_eq!(e.len(), expected_starts.len(), "{e:#?}");
        for (e, start) in e.iter().zip(expected_starts) {
            assert!(e.starts_with(start), "{e}\n  should start with\n{start}");
        }
    }

    /// A plan of six fiches as the platform holds it, with means over three years, a quantitative and
    /// a qualitative indicator, accents and `;` in its texts.
    fn realistic_plan() -> Vec<ImportedFiche> {
        let fiche = |code: &str, title: &str, status: FicheStatus| NewFiche {
            code: code.into(),
            title: title.into(),
            description: String::new(),
            ambitions: vec![1],
            objectives: vec!["1.1".into()],
            pilot_organisation: "CABBALR".into(),
            pilot_person: String::new(),
            partners: vec![],
            public: String::new(),
            communes: vec![],
            start: None,
            end: None,
            priority: None,
            status,
            approaches: vec![],
            needs: String::new(),
        };
        let means = |org: &str, year: i32, fte: i64, planned: i64, spent: Option<i64>, kind: MeansKind| Means {
            party_id: party(org).0,
            organisation: party(org).1,
            year,
            fte_hundredths: fte,
            planned_cents: Some(planned),
            spent_cents: spent,
            kind,
            material: String::new(),
        };
        let pe1 = NewFiche {
            description: "Créer 40 places d'accueil ; ouvrir une micro-crèche à Bruay « centre »\nPuis évaluer.".into(),
            ambitions: vec![1, 2],
            objectives: vec!["1.1".into(), "1.2".into()],
            pilot_person: "Élodie Lefèvre".into(),
            partners: vec!["CAF du Pas-de-Calais".into(), "PMI (Département)".into(), "Communes, CCAS".into()],
            public: "Familles avec enfants de moins de 3 ans".into(),
            communes: vec![insee("62119"), insee("62178"), insee("62617")],
            start: Some(d("2026-01-01")),
            end: Some(d("2028-12-31")),
            priority: Some(Priority::High),
            approaches: vec!["Aller vers".into(), "Accessibilité".into()],
            needs: "Taux de couverture de 48 % ; listes d'attente".into(),
            ..fiche("PE-1.1", "Développer l'accueil du jeune enfant", FicheStatus::InProgress)
        };
        let qualitative = PlanIndicator {
            name: "Charte qualité signée".into(),
            kind: IndicatorKind::Qualitative { scale: vec!["non engagé".into(), "engagé".into(), "atteint".into()] },
            targets: [(2026, Target::Level("engagé".into())), (2028, Target::Level("atteint".into()))].into(),
        };
        let quantitative = PlanIndicator {
            name: "Places créées".into(),
            kind: IndicatorKind::Quantitative {
                unit: "places".into(),
                baseline: Some(12.5),
                baseline_year: Some(2025),
                direction: Direction::Increase,
            },
            targets: [(2026, Target::Number(10.0)), (2027, Target::Number(25.0)), (2028, Target::Number(40.75))].into(),
        };
        let waiting = PlanIndicator {
            name: "Délai d'attente".into(),
            kind: IndicatorKind::Quantitative {
                unit: "jours".into(),
                baseline: None,
                baseline_year: None,
                direction: Direction::Decrease,
            },
            targets: [(2027, Target::Number(0.3))].into(),
        };
        let plan = vec![
            ImportedFiche {
                fiche: pe1,
                means: vec![
                    means("CAF du Pas-de-Calais", 2026, 50, 12_000_000, Some(11_850_050), MeansKind::Operating),
                    means("CAF du Pas-de-Calais", 2027, 50, 12_500_000, None, MeansKind::Operating),
                    means("CAF du Pas-de-Calais", 2028, 75, 13_000_099, None, MeansKind::Operating),
                    Means {
                        material: "Locaux ; véhicule de la Ville".into(),
                        ..means("CABBALR", 2026, 115, 4_500_000, Some(0), MeansKind::Investment)
                    },
                ],
                indicators: vec![quantitative, qualitative.clone()],
            },
            ImportedFiche {
                fiche: NewFiche {
                    priority: Some(Priority::Medium),
                    start: Some(d("2026-03-01")),
                    partners: vec!["Relais petite enfance".into()],
                    ..fiche("PE-1.2", "Soutenir les assistantes maternelles", FicheStatus::Upcoming)
                },
                means: vec![means("CABBALR", 2026, 20, 0, None, MeansKind::Operating)],
                indicators: vec![],
            },
            ImportedFiche {
                fiche: NewFiche {
                    ambitions: vec![2],
                    objectives: vec!["2.1".into()],
                    communes: vec![insee("62048"), insee("62516")],
                    ..fiche("JE-2.1", "Accueillir les adolescents", FicheStatus::Done)
                },
                means: vec![],
                indicators: vec![waiting],
            },
            ImportedFiche {
                fiche: fiche("PA-4.1", "Ateliers parents-enfants", FicheStatus::Paused),
                means: vec![
                    means("Département du Pas-de-Calais", 2026, 0, 150_000, Some(149_999), MeansKind::Operating),
                    means("Département du Pas-de-Calais", 2027, 0, 150_000, None, MeansKind::Operating),
                ],
                indicators: vec![qualitative],
            },
            ImportedFiche {
                fiche: fiche("AS-3.1", "Accès aux droits", FicheStatus::Late),
                means: vec![],
                indicators: vec![],
            },
            ImportedFiche {
                fiche: NewFiche {
                    end: Some(d("2025-06-30")),
                    ..fiche("LO-4.2", "Logement des jeunes", FicheStatus::Abandoned)
                },
                means: vec![],
                indicators: vec![],
            },
        ];
        plan.into_iter().map(|f| ImportedFiche { fiche: f.fiche.check().unwrap(), ..f }).collect()
    }

    #[test]
    fn a_plan_exported_then_imported_is_the_same_plan() {
        let plan = realistic_plan();
        let ctx = context();
        let sheets = tables(&plan, &ctx.communes);
        let titles: Vec<&str> = sheets.iter().map(|t| t.title.as_str()).collect();
        assert_eq!(titles, ["Fiches", "Moyens", "Indicateurs"]);
        // Communes by name, statuses as their labels.
        assert_eq!(sheets[0].rows[0][9], Value::Text("Béthune; Bruay-la-Buissière; Nœux-les-Mines".into()));
        assert_eq!(sheets[0].rows[1][9], Value::Text("Tout le territoire".into()));
        assert_eq!(sheets[0].rows[0][13], Value::Text("En cours".into()));
        let keys: Vec<&str> = sheets[2].columns.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys[8..], ["cible_2026", "cible_2027", "cible_2028"]);

        for format in [ExportFormat::Xlsx, ExportFormat::Ods] {
            let bytes = export_book(&sheets, format).unwrap();
            let name = format!("plan.{}", format.extension());
            let back = parse(&name, &bytes, &ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
            let back: Vec<ImportedFiche> = back.into_iter().map(|f| f.value).collect();
            assert_eq!(back, plan, "{name}");
        }
        // A CSV holds the fiches only: they come back the same.
        let bytes = export_book(&sheets, ExportFormat::Csv).unwrap();
        let back = parse("plan.csv", &bytes, &ctx).unwrap();
        let fiches: Vec<&NewFiche> = back.iter().map(|f| &f.value.fiche).collect();
        assert_eq!(fiches, plan.iter().map(|f| &f.fiche).collect::<Vec<_>>());
        assert!(back.iter().all(|f| f.value.means.is_empty() && f.value.indicators.is_empty()));
    }

    #[test]
    fn two_communes_of_the_same_name_are_written_by_code() {
        let mut ctx = context();
        ctx.communes.push((insee("59360"), "Houdain".into()));
        let fiche = NewFiche { communes: vec![insee("62457"), insee("62119")], ..realistic_plan()[1].fiche.clone() }
            .check()
            .unwrap();
        let plan = vec![ImportedFiche { fiche, means: vec![], indicators: vec![] }];
        let sheets = tables(&plan, &ctx.communes);
        assert_eq!(sheets[0].rows[0][9], Value::Text("Béthune; 62457".into()));
        let bytes = export_book(&sheets, ExportFormat::Xlsx).unwrap();
        assert_eq!(parse("p.xlsx", &bytes, &ctx).unwrap()[0].value, plan[0]);
        // Read by its name, it is ambiguous.
        let csv = "code,intitule,communes\nPE-1,Accueil,Houdain\n";
        let e = messages(&parse("p.csv", csv.as_bytes(), &ctx).unwrap_err());
        assert!(
            e[0].contains(
                "plusieurs communes du territoire s'appellent « Houdain » : donnez son code INSEE (62457 ou 59360)"
            ),
            "{e:?}"
        );
    }
}
