"""The example plugin shipped in examples/plugin-log-transform, for tests of the main suite.

Installed (`make test` installs it), it registers through its entry point. Not installed, it is imported from
its source folder, and tests add its manifest to a registry of their own, as if it were installed.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from tests.conftest import ROOT

FOLDER = ROOT / "examples" / "plugin-log-transform"
PLUGIN, PACKAGE, VERSION = "log_transform", "pipeline-designer-log-transform", "0.1.0"
TYPE_ID = "logt.log_transform"


def manifest_module() -> ModuleType | None:
    """`pd_log_transform.manifest`, installed or from the source folder; None when neither is there."""
    try:
        return importlib.import_module("pd_log_transform.manifest")
    except ImportError:
        pass
    if not (FOLDER / "pd_log_transform").is_dir():
        return None
    sys.path.insert(0, str(FOLDER))
    try:
        return importlib.import_module("pd_log_transform.manifest")
    except ImportError:
        return None


def add_to(registry) -> bool:
    """Add the example plugin to `registry` unless it is there already (installed). False: not importable."""
    if registry.info(TYPE_ID) is not None:
        return True
    module = manifest_module()
    if module is None:
        return False
    registry.add_manifest(module.MANIFEST, package=PACKAGE, version=VERSION, plugin=PLUGIN)
    return True
