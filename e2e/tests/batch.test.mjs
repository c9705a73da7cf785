// POST /api/tables/{table}/batch: 1 to 1000 rows validated together and written in one
// transaction, one change event per row in order; one bad row writes none.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { call, expectFieldError, expectStatus, newUser } from '../lib/api.mjs';
import { socketFor } from '../lib/ws.mjs';

const BATCH = '/api/tables/todos/batch';
const batch = (token, body) => call('POST', BATCH, { token, json: body });
const count = async (token) => expectStatus(await call('GET', '/api/tables/todos?limit=1', { token }), 200).json.count;

describe('batch insert', () => {
  test('1000 rows in one request: all stored in order, each with its own event', async () => {
    const u = await newUser({ tag: 'batch' });
    const live = await socketFor(u.token);
    const rows = Array.from({ length: 1000 }, (_, i) => ({ title: `todo ${i}`, done: i % 2 === 0 }));
    const res = expectStatus(await batch(u.token, { rows }), 201);
    assert.deepEqual(Object.keys(res.json), ['rows']);
    assert.equal(res.json.rows.length, 1000);
    res.json.rows.forEach((row, i) => {
      assert.equal(row.title, `todo ${i}`);
      assert.equal(row.done, i % 2 === 0);
      assert.match(row.id, /^[0-9a-f]{32}$/);
    });
    assert.equal(new Set(res.json.rows.map((r) => r.id)).size, 1000);
    assert.equal(await count(u.token), 1000);
    const one = res.json.rows[517];
    assert.deepEqual(expectStatus(await call('GET', `/api/tables/todos/${one.id}`, { token: u.token }), 200).json, { row: one });
    const events = await live.take(1000);
    events.forEach((e, i) => {
      assert.equal(e.seq, i + 1);
      assert.equal(e.event, 'table:todos');
      assert.deepEqual(e.data, { op: 'create', id: res.json.rows[i].id, row: res.json.rows[i] });
    });
    await live.close();
  });

  test('one bad row writes none, and every bad field of every row is listed', async () => {
    const u = await newUser({ tag: 'batch-bad' });
    expectStatus(await batch(u.token, { rows: [{ title: 'kept' }] }), 201);
    const res = await batch(u.token, { rows: [{ title: 'fine' }, { title: '', done: 'no' }, 'not a row', { title: 'x', id: 'mine' }] });
    for (const field of ['rows[1].title', 'rows[1].done', 'rows[2]', 'rows[3].id']) expectFieldError(res, field);
    assert.equal(Object.keys(res.json.error.details).length, 4);
    assert.equal(await count(u.token), 1);
    // No event was appended: the next write is seq 2.
    const put = expectStatus(await batch(u.token, { rows: [{ title: 'next' }] }), 201);
    const replay = await socketFor(u.token, 1);
    const next = await replay.next();
    assert.equal(next.seq, 2);
    assert.equal(next.data.id, put.json.rows[0].id);
    await replay.close();
  });

  test('the body: {rows} of 1 to 1000, JSON, on a writable table the caller may reach', async () => {
    const u = await newUser({ tag: 'batch-shape' });
    expectFieldError(await batch(u.token, { rows: [] }), 'rows');
    expectFieldError(await batch(u.token, { rows: Array.from({ length: 1001 }, () => ({ title: 'x' })) }), 'rows');
    expectFieldError(await batch(u.token, { rows: 'many' }), 'rows');
    expectFieldError(await batch(u.token, {}), 'rows');
    expectStatus(await batch(u.token, [{ title: 'x' }]), 400, 'invalid_json');
    expectStatus(await call('POST', BATCH, { token: u.token, raw: '{"rows": [', headers: { 'content-type': 'application/json' } }), 400, 'invalid_json');
    expectStatus(await call('POST', '/api/tables/visits/batch', { token: u.token, json: { rows: [{ path: '/x' }] } }), 403, 'forbidden');
    expectStatus(await call('POST', '/api/tables/nope/batch', { token: u.token, json: { rows: [{ title: 'x' }] } }), 404, 'not_found');
    expectStatus(await call('POST', BATCH, { json: { rows: [{ title: 'x' }] } }), 401, 'unauthenticated');
    // Up to 4 MiB it goes through (three rows of 1,000,000 characters each).
    const large = expectStatus(await batch(u.token, { rows: Array.from({ length: 3 }, (_, i) => ({ title: `big ${i}`, pad: 'z'.repeat(1_000_000) })) }), 400);
    expectFieldError(large, 'rows[0].pad');
    // Over 4 MiB: refused before parsing.
    const big = { rows: Array.from({ length: 5 }, () => ({ title: 'x', pad: 'y'.repeat(1024 * 1024) })) };
    expectStatus(await batch(u.token, big), 413, 'payload_too_large');
    // GET on .../batch is still the row with that id (there is none).
    expectStatus(await call('GET', BATCH, { token: u.token }), 404, 'not_found');
    assert.equal(await count(u.token), 0);
  });
});

describe('the list count', () => {
  test('counts up to 10,000 matches; beyond, count is 10,000 and countCapped is true', async () => {
    const u = await newUser({ tag: 'count-cap' });
    for (let b = 0; b < 10; b++) {
      const rows = Array.from({ length: 1000 }, (_, i) => ({ title: `t${b * 1000 + i}`, done: i < 100 }));
      expectStatus(await batch(u.token, { rows }), 201);
    }
    const at = async (query) => expectStatus(await call('GET', `/api/tables/todos${query}`, { token: u.token }), 200).json;
    // Exactly 10,000: exact, and no countCapped key.
    const full = await at('?limit=1');
    assert.equal(full.count, 10_000);
    assert.deepEqual(Object.keys(full).sort(), ['count', 'rows']);
    const extra = expectStatus(await batch(u.token, { rows: [{ title: 'one more' }] }), 201).json.rows[0];
    const capped = await at('?limit=2');
    assert.equal(capped.count, 10_000);
    assert.equal(capped.countCapped, true);
    assert.equal(capped.rows.length, 2);
    // A filter with fewer matches is counted exactly.
    const done = await at('?where=done:eq:true&limit=1');
    assert.equal(done.count, 1000);
    assert.equal('countCapped' in done, false);
    expectStatus(await call('DELETE', `/api/tables/todos/${extra.id}`, { token: u.token }), 200);
    assert.equal('countCapped' in (await at('?limit=1')), false);
  });
});
