"""Column profiles agree with pandas' own describe() and value_counts()."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from designer.core.profile import (ColumnProfile, format_stat, histogram, profile_column, profile_frame,
                                   profile_rows)
from tests.conftest import DATA


@pytest.fixture(scope="module")
def housing() -> pd.DataFrame:
    return pd.read_csv(DATA / "messy_housing.csv")


def close(a: object, b: object) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isclose(a, b, rel_tol=1e-12))


def test_numeric_statistics_equal_pandas_describe(housing: pd.DataFrame) -> None:
    for name in housing.select_dtypes("number").columns:
        p = profile_column(housing[name])
        d = housing[name].describe()
        assert p.kind == "numeric"
        assert p.count == d["count"] and p.missing == housing[name].isna().sum()
        for attr, key in (("mean", "mean"), ("std", "std"), ("min", "min"), ("q25", "25%"), ("q50", "50%"),
                          ("q75", "75%"), ("max", "max")):
            assert close(float(p.stat(attr)), float(d[key])), (name, attr)
        counts = housing[name].value_counts()
        assert p.unique == housing[name].nunique() and p.top == counts.index[0] and p.top_count == counts.iloc[0]
        assert sum(p.hist_counts) == p.count and len(p.hist_edges) == len(p.hist_counts) + 1


def test_categorical_statistics_equal_pandas_describe(housing: pd.DataFrame) -> None:
    for name in ("city", "condition", "garden"):
        p = profile_column(housing[name])
        d = housing[name].describe()
        assert p.kind == "categorical"
        assert (p.count, p.unique, p.top, p.top_count) == (d["count"], d["unique"], d["top"], d["freq"])
        assert p.mean is None and p.hist_counts == ()
        assert list(p.top_values) == [(str(k), int(v)) for k, v in housing[name].value_counts().items()]
        assert p.other_count == 0 and sum(p.distribution) == p.count


def test_top_values_are_capped_with_an_other_count() -> None:
    s = pd.Series([f"v{i % 15}" for i in range(150)] + [None] * 5, name="many")
    p = profile_column(s, top=4)
    assert len(p.top_values) == 4 and p.unique == 15
    assert p.other_count == 150 - sum(c for _, c in p.top_values)
    assert p.distribution[-1] == p.other_count and p.missing == 5


def test_whole_numbers_in_a_narrow_range_get_one_bin_per_value() -> None:
    counts, edges = histogram(np.array([1.0, 2, 2, 3, 3, 3, np.nan, np.inf]))
    assert counts == (1, 2, 3) and edges == (0.5, 1.5, 2.5, 3.5)
    counts, edges = histogram(np.linspace(0, 1, 101), bins=10)
    assert len(counts) == 10 and sum(counts) == 101
    counts, _ = histogram(np.array([0.1, 0.1 + 1e-17, 0.30000000000000004 - 0.2]))  # constant up to rounding
    assert counts == (3,)
    assert histogram(np.array([np.nan])) == ((), ())


def test_edge_cases_all_missing_boolean_datetime_and_mixed() -> None:
    empty = profile_column(pd.Series([np.nan, np.nan], name="gone"))
    assert (empty.count, empty.missing, empty.unique, empty.mean, empty.hist_counts) == (0, 2, 0, None, ())
    flags = profile_column(pd.Series([True, False, True], name="flag"))
    assert flags.kind == "boolean" and flags.top is True and flags.top_values[0] == ("True", 2)
    when = pd.Series(pd.to_datetime(["2024-01-01", "2024-03-01", None]), name="when")
    p = profile_column(when)
    assert p.kind == "datetime" and p.min == when.min() and p.max == when.max() and p.missing == 1
    mixed = profile_column(pd.Series(["a", 1, None, "a"], dtype=object, name="mixed"))
    assert mixed.kind == "categorical" and mixed.top == "a" and mixed.unique == 2


def test_frame_profile_and_records(housing: pd.DataFrame) -> None:
    profiles = profile_frame(housing)
    assert [p.name for p in profiles] == list(housing.columns)
    assert all(isinstance(p, ColumnProfile) and p.rows == len(housing) for p in profiles)
    rows = profile_rows(profiles)
    assert rows[0]["column"] == "area_m2" and rows[0]["Missing"] == housing["area_m2"].isna().sum()


def test_format_stat() -> None:
    assert format_stat(None) == "" and format_stat(1234567) == "1,234,567" and format_stat(3.0) == "3"
    assert format_stat(0.123456789) == "0.123457" and format_stat(True) == "True" and format_stat("x") == "x"
    assert format_stat(float("nan")) == "nan"
