// The npm oidc-provider (panva, certified OP) reference server for bench/oidc/run.sh, after
// /work/shared/reference/oidc-conformance.md section 4.5, configured for what the portcullis
// client-credentials case measures: confidential clients `cc-rs256` and `cc-es256`
// (client_secret_basic) get a JWT access token, signed RS256 or ES256 by client, for the
// default resource `urn:bench:api` (resource indicators are how oidc-provider issues JWT
// access tokens). Keys are generated at start (RSA-2048 and P-256), as portcullis does.
//
//   node server.js PORT
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 3000);
const secret = 'bench-secret-0123456789abcdef0123';
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
const client = (id) => ({
  client_id: id, client_secret: secret, grant_types: ['client_credentials'], redirect_uris: [],
  response_types: [], token_endpoint_auth_method: 'client_secret_basic',
});

const op = new Provider(`http://127.0.0.1:${port}`, {
  clients: [client('cc-rs256'), client('cc-es256')],
  jwks: { keys: [{ ...rsa, alg: 'RS256', use: 'sig', kid: 'rs' }, { ...ec, alg: 'ES256', use: 'sig', kid: 'ec' }] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => 'urn:bench:api',
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resource, c) => ({
        scope: 'api',
        audience: resource,
        accessTokenTTL: 300,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: c.clientId === 'cc-es256' ? 'ES256' : 'RS256' } },
      }),
    },
  },
});
op.listen(port, '127.0.0.1', () => console.log(`listening on ${port}`));
