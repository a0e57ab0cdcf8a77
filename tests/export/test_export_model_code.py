"""The model viewer's "Copy as Python" (designer.core.export.model_code) for models whose recipe holds Clip Values
and Edit Metadata steps: the copied code defines the helpers it needs, imports nothing of the designer's, passes
ruff, and its Pipeline, fitted on the training rows its first comment names, predicts exactly like the designer's
Score Model. (The viewer's button itself: tests/gui/test_export_gui.py.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from designer.core.engine import Engine
from designer.core.errors import BadInput
from designer.core.export import model_code, step_code
from designer.core.model import predict_outputs
from designer.core.pipeline import Pipeline, parse_pipeline
from designer.core.recipe import ClipStep, Step
from tests.conftest import SAMPLES
from tests.export.test_export import assert_passes_ruff, assert_plain_imports

PCT = {"columns": {"mode": "numeric", "exclude": ["price_k"]}, "mode": "percentiles", "lower_percentile": 5,
       "upper_percentile": 95}
BOUNDS = {"columns": ["age"], "mode": "bounds", "lower": 5.0, "upper": 70.0}
EDIT = {"cast": {"rooms": "categorical", "distance_km": "numeric"}, "rename": {"area_m2": "area", "age_years": "age"}}


def clipped_and_edited() -> Pipeline:
    """Messy housing: split, Edit Metadata (a cast to categorical, a cast to numeric, two renames), fill missing
    values, Clip Values at the 5th and 95th percentiles, Clip Values of 'age' to fixed bounds, one-hot encoding,
    and a linear regression (every clipped value moves its coefficients, hence every prediction)."""
    data = json.loads((SAMPLES / "messy_housing_boosted_trees.pipeline.json").read_text())
    nodes = {n["id"]: n for n in data["nodes"]}
    nodes["learner"].update(type="learn.linear_regression", params={"l2": 0.5})
    nodes["encode"]["params"]["unseen"] = "ignore"  # a category of rooms seen only in the test rows
    nodes.update({"edit": {"id": "edit", "type": "clean.edit", "params": EDIT},
                  "clip_pct": {"id": "clip_pct", "type": "clean.clip", "params": PCT},
                  "clip_bounds": {"id": "clip_bounds", "type": "clean.clip", "params": BOUNDS}})
    data["nodes"] = list(nodes.values())
    chain = ["split.train", "edit.data", "fill_numbers.data", "fill_text.data", "clip_pct.data", "clip_bounds.data",
             "encode.data", "train.data"]
    data["links"] = [l for l in data["links"] if l["to"] not in chain]
    data["links"] += [{"from": a, "to": b.split(".")[0] + ".data"} for a, b in zip(chain, chain[1:])]
    return parse_pipeline(json.dumps(data))


@pytest.fixture(scope="module")
def designer_run() -> Any:
    result = Engine().run(clipped_and_edited(), SAMPLES.resolve(), keep_outputs=True)
    assert result.ok, result.errors
    return result


def copied_predictions(text: str, run: Any) -> tuple[Any, np.ndarray]:
    """The copied code executed, its `model` fitted on the training rows and predicting the test rows (with the
    designer's own prediction call: BLAS sums rows in blocks of four, so the designer pads each batch to whole
    blocks on one thread; see designer.core.model.predict_outputs)."""
    namespace: dict[str, Any] = {}
    exec(compile(text, "<copied>", "exec"), namespace)  # noqa: S102  (the app's own generated code)
    inputs = namespace["INPUTS"]
    train, test = run.outputs["split"]["train"].frame, run.outputs["split"]["test"].frame
    model = namespace["model"].fit(train[inputs], train["price_k"])
    X = model[:-1].transform(test[inputs])
    return model, predict_outputs(model[-1], "regression", X)["prediction"]


def test_copy_as_python_of_clip_values_and_edit_metadata_predicts_exactly_like_score(designer_run: Any,
                                                                                     tmp_path: Path) -> None:
    model = designer_run.outputs["train"]["model"]
    assert [type(s).__name__ for s in model.recipe] == ["EditStep", "TransformerStep", "TransformerStep", "ClipStep",
                                                        "ClipStep", "EncodeStep"]
    text = model_code(model)
    train = designer_run.outputs["split"]["train"].frame
    assert text.startswith(f"# train: regression model predicting 'price_k', trained on {len(train)} rows; fit it "
                           "with model.fit(rows[INPUTS], rows['price_k'])\n")
    assert "step('clip_pct', ClipColumns(lower=None, upper=None, percentiles=(5.0, 95.0)), " in text
    assert "step('clip_bounds', ClipColumns(lower=5.0, upper=70.0, percentiles=None), ['age'])" in text
    assert ("step('edit', FunctionTransformer(func=edit_columns, inverse_func=None, validate=False, "
            "accept_sparse=False, check_inverse=True, feature_names_out=None, kw_args={'casts': {'rooms': "
            "'categorical', 'distance_km': 'numeric'}, 'renames': {'area_m2': 'area', 'age_years': 'age'}}, "
            "inv_kw_args=None), ['rooms', 'distance_km', 'area_m2', 'age_years'])") in text
    for helper in ("class ClipColumns(", "def percentile_bounds(", "def clip_columns(", "def edit_columns(",
                   "def cast_values(", "def to_numbers(", "def as_categories(", "def quote(", "def row_number("):
        assert text.count(helper) == 1, helper  # defined once, though two steps clip
    assert_plain_imports(text)
    (tmp_path / "copied.py").write_text(text)
    assert_passes_ruff(tmp_path / "copied.py")

    fitted, predictions = copied_predictions(text, designer_run)
    scored = designer_run.outputs["score"]["scored"].frame
    assert len(predictions) == len(scored) > 100
    assert np.array_equal(predictions, scored["prediction"].to_numpy())
    # the copy learned the designer's own bounds from the training rows, and they clip something
    designer_clip = next(s for s in model.recipe if s.node_id == "clip_pct")
    copy_clip = fitted.named_steps["clip_pct"].named_transformers_["clip_pct"]
    assert copy_clip.lower_ == designer_clip.lower and copy_clip.upper_ == designer_clip.upper
    assert (train["area_m2"] > designer_clip.upper[designer_clip.columns.index("area")]).any()
    assert (train["age_years"] > 70).any() and (train["age_years"] < 5).any()


@pytest.mark.parametrize("old, new", [
    ("percentiles=(5.0, 95.0)", "percentiles=(4.0, 95.0)"),
    ("percentiles=(5.0, 95.0)", "percentiles=(5.0, 96.0)"),
    ("lower=5.0, upper=70.0", "lower=5.0, upper=69.0"),
    ("'renames': {'area_m2': 'area', 'age_years': 'age'}", "'renames': {'area_m2': 'age', 'age_years': 'area'}"),
], ids=["another-lower-percentile", "another-upper-percentile", "another-bound", "swapped-renames"])
def test_a_wrong_copied_step_gives_other_predictions(designer_run: Any, old: str, new: str) -> None:
    """The comparison above compares numbers that depend on each step: the copy with one step changed fits and
    predicts, but otherwise than the designer."""
    text = model_code(designer_run.outputs["train"]["model"])
    assert text.count(old) == 1
    _, predictions = copied_predictions(text.replace(old, new), designer_run)
    assert not np.array_equal(predictions, designer_run.outputs["score"]["scored"].frame["prediction"].to_numpy())


def test_a_wrong_copied_cast_fails(designer_run: Any) -> None:
    """A cast of 'rooms' to boolean instead of categorical: its one-hot columns are not the model's features.
    (Without the cast, rooms' numbers would be one-hot encoded into the same columns: the cast changes no value
    the model sees, so only its being written, asserted above, can be checked.)"""
    text = model_code(designer_run.outputs["train"]["model"])
    with pytest.raises(KeyError, match="rooms_1.0"):
        copied_predictions(text.replace("'rooms': 'categorical'", "'rooms': 'boolean'"), designer_run)


def test_a_step_export_cannot_write_is_refused_naming_the_step_and_node() -> None:
    class OtherStep(Step):
        kind = "other"

    step = OtherStep(node_id="log", step_id="log@1", title="Log Transform", columns=["a"], kinds={},
                     fits_statistics=False)
    with pytest.raises(BadInput, match=r"export cannot yet write the step 'Log Transform' \(OtherStep\)") as err:
        step_code(step)
    assert err.value.location.node == "log"


def test_fixed_bounds_differing_by_column_are_refused_naming_the_node() -> None:
    """An older bundle's percentile step (no percentiles recorded) cannot be written as fixed bounds."""
    step = ClipStep([1.0, 2.0], [3.0, 4.0], node_id="clip", step_id="clip@1", title="Clip Values",
                    columns=["a", "b"], kinds={}, fits_statistics=True)
    step.percentiles = None
    with pytest.raises(BadInput, match="older bundle") as err:
        step_code(step)
    assert err.value.location.node == "clip"
