"""Clean and transform modules: what each learns, how it replays, and how it refuses bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler

from designer.core.errors import BadInput
from designer.core.schema import TableSchema
from tests.nodes.helpers import node_schema, run_node, table


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "x": [1.0, np.nan, 3.0, 4.0, 100.0, np.nan],
        "z": [0.5, 1.5, 2.5, 3.5, 4.5, 5.5],
        "city": ["a", "b", None, "a", "a", "c"],
        "y": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    })


@pytest.mark.parametrize("mode, expected", [("mean", 27.0), ("median", 3.5), ("most_frequent", 1.0),
                                            ("constant", -1.0)])
def test_clean_missing_numeric_modes_learn_and_replay(frame, mode, expected):
    out = run_node("clean.missing", {"columns": ["x"], "mode": mode, "constant": -1}, data=table(frame))["data"]
    assert out.frame["x"].isna().sum() == 0 and out.frame.loc[1, "x"] == expected
    step = out.recipe[-1]
    new = pd.DataFrame({"x": [np.nan], "z": [0.0], "city": ["a"], "y": [0.0]})
    assert step.transform(new)["x"].iloc[0] == expected  # the learned value, not the new rows' statistic


def test_clean_missing_categorical_indicator_and_ratio_window(frame):
    out = run_node("clean.missing", {"columns": {"mode": "all"}, "mode": "most_frequent", "indicator": True},
                   data=table(frame))["data"]
    assert out.frame.loc[2, "city"] == "a"
    assert out.frame["x_missing"].tolist() == [0, 1, 0, 0, 0, 1]
    assert out.frame["city_missing"].tolist() == [0, 0, 1, 0, 0, 0]
    windowed = run_node("clean.missing", {"mode": "most_frequent", "min_missing_ratio": 0.3},
                        data=table(frame))["data"]
    assert windowed.frame["x"].isna().sum() == 0 and windowed.frame["city"].isna().sum() == 1


def test_clean_missing_remove_rows_and_columns(frame):
    rows = run_node("clean.missing", {"mode": "remove_row"}, data=table(frame))["data"]
    assert len(rows.frame) == 3 and rows.recipe == ()  # a row step: not part of the recipe
    cols = run_node("clean.missing", {"mode": "remove_column"}, data=table(frame))["data"]
    assert list(cols.frame.columns) == ["z", "y"]
    assert list(cols.recipe[-1].transform(frame).columns) == ["z", "y"]


def test_clean_missing_refuses_what_it_cannot_do(frame):
    with pytest.raises(BadInput) as err:
        node_schema("clean.missing", {"mode": "mean"}, data=TableSchema.of_frame(frame))
    assert err.value.location.column == "city" and err.value.location.param == "columns"
    empty = frame.assign(x=np.nan)
    with pytest.raises(BadInput, match="no values at all") as err:
        run_node("clean.missing", {"columns": ["x"], "mode": "median"}, data=table(empty))
    assert err.value.location.column == "x"
    with pytest.raises(BadInput, match="unknown column 'nope'"):
        node_schema("clean.missing", {"columns": ["nope"]}, data=TableSchema.of_frame(frame))


@pytest.mark.parametrize("method, scaler", [("zscore", StandardScaler), ("minmax", MinMaxScaler),
                                            ("robust", RobustScaler), ("maxabs", MaxAbsScaler)])
def test_normalize_equals_scikit_learn(frame, method, scaler):
    out = run_node("clean.normalize", {"columns": ["z", "y"], "method": method}, data=table(frame))["data"]
    np.testing.assert_array_equal(out.frame[["z", "y"]].to_numpy(), scaler().fit_transform(frame[["z", "y"]]))
    assert out.frame["x"].equals(frame["x"])


def test_normalize_refuses_text_columns(frame):
    with pytest.raises(BadInput, match="numeric") as err:
        node_schema("clean.normalize", {"columns": ["city"]}, data=TableSchema.of_frame(frame))
    assert err.value.location.column == "city"


def test_one_hot_replaces_the_column_in_place_and_names_unseen_categories(frame):
    out = run_node("clean.encode", {"columns": ["city"]}, data=table(frame))["data"]
    assert list(out.frame.columns) == ["x", "z", "city_a", "city_b", "city_c", "city_nan", "y"]
    step = out.recipe[-1]
    new = frame.iloc[:2].assign(city=["a", "Paris"])
    with pytest.raises(BadInput, match="unseen category 'Paris' at row 2") as err:
        step.transform(new)
    assert err.value.location.column == "city" and err.value.location.node == "n"


def test_encode_unseen_ignore_and_ordinal(frame):
    out = run_node("clean.encode", {"columns": ["city"], "unseen": "ignore"}, data=table(frame))["data"]
    row = out.recipe[-1].transform(frame.iloc[:1].assign(city=["Paris"]))
    assert row[["city_a", "city_b", "city_c"]].to_numpy().sum() == 0
    ordinal = run_node("clean.encode", {"columns": ["city"], "method": "ordinal", "unseen": "ignore"},
                       data=table(frame))["data"]
    assert ordinal.frame["city"].tolist()[:2] == [0.0, 1.0]
    assert ordinal.recipe[-1].transform(frame.iloc[:1].assign(city=["Paris"]))["city"].iloc[0] == -1


def test_select_duplicates_clip_and_edit(frame):
    sel = run_node("clean.select", {"columns": {"mode": "numeric", "exclude": ["y"]}}, data=table(frame))["data"]
    assert list(sel.frame.columns) == ["x", "z"]
    dup = run_node("clean.duplicates", {"columns": ["city"]}, data=table(frame))["data"]
    assert dup.frame["city"].fillna("-").tolist() == ["a", "b", "-", "c"] and dup.recipe == ()
    clip = run_node("clean.clip", {"columns": ["x"], "lower_percentile": 0, "upper_percentile": 75},
                    data=table(frame))["data"]
    assert clip.frame["x"].max() == np.nanpercentile(frame["x"], 75)
    bounds = run_node("clean.clip", {"columns": ["z"], "mode": "bounds", "lower": 1, "upper": 3},
                      data=table(frame))["data"]
    assert bounds.frame["z"].tolist() == [1, 1.5, 2.5, 3, 3, 3]
    edit = run_node("clean.edit", {"cast": {"z": "categorical"}, "rename": {"y": "target"}},
                    data=table(frame))["data"]
    assert list(edit.frame.columns) == ["x", "z", "city", "target"] and edit.frame["z"].dtype == object
    schema, _ = node_schema("clean.edit", {"cast": {"z": "categorical"}, "rename": {"y": "target"}},
                            data=TableSchema.of_frame(frame))
    assert schema["data"].columns == TableSchema.of_frame(edit.frame).columns


def test_edit_cast_names_the_bad_value(frame):
    with pytest.raises(BadInput, match="cannot cast .a. \\(row 1\\)") as err:
        run_node("clean.edit", {"cast": {"city": "numeric"}}, data=table(frame))
    assert err.value.location.column == "city"


def test_replay_without_the_label_column(frame):
    """Scoring rows have no label: steps fitted with it still apply to the other columns."""
    out = run_node("clean.normalize", {"columns": ["z", "y"]}, data=table(frame))["data"]
    new = frame.drop(columns="y")
    replayed = out.recipe[-1].transform(new, optional=["y"])
    assert list(replayed.columns) == ["x", "z", "city"]
    np.testing.assert_array_equal(replayed["z"].to_numpy(), out.frame["z"].to_numpy())
    with pytest.raises(BadInput, match="missing from the data") as err:
        out.recipe[-1].transform(new)
    assert err.value.location.column == "y"


def test_replay_refuses_text_in_a_numeric_column(frame):
    out = run_node("clean.normalize", {"columns": ["z"]}, data=table(frame))["data"]
    with pytest.raises(BadInput, match="expected numbers") as err:
        out.recipe[-1].transform(frame.assign(z=["1", "two", "3", "4", "5", "6"]))
    assert err.value.location.column == "z"
