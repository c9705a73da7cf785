// WebSocket helpers for the end-to-end tests: a socket whose messages can be awaited one by one,
// and a raw upgrade attempt that reports the HTTP answer when there is no upgrade. Node builtins
// only (Node 22's WebSocket, node:http).
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import { BASE, call, expectStatus } from './api.mjs';

const WS_BASE = BASE.replace(/^http/, 'ws');
const WAIT_MS = 15_000;

/** An open socket: `next()` awaits the next message (parsed JSON, or the text), `closed` the close. */
export class Socket {
  #queue = [];
  #waiters = [];
  constructor(ws) {
    this.ws = ws;
    this.closed = new Promise((resolve) => ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason })));
    ws.addEventListener('message', (e) => {
      let value;
      try { value = JSON.parse(e.data); } catch { value = e.data; }
      const waiter = this.#waiters.shift();
      if (waiter) waiter(value);
      else this.#queue.push(value);
    });
  }

  /** The next message; fails the test if none comes within `ms`. */
  next(ms = WAIT_MS) {
    if (this.#queue.length) return Promise.resolve(this.#queue.shift());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(done), 1);
        reject(new Error(`no WebSocket message within ${ms} ms`));
      }, ms);
      const done = (value) => { clearTimeout(timer); resolve(value); };
      this.#waiters.push(done);
    });
  }

  /** The next `n` messages. */
  async take(n, ms) {
    const out = [];
    for (let i = 0; i < n; i++) out.push(await this.next(ms));
    return out;
  }

  /** Messages received and not yet taken. */
  pending() {
    return [...this.#queue];
  }

  send(value) {
    this.ws.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  /** Sends `{id, method, params}` and awaits the answer with that id (events in between are kept). */
  async call(method, params) {
    const id = randomBytes(4).toString('hex');
    this.send({ id, method, params });
    const skipped = [];
    for (;;) {
      const m = await this.next();
      if (m && m.id === id) {
        this.#queue.unshift(...skipped);
        return m;
      }
      skipped.push(m);
    }
  }

  close() {
    this.ws.close();
    return this.closed;
  }
}

/** Opens `/api/ws` with the query and headers given; resolves once open, rejects if refused. */
export function openSocket(query = '', headers = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${WS_BASE}/api/ws${query}`, { headers });
    const socket = new Socket(ws);
    ws.addEventListener('open', () => resolve(socket), { once: true });
    ws.addEventListener('error', () => reject(new Error(`WebSocket /api/ws${query} was refused`)), { once: true });
  });
}

/** A fresh single-use ticket for the token's session. */
export async function ticketFor(token) {
  const res = expectStatus(await call('POST', '/api/ws/ticket', { token }), 200);
  assert.match(res.json.ticket, /^uwt\.[0-9a-f]{64}\.[A-Za-z0-9_-]{43}$/);
  return res.json.ticket;
}

/** Opens a socket with a new ticket for the token's session. */
export async function socketFor(token, since) {
  const ticket = await ticketFor(token);
  const q = `?ticket=${encodeURIComponent(ticket)}${since === undefined ? '' : `&since=${since}`}`;
  return openSocket(q);
}

/**
 * Attempts an upgrade of `path` with raw node:http and reports what came back: `{status, json}`
 * when the server answered without upgrading, or `{status: 101}` (the socket is then closed).
 */
export function tryUpgrade(path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(BASE + path, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve({ status: res.statusCode }); });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, json, text, headers: new Headers(Object.entries(res.headers).map(([k, v]) => [k, String(v)])) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
