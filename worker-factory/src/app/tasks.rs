//! Running one due task of an application: shared by the object's alarm and the host testing
//! harness, so both run tasks the same way.

use userdo::tasks::DueTask;
use userdo::{Error, Result};

use super::{AppCtx, UserApp, UserCore};

/// What became of one due task.
#[derive(Debug)]
pub enum TaskOutcome {
    /// It ran: a one-off task is gone, a repeating one is due again.
    Done,
    /// It failed with this error and is retried later (or dropped after its last attempt).
    Failed(Error),
    /// Its stored value is not of the application's task type any more: dropped.
    Dropped(String),
}

/// Runs `task` with `ctx` (no caller) and records the outcome in `core`.
pub(crate) async fn run_due_task<A: UserApp>(
    app: &A,
    ctx: &AppCtx<'_>,
    core: &UserCore,
    task: DueTask,
) -> Result<TaskOutcome> {
    match serde_json::from_value::<A::Task>(task.task.clone()) {
        Err(e) => {
            core.cancel_task(&task.id)?;
            Ok(TaskOutcome::Dropped(e.to_string()))
        }
        Ok(parsed) => match app.run_task(ctx, parsed).await {
            Ok(()) => {
                core.task_done(&task)?;
                Ok(TaskOutcome::Done)
            }
            Err(e) => {
                core.task_failed(&task)?;
                Ok(TaskOutcome::Failed(e))
            }
        },
    }
}
