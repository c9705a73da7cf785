// Session listing and revocation, and password change.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  PASSWORD, assertNoSecrets, call, expectFieldError, expectStatus, login, newUser, sidOf, unsignedJwt, accessClaims,
} from '../lib/api.mjs';

const JSON_HEADERS = { 'content-type': 'application/json' };
const NEW_PASSWORD = 'brand new password';
const sessionsOf = async (token) => expectStatus(await call('GET', '/api/sessions', { token }), 200).json.sessions;
const refresh = (refreshToken) => call('POST', '/api/refresh', { json: { refreshToken } });
const change = (token, body) => call('POST', '/api/password/change', { token, json: body });

describe('sessions', () => {
  test('lists every live session with its user agent, marking the caller current', async () => {
    const phone = await newUser({ tag: 'sessions', userAgent: 'phone/1.0' });
    const laptop = await login(phone.email, { userAgent: 'laptop/2.0' });
    const before = Date.now();
    const res = expectStatus(await call('GET', '/api/sessions', { token: laptop.token }), 200);
    assert.deepEqual(Object.keys(res.json), ['sessions']);
    assertNoSecrets(res);
    const sessions = res.json.sessions;
    assert.equal(sessions.length, 2);
    for (const s of sessions) {
      assert.deepEqual(Object.keys(s).sort(), ['createdAt', 'current', 'id', 'lastUsedAt', 'userAgent']);
      assert.equal(typeof s.id, 'string');
      assert.equal(typeof s.current, 'boolean');
      assert.equal(typeof s.userAgent, 'string');
      for (const t of [s.createdAt, s.lastUsedAt]) {
        assert.equal(typeof t, 'number');
        assert.ok(Math.abs(t - before) < 120_000, `epoch milliseconds: ${t}`);
      }
      assert.ok(s.lastUsedAt >= s.createdAt);
      // Nothing of the tokens is listed.
      for (const v of Object.values(s)) assert.ok(![phone.refreshToken, laptop.refreshToken, phone.token, laptop.token].includes(v));
    }
    assert.deepEqual(sessions.map((s) => s.id).sort(), [sidOf(phone.token), sidOf(laptop.token)].sort());
    const current = sessions.filter((s) => s.current);
    assert.equal(current.length, 1);
    assert.equal(current[0].id, sidOf(laptop.token));
    assert.equal(current[0].userAgent, 'laptop/2.0');
    assert.equal(sessions.find((s) => !s.current).userAgent, 'phone/1.0');
    // From the other session, the other one is current.
    const fromPhone = await sessionsOf(phone.token);
    assert.deepEqual(fromPhone.filter((s) => s.current).map((s) => s.id), [sidOf(phone.token)]);
  });

  test('the session endpoints need a live session', async () => {
    for (const [method, path] of [['GET', '/api/sessions'], ['POST', '/api/sessions/revoke-others'], ['DELETE', '/api/sessions/abc']]) {
      expectStatus(await call(method, path), 401, 'unauthenticated');
      expectStatus(await call(method, path, { token: 'not.a.jwt' }), 401, 'invalid_token');
    }
    const u = await newUser({ tag: 'sessdead' });
    const other = await login(u.email);
    expectStatus(await call('POST', '/api/logout', { token: u.token }), 200);
    for (const [method, path] of [['GET', '/api/sessions'], ['POST', '/api/sessions/revoke-others'], ['DELETE', `/api/sessions/${sidOf(other.token)}`]]) {
      expectStatus(await call(method, path, { token: u.token }), 401, 'session_revoked');
    }
    // The dead session could not end the live one.
    expectStatus(await call('GET', '/api/me', { token: other.token }), 200);
  });

  test('DELETE /api/sessions/{id} ends that session and its refresh token; an unknown id is 404', async () => {
    const a = await newUser({ tag: 'revokeone' });
    const b = await login(a.email);
    const c = await login(a.email);
    const bSid = sidOf(b.token);
    const res = expectStatus(await call('DELETE', `/api/sessions/${bSid}`, { token: a.token }), 200);
    assert.deepEqual(res.json, { ok: true });
    expectStatus(await call('GET', '/api/me', { token: b.token }), 401, 'session_revoked');
    expectStatus(await refresh(b.refreshToken), 401);
    expectStatus(await call('DELETE', `/api/sessions/${bSid}`, { token: a.token }), 404, 'not_found');
    expectStatus(await call('DELETE', '/api/sessions/no-such-session', { token: a.token }), 404, 'not_found');
    expectStatus(await call('DELETE', `/api/sessions/${'0'.repeat(32)}`, { token: a.token }), 404, 'not_found');
    // Only b ended.
    expectStatus(await call('GET', '/api/me', { token: a.token }), 200);
    expectStatus(await call('GET', '/api/me', { token: c.token }), 200);
    assert.deepEqual((await sessionsOf(a.token)).map((s) => s.id).sort(), [sidOf(a.token), sidOf(c.token)].sort());
    expectStatus(await refresh(c.refreshToken), 200);
  });

  test('DELETE of the caller\'s own session ends it like a logout', async () => {
    const a = await newUser({ tag: 'revokeself' });
    const b = await login(a.email);
    expectStatus(await call('DELETE', `/api/sessions/${sidOf(a.token)}`, { token: a.token }), 200);
    expectStatus(await call('GET', '/api/me', { token: a.token }), 401, 'session_revoked');
    expectStatus(await refresh(a.refreshToken), 401);
    expectStatus(await call('GET', '/api/me', { token: b.token }), 200);
  });

  test('revoke-others ends every other session and its refresh token, counts them, and keeps the caller', async () => {
    const a = await newUser({ tag: 'revokeothers' });
    const b = await login(a.email);
    const c = await login(a.email);
    const res = expectStatus(await call('POST', '/api/sessions/revoke-others', { token: a.token }), 200);
    assert.deepEqual(res.json, { revoked: 2 });
    for (const s of [b, c]) {
      expectStatus(await call('GET', '/api/me', { token: s.token }), 401, 'session_revoked');
      expectStatus(await refresh(s.refreshToken), 401);
    }
    expectStatus(await call('GET', '/api/me', { token: a.token }), 200);
    const list = await sessionsOf(a.token);
    assert.deepEqual(list.map((s) => [s.id, s.current]), [[sidOf(a.token), true]]);
    assert.deepEqual(expectStatus(await call('POST', '/api/sessions/revoke-others', { token: a.token }), 200).json, { revoked: 0 });
    // The caller's refresh token still works, and a later login is counted next time.
    const rotated = expectStatus(await refresh(a.refreshToken), 200);
    await login(a.email);
    assert.deepEqual(expectStatus(await call('POST', '/api/sessions/revoke-others', { token: rotated.json.token }), 200).json, { revoked: 1 });
  });

  test("another user's session id cannot be revoked, nor listed", async () => {
    const a = await newUser({ tag: 'isoA' });
    const b = await newUser({ tag: 'isoB' });
    expectStatus(await call('DELETE', `/api/sessions/${sidOf(b.token)}`, { token: a.token }), 404, 'not_found');
    expectStatus(await call('GET', '/api/me', { token: b.token }), 200);
    assert.deepEqual((await sessionsOf(a.token)).map((s) => s.id), [sidOf(a.token)]);
    assert.deepEqual(expectStatus(await call('POST', '/api/sessions/revoke-others', { token: a.token }), 200).json, { revoked: 0 });
    expectStatus(await call('GET', '/api/me', { token: b.token }), 200);
  });
});

describe('password change', () => {
  test('a wrong current password is 401 invalid_credentials and changes nothing', async () => {
    const a = await newUser({ tag: 'pwwrong' });
    const b = await login(a.email);
    const res = expectStatus(await change(a.token, { currentPassword: 'wrong password', newPassword: NEW_PASSWORD }), 401, 'invalid_credentials');
    assert.deepEqual(res.setCookies, []);
    // The caller is still logged in, the other session too, and the password is the old one.
    expectStatus(await call('GET', '/api/me', { token: a.token }), 200);
    expectStatus(await call('GET', '/api/me', { token: b.token }), 200);
    expectStatus(await call('POST', '/api/login', { json: { email: a.email, password: NEW_PASSWORD } }), 401, 'invalid_credentials');
    await login(a.email);
  });

  test('needs a live session, a JSON body, and validates the new password like a signup password', async () => {
    const a = await newUser({ tag: 'pwbad' });
    const body = { currentPassword: PASSWORD, newPassword: NEW_PASSWORD };
    expectStatus(await call('POST', '/api/password/change', { json: body }), 401, 'unauthenticated');
    expectStatus(await call('POST', '/api/password/change', { json: body, token: unsignedJwt(accessClaims(a.user.id, sidOf(a.token))) }), 401, 'invalid_token');
    expectFieldError(await change(a.token, { currentPassword: PASSWORD, newPassword: 'short' }), 'newPassword');
    expectFieldError(await change(a.token, { currentPassword: PASSWORD, newPassword: 'a'.repeat(1025) }), 'newPassword');
    expectFieldError(await change(a.token, { currentPassword: PASSWORD, newPassword: 12345678 }), 'newPassword');
    expectFieldError(await change(a.token, { currentPassword: PASSWORD }), 'newPassword');
    expectFieldError(await change(a.token, { newPassword: 'long enough pw' }), 'currentPassword');
    for (const raw of ['{', '[]', '"x"']) {
      expectStatus(await call('POST', '/api/password/change', { token: a.token, raw, headers: JSON_HEADERS }), 400, 'invalid_json');
    }
    expectStatus(await call('POST', '/api/password/change', { token: a.token, raw: JSON.stringify(body), headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
    // Refused before parsing, so before hashing (a status, not a timing, proves it).
    expectStatus(await call('POST', '/api/password/change', { token: a.token, json: { currentPassword: PASSWORD, newPassword: 'a'.repeat(1_000_000) }, retryReset: 4 }), 413, 'payload_too_large');
    // None of that changed the password: the old one still logs in.
    await login(a.email);
  });

  test('success revokes every other session; the caller keeps working; the old password stops, the new one works', async () => {
    const a = await newUser({ tag: 'pwchange' });
    const b = await login(a.email);
    const c = await login(a.email);
    const res = expectStatus(await change(a.token, { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }), 200);
    assert.deepEqual(res.json, { ok: true });
    assertNoSecrets(res);
    expectStatus(await call('GET', '/api/me', { token: a.token }), 200);
    for (const s of [b, c]) {
      expectStatus(await call('GET', '/api/me', { token: s.token }), 401, 'session_revoked');
      expectStatus(await refresh(s.refreshToken), 401);
    }
    assert.deepEqual((await sessionsOf(a.token)).map((s) => s.id), [sidOf(a.token)]);
    expectStatus(await call('POST', '/api/login', { json: { email: a.email, password: PASSWORD } }), 401, 'invalid_credentials');
    await login(a.email, { password: NEW_PASSWORD });
    // The caller's own refresh token survives the change.
    expectStatus(await refresh(a.refreshToken), 200);
    // The old password is no longer the current one.
    expectStatus(await change(a.token, { currentPassword: PASSWORD, newPassword: 'a third password' }), 401, 'invalid_credentials');
  });
});
