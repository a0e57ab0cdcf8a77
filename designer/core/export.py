"""Export to a plain scikit-learn script (the contract modules implement, and the script assembly).

A module that can be exported has a method `export(self, params, ctx: ExportContext) -> ExportFragment`.
The assembly walks the pipeline in order and asks each module for its fragment:

- data sources and row steps (split, remove duplicates, remove rows) write pandas lines;
- column steps (impute, scale, encode, select) write no code of their own: each names one unfitted
  scikit-learn transformer and the columns it applies to, and joins the recipe of its output table;
- Train turns the training table's recipe into one `Pipeline` of `ColumnTransformer`s, each fitted on
  its own like the designer's steps, then the float64 feature matrix, then the learner;
- Score and Evaluate call the same scoring and metric functions as the designer; Cross Validate refits
  Train's `Pipeline` in each fold; Tune writes the winner of the designer's search as the learner.

Every parameter of every scikit-learn object is written out, defaults too, so a future change of a
default cannot change the script's results. The script imports only pandas, numpy, scikit-learn, the
standard library and threadpoolctl (installed with scikit-learn); it prints its metrics, and `--check`
asserts the designer's own numbers, which the script carries with the run id and pipeline hash. Every report
the script recomputes is checked (its CHECKED keys); a module whose report describes work the script does
not redo (Tune's search) says so with `ExportFragment.unchecked`: that report is left out of EXPECTED and the
reason is written above it.
"""

from __future__ import annotations

import inspect
import keyword
import math
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from designer.core.errors import BadInput

SCRIPT_LIBRARIES = ("numpy", "pandas", "sklearn", "threadpoolctl")
"""The only libraries outside the standard library that an exported script imports (threadpoolctl is
installed with scikit-learn, which uses it)."""


# ------------------------------------------------------------------------------------------- rendering values
def literal(value: Any) -> str:
    """Python source for a plain value (numbers, text, lists, dicts, numpy dtypes), exact for floats."""
    import numpy as np

    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return "np.nan"
        if math.isinf(value):
            return "np.inf" if value > 0 else "-np.inf"
        return repr(value)
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, type) and issubclass(value, np.generic):
        return f"np.{value.__name__}"
    if isinstance(value, np.dtype):
        return f"np.{value.type.__name__}"
    if isinstance(value, (list, tuple)):
        items = ", ".join(literal(v) for v in value)
        return f"[{items}]" if isinstance(value, list) else f"({items}{',' if len(value) == 1 else ''})"
    if isinstance(value, np.ndarray):
        return literal(value.tolist())
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise BadInput(f"cannot write the value {value!r} ({type(value).__name__}) into a script")


def public_module(cls: type) -> str:
    """The shortest public module that exports `cls` (sklearn.ensemble, not sklearn.ensemble._hist...)."""
    import importlib

    parts = cls.__module__.split(".")
    for i in range(1, len(parts) + 1):
        name = ".".join(parts[:i])
        if any(p.startswith("_") for p in parts[1:i]):
            break
        try:
            if getattr(importlib.import_module(name), cls.__name__, None) is cls:
                return name
        except ImportError:
            continue
    return cls.__module__


def estimator_code(est: Any, defined: Iterable[Any] = ()) -> tuple[str, set[str]]:
    """Source that builds `est` unfitted with every parameter spelled out, and the imports it needs (also
    for objects without `get_params` that keep their arguments as attributes: KFold and the other splitters).
    `defined`: classes and functions the script defines itself (`helper_source`), written by name."""
    defined = tuple(defined)
    cls = type(est)
    signature = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    params = est.get_params(deep=False) if hasattr(est, "get_params") else \
        {p: getattr(est, p) for p in signature if hasattr(est, p)}
    order = [p for p in signature if p in params]
    imports = set() if any(cls is d for d in defined) else {f"from {public_module(cls)} import {cls.__name__}"}
    args = []
    for name in order:
        value = params[name]
        if any(value is d for d in defined):
            code = value.__name__
        elif hasattr(value, "get_params"):
            code, more = estimator_code(value, defined)
            imports |= more
        else:
            code = literal(value)
            if "np." in code:
                imports.add("import numpy as np")
        args.append(f"{name}={code}")
    return f"{cls.__name__}({', '.join(args)})", imports


def identifier(text: str) -> str:
    """A Python identifier made from a node id."""
    name = re.sub(r"\W", "_", text)
    if not name or name[0].isdigit() or keyword.iskeyword(name):
        name = f"n_{name}"
    return name


# ------------------------------------------------------------------------------------------- what flows
@dataclass(frozen=True)
class ColumnStep:
    """A column step as the script writes it: an unfitted transformer on named columns."""

    node: str
    title: str
    transformer: str  # source of the unfitted transformer
    columns: tuple[str, ...]
    remainder: str = "passthrough"


@dataclass(frozen=True)
class TableRef:
    """A table in the script: a DataFrame variable holding the rows as loaded (meta columns included),
    the column steps the designer applied to it (not yet applied in the script), its columns and meta
    columns in the designer's order."""

    var: str
    steps: tuple[ColumnStep, ...] = ()
    columns: tuple[str, ...] = ()
    meta: tuple[str, ...] = ()
    raw: tuple[str, ...] = ()
    """The columns of `var` that are not meta columns (what the first column step sees)."""
    scored: dict[str, Any] | None = None


@dataclass(frozen=True)
class LearnerRef:
    """An unfitted learner: the source that builds it and the imports that source needs (written by the
    module that uses it, so a learner replaced downstream, as Tune does, imports nothing)."""

    code: str
    task: str
    imports: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ModelRef:
    """A trained scikit-learn Pipeline variable: the recipe steps, the feature matrix and the learner."""

    var: str
    node: str
    task: str
    label: str | None
    inputs: tuple[str, ...]
    features: tuple[str, ...]
    steps: tuple[ColumnStep, ...]


Ref = TableRef | LearnerRef | ModelRef


@dataclass
class ExportFragment:
    """What one module contributes: statements for the script's `run()` body, the imports and helper
    functions they need, and what each output port holds in the script."""

    code: list[str] = field(default_factory=list)
    imports: set[str] = field(default_factory=set)
    helpers: list[str] = field(default_factory=list)
    outputs: dict[str, Ref] = field(default_factory=dict)
    evaluations: list[str] = field(default_factory=list)
    """Variables holding evaluation entries ({port, metrics, ...}) for this node."""
    unchecked: str | None = None
    """Why the script does not recompute this node's report (it is then left out of EXPECTED, with this
    reason written above it); None: a report the node has is recomputed and checked."""


class NeedsRun(BadInput):
    """A module's export needs facts only a run shows (columns after a data-dependent step)."""


@dataclass
class ExportContext:
    """What a module's `export` may use."""

    node_id: str
    title: str
    inputs: dict[str, Ref]
    input_specs: dict[str, Any]
    output_specs: dict[str, Any]
    script_dir: Path
    base_dir: Path
    values: dict[str, Any] | None = None
    """The node's outputs from a run, when export ran the pipeline (None otherwise)."""
    input_values: dict[str, Any] | None = None
    """The values on the node's input ports in that run (None without a run)."""
    run_id: str | None = None
    """The designer run whose numbers the script carries, if recorded."""

    def var(self, port: str) -> str:
        return identifier(f"{self.node_id}_{port}")

    def table(self, port: str = "data") -> TableRef:
        ref = self.inputs.get(port)
        if not isinstance(ref, TableRef):
            raise BadInput("the input is not a table the script knows", node=self.node_id, port=port)
        return ref

    def path_code(self, path: str) -> str:
        """Source for a data file path: relative to the script's folder when it can be, else absolute."""
        import os

        p = Path(path).expanduser()
        p = (p if p.is_absolute() else self.base_dir / p).resolve()
        try:
            rel = os.path.relpath(p, self.script_dir.resolve())
        except ValueError:  # another drive
            return repr(str(p))
        return f"HERE / {Path(rel).as_posix()!r}"

    def fitted_step(self) -> Any:
        """The step this node fitted in the run, if export ran the pipeline."""
        out = (self.values or {}).get("data")
        recipe = getattr(out, "recipe", ())
        if recipe and recipe[-1].node_id == self.node_id:
            return recipe[-1]
        return None

    # -- helpers for the usual kinds of module ---------------------------------------------------------
    def column_step(self, transformer: Any, columns: Iterable[str], meta: Iterable[str] = (),
                    features: Iterable[str] = (), remainder: str = "passthrough") -> ExportFragment:
        """The fragment of a column step: `transformer` (unfitted; or its source and imports) on `columns`,
        after moving columns to the meta columns (`meta`) or back among the features (`features`)."""
        code, imports = transformer if isinstance(transformer, tuple) else estimator_code(transformer)
        step = ColumnStep(self.node_id, self.title, code, tuple(columns), remainder)
        return self.roles_step(meta, features, step, imports)

    def roles_step(self, meta: Iterable[str] = (), features: Iterable[str] = (), step: ColumnStep | None = None,
                   imports: Iterable[str] = ()) -> ExportFragment:
        """The fragment of a column step that moves columns to the meta columns (`meta`) or back among the
        features (`features`), then applies `step` (none: it changes no values, as Edit Metadata setting roles
        only)."""
        table = self.table()
        meta, features = list(meta), set(features)
        if step is None and not meta and not features:
            return ExportFragment(outputs={"data": table})
        out = self.output_specs.get("data")
        meta_now = [c for c in table.meta if c not in features] + [c for c in meta if c not in table.meta]
        ref = TableRef(table.var, table.steps + ((step,) if step is not None else ()),
                       tuple(out.names) if out is not None else (), tuple(meta_now), table.raw)
        return ExportFragment(imports=set(imports), outputs={"data": ref})

    def row_step(self, code: list[str], outputs: dict[str, str]) -> ExportFragment:
        """The fragment of a row step: pandas lines that assign the output ports' variables."""
        table = self.table()
        if table.steps:
            raise BadInput(f"export cannot yet write a row step after the fitted column step "
                           f"'{table.steps[-1].title}' ({table.steps[-1].node}); put the row steps (split, "
                           "remove rows) before the cleaning", node=self.node_id)
        refs: dict[str, TableRef | LearnerRef | ModelRef] = {
            port: TableRef(var, (), table.columns, table.meta, table.raw) for port, var in outputs.items()}
        return ExportFragment(code=code, outputs=refs)


def helper_source(*functions: Callable[..., Any]) -> list[str]:
    """The source of module-level functions (or classes) without type annotations, to copy into a script
    (their imports are local to them, or numpy as np, or imports the fragment declares)."""
    return [_strip_annotations(textwrap.dedent(inspect.getsource(f))).rstrip() + "\n" for f in functions]


def _strip_annotations(source: str) -> str:
    """`source` with the annotations of its functions' arguments and returns cut out (text kept as written)."""
    import ast

    lines = source.splitlines(keepends=True)
    cuts: list[tuple[int, int, int | None]] = []  # (line index, start col, end col), each on one line
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            cuts.append((node.annotation.lineno - 1, node.target.end_col_offset or 0,
                         node.annotation.end_col_offset or 0))
        if not isinstance(node, ast.FunctionDef):
            continue
        args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs, node.args.vararg, node.args.kwarg]
        for arg in args:
            if arg is not None and arg.annotation is not None:
                ann = arg.annotation
                cuts.append((ann.lineno - 1, arg.col_offset + len(arg.arg), ann.end_col_offset))
        if node.returns is not None:
            r = node.returns
            line = lines[r.lineno - 1]
            arrow = line.rindex("->", 0, r.col_offset)
            cuts.append((r.lineno - 1, len(line[:arrow].rstrip()), r.end_col_offset))
    for row, a, b in sorted(cuts, reverse=True):
        lines[row] = lines[row][:a] + lines[row][b:]
    return "".join(lines)


# ------------------------------------------------------------------------------------------- core helpers
STEP_HELPER = '''\
def step(name, transformer, columns, remainder="passthrough"):
    """One designer column step: `transformer` fitted on `columns` alone, every other column passed on
    unchanged (by name, so the order of columns does not matter until the feature matrix)."""
    return (name, ColumnTransformer([(name, transformer, columns)], remainder=remainder,
                                    verbose_feature_names_out=False).set_output(transform="pandas"))
'''

MATRIX_HELPER = '''\
def feature_matrix(frame, columns):
    """The features as one C-ordered float64 array, in the designer's column order."""
    return np.ascontiguousarray(frame[columns].to_numpy(dtype=np.float64))
'''

SCORE_HELPER = '''\
def padded(X):
    """X with copies of its last row appended up to a multiple of 4 rows (at least 4). BLAS sums a batch's
    last `n % 4` rows in another order, so the designer pads every batch: a row's prediction then depends on
    the row alone, whichever batch it comes in (a file, one row sent to `serve`)."""
    pad = 4 - len(X) if len(X) < 4 else -len(X) % 4
    return np.concatenate([X, np.repeat(X[-1:], pad, axis=0)]) if pad and len(X) else X


def predictions(est, X, task):
    """The prediction columns, as the designer computes them: padded rows, BLAS on one thread."""
    n, Xp = len(X), padded(X)
    with threadpool_limits(limits=1, user_api="blas"):
        if task == "clustering":
            return {"cluster": est.predict(Xp)[:n], "distance": np.min(est.transform(Xp), axis=1)[:n]}
        out = {"prediction": est.predict(Xp)[:n]}
        if task == "classification" and hasattr(est, "predict_proba"):
            proba = est.predict_proba(Xp)[:n]
            for i, cls in enumerate(est.classes_):
                out[f"probability_{cls}"] = proba[:, i]
    return out


def scored_rows(model, rows, inputs, shown, task, cleaned=0, with_features=(), source_row="source_row"):
    """The designer's Score Model output: the rows as given (their number in the source, the meta columns
    and the columns; after the first `cleaned` steps when they were cleaned upstream) plus predictions."""
    X = model[:-1].transform(rows[inputs])
    if cleaned:
        rows = pd.concat([rows.drop(columns=inputs), model[:cleaned].transform(rows[inputs])], axis=1)
    out = rows[shown].copy()
    out.insert(0, source_row, out.index + 1)
    for i, name in enumerate(with_features):
        out[f"feature:{name}"] = X[:, i]
    for name, values in predictions(model[-1], X, task).items():
        out[name] = values
    return out, X
'''


def pipeline_code(var: str, learner: LearnerRef, table: TableRef, features: list[str], label: str | None,
                  node: str) -> ExportFragment:
    """`var = Pipeline([...])`, unfitted: the table's column steps (each a ColumnTransformer fitted on its own),
    the float64 feature matrix in the designer's column order, then the learner."""
    for s in table.steps:
        if label is not None and label in s.columns:
            raise BadInput(f"export cannot write a step that transforms the label '{label}' ({s.node})", node=node)
    if label is not None and label not in table.raw:
        raise BadInput(f"export cannot write a label that a column step renamed or made ('{label}')", node=node)
    lines, imports, helpers = pipeline_source(var, table.steps, features, learner.code)
    return ExportFragment(code=lines, imports=imports | learner.imports, helpers=helpers)


def pipeline_source(var: str, steps: Iterable[ColumnStep], features: list[str],
                    learner: str) -> tuple[list[str], set[str], list[str]]:
    """The lines of `var = Pipeline([...])` (a ColumnTransformer per step, the feature matrix, the `learner`
    source), the imports they need and the helpers they call (feature_matrix, step)."""
    steps = list(steps)
    lines = [f"{var} = Pipeline(["]
    lines += [f"    step({s.node!r}, {s.transformer}, {literal(list(s.columns))}"
              f"{'' if s.remainder == 'passthrough' else f', remainder={s.remainder!r}'})," for s in steps]
    lines += [f"    (\"features\", FunctionTransformer(feature_matrix, kw_args={{\"columns\": {literal(features)}}})),",
              f"    (\"learner\", {learner}),", "])"]
    imports = {"from sklearn.pipeline import Pipeline", "from sklearn.preprocessing import FunctionTransformer",
               "import numpy as np"}
    helpers = [MATRIX_HELPER]
    if steps:
        imports.add("from sklearn.compose import ColumnTransformer")
        helpers.append(STEP_HELPER)
    return lines, imports, helpers


def train_code(ctx: ExportContext, learner: LearnerRef, table: TableRef, features: list[str] | None,
               label: str | None) -> ExportFragment:
    """Train Model / Train Clustering Model: one Pipeline (recipe steps, feature matrix, learner) fitted on
    the training rows; features default to every column but the label."""
    var = ctx.var("model")
    inputs = [c for c in table.raw if c != label]
    if features is None:
        features = _features_after(ctx, table, label)
    frag = pipeline_code(var, learner, table, features, label, ctx.node_id)
    target = f", {table.var}[{label!r}]" if label is not None else ""
    frag.code.append(f"{var}.fit({table.var}[{literal(inputs)}]{target})")
    frag.outputs["model"] = ModelRef(var, ctx.node_id, learner.task, label, tuple(inputs), tuple(features),
                                     table.steps)
    return frag


def _features_after(ctx: ExportContext, table: TableRef, label: str | None) -> list[str]:
    """The feature columns in the designer's order: from the run when there was one, else from the schema."""
    model = (ctx.values or {}).get("model")
    if model is not None:
        return list(model.features)
    spec = ctx.output_specs.get("model")
    if spec is not None and getattr(spec, "features", None) and _exact(ctx.input_specs.get("data")):
        return list(spec.features)
    raise NeedsRun("the feature columns are known only after a run", node=ctx.node_id)


def _exact(spec: Any) -> bool:
    return bool(getattr(spec, "exact", False))


def score_code(ctx: ExportContext, model: ModelRef, table: TableRef, with_features: bool) -> ExportFragment:
    """Score Model: the model's pending steps and predictions, as the designer's TrainedModel.score."""
    applied = [s.node for s in table.steps]
    recipe = [s.node for s in model.steps]
    if applied != recipe[:len(applied)]:
        raise BadInput("the scored rows went through fitted steps the model never saw", node=ctx.node_id)
    var = ctx.var("scored")
    shown = list(table.meta) + list(table.columns)
    source_row = "source_row"
    while source_row in shown:
        source_row = f"_{source_row}"
    args = [model.var, table.var, literal(list(model.inputs)), literal(shown), repr(model.task)]
    if applied:
        args.append(f"cleaned={len(applied)}")
    if with_features:
        args.append(f"with_features={literal(list(model.features))}")
    if source_row != "source_row":
        args.append(f"source_row={source_row!r}")
    lines = [f"{var}, {var}_features = scored_rows({', '.join(args)})"]
    scored = {"task": model.task, "label": model.label, "model": model.var, "features": f"{var}_features"}
    ref = TableRef(var, (), tuple(table.columns), tuple(table.meta), tuple(table.raw), scored)
    return ExportFragment(code=lines, imports={"import numpy as np", "import pandas as pd",
                                               "from threadpoolctl import threadpool_limits"},
                          helpers=[SCORE_HELPER], outputs={"scored": ref})


# ------------------------------------------------------------------------------------------- the assembly
@dataclass
class Expected:
    """The designer's own results that the script checks against."""

    run_id: str | None
    pipeline_sha256: str
    metrics: dict[str, list[dict[str, Any]]]


def unsupported(pipeline: Any, registry: Any) -> list[str]:
    """Nodes whose module has no export."""
    out = []
    for n in pipeline.nodes:
        cls = registry.get(n.type)
        if cls is None or not callable(getattr(cls, "export", None)):
            out.append(n.id)
    return out


def check_exportable(pipeline: Any, registry: Any, base_dir: Path | None = None) -> None:
    """Refuse, before any run, nodes whose module has no export, and (with `base_dir`) nodes whose module says
    from its parameters alone that its export cannot be written (`export_refusal(params, base_dir)`: why, or
    None)."""
    bad = unsupported(pipeline, registry)
    if bad:
        names = ", ".join(f"'{n}' ({pipeline.node(n).type})" for n in bad)
        raise BadInput(f"cannot export: no export for node{'s' * (len(bad) > 1)} {names}", node=bad[0])
    if base_dir is None:
        return
    for n in pipeline.nodes:
        cls = registry.get(n.type)
        refusal = getattr(cls, "export_refusal", None)
        if refusal is None:
            continue
        try:
            params = cls.Params.model_validate(n.params)
        except ValueError:
            continue  # invalid parameters: validation names them
        why = refusal(cls(), params, base_dir)
        if why:
            raise BadInput(f"cannot export '{n.id}' ({n.type}): {why}", node=n.id)


def export_script(pipeline: Any, base_dir: Path, script_path: Path, *, expected: Expected | None = None,
                  values: dict[str, dict[str, Any]] | None = None, registry: Any = None,
                  validation: Any = None, score_model: str | None = None,
                  check_rows: Any = None, check_predictions: Any = None) -> str:
    """The script's text. `values`: every node's outputs from a run (for facts only a run shows);
    `score_model`: also write `score(df)` for that Train node (the scoring side of a bundle), with
    `check_rows` / `check_predictions` for its `--check`."""
    from designer.core.registry import default_registry
    from designer.core.validate import InvalidPipeline, validate

    registry = registry or default_registry()
    check_exportable(pipeline, registry)
    v = validation or validate(pipeline, base_dir, registry)
    if not v.ok:
        raise InvalidPipeline(v.errors)
    script_dir = script_path.resolve().parent
    refs: dict[tuple[str, str], Ref] = {}
    body: list[str] = []
    imports: set[str] = set()
    helpers: list[str] = []
    evaluations: dict[str, list[str]] = {}
    unchecked: dict[str, str] = {}
    models: dict[str, str] = {}
    model_refs: dict[str, ModelRef] = {}
    scored: dict[str, str] = {}
    for node_id in v.order:
        node = pipeline.node(node_id)
        cls = registry.require(node.type)
        inputs = {l.target_port: refs[(l.source_node, l.source_port)] for l in pipeline.links_into(node_id)
                  if (l.source_node, l.source_port) in refs}
        input_specs = {l.target_port: v.schemas.get((l.source_node, l.source_port))
                       for l in pipeline.links_into(node_id)}
        output_specs = {p.name: v.schemas.get((node_id, p.name)) for p in cls.outputs}
        input_values = None if values is None else {
            l.target_port: values.get(l.source_node, {}).get(l.source_port) for l in pipeline.links_into(node_id)}
        ctx = ExportContext(node_id, node.title or cls.title, inputs, input_specs, output_specs, script_dir,
                            base_dir, None if values is None else values.get(node_id, {}), input_values,
                            expected.run_id if expected is not None else None)
        try:
            frag = cls().export(v.params[node_id], ctx)
        except BadInput as e:
            if e.location.node is None:
                from dataclasses import replace

                e.location = replace(e.location, node=node_id)
            raise
        if frag.code:
            body.append(f"# {node_id}: {ctx.title} ({node.type})")
            body.extend(frag.code)
            body.append("")
        imports |= frag.imports
        for h in frag.helpers:
            if h not in helpers:
                helpers.append(h)
        if frag.evaluations:
            evaluations[node_id] = frag.evaluations
        if frag.unchecked:
            unchecked[node_id] = f"{ctx.title} ({node.type}): {frag.unchecked}"
        for port, ref in frag.outputs.items():
            refs[(node_id, port)] = ref
            if isinstance(ref, ModelRef):
                models[node_id] = ref.var
                model_refs[node_id] = ref
            if isinstance(ref, TableRef) and ref.scored is not None:
                scored[node_id] = ref.var
    return _assemble(pipeline, imports, helpers, body, evaluations, unchecked, models, scored, expected,
                     score_model, model_refs, check_rows, check_predictions)


def _imports_block(imports: set[str]) -> str:
    """Imports sorted as isort does: the standard library, then the libraries; `import` before `from`,
    names from one module merged."""
    def section(lines: list[str]) -> list[str]:
        froms: dict[str, set[str]] = {}
        for line in lines:
            if line.startswith("from "):
                module, _, names = line[5:].partition(" import ")
                froms.setdefault(module, set()).update(n.strip() for n in names.split(","))
        plain = sorted(i for i in lines if i.startswith("import "))
        return plain + [f"from {m} import {', '.join(sorted(n))}" for m, n in sorted(froms.items())]

    def is_library(line: str) -> bool:
        return line.split()[1].split(".")[0] in SCRIPT_LIBRARIES

    return "\n".join(section([i for i in imports if not is_library(i)])) + "\n\n" + \
        "\n".join(section([i for i in imports if is_library(i)]))


def _assemble(pipeline: Any, imports: set[str], helpers: list[str], body: list[str],
              evaluations: dict[str, list[str]], unchecked: dict[str, str], models: dict[str, str],
              scored: dict[str, str],
              expected: Expected | None, score_model: str | None, model_refs: dict[str, ModelRef],
              check_rows: Any, check_predictions: Any) -> str:
    from designer import __version__
    from designer.core.digest import bytes_sha256

    sha = expected.pipeline_sha256 if expected else bytes_sha256(pipeline.to_json_text().encode())
    imports = set(imports) | {"import sys", "from pathlib import Path"}
    if score_model is not None:
        imports |= {"import numpy as np", "import pandas as pd"}
    lines = [f'"""{pipeline.name}: exported by pipeline-designer {__version__} as a plain scikit-learn script.',
             ""]
    if pipeline.description:
        lines += textwrap.wrap(pipeline.description, 100) + [""]
    lines += [f"Pipeline sha256: {sha}",
              f"Designer run: {expected.run_id if expected and expected.run_id else 'none recorded'}",
              "",
              "Usage: python THIS.py [--check] [--scored-out DIR]",
              "  --check          assert the designer's own metrics (exact equality)",
              "  --scored-out DIR write each Score Model output as DIR/<node>.scored.csv",
              '"""', "", _imports_block(imports), "", 'HERE = Path(__file__).resolve().parent', ""]
    lines += ["# What `--check` compares of each report entry: the metrics, and where the designer reports them",
              "# (Cross Validate) the standard deviations, each fold's metrics and those of all its rows.",
              f"CHECKED = {literal(CHECKED)}", ""]
    if expected is not None:
        for node, why in unchecked.items():
            lines += textwrap.wrap(f"Not checked: the report of '{node}', {why}", 110, initial_indent="# ",
                                   subsequent_indent="#   ")
        lines += [f"# The designer's metrics for this pipeline (run {expected.run_id or 'not recorded'}, "
                  f"pipeline sha256 {sha[:16]}…); `--check` asserts them exactly.",
                  f"EXPECTED = {_pretty(_checked(expected.metrics, unchecked))}", ""]
    else:
        lines += ["EXPECTED = None  # no designer run to check against", ""]
    lines += ["", *[h + "\n" for h in helpers]]
    lines += ["def run():", '    """Every step of the pipeline; returns (metrics, scored tables, trained models)."""']
    lines += [("    " + b) if b else "" for b in body]
    metrics_dict = ", ".join(f"{n!r}: [{', '.join(vs)}]" for n, vs in evaluations.items())
    lines += [f"    metrics = {{{metrics_dict}}}",
              f"    scored = {{{', '.join(f'{n!r}: {v}' for n, v in scored.items())}}}",
              f"    models = {{{', '.join(f'{n!r}: {v}' for n, v in models.items())}}}",
              "    return metrics, scored, models", "", ""]
    if score_model is not None:
        if score_model not in model_refs:
            raise BadInput(f"no trained model '{score_model}' in the pipeline", node=score_model)
        lines += _score_function(score_model, model_refs[score_model], check_rows, check_predictions)
    lines += [MAIN_SOURCE.format(check_scoring=_CHECK_SCORING if score_model is not None else "",
                                 models="models" if score_model is not None else "_")]
    text = "\n".join(lines)
    return re.sub(r"\n{4,}", "\n\n\n", text).rstrip() + "\n"


CHECKED = ("port", "metrics", "std", "folds", "pooled")
"""The keys of a report entry that `--check` compares (those the entry has)."""


def _checked(metrics: dict[str, list[dict[str, Any]]], unchecked: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """The designer's report entries as `--check` compares them, without the reports the script does not
    recompute."""
    return {n: [{k: e[k] for k in CHECKED if k in e} for e in entries] for n, entries in metrics.items()
            if n not in unchecked}


def _pretty(value: Any, indent: int = 0) -> str:
    pad = " " * indent
    if isinstance(value, dict) and value:
        items = [f"{pad}    {literal(k)}: {_pretty(v, indent + 4).lstrip()}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and value:
        items = [f"{pad}    {_pretty(v, indent + 4).lstrip()}," for v in value]
        return "[\n" + "\n".join(items) + f"\n{pad}]"
    return literal(value)


def _score_function(node: str, model: ModelRef, rows: Any, predictions: Any) -> list[str]:
    lines = [f"SCORED_MODEL, TASK, INPUTS = {node!r}, {model.task!r}, {literal(list(model.inputs))}",
             "_TRAINED = {}", "", "",
             "def score(df, model=None):",
             f'    """Score new raw rows like `pipeline-designer score` with the model of \'{node}\': the rows as '
             'given plus',
             '    the predictions. Without `model`, `run()` trains it on first use."""',
             "    if model is None:",
             "        if not _TRAINED:",
             "            _TRAINED.update(run()[2])",
             "        model = _TRAINED[SCORED_MODEL]",
             "    return scored_rows(model, df, INPUTS, list(df.columns), TASK)[0]", "", ""]
    if rows is not None:
        lines += ["# Rows stored in the bundle and the designer's predictions for them; `--check` asserts them.",
                  "CHECK_ROWS = pd.DataFrame({",
                  *[f"    {_series(c)}," for c in rows],
                  "})",
                  f"CHECK_PREDICTIONS = {_pretty(predictions)}", "", ""]
    else:
        lines += ["CHECK_ROWS = CHECK_PREDICTIONS = None", "", ""]
    return lines


def _series(col: dict[str, Any]) -> str:
    return f"{col['name']!r}: pd.Series({literal(col['values'])}, dtype={col['dtype']!r})"


_CHECK_SCORING = """\
        if CHECK_ROWS is not None:
            got = score(CHECK_ROWS, models[SCORED_MODEL])
            for column, values in CHECK_PREDICTIONS.items():
                assert np.array_equal(got[column].to_numpy(), np.asarray(values)), f"{column} differs"
            print(f"check: {len(CHECK_ROWS)} stored rows scored bit for bit like the designer")
"""

MAIN_SOURCE = '''\
def main(argv):
    check = "--check" in argv
    metrics, scored, {models} = run()
    for node, entries in metrics.items():
        for entry in entries:
            print(f"{{node}} ({{entry['port']}}):")
            for name, value in entry["metrics"].items():
                print(f"  {{name:<26}} {{value!r}}")
    if "--scored-out" in argv:
        folder = Path(argv[argv.index("--scored-out") + 1])
        folder.mkdir(parents=True, exist_ok=True)
        for node, table in scored.items():
            table.to_csv(folder / f"{{node}}.scored.csv", index=False)
    if check:
        got = {{node: [{{k: e[k] for k in CHECKED if k in e}} for e in entries] for node, entries in metrics.items()}}
        assert EXPECTED is not None, "no designer metrics to check against"
        assert got == EXPECTED, f"metrics differ from the designer's:\\n{{got}}\\n{{EXPECTED}}"
{check_scoring}        print("check: identical to the designer's results")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''


# ------------------------------------------------------------------------------------------- one model
def step_code(step: Any) -> tuple[ColumnStep, set[str], list[str]]:
    """A fitted recipe step as a script writes it: the same transformer, unfitted, with every parameter, on the
    step's columns; the imports it needs and the helpers (functions, classes) the script must define for it."""
    from designer.core.recipe import ClipStep, DropStep, EditStep, EncodeStep, SelectStep, TransformerStep

    helpers: list[str] = []
    remainder = "passthrough"
    if isinstance(step, TransformerStep):
        code, imports = estimator_code(step.transformer)
    elif isinstance(step, EncodeStep):
        code, imports = estimator_code(step.encoder)
    elif isinstance(step, SelectStep):
        code, imports, remainder = '"passthrough"', set(), "drop"
    elif isinstance(step, DropStep):
        code, imports = '"drop"', set()
    elif isinstance(step, ClipStep):
        from designer.core.export_steps import clip_code

        code, imports, helpers = clip_code(*_clip_bounds(step))
    elif isinstance(step, EditStep):
        from designer.core.export_steps import edit_code

        code, imports, helpers = edit_code(step.casts, step.renames)
    else:
        raise BadInput(f"export cannot yet write the step '{step.title}' ({type(step).__name__})", node=step.node_id)
    return ColumnStep(step.node_id, step.title, code, tuple(step.columns), remainder), imports, helpers


def _clip_bounds(step: Any) -> tuple[Any, Any, tuple[float, float] | None]:
    """A Clip Values step's (lower, upper, percentiles): the percentiles it learned its bounds at, or its fixed
    bounds (the same for every column)."""
    percentiles = getattr(step, "percentiles", None)  # bundles from before refitting existed have none
    if percentiles is not None:
        return None, None, (percentiles[0], percentiles[1])
    if len(set(step.lower)) > 1 or len(set(step.upper)) > 1:
        raise BadInput(f"export cannot write the step '{step.title}' (ClipStep): it comes from an older bundle "
                       "that does not record the percentiles it learned its bounds at", node=step.node_id)
    return (step.lower[0] if step.lower else None), (step.upper[0] if step.upper else None), None


def model_code(model: Any) -> str:
    """A trained model as Python: the scikit-learn Pipeline (recipe steps, feature matrix, estimator) that,
    fitted on the same training rows, gives the same predictions ("Copy as Python" in the model viewer). The
    code defines the helpers its steps need (Clip Values' ClipColumns, Edit Metadata's edit_columns) and
    imports nothing of the designer's."""
    from designer.core.recipe import ClipStep, DropStep

    est_code, imports = estimator_code(model.estimator)
    steps, needs = [], []
    for s in model.recipe:
        step, more, step_helpers = step_code(s)
        steps.append(step)
        imports |= more
        needs += step_helpers
    pipeline, more, helpers = pipeline_source("model", steps, list(model.features), est_code)
    imports |= more
    helpers += [h for i, h in enumerate(needs) if h not in needs[:i]]
    lines = [f"# {model.node_id}: {model.task} model"
             + (f" predicting '{model.label}'" if model.label else "")
             + f", trained on {model.train_rows} rows; fit it with model.fit(rows[INPUTS]"
             + (f", rows[{model.label!r}])" if model.label else ")")]
    if any(isinstance(s, DropStep) for s in model.recipe):
        lines.append("# (columns dropped for missing values are those the designer found in the training rows)")
    if any(isinstance(s, ClipStep) and getattr(s, "percentiles", None) is not None for s in model.recipe):
        lines.append("# (bounds clipped at percentiles are learned again from the rows the model is fitted on)")
    lines += [_imports_block(imports), "", "", *[h + "\n" for h in helpers],
              f"INPUTS = {literal([c for c in model.input_schema.names])}", *pipeline, ""]
    return "\n".join(lines)
