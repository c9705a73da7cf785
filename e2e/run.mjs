// Runs the end-to-end tests against the real runtime: starts `wrangler dev` (workerd, with real
// Durable Object SQLite) on a free port with a fresh data directory and its own variables, waits
// until it answers, runs `node --test` on e2e/tests, and stops the server.
//
//   node e2e/run.mjs [test files...]     (make e2e / make test; any Node >= 18 can start it)
//
// The tests receive USERDO_URL (the server's base URL), USERDO_JWT_SECRET (its signing key, to
// forge tokens) and USERDO_PERSIST_DIR (its data directory). Tests that need a server of their own
// (other variables) import { startWorker, testVars } from this file.
//
// The worker is built once, here (scripts/build-worker.sh, no wasm-opt), unless USERDO_SKIP_BUILD=1
// says a build exists already (make test builds it with wasm-opt before the deploy check); every
// wrangler started from here runs a copy of wrangler.toml without its [build] command.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const artifacts = join(root, 'e2e', 'artifacts');
const bin = join(root, 'node_modules', '.bin');
mkdirSync(artifacts, { recursive: true });

// wrangler needs the Node 22 of node_modules/.bin, whatever Node started this script.
export const toolEnv = () => ({
  ...process.env,
  PATH: [bin, join(process.env.CARGO_HOME ?? join(process.env.HOME ?? '', '.cargo'), 'bin'), process.env.PATH].join(delimiter),
  CI: 'true',
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
});

/**
 * A port that is free now, drawn at random below Linux's ephemeral range (32768-60999): a port
 * the kernel hands out for port-0 binds and outgoing connections can be taken by workerd or a
 * test's own connection between this check and wrangler's bind (CI saw it: "Address already in
 * use"). startWorker retries on that error all the same.
 */
export const freePort = async () => {
  for (;;) {
    const port = 10000 + Math.floor(Math.random() * 22000);
    const free = await new Promise((resolve) => {
      const server = createServer();
      server.unref();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
};

const tail = (path, lines = 40) => {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
};

const running = new Set();

/**
 * Stops a process group started detached (wrangler and its workerd children): SIGINT, SIGKILL
 * if it has not exited after 5 s, then SIGKILL to whatever of the group outlives its leader.
 * `exit` resolves when the leader exits; `exited()` says whether it has.
 */
export async function stopGroup(child, exit, exited) {
  if (!exited()) {
    try { process.kill(-child.pid, 'SIGINT'); } catch {}
    const killed = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch {} }, 5000);
    await exit;
    clearTimeout(killed);
  }
  try { process.kill(-child.pid, 'SIGKILL'); } catch {}
}

/**
 * Writes into `work` a copy of the wrangler.toml at `configPath` for a worker that is built
 * already: without its [build] section, which keeps wrangler from rebuilding and restarting
 * mid-run when a source file changes, and with its paths (main, the [assets] directory) made
 * absolute. wrangler refuses a missing assets directory, so one never built is created empty (the
 * API does not need the page). Returns the copy's path.
 */
export function configCopy(configPath, work) {
  const base = dirname(configPath);
  mkdirSync(work, { recursive: true });
  const out = join(work, 'wrangler.toml');
  writeFileSync(out, readFileSync(configPath, 'utf8')
    .replace(/^\[build\]\n(?:(?!\[).*\n)*/m, '')
    .replace(/^main = "(.*)"$/m, (_, main) => `main = ${JSON.stringify(join(base, main))}`)
    .replace(/^(\[assets\]\n(?:(?!\[).*\n)*?)directory = "(.*)"$/m, (_, head, assets) => {
      mkdirSync(join(base, assets), { recursive: true });
      return `${head}directory = ${JSON.stringify(join(base, assets))}`;
    }));
  return out;
}

/**
 * Starts `wrangler dev` with the given variables (written to a temporary env file) and a fresh
 * data directory unless `persistDir` names one; its output goes to e2e/artifacts/<name>.log.
 * Returns { url, stop, logPath, persistDir, pgid } once it answers HTTP: `pgid` is wrangler's
 * process group, which its workerd children share (crash.test.mjs kills those).
 * `auxiliary: [{ config, vars }]` runs more workers in the same session (`wrangler dev -c primary
 * -c aux ...`): only the primary (`config`) answers on the port; the others are reached through
 * its service bindings. wrangler reads an auxiliary worker's variables only from the `.dev.vars`
 * beside its configuration (`--env-file` is the primary's), so each gets a copy of its own there.
 */
export async function startWorker(options) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      if (attempt >= 3 || !/Address already in use/.test(error.message)) throw error;
    }
  }
}

async function startOnce({ name = 'wrangler', vars, persistDir, config: configPath = join(root, 'wrangler.toml'), auxiliary = [] }) {
  const port = await freePort();
  const inspector = await freePort();
  const work = mkdtempSync(join(tmpdir(), 'userdo-e2e-'));
  const envFile = join(work, 'vars.env');
  writeFileSync(envFile, Object.entries(vars).map(([k, v]) => `${k}=${v}`).join('\n') + '\n', { mode: 0o600 });
  const dir = persistDir ?? join(work, 'state');
  const logPath = join(artifacts, `${name}.log`);
  const log = createWriteStream(logPath);
  const config = configCopy(configPath, work);
  const auxiliaryConfigs = auxiliary.map(({ config: auxPath, vars: auxVars = {} }, i) => {
    const auxWork = join(work, `auxiliary-${i}`);
    const copy = configCopy(auxPath, auxWork);
    writeFileSync(join(auxWork, '.dev.vars'), Object.entries(auxVars).map(([k, v]) => `${k}=${v}`).join('\n') + '\n', { mode: 0o600 });
    return copy;
  });
  // Its own process group (detached): wrangler runs workerd as children, which a signal to
  // wrangler alone does not reach.
  const child = spawn(
    join(bin, 'wrangler'),
    ['dev', '--config', config, ...auxiliaryConfigs.flatMap((c) => ['--config', c]), '--local', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
      '--persist-to', dir, '--env-file', envFile, '--show-interactive-dev-session=false'],
    { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...toolEnv(), USERDO_SKIP_BUILD: '1' } },
  );
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  // The last of the output in memory too: the log file's stream may not have caught up when
  // wrangler dies at startup, and startWorker reads the cause from it.
  let recent = '';
  const keep = (chunk) => { recent = (recent + chunk).slice(-8000); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = false;
  const exit = new Promise((resolve) => child.on('exit', (code) => { exited = true; resolve(code); }));
  const url = `http://127.0.0.1:${port}`;
  // Idempotent: the signal handler and the normal path may both call it; both wait for the end.
  let stopping;
  const stop = () => (stopping ??= stopNow());
  const stopNow = async () => {
    await stopGroup(child, exit, () => exited);
    rmSync(envFile, { force: true });
    for (const copy of auxiliaryConfigs) rmSync(join(dirname(copy), '.dev.vars'), { force: true });
    if (!persistDir) rmSync(work, { recursive: true, force: true });
    running.delete(stop);
  };
  running.add(stop);
  // Startup: poll until the server answers (or the process dies, or 60 s pass).
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited || /Address already in use/.test(recent)) {
      await stop();
      throw new Error(`wrangler ${exited ? 'exited' : 'failed'} during startup; its last output (${logPath}):\n${recent}`);
    }
    try {
      await fetch(url + '/', { signal: AbortSignal.timeout(2000) });
      return { url, stop, logPath, persistDir: dir, pgid: child.pid };
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`wrangler did not answer within 60 s; its last output (${logPath}):\n${recent}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * The workerd processes of a process group (the runtime under a wrangler started here, as
 * `startWorker` returns its `pgid`), read from /proc: [{pid, rssKiB}]. Linux only.
 */
export function workerdProcesses(pgid) {
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    let status;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      status = readFileSync(`/proc/${entry}/status`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after its closing paren.
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (comm !== 'workerd' || Number(pgrp) !== pgid || state === 'Z') continue;
    found.push({ pid: Number(entry), rssKiB: Number(status.match(/^VmRSS:\s+(\d+) kB/m)?.[1] ?? 0) });
  }
  return found;
}

/** The variables of the main test server: a fresh random signing key, the dev outbox, the Vite origin. */
export const testVars = () => ({
  JWT_SECRET: randomBytes(32).toString('hex'),
  DEV_OUTBOX: 'true',
  ALLOWED_ORIGINS: 'http://localhost:5173',
  // Every test request comes from one IP: the limits are tested on a server of their own
  // (ratelimit.test.mjs), and kept out of the way here.
  RATE_LIMIT_SIGNUP_PER_IP: '100000/60',
  RATE_LIMIT_LOGIN_PER_IP: '100000/60',
  RATE_LIMIT_RESET_PER_IP: '100000/60',
  RATE_LIMIT_LOGIN_FAILURES: '1000/60',
  RATE_LIMIT_MAIL: '100000/60',
});

async function main() {
  for (const crate of ['examples/default', 'examples/multi-tenant', 'e2e/panic-worker']) {
    if (process.env.USERDO_SKIP_BUILD !== '1' || !existsSync(join(root, crate, 'build/index.js'))) {
      const build = spawnSync('bash', [join(root, 'scripts/build-worker.sh'), crate], { cwd: root, stdio: 'inherit', env: toolEnv() });
      if (build.status !== 0) process.exit(build.status ?? 1);
    }
  }
  process.env.USERDO_SKIP_BUILD = '1';

  const files = process.argv.slice(2).length
    ? process.argv.slice(2)
    : readdirSync(join(root, 'e2e/tests')).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => join('e2e/tests', f));

  // Ctrl-C or a CI timeout: stop every wrangler before leaving.
  let runner;
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, async () => {
      runner?.kill(signal);
      await Promise.all([...running].map((stop) => stop()));
      process.exit(130);
    });
  }

  const vars = testVars();
  let server;
  try {
    server = await startWorker({ vars });
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
  let code = 1;
  try {
    runner = spawn(
      join(bin, 'node'),
      ['--test', '--test-concurrency=1', '--test-timeout=120000', '--test-reporter=spec', ...files],
      {
        cwd: root,
        stdio: 'inherit',
        env: { ...toolEnv(), USERDO_URL: server.url, USERDO_JWT_SECRET: vars.JWT_SECRET, USERDO_PERSIST_DIR: server.persistDir },
      },
    );
    code = await new Promise((resolve) => runner.on('exit', (c) => resolve(c ?? 1)));
  } finally {
    await Promise.all([...running].map((stop) => stop()));
  }
  if (code !== 0) {
    console.error(`\n--- last lines of ${server.logPath} ---\n${tail(server.logPath)}`);
  }
  process.exit(code);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
