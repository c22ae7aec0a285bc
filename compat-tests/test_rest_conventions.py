"""Raw-HTTP checks of MLflow 3.17.2 wire conventions.

Sources: /work/shared/reference/mlflow-rest-api.md §3, validation.md and the
convention probes P1..P158 of mlflow-rest-examples.md (cited as ``P#``).
Every test passes against the real ``mlflow server`` 3.17.2 (COMPAT_TARGET=mlflow)
except the ones marked ``ferroflow_only`` (deliberate, documented differences).

Messages are compared verbatim where the reference fixes them; where MLflow's
message embeds SQL text or other implementation detail only the status and
``error_code`` are checked.
"""

from __future__ import annotations

import http.client
import json
import time
import uuid
from urllib.parse import quote, urlparse

import pytest
import requests

API = "/api/2.0/mlflow"
AJAX = "/ajax-api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
DOUBLE_MAX = 1.7976931348623157e308
API_DOCS = "See the API docs for more information about request parameters."


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


class Api:
    def __init__(self, server):
        self.server = server
        self.url = server.url
        u = urlparse(server.url)
        self.host, self.port = u.hostname, u.port
        self.s = requests.Session()

    def get(self, path, params=None, **kw):
        return self.s.get(self.url + path, params=params, timeout=60, **kw)

    def post(self, path, body=None, **kw):
        return self.s.post(self.url + path, json=body if body is not None else {}, timeout=60, **kw)

    def request(self, method, path, **kw):
        return self.s.request(method, self.url + path, timeout=60, **kw)

    def raw(self, method, path, body=b"", headers=None):
        """Send ``path`` verbatim (no dot-segment normalisation as urllib3 does)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    # --- fixtures-in-a-call -------------------------------------------------
    def new_experiment(self, prefix="rest", **extra):
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        r = self.post(f"{API}/experiments/create", {"name": name, **extra})
        assert r.status_code == 200, r.text
        return r.json()["experiment_id"], name

    def new_run(self, exp_id=None, **extra):
        if exp_id is None:
            exp_id, _ = self.new_experiment()
        body = {"experiment_id": exp_id, "start_time": now_ms(), **extra}
        r = self.post(f"{API}/runs/create", body)
        assert r.status_code == 200, r.text
        return r.json()["run"]["info"]["run_id"]

    def log_metric(self, run_id, key, value, timestamp=None, step=0):
        body = {"run_id": run_id, "key": key, "value": value,
                "timestamp": now_ms() if timestamp is None else timestamp, "step": step}
        return self.post(f"{API}/runs/log-metric", body)

    def history(self, run_id, key, **params):
        r = self.get(f"{API}/metrics/get-history", {"run_id": run_id, "metric_key": key, **params})
        assert r.status_code == 200, r.text
        return r.json()

    def get_run(self, run_id):
        r = self.get(f"{API}/runs/get", {"run_id": run_id})
        assert r.status_code == 200, r.text
        return r.json()["run"]


def now_ms():
    return int(time.time() * 1000)


def assert_error(resp, status, code, message=None, startswith=None, contains=None):
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers
    body = resp.json()
    assert body.get("error_code") == code, body
    msg = body.get("message")
    assert isinstance(msg, str)
    if message is not None:
        assert msg == message
    if startswith is not None:
        assert msg.startswith(startswith), msg
    if contains is not None:
        assert contains in msg, msg
    return body


def ok_json(resp):
    assert resp.status_code == 200, (resp.status_code, resp.text)
    assert resp.headers.get("Content-Type", "").startswith("application/json"), resp.headers
    return resp.json()


def metrics_by_key(run):
    return {m["key"]: m for m in run.get("data", {}).get("metrics", [])}


@pytest.fixture(scope="module")
def api(server):
    return Api(server)


@pytest.fixture
def run_id(api):
    return api.new_run()


# ---------------------------------------------------------------------------
# experiments: lookup, create errors
# ---------------------------------------------------------------------------


def test_get_by_name_unknown_is_404(api):
    r = api.get(f"{API}/experiments/get-by-name", {"experiment_name": f"nope-{uuid.uuid4().hex}"})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST")


def test_get_by_name_found(api):
    exp_id, name = api.new_experiment(tags=[{"key": "team", "value": "ml"}])
    exp = ok_json(api.get(f"{API}/experiments/get-by-name", {"experiment_name": name}))["experiment"]
    assert exp["experiment_id"] == exp_id
    assert exp["name"] == name
    assert exp["artifact_location"] == f"mlflow-artifacts:/{exp_id}"
    assert exp["lifecycle_stage"] == "active"
    assert exp["tags"] == [{"key": "team", "value": "ml"}]
    assert isinstance(exp["creation_time"], int) and isinstance(exp["last_update_time"], int)


def test_get_experiment_unknown_id(api):
    r = api.get(f"{API}/experiments/get", {"experiment_id": "999999"})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST", message="No Experiment with id=999999 exists")


def test_get_experiment_non_numeric_id(api):
    r = api.get(f"{API}/experiments/get", {"experiment_id": "abc"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message="Invalid experiment ID 'abc'. Experiment ID must be a valid integer.")


def test_duplicate_experiment_name(api):
    _, name = api.new_experiment()
    r = api.post(f"{API}/experiments/create", {"name": name})
    # message embeds the SQL error in MLflow: only the code is fixed
    assert_error(r, 400, "RESOURCE_ALREADY_EXISTS")


def test_create_experiment_missing_name(api):
    for body in ({}, {"name": ""}):
        r = api.post(f"{API}/experiments/create", body)
        assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                     message=f"Missing value for required parameter 'name'. {API_DOCS}")


def test_empty_body_is_empty_object(api):
    r = api.request("POST", f"{API}/experiments/create", data=b"",
                    headers={"Content-Type": "application/json"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message=f"Missing value for required parameter 'name'. {API_DOCS}")


def test_create_experiment_name_is_number(api):
    r = api.post(f"{API}/experiments/create", {"name": 123})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message=f"Invalid value 123 for parameter 'name' supplied:  Hint: Value was of type 'int'. {API_DOCS}")


def test_create_experiment_name_too_long(api):
    r = api.post(f"{API}/experiments/create", {"name": "e" * 501})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message="'name' exceeds the maximum length of 500 characters")


def test_create_experiment_runs_artifact_location(api):
    r = api.post(f"{API}/experiments/create",
                 {"name": f"loc-{uuid.uuid4().hex}", "artifact_location": "runs:/abc/x"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message="Artifact location cannot be a runs:/ URI. Given: 'runs:/abc/x'")


def test_unknown_fields_ignored(api):
    r = api.post(f"{API}/experiments/create", {"name": f"unk-{uuid.uuid4().hex}", "bogus_field": 1})
    assert isinstance(ok_json(r)["experiment_id"], str)


# ---------------------------------------------------------------------------
# request encoding
# ---------------------------------------------------------------------------


def test_post_without_content_type(api):
    r = api.request("POST", f"{API}/experiments/create",
                    data=json.dumps({"name": f"noct-{uuid.uuid4().hex}"}).encode())
    assert "Content-Type" not in r.request.headers
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message="Bad Request. Content-Type header is missing.")


def test_post_wrong_content_type(api):
    r = api.request("POST", f"{API}/experiments/create",
                    data=json.dumps({"name": f"txt-{uuid.uuid4().hex}"}),
                    headers={"Content-Type": "text/plain"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message="Bad Request. Content-Type must be one of ['application/json'].")


def test_post_content_type_with_charset(api):
    name = f"cs-{uuid.uuid4().hex}"
    r = api.request("POST", f"{API}/experiments/create", data=json.dumps({"name": name}),
                    headers={"Content-Type": "application/json; charset=utf-8"})
    exp_id = ok_json(r)["experiment_id"]
    got = ok_json(api.get(f"{API}/experiments/get", {"experiment_id": exp_id}))
    assert got["experiment"]["name"] == name


def test_double_encoded_body(api):
    name = f"dbl-{uuid.uuid4().hex}"
    r = api.request("POST", f"{API}/experiments/create",
                    data=json.dumps(json.dumps({"name": name})),
                    headers={"Content-Type": "application/json"})
    exp_id = ok_json(r)["experiment_id"]
    got = ok_json(api.get(f"{API}/experiments/get-by-name", {"experiment_name": name}))
    assert got["experiment"]["experiment_id"] == exp_id


def test_malformed_json_body_is_400(api):
    """MLflow treats an unparsable body as {} (-> 'Missing value ...'); any 400 with
    the MLflow error shape is acceptable, never a 5xx (the client would retry)."""
    for data in ('{"name": ', '{"name": "a",}'):
        r = api.request("POST", f"{API}/experiments/create", data=data,
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 400, r.text
        assert r.json()["error_code"] in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST")


def test_get_with_json_body_and_no_query(api):
    exp_id, name = api.new_experiment()
    r = api.request("GET", f"{API}/experiments/get", data=json.dumps({"experiment_id": exp_id}),
                    headers={"Content-Type": "application/json"})
    assert ok_json(r)["experiment"]["name"] == name


def test_string_field_as_number_rejected(api):
    exp_id, _ = api.new_experiment()
    r = api.post(f"{API}/runs/create", {"experiment_id": int(exp_id), "start_time": now_ms()})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message=f"Invalid value {int(exp_id)} for parameter 'experiment_id' supplied:  "
                         f"Hint: Value was of type 'int'. {API_DOCS}")


def test_param_value_as_number_rejected(api, run_id):
    r = api.post(f"{API}/runs/log-parameter", {"run_id": run_id, "key": "numv", "value": 5})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message=f"Invalid value 5 for parameter 'value' supplied:  Hint: Value was of type 'int'. {API_DOCS}")


def test_int64_as_numeric_strings_and_emitted_as_numbers(api):
    exp_id, _ = api.new_experiment()
    r = api.post(f"{API}/runs/create", {"experiment_id": exp_id, "start_time": "1700000000001"})
    info = ok_json(r)["run"]["info"]
    assert info["start_time"] == 1700000000001 and type(info["start_time"]) is int
    rid = info["run_id"]
    assert ok_json(api.post(f"{API}/runs/log-metric", {
        "run_id": rid, "key": "loss", "value": 0.25, "timestamp": "1700000000200", "step": "7",
    })) == {}
    (m,) = api.history(rid, "loss")["metrics"]
    assert m == {"key": "loss", "value": 0.25, "timestamp": 1700000000200, "step": 7}
    assert type(m["timestamp"]) is int and type(m["step"]) is int
    # also raw text: numbers, not strings
    raw = api.get(f"{API}/metrics/get-history", {"run_id": rid, "metric_key": "loss"}).text
    assert '"timestamp": "' not in raw.replace('":"', '": "')
    exp = ok_json(api.get(f"{API}/experiments/get", {"experiment_id": exp_id}))["experiment"]
    assert type(exp["creation_time"]) is int and type(exp["last_update_time"]) is int
    # max_results as a string
    hist = api.history(rid, "loss", max_results="5")
    assert len(hist["metrics"]) == 1


def test_metric_value_numeric_string_and_bool(api, run_id):
    assert ok_json(api.log_metric(run_id, "strval", "0.75", timestamp=1700000000400)) == {}
    assert ok_json(api.log_metric(run_id, "boolval", True, timestamp=1)) == {}
    m = metrics_by_key(api.get_run(run_id))
    assert m["strval"]["value"] == 0.75
    assert m["boolval"]["value"] == 1.0


def test_nonfinite_metric_values(api, run_id):
    for key, val in (("nanm", "NaN"), ("infm", "Infinity"), ("ninfm", "-Infinity")):
        assert ok_json(api.log_metric(run_id, key, val, timestamp=1700000000300)) == {}
    (m,) = api.history(run_id, "nanm")["metrics"]
    assert m == {"key": "nanm", "value": "NaN", "timestamp": 1700000000300, "step": 0}
    (m,) = api.history(run_id, "infm")["metrics"]
    assert m["value"] == DOUBLE_MAX
    (m,) = api.history(run_id, "ninfm")["metrics"]
    assert m["value"] == -DOUBLE_MAX
    latest = metrics_by_key(api.get_run(run_id))
    assert latest["nanm"]["value"] == "NaN"
    assert latest["infm"]["value"] == DOUBLE_MAX
    assert latest["ninfm"]["value"] == -DOUBLE_MAX


@pytest.mark.ferroflow_only
def test_bare_nan_token_not_stored_as_zero(api, run_id):
    """MLflow stores value=0/timestamp=0 for a bare NaN token (P21, a bug). ferroflow
    must either reject the body or store a real NaN with the sent timestamp."""
    body = f'{{"run_id": "{run_id}", "key": "nan2", "value": NaN, "timestamp": 1, "step": 0}}'
    r = api.request("POST", f"{API}/runs/log-metric", data=body,
                    headers={"Content-Type": "application/json"})
    if r.status_code == 200:
        hist = api.history(run_id, "nan2").get("metrics", [])
        assert hist == [{"key": "nan2", "value": "NaN", "timestamp": 1, "step": 0}]
    else:
        # any MLflow-shaped 400 will do (MLflow itself answers INVALID_PARAMETER_VALUE for
        # bodies it cannot parse, since it treats them as {})
        assert r.status_code == 400, r.text
        assert r.json()["error_code"] in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST")
        assert "nan2" not in metrics_by_key(api.get_run(run_id))


def test_enum_as_number_and_unknown_name(api):
    exp_id, _ = api.new_experiment()
    rid = api.new_run(exp_id)
    r = api.post(f"{API}/runs/search", {"experiment_ids": [exp_id], "run_view_type": 1})
    assert [x["info"]["run_id"] for x in ok_json(r)["runs"]] == [rid]
    r = api.post(f"{API}/runs/search", {"experiment_ids": [exp_id], "run_view_type": "BOGUS"})
    assert [x["info"]["run_id"] for x in ok_json(r)["runs"]] == [rid]
    r = api.post(f"{API}/runs/update", {"run_id": rid, "status": 3, "end_time": 1700000009999})
    info = ok_json(r)["run_info"]
    assert info["status"] == "FINISHED" and info["end_time"] == 1700000009999


def test_run_id_vs_run_uuid(api):
    exp_id, _ = api.new_experiment()
    a = api.new_run(exp_id)
    b = api.new_run(exp_id)
    # legacy field alone
    r = api.post(f"{API}/runs/log-metric",
                 {"run_uuid": a, "key": "legacy", "value": 2.0, "timestamp": 1700000000600})
    assert ok_json(r) == {}
    assert ok_json(api.get(f"{API}/runs/get", {"run_uuid": a}))["run"]["info"]["run_id"] == a
    # both present: run_id wins
    r = api.post(f"{API}/runs/log-metric",
                 {"run_id": a, "run_uuid": b, "key": "both", "value": 1.0, "timestamp": 1})
    assert ok_json(r) == {}
    assert "both" in metrics_by_key(api.get_run(a))
    assert "both" not in metrics_by_key(api.get_run(b))
    assert metrics_by_key(api.get_run(a))["legacy"]["value"] == 2.0


def test_camel_case_field_name_alone_is_missing(api, run_id):
    r = api.get(f"{API}/runs/get", {"runId": run_id})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message=f"Missing value for required parameter 'run_id'. {API_DOCS}")
    r = api.post(f"{API}/runs/log-parameter", {"runId": run_id, "key": "k", "value": "v"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message=f"Missing value for required parameter 'run_id'. {API_DOCS}")
    r = api.post(f"{API}/runs/log-parameter", {"run_id": run_id, "runId": run_id, "key": "k", "value": "v"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message="Request specifies both 'run_id' and 'runId'; provide only one of them.")
    assert "params" not in api.get_run(run_id)["data"]


# ---------------------------------------------------------------------------
# response shapes
# ---------------------------------------------------------------------------


def test_create_and_get_run_shape(api):
    exp_id, _ = api.new_experiment()
    r = api.post(f"{API}/runs/create", {
        "experiment_id": exp_id, "start_time": 1700000000000, "run_name": "probe-run",
        "tags": [{"key": "mlflow.user", "value": "probe"}],
    })
    run = ok_json(r)["run"]
    info = run["info"]
    rid = info["run_id"]
    assert len(rid) == 32 and int(rid, 16) >= 0 and rid == rid.lower()
    assert info == {
        "run_uuid": rid, "run_id": rid, "experiment_id": exp_id, "run_name": "probe-run",
        "user_id": "", "status": "RUNNING", "start_time": 1700000000000,
        "artifact_uri": f"mlflow-artifacts:/{exp_id}/{rid}/artifacts", "lifecycle_stage": "active",
    }
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert tags == {"mlflow.user": "probe", "mlflow.runName": "probe-run"}
    assert "metrics" not in run["data"] and "params" not in run["data"]
    assert run["inputs"] == {}
    got = api.get_run(rid)
    assert got["info"] == info
    assert got["inputs"] == {}


def test_run_name_generated_when_absent(api):
    exp_id, _ = api.new_experiment()
    info = ok_json(api.post(f"{API}/runs/create", {"experiment_id": exp_id, "start_time": 1}))["run"]["info"]
    assert info["run_name"]
    tags = {t["key"]: t["value"] for t in api.get_run(info["run_id"])["data"]["tags"]}
    assert tags["mlflow.runName"] == info["run_name"]


def test_run_name_tag_mismatch(api):
    exp_id, _ = api.new_experiment()
    r = api.post(f"{API}/runs/create", {"experiment_id": exp_id, "start_time": 1, "run_name": "a",
                                        "tags": [{"key": "mlflow.runName", "value": "b"}]})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message="Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "
                         "different values (run_name='a', mlflow.runName='b').")


def test_set_tag_run_name_renames_run(api, run_id):
    assert ok_json(api.post(f"{API}/runs/set-tag",
                            {"run_id": run_id, "key": "mlflow.runName", "value": "renamed-by-tag"})) == {}
    assert api.get_run(run_id)["info"]["run_name"] == "renamed-by-tag"
    info = ok_json(api.post(f"{API}/runs/update", {"run_id": run_id, "run_name": "renamed"}))["run_info"]
    assert info["run_name"] == "renamed"
    tags = {t["key"]: t["value"] for t in api.get_run(run_id)["data"]["tags"]}
    assert tags["mlflow.runName"] == "renamed"


def test_empty_responses(api, run_id):
    assert ok_json(api.post(f"{API}/runs/log-parameter", {"run_id": run_id, "key": "a", "value": "1"})) == {}
    assert ok_json(api.post(f"{API}/runs/set-tag", {"run_id": run_id, "key": "t", "value": "1"})) == {}
    assert ok_json(api.post(f"{API}/runs/log-batch", {"run_id": run_id})) == {}
    assert ok_json(api.post(f"{API}/runs/delete-tag", {"run_id": run_id, "key": "t"})) == {}


def test_empty_search_results_are_empty_objects(api):
    exp_id, _ = api.new_experiment()
    rid = api.new_run(exp_id)
    r = api.post(f"{API}/experiments/search", {"filter": "name = 'no-such-exp-xyz'", "max_results": 10})
    assert ok_json(r) == {}
    r = api.post(f"{API}/runs/search", {"experiment_ids": [exp_id], "filter": "tags.nope = 'x'"})
    assert ok_json(r) == {}
    assert ok_json(api.post(f"{API}/runs/search", {})) == {}
    assert api.history(rid, "nope") == {}
    r = api.get(f"{API}/registered-models/search", {"max_results": 1, "filter": "name='zz-none'"})
    assert ok_json(r) == {}


# ---------------------------------------------------------------------------
# metrics
# ---------------------------------------------------------------------------


def test_log_metric_validation(api, run_id):
    r = api.post(f"{API}/runs/log-metric", {"run_id": run_id, "key": "nots", "value": 1.0})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message=f"Missing value for required parameter 'timestamp'. {API_DOCS}")
    r = api.log_metric(run_id, "neg", 1.0, timestamp=-5)
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message="Invalid value -5 for parameter 'timestamp' supplied: metric 'neg' (value=1.0). "
                         "Timestamp must be a nonnegative long (64-bit integer) ")
    # step optional, defaults to 0
    assert ok_json(api.post(f"{API}/runs/log-metric",
                            {"run_id": run_id, "key": "nostep", "value": 1.0, "timestamp": 5})) == {}
    assert api.history(run_id, "nostep")["metrics"][0]["step"] == 0
    # negative step allowed; identical metric deduplicated
    for _ in range(2):
        assert ok_json(api.log_metric(run_id, "negstep", 1.0, timestamp=5, step=-3)) == {}
    assert api.history(run_id, "negstep")["metrics"] == [
        {"key": "negstep", "value": 1.0, "timestamp": 5, "step": -3}]


def test_bad_metric_keys(api, run_id):
    r = api.log_metric(run_id, "../up", 1.0, timestamp=1)
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message="Invalid value \"../up\" for parameter 'name' supplied: Names may be treated as "
                         "files in certain cases, and must not resolve to other names when treated as such. "
                         "This name would resolve to '../up'")
    r = api.log_metric(run_id, "bad*key", 1.0, timestamp=1)
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message="Invalid value \"bad*key\" for parameter 'name' supplied: Names may only contain "
                         "alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and "
                         "slashes (/).")
    for key, resolved in (("a//b", "a/b"), ("a/./b", "a/b"), ("a/", "a"), ("/abs", "/abs")):
        r = api.log_metric(run_id, key, 1.0, timestamp=1)
        assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                     message=f"Invalid value \"{key}\" for parameter 'name' supplied: Names may be treated "
                             "as files in certain cases, and must not resolve to other names when treated as "
                             f"such. This name would resolve to '{resolved}'")
    assert ok_json(api.log_metric(run_id, "ok/key-1.x :y", 1.0, timestamp=1)) == {}
    assert set(metrics_by_key(api.get_run(run_id))) == {"ok/key-1.x :y"}


def test_log_metric_unknown_run(api):
    r = api.log_metric("00000000000000000000000000000000", "x", 1.0, timestamp=1)
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST",
                 message="Run with id=00000000000000000000000000000000 not found")
    r = api.get(f"{API}/runs/get", {"run_id": "ffffffffffffffffffffffffffffffff"})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST",
                 message="Run with id=ffffffffffffffffffffffffffffffff not found")


def test_latest_metric_is_max_step(api, run_id):
    api.log_metric(run_id, "acc", 0.5, timestamp=100, step=5)
    api.log_metric(run_id, "acc", 0.9, timestamp=200, step=3)
    api.log_metric(run_id, "acc", 0.1, timestamp=50, step=5)
    m = metrics_by_key(api.get_run(run_id))["acc"]
    assert m == {"key": "acc", "value": 0.5, "timestamp": 100, "step": 5}


def test_get_history_paging(api, run_id):
    for i in range(5):
        assert api.log_metric(run_id, "loss", 1.0 / (i + 1), timestamp=1700000000000 + i, step=i).status_code == 200
    full = api.history(run_id, "loss")
    assert [m["step"] for m in full["metrics"]] == [0, 1, 2, 3, 4]
    assert "next_page_token" not in full
    seen, token, pages = [], None, 0
    while True:
        params = {"max_results": 2}
        if token:
            params["page_token"] = token
        page = api.history(run_id, "loss", **params)
        pages += 1
        assert len(page.get("metrics", [])) <= 2
        seen += page.get("metrics", [])
        token = page.get("next_page_token")
        if not token:
            break
        assert pages < 10
    assert seen == full["metrics"]
    first = api.history(run_id, "loss", max_results=1)
    assert len(first["metrics"]) == 1 and first["next_page_token"]


def test_get_history_max_results_bounds(api, run_id):
    api.log_metric(run_id, "m", 1.0, timestamp=1)
    r = api.get(f"{API}/metrics/get-history", {"run_id": run_id, "metric_key": "m", "max_results": 0})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message="Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer.")
    r = api.get(f"{API}/metrics/get-history", {"run_id": run_id, "metric_key": "m", "page_token": "not-base64!"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", message="Invalid page token, could not base64-decode")


def _bulk_run(api, exp_id, offset):
    rid = api.new_run(exp_id)
    for i in range(5):
        api.log_metric(rid, "acc", offset + i / 10, timestamp=1700000001000 + i, step=i)
    return rid


@pytest.mark.parametrize("prefix", [API, AJAX])
def test_get_history_bulk_interval(api, prefix):
    exp_id, _ = api.new_experiment()
    a = _bulk_run(api, exp_id, 0.0)
    b = _bulk_run(api, exp_id, 1.0)
    # repeated GET parameter (run_ids=a&run_ids=b)
    r = api.get(f"{prefix}/metrics/get-history-bulk-interval",
                [("run_ids", a), ("run_ids", b), ("metric_key", "acc"), ("max_results", "10")])
    ms = ok_json(r)["metrics"]
    assert len(ms) == 10
    for rid, off in ((a, 0.0), (b, 1.0)):
        mine = [m for m in ms if m["run_id"] == rid]
        assert [m["step"] for m in mine] == [0, 1, 2, 3, 4]
        assert [m["value"] for m in mine] == pytest.approx([off + i / 10 for i in range(5)])
        assert all(m["key"] == "acc" and type(m["timestamp"]) is int for m in mine)
    # step window
    r = api.get(f"{prefix}/metrics/get-history-bulk-interval",
                {"run_ids": a, "metric_key": "acc", "max_results": 10, "start_step": 1, "end_step": 3})
    assert [m["step"] for m in ok_json(r)["metrics"]] == [1, 2, 3]


def test_get_history_bulk_interval_limits(api):
    exp_id, _ = api.new_experiment()
    rid = _bulk_run(api, exp_id, 0.0)
    r = api.get(f"{AJAX}/metrics/get-history-bulk-interval",
                {"run_ids": rid, "metric_key": "acc", "max_results": 2501})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message=f"max_results must be between 1 and 2500. {API_DOCS}")
    r = api.get(f"{AJAX}/metrics/get-history-bulk-interval",
                [("run_ids", f"{i:032x}") for i in range(101)] + [("metric_key", "acc")])
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message="GetMetricHistoryBulkInterval request must specify at most 100 run_ids. "
                         f"Received 101 run_ids. {API_DOCS}")
    r = api.get(f"{AJAX}/metrics/get-history-bulk-interval", {"metric_key": "acc"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message=f"Missing value for required parameter 'run_ids'. {API_DOCS}")


# ---------------------------------------------------------------------------
# params, tags, log-batch
# ---------------------------------------------------------------------------


def test_param_overwrite(api, run_id):
    body = {"run_id": run_id, "key": "lr", "value": "0.01"}
    assert ok_json(api.post(f"{API}/runs/log-parameter", body)) == {}
    assert ok_json(api.post(f"{API}/runs/log-parameter", body)) == {}
    r = api.post(f"{API}/runs/log-parameter", {**body, "value": "0.02"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message=f"Changing param values is not allowed. Param with key='lr' was already logged "
                         f"with value='0.01' for run ID='{run_id}'. Attempted logging new value '0.02'.")
    r = api.post(f"{API}/runs/log-batch", {"run_id": run_id, "params": [{"key": "lr", "value": "0.03"}]})
    # log-batch lists every changed param as a Python list of dicts.
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message="Changing param values is not allowed. Params were already "
                         f"logged='[{{'key': 'lr', 'old_value': '0.01', 'new_value': '0.03'}}]' "
                         f"for run ID='{run_id}'.")
    params = api.get_run(run_id)["data"]["params"]
    assert params == [{"key": "lr", "value": "0.01"}]


def test_param_and_tag_lengths(api, run_id):
    r = api.post(f"{API}/runs/log-parameter", {"run_id": run_id, "key": "k" * 251, "value": "v"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message="'Param key' exceeds the maximum length of 250 characters")
    assert ok_json(api.post(f"{API}/runs/log-parameter", {"run_id": run_id, "key": "long", "value": "x" * 6001})) == {}
    assert ok_json(api.post(f"{API}/runs/set-tag", {"run_id": run_id, "key": "longtag", "value": "t" * 8001})) == {}
    run = api.get_run(run_id)
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert params["long"] == "x" * 6000
    assert tags["longtag"] == "t" * 8000


def test_log_batch_ok(api, run_id):
    r = api.post(f"{API}/runs/log-batch", {
        "run_id": run_id,
        "metrics": [{"key": "acc", "value": 0.9, "timestamp": 1700000001000, "step": 3},
                    {"key": "acc", "value": 0.91, "timestamp": "1700000001001", "step": "4"}],
        "params": [{"key": "bs", "value": "64"}],
        "tags": [{"key": "phase", "value": "train"}],
    })
    assert ok_json(r) == {}
    run = api.get_run(run_id)
    assert metrics_by_key(run)["acc"] == {"key": "acc", "value": 0.91, "timestamp": 1700000001001, "step": 4}
    assert run["data"]["params"] == [{"key": "bs", "value": "64"}]
    assert {"key": "phase", "value": "train"} in run["data"]["tags"]


def test_log_batch_limits(api, run_id):
    metrics = [{"key": f"m{i}", "value": 1.0, "timestamp": 1, "step": 0} for i in range(1001)]
    r = api.post(f"{API}/runs/log-batch", {"run_id": run_id, "metrics": metrics})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message="A batch logging request can contain at most 1000 metrics. Got 1001 metrics. "
                         "Please split up metrics across multiple requests and try again.")
    params = [{"key": f"p{i}", "value": "1"} for i in range(101)]
    r = api.post(f"{API}/runs/log-batch", {"run_id": run_id, "params": params})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message="A batch logging request can contain at most 100 params. Got 101 params. "
                         "Please split up params across multiple requests and try again.")
    tags = [{"key": f"t{i}", "value": "1"} for i in range(101)]
    r = api.post(f"{API}/runs/log-batch", {"run_id": run_id, "tags": tags})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message="A batch logging request can contain at most 100 tags. Got 101 tags. "
                         "Please split up tags across multiple requests and try again.")
    r = api.post(f"{API}/runs/log-batch",
                 {"run_id": run_id, "params": [{"key": "d", "value": "1"}, {"key": "d", "value": "2"}]})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message="Duplicate parameter keys have been submitted: ['d']. Please ensure the request "
                         "contains only one param value per param key.")
    r = api.post(f"{API}/runs/log-batch", {"run_id": run_id, "metrics": [{"key": "m", "value": 1.0}]})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message=f"Missing value for required parameter 'metrics[0].timestamp'. {API_DOCS}")
    # nothing of the rejected batches was stored
    run = api.get_run(run_id)
    assert "metrics" not in run["data"] and "params" not in run["data"]
    # exactly at the limits is fine
    ok = [{"key": f"m{i}", "value": 1.0, "timestamp": 1, "step": 0} for i in range(1000)]
    assert ok_json(api.post(f"{API}/runs/log-batch", {"run_id": run_id, "metrics": ok})) == {}
    assert len(metrics_by_key(api.get_run(run_id))) == 1000


# ---------------------------------------------------------------------------
# lifecycle
# ---------------------------------------------------------------------------


def test_writes_to_deleted_run_rejected(api, run_id):
    assert ok_json(api.post(f"{API}/runs/delete", {"run_id": run_id})) == {}
    msg = f"The run {run_id} must be in the 'active' state. Current state is deleted."
    writes = [
        ("runs/log-metric", {"run_id": run_id, "key": "after", "value": 1.0, "timestamp": 1}),
        ("runs/log-parameter", {"run_id": run_id, "key": "p", "value": "1"}),
        ("runs/set-tag", {"run_id": run_id, "key": "k", "value": "v"}),
        ("runs/log-batch", {"run_id": run_id, "params": [{"key": "p", "value": "1"}]}),
        ("runs/update", {"run_id": run_id, "status": "FINISHED"}),
    ]
    for path, body in writes:
        assert_error(api.post(f"{API}/{path}", body), 400, "INVALID_PARAMETER_VALUE", message=msg)
    # still readable, flagged deleted
    run = api.get_run(run_id)
    assert run["info"]["lifecycle_stage"] == "deleted"
    # deleting again is fine
    assert ok_json(api.post(f"{API}/runs/delete", {"run_id": run_id})) == {}
    exp_id = run["info"]["experiment_id"]
    r = api.post(f"{API}/runs/search", {"experiment_ids": [exp_id], "run_view_type": "DELETED_ONLY"})
    assert [x["info"]["run_id"] for x in ok_json(r)["runs"]] == [run_id]
    assert ok_json(api.post(f"{API}/runs/search", {"experiment_ids": [exp_id]})) == {}
    # restore
    assert ok_json(api.post(f"{API}/runs/restore", {"run_id": run_id})) == {}
    assert api.get_run(run_id)["info"]["lifecycle_stage"] == "active"
    assert ok_json(api.log_metric(run_id, "after", 1.0, timestamp=1)) == {}


def test_deleted_experiment_rules(api):
    exp_id, name = api.new_experiment()
    rid = api.new_run(exp_id)
    assert ok_json(api.post(f"{API}/experiments/delete", {"experiment_id": exp_id})) == {}
    exp = ok_json(api.get(f"{API}/experiments/get", {"experiment_id": exp_id}))["experiment"]
    assert exp["lifecycle_stage"] == "deleted"
    assert api.get_run(rid)["info"]["lifecycle_stage"] == "deleted"
    r = api.post(f"{API}/runs/create", {"experiment_id": exp_id, "start_time": 1})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message=f"The experiment {exp_id} must be in the 'active' state. Current state is deleted.")
    r = api.post(f"{API}/experiments/create", {"name": name})
    assert_error(r, 400, "RESOURCE_ALREADY_EXISTS")
    assert ok_json(api.post(f"{API}/experiments/restore", {"experiment_id": exp_id})) == {}
    exp = ok_json(api.get(f"{API}/experiments/get", {"experiment_id": exp_id}))["experiment"]
    assert exp["lifecycle_stage"] == "active"
    assert api.get_run(rid)["info"]["lifecycle_stage"] == "active"


# ---------------------------------------------------------------------------
# search
# ---------------------------------------------------------------------------


def test_experiments_search_paging(api):
    prefix = f"page-{uuid.uuid4().hex[:8]}"
    ids = [api.post(f"{API}/experiments/create", {"name": f"{prefix}-{i}"}).json()["experiment_id"]
           for i in range(3)]
    flt = f"name LIKE '{prefix}-%'"
    # GET, max_results=1, follow tokens
    seen, token = [], None
    for expect_token in (True, True, False):
        params = {"max_results": 1, "filter": flt, "order_by": "name ASC"}
        if token:
            params["page_token"] = token
        body = ok_json(api.get(f"{API}/experiments/search", params))
        assert len(body["experiments"]) == 1
        seen.append(body["experiments"][0]["experiment_id"])
        token = body.get("next_page_token")
        assert bool(token) == expect_token
    assert seen == ids
    # POST, max_results=2, order_by DESC
    body = ok_json(api.post(f"{API}/experiments/search",
                            {"max_results": 2, "filter": flt, "order_by": ["name DESC"],
                             "view_type": "ACTIVE_ONLY"}))
    assert [e["experiment_id"] for e in body["experiments"]] == ids[:0:-1]
    body2 = ok_json(api.post(f"{API}/experiments/search",
                             {"max_results": 2, "filter": flt, "order_by": ["name DESC"],
                              "page_token": body["next_page_token"]}))
    assert [e["experiment_id"] for e in body2["experiments"]] == ids[:1]
    assert "next_page_token" not in body2
    # exact fit: no token
    body = ok_json(api.post(f"{API}/experiments/search", {"max_results": 3, "filter": flt}))
    assert len(body["experiments"]) == 3 and "next_page_token" not in body
    # tag + LIKE filter
    api.post(f"{API}/experiments/set-experiment-tag", {"experiment_id": ids[1], "key": "team", "value": "ml"})
    body = ok_json(api.post(f"{API}/experiments/search",
                            {"max_results": 5, "filter": f"{flt} AND tags.team = 'ml'"}))
    assert [e["experiment_id"] for e in body["experiments"]] == [ids[1]]


def test_experiments_search_max_results(api):
    msg = "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer"
    assert_error(api.post(f"{API}/experiments/search", {}), 400, "INVALID_PARAMETER_VALUE", message=msg)
    assert_error(api.get(f"{API}/experiments/search"), 400, "INVALID_PARAMETER_VALUE", message=msg)
    assert_error(api.post(f"{API}/experiments/search", {"max_results": 50001}), 400, "INVALID_PARAMETER_VALUE",
                 message="Invalid value 50001 for parameter 'max_results' supplied. It must be at most 50000")
    ok_json(api.post(f"{API}/experiments/search", {"max_results": 50000}))
    r = api.post(f"{API}/experiments/search", {"max_results": 5, "page_token": "not-base64!"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", message="Invalid page token, could not base64-decode")


def test_runs_search_max_results(api):
    exp_id, _ = api.new_experiment()
    r = api.post(f"{API}/runs/search", {"experiment_ids": [exp_id], "max_results": 50001})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message=f"Invalid value 50001 for parameter 'max_results' supplied:  "
                         f"Hint: Value was of type 'int'. {API_DOCS}")
    ok_json(api.post(f"{API}/runs/search", {"experiment_ids": [exp_id], "max_results": 50000}))


def test_runs_search_paging_and_order(api):
    exp_id, _ = api.new_experiment()
    rids = []
    for i in range(5):
        rid = api.new_run(exp_id, start_time=1700000000000 + i, run_name=f"r{i}")
        api.post(f"{API}/runs/log-batch", {
            "run_id": rid, "params": [{"key": "bs", "value": str(16 * (i + 1))}],
            "metrics": [{"key": "acc", "value": [0.3, 0.9, 0.5, 0.7, 0.1][i], "timestamp": 1, "step": 0}],
        })
        rids.append(rid)
    # default order start_time DESC
    body = ok_json(api.post(f"{API}/runs/search", {"experiment_ids": [exp_id]}))
    assert [r["info"]["run_id"] for r in body["runs"]] == rids[::-1]
    assert "next_page_token" not in body
    # order by metric + paging
    seen, token = [], None
    for _ in range(5):
        req = {"experiment_ids": [exp_id], "order_by": ["metrics.acc DESC"], "max_results": 2}
        if token:
            req["page_token"] = token
        body = ok_json(api.post(f"{API}/runs/search", req))
        seen += [r["info"]["run_id"] for r in body.get("runs", [])]
        token = body.get("next_page_token")
        if not token:
            break
    assert seen == [rids[i] for i in (1, 3, 2, 0, 4)]
    body = ok_json(api.post(f"{API}/runs/search", {
        "experiment_ids": [exp_id], "filter": "metrics.acc > 0.2 and params.bs != '16'",
        "order_by": ["metrics.acc ASC"], "max_results": 10}))
    assert [r["info"]["run_id"] for r in body["runs"]] == [rids[i] for i in (2, 3, 1)]


def test_runs_search_filter_errors(api):
    exp_id, _ = api.new_experiment()
    api.new_run(exp_id)
    cases = [
        ("metrics.a > 1 OR metrics.b > 1", "Invalid clause(s) in filter string: 'OR'"),
        ("attributes.status IN ('RUNNING')",
         "Only ['run_id'] attributes support comparison with a list of quoted string values."),
        ("metrics.acc >>> 1", "Invalid comparator '>>>' not one of '{'>', '!=', '<=', '>=', '=', '<'}"),
        ("metrics.negstep > 'a'", "Expected numeric value type for metric. Found 'a'"),
        ("params.lr = 0.01",
         "Expected a quoted string value for parameter (e.g. 'my-value'). Got value 0.01"),
    ]
    for flt, msg in cases:
        r = api.post(f"{API}/runs/search", {"experiment_ids": [exp_id], "filter": flt})
        if msg.startswith("Invalid comparator"):
            # set ordering inside the message is Python's set repr: code only + prefix
            assert_error(r, 400, "INVALID_PARAMETER_VALUE", startswith="Invalid comparator '>>>' not one of")
        else:
            assert_error(r, 400, "INVALID_PARAMETER_VALUE", message=msg)
    r = api.post(f"{API}/runs/search", {"experiment_ids": [exp_id], "order_by": ["metrics.a UP"]})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 message="Invalid ordering key in order_by clause 'metrics.a UP'.")
    r = api.post(f"{API}/runs/search", {"experiment_ids": [exp_id], "page_token": "not-base64!"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", message="Invalid page token, could not base64-decode")


def test_runs_search_filters(api):
    exp_id, _ = api.new_experiment()
    a = api.new_run(exp_id, run_name="renamed-by-tag", tags=[{"key": "mlflow.note", "value": "x"}])
    b = api.new_run(exp_id, run_name="Other")
    api.post(f"{API}/runs/log-parameter", {"run_id": b, "key": "lr", "value": "0.1"})

    def ids(flt, **extra):
        body = ok_json(api.post(f"{API}/runs/search", {"experiment_ids": [exp_id], "filter": flt, **extra}))
        return {r["info"]["run_id"] for r in body.get("runs", [])}

    assert ids(f"attributes.run_id IN ('{a}', 'x')") == {a}
    assert ids(f"attributes.run_id NOT IN ('{a}')") == {b}
    assert ids("tags.`mlflow.runName` = 'renamed-by-tag'") == {a}
    assert ids("tags.\"mlflow.note\" = 'x'") == {a}
    assert ids("attributes.run_name LIKE 'RENAMED%'") == set()
    assert ids("attributes.run_name ILIKE 'RENAMED%'") == {a}
    assert ids("params.lr IS NULL") == {a}
    assert ids("params.lr IS NOT NULL") == {b}
    assert ids("run_name = 'Other'") == {b}
    assert ids("attributes.status = 'RUNNING'") == {a, b}


# ---------------------------------------------------------------------------
# routing: ajax twin, unknown routes, health, version, server-info
# ---------------------------------------------------------------------------


def test_ajax_api_twin_identical(api):
    exp_id, name = api.new_experiment()
    rid = api.new_run(exp_id)
    a = api.get(f"{API}/experiments/get-by-name", {"experiment_name": name})
    b = api.get(f"{AJAX}/experiments/get-by-name", {"experiment_name": name})
    assert a.status_code == b.status_code == 200 and a.json() == b.json()
    body = {"experiment_ids": [exp_id]}
    a, b = api.post(f"{API}/runs/search", body), api.post(f"{AJAX}/runs/search", body)
    assert a.status_code == b.status_code == 200 and a.json() == b.json()
    a = api.get(f"{API}/runs/get", {"run_id": "f" * 32})
    b = api.get(f"{AJAX}/runs/get", {"run_id": "f" * 32})
    assert a.status_code == b.status_code == 404 and a.json() == b.json()
    a = api.post(f"{AJAX}/runs/log-metric", {"run_id": rid, "key": "k", "value": 1, "timestamp": 1})
    assert ok_json(a) == {}
    assert "k" in metrics_by_key(api.get_run(rid))


def test_patch_and_delete_not_content_type_checked(api):
    name = f"nope-{uuid.uuid4().hex}"
    for method, path in (("PATCH", "registered-models/update"), ("DELETE", "registered-models/delete")):
        r = api.request(method, f"{API}/{path}", data=json.dumps({"name": name}))
        assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST", message=f"Registered Model with name={name} not found")


def test_unknown_route_and_wrong_method(api):
    assert api.get(f"{API}/no-such-endpoint").status_code == 404
    assert api.get(f"{API}/runs/create").status_code == 405


def test_health(api):
    r = api.get("/health")
    assert r.status_code == 200
    assert r.text == "OK"
    assert r.headers["Content-Type"].startswith("text/plain")


def test_version(api):
    r = api.get("/version")
    assert r.status_code == 200
    assert r.text.strip() == "3.17.2"


@pytest.mark.parametrize("prefix", ["/api", "/ajax-api"])
def test_server_info(api, prefix):
    body = ok_json(api.get(f"{prefix}/3.0/mlflow/server-info"))
    for key in ("workspaces_enabled", "multipart_uploads_enabled", "multipart_downloads_enabled"):
        assert body[key] is False, key
    assert isinstance(body["store_type"], str) and body["store_type"]
    for key in ("trace_archival_enabled", "presigned_upload_run_id_supported",
                "presigned_upload_model_id_supported"):
        if key in body:
            assert isinstance(body[key], bool)
    if "features_enabled" in body:
        assert isinstance(body["features_enabled"], dict)


# ---------------------------------------------------------------------------
# artifacts
# ---------------------------------------------------------------------------


def _run_with_artifact(api):
    exp_id, _ = api.new_experiment()
    rid = api.new_run(exp_id)
    base = f"{exp_id}/{rid}/artifacts"
    r = api.request("PUT", f"{ARTIFACTS}/{base}/dir/hello.txt", data=b"hi\n",
                    headers={"Content-Type": "text/plain"})
    assert r.status_code == 200, r.text
    return exp_id, rid, base


def test_mlflow_artifacts_put_get_list_delete(api, server):
    exp_id, rid, base = _run_with_artifact(api)
    r = api.request("PUT", f"{ARTIFACTS}/{base}/dir/sub/data.bin", data=bytes(range(256)) * 10,
                    headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 200
    assert r.content in (b"", b"{}") or r.json() == {}
    assert (server.artifacts_dir / exp_id / rid / "artifacts" / "dir" / "hello.txt").read_bytes() == b"hi\n"

    r = api.get(f"{ARTIFACTS}/{base}/dir/hello.txt")
    assert r.status_code == 200 and r.content == b"hi\n"
    assert r.headers["Content-Type"].startswith("text/plain")
    cd = r.headers.get("Content-Disposition", "")
    assert cd.startswith("attachment") and "hello.txt" in cd
    r = api.get(f"{ARTIFACTS}/{base}/dir/sub/data.bin")
    assert r.status_code == 200 and r.content == bytes(range(256)) * 10

    assert ok_json(api.get(ARTIFACTS, {"path": base})) == {"files": [{"path": "dir", "is_dir": True}]}
    listing = ok_json(api.get(ARTIFACTS, {"path": f"{base}/dir"}))["files"]
    assert sorted(listing, key=lambda f: f["path"]) == [
        {"path": "hello.txt", "is_dir": False, "file_size": 3},
        {"path": "sub", "is_dir": True},
    ]
    assert ok_json(api.get(ARTIFACTS, {"path": f"{base}/nope"})) == {}

    r = api.get(f"{ARTIFACTS}/{base}/dir/missing.txt")
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST")
    assert api.get(f"{ARTIFACTS}/{base}/dir").status_code == 400  # a directory
    r = api.request("PUT", f"{ARTIFACTS}/{base}/dir/", data=b"x")
    assert r.status_code == 400  # no filename

    r = api.request("DELETE", f"{ARTIFACTS}/{base}/dir/hello.txt")
    assert ok_json(r) == {}
    assert api.get(f"{ARTIFACTS}/{base}/dir/hello.txt").status_code == 404
    assert not (server.artifacts_dir / exp_id / rid / "artifacts" / "dir" / "hello.txt").exists()


def test_artifact_put_overwrites(api):
    _, _, base = _run_with_artifact(api)
    r = api.request("PUT", f"{ARTIFACTS}/{base}/dir/hello.txt", data=b"second version")
    assert r.status_code == 200
    assert api.get(f"{ARTIFACTS}/{base}/dir/hello.txt").content == b"second version"


def test_artifacts_list_with_run_id(api):
    exp_id, rid, _ = _run_with_artifact(api)
    root_uri = f"mlflow-artifacts:/{exp_id}/{rid}/artifacts"
    body = ok_json(api.get(f"{API}/artifacts/list", {"run_id": rid}))
    assert body == {"root_uri": root_uri, "files": [{"path": "dir", "is_dir": True}]}
    body = ok_json(api.get(f"{API}/artifacts/list", {"run_id": rid, "path": "dir"}))
    assert body == {"root_uri": root_uri,
                    "files": [{"path": "dir/hello.txt", "is_dir": False, "file_size": 3}]}
    body = ok_json(api.get(f"{AJAX}/artifacts/list", {"run_uuid": rid}))
    assert body["files"] == [{"path": "dir", "is_dir": True}]


def test_get_artifact(api):
    _, rid, _ = _run_with_artifact(api)
    r = api.get("/get-artifact", {"run_uuid": rid, "path": "dir/hello.txt"})
    assert r.status_code == 200 and r.content == b"hi\n"
    r = api.get("/get-artifact", {"run_uuid": rid, "path": "../../x"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", message="Invalid path")


def test_artifact_path_traversal_rejected(api, server):
    exp_id, rid, base = _run_with_artifact(api)
    outside = server.workdir / f"abs-escape-{uuid.uuid4().hex[:6]}.txt"
    bad_puts = [
        f"{ARTIFACTS}/{base}/../escape1.txt",
        f"{ARTIFACTS}/{base}/%2E%2E/escape2.txt",
        f"{ARTIFACTS}/{base}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/escape3.txt",
        f"{ARTIFACTS}/{base}/%252E%252E/%252E%252E/%252E%252E/%252E%252E/escape4.txt",
        f"{ARTIFACTS}/../../../../escape5.txt",
        f"{ARTIFACTS}/{exp_id}/../../escape6.txt",
        f"{ARTIFACTS}/" + quote(str(outside), safe="/"),  # //abs/path
    ]
    for path in bad_puts:
        status, headers, body = api.raw("PUT", path, body=b"x", headers={"Content-Type": "text/plain"})
        assert status == 400, (path, status, body)
        err = json.loads(body)
        assert err["error_code"] == "INVALID_PARAMETER_VALUE" and err["message"] == "Invalid path", (path, err)
    written = [p for p in server.workdir.rglob("*escape*")]
    assert written == [], written
    assert not outside.exists()

    # reads and listings with '..' are rejected too
    for path in (f"{ARTIFACTS}/{base}/%2E%2E/%2E%2E/%2E%2E/%2E%2E/server.log",
                 f"{ARTIFACTS}/{exp_id}/../../server.log"):
        status, _, body = api.raw("GET", path)
        assert status == 400, (path, status, body[:200])
        err = json.loads(body)
        assert err["error_code"] == "INVALID_PARAMETER_VALUE" and err["message"] == "Invalid path"
    r = api.get(ARTIFACTS, {"path": f"{base}/../.."})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", message="Invalid path")
    r = api.get(f"{API}/artifacts/list", {"run_id": rid, "path": "../.."})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", message="Invalid path")
