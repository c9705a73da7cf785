// SECURITY.md: a login for an email with no account spends the same hashing work as a wrong
// password, so the time does not tell whether the account exists. Compares the medians of 10
// tries each, interleaved, and fails if they differ by more than 50%.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { call, expectStatus, newUser, uniqueEmail } from '../lib/api.mjs';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test('a wrong password and an unknown email take about the same time', async () => {
  const u = await newUser({ tag: 'timing' });
  const wrong = [];
  const unknown = [];
  for (let i = 0; i < 10; i++) {
    const a = expectStatus(await call('POST', '/api/login', { json: { email: u.email, password: 'not the password' } }), 401, 'invalid_credentials');
    wrong.push(a.ms);
    // A fresh address each time, as someone probing for accounts would send.
    const b = expectStatus(await call('POST', '/api/login', { json: { email: uniqueEmail('ghost'), password: 'not the password' } }), 401, 'invalid_credentials');
    unknown.push(b.ms);
    assert.deepEqual(b.json, a.json);
  }
  const [mw, mu] = [median(wrong), median(unknown)];
  const ratio = Math.max(mw, mu) / Math.min(mw, mu);
  console.log(`login medians: wrong password ${mw.toFixed(0)} ms, unknown email ${mu.toFixed(0)} ms (ratio ${ratio.toFixed(2)})`);
  assert.ok(ratio <= 1.5, `medians differ by more than 50%: wrong ${mw} ms vs unknown ${mu} ms`);
});
