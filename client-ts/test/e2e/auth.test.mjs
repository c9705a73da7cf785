// Auth flows through the client against the real worker: signup, login, me, sessions, password
// change and reset (through the dev outbox), logout, and the transparent refresh of an expired
// access token, shared by concurrent requests.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { UserDoError } from '../../dist/index.js';
import { PASSWORD, Server, signedUp, uniqueEmail } from './harness.mjs';

let server;
before(async () => {
  server = await Server.start('client-ts-auth');
});
after(async () => {
  await server?.stop();
});

describe('auth', () => {
  test('signup, me, login elsewhere, sessions, revoke, logout', async () => {
    const { client: a, email, user } = await signedUp(server, 'auth');
    assert.equal(user.email, email);
    assert.deepEqual(Object.keys(user).sort(), ['createdAt', 'email', 'emailVerified', 'id']);
    assert.deepEqual(await a.me(), user);
    // The same email again is refused with the API's error.
    await assert.rejects(server.client().signup(email, PASSWORD), (e) => e instanceof UserDoError && e.status === 409 && e.code === 'email_taken');
    await assert.rejects(server.client().login(email, 'wrong password'), { status: 401, code: 'invalid_credentials' });

    const b = server.client();
    assert.equal((await b.login(email, PASSWORD)).id, user.id);
    const sessions = await b.sessions.list();
    assert.equal(sessions.length, 2);
    assert.equal(sessions.filter((s) => s.current).length, 1);
    const mine = sessions.find((s) => s.current);
    const other = sessions.find((s) => !s.current);
    // B ends A's session: A's next request fails with session_revoked and A is signed out.
    await b.sessions.revoke(other.id);
    await assert.rejects(a.me(), { status: 401, code: 'session_revoked' });
    assert.equal(a.signedIn, false);
    await assert.rejects(b.sessions.revoke(other.id), { status: 404, code: 'not_found' });
    // Revoke-others counts.
    const c = server.client();
    await c.login(email, PASSWORD);
    assert.equal(await b.sessions.revokeOthers(), 1);
    assert.deepEqual((await b.sessions.list()).map((s) => s.id), [mine.id]);
    // Logout ends the session on the server: the old token is refused there.
    const token = b.getTokens().token;
    await b.logout();
    assert.equal(b.signedIn, false);
    const res = await server.raw('/api/me', { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error.code, 'session_revoked');
    await assert.rejects(b.me(), { status: 401, code: 'unauthenticated' });
  });

  test('password change keeps this session, ends the others; reset through the outbox', async () => {
    const { client: a, email } = await signedUp(server, 'pw');
    const b = server.client();
    await b.login(email, PASSWORD);
    await assert.rejects(a.changePassword('not the password', 'new password 1'), { status: 401, code: 'invalid_credentials' });
    await assert.rejects(a.changePassword(PASSWORD, 'short'), (e) => e.code === 'validation_failed' && Array.isArray(e.details.newPassword));
    await a.changePassword(PASSWORD, 'new password 1');
    assert.equal((await a.me()).email, email);
    await assert.rejects(b.me(), { code: 'session_revoked' });
    await assert.rejects(server.client().login(email, PASSWORD), { code: 'invalid_credentials' });

    const anon = server.client();
    await anon.requestPasswordReset(email);
    await anon.requestPasswordReset(uniqueEmail('nobody')); // same answer for unknown emails
    const token = await server.outboxToken(email);
    assert.match(token, /^upr\./);
    await anon.confirmPasswordReset(token, 'new password 2');
    await assert.rejects(anon.confirmPasswordReset(token, 'new password 3'), { status: 401, code: 'invalid_token' });
    await assert.rejects(a.me(), { code: 'session_revoked' });
    const d = server.client();
    await d.login(email, 'new password 2');
    assert.equal((await d.me()).email, email);
  });

  test('tokens persist through an injected storage', async () => {
    const saved = new Map();
    const storage = { getItem: (k) => saved.get(k) ?? null, setItem: (k, v) => saved.set(k, v), removeItem: (k) => saved.delete(k) };
    const { client: a, user } = await signedUp(server, 'storage', { storage });
    assert.ok(saved.has('userdo.tokens'));
    const reloaded = server.client({ storage });
    assert.equal(reloaded.signedIn, true);
    assert.equal((await reloaded.me()).id, user.id);
    await a.logout();
    assert.equal(saved.has('userdo.tokens'), false);
  });
});

describe('transparent refresh', () => {
  test('an expired access token: one refresh for N concurrent requests, each retried once', async () => {
    const { client, user } = await signedUp(server, 'refresh');
    await client.set('n', 1);
    const { token, refreshToken } = client.getTokens();
    client.setTokens({ token: server.expired(token), refreshToken });
    // The server really refuses it.
    const res = await server.raw('/api/me', { headers: { authorization: `Bearer ${client.getTokens().token}` } });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error.code, 'invalid_token');

    const before = client.wires.requests.length;
    const N = 12;
    const results = await Promise.all([
      ...Array.from({ length: N - 2 }, () => client.get('n')),
      client.me(),
      client.keys(),
    ]);
    assert.deepEqual(results.slice(0, N - 2), Array(N - 2).fill(1));
    assert.equal(results[N - 2].id, user.id);
    assert.deepEqual(results[N - 1], ['n']);
    const log = client.wires.requests.slice(before);
    assert.equal(log.filter((r) => r.path === '/api/refresh').length, 1, 'exactly one refresh');
    assert.equal(log.length, N + 1 + N, 'each request at most twice');
    assert.notEqual(client.getTokens().refreshToken, refreshToken, 'rotated');
    // The new pair works.
    assert.equal((await client.me()).id, user.id);
  });

  test('a garbage access token refreshes too; a failed refresh signs out', async () => {
    const { client } = await signedUp(server, 'refresh-fail');
    const { refreshToken } = client.getTokens();
    client.setTokens({ token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.garbage', refreshToken });
    await client.set('a', true);
    assert.equal(client.wires.count('POST', '/api/refresh'), 1);
    // Now a refresh token the server does not know: the refresh fails, the client signs out.
    const signedOut = [];
    client.onAuthChange((v) => signedOut.push(v));
    client.setTokens({ token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.garbage', refreshToken: 'urt.nope.nope' });
    await assert.rejects(Promise.all([client.get('a'), client.get('a')]), { status: 401 });
    assert.equal(client.wires.count('POST', '/api/refresh'), 2);
    assert.equal(client.signedIn, false);
    assert.deepEqual(signedOut, [false]);
  });
});
