// A worker started without a usable JWT_SECRET answers every request with a clear 500 and a log
// line that says why: no panic, no default key.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
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

describe('without DEV_OUTBOX, mail goes to MAIL_WEBHOOK_URL', () => {
  let server;
  let webhook;
  const received = [];
  let onReceive = () => {};
  before(async () => {
    // A stand-in for the project's mail service: it records each webhook call.
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        received.push({ method: req.method, url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], body: JSON.parse(body) });
        res.writeHead(202).end();
        onReceive();
      });
    });
    await new Promise((r) => webhook.listen(0, '127.0.0.1', r));
    server = await startWorker({
      name: 'wrangler-webhook',
      vars: {
        JWT_SECRET: 'x'.repeat(40),
        ALLOWED_ORIGINS: '',
        MAIL_WEBHOOK_URL: `http://127.0.0.1:${webhook.address().port}/mail`,
        MAIL_WEBHOOK_SECRET: 'webhook-secret',
      },
    });
  });
  after(async () => {
    await server?.stop();
    webhook?.close();
  });

  const post = (path, body) => fetch(server.url + path, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });

  test('a reset mail reaches the webhook with its bearer secret, and its token works once', async () => {
    const email = `webhook-${Date.now()}@example.com`;
    assert.equal((await post('/api/signup', { email, password: 'long enough pw' })).status, 201);
    const delivered = new Promise((resolve) => { onReceive = resolve; });
    const reset = await post('/api/password-reset/request', { email });
    assert.equal(reset.status, 202);
    const answer = await reset.text();
    await delivered;
    const [call] = received;
    assert.equal(call.method, 'POST');
    assert.equal(call.url, '/mail');
    assert.equal(call.auth, 'Bearer webhook-secret');
    assert.match(call.type, /application\/json/);
    assert.equal(call.body.to, email);
    assert.equal(call.body.kind, 'passwordReset');
    const token = call.body.text.match(/upr\.[0-9a-f]{64}\.[A-Za-z0-9_-]{43}/)?.[0];
    assert.ok(token, call.body.text);
    assert.ok(!answer.includes(token), 'the token is only in the mail');
    assert.equal((await post('/api/password-reset/confirm', { token, newPassword: 'a new password' })).status, 200);
    assert.equal((await post('/api/password-reset/confirm', { token, newPassword: 'a new password' })).status, 401);
  });

  test('the dev outbox path is 404 when DEV_OUTBOX is not set', async () => {
    const outbox = await fetch(`${server.url}/api/dev/outbox?email=a%40b.co`);
    assert.equal(outbox.status, 404);
    assert.equal((await outbox.json()).error.code, 'not_found');
  });
});
