"""Model registry and MLflow 3 logged models with the official client.

Runs with the 3.17.2 client (mlflow3 venv) and the 2.22 client (mlflow2 venv).
Tests that need MLflow 3 client APIs (logged models, ``name=`` in ``log_model``,
``models:/<model_id>`` URIs) are skipped under the 2.x client.  Every assertion
must hold against the real ``mlflow server`` 3.17.2 (COMPAT_TARGET=mlflow) as
well as against ferroflow.

Each backend runs with artifacts proxied to a local directory, and PostgreSQL
once more with artifacts proxied to S3 (``postgres+s3``: an s3s-fs server,
``--artifacts-destination s3://…``, the variables a MinIO user sets).

pyfunc ``log_model`` is the slow part: each backend logs three small models in
total (two in the 3.x module fixture, one in the runs:/ flow), with explicit
``pip_requirements`` so that no requirement inference (a subprocess) runs and
nothing needs the network.  ``mlflow.pyfunc.load_model`` loads into the current
process and never creates an environment.
"""

from __future__ import annotations

import time
import uuid
import warnings
from pathlib import Path

import pandas as pd
import pytest
import yaml

import mlflow
import mlflow.pyfunc
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from conftest import BACKENDS, server_variant

MLFLOW_MAJOR = int(mlflow.__version__.split(".")[0])

needs_mlflow3 = pytest.mark.skipif(
    MLFLOW_MAJOR < 3, reason="MLflow 3 client API (logged models / models:/<model_id>)"
)

# No requirement inference (it runs a subprocess and may consult the network).
PIP_REQS = [f"mlflow=={mlflow.__version__}"]

INPUT = pd.DataFrame({"x": [1.0, 2.5, -3.0], "y": [0.0, 10.0, 7.0]})


# SQLite + local disk, PostgreSQL + local disk, PostgreSQL + S3.
VARIANTS = BACKENDS + (["postgres+s3"] if "postgres" in BACKENDS else [])


@pytest.fixture(scope="module", params=VARIANTS)
def server(request):
    yield from server_variant(request, request.param)


class Multiplier(mlflow.pyfunc.PythonModel):
    """A tiny pyfunc model: multiplies every input column by ``factor``."""

    def __init__(self, factor):
        self.factor = factor

    def predict(self, context, model_input, params=None):
        return model_input * self.factor


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def error_code(excinfo) -> str:
    return excinfo.value.error_code


def assert_prediction(model, factor):
    out = model.predict(INPUT)
    out = pd.DataFrame(out)
    assert list(out.columns) == ["x", "y"]
    assert out["x"].tolist() == [v * factor for v in INPUT["x"]]
    assert out["y"].tolist() == [v * factor for v in INPUT["y"]]


@pytest.fixture(autouse=True)
def _quiet_deprecations():
    # Stage APIs and friends emit FutureWarning/DeprecationWarning on the 3.x client.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def make_run(client: MlflowClient, exp_id: str) -> str:
    run = client.create_run(exp_id)
    client.set_terminated(run.info.run_id)
    return run.info.run_id


@pytest.fixture(scope="module")
def registry_exp(module_client):
    """An experiment plus two (artifact-less) runs used as model-version sources."""
    client: MlflowClient = module_client
    exp_id = client.create_experiment(unique("compat-registry"))
    return dict(exp_id=exp_id, run_a=make_run(client, exp_id), run_b=make_run(client, exp_id))


def create_versions(client, name, run_id, n, **kwargs):
    return [
        client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id, **kwargs)
        for _ in range(n)
    ]


# ---------------------------------------------------------------------------
# 3.x client: pyfunc log_model -> register -> alias -> load
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def logged(module_client, server):
    if MLFLOW_MAJOR < 3:
        pytest.skip("MLflow 3 client API")
    client: MlflowClient = module_client
    exp = mlflow.set_experiment(unique("compat-logged-models"))
    exp_id = exp.experiment_id
    with mlflow.start_run() as run:
        doubler = mlflow.pyfunc.log_model(
            name="doubler",
            python_model=Multiplier(2),
            pip_requirements=PIP_REQS,
            params={"factor": "2"},
            tags={"owner": "compat"},
        )
    time.sleep(0.05)  # distinct creation_time for ordering checks
    with mlflow.start_run() as run2:
        tripler = mlflow.pyfunc.log_model(
            name="tripler",
            python_model=Multiplier(3),
            pip_requirements=PIP_REQS,
            params={"factor": "3"},
        )
    reg_name = unique("Doubler")
    mv = mlflow.register_model(doubler.model_uri, reg_name)
    client.set_registered_model_alias(reg_name, "champion", mv.version)
    return dict(
        exp_id=exp_id,
        run_id=run.info.run_id,
        run2_id=run2.info.run_id,
        doubler=doubler,
        tripler=tripler,
        reg_name=reg_name,
        mv=mv,
    )


@needs_mlflow3
def test_model_info_and_registered_version(logged, client):
    info = logged["doubler"]
    assert info.model_id and info.model_id.startswith("m-")
    assert info.model_uri == f"models:/{info.model_id}"
    assert info.run_id == logged["run_id"]
    mv = logged["mv"]
    assert mv.name == logged["reg_name"]
    assert mv.version == "1" or mv.version == 1
    got = client.get_model_version(logged["reg_name"], "1")
    assert got.run_id == logged["run_id"]
    # (the 3.17.2 server does not echo model_id in ModelVersion responses, so it is
    # not asserted here; the source carries the model id)
    assert got.source == info.model_uri
    assert got.status == "READY"
    assert got.aliases == ["champion"]
    # register_model tags the logged model with the version that points at it
    lm = client.get_logged_model(info.model_id)
    tag = lm.tags.get("mlflow.modelVersions")
    assert tag is not None, lm.tags
    assert logged["reg_name"] in tag


@needs_mlflow3
def test_load_by_alias_predicts(logged, client):
    model = mlflow.pyfunc.load_model(f"models:/{logged['reg_name']}@champion")
    assert_prediction(model, 2)
    assert model.metadata.model_id == logged["doubler"].model_id


@needs_mlflow3
def test_load_by_model_id_and_version(logged, client):
    assert_prediction(mlflow.pyfunc.load_model(logged["doubler"].model_uri), 2)
    assert_prediction(mlflow.pyfunc.load_model(logged["tripler"].model_uri), 3)
    assert_prediction(mlflow.pyfunc.load_model(f"models:/{logged['reg_name']}/1"), 2)


@needs_mlflow3
def test_get_logged_model(logged, client):
    info = logged["doubler"]
    lm = client.get_logged_model(info.model_id)
    assert lm.model_id == info.model_id
    assert lm.name == "doubler"
    assert lm.experiment_id == logged["exp_id"]
    assert lm.source_run_id == logged["run_id"]
    assert str(lm.status) in ("READY", "LoggedModelStatus.READY")
    assert lm.params == {"factor": "2"}
    assert lm.tags.get("owner") == "compat"
    assert lm.artifact_location.endswith(f"/models/{info.model_id}/artifacts")
    assert lm.creation_timestamp > 0
    assert lm.last_updated_timestamp >= lm.creation_timestamp

    with pytest.raises(MlflowException) as e:
        client.get_logged_model("m-" + "0" * 32)
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


@needs_mlflow3
def test_search_logged_models(logged, client):
    exp_id = logged["exp_id"]
    ids = {"doubler": logged["doubler"].model_id, "tripler": logged["tripler"].model_id}

    res = client.search_logged_models([exp_id], filter_string="name = 'doubler'")
    assert [m.model_id for m in res] == [ids["doubler"]]

    res = client.search_logged_models([exp_id], filter_string="name LIKE '%ler'")
    assert sorted(m.model_id for m in res) == sorted(ids.values())

    res = client.search_logged_models(
        [exp_id], order_by=[{"field_name": "name", "ascending": False}]
    )
    assert [m.name for m in res] == ["tripler", "doubler"]
    res = client.search_logged_models(
        [exp_id], order_by=[{"field_name": "creation_time", "ascending": True}]
    )
    assert [m.name for m in res] == ["doubler", "tripler"]

    res = client.search_logged_models([exp_id], filter_string="params.factor = '3'")
    assert [m.model_id for m in res] == [ids["tripler"]]
    res = client.search_logged_models(
        [exp_id], filter_string=f"source_run_id = '{logged['run_id']}'"
    )
    assert [m.model_id for m in res] == [ids["doubler"]]

    # pagination
    page1 = client.search_logged_models(
        [exp_id], max_results=1, order_by=[{"field_name": "name", "ascending": True}]
    )
    assert [m.name for m in page1] == ["doubler"]
    assert page1.token
    page2 = client.search_logged_models(
        [exp_id], max_results=1, order_by=[{"field_name": "name", "ascending": True}],
        page_token=page1.token,
    )
    assert [m.name for m in page2] == ["tripler"]

    # the fluent API
    fl = mlflow.search_logged_models(
        experiment_ids=[exp_id], filter_string="name = 'tripler'", output_format="list"
    )
    assert [m.model_id for m in fl] == [ids["tripler"]]
    df = mlflow.search_logged_models(
        experiment_ids=[exp_id], order_by=[{"field_name": "name", "ascending": True}]
    )
    assert list(df["name"]) == ["doubler", "tripler"]


@needs_mlflow3
def test_download_logged_model_artifacts(logged, client, tmp_path):
    info = logged["doubler"]
    lm = client.get_logged_model(info.model_id)
    for sub, uri in (("by-location", lm.artifact_location), ("by-uri", info.model_uri)):
        dst = tmp_path / sub
        dst.mkdir()
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dst)))
        files = {p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file()}
        for required in ("MLmodel", "python_model.pkl", "requirements.txt", "conda.yaml",
                         "python_env.yaml"):
            assert required in files, (sub, files)
        mlmodel = yaml.safe_load((local / "MLmodel").read_text())
        assert mlmodel["model_id"] == info.model_id
        assert "python_function" in mlmodel["flavors"]
        assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.pyfunc.model"
        parsed = mlflow.models.Model.load(str(local / "MLmodel"))
        assert parsed.model_id == info.model_id
        assert parsed.run_id == logged["run_id"]
        assert (local / "requirements.txt").read_text().split() == PIP_REQS
        # and the downloaded copy is itself loadable
        assert_prediction(mlflow.pyfunc.load_model(str(local)), 2)

    # listing the logged model's artifacts through the client
    # (paths come back relative to the parent of the given URI, as the client computes them)
    listed = {f.path for f in mlflow.artifacts.list_artifacts(artifact_uri=lm.artifact_location)}
    assert {"artifacts/MLmodel", "artifacts/python_model.pkl"} <= listed, listed
    listed = {f.path for f in client.list_artifacts(lm.source_run_id)}
    assert "artifacts" not in listed  # logged-model artifacts do not live in the run


@needs_mlflow3
def test_logged_model_files_are_in_the_artifact_store(logged, server):
    # Proxied artifacts land under <destination>/<experiment>/models/<model_id>/
    # artifacts/: a local directory, or object keys in the S3 bucket.
    model_id = logged["doubler"].model_id
    stored = server.artifacts_dir / logged["exp_id"] / "models" / model_id / "artifacts"
    files = {p.relative_to(stored).as_posix() for p in stored.rglob("*") if p.is_file()}
    assert {"MLmodel", "python_model.pkl", "requirements.txt"} <= files, (server.storage, files)
    assert f"model_id: {model_id}" in (stored / "MLmodel").read_text()


@needs_mlflow3
def test_logged_model_download_uri(logged, client):
    lm = client.get_logged_model(logged["doubler"].model_id)
    uri = client.get_model_version_download_uri(logged["reg_name"], "1")
    assert uri == lm.artifact_location


# ---------------------------------------------------------------------------
# runs:/ flow (the 2.x way; also runs under the 3.x client)
# ---------------------------------------------------------------------------


def test_runs_uri_log_register_load(client, server):
    name = unique("Name2")
    mlflow.set_experiment(unique("compat-runs-model"))
    with mlflow.start_run() as run:
        if MLFLOW_MAJOR < 3:
            mlflow.pyfunc.log_model(artifact_path="model", python_model=Multiplier(2),
                                    pip_requirements=PIP_REQS)
        else:
            info = mlflow.pyfunc.log_model(name="model", python_model=Multiplier(2),
                                           pip_requirements=PIP_REQS)
    run_id = run.info.run_id
    mv = mlflow.register_model(f"runs:/{run_id}/model", name)
    assert str(mv.version) == "1"
    got = client.get_model_version(name, "1")
    assert got.run_id == run_id
    assert got.status == "READY"
    model = mlflow.pyfunc.load_model(f"models:/{name}/1")
    assert_prediction(model, 2)
    # the same model through the run URI
    assert_prediction(mlflow.pyfunc.load_model(f"runs:/{run_id}/model"), 2)
    # the download URI points to a location holding the MLmodel
    uri = client.get_model_version_download_uri(name, "1")
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    assert (local / "MLmodel").is_file()
    assert yaml.safe_load((local / "MLmodel").read_text())["run_id"] == run_id
    # The run's model files are in the artifact store (disk or bucket). The
    # 3.x client keeps a logged model's files under models/<id>, the 2.x
    # client under the run.
    exp_id = run.info.experiment_id
    if MLFLOW_MAJOR < 3:
        stored = server.artifacts_dir / exp_id / run_id / "artifacts" / "model"
    else:
        stored = server.artifacts_dir / exp_id / "models" / info.model_id / "artifacts"
    assert (stored / "MLmodel").is_file(), (server.storage, stored)
    assert (stored / "python_model.pkl").read_bytes() == (local / "python_model.pkl").read_bytes()


# ---------------------------------------------------------------------------
# Registry operations with the client
# ---------------------------------------------------------------------------


def test_registered_model_crud(client):
    name = unique("CrudModel")
    rm = client.create_registered_model(name, tags={"team": "vision"}, description="first")
    assert rm.name == name
    assert rm.description == "first"
    assert rm.tags == {"team": "vision"}
    assert rm.creation_timestamp > 0

    got = client.get_registered_model(name)
    assert got.name == name
    assert got.description == "first"
    assert got.tags == {"team": "vision"}
    assert got.latest_versions == []
    assert got.aliases == {}

    with pytest.raises(MlflowException) as e:
        client.create_registered_model(name)
    assert error_code(e) == "RESOURCE_ALREADY_EXISTS"

    upd = client.update_registered_model(name, description="second")
    assert upd.description == "second"
    assert client.get_registered_model(name).description == "second"
    assert client.get_registered_model(name).last_updated_timestamp >= got.creation_timestamp

    new_name = unique("CrudRenamed")
    client.rename_registered_model(name, new_name)
    got = client.get_registered_model(new_name)
    assert got.description == "second"
    assert got.tags == {"team": "vision"}
    with pytest.raises(MlflowException) as e:
        client.get_registered_model(name)
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"

    client.delete_registered_model(new_name)
    with pytest.raises(MlflowException) as e:
        client.get_registered_model(new_name)
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.delete_registered_model(new_name)
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.update_registered_model(new_name, description="x")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_rename_carries_versions(client, registry_exp):
    name = unique("RenameSrc")
    client.create_registered_model(name)
    create_versions(client, name, registry_exp["run_a"], 2)
    client.set_registered_model_alias(name, "prod", "2")
    other = unique("RenameTaken")
    client.create_registered_model(other)
    with pytest.raises(MlflowException) as e:
        client.rename_registered_model(name, other)
    assert error_code(e) == "RESOURCE_ALREADY_EXISTS"

    new_name = unique("RenameDst")
    client.rename_registered_model(name, new_name)
    mvs = client.search_model_versions(f"name = '{new_name}'")
    assert sorted(int(m.version) for m in mvs) == [1, 2]
    assert all(m.name == new_name for m in mvs)
    assert client.get_model_version(new_name, "2").version in ("2", 2)
    assert client.get_model_version_by_alias(new_name, "prod").version in ("2", 2)
    assert client.get_registered_model(new_name).aliases == {"prod": "2"}
    assert client.search_model_versions(f"name = '{name}'") == []


def test_model_version_crud_and_numbers_never_reused(client, registry_exp):
    name = unique("VersionModel")
    run_a = registry_exp["run_a"]
    client.create_registered_model(name)
    mvs = create_versions(client, name, run_a, 3, description="desc", tags={"k": "v"})
    assert [str(m.version) for m in mvs] == ["1", "2", "3"]
    mv1 = client.get_model_version(name, "1")
    assert mv1.name == name
    assert mv1.run_id == run_a
    assert mv1.source == f"runs:/{run_a}/model"
    assert mv1.description == "desc"
    assert mv1.tags == {"k": "v"}
    assert mv1.current_stage == "None"
    assert mv1.status == "READY"
    assert mv1.creation_timestamp > 0

    upd = client.update_model_version(name, "1", description="changed")
    assert upd.description == "changed"
    assert client.get_model_version(name, "1").description == "changed"

    rm = client.get_registered_model(name)
    assert [str(v.version) for v in rm.latest_versions] == ["3"]

    # delete the highest version: the next one is 4, not 3
    client.delete_model_version(name, "3")
    with pytest.raises(MlflowException) as e:
        client.get_model_version(name, "3")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.delete_model_version(name, "3")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.update_model_version(name, "3", description="x")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    mv4 = client.create_model_version(name, f"runs:/{run_a}/model", run_id=run_a)
    assert str(mv4.version) == "4"

    # delete a middle one and the last one again
    client.delete_model_version(name, "2")
    client.delete_model_version(name, "4")
    mv5 = client.create_model_version(name, f"runs:/{run_a}/model", run_id=run_a)
    assert str(mv5.version) == "5"
    remaining = sorted(int(m.version) for m in client.search_model_versions(f"name = '{name}'"))
    assert remaining == [1, 5]

    # versions of a model that does not exist
    with pytest.raises(MlflowException) as e:
        client.create_model_version(unique("NoSuchModel"), f"runs:/{run_a}/model", run_id=run_a)
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"

    # deleting the registered model takes its versions with it
    client.delete_registered_model(name)
    assert client.search_model_versions(f"name = '{name}'") == []
    with pytest.raises(MlflowException) as e:
        client.get_model_version(name, "1")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_search_registered_models(client):
    prefix = unique("srch").replace("-", "")
    names = [f"{prefix}-{c}" for c in "abcde"]
    for i, n in enumerate(names):
        client.create_registered_model(n, tags={"team": "vision" if i % 2 == 0 else "nlp"})
    other = f"x{prefix}-other"
    client.create_registered_model(other, tags={"team": "vision"})

    res = client.search_registered_models(f"name LIKE '{prefix}-%'", order_by=["name ASC"])
    assert [m.name for m in res] == names
    res = client.search_registered_models(f"name = '{names[2]}'")
    assert [m.name for m in res] == [names[2]]
    res = client.search_registered_models(f"name ILIKE '{prefix.upper()}-%'",
                                          order_by=["name DESC"])
    assert [m.name for m in res] == names[::-1]
    res = client.search_registered_models(
        f"name LIKE '%{prefix}-%' AND tags.team = 'vision'", order_by=["name ASC"]
    )
    assert [m.name for m in res] == [names[0], names[2], names[4], other]

    # paging: max_results + page token, in name DESC order
    seen = []
    pages = 0
    token = None
    while True:
        page = client.search_registered_models(
            f"name LIKE '{prefix}-%'", max_results=2, order_by=["name DESC"], page_token=token
        )
        pages += 1
        assert len(page) <= 2
        seen.extend(m.name for m in page)
        token = page.token
        if not token:
            break
        assert pages < 10
    assert seen == names[::-1]
    assert pages == 3

    # all registered models; the default order is name ASC
    everything = client.search_registered_models(max_results=1000)
    mine = [m.name for m in everything if prefix in m.name]
    assert mine == sorted(names + [other])

    with pytest.raises(MlflowException) as e:
        client.search_registered_models("name = 'a' OR name = 'b'")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.search_registered_models(max_results=1001)
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


def test_search_model_versions(client, registry_exp):
    run_a, run_b = registry_exp["run_a"], registry_exp["run_b"]
    name1 = unique("SmvOne")
    name2 = unique("SmvTwo")
    client.create_registered_model(name1)
    client.create_registered_model(name2)
    create_versions(client, name1, run_a, 2)
    create_versions(client, name1, run_b, 1, tags={"quality": "high"})
    create_versions(client, name2, run_b, 2)

    def key(mvs):
        return sorted((m.name, int(m.version)) for m in mvs)

    assert key(client.search_model_versions(f"name = '{name1}'")) == [
        (name1, 1), (name1, 2), (name1, 3)]
    assert key(client.search_model_versions(f"name = '{name2}'")) == [(name2, 1), (name2, 2)]
    by_run_b = client.search_model_versions(f"run_id = '{run_b}'")
    assert [(n, v) for n, v in key(by_run_b) if n in (name1, name2)] == sorted(
        [(name1, 3), (name2, 1), (name2, 2)])
    assert all(m.run_id == run_b for m in by_run_b)
    both = client.search_model_versions(f"name = '{name1}' AND run_id = '{run_a}'")
    assert key(both) == [(name1, 1), (name1, 2)]
    tagged = client.search_model_versions(f"name = '{name1}' AND tags.quality = 'high'")
    assert key(tagged) == [(name1, 3)]
    desc = client.search_model_versions(f"name = '{name1}'", order_by=["version_number DESC"])
    assert [int(m.version) for m in desc] == [3, 2, 1]
    page = client.search_model_versions(
        f"name = '{name1}'", max_results=2, order_by=["version_number ASC"]
    )
    assert [int(m.version) for m in page] == [1, 2]
    assert page.token
    rest = client.search_model_versions(
        f"name = '{name1}'", max_results=2, order_by=["version_number ASC"],
        page_token=page.token,
    )
    assert [int(m.version) for m in rest] == [3]
    assert not rest.token
    assert client.search_model_versions("name = 'no-such-model-anywhere'") == []


def test_tags(client, registry_exp):
    name = unique("TagModel")
    client.create_registered_model(name)
    create_versions(client, name, registry_exp["run_a"], 1)

    client.set_registered_model_tag(name, "team", "vision")
    client.set_registered_model_tag(name, "env", "prod")
    client.set_registered_model_tag(name, "env", "staging")  # overwrite
    assert client.get_registered_model(name).tags == {"team": "vision", "env": "staging"}
    client.delete_registered_model_tag(name, "team")
    assert client.get_registered_model(name).tags == {"env": "staging"}
    client.delete_registered_model_tag(name, "never-set")  # no-op
    assert client.get_registered_model(name).tags == {"env": "staging"}

    client.set_model_version_tag(name, "1", "validated", "true")
    client.set_model_version_tag(name, "1", "score", "0.9")
    client.set_model_version_tag(name, "1", "score", "0.95")
    assert client.get_model_version(name, "1").tags == {"validated": "true", "score": "0.95"}
    client.delete_model_version_tag(name, "1", "validated")
    assert client.get_model_version(name, "1").tags == {"score": "0.95"}
    client.delete_model_version_tag(name, "1", "never-set")  # no-op
    assert client.get_model_version(name, "1").tags == {"score": "0.95"}

    missing = unique("NoSuchModel")
    with pytest.raises(MlflowException) as e:
        client.set_registered_model_tag(missing, "k", "v")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.delete_registered_model_tag(missing, "k")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.set_model_version_tag(name, "99", "k", "v")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.delete_model_version_tag(name, "99", "k")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_aliases(client, registry_exp):
    name = unique("AliasModel")
    client.create_registered_model(name)
    create_versions(client, name, registry_exp["run_a"], 3)

    client.set_registered_model_alias(name, "champion", "1")
    client.set_registered_model_alias(name, "challenger", "2")
    assert client.get_registered_model(name).aliases == {"champion": "1", "challenger": "2"}
    mv = client.get_model_version_by_alias(name, "champion")
    assert str(mv.version) == "1"
    assert mv.aliases == ["champion"]
    assert client.get_model_version(name, "2").aliases == ["challenger"]
    assert client.get_model_version(name, "3").aliases == []

    # reassign: an alias points to one version at a time
    client.set_registered_model_alias(name, "champion", "2")
    assert client.get_registered_model(name).aliases == {"champion": "2", "challenger": "2"}
    assert client.get_model_version(name, "1").aliases == []
    assert sorted(client.get_model_version(name, "2").aliases) == ["challenger", "champion"]

    client.delete_registered_model_alias(name, "challenger")
    assert client.get_registered_model(name).aliases == {"champion": "2"}
    client.delete_registered_model_alias(name, "never-set")  # no-op

    # 'latest' resolves to the highest version
    assert str(client.get_model_version_by_alias(name, "latest").version) == "3"

    # unknown alias
    with pytest.raises(MlflowException) as e:
        client.get_model_version_by_alias(name, "challenger")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"
    # reserved aliases
    for reserved in ("latest", "LATEST", "v1", "V12"):
        with pytest.raises(MlflowException) as e:
            client.set_registered_model_alias(name, reserved, "1")
        assert error_code(e) == "INVALID_PARAMETER_VALUE", reserved
    # invalid alias characters
    with pytest.raises(MlflowException) as e:
        client.set_registered_model_alias(name, "bad alias!", "1")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"
    # alias to a version that does not exist / on a model that does not exist
    with pytest.raises(MlflowException) as e:
        client.set_registered_model_alias(name, "ghost", "99")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.set_registered_model_alias(unique("NoSuchModel"), "ghost", "1")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.get_model_version_by_alias(unique("NoSuchModel"), "champion")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"

    # deleting a version drops its aliases
    client.delete_model_version(name, "2")
    assert client.get_registered_model(name).aliases == {}
    with pytest.raises(MlflowException) as e:
        client.get_model_version_by_alias(name, "champion")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"


def test_stages_and_latest_versions(client, registry_exp):
    name = unique("StageModel")
    client.create_registered_model(name)
    create_versions(client, name, registry_exp["run_a"], 4)

    mv = client.transition_model_version_stage(name, "1", "Staging")
    assert mv.current_stage == "Staging"
    client.transition_model_version_stage(name, "2", "Production")
    mv = client.transition_model_version_stage(name, "3", "production",
                                               archive_existing_versions=True)
    assert mv.current_stage == "Production"
    stages = {str(m.version): m.current_stage
              for m in client.search_model_versions(f"name = '{name}'")}
    assert stages == {"1": "Staging", "2": "Archived", "3": "Production", "4": "None"}

    def latest(stages=None):
        return sorted((int(m.version), m.current_stage)
                      for m in client.get_latest_versions(name, stages=stages))

    assert latest(["Production"]) == [(3, "Production")]
    assert latest(["Staging"]) == [(1, "Staging")]
    assert latest(["None"]) == [(4, "None")]
    assert latest(["Archived"]) == [(2, "Archived")]
    assert latest(["Production", "Staging"]) == [(1, "Staging"), (3, "Production")]
    assert latest() == [(1, "Staging"), (2, "Archived"), (3, "Production"), (4, "None")]

    # without archiving, two versions share a stage; latest is the highest
    client.transition_model_version_stage(name, "1", "Production",
                                          archive_existing_versions=False)
    assert latest(["Production"]) == [(3, "Production")]
    assert client.get_model_version(name, "1").current_stage == "Production"
    # archive_existing_versions only touches versions in the target stage
    client.transition_model_version_stage(name, "4", "Staging", archive_existing_versions=True)
    assert client.get_model_version(name, "1").current_stage == "Production"
    assert client.get_model_version(name, "3").current_stage == "Production"

    rm = client.get_registered_model(name)
    assert sorted((int(m.version), m.current_stage) for m in rm.latest_versions) == [
        (2, "Archived"), (3, "Production"), (4, "Staging")]

    with pytest.raises(MlflowException) as e:
        client.transition_model_version_stage(name, "1", "NotAStage")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException) as e:
        client.transition_model_version_stage(name, "99", "Staging")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.get_latest_versions(unique("NoSuchModel"))
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"


def test_model_version_download_uri(client, registry_exp, server):
    name = unique("DownloadUri")
    run_a = registry_exp["run_a"]
    client.create_registered_model(name)
    client.create_model_version(name, f"runs:/{run_a}/model", run_id=run_a)
    # a runs:/ source is handed back as is
    assert client.get_model_version_download_uri(name, "1") == f"runs:/{run_a}/model"
    with pytest.raises(MlflowException) as e:
        client.get_model_version_download_uri(name, "2")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
