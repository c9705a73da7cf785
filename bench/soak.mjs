// `make soak`: the default worker (the release build in examples/default/build, as the bench uses)
// under `wrangler dev`, driven for a while by 64 concurrent loops of mixed traffic (auth: signup,
// login and logout, me, refresh; KV; tables; WebSocket tickets and reconnects) while WebSockets
// stay open and receive the events. Reports, per interval, the requests, the p50 and p99 latency
// and the failures; the RSS of the workerd processes at the start and at the end; and what the
// sockets received. Exits non-zero on any 5xx, any request without an answer, any unexpected
// status, or a socket that saw a gap or a repeat in `seq`.
//
//   node bench/soak.mjs                (make soak)
//   SOAK_SECONDS=300                   how long the load runs (default 5 minutes)
//   SOAK_INTERVAL=30                   seconds per reported interval
//   SOAK_CONCURRENCY=64                concurrent request loops
//   SOAK_USERS=16                      users the loops share (each user's loops share its session)
//   SOAK_SOCKETS=2                     WebSockets held open per user for the whole run
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { workerdProcesses } from '../e2e/run.mjs';
import { loadVars, root, startWrangler, stopAll } from './run.mjs';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 300);
const INTERVAL = Number(process.env.SOAK_INTERVAL ?? 30);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 64);
const USERS = Number(process.env.SOAK_USERS ?? 16);
const SOCKETS = Number(process.env.SOAK_SOCKETS ?? 2);
const PASSWORD = 'correct horse battery';
const log = (...args) => console.error('soak:', ...args);

// The mix, by weight: reads and writes dominate; PBKDF2 work (login, signup: hundreds of ms of
// an object's time each) stays near 0.6% of the requests.
const MIX = [
  ['me', 15], ['kvPut', 18], ['kvGet', 15], ['kvList', 4], ['todoCreate', 14], ['todoQuery', 10],
  ['todoPatch', 6], ['todoDelete', 4], ['refresh', 5], ['wsReconnect', 2], ['loginLogout', 0.4], ['signup', 0.2],
];
const TOTAL_WEIGHT = MIX.reduce((a, [, w]) => a + w, 0);
const pick = () => {
  let r = Math.random() * TOTAL_WEIGHT;
  for (const [name, w] of MIX) if ((r -= w) < 0) return name;
  return MIX[0][0];
};

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] : NaN);
const fmt = (n, d = 1) => (Number.isNaN(n) ? 'n/a' : n.toFixed(d));

/** One interval's numbers, and the run's totals. */
class Stats {
  constructor() { this.reset(); this.total = { requests: 0, s5xx: 0, unexpected: 0, noAnswer: 0, retried: 0, byOp: {} }; this.failures = []; }
  reset() { this.latencies = []; this.s5xx = 0; this.unexpected = 0; this.noAnswer = 0; this.byOp = {}; }
  record(op, ms, status, expected, detail) {
    this.latencies.push(ms);
    this.byOp[op] = (this.byOp[op] ?? 0) + 1;
    this.total.byOp[op] = (this.total.byOp[op] ?? 0) + 1;
    this.total.requests++;
    if (status === undefined) { this.noAnswer++; this.total.noAnswer++; }
    else if (status >= 500) { this.s5xx++; this.total.s5xx++; }
    else if (status !== expected) { this.unexpected++; this.total.unexpected++; }
    if (status !== expected && this.failures.length < 20) this.failures.push(`${op}: ${status ?? 'no answer'} ${detail ?? ''}`.slice(0, 300));
  }
}
const stats = new Stats();

/**
 * One request, timed and counted: `expected` is the status it should get. A kept-alive connection
 * that the server closed before the request went out is retried once (counted as retried).
 */
async function call(base, op, method, path, { token, json, expected = 200 } = {}) {
  const started = performance.now();
  let status;
  let body;
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(base + path, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: json === undefined ? undefined : JSON.stringify(json),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      status = res.status;
      try { body = JSON.parse(text); } catch { body = text; }
      break;
    } catch (e) {
      const stale = /UND_ERR_SOCKET|ECONNRESET|EPIPE/.test(String(e.cause?.code ?? ''));
      if (stale && attempt === 1) { stats.total.retried++; continue; }
      body = `${e.cause?.code ?? e.name}: ${e.message}`;
      break;
    }
  }
  stats.record(op, performance.now() - started, status, expected, status === expected ? undefined : `${method} ${path} ${JSON.stringify(body)}`);
  return status === expected ? body : undefined;
}

/** A WebSocket of the user's that checks its `seq` is 1 more each time; resolves once open. */
async function openSocket(base, user, feed, since) {
  const t = await call(base, 'wsTicket', 'POST', '/api/ws/ticket', { token: user.token });
  if (!t) return undefined;
  const q = `?ticket=${encodeURIComponent(t.ticket)}${since === undefined ? '' : `&since=${since}`}`;
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/api/ws${q}`);
  const socket = { ws, last: since, events: 0 };
  ws.addEventListener('message', (e) => {
    let m;
    try { m = JSON.parse(e.data); } catch { return; }
    if (m.seq === undefined || m.event === 'resync') { if (m.event === 'resync') feed.resyncs++; socket.last = m.seq; return; }
    if (socket.last !== undefined && m.seq !== socket.last + 1) feed.gaps.push(`seq ${m.seq} after ${socket.last}`);
    socket.last = m.seq;
    socket.events++;
    feed.events++;
  });
  ws.addEventListener('close', (e) => { if (!socket.closing) feed.unexpectedCloses.push(e.code); });
  const opened = await new Promise((resolve) => {
    ws.addEventListener('open', () => resolve(true), { once: true });
    ws.addEventListener('error', () => resolve(false), { once: true });
  });
  if (!opened) { stats.record('wsOpen', 0, undefined, 101, 'refused'); return undefined; }
  return socket;
}

const closeSocket = (socket) => new Promise((resolve) => {
  socket.closing = true;
  if (socket.ws.readyState === WebSocket.CLOSED) return resolve();
  socket.ws.addEventListener('close', resolve, { once: true });
  socket.ws.close();
});

async function signup(base) {
  const email = `soak-${Date.now()}-${randomBytes(4).toString('hex')}@example.com`;
  const body = await call(base, 'signup', 'POST', '/api/signup', { json: { email, password: PASSWORD }, expected: 201 });
  return body && { email, token: body.token, refreshToken: body.refreshToken, refreshing: false };
}

/** One loop of requests for `user`, until `deadline`; its KV keys and todos are its own. */
async function loop(base, id, user, deadline, feed) {
  const keys = [];
  const todos = [];
  let n = 0;
  while (performance.now() < deadline) {
    const op = pick();
    n++;
    switch (op) {
      case 'me': await call(base, op, 'GET', '/api/me', { token: user.token }); break;
      case 'kvPut': {
        const key = `l${id}-k${n % 50}`;
        if (await call(base, op, 'PUT', `/api/kv/${key}`, { token: user.token, json: { n, at: Date.now(), pad: 'x'.repeat(n % 200) } })) {
          if (!keys.includes(key)) keys.push(key);
        }
        break;
      }
      case 'kvGet':
        if (keys.length) await call(base, op, 'GET', `/api/kv/${keys[n % keys.length]}`, { token: user.token });
        else await call(base, op, 'GET', '/api/kv?limit=10', { token: user.token });
        break;
      case 'kvList': await call(base, op, 'GET', `/api/kv?prefix=l${id}-&limit=100`, { token: user.token }); break;
      case 'todoCreate': {
        const body = await call(base, op, 'POST', '/api/tables/todos', { token: user.token, json: { title: `soak ${id}-${n}`, done: n % 3 === 0 }, expected: 201 });
        if (body) todos.push(body.row.id);
        break;
      }
      case 'todoQuery': await call(base, op, 'GET', '/api/tables/todos?where=done:eq:false&orderBy=createdAt:desc&limit=20', { token: user.token }); break;
      case 'todoPatch':
        if (todos.length) await call(base, op, 'PATCH', `/api/tables/todos/${todos[n % todos.length]}`, { token: user.token, json: { done: n % 2 === 0 } });
        break;
      case 'todoDelete':
        if (todos.length > 20) await call(base, op, 'DELETE', `/api/tables/todos/${todos.shift()}`, { token: user.token });
        break;
      case 'refresh': {
        // One refresh at a time per session: the refresh token is single-use, and a reuse would
        // (rightly) revoke the session the user's other loops are using.
        if (user.refreshing) break;
        user.refreshing = true;
        const body = await call(base, op, 'POST', '/api/refresh', { json: { refreshToken: user.refreshToken } });
        if (body) { user.token = body.token; user.refreshToken = body.refreshToken; }
        user.refreshing = false;
        break;
      }
      case 'wsReconnect': {
        // A client that comes back: replays from where the user's feed was a moment ago, then leaves.
        const socket = await openSocket(base, user, { events: 0, resyncs: 0, gaps: feed.gaps, unexpectedCloses: [] }, Math.max(0, (feed.lastSeqOf.get(user) ?? 0) - 5));
        if (socket) await closeSocket(socket);
        break;
      }
      case 'loginLogout': {
        const body = await call(base, op, 'POST', '/api/login', { json: { email: user.email, password: PASSWORD } });
        if (body) await call(base, 'logout', 'POST', '/api/logout', { token: body.token });
        break;
      }
      case 'signup': await signup(base); break;
      default: throw new Error(op);
    }
  }
}

const rssOf = (pgid) => workerdProcesses(pgid).map((p) => ({ pid: p.pid, mib: p.rssKiB / 1024 })).sort((a, b) => a.pid - b.pid);
const rssText = (list) => list.map((p) => `pid ${p.pid} ${fmt(p.mib)} MiB`).join(', ');

async function main() {
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, async () => { await stopAll(); process.exit(130); });
  }
  const vars = loadVars();
  log('starting the default worker (examples/default/build) under wrangler dev');
  const app = await startWrangler({ name: 'soak', configPath: join(root, 'wrangler.toml'), vars });
  const base = app.url;
  log(`signing up ${USERS} users and opening ${USERS * SOCKETS} WebSockets`);
  const users = [];
  for (let i = 0; i < USERS; i += 4) {
    const batch = await Promise.all(Array.from({ length: Math.min(4, USERS - i) }, () => signup(base)));
    if (batch.some((u) => !u)) throw new Error(`signup failed: ${stats.failures.join('; ')}`);
    users.push(...batch);
  }
  const feed = { events: 0, resyncs: 0, gaps: [], unexpectedCloses: [], lastSeqOf: new Map() };
  const held = [];
  for (const user of users) {
    for (let i = 0; i < SOCKETS; i++) {
      const socket = await openSocket(base, user, feed);
      if (!socket) throw new Error('a WebSocket was refused');
      socket.user = user;
      held.push(socket);
    }
  }
  // The reconnecting clients replay from just before the newest seq a held socket has seen.
  const tracker = setInterval(() => { for (const s of held) if (s.last !== undefined) feed.lastSeqOf.set(s.user, s.last); }, 1000);
  stats.reset();
  const rssStart = rssOf(app.pgid);
  log(`workerd RSS at the start: ${rssText(rssStart)}`);
  log(`${CONCURRENCY} loops for ${SECONDS} s, reported every ${INTERVAL} s`);

  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  const intervals = [];
  let intervalStart = started;
  const report = () => {
    const now = performance.now();
    const sorted = [...stats.latencies].sort((a, b) => a - b);
    const rss = rssOf(app.pgid);
    const row = {
      from: (intervalStart - started) / 1000,
      to: (now - started) / 1000,
      requests: sorted.length,
      rps: sorted.length / ((now - intervalStart) / 1000),
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: sorted.at(-1) ?? NaN,
      s5xx: stats.s5xx,
      unexpected: stats.unexpected,
      noAnswer: stats.noAnswer,
      events: feed.events,
      rssMiB: Math.max(...rss.map((p) => p.mib)),
      load: loadavg()[0],
    };
    intervals.push(row);
    log(`${fmt(row.from, 0)}-${fmt(row.to, 0)} s: ${row.requests} requests (${fmt(row.rps, 0)}/s), p50 ${fmt(row.p50)} ms, p99 ${fmt(row.p99)} ms, ` +
      `5xx ${row.s5xx}, unexpected ${row.unexpected}, no answer ${row.noAnswer}; socket events so far ${feed.events}; workerd RSS ${rssText(rss)}; load ${fmt(row.load, 2)}`);
    intervalStart = now;
    stats.reset();
  };
  const ticker = setInterval(report, INTERVAL * 1000);
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => loop(base, i, users[i % users.length], deadline, feed)));
  clearInterval(ticker);
  // What finished after the last full interval: its own row when it is long enough to mean
  // something (its requests count in the totals either way).
  if (performance.now() - intervalStart > 2000) report();
  clearInterval(tracker);

  // Every held socket has every event of its user: a last write per user, awaited on its sockets.
  const drained = await Promise.all(users.map(async (user) => {
    const mine = held.filter((s) => s.user === user);
    const before = mine.map((s) => s.last);
    const put = await call(base, 'kvPut', 'PUT', '/api/kv/soak-last', { token: user.token, json: 'done' });
    if (!put) return false;
    const until = Date.now() + 30_000;
    while (Date.now() < until && mine.some((s, i) => s.last === before[i])) await new Promise((r) => setTimeout(r, 50));
    return mine.every((s, i) => s.last !== before[i]);
  }));
  const rssEnd = rssOf(app.pgid);
  log(`workerd RSS at the end: ${rssText(rssEnd)}`);
  await Promise.all(held.map(closeSocket));
  await stopAll();

  const lines = [
    `| interval (s) | requests | req/s | p50 ms | p99 ms | max ms | 5xx | other failures | workerd RSS (largest) MiB | load avg (1 min) |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...intervals.map((r) => `| ${fmt(r.from, 0)}-${fmt(r.to, 0)} | ${r.requests} | ${fmt(r.rps, 0)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max, 0)} | ${r.s5xx} | ${r.unexpected + r.noAnswer} | ${fmt(r.rssMiB)} | ${fmt(r.load, 2)} |`),
  ];
  const t = stats.total;
  const summary = [
    `- ${t.requests} requests in ${SECONDS} s at concurrency ${CONCURRENCY}, ${USERS} users: 5xx ${t.s5xx}, unexpected statuses ${t.unexpected}, ` +
      `no answer ${t.noAnswer}, retried after a closed kept-alive connection ${t.retried}; by kind: ${Object.entries(t.byOp).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `- workerd RSS at the start: ${rssText(rssStart)}; at the end: ${rssText(rssEnd)}`,
    `- ${held.length} WebSockets held open: ${feed.events} events received, gaps or repeats in seq ${feed.gaps.length}, ` +
      `unexpected closes ${feed.unexpectedCloses.length}, every socket had its user's last event ${drained.every(Boolean) ? 'yes' : 'no'}`,
  ];
  console.log(`\n${lines.join('\n')}\n\n${summary.join('\n')}\n`);
  mkdirSync(join(root, 'target', 'bench'), { recursive: true });
  writeFileSync(join(root, 'target', 'bench', 'soak.json'), JSON.stringify({ seconds: SECONDS, concurrency: CONCURRENCY, users: USERS, intervals, total: t, rssStart, rssEnd, feed: { events: feed.events, gaps: feed.gaps, unexpectedCloses: feed.unexpectedCloses } }, null, 2));
  const failed = t.s5xx > 0 || t.unexpected > 0 || t.noAnswer > 0 || feed.gaps.length > 0 || feed.unexpectedCloses.length > 0 || !drained.every(Boolean);
  if (failed) {
    console.error(`soak: FAILED${stats.failures.length ? `; first failures:\n  ${stats.failures.join('\n  ')}` : ''}${feed.gaps.length ? `\n  gaps: ${feed.gaps.slice(0, 10).join(', ')}` : ''}`);
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    await main();
  } catch (error) {
    console.error(error);
    await stopAll();
    process.exit(1);
  }
}
