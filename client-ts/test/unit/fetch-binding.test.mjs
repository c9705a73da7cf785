// The default fetch is the global one, called the way a browser accepts: a browser's fetch throws
// "Illegal invocation" when it is called as a method of any object but the global one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UserDoClient } from '../../dist/index.js';

test('the default fetch is called on globalThis, as browsers require', async (t) => {
  const original = globalThis.fetch;
  const seen = [];
  globalThis.fetch = function browserLikeFetch(input, init) {
    if (this !== undefined && this !== globalThis) throw new TypeError("Failed to execute 'fetch' on 'Window': Illegal invocation");
    seen.push([String(input), init?.method]);
    return Promise.resolve(new Response(JSON.stringify({ ok: true }), { status: 202, headers: { 'content-type': 'application/json' } }));
  };
  t.after(() => { globalThis.fetch = original; });
  const client = new UserDoClient('https://worker.example');
  await client.requestPasswordReset('me@example.com');
  assert.deepEqual(seen, [['https://worker.example/api/password-reset/request', 'POST']]);
});
