// Helpers for the end-to-end tests: a fetch wrapper, unique users, a cookie jar, forged tokens and
// the assertions every auth response shares. Node builtins only.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { parseSetCookieLines } from './cookies.mjs';

export const BASE = process.env.USERDO_URL;
export const SECRET = process.env.USERDO_JWT_SECRET;
if (!BASE || !SECRET) throw new Error('run through e2e/run.mjs (USERDO_URL and USERDO_JWT_SECRET unset)');

/** The extra origin e2e/run.mjs puts in ALLOWED_ORIGINS. */
export const ALLOWED_ORIGIN = 'http://localhost:5173';
export const EVIL_ORIGIN = 'https://evil.example';

export const PASSWORD = 'correct horse battery';

/** A fresh address for each call, so tests never share an account by accident. */
export const uniqueEmail = (tag = 'user') => `${tag}-${Date.now()}-${randomBytes(4).toString('hex')}@example.com`;

/** No request may hang a test run: a server that never answers fails the test instead. */
const REQUEST_TIMEOUT_MS = 60_000;

/**
 * Calls the worker. `json` sends a JSON body; `raw` sends a string, bytes or a stream as given.
 * `token` is sent as a bearer token, `cookie` as the Cookie header (a string or a CookieJar),
 * `origin` as the Origin header.
 * Returns { status, headers, json, text, setCookies, cookies, ms }: `json` is undefined when the
 * body is not JSON; `setCookies` is the list of raw Set-Cookie lines; `cookies` maps each name to
 * { value, attrs } (attribute names lower-cased); `ms` is the time to the full body.
 * `retryReset: n` retries up to n times when the connection is reset before an answer (for
 * oversized uploads, which a server may answer early and then close).
 * `base` sends it to another server than the main one (a worker a test started itself).
 */
export async function call(method, path, { json, raw, headers = {}, token, cookie, origin, retryReset = 0, base = BASE } = {}) {
  const h = { ...headers };
  if (json !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) {
    h['content-type'] = 'application/json';
  }
  if (token !== undefined) h.authorization = `Bearer ${token}`;
  if (cookie !== undefined) h.cookie = typeof cookie === 'string' ? cookie : cookie.header();
  if (origin !== undefined) h.origin = origin;
  const init = {
    method,
    headers: h,
    body: json !== undefined ? JSON.stringify(json) : raw,
    redirect: 'manual',
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  };
  if (raw && typeof raw.getReader === 'function') init.duplex = 'half';
  const started = performance.now();
  let response;
  let text;
  for (let attempt = 1; ; attempt++) {
    try {
      response = await fetch(base + path, init);
      text = await response.text();
      break;
    } catch (e) {
      // An early answer to a large upload can be lost to a connection reset: retry those (retryReset).
      const reset = /ECONNRESET|EPIPE|UND_ERR_SOCKET/.test(String(e.cause?.code ?? ''));
      if (!(reset && attempt < 1 + retryReset)) {
        throw new Error(`${method} ${path}: no answer (${e.cause?.code ?? e.name}: ${e.message})`);
      }
    }
  }
  const ms = performance.now() - started;
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return {
    method,
    path,
    status: response.status,
    headers: response.headers,
    json: parsed,
    text,
    setCookies: response.headers.getSetCookie(),
    cookies: parseSetCookies(response.headers),
    ms,
  };
}

/**
 * POSTs `total` bytes of JSON-ish text in chunks with `Transfer-Encoding: chunked` (no
 * Content-Length), stopping as soon as the server answers. fetch cannot read an answer that arrives
 * before its streamed upload ends, so this uses node:http. Returns like `call` (without cookies).
 * A server that answers early and closes may reset the connection before the answer is read (the
 * unread upload makes the close a TCP reset): such a reset is retried, up to five attempts.
 */
export async function postChunked(path, options) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await postChunkedOnce(path, options);
    } catch (e) {
      if (attempt >= 5 || !/ECONNRESET|EPIPE|socket hang up/.test(e.message)) throw e;
    }
  }
}

function postChunkedOnce(path, { total, chunk = 16 * 1024, headers = { 'content-type': 'application/json' } }) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = httpRequest(BASE + path, { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } });
    let answered = false;
    const timer = setTimeout(() => { req.destroy(new Error(`POST ${path}: no answer in ${REQUEST_TIMEOUT_MS} ms`)); }, REQUEST_TIMEOUT_MS);
    req.on('response', (response) => {
      answered = true;
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (d) => { text += d; });
      response.on('end', () => {
        clearTimeout(timer);
        let json;
        try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
        const h = new Headers();
        for (const [k, v] of Object.entries(response.headers)) h.set(k, Array.isArray(v) ? v.join(', ') : String(v));
        resolve({ method: 'POST', path, status: response.statusCode, headers: h, json, text, setCookies: [], cookies: {}, ms: performance.now() - started });
        req.destroy();
      });
    });
    req.on('error', (e) => { if (!answered) { clearTimeout(timer); reject(new Error(`POST ${path}: no answer (${e.code ?? e.message})`)); } });
    let sent = 0;
    const pump = () => {
      while (!answered && sent < total) {
        const n = Math.min(chunk, total - sent);
        const piece = (sent === 0 ? '{"password":"' : '') + 'a'.repeat(n);
        sent += n;
        if (!req.write(piece)) return req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

const describeRes = (res) => `${res.method ?? ''} ${res.path ?? ''} -> ${res.status}: ${String(res.text).slice(0, 500)}`;

/**
 * Asserts the status and, when given, the API error code and the error shape
 * `{"error": {"code", "message", "details"?}}` in a JSON response. Shows the body when it fails.
 */
export function expectStatus(res, status, code) {
  assert.equal(res.status, status, `expected ${status}${code ? ` ${code}` : ''}, got ${describeRes(res)}`);
  if (code) expectErrorShape(res, code);
  return res;
}

/** Asserts a 401 with one of the given codes (where the API leaves the choice open). */
export function expect401(res, codes = ['unauthenticated', 'invalid_token', 'session_revoked']) {
  assert.equal(res.status, 401, `expected 401 (${codes.join('|')}), got ${describeRes(res)}`);
  expectErrorShape(res);
  assert.ok(codes.includes(res.json.error.code), `expected one of ${codes.join(', ')}: ${describeRes(res)}`);
  return res;
}

/** The error shape of the API, and its code when given. */
export function expectErrorShape(res, code) {
  assert.ok(res.json !== undefined, `expected a JSON error body, got ${describeRes(res)}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/i, `error content-type: ${describeRes(res)}`);
  assert.deepEqual(Object.keys(res.json), ['error'], `error body has only "error": ${describeRes(res)}`);
  const { error } = res.json;
  assert.equal(typeof error, 'object', describeRes(res));
  for (const key of Object.keys(error)) {
    assert.ok(['code', 'message', 'details'].includes(key), `unexpected key error.${key}: ${describeRes(res)}`);
  }
  assert.equal(typeof error.code, 'string', describeRes(res));
  assert.match(error.code, /^[a-z][a-z0-9_]*$/, describeRes(res));
  assert.equal(typeof error.message, 'string', describeRes(res));
  assert.ok(error.message.length > 0, describeRes(res));
  if (code) assert.equal(error.code, code, `expected error code ${code}: ${describeRes(res)}`);
  return res;
}

/** `details.<field>` of a validation error is a non-empty list of strings. */
export function expectFieldError(res, field) {
  expectStatus(res, 400, 'validation_failed');
  const messages = res.json.error.details?.[field];
  assert.ok(Array.isArray(messages) && messages.length > 0, `details.${field} must list messages: ${describeRes(res)}`);
  for (const m of messages) assert.equal(typeof m, 'string', `details.${field}: ${describeRes(res)}`);
  return res;
}

/**
 * Nothing secret in a response: no key that names a hash, salt or password, no PHC string
 * (`$pbkdf2-sha256$...`), no "pbkdf2" and no "$" anywhere in the body.
 */
export function assertNoSecrets(res) {
  assert.doesNotMatch(res.text ?? '', /pbkdf2/i, `"pbkdf2" in ${describeRes(res)}`);
  assert.ok(!(res.text ?? '').includes('$'), `"$" in ${describeRes(res)}`);
  const walk = (value, at) => {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${at}[${i}]`));
    else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        assert.doesNotMatch(k, /hash|salt|pbkdf2|password|secret/i, `key ${at}.${k} in ${describeRes(res)}`);
        walk(v, `${at}.${k}`);
      }
    }
  };
  walk(res.json, '');
  return res;
}

/** The public user: exactly {id, email, emailVerified, createdAt}, with those types. */
export function assertUser(user, { email, id } = {}) {
  assert.ok(user && typeof user === 'object', `user: ${JSON.stringify(user)}`);
  assert.deepEqual(Object.keys(user).sort(), ['createdAt', 'email', 'emailVerified', 'id'], `user keys: ${JSON.stringify(user)}`);
  assert.equal(typeof user.id, 'string');
  assert.ok(user.id.length > 0);
  assert.equal(typeof user.email, 'string');
  assert.equal(typeof user.emailVerified, 'boolean');
  assert.equal(typeof user.createdAt, 'number');
  if (email !== undefined) assert.equal(user.email, email);
  if (id !== undefined) assert.equal(user.id, id);
  return user;
}

/** A successful signup, login or refresh body: {user, token, refreshToken}, nothing else. */
export function assertAuthBody(res, expected = {}) {
  assert.deepEqual(Object.keys(res.json ?? {}).sort(), ['refreshToken', 'token', 'user'], describeRes(res));
  assertUser(res.json.user, expected);
  assert.equal(typeof res.json.token, 'string');
  assert.equal(typeof res.json.refreshToken, 'string');
  assert.equal(res.json.token.split('.').length, 3, 'the access token is a JWT');
  assertNoSecrets(res);
  return res;
}

/**
 * The auth cookies of a signup, login or refresh: `token` and `refreshToken`, both HttpOnly,
 * SameSite=Lax, Path=/, with Max-Age, no Secure on http://127.0.0.1, and no other cookie
 * (in particular no script-readable copy of a token).
 */
export function assertAuthCookies(res, { accessMaxAge = '900', refreshMaxAge = '2592000' } = {}) {
  assert.equal(res.setCookies.length, 2, `exactly two Set-Cookie lines: ${JSON.stringify(res.setCookies)}`);
  for (const [name, maxAge, value] of [['token', accessMaxAge, res.json?.token], ['refreshToken', refreshMaxAge, res.json?.refreshToken]]) {
    const c = res.cookies[name];
    assert.ok(c, `no ${name} cookie in ${JSON.stringify(res.setCookies)}`);
    assert.equal(c.value, value, `${name} cookie carries the token of the body`);
    assert.equal(c.attrs.httponly, true, `${name} must be HttpOnly`);
    assert.equal(String(c.attrs.samesite).toLowerCase(), 'lax', `${name}: SameSite=Lax`);
    assert.equal(c.attrs.path, '/', `${name}: Path=/`);
    assert.equal(c.attrs['max-age'], maxAge, `${name}: Max-Age`);
    assert.equal(c.attrs.secure, undefined, `${name}: no Secure on http://127.0.0.1`);
  }
  return res;
}

/** The two auth cookies, cleared: empty, Max-Age=0, same Path so a browser drops them. */
export function assertClearedCookies(res) {
  for (const name of ['token', 'refreshToken']) {
    const c = res.cookies[name];
    assert.ok(c, `${name} cookie cleared: ${JSON.stringify(res.setCookies)}`);
    assert.equal(c.value, '', `${name} cleared value`);
    assert.equal(c.attrs['max-age'], '0', `${name} Max-Age=0`);
    assert.equal(c.attrs.path, '/', `${name} Path=/`);
    assert.equal(c.attrs.httponly, true, `${name} HttpOnly`);
  }
  return res;
}

export function parseSetCookies(headers) {
  return parseSetCookieLines(headers.getSetCookie());
}

/** A browser-like cookie store for one client: takes Set-Cookie from responses, sends Cookie. */
export class CookieJar {
  #cookies = new Map();

  /** Applies the Set-Cookie lines of a response from `call` (Max-Age<=0 or empty deletes). */
  update(res) {
    for (const [name, { value, attrs }] of Object.entries(res.cookies)) {
      const maxAge = attrs['max-age'] === undefined ? undefined : Number(attrs['max-age']);
      if (value === '' || (maxAge !== undefined && maxAge <= 0)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
    return res;
  }

  get(name) {
    return this.#cookies.get(name);
  }

  set(name, value) {
    this.#cookies.set(name, value);
  }

  names() {
    return [...this.#cookies.keys()].sort();
  }

  /** The Cookie header value. */
  header() {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

const agent = (userAgent) => (userAgent ? { 'user-agent': userAgent } : {});

/** Signs up a new user; returns { email, password, user, token, refreshToken, cookies, res }. */
export async function newUser({ tag, userAgent, password = PASSWORD, email = uniqueEmail(tag) } = {}) {
  const res = expectStatus(await call('POST', '/api/signup', { json: { email, password }, headers: agent(userAgent) }), 201);
  assertAuthBody(res);
  return { email: res.json.user.email, password, ...res.json, cookies: res.cookies, res };
}

/** Logs in (another session of the same user); returns like newUser. */
export async function login(email, { password = PASSWORD, userAgent } = {}) {
  const res = expectStatus(await call('POST', '/api/login', { json: { email, password }, headers: agent(userAgent) }), 200);
  assertAuthBody(res);
  return { email: res.json.user.email, password, ...res.json, cookies: res.cookies, res };
}

export const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A JWT signed with HMAC by `secret` (the server's by default), with any header and claims. */
export function signJwt(claims, { header = { alg: 'HS256', typ: 'JWT' }, secret = SECRET, hash = 'sha256' } = {}) {
  const input = `${b64url(header)}.${b64url(claims)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

/** An unsigned JWT (`alg: none` by default), with an empty signature part. */
export const unsignedJwt = (claims, header = { alg: 'none', typ: 'JWT' }) => `${b64url(header)}.${b64url(claims)}.`;

/** Claims like the server's own, for `sub` and `sid`, valid for 15 minutes. */
export function accessClaims(sub, sid, overrides = {}) {
  const now = Math.floor(Date.now() / 1000);
  return { sub, sid, iat: now, exp: now + 900, iss: 'userdo', aud: 'userdo', typ: 'access', ...overrides };
}

/** The payload of a JWT, decoded without checking it. */
export const jwtClaims = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());

/** The header of a JWT, decoded without checking it. */
export const jwtHeader = (token) => JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString());

/** The session id of an access token. */
export const sidOf = (token) => jwtClaims(token).sid;
