//! Robots on the group page and on their own pages (create with the secret shown once, rotate
//! with a grace period, disable, revoke, delete), the same pages for a group member holding
//! `manage-robots` (and nothing else of the console), and a user's App passwords tab.

use portcullis_testkit::{Reply, TestApp, basic, bearer};
use serde_json::{Value, json};

use crate::common::{
    ADMIN_PASSWORD, PASSWORD, follow_with_flash, post_with_csrf_checks, signed_in,
};

const TOKEN: &str = "/auth/realms/shop/protocol/docker-v2/auth?service=registry.shop.test";

async fn app() -> TestApp {
    let user = |name: &str, roles: &[&str], groups: &[&str]| {
        json!({"username": name, "enabled": true, "realmRoles": roles, "groups": groups,
               "credentials": [{"type": "password", "value": PASSWORD}]})
    };
    TestApp::builder()
        .master_admin("admin", ADMIN_PASSWORD)
        .realm(json!({
            "realm": "shop",
            "enabled": true,
            "roles": {"realm": [{"name": "manage-robots"}]},
            "groups": [{"name": "team-a", "subGroups": [{"name": "backend"}]}, {"name": "team-b"}],
            "users": [
                user("lead", &["manage-robots"], &["/team-a/backend"]),
                user("bob", &[], &["/team-a"]),
                user("alice", &[], &["/team-a"]),
            ],
            "clients": [{
                "clientId": "registry.shop.test",
                "protocol": "docker-v2",
                "protocolMappers": [{
                    "name": "team-a pushes",
                    "protocol": "docker-v2",
                    "protocolMapper": "docker-v2-repository-access-mapper",
                    "config": {"repository": "team-a/**", "actions": "push", "group": "/team-a"}
                }]
            }]
        }))
        .build()
        .await
}

async fn admin_get(app: &TestApp, path: &str) -> Value {
    let token = app.admin_token().await;
    let reply = app
        .get(
            &format!("/auth/admin/realms/shop/{path}"),
            Some(&bearer(&token)),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text());
    reply.json()
}

async fn group_id(app: &TestApp, path: &str) -> String {
    admin_get(app, &format!("group-by-path/{path}")).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The value of the read-only input `id` on a page.
fn input_value(page: &Reply, id: &str) -> String {
    let text = page.text();
    let at = text
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no #{id} in {text}"));
    let rest = &text[at..];
    let value = rest.find(r#"value=""#).unwrap() + 7;
    rest[value..value + rest[value..].find('"').unwrap()].to_string()
}

async fn docker_status(app: &TestApp, user: &str, secret: &str) -> u16 {
    app.get(
        &format!("{TOKEN}&scope=repository:team-a/app:push"),
        Some(&basic(user, secret)),
    )
    .await
    .status
    .as_u16()
}

#[tokio::test]
async fn an_admin_creates_rotates_disables_and_revokes_a_robot_from_the_group_page() {
    let app = app().await;
    let team_a = group_id(&app, "team-a").await;
    let (mut browser, base) = signed_in(&app, "master", "admin", ADMIN_PASSWORD).await;
    let realm = format!("{base}/realms/shop");
    let group = browser.get(&format!("{realm}/groups/{team_a}")).await;
    assert_eq!(group.status.as_u16(), 200, "{}", group.text());
    assert!(
        group.text().contains(r#"id="robots-title""#),
        "{}",
        group.text()
    );
    assert!(group.text().contains("/team-a has no robots."));

    // A bad name is refused beside its field, with what was typed kept.
    let create = group
        .form_to(&format!("/groups/{team_a}/robots"))
        .without("actions")
        .with("actions", "push")
        .with("repositories", "team-a/**")
        .with("registry", "registry.shop.test")
        .with("expires_days", "30");
    let refused = browser
        .submit(&create.clone().with("name", "Bad Name"))
        .await;
    assert_eq!(refused.status.as_u16(), 400);
    let text = refused.text();
    assert!(text.contains(r#"id="robot-name-error""#), "{text}");
    assert!(text.contains(r#"aria-invalid="true""#));
    assert!(text.contains(r#"value="Bad Name""#));
    let refused = browser
        .submit(
            &create
                .clone()
                .with("name", "ci")
                .with("expires_days", "400"),
        )
        .await;
    assert_eq!(refused.status.as_u16(), 400);
    assert!(
        refused.text().contains(r#"id="robot-expires-error""#),
        "{}",
        refused.text()
    );
    let refused = browser
        .submit(
            &create
                .clone()
                .with("name", "ci")
                .with("cidrs", "10.0.0.0/99"),
        )
        .await;
    assert_eq!(refused.status.as_u16(), 400);
    assert!(
        refused.text().contains(r#"id="robot-cidrs-error""#),
        "{}",
        refused.text()
    );

    // Created: the secret once, with a docker login line.
    let made = post_with_csrf_checks(&mut browser, &create.clone().with("name", "ci")).await;
    assert_eq!(made.status.as_u16(), 200, "{}", made.text());
    let secret = input_value(&made, "secret-value");
    assert!(secret.starts_with("pcr_"), "{secret}");
    assert_eq!(input_value(&made, "secret-username"), "robot.ci");
    assert!(made.text().contains(&format!(
        "printf &#x27;%s&#x27; &#x27;{secret}&#x27; | docker login --username &#x27;robot.ci&#x27; --password-stdin registry.shop.test"
    )), "{}", made.text());
    assert_eq!(docker_status(&app, "robot.ci", &secret).await, 200);

    // Listed on the group page: state, last use; never the secret.
    let group = browser.get(&format!("{realm}/groups/{team_a}")).await;
    let text = group.text();
    assert!(
        text.contains(r#"data-robot="ci" data-status="active""#),
        "{text}"
    );
    assert!(text.contains("push on team-a/** at registry.shop.test"));
    assert!(!text.contains(&secret));
    assert!(!text.contains(">never<"), "its use is shown: {text}");

    // Rotate with a grace: the new secret once, both work, the overlap is shown.
    let robots_page = browser
        .get(&format!("{realm}/groups/{team_a}/robots"))
        .await;
    assert_eq!(robots_page.status.as_u16(), 200);
    let robot_id = admin_get(&app, &format!("groups/{team_a}/robots")).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let rotate_page = browser
        .get(&format!("{realm}/groups/{team_a}/robots/{robot_id}/rotate"))
        .await;
    assert_eq!(rotate_page.status.as_u16(), 200, "{}", rotate_page.text());
    let rotate = rotate_page.form_to("/rotate");
    let refused = browser.submit(&rotate.clone().with("grace", "-5")).await;
    assert_eq!(refused.status.as_u16(), 400);
    assert!(refused.text().contains(r#"id="grace-error""#));
    let rotated = post_with_csrf_checks(&mut browser, &rotate.with("grace", "600")).await;
    assert_eq!(rotated.status.as_u16(), 200, "{}", rotated.text());
    let second = input_value(&rotated, "secret-value");
    assert_ne!(second, secret);
    assert_eq!(docker_status(&app, "robot.ci", &secret).await, 200);
    assert_eq!(docker_status(&app, "robot.ci", &second).await, 200);
    let listed = browser
        .get(&format!("{realm}/groups/{team_a}/robots"))
        .await;
    assert!(
        listed.text().contains("1 older secret working until"),
        "{}",
        listed.text()
    );

    // Disable from the group page: refused; the flash says so; enable again.
    let group = browser.get(&format!("{realm}/groups/{team_a}")).await;
    let disable = group.form_to(&format!("/robots/{robot_id}/enabled"));
    assert_eq!(disable.field("enabled"), Some("false"));
    assert_eq!(disable.field("from"), Some("group"));
    let done = post_with_csrf_checks(&mut browser, &disable).await;
    let group = follow_with_flash(&mut browser, &done).await;
    assert!(group.text().contains(r#"data-status="disabled""#));
    assert_eq!(docker_status(&app, "robot.ci", &second).await, 401);
    let enable = group.form_to(&format!("/robots/{robot_id}/enabled"));
    let enabled = browser.submit(&enable).await;
    follow_with_flash(&mut browser, &enabled).await;
    assert_eq!(docker_status(&app, "robot.ci", &second).await, 200);

    // Revoke: a confirmation first, then refused at once; listed as revoked, deletable.
    let confirm = browser
        .get(&format!("{realm}/groups/{team_a}/robots/{robot_id}/revoke"))
        .await;
    assert_eq!(confirm.status.as_u16(), 200);
    assert!(confirm.text().contains("Revoke robot.ci?"));
    let revoked = post_with_csrf_checks(&mut browser, &confirm.form_to("/revoke")).await;
    let page = follow_with_flash(&mut browser, &revoked).await;
    assert!(
        page.text().contains(r#"data-status="revoked""#),
        "{}",
        page.text()
    );
    assert_eq!(docker_status(&app, "robot.ci", &second).await, 401);
    let confirm = browser
        .get(&format!("{realm}/groups/{team_a}/robots/{robot_id}/delete"))
        .await;
    let deleted = browser.submit(&confirm.form_to("/delete")).await;
    let page = follow_with_flash(&mut browser, &deleted).await;
    assert!(page.text().contains("/team-a has no robots."));

    // The realm's robots page lists every robot, with links to their group.
    let page = browser.get(&format!("{realm}/robots")).await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(page.text().contains("No robots yet."));
}

#[tokio::test]
async fn a_group_member_with_manage_robots_manages_their_groups_robots_only() {
    let app = app().await;
    let (team_a, backend, team_b) = (
        group_id(&app, "team-a").await,
        group_id(&app, "team-a/backend").await,
        group_id(&app, "team-b").await,
    );
    let (mut lead, base) = signed_in(&app, "shop", "lead", PASSWORD).await;
    let realm = format!("{base}/realms/shop");
    let robots = lead.get(&format!("{realm}/robots")).await;
    assert_eq!(robots.status.as_u16(), 200, "{}", robots.text());
    assert!(
        robots.text().contains(&format!(r#"href="{realm}/robots""#)),
        "a Robots entry in the navigation"
    );
    for (group, allowed) in [(&team_a, true), (&backend, true), (&team_b, false)] {
        let page = lead.get(&format!("{realm}/groups/{group}/robots")).await;
        assert_eq!(
            page.status.as_u16(),
            if allowed { 200 } else { 403 },
            "{group}"
        );
    }
    let page = lead.get(&format!("{realm}/groups/{backend}/robots")).await;
    let made = lead
        .submit(
            &page
                .form_to(&format!("/groups/{backend}/robots"))
                .with("name", "backend-ci")
                .with("expires_days", "7")
                .without("actions"),
        )
        .await;
    assert_eq!(made.status.as_u16(), 200, "{}", made.text());
    let secret = input_value(&made, "secret-value");
    assert_eq!(docker_status(&app, "robot.backend-ci", &secret).await, 200);
    let listed = lead.get(&format!("{realm}/robots")).await;
    assert!(listed.text().contains(r#"data-robot="backend-ci""#));
    // Nothing else of the console: the group page itself, users, forms to other groups.
    for path in [
        format!("{realm}/groups/{team_a}"),
        format!("{realm}/users"),
        format!("{realm}/groups"),
    ] {
        assert_eq!(lead.get(&path).await.status.as_u16(), 403, "{path}");
    }
    let forged = page
        .form_to(&format!("/groups/{backend}/robots"))
        .with("name", "sneaky")
        .with("expires_days", "7");
    let mut forged = forged;
    forged.action = forged.action.replace(&backend, &team_b);
    assert_eq!(lead.submit(&forged).await.status.as_u16(), 403);

    // A member without the role: no robots at all.
    let (mut bob, _) = signed_in(&app, "shop", "bob", PASSWORD).await;
    assert_eq!(
        bob.get(&format!("{realm}/robots")).await.status.as_u16(),
        403
    );
    assert_eq!(
        bob.get(&format!("{realm}/groups/{team_a}/robots"))
            .await
            .status
            .as_u16(),
        403
    );
}

#[tokio::test]
async fn an_admin_creates_lists_and_revokes_a_users_app_passwords() {
    let app = app().await;
    let alice = admin_get(&app, "users?username=alice&exact=true").await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (mut browser, base) = signed_in(&app, "master", "admin", ADMIN_PASSWORD).await;
    let tab = format!("{base}/realms/shop/users/{alice}/app-passwords");
    let page = browser.get(&tab).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.text());
    assert!(page.text().contains("alice has no app passwords."));
    assert!(page.text().contains(r#"aria-current="page">App passwords"#));
    let create = page
        .form_to("/app-passwords")
        .without("actions")
        .with("actions", "push")
        .with("repositories", "team-a/**")
        .with("expires_days", "30");
    let refused = browser
        .submit(
            &create
                .clone()
                .with("name", "laptop")
                .with("registry", "nope"),
        )
        .await;
    assert_eq!(refused.status.as_u16(), 400);
    assert!(
        refused.text().contains(r#"id="ap-registry-error""#),
        "{}",
        refused.text()
    );
    let refused = browser
        .submit(
            &create
                .clone()
                .with("name", "laptop")
                .with("expires_days", "0"),
        )
        .await;
    assert_eq!(refused.status.as_u16(), 400);
    assert!(refused.text().contains(r#"id="ap-expires-error""#));
    let made = post_with_csrf_checks(&mut browser, &create.with("name", "laptop")).await;
    assert_eq!(made.status.as_u16(), 200, "{}", made.text());
    let secret = input_value(&made, "secret-value");
    assert!(secret.starts_with("pcp_"));
    assert_eq!(docker_status(&app, "alice", &secret).await, 200);

    let page = browser.get(&tab).await;
    let text = page.text();
    assert!(
        text.contains(r#"data-app-password="laptop" data-status="active""#),
        "{text}"
    );
    assert!(!text.contains(&secret));
    let revoke_href = format!("{tab}/");
    assert!(text.contains(&revoke_href));
    let id = admin_get(&app, &format!("users/{alice}/app-passwords")).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let confirm = browser.get(&format!("{tab}/{id}/revoke")).await;
    assert_eq!(confirm.status.as_u16(), 200);
    assert!(confirm.text().contains("Revoke app password laptop?"));
    let revoked = post_with_csrf_checks(&mut browser, &confirm.form_to("/revoke")).await;
    let page = follow_with_flash(&mut browser, &revoked).await;
    assert!(page.text().contains(r#"data-status="revoked""#));
    assert_eq!(docker_status(&app, "alice", &secret).await, 401);
}
