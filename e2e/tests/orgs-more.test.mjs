// Organizations over HTTP, continued from orgs.test.mjs (black-box against API.md and SECURITY.md):
// settings and deletion, the `notes` organization table, account deletion, authentication, CSRF
// and bad bodies, and the limits.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ALLOWED_ORIGIN, BASE, EVIL_ORIGIN, PASSWORD, call, expectFieldError, expectStatus, login, newUser, uniqueEmail,
} from '../lib/api.mjs';
import {
  accept, assertOrg, createNote, createOrg, invite, members, myOrgs, orgName, orgPath, orgWithMembers, rolesOf, tryOrgUpgrade, notes, JSON_HEADERS, getOrg, everyOrgPath,
} from '../lib/orgs.mjs';

describe('organizations: settings and deletion', () => {
  test('PATCH /api/orgs/{org} renames (admin): 200 {org} with the caller\'s role; names are 1 to 100 characters', async () => {
    const { org, owner, admins: [admin], members: [m] } = await orgWithMembers({ tag: 'org-rename', admins: 1, members: 1 });
    const rename = (u, json) => call('PATCH', orgPath(org.id), { token: u.token, json });
    const res = expectStatus(await rename(admin, { name: 'Renamed by admin' }), 200);
    assert.deepEqual(Object.keys(res.json), ['org']);
    assertOrg(res.json.org, { id: org.id, name: 'Renamed by admin', role: 'admin' });
    assert.equal(res.json.org.createdAt, org.createdAt);
    assertOrg(expectStatus(await rename(owner, { name: 'x'.repeat(100) }), 200).json.org, { name: 'x'.repeat(100), role: 'owner' });
    for (const body of [{}, { name: '' }, { name: 'x'.repeat(101) }, { name: 7 }, { name: null }]) {
      expectFieldError(await rename(owner, body), 'name');
    }
    expectStatus(await rename(m, { name: 'by member' }), 403, 'forbidden');
    // Everyone sees the name, each with their own role.
    for (const [u, role] of [[owner, 'owner'], [admin, 'admin'], [m, 'member']]) {
      assertOrg(expectStatus(await getOrg(u.token, org.id), 200).json.org, { id: org.id, name: 'x'.repeat(100), role });
      assert.equal((await myOrgs(u.token)).find((o) => o.id === org.id).name, 'x'.repeat(100));
    }
  });

  test('DELETE /api/orgs/{org} is for the owner; afterwards every path is 404 for everyone who was in it', async () => {
    const { org, owner, admins: [admin], members: [m] } = await orgWithMembers({ tag: 'org-delete', admins: 1, members: 1 });
    const note = await createNote(m.token, org.id, { title: 'doomed' });
    const pendingEmail = uniqueEmail('org-delete-pending');
    const { token: pendingToken, invitation } = await invite(owner.token, org.id, pendingEmail);
    const keep = await createOrg(m.token, orgName('survivor'));
    expectStatus(await call('DELETE', orgPath(org.id), { token: admin.token }), 403, 'forbidden');
    expectStatus(await call('DELETE', orgPath(org.id), { token: m.token }), 403, 'forbidden');
    assert.deepEqual(expectStatus(await call('DELETE', orgPath(org.id), { token: owner.token }), 200).json, { ok: true });
    for (const u of [owner, admin, m]) {
      for (const [method, path, json] of everyOrgPath(org.id, { userId: m.user.id, invitationId: invitation.id, noteId: note.id })) {
        expectStatus(await call(method, path, { token: u.token, json }), 404, 'not_found');
      }
      expectStatus(await tryOrgUpgrade(org.id, '', { authorization: `Bearer ${u.token}` }), 404, 'not_found');
    }
    assert.deepEqual(await myOrgs(owner.token), []);
    assert.deepEqual(await myOrgs(admin.token), []);
    assert.deepEqual((await myOrgs(m.token)).map((o) => o.id), [keep.id], 'other organizations stay');
    // Its data is gone, pending invitations with it.
    const late = await newUser({ email: pendingEmail });
    expectStatus(await call('POST', '/api/invitations/accept', { token: late.token, json: { token: pendingToken } }), 401, 'invalid_token');
    expectStatus(await getOrg(late.token, org.id), 404, 'not_found');
    // The owner goes on as anyone does.
    await createOrg(owner.token);
  });
});

describe('organizations: the notes table', () => {
  test('members read and write notes with the shapes of user tables; only admins delete', async () => {
    const { org, owner, admins: [admin], members: [m, m2] } = await orgWithMembers({ tag: 'org-notes', admins: 1, members: 2 });
    const before = Date.now();
    const created = expectStatus(await call('POST', notes(org.id), { token: m.token, json: { title: 'agenda' } }), 201);
    assert.deepEqual(Object.keys(created.json), ['row']);
    const row = created.json.row;
    assert.deepEqual(Object.keys(row).sort(), ['body', 'createdAt', 'id', 'title', 'updatedAt']);
    assert.equal(row.title, 'agenda');
    assert.equal(row.body, '', 'body defaults to ""');
    assert.match(row.id, /^[0-9a-f]{32}$/);
    assert.ok(Math.abs(row.createdAt - before) < 60_000 && row.updatedAt === row.createdAt);
    // Another member sees it and edits it.
    assert.deepEqual(expectStatus(await call('GET', notes(org.id), { token: m2.token }), 200).json, { rows: [row], count: 1 });
    assert.deepEqual(expectStatus(await call('GET', notes(org.id, `/${row.id}`), { token: m2.token }), 200).json, { row });
    const patched = expectStatus(await call('PATCH', notes(org.id, `/${row.id}`), { token: m2.token, json: { body: 'item 1' } }), 200).json.row;
    assert.equal(patched.body, 'item 1');
    assert.equal(patched.title, 'agenda', 'a partial update keeps the other fields');
    assert.equal(patched.createdAt, row.createdAt);
    assert.ok(patched.updatedAt >= row.updatedAt);
    assert.deepEqual(expectStatus(await call('GET', notes(org.id, `/${row.id}`), { token: owner.token }), 200).json, { row: patched });
    // Queries as for user tables.
    const other = await createNote(owner.token, org.id, { title: 'minutes', body: 'b' });
    const found = expectStatus(await call('GET', notes(org.id, `?where=${encodeURIComponent('title:eq:minutes')}`), { token: m.token }), 200).json;
    assert.deepEqual(found, { rows: [other], count: 1 });
    const sorted = expectStatus(await call('GET', notes(org.id, `?orderBy=${encodeURIComponent('title:desc')}&limit=1`), { token: m.token }), 200).json;
    assert.deepEqual(sorted, { rows: [other], count: 2 });
    expectStatus(await call('GET', notes(org.id, `?where=${encodeURIComponent('color:eq:red')}`), { token: m.token }), 400, 'invalid_query');
    // Members do not delete; admins and the owner do.
    expectStatus(await call('DELETE', notes(org.id, `/${row.id}`), { token: m.token }), 403, 'forbidden');
    assert.deepEqual(expectStatus(await call('GET', notes(org.id, `/${row.id}`), { token: m.token }), 200).json, { row: patched });
    assert.deepEqual(expectStatus(await call('DELETE', notes(org.id, `/${row.id}`), { token: admin.token }), 200).json, { ok: true });
    expectStatus(await call('GET', notes(org.id, `/${row.id}`), { token: m.token }), 404, 'not_found');
    expectStatus(await call('DELETE', notes(org.id, `/${row.id}`), { token: admin.token }), 404, 'not_found');
    expectStatus(await call('PATCH', notes(org.id, `/${row.id}`), { token: m.token, json: { body: 'x' } }), 404, 'not_found');
    assert.deepEqual(expectStatus(await call('DELETE', notes(org.id, `/${other.id}`), { token: owner.token }), 200).json, { ok: true });
    assert.deepEqual(expectStatus(await call('GET', notes(org.id), { token: m.token }), 200).json, { rows: [], count: 0 });
  });

  test('notes are validated per field: title 1 to 200 characters, body at most 10,000', async () => {
    const { org, members: [m] } = await orgWithMembers({ tag: 'org-notes-valid', members: 1 });
    const post = (json) => call('POST', notes(org.id), { token: m.token, json });
    expectFieldError(await post({}), 'title');
    expectFieldError(await post({ title: '' }), 'title');
    expectFieldError(await post({ title: 'x'.repeat(201) }), 'title');
    expectFieldError(await post({ title: 5 }), 'title');
    expectFieldError(await post({ title: 'a', body: 'x'.repeat(10_001) }), 'body');
    expectFieldError(await post({ title: 'a', body: 5 }), 'body');
    expectFieldError(await post({ title: 'a', color: 'red' }), 'color');
    expectFieldError(await post({ title: 'a', id: 'mine' }), 'id');
    const both = expectStatus(await post({ title: '', body: 7 }), 400, 'validation_failed');
    assert.deepEqual(Object.keys(both.json.error.details).sort(), ['body', 'title']);
    expectStatus(await post([{ title: 'a' }]), 400, 'invalid_json');
    expectStatus(await call('POST', notes(org.id), { token: m.token, raw: '{"title":', headers: JSON_HEADERS }), 400, 'invalid_json');
    assert.equal(expectStatus(await call('GET', notes(org.id), { token: m.token }), 200).json.count, 0, 'nothing was written');
    const row = await createNote(m.token, org.id, { title: 'x'.repeat(200), body: 'y'.repeat(10_000) });
    expectFieldError(await call('PATCH', notes(org.id, `/${row.id}`), { token: m.token, json: { title: '' } }), 'title');
    expectFieldError(await call('PATCH', notes(org.id, `/${row.id}`), { token: m.token, json: { body: 'z'.repeat(10_001) } }), 'body');
    assert.deepEqual(expectStatus(await call('GET', notes(org.id, `/${row.id}`), { token: m.token }), 200).json, { row });
  });

  test('each organization has its own notes; user tables and unknown tables are not organization tables', async () => {
    const a = await newUser({ tag: 'org-notes-iso' });
    const one = await createOrg(a.token, orgName('one'));
    const two = await createOrg(a.token, orgName('two'));
    const row = await createNote(a.token, one.id, { title: 'only in one' });
    assert.deepEqual(expectStatus(await call('GET', notes(two.id), { token: a.token }), 200).json, { rows: [], count: 0 });
    expectStatus(await call('GET', notes(two.id, `/${row.id}`), { token: a.token }), 404, 'not_found');
    expectStatus(await call('DELETE', notes(two.id, `/${row.id}`), { token: a.token }), 404, 'not_found');
    // The user's own tables are the user's, not the organization's, and the other way round.
    expectStatus(await call('GET', orgPath(one.id, '/tables/todos'), { token: a.token }), 404, 'not_found');
    expectStatus(await call('GET', orgPath(one.id, '/tables/nope'), { token: a.token }), 404, 'not_found');
    expectStatus(await call('GET', '/api/tables/notes', { token: a.token }), 404, 'not_found');
    assert.deepEqual(expectStatus(await call('GET', '/api/tables/todos', { token: a.token }), 200).json, { rows: [], count: 0 });
    assert.equal(expectStatus(await call('GET', notes(one.id), { token: a.token }), 200).json.count, 1);
  });
});

describe('organizations: account deletion', () => {
  test('deletion is refused with 409 conflict while the user owns an organization with other members', async () => {
    const { org, owner, members: [m] } = await orgWithMembers({ tag: 'org-acct-owner', members: 1 });
    expectStatus(await call('DELETE', '/api/account', { token: owner.token, json: { password: PASSWORD } }), 409, 'conflict');
    expectStatus(await call('GET', '/api/me', { token: owner.token }), 200);
    assert.deepEqual(await rolesOf(m.token, org.id), { [owner.user.id]: 'owner', [m.user.id]: 'member' });
    // Once ownership is handed over, the account goes, and leaves the organization.
    expectStatus(await call('PATCH', orgPath(org.id, `/members/${m.user.id}`), { token: owner.token, json: { role: 'owner' } }), 200);
    expectStatus(await call('DELETE', '/api/account', { token: owner.token, json: { password: PASSWORD } }), 200);
    assert.deepEqual(await rolesOf(m.token, org.id), { [m.user.id]: 'owner' });
    assertOrg(expectStatus(await getOrg(m.token, org.id), 200).json.org, { id: org.id, role: 'owner' });
  });

  test('an organization whose only member is its owner is deleted with the account', async () => {
    const u = await newUser({ tag: 'org-acct-alone' });
    const org = await createOrg(u.token);
    const pendingEmail = uniqueEmail('org-acct-alone-invitee');
    const { token } = await invite(u.token, org.id, pendingEmail);
    expectStatus(await call('DELETE', '/api/account', { token: u.token, json: { password: PASSWORD } }), 200);
    // The invitation went with it.
    const late = await newUser({ email: pendingEmail });
    expectStatus(await call('POST', '/api/invitations/accept', { token: late.token, json: { token } }), 401, 'invalid_token');
    // A new account with the same email (the same user id) finds nothing of it.
    const again = await newUser({ email: u.email });
    assert.equal(again.user.id, u.user.id, 'the user id is the id of the email\'s object');
    assert.deepEqual(await myOrgs(again.token), []);
    expectStatus(await getOrg(again.token, org.id), 404, 'not_found');
    expectStatus(await call('GET', notes(org.id), { token: again.token }), 404, 'not_found');
  });

  test("a member's account deletion removes them from the organization", async () => {
    const { org, owner, admins: [admin], members: [m] } = await orgWithMembers({ tag: 'org-acct-member', admins: 1, members: 1 });
    expectStatus(await call('DELETE', '/api/account', { token: m.token, json: { password: PASSWORD } }), 200);
    expectStatus(await call('DELETE', '/api/account', { token: admin.token, json: { password: PASSWORD } }), 200);
    assert.deepEqual(await rolesOf(owner.token, org.id), { [owner.user.id]: 'owner' });
    // Signing up again with that email (the same user id) does not bring the membership back.
    const again = await newUser({ email: m.email });
    expectStatus(await getOrg(again.token, org.id), 404, 'not_found');
    assert.deepEqual(await myOrgs(again.token), []);
    // The owner, now alone, may delete the account, and the organization goes with it.
    expectStatus(await call('DELETE', '/api/account', { token: owner.token, json: { password: PASSWORD } }), 200);
  });
});

describe('organizations: authentication, CSRF and bad bodies', () => {
  test('without a live session every organization path is 401', async () => {
    const { org, owner, members: [m] } = await orgWithMembers({ tag: 'org-401', members: 1 });
    const paths = [['POST', '/api/orgs', { name: 'anon' }], ['GET', '/api/orgs'], ['POST', '/api/invitations/accept', { token: 'x' }],
      ...everyOrgPath(org.id, { userId: m.user.id, invitationId: 'x', noteId: 'x' })];
    for (const [method, path, json] of paths) {
      expectStatus(await call(method, path, { json }), 401, 'unauthenticated');
      expectStatus(await call(method, path, { json, token: 'not-a-token' }), 401, 'invalid_token');
    }
    // A session that ended is refused at once, though the user is a member.
    const ended = await login(m.email);
    expectStatus(await call('POST', '/api/logout', { token: ended.token }), 200);
    for (const [method, path, json] of everyOrgPath(org.id, { userId: m.user.id, invitationId: 'x', noteId: 'x' })) {
      expectStatus(await call(method, path, { json, token: ended.token }), 401, 'session_revoked');
    }
    expectStatus(await call('GET', '/api/orgs', { token: ended.token }), 401, 'session_revoked');
    expectStatus(await call('POST', '/api/orgs', { token: ended.token, json: { name: 'x' } }), 401, 'session_revoked');
    assert.deepEqual(await rolesOf(owner.token, org.id), { [owner.user.id]: 'owner', [m.user.id]: 'member' });
    assertOrg(expectStatus(await getOrg(m.token, org.id), 200).json.org, { name: org.name });
  });

  test('cookie-authenticated changes need an allowed Origin (403 csrf_rejected); reads do not', async () => {
    const u = await newUser({ tag: 'org-csrf' });
    const cookie = `token=${u.token}`;
    for (const origin of [EVIL_ORIGIN, undefined, 'null', 'http://localhost:5174']) {
      expectStatus(await call('POST', '/api/orgs', { cookie, origin, json: { name: 'csrf' } }), 403, 'csrf_rejected');
    }
    assert.deepEqual(await myOrgs(u.token), [], 'a refused request made nothing');
    const created = expectStatus(await call('POST', '/api/orgs', { cookie, origin: ALLOWED_ORIGIN, json: { name: 'by cookie' } }), 201);
    const org = assertOrg(created.json.org, { name: 'by cookie', role: 'owner' });
    assert.deepEqual(expectStatus(await call('GET', '/api/orgs', { cookie }), 200).json, { orgs: [org] });
    assert.deepEqual(expectStatus(await call('GET', orgPath(org.id), { cookie }), 200).json, { org });
    const invitee = await newUser({ tag: 'org-csrf-invitee' });
    const { token } = await invite(u.token, org.id, invitee.email);
    const changes = [
      ['PATCH', orgPath(org.id), { name: 'hijacked' }],
      ['POST', orgPath(org.id, '/invitations'), { email: uniqueEmail('org-csrf-evil'), role: 'admin' }],
      ['POST', notes(org.id), { title: 'csrf' }],
      ['POST', orgPath(org.id, '/ws/ticket')],
      ['DELETE', orgPath(org.id)],
    ];
    for (const [method, path, json] of changes) {
      expectStatus(await call(method, path, { cookie, origin: EVIL_ORIGIN, json }), 403, 'csrf_rejected');
    }
    const invCookie = `token=${invitee.token}`;
    expectStatus(await call('POST', '/api/invitations/accept', { cookie: invCookie, origin: EVIL_ORIGIN, json: { token } }), 403, 'csrf_rejected');
    assert.deepEqual(expectStatus(await call('GET', orgPath(org.id), { cookie }), 200).json, { org }, 'nothing changed');
    assert.equal(expectStatus(await call('GET', notes(org.id), { token: u.token }), 200).json.count, 0);
    assert.equal(expectStatus(await call('GET', orgPath(org.id, '/invitations'), { token: u.token }), 200).json.invitations.length, 1);
    // From an allowed origin (or the worker's own) the same requests work.
    await accept(invitee.token, token, { id: org.id, role: 'member' }); // bearer: no Origin needed
    expectStatus(await call('PATCH', orgPath(org.id), { cookie, origin: BASE, json: { name: 'renamed' } }), 200);
    expectStatus(await call('POST', notes(org.id), { cookie, origin: ALLOWED_ORIGIN, json: { title: 'ok' } }), 201);
    expectStatus(await call('DELETE', orgPath(org.id), { cookie, origin: ALLOWED_ORIGIN }), 200);
  });

  test('bodies that are not JSON objects are 400 invalid_json; other media types 415; other methods 405', async () => {
    const { org, owner, members: [m] } = await orgWithMembers({ tag: 'org-badjson', members: 1 });
    const targets = [
      ['POST', '/api/orgs'],
      ['PATCH', orgPath(org.id)],
      ['PATCH', orgPath(org.id, `/members/${m.user.id}`)],
      ['POST', orgPath(org.id, '/invitations')],
      ['POST', '/api/invitations/accept'],
      ['POST', notes(org.id)],
    ];
    for (const [method, path] of targets) {
      for (const raw of ['{', '{"name":', '[]', '"x"', '5', 'null']) {
        expectStatus(await call(method, path, { token: owner.token, raw, headers: JSON_HEADERS }), 400, 'invalid_json');
      }
    }
    expectStatus(await call('POST', '/api/orgs', { token: owner.token, raw: '{"name":"x"}', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
    expectStatus(await call('PUT', '/api/orgs', { token: owner.token, json: { name: 'x' } }), 405, 'method_not_allowed');
    expectStatus(await call('PUT', orgPath(org.id), { token: owner.token, json: { name: 'x' } }), 405, 'method_not_allowed');
    assert.deepEqual((await myOrgs(owner.token)).map((o) => o.id), [org.id]);
    assert.deepEqual(expectStatus(await getOrg(owner.token, org.id), 200).json, { org });
    assert.deepEqual(await rolesOf(owner.token, org.id), { [owner.user.id]: 'owner', [m.user.id]: 'member' });
  });
});

describe('organizations: limits', () => {
  test('100 organizations per user: the 101st is 409 conflict', { timeout: 300_000 }, async () => {
    const u = await newUser({ tag: 'org-limit-orgs' });
    for (let i = 0; i < 100; i++) await createOrg(u.token, `limit ${i}`);
    expectStatus(await call('POST', '/api/orgs', { token: u.token, json: { name: 'one too many' } }), 409, 'conflict');
    assert.equal((await myOrgs(u.token)).length, 100);
    // Leaving one (here by deleting it) makes room again.
    const [first] = await myOrgs(u.token);
    expectStatus(await call('DELETE', orgPath(first.id), { token: u.token }), 200);
    await createOrg(u.token, 'room again');
  });

  test('50 invitations per organization per day: the 51st is refused (429 rate_limited with Retry-After, or 409)', { timeout: 300_000 }, async () => {
    const { org, owner } = await orgWithMembers({ tag: 'org-limit-inv' });
    for (let i = 0; i < 50; i++) {
      expectStatus(await call('POST', orgPath(org.id, '/invitations'), { token: owner.token, json: { email: uniqueEmail(`org-lim${i}`), role: 'member' } }), 201);
    }
    const res = await call('POST', orgPath(org.id, '/invitations'), { token: owner.token, json: { email: uniqueEmail('org-lim-over'), role: 'member' } });
    if (res.status === 429) {
      expectStatus(res, 429, 'rate_limited');
      assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
    } else {
      expectStatus(res, 409, 'conflict');
    }
    assert.equal(expectStatus(await call('GET', orgPath(org.id, '/invitations'), { token: owner.token }), 200).json.invitations.length, 50);
  });
});
