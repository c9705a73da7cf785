import type { BackoffOptions } from './backoff.js';
import { Collection, type Row, type RowChange, type TableAction, type TableAnswers } from './collection.js';
import { errorFrom, UserDoError } from './errors.js';
import {
  routes,
  type EndpointName,
  type Endpoints,
  type Event,
  type GeneratedApp,
  type KvChange,
  type SessionInfo,
  type TableChange,
  type User,
} from './generated.js';
import { Org, orgsApi, type OrgHost, type Orgs } from './orgs.js';
import { endpointPath } from './paths.js';
import {
  Realtime,
  safely,
  type RealtimeHost,
  type RealtimeOptions,
  type RealtimeStatus,
  type Timers,
  type WebSocketConstructor,
} from './realtime.js';
import { loadTokens, saveTokens, type TokenStorage, type Tokens } from './storage.js';

export { Collection, endpointPath };
export type { Row, RowChange };

/** What a client is typed by: the worker's tables (as read and as created) and remote methods. */
export interface AppTypes {
  tables: object;
  inputs: object;
  calls: { method: string; params?: unknown };
  /** Each method's parameters and result, by name (generated `Methods`). */
  methods?: object;
  /** The organization tables (as read), by name (generated `OrgTables`). */
  orgTables?: object;
  /** The organization tables (as created), by name (generated `OrgTableInputs`). */
  orgInputs?: object;
  /** The organizations' methods' parameters and result, by name (generated `OrgMethods`). */
  orgMethods?: object;
}

type MethodsOf<App extends AppTypes> = App extends { methods: infer M } ? M : Record<string, { params: unknown; result: unknown }>;
/** A method that takes no parameters (a unit struct in Rust) is called with none. */
export type MethodArgs<P> = [P] extends [null] ? [] : [P] extends [undefined] ? [] : [params: P];

/** The application's methods as functions: `client.rpc.renameTodo({id, title})`. */
export type Rpc<M> = {
  [K in keyof M]: M[K] extends { params: infer P; result: infer R } ? (...params: MethodArgs<P>) => Promise<R> : never;
};

/** What a KV listener receives besides the value. */
export type KeyChange =
  | { op: 'put' | 'delete'; seq: number }
  /** Events were missed; the value given was read again. */
  | { op: 'resync' };

/** Options of {@link UserDoClient}. Every one is optional. */
export interface UserDoClientOptions {
  /** The `fetch` to use. Default: the global `fetch`. */
  fetch?: typeof fetch;
  /** The `WebSocket` class to use. Default: the global `WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** Timers for reconnects. Default: the global `setTimeout` / `clearTimeout`. */
  timers?: Timers;
  /** Randomness for the backoff's jitter, in [0, 1). Default: `Math.random`. */
  random?: () => number;
  /**
   * Where to keep the tokens between page loads (`localStorage` fits). Default: none; tokens
   * live in memory only, and a reload signs out.
   */
  storage?: TokenStorage;
  /**
   * Sign in for a page of the worker's own origin (or an allowed one) in a browser, with no token
   * in any storage a script can read: the refresh token stays in the worker's HttpOnly
   * `refreshToken` cookie, which every refresh sends (`credentials: 'include'`); the access token
   * lives in memory. {@link UserDoClient.restore} signs a new page or tab back in from the cookie.
   * Refreshes of the tabs of one browser take turns (the Web Locks API, where there is one): two
   * tabs spending one refresh token at once would end the session. Excludes `storage`.
   * Default false.
   */
  cookies?: boolean;
  /** The key under which `storage` keeps the tokens. Default `"userdo.tokens"`. */
  storageKey?: string;
  /** Tokens to start with (e.g. from a server render). Default: those in `storage`, if any. */
  tokens?: Tokens;
  /** Reconnect delays: exponential backoff with full jitter. Default base 500 ms, max 30 s. */
  backoff?: BackoffOptions;
  /** Give up on a socket that has not opened after this long. Default 10000 ms. */
  connectTimeoutMs?: number;
  /** A socket must stay open this long before the backoff starts over. Default 5000 ms. */
  minUptimeMs?: number;
  /** Send `ping` this often and replace a socket that stays silent a whole interval. Default 30000 ms; 0 = off. */
  heartbeatMs?: number;
  /**
   * Open the realtime socket when the first `onChange` listener is added and close it when the
   * last one goes. Default `true`; with `false`, call `client.realtime.start()` yourself.
   */
  autoConnect?: boolean;
  /** Called after the server asked for a resync (events were missed): reload what you show. */
  onResync?: () => void;
  /** Called when the client signs in or out (also when a failed refresh or the server ends the session). */
  onAuthChange?: (signedIn: boolean) => void;
}

type RowOf<App extends AppTypes, K> = K extends keyof App['tables'] ? App['tables'][K] : Record<string, unknown>;
type InputOf<App extends AppTypes, K> = K extends keyof App['inputs'] ? App['inputs'][K] : Record<string, unknown>;
type ParamsOf<App extends AppTypes, M> =
  M extends keyof MethodsOf<App>
    ? MethodsOf<App>[M] extends { params: infer P } ? MethodArgs<P> : [params?: unknown]
    : Extract<App['calls'], { method: M }> extends { params: infer P } ? [params: P] : [params?: undefined];
type ResultOf<App extends AppTypes, M> = M extends keyof MethodsOf<App>
  ? MethodsOf<App>[M] extends { result: infer R } ? R : unknown
  : unknown;

/** What {@link UserDoClient.endpoint} takes for the endpoint `N`. */
export interface EndpointOptions<N extends EndpointName> {
  /** The path parameters (each one is percent-encoded into its segment). */
  params?: Endpoints[N]['params'];
  /** The JSON body. */
  body?: Endpoints[N]['body'];
  /** A query string to append, without its `?`. */
  query?: string;
  /** Send the access token (and refresh it once on an expired-token 401). Default true. */
  auth?: boolean;
}

/** Options of {@link UserDoClient.request}. */
export interface RequestOptions {
  /** The JSON body. */
  body?: unknown;
  /** Send the access token and refresh it once on an expired-token 401. Default true. */
  auth?: boolean;
}

/**
 * The client of a userdo-rs worker.
 *
 * ```ts
 * const client = new UserDoClient('https://app.example.com', { storage: localStorage });
 * await client.login('me@example.com', 'correct horse battery');
 * const todos = client.collection('todos');
 * await todos.create({ title: 'walk' });
 * const stop = todos.onChange((change) => render(change));
 * ```
 */
export class UserDoClient<App extends AppTypes = GeneratedApp> {
  /** The realtime connection (started by the first `onChange`, unless `autoConnect` is false). */
  readonly realtime: Realtime;
  /**
   * The application's remote methods, typed from the Rust declaration (`methods!`):
   * `await client.rpc.renameTodo({ id, title })` answers the renamed row.
   */
  readonly rpc: Rpc<MethodsOf<App>>;
  /** The account's sessions. */
  readonly sessions: {
    /** `GET /api/sessions`: most recently used first. */
    list(): Promise<SessionInfo[]>;
    /** `DELETE /api/sessions/{id}`: ends that session (its sockets close with 4001). */
    revoke(id: string): Promise<void>;
    /** `POST /api/sessions/revoke-others`: ends every other session; answers how many. */
    revokeOthers(): Promise<number>;
  };
  /**
   * The organizations (teams) of the signed-in user: create, list, rename, delete, members and
   * roles, invitations. One organization's tables and feed: {@link UserDoClient.org}.
   */
  readonly orgs: Orgs;
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly storage: TokenStorage | undefined;
  private readonly storageKey: string;
  private tokens: Tokens | null;
  private refreshing: Promise<boolean> | null = null;
  private readonly kvListeners = new Map<string, Set<(value: unknown, change: KeyChange) => void>>();
  private readonly kvEventCount = new Map<string, number>();
  private readonly tableListeners = new Map<string, Set<(change: RowChange<unknown>) => void>>();
  private readonly authListeners = new Set<(signedIn: boolean) => void>();
  private listenerCount = 0;
  private readonly timers: Timers;
  private readonly realtimeOptions: RealtimeOptions = {};
  // The signed-in user's id, from the last sign-in or refresh (null when not known).
  private userIdNow: string | null = null;
  private readonly orgHandles = new Map<string, Org<App>>();

  constructor(baseUrl: string, private readonly options: UserDoClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    // The global fetch is bound to globalThis: a browser refuses `fetch` called as a method of
    // another object ("Illegal invocation").
    const fetchImpl = options.fetch ?? globalThis.fetch?.bind(globalThis);
    if (!fetchImpl) throw new Error('userdo: no fetch implementation; pass options.fetch');
    this.fetchImpl = fetchImpl;
    if (options.cookies && options.storage) throw new Error('userdo: options.cookies and options.storage exclude each other');
    this.storage = options.storage;
    this.storageKey = options.storageKey ?? 'userdo.tokens';
    this.tokens = options.tokens ?? loadTokens(this.storage, this.storageKey);
    if (options.onAuthChange) this.authListeners.add(options.onAuthChange);
    this.timers = options.timers ?? {
      setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
      clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
    };
    if (options.backoff) this.realtimeOptions.backoff = options.backoff;
    if (options.connectTimeoutMs !== undefined) this.realtimeOptions.connectTimeoutMs = options.connectTimeoutMs;
    if (options.minUptimeMs !== undefined) this.realtimeOptions.minUptimeMs = options.minUptimeMs;
    if (options.heartbeatMs !== undefined) this.realtimeOptions.heartbeatMs = options.heartbeatMs;
    this.realtime = this.newRealtime({
      ticket: async () => (await this.endpoint('wsTicket')).ticket,
      socketPath: endpointPath('webSocket'),
      sessionEnded: () => this.signOutLocally(),
    });
    this.realtime.onEvent((event) => this.dispatch(event));
    this.realtime.onResync(() => this.resync());
    this.rpc = new Proxy({} as Rpc<MethodsOf<App>>, {
      get: (_target, name) =>
        typeof name === 'string' && name !== 'then'
          ? (...params: unknown[]) => {
              const body = params.length && params[0] !== undefined ? { method: name, params: params[0] } : { method: name };
              return this.endpoint('rpc', { body: body as Endpoints['rpc']['body'] }).then((r) => r.result);
            }
          : undefined,
    });
    this.sessions = {
      list: async () => (await this.endpoint('sessions')).sessions,
      revoke: async (id) => {
        await this.endpoint('revokeSession', { params: { id } });
      },
      revokeOthers: async () => (await this.endpoint('revokeOthers')).revoked,
    };
    this.orgs = orgsApi({ endpoint: (name, opts) => this.endpoint(name, opts), userId: () => this.currentUserId() });
  }

  /** A realtime connection to a feed of this worker, with the client's WebSocket, timers and options. */
  private newRealtime(host: Omit<RealtimeHost, 'socketUrl'>): Realtime {
    return new Realtime(
      { ...host, socketUrl: (path) => this.baseUrl.replace(/^http/, 'ws') + path },
      this.options.WebSocket ?? (globalThis.WebSocket as WebSocketConstructor | undefined),
      this.timers,
      this.options.random ?? Math.random,
      this.realtimeOptions,
    );
  }

  /** The signed-in user's id: known from the sign-in or refresh, else asked (`GET /api/me`). */
  private async currentUserId(): Promise<string> {
    return this.userIdNow ?? (await this.me()).id;
  }

  // ---- tokens and requests ----

  /** Whether the client holds tokens (they may still turn out to be revoked). */
  get signedIn(): boolean {
    return this.tokens !== null;
  }

  /** The current tokens, or `null`. */
  getTokens(): Tokens | null {
    return this.tokens;
  }

  /** Replaces the tokens (saved to `storage` if given); `null` signs out locally. */
  setTokens(tokens: Tokens | null): void {
    const was = this.tokens !== null;
    this.tokens = tokens;
    if (!tokens) this.userIdNow = null;
    saveTokens(this.storage, this.storageKey, tokens);
    if (was !== (tokens !== null)) for (const fn of [...this.authListeners]) safely(() => fn(tokens !== null));
  }

  /** Calls `fn(signedIn)` when the client signs in or out. Returns the unsubscribe function. */
  onAuthChange(fn: (signedIn: boolean) => void): () => void {
    this.authListeners.add(fn);
    return () => this.authListeners.delete(fn);
  }

  /**
   * Sends a request to the worker and returns its JSON body; an error answer throws
   * {@link UserDoError}. With `auth` (the default) the access token goes along, and an
   * expired-token 401 refreshes once (shared by concurrent requests) and retries once.
   */
  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const auth = options.auth ?? true;
    const used = auth ? this.tokens : null;
    let res = await this.send(method, path, options.body, used?.token);
    if (res.status === 401 && used) {
      const error = await errorFrom(res);
      if (error.code === 'session_revoked') {
        if (this.tokens === used) this.signOutLocally();
        throw error;
      }
      if (error.code !== 'invalid_token' || !(await this.refreshAfter(used))) throw error;
      res = await this.send(method, path, options.body, this.tokens?.token);
    }
    if (!res.ok) throw await errorFrom(res);
    return (await res.json()) as T;
  }

  /**
   * Calls one endpoint of the worker's route table, typed by the generated `Endpoints`: its path
   * filled from `params`, its body, and its answer. Errors and refresh as {@link request}.
   */
  endpoint<N extends EndpointName>(name: N, options: EndpointOptions<N> = {}): Promise<Endpoints[N]['response']> {
    const path = endpointPath(name, options.params) + (options.query ? `?${options.query}` : '');
    const request: RequestOptions = { body: options.body };
    if (options.auth !== undefined) request.auth = options.auth;
    return this.request<Endpoints[N]['response']>(routes[name].method, path, request);
  }

  private send(method: string, path: string, body: unknown, token: string | undefined): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const init: RequestInit = { method, headers };
    if (this.options.cookies) init.credentials = 'include';
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return this.fetchImpl(this.baseUrl + path, init);
  }

  /**
   * Gets a fresh access token after `stale` was refused: at most one refresh runs at a time, and
   * a request whose token was already replaced just retries. Resolves false when signed out.
   */
  private refreshAfter(stale: Tokens): Promise<boolean> {
    if (this.tokens && this.tokens.token !== stale.token) return Promise.resolve(true);
    // Another tab with the same storage may have refreshed already: adopt its pair instead of
    // spending the old refresh token (which would end the session).
    const stored = loadTokens(this.storage, this.storageKey);
    if (stored && stored.token !== stale.token) {
      this.tokens = stored;
      return Promise.resolve(true);
    }
    if (!this.tokens) return Promise.resolve(false);
    return this.refreshOnce(this.tokens.refreshToken);
  }

  /** One refresh at a time in this client (and, with `cookies`, in this browser). */
  private refreshOnce(refreshToken: string): Promise<boolean> {
    this.refreshing ??= (this.options.cookies ? this.inTurn(() => this.refreshNow(undefined)) : this.refreshNow(refreshToken)).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** Runs `fn` holding this origin's refresh lock, where the Web Locks API exists. */
  private inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const locks = (globalThis as { navigator?: { locks?: { request(name: string, fn: () => Promise<T>): Promise<T> } } }).navigator?.locks;
    return locks ? locks.request('userdo.refresh', fn) : fn();
  }

  /** Spends `refreshToken`, or without one the `refreshToken` cookie. */
  private async refreshNow(refreshToken: string | undefined): Promise<boolean> {
    const body = refreshToken === undefined ? undefined : { refreshToken };
    const res = await this.send(routes.refresh.method, routes.refresh.path, body, undefined);
    if (!res.ok) {
      // Spent, expired or revoked: the session is over.
      if (res.status === 400 || res.status === 401 || res.status === 403) {
        this.signOutLocally();
        return false;
      }
      throw await errorFrom(res);
    }
    this.adopt((await res.json()) as Endpoints['refresh']['response']);
    return true;
  }

  /** Keeps a new pair: with `cookies`, the access token only (the cookie holds the refresh token). */
  private adopt(auth: { token: string; refreshToken: string; user?: User }): void {
    if (auth.user?.id) this.userIdNow = auth.user.id;
    this.setTokens({ token: auth.token, refreshToken: this.options.cookies ? '' : auth.refreshToken });
  }

  /**
   * With `cookies`: signs in from the `refreshToken` cookie (a new page or tab of a signed-in
   * browser). Resolves whether the client is signed in; without a live session it stays signed
   * out. Without `cookies`, just says whether it holds tokens.
   */
  async restore(): Promise<boolean> {
    if (!this.options.cookies || this.tokens) return this.tokens !== null;
    return this.refreshOnce('');
  }

  /** Refreshes the access token now (normally not needed: requests do it when it expires). */
  async refresh(): Promise<boolean> {
    if (!this.tokens) return false;
    return this.refreshAfter(this.tokens);
  }

  private signOutLocally(): void {
    this.realtime.stop(true, this.realtime.status === 'ended' ? 'ended' : 'idle');
    for (const org of this.orgHandles.values()) org.realtime.stop(true);
    this.setTokens(null);
  }

  // ---- auth ----

  private async signIn(name: 'signup' | 'login', email: string, password: string): Promise<User> {
    const auth = await this.endpoint(name, { body: { email, password }, auth: false });
    this.realtime.stop(true);
    for (const org of this.orgHandles.values()) org.realtime.stop(true);
    this.adopt(auth);
    if (this.options.autoConnect !== false) {
      if (this.listenerCount > 0) this.realtime.start();
      for (const org of this.orgHandles.values()) if (org.listening) org.realtime.start();
    }
    return auth.user;
  }

  /** `POST /api/signup`: creates the account and signs in. */
  signup(email: string, password: string): Promise<User> {
    return this.signIn('signup', email, password);
  }

  /** `POST /api/login`. */
  login(email: string, password: string): Promise<User> {
    return this.signIn('login', email, password);
  }

  /** `POST /api/logout`: ends the session on the server, then forgets the tokens (also if that fails). */
  async logout(): Promise<void> {
    if (!this.tokens) return;
    try {
      await this.endpoint('logout');
    } catch (error) {
      if (!(error instanceof UserDoError)) throw error;
    } finally {
      this.signOutLocally();
    }
  }

  /** `GET /api/me`. */
  async me(): Promise<User> {
    const { user } = await this.endpoint('me');
    if (this.tokens) this.userIdNow = user.id;
    return user;
  }

  /** `POST /api/password/change`: every other session ends; this one stays. */
  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await this.endpoint('changePassword', { body: { currentPassword, newPassword } });
  }

  /** `POST /api/password-reset/request`: the server mails a token (202 also for unknown emails). */
  async requestPasswordReset(email: string): Promise<void> {
    await this.endpoint('resetRequest', { body: { email }, auth: false });
  }

  /** `POST /api/password-reset/confirm`: sets the password; every session of the account ends. */
  async confirmPasswordReset(token: string, newPassword: string): Promise<void> {
    await this.endpoint('resetConfirm', { body: { token, newPassword }, auth: false });
  }

  /** `POST /api/email-verification/request`. */
  async requestEmailVerification(): Promise<void> {
    await this.endpoint('verificationRequest');
  }

  /** `POST /api/email-verification/confirm`. */
  async confirmEmailVerification(token: string): Promise<User> {
    return (await this.endpoint('verificationConfirm', { body: { token }, auth: false })).user;
  }

  /** `DELETE /api/account`: erases the account and all its data, then signs out. */
  async deleteAccount(password: string): Promise<void> {
    await this.endpoint('deleteAccount', { body: { password } });
    this.signOutLocally();
  }

  // ---- KV ----

  /** `GET /api/kv/{key}`: the value, or `undefined` when the key is not set. */
  async get<T = unknown>(key: string): Promise<T | undefined> {
    try {
      return (await this.endpoint('kvGet', { params: { key } })).value as T;
    } catch (error) {
      if (error instanceof UserDoError && error.status === 404 && error.code === 'not_found') return undefined;
      throw error;
    }
  }

  /** `PUT /api/kv/{key}`: stores any JSON value (`null` included). */
  async set<T>(key: string, value: T): Promise<void> {
    await this.endpoint('kvPut', { params: { key }, body: value === undefined ? null : value });
  }

  /** `DELETE /api/kv/{key}` (no error when the key was not set). */
  async delete(key: string): Promise<void> {
    await this.endpoint('kvDelete', { params: { key } });
  }

  /** `GET /api/kv?prefix=`: every key (with the prefix), in UTF-8 byte order. */
  async keys(prefix?: string): Promise<string[]> {
    // The server answers pages of at most 1000 keys; follow `next` to the last.
    const keys: string[] = [];
    let after: string | undefined;
    do {
      const parts = [];
      if (prefix !== undefined) parts.push(`prefix=${encodeURIComponent(prefix)}`);
      if (after !== undefined) parts.push(`after=${encodeURIComponent(after)}`);
      const page = await this.endpoint('kvList', { query: parts.join('&') });
      keys.push(...page.keys);
      after = page.next ?? undefined;
    } while (after !== undefined);
    return keys;
  }

  /**
   * Calls `fn(value, change)` whenever `key` changes (`value` is `undefined` after a delete), and
   * after a resync with the value read again. Returns the unsubscribe function.
   */
  onChange<T = unknown>(key: string, fn: (value: T | undefined, change: KeyChange) => void): () => void {
    let set = this.kvListeners.get(key);
    if (!set) this.kvListeners.set(key, (set = new Set()));
    const listener = fn as (value: unknown, change: KeyChange) => void;
    set.add(listener);
    return this.listen(() => {
      set.delete(listener);
      if (set.size === 0) this.kvListeners.delete(key);
    });
  }

  // ---- tables ----

  /** The table `name` (typed by the generated `Tables` when it is one of them). */
  collection<K extends Extract<keyof App['tables'], string> | (string & {})>(name: K): Collection<RowOf<App, K>, InputOf<App, K>> {
    return new Collection<RowOf<App, K>, InputOf<App, K>>(this, name);
  }

  /** @internal The endpoint of a collection's `action` (see {@link Collection}). */
  tableCall<A extends TableAction>(action: A, table: string, id?: string, body?: unknown, query?: string): Promise<TableAnswers[A]> {
    const options: EndpointOptions<(typeof TABLE_ENDPOINTS)[A]> = { params: { table, id: id ?? '' } as never };
    if (body !== undefined) options.body = body as never;
    if (query) options.query = query;
    return this.endpoint(TABLE_ENDPOINTS[action], options) as Promise<TableAnswers[A]>;
  }

  /** @internal Adds a table listener (see {@link Collection.onChange}). */
  listenTable(name: string, fn: (change: RowChange<unknown>) => void): () => void {
    let set = this.tableListeners.get(name);
    if (!set) this.tableListeners.set(name, (set = new Set()));
    set.add(fn);
    return this.listen(() => {
      set.delete(fn);
      if (set.size === 0) this.tableListeners.delete(name);
    });
  }

  // ---- organizations ----

  /**
   * One organization of the signed-in user: `collection(name)` over its tables
   * (`/api/orgs/{id}/tables/{name}`, typed by the generated `OrgTables`), `onMembers`, and
   * `onAccessLost`, all fed by the organization's own realtime socket. The same handle for the
   * same id, until access to it ends.
   */
  org(id: string): Org<App> {
    let org = this.orgHandles.get(id);
    if (!org) {
      const host: OrgHost = {
        endpoint: (name, opts) => this.endpoint(name, opts),
        userId: () => this.currentUserId(),
        knownUserId: () => this.userIdNow,
        signedIn: () => this.tokens !== null,
        autoConnect: this.options.autoConnect !== false,
        realtime: (realtimeHost) => this.newRealtime(realtimeHost),
        sessionEnded: () => this.signOutLocally(),
        forget: (lost) => {
          if (this.orgHandles.get(id) === (lost as unknown)) this.orgHandles.delete(id);
        },
      };
      org = new Org<App>(host, id);
      this.orgHandles.set(id, org);
    }
    return org;
  }

  // ---- remote calls ----

  /** `POST /api/rpc`: calls the application's method and answers its typed `result`. */
  async call<M extends App['calls']['method']>(method: M, ...params: ParamsOf<App, M>): Promise<ResultOf<App, M>> {
    const body = params.length ? { method, params: params[0] } : { method };
    return (await this.endpoint('rpc', { body: body as Endpoints['rpc']['body'] })).result as ResultOf<App, M>;
  }

  // ---- realtime plumbing ----

  private listen(remove: () => void): () => void {
    this.listenerCount++;
    if (this.options.autoConnect !== false && this.tokens) this.realtime.start();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      remove();
      this.listenerCount--;
      if (this.listenerCount === 0 && this.options.autoConnect !== false) this.realtime.stop();
    };
  }

  private dispatch(event: Event): void {
    if (event.event.startsWith('kv:')) {
      const data = event.data as KvChange;
      this.kvEventCount.set(data.key, (this.kvEventCount.get(data.key) ?? 0) + 1);
      const change: KeyChange = { op: data.op, seq: event.seq };
      for (const fn of [...(this.kvListeners.get(data.key) ?? [])]) safely(() => fn(data.op === 'put' ? data.value : undefined, change));
    } else if (event.event.startsWith('table:')) {
      const data = event.data as TableChange;
      const change: RowChange<unknown> =
        data.op === 'delete'
          ? { op: 'delete', id: data.id, seq: event.seq }
          : { op: data.op, id: data.id, row: data.row as Row<unknown>, seq: event.seq };
      for (const fn of [...(this.tableListeners.get(event.event.slice(6)) ?? [])]) safely(() => fn(change));
    }
  }

  private resync(): void {
    if (this.options.onResync) safely(this.options.onResync);
    for (const set of this.tableListeners.values()) for (const fn of [...set]) safely(() => fn({ op: 'resync' }));
    for (const key of this.kvListeners.keys()) {
      const before = this.kvEventCount.get(key) ?? 0;
      this.get(key).then(
        (value) => {
          // A live event for the key arrived meanwhile: it is newer than this read.
          if ((this.kvEventCount.get(key) ?? 0) !== before) return;
          for (const fn of [...(this.kvListeners.get(key) ?? [])]) safely(() => fn(value, { op: 'resync' }));
        },
        () => {
          // Reads fail when signed out or offline; the next resync or event brings it back.
        },
      );
    }
  }

  /** Closes the realtime connections for good, the organizations' too (listeners stay registered but hear nothing). */
  close(): void {
    this.realtime.stop();
    for (const org of this.orgHandles.values()) org.close();
  }
}

/** The endpoints of a user's tables, by collection action. */
const TABLE_ENDPOINTS = {
  list: 'tableList',
  create: 'tableCreate',
  batch: 'tableBatch',
  get: 'tableGet',
  update: 'tableUpdate',
  delete: 'tableDelete',
} as const satisfies Record<TableAction, EndpointName>;

export type { RealtimeStatus };
