"""Pipeline files: round trip, located errors, migration, atomic save, JSON Schema."""

from __future__ import annotations

import json
import os

import pytest

from designer.core.errors import BadInput
from designer.core.pipeline import (VERSION, Link, Node, Pipeline, json_schema, load_pipeline, migrate,
                                    parse_pipeline, save_pipeline)
from tests.conftest import sample_paths


def _pipeline() -> Pipeline:
    return Pipeline(name="t", nodes=[Node(id="a", type="data.sample"), Node(id="b", type="split.rows",
                                                                             params={"fraction": 0.5})],
                    links=[Link.make("a", "data", "b", "data")], layout={"positions": {"a": (0, 0), "b": (10, 20)}})


def test_round_trip_and_readable_one_line_parameter_diff(tmp_path):
    p = _pipeline()
    path = tmp_path / "t.pipeline.json"
    save_pipeline(p, path)
    assert load_pipeline(path) == p
    before = path.read_text().splitlines()
    p.node("b").params["fraction"] = 0.6
    save_pipeline(p, path)
    after = path.read_text().splitlines()
    changed = [(x, y) for x, y in zip(before, after) if x != y]
    assert len(before) == len(after) and len(changed) == 1 and "0.6" in changed[0][1]
    assert '"from": "a.data"' in path.read_text()


def test_every_sample_round_trips(tmp_path):
    for path in sample_paths():
        p = load_pipeline(path)
        assert parse_pipeline(p.to_json_text()) == p


def test_atomic_save_leaves_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "t.pipeline.json"
    save_pipeline(_pipeline(), path)
    original = path.read_text()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError):
        save_pipeline(Pipeline(name="other"), path)
    assert path.read_text() == original
    assert [f.name for f in tmp_path.iterdir()] == ["t.pipeline.json"]


def test_atomic_save_gives_normal_permissions(tmp_path):
    path = tmp_path / "t.pipeline.json"
    save_pipeline(_pipeline(), path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    path.chmod(0o640)
    save_pipeline(_pipeline(), path)
    assert path.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("text, expected", [
    ('{"nodes": [', "line 1"),
    ('{\n  "version": 2,\n  "nodes": [\n    {"id": "a", "type": "x", "colour": 1}\n  ]\n}', "line 4"),
    ('{"version": 99}', "newer"),
    ('{"version": 0}', "not supported"),
    ('{"format": "something-else"}', "format"),
    ('[1, 2]', "JSON object"),
    ('{"nodes": [{"id": "a b", "type": "x"}]}', "node id"),
    ('{"nodes": [{"id": "a", "type": "x"}, {"id": "a", "type": "y"}]}', "used twice"),
    ('{"links": [{"from": "a", "to": "b.data"}]}', "node.port"),
])
def test_wrong_files_give_located_messages(text, expected):
    with pytest.raises(BadInput) as err:
        parse_pipeline(text, file="bad.pipeline.json")
    assert expected in str(err.value)
    assert "bad.pipeline.json" in str(err.value)


def test_unknown_field_names_the_node_and_line():
    text = '{\n  "nodes": [\n    {"id": "load", "type": "data.csv",\n     "parmas": {}}\n  ]\n}'
    with pytest.raises(BadInput) as err:
        parse_pipeline(text, file="f.json")
    msg = str(err.value)
    assert "node 'load'" in msg and "parmas" in msg and "line 3" in msg


def test_missing_file_and_non_utf8(tmp_path):
    with pytest.raises(BadInput, match="no such pipeline file"):
        load_pipeline(tmp_path / "nope.pipeline.json")
    bad = tmp_path / "bad.pipeline.json"
    bad.write_bytes(b'{\n"name": "caf\xe9"}')
    with pytest.raises(BadInput, match="line 2.*not UTF-8"):
        load_pipeline(bad)


def test_version_1_files_are_migrated():
    v1 = {"format": "pipeline-designer", "version": 1, "name": "old",
          "nodes": [{"id": "a", "type": "data.sample", "parameters": {"dataset": "iris"}, "position": [5, 6]},
                    {"id": "b", "type": "clean.normalize"}],
          "links": [{"from_node": "a", "from_port": "data", "to_node": "b", "to_port": "data"}]}
    p = parse_pipeline(json.dumps(v1))
    assert p.version == VERSION
    assert p.node("a").params == {"dataset": "iris"}
    assert p.layout.positions["a"] == (5, 6)
    assert p.links[0].source == "a.data" and p.links[0].target == "b.data"
    assert migrate({"version": VERSION, "x": 1}) == {"version": VERSION, "x": 1}


def test_json_schema_describes_the_format():
    schema = json_schema()
    assert schema["title"].startswith("Pipeline Designer")
    assert {"nodes", "links", "layout", "version"} <= set(schema["properties"])
    assert "from" in schema["$defs"]["Link"]["properties"]
