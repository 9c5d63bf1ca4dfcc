// The local OpenID Connect provider of `make run`, `make demo` and the tests: oidc-provider
// (certified, maintained; pinned in package.json) on 127.0.0.1, with the demo roster's staff as
// its users. The case service trusts it exactly as it trusts a production provider (Entra ID,
// Keycloak): discovery, signature, issuer, audience and expiry. It is started by infra/idp.py.
//
// Environment: IDP_CONFIG (a JSON file, mode 0600, written by infra/idp.py), IDP_PORT (0: any
// free port). Prints one JSON line {"issuer": ...} on stdout once it listens; all else goes to
// stderr. Keys are made at start-up and live in memory only: nothing secret is stored, and a
// token from an earlier run is worth nothing.
//
// Clients (from the config): the web console (confidential, authorization code with PKCE), the
// CLI (public and native: the device authorization grant, RFC 8628, or a code to a loopback
// port) and the customer e-service (confidential, client credentials only). Every access token
// is a JWT for one resource, the case service's API, carrying the login claim.
import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import Provider, { errors } from 'oidc-provider';

// oidc-provider writes its notices with console.info; stdout carries the one JSON line only.
console.info = console.log = (...args) => console.error(...args);

const config = JSON.parse(readFileSync(process.env.IDP_CONFIG, 'utf8'));
const users = config.users;
const api = config.api; // { resource, scope, access_token_ttl }
const ALG = 'ES256';

const escape = (text) => String(text ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="sv"><head><meta charset="utf-8"><title>${escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin:.8rem 0}input{display:block;width:100%;padding:.4rem;font-size:1rem}
button{margin-top:1rem;padding:.5rem 1.2rem;font-size:1rem}.fel{color:#a00}</style></head>
<body><h1>${escape(title)}</h1>${body}</body></html>`;
}

function signingKey() {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: ALG, use: 'sig' };
}

function resourceServer(indicator) {
  if (indicator !== api.resource) throw new errors.InvalidTarget();
  return {
    scope: api.scope,
    audience: api.resource,
    accessTokenTTL: api.access_token_ttl,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: ALG } },
  };
}

const configuration = {
  clients: config.clients,
  jwks: { keys: [signingKey()] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  clientDefaults: { id_token_signed_response_alg: ALG },
  claims: { openid: ['sub', 'preferred_username'], profile: ['name'] },
  conformIdTokenClaims: false,
  async findAccount(ctx, sub) {
    const user = Object.hasOwn(users, sub) ? users[sub] : undefined;
    if (!user) return undefined;
    return { accountId: sub, claims: async () => ({ sub, preferred_username: sub, name: user.name }) };
  },
  // The login claim in access tokens; a client's own token (client credentials) has none.
  extraTokenClaims: async (ctx, token) =>
    token.accountId ? { preferred_username: token.accountId } : undefined,
  responseTypes: ['code'],
  pkce: { required: () => true },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  features: {
    devInteractions: { enabled: false }, // it would take any login: ours checks the password
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page('Logga ut', `<p>Vill du logga ut även här, hos inloggningstjänsten?</p>${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Ja, logga ut</button>
<button type="submit" form="op.logoutForm">Nej</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Utloggad', '<p>Du är utloggad.</p>');
      },
    },
    deviceFlow: {
      enabled: true,
      async userCodeInputSource(ctx, form, out, err) {
        const note = err
          ? '<p class="fel">Koden stämmer inte eller har gått ut. Försök igen.</p>'
          : '<p>Skriv in koden som visas i terminalen.</p>';
        // The provider's form, its English placeholder in Swedish.
        const swedish = form.replace(/placeholder="[^"]*"/, 'placeholder="Koden, t.ex. BCDF-GHJK"');
        ctx.body = page('Logga in en enhet', `${note}${swedish}
<button type="submit" form="op.deviceInputForm">Fortsätt</button>`);
      },
      async userCodeConfirmSource(ctx, form, client, deviceInfo, userCode) {
        ctx.body = page('Bekräfta inloggningen', `<p>${escape(client.clientName || client.clientId)}
visar koden <code>${escape(userCode)}</code>. Stämmer det?</p>${form}
<button type="submit" form="op.deviceConfirmForm">Ja, logga in</button>`);
      },
      async successSource(ctx) {
        ctx.body = page('Inloggad', '<p>Du är inloggad. Gå tillbaka till terminalen.</p>');
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => (oneOf ? oneOf[0] : api.resource),
      // Without it a code or device grant asking for openid would get an opaque token for
      // userinfo instead of a JWT for the API.
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, indicator) => resourceServer(indicator),
    },
  },
  clientBasedCORS: () => false,
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Något gick fel', `<p>${escape(out.error)}: ${escape(out.error_description)}</p>`);
  },
  ttl: {
    AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL || api.access_token_ttl,
    ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL || api.access_token_ttl,
    AuthorizationCode: 60,
    DeviceCode: 600,
    IdToken: 3600,
    RefreshToken: config.refresh_token_ttl,
    Interaction: 600,
    Session: config.session_ttl,
    Grant: config.session_ttl,
  },
};

function loginForm(uid, error, login) {
  const note = error ? `<p class="fel">${escape(error)}</p>` : '';
  return page('Logga in', `${note}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Användarnamn <input type="text" name="login" value="${escape(login)}" autocomplete="username" autofocus></label>
<label>Lösenord <input type="password" name="password" autocomplete="current-password"></label>
<button type="submit">Logga in</button>
</form>`);
}

function send(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 8192) throw Object.assign(new Error('för stor begäran'), { statusCode: 413 });
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

// Sign-in is rate-limited per login: after FAILURES_ALLOWED wrong passwords within
// FAILURE_WINDOW_MS, that login is refused (429) until the oldest failure leaves the window.
const FAILURES_ALLOWED = 5;
const FAILURE_WINDOW_MS = 5 * 60 * 1000;
const failures = new Map();

function recentFailures(login) {
  const now = Date.now();
  const kept = (failures.get(login) || []).filter((at) => now - at < FAILURE_WINDOW_MS);
  // Only logins with recent failures are remembered: the map cannot grow without end.
  if (kept.length) failures.set(login, kept);
  else failures.delete(login);
  return kept;
}

function passwordMatches(login, given) {
  const user = Object.hasOwn(users, login) ? users[login] : undefined;
  // Compared in constant time, and as long for an unknown login as for a known one.
  const expected = crypto.createHash('sha256').update(user ? user.password : crypto.randomUUID()).digest();
  const actual = crypto.createHash('sha256').update(given).digest();
  return crypto.timingSafeEqual(expected, actual) && user !== undefined;
}

// First-party clients only: what they ask for is granted without a consent screen.
async function grantAsked(provider, req, res, details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
  if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const saved = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId: saved } }, { mergeWithLastSubmission: true });
}

async function interaction(provider, req, res, uid, posted) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page('Något gick fel', '<p>Fel inloggning.</p>'));
  if (details.prompt.name === 'consent') return grantAsked(provider, req, res, details);
  if (details.prompt.name !== 'login') return send(res, 400, page('Något gick fel', ''));
  if (!posted) return send(res, 200, loginForm(uid));
  if (req.method !== 'POST') return send(res, 405, page('Något gick fel', ''));
  const form = await readForm(req);
  const login = (form.get('login') || '').slice(0, 100);
  if (recentFailures(login).length >= FAILURES_ALLOWED) {
    res.setHeader('retry-after', String(Math.ceil(FAILURE_WINDOW_MS / 1000)));
    return send(res, 429, loginForm(uid, 'För många misslyckade försök. Vänta några minuter.', login));
  }
  if (!passwordMatches(login, form.get('password') || '')) {
    failures.set(login, [...recentFailures(login), Date.now()]);
    return send(res, 401, loginForm(uid, 'Fel användarnamn eller lösenord.', login));
  }
  failures.delete(login);
  return provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
}

let provider;
let callback;
const server = http.createServer(async (req, res) => {
  const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?\/?(?:\?.*)?$/.exec(req.url);
  if (!match) return callback(req, res);
  try {
    await interaction(provider, req, res, match[1], Boolean(match[2]));
  } catch (error) {
    console.error('interaction:', error.message);
    if (!res.headersSent) {
      const message = error.statusCode === 413 ? 'För stor begäran.' : 'Inloggningen gick ut; börja om.';
      send(res, error.statusCode || 400, page('Något gick fel', `<p>${message}</p>`));
    }
  }
});

server.listen(Number(process.env.IDP_PORT || 0), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  provider = new Provider(issuer, configuration);
  provider.on('server_error', (ctx, error) => console.error('server_error:', error.message));
  callback = provider.callback();
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
