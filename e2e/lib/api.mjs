// Helpers for the end-to-end tests: a fetch wrapper, unique users, cookies and forged tokens.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';

export const BASE = process.env.USERDO_URL;
export const SECRET = process.env.USERDO_JWT_SECRET;
if (!BASE || !SECRET) throw new Error('run through e2e/run.mjs (USERDO_URL and USERDO_JWT_SECRET unset)');

export const PASSWORD = 'correct horse battery';

/** A fresh address for each call, so tests never share an account by accident. */
export const uniqueEmail = (tag = 'user') => `${tag}-${Date.now()}-${randomBytes(4).toString('hex')}@example.com`;

/**
 * Calls the worker. `json` sends a JSON body; `raw` sends bytes/text as given.
 * Returns { status, headers, json, text, cookies } where cookies maps name -> { value, attrs }.
 */
export async function call(method, path, { json, raw, headers = {}, token, cookie, origin } = {}) {
  const h = { ...headers };
  if (json !== undefined) h['content-type'] ??= 'application/json';
  if (token) h.authorization = `Bearer ${token}`;
  if (cookie) h.cookie = cookie;
  if (origin) h.origin = origin;
  const response = await fetch(BASE + path, {
    method,
    headers: h,
    body: json !== undefined ? JSON.stringify(json) : raw,
    redirect: 'manual',
  });
  const text = await response.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, json: parsed, text, cookies: parseSetCookies(response.headers) };
}

/** Asserts the status and, when given, the API error code; shows the body when it fails. */
export function expectStatus(res, status, code) {
  assert.equal(res.status, status, `expected ${status}${code ? ` ${code}` : ''}, got ${res.status}: ${res.text}`);
  if (code) {
    assert.equal(res.json?.error?.code, code, `expected error code ${code}: ${res.text}`);
    assert.equal(typeof res.json.error.message, 'string');
  }
  return res;
}

export function parseSetCookies(headers) {
  const cookies = {};
  for (const line of headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    cookies[pair.slice(0, eq)] = {
      value: pair.slice(eq + 1),
      attrs: Object.fromEntries(attrs.map((a) => {
        const i = a.indexOf('=');
        return i < 0 ? [a.toLowerCase(), true] : [a.slice(0, i).toLowerCase(), a.slice(i + 1)];
      })),
    };
  }
  return cookies;
}

/** Signs up a new user; returns { email, user, token, refreshToken, cookies }. */
export async function newUser({ tag, userAgent } = {}) {
  const email = uniqueEmail(tag);
  const res = expectStatus(await call('POST', '/api/signup', {
    json: { email, password: PASSWORD },
    headers: userAgent ? { 'user-agent': userAgent } : {},
  }), 201);
  return { email, ...res.json, cookies: res.cookies };
}

export async function login(email, { password = PASSWORD, userAgent } = {}) {
  const res = expectStatus(await call('POST', '/api/login', {
    json: { email, password },
    headers: userAgent ? { 'user-agent': userAgent } : {},
  }), 200);
  return { email, ...res.json, cookies: res.cookies };
}

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A JWT signed with HS256 by `secret` (the server's by default), with any header and claims. */
export function signJwt(claims, { header = { alg: 'HS256', typ: 'JWT' }, secret = SECRET } = {}) {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** Claims like the server's own, for `sub` and `sid`, valid for 15 minutes. */
export function accessClaims(sub, sid, overrides = {}) {
  const now = Math.floor(Date.now() / 1000);
  return { sub, sid, iat: now, exp: now + 900, iss: 'userdo', aud: 'userdo', typ: 'access', ...overrides };
}

/** The payload of a JWT, decoded without checking it. */
export const jwtClaims = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
