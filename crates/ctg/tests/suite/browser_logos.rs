//! In a real Chromium: a party's logo (art. 10 of the convention: the parties communicate together,
//! every partner named) is sent from the party's page, refused when it is an SVG with a script, and
//! shown once accepted on the convention page and on the public page; the public page, seen by anyone,
//! names no person. Needs chromedriver and chromium, as the other browser tests.

use crate::browser::{browser, serve, start_chromedriver};
use crate::common;

use ctg_store::testing::TestDb;
use ctg_store::Backend;
use fantoccini::Locator;

#[tokio::test]
async fn browser_a_party_sends_its_logo_seen_on_the_convention_and_public_pages() {
    let (_driver, webdriver_url) = start_chromedriver().await;
    let db = TestDb::new(Backend::Sqlite).await;
    let id = ctg::demo::load(&db.store).await.unwrap().convention_id();
    let people = common::people(&db.store, id).await;
    let (base, server) = serve(&db.store).await;
    let profile = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let evil = files.path().join("logo-piege.svg");
    std::fs::write(
        &evil,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><script>alert(document.cookie)</script><rect width="10" height="10"/></svg>"#,
    )
    .unwrap();
    let good = files.path().join("logo-cabbalr.png");
    std::fs::write(&good, crate::pdf_documents::RED_PNG).unwrap();
    let client = browser(&webdriver_url, profile.path()).await;

    let result = async {
        client.goto(&format!("{base}/connexion")).await?;
        client.find(Locator::Id("email")).await?.send_keys("claire@cabbalr.fr").await?;
        client.find(Locator::Id("password")).await?.send_keys(common::PASSWORD).await?;
        client.find(Locator::Css("form[action='/connexion'] button[type=submit]")).await?.click().await?;
        client.wait().for_element(Locator::Css("form[action='/deconnexion']")).await?;

        let party_page = format!("{base}/conventions/{id}/parties/{}/modifier", people.epci_party);
        client.goto(&party_page).await?;
        client.wait().for_element(Locator::Id("sans-logo")).await?;
        // An SVG with a script is refused, the reason next to the field.
        client.find(Locator::Id("fichier-logo")).await?.send_keys(evil.to_str().unwrap()).await?;
        client.find(Locator::Css("#logo form[enctype] button[type=submit]")).await?.click().await?;
        let error = client.wait().for_element(Locator::Id("erreur-logo")).await?.text().await?;
        assert!(error.contains("« logo-piege.svg » est refusé") && error.contains("script"), "{error}");
        assert!(db.store.party_logo(id, people.epci_party).await.unwrap().is_none());

        // A PNG is accepted, confirmed, and shown.
        client.find(Locator::Id("fichier-logo")).await?.send_keys(good.to_str().unwrap()).await?;
        client.find(Locator::Css("#logo form[enctype] button[type=submit]")).await?.click().await?;
        let notice = client.wait().for_element(Locator::Id("confirmation")).await?.text().await?;
        assert_eq!(notice, "Logo enregistré");

        let loaded = |selector: &'static str| {
            let client = client.clone();
            async move {
                let img = client.wait().for_element(Locator::Css(selector)).await?;
                let width = client
                    .execute(
                        "return arguments[0].complete ? arguments[0].naturalWidth : -1;",
                        vec![serde_json::to_value(&img)?],
                    )
                    .await?;
                Ok::<_, fantoccini::error::CmdError>(width)
            }
        };
        client.goto(&format!("{base}/conventions/{id}")).await?;
        let width = loaded(".party-logos img").await?;
        assert_eq!(width, serde_json::json!(8), "the 8 × 4 logo is drawn on the convention page");

        // The public page, seen by anyone: the logo, the partners, no person named.
        client.find(Locator::Css("form[action='/deconnexion'] button")).await?.click().await?;
        client.wait().for_element(Locator::LinkText("Se connecter")).await?;
        client.goto(&format!("{base}/conventions/{id}/publique")).await?;
        assert_eq!(loaded(".party-logos img").await?, serde_json::json!(8));
        let text = client.find(Locator::Css("main")).await?.text().await?;
        assert!(text.contains("Caisse d'Allocations Familiales du Pas-de-Calais"), "{text}");
        for b in db.store.bodies(id).await.unwrap() {
            for m in &b.members {
                assert!(!text.contains(m.data.name.as_str()), "the public page names « {} »", m.data.name);
            }
        }
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    client.close().await.ok();
    server.abort();
    db.finish().await;
    result.expect("le parcours du logo d'une partie");
}
