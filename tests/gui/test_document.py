"""The Qt-free document model: changes, notifications, fragments and clipboard text."""

from __future__ import annotations

from pathlib import Path

from designer.core import document as d
from designer.core.pipeline import Link, load_pipeline
from tests.gui.conftest import DIABETES


def _doc() -> d.Document:
    return d.Document(load_pipeline(DIABETES), DIABETES)


def test_remove_then_insert_restores_order_and_notifies():
    doc = _doc()
    seen: list[d.Change] = []
    doc.subscribe(seen.append)
    before = doc.snapshot()
    fragment = doc.fragment({"split", "train"})
    assert {(l.source, l.target) for l in fragment.links} >= {("data.data", "split.data"), ("train.model",
                                                                                          "score.model")}
    doc.remove(fragment)
    kinds = [c.kind for c in seen]
    assert kinds.index(d.LINK_REMOVED) < kinds.index(d.NODE_REMOVED)  # links go before their nodes
    assert not doc.has_node("split")
    doc.insert(fragment)
    assert doc.snapshot() == before  # same nodes, links and positions, in the same order
    assert doc.generation == len(seen)


def test_validation_is_cached_until_a_change():
    doc = _doc()
    v = doc.validation
    assert doc.validation is v and v.ok
    doc.set_param("split", "fraction", 2.0)
    assert not doc.validation.ok and doc.validation is not v
    stale_generation = doc.generation
    doc.set_param("split", "fraction", 0.5)
    assert not doc.offer_validation(v, stale_generation)  # a result for an older state is refused


def test_clipboard_text_round_trip_renames_ids_and_keeps_internal_links():
    doc = _doc()
    fragment = doc.fragment({"learner", "train"}, with_touching_links=False)
    fragment.links = [Link.make("learner", "learner", "train", "learner")]
    text = d.fragment_to_text(fragment)
    pasted = d.fragment_from_text(text, doc, offset=(10, 20))
    ids = [n.id for n in pasted.nodes]
    assert ids == ["learner_2", "train_2"]
    assert [(l.source, l.target) for l in pasted.links] == [("learner_2.learner", "train_2.learner")]
    x, y = doc.position("learner")
    assert pasted.positions["learner_2"] == (x + 10, y + 20)


def test_new_id_and_rebase_paths(tmp_path: Path):
    doc = d.Document()
    assert doc.new_id("clean.missing") == "clean_missing" and doc.new_id("9lives") == "n_9lives"
    p = doc.snapshot()
    from designer.core.pipeline import Node

    p.nodes.append(Node(id="load", type="data.csv", params={"path": "data/x.csv"}))
    changes = d.rebase_paths(p, tmp_path / "a", tmp_path / "b")
    assert changes == {("load", "path"): "../a/data/x.csv"}
