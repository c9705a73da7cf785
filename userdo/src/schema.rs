//! The core's own SQLite schema, in one place: every `_userdo_*` table's DDL, the order in which
//! the migrations apply, and which tables an account erase empties.
//!
//! Every other module that reads or writes these tables depends on this one; this one depends on
//! nothing but [`migrate`](crate::migrate). The SQL text, names and versions here are what existing
//! objects have recorded in `_userdo_migrations`: they never change once released (a change is a
//! new migration at the end of its namespace).

use crate::migrate::Migration;

/// The migration namespace of the account, its sessions and tokens.
pub(crate) const ACCOUNT_NAMESPACE: &str = "userdo";
/// The migration namespace of the user's data: the event log, KV and the table registry.
pub(crate) const DATA_NAMESPACE: &str = "userdo.data";

/// The account schema, in order, in the namespace [`ACCOUNT_NAMESPACE`].
pub(crate) const ACCOUNT_MIGRATIONS: &[Migration] =
    &[ACCOUNTS, MAIL_TOKENS, WS_TICKETS, TICKET_SCOPES, IDENTITIES];

/// The data schema, in order, in the namespace [`DATA_NAMESPACE`].
pub(crate) const DATA_MIGRATIONS: &[Migration] = &[
    EVENTS_AND_KV,
    TABLE_REGISTRY,
    EVENT_SIZES,
    DELIVERED,
    ORG_INDEX,
];

/// The namespace of the scheduled-task schema.
pub(crate) const TASKS_NAMESPACE: &str = "userdo.tasks";

/// The scheduled-task schema, in order, in the namespace [`TASKS_NAMESPACE`].
pub(crate) const TASKS_MIGRATIONS: &[Migration] = &[TASKS];

/// The namespace of an organization's own schema (in the organization's object).
pub(crate) const ORG_NAMESPACE: &str = "userdo.org";

/// An organization's schema, in order, in the namespace [`ORG_NAMESPACE`].
pub(crate) const ORG_MIGRATIONS: &[Migration] = &[ORGANIZATION];

/// The rate limiter's schema (migration namespace `"limits"`), kept in its own object.
pub(crate) const LIMITS_MIGRATIONS: &[Migration] = &[RATE_COUNTERS];

/// The tables [`UserDo::erase`](crate::UserDo::erase) empties: every row the core keeps for the
/// account (the application's tables go with the whole storage, which the runtime erases).
pub(crate) const ERASED_TABLES: &[&str] = &[
    "_userdo_account",
    "_userdo_sessions",
    "_userdo_refresh_tokens",
    "_userdo_mail_tokens",
    "_userdo_ws_tickets",
    "_userdo_kv",
    "_userdo_events",
    "_userdo_tasks",
    "_userdo_org_index",
    "_userdo_identities",
];

/// What an erase does beside emptying [`ERASED_TABLES`]: the seq counter starts again.
pub(crate) const ERASE_RESET_SEQ: &str = "UPDATE _userdo_seq SET seq = 0, bytes = 0, delivered = 0";

const ACCOUNTS: Migration = Migration {
    version: 1,
    name: "accounts and sessions",
    sql: "
CREATE TABLE _userdo_account (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    user_id TEXT NOT NULL,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    email_verified INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE TABLE _userdo_sessions (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    user_agent TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE _userdo_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    spent INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL
);
CREATE INDEX _userdo_refresh_tokens_by_session ON _userdo_refresh_tokens (session_id)",
};

const MAIL_TOKENS: Migration = Migration {
    version: 2,
    name: "single-use mail tokens",
    sql: "
CREATE TABLE _userdo_mail_tokens (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    expires_at INTEGER NOT NULL
)",
};

const WS_TICKETS: Migration = Migration {
    version: 3,
    name: "websocket tickets",
    sql: "CREATE TABLE _userdo_ws_tickets (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL
)",
};

/// What a WebSocket ticket opens: `""` the user's own feed, else the organization of that id.
const TICKET_SCOPES: Migration = Migration {
    version: 4,
    name: "websocket ticket scopes",
    sql: "ALTER TABLE _userdo_ws_tickets ADD COLUMN scope TEXT NOT NULL DEFAULT ''",
};

/// The sign-in providers' identities linked to the account, one per provider.
const IDENTITIES: Migration = Migration {
    version: 5,
    name: "identities",
    sql: "CREATE TABLE _userdo_identities (
    provider TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    email TEXT NOT NULL,
    linked_at INTEGER NOT NULL
)",
};

const EVENTS_AND_KV: Migration = Migration {
    version: 1,
    name: "event log and key-value store",
    sql: "
CREATE TABLE _userdo_events (
    seq INTEGER PRIMARY KEY,
    event TEXT NOT NULL,
    data TEXT NOT NULL,
    ts INTEGER NOT NULL
);
CREATE TABLE _userdo_seq (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
INSERT INTO _userdo_seq (id, seq) VALUES (1, 0);
CREATE TABLE _userdo_kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID",
};

/// The registry of applied table declarations (what schema evolution last applied per table).
const TABLE_REGISTRY: Migration = Migration {
    version: 2,
    name: "table registry",
    sql: "CREATE TABLE _userdo_tables (name TEXT PRIMARY KEY, schema TEXT NOT NULL)",
};

/// The size of each event's data in bytes, and their running total beside the seq counter, so
/// the log can be bounded in bytes (`EVENT_LOG_MAX_BYTES`) without reading it.
const EVENT_SIZES: Migration = Migration {
    version: 3,
    name: "event sizes",
    sql: "
ALTER TABLE _userdo_events ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
UPDATE _userdo_events SET size = length(CAST(data AS BLOB));
ALTER TABLE _userdo_seq ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
UPDATE _userdo_seq SET bytes = (SELECT COALESCE(SUM(size), 0) FROM _userdo_events)",
};

/// The newest `seq` every open socket has been sent, so that delivery can keep each socket's
/// position in memory and still be right after the object was evicted.
const DELIVERED: Migration = Migration {
    version: 4,
    name: "delivered",
    sql: "ALTER TABLE _userdo_seq ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0",
};

const RATE_COUNTERS: Migration = Migration {
    version: 1,
    name: "rate counters",
    sql: "CREATE TABLE _userdo_rate (bucket TEXT PRIMARY KEY, window_start INTEGER NOT NULL, count INTEGER NOT NULL)",
};

const TASKS: Migration = Migration {
    version: 1,
    name: "scheduled tasks",
    sql: "
CREATE TABLE _userdo_tasks (
    id TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    due_ms INTEGER NOT NULL,
    every_ms INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX _userdo_tasks_by_due ON _userdo_tasks (due_ms)",
};

/// The organizations the user belongs to, as the user's object knows them: an index for
/// `GET /api/orgs`, checked against each organization's object (the authority) when read.
const ORG_INDEX: Migration = Migration {
    version: 5,
    name: "organization index",
    sql: "CREATE TABLE _userdo_org_index (org_id TEXT PRIMARY KEY, added_at INTEGER NOT NULL)",
};

/// An organization: its name, members and invitations (in the organization's own object).
const ORGANIZATION: Migration = Migration {
    version: 1,
    name: "organization",
    sql: "
CREATE TABLE _userdo_org (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    org_id TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE _userdo_members (
    user_id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    joined_at INTEGER NOT NULL
);
CREATE TABLE _userdo_invitations (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX _userdo_invitations_by_created ON _userdo_invitations (created_at)",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_run_one_two_three_in_each_namespace() {
        for migrations in [
            ACCOUNT_MIGRATIONS,
            DATA_MIGRATIONS,
            TASKS_MIGRATIONS,
            LIMITS_MIGRATIONS,
            ORG_MIGRATIONS,
        ] {
            let versions: Vec<i64> = migrations.iter().map(|m| m.version).collect();
            let expected: Vec<i64> = (1..=migrations.len() as i64).collect();
            assert_eq!(versions, expected);
        }
    }

    #[test]
    fn every_erased_table_is_created_by_a_migration() {
        for table in ERASED_TABLES {
            let created = format!("CREATE TABLE {table} ");
            assert!(
                ACCOUNT_MIGRATIONS
                    .iter()
                    .chain(DATA_MIGRATIONS)
                    .chain(TASKS_MIGRATIONS)
                    .any(|m| m.sql.contains(&created)),
                "{table}"
            );
        }
    }
}
