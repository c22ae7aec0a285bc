//! The four endpoints that share the filter grammar: their [`Spec`]s, their
//! entry points and their comparator checks (the second phase, which MLflow
//! runs in its SQL store's filter builder).

use super::{
    attr, finish, invalid, parse_with, plain_value, type_name, IsNull, Prefixes, RawClause,
    RawValue, Spec, Values,
};
use crate::pycompat as py;
use crate::search::{Clause, EntityKind, FilterValue, SearchResult};

const METRIC_COMPARATORS: &[&str] = &[">", ">=", "!=", "=", "<", "<="];
const METRIC_COMPARATORS_REPR: &str = "{'>', '!=', '<=', '>=', '=', '<'}";
const KEY_VALUE_COMPARATORS: &[&str] = &["!=", "=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL"];
const KEY_VALUE_COMPARATORS_REPR: &str = "{'IS NULL', 'IS NOT NULL', '!=', 'LIKE', 'ILIKE', '='}";
const STRING_COMPARATORS: &[&str] = &["!=", "=", "LIKE", "ILIKE", "IN", "NOT IN"];
const STRING_COMPARATORS_REPR: &str = "{'NOT IN', '!=', 'LIKE', 'ILIKE', '=', 'IN'}";
const TAG_COMPARATORS: &[&str] = &["=", "!=", "LIKE", "ILIKE"];

/// `runs/search` (`SearchUtils`, `_get_sqlalchemy_filter_clauses`).
pub(in crate::search) static RUNS: Spec = Spec {
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
pub(in crate::search) static EXPERIMENTS: Spec = Spec {
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
pub(in crate::search) static REGISTERED_MODELS: Spec = Spec {
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
pub(in crate::search) static MODEL_VERSIONS: Spec = Spec {
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

// ---------------------------------------------------------------------------
// public entry points
// ---------------------------------------------------------------------------

/// Parses the `filter` of `runs/search`. Empty → no clauses.
pub fn parse_run_filter(filter: &str) -> SearchResult<Vec<Clause>> {
    parse_with(&RUNS, filter)
}

/// Parses the `filter` of `experiments/search`. Empty → no clauses.
/// `experiment_id` values are checked to be integers and normalized
/// (`' 12 '` → `12`).
pub fn parse_experiment_filter(filter: &str) -> SearchResult<Vec<Clause>> {
    parse_with(&EXPERIMENTS, filter)
}

/// Parses the `filter` of `registered-models/search`: `name` (`IN` allowed)
/// and `tags.<key>`.
pub fn parse_registered_model_filter(filter: &str) -> SearchResult<Vec<Clause>> {
    parse_with(&REGISTERED_MODELS, filter)
}

/// Parses the `filter` of `model-versions/search`: `name`, `run_id` (both
/// with `IN`), `source_path`, `version_number` (numeric) and `tags.<key>`.
pub fn parse_model_version_filter(filter: &str) -> SearchResult<Vec<Clause>> {
    parse_with(&MODEL_VERSIONS, filter)
}

// ---------------------------------------------------------------------------
// comparator checks (the store phase)
// ---------------------------------------------------------------------------

/// `_get_sqlalchemy_filter_clauses`: comparators are upper-cased, then
/// checked per entity type (MLflow's messages, including the ones missing
/// their closing quote).
fn check_run_clause(spec: &Spec, raw: RawClause) -> SearchResult<Clause> {
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
fn check_experiment_clause(spec: &Spec, raw: RawClause) -> SearchResult<Clause> {
    let op = raw.op;
    match raw.entity {
        EntityKind::Attribute if raw.key == "experiment_id" => {
            if !["=", "!=", "IN", "NOT IN"].contains(&op.as_str()) {
                return Err(invalid(format!(
                    "Invalid comparator for experiment_id: {op}"
                )));
            }
            // `_validate_experiment_id` (the same check and message as
            // `validation::validate_experiment_id_int`, whose error is an
            // ApiError this module does not produce).
            let id = |s: &str| {
                py::parse_int(s).map(|n| n.to_string()).ok_or_else(|| {
                    invalid(format!(
                        "Invalid experiment ID '{s}'. Experiment ID must be a valid integer."
                    ))
                })
            };
            let value = match raw.value {
                RawValue::Str(s) => FilterValue::Str(id(&s)?),
                RawValue::List(items) => FilterValue::List(
                    items
                        .iter()
                        .map(|s| id(s))
                        .collect::<SearchResult<Vec<_>>>()?,
                ),
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
fn check_registered_model_clause(_spec: &Spec, raw: RawClause) -> SearchResult<Clause> {
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
fn check_model_version_clause(spec: &Spec, raw: RawClause) -> SearchResult<Clause> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::filter::tests::{clause, err, list, n, s};
    use crate::search::Comparator::*;
    use crate::search::EntityKind::{Attribute, Tag};

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
}
