// Fakes for the unit tests: a WebSocket the test drives by hand, timers that run when told, a
// scripted fetch and a seeded random.

export class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.listeners = {};
    this.closedByClient = null;
    this.sent = [];
    FakeSocket.all.push(this);
  }
  static last() {
    return FakeSocket.all[FakeSocket.all.length - 1];
  }
  static reset() {
    FakeSocket.all = [];
  }
  addEventListener(type, fn) {
    (this.listeners[type] ??= []).push(fn);
  }
  emit(type, event) {
    for (const fn of this.listeners[type] ?? []) fn(event);
  }
  send(data) {
    this.sent.push(data);
  }
  close(code) {
    this.closedByClient = code ?? 1000;
    this.readyState = 3;
  }
  // Driven by the test, as the server would:
  open() {
    this.readyState = 1;
    this.emit('open');
  }
  message(value) {
    this.emit('message', { data: typeof value === 'string' ? value : JSON.stringify(value) });
  }
  serverClose(code = 1006) {
    this.readyState = 3;
    this.emit('close', { code, reason: '' });
  }
  get since() {
    return new URL(this.url).searchParams.get('since');
  }
}

export class FakeTimers {
  constructor() {
    this.now = 0;
    this.queue = [];
    this.delays = [];
    this.nextId = 1;
  }
  setTimeout = (fn, ms) => {
    const id = this.nextId++;
    this.queue.push({ id, fn, at: this.now + ms, ms });
    this.delays.push(ms);
    return id;
  };
  clearTimeout = (id) => {
    this.queue = this.queue.filter((t) => t.id !== id);
  };
  /** Runs every timer due within `ms`, in time order. */
  advance(ms) {
    const end = this.now + ms;
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at);
      const next = this.queue[0];
      if (!next || next.at > end) break;
      this.queue.shift();
      this.now = next.at;
      next.fn();
    }
    this.now = end;
  }
}

export const json = (status, body) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

/** A fetch that answers by `handler(method, path, body, headers)` and records every call. */
export function fakeFetch(handler) {
  const calls = [];
  const fetch = async (url, init = {}) => {
    const u = new URL(url);
    const call = { method: init.method ?? 'GET', path: u.pathname + u.search, body: init.body ? JSON.parse(init.body) : undefined, headers: init.headers ?? {} };
    calls.push(call);
    return handler(call);
  };
  return { fetch, calls };
}

/** Lets pending promise callbacks run. */
export const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};
