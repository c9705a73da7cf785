// Session listing and revocation, and password change.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PASSWORD, call, expectStatus, jwtClaims, login, newUser } from '../lib/api.mjs';

describe('sessions', () => {
  test('lists every live session with its user agent, marking the caller current', async () => {
    const phone = await newUser({ tag: 'sessions', userAgent: 'phone/1.0' });
    const laptop = await login(phone.email, { userAgent: 'laptop/2.0' });
    const res = expectStatus(await call('GET', '/api/sessions', { token: laptop.token }), 200);
    const sessions = res.json.sessions;
    assert.equal(sessions.length, 2);
    for (const s of sessions) {
      assert.deepEqual(Object.keys(s).sort(), ['createdAt', 'current', 'id', 'lastUsedAt', 'userAgent']);
    }
    const current = sessions.filter((s) => s.current);
    assert.equal(current.length, 1);
    assert.equal(current[0].id, jwtClaims(laptop.token).sid);
    assert.equal(current[0].userAgent, 'laptop/2.0');
    assert.equal(sessions.find((s) => !s.current).userAgent, 'phone/1.0');
  });

  test('DELETE /api/sessions/{id} ends that session; an unknown id is 404', async () => {
    const a = await newUser({ tag: 'revokeone' });
    const b = await login(a.email);
    const bSid = jwtClaims(b.token).sid;
    const res = expectStatus(await call('DELETE', `/api/sessions/${bSid}`, { token: a.token }), 200);
    assert.deepEqual(res.json, { ok: true });
    expectStatus(await call('GET', '/api/me', { token: b.token }), 401, 'session_revoked');
    expectStatus(await call('POST', '/api/refresh', { json: { refreshToken: b.refreshToken } }), 401);
    expectStatus(await call('DELETE', `/api/sessions/${bSid}`, { token: a.token }), 404, 'not_found');
    expectStatus(await call('DELETE', '/api/sessions/no-such-session', { token: a.token }), 404, 'not_found');
    expectStatus(await call('GET', '/api/me', { token: a.token }), 200);
  });

  test('revoke-others ends every other session and counts them', async () => {
    const a = await newUser({ tag: 'revokeothers' });
    const b = await login(a.email);
    const c = await login(a.email);
    const res = expectStatus(await call('POST', '/api/sessions/revoke-others', { token: a.token }), 200);
    assert.deepEqual(res.json, { revoked: 2 });
    for (const t of [b.token, c.token]) expectStatus(await call('GET', '/api/me', { token: t }), 401, 'session_revoked');
    const list = expectStatus(await call('GET', '/api/sessions', { token: a.token }), 200);
    assert.equal(list.json.sessions.length, 1);
    assert.deepEqual((await call('POST', '/api/sessions/revoke-others', { token: a.token })).json, { revoked: 0 });
  });

  test("another user's session id cannot be revoked", async () => {
    const a = await newUser({ tag: 'isoA' });
    const b = await newUser({ tag: 'isoB' });
    expectStatus(await call('DELETE', `/api/sessions/${jwtClaims(b.token).sid}`, { token: a.token }), 404, 'not_found');
    expectStatus(await call('GET', '/api/me', { token: b.token }), 200);
  });
});

describe('password change', () => {
  test('a wrong current password is 401 invalid_credentials and changes nothing', async () => {
    const a = await newUser({ tag: 'pwwrong' });
    const b = await login(a.email);
    expectStatus(await call('POST', '/api/password/change', { token: a.token, json: { currentPassword: 'wrong password', newPassword: 'brand new password' } }), 401, 'invalid_credentials');
    expectStatus(await call('GET', '/api/me', { token: b.token }), 200);
    await login(a.email);
  });

  test('the new password is validated like a signup password', async () => {
    const a = await newUser({ tag: 'pwshort' });
    const res = expectStatus(await call('POST', '/api/password/change', { token: a.token, json: { currentPassword: PASSWORD, newPassword: 'short' } }), 400, 'validation_failed');
    assert.ok(res.json.error.details.newPassword.length > 0);
    const missing = expectStatus(await call('POST', '/api/password/change', { token: a.token, json: { newPassword: 'long enough pw' } }), 400, 'validation_failed');
    assert.ok(missing.json.error.details.currentPassword.length > 0);
  });

  test('success revokes every other session; the old password stops working, the new one works', async () => {
    const a = await newUser({ tag: 'pwchange' });
    const b = await login(a.email);
    const res = expectStatus(await call('POST', '/api/password/change', { token: a.token, json: { currentPassword: PASSWORD, newPassword: 'brand new password' } }), 200);
    assert.deepEqual(res.json, { ok: true });
    expectStatus(await call('GET', '/api/me', { token: a.token }), 200);
    expectStatus(await call('GET', '/api/me', { token: b.token }), 401, 'session_revoked');
    expectStatus(await call('POST', '/api/login', { json: { email: a.email, password: PASSWORD } }), 401, 'invalid_credentials');
    await login(a.email, { password: 'brand new password' });
  });
});
