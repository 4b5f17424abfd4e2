//! The rights matrix, walked whole: every route × every role, allowed and refused, on both databases.
//! `docs/DROITS.md` writes out the same matrix; keep them together.

use crate::common;

use common::{demo_app, get_as, login, people, post_form, put_json, send_json, unpublish, Reply, Who, PASSWORD};
use ctg_store::testing::TestDb;
use ctg_store::{backend_tests, Store};

const ANON: &str = "anonyme";
const READER: &str = "lecteur";
const CONTRIB: &str = "contributeur";
const COORD: &str = "coordination";
const ADMIN: &str = "administrateur";
const TOKEN_RO: &str = "jeton-lecture";

const ALL: &[&str] = &[ANON, READER, CONTRIB, COORD, ADMIN, TOKEN_RO];
const ACCOUNTS: &[&str] = &[READER, CONTRIB, COORD, ADMIN, TOKEN_RO];
const SESSIONS: &[&str] = &[READER, CONTRIB, COORD, ADMIN];

/// The matrix: each route and who may use it. A route not allowed is refused: 401 or a redirection
/// to the login page for the anonymous, 403 for the others.
const MATRIX: &[(&str, &[&str])] = &[
    ("GET /", ALL),
    ("GET /connexion", ALL),
    ("GET /conventions/2", ALL),
    ("GET /conventions/1 (non publiée)", &[ADMIN, TOKEN_RO]),
    ("GET /conventions/2/territoire", ALL),
    ("GET /conventions/2/territoire.csv", ALL),
    ("GET /conventions/2/diagnostic", ALL),
    ("GET /conventions/2/diagnostic.pdf", ALL),
    ("GET /conventions/1/diagnostic (non publiée)", &[ADMIN, TOKEN_RO]),
    ("POST /conventions/2/diagnostic/preremplir", &[COORD, ADMIN]),
    ("GET /conventions/2/sppe", ALL),
    ("GET /conventions/1/sppe (non publiée)", &[ADMIN, TOKEN_RO]),
    ("GET /conventions/2/comparaison", ALL),
    ("GET /conventions/1/comparaison (non publiée)", &[ADMIN, TOKEN_RO]),
    ("GET /conventions/1/territoire (non publiée)", &[ADMIN, TOKEN_RO]),
    ("GET /conventions/1/territoire.csv (non publiée)", &[ADMIN, TOKEN_RO]),
    ("GET /conventions/2/modifier", &[COORD, ADMIN, TOKEN_RO]),
    ("POST /conventions/2/modifier", &[COORD, ADMIN]),
    ("GET /conventions/2/parties/CAF/modifier", &[CONTRIB, COORD, ADMIN, TOKEN_RO]),
    ("POST /conventions/2/parties/CAF/modifier", &[CONTRIB, COORD, ADMIN]),
    ("GET /conventions/2/parties/CAF/logo", ALL),
    ("POST /conventions/2/parties/CAF/logo", &[CONTRIB, COORD, ADMIN]),
    ("POST /conventions/2/parties/CAF/logo/supprimer", &[CONTRIB, COORD, ADMIN]),
    ("POST /conventions/2/convention-suivante", &[COORD, ADMIN]),
    ("GET /conventions/2/publique", ALL),
    ("GET /conventions/2/donnees-ouvertes", ALL),
    ("GET /conventions/2/donnees-ouvertes/plan.csv", ALL),
    ("GET /conventions/2/donnees-ouvertes/datapackage.json", ALL),
    ("POST /conventions/2/plan/indicateurs/1/publication", &[COORD, ADMIN]),
    ("GET /conventions/2/parties/CABBALR/modifier", &[COORD, ADMIN, TOKEN_RO]),
    ("POST /conventions/2/parties/CABBALR/modifier", &[COORD, ADMIN]),
    ("GET /conventions/2/utilisateurs", &[COORD, ADMIN, TOKEN_RO]),
    ("POST /conventions/2/utilisateurs", &[COORD, ADMIN]),
    ("GET /conventions/2/historique", &[COORD, ADMIN, TOKEN_RO]),
    ("GET /conventions/2/accords", &[READER, CONTRIB, COORD, ADMIN, TOKEN_RO]),
    ("POST /conventions/2/accords", &[COORD, ADMIN]),
    ("GET /conventions/2/accords/1/modifier", &[COORD, ADMIN, TOKEN_RO]),
    ("POST /conventions/2/accords/1/modifier", &[COORD, ADMIN]),
    ("GET /conventions/2/equipements", ALL),
    ("GET /conventions/1/equipements (non publiée)", &[ADMIN, TOKEN_RO]),
    ("GET /conventions/2/equipements/1", ALL),
    ("GET /conventions/2/equipements/nouveau", &[CONTRIB, COORD, ADMIN, TOKEN_RO]),
    ("POST /conventions/2/equipements", &[CONTRIB, COORD, ADMIN]),
    ("GET /conventions/2/equipements/1/modifier", &[CONTRIB, COORD, ADMIN, TOKEN_RO]),
    ("POST /conventions/2/equipements/1/modifier", &[CONTRIB, COORD, ADMIN]),
    ("GET /conventions/2/couverture", ALL),
    ("GET /conventions/1/couverture (non publiée)", &[ADMIN, TOKEN_RO]),
    ("GET /conventions/2/financements", ALL),
    ("POST /conventions/2/financements", &[COORD, ADMIN]),
    ("GET /conventions/2/plan", ALL),
    ("GET /conventions/1/plan (non publiée)", &[ADMIN, TOKEN_RO]),
    ("GET /conventions/2/plan/fiches", ALL),
    ("GET /conventions/2/plan/calendrier", ALL),
    ("GET /conventions/2/plan/retards", ALL),
    ("GET /conventions/2/plan/export", ALL),
    ("GET /conventions/2/plan/fiches/1", ALL),
    ("GET /conventions/2/plan/fiches/1/fiche.pdf", ALL),
    ("GET /conventions/2/plan/indicateurs/1", ALL),
    ("GET /conventions/2/plan/fiches/nouvelle", &[COORD, ADMIN, TOKEN_RO]),
    ("POST /conventions/2/plan/fiches", &[COORD, ADMIN]),
    ("GET /conventions/2/plan/fiches/1/modifier (pilote : CAF)", &[CONTRIB, COORD, ADMIN, TOKEN_RO]),
    ("POST /conventions/2/plan/fiches/1/modifier (pilote : CAF)", &[CONTRIB, COORD, ADMIN]),
    ("POST /conventions/2/plan/fiches/2/modifier (pilote : CABBALR)", &[COORD, ADMIN]),
    ("POST /conventions/2/plan/fiches/1/sous-actions", &[CONTRIB, COORD, ADMIN]),
    ("POST /conventions/2/plan/fiches/1/moyens", &[CONTRIB, COORD, ADMIN]),
    ("POST /conventions/2/plan/fiches/1/indicateurs", &[COORD, ADMIN]),
    ("POST /conventions/2/plan/indicateurs/1/valeurs", &[CONTRIB, COORD, ADMIN]),
    ("GET /conventions/2/plan/import", &[COORD, ADMIN, TOKEN_RO]),
    ("GET /conventions/2/evaluation", ALL),
    ("GET /conventions/2/evaluation.pdf", ALL),
    ("GET /conventions/2/strategie", ALL),
    ("GET /conventions/2/vie", ALL),
    ("GET /conventions/1/vie (non publiée)", &[ADMIN, TOKEN_RO]),
    ("GET /conventions/2/textes/convention", ALL),
    ("POST /conventions/2/vie/textes", &[COORD, ADMIN]),
    ("GET /conventions/2/documents/1", &[READER, CONTRIB, COORD, ADMIN, TOKEN_RO]),
    ("POST /conventions/2/plan/fiches/1/documents", &[CONTRIB, COORD, ADMIN]),
    ("POST /conventions/2/strategie/objectifs", &[COORD, ADMIN]),
    ("POST /conventions/2/strategie/enjeux", &[COORD, ADMIN]),
    ("POST /conventions/2/evaluation", &[COORD, ADMIN]),
    ("GET /conventions/2/instances", ALL),
    ("GET /conventions/1/instances (non publiée)", &[ADMIN, TOKEN_RO]),
    ("POST /conventions/2/instances", &[COORD, ADMIN]),
    ("GET /conventions/2/instances/B", ALL),
    ("POST /conventions/2/instances/B", &[COORD, ADMIN]),
    ("GET /conventions/2/instances/B/calendrier.ics", ALL),
    ("POST /conventions/2/instances/B/membres", &[COORD, ADMIN]),
    ("POST /conventions/2/instances/B/membres/M", &[COORD, ADMIN]),
    ("POST /conventions/2/instances/B/seances", &[COORD, ADMIN]),
    ("GET /conventions/2/seances/S", ALL),
    ("GET /conventions/2/seances/S/dossier.pdf", ALL),
    ("GET /conventions/2/seances/S/dossier", ALL),
    ("GET /conventions/2/seances/S/seance.ics", ALL),
    ("POST /conventions/2/seances/S", &[COORD, ADMIN]),
    ("POST /conventions/2/seances/S/ordre-du-jour", &[COORD, ADMIN]),
    ("POST /conventions/2/seances/S/presences", &[COORD, ADMIN]),
    ("POST /conventions/2/seances/S/compte-rendu", &[COORD, ADMIN]),
    ("POST /conventions/2/seances/S/decisions", &[COORD, ADMIN]),
    ("POST /conventions/2/seances/S/documents", &[COORD, ADMIN]),
    ("GET /conventions/2/decisions", ALL),
    ("POST /conventions/2/decisions/D/cloture", &[COORD, ADMIN]),
    ("GET /conventions/2/concertation", ALL),
    ("POST /conventions/2/concertation", &[COORD, ADMIN]),
    ("POST /conventions/2/concertation/contributions", &[COORD, ADMIN]),
    ("POST /conventions/2/concertation/contributions/C", &[COORD, ADMIN]),
    ("GET /conventions/2/cooperation", ALL),
    ("POST /conventions/2/cooperation", &[COORD, ADMIN]),
    ("POST /conventions/2/cooperation/P", &[COORD, ADMIN]),
    ("GET /compte", ACCOUNTS),
    ("GET /tableau-de-bord", ACCOUNTS),
    ("GET /portefeuille", ALL),
    ("POST /compte/mot-de-passe", SESSIONS),
    ("POST /compte/jetons", SESSIONS),
    ("POST /compte/jetons/999/revoquer", SESSIONS),
    ("POST /compte/rappels", SESSIONS),
    ("GET /desabonnement/JETON", ALL),
    ("GET /rgpd/registre", ACCOUNTS),
    ("GET /rgpd/registre.csv", ACCOUNTS),
    ("GET /rgpd/registre/1/modifier", &[ADMIN, TOKEN_RO]),
    ("POST /rgpd/registre/1/modifier", &[ADMIN]),
    ("GET /admin/utilisateurs", &[ADMIN, TOKEN_RO]),
    ("POST /admin/utilisateurs", &[ADMIN]),
    ("POST /admin/utilisateurs/X/desactiver", &[ADMIN]),
    ("GET /admin/utilisateurs/X/export", &[ADMIN, TOKEN_RO]),
    ("POST /admin/utilisateurs/X/effacer", &[ADMIN]),
    ("GET /admin/historique", &[ADMIN, TOKEN_RO]),
    ("GET /api/v1/conventions", ALL),
    ("GET /api/v1/portefeuille", ALL),
    ("GET /api/v1/conventions/2", ALL),
    ("GET /api/v1/conventions/1 (non publiée)", &[ADMIN, TOKEN_RO]),
    ("GET /api/v1/conventions/2/territoire", ALL),
    ("GET /api/v1/conventions/1/territoire (non publiée)", &[ADMIN, TOKEN_RO]),
    ("GET /api/v1/epcis/200072460", ALL),
    ("GET /api/v1/conventions/2/diagnostic", ALL),
    ("GET /api/v1/conventions/2/diagnostic.pdf", ALL),
    ("GET /api/v1/conventions/1/diagnostic (non publiée)", &[ADMIN, TOKEN_RO]),
    ("GET /api/v1/conventions/2/sppe", ALL),
    ("GET /api/v1/conventions/1/sppe (non publiée)", &[ADMIN, TOKEN_RO]),
    ("PUT /api/v1/conventions/2", &[COORD, ADMIN]),
    ("PUT /api/v1/conventions/2/parties/CAF", &[CONTRIB, COORD, ADMIN]),
    ("GET /api/v1/conventions/2/historique", &[COORD, ADMIN, TOKEN_RO]),
    ("GET /api/v1/types-equipement", ALL),
    ("GET /api/v1/conventions/2/equipements", ALL),
    ("GET /api/v1/conventions/1/equipements (non publiée)", &[ADMIN, TOKEN_RO]),
    ("GET /api/v1/conventions/2/equipements/1", ALL),
    ("POST /api/v1/conventions/2/equipements", &[CONTRIB, COORD, ADMIN]),
    ("PUT /api/v1/conventions/2/equipements/1", &[CONTRIB, COORD, ADMIN]),
    ("GET /api/v1/conventions/2/couverture", ALL),
    ("GET /api/v1/conventions/2/financements", ALL),
    ("POST /api/v1/conventions/2/financements", &[COORD, ADMIN]),
    ("GET /api/v1/conventions/2/plan", ALL),
    ("GET /api/v1/conventions/1/plan (non publiée)", &[ADMIN, TOKEN_RO]),
    ("GET /api/v1/conventions/2/plan/fiches/1", ALL),
    ("POST /api/v1/conventions/2/plan/fiches", &[COORD, ADMIN]),
    ("PUT /api/v1/conventions/2/plan/fiches/1 (pilote : CAF)", &[CONTRIB, COORD, ADMIN]),
    ("PUT /api/v1/conventions/2/plan/fiches/2 (pilote : CABBALR)", &[COORD, ADMIN]),
    ("POST /api/v1/conventions/2/plan/fiches/1/sous-actions", &[CONTRIB, COORD, ADMIN]),
    ("PUT /api/v1/conventions/2/plan/fiches/1/moyens", &[CONTRIB, COORD, ADMIN]),
    ("POST /api/v1/conventions/2/plan/indicateurs", &[COORD, ADMIN]),
    ("POST /api/v1/conventions/2/plan/indicateurs/1/valeurs", &[CONTRIB, COORD, ADMIN]),
    ("GET /api/v1/conventions/2/evaluation", ALL),
    ("GET /api/v1/conventions/2/evaluation.pdf", ALL),
    ("GET /api/v1/conventions/2/fiches/1/fiche.pdf", ALL),
    ("GET /api/v1/conventions/2/vie", ALL),
    ("GET /api/v1/conventions/2/textes/convention", ALL),
    ("POST /api/v1/conventions/2/plan/objectifs", &[COORD, ADMIN]),
    ("GET /api/v1/conventions/2/instances", ALL),
    ("GET /api/v1/conventions/1/instances (non publiée)", &[ADMIN, TOKEN_RO]),
    ("POST /api/v1/conventions/2/instances", &[COORD, ADMIN]),
    ("POST /api/v1/conventions/2/instances/B/membres", &[COORD, ADMIN]),
    ("GET /api/v1/conventions/2/instances/B/seances", ALL),
    ("POST /api/v1/conventions/2/instances/B/seances", &[COORD, ADMIN]),
    ("GET /api/v1/conventions/2/seances/S", ALL),
    ("GET /api/v1/conventions/2/seances/S/dossier.pdf", ALL),
    ("PUT /api/v1/conventions/2/seances/S/presences", &[COORD, ADMIN]),
    ("POST /api/v1/conventions/2/seances/S/decisions", &[COORD, ADMIN]),
    ("GET /api/v1/conventions/2/decisions", ALL),
    ("POST /api/v1/conventions/2/decisions/D/cloture", &[COORD, ADMIN]),
    ("GET /api/v1/conventions/2/concertation", ALL),
    ("POST /api/v1/conventions/2/concertation", &[COORD, ADMIN]),
    ("POST /api/v1/conventions/2/concertation/E/contributions", &[COORD, ADMIN]),
    ("GET /api/v1/conventions/2/cooperation", ALL),
    ("POST /api/v1/conventions/2/cooperation", &[COORD, ADMIN]),
    ("GET /api/v1/moi", ACCOUNTS),
    ("GET /api/v1/moi/rappels", ACCOUNTS),
    // A read-only token reads its owner's choices and changes none.
    ("PUT /api/v1/moi/rappels", SESSIONS),
    ("GET /api/v1/openapi.json", ALL),
    ("GET /api/v1/reference", ALL),
    ("GET /healthz", ALL),
];

/// The routes of governance, whose requests [`Ctx::governance`] writes.
fn is_governance(path: &str) -> bool {
    ["/instances", "/seances", "/decisions", "/concertation", "/cooperation"].iter().any(|p| path.contains(p))
}

fn refused(r: &Reply) -> bool {
    let to_login = r.status == 303
        && r.headers.get("location").and_then(|l| l.to_str().ok()).is_some_and(|l| l.starts_with("/connexion"));
    r.status == 401 || r.status == 403 || to_login
}

struct Ctx {
    app: axum::Router,
    store: Store,
    people: common::People,
    gov: Governance,
    counter: std::sync::atomic::AtomicU32,
}

/// The governance objects the routes name: `B` a body, `M` its member, `S` a meeting, `E` a
/// concertation event, `C` a contribution, `P` a coordination post (`D`, a decision, is made afresh
/// for each request that closes one).
struct Governance {
    body: i64,
    member: i64,
    meeting: i64,
    event: i64,
    contribution: i64,
    post: i64,
}

impl Governance {
    async fn set_up(store: &Store) -> Self {
        use ctg_domain::governance::{NewContribution, NewMeeting, NewMember, NewPost};
        let actor = ctg_domain::Actor::cli("test");
        let body = store.bodies(2).await.unwrap()[0].id;
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let time = |s: &str| chrono::NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        let member = NewMember {
            name: "Claire Martin".into(),
            organisation: "CABBALR".into(),
            function: String::new(),
            role: ctg_domain::governance::MemberRole::Chair,
            joined: day("2026-01-01"),
            left: None,
        };
        let member = store.add_member(&actor, 2, body, member).await.unwrap();
        let meeting = NewMeeting {
            title: None,
            date: day("2026-11-12"),
            start: time("14:00"),
            end: time("16:00"),
            place: None,
            video_link: None,
        };
        let meeting = store.create_meeting(&actor, 2, body, meeting).await.unwrap();
        let event = store.concertation(2).await.unwrap()[0].id;
        let contribution = NewContribution {
            text: "Plus de places en crèche".into(),
            author: None,
            theme: None,
            ambitions: vec![],
            fiches: vec![],
        };
        let contribution = store.add_contribution(&actor, 2, event, contribution).await.unwrap();
        let post = NewPost {
            person: Some("Léa Petit".into()),
            employer: "CABBALR".into(),
            fte_hundredths: 80,
            start: day("2026-01-01"),
            end: None,
            funding: "Pilotage de la CTG".into(),
            amount_cents: None,
            funder: None,
        };
        let post = store.create_post(&actor, 2, post).await.unwrap();
        Self { body, member, meeting, event, contribution, post }
    }

    /// The route with its placeholders (`B`, `M`, `S`, `E`, `C`, `P`, `D`) replaced by ids.
    fn fill(&self, path: &str, decision: i64) -> String {
        path.split('/')
            .map(|segment| match segment {
                "B" => self.body.to_string(),
                "M" => self.member.to_string(),
                "S" => self.meeting.to_string(),
                "E" => self.event.to_string(),
                "C" => self.contribution.to_string(),
                "P" => self.post.to_string(),
                "D" => decision.to_string(),
                other => other.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// A fresh open decision of the meeting, for a request that closes one: (id, version).
    async fn decision(&self, store: &Store) -> (i64, i64) {
        let d = ctg_domain::governance::NewDecision {
            text: "Décision à clore".into(),
            fiches: vec![],
            follow_up: "CAF".into(),
            due: None,
        };
        let id = store.add_decision(&ctg_domain::Actor::cli("test"), 2, self.meeting, d).await.unwrap();
        (id, 1)
    }
}

impl Ctx {
    /// Gives the CAF party a logo when it has none, for the routes that read or remove it.
    async fn caf_logo(&self) {
        let party = self.people.caf_party;
        if self.store.party_logo(2, party).await.unwrap().is_none() {
            let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle r="5"/></svg>"#;
            let actor = ctg_domain::Actor::cli("test");
            self.store.set_party_logo(&actor, 2, party, "caf.svg", svg.as_bytes()).await.unwrap();
        }
    }

    fn next(&self) -> u32 {
        self.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// The request of a governance route, with a valid body for each write.
    async fn governance(&self, method: &str, route: &str, who: &Who) -> Reply {
        let app = &self.app;
        let g = &self.gov;
        let n = self.next();
        let needs_decision = route.contains("/D/");
        let (decision, decision_version) = if needs_decision { g.decision(&self.store).await } else { (0, 0) };
        let path = g.fill(route, decision);
        let json = |body: serde_json::Value| {
            let (path, who) = (path.clone(), who.clone());
            async move { send_json(app, method, &path, &who, &body, who.token.is_none()).await }
        };
        let meeting_version = self.store.meeting(2, g.meeting).await.unwrap().version.to_string();
        match (method, route) {
            ("GET", _) => get_as(app, &path, who).await,
            ("POST", "/conventions/2/instances") => {
                let name = format!("Commission n° {n}");
                post_form(app, &path, who, &[("kind", "commission_thematique"), ("name", &name)]).await
            }
            ("POST", "/conventions/2/instances/B") => {
                let b = self.store.body(2, g.body).await.unwrap();
                let v = b.version.to_string();
                post_form(app, &path, who, &[("version", &v), ("kind", b.body.kind.code()), ("name", &b.body.name)])
                    .await
            }
            ("POST", "/conventions/2/instances/B/membres") => {
                let name = format!("Membre n° {n}");
                post_form(app, &path, who, &[("name", &name), ("role", "membre"), ("joined", "2026-01-01")]).await
            }
            ("POST", "/conventions/2/instances/B/membres/M") => {
                let m = self.store.body(2, g.body).await.unwrap().members.into_iter().find(|m| m.id == g.member);
                let v = m.unwrap().version.to_string();
                let fields =
                    [("version", v.as_str()), ("name", "Claire Martin"), ("role", "president"), ("joined", "2026-01-01")];
                post_form(app, &path, who, &fields).await
            }
            ("POST", "/conventions/2/instances/B/seances") => {
                post_form(app, &path, who, &[("date", "2026-12-01"), ("start", "10:00"), ("end", "11:00")]).await
            }
            ("POST", "/conventions/2/seances/S") => {
                let fields = [("version", meeting_version.as_str()), ("date", "2026-11-12"), ("start", "14:00"), ("end", "16:00")];
                post_form(app, &path, who, &fields).await
            }
            ("POST", "/conventions/2/seances/S/ordre-du-jour") => {
                post_form(app, &path, who, &[("version", &meeting_version), ("rows", "1"), ("titre_0", "Bilan de l'année")])
                    .await
            }
            ("POST", "/conventions/2/seances/S/presences") => {
                let field = format!("presence-{}", g.member);
                post_form(app, &path, who, &[("version", &meeting_version), (&field, "present")]).await
            }
            ("POST", "/conventions/2/seances/S/compte-rendu") => {
                let text = format!("Compte rendu n° {n}");
                post_form(app, &path, who, &[("version", &meeting_version), ("minutes", &text)]).await
            }
            ("POST", "/conventions/2/seances/S/decisions") => {
                post_form(app, &path, who, &[("decision_text", "Lancer l'étude"), ("decision_follow_up", "CAF")]).await
            }
            ("POST", "/conventions/2/seances/S/documents") => {
                let text = format!("Convocation n° {n}\n");
                common::post_file(app, &path, who, "convocation.txt", text.as_bytes()).await
            }
            ("POST", "/conventions/2/decisions/D/cloture") => {
                let v = decision_version.to_string();
                post_form(app, &path, who, &[("version", &v), ("closed_on", "2026-11-27")]).await
            }
            ("POST", "/conventions/2/concertation") => {
                let title = format!("Séminaire n° {n}");
                post_form(app, &path, who, &[("kind", "seminaire"), ("title", &title), ("start", "2026-05-01")]).await
            }
            ("POST", "/conventions/2/concertation/contributions") => {
                let event = g.event.to_string();
                let text = format!("Contribution n° {n}");
                post_form(app, &path, who, &[("event", &event), ("contribution_text", &text)]).await
            }
            ("POST", "/conventions/2/concertation/contributions/C") => {
                let c = self.store.concertation(2).await.unwrap().into_iter().flat_map(|e| e.contributions);
                let v = c.into_iter().find(|c| c.id == g.contribution).unwrap().version.to_string();
                post_form(app, &path, who, &[("version", &v), ("ambitions", "1")]).await
            }
            ("POST", "/conventions/2/cooperation") => {
                post_form(app, &path, who, &[("employer", "CAF"), ("fte", "0,5"), ("start", "2026-01-01")]).await
            }
            ("POST", "/conventions/2/cooperation/P") => {
                let p = self.store.coordination_posts(2).await.unwrap().into_iter().find(|p| p.id == g.post).unwrap();
                let v = p.version.to_string();
                let fields = [("version", v.as_str()), ("employer", "CABBALR"), ("fte", "0,8"), ("start", "2026-01-01")];
                post_form(app, &path, who, &fields).await
            }
            ("POST", "/api/v1/conventions/2/instances") => {
                json(serde_json::json!({"nature": "commission_thematique", "nom": format!("Commission API n° {n}")})).await
            }
            ("POST", "/api/v1/conventions/2/instances/B/membres") => {
                json(serde_json::json!({"nom": format!("Membre API n° {n}"), "arrivee": "2026-01-01"})).await
            }
            ("POST", "/api/v1/conventions/2/instances/B/seances") => {
                json(serde_json::json!({"date": "2026-12-02", "debut": "10:00", "fin": "11:00"})).await
            }
            ("PUT", "/api/v1/conventions/2/seances/S/presences") => {
                let v: i64 = meeting_version.parse().unwrap();
                json(serde_json::json!({"version": v, "presences": [{"membre": g.member, "presence": "excuse"}]})).await
            }
            ("POST", "/api/v1/conventions/2/seances/S/decisions") => {
                json(serde_json::json!({"texte": format!("Décision API n° {n}"), "suivi_par": "CAF"})).await
            }
            ("POST", "/api/v1/conventions/2/decisions/D/cloture") => {
                json(serde_json::json!({"version": decision_version, "date": "2026-11-27"})).await
            }
            ("POST", "/api/v1/conventions/2/concertation") => {
                json(serde_json::json!({"nature": "seminaire", "intitule": format!("Séminaire API n° {n}"), "debut": "2026-05-01"}))
                    .await
            }
            ("POST", "/api/v1/conventions/2/concertation/E/contributions") => {
                json(serde_json::json!({"texte": format!("Contribution API n° {n}"), "ambitions": [1]})).await
            }
            ("POST", "/api/v1/conventions/2/cooperation") => {
                json(serde_json::json!({"employeur": "CAF", "etp_centiemes": 50, "debut": "2026-01-01"})).await
            }
            other => panic!("no governance request for {other:?}"),
        }
    }

    async fn throwaway_user(&self) -> i64 {
        let n = self.next();
        let email = format!("jetable{n}@ctg.fr");
        let new = ctg_store::NewUser {
            name: "Jetable",
            email: &email,
            organisation_id: None,
            is_admin: false,
            password: None,
            must_change_password: false,
        };
        self.store.create_user(&ctg_domain::Actor::cli("test"), &new).await.unwrap()
    }

    async fn run(&self, route: &str, who: &Who) -> Reply {
        let app = &self.app;
        let p = &self.people;
        let summary = self.store.convention_summary(2).await.unwrap();
        let version = summary.version.to_string();
        let party_version = |id: i64| {
            let store = self.store.clone();
            async move { store.convention(2).await.unwrap().parties.into_iter().find(|e| e.id == id).unwrap().version }
        };
        let convention_form = [
            ("version", version.as_str()),
            ("title", "Convention Territoriale Globale de Service aux Familles 2026-2030"),
            ("start", "2026-01-01"),
            ("end", "2030-12-31"),
            ("status", "signee"),
            ("signing_place", "Béthune"),
            ("published", "1"),
        ];
        let api_edit = |who: &Who| {
            let body = serde_json::json!({"version": summary.version, "titre": summary.title, "debut": "2026-01-01", "fin": "2030-12-31", "statut": "signee", "lieu_signature": "Béthune", "publiee": true});
            let who = who.clone();
            async move { put_json(app, "/api/v1/conventions/2", &who, &body, who.token.is_none()).await }
        };
        let (method, path) = route.split_once(' ').unwrap();
        let path = path.split(" (").next().unwrap();
        match (method, path) {
            ("GET", "/conventions/2/parties/CAF/modifier") => {
                get_as(app, &format!("/conventions/2/parties/{}/modifier", p.caf_party), who).await
            }
            ("GET", "/conventions/2/parties/CABBALR/modifier") => {
                get_as(app, &format!("/conventions/2/parties/{}/modifier", p.epci_party), who).await
            }
            ("GET", "/conventions/2/parties/CAF/logo") => {
                self.caf_logo().await;
                get_as(app, &format!("/conventions/2/parties/{}/logo", p.caf_party), who).await
            }
            ("POST", "/conventions/2/parties/CAF/logo") => {
                let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>"#;
                common::post_file(
                    app,
                    &format!("/conventions/2/parties/{}/logo", p.caf_party),
                    who,
                    "caf.svg",
                    svg.as_bytes(),
                )
                .await
            }
            ("POST", "/conventions/2/parties/CAF/logo/supprimer") => {
                self.caf_logo().await;
                post_form(app, &format!("/conventions/2/parties/{}/logo/supprimer", p.caf_party), who, &[]).await
            }
            ("POST", "/conventions/2/convention-suivante") => {
                // Each allowed request prepares the successor afresh: the one before is set aside.
                self.store
                    .execute_raw(
                        "UPDATE convention SET predecessor_id = NULL, title = title || ' (essai ' || id || ')' \
                         WHERE predecessor_id = 2",
                    )
                    .await
                    .unwrap();
                post_form(app, path, who, &[]).await
            }
            ("POST", "/conventions/2/plan/indicateurs/1/publication") => {
                post_form(app, path, who, &[("publier", "oui")]).await
            }
            ("POST", "/conventions/2/parties/CAF/modifier") | ("POST", "/conventions/2/parties/CABBALR/modifier") => {
                let id = if path.contains("CAF") { p.caf_party } else { p.epci_party };
                let v = party_version(id).await.to_string();
                post_form(
                    app,
                    &format!("/conventions/2/parties/{id}/modifier"),
                    who,
                    &[("version", &v), ("signatory", "Quelqu'un")],
                )
                .await
            }
            ("POST", "/conventions/2/modifier") => post_form(app, path, who, &convention_form).await,
            ("POST", "/conventions/2/utilisateurs") => {
                post_form(app, path, who, &[("email", "louis@ctg.fr"), ("role", "lecteur")]).await
            }
            ("POST", "/conventions/2/accords") | ("POST", "/conventions/2/accords/1/modifier") => {
                let a = self.store.agreements(2).await.unwrap().remove(0);
                let v = a.version.to_string();
                let (first, second) = (format!("partie_{}", a.party_ids[0]), format!("partie_{}", a.party_ids[1]));
                let proposer = a.party_ids[0].to_string();
                post_form(
                    app,
                    path,
                    who,
                    &[
                        ("version", &v),
                        ("title", "Accord"),
                        (&first, "on"),
                        (&second, "on"),
                        ("proposer", &proposer),
                        ("proposed_on", "2026-01-05"),
                        ("proposed_by", "Jeanne Martin"),
                        ("data_categories", "Effectifs"),
                        ("purpose", "Diagnostic"),
                        ("legal_basis", "Mission d'intérêt public"),
                        ("status", "propose"),
                    ],
                )
                .await
            }
            ("POST", "/compte/mot-de-passe") => {
                post_form(app, path, who, &[("current", "faux"), ("new_password", "x"), ("confirm", "x")]).await
            }
            ("POST", "/compte/jetons") => post_form(app, path, who, &[("name", "essai")]).await,
            ("POST", "/compte/rappels") => {
                let fields: Vec<(&str, &str)> =
                    ctg_domain::reminders::ReminderKind::ALL.iter().map(|k| (k.code(), "hebdomadaire")).collect();
                post_form(app, path, who, &fields).await
            }
            ("GET", "/desabonnement/JETON") => {
                // A link of a mail to the reader: no login needed to follow it.
                let n = self.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let secret = format!("lien-de-desabonnement-{n}");
                let mail = ctg_store::NewMail {
                    dedup_key: format!("droits:{n}"),
                    user_id: Some(p.reader_id),
                    recipient: "louis@ctg.fr".into(),
                    kind: "seance".into(),
                    subject: "Séance".into(),
                    body_text: String::new(),
                    body_html: String::new(),
                    attachment: None,
                };
                assert!(self.store.enqueue_mail(&mail, Some(&secret), chrono::Utc::now()).await.unwrap());
                get_as(app, &format!("/desabonnement/{secret}"), who).await
            }
            ("POST", "/rgpd/registre/1/modifier") => {
                let a = self.store.processing_activities().await.unwrap().remove(0);
                let v = a.version.to_string();
                let mut fields: Vec<(&str, &str)> = a.fields().iter().map(|(k, _, v)| (*k, *v)).collect();
                fields.push(("version", &v));
                post_form(app, path, who, &fields).await
            }
            ("POST", "/admin/utilisateurs") => {
                let email = format!("nouveau{}@ctg.fr", self.next());
                post_form(app, path, who, &[("name", "Nouveau Compte"), ("email", &email)]).await
            }
            ("POST", "/admin/utilisateurs/X/desactiver") | ("POST", "/admin/utilisateurs/X/effacer") => {
                let id = self.throwaway_user().await;
                post_form(app, &path.replace('X', &id.to_string()), who, &[("confirmation", "EFFACER")]).await
            }
            ("GET", "/admin/utilisateurs/X/export") => {
                get_as(app, &path.replace('X', &p.reader_id.to_string()), who).await
            }
            ("PUT", "/api/v1/conventions/2") => api_edit(who).await,
            ("PUT", "/api/v1/conventions/2/parties/CAF") => {
                let v = party_version(p.caf_party).await;
                let body = serde_json::json!({"version": v, "signataire": "Jean-Jacques Pion", "qualite": "Directeur", "deliberation": null, "deliberation_date": null, "signature_date": null});
                put_json(
                    app,
                    &format!("/api/v1/conventions/2/parties/{}", p.caf_party),
                    who,
                    &body,
                    who.token.is_none(),
                )
                .await
            }
            ("POST", "/conventions/2/equipements") | ("POST", "/conventions/2/equipements/1/modifier") => {
                let v = self.store.facility(1).await.unwrap().version.to_string();
                let name = format!("Relais petite enfance n° {}", self.next());
                post_form(
                    app,
                    path,
                    who,
                    &[
                        ("version", &v),
                        ("type_code", "rpe"),
                        ("name", &name),
                        ("commune", "62119"),
                        ("served", "Annezin"),
                        ("status", "ouvert"),
                    ],
                )
                .await
            }
            ("POST", "/conventions/2/financements") => {
                let fields = [("dispositif", "psu"), ("funder", "CAF"), ("year", "2026"), ("amount", "1 000,50")];
                post_form(app, path, who, &fields).await
            }
            ("POST", "/api/v1/conventions/2/equipements") | ("PUT", "/api/v1/conventions/2/equipements/1") => {
                let v = self.store.facility(1).await.unwrap().version;
                let body = serde_json::json!({"version": v, "type": "evs", "nom": format!("EVS n° {}", self.next()), "commune": "62516"});
                send_json(app, method, path, who, &body, who.token.is_none()).await
            }
            ("POST", "/api/v1/conventions/2/financements") => {
                let body = serde_json::json!({"dispositif": "bonus_territoire", "financeur": "CAF", "annee": 2026, "montant_centimes": 150_000});
                send_json(app, method, path, who, &body, who.token.is_none()).await
            }
            ("POST", "/conventions/2/plan/fiches") => {
                let code = format!("T-{}", self.next());
                post_form(app, path, who, &[("code", &code), ("title", "Fiche de test"), ("status", "a_venir")]).await
            }
            ("POST", "/conventions/2/plan/fiches/1/modifier") | ("POST", "/conventions/2/plan/fiches/2/modifier") => {
                let fid: i64 = if path.contains("/1/") { 1 } else { 2 };
                let f = self.store.fiche(2, fid).await.unwrap();
                let v = f.version.to_string();
                let (code, title, pilot) =
                    (f.fiche.code.clone(), f.fiche.title.clone(), f.fiche.pilot_organisation.clone());
                post_form(
                    app,
                    path,
                    who,
                    &[
                        ("version", &v),
                        ("code", &code),
                        ("title", &title),
                        ("pilot_organisation", &pilot),
                        ("status", "a_venir"),
                    ],
                )
                .await
            }
            ("POST", "/conventions/2/strategie/objectifs") => {
                let code = format!("1.{}", self.next());
                post_form(app, path, who, &[("ambition", "1"), ("code", &code), ("title", "Objectif de test")]).await
            }
            ("POST", "/conventions/2/plan/fiches/1/documents") => {
                let text = format!("Compte rendu n° {}\n", self.next());
                common::post_file(app, path, who, "cr.txt", text.as_bytes()).await
            }
            ("POST", "/conventions/2/vie/textes") => {
                let key = format!("annexe-{}", 1 + self.next() % 90);
                post_form(app, path, who, &[("key", &key), ("content", "Annexe\n")]).await
            }
            ("POST", "/conventions/2/strategie/enjeux") => {
                let number = (10 + self.next() % 80).to_string();
                post_form(app, path, who, &[("number", &number), ("title", "Enjeu de test")]).await
            }
            ("POST", "/api/v1/conventions/2/plan/objectifs") => {
                let body = serde_json::json!({"ambition": 2, "code": format!("2.{}", self.next()), "intitule": "Objectif par l'API"});
                send_json(app, method, path, who, &body, who.token.is_none()).await
            }
            ("POST", "/conventions/2/plan/fiches/1/sous-actions") => {
                post_form(app, path, who, &[("sub_title", "Étape"), ("sub_status", "en_cours")]).await
            }
            ("POST", "/conventions/2/plan/fiches/1/moyens") => {
                let caf = self.store.party_refs(2).await.unwrap().into_iter().find(|p| p.label() == "CAF").unwrap().id;
                let caf = caf.to_string();
                post_form(
                    app,
                    path,
                    who,
                    &[("rows", "1"), ("partie_0", &caf), ("annee_0", "2026"), ("etp_0", "0,5"), ("prevu_0", "1 000")],
                )
                .await
            }
            ("POST", "/conventions/2/plan/fiches/1/indicateurs") => {
                let name = format!("Indicateur n° {}", self.next());
                post_form(app, path, who, &[("name", &name), ("nature", "quantitatif"), ("targets", "2026 : 10")]).await
            }
            ("POST", "/conventions/2/plan/indicateurs/1/valeurs") => {
                post_form(app, path, who, &[("period", "2026"), ("value", "4"), ("date", "2026-06-01")]).await
            }
            ("POST", "/conventions/2/evaluation") => {
                let v = self
                    .store
                    .reviews(2)
                    .await
                    .unwrap()
                    .into_iter()
                    .find(|r| r.review.scope == ctg_store::ReviewScope::Ambition(1) && r.review.year.is_none())
                    .map(|r| r.version.to_string())
                    .unwrap_or_default();
                post_form(
                    app,
                    path,
                    who,
                    &[("version", &v), ("kind", "ambition"), ("key", "1"), ("done", "Des choses")],
                )
                .await
            }
            ("POST", "/api/v1/conventions/2/plan/fiches") => {
                let body = serde_json::json!({"code": format!("A-{}", self.next()), "intitule": "Fiche par l'API"});
                send_json(app, method, path, who, &body, who.token.is_none()).await
            }
            ("PUT", "/api/v1/conventions/2/plan/fiches/1") | ("PUT", "/api/v1/conventions/2/plan/fiches/2") => {
                let fid: i64 = if path.ends_with("/1") { 1 } else { 2 };
                let f = self.store.fiche(2, fid).await.unwrap();
                let body = serde_json::json!({"version": f.version, "code": f.fiche.code, "intitule": f.fiche.title, "pilote_organisation": f.fiche.pilot_organisation});
                send_json(app, method, path, who, &body, who.token.is_none()).await
            }
            ("POST", "/api/v1/conventions/2/plan/fiches/1/sous-actions") => {
                let body = serde_json::json!({"intitule": "Étape par l'API"});
                send_json(app, method, path, who, &body, who.token.is_none()).await
            }
            ("PUT", "/api/v1/conventions/2/plan/fiches/1/moyens") => {
                let body = serde_json::json!([{"organisation": "CAF", "annee": 2027, "etp_centiemes": 20, "prevu_centimes": 500_000, "depense_centimes": null, "nature": "fonctionnement"}]);
                send_json(app, method, path, who, &body, who.token.is_none()).await
            }
            ("POST", "/api/v1/conventions/2/plan/indicateurs") => {
                let body = serde_json::json!({"fiche": 1, "definition": {"name": format!("Indicateur API {}", self.next()), "kind": {"nature": "quantitative", "unit": "places", "baseline": null, "baseline_year": null, "direction": "increase"}, "targets": {"2026": 5.0}}});
                send_json(app, method, path, who, &body, who.token.is_none()).await
            }
            ("POST", "/api/v1/conventions/2/plan/indicateurs/1/valeurs") => {
                let body = serde_json::json!({"periode": "2026", "valeur": 3.0});
                send_json(app, method, path, who, &body, who.token.is_none()).await
            }
            ("PUT", "/api/v1/moi/rappels") => {
                let body: serde_json::Map<String, serde_json::Value> = ctg_domain::reminders::ReminderKind::ALL
                    .iter()
                    .map(|k| (k.code().to_owned(), serde_json::Value::from("hebdomadaire")))
                    .collect();
                send_json(app, method, path, who, &serde_json::Value::Object(body), who.token.is_none()).await
            }
            _ if is_governance(path) => self.governance(method, path, who).await,
            ("POST", _) => post_form(app, path, who, &[]).await,
            ("GET", _) => get_as(app, path, who).await,
            other => panic!("no request for {other:?}"),
        }
    }
}

backend_tests!(the_rights_matrix_walked_whole, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        assert_eq!(id, 2);
        let people = people(&store, 2).await;
        // The CTG 2021-2025 is not published; nobody has a role in it.
        unpublish(&store, 1).await;
        let parties: Vec<i64> = store.convention(2).await.unwrap().parties.iter().map(|p| p.id).collect();
        let agreement = ctg_store::AgreementEdit {
            title: "Accord".into(),
            party_ids: parties[..2].to_vec(),
            proposer_party_id: parties[0],
            data_categories: "Effectifs".into(),
            purpose: "Diagnostic".into(),
            legal_basis: "Mission d'intérêt public".into(),
            start_date: None,
            end_date: None,
        };
        let on = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        store.create_agreement(&ctg_domain::Actor::cli("test"), 2, &agreement, on, "Jeanne Martin").await.unwrap();
        // Two fiches: 1 piloted by the CAF (the contributor's organisation), 2 by the CABBALR; an
        // indicator on the first.
        for (code, pilot) in [("PE-1", "CAF"), ("PE-2", "CABBALR")] {
            let fiche = ctg_domain::plan::NewFiche {
                code: code.into(),
                title: format!("Fiche {code}"),
                description: String::new(),
                ambitions: vec![1],
                objectives: vec![],
                pilot_organisation: pilot.into(),
                pilot_person: String::new(),
                partners: vec![],
                public: String::new(),
                communes: vec![],
                start: None,
                end: None,
                priority: None,
                status: ctg_domain::plan::FicheStatus::Upcoming,
                approaches: vec![],
                needs: String::new(),
            };
            store.create_fiche(&ctg_domain::Actor::cli("test"), 2, fiche).await.unwrap();
        }
        let indicator = ctg_domain::plan::PlanIndicator {
            name: "Places créées".into(),
            kind: ctg_domain::plan::IndicatorKind::Quantitative {
                unit: "places".into(),
                baseline: None,
                baseline_year: None,
                direction: ctg_domain::plan::Direction::Increase,
            },
            targets: [(2026, ctg_domain::plan::Target::Number(10.0))].into(),
        };
        store.create_indicator(&ctg_domain::Actor::cli("test"), 2, Some(1), &indicator).await.unwrap();
        store.set_initial_text(&ctg_domain::Actor::cli("test"), 2, "convention", "Article 1\n").await.unwrap();
        store
            .add_document(
                &ctg_domain::Actor::cli("test"),
                2,
                ctg_domain::documents::Owner::Fiche(1),
                "cr.pdf",
                b"%PDF-1.4\n%%EOF\n",
            )
            .await
            .unwrap();
        let (_, read_only) =
            store.create_token(&ctg_domain::Actor::cli("test"), people.admin_id, "lecture", false).await.unwrap();

        let whos = vec![
            Who { label: ANON, ..Who::default() },
            login(&app, READER, "louis@ctg.fr", PASSWORD).await,
            login(&app, CONTRIB, "camille@caf.fr", PASSWORD).await,
            login(&app, COORD, "claire@cabbalr.fr", PASSWORD).await,
            login(&app, ADMIN, "alice@ctg.fr", PASSWORD).await,
            Who { label: TOKEN_RO, token: Some(read_only), ..Who::default() },
        ];
        let gov = Governance::set_up(&store).await;
        let ctx = Ctx { app, store: store.clone(), people, gov, counter: Default::default() };
        let mut failures = Vec::new();
        for (route, allowed) in MATRIX {
            for who in &whos {
                let r = ctx.run(route, who).await;
                let expected = allowed.contains(&who.label);
                if r.status.is_server_error() {
                    failures.push(format!("{route} as {}: {} {}", who.label, r.status, r.body));
                } else if expected
                    && !refused(&r)
                    && r.status.is_client_error()
                    && !route.contains("mot-de-passe")
                    && !route.contains("revoquer")
                    // The demonstration is signed by all: a direct change of its text is refused by
                    // art. 12 after the right was granted (the rule, not the right, says no).
                    && !r.body.contains("rédigez un avenant")
                {
                    failures.push(format!(
                        "{route} as {}: allowed but the request itself failed ({}): {}",
                        who.label,
                        r.status,
                        r.body.chars().take(300).collect::<String>()
                    ));
                } else if expected && refused(&r) {
                    failures.push(format!(
                        "{route} as {}: refused ({}) but should be allowed: {}",
                        who.label,
                        r.status,
                        r.body.chars().take(300).collect::<String>()
                    ));
                } else if !expected && !refused(&r) {
                    failures.push(format!("{route} as {}: allowed ({}) but should be refused", who.label, r.status));
                }
            }
        }
        assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    }
});
