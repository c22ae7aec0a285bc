//! Metric history reads: [`MetricStore`] on SQL.

use super::query::Sql;
use super::runs::metric_from_row;
use super::SqlStore;
use crate::error::ApiResult;
use crate::search::{decode_page_token, encode_page_token};
use crate::store::{MetricStore, Page};
use crate::wire::Metric;
use async_trait::async_trait;
use sqlx::Row;
use std::collections::BTreeSet;

const METRIC_COLUMNS: &str =
    "run_uuid, key, value, timestamp, step, CASE WHEN is_nan THEN 1 ELSE 0 END AS is_nan";

/// Picks at most `max` steps spread evenly over `steps` (sorted), always
/// keeping the first and the last.
pub(crate) fn sample_steps(steps: &[i64], max: usize) -> Vec<i64> {
    if steps.len() <= max || max == 0 {
        return steps.to_vec();
    }
    if max == 1 {
        return vec![steps[0]];
    }
    let last = steps.len() - 1;
    let mut picked = BTreeSet::new();
    for i in 0..max {
        picked.insert(steps[(i * last) / (max - 1)]);
    }
    picked.into_iter().collect()
}

#[async_trait]
impl MetricStore for SqlStore {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_metric_history(
        &self,
        run_id: &str,
        key: &str,
        max_results: Option<i64>,
        page_token: Option<&str>,
    ) -> ApiResult<Page<Metric>> {
        self.require_run(run_id).await?;
        let offset = match page_token {
            Some(t) if !t.is_empty() => decode_page_token(t)?,
            _ => 0,
        };
        let mut q = Sql::new(&format!(
            "SELECT {METRIC_COLUMNS} FROM metrics WHERE run_uuid = "
        ));
        q.str(run_id)
            .push(" AND key = ")
            .str(key)
            .push(" ORDER BY timestamp, step, value");
        // Without max_results every remaining point comes back, no token.
        match max_results {
            Some(max) => {
                q.push(" LIMIT ")
                    .i64(max + 1)
                    .push(" OFFSET ")
                    .i64(offset as i64);
            }
            None if offset == 0 => {}
            None => {
                q.push(self.dialect.offset_without_limit())
                    .i64(offset as i64);
            }
        }
        let rows = q.query().fetch_all(&self.pool).await?;
        let mut items = rows
            .iter()
            .map(|r| metric_from_row(r, false))
            .collect::<Result<Vec<_>, _>>()?;
        let next_page_token = match max_results {
            Some(max) if items.len() as i64 > max => {
                items.truncate(max as usize);
                Some(encode_page_token(offset + max as usize))
            }
            _ => None,
        };
        Ok(Page {
            items,
            next_page_token,
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_metric_history_bulk(
        &self,
        run_ids: &[String],
        key: &str,
        max_results: i64,
    ) -> ApiResult<Vec<Metric>> {
        if run_ids.is_empty() || max_results <= 0 {
            return Ok(Vec::new());
        }
        let mut q = Sql::new(&format!(
            "SELECT {METRIC_COLUMNS} FROM metrics WHERE key = "
        ));
        q.str(key)
            .push(" AND run_uuid IN ")
            .str_list(run_ids)
            .push(" ORDER BY run_uuid, timestamp, step, value LIMIT ")
            .i64(max_results);
        q.query()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| metric_from_row(r, true).map_err(Into::into))
            .collect()
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn get_metric_history_bulk_interval(
        &self,
        run_ids: &[String],
        key: &str,
        start_step: Option<i64>,
        end_step: Option<i64>,
        max_results: i64,
    ) -> ApiResult<Vec<Metric>> {
        let mut all = Vec::new();
        for run_id in run_ids {
            let mut q = Sql::new("SELECT DISTINCT step FROM metrics WHERE run_uuid = ");
            q.str(run_id).push(" AND key = ").str(key);
            if let Some(s) = start_step {
                q.push(" AND step >= ").i64(s);
            }
            if let Some(e) = end_step {
                q.push(" AND step <= ").i64(e);
            }
            q.push(" ORDER BY step");
            let steps: Vec<i64> = q
                .query()
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| r.try_get::<i64, _>(0))
                .collect::<Result<_, _>>()?;
            if steps.is_empty() {
                continue;
            }
            let wanted = sample_steps(&steps, max_results.max(1) as usize);
            let mut q = Sql::new(&format!(
                "SELECT {METRIC_COLUMNS} FROM metrics WHERE run_uuid = "
            ));
            q.str(run_id)
                .push(" AND key = ")
                .str(key)
                .push(" AND step IN (");
            for (i, s) in wanted.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.i64(*s);
            }
            q.push(") ORDER BY step, timestamp, value");
            for row in q.query().fetch_all(&self.pool).await? {
                all.push(metric_from_row(&row, true)?);
            }
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::sample_steps;

    #[test]
    fn sampling_keeps_ends_and_bounds_count() {
        let steps: Vec<i64> = (0..1000).collect();
        let s = sample_steps(&steps, 10);
        assert_eq!(s.len(), 10);
        assert_eq!(s[0], 0);
        assert_eq!(*s.last().unwrap(), 999);
        assert_eq!(sample_steps(&[1, 2, 3], 10), vec![1, 2, 3]);
    }
}
