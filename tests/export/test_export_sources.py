"""Export of Load Data Set and Load from Database: a tiny seeded table, registered as a data set version (a copy,
a reference, a folder) or written into a SQLite file, then split, cleaned, trained, scored and evaluated; the
script, run with `--check`, gives the designer's metrics and scored rows bit for bit, and a changed file hash or
another table or query written into it fails. A database other than SQLite is refused naming the node."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from designer.core.datasets import register_path
from designer.core.digest import file_sha256
from designer.core.engine import Engine
from designer.core.errors import BadInput
from designer.core.export import Expected, export_script
from designer.core.pipeline import Pipeline, parse_pipeline
from designer.core.runner import metrics_of
from designer.core.store import RunStore
from tests.export.modelling import modelling_links, modelling_nodes
from tests.export.test_export import (assert_checks_and_scores_like_the_designer, assert_passes_ruff,
                                     assert_plain_imports, call, run_script)


def facts(seed: int, n: int = 40) -> pd.DataFrame:
    """A tiny seeded table: numbers with gaps, a category with a gap, true/false flags, an id kept as a meta
    column and a label."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n).round(3)
    x1[[4, 17]] = np.nan
    region = rng.choice(["north", "south", "east"], n).astype(object)
    region[9] = None
    return pd.DataFrame({"id": [f"r{i}" for i in range(n)], "x1": x1, "x2": rng.integers(0, 9, n),
                         "region": region, "flag": rng.random(n) < 0.5, "y": rng.normal(size=n).round(3)})


def source_pipeline(source: dict[str, Any]) -> Pipeline:
    """`source` (node id "data", meta column "id") split, filled, encoded, trained, scored and evaluated."""
    nodes = [{"id": "data", **source}, *modelling_nodes()]
    nodes[0]["params"]["meta_columns"] = ["id"]
    links = modelling_links("data.data")
    return parse_pipeline(json.dumps({"format": "pipeline-designer", "version": 2, "name": "sources", "nodes": nodes,
                                      "links": [{"from": a, "to": b} for a, b in links]}))


def exported(pipeline: Pipeline, base: Path, folder: Path, after_run: Any = None) -> tuple[Path, str, Any]:
    """The designer's run (outputs kept) and the script exported with its values, written as folder/train.py
    (`after_run()` is called between the two)."""
    result = Engine().run(pipeline, base, keep_outputs=True)
    assert result.ok, result.errors
    if after_run is not None:
        after_run()
    script = folder / "train.py"
    text = export_script(pipeline, base, script, expected=Expected("test", "0" * 64, metrics_of(result)),
                         values=result.outputs)
    script.write_text(text)
    return script, text, result


def assert_exact(script: Path, text: str, result: Any) -> None:
    assert_plain_imports(text)
    assert_checks_and_scores_like_the_designer(script, result)
    assert_passes_ruff(script)


# ------------------------------------------------------------------------------------------- Load Data Set
@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunStore:
    folder = tmp_path / "store"
    with RunStore.open(folder):
        pass
    monkeypatch.setenv("PIPELINE_DESIGNER_STORE", str(folder))
    return RunStore.open(folder)


@pytest.mark.parametrize("kind", ["copy", "reference", "folder"])
def test_load_data_set_exports_the_registered_rows_checked_by_their_hash(kind: str, store: RunStore,
                                                                         tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    frame = facts(5)
    if kind == "folder":
        (data / "parts").mkdir()
        frame.iloc[:25].to_csv(data / "parts" / "a.csv", index=False, sep=";")
        frame.iloc[25:].to_csv(data / "parts" / "b.csv", index=False, sep=";")
        registered = data / "parts"
    else:
        frame.to_csv(data / "facts.csv", index=False, sep=";")
        registered = data / "facts.csv"
    with store:
        record = register_path(store, registered, "facts", reference=kind == "reference",
                               options={"delimiter": ";"})
    assert record.version == 1

    def newer_version() -> None:  # the run read "latest" = 1: the script must stay on version 1
        facts(6).to_csv(data / "newer.csv", index=False, sep=";")
        with RunStore.open(store.folder) as s:
            assert register_path(s, data / "newer.csv", "facts", options={"delimiter": ";"}).version == 2

    pipeline = source_pipeline({"type": "data.dataset", "params": {"name": "facts"}})
    script, text, result = exported(pipeline, data, tmp_path, newer_version)
    assert_exact(script, text, result)
    assert text.count("def verified(") == 1 and "import hashlib" in text
    if kind == "folder":
        assert ("data_data = pd.concat([\n"
                "        pd.read_csv(verified(HERE / 'data/parts' / name, sha256, 'facts:1'), sep=';'") in text
        assert f"for name, sha256 in [['a.csv', {file_sha256(data / 'parts' / 'a.csv')!r}], " in text
    else:
        assert f"data_data = pd.read_csv(verified(HERE / 'data/facts.csv', {record.sha256!r}, 'facts:1'), sep=';', " \
               "encoding='utf-8', header=0, na_values=" in text
    # the rows and dtypes the designer read, from the same file
    designer = result.outputs["data"]["data"].view
    assert list(designer.dtypes.astype(str)) == [c["dtype"] for c in record.schema]

    # a changed hash in the script: the file is refused, the script fails
    sha = file_sha256(data / "parts" / "b.csv") if kind == "folder" else record.sha256
    assert text.count(sha) == 1
    broken = tmp_path / "broken.py"
    broken.write_text(text.replace(sha, "0" * 64))
    done = run_script(broken, "--check")
    assert done.returncode != 0 and "has changed since it was registered as data set facts:1" in done.stderr
    with pytest.raises(AssertionError):
        assert_checks_and_scores_like_the_designer(broken, result)


def test_load_data_set_of_a_parquet_version_is_refused_naming_the_node(store: RunStore, tmp_path: Path) -> None:
    facts(5).to_parquet(tmp_path / "facts.parquet")
    with store:
        register_path(store, tmp_path / "facts.parquet", "facts")
    pipeline = source_pipeline({"type": "data.dataset", "params": {"name": "facts", "version": 1}})
    result = Engine().run(pipeline, tmp_path, keep_outputs=True)
    assert result.ok, result.errors
    with pytest.raises(BadInput, match="pyarrow") as err:
        export_script(pipeline, tmp_path, tmp_path / "x.py", values=result.outputs)
    assert err.value.location.node == "data" and "data set facts:1" in err.value.message


def test_load_data_set_copy_whose_csv_changed_is_refused(store: RunStore, tmp_path: Path) -> None:
    facts(5).to_csv(tmp_path / "facts.csv", index=False)
    with store:
        register_path(store, tmp_path / "facts.csv", "facts")
    facts(7).to_csv(tmp_path / "facts.csv", index=False)  # the copy still loads; its source no longer matches
    pipeline = source_pipeline({"type": "data.dataset", "params": {"name": "facts"}})
    result = Engine().run(pipeline, tmp_path, keep_outputs=True)
    assert result.ok, result.errors
    with pytest.raises(BadInput, match="changed since") as err:
        export_script(pipeline, tmp_path, tmp_path / "x.py", values=result.outputs)
    assert err.value.location.node == "data"


# ------------------------------------------------------------------------------------------- Load from Database
def make_sqlite(path: Path) -> Path:
    """The facts as table `facts` (flags as 0/1), and other rows of the same columns as table `other`."""
    with sqlite3.connect(path) as c:
        facts(5).to_sql("facts", c, index=False)
        facts(8).to_sql("other", c, index=False)
    c.close()
    return path


@pytest.mark.parametrize("how", ["table", "query-env"])
def test_load_from_database_exports_the_same_sqlite_read(how: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    make_sqlite(tmp_path / "shop.db")
    if how == "table":
        params = {"connection": "sqlite:///shop.db", "table": "facts"}
        old, new = "'SELECT * FROM facts'", "'SELECT * FROM other'"
    else:
        monkeypatch.setenv("PD_TEST_SHOP_URL", "sqlite:///shop.db")
        params = {"connection": "env:PD_TEST_SHOP_URL", "query": "SELECT * FROM facts WHERE x2 < 7 ORDER BY id"}
        old, new = "'SELECT * FROM facts WHERE x2 < 7 ORDER BY id'", "'SELECT * FROM other WHERE x2 < 7 ORDER BY id'"
    pipeline = source_pipeline({"type": "data.database", "params": params})
    script, text, result = exported(pipeline, tmp_path, tmp_path)
    assert_exact(script, text, result)
    assert "data_data = read_sqlite(" in text and f", {old}, max_rows=10000000)" in text
    if how == "table":
        assert "data_data = read_sqlite(HERE / 'shop.db', " in text
    else:  # the URL is read from the variable when the script runs, never written into it
        assert "sqlite_file(os.environ.get('PD_TEST_SHOP_URL', ''), HERE / '.')" in text
        assert "sqlite:///shop.db" not in text and text.count("def sqlite_file(") == 1
    # another table or query in the script: other rows, and the comparison fails
    assert text.count(old) == 1
    broken = tmp_path / "broken.py"
    broken.write_text(text.replace(old, new))
    with pytest.raises(AssertionError):
        assert_checks_and_scores_like_the_designer(broken, result)


def test_load_from_database_other_than_sqlite_exits_2_naming_the_node(tmp_path: Path) -> None:
    pipeline = source_pipeline({"type": "data.database",
                                "params": {"connection": "postgresql+psycopg://analyst@localhost:1/shop",
                                           "table": "facts"}})
    path = tmp_path / "p.pipeline.json"
    path.write_text(pipeline.to_json_text())
    rc, out, err = call(["export", str(path), "-o", str(tmp_path / "x.py")])
    assert rc == 2, err
    assert "'data' (data.database)" in err and "only SQLite" in err and "postgresql" in err
    assert "Traceback" not in err and not (tmp_path / "x.py").exists()
