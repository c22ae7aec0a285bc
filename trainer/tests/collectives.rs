//! c10d collectives between real processes: libtorch's TCPStore and
//! ProcessGroupGloo through the shim.

mod common;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use common::{free_port, spawn_rank, text, wait_within};

#[test]
fn all_reduce_and_broadcast_over_one_to_four_ranks() {
    for world in 1..=4 {
        let port = free_port();
        let children: Vec<_> = (0..world)
            .map(|rank| {
                spawn_rank(
                    port,
                    rank,
                    world,
                    &["selftest", "--sizes", "1,3,7,1001,65537", "--timeout", "60"],
                )
            })
            .collect();
        for (rank, child) in children.into_iter().enumerate() {
            let (out, _) = wait_within(child, Duration::from_secs(120), "selftest");
            assert!(
                out.status.success(),
                "world {world} rank {rank} failed\n{}",
                text(&out)
            );
            assert!(
                String::from_utf8_lossy(&out.stdout)
                    .contains(&format!("selftest ok: rank {rank} of {world}")),
                "{}",
                text(&out)
            );
        }
    }
}

#[test]
fn a_killed_rank_ends_the_others_with_an_error_within_the_timeout() {
    let world = 3;
    let timeout_s = 20;
    let port = free_port();
    let timeout = timeout_s.to_string();
    let mut children: Vec<_> = (0..world)
        .map(|rank| {
            spawn_rank(
                port,
                rank,
                world,
                &[
                    "selftest",
                    "--sizes",
                    "7",
                    "--timeout",
                    &timeout,
                    "--loop-ms",
                    "20",
                ],
            )
        })
        .collect();
    // Wait until every rank passed the checks and is looping.
    for child in children.iter_mut() {
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().unwrap().unwrap();
        assert!(first.starts_with("selftest ok"), "{first}");
        // Keep draining so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
    }
    let mut victim = children.remove(1);
    victim.kill().unwrap();
    victim.wait().unwrap();
    for child in children {
        let (out, elapsed) =
            wait_within(child, Duration::from_secs(timeout_s + 10), "surviving rank");
        assert!(!out.status.success(), "a survivor exited successfully");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("error:") && stderr.contains("all_reduce"),
            "{stderr}"
        );
        assert!(elapsed < Duration::from_secs(timeout_s), "took {elapsed:?}");
    }
}

#[test]
fn a_missing_rank_fails_the_rendezvous_within_the_timeout() {
    let port = free_port();
    // World of two, but only rank 0 ever starts.
    let child = spawn_rank(port, 0, 2, &["selftest", "--sizes", "1", "--timeout", "3"]);
    let (out, elapsed) = wait_within(child, Duration::from_secs(60), "lonely rank 0");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("error:"),
        "{}",
        text(&out)
    );
    assert!(elapsed < Duration::from_secs(30), "took {elapsed:?}");
}
