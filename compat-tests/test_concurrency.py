"""Concurrent metric logging to one run through the official client."""

from __future__ import annotations

import threading
import uuid

from mlflow.tracking import MlflowClient

THREADS = 8
CALLS = 200


def test_concurrent_log_metric(client, server):
    exp_id = client.create_experiment(f"compat-concurrency-{uuid.uuid4().hex[:10]}")
    run_id = client.create_run(exp_id, run_name="hammer").info.run_id
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def worker(t: int) -> None:
        try:
            c = MlflowClient(tracking_uri=server.url)
            barrier.wait()
            for i in range(CALLS):
                step = t * CALLS + i
                # distinct (step, value) per call: nothing may be deduplicated
                c.log_metric(run_id, "m", float(step), step=step)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors[:3]

    hist = client.get_metric_history(run_id, "m")
    total = THREADS * CALLS
    assert len(hist) == total
    assert sorted(h.step for h in hist) == list(range(total))
    assert all(h.value == float(h.step) for h in hist)
    run = client.get_run(run_id)
    assert run.data.metrics["m"] == float(total - 1)
    client.set_terminated(run_id)
    assert client.get_run(run_id).info.status == "FINISHED"
