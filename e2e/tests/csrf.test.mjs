// CSRF on every cookie-authenticated state change: the Origin must be the worker's own or one in
// ALLOWED_ORIGINS (e2e/run.mjs sets http://localhost:5173); a refused request changes nothing.
// Bearer-authenticated requests and reads are not subject to the check.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ALLOWED_ORIGIN, BASE, EVIL_ORIGIN, PASSWORD, assertClearedCookies, call, expectStatus, login, newUser, sidOf,
} from '../lib/api.mjs';

const base = new URL(BASE);
/**
 * Origins a cross-site page could send, each close to an allowed one. Not listed:
 * `https://<worker host:port>`, because wrangler dev's proxy rewrites every request header that
 * contains its own host:port into the inner URL, so the worker never sees that Origin as sent.
 */
const NEAR_MISSES = [
  EVIL_ORIGIN,
  'null',
  '',
  'http://localhost:5174',
  'https://localhost:5173',
  'http://localhost:5173.evil.example',
  'http://evil.localhost:5173',
  `${base.protocol}//${base.hostname}:${Number(base.port) + 1}`,
  `${base.protocol}//${base.hostname}`,
  `${BASE}.evil.example`,
  `${BASE}, ${EVIL_ORIGIN}`,
];

const NEW_PASSWORD = 'brand new password';
const me = (token) => call('GET', '/api/me', { token });

describe('CSRF on cookie-authenticated changes', () => {
  test('logout by cookie: refused without an allowed Origin, and the session lives on', async () => {
    const u = await newUser({ tag: 'csrflogout' });
    const cookie = `token=${u.token}`;
    expectStatus(await call('POST', '/api/logout', { cookie }), 403, 'csrf_rejected');
    for (const origin of NEAR_MISSES) {
      const res = expectStatus(await call('POST', '/api/logout', { cookie, origin }), 403, 'csrf_rejected');
      assert.deepEqual(res.setCookies, [], `a refused logout clears no cookie (Origin ${origin})`);
    }
    expectStatus(await me(u.token), 200);
    // From an allowed origin it works, and clears the cookies.
    const res = expectStatus(await call('POST', '/api/logout', { cookie, origin: ALLOWED_ORIGIN }), 200);
    assertClearedCookies(res);
    expectStatus(await me(u.token), 401, 'session_revoked');
  });

  test('DELETE /api/sessions/{id} by cookie: refused cross-site, allowed from the own origin', async () => {
    const a = await newUser({ tag: 'csrfdelete' });
    const b = await login(a.email);
    const cookie = `token=${a.token}`;
    const path = `/api/sessions/${sidOf(b.token)}`;
    expectStatus(await call('DELETE', path, { cookie }), 403, 'csrf_rejected');
    expectStatus(await call('DELETE', path, { cookie, origin: EVIL_ORIGIN }), 403, 'csrf_rejected');
    expectStatus(await me(b.token), 200);
    expectStatus(await call('DELETE', path, { cookie, origin: BASE }), 200);
    expectStatus(await me(b.token), 401, 'session_revoked');
  });

  test('revoke-others by cookie: refused cross-site, nothing revoked', async () => {
    const a = await newUser({ tag: 'csrfothers' });
    const b = await login(a.email);
    const cookie = `token=${a.token}`;
    for (const origin of [undefined, EVIL_ORIGIN, 'http://localhost:5174']) {
      expectStatus(await call('POST', '/api/sessions/revoke-others', { cookie, origin }), 403, 'csrf_rejected');
    }
    expectStatus(await me(b.token), 200);
    assert.deepEqual(expectStatus(await call('POST', '/api/sessions/revoke-others', { cookie, origin: ALLOWED_ORIGIN }), 200).json, { revoked: 1 });
    expectStatus(await me(b.token), 401, 'session_revoked');
  });

  test('password change by cookie: refused cross-site, and the password stays the same', async () => {
    const a = await newUser({ tag: 'csrfpw' });
    const b = await login(a.email);
    const cookie = `token=${a.token}`;
    const json = { currentPassword: PASSWORD, newPassword: NEW_PASSWORD };
    expectStatus(await call('POST', '/api/password/change', { cookie, json }), 403, 'csrf_rejected');
    expectStatus(await call('POST', '/api/password/change', { cookie, json, origin: EVIL_ORIGIN }), 403, 'csrf_rejected');
    // A Referer naming the worker does not stand in for a cross-site Origin.
    expectStatus(await call('POST', '/api/password/change', { cookie, json, origin: EVIL_ORIGIN, headers: { referer: `${BASE}/` } }), 403, 'csrf_rejected');
    expectStatus(await me(b.token), 200);
    expectStatus(await call('POST', '/api/login', { json: { email: a.email, password: NEW_PASSWORD } }), 401, 'invalid_credentials');
    await login(a.email);
    // From the own origin it goes through.
    expectStatus(await call('POST', '/api/password/change', { cookie, json, origin: BASE }), 200);
    await login(a.email, { password: NEW_PASSWORD });
  });

  test('refresh by cookie: refused cross-site without spending the token', async () => {
    const u = await newUser({ tag: 'csrfrefresh' });
    const cookie = `refreshToken=${u.refreshToken}`;
    for (const origin of [undefined, ...NEAR_MISSES.slice(0, 4)]) {
      const res = expectStatus(await call('POST', '/api/refresh', { cookie, origin }), 403, 'csrf_rejected');
      assert.deepEqual(res.setCookies, []);
    }
    // The token was not spent by the refused attempts (a spent one would now revoke the session).
    expectStatus(await call('POST', '/api/refresh', { cookie, origin: ALLOWED_ORIGIN }), 200);
    expectStatus(await me(u.token), 200);
  });
});

describe('what the CSRF check does not cover', () => {
  test('bearer-authenticated changes need no Origin, whatever Origin they carry', async () => {
    const a = await newUser({ tag: 'csrfbearer' });
    const b = await login(a.email);
    const c = await login(a.email);
    expectStatus(await call('DELETE', `/api/sessions/${sidOf(c.token)}`, { token: a.token, origin: EVIL_ORIGIN }), 200);
    assert.deepEqual(expectStatus(await call('POST', '/api/sessions/revoke-others', { token: a.token, origin: EVIL_ORIGIN }), 200).json, { revoked: 1 });
    expectStatus(await me(b.token), 401, 'session_revoked');
    expectStatus(await call('POST', '/api/logout', { token: a.token, origin: EVIL_ORIGIN }), 200);
    expectStatus(await me(a.token), 401, 'session_revoked');
  });

  test('reads by cookie work from any origin (CORS, not CSRF, keeps their answers from other sites)', async () => {
    const u = await newUser({ tag: 'csrfread' });
    for (const origin of [undefined, EVIL_ORIGIN, ALLOWED_ORIGIN]) {
      const res = expectStatus(await call('GET', '/api/me', { cookie: `token=${u.token}`, origin }), 200);
      assert.equal(res.json.user.id, u.user.id);
      expectStatus(await call('GET', '/api/sessions', { cookie: `token=${u.token}`, origin }), 200);
    }
    // And an evil origin gets no CORS grant to read them.
    const evil = await call('GET', '/api/me', { cookie: `token=${u.token}`, origin: EVIL_ORIGIN });
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
  });
});
