"""Hyperparameter search: search spaces from a learner's parameter model, candidate generation (grid,
random, Optuna's TPE), the successive-halving schedule (rows and, for boosted trees, boosting iterations as
resources), and a crash-safe cache of finished candidates.

Scoring a candidate (cross-validation with the recipe refitted per fold) lives in the Tune module; this file
knows nothing of data.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from designer.core.errors import BadInput

Value = float | int | str | bool
CACHE_LIMIT = 64 << 20
"""Largest cache file read (bytes); a bigger one is ignored, never loaded."""


class SearchRange(BaseModel):
    """Where one hyperparameter is searched: a list of choices, or a range (low..high, optionally on a log
    scale); a grid takes `steps` points of a range."""

    model_config = ConfigDict(extra="forbid")

    values: list[Value] = Field(default_factory=list, description="Choices (overrides low/high)")
    low: float | None = Field(None, description="Lowest value of a range")
    high: float | None = Field(None, description="Highest value of a range")
    log: bool = Field(False, description="Search the range on a log scale")
    steps: int = Field(4, ge=2, le=100, description="Grid points in a range (grid search)")

    @model_validator(mode="after")
    def _either(self) -> "SearchRange":
        if not self.values and (self.low is None or self.high is None):
            raise ValueError("give either values or both low and high")
        if not self.values and self.low is not None and self.high is not None:
            if self.low > self.high:
                raise ValueError("low must not exceed high")
            if self.log and self.low <= 0:
                raise ValueError("a log-scale range needs low > 0")
        return self

    @property
    def range(self) -> tuple[float, float]:
        """(low, high) of a range (the validator made sure both are set when there are no values)."""
        assert self.low is not None and self.high is not None, "a range without bounds"
        return self.low, self.high


# ------------------------------------------------------------------------------------------- spaces
def _bounds(field: Any) -> tuple[float | None, float | None]:
    lo = hi = None
    for m in field.metadata:
        for attr, is_low in (("ge", True), ("gt", True), ("le", False), ("lt", False)):
            v = getattr(m, attr, None)
            if v is not None:
                if is_low:
                    lo = v
                else:
                    hi = v
    return lo, hi


def _kind(field: Any) -> tuple[str, list[Any]]:
    """('int' | 'float' | 'bool' | 'choice' | 'other', choices)."""
    ann = field.annotation
    if get_origin(ann) is Literal:
        return "choice", list(get_args(ann))
    if ann is bool:
        return "bool", [True, False]
    if ann is int:
        return "int", []
    if ann is float:
        return "float", []
    return "other", []


def tunable(params_model: type[BaseModel]) -> dict[str, Any]:
    """The learner parameters a search can vary (not seeds), with their pydantic fields."""
    return {name: f for name, f in params_model.model_fields.items()
            if "seed" not in name and _kind(f)[0] != "other"}


def default_space(params_model: type[BaseModel]) -> dict[str, SearchRange]:
    """A sensible space from a learner's parameter model: numbers from a quarter to four times their
    default (log scale, within their bounds), every choice of a choice parameter."""
    space: dict[str, SearchRange] = {}
    for name, f in tunable(params_model).items():
        kind, choices = _kind(f)
        if kind in ("choice", "bool"):
            space[name] = SearchRange(values=choices)
            continue
        default, (lo, hi) = f.get_default(call_default_factory=True), _bounds(f)
        if not isinstance(default, (int, float)) or default <= 0:
            space[name] = SearchRange(values=[0.0, 0.01, 0.1, 1.0, 10.0] if kind == "float" else [0, 1, 2, 4])
            continue
        low, high = default / 4, default * 4
        low = max(low, lo) if lo is not None else low
        high = min(high, hi) if hi is not None else high
        if kind == "int":
            low, high = max(1, math.ceil(low)), max(1, math.floor(high))
        space[name] = SearchRange(low=low, high=high, log=True)
    return space


def check_space(space: dict[str, SearchRange], params_model: type[BaseModel], learner_title: str) -> None:
    """Refuse parameters the learner does not have, and ranges outside a parameter's own bounds."""
    fields = tunable(params_model)
    for name, rng in space.items():
        if name not in fields:
            raise BadInput(f"'{learner_title}' has no tunable parameter '{name}' (it has "
                           f"{', '.join(fields) or 'none'})", param="space")
        kind, choices = _kind(fields[name])
        lo, hi = _bounds(fields[name])
        values = rng.values or list(rng.range)
        for v in values:
            if kind in ("choice", "bool"):
                if v not in choices:
                    raise BadInput(f"'{name}' cannot be {v!r}; it is one of {choices}", param="space")
            elif not isinstance(v, (int, float)) or isinstance(v, bool):
                raise BadInput(f"'{name}' takes numbers, not {v!r}", param="space")
            elif (lo is not None and v < lo) or (hi is not None and v > hi):
                raise BadInput(f"'{name}' = {v} is outside its bounds [{lo}, {hi}]", param="space")


def _cast(kind: str, v: Any) -> Any:
    return int(round(v)) if kind == "int" else float(v) if kind == "float" else v


def grid(space: dict[str, SearchRange], params_model: type[BaseModel]) -> list[dict[str, Any]]:
    """Every combination of the grid points, in a fixed order."""
    fields = tunable(params_model)
    axes = []
    for name, rng in space.items():
        kind = _kind(fields[name])[0]
        if rng.values:
            points = list(rng.values)
        elif rng.log:
            points = np.geomspace(*rng.range, rng.steps).tolist()
        else:
            points = np.linspace(*rng.range, rng.steps).tolist()
        axes.append([(name, p) for p in dict.fromkeys(_cast(kind, p) for p in points)])
    return [dict(combo) for combo in itertools.product(*axes)]


def sample(space: dict[str, SearchRange], params_model: type[BaseModel], n: int, seed: int) -> list[dict[str, Any]]:
    """`n` candidates drawn at random (uniform or log-uniform ranges), reproducible from `seed`; repeats
    are drawn again (up to a limit)."""
    fields = tunable(params_model)
    rng = np.random.default_rng(seed)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _ in range(n * 20):
        if len(out) >= n:
            break
        cand = {}
        for name, r in space.items():
            kind = _kind(fields[name])[0]
            if r.values:
                cand[name] = r.values[int(rng.integers(len(r.values)))]
            elif r.log:
                low, high = r.range
                cand[name] = _cast(kind, math.exp(rng.uniform(math.log(low), math.log(high))))
            else:
                cand[name] = _cast(kind, rng.uniform(*r.range))
        key = candidate_key(cand)
        if key not in seen:
            seen.add(key)
            out.append(cand)
    return out


def suggest(trial: Any, space: dict[str, SearchRange], params_model: type[BaseModel]) -> dict[str, Any]:
    """One Optuna trial's candidate."""
    fields = tunable(params_model)
    cand = {}
    for name, r in space.items():
        kind = _kind(fields[name])[0]
        if r.values:
            cand[name] = trial.suggest_categorical(name, list(r.values))
        elif kind == "int":
            low, high = r.range
            cand[name] = trial.suggest_int(name, int(math.ceil(low)), int(math.floor(high)), log=r.log)
        else:
            cand[name] = trial.suggest_float(name, r.low, r.high, log=r.log)
    return cand


# ------------------------------------------------------------------------------------------- halving
MIN_ITERATIONS = 5
"""Fewest boosting iterations a halving round fits (unless the learner's own count is smaller)."""


def halving_schedule(n_candidates: int, n_rows: int, min_resources: int, factor: int,
                     iterations: bool = False) -> list[tuple[int, int, int]]:
    """(candidates, rows, iteration divisor) per round of successive halving. Round i (from 0) scores the
    best ceil(n / factor**i) candidates on min_resources * factor**i rows (at most every row); the search
    stops once at most `factor` candidates are left, and the best of that last round wins. Rounds never
    start below `min_resources`, so first-round scores are defined.

    Without `iterations` the rows are the only resource (as scikit-learn's HalvingRandomSearchCV): rounds
    also stop when the rows run out, and then the last round uses every row; the divisor is 1.
    With `iterations` (a learner that grows in boosting iterations) the iterations are a second resource,
    as in Hyperband: with k rounds, round i fits 1/factor**(k - 1 - i) of the candidate's iterations (see
    `round_iterations`), so they too grow factor-fold per round and the last round fits them all; rows stop
    growing at every row, iterations go on. Small fits cost mostly per boosting iteration and per tree node,
    not per row, so fewer rows alone cannot make early rounds cheap."""
    min_resources = max(1, min(min_resources, n_rows))
    # rounds until at most `factor` candidates are left (a round of one candidate would choose nothing)
    required = max(1, math.ceil(math.log(n_candidates, factor) - 1e-9)) if n_candidates > 1 else 1
    possible = 1 + int(math.floor(math.log(n_rows / min_resources, factor) + 1e-9))
    rounds = max(1, required if iterations else min(required, possible))
    out = [(math.ceil(n_candidates / factor ** i), min(n_rows, min_resources * factor ** i),
            factor ** (rounds - 1 - i) if iterations else 1) for i in range(rounds)]
    if not iterations and possible <= required:
        out[-1] = (out[-1][0], n_rows, 1)
    return out


def round_iterations(full: int, divisor: int) -> int:
    """The boosting iterations a round with `divisor` fits of a candidate's `full` ones (at least
    MIN_ITERATIONS, and never more than `full`)."""
    return full if divisor <= 1 else min(full, max(MIN_ITERATIONS, math.ceil(full / divisor)))


def min_halving_rows(folds: int, classes: int) -> int:
    """The fewest rows a halving round may use: every fold's training part holds each class twice over."""
    return max(2 * folds * max(classes, 1), 50)


# ------------------------------------------------------------------------------------------- cache
def candidate_key(candidate: dict[str, Any], resources: int | None = None, iterations: int | None = None) -> str:
    """A scored candidate's cache key: its parameters, rows (None: every row) and, when a halving round
    cut them, the boosting iterations it fitted."""
    key: dict[str, Any] = {"params": candidate, "rows": resources}
    if iterations is not None:
        key["iterations"] = iterations
    return json.dumps(key, sort_keys=True, default=str)


def search_key(**parts: Any) -> str:
    """The cache file's key: everything a candidate's score depends on besides its own parameters."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


class CandidateCache:
    """Finished candidates of one search, appended to a JSON-lines file as each finishes (flushed and
    synced), so they survive a crash; a widened search re-fits only candidates it has not seen."""

    def __init__(self, folder: Path | None, key: str) -> None:
        self.path = None if folder is None else folder / f"{key}.jsonl"
        self.entries: dict[str, dict[str, Any]] = {}
        if self.path is not None and self.path.is_file() and self.path.stat().st_size <= CACHE_LIMIT:
            for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:  # a line torn by a crash, or garbage, is skipped
                    entry = json.loads(line)
                    self.entries[entry["key"]] = entry
                except (ValueError, KeyError, TypeError):
                    continue

    def get(self, key: str) -> dict[str, Any] | None:
        return self.entries.get(key)

    def put(self, key: str, entry: dict[str, Any]) -> None:
        entry = {"key": key, **entry}
        self.entries[key] = entry
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry, default=str) + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            self.path = None  # a read-only or full disk: go on without the cache
