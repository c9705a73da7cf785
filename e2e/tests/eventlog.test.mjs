// The change feed's byte bound, end to end: a worker of its own with a small EVENT_LOG_MAX_BYTES
// keeps only the newest events whose data adds up to at most that many bytes. A replay from before
// them answers `resync`; a replay from within them gets every kept event, in order. The main test
// server (the default bound, 16 MiB) replays the same writes from seq 0.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { PASSWORD, call, expectStatus, newUser } from '../lib/api.mjs';
import { Socket, socketFor } from '../lib/ws.mjs';
import { startWorker, testVars } from '../run.mjs';

const MAX_BYTES = 8192;
const WRITES = 24;
// Each value's event data is about 1 KiB: the log holds about 8 of the 24.
const valueOf = (i) => ({ i, pad: 'v'.repeat(1000 + i) });
// The size the server counts for an event: its data as compact JSON, `{op, key, value}`.
const sizeOf = (i) => Buffer.byteLength(JSON.stringify({ op: 'put', key: `big-${i}`, value: valueOf(i) }));

describe('event log byte bound (EVENT_LOG_MAX_BYTES)', () => {
  let server;
  before(async () => {
    server = await startWorker({ name: 'eventlog', vars: { ...testVars(), EVENT_LOG_MAX_BYTES: String(MAX_BYTES) } });
  });
  after(() => server?.stop());

  const request = async (method, path, { token, json } = {}) => {
    const res = await fetch(server.url + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: json === undefined ? undefined : JSON.stringify(json),
      signal: AbortSignal.timeout(60_000),
    });
    return { status: res.status, json: await res.json() };
  };
  const feed = async (token, since) => {
    const { json: { ticket } } = await request('POST', '/api/ws/ticket', { token });
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/api/ws?ticket=${encodeURIComponent(ticket)}&since=${since}`);
    const socket = new Socket(ws);
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve, { once: true });
      ws.addEventListener('error', () => reject(new Error('WebSocket refused')), { once: true });
    });
    return socket;
  };

  test('after more bytes than the bound, replay from 0 answers resync and replay from a kept seq works', async () => {
    const email = `eventlog-${randomBytes(4).toString('hex')}@example.com`;
    const signup = await request('POST', '/api/signup', { json: { email, password: PASSWORD } });
    assert.equal(signup.status, 201);
    const { token } = signup.json;
    const live = await feed(token, 0);
    for (let i = 1; i <= WRITES; i++) {
      const res = await request('PUT', `/api/kv/big-${i}`, { token, json: valueOf(i) });
      assert.equal(res.status, 200);
    }
    const written = Array.from({ length: WRITES }, (_, k) => sizeOf(k + 1)).reduce((a, b) => a + b, 0);
    assert.ok(written > 2 * MAX_BYTES, `${written} bytes of event data written, the bound is ${MAX_BYTES}`);
    // A socket that was open all along got every event, in order: the bound limits replay, not delivery.
    assert.deepEqual((await live.take(WRITES)).map((m) => m.seq), Array.from({ length: WRITES }, (_, k) => k + 1));
    await live.close();

    // The events kept: the newest ones whose sizes add up to at most the bound.
    let oldestKept = WRITES + 1;
    for (let total = 0; oldestKept > 1 && total + sizeOf(oldestKept - 1) <= MAX_BYTES;) total += sizeOf(--oldestKept);
    assert.ok(oldestKept > 1 && oldestKept < WRITES, `the bound keeps some events and not all (from seq ${oldestKept})`);

    // Replay from 0, and from just before the oldest kept event's predecessor: resync, with the newest seq.
    for (const since of [0, oldestKept - 2]) {
      const s = await feed(token, since);
      assert.deepEqual(await s.next(), { event: 'resync', seq: WRITES }, `since=${since}`);
      assert.deepEqual(s.pending(), [], 'nothing after the resync');
      await s.close();
    }
    // Replay from the seq just before the oldest kept event: every kept event, in order, with its data.
    const from = await feed(token, oldestKept - 1);
    const replayed = await from.take(WRITES - oldestKept + 1);
    assert.deepEqual(replayed.map((m) => m.seq), Array.from({ length: WRITES - oldestKept + 1 }, (_, k) => oldestKept + k));
    for (const m of replayed) assert.deepEqual(m.data, { op: 'put', key: `big-${m.seq}`, value: valueOf(m.seq) });
    // A recent seq replays the tail, and live events follow on it.
    const recent = await feed(token, WRITES - 2);
    assert.deepEqual((await recent.take(2)).map((m) => m.seq), [WRITES - 1, WRITES]);
    assert.equal((await request('PUT', '/api/kv/after', { token, json: 1 })).status, 200);
    const next = await recent.next();
    assert.deepEqual([next.seq, next.event], [WRITES + 1, 'kv:after']);
    await Promise.all([from.close(), recent.close()]);
    // The data itself is not bounded by the log: every value is still stored.
    for (const i of [1, WRITES]) assert.deepEqual((await request('GET', `/api/kv/big-${i}`, { token })).json.value, valueOf(i));
  });

  test('the default bound (16 MiB) keeps the same writes: the main server replays them all from 0', async () => {
    const u = await newUser({ tag: 'eventlog-default' });
    for (let i = 1; i <= WRITES; i++) {
      expectStatus(await call('PUT', `/api/kv/big-${i}`, { token: u.token, json: valueOf(i) }), 200);
    }
    const s = await socketFor(u.token, 0);
    const all = await s.take(WRITES);
    assert.deepEqual(all.map((m) => m.seq), Array.from({ length: WRITES }, (_, k) => k + 1));
    assert.deepEqual(all[0].data, { op: 'put', key: 'big-1', value: valueOf(1) });
    await s.close();
  });
});
