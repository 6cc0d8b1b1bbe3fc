"""PyNN's own backend-independent system tests, run against ``neurohw.pynn``.

The scenarios live in ``test/system/scenarios/`` of the PyNN 0.13.0 source
distribution (they are not in the wheel).  The sdist is fetched with pip the
first time and kept in pytest's cache directory; every scenario function that
PyNN registers for some simulator (decorated with ``run_with_simulators``) is
run here with ``sim=neurohw.pynn``.

Scenarios that cannot pass for an intrinsic reason are listed in
``EXPECTED_FAILURES`` with that reason; they are strict xfails, so one that
starts passing is reported.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

import neurohw.pynn

PYNN_VERSION = "0.13.0"
_PACKAGE = "pynn_system_scenarios"


def _missing(what):
    # a model the backend does not provide is an AttributeError on the `sim` module
    return (AttributeError, f"needs {what}, which is outside this backend's model list")


EXPECTED_FAILURES = {
    # cell types neurohw does not provide (IR: IF_curr_exp, IF_curr_alpha, IF_cond_exp,
    # IF_cond_alpha, EIF_cond_exp_isfa_ista, EIF_cond_alpha_isfa_ista, SpikeSourceArray,
    # SpikeSourcePoisson)
    "test_cell_types::test_HH_cond_exp": _missing("HH_cond_exp"),
    "test_cell_types::test_SpikeSourceGamma": _missing("SpikeSourceGamma"),
    "test_cell_types::test_SpikeSourcePoissonRefractory": _missing("SpikeSourcePoissonRefractory"),
    "test_cell_types::test_composed_neuron_model_homogeneous_receptors":
        _missing("PointNeuron/AdExp/LIF with named receptors"),
    "test_scenario5::test_scenario5": (
        pytest.fail.Exception,
        "needs multi-compartment neurons; it first skips itself (morphio is not installed), "
        "which this harness counts as a failure"),
    # synapse types: the IR has static, pair-STDP and Tsodyks-Markram synapses only
    "test_synapse_types::test_simple_stochastic_synapse": _missing("SimpleStochasticSynapse"),
    # spike timing
    "test_recording::test_issue259": (
        AssertionError,
        "needs off-grid spike times (spike_precision='off_grid'); the IR stamps spikes on "
        "the dt grid"),
}


def _scenario_dir(cache_root: Path) -> Path:
    """test/system/scenarios of the PyNN sdist, fetched with pip once and cached.

    Several pytest-xdist workers may get here at once: each downloads into its own
    temporary directory and the first to rename its copy into place wins.
    """
    root = cache_root / f"pynn-{PYNN_VERSION}"
    scenarios = root / "test" / "system" / "scenarios"
    if scenarios.is_dir():
        return scenarios
    with tempfile.TemporaryDirectory(dir=cache_root) as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-binary", ":all:",
                        "--no-deps", f"pyNN=={PYNN_VERSION}", "-d", tmp],
                       check=True, capture_output=True, text=True)
        sdist, = Path(tmp).glob("*.tar.gz")
        prefix = f"pynn-{PYNN_VERSION}/test/system/"
        with tarfile.open(sdist) as archive:
            members = [m for m in archive.getmembers() if m.name.startswith(prefix)]
            archive.extractall(tmp, members=members, filter="data")
        try:
            os.rename(Path(tmp) / f"pynn-{PYNN_VERSION}", root)
        except OSError:
            if not scenarios.is_dir():
                raise
    return scenarios


def _load_scenarios(directory: Path) -> dict:
    """``{"module::function": function}`` for every scenario PyNN registers."""
    if _PACKAGE not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            _PACKAGE, directory / "__init__.py", submodule_search_locations=[str(directory)])
        package = importlib.util.module_from_spec(spec)
        sys.modules[_PACKAGE] = package
        spec.loader.exec_module(package)
    found = {}
    for path in sorted(directory.glob("test_*.py")):
        module = importlib.import_module(f"{_PACKAGE}.{path.stem}")
        for name, function in vars(module).items():
            marks = getattr(function, "pytestmark", [])
            registered = any(m.name == "parametrize" and m.args and m.args[0] == "sim"
                             for m in marks)
            if name.startswith("test_") and callable(function) and registered:
                found[f"{path.stem}::{name}"] = function
    return found


def pytest_generate_tests(metafunc):
    if "scenario" not in metafunc.fixturenames:
        return
    try:
        scenarios = _load_scenarios(_scenario_dir(Path(metafunc.config.cache.mkdir("pynn-sdist"))))
    except Exception as exc:  # no network, pip failure, ...: fail loudly, never skip
        metafunc.parametrize("scenario", [pytest.param(exc, id="fetch-pynn-scenarios")])
        return
    params = []
    for key, function in scenarios.items():
        marks = ()
        if key in EXPECTED_FAILURES:
            raises, reason = EXPECTED_FAILURES[key]
            marks = pytest.mark.xfail(strict=True, raises=raises, reason=reason)
        params.append(pytest.param(function, id=key, marks=marks))
    metafunc.parametrize("scenario", params)


def test_expected_failure_table_names_real_scenarios(request):
    scenarios = _load_scenarios(_scenario_dir(Path(request.config.cache.mkdir("pynn-sdist"))))
    assert len(scenarios) == 66                  # all of PyNN 0.13.0's registered scenarios
    assert set(EXPECTED_FAILURES) <= set(scenarios), set(EXPECTED_FAILURES) - set(scenarios)


def test_pynn_scenario(scenario, tmp_path, monkeypatch):
    if isinstance(scenario, Exception):
        raise scenario
    monkeypatch.chdir(tmp_path)           # some scenarios write files to the working directory
    try:
        scenario(sim=neurohw.pynn)
    except pytest.skip.Exception as exc:
        # a scenario that skips itself (e.g. an optional dependency is missing) has not passed
        pytest.fail(f"the scenario skipped itself: {exc}")
