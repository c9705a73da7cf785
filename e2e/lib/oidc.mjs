// Sign-in providers for the end-to-end tests, and a browser that walks through them.
//
// - startOidcProvider(): a real OpenID Connect provider (the certified `oidc-provider` package) on
//   127.0.0.1, with RS256 and ES256 signing keys made at start, one confidential client
//   (client_secret_basic and client_secret_post both accepted), PKCE required, and accounts found
//   by a login name the test chooses, each with its `sub`, `email` and `email_verified`. Its login
//   and consent pages are our own minimal forms (not devInteractions), which BrowserJar fills in.
// - startEvilIssuer(): a small OpenID Connect issuer of our own (node:http + jose) whose accounts
//   can ask for a bad ID token: a wrong or missing nonce, an expired `exp`, a wrong `aud` or
//   `iss`, a signature by a key it does not publish, `alg: none`, HS256. Without that it is a
//   correct issuer, so a test can show the same flow succeeds.
// - startFakeGitHub(): GitHub's OAuth 2.0 endpoints (/login/oauth/authorize and access_token) and
//   its REST API (`GET /user`, `GET /user/emails` with primary/verified flags), under a base path
//   like GitHub Enterprise's `/api/v3`, strict where GitHub is (a User-Agent on API calls, the
//   user:email scope for /user/emails, errors of the token endpoint in a 200 body).
// - BrowserJar and signIn(): a browser's cookie store (kept per origin, with paths and expiry) and
//   the walk a person makes: the worker's /api/oauth/{id}/start, the provider's login and consent
//   forms, back to the worker's callback. It returns every hop, the callback URL and the final
//   answer of the worker.
//
// Every server listens on 127.0.0.1 at a port the kernel picks (bound before anyone learns it, so
// nothing can take it in between); `close()` stops it. This module needs no worker and reads no
// environment variable: e2e/tests/oidc-harness.test.mjs runs it on its own.
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { SignJWT, UnsecuredJWT, exportJWK } from 'jose';
import Provider from 'oidc-provider';
import { parseSetCookieLines } from './cookies.mjs';

const HOST = '127.0.0.1';
const REQUEST_TIMEOUT_MS = 30_000;

/** A random secret: hex, so it needs no encoding in a form body or a Basic header. */
export const randomSecret = (bytes = 32) => randomBytes(bytes).toString('hex');

const b64url = (buf) => Buffer.from(buf).toString('base64url');
/** The S256 code challenge of a PKCE verifier (RFC 7636). */
export const pkceChallenge = (verifier) => b64url(createHash('sha256').update(verifier).digest());

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const unescapeHtml = (s) => String(s).replace(/&(amp|lt|gt|quot|#39);/g, (_, e) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]);

/**
 * An HTML page of forms, as every provider here shows its login and consent steps. Each form has
 * `data-step` (`login`, `consent` or `deny`), which BrowserJar looks for; `fields` are hidden
 * inputs, `login: true` adds the text input a person types the login name into.
 */
export function formPage(title, forms) {
  const body = forms.map(({ step, action, fields = {}, login = false, button }) => [
    `<form method="post" action="${escapeHtml(action)}" data-step="${step}">`,
    ...Object.entries(fields).map(([k, v]) => `  <input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`),
    login ? '  <label>Login <input type="text" name="login" autofocus></label>' : '',
    `  <button type="submit">${escapeHtml(button ?? step)}</button>`,
    '</form>',
  ].filter(Boolean).join('\n')).join('\n');
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>\n<body>\n<h1>${escapeHtml(title)}</h1>\n${body}\n</body></html>\n`;
}

/** The forms of a page made by formPage (or any page of that plain shape). */
export function parseForms(html) {
  const forms = [];
  for (const [, attrText, inner] of String(html).matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = Object.fromEntries([...attrText.matchAll(/([\w-]+)="([^"]*)"/g)].map(([, k, v]) => [k.toLowerCase(), unescapeHtml(v)]));
    const fields = {};
    const inputs = [];
    for (const [, inputAttrs] of inner.matchAll(/<input\b([^>]*)>/gi)) {
      const a = Object.fromEntries([...inputAttrs.matchAll(/([\w-]+)="([^"]*)"/g)].map(([, k, v]) => [k.toLowerCase(), unescapeHtml(v)]));
      if (!a.name) continue;
      inputs.push(a.name);
      if ((a.type ?? 'text') === 'hidden' || a.value !== undefined) fields[a.name] = a.value ?? '';
    }
    forms.push({ step: attrs['data-step'], method: (attrs.method ?? 'get').toUpperCase(), action: attrs.action ?? '', fields, inputs });
  }
  return forms;
}

const readBody = async (req) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
};

/** The form or JSON body of a request, as a plain object of strings. */
const readParams = async (req) => {
  const text = await readBody(req);
  if (/^application\/json/i.test(req.headers['content-type'] ?? '')) {
    try { return JSON.parse(text); } catch { return {}; }
  }
  return Object.fromEntries(new URLSearchParams(text));
};

const send = (res, status, body, headers = {}) => {
  const isJson = typeof body !== 'string';
  const text = isJson ? JSON.stringify(body) : body;
  res.writeHead(status, {
    'content-type': isJson ? 'application/json' : 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
};

const redirect = (res, location, status = 302) => {
  res.writeHead(status, { location, 'content-length': 0, 'cache-control': 'no-store' });
  res.end();
};

/** `location` with `params` added to its query (undefined values left out). */
const withQuery = (location, params) => {
  const url = new URL(location);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url.href;
};

/**
 * The client credentials of a token request, from `Authorization: Basic` (RFC 6749 2.3.1: each
 * part form-urlencoded, then base64) or from the body (client_secret_post).
 */
function clientCredentials(req, params) {
  const header = req.headers.authorization;
  if (header && /^basic /i.test(header)) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return { method: 'client_secret_basic', clientId: undefined, clientSecret: undefined };
    const dec = (s) => { try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch { return s; } };
    return { method: 'client_secret_basic', clientId: dec(decoded.slice(0, i)), clientSecret: dec(decoded.slice(i + 1)), both: params.client_secret !== undefined };
  }
  return { method: params.client_secret !== undefined ? 'client_secret_post' : 'none', clientId: params.client_id, clientSecret: params.client_secret };
}

/** Starts an http server on 127.0.0.1 at a port the kernel picks; resolves to { server, port, url }. */
async function listen(handler) {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((error) => {
      if (!res.headersSent) send(res, 500, { error: 'server_error', error_description: String(error?.message ?? error) });
      else res.destroy();
    });
  });
  // Connections a browser or the worker keeps alive must not hold close() up.
  server.keepAliveTimeout = 1000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, resolve);
  });
  const { port } = server.address();
  const close = () => new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  return { server, port, url: `http://${HOST}:${port}`, close };
}

/** A fresh RSA (RS256) and EC P-256 (ES256) signing key, as private JWKs with kid, alg and use. */
function signingKeys(prefix) {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = (pair, alg) => ({ ...pair.privateKey.export({ format: 'jwk' }), kid: `${prefix}-${alg.toLowerCase()}-${randomBytes(4).toString('hex')}`, alg, use: 'sig' });
  return { rsa: { ...rsa, jwk: jwk(rsa, 'RS256') }, ec: { ...ec, jwk: jwk(ec, 'ES256') } };
}

const publicJwk = ({ kty, n, e, crv, x, y, kid, alg, use }) => Object.fromEntries(Object.entries({ kty, n, e, crv, x, y, kid, alg, use }).filter(([, v]) => v !== undefined));

// ---------------------------------------------------------------------------------------------
// The real OpenID Connect provider
// ---------------------------------------------------------------------------------------------

/**
 * oidc-provider's storage, in memory and one per provider (its built-in one is a process-wide
 * LRU of 1000 entries, and warns at every start): the adapter interface of its documentation.
 */
function memoryAdapter() {
  const store = new Map(); // key -> { payload, expires }
  const grants = new Map(); // grantId -> Set of keys
  const get = (key) => {
    const entry = store.get(key);
    if (!entry) return undefined;
    if (entry.expires <= Date.now()) { store.delete(key); return undefined; }
    return entry.payload;
  };
  return class Adapter {
    constructor(model) { this.model = model; }
    key(id) { return `${this.model}:${id}`; }
    async upsert(id, payload, expiresIn) {
      const expires = expiresIn ? Date.now() + expiresIn * 1000 : Infinity;
      const key = this.key(id);
      store.set(key, { payload, expires });
      if (payload.uid) store.set(`uid:${payload.uid}`, { payload: id, expires });
      if (payload.grantId) {
        if (!grants.has(payload.grantId)) grants.set(payload.grantId, new Set());
        grants.get(payload.grantId).add(key);
      }
    }
    async find(id) { return get(this.key(id)); }
    async findByUid(uid) { const id = get(`uid:${uid}`); return id === undefined ? undefined : this.find(id); }
    async findByUserCode() { return undefined; }
    async consume(id) { const payload = get(this.key(id)); if (payload) payload.consumed = Math.floor(Date.now() / 1000); }
    async destroy(id) { store.delete(this.key(id)); }
    async revokeByGrantId(grantId) {
      for (const key of grants.get(grantId) ?? []) store.delete(key);
      grants.delete(grantId);
    }
  };
}

/**
 * Starts oidc-provider on 127.0.0.1. The client's redirect URIs are known only once the worker
 * runs, so the provider answers 503 until `setRedirectUris([...])` has been called (the port is
 * bound from the start, so the worker can be configured with `issuer` first).
 *
 * Returns { issuer, clientId, clientSecret, keys, setRedirectUris, addAccount, accounts,
 *           requests, tokenRequests, errors, vars(ID), discovery(), close }:
 * - `addAccount(login, {email, email_verified, sub?})` registers a person; the login form takes
 *   `login`, the ID token says `sub` (random unless given), `email` and `email_verified`.
 *   The returned object can be changed later (a changed email at the provider, say).
 * - `requests` lists every request the provider received ({method, path, query, headers});
 *   `tokenRequests` every call to the token endpoint ({authMethod}: which client authentication
 *   the caller used); `errors` the messages of the provider's refusals (a failed PKCE check, a
 *   reused code...), for failure messages.
 * - `vars('LOCAL')` is the worker's OAUTH_LOCAL_* variables for this provider.
 */
export async function startOidcProvider({ clientId = 'userdo-local', clientSecret = randomSecret(), idTokenAlg = 'RS256', name } = {}) {
  const accounts = new Map(); // login -> account
  const bySub = new Map();
  const requests = [];
  const tokenRequests = [];
  const errors = [];
  const keys = signingKeys('local');
  let provider;
  let handler;

  const http = await listen(async (req, res) => {
    const url = new URL(req.url, `http://${HOST}`);
    requests.push({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: { ...req.headers } });
    if (!provider) return send(res, 503, { error: 'temporarily_unavailable', error_description: 'setRedirectUris() not called yet' });
    if (url.pathname === '/token' && req.method === 'POST') {
      tokenRequests.push({ authMethod: req.headers.authorization ? 'client_secret_basic' : 'client_secret_post' });
    }
    const interaction = url.pathname.match(/^\/interaction\/([\w-]+)(?:\/(login|confirm|abort))?$/);
    if (interaction) return interactionRoute(req, res, interaction[1], interaction[2]);
    return handler(req, res);
  });
  const issuer = http.url;

  // The login and consent steps: our own pages, driven by the provider's interaction API.
  async function interactionRoute(req, res, uid, action) {
    let details;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (error) {
      return send(res, 400, formPage(`interaction ${uid}: ${error.message}`, []));
    }
    const { prompt, params, session, grantId } = details;
    if (!action && req.method === 'GET') {
      if (prompt.name === 'login') {
        return send(res, 200, formPage('Sign in', [
          { step: 'login', action: `/interaction/${uid}/login`, login: true, button: 'Sign in' },
          { step: 'deny', action: `/interaction/${uid}/abort`, button: 'Cancel' },
        ]));
      }
      if (prompt.name === 'consent') {
        return send(res, 200, formPage(`Allow ${params.client_id} to see ${params.scope}?`, [
          { step: 'consent', action: `/interaction/${uid}/confirm`, button: 'Allow' },
          { step: 'deny', action: `/interaction/${uid}/abort`, button: 'Deny' },
        ]));
      }
      return send(res, 501, formPage(`prompt ${prompt.name} not implemented`, []));
    }
    if (req.method !== 'POST') return send(res, 405, formPage('method not allowed', []));
    const body = await readParams(req);
    if (action === 'abort') {
      return provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false });
    }
    if (action === 'login') {
      if (prompt.name !== 'login') return send(res, 400, formPage(`expected prompt login, not ${prompt.name}`, []));
      const account = accounts.get(body.login);
      if (!account) return send(res, 400, formPage(`unknown login ${JSON.stringify(body.login)}`, []));
      return provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
    }
    if (action === 'confirm') {
      if (prompt.name !== 'consent') return send(res, 400, formPage(`expected prompt consent, not ${prompt.name}`, []));
      const grant = grantId
        ? await provider.Grant.find(grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
      if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
      if (prompt.details.missingResourceScopes) {
        for (const [indicator, scope] of Object.entries(prompt.details.missingResourceScopes)) grant.addResourceScope(indicator, scope.join(' '));
      }
      return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
    }
    return send(res, 404, formPage('not found', []));
  }

  function setRedirectUris(redirectUris) {
    provider = new Provider(issuer, {
      clients: [{
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        // The registered method; oidc-provider accepts client_secret_post for it as well.
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: idTokenAlg,
      }],
      jwks: { keys: [keys.rsa.jwk, keys.ec.jwk] },
      adapter: memoryAdapter(),
      pkce: { required: () => true },
      // Lifetimes in seconds (set, so the provider does not warn about its defaults).
      ttl: { AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 300, IdToken: 300 },
      claims: { openid: ['sub'], email: ['email', 'email_verified'] },
      // The ID token of the code flow carries the scope's claims (email, email_verified) too, as
      // most providers' do; userinfo answers them as well.
      conformIdTokenClaims: false,
      features: { devInteractions: { enabled: false } },
      interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
      cookies: { keys: [randomSecret()] },
      findAccount: async (ctx, sub) => {
        const account = bySub.get(sub);
        if (!account) return undefined;
        return { accountId: sub, claims: async () => ({ sub, email: account.email, email_verified: account.email_verified }) };
      },
      renderError: async (ctx, out) => {
        ctx.type = 'html';
        ctx.body = formPage(`provider error: ${out.error}: ${out.error_description ?? ''}`, []);
      },
    });
    handler = provider.callback();
    for (const event of ['grant.error', 'authorization.error', 'server_error', 'userinfo.error']) {
      provider.on(event, (ctx, error) => errors.push(`${event}: ${error?.error ?? ''} ${error?.error_description ?? error?.message ?? error}${error?.error_detail ? ` (${error.error_detail})` : ''}`));
    }
  }

  return {
    issuer,
    url: issuer,
    clientId,
    clientSecret,
    keys,
    accounts,
    requests,
    tokenRequests,
    errors,
    setRedirectUris,
    addAccount(login, { email, email_verified = true, sub = `sub-${randomUUID()}` } = {}) {
      if (accounts.has(login)) throw new Error(`login ${login} exists`);
      const account = { login, sub, email, email_verified };
      accounts.set(login, account);
      bySub.set(sub, account);
      return account;
    },
    discovery: async () => (await fetch(`${issuer}/.well-known/openid-configuration`)).json(),
    vars: (id) => ({
      [`OAUTH_${id}_ISSUER`]: issuer,
      [`OAUTH_${id}_CLIENT_ID`]: clientId,
      [`OAUTH_${id}_CLIENT_SECRET`]: clientSecret,
      ...(name ? { [`OAUTH_${id}_NAME`]: name } : {}),
    }),
    close: http.close,
  };
}

// ---------------------------------------------------------------------------------------------
// The evil issuer: correct unless an account asks for a bad ID token
// ---------------------------------------------------------------------------------------------

/** What an evil account's ID token can get wrong; each must make a relying party refuse it. */
export const ID_TOKEN_TAMPERS = Object.freeze({
  nonce: 'a nonce other than the one of the authorization request',
  no_nonce: 'no nonce claim at all, though the request sent one',
  expired: 'an exp an hour in the past (iat two hours)',
  aud: 'an aud naming another client',
  iss: 'an iss naming another issuer (the account\'s `iss`, or https://accounts.evil.example)',
  signature: 'a signature by an RSA key it does not publish, under the kid of the one it does',
  unknown_kid: 'a signature by an RSA key it does not publish, under a kid of its own',
  none: 'alg none and no signature',
  hs256: 'an HS256 signature keyed with the client secret (not one of the published keys)',
});

/**
 * Starts a small OpenID Connect issuer: discovery, JWKS (RS256 and ES256), authorize (login and
 * consent forms, PKCE S256 required, exact redirect URIs), token (client_secret_basic or _post,
 * single-use codes, the PKCE check) and userinfo. `addAccount(login, {email, email_verified,
 * sub?, tamper?, alg?, iss?})`: `tamper` is one of ID_TOKEN_TAMPERS' keys (or undefined for a
 * correct ID token), `alg` RS256 (default) or ES256.
 *
 * Returns { issuer, clientId, clientSecret, setRedirectUris, addAccount, accounts, requests,
 *           tokenRequests, errors, vars(ID), close }; `tokenRequests` records
 *           {authMethod, clientId, clientSecret} of each call to the token endpoint.
 */
export async function startEvilIssuer({ clientId = 'userdo-evil', clientSecret = randomSecret(), name } = {}) {
  const accounts = new Map();
  const requests = [];
  const tokenRequests = [];
  const errors = [];
  const transactions = new Map(); // id -> authorization request being shown to the user
  const codes = new Map(); // code -> { account, nonce, redirectUri, codeChallenge, scope }
  const accessTokens = new Map();
  let keys = signingKeys('evil');
  const rogue = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let redirectUris = [];

  const refuse = (res, status, error, description) => {
    errors.push(`${error}: ${description}`);
    return send(res, status, { error, error_description: description });
  };

  const http = await listen(async (req, res) => {
    const url = new URL(req.url, `http://${HOST}`);
    requests.push({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: { ...req.headers } });
    const q = Object.fromEntries(url.searchParams);
    switch (`${req.method} ${url.pathname}`) {
      case 'GET /.well-known/openid-configuration':
        return send(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          userinfo_endpoint: `${issuer}/userinfo`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256', 'ES256'],
          token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
          code_challenge_methods_supported: ['S256'],
          scopes_supported: ['openid', 'email'],
          claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'email', 'email_verified'],
        });
      case 'GET /jwks':
        return send(res, 200, { keys: [publicJwk(keys.rsa.jwk), publicJwk(keys.ec.jwk)] });
      case 'GET /authorize': {
        // Errors the user agent cannot be sent back with (unknown client, unregistered
        // redirect URI) are shown as a page, as RFC 6749 4.1.2.1 says.
        if (q.client_id !== clientId) return send(res, 400, formPage(`unknown client_id ${q.client_id}`, []));
        if (!redirectUris.includes(q.redirect_uri)) return send(res, 400, formPage(`redirect_uri ${q.redirect_uri} not registered`, []));
        const back = (error, description) => { errors.push(`${error}: ${description}`); return redirect(res, withQuery(q.redirect_uri, { error, error_description: description, state: q.state, iss: issuer })); };
        if (q.response_type !== 'code') return back('unsupported_response_type', 'only code');
        if (!(q.scope ?? '').split(' ').includes('openid')) return back('invalid_scope', 'openid scope missing');
        if (!q.code_challenge || q.code_challenge_method !== 'S256') return back('invalid_request', 'PKCE S256 required');
        const txn = randomUUID();
        transactions.set(txn, { ...q });
        return send(res, 200, formPage('Sign in to the evil issuer', [
          { step: 'login', action: '/login', fields: { txn }, login: true, button: 'Sign in' },
          { step: 'deny', action: '/decide', fields: { txn, decision: 'deny' }, button: 'Cancel' },
        ]));
      }
      case 'POST /login': {
        const body = await readParams(req);
        const t = transactions.get(body.txn);
        if (!t) return send(res, 400, formPage('unknown transaction', []));
        const account = accounts.get(body.login);
        if (!account) return send(res, 400, formPage(`unknown login ${JSON.stringify(body.login)}`, []));
        t.account = account;
        return send(res, 200, formPage(`Allow ${t.client_id} to see ${t.scope}?`, [
          { step: 'consent', action: '/decide', fields: { txn: body.txn, decision: 'allow' }, button: 'Allow' },
          { step: 'deny', action: '/decide', fields: { txn: body.txn, decision: 'deny' }, button: 'Deny' },
        ]));
      }
      case 'POST /decide': {
        const body = await readParams(req);
        const t = transactions.get(body.txn);
        if (!t) return send(res, 400, formPage('unknown transaction', []));
        transactions.delete(body.txn);
        if (body.decision !== 'allow' || !t.account) {
          return redirect(res, withQuery(t.redirect_uri, { error: 'access_denied', error_description: 'End-User denied', state: t.state, iss: issuer }), 303);
        }
        const code = randomSecret(24);
        codes.set(code, { account: t.account, nonce: t.nonce, redirectUri: t.redirect_uri, codeChallenge: t.code_challenge, scope: t.scope, at: Date.now() });
        return redirect(res, withQuery(t.redirect_uri, { code, state: t.state, iss: issuer }), 303);
      }
      case 'POST /token': {
        const params = await readParams(req);
        const creds = clientCredentials(req, params);
        tokenRequests.push({ authMethod: creds.method, clientId: creds.clientId, clientSecret: creds.clientSecret });
        if (creds.both) return refuse(res, 400, 'invalid_request', 'client authentication must only be provided using one mechanism');
        if (creds.clientId !== clientId || creds.clientSecret !== clientSecret) {
          return refuse(res, 401, 'invalid_client', `client authentication failed (${creds.method})`);
        }
        if (params.grant_type !== 'authorization_code') return refuse(res, 400, 'unsupported_grant_type', String(params.grant_type));
        const grant = codes.get(params.code);
        // Single use: the first presentation spends the code, whatever follows.
        codes.delete(params.code);
        if (!grant) return refuse(res, 400, 'invalid_grant', 'unknown, expired or already used code');
        if (Date.now() - grant.at > 60_000) return refuse(res, 400, 'invalid_grant', 'code expired');
        if (params.redirect_uri !== grant.redirectUri) return refuse(res, 400, 'invalid_grant', 'redirect_uri differs from the authorization request');
        if (!params.code_verifier || pkceChallenge(params.code_verifier) !== grant.codeChallenge) {
          return refuse(res, 400, 'invalid_grant', 'PKCE verification failed');
        }
        const accessToken = randomSecret(24);
        accessTokens.set(accessToken, grant.account);
        return send(res, 200, {
          access_token: accessToken,
          token_type: 'Bearer',
          expires_in: 300,
          scope: grant.scope,
          id_token: await idToken(grant.account, grant.nonce),
        });
      }
      case 'GET /userinfo': {
        const account = accessTokens.get((req.headers.authorization ?? '').replace(/^bearer /i, ''));
        if (!account) return send(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
        return send(res, 200, { sub: account.sub, email: account.email, email_verified: account.email_verified });
      }
      default:
        return send(res, 404, { error: 'not_found' });
    }
  });
  const issuer = http.url;

  async function idToken(account, nonce) {
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: account.sub, email: account.email, email_verified: account.email_verified, auth_time: now, nonce };
    let iss = issuer;
    let aud = clientId;
    let iat = now;
    let exp = now + 300;
    switch (account.tamper) {
      case 'nonce': claims.nonce = `not-${nonce}-${randomSecret(4)}`; break;
      case 'no_nonce': delete claims.nonce; break;
      case 'expired': iat = now - 7200; exp = now - 3600; claims.auth_time = iat; break;
      case 'aud': aud = 'some-other-client'; break;
      case 'iss': iss = account.iss ?? 'https://accounts.evil.example'; break;
      default: break;
    }
    if (claims.nonce === undefined) delete claims.nonce;
    const jwt = () => new SignJWT(claims).setIssuer(iss).setAudience(aud).setIssuedAt(iat).setExpirationTime(exp);
    switch (account.tamper) {
      case 'none':
        return new UnsecuredJWT({ ...claims, iss, aud, iat, exp }).encode();
      case 'hs256':
        return jwt().setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(clientSecret));
      case 'signature':
        return jwt().setProtectedHeader({ alg: 'RS256', kid: keys.rsa.jwk.kid, typ: 'JWT' }).sign(rogue.privateKey);
      case 'unknown_kid':
        return jwt().setProtectedHeader({ alg: 'RS256', kid: `rogue-${randomSecret(4)}`, typ: 'JWT' }).sign(rogue.privateKey);
      default: {
        const key = account.alg === 'ES256' ? keys.ec : keys.rsa;
        return jwt().setProtectedHeader({ alg: key.jwk.alg, kid: key.jwk.kid, typ: 'JWT' }).sign(key.privateKey);
      }
    }
  }

  return {
    /** Replaces the signing keys (new kids), as a key rotation does: the old ones leave the JWKS. */
    rotateKeys: () => { keys = signingKeys('evil'); },
    /** The kids the JWKS publishes now. */
    kids: () => [keys.rsa.jwk.kid, keys.ec.jwk.kid],
    issuer,
    url: issuer,
    clientId,
    clientSecret,
    keys,
    accounts,
    requests,
    tokenRequests,
    errors,
    setRedirectUris(uris) { redirectUris = [...uris]; },
    addAccount(login, { email, email_verified = true, sub = `evil-${randomUUID()}`, tamper, alg = 'RS256', iss } = {}) {
      if (accounts.has(login)) throw new Error(`login ${login} exists`);
      if (tamper !== undefined && !(tamper in ID_TOKEN_TAMPERS)) throw new Error(`unknown tamper ${tamper}`);
      const account = { login, sub, email, email_verified, tamper, alg, iss };
      accounts.set(login, account);
      return account;
    },
    vars: (id) => ({
      [`OAUTH_${id}_ISSUER`]: issuer,
      [`OAUTH_${id}_CLIENT_ID`]: clientId,
      [`OAUTH_${id}_CLIENT_SECRET`]: clientSecret,
      ...(name ? { [`OAUTH_${id}_NAME`]: name } : {}),
    }),
    close: http.close,
  };
}

// ---------------------------------------------------------------------------------------------
// The fake GitHub
// ---------------------------------------------------------------------------------------------

/**
 * Starts a fake GitHub: `GET /login/oauth/authorize` (login and consent forms; PKCE optional, as
 * on GitHub, but checked when a code_challenge was sent), `POST /login/oauth/access_token` (the
 * client's id and secret in the body or a Basic header; JSON with `Accept: application/json`,
 * a form-encoded body otherwise; refusals as a 200 `{error}`, as GitHub does), and the REST API
 * under `apiPath` (default `/api/v3`, GitHub Enterprise's): `GET /user` and `GET /user/emails`
 * with `Authorization: Bearer|token <t>`. Like GitHub's, the API refuses a request without a
 * User-Agent (403) and answers /user/emails only to a token granted `user:email` or `user` (404).
 *
 * `addAccount(login, {id?, emails: [{email, primary, verified}], publicEmail?, emailsStatus?})`:
 * `publicEmail` is /user's `email` (null unless given; the public address can differ from the
 * primary one); `emailsStatus` makes /user/emails fail with that status.
 *
 * Returns { url, apiUrl, authorizationUrl, tokenUrl, clientId, clientSecret, setRedirectUris,
 *           addAccount, accounts, requests, tokenRequests, apiRequests, errors, vars(ID), close }.
 */
export async function startFakeGitHub({ clientId = `Iv1.${randomSecret(8)}`, clientSecret = randomSecret(20), apiPath = '/api/v3' } = {}) {
  const accounts = new Map();
  const requests = [];
  const tokenRequests = [];
  const apiRequests = [];
  const errors = [];
  const transactions = new Map();
  const codes = new Map();
  const tokens = new Map(); // access token -> { account, scopes }
  let redirectUris = [];
  let nextId = 1000 + Math.floor(Math.random() * 1_000_000);

  const http = await listen(async (req, res) => {
    const url = new URL(req.url, `http://${HOST}`);
    requests.push({ method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), headers: { ...req.headers } });
    const q = Object.fromEntries(url.searchParams);
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /login/oauth/authorize') {
      if (q.client_id !== clientId) return send(res, 404, formPage(`unknown client_id ${q.client_id}`, []));
      if (!redirectUris.includes(q.redirect_uri)) {
        return send(res, 200, formPage('The redirect_uri is not associated with this application.', []));
      }
      if (q.code_challenge !== undefined && q.code_challenge_method !== 'S256') {
        errors.push('authorize: code_challenge_method must be S256');
        return redirect(res, withQuery(q.redirect_uri, { error: 'invalid_request', error_description: 'code_challenge_method must be S256', state: q.state }));
      }
      const txn = randomUUID();
      transactions.set(txn, { ...q });
      return send(res, 200, formPage('Sign in to GitHub', [
        { step: 'login', action: '/session', fields: { txn }, login: true, button: 'Sign in' },
      ]));
    }
    if (route === 'POST /session') {
      const body = await readParams(req);
      const t = transactions.get(body.txn);
      if (!t) return send(res, 400, formPage('unknown transaction', []));
      const account = accounts.get(body.login);
      if (!account) return send(res, 400, formPage(`unknown login ${JSON.stringify(body.login)}`, []));
      t.account = account;
      return send(res, 200, formPage(`Authorize ${clientId} (${t.scope ?? ''})`, [
        { step: 'consent', action: '/login/oauth/authorize', fields: { txn: body.txn, authorize: '1' }, button: 'Authorize' },
        { step: 'deny', action: '/login/oauth/authorize', fields: { txn: body.txn, authorize: '0' }, button: 'Cancel' },
      ]));
    }
    if (route === 'POST /login/oauth/authorize') {
      const body = await readParams(req);
      const t = transactions.get(body.txn);
      if (!t) return send(res, 400, formPage('unknown transaction', []));
      transactions.delete(body.txn);
      if (body.authorize !== '1' || !t.account) {
        return redirect(res, withQuery(t.redirect_uri, {
          error: 'access_denied',
          error_description: 'The user has denied your application access.',
          error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied',
          state: t.state,
        }));
      }
      const code = randomSecret(10);
      codes.set(code, { account: t.account, redirectUri: t.redirect_uri, codeChallenge: t.code_challenge, scopes: (t.scope ?? '').split(/[ ,]+/).filter(Boolean), at: Date.now() });
      return redirect(res, withQuery(t.redirect_uri, { code, state: t.state }));
    }
    if (route === 'POST /login/oauth/access_token') {
      const params = { ...q, ...(await readParams(req)) };
      const creds = clientCredentials(req, params);
      tokenRequests.push({ authMethod: creds.method, clientId: creds.clientId, clientSecret: creds.clientSecret, accept: req.headers.accept, codeVerifier: params.code_verifier !== undefined });
      const answer = (body) => {
        if (/json/i.test(req.headers.accept ?? '')) return send(res, 200, body);
        const text = new URLSearchParams(body).toString();
        res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', 'content-length': Buffer.byteLength(text) });
        return res.end(text);
      };
      const fail = (error, description) => { errors.push(`${error}: ${description}`); return answer({ error, error_description: description, error_uri: 'https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors' }); };
      if (creds.clientId !== clientId || creds.clientSecret !== clientSecret) return fail('incorrect_client_credentials', 'The client_id and/or client_secret passed are incorrect.');
      const grant = codes.get(params.code);
      codes.delete(params.code);
      if (!grant || Date.now() - grant.at > 600_000) return fail('bad_verification_code', 'The code passed is incorrect or expired.');
      if (params.redirect_uri !== undefined && params.redirect_uri !== grant.redirectUri) return fail('redirect_uri_mismatch', 'The redirect_uri MUST match the registered callback URL for this application.');
      if (grant.codeChallenge !== undefined && (!params.code_verifier || pkceChallenge(params.code_verifier) !== grant.codeChallenge)) {
        return fail('bad_verification_code', 'The code_verifier does not match the code_challenge.');
      }
      const accessToken = `gho_${randomSecret(18)}`;
      tokens.set(accessToken, { account: grant.account, scopes: grant.scopes });
      return answer({ access_token: accessToken, token_type: 'bearer', scope: grant.scopes.join(',') });
    }
    if (url.pathname.startsWith(`${apiPath}/`) && req.method === 'GET') {
      const path = url.pathname.slice(apiPath.length);
      const auth = req.headers.authorization ?? '';
      apiRequests.push({ path, userAgent: req.headers['user-agent'], authorization: auth.split(' ')[0] });
      if (!req.headers['user-agent']) {
        errors.push(`api ${path}: no User-Agent`);
        return send(res, 403, 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.\n', { 'content-type': 'text/plain' });
      }
      const grant = tokens.get(auth.replace(/^(bearer|token) /i, ''));
      if (!grant) return send(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
      const { account } = grant;
      if (path === '/user') {
        return send(res, 200, {
          login: account.login, id: account.id, node_id: `U_${account.id}`, type: 'User', site_admin: false,
          name: account.name ?? account.login, email: account.publicEmail ?? null,
          avatar_url: `https://avatars.example/u/${account.id}`, html_url: `https://github.example/${account.login}`,
        });
      }
      if (path === '/user/emails') {
        if (!grant.scopes.includes('user:email') && !grant.scopes.includes('user')) {
          errors.push('api /user/emails: token lacks the user:email scope');
          return send(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/users/emails#list-email-addresses-for-the-authenticated-user', status: '404' });
        }
        if (account.emailsStatus) return send(res, account.emailsStatus, { message: 'Server Error' });
        return send(res, 200, account.emails.map(({ email, primary = false, verified = false }) => ({ email, primary, verified, visibility: primary ? 'private' : null })));
      }
      return send(res, 404, { message: 'Not Found' });
    }
    return send(res, 404, { message: 'Not Found' });
  });

  const apiUrl = `${http.url}${apiPath}`;
  return {
    url: http.url,
    apiUrl,
    authorizationUrl: `${http.url}/login/oauth/authorize`,
    tokenUrl: `${http.url}/login/oauth/access_token`,
    clientId,
    clientSecret,
    accounts,
    requests,
    tokenRequests,
    apiRequests,
    errors,
    setRedirectUris(uris) { redirectUris = [...uris]; },
    addAccount(login, { id = nextId++, emails = [], publicEmail, emailsStatus, name } = {}) {
      if (accounts.has(login)) throw new Error(`login ${login} exists`);
      const account = { login, id, emails, publicEmail, emailsStatus, name };
      accounts.set(login, account);
      return account;
    },
    vars: (id) => ({
      [`OAUTH_${id}_PRESET`]: 'github',
      [`OAUTH_${id}_CLIENT_ID`]: clientId,
      [`OAUTH_${id}_CLIENT_SECRET`]: clientSecret,
      [`OAUTH_${id}_AUTHORIZATION_URL`]: `${http.url}/login/oauth/authorize`,
      [`OAUTH_${id}_TOKEN_URL`]: `${http.url}/login/oauth/access_token`,
      [`OAUTH_${id}_API_URL`]: apiUrl,
    }),
    close: http.close,
  };
}

// ---------------------------------------------------------------------------------------------
// The browser
// ---------------------------------------------------------------------------------------------

/** The Set-Cookie lines of a fetch Response, parsed: { name: { value, attrs } }, attribute names lower-cased. */
export { parseSetCookieLines as parseCookies };

const defaultPath = (pathname) => {
  // RFC 6265 5.1.4: the directory of the request path.
  if (!pathname.startsWith('/')) return '/';
  const i = pathname.lastIndexOf('/');
  return i <= 0 ? '/' : pathname.slice(0, i);
};
const pathMatches = (requestPath, cookiePath) => requestPath === cookiePath
  || (requestPath.startsWith(cookiePath) && (cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/'));

/**
 * A browser's cookies and its navigation, one per person in a test. Cookies are kept per origin
 * (scheme, host and port: the worker and each provider run on 127.0.0.1 at different ports, so
 * keying by host alone would mix them, which only matters for names they share), with their Path
 * (RFC 6265 path-match) and expiry (Max-Age, Expires; an empty value or a past expiry deletes).
 * `history` records every response ({url, method, status, location, headers, text, setCookies,
 * cookies}), which a test can scan for what must never reach a browser.
 */
export class BrowserJar {
  #store = new Map(); // origin -> Map(name + '\0' + path -> { name, value, path, expires })
  history = [];

  constructor({ userAgent = 'Mozilla/5.0 (X11; Linux x86_64) userdo-e2e-browser' } = {}) {
    this.userAgent = userAgent;
  }

  #cookiesOf(origin) {
    if (!this.#store.has(origin)) this.#store.set(origin, new Map());
    return this.#store.get(origin);
  }

  /** Sets a cookie for the origin of `url` (e.g. the worker's session cookie, for link mode). */
  set(url, name, value, { path = '/' } = {}) {
    this.#cookiesOf(new URL(url).origin).set(`${name}\0${path}`, { name, value, path, expires: Infinity });
  }

  /** The value of a live cookie `name` that a request to `url` would carry, or undefined. */
  get(url, name) {
    return this.#matching(url).find((c) => c.name === name)?.value;
  }

  /** The names of the live cookies a request to `url` would carry. */
  names(url) {
    return this.#matching(url).map((c) => c.name).sort();
  }

  #matching(url) {
    const u = new URL(url);
    const now = Date.now();
    const jar = this.#cookiesOf(u.origin);
    const live = [];
    for (const [key, c] of jar) {
      if (c.expires <= now) jar.delete(key);
      else if (pathMatches(u.pathname, c.path)) live.push(c);
    }
    // RFC 6265 5.4: longer paths first.
    return live.sort((a, b) => b.path.length - a.path.length);
  }

  /** The Cookie header a request to `url` carries ('' when none). */
  cookieHeader(url) {
    return this.#matching(url).map((c) => `${c.name}=${c.value}`).join('; ');
  }

  /** Takes the Set-Cookie lines of a response from `url`. */
  store(url, setCookieLines) {
    const u = new URL(url);
    const jar = this.#cookiesOf(u.origin);
    for (const [name, { value, attrs }] of Object.entries(parseSetCookieLines(setCookieLines))) {
      const path = typeof attrs.path === 'string' && attrs.path.startsWith('/') ? attrs.path : defaultPath(u.pathname);
      let expires = Infinity;
      if (attrs['max-age'] !== undefined) expires = Date.now() + Number(attrs['max-age']) * 1000;
      else if (typeof attrs.expires === 'string') expires = Date.parse(attrs.expires);
      const key = `${name}\0${path}`;
      if (value === '' || !(expires > Date.now())) jar.delete(key);
      else jar.set(key, { name, value, path, expires });
    }
  }

  /**
   * One request, as a browser sends it: its cookies for that URL, no redirect followed. `form`
   * sends an application/x-www-form-urlencoded body (a form submission, with the page's Origin).
   * Returns { url, path, method, status, location (absolute, or undefined), rawLocation, headers,
   * text, json (when the body is JSON), setCookies, cookies }: the shape of api.mjs's `call`, so its
   * assertions (expectStatus) take it.
   */
  async request(url, { method = 'GET', form, headers = {}, origin } = {}) {
    const h = { 'user-agent': this.userAgent, accept: 'text/html,application/xhtml+xml,*/*;q=0.8', ...headers };
    const cookie = this.cookieHeader(url);
    if (cookie) h.cookie = cookie;
    if (origin) h.origin = origin;
    let body;
    if (form !== undefined) {
      h['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    let response;
    let text;
    try {
      response = await fetch(url, { method, headers: h, body, redirect: 'manual', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
      text = await response.text();
    } catch (e) {
      throw new Error(`browser: ${method} ${url}: no answer (${e.cause?.code ?? e.name}: ${e.message})`);
    }
    const setCookies = response.headers.getSetCookie();
    this.store(url, setCookies);
    const raw = response.headers.get('location');
    let json;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    const u = new URL(url);
    const result = {
      url,
      path: u.pathname + u.search,
      method,
      status: response.status,
      location: raw === null ? undefined : new URL(raw, url).href,
      rawLocation: raw ?? undefined,
      headers: response.headers,
      text,
      json,
      setCookies,
      cookies: parseSetCookieLines(setCookies),
    };
    this.history.push(result);
    return result;
  }
}

const isRedirect = (status) => status >= 300 && status < 400;
const brief = (r) => `${r.method} ${r.url} -> ${r.status}${r.location ? ` (Location: ${r.location})` : ''}${isRedirect(r.status) ? '' : `: ${String(r.text).replace(/\s+/g, ' ').slice(0, 300)}`}`;

/**
 * Plays a person signing in: GET `startUrl` (the worker's /api/oauth/{id}/start...), then follows
 * the provider's redirects and fills in its forms (`login` into the login form; then the consent
 * form, or the deny form when `consent` is false) until the provider sends the browser back to the
 * worker's origin, and GETs that callback URL. With `stopAtCallback` it returns before that GET,
 * so a test can replay, change or move the callback URL.
 *
 * Returns { start, authorizeUrl, callbackUrl, final, status, location, setCookies, cookies, hops,
 *           stage, trace }: `start` is the worker's answer to startUrl; `final` its answer to the
 *           callback (`final`, `status`, `location`, `setCookies` and `cookies` are those of the
 *           start when it was not a redirect: `stage` is then 'start'; otherwise 'callback', or
 *           'stopped' with stopAtCallback). `trace()` describes every hop, for failure messages.
 * Throws when a provider shows a page it cannot get past (an error page, an unknown login).
 */
export async function signIn({ startUrl, jar = new BrowserJar(), login, consent = true, stopAtCallback = false, maxHops = 20 }) {
  const workerOrigin = new URL(startUrl).origin;
  const hops = [];
  const trace = () => hops.map(brief).join('\n  ');
  const done = (extra) => {
    const result = { hops, trace, jar, ...extra };
    if (result.final) Object.assign(result, { status: result.final.status, location: result.final.location, setCookies: result.final.setCookies, cookies: result.final.cookies });
    return result;
  };

  const start = await jar.request(startUrl);
  hops.push(start);
  if (!isRedirect(start.status) || !start.location) return done({ start, final: start, stage: 'start' });
  const authorizeUrl = start.location;
  if (new URL(authorizeUrl).origin === workerOrigin) {
    // The worker sent the browser back to itself at once (an error redirect, say).
    const final = await jar.request(authorizeUrl);
    hops.push(final);
    return done({ start, authorizeUrl, final, stage: 'start' });
  }

  let next = { url: authorizeUrl, method: 'GET' };
  let loggedIn = false;
  for (let i = 0; i < maxHops; i++) {
    if (new URL(next.url).origin === workerOrigin) {
      const callbackUrl = next.url;
      if (stopAtCallback) return done({ start, authorizeUrl, callbackUrl, stage: 'stopped' });
      const final = await jar.request(callbackUrl);
      hops.push(final);
      return done({ start, authorizeUrl, callbackUrl, final, stage: 'callback' });
    }
    const res = await jar.request(next.url, next);
    hops.push(res);
    if (isRedirect(res.status) && res.location) {
      next = { url: res.location, method: 'GET' };
      continue;
    }
    const forms = res.status === 200 ? parseForms(res.text) : [];
    const pick = (step) => forms.find((f) => f.step === step);
    let form;
    let fields;
    if (pick('login') && !loggedIn) {
      if (login === undefined) throw new Error(`signIn: the provider asks for a login and none was given\n  ${trace()}`);
      form = pick('login');
      fields = { ...form.fields, login };
      loggedIn = true;
    } else if (pick('consent') || (pick('deny') && consent === false)) {
      form = consent === false ? pick('deny') : pick('consent');
      fields = { ...form.fields };
    }
    if (!form) throw new Error(`signIn: stuck at a provider page with no form to submit\n  ${trace()}`);
    const pageOrigin = new URL(res.url).origin;
    next = { url: new URL(form.action, res.url).href, method: form.method, form: fields, origin: pageOrigin };
  }
  throw new Error(`signIn: more than ${maxHops} hops\n  ${trace()}`);
}
