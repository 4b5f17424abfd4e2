//! The offer of services on pages: the facilities of a convention's territory (list with filters,
//! a page each, creation and edition), the coverage page (communes without a type of service, places
//! per 100 children under 3, the ONAPE « taux de couverture »), and the funding lines with their
//! totals. Every table can be downloaded (see [`crate::export`]).

pub mod api;

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::Datelike;
use ctg_domain::access::Action;
use ctg_domain::diagnostic::{
    coverage_of_one_year, mask_table, AreaKind, Cell, ComponentValue, Coverage, Total, Totals,
};
use ctg_domain::offer::{
    communes_without, funding_totals, parse_euros, places_per_hundred, services_by_commune, CommuneServices,
    Dispositif, Facility, FacilityStatus, FacilityType, NewFacility, NewFunding, PlacesRow, PlacesTotal, Presence,
};
use ctg_domain::{Channel, InseeCode};
use ctg_report::table::{Column, Table, Value};
use ctg_store::{ConventionSummary, EpciDetail, StoreError};
use serde::Deserialize;

use crate::auth::Auth;
use crate::export::{download, links, ExportQuery};
use crate::extract::{Ids, PageForm, Version};
use crate::views::{form_date, french_number, FormErrors, Nav};
use crate::{AppState, PageError, WebError};

/// What every page of the offer needs.
pub(crate) struct Offer {
    pub convention: ConventionSummary,
    pub epci: EpciDetail,
    pub types: Vec<FacilityType>,
    pub facilities: Vec<Facility>,
}

impl Offer {
    pub async fn load(state: &AppState, id: i64) -> Result<Self, WebError> {
        let convention = state.store.convention_summary(id).await?;
        let epci = state.store.epci(&convention.epci_siren).await?;
        let types = state.store.facility_types().await?;
        let facilities = state.store.facilities_of(&convention.epci_siren).await?;
        Ok(Self { convention, epci, types, facilities })
    }

    pub fn communes(&self) -> Vec<(InseeCode, String)> {
        self.epci.communes.iter().map(|c| (c.code.clone(), c.name.clone())).collect()
    }

    pub fn type_label(&self, code: &str) -> String {
        self.types.iter().find(|t| t.code == code).map_or_else(|| code.to_owned(), |t| t.label.clone())
    }

    pub fn commune_name(&self, code: &InseeCode) -> String {
        self.epci.communes.iter().find(|c| c.code == *code).map_or_else(|| code.to_string(), |c| c.name.clone())
    }

    /// Reads communes as people type them: names or codes, separated by commas, semicolons or new
    /// lines ([`ctg_domain::parse::CommuneIndex`]); a code may be of a commune outside the
    /// intercommunality (an RPE may cross a border); empty is none, « tout le territoire » every commune
    /// of the intercommunality. Every problem is reported.
    pub fn parse_communes(&self, raw: &str) -> Result<Vec<InseeCode>, String> {
        use ctg_domain::parse::{CommuneIndex, CommuneList};
        let communes = CommuneIndex::new(self.epci.communes.iter().map(|c| (&c.code, c.name.as_str())))
            .with_outside_codes()
            .empty_is_no_commune();
        match communes.read("communes", raw).map_err(|e| e.message)? {
            CommuneList::WholeTerritory => Ok(self.epci.communes.iter().map(|c| c.code.clone()).collect()),
            CommuneList::Listed(codes) => Ok(codes),
        }
    }
}

fn status_label(s: FacilityStatus) -> &'static str {
    s.label()
}

fn opt_int(v: Option<i64>) -> String {
    v.map(ctg_domain::format::integer).unwrap_or_else(|| "—".into())
}

fn opt_date(d: Option<chrono::NaiveDate>) -> String {
    d.map(|d| d.format("%d/%m/%Y").to_string()).unwrap_or_default()
}

fn int_or_empty(v: Option<i64>) -> Value {
    v.map_or(Value::Empty, Value::Integer)
}

fn date_or_empty(d: Option<chrono::NaiveDate>) -> Value {
    d.map_or(Value::Empty, Value::Date)
}

pub(crate) fn euros(cents: i64) -> String {
    ctg_domain::format::euros(cents)
}

// ---------------------------------------------------------------------------------------------
// The list of facilities

#[derive(Debug, Default, Deserialize)]
pub struct FacilityFilter {
    #[serde(default, rename = "type")]
    pub type_code: String,
    #[serde(default)]
    pub commune: String,
    #[serde(default)]
    pub statut: String,
    #[serde(default)]
    pub q: String,
    #[serde(flatten)]
    pub export: ExportQuery,
}

impl FacilityFilter {
    pub(crate) fn keeps(&self, f: &Facility) -> bool {
        let d = &f.data;
        (self.type_code.is_empty() || d.type_code == self.type_code)
            && (self.commune.is_empty() || d.communes_served().any(|c| c.as_str() == self.commune))
            && (self.statut.is_empty() || d.status.code() == self.statut)
            && (self.q.trim().is_empty() || {
                let q = ctg_domain::format::collation_key(self.q.trim());
                ctg_domain::format::collation_key(&d.name).contains(&q)
                    || ctg_domain::format::collation_key(&d.manager).contains(&q)
            })
    }
}

pub(crate) struct FacilityLine {
    pub id: i64,
    pub name: String,
    pub type_label: String,
    pub commune: String,
    pub served: String,
    pub manager: String,
    pub capacity: String,
    pub labels: String,
    pub status: &'static str,
}

#[derive(Template)]
#[template(path = "facilities.html")]
struct FacilitiesPage {
    nav: Nav,
    id: i64,
    title: String,
    epci_name: String,
    can_edit: bool,
    types: Vec<(String, String)>,
    communes: Vec<(String, String)>,
    statuses: Vec<(&'static str, &'static str)>,
    filter: FacilityFilter,
    lines: Vec<FacilityLine>,
    total: usize,
    exports: Vec<(String, String)>,
}

fn facilities_table(offer: &Offer, list: &[&Facility]) -> Table {
    Table {
        title: "Équipements".into(),
        columns: vec![
            Column::new("identifiant", "Identifiant"),
            Column::new("nom", "Nom"),
            Column::new("type", "Type"),
            Column::new("commune", "Code commune"),
            Column::new("commune_nom", "Commune"),
            Column::new("communes_desservies", "Autres communes desservies"),
            Column::new("gestionnaire", "Gestionnaire"),
            Column::new("capacite", "Capacité"),
            Column::new("labels", "Labels"),
            Column::new("statut", "Statut"),
            Column::new("date_ouverture", "Ouverture"),
            Column::new("date_fermeture", "Fermeture"),
        ],
        rows: list
            .iter()
            .map(|f| {
                let d = &f.data;
                vec![
                    Value::Text(d.external_id.clone().unwrap_or_default()),
                    Value::Text(d.name.clone()),
                    Value::Text(d.type_code.clone()),
                    Value::Text(d.commune.to_string()),
                    Value::Text(offer.commune_name(&d.commune)),
                    Value::Text(d.served.iter().map(InseeCode::as_str).collect::<Vec<_>>().join(";")),
                    Value::Text(d.manager.clone()),
                    int_or_empty(d.capacity),
                    Value::Text(d.labels.join(";")),
                    Value::Text(d.status.code().into()),
                    date_or_empty(d.opened_on),
                    date_or_empty(d.closed_on),
                ]
            })
            .collect(),
    }
}

pub async fn facilities(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    crate::api_query::PageQuery(filter): crate::api_query::PageQuery<FacilityFilter>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let offer = Offer::load(&state, id).await?;
    let list: Vec<&Facility> = offer.facilities.iter().filter(|f| filter.keeps(f)).collect();
    if let Some(format) = filter.export.format()? {
        let source = crate::export::source(&state, id, &[]).await?;
        return Ok(download(
            &facilities_table(&offer, &list),
            format,
            &format!("equipements-{}", offer.epci.siren),
            &source,
        )?);
    }
    let lines = list
        .iter()
        .map(|f| {
            let d = &f.data;
            FacilityLine {
                id: f.id,
                name: d.name.clone(),
                type_label: offer.type_label(&d.type_code),
                commune: offer.commune_name(&d.commune),
                served: d.served.iter().map(|c| offer.commune_name(c)).collect::<Vec<_>>().join(", "),
                manager: d.manager.clone(),
                capacity: opt_int(d.capacity),
                labels: d.labels.join(", "),
                status: status_label(d.status),
            }
        })
        .collect();
    let query = [
        ("type", filter.type_code.clone()),
        ("commune", filter.commune.clone()),
        ("statut", filter.statut.clone()),
        ("q", filter.q.clone()),
    ];
    let page = FacilitiesPage {
        nav: Nav::of(&auth),
        id,
        title: offer.convention.title.clone(),
        epci_name: offer.epci.name.clone(),
        can_edit: state.may(&auth, Action::EditOffer, Some(id)).await,
        types: offer.types.iter().map(|t| (t.code.clone(), t.label.clone())).collect(),
        communes: offer.epci.communes.iter().map(|c| (c.code.to_string(), c.name.clone())).collect(),
        statuses: FacilityStatus::ALL.iter().map(|s| (s.code(), s.label())).collect(),
        exports: links(&format!("/conventions/{id}/equipements"), &query, None),
        total: offer.facilities.len(),
        lines,
        filter,
    };
    Ok(Html(page.render()?).into_response())
}

// ---------------------------------------------------------------------------------------------
// One facility

#[derive(Template)]
#[template(path = "facility.html")]
struct FacilityPage {
    nav: Nav,
    id: i64,
    title: String,
    facility_id: i64,
    can_edit: bool,
    name: String,
    fields: Vec<(&'static str, String)>,
    funding: Vec<(String, String, String, String)>,
}

/// The facility, if it belongs to the convention's territory.
fn facility_in(offer: &Offer, fid: i64) -> Result<&Facility, WebError> {
    offer.facilities.iter().find(|f| f.id == fid).ok_or_else(|| {
        WebError::NotFound(format!("l'équipement n° {fid} n'est pas sur le territoire de cette convention"))
    })
}

pub async fn facility(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let offer = Offer::load(&state, id).await?;
    let f = facility_in(&offer, fid)?;
    let d = &f.data;
    let funding = state
        .store
        .funding(id)
        .await?
        .into_iter()
        .filter(|l| l.data.facility_id == Some(fid))
        .map(|l| {
            (l.data.dispositif.label().to_owned(), l.data.funder, l.data.year.to_string(), euros(l.data.amount_cents))
        })
        .collect();
    let page = FacilityPage {
        nav: Nav::of(&auth),
        id,
        title: offer.convention.title.clone(),
        facility_id: fid,
        can_edit: state.may(&auth, Action::EditOffer, Some(id)).await,
        name: d.name.clone(),
        fields: vec![
            ("Type", offer.type_label(&d.type_code)),
            ("Gestionnaire", if d.manager.is_empty() { "—".into() } else { d.manager.clone() }),
            ("Commune", offer.commune_name(&d.commune)),
            (
                "Autres communes desservies",
                if d.served.is_empty() {
                    "aucune".into()
                } else {
                    d.served.iter().map(|c| offer.commune_name(c)).collect::<Vec<_>>().join(", ")
                },
            ),
            ("Capacité", opt_int(d.capacity)),
            ("Labels", if d.labels.is_empty() { "aucun".into() } else { d.labels.join(", ") }),
            ("Statut", d.status.label().into()),
            ("Ouverture", if d.opened_on.is_some() { opt_date(d.opened_on) } else { "non renseignée".into() }),
            ("Fermeture", opt_date(d.closed_on)),
            ("Identifiant", d.external_id.clone().unwrap_or_else(|| "—".into())),
        ],
        funding,
    };
    Ok(Html(page.render()?).into_response())
}

// ---------------------------------------------------------------------------------------------
// Creating and editing a facility

#[derive(Debug, Default, Deserialize)]
pub struct FacilityFields {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub type_code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub manager: String,
    #[serde(default)]
    pub commune: String,
    #[serde(default)]
    pub served: String,
    #[serde(default)]
    pub capacity: String,
    #[serde(default)]
    pub labels: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub opened_on: String,
    #[serde(default)]
    pub closed_on: String,
    #[serde(default)]
    pub external_id: String,
}

impl FacilityFields {
    fn of(offer: &Offer, f: &Facility) -> Self {
        let d = &f.data;
        Self {
            version: f.version.to_string(),
            type_code: d.type_code.clone(),
            name: d.name.clone(),
            manager: d.manager.clone(),
            commune: d.commune.to_string(),
            served: d.served.iter().map(|c| offer.commune_name(c)).collect::<Vec<_>>().join(", "),
            capacity: d.capacity.map(|c| c.to_string()).unwrap_or_default(),
            labels: d.labels.join(", "),
            status: d.status.code().into(),
            opened_on: d.opened_on.map(|d| d.to_string()).unwrap_or_default(),
            closed_on: d.closed_on.map(|d| d.to_string()).unwrap_or_default(),
            external_id: d.external_id.clone().unwrap_or_default(),
        }
    }

    /// The facility, or the problems of each field. Coordinates are kept from `keep` (the form does
    /// not edit them).
    fn to_new(&self, offer: &Offer, keep: Option<&NewFacility>, errors: &mut FormErrors) -> Option<NewFacility> {
        if !offer.types.iter().any(|t| t.code == self.type_code) {
            errors.add("type_code", "choisissez un type d'équipement");
        }
        if self.name.trim().is_empty() {
            errors.add("name", "le nom est obligatoire");
        }
        let commune = match InseeCode::parse(&self.commune) {
            Ok(c) if offer.epci.communes.iter().any(|m| m.code == c) => Some(c),
            _ => {
                errors.add("commune", "choisissez la commune où se trouve l'équipement");
                None
            }
        };
        let served = offer.parse_communes(&self.served).map_err(|m| errors.add("served", m)).ok();
        let capacity = match self.capacity.trim() {
            "" => None,
            raw => match raw.replace([' ', '\u{a0}'], "").parse::<i64>() {
                Ok(c) if (0..=100_000).contains(&c) => Some(c),
                _ => {
                    errors.add("capacity", format!("capacité invalide « {raw} » : un nombre entier de 0 à 100 000"));
                    None
                }
            },
        };
        let status = FacilityStatus::parse(&self.status).map_err(|e| errors.add("status", e.to_string())).ok();
        let opened_on = form_date(errors, "opened_on", &self.opened_on);
        let closed_on = form_date(errors, "closed_on", &self.closed_on);
        if !errors.is_empty() {
            return None;
        }
        let new = NewFacility {
            type_code: self.type_code.clone(),
            name: self.name.clone(),
            manager: self.manager.clone(),
            commune: commune?,
            served: served?,
            capacity,
            labels: self.labels.split([',', ';']).map(str::to_owned).collect(),
            status: status?,
            opened_on,
            closed_on,
            external_id: Some(self.external_id.clone()),
            latitude: keep.and_then(|k| k.latitude),
            longitude: keep.and_then(|k| k.longitude),
        };
        // The domain's own rules (dates, status), tied to the field they concern.
        match new.check(&offer.types) {
            Ok(ok) => Some(ok),
            Err(e) => {
                let m = e.to_string();
                let field = if m.contains("fermeture") {
                    "closed_on"
                } else if m.contains("nom") {
                    "name"
                } else {
                    ""
                };
                errors.add(field, m);
                None
            }
        }
    }
}

#[derive(Template)]
#[template(path = "facility_edit.html")]
struct FacilityForm {
    nav: Nav,
    id: i64,
    /// `None` when creating.
    facility_id: Option<i64>,
    form: FacilityFields,
    types: Vec<(String, String)>,
    communes: Vec<(String, String)>,
    statuses: Vec<(String, String)>,
    errors: FormErrors,
    conflict: String,
}

impl FacilityForm {
    fn new(auth: &Auth, offer: &Offer, id: i64, facility_id: Option<i64>, form: FacilityFields) -> Self {
        Self {
            nav: Nav::of(auth),
            id,
            facility_id,
            form,
            types: offer.types.iter().map(|t| (t.code.clone(), format!("{} — {}", t.theme, t.label))).collect(),
            communes: offer.epci.communes.iter().map(|c| (c.code.to_string(), c.name.clone())).collect(),
            statuses: FacilityStatus::ALL.iter().map(|s| (s.code().to_owned(), s.label().to_owned())).collect(),
            errors: FormErrors::new(),
            conflict: String::new(),
        }
    }
}

pub async fn facility_new(State(state): State<AppState>, auth: Auth, Ids(id): Ids<i64>) -> Result<Response, PageError> {
    state.authorize(&auth, Action::EditOffer, Some(id)).await?;
    let offer = Offer::load(&state, id).await?;
    let form = FacilityFields { status: "ouvert".into(), ..FacilityFields::default() };
    Ok(Html(FacilityForm::new(&auth, &offer, id, None, form).render()?).into_response())
}

pub async fn facility_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<FacilityFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditOffer, Some(id)).await?;
    let offer = Offer::load(&state, id).await?;
    let mut errors = FormErrors::new();
    let new = form.to_new(&offer, None, &mut errors);
    let new = match new {
        Some(n) => n,
        None => {
            let mut page = FacilityForm::new(&auth, &offer, id, None, form);
            page.errors = errors;
            return Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response());
        }
    };
    match state.store.create_facility(&auth.actor(Channel::Page), Some(id), new).await {
        Ok(fid) => Ok(crate::flash::redirect(&format!("/conventions/{id}/equipements/{fid}"), "Équipement créé")),
        Err(e @ (StoreError::Invalid(_) | StoreError::UnknownCommunes(_))) => {
            let mut page = FacilityForm::new(&auth, &offer, id, None, form);
            page.errors.add("", e.to_string());
            Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}

pub async fn facility_edit(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::EditOffer, Some(id)).await?;
    let offer = Offer::load(&state, id).await?;
    let f = facility_in(&offer, fid)?;
    let form = FacilityFields::of(&offer, f);
    Ok(Html(FacilityForm::new(&auth, &offer, id, Some(fid), form).render()?).into_response())
}

pub async fn facility_save(
    State(state): State<AppState>,
    auth: Auth,
    Ids((id, fid)): Ids<(i64, i64)>,
    PageForm(form): PageForm<FacilityFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditOffer, Some(id)).await?;
    let offer = Offer::load(&state, id).await?;
    let current = facility_in(&offer, fid)?;
    let version: i64 = Version::parse(&form.version)?;
    let mut errors = FormErrors::new();
    let Some(new) = form.to_new(&offer, Some(&current.data), &mut errors) else {
        let mut page = FacilityForm::new(&auth, &offer, id, Some(fid), form);
        page.errors = errors;
        return Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response());
    };
    match state.store.update_facility(&auth.actor(Channel::Page), Some(id), fid, version, new).await {
        Ok(_) => Ok(crate::flash::redirect(&format!("/conventions/{id}/equipements/{fid}"), "Équipement mis à jour")),
        Err(StoreError::Stale { what, last_change }) => {
            let fresh = state.store.facility(fid).await?.version;
            let mut page =
                FacilityForm::new(&auth, &offer, id, Some(fid), FacilityFields { version: fresh.to_string(), ..form });
            page.conflict = crate::error::stale_message(&what, last_change.as_deref());
            Ok((StatusCode::CONFLICT, Html(page.render()?)).into_response())
        }
        Err(e @ (StoreError::Invalid(_) | StoreError::UnknownCommunes(_))) => {
            let mut page = FacilityForm::new(&auth, &offer, id, Some(fid), form);
            page.errors.add("", e.to_string());
            Ok((StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
        }
        Err(e) => Err(WebError::from(e).into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Coverage

/// A count of the coverage page as the reader may see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Shown {
    Value(f64),
    Secret,
    Unknown,
}

impl Shown {
    pub fn text(self) -> String {
        match self {
            Self::Value(v) => french_number(v),
            Self::Secret => "secret".into(),
            Self::Unknown => "—".into(),
        }
    }

    fn cell(self) -> Value {
        match self {
            Self::Value(v) if v.fract() == 0.0 => Value::Integer(v as i64),
            Self::Value(v) => Value::Decimal { value: v, decimals: 2 },
            Self::Secret => Value::Masked,
            Self::Unknown => Value::Empty,
        }
    }

    pub fn value(self) -> Option<f64> {
        match self {
            Self::Value(v) => Some(v),
            _ => None,
        }
    }
}

pub(crate) struct PlacesLine {
    pub code: String,
    pub name: String,
    pub eaje_places: i64,
    pub mam_places: i64,
    pub unknown_capacity: usize,
    pub children: Shown,
    pub per_hundred: Shown,
}

/// One component of the ONAPE rate, with where it comes from.
pub(crate) struct Component {
    pub label: &'static str,
    pub value: Option<i64>,
    pub source: String,
}

/// Everything the coverage page and its API show.
pub(crate) struct CoverageView {
    pub type_code: String,
    pub type_label: String,
    pub services: Vec<CommuneServices>,
    /// The communes without the type; meaningful only when `entered` > 0.
    pub without: Vec<(String, String)>,
    /// How many facilities of the type were ever entered (any status): none means the offer is
    /// unknown (« non renseigné »), never that every commune lacks it.
    pub entered: usize,
    /// Whether any EAJE or MAM was ever entered: if none, places are unknown (« non renseigné »).
    pub places_known: bool,
    pub places: Vec<PlacesLine>,
    pub total: PlacesTotal,
    pub total_children: Shown,
    pub components: Vec<Component>,
    pub rate: Option<Coverage>,
    /// The one year of every component of the rate.
    pub rate_year: Option<i32>,
    pub children_period: String,
}

impl CoverageView {
    /// `mask`: hide protected counts (children under 3) below the threshold, with secondary
    /// suppression against the total.
    pub async fn load(state: &AppState, offer: &Offer, type_code: &str, mask: bool) -> Result<Self, WebError> {
        let today = state.today();
        let communes = offer.communes();
        let data: Vec<NewFacility> = offer.facilities.iter().map(|f| f.data.clone()).collect();
        let services = services_by_commune(&communes, &data, today);
        let without =
            communes_without(&services, type_code).iter().map(|c| (c.code.to_string(), c.name.clone())).collect();
        let entered = offer.facilities.iter().filter(|f| f.data.type_code == type_code).count();
        // Children under 3 per commune: the latest period of each.
        let children_obs = state.store.commune_observations_in("enfants_moins_3_ans", &offer.epci.siren).await?;
        let mut children: HashMap<InseeCode, i64> = HashMap::new();
        let mut children_period = String::new();
        for o in &children_obs {
            // Rows come by commune and period: the last one of a commune is its latest.
            if let Ok(code) = InseeCode::parse(&o.area.code) {
                children.insert(code, o.value.round() as i64);
                children_period = children_period.max(o.period.clone());
            }
        }
        let epci_area = ctg_domain::diagnostic::Area { kind: AreaKind::Epci, code: offer.epci.siren.to_string() };
        let epci_obs = state.store.observations(std::slice::from_ref(&epci_area)).await?;
        let values = |code: &str| -> Vec<ComponentValue> {
            epci_obs
                .iter()
                .filter(|o| o.indicator == code)
                .map(|o| ComponentValue {
                    period: o.period.clone(),
                    value: o.value.round() as i64,
                    source: format!("{}, {}", o.source, o.period),
                })
                .collect()
        };
        let latest = |values: &[ComponentValue]| values.iter().max_by(|a, b| a.period.cmp(&b.period)).cloned();
        let children_values = values("enfants_moins_3_ans");
        let epci_children = latest(&children_values).map(|c| c.value);
        let (rows, mut total) = places_per_hundred(&communes, &data, &offer.types, &children, today, epci_children);
        // No EAJE nor MAM ever entered: the places are unknown, not 0 (nor 0 for 100 children).
        let place_kinds: Vec<&str> = offer
            .types
            .iter()
            .filter(|t| !matches!(t.places, ctg_domain::offer::PlacesKind::Other))
            .map(|t| t.code.as_str())
            .collect();
        let places_known = offer.facilities.iter().any(|f| place_kinds.contains(&f.data.type_code.as_str()));
        let threshold = state.store.parameter(crate::views::MASKING_PARAMETER, 5).await?.on(today);
        let mut places = masked_places(&rows, mask, threshold);
        if !places_known {
            for p in &mut places {
                p.per_hundred = Shown::Unknown;
            }
            total.per_hundred = None;
        }
        let total_children = total.children_under_three.map_or(Shown::Unknown, |c| Shown::Value(c as f64));
        // The ONAPE rate of the EPCI, its five components for one and the same year
        // (`coverage_of_one_year`): EAJE places are the declared figures of each year, and the places
        // of the registered facilities (when their capacities are all known) stand for this year's.
        let mut eaje = values("places_eaje");
        if total.eaje_places > 0 && total.unknown_capacity == 0 {
            let year = today.year().to_string();
            eaje.retain(|v| v.year() != Some(today.year()));
            eaje.push(ComponentValue {
                period: year.clone(),
                value: total.eaje_places,
                source: format!("équipements enregistrés, {year}"),
            });
        }
        let all = [
            eaje,
            values("places_assistants_maternels"),
            values("enfants_scolarises_2_ans"),
            values("garde_domicile"),
            children_values,
        ];
        const LABELS: [&str; 5] = [
            "Places en EAJE",
            "Places chez les assistants maternels",
            "Enfants scolarisés à 2 ans",
            "Enfants gardés à domicile",
            "Enfants de moins de 3 ans",
        ];
        let of_year = coverage_of_one_year([&all[0], &all[1], &all[2], &all[3], &all[4]]);
        // With a common year, its values; without one, each component's latest, shown but not combined.
        let components = match &of_year {
            Some(c) => LABELS
                .iter()
                .zip(&c.components)
                .map(|(label, v)| Component { label, value: Some(v.value), source: v.source.clone() })
                .collect(),
            None => LABELS
                .iter()
                .zip(&all)
                .map(|(label, values)| {
                    let v = latest(values);
                    Component {
                        label,
                        value: v.as_ref().map(|v| v.value),
                        source: v.map(|v| v.source).unwrap_or_default(),
                    }
                })
                .collect(),
        };
        let rate_year = of_year.as_ref().map(|c| c.year);
        let rate = of_year.map(|c| c.coverage);
        Ok(Self {
            type_label: offer.type_label(type_code),
            type_code: type_code.to_owned(),
            services,
            without,
            entered,
            places_known,
            places,
            total,
            total_children,
            components,
            rate,
            rate_year,
            children_period,
        })
    }
}

/// The places rows as the reader may see them: for the public, small counts of children are masked,
/// and so are others (zeros included) until no masked count can be worked back from the total of the
/// EPCI shown below the table and among the ONAPE components; a masked count also masks its rate
/// (places are public, so the rate would give the count away). That total is public (Insee) and always
/// shown, so it is `Fixed`: the communes' rows have no total of their own.
fn masked_places(rows: &[PlacesRow], mask: bool, threshold: i64) -> Vec<PlacesLine> {
    let column: Vec<Vec<Option<i64>>> = rows.iter().map(|r| vec![r.children_under_three]).collect();
    let cells = if mask {
        mask_table(&column, threshold, Totals { rows: Total::Absent, columns: Total::Fixed, grand: Total::Fixed }).cells
    } else {
        column.iter().map(|r| vec![r[0].map_or(Cell::Unknown, Cell::Shown)]).collect()
    };
    rows.iter()
        .zip(cells)
        .map(|(r, cell)| {
            let (children, per_hundred) = match cell[0] {
                Cell::Shown(n) => (Shown::Value(n as f64), r.per_hundred.map_or(Shown::Unknown, Shown::Value)),
                Cell::Masked | Cell::MaskedSecondary => (Shown::Secret, Shown::Secret),
                Cell::Unknown => (Shown::Unknown, Shown::Unknown),
            };
            PlacesLine {
                code: r.code.to_string(),
                name: r.name.clone(),
                eaje_places: r.eaje_places,
                mam_places: r.mam_places,
                unknown_capacity: r.unknown_capacity,
                children,
                per_hundred,
            }
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
pub struct CoverageQuery {
    #[serde(default, rename = "type")]
    pub type_code: Option<String>,
    #[serde(flatten)]
    pub export: ExportQuery,
}

#[derive(Template)]
#[template(path = "coverage.html")]
struct CoveragePage {
    nav: Nav,
    id: i64,
    title: String,
    epci_name: String,
    types: Vec<(String, String)>,
    view: CoverageView,
    services: Vec<(String, String, String)>,
    rate: String,
    map: String,
    exports_without: Vec<(String, String)>,
    exports_places: Vec<(String, String)>,
    exports_services: Vec<(String, String)>,
    /// How many facilities of the chosen type were ever entered (any status): none means the
    /// offer is unknown, not absent.
    entered: usize,
    can_edit: bool,
}

/// The communes without the type; when none was ever entered, no commune is listed and the title
/// says it is unknown (« non renseigné »), never that they all lack it.
fn without_table(v: &CoverageView) -> Table {
    Table {
        title: if v.entered == 0 {
            format!(
                "Communes sans {} : non renseigné (aucun équipement de ce type n'a été saisi pour ce territoire)",
                v.type_label
            )
        } else {
            format!("Communes sans {}", v.type_label)
        },
        columns: vec![Column::new("code_insee", "Code INSEE"), Column::new("nom", "Commune")],
        rows: if v.entered == 0 {
            Vec::new()
        } else {
            v.without.iter().map(|(c, n)| vec![Value::Text(c.clone()), Value::Text(n.clone())]).collect()
        },
    }
}

/// A count of places: empty (unknown) when no EAJE nor MAM was ever entered, never 0.
fn places_cell(v: &CoverageView, places: i64) -> Value {
    if v.places_known {
        Value::Integer(places)
    } else {
        Value::Empty
    }
}

fn places_table(v: &CoverageView, epci_name: &str) -> Table {
    let mut rows: Vec<Vec<Value>> = v
        .places
        .iter()
        .map(|p| {
            vec![
                Value::Text(p.code.clone()),
                Value::Text(p.name.clone()),
                places_cell(v, p.eaje_places),
                places_cell(v, p.mam_places),
                Value::Integer(p.unknown_capacity as i64),
                p.children.cell(),
                p.per_hundred.cell(),
            ]
        })
        .collect();
    rows.push(vec![
        Value::Text(String::new()),
        Value::Text(format!("Ensemble : {epci_name}")),
        places_cell(v, v.total.eaje_places),
        places_cell(v, v.total.mam_places),
        Value::Integer(v.total.unknown_capacity as i64),
        v.total_children.cell(),
        v.total.per_hundred.map_or(Value::Empty, |r| Value::Decimal { value: r, decimals: 2 }),
    ]);
    Table {
        title: if v.places_known {
            "Places pour 100 enfants".into()
        } else {
            "Places pour 100 enfants : non renseigné (aucun EAJE ni aucune MAM n'a été saisi pour ce territoire)".into()
        },
        columns: vec![
            Column::new("code_insee", "Code INSEE"),
            Column::new("nom", "Commune"),
            Column::new("places_eaje", "Places en EAJE"),
            Column::new("places_mam", "Places en MAM"),
            Column::new("equipements_capacite_inconnue", "Équipements de capacité inconnue"),
            Column::new("enfants_moins_3_ans", "Enfants de moins de 3 ans"),
            Column::new("places_pour_100_enfants", "Places pour 100 enfants"),
        ],
        rows,
    }
}

fn services_rows(v: &CoverageView, labels: &BTreeMap<String, String>) -> Vec<(String, String, String)> {
    v.services
        .iter()
        .map(|c| {
            let list = |p: Presence| {
                c.types
                    .iter()
                    .filter(|(_, x)| **x == p)
                    .map(|(t, _)| labels.get(t).cloned().unwrap_or_else(|| t.clone()))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            (c.name.clone(), list(Presence::Located), list(Presence::Served))
        })
        .collect()
}

fn services_table(rows: &[(String, String, String)], v: &CoverageView) -> Table {
    Table {
        title: "Services par commune".into(),
        columns: vec![
            Column::new("code_insee", "Code INSEE"),
            Column::new("nom", "Commune"),
            Column::new("sur_place", "Services sur place"),
            Column::new("desservie_par", "Desservie par"),
        ],
        rows: rows
            .iter()
            .zip(&v.services)
            .map(|((n, here, served), c)| {
                vec![
                    Value::Text(c.code.to_string()),
                    Value::Text(n.clone()),
                    Value::Text(here.clone()),
                    Value::Text(served.clone()),
                ]
            })
            .collect(),
    }
}

pub async fn coverage_page(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    crate::api_query::PageQuery(q): crate::api_query::PageQuery<CoverageQuery>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    let offer = Offer::load(&state, id).await?;
    let type_code = q.type_code.clone().filter(|t| !t.is_empty()).unwrap_or_else(|| "rpe".into());
    if !offer.types.iter().any(|t| t.code == type_code) {
        return Err(WebError::BadRequest(format!("type d'équipement inconnu « {type_code} »")).into());
    }
    let view = CoverageView::load(&state, &offer, &type_code, auth.user.is_none()).await?;
    let labels: BTreeMap<String, String> = offer.types.iter().map(|t| (t.code.clone(), t.label.clone())).collect();
    let services = services_rows(&view, &labels);
    if let Some(format) = q.export.format()? {
        let stem = format!("couverture-{}", offer.epci.siren);
        let table = if q.export.wants("sans_service", true) {
            without_table(&view)
        } else if q.export.wants("places", false) {
            places_table(&view, &offer.epci.name)
        } else if q.export.wants("services", false) {
            services_table(&services, &view)
        } else {
            return Err(
                WebError::BadRequest("tableau inconnu (tableaux : sans_service, places, services)".into()).into()
            );
        };
        let producers: Vec<&str> = view.components.iter().map(|c| c.source.as_str()).collect();
        let source = crate::export::source(&state, id, &producers).await?;
        return Ok(download(&table, format, &stem, &source)?);
    }
    let outlines = state.store.outlines_of(&offer.epci.siren).await?;
    let map = if outlines.is_empty() {
        String::new()
    } else {
        let values: HashMap<&str, Option<f64>> =
            view.places.iter().map(|p| (p.code.as_str(), p.per_hundred.value())).collect();
        ctg_report::chart::choropleth(&ctg_report::chart::ChoroplethMap {
            id: "carte-places".into(),
            title: "Places en EAJE et MAM pour 100 enfants de moins de 3 ans".into(),
            unit: "places pour 100 enfants".into(),
            decimals: 1,
            shapes: outlines
                .iter()
                .map(|o| ctg_report::chart::Shape {
                    code: o.code.to_string(),
                    name: offer.commune_name(&o.code),
                    polygons: o.polygons.clone(),
                    value: values.get(o.code.as_str()).copied().flatten(),
                })
                .collect(),
        })
    };
    let path = format!("/conventions/{id}/couverture");
    let query = [("type", type_code.clone())];
    let page = CoveragePage {
        nav: Nav::of(&auth),
        id,
        title: offer.convention.title.clone(),
        epci_name: offer.epci.name.clone(),
        types: offer.types.iter().map(|t| (t.code.clone(), t.label.clone())).collect(),
        rate: view.rate.and_then(|r| r.rate).map(french_number).unwrap_or_default(),
        exports_without: links(&path, &query, Some("sans_service")),
        exports_places: links(&path, &query, Some("places")),
        exports_services: links(&path, &query, Some("services")),
        entered: view.entered,
        can_edit: state.may(&auth, Action::EditOffer, Some(id)).await,
        view,
        services,
        map,
    };
    Ok(Html(page.render()?).into_response())
}

// ---------------------------------------------------------------------------------------------
// Funding

#[derive(Debug, Default, Deserialize)]
pub struct FundingFields {
    #[serde(default)]
    pub dispositif: String,
    #[serde(default)]
    pub funder: String,
    #[serde(default)]
    pub year: String,
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub facility: String,
    #[serde(default)]
    pub note: String,
}

impl FundingFields {
    fn to_new(&self, offer: &Offer, errors: &mut FormErrors) -> Option<NewFunding> {
        let dispositif = Dispositif::parse(&self.dispositif).map_err(|e| errors.add("dispositif", e.to_string())).ok();
        if self.funder.trim().is_empty() {
            errors.add("funder", "le financeur est obligatoire");
        }
        let year = ctg_domain::parse::plan_year("year", &self.year).map_err(|e| errors.add(&e.field, e.message)).ok();
        let amount = parse_euros(&self.amount).map_err(|m| errors.add("amount", m)).ok();
        let facility_id = match self.facility.trim() {
            "" => None,
            raw => match raw.parse::<i64>().ok().filter(|fid| offer.facilities.iter().any(|f| f.id == *fid)) {
                Some(fid) => Some(fid),
                None => {
                    errors.add("facility", "équipement inconnu sur ce territoire");
                    None
                }
            },
        };
        if !errors.is_empty() {
            return None;
        }
        Some(NewFunding {
            facility_id,
            dispositif: dispositif?,
            funder: self.funder.clone(),
            year: year?,
            amount_cents: amount?,
            note: self.note.clone(),
        })
    }
}

#[derive(Template)]
#[template(path = "funding.html")]
struct FundingPage {
    nav: Nav,
    id: i64,
    title: String,
    can_edit: bool,
    /// (year, scheme, funder, amount, facility, purpose, stopped by the termination)
    lines: Vec<(String, String, String, String, String, String, bool)>,
    by_dispositif: Vec<(String, String)>,
    by_funder: Vec<(String, String)>,
    by_year: Vec<(String, String)>,
    total: String,
    /// After a termination (art. 13): its effective date, the stopped total and the number of lines.
    stopped: Option<(String, String, String)>,
    dispositifs: Vec<(String, String)>,
    facilities: Vec<(String, String)>,
    form: FundingFields,
    errors: FormErrors,
    exports_lines: Vec<(String, String)>,
    exports_totals: Vec<(String, String)>,
}

fn funding_tables(
    offer: &Offer,
    lines: &[ctg_domain::offer::Funding],
    stop: Option<ctg_domain::life::Stop>,
) -> (Table, Table) {
    let names: HashMap<i64, &str> = offer.facilities.iter().map(|f| (f.id, f.data.name.as_str())).collect();
    let detail = Table {
        title: "Financements".into(),
        columns: vec![
            Column::new("annee", "Année"),
            Column::new("dispositif", "Dispositif"),
            Column::new("financeur", "Financeur"),
            Column::new("montant", "Montant"),
            Column::new("equipement", "Équipement"),
            Column::new("objet", "Objet"),
            Column::new("arrete", "Arrêtée par la résiliation (art. 13)"),
        ],
        rows: lines
            .iter()
            .map(|l| {
                let d = &l.data;
                vec![
                    Value::Text(d.year.to_string()),
                    Value::Text(d.dispositif.label().into()),
                    Value::Text(d.funder.clone()),
                    Value::Cents(d.amount_cents),
                    Value::Text(d.facility_id.and_then(|f| names.get(&f)).map(|n| (*n).to_owned()).unwrap_or_default()),
                    Value::Text(d.note.clone()),
                    Value::Text(if ctg_domain::life::year_stopped(stop, d.year) { "oui" } else { "non" }.into()),
                ]
            })
            .collect(),
    };
    let t = funding_totals(lines.iter().map(|l| &l.data), stop);
    let mut rows = Vec::new();
    for (k, v) in &t.by_dispositif {
        let label = Dispositif::parse(k).map(|d| d.label().to_owned()).unwrap_or_else(|_| k.clone());
        rows.push(vec![Value::Text("dispositif".into()), Value::Text(label), Value::Cents(*v)]);
    }
    for (k, v) in &t.by_funder {
        rows.push(vec![Value::Text("financeur".into()), Value::Text(k.clone()), Value::Cents(*v)]);
    }
    for (k, v) in &t.by_year {
        rows.push(vec![Value::Text("annee".into()), Value::Text(k.to_string()), Value::Cents(*v)]);
    }
    rows.push(vec![Value::Text("total".into()), Value::Text("Total".into()), Value::Cents(t.total)]);
    if let Some(s) = stop {
        rows.push(vec![
            Value::Text("arrete".into()),
            Value::Text(format!(
                "Arrêté par la résiliation à partir du {}",
                ctg_domain::format::date_short(s.effective)
            )),
            Value::Cents(t.stopped),
        ]);
    }
    let totals = Table {
        title: "Totaux des financements".into(),
        columns: vec![
            Column::new("regroupement", "Regroupement"),
            Column::new("cle", "Clé"),
            Column::new("montant", "Montant"),
        ],
        rows,
    };
    (detail, totals)
}

async fn funding_page(
    state: &AppState,
    auth: &Auth,
    id: i64,
    form: FundingFields,
    errors: FormErrors,
    status: StatusCode,
) -> Result<Response, PageError> {
    let offer = Offer::load(state, id).await?;
    let lines = state.store.funding(id).await?;
    let names: HashMap<i64, &str> = offer.facilities.iter().map(|f| (f.id, f.data.name.as_str())).collect();
    let stop = state.store.commitments_stop(id).await?;
    let t = funding_totals(lines.iter().map(|l| &l.data), stop);
    let path = format!("/conventions/{id}/financements");
    let page = FundingPage {
        nav: Nav::of(auth),
        id,
        title: offer.convention.title.clone(),
        can_edit: state.may(auth, Action::EditFunding, Some(id)).await,
        lines: lines
            .iter()
            .map(|l| {
                let d = &l.data;
                (
                    d.year.to_string(),
                    d.dispositif.label().to_owned(),
                    d.funder.clone(),
                    euros(d.amount_cents),
                    d.facility_id.and_then(|f| names.get(&f)).map(|n| (*n).to_owned()).unwrap_or_default(),
                    d.note.clone(),
                    ctg_domain::life::year_stopped(stop, d.year),
                )
            })
            .collect(),
        by_dispositif: t
            .by_dispositif
            .iter()
            .map(|(k, v)| (Dispositif::parse(k).map(|d| d.label().to_owned()).unwrap_or_else(|_| k.clone()), euros(*v)))
            .collect(),
        by_funder: t.by_funder.iter().map(|(k, v)| (k.clone(), euros(*v))).collect(),
        by_year: t.by_year.iter().map(|(k, v)| (k.to_string(), euros(*v))).collect(),
        total: euros(t.total),
        stopped: stop
            .map(|s| (ctg_domain::format::date_short(s.effective), euros(t.stopped), t.stopped_lines.to_string())),
        dispositifs: Dispositif::ALL.iter().map(|d| (d.code().to_owned(), d.label().to_owned())).collect(),
        facilities: offer.facilities.iter().map(|f| (f.id.to_string(), f.data.name.clone())).collect(),
        form,
        errors,
        exports_lines: links(&path, &[], Some("lignes")),
        exports_totals: links(&path, &[], Some("totaux")),
    };
    Ok((status, Html(page.render()?)).into_response())
}

pub async fn funding(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    crate::api_query::PageQuery(q): crate::api_query::PageQuery<ExportQuery>,
) -> Result<Response, PageError> {
    state.authorize(&auth, Action::ViewConvention, Some(id)).await?;
    if let Some(format) = q.format()? {
        let offer = Offer::load(&state, id).await?;
        let stop = state.store.commitments_stop(id).await?;
        let (detail, totals) = funding_tables(&offer, &state.store.funding(id).await?, stop);
        let table = if q.wants("lignes", true) {
            detail
        } else if q.wants("totaux", false) {
            totals
        } else {
            return Err(WebError::BadRequest("tableau inconnu (tableaux : lignes, totaux)".into()).into());
        };
        let source = crate::export::source(&state, id, &[]).await?;
        return Ok(download(&table, format, &format!("financements-{id}"), &source)?);
    }
    let form =
        FundingFields { funder: "CAF".into(), year: state.today().format("%Y").to_string(), ..Default::default() };
    funding_page(&state, &auth, id, form, FormErrors::new(), StatusCode::OK).await
}

pub async fn funding_create(
    State(state): State<AppState>,
    auth: Auth,
    Ids(id): Ids<i64>,
    PageForm(form): PageForm<FundingFields>,
) -> Result<Response, PageError> {
    state.authorize_write(&auth, Action::EditFunding, Some(id)).await?;
    let offer = Offer::load(&state, id).await?;
    let mut errors = FormErrors::new();
    let Some(line) = form.to_new(&offer, &mut errors) else {
        return funding_page(&state, &auth, id, form, errors, StatusCode::BAD_REQUEST).await;
    };
    state.store.create_funding(&auth.actor(Channel::Page), id, line).await?;
    Ok(crate::flash::redirect(&format!("/conventions/{id}/financements"), "Ligne de financement enregistrée"))
}

/// The offer as open data (the public page's « données ouvertes »): name, type, commune, places,
/// status; no manager, who may be a person.
pub(crate) async fn open_data_rows(state: &AppState, id: i64) -> Result<Vec<Vec<String>>, WebError> {
    let offer = Offer::load(state, id).await?;
    Ok(offer
        .facilities
        .iter()
        .map(|f| {
            let d = &f.data;
            vec![
                d.name.clone(),
                offer.type_label(&d.type_code),
                offer.commune_name(&d.commune),
                d.capacity.map_or_else(|| "inconnu".to_owned(), ctg_domain::format::integer),
                status_label(d.status).to_owned(),
            ]
        })
        .collect())
}
