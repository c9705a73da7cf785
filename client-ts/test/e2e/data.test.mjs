// KV, tables and remote calls through the client against the real worker: round trips, keys
// that need encoding, queries whose values would break a hand-built query string, and errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { UserDoError } from '../../dist/index.js';
import { Server, signedUp } from './harness.mjs';

let server;
before(async () => {
  server = await Server.start('client-ts-data');
});
after(async () => {
  await server?.stop();
});

describe('KV', () => {
  test('get, set, delete and keys round-trip any JSON, for keys that need encoding', async () => {
    const { client } = await signedUp(server, 'kv');
    assert.equal(await client.get('missing'), undefined);
    const keys = ['plain', 'a/b', 'sp ace', 'q?x=1&y', '%41', 'ünï', 'emoji 🎉', 'p+plus', '#hash'];
    const values = [1, 'text', { nested: [1, { x: null }] }, null, true, [], 3.5, '', { k: 'v' }];
    for (const [i, key] of keys.entries()) await client.set(key, values[i]);
    for (const [i, key] of keys.entries()) assert.deepEqual(await client.get(key), values[i], key);
    assert.deepEqual(await client.keys(), [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    assert.deepEqual(await client.keys('p'), ['p+plus', 'plain']);
    assert.deepEqual(await client.keys('q?x'), ['q?x=1&y']);
    await client.delete('a/b');
    await client.delete('a/b'); // absent: still fine
    assert.equal(await client.get('a/b'), undefined);
    await assert.rejects(client.set('__reserved', 1), (e) => e instanceof UserDoError && e.code === 'validation_failed');
  });
});

describe('collections', () => {
  test('create, get, update, delete, with the server assigning id and times', async () => {
    const { client } = await signedUp(server, 'rows');
    const todos = client.collection('todos');
    const row = await todos.create({ title: 'walk' });
    assert.match(row.id, /^[0-9a-f]{32}$/);
    assert.equal(row.done, false);
    assert.equal(typeof row.createdAt, 'number');
    assert.deepEqual(await todos.get(row.id), row);
    const done = await todos.update(row.id, { done: true });
    assert.equal(done.done, true);
    assert.equal(done.title, 'walk');
    await todos.delete(row.id);
    assert.equal(await todos.get(row.id), undefined);
    await assert.rejects(todos.delete(row.id), { status: 404, code: 'not_found' });
    await assert.rejects(todos.create({ title: '' }), (e) => e.code === 'validation_failed' && 'title' in e.details);
    await assert.rejects(client.collection('visits').create({ path: '/x' }), { status: 403, code: 'forbidden' });
    await assert.rejects(client.collection('nope').query(), { status: 404 });
  });

  test('createMany: every row or none, in order', async () => {
    const { client } = await signedUp(server, 'many');
    const todos = client.collection('todos');
    const rows = await todos.createMany([{ title: 'one' }, { title: 'two', done: true }]);
    assert.deepEqual(rows.map((r) => [r.title, r.done]), [['one', false], ['two', true]]);
    assert.deepEqual(await todos.get(rows[1].id), rows[1]);
    await assert.rejects(todos.createMany([{ title: 'fine' }, { title: '' }]), (e) => e.code === 'validation_failed' && 'rows[1].title' in e.details);
    assert.equal((await todos.query()).count, 2);
  });

  test('queries: where, orderBy, limit and offset, with every value encoded', async () => {
    const { client } = await signedUp(server, 'query');
    const todos = client.collection('todos');
    const titles = ['a&limit=1', 'b,c', 'd:e:f', 'g h+i', 'j%20k', 'ünï', 'x#y', 'z'];
    const rows = [];
    for (const title of titles) rows.push(await todos.create({ title, done: title < 'g' }));
    // Each awkward title is found by eq, exactly.
    for (const title of titles) {
      const { rows: found, count } = await todos.query({ where: [['title', 'eq', title]] });
      assert.equal(count, 1, title);
      assert.equal(found[0].title, title);
    }
    // in with commas inside values (sent as a JSON array).
    const inList = await todos.query({ where: [['title', 'in', ['b,c', 'z', 'absent']]], orderBy: ['title'] });
    assert.deepEqual(inList.rows.map((r) => r.title), ['b,c', 'z']);
    // Object where, ordering, paging, count ignoring paging.
    const page = await todos.query({ where: { done: true }, orderBy: [['title', 'desc']], limit: 2, offset: 1 });
    assert.equal(page.count, 3);
    assert.deepEqual(page.rows.map((r) => r.title), ['b,c', 'a&limit=1']);
    const starts = await todos.query({ where: [['title', 'startsWith', 'j%'], ['done', 'eq', false]] });
    assert.deepEqual(starts.rows.map((r) => r.title), ['j%20k']);
    const recent = await todos.query({ where: [['createdAt', 'gte', rows[0].createdAt]], orderBy: [['createdAt', 'asc']], limit: 3 });
    assert.equal(recent.rows.length, 3);
    assert.equal(recent.count, titles.length);
    await assert.rejects(todos.query({ where: [['nope', 'eq', 1]] }), { status: 400, code: 'invalid_query' });
  });
});

describe('remote calls', () => {
  test('call() reaches the application methods; unknown ones are 404', async () => {
    const { client } = await signedUp(server, 'rpc');
    const todos = client.collection('todos');
    const row = await todos.create({ title: 'old' });
    await todos.create({ title: 'done one', done: true });
    const renamed = await client.call('renameTodo', { id: row.id, title: 'new' });
    assert.equal(renamed.title, 'new');
    assert.deepEqual(await client.call('clearCompleted'), { deleted: 1 });
    assert.equal((await todos.query()).count, 1);
    await assert.rejects(client.call('nope'), { status: 404, code: 'not_found' });
    await assert.rejects(client.call('renameTodo', { id: row.id }), { status: 400, code: 'validation_failed' });
  });

  test('client.rpc.{method} calls the same methods, with their typed results', async () => {
    const { client } = await signedUp(server, 'rpc-proxy');
    const todos = client.collection('todos');
    const row = await todos.create({ title: 'old' });
    await todos.create({ title: 'done one', done: true });
    const renamed = await client.rpc.renameTodo({ id: row.id, title: 'new' });
    assert.equal(renamed.title, 'new');
    assert.equal(renamed.id, row.id);
    assert.equal(typeof renamed.updatedAt, 'number');
    assert.deepEqual(await client.rpc.clearCompleted(), { deleted: 1 });
    await assert.rejects(client.rpc.nope(), { status: 404, code: 'not_found' });
  });
});
