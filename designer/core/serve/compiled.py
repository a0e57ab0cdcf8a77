"""The compiled row path: a model's recipe turned into plain per-row operations, then the same estimator.

For a few rows, replaying the recipe through pandas costs most of the time of an answer. Here every fitted
step becomes a small function over column lists (numbers as Python floats, NaN for missing; text or None),
doing exactly the arithmetic scikit-learn's transformers do (`x - mean` then `/ scale`, one IEEE operation
at a time), so the feature rows, and therefore the predictions, are bit-identical to `TrainedModel.score`.

Only step kinds and configurations listed here are compiled; for anything else `compile_model` returns the
reason and the model is served through `TrainedModel.score` (never a wrong answer). The start-up self-test
(designer.core.serve.scorer) compares both paths on sample rows as a second guard.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from designer.core.errors import BadInput

if TYPE_CHECKING:
    from designer.core.model import TrainedModel

State = dict[str, list[Any]]
Op = Callable[[State, int], None]


class NotCompiled(Exception):
    """The recipe holds a step (or a configuration) the row path does not do; the reason says which."""


@dataclass
class CompiledModel:
    """Feature rows from checked input columns, then `predict_outputs` with the model's own estimator."""

    model: "TrainedModel"
    ops: list[Op]
    inputs: dict[str, str]  # raw column -> kind

    def features(self, columns: dict[str, list[Any]], rows: int) -> np.ndarray:
        state: State = {}
        for name, kind in self.inputs.items():
            values = columns[name]
            state[name] = [math.nan if v is None else v for v in values] if kind == "numeric" else list(values)
        for op in self.ops:
            op(state, rows)
        missing = [f for f in self.model.features if f not in state]
        if missing:
            raise BadInput(f"feature column '{missing[0]}' is missing after cleaning", column=missing[0])
        cols = [state[f] for f in self.model.features]
        X = np.array([[math.nan if c[r] is None else c[r] for c in cols] for r in range(rows)], dtype=np.float64)
        return X.reshape(rows, len(cols))

    def predict(self, columns: dict[str, list[Any]], rows: int) -> dict[str, np.ndarray]:
        from designer.core.model import predict_outputs

        X = self.features(columns, rows)
        self.model.check_missing(X)
        return predict_outputs(self.model.estimator, self.model.task, X)


def _missing(v: Any) -> bool:
    return v is None or (type(v) is float and v != v)


def compile_model(model: "TrainedModel") -> CompiledModel:
    """Compile every recipe step; raises NotCompiled naming the first step it cannot do."""
    from designer.core.recipe import ClipStep, DropStep, EditStep, EncodeStep, SelectStep, TransformerStep

    kinds: dict[str, str] = dict(model.input_schema.columns)
    for name, kind in kinds.items():
        if kind not in ("numeric", "categorical"):
            raise NotCompiled(f"input column '{name}' is {kind}")
    inputs = dict(kinds)
    ops: list[Op] = []
    label = model.label
    for step in model.recipe:
        # the label is not sent when scoring: steps that also work on it do the same to the other columns
        absent = [c for c in step.columns if c not in kinds and c != label and not isinstance(step, DropStep)]
        if absent:
            raise NotCompiled(f"step '{step.title}' needs column '{absent[0]}', which the rows do not have")
        if type(step) is TransformerStep:
            ops.append(_transformer(step, kinds, label))
        elif type(step) is EncodeStep:
            ops.append(_encoder(step, kinds, label))
        elif type(step) is ClipStep:
            ops.append(_clip(step, kinds, label))
        elif type(step) is SelectStep:
            keep = [c for c in step.columns if c != label]
            ops.append(functools.partial(_keep_op, keep=keep))
            kinds = {c: kinds[c] for c in keep}
        elif type(step) is DropStep:
            drop = [c for c in step.columns if c in kinds]
            ops.append(functools.partial(_drop_op, drop=drop))
            kinds = {c: k for c, k in kinds.items() if c not in drop}
        elif type(step) is EditStep:
            ops.append(_edit(step, kinds, label))
        else:
            raise NotCompiled(f"step '{step.title}' is a {type(step).__name__}")
    return CompiledModel(model, ops, inputs)


def _keep_op(state: State, n: int, keep: list[str]) -> None:
    _keep(state, keep)


def _drop_op(state: State, n: int, drop: list[str]) -> None:
    for c in drop:
        state.pop(c, None)


def _keep(state: State, keep: list[str]) -> None:
    kept = {c: state[c] for c in keep}
    state.clear()
    state.update(kept)


def _kept(step: Any, label: str | None) -> list[int]:
    """Positions of the step's columns other than the label (whose fitted values are left unused)."""
    return [i for i, c in enumerate(step.columns) if c != label]


def _numeric(step: Any, kinds: dict[str, str], label: str | None) -> None:
    for c in step.columns:
        if c == label:
            continue
        if kinds[c] != "numeric":
            raise NotCompiled(f"step '{step.title}' works on '{c}', which is {kinds[c]}, as numbers")


def _transformer(step: Any, kinds: dict[str, str], label: str | None) -> Op:
    t = step.transformer
    name = type(t).__name__
    if name == "SimpleImputer":
        return _imputer(step, kinds, label)
    _numeric(step, kinds, label)
    keep = _kept(step, label)
    cols = [step.columns[i] for i in keep]
    if name == "StandardScaler":
        sub = [float(t.mean_[i]) for i in keep] if t.with_mean else None
        div = [float(t.scale_[i]) for i in keep] if t.with_std else None
        fns = [_affine(None if sub is None else sub[j], None if div is None else div[j]) for j in range(len(keep))]
    elif name == "RobustScaler":
        sub = [float(t.center_[i]) for i in keep] if t.with_centering else None
        div = [float(t.scale_[i]) for i in keep] if t.with_scaling else None
        fns = [_affine(None if sub is None else sub[j], None if div is None else div[j]) for j in range(len(keep))]
    elif name == "MinMaxScaler":
        lo, hi = (float(v) for v in t.feature_range)
        fns = [_minmax(float(t.scale_[i]), float(t.min_[i]), lo, hi, bool(t.clip)) for i in keep]
    elif name == "MaxAbsScaler":
        fns = [_maxabs(float(t.scale_[i]), bool(getattr(t, "clip", False))) for i in keep]
    else:
        raise NotCompiled(f"step '{step.title}' uses {name}")

    def op(state: State, n: int) -> None:
        for c, fn in zip(cols, fns):
            state[c] = [fn(v) for v in state[c]]
    return op


def _affine(sub: float | None, div: float | None) -> Callable[[float], float]:
    """`X -= sub` then `X /= div`, as StandardScaler and RobustScaler do (None: that operation is off)."""
    if sub is not None and div is not None:
        return lambda x: (x - sub) / div
    if sub is not None:
        return lambda x: x - sub
    if div is not None:
        return lambda x: x / div
    return lambda x: x


def _clip_to(x: float, lo: float | None, hi: float | None) -> float:
    if x != x:
        return x
    if lo is not None and x < lo:
        x = lo
    if hi is not None and x > hi:
        x = hi
    return x


def _minmax(scale: float, shift: float, lo: float, hi: float, clip: bool) -> Callable[[float], float]:
    """MinMaxScaler: `X *= scale_` then `X += min_`, then clip to the feature range if asked."""
    if clip:
        return lambda x: _clip_to(x * scale + shift, lo, hi)
    return lambda x: x * scale + shift


def _maxabs(scale: float, clip: bool) -> Callable[[float], float]:
    if clip:
        return lambda x: _clip_to(x / scale, -1.0, 1.0)
    return lambda x: x / scale


def _imputer(step: Any, kinds: dict[str, str], label: str | None) -> Op:
    t = step.transformer
    if not (isinstance(t.missing_values, float) and math.isnan(t.missing_values)):
        raise NotCompiled(f"step '{step.title}' treats {t.missing_values!r} as missing")
    everything = [v.item() if hasattr(v, "item") else v for v in t.statistics_.tolist()]
    if len(everything) != len(step.columns):
        raise NotCompiled(f"step '{step.title}' has no replacement value for some column")
    keep = _kept(step, label)
    cols = [step.columns[i] for i in keep]
    stats = [everything[i] for i in keep]
    if any(_missing(v) for v in stats):
        raise NotCompiled(f"step '{step.title}' has no replacement value for some column")
    numeric = [kinds[c] == "numeric" for c in cols]
    for c, is_num, stat in zip(cols, numeric, stats):
        if is_num and not isinstance(stat, (int, float)):
            raise NotCompiled(f"step '{step.title}' fills number column '{c}' with text")
        if not is_num and kinds[c] != "categorical":
            raise NotCompiled(f"step '{step.title}' fills '{c}', which is {kinds[c]}")
    fills = [float(s) if is_num else s for s, is_num in zip(stats, numeric)]
    indicator = getattr(t, "indicator_", None) if t.add_indicator else None
    flagged = [step.columns[j] for j in indicator.features_ if step.columns[j] != label] \
        if indicator is not None else []
    for c in flagged:
        kinds[f"{c}_missing"] = "numeric"

    def op(state: State, n: int) -> None:
        flags = {c: [1.0 if _missing(v) else 0.0 for v in state[c]] for c in flagged}
        for c, fill, is_num in zip(cols, fills, numeric):
            values = state[c]
            if is_num:
                state[c] = [fill if v != v else v for v in values]
            else:
                state[c] = [fill if _missing(v) else v for v in values]
        for c, f in flags.items():
            state[f"{c}_missing"] = f
    return op


def _encoder(step: Any, kinds: dict[str, str], label: str | None) -> Op:
    enc = step.encoder
    name = type(enc).__name__
    if label in step.columns:
        raise NotCompiled(f"step '{step.title}' also encodes the label")
    cols = list(step.columns)
    tables = []
    nan_index = []
    for c, cats in zip(cols, enc.categories_):
        values = cats.tolist()
        if kinds[c] != "categorical" or not all(isinstance(v, str) or _missing(v) for v in values):
            raise NotCompiled(f"step '{step.title}' encodes '{c}', whose categories are not all text")
        tables.append({v: i for i, v in enumerate(values) if isinstance(v, str)})
        nan_index.append(next((i for i, v in enumerate(values) if _missing(v)), None))
    error = step.unseen == "error"
    title, node = step.title, step.node_id

    def unseen(c: str, v: Any, r: int) -> BadInput:
        return BadInput(f"unseen category {v!r} at row {r + 1}; '{title}' does not know it", node=node, column=c)

    if name == "OneHotEncoder":
        if enc.drop_idx_ is not None or getattr(enc, "_infrequent_enabled", False):
            raise NotCompiled(f"step '{step.title}' drops or groups categories")
        if enc.handle_unknown not in ("error", "ignore"):
            raise NotCompiled(f"step '{step.title}' handles unknown categories as '{enc.handle_unknown}'")
        names = list(enc.get_feature_names_out(cols))
        per_column = []
        k = 0
        for cats in enc.categories_:
            per_column.append(names[k:k + len(cats)])
            k += len(cats)
        for c, outs in zip(cols, per_column):
            kinds.pop(c)
            kinds.update(dict.fromkeys(outs, "numeric"))

        def onehot(state: State, n: int) -> None:
            for c, table, nan_i, outs in zip(cols, tables, nan_index, per_column):
                values = state.pop(c)
                columns = [[0.0] * n for _ in outs]
                for r, v in enumerate(values):
                    i = nan_i if _missing(v) else table.get(v)
                    if i is None:
                        if error:
                            raise unseen(c, v, r)
                        continue
                    columns[i][r] = 1.0
                state.update(zip(outs, columns))
        return onehot
    if name == "OrdinalEncoder":
        unknown = float(enc.unknown_value) if enc.handle_unknown == "use_encoded_value" else None
        if enc.handle_unknown == "use_encoded_value" and unknown is None:
            raise NotCompiled(f"step '{step.title}' has no unknown value")
        missing_value = float(enc.encoded_missing_value)
        for c in cols:
            kinds[c] = "numeric"

        def ordinal(state: State, n: int) -> None:
            for c, table, nan_i in zip(cols, tables, nan_index):
                out = []
                for r, v in enumerate(state[c]):
                    if _missing(v) and nan_i is not None:
                        out.append(missing_value)
                        continue
                    i = None if _missing(v) else table.get(v)
                    if i is None:
                        if unknown is None or error:
                            raise unseen(c, v, r)
                        out.append(unknown)
                    else:
                        out.append(float(i))
                state[c] = out
        return ordinal
    raise NotCompiled(f"step '{step.title}' uses {name}")


def _clip(step: Any, kinds: dict[str, str], label: str | None) -> Op:
    _numeric(step, kinds, label)
    keep = _kept(step, label)
    bounds = [(None if step.lower[i] is None else float(step.lower[i]),
               None if step.upper[i] is None else float(step.upper[i])) for i in keep]
    cols = [step.columns[i] for i in keep]

    def op(state: State, n: int) -> None:
        for c, (lo, hi) in zip(cols, bounds):
            state[c] = [_clip_to(v, lo, hi) for v in state[c]]
    return op


def _edit(step: Any, kinds: dict[str, str], label: str | None) -> Op:
    for c, kind in step.casts.items():
        if c == label:
            continue
        if c not in kinds:
            raise NotCompiled(f"step '{step.title}' casts '{c}', which the rows do not have")
        if kinds[c] != kind or kind not in ("numeric", "categorical"):
            raise NotCompiled(f"step '{step.title}' casts '{c}' from {kinds[c]} to {kind}")
    renames = dict(step.renames)
    new = {renames.get(c, c): k for c, k in kinds.items()}
    kinds.clear()
    kinds.update(new)

    def op(state: State, n: int) -> None:
        moved = {renames.get(c, c): v for c, v in state.items()}
        state.clear()
        state.update(moved)
    return op
