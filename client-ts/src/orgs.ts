// Organizations (teams): `client.orgs` for the organizations themselves, their members and
// invitations, and `client.org(id)` for one organization's tables and its own realtime feed.
import type { AppTypes, EndpointOptions, MethodArgs, Rpc } from './client.js';
import { Collection, type CollectionHost, type Row, type RowChange, type TableAction, type TableAnswers } from './collection.js';
import { UserDoError } from './errors.js';
import { endpointPath } from './paths.js';
import type {
  EndpointName,
  Endpoints,
  Event,
  GeneratedApp,
  Invitation,
  Member,
  MembersChange,
  OrgView,
  Role,
  TableChange,
} from './generated.js';
import { safely, type Realtime, type RealtimeHost } from './realtime.js';

export { ACCESS_ENDED } from './realtime.js';

/** What a `members` listener of {@link Org.onMembers} receives. */
export type MemberChange =
  /** Someone joined, or a member's role changed (`role` is the new one). */
  | { op: 'add' | 'update'; userId: string; role: Role; seq: number }
  /** A member left or was removed. */
  | { op: 'remove'; userId: string; seq: number }
  /** Events were missed: list the members again. */
  | { op: 'resync' };

/** `client.orgs`: the organizations the signed-in user belongs to, their members and invitations. */
export interface Orgs {
  /** `POST /api/orgs`: a new organization, the caller its `owner`. */
  create(name: string): Promise<OrgView>;
  /** `GET /api/orgs`: the caller's organizations (oldest membership first), each with the caller's role. */
  list(): Promise<OrgView[]>;
  /** `GET /api/orgs/{org}`: the organization, or `undefined` when the caller is not a member (or it does not exist). */
  get(id: string): Promise<OrgView | undefined>;
  /** `PATCH /api/orgs/{org}` (admin): renames it (1 to 100 characters). */
  rename(id: string, name: string): Promise<OrgView>;
  /** `DELETE /api/orgs/{org}` (owner): deletes it and its data; every member's access ends. */
  delete(id: string): Promise<void>;
  /** `GET /api/orgs/{org}/members`: in the order they joined. */
  members(id: string): Promise<Member[]>;
  /** `PATCH /api/orgs/{org}/members/{userId}` (admin; owner to give `owner`, which transfers ownership). */
  setRole(id: string, userId: string, role: Role): Promise<Member>;
  /** `DELETE /api/orgs/{org}/members/{userId}` (admin): removes a member (never the owner). */
  removeMember(id: string, userId: string): Promise<void>;
  /** Leaves the organization (the owner must transfer ownership first: 409 `conflict`). */
  leave(id: string): Promise<void>;
  /** `POST /api/orgs/{org}/invitations` (admin): mails an invitation (its token goes by mail only). */
  invite(id: string, email: string, role?: 'admin' | 'member'): Promise<Invitation>;
  /** `GET /api/orgs/{org}/invitations` (admin): the pending ones, newest first. */
  invitations(id: string): Promise<Invitation[]>;
  /** `DELETE /api/orgs/{org}/invitations/{id}` (admin): its token stops working. */
  revokeInvitation(id: string, invitationId: string): Promise<void>;
  /** `POST /api/invitations/accept`: joins with the invited role (as the user the invitation names). */
  accept(token: string): Promise<OrgView>;
}

/** @internal What the organization API needs from the client. */
export interface OrgsHost {
  endpoint<N extends EndpointName>(name: N, options?: EndpointOptions<N>): Promise<Endpoints[N]['response']>;
  /** The signed-in user's id (asked from the server when not known yet). */
  userId(): Promise<string>;
}

/** @internal `client.orgs` over the client's endpoints. */
export function orgsApi(host: OrgsHost): Orgs {
  const org = (id: string) => ({ org: id });
  return {
    create: async (name) => (await host.endpoint('orgCreate', { body: { name } })).org,
    list: async () => (await host.endpoint('orgList')).orgs,
    get: async (id) => {
      try {
        return (await host.endpoint('orgGet', { params: org(id) })).org;
      } catch (error) {
        if (error instanceof UserDoError && error.status === 404 && error.code === 'not_found') return undefined;
        throw error;
      }
    },
    rename: async (id, name) => (await host.endpoint('orgRename', { params: org(id), body: { name } })).org,
    delete: async (id) => {
      await host.endpoint('orgDelete', { params: org(id) });
    },
    members: async (id) => (await host.endpoint('orgMembers', { params: org(id) })).members,
    setRole: async (id, userId, role) => (await host.endpoint('orgSetRole', { params: { org: id, userId }, body: { role } })).member,
    removeMember: async (id, userId) => {
      await host.endpoint('orgRemoveMember', { params: { org: id, userId } });
    },
    leave: async (id) => {
      await host.endpoint('orgRemoveMember', { params: { org: id, userId: await host.userId() } });
    },
    invite: async (id, email, role = 'member') => (await host.endpoint('orgInvite', { params: org(id), body: { email, role } })).invitation,
    invitations: async (id) => (await host.endpoint('orgInvitations', { params: org(id) })).invitations,
    revokeInvitation: async (id, invitationId) => {
      await host.endpoint('orgRevokeInvitation', { params: { org: id, id: invitationId } });
    },
    accept: async (token) => (await host.endpoint('invitationAccept', { body: { token } })).org,
  };
}

/** @internal What one organization's handle needs from the client. */
export interface OrgHost extends OrgsHost {
  /** Whether the client holds tokens. */
  signedIn(): boolean;
  /** The signed-in user's id when known, without asking the server. */
  knownUserId(): string | null;
  /** Open the socket with the first listener (the client's `autoConnect`). */
  autoConnect: boolean;
  /** A realtime connection with the client's WebSocket, timers, options and base URL. */
  realtime(host: Omit<RealtimeHost, 'socketUrl'>): Realtime;
  /** The server ended the session (4001 on this socket): the client signs out. */
  sessionEnded(): void;
  /** Access ended: the client forgets this handle (a later `client.org(id)` makes a new one). */
  forget(org: Org<AppTypes>): void;
}

type OrgTablesOf<App extends AppTypes> = App extends { orgTables: infer T } ? T : Record<never, never>;
type OrgInputsOf<App extends AppTypes> = App extends { orgInputs: infer T } ? T : Record<never, never>;
type OrgMethodsOf<App extends AppTypes> = App extends { orgMethods: infer M } ? M : Record<string, { params: unknown; result: unknown }>;
type OrgParamsOf<App extends AppTypes, M> = M extends keyof OrgMethodsOf<App>
  ? OrgMethodsOf<App>[M] extends { params: infer P } ? MethodArgs<P> : [params?: unknown]
  : [params?: unknown];
type OrgResultOf<App extends AppTypes, M> = M extends keyof OrgMethodsOf<App>
  ? OrgMethodsOf<App>[M] extends { result: infer R } ? R : unknown
  : unknown;
type OrgRowOf<App extends AppTypes, K> = K extends keyof OrgTablesOf<App> ? OrgTablesOf<App>[K] : Record<string, unknown>;
type OrgInputOf<App extends AppTypes, K> = K extends keyof OrgInputsOf<App> ? OrgInputsOf<App>[K] : Record<string, unknown>;

const TABLE_ENDPOINTS = {
  list: 'orgTableList',
  create: 'orgTableCreate',
  batch: 'orgTableBatch',
  get: 'orgTableGet',
  update: 'orgTableUpdate',
  delete: 'orgTableDelete',
} as const satisfies Record<TableAction, EndpointName>;

/**
 * One organization, as `client.org(id)` gives it: its tables (`collection(name)`, typed by the
 * generated `OrgTables`) and its own realtime feed (`GET /api/orgs/{id}/ws`), which carries the
 * tables' changes and `members` events. The feed opens with the first listener (`onChange` of a
 * collection, `onMembers`) and closes with the last, resumes with `since` after a drop, and stops
 * for good when the user's access ends (`onAccessLost`).
 */
export class Org<App extends AppTypes = GeneratedApp> implements CollectionHost {
  /** The organization's realtime connection (its own socket, apart from the user's). */
  readonly realtime: Realtime;
  /**
   * The organizations' remote methods (`POST /api/orgs/{id}/rpc`), typed from their Rust
   * declaration (`OrgApp::Call`, generated `OrgMethods`): `await org.rpc.noteStats()`.
   */
  readonly rpc: Rpc<OrgMethodsOf<App>>;
  private readonly tableListeners = new Map<string, Set<(change: RowChange<unknown>) => void>>();
  private readonly memberListeners = new Set<(change: MemberChange) => void>();
  private readonly lostListeners = new Set<() => void>();
  private listenerCount = 0;
  private lost = false;

  constructor(
    private readonly host: OrgHost,
    /** The organization's id. */
    readonly id: string,
  ) {
    this.realtime = host.realtime({
      ticket: async () => (await host.endpoint('orgWsTicket', { params: { org: id } })).ticket,
      socketPath: endpointPath('orgWebSocket', { org: id }),
      sessionEnded: () => host.sessionEnded(),
      accessLost: () => this.loseAccess(),
    });
    this.rpc = new Proxy({} as Rpc<OrgMethodsOf<App>>, {
      get: (_target, name) =>
        typeof name === 'string' && name !== 'then'
          ? (...params: unknown[]) => this.callMethod(name, params)
          : undefined,
    });
    this.realtime.onEvent((event) => this.dispatch(event));
    this.realtime.onResync(() => {
      for (const set of this.tableListeners.values()) for (const fn of [...set]) safely(() => fn({ op: 'resync' }));
      for (const fn of [...this.memberListeners]) safely(() => fn({ op: 'resync' }));
    });
  }

  /**
   * Whether the user's access to the organization ended (removed, left, or the organization
   * deleted), as learned from its feed. Then nothing reconnects; `client.org(id)` gives a new
   * handle (after a new invitation, say).
   */
  get accessLost(): boolean {
    return this.lost;
  }

  /** The organization's table `name` (typed by the generated `OrgTables` when it is one of them). */
  collection<K extends Extract<keyof OrgTablesOf<App>, string> | (string & {})>(name: K): Collection<OrgRowOf<App, K>, OrgInputOf<App, K>> {
    return new Collection<OrgRowOf<App, K>, OrgInputOf<App, K>>(this, name);
  }

  /**
   * Calls `fn` for every `members` event of the organization's feed: someone joined, changed role,
   * left or was removed (and `{op: 'resync'}` when events were missed). Returns the unsubscribe function.
   */
  onMembers(fn: (change: MemberChange) => void): () => void {
    this.memberListeners.add(fn);
    return this.listen(() => this.memberListeners.delete(fn));
  }

  /**
   * Calls `fn` once when the user's access to the organization ends: the server closed the feed
   * with 4003 (removed, left, the organization deleted), refused a new ticket with 404, or the
   * feed said this user was removed. Learned over the feed, so only while something listens
   * (`onChange`, `onMembers`). Returns the unsubscribe function.
   */
  onAccessLost(fn: () => void): () => void {
    this.lostListeners.add(fn);
    return () => this.lostListeners.delete(fn);
  }

  /** `POST /api/orgs/{id}/rpc`: calls the organization's method by name and answers its typed `result`. */
  call<M extends Extract<keyof OrgMethodsOf<App>, string>>(method: M, ...params: OrgParamsOf<App, M>): Promise<OrgResultOf<App, M>> {
    return this.callMethod(method, params) as Promise<OrgResultOf<App, M>>;
  }

  private async callMethod(method: string, params: unknown[]): Promise<unknown> {
    const body = params.length && params[0] !== undefined ? { method, params: params[0] } : { method };
    return (await this.host.endpoint('orgRpc', { params: { org: this.id }, body })).result;
  }

  /** Closes the organization's socket (listeners stay registered but hear nothing). */
  close(): void {
    if (!this.lost) this.realtime.stop();
  }

  /** @internal */
  tableCall<A extends TableAction>(action: A, table: string, id?: string, body?: unknown, query?: string): Promise<TableAnswers[A]> {
    const options: EndpointOptions<(typeof TABLE_ENDPOINTS)[A]> = { params: { org: this.id, table, id: id ?? '' } as never };
    if (body !== undefined) options.body = body as never;
    if (query) options.query = query;
    return this.host.endpoint(TABLE_ENDPOINTS[action], options) as Promise<TableAnswers[A]>;
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

  /** @internal Whether something listens (the client restarts the socket at sign-in then). */
  get listening(): boolean {
    return this.listenerCount > 0;
  }

  private listen(remove: () => void): () => void {
    this.listenerCount++;
    if (this.host.autoConnect && this.host.signedIn() && !this.lost) this.realtime.start();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      remove();
      this.listenerCount--;
      if (this.listenerCount === 0 && this.host.autoConnect && !this.lost) this.realtime.stop();
    };
  }

  private dispatch(event: Event): void {
    if (event.event.startsWith('table:')) {
      const data = event.data as TableChange;
      const change: RowChange<unknown> =
        data.op === 'delete'
          ? { op: 'delete', id: data.id, seq: event.seq }
          : { op: data.op, id: data.id, row: data.row as Row<unknown>, seq: event.seq };
      for (const fn of [...(this.tableListeners.get(event.event.slice(6)) ?? [])]) safely(() => fn(change));
    } else if (event.event === 'members') {
      const data = event.data as MembersChange;
      const change: MemberChange =
        data.op === 'remove'
          ? { op: 'remove', userId: data.userId, seq: event.seq }
          : { op: data.op, userId: data.userId, role: data.role as Role, seq: event.seq };
      for (const fn of [...this.memberListeners]) safely(() => fn(change));
      // The news of one's own removal may come before the socket's 4003 close: access ended.
      if (data.op === 'remove' && data.userId === this.host.knownUserId()) this.loseAccess();
    }
  }

  private loseAccess(): void {
    if (this.lost) return;
    this.lost = true;
    this.realtime.stop(false, 'ended');
    this.host.forget(this as unknown as Org<AppTypes>);
    for (const fn of [...this.lostListeners]) safely(fn);
  }
}
