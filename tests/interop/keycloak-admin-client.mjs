// Drives a running Portcullis with npm @keycloak/keycloak-admin-client (Keycloak's own admin
// library), the same journey as python_keycloak.py: a realm with roles, composites, groups,
// users, role mappings and a docker-v2 registry client with access-rule mappers. Prints one JSON
// object; the Rust test asserts on it and asks the docker endpoint for tokens.
import KcAdminClient from '@keycloak/keycloak-admin-client';

const realm = 'jsrealm';
const kc = new KcAdminClient({ baseUrl: `${process.env.PORTCULLIS_URL}/auth`, realmName: 'master' });
await kc.auth({ username: 'admin', password: process.env.ADMIN_PASSWORD, grantType: 'password', clientId: 'admin-cli' });

const out = {};
const created = await kc.realms.create({ realm, enabled: true });
out.realm_name = created.realmName;
kc.setConfig({ realmName: realm });

await kc.roles.create({ name: 'writer' });
await kc.roles.create({ name: 'lead' });
const writer = await kc.roles.findOneByName({ name: 'writer' });
const lead = await kc.roles.findOneByName({ name: 'lead' });
await kc.roles.createComposite({ roleId: lead.id }, [writer]);
out.lead_composites = (await kc.roles.getCompositeRoles({ id: lead.id })).map((r) => r.name).sort();

const eng = await kc.groups.create({ name: 'eng' });
const platform = await kc.groups.createChildGroup({ id: eng.id }, { name: 'platform' });
await kc.groups.addRealmRoleMappings({ id: eng.id, roles: [{ id: writer.id, name: writer.name }] });

const carol = await kc.users.create({ username: 'carol', enabled: true, email: 'carol@example.test' });
await kc.users.resetPassword({ id: carol.id, credential: { type: 'password', value: 'carol-pw', temporary: false } });
const dan = await kc.users.create({ username: 'dan', enabled: true });
await kc.users.resetPassword({ id: dan.id, credential: { type: 'password', value: 'dan-pw', temporary: false } });
await kc.users.addRealmRoleMappings({ id: carol.id, roles: [{ id: lead.id, name: lead.name }] });
await kc.users.addToGroup({ id: dan.id, groupId: platform.id });
out.carol_effective = (await kc.users.listCompositeRealmRoleMappings({ id: carol.id })).map((r) => r.name).sort();
out.dan_groups = (await kc.users.listGroups({ id: dan.id })).map((g) => g.path);
out.user_count = await kc.users.count();
out.found = (await kc.users.find({ username: 'carol', exact: true })).map((u) => u.id === carol.id);
try {
  await kc.users.create({ username: 'carol', enabled: true });
  out.duplicate_user = 'accepted';
} catch (e) {
  out.duplicate_user = e.response?.status ?? String(e);
}

const registry = await kc.clients.create({ clientId: 'registry.js', protocol: 'docker-v2' });
await kc.clients.addProtocolMapper({ id: registry.id }, {
  name: 'writers', protocol: 'docker-v2', protocolMapper: 'docker-v2-repository-access-mapper',
  config: { repository: 'apps/**', actions: 'push', role: 'writer' },
});
await kc.clients.addProtocolMapper({ id: registry.id }, {
  name: 'personal', protocol: 'docker-v2', protocolMapper: 'docker-v2-repository-access-mapper',
  config: { repository: '${username}/**', actions: '*', subject: 'authenticated' },
});
out.registry_mappers = (await kc.clients.listProtocolMappers({ id: registry.id })).map((m) => m.name).sort();
out.registry_found = (await kc.clients.find({ clientId: 'registry.js' })).map((c) => c.id === registry.id);
console.log(JSON.stringify(out));
