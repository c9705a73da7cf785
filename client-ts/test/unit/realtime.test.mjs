// The realtime connection and the refresh logic against fakes: a hand-driven WebSocket, timers
// that run when told, a scripted fetch and a fixed random.
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { BASELINE_SINCE, UserDoClient } from '../../dist/index.js';
import { FakeSocket, FakeTimers, fakeFetch, flush, json } from './fakes.mjs';

const TOKENS = { token: 'access-1', refreshToken: 'urt.refresh-1' };
const ev = (seq, key, value = seq) => ({ seq, event: `kv:${key}`, data: { op: 'put', key, value }, ts: 1 });

function setup({ random = () => 0.5, handler } = {}) {
  const timers = new FakeTimers();
  let tickets = 0;
  const { fetch, calls } = fakeFetch(
    handler ??
      ((call) => {
        if (call.path === '/api/ws/ticket') return json(200, { ticket: `uwt.${++tickets}` });
        if (call.path.startsWith('/api/kv/')) return json(200, { key: 'k', value: 'reloaded' });
        return json(404, { error: { code: 'not_found', message: 'no' } });
      }),
  );
  const client = new UserDoClient('http://worker.test/', { fetch, WebSocket: FakeSocket, timers, random, tokens: TOKENS });
  return { client, timers, calls };
}

describe('realtime (fakes)', () => {
  beforeEach(() => FakeSocket.reset());

  test('a first connection asks for a baseline; events are delivered once, in order', async () => {
    const { client } = setup();
    const got = [];
    let resyncs = 0;
    client.realtime.onResync(() => resyncs++);
    client.onChange('k', (value, change) => got.push([value, change.seq]));
    await flush();
    const s = FakeSocket.last();
    assert.equal(s.url, `ws://worker.test/api/ws?ticket=uwt.1&since=${BASELINE_SINCE}`);
    s.open();
    s.message({ event: 'resync', seq: 10 });
    assert.equal(resyncs, 0, 'the baseline is not a resync');
    assert.equal(client.realtime.lastSeq, 10);
    for (const seq of [10, 11, 11, 9, 12, 12]) s.message(ev(seq, 'k'));
    s.message('pong');
    s.message('{not json');
    s.message({ id: 1, result: 5 });
    assert.deepEqual(got, [[11, 11], [12, 12]]);
    assert.equal(client.realtime.stats.duplicates, 4);
  });

  test('after a drop it reconnects with backoff and since = the last seq; replays are not repeated', async () => {
    const { client, timers } = setup({ random: () => 0.5 });
    const got = [];
    client.onChange('k', (_v, change) => got.push(change.seq));
    await flush();
    let s = FakeSocket.last();
    s.open();
    s.message({ event: 'resync', seq: 0 });
    s.message(ev(1, 'k'));
    s.message(ev(2, 'k'));
    s.serverClose(1006);
    assert.equal(client.realtime.status, 'reconnecting');
    assert.equal(timers.delays.at(-1), 250, 'attempt 0: half of 500 ms');
    timers.advance(250);
    await flush();
    s = FakeSocket.last();
    assert.equal(FakeSocket.all.length, 2);
    assert.equal(s.since, '2');
    assert.match(s.url, /ticket=uwt\.2/, 'a fresh ticket each time');
    s.open();
    // The server replays from 2 on; a stale repeat of 2 must not reach the listener again.
    s.message(ev(2, 'k'));
    s.message(ev(3, 'k'));
    assert.deepEqual(got, [1, 2, 3]);
  });

  test('failed attempts back off exponentially with full jitter, capped; uptime resets it', async () => {
    let up = false;
    const { client, timers } = setup({
      random: () => 0.5,
      handler: (call) => {
        if (!up) throw new TypeError('fetch failed');
        return json(200, { ticket: 'uwt.x' });
      },
    });
    client.onChange('k', () => {});
    const waits = [];
    for (let i = 0; i < 9; i++) {
      await flush();
      waits.push(timers.delays.at(-1));
      timers.advance(timers.delays.at(-1));
    }
    assert.deepEqual(waits, [250, 500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    up = true;
    await flush();
    timers.advance(timers.delays.at(-1));
    await flush();
    const s = FakeSocket.last();
    s.open();
    // Closed before the minimum uptime: the backoff keeps growing.
    s.serverClose(1006);
    assert.equal(timers.delays.at(-1), 15000);
    timers.advance(15000);
    await flush();
    FakeSocket.last().open();
    timers.advance(5000); // minUptimeMs
    FakeSocket.last().serverClose(1006);
    assert.equal(timers.delays.at(-1), 250, 'after a good connection it starts over');
    client.close();
    assert.equal(client.realtime.status, 'idle');
  });

  test('a gap reopens with since = the last seq delivered instead of skipping', async () => {
    const { client, timers } = setup({ random: () => 0 });
    const got = [];
    client.onChange('k', (_v, c) => got.push(c.seq));
    await flush();
    let s = FakeSocket.last();
    s.open();
    s.message({ event: 'resync', seq: 4 });
    s.message(ev(5, 'k'));
    s.message(ev(7, 'k'));
    assert.equal(s.closedByClient, 4000);
    assert.equal(client.realtime.stats.gaps, 1);
    timers.advance(0);
    await flush();
    s = FakeSocket.last();
    assert.equal(s.since, '5');
    s.open();
    s.message(ev(6, 'k'));
    s.message(ev(7, 'k'));
    assert.deepEqual(got, [5, 6, 7]);
  });

  test('a resync calls the hook, tells collections, and re-reads watched keys', async () => {
    const timers = new FakeTimers();
    const { fetch, calls } = fakeFetch((call) =>
      call.path === '/api/ws/ticket' ? json(200, { ticket: 'uwt.1' }) : json(200, { key: 'k', value: 'fresh' }),
    );
    let hook = 0;
    const client = new UserDoClient('http://worker.test', {
      fetch, WebSocket: FakeSocket, timers, tokens: TOKENS, onResync: () => hook++,
    });
    const kv = [];
    const rows = [];
    client.onChange('k', (value, change) => kv.push([value, change.op]));
    client.collection('todos').onChange((change) => rows.push(change.op));
    await flush();
    const s = FakeSocket.last();
    s.open();
    s.message({ event: 'resync', seq: 3 });
    s.message({ event: 'resync', seq: 50 });
    await flush();
    assert.equal(hook, 1);
    assert.deepEqual(rows, ['resync']);
    assert.deepEqual(kv, [['fresh', 'resync']]);
    assert.ok(calls.some((c) => c.method === 'GET' && c.path === '/api/kv/k'));
    assert.equal(client.realtime.lastSeq, 50);
    s.message(ev(51, 'k', 'live'));
    assert.deepEqual(kv.at(-1), ['live', 'put']);
  });

  test('close code 4001 ends the session: no reconnect, signed out', async () => {
    const { client, timers } = setup();
    const auth = [];
    client.onAuthChange((signedIn) => auth.push(signedIn));
    client.onChange('k', () => {});
    await flush();
    const s = FakeSocket.last();
    s.open();
    s.serverClose(4001);
    assert.equal(client.realtime.status, 'ended');
    assert.equal(client.signedIn, false);
    assert.deepEqual(auth, [false]);
    const before = FakeSocket.all.length;
    timers.advance(120_000);
    await flush();
    assert.equal(FakeSocket.all.length, before, 'no reconnect');
  });

  test('a heartbeat pings an open socket and replaces one that stays silent', async () => {
    const { client, timers } = setup({ random: () => 0 });
    client.onChange('k', () => {});
    await flush();
    const s = FakeSocket.last();
    s.open();
    s.message({ event: 'resync', seq: 0 });
    timers.advance(30_000);
    assert.deepEqual(s.sent, ['ping']);
    s.message('pong');
    timers.advance(30_000);
    assert.deepEqual(s.sent, ['ping', 'ping']);
    assert.equal(s.closedByClient, null, 'it answered');
    timers.advance(30_000); // no answer to the second ping
    assert.equal(s.closedByClient, 4000);
    timers.advance(0);
    await flush();
    assert.equal(FakeSocket.all.length, 2);
    assert.equal(FakeSocket.last().since, '0');
  });

  test('the socket opens only while something listens (autoConnect)', async () => {
    const { client } = setup();
    const stop1 = client.onChange('a', () => {});
    const stop2 = client.collection('todos').onChange(() => {});
    await flush();
    assert.equal(FakeSocket.all.length, 1);
    stop1();
    stop1();
    assert.equal(FakeSocket.last().closedByClient, null);
    stop2();
    assert.equal(FakeSocket.last().closedByClient, 1000);
    assert.equal(client.realtime.status, 'idle');
  });
});

describe('refresh (fakes)', () => {
  test('concurrent 401s share one refresh, then each request is retried once with the new token', async () => {
    let refreshes = 0;
    const { fetch, calls } = fakeFetch(async (call) => {
      if (call.path === '/api/refresh') {
        refreshes++;
        await new Promise((r) => setTimeout(r, 20));
        return json(200, { user: {}, token: 'access-2', refreshToken: 'urt.refresh-2' });
      }
      if (call.headers.authorization === 'Bearer access-2') return json(200, { key: 'k', value: call.path });
      return json(401, { error: { code: 'invalid_token', message: 'expired' } });
    });
    const saved = new Map();
    const storage = { getItem: (k) => saved.get(k) ?? null, setItem: (k, v) => saved.set(k, v), removeItem: (k) => saved.delete(k) };
    const client = new UserDoClient('http://worker.test', { fetch, tokens: TOKENS, storage });
    const values = await Promise.all(Array.from({ length: 8 }, (_, i) => client.get(`k${i}`)));
    assert.deepEqual(values, Array.from({ length: 8 }, (_, i) => `/api/kv/k${i}`));
    assert.equal(refreshes, 1);
    assert.deepEqual(calls.find((c) => c.path === '/api/refresh').body, { refreshToken: 'urt.refresh-1' });
    assert.equal(calls.length, 8 + 1 + 8);
    assert.deepEqual(JSON.parse(saved.get('userdo.tokens')), { token: 'access-2', refreshToken: 'urt.refresh-2' });
  });

  test('a failed refresh signs out and the request fails; no loop', async () => {
    const { fetch, calls } = fakeFetch((call) =>
      call.path === '/api/refresh'
        ? json(401, { error: { code: 'invalid_token', message: 'spent' } })
        : json(401, { error: { code: 'invalid_token', message: 'expired' } }),
    );
    const client = new UserDoClient('http://worker.test', { fetch, tokens: TOKENS });
    await assert.rejects(Promise.all([client.me(), client.me(), client.keys()]), { name: 'UserDoError', code: 'invalid_token', status: 401 });
    assert.equal(calls.filter((c) => c.path === '/api/refresh').length, 1);
    assert.equal(client.signedIn, false);
    assert.equal(calls.length, 4);
  });

  test('session_revoked signs out without trying a refresh', async () => {
    const { fetch, calls } = fakeFetch(() => json(401, { error: { code: 'session_revoked', message: 'ended' } }));
    const client = new UserDoClient('http://worker.test', { fetch, tokens: TOKENS });
    await assert.rejects(client.me(), { code: 'session_revoked' });
    assert.equal(client.signedIn, false);
    assert.equal(calls.length, 1);
  });

  test('a pair refreshed by another tab (same storage) is adopted instead of spending the old one', async () => {
    const saved = new Map([['userdo.tokens', JSON.stringify(TOKENS)]]);
    const storage = { getItem: (k) => saved.get(k) ?? null, setItem: (k, v) => saved.set(k, v), removeItem: (k) => saved.delete(k) };
    const { fetch, calls } = fakeFetch((call) =>
      call.headers.authorization === 'Bearer access-9' ? json(200, { user: { id: 'u' } }) : json(401, { error: { code: 'invalid_token', message: 'x' } }),
    );
    const client = new UserDoClient('http://worker.test', { fetch, storage });
    saved.set('userdo.tokens', JSON.stringify({ token: 'access-9', refreshToken: 'urt.9' }));
    assert.deepEqual(await client.me(), { id: 'u' });
    assert.equal(calls.filter((c) => c.path === '/api/refresh').length, 0);
  });
});
