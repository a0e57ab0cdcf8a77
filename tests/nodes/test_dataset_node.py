"""Load Data Set: schema from the store predicts the run; versions and missing stores are named."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from designer.core.datasets import register_path
from designer.core.errors import BadInput
from designer.core.store import RunStore
from tests.nodes.helpers import node_schema, run_node


@pytest.fixture
def store(tmp_path: Path) -> Path:
    frame = pd.DataFrame({"n": [1, 2, None], "t": ["a", None, "c"], "b": [True, False, True],
                          "d": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"])})
    frame.to_parquet(tmp_path / "t.parquet")
    with RunStore.open(tmp_path / "store") as s:
        register_path(s, tmp_path / "t.parquet", "t")
        frame.iloc[:2].to_parquet(tmp_path / "t.parquet")
        register_path(s, tmp_path / "t.parquet", "t")
    return tmp_path / "store" / "runs.sqlite"


def test_schema_predicts_the_loaded_table_for_each_version(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_DESIGNER_STORE", str(store))
    for version, rows in (("latest", 2), (1, 3), (2, 2)):
        params = {"name": "t", "version": version, "meta_columns": ["t"]}
        schema, _ = node_schema("data.dataset", params)
        out = run_node("data.dataset", params)["data"]
        assert schema["data"].columns == out.schema.columns and schema["data"].meta == out.schema.meta
        assert [k for _, k in schema["data"].columns] == ["numeric", "boolean", "datetime"]
        assert len(out.frame) == rows and out.sources[0].dataset == "t"
        assert out.sources[0].version == (2 if version == "latest" else version)


def test_unknown_name_version_and_store_are_located(store: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_DESIGNER_STORE", str(store))
    with pytest.raises(BadInput, match="no data set 'nope'") as e:
        node_schema("data.dataset", {"name": "nope"})
    assert e.value.location.param == "name"
    with pytest.raises(BadInput, match="has no version 5") as e:
        node_schema("data.dataset", {"name": "t", "version": 5})
    assert e.value.location.param == "version"
    with pytest.raises(Exception, match="versions are numbered from 1"):
        node_schema("data.dataset", {"name": "t", "version": 0})
    monkeypatch.delenv("PIPELINE_DESIGNER_STORE")
    with pytest.raises(BadInput, match="no data sets can be read: no run store"):
        node_schema("data.dataset", {"name": "t"}, base=tmp_path / "elsewhere")


def test_a_changed_snapshot_is_refused(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_DESIGNER_STORE", str(store))
    with RunStore.open(store) as s:
        obj = s.get_dataset("t:1").object
    assert obj is not None
    obj.write_bytes(obj.read_bytes()[:-8] + b"XXXXXXXX")
    with pytest.raises(BadInput, match="damaged|changed after it was registered"):
        run_node("data.dataset", {"name": "t", "version": 1})
