// Runs the end-to-end tests against the real runtime: starts `wrangler dev` (workerd, with real
// Durable Object SQLite) on a free port with a fresh data directory and its own variables, waits
// until it answers, runs `node --test` on e2e/tests, and stops the server.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const artifacts = join(root, 'e2e', 'artifacts');
mkdirSync(artifacts, { recursive: true });

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

/** Starts wrangler dev; returns { url, stop, logPath }. */
export async function startWorker({ name = 'wrangler', vars, persistDir }) {
  const port = await freePort();
  const inspector = await freePort();
  const work = mkdtempSync(join(tmpdir(), 'userdo-e2e-'));
  const envFile = join(work, 'vars.env');
  writeFileSync(envFile, Object.entries(vars).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  const dir = persistDir ?? join(work, 'state');
  const logPath = join(artifacts, `${name}.log`);
  const log = createWriteStream(logPath);
  const child = spawn(
    'wrangler',
    ['dev', '--local', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
      '--persist-to', dir, '--env-file', envFile, '--show-interactive-dev-session=false'],
    { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', USERDO_SKIP_BUILD: '1' } },
  );
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = false;
  const exit = new Promise((resolve) => child.on('exit', (code) => { exited = true; resolve(code); }));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (exited) return;
    // wrangler runs workerd as a child: signal the whole process group.
    try { process.kill(-child.pid, 'SIGINT'); } catch {}
    const killed = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch {} }, 5000);
    await exit;
    clearTimeout(killed);
  };
  // Startup: poll until the server answers (or the process dies, or 60 s pass).
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`wrangler exited during startup; see ${logPath}`);
    try {
      await fetch(url + '/', { signal: AbortSignal.timeout(2000) });
      return { url, stop, logPath, persistDir: dir };
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`wrangler did not answer within 60 s; see ${logPath}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

export const testVars = () => ({
  JWT_SECRET: randomBytes(32).toString('hex'),
  DEV_OUTBOX: 'true',
  ALLOWED_ORIGINS: 'http://localhost:5173',
});

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const vars = testVars();
  const server = await startWorker({ vars });
  let code = 1;
  try {
    const runner = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', 'e2e/tests/*.test.mjs'], {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, USERDO_URL: server.url, USERDO_JWT_SECRET: vars.JWT_SECRET, USERDO_PERSIST_DIR: server.persistDir },
    });
    code = await new Promise((resolve) => runner.on('exit', (c) => resolve(c ?? 1)));
  } finally {
    await server.stop();
  }
  if (code !== 0) {
    const tail = readFileSync(server.logPath, 'utf8').split('\n').slice(-40).join('\n');
    console.error(`\n--- last lines of ${server.logPath} ---\n${tail}`);
  }
  rmSync(server.persistDir, { recursive: true, force: true });
  process.exit(code);
}
