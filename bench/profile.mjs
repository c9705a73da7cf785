// A CPU profile of one bench scenario, taken through wrangler's inspector (the V8 sampling
// profiler of the worker's isolate, which the Durable Objects share locally): runs wrk at
// concurrency 16 for a few seconds and prints where the isolate's time went, by function.
//
//   node bench/profile.mjs [floor|login-floor|me|kv-read|kv-write|insert|query|query100k|fanout|login] [seconds]
//   node bench/profile.mjs api-floor:[me|kv-read|kv-write|insert] [seconds]
//   (api-floor:…: the same request to bench/api-floor, the contract's least in JavaScript)
//   (login: POST /api/login at PBKDF2 100,000 with the login limits out of the way;
//    login-floor: the JavaScript login of bench/login-floor, at the same cost)
//   (query100k: the query after 100,000 todos are written into the object's SQLite file)
//   (fanout: 1,000 sockets of one user, 10 rounds of one KV write each, profiled)
//
// Uses the builds that exist (make bench builds them). For names of the wasm functions in the
// profile, build without wasm-opt (bash scripts/build-worker.sh), which keeps the name section.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testVars } from '../e2e/run.mjs';
import { api, expectOk, fanOut, openSockets, root, seedTodos, startWrangler, stopAll, wrk } from './run.mjs';

const which = process.argv[2] ?? 'me';
const seconds = Number(process.argv[3] ?? 5);
const loginFloor = which === 'login-floor';
const apiFloor = which.startsWith('api-floor:');
const floor = which === 'floor' || loginFloor || apiFloor;
const fixture = loginFloor ? ['bench', 'login-floor'] : apiFloor ? ['bench', 'api-floor'] : which === 'floor' ? ['bench', 'floor'] : [];
const options = {
  name: `profile-${which.replace(':', '-')}`,
  configPath: join(root, ...fixture, 'wrangler.toml'),
  vars: floor ? {} : {
    ...testVars(),
    RATE_LIMIT_SIGNUP_PER_IP: '1000000/60',
    ...(which === 'login' ? { PBKDF2_ITERATIONS: '100000', RATE_LIMIT_LOGIN_PER_IP: '1000000/60' } : {}),
  },
};
let server = await startWrangler(options);
let sockets;
try {
  let request = { path: '/' };
  let token;
  // The requests of the scenarios that bench/api-floor answers too.
  const apiRequests = (t) => ({
    me: { path: '/api/me', token: t },
    'kv-read': { path: '/api/kv/k', token: t },
    'kv-write': { method: 'PUT', path: '/api/kv/k', token: t, body: { theme: 'dark', size: 12 } },
    insert: { method: 'POST', path: '/api/tables/todos', token: t, body: { title: 'bench todo' } },
  });
  if (apiFloor) {
    token = (await expectOk(api(server.url, 'GET', '/setup'), 'api floor setup')).body.token;
    await expectOk(api(server.url, 'PUT', '/api/kv/k', { token, json: { theme: 'dark' } }), 'api floor kv');
    request = apiRequests(token)[which.slice('api-floor:'.length)];
    if (!request) throw new Error(`unknown scenario ${which}`);
  }
  if (loginFloor) {
    const credentials = { email: `p-${Date.now()}@example.com`, password: 'correct horse battery' };
    await expectOk(api(server.url, 'POST', '/signup', { json: credentials }), 'login floor signup');
    request = { method: 'POST', path: '/login', body: credentials };
  }
  if (!floor) {
    const email = `p-${Date.now()}@example.com`;
    const { body } = await expectOk(api(server.url, 'POST', '/api/signup', { json: { email, password: 'correct horse battery' } }), 'signup');
    token = body.token;
    await expectOk(api(server.url, 'PUT', '/api/kv/k', { token, json: { theme: 'dark' } }), 'kv');
    request = {
      ...apiRequests(token),
      query: { path: '/api/tables/todos?where=done:eq:false&orderBy=createdAt:desc&limit=20', token },
      query100k: { path: '/api/tables/todos?where=done:eq:false&orderBy=createdAt:desc&limit=20', token },
      fanout: { path: '/api/me', token },
      login: { method: 'POST', path: '/api/login', body: { email, password: 'correct horse battery' } },
    }[which];
    if (!request) throw new Error(`unknown scenario ${which}`);
  }
  if (which === 'query100k') {
    await seedTodos(server.url, token, 100_000);
  }
  if (which === 'fanout') {
    sockets = await openSockets(server.url, token, 1000);
    await fanOut(server.url, token, sockets, 2); // warm-up
  } else {
    wrk(server.url, request, 2); // warm-up
  }

  const targets = await (await fetch(`http://127.0.0.1:${server.inspectorPort}/json`)).json();
  // wrangler's inspector proxy accepts only known origins, its own among them.
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl, { headers: { origin: `http://127.0.0.1:${server.inspectorPort}` } });
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  let id = 0;
  const pending = new Map();
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.id && pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); }
  };
  const send = (method, params = {}) => new Promise((resolve) => {
    const n = ++id;
    pending.set(n, resolve);
    ws.send(JSON.stringify({ id: n, method, params }));
  });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 200 });
  await send('Profiler.start');
  // wrk runs in a child; this process only waits (the inspector's messages queue meanwhile).
  const result = which === 'fanout'
    ? await (async () => {
      const started = performance.now();
      const f = await fanOut(server.url, token, sockets, 10);
      console.log(`fan-out to 1000: p50 ${f.p50.toFixed(1)} ms, first socket ${f.firstP50.toFixed(1)} ms, write answered ${f.writeP50.toFixed(1)} ms`);
      return { rps: 0, p50: f.p50, requests: 10, seconds: (performance.now() - started) / 1000 };
    })()
    : await new Promise((resolve) => setTimeout(() => resolve(wrk(server.url, request, seconds)), 10));
  const { result: { profile } } = await send('Profiler.stop');
  // The bundle's anonymous functions are mostly wasm-bindgen's imports, written by esbuild as
  // `__wbg_x: __name(function(...) {...}, "__wbg_x")`: name each by the first such name after it.
  const sources = new Map();
  await send('Debugger.enable');
  for (const n of profile.nodes) {
    const f = n.callFrame;
    if (f.functionName || !f.url.endsWith('index.js') || sources.has(f.scriptId)) continue;
    const { result } = await send('Debugger.getScriptSource', { scriptId: f.scriptId });
    sources.set(f.scriptId, (result?.scriptSource ?? '').split('\n'));
    // Kept for reading the named lines: target/bench/profile-<scenario>.js.
    writeFileSync(join(root, 'target', 'bench', `profile-${which}.js`), result?.scriptSource ?? '');
  }
  for (const n of profile.nodes) {
    const f = n.callFrame;
    const lines = sources.get(f.scriptId);
    if (f.functionName || !lines) continue;
    const after = [lines[f.lineNumber]?.slice(f.columnNumber), ...lines.slice(f.lineNumber + 1, f.lineNumber + 40)].join('\n');
    const named = after.match(/^[^]*?\}, "([A-Za-z0-9_$]+)"\)/);
    if (named) f.functionName = `[${named[1].replace(/_[0-9a-f]{16}$/, '')}]`;
  }
  ws.close();
  // The whole profile too, for Chrome DevTools or a script (target/bench/profile-<scenario>.cpuprofile).
  writeFileSync(join(root, 'target', 'bench', `profile-${which}.cpuprofile`), JSON.stringify(profile));

  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  profile.samples.forEach((nodeId, i) => {
    const f = byId.get(nodeId).callFrame;
    const where = f.url ? `${f.url.split('/').pop()}${f.url.endsWith('.js') ? `:${f.lineNumber + 1}:${f.columnNumber + 1}` : ''}` : '';
    const name = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const busy = total - (self.get('(idle)') ?? 0);
  console.log(`${which}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50.toFixed(2)} ms over ${result.seconds.toFixed(1)} s;` +
    ` isolate busy ${(busy / 1000).toFixed(0)} ms of ${(total / 1000).toFixed(0)} ms sampled,` +
    ` ${(busy / 1000 / result.requests).toFixed(3)} ms per request`);
  // Grouped: wasm by crate (the first path segment of the function's name), the JS of the bundle,
  // and the runtime's own (natives, the microtask queue, GC), each in ms per request.
  const groups = new Map();
  for (const [name, us] of self) {
    let group;
    if (/\.wasm/.test(name)) group = `wasm ${(name.replace(/^[<&*\s]+(dyn )?/, '').match(/^[A-Za-z0-9_]+/) ?? ['?'])[0]}`;
    else if (/ index\.js:/.test(name)) group = 'js: the bundle (index.js)';
    else group = `runtime: ${name}`;
    groups.set(group, (groups.get(group) ?? 0) + us);
  }
  console.log('by group, ms per request:');
  for (const [group, us] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    console.log(`${(us / 1000 / result.requests).toFixed(3).padStart(9)}  ${group}`);
  }
  console.log('by function, self time:');
  for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.PROFILE_TOP ?? 25))) {
    console.log(`${(us / 1000).toFixed(1).padStart(9)} ms ${(100 * us / total).toFixed(1).padStart(5)}%  ${name}`);
  }
} finally {
  for (const s of sockets ?? []) s.ws.close();
  await stopAll();
}
