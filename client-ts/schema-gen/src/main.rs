//! Prints, as one JSON document on stdout, the JSON Schemas (draft 2020-12) of the types the
//! TypeScript client needs, plus the table names and limits it must agree on.
//! `client-ts/scripts/gen-types.mjs` turns that into `client-ts/src/generated.ts`.
//!
//! Types that derive `JsonSchema` are named directly; the rest come from [`mirror`] (see there).

mod mirror;

use schemars::generate::SchemaSettings;
use serde_json::json;
use userdo::table::TableRow;
use userdo::table::query::{DEFAULT_LIMIT, MAX_LIMIT};
use userdo_default_worker::{Todo, Visit};

/// The whole document: `{definitions, tables, calls, constants}`.
fn document() -> serde_json::Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    // Real types.
    generator.subschema_for::<Todo>();
    generator.subschema_for::<Visit>();
    // Mirrors (see mirror.rs).
    generator.subschema_for::<mirror::User>();
    generator.subschema_for::<mirror::AuthResponse>();
    generator.subschema_for::<mirror::SessionInfo>();
    generator.subschema_for::<mirror::Credentials>();
    generator.subschema_for::<mirror::RefreshRequest>();
    generator.subschema_for::<mirror::ChangePasswordRequest>();
    generator.subschema_for::<mirror::ResetRequest>();
    generator.subschema_for::<mirror::ResetConfirm>();
    generator.subschema_for::<mirror::Event>();
    generator.subschema_for::<mirror::KvChange>();
    generator.subschema_for::<mirror::TableChange>();
    generator.subschema_for::<mirror::StoredFields>();
    generator.subschema_for::<mirror::ErrorBody>();
    generator.subschema_for::<mirror::Call>();
    let mut definitions = generator.take_definitions(true);
    definitions.sort_keys();
    json!({
        "definitions": definitions,
        // Table name -> row type, from `TableRow::NAME`.
        "tables": { Todo::NAME: "Todo", Visit::NAME: "Visit" },
        // The enum of the application's remote methods.
        "calls": "Call",
        "constants": { "defaultLimit": DEFAULT_LIMIT, "maxLimit": MAX_LIMIT },
    })
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
