//! Property tests over the whole search grammar: arbitrary text and
//! grammar-shaped text go into every filter parser, the `order_by` parsers
//! and the page-token decoder. None may panic, and every error must reach
//! the client as a 4xx (the official client retries 5xx answers, and a
//! panic in a handler is a 500).
//!
//! The number of cases is small by default so the suite stays fast in a
//! debug build; `PROPTEST_CASES=100000 cargo test -p ferroflow-server --lib
//! search::fuzz` runs a longer campaign.

use super::*;
use crate::error::ApiError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;

/// Cases per property when `PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 64;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    ProptestConfig {
        cases,
        // A failing input is printed, shrunk; nothing is written into the
        // source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// what every parser must guarantee
// ---------------------------------------------------------------------------

fn client_error<T>(what: &str, input: &str, result: SearchResult<T>) -> Result<(), TestCaseError> {
    if let Err(err) = result {
        let api = ApiError::from(err);
        prop_assert!(
            api.code.status().is_client_error(),
            "{what}({input:?}) answered {} ({})",
            api.code.status(),
            api.message
        );
        prop_assert!(!api.message.is_empty(), "{what}({input:?}): empty message");
    }
    Ok(())
}

/// What the SQL builder relies on: lists go with `IN`/`NOT IN` only, and
/// no value with `IS [NOT] NULL` only.
fn well_formed(what: &str, input: &str, clauses: &[Clause]) -> Result<(), TestCaseError> {
    for c in clauses {
        let list_op = matches!(c.comparator, Comparator::In | Comparator::NotIn);
        let null_op = matches!(c.comparator, Comparator::IsNull | Comparator::IsNotNull);
        prop_assert_eq!(
            list_op,
            matches!(c.value, FilterValue::List(_)),
            "{}({:?}): {:?}",
            what,
            input,
            c
        );
        prop_assert_eq!(
            null_op,
            matches!(c.value, FilterValue::None),
            "{}({:?}): {:?}",
            what,
            input,
            c
        );
    }
    Ok(())
}

type FilterParser = fn(&str) -> SearchResult<Vec<Clause>>;

const FILTER_PARSERS: &[(&str, FilterParser)] = &[
    ("parse_run_filter", parse_run_filter),
    ("parse_experiment_filter", parse_experiment_filter),
    (
        "parse_registered_model_filter",
        parse_registered_model_filter,
    ),
    ("parse_model_version_filter", parse_model_version_filter),
    ("parse_logged_model_filter", parse_logged_model_filter),
];

type OrderByParser = fn(&[String]) -> SearchResult<Vec<OrderBy>>;

const ORDER_BY_PARSERS: &[(&str, OrderByParser)] = &[
    ("parse_run_order_by", parse_run_order_by),
    ("parse_experiment_order_by", parse_experiment_order_by),
    (
        "parse_registered_model_order_by",
        parse_registered_model_order_by,
    ),
    ("parse_model_version_order_by", parse_model_version_order_by),
];

fn every_filter_parser(filter: &str) -> Result<(), TestCaseError> {
    for (what, parse) in FILTER_PARSERS {
        match parse(filter) {
            Ok(clauses) => well_formed(what, filter, &clauses)?,
            Err(err) => client_error(what, filter, Err::<(), _>(err))?,
        }
    }
    Ok(())
}

fn every_order_by_parser(entries: &[String]) -> Result<(), TestCaseError> {
    let shown = format!("{entries:?}");
    for (what, parse) in ORDER_BY_PARSERS {
        client_error(what, &shown, parse(entries))?;
    }
    Ok(())
}

fn page_token(token: &str) -> Result<(), TestCaseError> {
    client_error("decode_page_token", token, decode_page_token(token))
}

// ---------------------------------------------------------------------------
// arbitrary text
// ---------------------------------------------------------------------------

/// Characters that mean something to the lexer, and a few that should not.
const SIGNIFICANT: &[char] = &[
    '\'', '"', '`', '\\', '(', ')', ',', '.', ';', '-', '#', '/', '*', '=', '!', '<', '>', '~',
    '%', '_', '$', ' ', '\t', '\n', '\r', 'a', 'A', 'e', 'E', 'x', '0', '1', '9', 'é', 'ß', '中',
    '\u{0}', '\u{85}', '\u{2028}', '\u{feff}', '🦀',
];

/// Text made of the lexer's significant characters: quotes that open and
/// never close, comments, parentheses, numbers next to letters.
fn punctuation_soup(max_len: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(select(SIGNIFICANT), 0..max_len).prop_map(|cs| cs.into_iter().collect())
}

/// A short piece repeated into a long input (deep parentheses, long
/// conjunctions, runs of quotes).
fn long_input() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just("(".to_string()),
            Just(")".to_string()),
            Just("'".to_string()),
            Just("`".to_string()),
            Just("metrics.a > 1 AND ".to_string()),
            Just("('a', ".to_string()),
            Just("-- ".to_string()),
            punctuation_soup(8),
        ],
        1usize..20_000,
    )
        .prop_map(|(piece, times)| piece.repeat(times.min(20_000 / piece.len().max(1))))
}

fn arbitrary_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), punctuation_soup(64), long_input()]
}

// ---------------------------------------------------------------------------
// grammar-shaped text
// ---------------------------------------------------------------------------

const PREFIXES: &[&str] = &[
    "",
    "metrics.",
    "metric.",
    "params.",
    "param.",
    "parameter.",
    "parameters.",
    "tags.",
    "tag.",
    "attributes.",
    "attribute.",
    "attr.",
    "run.",
    "dataset.",
    "datasets.",
    "`metrics`.",
    "`tags`.",
    "Metrics.",
    "bogus.",
    "a.b.",
    ".",
    "tags .",
];

const KEYS: &[&str] = &[
    "a",
    "acc",
    "`mlflow.runName`",
    "`a b`",
    "'a b'",
    "\"a b\"",
    "`",
    "``",
    "*",
    "run_id",
    "run_name",
    "run name",
    "`run name`",
    "Created",
    "status",
    "start_time",
    "end_time",
    "name",
    "digest",
    "context",
    "experiment_id",
    "creation_time",
    "last_update_time",
    "version_number",
    "source_path",
    "model_id",
    "model_type",
    "source_run_id",
    "creation_timestamp",
    "last_updated_timestamp_ms",
    "timestamp",
    "1",
    "é",
    "NULL",
    "AND",
];

const COMPARATORS: &[&str] = &[
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "<>",
    "==",
    ">>>",
    "~",
    "LIKE",
    "like",
    "ILIKE",
    "ilike",
    "NOT LIKE",
    "RLIKE",
    "REGEXP",
    "IN",
    "in",
    "NOT IN",
    "not in",
    "IS",
    "IS NULL",
    "is null",
    "IS NOT NULL",
    "NOT",
    "",
];

const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "1.5",
    ".5",
    "1.",
    "-0.0",
    "1e400",
    "-1e400",
    "1e-400",
    "1.5e-3",
    "1E+3",
    "+1",
    "0x1F",
    "1_000",
    "99999999999999999999999999",
    "nan",
    "NaN",
    "inf",
    "-Infinity",
    "'x'",
    "'%a_'",
    "''",
    "'it''s'",
    "'a\\'b'",
    "'é中🦀'",
    "\"x\"",
    "`x`",
    "x",
    "NULL",
    "null",
    "('a')",
    "('a', 'b')",
    "('a',)",
    "(\"a\", 'b')",
    "('1', ' 2 ')",
    "('x')",
    "()",
    "(1)",
    "(('a', 'b'), 'c')",
    "('a'",
    "('a' 'b')",
    "(b'a')",
    "(None)",
    "(1e400)",
    "'1'",
    "' 12 '",
];

const JOINERS: &[&str] = &[
    " AND ",
    " and ",
    " And ",
    " OR ",
    " or ",
    " ",
    "",
    ";",
    "; ",
    " AND AND ",
    ",",
    " NOT ",
];

fn clause_text() -> impl Strategy<Value = String> {
    (
        select(PREFIXES),
        select(KEYS),
        select(COMPARATORS),
        select(VALUES),
        any::<bool>(),
    )
        .prop_map(|(prefix, key, op, value, spaced)| {
            if spaced {
                format!("{prefix}{key} {op} {value}")
            } else {
                format!("{prefix}{key}{op}{value}")
            }
        })
}

/// One to four clauses with joiners, sometimes wrapped in parentheses or
/// with a stray token at either end.
fn filter_text() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((clause_text(), select(JOINERS)), 1..5),
        select(&["", "(", "AND ", " ", "NOT "][..]),
        select(&["", ")", " AND", " ", ";", " -- x"][..]),
    )
        .prop_map(|(clauses, open, close)| {
            let mut text = open.to_string();
            let last = clauses.len() - 1;
            for (i, (clause, joiner)) in clauses.into_iter().enumerate() {
                text.push_str(&clause);
                if i < last {
                    text.push_str(joiner);
                }
            }
            text.push_str(close);
            text
        })
}

const DIRECTIONS: &[&str] = &[
    "",
    " ASC",
    " DESC",
    " asc",
    " desc",
    " Desc",
    " DESCENDING",
    " ASC DESC",
    " x",
    "  ASC",
];

fn order_by_entry() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (select(PREFIXES), select(KEYS), select(DIRECTIONS))
            .prop_map(|(prefix, key, dir)| format!("{prefix}{key}{dir}")),
        1 => arbitrary_text(),
    ]
}

const OFFSETS: &[&str] = &[
    "0",
    "1",
    "-1",
    "5.7",
    "1e400",
    "-1e400",
    "18446744073709551616",
    "170141183460469231731687303715884105728",
    "\"5\"",
    "\" 5 \"",
    "\"x\"",
    "\"\"",
    "true",
    "false",
    "null",
    "[]",
    "[1]",
    "{}",
];

/// A base64 token around JSON that is almost a page token.
fn page_token_text() -> impl Strategy<Value = String> {
    prop_oneof![
        select(OFFSETS).prop_map(|o| STANDARD.encode(format!("{{\"offset\": {o}}}"))),
        select(OFFSETS).prop_map(|o| STANDARD.encode(o)),
        any::<Vec<u8>>().prop_map(|b| STANDARD.encode(b)),
        arbitrary_text(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_filters_are_answered_with_4xx(filter in arbitrary_text()) {
        every_filter_parser(&filter)?;
    }

    #[test]
    fn grammar_shaped_filters_are_answered_with_4xx(filter in filter_text()) {
        every_filter_parser(&filter)?;
    }

    #[test]
    fn order_by_entries_are_answered_with_4xx(
        entries in prop::collection::vec(order_by_entry(), 0..4)
    ) {
        every_order_by_parser(&entries)?;
    }

    #[test]
    fn page_tokens_are_answered_with_4xx(token in page_token_text()) {
        page_token(&token)?;
    }
}

/// The vocabulary's corners, each tried once whatever the case count.
#[test]
fn known_hard_inputs() -> Result<(), TestCaseError> {
    let deep = format!("{}'a'{}", "(".repeat(50_000), ")".repeat(50_000));
    let unclosed = "(".repeat(50_000);
    let quotes = "'".repeat(50_001);
    let many_clauses = vec!["metrics.a > 1"; 2_000].join(" AND ");
    for filter in [
        "",
        " ",
        ";",
        ";;",
        "AND",
        "metrics.a > 1e400",
        "metrics.a > -1e400 AND params.b IS NULL",
        "run_id IN ('a') AND experiment_id IN ('1', ' 2 ')",
        "attributes.run_id IN (('a',),)",
        "tags.`a` = \"b\" AND tags.'c' LIKE 'd'",
        "version_number = '99999999999999999999'",
        "name = 'x' -- comment",
        "name = 'x' /* unclosed",
        "metrics.a > 1 metrics.b < 2",
        "\u{0}",
        deep.as_str(),
        unclosed.as_str(),
        quotes.as_str(),
        many_clauses.as_str(),
    ] {
        every_filter_parser(filter)?;
        every_order_by_parser(&[filter.to_string()])?;
        page_token(filter)?;
    }
    Ok(())
}
