// One test per weakness that SECURITY.md lists as seen in comparable public projects, named after
// it, for every one this code could have.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request as httpRequest } from 'node:http';
import { tryUpgrade } from '../lib/ws.mjs';
import { BASE, PASSWORD, accessClaims, call, expectStatus, jwtClaims, login, newUser, signJwt, uniqueEmail } from '../lib/api.mjs';

async function resetToken(email) {
  expectStatus(await call('POST', '/api/password-reset/request', { json: { email } }), 202);
  const res = expectStatus(await call('GET', `/api/dev/outbox?email=${encodeURIComponent(email)}`), 200);
  return res.json.messages.at(-1).token;
}

test('weakness: reset token returned in the HTTP response', async () => {
  const u = await newUser({ tag: 'w-resetresponse' });
  const res = expectStatus(await call('POST', '/api/password-reset/request', { json: { email: u.email } }), 202);
  const token = (await call('GET', `/api/dev/outbox?email=${encodeURIComponent(u.email)}`)).json.messages.at(-1).token;
  assert.ok(!res.text.includes(token) && !res.text.includes('upr.'), res.text);
  assert.ok(![...res.headers.values()].some((v) => v.includes(token)));
});

test('weakness: password hash, salt and refresh tokens returned by signup and login', async () => {
  const email = uniqueEmail('w-leak');
  const signup = expectStatus(await call('POST', '/api/signup', { json: { email, password: PASSWORD } }), 201);
  const login = expectStatus(await call('POST', '/api/login', { json: { email, password: PASSWORD } }), 200);
  for (const res of [signup, login]) {
    // Only the caller's own new token pair: no list of tokens, no stored hash or salt.
    assert.deepEqual(Object.keys(res.json).sort(), ['refreshToken', 'token', 'user']);
    assert.equal(typeof res.json.refreshToken, 'string');
    assert.deepEqual(Object.keys(res.json.user).sort(), ['createdAt', 'email', 'emailVerified', 'id']);
    // (The random token strings themselves are left out of the text check.)
    assert.doesNotMatch(JSON.stringify(res.json.user), /pbkdf2|\$i=|salt|password|hash/i);
  }
  const me = await call('GET', '/api/me', { token: signup.json.token });
  assert.doesNotMatch(me.text, /pbkdf2|salt|hash|refresh/i);
});

test('weakness: reset tokens accepted as access tokens and reusable', async () => {
  const u = await newUser({ tag: 'w-resetaccess' });
  const token = await resetToken(u.email);
  expectStatus(await call('GET', '/api/me', { token }), 401, 'invalid_token');
  expectStatus(await call('POST', '/api/password-reset/confirm', { json: { token, newPassword: 'new password one' } }), 200);
  expectStatus(await call('POST', '/api/password-reset/confirm', { json: { token, newPassword: 'new password two' } }), 401, 'invalid_token');
  await login(u.email, { password: 'new password one' });
});

test('weakness: logout callable with a forged token', async () => {
  const u = await newUser({ tag: 'w-forgedlogout' });
  const { sub, sid } = jwtClaims(u.token);
  const forged = signJwt(accessClaims(sub, sid), { secret: 'not the server secret, but 32+ bytes' });
  expectStatus(await call('POST', '/api/logout', { token: forged }), 401, 'invalid_token');
  expectStatus(await call('GET', '/api/me', { token: u.token }), 200);
});

test('weakness: password change not revoking sessions', async () => {
  const u = await newUser({ tag: 'w-change' });
  const stolen = await login(u.email);
  expectStatus(await call('POST', '/api/password/change', { token: u.token, json: { currentPassword: PASSWORD, newPassword: 'a changed password' } }), 200);
  expectStatus(await call('GET', '/api/me', { token: stolen.token }), 401, 'session_revoked');
  expectStatus(await call('POST', '/api/refresh', { json: { refreshToken: stolen.refreshToken } }), 401);
});

test('weakness: refresh tokens that never rotate', async () => {
  const u = await newUser({ tag: 'w-rotate' });
  const next = expectStatus(await call('POST', '/api/refresh', { json: { refreshToken: u.refreshToken } }), 200);
  assert.notEqual(next.json.refreshToken, u.refreshToken);
  expectStatus(await call('POST', '/api/refresh', { json: { refreshToken: u.refreshToken } }), 401, 'session_revoked');
});

test('weakness: credentialed CORS that reflects any origin', async () => {
  for (const origin of ['https://evil.example', 'null', `${BASE}.evil.example`, 'http://localhost:5173.evil.example']) {
    const res = await call('GET', '/api/me', { origin });
    assert.equal(res.headers.get('access-control-allow-origin'), null, origin);
    assert.equal(res.headers.get('access-control-allow-credentials'), null, origin);
  }
});

test('weakness: predictable IDs from a time-seeded generator', async () => {
  const u = await newUser({ tag: 'w-ids' });
  const sessions = await Promise.all(Array.from({ length: 4 }, () => login(u.email)));
  const ids = sessions.map((s) => jwtClaims(s.token).sid);
  for (const id of ids) assert.match(id, /^[0-9a-f]{32}$/, 'session ids are 128 random bits');
  assert.equal(new Set(ids).size, ids.length);
  // Sessions opened within the same moment share no long prefix, as counters or clocks would.
  for (let i = 1; i < ids.length; i++) {
    let common = 0;
    while (ids[0][common] === ids[i][common]) common++;
    assert.ok(common < 8, `${ids[0]} and ${ids[i]} share a ${common}-digit prefix`);
  }
  const secrets = sessions.map((s) => s.refreshToken.split('.')[2]);
  assert.ok(secrets.every((s) => Buffer.from(s, 'base64url').length === 32));
});

test('weakness: HttpOnly cookies duplicated into script-readable ones', async () => {
  const u = await newUser({ tag: 'w-cookies' });
  const l = await call('POST', '/api/login', { json: { email: u.email, password: PASSWORD } });
  const r = await call('POST', '/api/refresh', { json: { refreshToken: l.json.refreshToken } });
  for (const res of [l, r]) {
    const lines = res.headers.getSetCookie();
    assert.equal(lines.length, 2, lines.join(' | '));
    for (const line of lines) assert.match(line, /;\s*HttpOnly/i, line);
  }
});

test('weakness: SQL built by string interpolation of a JSON path, a sort direction or a limit', async () => {
  const u = await newUser({ tag: 'w-sqlinject' });
  const todos = '/api/tables/todos';
  expectStatus(await call('POST', todos, { token: u.token, json: { title: 'still here' } }), 201);
  const drop = 'DROP TABLE _userdo_table_todos';
  for (const query of [
    `where=${encodeURIComponent(`title') = 1; ${drop}; --:eq:x`)}`, // a JSON path
    `where=${encodeURIComponent('$.title:eq:x')}`,
    `orderBy=${encodeURIComponent(`title:desc; ${drop}`)}`, // a sort direction
    `limit=${encodeURIComponent(`1; ${drop}`)}`, // a limit
  ]) {
    const res = expectStatus(await call('GET', `${todos}?${query}`, { token: u.token }), 400, 'invalid_query');
    assert.doesNotMatch(res.text, /json_extract|SELECT|sqlite/i);
  }
  const rows = expectStatus(await call('GET', todos, { token: u.token }), 200).json.rows;
  assert.deepEqual(rows.map((r) => r.title), ['still here']);
});

test('weakness: a reserved storage key that users could overwrite to grant themselves access', async () => {
  const u = await newUser({ tag: 'w-reserved' });
  for (const key of ['__proto__', '__admin', '__userdo_role']) {
    const path = `/api/kv/${encodeURIComponent(key)}`;
    expectStatus(await call('PUT', path, { token: u.token, json: { role: 'admin' } }), 400, 'validation_failed');
    expectStatus(await call('POST', '/data', { token: u.token, json: { key, value: { role: 'admin' } } }), 400, 'validation_failed');
    expectStatus(await call('GET', path, { token: u.token }), 400, 'validation_failed');
  }
  // The account itself lives outside the KV namespace: no key reaches it.
  expectStatus(await call('PUT', `/api/kv/${encodeURIComponent('_userdo_account')}`, { token: u.token, json: { emailVerified: true } }), 200);
  const me = expectStatus(await call('GET', '/api/me', { token: u.token }), 200).json.user;
  assert.equal(me.emailVerified, false);
  assert.deepEqual(expectStatus(await call('GET', '/api/kv', { token: u.token }), 200).json.keys, ['_userdo_account']);
});

test('weakness: forged unsigned JWT accepted on the WebSocket upgrade', async () => {
  const u = await newUser({ tag: 'w-wsforged' });
  const { sub, sid } = jwtClaims(u.token);
  for (const header of [{ alg: 'none', typ: 'JWT' }, { alg: 'None', typ: 'JWT' }, { alg: 'HS256', typ: 'JWT' }]) {
    const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const forged = `${b64(header)}.${b64(accessClaims(sub, sid))}.`;
    for (const headers of [{ authorization: `Bearer ${forged}` }, { cookie: `token=${forged}`, origin: 'http://localhost:5173' }]) {
      const res = await tryUpgrade('/api/ws', headers);
      assert.equal(res.status, 401, `forged ${header.alg} token upgraded (${res.status})`);
      expectStatus(res, 401, 'invalid_token');
    }
  }
  // The genuine token does upgrade, so the refusals above are about the forgery.
  assert.equal((await tryUpgrade('/api/ws', { authorization: `Bearer ${u.token}` })).status, 101);
});

/** A GET with the Host header given (the URL the worker sees is then on that host). */
function getWithHost(path, host, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(BASE + path, { headers: { host, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ method: 'GET', path: `${host} ${path}`, status: res.statusCode, headers: new Headers(res.headers), json, text });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

test('weakness: dev-only paths reachable in a deploy (they answer only for a loopback host)', async () => {
  const u = await newUser({ tag: 'devhost' });
  const outbox = `/api/dev/outbox?email=${encodeURIComponent(u.email)}`;
  const port = new URL(BASE).port;
  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
    expectStatus(await getWithHost(outbox, host), 200);
    expectStatus(await getWithHost('/api/dev/object', host, { authorization: `Bearer ${u.token}` }), 200);
  }
  for (const host of ['app.example.com', `app.example.com:${port}`, `127.0.0.1.nip.io:${port}`]) {
    const res = expectStatus(await getWithHost(outbox, host), 404, 'not_found');
    assert.equal(res.json.messages, undefined);
    expectStatus(await getWithHost('/api/dev/object', host, { authorization: `Bearer ${u.token}` }), 404, 'not_found');
  }
});
