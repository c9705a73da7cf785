// The end-to-end harness: a real worker under `wrangler dev` (started with e2e/run.mjs's
// startWorker), and clients that reach it through a fixed base URL, `http://userdo.test`, which a
// fetch and WebSocket wrapper point at whichever server runs now. So a test can stop the server and
// start another on a new port (the same data directory), and the clients follow, as a browser
// would follow a redeploy. The wrappers also record requests and can take a client offline.
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWorker, testVars } from '../../../e2e/run.mjs';
import { UserDoClient } from '../../dist/index.js';

export const BASE = 'http://userdo.test';
export const PASSWORD = 'correct horse battery';

export const uniqueEmail = (tag) => `client-${tag}-${Date.now()}-${randomBytes(4).toString('hex')}@example.com`;

/** A worker and the switchboard its clients go through. */
export class Server {
  static async start(name) {
    const vars = testVars();
    // A data directory of our own: startWorker deletes the one it makes itself at stop, and a
    // restart must find the data again.
    const server = new Server(name, vars, mkdtempSync(join(tmpdir(), 'userdo-client-ts-')));
    server.worker = await startWorker({ name, vars, persistDir: server.persistDir });
    return server;
  }

  constructor(name, vars, persistDir) {
    this.name = name;
    this.vars = vars;
    this.persistDir = persistDir;
    this.worker = null;
    this.clients = [];
  }

  get url() {
    return this.worker.url;
  }

  /** Stops the worker and starts a new one on the same data directory and variables (new port). */
  async restart() {
    const worker = this.worker;
    this.worker = null;
    await worker.stop();
    this.worker = await startWorker({ name: `${this.name}-restarted`, vars: this.vars, persistDir: this.persistDir });
  }

  /** Closes every client's socket (so no reconnect timer keeps the test process alive) and the worker. */
  async stop() {
    for (const client of this.clients) client.close();
    await this.worker?.stop();
    rmSync(this.persistDir, { recursive: true, force: true });
  }

  /** A plain fetch to the current server (for the dev outbox and raw checks). */
  raw(path, init) {
    return fetch(this.url + path, init);
  }

  /** A client whose requests and sockets go to the current server; see {@link Wires}. */
  client(options = {}) {
    const wires = new Wires(this);
    const client = new UserDoClient(BASE, {
      fetch: wires.fetch,
      WebSocket: wires.WebSocket,
      backoff: { baseDelayMs: 50, maxDelayMs: 1000 },
      ...options,
    });
    client.wires = wires;
    this.clients.push(client);
    return client;
  }

  /** The newest token the dev outbox holds for `email`. */
  async outboxToken(email) {
    const res = await this.raw(`/api/dev/outbox?email=${encodeURIComponent(email)}`);
    const { messages } = await res.json();
    return messages.at(-1)?.token;
  }

  /** An access token like `token` (same user and session) that expired a minute ago, properly signed. */
  expired(token) {
    const [header, payload] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const now = Math.floor(Date.now() / 1000);
    const body = Buffer.from(JSON.stringify({ ...claims, iat: now - 1000, exp: now - 60 })).toString('base64url');
    const sig = createHmac('sha256', this.vars.JWT_SECRET).update(`${header}.${body}`).digest('base64url');
    return `${header}.${body}.${sig}`;
  }
}

/** One client's fetch and WebSocket: origin rewriting, a request log, an offline switch. */
export class Wires {
  constructor(server) {
    this.server = server;
    this.requests = [];
    this.sockets = [];
    this.offline = false;
    const wires = this;
    this.fetch = async (url, init = {}) => {
      const u = new URL(url);
      wires.requests.push({ method: init.method ?? 'GET', path: u.pathname });
      if (wires.offline || !server.worker) throw new TypeError('fetch failed (offline)');
      return fetch(server.url + u.pathname + u.search, init);
    };
    this.WebSocket = class extends WebSocket {
      constructor(url) {
        const u = new URL(url);
        super(server.url.replace(/^http/, 'ws') + u.pathname + u.search);
        this.requestedUrl = url;
        wires.sockets.push(this);
      }
    };
  }

  count(method, path) {
    return this.requests.filter((r) => r.method === method && r.path === path).length;
  }

  /** The `since` each socket was opened with. */
  sinces() {
    return this.sockets.map((s) => new URL(s.requestedUrl).searchParams.get('since'));
  }
}

/** A new account, signed in on a fresh client. */
export async function signedUp(server, tag, options) {
  const client = server.client(options);
  const email = uniqueEmail(tag);
  const user = await client.signup(email, PASSWORD);
  return { client, email, user };
}

/** Waits until `predicate()` holds (polling), or fails after `ms`. */
export async function until(predicate, ms = 20_000, what = 'condition') {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits for the client's socket to be open and past its baseline. */
export const connected = (client) => until(() => client.realtime.status === 'open' && client.realtime.lastSeq !== null, 20_000, 'the socket');
