import { backoffDelay, type BackoffOptions } from './backoff.js';
import { UserDoError } from './errors.js';
import type { Event } from './generated.js';

/** The part of the WebSocket API the client uses; the browser's and Node's `WebSocket` fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
}

/** A `WebSocket` class (injectable for tests). */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Timers (injectable for tests); default: the global `setTimeout` and `clearTimeout`. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Where the connection stands. */
export type RealtimeStatus =
  /** Not wanted: nothing listens, or signed out. */
  | 'idle'
  /** Asking for a ticket or opening the socket. */
  | 'connecting'
  /** Open: events arrive. */
  | 'open'
  /** Waiting (backoff) before the next attempt. */
  | 'reconnecting'
  /**
   * The server ended the session (close code 4001): no more attempts until the next sign-in. On
   * an organization's feed also: the user's access to the organization ended (close code 4003).
   */
  | 'ended';

/** Close code the server uses when the socket's session ended (logout, revocation, password change). */
export const SESSION_ENDED = 4001;

/**
 * Close code of an organization's socket when its user's access ended: removed, left, or the
 * organization deleted.
 */
export const ACCESS_ENDED = 4003;

/**
 * The `since` of the very first connection, when no `seq` is known yet: a value ahead of every
 * log makes the server answer `{event: "resync", seq}` with its newest `seq` (API: a `since` ahead
 * of the log asks for a resync), which gives the client its starting point. That first resync is
 * a baseline, not a reason to reload.
 */
export const BASELINE_SINCE = Number.MAX_SAFE_INTEGER;

/** What the realtime connection needs from the client. */
export interface RealtimeHost {
  /** A fresh single-use ticket (`POST /api/ws/ticket`, with the client's refresh logic). */
  ticket(): Promise<string>;
  /** The `ws:`/`wss:` URL of a path of the worker. */
  socketUrl(pathAndQuery: string): string;
  /** The socket's path (`GET /api/ws`, from the route table). */
  socketPath: string;
  /** The server closed the socket with 4001. */
  sessionEnded(): void;
  /**
   * For an organization's feed: the user's access ended (the socket closed with 4003, or a ticket
   * was refused with 404 `not_found`, as for anyone who is not a member). The connection stops
   * for good. Without it, 4003 is a drop like any other.
   */
  accessLost?(): void;
}

/** Options of the realtime connection (all optional; defaults documented on each). */
export interface RealtimeOptions {
  /** Reconnect delays: exponential backoff with full jitter. Defaults: base 500 ms, max 30 s. */
  backoff?: BackoffOptions;
  /** Give up on a socket that has not opened after this long and try again. Default 10000 ms. */
  connectTimeoutMs?: number;
  /**
   * A connection must stay open this long before the backoff starts again from its first step,
   * so a server that accepts and drops at once is not hammered. Default 5000 ms.
   */
  minUptimeMs?: number;
  /**
   * Every this many milliseconds an open socket sends `ping` (answered `pong` by the runtime
   * without waking the object); a socket that heard nothing for a whole interval after a ping is
   * taken as dead (a half-open connection after sleep or a network change) and replaced.
   * Default 30000; 0 turns it off.
   */
  heartbeatMs?: number;
}

/** Counters for tests and diagnostics. */
export interface RealtimeStats {
  /** Sockets opened. */
  opened: number;
  /** Events dropped because their `seq` was not newer than the last one delivered. */
  duplicates: number;
  /** Gaps seen (a `seq` beyond the next): the socket was reopened with `since` to fill them. */
  gaps: number;
  /** Resyncs received after the baseline. */
  resyncs: number;
}

/**
 * One resuming connection to `GET /api/ws`: a ticket per attempt, `since` = the last `seq`
 * delivered, backoff with full jitter between attempts, and delivery of each `seq` at most once,
 * in order.
 */
export class Realtime {
  /** The `seq` of the last event delivered (or of the last resync); `null` before the first. */
  lastSeq: number | null = null;
  /** Counters (see {@link RealtimeStats}). */
  readonly stats: RealtimeStats = { opened: 0, duplicates: 0, gaps: 0, resyncs: 0 };
  private statusNow: RealtimeStatus = 'idle';
  private socket: WebSocketLike | null = null;
  private attempt = 0;
  private wanted = false;
  // Each attempt gets a number; callbacks of an older attempt (a socket given up on) do nothing.
  private generation = 0;
  private retryTimer: unknown = null;
  private openTimer: unknown = null;
  private uptimeTimer: unknown = null;
  private heartbeatTimer: unknown = null;
  // Whether anything arrived since the last ping.
  private heard = true;
  private readonly eventListeners = new Set<(event: Event) => void>();
  private readonly resyncListeners = new Set<() => void>();
  private readonly statusListeners = new Set<(status: RealtimeStatus) => void>();

  constructor(
    private readonly host: RealtimeHost,
    private readonly WebSocketImpl: WebSocketConstructor | undefined,
    private readonly timers: Timers,
    private readonly random: () => number,
    private readonly options: RealtimeOptions = {},
  ) {}

  /** Where the connection stands. */
  get status(): RealtimeStatus {
    return this.statusNow;
  }

  /** Calls `fn` with every event, in `seq` order, each once. Returns the unsubscribe function. */
  onEvent(fn: (event: Event) => void): () => void {
    this.eventListeners.add(fn);
    return () => this.eventListeners.delete(fn);
  }

  /** Calls `fn` when the server said events were missed and what is watched must be reloaded. */
  onResync(fn: () => void): () => void {
    this.resyncListeners.add(fn);
    return () => this.resyncListeners.delete(fn);
  }

  /** Calls `fn` at every status change. */
  onStatus(fn: (status: RealtimeStatus) => void): () => void {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  }

  /** Connects (if not already connected or connecting). */
  start(): void {
    if (this.wanted) return;
    this.wanted = true;
    this.attempt = 0;
    void this.connect();
  }

  /** Closes the connection and stops reconnecting. `forget` also drops the last `seq` (new user). */
  stop(forget = false, status: RealtimeStatus = 'idle'): void {
    this.wanted = false;
    this.generation++;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      try {
        socket.close(1000, 'client stopped');
      } catch {
        // Already closing.
      }
    }
    if (forget) this.lastSeq = null;
    this.setStatus(status);
  }

  private setStatus(status: RealtimeStatus): void {
    if (status === this.statusNow) return;
    this.statusNow = status;
    for (const fn of [...this.statusListeners]) safely(() => fn(status));
  }

  private clearTimers(): void {
    for (const timer of [this.retryTimer, this.openTimer, this.uptimeTimer, this.heartbeatTimer]) {
      if (timer !== null) this.timers.clearTimeout(timer);
    }
    this.retryTimer = this.openTimer = this.uptimeTimer = this.heartbeatTimer = null;
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    this.retryTimer = null;
    this.setStatus('connecting');
    let ticket: string;
    try {
      ticket = await this.host.ticket();
    } catch (error) {
      if (generation !== this.generation) return;
      if (error instanceof UserDoError && error.status === 404 && error.code === 'not_found' && this.host.accessLost) {
        // Not a member (any more), or no such organization: reconnecting cannot help.
        this.stop(false, 'ended');
        this.host.accessLost();
        return;
      }
      if (error instanceof UserDoError && error.status === 401) {
        // Signed out (the client already tried a refresh): nothing to reconnect with.
        this.stop(false, 'idle');
        return;
      }
      this.retry();
      return;
    }
    if (generation !== this.generation || !this.wanted) return;
    const WebSocketImpl = this.WebSocketImpl;
    if (!WebSocketImpl) throw new Error('userdo: no WebSocket implementation; pass options.WebSocket');
    const since = this.lastSeq ?? BASELINE_SINCE;
    const socket = new WebSocketImpl(
      this.host.socketUrl(`${this.host.socketPath}?ticket=${encodeURIComponent(ticket)}&since=${since}`),
    );
    this.socket = socket;
    this.openTimer = this.timers.setTimeout(() => {
      if (generation === this.generation) this.abandon();
    }, this.options.connectTimeoutMs ?? 10_000);
    socket.addEventListener('open', () => {
      if (generation !== this.generation) return;
      this.stats.opened++;
      if (this.openTimer !== null) this.timers.clearTimeout(this.openTimer);
      this.openTimer = null;
      this.uptimeTimer = this.timers.setTimeout(() => {
        this.uptimeTimer = null;
        if (generation === this.generation) this.attempt = 0;
      }, this.options.minUptimeMs ?? 5000);
      this.heard = true;
      this.beat(generation);
      this.setStatus('open');
    });
    socket.addEventListener('message', (message) => {
      if (generation !== this.generation) return;
      this.heard = true;
      this.receive(message.data);
    });
    socket.addEventListener('close', (close) => {
      if (generation === this.generation) this.closed(close.code);
    });
    socket.addEventListener('error', () => {
      // A close event follows.
    });
  }

  private beat(generation: number): void {
    const interval = this.options.heartbeatMs ?? 30_000;
    if (interval <= 0) return;
    this.heartbeatTimer = this.timers.setTimeout(() => {
      this.heartbeatTimer = null;
      if (generation !== this.generation) return;
      if (!this.heard) {
        this.abandon();
        return;
      }
      this.heard = false;
      try {
        this.socket?.send('ping');
      } catch {
        // Closing: the close event follows.
      }
      this.beat(generation);
    }, interval);
  }

  /** Gives up on the current socket (timeout or gap) and tries again after the backoff. */
  private abandon(): void {
    const socket = this.socket;
    this.generation++;
    this.socket = null;
    try {
      socket?.close(4000, 'client reconnecting');
    } catch {
      // Already closing.
    }
    this.retry();
  }

  private retry(): void {
    this.clearTimers();
    if (!this.wanted) return;
    const delay = backoffDelay(this.attempt++, this.options.backoff, this.random);
    this.setStatus('reconnecting');
    this.retryTimer = this.timers.setTimeout(() => void this.connect(), delay);
  }

  private closed(code: number): void {
    this.socket = null;
    if (code === SESSION_ENDED) {
      this.stop(false, 'ended');
      this.host.sessionEnded();
      return;
    }
    if (code === ACCESS_ENDED && this.host.accessLost) {
      this.stop(false, 'ended');
      this.host.accessLost();
      return;
    }
    if (this.wanted) this.retry();
    else this.setStatus('idle');
  }

  /** Handles one message: events in order and once, resyncs; anything else is ignored. */
  receive(data: unknown): void {
    if (typeof data !== 'string' || data === 'pong') return;
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (typeof message !== 'object' || message === null) return;
    const { seq, event } = message as { seq?: unknown; event?: unknown };
    if (typeof seq !== 'number' || typeof event !== 'string') return;
    if (event === 'resync') {
      const baseline = this.lastSeq === null;
      this.lastSeq = seq;
      if (!baseline) {
        this.stats.resyncs++;
        for (const fn of [...this.resyncListeners]) safely(fn);
      }
      return;
    }
    if (this.lastSeq !== null) {
      if (seq <= this.lastSeq) {
        this.stats.duplicates++;
        return;
      }
      if (seq > this.lastSeq + 1) {
        // Never expected from the server; refetch the missing ones rather than skip them.
        this.stats.gaps++;
        this.abandon();
        return;
      }
    }
    this.lastSeq = seq;
    for (const fn of [...this.eventListeners]) safely(() => fn(message as Event));
  }
}

/** Runs a listener; one that throws does not stop the others (the error is reported async). */
export function safely(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
