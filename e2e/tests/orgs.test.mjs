// Organizations over HTTP, black-box against API.md ("Organizations (teams) and roles") and
// SECURITY.md ("Organizations"): every endpoint's answer, who may call it (404 for a non-member,
// 403 for a role too low), the owner's rules, invitations through the dev outbox, the `notes`
// organization table of the default worker, account deletion, CSRF, authentication and bad bodies
// (the last five in orgs-more.test.mjs, so each file stays well inside the runner's per-file
// time-out). The organization's WebSocket feed is in orgs-feed.test.mjs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  call, expectFieldError, expectStatus, login, newUser, uniqueEmail,
} from '../lib/api.mjs';
import {
  accept, assertInvitation, assertMember, assertOrg, createNote, createOrg, invite, inviteAndAccept, members, myOrgs, orgName, orgPath, orgWithMembers, outbox, rolesOf, tryOrgUpgrade, unknownOrgId, notes, JSON_HEADERS, byId, getOrg, everyOrgPath,
} from '../lib/orgs.mjs';

describe('organizations: create, read, list', () => {
  test('POST /api/orgs is 201 {org} with the caller its owner; GET /api/orgs/{org} and the member list show it', async () => {
    const u = await newUser({ tag: 'org-create' });
    const name = orgName('Create');
    const before = Date.now();
    const created = expectStatus(await call('POST', '/api/orgs', { token: u.token, json: { name } }), 201);
    assert.deepEqual(Object.keys(created.json), ['org']);
    const org = assertOrg(created.json.org, { name, role: 'owner' });
    assert.ok(org.createdAt >= before - 60_000 && org.createdAt <= Date.now() + 60_000);
    assert.deepEqual(expectStatus(await getOrg(u.token, org.id), 200).json, { org });
    const list = await members(u.token, org.id);
    assert.equal(list.length, 1);
    assertMember(list[0], { userId: u.user.id, email: u.email, role: 'owner' });
    assert.ok(Math.abs(list[0].joinedAt - org.createdAt) < 60_000);
    assert.deepEqual(await myOrgs(u.token), [org]);
    // Two organizations of one user are two organizations, with ids of their own.
    const second = await createOrg(u.token, name);
    assert.notEqual(second.id, org.id);
    assert.deepEqual(byId(await myOrgs(u.token)), byId([org, second]));
  });

  test('names are 1 to 100 characters: anything else is 400 validation_failed on name', async () => {
    const u = await newUser({ tag: 'org-name' });
    for (const body of [{}, { name: '' }, { name: 'x'.repeat(101) }, { name: 5 }, { name: null }, { name: ['team'] }]) {
      expectFieldError(await call('POST', '/api/orgs', { token: u.token, json: body }), 'name');
    }
    assert.deepEqual(await myOrgs(u.token), [], 'no organization was made by a refused request');
    await createOrg(u.token, 'x'.repeat(100));
    await createOrg(u.token, 'é'.repeat(100)); // characters, not bytes
    await createOrg(u.token, 'a');
    assert.equal((await myOrgs(u.token)).length, 3);
  });

  test('GET /api/orgs lists exactly the organizations of the caller, each with the caller\'s role', async () => {
    const a = await newUser({ tag: 'org-list-a' });
    const b = await newUser({ tag: 'org-list-b' });
    const c = await newUser({ tag: 'org-list-c' });
    const d = await newUser({ tag: 'org-list-d' });
    const one = await createOrg(a.token, orgName('one'));
    const two = await createOrg(a.token, orgName('two'));
    const three = await createOrg(b.token, orgName('three'));
    await inviteAndAccept(a.token, one.id, 'admin', { user: b });
    await inviteAndAccept(a.token, two.id, 'member', { user: c });
    await inviteAndAccept(b.token, three.id, 'member', { user: c });
    const listed = async (u) => byId(await myOrgs(u.token)).map(({ id, name, role }) => ({ id, name, role }));
    const entry = (o, role) => ({ id: o.id, name: o.name, role });
    assert.deepEqual(await listed(a), byId([entry(one, 'owner'), entry(two, 'owner')]));
    assert.deepEqual(await listed(b), byId([entry(one, 'admin'), entry(three, 'owner')]));
    assert.deepEqual(await listed(c), byId([entry(two, 'member'), entry(three, 'member')]));
    assert.deepEqual(await listed(d), []);
    // The entries are the same objects GET /api/orgs/{org} answers for that caller.
    for (const o of await myOrgs(c.token)) assert.deepEqual(expectStatus(await getOrg(c.token, o.id), 200).json, { org: o });
  });
});

describe('organizations: who may do what', () => {
  test('a caller who is not a member gets 404 not_found on every path, the same as for an organization that does not exist', async () => {
    const { org, owner, members: [m] } = await orgWithMembers({ tag: 'org-404', members: 1 });
    const note = await createNote(m.token, org.id, { title: 'secret' });
    const { invitation } = await invite(owner.token, org.id, uniqueEmail('org-404-pending'));
    // A stranger, a member of another organization, and an invitee who has not accepted yet.
    const stranger = await newUser({ tag: 'org-404-stranger' });
    const elsewhere = await newUser({ tag: 'org-404-elsewhere' });
    await createOrg(elsewhere.token);
    const invitee = await newUser({ tag: 'org-404-invitee' });
    await invite(owner.token, org.id, invitee.email);
    const ids = { userId: m.user.id, invitationId: invitation.id, noteId: note.id };
    const missing = unknownOrgId();
    for (const outsider of [stranger, elsewhere, invitee]) {
      const real = everyOrgPath(org.id, ids);
      const fake = everyOrgPath(missing, ids);
      for (let i = 0; i < real.length; i++) {
        const [method, path, json] = real[i];
        const res = expectStatus(await call(method, path, { token: outsider.token, json }), 404, 'not_found');
        const none = expectStatus(await call(fake[i][0], fake[i][1], { token: outsider.token, json: fake[i][2] }), 404, 'not_found');
        assert.equal(res.text.replaceAll(org.id, '{org}'), none.text.replaceAll(missing, '{org}'),
          `${method} ${path}: the answer does not tell that the organization exists`);
      }
      const upgrade = await tryOrgUpgrade(org.id, '', { authorization: `Bearer ${outsider.token}` });
      assert.notEqual(upgrade.status, 101, 'a non-member never gets the feed');
      expectStatus(upgrade, 404, 'not_found');
    }
    // Ids that are not an organization's shape are 404 too.
    for (const id of ['nope', 'A'.repeat(32), '0'.repeat(31), `${org.id}0`]) {
      expectStatus(await getOrg(stranger.token, id), 404, 'not_found');
    }
    // None of it changed anything.
    assert.deepEqual(expectStatus(await getOrg(owner.token, org.id), 200).json, { org });
    assert.deepEqual(await rolesOf(owner.token, org.id), { [owner.user.id]: 'owner', [m.user.id]: 'member' });
    assert.deepEqual(expectStatus(await call('GET', notes(org.id, `/${note.id}`), { token: m.token }), 200).json, { row: note });
    assert.equal(expectStatus(await call('GET', notes(org.id), { token: m.token }), 200).json.count, 1);
    const pending = expectStatus(await call('GET', orgPath(org.id, '/invitations'), { token: owner.token }), 200).json.invitations;
    assert.equal(pending.length, 2, 'no invitation added or revoked by an outsider');
    for (const u of [stranger, invitee]) assert.deepEqual(await myOrgs(u.token), []);
  });

  test('a member whose role is too low gets 403 forbidden, and changes nothing', async () => {
    const { org, owner, admins: [admin], members: [m, other] } = await orgWithMembers({ tag: 'org-403', admins: 1, members: 2 });
    const note = await createNote(owner.token, org.id, { title: 'keep' });
    const { invitation } = await invite(owner.token, org.id, uniqueEmail('org-403-pending'));
    const forbidden = async (u, method, path, json) => expectStatus(await call(method, path, { token: u.token, json }), 403, 'forbidden');
    // A member: no settings, no members, no invitations, no deleting notes.
    await forbidden(m, 'PATCH', orgPath(org.id), { name: 'renamed by a member' });
    await forbidden(m, 'DELETE', orgPath(org.id));
    await forbidden(m, 'PATCH', orgPath(org.id, `/members/${other.user.id}`), { role: 'admin' });
    await forbidden(m, 'PATCH', orgPath(org.id, `/members/${m.user.id}`), { role: 'admin' });
    await forbidden(m, 'DELETE', orgPath(org.id, `/members/${other.user.id}`));
    await forbidden(m, 'DELETE', orgPath(org.id, `/members/${admin.user.id}`));
    await forbidden(m, 'POST', orgPath(org.id, '/invitations'), { email: uniqueEmail('org-403-by-member'), role: 'member' });
    await forbidden(m, 'GET', orgPath(org.id, '/invitations'));
    await forbidden(m, 'DELETE', orgPath(org.id, `/invitations/${invitation.id}`));
    await forbidden(m, 'DELETE', notes(org.id, `/${note.id}`));
    // An admin: neither deletes the organization nor hands out ownership.
    await forbidden(admin, 'DELETE', orgPath(org.id));
    await forbidden(admin, 'PATCH', orgPath(org.id, `/members/${m.user.id}`), { role: 'owner' });
    await forbidden(admin, 'PATCH', orgPath(org.id, `/members/${admin.user.id}`), { role: 'owner' });
    // What a member may do, they can.
    assert.equal(assertOrg(expectStatus(await getOrg(m.token, org.id), 200).json.org, { id: org.id, name: org.name, role: 'member' }).role, 'member');
    assert.equal((await members(m.token, org.id)).length, 4);
    assert.equal(expectStatus(await call('GET', notes(org.id), { token: m.token }), 200).json.count, 1);
    // Nothing changed.
    assert.deepEqual(expectStatus(await getOrg(owner.token, org.id), 200).json, { org });
    assert.deepEqual(await rolesOf(owner.token, org.id), {
      [owner.user.id]: 'owner', [admin.user.id]: 'admin', [m.user.id]: 'member', [other.user.id]: 'member',
    });
    assert.deepEqual(expectStatus(await call('GET', notes(org.id, `/${note.id}`), { token: m.token }), 200).json, { row: note });
    const pending = expectStatus(await call('GET', orgPath(org.id, '/invitations'), { token: admin.token }), 200).json.invitations;
    assert.deepEqual(pending.map((i) => i.id), [invitation.id]);
  });

  test('an admin makes a member an admin and an admin a member, and removes members; PATCH answers {member}', async () => {
    const { org, owner, admins: [admin, admin2], members: [m, gone] } = await orgWithMembers({ tag: 'org-roles', admins: 2, members: 2 });
    const patchRole = (u, target, role) => call('PATCH', orgPath(org.id, `/members/${target.user.id}`), { token: u.token, json: { role } });
    const promoted = expectStatus(await patchRole(admin, m, 'admin'), 200);
    assert.deepEqual(Object.keys(promoted.json), ['member']);
    assertMember(promoted.json.member, { userId: m.user.id, email: m.email, role: 'admin' });
    assert.equal(expectStatus(await getOrg(m.token, org.id), 200).json.org.role, 'admin');
    // The new admin can do admin things at once.
    expectStatus(await call('GET', orgPath(org.id, '/invitations'), { token: m.token }), 200);
    // An admin demotes another admin.
    assertMember(expectStatus(await patchRole(m, admin2, 'member'), 200).json.member, { userId: admin2.user.id, role: 'member' });
    expectStatus(await call('GET', orgPath(org.id, '/invitations'), { token: admin2.token }), 403, 'forbidden');
    assertMember(expectStatus(await patchRole(admin, m, 'member'), 200).json.member, { userId: m.user.id, role: 'member' });
    // Roles other than admin and member are not a PATCH an admin can make: a bad role is 400.
    for (const role of ['superuser', '', 5, null, 'Admin']) {
      expectFieldError(await patchRole(owner, m, role), 'role');
    }
    expectFieldError(await call('PATCH', orgPath(org.id, `/members/${m.user.id}`), { token: owner.token, json: {} }), 'role');
    // A user who is not a member is not found.
    const stranger = await newUser({ tag: 'org-roles-stranger' });
    expectStatus(await patchRole(admin, stranger, 'admin'), 404, 'not_found');
    expectStatus(await call('DELETE', orgPath(org.id, `/members/${stranger.user.id}`), { token: admin.token }), 404, 'not_found');
    // Removal: {ok: true}; the removed member's access ends at once.
    assert.deepEqual(expectStatus(await call('DELETE', orgPath(org.id, `/members/${gone.user.id}`), { token: admin.token }), 200).json, { ok: true });
    expectStatus(await getOrg(gone.token, org.id), 404, 'not_found');
    expectStatus(await call('GET', notes(org.id), { token: gone.token }), 404, 'not_found');
    assert.deepEqual(await myOrgs(gone.token), []);
    expectStatus(await call('DELETE', orgPath(org.id, `/members/${gone.user.id}`), { token: admin.token }), 404, 'not_found');
    const list = await members(owner.token, org.id);
    assert.deepEqual(Object.fromEntries(list.map((x) => [x.userId, x.role])), {
      [owner.user.id]: 'owner', [admin.user.id]: 'admin', [admin2.user.id]: 'member', [m.user.id]: 'member',
    });
    for (const x of list) {
      const u = [owner, admin, admin2, m].find((y) => y.user.id === x.userId);
      assert.equal(x.email, u.email);
    }
  });

  test('a member may leave; they get 404 at once', async () => {
    const { org, owner, admins: [admin], members: [m] } = await orgWithMembers({ tag: 'org-leave', admins: 1, members: 1 });
    assert.deepEqual(expectStatus(await call('DELETE', orgPath(org.id, `/members/${m.user.id}`), { token: m.token }), 200).json, { ok: true });
    expectStatus(await getOrg(m.token, org.id), 404, 'not_found');
    expectStatus(await call('POST', orgPath(org.id, '/ws/ticket'), { token: m.token }), 404, 'not_found');
    assert.deepEqual(await myOrgs(m.token), []);
    // An admin may leave too.
    assert.deepEqual(expectStatus(await call('DELETE', orgPath(org.id, `/members/${admin.user.id}`), { token: admin.token }), 200).json, { ok: true });
    expectStatus(await getOrg(admin.token, org.id), 404, 'not_found');
    assert.deepEqual(await rolesOf(owner.token, org.id), { [owner.user.id]: 'owner' });
  });
});

describe('organizations: the owner', () => {
  test('nobody removes the owner, and the owner cannot leave before transferring ownership (409 conflict)', async () => {
    const { org, owner, admins: [admin] } = await orgWithMembers({ tag: 'org-owner-stays', admins: 1 });
    const removeOwner = (u) => call('DELETE', orgPath(org.id, `/members/${owner.user.id}`), { token: u.token });
    expectStatus(await removeOwner(admin), 409, 'conflict');
    expectStatus(await removeOwner(owner), 409, 'conflict');
    // Demoting the owner is not a way around it: refused, whoever asks.
    for (const u of [admin, owner]) {
      for (const role of ['admin', 'member']) {
        const res = await call('PATCH', orgPath(org.id, `/members/${owner.user.id}`), { token: u.token, json: { role } });
        assert.ok([403, 409].includes(res.status), `demoting the owner is refused (403 or 409): ${res.status} ${res.text}`);
        expectStatus(res, res.status, res.status === 403 ? 'forbidden' : 'conflict');
      }
    }
    assert.deepEqual(await rolesOf(admin.token, org.id), { [owner.user.id]: 'owner', [admin.user.id]: 'admin' });
    assert.equal(expectStatus(await getOrg(owner.token, org.id), 200).json.org.role, 'owner');
  });

  test('PATCH {role: "owner"} by the owner transfers ownership: the old owner becomes admin; only the owner may transfer', async () => {
    const { org, owner, admins: [admin], members: [m] } = await orgWithMembers({ tag: 'org-transfer', admins: 1, members: 1 });
    const transfer = (u, to) => call('PATCH', orgPath(org.id, `/members/${to.user.id}`), { token: u.token, json: { role: 'owner' } });
    expectStatus(await transfer(admin, admin), 403, 'forbidden');
    expectStatus(await transfer(m, m), 403, 'forbidden');
    const stranger = await newUser({ tag: 'org-transfer-stranger' });
    expectStatus(await transfer(owner, stranger), 404, 'not_found');
    const res = expectStatus(await transfer(owner, m), 200);
    assert.deepEqual(Object.keys(res.json), ['member']);
    assertMember(res.json.member, { userId: m.user.id, email: m.email, role: 'owner' });
    // Exactly one owner: the new one; the old owner is an admin.
    const roles = await rolesOf(owner.token, org.id);
    assert.deepEqual(roles, { [owner.user.id]: 'admin', [admin.user.id]: 'admin', [m.user.id]: 'owner' });
    assert.equal(expectStatus(await getOrg(owner.token, org.id), 200).json.org.role, 'admin');
    assert.equal(expectStatus(await getOrg(m.token, org.id), 200).json.org.role, 'owner');
    assert.deepEqual((await myOrgs(m.token)).map((o) => [o.id, o.role]), [[org.id, 'owner']]);
    assert.deepEqual((await myOrgs(owner.token)).map((o) => [o.id, o.role]), [[org.id, 'admin']]);
    // The old owner no longer transfers nor deletes; the new owner cannot leave, the old one can.
    expectStatus(await transfer(owner, owner), 403, 'forbidden');
    expectStatus(await call('DELETE', orgPath(org.id), { token: owner.token }), 403, 'forbidden');
    expectStatus(await call('DELETE', orgPath(org.id, `/members/${m.user.id}`), { token: m.token }), 409, 'conflict');
    expectStatus(await call('DELETE', orgPath(org.id, `/members/${m.user.id}`), { token: admin.token }), 409, 'conflict');
    assert.deepEqual(expectStatus(await call('DELETE', orgPath(org.id, `/members/${owner.user.id}`), { token: owner.token }), 200).json, { ok: true });
    expectStatus(await getOrg(owner.token, org.id), 404, 'not_found');
    assert.deepEqual(await rolesOf(m.token, org.id), { [admin.user.id]: 'admin', [m.user.id]: 'owner' });
    // And the new owner can hand it on again.
    assertMember(expectStatus(await transfer(m, admin), 200).json.member, { userId: admin.user.id, role: 'owner' });
    assert.deepEqual(await rolesOf(m.token, org.id), { [admin.user.id]: 'owner', [m.user.id]: 'admin' });
  });
});

describe('organizations: invitations', () => {
  test('an admin invites an email with no account yet; the token goes by mail only; the signup that follows accepts with the invited role', async () => {
    const { org, owner, admins: [admin] } = await orgWithMembers({ tag: 'org-invite', admins: 1 });
    const email = uniqueEmail('org-invitee');
    const { invitation, token, mail, res } = await invite(admin.token, org.id, email.toUpperCase(), 'member');
    assertInvitation(invitation, { email, role: 'member' }); // the normalised email
    assert.ok(Math.abs(invitation.createdAt - Date.now()) < 60_000);
    assert.equal(mail.to, email);
    assert.ok(mail.text.includes(token), 'the mail carries the token');
    assert.ok(!res.text.includes(token));
    // Pending invitations are listed for admins, without the token.
    const listed = expectStatus(await call('GET', orgPath(org.id, '/invitations'), { token: owner.token }), 200);
    assert.deepEqual(Object.keys(listed.json), ['invitations']);
    assert.deepEqual(listed.json.invitations, [invitation]);
    assert.ok(!listed.text.includes(token), 'the token is never in a listing');
    // The invitee signs up and accepts: {org} with the invited role.
    const u = await newUser({ email });
    expectStatus(await getOrg(u.token, org.id), 404, 'not_found');
    const joined = await accept(u.token, token, { id: org.id, name: org.name, role: 'member' });
    assert.deepEqual(expectStatus(await getOrg(u.token, org.id), 200).json, { org: joined });
    assert.deepEqual(await myOrgs(u.token), [joined]);
    const me = (await members(owner.token, org.id)).find((x) => x.userId === u.user.id);
    assertMember(me, { userId: u.user.id, email, role: 'member' });
    assert.ok(Math.abs(me.joinedAt - Date.now()) < 60_000);
    // No longer pending; the token is spent.
    assert.deepEqual(expectStatus(await call('GET', orgPath(org.id, '/invitations'), { token: owner.token }), 200).json.invitations, []);
    expectStatus(await call('POST', '/api/invitations/accept', { token: u.token, json: { token } }), 401, 'invalid_token');
  });

  test('an invitation as admin gives admin; an existing account accepts too', async () => {
    const { org, owner } = await orgWithMembers({ tag: 'org-invite-admin' });
    const u = await newUser({ tag: 'org-invite-existing' });
    const { token, mail } = await invite(owner.token, org.id, u.email, 'admin');
    assert.equal(mail.to, u.email);
    await accept(u.token, token, { id: org.id, role: 'admin' });
    assert.deepEqual(await rolesOf(owner.token, org.id), { [owner.user.id]: 'owner', [u.user.id]: 'admin' });
    // As an admin, they invite in turn.
    await invite(u.token, org.id, uniqueEmail('org-invite-by-admin'), 'member');
  });

  test('only admin and member can be invited; a bad role or email is 400 validation_failed', async () => {
    const { org, owner } = await orgWithMembers({ tag: 'org-invite-bad' });
    const post = (json) => call('POST', orgPath(org.id, '/invitations'), { token: owner.token, json });
    for (const role of ['owner', 'superuser', '', 5, null, 'MEMBER']) {
      expectFieldError(await post({ email: uniqueEmail('org-bad-role'), role }), 'role');
    }
    for (const email of ['nope', '', 5, null, 'a b@example.com']) {
      expectFieldError(await post({ email, role: 'member' }), 'email');
    }
    const both = expectStatus(await post({ email: 'nope', role: 'owner' }), 400, 'validation_failed');
    expectFieldError(both, 'email');
    expectFieldError(both, 'role');
    assert.deepEqual(expectStatus(await call('GET', orgPath(org.id, '/invitations'), { token: owner.token }), 200).json.invitations, []);
  });

  test('inviting an email that is already a member is 409 conflict', async () => {
    const { org, owner, members: [m] } = await orgWithMembers({ tag: 'org-invite-dup', members: 1 });
    for (const email of [m.email, owner.email, `  ${m.email.toUpperCase()} `]) {
      expectStatus(await call('POST', orgPath(org.id, '/invitations'), { token: owner.token, json: { email, role: 'admin' } }), 409, 'conflict');
    }
    assert.deepEqual(expectStatus(await call('GET', orgPath(org.id, '/invitations'), { token: owner.token }), 200).json.invitations, []);
    assert.deepEqual(await rolesOf(owner.token, org.id), { [owner.user.id]: 'owner', [m.user.id]: 'member' });
  });

  test('accepting as a user the invitation does not name is 403 forbidden, and the invitation stays usable', async () => {
    const { org, owner } = await orgWithMembers({ tag: 'org-invite-wrong' });
    const invitee = await newUser({ tag: 'org-invite-right' });
    const thief = await newUser({ tag: 'org-invite-thief' });
    const { token, invitation } = await invite(owner.token, org.id, invitee.email, 'admin');
    expectStatus(await call('POST', '/api/invitations/accept', { token: thief.token, json: { token } }), 403, 'forbidden');
    // The owner, already a member, is not the invitee either.
    expectStatus(await call('POST', '/api/invitations/accept', { token: owner.token, json: { token } }), 403, 'forbidden');
    expectStatus(await getOrg(thief.token, org.id), 404, 'not_found');
    assert.deepEqual(await myOrgs(thief.token), []);
    assert.deepEqual(expectStatus(await call('GET', orgPath(org.id, '/invitations'), { token: owner.token }), 200).json.invitations, [invitation]);
    await accept(invitee.token, token, { id: org.id, role: 'admin' });
    assert.deepEqual(await rolesOf(owner.token, org.id), { [owner.user.id]: 'owner', [invitee.user.id]: 'admin' });
  });

  test('a revoked, used or unknown token is 401 invalid_token; revoking is for admins and answers {ok: true}', async () => {
    const { org, owner } = await orgWithMembers({ tag: 'org-invite-revoke' });
    const u = await newUser({ tag: 'org-invite-revoked' });
    const { token, invitation } = await invite(owner.token, org.id, u.email);
    assert.deepEqual(expectStatus(await call('DELETE', orgPath(org.id, `/invitations/${invitation.id}`), { token: owner.token }), 200).json, { ok: true });
    assert.deepEqual(expectStatus(await call('GET', orgPath(org.id, '/invitations'), { token: owner.token }), 200).json.invitations, []);
    const acceptAs = (tok, t) => call('POST', '/api/invitations/accept', { token: tok, json: { token: t } });
    expectStatus(await acceptAs(u.token, token), 401, 'invalid_token');
    expectStatus(await call('DELETE', orgPath(org.id, `/invitations/${invitation.id}`), { token: owner.token }), 404, 'not_found');
    expectStatus(await call('DELETE', orgPath(org.id, '/invitations/no-such-invitation'), { token: owner.token }), 404, 'not_found');
    // Unknown tokens, and tokens of other kinds.
    const tail = token.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA';
    for (const t of ['garbage', `${token.slice(0, -4)}${tail}`, u.refreshToken, u.token, 'x'.repeat(64)]) {
      expectStatus(await acceptAs(u.token, t), 401, 'invalid_token');
    }
    expectStatus(await call('POST', '/api/password-reset/request', { json: { email: u.email } }), 202);
    const reset = (await outbox(u.email)).filter((mail) => !/invit/i.test(mail.subject)).at(-1).token;
    expectStatus(await acceptAs(u.token, reset), 401, 'invalid_token');
    // A second invitation works once; then it is used.
    const again = await invite(owner.token, org.id, u.email);
    assert.notEqual(again.token, token, 'a new invitation has a new token');
    expectStatus(await call('POST', '/api/password-reset/confirm', { json: { token: again.token, newPassword: 'a new long password' } }), 401, 'invalid_token');
    await accept(u.token, again.token, { id: org.id, role: 'member' });
    expectStatus(await acceptAs(u.token, again.token), 401, 'invalid_token');
    assert.deepEqual(await rolesOf(owner.token, org.id), { [owner.user.id]: 'owner', [u.user.id]: 'member' });
  });

  test('POST /api/invitations/accept needs a live session and a {token}', async () => {
    const { org, owner } = await orgWithMembers({ tag: 'org-accept-auth' });
    const u = await newUser({ tag: 'org-accept-auth-invitee' });
    const { token } = await invite(owner.token, org.id, u.email);
    expectStatus(await call('POST', '/api/invitations/accept', { json: { token } }), 401, 'unauthenticated');
    expectStatus(await call('POST', '/api/invitations/accept', { token: 'not-a-token', json: { token } }), 401, 'invalid_token');
    expectFieldError(await call('POST', '/api/invitations/accept', { token: u.token, json: {} }), 'token');
    expectFieldError(await call('POST', '/api/invitations/accept', { token: u.token, json: { token: 5 } }), 'token');
    expectStatus(await call('POST', '/api/invitations/accept', { token: u.token, raw: '{"token":', headers: JSON_HEADERS }), 400, 'invalid_json');
    const other = await login(u.email);
    expectStatus(await call('POST', '/api/logout', { token: other.token }), 200);
    expectStatus(await call('POST', '/api/invitations/accept', { token: other.token, json: { token } }), 401, 'session_revoked');
    // Still unspent after all that.
    await accept(u.token, token, { id: org.id, role: 'member' });
  });
});
