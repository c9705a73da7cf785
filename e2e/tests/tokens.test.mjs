// Forged and misused tokens (SECURITY.md "Tokens and sessions" and "Isolation").
import { describe, test } from 'node:test';
import { accessClaims, call, expectStatus, jwtClaims, newUser, signJwt } from '../lib/api.mjs';

describe('access tokens', () => {
  test('an unsigned alg:none token is rejected (also on the upgrade-style cookie path)', async () => {
    const u = await newUser({ tag: 'algnone' });
    const { sub, sid } = jwtClaims(u.token);
    const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(accessClaims(sub, sid))}.`;
    expectStatus(await call('GET', '/api/me', { token: unsigned }), 401, 'invalid_token');
    expectStatus(await call('GET', '/api/me', { cookie: `token=${unsigned}` }), 401, 'invalid_token');
  });

  test('a token signed with another key is rejected', async () => {
    const u = await newUser({ tag: 'otherkey' });
    const { sub, sid } = jwtClaims(u.token);
    const forged = signJwt(accessClaims(sub, sid), { secret: 'an attacker secret of 32+ bytes!!' });
    expectStatus(await call('GET', '/api/me', { token: forged }), 401, 'invalid_token');
  });

  test('wrong kind, issuer, audience, algorithm or header typ, and expiry, are rejected', async () => {
    const u = await newUser({ tag: 'claims' });
    const { sub, sid } = jwtClaims(u.token);
    const now = Math.floor(Date.now() / 1000);
    const bad = [
      signJwt(accessClaims(sub, sid, { typ: 'refresh' })),
      signJwt(accessClaims(sub, sid, { iss: 'someone-else' })),
      signJwt(accessClaims(sub, sid, { aud: 'someone-else' })),
      signJwt(accessClaims(sub, sid, { exp: now - 1 })),
      signJwt(accessClaims(sub, sid), { header: { alg: 'HS512', typ: 'JWT' } }),
      signJwt(accessClaims(sub, sid), { header: { alg: 'HS256', typ: 'reset' } }),
      'not.a.jwt',
      '',
    ];
    for (const token of bad) {
      expectStatus(await call('GET', '/api/me', { headers: { authorization: `Bearer ${token}` } }), 401);
    }
    // The genuine claims, re-signed with the real key, pass: the rejections above are about the change.
    expectStatus(await call('GET', '/api/me', { token: signJwt(accessClaims(sub, sid)) }), 200);
  });

  test('a correctly signed token for a session that does not exist is session_revoked', async () => {
    const u = await newUser({ tag: 'madeupsid' });
    const { sub } = jwtClaims(u.token);
    expectStatus(await call('GET', '/api/me', { token: signJwt(accessClaims(sub, '00'.repeat(16))) }), 401, 'session_revoked');
  });

  test("a token never reaches another user's data: B's id with A's session is refused", async () => {
    const a = await newUser({ tag: 'isolationA' });
    const b = await newUser({ tag: 'isolationB' });
    const me = expectStatus(await call('GET', '/api/me', { token: a.token }), 200);
    if (me.json.user.id !== a.user.id) throw new Error('A saw another user');
    const mixed = signJwt(accessClaims(b.user.id, jwtClaims(a.token).sid));
    expectStatus(await call('GET', '/api/me', { token: mixed }), 401, 'session_revoked');
  });

  test('internal headers from the client are ignored', async () => {
    const u = await newUser({ tag: 'spoof' });
    const { sub, sid } = jwtClaims(u.token);
    const headers = { 'x-userdo-sub': sub, 'x-userdo-sid': sid, 'x-userdo-user': sub };
    expectStatus(await call('GET', '/api/me', { headers }), 401, 'unauthenticated');
  });

  test('a refresh token is not an access token', async () => {
    const u = await newUser({ tag: 'kinds' });
    expectStatus(await call('GET', '/api/me', { token: u.refreshToken }), 401, 'invalid_token');
  });
});
