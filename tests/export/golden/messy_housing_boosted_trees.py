"""Messy housing prices: exported by pipeline-designer 0.1.0 as a plain scikit-learn script.

Predict house prices (thousands) from a messy CSV with missing numbers, missing categories and text
columns, using boosted trees. The split comes first; missing values are filled and categories one-
hot encoded with statistics learned from the training rows only, and Score Model replays exactly
that cleaning on the raw test rows.

Pipeline sha256: 0000000000000000000000000000000000000000000000000000000000000000
Designer run: golden

Usage: python THIS.py [--check] [--scored-out DIR]
  --check          assert the designer's own metrics (exact equality)
  --scored-out DIR write each Score Model output as DIR/<node>.scored.csv
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent

# What `--check` compares of each report entry: the metrics, and where the designer reports them
# (Cross Validate) the standard deviations, each fold's metrics and those of all its rows.
CHECKED = ('port', 'metrics', 'std', 'folds', 'pooled')

# The designer's metrics for this pipeline (run golden, pipeline sha256 0000000000000000…); `--check` asserts them exactly.
EXPECTED = {
    'evaluate': [
        {
            'port': 'scored',
            'metrics': {
                'mae': 29.818411734875884,
                'rmse': 44.037841753579954,
                'r2': 0.8471097873102977,
                'relative_absolute_error': 0.32520469821353337,
                'relative_squared_error': 0.15289021268970227,
            },
        },
    ],
}


def feature_matrix(frame, columns):
    """The features as one C-ordered float64 array, in the designer's column order."""
    return np.ascontiguousarray(frame[columns].to_numpy(dtype=np.float64))


def step(name, transformer, columns, remainder="passthrough"):
    """One designer column step: `transformer` fitted on `columns` alone, every other column passed on
    unchanged (by name, so the order of columns does not matter until the feature matrix)."""
    return (name, ColumnTransformer([(name, transformer, columns)], remainder=remainder,
                                    verbose_feature_names_out=False).set_output(transform="pandas"))


def padded(X):
    """X with copies of its last row appended up to a multiple of 4 rows (at least 4). BLAS sums a batch's
    last `n % 4` rows in another order, so the designer pads every batch: a row's prediction then depends on
    the row alone, whichever batch it comes in (a file, one row sent to `serve`)."""
    pad = 4 - len(X) if len(X) < 4 else -len(X) % 4
    return np.concatenate([X, np.repeat(X[-1:], pad, axis=0)]) if pad and len(X) else X


def predictions(est, X, task):
    """The prediction columns, as the designer computes them: padded rows, BLAS on one thread."""
    n, Xp = len(X), padded(X)
    with threadpool_limits(limits=1, user_api="blas"):
        if task == "clustering":
            return {"cluster": est.predict(Xp)[:n], "distance": np.min(est.transform(Xp), axis=1)[:n]}
        out = {"prediction": est.predict(Xp)[:n]}
        if task == "classification" and hasattr(est, "predict_proba"):
            proba = est.predict_proba(Xp)[:n]
            for i, cls in enumerate(est.classes_):
                out[f"probability_{cls}"] = proba[:, i]
    return out


def scored_rows(model, rows, inputs, shown, task, cleaned=0, with_features=(), source_row="source_row"):
    """The designer's Score Model output: the rows as given (their number in the source, the meta columns
    and the columns; after the first `cleaned` steps when they were cleaned upstream) plus predictions."""
    X = model[:-1].transform(rows[inputs])
    if cleaned:
        rows = pd.concat([rows.drop(columns=inputs), model[:cleaned].transform(rows[inputs])], axis=1)
    out = rows[shown].copy()
    out.insert(0, source_row, out.index + 1)
    for i, name in enumerate(with_features):
        out[f"feature:{name}"] = X[:, i]
    for name, values in predictions(model[-1], X, task).items():
        out[name] = values
    return out, X


PREDICTION, CLUSTER, DISTANCE = 'prediction', 'cluster', 'distance'
SILHOUETTE_SAMPLE, PLOT_POINTS, HIST_BINS = 5000, 5000, 20


def probability_column(cls):
    return f"probability_{cls}"


def evaluate_frame(frame, task, label, classes,
                   features):
    """Metrics and plot data of scored rows (also copied into exported scripts)."""
    if task == "clustering":
        metrics, plots = clustering_metrics(frame, features)
        return {"task": task, "rows": len(frame), "metrics": metrics, "plots": plots}
    known = frame[label].notna()
    if not known.all():
        frame = frame[known]
    y = frame[label].to_numpy()
    pred = frame[PREDICTION].to_numpy()
    if task == "regression":
        metrics = regression_metrics(y.astype(float), pred.astype(float))
        plots = regression_plots(y.astype(float), pred.astype(float))
    else:
        classes = list(classes or sorted(np.unique(np.concatenate([y, pred])).tolist()))
        cols = [probability_column(c) for c in classes]
        proba = frame[cols].to_numpy() if all(c in frame.columns for c in cols) else None
        metrics, plots = classification_metrics(y, pred, proba, classes)
    return {"task": task, "label": label, "rows": len(frame), "metrics": metrics, "plots": plots}


def regression_metrics(y, pred):
    from sklearn import metrics as m

    dev = y - y.mean()
    with np.errstate(divide="ignore", invalid="ignore"):  # a constant label: undefined (NaN; null in JSON)
        relative = (float(np.abs(y - pred).sum() / np.abs(dev).sum()),
                    float(((y - pred) ** 2).sum() / (dev ** 2).sum()))
    return {
        "mae": float(m.mean_absolute_error(y, pred)),
        "rmse": float(np.sqrt(m.mean_squared_error(y, pred))),
        "r2": float(m.r2_score(y, pred)),
        "relative_absolute_error": relative[0],
        "relative_squared_error": relative[1],
    }


def regression_plots(y, pred):
    """A fixed sample of (actual, predicted) points for the scatter plot, and the residual histogram of
    every row."""
    idx = sample_positions(len(y))
    counts, edges = histogram(y - pred, bins=30)
    return {"actual": y[idx].tolist(), "predicted": pred[idx].tolist(), "points_of": len(y),
            "residuals": {"counts": list(counts), "edges": list(edges)}}


def histogram(values, bins = HIST_BINS):
    """Counts and edges of the finite `values`; whole numbers in a narrow range get one bin per value."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (), ()
    lo, hi = float(finite.min()), float(finite.max())
    if hi - lo <= 1e-9 * max(1.0, abs(lo), abs(hi)):  # (nearly) constant: one bin
        edges = np.array([lo - 0.5, hi + 0.5])
    elif hi - lo < bins * 2 and np.all(np.mod(finite, 1) == 0):
        edges = np.arange(lo - 0.5, hi + 1.5)
    else:
        edges = np.histogram_bin_edges(finite, bins=bins)
    counts, edges = np.histogram(finite, bins=edges)
    return tuple(int(c) for c in counts), tuple(float(e) for e in edges)


def sample_positions(n, cap = PLOT_POINTS):
    """Sorted positions of at most `cap` of `n` rows, the same every time (fixed seed)."""
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, cap, replace=False))


def thin_curve(curve, keys, cap = PLOT_POINTS):
    """A curve with at most `cap` points, evenly spaced along it (first and last point kept)."""
    n = len(curve[keys[0]])
    if n <= cap:
        return curve
    idx = np.unique(np.linspace(0, n - 1, cap).round().astype(int))
    return {**curve, **{k: np.asarray(curve[k])[idx].tolist() for k in keys}}


def classification_metrics(y, pred, proba,
                           classes):
    from sklearn import metrics as m

    binary = len(classes) == 2
    avg = {"average": "binary", "pos_label": classes[1]} if binary else {"average": "macro"}
    out = {
        "accuracy": float(m.accuracy_score(y, pred)),
        "precision": float(m.precision_score(y, pred, zero_division=0, **avg)),
        "recall": float(m.recall_score(y, pred, zero_division=0, **avg)),
        "f1": float(m.f1_score(y, pred, zero_division=0, **avg)),
    }
    plots = {"classes": [str(c) for c in classes],
                             "confusion": m.confusion_matrix(y, pred, labels=classes).tolist()}
    present = set(np.unique(y).tolist())
    if proba is not None and present == set(classes):
        if binary:
            out["roc_auc"] = float(m.roc_auc_score(y == classes[1], proba[:, 1]))
        else:
            out["roc_auc"] = float(m.roc_auc_score(y, proba, multi_class="ovr", labels=classes))
        curves = []
        for i, cls in enumerate(classes if not binary else classes[1:]):
            fpr, tpr, _ = m.roc_curve(y == cls, proba[:, classes.index(cls)])
            prec, rec, _ = m.precision_recall_curve(y == cls, proba[:, classes.index(cls)])
            curve = thin_curve({"class": str(cls), "fpr": fpr.tolist(), "tpr": tpr.tolist()}, ("fpr", "tpr"))
            curves.append(thin_curve({**curve, "precision": prec.tolist(), "recall": rec.tolist()},
                                     ("precision", "recall")))
        plots["curves"] = curves
    return out, plots


def clustering_metrics(frame, features):
    """Inertia, cluster count and silhouette (on `features`, the rows as the model saw them), plus plot data:
    cluster sizes and the rows projected on their first two principal components."""
    from sklearn.metrics import silhouette_score

    labels = frame[CLUSTER].to_numpy()
    sizes = {str(k): int(v) for k, v in sorted(frame[CLUSTER].value_counts().items())}
    out = {"inertia": float((frame[DISTANCE].to_numpy() ** 2).sum()), "clusters": float(len(sizes))}
    plots = {"cluster_sizes": sizes}
    if features is None:
        return out, plots
    X = np.asarray(features, dtype=float)
    if 1 < len(sizes) < len(frame):
        n = min(len(frame), SILHOUETTE_SAMPLE)
        out["silhouette"] = float(silhouette_score(X, labels, sample_size=n if n < len(frame) else None,
                                                   random_state=0))
    plots["pca"] = pca_points(X, labels)
    return out, plots


def pca_points(X, labels, limit = 2000):
    """At most `limit` rows (a fixed sample) on their first two principal components, with their clusters."""
    from sklearn.decomposition import PCA

    idx = np.random.default_rng(0).choice(len(X), limit, replace=False) if len(X) > limit else np.arange(len(X))
    X, labels = X[idx], labels[idx]
    keep = np.isfinite(X).all(axis=1)
    X, labels = X[keep], labels[keep]
    if len(X) < 2 or X.shape[1] < 1:
        return {"x": [], "y": [], "cluster": [], "variance": [0.0, 0.0]}
    pca = PCA(n_components=min(2, X.shape[1]), random_state=0)
    points = pca.fit_transform(X)
    y = points[:, 1] if points.shape[1] > 1 else np.zeros(len(points))
    ratio = [float(r) for r in pca.explained_variance_ratio_] + [0.0]
    return {"x": points[:, 0].tolist(), "y": y.tolist(), "cluster": [int(v) for v in labels],
            "variance": ratio[:2]}


def run():
    """Every step of the pipeline; returns (metrics, scored tables, trained models)."""
    # data: Messy housing CSV (data.csv)
    data_data = pd.read_csv(HERE / '../../../resources/data/messy_housing.csv', sep=',', encoding='utf-8', header=0, na_values=['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL', '?'], keep_default_na=False)

    # split: Split 80/20 (split.rows)
    split_train, split_test = train_test_split(data_data, train_size=0.8, shuffle=True, random_state=42, stratify=None)

    # train: Train (learn.train)
    train_model = Pipeline([
        step('fill_numbers', SimpleImputer(missing_values=np.nan, strategy='median', fill_value=None, copy=True, add_indicator=False, keep_empty_features=True), ['area_m2', 'rooms', 'age_years', 'distance_km']),
        step('fill_text', SimpleImputer(missing_values=np.nan, strategy='most_frequent', fill_value=None, copy=True, add_indicator=False, keep_empty_features=True), ['city', 'condition', 'garden']),
        step('encode', OneHotEncoder(categories='auto', drop=None, sparse_output=False, dtype=np.float64, handle_unknown='error', min_frequency=None, max_categories=None, feature_name_combiner='concat'), ['city', 'condition', 'garden']),
        ("features", FunctionTransformer(feature_matrix, kw_args={"columns": ['area_m2', 'rooms', 'age_years', 'distance_km', 'city_Braga', 'city_Faro', 'city_Lisbon', 'city_Porto', 'condition_excellent', 'condition_fair', 'condition_good', 'condition_poor', 'garden_no', 'garden_yes']})),
        ("learner", HistGradientBoostingRegressor(loss='squared_error', quantile=None, learning_rate=0.05, max_iter=200, max_leaf_nodes=15, max_depth=None, min_samples_leaf=10, l2_regularization=0.0, max_features=1.0, max_bins=255, categorical_features='from_dtype', monotonic_cst=None, interaction_cst=None, warm_start=False, early_stopping=False, scoring='loss', validation_fraction=0.1, n_iter_no_change=10, tol=1e-07, verbose=0, random_state=42)),
    ])
    train_model.fit(split_train[['area_m2', 'rooms', 'age_years', 'distance_km', 'city', 'condition', 'garden']], split_train['price_k'])

    # score: Score test rows (score.model)
    score_scored, score_scored_features = scored_rows(train_model, split_test, ['area_m2', 'rooms', 'age_years', 'distance_km', 'city', 'condition', 'garden'], ['area_m2', 'rooms', 'age_years', 'distance_km', 'city', 'condition', 'garden', 'price_k'], 'regression')

    # evaluate: Evaluate (evaluate.model)
    evaluate_scored = {"port": 'scored', **evaluate_frame(score_scored, 'regression', 'price_k', None, score_scored_features)}

    metrics = {'evaluate': [evaluate_scored]}
    scored = {'score': score_scored}
    models = {'train': train_model}
    return metrics, scored, models


def main(argv):
    check = "--check" in argv
    metrics, scored, _ = run()
    for node, entries in metrics.items():
        for entry in entries:
            print(f"{node} ({entry['port']}):")
            for name, value in entry["metrics"].items():
                print(f"  {name:<26} {value!r}")
    if "--scored-out" in argv:
        folder = Path(argv[argv.index("--scored-out") + 1])
        folder.mkdir(parents=True, exist_ok=True)
        for node, table in scored.items():
            table.to_csv(folder / f"{node}.scored.csv", index=False)
    if check:
        got = {node: [{k: e[k] for k in CHECKED if k in e} for e in entries] for node, entries in metrics.items()}
        assert EXPECTED is not None, "no designer metrics to check against"
        assert got == EXPECTED, f"metrics differ from the designer's:\n{got}\n{EXPECTED}"
        print("check: identical to the designer's results")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
