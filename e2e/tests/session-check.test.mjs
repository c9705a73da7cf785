// Session checks for other workers: GET /api/session on the main server (bearer, cookie, the
// refusals and their error shape, a logout or revocation counted at once), then the example parent
// worker (examples/parent) and the default worker in one `wrangler dev` session, the parent
// asking the default worker over its service binding AUTH with client-ts's getSession.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CookieJar,
  PASSWORD,
  accessClaims,
  assertUser,
  call,
  expectStatus,
  jwtClaims,
  login,
  newUser,
  parseSetCookies,
  sidOf,
  signJwt,
  uniqueEmail,
  unsignedJwt,
} from '../lib/api.mjs';
import { startWorker, testVars } from '../run.mjs';

const root = join(import.meta.dirname, '..', '..');
// The main server runs with the default REFRESH_TOKEN_TTL.
const REFRESH_TTL_MS = 2_592_000 * 1000;

/** A 200 of GET /api/session: exactly {user, session: {id, createdAt, expiresAt}}. */
function assertSessionCheck(res, { user, sid }) {
  expectStatus(res, 200);
  assert.deepEqual(Object.keys(res.json).sort(), ['session', 'user']);
  assertUser(res.json.user);
  assert.deepEqual(res.json.user, user);
  const { session } = res.json;
  assert.deepEqual(Object.keys(session).sort(), ['createdAt', 'expiresAt', 'id']);
  assert.equal(session.id, sid, 'the session of the token presented');
  assert.equal(typeof session.createdAt, 'number');
  assert.equal(typeof session.expiresAt, 'number');
  assert.equal(res.headers.get('cache-control'), 'no-store');
  return session;
}

describe('GET /api/session', () => {
  test('with the bearer token or the token cookie: the user and the session of that token', async () => {
    const started = Date.now();
    const u = await newUser({ tag: 'session-check' });
    const bearer = assertSessionCheck(await call('GET', '/api/session', { token: u.token }), { user: u.user, sid: sidOf(u.token) });
    // Opened by the signup; it ends a refresh lifetime later unless refreshed.
    assert.ok(bearer.createdAt >= started - 1000 && bearer.createdAt <= Date.now() + 1000, JSON.stringify(bearer));
    assert.equal(bearer.expiresAt - bearer.createdAt, REFRESH_TTL_MS);
    // As GET /api/sessions lists it.
    const listed = expectStatus(await call('GET', '/api/sessions', { token: u.token }), 200).json.sessions.find((s) => s.current);
    assert.equal(listed.id, bearer.id);
    assert.equal(listed.createdAt, bearer.createdAt);
    // The cookie, alone or among others, with no Origin (a GET): the same answer.
    const cookie = assertSessionCheck(await call('GET', '/api/session', { cookie: `token=${u.token}` }), { user: u.user, sid: sidOf(u.token) });
    assert.deepEqual(cookie, bearer);
    assertSessionCheck(await call('GET', '/api/session', { cookie: `theme=dark; token=${u.token}; lang=en` }), { user: u.user, sid: sidOf(u.token) });
    // Another session of the same user answers its own id.
    const other = await login(u.email);
    assert.notEqual(sidOf(other.token), sidOf(u.token));
    assertSessionCheck(await call('GET', '/api/session', { token: other.token }), { user: u.user, sid: sidOf(other.token) });
  });

  test('a refresh keeps the session and moves its end', async () => {
    const u = await newUser({ tag: 'session-refresh' });
    const first = assertSessionCheck(await call('GET', '/api/session', { token: u.token }), { user: u.user, sid: sidOf(u.token) });
    const refreshed = expectStatus(await call('POST', '/api/refresh', { json: { refreshToken: u.refreshToken } }), 200).json;
    assert.equal(sidOf(refreshed.token), sidOf(u.token));
    const now = assertSessionCheck(await call('GET', '/api/session', { token: refreshed.token }), { user: u.user, sid: sidOf(u.token) });
    assert.equal(now.createdAt, first.createdAt);
    assert.ok(now.expiresAt >= first.expiresAt, `${now.expiresAt} >= ${first.expiresAt}`);
  });

  test('no credentials, or only the refresh cookie: 401 unauthenticated', async () => {
    const u = await newUser({ tag: 'session-none' });
    expectStatus(await call('GET', '/api/session'), 401, 'unauthenticated');
    expectStatus(await call('GET', '/api/session', { cookie: 'theme=dark' }), 401, 'unauthenticated');
    expectStatus(await call('GET', '/api/session', { cookie: `refreshToken=${u.refreshToken}` }), 401, 'unauthenticated');
  });

  test('a forged, unsigned, expired or wrong-kind token: 401 invalid_token; a made-up session: 401 session_revoked', async () => {
    const u = await newUser({ tag: 'session-forged' });
    const { sub, sid } = jwtClaims(u.token);
    const wrongKey = signJwt(accessClaims(sub, sid), { secret: 'not-the-server-secret-not-the-server-secret' });
    const now = Math.floor(Date.now() / 1000);
    const expired = signJwt(accessClaims(sub, sid, { iat: now - 3600, exp: now - 60 }));
    const wrongKind = signJwt(accessClaims(sub, sid, { typ: 'refresh' }));
    for (const token of [wrongKey, unsignedJwt(accessClaims(sub, sid)), expired, wrongKind, 'x.y.z', u.refreshToken]) {
      expectStatus(await call('GET', '/api/session', { token }), 401, 'invalid_token');
      expectStatus(await call('GET', '/api/session', { cookie: `token=${token}` }), 401, 'invalid_token');
    }
    const madeUp = signJwt(accessClaims(sub, 'f'.repeat(32)));
    expectStatus(await call('GET', '/api/session', { token: madeUp }), 401, 'session_revoked');
    // The real one still works: the refusals ended nothing.
    assertSessionCheck(await call('GET', '/api/session', { token: u.token }), { user: u.user, sid });
  });

  test('after logout the same token is refused at once; a revoked session too', async () => {
    const u = await newUser({ tag: 'session-logout' });
    const other = await login(u.email);
    assertSessionCheck(await call('GET', '/api/session', { token: u.token }), { user: u.user, sid: sidOf(u.token) });
    expectStatus(await call('POST', '/api/logout', { token: u.token }), 200);
    expectStatus(await call('GET', '/api/session', { token: u.token }), 401, 'session_revoked');
    expectStatus(await call('GET', '/api/session', { cookie: `token=${u.token}` }), 401, 'session_revoked');
    // The other session is untouched until it is revoked from a third.
    assertSessionCheck(await call('GET', '/api/session', { token: other.token }), { user: u.user, sid: sidOf(other.token) });
    const third = await login(u.email);
    expectStatus(await call('DELETE', `/api/sessions/${sidOf(other.token)}`, { token: third.token }), 200);
    expectStatus(await call('GET', '/api/session', { token: other.token }), 401, 'session_revoked');
  });

  test('other methods are 405, other paths below it 404, in the error shape', async () => {
    const u = await newUser({ tag: 'session-method' });
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      expectStatus(await call(method, '/api/session', { token: u.token }), 405, 'method_not_allowed');
    }
    expectStatus(await call('GET', '/api/session/x', { token: u.token }), 404, 'not_found');
    // The session survived all of it.
    assertSessionCheck(await call('GET', '/api/session', { token: u.token }), { user: u.user, sid: sidOf(u.token) });
  });
});

describe('a parent worker bound to the default worker (examples/parent, service AUTH)', () => {
  let server;
  const vars = testVars();
  before(async () => {
    server = await startWorker({
      name: 'session-check',
      vars: {},
      config: join(root, 'examples/parent/wrangler.toml'),
      auxiliary: [{ config: join(root, 'wrangler.toml'), vars }],
    });
  });
  after(() => server?.stop());

  // `path` on the parent; the parent passes /api/* to the default worker unchanged.
  const parent = async (method, path, { token, cookie, json } = {}) => {
    const headers = {};
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (cookie !== undefined) headers.cookie = typeof cookie === 'string' ? cookie : cookie.header();
    if (json !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(server.url + path, {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
      redirect: 'manual',
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    let parsed;
    try { parsed = JSON.parse(text); } catch { parsed = undefined; }
    return { method, path, status: res.status, headers: res.headers, json: parsed, text, cookies: parseSetCookies(res.headers) };
  };
  const signUp = async () => {
    const email = uniqueEmail('parent');
    const res = expectStatus(await parent('POST', '/api/signup', { json: { email, password: PASSWORD } }), 201);
    const jar = new CookieJar();
    jar.update(res);
    assert.deepEqual(jar.names(), ['refreshToken', 'token']);
    return { email, ...res.json, jar };
  };

  test('signed in (bearer or cookie): 200 {userId, email}; no credentials or a forged token: 401', async () => {
    const u = await signUp();
    const bearer = expectStatus(await parent('GET', '/whoami', { token: u.token }), 200);
    assert.deepEqual(bearer.json, { userId: u.user.id, email: u.email });
    const cookie = expectStatus(await parent('GET', '/whoami', { cookie: u.jar }), 200);
    assert.deepEqual(cookie.json, { userId: u.user.id, email: u.email });
    // The same worker answers GET /api/session behind the parent: the session of that token.
    const check = expectStatus(await parent('GET', '/api/session', { token: u.token }), 200);
    assert.equal(check.json.session.id, sidOf(u.token));
    assert.deepEqual(check.json.user, u.user);

    expectStatus(await parent('GET', '/whoami'), 401, 'unauthenticated');
    expectStatus(await parent('GET', '/whoami', { cookie: 'theme=dark' }), 401, 'unauthenticated');
    const { sub, sid } = jwtClaims(u.token);
    const forged = signJwt(accessClaims(sub, sid), { secret: 'not-the-server-secret-not-the-server-secret' });
    expectStatus(await parent('GET', '/whoami', { token: forged }), 401, 'unauthenticated');
    const madeUp = signJwt(accessClaims(sub, 'f'.repeat(32)), { secret: vars.JWT_SECRET });
    expectStatus(await parent('GET', '/whoami', { token: madeUp }), 401, 'unauthenticated');
    // A token of the main server (another signing key) names no one here.
    const stranger = await newUser({ tag: 'parent-stranger' });
    expectStatus(await parent('GET', '/whoami', { token: stranger.token }), 401, 'unauthenticated');
    // Still signed in after those.
    assert.equal(expectStatus(await parent('GET', '/whoami', { token: u.token }), 200).json.userId, u.user.id);
  });

  test('after logout: 401 at once, for the bearer token and the cookie', async () => {
    const u = await signUp();
    const other = await signUp();
    expectStatus(await parent('GET', '/whoami', { token: u.token }), 200);
    const cookieBefore = u.jar.header();
    const out = expectStatus(await parent('POST', '/api/logout', { token: u.token }), 200);
    u.jar.update(out);
    assert.deepEqual(u.jar.names(), [], 'logout cleared the cookies');
    expectStatus(await parent('GET', '/whoami', { token: u.token }), 401, 'unauthenticated');
    // A client that kept the old cookie is refused too.
    expectStatus(await parent('GET', '/whoami', { cookie: cookieBefore }), 401, 'unauthenticated');
    expectStatus(await parent('GET', '/api/session', { token: u.token }), 401, 'session_revoked');
    // Another user's session is untouched.
    assert.deepEqual(expectStatus(await parent('GET', '/whoami', { token: other.token }), 200).json, { userId: other.user.id, email: other.email });
  });

  test('the parent answers its own paths in the error shape', async () => {
    expectStatus(await parent('POST', '/whoami'), 405, 'method_not_allowed');
    expectStatus(await parent('GET', '/nowhere'), 404, 'not_found');
  });
});
