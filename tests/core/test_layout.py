from designer.core.layout import layered_layout
from designer.core.pipeline import Link, load_pipeline
from tests.conftest import SAMPLES


def test_layers_follow_the_links_left_to_right():
    p = load_pipeline(SAMPLES / "diabetes_linear_regression.pipeline.json")
    pos = layered_layout(p)
    assert pos is not None
    for link in p.links:
        assert pos[link.source_node][0] < pos[link.target_node][0]
    assert pos["learner"][0] == pos["scale"][0]  # a source sits just left of its first consumer


def test_cycle_has_no_layout():
    p = load_pipeline(SAMPLES / "diabetes_linear_regression.pipeline.json")
    p.links.append(Link.make("evaluate", "report", "data", "data"))
    assert layered_layout(p) is None
