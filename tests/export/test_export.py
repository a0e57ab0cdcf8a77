"""Export to a plain scikit-learn script: every sample pipeline's script, run in a subprocess with the same
Python, gives the designer's Score output bit for bit and its metrics exactly; golden files show changes of
the generated code in review (regenerate with PIPELINE_DESIGNER_REGEN_GOLDEN=1)."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from designer import cli
from designer.core.engine import Engine
from designer.core.export import SCRIPT_LIBRARIES, Expected, export_script
from designer.core.pipeline import load_pipeline
from designer.core.runner import metrics_of
from tests.conftest import SAMPLES, sample_paths

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("PIPELINE_DESIGNER_REGEN_GOLDEN") == "1"


def _stem(path: Path) -> str:
    return path.name.removesuffix(".pipeline.json")


def call(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(argv)
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def designer_runs() -> dict[str, Any]:
    """Each sample run once by the designer, outputs kept: {name: (pipeline, result)}."""
    runs = {}
    for path in sample_paths():
        pipeline = load_pipeline(path)
        result = Engine().run(pipeline, path.resolve().parent, keep_outputs=True)
        assert result.ok, result.errors
        runs[_stem(path)] = (pipeline, result)
    return runs


def _script(name: str, runs: dict[str, Any], where: Path) -> str:
    pipeline, result = runs[name]
    expected = Expected("golden", "0" * 64, metrics_of(result))
    return export_script(pipeline, SAMPLES.resolve(), where, expected=expected, values=result.outputs)


def imported_modules(text: str) -> set[str]:
    """The top-level modules a script imports (anywhere in it)."""
    out = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            out.add((node.module or "").split(".")[0])
    return out


RUNNER = """
import runpy, sys
path = sys.argv[1]
sys.argv = [path] + sys.argv[2:]
try:
    runpy.run_path(path, run_name="__main__")
except SystemExit as e:
    if e.code:
        raise
ours = sorted(m for m in sys.modules if m.split(".")[0] in ("designer", "nodes"))
assert not ours, f"the script imported {ours}"
"""


def run_script(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The script in a subprocess with the same Python, asserting it loaded nothing of the designer's."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-c", RUNNER, str(path), *args], capture_output=True, text=True,
                          env=env, cwd=path.parent)


def assert_checks_and_scores_like_the_designer(script: Path, result: Any) -> None:
    """`script --check --scored-out` exits 0 asserting the designer's metrics, and writes every Score Model
    output of the designer's `result` bit for bit."""
    folder = script.parent / f"{script.stem}.scored"
    done = run_script(script, "--check", "--scored-out", str(folder))
    assert done.returncode == 0, done.stderr
    assert "check: identical to the designer's results" in done.stdout
    scored_nodes = [n for n, outs in result.outputs.items() if getattr(outs.get("scored"), "scored", None)]
    assert scored_nodes
    for node in scored_nodes:
        designer = result.outputs[node]["scored"].view.to_csv(index=False)
        script_csv = (folder / f"{node}.scored.csv").read_text()
        assert script_csv == designer  # every value, every column, in order: bit for bit as text


def assert_plain_imports(text: str) -> None:
    """The script imports nothing but the standard library, pandas, numpy and scikit-learn (threadpoolctl)."""
    third_party = imported_modules(text) - set(sys.stdlib_module_names)
    assert third_party <= set(SCRIPT_LIBRARIES), third_party


@pytest.mark.parametrize("path", sample_paths(), ids=_stem)
def test_script_gives_the_designers_scored_rows_and_metrics_exactly(path: Path, designer_runs: dict[str, Any],
                                                                     tmp_path: Path) -> None:
    name = _stem(path)
    script = tmp_path / f"{name}.py"
    script.write_text(_script(name, designer_runs, script))
    assert_checks_and_scores_like_the_designer(script, designer_runs[name][1])


@pytest.mark.parametrize("path", sample_paths(), ids=_stem)
def test_script_imports_only_pandas_numpy_sklearn_and_passes_ruff_and_py_compile(
        path: Path, designer_runs: dict[str, Any], tmp_path: Path) -> None:
    script = tmp_path / f"{_stem(path)}.py"
    text = _script(_stem(path), designer_runs, script)
    script.write_text(text)
    assert_plain_imports(text)
    py_compile.compile(str(script), doraise=True)
    assert_passes_ruff(script)


def assert_passes_ruff(script: Path) -> None:
    """`ruff check --isolated` finds nothing in the script (skips the test when ruff is not installed)."""
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    done = subprocess.run([ruff, "check", "--isolated", "--no-cache", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", sample_paths(), ids=_stem)
def test_golden_file(path: Path, designer_runs: dict[str, Any]) -> None:
    """The generated code of each sample, checked in: a change of the generator shows up in review."""
    golden = GOLDEN / f"{_stem(path)}.py"
    text = _script(_stem(path), designer_runs, golden)
    if REGEN or not golden.exists():
        golden.write_text(text)
    assert golden.read_text() == text, f"{golden.name} changed; rerun with PIPELINE_DESIGNER_REGEN_GOLDEN=1 to accept"


def test_export_cli_writes_a_script_that_checks_and_reuses_the_recorded_run(tmp_path: Path) -> None:
    path = SAMPLES / "diabetes_linear_regression.pipeline.json"
    rc, out, err = call(["run", str(path), "--out", str(tmp_path / "out"), "--json"])
    assert rc == 0, err
    run_id = json.loads(out)["run_id"]
    rc, out, err = call(["export", str(path), "-o", str(tmp_path / "train.py"), "--check"])
    assert rc == 0, err
    assert f"from run {run_id}" in out  # the recorded run of the same pipeline text: no new run needed
    assert "check: identical to the designer's results" in out
    text = (tmp_path / "train.py").read_text()
    assert f"Designer run: {run_id}" in text and "train_test_split(" in text and "random_state=42" in text


def test_export_of_a_module_without_export_exits_2_naming_the_nodes(tmp_path: Path) -> None:
    data = json.loads((SAMPLES / "diabetes_linear_regression.pipeline.json").read_text())
    data["nodes"].append({"id": "trained", "type": "data.model", "params": {"model": "housing"}})
    path = tmp_path / "p.pipeline.json"
    path.write_text(json.dumps(data).replace("../resources", str(SAMPLES.parent / "resources")))
    rc, out, err = call(["export", str(path), "-o", str(tmp_path / "x.py")])
    assert rc == 2
    assert "trained" in err and "data.model" in err and "Traceback" not in err
    assert not (tmp_path / "x.py").exists()


def test_bundle_export_refits_and_asserts_predictions_on_the_stored_rows(tmp_path: Path) -> None:
    path = SAMPLES / "messy_housing_boosted_trees.pipeline.json"
    rc, out, err = call(["run", str(path), "--out", str(tmp_path / "out")])
    assert rc == 0, err
    bundle = tmp_path / "out" / "train.bundle.zip"
    rc, out, err = call(["export", str(bundle), "-o", str(tmp_path / "score.py"), "--base", str(SAMPLES)])
    assert rc == 0, err
    text = (tmp_path / "score.py").read_text()
    assert "def score(df, model=None):" in text and "CHECK_ROWS = pd.DataFrame(" in text
    done = run_script(tmp_path / "score.py", "--check")
    assert done.returncode == 0, done.stderr
    assert "20 stored rows scored bit for bit like the designer" in done.stdout
    # a wrong stored prediction is caught
    broken = text.replace("CHECK_PREDICTIONS = {\n    'prediction': [\n        ",
                          "CHECK_PREDICTIONS = {\n    'prediction': [\n        1.0 + ")
    assert broken != text
    (tmp_path / "broken.py").write_text(broken)
    assert run_script(tmp_path / "broken.py", "--check").returncode != 0


def test_export_of_a_fifty_node_pipeline_writes_every_step(tmp_path: Path) -> None:
    """A long cleaning chain (the bench measures its time): every step becomes one line of the Pipeline."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_export", SAMPLES.parent / "bench" / "bench_export.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pipeline = module.long_pipeline(50)
    text = export_script(pipeline, SAMPLES, tmp_path / "long.py")
    assert len(pipeline.nodes) == 50
    assert text.count("step('scale_") == 44
    (tmp_path / "long.py").write_text(text)
    py_compile.compile(str(tmp_path / "long.py"), doraise=True)


def test_bundles_keep_sample_rows_and_old_bundles_without_them_still_load(tmp_path: Path,
                                                                          designer_runs: dict[str, Any]) -> None:
    import zipfile
    from dataclasses import replace

    from designer.core.bundle import load_bundle, write_bundle

    pipeline, result = designer_runs["messy_housing_boosted_trees"]
    model = result.outputs["train"]["model"]
    assert model.sample is not None and len(model.sample) == 20 and "price_k" not in model.sample.columns
    train_rows = result.outputs["split"]["train"].frame.index
    new = tmp_path / "new.bundle.zip"
    manifest = write_bundle(new, model, pipeline_json=pipeline.to_json_text(), params={})
    assert "sample.json" in manifest["members"]
    loaded, _, _ = load_bundle(new)
    assert loaded.sample.equals(model.sample)
    assert set(model.sample.index) <= set(range(20))  # reset index; the rows themselves are training rows
    assert len(set(train_rows[:200]) & set(range(200))) > 0
    old = tmp_path / "old.bundle.zip"
    write_bundle(old, replace(model, sample=None), pipeline_json=pipeline.to_json_text(), params={})
    loaded_old, manifest_old, _ = load_bundle(old)
    assert loaded_old.sample is None and "sample.json" not in manifest_old["members"]
    tampered = tmp_path / "tampered.bundle.zip"
    with zipfile.ZipFile(new) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            dst.writestr(item, data.replace(b"29.4", b"29.5") if item.filename == "sample.json" else data)
    from designer.core.errors import BadInput

    with pytest.raises(BadInput, match="sample.json"):
        load_bundle(tampered)


def test_a_row_step_after_a_fitted_column_step_is_refused_naming_the_node(tmp_path: Path) -> None:
    from designer.core.errors import BadInput

    data = json.loads((SAMPLES / "diabetes_linear_regression.pipeline.json").read_text())
    # scale all rows first, then split: the script would have to split cleaned rows
    data["links"] = [{"from": "data.data", "to": "scale.data"}, {"from": "scale.data", "to": "split.data"},
                     {"from": "split.train", "to": "train.data"}, {"from": "learner.learner", "to": "train.learner"},
                     {"from": "train.model", "to": "score.model"}, {"from": "split.test", "to": "score.data"},
                     {"from": "score.scored", "to": "evaluate.scored"}]
    from designer.core.pipeline import parse_pipeline

    pipeline = parse_pipeline(json.dumps(data))
    with pytest.raises(BadInput) as err:
        export_script(pipeline, SAMPLES, tmp_path / "x.py")
    assert err.value.location.node == "split" and "row step" in err.value.message
