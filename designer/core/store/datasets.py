"""The data set registry: named, numbered, immutable versions of tables, and which runs and models used them.

`RunStore` inherits these methods. This module only keeps the records (standard library only); reading,
snapshotting and profiling the data itself is `designer.core.datasets`. A version is either a copy (a
Parquet snapshot in `<store folder>/datasets/objects/`, named by its content, so the same content is
stored once however often it is registered) or a reference (the path and SHA-256 of a file that is
verified at every load).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from designer.core.store.database import Database
from designer.core.store.errors import StoreError
from designer.core.store.location import DATASETS_DIR
from designer.core.store.models import MODEL_NAME, parse_model_ref
from designer.core.store.records import _dumps, _loads, now_iso

COPY, REFERENCE = "copy", "reference"
OBJECTS = "objects"
_COLUMNS = ("name", "version", "sha256", "storage", "object", "object_sha256", "source", "options", "schema",
            "profile", "n_rows", "n_columns", "created_at", "created_by", "description")


@dataclass
class DatasetRecord:
    """One registered data set version."""

    name: str
    version: int
    sha256: str
    """Digest of the content as registered: the file's bytes, a folder's files, or a query result's rows."""
    storage: str
    """"copy" (a Parquet snapshot in the store) or "reference" (only the path and hash of the file)."""
    object: Path | None
    """The snapshot (copies), absolute."""
    object_sha256: str | None
    source: str
    """Where the rows came from: a file or folder path, or "query: ..." for a database query."""
    options: dict[str, Any]
    """How the source was read (delimiter, encoding, ...; the files of a folder), to read a reference again."""
    schema: list[dict[str, str]]
    """[{"name", "kind", "dtype"}] in column order."""
    profile: list[dict[str, Any]]
    """One column profile each (designer.core.profile), as JSON."""
    rows: int
    columns: int
    created_at: str
    created_by: str | None = None
    description: str = ""
    new: bool = field(default=True, compare=False)
    """False when registering found this content already as the latest version of the name."""

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    def to_json(self, profile: bool = True) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "new" and (profile or k != "profile")}
        d["object"] = str(self.object) if self.object else None
        d["ref"] = self.ref
        return d


def object_name(key: str) -> str:
    """The snapshot's path inside the store folder, from its content key."""
    return f"{DATASETS_DIR}/{OBJECTS}/{key[:2]}/{key}.parquet"


class DatasetRegistry(Database):
    """The data set methods of `RunStore`."""

    def objects_folder(self) -> Path:
        return self.folder / DATASETS_DIR / OBJECTS

    def add_dataset(self, name: str, *, sha256: str, storage: str, source: str, schema: list[dict[str, str]],
                    profile: list[dict[str, Any]], rows: int, columns: int, object: str | None = None,
                    object_sha256: str | None = None, options: dict[str, Any] | None = None,
                    description: str = "", created_by: str | None = None) -> DatasetRecord:
        """Record the next version of `name` (`object` relative to the store folder, already written).

        Content equal to the latest version's (same digest, storage and reading options) is not a new
        version: that record comes back with `new` False.
        """
        check_dataset_name(name)
        if storage not in (COPY, REFERENCE):
            raise ValueError(f"storage must be {COPY!r} or {REFERENCE!r}")
        options = options or {}
        with self._write() as conn:
            row = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM datasets WHERE name = ? ORDER BY version DESC "
                               "LIMIT 1", (name,)).fetchone()
            if row is not None:
                latest = self._dataset(row)
                if (latest.sha256, latest.storage, latest.options) == (sha256, storage, _loads(_dumps(options), {})):
                    latest.new = False
                    return latest
            version = (latest.version if row is not None else 0) + 1
            values = (name, version, sha256, storage, object, object_sha256, source, _dumps(options),
                      _dumps(schema), _dumps(profile), int(rows), int(columns), now_iso(), created_by,
                      description or "")
            conn.execute(f"INSERT INTO datasets ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                         values)
        return self._dataset(values)

    def _dataset(self, row: tuple[Any, ...]) -> DatasetRecord:
        v = dict(zip(_COLUMNS, row))
        rel = Path(v["object"]) if v["object"] else None
        inside = rel is not None and not rel.is_absolute() and ".." not in rel.parts  # never outside the store
        return DatasetRecord(
            name=v["name"], version=int(v["version"]), sha256=v["sha256"], storage=v["storage"],
            object=self.folder / rel if inside and rel else None, object_sha256=v["object_sha256"],
            source=v["source"], options=_loads(v["options"], {}), schema=_loads(v["schema"], []),
            profile=_loads(v["profile"], []), rows=int(v["n_rows"]), columns=int(v["n_columns"]),
            created_at=v["created_at"], created_by=v["created_by"], description=v["description"] or "")

    def list_datasets(self, name: str | None = None) -> list[DatasetRecord]:
        """Versions by name, then version number."""
        sql = f"SELECT {', '.join(_COLUMNS)} FROM datasets"
        args: tuple[Any, ...] = ()
        if name is not None:
            sql += " WHERE name = ?"
            args = (name,)
        return [self._dataset(r) for r in self._read(sql + " ORDER BY name, version", args)]

    def dataset_names(self) -> list[str]:
        return [r[0] for r in self._read("SELECT DISTINCT name FROM datasets ORDER BY name")]

    def get_dataset(self, ref: str, version: int | None = None) -> DatasetRecord:
        """`ref` "NAME" (latest version), "NAME:VERSION" or "NAME:latest"; `version` overrides."""
        name, v = parse_model_ref(ref, "data set")
        version = version if version is not None else v
        versions = self.list_datasets(name)
        if not versions:
            names = self.dataset_names()
            raise StoreError(f"no data set '{name}' (registered: {', '.join(names) or 'none'}; see "
                             "`pipeline-designer data register`)", file=str(self.path))
        if version is None:
            return versions[-1]
        for d in versions:
            if d.version == version:
                return d
        raise StoreError(f"data set '{name}' has no version {version} (versions: "
                         f"{', '.join(str(d.version) for d in versions)})", file=str(self.path))

    def dataset_usage(self, name: str, version: int | None = None) -> dict[str, list[dict[str, Any]]]:
        """The runs that read `name` (one version, or any) and the registered models those runs trained."""
        sql = ("SELECT DISTINCT r.id, r.pipeline_name, r.status, r.started_at, i.dataset_version FROM run_inputs i "
               "JOIN runs r ON r.id = i.run_id WHERE i.dataset = ?")
        args: list[Any] = [name]
        if version is not None:
            sql += " AND i.dataset_version = ?"
            args.append(version)
        runs = [{"id": rid, "pipeline": p, "status": s, "started_at": t, "version": v}
                for rid, p, s, t, v in self._read(sql + " ORDER BY r.id", args)]
        models: list[dict[str, Any]] = []
        if runs:
            ids = sorted({r["id"] for r in runs})
            rows = self._read(f"SELECT name, version, run_id, node FROM models WHERE run_id IN "
                              f"({', '.join('?' * len(ids))}) ORDER BY name, version", ids)
            models = [{"ref": f"{n}:{v}", "run": rid, "node": node} for n, v, rid, node in rows]
        return {"runs": runs, "models": models}


def check_dataset_name(name: str) -> None:
    if not MODEL_NAME.fullmatch(name or ""):
        raise StoreError(f"'{name}' is not a valid data set name: use letters, digits, '_', '.' and '-' "
                         "(up to 64, starting with a letter or digit)")

