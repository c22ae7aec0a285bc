//! Filter strings of MLflow's search endpoints:
//! `metrics.acc > 0.9 AND tags.`mlflow.runName` LIKE 'x%'`.
//!
//! A filter is a conjunction of clauses joined by `AND` (no `OR`, no
//! parentheses). Each search endpoint has its own table ([`Spec`]): which
//! `<type>.` prefixes exist, which attributes (string or numeric, their
//! aliases, whether `IN` lists are allowed), whether `IS NULL` is allowed,
//! and how the comparators are checked. Parsing follows MLflow 3.17.2 in two
//! phases, as MLflow does: first every clause is parsed (`SearchUtils.
//! parse_search_filter` and its subclasses), then every comparator is
//! checked (the SQL store's filter builder). Errors carry MLflow's messages;
//! where MLflow prints a Python set, the order is fixed here (Python's
//! varies from process to process).
//!
//! Values are kept as MLflow keeps them: a quoted value loses its outer
//! quotes only (`'it''s'` → `it''s`), while `IN` lists are evaluated as
//! Python literals (`('it\'s')` → `it's`).

use super::lexer::{self, Kind, Token};
use super::{Clause, Comparator, EntityKind, FilterValue};
use crate::error::{ApiError, ApiResult};
use crate::pycompat as py;
use crate::pycompat::literal::{literal_eval, tuple_repr, Literal};

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::invalid_parameter(message)
}

// ---------------------------------------------------------------------------
// tables
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
type Check = fn(&Spec, RawClause) -> ApiResult<Clause>;

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

const METRIC_COMPARATORS: &[&str] = &[">", ">=", "!=", "=", "<", "<="];
const METRIC_COMPARATORS_REPR: &str = "{'>', '!=', '<=', '>=', '=', '<'}";
const KEY_VALUE_COMPARATORS: &[&str] = &["!=", "=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL"];
const KEY_VALUE_COMPARATORS_REPR: &str = "{'IS NULL', 'IS NOT NULL', '!=', 'LIKE', 'ILIKE', '='}";
const STRING_COMPARATORS: &[&str] = &["!=", "=", "LIKE", "ILIKE", "IN", "NOT IN"];
const STRING_COMPARATORS_REPR: &str = "{'NOT IN', '!=', 'LIKE', 'ILIKE', '=', 'IN'}";
const TAG_COMPARATORS: &[&str] = &["=", "!=", "LIKE", "ILIKE"];

/// `runs/search` (`SearchUtils`, `_get_sqlalchemy_filter_clauses`).
pub(super) static RUNS: Spec = Spec {
    prefixes: Prefixes::Tracking,
    attributes: &[
        attr("run_id", "run_id", false, true),
        attr("run_name", "run_name", false, false),
        attr("run name", "run_name", false, false),
        attr("Run name", "run_name", false, false),
        attr("Run Name", "run_name", false, false),
        attr("status", "status", false, false),
        attr("user_id", "user_id", false, false),
        attr("artifact_uri", "artifact_uri", false, false),
        attr("start_time", "start_time", true, false),
        attr("end_time", "end_time", true, false),
        attr("created", "start_time", true, false),
        attr("Created", "start_time", true, false),
    ],
    attribute_keys_repr: "{'run_id', 'created', 'artifact_uri', 'run_name', 'user_id', 'Run Name', 'Run name', 'end_time', 'run name', 'Created', 'status', 'start_time'}",
    list_keys_repr: "['run_id']",
    numeric_keys_repr: None,
    check_key_before_unquote: false,
    quote_invalid_tokens: true,
    is_null: IsNull::TagsAndParams,
    values: Values::Tracking,
    check: check_run_clause,
};

/// `experiments/search` (`SearchExperimentsUtils`,
/// `_get_search_experiments_filter_clauses`).
pub(super) static EXPERIMENTS: Spec = Spec {
    prefixes: Prefixes::Restricted,
    attributes: &[
        attr("name", "name", false, false),
        attr("experiment_id", "experiment_id", false, true),
        attr("creation_time", "creation_time", true, false),
        attr("last_update_time", "last_update_time", true, false),
    ],
    attribute_keys_repr: "{'last_update_time', 'creation_time', 'name', 'experiment_id'}",
    list_keys_repr: "['experiment_id']",
    numeric_keys_repr: None,
    check_key_before_unquote: false,
    quote_invalid_tokens: false,
    is_null: IsNull::Tags,
    values: Values::Tracking,
    check: check_experiment_clause,
};

/// `registered-models/search` (`SearchModelUtils`,
/// `_get_search_registered_model_filter_query`).
pub(super) static REGISTERED_MODELS: Spec = Spec {
    prefixes: Prefixes::Restricted,
    attributes: &[attr("name", "name", false, true)],
    attribute_keys_repr: "{'name'}",
    list_keys_repr: "['name']",
    numeric_keys_repr: None,
    check_key_before_unquote: true,
    quote_invalid_tokens: false,
    is_null: IsNull::Never,
    values: Values::Registry,
    check: check_registered_model_clause,
};

/// `model-versions/search` (`SearchModelVersionUtils`,
/// `_get_search_model_versions_filter_clauses`).
pub(super) static MODEL_VERSIONS: Spec = Spec {
    prefixes: Prefixes::Restricted,
    attributes: &[
        attr("name", "name", false, true),
        attr("version_number", "version_number", true, false),
        attr("run_id", "run_id", false, true),
        attr("source_path", "source_path", false, false),
    ],
    attribute_keys_repr: "{'version_number', 'source_path', 'name', 'run_id'}",
    list_keys_repr: "['name', 'run_id']",
    numeric_keys_repr: Some("{'version_number', 'creation_timestamp', 'last_updated_timestamp'}"),
    check_key_before_unquote: true,
    quote_invalid_tokens: false,
    is_null: IsNull::Never,
    values: Values::Registry,
    check: check_model_version_clause,
};

impl Spec {
    fn attribute(&self, key: &str) -> Option<&'static Attr> {
        self.attributes.iter().find(|a| a.name == key)
    }
}

// ---------------------------------------------------------------------------
// public entry points
// ---------------------------------------------------------------------------

/// Parses the `filter` of `runs/search`. Empty → no clauses.
pub fn parse_run_filter(filter: &str) -> ApiResult<Vec<Clause>> {
    parse_with(&RUNS, filter)
}

/// Parses the `filter` of `experiments/search`. Empty → no clauses.
/// `experiment_id` values are checked to be integers and normalized
/// (`' 12 '` → `12`).
pub fn parse_experiment_filter(filter: &str) -> ApiResult<Vec<Clause>> {
    parse_with(&EXPERIMENTS, filter)
}

/// Parses the `filter` of `registered-models/search`: `name` (`IN` allowed)
/// and `tags.<key>`.
pub fn parse_registered_model_filter(filter: &str) -> ApiResult<Vec<Clause>> {
    parse_with(&REGISTERED_MODELS, filter)
}

/// Parses the `filter` of `model-versions/search`: `name`, `run_id` (both
/// with `IN`), `source_path`, `version_number` (numeric) and `tags.<key>`.
pub fn parse_model_version_filter(filter: &str) -> ApiResult<Vec<Clause>> {
    parse_with(&MODEL_VERSIONS, filter)
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
fn single_statement(filter: &str) -> ApiResult<Vec<Token>> {
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

fn is_quoted(s: &str, quote: char) -> bool {
    s.chars().count() >= 2 && s.starts_with(quote) && s.ends_with(quote)
}

/// `s[1:-1]`.
fn trim_ends(s: &str) -> &str {
    let mut chars = s.chars();
    chars.next();
    chars.next_back();
    chars.as_str()
}

/// `_trim_backticks`.
fn trim_backticks(s: &str) -> &str {
    if is_quoted(s, '`') {
        trim_ends(s)
    } else {
        s
    }
}

/// `_strip_quotes(value)`: drops one pair of `'` or `"`.
fn strip_quotes(s: &str) -> &str {
    if is_quoted(s, '\'') || is_quoted(s, '"') {
        trim_ends(s)
    } else {
        s
    }
}

/// `_strip_quotes(value, expect_quoted_value=True)`.
fn expect_quoted(s: &str) -> ApiResult<String> {
    if is_quoted(s, '\'') || is_quoted(s, '"') {
        Ok(trim_ends(s).to_string())
    } else {
        Err(invalid(format!(
            "Parameter value is either not quoted or unidentified quote types used for string value {s}. Use either single or double quotes."
        )))
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
) -> ApiResult<(EntityKind, String)> {
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
fn list_value(spec: &Spec, key: &str, t: &Token) -> ApiResult<RawValue> {
    if !spec.attribute(key).is_some_and(|a| a.list) {
        return Err(invalid(format!(
            "Only {} attributes support comparison with a list of quoted string values.",
            spec.list_keys_repr
        )));
    }
    Ok(RawValue::List(parse_string_list(&t.text)?))
}

/// `SearchUtils._get_value` (runs, experiments).
fn tracking_value(spec: &Spec, entity: EntityKind, key: &str, t: &Token) -> ApiResult<RawValue> {
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
fn registry_value(spec: &Spec, entity: EntityKind, key: &str, t: &Token) -> ApiResult<RawValue> {
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
fn raw_clause(spec: &Spec, comparison: &Comparison<'_>) -> ApiResult<RawClause> {
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

fn parse_with(spec: &Spec, filter: &str) -> ApiResult<Vec<Clause>> {
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
        .collect::<ApiResult<Vec<_>>>()?;
    raw.into_iter().map(|r| (spec.check)(spec, r)).collect()
}

// ---------------------------------------------------------------------------
// comparator checks (the store phase)
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
fn finish(entity: EntityKind, key: String, op: &str, value: FilterValue) -> ApiResult<Clause> {
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

/// `_get_sqlalchemy_filter_clauses`: comparators are upper-cased, then
/// checked per entity type (MLflow's messages, including the ones missing
/// their closing quote).
fn check_run_clause(spec: &Spec, raw: RawClause) -> ApiResult<Clause> {
    let op = raw.op.to_uppercase();
    let reject = |set: &str, close: &str| {
        Err(invalid(format!(
            "Invalid comparator '{op}' not one of '{set}{close}"
        )))
    };
    let key = match raw.entity {
        EntityKind::Attribute => {
            let attr = spec.attribute(&raw.key);
            if attr.is_some_and(|a| a.numeric) {
                if !METRIC_COMPARATORS.contains(&op.as_str()) {
                    return reject(STRING_COMPARATORS_REPR, "");
                }
            } else if !STRING_COMPARATORS.contains(&op.as_str()) {
                return reject(STRING_COMPARATORS_REPR, "'");
            }
            attr.map_or(raw.key.clone(), |a| a.canonical.to_string())
        }
        EntityKind::Metric => {
            if !METRIC_COMPARATORS.contains(&op.as_str()) {
                return reject(METRIC_COMPARATORS_REPR, "");
            }
            raw.key
        }
        EntityKind::Param => {
            if !KEY_VALUE_COMPARATORS.contains(&op.as_str()) {
                return reject(KEY_VALUE_COMPARATORS_REPR, "'");
            }
            raw.key
        }
        EntityKind::Tag => {
            if !KEY_VALUE_COMPARATORS.contains(&op.as_str()) {
                return reject(KEY_VALUE_COMPARATORS_REPR, "");
            }
            raw.key
        }
        EntityKind::Dataset => {
            if !STRING_COMPARATORS.contains(&op.as_str()) {
                return reject(STRING_COMPARATORS_REPR, "");
            }
            raw.key
        }
    };
    finish(raw.entity, key, &op, plain_value(raw.value))
}

/// `_get_search_experiments_filter_clauses`: comparators are compared as
/// written (so `like` and `in` are rejected, as in MLflow).
fn check_experiment_clause(spec: &Spec, raw: RawClause) -> ApiResult<Clause> {
    let op = raw.op;
    match raw.entity {
        EntityKind::Attribute if raw.key == "experiment_id" => {
            if !["=", "!=", "IN", "NOT IN"].contains(&op.as_str()) {
                return Err(invalid(format!(
                    "Invalid comparator for experiment_id: {op}"
                )));
            }
            let id =
                |s: &str| crate::validation::validate_experiment_id_int(s).map(|n| n.to_string());
            let value = match raw.value {
                RawValue::Str(s) => FilterValue::Str(id(&s)?),
                RawValue::List(items) => {
                    FilterValue::List(items.iter().map(|s| id(s)).collect::<ApiResult<Vec<_>>>()?)
                }
                other => plain_value(other),
            };
            finish(EntityKind::Attribute, raw.key, &op, value)
        }
        EntityKind::Attribute => {
            let numeric = spec.attribute(&raw.key).is_some_and(|a| a.numeric);
            if numeric {
                if !METRIC_COMPARATORS.contains(&op.as_str()) {
                    return Err(invalid(format!(
                        "Invalid comparator '{op}' not one of '{STRING_COMPARATORS_REPR}"
                    )));
                }
                if let RawValue::Num(n, false) = raw.value {
                    return Err(invalid(format!(
                        "Invalid value for numeric attribute '{}': {}",
                        raw.key,
                        py::repr_str(&py::repr_float(n))
                    )));
                }
            } else {
                if !STRING_COMPARATORS.contains(&op.as_str()) {
                    return Err(invalid(format!(
                        "Invalid comparator '{op}' not one of '{STRING_COMPARATORS_REPR}'"
                    )));
                }
                if op == "IN" || op == "NOT IN" {
                    return Err(invalid(format!(
                        "Invalid comparator for string attribute: {op}"
                    )));
                }
            }
            finish(EntityKind::Attribute, raw.key, &op, plain_value(raw.value))
        }
        EntityKind::Tag => {
            if op != "IS NULL" && op != "IS NOT NULL" && !TAG_COMPARATORS.contains(&op.as_str()) {
                return Err(invalid(format!("Invalid comparator for tag: {op}")));
            }
            finish(EntityKind::Tag, raw.key, &op, plain_value(raw.value))
        }
        other => Err(invalid(format!("Invalid token type: {}", type_name(other)))),
    }
}

/// `_get_search_registered_model_filter_query`.
fn check_registered_model_clause(_spec: &Spec, raw: RawClause) -> ApiResult<Clause> {
    let op = raw.op;
    match raw.entity {
        EntityKind::Attribute => {
            if !STRING_COMPARATORS.contains(&op.as_str()) {
                return Err(invalid(format!("Invalid comparator for attribute: {op}")));
            }
            finish(EntityKind::Attribute, raw.key, &op, plain_value(raw.value))
        }
        EntityKind::Tag => {
            if !TAG_COMPARATORS.contains(&op.as_str()) {
                return Err(invalid(format!("Invalid comparator for tag: {op}")));
            }
            finish(EntityKind::Tag, raw.key, &op, plain_value(raw.value))
        }
        other => Err(invalid(format!(
            "Invalid search expression type '{}'",
            type_name(other)
        ))),
    }
}

/// `_get_search_model_versions_filter_clauses`.
fn check_model_version_clause(spec: &Spec, raw: RawClause) -> ApiResult<Clause> {
    let op = raw.op;
    match raw.entity {
        EntityKind::Attribute => {
            if spec.attribute(&raw.key).is_some_and(|a| a.numeric) {
                if !METRIC_COMPARATORS.contains(&op.as_str()) {
                    return Err(invalid(format!(
                        "Invalid comparator for attribute {}: {op}",
                        raw.key
                    )));
                }
                let bad = |shown: String| {
                    invalid(format!(
                        "Invalid value for numeric attribute '{}': {shown}",
                        raw.key
                    ))
                };
                let n = match &raw.value {
                    RawValue::Num(n, true) => *n,
                    RawValue::Num(n, false) => return Err(bad(py::repr_float(*n))),
                    RawValue::Str(s) => {
                        py::parse_int(s).ok_or_else(|| bad(py::repr_str(s)))? as f64
                    }
                    RawValue::List(items) => {
                        let inner: Vec<String> = items.iter().map(|s| py::repr_str(s)).collect();
                        return Err(bad(format!("({})", inner.join(", "))));
                    }
                    RawValue::Null => return Err(bad("None".into())),
                };
                return finish(EntityKind::Attribute, raw.key, &op, FilterValue::Num(n));
            }
            let list_op = op == "IN" || op == "NOT IN";
            if !STRING_COMPARATORS.contains(&op.as_str())
                || (list_op && !spec.attribute(&raw.key).is_some_and(|a| a.list))
            {
                return Err(invalid(format!("Invalid comparator for attribute: {op}")));
            }
            finish(EntityKind::Attribute, raw.key, &op, plain_value(raw.value))
        }
        EntityKind::Tag => {
            if !TAG_COMPARATORS.contains(&op.as_str()) {
                return Err(invalid(format!("Invalid comparator for tag: {op}")));
            }
            finish(EntityKind::Tag, raw.key, &op, plain_value(raw.value))
        }
        other => Err(invalid(format!(
            "Invalid search expression type '{}'",
            type_name(other)
        ))),
    }
}

// ---------------------------------------------------------------------------
// logged models
// ---------------------------------------------------------------------------

/// Attributes of `logged-models/search` (`SqlLoggedModel` columns and
/// `SqlLoggedModel.ALIASES`): filter name, canonical key, MLflow's key in
/// messages, numeric.
const LOGGED_MODEL_ATTRIBUTES: &[(&str, &str, &str, bool)] = &[
    ("name", "name", "name", false),
    ("model_id", "model_id", "model_id", false),
    ("model_type", "model_type", "model_type", false),
    ("status", "status", "status", false),
    ("source_run_id", "source_run_id", "source_run_id", false),
    (
        "creation_timestamp",
        "creation_timestamp",
        "creation_timestamp_ms",
        true,
    ),
    (
        "creation_time",
        "creation_timestamp",
        "creation_timestamp_ms",
        true,
    ),
    (
        "creation_timestamp_ms",
        "creation_timestamp",
        "creation_timestamp_ms",
        true,
    ),
    (
        "last_updated_timestamp",
        "last_updated_timestamp",
        "last_updated_timestamp_ms",
        true,
    ),
    (
        "last_updated_time",
        "last_updated_timestamp",
        "last_updated_timestamp_ms",
        true,
    ),
    (
        "last_updated_timestamp_ms",
        "last_updated_timestamp",
        "last_updated_timestamp_ms",
        true,
    ),
];

const LOGGED_MODEL_NUMERIC_OPS: &[&str] = &["<", "<=", ">", ">=", "=", "!="];
const LOGGED_MODEL_STRING_OPS: &[&str] = &["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"];

/// Parses the `filter` of `logged-models/search`
/// (`mlflow.utils.search_logged_model_utils.parse_filter_string`): prefixes
/// `attributes.`, `metrics.`, `params.`, `tags.` (exact, lower case); bare
/// names are attributes with the aliases `creation_time` →
/// `creation_timestamp`; keys lose surrounding backticks; metrics and the
/// timestamps take numbers (`< <= > >= = !=`), everything else strings
/// (`= != LIKE ILIKE IN NOT IN`). As in MLflow, a string value only loses
/// single quotes (`"x"` keeps its double quotes, `x` is accepted as is).
pub fn parse_logged_model_filter(filter: &str) -> ApiResult<Vec<Clause>> {
    if filter.is_empty() {
        return Ok(Vec::new());
    }
    let mut statements = lexer::statements(lexer::tokenize(filter));
    if statements.len() != 1 {
        return Err(invalid(format!(
            "Invalid filter string: {}. Expected a single SQL expression.",
            py::repr_str(filter)
        )));
    }
    let statement = statements.remove(0);
    let mut clauses: Vec<Clause> = Vec::new();
    let mut unknown: Option<String> = None;
    for item in items(&statement) {
        match item {
            Item::Invalid(_) => {
                return Err(invalid(format!(
                    "Invalid filter string: {}. Expected a list of comparisons separated by 'AND' (e.g. 'metrics.loss > 0.1 AND params.lr = 0.01').",
                    py::repr_str(filter)
                )))
            }
            Item::Comparison(Comparison::Null { left, not }) => {
                return Err(invalid(format!(
                    "Invalid comparison: {}{}. Expected a comparison with 3 tokens.",
                    left.text,
                    if not { "IS NOT NULL" } else { "IS NULL" }
                )))
            }
            Item::Comparison(Comparison::Binary { left, op, right }) => {
                let (clause, known) = logged_model_clause(&left.text, &op.to_uppercase(), &right.text)?;
                if !known && unknown.is_none() {
                    unknown = Some(clause.key.clone());
                }
                clauses.push(clause);
            }
        }
    }
    // MLflow only notices an unknown attribute when it builds the SQL
    // (`getattr(SqlLoggedModel, key)`), after the whole filter is parsed.
    if let Some(key) = unknown {
        return Err(invalid(format!("Invalid logged model search key '{key}'")));
    }
    Ok(clauses)
}

/// `Entity.from_str` + `validate_op` + the value conversion.
fn logged_model_clause(identifier: &str, op: &str, value: &str) -> ApiResult<(Clause, bool)> {
    // Entity.IDENTIFIER_RE = ^([a-z]+)\.(.+)$
    let prefixed = identifier.split_once('.').filter(|(p, rest)| {
        !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()) && !rest.is_empty()
    });
    let (entity, type_value, key, message_key, numeric, known) = match prefixed {
        Some((prefix, rest)) => {
            let entity = match prefix {
                "attributes" => EntityKind::Attribute,
                "metrics" => EntityKind::Metric,
                "params" => EntityKind::Param,
                "tags" => EntityKind::Tag,
                _ => {
                    return Err(invalid(format!(
                        "Invalid entity type: {}. Expected one of ['attributes', 'metrics', 'params', 'tags'].",
                        py::repr_str(prefix)
                    )))
                }
            };
            let key = rest.trim_matches('`').to_string();
            let (canonical, numeric, known) = match entity {
                EntityKind::Attribute => match logged_model_attribute(&key) {
                    Some((_, canonical, _, numeric)) => (canonical.to_string(), *numeric, true),
                    None => (key.clone(), false, false),
                },
                EntityKind::Metric => (key.clone(), true, true),
                _ => (key.clone(), false, true),
            };
            (entity, prefix, canonical, key, numeric, known)
        }
        None => {
            let bare = identifier.trim_matches('`');
            let (canonical, message_key, numeric, known) = match logged_model_attribute(bare) {
                Some((_, canonical, mlflow_key, numeric)) => {
                    let shown = if identifier == bare {
                        *mlflow_key
                    } else {
                        bare
                    };
                    (*canonical, shown, *numeric, true)
                }
                None => (bare, bare, false, false),
            };
            (
                EntityKind::Attribute,
                "attributes",
                canonical.to_string(),
                message_key.to_string(),
                numeric,
                known,
            )
        }
    };
    let ops = if numeric {
        LOGGED_MODEL_NUMERIC_OPS
    } else {
        LOGGED_MODEL_STRING_OPS
    };
    if !ops.contains(&op) {
        let shown: Vec<String> = ops.iter().map(|o| py::repr_str(o)).collect();
        return Err(invalid(format!(
            "Invalid comparison operator for {type_value}.{message_key}: {}. Expected one of ({}).",
            py::repr_str(op),
            shown.join(", ")
        )));
    }
    let value = if numeric {
        FilterValue::Num(python_float(value).ok_or_else(|| {
            invalid(format!(
                "could not convert string to float: {}",
                py::repr_str(value)
            ))
        })?)
    } else if value.starts_with('(') && value.ends_with(')') {
        FilterValue::List(parse_string_list(value)?)
    } else {
        FilterValue::Str(value.trim_matches('\'').to_string())
    };
    Ok((finish(entity, key, op, value)?, known))
}

fn logged_model_attribute(
    key: &str,
) -> Option<&'static (&'static str, &'static str, &'static str, bool)> {
    LOGGED_MODEL_ATTRIBUTES
        .iter()
        .find(|(name, ..)| *name == key)
}

/// Python's `float(s)` for a token's text.
fn python_float(s: &str) -> Option<f64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if matches!(unsigned, "inf" | "infinity" | "nan") {
        let negative = lower.starts_with('-');
        let v = if unsigned == "nan" {
            f64::NAN
        } else {
            f64::INFINITY
        };
        return Some(if negative { -v } else { v });
    }
    if t.contains("__") || t.starts_with('_') || t.ends_with('_') {
        return None;
    }
    t.replace('_', "").parse().ok()
}

// ---------------------------------------------------------------------------
// Python literal lists: `('a', "b")`
// ---------------------------------------------------------------------------

const ILL_FORMED_LIST: &str = "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.";

/// `ast.literal_eval` of a parenthesised list, then MLflow's
/// `_check_valid_identifier_list`: a non-empty tuple of strings (a single
/// string counts as a one-element tuple).
pub(super) fn parse_string_list(text: &str) -> ApiResult<Vec<String>> {
    let value = literal_eval(text).ok_or_else(|| invalid(ILL_FORMED_LIST))?;
    let items = match value {
        Literal::Tuple(items) => items,
        single => vec![single],
    };
    if items.is_empty() {
        return Err(invalid(
            "While parsing a list in the query, expected a non-empty list of string values, but got empty list",
        ));
    }
    let mut strings = Vec::with_capacity(items.len());
    for item in &items {
        match item {
            Literal::Str(s) => strings.push(s.clone()),
            _ => {
                return Err(invalid(format!(
                    "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: {}",
                    tuple_repr(&items)
                )))
            }
        }
    }
    Ok(strings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(entity: EntityKind, key: &str, comparator: Comparator, value: FilterValue) -> Clause {
        Clause {
            entity,
            key: key.into(),
            comparator,
            value,
        }
    }

    fn s(v: &str) -> FilterValue {
        FilterValue::Str(v.into())
    }

    fn n(v: f64) -> FilterValue {
        FilterValue::Num(v)
    }

    fn list(items: &[&str]) -> FilterValue {
        FilterValue::List(items.iter().map(|s| s.to_string()).collect())
    }

    fn run_one(filter: &str) -> Clause {
        let mut clauses = parse_run_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        assert_eq!(clauses.len(), 1, "{filter}");
        clauses.remove(0)
    }

    fn err(r: ApiResult<Vec<Clause>>) -> String {
        let e = r.expect_err("expected an error");
        assert_eq!(e.code, crate::error::ErrorCode::InvalidParameterValue);
        e.message
    }

    use Comparator::*;
    use EntityKind::{Attribute, Dataset, Metric, Param, Tag};

    #[test]
    fn empty_filter() {
        assert_eq!(parse_run_filter(""), Ok(vec![]));
        assert_eq!(parse_experiment_filter(""), Ok(vec![]));
        assert_eq!(parse_run_filter("AND"), Ok(vec![]));
    }

    #[test]
    fn whitespace_filter_is_rejected_like_mlflow() {
        assert_eq!(
            err(parse_run_filter("  ")),
            "Invalid filter '  '. Could not be parsed."
        );
    }

    #[test]
    fn metric_comparators() {
        for (op, c) in [
            ("=", Eq),
            ("!=", Ne),
            ("<", Lt),
            ("<=", Le),
            (">", Gt),
            (">=", Ge),
        ] {
            assert_eq!(
                run_one(&format!("metrics.acc {op} 0.9")),
                clause(Metric, "acc", c, n(0.9))
            );
        }
    }

    #[test]
    fn numbers() {
        for (text, v) in [
            ("1", 1.0),
            ("-1", -1.0),
            ("1.5", 1.5),
            ("-1.5e3", -1500.0),
            ("1e3", 1000.0),
            ("1e-3", 0.001),
            (".5", 0.5),
            ("1.", 1.0),
        ] {
            assert_eq!(
                run_one(&format!("metrics.m > {text}")).value,
                n(v),
                "{text}"
            );
        }
        assert_eq!(run_one("metrics.a>=-1"), clause(Metric, "a", Ge, n(-1.0)));
        assert_eq!(run_one("metrics.a>1"), clause(Metric, "a", Gt, n(1.0)));
    }

    #[test]
    fn metric_value_errors() {
        assert_eq!(
            err(parse_run_filter("metrics.a > 'a'")),
            "Expected numeric value type for metric. Found 'a'"
        );
        assert_eq!(
            err(parse_run_filter("metrics.a > x")),
            "Expected numeric value type for metric. Found x"
        );
        assert_eq!(
            err(parse_run_filter("metrics.a > \"x\"")),
            "Expected numeric value type for metric. Found \"x\""
        );
        assert_eq!(
            err(parse_run_filter("metrics.a = NULL")),
            "Expected numeric value type for metric. Found NULL"
        );
        assert_eq!(
            err(parse_run_filter("metrics.a IN (1)")),
            "Expected numeric value type for metric. Found (1)"
        );
        assert_eq!(
            err(parse_run_filter("metrics.a > 1e")),
            "Expected numeric value type for metric. Found 1e"
        );
    }

    #[test]
    fn metric_comparator_errors() {
        for op in [">>>", "<>", "==", "LIKE", "~"] {
            assert_eq!(
                err(parse_run_filter(&format!("metrics.acc {op} 1"))),
                format!(
                    "Invalid comparator '{op}' not one of '{{'>', '!=', '<=', '>=', '=', '<'}}"
                )
            );
        }
    }

    #[test]
    fn params_and_tags() {
        assert_eq!(
            run_one("params.lr = '0.01'"),
            clause(Param, "lr", Eq, s("0.01"))
        );
        assert_eq!(
            run_one("params.lr != \"0.01\""),
            clause(Param, "lr", Ne, s("0.01"))
        );
        assert_eq!(
            run_one("params.opt LIKE 'ad%'"),
            clause(Param, "opt", Like, s("ad%"))
        );
        assert_eq!(
            run_one("params.opt like 'ad%'"),
            clause(Param, "opt", Like, s("ad%"))
        );
        assert_eq!(
            run_one("tags.t ILIKE 'ML%'"),
            clause(Tag, "t", ILike, s("ML%"))
        );
        assert_eq!(
            run_one("tags.t ilike 'ML%'"),
            clause(Tag, "t", ILike, s("ML%"))
        );
        assert_eq!(
            run_one("params.missing IS NULL"),
            clause(Param, "missing", IsNull, FilterValue::None)
        );
        assert_eq!(
            run_one("tags.a is not null"),
            clause(Tag, "a", IsNotNull, FilterValue::None)
        );
        assert_eq!(
            run_one("tags.a IS  NOT   NULL"),
            clause(Tag, "a", IsNotNull, FilterValue::None)
        );
        assert_eq!(run_one("tags.a = ''"), clause(Tag, "a", Eq, s("")));
        assert_eq!(run_one("tags.a = 'a b'"), clause(Tag, "a", Eq, s("a b")));
    }

    #[test]
    fn quoted_values_keep_their_escapes() {
        assert_eq!(run_one("params.a = 'it''s'").value, s("it''s"));
        assert_eq!(run_one(r"params.a = 'it\'s'").value, s(r"it\'s"));
        assert_eq!(run_one(r#"params.a = "a\"b""#).value, s(r#"a\"b"#));
        assert_eq!(run_one(r#"tags.a = "it's""#).value, s("it's"));
        assert_eq!(run_one(r#"tags.a LIKE "%x%""#).value, s("%x%"));
    }

    #[test]
    fn param_and_tag_value_errors() {
        assert_eq!(
            err(parse_run_filter("params.lr = 0.01")),
            "Expected a quoted string value for parameter (e.g. 'my-value'). Got value 0.01"
        );
        assert_eq!(
            err(parse_run_filter("tags.a = 1")),
            "Expected a quoted string value for tag (e.g. 'my-value'). Got value 1"
        );
        assert_eq!(
            err(parse_run_filter("params.a = x")),
            "Parameter value is either not quoted or unidentified quote types used for string value x. Use either single or double quotes."
        );
        assert_eq!(
            err(parse_run_filter("tags.`a b` = `x`")),
            "Parameter value is either not quoted or unidentified quote types used for string value `x`. Use either single or double quotes."
        );
        assert_eq!(
            err(parse_run_filter("tags.a IN ('x')")),
            "Expected a quoted string value for tag (e.g. 'my-value'). Got value ('x')"
        );
    }

    #[test]
    fn param_and_tag_comparator_errors() {
        assert_eq!(
            err(parse_run_filter("params.a > 'x'")),
            "Invalid comparator '>' not one of '{'IS NULL', 'IS NOT NULL', '!=', 'LIKE', 'ILIKE', '='}'"
        );
        assert_eq!(
            err(parse_run_filter("tags.a < 'x'")),
            "Invalid comparator '<' not one of '{'IS NULL', 'IS NOT NULL', '!=', 'LIKE', 'ILIKE', '='}"
        );
        assert_eq!(
            err(parse_run_filter("tags.a NOT LIKE 'x'")),
            "Invalid comparator 'NOT LIKE' not one of '{'IS NULL', 'IS NOT NULL', '!=', 'LIKE', 'ILIKE', '='}"
        );
        assert_eq!(
            err(parse_run_filter("tags.a RLIKE 'x'")),
            "Invalid comparator 'RLIKE' not one of '{'IS NULL', 'IS NOT NULL', '!=', 'LIKE', 'ILIKE', '='}"
        );
    }

    #[test]
    fn type_prefix_aliases() {
        for p in ["metric", "metrics", "`metrics`"] {
            assert_eq!(run_one(&format!("{p}.a > 1")).entity, Metric, "{p}");
        }
        for p in ["param", "params", "parameter", "parameters"] {
            assert_eq!(run_one(&format!("{p}.a = 'x'")).entity, Param, "{p}");
        }
        for p in ["tag", "tags"] {
            assert_eq!(run_one(&format!("{p}.a = 'x'")).entity, Tag, "{p}");
        }
        for p in ["attribute", "attributes", "attr", "run"] {
            assert_eq!(
                run_one(&format!("{p}.status = 'x'")),
                clause(Attribute, "status", Eq, s("x")),
                "{p}"
            );
        }
        for p in ["dataset", "datasets"] {
            assert_eq!(
                run_one(&format!("{p}.name = 'x'")),
                clause(Dataset, "name", Eq, s("x")),
                "{p}"
            );
        }
        for bad in ["xx", "TAGS", "Tags", "\"tags\""] {
            assert_eq!(
                err(parse_run_filter(&format!("{bad}.a = 'x'"))),
                format!("Invalid entity type '{bad}'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']")
            );
        }
        assert_eq!(
            err(parse_run_filter("`tags.a` = 'x'")),
            "Invalid entity type '`tags'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']"
        );
    }

    #[test]
    fn quoted_keys() {
        assert_eq!(
            run_one("tags.`mlflow.runName` LIKE 'x%'"),
            clause(Tag, "mlflow.runName", Like, s("x%"))
        );
        assert_eq!(
            run_one("tags.\"mlflow.note\" = 'x'"),
            clause(Tag, "mlflow.note", Eq, s("x"))
        );
        assert_eq!(
            run_one("tags.'val loss' = 'x'"),
            clause(Tag, "val loss", Eq, s("x"))
        );
        assert_eq!(
            run_one("metrics.\"val loss\" > 1"),
            clause(Metric, "val loss", Gt, n(1.0))
        );
        assert_eq!(run_one("metrics.`a-b` > 1").key, "a-b");
        assert_eq!(run_one("metrics.`a``b` > 1").key, "a``b");
        assert_eq!(run_one("tags.a.b = 'x'").key, "a.b");
        assert_eq!(run_one("tags.`a.b`.c = 'x'").key, "`a.b`.c");
        assert_eq!(run_one("tags.ä = 'x'").key, "ä");
        assert_eq!(run_one("metrics.1a > 1").key, "1a");
        assert_eq!(run_one("metrics.select > 1").key, "select");
    }

    #[test]
    fn run_attributes() {
        assert_eq!(
            run_one("attributes.status = 'FINISHED'"),
            clause(Attribute, "status", Eq, s("FINISHED"))
        );
        assert_eq!(
            run_one("status='x'"),
            clause(Attribute, "status", Eq, s("x"))
        );
        assert_eq!(
            run_one("user_id LIKE 'u%'"),
            clause(Attribute, "user_id", Like, s("u%"))
        );
        assert_eq!(
            run_one("artifact_uri ILIKE '%s3%'"),
            clause(Attribute, "artifact_uri", ILike, s("%s3%"))
        );
        assert_eq!(
            run_one("run_id = \"abc\""),
            clause(Attribute, "run_id", Eq, s("abc"))
        );
        assert_eq!(
            run_one("run_name != 'x'"),
            clause(Attribute, "run_name", Ne, s("x"))
        );
        assert_eq!(
            run_one("start_time >= 1700000000000"),
            clause(Attribute, "start_time", Ge, n(1.7e12))
        );
        assert_eq!(
            run_one("end_time < 1.5"),
            clause(Attribute, "end_time", Lt, n(1.5))
        );
        assert_eq!(
            run_one("start_time = -5"),
            clause(Attribute, "start_time", Eq, n(-5.0))
        );
    }

    #[test]
    fn run_attribute_aliases() {
        assert_eq!(
            run_one("created > 5"),
            clause(Attribute, "start_time", Gt, n(5.0))
        );
        assert_eq!(
            run_one("Created > 5"),
            clause(Attribute, "start_time", Gt, n(5.0))
        );
        assert_eq!(run_one("attributes.created <= 5").key, "start_time");
        for q in [
            "`Run name`",
            "\"Run Name\"",
            "`run name`",
            "attributes.`Run Name`",
        ] {
            assert_eq!(
                run_one(&format!("{q} = 'x'")),
                clause(Attribute, "run_name", Eq, s("x")),
                "{q}"
            );
        }
    }

    #[test]
    fn run_attribute_errors() {
        let keys = "{'run_id', 'created', 'artifact_uri', 'run_name', 'user_id', 'Run Name', 'Run name', 'end_time', 'run name', 'Created', 'status', 'start_time'}";
        assert_eq!(
            err(parse_run_filter("foo = 'x'")),
            format!("Invalid attribute key 'foo' specified. Valid keys are '{keys}'")
        );
        assert_eq!(
            err(parse_run_filter("attributes.lifecycle_stage = 'x'")),
            format!("Invalid attribute key 'lifecycle_stage' specified. Valid keys are '{keys}'")
        );
        assert_eq!(
            err(parse_run_filter("start_time > 'x'")),
            "Expected numeric value type for numeric attribute: start_time. Found 'x'"
        );
        assert_eq!(
            err(parse_run_filter("created > 'x'")),
            "Expected numeric value type for numeric attribute: created. Found 'x'"
        );
        assert_eq!(
            err(parse_run_filter("end_time IN (1,2)")),
            "Expected numeric value type for numeric attribute: end_time. Found (1,2)"
        );
        assert_eq!(
            err(parse_run_filter("status = 1")),
            "Expected a quoted string value for attributes. Got value 1"
        );
        assert_eq!(
            err(parse_run_filter("status < 'x'")),
            "Invalid comparator '<' not one of '{'NOT IN', '!=', 'LIKE', 'ILIKE', '=', 'IN'}'"
        );
        assert_eq!(
            err(parse_run_filter("start_time LIKE 5")),
            "Invalid comparator 'LIKE' not one of '{'NOT IN', '!=', 'LIKE', 'ILIKE', '=', 'IN'}"
        );
        assert_eq!(
            err(parse_run_filter("run name = 'x'")),
            "Invalid clause(s) in filter string: 'run'"
        );
    }

    #[test]
    fn in_lists() {
        assert_eq!(
            run_one("attributes.run_id IN ('a','b')"),
            clause(Attribute, "run_id", In, list(&["a", "b"]))
        );
        assert_eq!(
            run_one("attributes.run_id NOT IN ('a', \"b\")"),
            clause(Attribute, "run_id", NotIn, list(&["a", "b"]))
        );
        assert_eq!(
            run_one("run_id in ('a')"),
            clause(Attribute, "run_id", In, list(&["a"]))
        );
        assert_eq!(
            run_one("run_id not in ('a')"),
            clause(Attribute, "run_id", NotIn, list(&["a"]))
        );
        assert_eq!(run_one("run_id NOT  IN  ('a')").comparator, NotIn);
        assert_eq!(run_one("run_id IN('a')").value, list(&["a"]));
        assert_eq!(run_one("run_id IN ( 'a' , 'b' )").value, list(&["a", "b"]));
        assert_eq!(run_one("run_id IN ('a',)").value, list(&["a"]));
        assert_eq!(run_one("run_id IN ('a', 'b',)").value, list(&["a", "b"]));
        assert_eq!(run_one("run_id IN (('a'))").value, list(&["a"]));
        // Python literals: escapes are applied, adjacent strings concatenate
        assert_eq!(run_one(r"run_id IN ('a\'b')").value, list(&["a'b"]));
        assert_eq!(run_one("run_id IN ('a''b')").value, list(&["ab"]));
        assert_eq!(run_one("run_id IN ('a' 'b')").value, list(&["ab"]));
        assert_eq!(
            run_one(r"run_id IN ('\x41\u00e9\n')").value,
            list(&["A\u{e9}\n"])
        );
        assert_eq!(
            run_one("datasets.digest IN ('x')"),
            clause(Dataset, "digest", In, list(&["x"]))
        );
        assert_eq!(
            run_one("dataset.context not in ('train')").comparator,
            NotIn
        );
    }

    #[test]
    fn in_list_errors() {
        assert_eq!(
            err(parse_run_filter("attributes.status IN ('RUNNING')")),
            "Only ['run_id'] attributes support comparison with a list of quoted string values."
        );
        assert_eq!(
            err(parse_run_filter("run_id in ()")),
            "While parsing a list in the query, expected a non-empty list of string values, but got empty list"
        );
        assert_eq!(
            err(parse_run_filter("run_id in (1,2)")),
            "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: (1, 2)"
        );
        assert_eq!(
            err(parse_run_filter("run_id IN ('a', 1)")),
            "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: ('a', 1)"
        );
        for bad in [
            "run_id IN (`a`)",
            "run_id IN (a)",
            "run_id IN ('a' AND 'b')",
        ] {
            assert_eq!(
                err(parse_run_filter(bad)),
                "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list.",
                "{bad}"
            );
        }
        assert_eq!(
            err(parse_run_filter("run_id IN 'a'")),
            "Invalid clause(s) in filter string: 'run_id', 'IN', ''a''"
        );
        assert!(err(parse_run_filter("run_id = ('a','b')"))
            .starts_with("Invalid comparator '=' for a list value"));
    }

    #[test]
    fn is_null_errors() {
        assert_eq!(
            err(parse_run_filter("metrics.a IS NULL")),
            "IS NULL / IS NOT NULL is only supported for tags and params, not for 'metric' 'a'"
        );
        assert_eq!(
            err(parse_run_filter("tags.a = 'x' AND status IS NOT NULL")),
            "IS NULL / IS NOT NULL is only supported for tags and params, not for 'attribute' 'status'"
        );
        assert_eq!(
            err(parse_run_filter("tags.a IS 'x'")),
            "Invalid clause(s) in filter string: 'tags.a', 'IS', ''x''"
        );
        assert_eq!(
            err(parse_run_filter("tags.a IS NOT 'x'")),
            "Invalid clause(s) in filter string: 'tags.a', 'IS', 'NOT', ''x''"
        );
    }

    #[test]
    fn datasets() {
        assert_eq!(
            run_one("datasets.name = 'x'"),
            clause(Dataset, "name", Eq, s("x"))
        );
        assert_eq!(
            run_one("datasets.context LIKE 'tr%'"),
            clause(Dataset, "context", Like, s("tr%"))
        );
        assert_eq!(
            err(parse_run_filter("datasets.foo = 'x'")),
            "Invalid dataset key 'foo' specified. Valid keys are '{'digest', 'name', 'context'}'"
        );
        assert_eq!(
            err(parse_run_filter("datasets.name = 1")),
            "Expected a quoted string value for dataset attributes. Got value 1"
        );
        assert_eq!(
            err(parse_run_filter("datasets.name < 'x'")),
            "Invalid comparator '<' not one of '{'NOT IN', '!=', 'LIKE', 'ILIKE', '=', 'IN'}"
        );
    }

    #[test]
    fn conjunctions() {
        let clauses = parse_run_filter(
            "metric.a >= 1 AND param.b != 'x' and tag.c ILIKE 'y' AND attr.status = 'FINISHED' AND run.user_id LIKE 'u'",
        );
        assert_eq!(
            clauses,
            Ok(vec![
                clause(Metric, "a", Ge, n(1.0)),
                clause(Param, "b", Ne, s("x")),
                clause(Tag, "c", ILike, s("y")),
                clause(Attribute, "status", Eq, s("FINISHED")),
                clause(Attribute, "user_id", Like, s("u")),
            ])
        );
        assert_eq!(
            parse_run_filter("tags.a = 'x'\tAND tags.b = 'y'  AND  tags.c = 'z'").map(|c| c.len()),
            Ok(3)
        );
        assert_eq!(
            parse_run_filter("metrics.a > 1 AND metrics.a < 5").map(|c| c.len()),
            Ok(2)
        );
        assert_eq!(
            parse_run_filter("tags.a = 'x'AND tags.b = 'y'").map(|c| c.len()),
            Ok(2)
        );
        // MLflow tolerates these too
        assert_eq!(
            parse_run_filter("metrics.a > 1 AND").map(|c| c.len()),
            Ok(1)
        );
        assert_eq!(
            parse_run_filter("AND metrics.a > 1").map(|c| c.len()),
            Ok(1)
        );
        assert_eq!(
            parse_run_filter("metrics.a > 1 AND AND metrics.b > 1").map(|c| c.len()),
            Ok(2)
        );
    }

    #[test]
    fn invalid_clauses() {
        for (filter, message) in [
            (
                "metrics.a > 1 OR metrics.b > 1",
                "Invalid clause(s) in filter string: 'OR'",
            ),
            (
                "metrics.a = 1 or metrics.b = 2",
                "Invalid clause(s) in filter string: 'or'",
            ),
            (
                "tags.a = 'x' AND NOT tags.b = 'y'",
                "Invalid clause(s) in filter string: 'NOT'",
            ),
            ("metrics.a > 1;", "Invalid clause(s) in filter string: ';'"),
            (
                "metrics.a > 1;  ",
                "Invalid clause(s) in filter string: ';'",
            ),
            (
                "(metrics.a > 1)",
                "Invalid clause(s) in filter string: '(metrics.a > 1)'",
            ),
            (
                "metrics.a",
                "Invalid clause(s) in filter string: 'metrics.a'",
            ),
            (
                "metrics.a >",
                "Invalid clause(s) in filter string: 'metrics.a', '>'",
            ),
            (
                "metrics.a 1",
                "Invalid clause(s) in filter string: 'metrics.a', '1'",
            ),
            (
                "metrics.a > 1 AND metrics.b",
                "Invalid clause(s) in filter string: 'metrics.b'",
            ),
            (
                "metrics.a > +1",
                "Invalid clause(s) in filter string: 'metrics.a', '>', '+', '1'",
            ),
            (
                "metrics.a > - 1",
                "Invalid clause(s) in filter string: 'metrics.a', '>', '-', '1'",
            ),
            (
                "metrics.a > 0x10",
                "Invalid clause(s) in filter string: 'metrics.a', '>', '0x10'",
            ),
            (
                "metrics.a > 1.5.5",
                "Invalid clause(s) in filter string: '.5'",
            ),
            (
                "tags.a = 'x' -- comment",
                "Invalid clause(s) in filter string: '-- comment'",
            ),
            (
                "tags.a = 'x' /* c */",
                "Invalid clause(s) in filter string: '/* c */'",
            ),
            ("tags.a = 'x''", "Invalid clause(s) in filter string: '''"),
            (
                "tags.a = 'x",
                "Invalid clause(s) in filter string: 'tags.a', '=', ''', 'x'",
            ),
            (
                "tags.a = true",
                "Invalid clause(s) in filter string: 'tags.a', '=', 'true'",
            ),
            (
                "select = 'x'",
                "Invalid clause(s) in filter string: 'select', '=', ''x''",
            ),
        ] {
            assert_eq!(err(parse_run_filter(filter)), message, "{filter}");
        }
        assert_eq!(
            err(parse_run_filter("metrics.a > 1; metrics.b > 2")),
            "Search filter contained multiple expression 'metrics.a > 1; metrics.b > 2'. Provide AND-ed expression list."
        );
        assert_eq!(
            err(parse_run_filter("'a' = 'b'")),
            "Invalid comparison clause. Expected 'Identifier' found ''a''"
        );
    }

    #[test]
    fn parse_errors_come_before_comparator_errors() {
        // MLflow parses every clause before checking comparators
        assert_eq!(
            err(parse_run_filter(
                "metrics.a > 1 AND status < 'x' AND params.b > 1"
            )),
            "Expected a quoted string value for parameter (e.g. 'my-value'). Got value 1"
        );
    }

    #[test]
    fn client_filters_from_captures() {
        assert_eq!(
            parse_run_filter("tags.`mlflow.prompt.is_prompt` = 'true' AND tags.`mlflow.prompt.run_ids` ILIKE \"%abc%\""),
            Ok(vec![
                clause(Tag, "mlflow.prompt.is_prompt", Eq, s("true")),
                clause(Tag, "mlflow.prompt.run_ids", ILike, s("%abc%")),
            ])
        );
        assert_eq!(
            run_one("run_id='abc'"),
            clause(Attribute, "run_id", Eq, s("abc"))
        );
        assert_eq!(
            parse_experiment_filter("tags.`mlflow.experiment.isGateway` IS NULL"),
            Ok(vec![clause(
                Tag,
                "mlflow.experiment.isGateway",
                IsNull,
                FilterValue::None
            )])
        );
        assert_eq!(
            parse_registered_model_filter("name = 'x' AND tag.`mlflow.prompt.is_prompt` != 'true'"),
            Ok(vec![
                clause(Attribute, "name", Eq, s("x")),
                clause(Tag, "mlflow.prompt.is_prompt", Ne, s("true")),
            ])
        );
        assert_eq!(
            parse_registered_model_filter("name='x'"),
            Ok(vec![clause(Attribute, "name", Eq, s("x"))])
        );
        assert_eq!(
            parse_logged_model_filter("attributes.model_id IN ('m-1')"),
            Ok(vec![clause(Attribute, "model_id", In, list(&["m-1"]))])
        );
        assert_eq!(
            parse_logged_model_filter("name = 'cfg'"),
            Ok(vec![clause(Attribute, "name", Eq, s("cfg"))])
        );
        assert_eq!(
            parse_model_version_filter("run_id = 'abc'"),
            Ok(vec![clause(Attribute, "run_id", Eq, s("abc"))])
        );
    }

    #[test]
    fn compat_test_filters() {
        for f in [
            "metrics.val_accuracy > 0.5",
            "metrics.val_accuracy <= 0.65",
            "metrics.train_loss < 0.3 and metrics.val_accuracy >= 0.8",
            "params.lr = '0.01'",
            "params.lr != '0.01'",
            "tags.model_type = 'mlp' AND metrics.val_accuracy > 0.7",
            "attributes.run_name LIKE 'mlp-%'",
            "attributes.run_name ILIKE 'linear%'",
            "params.missing IS NULL",
            "metrics.final_f1 > 0",
            "metrics.acc > 0.2 and params.bs != '16'",
        ] {
            assert!(parse_run_filter(f).is_ok(), "{f}");
        }
    }

    // -- experiments --

    fn exp_one(filter: &str) -> Clause {
        let mut clauses =
            parse_experiment_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        assert_eq!(clauses.len(), 1, "{filter}");
        clauses.remove(0)
    }

    #[test]
    fn experiment_filters() {
        assert_eq!(exp_one("name = 'x'"), clause(Attribute, "name", Eq, s("x")));
        assert_eq!(
            exp_one("name LIKE 'x%'"),
            clause(Attribute, "name", Like, s("x%"))
        );
        assert_eq!(
            exp_one("attribute.name ILIKE 'x%'"),
            clause(Attribute, "name", ILike, s("x%"))
        );
        assert_eq!(
            exp_one("name != \"x\""),
            clause(Attribute, "name", Ne, s("x"))
        );
        assert_eq!(
            exp_one("experiment_id = '12'"),
            clause(Attribute, "experiment_id", Eq, s("12"))
        );
        assert_eq!(exp_one("experiment_id = ' 12 '").value, s("12"));
        assert_eq!(
            exp_one("experiment_id IN ('1','2')"),
            clause(Attribute, "experiment_id", In, list(&["1", "2"]))
        );
        assert_eq!(exp_one("experiment_id NOT IN ('1')").comparator, NotIn);
        assert_eq!(
            exp_one("creation_time > 5"),
            clause(Attribute, "creation_time", Gt, n(5.0))
        );
        assert_eq!(
            exp_one("last_update_time <= 5"),
            clause(Attribute, "last_update_time", Le, n(5.0))
        );
        assert_eq!(
            exp_one("tags.team = 'ml'"),
            clause(Tag, "team", Eq, s("ml"))
        );
        assert_eq!(
            exp_one("tag.a is not null"),
            clause(Tag, "a", IsNotNull, FilterValue::None)
        );
        assert_eq!(exp_one("tags.\"a b\" = 'x'").key, "a b");
        assert_eq!(
            parse_experiment_filter("name LIKE 'p-%' AND tags.idx = '1'").map(|c| c.len()),
            Ok(2)
        );
    }

    #[test]
    fn experiment_filter_errors() {
        for (filter, message) in [
            ("name = 'x' OR name = 'y'", "Invalid clause(s) in filter string: OR"),
            ("name = 'x' or  tags.a = 'y'", "Invalid clause(s) in filter string: or"),
            ("name IN ('x')", "Only ['experiment_id'] attributes support comparison with a list of quoted string values."),
            ("experiment_id = 1", "Expected a quoted string value for attributes. Got value 1"),
            ("experiment_id in ('1')", "Invalid comparator for experiment_id: in"),
            ("experiment_id LIKE '1'", "Invalid comparator for experiment_id: LIKE"),
            ("experiment_id IN ('1', 'x')", "Invalid experiment ID 'x'. Experiment ID must be a valid integer."),
            ("experiment_id = 'abc'", "Invalid experiment ID 'abc'. Experiment ID must be a valid integer."),
            ("name like 'x'", "Invalid comparator 'like' not one of '{'NOT IN', '!=', 'LIKE', 'ILIKE', '=', 'IN'}'"),
            ("name < 'x'", "Invalid comparator '<' not one of '{'NOT IN', '!=', 'LIKE', 'ILIKE', '=', 'IN'}'"),
            ("creation_time LIKE 5", "Invalid comparator 'LIKE' not one of '{'NOT IN', '!=', 'LIKE', 'ILIKE', '=', 'IN'}"),
            ("creation_time > 5.5", "Invalid value for numeric attribute 'creation_time': '5.5'"),
            ("creation_time > 1e3", "Invalid value for numeric attribute 'creation_time': '1000.0'"),
            ("creation_time > 'x'", "Expected numeric value type for numeric attribute: creation_time. Found 'x'"),
            ("tags.a like 'x'", "Invalid comparator for tag: like"),
            ("tags.a < 'x'", "Invalid comparator for tag: <"),
            ("tags.a = 1", "Expected a quoted string value for tag (e.g. 'my-value'). Got value 1"),
            ("tags.a = x", "Parameter value is either not quoted or unidentified quote types used for string value x. Use either single or double quotes."),
            ("name IS NULL", "IS NULL / IS NOT NULL is only supported for tags, not for attribute 'name'"),
            ("attributes.name = 'x'", "Invalid entity type 'attributes'. Valid entity types are ('attribute', 'tag', 'tags')"),
            ("attr.name = 'x'", "Invalid entity type 'attr'. Valid entity types are ('attribute', 'tag', 'tags')"),
            ("params.a = 'x'", "Invalid entity type 'params'. Valid entity types are ('attribute', 'tag', 'tags')"),
            ("metrics.a > 1", "Invalid entity type 'metrics'. Valid entity types are ('attribute', 'tag', 'tags')"),
            ("foo = 'x'", "Invalid attribute key 'foo' specified. Valid keys are '{'last_update_time', 'creation_time', 'name', 'experiment_id'}'"),
            ("  ", "Invalid filter '  '. Could not be parsed."),
        ] {
            assert_eq!(err(parse_experiment_filter(filter)), message, "{filter}");
        }
    }

    // -- registry --

    #[test]
    fn registered_model_filters() {
        assert_eq!(
            parse_registered_model_filter("name like 'x%'"),
            Ok(vec![clause(Attribute, "name", Like, s("x%"))])
        );
        assert_eq!(
            parse_registered_model_filter("name IN ('a','b')"),
            Ok(vec![clause(Attribute, "name", In, list(&["a", "b"]))])
        );
        assert_eq!(
            parse_registered_model_filter("tags.a ilike 'x'"),
            Ok(vec![clause(Tag, "a", ILike, s("x"))])
        );
        for (filter, message) in [
            ("name = 1", "Expected a quoted string value or a list of quoted string values for attributes. Got value 1"),
            ("tags.a IS NULL", "Invalid comparison clause. Expected 3 tokens found 2"),
            ("foo = 'x'", "Invalid attribute key 'foo' specified. Valid keys are '{'name'}'"),
            ("`name` = 'x'", "Invalid attribute key '`name`' specified. Valid keys are '{'name'}'"),
            ("attributes.name = 'x'", "Invalid entity type 'attributes'. Valid entity types are ('attribute', 'tag', 'tags')"),
            ("tags.a = 'x' or tags.b = 'y'", "Invalid clause(s) in filter string: or"),
            ("params.a = 'x'", "Invalid entity type 'params'. Valid entity types are ('attribute', 'tag', 'tags')"),
            ("tags.a = x", "Parameter value is either not quoted or unidentified quote types used for string value x. Use either single or double quotes."),
            ("name < 'x'", "Invalid comparator for attribute: <"),
            ("tags.a < 'x'", "Invalid comparator for tag: <"),
            ("tags.a IN ('x')", "Expected a quoted string value for tag (e.g. 'my-value'). Got value ('x')"),
        ] {
            assert_eq!(err(parse_registered_model_filter(filter)), message, "{filter}");
        }
    }

    #[test]
    fn model_version_filters() {
        assert_eq!(
            parse_model_version_filter("run_id IN ('a','b')"),
            Ok(vec![clause(Attribute, "run_id", In, list(&["a", "b"]))])
        );
        assert_eq!(
            parse_model_version_filter("name not in ('a')"),
            Ok(vec![clause(Attribute, "name", NotIn, list(&["a"]))])
        );
        assert_eq!(
            parse_model_version_filter("source_path = 'x'"),
            Ok(vec![clause(Attribute, "source_path", Eq, s("x"))])
        );
        assert_eq!(
            parse_model_version_filter("version_number = 3"),
            Ok(vec![clause(Attribute, "version_number", Eq, n(3.0))])
        );
        assert_eq!(
            parse_model_version_filter("version_number >= '3'"),
            Ok(vec![clause(Attribute, "version_number", Ge, n(3.0))])
        );
        assert_eq!(
            parse_model_version_filter("tags.a = 'x'"),
            Ok(vec![clause(Tag, "a", Eq, s("x"))])
        );
        for (filter, message) in [
            ("version_number > 2.5", "Invalid value for numeric attribute 'version_number': 2.5"),
            ("version_number = 'abc'", "Invalid value for numeric attribute 'version_number': 'abc'"),
            ("version_number LIKE 3", "Invalid comparator for attribute version_number: LIKE"),
            ("name = 3", "Only the '{'version_number', 'creation_timestamp', 'last_updated_timestamp'}' attributes support comparison with numeric values."),
            ("run_id < 'x'", "Invalid comparator for attribute: <"),
            ("source_path NOT LIKE 'x'", "Invalid comparator for attribute: NOT LIKE"),
            ("source_path IN ('a')", "Only ['name', 'run_id'] attributes support comparison with a list of quoted string values."),
            ("tags.a < 'x'", "Invalid comparator for tag: <"),
            ("foo = 'x'", "Invalid attribute key 'foo' specified. Valid keys are '{'version_number', 'source_path', 'name', 'run_id'}'"),
            ("creation_timestamp > 5", "Invalid attribute key 'creation_timestamp' specified. Valid keys are '{'version_number', 'source_path', 'name', 'run_id'}'"),
        ] {
            assert_eq!(err(parse_model_version_filter(filter)), message, "{filter}");
        }
    }

    // -- logged models --

    #[test]
    fn logged_model_filters() {
        assert_eq!(
            parse_logged_model_filter("name = \"x\""),
            Ok(vec![clause(Attribute, "name", Eq, s("\"x\""))])
        );
        assert_eq!(
            parse_logged_model_filter("name = x"),
            Ok(vec![clause(Attribute, "name", Eq, s("x"))])
        );
        assert_eq!(
            parse_logged_model_filter("attributes.model_id in ('m-1', 'm-2')"),
            Ok(vec![clause(
                Attribute,
                "model_id",
                In,
                list(&["m-1", "m-2"])
            )])
        );
        assert_eq!(
            parse_logged_model_filter("metrics.a > 0.5 AND params.lr = 0.01 AND tags.`a.b` = 'x'"),
            Ok(vec![
                clause(Metric, "a", Gt, n(0.5)),
                clause(Param, "lr", Eq, s("0.01")),
                clause(Tag, "a.b", Eq, s("x")),
            ])
        );
        assert_eq!(
            parse_logged_model_filter("creation_time > 5"),
            Ok(vec![clause(Attribute, "creation_timestamp", Gt, n(5.0))])
        );
        assert_eq!(
            parse_logged_model_filter("attributes.last_updated_timestamp <= 5"),
            Ok(vec![clause(
                Attribute,
                "last_updated_timestamp",
                Le,
                n(5.0)
            )])
        );
        assert_eq!(
            parse_logged_model_filter("`name` = 'x'"),
            Ok(vec![clause(Attribute, "name", Eq, s("x"))])
        );
        for (filter, message) in [
            ("metrics.a LIKE 0.5", "Invalid comparison operator for metrics.a: 'LIKE'. Expected one of ('<', '<=', '>', '>=', '=', '!=')."),
            ("name < 'x'", "Invalid comparison operator for attributes.name: '<'. Expected one of ('=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN')."),
            ("creation_time LIKE 'x'", "Invalid comparison operator for attributes.creation_timestamp_ms: 'LIKE'. Expected one of ('<', '<=', '>', '>=', '=', '!=')."),
            ("tags.a IS NULL", "Invalid comparison: tags.aIS NULL. Expected a comparison with 3 tokens."),
            ("name = 'x' OR name = 'y'", "Invalid filter string: \"name = 'x' OR name = 'y'\". Expected a list of comparisons separated by 'AND' (e.g. 'metrics.loss > 0.1 AND params.lr = 0.01')."),
            ("  ", "Invalid filter string: '  '. Expected a single SQL expression."),
            ("foo.name = 'x'", "Invalid entity type: 'foo'. Expected one of ['attributes', 'metrics', 'params', 'tags']."),
            ("metrics.a > 'x'", "could not convert string to float: \"'x'\""),
            ("bogus = 'x'", "Invalid logged model search key 'bogus'"),
        ] {
            assert_eq!(err(parse_logged_model_filter(filter)), message, "{filter}");
        }
        assert_eq!(parse_logged_model_filter(""), Ok(vec![]));
    }

    #[test]
    fn string_lists() {
        assert_eq!(parse_string_list("('a')"), Ok(vec!["a".to_string()]));
        assert_eq!(
            parse_string_list("(\"a\", 'b')"),
            Ok(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(
            err(parse_string_list("(1)").map(|_| vec![])),
            "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: (1,)"
        );
        assert_eq!(
            err(parse_string_list("(('a', 'b'), 'c')").map(|_| vec![])),
            "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different type in list: (('a', 'b'), 'c')"
        );
        assert!(parse_string_list("('a").is_err());
        let deep = format!("{}'a'{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(parse_string_list(&deep).is_err());
        let ok = format!("{}'a'{}", "(".repeat(150), ")".repeat(150));
        assert_eq!(parse_string_list(&ok), Ok(vec!["a".to_string()]));
        assert!(parse_string_list("('a'").is_err());
    }
}
