// CORS: only origins in ALLOWED_ORIGINS are echoed, with credentials. (CSRF is in csrf.test.mjs.)
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { call, expectStatus, newUser } from '../lib/api.mjs';

const ALLOWED = 'http://localhost:5173';
const EVIL = 'https://evil.example';

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

  // The worker passes most answers of a user's object on as they are, with the CORS headers the
  // object added; it adds them itself to its own answers and to those it rebuilds (auth cookies).
  test('every kind of answer carries the CORS headers once, and none for another origin', async () => {
    const u = await newUser({ tag: 'cors-kinds' });
    const kinds = [
      ['the object: a read', () => call('GET', '/api/me', { token: u.token, origin: ALLOWED }), 200],
      ['the object: a write', () => call('PUT', '/api/kv/k', { token: u.token, json: { a: 1 }, origin: ALLOWED }), 200],
      ['the object: an error', () => call('GET', '/api/kv/missing', { token: u.token, origin: ALLOWED }), 404],
      ['the object: a session check', () => call('GET', '/api/sessions', { token: u.token, origin: ALLOWED }), 200],
      ['the worker: no token', () => call('GET', '/api/me', { origin: ALLOWED }), 401],
      ['the worker: no such endpoint', () => call('GET', '/api/nope', { token: u.token, origin: ALLOWED }), 404],
      ['rebuilt: a login sets cookies', () => call('POST', '/api/login', { json: { email: u.email, password: u.password }, origin: ALLOWED }), 200],
    ];
    for (const [kind, send, status] of kinds) {
      const res = expectStatus(await send(), status);
      assert.equal(res.headers.get('access-control-allow-origin'), ALLOWED, kind);
      assert.equal(res.headers.get('access-control-allow-credentials'), 'true', kind);
      assert.equal(res.headers.get('access-control-expose-headers'), 'retry-after', kind);
      assert.equal(res.headers.get('vary'), 'Origin', `${kind}: Vary once`);
      assert.equal(res.headers.get('content-type'), 'application/json', kind);
    }
    const evil = expectStatus(await call('GET', '/api/kv/k', { token: u.token, origin: EVIL }), 200);
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    assert.equal(evil.headers.get('access-control-allow-credentials'), null);
    assert.equal(evil.headers.get('vary'), 'Origin');
    const none = expectStatus(await call('GET', '/api/kv/k', { token: u.token }), 200);
    assert.equal(none.headers.get('access-control-allow-origin'), null);
    assert.equal(none.headers.get('vary'), 'Origin');
    assert.equal(none.headers.get('cache-control'), 'no-store');
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
