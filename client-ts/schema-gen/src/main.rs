//! Prints, as one JSON document on stdout, the JSON Schemas (draft 2020-12) of the types the
//! TypeScript client needs, plus the table names and limits it must agree on.
//! `client-ts/scripts/gen-types.mjs` turns that into `client-ts/src/generated.ts`.
//!
//! Every type is the Rust type the server uses, so the client's types are never written twice.

use schemars::generate::SchemaSettings;
use serde_json::json;
use userdo::error::ErrorBody;
use userdo::events::{Event, KvChange, TableChange};
use userdo::org::MembersChange;
use userdo::table::StoredFields;
use userdo::table::TableRow;
use userdo::table::query::{DEFAULT_LIMIT, MAX_LIMIT};
use userdo_default_worker::{Call, DefaultApp, Note, TeamCall, Teams, Todo, Visit};
use worker_factory::Methods;
use worker_factory::app::MethodSchema;
use worker_factory::routes::{self, Endpoint};

/// The whole document: `{definitions, routes, methods, orgMethods, tables, orgTables, calls,
/// constants}`.
fn document() -> serde_json::Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    generator.subschema_for::<Todo>();
    generator.subschema_for::<Visit>();
    // The organizations' tables (the default worker's `Teams: OrgApp`).
    generator.subschema_for::<Note>();
    // Every endpoint of the route table, with the schemas of its body and its answer.
    let mut routes = routes::describe();
    for (route, endpoint) in routes.iter_mut().zip(Endpoint::ALL) {
        route["request"] = endpoint.request_schema(&mut generator).to_value();
        route["response"] = endpoint.response_schema(&mut generator).to_value();
    }
    // The application's methods: name, parameters and result of each; and the organizations'.
    let methods = describe(<Call as Methods<DefaultApp>>::describe(&mut generator));
    let org_methods = describe(<TeamCall as Methods<Teams>>::describe(&mut generator));
    generator.subschema_for::<Event>();
    generator.subschema_for::<KvChange>();
    generator.subschema_for::<TableChange>();
    generator.subschema_for::<MembersChange>();
    generator.subschema_for::<StoredFields>();
    generator.subschema_for::<ErrorBody>();
    generator.subschema_for::<Call>();
    let mut definitions = generator.take_definitions(true);
    definitions.sort_keys();
    json!({
        "definitions": definitions,
        "routes": routes,
        "methods": methods,
        // The organizations' methods (`POST /api/orgs/{org}/rpc`).
        "orgMethods": org_methods,
        // Table name -> row type, from `TableRow::NAME`.
        "tables": { Todo::NAME: "Todo", Visit::NAME: "Visit" },
        // The organization tables (`/api/orgs/{org}/tables/{table}`): name -> row type.
        "orgTables": { Note::NAME: "Note" },
        // The enum of the application's remote methods.
        "calls": "Call",
        "constants": { "defaultLimit": DEFAULT_LIMIT, "maxLimit": MAX_LIMIT },
    })
}

/// Methods as the document lists them: `{name, doc, params, result}` each.
fn describe(methods: Vec<MethodSchema>) -> Vec<serde_json::Value> {
    methods
        .into_iter()
        .map(|m| {
            json!({
                "name": m.name, "doc": m.doc,
                "params": m.params.to_value(), "result": m.result.to_value(),
            })
        })
        .collect()
}

fn main() {
    match serde_json::to_string_pretty(&document()) {
        Ok(text) => println!("{text}"),
        Err(e) => {
            eprintln!("schema-gen: {e}");
            std::process::exit(1);
        }
    }
}
