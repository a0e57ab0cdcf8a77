"""Load from Database against a real SQLite file and, where a server runs (CI starts one), PostgreSQL.

PostgreSQL tests need PD_TEST_POSTGRES_URL (postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB); `.ci/run`
installs and starts a server and sets it. Without it they skip and say why.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from designer.core import store as rs
from tests.cli.test_store_cli import run_cli, run_json

sqlalchemy = pytest.importorskip("sqlalchemy", reason="the optional extra 'db' (SQLAlchemy) is not installed")

PG_ENV = "PD_TEST_POSTGRES_URL"
ROWS = [(1, 10.5, "north", "2024-01-01"), (2, None, "south", "2024-01-02"), (3, -3.25, None, "2024-01-03"),
        (4, 7.0, "north", None)]
QUERY = "SELECT id, amount, region, day FROM sales WHERE id > 0 ORDER BY id"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(rs.ENV_STORE, raising=False)


def make_sqlite(path: Path, rows: list[tuple[Any, ...]] = ROWS) -> Path:
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE sales (id INTEGER, amount REAL, region TEXT, day TEXT)")
        c.executemany("INSERT INTO sales VALUES (?, ?, ?, ?)", rows)
    return path


@pytest.fixture
def pg_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"no PostgreSQL server: {PG_ENV} is not set (`.ci/run` installs and starts one)")
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as c:
        c.execute(sqlalchemy.text("DROP TABLE IF EXISTS sales"))
        c.execute(sqlalchemy.text("CREATE TABLE sales (id INTEGER, amount DOUBLE PRECISION, region TEXT, day TEXT)"))
        c.execute(sqlalchemy.text("INSERT INTO sales VALUES (:a, :b, :c, :d)"),
                  [dict(zip("abcd", r)) for r in ROWS])
    engine.dispose()
    return url


def db_pipeline(folder: Path, connection: str, query: str = QUERY, **params: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"format": "pipeline-designer", "version": 2, "name": "db",
           "nodes": [{"id": "db", "type": "data.database", "params": {"connection": connection, "query": query,
                                                                      **params}},
                     {"id": "save", "type": "data.save_csv", "params": {"path": "out.csv"}}],
           "links": [{"from": "db.data", "to": "save.data"}]}
    path = folder / "db.pipeline.json"
    path.write_text(json.dumps(doc))
    return path


def load(path: Path) -> tuple[Any, pd.DataFrame]:
    """The validated schema and the loaded table of node 'db'."""
    from designer.core.engine import Engine
    from designer.core.pipeline import load_pipeline

    result = Engine().run(load_pipeline(path), path.parent, upto="db")
    assert result.ok, result.errors
    schema = result.validation.schemas[("db", "data")]
    table = result.outputs["db"]["data"]
    assert schema.columns == table.schema.columns  # the columns and kinds were known before the run
    return schema, table.frame


def test_sqlite_query_schema_before_the_run_equals_the_loaded_table(tmp_path: Path) -> None:
    make_sqlite(tmp_path / "shop.db")
    schema, frame = load(db_pipeline(tmp_path, "sqlite:///shop.db"))
    assert schema.columns == (("id", "numeric"), ("amount", "numeric"), ("region", "categorical"),
                              ("day", "categorical"))
    assert frame["id"].tolist() == [1, 2, 3, 4] and pd.isna(frame["amount"][1])
    _, whole = load(db_pipeline(tmp_path, "sqlite:///shop.db", query="", table="sales"))
    pd.testing.assert_frame_equal(whole, frame)


def test_postgresql_gives_the_same_table_as_sqlite(tmp_path: Path, pg_url: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    make_sqlite(tmp_path / "shop.db")
    _, lite = load(db_pipeline(tmp_path, "sqlite:///shop.db"))
    monkeypatch.setenv("PD_SHOP", pg_url)
    schema, pg = load(db_pipeline(tmp_path / "pg", "env:PD_SHOP"))
    pd.testing.assert_frame_equal(pg, lite)
    assert schema.columns == (("id", "numeric"), ("amount", "numeric"), ("region", "categorical"),
                              ("day", "categorical"))


def test_postgresql_types_map_to_kinds(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PD_SHOP", pg_url)
    query = ("SELECT 1::bigint AS n, 2.5::numeric AS d, true AS b, DATE '2024-05-01' AS day, "
             "TIMESTAMP '2024-05-01 10:00' AS ts, 'x'::varchar AS t UNION ALL "
             "SELECT NULL, NULL, NULL, NULL, NULL, NULL")
    schema, frame = load(db_pipeline(tmp_path, "env:PD_SHOP", query=query))
    assert [k for _, k in schema.columns] == ["numeric", "numeric", "boolean", "datetime", "datetime", "categorical"]
    assert frame["d"].tolist()[0] == 2.5 and frame["b"].dtype == "boolean"


def failing(capsys: pytest.CaptureFixture[str], path: Path, *secrets: str) -> str:
    rc, _, err = run_cli(capsys, "run", path, "--out", path.parent / "o")
    assert rc == 2, err
    assert "node 'db'" in err and "Traceback" not in err
    for s in secrets:
        assert s not in err
    return err


def test_sqlite_errors_exit_2_naming_the_node_and_the_database_message(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    make_sqlite(tmp_path / "shop.db")
    assert "no such table: nope" in failing(capsys, db_pipeline(tmp_path, "sqlite:///shop.db", "SELECT * FROM nope"))
    assert "syntax error" in failing(capsys, db_pipeline(tmp_path, "sqlite:///shop.db", "SELEC id FROM sales"))
    err = failing(capsys, db_pipeline(tmp_path, "sqlite:///shop.db", query="", table="nope"))
    assert "no such table" in err and "parameter 'table'" in err
    assert "no such SQLite database file" in failing(capsys, db_pipeline(tmp_path, "sqlite:///missing.db"))
    assert not (tmp_path / "missing.db").exists()
    assert "PD_NOT_SET" in failing(capsys, db_pipeline(tmp_path, "env:PD_NOT_SET"))
    assert "no connection named 'shop'" in failing(capsys, db_pipeline(tmp_path, "shop"))
    err = failing(capsys, db_pipeline(tmp_path, "postgresql://me:hunter2@127.0.0.1/x"), "hunter2")
    assert "password must not sit in a pipeline file" in err


def test_postgresql_errors_exit_2_without_the_password(tmp_path: Path, pg_url: str,
                                                       capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.engine import make_url

    good = make_url(pg_url)
    wrong = good.set(password="not-the-Pw-1234")
    monkeypatch.setenv("PD_WRONG", wrong.render_as_string(hide_password=False))
    err = failing(capsys, db_pipeline(tmp_path, "env:PD_WRONG"), "not-the-Pw-1234", str(good.password))
    assert "password authentication failed" in err
    monkeypatch.setenv("PD_SHOP", pg_url)
    err = failing(capsys, db_pipeline(tmp_path, "env:PD_SHOP", "SELECT * FROM nope"), str(good.password))
    assert 'relation "nope" does not exist' in err
    # fails only when rows are read (the schema, asked with LIMIT 0, is fine): a run-time failure
    err = failing(capsys, db_pipeline(tmp_path, "env:PD_SHOP", "SELECT 1 / (id - id) AS x FROM sales"),
                  str(good.password))
    assert "node 'db' failed" in err and "division by zero" in err


def test_named_connection_in_user_config_and_redacted_listing(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                              ) -> None:
    make_sqlite(tmp_path / "shop.db")
    rc, out, _ = run_cli(capsys, "connections", "add", "shop", f"sqlite:///{tmp_path / 'shop.db'}")
    assert rc == 0
    assert run_cli(capsys, "connections", "add", "pg", "postgresql://u:s3cr3t@h/db")[0] == 0
    listed = run_json(capsys, "connections", "list")
    assert listed["pg"] == "postgresql://u:***@h/db" and "s3cr3t" not in json.dumps(listed)
    _, frame = load(db_pipeline(tmp_path, "shop"))
    assert len(frame) == 4
    assert run_cli(capsys, "connections", "remove", "pg")[0] == 0
    assert "pg" not in run_json(capsys, "connections", "list")


def test_register_a_query_result_freezes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    make_sqlite(tmp_path / "shop.db")
    monkeypatch.setenv("PD_SHOP", f"sqlite:///{tmp_path / 'shop.db'}")
    first = run_json(capsys, "data", "register", "--query", QUERY, "--connection", "env:PD_SHOP", "--name", "sales")
    again = run_json(capsys, "data", "register", "--table", "sales", "--connection", "env:PD_SHOP", "--name", "sales")
    assert first["version"] == 1 and first["rows"] == 4 and again["version"] == 2  # other options: a new version
    assert run_json(capsys, "data", "register", "--table", "sales", "--connection", "env:PD_SHOP",
                    "--name", "sales")["new"] is False
    make_sqlite(tmp_path / "shop.db", ROWS[:2])
    run_cli(capsys, "data", "get", "sales:1", "-o", tmp_path / "v1.csv")
    assert pd.read_csv(tmp_path / "v1.csv")["id"].tolist() == [1, 2, 3, 4]
    rc, _, err = run_cli(capsys, "data", "register", "--query", QUERY, "--name", "x")
    assert rc == 2 and "--connection" in err


def test_register_as_freezes_each_read_and_reproduce_reads_the_frozen_version(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    make_sqlite(tmp_path / "shop.db")
    path = db_pipeline(tmp_path, "sqlite:///shop.db", register_as="shop_sales")
    result = run_json(capsys, "run", path, "--out", tmp_path / "o")
    run = run_json(capsys, "runs", "show", result["run_id"])
    assert [(i["dataset"], i["version"]) for i in run["inputs"]] == [("shop_sales", 1)]
    make_sqlite(tmp_path / "shop.db", ROWS[:2])  # the database changes
    rc, out, err = run_cli(capsys, "runs", "reproduce", result["run_id"])
    assert rc == 0 and "db reads data set shop_sales:1" in out and "reproduced:" in out, out + err
    second = run_json(capsys, "run", path, "--out", tmp_path / "o")
    assert run_json(capsys, "runs", "show", second["run_id"])["inputs"][0]["version"] == 2


def test_without_sqlalchemy_the_module_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from designer.core.database_source import sqlalchemy as get
    from designer.core.errors import BadInput

    monkeypatch.setitem(sys.modules, "sqlalchemy", None)
    with pytest.raises(BadInput, match=r"pipeline-designer\[db\]"):
        get()
