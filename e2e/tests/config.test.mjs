// A worker started without a usable JWT_SECRET answers every request with a clear 500 and a log
// line that says why: no panic, no default key.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { startWorker } from '../run.mjs';

for (const [label, secret] of [['missing', undefined], ['short', 'only-16-bytes!!!']]) {
  describe(`JWT_SECRET ${label}`, () => {
    let server;
    before(async () => {
      const vars = { ALLOWED_ORIGINS: '' };
      if (secret) vars.JWT_SECRET = secret;
      server = await startWorker({ name: `wrangler-secret-${label}`, vars });
    });
    after(async () => server?.stop());

    test('every request is 500 internal, with the reason in the log and not in the body', async () => {
      for (const [method, path, body] of [['POST', '/api/signup', { email: 'a@b.co', password: 'long enough' }], ['GET', '/api/me']]) {
        const res = await fetch(server.url + path, {
          method,
          headers: body ? { 'content-type': 'application/json' } : {},
          body: body ? JSON.stringify(body) : undefined,
        });
        assert.equal(res.status, 500);
        const json = await res.json();
        assert.equal(json.error.code, 'internal');
        assert.doesNotMatch(JSON.stringify(json), /JWT_SECRET/);
      }
      // wrangler writes the worker's log line just after the response: wait for it (bounded).
      const deadline = Date.now() + 10_000;
      while (!/JWT_SECRET is not set|JWT_SECRET must be at least 32 bytes/.test(readFileSync(server.logPath, 'utf8'))) {
        assert.ok(Date.now() < deadline, `no log line naming JWT_SECRET in ${server.logPath}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    });
  });
}
