"""The model registry: bundles a run wrote, copied into the store as numbered versions of a name, with lineage.

`RunStore` inherits the registry methods from `ModelRegistry` (the registry shares the store's file and runs).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from designer.core.digest import file_sha256
from designer.core.store.database import Database
from designer.core.store.errors import StoreError
from designer.core.store.location import MODELS_DIR
from designer.core.store.records import BUNDLE_SUFFIX, ModelRecord, now_iso

if TYPE_CHECKING:
    from designer.core.store.records import RunRecord

MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def parse_model_ref(ref: str, what: str = "model") -> tuple[str, int | None]:
    """"NAME" or "NAME:VERSION" (VERSION a number or "latest") of a model (or, with `what`, a data set)."""
    name, sep, version = ref.partition(":")
    if not MODEL_NAME.fullmatch(name):
        raise StoreError(f"'{ref}' is not a {what} name (letters, digits, '_', '.', '-'; optionally :VERSION)")
    if not sep or version in ("", "latest"):
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise StoreError(f"'{ref}': the version after ':' must be a number from 1 (or 'latest')")
    return name, int(version)


def read_bundle_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A bundle's manifest.json, read without loading the model (lineage only; scoring verifies everything)."""
    from designer.core.files import MAX_INFLATED, open_regular, open_zip, read_member

    def refuse(message: str) -> StoreError:
        return StoreError(message, file=str(path))

    if not Path(path).exists():
        raise StoreError("the bundle file is missing", file=str(path))
    try:  # bounded, like every zip this program reads (designer.core.files)
        with open_regular(path, "bundle file", max_bytes=MAX_INFLATED) as f, open_zip(f, refuse, "the bundle") as z:
            manifest = json.loads(read_member(z, "manifest.json", refuse, "the bundle"))
    except (OSError, KeyError, zipfile.BadZipFile, zlib.error, ValueError, RuntimeError, EOFError,
            UnicodeDecodeError) as e:
        raise StoreError(f"not a readable bundle ({e})", file=str(path)) from None
    if not isinstance(manifest, dict):
        raise StoreError("not a Pipeline Designer bundle", file=str(path))
    return manifest


class ModelRegistry(Database):
    """The registry methods of `RunStore`: register, list and get models, and their lineage."""

    if TYPE_CHECKING:
        def get_run(self, ref: str) -> RunRecord: ...  # RunStore's

    def register_model(self, run_ref: str, node: str, name: str) -> ModelRecord:
        """Copy the bundle that `node` of a run wrote into the store as the next version of `name`.

        The bundle must still be byte-identical to what the run wrote (its SHA-256 is checked against the
        run's artifact record), so a later run that overwrote it cannot be registered by mistake.
        """
        if not MODEL_NAME.fullmatch(name or ""):
            raise StoreError(f"'{name}' is not a valid model name: use letters, digits, '_', '.' and '-' "
                             "(up to 64, starting with a letter or digit)")
        run = self.get_run(run_ref)
        bundles = run.bundles()
        if node not in bundles:
            have = ", ".join(sorted(bundles)) or "none"
            raise StoreError(f"run {run.id} wrote no trained bundle for node '{node}' (bundles of that run: {have})",
                             node=node)
        artifact = bundles[node]
        src = Path(artifact["path"])
        if not src.is_file():
            raise StoreError(f"the bundle run {run.id} wrote is gone (deleted or moved); re-run the pipeline and "
                             "register that run", file=str(src))
        if file_sha256(src) != artifact["sha256"]:
            raise StoreError(f"the bundle has changed since run {run.id} wrote it (overwritten by a later run into "
                             "the same folder?); register the run that wrote it last, or re-run", file=str(src))
        for m in self.list_models(name):  # registering the same bundle again is a no-op
            if m.run_id == run.id and m.node == node and m.sha256 == artifact["sha256"] and m.bundle.is_file():
                m.new = False
                return m
        models = self.folder / MODELS_DIR
        models.mkdir(parents=True, exist_ok=True)
        staging = models / f".staging-{secrets.token_hex(6)}{BUNDLE_SUFFIX}"
        dest: Path | None = None
        committed = False
        try:
            shutil.copyfile(src, staging)
            if file_sha256(staging) != artifact["sha256"]:
                raise StoreError("the bundle changed while it was being copied; try again", file=str(src))
            with self._write() as conn:
                version = int(conn.execute("SELECT coalesce(max(version), 0) FROM models WHERE name = ?",
                                           (name,)).fetchone()[0]) + 1
                rel = Path(MODELS_DIR) / name / str(version) / src.name
                dest = self.folder / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging, dest)
                registered = now_iso()
                conn.execute("INSERT INTO models VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (name, version, run.id, node, rel.as_posix(), artifact["sha256"], registered))
            committed = True
        except OSError as e:
            raise StoreError(f"cannot copy the bundle into the store ({e.strerror or e})", file=str(src)) from None
        finally:
            staging.unlink(missing_ok=True)
            if not committed and dest is not None:
                dest.unlink(missing_ok=True)
        return ModelRecord(name, version, run.id, node, dest, artifact["sha256"], registered)

    def _model(self, row: tuple[Any, ...]) -> ModelRecord:
        name, version, run_id, node, bundle, sha, registered = row
        return ModelRecord(name, int(version), run_id, node, self.folder / bundle, sha, registered)

    def list_models(self, name: str | None = None) -> list[ModelRecord]:
        sql = "SELECT name, version, run_id, node, bundle, sha256, registered_at FROM models"
        args: tuple[Any, ...] = ()
        if name is not None:
            sql += " WHERE name = ?"
            args = (name,)
        return [self._model(r) for r in self._read(sql + " ORDER BY name, version", args)]

    def get_model(self, ref: str, version: int | None = None) -> ModelRecord:
        """`ref` "NAME" (latest version), "NAME:VERSION" or "NAME:latest"; `version` overrides."""
        name, v = parse_model_ref(ref)
        version = version if version is not None else v
        versions = self.list_models(name)
        if not versions:
            names = sorted({m.name for m in self.list_models()})
            raise StoreError(f"no registered model '{name}' (registered: {', '.join(names) or 'none'})",
                             file=str(self.path))
        if version is None:
            return versions[-1]
        for m in versions:
            if m.version == version:
                return m
        raise StoreError(f"model '{name}' has no version {version} (versions: "
                         f"{', '.join(str(m.version) for m in versions)})", file=str(self.path))

    def model_bundle(self, ref: str) -> ModelRecord:
        """A registered model whose bundle copy is present and unchanged since registration."""
        m = self.get_model(ref)
        if not m.bundle.is_file():
            raise StoreError(f"the bundle of model {m.ref} is missing from the store", file=str(m.bundle))
        if file_sha256(m.bundle) != m.sha256:
            raise StoreError(f"the bundle of model {m.ref} was changed after it was registered; refusing to use it",
                             file=str(m.bundle))
        return m

    def lineage(self, name: str, version: int | None = None) -> dict[str, Any]:
        """model -> run -> pipeline -> data hashes -> parameters -> metrics, for one registered version."""
        m = self.model_bundle(name if version is None else f"{parse_model_ref(name)[0]}:{version}")
        manifest = read_bundle_manifest(m.bundle)
        run = self.get_run(m.run_id)
        return {
            "model": {**m.to_json(), "task": manifest.get("task"), "label": manifest.get("label"),
                      "train_rows": manifest.get("train_rows"), "learner": manifest.get("learner"),
                      "created": manifest.get("created")},
            "run": {"id": run.id, "status": run.status, "started_at": run.started_at, "ended_at": run.ended_at,
                    "seconds": run.seconds, "host": run.host, "git_commit": run.git_commit, "git_dirty": run.git_dirty,
                    "overrides": run.overrides, "reproduces": run.reproduces},
            "pipeline": {"name": run.pipeline_name, "sha256": run.pipeline_hash, "path": run.pipeline_path,
                         "base_dir": run.base_dir, "node": m.node},
            "data": manifest.get("data") or [],
            "run_data": run.inputs,
            "params": manifest.get("params") or {},
            "metrics": manifest.get("metrics") or {},
            "libraries": manifest.get("libraries") or run.libraries,
        }
