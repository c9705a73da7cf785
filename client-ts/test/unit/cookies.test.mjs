// The `cookies` option: no refresh token in JavaScript. A refresh sends the worker's HttpOnly
// cookie (credentials: 'include', no body), restore() signs a new page in from it, and the
// refreshes of a browser's tabs take turns under one Web Lock.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserDoClient } from '../../dist/index.js';
import { json } from './fakes.mjs';

const pair = (n) => ({ token: `access-${n}`, refreshToken: `refresh-${n}`, expiresIn: 900, user: { id: 'u1', email: 'a@example.com', emailVerified: false, createdAt: 1 } });

/** A worker with a cookie jar of one cookie: each refresh spends it; a spent one ends the session. */
function cookieWorker() {
  // validFrom: access tokens numbered below it have expired.
  const state = { cookie: 'refresh-0', n: 0, validFrom: 0, seen: [], ended: false };
  const fetch = async (input, init = {}) => {
    const url = new URL(String(input));
    state.seen.push({ path: url.pathname, credentials: init.credentials, body: init.body, auth: init.headers?.authorization });
    if (url.pathname === '/api/refresh') {
      const given = init.credentials === 'include' ? state.cookie : undefined;
      if (init.body !== undefined) return json(400, { error: { code: 'unexpected_body', message: 'a body' } });
      if (!given || state.ended) return json(401, { error: { code: 'unauthenticated', message: 'no cookie' } });
      // The answer's Set-Cookie is in the jar before the caller sees the answer, as in a browser.
      await new Promise((r) => setImmediate(r));
      if (given !== state.cookie) {
        state.ended = true;
        return json(401, { error: { code: 'token_reused', message: 'spent' } });
      }
      state.n += 1;
      state.cookie = `refresh-${state.n}`;
      return json(200, pair(state.n));
    }
    if (url.pathname === '/api/me') {
      const n = Number(/^Bearer access-(\d+)$/.exec(init.headers?.authorization ?? '')?.[1] ?? -1);
      if (n < state.validFrom) return json(401, { error: { code: 'invalid_token', message: 'expired' } });
      return json(200, { user: pair(0).user });
    }
    return json(404, { error: { code: 'not_found', message: url.pathname } });
  };
  return { state, fetch };
}

test('restore() signs in from the cookie; the refresh token never reaches the client', async () => {
  const worker = cookieWorker();
  const client = new UserDoClient('https://app.example', { cookies: true, fetch: worker.fetch });
  const changes = [];
  client.onAuthChange((signedIn) => changes.push(signedIn));
  assert.equal(client.signedIn, false);
  assert.equal(await client.restore(), true);
  assert.deepEqual(client.getTokens(), { token: 'access-1', refreshToken: '' });
  assert.deepEqual(changes, [true]);
  assert.deepEqual(worker.state.seen, [{ path: '/api/refresh', credentials: 'include', body: undefined, auth: undefined }]);
  // Signed in: restore() does not spend the cookie again.
  assert.equal(await client.restore(), true);
  assert.equal(worker.state.seen.length, 1);
});

test('restore() without a live session stays signed out', async () => {
  const worker = cookieWorker();
  worker.state.ended = true;
  const client = new UserDoClient('https://app.example', { cookies: true, fetch: worker.fetch });
  const changes = [];
  client.onAuthChange((signedIn) => changes.push(signedIn));
  assert.equal(await client.restore(), false);
  assert.equal(client.signedIn, false);
  assert.deepEqual(changes, []);
});

test('an expired access token refreshes through the cookie, and two tabs take turns', async (t) => {
  // Web Locks as a browser has them: one holder of a name at a time, the others queued.
  const queues = new Map();
  const locks = {
    request(name, fn) {
      const run = (queues.get(name) ?? Promise.resolve()).then(() => fn());
      queues.set(name, run.catch(() => {}));
      return run;
    },
  };
  const original = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', { value: { locks }, configurable: true });
  t.after(() => (original ? Object.defineProperty(globalThis, 'navigator', original) : delete globalThis.navigator));

  const worker = cookieWorker();
  const one = new UserDoClient('https://app.example', { cookies: true, fetch: worker.fetch });
  const two = new UserDoClient('https://app.example', { cookies: true, fetch: worker.fetch });
  await one.restore();
  await two.restore();
  // Both access tokens expire: both tabs refresh at once.
  worker.state.validFrom = worker.state.n + 1;
  const [a, b] = await Promise.all([one.me(), two.me()]);
  assert.equal(a.id, 'u1');
  assert.equal(b.id, 'u1');
  assert.equal(worker.state.ended, false, 'no refresh token was spent twice');
  assert.equal(worker.state.n, 4);
  assert.ok(worker.state.seen.filter((r) => r.path === '/api/refresh').every((r) => r.body === undefined && r.credentials === 'include'));
});

test('without the Web Locks API, two tabs refreshing at once spend one cookie twice (why the lock is there)', async (t) => {
  const original = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true });
  t.after(() => (original ? Object.defineProperty(globalThis, 'navigator', original) : delete globalThis.navigator));
  const worker = cookieWorker();
  const one = new UserDoClient('https://app.example', { cookies: true, fetch: worker.fetch });
  const two = new UserDoClient('https://app.example', { cookies: true, fetch: worker.fetch });
  await Promise.allSettled([one.restore(), two.restore()]);
  assert.equal(worker.state.ended, true);
});

test('cookies and storage exclude each other', () => {
  assert.throws(() => new UserDoClient('https://app.example', { cookies: true, storage: new Map() }), /exclude each other/);
});
