"""The official MLflow 3.17.2 web UI, page by page, in a real browser (issue 9).

Debian's ``/usr/bin/chromium`` is driven by npm ``playwright-core``
(``compat-tests/ui/driver.mjs``; install both with ``scripts/setup-browser.sh``)
against a live server seeded with the official client, once per backend
(``COMPAT_BACKENDS``) and against either ferroflow or the reference ``mlflow
server`` 3.17.2 (``COMPAT_TARGET``), so that every assertion below is proven on
the reference.  What the pages show, the calls they make and the reference's
own console errors were measured in /work/shared/reference/ui.md.

Each page test asserts:
  * its probe texts (run name, a param value, a metric name, an artifact name,
    the model name and alias ...), taken from what the real UI shows;
  * zero failed requests (status >= 400 or a network error) to the server,
    except ALLOWED_FAILURES below, each of which the reference fails too;
  * no uncaught page error and no console error beyond what the reference shows;
  * no visible "Can't load" / "Error while loading" / "Response not successful".
Writes made from the UI are checked afterwards with the client.

Without chromium or compat-tests/ui/node_modules the module is skipped, or fails
when FERROFLOW_REQUIRE_BROWSER=1 (scripts/test-all.sh sets it).  Screenshots:
$FERROFLOW_UI_SCREENSHOTS or compat-tests/.ui-screens/<target>-<backend>/<page>.png.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

import mlflow
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

from conftest import REPO, TARGET, _stop, ferroflow_bin, free_port, mlflow_bin, start_server

if int(mlflow.__version__.split(".")[0]) < 3:
    pytest.skip("the UI suite seeds with the MLflow 3 client (logged models)",
                allow_module_level=True)

UI_DIR = Path(__file__).resolve().parent / "ui"
DRIVER = UI_DIR / "driver.mjs"
CHROMIUM = Path(os.environ.get("CHROMIUM") or "/usr/bin/chromium")
SCREENS = Path(os.environ.get("FERROFLOW_UI_SCREENSHOTS")
               or Path(__file__).resolve().parent / ".ui-screens")

# How long the page may take to show its first probe text, and how long the
# test then keeps watching for late requests and errors.
FIRST_TEXT_MS = 30000
SETTLE_MS = 2000

REF_EXP = "ui-ref-exp"
BULK_EXP = "ui-bulk-10k"
WRITE_EXP = "ui-write-exp"
BULK_RUNS = int(os.environ.get("FERROFLOW_UI_BULK_RUNS", "10000"))
BULK_THREADS = 8
MODEL = "ref-model"
ALIAS = "champion"
AT_ALIAS = f"@\u00a0{ALIAS}"  # how the UI shows an alias (a no-break space)
PREFIX = "/mlflow"
# A filter typed into the runs table search box: it matches the 10 best scores
# ("metrics.score >= 0.999" for 10,000 runs).
BULK_FILTER = f"metrics.score >= {(BULK_RUNS - 10) / BULK_RUNS}"

ERROR_TEXTS = ("Can't load", "Error while loading", "Response not successful")

# Keeps the MLflow Assistant side panel closed (it is open by default and
# narrows the runs table, whose columns are virtualised).
CLOSE_ASSISTANT = ("localStorage.setItem('mlflow.assistant.fab.autoOpenedOnFirstLoad_v1','true');"
                   "localStorage.setItem('mlflow.assistant.panelOpen_v1','false');")
# The pre-"new model registry UI" view, the only one with the stage dropdown.
LEGACY_REGISTRY_UI = "localStorage.setItem('_mlflow_user_setting_dismiss_next_model_registry_ui','true');"


# ---------------------------------------------------------------------------
# What may fail: each entry also fails against mlflow server 3.17.2.
# ---------------------------------------------------------------------------


def _users_current(req: dict) -> bool:
    # Every page asks who the user is; with authentication off the reference has
    # no such route and answers 404 (ui.md section 3). The UI ignores it.
    return (req["method"] == "GET" and req["status"] == 404
            and urlsplit(req["url"]).path.endswith("/ajax-api/2.0/mlflow/users/current"))


ALLOWED_FAILURES = [_users_current]


def experiment_name_probe(name: str):
    """The create / edit experiment dialogs look the typed name up to say
    whether it is taken; for a free name the reference answers 404
    RESOURCE_DOES_NOT_EXIST, which is the UI's "available" answer."""
    def allowed(req: dict) -> bool:
        parts = urlsplit(req["url"])
        if not (req["method"] == "GET" and req["status"] == 404
                and parts.path.endswith("/ajax-api/2.0/mlflow/experiments/get-by-name")):
            return False
        typed = parse_qs(parts.query).get("experiment_name", [""])[0]
        return bool(typed) and name.startswith(typed) and "RESOURCE_DOES_NOT_EXIST" in (req["body"] or "")
    return allowed


# Console errors the reference prints too.
ALLOWED_CONSOLE = [
    # Chromium's line for the users/current 404 above (checked against the
    # allowed responses, see _console_problems).
    re.compile(r"^Failed to load resource: the server responded with a status of 404"),
    # Benign layout notice from the chart containers (Model metrics tab).
    re.compile(r"ResizeObserver loop completed with undelivered notifications"),
]
# The compare-runs page of the reference logs this bug of its own and renders anyway.
COMPARE_INCLUDES_ERROR = re.compile(
    r"TypeError: Cannot read properties of undefined \(reading 'includes'\)")


# ---------------------------------------------------------------------------
# The browser
# ---------------------------------------------------------------------------


def _browser_missing() -> str | None:
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing"
    if shutil.which("node") is None:
        return "node is missing"
    if not (UI_DIR / "node_modules" / "playwright-core").is_dir():
        return f"{UI_DIR}/node_modules is missing"
    return None


@pytest.fixture(scope="session")
def browser_ready():
    missing = _browser_missing()
    if missing:
        msg = f"browser suite cannot run: {missing} (run scripts/setup-browser.sh)"
        if os.environ.get("FERROFLOW_REQUIRE_BROWSER") == "1":
            pytest.fail(msg)
        pytest.skip(msg)


class Driver:
    """One ``node driver.mjs --serve`` (one chromium) for the whole module."""

    def __init__(self):
        env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1", CHROMIUM=str(CHROMIUM))
        # stderr (one progress line per page) goes to the test's captured output
        self.proc = subprocess.Popen(["node", str(DRIVER), "--serve"], cwd=str(UI_DIR), env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def run(self, plan_path: Path, out_path: Path, timeout: float) -> None:
        if self.proc.poll() is not None:
            pytest.fail(f"driver.mjs exited with {self.proc.returncode}")
        self.proc.stdin.write(json.dumps({"plan": str(plan_path), "out": str(out_path)}) + "\n")
        self.proc.stdin.flush()
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.close()
            pytest.fail(f"driver.mjs gave no answer within {timeout:.0f}s for {plan_path}")
        if line is None or not line.startswith("done "):
            pytest.fail(f"driver.mjs failed on {plan_path}: {line}")

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def driver(browser_ready):
    d = Driver()
    yield d
    d.close()


class Browser:
    """Runs plans through driver.mjs and checks its records."""

    def __init__(self, driver: Driver, base: str, shots: Path, work: Path):
        self.driver = driver
        self.base = base.rstrip("/")
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(base))
        self.shots = shots
        self.work = work
        shots.mkdir(parents=True, exist_ok=True)

    def url(self, route: str) -> str:
        return f"{self.base}/#{route}"

    def run(self, *pages: dict, parallel: int = 1) -> list[dict]:
        """Runs the pages (``parallel`` at a time, each in its own context)
        and returns their records."""
        plan = {
            "screenshot_dir": str(self.shots),
            "default_timeout_ms": FIRST_TEXT_MS,
            "parallel": parallel,
            "pages": list(pages),
        }
        tag = uuid.uuid4().hex[:8]
        plan_path = self.work / f"plan-{tag}.json"
        out_path = self.work / f"results-{tag}.json"
        plan_path.write_text(json.dumps(plan, indent=1))
        limit = 60 + sum(20 + 35 * len(p.get("steps", [])) for p in pages)
        self.driver.run(plan_path, out_path, limit)
        results = json.loads(out_path.read_text())["pages"]
        assert len(results) == len(pages)
        return results

    # -- checks ------------------------------------------------------------

    def same_origin(self, url: str) -> bool:
        return url.startswith(self.origin + "/") or url == self.origin

    def problems(self, res: dict, texts=(), allow=(), console_allow=()) -> list[str]:
        """Everything wrong with one page record (empty when it passes)."""
        out = []
        if not res["ok"]:
            out.append(f"driver: {res['error']}")
        visible = res["text"] or ""
        for t in texts:
            if t not in visible:
                out.append(f"probe text not visible: {t!r}")
        snapshots = [s["value"] for s in res["steps"]
                     if "snapshot" in s["step"] and isinstance(s["value"], str)]
        for text in [visible, *snapshots]:
            for bad in ERROR_TEXTS:
                if bad in text:
                    i = text.index(bad)
                    out.append(f"error text visible: {text[max(0, i - 80):i + 200]!r}")
        allowed = list(ALLOWED_FAILURES) + list(allow)
        allowed_urls = set()
        for r in res["bad_responses"]:
            if not self.same_origin(r["url"]):
                continue  # another host (none is reachable from the sandbox)
            if any(a(r) for a in allowed):
                allowed_urls.add(r["url"])
                continue
            out.append(f"failed request: {r['method']} {r['url']} -> {r['status']}"
                       f"\n      request body: {r.get('request_body')}\n      response body: {r['body']}")
        for r in res["request_failed"]:
            if not self.same_origin(r["url"]):
                continue
            if r["url"] in allowed_urls:
                continue  # already accounted for above
            out.append(f"request failed: {r['method']} {r['url']} ({r['failure']})")
        for e in res["page_errors"]:
            out.append(f"page error: {e['message']}\n      {e['stack'][:600]}")
        for c in res["console_errors"]:
            text = c["text"]
            if text.startswith("Failed to load resource"):
                if c.get("url") and (c["url"] in allowed_urls or not self.same_origin(c["url"])):
                    continue
                out.append(f"console error: {text} ({c.get('url')})")
                continue
            if any(p.search(text) for p in ALLOWED_CONSOLE) or any(p.search(text) for p in console_allow):
                continue
            out.append(f"console error: {text[:600]} ({c.get('url')})")
        return out

    def check(self, res: dict, texts=(), allow=(), console_allow=()) -> None:
        found = self.problems(res, texts, allow, console_allow)
        if found:
            pytest.fail(f"page {res['name']} ({res['url']} -> {res['final_url']}, "
                        f"screenshot {res['screenshot']}):\n  - " + "\n  - ".join(found)
                        + f"\n  visible text (start): {res['text'][:1500]!r}")


def page(name: str, url: str, texts=(), selectors=(), steps=(), settle_ms=SETTLE_MS,
         init_script: str | None = None, http_credentials: dict | None = None) -> dict:
    """A plan page: wait for every probe text and selector, run the extra
    steps, then keep watching ``settle_ms`` for late requests and errors."""
    plan_steps = [{"wait_text": t} for t in texts]
    plan_steps += [{"wait_selector": s} for s in selectors]
    plan_steps += list(steps)
    if settle_ms:
        plan_steps.append({"sleep": settle_ms})
    spec = {"name": name, "url": url, "steps": plan_steps}
    if init_script:
        spec["init_script"] = init_script
    if http_credentials:
        spec["http_credentials"] = http_credentials
    return spec


def step_value(res: dict, key: str, label=None):
    """The recorded value of the first step with ``key`` (and value ``label``)."""
    for s in res["steps"]:
        if key in s["step"] and (label is None or s["step"][key] == label):
            return s
    raise AssertionError(f"no {key} step in {res['name']}")


def responses_of(res: dict, needle: str) -> list[dict]:
    return [s["response"] for s in res["steps"] if s.get("response") and needle in s["response"]["url"]]


# ---------------------------------------------------------------------------
# The data, logged with the official client (ui.md section 8 step 1)
# ---------------------------------------------------------------------------


def bulk_name(i: int) -> str:
    return f"bulk-{i:05d}"


def bulk_score(i: int) -> float:
    """A permutation of i, so that ordering by score differs from start time."""
    return ((i * 7919) % BULK_RUNS) / BULK_RUNS


class _Identity(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


def _seed_reference(client: MlflowClient) -> dict:
    exp_id = client.create_experiment(REF_EXP)
    mlflow.set_experiment(experiment_id=exp_id)
    with mlflow.start_run(run_name="ref-run-1") as run:
        run1 = run.info.run_id
        mlflow.log_params({"alpha": "0.5", "l1_ratio": "0.1"})
        for s in range(10):
            mlflow.log_metrics({"rmse": 1 / (s + 1), "accuracy": 0.5 + 0.04 * s}, step=s)
        mlflow.set_tag("team", "ferro")
        mlflow.log_text("hello artifact text\nline 2\n", "notes/readme.txt")
        mlflow.log_text("deeply nested artifact\n", "notes/deep/nested.txt")
        mlflow.log_dict({"a": 1, "b": [1, 2]}, "config.json")
        import numpy as np
        from PIL import Image

        arr = np.zeros((32, 32, 3), dtype=np.uint8)
        arr[:, :, 0] = np.arange(32, dtype=np.uint8)[None, :] * 8
        arr[:, :, 1] = np.arange(32, dtype=np.uint8)[:, None] * 8
        mlflow.log_image(Image.fromarray(arr), "images/sample.png")
        info = mlflow.pyfunc.log_model(name="model", python_model=_Identity(),
                                       registered_model_name=MODEL,
                                       pip_requirements=["mlflow"])
    time.sleep(0.02)
    with mlflow.start_run(run_name="ref-run-2") as run:
        run2 = run.info.run_id
        mlflow.log_param("alpha", "0.9")
        for s in range(10):
            mlflow.log_metric("rmse", 2 / (s + 1), step=s)
    client.set_registered_model_alias(MODEL, ALIAS, "1")
    return dict(exp_id=exp_id, run1=run1, run2=run2, model_id=info.model_id)


def _seed_bulk(client: MlflowClient, exp_id: str, n: int, stop: threading.Event) -> dict:
    """n runs, each with params idx and group, metric score and a run name;
    run i+1 starts 1 s after run i."""
    t0 = int(time.time() * 1000) - n * 1000

    def one(i: int) -> str:
        if stop.is_set():
            raise RuntimeError("module torn down before the runs were logged")
        rid = client.create_run(exp_id, start_time=t0 + i * 1000, run_name=bulk_name(i)).info.run_id
        client.log_batch(rid, metrics=[Metric("score", bulk_score(i), t0 + i * 1000 + 1, 0)],
                         params=[Param("idx", str(i)), Param("group", f"g{i % 10}")])
        return rid

    with cf.ThreadPoolExecutor(BULK_THREADS) as pool:
        ids = list(pool.map(one, range(n), chunksize=64))
    return dict(exp_id=exp_id, run_ids=ids)


def _seed_writes(client: MlflowClient) -> dict:
    """A run the UI renames, tags and uploads to, apart from the probed data."""
    exp_id = client.create_experiment(WRITE_EXP)
    run = client.create_run(exp_id, run_name="ui-edit-run")
    client.log_param(run.info.run_id, "p", "1")
    client.set_terminated(run.info.run_id)
    return dict(exp_id=exp_id, run=run.info.run_id)


@pytest.fixture(scope="module")
def seeded(browser_ready, module_client, server):
    """The reference data first; the 10,000 runs are logged in the background
    while the other pages are tested (test_runs_table_10k waits for them)."""
    client: MlflowClient = module_client
    t = time.monotonic()
    data = _seed_reference(client)
    data["writes"] = _seed_writes(client)
    print(f"\n[ui seed {TARGET}/{server.backend}] reference data {time.monotonic() - t:.1f}s",
          file=sys.stderr)
    data["client"] = client
    stop = threading.Event()
    bulk_exp = client.create_experiment(BULK_EXP)

    def bulk():
        t = time.monotonic()
        out = _seed_bulk(client, bulk_exp, BULK_RUNS, stop)
        out["seconds"] = time.monotonic() - t
        return out

    pool = cf.ThreadPoolExecutor(1)
    data["bulk_future"] = pool.submit(bulk)
    yield data
    stop.set()
    pool.shutdown(wait=True)


@pytest.fixture(scope="module")
def ui(driver, seeded, server, tmp_path_factory) -> Browser:
    return Browser(driver, server.url, SCREENS / f"{TARGET}-{server.backend}",
                   tmp_path_factory.mktemp("ui-plans"))


# ---------------------------------------------------------------------------
# Experiments
# ---------------------------------------------------------------------------


def test_experiments_list(ui, seeded):
    (res,) = ui.run(page("experiments", ui.url("/experiments"),
                         texts=["Experiments", REF_EXP, BULK_EXP, "Default", "25 / page"]))
    ui.check(res)
    assert res["title"] == "Experiments - MLflow"


def test_experiment_create_rename_delete(ui, seeded):
    client = seeded["client"]
    made = f"ui-made-{uuid.uuid4().hex[:8]}"
    renamed = f"ui-renamed-{uuid.uuid4().hex[:8]}"

    (res,) = ui.run(page("experiment-create", ui.url("/experiments"), texts=[REF_EXP], steps=[
        {"click": "[data-testid=create-experiment-button]"},
        {"fill": "#experimentName", "value": made},
        {"sleep": 800},  # the dialog looks the typed name up
        {"click": "[role=dialog] button:has-text('Create')", "expect_response": "experiments/create"},
        {"wait_text": made},
    ]))
    ui.check(res, texts=[made], allow=[experiment_name_probe(made)])
    (resp,) = responses_of(res, "experiments/create")
    assert resp["status"] == 200, resp
    exp_id = json.loads(resp["body"])["experiment_id"]
    exp = client.get_experiment(exp_id)
    assert exp.name == made and exp.lifecycle_stage == "active"
    # A new experiment opens on its default (GenAI overview) page.
    assert f"/experiments/{exp_id}" in res["final_url"]

    (res,) = ui.run(page("experiment-rename", ui.url(f"/experiments/{exp_id}/runs"), texts=[made], steps=[
        {"click": "[data-testid=overflow-menu-trigger]"},
        {"click": "[data-testid='mlflow.experiment_page.managementMenu.edit-experiment']"},
        {"fill": "[id='mlflow.experiment.edit.name']", "value": renamed},
        {"sleep": 800},
        {"click": "[role=dialog] button:has-text('Save')", "expect_response": "experiments/update"},
        {"wait_text": renamed},
    ]))
    ui.check(res, texts=[renamed], allow=[experiment_name_probe(renamed)])
    (resp,) = responses_of(res, "experiments/update")
    assert resp["status"] == 200, resp
    assert client.get_experiment(exp_id).name == renamed

    (res,) = ui.run(page("experiment-delete", ui.url("/experiments"), texts=[renamed], steps=[
        {"click": f"[role=row]:has-text('{renamed}') [data-testid=experiment-list-item-check-box]"},
        {"click": "[data-testid=delete-experiments-button]"},
        {"click": "[role=dialog] button:has-text('Delete')", "expect_response": "experiments/delete"},
        {"wait_no_text": renamed},
    ]))
    ui.check(res, texts=[REF_EXP])
    assert renamed not in res["text"]
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"


def test_experiment_default_page(ui, seeded):
    """/#/experiments/<id> redirects to the GenAI overview (the default
    workflow) and renders it without an error."""
    exp_id = seeded["exp_id"]
    (res,) = ui.run(page("experiment-default", ui.url(f"/experiments/{exp_id}"),
                         texts=[REF_EXP, "Overview"], steps=[{"wait_url": "/overview"}]))
    ui.check(res)
    assert f"/experiments/{exp_id}/overview" in res["final_url"], res["final_url"]


# ---------------------------------------------------------------------------
# Runs table
# ---------------------------------------------------------------------------

FIRST_ROW_NAME = (
    "(() => { const names = [...document.querySelectorAll(\".ag-row[row-index='0'] a\")]"
    ".map(a => a.innerText.trim()).filter(t => /^bulk-\\d{5}$/.test(t)); return names[0] || null; })()")
HEADER_NAMES = ("[...new Set([...document.querySelectorAll('.ag-header-cell[role=columnheader]')]"
                ".map(e => e.innerText.trim()).filter(Boolean))]")


def test_runs_table_reference_experiment(ui, seeded):
    exp_id = seeded["exp_id"]
    (res,) = ui.run(page("runs-table", ui.url(f"/experiments/{exp_id}/runs"),
                         texts=["ref-run-1", "ref-run-2", "2 matching runs", MODEL, "v1"],
                         selectors=["[data-testid=experiment-view-table-run-color]"]))
    ui.check(res)
    assert res["title"] == f"Runs - Experiment {exp_id} - MLflow"


# ---------------------------------------------------------------------------
# Run page
# ---------------------------------------------------------------------------


def test_run_overview(ui, seeded):
    run1 = seeded["run1"]
    (res,) = ui.run(page(
        "run-overview", ui.url(f"/experiments/{seeded['exp_id']}/runs/{run1}"),
        texts=["ref-run-1", "Metrics (2)", "rmse", "0.1", "accuracy", "0.86", "Parameters (2)",
               "alpha", "0.5", "l1_ratio", "Logged models (1)", "Status", "Finished", "team",
               ": ferro", MODEL, "v1", run1],
        selectors=['[data-testid="key-value-Run ID"]']))
    ui.check(res)
    assert res["title"] == f"Run {run1} - MLflow"


def test_run_metric_charts(ui, seeded):
    """The run's Model metrics tab (one chart per metric) and the experiment's
    chart view, where each chart has one series per run."""
    exp_id, run1 = seeded["exp_id"], seeded["run1"]
    metrics_tab, chart_view = ui.run(
        page("run-model-metrics", ui.url(f"/experiments/{exp_id}/runs/{run1}/model-metrics"),
             texts=["Model metrics", "(2)", "accuracy", "rmse", "ref-run-1 (rmse)", "ref-run-1 (accuracy)"]),
        page("runs-chart-view", ui.url(f"/experiments/{exp_id}/runs?compareRunsMode=CHART"),
             texts=["2 matching runs", "ref-run-1 (rmse)", "ref-run-2 (rmse)", "ref-run-1 (accuracy)"]),
        parallel=2,
    )
    for res in (metrics_tab, chart_view):
        ui.check(res)
        bulk = [r for r in res["requests"] if "get-history-bulk-interval" in r["url"]]
        assert bulk, "the charts made no get-history-bulk-interval call"


def test_run_artifacts(ui, seeded):
    exp_id, run1 = seeded["exp_id"], seeded["run1"]
    base = f"/experiments/{exp_id}/runs/{run1}"
    art = f"mlflow-artifacts:/{exp_id}/{run1}/artifacts"
    tree, text, nested, js, img = ui.run(
        page("run-artifacts", ui.url(f"{base}/artifacts"),
             texts=["images", "notes", "config.json", "Select a file to preview"],
             selectors=["[data-testid=artifact-tree-node]"]),
        page("run-artifact-text", ui.url(f"{base}/artifactPath/notes/readme.txt"),
             texts=["notes/readme.txt", "27B", f"Path: {art}/notes/readme.txt", "hello artifact text", "deep"],
             steps=[
                 # the download button of the preview
                 {"click": "[data-component-id='codegen_mlflow_app_src_experiment-tracking_components_artifactview.tsx_337']",
                  "expect_response": "get-artifact?"},
             ]),
        page("run-artifact-nested", ui.url(f"{base}/artifactPath/notes/deep/nested.txt"),
             texts=["notes/deep/nested.txt", "nested.txt", "readme.txt", "deeply nested artifact"]),
        page("run-artifact-json", ui.url(f"{base}/artifactPath/config.json"),
             texts=["config.json", '"a": 1']),
        page("run-artifact-image", ui.url(f"{base}/artifactPath/images/sample.png"),
             texts=["images/sample.png", "sample.png", f"Path: {art}/images/sample.png"],
             selectors=["img[src^='blob:']"],
             steps=[{"eval": "[...document.querySelectorAll(\"img[src^='blob:']\")].map(i => i.naturalWidth)"}]),
        parallel=2,
    )
    for res in (tree, text, nested, js, img):
        ui.check(res)
    (dl,) = responses_of(text, "get-artifact?")
    # a download: the body is not readable from the page, the header says it all
    assert dl["status"] == 200, dl
    assert dl["headers"].get("content-disposition", "").startswith("attachment"), dl
    widths = step_value(img, "eval")["value"]
    assert widths and all(w == 32 for w in widths), widths


def test_run_page_writes(ui, seeded):
    """Rename a run and add a tag from the run page; the store has both."""
    client = seeded["client"]
    w = seeded["writes"]
    route = ui.url(f"/experiments/{w['exp_id']}/runs/{w['run']}")
    rename, tag = ui.run(
        page("run-rename", route, texts=["ui-edit-run", "Parameters (1)"], steps=[
            {"click": "[data-testid=overflow-menu-trigger]"},
            {"click": "[data-testid=overflow-rename-button]"},
            {"fill": "[data-testid=rename-modal-input]", "value": "ui-renamed-run"},
            {"click": "[role=dialog] button:has-text('Save')", "expect_response": "runs/update"},
            {"wait_text": "ui-renamed-run"},
        ]),
        page("run-add-tag", route, texts=["Parameters (1)"], steps=[
            {"click": "[data-component-id^='mlflow.run_details.overview.tags.']"},
            {"click": "[role=dialog] input >> nth=0"},
            {"type": "[role=dialog] input >> nth=0", "value": "ui_tag"},
            {"press": "Enter"},
            {"fill": "[role=dialog] input[placeholder='Type a value']", "value": "from-ui"},
            {"click": "[role=dialog] button[aria-label='Add tag']"},
            {"click": "[role=dialog] button:has-text('Save tags')", "expect_response": "runs/set-tag"},
            {"wait_text": "from-ui"},
        ]),
        parallel=2,
    )
    ui.check(rename, texts=["ui-renamed-run"])
    ui.check(tag, texts=["ui_tag", "from-ui"])
    run = client.get_run(w["run"])
    assert run.info.run_name == "ui-renamed-run"
    assert run.data.tags["mlflow.runName"] == "ui-renamed-run"
    assert run.data.tags["ui_tag"] == "from-ui"


def test_upload_artifact_as_the_ui_does(ui, seeded, tmp_path):
    """The bundle's only upload-artifact call (UPLOAD_ARTIFACT_API: the prompt
    lab writing an evaluation table back) needs an LLM gateway endpoint, which
    no test can offer offline; so the browser page sends the request the way
    the bundle's fetchEndpoint does (relative URL, POST, JSON body,
    ``Content-Type: application/json; charset=utf-8``), and the client then
    downloads the artifact."""
    client = seeded["client"]
    w = seeded["writes"]
    table = {"columns": ["inputs", "outputs"], "data": [["q", "a"]]}
    call = ("fetch('ajax-api/2.0/mlflow/upload-artifact?run_uuid=%s&path=eval_results_table.json',"
            " {method: 'POST', headers: {'Content-Type': 'application/json; charset=utf-8'},"
            " body: JSON.stringify(%s)}).then(async r => [r.status, await r.text()])"
            % (w["run"], json.dumps(table)))
    route = ui.url(f"/experiments/{w['exp_id']}/runs/{w['run']}/artifacts")
    upload, view = ui.run(
        page("upload-artifact", route, texts=["Artifacts"], steps=[{"eval": call}]),
        page("uploaded-artifact", route, texts=["eval_results_table.json"]),
    )
    ui.check(upload)
    ui.check(view)
    status, body = step_value(upload, "eval")["value"]
    assert status == 200, body
    path = client.download_artifacts(w["run"], "eval_results_table.json", str(tmp_path))
    assert json.loads(Path(path).read_text()) == table


# ---------------------------------------------------------------------------
# Compare runs
# ---------------------------------------------------------------------------


def test_compare_runs(ui, seeded):
    exp_id, run1, run2 = seeded["exp_id"], seeded["run1"], seeded["run2"]
    runs = json.dumps([run1, run2]).replace(" ", "")
    compare, metric = ui.run(
        page("compare-runs", ui.url(f'/compare-runs?runs={runs}&experiments=["{exp_id}"]'),
             texts=["Comparing 2 Runs from 1 Experiment", "Parallel Coordinates Plot", "Scatter Plot",
                    run1, run2, "ref-run-1", "ref-run-2", "Parameters", "alpha", "0.9", "rmse"]),
        page("metric-page", ui.url(
            f'/metric/rmse?runs={runs}&metric="rmse"&experiments=["{exp_id}"]&plot_metric_keys=["rmse"]'
            '&plot_layout={}&x_axis=step&y_axis_scale=linear&line_smoothness=1&show_point=false'
            '&deselected_curves=[]&last_linear_y_axis_range=[]'),
             texts=["Comparing 2 Runs from 1 Experiment", "ref-run-1 (rmse)", "ref-run-2 (rmse)",
                    "0.1 (step=9)", "0.2 (step=9)"]),
        parallel=2,
    )
    # The reference's compare page logs its own 'includes' TypeError (ui.md 7).
    ui.check(compare, console_allow=[COMPARE_INCLUDES_ERROR])
    ui.check(metric)
    # the parallel coordinates plot is drawn (plotly's parcoords layer)
    assert "alpha" in compare["text"] and "l1_ratio" in compare["text"]


# ---------------------------------------------------------------------------
# Model registry
# ---------------------------------------------------------------------------


def test_registered_models_list(ui, seeded):
    (res,) = ui.run(page("models", ui.url("/models"), texts=[MODEL, "Version 1", AT_ALIAS],
                         selectors=["[data-testid=model-list-table]"]))
    ui.check(res)
    assert res["title"] == "Models - MLflow"


def test_model_page(ui, seeded):
    (res,) = ui.run(page("model", ui.url(f"/models/{MODEL}"),
                         texts=[MODEL, "Versions", "Version 1", AT_ALIAS]))
    ui.check(res)
    assert res["title"] == f"Model: {MODEL} - MLflow"


def test_model_version_page(ui, seeded):
    """The version page with its alias and stage; then an alias added and a
    stage transition made from the UI, both read back with the client."""
    client = seeded["client"]
    route = ui.url(f"/models/{MODEL}/versions/1")
    view, alias, stage = ui.run(
        page("model-version", route,
             texts=["Version 1", "Source Run", "ref-run-1", "Source Model", "model", AT_ALIAS,
                    "Stage (deprecated)", "None", "Schema"],
             selectors=["[data-testid=source-model-link]"]),
        page("model-version-set-alias", route, texts=[AT_ALIAS], steps=[
            {"click": "[data-component-id='codegen_mlflow_app_src_model-registry_components_aliases_modelversionviewaliaseditor.tsx_37']"},
            {"click": "[role=dialog] input"},
            {"type": "[role=dialog] input", "value": "ui-alias"},
            {"press": "Enter"},
            {"click": "[data-component-id='mlflow.edit-aliases-modal.save-button']",
             "expect_response": "registered-models/alias"},
            {"wait_text": "@\u00a0ui-alias"},
        ]),
        page("model-version-stage", route, init_script=LEGACY_REGISTRY_UI, texts=["Source Run", "None"], steps=[
            {"click_text": "None", "exact": True},
            {"click_text": "Staging"},
            {"click": "[data-component-id='mlflow.model_registry.stage_transition_modal_v2.footer.ok']",
             "expect_response": "transition-stage"},
            {"wait_text": "Staging"},
        ]),
    )
    ui.check(view)
    assert view["title"] == f"{MODEL} v1 - MLflow"
    ui.check(alias, texts=[AT_ALIAS, "@\u00a0ui-alias"])
    ui.check(stage, texts=["Staging"])
    for res, needle in ((alias, "registered-models/alias"), (stage, "transition-stage")):
        (resp,) = responses_of(res, needle)
        assert resp["status"] == 200, resp
    mv = client.get_model_version_by_alias(MODEL, "ui-alias")
    assert mv.version == "1"
    assert client.get_model_version_by_alias(MODEL, ALIAS).version == "1"
    assert client.get_model_version(MODEL, "1").current_stage == "Staging"


# ---------------------------------------------------------------------------
# Logged models (MLflow 3)
# ---------------------------------------------------------------------------


def test_logged_models_tab(ui, seeded):
    (res,) = ui.run(page("logged-models", ui.url(f"/experiments/{seeded['exp_id']}/models"),
                         texts=["model", "Ready", "ref-run-1", MODEL, "v1"]))
    ui.check(res)
    assert res["title"] == f"Logged Models - Experiment {seeded['exp_id']} - MLflow"


def test_logged_model_page(ui, seeded):
    exp_id, m = seeded["exp_id"], seeded["model_id"]
    overview, artifacts = ui.run(
        page("logged-model", ui.url(f"/experiments/{exp_id}/models/{m}"),
             texts=["Metrics (2)", "Parameters (2)", "Model ID", m, "Source run", "ref-run-1",
                    "Model versions", MODEL, "v1"]),
        page("logged-model-artifacts", ui.url(f"/experiments/{exp_id}/models/{m}/artifacts"),
             texts=["MLmodel", "conda.yaml", "python_env.yaml", "python_model.pkl", "requirements.txt"],
             steps=[{"click_text": "MLmodel", "exact": True, "expect_response": "artifact_file_path=MLmodel"},
                    {"wait_text": "python_function:"}]),
        parallel=2,
    )
    ui.check(overview)
    assert overview["title"] == f"Model {m} - MLflow"
    ui.check(artifacts, texts=["flavors:", "python_function:",
                               f"Path: mlflow-artifacts:/{exp_id}/models/{m}/artifacts/MLmodel"])


# ---------------------------------------------------------------------------
# The runs table of 10,000 runs (last: they are logged in the background)
# ---------------------------------------------------------------------------


def test_runs_table_10k(ui, seeded):
    """10,000 runs: the first page, column selection, sorting by a metric,
    paging with "Load more" and a filter typed in the search box."""
    bulk = seeded["bulk_future"].result(timeout=900)
    print(f"[ui seed {TARGET}] {BULK_RUNS} runs logged in {bulk['seconds']:.1f}s", file=sys.stderr)
    n = BULK_RUNS
    newest = bulk_name(n - 1)
    ranked = [bulk_name(i) for i in sorted(range(n), key=bulk_score, reverse=True)]
    best, second = ranked[0], ranked[1]
    matching = [i for i in range(n) if bulk_score(i) >= (BULK_RUNS - 10) / BULK_RUNS]
    cs = "[data-component-id='mlflow.experiment_page.runs_table.column_selector']"
    search = "input[placeholder*='metrics.rmse']"
    (res,) = ui.run(page(
        "runs-table-10k", ui.url(f"/experiments/{bulk['exp_id']}/runs"), init_script=CLOSE_ASSISTANT,
        texts=[newest, "100 matching runs", "Load more"],
        steps=[
            {"eval": FIRST_ROW_NAME},
            # columns: show metric score and param idx, hide Dataset and Source
            {"click": "[data-testid=column-selection-dropdown]:has-text('Columns')"},
            {"click": f"{cs} :text-is('score')"},
            {"click": f"{cs} :text-is('idx')"},
            {"click": f"{cs} :text-is('Dataset')"},
            {"click": f"{cs} :text-is('Source')"},
            {"press": "Escape"},
            {"sleep": 800},
            {"eval": HEADER_NAMES},
            {"screenshot": "columns"},
            # sort by the metric (descending is the default direction)
            {"click": "[data-testid=sort-select-dropdown]"},
            {"click": "[data-testid='sort-select-score']", "expect_response": "runs/search"},
            {"wait_text": "Sort: score"},
            {"sleep": 800},
            {"eval": FIRST_ROW_NAME},
            {"screenshot": "sorted"},
            # page 2
            {"click_text": "Load more", "expect_response": "runs/search"},
            {"wait_text": "200 matching runs"},
            {"screenshot": "load-more"},
            # a filter typed in the search box
            {"click": search},
            {"type": search, "value": BULK_FILTER, "delay_ms": 10},
            {"press": "Enter", "expect_response": "runs/search"},
            {"wait_text": f"{len(matching)} matching runs"},
            {"sleep": 800},
            {"eval": FIRST_ROW_NAME},
            {"snapshot": "filtered"},
        ]))
    ui.check(res)
    evals = [s for s in res["steps"] if "eval" in s["step"]]
    assert evals[0]["value"] == newest  # ordered by start time, newest first
    headers = evals[1]["value"]
    assert "score" in headers and "idx" in headers, headers
    assert "Dataset" not in headers and "Source" not in headers, headers
    assert evals[2]["value"] == best, f"sorted by score: first row {evals[2]['value']}, want {best}"
    assert evals[3]["value"] == best
    sort_req, more_req, filter_req = [s["response"] for s in res["steps"] if s.get("response")]
    for r in (sort_req, more_req, filter_req):
        assert r["status"] == 200, r
    body = json.loads(sort_req["request_body"])
    assert body["order_by"] == ["metrics.`score` DESC"] and body["max_results"] == 100, body
    assert [r["info"]["run_name"] for r in json.loads(sort_req["body"])["runs"][:2]] == [best, second]
    more = json.loads(more_req["request_body"])
    assert more.get("page_token") and more["order_by"] == body["order_by"], more
    page2 = [r["info"]["run_name"] for r in json.loads(more_req["body"])["runs"]]
    assert page2 == ranked[100:200], page2[:5]
    filt = json.loads(filter_req["request_body"])
    assert filt["filter"] == BULK_FILTER, filt
    filtered_text = step_value(res, "snapshot", "filtered")["value"]
    for i in matching:
        assert bulk_name(i) in filtered_text, bulk_name(i)
    assert "score" in res["final_url"] and "searchFilter=metrics.score" in res["final_url"]


# ---------------------------------------------------------------------------
# --static-prefix
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prefixed(seeded, server):
    """A second server on the same store, with every route under PREFIX."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    artifacts = ["--artifacts-destination", str(server.artifacts_dir)]
    env = dict(os.environ)
    if TARGET == "mlflow":
        cmd = [str(mlflow_bin()), "server", "--workers", "1"]
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        env.pop("VIRTUAL_ENV", None)
        env.pop("PYTHONPATH", None)
    else:
        cmd = [str(ferroflow_bin()), "server"]
    cmd += ["--backend-store-uri", server.db_uri, "--host", "127.0.0.1", "--port", str(port),
            "--static-prefix", PREFIX, *artifacts]
    log_path = server.workdir / "prefixed-server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=str(server.workdir),
                                env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"prefixed server exited {proc.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}")
            try:
                if requests.get(f"{url}{PREFIX}/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prefixed server not healthy:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.25)
        yield url
    finally:
        _stop(proc)


def test_static_prefix(driver, seeded, prefixed, server, tmp_path_factory):
    ui = Browser(driver, prefixed + PREFIX, SCREENS / f"{TARGET}-{server.backend}",
                 tmp_path_factory.mktemp("ui-prefix"))
    exp_id, run1 = seeded["exp_id"], seeded["run1"]
    models, run, text = ui.run(
        # (the aliases shown depend on test_model_version_page, which adds one)
        page("prefix-models", ui.url("/models"), texts=[MODEL, "Version 1", "Aliased versions", "@\u00a0"]),
        page("prefix-run", ui.url(f"/experiments/{exp_id}/runs/{run1}"),
             texts=["ref-run-1", "Parameters (2)", "alpha", "0.5", "Metrics (2)", "rmse"]),
        page("prefix-run-artifact", ui.url(f"/experiments/{exp_id}/runs/{run1}/artifactPath/notes/readme.txt"),
             texts=["notes/readme.txt", "hello artifact text"]),
        parallel=2,
    )
    for res in (models, run, text):
        ui.check(res)
        outside = [f"{r['method']} {r['url']}" for r in res["requests"]
                   if ui.same_origin(r["url"]) and not urlsplit(r["url"]).path.startswith(PREFIX + "/")]
        assert not outside, f"{res['name']}: requests outside {PREFIX}/: {outside}"
        api = [r for r in res["requests"] if "/ajax-api/" in r["url"] or "/graphql" in r["url"]]
        assert api, f"{res['name']} made no API call"


# ---------------------------------------------------------------------------
# Behind basic auth: the browser's login (HTTP credentials) on a second
# server with --app-name basic-auth over the same store.
# ---------------------------------------------------------------------------

AUTH_ADMIN_PASSWORD = "ui-admin-password"
AUTH_USER = ("reader", "ui-reader-password")


@pytest.fixture(scope="module")
def auth_server(seeded, server, tmp_path_factory):
    work = tmp_path_factory.mktemp("ui-auth")
    ini = work / "basic_auth.ini"
    ini.write_text("[mlflow]\ndefault_permission = READ\n"
                   f"database_uri = sqlite:///{work / 'basic_auth.db'}\nadmin_username = admin\n")
    srv = start_server(server.backend, work, server.db_uri,
                       artifact_args=["--artifacts-destination", str(server.artifacts_dir)],
                       extra_args=["--app-name", "basic-auth"],
                       extra_env={"MLFLOW_AUTH_CONFIG_PATH": str(ini),
                                  "MLFLOW_AUTH_ADMIN_PASSWORD": AUTH_ADMIN_PASSWORD,
                                  "MLFLOW_FLASK_SERVER_SECRET_KEY": "ui-test"},
                       log_name="auth-server.log")
    try:
        r = requests.post(f"{srv.url}/api/2.0/mlflow/users/create", timeout=30,
                          auth=("admin", AUTH_ADMIN_PASSWORD),
                          json={"username": AUTH_USER[0], "password": AUTH_USER[1]})
        assert r.status_code == 200, r.text
        yield srv
    finally:
        _stop(srv.proc)


def test_ui_behind_basic_auth(driver, seeded, auth_server, server, tmp_path_factory):
    """A user (READ by default) sees the run page through the browser's login;
    without credentials the UI is not served at all."""
    ui = Browser(driver, auth_server.url, SCREENS / f"{TARGET}-{server.backend}",
                 tmp_path_factory.mktemp("ui-auth-pages"))
    exp_id, run1 = seeded["exp_id"], seeded["run1"]
    login = {"username": AUTH_USER[0], "password": AUTH_USER[1]}
    run, models, anonymous = ui.run(
        page("auth-run", ui.url(f"/experiments/{exp_id}/runs/{run1}"),
             texts=["ref-run-1", "Parameters (2)", "alpha", "0.5", "Metrics (2)", "rmse"],
             http_credentials=login),
        page("auth-models", ui.url("/models"), texts=[MODEL], http_credentials=login),
        page("auth-anonymous", ui.url("/experiments"), texts=["You are not authenticated"],
             settle_ms=0),
        parallel=2,
    )
    ui.check(run)
    ui.check(models)
    assert [r["status"] for r in anonymous["bad_responses"]
            if ui.same_origin(r["url"])][:1] == [401], anonymous["bad_responses"]
