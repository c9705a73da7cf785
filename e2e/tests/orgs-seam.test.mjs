// Organizations beyond the contract's table: the application's methods in the organization's
// object (POST /api/orgs/{org}/rpc, which see the calling member and their role), an ended
// session closing its organization sockets, and how the user's index of organizations stays
// consistent with the organizations when one of the two writes fails.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { call, expectStatus, login, newUser, PASSWORD } from '../lib/api.mjs';
import {
  closedWithin, closeSockets, createNote, createOrg, invite, inviteAndAccept, myOrgs, openOrgSocket,
  orgPath, orgWithMembers, trackSocket, unknownOrgId,
} from '../lib/orgs.mjs';

afterEach(closeSockets);

const rpc = (token, orgId, method, params) =>
  call('POST', orgPath(orgId, '/rpc'), { token, json: params === undefined ? { method } : { method, params } });

describe('organization methods', () => {
  test('a method runs in the organization and sees the caller and their role', async () => {
    const { org, owner, members: [m] } = await orgWithMembers({ tag: 'seam-stats', members: 1 });
    await createNote(m.token, org.id, { title: 'one' });
    await createNote(owner.token, org.id, { title: 'two' });
    assert.deepEqual(expectStatus(await rpc(m.token, org.id, 'noteStats'), 200).json, { result: { notes: 2, role: 'member' } });
    assert.deepEqual(expectStatus(await rpc(owner.token, org.id, 'noteStats'), 200).json, { result: { notes: 2, role: 'owner' } });
  });

  test('a method that needs a role refuses a lower one with 403, and changes nothing', async () => {
    const { org, owner, admins: [admin], members: [m] } = await orgWithMembers({ tag: 'seam-clear', admins: 1, members: 1 });
    await createNote(m.token, org.id, { title: 'keep me' });
    expectStatus(await rpc(m.token, org.id, 'clearNotes'), 403, 'forbidden');
    assert.equal(expectStatus(await rpc(owner.token, org.id, 'noteStats'), 200).json.result.notes, 1);
    assert.deepEqual(expectStatus(await rpc(admin.token, org.id, 'clearNotes'), 200).json, { result: { deleted: 1 } });
    assert.equal(expectStatus(await rpc(owner.token, org.id, 'noteStats'), 200).json.result.notes, 0);
  });

  test('non-members get 404, unknown methods 404, bad bodies 400; the user object has no such method', async () => {
    const { org, owner } = await orgWithMembers({ tag: 'seam-refuse' });
    const stranger = await newUser({ tag: 'seam-stranger' });
    expectStatus(await rpc(stranger.token, org.id, 'noteStats'), 404, 'not_found');
    expectStatus(await rpc(owner.token, unknownOrgId(), 'noteStats'), 404, 'not_found');
    expectStatus(await rpc(owner.token, org.id, 'noSuchMethod'), 404, 'not_found');
    expectStatus(await call('POST', orgPath(org.id, '/rpc'), { token: owner.token, raw: '{', headers: { 'content-type': 'application/json' } }), 400, 'invalid_json');
    expectStatus(await call('POST', orgPath(org.id, '/rpc'), { json: { method: 'noteStats' } }), 401);
    // The organization's methods are not the user's.
    expectStatus(await call('POST', '/api/rpc', { token: owner.token, json: { method: 'noteStats' } }), 404, 'not_found');
  });
});

describe('sessions and organization sockets', () => {
  test("a logout closes that session's organization sockets with 4001; the member's other sessions stay", async () => {
    const { org, owner, members: [m] } = await orgWithMembers({ tag: 'seam-logout', members: 1 });
    const second = await login(m.email);
    const leaving = trackSocket(await openOrgSocket(m.token, org.id));
    const staying = trackSocket(await openOrgSocket(second.token, org.id));
    expectStatus(await call('POST', '/api/logout', { token: m.token }), 200);
    assert.equal((await closedWithin(leaving)).code, 4001);
    // The other session's socket still hears the organization.
    const note = await createNote(owner.token, org.id, { title: 'after the logout' });
    const frame = await staying.next();
    assert.equal(frame.event, 'table:notes');
    assert.equal(frame.data.id, note.id);
    // And the logged-out token is refused at once.
    expectStatus(await call('GET', orgPath(org.id), { token: m.token }), 401);
  });

  test('revoking the other sessions closes their organization sockets too', async () => {
    const { org, members: [m] } = await orgWithMembers({ tag: 'seam-revoke', members: 1 });
    const other = await login(m.email);
    const socket = trackSocket(await openOrgSocket(other.token, org.id));
    expectStatus(await call('POST', '/api/sessions/revoke-others', { token: m.token }), 200);
    assert.equal((await closedWithin(socket)).code, 4001);
  });
});

describe("the user's index of organizations", () => {
  test('an accept the organization refuses leaves no entry behind: the index is written first, then undone', async () => {
    const { org, owner } = await orgWithMembers({ tag: 'seam-index' });
    const invited = await newUser({ tag: 'seam-invited' });
    const other = await newUser({ tag: 'seam-other' });
    const { token } = await invite(owner.token, org.id, invited.email, 'member');
    // The other user's object records the organization, then the organization refuses (403).
    expectStatus(await call('POST', '/api/invitations/accept', { token: other.token, json: { token } }), 403, 'forbidden');
    assert.deepEqual(await myOrgs(other.token), []);
    // A token for an organization that does not exist: 401, and nothing listed.
    const forged = token.replace(org.id, unknownOrgId());
    expectStatus(await call('POST', '/api/invitations/accept', { token: other.token, json: { token: forged } }), 401, 'invalid_token');
    assert.deepEqual(await myOrgs(other.token), []);
    // The invitee still joins.
    expectStatus(await call('POST', '/api/invitations/accept', { token: invited.token, json: { token } }), 200);
    assert.deepEqual((await myOrgs(invited.token)).map((o) => o.id), [org.id]);
  });

  test('a removal is written in the organization only; the removed user\'s list drops it when read', async () => {
    const { org, owner, members: [m] } = await orgWithMembers({ tag: 'seam-stale', members: 1 });
    const keep = await createOrg(m.token);
    expectStatus(await call('DELETE', orgPath(org.id, `/members/${m.user.id}`), { token: owner.token }), 200);
    // m's object still had org in its index: the organization's 404 removes it from the list.
    assert.deepEqual((await myOrgs(m.token)).map((o) => o.id), [keep.id]);
    // Deleting the organization does the same for every member who was in it.
    const other = await inviteAndAccept(owner.token, org.id, 'member', { tag: 'seam-stale2' });
    expectStatus(await call('DELETE', orgPath(org.id), { token: owner.token }), 200);
    assert.deepEqual(await myOrgs(other.token), []);
    assert.deepEqual(await myOrgs(owner.token), []);
    // Deleting the account of a user with organizations still works (the password counts first).
    expectStatus(await call('DELETE', '/api/account', { token: m.token, json: { password: 'wrong password!' } }), 401);
    expectStatus(await call('DELETE', '/api/account', { token: m.token, json: { password: PASSWORD } }), 200);
    expectStatus(await call('GET', orgPath(keep.id), { token: owner.token }), 404, 'not_found');
  });
});
