//! Scheduled work of the application, kept in the user's object: each task is a JSON value (the
//! application's task type), due at a time, maybe repeating. The runtime runs the due ones from
//! the Durable Object alarm, set to the earliest due time, so tasks survive eviction and restarts.
//!
//! Delivery is at least once per due time: a task whose run succeeded is marked done in the same
//! turn, but a run cut off before that (the object evicted mid-run) runs again. A failed run is
//! retried with exponential backoff ([`retry_delay_ms`]) up to [`MAX_ATTEMPTS`] times, then
//! dropped (and logged). A repeating task's next due time is the first one after now: missed
//! repetitions while the object slept are not run twice.

use serde::Serialize;
use serde_json::Value as Json;

use crate::UserDo;
use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::store::{Row, Store, Value};

/// How often a failed task is tried in all.
pub const MAX_ATTEMPTS: i64 = 8;
/// The most tasks one object holds; scheduling beyond is a 409.
pub const MAX_TASKS: i64 = 10_000;
/// The shortest repeating interval.
pub const MIN_INTERVAL_MS: i64 = 1_000;

/// A task that is due.
#[derive(Debug, Clone, PartialEq)]
pub struct DueTask {
    /// Its id (from [`UserDo::schedule`]).
    pub id: String,
    /// The application's task value.
    pub task: Json,
    /// When it was due.
    pub due_ms: i64,
    /// Its repeating interval, if it repeats.
    pub every_ms: Option<i64>,
    /// How many runs failed before this one.
    pub attempts: i64,
}

/// When a task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// At this time (milliseconds since the Unix epoch).
    At(i64),
    /// This many milliseconds from now.
    After(i64),
    /// Every this many milliseconds, the first time one interval from now.
    Every(i64),
}

/// The wait before retry number `attempts` (1-based): 1 s, 2 s, 4 s, ... at most 10 minutes.
pub fn retry_delay_ms(attempts: i64) -> i64 {
    let exponent = attempts.clamp(1, 20) - 1;
    (1_000i64 << exponent).min(600_000)
}

impl<S: Store, P: Platform> UserDo<S, P> {
    /// Schedules `task` (any serialisable value; the application's task type) and returns its id.
    pub fn schedule<T: Serialize>(&self, when: When, task: &T) -> Result<String> {
        let now = self.platform.now_ms();
        let (due_ms, every_ms) = match when {
            When::At(at) => (at, None),
            When::After(ms) if ms >= 0 => (now.saturating_add(ms), None),
            When::Every(ms) if ms >= MIN_INTERVAL_MS => (now.saturating_add(ms), Some(ms)),
            When::After(_) => return Err(Error::Config("a task cannot run in the past".into())),
            When::Every(_) => {
                return Err(Error::Config(format!(
                    "a repeating task's interval is at least {MIN_INTERVAL_MS} ms"
                )));
            }
        };
        let count = self
            .store
            .query("SELECT COUNT(*) FROM _userdo_tasks", &[])?;
        if count.first().map(|r| r.int(0)).transpose()?.unwrap_or(0) >= MAX_TASKS {
            return Err(Error::Conflict(format!(
                "at most {MAX_TASKS} scheduled tasks"
            )));
        }
        let text = serde_json::to_string(task).map_err(|e| Error::internal_from("task", e))?;
        let id = crate::token::random_id(&self.platform)?;
        self.store.execute(
            "INSERT INTO _userdo_tasks (id, task, due_ms, every_ms, attempts, created_at) VALUES (?, ?, ?, ?, 0, ?)",
            &[
                id.as_str().into(),
                text.into(),
                due_ms.into(),
                every_ms.map_or(Value::Null, Value::Integer),
                now.into(),
            ],
        )?;
        self.tasks_changed.set(true);
        Ok(id)
    }

    /// Whether a task was scheduled or cancelled since the last call (which clears it): the
    /// runtime sets the alarm again only then.
    pub fn take_tasks_changed(&self) -> bool {
        self.tasks_changed.replace(false)
    }

    /// Cancels a task; whether there was one.
    pub fn cancel_task(&self, id: &str) -> Result<bool> {
        self.tasks_changed.set(true);
        let rows = self.store.query(
            "DELETE FROM _userdo_tasks WHERE id = ? RETURNING id",
            &[id.into()],
        )?;
        Ok(!rows.is_empty())
    }

    /// The earliest due time of any task: where the alarm belongs.
    pub fn next_task_due(&self) -> Result<Option<i64>> {
        let rows = self
            .store
            .query("SELECT MIN(due_ms) FROM _userdo_tasks", &[])?;
        match rows.first().map(|r| &r.0[0]) {
            Some(Value::Integer(ms)) => Ok(Some(*ms)),
            _ => Ok(None),
        }
    }

    /// The tasks due at `now`, oldest first, at most `limit`.
    pub fn due_tasks(&self, limit: i64) -> Result<Vec<DueTask>> {
        let now = self.platform.now_ms();
        let rows = self.store.query(
            "SELECT id, task, due_ms, every_ms, attempts FROM _userdo_tasks
             WHERE due_ms <= ? ORDER BY due_ms, id LIMIT ?",
            &[now.into(), limit.into()],
        )?;
        rows.iter().map(due_task).collect()
    }

    /// A run succeeded: a one-off task is gone; a repeating one is due at its next time after
    /// now.
    pub fn task_done(&self, task: &DueTask) -> Result<()> {
        match task.every_ms {
            None => self.cancel_task(&task.id).map(drop),
            Some(every) => {
                let now = self.platform.now_ms();
                let missed = (now - task.due_ms).div_euclid(every) + 1;
                let next = task.due_ms + missed.max(1) * every;
                Ok(self.store.execute(
                    "UPDATE _userdo_tasks SET due_ms = ?, attempts = 0 WHERE id = ?",
                    &[next.into(), task.id.as_str().into()],
                )?)
            }
        }
    }

    /// A run failed: it is tried again after [`retry_delay_ms`], or dropped after
    /// [`MAX_ATTEMPTS`] (a repeating task then waits for its next time instead). Returns whether
    /// it will be tried again.
    pub fn task_failed(&self, task: &DueTask) -> Result<bool> {
        let attempts = task.attempts + 1;
        if attempts >= MAX_ATTEMPTS {
            let rescheduled = DueTask {
                attempts: 0,
                ..task.clone()
            };
            self.task_done(&rescheduled)?;
            return Ok(false);
        }
        let due = self.platform.now_ms() + retry_delay_ms(attempts);
        self.store.execute(
            "UPDATE _userdo_tasks SET due_ms = ?, attempts = ? WHERE id = ?",
            &[due.into(), attempts.into(), task.id.as_str().into()],
        )?;
        Ok(true)
    }
}

fn due_task(row: &Row) -> Result<DueTask> {
    let task =
        serde_json::from_str(row.text(1)?).map_err(|e| Error::internal_from("stored task", e))?;
    Ok(DueTask {
        id: row.text(0)?.to_owned(),
        task,
        due_ms: row.int(2)?,
        every_ms: match &row.0[3] {
            Value::Integer(ms) => Some(*ms),
            _ => None,
        },
        attempts: row.int(4)?,
    })
}

/// The task type of an application that schedules nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum NoTasks {}
