// Drives a running Portcullis realm with the npm `openid-client` (v6) library, the way an
// application would: discovery, authorization code + PKCE (the login form posted like a browser),
// userinfo, refresh, introspection, revocation and client credentials. Prints one JSON object
// with what each step returned; the Rust test asserts on it. Any library error fails the run.
import * as client from 'openid-client';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`missing ${name}`);
  return value;
};
const issuer = new URL(env('ISSUER'));
const redirectUri = env('REDIRECT_URI');
const insecure = { execute: [client.allowInsecureRequests] };

/** Minimal browser: follows the login form with a cookie jar until it reaches the redirect URI. */
async function browserLogin(authorizationUrl, username, password) {
  const jar = new Map();
  const remember = (response) => {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  let response = await fetch(authorizationUrl, { redirect: 'manual' });
  remember(response);
  for (let step = 0; step < 5; step++) {
    if (response.status >= 300 && response.status < 400) {
      const location = new URL(response.headers.get('location'), authorizationUrl).href;
      if (location.startsWith(redirectUri)) return location;
      response = await fetch(location, { redirect: 'manual', headers: { cookie: cookie() } });
      remember(response);
      continue;
    }
    const html = await response.text();
    const form = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
    if (!form) throw new Error(`no form at step ${step} (status ${response.status}): ${html.slice(0, 400)}`);
    const unescape = (s) => s.replace(/&#x2F;/g, '/').replace(/&#x27;/g, "'").replace(/&quot;/g, '"')
      .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
    const fields = new URLSearchParams();
    for (const input of form[2].matchAll(/<input[^>]*>/gi)) {
      const name = /name="([^"]*)"/.exec(input[0]);
      const value = /value="([^"]*)"/.exec(input[0]);
      const type = /type="([^"]*)"/.exec(input[0]);
      if (!name) continue;
      if (type && type[1] === 'submit' && name[1] !== 'accept') continue;
      fields.set(name[1], value ? unescape(value[1]) : '');
    }
    if (fields.has('username')) fields.set('username', username);
    if (fields.has('password')) fields.set('password', password);
    const action = new URL(unescape(form[1]), authorizationUrl).href;
    response = await fetch(action, {
      method: 'POST', redirect: 'manual', body: fields,
      headers: { cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded' },
    });
    remember(response);
  }
  throw new Error('login did not reach the redirect URI');
}

async function codeFlow(config, username, password) {
  const verifier = client.randomPKCECodeVerifier();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri, scope: 'openid profile email', code_challenge: challenge,
    code_challenge_method: 'S256', state, nonce,
  });
  const callback = await browserLogin(url.href, username, password);
  return client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true,
  });
}

const result = {};
const publicConfig = await client.discovery(issuer, env('PUBLIC_CLIENT'), undefined, client.None(), insecure);
const confidential = await client.discovery(
  issuer, env('CONF_CLIENT'), undefined, client.ClientSecretBasic(env('CONF_SECRET')), insecure);
result.issuer = publicConfig.serverMetadata().issuer;

const tokens = await codeFlow(publicConfig, env('USERNAME'), env('PASSWORD'));
const claims = tokens.claims();
result.code = { sub: claims.sub, preferred_username: claims.preferred_username, nonce_checked: true,
  has_refresh: Boolean(tokens.refresh_token), token_type: tokens.token_type };
result.userinfo = await client.fetchUserInfo(publicConfig, tokens.access_token, claims.sub);

const refreshed = await client.refreshTokenGrant(publicConfig, tokens.refresh_token);
result.refresh = { has_access: Boolean(refreshed.access_token), sub: refreshed.claims()?.sub ?? null };

const confTokens = await codeFlow(confidential, env('USERNAME'), env('PASSWORD'));
result.introspection = await client.tokenIntrospection(confidential, confTokens.access_token);
await client.tokenRevocation(confidential, confTokens.refresh_token);
try {
  await client.refreshTokenGrant(confidential, confTokens.refresh_token);
  result.refresh_after_revoke = 'accepted';
} catch (e) {
  result.refresh_after_revoke = e.error ?? e.code ?? String(e);
}
result.introspection_after_revoke = await client.tokenIntrospection(confidential, confTokens.refresh_token);

const cc = await client.clientCredentialsGrant(confidential, { scope: 'profile' });
result.client_credentials = { has_access: Boolean(cc.access_token), expires_in: cc.expires_in,
  introspection: await client.tokenIntrospection(confidential, cc.access_token) };

console.log(JSON.stringify(result));
