// The login floor: the least a login built on WebCrypto does (the TypeScript userdo's way), in
// JavaScript, so make bench can print our login as a ratio to it in the same run. One Durable
// Object per email, as ours. POST /signup {email, password} stores a salt and a PBKDF2-SHA256
// hash; POST /login {email, password} reads that row, derives the hash again through
// crypto.subtle, compares it, inserts a session and answers an HS256 token signed with
// crypto.subtle. No rate limit, no refresh-token hashing, no validation beyond JSON.
import { DurableObject } from 'cloudflare:workers';

const ITERATIONS = 100_000;
const SECRET = new TextEncoder().encode('login-floor-secret-of-32-bytes!!');
const encoder = new TextEncoder();

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');

async function pbkdf2(password, salt) {
  const key = await crypto.subtle.importKey('raw', encoder.encode(password), 'PBKDF2', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations: ITERATIONS }, key, 256));
}

function equal(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

export class LoginFloor extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec('CREATE TABLE IF NOT EXISTS users (email TEXT PRIMARY KEY, salt BLOB, hash BLOB)');
    this.sql.exec('CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, email TEXT, created INTEGER)');
  }

  async fetch(request) {
    const { pathname } = new URL(request.url);
    const { email, password } = await request.json();
    if (pathname === '/signup') {
      const salt = crypto.getRandomValues(new Uint8Array(16));
      const hash = await pbkdf2(password, salt);
      this.sql.exec('INSERT OR REPLACE INTO users (email, salt, hash) VALUES (?, ?, ?)', email, salt, hash);
      return Response.json({ ok: true }, { status: 201 });
    }
    const row = this.sql.exec('SELECT salt, hash FROM users WHERE email = ?', email).toArray()[0];
    if (!row) return Response.json({ error: 'invalid credentials' }, { status: 401 });
    const hash = await pbkdf2(password, new Uint8Array(row.salt));
    if (!equal(hash, new Uint8Array(row.hash))) return Response.json({ error: 'invalid credentials' }, { status: 401 });
    const session = crypto.randomUUID();
    const now = Date.now();
    this.sql.exec('INSERT INTO sessions (id, email, created) VALUES (?, ?, ?)', session, email, now);
    const header = b64url(encoder.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));
    const claims = b64url(encoder.encode(JSON.stringify({ sub: email, sid: session, iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + 900 })));
    const key = await crypto.subtle.importKey('raw', SECRET, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    const signature = b64url(await crypto.subtle.sign('HMAC', key, encoder.encode(`${header}.${claims}`)));
    return Response.json({ token: `${header}.${claims}.${signature}`, refreshToken: session, user: { email } });
  }
}

export default {
  async fetch(request, env) {
    const { email } = await request.clone().json();
    return env.LOGIN.get(env.LOGIN.idFromName(email)).fetch(request);
  },
};
