//! Protocol mappers as the console shows them, shared by a client's Mappers tab and a client
//! scope's: the list (`mappers_section.html`), the choice of a type, and the form of one type's
//! settings (`mapper_form.html`), for a new mapper or an existing one.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use portcullis_web::MapperType;
use serde_json::{Value, json};

use super::page::{
    ConsoleError, FormBody, field_message, insert, redirect_with_flash, render_status,
};
use super::session::Console;
use crate::context::encode_segment;
use crate::error::AdminError;
use crate::rep::client::MapperFields;

/// A field of a form and what is wrong with it.
pub type FieldError = (&'static str, String);

/// The mapper types of a protocol.
pub fn mapper_types(console: &Console, protocol: &str) -> Vec<MapperType> {
    console
        .protocols
        .find(protocol)
        .map(|p| p.mapper_types())
        .unwrap_or_default()
}

/// One mapper as a row of the list; `base` is the owner's `.../mappers`, `editable` whether
/// the row links to the mapper's form.
pub fn row(
    types: &[MapperType],
    base: &str,
    editable: bool,
    id: &str,
    name: &str,
    mapper_type: &str,
    config: &BTreeMap<String, String>,
) -> Value {
    let type_name = types
        .iter()
        .find(|t| t.id == mapper_type)
        .map_or(mapper_type, |t| t.display_name);
    let href = format!("{base}/{}", encode_segment(id));
    json!({
        "id": id,
        "name": name,
        "type": type_name,
        "config": config.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
        "edit": editable.then(|| href.clone()),
        "delete": format!("{href}/delete"),
    })
}

/// The type of an existing mapper; a type this server does not know (a mapper imported from
/// elsewhere) cannot be edited here.
pub fn type_of<'t>(
    types: &'t [MapperType],
    mapper_type: &str,
) -> Result<&'t MapperType, ConsoleError> {
    types.iter().find(|t| t.id == mapper_type).ok_or_else(|| {
        ConsoleError::NotFound(format!(
            "The mapper's type {mapper_type} is not one this server knows."
        ))
    })
}

/// The types offered by the "Add a mapper" form.
pub fn type_rows(types: &[MapperType]) -> Value {
    json!(
        types
            .iter()
            .map(|t| json!({"id": t.id, "name": t.display_name, "help": t.help}))
            .collect::<Vec<_>>()
    )
}

/// Adds the list's context: the rows, the types, where the forms go and what an empty list
/// says.
pub fn insert_section(context: &mut Value, rows: Vec<Value>, types: &[MapperType], base: &str) {
    insert(context, "mappers", json!(rows));
    insert(context, "mapper_types", type_rows(types));
    insert(context, "mappers_base", json!(base));
}

/// The form of an existing mapper: its name and settings as the form fields carry them.
pub fn form_of(
    mapper_type: &MapperType,
    name: &str,
    config: &BTreeMap<String, String>,
) -> FormBody {
    let mut fields = vec![("name".to_string(), name.to_string())];
    for (i, key) in mapper_type.config_keys.iter().enumerate() {
        if let Some(value) = config.get(*key) {
            fields.push((format!("config-{i}"), value.clone()));
        }
    }
    FormBody(fields)
}

/// Where a mapper form posts and returns to.
pub struct MapperForm<'a> {
    pub mapper_type: &'a MapperType,
    /// `.../mappers` for a new mapper, `.../mappers/{id}` for an existing one.
    pub action: String,
    pub cancel: String,
    pub editing: bool,
}

/// Renders `mapper_form.html` inside the owner's `context` (a client's or a client scope's
/// page context, with its tabs).
pub fn render_form(
    console: &Console,
    mut context: Value,
    page: MapperForm<'_>,
    status: StatusCode,
    form: &FormBody,
    error: Option<FieldError>,
) -> Result<Response, ConsoleError> {
    let mapper_type = page.mapper_type;
    let config: Vec<Value> = mapper_type
        .config_keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let name = format!("config-{i}");
            json!({"name": name, "key": key, "value": form.get(&name)})
        })
        .collect();
    let (error_field, error_message) = error.map_or((None, None), |(f, m)| (Some(f), Some(m)));
    let title = if page.editing {
        format!("Mapper {}", form.get("name"))
    } else {
        format!("New {} mapper", mapper_type.display_name)
    };
    insert(&mut context, "title", json!(title));
    insert(
        &mut context,
        "mapper_type",
        json!({"id": mapper_type.id, "name": mapper_type.display_name, "help": mapper_type.help}),
    );
    insert(&mut context, "mapper_action", json!(page.action));
    insert(&mut context, "mapper_cancel", json!(page.cancel));
    insert(&mut context, "editing", json!(page.editing));
    insert(&mut context, "name", json!(form.get("name")));
    insert(&mut context, "config", json!(config));
    insert(&mut context, "error_field", json!(error_field));
    insert(&mut context, "error", json!(error_message));
    render_status(console, status, "mapper_form.html", context)
}

/// What a mapper form says: the name and the settings given, for `protocol`.
pub fn read_form(
    form: &FormBody,
    mapper_type: &MapperType,
    protocol: &str,
) -> Result<(MapperFields, Value), FieldError> {
    let name = form.get("name").trim().to_string();
    if name.is_empty() {
        return Err(("name", "Give the mapper a name, such as its claim.".into()));
    }
    let mut config = BTreeMap::new();
    for (i, key) in mapper_type.config_keys.iter().enumerate() {
        let value = form.get(&format!("config-{i}")).trim();
        if !value.is_empty() {
            config.insert(key.to_string(), value.to_string());
        }
    }
    let representation = json!({
        "name": name,
        "protocol": protocol,
        "protocolMapper": mapper_type.id,
        "config": config,
    });
    let fields = MapperFields {
        name: Some(name),
        protocol: Some(protocol.to_string()),
        mapper_type: Some(mapper_type.id.to_string()),
        config: Some(config),
        ..MapperFields::default()
    };
    Ok((fields, representation))
}

/// The answer to a mapper form once its operation ran: back to the owner's mapper list
/// (`list`) with `flash`, or the form again (`refuse`) with a name clash or bad settings on the
/// name field.
pub fn answer<T>(
    console: &Console,
    result: Result<T, AdminError>,
    (list, flash): (&str, &str),
    refuse: impl FnOnce(FieldError) -> Result<Response, ConsoleError>,
) -> Result<Response, ConsoleError> {
    match result {
        Ok(_) => Ok(redirect_with_flash(console, list, flash)),
        Err(e @ (AdminError::Conflict(_) | AdminError::BadRequest(_))) => {
            refuse(("name", field_message(&e)))
        }
        Err(e) => Err(e.into()),
    }
}
