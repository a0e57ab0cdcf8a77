"""Types that trained bundles may hold, declared next to where each is defined.

A step class (or a plugin's estimator) says `@bundle_type` on its definition; skops may then construct
it when a bundle is loaded, if its owner is trusted: the app itself, or a plugin the user enabled
(`designer.core.bundle` decides). Nothing read from a bundle ever adds to this list.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T", bound=type)

ALWAYS: frozenset[str] = frozenset({
    "numpy.dtype",
    # checked by designer.core.bundle after loading (DESIGN §9: a crafted tree can read out of bounds)
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
})
_DECLARED: set[str] = set()


def type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def bundle_type(cls: T) -> T:
    """Class decorator: instances of `cls` may be saved in and loaded from bundles."""
    _DECLARED.add(type_name(cls))
    return cls


def declared() -> frozenset[str]:
    return frozenset(_DECLARED)
