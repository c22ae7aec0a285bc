//! A small SQL builder: text plus typed arguments, numbering `$N`
//! placeholders as it goes (both SQLite and PostgreSQL accept `$N`).

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::Any;

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Str(String),
    I64(i64),
    F64(f64),
    Bool(bool),
    NullStr,
}

#[derive(Debug, Default, Clone)]
pub struct Sql {
    pub text: String,
    pub args: Vec<Arg>,
}

impl Sql {
    pub fn new(text: &str) -> Sql {
        Sql {
            text: text.to_string(),
            args: Vec::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> &mut Sql {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `arg`.
    pub fn arg(&mut self, arg: Arg) -> &mut Sql {
        self.args.push(arg);
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }

    pub fn str(&mut self, s: &str) -> &mut Sql {
        self.arg(Arg::Str(s.to_string()))
    }

    pub fn opt_str(&mut self, s: Option<&str>) -> &mut Sql {
        match s {
            Some(s) => self.str(s),
            None => self.arg(Arg::NullStr),
        }
    }

    pub fn i64(&mut self, v: i64) -> &mut Sql {
        self.arg(Arg::I64(v))
    }

    pub fn f64(&mut self, v: f64) -> &mut Sql {
        self.arg(Arg::F64(v))
    }

    pub fn bool(&mut self, v: bool) -> &mut Sql {
        self.arg(Arg::Bool(v))
    }

    /// `(…, …, …)` of string placeholders.
    pub fn str_list<S: AsRef<str>>(&mut self, items: &[S]) -> &mut Sql {
        self.text.push('(');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.str(item.as_ref());
        }
        self.text.push(')');
        self
    }

    pub fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for a in &self.args {
            q = match a {
                Arg::Str(s) => q.bind(s.as_str()),
                Arg::I64(v) => q.bind(*v),
                Arg::F64(v) => q.bind(*v),
                Arg::Bool(v) => q.bind(*v),
                Arg::NullStr => q.bind(None::<String>),
            };
        }
        q
    }
}

/// Reads an optional column that may come back as any integer width.
pub fn get_opt_i64(row: &AnyRow, col: &str) -> Result<Option<i64>, sqlx::Error> {
    use sqlx::Row;
    row.try_get::<Option<i64>, _>(col)
}

/// Splits rows into chunks small enough for SQLite's parameter limit.
pub const ROWS_PER_INSERT: usize = 500;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut q = Sql::new("SELECT * FROM t WHERE a = ");
        q.str("x")
            .push(" AND b IN ")
            .str_list(&["1", "2"])
            .push(" AND c = ")
            .i64(3);
        assert_eq!(
            q.text,
            "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3) AND c = $4"
        );
        assert_eq!(q.args.len(), 4);
    }
}
