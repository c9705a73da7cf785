// Hibernation for real: a socket stays open while the user's object is evicted (workerd evicts an
// idle object after about 10 s), and the next change still reaches it, exactly once, from a new
// instance of the object that knows the socket only from its attachment.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { call, expectStatus, newUser } from '../lib/api.mjs';
import { socketFor } from '../lib/ws.mjs';

const instanceOf = async (token) => expectStatus(await call('GET', '/api/dev/object', { token }), 200).json.instance;

test('events reach a socket after its object was evicted and rebuilt', { timeout: 240_000 }, async () => {
  const u = await newUser({ tag: 'hibernate' });
  const s = await socketFor(u.token);
  expectStatus(await call('PUT', '/api/kv/before', { token: u.token, json: 1 }), 200);
  assert.equal((await s.next()).seq, 1);
  const before = await instanceOf(u.token);
  // Eviction cannot be awaited as an event: idle, then look. Each look wakes the object, so the
  // idle period restarts; three tries of 20 s (twice workerd's 10 s) leave room for a busy machine.
  let after = before;
  for (let attempt = 1; attempt <= 3 && after === before; attempt++) {
    await sleep(20_000);
    expectStatus(await call('PUT', `/api/kv/after${attempt}`, { token: u.token, json: attempt }), 200);
    const event = await s.next();
    assert.equal(event.event, `kv:after${attempt}`);
    assert.equal(event.seq, 1 + attempt, 'exactly once, in order, across the eviction');
    after = await instanceOf(u.token);
  }
  assert.notEqual(after, before, 'the object was never evicted, so hibernation was not tested');
  s.send('ping');
  assert.equal(await s.next(), 'pong');
  assert.deepEqual(s.pending(), []);
  await s.close();
});

test('GET /api/dev/object needs a live session', async () => {
  expectStatus(await call('GET', '/api/dev/object'), 401, 'unauthenticated');
});
