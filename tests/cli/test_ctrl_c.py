"""Ctrl-C during `pipeline-designer run`: the running fit stops at once, a second Ctrl-C ends the process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import SAMPLES

MESSY = SAMPLES / "messy_housing_boosted_trees.pipeline.json"


def _start(tmp_path: Path) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "designer", "run", str(MESSY), "--out", str(tmp_path / "out"),
           "--set", "learner.n_trees=10000", "--set", "learner.learning_rate=0.01"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    time.sleep(4.0)  # loaded, cleaned and well into the (minutes-long) fit
    assert proc.poll() is None
    return proc


def test_ctrl_c_stops_a_long_fit_promptly(tmp_path: Path) -> None:
    proc = _start(tmp_path)
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    waited = time.perf_counter() - sent
    assert proc.returncode == 1, err
    assert "stopping" in err and "cancel" in (out + err).lower()
    assert waited < 10  # the fit alone takes minutes; the stop is meant to take under a second


def test_a_second_ctrl_c_ends_at_once(tmp_path: Path) -> None:
    proc = _start(tmp_path)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (1, 130), err
