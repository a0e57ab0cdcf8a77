"""Full-content digests of data: files hashed byte for byte, frames hashed over every row."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from designer.core.background import Background

if TYPE_CHECKING:
    import pandas as pd

CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def file_sha256_lines(path: str | Path) -> tuple[str, int]:
    """SHA-256 of a file's bytes and its number of lines, in one streaming pass (memory: one block)."""
    h, lines, last = hashlib.sha256(), 0, b"\n"
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return h.hexdigest(), lines + (last != b"\n")


def bytes_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BackgroundDigest(Background):
    """Hash a file in a thread (hashlib releases the GIL) while the caller parses it; `result()` is the sha256,
    or raises the OSError reading the file met."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(lambda: file_sha256(Path(path)), name="digest")


def frame_sha256(frame: "pd.DataFrame") -> str:
    """Digest over all rows, column names and dtypes of a DataFrame."""
    import pandas as pd

    h = hashlib.sha256()
    h.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return h.hexdigest()
