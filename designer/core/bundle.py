"""Trained bundles: one zip per trained model, written and read by the app itself (DESIGN §5).

Members: `manifest.json` (versions, pipeline, data hashes, parameters, metrics, SHA-256 of every other
member and, in `sha256`, of the manifest itself), `model.skops` (estimator + fitted recipe, saved with
skops), `schema.json` (input schema, label, task, features) and `pipeline.json` (the pipeline it came
from). Loading reads the zip with bounded memory
(`designer.core.files`), verifies every hash and lets skops construct only the types on the app's own
trusted list; boosted-tree predictors, wherever they sit in the loaded model, are checked for out-of-range
node and feature indices before use.
"""

from __future__ import annotations

import io
import json
import platform
import zipfile
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from designer.core import jsontext
from designer.core.digest import bytes_sha256
from designer.core.errors import BadInput
from designer.core.model import TrainedModel
from designer.core.pipeline import atomic_write_bytes
from designer.core.schema import TableSchema
from designer.core.skops_io import skops_io

FORMAT = "pipeline-designer-bundle"
VERSION = 1
MEMBERS = ("model.skops", "schema.json", "pipeline.json")
OPTIONAL_MEMBERS = ("sample.json", "reference.json")
"""Members newer bundles add (older bundles load without them): `sample.json`, a few raw input rows;
`reference.json`, the drift reference profile (without it, drift says so)."""
SUFFIX = ".bundle.zip"

def trusted_types(untrusted: set[str], path: Path, needs: dict[str, Any], registry: Any = None) -> set[str]:
    """The subset of `untrusted` (types skops does not trust by itself) that this program trusts: its own
    (`designer.core.trust`), or a plugin's that the user enabled. Refuses the rest, naming the plugin needed.

    Never trusts a type because the bundle names it: `needs` (the manifest's plugin list) only improves the
    message when a plugin is missing.
    """
    from designer.core.config import enabled_plugins
    from designer.core.registry import default_registry
    from designer.core.trust import ALWAYS, declared

    registry = registry or default_registry()
    enabled = enabled_plugins()
    for name, info in sorted(needs.items()):
        plugin = registry.plugins.get(name)
        if plugin is None:
            raise _refuse(path, f"the bundle needs plugin '{name}' (package {info.get('package')} "
                                f"{info.get('version', '')}), which is not installed")
        if name not in enabled:
            raise _refuse(path, f"the bundle needs plugin '{name}' ({plugin.package}), which is installed but not "
                                f"enabled; if you trust it, run `pipeline-designer plugins enable {name}`")
    refused = []
    for t in sorted(untrusted - ALWAYS):
        plugin = registry.owner_of_class(t)
        if plugin is not None:
            if plugin.name not in enabled:
                raise _refuse(path, f"the bundle holds {t} from plugin '{plugin.name}' ({plugin.package}), which "
                                    f"is not enabled; if you trust it, run `pipeline-designer plugins enable "
                                    f"{plugin.name}`")
            registry.load_plugin(plugin.name)  # its classes declare their bundle types on import
        elif not t.startswith("designer."):
            refused.append(t)
            continue
        if t not in declared():
            refused.append(t)
    if refused:
        raise _refuse(path, f"model.skops holds types this program does not trust: {', '.join(refused)}")
    return set(untrusted)


def plugins_needed(payload: bytes, registry: Any = None) -> dict[str, dict[str, str]]:
    """The plugins whose classes a saved model holds: {name: {package, version}}."""
    sio = skops_io()

    from designer.core.registry import default_registry

    registry = registry or default_registry()
    out = {}
    for t in sio.get_untrusted_types(data=payload):
        plugin = registry.owner_of_class(t)
        if plugin is not None:
            out[plugin.name] = {"package": plugin.package, "version": plugin.version}
    return out


@lru_cache(maxsize=1)
def designer_source() -> str | None:
    """The commit of the designer's own source checkout (+dirty when changed), when it runs from one."""
    from designer.core.store.process import source_commit

    return source_commit(Path(__file__).resolve().parents[2])


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a result depends on (read without importing them)."""
    from importlib.metadata import PackageNotFoundError, version

    from designer import __version__

    out = {"pipeline-designer": __version__, "python": platform.python_version()}
    source = designer_source()
    if source:
        out["pipeline-designer source"] = source
    for dist in ("numpy", "pandas", "scikit-learn", "skops", "pydantic", "networkx"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


def model_payload(model: TrainedModel) -> bytes:
    """`model.skops`: the estimator and the fitted recipe saved with skops (the slow part of writing a bundle)."""
    sio = skops_io()

    return sio.dumps({"estimator": model.estimator, "recipe": list(model.recipe)})


def write_bundle(path: str | Path, model: TrainedModel, *, pipeline_json: str, params: dict[str, Any],
                 metrics: dict[str, Any] | None = None, payload: bytes | None = None) -> dict[str, Any]:
    """Write a bundle atomically; returns its manifest. `payload`: `model_payload(model)`, if made already."""
    payload = model_payload(model) if payload is None else payload
    plugins = plugins_needed(payload)
    schema = {"task": model.task, "label": model.label, "features": model.features,
              "input_schema": model.input_schema.to_json(), "node": model.node_id}
    members = {"model.skops": payload, "schema.json": json.dumps(schema, indent=2).encode(),
               "pipeline.json": pipeline_json.encode()}
    if model.sample is not None:
        members["sample.json"] = json.dumps(sample_to_json(model.sample)).encode()
    if model.reference is not None:
        members["reference.json"] = json.dumps(model.reference, separators=(",", ":"), allow_nan=False).encode()
    manifest = {
        "format": FORMAT, "version": VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "libraries": library_versions(),
        "pipeline": {"name": json.loads(pipeline_json).get("name"), "sha256": bytes_sha256(pipeline_json.encode()),
                     "node": model.node_id},
        "data": [s.to_json() for s in model.sources],
        "task": model.task, "label": model.label, "train_rows": model.train_rows,
        "learner": model.learner, "params": params, "metrics": metrics or {},
        "recipe": [s.describe() for s in model.recipe],
        "plugins": plugins,
        "members": {name: bytes_sha256(data) for name, data in members.items()},
    }
    manifest = json.loads(jsontext.dumps(manifest))  # what a reader will see: valid JSON, non-finite as null
    manifest["sha256"] = manifest_sha256(manifest)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", jsontext.dumps(manifest, indent=2))
        for name, data in members.items():
            z.writestr(name, data)
    atomic_write_bytes(path, buf.getvalue())
    return manifest


def _refuse(path: Path, message: str) -> BadInput:
    return BadInput(f"refused: {message}", file=str(path))


def _canonical(manifest: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in manifest.items() if k != "sha256"}, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"), allow_nan=False).encode()


def manifest_sha256(manifest: dict[str, Any]) -> str:
    """The SHA-256 a manifest carries of itself: over its canonical JSON without the `sha256` field."""
    return bytes_sha256(_canonical(manifest))


def read_manifest(path: str | Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Open a bundle and verify its manifest and members against the manifest's hashes.

    Hostile files cost bounded memory and time: the path must be a regular file of at most MAX_INFLATED
    bytes; member names, declared sizes and compression ratios are checked before anything is inflated,
    and members are inflated in chunks, never past their declared size (see `designer.core.files`).
    """
    import zlib

    from designer.core.files import MAX_INFLATED, open_regular, open_zip, read_member

    p = Path(path)

    def refuse(message: str) -> BadInput:
        return _refuse(p, message)

    with open_regular(p, "bundle file", max_bytes=MAX_INFLATED) as f:
        try:
            with open_zip(f, refuse, "the bundle", allowed=("manifest.json", *MEMBERS, *OPTIONAL_MEMBERS)) as z:
                names = set(z.namelist())
                if "manifest.json" not in names:
                    raise refuse("not a bundle (no manifest.json)")
                manifest = json.loads(read_member(z, "manifest.json", refuse, "the bundle"))
                members = {n: read_member(z, n, refuse, "the bundle") for n in sorted(names - {"manifest.json"})}
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, ValueError,
                UnicodeDecodeError) as e:  # ValueError covers JSON errors; RuntimeError: encrypted, too deep
            raise refuse(f"not a readable bundle ({type(e).__name__}: {str(e)[:200]})") from None
    if not isinstance(manifest, dict):
        raise refuse(f"manifest.json holds a JSON {type(manifest).__name__}, not an object")
    if manifest.get("format") != FORMAT:
        raise refuse("not a Pipeline Designer bundle")
    if manifest.get("version") != VERSION or isinstance(manifest.get("version"), bool):
        raise refuse(f"bundle version {str(manifest.get('version'))[:20]} is not supported (this program reads "
                     f"{VERSION})")
    claimed = manifest.get("sha256")
    if claimed is not None:
        try:
            ok = claimed == manifest_sha256(manifest)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise refuse("manifest.json does not match its own SHA-256 (changed after saving)")
    expected = manifest.get("members")
    if not isinstance(expected, dict) or not all(isinstance(v, str) for v in expected.values()):
        raise refuse("manifest.json has no list of member hashes")
    allowed = set(MEMBERS) | set(OPTIONAL_MEMBERS)
    if set(expected) != set(members) or not set(MEMBERS) <= set(members) <= allowed:
        extra = sorted((set(members) ^ set(MEMBERS)) - (set(OPTIONAL_MEMBERS) & set(expected)))
        raise refuse(f"unexpected or missing members: {', '.join(extra) or 'manifest list'}")
    for name in members:
        if bytes_sha256(members[name]) != expected[name]:
            raise refuse(f"member '{name}' does not match its SHA-256 in the manifest (changed after saving)")
    for key, kind in (("pipeline", dict), ("libraries", dict), ("plugins", dict), ("learner", dict),
                      ("metrics", dict), ("params", dict), ("data", list), ("train_rows", int)):
        if key in manifest and not isinstance(manifest[key], kind):
            raise refuse(f"manifest.json: '{key}' is not a JSON {'object' if kind is dict else kind.__name__}")
    return manifest, members


def bundle_warnings(manifest: dict[str, Any]) -> list[str]:
    """What a user should know before trusting a verified bundle's results: an unverifiable manifest (an
    older bundle), or libraries whose versions differ from the ones it was made with."""
    out = []
    if "sha256" not in manifest:
        out.append("manifest.json carries no SHA-256 of its own (a bundle from an older version), so its "
                   "metrics and provenance cannot be verified")
    made = manifest.get("libraries") or {}
    now = library_versions()
    differ = [f"{lib} {made[lib]} (now {now[lib]})" for lib in ("scikit-learn", "numpy", "pandas", "skops")
              if lib in made and str(made[lib]) != now.get(lib)]
    if differ:
        out.append(f"made with other library versions: {', '.join(differ)}; its predictions may differ from "
                   "the ones it was evaluated with")
    return out


MAX_OBJECTS = 5_000_000
"""The most objects `_check_trees` walks through in a loaded model (a bound on time for hostile files)."""


def _check_trees(obj: Any, path: Path) -> None:
    """Validate every boosted-tree predictor wherever it sits in the loaded object (a boosted model wrapped in
    a Pipeline, a meta-estimator, a list or dict inside a recipe step): child and feature indices in range,
    the node table's exact layout, no categorical splits. A predictor outside a boosted model is refused.

    Walks estimators' attributes, lists, tuples, sets, dicts and object arrays iteratively (no recursion
    limit to hit), each object once (cycles), at most MAX_OBJECTS of them.
    """
    import types

    import numpy as np
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    checked: set[int] = set()
    seen: set[int] = set()
    stack = [obj]
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, (str, bytes, int, float, complex, type, types.ModuleType,
                                              types.FunctionType, types.BuiltinFunctionType, np.generic)):
            continue
        seen.add(id(o))
        if len(seen) > MAX_OBJECTS:
            raise _refuse(path, f"model.skops holds more than {MAX_OBJECTS:,} objects")
        if isinstance(o, TreePredictor):
            if id(o) not in checked:
                raise _refuse(path, "model.skops holds a boosted-tree predictor outside a boosted-trees model")
            continue
        if isinstance(o, np.ndarray):
            if o.dtype == object:
                stack.extend(o.ravel().tolist())
            continue
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(o)
        else:
            attrs = getattr(o, "__dict__", None)
            if not isinstance(attrs, dict):
                continue
            if "_predictors" in attrs:
                checked.update(_check_boosted(o, attrs["_predictors"], path))
            stack.extend(attrs.values())


def _check_boosted(estimator: Any, predictors: Any, path: Path) -> set[int]:
    """Check one boosted model's predictors (a list per iteration of one tree per class); their ids."""
    import numpy as np
    from sklearn.ensemble._hist_gradient_boosting.common import PREDICTOR_RECORD_DTYPE
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor

    name = type(estimator).__name__
    n_features = getattr(estimator, "n_features_in_", None)
    if not isinstance(n_features, (int, np.integer)) or isinstance(n_features, bool) or n_features < 1:
        raise _refuse(path, f"{name} has no valid number of features")
    if not isinstance(predictors, list) or not all(isinstance(p, list) for p in predictors):
        raise _refuse(path, f"{name} holds its trees in an unexpected structure")
    ids = set()
    for it, per_class in enumerate(predictors):
        for tree in per_class:
            if not isinstance(tree, TreePredictor):
                raise _refuse(path, f"{name} tree {it} is a {type(tree).__name__}, not a tree predictor")
            nodes = getattr(tree, "nodes", None)
            if (not isinstance(nodes, np.ndarray) or nodes.dtype != PREDICTOR_RECORD_DTYPE or nodes.ndim != 1
                    or len(nodes) == 0):
                raise _refuse(path, f"tree {it} has no valid node table")
            n = len(nodes)
            inner = ~nodes["is_leaf"].astype(bool)
            idx = np.arange(n)[inner]
            left, right = nodes["left"][inner].astype(np.int64), nodes["right"][inner].astype(np.int64)
            feat = nodes["feature_idx"][inner].astype(np.int64)
            if ((left <= idx) | (left >= n) | (right <= idx) | (right >= n)).any():
                raise _refuse(path, f"tree {it} has child indices out of range")
            if ((feat < 0) | (feat >= int(n_features))).any():
                raise _refuse(path, f"tree {it} reads a feature index out of range")
            if nodes["is_categorical"].astype(bool).any():
                raise _refuse(path, f"tree {it} uses categorical splits, which bundles never contain")
            ids.add(id(tree))
    return ids


def _check_payload(obj: Any, path: Path) -> None:
    """model.skops must hold {"estimator": a fitted estimator, "recipe": [recipe steps]} and nothing else."""
    from sklearn.base import BaseEstimator

    from designer.core.recipe import Step

    if not isinstance(obj, dict) or set(obj) != {"estimator", "recipe"}:
        raise _refuse(path, "model.skops does not hold an estimator and a recipe")
    if not isinstance(obj["estimator"], BaseEstimator) or not hasattr(obj["estimator"], "predict"):
        raise _refuse(path, f"model.skops holds {type(obj['estimator']).__name__}, not a fitted model")
    if not isinstance(obj["recipe"], list) or not all(isinstance(s, Step) for s in obj["recipe"]):
        raise _refuse(path, "model.skops holds a recipe that is not a list of recipe steps")


TASKS = ("regression", "classification", "clustering")


def _read_schema(data: bytes, path: Path) -> dict[str, Any]:
    """schema.json, checked field by field (its hash only proves it is what the writer wrote)."""
    from designer.core.schema import KINDS

    try:
        schema = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise _refuse(path, f"schema.json is not readable JSON ({str(e)[:200]})") from None
    problem = None
    if not isinstance(schema, dict):
        problem = "is not a JSON object"
    elif not isinstance(schema.get("node"), str):
        problem = "names no training node"
    elif schema.get("task") not in TASKS:
        problem = f"names no known task (got {str(schema.get('task'))[:40]!r})"
    elif not (schema.get("label") is None or isinstance(schema.get("label"), str)):
        problem = "has a label that is not a column name"
    elif not isinstance(schema.get("features"), list) or not all(isinstance(f, str) for f in schema["features"]):
        problem = "has no list of feature columns"
    elif not isinstance(schema.get("input_schema"), list) or not all(
            isinstance(c, dict) and isinstance(c.get("name"), str) and c.get("kind") in KINDS
            for c in schema["input_schema"]):
        problem = "has no valid list of input columns (name and kind)"
    if problem:
        raise _refuse(path, f"schema.json {problem}")
    return schema


def load_bundle(path: str | Path) -> tuple[TrainedModel, dict[str, Any], list[str]]:
    """Load a verified bundle: (model, manifest, warnings). Raises BadInput for anything unexpected; the
    warnings (an older manifest without its own hash, other library versions) are for the caller to show."""
    import zlib

    from designer.core.files import open_zip

    p = Path(path)
    manifest, members = read_manifest(p)
    schema = _read_schema(members["schema.json"], p)
    payload = members["model.skops"]
    try:  # model.skops is a zip too: skops inflates it, so its declared sizes are checked first
        open_zip(io.BytesIO(payload), lambda m: _refuse(p, m), "model.skops").close()
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, ValueError) as e:
        raise _refuse(p, f"model.skops is not readable ({str(e)[:200]})") from None
    sio = skops_io()  # only now: a refused file costs no scikit-learn import
    try:
        untrusted = set(sio.get_untrusted_types(data=payload))
    except Exception as e:  # skops raises many kinds for corrupt data
        raise _refuse(p, f"model.skops is not readable ({str(e)[:200]})") from None
    needs = manifest.get("plugins")
    needs = {k: v for k, v in needs.items() if isinstance(v, dict)} if isinstance(needs, dict) else {}
    trusted = trusted_types(untrusted, p, needs)
    try:
        obj = sio.loads(payload, trusted=sorted(trusted))
    except Exception as e:
        raise _refuse(p, f"model.skops could not be loaded ({str(e)[:200]})") from None
    _check_payload(obj, p)
    _check_trees(obj, p)
    estimator, features = obj["estimator"], list(schema["features"])
    width = getattr(estimator, "n_features_in_", None)
    if width is not None and width != len(features):
        raise _refuse(p, f"schema.json lists {len(features)} feature columns but the model in model.skops was "
                         f"fitted on {width}")
    model = TrainedModel(node_id=schema["node"], task=schema["task"], estimator=estimator, features=features,
                         recipe=tuple(obj["recipe"]), input_schema=TableSchema.from_json(schema["input_schema"]),
                         label=schema.get("label"), learner=manifest.get("learner", {}),
                         train_rows=manifest.get("train_rows", 0), reference=_reference(members, p))
    if "sample.json" in members:
        try:
            model.sample = sample_from_json(json.loads(members["sample.json"]))
        except (ValueError, TypeError, KeyError) as e:
            raise _refuse(p, f"sample.json is not readable ({str(e)[:200]})") from None
    return model, manifest, bundle_warnings(manifest)


SAMPLE_DTYPES = ("float64", "int64", "bool", "str", "object")


def sample_to_json(frame: Any) -> dict[str, Any]:
    """Raw input rows as JSON: each column's name, dtype and values (missing values as null)."""
    cols = []
    for name in frame.columns:
        s = frame[name]
        dtype = str(s.dtype) if str(s.dtype) in SAMPLE_DTYPES else "object"
        values = [None if v is None or (isinstance(v, float) and v != v) else v for v in s.tolist()]
        cols.append({"name": str(name), "dtype": dtype, "values": values})
    return {"columns": cols}


def sample_from_json(data: dict[str, Any]) -> Any:
    """The rows of `sample_to_json`, with their dtypes; only plain values are accepted."""
    import numpy as np
    import pandas as pd

    out = {}
    for col in data["columns"]:
        if col["dtype"] not in SAMPLE_DTYPES:
            raise ValueError(f"unknown dtype {col['dtype']!r}")
        values = [np.nan if v is None else v for v in col["values"]]
        if not all(isinstance(v, (int, float, str, bool)) for v in values):
            raise ValueError("values must be numbers, text or booleans")
        out[str(col["name"])] = pd.Series(values, dtype=col["dtype"])
    return pd.DataFrame(out)


def read_reference(path: str | Path) -> dict[str, Any] | None:
    """A bundle's reference profile (None for bundles written before there was one), hash-verified like every
    member, without loading the model (drift over captured rows needs no scikit-learn)."""
    p = Path(path)
    _, members = read_manifest(p)
    return _reference(members, p)


def _reference(members: dict[str, bytes], path: Path) -> dict[str, Any] | None:
    data = members.get("reference.json")
    if data is None:
        return None
    try:
        reference = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise _refuse(path, f"reference.json is not readable ({e})") from None
    if not isinstance(reference, dict):
        raise _refuse(path, "reference.json does not hold a reference profile")
    return reference
