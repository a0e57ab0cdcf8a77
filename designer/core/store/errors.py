"""The one error every run-store problem surfaces as."""

from __future__ import annotations

from designer.core.errors import BadInput


class StoreError(BadInput):
    """The run store cannot be used: missing, corrupt, locked, too new, or an unknown run/model."""


class ReadOnlyStore(StoreError):
    """The run store cannot be written by this process (a read-only file or folder); reading may still work."""
