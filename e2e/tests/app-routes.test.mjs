// The application seam of the default worker: a worker route that receives the authenticated user,
// and a route answered inside the user's own object by the application's UserApp::fetch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { call, expectStatus, newUser } from '../lib/api.mjs';

test('a worker route receives the authenticated user, and only for a live session', async () => {
  const u = await newUser({ tag: 'hello' });
  const res = expectStatus(await call('GET', '/api/hello', { token: u.token }), 200);
  assert.deepEqual(res.json, { hello: u.email });
  expectStatus(await call('GET', '/api/hello'), 401, 'unauthenticated');
  expectStatus(await call('POST', '/api/logout', { token: u.token }), 200);
  expectStatus(await call('GET', '/api/hello', { token: u.token }), 401, 'session_revoked');
});

test("an object route keeps state in each user's own SQLite", async () => {
  const a = await newUser({ tag: 'visitsA' });
  const b = await newUser({ tag: 'visitsB' });
  assert.deepEqual((await call('POST', '/api/visits', { token: a.token })).json, { visits: 1 });
  assert.deepEqual((await call('POST', '/api/visits', { token: a.token })).json, { visits: 2 });
  assert.deepEqual((await call('POST', '/api/visits', { token: b.token })).json, { visits: 1 });
  expectStatus(await call('GET', '/api/visits', { token: a.token }), 405, 'method_not_allowed');
});

test('worker routes get their path parameters, decoded, and the verified claims', async () => {
  const u = await newUser({ tag: 'params' });
  const res = expectStatus(await call('GET', '/api/hello/good%20morning', { token: u.token }), 200);
  assert.equal(res.json['good morning'], u.email);
  assert.match(res.json.session, /^[0-9a-f]{32}$/);
  expectStatus(await call('GET', '/api/hello/x'), 401, 'unauthenticated');
  expectStatus(await call('GET', '/api/hello/%FF', { token: u.token }), 400, 'validation_failed');
  expectStatus(await call('GET', '/api/hello/a/b', { token: u.token }), 404, 'not_found');
});

test('a public route answers without a session', async () => {
  const res = expectStatus(await call('GET', '/api/greet/ada%20lovelace'), 200);
  assert.deepEqual(res.json, { greeting: 'hello, ada lovelace' });
  expectStatus(await call('POST', '/api/greet/ada'), 405, 'method_not_allowed');
});
