"""Trained bundles: one zip per trained model, written and read by the app itself (DESIGN §5).

Members: `manifest.json` (versions, pipeline, data hashes, parameters, metrics, SHA-256 of every other
member), `model.skops` (estimator + fitted recipe, saved with skops), `schema.json` (input schema, label,
task, features) and `pipeline.json` (the pipeline it came from). Loading verifies every hash and lets
skops construct only the types on the app's own trusted list; boosted-tree predictors are checked
for out-of-range node and feature indices before use.
"""

from __future__ import annotations

import io
import json
import platform
import zipfile
from functools import lru_cache
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from designer.core.digest import bytes_sha256
from designer.core.errors import BadInput
from designer.core.model import TrainedModel
from designer.core.pipeline import atomic_write_bytes
from designer.core.schema import TableSchema

FORMAT = "pipeline-designer-bundle"
VERSION = 1
MEMBERS = ("model.skops", "schema.json", "pipeline.json")
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
    import skops.io as sio

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
    import skops.io as sio

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
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(manifest, indent=2, default=str))
        for name, data in members.items():
            z.writestr(name, data)
    atomic_write_bytes(path, buf.getvalue())
    return manifest


def _refuse(path: Path, message: str) -> BadInput:
    return BadInput(f"refused: {message}", file=str(path))


def read_manifest(path: str | Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Open a bundle and verify its members against the manifest's hashes."""
    p = Path(path)
    try:
        with zipfile.ZipFile(p) as z:
            names = set(z.namelist())
            if "manifest.json" not in names:
                raise _refuse(p, "not a bundle (no manifest.json)")
            manifest = json.loads(z.read("manifest.json"))
            members = {n: z.read(n) for n in names if n != "manifest.json"}
    except FileNotFoundError:
        raise BadInput("no such bundle file", file=str(p)) from None
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _refuse(p, f"not a readable bundle ({e})") from None
    if manifest.get("format") != FORMAT:
        raise _refuse(p, "not a Pipeline Designer bundle")
    if manifest.get("version") != VERSION:
        raise _refuse(p, f"bundle version {manifest.get('version')} is not supported (this program reads {VERSION})")
    expected = manifest.get("members", {})
    if set(expected) != set(MEMBERS) or set(members) != set(MEMBERS):
        extra = sorted(set(members) ^ set(MEMBERS))
        raise _refuse(p, f"unexpected or missing members: {', '.join(extra) or 'manifest list'}")
    for name in MEMBERS:
        if bytes_sha256(members[name]) != expected[name]:
            raise _refuse(p, f"member '{name}' does not match its SHA-256 in the manifest (changed after saving)")
    return manifest, members


def _check_trees(estimator: Any, path: Path) -> None:
    """Validate boosted-tree predictors: child and feature indices in range, no categorical splits."""
    import numpy as np

    predictors = getattr(estimator, "_predictors", None)
    if predictors is None:
        return
    n_features = int(getattr(estimator, "n_features_in_", 0))
    for it, per_class in enumerate(predictors):
        for tree in per_class:
            nodes = getattr(tree, "nodes", None)
            if not isinstance(nodes, np.ndarray) or nodes.dtype.names is None or len(nodes) == 0:
                raise _refuse(path, f"tree {it} has no valid node table")
            n = len(nodes)
            inner = ~nodes["is_leaf"].astype(bool)
            idx = np.arange(n)[inner]
            left, right = nodes["left"][inner].astype(np.int64), nodes["right"][inner].astype(np.int64)
            feat = nodes["feature_idx"][inner].astype(np.int64)
            if ((left <= idx) | (left >= n) | (right <= idx) | (right >= n)).any():
                raise _refuse(path, f"tree {it} has child indices out of range")
            if ((feat < 0) | (feat >= n_features)).any():
                raise _refuse(path, f"tree {it} reads a feature index out of range")
            if nodes["is_categorical"].astype(bool).any():
                raise _refuse(path, f"tree {it} uses categorical splits, which bundles never contain")


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


def load_bundle(path: str | Path) -> tuple[TrainedModel, dict[str, Any]]:
    """Load a verified bundle: (model, manifest). Raises BadInput for anything unexpected."""
    import skops.io as sio

    p = Path(path)
    manifest, members = read_manifest(p)
    payload = members["model.skops"]
    try:
        untrusted = set(sio.get_untrusted_types(data=payload))
    except Exception as e:  # skops raises many kinds for corrupt data
        raise _refuse(p, f"model.skops is not readable ({e})") from None
    needs = manifest.get("plugins") if isinstance(manifest.get("plugins"), dict) else {}
    trusted = trusted_types(untrusted, p, {k: v for k, v in needs.items() if isinstance(v, dict)})
    try:
        obj = sio.loads(payload, trusted=sorted(trusted))
    except Exception as e:
        raise _refuse(p, f"model.skops could not be loaded ({e})") from None
    _check_payload(obj, p)
    _check_trees(obj["estimator"], p)
    schema = json.loads(members["schema.json"])
    model = TrainedModel(node_id=schema["node"], task=schema["task"], estimator=obj["estimator"],
                         features=list(schema["features"]), recipe=tuple(obj["recipe"]),
                         input_schema=TableSchema.from_json(schema["input_schema"]), label=schema.get("label"),
                         learner=manifest.get("learner", {}), train_rows=manifest.get("train_rows", 0))
    return model, manifest
