//! Prometheus metrics, kept in memory and rendered in the text exposition
//! format on each scrape.
//!
//! Two families describe HTTP traffic. `mlflow_http_request_*` are the
//! names `mlflow server --expose-prometheus` exports (prometheus_flask_exporter
//! with the `mlflow` prefix, grouped by `mlflow_version`), so existing
//! dashboards keep working; `ferroflow_http_*` add the matched route. Both
//! come from the same observations. Gauges for the database pool, the
//! entities in the store and the process are read at scrape time.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Upper bounds of the latency histograms, in seconds: the union of
/// prometheus_flask_exporter's defaults (what MLflow exports) and finer
/// buckets under 5 ms, where most ferroflow calls fall.
const BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Paths MLflow leaves out of its HTTP metrics (probes and the scrape).
pub fn excluded_from_http_metrics(route: &str) -> bool {
    matches!(route, "/health" | "/ready" | "/version" | "/metrics")
        || route.ends_with("/health")
        || route.ends_with("/ready")
        || route.ends_with("/version")
        || route.ends_with("/metrics")
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct SeriesKey {
    method: String,
    route: String,
    status: u16,
}

#[derive(Default, Clone)]
struct Histogram {
    /// Per bucket (not cumulative); the last slot counts values above 10 s.
    counts: [u64; BUCKETS.len() + 1],
    sum: f64,
    total: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        let slot = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(BUCKETS.len());
        self.counts[slot] += 1;
        self.sum += seconds;
        self.total += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.sum += other.sum;
        self.total += other.total;
    }
}

/// Connection pool use, as sqlx reports it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// One gauge sample: a metric name, its labels and a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: &'static str,
    pub help: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

/// Whatever the scrape reads from outside the HTTP layer: the store's
/// pools and entity counts. Implemented by the SQL store.
#[async_trait::async_trait]
pub trait ScrapeSource: Send + Sync {
    /// `(pool name, stats)` for each connection pool.
    fn pool_stats(&self) -> Vec<(&'static str, PoolStats)>;
    /// Entity gauges (experiments, runs … by state); an error means the
    /// database did not answer.
    async fn entity_samples(&self) -> crate::error::ApiResult<Vec<Sample>>;
}

/// How long entity counts are reused between scrapes: counting a large
/// `runs` table on every 5-second scrape would be the heaviest query the
/// server runs.
const ENTITY_CACHE_TTL: Duration = Duration::from_secs(15);

pub struct Metrics {
    http: Mutex<HashMap<SeriesKey, Histogram>>,
    in_flight: AtomicI64,
    artifact_bytes_in: AtomicU64,
    artifact_bytes_out: AtomicU64,
    start_time: f64,
    entity_cache: tokio::sync::Mutex<Option<(Instant, Vec<Sample>)>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            http: Mutex::new(HashMap::new()),
            in_flight: AtomicI64::new(0),
            artifact_bytes_in: AtomicU64::new(0),
            artifact_bytes_out: AtomicU64::new(0),
            start_time: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
            entity_cache: tokio::sync::Mutex::new(None),
        }
    }
}

impl Metrics {
    /// Records one finished request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        if excluded_from_http_metrics(route) {
            return;
        }
        let key = SeriesKey {
            method: method.to_string(),
            route: route.to_string(),
            status,
        };
        // A poisoned lock only means another thread panicked mid-update of
        // plain counters; keep counting.
        let mut http = self.http.lock().unwrap_or_else(|e| e.into_inner());
        http.entry(key).or_default().observe(elapsed.as_secs_f64());
    }

    pub fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub fn request_finished(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn add_artifact_bytes_in(&self, n: u64) {
        self.artifact_bytes_in.fetch_add(n, Ordering::Relaxed);
    }

    pub fn add_artifact_bytes_out(&self, n: u64) {
        self.artifact_bytes_out.fetch_add(n, Ordering::Relaxed);
    }

    /// The whole exposition: HTTP families, pool and entity gauges (entity
    /// counts cached for [`ENTITY_CACHE_TTL`]), process figures.
    pub async fn render(&self, source: &dyn ScrapeSource) -> String {
        let entities = {
            let mut cache = self.entity_cache.lock().await;
            match cache.as_ref() {
                Some((at, samples)) if at.elapsed() < ENTITY_CACHE_TTL => Ok(samples.clone()),
                _ => match source.entity_samples().await {
                    Ok(samples) => {
                        *cache = Some((Instant::now(), samples.clone()));
                        Ok(samples)
                    }
                    Err(e) => Err(e),
                },
            }
        };
        let mut out = String::with_capacity(16 * 1024);
        self.render_http(&mut out);
        render_pools(&mut out, &source.pool_stats());
        gauge_header(
            &mut out,
            "ferroflow_database_up",
            "1 when the last entity count reached the database",
        );
        let _ = writeln!(
            out,
            "ferroflow_database_up {}",
            if entities.is_ok() { 1 } else { 0 }
        );
        if let Ok(samples) = &entities {
            render_samples(&mut out, samples);
        }
        counter_header(
            &mut out,
            "ferroflow_artifact_bytes_total",
            "Artifact bytes through the server (in: uploads, out: downloads)",
        );
        let _ = writeln!(
            out,
            "ferroflow_artifact_bytes_total{{direction=\"in\"}} {}",
            self.artifact_bytes_in.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "ferroflow_artifact_bytes_total{{direction=\"out\"}} {}",
            self.artifact_bytes_out.load(Ordering::Relaxed)
        );
        gauge_header(
            &mut out,
            "ferroflow_http_requests_in_flight",
            "Requests being served",
        );
        let _ = writeln!(
            out,
            "ferroflow_http_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        render_process(&mut out, self.start_time);
        out
    }

    fn render_http(&self, out: &mut String) {
        let series: Vec<(SeriesKey, Histogram)> = {
            let http = self.http.lock().unwrap_or_else(|e| e.into_inner());
            http.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        // MLflow's families: by method and status (route-free).
        let mut by_status: Vec<((String, u16), Histogram)> = Vec::new();
        for (key, hist) in &series {
            let k = (key.method.clone(), key.status);
            match by_status.iter_mut().find(|(existing, _)| *existing == k) {
                Some((_, h)) => h.merge(hist),
                None => by_status.push((k, hist.clone())),
            }
        }
        by_status.sort_by(|a, b| a.0.cmp(&b.0));
        gauge_header(
            out,
            "mlflow_exporter_info",
            "Information about the Prometheus Flask exporter",
        );
        let _ = writeln!(
            out,
            "mlflow_exporter_info{{version=\"ferroflow-{}\"}} 1.0",
            env!("CARGO_PKG_VERSION")
        );
        counter_header(
            out,
            "mlflow_http_request_total",
            "Total number of HTTP requests",
        );
        for ((method, status), h) in &by_status {
            let _ = writeln!(
                out,
                "mlflow_http_request_total{{method=\"{}\",status=\"{status}\"}} {}.0",
                escape(method),
                h.total
            );
        }
        counter_header(
            out,
            "mlflow_http_request_exceptions_total",
            "Total number of HTTP requests which resulted in an exception",
        );
        for ((method, status), h) in by_status.iter().filter(|((_, s), _)| *s >= 500) {
            let _ = writeln!(
                out,
                "mlflow_http_request_exceptions_total{{method=\"{}\",status=\"{status}\"}} {}.0",
                escape(method),
                h.total
            );
        }
        histogram_header(
            out,
            "mlflow_http_request_duration_seconds",
            "Flask HTTP request duration in seconds",
        );
        for ((method, status), h) in &by_status {
            let labels = format!(
                "method=\"{}\",mlflow_version=\"{}\",status=\"{status}\"",
                escape(method),
                crate::MLFLOW_VERSION
            );
            render_histogram(out, "mlflow_http_request_duration_seconds", &labels, h);
        }
        // ferroflow's families: by route as well.
        let mut series = series;
        series.sort_by(|a, b| {
            (&a.0.route, &a.0.method, a.0.status).cmp(&(&b.0.route, &b.0.method, b.0.status))
        });
        counter_header(
            out,
            "ferroflow_http_requests_total",
            "HTTP requests by matched route, method and status",
        );
        for (key, h) in &series {
            let _ = writeln!(
                out,
                "ferroflow_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{}\"}} {}",
                escape(&key.method),
                escape(&key.route),
                key.status,
                h.total
            );
        }
        histogram_header(
            out,
            "ferroflow_http_request_duration_seconds",
            "Time from the request's arrival to the end of its response body, by route",
        );
        for (key, h) in &series {
            let labels = format!(
                "method=\"{}\",route=\"{}\",status=\"{}\"",
                escape(&key.method),
                escape(&key.route),
                key.status
            );
            render_histogram(out, "ferroflow_http_request_duration_seconds", &labels, h);
        }
    }
}

fn render_histogram(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    let mut cumulative = 0u64;
    for (bound, count) in BUCKETS.iter().zip(h.counts.iter()) {
        cumulative += count;
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels},le=\"{bound:?}\"}} {cumulative}"
        );
    }
    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", h.total);
    let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.total);
    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum);
}

fn render_pools(out: &mut String, pools: &[(&'static str, PoolStats)]) {
    gauge_header(
        out,
        "ferroflow_db_pool_connections",
        "Database connections by pool and state (in_use, idle, max)",
    );
    for (pool, stats) in pools {
        let in_use = stats.open.saturating_sub(stats.idle);
        for (state, value) in [("in_use", in_use), ("idle", stats.idle), ("max", stats.max)] {
            let _ = writeln!(
                out,
                "ferroflow_db_pool_connections{{pool=\"{pool}\",state=\"{state}\"}} {value}"
            );
        }
    }
}

fn render_samples(out: &mut String, samples: &[Sample]) {
    let mut last_name = "";
    for sample in samples {
        if sample.name != last_name {
            gauge_header(out, sample.name, sample.help);
            last_name = sample.name;
        }
        let labels: Vec<String> = sample
            .labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        if labels.is_empty() {
            let _ = writeln!(out, "{} {}", sample.name, sample.value);
        } else {
            let _ = writeln!(
                out,
                "{}{{{}}} {}",
                sample.name,
                labels.join(","),
                sample.value
            );
        }
    }
}

/// `process_*` as the Prometheus client libraries export them (Linux:
/// read from /proc; elsewhere only the start time).
fn render_process(out: &mut String, start_time: f64) {
    gauge_header(
        out,
        "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds",
    );
    let _ = writeln!(out, "process_start_time_seconds {start_time}");
    if let Some(rss) = read_status_kib("VmRSS:") {
        gauge_header(
            out,
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
        );
        let _ = writeln!(out, "process_resident_memory_bytes {}", rss * 1024);
    }
    if let Some(vm) = read_status_kib("VmSize:") {
        gauge_header(
            out,
            "process_virtual_memory_bytes",
            "Virtual memory size in bytes",
        );
        let _ = writeln!(out, "process_virtual_memory_bytes {}", vm * 1024);
    }
    if let Some(cpu) = read_cpu_seconds() {
        counter_header(
            out,
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds",
        );
        let _ = writeln!(out, "process_cpu_seconds_total {cpu}");
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        gauge_header(out, "process_open_fds", "Number of open file descriptors");
        let _ = writeln!(out, "process_open_fds {}", fds.count());
    }
}

fn read_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .split_whitespace()
        .next()?
        .parse::<u64>()
        .ok()
}

/// utime + stime from /proc/self/stat, in clock ticks of 1/100 s (the
/// USER_HZ every Linux build exposes to user space).
fn read_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name is parenthesised and may hold spaces: fields count
    // from after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3 of the full line, utime 14, stime 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn gauge_header(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
}

fn counter_header(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
}

fn histogram_header(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
}

/// Label values escape backslash, double quote and newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FixedSource;

    #[async_trait::async_trait]
    impl ScrapeSource for FixedSource {
        fn pool_stats(&self) -> Vec<(&'static str, PoolStats)> {
            vec![(
                "main",
                PoolStats {
                    open: 3,
                    idle: 1,
                    max: 16,
                },
            )]
        }
        async fn entity_samples(&self) -> crate::error::ApiResult<Vec<Sample>> {
            Ok(vec![Sample {
                name: "ferroflow_runs",
                help: "Runs",
                labels: vec![("lifecycle_stage", "active".into())],
                value: 7.0,
            }])
        }
    }

    #[tokio::test]
    async fn renders_mlflow_and_ferroflow_families_from_the_same_observations() {
        let m = Metrics::default();
        m.observe_request(
            "POST",
            "/api/2.0/mlflow/runs/create",
            200,
            Duration::from_millis(3),
        );
        m.observe_request(
            "POST",
            "/api/2.0/mlflow/runs/create",
            200,
            Duration::from_millis(30),
        );
        m.observe_request(
            "GET",
            "/api/2.0/mlflow/runs/get",
            404,
            Duration::from_millis(1),
        );
        m.observe_request(
            "GET",
            "/api/2.0/mlflow/runs/get",
            500,
            Duration::from_secs(20),
        );
        m.observe_request("GET", "/health", 200, Duration::from_millis(1));
        let text = m.render(&FixedSource).await;
        assert!(text.contains("mlflow_http_request_total{method=\"POST\",status=\"200\"} 2.0"));
        assert!(text
            .contains("mlflow_http_request_exceptions_total{method=\"GET\",status=\"500\"} 1.0"));
        assert!(
            !text.contains("mlflow_http_request_exceptions_total{method=\"GET\",status=\"404\"}")
        );
        assert!(text.contains(
            "ferroflow_http_requests_total{method=\"POST\",route=\"/api/2.0/mlflow/runs/create\",status=\"200\"} 2"
        ));
        // Cumulative buckets: 3 ms falls in le=0.005, 30 ms in le=0.05.
        let labels = "method=\"POST\",route=\"/api/2.0/mlflow/runs/create\",status=\"200\"";
        assert!(text.contains(&format!(
            "ferroflow_http_request_duration_seconds_bucket{{{labels},le=\"0.0025\"}} 0"
        )));
        assert!(text.contains(&format!(
            "ferroflow_http_request_duration_seconds_bucket{{{labels},le=\"0.005\"}} 1"
        )));
        assert!(text.contains(&format!(
            "ferroflow_http_request_duration_seconds_bucket{{{labels},le=\"0.05\"}} 2"
        )));
        // Above the last bound: only in +Inf.
        let slow = "method=\"GET\",route=\"/api/2.0/mlflow/runs/get\",status=\"500\"";
        assert!(text.contains(&format!(
            "ferroflow_http_request_duration_seconds_bucket{{{slow},le=\"10.0\"}} 0"
        )));
        assert!(text.contains(&format!(
            "ferroflow_http_request_duration_seconds_bucket{{{slow},le=\"+Inf\"}} 1"
        )));
        assert!(text.contains(
            "mlflow_http_request_duration_seconds_count{method=\"POST\",mlflow_version=\"3.17.2\",status=\"200\"} 2"
        ));
        // Probes are left out, as MLflow leaves out /health and /version.
        assert!(!text.contains("route=\"/health\""));
        assert!(text.contains("ferroflow_db_pool_connections{pool=\"main\",state=\"in_use\"} 2"));
        assert!(text.contains("ferroflow_runs{lifecycle_stage=\"active\"} 7"));
        assert!(text.contains("ferroflow_database_up 1"));
        assert!(text.contains("# TYPE ferroflow_http_request_duration_seconds histogram"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
