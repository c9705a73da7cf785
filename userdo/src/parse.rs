//! Reading JSON into a typed value while reporting every field that does not fit, not only the
//! first: the request bodies of [`api`](crate::api), the parameters of [`rpc`](crate::rpc) calls
//! and the rows of [`table`](crate::table)s all go through here.
//!
//! serde stops at the first mistyped field. To list them all, each type error is recorded for its
//! field, the field's value is replaced by a placeholder of the type serde expected there, and the
//! value is read again, until it reads. The placeholders never leave this module: the caller gets
//! either the value (when nothing was wrong) or the errors.

use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use serde_path_to_error::Segment;
use validator::Validate;

use crate::error::{Error, FieldErrors, Result};

/// At most this many fields are repaired before giving up with the errors found so far: more
/// than a form shows, and it bounds the work a hostile body can cause (one read per repair).
const MAX_REPAIRS: usize = 32;

/// serde's "invalid type: integer `5`, expected a string" becomes "must be a string"; a message
/// without an expectation is kept as it is.
pub(crate) fn must_be(serde_message: &str) -> String {
    match expectation(serde_message) {
        Some(expected) => format!("must be {expected}"),
        None => serde_message.to_owned(),
    }
}

/// What serde's message says it expected ("a string" of "..., expected a string").
fn expectation(serde_message: &str) -> Option<&str> {
    serde_message.split_once("expected ").map(|(_, e)| e)
}

/// Reads `value` as `T` and validates it. On failure, the error lists every field at once: the
/// type errors of the mistyped ones and the rule failures of the well-typed ones. A type error
/// of the whole value is named `root`.
pub(crate) fn typed_and_valid<T: DeserializeOwned + Validate>(
    value: Json,
    root: &str,
) -> Result<T> {
    match typed::<T>(value, root) {
        Ok(parsed) => {
            parsed.validate()?;
            Ok(parsed)
        }
        Err(Mismatch {
            mut errors,
            repaired,
        }) => {
            // The rule failures of the fields that were well typed; a placeholder's are not news.
            if let Some(Err(rules)) = repaired.map(|r| r.validate())
                && let Error::Validation(rules) = Error::from(rules)
            {
                for (field, messages) in rules {
                    errors.entry(field).or_insert(messages);
                }
            }
            Err(Error::Validation(errors))
        }
    }
}

/// Reads `value` as `T`, reporting every mistyped or missing field (see [`typed_and_valid`]).
pub(crate) fn typed_only<T: DeserializeOwned>(value: Json, root: &str) -> Result<T> {
    typed::<T>(value, root).map_err(|m| Error::Validation(m.errors))
}

/// What did not fit, and the value read with placeholders in those places (when it could be).
struct Mismatch<T> {
    errors: FieldErrors,
    repaired: Option<T>,
}

fn typed<T: DeserializeOwned>(mut value: Json, root: &str) -> Result<T, Mismatch<T>> {
    let mut errors = FieldErrors::new();
    for _ in 0..MAX_REPAIRS {
        let error = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(parsed) if errors.is_empty() => return Ok(parsed),
            Ok(parsed) => {
                return Err(Mismatch {
                    errors,
                    repaired: Some(parsed),
                });
            }
            Err(error) => error,
        };
        let segments: Vec<Segment> = error.path().iter().cloned().collect();
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        let repaired = if let Some(field) = missing_field(&message) {
            let name = if path == "." {
                field.to_owned()
            } else {
                format!("{path}.{field}")
            };
            errors
                .entry(name)
                .or_insert_with(|| vec!["is required".to_owned()]);
            // `null` first: the error it then gives names the type to put there instead.
            let mut inner = segments.clone();
            inner.push(Segment::Map {
                key: field.to_owned(),
            });
            set(&mut value, &inner, Json::Null)
        } else {
            let name = if path == "." { root.to_owned() } else { path };
            let first = !errors.contains_key(&name);
            errors
                .entry(name)
                .or_insert_with(|| vec![must_be(&message)]);
            let placeholder = expectation(&message).and_then(placeholder);
            match placeholder {
                // The same field failing again with its placeholder in place cannot be repaired.
                Some(p) if first || Some(&p) != get(&value, &segments) => {
                    set(&mut value, &segments, p)
                }
                _ => false,
            }
        };
        if !repaired {
            break;
        }
    }
    Err(Mismatch {
        errors,
        repaired: None,
    })
}

/// The field of serde's "missing field `x`".
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
}

/// A value of the type serde describes as `expected` ("a string", "u32", "one of `a`, `b`"...).
fn placeholder(expected: &str) -> Option<Json> {
    let expected = expected.trim();
    if let Some(quoted) = expected
        .strip_prefix("one of ")
        .unwrap_or(expected)
        .strip_prefix('`')
    {
        return quoted.split('`').next().map(|v| Json::String(v.to_owned()));
    }
    let value = match expected {
        "a string" | "a borrowed string" | "string or map" => Json::String(String::new()),
        "a character" => Json::String("a".to_owned()),
        "a boolean" => Json::Bool(false),
        "unit" => Json::Null,
        "a sequence" | "a set" => Json::Array(Vec::new()),
        "a map" => Json::Object(serde_json::Map::new()),
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64" | "u128"
        | "usize" | "f32" | "f64" | "an integer" | "a number" => Json::from(0),
        other if other.starts_with("a tuple") => Json::Array(Vec::new()),
        other if other.starts_with("struct ") || other.starts_with("a struct") => {
            Json::Object(serde_json::Map::new())
        }
        _ => return None,
    };
    Some(value)
}

fn get<'a>(value: &'a Json, path: &[Segment]) -> Option<&'a Json> {
    path.iter().try_fold(value, |v, segment| match segment {
        Segment::Seq { index } => v.get(index),
        Segment::Map { key } | Segment::Enum { variant: key } => v.get(key),
        Segment::Unknown => None,
    })
}

/// Puts `new` at `path` in `value`; `false` when the path does not lead into `value`.
fn set(value: &mut Json, path: &[Segment], new: Json) -> bool {
    let Some((last, parent)) = path.split_last() else {
        *value = new;
        return true;
    };
    let mut at = value;
    for segment in parent {
        let next = match segment {
            Segment::Seq { index } => at.get_mut(index),
            Segment::Map { key } | Segment::Enum { variant: key } => at.get_mut(key),
            Segment::Unknown => None,
        };
        match next {
            Some(next) => at = next,
            None => return false,
        }
    }
    match (last, at) {
        (Segment::Seq { index }, Json::Array(items)) if *index < items.len() => {
            items[*index] = new;
            true
        }
        (Segment::Map { key } | Segment::Enum { variant: key }, Json::Object(map)) => {
            map.insert(key.clone(), new);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, Validate)]
    struct Signup {
        #[validate(length(min = 3, message = "is too short"))]
        name: String,
        #[validate(range(min = 18, message = "is too young"))]
        age: u32,
        #[serde(default)]
        tags: Vec<String>,
        nested: Option<Inner>,
    }

    #[derive(Debug, Deserialize, Validate)]
    #[allow(dead_code)]
    struct Inner {
        flag: bool,
        count: i64,
    }

    fn details(value: Json) -> FieldErrors {
        match typed_and_valid::<Signup>(value, "body") {
            Err(Error::Validation(errors)) => errors,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_wording_of_a_type_error_is_must_be() {
        assert_eq!(
            must_be("invalid type: integer `5`, expected a string"),
            "must be a string"
        );
        assert_eq!(must_be("trailing characters"), "trailing characters");
    }

    #[test]
    fn every_mistyped_missing_and_invalid_field_is_listed_at_once() {
        let errors = details(json!({ "name": "ab", "tags": 5, "nested": { "flag": "yes" } }));
        assert_eq!(errors["name"], ["is too short"]);
        assert_eq!(errors["age"], ["is required"]);
        assert_eq!(errors["tags"], ["must be a sequence"]);
        assert_eq!(errors["nested.flag"], ["must be a boolean"]);
        assert_eq!(errors["nested.count"], ["is required"]);
        assert_eq!(errors.len(), 5, "{errors:?}");
    }

    #[test]
    fn a_placeholder_does_not_add_a_rule_failure_to_its_field() {
        let errors = details(json!({ "name": 7, "age": "old" }));
        assert_eq!(errors["name"], ["must be a string"]);
        assert_eq!(errors["age"], ["must be u32"]);
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn a_value_that_fits_reads_unchanged() {
        let parsed: Signup =
            typed_and_valid(json!({ "name": "abc", "age": 20, "tags": ["x"] }), "body").unwrap();
        assert_eq!((parsed.name.as_str(), parsed.age), ("abc", 20));
        assert_eq!(parsed.tags, ["x"]);
        assert!(parsed.nested.is_none());
    }

    #[test]
    fn a_body_with_very_many_wrong_values_is_answered_after_a_bounded_number_of_reads() {
        let many: Vec<i64> = (0..10_000).collect();
        let errors = details(json!({ "name": "abc", "age": 20, "tags": many }));
        assert_eq!(errors["tags[0]"], ["must be a string"]);
        assert!(errors.len() <= MAX_REPAIRS, "{}", errors.len());
    }

    #[test]
    fn a_whole_value_of_the_wrong_type_is_named_root() {
        let errors = match typed_only::<Signup>(json!(5), "params") {
            Err(Error::Validation(errors)) => errors,
            other => panic!("{other:?}"),
        };
        assert!(errors["params"][0].starts_with("must be"), "{errors:?}");
    }
}
