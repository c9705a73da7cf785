export { UserDoClient, Collection, endpointPath } from './client.js';
export type { AppTypes, EndpointOptions, KeyChange, RequestOptions, Row, RowChange, UserDoClientOptions } from './client.js';
export { Org, ACCESS_ENDED } from './orgs.js';
export type { MemberChange, Orgs } from './orgs.js';
export type { CollectionHost, TableAction, TableAnswers } from './collection.js';
export { UserDoError } from './errors.js';
export { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { queryString } from './query.js';
export type { FieldOf, FilterValue, Op, QueryOptions } from './query.js';
export { Realtime, SESSION_ENDED, BASELINE_SINCE } from './realtime.js';
export type {
  RealtimeOptions,
  RealtimeStats,
  RealtimeStatus,
  Timers,
  WebSocketConstructor,
  WebSocketLike,
} from './realtime.js';
export type { TokenStorage, Tokens } from './storage.js';
export { getSession, DEFAULT_SESSION_TIMEOUT_MS, SESSION_CHECK_URL } from './session.js';
export type { GetSessionOptions, IncomingRequest, SessionBinding } from './session.js';
export * from './generated.js';
