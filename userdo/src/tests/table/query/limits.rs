//! The size limits of queries and rows: invalid query or payload too large, never a crash.
#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn too_many_values_are_invalid_query_not_a_crash() {
    let o = notes();
    let def = o.table_def("notes").unwrap();
    let titles = |n: usize| Json::Array((0..n).map(|i| json!(format!("t{i}"))).collect());
    let in_list = |n| spec(vec![filter_of("title", Op::In, titles(n))], &[], 10);

    // The select binds limit and offset too, so 98 is the longest list it takes.
    assert!(o.query_rows(&def, &in_list(98)).unwrap().is_empty());
    assert_invalid_query(o.query_rows(&def, &in_list(101)));
    assert_invalid_query(o.count_rows(&def, &in_list(101)));
    assert_invalid_query(o.query_rows(&def, &in_list(10_000)));
    let list = (0..101)
        .map(|i| format!("t{i}"))
        .collect::<Vec<_>>()
        .join(",");
    assert_invalid_query(via_query_string(
        &o,
        &[("where", &format!("title:in:{list}"))],
    ));

    // Over 100 in total, spread over filters that are each within the limit.
    let spread = spec(
        vec![
            filter_of("title", Op::In, titles(60)),
            filter_of("title", Op::In, titles(50)),
        ],
        &[],
        10,
    );
    assert_invalid_query(o.query_rows(&def, &spread));
    assert_invalid_query(o.count_rows(&def, &spread));
    // startsWith binds two values.
    let prefixes = spec(
        (0..50)
            .map(|_| filter_of("title", Op::StartsWith, json!("a")))
            .collect(),
        &[],
        10,
    );
    assert_invalid_query(o.query_rows(&def, &prefixes));
    assert_intact(&o);
}

#[test]
fn too_many_filters_or_orderings_are_invalid_query_not_a_crash() {
    let o = notes();
    let def = o.table_def("notes").unwrap();
    // `eq null` binds nothing, so neither the bound-value limit nor (below 100 KB) the length
    // limit stops these; SQLite itself refuses an AND chain deeper than 1000 and an ORDER BY of
    // more than 2000 terms, which must not surface as a 500.
    let nulls = |n: usize| {
        spec(
            (0..n)
                .map(|_| filter_of("rank", Op::Eq, Json::Null))
                .collect(),
            &[],
            10,
        )
    };
    let orderings = |n: usize| spec(vec![], &vec![("title", Direction::Asc); n], 10);
    assert_eq!(
        o.query_rows(&def, &nulls(query::MAX_TERMS)).unwrap().len(),
        HOSTILE.len()
    );
    assert_eq!(
        o.query_rows(&def, &orderings(query::MAX_TERMS))
            .unwrap()
            .len(),
        HOSTILE.len()
    );
    for n in [query::MAX_TERMS + 1, 1_001, 2_500, 5_000] {
        assert_invalid_query(o.query_rows(&def, &nulls(n)));
        assert_invalid_query(o.count_rows(&def, &nulls(n)));
        assert_invalid_query(via_query_string(&o, &vec![("where", "rank:eq:null"); n]));
        assert_invalid_query(o.query_rows(&def, &orderings(n)));
        assert_invalid_query(via_query_string(&o, &vec![("orderBy", "title"); n]));
    }
    assert_intact(&o);
}

#[test]
fn a_row_over_one_mebibyte_is_payload_too_large() {
    let o = notes();
    let def = o.table_def("notes").unwrap();
    // `{"body":"…","title":"big"}` is 25 bytes around the body.
    let fits = "x".repeat(MAX_ROW_BYTES - 25);
    let row = o
        .insert_row(&def, json!({ "title": "big", "body": fits }))
        .unwrap();
    let id = row["id"].as_str().unwrap();
    let too_big = |e: Error| {
        assert!(
            matches!(e, Error::PayloadTooLarge { limit } if limit == MAX_ROW_BYTES),
            "{e:?}"
        );
        assert_eq!(e.status(), 413);
    };
    too_big(
        o.insert_row(&def, json!({ "title": "big", "body": format!("{fits}x") }))
            .unwrap_err(),
    );
    too_big(
        o.insert_row(
            &def,
            json!({ "title": "big", "body": "y".repeat(3 * MAX_ROW_BYTES) }),
        )
        .unwrap_err(),
    );
    // An update that grows the row past the limit changes nothing.
    too_big(
        o.update_row(&def, id, json!({ "title": "bigger" }))
            .unwrap_err(),
    );
    assert_eq!(o.get_row(&def, id).unwrap().unwrap(), row);
    let count = o
        .store()
        .query("SELECT COUNT(*) FROM _userdo_table_notes", &[])
        .unwrap();
    assert_eq!(count[0].int(0).unwrap(), HOSTILE.len() as i64 + 1);
}
