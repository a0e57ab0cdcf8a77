"""Trained bundles: manifest contents, verified loading, refusal of tampered or unexpected content."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import skops.io as sio

from designer.core.bundle import load_bundle, read_manifest, write_bundle
from designer.core.digest import bytes_sha256
from designer.core.engine import Engine
from designer.core.errors import BadInput
from designer.core.pipeline import load_pipeline
from tests.conftest import DATA, SAMPLES


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    path = SAMPLES / "messy_housing_boosted_trees.pipeline.json"
    result = Engine().run(load_pipeline(path), path.parent)
    bundle = tmp_path_factory.mktemp("b") / "train.bundle.zip"
    write_bundle(bundle, result.outputs["train"]["model"], pipeline_json=path.read_text(),
                 params={"learner": {"n_trees": 200}}, metrics={"evaluate.scored": {"r2": 0.8}})
    return bundle, result


class Intruder:
    """Any class the app does not list as trusted."""

    def __init__(self) -> None:
        self.payload = "x"


def _rewrite(src, dst, change):
    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    change(members)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, d in members.items():
            z.writestr(n, d)
    dst.write_bytes(buf.getvalue())


def test_manifest_records_provenance(messy):
    bundle, _ = messy
    manifest, members = read_manifest(bundle)
    assert manifest["data"][0]["sha256"] == bytes_sha256((DATA / "messy_housing.csv").read_bytes())
    assert manifest["data"][0]["rows"] == 600
    assert {"python", "scikit-learn", "pandas", "numpy", "skops"} <= set(manifest["libraries"])
    assert manifest["label"] == "price_k" and manifest["metrics"] == {"evaluate.scored": {"r2": 0.8}}
    assert [s["node"] for s in manifest["recipe"]] == ["fill_numbers", "fill_text", "encode"]
    assert manifest["members"] == {n: bytes_sha256(d) for n, d in members.items()}
    model, _ = load_bundle(bundle)
    assert model.input_schema.names == ["area_m2", "rooms", "age_years", "distance_km", "city", "condition",
                                        "garden"]


def test_changed_member_is_refused(messy, tmp_path):
    bundle, _ = messy
    bad = tmp_path / "bad.bundle.zip"
    _rewrite(bundle, bad, lambda m: m.update({"schema.json": m["schema.json"].replace(b"price_k", b"price_x")}))
    with pytest.raises(BadInput, match="schema.json.*SHA-256"):
        load_bundle(bad)


def test_unexpected_type_is_refused_even_with_matching_hashes(messy, tmp_path):
    bundle, _ = messy
    bad = tmp_path / "bad.bundle.zip"

    def swap(m):
        m["model.skops"] = sio.dumps({"estimator": Intruder(), "recipe": []})
        manifest = json.loads(m["manifest.json"])
        manifest["members"]["model.skops"] = bytes_sha256(m["model.skops"])
        m["manifest.json"] = json.dumps(manifest).encode()

    _rewrite(bundle, bad, swap)
    with pytest.raises(BadInput, match="does not trust: tests.core.test_bundle.Intruder"):
        load_bundle(bad)


def test_tree_with_out_of_range_child_is_refused(messy, tmp_path, monkeypatch):
    bundle, result = messy
    model = result.outputs["train"]["model"]
    tree = model.estimator._predictors[0][0]
    saved = tree.nodes.copy()
    inner = (~tree.nodes["is_leaf"].astype(bool)).nonzero()[0][0]
    tree.nodes["left"][inner] = len(tree.nodes) + 1000
    try:
        bad = tmp_path / "bad.bundle.zip"
        write_bundle(bad, model, pipeline_json="{}", params={})
    finally:
        tree.nodes[:] = saved
    with pytest.raises(BadInput, match="child indices out of range"):
        load_bundle(bad)


def test_trusted_types_are_declared_where_they_are_defined():
    import designer.core.recipe as recipe
    from designer.core.trust import ALWAYS, declared

    steps = {f"designer.core.recipe.{c.__name__}" for c in vars(recipe).values()
             if isinstance(c, type) and issubclass(c, recipe.Step) and c is not recipe.Step}
    assert steps and steps <= declared()
    assert all(t.startswith(("numpy.", "sklearn.ensemble._hist")) for t in ALWAYS)
    # beyond the app's own, only installed plugins declare types (a plugin's step, once another test imported it)
    from designer.core.registry import NodeRegistry

    registry = NodeRegistry.from_entry_points()
    foreign = {t for t in declared() if not t.startswith("designer.") and registry.owner_of_class(t) is None}
    assert not foreign


def test_not_a_bundle(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"hello")
    with pytest.raises(BadInput, match="not a readable bundle"):
        load_bundle(tmp_path / "x.zip")
    with pytest.raises(BadInput, match="no such bundle"):
        load_bundle(tmp_path / "missing.zip")
