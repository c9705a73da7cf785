// CSRF (Origin on cookie-authenticated changes) and CORS (only ALLOWED_ORIGINS, with credentials).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BASE, call, expectStatus, newUser } from '../lib/api.mjs';

const ALLOWED = 'http://localhost:5173';
const EVIL = 'https://evil.example';

describe('CSRF', () => {
  test('a cookie-authenticated POST needs an allowed Origin', async () => {
    const u = await newUser({ tag: 'csrf' });
    const cookie = `token=${u.token}`;
    expectStatus(await call('POST', '/api/sessions/revoke-others', { cookie }), 403, 'csrf_rejected');
    expectStatus(await call('POST', '/api/sessions/revoke-others', { cookie, origin: EVIL }), 403, 'csrf_rejected');
    expectStatus(await call('POST', '/api/sessions/revoke-others', { cookie, origin: 'null' }), 403, 'csrf_rejected');
    expectStatus(await call('POST', '/api/sessions/revoke-others', { cookie, origin: BASE }), 200);
    expectStatus(await call('POST', '/api/sessions/revoke-others', { cookie, origin: ALLOWED }), 200);
  });

  test('a rejected cookie-authenticated logout leaves the session alive', async () => {
    const u = await newUser({ tag: 'csrflogout' });
    expectStatus(await call('POST', '/api/logout', { cookie: `token=${u.token}`, origin: EVIL }), 403, 'csrf_rejected');
    expectStatus(await call('GET', '/api/me', { token: u.token }), 200);
  });

  test('reads by cookie and changes by bearer token need no Origin', async () => {
    const u = await newUser({ tag: 'csrfbearer' });
    expectStatus(await call('GET', '/api/me', { cookie: `token=${u.token}` }), 200);
    expectStatus(await call('POST', '/api/sessions/revoke-others', { token: u.token }), 200);
  });
});

describe('CORS', () => {
  test('an allowed origin is echoed with credentials; any other is not', async () => {
    const u = await newUser({ tag: 'cors' });
    const ok = await call('GET', '/api/me', { token: u.token, origin: ALLOWED });
    assert.equal(ok.headers.get('access-control-allow-origin'), ALLOWED);
    assert.equal(ok.headers.get('access-control-allow-credentials'), 'true');
    assert.match(ok.headers.get('vary') ?? '', /origin/i);
    const evil = await call('GET', '/api/me', { token: u.token, origin: EVIL });
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    assert.equal(evil.headers.get('access-control-allow-credentials'), null);
  });

  test('a preflight is answered for an allowed origin and refused for others', async () => {
    const headers = { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' };
    const ok = expectStatus(await call('OPTIONS', '/api/login', { headers, origin: ALLOWED }), 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), ALLOWED);
    assert.match(ok.headers.get('access-control-allow-methods'), /POST/);
    assert.match(ok.headers.get('access-control-allow-headers'), /content-type/);
    const evil = expectStatus(await call('OPTIONS', '/api/login', { headers, origin: EVIL }), 403, 'forbidden');
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
  });
});
