"""Saved results: finished nodes' outputs on disk, content-addressed by node fingerprint, beside the run store.

So reopening a pipeline shows its last results without a re-run, and a run (desktop or `pipeline-designer
run`) reuses every node whose module, parameters, upstream and input file *contents* are unchanged. Never
pickle: tables are Arrow IPC files (frame, meta and feature columns; LZ4-compressed, several times faster to
write than Parquet) plus their fitted recipe saved with skops
and loaded with the app's trusted types only; trained models are bundles (designer.core.bundle); reports are
JSON. Learners (an unfitted estimator) are not saved: they are rebuilt in no time.

    <store folder>/results/<fp[:2]>/<fingerprint>/manifest.json, <port>.*.arrow, <port>.recipe.skops, ...

Entries are written into a temporary folder and renamed into place, so a stopped run leaves none half-written.
Old entries beyond MAX_BYTES are removed, least recently used first.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any

from designer.core.skops_io import skops_io

FORMAT = "pipeline-designer-results"
VERSION = 2
MAX_BYTES = 4 * 1024**3


class ResultCache:
    """Outputs by node fingerprint under `root`."""

    def __init__(self, root: Path, max_bytes: int = MAX_BYTES) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._frames = _WrittenFrames()

    def _dir(self, fingerprint: str) -> Path:
        key = hashlib.sha256(f"{fingerprint}:{FORMAT}/{VERSION}:{_versions()}".encode()).hexdigest()
        return self.root / key[:2] / key

    def has(self, fingerprint: str) -> bool:
        return (self._dir(fingerprint) / "manifest.json").is_file()

    # ------------------------------------------------------------------------------------ write
    def put(self, fingerprint: str, outputs: dict[str, Any]) -> bool:
        """Save a node's outputs; False when one of them cannot be saved (then nothing is)."""
        from designer.core.model import TrainedModel
        from designer.core.values import Report, Table

        final = self._dir(fingerprint)
        if final.is_dir():
            if _manifest(final) is not None:
                return True
            shutil.rmtree(final, ignore_errors=True)  # damaged, or not this format: written again
        if not all(isinstance(v, (Table, TrainedModel, Report)) for v in outputs.values()):
            return False
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.root))
        try:
            manifest: dict[str, Any] = {"format": FORMAT, "version": VERSION, "ports": {}}
            for port, value in outputs.items():
                if isinstance(value, Table):
                    manifest["ports"][port] = _write_table(tmp, port, value, self._frames)
                elif isinstance(value, TrainedModel):
                    from designer.core.bundle import write_bundle

                    write_bundle(tmp / f"{port}.bundle.zip", value, pipeline_json="{}", params={}, metrics={})
                    manifest["ports"][port] = {"kind": "model"}
                else:
                    (tmp / f"{port}.report.json").write_text(json.dumps(value.entries, default=_plain))
                    manifest["ports"][port] = {"kind": "report"}
            (tmp / "manifest.json").write_text(json.dumps(manifest))
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
            self._frames.moved(tmp, final)
        except Exception:  # noqa: BLE001  (a full disk or an unsavable value: the run goes on without it)
            shutil.rmtree(tmp, ignore_errors=True)
            return False
        self._trim()
        return True

    # ------------------------------------------------------------------------------------ read
    def get(self, fingerprint: str) -> dict[str, Any] | None:
        """A node's saved outputs, or None (absent, or unreadable: then removed)."""
        folder = self._dir(fingerprint)
        if not folder.is_dir():
            return None
        try:
            manifest = _manifest(folder)
            if manifest is None:
                raise ValueError("not a saved result of this version")
            out: dict[str, Any] = {}
            for port, info in manifest["ports"].items():
                out[port] = _read(folder, port, info)
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001  (corrupt or from an incompatible version: compute it again)
            shutil.rmtree(folder, ignore_errors=True)
            return None
        os.utime(folder)  # recently used
        return out

    def _trim(self) -> None:
        entries = []
        for sub in self.root.glob("??/*"):
            size = sum(f.stat().st_size for f in sub.iterdir() if f.is_file())
            entries.append((sub.stat().st_mtime, size, sub))
        total = sum(e[1] for e in entries)
        for _, size, sub in sorted(entries):
            if total <= self.max_bytes:
                break
            shutil.rmtree(sub, ignore_errors=True)
            total -= size


def _manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a saved result of this format and version (None: absent, unreadable or another)."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    ok = isinstance(manifest, dict) and manifest.get("format") == FORMAT and manifest.get("version") == VERSION
    return manifest if ok else None


_PRELOAD = threading.Lock()


def preload() -> None:
    """Import the libraries saving and loading use before worker threads (a node's, the saver's, a restore's)
    import them at the same time: a first import of scikit-learn from two threads at once can fail half-way
    ("partially initialized module"). One thread imports; the others wait for it."""
    with _PRELOAD:
        import pandas  # noqa: F401
        import pyarrow.feather  # noqa: F401
        import sklearn.base  # noqa: F401
        skops_io()


@functools.lru_cache(maxsize=1)
def _versions() -> str:
    """Results are only reused by the same versions of the app and its libraries."""
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for dist in ("pipeline-designer", "scikit-learn", "pandas", "numpy"):
        try:
            parts.append(f"{dist}={version(dist)}")
        except PackageNotFoundError:
            parts.append(f"{dist}=?")
    return ",".join(parts)


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


class _WrittenFrames:
    """The frames this cache wrote, by identity while they live: a frame handed on unchanged from node to
    node (a split's rows become the next tables' rows before cleaning) is hard-linked to the file written
    first, not written again."""

    def __init__(self) -> None:
        self._files: dict[int, tuple[weakref.ref[Any], Path]] = {}
        self._pending: list[tuple[Any, Path]] = []

    def write(self, frame: Any, path: Path) -> None:
        known = self._files.get(id(frame))
        if known is not None and known[0]() is frame:
            try:
                os.link(known[1], path)
                return
            except OSError:  # gone (trimmed), or a file system without links: write it
                pass
        write_frame(frame, path)
        self._pending.append((frame, path))

    def moved(self, tmp: Path, final: Path) -> None:
        """The entry written in `tmp` is now `final`: its files can be linked to."""
        self._files = {k: v for k, v in self._files.items() if v[0]() is not None}
        for frame, path in self._pending:
            self._files[id(frame)] = (weakref.ref(frame), final / path.relative_to(tmp))
        self._pending.clear()


def write_frame(frame: Any, path: Path) -> None:
    """A DataFrame (index and dtypes kept) as an LZ4-compressed Arrow IPC file."""
    import pyarrow as pa
    import pyarrow.feather as feather

    feather.write_feather(pa.Table.from_pandas(frame, preserve_index=True), str(path), compression="lz4")


def read_frame(path: Path) -> Any:
    """A DataFrame written by `write_frame`."""
    import pyarrow.feather as feather

    return feather.read_table(str(path)).to_pandas()


def _write_table(folder: Path, port: str, table: Any, frames: _WrittenFrames) -> dict[str, Any]:
    sio = skops_io()

    frames.write(table.frame, folder / f"{port}.frame.arrow")
    if table.meta is not None:
        frames.write(table.meta, folder / f"{port}.meta.arrow")
    if table.features is not None:
        frames.write(table.features, folder / f"{port}.features.arrow")
    (folder / f"{port}.recipe.skops").write_bytes(sio.dumps({"recipe": list(table.recipe)}))
    extras: dict[str, Any] = {}  # what refits (raw), drift references (source) and exported checks (sample) need later
    for name, extra in (("raw", table.raw), ("source", _source_rows(table)), ("sample", table.source_sample)):
        if isinstance(extra, str):
            extras[name] = extra
        elif extra is not None:
            frames.write(extra, folder / f"{port}.{name}.arrow")
            extras[name] = True
    return {"kind": "table", "meta": table.meta is not None, "features": table.features is not None, **extras,
            "source_schema": table.source_schema.model_dump(mode="json") if table.source_schema else None,
            "sources": [s.to_json() for s in table.sources], "scored": table.scored,
            "origin": list(table.origin) if table.origin else None}


def _source_rows(table: Any) -> Any:
    """The table's rows as they left their source; "frame" or "raw" when those are its frame (no cleaning
    yet) or its rows before cleaning (same columns), which are then not saved twice."""
    source = table.source_frame
    if source is None:
        return None
    if not table.recipe and table.frame.columns.equals(source.columns):
        return "frame"
    raw = table.raw
    if raw is not None and raw.columns.equals(source.columns) and raw.dtypes.equals(source.dtypes):
        return "raw"  # the rows before cleaning are the source's rows (row steps change no values)
    return table.raw_rows()


def _read(folder: Path, port: str, info: dict[str, Any]) -> Any:
    kind = info["kind"]
    if kind == "model":
        from designer.core.bundle import load_bundle

        return load_bundle(folder / f"{port}.bundle.zip")[0]
    if kind == "report":
        from designer.core.values import Report

        return Report(json.loads((folder / f"{port}.report.json").read_text()))
    return _read_table(folder, port, info)


def _read_table(folder: Path, port: str, info: dict[str, Any]) -> Any:
    sio = skops_io()

    from designer.core.bundle import trusted_types
    from designer.core.schema import TableSchema
    from designer.core.values import DataSource, Table

    path = folder / f"{port}.recipe.skops"
    payload = path.read_bytes()
    trusted = trusted_types(set(sio.get_untrusted_types(data=payload)), path, {})
    recipe = sio.loads(payload, trusted=sorted(trusted))["recipe"]
    frame = read_frame(folder / f"{port}.frame.arrow")
    meta = read_frame(folder / f"{port}.meta.arrow") if info.get("meta") else None
    features = read_frame(folder / f"{port}.features.arrow") if info.get("features") else None
    raw, source, sample = (read_frame(folder / f"{port}.{name}.arrow") if info.get(name) is True else None
                           for name in ("raw", "source", "sample"))
    if info.get("source") in ("frame", "raw"):
        source = frame if info["source"] == "frame" else raw
    schema = info.get("source_schema")
    return Table(frame=frame, recipe=tuple(recipe), raw=raw, source_frame=source, source_sample=sample,
                 source_schema=TableSchema.model_validate(schema) if schema else None,
                 sources=tuple(DataSource(**s) for s in info.get("sources", [])), scored=info.get("scored"),
                 meta=meta, features=features, origin=tuple(info["origin"]) if info.get("origin") else None)


def results_folder(store_path: Path) -> Path:
    """Where a run store keeps saved results: `results/` beside its database."""
    return Path(store_path).parent / "results"




class WarmStarts:
    """Fitted models saved by earlier runs that a fit may start from (boosted trees: the same data, label and
    hyperparameters except the number of trees). An index `warm/<key>.json` maps a tree count to the saved
    result of the node that fitted it."""

    def __init__(self, results: ResultCache, fingerprint: str) -> None:
        self.results, self.fingerprint = results, fingerprint

    def _index(self, key: str) -> Path:
        return self.results.root / "warm" / f"{key}.json"

    def candidates(self, key: str) -> dict[int, str]:
        try:
            return {int(n): fp for n, fp in json.loads(self._index(key).read_text()).items()}
        except (OSError, ValueError):
            return {}

    def load(self, fingerprint: str, port: str = "model") -> Any:
        """The saved model of that node result, or None."""
        outputs = self.results.get(fingerprint) if self.results.has(fingerprint) else None
        return None if outputs is None else outputs.get(port)

    def offer(self, key: str, size: int) -> None:
        """This node's result (saved after it finishes) is a model of `size` trees for `key`."""
        index = self.candidates(key)
        index[size] = self.fingerprint
        path = self._index(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({str(n): fp for n, fp in sorted(index.items())}))
        os.replace(tmp, path)
