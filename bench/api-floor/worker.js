// The API floor: the least the contract (API.md, SECURITY.md) asks of four requests, written by
// hand in JavaScript, the runtime's own language, so make bench can show how close any
// implementation can come to bench/floor on this runtime, and ours against it in the same run.
//
//   GET  /api/me            GET /api/kv/{key}     PUT /api/kv/{key}     POST /api/tables/todos
//
// The worker checks a bearer HS256 token with crypto.subtle (its key imported once per isolate)
// and its expiry, reads and parses a JSON body (at most 1 MiB; a todo's title 1 to 200
// characters), and hands the call to the user's Durable Object in a header of a GET, as ours
// does. The object checks in SQLite that the session is live (and notes its use once a minute),
// then reads, or writes in one transaction with the change feed's sequence number and its
// event, offers the event to the user's open sockets, and answers JSON with `Vary: Origin` and
// the CORS headers of an allowed origin. No rate limit, no CSRF (bearer requests need none), no
// feed trimming, no application hooks: everything ours does beyond this is what its ratio to
// this floor measures.
//
// GET /setup makes a user and a live session and answers {token} (the bench's login).
import { DurableObject } from 'cloudflare:workers';

const SECRET = new TextEncoder().encode('api-floor-secret-of-at-least-32-bytes');
const ALLOWED_ORIGINS = ['http://localhost:5173'];
const BODY_LIMIT = 1 << 20;
const SESSION_MS = 30 * 24 * 3600 * 1000;
const LAST_USED_RESOLUTION_MS = 60_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

let key;
const hmacKey = () => (key ??= crypto.subtle.importKey('raw', SECRET, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']));

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
const unb64url = (text) => Uint8Array.from(atob(text.replaceAll('-', '+').replaceAll('_', '/')), (c) => c.charCodeAt(0));

function answer(status, body, cors) {
  const headers = { 'content-type': 'application/json', vary: 'Origin' };
  if (cors) {
    headers['access-control-allow-origin'] = cors;
    headers['access-control-allow-credentials'] = 'true';
    headers['access-control-expose-headers'] = 'retry-after';
  }
  return new Response(JSON.stringify(body), { status, headers });
}
const error = (status, code, message, cors) => answer(status, { error: { code, message } }, cors);

async function sign(claims) {
  const head = b64url(encoder.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));
  const body = b64url(encoder.encode(JSON.stringify(claims)));
  const signature = await crypto.subtle.sign('HMAC', await hmacKey(), encoder.encode(`${head}.${body}`));
  return `${head}.${body}.${b64url(signature)}`;
}

/** The claims of a valid, unexpired HS256 bearer token, else null. */
async function verify(authorization) {
  if (!authorization?.startsWith('Bearer ')) return null;
  const parts = authorization.slice(7).split('.');
  if (parts.length !== 3) return null;
  try {
    if (JSON.parse(decoder.decode(unb64url(parts[0]))).alg !== 'HS256') return null;
    const ok = await crypto.subtle.verify('HMAC', await hmacKey(), unb64url(parts[2]), encoder.encode(`${parts[0]}.${parts[1]}`));
    if (!ok) return null;
    const claims = JSON.parse(decoder.decode(unb64url(parts[1])));
    return typeof claims.sub === 'string' && typeof claims.sid === 'string' && claims.exp > Date.now() / 1000 ? claims : null;
  } catch {
    return null;
  }
}

async function jsonBody(request) {
  if (!request.headers.get('content-type')?.startsWith('application/json')) throw [415, 'unsupported_media_type', 'the body must be JSON'];
  const text = await request.text();
  if (text.length > BODY_LIMIT) throw [413, 'payload_too_large', 'the body is over 1 MiB'];
  try {
    return JSON.parse(text);
  } catch {
    throw [400, 'invalid_json', 'the body is not JSON'];
  }
}

export class ApiFloor extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS account (id TEXT PRIMARY KEY, email TEXT, email_verified INTEGER, created_at INTEGER);
      CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, created_at INTEGER, last_used_at INTEGER, expires_at INTEGER);
      CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT, updated_at INTEGER);
      CREATE TABLE IF NOT EXISTS seq (id INTEGER PRIMARY KEY, seq INTEGER);
      INSERT OR IGNORE INTO seq (id, seq) VALUES (1, 0);
      CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, name TEXT, data TEXT, at INTEGER);
      CREATE TABLE IF NOT EXISTS todos (id TEXT PRIMARY KEY, title TEXT, done INTEGER, created_at INTEGER, updated_at INTEGER);
      CREATE INDEX IF NOT EXISTS todos_done_created ON todos (done, created_at)`);
  }

  /** Writes `write` and the change feed's next event in one transaction; offers it to the sockets. */
  change(name, data, write) {
    const now = Date.now();
    const event = this.ctx.storage.transactionSync(() => {
      write(now);
      const { seq } = this.sql.exec('UPDATE seq SET seq = seq + 1 WHERE id = 1 RETURNING seq').one();
      const text = JSON.stringify(data);
      this.sql.exec('INSERT INTO events (seq, name, data, at) VALUES (?, ?, ?, ?)', seq, name, text, now);
      return `{"seq":${seq},"name":${JSON.stringify(name)},"data":${text}}`;
    });
    for (const socket of this.ctx.getWebSockets()) socket.send(event);
  }

  async fetch(request) {
    const hop = JSON.parse(request.headers.get('x-hop'));
    const { cors } = hop;
    const now = Date.now();
    if (hop.op === 'setup') {
      const sid = crypto.randomUUID();
      this.sql.exec('INSERT OR REPLACE INTO account (id, email, email_verified, created_at) VALUES (?, ?, 0, ?)', hop.sub, `${hop.sub}@example.com`, now);
      this.sql.exec('INSERT INTO sessions (id, created_at, last_used_at, expires_at) VALUES (?, ?, ?, ?)', sid, now, now, now + SESSION_MS);
      return answer(200, { sid }, cors);
    }
    const session = this.sql.exec('SELECT last_used_at FROM sessions WHERE id = ? AND expires_at > ?', hop.sid, now).toArray()[0];
    if (!session) return error(401, 'session_revoked', 'the session has ended', cors);
    if (now - session.last_used_at >= LAST_USED_RESOLUTION_MS) {
      this.sql.exec('UPDATE sessions SET last_used_at = ? WHERE id = ?', now, hop.sid);
    }
    switch (hop.op) {
      case 'me': {
        const user = this.sql.exec('SELECT id, email, email_verified, created_at FROM account').one();
        return answer(200, { user: { id: user.id, email: user.email, emailVerified: user.email_verified === 1, createdAt: user.created_at } }, cors);
      }
      case 'kvGet': {
        const row = this.sql.exec('SELECT value FROM kv WHERE key = ?', hop.key).toArray()[0];
        return row ? answer(200, { key: hop.key, value: JSON.parse(row.value) }, cors) : error(404, 'not_found', 'no such key', cors);
      }
      case 'kvPut': {
        this.change('kv:put', { key: hop.key, value: hop.body }, (at) => {
          this.sql.exec('INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
            hop.key, JSON.stringify(hop.body), at);
        });
        return answer(200, { key: hop.key, value: hop.body }, cors);
      }
      case 'insert': {
        const row = { id: crypto.randomUUID(), title: hop.body.title, done: hop.body.done ?? false, createdAt: now, updatedAt: now };
        this.change('todos:insert', row, (at) => {
          this.sql.exec('INSERT INTO todos (id, title, done, created_at, updated_at) VALUES (?, ?, ?, ?, ?)', row.id, row.title, row.done ? 1 : 0, at, at);
        });
        return answer(201, { row }, cors);
      }
      default:
        return error(404, 'not_found', 'no such endpoint', cors);
    }
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const origin = request.headers.get('origin');
    const cors = origin && ALLOWED_ORIGINS.includes(origin) ? origin : undefined;
    const send = (sub, hop) => env.API.get(env.API.idFromName(sub))
      .fetch('https://api-floor.internal/hop', { headers: { 'x-hop': JSON.stringify({ ...hop, cors }) } });
    if (url.pathname === '/setup') {
      const sub = crypto.randomUUID();
      const { sid } = await (await send(sub, { op: 'setup', sub })).json();
      const iat = Math.floor(Date.now() / 1000);
      return answer(200, { token: await sign({ sub, sid, iat, exp: iat + 3600 }) }, cors);
    }
    const claims = await verify(request.headers.get('authorization'));
    if (!claims) return error(401, 'unauthenticated', 'a valid access token is required', cors);
    const { method } = request;
    const { pathname } = url;
    try {
      if (method === 'GET' && pathname === '/api/me') return await send(claims.sub, { op: 'me', sid: claims.sid });
      if (pathname.startsWith('/api/kv/') && pathname.length > 8) {
        const key = decodeURIComponent(pathname.slice(8));
        if (method === 'GET') return await send(claims.sub, { op: 'kvGet', sid: claims.sid, key });
        if (method === 'PUT') return await send(claims.sub, { op: 'kvPut', sid: claims.sid, key, body: await jsonBody(request) });
      }
      if (method === 'POST' && pathname === '/api/tables/todos') {
        const body = await jsonBody(request);
        const title = body?.title;
        if (typeof title !== 'string' || title.length < 1 || title.length > 200 || (body.done !== undefined && typeof body.done !== 'boolean')) {
          return error(400, 'validation_failed', 'the todo is not valid', cors);
        }
        return await send(claims.sub, { op: 'insert', sid: claims.sid, body: { title, done: body.done } });
      }
    } catch (e) {
      if (Array.isArray(e)) return error(e[0], e[1], e[2], cors);
      throw e;
    }
    return error(404, 'not_found', 'no such endpoint', cors);
  },
};
