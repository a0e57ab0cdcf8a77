"""The process that records a run: is it still alive (pid + start token), and the git commit it ran from."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path


def git_commit_of(folder: str | os.PathLike[str]) -> str | None:
    """HEAD of the git repository holding `folder`; None when it is not in one (or git is missing)."""
    try:
        r = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                           timeout=5, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    out = r.stdout.strip()
    return out if r.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", out) else None


def git_dirty(folder: str | os.PathLike[str], path: str = ".") -> bool | None:
    """Whether tracked files under `path` (relative to `folder`) have uncommitted changes; None outside git."""
    try:
        r = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no", "--", path],
                           capture_output=True, text=True, timeout=5, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(r.stdout.strip()) if r.returncode == 0 else None


def source_commit(folder: str | os.PathLike[str]) -> str | None:
    """The commit a source folder (a git checkout) is at, with '+dirty' when its files changed since."""
    commit = git_commit_of(folder)
    if commit is None:
        return None
    return commit + ("+dirty" if git_dirty(folder) else "")


def _proc_stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/PID/stat (state, ppid, ...); None where there is no /proc."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return data.rsplit(")", 1)[-1].split()


def process_token(pid: int) -> str | None:
    """The process start time (clock ticks since boot) where the OS exposes it: tells a reused pid apart."""
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def _windows_alive(pid: int) -> bool:
    import ctypes

    kernel = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        ok = kernel.GetExitCodeProcess(handle, ctypes.byref(code))
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    finally:
        kernel.CloseHandle(handle)


def pid_alive(pid: int | None, token: str | None = None) -> bool:
    """Is the process that started a run still there? (Zombies and reused pids count as gone.)"""
    if not pid or pid <= 0:
        return False
    if os.name == "nt":
        return _windows_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except OSError:
        return False
    fields = _proc_stat(pid)
    if fields is None:
        return True
    if fields[0] in ("Z", "X", "x"):
        return False
    return not (token and len(fields) > 19 and fields[19] != token)
