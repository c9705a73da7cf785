// Crash safety: under a steady write load (KV puts and todo inserts from several writers per user),
// the runtime is killed with SIGKILL (workerd, not wrangler, and not gracefully), restarted on the
// same data directory, and checked: every write that was answered 2xx is there with its value,
// and the change feed replayed from seq 0 is gap-free, duplicate-free, has an event for every
// acknowledged write and for nothing that is not stored, and agrees with what the live sockets
// were sent before the crash. Several rounds, each killing mid-load and continuing on the same data.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { Socket } from '../lib/ws.mjs';
import { startWorker, testVars, workerdProcesses } from '../run.mjs';

const USERS = 4;
const WRITERS = 3; // per user, each with one request in flight at a time
const ROUNDS = 3;
// Each round kills after this many acknowledged writes (plus a random share, so the kill lands at
// a different point of the writers' cycle each time). The feed replays at most 1000 events from
// seq 0 (userdo::realtime::MAX_REPLAY): these numbers keep each user well below that.
const KILL_AFTER = 150;
const KILL_JITTER = 60;
const PASSWORD = 'correct horse battery';

/** One request; `{status, json}`, or `{error}` when no answer came (connection refused or reset). */
async function request(base, method, path, { token, json } = {}) {
  try {
    const res = await fetch(base + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: json === undefined ? undefined : JSON.stringify(json),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let body;
    try { body = JSON.parse(text); } catch { body = text; }
    return { status: res.status, json: body };
  } catch (e) {
    return { error: `${e.cause?.code ?? e.name}: ${e.message}` };
  }
}

/** A request that must succeed with `status` (setup and checks, never under the kill). */
async function ok(base, method, path, options, status = 200) {
  const res = await request(base, method, path, options);
  assert.equal(res.status, status, `${method} ${path}: ${res.error ?? `${res.status} ${JSON.stringify(res.json)}`}`);
  return res.json;
}

/** Runs `fn` on every item, `n` at a time. */
async function pool(items, n, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

/** Opens /api/ws with a fresh ticket (and `since`); resolves once open. */
async function openFeed(base, token, since) {
  const { ticket } = await ok(base, 'POST', '/api/ws/ticket', { token });
  const q = `?ticket=${encodeURIComponent(ticket)}${since === undefined ? '' : `&since=${since}`}`;
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/api/ws${q}`);
  const socket = new Socket(ws);
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', () => reject(new Error('WebSocket refused')), { once: true });
  });
  return socket;
}

/** Every message of a socket as it arrives, until it closes (the live feed during a round). */
function collect(socket) {
  const got = [];
  socket.ws.addEventListener('message', (e) => got.push(JSON.parse(e.data)));
  return got;
}

/**
 * One writer of one user for one round: in a loop, PUT a key of its own, POST a todo, and PUT its
 * own overwritten key `last-w{w}`; each answer 2xx is recorded as acknowledged. It stops at the
 * first failure (the crash) or once the round is killed.
 */
async function writer(base, user, w, round, state) {
  for (let n = 1; !state.killed; n++) {
    const steps = [
      ['PUT', `/api/kv/r${round}-w${w}-${n}`, { round, w, n, pad: 'x'.repeat(n % 40) }, 200],
      ['POST', '/api/tables/todos', { title: `r${round}-w${w}-${n}`, done: n % 2 === 0 }, 201],
      ['PUT', `/api/kv/last-w${w}`, { round, n }, 200],
    ];
    for (const [method, path, json, status] of steps) {
      const last = path === `/api/kv/last-w${w}`;
      // The overwritten key: after a crash it holds the last acknowledged value, or the one whose
      // answer was lost (it may have been written).
      if (last) user.last[w].pending = json;
      const res = await request(base, method, path, { token: user.token, json });
      if (res.status !== status) {
        (state.killed ? state.failedAfterKill : state.failedBeforeKill).push(`${method} ${path}: ${res.error ?? `${res.status} ${JSON.stringify(res.json)}`}`);
        return;
      }
      if (method === 'POST') {
        assert.equal(res.json.row.title, json.title);
        user.todos.set(res.json.row.id, res.json.row);
      } else if (last) {
        user.last[w] = { acked: json };
      } else {
        user.kv.set(path.slice('/api/kv/'.length), json);
      }
      if (++state.acked === state.killAt) state.kill();
    }
  }
}

/** All keys of a user, page by page. */
async function allKeys(base, token) {
  const keys = [];
  let after;
  do {
    const page = await ok(base, 'GET', `/api/kv?limit=1000${after ? `&after=${encodeURIComponent(after)}` : ''}`, { token });
    keys.push(...page.keys);
    after = page.next;
  } while (after);
  return keys;
}

/** All todos of a user, page by page. */
async function allTodos(base, token) {
  const rows = [];
  for (;;) {
    const page = await ok(base, 'GET', `/api/tables/todos?orderBy=createdAt:asc&limit=1000&offset=${rows.length}`, { token });
    rows.push(...page.rows);
    if (rows.length >= page.count || page.rows.length === 0) return rows;
  }
}

/**
 * After a restart: every acknowledged write of `user` is stored with its value, and the feed from
 * seq 0 (up to a marker written now) is 1, 2, 3, ... with an event for every stored change and for
 * nothing else; the events the live sockets got before the crash are in it, unchanged.
 */
async function verify(base, user, round) {
  const { token } = user;
  // Values: every acknowledged KV put, read back one by one.
  await pool([...user.kv], 8, async ([key, value]) => {
    const got = await ok(base, 'GET', `/api/kv/${key}`, { token });
    assert.deepEqual(got, { key, value }, `acknowledged KV write ${key} after round ${round}`);
  });
  for (const [w, { acked, pending }] of Object.entries(user.last)) {
    const res = await request(base, 'GET', `/api/kv/last-w${w}`, { token });
    const allowed = [acked, pending].filter(Boolean);
    if (allowed.length === 0) continue;
    if (!acked) assert.ok(res.status === 404 || res.status === 200, JSON.stringify(res));
    else assert.equal(res.status, 200, `last-w${w}: ${JSON.stringify(res)}`);
    if (res.status === 200) {
      assert.ok(allowed.some((v) => isDeepStrictEqual(v, res.json.value)),
        `last-w${w} is ${JSON.stringify(res.json.value)}, expected the last acknowledged ${JSON.stringify(acked)} or the unanswered ${JSON.stringify(pending)}`);
      // What is stored now is what a later crash must keep.
      user.last[w] = { acked: res.json.value };
    }
  }
  // Rows: every acknowledged insert, as it was answered.
  const rows = new Map((await allTodos(base, token)).map((r) => [r.id, r]));
  for (const [id, row] of user.todos) assert.deepEqual(rows.get(id), row, `acknowledged todo ${row.title} after round ${round}`);
  const keys = (await allKeys(base, token)).filter((k) => /^r\d+-w\d+-\d+$/.test(k));
  for (const key of user.kv.keys()) assert.ok(keys.includes(key), `acknowledged key ${key} is listed`);

  // The feed: replay from 0, then a marker written now, which arrives live after the replay.
  const feed = await openFeed(base, token, 0);
  const marker = `marker-${round}`;
  await ok(base, 'PUT', `/api/kv/${marker}`, { token, json: round });
  const events = [];
  for (;;) {
    const m = await feed.next(30_000);
    assert.notEqual(m.event, 'resync', 'the whole feed is still held (fewer than 1000 events)');
    events.push(m);
    if (m.event === `kv:${marker}`) break;
  }
  await feed.close();
  assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i + 1), `round ${round}: seq is 1, 2, 3, ... with no gap or repeat`);
  const puts = new Map();
  const creates = new Map();
  for (const e of events) {
    if (e.event === 'table:todos') {
      assert.equal(e.data.op, 'create', JSON.stringify(e));
      assert.ok(!creates.has(e.data.id), `one create event per row: ${e.data.id}`);
      creates.set(e.data.id, e.data.row);
    } else if (/^kv:r\d+-w\d+-\d+$/.test(e.event)) {
      const key = e.event.slice(3);
      assert.ok(!puts.has(key), `one event per write of a key written once: ${key}`);
      puts.set(key, e.data.value);
    }
  }
  for (const [key, value] of user.kv) assert.deepEqual(puts.get(key), value, `the feed has the acknowledged put of ${key}`);
  for (const [id, row] of user.todos) assert.deepEqual(creates.get(id), row, `the feed has the acknowledged create of ${row.title}`);
  // No event without its change, no change without its event (acknowledged or not).
  assert.deepEqual([...puts.keys()].sort(), [...keys].sort(), 'the feed\'s puts are exactly the stored keys');
  assert.deepEqual([...creates.keys()].sort(), [...rows.keys()].sort(), 'the feed\'s creates are exactly the stored rows');
  // What a live socket was sent before the crash was committed: it is in the replay, unchanged.
  for (const live of user.live) {
    for (const m of live) assert.deepEqual(events[m.seq - 1], m, `live event ${m.seq} survives the crash`);
  }
  return events.length;
}

describe('crash safety: kill -9 of the runtime under load, restart on the same data', () => {
  const vars = testVars();
  let persistDir;
  let server;
  const users = [];

  before(async () => {
    persistDir = mkdtempSync(join(tmpdir(), 'userdo-crash-'));
    server = await startWorker({ name: 'crash', vars, persistDir });
    await Promise.all(Array.from({ length: USERS }, async (_, i) => {
      const email = `crash-${i}-${randomBytes(4).toString('hex')}@example.com`;
      const { token } = await ok(server.url, 'POST', '/api/signup', { json: { email, password: PASSWORD } }, 201);
      users.push({ token, kv: new Map(), todos: new Map(), last: Object.fromEntries(Array.from({ length: WRITERS }, (_, w) => [w, {}])) });
    }));
  });

  after(async () => {
    await server?.stop();
    if (persistDir) rmSync(persistDir, { recursive: true, force: true });
  });

  // The rounds run in order on the same data: each checks everything acknowledged in every round so far.
  for (let round = 1; round <= ROUNDS; round++) {
    test(`round ${round}: every acknowledged write and a gap-free feed survive`, async (t) => {
      const base = server.url;
      for (const user of users) user.live = [collect(await openFeed(base, user.token))];
      const started = performance.now();
      let killed;
      const state = {
        acked: 0,
        killAt: KILL_AFTER + Math.floor(Math.random() * KILL_JITTER),
        killed: false,
        failedBeforeKill: [],
        failedAfterKill: [],
        kill: () => {
          // SIGKILL to every workerd under this wrangler, from inside the write loop: the other
          // writers' requests are in flight.
          const procs = workerdProcesses(server.pgid);
          for (const { pid } of procs) process.kill(pid, 'SIGKILL');
          state.killed = true;
          killed(procs);
        },
      };
      const kill = new Promise((resolve) => { killed = resolve; });
      const writers = users.flatMap((user) => Array.from({ length: WRITERS }, (_, w) => writer(base, user, w, round, state)));
      const procs = await kill;
      await Promise.all(writers);
      assert.ok(procs.length >= 1, 'workerd processes were found and killed');
      assert.deepEqual(state.failedBeforeKill, [], 'no write failed before the kill');
      // Some writes were in flight at the kill and got no answer: the kill was mid-load.
      assert.ok(state.failedAfterKill.length >= 1, 'writes were in flight at the kill');
      const acked = state.acked;
      const killedAt = performance.now();
      await server.stop();
      server = await startWorker({ name: `crash-restart-${round}`, vars, persistDir });
      const restarted = performance.now();
      const events = (await Promise.all(users.map((user) => verify(server.url, user, round)))).reduce((a, b) => a + b, 0);
      t.diagnostic(`round ${round}: load ${((killedAt - started) / 1000).toFixed(1)} s, killed ${procs.length} workerd after ${acked} acknowledged writes, ` +
        `${state.failedAfterKill.length} unanswered; restart ${((restarted - killedAt) / 1000).toFixed(1)} s; ` +
        `${events} events in the users' feeds, all checked in ${((performance.now() - restarted) / 1000).toFixed(1)} s`);
    });
  }
});
