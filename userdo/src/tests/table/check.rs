//! Host tests of `Tables::check`: every problem of a declaration, found without a store.
#![allow(clippy::unwrap_used)]

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::error::Error;
use crate::table::*;
use crate::tests::support::object;

macro_rules! row {
    ($ty:ident, $name:literal, { $($field:tt)* } $(, indexes: $indexes:expr)? $(, renamed: $renamed:expr)?) => {
        #[derive(Debug, Serialize, Deserialize, Validate, JsonSchema)]
        #[allow(non_snake_case)]
        struct $ty { $($field)* }

        impl TableRow for $ty {
            const NAME: &'static str = $name;
            $(fn indexes() -> Vec<Index> { $indexes })?
            $(fn renamed_from() -> &'static [&'static str] { $renamed })?
        }
    };
}

row!(Todo, "todos", { title: String, done: bool }, indexes: vec![Index::on(&["done"])]);
row!(Typo, "todos", { title: String, done: bool }, indexes: vec![Index::on(&["dun"])]);
row!(Twice, "todos", { done: bool }, indexes: vec![Index::on(&["done"]), Index::on(&["done"])]);
row!(Empty, "todos", { done: bool }, indexes: vec![Index::on(&[])]);
row!(Listed, "todos", { tags: Vec<String> }, indexes: vec![Index::on(&["tags"])]);
row!(Dashed, "to-dos", { done: bool });
row!(OwnsId, "todos", { id: String });
row!(BadOld, "todos", { done: bool }, renamed: &["old-todos"]);
row!(SelfOld, "todos", { done: bool }, renamed: &["todos"]);
row!(TasksFromJobs, "tasks", { done: bool }, renamed: &["jobs"]);
row!(ChoresFromJobs, "chores", { done: bool }, renamed: &["jobs"]);
row!(JobsAgain, "jobs", { done: bool });
row!(Everything, "todos", { done: bool }, indexes: vec![Index::on(&["dun"])], renamed: &["x y"]);
row!(AB, "a__b", { c: bool }, indexes: vec![Index::on(&["c"])]);
row!(A, "a", { b__c: bool }, indexes: vec![Index::on(&["b__c"])]);

fn problems(tables: Tables) -> String {
    match tables.check() {
        Err(Error::Config(message)) => message,
        other => panic!("{other:?}"),
    }
}

fn one<T: TableRow>() -> Tables {
    Tables::new().table::<T>(Access::ReadWrite)
}

#[test]
fn a_sound_declaration_passes() {
    let tables = one::<Todo>().table::<TasksFromJobs>(Access::ReadOnly);
    tables.check().unwrap();
    // A declared table of a former name is a new table, not a clash.
    one::<TasksFromJobs>()
        .table::<JobsAgain>(Access::ReadWrite)
        .check()
        .unwrap();
}

#[test]
fn an_index_on_an_unknown_field_names_the_table_and_the_field() {
    assert_eq!(
        problems(one::<Typo>()),
        "table todos: index on unknown field \"dun\""
    );
}

#[test]
fn bad_indexes_are_each_named() {
    assert_eq!(
        problems(one::<Twice>()),
        "table todos: the index on done is declared twice"
    );
    assert_eq!(
        problems(one::<Empty>()),
        "table todos: an index needs a field"
    );
    assert!(problems(one::<Listed>()).contains("tags is not a plain value"));
}

#[test]
fn bad_names_and_server_fields_are_named() {
    assert!(problems(one::<Dashed>()).contains("\"to-dos\""));
    assert!(problems(one::<OwnsId>()).contains("field id is assigned by the server"));
}

#[test]
fn a_table_declared_twice_is_named() {
    assert_eq!(
        problems(one::<Todo>().table::<Todo>(Access::ReadOnly)),
        "table todos is declared twice"
    );
    // Also when a declaration of that name failed, and with the second one's own problems.
    let message = problems(one::<Dashed>().table::<Dashed>(Access::ReadOnly));
    assert!(
        message.contains("table to-dos is declared twice"),
        "{message}"
    );
    let message = problems(one::<Todo>().table::<Twice>(Access::ReadOnly));
    assert!(
        message.contains("table todos is declared twice"),
        "{message}"
    );
    assert!(
        message.contains("the index on done is declared twice"),
        "{message}"
    );
}

#[test]
fn renamed_from_must_be_a_plain_other_name_claimed_once() {
    assert!(problems(one::<BadOld>()).contains("renamed_from \"old-todos\" must be letters"));
    assert_eq!(
        problems(one::<SelfOld>()),
        "table todos: renamed_from names the table itself"
    );
    assert_eq!(
        problems(one::<TasksFromJobs>().table::<ChoresFromJobs>(Access::ReadWrite)),
        "table chores: renamed_from \"jobs\" is claimed by table tasks too"
    );
}

#[test]
fn indexes_of_two_tables_with_one_sqlite_name_are_named() {
    let message = problems(one::<AB>().table::<A>(Access::ReadWrite));
    assert!(
        message.starts_with("table a: the index on b__c"),
        "{message}"
    );
    assert!(message.contains("table a__b"), "{message}");
}

#[test]
fn every_problem_is_listed_at_once() {
    let message = problems(one::<Everything>().table::<Dashed>(Access::ReadWrite));
    assert!(
        message.contains("index on unknown field \"dun\""),
        "{message}"
    );
    assert!(message.contains("renamed_from \"x y\""), "{message}");
    assert!(message.contains("\"to-dos\""), "{message}");
}

#[test]
fn with_tables_refuses_a_declaration_that_does_not_check() {
    // (That it changes nothing in storage is tested with schema evolution.)
    let o = object("u");
    let result = o.with_tables(one::<Todo>().table::<Typo>(Access::ReadWrite));
    match result {
        Err(Error::Config(message)) => assert!(message.contains("declared twice"), "{message}"),
        other => panic!("{:?}", other.map(|_| ())),
    }
    let o = object("u");
    assert!(o.with_tables(one::<Typo>()).is_err());
}
