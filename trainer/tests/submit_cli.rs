//! `ferroflow-train submit` is the k8s launcher (crate ferroflow-k8s) behind
//! the trainer's own CLI. No API server runs here: these tests check the
//! wiring (flags reach the renderer, exit statuses), the launcher's own
//! tests cover create/watch/logs against mock API servers.

use std::process::Command;

fn submit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ferroflow-train"))
        .arg("submit")
        .args(args)
        // Make sure no real cluster is ever contacted.
        .env("KUBECONFIG", "/nonexistent/ferroflow-test-kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .output()
        .expect("run ferroflow-train")
}

#[test]
fn dry_run_renders_the_pytorchjob_from_flags() {
    let out = submit(&[
        "--dry-run",
        "--name",
        "wired-job",
        "--workers",
        "3",
        "--epochs",
        "2",
    ]);
    let yaml = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(yaml.contains("kind: PyTorchJob"), "{yaml}");
    assert!(yaml.contains("name: wired-job"), "{yaml}");
    assert!(
        yaml.contains("replicas: 3"),
        "workers flag not applied: {yaml}"
    );
    assert!(yaml.contains("namespace: mlops-pipeline"), "{yaml}");
}

#[test]
fn dry_run_trainjob_renders_trainer_v2() {
    let out = submit(&["--dry-run", "--trainjob"]);
    let yaml = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(yaml.contains("kind: TrainJob"), "{yaml}");
    assert!(yaml.contains("torch-distributed"), "{yaml}");
    assert!(!yaml.contains("kind: PyTorchJob"), "{yaml}");
}

#[test]
fn without_a_cluster_submit_exits_2_with_a_message() {
    let out = submit(&["--timeout", "5"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!out.stderr.is_empty());
}

#[test]
fn bad_flag_value_is_an_error_not_a_job() {
    let out = submit(&["--dry-run", "--env", "NOEQUALS"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NAME=VALUE"));
}
