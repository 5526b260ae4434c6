//! Client scopes under `/admin/realms/{realm}`: `client-scopes` with their protocol mappers and
//! scope mappings, the realm's `default-default-client-scopes` and
//! `default-optional-client-scopes`, a client's `default-client-scopes`,
//! `optional-client-scopes` and `scope-mappings`, and `clients/{id}/evaluate-scopes`.
//! Keycloak's paths, representations and status codes; the operations are
//! [`crate::ops::client_scopes`]'s.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::routing::{get, post, put};
use axum::{Extension, Router};
use portcullis_core::model::{ClientScope, ProtocolMapper, RealmScopeType};
use portcullis_store::representation::ClientScopeRepresentation;
use portcullis_web::{AppState, ExampleToken, Protocols};
use serde_json::{Value, json};

use super::{Reply, no_content, ok, role_reps};
use crate::auth::{Caller, Right};
use crate::context::{created, target_realm};
use crate::error::AdminError;
use crate::extract::{AdminJson, Params};
use crate::ops::Ops;
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
                get(move |s: State<AppState>, e, c, p| realm_defaults(s, e, c, p, kind)),
            )
            .route(
                &r(&format!("/default-{list}-client-scopes/{{scope}}")),
                put(move |s: State<AppState>, e, c, p| set_realm_default(s, e, c, p, kind, true))
                    .delete(move |s: State<AppState>, e, c, p| {
                        set_realm_default(s, e, c, p, kind, false)
                    }),
            )
            .route(
                &r(&format!("/clients/{{id}}/{list}-client-scopes")),
                get(move |s: State<AppState>, e, c, p| client_scopes(s, e, c, p, kind)),
            )
            .route(
                &r(&format!("/clients/{{id}}/{list}-client-scopes/{{scope}}")),
                put(move |s: State<AppState>, e, c, p| set_client_scope(s, e, c, p, kind, true))
                    .delete(move |s: State<AppState>, e, c, p| {
                        set_client_scope(s, e, c, p, kind, false)
                    }),
            );
    }
    for owner in [OwnerKind::Client, OwnerKind::Scope] {
        let base = match owner {
            OwnerKind::Client => r("/clients/{id}/scope-mappings"),
            OwnerKind::Scope => r("/client-scopes/{id}/scope-mappings"),
        };
        router = router.route(
            &base,
            get(move |s: State<AppState>, e, c, p| all_scope_mappings(s, e, c, p, owner)),
        );
        for (suffix, client) in [("/realm", false), ("/clients/{client}", true)] {
            let path = format!("{base}{suffix}");
            router = router
                .route(
                    &path,
                    get(move |s: State<AppState>, e, c, p| {
                        view(s, e, c, p, owner, client, View::Direct)
                    })
                    .post(move |s: State<AppState>, e, c, p, b| {
                        change(s, e, c, p, b, owner, client, true)
                    })
                    .delete(move |s: State<AppState>, e, c, p, b| {
                        change(s, e, c, p, b, owner, client, false)
                    }),
                )
                .route(
                    &format!("{path}/available"),
                    get(move |s: State<AppState>, e, c, p| {
                        view(s, e, c, p, owner, client, View::Available)
                    }),
                )
                .route(
                    &format!("{path}/composite"),
                    get(move |s: State<AppState>, e, c, p| {
                        view(s, e, c, p, owner, client, View::Composite)
                    }),
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

async fn list(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path(realm): Path<String>,
) -> Reply {
    let found = scopes::list(Ops::new(&state, &caller, &protocols), &realm).await?;
    ok(found.iter().map(representation).collect::<Vec<_>>())
}

async fn create(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path(realm): Path<String>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    // The realm and the right come first, so a caller without them learns nothing from the
    // body's errors.
    target_realm(&state, &caller, &realm, Right::ManageClients).await?;
    let scope = read_scope(&body)?;
    let ops = Ops::new(&state, &caller, &protocols);
    let id = scopes::create(ops, &realm, scope, body.clone()).await?;
    Ok(created(&state, &realm, &["client-scopes", &id]))
}

async fn find(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    path: PathMap,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    let scope = scopes::find(ops, param(&path, "realm"), param(&path, "id")).await?;
    ok(representation(&scope))
}

async fn update(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    path: PathMap,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let realm = param(&path, "realm");
    target_realm(&state, &caller, realm, Right::ManageClients).await?;
    let scope = read_scope(&body)?;
    let ops = Ops::new(&state, &caller, &protocols);
    scopes::update(ops, realm, param(&path, "id"), scope, body.clone()).await?;
    no_content()
}

async fn delete(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    path: PathMap,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    scopes::delete(ops, param(&path, "realm"), param(&path, "id")).await?;
    no_content()
}

async fn mappers(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    path: PathMap,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    let found = scopes::mappers(ops, param(&path, "realm"), param(&path, "id"), None).await?;
    ok(found.iter().map(mapper_representation).collect::<Vec<_>>())
}

/// `GET protocol-mappers/protocol/{protocol}`: the scope's mappers of one protocol.
async fn mappers_of_protocol(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    path: PathMap,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    let (realm, id) = (param(&path, "realm"), param(&path, "id"));
    let found = scopes::mappers(ops, realm, id, Some(param(&path, "protocol"))).await?;
    ok(found.iter().map(mapper_representation).collect::<Vec<_>>())
}

async fn find_mapper(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    path: PathMap,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    let realm = param(&path, "realm");
    let found = scopes::mapper(ops, realm, param(&path, "id"), param(&path, "mapper")).await?;
    ok(mapper_representation(&found))
}

async fn create_mapper(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    path: PathMap,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let (realm, id) = (param(&path, "realm"), param(&path, "id"));
    target_realm(&state, &caller, realm, Right::ManageClients).await?;
    let fields = read_mapper(&body)?;
    let ops = Ops::new(&state, &caller, &protocols);
    let ids = scopes::add_mappers(ops, realm, id, &[fields], body.clone()).await?;
    let mapper = ids.first().map(String::as_str).unwrap_or_default();
    Ok(created(
        &state,
        realm,
        &["client-scopes", id, "protocol-mappers", "models", mapper],
    ))
}

async fn add_mappers(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    path: PathMap,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let (realm, id) = (param(&path, "realm"), param(&path, "id"));
    target_realm(&state, &caller, realm, Right::ManageClients).await?;
    reject_unknown_fields(&body, MAPPER_FIELDS)?;
    let reps: Vec<portcullis_store::representation::ProtocolMapperRepresentation> =
        rep::parse(&body)?;
    let fields = reps
        .into_iter()
        .map(MapperFields::from_representation)
        .collect::<Result<Vec<_>, _>>()?;
    let ops = Ops::new(&state, &caller, &protocols);
    scopes::add_mappers(ops, realm, id, &fields, body.clone()).await?;
    no_content()
}

async fn update_mapper(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    path: PathMap,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let realm = param(&path, "realm");
    target_realm(&state, &caller, realm, Right::ManageClients).await?;
    let fields = read_mapper(&body)?;
    let ops = Ops::new(&state, &caller, &protocols);
    let (id, mapper) = (param(&path, "id"), param(&path, "mapper"));
    scopes::update_mapper(ops, realm, id, mapper, &fields, body.clone()).await?;
    no_content()
}

async fn delete_mapper(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    path: PathMap,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
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

async fn realm_defaults(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path(realm): Path<String>,
    kind: RealmScopeType,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    let found = scopes::realm_defaults(ops, &realm, kind).await?;
    ok(found.iter().map(brief).collect::<Vec<_>>())
}

async fn set_realm_default(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    path: PathMap,
    kind: RealmScopeType,
    add: bool,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    let (realm, scope) = (param(&path, "realm"), param(&path, "scope"));
    scopes::set_realm_default(ops, realm, scope, kind, add).await?;
    no_content()
}

async fn client_scopes(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    path: PathMap,
    kind: RealmScopeType,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    let found = scopes::client_scopes(ops, param(&path, "realm"), param(&path, "id"), kind).await?;
    ok(found.iter().map(brief).collect::<Vec<_>>())
}

async fn set_client_scope(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    path: PathMap,
    kind: RealmScopeType,
    add: bool,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
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
async fn all_scope_mappings(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    path: PathMap,
    kind: OwnerKind,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    let holder = owner(kind, param(&path, "id"));
    let (realm_id, roles) = scopes::all_scope_mappings(ops, param(&path, "realm"), holder).await?;
    ok(super::mappings_rep(state.store().connection(), &realm_id, roles).await?)
}

async fn view(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    path: PathMap,
    kind: OwnerKind,
    client: bool,
    view: View,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    let realm = param(&path, "realm");
    let holder = owner(kind, param(&path, "id"));
    let roles = scopes::scope_mappings(ops, realm, holder, container(&path, client), view).await?;
    let realm_id = target_realm(&state, &caller, realm, Right::ViewClients)
        .await?
        .id;
    ok(role_reps(state.store().connection(), &realm_id, &roles).await?)
}

#[allow(clippy::too_many_arguments)]
async fn change(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    path: PathMap,
    AdminJson(body): AdminJson<Value>,
    kind: OwnerKind,
    client: bool,
    add: bool,
) -> Reply {
    let realm = param(&path, "realm");
    target_realm(&state, &caller, realm, Right::ManageClients).await?;
    reject_unknown_fields(&body, ROLE_FIELDS)?;
    let refs = role_refs(&body)?;
    let ops = Ops::new(&state, &caller, &protocols);
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

async fn evaluate_mappers(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    path: PathMap,
    params: Params,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
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
    state: AppState,
    protocols: Protocols,
    caller: Caller,
    path: HashMap<String, String>,
    params: Params,
    granted: bool,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    let (realm, id) = (param(&path, "realm"), param(&path, "id"));
    let container = param(&path, "container");
    let scope = params.get("scope");
    let roles = scopes::evaluate_roles(ops, realm, id, container, scope, granted).await?;
    let realm_id = target_realm(&state, &caller, realm, Right::ViewClients)
        .await?
        .id;
    ok(role_reps(state.store().connection(), &realm_id, &roles).await?)
}

async fn granted(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path(path): PathMap,
    params: Params,
) -> Reply {
    evaluate_roles(state, protocols, caller, path, params, true).await
}

async fn not_granted(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path(path): PathMap,
    params: Params,
) -> Reply {
    evaluate_roles(state, protocols, caller, path, params, false).await
}

async fn example(
    state: AppState,
    protocols: Protocols,
    caller: Caller,
    path: HashMap<String, String>,
    params: Params,
    kind: ExampleToken,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
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

async fn example_access(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path(path): PathMap,
    params: Params,
) -> Reply {
    example(state, protocols, caller, path, params, ExampleToken::Access).await
}

async fn example_id(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path(path): PathMap,
    params: Params,
) -> Reply {
    example(state, protocols, caller, path, params, ExampleToken::Id).await
}

async fn example_userinfo(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path(path): PathMap,
    params: Params,
) -> Reply {
    example(
        state,
        protocols,
        caller,
        path,
        params,
        ExampleToken::Userinfo,
    )
    .await
}
