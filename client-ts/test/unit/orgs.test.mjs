// Organizations against fakes: client.orgs's methods and paths, client.org(id)'s collections over
// /api/orgs/{id}/tables and its methods (rpc), and its own realtime feed (ticket, since, members events, resync), which
// stops for good when access ends (close code 4003, a ticket refused with 404, or the news of
// one's own removal).
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { ACCESS_ENDED, BASELINE_SINCE, Org, UserDoClient, UserDoError } from '../../dist/index.js';
import { FakeSocket, FakeTimers, fakeFetch, flush, json } from './fakes.mjs';

const TOKENS = { token: 'access-1', refreshToken: 'urt.refresh-1' };
const ORG = '0123456789abcdef0123456789abcdef';
const USER = { id: 'user-me', email: 'me@example.com', emailVerified: false, createdAt: 1 };
const orgView = (over = {}) => ({ id: ORG, name: 'Team', createdAt: 1, role: 'owner', ...over });
const member = (over = {}) => ({ userId: 'u2', email: 'b@example.com', role: 'member', joinedAt: 2, ...over });
const invitation = { id: 'inv1', email: 'b@example.com', role: 'member', createdAt: 1, expiresAt: 2 };
const note = (id, title = id) => ({ id, title, body: '', createdAt: 1, updatedAt: 1 });
const tableEvent = (seq, op, row) => ({ seq, event: 'table:notes', data: op === 'delete' ? { op, id: row.id } : { op, id: row.id, row }, ts: 1 });
const membersEvent = (seq, data) => ({ seq, event: 'members', data, ts: 1 });

/**
 * A worker for the organization endpoints: answers by method and path, records every call, and
 * hands out tickets; `refuse` makes ticket requests fail with that status.
 */
function setup({ tokens = TOKENS, answers = {} } = {}) {
  const timers = new FakeTimers();
  const state = { tickets: 0, orgTickets: 0, refuse: null };
  const { fetch, calls } = fakeFetch((call) => {
    const key = `${call.method} ${call.path}`;
    if (key in answers) {
      const [status, body] = answers[key];
      return json(status, body);
    }
    if (key === 'POST /api/ws/ticket') return json(200, { ticket: `uwt.${++state.tickets}` });
    if (/^POST \/api\/orgs\/[^/]+\/ws\/ticket$/.test(key)) {
      if (state.refuse) return json(state.refuse, { error: { code: state.refuse === 404 ? 'not_found' : 'internal', message: 'no' } });
      return json(200, { ticket: `owt.${++state.orgTickets}` });
    }
    if (key === 'GET /api/me') return json(200, { user: USER });
    return json(404, { error: { code: 'not_found', message: `no answer for ${key}` } });
  });
  // No heartbeat: a fake socket never answers a ping, and the tests advance the clock by minutes.
  const client = new UserDoClient('http://worker.test/', { fetch, WebSocket: FakeSocket, timers, random: () => 0.5, heartbeatMs: 0, ...(tokens ? { tokens } : {}) });
  return { client, timers, calls, state };
}

const orgSockets = () => FakeSocket.all.filter((s) => new URL(s.url).pathname.startsWith('/api/orgs/'));
const userSockets = () => FakeSocket.all.filter((s) => new URL(s.url).pathname === '/api/ws');

describe('client.orgs (fakes)', () => {
  test('each method calls its endpoint (method, path, body) and answers the unwrapped value', async () => {
    const answers = {
      'POST /api/orgs': [201, { org: orgView() }],
      'GET /api/orgs': [200, { orgs: [orgView(), orgView({ id: 'b'.repeat(32), role: 'member' })] }],
      [`GET /api/orgs/${ORG}`]: [200, { org: orgView() }],
      [`PATCH /api/orgs/${ORG}`]: [200, { org: orgView({ name: 'Renamed' }) }],
      [`DELETE /api/orgs/${ORG}`]: [200, { ok: true }],
      [`GET /api/orgs/${ORG}/members`]: [200, { members: [member({ userId: 'user-me', role: 'owner' }), member()] }],
      [`PATCH /api/orgs/${ORG}/members/u2`]: [200, { member: member({ role: 'admin' }) }],
      [`DELETE /api/orgs/${ORG}/members/u2`]: [200, { ok: true }],
      [`DELETE /api/orgs/${ORG}/members/user-me`]: [200, { ok: true }],
      [`POST /api/orgs/${ORG}/invitations`]: [201, { invitation }],
      [`GET /api/orgs/${ORG}/invitations`]: [200, { invitations: [invitation] }],
      [`DELETE /api/orgs/${ORG}/invitations/inv1`]: [200, { ok: true }],
      'POST /api/invitations/accept': [200, { org: orgView({ role: 'member' }) }],
    };
    const { client, calls } = setup({ answers });
    assert.deepEqual(await client.orgs.create('Team'), orgView());
    assert.deepEqual((await client.orgs.list()).map((o) => o.role), ['owner', 'member']);
    assert.deepEqual(await client.orgs.get(ORG), orgView());
    assert.equal((await client.orgs.rename(ORG, 'Renamed')).name, 'Renamed');
    assert.equal(await client.orgs.delete(ORG), undefined);
    assert.equal((await client.orgs.members(ORG)).length, 2);
    assert.equal((await client.orgs.setRole(ORG, 'u2', 'admin')).role, 'admin');
    assert.equal(await client.orgs.removeMember(ORG, 'u2'), undefined);
    assert.deepEqual(await client.orgs.invite(ORG, 'b@example.com'), invitation);
    await client.orgs.invite(ORG, 'c@example.com', 'admin');
    assert.deepEqual(await client.orgs.invitations(ORG), [invitation]);
    assert.equal(await client.orgs.revokeInvitation(ORG, 'inv1'), undefined);
    assert.equal((await client.orgs.accept('oit.token')).role, 'member');
    // leave(): the caller's own member entry; its id asked from /api/me when not known.
    assert.equal(await client.orgs.leave(ORG), undefined);
    const sent = calls.map((c) => [c.method, c.path, c.body]);
    assert.deepEqual(sent, [
      ['POST', '/api/orgs', { name: 'Team' }],
      ['GET', '/api/orgs', undefined],
      ['GET', `/api/orgs/${ORG}`, undefined],
      ['PATCH', `/api/orgs/${ORG}`, { name: 'Renamed' }],
      ['DELETE', `/api/orgs/${ORG}`, undefined],
      ['GET', `/api/orgs/${ORG}/members`, undefined],
      ['PATCH', `/api/orgs/${ORG}/members/u2`, { role: 'admin' }],
      ['DELETE', `/api/orgs/${ORG}/members/u2`, undefined],
      ['POST', `/api/orgs/${ORG}/invitations`, { email: 'b@example.com', role: 'member' }],
      ['POST', `/api/orgs/${ORG}/invitations`, { email: 'c@example.com', role: 'admin' }],
      ['GET', `/api/orgs/${ORG}/invitations`, undefined],
      ['DELETE', `/api/orgs/${ORG}/invitations/inv1`, undefined],
      ['POST', '/api/invitations/accept', { token: 'oit.token' }],
      ['GET', '/api/me', undefined],
      ['DELETE', `/api/orgs/${ORG}/members/user-me`, undefined],
    ]);
    assert.ok(calls.every((c) => c.headers.authorization === 'Bearer access-1'), 'every call carries the access token');
  });

  test('ids are percent-encoded into their segment; get() of an organization one is not in is undefined; errors are UserDoError', async () => {
    const answers = {
      'GET /api/orgs/a%2Fb%3Fc': [404, { error: { code: 'not_found', message: 'no such organization' } }],
      [`DELETE /api/orgs/${ORG}/members/user-me`]: [409, { error: { code: 'conflict', message: 'the owner cannot leave' } }],
      [`POST /api/orgs/${ORG}/invitations`]: [403, { error: { code: 'forbidden', message: 'admins only' } }],
    };
    const { client, calls } = setup({ answers });
    assert.equal(await client.orgs.get('a/b?c'), undefined);
    assert.equal(calls[0].path, '/api/orgs/a%2Fb%3Fc');
    await assert.rejects(client.orgs.invite(ORG, 'x@example.com'), (e) => e instanceof UserDoError && e.status === 403 && e.code === 'forbidden');
    await assert.rejects(client.orgs.leave(ORG), (e) => e instanceof UserDoError && e.status === 409 && e.code === 'conflict');
    await assert.rejects(client.orgs.members('nope'), (e) => e instanceof UserDoError && e.status === 404);
  });

  test('leave() uses the id of the user who signed in, without asking /api/me', async () => {
    const answers = {
      'POST /api/login': [200, { user: USER, token: 'access-2', refreshToken: 'urt.2' }],
      [`DELETE /api/orgs/${ORG}/members/user-me`]: [200, { ok: true }],
    };
    const { client, calls } = setup({ tokens: null, answers });
    await client.login('me@example.com', 'correct horse battery');
    await client.orgs.leave(ORG);
    assert.deepEqual(calls.map((c) => `${c.method} ${c.path}`), ['POST /api/login', `DELETE /api/orgs/${ORG}/members/user-me`]);
  });
});

describe('client.org(id).collection and rpc (fakes)', () => {
  test("the collection API over the organization's tables, and its methods", async () => {
    const answers = {
      [`POST /api/orgs/${ORG}/tables/notes`]: [201, { row: note('n1', 'hello') }],
      [`POST /api/orgs/${ORG}/tables/notes/batch`]: [201, { rows: [note('n2'), note('n3')] }],
      [`GET /api/orgs/${ORG}/tables/notes/n1`]: [200, { row: note('n1', 'hello') }],
      [`GET /api/orgs/${ORG}/tables/notes/gone`]: [404, { error: { code: 'not_found', message: 'no such row' } }],
      [`PATCH /api/orgs/${ORG}/tables/notes/n1`]: [200, { row: { ...note('n1', 'hello'), body: 'world' } }],
      [`DELETE /api/orgs/${ORG}/tables/notes/n1`]: [403, { error: { code: 'forbidden', message: 'admins delete' } }],
      [`GET /api/orgs/${ORG}/tables/notes?where=title%3Aeq%3Aa%26b&orderBy=createdAt%3Adesc&limit=5`]: [200, { rows: [note('n1')], count: 1 }],
    };
    const { client, calls } = setup({ answers });
    const org = client.org(ORG);
    assert.ok(org instanceof Org);
    assert.equal(client.org(ORG), org, 'one handle per organization');
    assert.equal(org.id, ORG);
    const notes = org.collection('notes');
    assert.equal((await notes.create({ title: 'hello' })).title, 'hello');
    assert.deepEqual((await notes.createMany([{ title: 'n2' }, { title: 'n3' }])).map((r) => r.id), ['n2', 'n3']);
    assert.equal((await notes.get('n1')).id, 'n1');
    assert.equal(await notes.get('gone'), undefined);
    assert.equal((await notes.update('n1', { body: 'world' })).body, 'world');
    await assert.rejects(notes.delete('n1'), (e) => e instanceof UserDoError && e.code === 'forbidden');
    assert.deepEqual(await notes.query({ where: [['title', 'eq', 'a&b']], orderBy: [['createdAt', 'desc']], limit: 5 }), { rows: [note('n1')], count: 1 });
    assert.deepEqual(calls.map((c) => [c.method, c.path, c.body]), [
      ['POST', `/api/orgs/${ORG}/tables/notes`, { title: 'hello' }],
      ['POST', `/api/orgs/${ORG}/tables/notes/batch`, { rows: [{ title: 'n2' }, { title: 'n3' }] }],
      ['GET', `/api/orgs/${ORG}/tables/notes/n1`, undefined],
      ['GET', `/api/orgs/${ORG}/tables/notes/gone`, undefined],
      ['PATCH', `/api/orgs/${ORG}/tables/notes/n1`, { body: 'world' }],
      ['DELETE', `/api/orgs/${ORG}/tables/notes/n1`, undefined],
      ['GET', `/api/orgs/${ORG}/tables/notes?where=title%3Aeq%3Aa%26b&orderBy=createdAt%3Adesc&limit=5`, undefined],
    ]);
    // The organization's methods: POST /api/orgs/{id}/rpc, by proxy and by name.
    answers[`POST /api/orgs/${ORG}/rpc`] = [200, { result: { notes: 3, role: 'member' } }];
    assert.deepEqual(await org.rpc.noteStats(), { notes: 3, role: 'member' });
    assert.deepEqual(await org.call('clearNotes'), { notes: 3, role: 'member' });
    assert.deepEqual(calls.slice(-2).map((c) => [c.method, c.path, c.body]), [
      ['POST', `/api/orgs/${ORG}/rpc`, { method: 'noteStats' }],
      ['POST', `/api/orgs/${ORG}/rpc`, { method: 'clearNotes' }],
    ]);
    assert.equal(org.rpc.then, undefined, 'not a thenable');
    // The user's own tables are where they were.
    await client.collection('todos').get('t1').catch(() => {});
    assert.equal(calls.at(-1).path, '/api/tables/todos/t1');
  });
});

describe('client.org(id) realtime (fakes)', () => {
  beforeEach(() => FakeSocket.reset());

  test("its own socket: an organization ticket, a baseline, table and members events to the organization's listeners only", async () => {
    const { client, calls } = setup();
    const org = client.org(ORG);
    const notes = [];
    const members = [];
    const todos = [];
    org.collection('notes').onChange((c) => notes.push(c));
    org.onMembers((c) => members.push(c));
    client.collection('todos').onChange((c) => todos.push(c));
    await flush();
    assert.ok(calls.some((c) => c.method === 'POST' && c.path === `/api/orgs/${ORG}/ws/ticket`));
    const [s] = orgSockets();
    assert.equal(s.url, `ws://worker.test/api/orgs/${ORG}/ws?ticket=owt.1&since=${BASELINE_SINCE}`);
    assert.equal(userSockets().length, 1, 'the user feed is a socket of its own');
    s.open();
    assert.equal(org.realtime.status, 'open');
    s.message({ event: 'resync', seq: 7 });
    s.message(tableEvent(8, 'create', note('n1')));
    s.message(tableEvent(8, 'create', note('n1'))); // a repeat: dropped
    s.message(membersEvent(9, { op: 'add', userId: 'u2', role: 'member' }));
    s.message(membersEvent(10, { op: 'update', userId: 'u2', role: 'admin' }));
    s.message(tableEvent(11, 'delete', note('n1')));
    s.message(membersEvent(12, { op: 'remove', userId: 'u2' }));
    assert.deepEqual(notes, [
      { op: 'create', id: 'n1', row: note('n1'), seq: 8 },
      { op: 'delete', id: 'n1', seq: 11 },
    ]);
    assert.deepEqual(members, [
      { op: 'add', userId: 'u2', role: 'member', seq: 9 },
      { op: 'update', userId: 'u2', role: 'admin', seq: 10 },
      { op: 'remove', userId: 'u2', seq: 12 },
    ]);
    assert.deepEqual(todos, [], "the organization's events are not the user's");
    assert.equal(org.accessLost, false, "someone else's removal");
    // And the user's feed does not reach the organization's listeners.
    const u = userSockets()[0];
    u.open();
    u.message({ event: 'resync', seq: 0 });
    u.message({ seq: 1, event: 'table:notes', data: { op: 'create', id: 'x', row: note('x') }, ts: 1 });
    assert.equal(notes.length, 2);
  });

  test('after a drop it reconnects with a new organization ticket and since = the last seq; a resync reaches collections and members listeners', async () => {
    const { client, timers } = setup();
    const org = client.org(ORG);
    const got = [];
    org.collection('notes').onChange((c) => got.push(['notes', c.op]));
    org.onMembers((c) => got.push(['members', c.op]));
    await flush();
    let s = orgSockets().at(-1);
    s.open();
    s.message({ event: 'resync', seq: 0 });
    s.message(tableEvent(1, 'create', note('n1')));
    s.serverClose(1006);
    assert.equal(org.realtime.status, 'reconnecting');
    timers.advance(timers.delays.at(-1));
    await flush();
    s = orgSockets().at(-1);
    assert.equal(orgSockets().length, 2);
    assert.equal(s.since, '1');
    assert.match(s.url, /ticket=owt\.2/);
    s.open();
    s.message({ event: 'resync', seq: 40 });
    assert.deepEqual(got, [['notes', 'create'], ['notes', 'resync'], ['members', 'resync']]);
    assert.equal(org.realtime.lastSeq, 40);
  });

  test('close code 4003 ends access: onAccessLost once, status ended, no reconnect; the session and the user feed go on', async () => {
    const { client, timers } = setup();
    const org = client.org(ORG);
    let lost = 0;
    org.onAccessLost(() => lost++);
    org.collection('notes').onChange(() => {});
    client.onChange('k', () => {});
    await flush();
    const s = orgSockets()[0];
    s.open();
    s.message({ event: 'resync', seq: 3 });
    userSockets()[0].open();
    s.serverClose(ACCESS_ENDED);
    assert.equal(ACCESS_ENDED, 4003);
    assert.equal(lost, 1);
    assert.equal(org.accessLost, true);
    assert.equal(org.realtime.status, 'ended');
    const before = FakeSocket.all.length;
    timers.advance(120_000);
    await flush();
    assert.equal(FakeSocket.all.length, before, 'no reconnect of either feed');
    assert.equal(orgSockets().length, 1);
    assert.equal(client.signedIn, true, 'still signed in');
    assert.equal(client.realtime.status, 'open', "the user's feed is untouched");
    // Another listener does not reopen it, and unsubscribing does not turn 'ended' into 'idle'.
    const stop = org.onMembers(() => {});
    await flush();
    stop();
    assert.equal(orgSockets().length, 1);
    assert.equal(org.realtime.status, 'ended');
    assert.equal(lost, 1);
    // A new handle for the same id (after a new invitation, say) connects again.
    const again = client.org(ORG);
    assert.notEqual(again, org);
    again.onMembers(() => {});
    await flush();
    assert.equal(orgSockets().length, 2);
  });

  test('without the organization (a ticket refused with 404 while reconnecting) it stops and reports access lost', async () => {
    const { client, timers, state, calls } = setup();
    const org = client.org(ORG);
    let lost = 0;
    org.onAccessLost(() => lost++);
    org.collection('notes').onChange(() => {});
    await flush();
    orgSockets()[0].open();
    // The close frame never came (the network dropped); meanwhile the user was removed.
    state.refuse = 404;
    orgSockets()[0].serverClose(1006);
    timers.advance(timers.delays.at(-1));
    await flush();
    assert.equal(lost, 1);
    assert.equal(org.realtime.status, 'ended');
    const tickets = calls.filter((c) => c.path === `/api/orgs/${ORG}/ws/ticket`).length;
    timers.advance(120_000);
    await flush();
    assert.equal(calls.filter((c) => c.path === `/api/orgs/${ORG}/ws/ticket`).length, tickets, 'no more attempts');
    assert.equal(client.signedIn, true);
  });

  test('a ticket that fails otherwise (a 500) is retried, not taken for lost access', async () => {
    const { client, timers, state } = setup();
    const org = client.org(ORG);
    let lost = 0;
    org.onAccessLost(() => lost++);
    state.refuse = 500;
    org.onMembers(() => {});
    await flush();
    assert.equal(org.realtime.status, 'reconnecting');
    state.refuse = null;
    timers.advance(timers.delays.at(-1));
    await flush();
    assert.equal(orgSockets().length, 1);
    assert.equal(lost, 0);
  });

  test("the news of one's own removal ends access at once, before the 4003 close", async () => {
    const answers = { 'POST /api/login': [200, { user: USER, token: 'access-2', refreshToken: 'urt.2' }] };
    const { client, timers } = setup({ tokens: null, answers });
    await client.login('me@example.com', 'correct horse battery');
    const org = client.org(ORG);
    const events = [];
    org.onAccessLost(() => events.push('lost'));
    org.onMembers((c) => events.push(`${c.op} ${c.userId}`));
    await flush();
    const s = orgSockets()[0];
    s.open();
    s.message({ event: 'resync', seq: 1 });
    s.message(membersEvent(2, { op: 'remove', userId: 'someone-else' }));
    assert.equal(org.accessLost, false);
    s.message(membersEvent(3, { op: 'remove', userId: USER.id }));
    assert.deepEqual(events, ['remove someone-else', `remove ${USER.id}`, 'lost']);
    assert.equal(s.closedByClient, 1000);
    s.serverClose(ACCESS_ENDED); // the close that follows changes nothing
    timers.advance(120_000);
    await flush();
    assert.equal(orgSockets().length, 1);
    assert.deepEqual(events.filter((e) => e === 'lost'), ['lost']);
  });

  test('close code 4001 on an organization socket signs the client out and stops every feed', async () => {
    const { client, timers } = setup();
    const org = client.org(ORG);
    let lost = 0;
    org.onAccessLost(() => lost++);
    org.onMembers(() => {});
    client.onChange('k', () => {});
    await flush();
    orgSockets()[0].open();
    userSockets()[0].open();
    orgSockets()[0].serverClose(4001);
    assert.equal(client.signedIn, false);
    assert.equal(client.realtime.status, 'idle');
    assert.equal(userSockets()[0].closedByClient, 1000);
    assert.equal(lost, 0, 'the session ended; access to the organization did not');
    const before = FakeSocket.all.length;
    timers.advance(120_000);
    await flush();
    assert.equal(FakeSocket.all.length, before);
  });

  test('the socket opens with the first listener and closes with the last; it waits for a sign-in', async () => {
    const answers = { 'POST /api/login': [200, { user: USER, token: 'access-2', refreshToken: 'urt.2' }] };
    const { client } = setup({ tokens: null, answers });
    const org = client.org(ORG);
    const stop1 = org.collection('notes').onChange(() => {});
    await flush();
    assert.equal(orgSockets().length, 0, 'signed out: no socket');
    await client.login('me@example.com', 'correct horse battery');
    await flush();
    assert.equal(orgSockets().length, 1, 'signed in: it connects');
    const stop2 = org.onMembers(() => {});
    stop1();
    assert.equal(orgSockets()[0].closedByClient, null);
    stop2();
    assert.equal(orgSockets()[0].closedByClient, 1000);
    assert.equal(org.realtime.status, 'idle');
  });
});
