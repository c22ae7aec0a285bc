//! Turns parsed search clauses and orderings into SQL for runs and
//! experiments. Every value is a bound argument; keys never reach the SQL
//! text (column names come from fixed tables).

use super::query::Sql;
use super::Dialect;
use crate::error::{ApiError, ApiResult};
use crate::search::{
    parse_experiment_filter, parse_experiment_order_by, parse_run_filter, parse_run_order_by,
    Clause, Comparator, EntityKind, FilterValue,
};

fn run_attribute_column(key: &str) -> ApiResult<&'static str> {
    Ok(match key {
        "run_id" => "runs.run_uuid",
        "run_name" => "runs.name",
        "status" => "runs.status",
        "user_id" => "runs.user_id",
        "artifact_uri" => "runs.artifact_uri",
        "start_time" => "runs.start_time",
        "end_time" => "runs.end_time",
        "lifecycle_stage" => "runs.lifecycle_stage",
        other => {
            return Err(ApiError::invalid_parameter(format!(
                "Invalid attribute key '{other}' specified."
            )))
        }
    })
}

fn experiment_attribute_column(key: &str) -> ApiResult<&'static str> {
    Ok(match key {
        "name" => "experiments.name",
        "experiment_id" => "experiments.experiment_id",
        "creation_time" => "experiments.creation_time",
        "last_update_time" => "experiments.last_update_time",
        other => {
            return Err(ApiError::invalid_parameter(format!(
                "Invalid attribute key '{other}' specified."
            )))
        }
    })
}

/// `<expr> <op> <value>`, ILIKE as the dialect spells it
/// ([`Dialect::push_ilike`]).
/// Numbers bind as integers when integral (time columns are BIGINT) unless
/// `numeric_float` asks for doubles (metric values).
pub(super) fn push_comparison(
    q: &mut Sql,
    expr: &str,
    comparator: Comparator,
    value: &FilterValue,
    dialect: Dialect,
    numeric_float: bool,
) {
    let push_value = |q: &mut Sql| match value {
        FilterValue::Str(s) => {
            q.str(s);
        }
        FilterValue::Num(n) if !numeric_float && n.fract() == 0.0 && n.abs() < 9.0e15 => {
            q.i64(*n as i64);
        }
        FilterValue::Num(n) => {
            q.f64(*n);
        }
        FilterValue::List(items) => {
            q.str_list(items);
        }
        FilterValue::None => {}
    };
    match comparator {
        Comparator::ILike => dialect.push_ilike(q, expr, push_value),
        Comparator::IsNull | Comparator::IsNotNull => {
            q.push(expr).push(" ").push(comparator.sql());
        }
        _ => {
            q.push(expr).push(" ").push(comparator.sql()).push(" ");
            push_value(q);
        }
    }
}

/// Appends ` AND …` for each clause of a run filter.
pub(super) fn run_where_sql(q: &mut Sql, filter: &str, dialect: Dialect) -> ApiResult<()> {
    for clause in parse_run_filter(filter)? {
        q.push(" AND ");
        run_clause(q, &clause, dialect)?;
    }
    Ok(())
}

fn key_table_clause(
    q: &mut Sql,
    owner: &str,
    table: &str,
    owner_column: &str,
    clause: &Clause,
    dialect: Dialect,
) {
    match clause.comparator {
        Comparator::IsNull => {
            q.push(owner)
                .push(" NOT IN (SELECT ")
                .push(owner_column)
                .push(" FROM ")
                .push(table);
            q.push(" WHERE key = ").str(&clause.key).push(")");
        }
        Comparator::IsNotNull => {
            q.push(owner)
                .push(" IN (SELECT ")
                .push(owner_column)
                .push(" FROM ")
                .push(table);
            q.push(" WHERE key = ").str(&clause.key).push(")");
        }
        comparator => {
            q.push(owner)
                .push(" IN (SELECT ")
                .push(owner_column)
                .push(" FROM ")
                .push(table);
            q.push(" WHERE key = ").str(&clause.key).push(" AND ");
            push_comparison(q, "value", comparator, &clause.value, dialect, false);
            q.push(")");
        }
    }
}

fn run_clause(q: &mut Sql, clause: &Clause, dialect: Dialect) -> ApiResult<()> {
    match clause.entity {
        EntityKind::Attribute if clause.key == "run_name" => {
            // As MLflow: the run name lives in the `mlflow.runName` tag (the
            // column is empty for runs logged by MLflow <= 1.29).
            q.push("runs.run_uuid IN (SELECT run_uuid FROM tags WHERE key = 'mlflow.runName' AND ");
            push_comparison(q, "value", clause.comparator, &clause.value, dialect, false);
            q.push(")");
        }
        EntityKind::Attribute => {
            let column = run_attribute_column(&clause.key)?;
            push_comparison(q, column, clause.comparator, &clause.value, dialect, false);
        }
        EntityKind::Metric => {
            // NaN is stored as 0 with is_nan set: it satisfies only `!=`.
            q.push("runs.run_uuid IN (SELECT run_uuid FROM latest_metrics WHERE key = ")
                .str(&clause.key);
            if clause.comparator == Comparator::Ne {
                q.push(" AND (is_nan OR ");
                push_comparison(q, "value", clause.comparator, &clause.value, dialect, true);
                q.push("))");
            } else {
                q.push(" AND NOT is_nan AND ");
                push_comparison(q, "value", clause.comparator, &clause.value, dialect, true);
                q.push(")");
            }
        }
        EntityKind::Param => {
            key_table_clause(q, "runs.run_uuid", "params", "run_uuid", clause, dialect)
        }
        EntityKind::Tag => {
            key_table_clause(q, "runs.run_uuid", "tags", "run_uuid", clause, dialect)
        }
        EntityKind::Dataset => {
            let column = match clause.key.as_str() {
                "name" => "d.name",
                "digest" => "d.digest",
                "context" => "t.value",
                other => {
                    return Err(ApiError::invalid_parameter(format!(
                        "Invalid dataset key '{other}' specified."
                    )))
                }
            };
            q.push(
                "runs.run_uuid IN (SELECT i.destination_id FROM inputs i \
                 JOIN datasets d ON d.dataset_uuid = i.source_id \
                 LEFT JOIN input_tags t ON t.input_uuid = i.input_uuid AND t.name = 'mlflow.data.context' \
                 WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' AND ",
            );
            push_comparison(q, column, clause.comparator, &clause.value, dialect, false);
            q.push(")");
        }
    }
    Ok(())
}

/// Pushes the LEFT JOINs that ordering by metrics/params/tags needs and
/// returns the ` ORDER BY …` text (to append after the WHERE clause).
/// As in MLflow, values sort before NaN, NaN before missing, in both
/// directions; ties fall back to `start_time DESC` (unless ordered by it),
/// then `run_uuid ASC`.
///
/// MLflow spells "missing last" `CASE WHEN x IS NULL THEN 1 ELSE 0 END, x`
/// (for MySQL); `x NULLS LAST` is the same order on SQLite (>= 3.30) and
/// PostgreSQL, and it spares both databases an expression per row and a
/// sort key: ordering 10,000 runs by start time on PostgreSQL takes half
/// the time.
pub(super) fn run_order_sql(q: &mut Sql, order_by: &[String]) -> ApiResult<String> {
    let mut terms: Vec<String> = Vec::new();
    let mut has_start_time = false;
    for (i, order) in parse_run_order_by(order_by)?.into_iter().enumerate() {
        let dir = if order.ascending { "ASC" } else { "DESC" };
        match order.entity {
            EntityKind::Attribute => {
                let column = run_attribute_column(&order.key)?;
                has_start_time |= column == "runs.start_time";
                terms.push(format!("{column} {dir} NULLS LAST"));
            }
            EntityKind::Metric => {
                let alias = format!("ob{i}");
                q.push(&format!(" LEFT JOIN latest_metrics {alias} ON {alias}.run_uuid = runs.run_uuid AND {alias}.key = "))
                    .str(&order.key);
                terms.push(format!(
                    "(CASE WHEN {alias}.is_nan THEN 1 WHEN {alias}.value IS NULL THEN 2 ELSE 0 END)"
                ));
                terms.push(format!("{alias}.value {dir}"));
            }
            EntityKind::Param | EntityKind::Tag => {
                let alias = format!("ob{i}");
                let table = if order.entity == EntityKind::Param {
                    "params"
                } else {
                    "tags"
                };
                q.push(&format!(" LEFT JOIN {table} {alias} ON {alias}.run_uuid = runs.run_uuid AND {alias}.key = "))
                    .str(&order.key);
                terms.push(format!("{alias}.value {dir} NULLS LAST"));
            }
            EntityKind::Dataset => {
                return Err(ApiError::invalid_parameter(
                    "Ordering by datasets is not supported.",
                ))
            }
        }
    }
    if !has_start_time {
        terms.push("runs.start_time DESC".into());
    }
    terms.push("runs.run_uuid ASC".into());
    Ok(format!(" ORDER BY {}", terms.join(", ")))
}

/// Appends ` AND …` for each clause of an experiment filter.
pub(super) fn experiment_where_sql(q: &mut Sql, filter: &str, dialect: Dialect) -> ApiResult<()> {
    for clause in parse_experiment_filter(filter)? {
        q.push(" AND ");
        match clause.entity {
            EntityKind::Attribute => {
                let column = experiment_attribute_column(&clause.key)?;
                if column == "experiments.experiment_id" {
                    // Ids arrive as strings; compare as integers.
                    let value = match &clause.value {
                        FilterValue::Str(s) => {
                            FilterValue::Num(s.parse::<f64>().map_err(|_| {
                                ApiError::invalid_parameter(format!("Invalid experiment ID '{s}'"))
                            })?)
                        }
                        other => other.clone(),
                    };
                    if let FilterValue::List(items) = &value {
                        q.push(column)
                            .push(" ")
                            .push(clause.comparator.sql())
                            .push(" (");
                        for (i, item) in items.iter().enumerate() {
                            if i > 0 {
                                q.push(", ");
                            }
                            q.i64(item.parse::<i64>().map_err(|_| {
                                ApiError::invalid_parameter(format!(
                                    "Invalid experiment ID '{item}'"
                                ))
                            })?);
                        }
                        q.push(")");
                    } else {
                        push_comparison(q, column, clause.comparator, &value, dialect, false);
                    }
                } else {
                    push_comparison(q, column, clause.comparator, &clause.value, dialect, false);
                }
            }
            EntityKind::Tag => key_table_clause(
                q,
                "experiments.experiment_id",
                "experiment_tags",
                "experiment_id",
                &clause,
                dialect,
            ),
            _ => {
                return Err(ApiError::invalid_parameter(format!(
                    "Invalid filter clause for experiments: '{}'",
                    clause.key
                )))
            }
        }
    }
    Ok(())
}

/// Pushes ` ORDER BY …` for experiments: by default `creation_time DESC,
/// experiment_id ASC`; a given ordering without `experiment_id` breaks ties
/// by `experiment_id DESC` (MLflow's tie-breaker).
pub(super) fn experiment_order_sql(q: &mut Sql, order_by: &[String]) -> ApiResult<()> {
    let parsed = parse_experiment_order_by(order_by)?;
    let mut terms: Vec<String> = Vec::new();
    let mut has_id = false;
    for order in &parsed {
        let column = experiment_attribute_column(&order.key)?;
        has_id |= column == "experiments.experiment_id";
        terms.push(format!(
            "{column} {}",
            if order.ascending { "ASC" } else { "DESC" }
        ));
    }
    if parsed.is_empty() {
        terms.push("experiments.creation_time DESC".into());
        terms.push("experiments.experiment_id ASC".into());
    } else if !has_id {
        terms.push("experiments.experiment_id DESC".into());
    }
    q.push(" ORDER BY ").push(&terms.join(", "));
    Ok(())
}
