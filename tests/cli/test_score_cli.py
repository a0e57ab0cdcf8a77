"""`pipeline-designer score` of any size through the command: options, errors, atomic output, Ctrl-C."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from designer.cli import main
from tests.core.test_batch_score import bundle, messy_rows  # noqa: F401  (the module-scoped bundle fixture)


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "rows.csv"
    messy_rows(2500).to_csv(path, index=False)
    return path


def test_options_give_the_same_rows_and_json_reports_them(bundle, rows, tmp_path, capsys):  # noqa: F811
    outputs = []
    for i, extra in enumerate(([], ["--chunk-rows", "0"], ["--chunk-rows", "400", "--jobs", "3"])):
        out = tmp_path / f"s{i}.parquet"
        assert main(["score", str(bundle), str(rows), "-o", str(out), "--json", *extra]) == 0
        info = json.loads(capsys.readouterr().out)
        assert info == {"rows": 2500, "output": str(out), "task": "regression", "model": None}
        outputs.append(pd.read_parquet(out))
    for other in outputs[1:]:
        pd.testing.assert_frame_equal(other, outputs[0], check_exact=True)
    pd.read_csv(rows).to_parquet(tmp_path / "rows.parquet")
    assert main(["score", str(bundle), str(tmp_path / "rows.parquet"), "-o", str(tmp_path / "again.csv")]) == 0
    again = pd.read_csv(tmp_path / "again.csv")  # Parquet in, CSV out: the same predictions
    np.testing.assert_array_equal(again["prediction"], outputs[0]["prediction"])


@pytest.mark.parametrize("extra, message", [
    (["--jobs", "0"], "--jobs must be 1 or more"),
    (["--chunk-rows", "-5"], "--chunk-rows must be 0"),
    (["--engine", "dask", "--scheduler", "nonsense"], "unknown scheduler 'nonsense'"),
])
def test_bad_options_exit_2(bundle, rows, tmp_path, capsys, extra, message):  # noqa: F811
    assert main(["score", str(bundle), str(rows), "-o", str(tmp_path / "o.parquet"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_bad_row_far_into_the_file_exits_2_naming_file_row_and_column(bundle, tmp_path, capsys):  # noqa: F811
    frame = messy_rows(2500).astype(object)
    frame.loc[2222, "rooms"] = "many"
    frame.to_csv(tmp_path / "bad.csv", index=False)
    assert main(["score", str(bundle), str(tmp_path / "bad.csv"), "-o", str(tmp_path / "o.csv"),
                 "--chunk-rows", "500"]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and "column 'rooms'" in err and "'many' (row 2223)" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_ctrl_c_leaves_no_output_and_no_temporary_file(bundle, rows, tmp_path, monkeypatch, capsys):  # noqa: F811
    from designer import cli_score

    calls = []

    def interrupt(self, n):
        calls.append(n)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli_score.ScoreProgress, "scored", interrupt)
    assert main(["score", str(bundle), str(rows), "-o", str(tmp_path / "o.parquet"), "--chunk-rows", "500",
                 "--jobs", "2"]) == 1
    assert "interrupted" in capsys.readouterr().err and list(tmp_path.iterdir()) == []


def test_dask_refuses_workers_with_other_library_versions(monkeypatch):
    from designer.core import dask_score
    from designer.core.errors import BadInput

    class Client:
        closed = False

        def run(self, fn):
            return {"tcp://127.0.0.1:1": fn(), "tcp://127.0.0.1:2": {**fn(), "scikit-learn": "0.1"}}

        def close(self):
            Client.closed = True

    cluster = dask_score._Cluster.__new__(dask_score._Cluster)
    cluster.client, cluster.cluster = Client(), None
    with pytest.raises(BadInput, match=r"worker tcp://127.0.0.1:2 has other library versions: scikit-learn 0.1"):
        cluster._check_versions()
    assert Client.closed
