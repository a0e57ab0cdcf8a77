"""Files a user names, checked before use: a folder, a device or a pipe gets a clear refusal instead of a
hang or a misleading "no such file", and a zip (a trained bundle, the model inside it) is read with
bounded memory whatever it claims to hold.

Standard library only: the run store uses it too.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

from designer.core.errors import BadInput

MAX_INFLATED = 512 << 20
"""The most a zip this program reads may hold once inflated (all members together), and its largest size on disk."""
MAX_RATIO = 500
"""A member of more than RATIO_FLOOR bytes that claims to inflate more than this many times is refused (a zip
bomb: deflate tops out near 1,000:1 on a run of zeros; real bundles stay far below 50:1)."""
RATIO_FLOOR = 1 << 20
MAX_MEMBERS = 500_000
"""The most members a zip may list (its central directory is parsed into memory before anything else)."""
CHUNK = 1 << 20

Refuse = Callable[[str], Exception]


def _not_regular(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    return "is not a regular file (a device, pipe or socket)"


def regular_file(path: str | os.PathLike[str], what: str = "file", **where: object) -> Path:
    """`path` if it names an existing regular file; else a located BadInput saying what it is instead."""
    p = Path(path)
    loc = {"file": str(p), **where}
    try:
        st = p.stat()
    except FileNotFoundError:
        raise BadInput(f"no such {what}", **loc) from None  # type: ignore[arg-type]
    except OSError as e:
        raise BadInput(f"cannot read: {e.strerror or e}", **loc) from None  # type: ignore[arg-type]
    problem = _not_regular(st.st_mode)
    if problem:
        raise BadInput(problem, **loc)  # type: ignore[arg-type]
    return p


def open_regular(path: str | os.PathLike[str], what: str = "file", max_bytes: int | None = None,
                 **where: object) -> BinaryIO:
    """Open a regular file for reading; never blocks (a FIFO is refused, not waited on) and refuses a file
    larger than `max_bytes`. The check is made on the opened file, so it cannot be swapped in between."""
    p = Path(path)
    loc = {"file": str(p), **where}
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise BadInput(f"no such {what}", **loc) from None  # type: ignore[arg-type]
    except IsADirectoryError:
        raise BadInput("is a folder, not a file", **loc) from None  # type: ignore[arg-type]
    except OSError as e:
        raise BadInput(f"cannot read: {e.strerror or e}", **loc) from None  # type: ignore[arg-type]
    try:
        st = os.fstat(fd)
        problem = _not_regular(st.st_mode)
        if problem:
            raise BadInput(problem, **loc)  # type: ignore[arg-type]
        if max_bytes is not None and st.st_size > max_bytes:
            raise BadInput(f"is {_mb(st.st_size)}, more than the {_mb(max_bytes)} this program reads as a {what}",
                           **loc)  # type: ignore[arg-type]
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _mb(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MB" if n >= (1 << 20) else f"{n:,} bytes"


def _declared_entries(f: BinaryIO) -> int | None:
    """How many members the end-of-central-directory record claims, read before zipfile parses the
    directory (None when there is no such record: zipfile then refuses the file itself)."""
    f.seek(0, io.SEEK_END)
    size = f.tell()
    tail = min(size, 22 + 0xFFFF)
    f.seek(size - tail)
    data = f.read(tail)
    at = data.rfind(b"PK\x05\x06")
    if at < 0 or len(data) - at < 22:
        return None
    entries = struct.unpack("<H", data[at + 10:at + 12])[0]
    if entries == 0xFFFF and at >= 20 and data[at - 20:at - 16] == b"PK\x06\x07":  # zip64: the real count elsewhere
        offset = struct.unpack("<Q", data[at - 12:at - 4])[0]
        if offset + 56 <= size:
            f.seek(offset)
            rec = f.read(56)
            if rec[:4] == b"PK\x06\x06":
                entries = struct.unpack("<Q", rec[32:40])[0]
    f.seek(0)
    return entries


def open_zip(f: BinaryIO, refuse: Refuse, what: str, allowed: Iterable[str] | None = None,
             cap: int = MAX_INFLATED) -> zipfile.ZipFile:
    """A ZipFile over `f` whose member list has been checked before anything is inflated: no more members
    than allowed, no name twice, only `allowed` names (when given), declared sizes within `cap` together,
    no member claiming a bomb's compression ratio. Read members with `read_member`."""
    allowed = None if allowed is None else set(allowed)
    most = len(allowed) if allowed is not None else MAX_MEMBERS
    entries = _declared_entries(f)
    if entries is not None and entries > most:
        raise refuse(f"{what} lists {entries:,} members, more than the {most:,} it may hold")
    z = zipfile.ZipFile(f)
    try:
        infos = z.infolist()
        names = [i.filename for i in infos]
        if len(names) > most:
            raise refuse(f"{what} lists {len(names):,} members, more than the {most:,} it may hold")
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})[0]
            raise refuse(f"{what} holds member '{twice}' twice")
        if allowed is not None and set(names) - allowed:
            raise refuse(f"{what} holds unexpected members: {', '.join(sorted(set(names) - allowed))}")
        total = 0
        for i in infos:
            if i.file_size > RATIO_FLOOR and i.file_size > MAX_RATIO * max(i.compress_size, 1):
                raise refuse(f"{what}: member '{i.filename}' claims to inflate from {_mb(i.compress_size)} to "
                             f"{_mb(i.file_size)} (a zip bomb?)")
            total += i.file_size
        if total > cap:
            raise refuse(f"{what} would inflate to {_mb(total)}, more than the {_mb(cap)} limit")
    except BaseException:
        z.close()
        raise
    return z


def read_member(z: zipfile.ZipFile, name: str, refuse: Refuse, what: str) -> bytes:
    """One member, inflated in chunks and never past its declared size (a lying header cannot make it grow)."""
    info = z.getinfo(name)
    out = io.BytesIO()
    with z.open(info) as f:
        while chunk := f.read(CHUNK):
            out.write(chunk)
            if out.tell() > info.file_size:
                raise refuse(f"{what}: member '{name}' inflates past its declared size")
    return out.getvalue()
