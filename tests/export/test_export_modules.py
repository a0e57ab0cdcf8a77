"""Exports of single modules, each put into a sample pipeline that the designer runs and exports with the run's
values: the script, run with `--check`, gives the designer's metrics and Score output bit for bit and imports
only pandas, numpy and scikit-learn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from designer.core.engine import Engine
from designer.core.errors import BadInput
from designer.core.export import Expected, export_script
from designer.core.pipeline import Pipeline, parse_pipeline
from designer.core.runner import metrics_of
from tests.conftest import SAMPLES
from tests.export.test_export import (assert_checks_and_scores_like_the_designer, assert_passes_ruff,
                                     assert_plain_imports)


def with_node(sample: str, node: dict[str, Any], link: tuple[str, str], params: dict[str, dict[str, Any]] | None = None,
              drop: tuple[str, ...] = ()) -> Pipeline:
    """A sample pipeline with `node` put on its link `link` (from, to), other nodes' `params` updated and the
    nodes `drop` removed."""
    data = json.loads((SAMPLES / f"{sample}.pipeline.json").read_text())
    data["nodes"] = [n for n in data["nodes"] if n["id"] not in drop] + [node]
    for n in data["nodes"]:
        n["params"].update((params or {}).get(n["id"], {}))
    source, target = link
    links = [l for l in data["links"] if (l["from"], l["to"]) != link and l["from"].split(".")[0] not in drop
             and l["to"].split(".")[0] not in drop]
    assert len(links) == len(data["links"]) - 1 - sum(l["to"].split(".")[0] in drop for l in data["links"])
    data["links"] = links + [{"from": source, "to": f"{node['id']}.data"}, {"from": f"{node['id']}.data", "to": target}]
    return parse_pipeline(json.dumps(data))


def exported(pipeline: Pipeline, tmp_path: Path) -> tuple[str, Any]:
    """The pipeline run by the designer (outputs kept), and its script, written as tmp_path/train.py."""
    result = Engine().run(pipeline, SAMPLES.resolve(), keep_outputs=True)
    assert result.ok, result.errors
    script = tmp_path / "train.py"
    text = export_script(pipeline, SAMPLES.resolve(), script, expected=Expected("test", "0" * 64, metrics_of(result)),
                         values=result.outputs)
    script.write_text(text)
    return text, result


def assert_exact(pipeline: Pipeline, tmp_path: Path) -> str:
    """The exported script checks the designer's metrics, writes its scored rows bit for bit, imports only
    pandas, numpy and scikit-learn, and passes ruff; returns its text."""
    text, result = exported(pipeline, tmp_path)
    assert_plain_imports(text)
    assert_checks_and_scores_like_the_designer(tmp_path / "train.py", result)
    assert_passes_ruff(tmp_path / "train.py")
    return text


@pytest.mark.parametrize("params", [
    {"mode": "fraction", "fraction": 0.6, "seed": 3},
    {"mode": "rows", "rows": 250, "seed": 5},
    {"mode": "fraction", "fraction": 0.7, "stratify": "sex", "seed": 9},
    {"mode": "rows", "rows": 300, "stratify": "sex", "seed": 11},
], ids=["fraction", "rows", "stratified-fraction", "stratified-rows"])
def test_partition_and_sample_exports_the_designers_sample(params: dict[str, Any], tmp_path: Path) -> None:
    pipeline = with_node("diabetes_linear_regression", {"id": "sample", "type": "split.sample", "params": params},
                         ("data.data", "split.data"))
    text = assert_exact(pipeline, tmp_path)
    assert (f"sample_data = sampled_rows(data_data, mode={params['mode']!r}, fraction={params.get('fraction', 0.1)}, "
            f"rows={params.get('rows', 10_000)}, stratify={params.get('stratify', '')!r}, seed={params['seed']})"
            ) in text
    assert text.count("def sampled_rows(") == 1 and text.count("def quotas(") == 1


@pytest.mark.parametrize("params", [
    {"columns": {"mode": "numeric", "exclude": ["progression"]}, "lower_percentile": 5, "upper_percentile": 95},
    {"columns": ["bmi", "bp"], "mode": "bounds", "lower": -0.05, "upper": 0.06},
    {"columns": ["s1"], "mode": "bounds", "upper": 0.05},
], ids=["percentiles", "bounds", "upper-bound"])
def test_clip_values_exports_a_transformer_that_learns_the_same_bounds(params: dict[str, Any],
                                                                        tmp_path: Path) -> None:
    pipeline = with_node("diabetes_linear_regression", {"id": "clip", "type": "clean.clip", "params": params},
                         ("split.train", "scale.data"))
    text = assert_exact(pipeline, tmp_path)
    if params.get("mode") == "bounds":
        bounds = f"lower={params.get('lower')}, upper={params['upper']}, percentiles=None"
        assert f"step('clip', ClipColumns({bounds})" in text
    else:
        assert "step('clip', ClipColumns(lower=None, upper=None, percentiles=(5.0, 95.0)), ['age', 'sex'," in text
    assert "class ClipColumns(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):" in text


@pytest.mark.parametrize("params, link", [
    ({"cast": {"rooms": "categorical", "distance_km": "numeric"}, "rename": {"area_m2": "area", "rooms": "room_count"},
      "meta": ["condition"]}, ("split.train", "fill_numbers.data")),
    # roles only, before the split: the scored test rows give 'city' back first, as a meta column
    ({"meta": ["city"]}, ("data.data", "split.data")),
], ids=["cast-rename-meta", "meta-only"])
def test_edit_metadata_exports_the_same_casts_renames_and_roles(params: dict[str, Any], link: tuple[str, str],
                                                                  tmp_path: Path) -> None:
    pipeline = with_node("messy_housing_boosted_trees", {"id": "edit", "type": "clean.edit", "params": params}, link,
                         # a category of rooms seen only in the test rows; fewer trees: a faster test
                         {"encode": {"unseen": "ignore"}, "learner": {"n_trees": 30}})
    text = assert_exact(pipeline, tmp_path)
    if "cast" in params:
        assert ("step('edit', FunctionTransformer(func=edit_columns, inverse_func=None, validate=False, "
                "accept_sparse=False, check_inverse=True, feature_names_out=None, kw_args={'casts': {'rooms': "
                "'categorical', 'distance_km': 'numeric'}, 'renames': {'area_m2': 'area', 'rooms': 'room_count'}}, "
                "inv_kw_args=None), ['rooms', 'distance_km', 'area_m2'])") in text
    else:
        assert "step('edit'" not in text and "def edit_columns(" not in text  # roles only: no step to replay
        assert "'regression')" in text and "['city', 'area_m2', 'rooms'" in text  # shown: the meta column first


def test_an_edit_of_the_label_is_refused_naming_the_train_node(tmp_path: Path) -> None:
    for params, label, why in (({"cast": {"price_k": "numeric"}}, "price_k", "transforms the label 'price_k'"),
                               ({"rename": {"price_k": "price"}}, "price", "renamed or made ('price')")):
        pipeline = with_node("messy_housing_boosted_trees", {"id": "edit", "type": "clean.edit", "params": params},
                             ("split.train", "fill_numbers.data"),
                             {"train": {"label": label}, "fill_numbers": {"columns": {"mode": "numeric",
                                                                                      "exclude": [label]}},
                              "learner": {"n_trees": 5}}, drop=("score", "evaluate"))
        result = Engine().run(pipeline, SAMPLES.resolve(), keep_outputs=True)
        assert result.ok, result.errors
        with pytest.raises(BadInput, match="export cannot write") as err:
            export_script(pipeline, SAMPLES.resolve(), tmp_path / "x.py", values=result.outputs)
        assert err.value.location.node == "train" and why in err.value.message
