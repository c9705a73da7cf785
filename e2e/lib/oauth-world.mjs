// A worker of its own with three sign-in providers, for oauth*.test.mjs: `local` (oidc-provider,
// an OpenID Connect issuer found by discovery), `evil` (the issuer that can hand out bad ID
// tokens) and `gh` (the GitHub preset, its URLs pointed at the fake GitHub), and the assertions
// every sign-in shares. Run through e2e/run.mjs (it imports api.mjs).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ALLOWED_ORIGIN, PASSWORD, call, expectStatus } from './api.mjs';
import { BrowserJar, signIn, startEvilIssuer, startFakeGitHub, startOidcProvider } from './oidc.mjs';
import { startWorker, testVars } from '../run.mjs';

export { ALLOWED_ORIGIN, PASSWORD };

/** The name GET /api/oauth/providers must give `local` (from OAUTH_LOCAL_NAME). */
export const LOCAL_NAME = 'Local OIDC';

/** A fresh tag for logins and emails, so no two tests share a person or an account. */
export const tag = (prefix = 'o') => `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
export const uniqueEmail = (prefix = 'oauth') => `${tag(prefix)}@example.com`.toLowerCase();

/**
 * Starts the three providers, then the worker with their OAUTH_* variables (the providers' ports
 * are bound first, so the worker can be told their URLs), then registers the worker's callback
 * URLs at each provider (`vars` adds to or overrides the worker's variables). Returns the world: { worker, local, evil, gh, vars, secrets, api,
 * startUrl, signIn, responses, close }.
 */
export async function startOAuthWorld({ name = 'oauth', vars: extra = {} } = {}) {
  const [local, evil, gh] = await Promise.all([
    startOidcProvider({ name: LOCAL_NAME }),
    startEvilIssuer(),
    startFakeGitHub(),
  ]);
  const vars = {
    ...testVars(),
    PBKDF2_ITERATIONS: '1000',
    OAUTH_PROVIDERS: 'local,evil,gh',
    ...local.vars('LOCAL'),
    ...evil.vars('EVIL'),
    ...gh.vars('GH'),
    ...extra,
  };
  let worker;
  try {
    worker = await startWorker({ name, vars });
  } catch (error) {
    await Promise.all([local.close(), evil.close(), gh.close()]);
    throw error;
  }
  local.setRedirectUris([`${worker.url}/api/oauth/local/callback`]);
  evil.setRedirectUris([`${worker.url}/api/oauth/evil/callback`]);
  gh.setRedirectUris([`${worker.url}/api/oauth/gh/callback`]);

  // Every answer of the worker that a test saw, for the check that no secret is ever in one.
  const responses = [];
  const seen = new Set();
  const record = (res) => { if (!seen.has(res)) { seen.add(res); responses.push(res); } return res; };

  const world = {
    worker,
    origin: worker.url,
    local,
    evil,
    gh,
    providers: { local, evil, gh },
    vars,
    secrets: { local: local.clientSecret, evil: evil.clientSecret, gh: gh.clientSecret },
    responses,
    /** `call` against this worker; recorded. */
    api: async (method, path, options = {}) => record(await call(method, path, { ...options, base: worker.url })),
    /** The worker's /api/oauth/{id}/start URL with the given query ({returnTo, link}). */
    startUrl: (id, query = {}) => {
      const url = new URL(`${worker.url}/api/oauth/${id}/start`);
      for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
      return url.href;
    },
    /**
     * signIn() at provider `id`; the worker's answers are recorded. With `stopAtCallback` it
     * asserts the provider did send the browser back to the worker's callback.
     */
    signIn: async (id, { query = { returnTo: '/' }, jar = new BrowserJar(), ...rest } = {}) => {
      let r;
      try {
        r = await signIn({ startUrl: world.startUrl(id, query), jar, ...rest });
      } finally {
        for (const h of jar.history) if (h.url.startsWith(`${worker.url}/`)) record(h);
      }
      if (rest.stopAtCallback) assert.equal(r.stage, 'stopped', explain(world, r, 'the provider did not send the browser back to the worker\'s callback'));
      return r;
    },
    /** GET /start in `jar` without following it; asserts the 302 and returns { res, state }. */
    begin: async (jar, id, query = { returnTo: '/' }) => {
      const res = record(await jar.request(world.startUrl(id, query)));
      assert.equal(res.status, 302, `${res.method} ${res.url} -> ${res.status}: ${res.text}`);
      return { res, state: new URL(res.location).searchParams.get('state') };
    },
    /** A GET of `url` in `jar` (a callback replayed, say); recorded. */
    visit: async (jar, url) => record(await jar.request(url)),
    /** What the providers refused, for failure messages. */
    providerErrors: () => ({ local: local.errors.slice(-5), evil: evil.errors.slice(-5), gh: gh.errors.slice(-5) }),
    close: async () => {
      await worker.stop();
      await Promise.all([local.close(), evil.close(), gh.close()]);
    },
  };
  return world;
}

/** Signs up a password account on the world's worker; returns { email, user, token, refreshToken }. */
export async function signup(world, email = uniqueEmail('pw')) {
  const res = expectStatus(await world.api('POST', '/api/signup', { json: { email, password: PASSWORD } }), 201);
  return { email, ...res.json };
}

/** Asserts no account exists for `email`: a signup for it succeeds (it would be 409 email_taken). */
export async function assertNoAccount(world, email) {
  const res = await world.api('POST', '/api/signup', { json: { email, password: PASSWORD } });
  assert.equal(res.status, 201, `no account may exist for ${email}: signup answered ${res.status} ${res.text}`);
  return res.json;
}

/** GET /api/identities with this access token: the list, its shape checked. */
export async function identitiesOf(world, token) {
  const res = expectStatus(await world.api('GET', '/api/identities', { token }), 200);
  assert.deepEqual(Object.keys(res.json), ['identities'], res.text);
  assert.ok(Array.isArray(res.json.identities), res.text);
  for (const identity of res.json.identities) {
    assert.deepEqual(Object.keys(identity).sort(), ['email', 'linkedAt', 'provider'], res.text);
    assert.equal(typeof identity.provider, 'string');
    assert.equal(typeof identity.email, 'string');
    assert.equal(typeof identity.linkedAt, 'number');
    assert.ok(Math.abs(identity.linkedAt - Date.now()) < 10 * 60_000, `linkedAt is epoch milliseconds: ${res.text}`);
  }
  return [...res.json.identities].sort((a, b) => a.provider.localeCompare(b.provider));
}

const explain = (world, r, extra = '') => `${extra}\n  hops:\n  ${r.trace()}\n  provider errors: ${JSON.stringify(world.providerErrors())}`;

/** The cookie `name` of a Set-Cookie list as a browser takes it: cleared (empty, Max-Age<=0 or Expires past)? */
const isCleared = (c) => c.value === '' || (c.attrs['max-age'] !== undefined && Number(c.attrs['max-age']) <= 0)
  || (typeof c.attrs.expires === 'string' && Date.parse(c.attrs.expires) <= Date.now());

/** The URL a redirect of the worker points at, resolved against the worker. */
const target = (world, r) => new URL(r.final.rawLocation ?? r.location, world.origin);

/** Where `returnTo` (a path or an allowed URL) resolves to, with `params` added to its query. */
const expectedTarget = (world, returnTo, params = {}) => {
  const url = new URL(returnTo, world.origin);
  for (const [k, v] of Object.entries(params)) url.searchParams.append(k, v);
  return url;
};

const sameTarget = (actual, expected) => actual.origin === expected.origin
  && actual.pathname === expected.pathname
  && JSON.stringify([...actual.searchParams].sort()) === JSON.stringify([...expected.searchParams].sort());

/**
 * A successful sign-in (or link): the callback answered 302 to `returnTo` exactly, with no
 * oauth_error. Unless `session: false`, it set `token` and `refreshToken` as login does
 * (HttpOnly, SameSite=Lax, Path=/, Max-Age of each lifetime, no Secure on http://127.0.0.1),
 * cleared `userdo_oauth` (Path=/api/oauth) and set nothing else. Returns { token, refreshToken }.
 */
export function expectSignedIn(world, r, { returnTo = '/', session = true } = {}) {
  assert.equal(r.stage, 'callback', explain(world, r, 'the flow did not reach the worker\'s callback'));
  assert.equal(r.final.status, 302, explain(world, r, `the callback must answer 302, got ${r.final.status}: ${r.final.text}`));
  const to = target(world, r);
  assert.equal(to.searchParams.get('oauth_error'), null, explain(world, r, `sign-in failed: oauth_error=${to.searchParams.get('oauth_error')}`));
  assert.ok(sameTarget(to, expectedTarget(world, returnTo)), explain(world, r, `the callback must send the browser to returnTo ${returnTo}, not ${to.href}`));
  const cookies = r.final.cookies;
  const oauth = cookies.userdo_oauth;
  assert.ok(oauth && isCleared(oauth), explain(world, r, `the callback clears userdo_oauth: ${JSON.stringify(r.final.setCookies)}`));
  assert.equal(oauth.attrs.path, '/api/oauth', `userdo_oauth cleared with its own Path: ${JSON.stringify(r.final.setCookies)}`);
  if (!session) return {};
  for (const [name, maxAge] of [['token', '900'], ['refreshToken', '2592000']]) {
    const c = cookies[name];
    assert.ok(c && c.value, explain(world, r, `no ${name} cookie: ${JSON.stringify(r.final.setCookies)}`));
    assert.equal(c.attrs.httponly, true, `${name} must be HttpOnly`);
    assert.equal(String(c.attrs.samesite).toLowerCase(), 'lax', `${name}: SameSite=Lax`);
    assert.equal(c.attrs.path, '/', `${name}: Path=/`);
    assert.equal(c.attrs['max-age'], maxAge, `${name}: Max-Age`);
    assert.equal(c.attrs.secure, undefined, `${name}: no Secure on http://127.0.0.1`);
  }
  assert.equal(cookies.token.value.split('.').length, 3, 'the token cookie is a JWT');
  assert.deepEqual(Object.keys(cookies).sort(), ['refreshToken', 'token', 'userdo_oauth'], `Set-Cookie: ${JSON.stringify(r.final.setCookies)}`);
  assert.equal(r.final.setCookies.length, 3, `one Set-Cookie line each: ${JSON.stringify(r.final.setCookies)}`);
  return { token: cookies.token.value, refreshToken: cookies.refreshToken.value };
}

/**
 * A failed sign-in: the callback answered 302 to `returnTo` with `oauth_error=<code>` added to its
 * query (the rest of it kept), and set no session cookie. `returnTo` may list several targets
 * where the contract leaves the choice open. (`r` may also be a single response of
 * BrowserJar.request, for a callback visited by hand.)
 */
export function expectOAuthError(world, r, code, { returnTo = '/' } = {}) {
  const result = r.final ? r : { final: r, trace: () => `${r.method} ${r.url} -> ${r.status}`, location: r.location };
  if (r.final) assert.equal(r.stage, 'callback', explain(world, result, 'the flow did not reach the worker\'s callback'));
  const { final } = result;
  assert.equal(final.status, 302, explain(world, result, `the callback must answer 302, got ${final.status}: ${final.text}`));
  const to = target(world, result);
  assert.equal(to.searchParams.get('oauth_error'), code, explain(world, result, `expected oauth_error=${code}, got ${to.href}`));
  const targets = (Array.isArray(returnTo) ? returnTo : [returnTo]).map((t) => expectedTarget(world, t, { oauth_error: code }));
  assert.ok(targets.some((t) => sameTarget(to, t)),
    explain(world, result, `expected ${targets.map((t) => t.href).join(' or ')}, got ${to.href}`));
  for (const name of ['token', 'refreshToken']) {
    const c = final.cookies[name];
    assert.ok(!c || isCleared(c), explain(world, result, `a failed sign-in sets no ${name} cookie: ${JSON.stringify(final.setCookies)}`));
  }
  return to;
}

/** GET /api/me with this access token: the user. */
export async function me(world, token) {
  const res = expectStatus(await world.api('GET', '/api/me', { token }), 200);
  return res.json.user;
}

/** A browser that is signed in to the worker with this session (its auth cookies). */
export function signedInJar(world, { token, refreshToken }) {
  const jar = new BrowserJar();
  jar.set(world.origin, 'token', token);
  if (refreshToken) jar.set(world.origin, 'refreshToken', refreshToken);
  return jar;
}
