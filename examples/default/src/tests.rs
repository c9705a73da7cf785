//! The default application, tested on the host: its methods and tables over real SQLite, with
//! no workerd (`worker_factory::testing`). This is how an application author tests theirs.
#![allow(clippy::unwrap_used)]

use futures::executor::block_on;
use serde_json::json;
use worker_factory::testing::TestUser;

use super::*;

fn user() -> TestUser<DefaultApp> {
    TestUser::signed_up(Vars::none()).unwrap()
}

/// A mistake in the declarations shows here, on the host, before any object starts.
#[test]
fn the_tables_are_declared_correctly() {
    let tables = DefaultApp.tables();
    assert!(tables.check().is_ok(), "{:?}", tables.check());
}

#[test]
fn rename_todo_answers_the_typed_row_and_its_event() {
    let user = user();
    let todos = user.ctx().table::<Todo>().unwrap();
    let todo = todos
        .create(&Todo {
            title: "walk".into(),
            done: false,
        })
        .unwrap();
    user.take_events();
    let renamed = block_on(user.app().rename_todo(
        &user.ctx(),
        RenameTodo {
            id: todo.id.clone(),
            title: "run".into(),
        },
    ))
    .unwrap();
    assert_eq!(renamed.row.title, "run");
    assert_eq!(renamed.id, todo.id);
    let events = user.take_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event, "table:todos");
}

#[test]
fn rename_todo_validates_like_any_update() {
    let user = user();
    let todo = user
        .ctx()
        .table::<Todo>()
        .unwrap()
        .create(&Todo {
            title: "walk".into(),
            done: false,
        })
        .unwrap();
    let e = block_on(user.call("renameTodo", json!({ "id": todo.id, "title": "" }))).unwrap_err();
    assert_eq!(e.code(), "validation_failed");
    let e = block_on(user.call("renameTodo", json!({ "id": 5, "title": 6 }))).unwrap_err();
    let body = e.to_body();
    assert!(body["error"]["details"]["params.id"].is_array(), "{body}");
    assert!(
        body["error"]["details"]["params.title"].is_array(),
        "{body}"
    );
    assert_eq!(
        block_on(user.call("nope", json!({}))).unwrap_err().status(),
        404
    );
}

#[test]
fn clear_completed_deletes_only_the_done_todos() {
    let user = user();
    let todos = user.ctx().table::<Todo>().unwrap();
    for (title, done) in [("a", true), ("b", false), ("c", true)] {
        todos
            .create(&Todo {
                title: title.into(),
                done,
            })
            .unwrap();
    }
    let answer = block_on(user.call("clearCompleted", serde_json::Value::Null)).unwrap();
    assert_eq!(answer, json!({ "deleted": 2 }));
    let left = todos.query().get().unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].row.title, "b");
}

#[test]
fn remind_later_adds_the_todo_when_due_and_not_before() {
    let user = user();
    let scheduled = block_on(user.app().remind_later(
        &user.ctx(),
        RemindLater {
            title: "water the plants".into(),
            after_ms: 60_000,
        },
    ))
    .unwrap();
    assert_eq!(scheduled.due_at, user.ctx().now_ms() + 60_000);
    let todos = user.ctx().table::<Todo>().unwrap();
    assert!(
        block_on(user.run_due_tasks()).unwrap().is_empty(),
        "not due yet"
    );
    assert_eq!(todos.query().count().unwrap(), 0);
    user.clock().advance(60_000);
    let outcomes = block_on(user.run_due_tasks()).unwrap();
    assert!(
        matches!(outcomes[..], [worker_factory::TaskOutcome::Done]),
        "{outcomes:?}"
    );
    let added = todos.query().get().unwrap();
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].row.title, "water the plants");
    let events: Vec<_> = user
        .take_events()
        .into_iter()
        .map(|e| (e.event, e.data))
        .collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].0, "table:todos");
    assert_eq!(
        events[1],
        ("app:reminder".to_owned(), json!({ "todoId": added[0].id }))
    );
    assert!(
        block_on(user.run_due_tasks()).unwrap().is_empty(),
        "it ran once"
    );
}

#[test]
fn remind_later_refuses_a_bad_title_and_delay_at_once() {
    let user = user();
    let e = block_on(user.call("remindLater", json!({ "title": "", "afterMs": -1 }))).unwrap_err();
    let body = e.to_body();
    assert!(body["error"]["details"]["title"].is_array(), "{body}");
    assert!(body["error"]["details"]["afterMs"].is_array(), "{body}");
    assert!(
        user.dangerous_core().next_task_due().unwrap().is_none(),
        "nothing scheduled"
    );
}

/// The README's Rust code is this crate's compiled source, not a copy that can drift: every
/// ```` ```rust ```` block in it follows a marker naming its file (`<!-- from examples/... -->`),
/// and each of its parts between `// ...` elisions is a run of that file's lines, as they are.
#[test]
fn the_readme_code_is_the_compiled_source() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let lines: Vec<&str> = readme.lines().collect();
    let (mut checked, mut i) = (0, 0);
    while i < lines.len() {
        if lines[i] != "```rust" {
            i += 1;
            continue;
        }
        let end = i + lines[i..].iter().position(|l| *l == "```").unwrap();
        let marker = lines[..i]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap();
        let path = marker
            .strip_prefix("<!-- from ")
            .and_then(|m| m.strip_suffix(" -->"))
            .unwrap_or_else(|| {
                panic!(
                    "README line {}: a rust block without a source marker",
                    i + 1
                )
            });
        let source = std::fs::read_to_string(format!("{root}/{path}")).unwrap();
        let source: Vec<&str> = source.lines().collect();
        let block = &lines[i + 1..end];
        for part in block.split(|l| l.trim_start().starts_with("// ...")) {
            let start = part.iter().position(|l| !l.trim().is_empty());
            let stop = part.iter().rposition(|l| !l.trim().is_empty());
            let (Some(start), Some(stop)) = (start, stop) else {
                continue;
            };
            let part = &part[start..=stop];
            assert!(
                source.windows(part.len()).any(|w| w == part),
                "README line {}: this part is not in {path} as it is:\n{}",
                i + 1,
                part.join("\n")
            );
        }
        checked += 1;
        i = end + 1;
    }
    assert!(checked >= 3, "only {checked} checked blocks");
}
