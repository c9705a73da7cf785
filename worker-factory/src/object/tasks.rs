//! Scheduled work, object side: the Durable Object alarm is kept at the earliest due task, and
//! when it fires the due tasks run (see [`userdo::tasks`] for what a task must tolerate).

use userdo::tasks::DueTask;
use worker::Response;

use super::UserDoObject;
use crate::app::{TaskOutcome, UserApp, UserCore, run_due_task};

/// The most tasks one alarm runs; the rest run at the next alarm, set at once.
const TASKS_PER_ALARM: i64 = 100;

impl<A: UserApp> UserDoObject<A> {
    /// Sets the alarm to the earliest due task (or clears it), when that changed.
    pub(super) async fn sync_alarm(&self) {
        let Some(core) = self.core.borrow().clone() else {
            return;
        };
        let next = match core.next_task_due() {
            Ok(next) => next,
            Err(e) => {
                worker::console_error!("userdo: reading the next task failed: {e}");
                return;
            }
        };
        if next == self.alarm_at.get() {
            return;
        }
        let storage = self.state.storage();
        let set = match next {
            Some(due) => {
                let now = userdo::Platform::now_ms(core.platform());
                storage.set_alarm((due - now).max(0)).await
            }
            None => storage.delete_alarm().await,
        };
        match set {
            Ok(()) => self.alarm_at.set(next),
            Err(e) => worker::console_error!("userdo: setting the alarm failed: {e}"),
        }
    }

    /// The alarm fired: runs the due tasks, delivers their events, and sets the next alarm.
    pub async fn alarm(&self) -> worker::Result<Response> {
        self.alarm_at.set(None);
        let core = match self.core() {
            Ok(core) => core,
            Err(e) => {
                worker::console_error!("userdo: alarm: {e}");
                return Response::empty();
            }
        };
        match core.due_tasks(TASKS_PER_ALARM) {
            Ok(due) => {
                for task in due {
                    self.run_one(&core, task).await;
                }
            }
            Err(e) => worker::console_error!("userdo: reading the due tasks failed: {e}"),
        }
        self.after_request(false);
        self.sync_alarm().await;
        Response::empty()
    }

    async fn run_one(&self, core: &UserCore, task: DueTask) {
        let id = task.id.clone();
        match run_due_task(&self.app, &self.ctx(core, None), core, task).await {
            Ok(TaskOutcome::Done) => {}
            Ok(TaskOutcome::Failed(e)) => {
                let detail = e.log_detail().unwrap_or_else(|| e.to_string());
                worker::console_error!("userdo: task {id} failed (retried later): {detail}");
            }
            Ok(TaskOutcome::Dropped(why)) => {
                worker::console_error!("userdo: task {id} dropped: {why}");
            }
            Err(e) => worker::console_error!("userdo: recording task {id} failed: {e}"),
        }
    }
}
