from designer.core.engine import Engine
from designer.core.states import NodeState
from designer.core.pipeline import load_pipeline
from tests.conftest import SAMPLES


def test_diabetes_runs_and_reuses_upstream_after_learner_change():
    path = SAMPLES / "diabetes_linear_regression.pipeline.json"
    p = load_pipeline(path)
    engine = Engine()
    first = engine.run(p, path.parent)
    assert first.ok, first.errors
    r2 = first.outputs["evaluate"]["report"].metrics["r2"]
    assert 0.3 < r2 < 0.6
    p.node("learner").params["l2"] = 1.0
    second = engine.run(p, path.parent)
    assert {second.status[n] for n in ("data", "split", "scale")} == {NodeState.CACHED}
    assert second.status["train"] == NodeState.DONE
    assert second.outputs["evaluate"]["report"].metrics["r2"] != r2
