"""Data modules: CSV options, Parquet, sample data sets (schemas without running), manual entry, save."""

from __future__ import annotations

import pandas as pd
import pytest

from designer.core.digest import file_sha256
from designer.core.errors import BadInput
from designer.core.schema import TableSchema
from nodes.data import SAMPLE_SCHEMAS
from tests.nodes.helpers import node_schema, run_node, table


@pytest.mark.parametrize("dataset", sorted(SAMPLE_SCHEMAS))
def test_sample_schema_without_running_equals_the_loaded_frame(dataset):
    declared, _ = node_schema("data.sample", {"dataset": dataset})
    loaded = run_node("data.sample", {"dataset": dataset})["data"]
    assert declared["data"].columns == TableSchema.of_frame(loaded.frame).columns
    assert loaded.sources[0].rows == len(loaded.frame)


def test_load_csv_options_and_provenance(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes("x;name\n1;caf\xe9\n-;b\n3;?\n".encode("latin-1"))
    params = {"path": "d.csv", "delimiter": ";", "encoding": "latin-1", "missing_values": ["-", "?"]}
    schema, _ = node_schema("data.csv", params, base=tmp_path)
    assert schema["data"].columns == (("x", "numeric"), ("name", "categorical"))
    out = run_node("data.csv", params, base=tmp_path)["data"]
    assert out.frame["x"].isna().sum() == 1 and out.frame["name"].isna().sum() == 1
    assert out.frame["name"].iloc[0] == "café"
    src = out.sources[0]
    assert (src.rows, src.columns, src.sha256) == (3, 2, file_sha256(path))


def test_load_csv_without_header_names_columns(tmp_path):
    (tmp_path / "d.csv").write_text("1,a\n2,b\n")
    out = run_node("data.csv", {"path": "d.csv", "header": False}, base=tmp_path)["data"]
    assert list(out.frame.columns) == ["column_1", "column_2"]


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"a,b\n", "header but no rows"),
    (b"a,b\n1,\xff\xfe\n", "encoding"),
])
def test_load_csv_bad_files(tmp_path, content, message):
    (tmp_path / "d.csv").write_bytes(content)
    with pytest.raises(BadInput, match=message) as err:
        run_node("data.csv", {"path": "d.csv"}, base=tmp_path)
    assert err.value.location.param == "path"
    with pytest.raises(BadInput, match=message):
        node_schema("data.csv", {"path": "d.csv"}, base=tmp_path)


def test_missing_csv_file_names_parameter(tmp_path):
    with pytest.raises(BadInput, match="no such file") as err:
        node_schema("data.csv", {"path": "nope.csv"}, base=tmp_path)
    assert err.value.location.param == "path"


def test_parquet_round_trip(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "c": [True, False]})
    frame.to_parquet(tmp_path / "d.parquet")
    schema, _ = node_schema("data.parquet", {"path": "d.parquet"}, base=tmp_path)
    assert schema["data"].columns == (("a", "numeric"), ("b", "categorical"), ("c", "boolean"))
    out = run_node("data.parquet", {"path": "d.parquet"}, base=tmp_path)["data"]
    pd.testing.assert_frame_equal(out.frame, pd.read_parquet(tmp_path / "d.parquet"))


def test_manual_data_and_save_csv(tmp_path):
    out = run_node("data.manual", {"text": "a,b\n1,x\n2,y\n"})["data"]
    assert out.frame.shape == (2, 2)
    run_node("data.save_csv", {"path": "sub/out.csv"}, base=tmp_path, data=table(out.frame))
    assert (tmp_path / "sub" / "out.csv").read_text() == "a,b\n1,x\n2,y\n"
