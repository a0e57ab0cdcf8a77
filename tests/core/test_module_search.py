"""Add-menu search: exact and prefix matches first, then words, then fuzzy; compatible modules only."""

from __future__ import annotations

from designer.core.module_search import accepts, match_rank
from designer.core.node import LearnerSpec
from designer.core.registry import default_registry


def ranked(query: str) -> list[str]:
    types = default_registry().types().values()
    hits = [(match_rank(query, c.title, f"{c.type_id} {c.category}"), i, c.title) for i, c in enumerate(types)]
    return [t for r, _, t in sorted(h for h in hits if h[0] is not None)]


def test_exact_title_first_then_prefix_then_words_then_fuzzy():
    assert ranked("train model")[0] == "Train Model"
    assert ranked("Train Model")[:2] == ["Train Model", "Train Clustering Model"]
    assert ranked("score")[0] == "Score Model"
    assert ranked("boost cla")[0] == "Boosted Trees Classification"
    assert ranked("nrmlz") == ["Normalize Data"]  # letters in order
    assert ranked("xyzzy") == []


def test_a_classification_learner_is_offered_train_model_only():
    reg = default_registry()
    spec = LearnerSpec("learn.boosted_classification", "classification")
    assert accepts(reg.get("learn.train"), "Learner", spec) == "learner"
    assert accepts(reg.get("learn.train_clustering"), "Learner", spec) is None
    kmeans = LearnerSpec("learn.kmeans", "clustering")
    assert accepts(reg.get("learn.train"), "Learner", kmeans) is None
    assert accepts(reg.get("learn.train_clustering"), "Learner", kmeans) == "learner"
    assert accepts(reg.get("score.model"), "Table", None) == "data"
