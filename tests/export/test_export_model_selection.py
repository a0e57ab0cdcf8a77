"""Export of Tune Model Hyperparameters and Cross Validate Model: the tuned learner is the designer's winner with
every parameter spelled out (the search is not re-run, its report not checked), and cross-validation refits the
exported Pipeline in the designer's folds; each script's `--check` passes, its scored rows equal the designer's
bit for bit, and a wrong seed or parameter written into it makes the check fail."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from designer.core.engine import Engine
from designer.core.export import SCRIPT_LIBRARIES, Expected, NeedsRun, export_script, literal
from designer.core.pipeline import Pipeline
from designer.core.runner import metrics_of
from tests.conftest import DATA
from tests.export.test_export import call, imported_modules, run_script
from tests.nodes.test_crossval import messy_cv
from tests.nodes.test_tune import LINEAR_SPACE, tune_pipeline

CHECKED = "check: identical to the designer's results"


def designer_run(pipeline: Pipeline, base: Path = DATA) -> Any:
    result = Engine().run(pipeline, base, keep_outputs=True)
    assert result.ok, result.errors
    return result


def exported(pipeline: Pipeline, result: Any, folder: Path, base: Path = DATA) -> tuple[Path, str]:
    """The pipeline's script, exported with the run's values and metrics, written to `folder`."""
    script = folder / "train.py"
    text = export_script(pipeline, base, script, expected=Expected("run-1", "0" * 64, metrics_of(result)),
                         values=result.outputs)
    script.write_text(text)
    return script, text


def assert_checks_and_scores_like_the_designer(script: Path, result: Any) -> None:
    """`--check` passes and every scored table the script writes equals the designer's, every value as text."""
    out = script.parent / "scored"
    done = run_script(script, "--check", "--scored-out", str(out))
    assert done.returncode == 0, done.stderr
    assert CHECKED in done.stdout
    nodes = [n for n, outs in result.outputs.items() if getattr(outs.get("scored"), "scored", None)]
    assert nodes
    for node in nodes:
        assert (out / f"{node}.scored.csv").read_text() == result.outputs[node]["scored"].view.to_csv(index=False)


def assert_plain_script(script: Path, text: str) -> None:
    """Only pandas, numpy, scikit-learn (and threadpoolctl, the standard library); ruff finds nothing."""
    assert imported_modules(text) - set(sys.stdlib_module_names) <= set(SCRIPT_LIBRARIES)
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if Path(ruff).exists():
        done = subprocess.run([ruff, "check", "--isolated", "--no-cache", str(script)], capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def assert_broken_fails(script: Path, text: str, old: str, new: str) -> None:
    """The script with `old` written as `new` (once) fails its `--check`."""
    assert text.count(old) == 1, old
    broken = script.parent / "broken.py"
    broken.write_text(text.replace(old, new))
    done = run_script(broken, "--check")
    assert done.returncode != 0 and "metrics differ from the designer's" in done.stderr


# ------------------------------------------------------------------------------------------------ tune
TUNED = {
    "linear": ("diabetes", "progression", "learn.linear_regression",
               {"search": "random", "space": LINEAR_SPACE, "candidates": 6, "seed": 5}, {}, False),
    "boosted_halving_clean": ("messy_housing", "price_k", "learn.boosted_regression",
                              {"search": "halving", "candidates": 6, "seed": 3,
                               "space": {"learning_rate": {"low": 0.05, "high": 0.3, "log": True},
                                         "n_trees": {"low": 5, "high": 15}}},
                              {"max_leaves": 8}, True),
}


@pytest.mark.parametrize("case", list(TUNED))
def test_tuned_learner_exports_as_the_winner_and_the_script_matches_the_designer(case: str, tmp_path: Path) -> None:
    dataset, label, learner, tune, learner_params, clean = TUNED[case]
    pipeline = tune_pipeline(dataset, label, learner, {**tune, "cache": False}, learner_params, clean=clean)
    result = designer_run(pipeline)
    script, text = exported(pipeline, result, tmp_path)
    assert_checks_and_scores_like_the_designer(script, result)
    assert_plain_script(script, text)

    tuned = result.outputs["tune"]["learner"]
    est = tuned.estimator
    winner = result.outputs["tune"]["report"].entries[0]["best"]
    # the winner's parameters, every one of the estimator's spelled out, in the learner Train Model fits
    assert f'("learner", {type(est).__name__}(' in text
    for name, value in est.get_params(deep=False).items():
        assert f"{name}={literal(value)}" in text
    comment = re.sub(r"\n *# ", " ", text)  # the comment at the node, its lines joined
    assert f"Winner: {', '.join(f'{k}={literal(v)}' for k, v in winner.items())};" in comment
    assert f": {literal(tuned.tuned['score'])}." in comment and "designer run run-1." in comment
    assert f"seed {tune['seed']}:" in comment and "3-fold inner cross-validation" in comment
    # the search is not re-run: its report is left out of EXPECTED, saying why; Evaluate's metrics are in it
    expected = text[text.index("EXPECTED = "):text.index("\n}\n", text.index("EXPECTED = "))]
    assert "'tune'" not in expected and "'evaluate'" in expected
    assert "# Not checked: the report of 'tune'" in text and "does not re-run the search" in comment

    # a wrong winner's parameter: Evaluate's metrics differ
    param, after = ("alpha", "fit_intercept") if case == "linear" else ("learning_rate", "max_iter")
    value = est.get_params()[param]
    assert_broken_fails(script, text, f"{param}={literal(value)}, {after}=",
                        f"{param}={literal(value * 1.5)}, {after}=")


def test_tune_export_needs_the_run_that_chose_the_winner(tmp_path: Path) -> None:
    pipeline = tune_pipeline("diabetes", "progression", "learn.linear_regression",
                             {"search": "random", "space": LINEAR_SPACE, "candidates": 2, "cache": False})
    with pytest.raises(NeedsRun) as err:
        export_script(pipeline, DATA, tmp_path / "x.py")
    assert err.value.location.node == "tune"


def test_cli_export_of_a_tuned_pipeline_runs_it_for_the_winner_and_checks(tmp_path: Path) -> None:
    """A recorded run gives no values: Tune's export needs one, so `export` runs the pipeline itself."""
    pipeline = tune_pipeline("diabetes", "progression", "learn.linear_regression",
                             {"search": "grid", "space": {"l2": {"values": [0.01, 1.0, 10.0]}}, "cache": False})
    path = tmp_path / "tuned.pipeline.json"
    path.write_text(pipeline.to_json_text())
    rc, out, err = call(["run", str(path), "--out", str(tmp_path / "out"), "--json"])
    assert rc == 0, err
    recorded = json.loads(out)["run_id"]
    rc, out, err = call(["export", str(path), "-o", str(tmp_path / "train.py"), "--check"])
    assert rc == 0, err
    assert CHECKED in out and f"from run {recorded}" not in out
    text = (tmp_path / "train.py").read_text()
    assert "Ridge(alpha=" in text and "grid search of Linear Regression" in text


# ------------------------------------------------------------------------------------------------ cross validate
SMALL_BOOSTED = {"n_trees": 10, "learning_rate": 0.1, "max_leaves": 15, "min_samples_leaf": 10, "seed": 42}


def with_learner_params(pipeline: Pipeline, **learner: Any) -> Pipeline:
    data = json.loads(pipeline.to_json_text())
    for node in data["nodes"]:
        if node["id"] == "learner":
            node["params"] = {**node["params"], **learner}
    return Pipeline.model_validate(data)


def test_cross_validate_on_messy_housing_reproduces_every_fold_exactly(tmp_path: Path) -> None:
    pipeline = with_learner_params(messy_cv({"folds": 3}), **SMALL_BOOSTED)
    result = designer_run(pipeline)
    script, text = exported(pipeline, result, tmp_path)
    assert_checks_and_scores_like_the_designer(script, result)  # cv.scored.csv: folds and out-of-fold predictions
    assert_plain_script(script, text)
    assert "KFold(n_splits=3, shuffle=True, random_state=3)" in text
    assert "step('encode', OneHotEncoder(" in text and "max_iter=10" in text
    # --check compares each fold's metrics, the mean and std and the pooled ones
    entry = result.outputs["cv"]["report"].entries[0]
    for value in (entry["folds"][2]["metrics"]["r2"], entry["std"]["mae"], entry["metrics"]["rmse"],
                  entry["pooled"]["relative_absolute_error"]):
        assert f": {literal(value)}," in text
    assert_broken_fails(script, text, "KFold(n_splits=3, shuffle=True, random_state=3)",
                        "KFold(n_splits=3, shuffle=True, random_state=4)")


def test_stratified_cross_validate_of_a_classifier_reproduces_folds_probabilities_and_metrics(tmp_path: Path) -> None:
    nodes = [{"id": "data", "type": "data.sample", "params": {"dataset": "breast_cancer"}},
             {"id": "scale", "type": "clean.normalize", "params": {}},
             {"id": "learner", "type": "learn.logistic_regression", "params": {"C": 0.5}},
             {"id": "cv", "type": "evaluate.cross_validate", "params": {"label": "diagnosis", "folds": 3, "seed": 7}},
             {"id": "evaluate", "type": "evaluate.model", "params": {}}]
    links = [("data.data", "scale.data"), ("scale.data", "cv.data"), ("learner.learner", "cv.learner"),
             ("cv.scored", "evaluate.scored")]
    pipeline = Pipeline.model_validate({"format": "pipeline-designer", "version": 2, "name": "cv classes",
                                        "nodes": nodes, "links": [{"from": a, "to": b} for a, b in links]})
    result = designer_run(pipeline)
    script, text = exported(pipeline, result, tmp_path)
    assert_checks_and_scores_like_the_designer(script, result)
    assert "StratifiedKFold(n_splits=3, shuffle=True, random_state=7)" in text
    assert "'roc_auc'" in text  # probabilities of every fold, in the metrics checked
    assert_broken_fails(script, text, "C=0.5,", "C=0.25,")


def test_grouped_folds_meta_columns_and_folds_with_other_one_hot_columns(tmp_path: Path) -> None:
    """A group column set aside as a meta column (GroupKFold), and a category only one row has: the fold whose
    test rows hold it learns one one-hot column fewer, and the script gives that fold its own feature list."""
    import pandas as pd

    frame = pd.read_csv(DATA / "messy_housing.csv", keep_default_na=False, dtype=str)
    frame.insert(0, "block", [f"b{i // 25}" for i in range(len(frame))])
    frame.loc[7, "city"] = "Coimbra"
    frame.to_csv(tmp_path / "housing.csv", index=False)
    data = json.loads(with_learner_params(messy_cv({"folds": 3, "group": "block"}), **SMALL_BOOSTED).to_json_text())
    data["nodes"][0]["params"] = {"path": "housing.csv", "meta_columns": ["block"]}
    next(n for n in data["nodes"] if n["id"] == "encode")["params"] = {"unseen": "ignore"}
    pipeline = Pipeline.model_validate(data)
    result = designer_run(pipeline, tmp_path)
    script, text = exported(pipeline, result, tmp_path, tmp_path)
    assert_checks_and_scores_like_the_designer(script, result)
    assert "GroupKFold(n_splits=3, shuffle=True, random_state=3), data_data['block'].to_numpy()" in text
    assert "meta=['block']" in text
    per_fold = ast.literal_eval(re.search(r"fold_features=(\[\[.*?\]\])", text).group(1))
    assert sorted("city_Coimbra" in f for f in per_fold) == [False, True, True]


def test_cli_export_of_cross_validation_reuses_the_recorded_run_and_checks_every_fold(tmp_path: Path) -> None:
    """Columns known without a run (no one-hot): the script carries the recorded run's report as stored, per-fold
    metrics included, and its check passes."""
    nodes = [{"id": "data", "type": "data.sample", "params": {"dataset": "wine"}},
             {"id": "scale", "type": "clean.normalize", "params": {}},
             {"id": "learner", "type": "learn.logistic_regression", "params": {}},
             {"id": "cv", "type": "evaluate.cross_validate", "params": {"label": "cultivar", "folds": 3}}]
    links = [("data.data", "scale.data"), ("scale.data", "cv.data"), ("learner.learner", "cv.learner")]
    path = tmp_path / "cv.pipeline.json"
    path.write_text(Pipeline.model_validate({
        "format": "pipeline-designer", "version": 2, "name": "cv wine", "nodes": nodes,
        "links": [{"from": a, "to": b} for a, b in links]}).to_json_text())
    rc, out, err = call(["run", str(path), "--out", str(tmp_path / "out"), "--json"])
    assert rc == 0, err
    recorded = json.loads(out)["run_id"]
    rc, out, err = call(["export", str(path), "-o", str(tmp_path / "train.py"), "--check"])
    assert rc == 0, err
    assert f"from run {recorded}" in out and CHECKED in out
    assert "'folds': [" in (tmp_path / "train.py").read_text()
