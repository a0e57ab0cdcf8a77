"""feature_matrix: a frame's features as one C-ordered float64 array, copied into row order by blocks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import designer.core.model as model_module
from designer.core.model import feature_matrix


def _frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(size=rows)})
    for i in range(6):  # columns added one by one: one pandas block each, as the recipe steps leave them
        frame[f"x{i}"] = rng.integers(0, 5, size=rows) if i % 2 else rng.normal(size=rows)
    frame["flag"] = rng.random(rows) < 0.5
    return frame


@pytest.mark.parametrize("rows", [0, 1, 7, 1000])
def test_rows_in_order_and_c_contiguous(rows: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_module, "COPY_BLOCK_BYTES", 8 * 8 * 3)  # 3 rows a block: many blocks, a short last
    frame = _frame(rows)
    X = feature_matrix(frame)
    expected = np.ascontiguousarray(frame.to_numpy(dtype=np.float64))
    assert X.dtype == np.float64 and X.flags.c_contiguous and X.shape == (rows, 8)
    assert np.array_equal(X, expected)


def test_frame_of_one_block() -> None:
    values = np.arange(12.0).reshape(4, 3)
    X = feature_matrix(pd.DataFrame(values.copy(), columns=list("abc")))
    assert X.flags.c_contiguous and np.array_equal(X, values)
