// Session checks for other workers: a worker that binds a userdo-rs worker as a service asks it,
// with the incoming request's credentials, whose session that request carries. Runs in any
// JavaScript runtime with fetch, Request, Headers and AbortController (Workers, Node, browsers).
import { routes } from './generated.js';
import type { LiveSession, SessionCheck, User } from './generated.js';

/**
 * What `getSession` calls: a service binding to the userdo-rs worker (a Workers `Fetcher`, such
 * as `env.AUTH` for `[[services]] binding = "AUTH"`), or anything with the same `fetch`.
 */
export interface SessionBinding {
  fetch(request: Request): Promise<Response>;
}

/** The part of the incoming request that `getSession` reads: its headers. */
export interface IncomingRequest {
  readonly headers: { get(name: string): string | null };
}

/** Options of `getSession`. */
export interface GetSessionOptions {
  /**
   * Milliseconds to wait for the whole answer (headers and body) before giving up with `null`;
   * default `DEFAULT_SESSION_TIMEOUT_MS` (3000). The binding's request is aborted then.
   */
  timeoutMs?: number;
}

/** The default time-out of `getSession`, in milliseconds. */
export const DEFAULT_SESSION_TIMEOUT_MS = 3000;

/**
 * The URL `getSession` asks on the binding. A service binding ignores the host; the path is the
 * route table's `GET /api/session`.
 */
export const SESSION_CHECK_URL = `https://userdo.internal${routes.sessionCheck.path}`;

/** The only headers of the incoming request that are forwarded. */
const FORWARDED = ['authorization', 'cookie'] as const;

/**
 * Who is signed in on `request`, asked of the userdo-rs worker behind `binding`: its
 * `GET /api/session` with only the request's `Authorization` and `Cookie` headers (a bearer access
 * token or the `token` cookie). Answers `{user, session}` for a live session, checked in the
 * user's Durable Object (so a logout counts at once), and `null` otherwise.
 *
 * It fails closed: `null` when the request has neither header (without calling the binding),
 * and when the call throws, answers anything but 200, sends a body that is not JSON or not of
 * that shape, or takes longer than `timeoutMs`. It never throws.
 */
export async function getSession(
  binding: SessionBinding,
  request: IncomingRequest,
  options: GetSessionOptions = {},
): Promise<SessionCheck | null> {
  const headers = new Headers();
  for (const name of FORWARDED) {
    const value = request.headers.get(name);
    if (value !== null && value !== '') headers.set(name, value);
  }
  if (!headers.has('authorization') && !headers.has('cookie')) return null;
  const timeoutMs = Number.isFinite(options.timeoutMs) ? Math.max(0, options.timeoutMs as number) : DEFAULT_SESSION_TIMEOUT_MS;
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  // The race answers null at the deadline even if the binding ignores the abort.
  const deadline = new Promise<null>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve(null);
    }, timeoutMs);
  });
  try {
    return await Promise.race([ask(binding, headers, controller.signal), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

async function ask(binding: SessionBinding, headers: Headers, signal: AbortSignal): Promise<SessionCheck | null> {
  try {
    const res = await binding.fetch(new Request(SESSION_CHECK_URL, { method: 'GET', headers, signal, redirect: 'manual' }));
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      return null;
    }
    return sessionCheckOf(await res.json());
  } catch {
    return null;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The answer's `{user, session}` with exactly their fields, or null when it is not that shape. */
function sessionCheckOf(body: unknown): SessionCheck | null {
  if (!isObject(body) || !isObject(body.user) || !isObject(body.session)) return null;
  const { id, email, emailVerified, createdAt } = body.user;
  const s = body.session;
  if (!isId(id) || typeof email !== 'string' || typeof emailVerified !== 'boolean' || !isTime(createdAt)) return null;
  if (!isId(s.id) || !isTime(s.createdAt) || !isTime(s.expiresAt)) return null;
  const user: User = { id, email, emailVerified, createdAt };
  const session: LiveSession = { id: s.id, createdAt: s.createdAt, expiresAt: s.expiresAt };
  return { user, session };
}
