// A third-party CI token issuer for the keyless CI tests: npm `oidc-provider` issuing
// client-credentials access tokens as JWTs (RFC 9068) for a resource indicator (RFC 8707), with
// CI-style claims per client, as GitHub Actions or GitLab CI put them in their ID tokens.
//
// Environment:
//   AUDIENCE   the `aud` of every token (the registry's audience); the resource indicator
//              the client asks for is `https://<AUDIENCE>`
//   CLIENTS    a JSON object {clientId: {claims}}: each client (secret `<clientId>-secret`,
//              client_secret_basic) gets these claims in its tokens
//   TTL        access token lifetime in seconds (default 300)
//
// Listens on 127.0.0.1 on a free port and prints one JSON line, {"issuer": "http://..."}, once
// it is ready.

import http from 'node:http';

import Provider from 'oidc-provider';

for (const level of ['log', 'info', 'warn']) {
  console[level] = (...args) => process.stderr.write(`${args.join(' ')}\n`);
}

const audience = process.env.AUDIENCE || 'registry';
const clients = JSON.parse(process.env.CLIENTS || '{}');
const ttl = Number(process.env.TTL || '300');
const resource = `https://${audience}`;

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: Object.keys(clients).map((clientId) => ({
    client_id: clientId,
    client_secret: `${clientId}-secret`,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  })),
  features: {
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator) => {
        if (indicator !== resource) {
          throw new Provider.errors.InvalidTarget();
        }
        return {
          scope: 'push',
          audience,
          accessTokenTTL: ttl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  async extraTokenClaims(ctx, token) {
    return clients[token.clientId] || {};
  },
  cookies: { keys: ['portcullis-interop-cookie-key'] },
});
provider.on('server_error', (ctx, err) => {
  process.stderr.write(`oidc-provider server_error: ${err && err.stack}\n`);
});

server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
