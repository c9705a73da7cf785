//! The query builder: filters, order, limit and offset as a value that builds to SQL text and its
//! bound values. Field names are checked against the table's fields before they reach the SQL
//! (and only the table's own field expressions are written into it); every value is bound.

use serde_json::Value as Json;

use super::TableDef;
use super::schema::{Field, FieldKind};
use crate::error::{Error, Result};
use crate::store::Value;

/// The most values one query may bind (Durable Object SQLite allows 100 per statement).
pub const MAX_BOUND_VALUES: usize = 100;
/// The longest SQL statement a query may build (Durable Object SQLite allows 100 KB).
pub const MAX_SQL_BYTES: usize = 100_000;
/// The most filters, and the most ordering keys, one query may have (SQLite refuses an expression
/// deeper than 1000 or an ORDER BY of more than 2000 terms, and `eq null` binds no value).
pub const MAX_TERMS: usize = 100;
/// The number of rows a query returns unless told otherwise.
pub const DEFAULT_LIMIT: u32 = 100;
/// The most rows one query returns.
pub const MAX_LIMIT: u32 = 1000;
/// `GET /api/tables/{table}` counts the matches up to this many (`countCapped` beyond).
pub const COUNT_CAP: i64 = 10_000;

/// A comparison in a filter (API.md: `eq, ne, gt, gte, lt, lte, in, contains, startsWith`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Equal (`null` matches a missing or null field).
    Eq,
    /// Not equal (a missing or null field is not equal to any value).
    Ne,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less than or equal.
    Lte,
    /// Equal to one of a list of values.
    In,
    /// A string field holds the value as a substring (case-sensitive).
    Contains,
    /// A string field starts with the value (case-sensitive).
    StartsWith,
}

impl Op {
    /// The operator named as in the API (`eq`, `startsWith`, ...).
    pub fn parse(name: &str) -> Option<Op> {
        Some(match name {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "in" => Op::In,
            "contains" => Op::Contains,
            "startsWith" => Op::StartsWith,
            _ => return None,
        })
    }
}

/// The direction of an ordering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Smallest first.
    Asc,
    /// Largest first.
    Desc,
}

/// One condition: `field op value`. For [`Op::In`] the value is an array.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The field name.
    pub field: String,
    /// The comparison.
    pub op: Op,
    /// The value compared with.
    pub value: Json,
}

/// A query of one table: every filter must hold (AND); rows come in `order`, then in creation
/// order (newest first when the last ordering is [`Direction::Desc`], so that one index serves
/// the whole ordering).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuerySpec {
    /// The conditions.
    pub filters: Vec<Filter>,
    /// The ordering, most significant first.
    pub order: Vec<(String, Direction)>,
    /// At most this many rows ([`DEFAULT_LIMIT`] when `None`, never more than [`MAX_LIMIT`]).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: u32,
}

impl QuerySpec {
    /// Reads the API's query string: `where=F:OP:V` (repeatable), `orderBy=F:asc|desc`
    /// (repeatable), `limit=N`, `offset=N`. `V` is read by the field's kind; for `in` it is a
    /// JSON array or a comma-separated list.
    pub fn from_query_pairs<'a>(
        def: &TableDef,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<QuerySpec> {
        let mut spec = QuerySpec::default();
        for (key, value) in pairs {
            match key {
                "where" => {
                    let mut parts = value.splitn(3, ':');
                    let (Some(field), Some(op), Some(raw)) =
                        (parts.next(), parts.next(), parts.next())
                    else {
                        return Err(invalid("where must be field:operator:value"));
                    };
                    let f = def.field(field)?;
                    let op = Op::parse(op).ok_or_else(|| {
                        invalid(&format!(
                            "unknown operator {op:?}: use eq, ne, gt, gte, lt, lte, in, contains or startsWith"
                        ))
                    })?;
                    let value = if op == Op::In {
                        let items: Vec<Json> = match serde_json::from_str::<Json>(raw) {
                            Ok(Json::Array(items)) if raw.starts_with('[') => items,
                            _ => raw
                                .split(',')
                                .map(|v| read_value(f, v))
                                .collect::<Result<_>>()?,
                        };
                        Json::Array(items)
                    } else if matches!(op, Op::Contains | Op::StartsWith) {
                        Json::String(raw.to_owned())
                    } else {
                        read_value(f, raw)?
                    };
                    spec.filters.push(Filter {
                        field: field.to_owned(),
                        op,
                        value,
                    });
                }
                "orderBy" => {
                    let (field, direction) = value.split_once(':').unwrap_or((value, "asc"));
                    let direction = match direction {
                        "asc" => Direction::Asc,
                        "desc" => Direction::Desc,
                        other => {
                            return Err(invalid(&format!(
                                "order direction {other:?} must be asc or desc"
                            )));
                        }
                    };
                    spec.order.push((field.to_owned(), direction));
                }
                "limit" => spec.limit = Some(read_count("limit", value)?),
                "offset" => spec.offset = read_count("offset", value)?,
                other => {
                    return Err(invalid(&format!(
                        "unknown query parameter {other:?}: use where, orderBy, limit or offset"
                    )));
                }
            }
        }
        Ok(spec)
    }
}

fn read_count(name: &str, raw: &str) -> Result<u32> {
    raw.parse::<u32>()
        .map_err(|_| invalid(&format!("{name} must be a whole number from 0")))
}

/// Reads a query-string value as the field's kind.
fn read_value(field: &Field, raw: &str) -> Result<Json> {
    if raw == "null" && field.nullable && field.kind != FieldKind::String {
        return Ok(Json::Null);
    }
    let bad = |what: &str| invalid(&format!("{} takes {what}, not {raw:?}", field.name));
    Ok(match field.kind {
        FieldKind::String => Json::String(raw.to_owned()),
        FieldKind::Integer => Json::from(raw.parse::<i64>().map_err(|_| bad("a whole number"))?),
        FieldKind::Number => {
            let n = raw.parse::<f64>().map_err(|_| bad("a number"))?;
            serde_json::Number::from_f64(n)
                .map(Json::Number)
                .ok_or_else(|| bad("a finite number"))?
        }
        FieldKind::Boolean => match raw {
            "true" => Json::Bool(true),
            "false" => Json::Bool(false),
            _ => return Err(bad("true or false")),
        },
        FieldKind::Json => return Err(bad("no filter (it is not a plain value)")),
    })
}

pub(crate) fn invalid(message: &str) -> Error {
    Error::InvalidQuery(message.to_owned())
}

/// SQL text and its bound values.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    /// The statement.
    pub sql: String,
    /// The values, in placeholder order.
    pub params: Vec<Value>,
}

/// Builds `SELECT id, data, created_at, updated_at ...` for the query.
pub(crate) fn build_select(def: &TableDef, spec: &QuerySpec) -> Result<Built> {
    let mut params = Vec::new();
    let mut sql = format!(
        "SELECT id, data, created_at, updated_at FROM \"{}\"",
        def.sql_table()
    );
    push_where(def, spec, &mut sql, &mut params)?;
    if spec.order.len() > MAX_TERMS {
        return Err(invalid(&format!(
            "at most {MAX_TERMS} orderings are allowed"
        )));
    }
    sql.push_str(" ORDER BY ");
    let mut last = Direction::Asc;
    for (name, direction) in &spec.order {
        let field = def.field(name)?;
        if field.kind == FieldKind::Json {
            return Err(invalid(&format!("{name} cannot be ordered by")));
        }
        sql.push_str(&field.sql());
        sql.push_str(dir_sql(*direction));
        sql.push_str(", ");
        last = *direction;
    }
    // Ties come in creation order, in the direction of the last key: an index holds its rows in
    // rowid order within equal keys, so one index scan (backwards for DESC) serves both.
    sql.push_str("rowid");
    sql.push_str(dir_sql(last));
    let limit = spec.limit.unwrap_or(DEFAULT_LIMIT);
    if limit > MAX_LIMIT {
        return Err(invalid(&format!("limit must be at most {MAX_LIMIT}")));
    }
    sql.push_str(" LIMIT ? OFFSET ?");
    params.push(Value::Integer(i64::from(limit)));
    params.push(Value::Integer(i64::from(spec.offset)));
    check_limits(Built { sql, params })
}

/// Builds `SELECT COUNT(*) ...` of the rows the query's filters match (ignoring order, limit and
/// offset).
pub(crate) fn build_count(def: &TableDef, spec: &QuerySpec) -> Result<Built> {
    let mut params = Vec::new();
    let mut sql = format!("SELECT COUNT(*) FROM \"{}\"", def.sql_table());
    push_where(def, spec, &mut sql, &mut params)?;
    check_limits(Built { sql, params })
}

/// As [`build_count`], counting no further than `cap + 1` matches: SQLite stops reading the
/// index (or table) there.
pub(crate) fn build_count_upto(def: &TableDef, spec: &QuerySpec, cap: i64) -> Result<Built> {
    let mut params = Vec::new();
    let mut sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM \"{}\"",
        def.sql_table()
    );
    push_where(def, spec, &mut sql, &mut params)?;
    // The cap is the server's own number, not input: written into the SQL, so that it does not
    // count against the query's bound values.
    sql.push_str(&format!(" LIMIT {})", cap.saturating_add(1)));
    check_limits(Built { sql, params })
}

fn check_limits(built: Built) -> Result<Built> {
    if built.params.len() > MAX_BOUND_VALUES {
        return Err(invalid(&format!(
            "the query has {} values; at most {MAX_BOUND_VALUES} are allowed",
            built.params.len()
        )));
    }
    if built.sql.len() > MAX_SQL_BYTES {
        return Err(invalid("the query is too long"));
    }
    Ok(built)
}

fn dir_sql(direction: Direction) -> &'static str {
    match direction {
        Direction::Asc => " ASC",
        Direction::Desc => " DESC",
    }
}

fn push_where(
    def: &TableDef,
    spec: &QuerySpec,
    sql: &mut String,
    params: &mut Vec<Value>,
) -> Result<()> {
    if spec.filters.len() > MAX_TERMS {
        return Err(invalid(&format!("at most {MAX_TERMS} filters are allowed")));
    }
    for (i, filter) in spec.filters.iter().enumerate() {
        sql.push_str(if i == 0 { " WHERE " } else { " AND " });
        let field = def.field(&filter.field)?;
        if field.kind == FieldKind::Json {
            return Err(invalid(&format!("{} cannot be filtered on", field.name)));
        }
        let expr = field.sql();
        let value = &filter.value;
        match filter.op {
            Op::Eq | Op::Ne if value.is_null() => {
                sql.push_str(&expr);
                sql.push_str(if filter.op == Op::Eq {
                    " IS NULL"
                } else {
                    " IS NOT NULL"
                });
            }
            Op::Eq => {
                sql.push_str(&format!("{expr} = ?"));
                params.push(bind(field, value)?);
            }
            Op::Ne => {
                sql.push_str(&format!("{expr} IS NOT ?"));
                params.push(bind(field, value)?);
            }
            Op::Gt | Op::Gte | Op::Lt | Op::Lte => {
                if field.kind == FieldKind::Boolean {
                    return Err(invalid(&format!(
                        "{} is true or false: use eq or ne",
                        field.name
                    )));
                }
                let op = match filter.op {
                    Op::Gt => ">",
                    Op::Gte => ">=",
                    Op::Lt => "<",
                    _ => "<=",
                };
                sql.push_str(&format!("{expr} {op} ?"));
                params.push(bind(field, value)?);
            }
            Op::In => {
                let items = value
                    .as_array()
                    .ok_or_else(|| invalid("in takes a list of values"))?;
                if items.is_empty() {
                    return Err(invalid("in takes at least one value"));
                }
                if items.len() > MAX_BOUND_VALUES {
                    return Err(invalid(&format!(
                        "in takes at most {MAX_BOUND_VALUES} values"
                    )));
                }
                let marks = vec!["?"; items.len()].join(", ");
                sql.push_str(&format!("{expr} IN ({marks})"));
                for item in items {
                    if item.is_null() {
                        return Err(invalid("in cannot match null: use eq null"));
                    }
                    params.push(bind(field, item)?);
                }
            }
            Op::Contains | Op::StartsWith => {
                if field.kind != FieldKind::String {
                    return Err(invalid(&format!(
                        "{} is not a string: contains and startsWith need one",
                        field.name
                    )));
                }
                let needle = value
                    .as_str()
                    .ok_or_else(|| invalid("contains and startsWith take a string"))?;
                if filter.op == Op::Contains {
                    sql.push_str(&format!("instr({expr}, ?) > 0"));
                    params.push(needle.into());
                } else {
                    sql.push_str(&format!("substr({expr}, 1, ?) = ?"));
                    let chars = i64::try_from(needle.chars().count()).unwrap_or(i64::MAX);
                    params.push(Value::Integer(chars));
                    params.push(needle.into());
                }
            }
        }
    }
    Ok(())
}

/// A JSON value as bound for comparison with the field: strings as text, numbers as numbers,
/// booleans as 1 or 0 (as SQLite's JSON functions read them).
fn bind(field: &Field, value: &Json) -> Result<Value> {
    let wrong = || invalid(&format!("{} cannot be compared with {value}", field.name));
    match (field.kind, value) {
        (FieldKind::String, Json::String(s)) => Ok(Value::Text(s.clone())),
        (FieldKind::Integer | FieldKind::Number, Json::Number(n)) => Ok(match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Real(n.as_f64().ok_or_else(wrong)?),
        }),
        (FieldKind::Boolean, Json::Bool(b)) => Ok(Value::Integer(i64::from(*b))),
        _ => Err(wrong()),
    }
}
