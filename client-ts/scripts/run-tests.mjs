// Runs the client's tests with Node's test runner on the Node 22 of the repository's
// node_modules (global fetch and WebSocket). End-to-end tests start their own `wrangler dev`
// through e2e/run.mjs; the worker is built first when no build exists.
//
//   node scripts/run-tests.mjs [dir or files...]     (default: test/unit and test/e2e)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const root = join(pkg, '..');
const bin = join(root, 'node_modules', '.bin');
const node = existsSync(join(bin, 'node')) ? join(bin, 'node') : process.execPath;

const targets = process.argv.slice(2).length ? process.argv.slice(2) : ['test/unit', 'test/e2e'];
const files = targets.flatMap((t) => {
  const path = join(pkg, t);
  if (!statSync(path).isDirectory()) return [relative(pkg, path)];
  return readdirSync(path).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => relative(pkg, join(path, f)));
});

const env = {
  ...process.env,
  PATH: [bin, join(process.env.CARGO_HOME ?? join(process.env.HOME ?? '', '.cargo'), 'bin'), process.env.PATH].join(delimiter),
  CI: 'true',
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
};

if (files.some((f) => f.includes('e2e')) && !existsSync(join(root, 'examples/default/build/index.js'))) {
  const build = spawnSync('bash', [join(root, 'scripts/build-worker.sh')], { cwd: root, stdio: 'inherit', env });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const runner = spawn(node, ['--test', '--test-concurrency=1', '--test-timeout=180000', '--test-reporter=spec', ...files], {
  cwd: pkg,
  stdio: 'inherit',
  env,
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => runner.kill(signal));
runner.on('exit', (code) => process.exit(code ?? 1));
