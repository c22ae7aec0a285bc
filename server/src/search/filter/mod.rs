//! Filter strings of MLflow's search endpoints:
//! `metrics.acc > 0.9 AND tags.`mlflow.runName` LIKE 'x%'`.
//!
//! Runs, experiments, registered models and model versions share one
//! grammar, parameterised by a [`Spec`] per endpoint (`specs.rs`: which
//! `<type>.` prefixes exist, which attributes, string or numeric, their
//! aliases, whether `IN` lists and `IS NULL` are allowed, and how the
//! comparators are checked). Logged models have a grammar of their own
//! (`logged_models.rs`); quoted values, `IN` lists and numbers are read in
//! `literals.rs`.
//!
//! Parsing follows MLflow 3.17.2 in two phases, as MLflow does: first every
//! clause is parsed (`SearchUtils.parse_search_filter` and its subclasses),
//! then every comparator is checked (the SQL store's filter builder), so a
//! parse error anywhere wins over a comparator error in an earlier clause.
//! Errors carry MLflow's messages; where MLflow prints a Python set, the
//! order is fixed here (Python's varies from process to process).
//!
//! # Grammar
//!
//! Tokens are sqlparse's (see `lexer.rs`); keywords are case-insensitive,
//! whitespace separates tokens and is otherwise ignored.
//!
//! ```text
//! filter      = ""                          (* no clauses *)
//!             | statement ;                 (* text split after each ";":
//!                                              exactly one non-blank part *)
//! statement   = { "AND" | comparison } ;    (* nothing else *)
//! comparison  = identifier "IN" list
//!             | identifier "NOT" "IN" list
//!             | identifier "IS" ( "NULL" | "NOT" "NULL" )
//!             | operand comparator operand ; (* the left one must then be
//!                                               an identifier *)
//! operand     = identifier | string | number | list | "NULL" ;
//!
//! identifier  = first-part { "." part } ;   (* blanks allowed around "." *)
//! first-part  = name | "`" chars "`" | '"' chars '"' ;
//! part        = first-part | string | "*" ;
//! name        = word-char { word-char | "$" | "#" } ;  (* Python's \w,
//!                                              and not a keyword *)
//! string      = "'" { "''" | "\'" | char - "'" } "'" ;
//! number      = [ "-" ] digits [ "." digits ] ( "e" | "E" ) [ "-" ] digits
//!             | [ "-" ] digits "." [ digits ]
//!             | [ "-" ] "." digits
//!             | [ "-" ] digits ;            (* not followed by a letter or
//!                                              "_"; no "+", no "e+", no hex *)
//! list        = "(" balanced text ")" ;     (* a Python literal, see below *)
//! comparator  = ( "<" | ">" | "=" | "~" | "!" ) { "<" | ">" | "=" | "~" | "!" }
//!             | [ "NOT" ] ( "LIKE" | "ILIKE" | "RLIKE" | "REGEXP" ) ;
//! ```
//!
//! An identifier is then split at its first `.` into a type prefix and a
//! key (no `.`: an attribute of the searched entity):
//!
//! ```text
//! identifier  = key | prefix "." key ;
//! prefix      = (* runs: optionally in backticks *)
//!               "metric" | "metrics" | "param" | "params" | "parameter"
//!             | "parameters" | "tag" | "tags" | "attribute" | "attributes"
//!             | "attr" | "run" | "dataset" | "datasets"
//!             | (* experiments and the registry: exactly *)
//!               "attribute" | "tag" | "tags" ;
//! key         = (* loses one pair of ' or " quotes, then one pair of
//!                  backticks; dataset keys: "name" | "digest" | "context";
//!                  attribute keys: the endpoint's, checked after the quotes
//!                  are stripped, or before for the registry *)
//! ```
//!
//! and the value must fit the key:
//!
//! ```text
//! metric value        = number ;
//! param / tag value   = string | '"' chars '"' ;   (* "quoted value" *)
//! attribute value     = number                    (* numeric attributes *)
//!                     | quoted value
//!                     | list ;                    (* list attributes only *)
//! dataset value       = quoted value | list ;
//! list                = Python literal: one string, or a non-empty tuple
//!                       of strings: ('a'), ('a', "b"), ('a',)
//! ```
//!
//! MLflow's quirks, kept:
//!
//! * `AND` is dropped wherever it stands, so `AND` alone is an empty filter
//!   and two comparisons with no `AND` between them are a conjunction;
//!   `OR`, `NOT`, parentheses around clauses are invalid clauses;
//! * the empty string is no filter, but a blank one (`"  "`) cannot be
//!   parsed;
//! * a quoted value loses its outer quotes only (`'it''s'` → `it''s`),
//!   while `IN` lists are evaluated as Python literals (`('it\'s')` →
//!   `it's`); a double-quoted value is an identifier to sqlparse and is
//!   accepted as a quoted value;
//! * comparators are upper-cased for runs and the registry but compared as
//!   written for experiments (so `like` and `in` are rejected there); any
//!   run of `<>=~!` lexes as a comparator and is rejected in the second
//!   phase; a list goes with `IN`/`NOT IN` only and `IN`/`NOT IN` with a
//!   list only;
//! * `IS NULL` / `IS NOT NULL`: run tags and params, experiment tags, never
//!   in the registry (where MLflow fails unpacking the clause);
//! * numbers are read with Rust's float parser: `1e400` is infinity, as
//!   Python's `float` reads it.

mod literals;
mod logged_models;
mod specs;
#[cfg(test)]
mod tests;

pub use logged_models::parse_logged_model_filter;
pub use specs::{
    parse_experiment_filter, parse_model_version_filter, parse_registered_model_filter,
    parse_run_filter,
};
pub(in crate::search) use specs::{EXPERIMENTS, RUNS};

use super::lexer::{self, Kind, Token};
use super::{Clause, Comparator, EntityKind, FilterValue, SearchError, SearchResult};
use crate::pycompat as py;
use literals::{expect_quoted, parse_string_list, strip_quotes, trim_backticks};

fn invalid(message: impl Into<String>) -> SearchError {
    SearchError::invalid(message)
}

// ---------------------------------------------------------------------------
// the grammar's parameters: one Spec per endpoint
// ---------------------------------------------------------------------------

/// One searchable attribute.
#[derive(Debug)]
pub(super) struct Attr {
    /// The key as written in a filter (`created`, `run name`, `name`).
    pub name: &'static str,
    /// The key the store sees ([`Clause::key`]).
    pub canonical: &'static str,
    /// Compared with numbers (`start_time`, `creation_time`, …).
    pub numeric: bool,
    /// `IN (…)` / `NOT IN (…)` lists allowed.
    pub list: bool,
}

const fn attr(name: &'static str, canonical: &'static str, numeric: bool, list: bool) -> Attr {
    Attr {
        name,
        canonical,
        numeric,
        list,
    }
}

/// Which `<type>.` prefixes a search accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Prefixes {
    /// Runs: `metric(s)`, `param(s)`/`parameter(s)`, `tag(s)`,
    /// `attribute(s)`/`attr`/`run`, `dataset(s)`; the prefix may be
    /// backtick-quoted.
    Tracking,
    /// Experiments and the registry: exactly `attribute`, `tag`, `tags`.
    Restricted,
}

const TRACKING_PREFIXES: &[(&str, EntityKind)] = &[
    ("metric", EntityKind::Metric),
    ("metrics", EntityKind::Metric),
    ("parameter", EntityKind::Param),
    ("parameters", EntityKind::Param),
    ("param", EntityKind::Param),
    ("params", EntityKind::Param),
    ("tag", EntityKind::Tag),
    ("tags", EntityKind::Tag),
    ("attribute", EntityKind::Attribute),
    ("attributes", EntityKind::Attribute),
    ("attr", EntityKind::Attribute),
    ("run", EntityKind::Attribute),
    ("dataset", EntityKind::Dataset),
    ("datasets", EntityKind::Dataset),
];

const RESTRICTED_PREFIXES: &[(&str, EntityKind)] = &[
    ("attribute", EntityKind::Attribute),
    ("tag", EntityKind::Tag),
    ("tags", EntityKind::Tag),
];

/// Where `IS NULL` / `IS NOT NULL` is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IsNull {
    /// Runs: tags and params.
    TagsAndParams,
    /// Experiments: tags.
    Tags,
    /// Registry: never (MLflow fails while unpacking the clause).
    Never,
}

/// How values are read (`SearchUtils._get_value` vs the registry's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Values {
    /// Runs and experiments.
    Tracking,
    /// Registered models and model versions.
    Registry,
}

/// The store-side comparator check, per search.
type Check = fn(&Spec, RawClause) -> SearchResult<Clause>;

/// The grammar of one search endpoint.
pub(super) struct Spec {
    pub prefixes: Prefixes,
    pub attributes: &'static [Attr],
    /// Python's `repr` of the valid attribute keys, for messages.
    attribute_keys_repr: &'static str,
    /// `sorted(LIST_SUPPORTED_KEYS)`, for messages.
    list_keys_repr: &'static str,
    /// The registry's `NUMERIC_ATTRIBUTES` repr (model versions only).
    numeric_keys_repr: Option<&'static str>,
    /// Attribute keys are checked before quotes are stripped (registry).
    check_key_before_unquote: bool,
    /// Invalid tokens are listed as `'tok'` (runs) or `tok` (others).
    quote_invalid_tokens: bool,
    is_null: IsNull,
    values: Values,
    check: Check,
}

const DATASET_KEYS: &[&str] = &["name", "digest", "context"];
const DATASET_KEYS_REPR: &str = "{'digest', 'name', 'context'}";

impl Spec {
    fn attribute(&self, key: &str) -> Option<&'static Attr> {
        self.attributes.iter().find(|a| a.name == key)
    }
}

// ---------------------------------------------------------------------------
// statement → comparisons
// ---------------------------------------------------------------------------

/// A comparison as sqlparse groups it (after MLflow joins `IN`/`IS` tokens).
#[derive(Debug)]
pub(super) enum Comparison<'a> {
    /// `<left> <op> <right>`; `op` as written (`like`, `NOT IN`, `>>>`).
    Binary {
        left: &'a Token,
        op: String,
        right: &'a Token,
    },
    /// `<left> IS [NOT] NULL`.
    Null { left: &'a Token, not: bool },
}

/// The pieces of a statement: comparisons and tokens that are neither a
/// comparison nor `AND`.
#[derive(Debug)]
pub(super) enum Item<'a> {
    Comparison(Comparison<'a>),
    Invalid(&'a Token),
}

/// A valid side of a sqlparse comparison.
fn is_operand(t: &Token) -> bool {
    matches!(
        t.kind,
        Kind::Ident | Kind::Str | Kind::Int | Kind::Float | Kind::Paren
    ) || t.is_keyword("NULL")
}

/// Splits a statement into comparisons, `AND`s (dropped) and invalid tokens.
pub(super) fn items(statement: &[Token]) -> Vec<Item<'_>> {
    let toks: Vec<&Token> = statement
        .iter()
        .filter(|t| t.kind != Kind::Whitespace)
        .collect();
    let at = |i: usize| toks.get(i).copied();
    let is_paren = |t: Option<&Token>| matches!(t.map(|t| &t.kind), Some(Kind::Paren));
    let kw = |t: Option<&Token>, k: &str| t.is_some_and(|t| t.is_keyword(k));
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(t) = at(i) {
        if t.is_keyword("AND") {
            i += 1;
            continue;
        }
        if t.kind == Kind::Ident {
            if kw(at(i + 1), "IN") && is_paren(at(i + 2)) {
                if let (Some(op), Some(right)) = (at(i + 1), at(i + 2)) {
                    out.push(Item::Comparison(Comparison::Binary {
                        left: t,
                        op: op.text.clone(),
                        right,
                    }));
                    i += 3;
                    continue;
                }
            }
            if kw(at(i + 1), "IS") && (kw(at(i + 2), "NULL") || kw(at(i + 2), "NOT NULL")) {
                out.push(Item::Comparison(Comparison::Null {
                    left: t,
                    not: kw(at(i + 2), "NOT NULL"),
                }));
                i += 3;
                continue;
            }
            if kw(at(i + 1), "NOT") && kw(at(i + 2), "IN") && is_paren(at(i + 3)) {
                if let Some(right) = at(i + 3) {
                    out.push(Item::Comparison(Comparison::Binary {
                        left: t,
                        op: "NOT IN".into(),
                        right,
                    }));
                    i += 4;
                    continue;
                }
            }
        }
        if is_operand(t) {
            if let (Some(op), Some(right)) = (at(i + 1), at(i + 2)) {
                if op.kind == Kind::Comparison && is_operand(right) {
                    out.push(Item::Comparison(Comparison::Binary {
                        left: t,
                        op: op.text.clone(),
                        right,
                    }));
                    i += 3;
                    continue;
                }
            }
        }
        out.push(Item::Invalid(t));
        i += 1;
    }
    out
}

/// The single statement of a filter (`sqlparse.parse`), with MLflow's
/// errors for none (`Invalid filter '…'. Could not be parsed.`) or several
/// (`Search filter contained multiple expression '…'. …`).
fn single_statement(filter: &str) -> SearchResult<Vec<Token>> {
    let mut statements = lexer::statements(lexer::tokenize(filter));
    match statements.len() {
        0 => Err(invalid(format!(
            "Invalid filter '{filter}'. Could not be parsed."
        ))),
        1 => Ok(statements.remove(0)),
        _ => Err(invalid(format!(
            "Search filter contained multiple expression {}. Provide AND-ed expression list.",
            py::repr_str(filter)
        ))),
    }
}

// ---------------------------------------------------------------------------
// comparisons → raw clauses (the parse phase)
// ---------------------------------------------------------------------------

/// A value as MLflow's parser returns it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum RawValue {
    Str(String),
    /// A number literal: its value and whether it was an integer.
    Num(f64, bool),
    List(Vec<String>),
    Null,
}

/// A clause after the parse phase: MLflow's `{"type", "key", "comparator",
/// "value"}` dict (the key not yet canonical).
#[derive(Debug)]
pub(super) struct RawClause {
    entity: EntityKind,
    key: String,
    /// As MLflow stores it: raw for runs and experiments, upper-cased for
    /// the registry, `IS NULL` / `IS NOT NULL` / `NOT IN` normalized.
    op: String,
    value: RawValue,
}

/// MLflow's name for an entity type in messages.
fn type_name(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Attribute => "attribute",
        EntityKind::Metric => "metric",
        EntityKind::Param => "parameter",
        EntityKind::Tag => "tag",
        EntityKind::Dataset => "dataset",
    }
}

/// `_get_identifier` (runs), `SearchExperimentsUtils._get_identifier` and
/// the registry's `_get_model_search_identifier`: the entity type and key of
/// an identifier, the key unquoted (not yet canonical). `keys` are the
/// attribute names allowed here, `keys_repr` their Python repr.
pub(super) fn resolve_identifier(
    spec: &Spec,
    ident: &str,
    keys: &dyn Fn(&str) -> bool,
    keys_repr: &str,
) -> SearchResult<(EntityKind, String)> {
    let (entity, raw_key) = match ident.split_once('.') {
        None => (EntityKind::Attribute, ident),
        Some((prefix, key)) => {
            let entity = match spec.prefixes {
                Prefixes::Tracking => {
                    let prefix = trim_backticks(prefix);
                    TRACKING_PREFIXES
                        .iter()
                        .find(|(p, _)| *p == prefix)
                        .map(|(_, e)| *e)
                        .ok_or_else(|| {
                            invalid(format!(
                                "Invalid entity type '{prefix}'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']"
                            ))
                        })?
                }
                Prefixes::Restricted => RESTRICTED_PREFIXES
                    .iter()
                    .find(|(p, _)| *p == prefix)
                    .map(|(_, e)| *e)
                    .ok_or_else(|| {
                        invalid(format!(
                            "Invalid entity type '{prefix}'. Valid entity types are ('attribute', 'tag', 'tags')"
                        ))
                    })?,
            };
            (entity, key)
        }
    };
    let invalid_attribute = |key: &str| {
        invalid(format!(
            "Invalid attribute key '{key}' specified. Valid keys are '{keys_repr}'"
        ))
    };
    if spec.check_key_before_unquote && entity == EntityKind::Attribute && !keys(raw_key) {
        return Err(invalid_attribute(raw_key));
    }
    let key = trim_backticks(strip_quotes(raw_key)).to_string();
    if !spec.check_key_before_unquote && entity == EntityKind::Attribute && !keys(&key) {
        return Err(invalid_attribute(&key));
    }
    if entity == EntityKind::Dataset && !DATASET_KEYS.contains(&key.as_str()) {
        return Err(invalid(format!(
            "Invalid dataset key '{key}' specified. Valid keys are '{DATASET_KEYS_REPR}'"
        )));
    }
    Ok((entity, key))
}

fn number(t: &Token) -> Option<RawValue> {
    match t.kind {
        Kind::Int => Some(RawValue::Num(t.text.parse().ok()?, true)),
        Kind::Float => Some(RawValue::Num(t.text.parse().ok()?, false)),
        _ => None,
    }
}

fn is_stringish(t: &Token) -> bool {
    matches!(t.kind, Kind::Str | Kind::Ident)
}

/// `_parse_list_from_sql_token` + `validate_list_supported`.
fn list_value(spec: &Spec, key: &str, t: &Token) -> SearchResult<RawValue> {
    if !spec.attribute(key).is_some_and(|a| a.list) {
        return Err(invalid(format!(
            "Only {} attributes support comparison with a list of quoted string values.",
            spec.list_keys_repr
        )));
    }
    Ok(RawValue::List(parse_string_list(&t.text)?))
}

/// `SearchUtils._get_value` (runs, experiments).
fn tracking_value(spec: &Spec, entity: EntityKind, key: &str, t: &Token) -> SearchResult<RawValue> {
    match entity {
        EntityKind::Metric => number(t).ok_or_else(|| {
            invalid(format!(
                "Expected numeric value type for metric. Found {}",
                t.text
            ))
        }),
        EntityKind::Param | EntityKind::Tag => {
            if is_stringish(t) {
                return Ok(RawValue::Str(expect_quoted(&t.text)?));
            }
            Err(invalid(format!(
                "Expected a quoted string value for {} (e.g. 'my-value'). Got value {}",
                type_name(entity),
                t.text
            )))
        }
        EntityKind::Attribute => {
            if spec.attribute(key).is_some_and(|a| a.numeric) {
                return number(t).ok_or_else(|| {
                    invalid(format!(
                        "Expected numeric value type for numeric attribute: {key}. Found {}",
                        t.text
                    ))
                });
            }
            if is_stringish(t) {
                return Ok(RawValue::Str(expect_quoted(&t.text)?));
            }
            if matches!(t.kind, Kind::Paren) {
                return list_value(spec, key, t);
            }
            Err(invalid(format!(
                "Expected a quoted string value for attributes. Got value {}",
                t.text
            )))
        }
        EntityKind::Dataset => {
            if is_stringish(t) {
                return Ok(RawValue::Str(expect_quoted(&t.text)?));
            }
            if matches!(t.kind, Kind::Paren) {
                return Ok(RawValue::List(parse_string_list(&t.text)?));
            }
            Err(invalid(format!(
                "Expected a quoted string value for dataset attributes. Got value {}",
                t.text
            )))
        }
    }
}

/// The registry's `_get_value` (registered models, model versions).
fn registry_value(spec: &Spec, entity: EntityKind, key: &str, t: &Token) -> SearchResult<RawValue> {
    if entity == EntityKind::Tag {
        if is_stringish(t) {
            return Ok(RawValue::Str(expect_quoted(&t.text)?));
        }
        return Err(invalid(format!(
            "Expected a quoted string value for tag (e.g. 'my-value'). Got value {}",
            t.text
        )));
    }
    if is_stringish(t) {
        return Ok(RawValue::Str(expect_quoted(&t.text)?));
    }
    if matches!(t.kind, Kind::Paren) {
        return list_value(spec, key, t);
    }
    if let (Some(repr), Some(value)) = (spec.numeric_keys_repr, number(t)) {
        if !spec.attribute(key).is_some_and(|a| a.numeric) {
            return Err(invalid(format!(
                "Only the '{repr}' attributes support comparison with numeric values."
            )));
        }
        return Ok(value);
    }
    Err(invalid(format!(
        "Expected a quoted string value or a list of quoted string values for attributes. Got value {}",
        t.text
    )))
}

/// `_get_comparison`: identifier, comparator and value of one comparison.
fn raw_clause(spec: &Spec, comparison: &Comparison<'_>) -> SearchResult<RawClause> {
    let keys = |k: &str| spec.attribute(k).is_some();
    match comparison {
        Comparison::Null { left, not } => {
            if spec.is_null == IsNull::Never {
                return Err(invalid(
                    "Invalid comparison clause. Expected 3 tokens found 2",
                ));
            }
            let (entity, key) =
                resolve_identifier(spec, &left.text, &keys, spec.attribute_keys_repr)?;
            let allowed = match spec.is_null {
                IsNull::TagsAndParams => matches!(entity, EntityKind::Tag | EntityKind::Param),
                IsNull::Tags => entity == EntityKind::Tag,
                IsNull::Never => false,
            };
            if !allowed {
                return Err(invalid(if spec.is_null == IsNull::Tags {
                    format!("IS NULL / IS NOT NULL is only supported for tags, not for attribute '{key}'")
                } else {
                    format!(
                        "IS NULL / IS NOT NULL is only supported for tags and params, not for '{}' '{key}'",
                        type_name(entity)
                    )
                }));
            }
            let op = if *not { "IS NOT NULL" } else { "IS NULL" };
            Ok(RawClause {
                entity,
                key,
                op: op.into(),
                value: RawValue::Null,
            })
        }
        Comparison::Binary { left, op, right } => {
            if left.kind != Kind::Ident {
                return Err(invalid(format!(
                    "Invalid comparison clause. Expected 'Identifier' found '{}'",
                    left.text
                )));
            }
            let (entity, key) =
                resolve_identifier(spec, &left.text, &keys, spec.attribute_keys_repr)?;
            let value = match spec.values {
                Values::Tracking => tracking_value(spec, entity, &key, right)?,
                Values::Registry => registry_value(spec, entity, &key, right)?,
            };
            let op = match spec.values {
                Values::Tracking => op.clone(),
                Values::Registry => op.to_uppercase(),
            };
            Ok(RawClause {
                entity,
                key,
                op,
                value,
            })
        }
    }
}

fn parse_with(spec: &Spec, filter: &str) -> SearchResult<Vec<Clause>> {
    if filter.is_empty() {
        return Ok(Vec::new());
    }
    let statement = single_statement(filter)?;
    let items = items(&statement);
    let invalid_tokens: Vec<String> = items
        .iter()
        .filter_map(|item| match item {
            Item::Invalid(t) if spec.quote_invalid_tokens => Some(format!("'{}'", t.text)),
            Item::Invalid(t) => Some(t.text.clone()),
            Item::Comparison(_) => None,
        })
        .collect();
    if !invalid_tokens.is_empty() {
        return Err(invalid(format!(
            "Invalid clause(s) in filter string: {}",
            invalid_tokens.join(", ")
        )));
    }
    let raw = items
        .iter()
        .filter_map(|item| match item {
            Item::Comparison(c) => Some(raw_clause(spec, c)),
            Item::Invalid(_) => None,
        })
        .collect::<SearchResult<Vec<_>>>()?;
    raw.into_iter().map(|r| (spec.check)(spec, r)).collect()
}

// ---------------------------------------------------------------------------
// the comparator check shared by every endpoint (the store phase)
// ---------------------------------------------------------------------------

fn comparator(op: &str) -> Option<Comparator> {
    Some(match op {
        "=" => Comparator::Eq,
        "!=" => Comparator::Ne,
        "<" => Comparator::Lt,
        "<=" => Comparator::Le,
        ">" => Comparator::Gt,
        ">=" => Comparator::Ge,
        "LIKE" => Comparator::Like,
        "ILIKE" => Comparator::ILike,
        "IN" => Comparator::In,
        "NOT IN" => Comparator::NotIn,
        "IS NULL" => Comparator::IsNull,
        "IS NOT NULL" => Comparator::IsNotNull,
        _ => return None,
    })
}

/// Builds the clause once the comparator is known to be allowed. Lists go
/// only with `IN`/`NOT IN` (MLflow would hand `= ('a', 'b')` to the
/// database).
fn finish(entity: EntityKind, key: String, op: &str, value: FilterValue) -> SearchResult<Clause> {
    let comparator = comparator(op).ok_or_else(|| invalid(format!("Invalid comparator '{op}'")))?;
    let is_list_op = matches!(comparator, Comparator::In | Comparator::NotIn);
    if is_list_op != matches!(value, FilterValue::List(_)) {
        return Err(invalid(format!(
            "Invalid comparator '{op}' for a {} value. Lists of values go with IN and NOT IN only.",
            if is_list_op { "single" } else { "list" }
        )));
    }
    Ok(Clause {
        entity,
        key,
        comparator,
        value,
    })
}

fn plain_value(value: RawValue) -> FilterValue {
    match value {
        RawValue::Str(s) => FilterValue::Str(s),
        RawValue::Num(n, _) => FilterValue::Num(n),
        RawValue::List(items) => FilterValue::List(items),
        RawValue::Null => FilterValue::None,
    }
}
