// Concurrent requests to one user's object.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PASSWORD, call, uniqueEmail } from '../lib/api.mjs';

test('20 simultaneous signups of one email: exactly one succeeds, the others are 409', async () => {
  const email = uniqueEmail('race');
  const results = await Promise.all(
    Array.from({ length: 20 }, () => call('POST', '/api/signup', { json: { email, password: PASSWORD } })),
  );
  const statuses = results.map((r) => r.status);
  assert.equal(statuses.filter((s) => s === 201).length, 1, `statuses: ${statuses}`);
  assert.equal(statuses.filter((s) => s === 409).length, 19, `statuses: ${statuses}`);
  for (const r of results.filter((r) => r.status === 409)) assert.equal(r.json.error.code, 'email_taken');
});

test('concurrent refreshes of one token: one wins, and the reuse revokes the session', async () => {
  const email = uniqueEmail('refreshrace');
  const signup = await call('POST', '/api/signup', { json: { email, password: PASSWORD } });
  const { refreshToken } = signup.json;
  const results = await Promise.all(
    Array.from({ length: 5 }, () => call('POST', '/api/refresh', { json: { refreshToken } })),
  );
  const ok = results.filter((r) => r.status === 200);
  assert.equal(ok.length, 1, `statuses: ${results.map((r) => r.status)}`);
  // The losers presented a spent token, so the winner's new pair is dead too.
  const me = await call('GET', '/api/me', { token: ok[0].json.token });
  assert.equal(me.status, 401);
});
