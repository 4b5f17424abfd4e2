//! The workspace of a convention: its sections grouped as a coordinator thinks of them, the one
//! navigation every page of the convention shows (`base.html`), with the current page marked
//! (`aria-current`) and a breadcrumb for pages that do not write their own.

use ctg_domain::access::Action;

use crate::auth::Auth;

/// One link of the workspace navigation.
#[derive(Debug, Clone)]
pub struct NavLink {
    pub href: String,
    pub label: &'static str,
    /// `"page"` on the page itself, `"true"` on the section of a page below it (a fiche, a
    /// meeting), empty otherwise.
    pub current: &'static str,
}

/// A group of sections (« Stratégie & plan »…).
#[derive(Debug, Clone)]
pub struct NavGroup {
    pub title: &'static str,
    pub links: Vec<NavLink>,
    pub current: bool,
}

/// The navigation of the convention of the path.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub id: i64,
    pub title: String,
    pub groups: Vec<NavGroup>,
    /// The label of the current section, for the collapsed menu and the breadcrumb.
    pub current_label: &'static str,
    pub current_href: String,
    /// Whether the path is the current section's page itself (not a page below it).
    pub exact: bool,
}

/// A section: its path below `/conventions/{id}`, its label, and the right it needs, if any
/// beyond reading the convention.
type Section = (&'static str, &'static str, Option<Action>);

const GROUPS: &[(&str, &[Section])] = &[
    (
        "Territoire & diagnostic",
        &[
            ("/territoire", "Territoire et populations", None),
            ("/diagnostic", "Diagnostic", None),
            ("/comparaison", "Territoires comparables", None),
            ("/sppe", "Service public de la petite enfance", None),
            ("/equipements", "Équipements", None),
            ("/couverture", "Couverture par commune", None),
        ],
    ),
    (
        "Stratégie & plan",
        &[
            ("/strategie", "Stratégie", None),
            ("/plan", "Plan d'action", None),
            ("/plan/fiches", "Tableau des fiches", None),
            ("/plan/calendrier", "Calendrier", None),
        ],
    ),
    (
        "Suivi & évaluation",
        &[
            ("/plan/retards", "Retards", None),
            ("/evaluation", "Évaluation", None),
            ("/financements", "Financements", None),
            ("/qui-finance-quoi", "Qui finance quoi", None),
        ],
    ),
    (
        "Gouvernance",
        &[
            ("/instances", "Instances", None),
            ("/decisions", "Décisions ouvertes", None),
            ("/concertation", "Concertation", None),
            ("/cooperation", "Chargés de coopération", None),
        ],
    ),
    (
        "Convention & droits",
        &[
            ("", "Vue d'ensemble", None),
            ("/vie", "Vie de la convention", None),
            ("/engagements", "Engagements des parties", None),
            ("/modifier", "Modifier la convention", Some(Action::EditConvention)),
            ("/utilisateurs", "Utilisateurs et droits", Some(Action::ManageMembers)),
            ("/historique", "Historique", Some(Action::ViewHistory)),
            ("/accords", "Accords d'échange de données", Some(Action::ViewAgreements)),
            ("/publique", "Page publique", None),
            ("/donnees-ouvertes", "Données ouvertes", None),
        ],
    ),
];

/// The section a path below the convention belongs to, when it is not one of the sections' own
/// prefixes: a meeting belongs to the bodies; a fiche (like its indicators) to the plan, as its
/// breadcrumb says (« Plan d'action › PE-1 »), the table of fiches being one view of it; a party to
/// the overview.
fn section_of(rest: &str) -> &str {
    if rest.starts_with("/seances") {
        return "/instances";
    }
    if rest.starts_with("/plan/indicateurs")
        || rest.starts_with("/plan/import")
        || rest.starts_with("/plan/export")
        || rest.starts_with("/plan/fiches/")
    {
        return "/plan";
    }
    if rest.starts_with("/parties") {
        return "";
    }
    if rest.starts_with("/textes") {
        return "/vie";
    }
    // The longest section that prefixes the path, on a segment boundary.
    GROUPS
        .iter()
        .flat_map(|(_, sections)| sections.iter())
        .map(|(path, _, _)| *path)
        .filter(|p| !p.is_empty() && (rest == *p || rest.starts_with(&format!("{p}/"))))
        .max_by_key(|p| p.len())
        .unwrap_or("")
}

impl Workspace {
    /// The workspace of the convention the guard read for this request, if its path is one of
    /// the convention's pages.
    pub fn of(auth: &Auth) -> Option<Self> {
        let (id, _, title) = auth.convention()?;
        let prefix = format!("/conventions/{id}");
        let rest = auth.path.strip_prefix(&prefix)?;
        if !(rest.is_empty() || rest.starts_with('/')) || rest.starts_with("/documents/") {
            return None;
        }
        let rest = rest.trim_end_matches('/');
        let section = section_of(rest);
        let exact = section == rest;
        let mut current_label = "Vue d'ensemble";
        let mut current_href = prefix.clone();
        let groups = GROUPS
            .iter()
            .map(|(title, sections)| {
                let links: Vec<NavLink> = sections
                    .iter()
                    .filter(|(_, _, action)| action.is_none_or(|a| auth.may_here(a)))
                    .map(|(path, label, _)| {
                        let href = format!("{prefix}{path}");
                        let current = match (*path == section, exact) {
                            (true, true) => "page",
                            (true, false) => "true",
                            _ => "",
                        };
                        if !current.is_empty() {
                            current_label = label;
                            current_href.clone_from(&href);
                        }
                        NavLink { href, label, current }
                    })
                    .collect();
                let current = links.iter().any(|l| !l.current.is_empty());
                NavGroup { title, links, current }
            })
            .collect();
        Some(Self { id, title: title.to_owned(), groups, current_label, current_href, exact })
    }

    /// The title of the group of the current section.
    pub fn current_group(&self) -> &str {
        self.groups.iter().find(|g| g.current).map_or("", |g| g.title)
    }
}

#[cfg(test)]
mod tests {
    use super::section_of;

    #[test]
    fn pages_below_a_section_belong_to_it() {
        assert_eq!(section_of(""), "");
        assert_eq!(section_of("/plan"), "/plan");
        assert_eq!(section_of("/plan/fiches"), "/plan/fiches");
        assert_eq!(section_of("/plan/fiches/12"), "/plan");
        assert_eq!(section_of("/plan/fiches/12/modifier"), "/plan");
        assert_eq!(section_of("/plan/retards"), "/plan/retards");
        assert_eq!(section_of("/plan/indicateurs/3"), "/plan");
        assert_eq!(section_of("/seances/4"), "/instances");
        assert_eq!(section_of("/instances/2"), "/instances");
        assert_eq!(section_of("/parties/1/modifier"), "");
        assert_eq!(section_of("/equipements/nouveau"), "/equipements");
    }
}
