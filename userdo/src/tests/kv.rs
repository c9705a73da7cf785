//! Host tests of the key-value store against real SQLite.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use crate::error::Error;
use crate::events::Since;
use crate::kv::{MAX_KEY_BYTES, MAX_VALUE_BYTES};
use crate::store::Store;
use crate::tests::support::{TestObject, advance, object};

fn details(e: &Error) -> Value {
    e.to_body()["error"]["details"].clone()
}

/// The error is `validation_failed` on the field `key`.
fn assert_key_error(e: Error) {
    assert_eq!(e.code(), "validation_failed", "{e:?}");
    assert!(details(&e)["key"][0].is_string(), "{}", e.to_body());
}

fn event_count(o: &TestObject) -> i64 {
    o.store()
        .query("SELECT COUNT(*) FROM _userdo_events", &[])
        .unwrap()[0]
        .int(0)
        .unwrap()
}

#[test]
fn put_get_overwrite_and_delete() {
    let o = object("u");
    assert_eq!(o.kv_get("theme").unwrap(), None);
    o.kv_put("theme", &json!({ "mode": "dark", "size": 12 }))
        .unwrap();
    assert_eq!(
        o.kv_get("theme").unwrap(),
        Some(json!({ "mode": "dark", "size": 12 }))
    );
    o.kv_put("theme", &json!("light")).unwrap();
    assert_eq!(o.kv_get("theme").unwrap(), Some(json!("light")));
    assert_eq!(o.kv_keys(None).unwrap(), ["theme"]);
    assert!(o.kv_delete("theme").unwrap().is_some());
    assert_eq!(o.kv_get("theme").unwrap(), None);
    assert!(o.kv_keys(None).unwrap().is_empty());
}

#[test]
fn every_json_type_round_trips_and_null_is_a_value_not_an_absence() {
    let o = object("u");
    let values = [
        json!(null),
        json!(true),
        json!(false),
        json!(0),
        json!(-42),
        json!(1.5),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(""),
        json!("h\u{e9}llo \"quoted\" \\ \u{1F600} \u{0}"),
        json!([]),
        json!([1, "two", null, [3]]),
        json!({}),
        json!({ "nested": { "deep": [1, { "x": null }] } }),
    ];
    for (n, value) in values.iter().enumerate() {
        let key = format!("k{n:02}");
        o.kv_put(&key, value).unwrap();
        assert_eq!(o.kv_get(&key).unwrap().as_ref(), Some(value), "{key}");
    }
    assert_eq!(o.kv_keys(None).unwrap().len(), values.len());
}

#[test]
fn keys_are_sorted_by_bytes_and_a_prefix_matches_exactly() {
    let o = object("u");
    let keys = [
        "b",
        "a%c",
        "a_c",
        "abc",
        "a",
        "ab",
        "aXc",
        "a%",
        "A",
        "é",
        "a\u{E000}",
        "a\u{D7FF}x",
        "a\u{10FFFF}",
        "\u{1F600}",
        "\u{FFFD}",
        "a b/c",
        "a\u{0}",
    ];
    for key in keys {
        o.kv_put(key, &json!(1)).unwrap();
    }
    let mut sorted: Vec<&str> = keys.to_vec();
    // Rust compares strings by their UTF-8 bytes, as SQLite does: code point order, not UTF-16.
    sorted.sort_unstable();
    assert_eq!(o.kv_keys(None).unwrap(), sorted);
    assert_eq!(o.kv_keys(Some("")).unwrap(), sorted);
    assert!(
        sorted.iter().position(|k| *k == "\u{FFFD}")
            < sorted.iter().position(|k| *k == "\u{1F600}"),
        "U+FFFD sorts before U+1F600 (in UTF-16 order it would not)"
    );

    // `%` and `_` are themselves, not LIKE patterns.
    assert_eq!(o.kv_keys(Some("a%")).unwrap(), ["a%", "a%c"]);
    assert_eq!(o.kv_keys(Some("a_")).unwrap(), ["a_c"]);
    assert_eq!(o.kv_keys(Some("%")).unwrap(), Vec::<String>::new());
    assert_eq!(o.kv_keys(Some("_")).unwrap(), Vec::<String>::new());
    // Case matters, and a prefix is not a substring.
    assert_eq!(o.kv_keys(Some("A")).unwrap(), ["A"]);
    assert_eq!(o.kv_keys(Some("bc")).unwrap(), Vec::<String>::new());
    assert_eq!(o.kv_keys(Some("ab")).unwrap(), ["ab", "abc"]);
    // Every key starting with "a", whatever follows, and nothing else.
    let with_a: Vec<&str> = sorted
        .iter()
        .copied()
        .filter(|k| k.starts_with('a'))
        .collect();
    assert_eq!(o.kv_keys(Some("a")).unwrap(), with_a);
    // Prefixes at the edges of the code point range.
    assert_eq!(o.kv_keys(Some("a\u{D7FF}")).unwrap(), ["a\u{D7FF}x"]);
    assert_eq!(o.kv_keys(Some("a\u{10FFFF}")).unwrap(), ["a\u{10FFFF}"]);
    assert_eq!(o.kv_keys(Some("\u{10FFFF}")).unwrap(), Vec::<String>::new());
    assert_eq!(o.kv_keys(Some("a\u{0}")).unwrap(), ["a\u{0}"]);
    assert_eq!(o.kv_keys(Some("a b/")).unwrap(), ["a b/c"]);
    // A prefix longer than any key is not an error.
    assert!(o.kv_keys(Some(&"a".repeat(2000))).unwrap().is_empty());
}

#[test]
fn keys_are_one_to_512_bytes_counted_in_utf8() {
    let o = object("u");
    let ascii = "k".repeat(MAX_KEY_BYTES);
    let multibyte = "\u{e9}".repeat(MAX_KEY_BYTES / 2); // 256 characters, 512 bytes
    for key in [&ascii, &multibyte] {
        o.kv_put(key, &json!(key.len())).unwrap();
        assert_eq!(o.kv_get(key).unwrap(), Some(json!(MAX_KEY_BYTES)));
        assert!(o.kv_keys(None).unwrap().contains(key));
    }
    // 257 characters but 513 bytes: too long, though far under 512 characters.
    let too_long = format!("{multibyte}a");
    assert_eq!(too_long.len(), MAX_KEY_BYTES + 1);
    assert_eq!(too_long.chars().count(), 257);
    let four_byte = "\u{1F600}".repeat(129); // 516 bytes
    for key in [
        too_long.as_str(),
        four_byte.as_str(),
        &"k".repeat(MAX_KEY_BYTES + 1),
        "",
    ] {
        assert_key_error(o.kv_put(key, &json!(1)).unwrap_err());
        assert_key_error(o.kv_get(key).unwrap_err());
        assert_key_error(o.kv_delete(key).unwrap_err());
    }
    assert_eq!(o.kv_keys(None).unwrap().len(), 2);
    assert_eq!(o.last_seq().unwrap(), 2);
}

#[test]
fn keys_starting_with_two_underscores_are_reserved() {
    let o = object("u");
    for key in ["__", "__proto__", "__userdo/x"] {
        let e = o.kv_put(key, &json!(1)).unwrap_err();
        assert!(
            details(&e)["key"][0].as_str().unwrap().contains("reserved"),
            "{}",
            e.to_body()
        );
        assert_key_error(o.kv_get(key).unwrap_err());
        assert_key_error(o.kv_delete(key).unwrap_err());
    }
    // One underscore, or two later in the key, is an ordinary key.
    for key in ["_", "_x", "a__", "_ _"] {
        o.kv_put(key, &json!(key)).unwrap();
        assert_eq!(o.kv_get(key).unwrap(), Some(json!(key)));
    }
    assert!(o.kv_keys(Some("__")).unwrap().is_empty());
    assert_eq!(o.last_seq().unwrap(), 4);
}

#[test]
fn values_up_to_one_mebibyte_of_json_are_stored_and_larger_ones_are_413() {
    let o = object("u");
    // A JSON string serialises with its two quotes.
    let largest = json!("a".repeat(MAX_VALUE_BYTES - 2));
    assert_eq!(largest.to_string().len(), MAX_VALUE_BYTES);
    o.kv_put("big", &largest).unwrap();
    assert_eq!(o.kv_get("big").unwrap(), Some(largest));

    let over = json!("a".repeat(MAX_VALUE_BYTES - 1));
    let e = o.kv_put("big", &over).unwrap_err();
    assert!(
        matches!(e, Error::PayloadTooLarge { limit } if limit == MAX_VALUE_BYTES),
        "{e:?}"
    );
    assert_eq!(e.status(), 413);
    // Measured as serialised, escapes included: 2 + 6 * n bytes for n control characters.
    let escaped = json!("\u{1}".repeat(MAX_VALUE_BYTES / 6 + 1));
    assert!(escaped.to_string().len() > MAX_VALUE_BYTES);
    assert_eq!(o.kv_put("esc", &escaped).unwrap_err().status(), 413);
    // The refused writes changed nothing: the old value stays, no event was appended.
    assert_eq!(
        o.kv_get("big").unwrap().unwrap().as_str().unwrap().len(),
        MAX_VALUE_BYTES - 2
    );
    assert_eq!(o.kv_get("esc").unwrap(), None);
    assert_eq!(o.last_seq().unwrap(), 1);
    assert_eq!(event_count(&o), 1);
}

#[test]
fn each_put_and_delete_appends_exactly_one_event_with_its_data() {
    let o = object("u");
    let key = "notes/été: 1";
    let first = o.kv_put(key, &json!({ "a": [1, 2] })).unwrap();
    assert_eq!(first.seq, 1);
    assert_eq!(first.event, format!("kv:{key}"));
    assert_eq!(
        first.data,
        json!({ "op": "put", "key": key, "value": { "a": [1, 2] } })
    );
    assert_eq!(first.ts, 1_800_000_000_000);

    advance(&o, 5);
    // The same value again is still a write, and so still an event.
    let second = o.kv_put(key, &json!({ "a": [1, 2] })).unwrap();
    assert_eq!((second.seq, second.ts), (2, 1_800_000_000_005));
    let null = o.kv_put("other", &Value::Null).unwrap();
    assert_eq!(null.seq, 3);
    assert_eq!(
        null.data,
        json!({ "op": "put", "key": "other", "value": null })
    );
    assert!(null.data.as_object().unwrap().contains_key("value"));

    let deleted = o.kv_delete(key).unwrap().unwrap();
    assert_eq!(deleted.seq, 4);
    assert_eq!(deleted.event, format!("kv:{key}"));
    assert_eq!(deleted.data, json!({ "op": "delete", "key": key }));

    // The queue for live delivery and the log for replay hold the same four events, in order.
    let queued = o.take_events();
    assert_eq!(queued, [first, second, null, deleted]);
    assert_eq!(o.events_since(0, 100).unwrap(), Since::Events(queued));
    assert_eq!(event_count(&o), 4);
}

#[test]
fn deleting_an_absent_key_succeeds_and_appends_no_event() {
    let o = object("u");
    assert_eq!(o.kv_delete("never").unwrap(), None);
    o.kv_put("once", &json!(1)).unwrap();
    assert!(o.kv_delete("once").unwrap().is_some());
    assert_eq!(o.kv_delete("once").unwrap(), None);
    assert_eq!(o.last_seq().unwrap(), 2);
    assert_eq!(event_count(&o), 2);
    assert_eq!(o.take_events().len(), 2);
}

#[test]
fn a_failed_write_changes_nothing_and_appends_no_event() {
    let o = object("u");
    o.kv_put("kept", &json!(1)).unwrap();
    o.take_events();
    // A write the database refuses (here: a trigger) fails as a whole: neither the value nor the
    // event nor a seq is taken.
    o.store()
        .execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON _userdo_kv \
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
            &[],
        )
        .unwrap();
    let e = o.kv_put("new", &json!(2)).unwrap_err();
    assert_eq!(e.code(), "internal");
    assert_eq!(o.kv_get("new").unwrap(), None);
    assert_eq!(o.last_seq().unwrap(), 1);
    assert_eq!(event_count(&o), 1);
    assert!(o.take_events().is_empty());
    // Validation failures write nothing either.
    assert!(o.kv_put("__x", &json!(1)).is_err());
    assert!(o.kv_delete("").is_err());
    assert_eq!(o.last_seq().unwrap(), 1);
    assert!(o.take_events().is_empty());
}

#[test]
fn a_failed_delete_keeps_the_key_and_appends_no_event() {
    let o = object("u");
    o.kv_put("kept", &json!(1)).unwrap();
    o.store()
        .execute(
            "CREATE TRIGGER refuse BEFORE DELETE ON _userdo_kv \
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
            &[],
        )
        .unwrap();
    assert_eq!(o.kv_delete("kept").unwrap_err().code(), "internal");
    assert_eq!(o.kv_get("kept").unwrap(), Some(json!(1)));
    assert_eq!(o.last_seq().unwrap(), 1);
    assert_eq!(event_count(&o), 1);
}

#[test]
fn erase_empties_the_store_and_restarts_the_feed() {
    let o = object("u");
    for key in ["a", "b", "c/d"] {
        o.kv_put(key, &json!(key)).unwrap();
    }
    o.erase().unwrap();
    assert!(o.kv_keys(None).unwrap().is_empty());
    assert_eq!(o.kv_get("a").unwrap(), None);
    assert_eq!(o.last_seq().unwrap(), 0);
    assert_eq!(event_count(&o), 0);
    // And the store works afresh.
    assert_eq!(o.kv_put("a", &json!(2)).unwrap().seq, 1);
    assert_eq!(o.kv_keys(None).unwrap(), ["a"]);
}

#[test]
fn the_value_is_stored_as_compact_json_with_its_update_time() {
    let o = object("u");
    o.kv_put("k", &json!({ "b": [1, 2], "a": "x" })).unwrap();
    advance(&o, 7);
    o.kv_put("k", &json!({ "b": [1, 2], "a": "y" })).unwrap();
    let rows = o
        .store()
        .query(
            "SELECT value, updated_at FROM _userdo_kv WHERE key = 'k'",
            &[],
        )
        .unwrap();
    let stored: Value = serde_json::from_str(rows[0].text(0).unwrap()).unwrap();
    assert_eq!(stored, json!({ "a": "y", "b": [1, 2] }));
    assert!(!rows[0].text(0).unwrap().contains(' '));
    assert_eq!(rows[0].int(1).unwrap(), 1_800_000_000_007);
}

#[test]
fn keys_come_in_pages_of_at_most_1000_with_the_next_page_named() {
    let o = object(&"cd".repeat(32));
    let keys: Vec<String> = (0..1005).map(|i| format!("k{i:05}")).collect();
    for key in &keys {
        o.kv_put(key, &json!(1)).unwrap();
    }
    o.kv_put("other", &json!(1)).unwrap();
    let first = o.kv_page(Some("k"), None, 1000).unwrap();
    assert_eq!(first.keys, keys[..1000]);
    assert_eq!(first.next.as_deref(), Some("k00999"));
    let last = o.kv_page(Some("k"), first.next.as_deref(), 1000).unwrap();
    assert_eq!(last.keys, keys[1000..]);
    assert_eq!(last.next, None, "no next on the last page");
    // A limit above the maximum is the maximum; small pages walk every key once.
    assert_eq!(o.kv_page(None, None, 5000).unwrap().keys.len(), 1000);
    let (mut seen, mut after) = (Vec::new(), None::<String>);
    loop {
        let page = o.kv_page(None, after.as_deref(), 300).unwrap();
        seen.extend(page.keys);
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen.len(), 1006);
    assert_eq!(seen, o.kv_keys(None).unwrap());
    // An exact fit has no next page; `after` past the end is an empty last page.
    let fit = o.kv_page(Some("k0000"), None, 10).unwrap();
    assert_eq!((fit.keys.len(), fit.next), (10, None));
    let past = o.kv_page(None, Some("zzz"), 10).unwrap();
    assert!(past.keys.is_empty() && past.next.is_none());
}
