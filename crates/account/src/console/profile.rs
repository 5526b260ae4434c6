//! Personal info: the user's names and e-mail, and the username (read-only unless the realm
//! lets users change it).

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use portcullis_admin::self_service::{AccountError, Profile, ProfileUpdate};
use serde_json::{Value, json};

use super::page::{Console, FormBody, PageError};

const TITLE: &str = "Personal info";

/// `GET account/`.
pub async fn show(console: Console) -> Result<Response, PageError> {
    let profile = console.account().profile().await?;
    let form = json!({
        "username": profile.username,
        "email": profile.email.clone().unwrap_or_default(),
        "first_name": profile.first_name.clone().unwrap_or_default(),
        "last_name": profile.last_name.clone().unwrap_or_default(),
    });
    page(&console, StatusCode::OK, &profile, form, None)
}

/// `POST account/profile`.
pub async fn save(console: Console, body: Bytes) -> Result<Response, PageError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let profile = console.account().profile().await?;
    let username = profile
        .may_edit_username
        .then(|| form.get("username").to_string());
    let update = ProfileUpdate {
        username,
        email: form.get("email").to_string(),
        first_name: form.get("firstName").to_string(),
        last_name: form.get("lastName").to_string(),
    };
    match console.account().update_profile(update.clone()).await {
        Ok(()) => Ok(console.redirect("/", "Your profile was saved.")),
        Err(AccountError::Field { field, message }) => {
            let values = json!({
                "username": update.username.unwrap_or(profile.username.clone()),
                "email": update.email,
                "first_name": update.first_name,
                "last_name": update.last_name,
            });
            page(
                &console,
                StatusCode::BAD_REQUEST,
                &profile,
                values,
                Some((field, message)),
            )
        }
        Err(other) => Err(other.into()),
    }
}

fn page(
    console: &Console,
    status: StatusCode,
    profile: &Profile,
    form: Value,
    error: Option<(&str, String)>,
) -> Result<Response, PageError> {
    let context = json!({
        "profile": {
            "email": profile.email,
            "email_verified": profile.email_verified,
            "may_edit_username": profile.may_edit_username,
        },
        "form": form,
        "error_field": error.as_ref().map(|(field, _)| *field),
        "error": error.map(|(_, message)| message),
    });
    console.render(status, "profile.html", "profile", TITLE, context)
}
