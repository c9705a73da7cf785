// Signup, login, me, logout and refresh, end to end against the real runtime.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BASE, PASSWORD, call, expectStatus, jwtClaims, login, newUser, uniqueEmail } from '../lib/api.mjs';

const USER_KEYS = ['createdAt', 'email', 'emailVerified', 'id'];

function assertAuthCookies(cookies, { accessMaxAge = '900', refreshMaxAge = '2592000' } = {}) {
  for (const [name, maxAge] of [['token', accessMaxAge], ['refreshToken', refreshMaxAge]]) {
    const c = cookies[name];
    assert.ok(c, `no ${name} cookie`);
    assert.equal(c.attrs.httponly, true, `${name} must be HttpOnly`);
    assert.equal(c.attrs.samesite, 'Lax');
    assert.equal(c.attrs.path, '/');
    assert.equal(c.attrs['max-age'], maxAge);
    assert.equal(c.attrs.secure, undefined, `${name}: no Secure on http://127.0.0.1`);
  }
}

describe('signup', () => {
  test('creates the account: 201 with the public user, a token pair and HttpOnly cookies', async () => {
    const raw = `  ${uniqueEmail('Signup').toUpperCase()} `;
    const res = expectStatus(await call('POST', '/api/signup', { json: { email: raw, password: PASSWORD } }), 201);
    assert.deepEqual(Object.keys(res.json).sort(), ['refreshToken', 'token', 'user']);
    assert.deepEqual(Object.keys(res.json.user).sort(), USER_KEYS);
    assert.equal(res.json.user.email, raw.trim().toLowerCase());
    assert.equal(res.json.user.emailVerified, false);
    assert.match(res.json.user.id, /^[0-9a-f]{64}$/);
    assert.ok(Math.abs(res.json.user.createdAt - Date.now()) < 60_000, 'createdAt is epoch milliseconds');
    assert.doesNotMatch(res.text, /pbkdf2|salt|hash/i);
    assert.equal(res.cookies.token.value, res.json.token);
    assert.equal(res.cookies.refreshToken.value, res.json.refreshToken);
    assertAuthCookies(res.cookies);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const claims = jwtClaims(res.json.token);
    assert.equal(claims.sub, res.json.user.id);
    assert.equal(claims.exp - claims.iat, 900);
  });

  test('an existing email, in any case or spacing, is 409 email_taken', async () => {
    const { email } = await newUser({ tag: 'taken' });
    const again = await call('POST', '/api/signup', { json: { email: ` ${email.toUpperCase()}`, password: PASSWORD } });
    expectStatus(again, 409, 'email_taken');
    assert.equal(again.cookies.token, undefined);
  });
});

describe('login', () => {
  test('works with the email in another case, and sets the cookies', async () => {
    const u = await newUser({ tag: 'login' });
    const res = await login(u.email.toUpperCase());
    assert.equal(res.user.id, u.user.id);
    assert.notEqual(res.token, u.token);
    assertAuthCookies(res.cookies);
  });

  test('a wrong password and an unknown email give the same 401 invalid_credentials', async () => {
    const u = await newUser({ tag: 'wrongpw' });
    const wrong = expectStatus(await call('POST', '/api/login', { json: { email: u.email, password: 'not the password' } }), 401, 'invalid_credentials');
    const unknown = expectStatus(await call('POST', '/api/login', { json: { email: uniqueEmail('nobody'), password: 'not the password' } }), 401, 'invalid_credentials');
    assert.deepEqual(unknown.json, wrong.json);
    assert.equal(wrong.cookies.token, undefined);
  });
});

describe('me', () => {
  test('answers for a bearer token and for the token cookie, and 401 unauthenticated without either', async () => {
    const u = await newUser({ tag: 'me' });
    const bearer = expectStatus(await call('GET', '/api/me', { token: u.token }), 200);
    assert.deepEqual(bearer.json, { user: u.user });
    const cookie = expectStatus(await call('GET', '/api/me', { cookie: `token=${u.token}` }), 200);
    assert.deepEqual(cookie.json, { user: u.user });
    expectStatus(await call('GET', '/api/me'), 401, 'unauthenticated');
  });
});

describe('logout', () => {
  test('revokes the current session at once and clears both cookies', async () => {
    const u = await newUser({ tag: 'logout' });
    const other = await login(u.email);
    const res = expectStatus(await call('POST', '/api/logout', { token: u.token }), 200);
    assert.deepEqual(res.json, { ok: true });
    assert.equal(res.cookies.token.attrs['max-age'], '0');
    assert.equal(res.cookies.refreshToken.attrs['max-age'], '0');
    expectStatus(await call('GET', '/api/me', { token: u.token }), 401, 'session_revoked');
    expectStatus(await call('POST', '/api/refresh', { json: { refreshToken: u.refreshToken } }), 401);
    expectStatus(await call('GET', '/api/me', { token: other.token }), 200);
  });

  test('needs a valid token: none is unauthenticated, a forged one invalid_token', async () => {
    expectStatus(await call('POST', '/api/logout'), 401, 'unauthenticated');
    const u = await newUser({ tag: 'logoutforged' });
    const [h, p] = u.token.split('.');
    expectStatus(await call('POST', '/api/logout', { token: `${h}.${p}.AAAA` }), 401, 'invalid_token');
    expectStatus(await call('GET', '/api/me', { token: u.token }), 200);
  });
});

describe('refresh', () => {
  test('rotates the pair; the spent token presented again revokes the whole session', async () => {
    const u = await newUser({ tag: 'refresh' });
    const first = expectStatus(await call('POST', '/api/refresh', { json: { refreshToken: u.refreshToken } }), 200);
    assert.notEqual(first.json.refreshToken, u.refreshToken);
    assert.deepEqual(first.json.user, u.user);
    assertAuthCookies(first.cookies);
    expectStatus(await call('GET', '/api/me', { token: first.json.token }), 200);
    // Reuse of the spent token: the session ends, including the pair it was rotated into.
    expectStatus(await call('POST', '/api/refresh', { json: { refreshToken: u.refreshToken } }), 401, 'session_revoked');
    expectStatus(await call('GET', '/api/me', { token: first.json.token }), 401, 'session_revoked');
    expectStatus(await call('POST', '/api/refresh', { json: { refreshToken: first.json.refreshToken } }), 401);
  });

  test('takes the refreshToken cookie, with an allowed Origin', async () => {
    const u = await newUser({ tag: 'refreshcookie' });
    const cookie = `refreshToken=${u.refreshToken}`;
    expectStatus(await call('POST', '/api/refresh', { cookie }), 403, 'csrf_rejected');
    expectStatus(await call('POST', '/api/refresh', { cookie, origin: 'https://evil.example' }), 403, 'csrf_rejected');
    const res = expectStatus(await call('POST', '/api/refresh', { cookie, origin: BASE }), 200);
    assert.notEqual(res.json.refreshToken, u.refreshToken);
    assert.equal(res.cookies.refreshToken.value, res.json.refreshToken);
  });

  test('rejects garbage, an access token, another kind of token, and no token', async () => {
    const u = await newUser({ tag: 'refreshbad' });
    expectStatus(await call('POST', '/api/refresh', { json: { refreshToken: 'garbage' } }), 401, 'invalid_token');
    expectStatus(await call('POST', '/api/refresh', { json: { refreshToken: u.token } }), 401, 'invalid_token');
    const otherKind = u.refreshToken.replace(/^urt\./, 'upr.');
    expectStatus(await call('POST', '/api/refresh', { json: { refreshToken: otherKind } }), 401, 'invalid_token');
    const flipped = u.refreshToken.slice(0, -2) + (u.refreshToken.endsWith('AA') ? 'BB' : 'AA');
    expectStatus(await call('POST', '/api/refresh', { json: { refreshToken: flipped } }), 401, 'invalid_token');
    expectStatus(await call('POST', '/api/refresh'), 401, 'unauthenticated');
    expectStatus(await call('POST', '/api/refresh', { json: {} }), 401, 'unauthenticated');
    // None of that spent the real token.
    expectStatus(await call('POST', '/api/refresh', { json: { refreshToken: u.refreshToken } }), 200);
  });
});
