// The organization's change feed (GET /api/orgs/{org}/ws), black-box against API.md: frames of
// the same shape as the user's feed ({seq, event, data, ts}) with `table:notes` and `members`
// events, ?since= replay and resync, sockets closed with 4003 on removal and on deletion, a race
// of two admins on one member's role, and who may open the feed at all.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import {
  ALLOWED_ORIGIN, EVIL_ORIGIN, PASSWORD, call, expectStatus, newUser, uniqueEmail,
} from '../lib/api.mjs';
import { socketFor as userSocketFor } from '../lib/ws.mjs';
import {
  accept, assertConsecutive, assertFrame, closeSockets, closedWithin, createNote, createOrg, invite, myOrgs, openOrgSocket,
  openOrgSocketWith, orgPath, orgTicket, orgWithMembers, rolesOf, takeUntil, trackSocket, tryOrgUpgrade,
} from '../lib/orgs.mjs';

/** The user's own feed (/api/ws), closed after each test like the organization's sockets. */
const socketFor = async (token, since) => trackSocket(await userSocketFor(token, since));

const notes = (orgId, rest = '') => orgPath(orgId, `/tables/notes${rest}`);
const bearer = (u) => ({ authorization: `Bearer ${u.token}` });
const setRole = (by, orgId, target, role) => call('PATCH', orgPath(orgId, `/members/${target.user.id}`), { token: by.token, json: { role } });
const remove = (by, orgId, target) => call('DELETE', orgPath(orgId, `/members/${target.user.id}`), { token: by.token });
const isNote = (id) => (m) => m?.event === 'table:notes' && m.data?.id === id;

/** A `members` remove frame carries op and userId, and at most the role besides. */
function assertRemoved(frame, userId) {
  assertFrame(frame);
  assert.equal(frame.event, 'members', JSON.stringify(frame));
  assert.equal(frame.data.op, 'remove', JSON.stringify(frame));
  assert.equal(frame.data.userId, userId, JSON.stringify(frame));
  for (const k of Object.keys(frame.data)) assert.ok(['op', 'userId', 'role'].includes(k), `members data key ${k}: ${JSON.stringify(frame)}`);
}

describe('organization feed', () => {
  afterEach(closeSockets);

  test("a member's socket hears every change of the organization once, in order; other feeds hear none of it", async () => {
    const { org, owner, members: [m] } = await orgWithMembers({ tag: 'feed', members: 1 });
    // The invitation is made before the sockets open (the feed promises table and members events only).
    const xEmail = uniqueEmail('feed-x');
    const { token: xInvite } = await invite(owner.token, org.id, xEmail, 'member');
    const x = await newUser({ email: xEmail });
    const other = await orgWithMembers({ tag: 'feed-other' });
    const byTicket = await openOrgSocket(owner.token, org.id);
    const byBearer = await openOrgSocketWith(org.id, '', bearer(m));
    const mOwnFeed = await socketFor(m.token);
    const otherFeed = await openOrgSocket(other.owner.token, other.org.id);

    const row = await createNote(m.token, org.id, { title: 'hello' });
    const patched = expectStatus(await call('PATCH', notes(org.id, `/${row.id}`), { token: owner.token, json: { body: 'world' } }), 200).json.row;
    // Requests that change nothing send nothing.
    expectStatus(await call('POST', notes(org.id), { token: m.token, json: { title: '' } }), 400, 'validation_failed');
    expectStatus(await call('DELETE', notes(org.id, `/${row.id}`), { token: m.token }), 403, 'forbidden');
    expectStatus(await call('DELETE', notes(org.id, '/no-such-note'), { token: owner.token }), 404, 'not_found');
    expectStatus(await call('DELETE', notes(org.id, `/${row.id}`), { token: owner.token }), 200);
    await accept(x.token, xInvite, { id: org.id, role: 'member' });
    expectStatus(await setRole(owner, org.id, x, 'admin'), 200);
    expectStatus(await remove(owner, org.id, x), 200);

    for (const socket of [byTicket, byBearer]) {
      const got = await socket.take(6);
      got.forEach(assertFrame);
      assertConsecutive(got);
      assert.deepEqual(got.map((f) => f.event), ['table:notes', 'table:notes', 'table:notes', 'members', 'members', 'members']);
      assert.deepEqual(got[0].data, { op: 'create', id: row.id, row });
      assert.deepEqual(got[1].data, { op: 'update', id: row.id, row: patched });
      assert.deepEqual(got[2].data, { op: 'delete', id: row.id });
      assert.deepEqual(got[3].data, { op: 'add', userId: x.user.id, role: 'member' });
      assert.deepEqual(got[4].data, { op: 'update', userId: x.user.id, role: 'admin' });
      assertRemoved(got[5], x.user.id);
      assert.deepEqual(socket.pending(), [], 'nothing twice');
    }
    // The member's own feed and another organization's feed heard none of it.
    expectStatus(await call('PUT', '/api/kv/mine', { token: m.token, json: true }), 200);
    const own = await mOwnFeed.next();
    assert.equal(own.event, 'kv:mine', JSON.stringify(own));
    assert.deepEqual(mOwnFeed.pending(), []);
    const sentinel = await createNote(other.owner.token, other.org.id, { title: 'other' });
    const first = await otherFeed.next();
    assertFrame(first);
    assert.deepEqual(first.data, { op: 'create', id: sentinel.id, row: sentinel });
    assert.deepEqual(otherFeed.pending(), []);
    await Promise.all([byTicket, byBearer, mOwnFeed, otherFeed].map((s) => s.close()));
  });

  test('?since=S replays what was missed, in order, then follows on live; a seq the server does not hold asks for resync', async () => {
    const { org, owner, members: [m] } = await orgWithMembers({ tag: 'feed-since', members: 1 });
    const live = await openOrgSocket(owner.token, org.id);
    const rows = [];
    for (let i = 1; i <= 5; i++) rows.push(await createNote(m.token, org.id, { title: `n${i}` }));
    const got = await live.take(5);
    got.forEach(assertFrame);
    assertConsecutive(got);
    assert.deepEqual(got.map((f) => f.data.id), rows.map((r) => r.id));
    const seqs = got.map((f) => f.seq);
    const last = seqs[4];
    const strip = ({ seq, event, data }) => ({ seq, event, data });

    const resumed = await openOrgSocket(m.token, org.id, seqs[1]);
    assert.deepEqual((await resumed.take(3)).map(strip), got.slice(2).map(strip));
    // Everything the organization holds: from seq 1, with no gap, ending with the notes.
    const all = await openOrgSocket(m.token, org.id, 0);
    const replayed = await takeUntil(all, (f) => f.seq === last);
    replayed.forEach(assertFrame);
    assert.equal(replayed[0].seq, 1);
    assertConsecutive(replayed);
    assert.deepEqual(replayed.slice(-5).map(strip), got.map(strip));
    const current = await openOrgSocket(m.token, org.id, last);
    const future = await openOrgSocket(m.token, org.id, last + 100);
    assert.deepEqual(await future.next(), { event: 'resync', seq: last });
    // Then live events follow on everywhere, with no gap and no repeat.
    const next = await createNote(owner.token, org.id, { title: 'n6' });
    for (const s of [live, resumed, all, current, future]) {
      const f = await s.next();
      assert.equal(f.seq, last + 1);
      assert.deepEqual(f.data, { op: 'create', id: next.id, row: next });
      assert.deepEqual(s.pending(), []);
    }
    for (const since of ['-1', 'abc', '1.5']) {
      expectStatus(await tryOrgUpgrade(org.id, `?since=${since}`, bearer(m)), 400, 'invalid_query');
    }
    await Promise.all([live, resumed, all, current, future].map((s) => s.close()));
  });

  test("a removed member's sockets close with 4003 and hear nothing more; their REST access is 404 at once", async () => {
    const { org, owner, admins: [admin], members: [m, leaver, stay] } = await orgWithMembers({ tag: 'feed-removed', admins: 1, members: 3 });
    const mByTicket = await openOrgSocket(m.token, org.id);
    const mByBearer = await openOrgSocketWith(org.id, '', bearer(m));
    const leaverSocket = await openOrgSocket(leaver.token, org.id);
    const staySocket = await openOrgSocket(stay.token, org.id);
    const spareTicket = await orgTicket(m.token, org.id); // asked for before the removal, used after
    const mOwnFeed = await socketFor(m.token);

    expectStatus(await remove(admin, org.id, m), 200);
    // At once: the organization is not found for them, and no new socket opens.
    expectStatus(await call('GET', orgPath(org.id), { token: m.token }), 404, 'not_found');
    expectStatus(await call('GET', notes(org.id), { token: m.token }), 404, 'not_found');
    expectStatus(await call('POST', notes(org.id), { token: m.token, json: { title: 'too late' } }), 404, 'not_found');
    expectStatus(await call('POST', orgPath(org.id, '/ws/ticket'), { token: m.token }), 404, 'not_found');
    expectStatus(await tryOrgUpgrade(org.id, '', bearer(m)), 404, 'not_found');
    const spare = await tryOrgUpgrade(org.id, `?ticket=${encodeURIComponent(spareTicket)}`);
    assert.notEqual(spare.status, 101, 'a ticket from before the removal opens nothing');
    expectStatus(spare, 404, 'not_found');
    assert.deepEqual(await myOrgs(m.token), []);
    // Leaving is a removal too.
    expectStatus(await remove(leaver, org.id, leaver), 200);
    expectStatus(await call('GET', orgPath(org.id), { token: leaver.token }), 404, 'not_found');

    const after = await createNote(stay.token, org.id, { title: 'after' });
    const heard = await staySocket.take(3);
    heard.forEach(assertFrame);
    assertConsecutive(heard);
    assertRemoved(heard[0], m.user.id);
    assertRemoved(heard[1], leaver.user.id);
    assert.deepEqual(heard[2].data, { op: 'create', id: after.id, row: after });

    const removedAt = { [m.user.id]: heard[0].seq, [leaver.user.id]: heard[1].seq };
    const gone = [[mByTicket, m], [mByBearer, m], [leaverSocket, leaver]];
    const closes = await Promise.all(gone.map(([s]) => closedWithin(s)));
    assert.deepEqual(closes.map((c) => c.code), [4003, 4003, 4003]);
    for (const [s, u] of gone) {
      // What happened before their removal may have reached them, and the news of it; nothing after.
      const frames = s.pending();
      for (const f of frames) assert.ok(f.seq <= removedAt[u.user.id], `nothing after the removal of ${u.email}: ${JSON.stringify(frames)}`);
      assert.ok(!frames.some(isNote(after.id)), `the note written after the removal never reached ${u.email}`);
    }
    // Their own feed is not the organization's: it stays open and live.
    expectStatus(await call('PUT', '/api/kv/still', { token: m.token, json: 1 }), 200);
    assert.equal((await mOwnFeed.next()).event, 'kv:still');
    assert.deepEqual(await rolesOf(owner.token, org.id), {
      [owner.user.id]: 'owner', [admin.user.id]: 'admin', [stay.user.id]: 'member',
    });
    await Promise.all([staySocket.close(), mOwnFeed.close()]);
  });

  test('deleting the organization closes every socket on it with 4003, and no other', async () => {
    const { org, owner, admins: [admin], members: [m] } = await orgWithMembers({ tag: 'feed-deleted', admins: 1, members: 1 });
    const keep = await createOrg(owner.token);
    const sockets = [
      await openOrgSocket(owner.token, org.id),
      await openOrgSocketWith(org.id, '', bearer(admin)),
      await openOrgSocket(m.token, org.id),
      await openOrgSocket(m.token, org.id, 0),
    ];
    const keepSocket = await openOrgSocket(owner.token, keep.id);
    const ownerFeed = await socketFor(owner.token);
    const memberTicket = await orgTicket(m.token, org.id);
    assert.deepEqual(expectStatus(await call('DELETE', orgPath(org.id), { token: owner.token }), 200).json, { ok: true });
    for (const u of [owner, admin, m]) expectStatus(await call('POST', orgPath(org.id, '/ws/ticket'), { token: u.token }), 404, 'not_found');
    const late = await tryOrgUpgrade(org.id, `?ticket=${encodeURIComponent(memberTicket)}`);
    assert.notEqual(late.status, 101);
    expectStatus(late, 404, 'not_found');
    const closes = await Promise.all(sockets.map((s) => closedWithin(s)));
    assert.deepEqual(closes.map((c) => c.code), [4003, 4003, 4003, 4003]);
    // The owner's other organization and own feed go on.
    const note = await createNote(owner.token, keep.id, { title: 'still here' });
    assert.deepEqual((await keepSocket.next()).data, { op: 'create', id: note.id, row: note });
    expectStatus(await call('PUT', '/api/kv/after-delete', { token: owner.token, json: 1 }), 200);
    assert.equal((await ownerFeed.next()).event, 'kv:after-delete');
    await Promise.all([keepSocket.close(), ownerFeed.close()]);
  });

  test("two admins changing one member's role at once end in one state that the member list and the events agree on", async () => {
    const { org, owner, admins: [a1, a2], members: [target] } = await orgWithMembers({ tag: 'feed-race', admins: 2, members: 1 });
    const watch = await openOrgSocket(owner.token, org.id);
    const everyone = [owner, a1, a2, target];
    for (let round = 0; round < 4; round++) {
      const [r1, r2] = round % 2 === 0 ? ['admin', 'member'] : ['member', 'admin'];
      const [res1, res2] = await Promise.all([setRole(a1, org.id, target, r1), setRole(a2, org.id, target, r2)]);
      assert.equal(expectStatus(res1, 200).json.member.role, r1);
      assert.equal(expectStatus(res2, 200).json.member.role, r2);
      // Everyone reads the same final role.
      const views = await Promise.all(everyone.map((u) => rolesOf(u.token, org.id)));
      for (const v of views) assert.deepEqual(v, views[0], `round ${round}: every member sees the same list`);
      const final = views[0][target.user.id];
      assert.ok([r1, r2].includes(final), `round ${round}: final role ${final}`);
      assert.equal(views[0][a1.user.id], 'admin');
      assert.equal(views[0][a2.user.id], 'admin');
      assert.equal(expectStatus(await call('GET', orgPath(org.id), { token: target.token }), 200).json.org.role, final);
      // The events up to a sentinel write: updates of the target only, the last one the final role.
      const sentinel = await createNote(owner.token, org.id, { title: `sentinel ${round}` });
      const frames = await takeUntil(watch, isNote(sentinel.id));
      frames.forEach(assertFrame);
      assertConsecutive(frames);
      const updates = frames.slice(0, -1);
      assert.ok(updates.length >= 1 && updates.length <= 2, `round ${round}: ${JSON.stringify(frames)}`);
      for (const u of updates) {
        assert.equal(u.event, 'members');
        assert.deepEqual(Object.keys(u.data).sort(), ['op', 'role', 'userId']);
        assert.equal(u.data.op, 'update');
        assert.equal(u.data.userId, target.user.id);
        assert.ok([r1, r2].includes(u.data.role));
      }
      assert.equal(updates.at(-1).data.role, final, `round ${round}: the last event says the final role`);
    }
    // A removal racing a promotion: the member is gone in the end, and the last event says so.
    const [removed, promoted] = await Promise.all([remove(a1, org.id, target), setRole(a2, org.id, target, 'admin')]);
    expectStatus(removed, 200);
    assert.ok([200, 404].includes(promoted.status), `the promotion is applied before the removal or finds no member: ${promoted.text}`);
    if (promoted.status === 404) expectStatus(promoted, 404, 'not_found');
    const views = await Promise.all([owner, a1, a2].map((u) => rolesOf(u.token, org.id)));
    for (const v of views) assert.deepEqual(v, { [owner.user.id]: 'owner', [a1.user.id]: 'admin', [a2.user.id]: 'admin' });
    expectStatus(await call('GET', orgPath(org.id), { token: target.token }), 404, 'not_found');
    const sentinel = await createNote(owner.token, org.id, { title: 'sentinel removal' });
    const frames = await takeUntil(watch, isNote(sentinel.id));
    assertConsecutive(frames);
    const about = frames.slice(0, -1);
    assertRemoved(about.at(-1), target.user.id);
    assert.equal(about.length, promoted.status === 200 ? 2 : 1, JSON.stringify(frames));
    if (promoted.status === 200) assert.deepEqual(about[0].data, { op: 'update', userId: target.user.id, role: 'admin' });
    assert.deepEqual(watch.pending(), []);
    await watch.close();
  });

  test("a member's account deletion sends a members remove event and ends their sockets", async () => {
    const { org, owner, members: [m] } = await orgWithMembers({ tag: 'feed-acct', members: 1 });
    const watch = await openOrgSocket(owner.token, org.id);
    const theirs = await openOrgSocket(m.token, org.id);
    expectStatus(await call('DELETE', '/api/account', { token: m.token, json: { password: PASSWORD } }), 200);
    assertRemoved(await watch.next(), m.user.id);
    const closed = await closedWithin(theirs);
    assert.ok([4001, 4003].includes(closed.code), `closed with 4001 (session ended) or 4003 (removed): ${closed.code}`);
    assert.deepEqual(await rolesOf(owner.token, org.id), { [owner.user.id]: 'owner' });
    await watch.close();
  });

  test('only a member opens the feed: tickets and upgrades for anyone else are refused', async () => {
    const { org, owner, members: [m] } = await orgWithMembers({ tag: 'feed-auth', members: 1 });
    const stranger = await newUser({ tag: 'feed-auth-stranger' });
    const theirs = await createOrg(stranger.token);
    // A non-member: 404, as on every path of the organization.
    expectStatus(await call('POST', orgPath(org.id, '/ws/ticket'), { token: stranger.token }), 404, 'not_found');
    expectStatus(await tryOrgUpgrade(org.id, '', bearer(stranger)), 404, 'not_found');
    // Without credentials, or with a bad ticket: 401, no upgrade.
    expectStatus(await call('POST', orgPath(org.id, '/ws/ticket')), 401, 'unauthenticated');
    expectStatus(await tryOrgUpgrade(org.id), 401, 'unauthenticated');
    expectStatus(await tryOrgUpgrade(org.id, '?ticket=garbage'), 401, 'invalid_token');
    expectStatus(await tryOrgUpgrade(org.id, `?ticket=${encodeURIComponent(m.refreshToken)}`), 401, 'invalid_token');
    // A ticket opens its organization's feed once.
    const ticket = await orgTicket(m.token, org.id);
    assert.equal((await tryOrgUpgrade(org.id, `?ticket=${encodeURIComponent(ticket)}`)).status, 101);
    expectStatus(await tryOrgUpgrade(org.id, `?ticket=${encodeURIComponent(ticket)}`), 401, 'invalid_token');
    // A ticket for one organization does not open another that its holder is not in.
    for (const [holder, from, to] of [[stranger, theirs.id, org.id], [m, org.id, theirs.id]]) {
      const t = await orgTicket(holder.token, from);
      const res = await tryOrgUpgrade(to, `?ticket=${encodeURIComponent(t)}`);
      assert.notEqual(res.status, 101, `a ticket for ${from} opened ${to}`);
      assert.ok([401, 404].includes(res.status), `refused with 401 or 404: ${res.status} ${res.text}`);
    }
    // Tokens as for /api/ws: a bearer header, or the cookie from an allowed origin only.
    assert.equal((await tryOrgUpgrade(org.id, '', bearer(m))).status, 101);
    assert.equal((await tryOrgUpgrade(org.id, '', { cookie: `token=${m.token}`, origin: ALLOWED_ORIGIN })).status, 101);
    expectStatus(await tryOrgUpgrade(org.id, '', { cookie: `token=${m.token}`, origin: EVIL_ORIGIN }), 403, 'csrf_rejected');
    expectStatus(await tryOrgUpgrade(org.id, '', { cookie: `token=${m.token}` }), 403, 'csrf_rejected');
    expectStatus(await call('GET', orgPath(org.id, '/ws'), { token: m.token }), 426, 'upgrade_required');
    // A ticket outlives nothing: after logout neither the token nor a ticket of that session opens the feed.
    const late = await orgTicket(owner.token, org.id);
    expectStatus(await call('POST', '/api/logout', { token: owner.token }), 200);
    expectStatus(await tryOrgUpgrade(org.id, '', bearer(owner)), 401, 'session_revoked');
    expectStatus(await tryOrgUpgrade(org.id, `?ticket=${encodeURIComponent(late)}`), 401, 'session_revoked');
    expectStatus(await call('POST', orgPath(org.id, '/ws/ticket'), { token: owner.token }), 401, 'session_revoked');
  });
});
