"""Makers of the corpus's big or hostile inputs, generated at test time into a temporary folder (never
committed): crafted bundles, zip bombs, devices and pipes where files belong, huge or pathological
pipelines and data files."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any, Callable

GIB = 1 << 30


# ------------------------------------------------------------------------------------------ zip helpers
def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def read_members(bundle: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(bundle) as z:
        return {n: z.read(n) for n in z.namelist()}


def resign(members: dict[str, bytes], change: Callable[[dict[str, Any]], None] | None = None) -> dict[str, bytes]:
    """`members` with the manifest's member hashes and its own hash recomputed (after `change` edits the
    manifest): what anyone can do, so only the checks behind the hashes can refuse such a bundle."""
    from designer.core.bundle import manifest_sha256

    manifest = json.loads(members["manifest.json"])
    if change is not None:
        change(manifest)
    manifest["members"] = {n: hashlib.sha256(d).hexdigest() for n, d in members.items() if n != "manifest.json"}
    manifest["sha256"] = manifest_sha256(manifest)
    return {**members, "manifest.json": json.dumps(manifest, indent=2).encode()}


def deflated_zeros(path: Path, name: str, size: int, level: int = 1, before: dict[str, bytes] | None = None) -> None:
    """A zip whose member `name` inflates to `size` zero bytes (written in 1 MB blocks: cheap to make)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for n, data in (before or {}).items():
            z.writestr(n, data)
        with z.open(name, "w", force_zip64=True) as f:
            block = bytes(1 << 20)
            for _ in range(size >> 20):
                f.write(block)


# ------------------------------------------------------------------------------------------ crafted bundles
def _bad_tree(model: Any, index: int | None) -> None:
    """Point the first inner node of the first tree's left child at `index` (None: just past the end)."""
    tree = model._predictors[0][0]
    inner = (~tree.nodes["is_leaf"].astype(bool)).nonzero()[0][0]
    tree.nodes["left"][inner] = len(tree.nodes) if index is None else index


def crafted_tree_bundles(good: Path, folder: Path) -> None:
    """Bundles written with `write_bundle` (so every hash is right) holding a boosted model whose tree
    reads out of bounds, where the old top-level check did not look."""
    from sklearn.pipeline import Pipeline

    from designer.core.bundle import load_bundle, write_bundle

    pipeline_json = read_members(good)["pipeline.json"].decode()

    def write(name: str, edit: Callable[[Any], None]) -> None:
        model, _, _ = load_bundle(good)
        edit(model)
        write_bundle(folder / f"{name}.bundle.zip", model, pipeline_json=pipeline_json, params={})

    def wrapped(index: int | None) -> Callable[[Any], None]:
        def edit(model: Any) -> None:
            _bad_tree(model.estimator, index)
            model.estimator = Pipeline([("model", model.estimator)])  # a trusted scikit-learn wrapper
        return edit

    def hidden(model: Any) -> None:  # a second, broken copy of the model inside a recipe step's attributes
        import copy

        spare = copy.deepcopy(model.estimator)
        _bad_tree(spare, 2 ** 31)
        model.recipe[0].notes = [{"spare": spare}]

    write("tree_index_2_31_in_pipeline", wrapped(2 ** 31))
    write("tree_index_past_end_in_pipeline", wrapped(None))
    write("tree_hidden_in_recipe_step", hidden)


def kmeans_width_bundle(folder: Path) -> None:
    """A k-means bundle whose schema lists 2 features while the estimator was fitted on 3."""
    import numpy as np
    from sklearn.cluster import KMeans

    from designer.core.bundle import write_bundle
    from designer.core.model import TrainedModel
    from designer.core.schema import TableSchema

    est = KMeans(n_clusters=2, n_init=1, random_state=0).fit(np.arange(30, dtype=float).reshape(10, 3))
    model = TrainedModel(node_id="train", task="clustering", estimator=est, features=["a", "b"], recipe=(),
                         input_schema=TableSchema(columns=(("a", "numeric"), ("b", "numeric"))))
    write_bundle(folder / "kmeans_width.bundle.zip", model, pipeline_json='{"name": "k"}', params={})
    (folder / "ab.csv").write_text("a,b\n1,2\n3,4\n")


def malformed_bundles(good: Path, folder: Path) -> None:
    """Bundles whose hashes are all right but whose content is not what the program writes."""
    members = read_members(good)

    def with_member(name: str, data: bytes) -> dict[str, bytes]:
        return resign({**members, name: data})

    (folder / "manifest_list.bundle.zip").write_bytes(zip_bytes({**members, "manifest.json": b"[]"}))
    (folder / "schema_not_json.bundle.zip").write_bytes(zip_bytes(with_member("schema.json", b"{not json")))
    (folder / "schema_no_features.bundle.zip").write_bytes(zip_bytes(with_member(
        "schema.json", json.dumps({**json.loads(members["schema.json"]), "features": 7}).encode())))
    manifest = json.loads(members["manifest.json"])  # forged metrics, hashes of the other members still right
    manifest["metrics"] = {"evaluate.scored": {"r2": 0.99}}
    (folder / "forged_metrics.bundle.zip").write_bytes(
        zip_bytes({**members, "manifest.json": json.dumps(manifest).encode()}))
    older = {k: v for k, v in json.loads(members["manifest.json"]).items() if k != "sha256"}
    (folder / "older_manifest.bundle.zip").write_bytes(
        zip_bytes({**members, "manifest.json": json.dumps(older).encode()}))

    def other_versions(m: dict[str, Any]) -> None:
        m["libraries"].update({"scikit-learn": "0.24.2", "numpy": "1.19.5"})

    (folder / "other_versions.bundle.zip").write_bytes(zip_bytes(resign(members, other_versions)))
    inner = io.BytesIO()  # model.skops whose own member is a bomb (64 MB of zeros at ~1,000:1)
    deflated_zeros(inner, "bomb.npy", 64 << 20, level=9)  # type: ignore[arg-type]
    (folder / "inner_bomb.bundle.zip").write_bytes(zip_bytes(with_member("model.skops", inner.getvalue())))


def not_files(folder: Path) -> None:
    """A folder and a FIFO where a bundle file belongs."""
    (folder / "folder.bundle.zip").mkdir()
    os.mkfifo(folder / "fifo.bundle.zip")


def zip_bomb(folder: Path) -> None:
    """A 4.6 MB bundle whose model.skops inflates to 1 GiB (more than the 512 MB the program reads)."""
    manifest = json.dumps({"format": "pipeline-designer-bundle", "version": 1}).encode()
    deflated_zeros(folder / "bomb.bundle.zip", "model.skops", GIB, before={"manifest.json": manifest})


# ------------------------------------------------------------------------------------------ pipelines
def pipeline_json(nodes: list[dict[str, Any]], links: list[tuple[str, str]], name: str = "generated") -> str:
    return json.dumps({"format": "pipeline-designer", "version": 2, "name": name, "nodes": nodes,
                       "links": [{"from": a, "to": b} for a, b in links]})


def complete_graph(n: int = 14) -> str:
    """n nodes, each linked to every other (7.6 KB for 14): listing every simple cycle never finishes."""
    nodes = [{"id": f"n{i}", "type": "clean.select"} for i in range(n)]
    return pipeline_json(nodes, [(f"n{i}.data", f"n{j}.data") for i in range(n) for j in range(n) if i != j])


def chain(n: int) -> str:
    """A sample data set through n - 1 Remove Duplicates nodes in a row (quadratic link lookups: > 45 s)."""
    nodes = [{"id": "n0", "type": "data.sample", "params": {"dataset": "iris"}}]
    nodes += [{"id": f"n{i}", "type": "clean.duplicates"} for i in range(1, n)]
    return pipeline_json(nodes, [(f"n{i - 1}.data", f"n{i}.data") for i in range(1, n)])


def big_pipelines(folder: Path) -> None:
    (folder / "complete14.pipeline.json").write_text(complete_graph(14))
    (folder / "chain10000.pipeline.json").write_text(chain(10_000))
    split = [{"id": "data", "type": "data.sample"}, {"id": "split", "type": "split.rows", "params": {"seed": 1}}]
    text = json.dumps(json.loads(pipeline_json(split, [("data.data", "split.data")])), indent=2)
    (folder / "digits5000.pipeline.json").write_text(text.replace('"seed": 1', '"seed": ' + "7" * 5000))
    (folder / "nested100000.pipeline.json").write_text(
        '{"format": "pipeline-designer", "version": 2,\n"description": ' + "[" * 100_000 + "]" * 100_000 + "}")


# ------------------------------------------------------------------------------------------ data files
def load_csv_pipeline(path: str, name: str = "load a CSV") -> str:
    return pipeline_json([{"id": "load", "type": "data.csv", "params": {"path": path}}], [], name)


def save_outside(folder: Path) -> None:
    """A Save CSV node writing into the folder above the pipeline's."""
    nodes = [{"id": "data", "type": "data.sample", "params": {"dataset": "iris"}},
             {"id": "save", "type": "data.save_csv", "params": {"path": "../outside.csv"}}]
    (folder / "save_outside.pipeline.json").write_text(pipeline_json(nodes, [("data.data", "save.data")]))


def data_files(folder: Path) -> None:
    """A 200 KB text cell (valid; the csv module refused it), and a folder and a FIFO where a CSV belongs,
    each with a pipeline that loads it."""
    (folder / "big_cell.csv").write_text("id,text,y\n1," + "x" * 200_000 + ",2.5\n2,short,3.5\n")
    (folder / "big_cell.pipeline.json").write_text(load_csv_pipeline("big_cell.csv"))
    (folder / "data_folder.csv").mkdir()
    (folder / "data_folder.pipeline.json").write_text(load_csv_pipeline("data_folder.csv"))
    os.mkfifo(folder / "data_fifo.csv")
    (folder / "digits5000.csv").write_text("area_m2,rooms,age_years,distance_km,city,condition,garden\n"
                                           + "7" * 5000 + ",3,12,4.5,Porto,good,yes\n")
    (folder / "data_fifo.pipeline.json").write_text(load_csv_pipeline("data_fifo.csv"))


# Tricky but valid CSV content: the schema sniffed at validation must be what pandas reads at run time
TRICKY_CSV: dict[str, bytes] = {
    "byte_order_mark": "\ufeffy,x\n1,2\n3,4\n".encode(),
    "int_31_digits": b"id,x\n1234567890123456789012345678901,1\n2,2\n",
    "uint64": b"id,x\n18446744073709551615,1\n2,2\n",
    "uint64_and_negative": b"id,x\n18446744073709551615,1\n-1,2\n",
    "int64_limits": b"id,x\n9223372036854775807,1\n-9223372036854775808,2\n",
    "number_5000_digits": b"a,b\n" + b"1" * 5000 + b",1\n2,2\n",
    "number_5000_digits_decimal": b"a,b\n" + b"1" * 5000 + b".5,1\n2,2\n",
    "huge_int_and_decimal": b"a,b\n1.5,1\n1234567890123456789012345678901,2\n",
    "nul_after_digit": b"a,b\n1,2\n3\x00,3\n",
    "nul_alone": b"a,b\n1,2\n\x00,3\n",
    "underscore_digits": b"a,b\n1_000,1\n2,2\n",
    "arabic_indic_digit": "a,b\n\u0661,1\n2,2\n".encode(),
    "NAN_not_a_marker": b"a,b\nNAN,1\n2,2\n",
    "boolean_with_missing": b"a,b\nTrue,1\n,2\n",
    "boolean_any_case": b"a,b\ntRuE,1\nfalse,2\n",
    "boolean_with_blank": b"a,b\n True,1\nFalse,2\n",
    "infinities": b"a,b\n-Infinity,1\nINF,2\n",
    "blanks_around_numbers": b"a,b\n 1.5 ,1\n\t2,2\n",
    "empty_header_cell": b"a,,c\n1,2,3\n",
    "text_cell_200_kb": b"a,b\n" + b"x" * 200_000 + b",1\n",
    "leading_zeros": b"a,b\n" + b"0" * 30 + b"1,1\n2,2\n",
}
