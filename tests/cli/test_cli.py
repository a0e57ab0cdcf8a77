"""The headless command line: run, validate, score, nodes, schema, --help and exit statuses (DESIGN §6).

Most commands run in-process through `designer.cli.main` (fast); subprocesses are used where the exit
path or import isolation is the point (no Qt, lazy heavy imports).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from designer import cli
from designer.core.pipeline import load_pipeline
from tests.conftest import SAMPLES, sample_paths, sample_with_types

DIABETES = SAMPLES / "diabetes_linear_regression.pipeline.json"
MESSY = SAMPLES / "messy_housing_boosted_trees.pipeline.json"
STORE_ENV = "PIPELINE_DESIGNER_STORE"


def _stem(path: Path) -> str:
    return path.name.removesuffix(".pipeline.json")


@pytest.fixture(autouse=True)
def _private_run_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`run` records into a run store; keep it out of the repository (never beside the samples)."""
    monkeypatch.setenv(STORE_ENV, str(tmp_path / "store"))
    monkeypatch.delenv("PIPELINE_DESIGNER_DEBUG", raising=False)


def call(argv: list[str]) -> tuple[int, str, str]:
    """Run the CLI in-process; (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(argv)
    return rc, out.getvalue(), err.getvalue()


def subprocess_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PIPELINE_DESIGNER_DEBUG"}
    env[STORE_ENV] = str(tmp / "store")
    return env


@pytest.fixture(scope="module")
def sample_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every sample pipeline run once with `run --out`: {name: {rc, stdout, stderr, out}}."""
    root = tmp_path_factory.mktemp("samples")
    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(STORE_ENV, str(root / "store"))
        mp.delenv("PIPELINE_DESIGNER_DEBUG", raising=False)
        for path in sample_paths():
            out = root / _stem(path)
            rc, stdout, stderr = call(["run", str(path), "--out", str(out)])
            runs[_stem(path)] = {"rc": rc, "stdout": stdout, "stderr": stderr, "out": out}
    return runs


# ------------------------------------------------------------------------------------------------- run
@pytest.mark.parametrize("path", sample_paths(), ids=_stem)
def test_run_sample_writes_metrics_scored_tables_and_bundles(path: Path, sample_runs: dict[str, Any]) -> None:
    import pandas as pd

    from designer.core.bundle import load_bundle

    run = sample_runs[_stem(path)]
    assert run["rc"] == 0, run["stderr"]
    assert "Traceback" not in run["stdout"] + run["stderr"]
    out: Path = run["out"]
    pipeline = load_pipeline(path)
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["ok"] is True and summary["pipeline"] == pipeline.name and summary["errors"] == {}
    assert summary["metrics"], "every sample evaluates something"
    for node in pipeline.nodes:
        if node.type == "score.model":
            scored = pd.read_parquet(out / f"{node.id}.scored.parquet")  # Parquet unless --scored-format csv
            assert len(scored) > 0 and ({"prediction", "cluster"} & set(scored.columns))
            assert f"wrote {out / f'{node.id}.scored.parquet'}" in run["stdout"]
        if node.type.startswith("learn.train"):
            model, manifest, _ = load_bundle(out / f"{node.id}.bundle.zip")
            assert model.node_id == node.id and manifest["pipeline"]["name"] == pipeline.name
    for entries in summary["metrics"].values():  # the metrics are printed too
        for entry in entries:
            for name, value in entry["metrics"].items():
                assert name in run["stdout"]
                assert f"{value:.6g}" in run["stdout"]


def test_set_overrides_change_the_result_and_json_output_parses(tmp_path: Path,
                                                                 sample_runs: dict[str, Any]) -> None:
    default = json.loads((sample_runs[_stem(DIABETES)]["out"] / "metrics.json").read_text())
    rc, stdout, stderr = call(["run", str(DIABETES), "--out", str(tmp_path / "out"), "--json",
                               "--set", "split.fraction=0.5", "--set", "learner.l2=10"])
    assert rc == 0, stderr
    report = json.loads(stdout)  # nothing but JSON on stdout
    assert report["ok"] is True and report["errors"] == {} and report["cancelled"] is False
    assert set(report["status"]) == {n.id for n in load_pipeline(DIABETES).nodes}
    assert {"train.bundle.zip", "score.scored.parquet", "metrics.json"} <= {Path(a).name for a in report["artifacts"]}
    (entry,), (before,) = report["metrics"]["evaluate"], default["metrics"]["evaluate"]
    assert entry["rows"] == 221 and before["rows"] == 89  # half of 442 rows are test rows now
    assert entry["metrics"]["r2"] != before["metrics"]["r2"]
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["metrics"] == report["metrics"]


@pytest.mark.parametrize("override, names", [
    ("learner.l2", ("NODE.PARAM=VALUE",)),
    ("nosuch.l2=1", ("no node 'nosuch'",)),
    ("learner.l2=-1", ("node 'learner'", "parameter 'l2'", "-1")),
    ("learner.alpha=1", ("node 'learner'", "parameter 'alpha'", "unknown parameter")),
    ("split.fraction=half", ("node 'split'", "parameter 'fraction'", "half")),
])
def test_bad_set_exits_2_naming_the_parameter(override: str, names: tuple[str, ...], tmp_path: Path) -> None:
    rc, stdout, stderr = call(["run", str(DIABETES), "--out", str(tmp_path / "out"), "--set", override])
    assert rc == 2, stderr
    assert "Traceback" not in stdout + stderr
    for name in names:
        assert name in stderr, stderr


def test_upto_runs_only_what_the_node_needs(tmp_path: Path) -> None:
    rc, stdout, stderr = call(["run", str(DIABETES), "--out", str(tmp_path / "out"), "--upto", "train", "--json"])
    assert rc == 0, stderr
    report = json.loads(stdout)
    assert report["status"] == {n: "finished" for n in ("data", "split", "scale", "learner", "train")}
    assert report["metrics"] == {}
    written = {Path(a).name for a in report["artifacts"]}
    assert {"metrics.json", "train.bundle.zip"} <= written
    assert not any(".scored." in name for name in written)
    assert not (tmp_path / "out" / "score.scored.parquet").exists()

    rc, _, stderr = call(["run", str(DIABETES), "--out", str(tmp_path / "out"), "--upto", "nosuch"])
    assert rc == 2 and "node 'nosuch'" in stderr


def test_failed_run_exits_1_and_names_the_node(tmp_path: Path, test_modules: Any) -> None:
    """A node raising something that is not the user's fault is a failed run (1), not bad input (2)."""
    pipeline = sample_with_types("diabetes_linear_regression", tmp_path, evaluate="test.broken_evaluate")
    rc, stdout, stderr = call(["run", str(pipeline), "--out", str(tmp_path / "out")])
    assert rc == 1
    assert "node 'evaluate' failed" in stderr and "RuntimeError: the evaluation library broke" in stderr
    assert "Traceback" not in stdout + stderr
    summary = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert summary["ok"] is False and summary["status"]["evaluate"] == "failed"
    assert summary["status"]["train"] == "finished"  # a failure stops only what depends on it
    assert (tmp_path / "out" / "train.bundle.zip").is_file()


def test_unexpected_error_outside_a_node_exits_1_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(args: argparse.Namespace) -> int:
        raise ValueError("something internal")

    monkeypatch.setattr(cli, "cmd_schema", broken)
    rc, stdout, stderr = call(["schema"])
    assert rc == 1 and "ValueError: something internal" in stderr and "Traceback" not in stdout + stderr


# -------------------------------------------------------------------------------------------- validate
@pytest.mark.parametrize("path", sample_paths(), ids=_stem)
def test_validate_sample_exits_0(path: Path) -> None:
    rc, stdout, stderr = call(["validate", str(path)])
    assert rc == 0, stderr
    assert stdout.startswith("ok: ") and f"{len(load_pipeline(path).nodes)} nodes" in stdout


def test_validate_broken_pipeline_exits_2_in_text_and_json(tmp_path: Path) -> None:
    data = json.loads(DIABETES.read_text())
    for node in data["nodes"]:
        if node["id"] == "scale":
            node["params"]["columns"]["exclude"] = ["progress"]  # misspelt
        if node["id"] == "split":
            node["params"]["fraction"] = 2
    path = tmp_path / "broken.pipeline.json"
    path.write_text(json.dumps(data))

    rc, stdout, stderr = call(["validate", str(path)])
    assert rc == 2 and "ok:" not in stdout
    assert "node 'split', parameter 'fraction'" in stderr
    rc, stdout, _ = call(["validate", str(path), "--json"])
    assert rc == 2
    report = json.loads(stdout)
    assert report["ok"] is False
    assert {"severity": "error", "node": "split", "param": "fraction"}.items() <= report["issues"][0].items()

    data["nodes"][1]["params"]["fraction"] = 0.8  # now only the column is wrong (found by propagation)
    path.write_text(json.dumps(data))
    rc, _, stderr = call(["validate", str(path)])
    assert rc == 2 and "node 'scale'" in stderr and "column 'progress'" in stderr


# ----------------------------------------------------------------------------------------------- score
def test_score_new_raw_rows_equals_the_score_node(tmp_path: Path, sample_runs: dict[str, Any]) -> None:
    """The messy housing test rows, raw and without their label, scored by the bundle headless, give
    exactly what the Score node produced for them inside the run."""
    import pandas as pd

    from designer.core.engine import Engine

    out: Path = sample_runs[_stem(MESSY)]["out"]
    raw = Engine().run(load_pipeline(MESSY), MESSY.parent, upto="split").outputs["split"]["test"].frame
    assert raw.isna().any().any(), "the rows should still be messy"
    rows = tmp_path / "new_rows.csv"
    raw.drop(columns=["price_k"]).to_csv(rows, index=False)

    scored_path = tmp_path / "scored.csv"
    rc, stdout, stderr = call(["score", str(out / "train.bundle.zip"), str(rows), "-o", str(scored_path),
                               "--json"])
    assert rc == 0, stderr
    info = json.loads(stdout)
    assert info["rows"] == len(raw) and info["task"] == "regression"

    headless = pd.read_csv(scored_path)
    in_run = pd.read_parquet(out / "score.scored.parquet").drop(columns=["price_k"])
    assert "prediction" in headless.columns and len(headless) == len(raw)
    assert headless["source_row"].tolist() == list(range(1, len(raw) + 1))  # rows of new_rows.csv
    assert in_run["source_row"].tolist() == (raw.index + 1).tolist()  # rows of the run's source file
    pd.testing.assert_frame_equal(headless.drop(columns="source_row"), in_run.drop(columns="source_row"),
                                  check_exact=True)

    rc, stdout, _ = call(["score", str(out / "train.bundle.zip"), str(rows), "-o", str(tmp_path / "s2.csv")])
    assert rc == 0 and f"scored {len(raw)} rows" in stdout
    assert (tmp_path / "s2.csv").read_bytes() == scored_path.read_bytes()


# ------------------------------------------------------------------------------------ nodes and schema
def test_nodes_lists_every_type_with_params_and_defaults() -> None:
    from designer.core.registry import default_registry

    types = default_registry().types()
    rc, text, _ = call(["nodes"])
    assert rc == 0
    rc, js, _ = call(["nodes", "--json"])
    assert rc == 0
    catalogue = {e["type"]: e for e in json.loads(js)}
    assert set(catalogue) == set(types)
    for type_id, cls in types.items():
        entry = catalogue[type_id]
        assert type_id in text and cls.title in text
        assert entry["title"] == cls.title and entry["category"] == cls.category
        assert [p["name"] for p in entry["inputs"]] == [p.name for p in cls.inputs]
        assert [p["name"] for p in entry["outputs"]] == [p.name for p in cls.outputs]
        fields = cls.Params.model_fields
        assert set(entry["params"]) == set(fields)
        for name, field in fields.items():
            spec = entry["params"][name]
            assert f"    {name} = " in text
            if field.is_required():
                assert spec.get("required") is True and "default" not in spec, (type_id, name)
            else:
                default = field.get_default(call_default_factory=True)
                expected = default.model_dump(mode="json") if hasattr(default, "model_dump") else default
                assert spec["default"] == expected, (type_id, name)
    # a default made by a factory (a column selection) is listed, not shown as required
    assert catalogue["clean.normalize"]["params"]["columns"]["default"]["mode"] == "numeric"
    assert catalogue["learn.train"]["params"]["label"]["required"] is True


def _check(instance: Any, schema: dict[str, Any], root: dict[str, Any], where: str = "$") -> list[str]:
    """A small JSON Schema checker for the keywords pydantic emits (used when `jsonschema` is absent)."""
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return _check(instance, target, root, where)
    if "anyOf" in schema:
        if all(_check(instance, s, root, where) for s in schema["anyOf"]):
            return [f"{where}: matches none of anyOf"]
        return []
    problems: list[str] = []
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
             "integer": int, "number": (int, float)}
    t = schema.get("type")
    if t is not None:
        ok = isinstance(instance, kinds[t]) and not (t in ("integer", "number") and isinstance(instance, bool))
        if not ok:
            return [f"{where}: expected {t}"]
    if "enum" in schema and instance not in schema["enum"]:
        problems.append(f"{where}: not one of {schema['enum']}")
    if isinstance(instance, dict):
        props = schema.get("properties", {})
        problems += [f"{where}: missing '{k}'" for k in schema.get("required", []) if k not in instance]
        for key, value in instance.items():
            if key in props:
                problems += _check(value, props[key], root, f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{where}: unexpected '{key}'")
            elif isinstance(schema.get("additionalProperties"), dict):
                problems += _check(value, schema["additionalProperties"], root, f"{where}.{key}")
    if isinstance(instance, list):
        prefix = schema.get("prefixItems", [])
        for i, item in enumerate(instance):
            sub = prefix[i] if i < len(prefix) else schema.get("items")
            if sub is not None:
                problems += _check(item, sub, root, f"{where}[{i}]")
        if "minItems" in schema and len(instance) < schema["minItems"]:
            problems.append(f"{where}: too short")
        if "maxItems" in schema and len(instance) > schema["maxItems"]:
            problems.append(f"{where}: too long")
    return problems


def _schema_errors(instance: Any, schema: dict[str, Any]) -> list[str]:
    try:
        import jsonschema
    except ImportError:
        return _check(instance, schema, schema)
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [e.message for e in validator.iter_errors(instance)]


def test_schema_is_a_json_schema_that_validates_the_samples() -> None:
    rc, stdout, _ = call(["schema"])
    assert rc == 0
    schema = json.loads(stdout)
    assert schema["type"] == "object" and {"format", "version", "name", "nodes", "links", "layout"} <= set(
        schema["properties"])
    assert {"Node", "Link", "Layout"} <= set(schema["$defs"])
    for path in sample_paths():
        assert _schema_errors(json.loads(path.read_text()), schema) == [], path.name
    good = json.loads(DIABETES.read_text())
    for broken in ({**good, "colour": "blue"},
                   {**good, "nodes": [{"id": "a"}]},
                   {**good, "links": [{"from": "a.b"}]},
                   {**good, "version": "two"},
                   {**good, "layout": {"positions": {"a": [1, 2, 3]}}}):
        assert _schema_errors(broken, schema), broken


# ------------------------------------------------------------------------------------------------ help
def _subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append(prefix + (name,))
                found += _subcommands(sub, prefix + (name,))
    return found


def test_help_works_for_every_subcommand() -> None:
    commands = _subcommands(cli.build_parser())
    assert {("run",), ("validate",), ("score",), ("nodes",), ("schema",), ("open",)} <= set(commands)
    for command in [(), *commands]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exit_:
            cli.main([*command, "--help"])
        assert exit_.value.code == 0, command
        assert out.getvalue().startswith("usage: pipeline-designer"), command
        assert " ".join(command) in out.getvalue().splitlines()[0], command
    text = io.StringIO()
    with contextlib.redirect_stdout(text), pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "Exit status: 0 success, 1 failed run, 2 bad input" in text.getvalue()


def test_unknown_subcommand_or_option_exits_2() -> None:
    for argv in (["frobnicate"], ["run"], ["validate", "x.pipeline.json", "--bogus"]):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exit_:
            cli.main(argv)
        assert exit_.value.code == 2 and "usage:" in err.getvalue(), argv


# ------------------------------------------------------------------------------------ the headless rule
QT_BLOCKER = '''
import importlib.abc, sys

class _NoQt(importlib.abc.MetaPathFinder):
    """This machine has no Qt: PySide6 and shiboken6 cannot be imported."""
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6"):
            raise ImportError(f"{name} is blocked for this test (no Qt here)")
        return None

sys.meta_path.insert(0, _NoQt())
'''

HEADLESS_SCRIPT = '''
import importlib, json, pkgutil, sys
try:
    import PySide6  # the blocker must be active from interpreter start-up
    raise SystemExit("PySide6 was importable")
except ImportError:
    pass
names = []

def walk(name):  # every module of the package but the GUI (and __main__, which would run the CLI)
    names.append(name)
    module = importlib.import_module(name)
    for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
        child = f"{name}.{info.name}"
        if child != "designer.gui" and info.name != "__main__":
            walk(child)

walk("designer")
walk("nodes")
from designer.cli import main
rc = main(["run", sys.argv[1], "--out", sys.argv[2], "--json"])
qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6")
            or m.startswith("matplotlib.backends.backend_qt") or m.startswith("designer.gui"))
print(json.dumps({"rc": rc, "qt": qt, "imported": names}), file=sys.stderr)
'''


def test_headless_path_works_without_qt(tmp_path: Path) -> None:
    """designer.core.*, designer.cli (every designer module outside designer.gui) and nodes.* import, and
    a sample runs, where PySide6 cannot be imported at all; afterwards no Qt module is loaded."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent(QT_BLOCKER))
    env = subprocess_env(tmp_path)
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("QT_QPA_PLATFORM", None)
    proc = subprocess.run([sys.executable, "-c", HEADLESS_SCRIPT, str(SAMPLES / "iris_kmeans.pipeline.json"),
                           str(tmp_path / "out")], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report["rc"] == 0, proc.stderr
    assert report["qt"] == []
    assert {"designer.cli", "designer.core.engine", "nodes.learn"} <= set(report["imported"])
    assert json.loads(proc.stdout)["ok"] is True
    assert (tmp_path / "out" / "train.bundle.zip").is_file()


def test_light_commands_do_not_import_pandas_or_scikit_learn(tmp_path: Path) -> None:
    """`--help`, `validate`, `nodes` and `schema` stay fast: no pandas, scikit-learn or skops."""
    script = textwrap.dedent('''
        import contextlib, io, json, sys
        from designer.cli import main
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                main(["--help"])
            except SystemExit:
                pass
            codes = [main(["validate", sys.argv[1]]), main(["nodes"]), main(["nodes", "--json"]), main(["schema"])]
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("pandas", "sklearn", "skops", "scipy"))
        print(json.dumps({"codes": codes, "heavy": heavy}))
    ''')
    proc = subprocess.run([sys.executable, "-c", script, str(SAMPLES / "iris_kmeans.pipeline.json")],
                          cwd=tmp_path, env=subprocess_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report == {"codes": [0, 0, 0, 0], "heavy": []}


def test_no_display_gives_a_clear_message_instead_of_qts(monkeypatch, capsys):
    if sys.platform != "linux":
        pytest.skip("X11/Wayland checks are for Linux")
    assert "QT_QPA_PLATFORM=offscreen" in cli.display_problem({}, lambda lib: "x")
    assert cli.display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    missing = cli.display_problem({"DISPLAY": ":0"}, lambda lib: None if lib == "xcb-cursor" else "x")
    assert "libxcb-cursor" in missing and "apt-get install" in missing
    assert cli.display_problem({"DISPLAY": ":0"}, lambda lib: "x") is None
    assert cli.display_problem({"WAYLAND_DISPLAY": "wayland-0"}, lambda lib: None) is None
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    capsys.readouterr()
    assert cli.main(["open"]) == 1
    err = capsys.readouterr().err
    assert "no display" in err and "QT_QPA_PLATFORM=offscreen" in err and "reinstall" not in err
