// Organizations through the client against the real worker: client.orgs (create, invite with the
// token from the dev outbox, accept, members, roles), a second member's collection('notes')
// hearing the first one's writes over the organization's own feed, and the end of access: a
// removed member's handle reports it and stops, and so does every member's when the
// organization is deleted (close code 4003).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { UserDoError } from '../../dist/index.js';
import { Server, signedUp, until, uniqueEmail, PASSWORD } from './harness.mjs';

let server;
before(async () => {
  server = await Server.start('client-ts-orgs');
});
after(async () => {
  await server?.stop();
});

/** A close frame reaches the client late under wrangler dev (about 10 s; README, Limits). */
const CLOSE_WAIT_MS = 45_000;

/** The token of the newest invitation mail in `email`'s dev outbox. */
async function invitationToken(email) {
  const res = await server.raw(`/api/dev/outbox?email=${encodeURIComponent(email)}`);
  assert.equal(res.status, 200);
  const { messages } = await res.json();
  const mail = messages.filter((m) => /invit/i.test(m.subject)).at(-1);
  assert.ok(mail?.token, `an invitation mail for ${email}: ${JSON.stringify(messages)}`);
  return mail.token;
}

/** Invites a new user into `orgId` as `role` (by `admin`'s client) and has them accept. */
async function joined(admin, orgId, tag, role = 'member') {
  const email = uniqueEmail(tag);
  const invitation = await admin.orgs.invite(orgId, email, role);
  assert.equal(invitation.email, email);
  assert.equal(invitation.role, role);
  const token = await invitationToken(email);
  const client = server.client();
  const user = await client.signup(email, PASSWORD);
  const org = await client.orgs.accept(token);
  assert.equal(org.id, orgId);
  assert.equal(org.role, role);
  return { client, user, email };
}

/** The close code of a WebSocket, or a failure after `ms`. */
function closeCode(socket, ms = CLOSE_WAIT_MS) {
  let timer;
  return Promise.race([
    new Promise((resolve) => socket.addEventListener('close', (e) => resolve(e.code), { once: true })),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the socket did not close within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Waits until an organization handle's socket is open and past its baseline. */
const orgConnected = (org) => until(() => org.realtime.status === 'open' && org.realtime.lastSeq !== null, 20_000, "the organization's socket");

describe('organizations', () => {
  test('create, invite through the dev outbox, accept: members and roles as each side sees them', async () => {
    const { client: a, user: ua } = await signedUp(server, 'org-owner');
    const team = await a.orgs.create('Team one');
    assert.match(team.id, /^[0-9a-f]{32}$/);
    assert.equal(team.role, 'owner');
    assert.deepEqual((await a.orgs.list()).map((o) => o.id), [team.id]);
    const { client: b, user: ub, email } = await joined(a, team.id, 'org-member');
    assert.deepEqual((await b.orgs.list()).map((o) => [o.id, o.name, o.role]), [[team.id, 'Team one', 'member']]);
    assert.deepEqual((await a.orgs.members(team.id)).map((m) => [m.userId, m.role]), [[ua.id, 'owner'], [ub.id, 'member']]);
    assert.deepEqual(await a.orgs.invitations(team.id), [], 'accepted: no longer pending');
    // Roles: the owner makes B an admin; a member cannot invite, an admin can.
    await assert.rejects(b.orgs.invite(team.id, uniqueEmail('nope')), (e) => e instanceof UserDoError && e.status === 403 && e.code === 'forbidden');
    assert.equal((await a.orgs.setRole(team.id, ub.id, 'admin')).role, 'admin');
    assert.equal((await b.orgs.get(team.id)).role, 'admin');
    const pending = await b.orgs.invite(team.id, uniqueEmail('org-pending'));
    assert.deepEqual((await a.orgs.invitations(team.id)).map((i) => i.id), [pending.id]);
    await a.orgs.revokeInvitation(team.id, pending.id);
    assert.deepEqual(await a.orgs.invitations(team.id), []);
    // B is a member already: inviting B again is a conflict.
    await assert.rejects(b.orgs.invite(team.id, email), (e) => e.status === 409 && e.code === 'conflict');
    const renamed = await b.orgs.rename(team.id, 'Team uno');
    assert.equal(renamed.name, 'Team uno');
    // The owner cannot leave; B can.
    await assert.rejects(a.orgs.leave(team.id), (e) => e.status === 409 && e.code === 'conflict');
    await b.orgs.leave(team.id);
    assert.equal(await b.orgs.get(team.id), undefined);
    assert.deepEqual(await b.orgs.list(), []);
    assert.deepEqual((await a.orgs.members(team.id)).map((m) => m.userId), [ua.id]);
  });

  test("a member's collection('notes').onChange hears the other's writes; removal ends their access and stops the socket", async () => {
    const { client: a, user: ua } = await signedUp(server, 'org-live-owner');
    const team = await a.orgs.create('Live team');
    const aOrg = a.org(team.id);
    const membersSeen = [];
    aOrg.onMembers((change) => membersSeen.push(change));
    await orgConnected(aOrg);
    const { client: b, user: ub } = await joined(a, team.id, 'org-live-member');
    await until(() => membersSeen.length === 1, 20_000, "the owner's members event");
    assert.deepEqual(membersSeen[0], { op: 'add', userId: ub.id, role: 'member', seq: membersSeen[0].seq });

    const bOrg = b.org(team.id);
    const seen = [];
    let lost = 0;
    bOrg.onAccessLost(() => lost++);
    bOrg.collection('notes').onChange((change) => seen.push(change));
    // B's own feed, to check it goes on after the removal.
    const bTodos = [];
    b.collection('todos').onChange((change) => bTodos.push(change));
    await orgConnected(bOrg);

    const notes = a.org(team.id).collection('notes');
    const row = await notes.create({ title: 'hello team' });
    assert.equal(row.body, '', 'the default of body');
    await until(() => seen.length === 1, 20_000, "B's create event");
    assert.deepEqual(seen[0], { op: 'create', id: row.id, row, seq: seen[0].seq });
    const updated = await b.org(team.id).collection('notes').update(row.id, { body: 'from B' });
    await notes.create({ title: 'second' });
    await until(() => seen.length === 3, 20_000, 'the update and the second note');
    assert.deepEqual(seen[1], { op: 'update', id: row.id, row: updated, seq: seen[0].seq + 1 });
    assert.equal(seen[2].row.title, 'second');
    assert.equal(seen[2].seq, seen[0].seq + 2);
    const { rows, count } = await bOrg.collection('notes').query({ orderBy: [['createdAt', 'asc']] });
    assert.equal(count, 2);
    assert.deepEqual(rows.map((r) => r.title), ['hello team', 'second']);
    // Members write, admins delete.
    await assert.rejects(bOrg.collection('notes').delete(row.id), (e) => e.status === 403 && e.code === 'forbidden');
    await assert.rejects(bOrg.collection('notes').create({ title: '' }), (e) => e.code === 'validation_failed' && 'title' in e.details);
    // The organization's methods: any member counts, admins clear.
    assert.deepEqual(await bOrg.rpc.noteStats(), { notes: 2, role: 'member' });
    await assert.rejects(bOrg.call('clearNotes'), (e) => e.status === 403 && e.code === 'forbidden');
    // The user's own tables and the organization's are apart.
    assert.equal((await b.collection('todos').query()).count, 0);

    const tickets = () => b.wires.count('POST', `/api/orgs/${team.id}/ws/ticket`);
    await a.orgs.removeMember(team.id, ub.id);
    await until(() => lost === 1, CLOSE_WAIT_MS, "B's access lost");
    assert.equal(bOrg.accessLost, true);
    assert.equal(bOrg.realtime.status, 'ended');
    await until(() => membersSeen.length === 2, 20_000, "the owner's remove event");
    assert.deepEqual(membersSeen[1], { op: 'remove', userId: ub.id, seq: membersSeen[1].seq });
    // Gone for B at once, and nothing reconnects; B stays signed in, with its own feed live.
    assert.equal(await b.orgs.get(team.id), undefined);
    await assert.rejects(bOrg.collection('notes').query(), (e) => e.status === 404 && e.code === 'not_found');
    const ticketsThen = tickets();
    const after = await notes.create({ title: 'after the removal' });
    await b.collection('todos').create({ title: 'mine' });
    await until(() => bTodos.length === 1, 20_000, "B's own feed");
    assert.equal(tickets(), ticketsThen, 'no new ticket for the organization');
    assert.ok(!seen.some((c) => c.id === after.id), 'nothing after the removal reached B');
    assert.equal(b.signedIn, true);
    assert.equal(lost, 1);
    assert.deepEqual((await a.orgs.members(team.id)).map((m) => m.userId), [ua.id]);
  });

  test("deleting the organization closes every member's socket with 4003: each handle reports lost access", async () => {
    const { client: a } = await signedUp(server, 'org-del-owner');
    const team = await a.orgs.create('Doomed');
    const { client: b } = await joined(a, team.id, 'org-del-member');
    // B's client does not learn its user id from a sign-in here (tokens handed over), so only the
    // server's close (4003) can tell it.
    const b2 = server.client({ tokens: b.getTokens() });
    const handles = [a.org(team.id), b2.org(team.id)];
    const lost = [0, 0];
    handles.forEach((org, i) => {
      org.onAccessLost(() => lost[i]++);
      org.collection('notes').onChange(() => {});
    });
    await Promise.all(handles.map(orgConnected));
    const sockets = handles.map((_, i) => [a, b2][i].wires.sockets.at(-1));
    const closes = sockets.map((s) => closeCode(s));
    await a.orgs.delete(team.id);
    assert.deepEqual(await Promise.all(closes), [4003, 4003]);
    await until(() => lost.every((n) => n === 1), 5_000, 'both handles lost access');
    assert.deepEqual(handles.map((o) => o.realtime.status), ['ended', 'ended']);
    assert.deepEqual(await a.orgs.list(), []);
    assert.equal(a.signedIn && b2.signedIn, true);
  });
});
