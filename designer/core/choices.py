"""Choices a parameter editor can offer that depend on the world, not on the parameter's type (Qt-free).

A parameter names its provider in `json_schema_extra={"x-choices": NAME}`; the property panel asks
`choices_for(NAME, params, base_dir)` when it shows the editor (the user may still type any value).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

Provider = Callable[[dict[str, Any], "Path | None"], list[Any]]


def _datasets(params: dict[str, Any], base_dir: Path | None) -> list[Any]:
    from designer.core.datasets import dataset_store

    with dataset_store(base_dir or Path.cwd()) as store:
        return list(store.dataset_names())


def _dataset_versions(params: dict[str, Any], base_dir: Path | None) -> list[Any]:
    from designer.core.datasets import dataset_store

    name = params.get("name")
    if not name:
        return ["latest"]
    with dataset_store(base_dir or Path.cwd()) as store:
        return ["latest", *(d.version for d in store.list_datasets(str(name)))]


PROVIDERS: dict[str, Provider] = {"datasets": _datasets, "dataset_versions": _dataset_versions}


def choices_for(provider: str, params: dict[str, Any], base_dir: Path | None) -> list[Any]:
    """The values to offer; empty when the provider is unknown or cannot answer now (no store yet)."""
    fn = PROVIDERS.get(provider)
    if fn is None:
        return []
    try:
        return fn(params, base_dir)
    except Exception:  # noqa: BLE001  (a missing or locked store: offer nothing, let the user type)
        return []
