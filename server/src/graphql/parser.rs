//! A parser for GraphQL executable documents (operations and fragments):
//! the only part of the language a client sends. Type-system definitions
//! are refused as syntax errors, since no client of this server sends them.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Variable(String),
    Int(String),
    Float(String),
    String(String),
    Boolean(bool),
    Null,
    Enum(String),
    List(Vec<Value>),
    Object(Vec<(String, Value)>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    Named(String),
    List(Box<Type>),
    NonNull(Box<Type>),
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Named(n) => f.write_str(n),
            Type::List(t) => write!(f, "[{t}]"),
            Type::NonNull(t) => write!(f, "{t}!"),
        }
    }
}

impl Type {
    pub fn named(&self) -> &str {
        match self {
            Type::Named(n) => n,
            Type::List(t) | Type::NonNull(t) => t.named(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Directive {
    pub name: String,
    pub arguments: Vec<(String, Value)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub alias: Option<String>,
    pub name: String,
    pub arguments: Vec<(String, Value)>,
    pub directives: Vec<Directive>,
    pub selection_set: Option<Vec<Selection>>,
}

impl Field {
    pub fn response_key(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    Field(Field),
    FragmentSpread {
        name: String,
        directives: Vec<Directive>,
    },
    InlineFragment {
        type_condition: Option<String>,
        directives: Vec<Directive>,
        selection_set: Vec<Selection>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    Query,
    Mutation,
    Subscription,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VariableDefinition {
    pub name: String,
    pub ty: Type,
    pub default: Option<Value>,
    pub directives: Vec<Directive>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub kind: OperationKind,
    pub name: Option<String>,
    pub variables: Vec<VariableDefinition>,
    pub directives: Vec<Directive>,
    pub selection_set: Vec<Selection>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fragment {
    pub name: String,
    pub type_condition: String,
    pub directives: Vec<Directive>,
    pub selection_set: Vec<Selection>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Definition {
    Operation(Operation),
    Fragment(Fragment),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    pub definitions: Vec<Definition>,
}

impl Document {
    pub fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.definitions.iter().filter_map(|d| match d {
            Definition::Operation(o) => Some(o),
            Definition::Fragment(_) => None,
        })
    }

    pub fn fragments(&self) -> impl Iterator<Item = &Fragment> {
        self.definitions.iter().filter_map(|d| match d {
            Definition::Fragment(f) => Some(f),
            Definition::Operation(_) => None,
        })
    }

    pub fn fragment(&self, name: &str) -> Option<&Fragment> {
        self.fragments().find(|f| f.name == name)
    }
}

/// A syntax error, worded like graphql-core's (`Syntax Error: Expected
/// Name, found <EOF>.`) with the line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Syntax Error: {} (line {}, column {})",
            self.message, self.line, self.column
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Punct(char),
    Spread,
    Name(String),
    Int(String),
    Float(String),
    Str(String),
    Eof,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Punct(c) => write!(f, "'{c}'"),
            Tok::Spread => f.write_str("'...'"),
            Tok::Name(n) => write!(f, "Name '{n}'"),
            Tok::Int(n) => write!(f, "Int '{n}'"),
            Tok::Float(n) => write!(f, "Float '{n}'"),
            Tok::Str(_) => f.write_str("String"),
            Tok::Eof => f.write_str("<EOF>"),
        }
    }
}

struct Lexer<'a> {
    src: &'a [char],
    pos: usize,
}

type PResult<T> = Result<T, SyntaxError>;

impl Lexer<'_> {
    fn error_at(&self, pos: usize, message: impl Into<String>) -> SyntaxError {
        let (mut line, mut column) = (1, 1);
        for &c in &self.src[..pos.min(self.src.len())] {
            if c == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        SyntaxError {
            message: message.into(),
            line,
            column,
        }
    }

    fn peek_char(&self, offset: usize) -> Option<char> {
        self.src.get(self.pos + offset).copied()
    }

    fn skip_ignored(&mut self) {
        while let Some(c) = self.peek_char(0) {
            match c {
                ' ' | '\t' | '\n' | '\r' | ',' | '\u{feff}' => self.pos += 1,
                '#' => {
                    while let Some(c) = self.peek_char(0) {
                        if c == '\n' || c == '\r' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    /// The next token and the position where it starts.
    fn next(&mut self) -> PResult<(Tok, usize)> {
        self.skip_ignored();
        let start = self.pos;
        let Some(c) = self.peek_char(0) else {
            return Ok((Tok::Eof, start));
        };
        let tok = match c {
            '!' | '$' | '&' | '(' | ')' | ':' | '=' | '@' | '[' | ']' | '{' | '|' | '}' => {
                self.pos += 1;
                Tok::Punct(c)
            }
            '.' => {
                if self.peek_char(1) == Some('.') && self.peek_char(2) == Some('.') {
                    self.pos += 3;
                    Tok::Spread
                } else {
                    return Err(self.error_at(start, "Unexpected character: '.'."));
                }
            }
            '"' => self.string()?,
            c if c == '_' || c.is_ascii_alphabetic() => {
                while self
                    .peek_char(0)
                    .is_some_and(|c| c == '_' || c.is_ascii_alphanumeric())
                {
                    self.pos += 1;
                }
                Tok::Name(self.src[start..self.pos].iter().collect())
            }
            c if c == '-' || c.is_ascii_digit() => self.number()?,
            other => {
                return Err(self.error_at(start, format!("Unexpected character: {other:?}.")));
            }
        };
        Ok((tok, start))
    }

    fn digits(&mut self) -> PResult<()> {
        if !self.peek_char(0).is_some_and(|c| c.is_ascii_digit()) {
            let found = self
                .peek_char(0)
                .map_or("<EOF>".to_string(), |c| format!("{c:?}"));
            return Err(self.error_at(
                self.pos,
                format!("Invalid number, expected digit but got: {found}."),
            ));
        }
        while self.peek_char(0).is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        Ok(())
    }

    fn number(&mut self) -> PResult<Tok> {
        let start = self.pos;
        let mut float = false;
        if self.peek_char(0) == Some('-') {
            self.pos += 1;
        }
        if self.peek_char(0) == Some('0') {
            self.pos += 1;
            if self.peek_char(0).is_some_and(|c| c.is_ascii_digit()) {
                return Err(self.error_at(self.pos, "Invalid number, unexpected digit after 0."));
            }
        } else {
            self.digits()?;
        }
        if self.peek_char(0) == Some('.') {
            float = true;
            self.pos += 1;
            self.digits()?;
        }
        if matches!(self.peek_char(0), Some('e' | 'E')) {
            float = true;
            self.pos += 1;
            if matches!(self.peek_char(0), Some('+' | '-')) {
                self.pos += 1;
            }
            self.digits()?;
        }
        if self
            .peek_char(0)
            .is_some_and(|c| c == '.' || c == '_' || c.is_ascii_alphabetic())
        {
            return Err(self.error_at(self.pos, "Invalid number."));
        }
        let text: String = self.src[start..self.pos].iter().collect();
        Ok(if float {
            Tok::Float(text)
        } else {
            Tok::Int(text)
        })
    }

    fn string(&mut self) -> PResult<Tok> {
        if self.peek_char(1) == Some('"') && self.peek_char(2) == Some('"') {
            return self.block_string();
        }
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek_char(0) else {
                return Err(self.error_at(start, "Unterminated string."));
            };
            match c {
                '"' => {
                    self.pos += 1;
                    return Ok(Tok::Str(out));
                }
                '\n' | '\r' => return Err(self.error_at(self.pos, "Unterminated string.")),
                '\\' => {
                    let esc = self.peek_char(1);
                    self.pos += 2;
                    match esc {
                        Some('"') => out.push('"'),
                        Some('\\') => out.push('\\'),
                        Some('/') => out.push('/'),
                        Some('b') => out.push('\u{8}'),
                        Some('f') => out.push('\u{c}'),
                        Some('n') => out.push('\n'),
                        Some('r') => out.push('\r'),
                        Some('t') => out.push('\t'),
                        Some('u') => {
                            let hex: String = self
                                .src
                                .get(self.pos..self.pos + 4)
                                .unwrap_or(&[])
                                .iter()
                                .collect();
                            let ch = u32::from_str_radix(&hex, 16)
                                .ok()
                                .filter(|_| hex.len() == 4)
                                .and_then(char::from_u32)
                                .ok_or_else(|| {
                                    self.error_at(self.pos, "Invalid Unicode escape sequence.")
                                })?;
                            out.push(ch);
                            self.pos += 4;
                        }
                        _ => {
                            return Err(
                                self.error_at(self.pos - 1, "Invalid character escape sequence.")
                            )
                        }
                    }
                }
                c => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn block_string(&mut self) -> PResult<Tok> {
        let start = self.pos;
        self.pos += 3;
        let mut raw = String::new();
        loop {
            match self.peek_char(0) {
                None => return Err(self.error_at(start, "Unterminated string.")),
                Some('"') if self.peek_char(1) == Some('"') && self.peek_char(2) == Some('"') => {
                    self.pos += 3;
                    return Ok(Tok::Str(block_string_value(&raw)));
                }
                Some('\\')
                    if self.peek_char(1) == Some('"')
                        && self.peek_char(2) == Some('"')
                        && self.peek_char(3) == Some('"') =>
                {
                    raw.push_str("\"\"\"");
                    self.pos += 4;
                }
                Some(c) => {
                    raw.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}

/// The spec's BlockStringValue: common indentation and blank first/last
/// lines removed.
fn block_string_value(raw: &str) -> String {
    let lines: Vec<&str> = raw
        .split(['\n'])
        .map(|l| l.trim_end_matches('\r'))
        .collect();
    let indent = lines
        .iter()
        .skip(1)
        .filter_map(|l| {
            let n = l.len() - l.trim_start_matches([' ', '\t']).len();
            (n < l.len()).then_some(n)
        })
        .min()
        .unwrap_or(0);
    let mut out: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                (*l).to_string()
            } else {
                l.get(indent..).unwrap_or("").to_string()
            }
        })
        .collect();
    while out
        .first()
        .is_some_and(|l| l.trim_matches([' ', '\t']).is_empty())
    {
        out.remove(0);
    }
    while out
        .last()
        .is_some_and(|l| l.trim_matches([' ', '\t']).is_empty())
    {
        out.pop();
    }
    out.join("\n")
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    tok: Tok,
    tok_pos: usize,
    /// Open brackets (selection sets, list and object values, list types)
    /// around the current token.
    nesting: usize,
}

/// Most brackets one document may nest. The parser, the validator and the
/// executor all recurse over the tree, so without this bound a request of
/// a few kilobytes of `{` would overflow the worker's stack and abort the
/// whole server; MLflow's own depth limit (10) only applies after parsing.
pub const MAX_NESTING: usize = 64;

/// Parses an executable document.
pub fn parse(source: &str) -> Result<Document, SyntaxError> {
    let chars: Vec<char> = source.chars().collect();
    let mut lexer = Lexer {
        src: &chars,
        pos: 0,
    };
    let (tok, tok_pos) = lexer.next()?;
    let mut p = Parser {
        lexer,
        tok,
        tok_pos,
        nesting: 0,
    };
    let mut definitions = Vec::new();
    loop {
        definitions.push(p.definition()?);
        if p.tok == Tok::Eof {
            break;
        }
    }
    Ok(Document { definitions })
}

impl Parser<'_> {
    /// Runs `inner` one bracket deeper, refusing documents nested deeper
    /// than [`MAX_NESTING`].
    fn nested<T>(&mut self, inner: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.nesting >= MAX_NESTING {
            return Err(self.lexer.error_at(
                self.tok_pos,
                format!(
                    "Document is nested too deeply: more than {MAX_NESTING} levels of brackets."
                ),
            ));
        }
        self.nesting += 1;
        let result = inner(self);
        self.nesting -= 1;
        result
    }

    fn advance(&mut self) -> PResult<Tok> {
        let (tok, pos) = self.lexer.next()?;
        self.tok_pos = pos;
        Ok(std::mem::replace(&mut self.tok, tok))
    }

    fn unexpected(&self) -> SyntaxError {
        self.lexer
            .error_at(self.tok_pos, format!("Unexpected {}.", self.tok))
    }

    fn expected(&self, what: &str) -> SyntaxError {
        self.lexer.error_at(
            self.tok_pos,
            format!("Expected {what}, found {}.", self.tok),
        )
    }

    fn is_punct(&self, c: char) -> bool {
        self.tok == Tok::Punct(c)
    }

    fn expect_punct(&mut self, c: char) -> PResult<()> {
        if self.is_punct(c) {
            self.advance()?;
            Ok(())
        } else {
            Err(self.expected(&format!("'{c}'")))
        }
    }

    fn skip_punct(&mut self, c: char) -> PResult<bool> {
        if self.is_punct(c) {
            self.advance()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn name(&mut self) -> PResult<String> {
        match &self.tok {
            Tok::Name(_) => match self.advance()? {
                Tok::Name(n) => Ok(n),
                _ => Err(self.expected("Name")),
            },
            _ => Err(self.expected("Name")),
        }
    }

    fn definition(&mut self) -> PResult<Definition> {
        if self.is_punct('{') {
            return Ok(Definition::Operation(Operation {
                kind: OperationKind::Query,
                name: None,
                variables: Vec::new(),
                directives: Vec::new(),
                selection_set: self.selection_set()?,
            }));
        }
        let Tok::Name(keyword) = self.tok.clone() else {
            return Err(self.unexpected());
        };
        let kind = match keyword.as_str() {
            "query" => OperationKind::Query,
            "mutation" => OperationKind::Mutation,
            "subscription" => OperationKind::Subscription,
            "fragment" => return self.fragment().map(Definition::Fragment),
            _ => return Err(self.unexpected()),
        };
        self.advance()?;
        let name = match self.tok {
            Tok::Name(_) => Some(self.name()?),
            _ => None,
        };
        let variables = self.variable_definitions()?;
        let directives = self.directives(false)?;
        Ok(Definition::Operation(Operation {
            kind,
            name,
            variables,
            directives,
            selection_set: self.selection_set()?,
        }))
    }

    fn fragment(&mut self) -> PResult<Fragment> {
        self.advance()?;
        if self.tok == Tok::Name("on".into()) {
            return Err(self.unexpected());
        }
        let name = self.name()?;
        if self.tok != Tok::Name("on".into()) {
            return Err(self.expected("'on'"));
        }
        self.advance()?;
        let type_condition = self.name()?;
        let directives = self.directives(false)?;
        Ok(Fragment {
            name,
            type_condition,
            directives,
            selection_set: self.selection_set()?,
        })
    }

    fn variable_definitions(&mut self) -> PResult<Vec<VariableDefinition>> {
        let mut defs = Vec::new();
        if !self.skip_punct('(')? {
            return Ok(defs);
        }
        loop {
            self.expect_punct('$')?;
            let name = self.name()?;
            self.expect_punct(':')?;
            let ty = self.type_ref()?;
            let default = if self.skip_punct('=')? {
                Some(self.value(true)?)
            } else {
                None
            };
            let directives = self.directives(true)?;
            defs.push(VariableDefinition {
                name,
                ty,
                default,
                directives,
            });
            if self.skip_punct(')')? {
                return Ok(defs);
            }
        }
    }

    fn type_ref(&mut self) -> PResult<Type> {
        let ty = if self.skip_punct('[')? {
            let inner = self.nested(Self::type_ref)?;
            self.expect_punct(']')?;
            Type::List(Box::new(inner))
        } else {
            Type::Named(self.name()?)
        };
        Ok(if self.skip_punct('!')? {
            Type::NonNull(Box::new(ty))
        } else {
            ty
        })
    }

    fn directives(&mut self, is_const: bool) -> PResult<Vec<Directive>> {
        let mut out = Vec::new();
        while self.skip_punct('@')? {
            let name = self.name()?;
            let arguments = self.arguments(is_const)?;
            out.push(Directive { name, arguments });
        }
        Ok(out)
    }

    fn arguments(&mut self, is_const: bool) -> PResult<Vec<(String, Value)>> {
        let mut out = Vec::new();
        if !self.skip_punct('(')? {
            return Ok(out);
        }
        loop {
            let name = self.name()?;
            self.expect_punct(':')?;
            out.push((name, self.value(is_const)?));
            if self.skip_punct(')')? {
                return Ok(out);
            }
        }
    }

    fn value(&mut self, is_const: bool) -> PResult<Value> {
        match &self.tok {
            Tok::Punct('$') if !is_const => {
                self.advance()?;
                Ok(Value::Variable(self.name()?))
            }
            Tok::Punct('[') => {
                self.advance()?;
                self.nested(|p| {
                    let mut items = Vec::new();
                    while !p.skip_punct(']')? {
                        if p.tok == Tok::Eof {
                            return Err(p.unexpected());
                        }
                        items.push(p.value(is_const)?);
                    }
                    Ok(Value::List(items))
                })
            }
            Tok::Punct('{') => {
                self.advance()?;
                self.nested(|p| {
                    let mut fields = Vec::new();
                    while !p.skip_punct('}')? {
                        let name = p.name()?;
                        p.expect_punct(':')?;
                        fields.push((name, p.value(is_const)?));
                    }
                    Ok(Value::Object(fields))
                })
            }
            Tok::Int(_) | Tok::Float(_) | Tok::Str(_) | Tok::Name(_) => {
                Ok(match self.advance()? {
                    Tok::Int(n) => Value::Int(n),
                    Tok::Float(n) => Value::Float(n),
                    Tok::Str(s) => Value::String(s),
                    Tok::Name(n) => match n.as_str() {
                        "true" => Value::Boolean(true),
                        "false" => Value::Boolean(false),
                        "null" => Value::Null,
                        _ => Value::Enum(n),
                    },
                    _ => Value::Null,
                })
            }
            _ => Err(self.unexpected()),
        }
    }

    fn selection_set(&mut self) -> PResult<Vec<Selection>> {
        self.expect_punct('{')?;
        self.nested(|p| {
            let mut out = Vec::new();
            loop {
                out.push(p.selection()?);
                if p.skip_punct('}')? {
                    return Ok(out);
                }
            }
        })
    }

    fn selection(&mut self) -> PResult<Selection> {
        if self.tok == Tok::Spread {
            self.advance()?;
            let on = self.tok == Tok::Name("on".into());
            if matches!(self.tok, Tok::Name(_)) && !on {
                let name = self.name()?;
                let directives = self.directives(false)?;
                return Ok(Selection::FragmentSpread { name, directives });
            }
            let type_condition = if on {
                self.advance()?;
                Some(self.name()?)
            } else {
                None
            };
            let directives = self.directives(false)?;
            return Ok(Selection::InlineFragment {
                type_condition,
                directives,
                selection_set: self.selection_set()?,
            });
        }
        let first = self.name()?;
        let (alias, name) = if self.skip_punct(':')? {
            (Some(first), self.name()?)
        } else {
            (None, first)
        };
        let arguments = self.arguments(false)?;
        let directives = self.directives(false)?;
        let selection_set = if self.is_punct('{') {
            Some(self.selection_set()?)
        } else {
            None
        };
        Ok(Selection::Field(Field {
            alias,
            name,
            arguments,
            directives,
            selection_set,
        }))
    }
}

/// A value as graphql-core's `print_ast` writes it in messages.
pub fn print_value(v: &Value) -> String {
    match v {
        Value::Variable(n) => format!("${n}"),
        Value::Int(n) | Value::Float(n) | Value::Enum(n) => n.clone(),
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        Value::Boolean(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::List(items) => format!(
            "[{}]",
            items.iter().map(print_value).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(fields) => format!(
            "{{{}}}",
            fields
                .iter()
                .map(|(k, v)| format!("{k}: {}", print_value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_ui_get_run_query() {
        let doc = parse(
            r#"query GetRun($data: MlflowGetRunInput!) @component(name: "MLflow.ExperimentRunTracking") {
                mlflowGetRun(input: $data) { apiError { helpUrl code message } run { info { runName } } }
            }"#,
        )
        .unwrap();
        let op = doc.operations().next().unwrap();
        assert_eq!(op.name.as_deref(), Some("GetRun"));
        assert_eq!(op.variables[0].ty.to_string(), "MlflowGetRunInput!");
        assert_eq!(op.directives[0].name, "component");
        let Selection::Field(f) = &op.selection_set[0] else {
            panic!("field expected")
        };
        assert_eq!(f.name, "mlflowGetRun");
        assert_eq!(f.arguments[0].1, Value::Variable("data".into()));
        assert_eq!(f.selection_set.as_ref().unwrap().len(), 2);
    }

    #[test]
    fn values_fragments_aliases_and_comments() {
        let doc = parse(
            "# a comment\n{ a: f(x: [1, -2.5e3, \"s\\u0041\", true, null, ALL, {k: $v}]) { ...F ... on T { y } } }\nfragment F on T { z }",
        )
        .unwrap();
        let op = doc.operations().next().unwrap();
        let Selection::Field(f) = &op.selection_set[0] else {
            panic!("field expected")
        };
        assert_eq!(f.alias.as_deref(), Some("a"));
        assert_eq!(
            print_value(&f.arguments[0].1),
            "[1, -2.5e3, \"sA\", true, null, ALL, {k: $v}]"
        );
        assert!(doc.fragment("F").is_some());
        let sels = f.selection_set.as_ref().unwrap();
        assert!(matches!(&sels[0], Selection::FragmentSpread { name, .. } if name == "F"));
        assert!(
            matches!(&sels[1], Selection::InlineFragment { type_condition: Some(t), .. } if t == "T")
        );
    }

    #[test]
    fn block_strings_drop_common_indentation() {
        let doc = parse("{ f(x: \"\"\"\n    a\n      b\n  \"\"\") }").unwrap();
        let op = doc.operations().next().unwrap();
        let Selection::Field(f) = &op.selection_set[0] else {
            panic!("field expected")
        };
        assert_eq!(f.arguments[0].1, Value::String("a\n  b".into()));
    }

    #[test]
    fn deep_nesting_is_a_syntax_error_not_a_stack_overflow() {
        let deep =
            |open: &str, close: &str, n: usize| format!("{}{}", open.repeat(n), close.repeat(n));
        let ok = format!(
            "{{{}x{}}}",
            "a{".repeat(MAX_NESTING - 2),
            "}".repeat(MAX_NESTING - 2)
        );
        assert!(parse(&ok).is_ok());
        for query in [
            format!("{{{}x{}}}", "a{".repeat(100_000), "}".repeat(100_000)),
            format!("{{ f(x: {}) }}", deep("[", "]", 100_000)),
            format!(
                "{{ f(x: {}) }}",
                "{a: ".repeat(100_000) + &"}".repeat(100_000)
            ),
            format!(
                "query($v: {}Int{}) {{ f }}",
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
        ] {
            let err = parse(&query).unwrap_err();
            assert!(err.to_string().contains("nested too deeply"), "{err}");
        }
    }

    #[test]
    fn syntax_errors_name_the_token_and_position() {
        let e = parse("{ mlflowGetRun(input: {runId: \"x\"}) { run ").unwrap_err();
        assert_eq!(e.message, "Expected Name, found <EOF>.");
        assert_eq!(e.line, 1);
        let e = parse("{ a(x: $) }").unwrap_err();
        assert_eq!(e.message, "Expected Name, found ')'.");
        assert!(parse("").is_err());
        assert!(parse("type Foo { a: Int }").is_err());
        assert!(parse("{ a(x: 01) }").is_err());
        assert!(parse("{ a(x: \"open) }").is_err());
    }
}
