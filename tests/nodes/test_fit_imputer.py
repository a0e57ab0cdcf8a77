"""Clean Missing Data's median: computed column by column, the fitted SimpleImputer is the one sklearn fits."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer

from nodes.clean import fit_imputer


def imputer() -> SimpleImputer:
    return SimpleImputer(strategy="median", keep_empty_features=True)


@pytest.mark.parametrize("rows", [2, 3, 4, 5, 10, 11, 1000, 1001, 5000])
def test_the_fitted_imputer_is_sklearns_own_attribute_for_attribute(rows: int) -> None:
    rng = np.random.default_rng(rows)
    values = rng.normal(size=(rows, 5)) * 10.0 ** rng.integers(-3, 4, size=5)
    values[:, 1] = np.round(values[:, 1])  # ties in the middle
    values[:, 4] = rng.integers(0, 3, rows)
    values[rng.random(values.shape) < 0.3] = np.nan
    values[0] = 1.5  # no column is all missing
    frame = pd.DataFrame(values, columns=list("abcde"))
    theirs, ours = imputer().fit(frame), fit_imputer(imputer(), frame)
    assert set(vars(theirs)) == set(vars(ours))
    for name, value in vars(theirs).items():
        assert pickle.dumps(value) == pickle.dumps(vars(ours)[name]), name
    assert theirs.transform(frame).tobytes() == ours.transform(frame).tobytes()


def test_infinities_get_sklearns_own_error() -> None:
    frame = pd.DataFrame({"a": [1.0, np.inf, np.nan]})
    with pytest.raises(ValueError, match="infinity"):
        imputer().fit(frame)
    with pytest.raises(ValueError, match="infinity"):
        fit_imputer(imputer(), frame)
