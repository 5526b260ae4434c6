//! A registry's keyless CI rules: presets, adding (checked as the admin API checks mappers),
//! trying a pasted token with the token endpoint's check, editing and deleting.

use portcullis_core::keys::Algorithm;
use serde_json::json;

use crate::common::{app, follow_with_flash, master, post_with_csrf_checks};

/// The CI page of the realm's registry for the master admin.
async fn ci_page(browser: &mut portcullis_testkit::Browser<'_>, realm: &str) -> String {
    let list = browser.get(&format!("{realm}/registries")).await;
    let text = list.text();
    let end = text.find("/rules\"").expect("a link to a registry's rules") + "/rules".len();
    let start = text[..end].rfind('"').unwrap() + 1;
    text[start..end].replace("/rules", "/ci")
}

/// An issuer nobody listens on: its keys cannot be fetched.
const ISSUER: &str = "http://127.0.0.1:9/auth/realms/ci";

#[tokio::test]
async fn ci_rules_are_added_from_presets_tried_and_deleted() {
    let app = app().await;
    let (mut browser, realm) = master(&app).await;
    let ci = ci_page(&mut browser, &realm).await;

    let preset = browser.get(&format!("{ci}?preset=github")).await;
    assert_eq!(preset.status.as_u16(), 200, "{}", preset.text());
    let text = preset.text();
    assert!(text.contains("No CI rules"), "an empty state");
    assert!(
        text.contains(r#"value="https://token.actions.githubusercontent.com""#),
        "{text}"
    );
    assert!(
        text.contains(r#"value="registry.shop.test""#),
        "the audience defaults to the service"
    );
    assert!(
        text.contains("job_workflow_ref"),
        "the preset names GitHub's claims"
    );

    let form = preset.form_to("/ci");
    let refused = browser.submit(&form.clone().with("claims", " ")).await;
    assert_eq!(refused.status.as_u16(), 400, "{}", refused.text());
    assert!(refused.text().contains(r#"id="rule-error""#));
    assert!(
        refused
            .text()
            .contains("claims needs at least one condition")
    );

    let good = form
        .with("name", "api main")
        .with("issuer", ISSUER)
        .with("claims", "repository=acme/api, ref=refs/heads/main");
    let saved = post_with_csrf_checks(&mut browser, &good).await;
    let page = follow_with_flash(&mut browser, &saved).await;
    let text = page.text();
    assert!(
        text.contains(&format!(r#"data-issuer="{ISSUER}""#)),
        "{text}"
    );
    assert!(text.contains("repository=acme/api, ref=refs/heads/main"));

    // A token whose issuer cannot be reached: the rules are judged, the signature cannot be.
    let claims = json!({"iss": ISSUER, "aud": "registry.shop.test", "sub": "repo:acme/api",
                        "repository": "acme/api", "ref": "refs/heads/main",
                        "exp": app.now() + 300});
    let token = app.sign("shop", Algorithm::Rs256, &claims).await;
    let try_form = page
        .form_to("/ci/try")
        .with("token", &token)
        .with("username", "ci")
        .with("scope", "repository:acme/api/app:push");
    let tried = browser.submit(&try_form).await;
    assert_eq!(tried.status.as_u16(), 200, "{}", tried.text());
    let text = tried.text();
    assert!(text.contains(r#"data-accepted="false""#), "{text}");
    assert!(
        text.contains("the issuer&#x27;s keys could not be fetched")
            || text.contains("keys could not be fetched"),
        "{text}"
    );
    assert!(text.contains("Hit: api main"), "{text}");
    assert!(!text.contains(&token), "the token is not shown again");

    let other = json!({"iss": ISSUER, "aud": "registry.shop.test", "repository": "evil/api",
                       "ref": "refs/heads/main", "exp": app.now() + 300});
    let other = app.sign("shop", Algorithm::Rs256, &other).await;
    let tried = browser
        .submit(&page.form_to("/ci/try").with("token", &other))
        .await;
    assert!(
        tried
            .text()
            .contains("Miss: api main — claim repository is &quot;evil/api&quot;"),
        "{}",
        tried.text()
    );
    let garbage = browser
        .submit(&page.form_to("/ci/try").with("token", "not-a-token"))
        .await;
    assert_eq!(garbage.status.as_u16(), 400);
    assert!(
        garbage.text().contains("not a signed JWT"),
        "{}",
        garbage.text()
    );

    // Edit in place, then delete.
    let edit_href = {
        let text = page.text();
        let end = text.find("/edit\"").expect("an edit link") + "/edit".len();
        let start = text[..end].rfind('"').unwrap() + 1;
        text[start..end].to_string()
    };
    let edit = browser.get(&edit_href).await;
    assert_eq!(edit.status.as_u16(), 200, "{}", edit.text());
    let edited = browser
        .submit(&edit.form_to("/edit").with("claims", "repository=acme/api"))
        .await;
    let page = follow_with_flash(&mut browser, &edited).await;
    assert!(
        page.text().contains("<code>repository=acme/api</code>"),
        "{}",
        page.text()
    );
    let delete = page
        .forms()
        .into_iter()
        .find(|f| f.action.ends_with("/delete"))
        .unwrap();
    let gone = post_with_csrf_checks(&mut browser, &delete).await;
    let page = follow_with_flash(&mut browser, &gone).await;
    assert!(page.text().contains("No CI rules"));
}
