"""Verilator --lint-only -Wall over the core's modules in rtl/ as Verilog-2005: each
module, core and core_compact at four parameter sets each (one the board's registered
bus), and core_sparse at four.

Waivers live in the sources, next to the code they excuse, with the reason.
"""
from __future__ import annotations

import re
import subprocess

import pytest

from harness import CORE_MODULES, rtl_sources

CORE_PARAMETERS = [
    {},
    {"N_NEURONS": 16, "N_INPUTS": 2, "WEIGHT_W": 2, "DELAY_DEPTH": 2},
    # the largest core the 20-bit bus offset can address (2N x N weights)
    {"N_NEURONS": 512, "N_INPUTS": 512, "WEIGHT_W": 16, "DELAY_DEPTH": 32},
    # the registered bus at the core's defaults (fpga/common/neurohw_board.v's build)
    {"BUS_REGISTERED": 1},
]


def _lint(top: str, parameters: dict) -> subprocess.CompletedProcess:
    # parse as Verilog-2005 (IEEE 1364-2005): no SystemVerilog constructs slip in
    args = ["verilator", "--lint-only", "-Wall", "--default-language", "1364-2005",
            "--top-module", top]
    args += [f"-G{k}={v}" for k, v in parameters.items()]
    return subprocess.run(args + [str(p) for p in rtl_sources()], capture_output=True,
                          text=True, timeout=120)


def test_one_module_per_file():
    for path in rtl_sources():
        modules = re.findall(r"^\s*module\s+(\w+)", path.read_text(), flags=re.M)
        assert modules == [path.stem], f"{path.name} defines {modules}"


@pytest.mark.parametrize("top", CORE_MODULES)
def test_lint_module(top):
    result = _lint(top, {})
    assert result.returncode == 0 and "%Warning" not in result.stderr, result.stderr


@pytest.mark.parametrize("top", ["core", "core_compact"])
@pytest.mark.parametrize("parameters", CORE_PARAMETERS, ids=lambda p: "-".join(
    f"{k}{v}" for k, v in p.items()) or "defaults")
def test_lint_core_parameters(top, parameters):
    result = _lint(top, parameters)
    assert result.returncode == 0 and "%Warning" not in result.stderr, result.stderr


# core_sparse: its defaults (1024 neurons, 64K synapses), the smallest tables and
# widths, the largest tables the 20-bit offsets address (64 banks of 16K words), and
# a registered bus with banks of 16 words in the synapse RAM and the column index
SPARSE_PARAMETERS = [
    {},
    {"N_NEURONS": 2, "N_INPUTS": 2, "WEIGHT_W": 2, "DELAY_DEPTH": 2, "SYNAPSES": 2,
     "PLASTIC_SYNAPSES": 2},
    {"N_NEURONS": 1024, "N_INPUTS": 1024, "WEIGHT_W": 16, "DELAY_DEPTH": 32,
     "SYNAPSES": 1 << 20, "PLASTIC_SYNAPSES": 1 << 20},
    {"N_NEURONS": 32, "N_INPUTS": 16, "SYNAPSES": 256, "PLASTIC_SYNAPSES": 64,
     "BUS_REGISTERED": 1, "WEIGHT_BANK_ADDR_W": 4},
]


@pytest.mark.parametrize("parameters", SPARSE_PARAMETERS, ids=lambda p: "-".join(
    f"{k}{v}" for k, v in p.items()) or "defaults")
def test_lint_core_sparse_parameters(parameters):
    result = _lint("core_sparse", parameters)
    assert result.returncode == 0 and "%Warning" not in result.stderr, result.stderr
