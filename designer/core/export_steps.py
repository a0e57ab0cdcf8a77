"""scikit-learn transformers for designer steps that scikit-learn has no transformer for. Exported scripts
define them (copied with `designer.core.export.helper_source`, with the recipe functions they call); the
designer itself fits and applies its own steps (designer.core.recipe), and imports this module only to
export."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin

from designer.core.recipe import clip_columns, percentile_bounds


class ClipColumns(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Clip Values: every column clipped to fixed bounds (`lower`, `upper`; None: no bound), or to the
    `percentiles` (lower, upper) of the rows it is fitted on; the columns come out as float64."""

    def __init__(self, lower: float | None = None, upper: float | None = None,
                 percentiles: tuple[float, float] | None = None) -> None:
        self.lower = lower
        self.upper = upper
        self.percentiles = percentiles

    def fit(self, X: Any, y: Any = None) -> "ClipColumns":
        n = X.shape[1]
        if self.percentiles is None:
            self.lower_, self.upper_ = [self.lower] * n, [self.upper] * n
        else:
            self.lower_, self.upper_ = percentile_bounds(X, *self.percentiles)
        self.n_features_in_ = n
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X: Any) -> Any:
        return clip_columns(X, list(X.columns), self.lower_, self.upper_)
