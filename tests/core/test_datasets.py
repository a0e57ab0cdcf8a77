"""The data set registry and its helpers: migration, content addressing, profiles, version pinning (diffs:
test_dataset_diff.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from designer.core import store as rs
from designer.core.datasets import (freeze_database_reads, load_version, pin_versions, profile_of, register_frame,
                                    register_path)
from designer.core.digest import file_sha256
from designer.core.errors import BadInput
from designer.core.pipeline import parse_pipeline
from designer.core.store import RunStore
from designer.core.store import database as store_database


def test_a_v3_store_gains_data_sets_and_keeps_its_runs(tmp_path: Path) -> None:
    f = tmp_path / "v3.sqlite"
    conn = sqlite3.connect(f, isolation_level=None)
    for script in rs.MIGRATIONS[:3]:
        for statement in store_database._statements(script):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 3")
    conn.execute("INSERT INTO runs (id, pipeline_name, pipeline_hash, pipeline_text, base_dir, status, started_at) "
                 "VALUES ('0000000001abc', 'Old', 'h', '{}', '/x', 'succeeded', '2024-01-01T00:00:00.000+00:00')")
    conn.execute("INSERT INTO run_inputs VALUES ('0000000001abc', 'a.csv', '/x/a.csv', 'ff', 3, 2)")
    conn.close()
    with RunStore.open(f) as s:
        assert s.schema_version == rs.SCHEMA_VERSION
        assert s.get_run("0000000001").inputs == [{"name": "a.csv", "path": "/x/a.csv", "sha256": "ff", "rows": 3,
                                                   "columns": 2}]
        assert s.list_datasets() == [] and s.dataset_usage("x") == {"runs": [], "models": []}


def test_versions_share_one_snapshot_per_content_and_load_back_exactly(tmp_path: Path) -> None:
    frame = pd.DataFrame({"i": [1, 2, 3], "f": [0.5, np.nan, 2.0], "s": ["a", None, "c"], "b": [True, False, True],
                          "t": pd.to_datetime(["2024-01-01", "2024-02-01", None]),
                          "ni": pd.array([1, None, 3], dtype="Int64"),
                          "nb": pd.array([True, None, False], dtype="boolean"),
                          "cat": pd.Categorical(["u", "v", "u"]), "f32": np.array([1.5, np.nan, 2.5], dtype="float32"),
                          "tz": pd.to_datetime(["2024-01-01", None, "2024-01-03"]).tz_localize("UTC")})
    with RunStore.open(tmp_path / "store") as s:
        one = register_frame(s, frame, "x", sha256="1" * 64, source="test")
        again = register_frame(s, frame, "x", sha256="1" * 64, source="test")
        other = register_frame(s, frame, "y", sha256="1" * 64, source="test")
        changed = register_frame(s, frame.iloc[:2], "x", sha256="2" * 64, source="test")
        assert (one.version, again.version, again.new, other.version, changed.version) == (1, 1, False, 1, 2)
        assert one.object == other.object != changed.object
        pd.testing.assert_frame_equal(load_version(s.get_dataset("x:1")), frame)
        assert [c["kind"] for c in one.schema][:5] == ["numeric", "numeric", "categorical", "boolean", "datetime"]
        with pytest.raises(BadInput, match="no rows"):
            register_frame(s, frame.iloc[:0], "z", sha256="3" * 64, source="test")
        with pytest.raises(rs.StoreError, match="not a valid data set name"):
            register_frame(s, frame, "../x", sha256="3" * 64, source="test")


def test_a_file_registered_again_unchanged_is_not_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "a.csv"
    f.write_text("a,b\n1,x\n2,y\n")
    with RunStore.open(tmp_path / "store") as s:
        first = register_path(s, f, "a")
        assert first.sha256 == file_sha256(f)
        import designer.core.datasets as ds

        monkeypatch.setattr(ds, "read_source", lambda *a, **k: pytest.fail("parsed again"))
        assert register_path(s, f, "a").new is False
        first.object.unlink()  # a lost snapshot is written back by registering again
        monkeypatch.undo()
        assert register_path(s, f, "a").version == 1 and first.object.is_file()


def test_large_tables_are_profiled_on_evenly_spaced_rows() -> None:
    frame = pd.DataFrame({"x": np.arange(200_000, dtype=float)})
    p = profile_of(frame, max_rows=1000)[0]
    assert p["rows"] == 1000 and p["min"] == 0.0 and p["max"] == 199_999.0
    assert abs(p["mean"] - 99_999.5) < 1.0


def record(name: str, version: int, frame: pd.DataFrame, tmp_path: Path) -> rs.DatasetRecord:
    with RunStore.open(tmp_path / "store") as s:
        return register_frame(s, frame, name, sha256=str(version) * 64, source="t")


PIPE = """{"format": "pipeline-designer", "version": 2, "name": "p", "nodes": [
  {"id": "a", "type": "data.dataset", "params": {"name": "s"}},
  {"id": "b", "type": "data.dataset", "params": {"name": "s", "version": 1}},
  {"id": "c", "type": "data.dataset", "params": {"name": "other", "version": "latest"}},
  {"id": "db", "type": "data.database", "params": {"connection": "env:X", "table": "t", "register_as": "frozen"}}
], "links": []}"""


def test_reproducing_pins_latest_to_the_version_read_and_reads_frozen_database_results() -> None:
    pipeline = parse_pipeline(PIPE)
    inputs = [{"dataset": "s", "version": 1}, {"dataset": "s", "version": 3}, {"dataset": "frozen", "version": 2},
              {"name": "plain.csv"}]
    assert pin_versions(pipeline, inputs) == ["a.version=3"]  # b pins 1 itself; 'other' was not read
    frozen, replaced = freeze_database_reads(pipeline, inputs)
    assert replaced == {"db": "frozen:2"}
    node = frozen.node("db")
    assert (node.type, node.params["name"], node.params["version"]) == ("data.dataset", "frozen", 2)
    assert pipeline.node("db").type == "data.database"  # the original is untouched


def test_a_snapshot_path_outside_the_store_is_never_read(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1]})
    with RunStore.open(tmp_path / "store") as s:
        register_frame(s, frame, "x", sha256="1" * 64, source="t")
        with s._write() as conn:
            conn.execute("UPDATE datasets SET object = '../../secret.parquet'")
        d = s.get_dataset("x")
    assert d.object is None
    with pytest.raises(BadInput, match="snapshot of data set x:1 is missing"):
        load_version(d)
