//! The literals of a filter: quoted values and keys, Python's `float()` of
//! a number token, and `IN` lists, which MLflow evaluates as Python
//! literals (`('a', "b")`).

use crate::pycompat::literal::{literal_eval, tuple_repr, Literal};
use crate::search::{SearchError, SearchResult};

fn invalid(message: impl Into<String>) -> SearchError {
    SearchError::invalid(message)
}

// ---------------------------------------------------------------------------
// quotes
// ---------------------------------------------------------------------------

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
pub(super) fn trim_backticks(s: &str) -> &str {
    if is_quoted(s, '`') {
        trim_ends(s)
    } else {
        s
    }
}

/// `_strip_quotes(value)`: drops one pair of `'` or `"`.
pub(super) fn strip_quotes(s: &str) -> &str {
    if is_quoted(s, '\'') || is_quoted(s, '"') {
        trim_ends(s)
    } else {
        s
    }
}

/// `_strip_quotes(value, expect_quoted_value=True)`.
pub(super) fn expect_quoted(s: &str) -> SearchResult<String> {
    if is_quoted(s, '\'') || is_quoted(s, '"') {
        Ok(trim_ends(s).to_string())
    } else {
        Err(invalid(format!(
            "Parameter value is either not quoted or unidentified quote types used for string value {s}. Use either single or double quotes."
        )))
    }
}

// ---------------------------------------------------------------------------
// numbers
// ---------------------------------------------------------------------------

/// Python's `float(s)` for a token's text.
pub(super) fn python_float(s: &str) -> Option<f64> {
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
pub(super) fn parse_string_list(text: &str) -> SearchResult<Vec<String>> {
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
    use crate::search::filter::tests::err;

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
