// The table endpoints of API.md against the default worker's `todos` (read-write) and `visits`
// (read-only) tables: every endpoint, its failures, query operators, isolation between users, and
// one injection attempt per identifier position of a query.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ALLOWED_ORIGIN, EVIL_ORIGIN, PASSWORD, call, expectFieldError, expectStatus, newUser,
} from '../lib/api.mjs';

const KiB = 1024;
const TODOS = '/api/tables/todos';
const create = (token, body) => call('POST', TODOS, { token, json: body });
const list = (token, query = '') => call('GET', `${TODOS}${query}`, { token });
const titles = (res) => res.json.rows.map((r) => r.title);
const q = (...pairs) => `?${pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`;

async function userWithTodos(tag, todos) {
  const u = await newUser({ tag });
  const rows = [];
  for (const t of todos) rows.push(expectStatus(await create(u.token, t), 201).json.row);
  return { ...u, rows };
}

describe('tables', () => {
  test('create, read, update and delete a todo', async () => {
    const u = await newUser({ tag: 'crud' });
    const before = Date.now();
    const created = expectStatus(await create(u.token, { title: 'buy milk' }), 201);
    const row = created.json.row;
    assert.deepEqual(Object.keys(created.json), ['row']);
    assert.deepEqual(Object.keys(row).sort(), ['createdAt', 'done', 'id', 'title', 'updatedAt']);
    assert.equal(row.title, 'buy milk');
    assert.equal(row.done, false, 'done defaults to false');
    assert.match(row.id, /^[0-9a-f]{32}$/);
    assert.ok(Math.abs(row.createdAt - before) < 60_000 && row.updatedAt === row.createdAt);

    assert.deepEqual(expectStatus(await call('GET', `${TODOS}/${row.id}`, { token: u.token }), 200).json, { row });

    const patched = expectStatus(await call('PATCH', `${TODOS}/${row.id}`, { token: u.token, json: { done: true } }), 200).json.row;
    assert.equal(patched.done, true);
    assert.equal(patched.title, 'buy milk', 'a partial update keeps the other fields');
    assert.equal(patched.createdAt, row.createdAt);
    assert.ok(patched.updatedAt >= row.updatedAt);
    assert.deepEqual(expectStatus(await call('GET', `${TODOS}/${row.id}`, { token: u.token }), 200).json.row, patched);

    assert.deepEqual(expectStatus(await call('DELETE', `${TODOS}/${row.id}`, { token: u.token }), 200).json, { ok: true });
    expectStatus(await call('GET', `${TODOS}/${row.id}`, { token: u.token }), 404, 'not_found');
    expectStatus(await call('DELETE', `${TODOS}/${row.id}`, { token: u.token }), 404, 'not_found');
    expectStatus(await call('PATCH', `${TODOS}/${row.id}`, { token: u.token, json: { done: false } }), 404, 'not_found');
    assert.deepEqual(expectStatus(await list(u.token), 200).json, { rows: [], count: 0 });
  });

  test('rows that fail the schema are 400 validation_failed per field and change nothing', async () => {
    const u = await userWithTodos('invalid', [{ title: 'keep me' }]);
    const id = u.rows[0].id;
    expectFieldError(expectStatus(await create(u.token, {}), 400, 'validation_failed'), 'title');
    expectFieldError(expectStatus(await create(u.token, { title: '' }), 400, 'validation_failed'), 'title');
    expectFieldError(expectStatus(await create(u.token, { title: 'x'.repeat(201) }), 400, 'validation_failed'), 'title');
    expectStatus(await create(u.token, { title: 'x'.repeat(200) }), 201);
    expectFieldError(expectStatus(await create(u.token, { title: 5 }), 400, 'validation_failed'), 'title');
    expectFieldError(expectStatus(await create(u.token, { title: 'a', done: 'yes' }), 400, 'validation_failed'), 'done');
    expectFieldError(expectStatus(await create(u.token, { title: 'a', color: 'red' }), 400, 'validation_failed'), 'color');
    expectFieldError(expectStatus(await create(u.token, { title: 'a', id: 'mine' }), 400, 'validation_failed'), 'id');
    expectStatus(await create(u.token, [{ title: 'a' }]), 400, 'invalid_json');
    expectStatus(await call('POST', TODOS, { token: u.token, raw: '{"title":', headers: { 'content-type': 'application/json' } }), 400, 'invalid_json');
    expectStatus(await call('POST', TODOS, { token: u.token, raw: '{"title":"a"}', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
    expectStatus(await call('POST', TODOS, { token: u.token, json: { title: 'x'.repeat(2 * KiB * KiB) }, retryReset: 2 }), 413, 'payload_too_large');

    const patch = (body) => call('PATCH', `${TODOS}/${id}`, { token: u.token, json: body });
    expectFieldError(expectStatus(await patch({ title: '' }), 400, 'validation_failed'), 'title');
    expectFieldError(expectStatus(await patch({ title: null }), 400, 'validation_failed'), 'title');
    expectFieldError(expectStatus(await patch({ createdAt: 1 }), 400, 'validation_failed'), 'createdAt');
    expectStatus(await patch('done'), 400, 'invalid_json');
    const after = expectStatus(await call('GET', `${TODOS}/${id}`, { token: u.token }), 200).json.row;
    assert.deepEqual(after, u.rows[0], 'nothing changed');
    assert.equal(expectStatus(await list(u.token), 200).json.count, 2);
  });

  test('a body with a wrong type in one field and a broken rule in another lists both at once', async () => {
    const u = await newUser({ tag: 'allfields' });
    const res = expectStatus(await create(u.token, { title: '', done: 'yes' }), 400, 'validation_failed');
    const details = res.json.error.details;
    assert.deepEqual(Object.keys(details).sort(), ['done', 'title'], JSON.stringify(details));
    assert.match(details.done[0], /must be a boolean/);
    assert.match(details.title[0], /1 to 200 characters/);
    const both = expectStatus(await create(u.token, { title: 5, done: 'no', color: 'red' }), 400, 'validation_failed');
    assert.deepEqual(Object.keys(both.json.error.details).sort(), ['color', 'done', 'title']);
    assert.equal(expectStatus(await list(u.token), 200).json.count, 0, 'nothing was written');
  });

  test('every operator filters, orderBy sorts both ways, limit and offset page, count counts all matches', async () => {
    const u = await userWithTodos('ops', [
      { title: 'apple' }, { title: 'banana', done: true }, { title: 'cherry' }, { title: 'apricot', done: true }, { title: 'Avocado' },
    ]);
    const get = async (...pairs) => expectStatus(await list(u.token, q(...pairs)), 200);
    assert.deepEqual(titles(await get()), ['apple', 'banana', 'cherry', 'apricot', 'Avocado'], 'creation order by default');
    assert.deepEqual(titles(await get(['where', 'done:eq:true'])), ['banana', 'apricot']);
    assert.deepEqual(titles(await get(['where', 'done:ne:true'])), ['apple', 'cherry', 'Avocado']);
    assert.deepEqual(titles(await get(['where', 'title:gt:banana'])), ['cherry']);
    assert.deepEqual(titles(await get(['where', 'title:gte:banana'])), ['banana', 'cherry']);
    assert.deepEqual(titles(await get(['where', 'title:lt:apricot'])), ['apple', 'Avocado']);
    assert.deepEqual(titles(await get(['where', 'title:lte:apricot'])), ['apple', 'apricot', 'Avocado']);
    assert.deepEqual(titles(await get(['where', 'title:in:cherry,apple,nope'])), ['apple', 'cherry']);
    assert.deepEqual(titles(await get(['where', 'title:in:["cherry","a,b"]'])), ['cherry'], 'in takes a JSON array');
    assert.deepEqual(titles(await get(['where', 'title:contains:an'])), ['banana']);
    assert.deepEqual(titles(await get(['where', 'title:startsWith:ap'])), ['apple', 'apricot'], 'case-sensitive');
    assert.deepEqual(titles(await get(['where', 'title:startsWith:ap'], ['where', 'done:eq:false'])), ['apple'], 'where repeats as AND');
    assert.deepEqual(titles(await get(['orderBy', 'title:asc'])), ['Avocado', 'apple', 'apricot', 'banana', 'cherry']);
    assert.deepEqual(titles(await get(['orderBy', 'title:desc'])), ['cherry', 'banana', 'apricot', 'apple', 'Avocado']);
    assert.deepEqual(titles(await get(['orderBy', 'done:desc'], ['orderBy', 'title:asc'])), ['apricot', 'banana', 'Avocado', 'apple', 'cherry']);
    assert.deepEqual(titles(await get(['orderBy', 'createdAt:desc'], ['limit', '2'])), ['Avocado', 'apricot']);
    const page = await get(['orderBy', 'title:asc'], ['limit', '2'], ['offset', '1']);
    assert.deepEqual(titles(page), ['apple', 'apricot']);
    assert.equal(page.json.count, 5, 'count is every match, not the page');
    assert.equal((await get(['where', 'done:eq:true'], ['limit', '1'])).json.count, 2);
    const id = u.rows[2].id;
    assert.deepEqual(titles(await get(['where', `id:eq:${id}`])), ['cherry']);
  });

  test('limit defaults to 100 and may not exceed 1000', async () => {
    const u = await newUser({ tag: 'limit' });
    await Promise.all(Array.from({ length: 101 }, (_, i) => create(u.token, { title: `t${i}` }).then((r) => expectStatus(r, 201))));
    const all = expectStatus(await list(u.token), 200).json;
    assert.equal(all.rows.length, 100);
    assert.equal(all.count, 101);
    assert.equal(expectStatus(await list(u.token, '?limit=1000'), 200).json.rows.length, 101);
    expectStatus(await list(u.token, '?limit=1001'), 400, 'invalid_query');
  });

  test('bad queries are 400 invalid_query: unknown field, operator, direction, parameter, value type', async () => {
    const u = await userWithTodos('badq', [{ title: 'x' }]);
    for (const query of [
      q(['where', 'color:eq:red']), q(['where', 'title:like:x']), q(['where', 'title']), q(['where', 'done:eq:maybe']),
      q(['where', 'done:gt:true']), q(['where', 'createdAt:gt:yesterday']), q(['where', 'done:contains:t']),
      q(['orderBy', 'color:asc']), q(['orderBy', 'title:up']), q(['limit', '-1']), q(['limit', 'ten']), q(['offset', '1.5']),
      q(['sort', 'title']), q(['where', `title:in:${Array.from({ length: 101 }, (_, i) => i).join(',')}`]),
    ]) {
      const res = expectStatus(await list(u.token, query), 400, 'invalid_query');
      assert.ok(!/SELECT|json_extract|sqlite/i.test(res.text), `no SQL in the answer: ${res.text}`);
    }
  });

  test('injection through each identifier position is refused and harms nothing', async () => {
    const u = await userWithTodos('inject', [{ title: 'survivor' }, { title: "o'brien" }]);
    const payload = "title') IS NULL; DROP TABLE _userdo_table_todos; --";
    for (const query of [
      q(['where', `${payload}:eq:x`]), // field
      q(['orderBy', `${payload}:asc`]), // order field
      q(['where', `title:eq) OR 1=1 --:x`]), // operator
      q(['orderBy', 'title:asc; DROP TABLE _userdo_table_todos']), // direction
      q(['limit', '1; DROP TABLE _userdo_table_todos']), // limit
      q(['offset', '0 UNION SELECT 1']), // offset
    ]) {
      expectStatus(await list(u.token, query), 400, 'invalid_query');
    }
    // A hostile value is bound, so it matches only itself.
    assert.deepEqual(titles(expectStatus(await list(u.token, q(['where', `title:eq:${payload}`])), 200)), []);
    assert.deepEqual(titles(expectStatus(await list(u.token, q(['where', "title:eq:o'brien"])), 200)), ["o'brien"]);
    assert.deepEqual(titles(expectStatus(await list(u.token, q(['where', 'title:contains:%'])), 200)), []);
    assert.deepEqual(titles(expectStatus(await list(u.token), 200)), ['survivor', "o'brien"]);
  });

  test('unknown and undeclared tables are 404; other methods are 405; the read-only table refuses writes', async () => {
    const u = await newUser({ tag: 'access' });
    expectStatus(await call('GET', '/api/tables/nope', { token: u.token }), 404, 'not_found');
    expectStatus(await call('POST', '/api/tables/_userdo_account', { token: u.token, json: {} }), 404, 'not_found');
    expectStatus(await call('GET', '/api/tables/todos/a/b', { token: u.token }), 404, 'not_found');
    expectStatus(await call('PUT', TODOS, { token: u.token, json: {} }), 405, 'method_not_allowed');

    // visits: written by the application, read by the user.
    assert.deepEqual(expectStatus(await call('POST', '/api/visits', { token: u.token }), 200).json, { visits: 1 });
    const visits = expectStatus(await call('GET', '/api/tables/visits', { token: u.token }), 200).json;
    assert.equal(visits.count, 1);
    assert.equal(visits.rows[0].path, '/api/visits');
    const id = visits.rows[0].id;
    assert.equal(expectStatus(await call('GET', `/api/tables/visits/${id}`, { token: u.token }), 200).json.row.id, id);
    expectStatus(await call('POST', '/api/tables/visits', { token: u.token, json: { path: '/x' } }), 403, 'forbidden');
    expectStatus(await call('PATCH', `/api/tables/visits/${id}`, { token: u.token, json: { path: '/x' } }), 403, 'forbidden');
    expectStatus(await call('DELETE', `/api/tables/visits/${id}`, { token: u.token }), 403, 'forbidden');
    assert.deepEqual(expectStatus(await call('GET', '/api/tables/visits', { token: u.token }), 200).json.rows, visits.rows);
  });

  test("one user's rows are invisible and untouchable to another", async () => {
    const a = await userWithTodos('isoA', [{ title: 'secret plan' }]);
    const b = await newUser({ tag: 'isoB' });
    const id = a.rows[0].id;
    assert.deepEqual(expectStatus(await list(b.token), 200).json, { rows: [], count: 0 });
    expectStatus(await call('GET', `${TODOS}/${id}`, { token: b.token }), 404, 'not_found');
    expectStatus(await call('PATCH', `${TODOS}/${id}`, { token: b.token, json: { done: true } }), 404, 'not_found');
    expectStatus(await call('DELETE', `${TODOS}/${id}`, { token: b.token }), 404, 'not_found');
    assert.deepEqual(expectStatus(await call('GET', `${TODOS}/${id}`, { token: a.token }), 200).json.row, a.rows[0]);
  });

  test('tables need a live session, and cookie-authenticated writes need an allowed Origin', async () => {
    const u = await userWithTodos('tauth', [{ title: 'x' }]);
    expectStatus(await call('GET', TODOS), 401, 'unauthenticated');
    expectStatus(await call('POST', TODOS, { json: { title: 'x' } }), 401, 'unauthenticated');
    expectStatus(await call('GET', TODOS, { token: 'not-a-token' }), 401, 'invalid_token');
    const cookie = `token=${u.token}`;
    assert.equal(expectStatus(await call('GET', TODOS, { cookie }), 200).json.count, 1);
    expectStatus(await call('POST', TODOS, { cookie, json: { title: 'csrf' } }), 403, 'csrf_rejected');
    expectStatus(await call('POST', TODOS, { cookie, origin: EVIL_ORIGIN, json: { title: 'csrf' } }), 403, 'csrf_rejected');
    expectStatus(await call('DELETE', `${TODOS}/${u.rows[0].id}`, { cookie, origin: EVIL_ORIGIN }), 403, 'csrf_rejected');
    expectStatus(await call('POST', TODOS, { cookie, origin: ALLOWED_ORIGIN, json: { title: 'ok' } }), 201);
    assert.equal(expectStatus(await list(u.token), 200).json.count, 2);
    expectStatus(await call('POST', '/api/logout', { token: u.token }), 200);
    expectStatus(await list(u.token), 401, 'session_revoked');
  });

  test('deleting the account erases the rows: a new signup with that email starts empty', async () => {
    const u = await userWithTodos('erase', [{ title: 'old life' }]);
    expectStatus(await call('DELETE', '/api/account', { token: u.token, json: { password: PASSWORD } }), 200);
    const again = await newUser({ email: u.email });
    assert.deepEqual(expectStatus(await list(again.token), 200).json, { rows: [], count: 0 });
    expectStatus(await call('GET', `${TODOS}/${u.rows[0].id}`, { token: again.token }), 404, 'not_found');
    expectStatus(await create(again.token, { title: 'new life' }), 201);
  });
});
