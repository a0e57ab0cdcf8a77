"""Wall time, CPU time and peak memory of one command, run in a fresh process.

Peak memory is the process's own high-water mark (`VmHWM` in /proc/PID/status, polled until it exits):
`ru_maxrss` from `wait4` is not used for it, because on Linux a child's `ru_maxrss` starts from its parent's
resident size at fork, so a benchmark that holds data itself would inflate every figure it measures.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any


def _hwm_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def measure(cmd: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None,
            interval: float = 0.02) -> dict[str, Any]:
    """Run `cmd` (output to `log`); raises SystemExit with the log's tail when it fails."""
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        peak = [0]
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                kb = _hwm_kb(proc.pid)
                if kb is not None and kb > peak[0]:
                    peak[0] = kb
                done.wait(interval)

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        watcher.join()
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code != 0:
        raise SystemExit(f"{' '.join(map(str, cmd[:6]))} failed (exit {code}):\n{log.read_text()[-4000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": peak[0] / 1024,
            "stdout": log.read_text()}
