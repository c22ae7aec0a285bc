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

/// Bound parameters one statement may carry: SQLite's limit is 32,766 since
/// 3.32, PostgreSQL's 65,535; this leaves room on both.
const MAX_PARAMS_PER_STATEMENT: usize = 30_000;

/// The values of one row of a [`insert_rows`] statement: each call appends
/// one bound value, separated from the previous one.
pub struct RowValues<'a> {
    sql: &'a mut Sql,
    first: bool,
}

impl RowValues<'_> {
    fn next(&mut self) -> &mut Sql {
        if !self.first {
            self.sql.push(", ");
        }
        self.first = false;
        self.sql
    }

    pub fn str(&mut self, s: &str) -> &mut Self {
        self.next().str(s);
        self
    }

    // The registry's and logged models' inserts bind optional columns; they
    // move onto `insert_rows` separately.
    #[allow(dead_code)]
    pub fn opt_str(&mut self, s: Option<&str>) -> &mut Self {
        self.next().opt_str(s);
        self
    }

    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.next().i64(v);
        self
    }

    #[allow(dead_code)]
    pub fn opt_i64(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => self.i64(v),
            None => {
                self.next().push("NULL");
                self
            }
        }
    }

    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.next().f64(v);
        self
    }

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.next().bool(v);
        self
    }
}

/// The statements of a multi-row `INSERT INTO {table} ({columns}) VALUES
/// (…), (…) {suffix}` over `rows`, split so that none binds more than
/// [`ROWS_PER_INSERT`] rows or [`MAX_PARAMS_PER_STATEMENT`] values.
/// `values` appends one row's values, in `columns` order. `suffix` is the
/// conflict clause (`ON CONFLICT … DO …`) or empty.
pub fn insert_statements<T>(
    table: &str,
    columns: &[&str],
    suffix: &str,
    rows: &[T],
    mut values: impl FnMut(&mut RowValues<'_>, &T),
) -> Vec<Sql> {
    let per_statement = (MAX_PARAMS_PER_STATEMENT / columns.len().max(1)).clamp(1, ROWS_PER_INSERT);
    let head = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    rows.chunks(per_statement)
        .map(|chunk| {
            let mut q = Sql::new(&head);
            for (i, row) in chunk.iter().enumerate() {
                q.push(if i == 0 { "(" } else { ", (" });
                values(
                    &mut RowValues {
                        sql: &mut q,
                        first: true,
                    },
                    row,
                );
                q.push(")");
            }
            if !suffix.is_empty() {
                q.push(" ").push(suffix);
            }
            q
        })
        .collect()
}

/// Runs [`insert_statements`] on `conn` (a transaction's connection: the
/// statements of one call commit or roll back together with it).
pub async fn insert_rows<T>(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    columns: &[&str],
    suffix: &str,
    rows: &[T],
    values: impl FnMut(&mut RowValues<'_>, &T),
) -> Result<(), sqlx::Error> {
    for statement in insert_statements(table, columns, suffix, rows, values) {
        statement.query().execute(&mut *conn).await?;
    }
    Ok(())
}

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

    #[test]
    fn insert_statements_number_every_row() {
        let rows = [("a", 1), ("b", 2)];
        let statements = insert_statements(
            "t",
            &["k", "v", "n"],
            "ON CONFLICT DO NOTHING",
            &rows,
            |row, (k, n)| {
                row.str(k).opt_i64(None).i64(*n);
            },
        );
        assert_eq!(statements.len(), 1);
        assert_eq!(
            statements[0].text,
            "INSERT INTO t (k, v, n) VALUES ($1, NULL, $2), ($3, NULL, $4) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            statements[0].args,
            [
                Arg::Str("a".into()),
                Arg::I64(1),
                Arg::Str("b".into()),
                Arg::I64(2)
            ]
        );
    }

    #[test]
    fn insert_statements_split_by_rows_and_by_parameters() {
        let rows: Vec<i64> = (0..1234).collect();
        let narrow = insert_statements("t", &["n"], "", &rows, |row, n| {
            row.i64(*n);
        });
        assert_eq!(narrow.len(), 3);
        assert_eq!(narrow[0].args.len(), ROWS_PER_INSERT);
        let wide_columns: Vec<String> = (0..100).map(|i| format!("c{i}")).collect();
        let wide_columns: Vec<&str> = wide_columns.iter().map(String::as_str).collect();
        let wide = insert_statements("t", &wide_columns, "", &rows, |row, n| {
            for _ in 0..100 {
                row.i64(*n);
            }
        });
        assert!(wide
            .iter()
            .all(|q| q.args.len() <= MAX_PARAMS_PER_STATEMENT));
        assert_eq!(wide.iter().map(|q| q.args.len()).sum::<usize>(), 123_400);
        assert!(insert_statements("t", &["n"], "", &[] as &[i64], |_, _| {}).is_empty());
    }
}
