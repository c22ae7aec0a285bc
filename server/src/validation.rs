//! Input validation: pure functions that mirror MLflow 3.17.2's checks
//! (`mlflow/utils/validation.py`, plus the few limits its handlers and SQL
//! stores check themselves) with MLflow's exact error texts. Every error is
//! `INVALID_PARAMETER_VALUE` (HTTP 400).
//!
//! Where MLflow formats a value with Python (`repr`, `json.dumps`,
//! `posixpath.normpath`, `int()`), the helpers in [`py`] reproduce that
//! formatting so messages match byte for byte.
//!
//! Functions without a `path` argument use the path MLflow uses for the
//! single-entity endpoints (`log-metric`, `log-parameter`, `set-tag`); the
//! `*_at` variants take the JSON path MLflow reports for `log-batch`
//! elements (`metrics[0]`, `params[1]`, `tags[2]`).

use crate::error::{ApiError, ApiResult};
use crate::pycompat as py;
use crate::wire::Dataset;

/// `MAX_ENTITY_KEY_LENGTH`: metric, param and run-tag keys.
pub const MAX_ENTITY_KEY_LENGTH: usize = 250;
/// `MAX_PARAM_VAL_LENGTH`.
pub const MAX_PARAM_VAL_LENGTH: usize = 6000;
/// `MAX_TAG_VAL_LENGTH` (run tags).
pub const MAX_TAG_VAL_LENGTH: usize = 8000;
/// `MAX_EXPERIMENT_NAME_LENGTH`.
pub const MAX_EXPERIMENT_NAME_LENGTH: usize = 500;
/// `MAX_EXPERIMENT_TAG_KEY_LENGTH`.
pub const MAX_EXPERIMENT_TAG_KEY_LENGTH: usize = 250;
/// `MAX_EXPERIMENT_TAG_VAL_LENGTH`.
pub const MAX_EXPERIMENT_TAG_VAL_LENGTH: usize = 20000;
/// `MAX_MODEL_REGISTRY_TAG_KEY_LENGTH`.
pub const MAX_MODEL_REGISTRY_TAG_KEY_LENGTH: usize = 250;
/// `MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH`.
pub const MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH: usize = 100_000;
/// `MAX_PARAMS_TAGS_PER_BATCH`.
pub const MAX_PARAMS_TAGS_PER_BATCH: usize = 100;
/// `MAX_METRICS_PER_BATCH`.
pub const MAX_METRICS_PER_BATCH: usize = 1000;
/// `MAX_ENTITIES_PER_BATCH`.
pub const MAX_ENTITIES_PER_BATCH: usize = 1000;
/// `MAX_DATASET_NAME_SIZE`.
pub const MAX_DATASET_NAME_SIZE: usize = 500;
/// `MAX_DATASET_DIGEST_SIZE`.
pub const MAX_DATASET_DIGEST_SIZE: usize = 36;
/// `MAX_DATASET_SOURCE_SIZE`.
pub const MAX_DATASET_SOURCE_SIZE: usize = 65535;
/// `MAX_DATASET_SCHEMA_SIZE`.
pub const MAX_DATASET_SCHEMA_SIZE: usize = 1_048_575;
/// `MAX_DATASET_PROFILE_SIZE`.
pub const MAX_DATASET_PROFILE_SIZE: usize = 16_777_215;
/// `MAX_INPUT_TAG_KEY_SIZE`.
pub const MAX_INPUT_TAG_KEY_SIZE: usize = 255;
/// `MAX_INPUT_TAG_VALUE_SIZE`.
pub const MAX_INPUT_TAG_VALUE_SIZE: usize = 500;
/// `MAX_REGISTERED_MODEL_ALIAS_LENGTH`.
pub const MAX_REGISTERED_MODEL_ALIAS_LENGTH: usize = 255;
/// `SEARCH_MAX_RESULTS_DEFAULT` (search-runs default page size).
pub const SEARCH_MAX_RESULTS_DEFAULT: i64 = 1000;
/// `SEARCH_MAX_RESULTS_THRESHOLD` (search-runs / search-experiments maximum).
pub const SEARCH_MAX_RESULTS_THRESHOLD: i64 = 50000;
/// `SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD`.
pub const SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD: i64 = 1000;
/// Default of `MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH`.
pub const DEFAULT_ARTIFACT_LOCATION_MAX_LENGTH: usize = 2048;

const BAD_CHARACTER_MESSAGE: &str = "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).";
const API_DOCS_SUFFIX: &str = " See the API docs for more information about request parameters.";

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::invalid_parameter(message)
}

/// `len()` of a Python `str`: code points, not bytes.
fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// `value[:limit]` of a Python `str`.
fn truncate_chars(s: &str, limit: usize) -> String {
    s.chars().take(limit).collect()
}

/// MLflow's `invalid_value(path, value, message)`: the value is written
/// with `json.dumps(value, sort_keys=True, separators=(",", ":"))`.
fn invalid_value(path: &str, value: &str, message: Option<&str>) -> String {
    let formatted = py::json_dumps_str(value);
    match message {
        Some(m) => format!("Invalid value {formatted} for parameter '{path}' supplied: {m}"),
        None => format!("Invalid value {formatted} for parameter '{path}' supplied."),
    }
}

/// MLflow's `exceeds_maximum_length(path, limit)`.
fn exceeds_maximum_length(path: &str, limit: usize) -> String {
    format!("'{path}' exceeds the maximum length of {limit} characters")
}

/// MLflow's `append_to_json_path(current, value)`.
fn json_path(current: &str, value: &str) -> String {
    if current.is_empty() {
        value.to_string()
    } else if value.starts_with('[') {
        format!("{current}{value}")
    } else {
        format!("{current}.{value}")
    }
}

/// `_validate_length_limit(entity_name, limit, value)` without truncation.
fn check_length(entity_name: &str, limit: usize, value: &str) -> ApiResult<()> {
    if char_len(value) > limit {
        return Err(invalid(exceeds_maximum_length(entity_name, limit)));
    }
    Ok(())
}

/// `_validate_length_limit(entity_name, limit, value, truncate=True)`: with
/// truncation enabled an overlong value is cut to `limit` characters (MLflow
/// logs a warning), otherwise it is an error.
fn check_length_truncating(
    entity_name: &str,
    limit: usize,
    value: String,
    truncate: bool,
) -> ApiResult<String> {
    let len = char_len(&value);
    if len <= limit {
        return Ok(value);
    }
    if truncate {
        let preview = truncate_chars(&value, 100);
        tracing::warn!(
            "{entity_name} '{preview}...' ({len} characters) is truncated to {limit} characters to meet the length limit."
        );
        return Ok(truncate_chars(&value, limit));
    }
    Err(invalid(exceeds_maximum_length(entity_name, limit)))
}

// ---------------------------------------------------------------------------
// keys and names
// ---------------------------------------------------------------------------

/// `validate_param_and_metric_name`: `re.match(r"^[/\w.\- :]*$", name)`
/// (POSIX servers; `\w` is Unicode-aware; `$` also matches before one final
/// newline, which MLflow therefore accepts).
pub fn is_valid_key_name(name: &str) -> bool {
    let body = name.strip_suffix('\n').unwrap_or(name);
    body.chars()
        .all(|c| py::is_word_char(c) || matches!(c, '/' | '.' | '-' | ' ' | ':'))
}

/// `path_not_unique(name)`: true when the key would resolve to another name
/// as a file path (`posixpath.normpath(name) != name`, `.`, `..…`, `/…`).
pub fn key_path_not_unique(name: &str) -> bool {
    let norm = py::normpath(name);
    norm != name || norm == "." || norm.starts_with("..") || norm.starts_with('/')
}

/// `bad_path_message(name)`.
fn bad_path_message(name: &str) -> String {
    format!(
        "Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to {}",
        py::repr_str(&py::normpath(name))
    )
}

/// The character rule and the path rule shared by `_validate_metric_name`,
/// `_validate_param_name` and `_validate_tag_name`.
fn check_key_name(name: &str, path: &str) -> ApiResult<()> {
    if !is_valid_key_name(name) {
        return Err(invalid(invalid_value(
            path,
            name,
            Some(BAD_CHARACTER_MESSAGE),
        )));
    }
    if key_path_not_unique(name) {
        return Err(invalid(invalid_value(
            path,
            name,
            Some(&bad_path_message(name)),
        )));
    }
    Ok(())
}

/// Metric key of `log-metric`: `_validate_metric_name(key, "name")` (regex
/// `^[/\w.\- :]*$` and the path rule) and the 250-character limit
/// (`'Metric name' exceeds the maximum length of 250 characters`).
///
/// MLflow checks the length last, after the timestamp; [`validate_metric`]
/// keeps that order.
pub fn validate_metric_name(name: &str) -> ApiResult<()> {
    validate_metric_name_at(name, "")
}

/// [`validate_metric_name`] for element `path` of a batch (`metrics[0]` →
/// messages name `metrics[0].name`).
pub fn validate_metric_name_at(name: &str, path: &str) -> ApiResult<()> {
    check_key_name(name, &json_path(path, "name"))?;
    check_length("Metric name", MAX_ENTITY_KEY_LENGTH, name)
}

/// `_validate_metric(key, value, timestamp, step, path)` for an already
/// parsed metric: name rule, then `timestamp >= 0`, then the key length.
/// `path` is `""` for `log-metric` and `metrics[i]` inside `log-batch`.
pub fn validate_metric(key: &str, value: f64, timestamp: i64, path: &str) -> ApiResult<()> {
    check_key_name(key, &json_path(path, "name"))?;
    if timestamp < 0 {
        return Err(invalid(format!(
            "Invalid value {timestamp} for parameter '{}' supplied: metric '{key}' (value={}). Timestamp must be a nonnegative long (64-bit integer) ",
            json_path(path, "timestamp"),
            py::repr_float(value)
        )));
    }
    check_length("Metric name", MAX_ENTITY_KEY_LENGTH, key)
}

/// The timestamp rule of `_validate_metric` when key and value are not at
/// hand. MLflow's message also names the metric and its value; use
/// [`validate_metric`] to reproduce it exactly.
pub fn validate_metric_timestamp(timestamp: i64) -> ApiResult<()> {
    if timestamp < 0 {
        return Err(invalid(format!(
            "Invalid value {timestamp} for parameter 'timestamp' supplied: Timestamp must be a nonnegative long (64-bit integer) "
        )));
    }
    Ok(())
}

/// Param key of `log-parameter`: `_validate_param_name(key, "key")` and the
/// 250-character limit (`'Param key' exceeds the maximum length of 250
/// characters`).
pub fn validate_param_name(name: &str) -> ApiResult<()> {
    validate_param_name_at(name, "")
}

/// [`validate_param_name`] for batch element `path` (`params[0].key`).
pub fn validate_param_name_at(name: &str, path: &str) -> ApiResult<()> {
    check_key_name(name, &json_path(path, "key"))?;
    check_length("Param key", MAX_ENTITY_KEY_LENGTH, name)
}

/// Param value: longer than 6000 characters is truncated to 6000 when
/// `MLFLOW_TRUNCATE_LONG_VALUES` is unset or true (MLflow's default),
/// otherwise `'Param value' exceeds the maximum length of 6000 characters`.
/// Returns the value to store. `key` is only used for the log line.
pub fn validate_param_value(key: &str, value: String, truncate: bool) -> ApiResult<String> {
    param_value(key, value, truncate)
}

fn param_value(key: &str, value: String, truncate: bool) -> ApiResult<String> {
    tracing::trace!(key, "validating param value");
    check_length_truncating("Param value", MAX_PARAM_VAL_LENGTH, value, truncate)
}

/// Tag key (run tags via `set-tag`, experiment tags): `_validate_tag_name(key,
/// "key")` and the 250-character limit (`'key' exceeds the maximum length of
/// 250 characters`). Experiment tag keys have the same rule
/// (`_validate_experiment_tag`).
pub fn validate_tag_name(name: &str) -> ApiResult<()> {
    validate_tag_name_at(name, "")
}

/// [`validate_tag_name`] for batch element `path` (`tags[0].key`; the length
/// message then also names `tags[0].key`).
pub fn validate_tag_name_at(name: &str, path: &str) -> ApiResult<()> {
    let key_path = json_path(path, "key");
    check_key_name(name, &key_path)?;
    check_length(&key_path, MAX_ENTITY_KEY_LENGTH, name)
}

/// Run tag value: longer than 8000 characters is truncated (same switch as
/// [`validate_param_value`]), otherwise `'value' exceeds the maximum length
/// of 8000 characters`. Returns the value to store.
pub fn validate_tag_value(key: &str, value: String, truncate: bool) -> ApiResult<String> {
    tag_value(key, value, "", truncate)
}

/// [`validate_tag_value`] for batch element `path` (`'tags[0].value' exceeds…`).
pub fn validate_tag_value_at(
    key: &str,
    value: String,
    path: &str,
    truncate: bool,
) -> ApiResult<String> {
    tag_value(key, value, path, truncate)
}

fn tag_value(key: &str, value: String, path: &str, truncate: bool) -> ApiResult<String> {
    tracing::trace!(key, "validating tag value");
    check_length_truncating(
        &json_path(path, "value"),
        MAX_TAG_VAL_LENGTH,
        value,
        truncate,
    )
}

/// `_validate_param_keys_unique`: `Duplicate parameter keys have been
/// submitted: ['d']. Please ensure the request contains only one param value
/// per param key.` (every repeated occurrence is listed).
pub fn validate_no_duplicate_param_keys(keys: &[&str]) -> ApiResult<()> {
    let mut seen: Vec<&str> = Vec::new();
    let mut dupes: Vec<&str> = Vec::new();
    for key in keys {
        if seen.contains(key) {
            dupes.push(key);
        } else {
            seen.push(key);
        }
    }
    if dupes.is_empty() {
        return Ok(());
    }
    Err(invalid(format!(
        "Duplicate parameter keys have been submitted: {}. Please ensure the request contains only one param value per param key.",
        py::repr_str_list(&dupes)
    )))
}

/// `_validate_batch_log_limits`: at most 1000 metrics, 100 params, 100 tags
/// and 1000 entities in all, checked in that order.
pub fn validate_batch_limits(n_metrics: usize, n_params: usize, n_tags: usize) -> ApiResult<()> {
    fn limit(entity: &str, max: usize, n: usize) -> ApiResult<()> {
        if n > max {
            return Err(invalid(format!(
                "A batch logging request can contain at most {max} {entity}. Got {n} {entity}. Please split up {entity} across multiple requests and try again."
            )));
        }
        Ok(())
    }
    limit("metrics", MAX_METRICS_PER_BATCH, n_metrics)?;
    limit("params", MAX_PARAMS_TAGS_PER_BATCH, n_params)?;
    limit("tags", MAX_PARAMS_TAGS_PER_BATCH, n_tags)?;
    limit(
        "metrics, params, and tags",
        MAX_ENTITIES_PER_BATCH,
        n_metrics + n_params + n_tags,
    )
}

/// `_validate_run_id`: `^[a-zA-Z0-9][\w\-]{0,255}$` (Python `$`: one final
/// newline is tolerated), else `Invalid value "<id>" for parameter 'run_id'
/// supplied.`
pub fn validate_run_id(run_id: &str) -> ApiResult<()> {
    if matches_id_regex(run_id, 255) {
        Ok(())
    } else {
        Err(invalid(invalid_value("run_id", run_id, None)))
    }
}

/// `^[a-zA-Z0-9][\w\-]{0,max_tail}$` as Python's `re.match` applies it.
fn matches_id_regex(s: &str, max_tail: usize) -> bool {
    let body = s.strip_suffix('\n').unwrap_or(s);
    let mut chars = body.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    let mut tail = 0usize;
    for c in chars {
        if !(py::is_word_char(c) || c == '-') {
            return false;
        }
        tail += 1;
    }
    tail <= max_tail
}

/// `_validate_experiment_id`: `^[a-zA-Z0-9][\w\-]{0,63}$`, else
/// `Invalid experiment ID: '<id>'`.
pub fn validate_experiment_id(experiment_id: &str) -> ApiResult<()> {
    if matches_id_regex(experiment_id, 63) {
        Ok(())
    } else {
        Err(invalid(format!("Invalid experiment ID: '{experiment_id}'")))
    }
}

/// `_parse_experiment_id`: the SQL store's `int(experiment_id)` (Python
/// `int()`: surrounding whitespace, a sign and `_` between digits are
/// accepted), else `Invalid experiment ID 'abc'. Experiment ID must be a
/// valid integer.`
pub fn validate_experiment_id_int(experiment_id: &str) -> ApiResult<i64> {
    py::parse_int(experiment_id).ok_or_else(|| {
        invalid(format!(
            "Invalid experiment ID '{experiment_id}'. Experiment ID must be a valid integer."
        ))
    })
}

/// `_validate_experiment_name`: non-empty (`Invalid experiment name: ''`)
/// and at most 500 characters (`'name' exceeds the maximum length of 500
/// characters`).
pub fn validate_experiment_name(name: &str) -> ApiResult<()> {
    if name.is_empty() {
        return Err(invalid(format!("Invalid experiment name: '{name}'")));
    }
    check_length("name", MAX_EXPERIMENT_NAME_LENGTH, name)
}

/// Experiment tag value (`_validate_experiment_tag`): at most 20000
/// characters, never truncated (`'value' exceeds the maximum length of
/// 20000 characters`). MLflow additionally parses the trace-archival tags
/// (`mlflow.trace.archivalRetention` …), which ferroflow does not check.
pub fn validate_experiment_tag_value(key: &str, value: &str) -> ApiResult<()> {
    tracing::trace!(key, "validating experiment tag value");
    check_length("value", MAX_EXPERIMENT_TAG_VAL_LENGTH, value)
}

/// `_validate_experiment_tag(key, value)`: tag-name rule, key ≤ 250, value
/// ≤ 20000.
pub fn validate_experiment_tag(key: &str, value: &str) -> ApiResult<()> {
    check_key_name(key, "key")?;
    check_length("key", MAX_EXPERIMENT_TAG_KEY_LENGTH, key)?;
    validate_experiment_tag_value(key, value)
}

/// The experiment `artifact_location` checks of `create-experiment`
/// (`_validate_storage_location_uri` + the store's length check):
/// no `#fragment` or `;params` (`'artifact_location' URL can't include
/// fragments or params.`), no `..` in the (repeatedly URL-decoded) query
/// (`Invalid query string`), not a `runs:` URI (`Artifact location cannot be
/// a runs:/ URI. Given: '…'`), at most `MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH`
/// (2048) characters. MLflow's host policy for host-addressed schemes
/// depends on server configuration and is not checked here.
pub fn validate_experiment_artifact_location(location: &str, max_length: usize) -> ApiResult<()> {
    artifact_location(location, max_length)
}

fn artifact_location(location: &str, max_length: usize) -> ApiResult<()> {
    let parts = py::urlparse(location);
    if !parts.fragment.is_empty() || !parts.params.is_empty() {
        return Err(invalid(
            "'artifact_location' URL can't include fragments or params.",
        ));
    }
    if py::unquote_repeatedly(&parts.query).contains("..") {
        return Err(invalid("Invalid query string"));
    }
    if location.starts_with("runs:") {
        return Err(invalid(format!(
            "Artifact location cannot be a runs:/ URI. Given: '{location}'"
        )));
    }
    if char_len(location) > max_length {
        return Err(invalid(format!(
            "Invalid artifact path length. The length of the artifact path cannot be greater than {max_length} characters. To configure this limit, please set the MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH environment variable."
        )));
    }
    Ok(())
}

/// `_validate_dataset`: name ≤ 500, digest ≤ 36, source ≤ 65535, schema ≤
/// 1048575, profile ≤ 16777215 (`'name' exceeds the maximum length of 500
/// characters` …). Presence of the required fields is checked by the caller.
pub fn validate_dataset(dataset: &Dataset) -> ApiResult<()> {
    check_length("name", MAX_DATASET_NAME_SIZE, &dataset.name)?;
    check_length("digest", MAX_DATASET_DIGEST_SIZE, &dataset.digest)?;
    check_length("source", MAX_DATASET_SOURCE_SIZE, &dataset.source)?;
    if let Some(schema) = &dataset.schema {
        check_length("schema", MAX_DATASET_SCHEMA_SIZE, schema)?;
    }
    if let Some(profile) = &dataset.profile {
        check_length("profile", MAX_DATASET_PROFILE_SIZE, profile)?;
    }
    Ok(())
}

/// `_validate_input_tag`: key ≤ 255, value ≤ 500 (`'key' exceeds the maximum
/// length of 255 characters`, `'value' exceeds …`).
pub fn validate_input_tag(key: &str, value: &str) -> ApiResult<()> {
    check_length("key", MAX_INPUT_TAG_KEY_SIZE, key)?;
    check_length("value", MAX_INPUT_TAG_VALUE_SIZE, value)
}

// ---------------------------------------------------------------------------
// search limits
// ---------------------------------------------------------------------------

/// `max_results` of `runs/search`: absent → 1000 (proto default). Above
/// 50000 the handler's schema check fails (`Invalid value 50001 for
/// parameter 'max_results' supplied:  Hint: Value was of type 'int'. See the
/// API docs for more information about request parameters.`); below 1 the
/// store's `_validate_max_results_param` does (`Invalid value 0 for
/// parameter 'max_results' supplied. It must be a positive integer`).
pub fn validate_search_runs_max_results(max_results: Option<i64>) -> ApiResult<i64> {
    let n = max_results.unwrap_or(SEARCH_MAX_RESULTS_DEFAULT);
    if n > SEARCH_MAX_RESULTS_THRESHOLD {
        return Err(invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied:  Hint: Value was of type 'int'.{API_DOCS_SUFFIX}"
        )));
    }
    positive_max_results(n)?;
    Ok(n)
}

/// `max_results` of `experiments/search`: required in practice (absent → 0),
/// then the store's `_validate_max_results_param`: `Invalid value 0 for
/// parameter 'max_results' supplied. It must be a positive integer` /
/// `Invalid value 50001 for parameter 'max_results' supplied. It must be at
/// most 50000`.
pub fn validate_search_experiments_max_results(max_results: Option<i64>) -> ApiResult<i64> {
    let n = max_results.unwrap_or(0);
    positive_max_results(n)?;
    if n > SEARCH_MAX_RESULTS_THRESHOLD {
        return Err(invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied. It must be at most {SEARCH_MAX_RESULTS_THRESHOLD}"
        )));
    }
    Ok(n)
}

fn positive_max_results(n: i64) -> ApiResult<()> {
    if n < 1 {
        return Err(invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied. It must be a positive integer"
        )));
    }
    Ok(())
}

/// `max_results` of `registered-models/search` (default 100, at most 1000):
/// `Invalid value for request parameter max_results. It must be at most
/// 1000, but got value 1001`.
pub fn validate_search_registered_models_max_results(max_results: Option<i64>) -> ApiResult<i64> {
    let n = max_results.unwrap_or(100);
    if n > SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD {
        return Err(invalid(format!(
            "Invalid value for request parameter max_results. It must be at most {SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD}, but got value {n}"
        )));
    }
    Ok(n)
}

// ---------------------------------------------------------------------------
// model registry and logged models
// ---------------------------------------------------------------------------

/// `_validate_model_name`: not empty/blank (`Missing value for required
/// parameter 'name'.`), no `/` or `:` (`Invalid model name 'a/b'. Names
/// cannot contain '/' or ':'.`), and the key path rule.
pub fn validate_model_name(name: &str) -> ApiResult<()> {
    if name.trim().is_empty() {
        return Err(invalid("Missing value for required parameter 'name'."));
    }
    if name.contains('/') || name.contains(':') {
        return Err(invalid(format!(
            "Invalid model name '{name}'. Names cannot contain '/' or ':'."
        )));
    }
    if key_path_not_unique(name) {
        return Err(invalid(invalid_value(
            "name",
            name,
            Some(&bad_path_message(name)),
        )));
    }
    Ok(())
}

/// `_validate_model_version`: `int(version)`, else `Parameter 'version' must
/// be an integer, got 'x'.`
pub fn validate_model_version(version: &str) -> ApiResult<i64> {
    py::parse_int(version).ok_or_else(|| {
        invalid(format!(
            "Parameter 'version' must be an integer, got '{version}'."
        ))
    })
}

/// `_validate_model_alias_name`: non-empty, `^[\w\-]*$`, at most 255
/// characters.
pub fn validate_model_alias_name(alias: &str) -> ApiResult<()> {
    if alias.is_empty() {
        return Err(invalid("Registered model alias name cannot be empty."));
    }
    let body = alias.strip_suffix('\n').unwrap_or(alias);
    if !body.chars().all(|c| py::is_word_char(c) || c == '-') {
        return Err(invalid(format!(
            "Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-)."
        )));
    }
    check_length(
        "Registered model alias name",
        MAX_REGISTERED_MODEL_ALIAS_LENGTH,
        alias,
    )
}

/// `_validate_model_alias_name_reserved`: `latest` (any case) and
/// `v<digits>`/`V<digits>` are reserved.
pub fn validate_model_alias_name_reserved(alias: &str) -> ApiResult<()> {
    if alias.to_lowercase() == "latest" {
        return Err(invalid(
            "'latest' alias name (case insensitive) is reserved.",
        ));
    }
    let body = alias.strip_suffix('\n').unwrap_or(alias);
    let mut chars = body.chars();
    if matches!(chars.next(), Some('v' | 'V')) {
        let rest: Vec<char> = chars.collect();
        if !rest.is_empty() && rest.iter().all(|c| py::is_decimal(*c)) {
            return Err(invalid(format!(
                "Version alias name '{alias}' is reserved."
            )));
        }
    }
    Ok(())
}

/// `_validate_registered_model_tag`: tag-name rule, key ≤ 250, value ≤
/// 100000.
pub fn validate_registered_model_tag(key: &str, value: &str) -> ApiResult<()> {
    check_key_name(key, "key")?;
    check_length("key", MAX_MODEL_REGISTRY_TAG_KEY_LENGTH, key)?;
    check_length("value", MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH, value)
}

/// `_validate_model_version_tag`: tag-name rule, key ≤ 250, the prompt-text
/// tag's own message, value ≤ 100000. (A `None` value is rejected by the
/// caller: `Tag value cannot be None`.)
pub fn validate_model_version_tag(key: &str, value: &str) -> ApiResult<()> {
    check_key_name(key, "key")?;
    check_length("key", MAX_MODEL_REGISTRY_TAG_KEY_LENGTH, key)?;
    if key == "mlflow.prompt.text" && char_len(value) > MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH {
        return Err(invalid(format!(
            "Prompt text exceeds max length of {MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH} characters."
        )));
    }
    check_length("value", MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH, value)
}

/// `_validate_logged_model_name`: when given, non-empty and free of
/// `/ : . % " '`.
pub fn validate_logged_model_name(name: Option<&str>) -> ApiResult<()> {
    let Some(name) = name else {
        return Ok(());
    };
    const BAD: [char; 6] = ['/', ':', '.', '%', '"', '\''];
    if name.is_empty() || name.chars().any(|c| BAD.contains(&c)) {
        return Err(invalid(format!(
            "Invalid model name ({}) provided. Model name must be a non-empty string and cannot contain the following characters: ('/', ':', '.', '%', '\"', \"'\")",
            py::repr_str(name)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(r: ApiResult<impl std::fmt::Debug>) -> String {
        let e = r.expect_err("expected an error");
        assert_eq!(e.code, crate::error::ErrorCode::InvalidParameterValue);
        e.message
    }

    const PATH_MSG: &str = "Names may be treated as files in certain cases, and must not resolve to other names when treated as such. This name would resolve to";

    #[test]
    fn metric_name_bad_characters() {
        assert_eq!(
            msg(validate_metric_name("bad*key")),
            "Invalid value \"bad*key\" for parameter 'name' supplied: Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."
        );
        assert_eq!(
            msg(validate_metric_name_at("a\nb", "metrics[3]")),
            "Invalid value \"a\\nb\" for parameter 'metrics[3].name' supplied: Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."
        );
        // combining mark: not \w in Python
        assert_eq!(
            msg(validate_metric_name("a\u{301}")),
            "Invalid value \"a\\u0301\" for parameter 'name' supplied: Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."
        );
    }

    #[test]
    fn word_chars_follow_python() {
        for c in ['a', 'Z', '0', '_', 'é', '²', '٣', 'ǅ', 'ʰ', 'क', '中'] {
            assert!(py::is_word_char(c), "{c:?}");
        }
        // combining marks and circled letters are alphabetic for Rust only
        for c in [
            '\u{301}', '\u{903}', '\u{94d}', '\u{947}', 'Ⓐ', '-', ' ', '.',
        ] {
            assert!(!py::is_word_char(c), "{c:?}");
        }
        assert!(validate_metric_name("नमस्ते").is_err());
    }

    #[test]
    fn metric_name_accepts_mlflow_names() {
        for ok in [
            "acc", "val loss", "a/b", "a:b", "a-b.c_d", "a..b", "é", "²", "٣", "abc\n", "x", "ǅʰ",
        ] {
            assert!(validate_metric_name(ok).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn metric_name_path_rule() {
        for (name, norm) in [
            ("../up", "'../up'"),
            ("a//b", "'a/b'"),
            ("a/./b", "'a/b'"),
            ("a/", "'a'"),
            ("/a", "'/a'"),
            (".", "'.'"),
            ("", "'.'"),
            ("a/..", "'.'"),
            ("..a", "'..a'"),
        ] {
            assert_eq!(
                msg(validate_metric_name(name)),
                format!(
                    "Invalid value {} for parameter 'name' supplied: {PATH_MSG} {norm}",
                    py::json_dumps_str(name)
                )
            );
        }
    }

    #[test]
    fn metric_name_length() {
        assert!(validate_metric_name(&"m".repeat(250)).is_ok());
        assert_eq!(
            msg(validate_metric_name(&"m".repeat(251))),
            "'Metric name' exceeds the maximum length of 250 characters"
        );
        // code points, not bytes
        assert!(validate_metric_name(&"é".repeat(250)).is_ok());
    }

    #[test]
    fn metric_full_check_in_mlflow_order() {
        assert!(validate_metric("neg", 1.0, 0, "").is_ok());
        assert_eq!(
            msg(validate_metric("neg", 1.0, -5, "")),
            "Invalid value -5 for parameter 'timestamp' supplied: metric 'neg' (value=1.0). Timestamp must be a nonnegative long (64-bit integer) "
        );
        assert_eq!(
            msg(validate_metric("m", 0.5, -1, "metrics[2]")),
            "Invalid value -1 for parameter 'metrics[2].timestamp' supplied: metric 'm' (value=0.5). Timestamp must be a nonnegative long (64-bit integer) "
        );
        // the timestamp is checked before the key length
        let long = "k".repeat(300);
        assert!(msg(validate_metric(&long, 1.0, -1, "")).starts_with("Invalid value -1"));
        assert_eq!(
            msg(validate_metric(&long, 1.0, 1, "")),
            "'Metric name' exceeds the maximum length of 250 characters"
        );
    }

    #[test]
    fn metric_timestamp() {
        assert!(validate_metric_timestamp(0).is_ok());
        assert!(validate_metric_timestamp(1_700_000_000_000).is_ok());
        assert_eq!(
            msg(validate_metric_timestamp(-5)),
            "Invalid value -5 for parameter 'timestamp' supplied: Timestamp must be a nonnegative long (64-bit integer) "
        );
    }

    #[test]
    fn param_name() {
        assert!(validate_param_name("lr").is_ok());
        assert_eq!(
            msg(validate_param_name("a?b")),
            "Invalid value \"a?b\" for parameter 'key' supplied: Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."
        );
        assert_eq!(
            msg(validate_param_name_at("../x", "params[1]")),
            format!(
                "Invalid value \"../x\" for parameter 'params[1].key' supplied: {PATH_MSG} '../x'"
            )
        );
        assert_eq!(
            msg(validate_param_name(&"p".repeat(251))),
            "'Param key' exceeds the maximum length of 250 characters"
        );
    }

    #[test]
    fn param_value_truncation() {
        let long = "v".repeat(6001);
        assert_eq!(
            param_value("k", long.clone(), true).map(|v| v.len()),
            Ok(6000)
        );
        assert_eq!(
            msg(param_value("k", long, false)),
            "'Param value' exceeds the maximum length of 6000 characters"
        );
        let exact = "v".repeat(6000);
        assert_eq!(param_value("k", exact.clone(), false), Ok(exact));
        // truncation counts characters
        let wide = "é".repeat(6001);
        assert_eq!(
            param_value("k", wide, true).map(|v| v.chars().count()),
            Ok(6000)
        );
    }

    #[test]
    fn tag_name() {
        assert!(validate_tag_name("mlflow.runName").is_ok());
        assert_eq!(
            msg(validate_tag_name("a|b")),
            "Invalid value \"a|b\" for parameter 'key' supplied: Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/)."
        );
        assert_eq!(
            msg(validate_tag_name(&"t".repeat(251))),
            "'key' exceeds the maximum length of 250 characters"
        );
        assert_eq!(
            msg(validate_tag_name_at(&"t".repeat(251), "tags[0]")),
            "'tags[0].key' exceeds the maximum length of 250 characters"
        );
        assert_eq!(
            msg(validate_tag_name("/abs")),
            format!("Invalid value \"/abs\" for parameter 'key' supplied: {PATH_MSG} '/abs'")
        );
    }

    #[test]
    fn tag_value_truncation() {
        let long = "v".repeat(8001);
        assert_eq!(
            tag_value("k", long.clone(), "", true).map(|v| v.len()),
            Ok(8000)
        );
        assert_eq!(
            msg(tag_value("k", long.clone(), "", false)),
            "'value' exceeds the maximum length of 8000 characters"
        );
        assert_eq!(
            msg(tag_value("k", long, "tags[4]", false)),
            "'tags[4].value' exceeds the maximum length of 8000 characters"
        );
        assert_eq!(tag_value("k", "x".into(), "", false), Ok("x".to_string()));
    }

    #[test]
    fn duplicate_param_keys() {
        assert!(validate_no_duplicate_param_keys(&["a", "b"]).is_ok());
        assert!(validate_no_duplicate_param_keys(&[]).is_ok());
        assert_eq!(
            msg(validate_no_duplicate_param_keys(&["d", "x", "d"])),
            "Duplicate parameter keys have been submitted: ['d']. Please ensure the request contains only one param value per param key."
        );
        assert_eq!(
            msg(validate_no_duplicate_param_keys(&["a", "a", "a", "it's", "it's"])),
            "Duplicate parameter keys have been submitted: ['a', 'a', \"it's\"]. Please ensure the request contains only one param value per param key."
        );
    }

    #[test]
    fn batch_limits() {
        assert!(validate_batch_limits(1000, 0, 0).is_ok());
        assert!(validate_batch_limits(800, 100, 100).is_ok());
        assert_eq!(
            msg(validate_batch_limits(1001, 0, 0)),
            "A batch logging request can contain at most 1000 metrics. Got 1001 metrics. Please split up metrics across multiple requests and try again."
        );
        assert_eq!(
            msg(validate_batch_limits(0, 101, 0)),
            "A batch logging request can contain at most 100 params. Got 101 params. Please split up params across multiple requests and try again."
        );
        assert_eq!(
            msg(validate_batch_limits(0, 0, 101)),
            "A batch logging request can contain at most 100 tags. Got 101 tags. Please split up tags across multiple requests and try again."
        );
        assert_eq!(
            msg(validate_batch_limits(900, 100, 1)),
            "A batch logging request can contain at most 1000 metrics, params, and tags. Got 1001 metrics, params, and tags. Please split up metrics, params, and tags across multiple requests and try again."
        );
    }

    #[test]
    fn run_id() {
        let long = "a".repeat(256);
        for ok in ["a", "0123abcdef", "a-b_c", "aé", long.as_str(), "abc\n"] {
            assert!(validate_run_id(ok).is_ok(), "{ok:?}");
        }
        assert_eq!(
            msg(validate_run_id("-a")),
            "Invalid value \"-a\" for parameter 'run_id' supplied."
        );
        assert!(validate_run_id(&"a".repeat(257)).is_err());
        assert!(validate_run_id("").is_err());
        assert!(validate_run_id("a b").is_err());
        assert!(validate_run_id("é").is_err());
    }

    #[test]
    fn experiment_ids() {
        assert!(validate_experiment_id("123").is_ok());
        assert_eq!(
            msg(validate_experiment_id("_x")),
            "Invalid experiment ID: '_x'"
        );
        assert_eq!(validate_experiment_id_int("42"), Ok(42));
        assert_eq!(validate_experiment_id_int(" 7 "), Ok(7));
        assert_eq!(validate_experiment_id_int("1_0"), Ok(10));
        assert_eq!(validate_experiment_id_int("-3"), Ok(-3));
        assert_eq!(
            msg(validate_experiment_id_int("abc")),
            "Invalid experiment ID 'abc'. Experiment ID must be a valid integer."
        );
        for bad in ["", "1.5", "1__0", "_1", "0x10", "99999999999999999999"] {
            assert!(validate_experiment_id_int(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn experiment_name() {
        assert!(validate_experiment_name("exp").is_ok());
        assert!(validate_experiment_name(&"n".repeat(500)).is_ok());
        assert_eq!(
            msg(validate_experiment_name("")),
            "Invalid experiment name: ''"
        );
        assert_eq!(
            msg(validate_experiment_name(&"n".repeat(501))),
            "'name' exceeds the maximum length of 500 characters"
        );
    }

    #[test]
    fn experiment_tags() {
        assert!(validate_experiment_tag_value("k", &"v".repeat(20000)).is_ok());
        assert_eq!(
            msg(validate_experiment_tag_value("k", &"v".repeat(20001))),
            "'value' exceeds the maximum length of 20000 characters"
        );
        assert!(validate_experiment_tag("mlflow.note.content", "x").is_ok());
        assert_eq!(
            msg(validate_experiment_tag(&"k".repeat(251), "x")),
            "'key' exceeds the maximum length of 250 characters"
        );
    }

    #[test]
    fn artifact_locations() {
        for ok in [
            "s3://bucket/path",
            "/tmp/x",
            "mlflow-artifacts:/1",
            "file:///tmp/a;b",
            "gs://b/p?x=1",
        ] {
            assert!(artifact_location(ok, 2048).is_ok(), "{ok}");
        }
        assert_eq!(
            msg(artifact_location("runs:/abc/x", 2048)),
            "Artifact location cannot be a runs:/ URI. Given: 'runs:/abc/x'"
        );
        assert_eq!(
            msg(artifact_location("s3://b/p#frag", 2048)),
            "'artifact_location' URL can't include fragments or params."
        );
        assert_eq!(
            msg(artifact_location("http://h/p;x", 2048)),
            "'artifact_location' URL can't include fragments or params."
        );
        assert_eq!(
            msg(artifact_location("s3://b/p?a=%252E%252E/x", 2048)),
            "Invalid query string"
        );
        assert_eq!(
            msg(artifact_location(&format!("s3://{}", "b".repeat(2044)), 2048)),
            "Invalid artifact path length. The length of the artifact path cannot be greater than 2048 characters. To configure this limit, please set the MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH environment variable."
        );
        assert!(artifact_location(&format!("s3://{}", "b".repeat(2043)), 2048).is_ok());
    }

    #[test]
    fn datasets_and_input_tags() {
        let mut d = Dataset {
            name: "n".into(),
            digest: "d".into(),
            source_type: "local".into(),
            source: "{}".into(),
            schema: None,
            profile: None,
        };
        assert!(validate_dataset(&d).is_ok());
        d.digest = "d".repeat(37);
        assert_eq!(
            msg(validate_dataset(&d)),
            "'digest' exceeds the maximum length of 36 characters"
        );
        d.digest = "d".into();
        d.name = "n".repeat(501);
        assert_eq!(
            msg(validate_dataset(&d)),
            "'name' exceeds the maximum length of 500 characters"
        );
        assert!(validate_input_tag("mlflow.data.context", "train").is_ok());
        assert_eq!(
            msg(validate_input_tag(&"k".repeat(256), "v")),
            "'key' exceeds the maximum length of 255 characters"
        );
        assert_eq!(
            msg(validate_input_tag("k", &"v".repeat(501))),
            "'value' exceeds the maximum length of 500 characters"
        );
    }

    #[test]
    fn search_runs_max_results() {
        assert_eq!(validate_search_runs_max_results(None), Ok(1000));
        assert_eq!(validate_search_runs_max_results(Some(50000)), Ok(50000));
        assert_eq!(
            msg(validate_search_runs_max_results(Some(50001))),
            "Invalid value 50001 for parameter 'max_results' supplied:  Hint: Value was of type 'int'. See the API docs for more information about request parameters."
        );
        assert_eq!(
            msg(validate_search_runs_max_results(Some(0))),
            "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer"
        );
    }

    #[test]
    fn search_experiments_max_results() {
        assert_eq!(validate_search_experiments_max_results(Some(1)), Ok(1));
        assert_eq!(
            validate_search_experiments_max_results(Some(50000)),
            Ok(50000)
        );
        assert_eq!(
            msg(validate_search_experiments_max_results(None)),
            "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer"
        );
        assert_eq!(
            msg(validate_search_experiments_max_results(Some(-2))),
            "Invalid value -2 for parameter 'max_results' supplied. It must be a positive integer"
        );
        assert_eq!(
            msg(validate_search_experiments_max_results(Some(50001))),
            "Invalid value 50001 for parameter 'max_results' supplied. It must be at most 50000"
        );
    }

    #[test]
    fn search_registered_models_max_results() {
        assert_eq!(validate_search_registered_models_max_results(None), Ok(100));
        assert_eq!(
            msg(validate_search_registered_models_max_results(Some(1001))),
            "Invalid value for request parameter max_results. It must be at most 1000, but got value 1001"
        );
    }

    #[test]
    fn registry_names() {
        assert!(validate_model_name("my-model").is_ok());
        assert_eq!(
            msg(validate_model_name("  ")),
            "Missing value for required parameter 'name'."
        );
        assert_eq!(
            msg(validate_model_name("a/b")),
            "Invalid model name 'a/b'. Names cannot contain '/' or ':'."
        );
        assert_eq!(
            msg(validate_model_name("..")),
            format!("Invalid value \"..\" for parameter 'name' supplied: {PATH_MSG} '..'")
        );
        assert_eq!(validate_model_version("3"), Ok(3));
        assert_eq!(
            msg(validate_model_version("x")),
            "Parameter 'version' must be an integer, got 'x'."
        );
    }

    #[test]
    fn aliases() {
        assert!(validate_model_alias_name("champion").is_ok());
        assert_eq!(
            msg(validate_model_alias_name("")),
            "Registered model alias name cannot be empty."
        );
        assert_eq!(
            msg(validate_model_alias_name("a b")),
            "Invalid alias name: 'a b'. Names may only contain alphanumerics, underscores (_), and dashes (-)."
        );
        assert_eq!(
            msg(validate_model_alias_name(&"a".repeat(256))),
            "'Registered model alias name' exceeds the maximum length of 255 characters"
        );
        assert_eq!(
            msg(validate_model_alias_name_reserved("Latest")),
            "'latest' alias name (case insensitive) is reserved."
        );
        assert_eq!(
            msg(validate_model_alias_name_reserved("V12")),
            "Version alias name 'V12' is reserved."
        );
        assert!(validate_model_alias_name_reserved("v").is_ok());
        assert!(validate_model_alias_name_reserved("v1a").is_ok());
        assert!(validate_model_alias_name_reserved("prod").is_ok());
    }

    #[test]
    fn registry_tags() {
        assert!(validate_registered_model_tag("k", &"v".repeat(100_000)).is_ok());
        assert_eq!(
            msg(validate_registered_model_tag("k", &"v".repeat(100_001))),
            "'value' exceeds the maximum length of 100000 characters"
        );
        assert_eq!(
            msg(validate_model_version_tag(
                "mlflow.prompt.text",
                &"v".repeat(100_001)
            )),
            "Prompt text exceeds max length of 100000 characters."
        );
        assert_eq!(
            msg(validate_model_version_tag(&"k".repeat(251), "v")),
            "'key' exceeds the maximum length of 250 characters"
        );
    }

    #[test]
    fn logged_model_names() {
        assert!(validate_logged_model_name(None).is_ok());
        assert!(validate_logged_model_name(Some("model")).is_ok());
        assert_eq!(
            msg(validate_logged_model_name(Some("a.b"))),
            "Invalid model name ('a.b') provided. Model name must be a non-empty string and cannot contain the following characters: ('/', ':', '.', '%', '\"', \"'\")"
        );
        assert!(validate_logged_model_name(Some("")).is_err());
    }

    #[test]
    fn python_repr() {
        assert_eq!(py::repr_str("abc"), "'abc'");
        assert_eq!(py::repr_str("it's"), "\"it's\"");
        assert_eq!(py::repr_str("a'\"b"), "'a\\'\"b'");
        assert_eq!(py::repr_str("a\\b\n\t\u{1}"), "'a\\\\b\\n\\t\\x01'");
        assert_eq!(py::repr_str("é\u{a0}\u{200b}😀"), "'é\\xa0\\u200b😀'");
        assert_eq!(py::repr_bytes(b"not json"), "b'not json'");
        assert_eq!(py::repr_bytes(b"it's\x00\xff"), "b\"it's\\x00\\xff\"");
        assert_eq!(py::repr_str_list(&["d"]), "['d']");
        assert_eq!(py::repr_str_list::<&str>(&[]), "[]");
    }

    #[test]
    fn python_float_repr() {
        for (x, s) in [
            (1.0, "1.0"),
            (0.5, "0.5"),
            (-2.25, "-2.25"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e300, "1.5e+300"),
            (123456789.125, "123456789.125"),
            (0.1 + 0.2, "0.30000000000000004"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
        ] {
            assert_eq!(py::repr_float(x), s);
        }
    }

    #[test]
    fn python_json_dumps() {
        assert_eq!(py::json_dumps_str("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(
            py::json_dumps_str("é😀\u{1}"),
            "\"\\u00e9\\ud83d\\ude00\\u0001\""
        );
    }

    #[test]
    fn python_normpath() {
        for (p, n) in [
            ("", "."),
            ("a", "a"),
            ("a/b/", "a/b"),
            ("//a", "//a"),
            ("///a", "/a"),
            ("a/../..", ".."),
            ("/..", "/"),
            ("./a", "a"),
            ("a/./b/../c", "a/c"),
        ] {
            assert_eq!(py::normpath(p), n, "{p}");
        }
    }

    #[test]
    fn python_int() {
        assert_eq!(py::parse_int("+5"), Some(5));
        assert_eq!(py::parse_int("007"), Some(7));
        assert_eq!(py::parse_int("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(py::parse_int("9223372036854775808"), None);
        assert_eq!(py::parse_int("1 2"), None);
        assert_eq!(py::parse_int("-"), None);
    }
}
