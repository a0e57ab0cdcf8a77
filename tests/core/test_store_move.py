"""Moving runs between run stores: the runs of a pipeline not saved yet go next to the file it is saved as."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from designer.core.store import RUNNING, STORE_FILE, RunStore, StoreError, new_run_id, parse_iso
from designer.core.store.move import RUNS_DIR, move_runs
from tests.core.test_store import csv_pipeline


SIDE = ("-wal", "-shm")  # SQLite's files beside an open store


def record_unsaved(store_path: Path, folder: Path, keep: str = "bundles", l2: float = 0.0) -> str:
    """A run as the desktop app records one of a pipeline not saved yet: no file, outputs kept in the store."""
    from designer.core.lifecycle import RunSession, run_pipeline
    from designer.core.pipeline import load_pipeline
    from designer.core.runner import apply_overrides
    from designer.core.store_record import StoreRecorder

    pipeline = apply_overrides(load_pipeline(csv_pipeline(folder)), [f"learner.l2={l2}"])
    warnings: list[str] = []
    session = RunSession(pipeline, folder)
    run_pipeline(session, observers=[StoreRecorder(store_path, warnings.append, keep=keep)],  # type: ignore[arg-type]
                 reuse=False, keep_outputs=False)
    assert not warnings and session.run_id
    return session.run_id


def rows(store_path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(store_path) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def user(tmp_path: Path) -> tuple[Path, list[str]]:
    """The user's own store with three runs (the first kept all its outputs, the others their models)."""
    store = tmp_path / "user" / STORE_FILE
    data = tmp_path / "work"
    ids = [record_unsaved(store, data, keep="outputs"), record_unsaved(store, data, l2=1.0),
           record_unsaved(store, data, l2=2.0)]
    return store, ids


def test_two_of_three_runs_move_with_their_rows_and_files(user, tmp_path: Path) -> None:
    from designer.core.run_history import pipeline_of_run
    from designer.core.store_record import RUNS_DIR as RECORDER_RUNS_DIR

    assert RUNS_DIR == RECORDER_RUNS_DIR
    source, (a, b, c) = user
    with RunStore.open(source, create=False) as s:
        with s._write() as conn:  # as if its outputs were written there by `run --out` (paths inside move too)
            conn.execute("UPDATE runs SET out_dir = ? WHERE id = ?", (str(source.parent / RUNS_DIR / a), a))
        before = {r: s.get_run(r) for r in (a, b, c)}
    assert len(before[a].artifacts) > len(before[b].artifacts) == 1
    saved = csv_pipeline(tmp_path / "project")  # saved into another folder than the one the runs read from
    target = saved.parent / ".pipeline-designer" / STORE_FILE
    with RunStore.open(target) as t, t._write() as conn:  # the target already has b's id: b gets a new one there
        conn.execute("INSERT INTO runs (id, pipeline_name, pipeline_hash, pipeline_text, base_dir, status, "
                     "started_at) VALUES (?, 'other', '', '', '', 'succeeded', ?)", (b, before[b].started_at))

    moved = move_runs(source, target, [a, b], pipeline_path=saved, pipeline_name="Saved as")

    assert moved.target == target.resolve() and not moved.kept and set(moved.ids) == {a, b}
    started = int(parse_iso(before[b].started_at).timestamp() * 1000)  # type: ignore[union-attr]
    assert moved.ids[a] == a and moved.ids[b] != b and moved.ids[b][:9] == new_run_id(started)[:9]  # same order
    with RunStore.open(source, create=False) as s:
        assert [r.id for r in s.list_runs()] == [c]
        assert s.get_run(c).artifacts == before[c].artifacts
    assert rows(source, "SELECT count(*) FROM run_inputs WHERE run_id != '%s'" % c) == [(0,)]
    assert rows(source, "SELECT count(*) FROM run_artifacts WHERE run_id != '%s'" % c) == [(0,)]
    assert not (source.parent / RUNS_DIR / a).exists() and not (source.parent / RUNS_DIR / b).exists()
    assert (source.parent / RUNS_DIR / c / "train.bundle.zip").is_file()
    with RunStore.open(target, create=False) as t:
        for old, new in moved.ids.items():
            was, now = before[old], t.get_run(new)
            assert now.pipeline_path == str(saved.resolve()) and now.pipeline_name == "Saved as"
            assert (now.pipeline_text, now.status, now.started_at, now.base_dir, now.metrics, now.params,
                    now.nodes, now.libraries, now.inputs) == (was.pipeline_text, was.status, was.started_at,
                                                              was.base_dir, was.metrics, was.params, was.nodes,
                                                              was.libraries, was.inputs)
            assert len(now.artifacts) == len(was.artifacts)
            for x, y in zip(was.artifacts, now.artifacts):
                assert y["path"] == x["path"].replace(str(source.parent), str(target.parent)).replace(old, new)
                assert Path(y["path"]).is_file() and {**y, "path": ""} == {**x, "path": ""}
        assert t.get_run(a).out_dir == str(target.parent / RUNS_DIR / a)
        assert t.get_run(b).pipeline_name == "other" and len(t.list_runs()) == 3
        # the moved run's model can be registered beside the file, and its pipeline reopens there
        assert t.register_model(moved.ids[b], "train", "small").ref == "small:1"
        pipeline, path = pipeline_of_run(t.get_run(a))
    assert path == saved.resolve()
    assert (path.parent / pipeline.node("data").params["path"]).resolve() == (tmp_path / "work" / "data.csv")


def test_runs_with_registered_models_or_still_running_stay(user, tmp_path: Path) -> None:
    source, (a, b, c) = user
    with RunStore.open(source, create=False) as s:
        s.register_model(a, "train", "mine")
        with s._write() as conn:  # b is still running (this process)
            conn.execute("UPDATE runs SET status = ?, pid = ?, pid_token = NULL WHERE id = ?",
                         (RUNNING, os.getpid(), b))
    moved = move_runs(source, tmp_path / "project" / ".pipeline-designer", [a, b, c, "0000000000zz"])
    assert list(moved.ids) == [c] and set(moved.kept) == {a, b, "0000000000zz"}
    assert "mine:1 was registered" in moved.kept[a] and "still running" in moved.kept[b]
    with RunStore.open(source, create=False) as s:
        assert sorted(r.id for r in s.list_runs()) == sorted([a, b])
        assert s.model_bundle("mine:1").run_id == a
    with RunStore.open(tmp_path / "project" / ".pipeline-designer", create=False) as t:
        assert [r.id for r in t.list_runs()] == [c] and not t.list_models()


def test_one_store_for_both_only_relabels(user, tmp_path: Path) -> None:
    source, (a, b, c) = user
    with RunStore.open(source, create=False) as s:
        s.register_model(a, "train", "mine")  # no reason to keep it out: it does not leave its store
    moved = move_runs(source, source.parent, [a], pipeline_path=tmp_path / "p.pipeline.json", pipeline_name="P")
    assert moved.ids == {a: a} and moved.target == source.resolve()
    with RunStore.open(source, create=False) as s:
        assert len(s.list_runs()) == 3 and [r.id for r in s.list_runs("P")] == [a]
        assert Path(s.get_run(a).bundles()["train"]["path"]).is_file()


@pytest.mark.parametrize("how", ["folder in place of the file", "file in place of the folder", "read-only folder"])
def test_an_unusable_target_leaves_the_source_untouched(user, tmp_path: Path, how: str) -> None:
    source, ids = user
    project = tmp_path / "project"
    if how == "folder in place of the file":
        target = project / ".pipeline-designer" / STORE_FILE
        target.mkdir(parents=True)
    elif how == "file in place of the folder":
        project.mkdir()
        (project / ".pipeline-designer").write_text("not a folder")
        target = project / ".pipeline-designer" / STORE_FILE
    else:
        project.mkdir()
        project.chmod(0o555)
        target = project / ".pipeline-designer" / STORE_FILE
        if os.access(project, os.W_OK):  # root writes anywhere
            project.chmod(0o755)
            pytest.skip("this user can write a read-only folder")
    files = sorted(p.relative_to(source.parent) for p in source.parent.rglob("*") if not p.name.endswith(SIDE))
    try:
        with pytest.raises(StoreError) as e:
            move_runs(source, target, ids[:2], pipeline_path=project / "p.pipeline.json")
    finally:
        project.chmod(0o755)
    assert ("folder" in str(e.value) or "directory" in str(e.value)) and str(project) in str(e.value)
    with RunStore.open(source, create=False) as s:
        assert [r.id for r in s.list_runs()] == ids[::-1] and all(r.pipeline_path is None for r in s.list_runs())
    assert files == sorted(p.relative_to(source.parent) for p in source.parent.rglob("*") if not p.name.endswith(SIDE))


def test_a_source_that_cannot_let_go_keeps_its_runs_and_the_target_gets_none(user, tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from designer.core.store import move

    source, ids = user
    target = tmp_path / "project" / ".pipeline-designer"
    real_write = RunStore._write
    writes: list[Path] = []

    def write(self):  # the source's delete fails as if another process held the store locked
        writes.append(self.path)
        if self.path == source.resolve():
            raise StoreError("the run store is locked by another process", file=str(self.path))
        return real_write(self)

    monkeypatch.setattr(RunStore, "_write", write)
    with pytest.raises(StoreError, match="the runs stay where they were: the run store is locked"):
        move.move_runs(source, target, ids[:2])
    monkeypatch.undo()
    with RunStore.open(source, create=False) as s:
        assert len(s.list_runs()) == 3 and all(Path(s.get_run(i).bundles()["train"]["path"]).is_file() for i in ids)
    with RunStore.open(target, create=False) as t:
        assert t.list_runs() == []
    assert not any((target / RUNS_DIR).iterdir())


def test_a_tuning_run_takes_its_candidate_runs_along(user, tmp_path: Path) -> None:
    source, (a, b, c) = user
    with RunStore.open(source, create=False) as s, s._write() as conn:  # b and c: candidates of a tuning run a
        conn.execute("UPDATE runs SET parent_run = ? WHERE id IN (?, ?)", (a, b, c))
    target = tmp_path / "saved" / ".pipeline-designer" / STORE_FILE
    moved = move_runs(source, target, [a])
    assert set(moved.ids) == {a, b, c}
    assert rows(source, "SELECT id FROM runs") == []
    parents = dict(rows(target, "SELECT id, parent_run FROM runs"))
    assert parents == {moved.ids[a]: None, moved.ids[b]: moved.ids[a], moved.ids[c]: moved.ids[a]}
