// Rate limits, on a server of their own with small limits and short windows: the limit is reached,
// Retry-After is honest (waiting it out is enough), and the counters reset after the window.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startWorker } from '../run.mjs';

const WINDOW = 4;
let server;

before(async () => {
  server = await startWorker({
    name: 'wrangler-ratelimit',
    vars: {
      JWT_SECRET: randomBytes(32).toString('hex'),
      ALLOWED_ORIGINS: '',
      DEV_OUTBOX: 'true',
      RATE_LIMIT_LOGIN_FAILURES: `3/${WINDOW}`,
      RATE_LIMIT_SIGNUP_PER_IP: `3/${WINDOW}`,
      RATE_LIMIT_RESET_PER_IP: `2/${WINDOW}`,
      RATE_LIMIT_LOGIN_PER_IP: '1000/60',
    },
  });
});
after(async () => server?.stop());

const email = (tag) => `${tag}-${Date.now()}-${randomBytes(3).toString('hex')}@example.com`;
const post = async (path, body, headers = {}) => {
  const res = await fetch(server.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), json: await res.json() };
};
const waitOut = (res) => new Promise((r) => setTimeout(r, Number(res.retryAfter) * 1000));

function expectLimited(res) {
  assert.equal(res.status, 429, JSON.stringify(res.json));
  assert.equal(res.json.error.code, 'rate_limited');
  const secs = Number(res.retryAfter);
  assert.ok(Number.isInteger(secs) && secs >= 1 && secs <= WINDOW, `Retry-After ${res.retryAfter}`);
  return res;
}

describe('failed logins per email', () => {
  test('after 3 failures even the right password waits; after Retry-After it works', async () => {
    const e = email('lock');
    assert.equal((await post('/api/signup', { email: e, password: 'the right password' })).status, 201);
    for (let i = 0; i < 3; i++) {
      assert.equal((await post('/api/login', { email: e, password: 'a wrong password' })).status, 401);
    }
    const locked = expectLimited(await post('/api/login', { email: e, password: 'the right password' }));
    // Another account is not locked by this one.
    const other = email('free');
    assert.equal((await post('/api/signup', { email: other, password: 'the right password' })).status, 201);
    assert.equal((await post('/api/login', { email: other, password: 'the right password' })).status, 200);
    await waitOut(locked);
    assert.equal((await post('/api/login', { email: e, password: 'the right password' })).status, 200);
  });

  test('30 wrong passwords sent at once: no more are checked than the limit, the rest 429', async () => {
    const e = email('parallel');
    assert.equal((await post('/api/signup', { email: e, password: 'the right password' })).status, 201);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => post('/api/login', { email: e, password: `wrong guess ${i}` })),
    );
    const statuses = results.map((r) => r.status);
    assert.deepEqual(statuses.filter((s) => s !== 401 && s !== 429), [], `statuses ${statuses}`);
    const checked = statuses.filter((s) => s === 401).length;
    assert.ok(checked <= 3, `${checked} guesses were checked, the limit is 3: ${statuses}`);
    expectLimited(results.find((r) => r.status === 429));
  });

  test('an email with no account is limited the same way, so a 429 tells nothing', async () => {
    const ghost = email('ghost');
    for (let i = 0; i < 3; i++) {
      assert.equal((await post('/api/login', { email: ghost, password: 'a wrong password' })).status, 401);
    }
    expectLimited(await post('/api/login', { email: ghost, password: 'a wrong password' }));
  });
});

describe('per client IP', () => {
  test('signups: the 4th in a window is refused, and the window resets', async () => {
    const ip = { 'cf-connecting-ip': `203.0.113.${Math.floor(Math.random() * 200) + 1}` };
    // The server may see its own idea of the client IP; count what it refuses rather than assume.
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await post('/api/signup', { email: email('ipsignup'), password: 'long enough pw' }, ip));
    const limited = results.filter((r) => r.status === 429);
    assert.ok(limited.length >= 1, `statuses ${results.map((r) => r.status)}`);
    expectLimited(limited[0]);
    await waitOut(limited[0]);
    assert.equal((await post('/api/signup', { email: email('ipsignup'), password: 'long enough pw' }, ip)).status, 201);
  });

  test('IPv6 clients are counted per /64: two addresses of one /64 share a limit', async () => {
    const net = `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`;
    const other = `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}`;
    // At once, so the window cannot end between them.
    const results = await Promise.all([
      ...[`${net}::1`, `${net}::2`, `${net}:ffff:ffff:ffff:ffff`, `${net}:1::7`].map((ip) =>
        post('/api/signup', { email: email('v6'), password: 'long enough pw' }, { 'cf-connecting-ip': ip })),
      post('/api/signup', { email: email('v6other'), password: 'long enough pw' }, { 'cf-connecting-ip': `${other}::1` }),
    ]);
    const same = results.slice(0, 4).map((r) => r.status);
    assert.deepEqual(same.filter((s) => s === 201).length, 3, `one /64, one limit of 3: ${same}`);
    expectLimited(results.slice(0, 4).find((r) => r.status === 429));
    assert.equal(results[4].status, 201, 'another /64 has its own bucket');
  });

  test('reset requests: the 3rd in a window is refused', async () => {
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await post('/api/password-reset/request', { email: email('ipreset') }));
    assert.deepEqual(results.slice(0, 2).map((r) => r.status).filter((s) => s !== 202 && s !== 429), []);
    expectLimited(results.find((r) => r.status === 429));
  });
});
