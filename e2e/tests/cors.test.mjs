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
