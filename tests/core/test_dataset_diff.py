"""`data diff` in the core: schema and row counts from the records; per column, the drift statistics of the
second version's rows against the first's (designer.core.drift), read once each, and never for equal content."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from designer.core import datasets
from designer.core.dataset_diff import diff_text, diff_versions
from designer.core.drift import Thresholds
from tests.core.test_datasets import record


def by_column(d: dict) -> dict[str, dict]:
    return {c["column"]: c for c in d["distributions"]}


def test_a_shifted_number_and_changed_shares_drift_an_unchanged_column_does_not(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    n = 1000
    a = pd.DataFrame({"n": rng.normal(0, 1, n), "c": rng.choice(["p", "q", "r"], n, p=[0.5, 0.3, 0.2]),
                      "same": rng.normal(5, 2, n), "gaps": 1.0})
    b = pd.DataFrame({"n": rng.normal(1, 1, n), "c": rng.choice(["p", "q", "r"], n, p=[0.3, 0.3, 0.4]),
                      "same": rng.normal(5, 2, n), "gaps": 1.0})
    b.loc[:99, "gaps"] = np.nan
    ra, rb = record("d", 1, a, tmp_path), record("d", 2, b, tmp_path)
    reads: list[str] = []
    load = datasets.load_version
    monkeypatch.setattr(datasets, "load_version", lambda r, *x: reads.append(r.ref) or load(r, *x))
    d = diff_versions(ra, rb)
    assert reads == ["d:1", "d:2"]  # each version read once
    assert d["schema"] == [] and d["rows"] == [n, n] and not d["sampled"] and d["compared_rows"] == [n, n]
    cols = by_column(d)
    assert list(cols) == ["n", "c", "same", "gaps"]  # the first version's column order
    assert d["verdict"] == "drift" and d["changed_columns"] == ["n", "c", "gaps"]
    num, cat, same = cols["n"], cols["c"], cols["same"]
    assert num["verdict"] == "drift" and num["effect_name"] == "normalized Wasserstein"
    assert 0.8 < num["effect"] < 1.2 and num["p"] < 1e-10
    assert "(+1.1" in num["summary"] and num["summary"].startswith("mean ") and "quartiles" in num["summary"]
    assert cat["verdict"] == "drift" and cat["effect_name"] == "Cohen's w" and cat["effect"] > 0.3
    assert cat["p"] < 1e-10 and cat["summary"].startswith("p 53.3% -> 30.3%; r 20.3% -> 42.0%")
    assert same["verdict"] == "no drift" and same["effect"] < 0.1 and same["p"] > 0.01
    assert cols["gaps"]["verdict"] == "drift" and "missing 0.0% -> 10.0%" in cols["gaps"]["summary"]
    # the thresholds are the drift command's: a large enough --effect calls nothing drift
    loose = diff_versions(ra, rb, Thresholds(effect=5.0))
    assert loose["verdict"] == "no drift" and loose["thresholds"]["effect"] == 5.0
    text = diff_text(d)
    assert "columns  3 of 4 drift: n, c, gaps" in text and "normalized Wasserstein" in text
    assert "drift = effect >= 0.1 and Bonferroni-adjusted p < 0.01, at least 50 rows" in text


def test_same_content_reads_no_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    with datasets.RunStore.open(tmp_path / "store") as s:
        one = datasets.register_frame(s, frame, "s", sha256="a" * 64, source="t")
        two = datasets.register_frame(s, frame, "t", sha256="a" * 64, source="t")

    def fail(*args: object) -> None:
        raise AssertionError("data read")

    monkeypatch.setattr(datasets, "load_version", fail)
    d = diff_versions(one, two)
    assert d["same_content"] and d["verdict"] == "same content" and d["distributions"] == []
    assert "same content: no distribution changed (no data read)" in diff_text(d)


def test_too_few_rows_say_so(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    a = pd.DataFrame({"x": rng.normal(0, 1, 30), "c": rng.choice(["u", "v"], 30)})
    b = pd.DataFrame({"x": rng.normal(3, 1, 30), "c": ["u"] * 30})
    d = diff_versions(record("f", 1, a, tmp_path), record("f", 2, b, tmp_path))
    assert [c["verdict"] for c in d["distributions"]] == ["not enough rows", "not enough rows"]
    assert d["verdict"] == "not enough rows" and d["changed_columns"] == []
    assert diff_versions(record("f", 1, a, tmp_path), record("f", 2, b, tmp_path),
                         Thresholds(min_rows=10))["changed_columns"] == ["x", "c"]


def test_large_versions_are_compared_on_evenly_spaced_rows_and_dates_as_times(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    start = pd.Timestamp("2024-01-01")
    a = pd.DataFrame({"x": rng.normal(0, 1, 400), "t": start + pd.to_timedelta(rng.integers(0, 30, 400), unit="D")})
    b = pd.DataFrame({"x": rng.normal(0, 1, 500), "t": start + pd.to_timedelta(rng.integers(60, 90, 500), unit="D"),
                      "extra": 1})
    d = diff_versions(record("g", 1, a, tmp_path), record("g", 2, b, tmp_path), max_rows=200)
    assert d["sampled"] and d["compared_rows"] == [200, 200] and d["rows"] == [400, 500]
    assert [(s["column"], s["change"]) for s in d["schema"]] == [("extra", "added")]
    t = by_column(d)["t"]
    assert t["kind"] == "numeric" and t["verdict"] == "drift" and "2024-01-1" in t["summary"]
    assert "compared 200 and 200 evenly spaced rows" in diff_text(d)


def test_a_column_that_changed_type_is_compared_as_it_was(tmp_path: Path) -> None:
    a = pd.DataFrame({"x": np.arange(100.0)})
    b = pd.DataFrame({"x": [str(v) if v % 2 else "n/a" for v in range(100)]})
    d = diff_versions(record("h", 1, a, tmp_path), record("h", 2, b, tmp_path))
    assert d["schema"][0]["change"] == "type"
    x = by_column(d)["x"]
    assert x["verdict"] == "drift" and "missing 0.0% -> 50.0%" in x["summary"]
