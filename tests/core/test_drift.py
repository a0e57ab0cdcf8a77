"""Drift: the reference profile Train Model stores in the bundle, the per-column measures and verdicts, the KS
p-value from the stored quantiles against scipy, and reports over captured rows with a daily trend."""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from designer.core.bundle import load_bundle, read_manifest, write_bundle
from designer.core.drift import (LEVELS, Thresholds, categorical_profile, compare_categorical, compare_numeric,
                                 numeric_profile)
from designer.core.drift_report import drift_report, drifting, html_report, parse_duration, parse_since, text_report
from designer.core.engine import Engine
from designer.core.errors import BadInput
from designer.core.serve.capture import CaptureWriter, frame_table, output_columns
from tests.conftest import DATA
from tests.serve_helpers import build_sample_bundles


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    return build_sample_bundles(tmp_path_factory.mktemp("b"), only=("messy_housing_boosted_trees",))[0]


# ------------------------------------------------------------------------------------------ the profile


def test_bundle_holds_a_reference_profile_of_the_raw_training_rows(messy):
    model, manifest, _ = load_bundle(messy.bundle)
    ref = model.reference
    assert "reference.json" in manifest["members"]  # covered by the manifest's hashes
    assert ref["rows"] == model.train_rows == 480
    assert set(ref["columns"]) == set(model.input_schema.names)
    area = ref["columns"]["area_m2"]
    assert area["missing"] > 0  # raw values: before the imputation the model was trained after
    assert len(area["quantiles"]) == 1001 and area["quantiles"] == sorted(area["quantiles"])
    assert ref["columns"]["city"]["categories"]["Lisbon"] > 0 and ref["columns"]["city"]["missing"] > 0
    assert ref["predictions"]["rows"] == "held-out" and ref["predictions"]["profile"]["count"] == len(messy.scored)


def test_quantiles_are_numpys_nearest_and_exact_for_small_references():
    rng = np.random.default_rng(0)
    x = rng.lognormal(size=777)
    x[::50] = np.nan
    prof = numeric_profile(x)
    present = x[np.isfinite(x)]
    assert prof["quantiles"] == np.quantile(present, LEVELS, method="nearest").tolist()
    assert prof["missing"] == 16 and prof["count"] == 777
    cur = rng.lognormal(0.05, 1, 3000)
    assert compare_numeric(prof, cur, Thresholds())["ks_p"] == pytest.approx(ks_2samp(present, cur).pvalue, abs=1e-12)


def test_clustering_prediction_profile_is_on_training_rows_when_nothing_is_held_out(tmp_path):
    b = build_sample_bundles(tmp_path, only=("iris_kmeans",))[0]
    model, _, _ = load_bundle(b.bundle)
    assert model.reference["predictions"]["rows"] == "training"
    assert model.reference["predictions"]["profile"]["kind"] == "categorical"


def test_training_row_predictions_are_profiled_on_a_seeded_sample_of_a_big_table(monkeypatch):
    import nodes.learn
    from designer.core.pipeline import load_pipeline
    from tests.conftest import SAMPLES

    monkeypatch.setattr(nodes.learn, "REFERENCE_PREDICTION_ROWS", 50)
    path = SAMPLES / "iris_kmeans.pipeline.json"
    model = Engine().run(load_pipeline(path), path.parent, keep_outputs=True).outputs["train"]["model"]
    ref = model.reference
    assert ref["rows"] == model.train_rows > 50  # every training row's raw inputs
    assert ref["predictions"]["rows"] == "training" and ref["predictions"]["profile"]["count"] == 50


def test_old_bundle_without_profile_loads_and_drift_says_so(messy, tmp_path):
    model, _, _ = load_bundle(messy.bundle)
    model.reference = None
    old = tmp_path / "old.bundle.zip"
    write_bundle(old, model, pipeline_json="{}", params={})
    assert "reference.json" not in zipfile.ZipFile(old).namelist()
    loaded, _, _ = load_bundle(old)
    assert loaded.reference is None
    with pytest.raises(BadInput, match="no reference profile"):
        drift_report(loaded.reference, model_name="old", data=messy.raw, model=loaded)


def test_a_changed_reference_is_refused(messy, tmp_path):
    bad = tmp_path / "bad.bundle.zip"
    with zipfile.ZipFile(messy.bundle) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.namelist():
            data = src.read(item)
            if item == "reference.json":
                data = data.replace(b'"rows":480', b'"rows":481')
            dst.writestr(item, data)
    with pytest.raises(BadInput, match="reference.json.*SHA-256"):
        read_manifest(bad)


# ------------------------------------------------------------------------------------------ measures


def test_numeric_measures_and_verdicts():
    rng = np.random.default_rng(1)
    prof = numeric_profile(rng.normal(10, 2, 5000))
    same = compare_numeric(prof, rng.normal(10, 2, 2000), Thresholds())
    assert same["verdict"] == "no drift" and same["effect"] < 0.1
    shifted = compare_numeric(prof, rng.normal(11, 2, 2000), Thresholds())
    assert shifted["verdict"] == "drift" and shifted["effect"] == pytest.approx(0.5, abs=0.08)
    assert shifted["location_p"] < 1e-6 and shifted["ks_p"] < 1e-6
    wide = compare_numeric(prof, np.r_[rng.normal(10, 2, 1900), [100.0] * 100], Thresholds())
    assert wide["out_of_range_rate"] == pytest.approx(0.05, abs=0.005)
    few = compare_numeric(prof, rng.normal(20, 2, 20), Thresholds())
    assert few["verdict"] == "not enough rows" and few["effect"] > 1
    assert compare_numeric(prof, rng.normal(20, 2, 20), Thresholds(min_rows=10))["verdict"] == "drift"
    assert compare_numeric(prof, rng.normal(10.5, 2, 2000), Thresholds(effect=0.5))["verdict"] == "no drift"


def test_missing_rate_change_alone_is_drift():
    rng = np.random.default_rng(2)
    prof = numeric_profile(rng.normal(size=5000))
    values = rng.normal(size=1000)
    values[:300] = np.nan
    r = compare_numeric(prof, values, Thresholds())
    assert r["missing_rate_change"] == pytest.approx(0.3) and r["verdict"] == "drift"
    assert [c["check"] for c in r["checks"] if c["drift"]] == ["missing rate"]


def test_categorical_measures_unseen_and_missing():
    ref = categorical_profile({"a": 500, "b": 300, "c": 200}, missing=0)
    same = compare_categorical(ref, {"a": 250, "b": 150, "c": 100}, 0, Thresholds())
    assert same["verdict"] == "no drift" and same["jensen_shannon"] < 0.01
    moved = compare_categorical(ref, {"a": 150, "b": 150, "c": 100, "zzz": 100}, 0, Thresholds())
    assert moved["verdict"] == "drift" and moved["unseen_rate"] == pytest.approx(0.2)
    assert moved["unseen"] == {"zzz": 100}
    assert moved["chi2_p"] < 1e-10 and moved["psi"] > 0.1
    missing = compare_categorical(ref, {"a": 250, "b": 150, "c": 100}, 300, Thresholds())
    assert missing["missing_rate"] == pytest.approx(0.375) and missing["verdict"] == "drift"


def test_ks_p_from_the_profile_against_scipy_on_the_raw_column():
    """A reference of up to EXACT_ROWS values keeps them all: KS p is scipy's exactly while both use the exact
    distribution (up to 10 million row pairs), within 0.01 above. A larger reference keeps 1,001 quantiles:
    within 0.01 too."""
    from designer.core.drift import EXACT_ROWS

    rng = np.random.default_rng(3)
    worst_exact, worst_large = 0.0, 0.0
    for n2 in (50, 200, 2000, 5000, 10000):
        for _ in range(3):
            ref, cur = rng.normal(size=5000), rng.normal(rng.choice([0, 1.0 / np.sqrt(n2)]), 1, n2)
            profile = numeric_profile(ref)
            assert len(profile["values"]) == 5000 and len(profile["quantiles"]) == 1001
            error = abs(compare_numeric(profile, cur, Thresholds())["ks_p"] - ks_2samp(ref, cur).pvalue)
            if 5000 * n2 <= 10_000_000:
                assert error < 1e-9, n2
            worst_exact = max(worst_exact, error)
    for n2 in (200, 2000):
        ref, cur = rng.exponential(size=4 * EXACT_ROWS), rng.exponential(1.02, n2)
        profile = numeric_profile(ref)
        assert "values" not in profile
        worst_large = max(worst_large, abs(compare_numeric(profile, cur, Thresholds())["ks_p"]
                                           - ks_2samp(ref, cur).pvalue))
    assert worst_exact <= 0.01 and worst_large <= 0.01


def test_discrete_numbers_do_not_raise_false_alarms():
    rng = np.random.default_rng(4)
    alarms = 0
    for _ in range(40):
        prof = numeric_profile(rng.integers(1, 7, 3000).astype(float))
        alarms += compare_numeric(prof, rng.integers(1, 7, 800).astype(float), Thresholds())["verdict"] == "drift"
    assert alarms <= 1
    prof = numeric_profile(rng.integers(1, 7, 3000).astype(float))
    assert compare_numeric(prof, rng.integers(2, 8, 800).astype(float), Thresholds())["verdict"] == "drift"


def test_durations():
    assert parse_duration("7d") == 7 * 86400 and parse_duration("90m") == 5400
    assert parse_since("2024-06-01").isoformat() == "2024-06-01T00:00:00+00:00"
    with pytest.raises(BadInput):
        parse_duration("soon")


# ------------------------------------------------------------------------------------------ captured rows


def _capture_days(model, raw: pd.DataFrame, folder: Path, days: list[tuple[float, pd.DataFrame]]) -> None:
    from designer.core.values import Table

    writer = CaptureWriter(folder, list(model.input_schema.columns), output_columns(model))
    try:
        for received, frame in days:
            scored = model.score(Table(frame=frame)).frame
            writer.write_table(frame_table(writer, frame, scored, request_id="r", received=received, latency_ms=1.0,
                                           status=200, error=None), received)
    finally:
        writer.close()


def test_report_over_captures_with_a_daily_trend(messy, tmp_path):
    model, _, _ = load_bundle(messy.bundle)
    rows = pd.read_csv(DATA / "messy_housing.csv").drop(columns=["price_k"])  # the rows the model came from
    moved = rows.copy()
    moved["area_m2"] = moved["area_m2"] * 1.8
    moved["city"] = "Porto"
    day = 86400.0
    start = (time.time() // day - 3) * day + 3600
    folder = tmp_path / "captures" / "messy" / "1"
    _capture_days(model, rows, folder, [(start, rows), (start + day, rows), (start + 2 * day, moved)])
    report = drift_report(model.reference, model_name="messy:1", captures=folder, window=day, model=model)
    assert report["source"]["rows"] == 3 * len(rows) and report["source"]["kind"] == "captures"
    windows = report["trend"]["windows"]
    assert [w["verdict"] for w in windows] == ["no drift", "no drift", "drift"]
    assert windows[2]["columns"]["area_m2"]["verdict"] == "drift"
    assert windows[2]["columns"]["city"]["verdict"] == "drift"
    assert windows[0]["columns"]["garden"]["verdict"] == "no drift"
    assert windows[2]["predictions"]["verdict"] == "drift"
    assert report["verdict"] == "drift" and drifting(report)
    since = drift_report(model.reference, model_name="messy:1", captures=folder,
                         since=parse_since(pd.Timestamp(start + 2 * day, unit="s").isoformat()), window=day)
    assert since["source"]["rows"] == len(rows) and len(since["trend"]["windows"]) == 1
    assert "area_m2" in text_report(report)
    page = html_report(report)
    assert page.startswith("<!DOCTYPE html>") and "data:image/png;base64" in page
    assert "<script src" not in page and "<link" not in page  # self-contained
    json.dumps(report)  # JSON-able as it is


def test_training_rows_profiled_in_place_equal_the_profile_of_their_copy() -> None:
    """The drift reference of a split's training rows reads them from the loaded table by position (no copy
    of the rows while the model fits); the profile is the one of the copied rows."""
    from designer.core.drift import reference_profile
    from designer.core.values import DataSource, Table

    rng = np.random.default_rng(5)
    loaded = pd.DataFrame({"x": rng.normal(size=300), "c": rng.choice(["a", "b", None], size=300),
                           "y": rng.normal(size=300)})
    table = Table.from_source(loaded, DataSource(name="t.csv", path="t.csv", sha256="0" * 64, rows=300, columns=3))
    train = table.with_frame(loaded.sample(frac=0.7, random_state=1))
    source, positions = train.raw_source()
    assert source is loaded and positions is not None and len(positions) == 210
    kinds = [("x", "numeric"), ("c", "categorical")]
    copied = train.raw_rows()
    assert copied.equals(loaded.loc[train.frame.index])
    assert reference_profile(source, kinds, positions=positions) == reference_profile(copied, kinds)
    assert reference_profile(source, kinds, positions=positions)["rows"] == 210
