//! Hostile input in every position of a query is refused or bound, never run as SQL.
#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn a_hostile_field_in_a_filter_is_invalid_query() {
    let o = notes();
    let def = o.table_def("notes").unwrap();
    for name in HOSTILE_NAMES {
        let spec = QuerySpec {
            filters: vec![filter_of(name, Op::Eq, json!("x"))],
            ..QuerySpec::default()
        };
        assert_invalid_query(o.query_rows(&def, &spec));
        assert_invalid_query(o.count_rows(&def, &spec));
        assert_invalid_query(via_query_string(&o, &[("where", &format!("{name}:eq:x"))]));
    }
    assert_intact(&o);
}

#[test]
fn a_hostile_field_in_an_ordering_is_invalid_query() {
    let o = notes();
    let def = o.table_def("notes").unwrap();
    for name in HOSTILE_NAMES {
        let spec = spec(vec![], &[(name, Direction::Asc)], 10);
        assert_invalid_query(o.query_rows(&def, &spec));
        assert_invalid_query(via_query_string(&o, &[("orderBy", name)]));
        assert_invalid_query(via_query_string(
            &o,
            &[("orderBy", &format!("{name}:desc"))],
        ));
    }
    assert_intact(&o);
}

#[test]
fn a_hostile_operator_is_invalid_query() {
    let o = notes();
    for op in [
        "eq; DROP TABLE _userdo_table_notes",
        "=",
        "EQ",
        "like",
        "is",
        "",
        "eq' OR '1'='1",
    ] {
        assert_invalid_query(via_query_string(&o, &[("where", &format!("title:{op}:x"))]));
    }
    assert_intact(&o);
}

#[test]
fn a_hostile_order_direction_is_invalid_query() {
    let o = notes();
    for direction in [
        "asc; DROP TABLE _userdo_table_notes",
        "ASC",
        "desc, 1",
        "asc --",
        "",
        "nulls first",
    ] {
        assert_invalid_query(via_query_string(
            &o,
            &[("orderBy", &format!("title:{direction}"))],
        ));
    }
    assert_intact(&o);
}

#[test]
fn a_hostile_limit_or_offset_is_invalid_query() {
    let o = notes();
    for raw in [
        "ten",
        "-1",
        "1.5",
        "",
        "1; DROP TABLE _userdo_table_notes",
        "99999999999999999999",
        "4294967296",
        // Whole numbers, but over the most rows one query returns.
        "4294967295",
        "1001",
    ] {
        assert_invalid_query(via_query_string(&o, &[("limit", raw)]));
    }
    for raw in ["-1", "x", "1 OR 1=1", "4294967296"] {
        assert_invalid_query(via_query_string(&o, &[("offset", raw)]));
    }
    assert_eq!(
        via_query_string(&o, &[("limit", "1000"), ("offset", "4294967295")]).unwrap(),
        Vec::<Json>::new()
    );
    assert_intact(&o);
}

#[test]
fn hostile_values_are_bound_and_match_literally() {
    let o = notes();
    let def = o.table_def("notes").unwrap();
    let titles = |spec: &QuerySpec| {
        o.query_rows(&def, spec)
            .unwrap()
            .iter()
            .map(|r| r["title"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    for title in HOSTILE {
        let eq = spec(vec![filter_of("title", Op::Eq, json!(title))], &[], 100);
        assert_eq!(titles(&eq), [title]);
        // The same through the query string, also where the value holds `:`.
        let rows = via_query_string(&o, &[("where", &format!("title:eq:{title}"))]).unwrap();
        assert_eq!(rows.len(), 1, "{title}");
    }
    let query = |op: Op, needle: &str| {
        let mut found = titles(&spec(vec![filter_of("title", op, json!(needle))], &[], 100));
        found.sort();
        found
    };
    // `%` and `_` are not wildcards, `'` and `"` are plain characters.
    assert_eq!(query(Op::Contains, "%"), ["100%", "a%b"]);
    assert_eq!(
        query(Op::Contains, "_"),
        [
            "\"); DROP TABLE _userdo_table_notes; --",
            "'); DROP TABLE _userdo_table_notes; --",
            "a_b"
        ]
    );
    assert_eq!(query(Op::Contains, "a_"), ["a_b"]);
    assert_eq!(query(Op::StartsWith, "a_"), ["a_b"]);
    assert_eq!(query(Op::StartsWith, "a%"), ["a%b"]);
    assert_eq!(
        query(Op::Contains, "'"),
        ["'); DROP TABLE _userdo_table_notes; --", "O'Brien"]
    );
    assert_eq!(query(Op::Contains, "\"hi\""), ["say \"hi\""]);
    assert_eq!(query(Op::Contains, "Br"), ["O'Brien"]);
    // Case-sensitive.
    assert_eq!(query(Op::Contains, "o'b"), Vec::<String>::new());
    assert_eq!(query(Op::StartsWith, "o'B"), Vec::<String>::new());
    assert_eq!(query(Op::StartsWith, "O'B"), ["O'Brien"]);
    // A string is not a list of values.
    assert_invalid_query(o.query_rows(
        &def,
        &spec(vec![filter_of("title", Op::In, json!("ab"))], &[], 100),
    ));
    let rows = via_query_string(&o, &[("where", "title:in:[\"O'Brien\",\"a_b\",\"zz\"]")]).unwrap();
    assert_eq!(rows.len(), 2);
    assert_intact(&o);
}
