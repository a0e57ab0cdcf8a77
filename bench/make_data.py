"""Generate the benchmark table: a deterministic CSV of numeric and categorical columns and a target.

    python bench/make_data.py              # 1,000,000 rows -> bench/.data/rows_1000000.csv
    python bench/make_data.py --rows 2000  # a quick one

20 numeric columns `x00`..`x19` with 5% missing cells each, 2 categorical columns (`region`: 5
categories, `segment`: 4) without missing cells, and a numeric target `target` (complete). The
numbers come from numpy's default generator seeded with SEED, so a file of a given size is the same
on every run. Files are cached under bench/.data/ (git-ignored) and regenerated when absent.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / ".data"
SEED = 20240601
DEFAULT_ROWS = 1_000_000
N_NUMERIC = 20
MISSING_RATE = 0.05
NUMERIC = [f"x{i:02d}" for i in range(N_NUMERIC)]
REGION = ["north", "south", "east", "west", "central"]
SEGMENT = ["retail", "corporate", "public", "online"]
CATEGORICAL = ["region", "segment"]
TARGET = "target"


def data_path(rows: int) -> Path:
    return DATA_DIR / f"rows_{rows}.csv"


def make_frame(rows: int, seed: int = SEED):  # -> pandas.DataFrame
    """The table in memory: numeric columns (with missing cells), categories, then the target."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    # Columns on different scales and shapes, so that imputation and scaling matter.
    scales = rng.uniform(0.5, 50.0, N_NUMERIC)
    offsets = rng.uniform(-100.0, 100.0, N_NUMERIC)
    x = rng.standard_normal((rows, N_NUMERIC))
    x[:, 1::4] = rng.exponential(1.0, (rows, len(range(1, N_NUMERIC, 4))))  # a few skewed columns
    region = rng.integers(0, len(REGION), rows)
    segment = rng.choice(len(SEGMENT), rows, p=[0.4, 0.3, 0.2, 0.1])
    weights = rng.normal(0.0, 1.0, N_NUMERIC)
    target = (
        x @ weights
        + 2.0 * np.sin(2.0 * x[:, 0]) * x[:, 1]
        + 1.5 * np.maximum(x[:, 2], 0.0) ** 2
        + np.array([0.0, 1.0, -1.0, 2.0, 0.5])[region]
        + np.array([0.0, -2.0, 1.0, 3.0])[segment] * (x[:, 3] > 0)
        + rng.normal(0.0, 1.0, rows)
    )
    values = np.round(x * scales + offsets, 4)
    values[rng.random((rows, N_NUMERIC)) < MISSING_RATE] = np.nan
    frame = pd.DataFrame(values, columns=NUMERIC)
    frame["region"] = np.asarray(REGION, dtype=object)[region]
    frame["segment"] = np.asarray(SEGMENT, dtype=object)[segment]
    frame[TARGET] = np.round(target * 10.0 + 100.0, 3)
    return frame


def write_csv(rows: int, path: Path, seed: int = SEED) -> Path:
    """Write the table atomically (a temporary file, then a rename), so a cache file is never partial."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = make_frame(rows, seed)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        frame.to_csv(tmp, index=False, na_rep="", lineterminator="\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def ensure_data(rows: int = DEFAULT_ROWS, *, quiet: bool = False) -> Path:
    """The cached CSV of `rows` rows, generated when absent."""
    path = data_path(rows)
    if not path.is_file():
        if not quiet:
            print(f"generating {rows:,} rows -> {path} ...", file=sys.stderr, flush=True)
        write_csv(rows, path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="number of rows (default 1,000,000)")
    parser.add_argument("--force", action="store_true", help="regenerate even if the cached file exists")
    args = parser.parse_args(argv)
    if args.rows < 10:
        parser.error("--rows must be at least 10")
    path = write_csv(args.rows, data_path(args.rows)) if args.force else ensure_data(args.rows)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
