// Realtime under the real runtime: the WebSocket upgrade and its authentication, delivery of every
// change exactly once and in order to every socket of the user (and no other), replay with
// ?since=, calls over the socket and over POST /api/rpc, and sockets closed when their session ends.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ALLOWED_ORIGIN, EVIL_ORIGIN, PASSWORD, accessClaims, call, expectStatus, jwtClaims, login, newUser, sidOf, signJwt, unsignedJwt,
} from '../lib/api.mjs';
import { openSocket, socketFor, ticketFor, tryUpgrade } from '../lib/ws.mjs';

const put = async (token, key, value) => expectStatus(await call('PUT', `/api/kv/${encodeURIComponent(key)}`, { token, json: value }), 200);
const todo = async (token, title) => expectStatus(await call('POST', '/api/tables/todos', { token, json: { title } }), 201).json.row;

describe('realtime', () => {
  test('the upgrade needs a ticket or a live token: anything else is 401 without an upgrade', async () => {
    const u = await newUser({ tag: 'ws-auth' });
    const claims = jwtClaims(u.token);
    const refused = async (query, headers, code) => {
      const res = await tryUpgrade(`/api/ws${query}`, headers);
      assert.notEqual(res.status, 101, `upgraded: ${query}`);
      expectStatus(res, code === 'csrf_rejected' ? 403 : 401, code);
    };
    await refused('', {}, 'unauthenticated');
    await refused('', { authorization: `Bearer ${unsignedJwt(accessClaims(claims.sub, claims.sid))}` }, 'invalid_token');
    await refused('', { authorization: `Bearer ${signJwt(accessClaims(claims.sub, claims.sid), { secret: 'x'.repeat(40) })}` }, 'invalid_token');
    await refused('?ticket=uwt.nope', {}, 'invalid_token');
    await refused(`?ticket=${encodeURIComponent(u.refreshToken)}`, {}, 'invalid_token');
    const ticket = await ticketFor(u.token);
    const forged = ticket.slice(0, -4) + (ticket.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    await refused(`?ticket=${encodeURIComponent(forged)}`, {}, 'invalid_token');
    // The real ticket works once.
    assert.equal((await tryUpgrade(`/api/ws?ticket=${encodeURIComponent(ticket)}`)).status, 101);
    await refused(`?ticket=${encodeURIComponent(ticket)}`, {}, 'invalid_token');
    // Tokens: a bearer header works; the cookie only from an allowed origin.
    assert.equal((await tryUpgrade('/api/ws', { authorization: `Bearer ${u.token}` })).status, 101);
    assert.equal((await tryUpgrade('/api/ws', { cookie: `token=${u.token}`, origin: ALLOWED_ORIGIN })).status, 101);
    await refused('', { cookie: `token=${u.token}`, origin: EVIL_ORIGIN }, 'csrf_rejected');
    await refused('', { cookie: `token=${u.token}` }, 'csrf_rejected');
    // Without an upgrade, GET /api/ws is 426.
    expectStatus(await call('GET', '/api/ws', { token: u.token }), 426, 'upgrade_required');
    // A ticket outlives nothing: after logout neither the token nor a ticket of that session opens a socket.
    const late = await ticketFor(u.token);
    expectStatus(await call('POST', '/api/logout', { token: u.token }), 200);
    await refused('', { authorization: `Bearer ${u.token}` }, 'session_revoked');
    await refused(`?ticket=${encodeURIComponent(late)}`, {}, 'session_revoked');
    expectStatus(await call('POST', '/api/ws/ticket', { token: u.token }), 401, 'session_revoked');
  });

  test('every change reaches every socket of the user exactly once, in order, and no other user', async () => {
    const a = await newUser({ tag: 'ws-a' });
    const b = await newUser({ tag: 'ws-b' });
    const a1 = await socketFor(a.token);
    const a2 = await openSocket('', { authorization: `Bearer ${a.token}` });
    const b1 = await socketFor(b.token);
    await put(a.token, 'color', 'blue');
    const row = await todo(a.token, 'walk');
    expectStatus(await call('PATCH', `/api/tables/todos/${row.id}`, { token: a.token, json: { done: true } }), 200);
    expectStatus(await call('DELETE', `/api/tables/todos/${row.id}`, { token: a.token }), 200);
    expectStatus(await call('DELETE', '/api/kv/color', { token: a.token }), 200);
    // Changes that change nothing send nothing.
    expectStatus(await call('DELETE', '/api/kv/never-set', { token: a.token }), 200);
    expectStatus(await call('POST', '/api/tables/todos', { token: a.token, json: { title: '' } }), 400);
    await put(a.token, 'last', 1);
    for (const socket of [a1, a2]) {
      const got = await socket.take(6);
      assert.deepEqual(got.map((m) => m.seq), [1, 2, 3, 4, 5, 6]);
      assert.deepEqual(got.map((m) => m.event), ['kv:color', 'table:todos', 'table:todos', 'table:todos', 'kv:color', 'kv:last']);
      for (const m of got) {
        assert.deepEqual(Object.keys(m).sort(), ['data', 'event', 'seq', 'ts']);
        assert.ok(Math.abs(m.ts - Date.now()) < 60_000);
      }
      assert.deepEqual(got[0].data, { op: 'put', key: 'color', value: 'blue' });
      assert.deepEqual(got[1].data, { op: 'create', id: row.id, row });
      assert.equal(got[2].data.op, 'update');
      assert.equal(got[2].data.row.done, true);
      assert.deepEqual(got[3].data, { op: 'delete', id: row.id });
      assert.deepEqual(got[4].data, { op: 'delete', key: 'color' });
      assert.deepEqual(socket.pending(), [], 'nothing twice');
    }
    // B heard nothing of A: its first message is its own first change.
    await put(b.token, 'mine', true);
    const first = await b1.next();
    assert.equal(first.seq, 1);
    assert.equal(first.event, 'kv:mine');
    assert.deepEqual(b1.pending(), []);
    await Promise.all([a1.close(), a2.close(), b1.close()]);
  });

  test('?since=S replays what was missed, in order; a seq the server does not hold asks for resync', async () => {
    const u = await newUser({ tag: 'ws-since' });
    for (let i = 1; i <= 5; i++) await put(u.token, `k${i}`, i);
    const resumed = await socketFor(u.token, 2);
    assert.deepEqual((await resumed.take(3)).map((m) => [m.seq, m.event]), [[3, 'kv:k3'], [4, 'kv:k4'], [5, 'kv:k5']]);
    // Then live events follow on, with no gap and no repeat.
    await put(u.token, 'k6', 6);
    assert.equal((await resumed.next()).seq, 6);
    assert.deepEqual(resumed.pending(), []);
    const all = await socketFor(u.token, 0);
    assert.deepEqual((await all.take(6)).map((m) => m.seq), [1, 2, 3, 4, 5, 6]);
    const current = await socketFor(u.token, 6);
    const future = await socketFor(u.token, 99);
    assert.deepEqual(await future.next(), { event: 'resync', seq: 6 });
    await put(u.token, 'k7', 7);
    for (const s of [resumed, all, current, future]) assert.equal((await s.next()).seq, 7);
    for (const s of [resumed, all, current, future]) assert.deepEqual(s.pending(), []);
    const bad = await tryUpgrade(`/api/ws?since=-1`, { authorization: `Bearer ${u.token}` });
    expectStatus(bad, 400, 'invalid_query');
    await Promise.all([resumed, all, current, future].map((s) => s.close()));
  });

  test('frames call the application; bad frames get an error and the socket stays open; ping gets pong', async () => {
    const u = await newUser({ tag: 'ws-rpc' });
    const done = await todo(u.token, 'old');
    expectStatus(await call('PATCH', `/api/tables/todos/${done.id}`, { token: u.token, json: { done: true } }), 200);
    const keep = await todo(u.token, 'keep');
    const s = await socketFor(u.token, 3);
    s.send('ping');
    assert.equal(await s.next(), 'pong');
    s.send('{not json');
    const err = await s.next();
    assert.equal(err.error.code, 'invalid_json');
    assert.equal(err.id, null);
    const unknown = await s.call('noSuchMethod', {});
    assert.equal(unknown.error.code, 'not_found');
    const badParams = await s.call('renameTodo', { id: keep.id });
    assert.equal(badParams.error.code, 'validation_failed');
    const invalid = await s.call('renameTodo', { id: keep.id, title: '' });
    assert.equal(invalid.error.code, 'validation_failed');
    assert.ok(invalid.error.details.title);
    const renamed = await s.call('renameTodo', { id: keep.id, title: 'kept' });
    assert.equal(renamed.result.title, 'kept');
    const cleared = await s.call('clearCompleted');
    assert.deepEqual(cleared.result, { deleted: 1 });
    // The calls' changes arrive as events too, in order.
    assert.deepEqual((await s.take(2)).map((m) => [m.seq, m.data.op]), [[4, 'update'], [5, 'delete']]);
    assert.deepEqual(s.pending(), []);
    await s.close();
  });

  test('a frame over 1 MiB is refused before it is parsed; the socket and its object stay healthy', async () => {
    const u = await newUser({ tag: 'ws-big' });
    const s = await socketFor(u.token);
    // Valid JSON, one byte over the limit: refused by its size, not by its content.
    const frame = JSON.stringify({ id: 'big', method: 'clearCompleted', params: { pad: '' } });
    s.send(frame.replace('"pad":""', `"pad":"${'x'.repeat(1024 * 1024 + 1 - frame.length)}"`));
    const refused = await Promise.race([s.next(), s.closed.then((c) => ({ closed: c }))]);
    if (refused.closed) {
      assert.equal(refused.closed.code, 1009, JSON.stringify(refused));
    } else {
      assert.equal(refused.id, null, JSON.stringify(refused).slice(0, 300));
      assert.equal(refused.error.code, 'payload_too_large');
      // The same socket still answers.
      assert.deepEqual((await s.call('clearCompleted')).result, { deleted: 0 });
      await s.close();
    }
    // A new socket works, and so does the object over HTTP.
    const again = await socketFor(u.token);
    assert.deepEqual((await again.call('clearCompleted')).result, { deleted: 0 });
    await put(u.token, 'after', 1);
    assert.equal((await again.next()).event, 'kv:after');
    await again.close();
  });

  test('POST /api/rpc calls the application: result, unknown method 404, bad params 400', async () => {
    const u = await newUser({ tag: 'rpc' });
    const t = await todo(u.token, 'x');
    const rpc = (body) => call('POST', '/api/rpc', { token: u.token, json: body });
    assert.equal(expectStatus(await rpc({ method: 'renameTodo', params: { id: t.id, title: 'y' } }), 200).json.result.title, 'y');
    assert.deepEqual(expectStatus(await rpc({ method: 'clearCompleted' }), 200).json, { result: { deleted: 0 } });
    expectStatus(await rpc({ method: 'dropDatabase', params: {} }), 404, 'not_found');
    expectStatus(await rpc({ method: 'renameTodo', params: { id: t.id, title: 5 } }), 400, 'validation_failed');
    const both = expectStatus(await rpc({ method: 'renameTodo', params: { id: 7, title: 5 } }), 400, 'validation_failed');
    assert.deepEqual(Object.keys(both.json.error.details).sort(), ['params.id', 'params.title'], JSON.stringify(both.json));
    expectStatus(await rpc({ params: {} }), 400, 'validation_failed');
    expectStatus(await rpc({ method: 'renameTodo', params: { id: 'missing', title: 'z' } }), 404, 'not_found');
    expectStatus(await call('POST', '/api/rpc', { json: { method: 'clearCompleted' } }), 401, 'unauthenticated');
    expectStatus(await call('POST', '/api/rpc', { cookie: `token=${u.token}`, origin: EVIL_ORIGIN, json: { method: 'clearCompleted' } }), 403, 'csrf_rejected');
  });

  test("ending a session closes that session's sockets and only those", async () => {
    // Logout, revocation, password change, password reset and account deletion each end sessions.
    // The closes are awaited together at the end: locally the client's close event comes about
    // 10 s after the close frame (when workerd drops the idle object's connection).
    const u = await newUser({ tag: 'ws-close' });
    const [b, c, d] = [await login(u.email), await login(u.email), await login(u.email)];
    const byLogout = await socketFor(u.token);
    const byRevoke = await socketFor(b.token);
    const byChange = await socketFor(c.token);
    const survivor = await socketFor(d.token);
    expectStatus(await call('POST', '/api/logout', { token: u.token }), 200);
    expectStatus(await call('DELETE', `/api/sessions/${sidOf(b.token)}`, { token: d.token }), 200);
    const newPassword = 'another long password';
    expectStatus(await call('POST', '/api/password/change', { token: d.token, json: { currentPassword: PASSWORD, newPassword } }), 200);
    // The session that changed the password lives on, and its socket still hears changes.
    await put(d.token, 'still', 'here');
    assert.equal((await survivor.next()).event, 'kv:still');
    // A password reset ends every session, the survivor's too.
    expectStatus(await call('POST', '/api/password-reset/request', { json: { email: u.email } }), 202);
    const outbox = expectStatus(await call('GET', `/api/dev/outbox?email=${encodeURIComponent(u.email)}`), 200).json.messages;
    const token = outbox.at(-1).token;
    expectStatus(await call('POST', '/api/password-reset/confirm', { json: { token, newPassword: PASSWORD } }), 200);
    // Deleting the account ends the sessions made after that too.
    const e = await login(u.email);
    const byDeletion = await socketFor(e.token);
    expectStatus(await call('DELETE', '/api/account', { token: e.token, json: { password: PASSWORD } }), 200);
    const closes = await Promise.all([byLogout, byRevoke, byChange, survivor, byDeletion].map((s) => s.closed));
    assert.deepEqual(closes.map((x) => x.code), [4001, 4001, 4001, 4001, 4001]);
    assert.deepEqual(survivor.pending(), []);
  });
});
