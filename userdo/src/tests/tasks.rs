//! Scheduled tasks: due times, repetition, retries with backoff, and the alarm's next time.
#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::support::{advance, object};
use crate::tasks::{MAX_ATTEMPTS, When, retry_delay_ms};

#[test]
fn a_one_off_task_is_due_at_its_time_and_gone_once_done() {
    let o = object("u");
    assert_eq!(o.next_task_due().unwrap(), None);
    let now = o.platform().0.get();
    let id = o
        .schedule(When::After(5_000), &json!({ "remind": "walk" }))
        .unwrap();
    assert_eq!(o.next_task_due().unwrap(), Some(now + 5_000));
    assert!(o.due_tasks(10).unwrap().is_empty(), "not due yet");
    advance(&o, 5_000);
    let due = o.due_tasks(10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].id, id);
    assert_eq!(due[0].task, json!({ "remind": "walk" }));
    o.task_done(&due[0]).unwrap();
    assert!(o.due_tasks(10).unwrap().is_empty());
    assert_eq!(o.next_task_due().unwrap(), None);
}

#[test]
fn tasks_come_due_in_order_and_at_times_given() {
    let o = object("u");
    let now = o.platform().0.get();
    o.schedule(When::At(now + 300), &"third").unwrap();
    o.schedule(When::At(now + 100), &"first").unwrap();
    o.schedule(When::After(200), &"second").unwrap();
    advance(&o, 1_000);
    let order: Vec<_> = o
        .due_tasks(10)
        .unwrap()
        .into_iter()
        .map(|t| t.task)
        .collect();
    assert_eq!(order, [json!("first"), json!("second"), json!("third")]);
    assert_eq!(o.due_tasks(2).unwrap().len(), 2, "the limit holds");
}

#[test]
fn a_repeating_task_runs_once_per_interval_and_skips_what_it_slept_through() {
    let o = object("u");
    let now = o.platform().0.get();
    o.schedule(When::Every(60_000), &"tick").unwrap();
    advance(&o, 60_000);
    let due = o.due_tasks(10).unwrap();
    assert_eq!(due.len(), 1);
    o.task_done(&due[0]).unwrap();
    assert_eq!(o.next_task_due().unwrap(), Some(now + 120_000));
    // Asleep for three and a half intervals: one run, then the next interval after now.
    advance(&o, 210_000);
    let due = o.due_tasks(10).unwrap();
    assert_eq!(due.len(), 1, "missed repetitions are not run twice");
    o.task_done(&due[0]).unwrap();
    assert_eq!(o.next_task_due().unwrap(), Some(now + 300_000));
    assert!(o.schedule(When::Every(10), &"too fast").is_err());
}

#[test]
fn a_failed_run_is_retried_with_backoff_then_dropped() {
    let o = object("u");
    o.schedule(When::After(0), &"flaky").unwrap();
    for attempt in 1..MAX_ATTEMPTS {
        let due = o.due_tasks(10).unwrap();
        assert_eq!(due.len(), 1, "attempt {attempt}");
        assert_eq!(due[0].attempts, attempt - 1);
        assert!(o.task_failed(&due[0]).unwrap());
        assert!(o.due_tasks(10).unwrap().is_empty(), "waits out its backoff");
        advance(&o, retry_delay_ms(attempt));
    }
    let last = o.due_tasks(10).unwrap();
    assert!(
        !o.task_failed(&last[0]).unwrap(),
        "the last attempt drops it"
    );
    assert_eq!(o.next_task_due().unwrap(), None);
    assert_eq!(retry_delay_ms(1), 1_000);
    assert_eq!(retry_delay_ms(3), 4_000);
    assert_eq!(retry_delay_ms(40), 600_000);
}

#[test]
fn a_cancelled_task_never_runs_and_an_erase_takes_every_task() {
    let o = object("u");
    let id = o.schedule(When::After(10), &"no").unwrap();
    assert!(o.cancel_task(&id).unwrap());
    assert!(!o.cancel_task(&id).unwrap());
    o.schedule(When::After(10), &"gone with the account")
        .unwrap();
    o.erase().unwrap();
    advance(&o, 1_000);
    assert!(o.due_tasks(10).unwrap().is_empty());
}

#[test]
fn scheduling_and_cancelling_are_reported_once_for_the_alarm() {
    let o = object("u");
    assert!(!o.take_tasks_changed(), "nothing yet");
    o.kv_put("k", &json!(1)).unwrap();
    assert!(!o.take_tasks_changed(), "other writes do not count");
    let id = o.schedule(When::After(1000), &json!({ "t": 1 })).unwrap();
    assert!(o.take_tasks_changed());
    assert!(!o.take_tasks_changed(), "taken");
    assert!(o.cancel_task(&id).unwrap());
    assert!(o.take_tasks_changed());
}
