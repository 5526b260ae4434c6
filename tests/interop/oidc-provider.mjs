// A third-party OpenID Connect provider for the broker's tests: npm `oidc-provider` with its
// development login and consent pages (any login name is accepted as the account id).
//
// Environment:
//   REDIRECT_URIS  comma-separated redirect URIs registered for the clients
//   ACCOUNTS       a JSON file {accountId: {claims}} read again at every request, so a test
//                  can change an account's claims (its groups) between two logins
//
// Clients: `portcullis` (client_secret_basic) and `portcullis-post` (client_secret_post),
// both with secret `upstream-secret` and PKCE required.
//
// Listens on 127.0.0.1 on a free port and prints one JSON line, {"issuer": "http://..."}, once
// it is ready.

import http from 'node:http';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

// Standard output carries the one ready line; the provider's notices go to standard error.
for (const level of ['log', 'info', 'warn']) {
  console[level] = (...args) => process.stderr.write(`${args.join(' ')}\n`);
}

const redirectUris = (process.env.REDIRECT_URIS || '').split(',').filter(Boolean);
const accountsFile = process.env.ACCOUNTS;

function accountClaims(id) {
  let accounts = {};
  if (accountsFile) {
    accounts = JSON.parse(readFileSync(accountsFile, 'utf8'));
  }
  return { ...(accounts[id] || {}), sub: id };
}

const client = (clientId, method) => ({
  client_id: clientId,
  client_secret: 'upstream-secret',
  redirect_uris: redirectUris,
  token_endpoint_auth_method: method,
  grant_types: ['authorization_code'],
  response_types: ['code'],
});

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    client('portcullis', 'client_secret_basic'),
    client('portcullis-post', 'client_secret_post'),
  ],
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return accountClaims(id);
      },
    };
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'name', 'given_name', 'family_name'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'groups'],
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  cookies: { keys: ['portcullis-interop-cookie-key'] },
});
// Development-only warnings (dev keys, dev interactions) are expected here.
provider.on('server_error', (ctx, err) => {
  process.stderr.write(`oidc-provider server_error: ${err && err.stack}\n`);
});

server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ issuer })}\n`);

process.on('SIGTERM', () => server.close(() => process.exit(0)));
