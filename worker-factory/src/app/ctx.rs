//! What application code touches inside the user's object: its tables, the KV store, SQL on its
//! own tables, the caller, its variables, and its own events in the change feed. Token keys, the
//! account tables and erasing are not here; the whole core is behind [`AppCtx::dangerous_core`].

use serde::Serialize;
use userdo::org::{Member, Role};
use userdo::store::{Row, Value};
use userdo::table::{Table, TableRow};
use userdo::tasks::When;
use userdo::{Core, Error, Event, Platform, Principal, Result, Store};

use super::Vars;

/// The typed table of `T` as application code gets it from [`AppCtx::table`].
pub type AppTable<'a, T> = Table<'a, Box<dyn Store>, Box<dyn Platform>, T>;

/// The context of one application call, hook or route, inside one user's object.
#[derive(Clone, Copy)]
pub struct AppCtx<'a> {
    core: &'a Core,
    caller: Option<&'a Principal>,
    member: Option<&'a Member>,
    vars: &'a Vars,
}

impl<'a> AppCtx<'a> {
    /// A context over `core` for `caller` (the framework and the testing harness build these).
    pub(crate) fn new(core: &'a Core, caller: Option<&'a Principal>, vars: &'a Vars) -> Self {
        Self {
            core,
            caller,
            member: None,
            vars,
        }
    }

    /// A context inside an organization's object, for a call by `member` from `caller`'s
    /// session.
    pub(crate) fn for_member(
        core: &'a Core,
        caller: &'a Principal,
        member: &'a Member,
        vars: &'a Vars,
    ) -> Self {
        Self {
            core,
            caller: Some(caller),
            member: Some(member),
            vars,
        }
    }

    /// The live session that made this call (`None` in the signup hook). In an organization's
    /// object, `user_id` is the calling member's.
    pub fn caller(&self) -> Option<&Principal> {
        self.caller
    }

    /// In an organization's object, the calling member with their role (`None` in a user's
    /// object).
    pub fn member(&self) -> Option<&Member> {
        self.member
    }

    /// The calling member, if their role is `lowest` or higher: 403 `forbidden` otherwise (and
    /// outside an organization's object).
    pub fn require_role(&self, lowest: Role) -> Result<&Member> {
        match self.member {
            Some(member) if member.role.at_least(lowest) => Ok(member),
            _ => Err(Error::Forbidden(format!(
                "this needs the role {} or higher",
                lowest.as_str()
            ))),
        }
    }

    /// The id of this object: the user's (in an organization's object, the organization's
    /// object id; the caller is [`caller`](Self::caller)).
    pub fn user_id(&self) -> &str {
        self.core.user_id()
    }

    /// The worker's variables.
    pub fn vars(&self) -> &Vars {
        self.vars
    }

    /// Milliseconds since the Unix epoch, by the object's clock (a manual one in host tests).
    pub fn now_ms(&self) -> i64 {
        self.core.platform().now_ms()
    }

    /// The table of `T` (declared in [`UserApp::tables`](crate::UserApp::tables)): typed
    /// create, read, update, delete and queries, each change with its event.
    pub fn table<T: TableRow>(&self) -> Result<AppTable<'a, T>> {
        self.core.table::<T>()
    }

    /// The value of a KV key.
    pub fn kv_get(&self, key: &str) -> Result<Option<serde_json::Value>> {
        self.core.kv_get(key)
    }

    /// Sets a KV key (with its `kv:{key}` event).
    pub fn kv_put(&self, key: &str, value: &serde_json::Value) -> Result<()> {
        self.core.kv_put(key, value).map(drop)
    }

    /// Deletes a KV key (with its event, when it was there).
    pub fn kv_delete(&self, key: &str) -> Result<()> {
        self.core.kv_delete(key).map(drop)
    }

    /// Appends the application's event `app:{name}` to the change feed, delivered to the user's
    /// sockets like every other change.
    pub fn publish<T: Serialize>(&self, name: &str, data: &T) -> Result<Event> {
        let data = serde_json::to_value(data).map_err(|e| Error::internal_from("event data", e))?;
        self.core.publish_app_event(name, data)
    }

    /// Schedules `task` (the application's [`UserApp::Task`](crate::UserApp::Task)) to run in
    /// this object: at a time, after a delay, or every interval. Returns its id, for
    /// [`cancel_task`](Self::cancel_task). It survives eviction and restarts.
    pub fn schedule<T: Serialize>(&self, when: When, task: &T) -> Result<String> {
        self.core.schedule(when, task)
    }

    /// Cancels a scheduled task; whether there was one.
    pub fn cancel_task(&self, id: &str) -> Result<bool> {
        self.core.cancel_task(id)
    }

    /// SQL on the application's own tables (those of [`UserApp::migrations`](crate::UserApp::migrations)):
    /// a statement that names one of the framework's `_userdo_*` tables is refused.
    pub fn sql(&self) -> AppSql<'a> {
        AppSql { core: self.core }
    }

    /// The whole core: the account, its sessions and token keys, erasing. Application code
    /// should not need it; what it does here bypasses every guarantee of the context.
    pub fn dangerous_core(&self) -> &'a Core {
        self.core
    }
}

/// SQL on the application's own tables, with every value bound.
#[derive(Clone, Copy)]
pub struct AppSql<'a> {
    core: &'a Core,
}

impl std::fmt::Debug for AppCtx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppCtx")
            .field("user_id", &self.core.user_id())
            .field("caller", &self.caller)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for AppSql<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSql").finish_non_exhaustive()
    }
}

impl AppSql<'_> {
    /// Runs a query and returns its rows.
    pub fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        Ok(self.core.store().query(own_tables_only(sql)?, params)?)
    }

    /// Runs a statement.
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<()> {
        Ok(self.core.store().execute(own_tables_only(sql)?, params)?)
    }
}

/// Refuses SQL that names a framework table (`_userdo_…`, in any case), or the schema table.
fn own_tables_only(sql: &str) -> Result<&str> {
    let lower = sql.to_ascii_lowercase();
    if lower.contains("_userdo") || lower.contains("sqlite_") {
        return Err(Error::Forbidden(
            "application SQL may not touch the framework's tables".into(),
        ));
    }
    Ok(sql)
}

#[cfg(test)]
mod tests {
    use super::own_tables_only;

    #[test]
    fn framework_tables_are_out_of_reach() {
        assert!(own_tables_only("SELECT COUNT(*) FROM notes").is_ok());
        for bad in [
            "SELECT * FROM _userdo_sessions",
            "delete from _USERDO_account",
            "SELECT * FROM sqlite_master",
            "SELECT * FROM \"_userdo_refresh_tokens\"",
        ] {
            assert!(own_tables_only(bad).is_err(), "{bad}");
        }
    }
}
