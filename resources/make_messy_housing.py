"""Regenerate resources/data/messy_housing.csv: a small, deliberately messy regression data set.

Missing values in numeric and categorical columns, text categories, a yes/no column and a numeric
target (`price`). Deterministic: `python resources/make_messy_housing.py`.
"""

from pathlib import Path

import numpy as np
import pandas as pd


def make(rows: int = 600, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    city = rng.choice(["Lisbon", "Porto", "Braga", "Faro"], rows, p=[0.4, 0.3, 0.2, 0.1])
    condition = rng.choice(["poor", "fair", "good", "excellent"], rows, p=[0.15, 0.35, 0.35, 0.15])
    area = rng.normal(95, 30, rows).clip(25, 300).round(1)
    rooms = np.clip(np.round(area / 28 + rng.normal(0, 0.7, rows)), 1, 9)
    age = rng.integers(0, 90, rows).astype(float)
    distance = rng.gamma(2.0, 3.0, rows).round(2)
    garden = rng.choice(["yes", "no"], rows, p=[0.3, 0.7])
    city_premium = pd.Series(city).map({"Lisbon": 1.5, "Porto": 1.2, "Braga": 0.9, "Faro": 1.1}).to_numpy()
    cond_premium = pd.Series(condition).map({"poor": 0.8, "fair": 0.95, "good": 1.05, "excellent": 1.25}).to_numpy()
    price = (area * 2.1 * city_premium * cond_premium - age * 0.6 - distance * 3 + (garden == "yes") * 15
             + rooms * 4 + rng.normal(0, 12, rows))
    df = pd.DataFrame({"area_m2": area, "rooms": rooms, "age_years": age, "distance_km": distance,
                       "city": city, "condition": condition, "garden": garden, "price_k": price.round(1)})
    for col, frac in [("area_m2", 0.06), ("rooms", 0.04), ("age_years", 0.08), ("distance_km", 0.05),
                      ("city", 0.05), ("condition", 0.07)]:
        df.loc[rng.random(rows) < frac, col] = np.nan
    return df


if __name__ == "__main__":
    out = Path(__file__).parent / "data" / "messy_housing.csv"
    make().to_csv(out, index=False)
    print(f"wrote {out}")
