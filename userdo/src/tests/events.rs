//! The change feed: seq, the queue of emitted events, failed changes, pruning and resync.
#![allow(clippy::unwrap_used)]

use serde_json::json;

use crate::events::{Event, KEEP_MS, Since};
use crate::store::{Statement, Store};
use crate::tests::support::{advance, object};

fn put(o: &crate::tests::support::TestObject, n: i64) -> Event {
    o.write_with_event(
        vec![Statement::new(
            "INSERT INTO _userdo_kv (key, value, updated_at) VALUES (?, '1', 0) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            vec![format!("k{n}").into()],
        )],
        format!("kv:k{n}"),
        json!({ "op": "put", "key": format!("k{n}") }),
    )
    .unwrap()
    .1
}

#[test]
fn seq_grows_by_one_and_events_are_queued_in_order() {
    let o = object("u");
    assert_eq!(o.last_seq().unwrap(), 0);
    let seqs: Vec<i64> = (1..=3).map(|n| put(&o, n).seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    let queued: Vec<i64> = o.take_events().iter().map(|e| e.seq).collect();
    assert_eq!(queued, [1, 2, 3]);
    assert!(o.take_events().is_empty());
    match o.events_since(1, 100).unwrap() {
        Since::Events(events) => {
            assert_eq!(events.len(), 2);
            assert_eq!(events[0].event, "kv:k2");
            assert_eq!(events[0].data, json!({ "op": "put", "key": "k2" }));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(o.events_since(3, 100).unwrap(), Since::Events(vec![]));
    assert_eq!(o.events_since(9, 100).unwrap(), Since::Resync { seq: 3 });
}

#[test]
fn a_failed_change_appends_no_event_and_uses_no_seq() {
    let o = object("u");
    put(&o, 1);
    let failed = o.write_with_event(
        vec![Statement::new(
            "INSERT INTO no_such_table VALUES (1)",
            vec![],
        )],
        "kv:x".into(),
        json!({}),
    );
    assert!(failed.is_err());
    assert_eq!(o.last_seq().unwrap(), 1);
    let count = o
        .store()
        .query("SELECT COUNT(*) FROM _userdo_events", &[])
        .unwrap();
    assert_eq!(count[0].int(0).unwrap(), 1);
    assert_eq!(put(&o, 2).seq, 2);
}

#[test]
fn the_log_keeps_the_last_thousand_or_one_day_and_asks_for_resync_beyond() {
    let o = object("u");
    for n in 1..=1100 {
        put(&o, n);
    }
    // All younger than a day: nothing is pruned.
    assert!(matches!(o.events_since(0, 10).unwrap(), Since::Events(e) if e.len() == 10));
    advance(&o, KEEP_MS + 1);
    for n in 1101..=1152 {
        put(&o, n);
    }
    // seq 1152 pruned everything at or below 152 that was older than a day.
    let oldest = o
        .store()
        .query("SELECT MIN(seq), COUNT(*) FROM _userdo_events", &[])
        .unwrap();
    assert_eq!(oldest[0].int(0).unwrap(), 153);
    assert_eq!(oldest[0].int(1).unwrap(), 1000);
    assert_eq!(
        o.events_since(100, 10).unwrap(),
        Since::Resync { seq: 1152 }
    );
    match o.events_since(152, 2000).unwrap() {
        Since::Events(events) => {
            assert_eq!(events.len(), 1000);
            assert!(events.windows(2).all(|w| w[1].seq == w[0].seq + 1));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_log_keeps_at_most_event_log_max_bytes_and_replay_beyond_it_resyncs() {
    use std::cell::Cell;

    use crate::UserDo;
    use crate::settings::Settings;
    use crate::store::sqlite::SqliteStore;
    use crate::tests::support::TestClock;

    let vars = |name: &str| match name {
        "JWT_SECRET" => Some("test-secret-test-secret-test-secret!".to_owned()),
        "PBKDF2_ITERATIONS" => Some("1000".to_owned()),
        "EVENT_LOG_MAX_BYTES" => Some("10000".to_owned()),
        _ => None,
    };
    let o = UserDo::open(
        SqliteStore::in_memory().unwrap(),
        TestClock(Cell::new(1_800_000_000_000)),
        Settings::from_vars(vars).unwrap(),
        "u".into(),
    )
    .unwrap();
    let big = "x".repeat(1000);
    let total = |o: &crate::tests::support::TestObject| {
        let sum = o
            .store()
            .query(
                "SELECT COALESCE(SUM(size), 0), COUNT(*) FROM _userdo_events",
                &[],
            )
            .unwrap();
        let counter = o
            .store()
            .query("SELECT bytes FROM _userdo_seq", &[])
            .unwrap();
        (
            sum[0].int(0).unwrap(),
            sum[0].int(1).unwrap(),
            counter[0].int(0).unwrap(),
        )
    };
    for n in 1..=30 {
        o.kv_put(&format!("k{n}"), &json!(big)).unwrap();
        let (bytes, _, counter) = total(&o);
        assert!(
            bytes <= 10_000,
            "after {n} writes the log holds {bytes} bytes"
        );
        assert_eq!(bytes, counter, "the running total matches the log");
    }
    let (_, kept, _) = total(&o);
    // Well under the 1000 events and 24 hours the log keeps otherwise: the bytes decide.
    assert!((5..10).contains(&kept), "{kept} events kept");
    assert!(matches!(
        o.events_since(0, 100).unwrap(),
        Since::Resync { seq: 30 }
    ));
    match o.events_since(30 - kept, 100).unwrap() {
        Since::Events(events) => assert_eq!(events.len() as i64, kept),
        other => panic!("{other:?}"),
    }
    // Small events are kept by count as before.
    for n in 0..50 {
        put(&o, n);
    }
    let (bytes, kept, counter) = total(&o);
    assert!(bytes <= 10_000 && bytes == counter);
    assert!(kept >= 50, "{kept}");
    // An erase starts the count again.
    o.erase().unwrap();
    assert_eq!(total(&o), (0, 0, 0));
}

#[test]
fn an_object_made_before_event_sizes_gets_its_sizes_and_total_at_the_next_open() {
    use std::cell::Cell;

    use crate::UserDo;
    use crate::migrate::migrate;
    use crate::schema::{DATA_MIGRATIONS, DATA_NAMESPACE};
    use crate::store::sqlite::SqliteStore;
    use crate::tests::support::{TestClock, settings};

    let store = SqliteStore::in_memory().unwrap();
    // The data schema as it was before migration 3.
    migrate(&store, DATA_NAMESPACE, &DATA_MIGRATIONS[..2], 0).unwrap();
    store
        .execute(
            "INSERT INTO _userdo_events (seq, event, data, ts) VALUES (1, 'kv:a', ?, 0), (2, 'kv:b', ?, 0)",
            &["{\"v\":\"é\"}".into(), "{}".into()],
        )
        .unwrap();
    store
        .execute("UPDATE _userdo_seq SET seq = 2", &[])
        .unwrap();
    let o = UserDo::open(store, TestClock(Cell::new(0)), settings(), "u".into()).unwrap();
    let sizes = o
        .store()
        .query("SELECT size FROM _userdo_events ORDER BY seq", &[])
        .unwrap();
    // Bytes, not characters: nine characters, "é" being two bytes.
    assert_eq!(sizes[0].int(0).unwrap(), 10);
    assert_eq!(sizes[1].int(0).unwrap(), 2);
    let total = o
        .store()
        .query("SELECT bytes FROM _userdo_seq", &[])
        .unwrap();
    assert_eq!(total[0].int(0).unwrap(), 12);
    assert_eq!(o.kv_put("c", &json!(1)).unwrap().seq, 3);
}
