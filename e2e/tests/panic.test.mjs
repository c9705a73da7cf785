// Recovery after a panic, as the build's shim (scripts/lean-shim.mjs) promises: a panic in the
// worker or in a Durable Object (a wasm trap, with panic = abort) marks the wasm state critical;
// the next call resets it ("Reinitializing Wasm application") and goes on, and an object made
// before the reset gets a new inner instance. The fixture is e2e/panic-worker.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startWorker } from '../run.mjs';

const root = join(import.meta.dirname, '..', '..');
let server;

before(async () => {
  server = await startWorker({ name: 'panic', vars: {}, config: join(root, 'e2e/panic-worker/wrangler.toml') });
});
after(() => server?.stop());

/**
 * `{status, json}`, or `{status: 0}` when no answer came: a panic in the object takes with it the
 * worker's wait for the object's answer (the same wasm instance's state is reset), so that
 * request is given up after `timeoutMs`, as the runtime would cancel it later.
 */
async function get(path, timeoutMs = 30_000) {
  try {
    const res = await fetch(server.url + path, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = text; }
    return { status: res.status, json };
  } catch {
    return { status: 0 };
  }
}

const resets = () => (readFileSync(server.logPath, 'utf8').match(/Reinitializing Wasm application/g) ?? []).length;

/** Waits until wrangler's log (written as its output arrives) shows `n` resets; fails after 10 s. */
async function resetsReach(n) {
  const deadline = Date.now() + 10_000;
  while (resets() < n) {
    if (Date.now() > deadline) assert.fail(`${resets()} resets in the log, expected ${n}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(resets(), n);
}

describe('after a panic', () => {
  test('the worker and the object answer again, the object with a new instance', async () => {
    assert.equal((await get('/ok')).status, 200);
    assert.deepEqual((await get('/object/count')).json, { calls: 1 });
    assert.deepEqual((await get('/object/count')).json, { calls: 2 });
    assert.equal(resets(), 0);

    // A panic in the worker: a 500, then the next call resets the state.
    assert.equal((await get('/panic')).status, 500);
    assert.deepEqual((await get('/ok')).json, { ok: true });
    await resetsReach(1);
    // The object was made before the reset: its instance is made again, so its count starts over.
    assert.deepEqual((await get('/object/count')).json, { calls: 1 });

    // A panic in the object, before any wait and after one.
    for (const path of ['/object/panic', '/object/panic-later']) {
      const earlier = resets();
      const failed = await get(path, 3000);
      assert.ok(failed.status === 0 || failed.status >= 500, `${path}: ${JSON.stringify(failed)}`);
      assert.deepEqual((await get('/object/count')).json, { calls: 1 }, `after ${path}`);
      assert.deepEqual((await get('/ok')).json, { ok: true }, `after ${path}`);
      await resetsReach(earlier + 1);
    }
  });
});
