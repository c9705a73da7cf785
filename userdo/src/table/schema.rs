//! What a table is made of, read from its Rust row type: the fields (from the `schemars` schema),
//! their kinds and defaults, and the declared indexes.

use serde_json::{Map, Value as Json};

use crate::error::{Error, Result};

/// The fields every stored row has besides its own, assigned by the server.
pub const SYSTEM_FIELDS: [&str; 3] = ["id", "createdAt", "updatedAt"];

/// What kind of value a field holds, which decides how a query value is read and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A string (also a string enum).
    String,
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// `true` or `false` (stored by SQLite's JSON functions as 1 or 0).
    Boolean,
    /// An array, object or mixed value: stored and returned, but not filtered or ordered on.
    Json,
}

/// One field of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The name as it appears in JSON.
    pub name: String,
    /// Its kind.
    pub kind: FieldKind,
    /// Whether the field may be `null` (or absent).
    pub nullable: bool,
    /// The value a row that lacks the field is given (from `#[serde(default)]`), if any.
    pub default: Option<Json>,
    /// Whether a new row must have it.
    pub required: bool,
}

impl Field {
    /// The SQL expression that reads this field from a stored row. The name was checked to be a
    /// plain identifier when the table was declared, so it is safe inside the JSON path literal;
    /// the expression must be a literal (not a bound value) to match the expression indexes.
    pub(crate) fn sql(&self) -> String {
        system_column(&self.name)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("json_extract(data, '$.{}')", self.name))
    }
}

/// The column of a system field.
pub(crate) fn system_column(name: &str) -> Option<&'static str> {
    match name {
        "id" => Some("id"),
        "createdAt" => Some("created_at"),
        "updatedAt" => Some("updated_at"),
        _ => None,
    }
}

/// The system fields as [`Field`]s.
pub(crate) fn system_fields() -> Vec<Field> {
    let field = |name: &str, kind| Field {
        name: name.to_owned(),
        kind,
        nullable: false,
        default: None,
        required: false,
    };
    vec![
        field("id", FieldKind::String),
        field("createdAt", FieldKind::Integer),
        field("updatedAt", FieldKind::Integer),
    ]
}

/// A name usable as a table or field name: ASCII letters, digits and `_`, not starting with a
/// digit, at most 64 bytes. Such names are safe inside SQL identifiers and JSON paths.
pub(crate) fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads the fields of a row type from its JSON schema (schemars). Every property must have a
/// plain name that is not a system field.
pub(crate) fn fields_from_schema(schema: &Json) -> Result<Vec<Field>> {
    let root = schema
        .as_object()
        .ok_or_else(|| config("the row schema is not an object"))?;
    let defs = root
        .get("$defs")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default();
    let properties = root
        .get("properties")
        .and_then(Json::as_object)
        .ok_or_else(|| config("a row type must be a struct with named fields"))?;
    let required: Vec<&str> = root
        .get("required")
        .and_then(Json::as_array)
        .map(|r| r.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    properties
        .iter()
        .map(|(name, property)| {
            if !is_plain_name(name) {
                return Err(config(&format!(
                    "field name {name:?} must be letters, digits and _ (not starting with a digit)"
                )));
            }
            if SYSTEM_FIELDS.contains(&name.as_str()) {
                return Err(config(&format!(
                    "field {name} is assigned by the server; remove it from the row type"
                )));
            }
            let property = resolve(property, &defs);
            let (kind, nullable) = kind_of(&property, &defs);
            Ok(Field {
                name: name.clone(),
                kind,
                nullable,
                default: property.get("default").cloned(),
                required: required.contains(&name.as_str()),
            })
        })
        .collect()
}

fn config(message: &str) -> Error {
    Error::Config(format!("table declaration: {message}"))
}

/// Follows a `$ref` into `$defs` (one level is all schemars writes for a field).
fn resolve(schema: &Json, defs: &Map<String, Json>) -> Json {
    let Some(reference) = schema.get("$ref").and_then(Json::as_str) else {
        return schema.clone();
    };
    let target = reference
        .strip_prefix("#/$defs/")
        .and_then(|name| defs.get(name))
        .cloned()
        .unwrap_or(Json::Bool(true));
    // Keywords beside the `$ref` (a default, a description) still apply.
    match (target, schema.as_object()) {
        (Json::Object(mut target), Some(outer)) => {
            for (k, v) in outer.iter().filter(|(k, _)| *k != "$ref") {
                target.insert(k.clone(), v.clone());
            }
            Json::Object(target)
        }
        (target, _) => target,
    }
}

fn kind_of(schema: &Json, defs: &Map<String, Json>) -> (FieldKind, bool) {
    let simple = |t: &str| match t {
        "string" => Some(FieldKind::String),
        "integer" => Some(FieldKind::Integer),
        "number" => Some(FieldKind::Number),
        "boolean" => Some(FieldKind::Boolean),
        _ => None,
    };
    match schema.get("type") {
        Some(Json::String(t)) => (simple(t).unwrap_or(FieldKind::Json), false),
        Some(Json::Array(types)) => {
            let nullable = types.iter().any(|t| t == "null");
            let others: Vec<&str> = types
                .iter()
                .filter_map(Json::as_str)
                .filter(|t| *t != "null")
                .collect();
            match others.as_slice() {
                [one] => (simple(one).unwrap_or(FieldKind::Json), nullable),
                _ => (FieldKind::Json, nullable),
            }
        }
        _ => {
            // `Option<Enum>` is written as anyOf [ {$ref}, {type: null} ]; a plain enum as `enum`.
            if let Some(variants) = schema.get("anyOf").and_then(Json::as_array) {
                let nullable = variants
                    .iter()
                    .any(|v| v.get("type") == Some(&"null".into()));
                let others: Vec<Json> = variants
                    .iter()
                    .filter(|v| v.get("type") != Some(&"null".into()))
                    .map(|v| resolve(v, defs))
                    .collect();
                if let [one] = others.as_slice() {
                    let (kind, inner_nullable) = kind_of(one, defs);
                    return (kind, nullable || inner_nullable);
                }
                return (FieldKind::Json, nullable);
            }
            if let Some(values) = schema.get("enum").and_then(Json::as_array)
                && values.iter().all(Json::is_string)
            {
                return (FieldKind::String, false);
            }
            (FieldKind::Json, true)
        }
    }
}
