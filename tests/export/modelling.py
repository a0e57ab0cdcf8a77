"""The modelling nodes export tests put after the modules they test: split 70/30, fill numbers (median) and
text (most frequent), one-hot encode, linear regression on 'y', score the test rows, evaluate."""

from __future__ import annotations

from typing import Any


def modelling_nodes() -> list[dict[str, Any]]:
    return [{"id": "split", "type": "split.rows", "params": {"fraction": 0.7, "seed": 3}},
            {"id": "fill_numbers", "type": "clean.missing",
             "params": {"columns": {"mode": "numeric", "exclude": ["y"]}, "mode": "median"}},
            {"id": "fill_text", "type": "clean.missing",
             "params": {"columns": {"mode": "categorical"}, "mode": "most_frequent"}},
            {"id": "encode", "type": "clean.encode", "params": {"unseen": "ignore"}},
            {"id": "learner", "type": "learn.linear_regression", "params": {}},
            {"id": "train", "type": "learn.train", "params": {"label": "y"}},
            {"id": "score", "type": "score.model", "params": {}},
            {"id": "evaluate", "type": "evaluate.model", "params": {}}]


def modelling_links(rows: str) -> list[tuple[str, str]]:
    """The modelling nodes' links, `rows` ("node.port") feeding the split."""
    return [(rows, "split.data"), ("split.train", "fill_numbers.data"), ("fill_numbers.data", "fill_text.data"),
            ("fill_text.data", "encode.data"), ("encode.data", "train.data"), ("learner.learner", "train.learner"),
            ("train.model", "score.model"), ("split.test", "score.data"), ("score.scored", "evaluate.scored")]
