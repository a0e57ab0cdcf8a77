"""The run store: schema and migrations, recording runs, interrupted runs, concurrency, comparison, registry."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from designer.core import store as rs
from designer.core.store import (FAILED, INTERRUPTED, RUNNING, SCHEMA_VERSION, SUCCEEDED, RunStore, StoreError,
                                 compare_runs, find_store, new_run_id, store_for_pipeline)
from designer.core.store import database as store_database, runs as store_runs
from tests.conftest import ROOT, SAMPLES

PY = sys.executable


# ---------------------------------------------------------------------------------------------- helpers


def write_csv(path: Path, rows: int = 60, seed: int = 0, shift: float = 0.0) -> Path:
    rnd = random.Random(seed)
    lines = ["x1,x2,y"]
    for _ in range(rows):
        x1, x2 = rnd.uniform(0, 10), rnd.uniform(-5, 5)
        lines.append(f"{x1:.4f},{x2:.4f},{3 * x1 - 2 * x2 + shift + rnd.gauss(0, 1):.4f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def csv_pipeline(folder: Path, name: str = "Small regression", save: bool = False) -> Path:
    """A small CSV regression pipeline (data path relative to the file); `save` adds a Save CSV node."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "data.csv").exists():
        write_csv(folder / "data.csv")
    nodes = [
        {"id": "data", "type": "data.csv", "params": {"path": "data.csv"}},
        {"id": "split", "type": "split.rows", "params": {"fraction": 0.75, "seed": 1}},
        {"id": "learner", "type": "learn.linear_regression", "params": {"l2": 0.0}},
        {"id": "train", "type": "learn.train", "params": {"label": "y"}},
        {"id": "score", "type": "score.model", "params": {}},
        {"id": "evaluate", "type": "evaluate.model", "params": {}},
    ]
    links = [{"from": "data.data", "to": "split.data"}, {"from": "split.train", "to": "train.data"},
             {"from": "learner.learner", "to": "train.learner"}, {"from": "train.model", "to": "score.model"},
             {"from": "split.test", "to": "score.data"}, {"from": "score.scored", "to": "evaluate.scored"}]
    if save:
        nodes.append({"id": "save", "type": "data.save_csv", "params": {"path": "saved/test.csv"}})
        links.append({"from": "split.test", "to": "save.data"})
    doc = {"format": "pipeline-designer", "version": 2, "name": name, "nodes": nodes, "links": links}
    path = folder / "small.pipeline.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def run_and_record(store: RunStore, pipeline_path: Path, out: Path | None, overrides: list[str] = ()) -> str:
    """What `pipeline-designer run` does, through the Qt-free API."""
    from designer.core.lifecycle import RunObserver, RunSession, run_pipeline
    from designer.core.pipeline import load_pipeline
    from designer.core.runner import OutputWriter, apply_overrides
    from designer.core.store_record import StoreRecorder

    class RecordedWhileRunning(RunObserver):
        def begin(self, session: RunSession) -> None:
            assert session.run_id and store.get_run(session.run_id).status == RUNNING

    pipeline = apply_overrides(load_pipeline(pipeline_path), list(overrides))
    warnings: list[str] = []
    session = RunSession(pipeline, pipeline_path.parent, pipeline_path=pipeline_path, overrides=list(overrides),
                         out_dir=out)
    writers = [OutputWriter(out)] if out else []
    run_pipeline(session, observers=[*writers, StoreRecorder(store, warnings.append), RecordedWhileRunning()],
                 reuse=False, keep_outputs=False)
    assert not warnings and session.run_id
    return session.run_id


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    s = RunStore.open(tmp_path / "store", timeout=2)
    yield s
    s.close()


# ---------------------------------------------------------------------------------------------- schema


def test_new_store_has_current_schema_wal_and_gitignore(tmp_path: Path) -> None:
    with RunStore.open(tmp_path / "p" / rs.STORE_DIR) as s:
        assert s.path == (tmp_path / "p" / rs.STORE_DIR / rs.STORE_FILE).resolve()
        assert s.schema_version == SCHEMA_VERSION == len(rs.MIGRATIONS)
        assert s._read("PRAGMA journal_mode")[0][0] == "wal"
        assert s.list_runs() == [] and s.list_models() == []
    assert (tmp_path / "p" / rs.STORE_DIR / ".gitignore").read_text().strip().endswith("*")


def test_empty_file_is_version_0_and_is_migrated(tmp_path: Path) -> None:
    f = tmp_path / "empty.sqlite"
    f.write_bytes(b"")
    with RunStore.open(f) as s:
        assert s.path == f.resolve() and s.schema_version == SCHEMA_VERSION
        assert {r[0] for r in s._read("SELECT name FROM sqlite_master WHERE type = 'table'")} >= {
            "runs", "run_inputs", "run_artifacts", "models"}


def test_v1_store_is_migrated_to_v2_keeping_its_runs(tmp_path: Path) -> None:
    f = tmp_path / "old.sqlite"
    conn = sqlite3.connect(f, isolation_level=None)
    for statement in store_database._statements(rs.MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO runs (id, pipeline_name, pipeline_hash, pipeline_text, base_dir, status, started_at, "
                 "ended_at, metrics) VALUES ('0000000001abc', 'Old', 'h', '{}', '/x', 'succeeded', "
                 "'2024-01-01T00:00:00.000+00:00', '2024-01-01T00:00:02.000+00:00', ?)",
                 (json.dumps({"evaluate": [{"port": "scored", "metrics": {"r2": 0.5}}]}),))
    conn.execute("INSERT INTO run_artifacts VALUES ('0000000001abc', '/x/t.bundle.zip', 'bundle', 't', 'ab', 3)")
    conn.close()
    with RunStore.open(f) as s:
        assert s.schema_version == SCHEMA_VERSION
        old = s.get_run("0000000001")
        assert old.pipeline_name == "Old" and old.reproduces is None and old.seconds == 2.0
        assert old.flat_metrics == {"evaluate.scored.r2": 0.5} and old.bundles()["t"]["sha256"] == "ab"
        assert s.list_models() == []  # the v2 table exists


def test_newer_schema_is_refused_clearly(tmp_path: Path) -> None:
    f = tmp_path / "new.sqlite"
    RunStore.open(f).close()
    conn = sqlite3.connect(f)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer than this program"):
        RunStore.open(f)


@pytest.mark.parametrize("content", [b"this is not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 200])
def test_corrupt_store_gives_a_clear_error(tmp_path: Path, content: bytes) -> None:
    f = tmp_path / "runs.sqlite"
    f.write_bytes(content)
    with pytest.raises(StoreError, match="corrupt or not a SQLite database"):
        RunStore.open(f)


def test_foreign_sqlite_file_is_not_taken_over(tmp_path: Path) -> None:
    f = tmp_path / "other.db"
    conn = sqlite3.connect(f)
    conn.execute("CREATE TABLE notes (t TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a Pipeline Designer run store"):
        RunStore.open(f)


def test_locked_store_gives_a_clear_error(tmp_path: Path) -> None:
    s = RunStore.open(tmp_path, timeout=0.1)
    holder = sqlite3.connect(s.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="locked by another process"):
            s.begin_run(pipeline_name="p", pipeline_text="{}", base_dir=tmp_path, git_commit=None)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert s.begin_run(pipeline_name="p", pipeline_text="{}", base_dir=tmp_path, git_commit=None)
    s.close()


def test_missing_store_is_not_created_by_readers(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no run store"):
        RunStore.open(tmp_path / "nothing.sqlite", create=False)
    assert not (tmp_path / "nothing.sqlite").exists()


# ---------------------------------------------------------------------------------------------- locations and ids


def test_store_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(rs.ENV_STORE, raising=False)
    pipe = csv_pipeline(tmp_path / "proj")
    assert store_for_pipeline(pipe) == (tmp_path / "proj" / ".pipeline-designer" / "runs.sqlite").resolve()
    assert store_for_pipeline(pipe, str(tmp_path / "s.db")) == tmp_path / "s.db"
    assert store_for_pipeline(pipe, str(tmp_path / "folder")) == tmp_path / "folder" / "runs.sqlite"
    monkeypatch.setenv(rs.ENV_STORE, str(tmp_path / "env"))
    assert store_for_pipeline(pipe) == tmp_path / "env" / "runs.sqlite"
    assert store_for_pipeline(pipe, str(tmp_path / "opt")) == tmp_path / "opt" / "runs.sqlite"
    monkeypatch.delenv(rs.ENV_STORE)
    with pytest.raises(StoreError, match="no run store"):
        find_store(start=tmp_path / "proj")
    RunStore.open(store_for_pipeline(pipe)).close()
    deep = tmp_path / "proj" / "a" / "b"
    deep.mkdir(parents=True)
    assert find_store(start=deep) == store_for_pipeline(pipe)
    with pytest.raises(StoreError, match="named by --store"):
        find_store(str(tmp_path / "missing"), start=deep)


def test_run_ids_are_short_unique_and_sortable() -> None:
    stamps = [1_700_000_000_000 + i * 7 for i in range(200)] + [2**41, 2**44, 2**45 - 1]
    ids = [new_run_id(ms) for ms in stamps]
    assert all(len(i) == 12 and i.isalnum() and i == i.lower() for i in ids)
    assert ids == sorted(ids)
    assert len({new_run_id(5) for _ in range(200)}) > 190  # random tail within one millisecond


def test_run_references(store: RunStore, tmp_path: Path) -> None:
    ids = [store.begin_run(pipeline_name="p", pipeline_text="{}", base_dir=tmp_path, git_commit=None)
           for _ in range(3)]
    assert store.resolve_run("latest") == max(ids) and store.resolve_run("latest~2") == min(ids)
    assert store.resolve_run(ids[0]) == ids[0] and store.resolve_run(ids[0].upper()) == ids[0]
    assert store.resolve_run(ids[0][:11]) == ids[0] or len({i[:11] for i in ids}) < 3
    with pytest.raises(StoreError, match="ambiguous"):
        store.resolve_run(ids[0][:3])
    with pytest.raises(StoreError, match="no run 'zzzz'"):
        store.resolve_run("zzzz")
    with pytest.raises(StoreError, match="fewer runs"):
        store.resolve_run("latest~5")
    with pytest.raises(StoreError, match="not a run id"):
        store.resolve_run("x'; drop")


# ---------------------------------------------------------------------------------------------- recording


def test_a_run_records_everything(store: RunStore, tmp_path: Path) -> None:
    pipe = csv_pipeline(tmp_path / "proj", save=True)
    run_id = run_and_record(store, pipe, tmp_path / "out")
    r = store.get_run(run_id)
    assert r.status == SUCCEEDED and r.pipeline_name == "Small regression" and r.ended_at
    assert r.pid == os.getpid() and r.host and r.git_commit is None
    assert r.base_dir == str(pipe.parent.resolve()) and r.pipeline_path == str(pipe.resolve())
    assert json.loads(r.pipeline_text)["name"] == "Small regression"
    import hashlib

    assert r.pipeline_hash == hashlib.sha256(r.pipeline_text.encode()).hexdigest()
    # every node's validated parameters, defaults filled in
    assert set(r.params) == {"data", "split", "learner", "train", "score", "evaluate", "save"}
    assert r.params["split"]["fraction"] == 0.75 and "shuffle" in r.params["split"]
    assert r.params["data"]["delimiter"] == "," and r.nodes["train"]["type"] == "learn.train"
    assert r.nodes["train"]["status"] == "finished"
    assert set(r.flat_metrics) >= {"evaluate.scored.r2", "evaluate.scored.rmse"}
    assert r.flat_metrics["evaluate.scored.r2"] > 0.9
    from designer.core.digest import file_sha256

    assert r.inputs == [{"name": "data.csv", "path": str(pipe.parent / "data.csv"),
                         "sha256": file_sha256(pipe.parent / "data.csv"), "rows": 60, "columns": 3}]
    kinds = {a["kind"]: a for a in r.artifacts}
    assert {"bundle", "scored", "metrics", "file"} <= set(kinds) <= {"bundle", "scored", "metrics", "file", "report"}
    assert kinds["bundle"]["node"] == "train" and kinds["file"]["node"] == "save"
    for a in r.artifacts:
        assert file_sha256(a["path"]) == a["sha256"] and a["bytes"] == Path(a["path"]).stat().st_size
    assert {"python", "scikit-learn", "pandas", "pipeline-designer"} <= set(r.libraries)
    assert [x.id for x in store.list_runs()] == [run_id]
    assert store.list_runs("another pipeline") == []


def test_sources_of_released_tables_are_kept(store: RunStore, tmp_path: Path) -> None:
    """A table that only feeds Save CSV is freed during a headless run; its source is still recorded."""
    folder = tmp_path / "p"
    folder.mkdir()
    write_csv(folder / "data.csv", rows=10)
    doc = {"format": "pipeline-designer", "version": 2, "name": "Copy",
           "nodes": [{"id": "data", "type": "data.csv", "params": {"path": "data.csv"}},
                     {"id": "save", "type": "data.save_csv", "params": {"path": "copy.csv"}}],
           "links": [{"from": "data.data", "to": "save.data"}]}
    pipe = folder / "copy.pipeline.json"
    pipe.write_text(json.dumps(doc))
    r = store.get_run(run_and_record(store, pipe, None))
    assert [(i["name"], i["rows"]) for i in r.inputs] == [("data.csv", 10)]
    assert [(a["kind"], a["node"]) for a in r.artifacts] == [("file", "save")]


def test_git_commit_is_recorded_when_the_pipeline_is_in_a_repository(store: RunStore, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    pipe = csv_pipeline(repo)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    run_id = store.begin_run(pipeline_name="p", pipeline_text="{}", base_dir=repo, pipeline_path=pipe)
    assert store.get_run(run_id).git_commit == head
    assert rs.git_commit_of(tmp_path / "nowhere") is None


def test_invalid_pipeline_is_recorded_as_failed(store: RunStore, tmp_path: Path) -> None:
    from designer.core.lifecycle import RunSession, run_pipeline
    from designer.core.pipeline import load_pipeline
    from designer.core.store_record import StoreRecorder
    from designer.core.validate import InvalidPipeline

    pipe = csv_pipeline(tmp_path / "proj")
    pipeline = load_pipeline(pipe)
    pipeline.node("train").params["label"] = "no_such_column"
    session = RunSession(pipeline, pipe.parent)
    with pytest.raises(InvalidPipeline):
        run_pipeline(session, observers=[StoreRecorder(store, pytest.fail)])
    assert session.run_id
    r = store.get_run(session.run_id)
    assert r.status == FAILED and "no_such_column" in r.message and "no_such_column" in json.dumps(r.errors)


def test_recorder_warns_and_never_raises_when_the_store_is_unusable(tmp_path: Path) -> None:
    from designer.core.lifecycle import RunSession, run_pipeline
    from designer.core.pipeline import load_pipeline
    from designer.core.runner import OutputWriter
    from designer.core.store_record import StoreRecorder

    bad = tmp_path / "runs.sqlite"
    bad.write_bytes(b"garbage" * 500)
    pipe = csv_pipeline(tmp_path / "proj")
    pipeline = load_pipeline(pipe)
    warnings: list[str] = []
    rec = StoreRecorder(bad, warnings.append)
    session = RunSession(pipeline, pipe.parent, out_dir=tmp_path / "out")
    run_pipeline(session, observers=[OutputWriter(tmp_path / "out"), rec])
    assert session.run_id is None and session.warnings == warnings
    assert len(warnings) == 1 and "corrupt" in warnings[0] and "not recorded" in warnings[0]
    facts = rec.facts
    assert facts and facts["status"] == SUCCEEDED and (tmp_path / "out" / "train.bundle.zip").is_file()


# ---------------------------------------------------------------------------------------------- interrupted runs


def _dead_pid() -> int:
    p = subprocess.Popen([PY, "-c", "pass"])
    p.wait()
    return p.pid


def test_running_rows_of_dead_processes_become_interrupted(store: RunStore, tmp_path: Path) -> None:
    mine = store.begin_run(pipeline_name="p", pipeline_text="{}", base_dir=tmp_path, git_commit=None)
    dead = store.begin_run(pipeline_name="p", pipeline_text="{}", base_dir=tmp_path, git_commit=None)
    reused = store.begin_run(pipeline_name="p", pipeline_text="{}", base_dir=tmp_path, git_commit=None)
    elsewhere = store.begin_run(pipeline_name="p", pipeline_text="{}", base_dir=tmp_path, git_commit=None)
    with store._write() as conn:
        conn.execute("UPDATE runs SET pid = ? WHERE id = ?", (_dead_pid(), dead))
        conn.execute("UPDATE runs SET pid_token = 'not-the-start-time' WHERE id = ?", (reused,))
        conn.execute("UPDATE runs SET host = 'another-host', pid = ? WHERE id = ?", (_dead_pid(), elsewhere))
    status = {r.id: r.status for r in store.list_runs()}
    expected_reused = INTERRUPTED if rs.process_token(os.getpid()) else RUNNING  # no /proc: cannot tell
    assert status == {mine: RUNNING, dead: INTERRUPTED, reused: expected_reused, elsewhere: RUNNING}
    r = store.get_run(dead)
    assert "ended before the run finished" in r.message and r.status == INTERRUPTED
    with pytest.raises(ValueError):
        store.finish_run(mine, status=RUNNING)
    store.finish_run(mine, status=SUCCEEDED)
    assert store.get_run(mine).status == SUCCEEDED


def test_pid_alive() -> None:
    assert rs.pid_alive(os.getpid(), rs.process_token(os.getpid()))
    assert not rs.pid_alive(_dead_pid())
    assert not rs.pid_alive(None) and not rs.pid_alive(0)


# ---------------------------------------------------------------------------------------------- concurrency

_WRITER = textwrap.dedent("""
    import sys
    from designer.core.store import RunStore
    store = RunStore.open(sys.argv[1], timeout=30)
    for i in range(int(sys.argv[3])):
        rid = store.begin_run(pipeline_name=sys.argv[2], pipeline_text="{}", base_dir=".", git_commit=None)
        store.finish_run(rid, status="succeeded", metrics={"e": [{"port": "s", "metrics": {"i": i}}]},
                         inputs=[{"name": "d", "path": None, "sha256": "x", "rows": i, "columns": 1}])
    store.close()
""")


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    target = tmp_path / "shared"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([PY, str(script), str(target), name, "100"], env=env, stderr=subprocess.PIPE)
             for name in ("A", "B")]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    with RunStore.open(target) as s:
        runs = s.list_runs()
        assert len(runs) == 200 and len({r.id for r in runs}) == 200
        assert {r.status for r in runs} == {SUCCEEDED}
        assert sorted(r.flat_metrics["e.s.i"] for r in s.list_runs("A")) == list(range(100))
        assert s._read("SELECT count(*) FROM run_inputs")[0][0] == 200


# ---------------------------------------------------------------------------------------------- compare


def test_compare_reports_parameters_metrics_and_data(store: RunStore, tmp_path: Path) -> None:
    pipe = csv_pipeline(tmp_path / "proj")
    a = run_and_record(store, pipe, None)
    b = run_and_record(store, pipe, None, ["learner.l2=5.0", "split.seed=2"])
    write_csv(pipe.parent / "data.csv", rows=61, shift=1.0)
    c = run_and_record(store, pipe, None)
    ab = store.compare(a, b)
    assert {(p["node"], p["param"], p["a"], p["b"]) for p in ab["params"]} == {
        ("learner", "l2", 0.0, 5.0), ("split", "seed", 1, 2)}
    assert not ab["pipeline"]["same_text"] and not ab["data_changed"] and not ab["metrics_identical"]
    r2 = next(m for m in ab["metrics"] if m["metric"] == "evaluate.scored.r2")
    assert r2["delta"] == pytest.approx(r2["b"] - r2["a"]) and not r2["same"]
    ac = store.compare(a, c)
    assert ac["params"] == [] and ac["pipeline"]["same_text"] and ac["data_changed"]
    (d,) = ac["data"]
    assert d["change"] == "changed" and d["a"]["rows"] == 60 and d["b"]["rows"] == 61
    aa = store.compare(a, a)
    assert aa["metrics_identical"] and not aa["data_changed"] and not aa["params"]


def test_compare_values_exactly() -> None:
    nan = float("nan")
    a = rs.RunRecord(id="a", pipeline_name="p", params={"n": {"x": 1, "c": {"names": ["a"]}}},
                     metrics={"e": [{"port": "s", "metrics": {"m": nan, "k": 1.0}}]},
                     inputs=[{"name": "d", "path": None, "sha256": "1", "rows": 1, "columns": 1}])
    b = rs.RunRecord(id="b", pipeline_name="p", params={"n": {"x": True, "c": {"names": ["b"]}}, "new": {}},
                     metrics={"e": [{"port": "s", "metrics": {"m": nan, "k": 1.0}}]},
                     inputs=[{"name": "e", "path": None, "sha256": "2", "rows": 1, "columns": 1}])
    c = compare_runs(a, b)
    assert {p["param"] for p in c["params"]} == {"x", "c.names"} and c["nodes_added"] == ["new"]
    assert c["metrics_identical"]
    assert sorted(d["change"] for d in c["data"]) == ["added", "removed"]


# ---------------------------------------------------------------------------------------------- registry


def test_register_models_versions_lineage_and_verification(store: RunStore, tmp_path: Path) -> None:
    import shutil

    pipe = csv_pipeline(tmp_path / "proj")
    first = run_and_record(store, pipe, tmp_path / "out1")
    second = run_and_record(store, pipe, tmp_path / "out2", ["learner.l2=1.0"])
    m1 = store.register_model(first, "train", "small")
    m2 = store.register_model(second, "train", "small")
    assert (m1.ref, m2.ref, m1.new) == ("small:1", "small:2", True)
    again = store.register_model(first, "train", "small")
    assert again.ref == "small:1" and not again.new
    assert m1.bundle.parent == store.folder / "models" / "small" / "1"
    shutil.rmtree(tmp_path / "out1")
    shutil.rmtree(tmp_path / "out2")
    assert store.get_model("small").version == 2 and store.get_model("small:1").run_id == first
    assert store.get_model("small:latest").version == 2
    assert store.model_bundle("small:1").bundle.is_file()

    lin = store.lineage("small", 1)
    assert lin["model"]["ref"] == "small:1" and lin["model"]["task"] == "regression"
    assert lin["run"]["id"] == first and lin["pipeline"]["name"] == "Small regression"
    assert lin["pipeline"]["sha256"] == store.get_run(first).pipeline_hash
    assert [d["name"] for d in lin["data"]] == ["data.csv"] and lin["data"][0]["sha256"]
    assert set(lin["params"]) == {"data", "split", "learner", "train"}  # the model's node and its ancestors
    assert lin["params"]["learner"]["l2"] == 0.0
    assert "r2" in lin["metrics"]["evaluate.scored"]
    assert store.lineage("small:2")["params"]["learner"]["l2"] == 1.0

    # a bundle overwritten by a later run into the same folder cannot be registered under the old run
    third = run_and_record(store, pipe, tmp_path / "out3")
    run_and_record(store, pipe, tmp_path / "out3", ["split.seed=7"])
    with pytest.raises(StoreError, match="changed since run"):
        store.register_model(third, "train", "small")
    with pytest.raises(StoreError, match="no trained bundle for node 'evaluate'.*bundles of that run: train"):
        store.register_model(third, "evaluate", "small")
    with pytest.raises(StoreError, match="not a valid model name"):
        store.register_model(third, "train", "bad name:1")
    with pytest.raises(StoreError, match="no registered model 'other'.*registered: small"):
        store.get_model("other")
    with pytest.raises(StoreError, match="no version 9"):
        store.get_model("small:9")
    # a registered copy that was changed is refused
    m1.bundle.write_bytes(m1.bundle.read_bytes() + b"x")
    with pytest.raises(StoreError, match="changed after it was registered"):
        store.model_bundle("small:1")
    assert [m.ref for m in store.list_models()] == ["small:1", "small:2"]


def test_model_refs() -> None:
    assert rs.parse_model_ref("m") == ("m", None)
    assert rs.parse_model_ref("m.v-2_x:3") == ("m.v-2_x", 3)
    assert rs.parse_model_ref("m:latest") == ("m", None)
    for bad in ("", ":1", "m:0", "m:x", "a b"):
        with pytest.raises(StoreError):
            rs.parse_model_ref(bad)


def test_sample_pipeline_inputs_are_hashed_frames(store: RunStore, tmp_path: Path) -> None:
    r = store.get_run(run_and_record(store, SAMPLES / "iris_kmeans.pipeline.json", None))
    assert [(i["name"], i["path"], i["rows"], i["columns"]) for i in r.inputs] == [("iris", None, 150, 5)]
    assert r.git_commit is None or len(r.git_commit) >= 40


def test_an_id_drawn_twice_is_drawn_again(store: RunStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = iter(["000000000aaa", "000000000aaa", "000000000aaa", "000000000bbb"])
    monkeypatch.setattr(store_runs, "new_run_id", lambda: next(ids))
    first = store.begin_run(pipeline_name="p", pipeline_text="{}", base_dir=tmp_path, git_commit=None)
    second = store.begin_run(pipeline_name="p", pipeline_text="{}", base_dir=tmp_path, git_commit=None)
    assert (first, second) == ("000000000aaa", "000000000bbb")
