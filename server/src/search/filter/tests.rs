//! The shared grammar, exercised through `runs/search` (the endpoint that
//! uses every part of it), and the helpers the other parts' tests share.

use super::*;
use crate::error::ApiError;

pub(super) fn clause(
    entity: EntityKind,
    key: &str,
    comparator: Comparator,
    value: FilterValue,
) -> Clause {
    Clause {
        entity,
        key: key.into(),
        comparator,
        value,
    }
}

pub(super) fn s(v: &str) -> FilterValue {
    FilterValue::Str(v.into())
}

pub(super) fn n(v: f64) -> FilterValue {
    FilterValue::Num(v)
}

pub(super) fn list(items: &[&str]) -> FilterValue {
    FilterValue::List(items.iter().map(|s| s.to_string()).collect())
}

pub(super) fn run_one(filter: &str) -> Clause {
    let mut clauses = parse_run_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    assert_eq!(clauses.len(), 1, "{filter}");
    clauses.remove(0)
}

/// The message of a failed parse, checked to reach the client as
/// `INVALID_PARAMETER_VALUE` (through the conversion the handlers use).
pub(super) fn err(r: SearchResult<Vec<Clause>>) -> String {
    let e = ApiError::from(r.expect_err("expected an error"));
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
            format!("Invalid comparator '{op}' not one of '{{'>', '!=', '<=', '>=', '=', '<'}}")
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
