//! Random queries over real SQLite return what the in-memory model returns, with and without
//! indexes.
#![allow(clippy::unwrap_used)]

use super::model::*;
use super::*;

fn check_queries(rows: &[NewRow], specs: &[QuerySpec]) -> Result<(), TestCaseError> {
    let o = object("prop")
        .with_tables(
            Tables::new()
                .table::<Item>(Access::ReadWrite)
                .table::<IndexedItem>(Access::ReadWrite),
        )
        .unwrap();
    let plain = o.table_def("items").unwrap();
    let indexed = o.table_def("items_ix").unwrap();
    let (mut model, mut ids, mut ids_ix) = (Vec::new(), Vec::new(), Vec::new());
    for (seq, new) in rows.iter().enumerate() {
        advance(&o, new.tick);
        let mut json = json!({ "name": new.name, "flag": new.flag, "score": new.score });
        if let Some(rank) = new.rank {
            json["rank"] = rank.into();
        }
        let stored = o.insert_row(&plain, json.clone()).unwrap();
        ids_ix.push(
            o.insert_row(&indexed, json)
                .unwrap()
                .get("id")
                .and_then(Json::as_str)
                .unwrap()
                .to_owned(),
        );
        let id = stored["id"].as_str().unwrap().to_owned();
        ids.push(id.clone());
        model.push(ModelRow {
            seq,
            name: new.name.clone(),
            rank: new.rank,
            flag: new.flag,
            score: new.score,
            created_at: stored["createdAt"].as_i64().unwrap(),
            id,
        });
    }
    // Ordering by id must compare the ids of the table being read.
    let model_ix: Vec<ModelRow> = model
        .iter()
        .cloned()
        .zip(&ids_ix)
        .map(|(r, id)| ModelRow {
            id: id.clone(),
            ..r
        })
        .collect();
    for spec in specs {
        let expected = model_query(&model, spec);
        prop_assert_eq!(
            run(&o, "items", &ids, spec),
            expected.clone(),
            "plain table, {:?}",
            spec
        );
        prop_assert_eq!(
            run(&o, "items_ix", &ids_ix, spec),
            model_query(&model_ix, spec),
            "indexed table, {:?}",
            spec
        );
    }
    Ok(())
}

#[test]
fn random_queries_return_what_an_in_memory_filter_and_sort_returns() {
    let config = Config {
        cases: 96,
        failure_persistence: None,
        // A fixed seed keeps the suite deterministic; PROPTEST_RNG_SEED still overrides it.
        rng_seed: match std::env::var("PROPTEST_RNG_SEED") {
            Ok(seed) => RngSeed::Fixed(seed.parse().unwrap()),
            Err(_) => RngSeed::Fixed(0x05EE_D0DE),
        },
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    runner
        .run(
            &(
                proptest::collection::vec(new_row(), 0..=40),
                proptest::collection::vec(query_spec(), 1..=8),
            ),
            |(rows, specs)| check_queries(&rows, &specs),
        )
        .unwrap();
}
