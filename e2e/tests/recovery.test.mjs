// Password reset, email verification and account deletion, with mail read from the dev outbox.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BASE, PASSWORD, call, expectStatus, login, newUser, uniqueEmail } from '../lib/api.mjs';

async function outbox(email) {
  const res = expectStatus(await call('GET', `/api/dev/outbox?email=${encodeURIComponent(email)}`), 200);
  return res.json.messages;
}

async function requestReset(email) {
  const res = expectStatus(await call('POST', '/api/password-reset/request', { json: { email } }), 202);
  assert.deepEqual(res.json, { ok: true });
  return res;
}

describe('password reset', () => {
  test('the request answers the same for known and unknown emails, and never carries the token', async () => {
    const u = await newUser({ tag: 'reset' });
    const known = await requestReset(u.email);
    const unknown = await requestReset(uniqueEmail('nobody'));
    assert.equal(known.text, unknown.text);
    const [mail] = await outbox(u.email);
    assert.equal(mail.to, u.email);
    assert.ok(mail.text.includes(mail.token));
    assert.ok(!known.text.includes(mail.token));
    assert.deepEqual(await outbox(uniqueEmail('nobody')), []);
  });

  test('confirm sets the password, revokes every session, and the token works once', async () => {
    const u = await newUser({ tag: 'resetconfirm' });
    const other = await login(u.email);
    await requestReset(u.email);
    const { token } = (await outbox(u.email)).at(-1);
    expectStatus(await call('POST', '/api/password-reset/confirm', { json: { token, newPassword: 'short' } }), 400, 'validation_failed');
    const res = expectStatus(await call('POST', '/api/password-reset/confirm', { json: { token, newPassword: 'a brand new password' } }), 200);
    assert.deepEqual(res.json, { ok: true });
    for (const t of [u.token, other.token]) expectStatus(await call('GET', '/api/me', { token: t }), 401, 'session_revoked');
    expectStatus(await call('POST', '/api/login', { json: { email: u.email, password: PASSWORD } }), 401, 'invalid_credentials');
    await login(u.email, { password: 'a brand new password' });
    expectStatus(await call('POST', '/api/password-reset/confirm', { json: { token, newPassword: 'yet another password' } }), 401, 'invalid_token');
  });

  test('a password change ends every pending reset token', async () => {
    const u = await newUser({ tag: 'resetchange' });
    await requestReset(u.email);
    const { token } = (await outbox(u.email)).at(-1);
    expectStatus(await call('POST', '/api/password/change', { token: u.token, json: { currentPassword: PASSWORD, newPassword: 'a changed password' } }), 200);
    expectStatus(await call('POST', '/api/password-reset/confirm', { json: { token, newPassword: 'the attacker password' } }), 401, 'invalid_token');
    await login(u.email, { password: 'a changed password' });
  });

  test('a reset token is accepted nowhere else, and garbage is invalid_token', async () => {
    const u = await newUser({ tag: 'resetkinds' });
    await requestReset(u.email);
    const { token } = (await outbox(u.email)).at(-1);
    expectStatus(await call('GET', '/api/me', { token }), 401, 'invalid_token');
    expectStatus(await call('POST', '/api/refresh', { json: { refreshToken: token } }), 401, 'invalid_token');
    expectStatus(await call('POST', '/api/email-verification/confirm', { json: { token } }), 401, 'invalid_token');
    expectStatus(await call('POST', '/api/password-reset/confirm', { json: { token: 'garbage', newPassword: 'long enough pw' } }), 401, 'invalid_token');
    // Still unspent after all that.
    expectStatus(await call('POST', '/api/password-reset/confirm', { json: { token, newPassword: 'long enough pw' } }), 200);
  });

  test('bad request bodies are 400 with the field named', async () => {
    const res = expectStatus(await call('POST', '/api/password-reset/request', { json: { email: 'nope' } }), 400, 'validation_failed');
    assert.ok(res.json.error.details.email.length > 0);
    expectStatus(await call('POST', '/api/password-reset/confirm', { json: { newPassword: 'long enough pw' } }), 400, 'validation_failed');
    expectStatus(await call('GET', '/api/dev/outbox'), 400, 'invalid_query');
  });
});

describe('email verification', () => {
  test('request mails a token; confirm sets emailVerified once', async () => {
    const u = await newUser({ tag: 'verify' });
    expectStatus(await call('POST', '/api/email-verification/request'), 401, 'unauthenticated');
    const req = expectStatus(await call('POST', '/api/email-verification/request', { token: u.token }), 202);
    assert.deepEqual(req.json, { ok: true });
    const { token, subject } = (await outbox(u.email)).at(-1);
    assert.match(subject, /confirm/i);
    const res = expectStatus(await call('POST', '/api/email-verification/confirm', { json: { token } }), 200);
    assert.deepEqual(res.json, { user: { ...u.user, emailVerified: true } });
    expectStatus(await call('POST', '/api/email-verification/confirm', { json: { token } }), 401, 'invalid_token');
    assert.equal((await call('GET', '/api/me', { token: u.token })).json.user.emailVerified, true);
    expectStatus(await call('POST', '/api/password-reset/confirm', { json: { token, newPassword: 'long enough pw' } }), 401, 'invalid_token');
  });
});

describe('account deletion', () => {
  test('needs the password; then every trace is gone and the email can sign up afresh', async () => {
    const u = await newUser({ tag: 'delete' });
    const other = await login(u.email);
    expectStatus(await call('POST', '/api/visits', { token: u.token }), 200);
    expectStatus(await call('DELETE', '/api/account', { token: u.token, json: { password: 'wrong password' } }), 401, 'invalid_credentials');
    expectStatus(await call('DELETE', '/api/account', { token: u.token, json: {} }), 400, 'validation_failed');
    expectStatus(await call('GET', '/api/me', { token: u.token }), 200);
    const res = expectStatus(await call('DELETE', '/api/account', { token: u.token, json: { password: PASSWORD } }), 200);
    assert.deepEqual(res.json, { ok: true });
    assert.equal(res.cookies.token.attrs['max-age'], '0');
    for (const t of [u.token, other.token]) expectStatus(await call('GET', '/api/me', { token: t }), 401, 'session_revoked');
    expectStatus(await call('POST', '/api/refresh', { json: { refreshToken: u.refreshToken } }), 401);
    expectStatus(await call('POST', '/api/login', { json: { email: u.email, password: PASSWORD } }), 401, 'invalid_credentials');
    // A new signup with that email starts empty: the application's data went too.
    const again = expectStatus(await call('POST', '/api/signup', { json: { email: u.email, password: 'a new account password' } }), 201);
    assert.deepEqual((await call('POST', '/api/visits', { token: again.json.token })).json, { visits: 1 });
  });

  test('a refused deletion (a wrong password) clears no cookie; the session lives on', async () => {
    const u = await newUser({ tag: 'deletekeep' });
    const cookie = `token=${u.token}; refreshToken=${u.refreshToken}`;
    const wrong = expectStatus(
      await call('DELETE', '/api/account', { cookie, origin: BASE, json: { password: 'wrong password' } }), 401, 'invalid_credentials');
    assert.deepEqual(wrong.setCookies, [], 'a refused request never clears cookies');
    const bearer = expectStatus(await call('DELETE', '/api/account', { token: u.token, json: { password: 'wrong password' } }), 401, 'invalid_credentials');
    assert.deepEqual(bearer.setCookies, []);
    expectStatus(await call('GET', '/api/me', { cookie, origin: BASE }), 200);
    const done = expectStatus(await call('DELETE', '/api/account', { cookie, origin: BASE, json: { password: PASSWORD } }), 200);
    assert.equal(done.cookies.token.attrs['max-age'], '0');
    assert.equal(done.cookies.refreshToken.attrs['max-age'], '0');
  });

  test('a cookie-authenticated deletion needs an allowed Origin', async () => {
    const u = await newUser({ tag: 'deletecsrf' });
    expectStatus(await call('DELETE', '/api/account', { cookie: `token=${u.token}`, json: { password: PASSWORD } }), 403, 'csrf_rejected');
    expectStatus(await call('GET', '/api/me', { token: u.token }), 200);
  });
});
