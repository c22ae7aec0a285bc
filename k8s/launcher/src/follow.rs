//! Following a training job: its conditions (watched by name) to Succeeded
//! or Failed, and, at the same time, the log of its master pod (rank 0,
//! the one that talks to ferroflow), re-attached when that container restarts.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams, WatchEvent, WatchParams};
use kube::core::{ApiResource, DynamicObject};
use kube::{Client, ResourceExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{sleep, Instant};

use crate::crd::{JobStatus, PyTorchJob, TrainJob};
use crate::render::{PYTORCH_CONTAINER, TRAINJOB_NODE};

/// The two job kinds `submit` creates and follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// `kubeflow.org/v1` (Training Operator v1).
    PyTorchJob,
    /// `trainer.kubeflow.org/v1alpha1` (Kubeflow Trainer v2).
    TrainJob,
}

impl JobKind {
    pub fn from_type(api_version: &str, kind: &str) -> Option<JobKind> {
        match (api_version, kind) {
            ("kubeflow.org/v1", "PyTorchJob") => Some(JobKind::PyTorchJob),
            ("trainer.kubeflow.org/v1alpha1", "TrainJob") => Some(JobKind::TrainJob),
            _ => None,
        }
    }

    pub fn api_resource(self) -> ApiResource {
        match self {
            JobKind::PyTorchJob => ApiResource::erase::<PyTorchJob>(&()),
            JobKind::TrainJob => ApiResource::erase::<TrainJob>(&()),
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            JobKind::PyTorchJob => "PyTorchJob",
            JobKind::TrainJob => "TrainJob",
        }
    }

    /// The condition that means the job succeeded.
    pub fn success_condition(self) -> &'static str {
        match self {
            JobKind::PyTorchJob => "Succeeded",
            JobKind::TrainJob => "Complete",
        }
    }

    /// The container of the master pod that runs `ferroflow-train run`.
    pub fn master_container(self) -> &'static str {
        match self {
            JobKind::PyTorchJob => PYTORCH_CONTAINER,
            JobKind::TrainJob => TRAINJOB_NODE,
        }
    }
}

/// A job in the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRef {
    pub kind: JobKind,
    pub namespace: String,
    pub name: String,
}

impl JobRef {
    /// `pytorchjob/NAME` or `trainjob/NAME`.
    pub fn display(&self) -> String {
        format!("{}/{}", self.kind.kind().to_ascii_lowercase(), self.name)
    }

    /// PyTorchJob: the master pod's fixed name (what MASTER_ADDR names too).
    pub fn master_pod_name(&self) -> Option<String> {
        match self.kind {
            JobKind::PyTorchJob => Some(format!("{}-master-0", self.name)),
            JobKind::TrainJob => None,
        }
    }

    /// TrainJob: the labels of node 0's pod (JobSet + indexed Job); its name
    /// ends in a random suffix.
    pub fn master_pod_selector(&self) -> String {
        match self.kind {
            JobKind::PyTorchJob => format!(
                "training.kubeflow.org/job-name={},training.kubeflow.org/replica-type=master",
                self.name
            ),
            JobKind::TrainJob => format!(
                "jobset.sigs.k8s.io/jobset-name={},jobset.sigs.k8s.io/replicatedjob-name={TRAINJOB_NODE},\
                 jobset.sigs.k8s.io/job-index=0,batch.kubernetes.io/job-completion-index=0",
                self.name
            ),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Succeeded,
    Failed,
}

/// How a followed job ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub job: JobRef,
    pub phase: Phase,
    pub reason: Option<String>,
    pub message: Option<String>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.phase == Phase::Succeeded
    }

    /// 0 when the job succeeded, 1 when it failed.
    pub fn exit_code(&self) -> i32 {
        match self.phase {
            Phase::Succeeded => 0,
            Phase::Failed => 1,
        }
    }
}

/// Where progress goes: condition changes and notes (`status`), and the
/// master's log lines (`log`).
pub trait Reporter: Send {
    fn status(&mut self, line: &str);
    fn log(&mut self, line: &str);
}

/// Status lines on standard error, log lines on standard output.
pub struct StdReporter;

impl Reporter for StdReporter {
    fn status(&mut self, line: &str) {
        eprintln!("ferroflow-k8s: {line}");
    }
    fn log(&mut self, line: &str) {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

#[derive(Clone, Debug)]
pub struct FollowOptions {
    /// Stream the master pod's log.
    pub logs: bool,
    /// Give up after this long (the job keeps running).
    pub timeout: Option<Duration>,
    /// How often to look at the master pod while it is not running yet.
    pub pod_poll: Duration,
    /// After the job ended, how long the rest of the log may take to arrive.
    pub log_drain: Duration,
    /// Server-side timeout of one watch request (it is renewed).
    pub watch_timeout_secs: u32,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            logs: true,
            timeout: None,
            pod_poll: Duration::from_secs(2),
            log_drain: Duration::from_secs(10),
            watch_timeout_secs: 290,
        }
    }
}

/// The job's outcome from its conditions, if it has one: the last terminal
/// condition (success or `Failed`) whose status is "True".
pub fn outcome_of(job: &JobRef, status: &JobStatus) -> Option<Outcome> {
    status
        .conditions
        .iter()
        .filter(|c| c.status == "True")
        .filter_map(|c| {
            let phase = if c.type_ == job.kind.success_condition() {
                Phase::Succeeded
            } else if c.type_ == "Failed" {
                Phase::Failed
            } else {
                return None;
            };
            Some(Outcome {
                job: job.clone(),
                phase,
                reason: c.reason.clone(),
                message: c.message.clone(),
            })
        })
        .next_back()
}

fn status_of(obj: &DynamicObject) -> JobStatus {
    obj.data
        .get("status")
        .cloned()
        .and_then(|s| serde_json::from_value(s).ok())
        .unwrap_or_default()
}

/// Reports each condition once per (type, status, reason).
#[derive(Default)]
struct ConditionLog {
    seen: Vec<(String, String, Option<String>)>,
}

impl ConditionLog {
    fn observe(
        &mut self,
        job: &JobRef,
        obj: &DynamicObject,
        reporter: &mut dyn Reporter,
    ) -> Option<Outcome> {
        let status = status_of(obj);
        for c in &status.conditions {
            let key = (c.type_.clone(), c.status.clone(), c.reason.clone());
            if self.seen.contains(&key) {
                continue;
            }
            self.seen.push(key);
            if c.status != "True" {
                continue;
            }
            let mut line = format!("{}: {}", job.display(), c.type_);
            if let Some(reason) = c.reason.as_deref().filter(|r| !r.is_empty()) {
                line.push_str(&format!(" ({reason})"));
            }
            if let Some(message) = c.message.as_deref().filter(|m| !m.is_empty()) {
                line.push_str(&format!(": {message}"));
            }
            reporter.status(&line);
        }
        outcome_of(job, &status)
    }
}

enum LogMsg {
    Line(String),
    Note(String),
}

impl LogMsg {
    fn deliver(self, reporter: &mut dyn Reporter) {
        match self {
            LogMsg::Line(line) => reporter.log(&line),
            LogMsg::Note(note) => reporter.status(&note),
        }
    }
}

/// Follows `job` to Succeeded or Failed; with `opts.logs`, streams the
/// master pod's log to `reporter` meanwhile.  Needs get + watch on the job,
/// get (+ list for a TrainJob) on pods and get on pods/log.
pub async fn follow(
    client: Client,
    job: &JobRef,
    opts: &FollowOptions,
    reporter: &mut dyn Reporter,
) -> Result<Outcome> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &job.namespace, &job.kind.api_resource());
    let mut master_log = MasterLogFeed::start(&client, job, opts);
    let deadline = opts.timeout.map(|t| Instant::now() + t);
    let mut watch = JobWatch {
        api,
        job,
        resource_version: String::new(),
        conditions: ConditionLog::default(),
        failures: 0,
    };
    let mut outcome = watch
        .read_afresh(reporter)
        .await
        .with_context(|| format!("reading {}", job.display()))?;
    while outcome.is_none() {
        outcome = watch
            .watch_once(&mut master_log, deadline, opts, reporter)
            .await?;
    }
    // The job ended: let the rest of the master's log arrive.
    master_log.drain(opts.log_drain, reporter).await;
    let outcome = outcome.ok_or_else(|| anyhow!("{} ended without an outcome", job.display()))?;
    report_outcome(&outcome, reporter);
    Ok(outcome)
}

fn report_outcome(outcome: &Outcome, reporter: &mut dyn Reporter) {
    let mut line = format!(
        "{} {}",
        outcome.job.display(),
        match outcome.phase {
            Phase::Succeeded => "succeeded",
            Phase::Failed => "failed",
        }
    );
    if let Some(m) = outcome.message.as_deref().filter(|m| !m.is_empty()) {
        line.push_str(&format!(": {m}"));
    }
    reporter.status(&line);
}

/// The master pod's log, read by a task of its own and handed over here.
struct MasterLogFeed {
    task: Option<JoinHandle<()>>,
    rx: mpsc::UnboundedReceiver<LogMsg>,
    /// False once the task has ended and everything it sent was delivered.
    open: bool,
}

impl MasterLogFeed {
    fn start(client: &Client, job: &JobRef, opts: &FollowOptions) -> Self {
        let (tx, rx) = mpsc::unbounded_channel::<LogMsg>();
        let task = if opts.logs {
            Some(tokio::spawn(master_log_loop(
                client.clone(),
                job.clone(),
                opts.pod_poll,
                tx,
            )))
        } else {
            drop(tx);
            None
        };
        MasterLogFeed {
            open: task.is_some(),
            task,
            rx,
        }
    }

    fn deliver(&mut self, msg: Option<LogMsg>, reporter: &mut dyn Reporter) {
        match msg {
            Some(msg) => msg.deliver(reporter),
            None => self.open = false,
        }
    }

    fn abort(&self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }

    /// Delivers what arrives within `within`, then stops the task.
    async fn drain(mut self, within: Duration, reporter: &mut dyn Reporter) {
        let Some(task) = self.task.take() else {
            return;
        };
        let drain = sleep(within);
        tokio::pin!(drain);
        loop {
            tokio::select! {
                msg = self.rx.recv() => match msg {
                    Some(msg) => msg.deliver(reporter),
                    None => break,
                },
                _ = &mut drain => break,
            }
        }
        task.abort();
    }
}

/// The job's watch: where it has got to (resourceVersion), the conditions
/// reported so far, and the stream errors since the last event.
struct JobWatch<'a> {
    api: Api<DynamicObject>,
    job: &'a JobRef,
    resource_version: String,
    conditions: ConditionLog,
    failures: u32,
}

/// What a watch event means for the watch request it came on.
enum AfterEvent {
    /// Read the next event of this request.
    Next,
    /// Start a new request, unless the outcome is known.
    Renew(Option<Outcome>),
}

impl JobWatch<'_> {
    /// Reads the job (again), e.g. when our resourceVersion is too old.
    async fn read_afresh(&mut self, reporter: &mut dyn Reporter) -> Result<Option<Outcome>> {
        let obj = self.api.get(&self.job.name).await?;
        self.resource_version = obj.resource_version().unwrap_or_default();
        Ok(self.conditions.observe(self.job, &obj, reporter))
    }

    /// One watch request, up to its end or the job's outcome; meanwhile
    /// the master's log is delivered and the deadline kept.
    async fn watch_once(
        &mut self,
        master_log: &mut MasterLogFeed,
        deadline: Option<Instant>,
        opts: &FollowOptions,
        reporter: &mut dyn Reporter,
    ) -> Result<Option<Outcome>> {
        let job = self.job;
        let wp = WatchParams::default()
            .fields(&format!("metadata.name={}", job.name))
            .timeout(opts.watch_timeout_secs);
        let api = self.api.clone();
        let mut stream = match api.watch(&wp, &self.resource_version).await {
            Ok(s) => s.boxed(),
            Err(kube::Error::Api(s)) if s.code == 410 => return self.read_afresh(reporter).await,
            Err(e) => return Err(e).with_context(|| format!("watching {}", job.display())),
        };
        loop {
            tokio::select! {
                event = stream.try_next() => match self.on_event(event, reporter).await? {
                    AfterEvent::Next => {}
                    AfterEvent::Renew(outcome) => return Ok(outcome),
                },
                msg = master_log.rx.recv(), if master_log.open => master_log.deliver(msg, reporter),
                _ = sleep_until_opt(deadline) => {
                    master_log.abort();
                    bail!(
                        "{} has not finished within {:?}; it keeps running (follow it again or `kubectl get`)",
                        job.display(),
                        opts.timeout.unwrap_or_default()
                    );
                }
            }
        }
    }

    async fn on_event(
        &mut self,
        event: kube::Result<Option<WatchEvent<DynamicObject>>>,
        reporter: &mut dyn Reporter,
    ) -> Result<AfterEvent> {
        let job = self.job;
        match event {
            Ok(Some(WatchEvent::Added(o) | WatchEvent::Modified(o))) => {
                self.failures = 0;
                if let Some(v) = o.resource_version() {
                    self.resource_version = v;
                }
                Ok(match self.conditions.observe(job, &o, reporter) {
                    None => AfterEvent::Next,
                    outcome => AfterEvent::Renew(outcome),
                })
            }
            Ok(Some(WatchEvent::Deleted(_))) => {
                bail!("{} was deleted before it finished", job.display())
            }
            Ok(Some(WatchEvent::Bookmark(b))) => {
                self.resource_version = b.metadata.resource_version;
                Ok(AfterEvent::Next)
            }
            Ok(Some(WatchEvent::Error(s))) if s.code == 410 => {
                Ok(AfterEvent::Renew(self.read_afresh(reporter).await?))
            }
            Ok(Some(WatchEvent::Error(s))) => {
                bail!("watching {}: {} ({})", job.display(), s.message, s.code)
            }
            // The server ended the watch (its timeout): renew it.
            Ok(None) => Ok(AfterEvent::Renew(None)),
            Err(e) => {
                self.failures += 1;
                if self.failures > 5 {
                    return Err(e).with_context(|| format!("watching {}", job.display()));
                }
                reporter.status(&format!("watch interrupted ({e}); resuming"));
                sleep(Duration::from_secs(1)).await;
                Ok(AfterEvent::Renew(None))
            }
        }
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => futures::future::pending().await,
    }
}

/// The master container as last seen: which instance (pod uid, restart
/// count), whether it has started, and the pod's phase.
struct MasterContainer {
    name: String,
    instance: (String, i32),
    started: bool,
    phase: String,
}

impl MasterContainer {
    fn of(pod: &Pod, container: &str) -> Self {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let status = pod.status.clone().unwrap_or_default();
        let phase = status.phase.clone().unwrap_or_default();
        let cs = status
            .container_statuses
            .unwrap_or_default()
            .into_iter()
            .find(|c| c.name == container);
        let restarts = cs.as_ref().map(|c| c.restart_count).unwrap_or(0);
        let started = cs
            .as_ref()
            .and_then(|c| c.state.as_ref())
            .is_some_and(|s| s.running.is_some() || s.terminated.is_some());
        MasterContainer {
            name: pod.name_any(),
            instance: (uid, restarts),
            started,
            phase,
        }
    }
}

/// Finds the master pod, waits for its container to start, follows its
/// log; when the container restarts (or the pod is replaced), follows the
/// new one.  Ends when the pod has finished and its log was read.
async fn master_log_loop(
    client: Client,
    job: JobRef,
    poll: Duration,
    tx: mpsc::UnboundedSender<LogMsg>,
) {
    let pods: Api<Pod> = Api::namespaced(client, &job.namespace);
    let container = job.kind.master_container();
    // (pod uid, restart count) of the container instance last followed.
    let mut followed: Option<(String, i32)> = None;
    let mut reported_error = false;
    loop {
        let pod = match find_master_pod(&pods, &job).await {
            Ok(p) => p,
            Err(e) => {
                if !reported_error {
                    let _ = tx.send(LogMsg::Note(format!(
                        "cannot read the master pod yet: {e:#}"
                    )));
                    reported_error = true;
                }
                sleep(poll).await;
                continue;
            }
        };
        let Some(pod) = pod else {
            sleep(poll).await;
            continue;
        };
        let master = MasterContainer::of(&pod, container);
        let new_instance = followed.as_ref() != Some(&master.instance);
        if !(master.started && new_instance) {
            let finished = master.phase == "Succeeded" || master.phase == "Failed";
            if followed.is_some() && !new_instance && finished {
                return;
            }
            sleep(poll).await;
            continue;
        }
        let name = &master.name;
        if followed.is_some() {
            let restarts = master.instance.1;
            let _ = tx.send(LogMsg::Note(format!(
                "master container restarted (pod {name}, restart {restarts}); following it"
            )));
        } else {
            let _ = tx.send(LogMsg::Note(format!("following the log of pod {name}")));
        }
        match stream_log(&pods, name, container, &tx).await {
            Ok(LogEnd::Ended) => followed = Some(master.instance),
            Ok(LogEnd::NobodyListens) => return,
            Err(e) => {
                let _ = tx.send(LogMsg::Note(format!(
                    "cannot read the log of {name} yet: {e}"
                )));
                sleep(poll).await;
            }
        }
    }
}

/// Why a followed log stopped.
enum LogEnd {
    /// The container's log ended (or its stream broke; noted to `tx`).
    Ended,
    /// The receiver is gone: the follow is over.
    NobodyListens,
}

/// Sends `container`'s log lines from pod `name` to `tx` as they come; an
/// error means the log could not be opened.
async fn stream_log(
    pods: &Api<Pod>,
    name: &str,
    container: &str,
    tx: &mpsc::UnboundedSender<LogMsg>,
) -> kube::Result<LogEnd> {
    let lp = LogParams {
        container: Some(container.to_string()),
        follow: true,
        ..Default::default()
    };
    let mut lines = pods.log_stream(name, &lp).await?.lines();
    loop {
        match lines.try_next().await {
            Ok(Some(line)) => {
                if tx.send(LogMsg::Line(line)).is_err() {
                    return Ok(LogEnd::NobodyListens);
                }
            }
            Ok(None) => return Ok(LogEnd::Ended),
            Err(e) => {
                let _ = tx.send(LogMsg::Note(format!("log stream interrupted: {e}")));
                return Ok(LogEnd::Ended);
            }
        }
    }
}

async fn find_master_pod(pods: &Api<Pod>, job: &JobRef) -> kube::Result<Option<Pod>> {
    match job.master_pod_name() {
        Some(name) => pods.get_opt(&name).await,
        None => {
            let lp = ListParams::default().labels(&job.master_pod_selector());
            let mut list = pods.list(&lp).await?.items;
            // The newest, if a failed one is still around.
            list.sort_by_key(|p| p.metadata.creation_timestamp.clone());
            Ok(list.pop())
        }
    }
}
