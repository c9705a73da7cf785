// getSession, the session check for other workers, against a fake service binding: what it
// forwards, what it answers for a live session, and that every failure answers null (fail closed).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SESSION_TIMEOUT_MS, getSession } from '../../dist/index.js';

const USER = { id: 'a'.repeat(64), email: 'me@example.com', emailVerified: false, createdAt: 1_800_000_000_000 };
const SESSION = { id: 'b'.repeat(32), createdAt: 1_800_000_000_000, expiresAt: 1_802_592_000_000 };
const LIVE = { user: USER, session: SESSION };

const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** A binding that records each request and answers with `answer(request)`. */
function binding(answer = () => json(200, LIVE)) {
  const requests = [];
  return {
    requests,
    fetch(request) {
      requests.push(request);
      return Promise.resolve().then(() => answer(request));
    },
  };
}

/** An incoming request as the calling worker gets it, with more headers than the two it forwards. */
const incoming = (headers = { authorization: 'Bearer x.y.z' }) =>
  new Request('https://app.example/whoami', {
    headers: { origin: 'https://app.example', 'x-forwarded-for': '203.0.113.9', 'user-agent': 'test', ...headers },
  });

test('a live session: {user, session}, asked with GET /api/session and only Authorization and Cookie', async () => {
  const b = binding();
  const got = await getSession(b, incoming({ authorization: 'Bearer x.y.z', cookie: 'token=x.y.z; theme=dark' }));
  assert.deepEqual(got, LIVE);
  assert.equal(b.requests.length, 1);
  const [req] = b.requests;
  assert.equal(req.method, 'GET');
  assert.equal(new URL(req.url).pathname, '/api/session');
  assert.deepEqual([...req.headers].sort(), [['authorization', 'Bearer x.y.z'], ['cookie', 'token=x.y.z; theme=dark']]);
  assert.equal(req.body, null);
});

test('either header alone is forwarded alone', async () => {
  for (const headers of [{ authorization: 'Bearer t' }, { cookie: 'token=t' }]) {
    const b = binding();
    assert.deepEqual(await getSession(b, incoming(headers)), LIVE);
    assert.deepEqual([...b.requests[0].headers], Object.entries(headers));
  }
});

test('the answer is copied field by field: nothing else of the body is passed on', async () => {
  const b = binding(() => json(200, { user: { ...USER, role: 'admin' }, session: { ...SESSION, extra: 1 }, token: 'leak' }));
  assert.deepEqual(await getSession(b, incoming()), LIVE);
});

test('no credentials: null, and the binding is not called', async () => {
  const b = binding();
  assert.equal(await getSession(b, incoming({})), null);
  assert.equal(await getSession(b, incoming({ authorization: '', cookie: '' })), null);
  assert.equal(b.requests.length, 0);
});

test('a network error (the binding throws or rejects): null', async () => {
  const throwing = { fetch() { throw new TypeError('network connection lost'); } };
  assert.equal(await getSession(throwing, incoming()), null);
  const rejecting = { fetch: () => Promise.reject(new Error('internal error')) };
  assert.equal(await getSession(rejecting, incoming()), null);
});

test('any status but 200: null, even with a body of the right shape', async () => {
  for (const status of [201, 204, 302, 401, 403, 404, 429, 500, 503]) {
    const body = status === 204 ? null : JSON.stringify(status === 401 ? { error: { code: 'session_revoked', message: 'ended' } } : LIVE);
    const headers = status === 302 ? { location: 'https://elsewhere.example/' } : {};
    const b = binding(() => new Response(body, { status, headers }));
    assert.equal(await getSession(b, incoming()), null, `status ${status}`);
    assert.equal(b.requests[0].redirect, 'manual', 'a redirect is not followed');
  }
});

test('a 200 whose body is not JSON: null', async () => {
  for (const text of ['', 'not json', '{"user":', '<html>ok</html>']) {
    const b = binding(() => new Response(text, { status: 200, headers: { 'content-type': 'application/json' } }));
    assert.equal(await getSession(b, incoming()), null, JSON.stringify(text));
  }
});

test('a 200 of another shape: null', async () => {
  const bodies = [
    null, [], 'ok', 1, {}, { user: USER }, { session: SESSION }, [LIVE],
    { user: null, session: SESSION },
    { user: USER, session: [] },
    { user: { ...USER, id: '' }, session: SESSION },
    { user: { ...USER, id: 7 }, session: SESSION },
    { user: { ...USER, email: undefined }, session: SESSION },
    { user: { ...USER, emailVerified: 'false' }, session: SESSION },
    { user: { ...USER, createdAt: '1800000000000' }, session: SESSION },
    { user: USER, session: { ...SESSION, id: '' } },
    { user: USER, session: { ...SESSION, id: null } },
    { user: USER, session: { ...SESSION, createdAt: null } },
    { user: USER, session: { ...SESSION, expiresAt: undefined } },
  ];
  for (const body of bodies) {
    assert.equal(await getSession(binding(() => json(200, body)), incoming()), null, JSON.stringify(body));
  }
});

test('a binding that never answers: null at the time-out, and its request is aborted', async () => {
  const b = binding(() => new Promise(() => {})); // ignores the abort too
  const started = performance.now();
  assert.equal(await getSession(b, incoming(), { timeoutMs: 50 }), null);
  assert.ok(performance.now() - started >= 45, 'not before the time-out');
  assert.equal(b.requests[0].signal.aborted, true);
});

test('headers in time but a body that never ends: null at the time-out', async () => {
  const b = binding(() => new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('{"user":')); } }), { status: 200 }));
  assert.equal(await getSession(b, incoming(), { timeoutMs: 50 }), null);
  assert.equal(b.requests[0].signal.aborted, true);
});

test('an answer within the time-out is not cut off', async () => {
  const b = binding(() => new Promise((resolve) => setTimeout(() => resolve(json(200, LIVE)), 20)));
  assert.deepEqual(await getSession(b, incoming(), { timeoutMs: 2000 }), LIVE);
  assert.equal(b.requests[0].signal.aborted, false, 'no abort after a timely answer');
});

test('without timeoutMs the default time-out (3 s) applies', async () => {
  assert.equal(DEFAULT_SESSION_TIMEOUT_MS, 3000);
  const b = binding(() => new Promise(() => {}));
  const started = performance.now();
  assert.equal(await getSession(b, incoming()), null);
  const waited = performance.now() - started;
  assert.ok(waited >= 2950 && waited < 6000, `gave up after ${Math.round(waited)} ms`);
  assert.equal(b.requests[0].signal.aborted, true);
});
