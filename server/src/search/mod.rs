//! MLflow's search grammar: filter strings (`metrics.acc > 0.9 AND
//! tags.`mlflow.runName` LIKE 'x%'`), `order_by` clauses and page tokens.
//! Pure parsing: the SQL is built from these types by the store. Errors
//! are [`SearchError`]s, which become `INVALID_PARAMETER_VALUE` answers.
//!
//! * `filter/`: the filter grammar (documented there), the four endpoints
//!   that share it (`specs.rs`), the logged-model filter
//!   (`logged_models.rs`) and the literals (`literals.rs`);
//! * `lexer.rs`: sqlparse's tokens, as far as search strings need them;
//! * `order_by.rs`, `page_token.rs`.

mod error;
mod filter;
#[cfg(test)]
mod fuzz;
mod lexer;
mod order_by;
mod page_token;

pub use error::{SearchError, SearchResult};

pub use filter::{
    parse_experiment_filter, parse_logged_model_filter, parse_model_version_filter,
    parse_registered_model_filter, parse_run_filter,
};
pub use order_by::{
    parse_experiment_order_by, parse_model_version_order_by, parse_registered_model_order_by,
    parse_run_order_by,
};
pub use page_token::{decode_page_token, encode_page_token};

/// What a clause or ordering key refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityKind {
    /// A column of the searched entity (`attributes.status`, `name`, …).
    Attribute,
    Metric,
    Param,
    Tag,
    Dataset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    ILike,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

impl Comparator {
    pub fn sql(self) -> &'static str {
        match self {
            Comparator::Eq => "=",
            Comparator::Ne => "!=",
            Comparator::Lt => "<",
            Comparator::Le => "<=",
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
            Comparator::Like => "LIKE",
            Comparator::ILike => "ILIKE",
            Comparator::In => "IN",
            Comparator::NotIn => "NOT IN",
            Comparator::IsNull => "IS NULL",
            Comparator::IsNotNull => "IS NOT NULL",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    Str(String),
    Num(f64),
    List(Vec<String>),
    /// For `IS NULL` / `IS NOT NULL`.
    None,
}

/// One `<entity>.<key> <comparator> <value>` clause of a conjunction.
/// For attributes, `key` is the canonical attribute name (aliases such as
/// `created` → `start_time`, `run name` → `run_name` are resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub entity: EntityKind,
    pub key: String,
    pub comparator: Comparator,
    pub value: FilterValue,
}

/// One `order_by` entry. For attributes, `key` is canonical.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderBy {
    pub entity: EntityKind,
    pub key: String,
    pub ascending: bool,
}
