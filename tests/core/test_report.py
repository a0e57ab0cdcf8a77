"""`pipeline-designer profile` and `report` (and `run --report`): self-contained HTML, clear errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from designer.cli import main
from designer.core.report_html import RunFolder
from tests.conftest import DATA, ROOT, SAMPLES

CORPUS = ROOT / "tests" / "bad_input" / "corpus"
IMG = re.compile(r'<img alt="([^"]*)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def images(html: str) -> list[str]:
    return [alt for alt, _ in IMG.findall(html)]


def assert_self_contained(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert not re.search(r"(src|href)=\"(?!data:)", html)  # every image inline, no links to fetch
    assert "http://" not in html and "https://" not in html


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A `run --out ... --report ...` of the iris k-means sample: (run folder, report file)."""
    tmp = tmp_path_factory.mktemp("iris")
    out, html = tmp / "run", tmp / "iris.html"
    mp = pytest.MonkeyPatch()
    mp.setenv("PIPELINE_DESIGNER_STORE", str(tmp / "store"))
    try:
        rc = main(["run", str(SAMPLES / "iris_kmeans.pipeline.json"), "--out", str(out), "--report", str(html)])
    finally:
        mp.undo()
    assert rc == 0
    return out, html


def test_profile_command_writes_one_plot_per_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "housing.html"
    assert main(["profile", str(DATA / "messy_housing.csv"), "-o", str(out)]) == 0
    assert "600 rows" in capsys.readouterr().out
    html = out.read_text(encoding="utf-8")
    assert_self_contained(html)
    frame = pd.read_csv(DATA / "messy_housing.csv")
    assert images(html) == list(frame.columns)
    assert "600 rows × 8 columns" in html and "Lisbon" in html
    assert f"<td>{frame['area_m2'].isna().sum()}</td>" in html  # missing count in the statistics table


def test_profile_reads_parquet(tmp_path: Path) -> None:
    data = tmp_path / "small.parquet"
    pd.DataFrame({"x": [1.0, 2.0, None], "s": ["a", "b", "a"]}).to_parquet(data)
    assert main(["profile", str(data), "-o", str(tmp_path / "p.html")]) == 0
    assert images((tmp_path / "p.html").read_text(encoding="utf-8")) == ["x", "s"]


@pytest.mark.parametrize("bad, message", [
    ("missing.csv", "no such data file"),
    (str(CORPUS / "empty.csv"), "empty"),
    (str(CORPUS / "header_only.csv"), "no rows"),
    ("broken.parquet", "not a readable Parquet file"),
])
def test_profile_bad_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str,
                                  message: str) -> None:
    (tmp_path / "broken.parquet").write_text("not parquet")
    path = bad if Path(bad).is_absolute() else str(tmp_path / bad)
    assert main(["profile", path, "-o", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x.html").exists()


def test_run_writes_report_json_with_plot_data(iris_run: tuple[Path, Path]) -> None:
    out, _ = iris_run
    report = json.loads((out / "report.json").read_text())
    assert report["pipeline"] == "Iris clustering"
    (evaluation,) = report["evaluations"]
    assert evaluation["files"] == {"scored": "score.scored.parquet"}
    assert set(evaluation["entries"][0]["plots"]["cluster_sizes"]) == {"0", "1", "2"}
    assert [s["file"] for s in report["scored"]] == ["score.scored.parquet"]
    assert [(i["node"], i["type"]) for i in report["inputs"]] == [("data", "data.sample")]


def test_run_report_has_evaluation_and_profiles(iris_run: tuple[Path, Path]) -> None:
    out, html_file = iris_run
    html = html_file.read_text(encoding="utf-8")
    assert_self_contained(html)
    alts = images(html)
    assert alts[:2] == ["Cluster sizes — scored", "Clusters (PCA) — scored"]
    scored = pd.read_parquet(out / "score.scored.parquet")
    assert alts[2:2 + scored.shape[1]] == list(scored.columns)  # the scored table's profile
    assert alts[2 + scored.shape[1]:] == ["sepal length (cm)", "sepal width (cm)", "petal length (cm)",
                                          "petal width (cm)", "species"]  # the input data, reloaded
    assert "silhouette" in html and "Input data" in html and "changed since the run" not in html


def test_report_command_matches_run_report(iris_run: tuple[Path, Path], tmp_path: Path) -> None:
    out, html_file = iris_run
    again = tmp_path / "again.html"
    assert main(["report", str(out), "-o", str(again)]) == 0
    strip = re.compile(r"Pipeline Designer report, [0-9: -]+")
    texts = [strip.sub("", f.read_text(encoding="utf-8")) for f in (again, html_file)]
    assert texts[0] == texts[1]


def test_report_without_report_json_shows_metrics(iris_run: tuple[Path, Path], tmp_path: Path) -> None:
    out, _ = iris_run
    old = tmp_path / "old_run"
    old.mkdir()
    (old / "metrics.json").write_text((out / "metrics.json").read_text())
    assert main(["report", str(old), "-o", str(tmp_path / "old.html")]) == 0
    text = (tmp_path / "old.html").read_text(encoding="utf-8")
    assert "silhouette" in text and "no report.json" in text and images(text) == []


def test_report_bad_folders_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "nowhere"), "-o", str(tmp_path / "x.html")]) == 2
    assert "no such run folder" in capsys.readouterr().err
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "x.html")]) == 2
    assert "not a run folder" in capsys.readouterr().err
    (tmp_path / "metrics.json").write_text("{not json")
    assert main(["report", str(tmp_path), "-o", str(tmp_path / "x.html")]) == 2
    assert "not readable JSON" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


def test_changed_or_missing_input_data_is_noted(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("x,y\n1,2\n3,4\n")
    report = {"pipeline": "p", "base_dir": str(tmp_path), "evaluations": [], "scored": [],
              "sources": [{"name": "d.csv", "sha256": "0" * 64}],
              "inputs": [{"node": "load", "type": "data.csv", "title": "Load", "params": {"path": "d.csv"}},
                         {"node": "gone", "type": "data.csv", "title": "Gone", "params": {"path": "nope.csv"}}]}
    (tmp_path / "metrics.json").write_text(json.dumps({"ok": True, "metrics": {}}))
    (tmp_path / "report.json").write_text(json.dumps(report))
    (_, frame, note), (_, none, why) = RunFolder.load(tmp_path).input_tables()
    assert list(frame.columns) == ["x", "y"] and note == "the data changed since the run"
    assert none is None and "not available" in why and "nope.csv" in why
