//! `order_by` entries of the search endpoints: `"<identifier> [ASC|DESC]"`,
//! ascending by default, the direction case-insensitive.
//!
//! Mirrors MLflow 3.17.2's `SearchUtils._parse_order_by_string` (sqlparse
//! must see one identifier, optionally followed by a direction or an
//! "alias"; `shlex` splits it) and the per-search key checks of its stores.
//! An entry with a bad direction is `Invalid ordering key in order_by clause
//! '…'.`, anything unparsable `Invalid order_by clause '…'. Could not be
//! parsed.`

use super::filter::{resolve_identifier, Spec, EXPERIMENTS, RUNS};
use super::lexer::{self, Kind, Token};
use super::{EntityKind, OrderBy, SearchError, SearchResult};
use crate::pycompat as py;

fn invalid(message: impl Into<String>) -> SearchError {
    SearchError::invalid(message)
}

/// Attributes `runs/search` orders by (`RunInfo.get_orderable_attributes()`
/// + `created`/`Created`), with their canonical keys.
const RUN_ORDER_KEYS: &[(&str, &str)] = &[
    ("run_id", "run_id"),
    ("run_name", "run_name"),
    ("status", "status"),
    ("user_id", "user_id"),
    ("artifact_uri", "artifact_uri"),
    ("start_time", "start_time"),
    ("end_time", "end_time"),
    ("created", "start_time"),
    ("Created", "start_time"),
];
const RUN_ORDER_KEYS_REPR: &str = "{'created', 'run_name', 'status', 'user_id', 'Created', 'end_time', 'start_time', 'run_id', 'artifact_uri'}";

/// `SearchExperimentsUtils.VALID_ORDER_BY_ATTRIBUTE_KEYS`.
const EXPERIMENT_ORDER_KEYS: &[&str] =
    &["name", "experiment_id", "creation_time", "last_update_time"];
const EXPERIMENT_ORDER_KEYS_REPR: &str =
    "{'last_update_time', 'experiment_id', 'creation_time', 'name'}";

/// `SearchModelVersionUtils.VALID_ORDER_BY_ATTRIBUTE_KEYS`.
const MODEL_VERSION_ORDER_KEYS: &[&str] = &[
    "name",
    "version_number",
    "creation_timestamp",
    "last_updated_timestamp",
];
const MODEL_VERSION_ORDER_KEYS_REPR: &str =
    "{'version_number', 'last_updated_timestamp', 'creation_timestamp', 'name'}";

/// `SearchUtils.VALID_ORDER_BY_KEYS_REGISTERED_MODELS` with the store's
/// column for each (`timestamp` is the last update time).
const REGISTERED_MODEL_ORDER_KEYS: &[(&str, &str)] = &[
    ("name", "name"),
    ("timestamp", "last_updated_timestamp"),
    ("last_updated_timestamp", "last_updated_timestamp"),
];

/// Parses the `order_by` of `runs/search`. Keys: `metrics.*`, `params.*`,
/// `tags.*` and the attributes `run_id run_name status user_id artifact_uri
/// start_time end_time` (`created`/`Created` → `start_time`). An empty list
/// means the store's default (`start_time DESC, run_id ASC`).
pub fn parse_run_order_by(order_by: &[String]) -> SearchResult<Vec<OrderBy>> {
    let mut out: Vec<OrderBy> = Vec::with_capacity(order_by.len());
    for clause in order_by {
        let (token, ascending) = split_direction(clause)?;
        let keys = |k: &str| RUN_ORDER_KEYS.iter().any(|(name, _)| *name == k);
        let (entity, key) = resolve_identifier(&RUNS, token.trim(), &keys, RUN_ORDER_KEYS_REPR)?;
        let key = match entity {
            EntityKind::Attribute => RUN_ORDER_KEYS
                .iter()
                .find(|(name, _)| *name == key)
                .map_or(key, |(_, canonical)| canonical.to_string()),
            EntityKind::Dataset => {
                return Err(invalid("Invalid identifier type 'dataset'"));
            }
            _ => key,
        };
        push_unique(&mut out, order_by, entity, key, ascending)?;
    }
    Ok(out)
}

/// Parses the `order_by` of `experiments/search`: attributes `name`,
/// `experiment_id`, `creation_time`, `last_update_time` (prefix `attribute.`
/// optional). An empty list means the store's default (`creation_time DESC,
/// experiment_id ASC`).
pub fn parse_experiment_order_by(order_by: &[String]) -> SearchResult<Vec<OrderBy>> {
    let mut out = Vec::with_capacity(order_by.len());
    for clause in order_by {
        let (token, ascending) = split_direction(clause)?;
        let keys = |k: &str| EXPERIMENT_ORDER_KEYS.contains(&k);
        let (entity, key) = resolve_identifier(
            &EXPERIMENTS,
            token.trim(),
            &keys,
            EXPERIMENT_ORDER_KEYS_REPR,
        )?;
        if entity != EntityKind::Attribute {
            return Err(invalid(format!(
                "Invalid order_by entity: {}",
                entity_name(entity)
            )));
        }
        out.push(OrderBy {
            entity,
            key,
            ascending,
        });
    }
    Ok(out)
}

/// Parses the `order_by` of `registered-models/search`: `name`, `timestamp`
/// or `last_updated_timestamp` (both → key `last_updated_timestamp`, the
/// last update time, as MLflow's SQL store does). No prefixes.
pub fn parse_registered_model_order_by(order_by: &[String]) -> SearchResult<Vec<OrderBy>> {
    let mut out = Vec::with_capacity(order_by.len());
    for clause in order_by {
        let (token, ascending) = split_direction(clause)?;
        let token = token.trim();
        let key = REGISTERED_MODEL_ORDER_KEYS
            .iter()
            .find(|(name, _)| *name == token)
            .map(|(_, canonical)| canonical.to_string())
            .ok_or_else(|| {
                invalid(format!(
                    "Invalid order by key '{token}' specified. Valid keys are '{{'timestamp', 'name'}}'"
                ))
            })?;
        push_unique(&mut out, order_by, EntityKind::Attribute, key, ascending)?;
    }
    Ok(out)
}

/// Parses the `order_by` of `model-versions/search`: `name`,
/// `version_number`, `creation_timestamp`, `last_updated_timestamp`.
pub fn parse_model_version_order_by(order_by: &[String]) -> SearchResult<Vec<OrderBy>> {
    let mut out = Vec::with_capacity(order_by.len());
    for clause in order_by {
        let (token, ascending) = split_direction(clause)?;
        let keys = |k: &str| MODEL_VERSION_ORDER_KEYS.contains(&k);
        let spec: &Spec = &EXPERIMENTS;
        let (_, key) =
            resolve_identifier(spec, token.trim(), &keys, MODEL_VERSION_ORDER_KEYS_REPR)?;
        if !MODEL_VERSION_ORDER_KEYS.contains(&key.as_str()) {
            return Err(invalid(format!(
                "Invalid order by key '{key}' specified. Valid keys are {MODEL_VERSION_ORDER_KEYS_REPR}"
            )));
        }
        push_unique(&mut out, order_by, EntityKind::Attribute, key, ascending)?;
    }
    Ok(out)
}

fn entity_name(entity: EntityKind) -> &'static str {
    match entity {
        EntityKind::Attribute => "attribute",
        EntityKind::Metric => "metric",
        EntityKind::Param => "parameter",
        EntityKind::Tag => "tag",
        EntityKind::Dataset => "dataset",
    }
}

/// Appends an ordering, rejecting a field already ordered by (MLflow:
/// ``` `order_by` contains duplicate fields: [...] ```, which it reports as
/// an internal error; here it is a 400).
fn push_unique(
    out: &mut Vec<OrderBy>,
    order_by: &[String],
    entity: EntityKind,
    key: String,
    ascending: bool,
) -> SearchResult<()> {
    if out.iter().any(|o| o.entity == entity && o.key == key) {
        return Err(invalid(format!(
            "`order_by` contains duplicate fields: {}",
            py::repr_str_list(order_by)
        )));
    }
    out.push(OrderBy {
        entity,
        key,
        ascending,
    });
    Ok(())
}

/// `_parse_order_by_string`: the identifier text and the direction.
fn split_direction(clause: &str) -> SearchResult<(String, bool)> {
    let could_not = || {
        invalid(format!(
            "Invalid order_by clause '{clause}'. Could not be parsed."
        ))
    };
    if clause.is_empty()
        || clause.starts_with(char::is_whitespace)
        || clause.ends_with(char::is_whitespace)
    {
        return Err(could_not());
    }
    let statements = lexer::statements(lexer::tokenize(clause));
    let [statement] = statements.as_slice() else {
        return Err(could_not());
    };
    let toks: Vec<&Token> = statement
        .iter()
        .filter(|t| t.kind != Kind::Whitespace)
        .collect();
    let is_direction = |t: &Token| t.is_keyword("ASC") || t.is_keyword("DESC");
    // `timestamp` is a builtin type name for sqlparse, not an identifier;
    // MLflow special-cases it (exact spelling only).
    let token_value = match toks.as_slice() {
        [first, ..]
            if first.kind == Kind::Ident && first.text.eq_ignore_ascii_case("timestamp") =>
        {
            match toks.as_slice() {
                [only] if only.text == "timestamp" => "timestamp".to_string(),
                [first, direction] if first.text == "timestamp" && is_direction(direction) => {
                    format!("timestamp {}", direction.text)
                }
                _ => return Err(could_not()),
            }
        }
        [only] if only.kind == Kind::Ident => clause.to_string(),
        [first, second]
            if first.kind == Kind::Ident
                && (second.kind == Kind::Ident || is_direction(second)) =>
        {
            clause.to_string()
        }
        _ => return Err(could_not()),
    };
    let words = shlex_split(&token_value.replace('`', "\"")).ok_or_else(could_not)?;
    match words.as_slice() {
        [identifier, direction] => match direction.to_lowercase().as_str() {
            "asc" => Ok((identifier.clone(), true)),
            "desc" => Ok((identifier.clone(), false)),
            _ => Err(invalid(format!(
                "Invalid ordering key in order_by clause '{clause}'."
            ))),
        },
        [_] => Ok((token_value, true)),
        _ => Err(could_not()),
    }
}

/// `shlex.split(s)` (POSIX mode, no comments); `None` for an unclosed quote.
fn shlex_split(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            _ if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        d => word.push(d),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.peek() {
                            Some('"' | '\\') => word.push(chars.next()?),
                            _ => word.push('\\'),
                        },
                        d => word.push(d),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next()?);
            }
            _ => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Some(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn order(entity: EntityKind, key: &str, ascending: bool) -> OrderBy {
        OrderBy {
            entity,
            key: key.into(),
            ascending,
        }
    }

    fn run(clause: &str) -> SearchResult<OrderBy> {
        parse_run_order_by(&strings(&[clause])).map(|mut v| v.remove(0))
    }

    fn err<T: std::fmt::Debug>(r: SearchResult<T>) -> String {
        let e = crate::error::ApiError::from(r.expect_err("expected an error"));
        assert_eq!(e.code, crate::error::ErrorCode::InvalidParameterValue);
        e.message
    }

    use EntityKind::{Attribute, Metric, Param, Tag};

    #[test]
    fn directions() {
        assert_eq!(run("metrics.a"), Ok(order(Metric, "a", true)));
        assert_eq!(run("metrics.a DESC"), Ok(order(Metric, "a", false)));
        assert_eq!(run("metrics.a desc"), Ok(order(Metric, "a", false)));
        assert_eq!(run("metrics.a Asc"), Ok(order(Metric, "a", true)));
        assert_eq!(run("metrics.a  DESC"), Ok(order(Metric, "a", false)));
        assert_eq!(
            err(run("metrics.a UP")),
            "Invalid ordering key in order_by clause 'metrics.a UP'."
        );
        assert_eq!(
            err(run("run name")),
            "Invalid ordering key in order_by clause 'run name'."
        );
    }

    #[test]
    fn unparsable_clauses() {
        for clause in [
            "metrics.a DESC DESC",
            " metrics.a ",
            "",
            "metrics.a, metrics.b",
            "metrics.a;",
            "metrics.a NULLS LAST",
            "metrics.a DESC NULLS LAST",
            "(metrics.a)",
            "1",
            "'a'",
            "timestamp x",
            "TIMESTAMP",
            "tags.a . b",
        ] {
            assert_eq!(
                err(run(clause)),
                format!("Invalid order_by clause '{clause}'. Could not be parsed."),
                "{clause:?}"
            );
        }
    }

    #[test]
    fn run_keys() {
        assert_eq!(run("params.lr ASC"), Ok(order(Param, "lr", true)));
        assert_eq!(
            run("tags.`mlflow.runName` ASC"),
            Ok(order(Tag, "mlflow.runName", true))
        );
        assert_eq!(run("metrics.`a b` DESC"), Ok(order(Metric, "a b", false)));
        assert_eq!(run("metrics.\"a b\" DESC"), Ok(order(Metric, "a b", false)));
        assert_eq!(run("metrics.'a b' DESC"), Ok(order(Metric, "a b", false)));
        assert_eq!(run("metrics.`a b`"), Ok(order(Metric, "a b", true)));
        assert_eq!(
            run("metrics.timestamp"),
            Ok(order(Metric, "timestamp", true))
        );
        assert_eq!(
            run("attributes.start_time DESC"),
            Ok(order(Attribute, "start_time", false))
        );
        assert_eq!(run("start_time"), Ok(order(Attribute, "start_time", true)));
        assert_eq!(
            run("created DESC"),
            Ok(order(Attribute, "start_time", false))
        );
        assert_eq!(run("Created"), Ok(order(Attribute, "start_time", true)));
        for key in [
            "run_id",
            "run_name",
            "status",
            "user_id",
            "artifact_uri",
            "end_time",
        ] {
            assert_eq!(run(key), Ok(order(Attribute, key, true)));
        }
    }

    #[test]
    fn run_key_errors() {
        let keys = "{'created', 'run_name', 'status', 'user_id', 'Created', 'end_time', 'start_time', 'run_id', 'artifact_uri'}";
        for (clause, key) in [
            ("foo", "foo"),
            ("attributes.foo", "foo"),
            ("experiment_id", "experiment_id"),
            ("lifecycle_stage", "lifecycle_stage"),
            ("timestamp", "timestamp"),
            ("`Run name` DESC", "Run name"),
        ] {
            assert_eq!(
                err(run(clause)),
                format!("Invalid attribute key '{key}' specified. Valid keys are '{keys}'")
            );
        }
        assert_eq!(
            err(run("xx.a")),
            "Invalid entity type 'xx'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']"
        );
        assert_eq!(
            err(run("datasets.name")),
            "Invalid identifier type 'dataset'"
        );
    }

    #[test]
    fn run_duplicates() {
        assert_eq!(
            err(parse_run_order_by(&strings(&[
                "metrics.a",
                "metrics.a DESC"
            ]))),
            "`order_by` contains duplicate fields: ['metrics.a', 'metrics.a DESC']"
        );
        assert!(parse_run_order_by(&strings(&["start_time", "created"])).is_err());
        assert_eq!(
            parse_run_order_by(&strings(&[
                "tags.model_type ASC",
                "metrics.val_accuracy DESC"
            ])),
            Ok(vec![
                order(Tag, "model_type", true),
                order(Metric, "val_accuracy", false)
            ])
        );
        assert_eq!(parse_run_order_by(&[]), Ok(vec![]));
    }

    #[test]
    fn experiment_order_by() {
        let parse = |c: &str| parse_experiment_order_by(&strings(&[c])).map(|mut v| v.remove(0));
        assert_eq!(parse("name"), Ok(order(Attribute, "name", true)));
        assert_eq!(parse("name DESC"), Ok(order(Attribute, "name", false)));
        assert_eq!(
            parse("experiment_id ASC"),
            Ok(order(Attribute, "experiment_id", true))
        );
        assert_eq!(
            parse("creation_time"),
            Ok(order(Attribute, "creation_time", true))
        );
        assert_eq!(
            parse("last_update_time desc"),
            Ok(order(Attribute, "last_update_time", false))
        );
        assert_eq!(parse("attribute.name"), Ok(order(Attribute, "name", true)));
        assert_eq!(err(parse("tags.a")), "Invalid order_by entity: tag");
        assert_eq!(
            err(parse("attributes.name")),
            "Invalid entity type 'attributes'. Valid entity types are ('attribute', 'tag', 'tags')"
        );
        assert_eq!(
            err(parse("foo")),
            "Invalid attribute key 'foo' specified. Valid keys are '{'last_update_time', 'experiment_id', 'creation_time', 'name'}'"
        );
        assert_eq!(
            err(parse("name UP")),
            "Invalid ordering key in order_by clause 'name UP'."
        );
    }

    #[test]
    fn registered_model_order_by() {
        let parse =
            |c: &str| parse_registered_model_order_by(&strings(&[c])).map(|mut v| v.remove(0));
        assert_eq!(parse("name"), Ok(order(Attribute, "name", true)));
        assert_eq!(
            parse("timestamp DESC"),
            Ok(order(Attribute, "last_updated_timestamp", false))
        );
        assert_eq!(
            parse("timestamp"),
            Ok(order(Attribute, "last_updated_timestamp", true))
        );
        assert_eq!(
            parse("last_updated_timestamp"),
            Ok(order(Attribute, "last_updated_timestamp", true))
        );
        assert_eq!(parse("`name` DESC"), Ok(order(Attribute, "name", false)));
        for bad in [
            "creation_timestamp",
            "tags.a",
            "foo",
            "`name`",
            "attribute.name",
        ] {
            assert_eq!(
                err(parse(bad)),
                format!("Invalid order by key '{bad}' specified. Valid keys are '{{'timestamp', 'name'}}'")
            );
        }
        assert_eq!(
            err(parse("name x")),
            "Invalid ordering key in order_by clause 'name x'."
        );
        assert!(parse_registered_model_order_by(&strings(&[
            "timestamp",
            "last_updated_timestamp"
        ]))
        .is_err());
    }

    #[test]
    fn model_version_order_by() {
        let parse = |c: &str| parse_model_version_order_by(&strings(&[c])).map(|mut v| v.remove(0));
        assert_eq!(parse("name"), Ok(order(Attribute, "name", true)));
        assert_eq!(
            parse("version_number DESC"),
            Ok(order(Attribute, "version_number", false))
        );
        assert_eq!(
            parse("creation_timestamp"),
            Ok(order(Attribute, "creation_timestamp", true))
        );
        assert_eq!(
            parse("last_updated_timestamp"),
            Ok(order(Attribute, "last_updated_timestamp", true))
        );
        assert_eq!(
            err(parse("run_id")),
            "Invalid attribute key 'run_id' specified. Valid keys are '{'version_number', 'last_updated_timestamp', 'creation_timestamp', 'name'}'"
        );
        assert_eq!(
            err(parse("tags.a")),
            "Invalid order by key 'a' specified. Valid keys are {'version_number', 'last_updated_timestamp', 'creation_timestamp', 'name'}"
        );
    }

    #[test]
    fn shlex() {
        assert_eq!(shlex_split("a b"), Some(strings(&["a", "b"])));
        assert_eq!(
            shlex_split("m.\"a b\" DESC"),
            Some(strings(&["m.a b", "DESC"]))
        );
        assert_eq!(shlex_split("m.'a b'"), Some(strings(&["m.a b"])));
        assert_eq!(shlex_split("\"a\\\"b\""), Some(strings(&["a\"b"])));
        assert_eq!(shlex_split("\"a"), None);
    }
}
