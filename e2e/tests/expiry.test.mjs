// A session that expires (no request ends it) gets no more events: delivery reads the live
// sessions and closes the sockets of ended ones with 4001. On a server of its own with sessions of
// 60 s, the least REFRESH_TOKEN_TTL allows (a file of its own: it waits out a minute).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Socket } from '../lib/ws.mjs';
import { startWorker } from '../run.mjs';

const PASSWORD = 'the right password';
const email = (tag) => `${tag}-${Date.now()}-${randomBytes(3).toString('hex')}@example.com`;

describe('an expired session', () => {
  // Access tokens that outlive the sessions, so only the session's expiry ends them.
  let short;
  before(async () => {
    short = await startWorker({
      name: 'wrangler-hardening-expiry',
      vars: {
        JWT_SECRET: randomBytes(32).toString('hex'),
        ALLOWED_ORIGINS: '',
        PBKDF2_ITERATIONS: '1000',
        REFRESH_TOKEN_TTL: '60',
        ACCESS_TOKEN_TTL: '600',
      },
    });
  });
  after(async () => short?.stop());

  test('gets no more events, and its socket is closed with 4001 when the next event would reach it', async () => {
    const at = (path, init = {}) => fetch(short.url + path, { ...init, headers: { 'content-type': 'application/json', ...init.headers } });
    const e = email('expiry');
    const a = await (await at('/api/signup', { method: 'POST', body: JSON.stringify({ email: e, password: PASSWORD }) })).json();
    const started = Date.now();
    const { ticket } = await (await at('/api/ws/ticket', { method: 'POST', headers: { authorization: `Bearer ${a.token}` } })).json();
    const socket = await new Promise((resolve, reject) => {
      const ws = new WebSocket(`${short.url.replace(/^http/, 'ws')}/api/ws?ticket=${encodeURIComponent(ticket)}`);
      const s = new Socket(ws);
      ws.addEventListener('open', () => resolve(s), { once: true });
      ws.addEventListener('error', () => reject(new Error('socket refused')), { once: true });
    });
    // A second session, opened later, still lives when the first has expired.
    await new Promise((r) => setTimeout(r, 20_000));
    const b = await (await at('/api/login', { method: 'POST', body: JSON.stringify({ email: e, password: PASSWORD }) })).json();
    await new Promise((r) => setTimeout(r, Math.max(0, started + 62_000 - Date.now())));
    assert.equal((await at('/api/me', { headers: { authorization: `Bearer ${a.token}` } })).status, 401, 'the first session has expired');
    // A write that no request about sessions precedes: only delivery can notice the expiry.
    assert.equal((await at('/api/kv/after-expiry', { method: 'PUT', body: '1', headers: { authorization: `Bearer ${b.token}` } })).status, 200);
    const closed = await Promise.race([socket.closed, new Promise((r) => setTimeout(() => r({ code: 'open' }), 30_000))]);
    assert.equal(closed.code, 4001);
    assert.deepEqual(socket.pending().filter((m) => m && m.seq !== undefined), [], 'no event after the session expired');
  });
});
