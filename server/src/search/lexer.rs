//! Tokenizer for MLflow's search strings.
//!
//! MLflow parses filters and `order_by` entries with `sqlparse`, so which
//! inputs are accepted (and how an error names the offending tokens)
//! follows sqlparse's lexer and grouping. This module reproduces the subset
//! that matters for search strings:
//!
//! * identifiers: a name (`\w[$#\w]*`), a backtick-quoted name or a
//!   double-quoted symbol, followed by any number of `.part` where a part is
//!   a name, a quoted name, a single-quoted string or `*`
//!   (`` tags.`mlflow.runName` ``, `metrics."val loss"`, `tags.'a b'`);
//! * single-quoted strings with `''` and `\'` inside (kept verbatim);
//! * numbers as sqlparse lexes them (`-1`, `.5`, `1.`, `1.5e-3`; not `+1`,
//!   `1E+3` or hex);
//! * comparison operators: runs of `<>=~!` plus `LIKE`, `ILIKE`, `RLIKE`,
//!   `REGEXP` with an optional `NOT`;
//! * keywords (`AND`, `OR`, `NOT`, `IN`, `IS`, `NULL`, `NOT NULL`, `ASC`,
//!   `DESC`, … case-insensitive);
//! * parenthesised groups, comments, `;` and anything else as opaque tokens.

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Whitespace,
    /// A name or dotted name (see the module docs).
    Ident,
    /// A single-quoted string literal; the text keeps the quotes.
    Str,
    Int,
    Float,
    /// A comparison operator (`=`, `!=`, `LIKE`, `NOT ILIKE`, `>>>`, …).
    Comparison,
    /// A keyword; the payload is the upper-cased keyword with single spaces
    /// (`"NOT NULL"`).
    Keyword(String),
    /// `( … )` including everything inside (nested parentheses too).
    Paren,
    Semicolon,
    Comment,
    /// Operators, stray punctuation, unterminated quotes, ….
    Other,
}

/// One token: its kind and its text exactly as written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: Kind,
    pub text: String,
}

impl Token {
    pub fn is_keyword(&self, keyword: &str) -> bool {
        matches!(&self.kind, Kind::Keyword(k) if k == keyword)
    }
}

/// Words sqlparse lexes as keywords (a selection: every SQL keyword a
/// search string plausibly contains). Attribute names such as `name`,
/// `status` or `run_id` are not keywords.
const KEYWORDS: &[&str] = &[
    "ALL", "AND", "ANY", "AS", "ASC", "BETWEEN", "BY", "CASE", "CREATE", "DELETE", "DESC",
    "DISTINCT", "DROP", "ELSE", "END", "ESCAPE", "EXISTS", "FALSE", "FROM", "GROUP", "HAVING",
    "IN", "INSERT", "INTO", "IS", "JOIN", "KEY", "LIMIT", "NOT", "NULL", "OFFSET", "ON", "OR",
    "ORDER", "SELECT", "SET", "SOME", "SOURCE", "TABLE", "THEN", "TRUE", "UNION", "UPDATE",
    "USING", "VALUES", "WHEN", "WHERE", "WITH",
];

fn is_word(c: char) -> bool {
    crate::pycompat::is_word_char(c)
}

/// For each position `p` after an opening `quote`, where the literal ends
/// (index after the closing quote) when `(QQ|\Q|[^Q])*Q` is matched from
/// `p` the way Python's backtracking regex engine matches it (`QQ` is the
/// doubled quote, `\Q` only when `backslash` is set). One right-to-left
/// pass; `None` where no closing quote can be found.
fn quote_ends(chars: &[char], quote: char, backslash: bool) -> Vec<Option<usize>> {
    let n = chars.len();
    let mut ends: Vec<Option<usize>> = vec![None; n + 2];
    for p in (0..n).rev() {
        let c = chars[p];
        let next = chars.get(p + 1).copied();
        let mut end = None;
        if c == quote && next == Some(quote) {
            end = ends[p + 2];
        }
        if end.is_none() && backslash && c == '\\' && next == Some(quote) {
            end = ends[p + 2];
        }
        if end.is_none() && c != quote {
            end = ends[p + 1];
        }
        if end.is_none() && c == quote {
            end = Some(p + 1);
        }
        ends[p] = end;
    }
    ends
}

struct Lexer<'a> {
    chars: &'a [char],
    single: Vec<Option<usize>>,
    double: Vec<Option<usize>>,
    backtick: Vec<Option<usize>>,
    /// For each position, where the next `*/` starts.
    comment_close: Vec<Option<usize>>,
}

/// For each position `p`, the first `q >= p` where `*/` starts.
fn comment_closes(chars: &[char]) -> Vec<Option<usize>> {
    let mut out = vec![None; chars.len() + 1];
    for p in (0..chars.len()).rev() {
        out[p] = if chars[p] == '*' && chars.get(p + 1) == Some(&'/') {
            Some(p)
        } else {
            out[p + 1]
        };
    }
    out
}

impl Lexer<'_> {
    fn at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    fn text(&self, from: usize, to: usize) -> String {
        self.chars[from..to].iter().collect()
    }

    /// End of a quoted literal opening at `i`, if it closes.
    fn quoted_end(&self, i: usize) -> Option<usize> {
        let table = match self.at(i)? {
            '\'' => &self.single,
            '"' => &self.double,
            '`' => &self.backtick,
            _ => return None,
        };
        table.get(i + 1).copied().flatten()
    }

    fn word_end(&self, i: usize) -> usize {
        let mut j = i;
        while let Some(c) = self.at(j) {
            if is_word(c) || (j > i && (c == '$' || c == '#')) {
                j += 1;
            } else {
                break;
            }
        }
        j
    }

    fn skip_ws(&self, mut i: usize) -> usize {
        while self.at(i).is_some_and(char::is_whitespace) {
            i += 1;
        }
        i
    }

    /// Case-insensitive keyword at `i` followed by a word boundary.
    fn keyword_at(&self, i: usize, keyword: &str) -> Option<usize> {
        let mut j = i;
        for k in keyword.chars() {
            match self.at(j) {
                Some(c) if c.to_ascii_uppercase() == k => j += 1,
                _ => return None,
            }
        }
        if self.at(j).is_some_and(is_word) {
            return None;
        }
        Some(j)
    }

    /// `(NOT\s+)?` + one of `words` (each followed by a boundary).
    fn optional_not_then(&self, i: usize, words: &[&str]) -> Option<usize> {
        let mut start = i;
        if let Some(after_not) = self.keyword_at(i, "NOT") {
            let j = self.skip_ws(after_not);
            if j > after_not {
                start = j;
            }
        }
        for w in words {
            if let Some(end) = self.keyword_at(start, w) {
                return Some(end);
            }
        }
        if start != i {
            for w in words {
                if let Some(end) = self.keyword_at(i, w) {
                    return Some(end);
                }
            }
        }
        None
    }

    /// One part of an identifier at `i` (after the first: names, quoted
    /// names, single-quoted strings, `*`).
    fn ident_part(&self, i: usize, first: bool) -> Option<usize> {
        let c = self.at(i)?;
        match c {
            '`' | '"' => self.quoted_end(i),
            '\'' if !first => self.quoted_end(i),
            '*' if !first => Some(i + 1),
            _ if is_word(c) => Some(self.word_end(i)),
            _ => None,
        }
    }

    /// A `.` at `dot` that joins identifier parts: not the start of a
    /// number such as `.5`.
    fn member_dot(&self, dot: usize) -> bool {
        self.at(dot) == Some('.') && self.number(dot).is_none()
    }

    /// Extends an identifier whose first part ends at `end` with `.part`s.
    fn ident_rest(&self, mut end: usize) -> usize {
        loop {
            let dot = self.skip_ws(end);
            if !self.member_dot(dot) {
                return end;
            }
            let part = self.skip_ws(dot + 1);
            match self.ident_part(part, false) {
                Some(part_end) => end = part_end,
                None => return dot + 1,
            }
        }
    }

    /// A number at `i` as sqlparse lexes it, with its kind.
    fn number(&self, i: usize) -> Option<(usize, Kind)> {
        let mut j = i;
        if self.at(j) == Some('-') {
            j += 1;
        }
        let digits = |mut k: usize| {
            while self.at(k).is_some_and(|c| c.is_ascii_digit()) {
                k += 1;
            }
            k
        };
        let int_end = digits(j);
        let letter_follows = |k: usize| self.at(k).is_some_and(|c| c == '_' || c.is_alphabetic());
        if int_end > j {
            // hexadecimal: an opaque token
            if self.at(j) == Some('0') && matches!(self.at(j + 1), Some('x' | 'X')) {
                let hex_end = {
                    let mut k = j + 2;
                    while self.at(k).is_some_and(|c| c.is_ascii_hexdigit()) {
                        k += 1;
                    }
                    k
                };
                if hex_end > j + 2 {
                    return Some((hex_end, Kind::Other));
                }
            }
            // \d+(\.\d+)?E-?\d+
            let mut k = int_end;
            if self.at(k) == Some('.') && self.at(k + 1).is_some_and(|c| c.is_ascii_digit()) {
                k = digits(k + 1);
            }
            if matches!(self.at(k), Some('e' | 'E')) {
                let mut e = k + 1;
                if self.at(e) == Some('-') {
                    e += 1;
                }
                let e_end = digits(e);
                if e_end > e {
                    return Some((e_end, Kind::Float));
                }
            }
            // \d+\.\d*
            if self.at(int_end) == Some('.') {
                let frac_end = digits(int_end + 1);
                if !letter_follows(frac_end) {
                    return Some((frac_end, Kind::Float));
                }
            }
            if !letter_follows(int_end) {
                return Some((int_end, Kind::Int));
            }
            return None;
        }
        // \.\d+
        if self.at(j) == Some('.') {
            let frac_end = digits(j + 1);
            if frac_end > j + 1 && !letter_follows(frac_end) {
                return Some((frac_end, Kind::Float));
            }
        }
        None
    }

    /// The next token starting at `i`: its end and kind.
    fn next(&self, i: usize) -> (usize, Kind) {
        let Some(c) = self.at(i) else {
            return (i, Kind::Other);
        };
        let next = self.at(i + 1);
        // comments: `-- …` or `# …` to the end of the line
        if (c == '-' && next == Some('-')) || (c == '#' && next == Some(' ')) {
            let mut j = i + 2;
            while let Some(d) = self.at(j) {
                j += 1;
                if d == '\n' {
                    break;
                }
                if d == '\r' {
                    if self.at(j) == Some('\n') {
                        j += 1;
                    }
                    break;
                }
            }
            return (j, Kind::Comment);
        }
        if c == '/' && next == Some('*') {
            if let Some(close) = self.comment_close.get(i + 2).copied().flatten() {
                return (close + 2, Kind::Comment);
            }
        }
        if c.is_whitespace() {
            return (self.skip_ws(i), Kind::Whitespace);
        }
        if c == '`' || c == '"' {
            return match self.quoted_end(i) {
                Some(end) => (self.ident_rest(end), Kind::Ident),
                None => (i + 1, Kind::Other),
            };
        }
        if c == '\'' {
            return match self.quoted_end(i) {
                Some(end) => (end, Kind::Str),
                None => (i + 1, Kind::Other),
            };
        }
        if is_word(c) {
            if let Some(end) = self.keyword_at(i, "IN") {
                return (end, Kind::Keyword("IN".into()));
            }
            let word_end = self.word_end(i);
            if c.is_alphabetic() {
                let dot = self.skip_ws(word_end);
                if self.member_dot(dot) {
                    return (self.ident_rest(word_end), Kind::Ident);
                }
            }
            if c.is_ascii_digit() {
                if let Some((end, kind)) = self.number(i) {
                    return (end, kind);
                }
            }
            if let Some(end) = self.keyword_at(i, "NOT") {
                let j = self.skip_ws(end);
                if j > end {
                    if let Some(null_end) = self.keyword_at(j, "NULL") {
                        return (null_end, Kind::Keyword("NOT NULL".into()));
                    }
                }
            }
            if let Some(end) = self.optional_not_then(i, &["LIKE", "ILIKE", "RLIKE", "REGEXP"]) {
                return (end, Kind::Comparison);
            }
            let word = self.text(i, word_end).to_uppercase();
            if KEYWORDS.contains(&word.as_str()) {
                return (word_end, Kind::Keyword(word));
            }
            return (self.ident_rest(word_end), Kind::Ident);
        }
        if c == '-' || c == '.' {
            if let Some((end, kind)) = self.number(i) {
                return (end, kind);
            }
        }
        match c {
            ';' => (i + 1, Kind::Semicolon),
            '(' | ')' | ',' | '.' | ':' | '[' | ']' | '*' | '?' => (i + 1, Kind::Other),
            '<' | '>' | '=' | '~' | '!' => {
                let mut j = i;
                while matches!(self.at(j), Some('<' | '>' | '=' | '~' | '!')) {
                    j += 1;
                }
                (j, Kind::Comparison)
            }
            '+' | '/' | '@' | '#' | '%' | '^' | '&' | '|' | '-' => {
                let mut j = i;
                while matches!(
                    self.at(j),
                    Some('+' | '/' | '@' | '#' | '%' | '^' | '&' | '|' | '-')
                ) {
                    j += 1;
                }
                (j, Kind::Other)
            }
            _ => (i + 1, Kind::Other),
        }
    }
}

/// Splits `input` into flat tokens (parentheses are separate `Other` tokens).
fn lex_flat(input: &str) -> Vec<Token> {
    let chars: Vec<char> = input.chars().collect();
    let lexer = Lexer {
        chars: &chars,
        single: quote_ends(&chars, '\'', true),
        double: quote_ends(&chars, '"', true),
        backtick: quote_ends(&chars, '`', false),
        comment_close: comment_closes(&chars),
    };
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (end, kind) = lexer.next(i);
        let end = end.max(i + 1);
        tokens.push(Token {
            kind,
            text: lexer.text(i, end),
        });
        i = end;
    }
    tokens
}

/// Groups each outermost matching `(` … `)` into one [`Kind::Paren`]
/// token; unmatched parentheses stay `Other`. Linear in the input.
fn group_parens(flat: Vec<Token>) -> Vec<Token> {
    let is = |t: &Token, p: &str| t.kind == Kind::Other && t.text == p;
    let mut closing: Vec<Option<usize>> = vec![None; flat.len()];
    let mut open: Vec<usize> = Vec::new();
    for (i, t) in flat.iter().enumerate() {
        if is(t, "(") {
            open.push(i);
        } else if is(t, ")") {
            if let Some(o) = open.pop() {
                closing[o] = Some(i);
            }
        }
    }
    let mut out = Vec::with_capacity(flat.len());
    let mut iter = flat.into_iter().enumerate();
    while let Some((i, token)) = iter.next() {
        let Some(close) = closing[i] else {
            out.push(token);
            continue;
        };
        let mut text = token.text;
        for (j, inner) in iter.by_ref() {
            text.push_str(&inner.text);
            if j == close {
                break;
            }
        }
        out.push(Token {
            kind: Kind::Paren,
            text,
        });
    }
    out
}

/// Tokenizes a search string.
pub(crate) fn tokenize(input: &str) -> Vec<Token> {
    group_parens(lex_flat(input))
}

/// The statements `sqlparse.parse` would find: text split after each `;`,
/// dropping statements that hold only whitespace.
pub(crate) fn statements(tokens: Vec<Token>) -> Vec<Vec<Token>> {
    let mut out: Vec<Vec<Token>> = Vec::new();
    let mut current: Vec<Token> = Vec::new();
    for token in tokens {
        let is_semicolon = token.kind == Kind::Semicolon;
        current.push(token);
        if is_semicolon {
            out.push(std::mem::take(&mut current));
        }
    }
    let only_whitespace = |s: &Vec<Token>| s.iter().all(|t| t.kind == Kind::Whitespace);
    if !current.is_empty() {
        if only_whitespace(&current) {
            if let Some(last) = out.last_mut() {
                last.append(&mut current);
            }
        } else {
            out.push(current);
        }
    }
    out.retain(|s| !only_whitespace(s));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<(Kind, String)> {
        tokenize(s)
            .into_iter()
            .filter(|t| t.kind != Kind::Whitespace)
            .map(|t| (t.kind, t.text))
            .collect()
    }

    fn ident(s: &str) -> (Kind, String) {
        (Kind::Ident, s.to_string())
    }

    #[test]
    fn identifiers() {
        assert_eq!(kinds("metrics.acc"), vec![ident("metrics.acc")]);
        assert_eq!(
            kinds("tags.`mlflow.runName`"),
            vec![ident("tags.`mlflow.runName`")]
        );
        assert_eq!(kinds("tags.\"a b\""), vec![ident("tags.\"a b\"")]);
        assert_eq!(kinds("tags.'a b'"), vec![ident("tags.'a b'")]);
        assert_eq!(kinds("tags.a.b.c"), vec![ident("tags.a.b.c")]);
        assert_eq!(kinds("tags.a . b"), vec![ident("tags.a . b")]);
        assert_eq!(kinds("`Run name`"), vec![ident("`Run name`")]);
        assert_eq!(kinds("\"tags\".a"), vec![ident("\"tags\".a")]);
        assert_eq!(kinds("metrics.1a"), vec![ident("metrics.1a")]);
        assert_eq!(kinds("tags.*"), vec![ident("tags.*")]);
        assert_eq!(kinds("run_id"), vec![ident("run_id")]);
        assert_eq!(kinds("tags.`a``b`"), vec![ident("tags.`a``b`")]);
    }

    #[test]
    fn keywords_and_comparisons() {
        assert_eq!(
            kinds("a IN b in"),
            vec![
                ident("a"),
                (Kind::Keyword("IN".into()), "IN".into()),
                ident("b"),
                (Kind::Keyword("IN".into()), "in".into()),
            ]
        );
        assert_eq!(
            kinds("IS NOT  NULL"),
            vec![
                (Kind::Keyword("IS".into()), "IS".into()),
                (Kind::Keyword("NOT NULL".into()), "NOT  NULL".into()),
            ]
        );
        assert_eq!(
            kinds("not like"),
            vec![(Kind::Comparison, "not like".into())]
        );
        assert_eq!(kinds("ILIKE"), vec![(Kind::Comparison, "ILIKE".into())]);
        assert_eq!(kinds(">="), vec![(Kind::Comparison, ">=".into())]);
        assert_eq!(kinds("<>"), vec![(Kind::Comparison, "<>".into())]);
        assert_eq!(
            kinds("NOT IN"),
            vec![
                (Kind::Keyword("NOT".into()), "NOT".into()),
                (Kind::Keyword("IN".into()), "IN".into()),
            ]
        );
        assert_eq!(kinds("likely"), vec![ident("likely")]);
        assert_eq!(
            kinds("and"),
            vec![(Kind::Keyword("AND".into()), "and".into())]
        );
    }

    #[test]
    fn strings() {
        assert_eq!(kinds("'it''s'"), vec![(Kind::Str, "'it''s'".into())]);
        assert_eq!(kinds(r"'it\'s'"), vec![(Kind::Str, r"'it\'s'".into())]);
        // a trailing backslash before the closing quote
        assert_eq!(kinds(r"'x\'"), vec![(Kind::Str, r"'x\'".into())]);
        assert_eq!(
            kinds("'a' AND 'b'"),
            vec![
                (Kind::Str, "'a'".into()),
                (Kind::Keyword("AND".into()), "AND".into()),
                (Kind::Str, "'b'".into()),
            ]
        );
        assert_eq!(kinds("'x"), vec![(Kind::Other, "'".into()), ident("x")]);
    }

    #[test]
    fn numbers() {
        for (s, k) in [
            ("1", Kind::Int),
            ("-1", Kind::Int),
            ("1.5", Kind::Float),
            ("1.", Kind::Float),
            (".5", Kind::Float),
            ("-1.5e3", Kind::Float),
            ("1e-3", Kind::Float),
        ] {
            assert_eq!(kinds(s), vec![(k, s.to_string())], "{s}");
        }
        assert_eq!(kinds("0x10"), vec![(Kind::Other, "0x10".into())]);
        assert_eq!(kinds("1e"), vec![ident("1e")]);
        assert_eq!(
            kinds("+1"),
            vec![(Kind::Other, "+".into()), (Kind::Int, "1".into())]
        );
        assert_eq!(
            kinds("1.5.5"),
            vec![(Kind::Float, "1.5".into()), (Kind::Float, ".5".into())]
        );
    }

    #[test]
    fn parens() {
        assert_eq!(
            kinds("x IN ('a', (b)) (c"),
            vec![
                ident("x"),
                (Kind::Keyword("IN".into()), "IN".into()),
                (Kind::Paren, "('a', (b))".into()),
                (Kind::Other, "(".into()),
                ident("c"),
            ]
        );
        assert_eq!(
            kinds("(a (b) c)) (d"),
            vec![
                (Kind::Paren, "(a (b) c)".into()),
                (Kind::Other, ")".into()),
                (Kind::Other, "(".into()),
                ident("d"),
            ]
        );
        assert_eq!(
            kinds("((a)"),
            vec![(Kind::Other, "(".into()), (Kind::Paren, "(a)".into())]
        );
        // deep nesting stays linear
        let deep = format!("{}{}", "(".repeat(50_000), ")".repeat(50_000));
        assert_eq!(tokenize(&deep).len(), 1);
        let unmatched = "(".repeat(50_000);
        assert_eq!(tokenize(&unmatched).len(), 50_000);
        assert_eq!(kinds("')'"), vec![(Kind::Str, "')'".into())]);
    }

    #[test]
    fn comments_and_statements() {
        assert_eq!(kinds("-- c"), vec![(Kind::Comment, "-- c".into())]);
        assert_eq!(kinds("/* c */"), vec![(Kind::Comment, "/* c */".into())]);
        assert_eq!(
            kinds("/*/"),
            vec![
                (Kind::Other, "/".into()),
                (Kind::Other, "*".into()),
                (Kind::Other, "/".into())
            ]
        );
        // many unclosed openers stay linear
        assert_eq!(tokenize(&"/*x".repeat(50_000)).len(), 50_000 * 3);
        assert_eq!(statements(tokenize("  ")).len(), 0);
        assert_eq!(statements(tokenize("a;  ")).len(), 1);
        assert_eq!(statements(tokenize("a; b")).len(), 2);
        assert_eq!(statements(tokenize(";")).len(), 1);
    }
}
