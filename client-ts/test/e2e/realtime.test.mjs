// The realtime feed through the client against the real worker: events in order and once,
// resume with `since` after a forced disconnect, a resync, a server restart while subscribed
// (nothing missed), and the end of the session (close code 4001).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PASSWORD, Server, connected, signedUp, until } from './harness.mjs';

let server;
before(async () => {
  server = await Server.start('client-ts-realtime');
});
after(async () => {
  await server?.stop();
});

/** A second client of the same account, to make changes while the first one listens. */
async function sameUser(email) {
  const other = server.client();
  await other.login(email, PASSWORD);
  return other;
}

/** Records what a client delivers: every event's seq, and KV/table listener calls. */
function record(client, key = 'k') {
  const seen = { seqs: [], kv: [], rows: [], resyncs: 0 };
  client.realtime.onEvent((e) => seen.seqs.push(e.seq));
  client.realtime.onResync(() => seen.resyncs++);
  seen.stopKv = client.onChange(key, (value, change) => seen.kv.push({ value, ...change }));
  seen.stopRows = client.collection('todos').onChange((change) => seen.rows.push(change));
  return seen;
}

const consecutive = (seqs, from) => seqs.every((s, i) => s === from + i + 1);

describe('realtime', () => {
  test('every change arrives once, in order, to the listeners that watch it', async () => {
    const { client: a, email } = await signedUp(server, 'rt-order');
    const seen = record(a);
    await connected(a);
    const base = a.realtime.lastSeq;
    assert.equal(base, 0);
    const b = await sameUser(email);
    // Concurrent writes: the server orders them; the client must deliver that order.
    await Promise.all(Array.from({ length: 10 }, (_, i) => b.set('k', i)));
    const row = await b.collection('todos').create({ title: 'walk' });
    await b.collection('todos').update(row.id, { done: true });
    await b.set('other', 'not watched by the kv listener');
    await b.collection('todos').delete(row.id);
    await b.delete('k');
    await until(() => seen.seqs.length === 15, 20_000, '15 events');
    assert.ok(consecutive(seen.seqs, base), `in order, once: ${seen.seqs}`);
    assert.equal(seen.kv.length, 11);
    assert.deepEqual(seen.kv.at(-1), { value: undefined, op: 'delete', seq: 15 });
    // The last put the listener saw is the value the server kept before the delete.
    assert.ok(consecutive(seen.kv.slice(0, 10).map((c) => c.seq), base));
    assert.deepEqual(seen.rows.map((c) => c.op), ['create', 'update', 'delete']);
    assert.equal(seen.rows[0].row.title, 'walk');
    assert.equal(seen.rows[1].row.done, true);
    assert.equal(a.realtime.stats.duplicates, 0);
    seen.stopKv();
    seen.stopRows();
    assert.equal(a.realtime.status, 'idle', 'no listeners, no socket');
  });

  test('after a forced disconnect it resumes with since = the last seq and misses nothing', async () => {
    const { client: a, email } = await signedUp(server, 'rt-resume');
    const seen = record(a);
    await connected(a);
    const b = await sameUser(email);
    await b.set('k', 'before');
    await until(() => seen.seqs.length === 1);
    // Cut A off: its socket drops and its reconnects fail until it is back online.
    a.wires.offline = true;
    a.wires.sockets.at(-1).close();
    await until(() => a.realtime.status === 'reconnecting');
    for (let i = 1; i <= 5; i++) await b.set('k', `while away ${i}`);
    await b.collection('todos').create({ title: 'while away' });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(seen.seqs.length, 1, 'nothing arrives while offline');
    const sockets = a.wires.sockets.length;
    a.wires.offline = false;
    await until(() => seen.seqs.length === 7, 20_000, 'the missed events');
    assert.equal(a.wires.sockets.length, sockets + 1);
    assert.equal(a.wires.sinces().at(-1), '1', 'resumed after seq 1');
    assert.deepEqual(seen.seqs, [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(seen.kv.map((c) => c.value), ['before', 'while away 1', 'while away 2', 'while away 3', 'while away 4', 'while away 5']);
    assert.equal(seen.resyncs, 0);
    a.close();
  });

  test('a resync from the server calls the hook, re-reads watched keys and tells collections', async () => {
    let hook = 0;
    const { client: a, email } = await signedUp(server, 'rt-resync', { onResync: () => hook++ });
    const seen = record(a);
    await connected(a);
    const b = await sameUser(email);
    await b.set('k', 'v1');
    await until(() => seen.seqs.length === 1);
    // Pretend the client is ahead of the server's log (as after the account was made anew): on
    // reconnecting the server answers {event: "resync", seq}.
    a.realtime.lastSeq = 1000;
    await b.set('k', 'v2');
    a.wires.sockets.at(-1).close();
    await until(() => hook === 1, 20_000, 'the resync');
    await until(() => seen.kv.some((c) => c.op === 'resync'), 20_000, 'the re-read');
    assert.deepEqual(seen.kv.at(-1), { value: 'v2', op: 'resync' });
    assert.deepEqual(seen.rows, [{ op: 'resync' }]);
    assert.equal(a.realtime.lastSeq, 2);
    await b.set('k', 'v3');
    await until(() => seen.kv.at(-1).value === 'v3');
    assert.equal(seen.kv.at(-1).seq, 3);
    a.close();
  });

  test('a server restart while subscribed: the client reconnects to the new server and misses nothing', async () => {
    const { client: a, email } = await signedUp(server, 'rt-restart');
    const seen = record(a);
    await connected(a);
    const b = await sameUser(email);
    for (let i = 1; i <= 3; i++) await b.set('k', `old ${i}`);
    await until(() => seen.seqs.length === 3);
    // Keep A away until B has written to the new server, so A has something to catch up on.
    a.wires.offline = true;
    await server.restart();
    await until(() => a.realtime.status === 'reconnecting', 20_000, 'A to notice');
    for (let i = 1; i <= 4; i++) await b.set('k', `new ${i}`);
    await b.collection('todos').create({ title: 'after restart' });
    const attempts = a.wires.count('POST', '/api/ws/ticket');
    a.wires.offline = false;
    await until(() => seen.seqs.length === 8, 30_000, 'the events of the new server');
    assert.deepEqual(seen.seqs, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(seen.kv.map((c) => c.value), ['old 1', 'old 2', 'old 3', 'new 1', 'new 2', 'new 3', 'new 4']);
    assert.equal(seen.rows.length, 1);
    assert.equal(a.wires.sinces().at(-1), '3');
    assert.ok(attempts >= 1, 'it kept trying while the server was away');
    // Live events follow on the new server.
    await b.set('k', 'live');
    await until(() => seen.seqs.length === 9);
    assert.equal(seen.kv.at(-1).value, 'live');
    assert.equal(a.realtime.stats.duplicates, 0);
    a.close();
  });

  test('when the session ends the socket closes with 4001 and the client stops and signs out', async () => {
    const { client: a, email } = await signedUp(server, 'rt-ended');
    record(a);
    await connected(a);
    const b = await sameUser(email);
    const mine = (await a.sessions.list()).find((s) => s.current);
    const sockets = a.wires.sockets.length;
    await b.sessions.revoke(mine.id);
    // Locally the close frame can take about 10 s to arrive (README, Limits).
    await until(() => a.realtime.status === 'ended', 30_000, 'close code 4001');
    assert.equal(a.signedIn, false);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(a.wires.sockets.length, sockets, 'no reconnect');
  });
});
