//! What pages and API share: the territory of a convention, loaded and computed once.

use ctg_domain::{commune_change, territory_totals, Change, CommunePopulations, Vintage, VintageTotals};
use ctg_store::{ConventionSummary, EpciDetail};

use crate::{AppState, WebError};

/// The territory of a convention: its EPCI's communes, their populations per vintage, the totals
/// and the changes between vintages.
pub struct Territory {
    pub convention: ConventionSummary,
    pub epci: EpciDetail,
    pub vintages: Vec<Vintage>,
    pub totals: Vec<VintageTotals>,
    pub changes: Vec<Change>,
}

impl Territory {
    pub async fn load(state: &AppState, id: i64) -> Result<Self, WebError> {
        let convention = state.store.convention_summary(id).await?;
        let epci = state.store.epci(&convention.epci_siren).await?;
        let vintages = epci.vintages();
        let (totals, changes) = territory_totals(&epci.communes, &vintages);
        Ok(Self { convention, epci, vintages, totals, changes })
    }

    /// The change of a commune's total population between the first and the last vintage.
    pub fn commune_change(&self, c: &CommunePopulations) -> Option<Change> {
        match (self.vintages.first(), self.vintages.last()) {
            (Some(&a), Some(&b)) if a != b => commune_change(c, a, b),
            _ => None,
        }
    }
}

/// Parses a convention id from a path; anything but a positive integer is an unknown convention.
pub fn convention_id(raw: &str) -> Result<i64, WebError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| WebError::NotFound(format!("la convention « {raw} » n'existe pas")))
}

/// What the header of every page needs: who is logged in, and the CSRF token for the logout button.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    pub user_name: String,
    pub logged_in: bool,
    pub is_admin: bool,
    pub csrf: String,
}

impl Nav {
    pub fn of(auth: &crate::auth::Auth) -> Self {
        match &auth.user {
            Some(u) => Self {
                user_name: u.name.clone(),
                logged_in: true,
                is_admin: u.is_admin,
                csrf: auth.csrf.clone().unwrap_or_default(),
            },
            None => Self::default(),
        }
    }
}

/// The problems of a submitted form: each tied to the field it concerns (`""` for the form as a
/// whole), so that templates put the message beside the field and `aria-describedby` on it.
#[derive(Debug, Clone, Default)]
pub struct FormErrors(pub Vec<(String, String)>);

impl FormErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push((field.to_owned(), message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message for `field`, or an empty string.
    pub fn get(&self, field: &str) -> &str {
        self.0.iter().find(|(f, _)| f == field).map_or("", |(_, m)| m.as_str())
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|(f, _)| f == field)
    }

    pub fn all(&self) -> &[(String, String)] {
        &self.0
    }
}

/// Parses an optional date field of a form (`AAAA-MM-JJ`, as `<input type="date">` sends it).
pub fn form_date(errors: &mut FormErrors, field: &str, raw: &str) -> Option<chrono::NaiveDate> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .or_else(|_| chrono::NaiveDate::parse_from_str(raw, "%d/%m/%Y"))
    {
        Ok(d) => Some(d),
        Err(_) => {
            errors.add(field, format!("date invalide « {raw} » : JJ/MM/AAAA attendu"));
            None
        }
    }
}
