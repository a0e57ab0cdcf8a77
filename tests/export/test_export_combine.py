"""Export of Join Data and Add Rows: a pipeline that stacks two CSVs, joins them with a third (inner, left or
full, then semi or anti), adds the rows of the second join and trains a model; the script, run with `--check`, gives
the designer's metrics and scored rows bit for bit, and a wrong join kind or row order written into it fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from designer.core.engine import Engine
from designer.core.export import Expected, export_script
from designer.core.pipeline import Pipeline, parse_pipeline
from designer.core.runner import metrics_of
from tests.export.modelling import modelling_links, modelling_nodes
from tests.export.test_export import (assert_checks_and_scores_like_the_designer, assert_passes_ruff,
                                     assert_plain_imports)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three tiny seeded CSVs: facts in two files (the same columns in another order; a missing and repeated
    key, true/false flags, a name kept as a meta column) and customers (repeated and missing keys, a clashing
    column `x1`, a category with a gap, true/false `vip`)."""
    folder = tmp_path_factory.mktemp("combine")
    rng = np.random.default_rng(7)
    n = 36
    cid = rng.integers(0, 30, n).astype(float)
    cid[[3, 20]] = np.nan
    facts = pd.DataFrame({"cid": cid, "x1": rng.normal(size=n).round(3), "flag": rng.random(n) < 0.5,
                          "name": [f"n{i}" for i in range(n)], "y": rng.normal(size=n).round(3)})
    facts.iloc[:22].to_csv(folder / "facts_a.csv", index=False)
    facts.iloc[22:][["y", "name", "flag", "x1", "cid"]].to_csv(folder / "facts_b.csv", index=False)
    m = 24
    customer = rng.permutation(40)[:m].astype(float)
    customer[[5, 6]] = customer[4]
    customer[9] = np.nan
    region = rng.choice(["north", "south", "east"], m).astype(object)
    region[2] = None
    pd.DataFrame({"customer": customer, "x1": rng.normal(size=m).round(3), "region": region,
                  "vip": rng.random(m) < 0.4}).to_csv(folder / "customers.csv", index=False)
    return folder


COMBINE = ("facts_a", "facts_b", "customers", "stack", "join", "rest", "both")


def combine_pipeline(how: str, rest: str, only: tuple[str, ...] | None = None) -> Pipeline:
    """facts_a + facts_b (Add Rows, same columns), joined with the customers (`how`), plus the facts rows
    that the `rest` join keeps (Add Rows, union), rows without a label removed, then split,
    filled, encoded, trained, scored and evaluated (`only`: just these nodes)."""
    nodes = [{"id": "facts_a", "type": "data.csv", "params": {"path": "facts_a.csv", "meta_columns": ["name"]}},
             {"id": "facts_b", "type": "data.csv", "params": {"path": "facts_b.csv", "meta_columns": ["name"]}},
             {"id": "customers", "type": "data.csv", "params": {"path": "customers.csv"}},
             {"id": "stack", "type": "data.add_rows", "params": {"columns": "same"}},
             {"id": "join", "type": "data.join", "params": {"how": how, "keys": ["cid"], "right_keys": ["customer"]}},
             {"id": "rest", "type": "data.join", "params": {"how": rest, "keys": ["cid"], "right_keys": ["customer"]}},
             {"id": "both", "type": "data.add_rows", "params": {"columns": "union"}},
             {"id": "labelled", "type": "clean.missing", "params": {"columns": ["y"], "mode": "remove_row"}},
             *modelling_nodes()]
    links = [("facts_a.data", "stack.first"), ("facts_b.data", "stack.second"),
             ("stack.data", "join.left"), ("customers.data", "join.right"),
             ("stack.data", "rest.left"), ("customers.data", "rest.right"),
             ("join.data", "both.first"), ("rest.data", "both.second"), ("both.data", "labelled.data"),
             *modelling_links("labelled.data")]
    if only is not None:
        nodes = [n for n in nodes if n["id"] in only]
        links = [(a, b) for a, b in links if a.split(".")[0] in only and b.split(".")[0] in only]
    return parse_pipeline(json.dumps({"format": "pipeline-designer", "version": 2, "name": "combine", "nodes": nodes,
                                      "links": [{"from": a, "to": b} for a, b in links]}))


def exported(pipeline: Pipeline, data: Path, folder: Path) -> tuple[Path, str, Any]:
    """The designer's run (outputs kept) and the script exported with its values, written as folder/train.py."""
    result = Engine().run(pipeline, data, keep_outputs=True)
    assert result.ok, result.errors
    script = folder / "train.py"
    text = export_script(pipeline, data, script, expected=Expected("test", "0" * 64, metrics_of(result)),
                         values=result.outputs)
    script.write_text(text)
    return script, text, result


# a full join's flags may be missing (categorical), so the rows added to it come from a full join too
@pytest.mark.parametrize("how, rest", [("inner", "anti"), ("left", "semi"), ("full", "full")])
def test_join_and_add_rows_export_the_designers_rows(how: str, rest: str, data: Path, tmp_path: Path) -> None:
    script, text, result = exported(combine_pipeline(how, rest), data, tmp_path)
    assert_plain_imports(text)
    assert_checks_and_scores_like_the_designer(script, result)
    assert_passes_ruff(script)
    assert ("stack_data = pd.concat([facts_a_data, facts_b_data], ignore_index=True)\n"
            "    stack_data = new_source(stack_data, ['name', 'cid', 'x1', 'flag', 'y'], booleans=['flag'])") in text
    assert (f"join_data = joined_rows(stack_data, customers_data, how={how!r}, keys=['cid'], right_keys=['customer'], "
            "suffix='_right')") in text
    assert f"rest_data = joined_rows(stack_data, customers_data, how={rest!r}, keys=['cid']" in text
    # the flags of rows that may find no match become object columns (true, false or missing), as in the designer
    booleans = {"inner": "['flag', 'vip']", "left": "['flag']", "full": "[]"}[how]
    assert f"join_data = new_source(join_data, ['name', 'cid', 'x1', 'flag', 'y', 'x1_right', 'region', 'vip'], " \
           f"booleans={booleans})" in text
    assert "both_data = new_source(both_data, ['name', 'cid', 'x1', 'flag', 'y', 'x1_right', 'region', 'vip'], " \
           f"booleans={'[]' if how == 'full' else repr(['flag'])})" in text
    assert text.count("def joined_rows(") == 1 and text.count("def new_source(") == 1
    # without a run, the columns and kinds validation predicts give the same lines
    plain = export_script(combine_pipeline(how, rest, COMBINE), data, tmp_path / "plain.py")
    for node in ("stack", "join", "rest", "both"):
        lines = [line for line in text.splitlines() if line.startswith(f"    {node}_data = ")]
        assert len(lines) == 2 and all(line in plain.splitlines() for line in lines)
    joined = result.outputs["both"]["data"].view
    assert len(joined) > 36 and joined["vip"].dtype == object and joined["region"].isna().any()


@pytest.mark.parametrize("old, new", [
    ("how='inner'", "how='left'"),  # the wrong join kind
    ("pd.concat([facts_a_data, facts_b_data]", "pd.concat([facts_b_data, facts_a_data]"),  # the wrong row order
], ids=["join-kind", "row-order"])
def test_a_wrong_join_or_row_order_in_the_script_fails_the_comparison(old: str, new: str, data: Path,
                                                                     tmp_path: Path) -> None:
    script, text, result = exported(combine_pipeline("inner", "anti"), data, tmp_path)
    assert text.count(old) == 1
    broken = tmp_path / "broken.py"
    broken.write_text(text.replace(old, new))
    with pytest.raises(AssertionError):
        assert_checks_and_scores_like_the_designer(broken, result)
