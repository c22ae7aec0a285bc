//! The filter of `logged-models/search`, which has its own grammar
//! (`mlflow.utils.search_logged_model_utils`): the same statement and
//! comparisons as the other endpoints, but exact lower-case prefixes
//! `attributes.` `metrics.` `params.` `tags.`, keys that lose surrounding
//! backticks, values read by `float()` or as bare text, and its own
//! messages.

use super::literals::{parse_string_list, python_float};
use super::{finish, invalid, items, Comparison, Item};
use crate::pycompat as py;
use crate::search::lexer;
use crate::search::{Clause, EntityKind, FilterValue, SearchResult};

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
pub fn parse_logged_model_filter(filter: &str) -> SearchResult<Vec<Clause>> {
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
fn logged_model_clause(identifier: &str, op: &str, value: &str) -> SearchResult<(Clause, bool)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::filter::tests::{clause, err, list, n, s};
    use crate::search::Comparator::*;
    use crate::search::EntityKind::{Attribute, Metric, Param, Tag};

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
}
