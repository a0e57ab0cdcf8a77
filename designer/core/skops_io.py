"""skops.io, first imported without scikit-learn's estimator discovery importing Dask.

On its first import skops.io lists scikit-learn's estimators (sklearn.utils.all_estimators), which walks every
package under sklearn, its Dask array adapter too: with the optional Dask extra installed that imports
dask.array, about 0.3 s of every start (`serve`'s time to ready, every `run` and `score`) for a library none
of them uses then. Dask is hidden for that one import (the adapter's import fails and is skipped, as
scikit-learn does when Dask is not installed); importing Dask afterwards works as usual.
"""

from __future__ import annotations

import sys
from types import ModuleType


def skops_io() -> ModuleType:
    """The skops.io module. Call it first from one thread (before worker threads start importing)."""
    if "skops.io" not in sys.modules and "dask" not in sys.modules:
        sys.modules["dask"] = None  # type: ignore[assignment]  # `import dask` raises ImportError meanwhile
        try:
            import skops.io  # noqa: F401
        finally:
            if "dask" in sys.modules and sys.modules["dask"] is None:
                del sys.modules["dask"]
    import skops.io as sio

    return sio
