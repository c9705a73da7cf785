// Forged and misused tokens (SECURITY.md "Tokens and sessions" and "Isolation").
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, test } from 'node:test';
import {
  PASSWORD, accessClaims, b64url, call, expect401, expectStatus, jwtClaims, login, newUser, sidOf, signJwt, unsignedJwt,
} from '../lib/api.mjs';

const ATTACKER_KEY = 'an attacker secret of 32+ bytes!!';
const madeUpSid = () => randomBytes(16).toString('hex');
const me = (token) => call('GET', '/api/me', { token });

/** Every endpoint that needs an access token, as [method, path, body]. */
const authenticated = (victimSid) => [
  ['GET', '/api/me'],
  ['GET', '/api/sessions'],
  ['GET', '/api/session'],
  ['POST', '/api/logout'],
  ['POST', '/api/sessions/revoke-others'],
  ['DELETE', `/api/sessions/${victimSid}`],
  ['POST', '/api/password/change', { currentPassword: PASSWORD, newPassword: 'an attacker password' }],
];

describe('access tokens', () => {
  // Users for tests that only read; tests that end sessions make their own.
  let a;
  let b;
  before(async () => {
    a = await newUser({ tag: 'tokA' });
    b = await newUser({ tag: 'tokB' });
  });

  test('every authenticated endpoint: no token is unauthenticated, alg none invalid_token, an unknown session session_revoked', async () => {
    const { sub, sid } = jwtClaims(a.token);
    const unsigned = unsignedJwt(accessClaims(sub, sid));
    const wrongKey = signJwt(accessClaims(sub, sid), { secret: ATTACKER_KEY });
    const unknownSession = signJwt(accessClaims(sub, madeUpSid()));
    for (const [method, path, json] of authenticated(sid)) {
      expectStatus(await call(method, path, { json }), 401, 'unauthenticated');
      expectStatus(await call(method, path, { json, token: unsigned }), 401, 'invalid_token');
      expectStatus(await call(method, path, { json, token: wrongKey }), 401, 'invalid_token');
      expectStatus(await call(method, path, { json, token: unknownSession }), 401, 'session_revoked');
    }
    // None of those requests logged A out, revoked a session or changed the password.
    expectStatus(await me(a.token), 200);
    assert.equal(expectStatus(await call('GET', '/api/sessions', { token: a.token }), 200).json.sessions.length, 1);
    await login(a.email);
    expectStatus(await call('POST', '/api/sessions/revoke-others', { token: a.token }), 200);
  });

  test('an unsigned token is rejected in every spelling of "none", by header and by cookie', async () => {
    const claims = accessClaims(a.user.id, sidOf(a.token));
    const [, , realSignature] = signJwt(claims).split('.');
    const forged = [];
    for (const alg of ['none', 'None', 'NONE', 'nOnE', '']) {
      forged.push(unsignedJwt(claims, { alg, typ: 'JWT' }));
      forged.push(`${b64url({ alg, typ: 'JWT' })}.${b64url(claims)}.${realSignature}`);
    }
    forged.push(unsignedJwt(claims, { typ: 'JWT' }));
    forged.push(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}`);
    for (const token of forged) {
      expectStatus(await me(token), 401, 'invalid_token');
      expectStatus(await call('GET', '/api/me', { cookie: `token=${token}` }), 401, 'invalid_token');
    }
  });

  test('only HS256 with the server key: other keys and other algorithms are invalid_token', async () => {
    const claims = accessClaims(a.user.id, sidOf(a.token));
    const bad = [
      signJwt(claims, { secret: ATTACKER_KEY }),
      signJwt(claims, { secret: '' }),
      signJwt(claims, { header: { alg: 'HS384', typ: 'JWT' }, hash: 'sha384' }),
      signJwt(claims, { header: { alg: 'HS512', typ: 'JWT' }, hash: 'sha512' }),
      signJwt(claims, { header: { alg: 'HS256', typ: 'JWT' }, hash: 'sha512' }),
      signJwt(claims, { header: { alg: 'HS512', typ: 'JWT' } }),
      signJwt(claims, { header: { alg: 'RS256', typ: 'JWT' } }),
      signJwt(claims, { header: { alg: 'ES256', typ: 'JWT' } }),
    ];
    for (const token of bad) expectStatus(await me(token), 401, 'invalid_token');
    // The same claims signed as the server signs pass: the rejections above are about the change.
    expectStatus(await me(signJwt(claims)), 200);
  });

  test('wrong or missing kind, issuer, audience, subject, session or expiry: invalid_token', async () => {
    const { sub, sid } = jwtClaims(a.token);
    const now = Math.floor(Date.now() / 1000);
    const without = (key) => { const c = accessClaims(sub, sid); delete c[key]; return c; };
    const cases = {
      'typ refresh': accessClaims(sub, sid, { typ: 'refresh' }),
      'typ reset': accessClaims(sub, sid, { typ: 'reset' }),
      'no typ': without('typ'),
      'other issuer': accessClaims(sub, sid, { iss: 'someone-else' }),
      'no issuer': without('iss'),
      'other audience': accessClaims(sub, sid, { aud: 'someone-else' }),
      'no audience': without('aud'),
      'expired': accessClaims(sub, sid, { iat: now - 1500, exp: now - 600 }),
      'no expiry': without('exp'),
      'expiry as text': accessClaims(sub, sid, { exp: String(now + 900) }),
      'no subject': without('sub'),
      'no session': without('sid'),
    };
    for (const [label, claims] of Object.entries(cases)) {
      const res = await me(signJwt(claims));
      assert.equal(res.status, 401, `${label}: ${res.status} ${res.text}`);
      assert.equal(res.json?.error?.code, 'invalid_token', `${label}: ${res.text}`);
    }
    for (const typ of ['refresh', 'reset', 'at+jwt-not']) {
      expectStatus(await me(signJwt(accessClaims(sub, sid), { header: { alg: 'HS256', typ } })), 401, 'invalid_token');
    }
  });

  test('a tampered payload under the original signature is invalid_token', async () => {
    const [h, , s] = a.token.split('.');
    const claims = jwtClaims(a.token);
    for (const change of [{ sub: b.user.id }, { sid: sidOf(b.token) }, { exp: claims.exp + 86_400 }, { typ: 'access', extra: 1 }]) {
      expectStatus(await me(`${h}.${b64url({ ...claims, ...change })}.${s}`), 401, 'invalid_token');
    }
  });

  test('malformed Authorization values are 401, and a token in the query string is not a credential', async () => {
    for (const token of ['not.a.jwt', 'abc', 'a.b.c.d', '...', `${a.token}.x`, 'x'.repeat(6000)]) {
      expectStatus(await me(token), 401, 'invalid_token');
    }
    for (const value of ['Bearer', 'Bearer ', `Basic ${Buffer.from(`${a.email}:${PASSWORD}`).toString('base64')}`, a.token, `Token ${a.token}`]) {
      expect401(await call('GET', '/api/me', { headers: { authorization: value } }), ['unauthenticated', 'invalid_token']);
    }
    expectStatus(await call('GET', `/api/me?token=${a.token}`), 401, 'unauthenticated');
    expectStatus(await call('GET', `/api/me?access_token=${a.token}`), 401, 'unauthenticated');
  });

  test('a correctly signed token for a session or user that does not exist is refused', async () => {
    expectStatus(await me(signJwt(accessClaims(a.user.id, madeUpSid()))), 401, 'session_revoked');
    expectStatus(await me(signJwt(accessClaims(a.user.id, '00'.repeat(16)))), 401, 'session_revoked');
    // A subject that is no user, well-shaped or not: 401, never a 500.
    for (const sub of [randomBytes(32).toString('hex'), 'not-a-user', '../../x', '', 'A'.repeat(64)]) {
      expect401(await me(signJwt(accessClaims(sub, sidOf(a.token)))), ['invalid_token', 'session_revoked']);
    }
  });

  test('a refresh token is not an access token', async () => {
    expectStatus(await me(a.refreshToken), 401, 'invalid_token');
    expectStatus(await call('GET', '/api/me', { cookie: `token=${a.refreshToken}` }), 401, 'invalid_token');
  });

  test('revocation is checked on every request: a fresh, correctly signed token for an ended session is session_revoked', async () => {
    const u = await newUser({ tag: 'revokedsig' });
    const { sub, sid } = jwtClaims(u.token);
    expectStatus(await call('POST', '/api/logout', { token: u.token }), 200);
    expectStatus(await me(u.token), 401, 'session_revoked');
    expectStatus(await me(signJwt(accessClaims(sub, sid))), 401, 'session_revoked');
  });
});

describe('isolation between users', () => {
  let a;
  let b;
  before(async () => {
    a = await newUser({ tag: 'isoA', userAgent: 'agent-of-A' });
    b = await newUser({ tag: 'isoB', userAgent: 'agent-of-B' });
  });

  test("a token only ever shows its own user's data", async () => {
    assert.deepEqual(expectStatus(await me(a.token), 200).json, { user: a.user });
    assert.deepEqual(expectStatus(await me(b.token), 200).json, { user: b.user });
    assert.notEqual(a.user.id, b.user.id);
    const listA = expectStatus(await call('GET', '/api/sessions', { token: a.token }), 200).json.sessions;
    assert.deepEqual(listA.map((s) => [s.id, s.userAgent]), [[sidOf(a.token), 'agent-of-A']]);
  });

  test("one user's id with another user's session is session_revoked, both ways", async () => {
    expectStatus(await me(signJwt(accessClaims(b.user.id, sidOf(a.token)))), 401, 'session_revoked');
    expectStatus(await me(signJwt(accessClaims(a.user.id, sidOf(b.token)))), 401, 'session_revoked');
    // Neither session was hurt by the attempts.
    expectStatus(await me(a.token), 200);
    expectStatus(await me(b.token), 200);
  });

  test('the internal identity headers cannot be sent by a client', async () => {
    const spoof = {
      'x-userdo-sub': b.user.id,
      'x-userdo-sid': sidOf(b.token),
      'x-userdo-user': JSON.stringify(b.user),
      'x-userdo-user-id': b.user.id,
      'x-userdo-session': sidOf(b.token),
    };
    for (const [method, path] of [['GET', '/api/me'], ['GET', '/api/sessions'], ['POST', '/api/logout'], ['POST', '/api/sessions/revoke-others']]) {
      expectStatus(await call(method, path, { headers: spoof }), 401, 'unauthenticated');
    }
    // With A's token, the spoofed headers naming B change nothing: the answer is about A.
    assert.deepEqual(expectStatus(await call('GET', '/api/me', { token: a.token, headers: spoof }), 200).json, { user: a.user });
    const list = expectStatus(await call('GET', '/api/sessions', { token: a.token, headers: spoof }), 200).json.sessions;
    assert.deepEqual(list.map((s) => s.id), [sidOf(a.token)]);
    expectStatus(await me(b.token), 200);
  });
});
