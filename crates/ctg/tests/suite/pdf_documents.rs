//! The PDF documents of the demo (issue 14), read back as a person's tools read them: `pdfinfo` (title,
//! tagged, PDF/UA metadata and language), `pdftotext` (the figures and names a reader looks for, no
//! masked value, no personal name for the public), `pdftoppm` (every page renders and none is blank).
//! Needs `poppler-utils` (Debian): `./test.sh` leaves this suite out, and says so, without it.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{demo_app, get, get_as, get_bytes, login, people, texts, Who, PASSWORD};
use ctg_domain::governance::{AgendaItem, NewMeeting};
use ctg_domain::plan::{FicheStatus, Means, MeansKind, NewFiche};
use ctg_store::backend_tests;
use ctg_store::testing::TestDb;

/// A PDF as the tools read it.
struct Read {
    info: String,
    meta: String,
    text: String,
    pages: usize,
}

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} introuvable ({e}) : installez le paquet Debian poppler-utils"));
    assert!(out.status.success(), "{program} {args:?} : {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether a binary PGM image (P5, 8 bits) has ink: a pixel darker than light grey.
fn has_ink(pgm: &[u8]) -> bool {
    // The header: « P5 », width, height, max value, each followed by whitespace.
    let mut fields = 0;
    let mut i = 0;
    while fields < 4 && i < pgm.len() {
        while i < pgm.len() && pgm[i].is_ascii_whitespace() {
            i += 1;
        }
        while i < pgm.len() && !pgm[i].is_ascii_whitespace() {
            i += 1;
        }
        fields += 1;
    }
    pgm[i + 1..].iter().any(|&p| p < 160)
}

fn read(bytes: &[u8], dir: &Path, name: &str) -> Read {
    assert!(
        bytes.starts_with(b"%PDF-"),
        "{name}: not a PDF: {}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
    );
    let file = dir.join(format!("{name}.pdf"));
    std::fs::write(&file, bytes).unwrap();
    let f = file.to_str().unwrap();
    let info = run("pdfinfo", &[f]);
    let meta = run("pdfinfo", &["-meta", f]);
    let text = run("pdftotext", &["-layout", f, "-"]).replace(['\u{202f}', '\u{a0}'], " ");
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name}: pdfinfo gives no page count: {info}"));
    // Every page renders, and none is empty.
    let prefix = dir.join(format!("{name}-page"));
    run("pdftoppm", &["-gray", "-r", "24", f, prefix.to_str().unwrap()]);
    let mut rendered: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{name}-page")))
        .collect();
    rendered.sort();
    assert_eq!(rendered.len(), pages, "{name}: pdftoppm renders every page");
    for p in &rendered {
        assert!(has_ink(&std::fs::read(p).unwrap()), "{name}: page {} is blank", p.display());
    }
    Read { info, meta, text, pages }
}

/// What every document carries: its title, tagged, PDF/UA-1 declared, in French, its data's date on
/// every page, the page numbers.
fn common_checks(r: &Read, name: &str, title_starts: &str) {
    let title = r.info.lines().find_map(|l| l.strip_prefix("Title:")).map(str::trim).unwrap_or_default();
    assert!(title.starts_with(title_starts), "{name}: title « {title} »");
    assert!(r.info.contains("Tagged:          yes"), "{name}: {}", r.info);
    assert!(r.info.contains("Page size:       595.276 x 841.89 pts (A4)"), "{name}: {}", r.info);
    assert!(r.meta.contains("pdfuaid:part") || r.meta.contains("<pdfuaid:part>1"), "{name}: PDF/UA-1: {}", r.meta);
    assert!(r.meta.contains("<rdf:li>fr"), "{name}: language: {}", r.meta);
    assert_eq!(r.text.matches("données au 27/11/2026").count(), r.pages, "{name}: the date on every page");
    assert!(r.text.contains(&format!("page {} sur {}", r.pages, r.pages)), "{name}: page numbers");
}

/// A small valid PNG (8 × 4 red pixels), as a party's logo.
pub const RED_PNG: [u8; 75] = [
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 8, 0, 0, 0, 4, 8, 6, 0, 0, 0, 179, 205, 126,
    240, 0, 0, 0, 18, 73, 68, 65, 84, 120, 156, 99, 56, 33, 39, 247, 31, 31, 102, 160, 189, 2, 0, 143, 228, 64, 97, 37,
    105, 229, 125, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
];

pub(crate) fn fiche(code: &str, pilot_person: &str) -> NewFiche {
    NewFiche {
        code: code.into(),
        title: format!("Développer l'accueil {code}"),
        description: "Ouvrir des places d'accueil du jeune enfant.".into(),
        ambitions: vec![1],
        objectives: vec![],
        pilot_organisation: "CABBALR".into(),
        pilot_person: pilot_person.into(),
        partners: vec!["CAF".into()],
        public: "Familles".into(),
        communes: vec![],
        start: Some(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()),
        end: Some(chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()),
        priority: None,
        status: FicheStatus::InProgress,
        approaches: vec![],
        needs: String::new(),
    }
}

backend_tests!(the_documents_of_the_demo_are_tagged_french_pdfs_with_their_figures, |db: &TestDb| {
    let store = db.store.clone();
    async move {
        let (app, id) = demo_app(&store).await;
        let p = people(&store, id).await;
        let who = login(&app, "administrateur", "alice@ctg.fr", PASSWORD).await;
        let actor = ctg_domain::Actor::cli("test");
        // A fiche late since 30 June 2026, piloted by a named person, with the CAF's means.
        let fid = store.create_fiche(&actor, id, fiche("PE-1.1", "Mme Claire Martin")).await.unwrap();
        let means = Means {
            party_id: p.caf_party,
            organisation: String::new(),
            year: 2026,
            fte_hundredths: 50,
            planned_cents: Some(1_200_000),
            spent_cents: None,
            kind: MeansKind::Operating,
            material: String::new(),
        };
        store.set_means(&actor, id, fid, &[means]).await.unwrap();
        // A steering committee on 12 March 2027 with its agenda.
        let body = store.bodies(id).await.unwrap().remove(0);
        let meeting = NewMeeting {
            title: None,
            date: chrono::NaiveDate::from_ymd_opt(2027, 3, 12).unwrap(),
            start: chrono::NaiveTime::from_hms_opt(14, 0, 0).unwrap(),
            end: chrono::NaiveTime::from_hms_opt(16, 0, 0).unwrap(),
            place: Some("Béthune".into()),
            video_link: None,
        };
        let mid = store.create_meeting(&actor, id, body.id, meeting).await.unwrap();
        let agenda = [AgendaItem { title: "Bilan de l'année 2026".into(), links: vec![] }];
        store.set_agenda(&actor, id, mid, 1, &agenda).await.unwrap();

        // The parties' logos (art. 10): the CAF's as a PNG, the intercommunality's as an SVG.
        store.set_party_logo(&actor, id, p.caf_party, "caf.png", &RED_PNG).await.unwrap();
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 20"><rect width="40" height="20" fill="#0b5563"/></svg>"##;
        store.set_party_logo(&actor, id, p.epci_party, "cabbalr.svg", svg.as_bytes()).await.unwrap();

        let dir = tempfile::tempdir().unwrap();
        let parties = ["Béthune-Bruay", "Caisse d'Allocations Familiales du Pas-de-Calais"];
        let fetch = |path: String, who: Who| {
            let app = app.clone();
            async move {
                let (status, bytes) = get_bytes(&app, &path, &who).await;
                assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&bytes[..bytes.len().min(400)]));
                bytes
            }
        };

        // The COPIL pack: the agenda, the late fiche and its pilot, the means (the 2024 bonuses,
        // 449,592.54 €, written the French way), the parties on its cover.
        let pack = read(
            &fetch(format!("/conventions/{id}/seances/{mid}/dossier.pdf"), who.clone()).await,
            dir.path(),
            "dossier",
        );
        common_checks(&pack, "dossier", "Dossier de préparation");
        for expected in
            ["Bilan de l'année 2026", "PE-1.1", "CABBALR (Mme Claire Martin)", "449 592,54 €", "12 000,00 €"]
        {
            assert!(pack.text.contains(expected), "dossier: « {expected} » missing:\n{}", pack.text);
        }
        for party in parties {
            assert!(pack.text.contains(party), "dossier: party « {party} » missing");
        }
        // The PNG logo is an image of the cover (the SVG one is drawn as vector paths).
        let images = run("pdfimages", &["-list", dir.path().join("dossier.pdf").to_str().unwrap()]);
        assert!(
            images
                .lines()
                .skip(2)
                .any(|l| l.split_whitespace().nth(3) == Some("8") && l.split_whitespace().nth(4) == Some("4")),
            "the 8 × 4 logo on the cover: {images}"
        );
        // For the public, the same pack without the pilot's name.
        let public = read(
            &fetch(format!("/conventions/{id}/seances/{mid}/dossier.pdf"), Who::default()).await,
            dir.path(),
            "public",
        );
        assert!(public.text.contains("PE-1.1") && !public.text.contains("Claire Martin"), "{}", public.text);

        // The final bilan (art. 8): the computed figures and the means planned by signatory.
        let bilan = read(&fetch(format!("/conventions/{id}/evaluation.pdf"), who.clone()).await, dir.path(), "bilan");
        common_checks(&bilan, "bilan", "Bilan final");
        assert!(bilan.text.contains("Fiches prévues") && bilan.text.contains("12 000,00 €"), "{}", bilan.text);
        // The concertation of the demo (art. 8: the bilan says what the inhabitants said).
        let events = store.concertation(id).await.unwrap();
        assert!(bilan.text.contains("La concertation"), "{}", bilan.text);
        if let Some(e) = events.first() {
            let words: String = e.data.title.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
            assert!(
                bilan.text.replace('\n', " ").contains(&words),
                "the event « {words} » in the bilan:\n{}",
                bilan.text
            );
        }
        let year = read(
            &fetch(format!("/conventions/{id}/evaluation.pdf?annee=2026"), who.clone()).await,
            dir.path(),
            "bilan-2026",
        );
        common_checks(&year, "bilan-2026", "Bilan de l'année 2026");
        let bad = get_as(&app, &format!("/conventions/{id}/evaluation.pdf?annee=deux"), &who).await;
        assert_eq!(bad.status, 400, "{}", bad.body);

        // The fiche: what a partner needs.
        let f = read(
            &fetch(format!("/conventions/{id}/plan/fiches/{fid}/fiche.pdf"), who.clone()).await,
            dir.path(),
            "fiche",
        );
        common_checks(&f, "fiche", "Fiche PE-1.1");
        for expected in ["Ouvrir des places d'accueil du jeune enfant.", "12 000,00 €", "tout le territoire"] {
            assert!(f.text.contains(expected), "fiche: « {expected} » missing:\n{}", f.text);
        }
        let missing = get_as(&app, &format!("/conventions/{id}/plan/fiches/999999/fiche.pdf"), &who).await;
        assert_eq!(missing.status, 404);

        // The diagnostic, for the public: what the page masks, the PDF masks.
        let page = get(&app, &format!("/conventions/{id}/diagnostic")).await;
        let masked_on_page = page.body.contains("secret statistique");
        let diag =
            read(&fetch(format!("/conventions/{id}/diagnostic.pdf"), Who::default()).await, dir.path(), "diagnostic");
        common_checks(&diag, "diagnostic", "Diagnostic");
        assert_eq!(diag.text.contains("secret statistique"), masked_on_page);
        // The coverage, as the « Couverture » page says it: no relais entered is unknown, not a gap.
        assert!(
            diag.text.contains("Couverture du territoire") && diag.text.contains("Taux de couverture"),
            "{}",
            diag.text
        );
        assert!(diag.text.replace('\n', " ").contains("Non renseigné"), "{}", diag.text);
        // Each theme of the page is a section of the document.
        let themes = texts(&page.html(), "h2[id^=theme]");
        assert!(!themes.is_empty(), "{}", page.body);
        for t in &themes {
            assert!(diag.text.contains(t.as_str()), "diagnostic: theme « {t} » missing:\n{}", diag.text);
        }
        // The same documents from the API, with errors in JSON.
        for path in [
            format!("/api/v1/conventions/{id}/diagnostic.pdf"),
            format!("/api/v1/conventions/{id}/evaluation.pdf?annee=2026"),
            format!("/api/v1/conventions/{id}/fiches/{fid}/fiche.pdf"),
            format!("/api/v1/conventions/{id}/seances/{mid}/dossier.pdf"),
        ] {
            let bytes = fetch(path.clone(), who.clone()).await;
            assert!(bytes.starts_with(b"%PDF-"), "{path}");
        }
        let bad = get_as(&app, &format!("/api/v1/conventions/{id}/evaluation.pdf?annee=deux"), &who).await;
        assert_eq!(bad.status, 400);
        assert!(bad.body.starts_with('{') && bad.body.contains("deux"), "{}", bad.body);

        // The bilan as a workbook, one sheet per table, next to its PDF.
        for format in ["xlsx", "ods"] {
            let bytes = fetch(format!("/conventions/{id}/evaluation?format={format}"), who.clone()).await;
            let sheets = ctg_import::tabular::Table::read_all(&format!("bilan.{format}"), &bytes).unwrap();
            let names: Vec<String> = sheets.iter().filter_map(|s| s.sheet_name().map(str::to_owned)).collect();
            assert_eq!(
                names,
                [
                    "Chiffres du plan",
                    "Moyens par signataire",
                    "Indicateurs",
                    "Bilans qualitatifs",
                    "Chiffres déclarés",
                    "Source"
                ],
                "{format}"
            );
            let means = &sheets[1];
            assert!(
                means.rows.iter().any(|r| r.cells.iter().any(|c| c.starts_with("12000"))),
                "{format}: the CAF's 12 000 € planned, as an amount: {:?}",
                means.rows
            );
        }

        println!("4 documents, {} pages en tout", pack.pages + bilan.pages + year.pages + f.pages + diag.pages);
    }
});
