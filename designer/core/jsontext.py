"""JSON that every reader accepts: what the program writes (metrics.json, report.json, bundle manifests,
`--json` output, the run store's records) never holds the bare `NaN` or `Infinity` Python's json module
writes by default. A non-finite number (R² of a constant label, say) is written as null.

Standard library only.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable


def plain(value: Any) -> Any:
    """`value` with every non-finite float (also numpy's) replaced by None, tuples as lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        return plain(value.item())
    return value


def dumps(value: Any, *, default: Callable[[Any], Any] | None = str, **kw: Any) -> str:
    """json.dumps that writes non-finite numbers as null and never writes NaN or Infinity."""
    fallback = (lambda o: plain(default(o))) if default is not None else None
    return json.dumps(plain(value), default=fallback, allow_nan=False, **kw)
