//! `registered-models/search` and `model-versions/search`: their filters,
//! orderings and page tokens as SQL.

use super::model_versions::attach_version_tags;
use super::registered_models::load_registered_models;
use super::{mv_from_row, MV_COLUMNS};
use crate::error::{ApiError, ApiResult};
use crate::search::{
    decode_page_token, encode_page_token, parse_model_version_filter, parse_model_version_order_by,
    parse_registered_model_filter, parse_registered_model_order_by, Clause, Comparator, EntityKind,
    FilterValue, OrderBy,
};
use crate::store::registry::{
    RegistrySearch, RegistrySearchStore, IS_PROMPT_TAG_KEY, STAGE_DELETED_INTERNAL,
};
use crate::store::sql::filters::push_comparison;
use crate::store::sql::query::Sql;
use crate::store::sql::{Dialect, SqlStore};
use crate::store::Page;
use crate::wire::registry::{ModelVersion, RegisteredModel};
use async_trait::async_trait;
use sqlx::Row;

/// The order of `model-versions/search` without an `order_by`.
const DEFAULT_VERSION_ORDER: [&str; 3] = [
    "last_updated_timestamp DESC",
    "name ASC",
    "version_number DESC",
];

/// MLflow's `_is_querying_prompt`: the first clause on the prompt tag
/// decides; only `= 'true'` / `!= 'false'` ask for prompts.
fn is_querying_prompt(clauses: &[Clause]) -> bool {
    for c in clauses {
        if c.entity != EntityKind::Tag || c.key != IS_PROMPT_TAG_KEY {
            continue;
        }
        let value = match &c.value {
            FilterValue::Str(s) => s.to_lowercase(),
            _ => String::new(),
        };
        return (c.comparator == Comparator::Eq && value == "true")
            || (c.comparator == Comparator::Ne && value == "false");
    }
    false
}

/// ` AND …` per clause of a registry filter. `owner` is the searched
/// table's alias, `columns` maps attribute keys to its columns, `tag_table`
/// and `tag_join` tie a tag row to the owner row. Unless prompts are asked
/// for, clauses on the prompt tag are dropped and prompt models left out
/// (MLflow's `_update_query_to_exclude_prompts`).
fn push_registry_where(
    q: &mut Sql,
    clauses: &[Clause],
    dialect: Dialect,
    columns: &dyn Fn(&str) -> Option<&'static str>,
    tag_table: &str,
    tag_join: &str,
    owner: &str,
) -> ApiResult<()> {
    let querying_prompt = is_querying_prompt(clauses);
    for clause in clauses {
        match clause.entity {
            EntityKind::Attribute => {
                let column = columns(&clause.key).ok_or_else(|| {
                    ApiError::invalid_parameter(format!("Invalid attribute name: {}", clause.key))
                })?;
                q.push(" AND ");
                push_comparison(q, column, clause.comparator, &clause.value, dialect, false);
            }
            EntityKind::Tag => {
                if !querying_prompt && clause.key == IS_PROMPT_TAG_KEY {
                    continue;
                }
                q.push(" AND EXISTS (SELECT 1 FROM ")
                    .push(tag_table)
                    .push(" t WHERE ")
                    .push(tag_join)
                    .push(" AND t.key = ")
                    .str(&clause.key)
                    .push(" AND ");
                push_comparison(
                    q,
                    "t.value",
                    clause.comparator,
                    &clause.value,
                    dialect,
                    false,
                );
                q.push(")");
            }
            _ => {
                return Err(ApiError::invalid_parameter(format!(
                    "Invalid token type: {:?}",
                    clause.entity
                )))
            }
        }
    }
    if !querying_prompt {
        q.push(" AND NOT EXISTS (SELECT 1 FROM ")
            .push(tag_table)
            .push(" p WHERE p.workspace = ")
            .push(owner)
            .push(".workspace AND p.name = ")
            .push(owner)
            .push(".name AND p.key = ")
            .str(IS_PROMPT_TAG_KEY)
            .push(" AND p.value = 'true')");
    }
    Ok(())
}

fn registered_model_column(key: &str) -> Option<&'static str> {
    match key {
        "name" => Some("rm.name"),
        _ => None,
    }
}

fn model_version_column(key: &str) -> Option<&'static str> {
    match key {
        "name" => Some("mv.name"),
        "version_number" => Some("mv.version"),
        "run_id" => Some("mv.run_id"),
        "source_path" => Some("mv.source"),
        _ => None,
    }
}

fn registered_model_order_sql(order_by: &[String]) -> ApiResult<String> {
    order_sql(
        parse_registered_model_order_by(order_by)?,
        &[
            ("name", "rm.name"),
            ("last_updated_timestamp", "rm.last_updated_time"),
            ("timestamp", "rm.last_updated_time"),
        ],
        &[("name", "rm.name ASC")],
    )
}

fn model_version_order_sql(order_by: &[String]) -> ApiResult<String> {
    let default: Vec<String>;
    let order_by = if order_by.is_empty() {
        default = DEFAULT_VERSION_ORDER
            .iter()
            .map(|s| s.to_string())
            .collect();
        &default
    } else {
        order_by
    };
    order_sql(
        parse_model_version_order_by(order_by)?,
        &[
            ("name", "mv.name"),
            ("version_number", "mv.version"),
            ("creation_timestamp", "mv.creation_time"),
            ("last_updated_timestamp", "mv.last_updated_time"),
        ],
        &[
            ("name", "mv.name ASC"),
            ("version_number", "mv.version DESC"),
        ],
    )
}

/// ` ORDER BY …` of parsed keys: each key's column from `columns`, then
/// every `(key, term)` of `tiebreaks` whose key was not given, so that
/// pages are stable.
fn order_sql(
    orders: Vec<OrderBy>,
    columns: &[(&str, &str)],
    tiebreaks: &[(&str, &str)],
) -> ApiResult<String> {
    let mut terms = Vec::new();
    for order in &orders {
        let Some((_, column)) = columns.iter().find(|(key, _)| *key == order.key) else {
            return Err(ApiError::invalid_parameter(format!(
                "Invalid order by key '{}' specified.",
                order.key
            )));
        };
        let direction = if order.ascending { "ASC" } else { "DESC" };
        terms.push(format!("{column} {direction}"));
    }
    for (key, term) in tiebreaks {
        if !orders.iter().any(|o| o.key == *key) {
            terms.push(term.to_string());
        }
    }
    Ok(format!(" ORDER BY {}", terms.join(", ")))
}

fn page_offset(token: &Option<String>) -> ApiResult<usize> {
    match token {
        Some(t) if !t.is_empty() => Ok(decode_page_token(t)?),
        _ => Ok(0),
    }
}

#[async_trait]
impl RegistrySearchStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn search_registered_models(
        &self,
        query: &RegistrySearch,
    ) -> ApiResult<Page<RegisteredModel>> {
        let clauses = parse_registered_model_filter(&query.filter)?;
        let order = registered_model_order_sql(&query.order_by)?;
        let offset = page_offset(&query.page_token)?;
        let mut q =
            Sql::new("SELECT rm.name FROM registered_models rm WHERE rm.workspace = 'default'");
        push_registry_where(
            &mut q,
            &clauses,
            self.dialect,
            &registered_model_column,
            "registered_model_tags",
            "t.workspace = rm.workspace AND t.name = rm.name",
            "rm",
        )?;
        q.push(&order)
            .push(" LIMIT ")
            .i64(query.max_results + 1)
            .push(" OFFSET ")
            .i64(offset as i64);
        let mut conn = self.pool.acquire().await?;
        let mut names: Vec<String> = q
            .query()
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>("name"))
            .collect::<Result<_, _>>()?;
        let next_page_token = if names.len() as i64 > query.max_results {
            names.truncate(query.max_results as usize);
            Some(encode_page_token(offset + query.max_results as usize))
        } else {
            None
        };
        Ok(Page {
            items: load_registered_models(&mut conn, &names).await?,
            next_page_token,
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn search_model_versions(&self, query: &RegistrySearch) -> ApiResult<Page<ModelVersion>> {
        let clauses = parse_model_version_filter(&query.filter)?;
        let order = model_version_order_sql(&query.order_by)?;
        let offset = page_offset(&query.page_token)?;
        let mut q = Sql::new(&format!(
            "SELECT {MV_COLUMNS} FROM model_versions mv WHERE mv.workspace = 'default' AND mv.current_stage <> "
        ));
        q.str(STAGE_DELETED_INTERNAL);
        push_registry_where(
            &mut q,
            &clauses,
            self.dialect,
            &model_version_column,
            "model_version_tags",
            "t.workspace = mv.workspace AND t.name = mv.name AND t.version = mv.version",
            "mv",
        )?;
        q.push(&order)
            .push(" LIMIT ")
            .i64(query.max_results + 1)
            .push(" OFFSET ")
            .i64(offset as i64);
        let mut conn = self.pool.acquire().await?;
        let rows = q.query().fetch_all(&mut *conn).await?;
        let mut versions = rows
            .iter()
            .map(mv_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next_page_token = if versions.len() as i64 > query.max_results {
            versions.truncate(query.max_results as usize);
            Some(encode_page_token(offset + query.max_results as usize))
        } else {
            None
        };
        attach_version_tags(&mut conn, &mut versions).await?;
        Ok(Page {
            items: versions,
            next_page_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_queries() {
        let clause = |comparator, value: &str| Clause {
            entity: EntityKind::Tag,
            key: IS_PROMPT_TAG_KEY.into(),
            comparator,
            value: FilterValue::Str(value.into()),
        };
        assert!(is_querying_prompt(&[clause(Comparator::Eq, "TRUE")]));
        assert!(is_querying_prompt(&[clause(Comparator::Ne, "false")]));
        assert!(!is_querying_prompt(&[clause(Comparator::Ne, "true")]));
        assert!(!is_querying_prompt(&[]));
    }

    #[test]
    fn default_version_order() {
        assert_eq!(
            model_version_order_sql(&[]).unwrap(),
            " ORDER BY mv.last_updated_time DESC, mv.name ASC, mv.version DESC"
        );
        assert_eq!(
            model_version_order_sql(&["creation_timestamp ASC".into()]).unwrap(),
            " ORDER BY mv.creation_time ASC, mv.name ASC, mv.version DESC"
        );
        assert_eq!(
            registered_model_order_sql(&[]).unwrap(),
            " ORDER BY rm.name ASC"
        );
    }
}
