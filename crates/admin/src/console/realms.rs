//! The realm list (the master console's home), creating a realm, a realm's overview.

use axum::body::Bytes;
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_store::RealmRepresentation;
use serde_json::{Map, json};

use super::page::{
    ConsoleError, FormBody, field_message, redirect_with_flash, render, render_status,
};
use super::session::Console;
use crate::auth::Right;
use crate::ops::realms;

/// `GET {base}/`: the realms for the master console; a realm's own console goes to its realm.
pub async fn home(console: Console) -> Result<Response, ConsoleError> {
    let own = console.console_realm.realm.name.clone();
    if own != portcullis_store::MASTER_REALM {
        return Ok(Redirect::to(&format!("{}/", console.realm_base(&own))).into_response());
    }
    realm_list(&console, None, "", axum::http::StatusCode::OK).await
}

/// `GET {base}/realms`.
pub async fn list(console: Console) -> Result<Response, ConsoleError> {
    realm_list(&console, None, "", axum::http::StatusCode::OK).await
}

async fn realm_list(
    console: &Console,
    error: Option<String>,
    name: &str,
    status: axum::http::StatusCode,
) -> Result<Response, ConsoleError> {
    let rows = realms::list(console.ops()).await?;
    if rows.is_empty() && !console.caller.can_create_realms() {
        return Err(ConsoleError::Forbidden);
    }
    let realms: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "display_name": r.display_name,
                "enabled": r.enabled,
                "href": format!("{}/", console.realm_base(&r.name)),
            })
        })
        .collect();
    render_status(
        console,
        status,
        "realms.html",
        json!({
            "title": "Realms",
            "realms": realms,
            "may_create": console.caller.can_create_realms(),
            "error": error,
            "name": name,
        }),
    )
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct SwitchQuery {
    realm: Option<String>,
}

/// `GET {base}/switch?realm=`: the layout's realm switcher; goes to the chosen realm's page,
/// or back to the realm list when none is chosen.
pub async fn switch(
    console: Console,
    axum::extract::Query(query): axum::extract::Query<SwitchQuery>,
) -> Result<Response, ConsoleError> {
    let name = query.realm.unwrap_or_default();
    let name = name.trim();
    if name.is_empty() {
        return Ok(Redirect::to(&format!("{}/realms", console.base)).into_response());
    }
    match realms::administered(console.ops(), name).await {
        Ok(row) => Ok(Redirect::to(&format!("{}/", console.realm_base(&row.name))).into_response()),
        Err(crate::error::AdminError::NotFound(_)) => Err(ConsoleError::NotFound(format!(
            "There is no realm {name}. Choose one from the list of realms."
        ))),
        Err(e) => Err(e.into()),
    }
}

/// `POST {base}/realms`: creates a realm with a name and a display name.
pub async fn create(console: Console, body: Bytes) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let name = form.get("realm").trim().to_string();
    let display = form.get("displayName").trim();
    let representation = RealmRepresentation {
        realm: Some(name.clone()),
        display_name: (!display.is_empty()).then(|| display.to_string()),
        enabled: Some(true),
        ..Default::default()
    };
    let event = json!({"realm": name, "displayName": display});
    match realms::create(console.ops(), representation, Map::new(), event).await {
        Ok(name) => Ok(redirect_with_flash(
            &console,
            &format!("{}/", console.realm_base(&name)),
            &format!("Realm {name} created."),
        )),
        Err(crate::error::AdminError::Forbidden) => Err(ConsoleError::Forbidden),
        Err(e) => {
            let message = match &e {
                crate::error::AdminError::Conflict(_) => {
                    format!("A realm named {name} exists already.")
                }
                other => field_message(other),
            };
            realm_list(
                &console,
                Some(message),
                &name,
                axum::http::StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// `GET {base}/realms/{realm}/`: what the realm holds, and where to go next.
pub async fn overview(console: Console) -> Result<Response, ConsoleError> {
    let realm = console.realm.clone().unwrap_or_default();
    let registries = crate::ops::access::registries(console.ops(), &realm).await;
    let registries = match registries {
        Ok(list) => Some(list.len()),
        Err(crate::error::AdminError::Forbidden) => None,
        Err(e) => return Err(e.into()),
    };
    if !console.caller.can(&realm, Right::Any) {
        return Err(ConsoleError::Forbidden);
    }
    render(
        &console,
        "overview.html",
        json!({
            "title": realm,
            "registry_count": registries,
        }),
    )
}
