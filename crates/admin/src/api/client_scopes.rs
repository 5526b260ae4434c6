//! Client scopes under `/admin/realms/{realm}`: `client-scopes` with their protocol mappers and
//! scope mappings, the realm's `default-default-client-scopes` and
//! `default-optional-client-scopes`, a client's `default-client-scopes`,
//! `optional-client-scopes` and `scope-mappings`, and `clients/{id}/evaluate-scopes`.
//! Keycloak's paths, representations and status codes; the operations are
//! [`crate::ops::client_scopes`]'s.

use std::collections::HashMap;

use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post, put};
use portcullis_core::model::{ClientScope, ProtocolMapper, RealmScopeType};
use portcullis_store::representation::ClientScopeRepresentation;
use portcullis_web::{AppState, ExampleToken};
use serde_json::{Value, json};

use super::{Reply, no_content, ok, role_reps};
use crate::auth::Right;
use crate::context::{created, target_realm};
use crate::error::AdminError;
use crate::extract::{Admin, AdminJson, Params};
use crate::ops::client_scopes::{self as scopes, Container, Owner, View};
use crate::rep::client::MapperFields;
use crate::rep::role::role_refs;
use crate::rep::{self, CLIENT_SCOPE_FIELDS, MAPPER_FIELDS, ROLE_FIELDS, reject_unknown_fields};

type PathMap = Path<HashMap<String, String>>;

fn param<'a>(path: &'a HashMap<String, String>, name: &str) -> &'a str {
    path.get(name).map(String::as_str).unwrap_or_default()
}

/// The routes, under `realm` (`{relative}/admin/realms/{realm}`).
pub fn routes(realm: &str) -> Router<AppState> {
    let r = |path: &str| format!("{realm}{path}");
    let mut router = Router::new()
        .route(&r("/client-scopes"), get(list).post(create))
        .route(
            &r("/client-scopes/{id}"),
            get(find).put(update).delete(delete),
        )
        .route(
            &r("/client-scopes/{id}/protocol-mappers/models"),
            get(mappers).post(create_mapper),
        )
        .route(
            &r("/client-scopes/{id}/protocol-mappers/models/{mapper}"),
            get(find_mapper).put(update_mapper).delete(delete_mapper),
        )
        .route(
            &r("/client-scopes/{id}/protocol-mappers/add-models"),
            post(add_mappers),
        )
        .route(
            &r("/client-scopes/{id}/protocol-mappers/protocol/{protocol}"),
            get(mappers_of_protocol),
        )
        .route(
            &r("/clients/{id}/evaluate-scopes/protocol-mappers"),
            get(evaluate_mappers),
        )
        .route(
            &r("/clients/{id}/evaluate-scopes/scope-mappings/{container}/granted"),
            get(granted),
        )
        .route(
            &r("/clients/{id}/evaluate-scopes/scope-mappings/{container}/not-granted"),
            get(not_granted),
        )
        .route(
            &r("/clients/{id}/evaluate-scopes/generate-example-access-token"),
            get(example_access),
        )
        .route(
            &r("/clients/{id}/evaluate-scopes/generate-example-id-token"),
            get(example_id),
        )
        .route(
            &r("/clients/{id}/evaluate-scopes/generate-example-userinfo"),
            get(example_userinfo),
        );
    for (list, kind) in [
        ("default", RealmScopeType::Default),
        ("optional", RealmScopeType::Optional),
    ] {
        router = router
            .route(
                &r(&format!("/default-{list}-client-scopes")),
                get(move |a: Admin, p| realm_defaults(a, p, kind)),
            )
            .route(
                &r(&format!("/default-{list}-client-scopes/{{scope}}")),
                put(move |a: Admin, p| set_realm_default(a, p, kind, true))
                    .delete(move |a: Admin, p| set_realm_default(a, p, kind, false)),
            )
            .route(
                &r(&format!("/clients/{{id}}/{list}-client-scopes")),
                get(move |a: Admin, p| client_scopes(a, p, kind)),
            )
            .route(
                &r(&format!("/clients/{{id}}/{list}-client-scopes/{{scope}}")),
                put(move |a: Admin, p| set_client_scope(a, p, kind, true))
                    .delete(move |a: Admin, p| set_client_scope(a, p, kind, false)),
            );
    }
    for owner in [OwnerKind::Client, OwnerKind::Scope] {
        let base = match owner {
            OwnerKind::Client => r("/clients/{id}/scope-mappings"),
            OwnerKind::Scope => r("/client-scopes/{id}/scope-mappings"),
        };
        router = router.route(
            &base,
            get(move |a: Admin, p| all_scope_mappings(a, p, owner)),
        );
        for (suffix, client) in [("/realm", false), ("/clients/{client}", true)] {
            let path = format!("{base}{suffix}");
            router = router
                .route(
                    &path,
                    get(move |a: Admin, p| view(a, p, owner, client, View::Direct))
                        .post(move |a: Admin, p, b| change(a, p, b, owner, client, true))
                        .delete(move |a: Admin, p, b| change(a, p, b, owner, client, false)),
                )
                .route(
                    &format!("{path}/available"),
                    get(move |a: Admin, p| view(a, p, owner, client, View::Available)),
                )
                .route(
                    &format!("{path}/composite"),
                    get(move |a: Admin, p| view(a, p, owner, client, View::Composite)),
                );
        }
    }
    router
}

/// Keycloak's `ClientScopeRepresentation` with its mappers.
pub fn representation(scope: &ClientScope) -> Value {
    serde_json::to_value(portcullis_store::client_scopes::representation(scope))
        .unwrap_or(Value::Null)
}

fn mapper_representation(mapper: &ProtocolMapper) -> Value {
    serde_json::to_value(portcullis_store::client_scopes::mapper_representation(
        mapper,
    ))
    .unwrap_or(Value::Null)
}

/// A client scope body: known fields only, its mappers' too.
fn read_scope(body: &Value) -> Result<ClientScopeRepresentation, AdminError> {
    reject_unknown_fields(body, CLIENT_SCOPE_FIELDS)?;
    if let Some(mappers) = body.get("protocolMappers") {
        reject_unknown_fields(mappers, MAPPER_FIELDS)?;
    }
    rep::parse(body)
}

fn read_mapper(body: &Value) -> Result<MapperFields, AdminError> {
    reject_unknown_fields(body, MAPPER_FIELDS)?;
    MapperFields::read(body)
}

async fn list(admin: Admin, Path(realm): Path<String>) -> Reply {
    let found = scopes::list(admin.ops(), &realm).await?;
    ok(found.iter().map(representation).collect::<Vec<_>>())
}

async fn create(
    admin: Admin,
    Path(realm): Path<String>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    // The realm and the right come first, so a caller without them learns nothing from the
    // body's errors.
    target_realm(&admin.state, &admin.caller, &realm, Right::ManageClients).await?;
    let scope = read_scope(&body)?;
    let ops = admin.ops();
    let id = scopes::create(ops, &realm, scope, body.clone()).await?;
    Ok(created(&admin.state, &realm, &["client-scopes", &id]))
}

async fn find(admin: Admin, path: PathMap) -> Reply {
    let ops = admin.ops();
    let scope = scopes::find(ops, param(&path, "realm"), param(&path, "id")).await?;
    ok(representation(&scope))
}

async fn update(admin: Admin, path: PathMap, AdminJson(body): AdminJson<Value>) -> Reply {
    let realm = param(&path, "realm");
    target_realm(&admin.state, &admin.caller, realm, Right::ManageClients).await?;
    let scope = read_scope(&body)?;
    let ops = admin.ops();
    scopes::update(ops, realm, param(&path, "id"), scope, body.clone()).await?;
    no_content()
}

async fn delete(admin: Admin, path: PathMap) -> Reply {
    let ops = admin.ops();
    scopes::delete(ops, param(&path, "realm"), param(&path, "id")).await?;
    no_content()
}

async fn mappers(admin: Admin, path: PathMap) -> Reply {
    let ops = admin.ops();
    let found = scopes::mappers(ops, param(&path, "realm"), param(&path, "id"), None).await?;
    ok(found.iter().map(mapper_representation).collect::<Vec<_>>())
}

/// `GET protocol-mappers/protocol/{protocol}`: the scope's mappers of one protocol.
async fn mappers_of_protocol(admin: Admin, path: PathMap) -> Reply {
    let ops = admin.ops();
    let (realm, id) = (param(&path, "realm"), param(&path, "id"));
    let found = scopes::mappers(ops, realm, id, Some(param(&path, "protocol"))).await?;
    ok(found.iter().map(mapper_representation).collect::<Vec<_>>())
}

async fn find_mapper(admin: Admin, path: PathMap) -> Reply {
    let ops = admin.ops();
    let realm = param(&path, "realm");
    let found = scopes::mapper(ops, realm, param(&path, "id"), param(&path, "mapper")).await?;
    ok(mapper_representation(&found))
}

async fn create_mapper(admin: Admin, path: PathMap, AdminJson(body): AdminJson<Value>) -> Reply {
    let (realm, id) = (param(&path, "realm"), param(&path, "id"));
    target_realm(&admin.state, &admin.caller, realm, Right::ManageClients).await?;
    let fields = read_mapper(&body)?;
    let ops = admin.ops();
    let ids = scopes::add_mappers(ops, realm, id, &[fields], body.clone()).await?;
    let mapper = ids.first().map(String::as_str).unwrap_or_default();
    Ok(created(
        &admin.state,
        realm,
        &["client-scopes", id, "protocol-mappers", "models", mapper],
    ))
}

async fn add_mappers(admin: Admin, path: PathMap, AdminJson(body): AdminJson<Value>) -> Reply {
    let (realm, id) = (param(&path, "realm"), param(&path, "id"));
    target_realm(&admin.state, &admin.caller, realm, Right::ManageClients).await?;
    reject_unknown_fields(&body, MAPPER_FIELDS)?;
    let reps: Vec<portcullis_store::representation::ProtocolMapperRepresentation> =
        rep::parse(&body)?;
    let fields = reps
        .into_iter()
        .map(MapperFields::from_representation)
        .collect::<Result<Vec<_>, _>>()?;
    let ops = admin.ops();
    scopes::add_mappers(ops, realm, id, &fields, body.clone()).await?;
    no_content()
}

async fn update_mapper(admin: Admin, path: PathMap, AdminJson(body): AdminJson<Value>) -> Reply {
    let realm = param(&path, "realm");
    target_realm(&admin.state, &admin.caller, realm, Right::ManageClients).await?;
    let fields = read_mapper(&body)?;
    let ops = admin.ops();
    let (id, mapper) = (param(&path, "id"), param(&path, "mapper"));
    scopes::update_mapper(ops, realm, id, mapper, &fields, body.clone()).await?;
    no_content()
}

async fn delete_mapper(admin: Admin, path: PathMap) -> Reply {
    let ops = admin.ops();
    let (realm, id, mapper) = (
        param(&path, "realm"),
        param(&path, "id"),
        param(&path, "mapper"),
    );
    scopes::delete_mapper(ops, realm, id, mapper).await?;
    no_content()
}

/// The brief representation Keycloak lists a client's and the realm's scopes with.
fn brief(scope: &ClientScope) -> Value {
    json!({"id": scope.id, "name": scope.name})
}

async fn realm_defaults(admin: Admin, Path(realm): Path<String>, kind: RealmScopeType) -> Reply {
    let ops = admin.ops();
    let found = scopes::realm_defaults(ops, &realm, kind).await?;
    ok(found.iter().map(brief).collect::<Vec<_>>())
}

async fn set_realm_default(admin: Admin, path: PathMap, kind: RealmScopeType, add: bool) -> Reply {
    let ops = admin.ops();
    let (realm, scope) = (param(&path, "realm"), param(&path, "scope"));
    scopes::set_realm_default(ops, realm, scope, kind, add).await?;
    no_content()
}

async fn client_scopes(admin: Admin, path: PathMap, kind: RealmScopeType) -> Reply {
    let ops = admin.ops();
    let found = scopes::client_scopes(ops, param(&path, "realm"), param(&path, "id"), kind).await?;
    ok(found.iter().map(brief).collect::<Vec<_>>())
}

async fn set_client_scope(admin: Admin, path: PathMap, kind: RealmScopeType, add: bool) -> Reply {
    let ops = admin.ops();
    let (realm, id, scope) = (
        param(&path, "realm"),
        param(&path, "id"),
        param(&path, "scope"),
    );
    scopes::set_client_scope(ops, realm, id, scope, kind, add).await?;
    no_content()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OwnerKind {
    Client,
    Scope,
}

fn owner(kind: OwnerKind, id: &str) -> Owner<'_> {
    match kind {
        OwnerKind::Client => Owner::Client(id),
        OwnerKind::Scope => Owner::Scope(id),
    }
}

fn container(path: &HashMap<String, String>, client: bool) -> Container<'_> {
    if client {
        Container::Client(param(path, "client"))
    } else {
        Container::Realm
    }
}

/// `GET scope-mappings`: every role the client or client scope has mapped, as Keycloak's
/// `MappingsRepresentation`.
async fn all_scope_mappings(admin: Admin, path: PathMap, kind: OwnerKind) -> Reply {
    let ops = admin.ops();
    let holder = owner(kind, param(&path, "id"));
    let (realm_id, roles) = scopes::all_scope_mappings(ops, param(&path, "realm"), holder).await?;
    ok(super::mappings_rep(admin.state.store().connection(), &realm_id, roles).await?)
}

async fn view(admin: Admin, path: PathMap, kind: OwnerKind, client: bool, view: View) -> Reply {
    let ops = admin.ops();
    let realm = param(&path, "realm");
    let holder = owner(kind, param(&path, "id"));
    let roles = scopes::scope_mappings(ops, realm, holder, container(&path, client), view).await?;
    let realm_id = target_realm(&admin.state, &admin.caller, realm, Right::ViewClients)
        .await?
        .id;
    ok(role_reps(admin.state.store().connection(), &realm_id, &roles).await?)
}

#[allow(clippy::too_many_arguments)]
async fn change(
    admin: Admin,
    path: PathMap,
    AdminJson(body): AdminJson<Value>,
    kind: OwnerKind,
    client: bool,
    add: bool,
) -> Reply {
    let realm = param(&path, "realm");
    target_realm(&admin.state, &admin.caller, realm, Right::ManageClients).await?;
    reject_unknown_fields(&body, ROLE_FIELDS)?;
    let refs = role_refs(&body)?;
    let ops = admin.ops();
    let holder = owner(kind, param(&path, "id"));
    scopes::change_scope_mappings(
        ops,
        realm,
        holder,
        container(&path, client),
        refs,
        add,
        body.clone(),
    )
    .await?;
    no_content()
}

async fn evaluate_mappers(admin: Admin, path: PathMap, params: Params) -> Reply {
    let ops = admin.ops();
    let (realm, id) = (param(&path, "realm"), param(&path, "id"));
    let found = scopes::evaluate_mappers(ops, realm, id, params.get("scope")).await?;
    let reps: Vec<Value> = found
        .iter()
        .map(|m| {
            json!({
                "mapperId": m.mapper.id,
                "mapperName": m.mapper.name,
                "protocolMapper": m.mapper.mapper_type,
                "containerId": m.container_id,
                "containerName": m.container_name,
                "containerType": m.container_type,
            })
        })
        .collect();
    ok(reps)
}

async fn evaluate_roles(
    admin: Admin,
    path: HashMap<String, String>,
    params: Params,
    granted: bool,
) -> Reply {
    let ops = admin.ops();
    let (realm, id) = (param(&path, "realm"), param(&path, "id"));
    let container = param(&path, "container");
    let scope = params.get("scope");
    let roles = scopes::evaluate_roles(ops, realm, id, container, scope, granted).await?;
    let realm_id = target_realm(&admin.state, &admin.caller, realm, Right::ViewClients)
        .await?
        .id;
    ok(role_reps(admin.state.store().connection(), &realm_id, &roles).await?)
}

async fn granted(admin: Admin, Path(path): PathMap, params: Params) -> Reply {
    evaluate_roles(admin, path, params, true).await
}

async fn not_granted(admin: Admin, Path(path): PathMap, params: Params) -> Reply {
    evaluate_roles(admin, path, params, false).await
}

async fn example(
    admin: Admin,
    path: HashMap<String, String>,
    params: Params,
    kind: ExampleToken,
) -> Reply {
    let ops = admin.ops();
    let (realm, id) = (param(&path, "realm"), param(&path, "id"));
    let claims = scopes::example(
        ops,
        realm,
        id,
        params.get("scope"),
        params.get("userId"),
        kind,
    )
    .await?;
    ok(claims)
}

async fn example_access(admin: Admin, Path(path): PathMap, params: Params) -> Reply {
    example(admin, path, params, ExampleToken::Access).await
}

async fn example_id(admin: Admin, Path(path): PathMap, params: Params) -> Reply {
    example(admin, path, params, ExampleToken::Id).await
}

async fn example_userinfo(admin: Admin, Path(path): PathMap, params: Params) -> Reply {
    example(admin, path, params, ExampleToken::Userinfo).await
}
