"""The conformance checks fail, naming the module and the fault, for modules that break the contract."""

from __future__ import annotations

import pytest

from designer.conformance import (CHECKS, check_fitted_steps_survive_a_bundle, check_help_text, check_manifest_entry,
                                  check_params_round_trip, check_property_form, check_schema_predicts_run,
                                  module_cases, plugin_registry)
from tests.conformance import broken_modules

REGISTRY = plugin_registry(broken_modules.MANIFEST, plugin="broken", package="broken-modules")
CASES = {case.type_id: case for case in module_cases(REGISTRY, broken_modules.BROKEN)}

FAULTS = [
    ("broken.lying_schema", check_schema_predicts_run, r"schema predicts columns \['x1', 'x2', 'city', 'y'\], "
                                                       r"run gives \['x1', 'x2', 'city', 'y', 'surprise'\]"),
    ("broken.undeclared_step", check_fitted_steps_survive_a_bundle,
     r"a bundle would refuse its fitted steps \(.*UndeclaredStep.*\); declare every step class with "
     r"@designer.core.trust.bundle_type"),
    ("broken.mislabelled", check_manifest_entry, "the manifest says title 'Something Else', the class 'Mislabelled'"),
    ("broken.undocumented", check_help_text, "Undocumented has no docstring"),
    ("broken.json_only_form", check_property_form, r"parameters \['weights'\] get only the raw-JSON editor"),
    ("broken.not_json_params", check_params_round_trip, "parameters are not JSON literals"),
]


@pytest.mark.parametrize("type_id, check, message", FAULTS, ids=[f[0] for f in FAULTS])
def test_check_catches_the_fault(type_id, check, message):
    with pytest.raises(AssertionError, match=message) as err:
        check(CASES[type_id])
    assert str(err.value).startswith(f"{type_id}: ")


@pytest.mark.parametrize("type_id, faulty", [(f[0], f[1]) for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_each_broken_module_fails_only_its_own_check(type_id, faulty):
    """So a failure points at the one thing that is wrong."""
    for check in CHECKS:
        if check is not faulty:
            check(CASES[type_id])


def test_every_check_is_shown_to_catch_something():
    assert {f[1] for f in FAULTS} == set(CHECKS)
