// Helpers for the organization tests (API.md, "Organizations (teams) and roles"): creating an
// organization, inviting and accepting through the dev outbox, members, notes, and the
// organization's WebSocket feed (GET /api/orgs/{org}/ws). Node builtins only.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BASE, call, expectStatus, newUser, uniqueEmail } from './api.mjs';
import { Socket, tryUpgrade } from './ws.mjs';

const WS_BASE = BASE.replace(/^http/, 'ws');

/** A close frame reaches the client late under wrangler dev (about 10 s, see realtime.test.mjs). */
export const CLOSE_WAIT_MS = 45_000;

export const ROLES = ['owner', 'admin', 'member'];

/** The path of an organization, with an optional rest (`/members`, `/tables/notes/ID`...). */
export const orgPath = (orgId, rest = '') => `/api/orgs/${orgId}${rest}`;
/** The path of the default worker's `notes` organization table (and `rest` below it). */
export const notes = (orgId, rest = '') => orgPath(orgId, `/tables/notes${rest}`);

/** Every path of an organization, with a method and a body an allowed caller could send. */
export function everyOrgPath(orgId, { userId, invitationId, noteId }) {
  return [
    ['GET', orgPath(orgId)],
    ['PATCH', orgPath(orgId), { name: 'taken over' }],
    ['DELETE', orgPath(orgId)],
    ['GET', orgPath(orgId, '/members')],
    ['PATCH', orgPath(orgId, `/members/${userId}`), { role: 'member' }],
    ['PATCH', orgPath(orgId, `/members/${userId}`), { role: 'owner' }],
    ['DELETE', orgPath(orgId, `/members/${userId}`)],
    ['POST', orgPath(orgId, '/invitations'), { email: uniqueEmail('intruder-invite'), role: 'admin' }],
    ['GET', orgPath(orgId, '/invitations')],
    ['DELETE', orgPath(orgId, `/invitations/${invitationId}`)],
    ['GET', notes(orgId)],
    ['GET', notes(orgId, '?where=title:eq:secret')],
    ['POST', notes(orgId), { title: 'planted' }],
    ['GET', notes(orgId, `/${noteId}`)],
    ['PATCH', notes(orgId, `/${noteId}`), { title: 'defaced' }],
    ['DELETE', notes(orgId, `/${noteId}`)],
    ['GET', orgPath(orgId, '/tables/nope')],
    ['POST', orgPath(orgId, '/ws/ticket')],
  ];
}

/** GET /api/orgs/{org} as `token`. */
export const getOrg = (token, orgId) => call('GET', orgPath(orgId), { token });
export const JSON_HEADERS = { 'content-type': 'application/json' };
/** Rows sorted by id, to compare lists whatever their order. */
export const byId = (list) => [...list].sort((a, b) => (a.id < b.id ? -1 : 1));

/** An organization id that names no organization: 32 lowercase hex characters, like a real one. */
export const unknownOrgId = () => randomBytes(16).toString('hex');

/** A unique organization name (well under the 100-character limit). */
export const orgName = (tag = 'team') => `${tag} ${randomBytes(3).toString('hex')}`;

/** `org` is exactly {id, name, createdAt, role}, with those types; and the expected values when given. */
export function assertOrg(org, { id, name, role } = {}) {
  assert.ok(org && typeof org === 'object', `org: ${JSON.stringify(org)}`);
  assert.deepEqual(Object.keys(org).sort(), ['createdAt', 'id', 'name', 'role'], `org keys: ${JSON.stringify(org)}`);
  assert.match(org.id, /^[0-9a-f]{32}$/, `org id: ${JSON.stringify(org)}`);
  assert.equal(typeof org.name, 'string');
  assert.equal(typeof org.createdAt, 'number');
  assert.ok(Math.abs(org.createdAt - Date.now()) < 10 * 60_000, `createdAt is milliseconds of now-ish: ${org.createdAt}`);
  assert.ok(ROLES.includes(org.role), `role: ${JSON.stringify(org)}`);
  if (id !== undefined) assert.equal(org.id, id);
  if (name !== undefined) assert.equal(org.name, name);
  if (role !== undefined) assert.equal(org.role, role, `the caller's role: ${JSON.stringify(org)}`);
  return org;
}

/** A member is exactly {userId, email, role, joinedAt}. */
export function assertMember(member, { userId, email, role } = {}) {
  assert.ok(member && typeof member === 'object', `member: ${JSON.stringify(member)}`);
  assert.deepEqual(Object.keys(member).sort(), ['email', 'joinedAt', 'role', 'userId'], `member keys: ${JSON.stringify(member)}`);
  assert.equal(typeof member.userId, 'string');
  assert.equal(typeof member.email, 'string');
  assert.equal(typeof member.joinedAt, 'number');
  assert.ok(ROLES.includes(member.role), `role: ${JSON.stringify(member)}`);
  if (userId !== undefined) assert.equal(member.userId, userId);
  if (email !== undefined) assert.equal(member.email, email);
  if (role !== undefined) assert.equal(member.role, role, `role of ${member.email}`);
  return member;
}

/** An invitation is exactly {id, email, role, createdAt, expiresAt}, valid 7 days. */
export function assertInvitation(invitation, { email, role } = {}) {
  assert.ok(invitation && typeof invitation === 'object', `invitation: ${JSON.stringify(invitation)}`);
  assert.deepEqual(Object.keys(invitation).sort(), ['createdAt', 'email', 'expiresAt', 'id', 'role'], `invitation keys: ${JSON.stringify(invitation)}`);
  assert.equal(typeof invitation.id, 'string');
  assert.ok(invitation.id.length > 0);
  assert.equal(typeof invitation.createdAt, 'number');
  assert.equal(typeof invitation.expiresAt, 'number');
  const week = 7 * 24 * 3600 * 1000;
  assert.ok(Math.abs(invitation.expiresAt - invitation.createdAt - week) < 60_000, `valid 7 days: ${JSON.stringify(invitation)}`);
  if (email !== undefined) assert.equal(invitation.email, email);
  if (role !== undefined) assert.equal(invitation.role, role);
  return invitation;
}

/** POST /api/orgs: 201 {org} with the caller its owner. Returns the org. */
export async function createOrg(token, name = orgName()) {
  const res = expectStatus(await call('POST', '/api/orgs', { token, json: { name } }), 201);
  assert.deepEqual(Object.keys(res.json), ['org'], res.text);
  return assertOrg(res.json.org, { name, role: 'owner' });
}

/** GET /api/orgs/{org}/members: the list of members (asserting each one's shape). */
export async function members(token, orgId) {
  const res = expectStatus(await call('GET', orgPath(orgId, '/members'), { token }), 200);
  assert.deepEqual(Object.keys(res.json), ['members'], res.text);
  assert.ok(Array.isArray(res.json.members));
  for (const m of res.json.members) assertMember(m);
  return res.json.members;
}

/** {userId: role} of every member, as `token`'s holder sees it. */
export async function rolesOf(token, orgId) {
  return Object.fromEntries((await members(token, orgId)).map((m) => [m.userId, m.role]));
}

/** GET /api/orgs: {id: role} of the caller's organizations (asserting each org's shape). */
export async function myOrgs(token) {
  const res = expectStatus(await call('GET', '/api/orgs', { token }), 200);
  assert.deepEqual(Object.keys(res.json), ['orgs'], res.text);
  assert.ok(Array.isArray(res.json.orgs));
  for (const o of res.json.orgs) assertOrg(o);
  assert.equal(new Set(res.json.orgs.map((o) => o.id)).size, res.json.orgs.length, `each org once: ${res.text}`);
  return res.json.orgs;
}

/** The messages of the dev outbox of an email, newest last. */
export async function outbox(email) {
  const res = expectStatus(await call('GET', `/api/dev/outbox?email=${encodeURIComponent(email)}`), 200);
  return res.json.messages;
}

/** An email as the server normalises it (trimmed, NFC, lower-cased). */
export const normaliseEmail = (email) => email.trim().normalize('NFC').toLowerCase();

const invitationMails = async (email) => (await outbox(normaliseEmail(email))).filter((m) => /invit/i.test(m.subject ?? ''));

/**
 * POST /api/orgs/{org}/invitations, then the token from the invitee's dev outbox (the newest
 * message whose subject says "invit"). Checks that the token is in the mail and nowhere in the
 * answer. Returns { invitation, token, mail, res }.
 */
export async function invite(token, orgId, email, role = 'member') {
  const before = (await invitationMails(email)).length;
  const res = expectStatus(await call('POST', orgPath(orgId, '/invitations'), { token, json: { email, role } }), 201);
  assert.deepEqual(Object.keys(res.json), ['invitation'], res.text);
  const invitation = assertInvitation(res.json.invitation, { email: normaliseEmail(email), role });
  // The mail is expected in the outbox when the answer comes; a short grace in case it is sent
  // just after (there is no event to await for it).
  let mails = await invitationMails(email);
  for (let i = 0; i < 20 && mails.length <= before; i++) {
    await sleep(100);
    mails = await invitationMails(email);
  }
  assert.ok(mails.length > before, `no invitation mail for ${email} in the dev outbox: ${JSON.stringify(await outbox(normaliseEmail(email)))}`);
  const mail = mails.at(-1);
  assert.equal(typeof mail.token, 'string');
  assert.ok(mail.token.length >= 22, `an invitation token of at least 128 bits: ${mail.token}`);
  assert.ok(!res.text.includes(mail.token), 'the invitation token is never in the answer');
  return { invitation, token: mail.token, mail, res };
}

/** POST /api/invitations/accept: 200 {org} with the invited role. Returns the org. */
export async function accept(token, invitationToken, expected = {}) {
  const res = expectStatus(await call('POST', '/api/invitations/accept', { token, json: { token: invitationToken } }), 200);
  assert.deepEqual(Object.keys(res.json), ['org'], res.text);
  return assertOrg(res.json.org, expected);
}

/**
 * Invites a user (a new one, signed up after the invitation, unless `user` is given) with `role`
 * and accepts as them. Returns the user (from newUser) with `role` and `org`.
 */
export async function inviteAndAccept(adminToken, orgId, role = 'member', { tag = `org-${role}`, user } = {}) {
  const email = user?.email ?? uniqueEmail(tag);
  const { token } = await invite(adminToken, orgId, email, role);
  const u = user ?? await newUser({ email });
  const org = await accept(u.token, token, { id: orgId, role });
  return { ...u, role, org };
}

/**
 * An organization with an owner, `admins` admins and `members` members (each a fresh user).
 * Returns { org, owner, admins: [user], members: [user] }.
 */
export async function orgWithMembers({ tag = 'org', admins = 0, members: plain = 0 } = {}) {
  const owner = await newUser({ tag: `${tag}-owner` });
  const org = await createOrg(owner.token, orgName(tag));
  const a = [];
  for (let i = 0; i < admins; i++) a.push(await inviteAndAccept(owner.token, org.id, 'admin', { tag: `${tag}-admin${i}` }));
  const m = [];
  for (let i = 0; i < plain; i++) m.push(await inviteAndAccept(owner.token, org.id, 'member', { tag: `${tag}-member${i}` }));
  return { org, owner, admins: a, members: m };
}

/** POST /api/orgs/{org}/tables/notes: 201 {row}. Returns the row. */
export async function createNote(token, orgId, fields) {
  const res = expectStatus(await call('POST', orgPath(orgId, '/tables/notes'), { token, json: fields }), 201);
  assert.deepEqual(Object.keys(res.json), ['row'], res.text);
  return res.json.row;
}

/** POST /api/orgs/{org}/ws/ticket: 200 {ticket}. Returns the ticket. */
export async function orgTicket(token, orgId) {
  const res = expectStatus(await call('POST', orgPath(orgId, '/ws/ticket'), { token }), 200);
  assert.deepEqual(Object.keys(res.json), ['ticket'], res.text);
  assert.equal(typeof res.json.ticket, 'string');
  assert.ok(res.json.ticket.length > 0);
  return res.json.ticket;
}

const opened = new Set();

/** Remembers a socket so that closeSockets() closes it (for sockets opened by ws.mjs). */
export function trackSocket(socket) {
  opened.add(socket);
  socket.closed.then(() => opened.delete(socket));
  return socket;
}

/**
 * Closes every socket opened here (or tracked) that is still open, without awaiting the closes:
 * for an afterEach, so that a failed test leaves no socket that keeps the test process alive.
 */
export function closeSockets() {
  for (const s of opened) {
    try { s.ws.close(); } catch {}
  }
  opened.clear();
}

/** Opens GET /api/orgs/{org}/ws with the query and headers given; resolves once open, rejects if refused. */
export function openOrgSocketWith(orgId, query = '', headers = {}) {
  const path = orgPath(orgId, `/ws${query}`);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${WS_BASE}${path}`, { headers });
    const socket = trackSocket(new Socket(ws));
    ws.addEventListener('open', () => resolve(socket), { once: true });
    ws.addEventListener('error', () => reject(new Error(`WebSocket ${path} was refused`)), { once: true });
  });
}

/** Opens the organization's feed with a new ticket for the token's session, from `since` when given. */
export async function openOrgSocket(token, orgId, since) {
  const ticket = await orgTicket(token, orgId);
  const q = `?ticket=${encodeURIComponent(ticket)}${since === undefined ? '' : `&since=${since}`}`;
  return openOrgSocketWith(orgId, q);
}

/** Attempts an upgrade of the organization's feed with raw node:http (see ws.mjs tryUpgrade). */
export const tryOrgUpgrade = (orgId, query = '', headers = {}) => tryUpgrade(orgPath(orgId, `/ws${query}`), headers);

/** The close of a socket, `{code, reason}`; fails if it does not close within `ms`. */
export function closedWithin(socket, ms = CLOSE_WAIT_MS) {
  let timer;
  return Promise.race([
    socket.closed.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`the socket did not close within ${ms} ms`)), ms); }),
  ]);
}

/**
 * Takes messages from the socket until one satisfies `predicate`; returns all taken, that one
 * last. Fails (by the socket's own timeout) when none comes.
 */
export async function takeUntil(socket, predicate, ms) {
  const out = [];
  for (;;) {
    const m = await socket.next(ms);
    out.push(m);
    if (predicate(m)) return out;
  }
}

/** A feed frame of the organization: exactly {seq, event, data, ts}, like the user's feed. */
export function assertFrame(m) {
  assert.ok(m && typeof m === 'object', `frame: ${JSON.stringify(m)}`);
  assert.deepEqual(Object.keys(m).sort(), ['data', 'event', 'seq', 'ts'], `frame keys: ${JSON.stringify(m)}`);
  assert.ok(Number.isInteger(m.seq) && m.seq > 0, `seq: ${JSON.stringify(m)}`);
  assert.ok(Math.abs(m.ts - Date.now()) < 60_000, `ts: ${JSON.stringify(m)}`);
  return m;
}

/** Asserts the frames' seqs follow on by one each. */
export function assertConsecutive(frames) {
  for (let i = 1; i < frames.length; i++) {
    assert.equal(frames[i].seq, frames[i - 1].seq + 1, `seq grows by one: ${JSON.stringify(frames.map((f) => f.seq))}`);
  }
}
