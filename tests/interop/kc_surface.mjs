// The calls @keycloak/keycloak-admin-client makes for the combined scope mappings of clients and
// client scopes, mappers by protocol, role composites with search/first/max, group members,
// federated identities, required-action configuration and the user profile carried through
// partial export and realm import. Prints one JSON object; the Rust test asserts on it.
import KcAdminClient from '@keycloak/keycloak-admin-client';

const base = `${process.env.PORTCULLIS_URL}/auth`;
const realm = 'kcsurface';
const kc = new KcAdminClient({ baseUrl: base, realmName: 'master' });
await kc.auth({ username: 'admin', password: process.env.ADMIN_PASSWORD, grantType: 'password', clientId: 'admin-cli' });

const status = async (promise) => {
  try {
    await promise;
    return 'ok';
  } catch (e) {
    return [e.response?.status ?? String(e), e.responseData ?? null];
  }
};

const out = {};
await kc.realms.create({ realm, enabled: true });
kc.setConfig({ realmName: realm });

// Scope mappings, realm and client, on a client and on a client scope.
await kc.roles.create({ name: 'dev' });
const dev = await kc.roles.findOneByName({ name: 'dev' });
const { id: app } = await kc.clients.create({ clientId: 'app', protocol: 'openid-connect', fullScopeAllowed: false });
await kc.clients.createRole({ id: app, name: 'reader' });
const reader = await kc.clients.findRole({ id: app, roleName: 'reader' });
const { id: scope } = await kc.clientScopes.create({ name: 'tier', protocol: 'openid-connect' });
await kc.clients.addRealmScopeMappings({ id: app }, [dev]);
await kc.clients.addClientScopeMappings({ id: app, client: app }, [reader]);
await kc.clientScopes.addRealmScopeMappings({ id: scope }, [dev]);
await kc.clientScopes.addClientScopeMappings({ id: scope, client: app }, [reader]);
const summarize = (m) => ({
  realm: (m.realmMappings ?? []).map((r) => r.name).sort(),
  clients: Object.fromEntries(Object.entries(m.clientMappings ?? {}).map(([k, v]) => [k, {
    id_matches: v.id === app, client: v.client, roles: v.mappings.map((r) => r.name).sort(),
  }])),
});
out.client_scope_mappings = summarize(await kc.clients.listScopeMappings({ id: app }));
out.scope_scope_mappings = summarize(await kc.clientScopes.listScopeMappings({ id: scope }));

// Mappers by protocol.
const mapper = {
  name: 'tier claim', protocol: 'openid-connect', protocolMapper: 'oidc-hardcoded-claim-mapper',
  config: { 'claim.name': 'tier', 'claim.value': 'gold', 'access.token.claim': 'true' },
};
await kc.clients.addProtocolMapper({ id: app }, mapper);
await kc.clientScopes.addProtocolMapper({ id: scope }, mapper);
out.client_mappers_oidc = (await kc.clients.findProtocolMappersByProtocol({ id: app, protocol: 'openid-connect' })).map((m) => m.name);
out.client_mappers_docker = await kc.clients.findProtocolMappersByProtocol({ id: app, protocol: 'docker-v2' });
out.scope_mappers_oidc = (await kc.clientScopes.findProtocolMappersByProtocol({ id: scope, protocol: 'openid-connect' })).map((m) => m.name);

// Composites by id, with Keycloak's search, first and max.
for (const name of ['alpha', 'beta', 'gamma', 'delta']) await kc.roles.create({ name });
await kc.roles.create({ name: 'bundle' });
const bundle = await kc.roles.findOneByName({ name: 'bundle' });
const members = [];
for (const name of ['alpha', 'beta', 'gamma', 'delta']) members.push(await kc.roles.findOneByName({ name }));
await kc.roles.createComposite({ roleId: bundle.id }, members);
const names = (roles) => roles.map((r) => r.name);
out.composites = names(await kc.roles.getCompositeRoles({ id: bundle.id })).sort();
out.composites_search = names(await kc.roles.getCompositeRoles({ id: bundle.id, search: 'ta' }));
out.composites_page = names(await kc.roles.getCompositeRoles({ id: bundle.id, first: 1, max: 2 }));
out.composite_has_attributes = (await kc.roles.getCompositeRoles({ id: bundle.id })).some((r) => 'attributes' in r);

// Group members, full and brief.
const { id: group } = await kc.groups.create({ name: 'eng' });
const user = await kc.users.create({ username: 'pat', enabled: true, email: 'pat@example.test' });
await kc.users.addToGroup({ id: user.id, groupId: group });
out.groups = (await kc.groups.find()).map((g) => Object.keys(g).sort());
out.members = (await kc.groups.listMembers({ id: group })).map((u) => u.username);
out.members_brief_keys = Object.keys((await kc.groups.listMembers({ id: group, briefRepresentation: true }))[0]).sort();
out.members_page = await kc.groups.listMembers({ id: group, first: 1, max: 10 });

// Federated identities: only links to configured providers are listed.
await kc.identityProviders.create({
  alias: 'upstream', providerId: 'oidc', enabled: true,
  config: {
    clientId: 'c', clientSecret: 's', authorizationUrl: 'https://up.test/auth',
    tokenUrl: 'https://up.test/token', jwksUrl: 'https://up.test/certs', useJwksUrl: 'true',
  },
});
await kc.users.addToFederatedIdentity({ id: user.id, federatedIdentityId: 'upstream', federatedIdentity: { identityProvider: 'upstream', userId: 'u-1', userName: 'pat' } });
await kc.users.addToFederatedIdentity({ id: user.id, federatedIdentityId: 'ghost', federatedIdentity: { identityProvider: 'ghost', userId: 'g-1', userName: 'pat' } });
out.federated = (await kc.users.listFederatedIdentities({ id: user.id })).map((l) => l.identityProvider);
await kc.identityProviders.del({ alias: 'upstream' });
out.federated_after_delete = await kc.users.listFederatedIdentities({ id: user.id });

// Required-action configuration: none of this server's actions takes any.
out.ra_config_description = await status(kc.authenticationManagement.getRequiredActionConfigDescription({ alias: 'CONFIGURE_TOTP' }));
out.ra_config = await status(kc.authenticationManagement.getRequiredActionConfig({ alias: 'CONFIGURE_TOTP' }));
out.ra_config_update = await status(kc.authenticationManagement.updateRequiredActionConfig({ alias: 'CONFIGURE_TOTP' }, { config: { max_auth_age: '300' } }));
out.ra_config_remove = await status(kc.authenticationManagement.removeRequiredActionConfig({ alias: 'CONFIGURE_TOTP' }));

// The user profile through partial export and realm import.
const profile = await kc.users.getProfile();
profile.attributes.push({ name: 'department', displayName: 'Department', permissions: { view: ['admin'], edit: ['admin'] }, multivalued: false });
await kc.users.updateProfile({ ...profile, realm });
const exported = await kc.realms.export({ realm, exportClients: false, exportGroupsAndRoles: false });
const component = exported.components?.['org.keycloak.userprofile.UserProfileProvider']?.[0];
out.profile_component = component ? { providerId: component.providerId, has_config: typeof component.config?.['kc.user.profile.config']?.[0] === 'string' } : null;
// Exported ids (the default role's, the component's) are kept by an import, as in Keycloak:
// the realm is deleted and imported back, not copied beside itself.
kc.setConfig({ realmName: 'master' });
await kc.realms.del({ realm });
await kc.realms.create(exported);
kc.setConfig({ realmName: realm });
out.copied_profile_attributes = (await kc.users.getProfile()).attributes.map((a) => a.name).sort();

// Server info as the client reads it.
const info = await kc.serverInfo.find();
out.serverinfo_keys = Object.keys(info).sort();
out.serverinfo_oidc_mapper_types = (info.protocolMapperTypes?.['openid-connect'] ?? []).length > 0;
out.serverinfo_version = info.systemInfo?.version;
console.log(JSON.stringify(out));
