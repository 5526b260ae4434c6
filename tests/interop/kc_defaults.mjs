// Keycloak's defaults as @keycloak/keycloak-admin-client users meet them: a realm created with
// only its name (default roles, built-in clients), clients created with only their clientId (no
// password grant) and with the openid-connect protocol (a public client that gets a password-grant
// token), a new user holding the realm's default role, an unknown
// field refused, and a realm exported (partial-export) and imported back. Prints one JSON
// object; the Rust test asserts on it.
import KcAdminClient from '@keycloak/keycloak-admin-client';

const base = `${process.env.PORTCULLIS_URL}/auth`;
const realm = 'kcdefaults';
const kc = new KcAdminClient({ baseUrl: base, realmName: 'master' });
await kc.auth({ username: 'admin', password: process.env.ADMIN_PASSWORD, grantType: 'password', clientId: 'admin-cli' });

const out = {};
await kc.realms.create({ realm, enabled: true });
kc.setConfig({ realmName: realm });
const rep = await kc.realms.findOne({ realm });
out.default_role = rep.defaultRole?.name ?? null;
out.admin_events_enabled = rep.adminEventsEnabled;
out.roles = (await kc.roles.find()).map((r) => r.name).sort();
out.clients = (await kc.clients.find()).map((c) => c.clientId).sort();

// A client with only its clientId, as scripts create them: Keycloak keeps its stored defaults
// (confidential, direct access grants off) unless the body names the protocol.
const flags = (c) => ({
  publicClient: c.publicClient,
  bearerOnly: c.bearerOnly,
  directAccessGrantsEnabled: c.directAccessGrantsEnabled,
  standardFlowEnabled: c.standardFlowEnabled,
  frontchannelLogout: c.frontchannelLogout,
  fullScopeAllowed: c.fullScopeAllowed,
  protocol: c.protocol,
  has_secret: typeof c.secret === 'string' && c.secret.length > 0,
});
const { id } = await kc.clients.create({ clientId: 'script' });
out.client = flags(await kc.clients.findOne({ id }));
const secret = (await kc.clients.getClientSecret({ id })).value;
const oidc = await kc.clients.create({ clientId: 'script-oidc', protocol: 'openid-connect' });
out.client_oidc = flags(await kc.clients.findOne({ id: oidc.id }));

const user = await kc.users.create({ username: 'pat', enabled: true });
await kc.users.resetPassword({ id: user.id, credential: { type: 'password', value: 'pat-pw', temporary: false } });
out.user_roles = (await kc.users.listRealmRoleMappings({ id: user.id })).map((r) => r.name).sort();

const passwordGrant = (form) => fetch(`${base}/realms/${realm}/protocol/openid-connect/token`, {
  method: 'POST',
  body: new URLSearchParams({ grant_type: 'password', username: 'pat', password: 'pat-pw', ...form }),
});
const refused = await passwordGrant({ client_id: 'script', client_secret: secret });
out.password_grant_bare = [refused.status, (await refused.json()).error];
const token = await passwordGrant({ client_id: 'script-oidc' });
out.password_grant = token.status;
const access = (await token.json()).access_token;
// What keycloak-js loadUserProfile() asks for.
const profile = await fetch(`${base}/realms/${realm}/account`, {
  headers: { Authorization: `Bearer ${access}`, Accept: 'application/json' },
});
out.account_profile = profile.status;

try {
  await kc.users.create({ username: 'typo', enabled: true, emial: 'x@example.test' });
  out.unknown_field = 'accepted';
} catch (e) {
  out.unknown_field = e.response?.status ?? String(e);
  out.unknown_field_message = e.responseData?.errorMessage ?? e.message;
}
out.typo_stored = (await kc.users.find({ username: 'typo', exact: true })).length;

// Export, delete, import the export unchanged, export again.
await kc.groups.create({ name: 'ops', attributes: { tier: ['1'] } });
const exported = await kc.realms.export({ realm, exportClients: true, exportGroupsAndRoles: true });
await kc.realms.del({ realm });
await kc.realms.create(exported);
const again = await kc.realms.export({ realm, exportClients: true, exportGroupsAndRoles: true });
out.reimport_same_clients = JSON.stringify(again.clients.map((c) => c.clientId).sort())
  === JSON.stringify(exported.clients.map((c) => c.clientId).sort());
out.reimport_same_roles = JSON.stringify(again.roles.realm.map((r) => r.name).sort())
  === JSON.stringify(exported.roles.realm.map((r) => r.name).sort());
out.reimport_groups = again.groups.map((g) => g.name);
out.reimport_default_role = again.defaultRole?.name ?? null;
const partial = await kc.realms.partialImport({
  realm, rep: { ...exported, ifResourceExists: 'SKIP' },
});
out.partial_import_added = partial.added;
out.partial_import_skipped = partial.skipped;
console.log(JSON.stringify(out));
