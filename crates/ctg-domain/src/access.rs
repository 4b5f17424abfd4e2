//! Who may do what: the one place where every right is decided, and the password policy.
//!
//! The matrix is written out in `docs/DROITS.md`; a test walks every route against every role.

use serde::{Deserialize, Serialize};

use crate::convention::ConventionError;

/// The role of a user in one convention. A user has at most one role per convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Everything of one convention, including its users and history.
    #[serde(rename = "coordination")]
    Coordination,
    /// What their own organisation pilots or reports (today: its own party to the convention).
    #[serde(rename = "contributeur")]
    Contributor,
    /// Everything of the convention that is not confidential.
    #[serde(rename = "lecteur")]
    Reader,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Coordination, Role::Contributor, Role::Reader];

    pub fn code(self) -> &'static str {
        match self {
            Self::Coordination => "coordination",
            Self::Contributor => "contributeur",
            Self::Reader => "lecteur",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Coordination => "Coordination",
            Self::Contributor => "Contributeur",
            Self::Reader => "Lecteur",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ConventionError> {
        Self::ALL.into_iter().find(|r| r.code() == raw.trim()).ok_or_else(|| {
            ConventionError::UnknownValue("rôle", raw.to_owned(), "coordination, contributeur, lecteur".into())
        })
    }
}

/// Who is asking. `None` where the public asks (no session, no token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub is_admin: bool,
    pub organisation_id: Option<i64>,
    /// False for a read-only API token: it may read what its owner reads and write nothing.
    pub can_write: bool,
}

/// What is asked. Each route of the platform names exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read a convention, its strategy, bodies and territory.
    ViewConvention,
    /// Change a convention's title, period, status, place of signature, publication.
    EditConvention,
    /// Change the signatory, deliberation and signature of the party of organisation `.0`.
    EditParty { organisation_id: i64 },
    /// See who has which role in the convention; grant and revoke roles.
    ManageMembers,
    /// Read the history (audit trail) of the convention and its objects.
    ViewHistory,
    /// Read the data-exchange agreements (art. 9) of the convention.
    ViewAgreements,
    /// Create and change the data-exchange agreements of the convention.
    EditAgreements,
    /// Create and change the facilities (offer of services) of the convention's territory.
    EditOffer,
    /// Create and change the funding lines of the convention.
    EditFunding,
    /// Bodies and their members, meetings (agenda, attendance, decisions, minutes), concertation,
    /// coordination posts.
    ManageGovernance,
    /// Create fiches action, objectives, indicators; import the plan; write the evaluation.
    EditPlan,
    /// Report on a fiche: its status, sub-actions, means and indicator values. The coordination, or a
    /// contributor whose organisation pilots the fiche (`.0`, when the pilot is a known organisation).
    ReportFiche { pilot_organisation_id: Option<i64> },
    /// Read the documents attached to the convention's fiches, meetings and avenants (minutes,
    /// deliberations, signed copies): the people with a role in the convention.
    ViewDocuments,
    /// Read the art. 30 register of processing activities (any account).
    ViewRegister,
    /// Change the register.
    EditRegister,
    /// Create, disable accounts; export or erase what is held about a person; see all history.
    Administer,
    /// One's own account: password, API tokens.
    OwnAccount,
}

impl Action {
    /// The most permissive case of an action that is decided on an object (a party, a fiche) for
    /// `principal`: the route's guard decides this one before anything is read, the handler then
    /// decides the exact one on the object. Other actions are returned as they are.
    pub fn gate(self, principal: Option<&Principal>) -> Self {
        let own = principal.and_then(|p| p.organisation_id);
        match self {
            // Organisation ids are positive: 0 matches no organisation.
            Self::EditParty { .. } => Self::EditParty { organisation_id: own.unwrap_or(0) },
            Self::ReportFiche { .. } => Self::ReportFiche { pilot_organisation_id: own },
            other => other,
        }
    }
}

/// What is known of the convention a request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConventionContext {
    /// Published conventions are visible to the public.
    pub published: bool,
    /// The role of the principal in this convention, if any.
    pub role: Option<Role>,
}

/// The answer, with the reason for a refusal, in French.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// No principal: the person must log in first.
    LoginRequired,
    Deny(&'static str),
}

impl Decision {
    pub fn is_allowed(self) -> bool {
        self == Self::Allow
    }
}

/// Decides every right of the platform. `write` says whether the request changes something (a
/// read-only API token may read what its owner reads, and write nothing).
pub fn decide(principal: Option<&Principal>, action: Action, convention: ConventionContext, write: bool) -> Decision {
    use Action::*;
    let Some(p) = principal else {
        return match action {
            ViewConvention if convention.published => Decision::Allow,
            ViewConvention => Decision::LoginRequired,
            _ => Decision::LoginRequired,
        };
    };
    if write && !p.can_write {
        return Decision::Deny("ce jeton d'API est en lecture seule");
    }
    if p.is_admin {
        return Decision::Allow;
    }
    let role = convention.role;
    let allowed = match action {
        OwnAccount => true,
        ViewConvention => convention.published || role.is_some(),
        EditConvention | ManageMembers | ViewHistory | EditAgreements | EditFunding | EditPlan | ManageGovernance => {
            role == Some(Role::Coordination)
        }
        ReportFiche { pilot_organisation_id } => match role {
            Some(Role::Coordination) => true,
            Some(Role::Contributor) => pilot_organisation_id.is_some() && p.organisation_id == pilot_organisation_id,
            _ => false,
        },
        // Partners who run facilities keep them up to date.
        EditOffer => matches!(role, Some(Role::Coordination | Role::Contributor)),
        EditParty { organisation_id } => match role {
            Some(Role::Coordination) => true,
            Some(Role::Contributor) => p.organisation_id == Some(organisation_id),
            _ => false,
        },
        ViewAgreements | ViewDocuments => matches!(role, Some(Role::Coordination | Role::Contributor | Role::Reader)),
        // The register describes processing, not people: every account may consult it.
        ViewRegister => true,
        EditRegister | Administer => false,
    };
    if allowed {
        Decision::Allow
    } else {
        Decision::Deny(match action {
            EditParty { .. } => "seules la coordination et l'organisation concernée peuvent modifier cette partie",
            EditRegister | Administer => "cette action est réservée aux administrateurs de la plateforme",
            ViewConvention => "cette convention n'est pas publiée et vous n'y avez pas de rôle",
            ViewDocuments => "les documents sont réservés aux personnes qui ont un rôle dans la convention",
            EditOffer => {
                "seules la coordination et les organisations contributrices peuvent modifier l'offre de services"
            }
            _ => "cette action est réservée à la coordination de la convention",
        })
    }
}

/// Checks a password against the CNIL's 2022 recommendation (délibération n° 2022-100) for
/// authentication by password alone: an entropy of at least 80 bits, reached by one of
///
/// - at least 12 characters with upper case, lower case, digits and special characters;
/// - at least 14 characters with upper case, lower case and digits;
/// - a passphrase of at least 7 words (separated by spaces, each of at least 3 letters).
///
/// It must not contain the e-mail address's local part or the user's name. Returns what is missing.
pub fn check_password(password: &str, email: &str, name: &str) -> Result<(), String> {
    let len = password.chars().count();
    if len > 256 {
        return Err("le mot de passe dépasse 256 caractères".into());
    }
    let lower = password.chars().any(|c| c.is_lowercase());
    let upper = password.chars().any(|c| c.is_uppercase());
    let digit = password.chars().any(|c| c.is_ascii_digit());
    let special = password.chars().any(|c| !c.is_alphanumeric());
    let words = password.split_whitespace().filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 3).count();
    let strong =
        (len >= 12 && lower && upper && digit && special) || (len >= 14 && lower && upper && digit) || words >= 7;
    if !strong {
        return Err("le mot de passe doit compter au moins 12 caractères mêlant majuscules, minuscules, chiffres et \
                    caractères spéciaux, ou 14 caractères mêlant majuscules, minuscules et chiffres, ou être une \
                    phrase d'au moins 7 mots (recommandation de la CNIL, 2022)"
            .into());
    }
    let lowered = password.to_lowercase();
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    if local.chars().count() >= 4 && lowered.contains(&local) {
        return Err("le mot de passe ne doit pas contenir votre adresse électronique".into());
    }
    for part in name.split_whitespace().filter(|p| p.chars().count() >= 4) {
        if lowered.contains(&part.to_lowercase()) {
            return Err("le mot de passe ne doit pas contenir votre nom".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(org: Option<i64>) -> Principal {
        Principal { user_id: 1, is_admin: false, organisation_id: org, can_write: true }
    }

    fn ctx(published: bool, role: Option<Role>) -> ConventionContext {
        ConventionContext { published, role }
    }

    #[test]
    fn the_public_sees_published_conventions_only() {
        assert_eq!(decide(None, Action::ViewConvention, ctx(true, None), false), Decision::Allow);
        assert_eq!(decide(None, Action::ViewConvention, ctx(false, None), false), Decision::LoginRequired);
        assert_eq!(decide(None, Action::EditConvention, ctx(true, None), true), Decision::LoginRequired);
    }

    #[test]
    fn contributors_edit_their_own_party_only() {
        let p = user(Some(7));
        assert!(decide(Some(&p), Action::EditParty { organisation_id: 7 }, ctx(false, Some(Role::Contributor)), true)
            .is_allowed());
        assert!(!decide(Some(&p), Action::EditParty { organisation_id: 8 }, ctx(false, Some(Role::Contributor)), true)
            .is_allowed());
        assert!(!decide(Some(&p), Action::EditConvention, ctx(false, Some(Role::Contributor)), true).is_allowed());
        assert!(decide(Some(&p), Action::EditParty { organisation_id: 8 }, ctx(false, Some(Role::Coordination)), true)
            .is_allowed());
        assert!(!decide(Some(&p), Action::EditParty { organisation_id: 7 }, ctx(false, Some(Role::Reader)), true)
            .is_allowed());
    }

    #[test]
    fn pilots_report_on_their_fiches_and_the_coordination_plans() {
        let p = user(Some(7));
        let contributor = ctx(true, Some(Role::Contributor));
        let report = |org| Action::ReportFiche { pilot_organisation_id: org };
        assert!(decide(Some(&p), report(Some(7)), contributor, true).is_allowed());
        assert!(!decide(Some(&p), report(Some(8)), contributor, true).is_allowed());
        // A pilot that is no known organisation is reported on by the coordination only.
        assert!(!decide(Some(&p), report(None), contributor, true).is_allowed());
        assert!(!decide(Some(&user(None)), report(None), contributor, true).is_allowed());
        assert!(decide(Some(&p), report(None), ctx(true, Some(Role::Coordination)), true).is_allowed());
        assert!(!decide(Some(&p), Action::EditPlan, contributor, true).is_allowed());
        assert!(decide(Some(&p), Action::EditPlan, ctx(true, Some(Role::Coordination)), true).is_allowed());
        assert!(!decide(Some(&p), report(Some(7)), ctx(true, Some(Role::Reader)), true).is_allowed());
    }

    #[test]
    fn read_only_tokens_write_nothing_even_for_admins() {
        let admin = Principal { is_admin: true, can_write: false, ..user(None) };
        assert!(decide(Some(&admin), Action::ViewHistory, ctx(false, None), false).is_allowed());
        assert!(decide(Some(&admin), Action::EditConvention, ctx(false, None), false).is_allowed(), "reading the form");
        assert_eq!(
            decide(Some(&admin), Action::EditConvention, ctx(false, None), true),
            Decision::Deny("ce jeton d'API est en lecture seule")
        );
        assert!(!decide(Some(&admin), Action::OwnAccount, ctx(false, None), true).is_allowed());
    }

    #[test]
    fn cnil_password_rules() {
        assert!(check_password("Ab3!efghijkl", "a@b.fr", "Jeanne Martin").is_ok());
        assert!(check_password("Ab3!efghijk", "a@b.fr", "x").is_err(), "11 characters");
        assert!(check_password("Abcdefghijk3mn", "a@b.fr", "x").is_ok(), "14 with three classes");
        assert!(check_password("abcdefghijk3mn", "a@b.fr", "x").is_err(), "no upper case");
        assert!(check_password("le chat boit du lait tous les matins sans faute", "a@b.fr", "x").is_ok());
        assert!(check_password("un deux trois quatre cinq six", "a@b.fr", "x").is_err(), "six words");
        let e = check_password("Jeanne.Martin2026!", "jeanne.martin@caf.fr", "Jeanne Martin").unwrap_err();
        assert!(e.contains("adresse électronique"), "{e}");
        let e = check_password("Martin!2026xyzA", "jm@caf.fr", "Jeanne Martin").unwrap_err();
        assert!(e.contains("votre nom"), "{e}");
    }
}

/// Through which door a change came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    #[serde(rename = "page")]
    Page,
    #[serde(rename = "api")]
    Api,
    #[serde(rename = "ligne_de_commande")]
    Cli,
}

impl Channel {
    pub fn code(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::Api => "api",
            Self::Cli => "ligne_de_commande",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Page => "pages web",
            Self::Api => "API",
            Self::Cli => "ligne de commande",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Page, Self::Api, Self::Cli].into_iter().find(|c| c.code() == raw)
    }
}

/// Who makes a change, as the audit trail records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The account, when a user made the change; `None` for the command line run by the system.
    pub user_id: Option<i64>,
    /// A readable name: the user's name and e-mail, or « ligne de commande (compte système root) ».
    pub label: String,
    pub channel: Channel,
}

impl Actor {
    /// The platform itself, at the command line, for a task it names (loading the demo, creating the
    /// first administrator…).
    pub fn system(task: &str) -> Self {
        Self { user_id: None, label: task.to_owned(), channel: Channel::Cli }
    }

    /// The command line, run by the system account `system_user`.
    pub fn cli(system_user: &str) -> Self {
        Self {
            user_id: None,
            label: format!("ligne de commande (compte système {system_user})"),
            channel: Channel::Cli,
        }
    }
}
