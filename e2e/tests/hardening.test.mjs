// Limits that hold under attack (SECURITY.md, round 2), on a server of their own: cheap password
// hashing (so 100 logins are quick), failed logins 10 per 10 minutes, mail 3 per 10 minutes, and
// long windows, so nothing here passes by waiting.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Socket } from '../lib/ws.mjs';
import { startWorker } from '../run.mjs';

const FAILURES = 10;
const MAIL = 3;
let server;

before(async () => {
  server = await startWorker({
    name: 'wrangler-hardening',
    vars: {
      JWT_SECRET: randomBytes(32).toString('hex'),
      ALLOWED_ORIGINS: '',
      DEV_OUTBOX: 'true',
      PBKDF2_ITERATIONS: '1000',
      RATE_LIMIT_LOGIN_FAILURES: `${FAILURES}/600`,
      RATE_LIMIT_MAIL: `${MAIL}/600`,
      RATE_LIMIT_SIGNUP_PER_IP: '100000/60',
      RATE_LIMIT_LOGIN_PER_IP: '100000/60',
      RATE_LIMIT_RESET_PER_IP: '100000/60',
    },
  });
});
after(async () => server?.stop());

const PASSWORD = 'the right password';
const email = (tag) => `${tag}-${Date.now()}-${randomBytes(3).toString('hex')}@example.com`;

async function req(method, path, { json, token, headers = {} } = {}) {
  const h = { ...headers };
  if (json !== undefined) h['content-type'] = 'application/json';
  if (token) h.authorization = `Bearer ${token}`;
  const res = await fetch(server.url + path, { method, headers: h, body: json === undefined ? undefined : JSON.stringify(json) });
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = undefined; }
  return { status: res.status, retryAfter: res.headers.get('retry-after'), json: body, text };
}

function expect(res, status, code) {
  assert.equal(res.status, status, `expected ${status} ${code ?? ''}, got ${res.status}: ${res.text.slice(0, 300)}`);
  if (code) assert.equal(res.json?.error?.code, code, res.text);
  if (status === 429) {
    const secs = Number(res.retryAfter);
    assert.ok(Number.isInteger(secs) && secs >= 1 && secs <= 600, `Retry-After ${res.retryAfter}`);
  }
  return res;
}

const signup = async (e = email('user')) => ({ email: e, ...expect(await req('POST', '/api/signup', { json: { email: e, password: PASSWORD } }), 201).json });
const loginAs = (e, password) => req('POST', '/api/login', { json: { email: e, password } });
const outbox = async (e) => expect(await req('GET', `/api/dev/outbox?email=${encodeURIComponent(e)}`), 200).json.messages;

describe('failed-login lock', () => {
  test('a password reset lifts the lock that wrong passwords put on the account', async () => {
    const u = await signup(email('unlock'));
    for (let i = 0; i < FAILURES; i++) expect(await loginAs(u.email, 'a wrong password'), 401, 'invalid_credentials');
    expect(await loginAs(u.email, PASSWORD), 429, 'rate_limited');
    expect(await req('POST', '/api/password-reset/request', { json: { email: u.email } }), 202);
    const { token } = (await outbox(u.email)).at(-1);
    expect(await req('POST', '/api/password-reset/confirm', { json: { token, newPassword: 'a new password' } }), 200);
    expect(await loginAs(u.email, 'a new password'), 200);
  });

  test('password checks behind a session count as failed logins of the account', async () => {
    const u = await signup(email('oracle'));
    const half = FAILURES / 2;
    for (let i = 0; i < half; i++) {
      expect(await req('POST', '/api/password/change', { token: u.token, json: { currentPassword: `guess ${i}`, newPassword: 'whatever password' } }), 401, 'invalid_credentials');
    }
    for (let i = 0; i < half; i++) {
      expect(await req('DELETE', '/api/account', { token: u.token, json: { password: `guess ${half + i}` } }), 401, 'invalid_credentials');
    }
    // The same lock: no more checks behind the session, and no login either.
    expect(await req('POST', '/api/password/change', { token: u.token, json: { currentPassword: PASSWORD, newPassword: 'whatever password' } }), 429, 'rate_limited');
    expect(await req('DELETE', '/api/account', { token: u.token, json: { password: PASSWORD } }), 429, 'rate_limited');
    expect(await loginAs(u.email, PASSWORD), 429, 'rate_limited');
    expect(await req('GET', '/api/me', { token: u.token }), 200);
  });

  test('right passwords do not count: a successful login is refunded', async () => {
    const u = await signup(email('refund'));
    for (let i = 0; i < FAILURES + 5; i++) expect(await loginAs(u.email, PASSWORD), 200);
    expect(await req('POST', '/api/password/change', { token: u.token, json: { currentPassword: PASSWORD, newPassword: 'another password' } }), 200);
    for (let i = 0; i < FAILURES - 1; i++) expect(await loginAs(u.email, 'a wrong password'), 401);
    expect(await loginAs(u.email, 'another password'), 200);
  });
});

describe('mail limits', () => {
  test(`reset requests: ${MAIL} per email an hour, the same whether or not the email has an account`, async () => {
    const known = (await signup(email('mailknown'))).email;
    const unknown = email('mailghost');
    for (const e of [known, unknown]) {
      for (let i = 0; i < MAIL; i++) expect(await req('POST', '/api/password-reset/request', { json: { email: e } }), 202);
      const limited = expect(await req('POST', '/api/password-reset/request', { json: { email: e } }), 429, 'rate_limited');
      assert.deepEqual(Object.keys(limited.json), ['error']);
    }
    assert.equal((await outbox(known)).length, MAIL);
    assert.deepEqual(await outbox(unknown), []);
    // Another email is not limited by these.
    expect(await req('POST', '/api/password-reset/request', { json: { email: email('mailother') } }), 202);
  });

  test('verification requests are limited per account too, with the reset requests', async () => {
    const u = await signup(email('mailverify'));
    expect(await req('POST', '/api/password-reset/request', { json: { email: u.email } }), 202);
    for (let i = 1; i < MAIL; i++) expect(await req('POST', '/api/email-verification/request', { token: u.token }), 202);
    expect(await req('POST', '/api/email-verification/request', { token: u.token }), 429, 'rate_limited');
    expect(await req('POST', '/api/password-reset/request', { json: { email: u.email } }), 429, 'rate_limited');
    assert.equal((await outbox(u.email)).length, MAIL);
  });
});

describe('ended sessions and their sockets', () => {
  test('a session pushed out by the 100-session cap gets no more events and is closed with 4001', async () => {
    const u = await signup(email('cap'));
    const { ticket } = expect(await req('POST', '/api/ws/ticket', { token: u.token }), 200).json;
    const socket = await new Promise((resolve, reject) => {
      const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/api/ws?ticket=${encodeURIComponent(ticket)}`);
      const s = new Socket(ws);
      ws.addEventListener('open', () => resolve(s), { once: true });
      ws.addEventListener('error', () => reject(new Error('socket refused')), { once: true });
    });
    let newest;
    for (let batch = 0; batch < 10; batch++) {
      const logins = await Promise.all(Array.from({ length: 10 }, () => loginAs(u.email, PASSWORD)));
      for (const l of logins) expect(l, 200);
      newest = logins.at(-1).json;
    }
    expect(await req('GET', '/api/me', { token: u.token }), 401, 'session_revoked');
    expect(await req('PUT', '/api/kv/after-cap', { token: newest.token, json: 1 }), 200);
    const closed = await Promise.race([socket.closed, new Promise((r) => setTimeout(() => r({ code: 'open' }), 30_000))]);
    assert.equal(closed.code, 4001);
    assert.deepEqual(socket.pending().filter((m) => m && m.seq !== undefined), [], 'no event after the session ended');
  });
});

describe('deploy check', () => {
  test('refuses a deployed configuration that sets DEV_OUTBOX, or a secret as a plain variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'userdo-deploy-check-'));
    try {
      const base = readFileSync(new URL('../../wrangler.toml', import.meta.url), 'utf8');
      const run = (text) => {
        const config = join(dir, 'wrangler.toml');
        writeFileSync(config, text);
        return spawnSync('bash', [new URL('../../scripts/deploy-check.sh', import.meta.url).pathname], {
          env: { ...process.env, USERDO_DEPLOY_CONFIG: config, USERDO_DEPLOY_CONFIG_ONLY: '1' },
          encoding: 'utf8',
        });
      };
      const clean = run(base);
      assert.equal(clean.status, 0, clean.stderr);
      for (const text of [
        base.replace('[vars]\n', '[vars]\nDEV_OUTBOX = "true"\n'),
        `${base}\n[env.production.vars]\nDEV_OUTBOX = "true"\n`,
        base.replace('[vars]\n', '[vars]\n"DEV_OUTBOX" = "false"\n'),
      ]) {
        const refused = run(text);
        assert.equal(refused.status, 1, refused.stdout);
        assert.match(refused.stderr, /DEV_OUTBOX/);
      }
      // A comment that names it is not a setting.
      assert.equal(run(base.replace('[vars]\n', '[vars]\n# DEV_OUTBOX = "true" only in .dev.vars\n')).status, 0);
      // Secrets are never plain variables: a provider's client secret, or the token key.
      for (const text of [
        base.replace('[vars]\n', '[vars]\nOAUTH_GITHUB_CLIENT_SECRET = "s3cret"\n'),
        `${base}\n[env.production.vars]\nJWT_SECRET = "0123456789abcdef0123456789abcdef"\n`,
      ]) {
        const refused = run(text);
        assert.equal(refused.status, 1, refused.stdout);
        assert.match(refused.stderr, /secret/);
      }
      // The client id is not a secret.
      assert.equal(run(base.replace('[vars]\n', '[vars]\nOAUTH_GITHUB_CLIENT_ID = "Iv1.abc"\n')).status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
