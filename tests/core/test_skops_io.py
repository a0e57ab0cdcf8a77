"""skops.io's first import does not import Dask (scikit-learn's estimator discovery would), and Dask still
imports afterwards."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_skops_io_leaves_dask_alone_and_importable() -> None:
    pytest.importorskip("dask.array")
    code = ("import sys\n"
            "from designer.core.skops_io import skops_io\n"
            "sio = skops_io()\n"
            "assert sio is sys.modules['skops.io']\n"
            "assert not any(m == 'dask' or m.startswith('dask.') for m in sys.modules), 'dask imported'\n"
            "import dask.array\n"
            "assert dask.array.ones(3).sum().compute() == 3\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
