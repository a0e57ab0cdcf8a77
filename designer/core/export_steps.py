"""scikit-learn transformers for designer steps that scikit-learn has no transformer for, and the source that
builds them in a script. Exported scripts define them (copied with `designer.core.export.helper_source`, with
the recipe functions they call); the designer itself fits and applies its own steps (designer.core.recipe), and
imports this module only to export. The whole-pipeline export (the Clip Values and Edit Metadata modules) and
"Copy as Python" of a trained model (`designer.core.export.step_code`) both write these steps with
`clip_code` and `edit_code`."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin

from designer.core.export import estimator_code, helper_source
from designer.core.recipe import (as_categories, cast_values, clip_columns, edit_columns, percentile_bounds, quote,
                                  row_number, to_numbers)

StepSource = tuple[str, set[str], list[str]]
"""A step as a script writes it: the source of its unfitted transformer, the imports that source needs and the
helper definitions (functions, classes) the script must hold for it."""


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


def clip_code(lower: float | None, upper: float | None, percentiles: tuple[float, float] | None) -> StepSource:
    """Clip Values as a script writes it: a ClipColumns (defined in the script) with the same fixed bounds, or
    learning the same `percentiles` (lower, upper) from the rows the script fits it on."""
    if percentiles is not None:
        clip = ClipColumns(percentiles=(float(percentiles[0]), float(percentiles[1])))
    else:
        clip = ClipColumns(lower=lower, upper=upper)
    code, imports = estimator_code(clip, defined=(ClipColumns,))
    imports |= {"import numpy as np", "from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin"}
    return code, imports, helper_source(percentile_bounds, clip_columns, ClipColumns)


def edit_code(casts: Mapping[str, str], renames: Mapping[str, str]) -> StepSource:
    """Edit Metadata's casts and renames as a script writes them: a FunctionTransformer of `edit_columns`
    (defined in the script, with the functions it calls)."""
    from sklearn.preprocessing import FunctionTransformer

    edit = FunctionTransformer(edit_columns, kw_args={"casts": dict(casts), "renames": dict(renames)})
    code, imports = estimator_code(edit, defined=(edit_columns,))
    return code, imports | {"import numpy as np"}, helper_source(to_numbers, quote, row_number, as_categories,
                                                                 cast_values, edit_columns)
