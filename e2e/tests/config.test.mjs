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

describe('without DEV_OUTBOX', () => {
  let server;
  before(async () => {
    server = await startWorker({
      name: 'wrangler-no-outbox',
      vars: { JWT_SECRET: 'x'.repeat(40), ALLOWED_ORIGINS: '' },
    });
  });
  after(async () => server?.stop());

  test('the outbox path is 404 and a reset request still answers 202 without a mailer', async () => {
    const email = `nooutbox-${Date.now()}@example.com`;
    const post = (path, body) => fetch(server.url + path, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    assert.equal((await post('/api/signup', { email, password: 'long enough pw' })).status, 201);
    const reset = await post('/api/password-reset/request', { email });
    assert.equal(reset.status, 202);
    assert.doesNotMatch(await reset.text(), /upr\./);
    const outbox = await fetch(`${server.url}/api/dev/outbox?email=${encodeURIComponent(email)}`);
    assert.equal(outbox.status, 404);
    assert.equal((await outbox.json()).error.code, 'not_found');
  });
});
