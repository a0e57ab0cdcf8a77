"""The module registry: entry points, lazy imports, namespaces, clashes, broken plugins, missing modules."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

from designer.core.engine import Engine
from designer.core.pipeline import load_pipeline, parse_pipeline
from designer.core.registry import NodeRegistry, set_default_registry
from designer.core.states import NodeState
from designer.core.validate import validate

MODULE = '''
from designer.core.node import NodeType, Port
from designer.core.values import PortType


class Passthrough(NodeType):
    """Hands its table on unchanged."""

    type_id = "{space}.passthrough"
    title = "Passthrough"
    category = "Clean and transform"
    inputs = (Port("data", PortType.TABLE),)
    outputs = (Port("data", PortType.TABLE),)

    def schema(self, params, inputs, ctx):
        return {{"data": inputs.get("data")}}

    def run(self, params, inputs, ctx):
        return {{"data": inputs["data"]}}
'''


def install_plugin(site: Path, dist: str, package: str, space: str, *, manifest: str | None = None,
                   module: str | None = None) -> None:
    """A real installed distribution (dist-info with an entry point) in `site`, which is on sys.path."""
    pkg = site / package
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "nodes.py").write_text(module if module is not None else MODULE.format(space=space))
    (pkg / "manifest.py").write_text(manifest if manifest is not None else textwrap.dedent(f"""
        MANIFEST = {{"name": "{dist}", "namespaces": ["{space}"], "modules": [
            {{"type": "{space}.passthrough", "title": "Passthrough", "category": "Clean and transform",
              "class": "{package}.nodes:Passthrough"}}]}}
    """))
    info = site / f"{dist.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[pipeline_designer.modules]\n{package} = {package}.manifest:MANIFEST\n")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "site"
    folder.mkdir()
    sys.path.insert(0, str(folder))
    before = set(sys.modules)
    yield folder
    sys.path.remove(str(folder))
    for name in set(sys.modules) - before:
        if name.startswith(("plug_", "other_", "broken_")):
            del sys.modules[name]


def test_builtins_come_from_the_projects_own_entry_point_and_import_lazily() -> None:
    reg = NodeRegistry.from_entry_points(plugins=False)
    assert len(reg.infos()) == 24 and {i.package for i in reg.infos()} == {"pipeline-designer"}
    assert reg.info("clean.missing").title == "Clean Missing Data"
    assert reg.get("no.such") is None and "unknown module type" in reg.problem("no.such")


def test_a_plugin_is_listed_from_its_manifest_and_imported_only_when_used(site: Path) -> None:
    install_plugin(site, "plug-one", "plug_one", "plugone")
    reg = NodeRegistry.from_entry_points()
    assert reg.plugins["plug_one"].package == "plug-one" and reg.plugins["plug_one"].error is None
    assert reg.info("plugone.passthrough").package == "plug-one"
    assert "plug_one.nodes" not in sys.modules  # listing imports no module code
    assert reg.get("plugone.passthrough").title == "Passthrough"
    assert "plug_one.nodes" in sys.modules
    assert "plugone.passthrough" not in NodeRegistry.from_entry_points(plugins=False)


def test_clashes_are_refused_naming_both_packages(site: Path) -> None:
    install_plugin(site, "plug-one", "plug_one", "plugone")
    install_plugin(site, "other-plug", "other_plug", "plugone")  # the same namespace and type id
    clash = textwrap.dedent("""
        MANIFEST = {"namespaces": ["clean"], "modules": [{"type": "clean.missing", "title": "Mine",
                    "category": "Clean and transform", "class": "broken_builtin.nodes:Passthrough"}]}
    """)
    install_plugin(site, "broken-builtin", "broken_builtin", "clean", manifest=clash)
    reg = NodeRegistry.from_entry_points()
    assert reg.info("plugone.passthrough").package == "other-plug"  # first by name wins
    assert "already used by other-plug" in reg.plugins["plug_one"].error
    assert "plug-one" in reg.plugins["plug_one"].error
    assert "pipeline-designer" in reg.plugins["broken_builtin"].error
    assert reg.info("clean.missing").package == "pipeline-designer"


def test_type_ids_must_stay_in_the_plugins_namespace(site: Path) -> None:
    stray = textwrap.dedent("""
        MANIFEST = {"namespaces": ["plugone"], "modules": [{"type": "elsewhere.thing", "title": "T",
                    "category": "Data", "class": "plug_one.nodes:Passthrough"}]}
    """)
    install_plugin(site, "plug-one", "plug_one", "plugone", manifest=stray)
    reg = NodeRegistry.from_entry_points()
    assert "outside its namespaces" in reg.plugins["plug_one"].error and "elsewhere.thing" not in reg


def test_a_broken_plugin_never_breaks_the_others(site: Path) -> None:
    install_plugin(site, "plug-one", "plug_one", "plugone", manifest="raise ImportError('no numpy 9')")
    install_plugin(site, "other-plug", "other_plug", "otherplug", module="import not_a_module_at_all\n")
    reg = NodeRegistry.from_entry_points()
    assert "no numpy 9" in reg.plugins["plug_one"].error
    assert reg.get("otherplug.passthrough") is None
    assert "not_a_module_at_all" in reg.plugins["other_plug"].error
    assert "failed to load" in reg.problem("otherplug.passthrough")
    assert reg.get("clean.missing") is not None and len(reg.types()) == 24


PIPELINE = {
    "format": "pipeline-designer", "version": 2, "name": "uses a plugin",
    "nodes": [{"id": "data", "type": "data.sample", "params": {"dataset": "diabetes"}},
              {"id": "logs", "type": "logt.log_transform", "params": {"offset": 2.5, "columns": ["bmi"]}},
              {"id": "save", "type": "data.save_csv", "params": {"path": "out/logs.csv"}},
              {"id": "scale", "type": "clean.normalize"}],
    "links": [{"from": "data.data", "to": "logs.data"}, {"from": "logs.data", "to": "save.data"},
              {"from": "data.data", "to": "scale.data"}],
    "requires": {"logt": "pipeline-designer-log-transform"},
    "layout": {"positions": {"data": [0, 0], "logs": [200, 0]}},
}


def test_a_pipeline_with_a_module_that_is_not_installed_opens_validates_runs_its_other_branches_and_saves_back(
        tmp_path: Path) -> None:
    path = tmp_path / "p.pipeline.json"
    text = parse_pipeline(json.dumps(PIPELINE)).to_json_text()  # as the app writes it
    path.write_text(text)
    reg = NodeRegistry.from_entry_points(plugins=False)
    pipeline = load_pipeline(path)
    assert pipeline.node("logs").params == {"offset": 2.5, "columns": ["bmi"]}
    v = validate(pipeline, tmp_path, reg)
    [issue] = v.errors
    assert issue.location.node == "logs" and "pipeline-designer-log-transform" in issue.message
    result = Engine(reg).run(pipeline, tmp_path)
    assert result.status["scale"] == NodeState.DONE and result.status["data"] == NodeState.DONE
    assert result.status["logs"] == NodeState.FAILED and result.status["save"] == NodeState.SKIPPED
    assert "not installed" in result.errors["logs"]
    assert pipeline.requires == {"logt": "pipeline-designer-log-transform"}
    pipeline.requires = reg.requirements((n.type for n in pipeline.nodes), pipeline.requires)
    assert pipeline.to_json_text() == text  # saved back byte for byte


def test_requirements_name_installed_plugins_and_keep_missing_ones(site: Path) -> None:
    install_plugin(site, "plug-one", "plug_one", "plugone")
    reg = NodeRegistry.from_entry_points()
    needs = reg.requirements(["data.sample", "plugone.passthrough", "gone.thing", "lost.x"], {"gone": "gone-pkg"})
    assert needs == {"gone": "gone-pkg", "plugone": "plug-one"}


def test_cli_plugins_list_enable_disable_and_no_plugins(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from designer import cli
    from designer.core.config import enabled_plugins

    install_plugin(site, "plug-one", "plug_one", "plugone")
    install_plugin(site, "other-plug", "other_plug", "otherplug", module="import not_a_module_at_all\n")
    set_default_registry(None)
    try:
        assert cli.main(["plugins", "list", "--json"]) == 0
        listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
        assert listed["plug_one"]["error"] is None and listed["plug_one"]["enabled"] is False
        assert "not_a_module_at_all" in listed["other_plug"]["error"]
        assert cli.main(["plugins", "enable", "plug_one"]) == 0 and enabled_plugins() == {"plug_one"}
        assert cli.main(["plugins", "enable", "other_plug"]) == 2
        assert "broken" in capsys.readouterr().err
        assert cli.main(["plugins", "enable", "nope"]) == 2
        assert "installed: other_plug, plug_one" in capsys.readouterr().err
        assert cli.main(["plugins", "disable", "plug_one"]) == 0 and enabled_plugins() == set()
        capsys.readouterr()
        assert cli.main(["--no-plugins", "nodes", "--json"]) == 0
        assert not any(e["type"].startswith("plugone") for e in json.loads(capsys.readouterr().out))
        assert cli.main(["nodes", "--json"]) == 0
        assert any(e["type"] == "plugone.passthrough" for e in json.loads(capsys.readouterr().out))
    finally:
        set_default_registry(None)
