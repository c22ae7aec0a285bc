//! `ast.literal_eval` for the literals a search filter's list can hold:
//! strings (escapes, prefixes, implicit concatenation), numbers, tuples and
//! parentheses; anything else is a syntax error (`None`).

/// An element of a literal tuple.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    /// A number, as Python would print it.
    Num(String),
    Tuple(Vec<Literal>),
}

impl Literal {
    /// `repr()` of the value.
    pub fn repr(&self) -> String {
        match self {
            Literal::Str(s) => super::repr_str(s),
            Literal::Num(n) => n.clone(),
            Literal::Tuple(items) => tuple_repr(items),
        }
    }
}

/// `repr()` of a tuple (`('a',)` for one element).
pub fn tuple_repr(items: &[Literal]) -> String {
    let inner: Vec<String> = items.iter().map(Literal::repr).collect();
    if inner.len() == 1 {
        format!("({},)", inner[0])
    } else {
        format!("({})", inner.join(", "))
    }
}

/// Evaluates `text` as one Python literal expression (surrounding
/// whitespace allowed); `None` when Python would raise.
pub fn literal_eval(text: &str) -> Option<Literal> {
    let chars: Vec<char> = text.chars().collect();
    let mut p = LiteralParser {
        chars: &chars,
        pos: 0,
        depth: 0,
    };
    let value = p.expression()?;
    p.skip_ws();
    (p.pos == chars.len()).then_some(value)
}

/// A small parser for the Python literals that can appear in a list:
/// strings (with escapes and implicit concatenation), numbers, tuples and
/// parentheses.
struct LiteralParser<'a> {
    chars: &'a [char],
    pos: usize,
    /// Open parentheses; Python's tokenizer gives up beyond 200.
    depth: usize,
}

const MAX_PAREN_DEPTH: usize = 200;

impl LiteralParser<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self
            .peek()
            .is_some_and(|c| c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\x0c')
        {
            self.pos += 1;
        }
    }

    /// An expression: a tuple or a single value.
    fn expression(&mut self) -> Option<Literal> {
        self.skip_ws();
        match self.peek()? {
            '(' => {
                if self.depth >= MAX_PAREN_DEPTH {
                    return None;
                }
                self.depth += 1;
                self.pos += 1;
                let mut items = Vec::new();
                let mut trailing_comma = false;
                loop {
                    self.skip_ws();
                    if self.peek() == Some(')') {
                        self.pos += 1;
                        break;
                    }
                    items.push(self.expression()?);
                    self.skip_ws();
                    match self.peek()? {
                        ',' => {
                            self.pos += 1;
                            trailing_comma = true;
                        }
                        ')' => {
                            self.pos += 1;
                            trailing_comma = false;
                            break;
                        }
                        _ => return None,
                    }
                }
                self.depth -= 1;
                if items.len() == 1 && !trailing_comma {
                    items.pop()
                } else {
                    Some(Literal::Tuple(items))
                }
            }
            '\'' | '"' => {
                let mut s = self.string()?;
                loop {
                    let save = self.pos;
                    self.skip_ws();
                    if matches!(self.peek(), Some('\'' | '"')) {
                        s.push_str(&self.string()?);
                    } else {
                        self.pos = save;
                        break;
                    }
                }
                Some(Literal::Str(s))
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => self.number(),
            _ => None,
        }
    }

    fn number(&mut self) -> Option<Literal> {
        let mut negative = false;
        if let Some(c @ ('-' | '+')) = self.peek() {
            negative = c == '-';
            self.pos += 1;
            self.skip_ws();
        }
        let start = self.pos;
        let mut prev = ' ';
        while let Some(c) = self.peek() {
            let exponent_sign = matches!(c, '-' | '+') && matches!(prev, 'e' | 'E');
            if !(c.is_ascii_alphanumeric() || c == '.' || c == '_' || exponent_sign) {
                break;
            }
            prev = c;
            self.pos += 1;
        }
        let body: String = self.chars[start..self.pos].iter().collect();
        if body.is_empty() {
            return None;
        }
        if body.chars().all(|c| c.is_ascii_digit() || c == '_') {
            let n = super::parse_int(&body)?;
            return Some(Literal::Num(if negative { -n } else { n }.to_string()));
        }
        if body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '_' | '+' | '-'))
        {
            let f: f64 = body.replace('_', "").parse().ok()?;
            return Some(Literal::Num(super::repr_float(if negative {
                -f
            } else {
                f
            })));
        }
        None
    }

    /// One string literal with Python's escapes.
    fn string(&mut self) -> Option<String> {
        let quote = self.peek()?;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            self.pos += 1;
            match c {
                _ if c == quote => return Some(out),
                '\n' | '\r' => return None,
                '\\' => {
                    let e = self.peek()?;
                    self.pos += 1;
                    match e {
                        '\n' => {}
                        '\\' | '\'' | '"' => out.push(e),
                        'a' => out.push('\u{7}'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'v' => out.push('\u{b}'),
                        '0'..='7' => {
                            let mut v = e.to_digit(8)?;
                            for _ in 0..2 {
                                match self.peek().and_then(|d| d.to_digit(8)) {
                                    Some(d) => {
                                        v = v * 8 + d;
                                        self.pos += 1;
                                    }
                                    None => break,
                                }
                            }
                            out.push(char::from_u32(v)?);
                        }
                        'x' | 'u' | 'U' => {
                            let n = match e {
                                'x' => 2,
                                'u' => 4,
                                _ => 8,
                            };
                            let mut v = 0u32;
                            for _ in 0..n {
                                v = v * 16 + self.peek()?.to_digit(16)?;
                                self.pos += 1;
                            }
                            out.push(char::from_u32(v)?);
                        }
                        other => {
                            out.push('\\');
                            out.push(other);
                        }
                    }
                }
                _ => out.push(c),
            }
        }
    }
}
