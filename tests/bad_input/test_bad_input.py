"""The bad-input corpus: every wrong pipeline, data file or bundle ends with exit status 2 and one clear
message naming what is wrong and where (node, port, parameter, column, file, line), never a traceback.

Each case runs the real command line (`python -m designer ...`) in a subprocess. The selected cases are
started together on a small thread pool when the first of them is needed, so the corpus costs about as
much wall time as its slowest few commands rather than the sum of all of them.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLES

CORPUS = Path(__file__).resolve().parent / "corpus"
MESSY = SAMPLES / "messy_housing_boosted_trees.pipeline.json"
WORKERS = max(2, min(4, os.cpu_count() or 2))
TIMEOUT = 120
TEST_NAME = "test_bad_input_exits_2_with_one_clear_message"


@dataclass(frozen=True)
class Case:
    """One bad input: the command (with {corpus}, {bundle}, {bundles} and {out} placeholders) and the
    names its one-line error message must contain."""

    name: str
    argv: tuple[str, ...]
    expect: tuple[str, ...]

    @property
    def needs_bundle(self) -> bool:
        return any("{bundle" in a for a in self.argv)

    def command(self, fill: dict[str, str]) -> list[str]:
        return [sys.executable, "-m", "designer", *(a.format(**fill) for a in self.argv)]


# pipeline file (corpus/NAME.pipeline.json) -> names the message must hold; run with `validate` and `run`
PIPELINE_CASES: dict[str, tuple[str, ...]] = {
    "not_json": ("not_json.pipeline.json", "line 7", "not valid JSON"),
    "version_too_new": ("version_too_new.pipeline.json", "line 3", "version 99", "newer"),
    "version_unsupported_old": ("version_unsupported_old.pipeline.json", "line 3", "version 0", "not supported"),
    "unknown_node_type": ("node 'magic'", "unknown module type", "clean.magic_wand"),
    "dangling_link": ("node 'scale'", "port 'data'", "scale.data → ghost.data", "no node 'ghost'"),
    "cycle": ("node 'scale'", "cycle", "scale → clip → scale"),
    "incompatible_ports": ("node 'split'", "port 'data'", "Learner", "Table", "learner.learner"),
    "two_links_one_input": ("node 'split'", "port 'data'", "split.data", "already has a link"),
    "missing_required_param": ("node 'train'", "parameter 'label'", "required"),
    "out_of_range_param": ("node 'split'", "parameter 'fraction'", "less than 1", "1.5"),
    "unknown_column_selection": ("node 'scale'", "parameter 'columns'", "column 'blood_sugar'", "unknown column"),
    "unknown_column_label": ("node 'train'", "parameter 'label'", "column 'outcome'", "unknown label column"),
    "csv_empty": ("empty.csv", "node 'load'", "parameter 'path'", "empty"),
    "csv_header_only": ("header_only.csv", "node 'load'", "parameter 'path'", "header but no rows"),
    "csv_non_utf8": ("non_utf8.csv", "line 3", "node 'load'", "not valid utf-8", "0xf6", "'encoding'"),
}
# found only when the data flows: `run` fails (validation cannot know)
RUN_ONLY_CASES: dict[str, tuple[str, ...]] = {
    "all_missing_median": ("node 'fill'", "column 'basement'", "no values at all", "median"),
}
# corpus/NAME.csv scored with a bundle trained on the messy housing sample
SCORE_CASES: dict[str, tuple[str, ...]] = {
    "score_missing_column": ("score_missing_column.csv", "column 'city'", "missing from the data"),
    "score_wrong_type": ("score_wrong_type.csv", "column 'area_m2'", "expected numbers"),
    "score_unseen_category": ("score_unseen_category.csv", "node 'encode'", "column 'city'",
                              "unseen category 'Atlantis'", "row 2"),
    "empty": ("empty.csv", "empty"),
    "non_utf8": ("non_utf8.csv", "line 3", "not valid utf-8", "0xf6"),
}
# broken bundles (made by `make_bad_bundles`) scoring good rows
BUNDLE_CASES: dict[str, tuple[str, ...]] = {
    "tampered": ("tampered.bundle.zip", "refused", "model.skops", "SHA-256"),
    "untrusted_type": ("untrusted_type.bundle.zip", "refused", "does not trust", "fractions.Fraction"),
    "wrong_class": ("wrong_class.bundle.zip", "refused"),
}
XFAIL: dict[str, str] = {}

CASES: dict[str, Case] = {}
for _name, _expect in PIPELINE_CASES.items():
    _file = f"{{corpus}}/{_name}.pipeline.json"
    CASES[f"validate-{_name}"] = Case(f"validate-{_name}", ("validate", _file), _expect)
    CASES[f"run-{_name}"] = Case(f"run-{_name}", ("run", _file, "--out", "{out}"), _expect)
for _name, _expect in RUN_ONLY_CASES.items():
    CASES[f"run-{_name}"] = Case(f"run-{_name}", ("run", f"{{corpus}}/{_name}.pipeline.json", "--out", "{out}"),
                                 _expect)
for _name, _expect in SCORE_CASES.items():
    CASES[f"score-{_name}"] = Case(f"score-{_name}", ("score", "{bundle}", f"{{corpus}}/{_name}.csv", "-o",
                                                      "{out}/scored.csv"), _expect)
for _name, _expect in BUNDLE_CASES.items():
    CASES[f"bundle-{_name}"] = Case(f"bundle-{_name}", ("score", f"{{bundles}}/{_name}.bundle.zip",
                                                        "{corpus}/score_good_rows.csv", "-o", "{out}/scored.csv"),
                                    _expect)
PARAMS = [pytest.param(name, id=name, marks=[pytest.mark.xfail(strict=True, reason=XFAIL[name])]
                       if name in XFAIL else []) for name in CASES]


# ------------------------------------------------------------------------------------------ helpers
def run_cli(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The command in a subprocess; runs are recorded in a throw-away store, never beside the pipeline."""
    env = {k: v for k, v in os.environ.items() if k != "PIPELINE_DESIGNER_DEBUG"}
    env["PIPELINE_DESIGNER_STORE"] = str(cwd / ".store")
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _with_payload(members: dict[str, bytes], payload: bytes) -> dict[str, bytes]:
    """`members` with model.skops replaced and the manifest's hash updated to match, so that only a type
    check can refuse it."""
    manifest = json.loads(members["manifest.json"])
    manifest["members"]["model.skops"] = hashlib.sha256(payload).hexdigest()
    return {**members, "manifest.json": json.dumps(manifest).encode(), "model.skops": payload}


def make_bad_bundles(good: Path, folder: Path) -> None:
    """The broken bundles of BUNDLE_CASES, each made from a good one."""
    import fractions

    import skops.io as sio
    from sklearn.linear_model import LinearRegression

    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(good) as z:
        members = {n: z.read(n) for n in z.namelist()}
    with zipfile.ZipFile(io.BytesIO(members["model.skops"])) as inner:  # model.skops is a zip itself
        inner_members = {n: inner.read(n) for n in inner.namelist()}
    first = sorted(inner_members)[0]
    inner_members[first] = inner_members[first] + b"\n"  # a changed member, manifest left as it was
    (folder / "tampered.bundle.zip").write_bytes(_zip({**members, "model.skops": _zip(inner_members)}))
    (folder / "untrusted_type.bundle.zip").write_bytes(
        _zip(_with_payload(members, sio.dumps(fractions.Fraction(1, 3)))))
    (folder / "wrong_class.bundle.zip").write_bytes(_zip(_with_payload(members, sio.dumps(LinearRegression()))))


class Launcher:
    """Runs cases in subprocesses on a pool; the cases a session selects are all started up front."""

    def __init__(self, root: Path, selected: list[str]) -> None:
        self.root = root
        self.pool = ThreadPoolExecutor(max_workers=WORKERS)
        self.futures: dict[str, Future[subprocess.CompletedProcess[str]]] = {}
        self._bundles: Future[dict[str, str]] | None = None
        if any(CASES[n].needs_bundle for n in selected):
            self.bundles()  # the training run is the long pole: start it first
        for name in sorted(selected, key=lambda n: CASES[n].needs_bundle):  # then the cases that need no bundle
            self.submit(name)

    def _build_bundles(self) -> dict[str, str]:
        """Train the messy-housing sample with the real CLI (`run --out`) and break copies of its bundle."""
        out = self.root / "trained"
        proc = run_cli([sys.executable, "-m", "designer", "run", str(MESSY), "--out", str(out)], cwd=self.root)
        assert proc.returncode == 0, proc.stderr
        make_bad_bundles(out / "train.bundle.zip", self.root / "bundles")
        return {"bundle": str(out / "train.bundle.zip"), "bundles": str(self.root / "bundles")}

    def bundles(self) -> Future[dict[str, str]]:
        """Start building the bundles (queued before any job that waits for them: no deadlock)."""
        if self._bundles is None:
            self._bundles = self.pool.submit(self._build_bundles)
        return self._bundles

    def submit(self, name: str) -> None:
        if name in self.futures:
            return
        case = CASES[name]
        out = self.root / name
        out.mkdir(exist_ok=True)

        def job() -> subprocess.CompletedProcess[str]:
            fill = {"corpus": str(CORPUS), "out": str(out), "bundle": "", "bundles": ""}
            if case.needs_bundle:
                fill.update(bundles.result(timeout=TIMEOUT))
            return run_cli(case.command(fill), cwd=out)

        bundles = self.bundles() if case.needs_bundle else None
        self.futures[name] = self.pool.submit(job)

    def result(self, name: str) -> subprocess.CompletedProcess[str]:
        self.submit(name)
        return self.futures[name].result(timeout=TIMEOUT * 2)


@pytest.fixture(scope="module")
def launcher(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    selected = [item.callspec.params["name"] for item in request.session.items
                if getattr(item, "originalname", "") == TEST_NAME and hasattr(item, "callspec")]
    launcher = Launcher(tmp_path_factory.mktemp("bad_input"), selected)
    yield launcher
    launcher.pool.shutdown(wait=True, cancel_futures=True)


# -------------------------------------------------------------------------------------------- tests
@pytest.mark.parametrize("name", PARAMS)
def test_bad_input_exits_2_with_one_clear_message(name: str, launcher: Launcher) -> None:
    proc = launcher.result(name)
    both = proc.stdout + proc.stderr
    assert "Traceback" not in both, both
    assert proc.returncode == 2, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one message, got:\n{proc.stderr}"
    message = lines[0]
    assert message.startswith(("pipeline-designer: error: ", "error: ")), message
    for expected in CASES[name].expect:
        assert expected in message, f"{expected!r} not named in: {message}"


def test_wrong_type_at_scoring_quotes_the_offending_value(launcher: Launcher) -> None:
    proc = launcher.result("score-score_wrong_type")
    assert "'spacious'" in proc.stderr, proc.stderr


def test_validate_lists_every_problem_of_a_pipeline_with_several(tmp_path: Path) -> None:
    """Several problems at once: `validate` names each on its own line; `run` refuses to start, naming all."""
    bad = {
        "format": "pipeline-designer", "version": 2, "name": "Many problems",
        "nodes": [{"id": "data", "type": "data.sample", "params": {"dataset": "diabetes"}},
                  {"id": "split", "type": "split.rows", "params": {"fraction": 7}},
                  {"id": "magic", "type": "no.such"},
                  {"id": "train", "type": "learn.train", "params": {}}],
        "links": [{"from": "data.data", "to": "split.data"}, {"from": "split.train", "to": "ghost.data"}],
    }
    path = tmp_path / "many.pipeline.json"
    path.write_text(json.dumps(bad))
    for argv in (["validate", str(path)], ["run", str(path), "--out", str(tmp_path / "out")]):
        proc = run_cli([sys.executable, "-m", "designer", *argv], cwd=tmp_path)
        assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr, proc.stderr
        for name in ("node 'split', parameter 'fraction'", "node 'magic'", "no node 'ghost'",
                     "node 'train', parameter 'label'", "node 'train', port 'learner'"):
            assert name in proc.stderr, (name, proc.stderr)


def test_corpus_is_small_and_uses_only_bundled_data() -> None:
    """Corpus pipelines stay tiny and read only sample datasets or CSVs beside them (relative paths)."""
    for path in sorted(CORPUS.glob("*.pipeline.json")):
        text = path.read_text(encoding="utf-8")
        assert len(text) < 2000, path.name
        if path.name == "not_json.pipeline.json":
            continue
        for node in json.loads(text)["nodes"]:
            data_path = node.get("params", node.get("parameters", {})).get("path")
            if data_path is not None:
                assert not Path(data_path).is_absolute() and (path.parent / data_path).is_file(), (path, data_path)
    for case in CASES.values():
        for arg in case.argv:
            if arg.startswith("{corpus}/"):
                assert Path(arg.format(corpus=CORPUS)).is_file(), arg
    assert sum(f.stat().st_size for f in CORPUS.iterdir()) < 20_000
