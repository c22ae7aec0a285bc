//! The launcher against a mock Kubernetes API server (tower-test): create,
//! watch to Succeeded, watch to Failed (across a renewed watch), log follow
//! (lines arrive while the job still runs; re-attached after a restart),
//! the TrainJob's pod lookup, and a timeout.  No cluster runs here.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ferroflow_k8s::follow::{follow, FollowOptions, JobKind, JobRef, Outcome, Phase, Reporter};
use ferroflow_k8s::render::{self, JobOptions};
use ferroflow_k8s::submit::{self, SubmitArgs};
use futures::channel::mpsc as fmpsc;
use http::{Method, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{combinators::BoxBody, BodyExt, Full, StreamBody};
use kube::client::Body;
use kube::Client;
use serde_json::{json, Value};

type Resp = Response<BoxBody<Bytes, Infallible>>;
type Handle = tower_test::mock::Handle<Request<Body>, Resp>;

const NS: &str = "mlops-pipeline";
const JOBS: &str = "/apis/kubeflow.org/v1/namespaces/mlops-pipeline/pytorchjobs";
const TRAINJOBS: &str = "/apis/trainer.kubeflow.org/v1alpha1/namespaces/mlops-pipeline/trainjobs";
const PODS: &str = "/api/v1/namespaces/mlops-pipeline/pods";

fn mock() -> (Client, Handle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Resp>();
    (Client::new(service, NS), handle)
}

fn reply(status: StatusCode, body: Value) -> Resp {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .unwrap()
}

/// A response whose body the test writes line by line, and ends by dropping
/// the sender.
fn streaming() -> (
    fmpsc::UnboundedSender<Result<Frame<Bytes>, Infallible>>,
    Resp,
) {
    let (tx, rx) = fmpsc::unbounded();
    let resp = Response::builder()
        .status(StatusCode::OK)
        .body(BodyExt::boxed(StreamBody::new(rx)))
        .unwrap();
    (tx, resp)
}

fn send_line(tx: &fmpsc::UnboundedSender<Result<Frame<Bytes>, Infallible>>, line: &str) {
    tx.unbounded_send(Ok(Frame::data(Bytes::from(format!("{line}\n")))))
        .unwrap();
}

fn job_object(rv: &str, conditions: Value) -> Value {
    let mut job = serde_json::to_value(render::pytorchjob(&JobOptions::default())).unwrap();
    job["metadata"]["resourceVersion"] = json!(rv);
    job["metadata"]["uid"] = json!("job-uid");
    job["status"] = json!({ "conditions": conditions });
    job
}

fn cond(type_: &str, reason: &str, message: &str) -> Value {
    json!({"type": type_, "status": "True", "reason": reason, "message": message})
}

fn event(type_: &str, object: Value) -> String {
    json!({"type": type_, "object": object}).to_string()
}

fn pod(name: &str, uid: &str, container: &str, restarts: i32, phase: &str, running: bool) -> Value {
    let state = if running {
        json!({"running": {}})
    } else {
        json!({"terminated": {"exitCode": 0}})
    };
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "uid": uid,
                     "creationTimestamp": "2026-01-01T00:00:00Z"},
        "status": {"phase": phase, "containerStatuses": [{
            "name": container, "image": "ferroflow-trainer:0.1.0", "imageID": "", "ready": running,
            "restartCount": restarts, "state": state}]}
    })
}

/// Collects what `follow` reports; shared so a test can look mid-run.
#[derive(Clone, Default)]
struct Recorder {
    status: Arc<Mutex<Vec<String>>>,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Reporter for Recorder {
    fn status(&mut self, line: &str) {
        self.status.lock().unwrap().push(line.to_string());
    }
    fn log(&mut self, line: &str) {
        self.logs.lock().unwrap().push(line.to_string());
    }
}

impl Recorder {
    fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }
    fn status(&self) -> Vec<String> {
        self.status.lock().unwrap().clone()
    }
    async fn wait_for_log(&self, line: &str) {
        for _ in 0..500 {
            if self.logs().iter().any(|l| l == line) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("log line {line:?} never arrived; got {:?}", self.logs());
    }
}

fn job_ref(kind: JobKind) -> JobRef {
    JobRef {
        kind,
        namespace: NS.into(),
        name: "mnist-ddp".into(),
    }
}

fn quick(logs: bool) -> FollowOptions {
    FollowOptions {
        logs,
        timeout: Some(Duration::from_secs(20)),
        pod_poll: Duration::from_millis(20),
        log_drain: Duration::from_secs(5),
        watch_timeout_secs: 290,
    }
}

/// Answers the next request; returns (method, path?query, body).
async fn next(
    handle: &mut Handle,
) -> (
    Method,
    String,
    Vec<u8>,
    tower_test::mock::SendResponse<Resp>,
) {
    let (req, send) = tokio::time::timeout(Duration::from_secs(10), handle.next_request())
        .await
        .expect("the launcher sent no further request")
        .expect("the client went away");
    let method = req.method().clone();
    let uri = req.uri().to_string();
    let body = req.into_body().collect_bytes().await.unwrap().to_vec();
    (method, uri, body, send)
}

#[tokio::test]
async fn create_posts_the_rendered_job() {
    let (client, mut handle) = mock();
    let plan = submit::plan(&SubmitArgs::default()).unwrap();
    let expected = plan.docs[0].clone();
    let server = tokio::spawn(async move {
        let (method, uri, body, send) = next(&mut handle).await;
        assert_eq!(method, Method::POST);
        assert!(uri.starts_with(JOBS), "{uri}");
        let posted: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            posted, expected,
            "the POSTed object differs from the rendered one"
        );
        let mut created = posted.clone();
        created["metadata"]["uid"] = json!("u");
        created["metadata"]["resourceVersion"] = json!("1");
        send.send_response(reply(StatusCode::CREATED, created));
    });
    let mut rec = Recorder::default();
    submit::create_all(&client, &plan.docs, NS, &mut rec)
        .await
        .unwrap();
    server.await.unwrap();
    assert_eq!(
        rec.status(),
        vec!["created PyTorchJob/mlops-pipeline/mnist-ddp".to_string()]
    );
}

#[tokio::test]
async fn create_of_an_existing_job_explains_itself() {
    let (client, mut handle) = mock();
    let args = SubmitArgs {
        trainjob: true,
        detach: true,
        ..Default::default()
    };
    let server = tokio::spawn(async move {
        let (method, uri, _, send) = next(&mut handle).await;
        assert_eq!(method, Method::POST);
        assert!(uri.starts_with(TRAINJOBS), "{uri}");
        send.send_response(reply(
            StatusCode::CONFLICT,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "AlreadyExists",
                   "message": "trainjobs.trainer.kubeflow.org \"mnist-ddp\" already exists", "code": 409}),
        ));
    });
    let mut rec = Recorder::default();
    let err = submit::run_with_client(client, &args, &mut rec)
        .await
        .unwrap_err();
    server.await.unwrap();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("already exists") && msg.contains("kubectl delete trainjob mnist-ddp"),
        "{msg}"
    );
}

#[tokio::test]
async fn detached_submit_creates_and_returns() {
    let (client, mut handle) = mock();
    let args = SubmitArgs {
        detach: true,
        ..Default::default()
    };
    let server = tokio::spawn(async move {
        let (method, _, body, send) = next(&mut handle).await;
        assert_eq!(method, Method::POST);
        send.send_response(reply(
            StatusCode::CREATED,
            serde_json::from_slice(&body).unwrap(),
        ));
    });
    let mut rec = Recorder::default();
    assert_eq!(
        submit::run_with_client(client, &args, &mut rec)
            .await
            .unwrap(),
        None
    );
    server.await.unwrap();
}

#[tokio::test]
async fn watch_to_succeeded() {
    let (client, mut handle) = mock();
    let server = tokio::spawn(async move {
        let (method, uri, _, send) = next(&mut handle).await;
        assert_eq!(
            (method, uri.as_str()),
            (Method::GET, &*format!("{JOBS}/mnist-ddp"))
        );
        send.send_response(reply(
            StatusCode::OK,
            job_object(
                "10",
                json!([cond("Created", "PyTorchJobCreated", "created")]),
            ),
        ));
        let (_, uri, _, send) = next(&mut handle).await;
        assert!(uri.starts_with(JOBS) && uri.contains("watch=true"), "{uri}");
        assert!(
            uri.contains("fieldSelector=metadata.name%3Dmnist-ddp"),
            "watch by name: {uri}"
        );
        assert!(uri.contains("resourceVersion=10"), "{uri}");
        let (tx, resp) = streaming();
        send.send_response(resp);
        let running = json!([
            cond("Created", "PyTorchJobCreated", "created"),
            cond("Running", "PyTorchJobRunning", "running")
        ]);
        send_line(&tx, &event("MODIFIED", job_object("11", running)));
        let mut done = vec![cond("Created", "PyTorchJobCreated", "created")];
        done.push(json!({"type": "Running", "status": "False", "reason": "PyTorchJobSucceeded"}));
        done.push(cond(
            "Succeeded",
            "PyTorchJobSucceeded",
            "PyTorchJob mnist-ddp is successfully completed.",
        ));
        send_line(&tx, &event("MODIFIED", job_object("12", json!(done))));
        tx // keep the watch open: the launcher must stop on the condition, not on EOF
    });
    let mut rec = Recorder::default();
    let outcome = follow(
        client,
        &job_ref(JobKind::PyTorchJob),
        &quick(false),
        &mut rec,
    )
    .await
    .unwrap();
    let _tx = server.await.unwrap();
    assert_eq!(outcome.phase, Phase::Succeeded);
    assert_eq!(outcome.exit_code(), 0);
    let status = rec.status();
    assert!(
        status
            .iter()
            .any(|s| s.contains("Running (PyTorchJobRunning)")),
        "{status:?}"
    );
    assert_eq!(
        status.last().unwrap(),
        "pytorchjob/mnist-ddp succeeded: PyTorchJob mnist-ddp is successfully completed."
    );
}

#[tokio::test]
async fn watch_to_failed_across_a_renewed_watch() {
    let (client, mut handle) = mock();
    let server = tokio::spawn(async move {
        let (_, _, _, send) = next(&mut handle).await;
        send.send_response(reply(StatusCode::OK, job_object("20", json!([]))));
        // First watch: one event, then the server closes it (its timeout).
        let (_, uri, _, send) = next(&mut handle).await;
        assert!(uri.contains("resourceVersion=20"), "{uri}");
        let (tx, resp) = streaming();
        send.send_response(resp);
        send_line(
            &tx,
            &event(
                "MODIFIED",
                job_object("21", json!([cond("Running", "PyTorchJobRunning", "")])),
            ),
        );
        drop(tx);
        // Renewed from the last version seen.
        let (_, uri, _, send) = next(&mut handle).await;
        assert!(
            uri.contains("watch=true") && uri.contains("resourceVersion=21"),
            "{uri}"
        );
        let (tx, resp) = streaming();
        send.send_response(resp);
        send_line(&tx, &json!({"type": "BOOKMARK", "object": {"kind": "PyTorchJob", "apiVersion": "kubeflow.org/v1",
            "metadata": {"resourceVersion": "25"}}}).to_string());
        let failed = json!([
            cond("Running", "PyTorchJobRunning", ""),
            cond(
                "Failed",
                "PyTorchJobFailed",
                "PyTorchJob mnist-ddp is failed because 1 Master replica(s) failed."
            )
        ]);
        send_line(&tx, &event("MODIFIED", job_object("26", failed)));
        tx
    });
    let mut rec = Recorder::default();
    let outcome = follow(
        client,
        &job_ref(JobKind::PyTorchJob),
        &quick(false),
        &mut rec,
    )
    .await
    .unwrap();
    let _tx = server.await.unwrap();
    assert_eq!(outcome.phase, Phase::Failed);
    assert_eq!(outcome.exit_code(), 1);
    assert_eq!(outcome.reason.as_deref(), Some("PyTorchJobFailed"));
    assert!(
        rec.status()
            .last()
            .unwrap()
            .contains("failed: PyTorchJob mnist-ddp is failed"),
        "{:?}",
        rec.status()
    );
}

type LineSender = fmpsc::UnboundedSender<Result<Frame<Bytes>, Infallible>>;

/// `follow` with logs on a task of its own, reporting to (a clone of) `rec`.
fn spawn_follow(
    client: Client,
    kind: JobKind,
    rec: &Recorder,
) -> tokio::task::JoinHandle<anyhow::Result<Outcome>> {
    let mut rec = rec.clone();
    tokio::spawn(async move { follow(client, &job_ref(kind), &quick(true), &mut rec).await })
}

/// Serves a running PyTorchJob's start: the job, its watch, the master pod
/// and its log; returns the open watch and log streams.
async fn serve_running_pytorchjob(handle: &mut Handle) -> (LineSender, LineSender) {
    // Requests come from two tasks (job watch, log loop) in any order.
    let mut watch_tx = None;
    let mut log_tx = None;
    while watch_tx.is_none() || log_tx.is_none() {
        let (method, uri, _, send) = next(handle).await;
        assert_eq!(method, Method::GET);
        if uri == format!("{JOBS}/mnist-ddp") {
            send.send_response(reply(
                StatusCode::OK,
                job_object("1", json!([cond("Running", "PyTorchJobRunning", "")])),
            ));
        } else if uri.starts_with(JOBS) && uri.contains("watch=true") {
            let (tx, resp) = streaming();
            send.send_response(resp);
            watch_tx = Some(tx);
        } else if uri == format!("{PODS}/mnist-ddp-master-0") {
            send.send_response(reply(
                StatusCode::OK,
                pod("mnist-ddp-master-0", "p1", "pytorch", 0, "Running", true),
            ));
        } else if uri.starts_with(&format!("{PODS}/mnist-ddp-master-0/log")) {
            assert!(
                uri.contains("container=pytorch") && uri.contains("follow=true"),
                "{uri}"
            );
            let (tx, resp) = streaming();
            send.send_response(resp);
            log_tx = Some(tx);
        } else {
            panic!("unexpected request {uri}");
        }
    }
    (watch_tx.unwrap(), log_tx.unwrap())
}

#[tokio::test]
async fn follows_the_master_log_while_the_job_runs() {
    let (client, mut handle) = mock();
    let rec = Recorder::default();
    let task = spawn_follow(client, JobKind::PyTorchJob, &rec);
    let (watch_tx, log_tx) = serve_running_pytorchjob(&mut handle).await;
    send_line(
        &log_tx,
        "process group: 3 ranks over gloo at mnist-ddp-master-0:23456",
    );
    // Arrives while the job is still running and the stream is open.
    rec.wait_for_log("process group: 3 ranks over gloo at mnist-ddp-master-0:23456")
        .await;
    assert!(!task.is_finished());
    send_line(&log_tx, "epoch 1/1: train_loss=0.41");
    rec.wait_for_log("epoch 1/1: train_loss=0.41").await;
    send_line(
        &watch_tx,
        &event(
            "MODIFIED",
            job_object(
                "2",
                json!([cond("Succeeded", "PyTorchJobSucceeded", "done")]),
            ),
        ),
    );
    // The tail of the log after the job ended still arrives (drained).
    send_line(
        &log_tx,
        "run finished: http://ferroflow:5000/#/experiments/1/runs/abc",
    );
    drop(log_tx);
    // The log loop looks at the pod once more and sees it finished.
    let pod_poll = tokio::spawn(async move {
        while let Ok(Some((req, send))) =
            tokio::time::timeout(Duration::from_secs(5), handle.next_request()).await
        {
            assert_eq!(req.uri().path(), format!("{PODS}/mnist-ddp-master-0"));
            send.send_response(reply(
                StatusCode::OK,
                pod("mnist-ddp-master-0", "p1", "pytorch", 0, "Succeeded", false),
            ));
        }
    });
    let outcome = task.await.unwrap().unwrap();
    pod_poll.abort();
    drop(watch_tx);
    assert!(outcome.succeeded());
    assert_eq!(
        rec.logs(),
        vec![
            "process group: 3 ranks over gloo at mnist-ddp-master-0:23456",
            "epoch 1/1: train_loss=0.41",
            "run finished: http://ferroflow:5000/#/experiments/1/runs/abc",
        ]
    );
    assert!(
        rec.status()
            .iter()
            .any(|s| s == "following the log of pod mnist-ddp-master-0"),
        "{:?}",
        rec.status()
    );
}

#[tokio::test]
async fn log_follow_reattaches_after_a_container_restart_and_finds_trainjob_pods() {
    let (client, mut handle) = mock();
    let rec = Recorder::default();
    let task = spawn_follow(client, JobKind::TrainJob, &rec);
    let master = "mnist-ddp-node-0-0-x7k2q";
    let mut watch_tx = None;
    let mut logs_served = 0;
    let mut pod_restarts = 0;
    let mut log_streams = Vec::new();
    loop {
        let (method, uri, _, send) = next(&mut handle).await;
        assert_eq!(method, Method::GET);
        if uri == format!("{TRAINJOBS}/mnist-ddp") {
            send.send_response(reply(StatusCode::OK, {
                let mut j = serde_json::to_value(render::trainjob(&JobOptions::default())).unwrap();
                j["metadata"]["resourceVersion"] = json!("1");
                j
            }));
        } else if uri.starts_with(TRAINJOBS) && uri.contains("watch=true") {
            let (tx, resp) = streaming();
            send.send_response(resp);
            watch_tx = Some(tx);
        } else if uri.starts_with(PODS) && uri.contains("labelSelector=") {
            assert!(
                uri.contains("jobset.sigs.k8s.io%2Fjobset-name%3Dmnist-ddp"),
                "{uri}"
            );
            send.send_response(reply(
                StatusCode::OK,
                json!({"apiVersion": "v1", "kind": "PodList", "metadata": {},
                "items": [pod(master, "p1", "node", pod_restarts, "Running", true)]}),
            ));
        } else if uri.starts_with(&format!("{PODS}/{master}/log")) {
            assert!(uri.contains("container=node"), "{uri}");
            logs_served += 1;
            let (tx, resp) = streaming();
            send.send_response(resp);
            send_line(&tx, &format!("attempt {logs_served}"));
            if logs_served == 1 {
                // The container dies: its log ends, the kubelet restarts it.
                drop(tx);
                pod_restarts = 1;
            } else {
                log_streams.push(tx);
                break;
            }
        } else {
            panic!("unexpected request {uri}");
        }
    }
    rec.wait_for_log("attempt 2").await;
    let mut done = serde_json::to_value(render::trainjob(&JobOptions::default())).unwrap();
    done["metadata"]["resourceVersion"] = json!("9");
    done["status"] =
        json!({"conditions": [cond("Complete", "JobSetCompleted", "TrainJob is completed")]});
    send_line(watch_tx.as_ref().unwrap(), &event("MODIFIED", done));
    log_streams.clear();
    let answer = tokio::spawn(async move {
        while let Ok(Some((_, send))) =
            tokio::time::timeout(Duration::from_secs(5), handle.next_request()).await
        {
            send.send_response(reply(
                StatusCode::OK,
                json!({"apiVersion": "v1", "kind": "PodList", "metadata": {},
                "items": [pod(master, "p1", "node", 1, "Succeeded", false)]}),
            ));
        }
    });
    let outcome = task.await.unwrap().unwrap();
    answer.abort();
    assert_eq!(outcome.phase, Phase::Succeeded);
    assert_eq!(rec.logs(), vec!["attempt 1", "attempt 2"]);
    assert!(
        rec.status()
            .iter()
            .any(|s| s.contains("master container restarted") && s.contains("restart 1")),
        "{:?}",
        rec.status()
    );
}

#[tokio::test]
async fn following_gives_up_at_the_timeout() {
    let (client, mut handle) = mock();
    let server = tokio::spawn(async move {
        let (_, _, _, send) = next(&mut handle).await;
        send.send_response(reply(StatusCode::OK, job_object("1", json!([]))));
        let (_, _, _, send) = next(&mut handle).await;
        let (tx, resp) = streaming();
        send.send_response(resp);
        tx
    });
    let opts = FollowOptions {
        timeout: Some(Duration::from_millis(300)),
        ..quick(false)
    };
    let mut rec = Recorder::default();
    let err = follow(client, &job_ref(JobKind::PyTorchJob), &opts, &mut rec)
        .await
        .unwrap_err();
    let _tx = server.await.unwrap();
    assert!(err.to_string().contains("has not finished within"), "{err}");
}

#[tokio::test]
async fn a_deleted_job_is_an_error() {
    let (client, mut handle) = mock();
    let server = tokio::spawn(async move {
        let (_, _, _, send) = next(&mut handle).await;
        send.send_response(reply(StatusCode::OK, job_object("1", json!([]))));
        let (_, _, _, send) = next(&mut handle).await;
        let (tx, resp) = streaming();
        send.send_response(resp);
        send_line(&tx, &event("DELETED", job_object("2", json!([]))));
        tx
    });
    let mut rec = Recorder::default();
    let err = follow(
        client,
        &job_ref(JobKind::PyTorchJob),
        &quick(false),
        &mut rec,
    )
    .await
    .unwrap_err();
    let _tx = server.await.unwrap();
    assert!(err.to_string().contains("was deleted"), "{err}");
}
